/*
 * verify.c: dkimkit verify and dkimkit adsp.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "store.h"

static const char verify_usage[] =
    "usage: dkimkit verify [--zone FILE | --dns ADDR[@PORT]]\n"
    "                      [--trust-anchor FILE] [--timeout TIME]\n"
    "                      [--now UNIXTIME] [--allow-weak] [--adsp]\n"
    "                      [--authserv-id ID] [--json] [--dmarc]\n"
    "                      [--rfc7489] [--client-ip IP] [--helo NAME]\n"
    "                      [--mail-from ADDR] [--arc]\n"
    "                      [--trusted-sealer DOMAIN]... [--arc-forwarded]\n"
    "                      [--atps] [--atps-adsp] [--store URI]\n"
    "                      [--reports [--report-dir DIR | --sendmail PATH |\n"
    "                      --report-smtp HOST:PORT]\n"
    "                      [--report-from ADDR] [--redact-key FILE]\n"
    "                      [--report-state FILE] [--report-suppress FILE]\n"
    "                      [--report-rate N] [--report-global-rate N]\n"
    "                      [--report-key FILE --report-domain D\n"
    "                      --report-selector S]] [FILE...]\n"
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
    "  --atps               also check third-party signatures an author\n"
    "                       authorizes (RFC 6541): dkim-atps in the A-R\n"
    "                       field, \"atps\" on each JSON signature\n"
    "  --atps-adsp          an ATPS-authorized signature counts as the\n"
    "                       author's for ADSP (implies --atps)\n"
    "  --arc                also validate the ARC chain (RFC 8617)\n"
    "  --trusted-sealer D   a sealer trusted to vouch for forwarded mail\n"
    "                       (repeatable, implies --arc): a DMARC or ADSP\n"
    "                       failure it recorded as a pass, in a chain\n"
    "                       that passes, gets disposition none\n"
    "  --arc-forwarded      with --dmarc: a DMARC reject of mail whose ARC\n"
    "                       chain passes, no trusted sealer vouching,\n"
    "                       gets quarantine (implies --arc)\n"
    "  --authserv-id ID     authserv-id of the Authentication-Results field\n"
    "                       (default: this host's name)\n"
    "  --json               one JSON object per file, one per line\n"
    "  --dmarc              also evaluate DMARC (RFC 9989)\n"
    "  --rfc7489            DMARC as RFC 7489 has it (Public Suffix List,\n"
    "                       pct=); implies --dmarc\n"
    "  --client-ip IP       the SMTP client: check SPF (RFC 7208) of\n"
    "                       --mail-from (or of --helo without it)\n"
    "  --helo NAME          the HELO/EHLO name\n"
    "  --mail-from ADDR     the MAIL FROM address (\"\" for <>)\n"
    "  --reports            send the failure reports signers ask for with\n"
    "                       r=y (RFC 6651), by sendmail -t -f ''; with\n"
    "                       --dmarc also those a DMARC record asks for\n"
    "                       with ruf= and fo= (RFC 9991)\n"
    "  --report-dir DIR     write each report to DIR as a .eml file instead\n"
    "  --sendmail PATH      the sendmail program (/usr/sbin/sendmail)\n"
    "  --report-smtp HOST:PORT  send by SMTP there instead, MAIL FROM:<>\n"
    "  --report-from ADDR   From: of the reports (postmaster@localhost)\n"
    "  --redact-key FILE    redact local parts with this HMAC key (RFC 6590)\n"
    "  --report-state FILE  rate-limit state kept across runs\n"
    "  --report-suppress FILE  addresses or domains never reported to\n"
    "  --report-rate N      reports per address per hour (default 1)\n"
    "  --report-global-rate N  reports per hour in all (default 100)\n"
    "  --report-key FILE    DKIM-sign the reports with this key, as\n"
    "                       --report-domain D and --report-selector S\n"
    "  --store URI          record each message in the observation store:\n"
    "                       a file or sqlite:PATH, or postgresql://...;\n"
    "                       trouble there is a warning, never a verdict\n"
    "\n"
    "Exit status: 0 every message passes, 1 some message does not,\n"
    "2 usage, input or internal error.  A message passes when a DKIM\n"
    "signature passes; with --dmarc, when DMARC passes, or fails and a\n"
    "trusted sealer's override makes its disposition none, or finds no\n"
    "policy and a DKIM signature passes.\n";

static const char explain_usage[] =
    "usage: dkimkit explain [--zone FILE | --dns ADDR[@PORT]]\n"
    "                       [--trust-anchor FILE] [--timeout TIME]\n"
    "                       [--now UNIXTIME] [--allow-weak] [--adsp]\n"
    "                       [--authserv-id ID] [--json] FILE...\n"
    "\n"
    "Verify every DKIM-Signature of each FILE as verify does, and for each\n"
    "one that fails say why: the class of the change made after signing\n"
    "(body-appended, body-changed, subject-tagged, header-added,\n"
    "header-changed, header-unknown; key, dns, time, algorithm, syntax,\n"
    "limit, internal), the field concerned and what to do about it.\n"
    "Options as for verify; --json adds \"class\", \"field\", \"detail\"\n"
    "and \"advice\" to each signature object.\n"
    "\n"
    "Exit status: as for verify (the verdicts are the same).\n";

static const char adsp_usage[] =
    "usage: dkimkit adsp [--zone FILE | --dns ADDR[@PORT]]\n"
    "                    [--trust-anchor FILE] [--timeout TIME]\n"
    "                    [--now UNIXTIME] [--allow-weak] [--atps-adsp]\n"
    "                    [--json] [FILE...]\n"
    "\n"
    "Evaluate Author Domain Signing Practices (RFC 5617) for each FILE\n"
    "(standard input when none): none, pass, unknown, fail, discard,\n"
    "nxdomain, temperror or permerror.  With --atps-adsp a signature the\n"
    "author authorizes by ATPS (RFC 6541) counts as the author's own.\n"
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
	int arc;
	int atps;
	int atps_adsp;
	const char **sealers;	/* --trusted-sealer, NULL-terminated */
	size_t nsealers;
	int arc_forwarded;	/* --arc-forwarded */
	int json;
	int explain;
	const char *authserv_id;
	char host[256];
	int dmarc;
	int rfc7489;
	struct dkk_spf_query spfq;
	struct dkk_spf_facts spf;	/* evaluated once, for every file */
	char *spf_domain;
	struct report_cli rep;	/* --reports (cli/report.c) */
	char *reports;		/* one message's "reports" array */
	const char *store_uri;	/* --store */
	dkst *store;		/* NULL: not recording (or not opened) */
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
print_sig_json(const dkk_verifier *v, size_t i, const struct vopts *o)
{
	const struct dkk_sig_result *r = dkk_verifier_result(v, i);

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
	    "\"testing\":%s", dkk_reason_name(r->reason),
	    dkk_dnssec_name(r->dnssec), r->key_bits,
	    r->key_testing ? "true" : "false");
	if (o->explain)
		explain_json(v, i);
	if (o->atps)
		atps_json(v, i);
	putchar('}');
}

