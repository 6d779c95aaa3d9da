/*
 * dmarc.c: the cost of DMARC (RFC 9989) on top of a 2 KB DKIM verify, and
 * the DNS queries one DMARC evaluation makes (issue 20, item 7).
 *
 *	bench-dmarc [--tiny] [--rounds N] [--out FILE]
 *
 * Cost: a 2 KB text message with one RSA-2048 relaxed/relaxed signature
 * of bench.example, verified from one zone file (the key and the DMARC
 * records), without and with DMARC (a passing MAIL FROM SPF result handed
 * in as a fact, as a host that checked SPF at MAIL does), rounds
 * interleaved, CPU time, the median reported.  The process stays on the
 * CPU it started on: moved between CPUs in the middle of a round, it
 * would time cold caches on one side of a ratio only.  The target: DMARC adds at
 * most 10% to the verify.  A second DMARC row has a From domain eleven
 * labels deep, whose policy is found by the tree walk.
 *
 * The context keeps answers between messages, so in the timed rows every
 * lookup after the first is answered from it: the rows give the CPU cost
 * of DMARC itself (parsing the From field and the record, the walk over
 * remembered answers, alignment), not the network's.
 *
 * Queries: the same verify with DMARC on a fresh context (nothing
 * remembered) whose resolver is this program's own, answering from the
 * same records in memory and counting every lookup, for From domains of
 * several depths, with and without a policy record.  RFC 9989 4.10 bounds
 * a tree walk at 8 queries: a _dmarc count above 8 in one evaluation fails
 * the run.  With BENCH_DMARC_TRACE set in the environment, each name
 * asked is written to standard error.
 *
 * --tiny runs every row once and fails (exit 1) when a verdict is not the
 * expected one or the bound is broken: it checks the harness, not speed.
 *
 * For a profiler (perf record, callgrind --toggle-collect=op_run):
 * BENCH_DMARC_PROFILE=OP[:N], OP one of verify, dmarc or deep (the three
 * timed rows), runs that row N times (default 20000) after the set-up,
 * prints its CPU time per message and exits, timing nothing else.
 */
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "dkimkit.h"

#define DOMAIN		"bench.example"
#define DEEP		"a.b.c.d.e.f.g.h.i." DOMAIN
#define DMARC_RECORD	"v=DMARC1; p=reject; sp=quarantine"
#define ROUND_SECONDS	0.25
#define WALK_BOUND	8	/* RFC 9989 4.10 */

/* The counting resolver's records: TXT only (DMARC and DKIM ask no
 * other type); every other name does not exist. */
struct counter {
	const char *names[2];
	char *data[2];
	unsigned queries;
	unsigned dmarc_queries;
};

struct bench {
	dkk_ctx *ctx;		/* zone file */
	dkk_ctx *cctx;		/* counting resolver */
	struct counter *counter;	/* owned by cctx */
	dkk_key *key;
	char *signed_msg;	/* From DOMAIN */
	char *signed_deep;	/* From DEEP */
	char *key_record;	/* its TXT data */
	bool tiny;
	int failures;
};

static void die(const char *what, int rc) __attribute__((noreturn));

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench-dmarc: %s: %s\n", what, dkk_strerror(rc));
	exit(2);
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		die("memory", DKK_ENOMEM);
	return d;
}

static int
count_query(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	struct counter *c = arg;
	struct dkk_dns_answer a;
	size_t i, len;

	memset(&a, 0, sizeof(a));
	c->queries++;
	if (getenv("BENCH_DMARC_TRACE") != NULL)
		fprintf(stderr, "query %s\n", name);
	if (strncmp(name, "_dmarc.", 7) == 0)
		c->dmarc_queries++;
	a.status = DKK_DNS_NXDOMAIN;
	for (i = 0; i < 2; i++)
		if (strcasecmp(name, c->names[i]) == 0) {
			len = strlen(c->data[i]);
			a.status = DKK_DNS_OK;
			a.count = 1;
			a.txt = (const char *const *)&c->data[i];
			a.len = &len;
			break;
		}
	a.ttl = 300;
	cb(cbarg, &a);
	return DKK_OK;
}

static void
count_release(void *arg)
{
	struct counter *c = arg;

	free(c->data[0]);
	free(c->data[1]);
	free(c);
}

