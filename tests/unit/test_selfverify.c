/*
 * test_selfverify.c: the self-verification shared by the signing hosts
 * (plugins/common/selfverify.c): its one-record resolver serves the
 * signing key's public half under the one name and NXDOMAIN for any
 * other, and dks_selfv_sig() judges the signature it is asked about,
 * counted from the top, with the class and the field.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"
#include "selfverify.h"

static const char sv_msg[] =
    "From: alice@example.com\r\n"
    "To: bob@example.net\r\n"
    "Subject: out\r\n"
    "\r\n"
    "Hello.\r\n";

/* v over m, in a one-record context of key at SEL._domainkey.example.com
 * (the clock at fx->now); free both with selfv_done(). */
static dkk_verifier *
selfv_verify(struct unit_fx *fx, const dkk_key *key, const char *sel,
    const char *m, dkk_ctx **ctxp)
{
	dkk_verifier *v;

	*ctxp = dks_selfv_ctx(key, "example.com", sel);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*ctxp);
	dkk_ctx_set_clock(*ctxp, unit_clock, &fx->now);
	v = unit_verify_opts(*ctxp, &dks_selfv_opts, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void
selfv_done(dkk_verifier *v, dkk_ctx *ctx)
{
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
}

static void
selfv_pass(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	dkk_ctx *ctx;
	char why[512] = "x", *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.rsa, "rsa");
	m = unit_sign(&fx, &o, sv_msg);
	v = selfv_verify(&fx, fx.rsa, "rsa", m, &ctx);
	CU_ASSERT_EQUAL(dks_selfv_sig(v, 0, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_EQUAL(dks_selfv_verdict(v, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(dks_selfv_sig(v, 1, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no signature"));
	selfv_done(v, ctx);
	free(m);
	unit_fx_free(&fx);
}

/* A From added on top after signing: header-added, field From. */
static void
selfv_header_added(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	dkk_ctx *ctx;
	char why[512], *m, *bad;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	m = unit_sign(&fx, &o, sv_msg);
	bad = replace(m, "From: alice@example.com\r\n",
	    "From: alice@example.com\r\nFrom: mallory@example.com\r\n");
	v = selfv_verify(&fx, fx.ed, "ed", bad, &ctx);
	CU_ASSERT_EQUAL(dks_selfv_sig(v, 0, why, sizeof(why)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "; class header-added, field From"));
	selfv_done(v, ctx);
	free(bad);
	free(m);
	unit_fx_free(&fx);
}

/* Two signatures, ed on top of rsa: the context knows only ed's record,
 * so the second from the top fails on its key, the first passes. */
static void
selfv_index(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	dkk_ctx *ctx;
	char why[512], *inner, *outer;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.rsa, "rsa");
	inner = unit_sign(&fx, &o, sv_msg);
	o = unit_opts(fx.ed, "ed");
	outer = unit_sign(&fx, &o, inner);
	v = selfv_verify(&fx, fx.ed, "ed", outer, &ctx);
	CU_ASSERT_EQUAL(dks_selfv_sig(v, 0, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(dks_selfv_sig(v, 1, why, sizeof(why)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "; class key"));
	selfv_done(v, ctx);
	/* the other way round: the rsa record only */
	v = selfv_verify(&fx, fx.rsa, "rsa", outer, &ctx);
	CU_ASSERT_EQUAL(dks_selfv_verdict(v, why, sizeof(why)), 1);
	CU_ASSERT_EQUAL(dks_selfv_sig(v, 1, why, sizeof(why)), 0);
	selfv_done(v, ctx);
	free(outer);
	free(inner);
	unit_fx_free(&fx);
}

static const struct unit_test selfverify_tests[] = {
	{ "selfv_pass", selfv_pass },
	{ "selfv_header_added", selfv_header_added },
	{ "selfv_index", selfv_index },
	{ NULL, NULL }
};

void
suite_selfverify(void)
{
	unit_suite("selfverify", selfverify_tests);
}
