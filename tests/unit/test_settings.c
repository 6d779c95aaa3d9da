/*
 * test_settings.c: the settings vocabulary every host shares
 * (plugins/common/settings.h): values checked once, errors naming the
 * setting as the host spells it, and the one log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "settings.h"

static const char *const spell[DKS_NKEYS] = {
	[DKS_ZONE] = "dkimkit_zone", [DKS_DNS] = "dkimkit_dns",
	[DKS_TRUST_ANCHOR] = "dkimkit_trust_anchor",
	[DKS_TIMEOUT] = "dkimkit_timeout",
};

/* Milliseconds, or seconds with s; 100 ms to 60 s; a bare 5 is refused
 * (Exim's old seconds), never taken as 5 ms. */
static void
settings_timeout(void)
{
	static const struct {
		const char *v;
		unsigned ms;	/* 0: refused */
	} cases[] = {
		{ "5000", 5000 }, { "5000ms", 5000 }, { "5s", 5000 },
		{ "100", 100 }, { "60s", 60000 }, { "60000", 60000 },
		{ "5", 0 }, { "99", 0 }, { "61s", 0 }, { "60001", 0 },
		{ "soon", 0 }, { "5 s", 0 }, { "-5", 0 }, { "5m", 0 },
		{ "99999999999999999999", 0 }, { "s", 0 },
	};
	struct dks s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dks_init(&s, spell);
		if (cases[i].ms == 0) {
			CU_ASSERT_EQUAL(dks_set(&s, DKS_TIMEOUT, cases[i].v),
			    -1);
			CU_ASSERT(strncmp(s.err, "dkimkit_timeout: '", 18) == 0);
		} else {
			CU_ASSERT_EQUAL(dks_set(&s, DKS_TIMEOUT, cases[i].v), 0);
			CU_ASSERT_EQUAL(s.timeout_ms, cases[i].ms);
		}
	}
}

static void
settings_bools_and_ids(void)
{
	struct dks s;
	char id[300];

	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ADSP, "Yes"), 0);
	CU_ASSERT_EQUAL(s.adsp, 1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ALLOW_WEAK, "off"), 0);
	CU_ASSERT_EQUAL(s.allow_weak, 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ALLOW_WEAK, "maybe"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "allow-weak: 'maybe' is not yes or no");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ZONE, ""), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "zone: empty");
	/* the store's URI is the host's to open: only its name is said */
	CU_ASSERT_EQUAL(dks_set(&s, DKS_STORE, ""), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "store: empty");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_STORE, "sqlite:/x.db"), 0);
	CU_ASSERT_STRING_EQUAL(s.val[DKS_STORE], "sqlite:/x.db");
	/* report-smtp: HOST:PORT, the port a number; not with report-dir */
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_SMTP, "127.0.0.1:25"), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_SMTP, "[::1]:2525"), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_SMTP, "mx.example"), -1);
	CU_ASSERT_STRING_EQUAL(s.err,
	    "report-smtp: 'mx.example' is not HOST:PORT");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_SMTP, "mx:0"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_SMTP, "mx:70000"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_SMTP, "mx:-25"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_SMTP, ":25"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_REPORT_DIR, "/tmp"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.err, "excludes report-smtp"));
	s.val[DKS_REPORT_DIR] = NULL;
	s.val[DKS_REPORT_SMTP] = NULL;
	CU_ASSERT_EQUAL(dks_set(&s, DKS_AUTHSERV_ID, "mx.example.net"), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_AUTHSERV_ID, "mx\r\n.example"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_AUTHSERV_ID, "mx example"), -1);
	memset(id, 'm', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	CU_ASSERT_EQUAL(dks_set(&s, DKS_AUTHSERV_ID, id), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.err, "longer than 255"));
	CU_ASSERT_EQUAL(dks_set(&s, (enum dks_key)99, "x"), -1);
}

