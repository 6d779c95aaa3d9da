/*
 * verify.c: the verifier, RFC 6376 section 6.  The header block is kept;
 * when it ends, every DKIM-Signature field is parsed, checked as far as it
 * can be without its key, and its key lookup started, so DNS overlaps the
 * body.  The body is canonicalised and hashed as it streams by.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "explain.h"
#include "arc/arc.h"

/* One key lookup per distinct selector name in the message. */
static int
lookup_start(dkk_verifier *v, const struct sig *sg, size_t *index)
{
	struct buf name;
	size_t i;

	buf_init(&name);
	if (buf_printf(&name, "%s._domainkey.%s", sg->s, sg->d) != DKK_OK)
		return DKK_ENOMEM;
	for (i = 0; i < v->nlookups; i++)
		if (ci_equal(v->lookups[i].name, strlen(v->lookups[i].name),
		    name.p, name.len)) {
			buf_clear(&name);
			*index = i;
			return DKK_OK;
		}
	*index = v->nlookups++;
	return lookup_begin(v, &v->lookups[*index], buf_take(&name));
}

static void PRINTF(4, 5)
decide(struct vsig *vs, enum dkk_verdict verdict, enum dkk_reason reason,
    const char *fmt, ...)
{
	va_list ap;

	vs->decided = true;
	vs->res.verdict = verdict;
	vs->res.reason = reason;
	vs->why.len = 0;
	va_start(ap, fmt);
	buf_vprintf(&vs->why, fmt, ap);
	va_end(ap);
}

static void
utc_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, len, "%lld", (long long)t);
}

/* What can be judged before the key arrives: RFC 8301 and the clock. */
static void
precheck(dkk_verifier *v, struct vsig *vs)
{
	const struct sig *sg = &vs->sg;
	int64_t now = ctx_now(v->ctx), skew = v->ctx->skew;
	char when[64];

	if (sg->alg == ALG_RSA_SHA1 && !v->ctx->allow_weak) {
		decide(vs, DKK_POLICY, DKK_R_WEAK_HASH,
		    "rsa-sha1 is not accepted (RFC 8301)");
	} else if (sg->x >= 0 && sg->x < now - skew) {
		utc_time(sg->x, when, sizeof(when));
		decide(vs, DKK_PERMERROR, DKK_R_EXPIRED,
		    "signature expired at %s", when);
	} else if (sg->t >= 0 && sg->t > now + skew) {
		utc_time(sg->t, when, sizeof(when));
		decide(vs, DKK_PERMERROR, DKK_R_FUTURE,
		    "signature timestamp %s is in the future", when);
	}
}

static void
result_strings(struct vsig *vs)
{
	struct dkk_sig_result *r = &vs->res;

	r->domain = vs->sg.d;
	r->selector = vs->sg.s;
	r->identity = vs->sg.i;
	r->algorithm = vs->sg.a;
	r->b = vs->sg.b64;
	r->timestamp = vs->sg.t;
	r->expiration = vs->sg.x;
	r->body_length = vs->sg.l;
	r->header_canon = vs->sg.hcanon;
	r->body_canon = vs->sg.bcanon;
}

/* Parse one DKIM-Signature field and prepare what evaluating it needs. */
static int
sig_setup(dkk_verifier *v, struct vsig *vs, const struct field *f,
    size_t *evaluated)
{
	enum dkk_reason reason = DKK_R_OK;
	uint64_t limit;
	int rc;

	buf_init(&vs->why);
	rc = sig_parse_max(&vs->sg, header_text(&v->hdr, f), f->len,
	    &v->ctx->limit_sig, &reason, &vs->why);
	result_strings(vs);
	if (rc == DKK_ENOMEM)
		return rc;
	if (rc != DKK_OK) {
		vs->decided = true;
		vs->res.verdict = DKK_PERMERROR;
		vs->res.reason = reason;
		return DKK_OK;
	}
	if (*evaluated == v->ctx->limit_signatures) {
		decide(vs, DKK_POLICY, DKK_R_TOO_MANY,
		    "more than %zu signatures: not evaluated",
		    v->ctx->limit_signatures);
		return DKK_OK;
	}
	++*evaluated;
	vs->evaluated = true;
	precheck(v, vs);
	if (vs->decided)
		return DKK_OK;
	limit = vs->sg.l >= 0 ? (uint64_t)vs->sg.l : UINT64_MAX;
	if ((rc = bodyset_sink(&v->body, vs->sg.bcanon, sig_hash(vs->sg.alg),
	    limit, &vs->sink)) != DKK_OK)
		return rc;
	return lookup_start(v, &vs->sg, &vs->lookup);
}

