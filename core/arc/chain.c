/*
 * chain.c: ARC chain validation, RFC 8617 5.2.  When the header block
 * ends the sets are collected (set.c) and, if their structure holds, a
 * key lookup starts for every AMS and AS, so DNS overlaps the body as
 * for DKIM.  At the end the steps run in the RFC's order: the latest
 * seal's cv=, the cv= of every seal, the latest AMS, oldest-pass over the
 * older AMSs, then every seal from the latest down.  The first fault
 * decides: the chain fails, with the instance and the reason.
 *
 * Choices where the RFC leaves one: an AMS or AS whose tags cannot be
 * read (a required tag missing, a malformed value, h= in a seal, ARC-Seal
 * in an AMS's h=) makes its set malformed and the chain fail (step 2),
 * whatever its instance; a key that cannot be had (no record,
 * DNS trouble) fails the signature, as ARC has no temperror result; an
 * AMS is held to the DKIM rules it inherits (From in h=, x= not past,
 * RFC 8301, c= simple/simple when absent, where dkimpy takes relaxed),
 * an AS to RFC 8301 only; a header block over the verifier's
 * limit fails the chain (it could not be read).
 *
 * Work is bounded as for DKIM: the seals are at most 50 (RFC 8617 4.2.1)
 * and each needs its key; of the AMSs only the latest must verify, so
 * oldest-pass looks back over at most DKK_LIMIT_SIGNATURES of them (each
 * may need its own body hash) and an older one counts as not verifying.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"

const char *
dkk_arc_name(enum dkk_arc result)
{
	switch (result) {
	case DKK_ARC_NONE: return "none";
	case DKK_ARC_PASS: return "pass";
	case DKK_ARC_FAIL: return "fail";
	}
	return NULL;
}

/* The first fault decides. */
void
arc_fail(struct arc *a, unsigned inst, const char *fmt, ...)
{
	va_list ap;

	if (a->decided)
		return;
	a->decided = true;
	a->result = DKK_ARC_FAIL;
	a->failed = inst;
	a->why.len = 0;
	va_start(ap, fmt);
	buf_vprintf(&a->why, fmt, ap);
	va_end(ap);
}

/* One lookup per key name, shared by the AMSs and seals naming it. */
static int
arc_lookup(dkk_verifier *v, struct arc *a, const struct sig *sg,
    size_t *index)
{
	struct buf name;
	size_t i;

	buf_init(&name);
	if (buf_printf(&name, "%s._domainkey.%s", sg->s, sg->d) != DKK_OK)
		return DKK_ENOMEM;
	for (i = 0; i < a->nlk; i++)
		if (ci_equal(a->lk[i].name, strlen(a->lk[i].name), name.p,
		    name.len)) {
			buf_clear(&name);
			*index = i;
			return DKK_OK;
		}
	*index = a->nlk++;
	return lookup_begin(v, &a->lk[*index], buf_take(&name));
}

/* Body hashes and key lookups of every usable signature within the
 * limit. */
static int
arc_prepare(dkk_verifier *v, struct arc *a)
{
	unsigned k;
	int rc;

	if ((a->lk = dkk_calloc(2 * (size_t)a->n, sizeof(*a->lk))) == NULL)
		return DKK_ENOMEM;
	for (k = 0; k < a->n; k++) {
		struct arc_set *s = &a->sets[k];

		if (a->n - k > v->ctx->limit_signatures)
			s->ams_skipped = true;
		if (s->ams_parsed && !s->ams_skipped &&
		    ((rc = bodyset_sink(&v->body, s->ams.bcanon,
		    sig_hash(s->ams.alg), s->ams.l >= 0 ? (uint64_t)s->ams.l :
		    UINT64_MAX, &s->ams_sink)) != DKK_OK ||
		    (rc = arc_lookup(v, a, &s->ams, &s->ams_lk)) != DKK_OK))
			return rc;
		if (s->as_parsed &&
		    (rc = arc_lookup(v, a, &s->as, &s->as_lk)) != DKK_OK)
			return rc;
	}
	return DKK_OK;
}

/* Step 2's form of each set (an AMS or AS whose tags cannot be read
 * makes its set malformed, as a missing field does), then steps 3 and 4:
 * the latest seal's cv=, then i=1 cv=none and cv=pass above it. */