/* DMARC, ARC and the classifier: booleans that reach the verify options
 * (rfc7489 implies dmarc, trusted sealers imply arc); the sealers and the
 * trusted authserv-id are checked as domain names and an id. */
static void
settings_dmarc_arc(void)
{
	struct dkk_verify_opts o;
	struct dks s;

	dks_init(&s, NULL);
	dks_verify_opts(&s, &o);
	CU_ASSERT(!o.dmarc && !o.rfc7489 && !o.arc && !o.explain && !o.adsp);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_RFC7489, "yes"), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_EXPLAIN, "on"), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS,
	    "lists.example.org, fwd.example.net mail.example"), 0);
	dks_verify_opts(&s, &o);
	CU_ASSERT(o.dmarc && o.rfc7489 && o.arc && o.explain && !o.adsp);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_DMARC, "nope"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "dmarc: 'nope' is not yes or no");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS, "a.example, b_c"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "trusted-sealers: 'b_c' is not a "
	    "domain name");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS, " , "), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS, ".example"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_AUTHSERV, "mx.example"), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_AUTHSERV, "mx example"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "trusted-authserv-id: 'mx example' "
	    "holds a space or a control character");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_SELF_VERIFY, "1"), 0);
	CU_ASSERT_EQUAL(s.self_verify, 1);
}

/* trusted-sealers reaches the verify options as a NULL-terminated list
 * kept in the struct; a bad or over-long list leaves the one before. */
static void
settings_trusted_sealers(void)
{
	struct dkk_verify_opts o;
	struct dks s;
	char many[64 * 16], *p = many;
	int i;

	dks_init(&s, NULL);
	dks_verify_opts(&s, &o);
	CU_ASSERT_PTR_NULL(o.trusted_sealers);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS,
	    " lists.example.org,fwd.example.net\tmail.example ,"), 0);
	dks_verify_opts(&s, &o);
	CU_ASSERT(o.arc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.trusted_sealers);
	CU_ASSERT_STRING_EQUAL(o.trusted_sealers[0], "lists.example.org");
	CU_ASSERT_STRING_EQUAL(o.trusted_sealers[1], "fwd.example.net");
	CU_ASSERT_STRING_EQUAL(o.trusted_sealers[2], "mail.example");
	CU_ASSERT_PTR_NULL(o.trusted_sealers[3]);
	/* 33 domains: one too many; the list before stays */
	for (i = 0; i < DKS_SEALERS_MAX + 1; i++)
		p += sprintf(p, "%sd%d.example", i > 0 ? "," : "", i);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS, many), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "trusted-sealers: more than 32 "
	    "domains");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS, "a.example, b_c"), -1);
	dks_verify_opts(&s, &o);
	CU_ASSERT_STRING_EQUAL(o.trusted_sealers[0], "lists.example.org");
	CU_ASSERT_PTR_NULL(o.trusted_sealers[3]);
	/* exactly 32 is fine */
	*strrchr(many, ',') = '\0';
	CU_ASSERT_EQUAL(dks_set(&s, DKS_TRUSTED_SEALERS, many), 0);
	dks_verify_opts(&s, &o);
	CU_ASSERT_STRING_EQUAL(o.trusted_sealers[31], "d31.example");
	CU_ASSERT_PTR_NULL(o.trusted_sealers[32]);
}

/* arc-forwarded: a yes/no that implies arc and needs DMARC (said with
 * the host's names). */
static void
settings_arc_forwarded(void)
{
	static const char *const flags[DKS_NKEYS] = {
		[DKS_DMARC] = "-p", [DKS_ARC_FORWARDED] = "-F" };
	struct dkk_verify_opts o;
	struct dks s;

	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ARC_FORWARDED, "maybe"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "arc-forwarded: 'maybe' is not yes "
	    "or no");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ARC_FORWARDED, "yes"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "arc-forwarded: lowers a DMARC "
	    "disposition: turn on dmarc");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_RFC7489, "yes"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), 0);
	dks_verify_opts(&s, &o);
	CU_ASSERT_EQUAL(o.arc_forwarded, 1);
	CU_ASSERT_EQUAL(o.arc, 1);
	CU_ASSERT_EQUAL(o.dmarc, 1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ARC_FORWARDED, "off"), 0);
	dks_verify_opts(&s, &o);
	CU_ASSERT_EQUAL(o.arc_forwarded, 0);
	CU_ASSERT_EQUAL(o.arc, 0);
	dks_init(&s, flags);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ARC_FORWARDED, "on"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "-F: lowers a DMARC disposition: turn "
	    "on -p");
}

