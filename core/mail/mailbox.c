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

static bool
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
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

/* Every "@domain" in a malformed element. */
static int
authors_salvage(struct authors *a, const char *s, size_t len)
{
	size_t i, n;
	int rc;

	a->malformed = true;
	for (i = 0; i < len; i++) {
		if (s[i] != '@')
			continue;
		for (n = 0; i + 1 + n < len && (is_letdig((unsigned char)
		    s[i + 1 + n]) || strchr("-._", s[i + 1 + n]) != NULL); n++)
			;
		while (n > 0 && s[i + n] == '.')
			n--;
		if (domain_valid(s + i + 1, n, true) &&
		    (rc = authors_add(a, s + i + 1, n)) != DKK_OK)
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
	return domain_valid(*dom, n, true);
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

/* A valid addr-spec: its domain, and the first one's whole address. */
static int
authors_found(struct authors *a, const char *local, size_t llen,
    const char *dom, size_t dlen)
{
	int rc = authors_address(a, local, llen, dom, dlen);

	return rc != DKK_OK ? rc : authors_add(a, dom, dlen);
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
