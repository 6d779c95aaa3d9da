/*
 * policy.c: dkimkit policy test and dkimkit policy check, the signing
 * policy of an opendkim.conf explained: what one message would get and
 * why, and what in the configuration is wrong before mail meets it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "settings.h"

static const char policy_usage[] =
    "usage: dkimkit policy test --opendkim-conf FILE --from ADDR\n"
    "                    [--client-ip IP] [--client-host NAME] [--auth USER]\n"
    "                    [--json] [--zone FILE | --dns ADDR[@PORT]]\n"
    "       dkimkit policy check --opendkim-conf FILE\n"
    "                    [--zone FILE | --dns ADDR[@PORT]]\n"
    "\n"
    "Read an OpenDKIM configuration (opendkim.conf with its KeyTable,\n"
    "SigningTable and InternalHosts) and decide as OpenDKIM would.\n"
    "\n"
    "test: would a message from ADDR, sent by this client, be signed, with\n"
    "which keys, and why (the table lines used, FILE:LINE).  Exit 0 when it\n"
    "would be signed, 1 when not.\n"
    "  --from ADDR       the author address (From), user@domain\n"
    "  --client-ip IP    the SMTP client's address (default 127.0.0.1)\n"
    "  --client-host N   the SMTP client's host name, for names in\n"
    "                    InternalHosts\n"
    "  --auth USER       the client authenticated (SMTP AUTH) as USER\n"
    "  --json            one JSON object: sign, signatures, unused,\n"
    "                    reason\n"
    "  --zone FILE, --dns ADDR[@PORT], --trust-anchor FILE, --timeout SECS\n"
    "                    where key records are looked up (RequirePublishedKey,\n"
    "                    and check); default: the system's DNS\n"
    "\n"
    "check: name every SigningTable line whose key is not in the KeyTable,\n"
    "every key file that cannot be read or that group or others can,\n"
    "every table line that can never match, and every key whose record\n"
    "in DNS is missing, revoked, holds another key or cannot be looked\n"
    "up, as FILE:LINE: Name: reason.  Exit 1 when there is any.\n";

struct popts {
	const char *conf;
	struct dkk_policy_client c;
	struct source_opts src;
	int json;
};

static void
policy_warn(void *arg, const char *warning)
{
	(void)arg;
	warnx("warning: %s", warning);
}

/* The policy, its warnings said on standard error. */
int
policy_open(dkk_ctx *ctx, const char *conf, dkk_policy **pp)
{
	static const char *const spell[DKS_NKEYS] = {
		[DKS_OPENDKIM_CONF] = "--opendkim-conf"
	};
	struct dks s;

	dks_init(&s, spell);
	if (dks_set(&s, DKS_OPENDKIM_CONF, conf) < 0 ||
	    dks_policy(&s, ctx, pp, policy_warn, NULL) < 0) {
		warnx("%s", s.err);
		return -1;
	}
	return 0;
}

/* ADDR, or "Name <ADDR>", read as the core reads a From field. */
char *
policy_address(const char *from)
{
	char *hdr, *addr = NULL;
	size_t n = strlen(from) + 16;

	if ((hdr = malloc(n)) == NULL)
		return NULL;
	snprintf(hdr, n, "From: %s\n\n", from);
	if (dkk_author_address(hdr, strlen(hdr), &addr) != DKK_OK)
		addr = NULL;
	free(hdr);
	return addr;
}

/* One signature's object; with problem, "problem" too. */
static void
print_json_sig(const struct dkk_policy_sig *s)
{
	fputs("{\"d\": ", stdout);
	json_string(stdout, s->domain);
	fputs(", \"s\": ", stdout);
	json_string(stdout, s->selector);
	fputs(", \"i\": ", stdout);
	json_string(stdout, s->identity);
	fputs(", \"a\": ", stdout);
	json_string(stdout, s->algorithm);
	fputs(", \"key\": ", stdout);
	json_string(stdout, s->keyfile);
	if (s->problem != NULL) {
		fputs(", \"problem\": ", stdout);
		json_string(stdout, s->problem);
	}
	putchar('}');
}

static void
print_json(const struct dkk_decision *d)
{
	size_t i;

	printf("{\"sign\": %s, \"signatures\": [", d->sign ? "true" : "false");
	for (i = 0; i < d->nsigs; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		print_json_sig(&d->sigs[i]);
	}
	fputs("], \"unused\": [", stdout);
	for (i = 0; i < d->nunused; i++) {
		fputs(i > 0 ? ", " : "", stdout);
		print_json_sig(&d->unused[i]);
	}
	fputs("], \"reason\": ", stdout);
	json_string(stdout, d->reason);
	puts("}");
}

