/*
 * main.c: filter-dkimkit start-up and event loop.  Settings and keys are
 * read once (SIGHUP reads -K's keys and -C's policy again); a bad one
 * stops the start (smtpd then says why).  After
 * that nothing on stdin can make the process exit: only the end of stdin,
 * which means smtpd is gone.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "metrics.h"
#include "pool.h"
#include "settings.h"

#define MAIN_LINEMAX	(4 * 1024 * 1024)	/* longer lines are dropped */
#define MAIN_TICK_MS	1000	/* waiting, and the resolver has no deadline */

struct filter_conf conf = {
	.opts = { .header_canon = DKK_CANON_RELAXED,
	    .body_canon = DKK_CANON_RELAXED },
	.budget = FILTER_BUDGET
};

/* The settings vocabulary (plugins/common/settings.h) as the filter
 * spells it. */
static const char *const main_spell[DKS_NKEYS] = {
	[DKS_ZONE] = "-z", [DKS_DNS] = "-D", [DKS_TRUST_ANCHOR] = "-t",
	[DKS_TIMEOUT] = "-w", [DKS_ALLOW_WEAK] = "-W",
	[DKS_AUTHSERV_ID] = "-i", [DKS_ADSP] = "-A", [DKS_PIN_FILE] = "-P",
	[DKS_KEYDIR] = "-K", [DKS_OPENDKIM_CONF] = "-C",
	[DKS_DMARC] = "-p", [DKS_RFC7489] = "-R", [DKS_ARC] = "-x",
	[DKS_TRUSTED_SEALERS] = "-S", [DKS_EXPLAIN] = "-e",
	[DKS_STORE] = "-O", [DKS_METRICS_FILE] = "-o",
	[DKS_METRICS_INTERVAL] = "-I",
	[DKS_ATPS] = "-y", [DKS_ATPS_ADSP] = "-Y",
	[DKS_SELF_VERIFY] = "-V",
	[DKS_REPORT_REQUEST] = "-f",
	[DKS_ARC_FORWARDED] = "-F",
	[DKS_WORKERS] = "-j",
	[DKS_REPORTS] = "-G", [DKS_REPORT_DIR] = "-g",
	[DKS_REPORT_STATE] = "-L", [DKS_REPORT_FROM] = "-U",
	[DKS_REPORT_SMTP] = "-J",
};
static struct dks main_set;

static void usage(void) __attribute__((noreturn));
static void fatalx(const char *, const char *) __attribute__((noreturn));
static void main_settings_fail(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s -m sign -d domain [-d domain ...]\n"
	    "           -s selector -k keyfile [-a algorithm]\n"
	    "           [[-s selector] -k keyfile [-a algorithm]]\n"
	    "           [-c canon] [-h headers] [-P pinfile] [-f] [-T] [-M size]\n"
	    "           [-V yes|no|defer [-W] [-D addr[@port]]\n"
	    "           [-t trust-anchor] [-z zonefile] [-w timeout]]\n"
	    "       %s -m sign -d domain [-d domain ...] -K keydir\n"
	    "           [-c canon] [-h headers] [-P pinfile] [-f] [-T] [-M size]\n"
	    "           [-V yes|no|defer [-W] [-D addr[@port]] ...]\n"
	    "       %s -m sign -C opendkim.conf [-P pinfile] [-f] [-T] [-M size]\n"
	    "           [-V yes|no|defer [-W] [-D addr[@port]] ...]\n"
	    "       %s -m sv -C opendkim.conf [-AeWxYy] [-r] [-p | -R] [-E [-F]]\n"
	    "           [-V yes|no|defer]\n"
	    "           [-S sealers] [-O store [-o metricsfile [-I secs]]]\n"
	    "           [-i authserv-id]\n"
	    "           [-D addr[@port]] [-t trust-anchor] [-z zonefile]\n"
	    "           [-w timeout] [-P pinfile] [-T] [-M size]\n"
	    "           [-G [-g dir | -J host:port] [-L statefile] [-U from]]\n"
	    "       %s -m verify [-AeWxYy] [-r] [-p | -R] [-E [-F]] [-S sealers]\n"
	    "           [-O store [-o metricsfile [-I secs]]] [-i authserv-id]\n"
	    "           [-D addr[@port]]\n"
	    "           [-t trust-anchor] [-z zonefile] [-w timeout] [-T]\n"
	    "           [-M size] [-G [-g dir | -J host:port] [-L statefile] [-U from]]\n"
	    "       %s -m seal -d domain -s selector -k keyfile [-a algorithm]\n"
	    "           [-h headers] [-P pinfile] [-AeW] [-p | -R] [-S sealers]\n"
	    "           [-O store [-o metricsfile [-I secs]]] [-i authserv-id]\n"
	    "           [-D addr[@port]]\n"
	    "           [-t trust-anchor] [-z zonefile] [-w timeout] [-T]\n"
	    "           [-M size] [-G [-g dir | -J host:port] [-L statefile] [-U from]]\n"
	    "       every mode also takes [-j workers] (signing threads; "
	    "0 or 1: none)\n",
	    FILTER_NAME, FILTER_NAME, FILTER_NAME, FILTER_NAME, FILTER_NAME,
	    FILTER_NAME);
	exit(1);
}

