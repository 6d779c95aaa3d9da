/*
 * settings.c: the settings vocabulary of settings.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "settings.h"

#define LOG_SIGS 16

void
dks_init(struct dks *s, const char *const *spell)
{
	memset(s, 0, sizeof(*s));
	s->spell = spell;
}

static const char *
dks_name(const struct dks *s, enum dks_key k)
{
	static const char *const words[DKS_NKEYS] = {
		"zone", "dns", "trust-anchor", "timeout", "allow-weak",
		"authserv-id", "adsp", "pin-file", "keydir", "opendkim-conf",
		"dmarc", "rfc7489", "arc", "trusted-sealers",
		"trusted-authserv-id", "explain", "self-verify", "atps",
		"atps-adsp", "report-request", "reports", "report-dir",
		"report-state", "report-from", "arc-forwarded", "store",
		"metrics-file", "metrics-interval",
		"workers", "report-smtp"
	};

	return s->spell != NULL && s->spell[k] != NULL ? s->spell[k] :
	    words[k];
}

static int __attribute__((format(printf, 3, 4)))
dks_fail(struct dks *s, enum dks_key k, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(s->err, sizeof(s->err), "%s: ", dks_name(s, k));
	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof(s->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
dks_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Milliseconds, or seconds with "s": 5000, 5000ms, 5s. */
static int
dks_timeout(struct dks *s, const char *v)
{
	unsigned long n = 0;
	const char *p;

	for (p = v; *p >= '0' && *p <= '9' && n <= DKS_TIMEOUT_MAX; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == v || (strcmp(p, "s") != 0 && strcmp(p, "ms") != 0 &&
	    *p != '\0'))
		return dks_fail(s, DKS_TIMEOUT, "'%s' is not a time "
		    "(milliseconds, or seconds with s: 5000, 5s)", v);
	if (strcmp(p, "s") == 0)
		n *= 1000;
	if (n < DKS_TIMEOUT_MIN || n > DKS_TIMEOUT_MAX)
		return dks_fail(s, DKS_TIMEOUT, "'%s' is outside %u ms to "
		    "%u s (a bare number is milliseconds: 5s for seconds)", v,
		    DKS_TIMEOUT_MIN, DKS_TIMEOUT_MAX / 1000);
	s->timeout_ms = (unsigned)n;
	return 0;
}

/* RFC 8601 2.2: a value; what the core would quote is fine, controls and
 * over-long ids are not. */
static int
dks_id(struct dks *s, enum dks_key k, const char *v)
{
	size_t i, n = strlen(v);

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x21 || v[i] == 0x7f)
			return dks_fail(s, k, "'%s' holds a "
			    "space or a control character", v);
	if (n > DKS_ID_MAX)
		return dks_fail(s, k, "longer than %d "
		    "characters", DKS_ID_MAX);
	return 0;
}

/* A list of domain names, separated by commas or white space: each
 * letters, digits, hyphens and dots, at most 253 characters; at most
 * DKS_SEALERS_MAX of them, kept in s (the list given before is
 * replaced only when this one is good). */
static int
dks_domains(struct dks *s, const char *v)
{
	char names[DKS_SEALERS_MAX][DKS_DOMAIN_MAX + 1];
	size_t n, i, count = 0;
	const char *p = v;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-' &&
			    p[i] != '.')
				return dks_fail(s, DKS_TRUSTED_SEALERS, "'%.*s' "
				    "is not a domain name", (int)n, p);
		if (n > DKS_DOMAIN_MAX || p[0] == '.' || p[0] == '-')
			return dks_fail(s, DKS_TRUSTED_SEALERS, "'%.*s' is "
			    "not a domain name", (int)(n > 64 ? 64 : n), p);
		if (count == DKS_SEALERS_MAX)
			return dks_fail(s, DKS_TRUSTED_SEALERS, "more than %d "
			    "domains", DKS_SEALERS_MAX);
		memcpy(names[count], p, n);
		names[count++][n] = '\0';
		p += n;
	}
	if (count == 0)
		return dks_fail(s, DKS_TRUSTED_SEALERS, "no domain in '%s'",
		    v);
	memcpy(s->sealer_names, names, sizeof(names));
	for (i = 0; i < count; i++)
		s->sealers[i] = s->sealer_names[i];
	s->sealers[count] = NULL;
	return 0;
}

/* Whole seconds, 1 to max. */
static int
dks_seconds(struct dks *s, enum dks_key k, const char *v, unsigned max,
    unsigned *out)
{
	unsigned long n = 0;
	const char *p;

	for (p = v; *p >= '0' && *p <= '9' && n <= max; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == v || *p != '\0' || n < 1 || n > max)
		return dks_fail(s, k, "'%s' is not a number of seconds from 1 "
		    "to %u", v, max);
	*out = (unsigned)n;
	return 0;
}