static const char *
json_bool(int b)
{
	return b ? "true" : "false";
}

/* null, or who vouched and the report's reason type and comment. */
static void
print_override_json(int overridden, const char *sealer, unsigned instance,
    const char *reason, const char *comment)
{
	if (!overridden) {
		fputs("null", stdout);
		return;
	}
	fputs("{\"sealer\":", stdout);
	json_string(stdout, sealer);
	printf(",\"instance\":%u,\"reason\":", instance);
	json_string(stdout, reason);
	fputs(",\"comment\":", stdout);
	json_string(stdout, comment);
	putchar('}');
}

static void
print_override_plain(int overridden, const char *sealer, unsigned instance,
    const char *reason)
{
	if (overridden)
		printf("  overridden (%s): trusted sealer %s of instance %u "
		    "vouched for it\n", reason, sealer, instance);
}

static void
print_dmarc_json(const dkk_verifier *v, const struct vopts *o)
{
	struct dkk_dmarc_result d;

	fputs(",\"spf\":{\"result\":", stdout);
	json_string(stdout, dkk_spf_result_name(o->spf.result));
	fputs(",\"scope\":", stdout);
	json_string(stdout, dkk_spf_scope_name(o->spf.scope));
	fputs(",\"domain\":", stdout);
	json_string(stdout, o->spf.domain);
	fputs("}", stdout);
	if (dkk_verifier_dmarc(v, &d) != DKK_OK)
		return;
	fputs(",\"dmarc\":{\"result\":", stdout);
	json_string(stdout, dkk_dmarc_result_name(d.result));
	fputs(",\"domain\":", stdout);
	json_string(stdout, d.domain);
	fputs(",\"policy_domain\":", stdout);
	json_string(stdout, d.policy_domain);
	printf(",\"policy\":\"%s\",\"disposition\":\"%s\","
	    "\"dkim_aligned\":%s,\"spf_aligned\":%s,\"reason\":",
	    dkk_dmarc_policy_name(d.policy),
	    dkk_dmarc_policy_name(d.disposition), json_bool(d.dkim_aligned),
	    json_bool(d.spf_aligned));
	json_string(stdout, d.reason);
	fputs(",\"override\":", stdout);
	print_override_json(d.overridden, d.override_sealer,
	    d.override_instance, d.override_reason, d.override_comment);
	printf(",\"forwarded\":%s}", json_bool(d.override_forwarded));
}

