/*
 * main.c: the dkimkit command: sign, verify, keygen, key, adsp, spf,
 * policy, seal, selfcheck and stats.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cli.h"
#include "settings.h"

const char *progname = "dkimkit";

static const char usage[] =
    "usage: dkimkit COMMAND [OPTIONS] [FILE...]\n"
    "\n"
    "commands:\n"
    "  verify   verify the DKIM signatures of messages\n"
    "  explain  verify, and say why each failing signature failed\n"
    "  sign     add a DKIM-Signature to a message\n"
    "  keygen   make a key pair and print its DNS record\n"
    "  key      keep keys in a key directory and rotate them: new, check,\n"
    "           switch, retire, purge, record (see dkimkit-key(1))\n"
    "  adsp     evaluate Author Domain Signing Practices (RFC 5617)\n"
    "  spf      check a client's address with SPF (RFC 7208)\n"
    "  policy   explain an OpenDKIM signing policy: test, check\n"
    "  seal     verify a message and add the next ARC set (RFC 8617)\n"
    "  stats    count what verify --store recorded: who signs, what fails\n"
    "  report   report aggregate: DMARC aggregate reports (RFC 9990) from\n"
    "           the store\n"
    "  selfcheck verify this site's signatures as a message leaves, and\n"
    "           pass it on (Exim's transport_filter)\n"
    "\n"
    "Run 'dkimkit COMMAND --help' for a command's options, and see\n"
    "dkimkit(1).\n";

void
warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", progname, cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help'.\n", progname, cmd);
	return EXIT_TROUBLE;
}

/* A whole decimal number within [min, max]. */
int
parse_int64(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The settings vocabulary as the command spells it. */
static const char *const source_spell[DKS_NKEYS] = {
	[DKS_ZONE] = "--zone", [DKS_DNS] = "--dns",
	[DKS_TRUST_ANCHOR] = "--trust-anchor", [DKS_TIMEOUT] = "--timeout",
	[DKS_ALLOW_WEAK] = "--allow-weak", [DKS_AUTHSERV_ID] = "--authserv-id",
	[DKS_ADSP] = "--adsp", [DKS_PIN_FILE] = "--pin-file",
	[DKS_KEYDIR] = "--keydir",
};

static int
source_settings(const struct source_opts *o, struct dks *s)
{
	dks_init(s, source_spell);
	if ((o->zone != NULL && dks_set(s, DKS_ZONE, o->zone) < 0) ||
	    (o->dns != NULL && dks_set(s, DKS_DNS, o->dns) < 0) ||
	    (o->trust_anchor != NULL &&
	    dks_set(s, DKS_TRUST_ANCHOR, o->trust_anchor) < 0) ||
	    (o->timeout != NULL && dks_set(s, DKS_TIMEOUT, o->timeout) < 0))
		return -1;
	return dks_check(s);
}

/* The source options make sense together: else a usage error. */
int
source_check(const char *cmd, const struct source_opts *o)
{
	struct dks s;

	if (source_settings(o, &s) < 0)
		return usage_error(cmd, "%s", s.err);
	return -1;
}

int
source_option(struct source_opts *o, int c, const char *arg)
{
	switch (c) {
	case O_SRC_ZONE:
		o->zone = arg;
		return 1;
	case O_SRC_DNS:
		o->dns = arg;
		return 1;
	case O_SRC_TA:
		o->trust_anchor = arg;
		return 1;
	case O_SRC_TIMEOUT:
		o->timeout = arg;
		return 1;
	default:
		return 0;
	}
}

int
source_setup(dkk_ctx *ctx, const struct source_opts *o)
{
	struct dks s;

	if (source_settings(o, &s) < 0 || dks_apply(&s, ctx) < 0) {
		warnx("%s", s.err);
		return -1;
	}
	return 0;
}

/* A library failure, in the context's words. */
void
ctx_warn(dkk_ctx *ctx)
{
	warnx("%s", dkk_ctx_error(ctx));
}

/* The PIN of pkcs11: keys from a file or the environment, never from the
 * command line, which every user of the machine can read. */
int
pin_setup(dkk_ctx *ctx, const char *pinfile)
{
	struct dks s;

	dks_init(&s, source_spell);
	if ((pinfile != NULL && dks_set(&s, DKS_PIN_FILE, pinfile) < 0) ||
	    dks_apply_pin(&s, ctx) < 0)
		return DKK_EINVAL;
	return DKK_OK;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "verify", cmd_verify },
		{ "explain", cmd_explain },
		{ "sign", cmd_sign },
		{ "keygen", cmd_keygen },
		{ "key", cmd_key },
		{ "adsp", cmd_adsp },
		{ "spf", cmd_spf },
		{ "policy", cmd_policy },
		{ "seal", cmd_seal },
		{ "stats", cmd_stats },
		{ "report", cmd_report },
		{ "selfcheck", cmd_selfcheck },
	};
	size_t i;

	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_TROUBLE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("dkimkit %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	warnx("unknown command '%s'", argv[1]);
	fputs(usage, stderr);
	return EXIT_TROUBLE;
}
