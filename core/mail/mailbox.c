/*
 * mailbox.c: the author domains of a From field, RFC 5322 3.4 (a
 * mailbox-list; RFC 6854 groups allowed).  One parser for every protocol
 * that asks whose mail this is (ADSP now, DMARC next).
 *
 * A From field decides verdicts, and every parser downstream reads it a
 * little differently, so this one never lets a malformed field look
 * cleaner than it is: an element that is not a valid mailbox is marked,
 * and every domain that follows an '@' in it still counts as an author
 * domain ("<ceo@bank.example" unclosed, "<a@bank.example, b@x.example>",
 * an '@' in an unquoted display name).  Evaluating all of them, worst
 * result first, leaves no way to hide a domain from the check.
 */
#include <stdlib.h>
#include <string.h>

#include "mail.h"

/* Skip a comment (nested, with quoted pairs) starting at s[i] == '('. */
static size_t
skip_comment(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

/* Past the quoted string starting at s[i] == '"' (or len if unclosed). */
static size_t
skip_quoted(const char *s, size_t len, size_t i)
{
	for (i++; i < len && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* The value without comments, FWS made single spaces, quoted strings
 * kept: what is left is phrases, angle brackets and addresses. */
static char *
strip_comments(const char *s, size_t len, bool *nul)
{
	char *out, *o;
	size_t i = 0, q;

	/* Never longer than the value: a comment of two octets or more
	 * becomes one space.  Written directly, not appended octet by
	 * octet: every From of every message comes through here. */
	if ((out = o = dkk_malloc(len + 1)) == NULL)
		return NULL;
	while (i < len) {
		if (s[i] == '(') {
			i = skip_comment(s, len, i);
			*o++ = ' ';
		} else if (s[i] == '"') {
			q = skip_quoted(s, len, i);
			memcpy(o, s + i, q - i);
			o += q - i;
			i = q;
		} else {
			*o++ = is_fws((unsigned char)s[i]) ? ' ' : s[i];
			i++;
		}
	}
	*o = '\0';
	/* A NUL would end the text early and hide what follows it from
	 * this parser but not from every reader: it counts as a blank, and
	 * the field as malformed. */
	for (*nul = false, i = 0; out + i < o; i++)
		if (out[i] == '\0') {
			out[i] = ' ';
			*nul = true;
		}
	return out;
}

/* RFC 5322 atext, with RFC 6532 3.2's UTF8-non-ascii (any octet past
 * ASCII here: a display name or local part is not looked up, so its
 * UTF-8 need not be checked). */
static bool
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Words (atoms and quoted strings) with dots and spaces between them:
 * a display name (phrase, obs-phrase) or a local part (dot-atom,
 * obs-local-part).  Empty is allowed where the caller allows it. */
static bool
words(const char *s, size_t len, bool dots)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			if (i >= len)
				return false;	/* unclosed */
		} else if (!is_atext((unsigned char)s[i]) && s[i] != ' ' &&
		    !(s[i] == '.' && dots)) {
			return false;
		}
	}
	return true;
}

static size_t
trim(const char *s, size_t *len)
{
	size_t start = 0;

	while (start < *len && s[start] == ' ')
		start++;
	while (*len > start && s[*len - 1] == ' ')
		(*len)--;
	*len -= start;
	return start;
}

static int
authors_add(struct authors *a, const char *d, size_t len)
{
	size_t i;
	char *dom;

	for (i = 0; i < a->n; i++)
		if (ci_equal(a->domain[i], strlen(a->domain[i]), d, len))
			return DKK_OK;
	if (a->n == AUTHORS_MAX) {
		a->malformed = true;	/* more than are looked up */
		return DKK_OK;
	}
	if ((dom = dkk_strndup(d, len)) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < len; i++)
		dom[i] = (char)lower((unsigned char)dom[i]);
	a->domain[a->n++] = dom;
	return DKK_OK;
}

/* An octet that may be part of a domain: LDH, '.', '_', or UTF-8. */
static bool
is_domain_octet(int c)
{
	return is_letdig(c) || c == '-' || c == '.' || c == '_' || c >= 0x80;
}

/* What may end a domain in free text: the end, FWS, or a specials
 * (RFC 5322 3.2.3) that a mailbox or a list puts after one. */
static bool
ends_domain(const char *s, size_t len, size_t i)
{
	return i >= len || strchr(" <>,;:\"()[]", s[i]) != NULL;
}

/* A domain from the From field, as the DNS is asked for it (U-labels
 * to A-labels, mail.h domain_alabels), added.  One that cannot be
 * converted names no one: it is dropped, and the field is malformed. */
static int
authors_add_converted(struct authors *a, const char *d, size_t len)
{
	char *dom;
	int rc = domain_alabels(d, len, &dom);

	if (rc == DKK_ESYNTAX) {
		a->malformed = true;
		return DKK_OK;
	}
	if (rc != DKK_OK)
		return rc;
	rc = authors_add(a, dom, strlen(dom));
	free(dom);
	return rc;
}

/* Every "@domain" in a malformed element.  A domain is taken whole or
 * not at all: one running into an octet no domain has ("a@bank!x.test")
 * is dropped, not cut to the prefix before it, which would invent an
 * author domain the sender never wrote. */
