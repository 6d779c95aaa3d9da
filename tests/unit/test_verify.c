/*
 * test_verify.c: the verifier end to end (core/dkim/verify.c, keycache.c):
 * messages signed with dkk_signer_* (or by hand, for what the signer
 * refuses to make), keys from a zone file, a fixed clock.  ADSP and the
 * Authentication-Results field have suites of their own (test_adsp.c,
 * test_ar.c); verify_fx.c holds what the three share.
 */
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/bignum.h>
#include <nettle/rsa.h>

#include "unit.h"
#include "verify_fx.h"


/* Sign m with o and check the one signature's "verdict/reason"; the
 * message verdict is then the signature's. */
static void
sign_expect(struct unit_fx *fx, const struct dkk_sign_opts *o,
    const char *m, const char *want)
{
	char *sm = unit_sign(fx, o, m), verdict[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	snprintf(verdict, sizeof(verdict), "%.*s", (int)strcspn(want, "/"),
	    want);
	vexpect(fx->ctx, sm, verdict, 1, want);
	free(sm);
}

/* Sign m by hand with an RSA private key (PKCS#1 PEM): tags is the tag
 * list without bh= and b=, which are appended.  a= (rsa-sha1 too), c=, l=
 * and h= are honoured, so this makes signatures dkk_signer will not. */
char *
hand_sign(const char *pem, const char *m, const char *tags)
{
	struct rsa_public_key pub;
	struct rsa_private_key priv;
	struct header hdr;
	struct body *body;
	struct sig sg;
	struct buf f, tmp, why;
	struct hash h;
	enum dkk_reason reason;
	const char *p64, *end;
	uint8_t digest[HASH_MAX], *der, sigbuf[1024];
	size_t used, idx, len;
	char *bh, *b, *out;
	mpz_t s;

	/* the header and body of m */
	header_init(&hdr, SIZE_MAX, SIZE_MAX);
	CU_ASSERT_EQUAL_FATAL(header_feed(&hdr, m, strlen(m), &used), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(header_end(&hdr), DKK_OK);
	buf_init(&f);
	buf_init(&tmp);
	buf_init(&why);
	buf_printf(&f, "DKIM-Signature: %s; bh=AAAA; b=AAAA", tags);
	CU_ASSERT_EQUAL_FATAL(sig_parse(&sg, f.p, f.len, &reason, &why),
	    DKK_OK);
	body = malloc(sizeof(*body));
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	body_init(body, sg.bcanon);
	CU_ASSERT_EQUAL_FATAL(body_add_sink(body, sig_hash(sg.alg),
	    sg.l >= 0 ? (uint64_t)sg.l : UINT64_MAX, &idx), DKK_OK);
	if (hdr.done)
		body_feed(body, m + used, strlen(m) - used);
	body_finish(body);
	bh = b64_encode(body->sinks[idx].digest, hash_size(sig_hash(sg.alg)));
	body_clear(body);
	free(body);
	/* the header hash over the field with b= empty */
	f.len = 0;
	buf_printf(&f, "DKIM-Signature: %s; bh=%s; b=", tags, bh);
	free(bh);
	hash_init(&h, sig_hash(sg.alg));
	CU_ASSERT_EQUAL_FATAL(hdrsel_hash(&h, &hdr, sg.h, sg.nh, sg.hcanon,
	    NULL, &tmp), DKK_OK);
	tmp.len = 0;
	CU_ASSERT_EQUAL_FATAL(canon_header(&tmp, sg.hcanon, f.p, f.len,
	    false), DKK_OK);
	hash_update(&h, tmp.p, tmp.len);
	hash_digest(&h, digest);
	/* PKCS#1 v1.5 with Nettle */
	p64 = strstr(pem, "KEY-----");
	end = strstr(pem, "-----END");
	CU_ASSERT_FATAL(p64 != NULL && end != NULL);
	p64 += 8;
	CU_ASSERT_EQUAL_FATAL(b64_decode(p64, (size_t)(end - p64), &der, &len),
	    DKK_OK);
	rsa_public_key_init(&pub);
	rsa_private_key_init(&priv);
	CU_ASSERT_FATAL(rsa_keypair_from_der(&pub, &priv, 0, len, der));
	free(der);
	mpz_init(s);
	CU_ASSERT_FATAL(sg.alg == ALG_RSA_SHA1 ?
	    rsa_sha1_sign_digest(&priv, digest, s) :
	    rsa_sha256_sign_digest(&priv, digest, s));
	CU_ASSERT_FATAL(pub.size <= sizeof(sigbuf));
	nettle_mpz_get_str_256(pub.size, sigbuf, s);
	b = b64_encode(sigbuf, pub.size);
	if (asprintf(&out, "%s%s\r\n%s", f.p, b, m) < 0)
		out = NULL;
	free(b);
	mpz_clear(s);
	rsa_public_key_clear(&pub);
	rsa_private_key_clear(&priv);
	sig_clear(&sg);
	buf_clear(&f);
	buf_clear(&tmp);
	buf_clear(&why);
	header_clear(&hdr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

static void
verify_rsa_pass(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	const struct dkk_sig_result *r;
	dkk_verifier *v;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_count(v), 1);
	CU_ASSERT_EQUAL(dkk_verifier_verdict(v), DKK_PASS);
	r = dkk_verifier_result(v, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->verdict, DKK_PASS);
	CU_ASSERT_EQUAL(r->reason, DKK_R_OK);
	CU_ASSERT_STRING_EQUAL(r->domain, "example.com");
	CU_ASSERT_STRING_EQUAL(r->selector, "rsa");
	CU_ASSERT_STRING_EQUAL(r->identity, "@example.com");
	CU_ASSERT_STRING_EQUAL(r->algorithm, "rsa-sha256");
	CU_ASSERT_EQUAL(strlen(r->b), 172);	/* 128 octets */
	CU_ASSERT_PTR_NULL(strpbrk(r->b, " \t\r\n"));
	CU_ASSERT_EQUAL(r->key_bits, 1024);
	CU_ASSERT_EQUAL(r->key_testing, 0);
	CU_ASSERT_EQUAL(r->dnssec, DKK_DNSSEC_UNKNOWN);
	CU_ASSERT_EQUAL(r->timestamp, fx.now);
	CU_ASSERT_EQUAL(r->expiration, -1);
	CU_ASSERT_EQUAL(r->body_length, -1);
	CU_ASSERT_STRING_EQUAL(r->detail, "good signature");
	CU_ASSERT_PTR_NULL(dkk_verifier_result(v, 1));
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

static void
verify_ed25519_pass(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	const struct dkk_sig_result *r;
	dkk_verifier *v;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	r = dkk_verifier_result(v, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->verdict, DKK_PASS);
	CU_ASSERT_STRING_EQUAL(r->algorithm, "ed25519-sha256");
	CU_ASSERT_EQUAL(r->key_bits, 256);
	CU_ASSERT_EQUAL(strlen(r->b), 88);	/* 64 octets */
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

static void
verify_every_canon_combination_passes(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	int k, hc, bc;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (k = 0; k < 2; k++)
		for (hc = 0; hc < 2; hc++)
			for (bc = 0; bc < 2; bc++) {
				o = unit_opts(k ? fx.ed : fx.rsa, k ? "ed" : "rsa");
				o.header_canon = hc;
				o.body_canon = bc;
				sign_expect(&fx, &o, msg, "pass/ok");
			}
	unit_fx_free(&fx);
}

/* RFC 6376 6.1.3: a changed body fails the body hash. */
static void
verify_tampered_body_fails(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	bad = replace(sm, "hungry", "Hungry");
	vexpect(fx.ctx, bad, "fail", 1, "fail/body_hash_mismatch");
	free(bad);
	bad = concat(sm, "P.S. one more line\r\n");
	vexpect(fx.ctx, bad, "fail", 1, "fail/body_hash_mismatch");
	free(bad);
	free(sm);
	unit_fx_free(&fx);
}

static void
verify_tampered_signed_header_fails(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *bad;
	int k;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (k = 0; k < 2; k++) {
		o = unit_opts(k ? fx.ed : fx.rsa, k ? "ed" : "rsa");
		sm = unit_sign(&fx, &o, msg);
		bad = replace(sm, "dinner ready?", "dinner ready!");
		vexpect(fx.ctx, bad, "fail", 1, "fail/signature_mismatch");
		free(bad);
		/* the signature field itself is covered (3.7) */
		bad = replace(sm, "d=example.com;", "d=example.com; z=x;");
		vexpect(fx.ctx, bad, "fail", 1, "fail/signature_mismatch");
		free(bad);
		free(sm);
	}
	unit_fx_free(&fx);
}

/* Relaxed survives whitespace and case changes that simple does not. */
static void
verify_relaxed_survives_whitespace(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *m1, *m2;
	int c;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (c = 0; c < 2; c++) {
		o = unit_opts(fx.rsa, "rsa");
		o.header_canon = o.body_canon = c;
		sm = unit_sign(&fx, &o, msg);
		m1 = replace(sm, "Subject: Is dinner ready?",
		    "SUBJECT:Is  dinner\r\n\tready?  ");
		m2 = replace(m1, "the game.  Are", "the game.\tAre  ");
		vexpect(fx.ctx, m2, c ? "pass" : "fail", 1, c ? "pass/ok" :
		    "fail/body_hash_mismatch");
		free(m2);
		m2 = replace(sm, "Joe.\r\n", "Joe.  \r\n\r\n\r\n");
		vexpect(fx.ctx, m2, c ? "pass" : "fail", 1, c ? "pass/ok" :
		    "fail/body_hash_mismatch");
		free(m2);
		free(m1);
		free(sm);
	}
	unit_fx_free(&fx);
}

/* Fields not in h= may be added anywhere. */
static void
verify_unsigned_header_added_passes(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *m1, *m2;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	m1 = concat("X-Spam-Score: 0.1\r\nReceived: from mx by mx2\r\n", sm);
	m2 = replace(m1, "\r\n\r\nHi.", "\r\nX-Added: below\r\n\r\nHi.");
	vexpect(fx.ctx, m2, "pass", 1, "pass/ok");
	free(m2);
	free(m1);
	free(sm);
	unit_fx_free(&fx);
}

/* RFC 6376 5.4.2: h= takes instances from the bottom, so a copy added on
 * top is not seen, unless the name is over-signed, when it is seen and
 * fails; a copy added below the original replaces it and fails. */
static void
verify_second_instance_of_signed_header(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	bad = concat("Subject: buy now\r\n", sm);
	vexpect(fx.ctx, bad, "pass", 1, "pass/ok");
	free(bad);
	bad = replace(sm, "\r\n\r\nHi.", "\r\nSubject: buy now\r\n\r\nHi.");
	vexpect(fx.ctx, bad, "fail", 1, "fail/signature_mismatch");
	free(bad);
	free(sm);

	o.oversign = 1;
	sm = unit_sign(&fx, &o, msg);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	bad = concat("Subject: buy now\r\n", sm);
	vexpect(fx.ctx, bad, "fail", 1, "fail/signature_mismatch");
	free(bad);
	free(sm);
	unit_fx_free(&fx);
}

/* A name listed in h= but absent from the message protects against it
 * being added later. */
static void
verify_absent_signed_header_added_fails(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	o.headers = "From:Subject:Reply-To";
	sm = unit_sign(&fx, &o, msg);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	bad = concat("Reply-To: evil@example.org\r\n", sm);
	vexpect(fx.ctx, bad, "fail", 1, "fail/signature_mismatch");
	free(bad);
	free(sm);
	unit_fx_free(&fx);
}

/* "DKIM-Signature" in h= names the other signatures, never the one being
 * verified (RFC 6376 3.5): listed with no other signature it adds nothing;
 * listed twice over one older signature, the second listing adds nothing. */
static void
verify_h_dkim_signature_not_own(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *sm2, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	o.headers = "From:Subject:DKIM-Signature";
	sm = unit_sign(&fx, &o, msg);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	free(sm);

	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	o = unit_opts(fx.ed, "ed");
	o.headers = "From:DKIM-Signature:DKIM-Signature";
	sm2 = unit_sign(&fx, &o, sm);
	vexpect(fx.ctx, sm2, "pass", 2, "pass/ok", "pass/ok");
	/* the older signature is covered: changing it breaks the newer */
	bad = replace(sm2, "s=rsa;", "s=rsa ;");
	vexpect(fx.ctx, bad, "fail", 2, "fail/signature_mismatch",
	    "fail/signature_mismatch");
	free(bad);
	free(sm2);
	free(sm);
	unit_fx_free(&fx);
}

/* x= in the past, beyond the skew: permerror (RFC 6376 3.5, 6.1.1). */
static void
verify_expired_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	int64_t t;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	t = fx.now;
	o = unit_opts(fx.rsa, "rsa");
	o.expire = 600;
	sm = unit_sign(&fx, &o, msg);
	fx.now = t + 600;
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	fx.now = t + 600 + 300;		/* within the default skew */
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	fx.now = t + 600 + 301;
	vexpect(fx.ctx, sm, "permerror", 1, "permerror/expired");
	CU_ASSERT_EQUAL(dkk_ctx_set_skew(fx.ctx, 0), DKK_OK);
	fx.now = t + 601;
	vexpect(fx.ctx, sm, "permerror", 1, "permerror/expired");
	free(sm);
	unit_fx_free(&fx);
}

static void
verify_future_timestamp_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	int64_t t;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	t = fx.now;
	o = unit_opts(fx.ed, "ed");
	sm = unit_sign(&fx, &o, msg);
	fx.now = t - 300;
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	fx.now = t - 301;
	vexpect(fx.ctx, sm, "permerror", 1, "permerror/future");
	CU_ASSERT_EQUAL(dkk_ctx_set_skew(fx.ctx, 3600), DKK_OK);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	free(sm);
	unit_fx_free(&fx);
}

/* RFC 8301 3.1: rsa-sha1 is refused unless weak algorithms are allowed. */
static void
verify_rsa_sha1_policy(void)
{
	struct unit_fx fx;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha1; c=relaxed/simple; "
	    "d=example.com; s=rsa; h=From:To:Subject");
	vexpect(fx.ctx, sm, "policy", 1, "policy/weak_hash");
	CU_ASSERT_EQUAL(dkk_ctx_set_allow_weak(fx.ctx, 1), DKK_OK);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	free(sm);
	/* the hand signer is right: its rsa-sha256 passes */
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha256; "
	    "d=example.com; s=rsa; h=From:To:Subject");
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	free(sm);
	unit_fx_free(&fx);
}

/* RFC 8301 3.2: RSA keys under 1024 bits are refused unless allowed. */
static void
verify_rsa_512_policy(void)
{
	struct unit_fx fx;
	struct unit_tmp t;
	struct dkk_sign_opts o;
	const struct dkk_sig_result *r;
	dkk_verifier *v;
	dkk_key *k512;
	char *sm, *p64;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&t, "k512.pem", key512_pem,
	    strlen(key512_pem)), 0);
	CU_ASSERT_EQUAL(dkk_ctx_load_key(fx.ctx, t.path, &k512), DKK_OK);
	unit_tmp_remove(&t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k512);
	CU_ASSERT_EQUAL(dkk_key_bits(k512), 512);
	CU_ASSERT_EQUAL_FATAL(dkk_key_public(k512, &p64), DKK_OK);
	CU_ASSERT_STRING_EQUAL(p64, KEY512_SPKI);
	free(p64);
	o = unit_opts(k512, "weak");
	sm = unit_sign(&fx, &o, msg);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	r = dkk_verifier_result(v, 0);
	CU_ASSERT_EQUAL(r->verdict, DKK_POLICY);
	CU_ASSERT_EQUAL(r->reason, DKK_R_KEY_SIZE);
	dkk_verifier_free(v);
	CU_ASSERT_EQUAL(dkk_ctx_set_allow_weak(fx.ctx, 1), DKK_OK);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	r = dkk_verifier_result(v, 0);
	CU_ASSERT_EQUAL(r->verdict, DKK_PASS);
	CU_ASSERT_EQUAL(r->key_bits, 512);
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

