/*
 * store.c: the cost of recording a message in the observation store
 * (issue 23, item 7): a 2 KB verify, without and with its row written to
 * a SQLite store, in the same run.
 *
 *	bench-store [--tiny] [--rounds N] [--out FILE]
 *
 * The message: 2 KB of text with one RSA-2048 relaxed/relaxed signature,
 * its key from a zone file.  "With the row": the same verify, then
 * dkst_row_from_verifier() and dkst_put(), as a host does.  The writer
 * thread does the SQLite work; a timed round ends only when the writer
 * has committed every row of it, and the time is the process's CPU time
 * (all threads), so the row's whole cost is counted, not only the
 * queueing the caller sees.  Rounds interleaved, the median reported.
 * The target: the row adds at most 5% to the verify.  A fifth row builds
 * the row and frees it without queueing it.  The calling thread's own
 * CPU time is measured too (what an MTA's thread pays; the writer runs
 * beside it), and the row alone, without the verify around it, built
 * and queued in a loop: the caller's part and all threads' per row,
 * measured directly rather than as the difference of two noisy verify
 * times.  A round that drops
 * or loses a row fails the run (it would have been cheaper than true).
 *
 * --tiny runs every row once and checks the verdict and that the row
 * reached the store: it checks the harness, not speed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "dkimkit.h"
#include "store.h"

#define DOMAIN		"bench.example"
#define ROUND_SECONDS	0.25

struct bench {
	dkk_ctx *ctx;
	dkk_key *key;
	char *msg;
	char dir[128];
	char db[192];
	dkst *st;
	bool tiny;
	int failures;
};

static void die(const char *what, const char *why) __attribute__((noreturn));

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, why);
	exit(2);
}

/* A 2 KB text message from DOMAIN, CRLF, signed by it. */
static char *
signed_message(struct bench *b)
{
	static const char line[] = "the message signature of a domain key "
	    "and mail server header body hash\r\n";
	static const char head[] = "From: Alice Example <alice@" DOMAIN ">\r\n"
	    "To: list@lists.example\r\nSubject: benchmark message\r\n"
	    "Date: Mon, 7 Dec 2026 12:00:00 +0000\r\n"
	    "Message-ID: <store.1@" DOMAIN ">\r\n\r\n";
	struct dkk_sign_opts o;
	size_t hl = strlen(head), ll = strlen(line), n = (2048 - hl) / ll, i;
	char *m = malloc(hl + n * ll + 1), *field = NULL, *out;
	dkk_signer *s;
	int rc;

	if (m == NULL)
		die("memory", "out of memory");
	memcpy(m, head, hl);
	for (i = 0; i < n; i++)
		memcpy(m + hl + i * ll, line, ll);
	m[hl + n * ll] = '\0';
	memset(&o, 0, sizeof(o));
	o.key = b->key;
	o.domain = DOMAIN;
	o.selector = "rsa";
	o.header_canon = o.body_canon = DKK_CANON_RELAXED;
	if ((rc = dkk_signer_new(b->ctx, &o, &s)) != DKK_OK ||
	    (rc = dkk_signer_update(s, m, strlen(m))) != DKK_OK ||
	    (rc = dkk_signer_final(s, 0, &field)) != DKK_OK)
		die("sign", dkk_strerror(rc));
	dkk_signer_free(s);
	if ((out = malloc(strlen(field) + 2 + strlen(m) + 1)) == NULL)
		die("memory", "out of memory");
	sprintf(out, "%s\r\n%s", field, m);
	free(field);
	free(m);
	return out;
}

static void
store_log(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "bench-store: %s\n", line);
}

