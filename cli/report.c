/*
 * report.c: dkimkit verify --reports: the options, the plan of each
 * message (core/report), the delivery (plugins/common/reportsend.c) and
 * the "reports" JSON array; and the record key record --report prints.
 * The verdict of the message is decided before any of this runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "reportsend.h"


int
report_option(struct report_cli *r, int c, const char *arg)
{
	long long n;

	switch (c) {
	case O_REP_ON: r->on = 1; return 1;
	case O_REP_DIR: r->send.dir = arg; break;
	case O_REP_FROM: r->from = arg; break;
	case O_REP_SENDMAIL: r->send.sendmail = arg; break;
	case O_REP_SMTP:
		if (strchr(arg, ':') == NULL) {
			warnx("--report-smtp '%s': HOST:PORT wanted", arg);
			return -1;
		}
		r->send.smtp = arg;
		break;
	case O_REP_STATE: r->send.state = arg; break;
	case O_REP_SUPPRESS: r->send.suppress = arg; break;
	case O_REP_REDACT: r->redact_file = arg; break;
	case O_REP_KEY: r->key_file = arg; break;
	case O_REP_DOMAIN: r->sign_domain = arg; break;
	case O_REP_SELECTOR: r->sign_selector = arg; break;
	case O_REP_RATE:
	case O_REP_GLOBAL:
		if (parse_int64(arg, 0, 1000000, &n) != 0) {
			warnx("bad report rate '%s' (reports per hour)", arg);
			return -1;
		}
		*(c == O_REP_RATE ? &r->send.per_addr : &r->send.global) =
		    (double)n;
		break;
	case O_REP_SEED:
		if (parse_int64(arg, 0, INT64_MAX, &n) != 0) {
			warnx("bad --report-seed '%s'", arg);
			return -1;
		}
		r->seed = (uint64_t)n ^ 0x9e3779b97f4a7c15ULL;
		r->have_seed = 1;
		break;
	default:
		return 0;
	}
	r->on = 1;
	return 1;
}

static void
report_warn(void *arg, const char *line)
{
	(void)arg;
	warnx("%s", line);
}

static int
report_redact_key(struct report_cli *r)
{
	size_t n = 0;

	if ((r->redact = (uint8_t *)dkr_slurp(r->redact_file, &n)) == NULL ||
	    n == 0) {
		warnx("%s: %s", r->redact_file, r->redact != NULL ?
		    "empty key file" : strerror(errno));
		free(r->redact);
		r->redact = NULL;
		return -1;
	}
	r->redact_len = n;
	return 0;
}

static int
report_sign_key(dkk_ctx *ctx, struct report_cli *r)
{
	int rc;

	if (r->sign_domain == NULL || r->sign_selector == NULL) {
		warnx("--report-key needs --report-domain and "
		    "--report-selector");
		return -1;
	}
	if ((rc = dkk_ctx_load_key(ctx, r->key_file, &r->key)) != DKK_OK) {
		warnx("%s", *dkk_ctx_error(ctx) ? dkk_ctx_error(ctx) :
		    dkk_strerror(rc));
		return -1;
	}
	return 0;
}

int
report_setup(dkk_ctx *ctx, struct report_cli *r)
{
	if (!r->on)
		return 0;
	if (r->from == NULL)
		r->from = "postmaster@localhost";
	if ((r->redact_file != NULL && report_redact_key(r) != 0) ||
	    (r->key_file != NULL && report_sign_key(ctx, r) != 0))
		return -1;
	r->send.warn = report_warn;
	if (dkr_open(&r->send) != 0)
		return -1;
	r->opened = 1;
	return 0;
}

void
report_finish(struct report_cli *r)
{
	if (r->opened)
		dkr_close(&r->send);
	r->opened = 0;
	free(r->redact);
	r->redact = NULL;
}

/* xorshift64*: reproducible draws for --report-seed (tests only). */
static uint32_t
seeded_random(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

static void
json_entry(FILE *out, const struct dkk_report_req *q, const char *status,
    int first)
{
	if (!first)
		fputc(',', out);
	fputs("{\"to\":", out);
	json_string(out, q->to);
	fputs(",\"domain\":", out);
	json_string(out, q->domain);
	/* "kind" last: the keys before it keep their places */
	fprintf(out, ",\"reason_token\":\"%c\",\"adsp\":%s,\"status\":\"%s\","
	    "\"kind\":\"%s\"}", q->token, q->adsp ? "true" : "false", status,
	    dkk_report_kind_name(q->kind));
}

char *
report_message(dkk_verifier *v, const char *msg, size_t len,
    const struct dkk_spf_query *smtp, const char *authserv_id,
    struct report_cli *r)
{
	struct dkk_report_opts ro = { .adsp = 1 };
	struct dkk_report_info info = { .from = r->from,
	    .authserv_id = authserv_id, .arrival = -1, .message = msg,
	    .message_len = len, .redact_key = r->redact,
	    .redact_key_len = r->redact_len, .key = r->key,
	    .sign_domain = r->sign_domain, .sign_selector = r->sign_selector,
	    .source_ip = smtp->client_ip, .mail_from = smtp->mail_from,
	    .reporting_mta = authserv_id };
	dkk_reports *plan = NULL;
	char *json = NULL;
	size_t jlen = 0, i;
	FILE *out = open_memstream(&json, &jlen);
	int rc;

	if (out == NULL)
		return NULL;
	if (r->have_seed) {
		ro.random = seeded_random;
		ro.random_arg = &r->seed;
	}
	fputc('[', out);
	if ((rc = dkk_reports_new(v, &ro, &plan)) != DKK_OK ||
	    (rc = dkk_reports_wait(plan)) != DKK_OK)
		warnx("reports: %s", dkk_strerror(rc));
	for (i = 0; rc == DKK_OK && i < dkk_reports_count(plan); i++)
		json_entry(out, dkk_reports_get(plan, i),
		    dkr_deliver(&r->send, plan, i, &info), i == 0);
	fputc(']', out);
	dkk_reports_free(plan);
	if (fclose(out) != 0) {
		free(json);
		return NULL;
	}
	return json;
}

/* One rr= element a signer may publish (RFC 6651 3.1). */
static int
rr_element_ok(const char *s, size_t n)
{
	static const char *const tokens[] = { "all", "d", "o", "p", "s", "u",
	    "v", "x" };
	size_t i;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strlen(tokens[i]) == n && strncmp(s, tokens[i], n) == 0)
			return 1;
	return 0;
}

