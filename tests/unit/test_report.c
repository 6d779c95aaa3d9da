/*
 * test_report.c: failure reports (core/report): the _report._domainkey
 * record (RFC 6651 3.1), the rr= token of each reason, rp= sampling
 * (3.3), the plan of one message (3.3, 4), and the report (RFC 5965,
 * RFC 6591, RFC 6590 redaction).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"
#include "report/report.h"

static void
record_ok(const char *txt, int adsp, const char *ra, unsigned rp,
    unsigned rr, const char *rs)
{
	struct dkk_report_record r;

	CU_ASSERT_EQUAL_FATAL(dkk_report_record_parse(txt, strlen(txt), adsp,
	    &r), DKK_OK);
	if (ra == NULL) {
		CU_ASSERT_PTR_NULL(r.ra);
	} else if (r.ra == NULL) {
		CU_FAIL("no ra");
	} else {
		CU_ASSERT_STRING_EQUAL(r.ra, ra);
	}
	CU_ASSERT_EQUAL(r.rp, rp);
	CU_ASSERT_EQUAL(r.rr, rr);
	if (rs == NULL) {
		CU_ASSERT_PTR_NULL(r.rs);
	} else if (r.rs == NULL) {
		CU_FAIL("no rs");
	} else {
		CU_ASSERT_STRING_EQUAL(r.rs, rs);
	}
	dkk_report_record_clear(&r);
}

static void
record_bad(const char *txt, int adsp)
{
	struct dkk_report_record r;

	CU_ASSERT_EQUAL(dkk_report_record_parse(txt, strlen(txt), adsp, &r),
	    DKK_ESYNTAX);
}

/* RFC 6651 3.1: rp= defaults to 100, rr= to all; ra= and rs= are
 * dkim-quoted-printable. */
static void
report_record_defaults(void)
{
	record_ok("ra=dkim-fail", 0, "dkim-fail", 100, DKK_RR_ALL, NULL);
	record_ok("rp=5", 0, NULL, 5, DKK_RR_ALL, NULL);
	record_ok("ra=a=2Eb; rs=No=20thanks", 0, "a.b", 100, DKK_RR_ALL,
	    "No thanks");
	record_ok("ra=x; future=1", 0, "x", 100, DKK_RR_ALL, NULL);
}

static void
report_record_rr(void)
{
	record_ok("ra=r; rr=v:x", 0, "r", 100, DKK_RR('v') | DKK_RR('x'),
	    NULL);
	record_ok("ra=r; rr= d : s ", 0, "r", 100, DKK_RR('d') | DKK_RR('s'),
	    NULL);
	/* a token this version does not know adds nothing */
	record_ok("ra=r; rr=q:zz:v", 0, "r", 100, DKK_RR('v'), NULL);
	record_ok("ra=r; rr=all", 0, "r", 100, DKK_RR_ALL, NULL);
	/* ADSP (section 4): only o p s u */
	record_ok("dkim=all; ra=r; rr=v:u", 1, "r", 100, DKK_RR('u'), NULL);
	record_ok("dkim=all; ra=r", 1, "r", 100, DKK_RR('o') | DKK_RR('p') |
	    DKK_RR('s') | DKK_RR('u'), NULL);
}

static void
report_record_bad(void)
{
	record_bad("ra=r; rp=101", 0);
	record_bad("ra=r; rp=-1", 0);
	record_bad("ra=r; rp=", 0);
	record_bad("ra=r; rp=1000", 0);
	record_bad("ra=r; rr=v::x", 0);
	record_bad("ra=r; rr=v;x", 0);
	record_bad("ra=r@example.com", 0);	/* a local part only */
	record_bad("ra=.r", 0);
	record_bad("ra=r; ra=s", 0);		/* RFC 6376 3.2 */
	record_bad("ra", 0);
}

