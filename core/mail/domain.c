/*
 * domain.c: domain names as DKIM and addresses use them.
 */
#include <string.h>

#include "mail.h"

/* sub-domain *("." sub-domain) of RFC 5321, labels of 1 to 63 letters,
 * digits and inner hyphens; underscore allowed where DNS names use it. */
bool
domain_valid(const char *s, size_t len, bool underscore)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (is_letdig(c) || (underscore && c == '_') ||
		    (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[len - 1] != '-';
}

/* Is sub the same as dom or a subdomain of it? */
bool
domain_within(const char *sub, const char *dom)
{
	size_t sl = strlen(sub), dl = strlen(dom);

	if (sl == dl)
		return ci_equal(sub, sl, dom, dl);
	return sl > dl && sub[sl - dl - 1] == '.' &&
	    ci_equal(sub + sl - dl, dl, dom, dl);
}
