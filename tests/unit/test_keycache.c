/*
 * test_keycache.c: the key cache: one query per name while it is fresh,
 * lookups in flight shared, TTL cap, LRU bound, TEMPFAIL not kept.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static const struct dkk_verify_opts with_adsp = { .adsp = 1 };

/* A resolver that answers from a table, counting queries; in async mode
 * answers wait until wait() or process(). */
struct fake {
	int queries;
	bool async;
	enum dkk_dns_status status;
	uint32_t ttl;
	dkk_dns_cb cb[8];
	void *cbarg[8];
	int held;
};

static void
fake_answer(struct fake *f, dkk_dns_cb cb, void *cbarg)
{
	static const char *const txt[] = { "dkim=unknown" };
	static const size_t len[] = { 12 };
	struct dkk_dns_answer a = { f->status, DKK_DNSSEC_UNKNOWN, f->ttl,
	    f->status == DKK_DNS_OK ? 1 : 0, txt, len };

	cb(cbarg, &a);
}

static int
fake_query(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	struct fake *f = arg;

	(void)name;
	f->queries++;
	if (!f->async) {
		fake_answer(f, cb, cbarg);
		return DKK_OK;
	}
	CU_ASSERT_FATAL(f->held < 8);
	f->cb[f->held] = cb;
	f->cbarg[f->held++] = cbarg;
	return DKK_OK;
}

static int
fake_process(void *arg)
{
	struct fake *f = arg;
	int i, n = f->held;

	f->held = 0;
	for (i = 0; i < n; i++)
		fake_answer(f, f->cb[i], f->cbarg[i]);
	return DKK_OK;
}

static dkk_ctx *
fake_ctx(struct fake *f)
{
	static const struct dkk_resolver ops = {
		.query_txt = fake_query,
		.wait = fake_process,
		.process = fake_process,
	};
	dkk_ctx *ctx;

	CU_ASSERT_FATAL(dkk_ctx_new(&ctx) == DKK_OK);
	CU_ASSERT_FATAL(dkk_ctx_set_resolver(ctx, &ops, f) == DKK_OK);
	return ctx;
}

static const char msg[] = "From: a@example.test\r\n\r\nbody\r\n";

/* Verify msg with ADSP on: two lookups (record, domain) per message. */
static void
run(dkk_ctx *ctx)
{
	dkk_verifier *v;

	CU_ASSERT_FATAL(dkk_verifier_new(ctx, &with_adsp, &v) == DKK_OK);
	CU_ASSERT(dkk_verifier_update(v, msg, sizeof(msg) - 1) == DKK_OK);
	CU_ASSERT(dkk_verifier_wait(v) == DKK_OK);
	dkk_verifier_free(v);
}

static void
keycache_fresh_answer_reused(void)
{
	struct fake f = { .status = DKK_DNS_OK, .ttl = 300 };
	dkk_ctx *ctx = fake_ctx(&f);

	run(ctx);
	CU_ASSERT_EQUAL(f.queries, 2);
	run(ctx);
	CU_ASSERT_EQUAL(f.queries, 2);
	dkk_ctx_free(ctx);
}

static void
keycache_tempfail_not_kept(void)
{
	struct fake f = { .status = DKK_DNS_TEMPFAIL, .ttl = 300 };
	dkk_ctx *ctx = fake_ctx(&f);

	run(ctx);
	run(ctx);
	CU_ASSERT_EQUAL(f.queries, 4);
	dkk_ctx_free(ctx);
}

static void
keycache_ttl_cap_expires(void)
{
	struct fake f = { .status = DKK_DNS_OK, .ttl = 86400 };
	dkk_ctx *ctx = fake_ctx(&f);

	CU_ASSERT(dkk_ctx_set_limit(ctx, DKK_LIMIT_CACHE_TTL, 1) == DKK_OK);
	run(ctx);
	sleep(2);
	run(ctx);
	CU_ASSERT_EQUAL(f.queries, 4);
	dkk_ctx_free(ctx);
}

static void
keycache_zero_ttl_not_reused_later(void)
{
	struct fake f = { .status = DKK_DNS_OK, .ttl = 0 };
	dkk_ctx *ctx = fake_ctx(&f);

	run(ctx);
	sleep(1);
	run(ctx);
	CU_ASSERT_EQUAL(f.queries, 4);
	dkk_ctx_free(ctx);
}