/* Every reason has its token, or none for dkimkit's own trouble. */
static void
report_tokens(void)
{
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_OK), 0);
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_INTERNAL), 0);
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_LIMIT), 0);
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_BODY_HASH), 'v');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_SIGNATURE), 'v');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_EXPIRED), 'x');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_KEY_REVOKED), 'd');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_KEY_NXDOMAIN), 'd');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_KEY_DNS), 'd');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_SYNTAX), 's');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_MISSING_TAG), 's');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_WEAK_HASH), 'p');
	CU_ASSERT_EQUAL(dkk_report_token(DKK_R_FUTURE), 'o');
}

static uint32_t
xorshift(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

static unsigned
sample_count(unsigned rp, unsigned draws, uint64_t seed)
{
	struct dkk_report_opts o = { .random = xorshift, .random_arg = &seed };
	unsigned i, n = 0, d;

	for (i = 0; i < draws; i++) {
		CU_ASSERT_EQUAL(report_draw(&o, &d), DKK_OK);
		CU_ASSERT(d < 100);
		n += (unsigned)dkk_report_sampled(rp, d);
	}
	return n;
}

/* RFC 6651 3.3: rp=0 never, rp=100 always, rp=37 about 37 in 100:
 * 10,000 draws, mean 3700, sd sqrt(10000 * .37 * .63) = 48.3; the
 * 99.9% two-sided interval is 3700 +- 3.29 sd = [3541, 3859]. */
static void
report_sampling(void)
{
	unsigned n;

	CU_ASSERT_EQUAL(sample_count(0, 10000, 88172645463325252ULL), 0);
	CU_ASSERT_EQUAL(sample_count(100, 10000, 1234567ULL), 10000);
	n = sample_count(37, 10000, 0x2545f4914f6cdd1dULL);
	CU_ASSERT(n >= 3541 && n <= 3859);
	CU_ASSERT_EQUAL(dkk_report_sampled(1, 0), 1);
	CU_ASSERT_EQUAL(dkk_report_sampled(1, 1), 0);
	CU_ASSERT_EQUAL(dkk_report_sampled(100, 99), 1);
}

static const char report_zone[] =
    "rsa._domainkey.v.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_report._domainkey.v.example. TXT \"ra=rep; rr=v; rs=go=20away\"\n"
    "rsa._domainkey.x.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_report._domainkey.x.example. TXT \"ra=rep; rr=x\"\n"
    "rsa._domainkey.two.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_report._domainkey.two.example. TXT \"ra=a\"\n"
    "_report._domainkey.two.example. TXT \"ra=b\"\n"
    "rsa._domainkey.zero.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_report._domainkey.zero.example. TXT \"ra=rep; rp=0\"\n"
    "rsa._domainkey.bad.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_report._domainkey.bad.example. TXT \"ra=rep; rp=101\"\n"
    "rsa._domainkey.nora.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_report._domainkey.nora.example. TXT \"rr=all\"\n"
    "rsa._domainkey.none.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "revoked._domainkey.v.example. TXT \"v=DKIM1; p=\"\n"
    "rsa._domainkey.d.example. TXT \"v=DKIM1; p=\"\n"
    "_report._domainkey.d.example. TXT \"ra=keys; rr=d\"\n"
    "example.com. A 192.0.2.9\n"
    "_adsp._domainkey.example.com. TXT "
    "\"dkim=all; ra=adsp; rr=p:u\"\n";

/* The body changed after signing: body hash mismatch. */
static char *
signed_broken_as(struct unit_fx *fx, const char *domain, int r,
    const char *identity, const char *m)
{
	struct dkk_sign_opts o = unit_opts(fx->rsa, "rsa");
	char *sm, *bad;

	o.domain = domain;
	o.report_request = r;
	o.identity = identity;
	sm = unit_sign(fx, &o, m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	bad = replace(sm, "Joe.", "Joe!");
	free(sm);
	return bad;
}

static char *
signed_broken(struct unit_fx *fx, const char *domain, int r, const char *m)
{
	return signed_broken_as(fx, domain, r, NULL, m);
}

/* Plan the reports of m; want: "to/token/sampled_out" per request,
 * space-separated, "" for none. */
static void
plan_expect(struct unit_fx *fx, const char *m, int adsp, const char *want)
{
	struct dkk_verify_opts vo = { .adsp = adsp };
	struct dkk_report_opts ro = { .adsp = adsp };
	dkk_verifier *v = unit_verify_opts(fx->ctx, &vo, m, strlen(m), 0);
	dkk_reports *r = NULL;
	char got[512] = "";
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_reports_new(v, &ro, &r), DKK_OK);
	CU_ASSERT_EQUAL(dkk_reports_wait(r), DKK_OK);
	for (i = 0; i < dkk_reports_count(r); i++) {
		const struct dkk_report_req *q = dkk_reports_get(r, i);

		snprintf(got + strlen(got), sizeof(got) - strlen(got),
		    "%s%s/%c/%d", i ? " " : "", q->to, q->token,
		    q->sampled_out);
	}
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "reports \"%s\", want \"%s\"\n", got, want);
		CU_FAIL("unexpected reports");
	}
	dkk_reports_free(r);
	dkk_verifier_free(v);
}