static int
header_done(dkk_verifier *v)
{
	size_t i, n = 0, evaluated = 0;
	int rc;

	v->header_done = true;
	for (i = 0; i < v->hdr.count; i++)
		if (header_is(&v->hdr, &v->hdr.fields[i], "DKIM-Signature"))
			n++;
	if (n > 0 && ((v->sigs = dkk_calloc(n, sizeof(*v->sigs))) == NULL ||
	    (v->lookups = dkk_calloc(n, sizeof(*v->lookups))) == NULL))
		return DKK_ENOMEM;
	for (i = 0; i < v->hdr.count; i++) {
		const struct field *f = &v->hdr.fields[i];

		if (!header_is(&v->hdr, f, "DKIM-Signature"))
			continue;
		v->sigs[v->nsigs].field = i;
		rc = sig_setup(v, &v->sigs[v->nsigs++], f, &evaluated);
		if (rc != DKK_OK)
			return rc;
	}
	if ((rc = arc_start(v)) != DKK_OK)
		return rc;
	if ((rc = adsp_start(v)) != DKK_OK)
		return rc;
	if ((rc = atps_start(v)) != DKK_OK)
		return rc;
	rc = dmarc_start(v);
	return rc == DKK_EAGAIN ? DKK_OK : rc;
}

/* The SPF facts a host gave, copied: they go into the A-R field (spf=)
 * whether or not DMARC is on, and DMARC aligns them. */
static int
verifier_spf_facts(dkk_verifier *v, const struct dkk_spf_facts *facts)
{
	/* An address (as smtp.mailfrom may hold, RFC 8601 2.7.2) stands
	 * for its domain. */
	const char *d = strrchr(facts->domain, '@');
	char *copy;

	free((char *)v->spf.domain);
	v->spf = *facts;
	d = d != NULL ? d + 1 : facts->domain;
	if ((copy = dkk_strdup(d)) == NULL) {
		v->spf.domain = NULL;
		return DKK_ENOMEM;
	}
	copy[strcspn(copy, ">")] = '\0';
	if (*copy != '\0' && copy[strlen(copy) - 1] == '.')
		copy[strlen(copy) - 1] = '\0';	/* absolute name */
	v->spf.domain = copy;
	return DKK_OK;
}

/* DMARC's options: RFC 7489 mode needs the Public Suffix List, the
 * system's unless one was given. */
static int
verifier_dmarc_opts(dkk_verifier *v, const struct dkk_verify_opts *opts)
{
	int rc;

	v->dmarc_on = true;
	v->dmarc_7489 = opts->rfc7489 != 0;
	if (v->dmarc_7489 && v->ctx->psl == NULL &&
	    (rc = dkk_ctx_use_psl(v->ctx, NULL)) != DKK_OK)
		return rc;
	return DKK_OK;
}

int
dkk_verifier_new(dkk_ctx *ctx, const struct dkk_verify_opts *opts,
    dkk_verifier **vp)
{
	dkk_verifier *v;
	int rc;

	if (ctx == NULL || vp == NULL)
		return DKK_EINVAL;
	if ((v = dkk_calloc(1, sizeof(*v))) == NULL)
		return DKK_ENOMEM;
	v->ctx = ctx;
	v->adsp_on = opts != NULL && opts->adsp != 0;
	v->spf_wait = opts != NULL && opts->spf_later;
	if (opts != NULL && !v->spf_wait && opts->spf.domain != NULL &&
	    (rc = verifier_spf_facts(v, &opts->spf)) != DKK_OK) {
		dkk_verifier_free(v);
		return rc;
	}
	if (opts != NULL && opts->dmarc &&
	    (rc = verifier_dmarc_opts(v, opts)) != DKK_OK) {
		dkk_verifier_free(v);
		return rc;
	}
	if ((rc = atps_new(v, opts)) != DKK_OK) {
		dkk_verifier_free(v);
		return rc;
	}
	if (opts != NULL && opts->explain &&
	    explain_new(&v->explain) != DKK_OK) {
		dkk_verifier_free(v);
		return DKK_ENOMEM;
	}
	header_init(&v->hdr, ctx->limit_header_bytes, ctx->limit_header_fields);
	bodyset_init(&v->body);
	buf_init(&v->tmp);
	buf_init(&v->limit);
	*vp = v;
	if (arc_new(v, opts) != DKK_OK) {
		dkk_verifier_free(v);
		*vp = NULL;
		return DKK_ENOMEM;
	}
	return DKK_OK;
}