/* The publisher's side is stricter than the reader's: only the four
 * tags of RFC 6651 3.1 (a typo such as the pre-RFC ro= would otherwise
 * be ignored by every verifier) and only the tokens it defines. */
static int
report_spec_check(const char *spec)
{
	const char *p = spec, *semi, *eq, *v;
	size_t n, k;

	while (*p != '\0') {
		p += strspn(p, " \t");
		semi = strchr(p, ';');
		n = semi ? (size_t)(semi - p) : strlen(p);
		if (n > 0) {
			if ((eq = memchr(p, '=', n)) == NULL)
				return warnx("'%.*s' is not tag=value",
				    (int)n, p), -1;
			k = (size_t)(eq - p);
			while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
				k--;
			if (k != 2 || p[0] != 'r' || strchr("aprs", p[1]) ==
			    NULL)
				return warnx("'%.*s': RFC 6651 defines ra, rp, "
				    "rr and rs", (int)k, p), -1;
			for (v = eq + 1; p[1] == 'r' && v <= p + n; v++) {
				const char *e = memchr(v, ':', (size_t)(p +
				    n - v));

				if (e == NULL)
					e = p + n;
				if (!rr_element_ok(v, (size_t)(e - v)))
					return warnx("rr=: '%.*s' is not a "
					    "token of RFC 6651 3.1", (int)(e -
					    v), v), -1;
				v = e;
			}
		}
		p += n + (semi != NULL);
	}
	return 0;
}

int
report_record_check(const char *spec)
{
	struct dkk_report_record rec;

	if (report_spec_check(spec) != 0)
		return -1;
	if (dkk_report_record_parse(spec, strlen(spec), 0, &rec) != DKK_OK) {
		warnx("--report '%s': not a valid _report record (rp= 0 to "
		    "100, ra= a local part)", spec);
		return -1;
	}
	if (rec.ra == NULL) {
		dkk_report_record_clear(&rec);
		warnx("--report '%s': without ra= no report can be sent", spec);
		return -1;
	}
	dkk_report_record_clear(&rec);
	return 0;
}

void
report_record_print(FILE *out, const char *domain, const char *spec)
{
	fprintf(out, "_report._domainkey.%s. 3600 IN TXT \"%s\"\n", domain,
	    spec);
}