/* A 2 KB text message from alice@from, CRLF. */
static char *
message(const char *from)
{
	static const char line[] = "the message signature of a domain key "
	    "and mail server header body hash\r\n";
	char head[512];
	size_t hl, ll = strlen(line), n, i;
	char *m;

	snprintf(head, sizeof(head), "From: Alice Example <alice@%s>\r\n"
	    "To: list@lists.example\r\n"
	    "Subject: benchmark message\r\n"
	    "Date: Mon, 7 Dec 2026 12:00:00 +0000\r\n"
	    "Message-ID: <dmarc.1@" DOMAIN ">\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n", from);
	hl = strlen(head);
	n = (2048 - hl) / ll;
	if ((m = malloc(hl + n * ll + 1)) == NULL)
		die("memory", DKK_ENOMEM);
	memcpy(m, head, hl);
	for (i = 0; i < n; i++)
		memcpy(m + hl + i * ll, line, ll);
	m[hl + n * ll] = '\0';
	return m;
}

/* The message from alice@from, with a DKIM signature of DOMAIN. */
static char *
signed_message(struct bench *b, const char *from)
{
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *m = message(from), *field = NULL, *out;
	int rc;

	memset(&o, 0, sizeof(o));
	o.key = b->key;
	o.domain = DOMAIN;
	o.selector = "rsa";
	o.header_canon = o.body_canon = DKK_CANON_RELAXED;
	if ((rc = dkk_signer_new(b->ctx, &o, &s)) != DKK_OK ||
	    (rc = dkk_signer_update(s, m, strlen(m))) != DKK_OK ||
	    (rc = dkk_signer_final(s, 0, &field)) != DKK_OK)
		die("sign", rc);
	dkk_signer_free(s);
	if ((out = malloc(strlen(field) + 2 + strlen(m) + 1)) == NULL)
		die("memory", DKK_ENOMEM);
	sprintf(out, "%s\r\n%s", field, m);
	free(field);
	free(m);
	return out;
}

/* A fresh context on a counting resolver: the context keeps answers
 * between messages, so each evaluation is counted on one of its own. */
static void
counting_ctx(struct bench *b, const char *key)
{
	static const struct dkk_resolver ops = { count_query, NULL, NULL,
	    NULL, count_release, NULL };
	int rc;

	dkk_ctx_free(b->cctx);
	if ((rc = dkk_ctx_new(&b->cctx)) != DKK_OK)
		die("context", rc);
	if ((b->counter = calloc(1, sizeof(*b->counter))) == NULL)
		die("memory", DKK_ENOMEM);
	b->counter->names[0] = "rsa._domainkey." DOMAIN;
	b->counter->data[0] = xstrdup(key);
	b->counter->names[1] = "_dmarc." DOMAIN;
	b->counter->data[1] = xstrdup(DMARC_RECORD);
	if ((rc = dkk_ctx_set_resolver(b->cctx, &ops, b->counter)) != DKK_OK)
		die("counting resolver", rc);
}