/* The one combination rule, worded with the host's names; applying a
 * zone configures the context, a missing one names the setting. */
static void
settings_combination_and_apply(void)
{
	struct unit_fx fx;
	struct unit_tmp zt;
	struct dks s;
	dkk_ctx *ctx;

	dks_init(&s, spell);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ZONE, "/nonexistent.zone"), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_DNS, "127.0.0.1@53"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "dkimkit_zone: excludes dkimkit_dns "
	    "and dkimkit_trust_anchor: a zone file is the whole key source");
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	dks_init(&s, spell);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ZONE, "/nonexistent.zone"), 0);
	CU_ASSERT_EQUAL(dks_apply(&s, ctx), -1);
	CU_ASSERT(strncmp(s.err, "dkimkit_zone: ", 14) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.err, "nonexistent.zone"));
	dkk_ctx_free(ctx);
	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&zt, "t.zone", fx.zone,
	    strlen(fx.zone)), 0);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ZONE, zt.path), 0);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ALLOW_WEAK, "yes"), 0);
	CU_ASSERT_EQUAL(dks_apply(&s, ctx), 0);
	dkk_ctx_free(ctx);
	unit_tmp_remove(&zt);
	unit_fx_free(&fx);
}

/* The log line: verdicts, then each signature, at most 16, no control
 * character from the message, never past the buffer. */