static void
verify_revoked_key_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "revoked");
	sign_expect(&fx, &o, msg, "permerror/key_revoked");
	unit_fx_free(&fx);
}

/* RFC 6376 6.1.2: no key record is PERMFAIL (no key for signature). */
static void
verify_key_nxdomain_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "missing");
	sign_expect(&fx, &o, msg, "permerror/key_nxdomain");
	o = unit_opts(fx.rsa, "nodata");
	sign_expect(&fx, &o, msg, "permerror/key_nxdomain");
	unit_fx_free(&fx);
}

static void
verify_key_not_dkim_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "spf");
	sign_expect(&fx, &o, msg, "permerror/key_syntax");
	o = unit_opts(fx.rsa, "notemail");
	sign_expect(&fx, &o, msg, "permerror/key_service");
	unit_fx_free(&fx);
}

/* RFC 6376 3.6.1: t=s forbids an i= domain that is a subdomain of d=. */
static void
verify_key_strict_identity_subdomain(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "strict");
	o.identity = "joe@mail.example.com";
	sign_expect(&fx, &o, msg, "permerror/key_strict");
	o.identity = "joe@example.com";
	sign_expect(&fx, &o, msg, "pass/ok");
	o.identity = NULL;
	sign_expect(&fx, &o, msg, "pass/ok");
	/* the same subdomain identity passes without t=s */
	o = unit_opts(fx.rsa, "rsa");
	o.identity = "joe@mail.example.com";
	sign_expect(&fx, &o, msg, "pass/ok");
	unit_fx_free(&fx);
}

