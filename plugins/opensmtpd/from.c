/*
 * from.c: the domain of the From field, to choose d= when signing.
 * RFC 5322 3.6.2 and 3.4: one From field, one mailbox, either an addr-spec
 * or a display name and <addr-spec>; comments and quoted strings may hold
 * any of "<>@,", so they are taken out before scanning.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"

/* The value start if the line p..nl begins a From field, else NULL. */
static const char *
from_start(const char *p, const char *nl)
{
	const char *q;

	if (nl - p < 5 || strncasecmp(p, "from", 4) != 0)
		return NULL;
	for (q = p + 4; q < nl && (*q == ' ' || *q == '\t'); q++)
		;
	return q < nl && *q == ':' ? q + 1 : NULL;
}

static int
from_append(char **out, size_t *n, const char *p, size_t len)
{
	char *o;

	if ((o = realloc(*out, *n + len + 1)) == NULL)
		return -1;
	memcpy(o + *n, p, len);
	*n += len;
	o[*n] = '\0';
	*out = o;
	return 0;
}

/* The unfolded value of the only From field; NULL if none or several. */
static char *
from_value(const char *hdr, size_t len)
{
	const char *p, *nl, *end = hdr + len, *v;
	char *out = NULL;
	size_t n = 0;
	int in = 0, count = 0;

	for (p = hdr; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		if ((v = from_start(p, nl)) != NULL) {
			count++;
			in = 1;
		} else if (*p == ' ' || *p == '\t')
			v = in ? p : NULL;
		else
			in = 0;
		if (v == NULL || count > 1)
			continue;
		if (from_append(&out, &n, v, nl - v) == -1)
			break;
	}
	if (count != 1 || out == NULL) {
		free(out);
		return NULL;
	}
	return out;
}

/* Skip a quoted string or (nested) comment starting at p; the character
 * after it.  Backslash quotes the next character in both. */
static const char *
from_skip(const char *p)
{
	int depth = 0;
	char open = *p;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (open == '"' && *p == '"' && depth++ > 0)
			return p + 1;
		else if (open == '(' && *p == '(')
			depth++;
		else if (open == '(' && *p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

/* Comments out, quoted strings as one 'q': what is left is structure. */
static void
from_bare(char *v)
{
	const char *p = v, *next;
	char *o = v;

	/* o never passes p: a quoted string becomes one character. */
	while (*p != '\0') {
		if (*p == '"' || *p == '(') {
			next = from_skip(p);
			if (*p == '"')
				*o++ = 'q';
			p = next;
		} else
			*o++ = *p++;
	}
	*o = '\0';
}

static char *
from_domain_of(char *bare)
{
	char *addr = bare, *lt, *at, *d;
	size_t len;

	if (strchr(bare, ',') != NULL)
		return NULL;		/* several mailboxes */
	if ((lt = strrchr(bare, '<')) != NULL) {
		addr = lt + 1;
		addr[strcspn(addr, ">")] = '\0';
	}
	if ((at = strrchr(addr, '@')) == NULL)
		return NULL;
	d = at + 1 + strspn(at + 1, " \t");
	len = strcspn(d, " \t>");
	if (len > 1 && d[len - 1] == '.')
		len--;			/* a fully qualified name */
	d[len] = '\0';
	if (len == 0 || strspn(d, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != len)
		return NULL;
	return d;
}

/* The From domain in lower case, or NULL; free with free(). */
char *
sign_from_domain(const char *hdr, size_t len)
{
	char *v, *d, *out = NULL, *q;

	if ((v = from_value(hdr, len)) == NULL)
		return NULL;
	from_bare(v);
	if ((d = from_domain_of(v)) != NULL && (out = strdup(d)) != NULL)
		for (q = out; *q != '\0'; q++)
			*q = tolower((unsigned char)*q);
	free(v);
	return out;
}
