/*
 * test_limits.c: the limits of dkk_ctx_set_limit() not covered by the
 * header, verify and key record suites: one signature field's bytes, tags
 * and h= names, the size of a key record answer, and the body after l=.
 * Each: the default holds, the setting moves it, the verdict says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static const char msg[] =
    "From: Joe SixPack <joe@example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "\r\n"
    "Hi.\r\n";

/* Verify m: one signature, its "verdict/reason", and (when detail is not
 * NULL) words its detail must contain. */
static void
expect1(dkk_ctx *ctx, const char *m, const char *want, const char *detail)
{
	dkk_verifier *v = unit_verify(ctx, m, strlen(m), 0);
	const struct dkk_sig_result *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_count(v), 1);
	r = dkk_verifier_result(v, 0);
	if (strcmp(unit_result(v, 0), want) != 0 || (detail != NULL &&
	    strstr(r->detail, detail) == NULL)) {
		fprintf(stderr, "got %s (%s), want %s (%s)\n",
		    unit_result(v, 0), r->detail, want, detail ? detail : "");
		CU_FAIL("unexpected result");
	}
	dkk_verifier_free(v);
}

/* The signature field's bytes: 64 KiB by default, settable. */
static void
limit_sig_bytes(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	o = unit_opts(fx.ed, "ed");
	m = unit_sign(&fx, &o, msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	expect1(fx.ctx, m, "pass/ok", NULL);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIG_BYTES, 0),
	    DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIG_BYTES, 100),
	    DKK_OK);
	expect1(fx.ctx, m, "permerror/syntax", "over the limit of 100");
	free(m);
	unit_fx_free(&fx);
}

/* A signature with extra unknown tags: 64 tags are parsed by default,
 * more refused; the limit goes up to 256. */
static void
limit_sig_tags(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct buf m;
	char *sm;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	o = unit_opts(fx.ed, "ed");
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	buf_init(&m);
	buf_adds(&m, "DKIM-Signature: ");
	for (i = 0; i < 100; i++)
		buf_printf(&m, "x%zu=%zu; ", i, i);
	buf_adds(&m, sm + strlen("DKIM-Signature: "));
	CU_ASSERT_FALSE_FATAL(m.failed);
	expect1(fx.ctx, m.p, "permerror/syntax", "more than 64 tags");
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIG_TAGS, 257),
	    DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_SIG_TAGS, 256),
	    DKK_OK);
	/* parsed and evaluated: the added tags break the signature */
	expect1(fx.ctx, m.p, "fail/signature_mismatch", NULL);
	buf_clear(&m);
	free(sm);
	unit_fx_free(&fx);
}

/* h= with 600 names (absent fields, each listed once: the signer lists a
 * name once per occurrence, From once more): refused by default (512),
 * verified when allowed. */
static void
limit_h_names(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct buf h;
	char *m;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	buf_init(&h);
	buf_adds(&h, "From");
	for (i = 2; i < 600; i++)
		buf_printf(&h, ":X-Absent-%zu", i);
	CU_ASSERT_FALSE_FATAL(h.failed);
	o = unit_opts(fx.ed, "ed");
	o.headers = h.p;
	m = unit_sign(&fx, &o, msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	expect1(fx.ctx, m, "permerror/bad_tag", "more than 512 names");
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_H_NAMES, 600),
	    DKK_OK);
	expect1(fx.ctx, m, "pass/ok", NULL);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_H_NAMES, 599),
	    DKK_OK);
	expect1(fx.ctx, m, "permerror/bad_tag", "more than 599 names");
	free(m);
	buf_clear(&h);
	unit_fx_free(&fx);
}

/* A key record answer larger than DKK_LIMIT_DNS_BYTES is not parsed:
 * permerror naming the limit.  The cache keeps answers, so each setting
 * gets a fresh context. */