static int
authors_salvage(struct authors *a, const char *s, size_t len)
{
	size_t i, n;
	int rc;

	a->malformed = true;
	for (i = 0; i < len; i++) {
		if (s[i] != '@')
			continue;
		for (n = 0; i + 1 + n < len &&
		    is_domain_octet((unsigned char)s[i + 1 + n]); n++)
			;
		if (!ends_domain(s, len, i + 1 + n))
			continue;
		while (n > 0 && s[i + n] == '.')
			n--;
		if (n > 0 && (rc = authors_add_converted(a, s + i + 1, n)) !=
		    DKK_OK)
			return rc;
	}
	return DKK_OK;
}

/* addr-spec: local-part "@" domain, the last '@' separating them. */
static bool
addr_spec(const char *s, size_t len, const char **dom, size_t *dlen,
    size_t *llen)
{
	const char *at = NULL;
	size_t i, start, n;

	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			i = skip_quoted(s, len, i) - 1;
		else if (s[i] == '@')
			at = s + i;
	}
	if (at == NULL || at == s || !words(s, (size_t)(at - s), true))
		return false;
	n = len - (size_t)(at - s) - 1;
	start = trim(at + 1, &n);
	*dom = at + 1 + start;
	*dlen = n;
	*llen = (size_t)(at - s);
	/* a U-label domain is converted, or refused, by authors_found() */
	return domain_valid(*dom, n, true) || domain_has_8bit(*dom, n);
}

/* The first author address, as "local@domain" with the domain in lower
 * case: what a signing policy looks up. */
static int
authors_address(struct authors *a, const char *local, size_t llen,
    const char *dom, size_t dlen)
{
	struct buf b;
	size_t i, off;

	if (a->address != NULL)
		return DKK_OK;
	off = trim(local, &llen);
	buf_init(&b);
	buf_add(&b, local + off, llen);
	buf_addc(&b, '@');
	buf_add(&b, dom, dlen);
	if (b.failed)
		return DKK_ENOMEM;
	for (i = b.len - dlen; i < b.len; i++)
		b.p[i] = (char)lower((unsigned char)b.p[i]);
	a->address = buf_take(&b);
	return DKK_OK;
}

/* A valid addr-spec: its domain, and the first one's whole address,
 * both with the domain as the DNS is asked for it (RFC 9989 5.3.1:
 * U-labels converted to A-labels).  A domain that cannot be converted
 * makes the element malformed, and names no author. */
static int
authors_found(struct authors *a, const char *local, size_t llen,
    const char *dom, size_t dlen)
{
	char *conv;
	int rc;

	/* ASCII, as nearly every From is: addr_spec() has checked it */
	if (!domain_has_8bit(dom, dlen)) {
		rc = authors_address(a, local, llen, dom, dlen);
		return rc != DKK_OK ? rc : authors_add(a, dom, dlen);
	}
	if ((rc = domain_alabels(dom, dlen, &conv)) == DKK_ESYNTAX) {
		a->malformed = true;
		return DKK_OK;
	}
	if (rc != DKK_OK)
		return rc;
	rc = authors_address(a, local, llen, conv, strlen(conv));
	if (rc == DKK_OK)
		rc = authors_add(a, conv, strlen(conv));
	free(conv);
	return rc;
}

/* One element of the list: [display-name] "<" addr-spec ">" or a bare
 * addr-spec. */
static int
authors_element(struct authors *a, const char *s, size_t len)
{
	const char *lt = NULL, *gt, *dom;
	size_t i, dlen, llen;

	a->addresses++;
	for (i = 0; i < len && lt == NULL; i++) {
		if (s[i] == '"')
			i = skip_quoted(s, len, i) - 1;
		else if (s[i] == '<')
			lt = s + i;
	}
	if (lt == NULL)
		return addr_spec(s, len, &dom, &dlen, &llen) ?
		    authors_found(a, s, llen, dom, dlen) :
		    authors_salvage(a, s, len);
	gt = memchr(lt, '>', len - (size_t)(lt - s));
	if (gt == NULL || !words(s, (size_t)(lt - s), true) ||
	    gt + 1 != s + len ||
	    !addr_spec(lt + 1, (size_t)(gt - lt - 1), &dom, &dlen, &llen))
		return authors_salvage(a, s, len);
	return authors_found(a, lt + 1, llen, dom, dlen);
}

/* Split at top-level ',' (and a group's ':' and ';'); quoted strings and
 * angle brackets hide them.  An unclosed '<' runs to the end. */
int
authors_parse(struct authors *a, const char *value, size_t len)
{
	char *s;
	size_t i, n, start = 0, elen, off;
	bool in_angle = false, nul;
	int rc = DKK_OK;

	if ((s = strip_comments(value, len, &nul)) == NULL)
		return DKK_ENOMEM;
	if (nul)
		a->malformed = true;
	n = strlen(s);
	for (i = 0; i <= n && rc == DKK_OK; i++) {
		if (i < n && s[i] == '"') {
			i = skip_quoted(s, n, i) - 1;
			continue;
		}
		if (i < n && (s[i] == '<' || s[i] == '>'))
			in_angle = s[i] == '<';
		if (i < n && (in_angle ||
		    (s[i] != ',' && s[i] != ':' && s[i] != ';')))
			continue;
		elen = i - start;
		off = start + trim(s + start, &elen);
		if (i < n && s[i] == ':') {
			/* a group's display name, RFC 6854 */
			if (!words(s + off, elen, true) || elen == 0)
				rc = authors_salvage(a, s + off, elen);
		} else if (elen > 0) {
			rc = authors_element(a, s + off, elen);
		}
		start = i + 1;
	}
	free(s);
	return rc;
}

void
authors_clear(struct authors *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->domain[i]);
	free(a->address);
	memset(a, 0, sizeof(*a));
}
