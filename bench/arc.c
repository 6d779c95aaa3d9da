/*
 * arc.c: the cost of ARC (RFC 8617) against the DKIM work it implies
 * (issue 21, item 8), on a 2 KB message with RSA-2048 keys.
 *
 *	bench-arc [--tiny] [--rounds N] [--out FILE]
 *
 * A three-set chain implies seven signature checks: the DKIM signature,
 * the three ARC-Message-Signatures (the latest, and the older ones for
 * oldest-pass) and the three ARC-Seals.  Verifying it with ARC on should
 * cost at most seven DKIM verifications of the same message, plus 20%.
 * Sealing the two-set chain (adding the third set) should cost at most
 * one verification of it with ARC on plus the two signatures of the set
 * (AMS and AS, each a DKIM signing of the message), plus 20%.  Every
 * row is timed in CPU time, rounds interleaved, the median reported.
 *
 * --tiny runs every row once and fails (exit 1) when a verdict is not
 * what it should be: it checks the harness, not the speed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "dkimkit.h"

#define DOMAIN		"bench.example"
#define ROUND_SECONDS	0.25

struct bench {
	dkk_ctx *ctx;
	dkk_key *key;
	char *signed_msg;	/* one DKIM signature */
	char *chain2;		/* and two ARC sets */
	char *chain3;		/* and three */
	bool tiny;
	int failures;
};

static void die(const char *what, int rc) __attribute__((noreturn));

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench-arc: %s: %s\n", what, dkk_strerror(rc));
	exit(2);
}

static char *
concat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (s == NULL)
		die("memory", DKK_ENOMEM);
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* A 2 KB text message, CRLF. */
static char *
message(void)
{
	static const char head[] =
	    "From: Alice Example <alice@" DOMAIN ">\r\n"
	    "To: list@lists.example\r\n"
	    "Subject: benchmark message\r\n"
	    "Date: Mon, 7 Dec 2026 12:00:00 +0000\r\n"
	    "Message-ID: <arc.1@" DOMAIN ">\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
	static const char line[] = "the message signature of a domain key "
	    "and mail server header body hash\r\n";
	size_t hl = strlen(head), ll = strlen(line), n = (2048 - hl) / ll, i;
	char *m = malloc(hl + n * ll + 1);

	if (m == NULL)
		die("memory", DKK_ENOMEM);
	memcpy(m, head, hl);
	for (i = 0; i < n; i++)
		memcpy(m + hl + i * ll, line, ll);
	m[hl + n * ll] = '\0';
	return m;
}

static char *
dkim_sign(struct bench *b, const char *m)
{
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *field = NULL;
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
	return field;
}

/* Verify m; *v stays for the caller (sealing) when v is not NULL. */
static int
verify(struct bench *b, const char *m, int arc, dkk_verifier **vp,
    enum dkk_arc *arc_result)
{
	struct dkk_verify_opts o = { .arc = arc };
	struct dkk_arc_result r;
	dkk_verifier *v;
	int rc;

	if ((rc = dkk_verifier_new(b->ctx, &o, &v)) != DKK_OK ||
	    (rc = dkk_verifier_update(v, m, strlen(m))) != DKK_OK ||
	    (rc = dkk_verifier_wait(v)) != DKK_OK)
		die("verify", rc);
	rc = dkk_verifier_verdict(v) == DKK_PASS;
	if (arc && arc_result != NULL)
		*arc_result = dkk_verifier_arc(v, &r) == DKK_OK ? r.result :
		    DKK_ARC_NONE;
	if (vp != NULL)
		*vp = v;
	else
		dkk_verifier_free(v);
	return rc;
}

static char *
seal(struct bench *b, const char *m)
{
	struct dkk_seal_opts o = { b->key, DOMAIN, "rsa", "relay." DOMAIN,
	    NULL, NULL };
	dkk_verifier *v;
	char *fields = NULL, *out;
	int rc;

	verify(b, m, 1, &v, NULL);
	if ((rc = dkk_verifier_seal(v, &o, 0, &fields)) != DKK_OK ||
	    fields == NULL)
		die("seal", rc != DKK_OK ? rc : DKK_ESTATE);
	dkk_verifier_free(v);
	out = concat3(fields, "\r\n", m);
	free(fields);
	return out;
}

