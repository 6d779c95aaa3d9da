/*
 * taglist.c: tag=value lists (RFC 6376 3.2), used by the signature field,
 * the key record and the ADSP record.
 *
 *   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  = ALPHA *ALNUMPUNC
 *   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      = 1*VALCHAR        VALCHAR = %x21-3A / %x3C-7E
 *
 * Octets from 0x80 up are accepted in values, for RFC 8616 addresses.
 */
#include <string.h>

#include "mail.h"

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnumpunc(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static bool
is_valchar(int c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

static size_t
skip_fws(const char *s, size_t pos, size_t len)
{
	while (pos < len && is_fws((unsigned char)s[pos]))
		pos++;
	return pos;
}

static bool
tag_seen(const struct tag *tags, size_t n, const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tags[i].nlen == nlen && memcmp(tags[i].name, name, nlen) == 0)
			return true;
	return false;
}

/* Parse one tag-spec at *pos into t; *pos ends on the ';' or at len. */
static int
tag_parse(const char *s, size_t len, size_t *pos, struct tag *t)
{
	size_t p = *pos, end;

	t->name = s + p;
	if (p >= len || !is_alpha((unsigned char)s[p]))
		return TAGLIST_SYNTAX;
	while (p < len && is_alnumpunc((unsigned char)s[p]))
		p++;
	t->nlen = (size_t)(s + p - t->name);
	p = skip_fws(s, p, len);
	if (p >= len || s[p] != '=')
		return TAGLIST_SYNTAX;
	p = skip_fws(s, p + 1, len);
	t->val = s + p;
	for (end = p; p < len && s[p] != ';'; p++) {
		int c = (unsigned char)s[p];

		if (is_valchar(c))
			end = p + 1;
		else if (!is_fws(c))
			return TAGLIST_SYNTAX;
	}
	t->vlen = end - (size_t)(t->val - s);
	t->vend = p;
	*pos = p;
	return TAGLIST_OK;
}

/* Split s into at most max tags.  Tag names are case-sensitive (3.2). */
int
taglist_parse(const char *s, size_t len, struct tag *tags, size_t max,
    size_t *count)
{
	size_t pos = 0, n = 0;
	struct tag t;
	int rc;

	*count = 0;
	for (;;) {
		pos = skip_fws(s, pos, len);
		if (pos >= len)
			break;
		if ((rc = tag_parse(s, len, &pos, &t)) != TAGLIST_OK)
			return rc;
		if (tag_seen(tags, n, t.name, t.nlen))
			return TAGLIST_DUPLICATE;
		if (n == max)
			return TAGLIST_TOO_MANY;
		tags[n++] = t;
		*count = n;
		if (pos >= len)
			break;
		pos++;		/* the ';' */
	}
	return TAGLIST_OK;
}

const struct tag *
taglist_find(const struct tag *tags, size_t n, const char *name)
{
	size_t i, nlen = strlen(name);

	for (i = 0; i < n; i++)
		if (tags[i].nlen == nlen && memcmp(tags[i].name, name, nlen) == 0)
			return &tags[i];
	return NULL;
}
