/*
 * domain.c: domain names as DKIM and addresses use them.
 */
#include <string.h>

#include <gnutls/gnutls.h>

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

/* Whether a domain has octets past ASCII: U-labels (RFC 6531), or junk. */
bool
domain_has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/*
 * A domain as the DNS is asked for it: U-labels converted to A-labels
 * (RFC 9989 5.3.1: "If the domain is a U-label, the domain MUST be
 * converted to an A-label"; RFC 7208 4.3 the same for SPF), in lower
 * case, in *out (to free).  The conversion is IDNA2008 (RFC 5891) as
 * GnuTLS does it through libidn2 (UTS #46 mapping first, so case is
 * folded; NFC normalisation included).  Text that
 * is not valid UTF-8, a label IDNA2008 refuses, or a result that is no
 * valid domain is DKK_ESYNTAX: such a domain names nobody, and is never
 * cut down to a prefix that would name someone else.
 */
int
domain_alabels(const char *s, size_t len, char **out)
{
	gnutls_datum_t d = { NULL, 0 };
	size_t i;
	int rc;

	*out = NULL;
	if (len == 0 || len > 1024 || memchr(s, '\0', len) != NULL)
		return DKK_ESYNTAX;
	if (!domain_has_8bit(s, len)) {
		if (!domain_valid(s, len, true))
			return DKK_ESYNTAX;
		*out = dkk_strndup(s, len);
	} else {
		rc = gnutls_idna_map(s, (unsigned)len, &d,
		    GNUTLS_IDNA_FORCE_2008);
		if (rc == GNUTLS_E_MEMORY_ERROR)
			return DKK_ENOMEM;
		if (rc < 0 || !domain_valid((const char *)d.data, d.size,
		    true)) {
			gnutls_free(d.data);
			return DKK_ESYNTAX;
		}
		*out = dkk_strndup((const char *)d.data, d.size);
		gnutls_free(d.data);
	}
	if (*out == NULL)
		return DKK_ENOMEM;
	for (i = 0; (*out)[i] != '\0'; i++)
		(*out)[i] = (char)lower((unsigned char)(*out)[i]);
	return DKK_OK;
}
