/*
 * chars.c: ASCII helpers.  Mail is compared in ASCII, never by locale.
 */
#include <string.h>

#include "internal.h"

bool
ci_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	/* Names mostly match in case already (the key cache's and the
	 * DMARC walk's are lower case): one memcmp() settles those, and
	 * lower() is called only on a difference. */
	if (memcmp(a, b, alen) == 0)
		return true;
	for (i = 0; i < alen; i++)
		if (a[i] != b[i] &&
		    lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

bool
ci_equals(const char *a, size_t alen, const char *lit)
{
	return ci_equal(a, alen, lit, strlen(lit));
}

/* A copy of s without CR, LF, SP and HT (for b=, bh=, p=, h=). */
char *
strip_fws(const char *s, size_t len)
{
	char *out, *o;
	size_t i;

	if ((out = dkk_malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++)
		if (!is_fws((unsigned char)s[i]))
			*o++ = s[i];
	*o = '\0';
	return out;
}
