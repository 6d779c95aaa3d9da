/*
 * test_arc.c: ARC (RFC 8617, core/arc): each step of chain validation
 * (5.2), oldest-pass, sealing round trips with RSA and Ed25519 (5.1),
 * the cv=fail rules, malformed sets, the arc A-R entry and reading AAR
 * values back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"

static const struct dkk_verify_opts with_arc = { .arc = 1 };

/* Verify m with ARC on; the verifier (free it) or NULL. */
static dkk_verifier *
arc_verify(dkk_ctx *ctx, const char *m)
{
	return unit_verify_opts(ctx, &with_arc, m, strlen(m), 0);
}

/* Assert the chain's result, sets and failing instance; reason must
 * contain why when given. */
static void
arc_expect(dkk_ctx *ctx, const char *m, enum dkk_arc want, unsigned n,
    unsigned failed, const char *why)
{
	dkk_verifier *v = arc_verify(ctx, m);
	struct dkk_arc_result r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_arc(v, &r), DKK_OK);
	if (r.result != want || r.instances != n ||
	    r.failed_instance != failed ||
	    (why != NULL && strstr(r.reason, why) == NULL)) {
		fprintf(stderr, "arc %s n=%u failed=%u (%s); want %s n=%u "
		    "failed=%u (%s)\n", dkk_arc_name(r.result), r.instances,
		    r.failed_instance, r.reason, dkk_arc_name(want), n, failed,
		    why ? why : "");
		CU_FAIL("unexpected ARC result");
	}
	dkk_verifier_free(v);
}

/* m with the next ARC set on top, sealed by example.com with key and
 * selector; NULL when the sealer adds nothing.  headers: the AMS h=. */
static char *
seal_h(struct unit_fx *fx, const dkk_key *key, const char *sel,
    const char *m, const char *headers)
{
	struct dkk_seal_opts o = { key, "example.com", sel, "relay.example",
	    headers, NULL };
	dkk_verifier *v = arc_verify(fx->ctx, m);
	char *fields = NULL, *out = NULL, *top;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_seal(v, &o, 0, &fields), DKK_OK);
	if (fields != NULL) {
		top = concat(fields, "\r\n");
		out = concat(top, m);
		free(top);
	}
	free(fields);
	dkk_verifier_free(v);
	return out;
}

static char *
seal(struct unit_fx *fx, const dkk_key *key, const char *sel, const char *m)
{
	return seal_h(fx, key, sel, m, NULL);
}

/* m without its first field named name (with its continuation lines). */
static char *
drop_field(const char *m, const char *name)
{
	const char *at = m, *end;
	size_t nl = strlen(name);
	char *out;

	while (at != NULL && strncmp(at, name, nl) != 0)
		at = (at = strstr(at, "\r\n")) != NULL ? at + 2 : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	for (end = strstr(at, "\r\n") + 2; *end == ' ' || *end == '\t';
	    end = strstr(end, "\r\n") + 2)
		;
	out = malloc(strlen(m) + 1);
	memcpy(out, m, (size_t)(at - m));
	strcpy(out + (at - m), end);
	return out;
}

/* The first field named name of m, with its line end. */
static char *
get_field(const char *m, const char *name)
{
	char *rest = drop_field(m, name), *out;
	size_t pre = 0, len;
	const char *at = m;

	while (strncmp(at, name, strlen(name)) != 0) {
		at = strstr(at, "\r\n") + 2;
	}
	pre = (size_t)(at - m);
	len = strlen(m) - strlen(rest);
	out = malloc(len + 1);
	memcpy(out, m + pre, len);
	out[len] = '\0';
	free(rest);
	return out;
}

static void
arc_none_unsealed(void)
{
	struct unit_fx fx;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	arc_expect(fx.ctx, msg, DKK_ARC_NONE, 0, 0, NULL);
	unit_fx_free(&fx);
}

