/*
 * test_pool.c: filter-dkimkit's worker threads (plugins/opensmtpd/pool.c)
 * and the core call that lets a worker finish a signer,
 * dkk_signer_move(): every job comes back once, to the main thread,
 * with its work done; a moved signer signs as the one that stayed.
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "pool.h"

#define POOL_JOBS	40

struct sum_job {
	struct pool_job pj;
	unsigned n;
	unsigned long long sum;		/* 1 + ... + n, by a worker */
	int in_worker;			/* run outside the main thread */
	int had_ctx;
	int returned;			/* done calls */
};

static pthread_t main_thread;
static int pool_done_elsewhere;		/* a done call outside main */

static void
sum_run(struct pool_job *pj, dkk_ctx *ctx)
{
	struct sum_job *j = (struct sum_job *)pj;
	unsigned i;

	for (i = 1; i <= j->n; i++)
		j->sum += i;
	j->in_worker = !pthread_equal(pthread_self(), main_thread);
	j->had_ctx = ctx != NULL;
}

static void
sum_done(struct pool_job *pj)
{
	struct sum_job *j = (struct sum_job *)pj;

	if (!pthread_equal(pthread_self(), main_thread))
		pool_done_elsewhere = 1;
	j->returned++;
}

/* Below two workers there is no pool: the caller works inline. */
static void
pool_none_below_two(void)
{
	struct sum_job j = { .pj = { .run = sum_run, .done = sum_done } };
	char err[100];
	unsigned n;

	for (n = 0; n < 2; n++) {
		CU_ASSERT_EQUAL(pool_start(n, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(pool_size(), 0);
		CU_ASSERT_EQUAL(pool_fd(), -1);
		CU_ASSERT_EQUAL(pool_submit(&j.pj), -1);
	}
	CU_ASSERT_EQUAL(j.returned, 0);
}

/* Wait on the pool's descriptor, as the filter's loop does, until every
 * job is back (10 s at most). */
static void
pool_wait_all(void)
{
	struct pollfd p = { .fd = pool_fd(), .events = POLLIN };
	int rounds;

	for (rounds = 0; pool_busy() > 0 && rounds < 100; rounds++)
		if (poll(&p, 1, 100) > 0)
			pool_reap();
}

static void
pool_every_job_back_once(void)
{
	struct sum_job *jobs;
	char err[100];
	unsigned i;

	main_thread = pthread_self();
	pool_done_elsewhere = 0;
	jobs = calloc(POOL_JOBS, sizeof(*jobs));
	CU_ASSERT_PTR_NOT_NULL_FATAL(jobs);
	CU_ASSERT_EQUAL_FATAL(pool_start(2, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pool_size(), 2);
	CU_ASSERT(pool_fd() >= 0);
	for (i = 0; i < POOL_JOBS; i++) {
		jobs[i].pj.run = sum_run;
		jobs[i].pj.done = sum_done;
		jobs[i].n = 1000 * (i + 1);
		CU_ASSERT_EQUAL(pool_submit(&jobs[i].pj), 0);
	}
	pool_wait_all();
	CU_ASSERT_EQUAL(pool_busy(), 0);
	for (i = 0; i < POOL_JOBS; i++) {
		CU_ASSERT_EQUAL(jobs[i].returned, 1);
		CU_ASSERT_EQUAL(jobs[i].sum, (unsigned long long)jobs[i].n *
		    (jobs[i].n + 1) / 2);
		CU_ASSERT(jobs[i].in_worker);
		CU_ASSERT(jobs[i].had_ctx);
	}
	CU_ASSERT_FALSE(pool_done_elsewhere);
	pool_stop();
	CU_ASSERT_EQUAL(pool_size(), 0);
	free(jobs);
}

/* pool_stop() lets the queued jobs finish and hands them back. */
static void
pool_stop_drains(void)
{
	struct sum_job jobs[8];
	char err[100];
	unsigned i;

	main_thread = pthread_self();
	memset(jobs, 0, sizeof(jobs));
	CU_ASSERT_EQUAL_FATAL(pool_start(2, err, sizeof(err)), 0);
	for (i = 0; i < 8; i++) {
		jobs[i].pj.run = sum_run;
		jobs[i].pj.done = sum_done;
		jobs[i].n = 100000;
		CU_ASSERT_EQUAL(pool_submit(&jobs[i].pj), 0);
	}
	pool_stop();
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(jobs[i].returned, 1);
	CU_ASSERT_EQUAL(pool_busy(), 0);
}

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return 1700000000;
}

static const char msg[] = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";

/* One signer for msg, fed whole (header_end: 0 stops after the header
 * block's first field). */
static dkk_signer *
signer_for(dkk_ctx *ctx, const dkk_key *key, size_t len)
{
	struct dkk_sign_opts o = { .key = key, .domain = "example.com",
	    .selector = "s", .header_canon = DKK_CANON_RELAXED,
	    .body_canon = DKK_CANON_RELAXED };
	dkk_signer *s = NULL;

	if (dkk_signer_new(ctx, &o, &s) != DKK_OK ||
	    dkk_signer_update(s, msg, len) != DKK_OK) {
		dkk_signer_free(s);
		return NULL;
	}
	return s;
}

/* A signer moved to another context (same clock) makes the same field;
 * one whose header block has not ended cannot move yet. */
static void
signer_move_same_field(void)
{
	dkk_ctx *a = NULL, *b = NULL;
	dkk_key *key = NULL;
	dkk_signer *s1, *s2, *half;
	char *pem = NULL, *f1 = NULL, *f2 = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&a), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&b), DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_set_clock(a, fixed_clock, NULL), DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_set_clock(b, fixed_clock, NULL), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_key_generate(a, "rsa", 1024, &pem, &key),
	    DKK_OK);
	s1 = signer_for(a, key, strlen(msg));
	s2 = signer_for(a, key, strlen(msg));
	half = signer_for(a, key, 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(half);
	CU_ASSERT_EQUAL(dkk_signer_move(half, b), DKK_ESTATE);
	CU_ASSERT_EQUAL(dkk_signer_move(NULL, b), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_signer_move(s2, NULL), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_signer_move(s2, b), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_final(s1, 0, &f1), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_final(s2, 0, &f2), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f2);
	CU_ASSERT_STRING_EQUAL(f1, f2);
	free(f1);
	free(f2);
	free(pem);
	dkk_signer_free(s1);
	dkk_signer_free(s2);
	dkk_signer_free(half);
	dkk_ctx_free(b);
	dkk_ctx_free(a);
}

static const struct unit_test pool_tests[] = {
	{ "pool_none_below_two", pool_none_below_two },
	{ "pool_every_job_back_once", pool_every_job_back_once },
	{ "pool_stop_drains", pool_stop_drains },
	{ "signer_move_same_field", signer_move_same_field },
	{ NULL, NULL }
};

void
suite_pool(void)
{
	unit_suite("pool", pool_tests);
}