static void
settings_log_line(void)
{
	static const struct dkk_verify_opts adsp = { .adsp = 1 };
	static const struct dkk_verify_opts all = { .dmarc = 1, .arc = 1,
	    .explain = 1 };
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char line[2048], tiny[40], *sm, *m, *many;
	dkk_verifier *v;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	o = unit_opts(fx.ed, "ed");
	sm = unit_sign(&fx, &o, "From: <joe@example.com>\r\n\r\nHi.\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	v = unit_verify_opts(fx.ctx, &adsp, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(dks_log_line(v, &adsp, "mx.example.net", line,
	    sizeof(line)), "mx.example.net: dkim=pass adsp=pass (example.com) "
	    "[pass d=example.com s=ed a=ed25519-sha256: good signature]");
	dkk_verifier_free(v);
	/* DMARC and ARC when asked for: no record, no chain */
	v = unit_verify_opts(fx.ctx, &all, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(dks_log_line(v, &all, "mx", line,
	    sizeof(line)), "mx: dkim=pass dmarc=none (example.com) "
	    "arc=none (0 sets) [pass d=example.com "
	    "s=ed a=ed25519-sha256: good signature]");
	dkk_verifier_free(v);
	/* a failure's class, with explain */
	sm[strlen(sm) - 3] = '!';
	v = unit_verify_opts(fx.ctx, &all, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	dks_log_line(v, &all, "mx", line, sizeof(line));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "body hash mismatch; "
	    "body-changed"));
	sm[strlen(sm) - 3] = '.';
	dkk_verifier_free(v);
	v = unit_verify_opts(fx.ctx, &adsp, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	dks_log_line(v, &adsp, "mx.example.net", tiny, sizeof(tiny));
	CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
	CU_ASSERT_STRING_EQUAL(tiny + sizeof(tiny) - 4, "...");
	dkk_verifier_free(v);
	/* 20 unparsable fields, one with a folded d= */
	m = strdup("DKIM-Signature: d=a\r\n\tb; v=1\r\n");
	many = malloc(20 * 40 + strlen(sm) + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(many);
	many[0] = '\0';
	for (i = 0; i < 20; i++)
		strcat(many, m);
	strcat(many, sm);
	v = unit_verify(fx.ctx, many, strlen(many), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	dks_log_line(v, NULL, "mx", line, sizeof(line));
	CU_ASSERT(strncmp(line, "mx: dkim=pass [permerror d=", 27) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " [5 more]"));
	CU_ASSERT_PTR_NULL(strpbrk(line, "\r\n\t"));
	dkk_verifier_free(v);
	free(many);
	free(m);
	free(sm);
	unit_fx_free(&fx);
}

static void
settings_policy_warn(void *arg, const char *warning)
{
	(void)warning;
	(*(int *)arg)++;
}

/* opendkim-conf: unset, no policy and no error; read, its warnings
 * passed on; unreadable or wrong, the error names the setting first. */
static void
settings_policy(void)
{
	static const char conf[] = "Domain example.com\nSelector s\n"
	    "KeyFile /nonexistent.private\nAutoRestart yes\n";
	struct unit_tmp ct;
	struct dks s;
	dkk_policy *p = (dkk_policy *)&s;
	dkk_ctx *ctx;
	int warned = 0;

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	dks_init(&s, spell);
	CU_ASSERT_EQUAL(dks_policy(&s, ctx, &p, settings_policy_warn,
	    &warned), 0);
	CU_ASSERT_PTR_NULL(p);
	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_OPENDKIM_CONF, "/nonexistent.conf"),
	    0);
	CU_ASSERT_EQUAL(dks_policy(&s, ctx, &p, NULL, NULL), -1);
	CU_ASSERT(strncmp(s.err, "opendkim-conf: ", 15) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.err, "/nonexistent.conf"));
	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&ct, "opendkim.conf", conf,
	    strlen(conf)), 0);
	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_OPENDKIM_CONF, ct.path), 0);
	CU_ASSERT_EQUAL(dks_policy(&s, ctx, &p, settings_policy_warn,
	    &warned), 0);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(warned, 1);	/* AutoRestart: not used */
	dkk_policy_free(p);
	unit_tmp_remove(&ct);
	dkk_ctx_free(ctx);
}

/* atps and atps-adsp (which implies atps) reach the verify options, in
 * the host's spelling when wrong; the log line gives each signature that
 * asked for ATPS its result and author.  The record's label is
 * base32(sha256("example.com")), computed with Python's hashlib. */