static void
print_dmarc_plain(const dkk_verifier *v, const struct vopts *o)
{
	struct dkk_dmarc_result d;

	printf("  spf: %s (%s %s)\n", dkk_spf_result_name(o->spf.result),
	    dkk_spf_scope_name(o->spf.scope),
	    o->spf.domain != NULL ? o->spf.domain : "none given");
	if (dkk_verifier_dmarc(v, &d) != DKK_OK)
		return;
	printf("  dmarc: %s (%s, policy %s at %s, disposition %s): %s\n",
	    dkk_dmarc_result_name(d.result),
	    d.domain != NULL ? d.domain : "no author domain",
	    dkk_dmarc_policy_name(d.policy),
	    d.policy_domain != NULL ? d.policy_domain : "none",
	    dkk_dmarc_policy_name(d.disposition), d.reason);
	if (d.override_forwarded)
		printf("  overridden (%s): forwarded mail, latest sealer %s of "
		    "instance %u, no trusted sealer vouched: reject lowered "
		    "to quarantine\n", d.override_reason, d.override_sealer,
		    d.override_instance);
	else
		print_override_plain(d.overridden, d.override_sealer,
		    d.override_instance, d.override_reason);
}

/* "arc": the contract of dkimkit(1). */
static void
print_arc_json(const dkk_verifier *v)
{
	struct dkk_arc_result r;

	if (dkk_verifier_arc(v, &r) != DKK_OK)
		return;
	printf(",\"arc\":{\"result\":\"%s\",\"instances\":%u,"
	    "\"oldest_pass\":%u,\"failed_instance\":", dkk_arc_name(r.result),
	    r.instances, r.oldest_pass);
	if (r.failed_instance > 0)
		printf("%u", r.failed_instance);
	else
		fputs("null", stdout);
	fputs(",\"reason\":", stdout);
	json_string(stdout, r.reason);
	putchar('}');
}

/* Which instances a trusted sealer sealed (the d= of their seals). */
static void
print_sealer(const dkk_verifier *v, const struct dkk_arc_result *r,
    const char *sealer)
{
	struct dkk_arc_set set;
	unsigned k;
	int any = 0;

	printf("  trusted sealer %s:", sealer);
	for (k = 1; k <= r->instances; k++)
		if (dkk_verifier_arc_set(v, k, &set) == DKK_OK &&
		    set.seal_domain != NULL &&
		    strcasecmp(set.seal_domain, sealer) == 0) {
			printf(" %s%u", any ? "" : "sealed instance ", k);
			any = 1;
		}
	printf("%s\n", any ? "" : " no seal in the chain");
}

static void
print_arc_plain(const dkk_verifier *v, const struct vopts *o)
{
	struct dkk_arc_result r;
	size_t i;

	if (dkk_verifier_arc(v, &r) != DKK_OK)
		return;
	printf("  arc: %s (%u set%s", dkk_arc_name(r.result), r.instances,
	    r.instances == 1 ? "" : "s");
	if (r.result == DKK_ARC_PASS)
		printf(", oldest-pass %u", r.oldest_pass);
	if (r.failed_instance > 0)
		printf(", instance %u", r.failed_instance);
	printf(")%s%s\n", *r.reason ? ": " : "", r.reason);
	for (i = 0; i < o->nsealers; i++)
		print_sealer(v, &r, o->sealers[i]);
}

