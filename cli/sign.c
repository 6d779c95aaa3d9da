/*
 * sign.c: dkimkit sign.  The message is read once to sign it and once more
 * to copy it out below the new field, with line ends made CRLF; standard
 * input is spooled to a temporary file so memory stays flat.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char sign_usage[] =
    "usage: dkimkit sign --key FILE|pkcs11:URI --domain D --selector S\n"
    "       dkimkit sign --keydir DIR --domain D\n"
    "       dkimkit sign --opendkim-conf FILE [--client-ip IP]\n"
    "                    [--client-host NAME] [--auth USER]\n"
    "                    [--zone FILE | --dns ADDR[@PORT]]\n"
    "                    [--algorithm rsa-sha256|ed25519-sha256]\n"
    "                    [--canon HDR/BODY] [--headers a:b:c] [--oversign]\n"
    "                    [--identity I] [--expire SECS] [--body-length]\n"
    "                    [--report-request]\n"
    "                    [--pin-file FILE] [--now UNIXTIME] [--self-verify]\n"
    "                    [--atps AUTHOR [--atps-hash none|sha1|sha256]]\n"
    "                    [FILE]\n"
    "\n"
    "Sign FILE (standard input when none) and write it to standard output\n"
    "with the DKIM-Signature field on top and CRLF line ends.\n"
    "\n"
    "  --key FILE        private key: PEM or DER, PKCS#1 or PKCS#8, or a\n"
    "                    pkcs11: URI (RFC 7512) of a key in a token\n"
    "  --keydir DIR      sign with the active key of D in this key\n"
    "                    directory (see dkimkit-key(1))\n"
    "  --pin-file FILE   token PIN on the first line of FILE (default:\n"
    "                    $DKIMKIT_PIN, or pin-source in the URI)\n"
    "  --domain D        signing domain (d=)\n"
    "  --selector S      selector (s=)\n"
    "  --algorithm A     must match the key; default from the key\n"
    "  --canon HDR/BODY  simple or relaxed each (default relaxed/relaxed)\n"
    "  --headers LIST    fields to sign, colon-separated (must have From)\n"
    "  --oversign        list each field once more than it occurs\n"
    "  --report-request  add r=y: ask for failure reports (RFC 6651)\n"
    "  --identity I      agent or user identifier (i=), within D\n"
    "  --expire SECS     signature expires SECS after signing (x=)\n"
    "  --body-length     add l= (lets others append to the body)\n"
    "  --now UNIXTIME    sign as of this time (t=)\n"
    "  --atps AUTHOR     a third-party signature for AUTHOR's mail (RFC\n"
    "                    6541): add atps=AUTHOR and atpsh=; AUTHOR\n"
    "                    publishes the record `dkimkit key atps-record`\n"
    "                    prints\n"
    "  --atps-hash H     atpsh=: none, sha1 or sha256 (default sha256)\n"
    "  --self-verify     verify the signed message as it is written out,\n"
    "                    against the key's public half (no DNS); when it\n"
    "                    fails, write nothing, say why (explain's class)\n"
    "                    and exit 1\n"
    "  --opendkim-conf FILE  sign as this OpenDKIM configuration says (its\n"
    "                    SigningTable, KeyTable, InternalHosts...): with\n"
    "                    each key it gives, or not at all (the message is\n"
    "                    passed through, the reason said on standard\n"
    "                    error); see 'dkimkit policy test'\n"
    "  --client-ip IP    the SMTP client, for InternalHosts (default\n"
    "                    127.0.0.1)\n"
    "  --client-host N   its host name, for names in InternalHosts\n"
    "  --auth USER       the client authenticated as USER\n"
    "  --zone FILE, --dns ADDR[@PORT], --trust-anchor FILE, --timeout SECS\n"
    "                    with --opendkim-conf: where RequirePublishedKey\n"
    "                    looks up key records (default: the system's DNS)\n";

struct sopts {
	struct dkk_sign_opts so;
	const char *keyfile;
	const char *keydir;
	const char *pinfile;
	dkk_keydir *kd;
	const char *algorithm;
	const char *conf;		/* --opendkim-conf */
	struct dkk_policy_client client;
	struct source_opts src;		/* with --opendkim-conf */
	int nsrc;
	int manual;			/* options the policy would decide */
	int client_opts;		/* --client-ip, --client-host, --auth */
	long long now;
	int have_now;
	int self_verify;		/* --self-verify */
};