static void
print_sig(const char *what, const struct dkk_policy_sig *s)
{
	printf("%s d=%s s=%s%s%s a=%s key=%s\n", what, s->domain, s->selector,
	    s->identity != NULL ? " i=" : "", s->identity != NULL ?
	    s->identity : "", s->algorithm, s->keyfile);
	printf("  matched %s", s->signing_line);
	if (s->key_line != NULL)
		printf(", key %s", s->key_line);
	putchar('\n');
	if (s->problem != NULL)
		printf("  not used: %s\n", s->problem);
}

static void
print_text(const struct dkk_decision *d)
{
	size_t i;

	printf("%s: %s\n", d->sign ? "sign" : "do not sign", d->reason);
	for (i = 0; i < d->nsigs; i++)
		print_sig(d->sign ? "signature" : "unused key", &d->sigs[i]);
	for (i = 0; i < d->nunused; i++)
		print_sig("unused key", &d->unused[i]);
}

static int
policy_test(dkk_ctx *ctx, dkk_policy *p, struct popts *o)
{
	struct dkk_decision d;
	char *addr;
	int rc;

	if ((addr = policy_address(o->c.from)) == NULL) {
		warnx("%s: not an address", o->c.from);
		return EXIT_TROUBLE;
	}
	o->c.from = addr;
	rc = dkk_policy_decide(p, &o->c, &d);
	free(addr);
	if (rc != DKK_OK) {
		ctx_warn(ctx);
		return EXIT_TROUBLE;
	}
	if (o->json)
		print_json(&d);
	else
		print_text(&d);
	rc = d.sign ? 0 : EXIT_NOPASS;
	dkk_decision_clear(&d);
	return fflush(stdout) == 0 ? rc : EXIT_TROUBLE;
}

static void
print_problem(void *arg, const char *problem)
{
	(void)arg;
	printf("%s\n", problem);
}

/* The configuration's problems, then each key's record in DNS. */
static int
policy_check(dkk_ctx *ctx, dkk_policy *p)
{
	int n = dkk_policy_check(p, print_problem, NULL), m = 0;

	if (n >= 0)
		m = dkk_policy_check_records(p, print_problem, NULL);
	if (n < 0 || m < 0) {
		ctx_warn(ctx);
		return EXIT_TROUBLE;
	}
	return n + m > 0 ? EXIT_NOPASS : 0;
}

static int
policy_run(const char *verb, struct popts *o)
{
	dkk_policy *p;
	dkk_ctx *ctx;
	int rc = EXIT_TROUBLE;

	if (dkk_ctx_new(&ctx) != DKK_OK) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	if (source_setup(ctx, &o->src) == 0 &&
	    policy_open(ctx, o->conf, &p) == 0) {
		rc = strcmp(verb, "test") == 0 ? policy_test(ctx, p, o) :
		    policy_check(ctx, p);
		dkk_policy_free(p);
	}
	dkk_ctx_free(ctx);
	return rc;
}

int
cmd_policy(int argc, char **argv)
{
	enum { O_CONF = 256, O_FROM, O_IP, O_HOST, O_AUTH, O_JSON, O_HELP };
	static const struct option longopts[] = {
		{ "opendkim-conf", required_argument, NULL, O_CONF },
		{ "from", required_argument, NULL, O_FROM },
		{ "client-ip", required_argument, NULL, O_IP },
		{ "client-host", required_argument, NULL, O_HOST },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		SOURCE_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *verb = argc > 1 ? argv[1] : "";
	struct popts o;
	int c;

	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		fputs(policy_usage, stdout);
		return 0;
	}
	if (strcmp(verb, "test") != 0 && strcmp(verb, "check") != 0)
		return usage_error("policy", "test or check, not '%s'", verb);
	memset(&o, 0, sizeof(o));
	o.c.ip = "127.0.0.1";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+", longopts,
	    NULL)) != -1) {
		if (source_option(&o.src, c, optarg))
			continue;
		switch (c) {
		case O_CONF: o.conf = optarg; break;
		case O_FROM: o.c.from = optarg; break;
		case O_IP: o.c.ip = optarg; break;
		case O_HOST: o.c.host = optarg; break;
		case O_AUTH: o.c.auth = optarg; break;
		case O_JSON: o.json = 1; break;
		case O_HELP:
			fputs(policy_usage, stdout);
			return 0;
		default:
			return usage_error("policy", "unknown option '%s'",
			    argv[optind]);
		}
	}
	if (o.conf == NULL)
		return usage_error("policy", "--opendkim-conf is required");
	if (optind < argc - 1)
		return usage_error("policy", "unexpected '%s'",
		    argv[optind + 1]);
	if (strcmp(verb, "test") == 0 && o.c.from == NULL)
		return usage_error("policy", "test needs --from");
	if (strcmp(verb, "check") == 0 && (o.c.from != NULL || o.json ||
	    o.c.auth != NULL || o.c.host != NULL))
		return usage_error("policy",
		    "check takes only --opendkim-conf and a key source");
	if ((c = source_check("policy", &o.src)) >= 0)
		return c;
	return policy_run(verb, &o);
}