static void
verify_key_hash_sha1_only_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "sha1only");
	sign_expect(&fx, &o, msg, "permerror/key_hash");
	unit_fx_free(&fx);
}

/* RFC 6376 6.1.2: k= must match a=. */
static void
verify_key_type_mismatch_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "edkey");
	sign_expect(&fx, &o, msg, "permerror/key_type");
	o = unit_opts(fx.ed, "rsa");
	sign_expect(&fx, &o, msg, "permerror/key_type");
	o = unit_opts(fx.ed, "edkey");
	sign_expect(&fx, &o, msg, "pass/ok");
	unit_fx_free(&fx);
}

/* t=y does not change the verdict but is reported. */
static void
verify_key_testing_reported(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "testing");
	sm = unit_sign(&fx, &o, msg);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_result(v, 0)->verdict, DKK_PASS);
	CU_ASSERT_EQUAL(dkk_verifier_result(v, 0)->key_testing, 1);
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

/* RFC 6376 3.5 l=: text after the count is not covered. */
static void
verify_body_length_appended_text_passes(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *sm, *more;
	int c;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (c = 0; c < 2; c++) {
		o = unit_opts(fx.rsa, "rsa");
		o.body_canon = c;
		o.body_length = 1;
		sm = unit_sign(&fx, &o, msg);
		more = concat(sm, "\r\nAppended by a list: unsubscribe here\r\n");
		v = unit_verify(fx.ctx, more, strlen(more), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_EQUAL(dkk_verifier_result(v, 0)->verdict, DKK_PASS);
		/* the body's canonical length: "  Are" counts 2 or 1 */
		CU_ASSERT_EQUAL(dkk_verifier_result(v, 0)->body_length,
		    c == DKK_CANON_SIMPLE ? 55 : 54);
		dkk_verifier_free(v);
		free(more);
		free(sm);
	}
	/* l= shorter than the body when signed */
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha256; c=simple/simple; "
	    "d=example.com; s=rsa; h=From:Subject; l=5");
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	more = replace(sm, "hungry", "HUNGRY");
	vexpect(fx.ctx, more, "pass", 1, "pass/ok");
	free(more);
	more = replace(sm, "Hi.", "Ho.");
	vexpect(fx.ctx, more, "fail", 1, "fail/body_hash_mismatch");
	free(more);
	free(sm);
	unit_fx_free(&fx);
}

