/*
 * verify.c: dkimkit verify and dkimkit adsp.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char verify_usage[] =
    "usage: dkimkit verify [--zone FILE | --dns ADDR[@PORT]]\n"
    "                      [--trust-anchor FILE] [--timeout TIME]\n"
    "                      [--now UNIXTIME] [--allow-weak] [--adsp]\n"
    "                      [--authserv-id ID] [--json] [FILE...]\n"
    "\n"
    "Verify every DKIM-Signature of each FILE (standard input when none).\n"
    "\n"
    "  --zone FILE          take keys from an RFC 1035 zone file only\n"
    "  --dns ADDR[@PORT]    ask this DNS resolver (default: the system's)\n"
    "  --trust-anchor FILE  validate answers with DNSSEC from this anchor\n"
    "  --timeout TIME       give up on a DNS lookup after TIME (ms, or 5s)\n"
    "  --now UNIXTIME       judge t= and x= at this time\n"
    "  --allow-weak         accept rsa-sha1 and RSA keys of 512-1023 bits\n"
    "  --adsp               also evaluate ADSP (RFC 5617)\n"
    "  --authserv-id ID     authserv-id of the Authentication-Results field\n"
    "                       (default: this host's name)\n"
    "  --json               one JSON object per file, one per line\n"
    "\n"
    "Exit status: 0 every message passes, 1 some message does not,\n"
    "2 usage, input or internal error.\n";

static const char adsp_usage[] =
    "usage: dkimkit adsp [--zone FILE | --dns ADDR[@PORT]]\n"
    "                    [--trust-anchor FILE] [--timeout TIME]\n"
    "                    [--now UNIXTIME] [--allow-weak] [--json] [FILE...]\n"
    "\n"
    "Evaluate Author Domain Signing Practices (RFC 5617) for each FILE\n"
    "(standard input when none): none, pass, unknown, fail, discard,\n"
    "nxdomain, temperror or permerror.\n"
    "\n"
    "Exit status: 0 when every result is none, pass or unknown, 1 when\n"
    "some result is another, 2 usage, input or internal error.\n";

struct vopts {
	struct source_opts src;
	long long now;
	int have_now;
	int allow_weak;
	int adsp;
	int adsp_only;
	int json;
	const char *authserv_id;
	char host[256];
};

static int64_t
fixed_clock(void *arg)
{
	return *(const long long *)arg;
}

static int
feed_file(dkk_verifier *v, const char *path, FILE *f)
{
	char buf[65536];
	size_t n;
	int rc;

	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if ((rc = dkk_verifier_update(v, buf, n)) != DKK_OK) {
			warnx("%s: %s", path, dkk_strerror(rc));
			return -1;
		}
	if (ferror(f)) {
		warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
print_sig_json(const struct dkk_sig_result *r)
{
	fputs("{\"d\":", stdout);
	json_string(stdout, r->domain);
	fputs(",\"s\":", stdout);
	json_string(stdout, r->selector);
	fputs(",\"i\":", stdout);
	json_string(stdout, r->identity);
	fputs(",\"a\":", stdout);
	json_string(stdout, r->algorithm);
	printf(",\"result\":\"%s\",\"reason\":", dkk_verdict_name(r->verdict));
	json_string(stdout, r->detail);
	printf(",\"reason_code\":\"%s\",\"dnssec\":\"%s\",\"key_bits\":%u,"
	    "\"testing\":%s}", dkk_reason_name(r->reason),
	    dkk_dnssec_name(r->dnssec), r->key_bits,
	    r->key_testing ? "true" : "false");
}

static void
print_json(const char *path, const dkk_verifier *v, const struct vopts *o,
    const char *ar)
{
	const char *author, *why;
	enum dkk_adsp adsp = dkk_verifier_adsp(v, &author);
	size_t i;

	fputs("{\"file\":", stdout);
	json_string(stdout, path);
	if (!o->adsp_only) {
		printf(",\"result\":\"%s\",",
		    dkk_verdict_name(dkk_verifier_verdict(v)));
		if (dkk_verifier_reason(v, &why) != DKK_R_OK) {
			printf("\"reason_code\":\"%s\",\"reason\":",
			    dkk_reason_name(dkk_verifier_reason(v, NULL)));
			json_string(stdout, why);
			putchar(',');
		}
		fputs("\"signatures\":[", stdout);
		for (i = 0; i < dkk_verifier_count(v); i++) {
			if (i > 0)
				putchar(',');
			print_sig_json(dkk_verifier_result(v, i));
		}
		putchar(']');
	}
	if (o->adsp) {
		printf(",\"adsp\":\"%s\",\"author_domain\":",
		    dkk_adsp_name(adsp));
		json_string(stdout, author);
	}
	fputs(",\"authentication_results\":", stdout);
	json_string(stdout, ar);
	fputs("}\n", stdout);
}

static void
print_plain(const char *path, const dkk_verifier *v, const struct vopts *o,
    const char *ar)
{
	const char *author, *why;
	enum dkk_adsp adsp = dkk_verifier_adsp(v, &author);
	size_t i;

	if (author == NULL)
		author = "no author address";
	if (o->adsp_only) {
		printf("%s: adsp=%s (%s)\n", path, dkk_adsp_name(adsp),
		    author);
		return;
	}
	printf("%s: %s\n", path, dkk_verdict_name(dkk_verifier_verdict(v)));
	for (i = 0; i < dkk_verifier_count(v); i++) {
		const struct dkk_sig_result *r = dkk_verifier_result(v, i);

		printf("  signature %zu: %s d=%s s=%s a=%s: %s\n", i + 1,
		    dkk_verdict_name(r->verdict),
		    r->domain ? r->domain : "?", r->selector ? r->selector : "?",
		    r->algorithm ? r->algorithm : "?", r->detail);
	}
	if (dkk_verifier_reason(v, &why) != DKK_R_OK)
		printf("  not evaluated: %s\n", why);
	else if (dkk_verifier_count(v) == 0)
		printf("  no DKIM signature\n");
	if (o->adsp)
		printf("  adsp: %s (%s)\n", dkk_adsp_name(adsp), author);
	printf("  %s\n", ar);
}

static int
adsp_ok(enum dkk_adsp a)
{
	return a == DKK_ADSP_NONE || a == DKK_ADSP_PASS ||
	    a == DKK_ADSP_UNKNOWN;
}

/* Verify one file: 0 pass, 1 not pass, -1 trouble. */
static int
verify_one(dkk_ctx *ctx, const char *path, const struct vopts *o)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	const char *name = f == stdin ? "(stdin)" : path;
	struct dkk_verify_opts vo = { .adsp = o->adsp };
	dkk_verifier *v = NULL;
	char *ar = NULL;
	int rc, ret = -1;

	if (f == NULL) {
		warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	if ((rc = dkk_verifier_new(ctx, &vo, &v)) != DKK_OK)
		warnx("%s: %s", name, dkk_strerror(rc));
	else if (feed_file(v, name, f) == 0) {
		if ((rc = dkk_verifier_wait(v)) != DKK_OK ||
		    (rc = dkk_verifier_ar(v, o->authserv_id,
		    DKK_FIELD_ONE_LINE | DKK_FIELD_VALUE_ONLY, &ar)) != DKK_OK)
			warnx("%s: %s", name, dkk_strerror(rc));
		else {
			if (o->json)
				print_json(name, v, o, ar);
			else
				print_plain(name, v, o, ar);
			ret = o->adsp_only ? !adsp_ok(dkk_verifier_adsp(v,
			    NULL)) : dkk_verifier_verdict(v) != DKK_PASS;
		}
	}
	free(ar);
	dkk_verifier_free(v);
	if (f != stdin)
		fclose(f);
	return ret;
}

