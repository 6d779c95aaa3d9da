/*
 * seal.c: dkimkit seal.  The message is verified (DKIM and its ARC
 * chain) and written out with the next ARC set on top (RFC 8617 5.1),
 * CRLF line ends, as dkimkit sign writes it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char seal_usage[] =
    "usage: dkimkit seal --key FILE|pkcs11:URI --domain D --selector S\n"
    "                    [--authserv-id ID] [--zone FILE | --dns ADDR[@PORT]]\n"
    "                    [--trust-anchor FILE] [--timeout TIME]\n"
    "                    [--headers a:b:c] [--allow-weak] [--pin-file FILE]\n"
    "                    [--now UNIXTIME] [--received FILE] [FILE]\n"
    "\n"
    "Verify FILE (standard input when none): its DKIM signatures and its\n"
    "ARC chain; then write it to standard output, CRLF line ends, with the\n"
    "next ARC set on top (RFC 8617): ARC-Seal, ARC-Message-Signature and\n"
    "ARC-Authentication-Results holding the verdicts just found.  A chain\n"
    "whose latest seal says cv=fail, or that has 50 sets, gets no new set\n"
    "(the message is written unchanged, the reason said on standard error).\n"
    "\n"
    "  --key FILE        private key (RSA or Ed25519), or a pkcs11: URI\n"
    "  --domain D        sealing domain (d=)\n"
    "  --selector S      selector (s=)\n"
    "  --authserv-id ID  authserv-id of the ARC-Authentication-Results\n"
    "                    (default: this host's name)\n"
    "  --headers LIST    fields the ARC-Message-Signature signs (default:\n"
    "                    those dkimkit sign signs, and DKIM-Signature)\n"
    "  --zone, --dns, --trust-anchor, --timeout, --allow-weak, --now:\n"
    "                    as for dkimkit verify\n"
    "  --pin-file FILE   token PIN on the first line of FILE\n"
    "  --received FILE   the message as this relay received it, before\n"
    "                    it changed it (a footer, a Subject tag): its\n"
    "                    verdicts and chain go into the new set, which\n"
    "                    signs FILE as it is now\n"
    "\n"
    "Exit status: 0 sealed, 1 not sealed (the message is still written),\n"
    "2 usage, input or internal error.\n";

struct seal_o {
	struct source_opts src;
	struct dkk_seal_opts so;
	const char *keyfile;
	const char *pinfile;
	const char *received;
	long long now;
	int have_now;
	int allow_weak;
	char host[256];
};

static int64_t
fixed_clock(void *arg)
{
	return *(const long long *)arg;
}

static int
seal_feed(dkk_verifier *v, FILE *f, const char *name)
{
	char buf[65536];
	size_t n;
	int rc;

	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if ((rc = dkk_verifier_update(v, buf, n)) != DKK_OK) {
			warnx("%s: %s", name, dkk_strerror(rc));
			return -1;
		}
	if (ferror(f)) {
		warnx("%s: %s", name, strerror(errno));
		return -1;
	}
	if ((rc = dkk_verifier_wait(v)) != DKK_OK) {
		warnx("%s: %s", name, dkk_strerror(rc));
		return -1;
	}
	return 0;
}

/* --received: the message as it came in, verified; NULL on trouble
 * (said). */