/* A count larger than the body is not a pass. */
static void
verify_body_length_longer_permerror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *cut;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	o.body_length = 1;
	sm = unit_sign(&fx, &o, msg);
	cut = replace(sm, "\r\nJoe.\r\n", "\r\n");
	vexpect(fx.ctx, cut, "permerror", 1, "permerror/body_length");
	free(cut);
	free(sm);
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha256; c=simple/simple; "
	    "d=example.com; s=rsa; h=From:Subject; l=10000");
	vexpect(fx.ctx, sm, "permerror", 1, "permerror/body_length");
	free(sm);
	unit_fx_free(&fx);
}

/* Flip the first character of b=, the last tag the signer writes,
 * after a space or a folding TAB. */
static void
spoil_b(char *field)
{
	char *b, *last = NULL;

	for (b = field + 1; (b = strstr(b, "b=")) != NULL; b += 2)
		if (b[-1] == ' ' || b[-1] == '\t')
			last = b;
	CU_ASSERT_PTR_NOT_NULL_FATAL(last);
	last[2] = last[2] == 'A' ? 'B' : 'A';
}

/* The message passes if any signature passes (RFC 6376 6.1, 4). */
static void
verify_two_signatures_one_bad(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *good, *bad, *m;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	good = sign_field(&fx, &o, msg, strlen(msg));
	o = unit_opts(fx.rsa, "rsa");
	bad = sign_field(&fx, &o, msg, strlen(msg));
	spoil_b(bad);
	if (asprintf(&m, "%s\r\n%s\r\n%s", bad, good, msg) < 0)
		m = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	vexpect(fx.ctx, m, "pass", 2, "fail/signature_mismatch", "pass/ok");
	free(m);
	if (asprintf(&m, "%s\r\n%s\r\n%s", good, bad, msg) < 0)
		m = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	vexpect(fx.ctx, m, "pass", 2, "pass/ok", "fail/signature_mismatch");
	free(m);
	/* none passes: the first signature's verdict */
	if (asprintf(&m, "%s\r\nDKIM-Signature: v=2\r\n%s", bad, msg) < 0)
		m = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	vexpect(fx.ctx, m, "fail", 2, "fail/signature_mismatch",
	    "permerror/version");
	free(m);
	free(good);
	free(bad);
	unit_fx_free(&fx);
}

static void
verify_unsigned_none(void)
{
	struct unit_fx fx;
	dkk_verifier *v;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	v = unit_verify(fx.ctx, msg, strlen(msg), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_count(v), 0);
	CU_ASSERT_EQUAL(dkk_verifier_verdict(v), DKK_NONE);
	CU_ASSERT_PTR_NULL(dkk_verifier_result(v, 0));
	dkk_verifier_free(v);
	/* an empty message, and a header with no body */
	vexpect(fx.ctx, "", "none", 0);
	vexpect(fx.ctx, "From: a@example.com\r\n", "none", 0);
	unit_fx_free(&fx);
}