static void
arc_structure(struct arc *a)
{
	unsigned k;

	for (k = a->n; k >= 1 && !a->decided; k--) {
		const struct arc_set *s = &a->sets[k - 1];

		if (!s->as_parsed)
			arc_fail(a, k, "ARC-Seal unusable: %s", s->as_why.p);
		else if (!s->ams_parsed)
			arc_fail(a, k, "ARC-Message-Signature unusable: %s",
			    s->ams_why.p);
		else if (s->cv == ARC_CV_FAIL)
			arc_fail(a, k, "seal of instance %u says cv=fail", k);
		else if (k == 1 && s->cv != ARC_CV_NONE)
			arc_fail(a, k, "seal of instance 1 says cv=pass, "
			    "not cv=none");
		else if (k > 1 && s->cv != ARC_CV_PASS)
			arc_fail(a, k, "seal of instance %u says cv=none, "
			    "not cv=pass", k);
	}
}

/* The verifier calls this when the header block is complete. */
int
arc_start(dkk_verifier *v)
{
	struct arc *a = v->arc;
	int rc;

	if (a == NULL)
		return DKK_OK;
	if ((rc = bodyset_sink(&v->body, DKK_CANON_RELAXED, HASH_SHA256,
	    UINT64_MAX, &a->seal_sink)) != DKK_OK ||
	    (rc = arc_collect(v, a)) != DKK_OK)
		return rc;
	if (a->n > 0 && a->sets[a->n - 1].as_parsed &&
	    a->sets[a->n - 1].cv == ARC_CV_FAIL)
		a->top_cv_fail = true;
	if (a->decided || a->n == 0)
		return DKK_OK;
	arc_structure(a);
	return a->decided ? DKK_OK : arc_prepare(v, a);
}

int
arc_new(dkk_verifier *v, const struct dkk_verify_opts *o)
{
	struct arc *a;

	if (o == NULL || !o->arc)
		return DKK_OK;
	if ((a = dkk_calloc(1, sizeof(*a))) == NULL)
		return DKK_ENOMEM;
	buf_init(&a->why);
	buf_init(&a->comment);
	v->arc = a;
	a->forwarded = o->arc_forwarded != 0;
	if (o->arc_remote_ip != NULL &&
	    (a->remote_ip = dkk_strdup(o->arc_remote_ip)) == NULL)
		return DKK_ENOMEM;
	return arc_trust_init(a, o->trusted_sealers);
}

void
arc_clear(dkk_verifier *v)
{
	struct arc *a = v->arc;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; a->sets != NULL && i < ARC_MAX_SETS; i++) {
		sig_clear(&a->sets[i].ams);
		sig_clear(&a->sets[i].as);
		buf_clear(&a->sets[i].ams_why);
		buf_clear(&a->sets[i].as_why);
	}
	for (i = 0; i < a->nlk; i++)
		lookup_end(&a->lk[i]);
	free(a->sets);
	free(a->lk);
	free(a->remote_ip);
	arc_trust_clear(a);
	buf_clear(&a->why);
	free(a);
	v->arc = NULL;
}

/* The key of an ARC signature, with the checks of RFC 6376 6.1.2 that
 * apply (RFC 8617 uses DKIM keys as they are); NULL with why. */
static const struct keyrec *
arc_key(dkk_verifier *v, struct lookup *lk, const struct sig *sg,
    struct buf *why)
{
	const struct dkk_dns_answer *ans = keyent_answer(lk->e);
	const struct keyrec *kr;
	enum dkk_reason reason;
	const char *err;
	unsigned bits;

	if (ans->dnssec == DKK_DNSSEC_BOGUS)
		buf_printf(why, "DNSSEC validation of %s failed", lk->name);
	else if (ans->status == DKK_DNS_TEMPFAIL)
		buf_printf(why, "key lookup of %s failed temporarily",
		    lk->name);
	else if (keyent_dropped(lk->e) > 0)
		buf_printf(why, "key record answer at %s over the limit",
		    lk->name);
	else if (ans->status == DKK_DNS_NXDOMAIN || ans->count == 0)
		buf_printf(why, "no key record at %s", lk->name);
	else if (keyent_key(lk->e, v->ctx->limit_rsa_bits, &kr, &reason,
	    &err) != DKK_OK)
		buf_printf(why, "%s: %s", lk->name, err);
	else if (kr->revoked)
		buf_printf(why, "key %s revoked", lk->name);
	else if ((sg->alg == ALG_ED25519_SHA256) != (kr->type == KEY_ED25519))
		buf_printf(why, "key type of %s does not match a=%s",
		    lk->name, sg->a);
	else if (!(sig_hash(sg->alg) == HASH_SHA1 ? kr->sha1_ok :
	    kr->sha256_ok))
		buf_printf(why, "key %s does not allow the hash of a=%s",
		    lk->name, sg->a);
	else if (kr->type == KEY_RSA && ((bits = pubkey_bits(kr->key)) < 512 ||
	    (bits < 1024 && !v->ctx->allow_weak)))
		buf_printf(why, "RSA key %s of %u bits is too small "
		    "(RFC 8301)", lk->name, bits);
	else
		return kr;
	return NULL;
}

