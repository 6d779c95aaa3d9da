/*
 * fuzz_filter.c: arbitrary bytes as what smtpd sends filter-dkimkit,
 * after the handshake: the protocol reader (proto_lines, proto_line), the
 * session table and the message path, in verify mode with the keys of
 * DKK_FUZZ_ZONE, or in sign mode with an Ed25519 key made at start-up
 * when the first byte is odd; when its bit 1 is set too, under a signing
 * policy (-C) of that key for *@example.com and *@*.example.test, from
 * 127.0.0.1 or an authenticated client, in sign mode or in sv mode (bit
 * 2), so that the facts of the reports and the held and replayed header
 * of sv run.  Bit 3 turns DMARC on with -E (SPF from the reports, on
 * the zone), bit 4 ARC, bit 5 the self-verification of what was signed
 * (-V yes; with bit 6, -V defer).  The input arrives in reads of sizes taken
 * from its first byte, into a small line buffer so that the overlong-line
 * path runs too.  The limits are small, so that inputs of a few KiB reach
 * what takes megabytes in a real run: the core's header block limit
 * (FUZZ_HEADER_MAX) and the header budget of all sessions (-M,
 * FUZZ_BUDGET).  Replies go to /dev/null (descriptor 1), log lines are
 * formatted and dropped (printed on stderr when DKK_FUZZ_LOG is set, to
 * see what a seed does).  At the end every session is closed as at
 * link-disconnect.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"

#define FUZZ_LINEMAX	4096
#define FUZZ_IDS	256
#define FUZZ_HEADER_MAX	6144
#define FUZZ_BUDGET	8192

struct filter_conf conf = {
	.mode = MODE_VERIFY,
	.domains = { "example.com", "example.test" },
	.ndomains = 2,
	.nkeys = 1,
	.keys = { { .selector = "s" } },
	.adsp = 1,
	.reject = 1,
	.opts = { .header_canon = DKK_CANON_RELAXED,
	    .body_canon = DKK_CANON_RELAXED },
	.budget = FUZZ_BUDGET
};

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return 1700000000;
}

static int fuzz_log;		/* $DKK_FUZZ_LOG set: log lines to stderr */
static struct fpolicy *fuzz_pol;	/* the -C of inputs with bit 1 set */

static void
fuzz_vlog(const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (fuzz_log)
		fprintf(stderr, "%s\n", line);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fuzz_vlog(fmt, ap);
	va_end(ap);
}

void
log_session(const struct session *s, const char *fmt, ...)
{
	va_list ap;

	(void)s;
	va_start(ap, fmt);
	fuzz_vlog(fmt, ap);
	va_end(ap);
}

/* The policy of the sign key, in a folder of its own for the run (in
 * $TMPDIR; the policy reads the key when it first signs, so the folder
 * stays). */