static void
setup(struct bench *b)
{
	const char *tmp = getenv("TMPDIR");
	struct dkst_opts so = { .queue_max = 1 << 20, .log = store_log };
	char path[192], *pem = NULL, *p = NULL, key[1024], err[300];
	FILE *z;
	int rc;

	if ((rc = dkk_ctx_new(&b->ctx)) != DKK_OK ||
	    (rc = dkk_key_generate(b->ctx, "rsa", 2048, &pem, &b->key)) !=
	    DKK_OK || (rc = dkk_key_public(b->key, &p)) != DKK_OK)
		die("key", dkk_strerror(rc));
	free(pem);
	snprintf(key, sizeof(key), "v=DKIM1; p=%s", p);
	free(p);
	snprintf(b->dir, sizeof(b->dir), "%s/bench-store.XXXXXX",
	    tmp != NULL && strlen(tmp) < 80 ? tmp : "/tmp");
	if (mkdtemp(b->dir) == NULL)
		die(b->dir, "cannot make it");
	snprintf(path, sizeof(path), "%s/zone", b->dir);
	if ((z = fopen(path, "w")) == NULL)
		die(path, "cannot write it");
	fprintf(z, "rsa._domainkey." DOMAIN ". 300 IN TXT (\"%.200s\" \"%s\")\n",
	    key, strlen(key) > 200 ? key + 200 : "");
	if (fclose(z) != 0 || (rc = dkk_ctx_use_zone(b->ctx, path)) != DKK_OK)
		die(path, dkk_strerror(rc));
	unlink(path);
	b->msg = signed_message(b);
	snprintf(b->db, sizeof(b->db), "%s/store.db", b->dir);
	if (dkst_open(b->db, &so, &b->st, err, sizeof(err)) != 0)
		die("store", err);
}