static dkk_verifier *
seal_received(dkk_ctx *ctx, const char *path)
{
	struct dkk_verify_opts vo = { .arc = 1 };
	dkk_verifier *v = NULL;
	FILE *f;
	int rc;

	if ((f = fopen(path, "rb")) == NULL) {
		warnx("%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((rc = dkk_verifier_new(ctx, &vo, &v)) != DKK_OK)
		warnx("%s: %s", path, dkk_strerror(rc));
	else if (seal_feed(v, f, path) != 0) {
		dkk_verifier_free(v);
		v = NULL;
	}
	fclose(f);
	return v;
}

/* Verify, seal, write: the exit status. */
static int
seal_stream(dkk_ctx *ctx, const struct seal_o *o, FILE *f, const char *name)
{
	struct dkk_verify_opts vo = { .arc = 1 };
	struct dkk_seal_opts so = o->so;
	struct dkk_arc_result r;
	dkk_verifier *v = NULL, *rv = NULL;
	char *fields = NULL;
	int rc, ret = EXIT_TROUBLE;

	if (o->received != NULL &&
	    (rv = seal_received(ctx, o->received)) == NULL)
		return EXIT_TROUBLE;
	so.received = rv;
	if ((rc = dkk_verifier_new(ctx, &vo, &v)) != DKK_OK)
		warnx("%s: %s", name, dkk_strerror(rc));
	else if (seal_feed(v, f, name) == 0 &&
	    dkk_verifier_arc(v, &r) == DKK_OK) {
		if ((rc = dkk_verifier_seal(v, &so, 0, &fields)) == DKK_EINVAL &&
		    rv != NULL)
			warnx("%s: sealing: %s does not carry the same ARC "
			    "sets", name, o->received);
		else if (rc != DKK_OK)
			warnx("%s: sealing: %s", name, dkk_strerror(rc));
		else if (fields == NULL) {
			warnx("%s: not sealed: the chain %s", name,
			    r.instances >= 50 ? "has 50 sets" :
			    "already failed (cv=fail)");
			ret = sign_emit(f, NULL, 0, name, stdout) == 0 ?
			    EXIT_NOPASS : EXIT_TROUBLE;
		} else
			ret = sign_emit(f, &fields, 1, name, stdout);
	}
	free(fields);
	dkk_verifier_free(v);
	dkk_verifier_free(rv);
	return ret;
}

static int
seal_run(struct seal_o *o, const char *path)
{
	dkk_ctx *ctx;
	dkk_key *key;
	FILE *f;
	int ret = EXIT_TROUBLE;

	if (dkk_ctx_new(&ctx) != DKK_OK) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	if (o->have_now)
		dkk_ctx_set_clock(ctx, fixed_clock, &o->now);
	dkk_ctx_set_allow_weak(ctx, o->allow_weak);
	if (source_setup(ctx, &o->src) != 0)
		;
	else if (pin_setup(ctx, o->pinfile) != DKK_OK ||
	    dkk_ctx_load_key(ctx, o->keyfile, &key) != DKK_OK)
		ctx_warn(ctx);
	else if ((f = open_input(path)) == NULL)
		warnx("%s: %s", path, strerror(errno));
	else {
		o->so.key = key;
		ret = seal_stream(ctx, o, f, strcmp(path, "-") == 0 ?
		    "(stdin)" : path);
		fclose(f);
	}
	dkk_ctx_free(ctx);
	return ret;
}

static int
seal_parse(int argc, char **argv, struct seal_o *o)
{
	enum { O_KEY = 256, O_DOMAIN, O_SEL, O_ID, O_HEADERS, O_WEAK,
	    O_PIN, O_NOW, O_HELP, O_RECEIVED };
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "key", required_argument, NULL, O_KEY },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "selector", required_argument, NULL, O_SEL },
		{ "authserv-id", required_argument, NULL, O_ID },
		{ "headers", required_argument, NULL, O_HEADERS },
		{ "allow-weak", no_argument, NULL, O_WEAK },
		{ "pin-file", required_argument, NULL, O_PIN },
		{ "now", required_argument, NULL, O_NOW },
		{ "received", required_argument, NULL, O_RECEIVED },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (source_option(&o->src, c, optarg))
			continue;
		switch (c) {
		case O_KEY: o->keyfile = optarg; break;
		case O_DOMAIN: o->so.domain = optarg; break;
		case O_SEL: o->so.selector = optarg; break;
		case O_ID: o->so.authserv_id = optarg; break;
		case O_HEADERS: o->so.headers = optarg; break;
		case O_WEAK: o->allow_weak = 1; break;
		case O_PIN: o->pinfile = optarg; break;
		case O_RECEIVED: o->received = optarg; break;
		case O_NOW:
			if (parse_int64(optarg, 0, 253402300799LL,
			    &o->now) != 0)
				return usage_error("seal", "bad --now '%s'",
				    optarg);
			o->have_now = 1;
			break;
		case O_HELP:
			fputs(seal_usage, stdout);
			exit(0);
		default:
			return usage_error("seal", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (o->keyfile == NULL || o->so.domain == NULL ||
	    o->so.selector == NULL)
		return usage_error("seal", "--key, --domain and --selector "
		    "are required");
	if (argc - optind > 1)
		return usage_error("seal", "one FILE at most");
	return source_check("seal", &o->src);
}

int
cmd_seal(int argc, char **argv)
{
	struct seal_o o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = seal_parse(argc, argv, &o)) >= 0)
		return rc;
	if (o.so.authserv_id == NULL) {
		if (gethostname(o.host, sizeof(o.host) - 1) != 0)
			strcpy(o.host, "localhost");
		o.so.authserv_id = o.host;
	}
	return seal_run(&o, optind < argc ? argv[optind] : "-");
}
