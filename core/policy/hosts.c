/*
 * hosts.c: host lists as OpenDKIM reads InternalHosts and
 * ExternalIgnoreList: an IPv4 or IPv6 address, a network "ADDR/BITS", a
 * host name, or ".domain" for every host under it, each perhaps "!"
 * negated.  The most specific entry that matches decides, a host name
 * before any address, a negation before its equal: so "10.0.0.0/8" with
 * "!10.1.0.0/16" takes all of 10/8 but 10.1/16.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Ranks above every prefix length: names decide before addresses. */
#define RANK_SUFFIX 1000
#define RANK_NAME 100000

static int
host_parse(dkk_ctx *ctx, struct phost *h, const char *text, const char *where,
    const char *field)
{
	char addr[64], *slash, *end;
	const char *s = text;
	unsigned long bits;
	size_t i;

	memset(h, 0, sizeof(*h));
	h->where = where;
	if (*s == '!') {
		h->neg = true;
		s++;
	}
	if (strchr(s, ':') == NULL && (strchr(s, '.') == NULL ||
	    strspn(s, "0123456789./") != strlen(s))) {
		if (*s == '\0')
			return ctx_fail(ctx, DKK_ESYNTAX, "%s: %s: empty entry",
			    where, field);
		if ((h->name = dkk_strdup(s)) == NULL)
			return DKK_ENOMEM;
		for (i = 0; h->name[i] != '\0'; i++)
			h->name[i] = (char)lower(h->name[i]);
		return DKK_OK;
	}
	if (strlen(s) >= sizeof(addr))
		return ctx_fail(ctx, DKK_ESYNTAX, "%s: %s: not an address or "
		    "network '%s'", where, field, text);
	strcpy(addr, s);
	h->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	h->bits = h->family == AF_INET ? 32 : 128;
	if ((slash = strchr(addr, '/')) != NULL) {
		*slash++ = '\0';
		bits = strtoul(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits > h->bits)
			return ctx_fail(ctx, DKK_ESYNTAX, "%s: %s: bad prefix "
			    "length in '%s'", where, field, text);
		h->bits = (unsigned)bits;
	}
	if (inet_pton(h->family, addr, h->addr) != 1)
		return ctx_fail(ctx, DKK_ESYNTAX, "%s: %s: not an address or "
		    "network '%s'", where, field, text);
	return DKK_OK;
}

static int
hosts_fill(dkk_ctx *ctx, struct phosts *h, const char *field)
{
	size_t i;
	int rc = DKK_OK;

	if (h->src.n > 0 &&
	    (h->v = dkk_calloc(h->src.n, sizeof(*h->v))) == NULL)
		return DKK_ENOMEM;
	for (i = 0; rc == DKK_OK && i < h->src.n; i++, h->n++)
		rc = host_parse(ctx, &h->v[i], h->src.v[i].key,
		    h->src.v[i].where, field);
	return rc;
}

int
phosts_load(dkk_ctx *ctx, struct phosts *h, const char *spec,
    const char *where, const char *field)
{
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = ptable_load(ctx, &h->src, spec, where, field)) != DKK_OK)
		return rc;
	return hosts_fill(ctx, h, field);
}

/* OpenDKIM's InternalHosts when none is given: the local host. */
int
phosts_default(struct phosts *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = ptable_load(NULL, &h->src, "csl:127.0.0.1,::1", NULL,
	    NULL)) != DKK_OK)
		return rc;
	return hosts_fill(NULL, h, NULL);
}

void
phosts_clear(struct phosts *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->v[i].name);
	free(h->v);
	ptable_clear(&h->src);
	memset(h, 0, sizeof(*h));
}

static bool
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* How specifically e names the client: 0 when it does not. */
static size_t
host_rank(const struct phost *e, int family, const unsigned char *addr,
    const char *host)
{
	size_t hl, nl;

	if (e->family != 0)
		return e->family == family && prefix_equal(e->addr, addr,
		    e->bits) ? e->bits + 1 : 0;
	if (host == NULL)
		return 0;
	hl = strlen(host);
	nl = strlen(e->name);
	if (e->name[0] != '.')
		return ci_equal(e->name, nl, host, hl) ? RANK_NAME : 0;
	return hl > nl && ci_equal(e->name, nl, host + hl - nl, nl) ?
	    RANK_SUFFIX + nl : 0;
}

const struct phost *
phosts_match(const struct phosts *h, const char *ip, const char *host)
{
	unsigned char addr[16];
	const struct phost *best = NULL;
	size_t i, r, rank = 0;
	int family = 0;

	if (ip != NULL && inet_pton(AF_INET, ip, addr) == 1)
		family = AF_INET;
	else if (ip != NULL && inet_pton(AF_INET6, ip, addr) == 1)
		family = AF_INET6;
	for (i = 0; i < h->n; i++) {
		r = host_rank(&h->v[i], family, addr, host);
		if (r > rank || (r == rank && r > 0 && h->v[i].neg)) {
			rank = r;
			best = &h->v[i];
		}
	}
	return best;
}