static void
fatalx(const char *what, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", FILTER_NAME, what, why);
	exit(1);
}

/* A setting that fails its check: the shared words say why. */
static void
main_settings_fail(void)
{
	fprintf(stderr, "%s: %s\n", FILTER_NAME, main_set.err);
	exit(1);
}

static void
main_set_word(enum dks_key k, const char *value)
{
	if (dks_set(&main_set, k, value) < 0)
		main_settings_fail();
}

static void
main_canon(const char *s)
{
	if (dkk_canon_parse(s, &conf.opts.header_canon,
	    &conf.opts.body_canon) != DKK_OK)
		fatalx(s, "canonicalization is simple or relaxed, or "
		    "HEADER/BODY");
}

/* -V yes|no|defer: yes and no as the settings vocabulary reads them
 * (true, on, 1 ...), defer of its own. */
static void
main_selfv(const char *s)
{
	if (strcmp(s, "defer") == 0) {
		conf.selfv = SELFV_DEFER;
		return;
	}
	if (dks_set(&main_set, DKS_SELF_VERIFY, s) < 0) {
		fprintf(stderr, "%s: %s (-V is yes, no or defer)\n",
		    FILTER_NAME, main_set.err);
		exit(1);
	}
	conf.selfv = main_set.self_verify ? SELFV_LOG : SELFV_OFF;
}

/* -M: octets, or with k, m or g after the number (KiB, MiB, GiB). */
static size_t
main_size(const char *s)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift != 0)
		end++;
	if (errno != 0 || end == s || *end != '\0' || *s == '-' || n == 0 ||
	    n > (SIZE_MAX >> shift))
		fatalx(s, "-M is a size: a number, with k, m or g after it");
	return (size_t)n << shift;
}

/* Each -k pairs with the next -a; an -a before any unpaired -k waits for
 * the next -k. */
static void
main_key(const char *path, const char *alg)
{
	static const char *pending;
	size_t i;

	if (alg != NULL) {
		for (i = 0; i < conf.nkeys; i++)
			if (conf.keys[i].alg == NULL) {
				conf.keys[i].alg = alg;
				return;
			}
		if (pending != NULL)
			fatalx(alg, "-a without its -k");
		pending = alg;
		return;
	}
	if (conf.nkeys == FILTER_MAXKEYS)
		fatalx(path, "too many -k");
	conf.keys[conf.nkeys].path = path;
	conf.keys[conf.nkeys++].alg = pending;
	pending = NULL;
}

/* -G and its -g, -L, -U: reports are about verified messages, and a
 * report option without -G would silently do nothing. */