static void
plan_case(const char *domain, int r, const char *want)
{
	struct unit_fx fx;
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, report_zone), 0);
	m = signed_broken(&fx, domain, r, msg);
	plan_expect(&fx, m, 0, want);
	free(m);
	unit_fx_free(&fx);
}

/* RFC 6651 3.3: a report exactly when r=y and the record asks. */
static void
report_plan_asked(void)
{
	plan_case("v.example", 1, "rep@v.example/v/0");
	plan_case("v.example", 0, "");		/* no r=y */
	plan_case("x.example", 1, "");		/* rr=x only */
	plan_case("two.example", 1, "");	/* two records */
	plan_case("bad.example", 1, "");	/* a bad record */
	plan_case("nora.example", 1, "");	/* no ra= */
	plan_case("none.example", 1, "");	/* no record */
	plan_case("zero.example", 1, "rep@zero.example/v/1");	/* rp=0 */
}

/* A revoked key is a d failure; an intact message passes: nothing. */
static void
report_plan_key(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, report_zone), 0);
	o = unit_opts(fx.rsa, "rsa");
	o.domain = "d.example";
	o.report_request = 1;
	sm = unit_sign(&fx, &o, msg);
	plan_expect(&fx, sm, 0, "keys@d.example/d/0");
	free(sm);
	o.domain = "v.example";
	sm = unit_sign(&fx, &o, msg);
	plan_expect(&fx, sm, 0, "");
	free(sm);
	unit_fx_free(&fx);
}

/* Every TXT name answers "ra=rep": the resolver of a site whose
 * wildcard record would take any name a d= makes. */
static int
any_report(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	static const char rec[] = "ra=rep";
	const char *txt[1] = { rec };
	size_t len[1] = { sizeof(rec) - 1 };
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 1,
	    txt, len };

	(void)name;
	(*(int *)arg)++;
	cb(cbarg, &a);
	return DKK_OK;
}

/* The d= of a signature that did not parse is as written; one that is
 * no domain name ("<", ",", "@") never becomes a lookup or an address:
 * it would put other recipients into the report's To:. */
static void
report_plan_bad_domain(void)
{
	static const struct dkk_resolver ops = { .query_txt = any_report };
	static const char m[] = "DKIM-Signature: v=1; a=rsa-sha256; r=y; "
	    "s=x; h=from; bh=AA==; b=AA==;\r\n d=v.example>,<boss@other."
	    "example>,<z@w.example\r\nFrom: joe@v.example\r\n\r\nHi.\r\n";
	static const char ok[] = "DKIM-Signature: v=1; a=rsa-sha256; r=y; "
	    "s=x; h=from; bh=AA==; b=AA==;\r\n d=v.example; c=bogus\r\n"
	    "From: joe@v.example\r\n\r\nHi.\r\n";
	struct unit_fx fx;
	int queries = 0;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, report_zone), 0);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(fx.ctx, &ops, &queries),
	    DKK_OK);
	plan_expect(&fx, m, 0, "");
	CU_ASSERT_EQUAL(queries, 0);
	/* the same broken signature with a real d=: its s report */
	plan_expect(&fx, ok, 0, "rep@v.example/s/0");
	CU_ASSERT_EQUAL(queries, 1);
	unit_fx_free(&fx);
}