static int
verify_setup(dkk_ctx *ctx, struct vopts *o)
{
	if (source_setup(ctx, &o->src) != 0)
		return -1;
	if (o->have_now)
		dkk_ctx_set_clock(ctx, fixed_clock, &o->now);
	dkk_ctx_set_allow_weak(ctx, o->allow_weak);
	if (o->authserv_id == NULL) {
		if (gethostname(o->host, sizeof(o->host) - 1) != 0)
			strcpy(o->host, "localhost");
		o->authserv_id = o->host;
	}
	return 0;
}

static int
verify_files(struct vopts *o, int n, char **files)
{
	static char *dash[] = { "-" };
	dkk_ctx *ctx;
	int i, r, worst = EXIT_PASS;

	if (dkk_ctx_new(&ctx) != DKK_OK) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	if (verify_setup(ctx, o) != 0) {
		dkk_ctx_free(ctx);
		return EXIT_TROUBLE;
	}
	if (n == 0) {
		n = 1;
		files = dash;
	}
	for (i = 0; i < n; i++) {
		fflush(stdout);
		r = verify_one(ctx, files[i], o);
		if (r < 0)
			worst = EXIT_TROUBLE;
		else if (r > 0 && worst == EXIT_PASS)
			worst = EXIT_NOPASS;
	}
	dkk_ctx_free(ctx);
	return worst;
}

static int
parse_opts(int argc, char **argv, struct vopts *o, const char *cmd,
    const char *help)
{
	enum { O_NOW = 256, O_WEAK, O_ADSP, O_ID, O_JSON, O_HELP };
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "now", required_argument, NULL, O_NOW },
		{ "allow-weak", no_argument, NULL, O_WEAK },
		{ "adsp", no_argument, NULL, O_ADSP },
		{ "authserv-id", required_argument, NULL, O_ID },
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
		case O_NOW:
			if (parse_int64(optarg, 0, 253402300799LL, &o->now) != 0)
				return usage_error(cmd, "bad --now '%s'", optarg);
			o->have_now = 1;
			break;
		case O_WEAK: o->allow_weak = 1; break;
		case O_ADSP: o->adsp = 1; break;
		case O_ID: o->authserv_id = optarg; break;
		case O_JSON: o->json = 1; break;
		case O_HELP:
			fputs(help, stdout);
			exit(0);
		default:
			return usage_error(cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	return source_check(cmd, &o->src);
}

int
cmd_verify(int argc, char **argv)
{
	struct vopts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_opts(argc, argv, &o, "verify", verify_usage)) >= 0)
		return rc;
	return verify_files(&o, argc - optind, argv + optind);
}

int
cmd_adsp(int argc, char **argv)
{
	struct vopts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_opts(argc, argv, &o, "adsp", adsp_usage)) >= 0)
		return rc;
	o.adsp = o.adsp_only = 1;
	return verify_files(&o, argc - optind, argv + optind);
}