/* A message with no body at all (no blank line) signs and verifies. */
static void
verify_header_only_message_passes(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	int c;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (c = 0; c < 2; c++) {
		o = unit_opts(fx.rsa, "rsa");
		o.body_canon = c;
		sign_expect(&fx, &o, "From: a@example.com\r\nSubject: x\r\n",
		    "pass/ok");
		sign_expect(&fx, &o, "From: a@example.com\r\n\r\n", "pass/ok");
	}
	unit_fx_free(&fx);
}

/* Bare LF line ends are read as CRLF. */
static void
verify_lf_line_ends_pass(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *lf;
	size_t i, j;
	int c;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (c = 0; c < 2; c++) {
		o = unit_opts(fx.ed, "ed");
		o.header_canon = o.body_canon = c;
		sm = unit_sign(&fx, &o, msg);
		lf = strdup(sm);
		CU_ASSERT_PTR_NOT_NULL_FATAL(lf);
		for (i = j = 0; sm[i] != '\0'; i++)
			if (sm[i] != '\r' || sm[i + 1] != '\n')
				lf[j++] = sm[i];
		lf[j] = '\0';
		CU_ASSERT_PTR_NULL(strchr(lf, '\r'));
		vexpect(fx.ctx, lf, "pass", 1, "pass/ok");
		free(lf);
		free(sm);
	}
	unit_fx_free(&fx);
}

/* RFC 6376 6.1.2: a key that cannot be fetched now is TEMPFAIL. */
static void
verify_resolver_tempfail_temperror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	tr_install(&fx, false, "rsa._domainkey.example.com");
	vexpect(fx.ctx, sm, "temperror", 1, "temperror/key_dns");
	/* a TEMPFAIL answer is not cached: a working resolver is asked */
	tr_install(&fx, false, NULL);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	free(sm);
	unit_fx_free(&fx);
}

/* Without any key source every lookup is a temperror. */
static void
verify_no_key_source_temperror(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_ctx *bare;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&bare), DKK_OK);
	vexpect(bare, sm, "temperror", 1, "temperror/key_dns");
	dkk_ctx_free(bare);
	free(sm);
	unit_fx_free(&fx);
}

/* Answers that come later: final says DKK_EAGAIN until they have been
 * processed; two messages waiting for one name share one query. */
static void
verify_async_resolver_eagain(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct tres *r;
	dkk_verifier *v1, *v2;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	r = tr_install(&fx, true, NULL);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(fx.ctx, NULL, &v1), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(fx.ctx, NULL, &v2), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v1, sm, strlen(sm)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v2, sm, strlen(sm)), DKK_OK);
	CU_ASSERT_EQUAL(r->queries, 1);
	CU_ASSERT_EQUAL(dkk_verifier_final(v1), DKK_EAGAIN);
	CU_ASSERT_EQUAL(dkk_verifier_final(v1), DKK_EAGAIN);
	CU_ASSERT_PTR_NULL(dkk_verifier_result(v1, 0));
	CU_ASSERT_EQUAL(dkk_verifier_verdict(v1), DKK_NONE);
	CU_ASSERT_EQUAL(dkk_verifier_update(v1, "x", 1), DKK_ESTATE);
	CU_ASSERT_EQUAL(dkk_ctx_fd(fx.ctx), -1);
	CU_ASSERT_EQUAL(dkk_ctx_process(fx.ctx), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v1), DKK_OK);
	CU_ASSERT_STRING_EQUAL(unit_result(v1, 0), "pass/ok");
	CU_ASSERT_EQUAL(dkk_verifier_final(v2), DKK_OK);
	CU_ASSERT_STRING_EQUAL(unit_result(v2, 0), "pass/ok");
	dkk_verifier_free(v1);
	dkk_verifier_free(v2);
	/* the answer is cached now: no query, no waiting */
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	CU_ASSERT_EQUAL(r->queries, 1);
	free(sm);
	unit_fx_free(&fx);
}

/* dkk_verifier_wait() drives the resolver's wait until results are in;
 * freeing a verifier with a lookup outstanding is safe. */
static void
verify_async_resolver_wait_and_abandon(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct tres *r;
	dkk_verifier *v;
	char *s1, *s2;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	s1 = unit_sign(&fx, &o, msg);
	o = unit_opts(fx.rsa, "rsa");
	s2 = unit_sign(&fx, &o, msg);
	r = tr_install(&fx, true, NULL);
	v = unit_verify(fx.ctx, s1, strlen(s1), 7);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "pass/ok");
	dkk_verifier_free(v);
	CU_ASSERT_EQUAL(r->queries, 1);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(fx.ctx, NULL, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, s2, strlen(s2)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_EAGAIN);
	dkk_verifier_free(v);
	CU_ASSERT_EQUAL(r->n, 1);
	CU_ASSERT_EQUAL(dkk_ctx_process(fx.ctx), DKK_OK);
	vexpect(fx.ctx, s2, "pass", 1, "pass/ok");
	CU_ASSERT_EQUAL(r->queries, 2);
	free(s1);
	free(s2);
	unit_fx_free(&fx);
}

/* dkk_ctx_timeout() tells an event loop when the earliest lookup expires,
 * so it can sleep until then instead of ticking: -1 with nothing in
 * flight, at most the lookup timeout while one is, and once it has passed
 * dkk_ctx_process() turns the lookup into temperror. */