static void
fuzz_policy(const char *pem)
{
	const char *tmp = getenv("TMPDIR");
	char dir[200], path[256], conf_path[256];
	dkk_policy *p;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/fuzz_filter.XXXXXX", tmp != NULL &&
	    strlen(tmp) < 150 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if ((f = fopen(path, "w")) == NULL || fputs(pem, f) == EOF ||
	    fclose(f) == EOF)
		abort();
	snprintf(path, sizeof(path), "%s/KeyTable", dir);
	if ((f = fopen(path, "w")) == NULL || fprintf(f,
	    "k %%:s:%s/key.pem:ed25519-sha256\n", dir) < 0 ||
	    fclose(f) == EOF)
		abort();
	snprintf(path, sizeof(path), "%s/SigningTable", dir);
	if ((f = fopen(path, "w")) == NULL || fputs("*@example.com k\n"
	    "*@*.example.test k:@example.test\n*@bad.example nosuch\n", f) ==
	    EOF || fclose(f) == EOF)
		abort();
	snprintf(conf_path, sizeof(conf_path), "%s/opendkim.conf", dir);
	if ((f = fopen(conf_path, "w")) == NULL || fprintf(f,
	    "KeyTable file:%s/KeyTable\nSigningTable refile:%s/SigningTable\n"
	    "MultipleSignatures yes\nSignHeaders From,To,Date,Bcc\n", dir,
	    dir) < 0 || fclose(f) == EOF)
		abort();
	if (dkk_policy_new(conf.ctx, conf_path, &p) != DKK_OK ||
	    (fuzz_pol = calloc(1, sizeof(*fuzz_pol))) == NULL)
		abort();
	fuzz_pol->p = p;
	fuzz_pol->refs = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *zone = getenv("DKK_FUZZ_ZONE");
	char hello[] = "config|ready", *pem;
	int fd;

	(void)argc;
	(void)argv;
	fuzz_log = getenv("DKK_FUZZ_LOG") != NULL;
	/* Replies are written to descriptor 1 (out.c), not through stdio. */
	if ((fd = open("/dev/null", O_WRONLY)) == -1 ||
	    dup2(fd, STDOUT_FILENO) == -1)
		abort();
	close(fd);
	if (dkk_ctx_new(&conf.ctx) != DKK_OK)
		abort();
	if (zone != NULL && dkk_ctx_use_zone(conf.ctx, zone) != DKK_OK)
		abort();
	dkk_ctx_set_clock(conf.ctx, fixed_clock, NULL);
	conf.adsp = 1;
	if (dkk_ctx_set_limit(conf.ctx, DKK_LIMIT_HEADER_BYTES,
	    FUZZ_HEADER_MAX) != DKK_OK ||
	    dkk_key_generate(conf.ctx, "ed25519", 0, &pem,
	    &conf.keys[0].key) != DKK_OK)
		abort();
	fuzz_policy(pem);
	free(pem);
	proto_line(hello);
	return 0;
}

static uint64_t ids[FUZZ_IDS];
static size_t nids;

static void
collect(struct session *s)
{
	if (nids < FUZZ_IDS)
		ids[nids++] = s->id;
}

/* Close every session, as smtpd's link-disconnect reports would. */
static void
close_all(void)
{
	size_t i;

	do {
		nids = 0;
		session_foreach(collect);
		for (i = 0; i < nids; i++)
			session_free(ids[i]);
	} while (nids > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[FUZZ_LINEMAX];
	size_t len = 0, pos = 0, chunk, n;
	int skipping = 0;

	conf.mode = size > 0 && data[0] & 1 ? MODE_SIGN : MODE_VERIFY;
	/* -C: every message of this input takes a reference, and gives it
	 * back by the end (close_all). */
	conf.policy = conf.mode == MODE_SIGN && data[0] & 2 ? fuzz_pol : NULL;
	if (conf.policy != NULL && data[0] & 4)
		conf.mode = MODE_SV;
	/* -p -E and -x: SPF from the reports, DMARC and ARC verdicts, the
	 * commit answers they call for. */
	conf.vopts.dmarc = conf.enforce = size > 0 && data[0] & 8;
	conf.vopts.arc = size > 0 && data[0] & 16;
	conf.selfv = size == 0 || !(data[0] & 32) ? SELFV_OFF :
	    data[0] & 64 ? SELFV_DEFER : SELFV_LOG;
	chunk = size > 0 ? (size_t)data[0] * 16 + 1 : 1;
	while (pos < size) {
		n = size - pos;
		if (n > chunk)
			n = chunk;
		if (n > FUZZ_LINEMAX - len)
			n = FUZZ_LINEMAX - len;
		memcpy(buf + len, data + pos, n);
		len += n;
		pos += n;
		proto_lines(buf, &len, &skipping, FUZZ_LINEMAX);
	}
	message_dns();
	close_all();
	out_flush();
	if (fuzz_pol->refs != 1)
		abort();	/* a message kept or dropped the policy twice */
	return 0;
}