static void
teardown(struct bench *b)
{
	char p[220];

	dkst_close(b->st, NULL);
	unlink(b->db);
	snprintf(p, sizeof(p), "%s-wal", b->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", b->db);
	unlink(p);
	rmdir(b->dir);
	free(b->msg);
	dkk_key_free(b->key);
	dkk_ctx_free(b->ctx);
}

enum op { VERIFY, VERIFY_ROW, VERIFY_EXPLAIN, VERIFY_EXPLAIN_ROW,
	VERIFY_BUILD, NOPS };

static const char *const op_names[NOPS] = {
	"verify 2 KB, one DKIM signature",
	"verify 2 KB and record its row (SQLite)",
	"verify 2 KB with failure classes (explain on)",
	"verify 2 KB with failure classes and its row (verify --store)",
	"verify 2 KB and build its row, not queued (the caller's part)",
};

/* One verify (explaining failures with explain), and its row queued with
 * row, or built and freed with build; false when not a pass. */
static bool
op_run(struct bench *b, bool explain, bool row, bool build)
{
	struct dkk_verify_opts o;
	struct dkst_facts f = { .seen = 1800000000, .client_ip = "192.0.2.1",
	    .mail_from = "alice@" DOMAIN };
	dkk_verifier *v;
	bool ok;
	int rc;

	memset(&o, 0, sizeof(o));
	o.explain = explain;
	if ((rc = dkk_verifier_new(b->ctx, &o, &v)) != DKK_OK ||
	    (rc = dkk_verifier_update(v, b->msg, strlen(b->msg))) != DKK_OK ||
	    (rc = dkk_verifier_wait(v)) != DKK_OK)
		die("verify", dkk_strerror(rc));
	ok = dkk_verifier_verdict(v) == DKK_PASS;
	if (row)
		dkst_put(b->st, dkst_row_from_verifier(v, &f));
	if (build)
		dkst_row_free(dkst_row_from_verifier(v, &f));
	dkk_verifier_free(v);
	return ok;
}

/* Until the writer has handled every row queued so far; false when one
 * was dropped or lost. */
static bool
drain(struct bench *b)
{
	struct dkst_counts c;

	for (;;) {
		dkst_counts(b->st, &c);
		if (c.written + c.dropped + c.lost >= c.put)
			return c.dropped == 0 && c.lost == 0;
		usleep(1000);
	}
}

/* The calling thread's CPU seconds: what an MTA's own thread pays. */
static double
thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds per operation over reps runs: the process's (the
 * writer's included) as the result, the caller's alone in *caller (up
 * to the last row queued, before the wait for the writer). */
static double
op_time(struct bench *b, enum op op, long reps, double *caller)
{
	double t0 = bench_cpu_seconds(), c0 = thread_cpu_seconds(), t;
	long i;

	for (i = 0; i < reps; i++)
		if (!op_run(b, op == VERIFY_EXPLAIN || op == VERIFY_EXPLAIN_ROW,
		    op == VERIFY_ROW || op == VERIFY_EXPLAIN_ROW,
		    op == VERIFY_BUILD)) {
			fprintf(stderr, "bench-store: %s: verdict not pass\n",
			    op_names[op]);
			b->failures++;
			break;
		}
	t = thread_cpu_seconds() - c0;
	*caller = (t > 0 ? t : 1e-9) / (double)reps;
	if ((op == VERIFY_ROW || op == VERIFY_EXPLAIN_ROW) && !drain(b)) {
		fprintf(stderr, "bench-store: rows dropped or lost\n");
		b->failures++;
	}
	t = bench_cpu_seconds() - t0;
	return (t > 0 ? t : 1e-9) / (double)reps;
}

/* The row alone, without the verify around it: one verified message's
 * row built and queued reps times; the caller's CPU per row in *caller,
 * all threads' (the writer's commit included) per row returned.  Small
 * costs measured directly, not as the difference of two large noisy
 * ones. */
static double
row_alone(struct bench *b, long reps, double *caller)
{
	struct dkk_verify_opts o;
	struct dkst_facts f = { .seen = 1800000000, .client_ip = "192.0.2.1",
	    .mail_from = "alice@" DOMAIN };
	dkk_verifier *v;
	double t0, c0, t;
	long i;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = dkk_verifier_new(b->ctx, &o, &v)) != DKK_OK ||
	    (rc = dkk_verifier_update(v, b->msg, strlen(b->msg))) != DKK_OK ||
	    (rc = dkk_verifier_wait(v)) != DKK_OK)
		die("verify", dkk_strerror(rc));
	t0 = bench_cpu_seconds();
	c0 = thread_cpu_seconds();
	for (i = 0; i < reps; i++)
		dkst_put(b->st, dkst_row_from_verifier(v, &f));
	t = thread_cpu_seconds() - c0;
	*caller = (t > 0 ? t : 1e-9) / (double)reps;
	if (!drain(b)) {
		fprintf(stderr, "bench-store: rows dropped or lost\n");
		b->failures++;
	}
	t = bench_cpu_seconds() - t0;
	dkk_verifier_free(v);
	return (t > 0 ? t : 1e-9) / (double)reps;
}