static void
verify_async_timeout_drives_deadline(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct pollfd pfd;
	dkk_verifier *v;
	char *sm, server[64];
	unsigned port = 0;
	int silent, t, rounds = 0;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	CU_ASSERT_EQUAL(dkk_ctx_timeout(fx.ctx), -1);	/* zone: no deadlines */
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	silent = unit_udp_loopback(&port);
	CU_ASSERT_FATAL(silent != -1);
	snprintf(server, sizeof(server), "127.0.0.1@%u", port);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_use_dns(fx.ctx, server, NULL, 300),
	    DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_timeout(fx.ctx), -1);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(fx.ctx, NULL, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, sm, strlen(sm)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_EAGAIN);
	t = dkk_ctx_timeout(fx.ctx);
	CU_ASSERT(t >= 0 && t <= 300);
	while (dkk_verifier_final(v) == DKK_EAGAIN && rounds++ < 20) {
		pfd.fd = dkk_ctx_fd(fx.ctx);
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, dkk_ctx_timeout(fx.ctx));
		CU_ASSERT_EQUAL(dkk_ctx_process(fx.ctx), DKK_OK);
	}
	CU_ASSERT(rounds <= 3);		/* woken by the deadline, no ticks */
	CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "temperror/key_dns");
	CU_ASSERT_EQUAL(dkk_ctx_timeout(fx.ctx), -1);
	dkk_verifier_free(v);
	close(silent);
	free(sm);
	unit_fx_free(&fx);
}

/* 10,000 signature fields: no crash, only the first LIMIT_SIGNATURES
 * (16) are evaluated, the others are policy/too_many_signatures. */
static void
verify_ten_thousand_signatures(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct buf m;
	dkk_verifier *v;
	char *field;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	o.headers = "From";
	field = sign_field(&fx, &o, msg, strlen(msg));
	buf_init(&m);
	for (i = 0; i < 10000; i++)
		buf_printf(&m, "%s\r\n", field);
	buf_adds(&m, msg);
	CU_ASSERT_FALSE_FATAL(m.failed);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_HEADER_BYTES,
	    m.len + 1), DKK_OK);
	v = unit_verify(fx.ctx, m.p, m.len, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_count(v), 10000);
	CU_ASSERT_EQUAL(dkk_verifier_verdict(v), DKK_PASS);
	for (i = 0; i < 10000; i++)
		if (strcmp(unit_result(v, i), i < 16 ? "pass/ok" :
		    "policy/too_many_signatures") != 0) {
			fprintf(stderr, "signature %zu: %s\n", i,
			    unit_result(v, i));
			CU_FAIL("signature over the limit");
			break;
		}
	dkk_verifier_free(v);
	buf_clear(&m);
	free(field);
	unit_fx_free(&fx);
}

static void
verify_signature_limit_setting(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *f1, *f2, *m;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	f1 = sign_field(&fx, &o, msg, strlen(msg));
	o = unit_opts(fx.rsa, "rsa");
	f2 = sign_field(&fx, &o, msg, strlen(msg));
	if (asprintf(&m, "DKIM-Signature: v=1\r\n%s\r\n%s\r\n%s", f1, f2,
	    msg) < 0)
		m = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIGNATURES, 0),
	    DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIGNATURES, 1),
	    DKK_OK);
	/* an unparsable field is not counted against the limit */
	vexpect(fx.ctx, m, "pass", 3, "permerror/missing_tag", "pass/ok",
	    "policy/too_many_signatures");
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIGNATURES, 2),
	    DKK_OK);
	vexpect(fx.ctx, m, "pass", 3, "permerror/missing_tag", "pass/ok",
	    "pass/ok");
	free(m);
	free(f1);
	free(f2);
	unit_fx_free(&fx);
}

/* The verdict for a verifier fed msg (signed) under the header limits. */
static void
limit_expect(dkk_ctx *ctx, const char *m, size_t feed, const char *limit)
{
	dkk_verifier *v;
	const char *detail = NULL;
	char *ar = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &with_adsp, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, feed), DKK_OK);
	if (feed == strlen(m))
		CU_ASSERT_EQUAL(dkk_verifier_update(v, "x", 1), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_verdict(v), DKK_PERMERROR);
	CU_ASSERT_EQUAL(dkk_verifier_reason(v, &detail), DKK_R_LIMIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(detail);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, limit));
	CU_ASSERT_EQUAL(dkk_verifier_count(v), 0);
	CU_ASSERT_PTR_NULL(dkk_verifier_result(v, 0));
	CU_ASSERT_EQUAL(dkk_verifier_adsp(v, NULL), DKK_ADSP_PERMERROR);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE, &ar), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "; dkim=permerror reason=\"header "
	    "block over the limit of "));
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "; dkim-adsp=permerror"));
	CU_ASSERT_PTR_NULL(strstr(ar, "dkim=pass"));
	free(ar);
	dkk_verifier_free(v);
}

/* A header block over a limit is a verdict (permerror, DKK_R_LIMIT), the
 * same for every host; the rest of the message is read and dropped. */
static void
verify_header_limits_verdict(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_HEADER_BYTES, 64),
	    DKK_OK);
	limit_expect(fx.ctx, sm, strlen(sm), "64 octets");
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_HEADER_BYTES,
	    1 << 20), DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_HEADER_FIELDS, 3),
	    DKK_OK);
	limit_expect(fx.ctx, sm, strlen(sm), "3 fields");
	/* a header that never ends: the limit is met at final */
	limit_expect(fx.ctx, "A: 1\r\nB: 2\r\nC: 3\r\nD: 4", 22,
	    "3 fields");
	/* within the limits the same message passes */
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_HEADER_FIELDS, 8),
	    DKK_OK);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	free(sm);
	unit_fx_free(&fx);
}

