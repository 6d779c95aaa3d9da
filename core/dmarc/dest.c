/*
 * dest.c: where DMARC reports may go (RFC 9989 4.7 rua=/ruf= URIs with
 * their "!size" suffix; RFC 9990 4 / RFC 9991 the verification of a
 * destination outside the policy domain).  Pure functions: the caller
 * does the lookup of dmarc_dest_qname() and hands in its TXT answer.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

/* "100", "10k", "5m", "1g", "2t" (RFC 9989 4.7: a decimal and an
 * optional unit, powers of two): 0, or -1 on anything else or on
 * overflow. */
static int
uri_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned shift = 0;

	if (n == 0)
		return -1;
	for (; i < n && isdigit((unsigned char)s[i]); i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return -1;
	if (i < n) {
		const char *u = strchr("kmgt", tolower((unsigned char)s[i]));

		if (u == NULL || s[i] == '\0' || i + 1 != n)
			return -1;
		shift = 10 * (unsigned)(u - "kmgt" + 1);
	}
	if (shift > 0 && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static unsigned
hexval(char c)
{
	return isdigit((unsigned char)c) ? (unsigned)(c - '0') :
	    (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

/* The address, percent-decoded (RFC 3986 2.1), into out. */
static int
uri_addr(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;
	unsigned hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || (unsigned char)c <= ' ' || c == '?' ||
		    k + 1 >= outlen)
			return -1;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

int
dmarc_uri_parse(const char *uri, size_t n, struct dmarc_uri *out,
    const char **why)
{
	const char *bang, *at;
	size_t i;

	memset(out, 0, sizeof(*out));
	while (n > 0 && (*uri == ' ' || *uri == '\t'))
		uri++, n--;
	while (n > 0 && (uri[n - 1] == ' ' || uri[n - 1] == '\t'))
		n--;
	if (n < 7 || strncasecmp(uri, "mailto:", 7) != 0) {
		*why = "not a mailto: URI (the only scheme RFC 9989 defines)";
		return -1;
	}
	uri += 7, n -= 7;
	/* RFC 9989 4.7: a '!' in the address itself is %-encoded, so the
	 * first one starts the size limit. */
	bang = memchr(uri, '!', n);
	if (bang != NULL && uri_size(bang + 1, (size_t)(uri + n - bang - 1),
	    &out->max_bytes) != 0) {
		*why = "bad size limit after '!' (digits and k, m, g or t)";
		return -1;
	}
	if (uri_addr(uri, bang != NULL ? (size_t)(bang - uri) : n, out->addr,
	    sizeof(out->addr)) != 0) {
		*why = "bad address (a %-escape, a space or a query)";
		return -1;
	}
	at = strrchr(out->addr, '@');
	if (at == NULL || at == out->addr || at[1] == '\0' ||
	    strlen(at + 1) >= sizeof(out->domain)) {
		*why = "no local@domain address";
		return -1;
	}
	for (i = 0; at[1 + i] != '\0'; i++)
		out->domain[i] = (char)tolower((unsigned char)at[1 + i]);
	out->domain[i] = '\0';
	return 0;
}

int
dmarc_dest_qname(const char *policy_domain, const char *dest_domain,
    char *out, size_t outlen)
{
	int n;

	/* RFC 9990 4 step 4: a name over DNS's 253 octets cannot be
	 * asked, and then nothing authorises the destination. */
	n = snprintf(out, outlen, "%s._report._dmarc.%s", policy_domain,
	    dest_domain);
	if (n < 0 || (size_t)n >= outlen || n > 253)
		return -1;
	return 0;
}

bool
dmarc_dest_accepts(const char *const *txt, size_t n)
{
	size_t i;
	const char *p;

	/* RFC 9990 4 step 6: v=DMARC1 first (spaces around '=' allowed,
	 * as in a policy record), ';' or the end after it. */
	for (i = 0; i < n; i++) {
		p = txt[i];
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != 'v')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "DMARC1", 6) != 0)
			continue;
		p += 6;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ';' || *p == '\0')
			return true;
	}
	return false;
}

bool
dmarc_dest_external(const char *policy_domain, const char *dest_domain)
{
	size_t pl = strlen(policy_domain), dl = strlen(dest_domain);

	/* Without DNS the Organizational Domain of either is not known:
	 * the destination counts as inside only when it is the policy
	 * domain or below it (the record sits at an Organizational
	 * Domain or under one, so that much is surely the same
	 * organization).  Anything else is verified: a needless lookup
	 * costs little, a report sent without consent is the abuse RFC
	 * 9990 4 guards against. */
	if (dl == pl)
		return strcasecmp(policy_domain, dest_domain) != 0;
	if (dl > pl && dest_domain[dl - pl - 1] == '.')
		return strcasecmp(policy_domain, dest_domain + dl - pl) != 0;
	return true;
}
