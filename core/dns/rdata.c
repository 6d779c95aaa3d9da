/*
 * rdata.c: the rdata of one resource record, as libunbound hands it over
 * (wire format, names uncompressed), into the text a dkk_dns_answer
 * carries: TXT strings joined, addresses and names in presentation form
 * (dkimkit.h, dkk_dns_query_fn).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

/* RFC 1035 3.1: a name is at most 255 octets on the wire. */
#define NAME_MAX_WIRE 255

/* RFC 1035 3.3.14: TXT rdata is a run of <length><octets> strings; join
 * them (RFC 6376 3.6.2.2, RFC 7208 3.3).  NULL when a length runs past
 * the rdata: a damaged record is a failed lookup, not a shorter one. */
static int
rdata_txt(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i = 0, n;

	while (i < len) {
		n = p[i++];
		if (n > len - i)
			return DKK_ESYNTAX;
		buf_add(out, p + i, n);
		i += n;
	}
	return DKK_OK;
}

/* RFC 1035 3.1: an uncompressed name from p[*i], as dotted text without
 * the final dot.  Label octets outside letters, digits and '-', '_' are
 * refused rather than escaped: no caller can use such a name. */
static int
rdata_name(const uint8_t *p, size_t len, size_t *i, struct buf *out)
{
	size_t n, start = *i, k;

	while (*i < len && (n = p[*i]) != 0) {
		if (n > 63 || n > len - *i - 1 || *i - start + n + 2 >
		    NAME_MAX_WIRE)
			return DKK_ESYNTAX;
		if (*i > start)
			buf_addc(out, '.');
		for (k = *i + 1; k <= *i + n; k++)
			if (!is_letdig(p[k]) && p[k] != '-' && p[k] != '_')
				return DKK_ESYNTAX;
		buf_add(out, p + *i + 1, n);
		*i += n + 1;
	}
	if (*i >= len)
		return DKK_ESYNTAX;
	(*i)++;
	if (*i == start + 1)
		buf_addc(out, '.');	/* the root */
	return DKK_OK;
}

/* RFC 1035 3.3.9: PREFERENCE (16 bits) and EXCHANGE. */
static int
rdata_mx(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i = 2;

	if (len < 3)
		return DKK_ESYNTAX;
	buf_printf(out, "%u ", (unsigned)p[0] << 8 | p[1]);
	return rdata_name(p, len, &i, out) == DKK_OK && i == len ? DKK_OK :
	    DKK_ESYNTAX;
}

static int
rdata_ptr(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i = 0;

	return rdata_name(p, len, &i, out) == DKK_OK && i == len ? DKK_OK :
	    DKK_ESYNTAX;
}

/* RFC 1035 3.4.1 and RFC 3596 2.2: four and sixteen octets. */
static int
rdata_addr(int af, const uint8_t *p, size_t len, struct buf *out)
{
	char text[INET6_ADDRSTRLEN];

	if (len != (af == AF_INET ? 4u : 16u) ||
	    inet_ntop(af, p, text, sizeof(text)) == NULL)
		return DKK_ESYNTAX;
	return buf_adds(out, text);
}

int
rdata_text(enum dkk_dns_type type, const uint8_t *p, size_t len,
    struct buf *out)
{
	int rc;

	switch (type) {
	case DKK_DNS_TXT:
		rc = rdata_txt(p, len, out);
		break;
	case DKK_DNS_A:
		rc = rdata_addr(AF_INET, p, len, out);
		break;
	case DKK_DNS_AAAA:
		rc = rdata_addr(AF_INET6, p, len, out);
		break;
	case DKK_DNS_MX:
		rc = rdata_mx(p, len, out);
		break;
	case DKK_DNS_PTR:
		rc = rdata_ptr(p, len, out);
		break;
	default:
		return DKK_EINVAL;
	}
	if (rc == DKK_OK && out->failed)
		rc = DKK_ENOMEM;
	return rc;
}
