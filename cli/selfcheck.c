/*
 * selfcheck.c: dkimkit selfcheck, a filter for the message as it leaves
 * (issue #24).  Exim's transport_filter gets the message after the
 * transport's headers_add, headers_remove and headers_rewrite, which run
 * after the sign dlfunc: only there can "signed, then our own transport
 * added a field" be seen.  The message is read whole (spooled to a
 * temporary file), the signatures of the site's own domains (--domain)
 * are verified with the failure classifier on and keys from the usual
 * key source, and the message is written out unchanged, byte for byte.
 * A failure is one log line with the class and the field; with --defer
 * nothing is written and the exit status is 1, which makes Exim defer
 * the delivery (the message stays on its queue).
 *
 * The log goes to syslog by default, not to standard error: Exim sends
 * a transport filter's standard error into the message it delivers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "cli.h"
#include "selfverify.h"

#define SELFCHECK_MAXDOMS 16

static const char selfcheck_usage[] =
    "usage: dkimkit selfcheck --domain D [--domain D ...] [--defer]\n"
    "                         [--log FILE|-] [--id ID] [--allow-weak]\n"
    "                         [--zone FILE | --dns ADDR[@PORT]]\n"
    "                         [--trust-anchor FILE] [--timeout SECS]\n"
    "                         [FILE]\n"
    "\n"
    "Read a signed message on its way out (FILE, or standard input: as\n"
    "Exim's transport_filter), verify the signatures whose d= is one of\n"
    "the domains, and write the message to standard output unchanged.\n"
    "A signature that fails is logged with its class and field (see\n"
    "'dkimkit explain').  Exit 0 when the message was written out, 1 when\n"
    "a signature failed under --defer (nothing is written), 2 on trouble.\n"
    "\n"
    "  --domain D        a signing domain (d=) of this site; other\n"
    "                    signatures are not checked\n"
    "  --defer           on a failure write nothing and exit 1 (Exim\n"
    "                    then defers the delivery); without it the message\n"
    "                    is passed on and only logged\n"
    "  --log FILE|-      append the log lines to FILE, or with - write them\n"
    "                    to standard error (default: syslog, facility\n"
    "                    mail; under Exim standard error goes into the\n"
    "                    message)\n"
    "  --id ID           name the message in the log (e.g.\n"
    "                    $message_exim_id)\n"
    "  --allow-weak      accept rsa-sha1 and RSA keys under 1024 bits\n"
    "  --zone FILE, --dns ADDR[@PORT], --trust-anchor FILE, --timeout SECS\n"
    "                    where the keys are looked up (default: the\n"
    "                    system's DNS)\n";

struct scopts {
	const char *domains[SELFCHECK_MAXDOMS];
	size_t ndomains;
	int defer;
	const char *log;		/* NULL: syslog; "-": stderr */
	const char *id;
	int allow_weak;
	struct source_opts src;
};