void
dkk_verifier_free(dkk_verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nsigs; i++) {
		sig_clear(&v->sigs[i].sg);
		buf_clear(&v->sigs[i].why);
	}
	for (i = 0; i < v->nlookups; i++)
		lookup_end(&v->lookups[i]);
	adsp_clear(v);
	atps_clear(v);
	dmarc_clear(v);
	free((char *)v->spf.domain);
	explain_free(v->explain);
	arc_clear(v);
	free(v->sigs);
	free(v->lookups);
	header_clear(&v->hdr);
	bodyset_clear(&v->body);
	buf_clear(&v->tmp);
	buf_clear(&v->limit);
	free(v);
}

/* Errors are sticky: a verifier that failed once keeps failing. */
static int
sticky(dkk_verifier *v, int rc)
{
	if (rc != DKK_OK && rc != DKK_EAGAIN)
		v->err = rc;
	return rc;
}

/* The header block passed a limit: the message gets a verdict without
 * its fields being looked at, and what is left of it is dropped (RFC 6376
 * 8.4: the limits bound what one message costs).  The kept bytes go. */
static int
over_limit(dkk_verifier *v)
{
	const struct header *h = &v->hdr;

	if (h->count == h->max_fields)
		buf_printf(&v->limit, "header block over the limit of %zu "
		    "fields", h->max_fields);
	else
		buf_printf(&v->limit, "header block over the limit of %zu "
		    "octets", h->max_bytes);
	if (v->limit.failed)
		return sticky(v, DKK_ENOMEM);
	header_clear(&v->hdr);
	v->header_done = true;
	return DKK_OK;
}

static int
header_take(dkk_verifier *v, const char *p, size_t len, size_t *used)
{
	int rc = header_feed(&v->hdr, p, len, used);

	if (rc == DKK_ELIMIT)
		return over_limit(v);
	if (rc != DKK_OK)
		return sticky(v, rc);
	if (v->hdr.done && (rc = header_done(v)) != DKK_OK)
		return sticky(v, rc);
	return DKK_OK;
}

/* The input ended inside the header block. */
static int
header_close(dkk_verifier *v)
{
	int rc = header_end(&v->hdr);

	if (rc == DKK_ELIMIT)
		return over_limit(v);
	if (rc == DKK_OK)
		rc = header_done(v);
	return sticky(v, rc);
}

int
dkk_verifier_update(dkk_verifier *v, const void *data, size_t len)
{
	const char *p = data;
	size_t used;
	int rc;

	if (v == NULL || (data == NULL && len > 0))
		return DKK_EINVAL;
	if (v->err != DKK_OK)
		return v->err;
	if (v->ended)
		return DKK_ESTATE;
	if (!v->header_done) {
		if ((rc = header_take(v, p, len, &used)) != DKK_OK)
			return rc;
		if (!v->header_done)
			return DKK_OK;
		p += used;
		len -= used;
	}
	if (v->limit.len == 0)
		bodyset_feed(&v->body, p, len);
	if (v->explain != NULL && v->limit.len == 0)
		explain_feed(v, p, len);
	/* DMARC's tree walks go on while the body streams. */
	rc = dmarc_poll(v);
	return rc == DKK_EAGAIN ? DKK_OK : sticky(v, rc);
}

static bool key_usable(dkk_verifier *v, struct vsig *vs,
    const struct keyrec *kr);

/* The key checks of RFC 6376 6.1.2 that depend on the signature. */
static bool
key_check(dkk_verifier *v, struct vsig *vs, struct lookup *lk)
{
	const struct dkk_dns_answer *ans = keyent_answer(lk->e);
	const struct keyrec *kr;
	enum dkk_reason reason;
	const char *why;

	vs->res.dnssec = ans->dnssec;
	if (ans->dnssec == DKK_DNSSEC_BOGUS) {
		decide(vs, DKK_TEMPERROR, DKK_R_KEY_BOGUS,
		    "DNSSEC validation of %s failed", lk->name);
		return false;
	}
	if (ans->status == DKK_DNS_TEMPFAIL) {
		decide(vs, DKK_TEMPERROR, DKK_R_KEY_DNS,
		    "key lookup of %s failed temporarily", lk->name);
		return false;
	}
	if (keyent_dropped(lk->e) > 0) {
		decide(vs, DKK_PERMERROR, DKK_R_KEY_SYNTAX,
		    "key record answer at %s of %zu bytes, over the limit of "
		    "%zu", lk->name, keyent_dropped(lk->e),
		    v->ctx->limit_dns_bytes);
		return false;
	}
	if (ans->status == DKK_DNS_NXDOMAIN || ans->count == 0) {
		decide(vs, DKK_PERMERROR, DKK_R_KEY_NXDOMAIN,
		    "no key record at %s", lk->name);
		return false;
	}
	if (keyent_key(lk->e, v->ctx->limit_rsa_bits, &kr, &reason, &why) !=
	    DKK_OK) {
		decide(vs, reason == DKK_R_KEY_SIZE ? DKK_POLICY :
		    reason == DKK_R_INTERNAL ? DKK_TEMPERROR : DKK_PERMERROR,
		    reason, "%s: %s", lk->name, why);
		return false;
	}
	return key_usable(v, vs, kr);
}