static void
arc_seal_roundtrip(const char *sel, int ed)
{
	struct unit_fx fx;
	char *m1, *m2;
	dkk_verifier *v;
	struct dkk_arc_result r;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, ed ? fx.ed : fx.rsa, sel, msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
	CU_ASSERT_PTR_NOT_NULL(strstr(m1, "cv=none"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m1, ed ? "a=ed25519-sha256" :
	    "a=rsa-sha256"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m1,
	    "ARC-Authentication-Results: i=1; relay.example;"));
	arc_expect(fx.ctx, m1, DKK_ARC_PASS, 1, 0, NULL);
	/* a second hop seals with the other algorithm: cv=pass */
	m2 = seal(&fx, ed ? fx.rsa : fx.ed, ed ? "rsa" : "ed", m1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
	CU_ASSERT_PTR_NOT_NULL(strstr(m2, "cv=pass"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m2, "arc=pass"));
	v = arc_verify(fx.ctx, m2);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_PASS);
	CU_ASSERT_EQUAL(r.instances, 2);
	CU_ASSERT_EQUAL(r.oldest_pass, 0);
	CU_ASSERT_STRING_EQUAL(r.reason, "");
	dkk_verifier_free(v);
	free(m1);
	free(m2);
	unit_fx_free(&fx);
}

static void
arc_seal_roundtrip_rsa(void)
{
	arc_seal_roundtrip("rsa", 0);
}

static void
arc_seal_roundtrip_ed25519(void)
{
	arc_seal_roundtrip("ed", 1);
}

/* Step 5: the latest AMS covers the body. */
static void
arc_ams_body_changed(void)
{
	struct unit_fx fx;
	char *m1, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	bad = replace(m1, "hungry", "thirsty");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "body hash mismatch");
	free(bad);
	free(m1);
	unit_fx_free(&fx);
}

/* Step 6: the second sealer's AMS does not cover Subject, the first's
 * does; changing it leaves the chain passing with oldest-pass 2. */
static void
arc_oldest_pass(void)
{
	struct unit_fx fx;
	char *m1, *m2, *m3, *bad;
	dkk_verifier *v;
	struct dkk_arc_result r;
	char *ar = NULL;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	m2 = seal_h(&fx, fx.ed, "ed", m1, "From:To");
	m3 = seal(&fx, fx.rsa, "rsa", m2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m3);
	bad = replace(m3, "Is dinner ready?", "Is lunch ready?");
	v = arc_verify(fx.ctx, bad);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	/* AMS 3 covers Subject: the chain fails at 3 */
	CU_ASSERT_EQUAL(r.result, DKK_ARC_FAIL);
	CU_ASSERT_EQUAL(r.failed_instance, 3);
	dkk_verifier_free(v);
	free(bad);
	bad = replace(m2, "Is dinner ready?", "Is lunch ready?");
	v = arc_verify(fx.ctx, bad);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_PASS);
	CU_ASSERT_EQUAL(r.oldest_pass, 2);
	CU_ASSERT_EQUAL(dkk_verifier_ar(v, "mx.example", DKK_FIELD_ONE_LINE,
	    &ar), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "; arc=pass header.oldest-pass=2"));
	free(ar);
	dkk_verifier_free(v);
	free(bad);
	free(m1);
	free(m2);
	free(m3);
	unit_fx_free(&fx);
}

/* 5.1.2: a failed chain gets cv=fail over its own set only, and after
 * that nothing more (5.1 step 2); 5.2 step 3: cv=fail on top fails. */
static void
arc_cv_fail_chain(void)
{
	struct unit_fx fx;
	char *m1, *bad, *m2, *m3;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	bad = replace(m1, "hungry", "thirsty");
	m2 = seal(&fx, fx.ed, "ed", bad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
	CU_ASSERT_PTR_NOT_NULL(strstr(m2, "cv=fail"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m2, "arc=fail"));
	arc_expect(fx.ctx, m2, DKK_ARC_FAIL, 2, 2, "cv=fail");
	m3 = seal(&fx, fx.rsa, "rsa", m2);
	CU_ASSERT_PTR_NULL(m3);
	free(m1);
	free(bad);
	free(m2);
	unit_fx_free(&fx);
}

/* Step 7: a seal over tampered sets. */
static void
arc_seal_tampered(void)
{
	struct unit_fx fx;
	char *m1, *m2, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	m2 = seal(&fx, fx.ed, "ed", m1);
	/* the first AAR is covered by both seals, by no AMS */
	bad = replace(m2, "i=1; relay.example;", "i=1; relay.example; ");
	arc_expect(fx.ctx, bad, DKK_ARC_PASS, 2, 0, NULL);	/* relaxed */
	free(bad);
	bad = replace(m2, "i=1; relay.example;", "i=1; evil.example;");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 2, 2, "ARC-Seal of instance 2");
	free(bad);
	bad = replace(m2, "t=", "t=1");	/* the top seal's own t= */
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 2, 2, "ARC-Seal of instance 2");
	free(bad);
	free(m1);
	free(m2);
	unit_fx_free(&fx);
}

