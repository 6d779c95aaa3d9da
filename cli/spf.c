/*
 * spf.c: dkimkit spf, an SPF check (RFC 7208) of one client.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char spf_usage[] =
    "usage: dkimkit spf --client-ip IP [--helo NAME] [--mail-from ADDR]\n"
    "                   [--zone FILE | --dns ADDR[@PORT]]\n"
    "                   [--trust-anchor FILE] [--timeout TIME] [--json]\n"
    "\n"
    "Check whether the client at IP may send mail for the MAIL FROM\n"
    "address's domain (RFC 7208); without --mail-from, for the HELO name.\n"
    "An empty --mail-from is the null reverse-path: postmaster@HELO.\n"
    "\n"
    "  --client-ip IP       the SMTP client's IPv4 or IPv6 address\n"
    "  --helo NAME          the name it gave in HELO or EHLO\n"
    "  --mail-from ADDR     the MAIL FROM address\n"
    "  --zone FILE          take records from an RFC 1035 zone file only\n"
    "  --dns ADDR[@PORT]    ask this DNS resolver (default: the system's)\n"
    "  --trust-anchor FILE  validate answers with DNSSEC from this anchor\n"
    "  --timeout TIME       give up on a DNS lookup after TIME (ms, or 5s)\n"
    "  --json               print one JSON object\n"
    "\n"
    "Exit status: 0 pass, 1 any other result, 2 usage, input or internal\n"
    "error.\n";

struct spf_opts {
	struct source_opts src;
	struct dkk_spf_query q;
	int json;
};

static int
spf_parse(int argc, char **argv, struct spf_opts *o)
{
	enum { O_IP = 256, O_HELO, O_FROM, O_JSON, O_HELP };
	static const struct option longopts[] = {
		{ "client-ip", required_argument, NULL, O_IP },
		{ "helo", required_argument, NULL, O_HELO },
		{ "mail-from", required_argument, NULL, O_FROM },
		SOURCE_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (source_option(&o->src, c, optarg))
			continue;
		switch (c) {
		case O_IP: o->q.client_ip = optarg; break;
		case O_HELO: o->q.helo = optarg; break;
		case O_FROM: o->q.mail_from = optarg; break;
		case O_JSON: o->json = 1; break;
		case O_HELP:
			fputs(spf_usage, stdout);
			exit(0);
		default:
			return usage_error("spf", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("spf", "unexpected argument '%s'",
		    argv[optind]);
	if (o->q.client_ip == NULL)
		return usage_error("spf", "--client-ip is required");
	if (o->q.helo == NULL && (o->q.mail_from == NULL ||
	    o->q.mail_from[0] == '\0'))
		return usage_error("spf", "%s needs --helo",
		    o->q.mail_from == NULL ? "checking HELO" :
		    "an empty --mail-from");
	return source_check("spf", &o->src);
}

static void
spf_print(const dkk_spf *spf, int json)
{
	const char *result = dkk_spf_result_name(dkk_spf_result(spf));
	const char *scope = dkk_spf_scope_name(dkk_spf_scope(spf));

	if (!json) {
		printf("%s %s=%s: %s\n", result, scope, dkk_spf_domain(spf),
		    dkk_spf_reason(spf));
		if (dkk_spf_explanation(spf) != NULL)
			printf("explanation: %s\n", dkk_spf_explanation(spf));
		return;
	}
	printf("{\"result\":\"%s\",\"scope\":\"%s\",\"domain\":", result,
	    scope);
	json_string(stdout, dkk_spf_domain(spf));
	fputs(",\"explanation\":", stdout);
	json_string(stdout, dkk_spf_explanation(spf));
	fputs(",\"reason\":", stdout);
	json_string(stdout, dkk_spf_reason(spf));
	fputs("}\n", stdout);
}

static int
spf_check(dkk_ctx *ctx, const struct spf_opts *o)
{
	dkk_spf *spf;
	int rc;

	if ((rc = dkk_spf_new(ctx, &o->q, &spf)) == DKK_EINVAL)
		return usage_error("spf", "bad --client-ip '%s'",
		    o->q.client_ip);
	if (rc != DKK_OK || (rc = dkk_spf_wait(spf)) != DKK_OK) {
		warnx("spf: %s", dkk_strerror(rc));
		dkk_spf_free(spf);
		return EXIT_TROUBLE;
	}
	spf_print(spf, o->json);
	rc = dkk_spf_result(spf) == DKK_SPF_PASS ? EXIT_PASS : EXIT_NOPASS;
	dkk_spf_free(spf);
	return rc;
}

int
cmd_spf(int argc, char **argv)
{
	struct spf_opts o;
	dkk_ctx *ctx;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = spf_parse(argc, argv, &o)) >= 0)
		return rc;
	if (dkk_ctx_new(&ctx) != DKK_OK) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	rc = source_setup(ctx, &o.src) != 0 ? EXIT_TROUBLE :
	    spf_check(ctx, &o);
	dkk_ctx_free(ctx);
	return rc;
}