static void
keycache_lru_bound(void)
{
	struct fake f = { .status = DKK_DNS_OK, .ttl = 300 };
	dkk_ctx *ctx = fake_ctx(&f);
	const char *froms[] = { "a@one.test", "a@two.test", "a@one.test" };
	char m[128];
	dkk_verifier *v;
	size_t i;

	CU_ASSERT(dkk_ctx_set_limit(ctx, DKK_LIMIT_CACHE_ENTRIES, 2) == DKK_OK);
	for (i = 0; i < 3; i++) {
		snprintf(m, sizeof(m), "From: %s\r\n\r\nx\r\n", froms[i]);
		CU_ASSERT_FATAL(dkk_verifier_new(ctx, &with_adsp, &v) == DKK_OK);
		CU_ASSERT(dkk_verifier_update(v, m, strlen(m)) == DKK_OK);
		CU_ASSERT(dkk_verifier_wait(v) == DKK_OK);
		dkk_verifier_free(v);
	}
	/* one.test's two answers were evicted by two.test's: asked again */
	CU_ASSERT_EQUAL(f.queries, 6);
	dkk_ctx_free(ctx);
}

static void
keycache_inflight_shared(void)
{
	struct fake f = { .status = DKK_DNS_OK, .ttl = 300, .async = true };
	dkk_ctx *ctx = fake_ctx(&f);
	dkk_verifier *v1, *v2;

	CU_ASSERT_FATAL(dkk_verifier_new(ctx, &with_adsp, &v1) == DKK_OK);
	CU_ASSERT_FATAL(dkk_verifier_new(ctx, &with_adsp, &v2) == DKK_OK);
	CU_ASSERT(dkk_verifier_update(v1, msg, sizeof(msg) - 1) == DKK_OK);
	CU_ASSERT(dkk_verifier_update(v2, msg, sizeof(msg) - 1) == DKK_OK);
	CU_ASSERT_EQUAL(f.queries, 2);
	CU_ASSERT_EQUAL(dkk_verifier_final(v1), DKK_EAGAIN);
	CU_ASSERT_EQUAL(dkk_verifier_final(v2), DKK_EAGAIN);
	CU_ASSERT(dkk_ctx_process(ctx) == DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v1), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v2), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_adsp(v1, NULL), DKK_ADSP_UNKNOWN);
	CU_ASSERT_EQUAL(dkk_verifier_adsp(v2, NULL), DKK_ADSP_UNKNOWN);
	dkk_verifier_free(v1);
	dkk_verifier_free(v2);
	dkk_ctx_free(ctx);
}

static void
keycache_verifier_freed_while_waiting(void)
{
	struct fake f = { .status = DKK_DNS_OK, .ttl = 300, .async = true };
	dkk_ctx *ctx = fake_ctx(&f);
	dkk_verifier *v;

	CU_ASSERT_FATAL(dkk_verifier_new(ctx, &with_adsp, &v) == DKK_OK);
	CU_ASSERT(dkk_verifier_update(v, msg, sizeof(msg) - 1) == DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_EAGAIN);
	dkk_verifier_free(v);		/* the answers arrive after this */
	CU_ASSERT(dkk_ctx_process(ctx) == DKK_OK);
	run(ctx);			/* and were kept for the next one */
	CU_ASSERT_EQUAL(f.queries, 2);
	dkk_ctx_free(ctx);
}

static const struct unit_test tests[] = {
	{ "keycache_fresh_answer_reused", keycache_fresh_answer_reused },
	{ "keycache_tempfail_not_kept", keycache_tempfail_not_kept },
	{ "keycache_ttl_cap_expires", keycache_ttl_cap_expires },
	{ "keycache_zero_ttl_not_reused_later",
	    keycache_zero_ttl_not_reused_later },
	{ "keycache_lru_bound", keycache_lru_bound },
	{ "keycache_inflight_shared", keycache_inflight_shared },
	{ "keycache_verifier_freed_while_waiting",
	    keycache_verifier_freed_while_waiting },
	{ NULL, NULL }
};

void
suite_keycache(void)
{
	unit_suite("keycache", tests);
}