/* k=, h=, t=s, revocation and RFC 8301 key size. */
static bool
key_usable(dkk_verifier *v, struct vsig *vs, const struct keyrec *kr)
{
	const struct sig *sg = &vs->sg;
	enum hash_alg h = sig_hash(sg->alg);
	const char *idom = strrchr(sg->i, '@') + 1;
	unsigned bits;

	vs->res.key_testing = kr->testing;
	if (kr->revoked) {
		decide(vs, DKK_PERMERROR, DKK_R_KEY_REVOKED, "key revoked");
		return false;
	}
	if ((sg->alg == ALG_ED25519_SHA256) != (kr->type == KEY_ED25519)) {
		decide(vs, DKK_PERMERROR, DKK_R_KEY_TYPE,
		    "key type does not match a=%s", sg->a);
		return false;
	}
	if (!(h == HASH_SHA1 ? kr->sha1_ok : kr->sha256_ok)) {
		decide(vs, DKK_PERMERROR, DKK_R_KEY_HASH,
		    "key does not allow the hash of a=%s", sg->a);
		return false;
	}
	if (kr->strict && !ci_equal(idom, strlen(idom), sg->d, strlen(sg->d))) {
		decide(vs, DKK_PERMERROR, DKK_R_KEY_STRICT,
		    "key has t=s but the i= domain is not d=");
		return false;
	}
	bits = pubkey_bits(kr->key);
	vs->res.key_bits = bits;
	if (kr->type == KEY_RSA &&
	    (bits < 512 || (bits < 1024 && !v->ctx->allow_weak))) {
		decide(vs, DKK_POLICY, DKK_R_KEY_SIZE,
		    "RSA key of %u bits is too small (RFC 8301)", bits);
		return false;
	}
	return true;
}

/* RFC 6376 6.1.3: body hash, then the header hash and the signature. */
static void
crypto_check(dkk_verifier *v, struct vsig *vs, const struct keyrec *kr)
{
	const struct sig *sg = &vs->sg;
	const struct body_sink *bs = bodyset_get(&v->body, sg->bcanon,
	    vs->sink);
	struct hash h;
	uint8_t digest[HASH_MAX];
	size_t n = hash_size(sig_hash(sg->alg));

	if (sg->l >= 0 && bs->fed < (uint64_t)sg->l) {
		decide(vs, DKK_PERMERROR, DKK_R_BODY_LENGTH,
		    "l=%lld is larger than the body (%llu octets)",
		    (long long)sg->l, (unsigned long long)bs->fed);
		return;
	}
	if (sg->bhlen != n || memcmp(sg->bh, bs->digest, n) != 0) {
		decide(vs, DKK_FAIL, DKK_R_BODY_HASH, "body hash mismatch");
		return;
	}
	hash_init(&h, sig_hash(sg->alg));
	if (hdrsel_hash(&h, &v->hdr, sg->h, sg->nh, sg->hcanon,
	    &v->hdr.fields[vs->field], &v->tmp) != DKK_OK ||
	    (v->tmp.len = 0, canon_header(&v->tmp, sg->hcanon,
	    sg->unsigned_field, sg->unsigned_len, false)) != DKK_OK) {
		decide(vs, DKK_TEMPERROR, DKK_R_INTERNAL, "out of memory");
		return;
	}
	hash_update(&h, v->tmp.p, v->tmp.len);
	hash_digest(&h, digest);
	if (!pubkey_verify(kr->key, sig_hash(sg->alg), digest, sg->b, sg->blen))
		decide(vs, DKK_FAIL, DKK_R_SIGNATURE, "signature did not verify");
	else
		decide(vs, DKK_PASS, DKK_R_OK, kr->testing ?
		    "good signature (key in testing mode)" : "good signature");
}