static void
setup(struct bench *b)
{
	const char *tmp = getenv("TMPDIR");
	char dir[128], path[192], *pem = NULL;
	char *p = NULL, key[1024];
	FILE *z;
	int rc;

	if ((rc = dkk_ctx_new(&b->ctx)) != DKK_OK ||
	    (rc = dkk_key_generate(b->ctx, "rsa", 2048, &pem, &b->key)) !=
	    DKK_OK || (rc = dkk_key_public(b->key, &p)) != DKK_OK)
		die("key", rc);
	free(pem);
	snprintf(key, sizeof(key), "v=DKIM1; p=%s", p);
	free(p);
	snprintf(dir, sizeof(dir), "%s/bench-dmarc.XXXXXX",
	    tmp != NULL && strlen(tmp) < 80 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die(dir, DKK_EIO);
	snprintf(path, sizeof(path), "%s/zone", dir);
	if ((z = fopen(path, "w")) == NULL)
		die(path, DKK_EIO);
	/* a zone file's strings are at most 255 characters */
	fprintf(z, "rsa._domainkey." DOMAIN ". 300 IN TXT (\"%.200s\" \"%s\")\n"
	    "_dmarc." DOMAIN ". 300 IN TXT \"" DMARC_RECORD "\"\n", key,
	    strlen(key) > 200 ? key + 200 : "");
	if (fclose(z) != 0 || (rc = dkk_ctx_use_zone(b->ctx, path)) != DKK_OK)
		die(path, rc != DKK_OK ? rc : DKK_EIO);
	unlink(path);
	rmdir(dir);
	b->key_record = xstrdup(key);
	b->signed_msg = signed_message(b, DOMAIN);
	b->signed_deep = signed_message(b, DEEP);
}

/* Verify m on ctx, DMARC on or off; the DKIM verdict must be pass, and
 * with DMARC *d is filled and the policy domain copied to pd (the
 * result's strings die with the verifier). */
static bool
verify(dkk_ctx *ctx, const char *m, bool dmarc, struct dkk_dmarc_result *d,
    char *pd, size_t pdlen)
{
	struct dkk_verify_opts o;
	dkk_verifier *v;
	bool ok;
	int rc;

	memset(&o, 0, sizeof(o));
	o.dmarc = dmarc;
	o.spf.result = DKK_SPF_PASS;
	o.spf.scope = DKK_SPF_MAILFROM;
	o.spf.domain = DOMAIN;
	if ((rc = dkk_verifier_new(ctx, &o, &v)) != DKK_OK ||
	    (rc = dkk_verifier_update(v, m, strlen(m))) != DKK_OK ||
	    (rc = dkk_verifier_wait(v)) != DKK_OK)
		die("verify", rc);
	ok = dkk_verifier_verdict(v) == DKK_PASS;
	if (dmarc)
		ok = ok && dkk_verifier_dmarc(v, d) == DKK_OK;
	if (ok && dmarc && pd != NULL)
		snprintf(pd, pdlen, "%s", d->policy_domain != NULL ?
		    d->policy_domain : "-");
	dkk_verifier_free(v);
	return ok;
}

enum op { VERIFY, VERIFY_DMARC, VERIFY_DMARC_DEEP, NOPS };

static const char *const op_names[NOPS] = {
	"verify 2 KB, one DKIM signature, DMARC off",
	("verify 2 KB and DMARC, From " DOMAIN),
	"verify 2 KB and DMARC, From 11 labels deep (tree walk)",
};

/* One operation; false when a verdict is not pass. */
static bool
op_run(struct bench *b, enum op op)
{
	struct dkk_dmarc_result d;

	switch (op) {
	case VERIFY:
		return verify(b->ctx, b->signed_msg, false, NULL, NULL, 0);
	case VERIFY_DMARC:
		return verify(b->ctx, b->signed_msg, true, &d, NULL, 0) &&
		    d.result == DKK_DMARC_PASS;
	default:
		return verify(b->ctx, b->signed_deep, true, &d, NULL, 0) &&
		    d.result == DKK_DMARC_PASS;
	}
}

/* Seconds per operation over reps runs. */
static double
op_time(struct bench *b, enum op op, long reps)
{
	double t0 = bench_cpu_seconds(), t;
	long i;

	for (i = 0; i < reps; i++)
		if (!op_run(b, op)) {
			fprintf(stderr, "bench-dmarc: %s: verdict not pass\n",
			    op_names[op]);
			b->failures++;
			break;
		}
	t = bench_cpu_seconds() - t0;
	return (t > 0 ? t : 1e-9) / (double)reps;
}

/* The From domains of the query count, and the DMARC result each must
 * have (the signature is DOMAIN's, aligned in relaxed mode with every
 * name under it). */
static const struct depth {
	const char *from;
	enum dkk_dmarc want;
} depths[] = {
	{ DOMAIN, DKK_DMARC_PASS },
	{ "mail." DOMAIN, DKK_DMARC_PASS },
	{ "x.y.mail." DOMAIN, DKK_DMARC_PASS },
	{ DEEP, DKK_DMARC_PASS },
	{ "no-policy.example", DKK_DMARC_NONE },
	{ "a.b.c.d.e.f.g.h.i.j.no-policy.example", DKK_DMARC_NONE },
};

/* One line of the query table per From domain; the largest _dmarc count. */
static unsigned
queries(struct bench *b, FILE *f)
{
	struct dkk_dmarc_result d;
	unsigned max = 0, labels;
	size_t i;
	const char *p;
	char *m, pd[256];

	fprintf(f, "\n| From domain | labels | DNS queries | _dmarc queries "
	    "| DMARC | policy domain |\n|---|---:|---:|---:|---|---|\n");
	for (i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		m = signed_message(b, depths[i].from);
		counting_ctx(b, b->key_record);
		memset(&d, 0, sizeof(d));
		snprintf(pd, sizeof(pd), "-");
		if (!verify(b->cctx, m, true, &d, pd, sizeof(pd)) ||
		    d.result != depths[i].want) {
			fprintf(stderr, "bench-dmarc: From %s: DMARC %s\n",
			    depths[i].from, dkk_dmarc_result_name(d.result));
			b->failures++;
		}
		for (labels = 1, p = depths[i].from; *p != '\0'; p++)
			labels += *p == '.';
		fprintf(f, "| %s | %u | %u | %u | %s | %s |\n", depths[i].from,
		    labels, b->counter->queries, b->counter->dmarc_queries,
		    dkk_dmarc_result_name(d.result), pd);
		if (b->counter->dmarc_queries > max)
			max = b->counter->dmarc_queries;
		free(m);
	}
	return max;
}

/* Stay on the CPU the run started on (best effort: a failure leaves
 * the scheduler free, as before). */
static void
pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

/* BENCH_DMARC_PROFILE=OP[:N]: one row alone, for a profiler. */
static int
profile(struct bench *b, const char *spec)
{
	static const char *const ops[NOPS] = { "verify", "dmarc", "deep" };
	const char *colon = strchr(spec, ':');
	size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	long reps = colon != NULL ? atol(colon + 1) : 20000;
	int k;

	for (k = 0; k < NOPS; k++)
		if (strlen(ops[k]) == n && strncmp(spec, ops[k], n) == 0)
			break;
	if (k == NOPS || reps <= 0) {
		fprintf(stderr, "bench-dmarc: BENCH_DMARC_PROFILE=%s: not "
		    "verify, dmarc or deep[:N]\n", spec);
		return 2;
	}
	op_run(b, (enum op)k);	/* the first fills the context's cache */
	printf("%s: %.3f us per message, %ld messages\n", op_names[k],
	    op_time(b, (enum op)k, reps) * 1e6, reps);
	return b->failures > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	double t[NOPS][BENCH_MAX_ROUNDS], med[NOPS], ratio[NOPS][BENCH_MAX_ROUNDS];
	long reps[NOPS];
	int rounds, i, k;
	unsigned max;
	struct bench_args a;
	FILE *f = stdout;

	memset(&b, 0, sizeof(b));
	if (bench_args(argc, argv, "bench-dmarc", &a) != 0)
		return 2;
	b.tiny = a.tiny;
	rounds = a.rounds;
	pin_cpu();
	setup(&b);
	if (getenv("BENCH_DMARC_PROFILE") != NULL)
		return profile(&b, getenv("BENCH_DMARC_PROFILE"));
	for (k = 0; k < NOPS; k++)
		reps[k] = b.tiny ? 1 : (long)(ROUND_SECONDS /
		    op_time(&b, (enum op)k, 1)) + 1;
	for (i = 0; i < rounds; i++)
		for (k = 0; k < NOPS; k++)
			t[k][i] = op_time(&b, (enum op)k, reps[k]);
	/* The cost of DMARC: within each round, against the verify timed
	 * just before it (the load of a shared machine drifts between
	 * rounds more than within one), then the median of the rounds. */
	for (k = 0; k < NOPS; k++) {
		for (i = 0; i < rounds; i++)
			ratio[k][i] = t[k][i] / t[VERIFY][i];
		bench_median(ratio[k], rounds);	/* sorted: [rounds / 2] */
	}
	for (k = 0; k < NOPS; k++)
		med[k] = bench_median(t[k], rounds);
	if ((f = bench_open(&a)) == NULL)
		return 2;
	fprintf(f, "| operation | unit | dkimkit |\n|---|---|---:|\n");
	for (k = 0; k < NOPS; k++)
		fprintf(f, "| %s | msg/s | %.0f |\n", op_names[k],
		    1.0 / med[k]);
	fprintf(f, "\n| target | verify | with DMARC | ratio (at most 1.10; "
	    "median of the rounds' ratios) |\n|---|---:|---:|---:|\n");
	for (k = VERIFY_DMARC; k < NOPS; k++)
		fprintf(f, "| DMARC adds at most 10%%: %s | %.3f ms | %.3f ms | "
		    "%.3f |\n", k == VERIFY_DMARC ? "From " DOMAIN :
		    "From 11 labels deep", med[VERIFY] * 1e3, med[k] * 1e3,
		    ratio[k][rounds / 2]);
	max = queries(&b, f);
	fprintf(f, "\nlargest number of _dmarc queries in one evaluation: %u "
	    "(RFC 9989 bound per walk: %d)\n", max, WALK_BOUND);
	if (max > WALK_BOUND) {
		fprintf(stderr, "bench-dmarc: %u _dmarc queries in one "
		    "evaluation, above RFC 9989's %d\n", max, WALK_BOUND);
		b.failures++;
	}
	if (f != stdout)
		fclose(f);
	free(b.signed_msg);
	free(b.signed_deep);
	free(b.key_record);
	dkk_key_free(b.key);
	dkk_ctx_free(b.cctx);
	dkk_ctx_free(b.ctx);
	return b.failures > 0 ? 1 : 0;
}
