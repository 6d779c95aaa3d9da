/*
 * addr.c: the client's address and the networks of ip4, ip6, a and mx
 * (RFC 7208 5.3 to 5.6), and the address's forms in macros (7.3) and
 * in the reverse tree (5.5).
 */
#include <arpa/inet.h>
#include <string.h>

#include "spf/spf.h"

/* RFC 4291 2.5.5.2: ::ffff:0:0/96 holds IPv4 addresses. */
static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

/* s[0..n) as a dotted quad, the form inet_pton() takes for AF_INET:
 * four decimal octets of at most 255 without leading zeros.  Read here
 * because every ip4 term and every A record of a check is one, and
 * inet_pton() wants a terminated copy first. */
static bool
addr_parse_quad(const char *s, size_t n, unsigned char b[4])
{
	size_t i = 0, part = 0, digits = 0;
	unsigned v = 0;

	for (; i <= n; i++) {
		if (i < n && s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && v == 0)
				return false;	/* leading zero */
			v = v * 10 + (unsigned)(s[i] - '0');
			if (v > 255)
				return false;
			digits++;
			continue;
		}
		if (digits == 0 || part == 4 || (i < n && s[i] != '.'))
			return false;
		b[part++] = (unsigned char)v;
		v = 0;
		digits = 0;
	}
	return part == 4;
}

/* s as an IPv4 or IPv6 address. */
int
spf_ip_parse(const char *s, size_t n, struct spf_ip *ip)
{
	char text[INET6_ADDRSTRLEN + 1];

	if (n == 0 || n >= sizeof(text))
		return DKK_EINVAL;
	memset(ip, 0, sizeof(*ip));
	if (addr_parse_quad(s, n, ip->b)) {
		ip->af = AF_INET;
		return DKK_OK;
	}
	memset(ip->b, 0, sizeof(ip->b));
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, ip->b) != 1)
		return DKK_EINVAL;
	ip->af = AF_INET6;
	return DKK_OK;
}

/* A client at an IPv4-mapped IPv6 address is an IPv4 client that came
 * through a dual-stack socket: RFC 7208 5 evaluates the IPv4 address
 * (its %{v} is "in-addr", a: looks up A records). */
void
spf_ip_unmap(struct spf_ip *ip)
{
	if (ip->af != AF_INET6 ||
	    memcmp(ip->b, v4mapped, sizeof(v4mapped)) != 0)
		return;
	memmove(ip->b, ip->b + 12, 4);
	memset(ip->b + 4, 0, 12);
	ip->af = AF_INET;
}

/* Whether a and b share their first bits bits (and their family). */
bool
spf_ip_match(const struct spf_ip *a, const struct spf_ip *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (a->af != b->af || bits > (a->af == AF_INET ? 32u : 128u))
		return false;
	if (memcmp(a->b, b->b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a->b[whole] & mask) == (b->b[whole] & mask);
}

/* a.b.c.d, appended: printf would cost more than the rest of an
 * address's formatting, and a check writes one into its reason. */
static int
addr_quad(const unsigned char b[4], struct buf *out)
{
	char text[16], *p = text;
	size_t i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*p++ = '.';
		if (b[i] >= 100)
			*p++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*p++ = (char)('0' + b[i] / 10 % 10);
		*p++ = (char)('0' + b[i] % 10);
	}
	return buf_add(out, text, (size_t)(p - text));
}

/* RFC 7208 7.3: %{i} is dotted-quad for IPv4, and for IPv6 the 32
 * nibbles in hexadecimal, dot-separated. */
int
spf_ip_dotted(const struct spf_ip *ip, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (ip->af == AF_INET)
		return addr_quad(ip->b, out);
	for (i = 0; i < 16; i++) {
		buf_addc(out, hex[ip->b[i] >> 4]);
		buf_addc(out, '.');
		buf_addc(out, hex[ip->b[i] & 15]);
		if (i < 15)
			buf_addc(out, '.');
	}
	return out->failed ? DKK_ENOMEM : DKK_OK;
}

/* RFC 7208 5.5: the name in in-addr.arpa or ip6.arpa: the dotted form
 * reversed (RFC 1035 3.5, RFC 3596 2.5). */
int
spf_ip_reverse(const struct spf_ip *ip, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	if (ip->af == AF_INET)
		return buf_printf(out, "%u.%u.%u.%u.in-addr.arpa", ip->b[3],
		    ip->b[2], ip->b[1], ip->b[0]);
	for (i = 15; i >= 0; i--)
		buf_printf(out, "%c.%c.", hex[ip->b[i] & 15], hex[ip->b[i] >> 4]);
	return buf_adds(out, "ip6.arpa");
}

/* RFC 7208 7.3: %{c} is the address as people write it. */
int
spf_ip_text(const struct spf_ip *ip, struct buf *out)
{
	char text[INET6_ADDRSTRLEN];

	if (ip->af == AF_INET)
		return addr_quad(ip->b, out);
	if (inet_ntop(ip->af, ip->b, text, sizeof(text)) == NULL)
		return DKK_EINVAL;
	return buf_adds(out, text);
}