/* What can be judged without the key. */
static bool
arc_precheck(dkk_verifier *v, const struct sig *sg, struct buf *why)
{
	if (sg->alg == ALG_RSA_SHA1 && !v->ctx->allow_weak) {
		buf_adds(why, "rsa-sha1 is not accepted (RFC 8301)");
		return false;
	}
	if (sg->x >= 0 && sg->x < ctx_now(v->ctx) - v->ctx->skew) {
		buf_adds(why, "signature expired");
		return false;
	}
	return true;
}

static bool
arc_check(const struct keyrec *kr, const struct sig *sg, struct hash *h,
    struct buf *tmp, struct buf *why)
{
	uint8_t digest[HASH_MAX];

	tmp->len = 0;
	if (canon_header(tmp, sg->hcanon, sg->unsigned_field,
	    sg->unsigned_len, false) != DKK_OK) {
		buf_adds(why, "out of memory");
		return false;
	}
	hash_update(h, tmp->p, tmp->len);
	hash_digest(h, digest);
	if (pubkey_verify(kr->key, sig_hash(sg->alg), digest, sg->b,
	    sg->blen))
		return true;
	buf_adds(why, "signature did not verify");
	return false;
}

/* An AMS, verified as a DKIM-Signature (RFC 8617 5.2 step 5). */
static bool
ams_verify(dkk_verifier *v, struct arc *a, unsigned k, struct buf *why)
{
	const struct arc_set *s = &a->sets[k - 1];
	const struct sig *sg = &s->ams;
	const struct keyrec *kr;
	const struct body_sink *bs;
	struct hash h;
	size_t n;

	if (!s->ams_parsed) {
		buf_printf(why, "unusable: %s", s->ams_why.p);
		return false;
	}
	if (s->ams_skipped) {
		buf_adds(why, "not evaluated (signature limit)");
		return false;
	}
	if (!arc_precheck(v, sg, why) ||
	    (kr = arc_key(v, &a->lk[s->ams_lk], sg, why)) == NULL)
		return false;
	bs = bodyset_get(&v->body, sg->bcanon, s->ams_sink);
	n = hash_size(sig_hash(sg->alg));
	if (sg->l >= 0 && bs->fed < (uint64_t)sg->l) {
		buf_adds(why, "l= is larger than the body");
		return false;
	}
	if (sg->bhlen != n || memcmp(sg->bh, bs->digest, n) != 0) {
		buf_adds(why, "body hash mismatch");
		return false;
	}
	hash_init(&h, sig_hash(sg->alg));
	if (hdrsel_hash(&h, &v->hdr, sg->h, sg->nh, sg->hcanon,
	    &v->hdr.fields[s->field[ARC_AMS]], &v->tmp) != DKK_OK) {
		buf_adds(why, "out of memory");
		return false;
	}
	return arc_check(kr, sg, &h, &v->tmp, why);
}

static int
feed_field(struct hash *h, const struct header *hdr, size_t idx,
    struct buf *tmp)
{
	const struct field *f = &hdr->fields[idx];

	tmp->len = 0;
	if (canon_header(tmp, DKK_CANON_RELAXED, header_text(hdr, f), f->len,
	    true) != DKK_OK)
		return DKK_ENOMEM;
	hash_update(h, tmp->p, tmp->len);
	return DKK_OK;
}

/* The complete sets 1 to upto, in instance order, each AAR, AMS, AS,
 * relaxed (RFC 8617 5.1.1): the start of the hash of seal upto + 1. */
int
arc_seal_hash(struct hash *h, const struct header *hdr, const struct arc *a,
    unsigned upto, struct buf *tmp)
{
	unsigned k;
	int kind, rc;

	for (k = 1; k <= upto; k++)
		for (kind = 0; kind < ARC_NKINDS; kind++)
			if ((rc = feed_field(h, hdr,
			    a->sets[k - 1].field[kind], tmp)) != DKK_OK)
				return rc;
	return DKK_OK;
}