static void
evaluate(dkk_verifier *v, struct vsig *vs)
{
	struct lookup *lk = &v->lookups[vs->lookup];
	const struct keyrec *kr;
	enum dkk_reason reason;
	const char *why;

	if (vs->decided || !key_check(v, vs, lk))
		return;
	keyent_key(lk->e, v->ctx->limit_rsa_bits, &kr, &reason, &why);
	crypto_check(v, vs, kr);
}

static void
settle_dkim(dkk_verifier *v)
{
	size_t i;

	v->dkim_settled = true;
	for (i = 0; i < v->nsigs; i++) {
		struct vsig *vs = &v->sigs[i];

		evaluate(v, vs);
		vs->res.detail = vs->why.len > 0 && !vs->why.failed ?
		    vs->why.p : "";
		if (vs->res.verdict == DKK_PASS)
			v->verdict = DKK_PASS;
	}
	if (v->verdict != DKK_PASS && v->nsigs > 0)
		v->verdict = v->sigs[0].res.verdict;
}

static void
settle(dkk_verifier *v)
{
	atps_settle(v);
	adsp_settle(v);
	if (v->explain != NULL)
		explain_settle(v);
	arc_settle(v);
	if (v->limit.len > 0) {
		v->verdict = DKK_PERMERROR;
		v->adsp = DKK_ADSP_PERMERROR;
	}
	/* Once the chain is known: what a trusted sealer vouched for. */
	dmarc_override(v);
	adsp_override(v);
	v->final = true;
}

int
dkk_verifier_final(dkk_verifier *v)
{
	int rc;

	if (v == NULL)
		return DKK_EINVAL;
	if (v->err != DKK_OK)
		return v->err;
	if (v->final)
		return DKK_OK;
	if (!v->ended) {
		v->ended = true;
		if (!v->header_done && (rc = header_close(v)) != DKK_OK)
			return rc;
		bodyset_finish(&v->body);
	}
	if (v->pending > 0)
		return DKK_EAGAIN;
	if (!v->dkim_settled)
		settle_dkim(v);
	if (v->dmarc_on && v->dmarc == NULL && (rc = dmarc_start(v)) !=
	    DKK_OK && rc != DKK_EAGAIN)
		return sticky(v, rc);
	if ((rc = dmarc_step(v)) != DKK_OK)
		return sticky(v, rc);
	if (v->spf_wait)
		return DKK_EAGAIN;	/* dkk_verifier_set_spf() to come */
	settle(v);
	return DKK_OK;
}

int
dkk_verifier_set_spf(dkk_verifier *v, const struct dkk_spf_facts *facts)
{
	static const struct dkk_spf_facts none;
	int rc;

	if (v == NULL)
		return DKK_EINVAL;
	if (v->err != DKK_OK)
		return v->err;
	/* DMARC may be decided already (a header block over the limits
	 * settles it at once): the facts still go into the A-R field, and
	 * the verifier must stop waiting for them either way. */
	if (v->final)
		return DKK_ESTATE;
	if (facts == NULL || facts->domain == NULL) {
		free((char *)v->spf.domain);
		v->spf = facts != NULL ? *facts : none;
		v->spf.domain = NULL;
	} else if ((rc = verifier_spf_facts(v, facts)) != DKK_OK)
		return sticky(v, rc);
	v->spf_wait = false;
	dmarc_unpark(v);
	return DKK_OK;
}

int
dkk_verifier_wait(dkk_verifier *v)
{
	int rc;

	while ((rc = dkk_verifier_final(v)) == DKK_EAGAIN) {
		/* Only the host can bring the SPF result. */
		if (v->pending == 0 && v->spf_wait)
			return DKK_ESTATE;
		if ((rc = dkk_ctx_wait(v->ctx)) != DKK_OK)
			return sticky(v, rc);
	}
	return rc;
}

size_t
dkk_verifier_count(const dkk_verifier *v)
{
	return v != NULL ? v->nsigs : 0;
}

const struct dkk_sig_result *
dkk_verifier_result(const dkk_verifier *v, size_t i)
{
	if (v == NULL || !v->final || i >= v->nsigs)
		return NULL;
	return &v->sigs[i].res;
}

enum dkk_verdict
dkk_verifier_verdict(const dkk_verifier *v)
{
	return v != NULL && v->final ? v->verdict : DKK_NONE;
}

enum dkk_reason
dkk_verifier_reason(const dkk_verifier *v, const char **detail)
{
	bool limited = v != NULL && v->limit.len > 0 && !v->limit.failed;

	if (detail != NULL)
		*detail = limited ? v->limit.p : "";
	return limited ? DKK_R_LIMIT : DKK_R_OK;
}