/* RFC 5965 3: never a report about a feedback report. */
static void
report_plan_no_loop(void)
{
	struct unit_fx fx;
	char *m, *fb;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, report_zone), 0);
	fb = replace(msg, "Subject:", "Content-Type: multipart/report;\r\n"
	    " report-type=\"feedback-report\"; boundary=x\r\nSubject:");
	m = signed_broken(&fx, "v.example", 1, fb);
	plan_expect(&fx, m, 0, "");
	free(m);
	free(fb);
	unit_fx_free(&fx);
}

/* RFC 6651 4: the ADSP record's ra= at the Author Domain; an unsigned
 * message is u, one signed by another domain only is p. */
static void
report_plan_adsp(void)
{
	struct unit_fx fx;
	char *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, report_zone), 0);
	plan_expect(&fx, msg, 1, "adsp@example.com/u/0");
	m = signed_broken(&fx, "x.example", 0, msg);
	plan_expect(&fx, m, 1, "adsp@example.com/p/0");
	free(m);
	unit_fx_free(&fx);
}

static char *
build_one(struct unit_fx *fx, const char *m, const uint8_t *key)
{
	struct dkk_report_info info = { .from = "rep@receiver.example",
	    .authserv_id = "mx.receiver.example", .arrival = -1,
	    .message = m, .message_len = strlen(m),
	    .mail_from = "joe@example.com", .redact_key = key,
	    .redact_key_len = key ? strlen((const char *)key) : 0 };
	dkk_verifier *v = unit_verify(fx->ctx, m, strlen(m), 0);
	dkk_reports *r = NULL;
	char *out = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_reports_new(v, NULL, &r), DKK_OK);
	CU_ASSERT_EQUAL(dkk_reports_wait(r), DKK_OK);
	CU_ASSERT_EQUAL(dkk_reports_count(r), 1);
	if (dkk_reports_count(r) == 1) {
		CU_ASSERT_EQUAL(dkk_report_build(r, 0, &info, &out), DKK_OK);
	}
	dkk_reports_free(r);
	dkk_verifier_free(v);
	return out;
}

/* RFC 6591 3.1 fields; RFC 6590: no local part and no canonical copy
 * once redacted, and the same token for the same address. */
static void
report_build_fields(void)
{
	struct unit_fx fx;
	char *m, *plain, *red, *tok;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, report_zone), 0);
	m = signed_broken(&fx, "v.example", 1, msg);
	plain = build_one(&fx, m, NULL);
	red = build_one(&fx, m, (const uint8_t *)"secret");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
	CU_ASSERT_PTR_NOT_NULL_FATAL(red);
	{
		static const char *const want[] = {
			"\r\nFeedback-Type: auth-failure\r\n",
			"\r\nAuth-Failure: bodyhash\r\n",
			"\r\nDKIM-Domain: v.example\r\n",
			"\r\nDKIM-Selector: rsa\r\n",
			"\r\nReported-Domain: v.example\r\n",
			"\r\nTo: <rep@v.example>\r\n",
			"DKIM-Canonicalized-Body: ",
			"Content-Type: text/rfc822-headers",
			"Authentication-Results: mx.receiver.example;",
		};
		size_t k;

		for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			if (strstr(plain, want[k]) == NULL) {
				fprintf(stderr, "no \"%s\"\n", want[k]);
				CU_FAIL("a field is missing");
			}
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(plain, "joe@example.com"));
	CU_ASSERT_PTR_NULL(strstr(red, "joe@"));
	CU_ASSERT_PTR_NULL(strstr(red, "DKIM-Canonicalized"));
	/* Original-Mail-From and the From field: one token */
	tok = strstr(red, "Original-Mail-From: <");
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	tok += strlen("Original-Mail-From: <");
	n = strcspn(tok, "@");
	CU_ASSERT_EQUAL(n, 32);
	{
		char needle[64];

		snprintf(needle, sizeof(needle), "From: Joe SixPack <%.*s@",
		    (int)n, tok);
		CU_ASSERT_PTR_NOT_NULL(strstr(red, needle));
	}
	free(plain);
	free(red);
	free(m);
	/* i= and header.i= keep their names, only the local part goes */
	m = signed_broken_as(&fx, "v.example", 1, "joe@v.example", msg);
	red = build_one(&fx, m, (const uint8_t *)"secret");
	CU_ASSERT_PTR_NOT_NULL_FATAL(red);
	CU_ASSERT_PTR_NULL(strstr(red, "joe@"));
	tok = strstr(red, "header.i=");
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	tok += strlen("header.i=");
	CU_ASSERT_EQUAL(strcspn(tok, "@"), 32);
	CU_ASSERT_EQUAL(strspn(tok, "0123456789abcdef"), 32);
	tok = strstr(red, "i=");
	while (tok != NULL && strchr(" \t;", tok[-1]) == NULL)
		tok = strstr(tok + 1, "i=");
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	CU_ASSERT_EQUAL(strspn(tok + 2, "0123456789abcdef"), 32);
	free(red);
	free(m);
	unit_fx_free(&fx);
}