static void
report(FILE *f, double med[NOPS], double cmed[NOPS], double rmed[2],
    uint64_t written)
{
	int k;

	fprintf(f, "| operation | unit | dkimkit |\n|---|---|---:|\n");
	for (k = 0; k < NOPS; k++)
		fprintf(f, "| %s | msg/s | %.0f |\n", op_names[k],
		    1.0 / med[k]);
	fprintf(f, "\n| target | verify | with the row | ratio (at most "
	    "1.05) |\n|---|---:|---:|---:|\n| a row costs at most 5%% of a "
	    "2 KB verify (SQLite) | %.3f ms | %.3f ms | %.3f |\n",
	    med[VERIFY] * 1e3, med[VERIFY_ROW] * 1e3,
	    med[VERIFY_ROW] / med[VERIFY]);
	fprintf(f, "| the same with failure classes (explain on in both) | "
	    "%.3f ms | %.3f ms | %.3f |\n", med[VERIFY_EXPLAIN] * 1e3,
	    med[VERIFY_EXPLAIN_ROW] * 1e3,
	    med[VERIFY_EXPLAIN_ROW] / med[VERIFY_EXPLAIN]);
	fprintf(f, "| the caller's thread alone (what the MTA waits for) | "
	    "%.3f ms | %.3f ms | %.3f |\n", cmed[VERIFY] * 1e3,
	    cmed[VERIFY_ROW] * 1e3, cmed[VERIFY_ROW] / cmed[VERIFY]);
	fprintf(f, "| the caller's thread alone, explain on in both | "
	    "%.3f ms | %.3f ms | %.3f |\n", cmed[VERIFY_EXPLAIN] * 1e3,
	    cmed[VERIFY_EXPLAIN_ROW] * 1e3,
	    cmed[VERIFY_EXPLAIN_ROW] / cmed[VERIFY_EXPLAIN]);
	fprintf(f, "| (not a target) building the row, without the store | "
	    "%.3f ms | %.3f ms | %.3f |\n", med[VERIFY] * 1e3,
	    med[VERIFY_BUILD] * 1e3, med[VERIFY_BUILD] / med[VERIFY]);
	fprintf(f, "| (not a target) explain's own cost | %.3f ms | %.3f ms | "
	    "%.3f |\n", med[VERIFY] * 1e3, med[VERIFY_EXPLAIN] * 1e3,
	    med[VERIFY_EXPLAIN] / med[VERIFY]);
	fprintf(f, "\n| a row alone (no verify around it) | per row | "
	    "share of a 2 KB verify |\n|---|---:|---:|\n"
	    "| the caller's thread: build and queue | %.2f us | %.3f |\n"
	    "| all threads: build, queue, write, commit | %.2f us | %.3f |\n",
	    rmed[0] * 1e6, rmed[0] / med[VERIFY], rmed[1] * 1e6,
	    rmed[1] / med[VERIFY]);
	fprintf(f, "\nrows written: %llu\n", (unsigned long long)written);
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct dkst_counts c;
	double t[NOPS][BENCH_MAX_ROUNDS], med[NOPS];
	double ct[NOPS][BENCH_MAX_ROUNDS], cmed[NOPS], unused;
	double rt[2][BENCH_MAX_ROUNDS], rmed[2];
	long reps[NOPS];
	int rounds, i, k;
	struct bench_args a;
	FILE *f = stdout;

	memset(&b, 0, sizeof(b));
	if (bench_args(argc, argv, "bench-store", &a) != 0)
		return 2;
	b.tiny = a.tiny;
	rounds = a.rounds;
	setup(&b);
	/* The same count for both, from the verify alone: a round with the
	 * rows then holds the batches a busy host would write. */
	reps[0] = b.tiny ? 1 :
	    (long)(ROUND_SECONDS / op_time(&b, VERIFY, 200, &unused)) + 1;
	for (k = 1; k < NOPS; k++)
		reps[k] = reps[0];
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < NOPS; k++)
			t[k][i] = op_time(&b, (enum op)k, reps[k], &ct[k][i]);
		rt[1][i] = row_alone(&b, reps[0], &rt[0][i]);
	}
	rmed[0] = bench_median(rt[0], rounds);
	rmed[1] = bench_median(rt[1], rounds);
	for (k = 0; k < NOPS; k++) {
		med[k] = bench_median(t[k], rounds);
		cmed[k] = bench_median(ct[k], rounds);
	}
	dkst_counts(b.st, &c);
	if (c.written != c.put || c.written == 0) {
		fprintf(stderr, "bench-store: %llu rows put, %llu written\n",
		    (unsigned long long)c.put, (unsigned long long)c.written);
		b.failures++;
	}
	if ((f = bench_open(&a)) == NULL)
		return 2;
	report(f, med, cmed, rmed, c.written);
	if (f != stdout)
		fclose(f);
	teardown(&b);
	return b.failures > 0 ? 1 : 0;
}