static void
setup(struct bench *b)
{
	const char *tmp = getenv("TMPDIR");
	char dir[128], path[192], *pem = NULL, *p = NULL;
	char *m, *f;
	FILE *z;
	int rc;

	if ((rc = dkk_ctx_new(&b->ctx)) != DKK_OK ||
	    (rc = dkk_key_generate(b->ctx, "rsa", 2048, &pem, &b->key)) !=
	    DKK_OK || (rc = dkk_key_public(b->key, &p)) != DKK_OK)
		die("key", rc);
	free(pem);
	snprintf(dir, sizeof(dir), "%s/bench-arc.XXXXXX",
	    tmp != NULL && strlen(tmp) < 80 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die(dir, DKK_EIO);
	snprintf(path, sizeof(path), "%s/zone", dir);
	if ((z = fopen(path, "w")) == NULL)
		die(path, DKK_EIO);
	fprintf(z, "rsa._domainkey." DOMAIN ". 300 IN TXT \"v=DKIM1; p=%s\"\n",
	    p);
	free(p);
	if (fclose(z) != 0 || (rc = dkk_ctx_use_zone(b->ctx, path)) != DKK_OK)
		die(path, rc != DKK_OK ? rc : DKK_EIO);
	unlink(path);
	rmdir(dir);
	m = message();
	f = dkim_sign(b, m);
	b->signed_msg = concat3(f, "\r\n", m);
	free(f);
	free(m);
	m = seal(b, b->signed_msg);
	b->chain2 = seal(b, m);
	free(m);
	b->chain3 = seal(b, b->chain2);
}

enum op { VERIFY_DKIM, VERIFY_ARC3, SIGN_DKIM, VERIFY_ARC2, SEAL_ARC2,
    NOPS };

static const char *const op_names[NOPS] = {
	"verify 2 KB, one DKIM signature, ARC off",
	"verify 2 KB, DKIM and a three-set ARC chain",
	"sign 2 KB (DKIM, RSA-2048)",
	"verify 2 KB, DKIM and a two-set ARC chain",
	"seal 2 KB with a two-set chain (verify, add set 3)",
};

/* One operation; false when its verdict is not the expected one. */
static bool
op_run(struct bench *b, enum op op)
{
	enum dkk_arc r = DKK_ARC_NONE;
	char *s;

	switch (op) {
	case VERIFY_DKIM:
		return verify(b, b->signed_msg, 0, NULL, NULL);
	case VERIFY_ARC3:
		return verify(b, b->chain3, 1, NULL, &r) && r == DKK_ARC_PASS;
	case SIGN_DKIM:
		free(dkim_sign(b, b->signed_msg));
		return true;
	case VERIFY_ARC2:
		return verify(b, b->chain2, 1, NULL, &r) && r == DKK_ARC_PASS;
	default:
		s = seal(b, b->chain2);
		free(s);
		return true;
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
			fprintf(stderr, "bench-arc: %s: unexpected verdict\n",
			    op_names[op]);
			b->failures++;
			break;
		}
	t = bench_cpu_seconds() - t0;
	return (t > 0 ? t : 1e-9) / (double)reps;
}

int
main(int argc, char **argv)
{
	struct bench b;
	double t[NOPS][BENCH_MAX_ROUNDS], med[NOPS], want;
	long reps[NOPS];
	int rounds, i, k;
	struct bench_args a;
	FILE *f = stdout;

	memset(&b, 0, sizeof(b));
	if (bench_args(argc, argv, "bench-arc", &a) != 0)
		return 2;
	b.tiny = a.tiny;
	rounds = a.rounds;
	setup(&b);
	for (k = 0; k < NOPS; k++)
		reps[k] = b.tiny ? 1 : (long)(ROUND_SECONDS /
		    op_time(&b, (enum op)k, 1)) + 1;
	for (i = 0; i < rounds; i++)
		for (k = 0; k < NOPS; k++)
			t[k][i] = op_time(&b, (enum op)k, reps[k]);
	for (k = 0; k < NOPS; k++)
		med[k] = bench_median(t[k], rounds);
	if ((f = bench_open(&a)) == NULL)
		return 2;
	fprintf(f, "| operation | unit | dkimkit |\n|---|---|---:|\n");
	for (k = 0; k < NOPS; k++)
		fprintf(f, "| %s | msg/s | %.0f |\n", op_names[k],
		    1.0 / med[k]);
	fprintf(f, "\n| target | budget | measured | ratio (at most 1.20) |\n"
	    "|---|---:|---:|---:|\n");
	want = 7 * med[VERIFY_DKIM];
	fprintf(f, "| verify, three-set chain <= 7 DKIM verifications | "
	    "%.3f ms | %.3f ms | %.2f |\n", want * 1e3, med[VERIFY_ARC3] * 1e3,
	    med[VERIFY_ARC3] / want);
	want = med[VERIFY_ARC2] + 2 * med[SIGN_DKIM];
	fprintf(f, "| seal <= verify + 2 signatures | %.3f ms | %.3f ms | "
	    "%.2f |\n", want * 1e3, med[SEAL_ARC2] * 1e3,
	    med[SEAL_ARC2] / want);
	if (f != stdout)
		fclose(f);
	free(b.signed_msg);
	free(b.chain2);
	free(b.chain3);
	dkk_ctx_free(b.ctx);
	return b.failures > 0 ? 1 : 0;
}