/* One plan and its report with the allocator failing at some point:
 * DKK_ENOMEM from one of the calls, or the one report; never a crash or
 * (under ASan) a leak. */
static int
oom_report(dkk_verifier *v, const char *m)
{
	struct dkk_report_info info = { .from = "rep@receiver.example",
	    .authserv_id = "mx", .arrival = -1, .message = m,
	    .message_len = strlen(m) };
	dkk_reports *r = NULL;
	char *out = NULL;
	int rc;

	if ((rc = dkk_reports_new(v, NULL, &r)) != DKK_OK)
		return rc;
	if ((rc = dkk_reports_wait(r)) == DKK_OK) {
		if (dkk_reports_count(r) != 1)
			rc = DKK_EINVAL;
		else
			rc = dkk_report_build(r, 0, &info, &out);
	}
	if (rc == DKK_OK && (out == NULL ||
	    strstr(out, "Feedback-Type: auth-failure") == NULL))
		rc = DKK_EINVAL;
	free(out);
	dkk_reports_free(r);
	return rc;
}

static void
report_out_of_memory(void)
{
	struct unit_fx fx;
	dkk_verifier *v;
	char *m;
	long total, n;
	int rc;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, report_zone), 0);
	m = signed_broken(&fx, "v.example", 1, msg);
	v = unit_verify(fx.ctx, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	dkk_alloc_fail_at = LONG_MAX;
	rc = oom_report(v, m);
	total = LONG_MAX - dkk_alloc_fail_at;
	dkk_alloc_fail_at = 0;
	CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
	CU_ASSERT(total > 10);
	for (n = 1; n <= total + 1; n++) {
		dkk_alloc_fail_at = n;
		rc = oom_report(v, m);
		dkk_alloc_fail_at = 0;
		CU_ASSERT(rc == DKK_OK || rc == DKK_ENOMEM);
		if (rc != DKK_OK && rc != DKK_ENOMEM)
			fprintf(stderr, "allocation %ld of %ld: %s\n", n, total,
			    dkk_strerror(rc));
	}
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

static const struct unit_test report_tests[] = {
	{ "report_record_defaults", report_record_defaults },
	{ "report_record_rr", report_record_rr },
	{ "report_record_bad", report_record_bad },
	{ "report_tokens", report_tokens },
	{ "report_sampling", report_sampling },
	{ "report_plan_asked", report_plan_asked },
	{ "report_plan_key", report_plan_key },
	{ "report_plan_bad_domain", report_plan_bad_domain },
	{ "report_plan_no_loop", report_plan_no_loop },
	{ "report_plan_adsp", report_plan_adsp },
	{ "report_build_fields", report_build_fields },
	{ "report_out_of_memory", report_out_of_memory },
	{ NULL, NULL }
};

void
suite_report(void)
{
	unit_suite("report", report_tests);
}
