/*
 * keycheck.c: is a key published?  One fresh lookup of a selector's key
 * record (not through the key cache: a postmaster who has just changed
 * the zone wants the answer of now), compared with a private key.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHECK_MAX_TAGS 32

struct check {
	bool done;
	enum dkk_record_state state;
	enum key_type type;
	const uint8_t *want;	/* our public key, decoded p= */
	size_t wantlen;		/* 0: nothing to compare with */
};

static bool
check_type(const struct tag *k, enum key_type type)
{
	if (k == NULL)
		return type == KEY_RSA;	/* RFC 6376 3.6.1: the default */
	return ci_equals(k->val, k->vlen, type == KEY_RSA ? "rsa" : "ed25519");
}

/* The state one TXT record gives; DKK_RECORD_MISSING when it is not a
 * DKIM key record. */
static enum dkk_record_state
check_record(const struct check *c, const char *txt, size_t len)
{
	struct tag tags[CHECK_MAX_TAGS];
	const struct tag *v, *k, *p;
	enum dkk_record_state st = DKK_RECORD_DIFFERS;
	uint8_t *der;
	size_t n, dlen;

	if (taglist_parse(txt, len, tags, CHECK_MAX_TAGS, &n) != TAGLIST_OK)
		return DKK_RECORD_MISSING;
	v = taglist_find(tags, n, "v");
	if ((v != NULL && (v != &tags[0] || !ci_equals(v->val, v->vlen,
	    "DKIM1"))) || (p = taglist_find(tags, n, "p")) == NULL)
		return DKK_RECORD_MISSING;
	if (b64_decode(p->val, p->vlen, &der, &dlen) != DKK_OK)
		return DKK_RECORD_DIFFERS;
	k = taglist_find(tags, n, "k");
	if (dlen == 0)
		st = DKK_RECORD_REVOKED;	/* RFC 6376 3.6.1 */
	else if (c->wantlen == 0)
		st = DKK_RECORD_PRESENT;
	else if (dlen == c->wantlen && memcmp(der, c->want, dlen) == 0 &&
	    check_type(k, c->type))
		st = DKK_RECORD_MATCH;
	free(der);
	return st;
}

/* Of several records, the best news wins: a match, then a revocation. */
static void
check_answer(void *arg, const struct dkk_dns_answer *ans)
{
	static const enum dkk_record_state rank[] = {
		DKK_RECORD_MATCH, DKK_RECORD_PRESENT, DKK_RECORD_REVOKED,
		DKK_RECORD_DIFFERS, DKK_RECORD_MISSING
	};
	struct check *c = arg;
	size_t i, r, best = sizeof(rank) / sizeof(rank[0]) - 1;

	c->done = true;
	if (ans->status == DKK_DNS_TEMPFAIL) {
		c->state = DKK_RECORD_TEMPERROR;
		return;
	}
	for (i = 0; ans->status == DKK_DNS_OK && i < ans->count; i++) {
		enum dkk_record_state st = check_record(c, ans->txt[i],
		    ans->len[i]);

		for (r = 0; r < best && rank[r] != st; r++)
			;
		best = r;
	}
	c->state = rank[best];
}

static int
check_query(dkk_ctx *ctx, const char *name, struct check *c)
{
	int rc;

	if (ctx->res.query_txt == NULL)
		return ctx_fail(ctx, DKK_ESTATE, "no key source chosen");
	rc = ctx->res.query_txt(ctx->res_arg, name, check_answer, c);
	while (rc == DKK_OK && !c->done)
		rc = ctx->res.wait != NULL ? ctx->res.wait(ctx->res_arg) :
		    DKK_ESTATE;
	return rc;
}

int
dkk_record_check(dkk_ctx *ctx, const char *selector, const char *domain,
    const dkk_key *key, enum dkk_record_state *state)
{
	struct check c;
	struct buf name;
	char *p64 = NULL;
	uint8_t *want = NULL;
	int rc;

	if (ctx == NULL || selector == NULL || domain == NULL || state == NULL)
		return DKK_EINVAL;
	memset(&c, 0, sizeof(c));
	buf_init(&name);
	buf_printf(&name, "%s._domainkey.%s", selector, domain);
	rc = name.failed ? DKK_ENOMEM : DKK_OK;
	if (rc == DKK_OK && key != NULL &&
	    (rc = dkk_key_public(key, &p64)) == DKK_OK &&
	    (rc = b64_decode(p64, strlen(p64), &want, &c.wantlen)) == DKK_OK) {
		c.want = want;
		c.type = privkey_type(key);
	}
	if (rc == DKK_OK && (rc = check_query(ctx, name.p, &c)) == DKK_OK)
		*state = c.state;
	free(p64);
	free(want);
	buf_clear(&name);
	return rc;
}

const char *
dkk_record_state_name(enum dkk_record_state state)
{
	static const char *const names[] = {
		"ok", "missing", "differs", "revoked", "published", "temperror"
	};

	if ((unsigned)state >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[state];
}