/* workers: a count, or "auto" for the cores online (sysconf), which is
 * also what no setting means; 0 and 1 both mean no worker threads: the
 * work is done inline by the one thread, as a single core would. */
static int
dks_workers(struct dks *s, const char *v)
{
	unsigned long n = 0;
	const char *p;
	long cores;

	if (strcasecmp(v, "auto") == 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		s->workers = cores < 1 ? 1 : cores > DKS_WORKERS_MAX ?
		    DKS_WORKERS_MAX : (unsigned)cores;
		return 0;
	}
	for (p = v; *p >= '0' && *p <= '9' && n <= DKS_WORKERS_MAX; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == v || *p != '\0' || n > DKS_WORKERS_MAX)
		return dks_fail(s, DKS_WORKERS, "'%s' is not a count of "
		    "threads from 0 to %d, or auto", v, DKS_WORKERS_MAX);
	s->workers = (unsigned)n;
	return 0;
}

/* Where a boolean setting is kept. */
static int *
dks_flag(struct dks *s, enum dks_key k)
{
	switch (k) {
	case DKS_ADSP:
		return &s->adsp;
	case DKS_DMARC:
		return &s->dmarc;
	case DKS_RFC7489:
		return &s->rfc7489;
	case DKS_ARC:
		return &s->arc;
	case DKS_EXPLAIN:
		return &s->explain;
	case DKS_SELF_VERIFY:
		return &s->self_verify;
	case DKS_ATPS:
		return &s->atps;
	case DKS_ATPS_ADSP:
		return &s->atps_adsp;
	case DKS_REPORT_REQUEST:
		return &s->report_request;
	case DKS_REPORTS:
		return &s->reports;
	case DKS_ARC_FORWARDED:
		return &s->arc_forwarded;
	default:
		return &s->allow_weak;
	}
}

/* report-smtp: HOST:PORT or [IPv6]:PORT, the port a number of 1 to
 * 65535 (what reportsend.c connects to). */
static int
dks_hostport(struct dks *s, const char *value)
{
	const char *port = strrchr(value, ':');
	char *end;
	long n;

	if (port == NULL || port == value || port[1] == '\0')
		return dks_fail(s, DKS_REPORT_SMTP, "'%s' is not HOST:PORT",
		    value);
	n = strtol(port + 1, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535 || port[1] == '-' ||
	    port[1] == '+')
		return dks_fail(s, DKS_REPORT_SMTP, "'%s': the port is not "
		    "a number of 1 to 65535", value);
	return 0;
}

int
dks_set(struct dks *s, enum dks_key k, const char *value)
{
	int b;

	if ((unsigned)k >= DKS_NKEYS || value == NULL) {
		snprintf(s->err, sizeof(s->err), "no such setting");
		return -1;
	}
	if (*value == '\0')
		return dks_fail(s, k, "empty");
	switch (k) {
	case DKS_TIMEOUT:
		if (dks_timeout(s, value) < 0)
			return -1;
		break;
	case DKS_AUTHSERV_ID:
	case DKS_TRUSTED_AUTHSERV:
		if (dks_id(s, k, value) < 0)
			return -1;
		break;
	case DKS_TRUSTED_SEALERS:
		if (dks_domains(s, value) < 0)
			return -1;
		break;
	case DKS_METRICS_INTERVAL:
		if (dks_seconds(s, k, value, DKS_METRICS_MAX, &s->metrics_s) < 0)
			return -1;
		break;
	case DKS_WORKERS:
		if (dks_workers(s, value) < 0)
			return -1;
		break;
	case DKS_REPORT_SMTP:
		if (dks_hostport(s, value) < 0)
			return -1;
		break;
	case DKS_ALLOW_WEAK:
	case DKS_ADSP:
	case DKS_DMARC:
	case DKS_RFC7489:
	case DKS_ARC:
	case DKS_EXPLAIN:
	case DKS_SELF_VERIFY:
	case DKS_ATPS:
	case DKS_ATPS_ADSP:
	case DKS_REPORT_REQUEST:
	case DKS_REPORTS:
	case DKS_ARC_FORWARDED:
		if ((b = dks_bool(value)) < 0)
			return dks_fail(s, k, "'%s' is not yes or no", value);
		*dks_flag(s, k) = b;
		break;
	default:
		break;
	}
	s->val[k] = value;
	return 0;
}