/* One line where --log says; no control character gets through. */
static void
sc_log(const struct scopts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
sc_log(const struct scopts *o, const char *fmt, ...)
{
	char line[2048], *p;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (o->log == NULL) {
		openlog("dkimkit", LOG_PID, LOG_MAIL);
		syslog(LOG_WARNING, "selfcheck: %s", line);
		closelog();
	} else if (strcmp(o->log, "-") == 0)
		fprintf(stderr, "%s selfcheck: %s\n", progname, line);
	else if ((f = fopen(o->log, "a")) != NULL) {
		fprintf(f, "%s selfcheck: %s\n", progname, line);
		fclose(f);
	}
}

static int
sc_ours(const struct scopts *o, const char *d)
{
	size_t i;

	for (i = 0; d != NULL && i < o->ndomains; i++)
		if (strcasecmp(d, o->domains[i]) == 0)
			return 1;
	return 0;
}

/* The number of our signatures that failed, each logged; -1 when none
 * could be verified. */
static int
sc_judge(const struct scopts *o, dkk_verifier *v)
{
	const struct dkk_sig_result *r;
	char why[1024];
	size_t i, n = dkk_verifier_count(v);
	int failed = 0;

	for (i = 0; i < n; i++) {
		r = dkk_verifier_result(v, i);
		if (r == NULL || !sc_ours(o, r->domain) ||
		    dks_selfv_sig(v, i, why, sizeof(why)) == 0)
			continue;
		failed++;
		sc_log(o, "%s%sself-verification failed: d=%s s=%s: %s; %s",
		    o->id != NULL ? o->id : "", o->id != NULL ? ": " : "",
		    r->domain, r->selector != NULL ? r->selector : "?", why,
		    o->defer ? "deferred" : "passed on");
	}
	return failed;
}

/* f verified from its start: the failures of our signatures, or -1
 * when it could not be verified (logged). */
static int
sc_verify(const struct scopts *o, dkk_ctx *ctx, FILE *f)
{
	dkk_verifier *v;
	char buf[65536];
	size_t n;
	int rc = DKK_OK, failed = -1;

	if (dkk_verifier_new(ctx, &dks_selfv_opts, &v) != DKK_OK) {
		sc_log(o, "%s: cannot verify: out of memory",
		    o->id != NULL ? o->id : "message");
		return -1;
	}
	while (rc == DKK_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		rc = dkk_verifier_update(v, buf, n);
	if (rc == DKK_OK && ferror(f))
		rc = DKK_EIO;
	if (rc == DKK_OK)
		rc = dkk_verifier_wait(v);
	if (rc == DKK_OK)
		failed = sc_judge(o, v);
	else
		sc_log(o, "%s: cannot verify: %s", o->id != NULL ? o->id :
		    "message", dkk_strerror(rc));
	dkk_verifier_free(v);
	return failed;
}

/* The message as it came, byte for byte. */
static int
sc_copy(FILE *f)
{
	char buf[65536];
	size_t n;

	if (fseek(f, 0, SEEK_SET) != 0)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			return -1;
	return ferror(f) || fflush(stdout) == EOF ? -1 : 0;
}

static int
sc_run(const struct scopts *o, dkk_ctx *ctx, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	FILE *f;
	int failed, rc;

	if ((f = open_input(path)) == NULL) {
		warnx("%s: %s", name, strerror(errno));
		return EXIT_TROUBLE;
	}
	/* Not verified (out of memory, unreadable): a failure too, since
	 * nothing says the message is intact; --defer holds it back. */
	failed = sc_verify(o, ctx, f);
	if (failed != 0 && o->defer) {
		fclose(f);
		return EXIT_NOPASS;
	}
	rc = sc_copy(f);
	fclose(f);
	if (rc != 0) {
		warnx("%s: cannot write the message out: %s", name,
		    strerror(errno));
		return EXIT_TROUBLE;
	}
	return EXIT_PASS;
}

static int
sc_options(int argc, char **argv, struct scopts *o)
{
	enum { O_DOMAIN = 256, O_DEFER, O_LOG, O_ID, O_WEAK, O_HELP };
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "defer", no_argument, NULL, O_DEFER },
		{ "log", required_argument, NULL, O_LOG },
		{ "id", required_argument, NULL, O_ID },
		{ "allow-weak", no_argument, NULL, O_WEAK },
		{ "help", no_argument, NULL, O_HELP },
		SOURCE_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (source_option(&o->src, c, optarg))
			continue;
		switch (c) {
		case O_DOMAIN:
			if (o->ndomains == SELFCHECK_MAXDOMS)
				return usage_error("selfcheck", "at most %d "
				    "--domain", SELFCHECK_MAXDOMS);
			o->domains[o->ndomains++] = optarg;
			break;
		case O_DEFER: o->defer = 1; break;
		case O_LOG: o->log = optarg; break;
		case O_ID: o->id = optarg; break;
		case O_WEAK: o->allow_weak = 1; break;
		case O_HELP:
			fputs(selfcheck_usage, stdout);
			exit(0);
		default:
			return usage_error("selfcheck", "unknown option");
		}
	}
	if (o->ndomains == 0)
		return usage_error("selfcheck", "give --domain: the d= of the "
		    "signatures to check");
	if (argc - optind > 1)
		return usage_error("selfcheck", "one message at a time");
	if (source_check("selfcheck", &o->src) != -1)
		return EXIT_TROUBLE;
	return -1;
}

int
cmd_selfcheck(int argc, char **argv)
{
	struct scopts o;
	dkk_ctx *ctx;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = sc_options(argc, argv, &o)) != -1)
		return rc;
	if (dkk_ctx_new(&ctx) != DKK_OK) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	if (source_setup(ctx, &o.src) != 0)
		rc = EXIT_TROUBLE;
	else {
		dkk_ctx_set_allow_weak(ctx, o.allow_weak);
		rc = sc_run(&o, ctx, optind < argc ? argv[optind] : "-");
	}
	dkk_ctx_free(ctx);
	return rc;
}