/* Step 4: i=1 must say cv=none, later ones cv=pass; cv=fail in the
 * middle fails. */
static void
arc_cv_structure(void)
{
	struct unit_fx fx;
	char *m1, *m2, *m3, *bad, *as2;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	bad = replace(m1, "cv=none", "cv=pass");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "cv=none");
	free(bad);
	m2 = seal(&fx, fx.ed, "ed", m1);
	m3 = seal(&fx, fx.rsa, "rsa", m2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m3);
	/* set 2's seal: the second ARC-Seal field from the top */
	as2 = strstr(strstr(m3, "ARC-Seal: i=2"), "cv=pass");
	CU_ASSERT_PTR_NOT_NULL_FATAL(as2);
	bad = strdup(m3);
	memcpy(bad + (as2 - m3), "cv=fail", 7);
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 3, 2, "cv=fail");
	memcpy(bad + (as2 - m3), "cv=none", 7);
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 3, 2, "cv=none");
	free(bad);
	free(m1);
	free(m2);
	free(m3);
	unit_fx_free(&fx);
}

/* Step 2: exactly one AAR, AMS and AS per instance, 1 to N. */
static void
arc_malformed_sets(void)
{
	struct unit_fx fx;
	char *m1, *m2, *bad, *f, *dup;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	m2 = seal(&fx, fx.ed, "ed", m1);
	bad = drop_field(m2, "ARC-Message-Signature: i=2");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 2, 2, "no ARC-Message-Sig");
	free(bad);
	bad = drop_field(m2, "ARC-Seal: i=1");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 2, 1, "no ARC-Seal");
	free(bad);
	bad = drop_field(m2, "ARC-Authentication-Results: i=1");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 2, 1, "no ARC-Auth");
	free(bad);
	/* a duplicate AAR */
	f = get_field(m2, "ARC-Authentication-Results: i=2");
	dup = concat(f, m2);
	arc_expect(fx.ctx, dup, DKK_ARC_FAIL, 2, 2, "two ARC-Auth");
	free(dup);
	free(f);
	/* a skipped instance: set 2 renumbered 3 */
	bad = replace(m2, "ARC-Seal: i=2", "ARC-Seal: i=3");
	f = replace(bad, "ARC-Message-Signature: i=2",
	    "ARC-Message-Signature: i=3");
	free(bad);
	bad = replace(f, "ARC-Authentication-Results: i=2",
	    "ARC-Authentication-Results: i=3");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 3, 2, "instance 2 has no");
	free(bad);
	free(f);
	/* i=0 and i=51 are no instances (RFC 8617 4.2.1) */
	bad = replace(m1, "ARC-Authentication-Results: i=1",
	    "ARC-Authentication-Results: i=0");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 0, "outside 1 to 50");
	free(bad);
	bad = replace(m1, "ARC-Seal: i=1", "ARC-Seal: i=51");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 0, "i=51");
	free(bad);
	bad = replace(m1, "ARC-Seal: i=1", "ARC-Seal: i=99999999999999");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 0, "readable instance");
	free(bad);
	bad = replace(m1, "ARC-Authentication-Results: i=1;",
	    "ARC-Authentication-Results: i=1 ");	/* no ';' */
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 0, "readable instance");
	free(bad);
	bad = replace(m1, "ARC-Authentication-Results: i=1;",
	    "ARC-Authentication-Results: x=1;");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 0, "readable instance");
	free(bad);
	free(m1);
	free(m2);
	unit_fx_free(&fx);
}