static void
settings_atps(void)
{
	static const char *const dovecot[DKS_NKEYS] = {
		[DKS_ATPS] = "dkimkit_atps",
	};
	static const char zone[] =
	    "UN42N5XOV642KXRXRQIYANHCOUPGQL5LT4WTBKYT2IJFLBWODFDQ._atps."
	    "author.example. TXT \"v=ATPS1; d=example.com\"\n";
	struct dkk_verify_opts o;
	struct dkk_sign_opts so;
	struct unit_fx fx;
	struct dks s;
	dkk_verifier *v;
	char line[1024], *sm;

	dks_init(&s, NULL);
	dks_verify_opts(&s, &o);
	CU_ASSERT(!o.atps && !o.atps_adsp);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ATPS, "yes"), 0);
	dks_verify_opts(&s, &o);
	CU_ASSERT(o.atps && !o.atps_adsp);
	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ATPS_ADSP, "on"), 0);
	dks_verify_opts(&s, &o);
	CU_ASSERT(o.atps && o.atps_adsp);
	dks_init(&s, dovecot);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ATPS, "maybe"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "dkimkit_atps: 'maybe' is not yes or no");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ATPS_ADSP, "x"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "atps-adsp: 'x' is not yes or no");

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, zone), 0);
	so = unit_opts(fx.ed, "ed");
	so.atps = "author.example";
	sm = unit_sign(&fx, &so, "From: <al@author.example>\r\n\r\nHi.\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_ATPS, "yes"), 0);
	dks_verify_opts(&s, &o);
	v = unit_verify_opts(fx.ctx, &o, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(dks_log_line(v, &o, "mx", line, sizeof(line)),
	    "mx: dkim=pass [pass d=example.com s=ed a=ed25519-sha256: good "
	    "signature; atps=pass for author.example]");
	dkk_verifier_free(v);
	/* off: no atps= in the line */
	dks_init(&s, NULL);
	dks_verify_opts(&s, &o);
	v = unit_verify_opts(fx.ctx, &o, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_PTR_NULL(strstr(dks_log_line(v, &o, "mx", line,
	    sizeof(line)), "atps"));
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

/* metrics-file needs store, metrics-interval needs metrics-file and is
 * whole seconds from 1 to a day (said with the host's names). */
static void
settings_metrics(void)
{
	static const char *const flags[DKS_NKEYS] = {
		[DKS_STORE] = "-O", [DKS_METRICS_FILE] = "-o",
		[DKS_METRICS_INTERVAL] = "-I" };
	struct dks s;

	dks_init(&s, flags);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_METRICS_INTERVAL, "0"), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "-I: '0' is not a number of seconds "
	    "from 1 to 86400");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_METRICS_INTERVAL, "86401"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_METRICS_INTERVAL, "99999999999"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_METRICS_INTERVAL, "5s"), -1);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_METRICS_INTERVAL, "86400"), 0);
	CU_ASSERT_EQUAL(s.metrics_s, 86400);
	CU_ASSERT_EQUAL(dks_check(&s), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "-I: needs -o");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_METRICS_FILE, "/run/m.prom"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "-o: needs -O (the counters are the "
	    "store's)");
	CU_ASSERT_EQUAL(dks_set(&s, DKS_STORE, "sqlite:/x.db"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), 0);
	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_METRICS_FILE, "m.prom"), 0);
	CU_ASSERT_EQUAL(dks_check(&s), -1);
	CU_ASSERT_STRING_EQUAL(s.err, "metrics-file: needs store (the "
	    "counters are the store's)");
}

/* workers: a count from 0 to DKS_WORKERS_MAX, or auto (the cores). */
static void
settings_workers(void)
{
	static const struct {
		const char *v;
		int ok;
		unsigned n;
	} cases[] = {
		{ "0", 1, 0 }, { "1", 1, 1 }, { "2", 1, 2 }, { "64", 1, 64 },
		{ "65", 0, 0 }, { "-1", 0, 0 }, { "two", 0, 0 }, { "2x", 0, 0 },
		{ "99999999999999999999", 0, 0 },
	};
	struct dks s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dks_init(&s, NULL);
		CU_ASSERT_EQUAL(dks_set(&s, DKS_WORKERS, cases[i].v),
		    cases[i].ok ? 0 : -1);
		if (cases[i].ok) {
			CU_ASSERT_EQUAL(s.workers, cases[i].n);
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(s.err, "workers: "));
		}
	}
	dks_init(&s, NULL);
	CU_ASSERT_EQUAL(dks_set(&s, DKS_WORKERS, "auto"), 0);
	CU_ASSERT(s.workers >= 1 && s.workers <= DKS_WORKERS_MAX);
}

static const struct unit_test settings_tests[] = {
	{ "settings_workers", settings_workers },
	{ "settings_timeout", settings_timeout },
	{ "settings_bools_and_ids", settings_bools_and_ids },
	{ "settings_dmarc_arc", settings_dmarc_arc },
	{ "settings_trusted_sealers", settings_trusted_sealers },
	{ "settings_arc_forwarded", settings_arc_forwarded },
	{ "settings_combination_and_apply", settings_combination_and_apply },
	{ "settings_log_line", settings_log_line },
	{ "settings_policy", settings_policy },
	{ "settings_atps", settings_atps },
	{ "settings_metrics", settings_metrics },
	{ NULL, NULL }
};

void
suite_settings(void)
{
	unit_suite("settings", settings_tests);
}