/* A seal over the sets up to its own (RFC 8617 5.2 step 7). */
static bool
as_verify(dkk_verifier *v, struct arc *a, unsigned k, struct buf *why)
{
	const struct arc_set *s = &a->sets[k - 1];
	const struct keyrec *kr;
	struct hash h;

	if (!arc_precheck(v, &s->as, why) ||
	    (kr = arc_key(v, &a->lk[s->as_lk], &s->as, why)) == NULL)
		return false;
	hash_init(&h, sig_hash(s->as.alg));
	if (arc_seal_hash(&h, &v->hdr, a, k - 1, &v->tmp) != DKK_OK ||
	    feed_field(&h, &v->hdr, s->field[ARC_AAR], &v->tmp) != DKK_OK ||
	    feed_field(&h, &v->hdr, s->field[ARC_AMS], &v->tmp) != DKK_OK) {
		buf_adds(why, "out of memory");
		return false;
	}
	return arc_check(kr, &s->as, &h, &v->tmp, why);
}

/* Step 6: the oldest instance from which every AMS still verifies; 0
 * when all do down to instance 1. */
static void
arc_oldest(dkk_verifier *v, struct arc *a, struct buf *why)
{
	unsigned k;

	a->oldest_pass = 0;
	for (k = a->n - 1; k >= 1; k--) {
		why->len = 0;
		if (!ams_verify(v, a, k, why)) {
			a->oldest_pass = k + 1;
			return;
		}
	}
}

static void
arc_run(dkk_verifier *v, struct arc *a)
{
	struct buf why;
	unsigned k;

	buf_init(&why);
	if (!ams_verify(v, a, a->n, &why)) {
		arc_fail(a, a->n, "ARC-Message-Signature of instance %u: %s",
		    a->n, why.failed ? "out of memory" : why.p);
		buf_clear(&why);
		return;
	}
	arc_oldest(v, a, &why);
	for (k = a->n; k >= 1 && !a->decided; k--) {
		why.len = 0;
		if (!as_verify(v, a, k, &why))
			arc_fail(a, k, "ARC-Seal of instance %u: %s", k,
			    why.failed ? "out of memory" : why.p);
	}
	buf_clear(&why);
	if (!a->decided)
		a->result = DKK_ARC_PASS;
}

/* At final: the verdict (RFC 8617 5.2). */
void
arc_settle(dkk_verifier *v)
{
	struct arc *a = v->arc;

	if (a == NULL)
		return;
	if (v->limit.len > 0)
		arc_fail(a, 0, "header block not evaluated: %s", v->limit.p);
	if (a->decided) {
		a->oldest_pass = 0;
		return;
	}
	a->result = a->n == 0 ? DKK_ARC_NONE : DKK_ARC_FAIL;
	if (a->n > 0)
		arc_run(v, a);
	if (a->result != DKK_ARC_PASS)
		a->oldest_pass = 0;
	a->decided = true;
}

int
dkk_verifier_arc(const dkk_verifier *v, struct dkk_arc_result *r)
{
	const struct arc *a;

	if (v == NULL || r == NULL || (a = v->arc) == NULL || !v->final)
		return DKK_EINVAL;
	r->result = a->result;
	r->instances = a->n;
	r->oldest_pass = a->oldest_pass;
	r->failed_instance = a->result == DKK_ARC_FAIL ? a->failed : 0;
	r->reason = a->result == DKK_ARC_FAIL && a->why.len > 0 &&
	    !a->why.failed ? a->why.p : "";
	return DKK_OK;
}

static const char *const cv_names[] = { "none", "pass", "fail" };

int
dkk_verifier_arc_set(const dkk_verifier *v, unsigned instance,
    struct dkk_arc_set *set)
{
	const struct arc *a;
	const struct arc_set *s;
	int kind;

	if (v == NULL || set == NULL || (a = v->arc) == NULL || !v->final ||
	    a->sets == NULL || instance < 1 || instance > a->n)
		return DKK_EINVAL;
	s = &a->sets[instance - 1];
	for (kind = 0; kind < ARC_NKINDS; kind++)
		if (s->field[kind] == SIZE_MAX)
			return DKK_EINVAL;
	memset(set, 0, sizeof(*set));
	set->instance = instance;
	if (s->as_parsed) {
		set->seal_domain = s->as.d;
		set->seal_selector = s->as.s;
		set->cv = cv_names[s->cv];
	}
	set->aar = header_value(&v->hdr, &v->hdr.fields[s->field[ARC_AAR]],
	    &set->aar_len);
	return DKK_OK;
}