static void
main_reports(void)
{
	conf.reports = main_set.reports;
	conf.report_dir = main_set.val[DKS_REPORT_DIR];
	conf.report_state = main_set.val[DKS_REPORT_STATE];
	conf.report_from = main_set.val[DKS_REPORT_FROM];
	conf.report_smtp = main_set.val[DKS_REPORT_SMTP];
	if (!conf.reports && (conf.report_dir != NULL ||
	    conf.report_state != NULL || conf.report_from != NULL ||
	    conf.report_smtp != NULL))
		fatalx(conf.report_dir != NULL ? "-g" : conf.report_state !=
		    NULL ? "-L" : conf.report_from != NULL ? "-U" : "-J",
		    "belongs to -G (send failure reports)");
	if (conf.reports && conf.mode == MODE_SIGN)
		fatalx("-G", "reports on verified messages: use -m verify, "
		    "sv or seal");
}

static void
main_options(int argc, char **argv)
{
	int ch;

	dks_init(&main_set, main_spell);
	main_set_word(DKS_WORKERS, "auto");
	while ((ch = getopt(argc, argv,
	    "Aa:C:c:D:d:EeFfGg:h:I:i:J:j:K:k:L:M:m:O:o:P:pRrS:s:Tt:U:V:Ww:xYyz:"))
	    != -1) {
		switch (ch) {
		case 'A':
			main_set_word(DKS_ADSP, "yes");
			break;
		case 'a':
			main_key(NULL, optarg);
			break;
		case 'C':
			main_set_word(DKS_OPENDKIM_CONF, optarg);
			break;
		case 'c':
			conf.canon_given = 1;
			main_canon(optarg);
			break;
		case 'D':
			main_set_word(DKS_DNS, optarg);
			break;
		case 'E':
			conf.enforce = 1;
			break;
		case 'e':
			main_set_word(DKS_EXPLAIN, "yes");
			break;
		case 'F':
			conf.forwarded = 1;
			main_set_word(DKS_ARC_FORWARDED, "yes");
			break;
		case 'G':
			main_set_word(DKS_REPORTS, "yes");
			break;
		case 'g':
			main_set_word(DKS_REPORT_DIR, optarg);
			break;
		case 'L':
			main_set_word(DKS_REPORT_STATE, optarg);
			break;
		case 'J':
			main_set_word(DKS_REPORT_SMTP, optarg);
			break;
		case 'U':
			main_set_word(DKS_REPORT_FROM, optarg);
			break;
		case 'y':
			main_set_word(DKS_ATPS, "yes");
			break;
		case 'Y':
			main_set_word(DKS_ATPS_ADSP, "yes");
			break;
		case 'f':
			main_set_word(DKS_REPORT_REQUEST, "yes");
			conf.opts.report_request = 1;
			break;
		case 'd':
			if (conf.ndomains == FILTER_MAXDOMS)
				fatalx(optarg, "too many -d");
			conf.domains[conf.ndomains++] = optarg;
			break;
		case 'h':
			conf.opts.headers = optarg;
			conf.canon_given = 1;
			break;
		case 'i':
			main_set_word(DKS_AUTHSERV_ID, optarg);
			break;
		case 'j':
			main_set_word(DKS_WORKERS, optarg);
			break;
		case 'K':
			main_set_word(DKS_KEYDIR, optarg);
			break;
		case 'k':
			main_key(optarg, NULL);
			break;
		case 'M':
			conf.budget = main_size(optarg);
			break;
		case 'O':
			main_set_word(DKS_STORE, optarg);
			break;
		case 'o':
			main_set_word(DKS_METRICS_FILE, optarg);
			break;
		case 'I':
			main_set_word(DKS_METRICS_INTERVAL, optarg);
			break;
		case 'P':
			main_set_word(DKS_PIN_FILE, optarg);
			break;
		case 'm':
			if (strcmp(optarg, "sign") == 0)
				conf.mode = MODE_SIGN;
			else if (strcmp(optarg, "verify") == 0)
				conf.mode = MODE_VERIFY;
			else if (strcmp(optarg, "sv") == 0)
				conf.mode = MODE_SV;
			else if (strcmp(optarg, "seal") == 0)
				conf.mode = MODE_SEAL;
			else
				fatalx(optarg, "-m is sign, verify, sv or seal");
			break;
		case 'p':
			main_set_word(DKS_DMARC, "yes");
			break;
		case 'R':
			main_set_word(DKS_RFC7489, "yes");
			break;
		case 'S':
			main_set_word(DKS_TRUSTED_SEALERS, optarg);
			break;
		case 'x':
			main_set_word(DKS_ARC, "yes");
			break;
		case 'r':
			conf.reject = 1;
			main_set_word(DKS_ADSP, "yes");
			break;
		case 's':
			if (conf.nselectors == FILTER_MAXKEYS)
				fatalx(optarg, "too many -s");
			conf.selectors[conf.nselectors++] = optarg;
			break;
		case 'T':
			conf.tempfail = 1;
			break;
		case 't':
			main_set_word(DKS_TRUST_ANCHOR, optarg);
			break;
		case 'V':
			main_selfv(optarg);
			break;
		case 'W':
			main_set_word(DKS_ALLOW_WEAK, "yes");
			break;
		case 'w':
			main_set_word(DKS_TIMEOUT, optarg);
			break;
		case 'z':
			main_set_word(DKS_ZONE, optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (dks_check(&main_set) < 0)
		main_settings_fail();
	conf.adsp = main_set.adsp;
	dks_verify_opts(&main_set, &conf.vopts);
	conf.sealers = main_set.val[DKS_TRUSTED_SEALERS];
	if (conf.enforce && !conf.vopts.dmarc)
		fatalx("-E", "acts on DMARC verdicts: give -p (or -R)");
	if (conf.forwarded && !conf.enforce)
		fatalx("-F", "changes what -E does: give -E");
	main_reports();
	if (conf.mode == MODE_SIGN && (conf.vopts.dmarc ||
	    conf.vopts.arc || conf.vopts.explain))
		fatalx("-m sign", "-p, -R, -E, -x, -S and -e are for "
		    "verifying (-m verify, -m sv)");
	if (conf.selfv != SELFV_OFF && conf.mode != MODE_SIGN &&
	    conf.mode != MODE_SV)
		fatalx("-V", "verifies what was signed: use -m sign or -m sv");
	if (conf.mode == MODE_SEAL && (conf.enforce || conf.reject))
		fatalx("-m seal", "-E and -r refuse mail: a relay that seals "
		    "passes it on (refuse it at the MX, -m verify)");
	/* -m seal: the chain is always validated; its result is the cv=
	 * of the new seal */
	if (conf.mode == MODE_SEAL)
		conf.vopts.arc = 1;
	conf.authserv_id = main_set.val[DKS_AUTHSERV_ID];
	conf.keydir = main_set.val[DKS_KEYDIR];
	conf.policy_conf = main_set.val[DKS_OPENDKIM_CONF];
	conf.workers = main_set.workers;
}

static void
main_keys(void)
{
	struct filter_key *k;
	const char *type;
	size_t i;

	for (i = 0; i < conf.nkeys; i++) {
		k = &conf.keys[i];
		/* The core's sentence names the file (a URI without its
		 * query, which may hold a pin-value). */
		if (dkk_ctx_load_key(conf.ctx, k->path, &k->key) != DKK_OK)
			fatalx("-k", dkk_ctx_error(conf.ctx));
		type = dkk_key_type(k->key);
		/* a= is "rsa-sha256" or "ed25519-sha256": the key type first. */
		if (k->alg != NULL && (strncmp(k->alg, type, strlen(type)) ||
		    k->alg[strlen(type)] != '-'))
			fatalx(k->alg, "does not match the key of its -k");
	}
}

/* One -s for every key, or one per -k in order (a selector names one key
 * record, so dual signing needs two). */
static void
main_selectors(void)
{
	size_t i;

	if (conf.nselectors != 1 && conf.nselectors != conf.nkeys)
		fatalx("-s", "give one -s, or one per -k");
	for (i = 0; i < conf.nkeys; i++)
		conf.keys[i].selector = conf.selectors[conf.nselectors == 1 ?
		    0 : i];
}

/* The PIN of PKCS#11 keys: -P, else $DKIMKIT_PIN (else the URI's). */
static void
main_pin(void)
{
	if (dks_apply_pin(&main_set, conf.ctx) < 0)
		main_settings_fail();
}

/* -m sign: the PIN; with -V the key source too (-z, -D, -t, -w, -W),
 * where the self-verification finds the public keys. */
static void
main_sign_source(void)
{
	if (conf.selfv == SELFV_OFF)
		main_pin();
	else if (dks_apply(&main_set, conf.ctx) < 0)
		main_settings_fail();
}

/* -K: every -d must have an active key now; a later switch is picked up
 * by the message after it. */
static void
main_keydir(void)
{
	const dkk_key *key;
	const char *sel;
	size_t i;

	if (dkk_keydir_new(conf.ctx, conf.keydir, &conf.kd) != DKK_OK)
		fatalx(conf.keydir, "out of memory");
	for (i = 0; i < conf.ndomains; i++)
		if (dkk_keydir_active(conf.kd, conf.domains[i], &key, &sel) !=
		    DKK_OK)
			fatalx(conf.domains[i], dkk_ctx_error(conf.ctx));
}

static volatile sig_atomic_t main_got_hup;

/* Only a flag: the loop does the work (main_hup). */
static void
main_on_hup(int sig)
{
	(void)sig;
	main_got_hup = 1;
}

/* SIGHUP reloads keys (-K) and the policy (-C) and is otherwise
 * harmless: by default it would kill the filter, and smtpd with it.
 * SA_RESTART, so that a read or write it interrupts goes on (out.c
 * retries writes all the same); poll() returns EINTR and the loop goes
 * round. */
static void
main_signals(void)
{
	struct sigaction sa;

	/* A write to a closed smtpd must fail, not kill us mid-message. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_on_hup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) == -1)
		fatalx("SIGHUP", strerror(errno));
}

static void
main_policy_warning(void *arg, const char *warning)
{
	(void)arg;
	log_warnx("-C: %s", warning);
}

/* A problem dkk_policy_check() finds: logged, not fatal (OpenDKIM runs
 * with such tables too; the message it concerns is not signed, logged). */
static void
main_policy_problem(void *arg, const char *problem)
{
	(void)arg;
	log_warnx("-C: problem: %s", problem);
}

/* Read -C's opendkim.conf and its tables into *fp (one reference, the
 * caller's), and look them over (as `dkimkit policy check`, without DNS).
 * 0, or -1 with why in err. */
int
main_policy(struct fpolicy **fp, char *err, size_t len)
{
	dkk_policy *p;

	if (dks_policy(&main_set, conf.ctx, &p, main_policy_warning, NULL) < 0) {
		snprintf(err, len, "%s", main_set.err);
		return -1;
	}
	if ((*fp = calloc(1, sizeof(**fp))) == NULL) {
		dkk_policy_free(p);
		snprintf(err, len, "-C: out of memory");
		return -1;
	}
	(*fp)->p = p;
	(*fp)->refs = 1;
	if (dkk_policy_check(p, main_policy_problem, NULL) < 0)
		log_warnx("-C: %s: cannot look the tables over: %s",
		    conf.policy_conf, dkk_ctx_error(conf.ctx));
	return 0;
}

/* SIGHUP with -C: the configuration and its tables read again.  A
 * configuration that cannot be read leaves the old one in force; a
 * message under way keeps the one it started with either way. */
static void
main_hup_policy(void)
{
	struct fpolicy *fp;
	char err[600];

	if (main_policy(&fp, err, sizeof(err)) == -1) {
		log_warnx("SIGHUP: %s; the signing policy read before stays",
		    err);
		return;
	}
	policy_release(conf.policy);
	conf.policy = fp;
	log_warnx("SIGHUP: signing policy of %s read again",
	    conf.policy_conf);
}

/* SIGHUP: read every active file and key again at the next message, and
 * the signing policy of -C now. */
void
main_hup(void)
{
	if (!main_got_hup)
		return;
	main_got_hup = 0;
	if (conf.kd != NULL) {
		dkk_keydir_reload(conf.kd);
		log_warnx("SIGHUP: keys of %s are read again", conf.keydir);
	}
	if (conf.policy != NULL)
		main_hup_policy();
}

/* -C: the policy gives domains, keys, selectors, canonicalization and
 * header list; -m sv verifies with the verifying settings too. */
static void
main_setup_policy(void)
{
	char err[600];

	if (conf.ndomains > 0 || conf.nkeys > 0 || conf.nselectors > 0 ||
	    conf.keydir != NULL || conf.canon_given)
		fatalx("-C", "excludes -d, -s, -k, -a, -K, -c and -h (the "
		    "opendkim.conf gives them)");
	if (conf.mode == MODE_VERIFY || conf.mode == MODE_SEAL)
		fatalx("-C", "signs: use -m sign or -m sv");
	if (conf.mode == MODE_SIGN)
		main_sign_source();
	else if (dks_apply(&main_set, conf.ctx) < 0)
		main_settings_fail();
	if (main_policy(&conf.policy, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", FILTER_NAME, err);
		exit(1);
	}
}

/* -m seal: one sealing key, its domain and selector; the key source
 * (with -P) for verifying.  The AMS is always relaxed/relaxed (RFC 8617
 * 4.1.2 lets the sealer choose; dkimkit seal does the same). */
static void
main_setup_seal(void)
{
	if (conf.keydir != NULL)
		fatalx("-m seal", "takes one -k, not -K");
	if (conf.ndomains != 1 || conf.nselectors != 1 || conf.nkeys != 1)
		fatalx("-m seal", "needs one -d, one -s and one -k (the "
		    "sealing key)");
	if (conf.opts.header_canon != DKK_CANON_RELAXED ||
	    conf.opts.body_canon != DKK_CANON_RELAXED)
		fatalx("-m seal", "-c is for signing (the ARC-Message-"
		    "Signature is relaxed/relaxed)");
	if (dks_apply(&main_set, conf.ctx) < 0)
		main_settings_fail();
	main_selectors();
	main_keys();
}

static void
main_setup(int argc, char **argv)
{
	main_options(argc, argv);
	if (dkk_ctx_new(&conf.ctx) != DKK_OK)
		fatalx("start-up", "out of memory");
	if (conf.policy_conf != NULL) {
		main_setup_policy();
		return;
	}
	if (conf.mode == MODE_SV)
		fatalx("-m sv", "needs -C (the policy says what to sign)");
	if (conf.mode == MODE_SEAL) {
		main_setup_seal();
		return;
	}
	if (conf.mode == MODE_SIGN) {
		main_sign_source();
		if (conf.ndomains == 0)
			usage();
		if (conf.keydir != NULL) {
			if (conf.nselectors > 0 || conf.nkeys > 0)
				fatalx("-K", "excludes -s, -k and -a");
			main_keydir();
			return;
		}
		if (conf.nselectors == 0 || conf.nkeys == 0)
			usage();
		main_selectors();
		main_keys();
		return;
	}
	/* the key source, -W, -P */
	if (dks_apply(&main_set, conf.ctx) < 0)
		main_settings_fail();
}

/* Read what smtpd sent; 0 at the end of stdin. */
static int
main_read(void)
{
	static char *buf;
	static size_t len;
	static int skipping;
	ssize_t n;

	if (buf == NULL && (buf = malloc(MAIN_LINEMAX)) == NULL)
		fatalx("start-up", "out of memory");
	n = read(STDIN_FILENO, buf + len, MAIN_LINEMAX - len);
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0) {
		if (len > 0)
			log_warnx("last line cut short at the end of input");
		return 0;
	}
	len += n;
	proto_lines(buf, &len, &skipping, MAIN_LINEMAX);
	return 1;
}

/* How long poll() may sleep while verdicts wait for DNS: until the
 * earliest lookup deadline, which only dkk_ctx_process() enforces. */
static int
main_timeout(void)
{
	int t = dkk_ctx_timeout(conf.ctx);

	return t == -1 ? MAIN_TICK_MS : t;
}

/* -o: the store's counters in the Prometheus text format, replaced
 * (a temporary file renamed over it) every -I seconds from this loop:
 * a scraper or node_exporter's textfile collector reads it. */
static struct {
	const char *path;
	int64_t every_ms, next_ms;
} main_metrics;

static int64_t
main_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
main_metrics_write(void)
{
	struct dkst_tally t;
	struct dkst_counts c;
	char err[300];

	dkst_tally_get(conf.store, &t);
	dkst_counts(conf.store, &c);
	if (dkst_prom_file(main_metrics.path, &t, &c, err, sizeof(err)) != 0)
		log_warnx("-o: %s", err);
	main_metrics.next_ms = main_now_ms() + main_metrics.every_ms;
}

/* poll()'s timeout, shortened to the next metrics write; the write
 * itself when due. */
static int
main_metrics_tick(int timeout)
{
	int64_t left;

	if (main_metrics.path == NULL)
		return timeout;
	if ((left = main_metrics.next_ms - main_now_ms()) <= 0) {
		main_metrics_write();
		left = main_metrics.every_ms;
	}
	return timeout == -1 || left < timeout ? (int)left : timeout;
}

/* Until smtpd closes our stdin; then only until the verdicts waiting for
 * DNS and the signatures at the workers are out (smtpd may still read
 * them; tests do). */
static void
main_loop(void)
{
	struct pollfd pfd[3];
	int timeout, open = 1, fd;

	for (;;) {
		main_hup();
		out_flush();
		timeout = message_waiting() ? main_timeout() : -1;
		if (!open && timeout == -1 && pool_busy() == 0)
			return;
		timeout = main_metrics_tick(timeout);
		pfd[0].fd = open ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd = dkk_ctx_fd(conf.ctx);
		pfd[1].events = POLLIN;
		pfd[2].fd = pool_fd();
		pfd[2].events = POLLIN;
		if (poll(pfd, 3, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatalx("poll", strerror(errno));
		}
		if (pfd[2].revents & POLLIN)
			pool_reap();
		if (open && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			open = main_read();
		if ((fd != -1 && (pfd[1].revents & POLLIN)) || timeout != -1)
			dkk_ctx_process(conf.ctx);
		message_dns();
		report_reap();
	}
}

/* -j: the signing threads; only where there is signing to do. */
static void
main_pool(void)
{
	char err[300];

	if (conf.mode != MODE_SIGN && conf.mode != MODE_SV)
		return;
	if (pool_start(conf.workers, err, sizeof(err)) == -1)
		fatalx("-j", err);
	if (pool_size() > 0)
		log_warnx("%u signing threads (-j)", pool_size());
}

static void
main_store_log(void *arg, const char *line)
{
	(void)arg;
	log_warnx("%s", line);
}

/* -O: the observation store of the verified messages (issue 23).  Its
 * writer thread takes the rows: this loop never waits on it.  A store
 * that cannot be opened stops the start, as a bad key source does. */
static void
main_store(void)
{
	struct dkst_opts so = { .log = main_store_log };
	char err[300];

	if (main_set.val[DKS_STORE] == NULL)
		return;
	if (conf.mode == MODE_SIGN)
		fatalx("-O", "records verified messages: use -m verify, sv "
		    "or seal");
	if (dkst_open(main_set.val[DKS_STORE], &so, &conf.store, err,
	    sizeof(err)) != 0)
		fatalx("-O", err);
	if ((main_metrics.path = main_set.val[DKS_METRICS_FILE]) != NULL) {
		main_metrics.every_ms = 1000LL * (main_set.metrics_s > 0 ?
		    main_set.metrics_s : 60);
		main_metrics_write();	/* a file from the start */
	}
}

int
main(int argc, char **argv)
{
	main_signals();
	main_setup(argc, argv);
	main_store();
	main_pool();
	main_loop();
	pool_stop();
	if (main_metrics.path != NULL)
		main_metrics_write();	/* the last counts */
	dkst_close(conf.store, NULL);
	return 0;
}