static void
limit_dns_bytes(void)
{
	static const size_t limits[] = { 0, 100, 8192 };
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *m;
	size_t i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
		o = unit_opts(fx.rsa, "rsa");
		m = unit_sign(&fx, &o, msg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		if (limits[i] == 0) {
			/* the default: 8192 bytes */
			expect1(fx.ctx, m, "pass/ok", NULL);
		} else if (limits[i] < strlen(fx.rsa_p)) {
			CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx,
			    DKK_LIMIT_DNS_BYTES, limits[i]), DKK_OK);
			expect1(fx.ctx, m, "permerror/key_syntax",
			    "over the limit of 100");
		} else {
			CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx,
			    DKK_LIMIT_DNS_BYTES, limits[i]), DKK_OK);
			expect1(fx.ctx, m, "pass/ok", NULL);
		}
		free(m);
		unit_fx_free(&fx);
	}
}

/* Bytes after l= are canonicalised (to count them) but never hashed:
 * with l=10 and 4 MiB more, the sink has taken exactly 10 octets. */
static void
limit_body_after_l_not_hashed(void)
{
	size_t big = 4u << 20, idx, i;
	struct body *b = malloc(sizeof(*b));
	char *data = malloc(big);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (i = 0; i < big; i++)
		data[i] = (i % 64) == 63 ? '\n' : 'a' + (char)(i % 26);
	body_init(b, DKK_CANON_RELAXED);
	CU_ASSERT_EQUAL_FATAL(body_add_sink(b, HASH_SHA256, 10, &idx), DKK_OK);
	body_feed(b, data, big);
	body_finish(b);
	CU_ASSERT_EQUAL(b->sinks[idx].fed, 10);
	CU_ASSERT(b->total > big);
	body_clear(b);
	free(b);
	free(data);
}

/* End to end: a message signed with l= and 8 MiB appended passes. */
static void
limit_body_after_l_verifies(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct buf m;
	char *sm;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	o = unit_opts(fx.ed, "ed");
	o.body_length = 1;
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	buf_init(&m);
	buf_adds(&m, sm);
	for (i = 0; i < (8u << 20) / 64; i++)
		buf_adds(&m, "appended after l= and never hashed, only coun"
		    "ted: 0123456\r\n");
	CU_ASSERT_FALSE_FATAL(m.failed);
	expect1(fx.ctx, m.p, "pass/ok", NULL);
	buf_clear(&m);
	free(sm);
	unit_fx_free(&fx);
}

/* dkk_ctx_error() is never empty after a failed context call, and is
 * emptied by the next call that succeeds. */
static void
limit_errors_are_said(void)
{
	struct dkk_sign_opts o;
	dkk_signer *s = NULL;
	dkk_key *k = NULL;
	dkk_ctx *ctx;

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_STRING_EQUAL(dkk_ctx_error(ctx), "");
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(ctx, DKK_LIMIT_RSA_BITS, 10),
	    DKK_EINVAL);
	CU_ASSERT(strlen(dkk_ctx_error(ctx)) > 0);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(ctx, DKK_LIMIT_RSA_BITS, 4096),
	    DKK_OK);
	CU_ASSERT_STRING_EQUAL(dkk_ctx_error(ctx), "");
	CU_ASSERT_EQUAL(dkk_ctx_use_dns(ctx, "not an address", NULL, 0),
	    DKK_EDNS);
	CU_ASSERT(strlen(dkk_ctx_error(ctx)) > 0);
	CU_ASSERT(dkk_ctx_load_key(ctx, "/nonexistent/key.pem", &k) != DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(dkk_ctx_error(ctx), "/nonexistent"));
	memset(&o, 0, sizeof(o));
	CU_ASSERT_EQUAL(dkk_signer_new(ctx, &o, &s), DKK_EINVAL);
	CU_ASSERT(strlen(dkk_ctx_error(ctx)) > 0);
	dkk_ctx_free(ctx);
}

static const struct unit_test limits_tests[] = {
	{ "limit_sig_bytes", limit_sig_bytes },
	{ "limit_sig_tags", limit_sig_tags },
	{ "limit_h_names", limit_h_names },
	{ "limit_dns_bytes", limit_dns_bytes },
	{ "limit_body_after_l_not_hashed", limit_body_after_l_not_hashed },
	{ "limit_body_after_l_verifies", limit_body_after_l_verifies },
	{ "limit_errors_are_said", limit_errors_are_said },
	{ NULL, NULL }
};

void
suite_limits(void)
{
	unit_suite("limits", limits_tests);
}
