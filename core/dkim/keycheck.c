/*
 * keycheck.c: is a key published?  One fresh lookup of a selector's key
 * record (not through the key cache: a postmaster who has just changed
 * the zone wants the answer of now), read with the verifier's own parser,
 * and a signature by the private key checked with the published key: a
 * match means receivers will accept what this key signs.
 */
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

/* A fixed header hash, signed once by the key under test. */
static const uint8_t check_digest[32] = "dkimkit: is this key published?";

struct check {
	bool done;
	enum dkk_record_state state;
	unsigned max_bits;
	enum key_type type;
	const uint8_t *sig;	/* of check_digest; NULL: nothing to compare */
	size_t siglen;
};

/* Would a verifier accept a signature by our key under this record? */
static bool
check_matches(const struct check *c, const struct keyrec *kr)
{
	return kr->type == c->type && kr->sha256_ok &&
	    pubkey_verify(kr->key, HASH_SHA256, check_digest, c->sig,
	    c->siglen);
}

/* The state one TXT record gives: not a key record at all (syntax, v=,
 * no p=) is missing; a key record receivers cannot use with our key (other
 * k=, h= without sha256, s= without email, a bad or too large p=) differs. */
static enum dkk_record_state
check_record(const struct check *c, const char *txt, size_t len)
{
	enum dkk_record_state st;
	enum dkk_reason reason;
	struct keyrec kr;
	struct buf why;
	int rc;

	buf_init(&why);
	rc = keyrec_parse(&kr, txt, len, c->max_bits, &reason, &why);
	if (rc == DKK_ESYNTAX)
		st = reason == DKK_R_KEY_SYNTAX ? DKK_RECORD_MISSING :
		    DKK_RECORD_DIFFERS;
	else if (rc != DKK_OK)
		st = DKK_RECORD_TEMPERROR;	/* out of memory */
	else if (kr.revoked)
		st = DKK_RECORD_REVOKED;	/* RFC 6376 3.6.1 */
	else if (c->sig == NULL)
		st = DKK_RECORD_PRESENT;
	else
		st = check_matches(c, &kr) ? DKK_RECORD_MATCH :
		    DKK_RECORD_DIFFERS;
	keyrec_clear(&kr);
	buf_clear(&why);
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
	if (dns_trouble(ans)) {
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

static int
record_check_run(dkk_ctx *ctx, const char *selector, const char *domain,
    const dkk_key *key, enum dkk_record_state *state)
{
	struct check c;
	struct buf name;
	uint8_t *sig = NULL;
	int rc;

	if (ctx == NULL || selector == NULL || domain == NULL || state == NULL)
		return DKK_EINVAL;
	memset(&c, 0, sizeof(c));
	c.max_bits = ctx->limit_rsa_bits;
	buf_init(&name);
	buf_printf(&name, "%s._domainkey.%s", selector, domain);
	rc = name.failed ? DKK_ENOMEM : DKK_OK;
	if (rc == DKK_OK && key != NULL &&
	    (rc = privkey_sign(key, check_digest, &sig, &c.siglen)) == DKK_OK) {
		c.sig = sig;
		c.type = privkey_type(key);
	}
	if (rc == DKK_OK && (rc = check_query(ctx, name.p, &c)) == DKK_OK)
		*state = c.state;
	free(sig);
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

int
dkk_record_check(dkk_ctx *ctx, const char *selector, const char *domain,
    const dkk_key *key, enum dkk_record_state *state)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, record_check_run(ctx, selector, domain, key, state));
}