static void
print_json(const char *path, const dkk_verifier *v, const struct vopts *o,
    const char *ar)
{
	const char *author, *why;
	enum dkk_adsp adsp = dkk_verifier_adsp(v, &author);
	struct dkk_override ov;
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
			print_sig_json(v, i, o);
		}
		putchar(']');
	}
	if (o->adsp) {
		printf(",\"adsp\":\"%s\",\"author_domain\":",
		    dkk_adsp_name(adsp));
		json_string(stdout, author);
		fputs(",\"adsp_override\":", stdout);
		if (dkk_verifier_adsp_override(v, &ov) != DKK_OK)
			ov.overridden = 0;
		print_override_json(ov.overridden, ov.sealer, ov.instance,
		    ov.reason, ov.comment);
	}
	if (o->dmarc)
		print_dmarc_json(v, o);
	if (o->arc)
		print_arc_json(v);
	if (o->reports != NULL)
		printf(",\"reports\":%s", o->reports);
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
	struct dkk_override ov;
	size_t i;

	if (dkk_verifier_adsp_override(v, &ov) != DKK_OK)
		ov.overridden = 0;
	if (author == NULL)
		author = "no author address";
	if (o->adsp_only) {
		printf("%s: adsp=%s (%s)\n", path, dkk_adsp_name(adsp),
		    author);
		print_override_plain(ov.overridden, ov.sealer, ov.instance,
		    ov.reason);
		return;
	}
	printf("%s: %s\n", path, dkk_verdict_name(dkk_verifier_verdict(v)));
	for (i = 0; i < dkk_verifier_count(v); i++) {
		const struct dkk_sig_result *r = dkk_verifier_result(v, i);

		printf("  signature %zu: %s d=%s s=%s a=%s: %s\n", i + 1,
		    dkk_verdict_name(r->verdict),
		    r->domain ? r->domain : "?", r->selector ? r->selector : "?",
		    r->algorithm ? r->algorithm : "?", r->detail);
		if (o->explain)
			explain_plain(v, i);
		if (o->atps)
			atps_plain(v, i);
	}
	if (dkk_verifier_reason(v, &why) != DKK_R_OK)
		printf("  not evaluated: %s\n", why);
	else if (dkk_verifier_count(v) == 0)
		printf("  no DKIM signature\n");
	if (o->adsp) {
		printf("  adsp: %s (%s)\n", dkk_adsp_name(adsp), author);
		print_override_plain(ov.overridden, ov.sealer, ov.instance,
		    ov.reason);
	}
	if (o->dmarc)
		print_dmarc_plain(v, o);
	if (o->arc)
		print_arc_plain(v, o);
	printf("  %s\n", ar);
}

static int
adsp_ok(enum dkk_adsp a)
{
	return a == DKK_ADSP_NONE || a == DKK_ADSP_PASS ||
	    a == DKK_ADSP_UNKNOWN;
}

/* With --dmarc a message passes when DMARC passes, or when its author
 * publishes no policy and DKIM passes: fail, temperror and permerror do
 * not (temperror as a DKIM temperror does not). */
static int
message_passes(const dkk_verifier *v, const struct vopts *o)
{
	struct dkk_dmarc_result d;
	struct dkk_override ov;

	if (o->adsp_only)
		return adsp_ok(dkk_verifier_adsp(v, NULL)) ||
		    (dkk_verifier_adsp_override(v, &ov) == DKK_OK &&
		    ov.overridden);
	if (o->dmarc && dkk_verifier_dmarc(v, &d) == DKK_OK &&
	    d.result != DKK_DMARC_NONE)
		return d.result == DKK_DMARC_PASS ||
		    (d.overridden && d.disposition == DKK_DMARC_POLICY_NONE);
	return dkk_verifier_verdict(v) == DKK_PASS;
}