static int64_t
fixed_clock(void *arg)
{
	return *(const long long *)arg;
}

/* Copy f to out with bare LF made CRLF. */
static int
copy_crlf(FILE *f, FILE *out)
{
	int c, prev = 0;

	while ((c = getc(f)) != EOF) {
		if (c == '\n' && prev != '\r')
			putc('\r', out);
		putc(c, out);
		prev = c;
	}
	return ferror(f) ? -1 : 0;
}

/* Standard input cannot be read twice: spool it. */
FILE *
open_input(const char *path)
{
	char buf[65536];
	FILE *t;
	size_t n;

	if (strcmp(path, "-") != 0)
		return fopen(path, "rb");
	if ((t = tmpfile()) == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (fwrite(buf, 1, n, t) != n)
			break;
	if (ferror(stdin) || ferror(t) || fseek(t, 0, SEEK_SET) != 0) {
		fclose(t);
		return NULL;
	}
	return t;
}

/* One signature over f, from its start: *field to free. */
int
sign_one(dkk_ctx *ctx, const struct dkk_sign_opts *so, FILE *f,
    const char *name, char **field)
{
	dkk_signer *s;
	char buf[65536];
	size_t n;
	int rc;

	*field = NULL;
	if (fseek(f, 0, SEEK_SET) != 0) {
		warnx("%s: %s", name, strerror(errno));
		return EXIT_TROUBLE;
	}
	if ((rc = dkk_signer_new(ctx, so, &s)) != DKK_OK) {
		ctx_warn(ctx);
		return EXIT_TROUBLE;
	}
	while (rc == DKK_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		rc = dkk_signer_update(s, buf, n);
	if (rc == DKK_OK && ferror(f)) {
		warnx("%s: %s", name, strerror(errno));
		rc = DKK_EIO;
	} else if (rc == DKK_OK) {
		rc = dkk_signer_final(s, 0, field);
	}
	if (rc != DKK_OK && rc != DKK_EIO)
		warnx("%s: %s", name, dkk_ctx_error(ctx));
	dkk_signer_free(s);
	return rc == DKK_OK ? 0 : EXIT_TROUBLE;
}

/* The new fields on top, then f with CRLF line ends, to out. */
int
sign_emit(FILE *f, char *const *fields, size_t n, const char *name,
    FILE *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(out, "%s\r\n", fields[i]);
	if (fseek(f, 0, SEEK_SET) != 0 || copy_crlf(f, out) != 0) {
		warnx("%s: %s", name, strerror(errno));
		return EXIT_TROUBLE;
	}
	return fflush(out) == 0 ? 0 : EXIT_TROUBLE;
}

/* --self-verify: the signed message goes to a temporary file, is verified
 * there, and only a message that passes is written out (a failure is a
 * message held back: exit status 1, the class on standard error). */
static int
sign_checked(const struct sopts *o, FILE *f, char *field, const char *name)
{
	FILE *t = tmpfile();
	int rc;

	if (t == NULL) {
		warnx("%s: %s", name, strerror(errno));
		return EXIT_TROUBLE;
	}
	if ((rc = sign_emit(f, &field, 1, name, t)) == 0) {
		rc = self_verify(o->so.key, o->so.domain, o->so.selector,
		    o->have_now ? fixed_clock : NULL, (void *)&o->now, t, name);
		rc = rc < 0 ? EXIT_TROUBLE : rc > 0 ? EXIT_NOPASS :
		    sign_emit(t, NULL, 0, name, stdout);
	}
	fclose(t);
	return rc;
}

static int
sign_stream(dkk_ctx *ctx, const struct sopts *o, FILE *f, const char *name)
{
	char *field;
	int rc;

	if ((rc = sign_one(ctx, &o->so, f, name, &field)) == 0)
		rc = o->self_verify ? sign_checked(o, f, field, name) :
		    sign_emit(f, &field, 1, name, stdout);
	free(field);
	return rc;
}

/* --key, or the active key of --keydir (then s= is its selector). */
static int
sign_key(dkk_ctx *ctx, struct sopts *o, const dkk_key **key)
{
	dkk_key *k;
	int rc;

	if ((rc = pin_setup(ctx, o->pinfile)) != DKK_OK)
		return rc;
	if (o->keydir == NULL) {
		rc = dkk_ctx_load_key(ctx, o->keyfile, &k);
		*key = k;
		return rc;
	}
	if ((rc = dkk_keydir_new(ctx, o->keydir, &o->kd)) != DKK_OK)
		return rc;
	rc = dkk_keydir_active(o->kd, o->so.domain, key, &o->so.selector);
	if (rc == DKK_OK)
		o->keyfile = o->so.selector;
	return rc;
}

/* --opendkim-conf: the policy decides; ctx is freed here. */
static int
sign_policy_file(dkk_ctx *ctx, struct sopts *o, const char *path,
    const char *name)
{
	FILE *f;
	int rc = EXIT_TROUBLE;

	if (pin_setup(ctx, o->pinfile) != DKK_OK)
		ctx_warn(ctx);
	else if (source_setup(ctx, &o->src) != 0)
		;
	else if ((f = open_input(path)) == NULL)
		warnx("%s: %s", name, strerror(errno));
	else {
		rc = sign_by_policy(ctx, o->conf, &o->client, f, name);
		fclose(f);
	}
	dkk_ctx_free(ctx);
	return rc;
}

static int
sign_file(struct sopts *o, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	const dkk_key *key;
	dkk_ctx *ctx;
	FILE *f;
	int rc;

	if (dkk_ctx_new(&ctx) != DKK_OK) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	if (o->have_now)
		dkk_ctx_set_clock(ctx, fixed_clock, &o->now);
	if (o->conf != NULL)
		return sign_policy_file(ctx, o, path, name);
	if ((rc = sign_key(ctx, o, &key)) != DKK_OK) {
		ctx_warn(ctx);
		dkk_keydir_free(o->kd);
		dkk_ctx_free(ctx);
		return EXIT_TROUBLE;
	}
	o->so.key = key;
	rc = EXIT_TROUBLE;
	if (o->algorithm != NULL && strncmp(o->algorithm, dkk_key_type(key),
	    strlen(dkk_key_type(key))) != 0)
		warnx("%s: the key is %s, not for %s", o->keyfile,
		    dkk_key_type(key), o->algorithm);
	else if ((f = open_input(path)) == NULL)
		warnx("%s: %s", name, strerror(errno));
	else {
		rc = sign_stream(ctx, o, f, name);
		fclose(f);
	}
	dkk_keydir_free(o->kd);
	dkk_ctx_free(ctx);
	return rc;
}

int
cmd_sign(int argc, char **argv)
{
	enum { O_KEY = 256, O_KEYDIR, O_PINFILE, O_DOMAIN, O_SEL, O_ALG,
	    O_CANON, O_HEADERS, O_OVER, O_REPREQ, O_ID, O_EXPIRE, O_LEN, O_NOW,
	    O_HELP, O_CONF, O_IP, O_HOST, O_AUTH, O_SELF, O_ATPS, O_ATPS_HASH };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "keydir", required_argument, NULL, O_KEYDIR },
		{ "pin-file", required_argument, NULL, O_PINFILE },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "selector", required_argument, NULL, O_SEL },
		{ "algorithm", required_argument, NULL, O_ALG },
		{ "canon", required_argument, NULL, O_CANON },
		{ "headers", required_argument, NULL, O_HEADERS },
		{ "oversign", no_argument, NULL, O_OVER },
		{ "report-request", no_argument, NULL, O_REPREQ },
		{ "identity", required_argument, NULL, O_ID },
		{ "expire", required_argument, NULL, O_EXPIRE },
		{ "body-length", no_argument, NULL, O_LEN },
		{ "now", required_argument, NULL, O_NOW },
		{ "help", no_argument, NULL, O_HELP },
		{ "opendkim-conf", required_argument, NULL, O_CONF },
		{ "client-ip", required_argument, NULL, O_IP },
		{ "client-host", required_argument, NULL, O_HOST },
		{ "auth", required_argument, NULL, O_AUTH },
		SOURCE_LONGOPTS,
		{ "self-verify", no_argument, NULL, O_SELF },
		{ "atps", required_argument, NULL, O_ATPS },
		{ "atps-hash", required_argument, NULL, O_ATPS_HASH },
		{ NULL, 0, NULL, 0 }
	};
	struct sopts o;
	long long v;
	int c;

	memset(&o, 0, sizeof(o));
	o.so.header_canon = o.so.body_canon = DKK_CANON_RELAXED;
	o.client.ip = "127.0.0.1";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (source_option(&o.src, c, optarg)) {
			o.nsrc++;
			continue;
		}
		if (c != O_PINFILE && c != O_NOW && c != O_HELP &&
		    c != O_CONF && c != O_IP && c != O_HOST && c != O_AUTH &&
		    c != O_SELF)
			o.manual++;
		if (c == O_IP || c == O_HOST || c == O_AUTH)
			o.client_opts++;
		switch (c) {
		case O_CONF: o.conf = optarg; break;
		case O_IP: o.client.ip = optarg; break;
		case O_HOST: o.client.host = optarg; break;
		case O_AUTH: o.client.auth = optarg; break;
		case O_KEY: o.keyfile = optarg; break;
		case O_KEYDIR: o.keydir = optarg; break;
		case O_PINFILE: o.pinfile = optarg; break;
		case O_DOMAIN: o.so.domain = optarg; break;
		case O_SEL: o.so.selector = optarg; break;
		case O_ALG:
			if (strcmp(optarg, "rsa-sha256") != 0 &&
			    strcmp(optarg, "ed25519-sha256") != 0)
				return usage_error("sign",
				    "unknown algorithm '%s'", optarg);
			o.algorithm = optarg;
			break;
		case O_CANON:
			if (dkk_canon_parse(optarg, &o.so.header_canon,
			    &o.so.body_canon) != DKK_OK)
				return usage_error("sign",
				    "bad canonicalization '%s'", optarg);
			break;
		case O_HEADERS: o.so.headers = optarg; break;
		case O_OVER: o.so.oversign = 1; break;
		case O_REPREQ: o.so.report_request = 1; break;
		case O_ID: o.so.identity = optarg; break;
		case O_EXPIRE:
			if (parse_int64(optarg, 1, 1LL << 40, &v) != 0)
				return usage_error("sign", "bad --expire '%s'",
				    optarg);
			o.so.expire = v;
			break;
		case O_LEN: o.so.body_length = 1; break;
		case O_SELF: o.self_verify = 1; break;
		case O_ATPS: o.so.atps = optarg; break;
		case O_ATPS_HASH: o.so.atps_hash = optarg; break;
		case O_NOW:
			if (parse_int64(optarg, 0, 253402300799LL, &o.now) != 0)
				return usage_error("sign", "bad --now '%s'",
				    optarg);
			o.have_now = 1;
			break;
		case O_HELP:
			fputs(sign_usage, stdout);
			return 0;
		default:
			return usage_error("sign", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return usage_error("sign", "one message at a time");
	if (o.conf != NULL && o.manual > 0)
		return usage_error("sign", "--opendkim-conf takes the keys "
		    "and how to sign from the configuration");
	if (o.conf != NULL && (c = source_check("sign", &o.src)) >= 0)
		return c;
	if (o.conf != NULL)
		return sign_file(&o, optind < argc ? argv[optind] : "-");
	if (o.nsrc > 0)
		return usage_error("sign", "--zone, --dns, --trust-anchor and "
		    "--timeout go with --opendkim-conf");
	if (o.client_opts > 0)
		return usage_error("sign", "--client-ip, --client-host and "
		    "--auth go with --opendkim-conf");
	if (o.keydir != NULL && (o.keyfile != NULL || o.so.selector != NULL))
		return usage_error("sign",
		    "--keydir excludes --key and --selector");
	if (o.keydir == NULL && (o.keyfile == NULL || o.so.selector == NULL))
		return usage_error("sign",
		    "--key and --selector (or --keydir) are required");
	if (o.so.domain == NULL)
		return usage_error("sign", "--domain is required");
	if (argc - optind > 1)
		return usage_error("sign", "one message at a time");
	return sign_file(&o, optind < argc ? argv[optind] : "-");
}
