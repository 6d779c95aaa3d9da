/*
 * dest.c: where a DMARC report may go (RFC 9989 4.7 rua/ruf, and the
 * external destination verification of RFC 9990 and RFC 9991, first
 * written down in RFC 7489 7.1).
 *
 * A report URI is "mailto:" (RFC 6068) with one address; the "!size"
 * suffix of RFC 7489 6.2 (a number with an optional k, m, g or t unit,
 * powers of 1024) caps the size of a report sent there.  RFC 9989 no
 * longer defines it, but records in the wild carry it and a receiver
 * that honours a cap never sends what a domain said it cannot take, so
 * it is read.  Other schemes are not ones dkimkit can deliver to and are
 * refused, each with its reason.
 *
 * A destination outside the policy domain must agree to receive the
 * reports: a TXT record at <policy-domain>._report._dmarc.<dest-domain>
 * that begins with "v=DMARC1".  Without it the URI is dropped: a record
 * must not be able to aim reports at anyone who did not ask.
 */
#include <string.h>

#include "dmarc.h"
#include "mail/mail.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 6068 2: the address may be percent-encoded ("%2B" for '+'); a
 * decoded control character or a second address is refused. */
static int
uri_unescape(const char *s, size_t n, char *out, size_t cap,
    const char **why)
{
	size_t i, k = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n) {
				*why = "a '%' escape is cut short";
				return -1;
			}
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				*why = "a '%' escape is not two hex digits";
				return -1;
			}
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c <= 0x20 || c == 0x7f || c == ',' || c == '<' ||
		    c == '>') {
			*why = "the address holds a space, a control "
			    "character, '<', '>' or ','";
			return -1;
		}
		if (k + 1 >= cap) {
			*why = "the address is too long";
			return -1;
		}
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

/* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] (RFC 7489 6.2). */
static int
uri_size(const char *s, size_t n, uint64_t *bytes, const char **why)
{
	uint64_t v = 0;
	unsigned shift = 0;
	size_t i;

	if (n > 0 && strchr("kmgtKMGT", s[n - 1]) != NULL) {
		shift = (unsigned)(strchr("kmgt", s[n - 1] | 0x20) - "kmgt" +
		    1) * 10;
		n--;
	}
	if (n == 0 || n > 15) {
		*why = "the !size suffix is not a number";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*why = "the !size suffix is not a number";
			return -1;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* 15 digits and a shift of 40 stay below 2^90: cap instead */
	*bytes = v > (UINT64_MAX >> shift) ? UINT64_MAX : v << shift;
	if (*bytes == 0)
		*bytes = 1;	/* "!0": nothing fits; 0 would mean no cap */
	return 0;
}

int
dmarc_uri_parse(const char *uri, size_t n, struct dmarc_uri *out,
    const char **why)
{
	const char *bang, *at;
	size_t alen;

	memset(out, 0, sizeof(*out));
	while (n > 0 && (*uri == ' ' || *uri == '\t'))
		uri++, n--;
	while (n > 0 && (uri[n - 1] == ' ' || uri[n - 1] == '\t'))
		n--;
	if (n < 7 || !ci_equal(uri, 7, "mailto:", 7)) {
		*why = "not a mailto: URI";
		return -1;
	}
	uri += 7;
	n -= 7;
	if (memchr(uri, '?', n) != NULL) {
		*why = "a mailto: URI with header fields";
		return -1;
	}
	bang = memchr(uri, '!', n);
	alen = bang != NULL ? (size_t)(bang - uri) : n;
	if (bang != NULL && uri_size(bang + 1, n - alen - 1, &out->max_bytes,
	    why) != 0)
		return -1;
	if (uri_unescape(uri, alen, out->addr, sizeof(out->addr), why) != 0)
		return -1;
	if ((at = strrchr(out->addr, '@')) == NULL || at == out->addr ||
	    at[1] == '\0') {
		*why = "no local@domain address";
		return -1;
	}
	if (strlen(at + 1) >= sizeof(out->domain) ||
	    !domain_valid(at + 1, strlen(at + 1), false) ||
	    strchr(at + 1, '.') == NULL) {
		*why = "the address's domain is not a domain name";
		return -1;
	}
	strcpy(out->domain, at + 1);
	return 0;
}

int
dmarc_dest_qname(const char *policy_domain, const char *dest_domain,
    char *out, size_t outlen)
{
	static const char mid[] = "._report._dmarc.";
	size_t p = strlen(policy_domain), d = strlen(dest_domain);

	while (p > 0 && policy_domain[p - 1] == '.')
		p--;
	/* RFC 1035 2.3.4: a name is at most 253 characters as text */
	if (p + sizeof(mid) - 1 + d > 253 || p + sizeof(mid) + d > outlen)
		return -1;
	memcpy(out, policy_domain, p);
	memcpy(out + p, mid, sizeof(mid) - 1);
	memcpy(out + p + sizeof(mid) - 1, dest_domain, d + 1);
	return 0;
}

bool
dmarc_dest_accepts(const char *const *txt, size_t n)
{
	size_t i, k;

	/* RFC 7489 7.1: the record's first tag is v=DMARC1; any other
	 * tag in it is not looked at.  Spaces around '=' as in a DMARC
	 * record (RFC 9989 4.8). */
	for (i = 0; i < n; i++) {
		const char *s = txt[i];

		for (k = 0; s[k] == ' ' || s[k] == '\t'; k++)
			;
		if (s[k] != 'v' && s[k] != 'V')
			continue;
		for (k++; s[k] == ' ' || s[k] == '\t'; k++)
			;
		if (s[k] != '=')
			continue;
		for (k++; s[k] == ' ' || s[k] == '\t'; k++)
			;
		if (strncmp(s + k, "DMARC1", 6) != 0)
			continue;
		for (k += 6; s[k] == ' ' || s[k] == '\t'; k++)
			;
		if (s[k] == ';' || s[k] == '\0')
			return true;
	}
	return false;
}

/* dest_domain is policy_domain or below it: the domain owner's own. */
static bool
dest_within(const char *policy_domain, const char *dest_domain)
{
	size_t p = strlen(policy_domain), d = strlen(dest_domain);

	while (p > 0 && policy_domain[p - 1] == '.')
		p--;
	while (d > 0 && dest_domain[d - 1] == '.')
		d--;
	if (d == p)
		return ci_equal(dest_domain, d, policy_domain, p);
	return d > p && dest_domain[d - p - 1] == '.' &&
	    ci_equal(dest_domain + d - p, p, policy_domain, p);
}

/* The caller passes the policy domain's Organizational Domain when it
 * knows it (the DMARC walk found it); with the policy domain itself a
 * destination at its parent is taken for external and verified, which
 * costs a lookup, never a report sent without consent. */
bool
dmarc_dest_external(const char *policy_domain, const char *dest_domain)
{
	return !dest_within(policy_domain, dest_domain);
}