/* 4.1.3: h= in a seal is a failure; 4.1.2: an AMS h= with ARC-Seal. */
static void
arc_malformed_tags(void)
{
	struct unit_fx fx;
	char *m1, *bad, *big, *d;
	size_t n = 70000;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	bad = replace(m1, "ARC-Seal: i=1;", "ARC-Seal: i=1; h=From;");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "h= in an ARC-Seal");
	free(bad);
	bad = replace(m1, "h=From:", "h=ARC-Seal:From:");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "lists ARC-Seal");
	free(bad);
	bad = replace(m1, "h=From:", "h=");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "From field not signed");
	free(bad);
	bad = replace(m1, "cv=none;", "");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "cv= tag missing");
	free(bad);
	bad = replace(m1, "ARC-Message-Signature: i=1;",
	    "ARC-Message-Signature: i=1; x=1;");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "expired");
	free(bad);
	bad = replace(m1, "ARC-Message-Signature: i=1; a=rsa-sha256;",
	    "ARC-Message-Signature: i=1; a=rsa-sha1;");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "RFC 8301");
	free(bad);
	bad = replace(m1, "ARC-Message-Signature: i=1;",
	    "ARC-Message-Signature: i=1; v=1;");	/* ignored (4.1.2) */
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "signature did not");
	free(bad);
	bad = replace(m1, "cv=none", "cv=maybe");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 1, "cv=");
	free(bad);
	bad = replace(m1, "ARC-Seal: i=1;", "ARC-Seal: i=1; i=1;");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 0, "tag list");
	free(bad);
	/* an over-long d= in the seal: over the field limit, no crash */
	d = malloc(n + 16);
	memset(d, 'a', n);
	strcpy(d + n, ".example;");
	big = malloc(n + 64);
	snprintf(big, n + 64, "ARC-Seal: i=1; d=%s", d);
	bad = replace(m1, "ARC-Seal: i=1;", big);
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 1, 0, "over the limit");
	free(bad);
	free(big);
	free(d);
	free(m1);
	unit_fx_free(&fx);
}

/* Step 2: an older AMS whose tags cannot be read makes its set
 * malformed: the chain fails even though only the latest AMS must
 * verify. */
static void
arc_older_ams_malformed(void)
{
	struct unit_fx fx;
	char *m1, *m2, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	m2 = seal(&fx, fx.ed, "ed", m1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
	bad = replace(m2, "ARC-Message-Signature: i=1; a=rsa-sha256;",
	    "ARC-Message-Signature: i=1; a=rsa-sha512;");
	arc_expect(fx.ctx, bad, DKK_ARC_FAIL, 2, 1, "unknown algorithm");
	free(bad);
	free(m1);
	free(m2);
	unit_fx_free(&fx);
}

/* More fields than 50 sets hold: a failure, read no further. */
static void
arc_too_many_sets(void)
{
	struct unit_fx fx;
	char *m = strdup(msg), *t;
	int i;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (i = 0; i < 151; i++) {
		t = concat("ARC-Authentication-Results: i=1; x; none\r\n", m);
		free(m);
		m = t;
	}
	arc_expect(fx.ctx, m, DKK_ARC_FAIL, 0, 0, "more than 50");
	free(m);
	unit_fx_free(&fx);
}

/* A key that is not there fails the signature that names it. */
static void
arc_no_key(void)
{
	struct unit_fx fx;
	char *m1, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	bad = replace(strstr(m1, "ARC-Message"), "s=rsa;", "s=nokey;");
	{
		char *whole = malloc(strlen(m1) + 16);
		size_t pre = (size_t)(strstr(m1, "ARC-Message") - m1);

		memcpy(whole, m1, pre);
		strcpy(whole + pre, bad);
		arc_expect(fx.ctx, whole, DKK_ARC_FAIL, 1, 1, "no key record");
		free(whole);
	}
	free(bad);
	free(m1);
	unit_fx_free(&fx);
}

/* ARC off: no arc entry, no result; on: arc=none for a plain message. */
static void
arc_ar_entry(void)
{
	struct unit_fx fx;
	dkk_verifier *v;
	struct dkk_arc_result r;
	char *ar;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	v = unit_verify(fx.ctx, msg, strlen(msg), 0);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE, &ar),
	    DKK_OK);
	CU_ASSERT_PTR_NULL(strstr(ar, "arc="));
	free(ar);
	dkk_verifier_free(v);
	{
		struct dkk_verify_opts o = { .arc = 1,
		    .arc_remote_ip = "192.0.2.7" };

		v = unit_verify_opts(fx.ctx, &o, msg, strlen(msg), 0);
		CU_ASSERT_EQUAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE,
		    &ar), DKK_OK);
		CU_ASSERT_PTR_NOT_NULL(strstr(ar,
		    "; arc=none smtp.remote-ip=192.0.2.7"));
		free(ar);
		dkk_verifier_free(v);
	}
	unit_fx_free(&fx);
}