/* The row of a message whose verdict is out: its failures are the
 * store's to count and log, never this message's. */
static void
store_put(const dkk_verifier *v, const struct vopts *o)
{
	struct dkst_facts f = { .seen = o->have_now ? o->now : time(NULL),
	    .client_ip = o->spfq.client_ip, .helo = o->spfq.helo,
	    .mail_from = o->spfq.mail_from, .adsp = o->adsp };

	if (o->store == NULL)
		return;
	if (o->dmarc || o->spfq.client_ip != NULL)
		f.spf = &o->spf;
	dkst_put(o->store, dkst_row_from_verifier(v, &f));
}

static void
store_log(void *arg, const char *line)
{
	(void)arg;
	warnx("warning: %s", line);
}

/* A store that cannot be opened is a warning: the verdicts still come. */
static void
store_open(struct vopts *o)
{
	struct dkst_opts so = { .log = store_log };
	char err[300];

	if (o->store_uri != NULL &&
	    dkst_open(o->store_uri, &so, &o->store, err, sizeof(err)) != 0)
		warnx("warning: store not recorded: %s", err);
}

static void
store_close(struct vopts *o)
{
	struct dkst_counts c;
	uint64_t missed;

	if (o->store == NULL)
		return;
	dkst_close(o->store, &c);
	o->store = NULL;
	missed = c.dropped + c.lost;
	if (missed > 0)
		warnx("warning: store: %llu of %llu messages not recorded "
		    "(%llu dropped, queue full; %llu lost, store failed)",
		    (unsigned long long)missed, (unsigned long long)c.put,
		    (unsigned long long)c.dropped,
		    (unsigned long long)c.lost);
}

/* Verify one file: 0 pass, 1 not pass, -1 trouble. */
/* With --reports the message is kept whole: its report shows the
 * canonicalized body (RFC 6591 3.1). */
