/*
 * arstrip.c: removing Authentication-Results fields that claim to be
 * ours.  RFC 8601 5: a receiver must delete any such field that claims
 * its authserv-id but did not come from inside its trust boundary; a
 * message arriving here has not been verified here yet, so every field
 * with our authserv-id is a forgery (or a loop), and a user or a Sieve
 * script must never see it next to ours.
 *
 * In verify mode the header lines pass through here on their way out
 * (message_put), whether the message is processed or not.  An
 * Authentication-Results field is held until its last line is known (the
 * authserv-id may sit on a continuation line), then passed on or dropped.
 * The verifier still sees every line: the verdict is on the message as it
 * arrived.
 */
#include <string.h>
#include <strings.h>

#include "filter.h"

#define AR_NAME		"Authentication-Results"
#define AR_NAMELEN	(sizeof(AR_NAME) - 1)
#define AR_IDMAX	256

/* WSP (RFC 5322): at the start of a line, it makes the line a
 * continuation of the field above, to smtpd as to us. */
static int
arstrip_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* What the parsers after us fold or pass over as white space: WSP, and CR
 * and LF.  smtpd takes a data line ending in a bare CR and a next line
 * starting with WSP for one folded field, and a reader such as Dovecot's
 * Sieve passes over that CR: were it no blank here, the authserv-id after
 * it would go unseen and a forged field would stay. */
static int
arstrip_blank(char c)
{
	return arstrip_wsp(c) || c == '\r' || c == '\n';
}

/* Does a field start here ("Authentication-Results" blanks ":")? */
static int
arstrip_starts(const char *line, size_t len)
{
	size_t i = AR_NAMELEN;

	if (len < AR_NAMELEN || strncasecmp(line, AR_NAME, AR_NAMELEN) != 0)
		return 0;
	while (i < len && arstrip_blank(line[i]))
		i++;
	return i < len && line[i] == ':';
}

/* Skip CFWS (RFC 5322 3.2.2): blanks, line breaks and nested comments. */
static const char *
arstrip_cfws(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '\\' && depth > 0 && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !arstrip_blank(*p))
			break;
	}
	return p;
}

/* RFC 2045 token characters. */
static int
arstrip_tokenchar(char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* The authserv-id (RFC 8601 2.2: a token or a quoted-string) of the
 * field in [p, end), into id; empty when there is none. */
static void
arstrip_id(const char *p, const char *end, char *id)
{
	size_t n = 0;

	p = memchr(p, ':', end - p) + 1;
	p = arstrip_cfws(p, end);
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"' && n < AR_IDMAX - 1; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (*p != '\n' && *p != '\r')
				id[n++] = *p;
		}
	} else {
		while (p < end && arstrip_tokenchar(*p) && n < AR_IDMAX - 1)
			id[n++] = *p++;
	}
	id[n] = '\0';
}

/* Pass the held field on (message_put: spooled, or straight out once
 * the message is not processed). */
static void
arstrip_keep(struct session *s)
{
	const char *p = s->hdr, *end = s->hdr + s->hdrlen, *next;

	for (; p < end; p = next)
		message_put(s, p, session_held_line(p, end, &next));
	s->hdrlen = 0;
}

/* The field going by is complete: drop it if it claims our authserv-id,
 * else pass it on. */
void
arstrip_end(struct session *s)
{
	char id[AR_IDMAX];

	s->ardrop = 0;
	if (s->hdrlen == 0)
		return;
	arstrip_id(s->hdr, s->hdr + s->hdrlen, id);
	if (strcasecmp(id, verify_authserv_id()) != 0) {
		arstrip_keep(s);
		return;
	}
	log_session(s, "removed an Authentication-Results field claiming to "
	    "come from %s (RFC 8601 5)", id);
	s->hdrlen = 0;
}

/* A field that cannot be held whole cannot be told from a forgery: it is
 * dropped, and so are the lines of it still to come. */
static void
arstrip_hold(struct session *s, const char *line, size_t len)
{
	const char *why;

	if (session_hold(s, line, len, &why) == 0)
		return;
	log_session(s, "removed an Authentication-Results field that cannot "
	    "be held (%s)", why);
	s->hdrlen = 0;
	s->ardrop = 1;
}

/* One header line in verify mode: held, passed on, or dropped with the
 * field it belongs to.  This goes on when the message is not processed:
 * a forged field must not reach the user whatever becomes of the
 * verdict. */
void
arstrip_line(struct session *s, const char *line, size_t len)
{
	int cont = len > 0 && arstrip_wsp(line[0]);

	if (cont && s->ardrop)
		return;
	if (cont && s->hdrlen > 0) {
		arstrip_hold(s, line, len);
		return;
	}
	arstrip_end(s);
	if (len == 0)
		s->state = ST_BODY;
	else if (arstrip_starts(line, len)) {
		arstrip_hold(s, line, len);
		return;
	}
	message_put(s, line, len);
}