static int
dks_source(struct dks *s, dkk_ctx *ctx)
{
	int rc;

	if (s->val[DKS_ZONE] != NULL) {
		if ((rc = dkk_ctx_use_zone(ctx, s->val[DKS_ZONE])) != DKK_OK)
			return dks_fail(s, DKS_ZONE, "%s", dkk_ctx_error(ctx));
		return 0;
	}
	rc = dkk_ctx_use_dns(ctx, s->val[DKS_DNS], s->val[DKS_TRUST_ANCHOR],
	    s->timeout_ms);
	if (rc != DKK_OK)
		return dks_fail(s, s->val[DKS_TRUST_ANCHOR] != NULL &&
		    s->val[DKS_DNS] == NULL ? DKS_TRUST_ANCHOR : DKS_DNS,
		    "%s", dkk_ctx_error(ctx));
	return 0;
}

int
dks_check(struct dks *s)
{
	if (s->val[DKS_ZONE] != NULL && (s->val[DKS_DNS] != NULL ||
	    s->val[DKS_TRUST_ANCHOR] != NULL))
		return dks_fail(s, DKS_ZONE, "excludes %s and %s: a zone file "
		    "is the whole key source", dks_name(s, DKS_DNS),
		    dks_name(s, DKS_TRUST_ANCHOR));
	if (s->val[DKS_REPORT_DIR] != NULL && s->val[DKS_REPORT_SMTP] != NULL)
		return dks_fail(s, DKS_REPORT_DIR, "excludes %s: a report is "
		    "written or sent, not both", dks_name(s, DKS_REPORT_SMTP));
	/* It lowers a DMARC disposition: without DMARC it would be a
	 * setting that silently does nothing. */
	/* The counters are the store's, kept as rows are handed to it. */
	if (s->val[DKS_METRICS_FILE] != NULL && s->val[DKS_STORE] == NULL)
		return dks_fail(s, DKS_METRICS_FILE, "needs %s (the "
		    "counters are the store's)", dks_name(s, DKS_STORE));
	if (s->val[DKS_METRICS_INTERVAL] != NULL &&
	    s->val[DKS_METRICS_FILE] == NULL)
		return dks_fail(s, DKS_METRICS_INTERVAL, "needs %s",
		    dks_name(s, DKS_METRICS_FILE));
	if (s->arc_forwarded && !s->dmarc && !s->rfc7489)
		return dks_fail(s, DKS_ARC_FORWARDED, "lowers a DMARC "
		    "disposition: turn on %s", dks_name(s, DKS_DMARC));
	return 0;
}

int
dks_apply(struct dks *s, dkk_ctx *ctx)
{
	int rc;

	if (dks_check(s) < 0)
		return -1;
	if ((rc = dkk_ctx_set_allow_weak(ctx, s->allow_weak)) != DKK_OK)
		return dks_fail(s, DKS_ALLOW_WEAK, "%s", dkk_strerror(rc));
	if (dks_apply_pin(s, ctx) < 0)
		return -1;
	return dks_source(s, ctx);
}

int
dks_apply_pin(struct dks *s, dkk_ctx *ctx)
{
	const char *env = getenv("DKIMKIT_PIN");
	int rc;

	if (s->val[DKS_PIN_FILE] != NULL) {
		if ((rc = dkk_ctx_set_pin_file(ctx, s->val[DKS_PIN_FILE])) !=
		    DKK_OK)
			return dks_fail(s, DKS_PIN_FILE, "%s", dkk_ctx_error(ctx));
	} else if (env != NULL && *env != '\0' &&
	    dkk_ctx_set_pin(ctx, env) != DKK_OK) {
		snprintf(s->err, sizeof(s->err), "$DKIMKIT_PIN: %s",
		    dkk_ctx_error(ctx));
		return -1;
	}
	return 0;
}

int
dks_policy(struct dks *s, dkk_ctx *ctx, dkk_policy **pp,
    void (*warn)(void *arg, const char *warning), void *arg)
{
	size_t i;

	*pp = NULL;
	if (s->val[DKS_OPENDKIM_CONF] == NULL)
		return 0;
	if (dkk_policy_new(ctx, s->val[DKS_OPENDKIM_CONF], pp) != DKK_OK)
		return dks_fail(s, DKS_OPENDKIM_CONF, "%s", dkk_ctx_error(ctx));
	for (i = 0; warn != NULL && i < dkk_policy_warnings(*pp); i++)
		warn(arg, dkk_policy_warning(*pp, i));
	return 0;
}

void
dks_verify_opts(const struct dks *s, struct dkk_verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->adsp = s->adsp;
	o->dmarc = s->dmarc || s->rfc7489;
	o->rfc7489 = s->rfc7489;
	o->arc = s->arc || s->val[DKS_TRUSTED_SEALERS] != NULL ||
	    s->arc_forwarded;
	o->arc_forwarded = s->arc_forwarded;
	o->explain = s->explain;
	o->atps = s->atps || s->atps_adsp;
	o->atps_adsp = s->atps_adsp;
	if (s->val[DKS_TRUSTED_SEALERS] != NULL)
		o->trusted_sealers = s->sealers;
}