static int
feed_kept(dkk_verifier *v, const char *path, FILE *f, char **msg,
    size_t *len)
{
	FILE *keep = open_memstream(msg, len);
	char buf[65536];
	size_t n;
	int rc;

	if (keep == NULL) {
		warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		fwrite(buf, 1, n, keep);
		if ((rc = dkk_verifier_update(v, buf, n)) != DKK_OK) {
			warnx("%s: %s", path, dkk_strerror(rc));
			fclose(keep);
			return -1;
		}
	}
	if (fclose(keep) != 0 || ferror(f)) {
		warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
verify_one(dkk_ctx *ctx, const char *path, struct vopts *o)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	const char *name = f == stdin ? "(stdin)" : path;
	struct dkk_verify_opts vo = { .adsp = o->adsp, .dmarc = o->dmarc,
	    .rfc7489 = o->rfc7489, .arc = o->arc,
	    .explain = o->explain || o->store != NULL,
	    .trusted_sealers = o->sealers, .atps = o->atps,
	    .atps_adsp = o->atps_adsp, .arc_forwarded = o->arc_forwarded };
	dkk_verifier *v = NULL;
	char *ar = NULL, *msg = NULL;
	size_t len = 0;
	int rc, ret = -1;

	if (f == NULL) {
		warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	if (o->spfq.client_ip != NULL)
		vo.spf = o->spf;	/* evaluated: for DMARC and the A-R */
	if ((rc = dkk_verifier_new(ctx, &vo, &v)) != DKK_OK)
		warnx("%s: %s", name, *dkk_ctx_error(ctx) != '\0' ?
		    dkk_ctx_error(ctx) : dkk_strerror(rc));
	else if ((o->rep.on ? feed_kept(v, name, f, &msg, &len) :
	    feed_file(v, name, f)) == 0) {
		if ((rc = dkk_verifier_wait(v)) != DKK_OK ||
		    (rc = dkk_verifier_ar(v, o->authserv_id,
		    DKK_FIELD_ONE_LINE | DKK_FIELD_VALUE_ONLY, &ar)) != DKK_OK)
			warnx("%s: %s", name, dkk_strerror(rc));
		else {
			/* The verdict is known and printed as it is; the
			 * reports only follow it. */
			if (o->rep.on)
				o->reports = report_message(v, msg, len,
				    &o->spfq, o->authserv_id, &o->rep);
			if (o->json)
				print_json(name, v, o, ar);
			else
				print_plain(name, v, o, ar);
			if (!o->json && o->reports != NULL)
				printf("  reports: %s\n", o->reports);
			ret = !message_passes(v, o);
			fflush(stdout);
			store_put(v, o);
		}
	}
	free(ar);
	free(msg);
	free(o->reports);
	o->reports = NULL;
	dkk_verifier_free(v);
	if (f != stdin)
		fclose(f);
	return ret;
}

/* The domain of an address (after its last '@'), or the name itself. */
static const char *
addr_domain(const char *a)
{
	const char *at = strrchr(a, '@');

	return at != NULL ? at + 1 : a;
}

/* SPF for DMARC: checked with --client-ip (as `dkimkit spf` does), else
 * none, for the MAIL FROM domain or, without it, the HELO name. */
static int
spf_setup(dkk_ctx *ctx, struct vopts *o)
{
	dkk_spf *spf;
	const char *d;
	int rc;

	if (o->spfq.client_ip == NULL) {
		o->spf.scope = o->spfq.mail_from == NULL &&
		    o->spfq.helo != NULL ? DKK_SPF_HELO : DKK_SPF_MAILFROM;
		d = o->spfq.mail_from != NULL && *o->spfq.mail_from != '\0' ?
		    o->spfq.mail_from : o->spfq.helo;
		if (d != NULL && (o->spf_domain = strdup(addr_domain(d))) !=
		    NULL) {
			o->spf_domain[strcspn(o->spf_domain, ">")] = '\0';
			o->spf.domain = o->spf_domain;
		}
		return 0;
	}
	if ((rc = dkk_spf_new(ctx, &o->spfq, &spf)) == DKK_EINVAL) {
		usage_error("verify", "bad --client-ip '%s', or neither "
		    "--mail-from nor --helo", o->spfq.client_ip);
		return -1;
	}
	if (rc != DKK_OK || (rc = dkk_spf_wait(spf)) != DKK_OK) {
		warnx("spf: %s", dkk_strerror(rc));
		dkk_spf_free(spf);
		return -1;
	}
	o->spf.result = dkk_spf_result(spf);
	o->spf.scope = dkk_spf_scope(spf);
	o->spf_domain = dkk_spf_domain(spf) != NULL ?
	    strdup(dkk_spf_domain(spf)) : NULL;
	o->spf.domain = o->spf_domain;
	dkk_spf_free(spf);
	return 0;
}

static int
verify_setup(dkk_ctx *ctx, struct vopts *o)
{
	if (source_setup(ctx, &o->src) != 0)
		return -1;
	if ((o->dmarc || o->spfq.client_ip != NULL) && spf_setup(ctx, o) != 0)
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
	if (verify_setup(ctx, o) != 0 || report_setup(ctx, &o->rep) != 0) {
		report_finish(&o->rep);
		free(o->spf_domain);
		dkk_ctx_free(ctx);
		return EXIT_TROUBLE;
	}
	if (n == 0) {
		n = 1;
		files = dash;
	}
	store_open(o);
	for (i = 0; i < n; i++) {
		fflush(stdout);
		r = verify_one(ctx, files[i], o);
		if (r < 0)
			worst = EXIT_TROUBLE;
		else if (r > 0 && worst == EXIT_PASS)
			worst = EXIT_NOPASS;
	}
	report_finish(&o->rep);
	store_close(o);
	free(o->spf_domain);
	dkk_ctx_free(ctx);
	return worst;
}

/* A sealer is a domain name (the d= of its seals). */
static int
sealer_add(struct vopts *o, const char *d)
{
	const char **s;

	if (*d == '\0' || strchr(d, '.') == NULL ||
	    strspn(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_") != strlen(d))
		return -1;
	if ((s = realloc(o->sealers, (o->nsealers + 2) * sizeof(*s))) == NULL)
		return -1;
	s[o->nsealers++] = d;
	s[o->nsealers] = NULL;
	o->sealers = s;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct vopts *o, const char *cmd,
    const char *help)
{
	enum { O_NOW = 256, O_WEAK, O_ADSP, O_ID, O_JSON, O_HELP, O_DMARC,
	    O_7489, O_IP, O_HELO, O_MAILFROM, O_ARC, O_SEALER, O_ATPS,
	    O_ATPS_ADSP, O_FORWARDED, O_STORE };
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		REPORT_LONGOPTS,
		{ "now", required_argument, NULL, O_NOW },
		{ "allow-weak", no_argument, NULL, O_WEAK },
		{ "adsp", no_argument, NULL, O_ADSP },
		{ "authserv-id", required_argument, NULL, O_ID },
		{ "json", no_argument, NULL, O_JSON },
		{ "arc", no_argument, NULL, O_ARC },
		{ "trusted-sealer", required_argument, NULL, O_SEALER },
		{ "atps", no_argument, NULL, O_ATPS },
		{ "atps-adsp", no_argument, NULL, O_ATPS_ADSP },
		{ "arc-forwarded", no_argument, NULL, O_FORWARDED },
		{ "help", no_argument, NULL, O_HELP },
		{ "dmarc", no_argument, NULL, O_DMARC },
		{ "rfc7489", no_argument, NULL, O_7489 },
		{ "client-ip", required_argument, NULL, O_IP },
		{ "helo", required_argument, NULL, O_HELO },
		{ "mail-from", required_argument, NULL, O_MAILFROM },
		{ "store", required_argument, NULL, O_STORE },
		{ NULL, 0, NULL, 0 }
	};
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (source_option(&o->src, c, optarg))
			continue;
		if ((rc = report_option(&o->rep, c, optarg)) != 0) {
			if (rc < 0)
				return EXIT_TROUBLE;
			continue;
		}
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
		case O_DMARC: o->dmarc = 1; break;
		case O_7489: o->dmarc = o->rfc7489 = 1; break;
		case O_IP: o->spfq.client_ip = optarg; break;
		case O_HELO: o->spfq.helo = optarg; break;
		case O_MAILFROM: o->spfq.mail_from = optarg; break;
		case O_ARC: o->arc = 1; break;
		case O_STORE: o->store_uri = optarg; break;
		case O_ATPS: o->atps = 1; break;
		case O_ATPS_ADSP: o->atps = o->atps_adsp = 1; break;
		case O_FORWARDED: o->arc_forwarded = o->arc = 1; break;
		case O_SEALER:
			if (sealer_add(o, optarg) != 0)
				return usage_error(cmd, "bad --trusted-sealer "
				    "'%s'", optarg);
			o->arc = 1;
			break;
		case O_HELP:
			fputs(help, stdout);
			exit(0);
		default:
			return usage_error(cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (o->arc_forwarded && !o->dmarc)
		return usage_error(cmd, "--arc-forwarded lowers a DMARC "
		    "disposition: give --dmarc (or --rfc7489)");
	return source_check(cmd, &o->src);
}

int
cmd_verify(int argc, char **argv)
{
	struct vopts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_opts(argc, argv, &o, "verify", verify_usage)) < 0)
		rc = verify_files(&o, argc - optind, argv + optind);
	free(o.sealers);
	return rc;
}

int
cmd_adsp(int argc, char **argv)
{
	struct vopts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_opts(argc, argv, &o, "adsp", adsp_usage)) >= 0)
		return rc;
	if (o.dmarc || o.spfq.client_ip != NULL || o.spfq.helo != NULL ||
	    o.spfq.mail_from != NULL || o.store_uri != NULL)
		return usage_error("adsp", "DMARC, SPF and store options "
		    "belong to verify");
	if (o.rep.on)
		return usage_error("adsp", "report options belong to verify");
	o.adsp = o.adsp_only = 1;
	return verify_files(&o, argc - optind, argv + optind);
}

int
cmd_explain(int argc, char **argv)
{
	struct vopts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse_opts(argc, argv, &o, "explain", explain_usage)) >= 0)
		return rc;
	if (optind == argc)
		return usage_error("explain", "no FILE given");
	if (o.rep.on)
		return usage_error("explain", "report options belong to verify");
	if (o.store_uri != NULL)
		return usage_error("explain", "--store belongs to verify");
	o.explain = 1;
	return verify_files(&o, argc - optind, argv + optind);
}