/* NUL octets in a signed header field and in the body are data. */
static void
verify_nul_bytes_in_header_and_body(void)
{
	static const char m[] = "From: joe@example.com\r\nSubject: a\0b\r\n"
	    "\r\nbody\0with NUL\r\n";
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct buf sm;
	dkk_verifier *v;
	char *field;
	size_t at;
	int k;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (k = 0; k < 2; k++) {
		o = unit_opts(k ? fx.ed : fx.rsa, k ? "ed" : "rsa");
		o.header_canon = o.body_canon = k;
		field = sign_field(&fx, &o, m, sizeof(m) - 1);
		buf_init(&sm);
		buf_printf(&sm, "%s\r\n", field);
		at = sm.len;
		buf_add(&sm, m, sizeof(m) - 1);
		CU_ASSERT_FALSE_FATAL(sm.failed);
		v = unit_verify(fx.ctx, sm.p, sm.len, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "pass/ok");
		dkk_verifier_free(v);
		/* the octet after the NUL in Subject is covered */
		sm.p[at + 34] = 'c';
		v = unit_verify(fx.ctx, sm.p, sm.len, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_STRING_EQUAL(unit_result(v, 0),
		    "fail/signature_mismatch");
		dkk_verifier_free(v);
		sm.p[at + 34] = 'b';
		/* and so is the body after its NUL */
		sm.p[sm.len - 3] = 'X';
		v = unit_verify(fx.ctx, sm.p, sm.len, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_STRING_EQUAL(unit_result(v, 0),
		    "fail/body_hash_mismatch");
		dkk_verifier_free(v);
		buf_clear(&sm);
		free(field);
	}
	unit_fx_free(&fx);
}

/* Results do not depend on how the message is cut into chunks. */
static void
verify_chunking_same_results(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *f1, *f2, *m;
	size_t len, k;
	int fails = 0;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	o.header_canon = DKK_CANON_SIMPLE;
	f1 = sign_field(&fx, &o, msg, strlen(msg));
	o = unit_opts(fx.rsa, "rsa");
	o.body_length = 1;
	f2 = sign_field(&fx, &o, msg, strlen(msg));
	if (asprintf(&m, "%s\r\n%s\r\n%s\r\nTrailer \t \r\n\r\n", f1, f2,
	    msg) < 0)
		m = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	len = strlen(m);
	for (k = 0; k <= len + 1 && fails < 3; k++) {
		/* k == len + 1: one byte at a time */
		if (k <= len) {
			CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(fx.ctx, NULL, &v),
			    DKK_OK);
			CU_ASSERT_EQUAL(dkk_verifier_update(v, m, k), DKK_OK);
			CU_ASSERT_EQUAL(dkk_verifier_update(v, m + k, len - k),
			    DKK_OK);
			CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
		} else {
			v = unit_verify(fx.ctx, m, len, 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		}
		if (strcmp(unit_result(v, 0), "fail/body_hash_mismatch") != 0 ||
		    strcmp(unit_result(v, 1), "pass/ok") != 0) {
			fprintf(stderr, "split at %zu: %s\n", k,
			    unit_result(v, 0));
			CU_FAIL("chunking changes the result");
			fails++;
		}
		dkk_verifier_free(v);
	}
	free(m);
	free(f1);
	free(f2);
	unit_fx_free(&fx);
}

/* Calls out of order and bad arguments. */
static void
verify_api_misuse(void)
{
	struct unit_fx fx;
	dkk_verifier *v;
	char *ar;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	CU_ASSERT_EQUAL(dkk_verifier_new(NULL, NULL, &v), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_verifier_new(fx.ctx, NULL, NULL), DKK_EINVAL);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(fx.ctx, NULL, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, NULL, 1), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, NULL, 0), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE, &ar), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, msg, strlen(msg)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, "x", 1), DKK_ESTATE);
	dkk_verifier_free(v);
	dkk_verifier_free(NULL);
	CU_ASSERT_EQUAL(dkk_verifier_final(NULL), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_verifier_count(NULL), 0);
	CU_ASSERT_PTR_NULL(dkk_verifier_result(NULL, 0));
	unit_fx_free(&fx);
}

/* One sign-and-verify run with every allocation counted; the first
 * failure is returned (DKK_OK when none), with the verdicts. */
static int
alloc_run(const char *zone, const char *keyfile, const int64_t *now,
    enum dkk_verdict *verdict, enum dkk_reason *reason, enum dkk_adsp *adsp)
{
	struct dkk_sign_opts o;
	dkk_ctx *ctx = NULL;
	dkk_key *key;
	dkk_signer *s = NULL;
	dkk_verifier *v = NULL;
	char *field = NULL, *m = NULL, *ar = NULL;
	const struct dkk_sig_result *r;
	int rc;

	*verdict = DKK_NONE;
	if ((rc = dkk_ctx_new(&ctx)) != DKK_OK)
		return rc;
	dkk_ctx_set_clock(ctx, unit_clock, (void *)now);
	if ((rc = dkk_ctx_use_zone(ctx, zone)) != DKK_OK ||
	    (rc = dkk_ctx_load_key(ctx, keyfile, &key)) != DKK_OK)
		goto out;
	o = unit_opts(key, "rsa");
	o.identity = "joe;x@example.com";
	o.body_length = 1;
	o.expire = 3600;
	if ((rc = dkk_signer_new(ctx, &o, &s)) != DKK_OK ||
	    (rc = dkk_signer_update(s, msg, strlen(msg))) != DKK_OK ||
	    (rc = dkk_signer_final(s, 0, &field)) != DKK_OK)
		goto out;
	if (asprintf(&m, "%s\r\n%s", field, msg) < 0) {
		m = NULL;
		rc = DKK_ENOMEM;
		goto out;
	}
	if ((rc = dkk_verifier_new(ctx, &with_adsp, &v)) != DKK_OK ||
	    (rc = dkk_verifier_update(v, m, strlen(m))) != DKK_OK ||
	    (rc = dkk_verifier_final(v)) != DKK_OK)
		goto out;
	if ((r = dkk_verifier_result(v, 0)) != NULL) {
		*verdict = r->verdict;
		*reason = r->reason;
	}
	*adsp = dkk_verifier_adsp(v, NULL);
	rc = dkk_verifier_ar(v, "mx.example.net", 0, &ar);
out:
	free(ar);
	dkk_verifier_free(v);
	free(m);
	free(field);
	dkk_signer_free(s);
	dkk_ctx_free(ctx);
	return rc;
}

/* Fail each allocation of a whole sign + verify run in turn: every
 * failure is a clean DKK_ENOMEM, or a temperror verdict where the
 * verifier absorbed it; never a crash or (under ASan) a leak. */