/* Append to out, keeping room for "..." at the end. */
static void
log_add(char *out, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos + 4 >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *pos, len - 3 - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - 3 - *pos) {
		*pos = len - 4;
		memcpy(out + *pos, "...", 4);
		*pos = len;
		return;
	}
	*pos += (size_t)n;
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* dmarc=: a policy and its disposition where a record decided (pass,
 * fail), the reason where it could not (temperror, permerror). */
static void
log_dmarc(char *out, size_t len, size_t *pos,
    const struct dkk_dmarc_result *dm)
{
	log_add(out, len, pos, " dmarc=%s (%s",
	    dkk_dmarc_result_name(dm->result), or_dash(dm->domain));
	if (dm->result == DKK_DMARC_PASS || dm->result == DKK_DMARC_FAIL) {
		log_add(out, len, pos, ", policy %s, disposition %s%s%s%s",
		    dkk_dmarc_policy_name(dm->policy),
		    dkk_dmarc_policy_name(dm->disposition),
		    dm->override_forwarded ? ", " : dm->overridden ?
		    ", local_policy by trusted sealer " : "",
		    dm->override_forwarded ? or_dash(dm->override_reason) :
		    dm->overridden ? or_dash(dm->override_sealer) : "",
		    dm->override_forwarded ? " for forwarded mail" : "");
		if (dm->override_forwarded)
			log_add(out, len, pos, ", latest sealer %s",
			    or_dash(dm->override_sealer));
	} else if (dm->result != DKK_DMARC_NONE && dm->reason != NULL)
		log_add(out, len, pos, ": %s", dm->reason);
	log_add(out, len, pos, ")");
}

/* "; atps=RESULT for AUTHOR" for a signature that asked for ATPS. */
static void
log_atps(char *out, size_t len, size_t *pos, const dkk_verifier *v,
    const struct dkk_verify_opts *o, size_t i)
{
	const char *author;
	enum dkk_atps a;

	if (o == NULL || !o->atps)
		return;
	a = dkk_verifier_atps(v, i, &author, NULL);
	if (author != NULL || a != DKK_ATPS_NONE)
		log_add(out, len, pos, "; atps=%s for %s",
		    dkk_atps_result_name(a), or_dash(author));
}

char *
dks_log_line(const dkk_verifier *v, const struct dkk_verify_opts *o,
    const char *authserv_id, char *out, size_t len)
{
	const struct dkk_sig_result *r;
	const char *detail, *author, *field;
	struct dkk_dmarc_result dm;
	struct dkk_arc_result arc;
	enum dkk_class c;
	size_t i, n = dkk_verifier_count(v), pos = 0;

	if (len < 8)
		return memset(out, 0, len);
	out[0] = '\0';
	log_add(out, len, &pos, "%s: dkim=%s", or_dash(authserv_id),
	    dkk_verdict_name(dkk_verifier_verdict(v)));
	if (dkk_verifier_reason(v, &detail) != DKK_R_OK)
		log_add(out, len, &pos, " (%s)", detail);
	if (o != NULL && o->adsp) {
		enum dkk_adsp a = dkk_verifier_adsp(v, &author);

		log_add(out, len, &pos, " adsp=%s (%s)", dkk_adsp_name(a),
		    or_dash(author));
	}
	if (o != NULL && o->dmarc && dkk_verifier_dmarc(v, &dm) == DKK_OK)
		log_dmarc(out, len, &pos, &dm);
	if (o != NULL && o->arc && dkk_verifier_arc(v, &arc) == DKK_OK)
		log_add(out, len, &pos, " arc=%s (%u sets)",
		    dkk_arc_name(arc.result), arc.instances);
	for (i = 0; i < n && i < LOG_SIGS; i++) {
		r = dkk_verifier_result(v, i);
		log_add(out, len, &pos, " [%s d=%s s=%s a=%s: %s",
		    dkk_verdict_name(r->verdict), or_dash(r->domain),
		    or_dash(r->selector), or_dash(r->algorithm),
		    or_dash(r->detail));
		c = o != NULL && o->explain ? dkk_verifier_explain(v, i,
		    &field, &detail) : DKK_C_NONE;
		if (c != DKK_C_NONE)
			log_add(out, len, &pos, "; %s%s%s%s%s",
			    dkk_class_name(c), field != NULL ? " " : "",
			    field != NULL ? field : "",
			    *detail != '\0' ? ": " : "", detail);
		log_atps(out, len, &pos, v, o, i);
		log_add(out, len, &pos, "]");
	}
	if (n > LOG_SIGS)
		log_add(out, len, &pos, " [%zu more]", n - LOG_SIGS);
	/* values come from the message: no line break reaches a log */
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	return out;
}