/* dkk_ar_parse reads an AAR value: i= first, then the A-R. */
static void
arc_aar_parse(void)
{
	dkk_ar *ar;
	static const char aar[] = " i=3; relay.example; dkim=pass "
	    "header.d=example.com; arc=pass header.oldest-pass=0";

	CU_ASSERT_EQUAL_FATAL(dkk_ar_parse(aar, strlen(aar), &ar), DKK_OK);
	CU_ASSERT_EQUAL(ar->instance, 3);
	CU_ASSERT_STRING_EQUAL(ar->authserv_id, "relay.example");
	CU_ASSERT_EQUAL(ar->nresults, 2);
	CU_ASSERT_STRING_EQUAL(ar->results[1].method, "arc");
	dkk_ar_free(ar);
	CU_ASSERT_EQUAL(dkk_ar_parse("i=51; x; none", 13, &ar), DKK_ESYNTAX);
	CU_ASSERT_EQUAL(dkk_ar_parse("i=0; x; none", 12, &ar), DKK_ESYNTAX);
	CU_ASSERT_EQUAL_FATAL(dkk_ar_parse("x; none", 7, &ar), DKK_OK);
	CU_ASSERT_EQUAL(ar->instance, 0);
	dkk_ar_free(ar);
}

/* Sealing needs ARC on and a usable d= and s=. */
static void
arc_seal_args(void)
{
	struct unit_fx fx;
	dkk_verifier *v;
	struct dkk_seal_opts o = { NULL, "example.com", "rsa", "relay", NULL,
	    NULL };
	char *f = NULL;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o.key = fx.rsa;
	v = unit_verify(fx.ctx, msg, strlen(msg), 0);
	CU_ASSERT_EQUAL(dkk_verifier_seal(v, &o, 0, &f), DKK_EINVAL);
	dkk_verifier_free(v);
	v = arc_verify(fx.ctx, msg);
	o.domain = "no dots";
	CU_ASSERT_EQUAL(dkk_verifier_seal(v, &o, 0, &f), DKK_EINVAL);
	o.domain = "example.com";
	CU_ASSERT_EQUAL(dkk_verifier_seal(v, &o, DKK_FIELD_ONE_LINE, &f),
	    DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_verifier_seal(v, &o, DKK_FIELD_LF, &f), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(f);
	CU_ASSERT_PTR_NULL(f ? strchr(f, '\r') : NULL);
	free(f);
	dkk_verifier_free(v);
	unit_fx_free(&fx);
}

/* oldest-pass looks back over DKK_LIMIT_SIGNATURES AMSs at most. */
static void
arc_oldest_pass_limit(void)
{
	struct unit_fx fx;
	char *m1, *m2, *m3;
	dkk_verifier *v;
	struct dkk_arc_result r;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	m2 = seal(&fx, fx.ed, "ed", m1);
	m3 = seal(&fx, fx.rsa, "rsa", m2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m3);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIGNATURES, 2),
	    DKK_OK);
	v = arc_verify(fx.ctx, m3);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_PASS);
	CU_ASSERT_EQUAL(r.instances, 3);
	CU_ASSERT_EQUAL(r.oldest_pass, 2);	/* AMS 1 not looked at */
	dkk_verifier_free(v);
	free(m1);
	free(m2);
	free(m3);
	unit_fx_free(&fx);
}

/* A header block over the limit: the chain fails, nothing is sealed. */
static void
arc_header_limit(void)
{
	struct unit_fx fx;
	struct dkk_seal_opts o = { NULL, "example.com", "rsa", "relay",
	    NULL, NULL };
	dkk_verifier *v;
	char *f = NULL;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o.key = fx.rsa;
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_HEADER_FIELDS, 2),
	    DKK_OK);
	arc_expect(fx.ctx, msg, DKK_ARC_FAIL, 0, 0, "header block");
	v = arc_verify(fx.ctx, msg);
	CU_ASSERT_EQUAL(dkk_verifier_seal(v, &o, 0, &f), DKK_ELIMIT);
	CU_ASSERT_PTR_NULL(f);
	dkk_verifier_free(v);
	unit_fx_free(&fx);
}