static void
verify_alloc_failure_loop(void)
{
	struct unit_fx fx;
	struct unit_tmp zt, kt;
	enum dkk_verdict verdict;
	enum dkk_reason reason;
	enum dkk_adsp adsp;
	long total, n, enomem = 0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&zt, "t.zone", fx.zone,
	    strlen(fx.zone)), 0);
	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&kt, "k.pem", fx.rsa_pem,
	    strlen(fx.rsa_pem)), 0);
	/* count the allocations of a run that does not fail */
	dkk_alloc_fail_at = LONG_MAX;
	rc = alloc_run(zt.path, kt.path, &fx.now, &verdict, &reason, &adsp);
	total = LONG_MAX - dkk_alloc_fail_at;
	dkk_alloc_fail_at = 0;
	CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
	CU_ASSERT_EQUAL(verdict, DKK_PASS);
	CU_ASSERT_EQUAL(adsp, DKK_ADSP_PASS);
	CU_ASSERT(total > 50);
	for (n = 1; n <= total + 1; n++) {
		dkk_alloc_fail_at = n;
		rc = alloc_run(zt.path, kt.path, &fx.now, &verdict, &reason,
		    &adsp);
		dkk_alloc_fail_at = 0;
		if (rc == DKK_ENOMEM) {
			enomem++;
			continue;
		}
		if (rc != DKK_OK) {
			fprintf(stderr, "allocation %ld: %s\n", n,
			    dkk_strerror(rc));
			CU_FAIL("allocation failure not DKK_ENOMEM");
			continue;
		}
		if (verdict == DKK_PASS) {
			CU_ASSERT(adsp == DKK_ADSP_PASS);
			continue;
		}
		if (verdict != DKK_TEMPERROR || (reason != DKK_R_INTERNAL &&
		    reason != DKK_R_KEY_DNS)) {
			fprintf(stderr, "allocation %ld: %s/%s\n", n,
			    dkk_verdict_name(verdict), dkk_reason_name(reason));
			CU_FAIL("allocation failure gave a wrong verdict");
		}
	}
	CU_ASSERT(enomem > 0);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	CU_ASSERT_EQUAL(verdict, DKK_PASS);
	unit_tmp_remove(&zt);
	unit_tmp_remove(&kt);
	unit_fx_free(&fx);
}

static const struct unit_test verify_tests[] = {
	{ "verify_rsa_pass", verify_rsa_pass },
	{ "verify_ed25519_pass", verify_ed25519_pass },
	{ "verify_every_canon_combination_passes",
	    verify_every_canon_combination_passes },
	{ "verify_tampered_body_fails", verify_tampered_body_fails },
	{ "verify_tampered_signed_header_fails",
	    verify_tampered_signed_header_fails },
	{ "verify_relaxed_survives_whitespace",
	    verify_relaxed_survives_whitespace },
	{ "verify_unsigned_header_added_passes",
	    verify_unsigned_header_added_passes },
	{ "verify_second_instance_of_signed_header",
	    verify_second_instance_of_signed_header },
	{ "verify_h_dkim_signature_not_own",
	    verify_h_dkim_signature_not_own },
	{ "verify_absent_signed_header_added_fails",
	    verify_absent_signed_header_added_fails },
	{ "verify_expired_permerror", verify_expired_permerror },
	{ "verify_future_timestamp_permerror",
	    verify_future_timestamp_permerror },
	{ "verify_rsa_sha1_policy", verify_rsa_sha1_policy },
	{ "verify_rsa_512_policy", verify_rsa_512_policy },
	{ "verify_revoked_key_permerror", verify_revoked_key_permerror },
	{ "verify_key_nxdomain_permerror", verify_key_nxdomain_permerror },
	{ "verify_key_not_dkim_permerror", verify_key_not_dkim_permerror },
	{ "verify_key_strict_identity_subdomain",
	    verify_key_strict_identity_subdomain },
	{ "verify_key_hash_sha1_only_permerror",
	    verify_key_hash_sha1_only_permerror },
	{ "verify_key_type_mismatch_permerror",
	    verify_key_type_mismatch_permerror },
	{ "verify_key_testing_reported", verify_key_testing_reported },
	{ "verify_body_length_appended_text_passes",
	    verify_body_length_appended_text_passes },
	{ "verify_body_length_longer_permerror",
	    verify_body_length_longer_permerror },
	{ "verify_two_signatures_one_bad", verify_two_signatures_one_bad },
	{ "verify_unsigned_none", verify_unsigned_none },
	{ "verify_header_only_message_passes",
	    verify_header_only_message_passes },
	{ "verify_lf_line_ends_pass", verify_lf_line_ends_pass },
	{ "verify_resolver_tempfail_temperror",
	    verify_resolver_tempfail_temperror },
	{ "verify_no_key_source_temperror",
	    verify_no_key_source_temperror },
	{ "verify_async_resolver_eagain", verify_async_resolver_eagain },
	{ "verify_async_resolver_wait_and_abandon",
	    verify_async_resolver_wait_and_abandon },
	{ "verify_async_timeout_drives_deadline",
	    verify_async_timeout_drives_deadline },
	{ "verify_ten_thousand_signatures",
	    verify_ten_thousand_signatures },
	{ "verify_signature_limit_setting",
	    verify_signature_limit_setting },
	{ "verify_header_limits_verdict", verify_header_limits_verdict },
	{ "verify_nul_bytes_in_header_and_body",
	    verify_nul_bytes_in_header_and_body },
	{ "verify_chunking_same_results", verify_chunking_same_results },
	{ "verify_api_misuse", verify_api_misuse },
	{ "verify_alloc_failure_loop", verify_alloc_failure_loop },
	{ NULL, NULL }
};

void
suite_verify(void)
{
	unit_suite("verify", verify_tests);
}
