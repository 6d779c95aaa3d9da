/*
 * after.c: what smtpd 6.8 changes in a header block after the filter has
 * signed it (smtp_session.c, smtp_tx_dataline(), which takes the lines
 * back from the filter):
 *
 *  - it adds Date and Message-ID when the message has none, on local and
 *    submission listeners;
 *  - it drops every Bcc field;
 *  - in From, To and Cc it appends "@" and the listener's host name to
 *    every address without a domain (header_domain_append_callback():
 *    "To: bob" becomes "To: bob@host"), whatever the listener;
 *  - under "masquerade" it rewrites the From address of authenticated
 *    senders.
 *
 * A signature over a field that changes so fails.  A field smtpd may add
 * or drop must not be named in h=; a To or Cc field with an address
 * without a domain is kept out of h= (not signed) for that message.  A
 * From without a domain has no Author Domain: the message is not signed
 * at all (sign.c).  Masquerading is left to the manual.
 */
#include <string.h>
#include <strings.h>

#include "filter.h"

static int
after_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
after_is(const char *name, size_t n, const char *what)
{
	return n == strlen(what) && strncasecmp(name, what, n) == 0;
}

/* The held field at p (lines end in CRLF, see session_hold()): returns
 * the length of its name, without WSP before the colon, or 0 when its
 * first line has no colon; *value is what follows the colon, *next the
 * field after it. */
static size_t
after_field(const char *p, const char *end, const char **value,
    const char **next)
{
	const char *eol = memchr(p, '\n', (size_t)(end - p)), *q = eol + 1;
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	size_t n;

	while (q < end && after_wsp(*q))
		q = (const char *)memchr(q, '\n', (size_t)(end - q)) + 1;
	*next = q;
	if (colon == NULL)
		return 0;
	*value = colon + 1;
	for (n = (size_t)(colon - p); n > 0 && after_wsp(p[n - 1]); n--)
		;
	return n;
}

/* Whether smtpd would add its host name to an address of this list: an
 * element between commas outside quotes and comments that has text
 * outside comments but no "@" and no ":" (a group) outside quotes and
 * comments.  Where smtpd leaves an element alone because it cannot parse
 * it (an open quote or comment), this still says yes: a field kept out of
 * h= only loses its protection, a signed field smtpd changes loses the
 * signature. */
static int
after_bare(const char *v, const char *end)
{
	int quote = 0, depth = 0, text = 0, at = 0, group = 0;

	for (;; v++) {
		if (v == end || (*v == ',' && !quote && depth == 0)) {
			if (text && !at && !group)
				return 1;
			if (v == end)
				return 0;
			text = at = group = 0;
		} else if (*v == '\\' && v + 1 < end) {
			text |= depth == 0;
			v++;
		} else if (quote)
			quote = *v != '"';
		else if (*v == '(')
			depth++;
		else if (depth > 0)
			depth -= *v == ')';
		else if (*v == '"')
			quote = text = 1;
		else if (*v == '@')
			at = 1;
		else if (*v == ':')
			group = 1;
		else if (!after_wsp(*v) && *v != '\r' && *v != '\n')
			text = 1;
	}
}

/* How many fields called name the held header block has; *bare says
 * whether one of them has an address smtpd qualifies. */
static size_t
after_count(const struct session *s, const char *name, size_t n, int *bare)
{
	const char *p = s->hdr, *end = s->hdr + s->hdrlen, *value, *next;
	size_t count = 0;

	*bare = 0;
	for (; p < end; p = next) {
		if (after_field(p, end, &value, &next) != n ||
		    strncasecmp(p, name, n) != 0)
			continue;
		count++;
		*bare |= after_bare(value, next);
	}
	return count;
}

/* Whether smtpd changes, after the filter, the fields of this message
 * called name (n octets): then h= must not name them. */
int
after_changes(const struct session *s, const char *name, size_t n)
{
	int bare;
	size_t count = after_count(s, name, n, &bare);

	if (after_is(name, n, "date") || after_is(name, n, "message-id"))
		return count == 0;
	if (after_is(name, n, "bcc"))
		return count > 0;
	if (after_is(name, n, "to") || after_is(name, n, "cc"))
		return bare;
	return 0;
}

/* Take the fields called name out of the held header block. */
static void
after_remove(struct session *s, const char *name, size_t n)
{
	char *p = s->hdr, *end = s->hdr + s->hdrlen;
	const char *value, *next;
	size_t step;

	while (p < end) {
		step = after_field(p, end, &value, &next) == n &&
		    strncasecmp(p, name, n) == 0 ? 0 : (size_t)(next - p);
		if (step == 0) {
			memmove(p, next, (size_t)(end - next));
			end -= next - p;
		}
		p += step;
	}
	s->hdrlen = (size_t)(end - s->hdr);
}

/* Before the signers see the header block: a To or Cc field with an
 * address smtpd will qualify is taken out of what they see, so that the
 * default set, which lists the fields present, leaves it out of h= too
 * (sign.c drops it from a -h list). */
void
after_unsign(struct session *s)
{
	static const char *const names[] = { "To", "Cc" };
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (!after_changes(s, names[i], n))
			continue;
		log_session(s, "%s not signed: an address in it has no domain, "
		    "which smtpd adds after signing", names[i]);
		after_remove(s, names[i], n);
	}
}