/* Fed in small chunks, with LF line ends, the chain still passes. */
static void
arc_streaming_lf(void)
{
	struct unit_fx fx;
	char *m1, *lf, *p, *q;
	dkk_verifier *v;
	struct dkk_arc_result r;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.ed, "ed", msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
	lf = strdup(m1);
	for (p = q = lf; *p != '\0'; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*q++ = *p;
	*q = '\0';
	v = unit_verify_opts(fx.ctx, &with_arc, lf, strlen(lf), 7);
	CU_ASSERT_EQUAL(dkk_verifier_arc(v, &r), DKK_OK);
	CU_ASSERT_EQUAL(r.result, DKK_ARC_PASS);
	dkk_verifier_free(v);
	free(lf);
	free(m1);
	unit_fx_free(&fx);
}

/* Each set as the message carries it: sealer, cv= and the AAR, which
 * dkk_ar_parse() reads back with the verdicts of the hop that sealed. */
static void
arc_set_access(void)
{
	struct unit_fx fx;
	char *m1, *m2;
	dkk_verifier *v;
	struct dkk_arc_set s;
	dkk_ar *ar;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m1 = seal(&fx, fx.rsa, "rsa", msg);
	m2 = seal(&fx, fx.ed, "ed", m1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
	v = arc_verify(fx.ctx, m2);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_arc_set(v, 2, &s), DKK_OK);
	CU_ASSERT_EQUAL(s.instance, 2);
	CU_ASSERT_STRING_EQUAL(s.seal_domain, "example.com");
	CU_ASSERT_STRING_EQUAL(s.seal_selector, "ed");
	CU_ASSERT_STRING_EQUAL(s.cv, "pass");
	CU_ASSERT_EQUAL_FATAL(dkk_ar_parse(s.aar, s.aar_len, &ar), DKK_OK);
	CU_ASSERT_EQUAL(ar->instance, 2);
	CU_ASSERT_STRING_EQUAL(ar->authserv_id, "relay.example");
	CU_ASSERT_STRING_EQUAL(ar->results[ar->nresults - 1].method, "arc");
	CU_ASSERT_STRING_EQUAL(ar->results[ar->nresults - 1].result, "pass");
	dkk_ar_free(ar);
	CU_ASSERT_EQUAL(dkk_verifier_arc_set(v, 1, &s), DKK_OK);
	CU_ASSERT_STRING_EQUAL(s.cv, "none");
	CU_ASSERT_EQUAL(dkk_verifier_arc_set(v, 0, &s), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_verifier_arc_set(v, 3, &s), DKK_EINVAL);
	dkk_verifier_free(v);
	free(m1);
	free(m2);
	unit_fx_free(&fx);
}

static const struct unit_test arc_tests[] = {
	{ "arc_set_access", arc_set_access },
	{ "arc_oldest_pass_limit", arc_oldest_pass_limit },
	{ "arc_header_limit", arc_header_limit },
	{ "arc_streaming_lf", arc_streaming_lf },
	{ "arc_none_unsealed", arc_none_unsealed },
	{ "arc_seal_roundtrip_rsa", arc_seal_roundtrip_rsa },
	{ "arc_seal_roundtrip_ed25519", arc_seal_roundtrip_ed25519 },
	{ "arc_ams_body_changed", arc_ams_body_changed },
	{ "arc_oldest_pass", arc_oldest_pass },
	{ "arc_cv_fail_chain", arc_cv_fail_chain },
	{ "arc_seal_tampered", arc_seal_tampered },
	{ "arc_cv_structure", arc_cv_structure },
	{ "arc_malformed_sets", arc_malformed_sets },
	{ "arc_malformed_tags", arc_malformed_tags },
	{ "arc_too_many_sets", arc_too_many_sets },
	{ "arc_older_ams_malformed", arc_older_ams_malformed },
	{ "arc_no_key", arc_no_key },
	{ "arc_ar_entry", arc_ar_entry },
	{ "arc_aar_parse", arc_aar_parse },
	{ "arc_seal_args", arc_seal_args },
	{ NULL, NULL }
};

void
suite_arc(void)
{
	unit_suite("arc", arc_tests);
}
