/*
 * test_ruf.c: DMARC failure reports (RFC 9991): which fo= options
 * (RFC 9989 4.7) ask for a report given what DKIM and SPF came to, and
 * the report destinations of core/dmarc/dest.c (mailto: URIs with the
 * "!size" of RFC 7489 6.2, the external destination verification of
 * RFC 7489 7.1 kept by RFC 9990 and RFC 9991).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"
#include "dmarc/dmarc.h"
#include "report/report.h"

/* The four messages of RFC 9989 4.7's fo= text, as facts. */
static const struct ruf_facts both_aligned = { true, true, false, false };
static const struct ruf_facts dkim_only_failed = { false, true, true, false };
static const struct ruf_facts spf_only_failed = { true, false, false, true };
static const struct ruf_facts both_failed = { false, false, true, true };

/* fo=0 (the default): only when no mechanism gave an aligned pass
 * ("all underlying authentication mechanisms fail"). */
static void
ruf_fo_0_all_failed(void)
{
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0, &both_failed), '0');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0, &dkim_only_failed), 0);
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0, &spf_only_failed), 0);
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0, &both_aligned), 0);
}

/* fo=1: when any mechanism gave something other than an aligned pass,
 * so also for a message that passed DMARC on the other one. */
static void
ruf_fo_1_any_failed(void)
{
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_1, &both_failed), '1');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_1, &dkim_only_failed), '1');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_1, &spf_only_failed), '1');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_1, &both_aligned), 0);
}

/* fo=1 counts an aligned pass missing, not a failure: SPF none (no
 * result) with DKIM aligned still asks. */
static void
ruf_fo_1_spf_none(void)
{
	struct ruf_facts f = { true, false, false, false };

	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_1, &f), '1');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0, &f), 0);
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_S, &f), 0);
}

/* fo=d: a signature failed evaluation, aligned or not; fo=s: SPF
 * failed, aligned or not (an aligned pass elsewhere changes nothing). */
static void
ruf_fo_d_s_regardless(void)
{
	struct ruf_facts unaligned_sig = { true, true, true, false };
	struct ruf_facts spf_fail_other = { true, true, false, true };

	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_D, &dkim_only_failed), 'd');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_D, &both_failed), 'd');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_D, &spf_only_failed), 0);
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_D, &unaligned_sig), 'd');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_S, &spf_only_failed), 's');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_S, &both_failed), 's');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_S, &dkim_only_failed), 0);
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_S, &spf_fail_other), 's');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_D, &both_aligned), 0);
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_S, &both_aligned), 0);
}

/* Several options: a report when any asks, the first that asks named. */
static void
ruf_fo_combined(void)
{
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0 | DMARC_FO_D,
	    &dkim_only_failed), 'd');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0 | DMARC_FO_S,
	    &dkim_only_failed), 0);
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_D | DMARC_FO_S,
	    &spf_only_failed), 's');
	CU_ASSERT_EQUAL(ruf_fo_asks(DMARC_FO_0 | DMARC_FO_D | DMARC_FO_S,
	    &both_failed), '0');
	CU_ASSERT_EQUAL(ruf_fo_asks(0, &both_failed), 0);
}

/* The record keeps fo= and ruf= as written; a bad fo= is the default 0
 * (RFC 9989 4.8: syntax errors in the remainder give defaults). */
static void
ruf_record_tags(void)
{
	static const char rec[] = "v=DMARC1; p=none; fo=d:s; "
	    "ruf=mailto:a@example.com,mailto:b@example.net!10k";
	static const char bad[] = "v=DMARC1; p=none; fo=0:1";
	struct dmarc_rec r;

	CU_ASSERT_EQUAL_FATAL(dmarc_record_parse(rec, strlen(rec), false, &r),
	    1);
	CU_ASSERT_EQUAL(r.fo, DMARC_FO_D | DMARC_FO_S);
	CU_ASSERT_TRUE(r.ruf);
	CU_ASSERT_EQUAL_FATAL(r.ruf_len, strlen("mailto:a@example.com,"
	    "mailto:b@example.net!10k"));
	CU_ASSERT_EQUAL(memcmp(r.ruf_list, "mailto:a@", 9), 0);
	CU_ASSERT_EQUAL_FATAL(dmarc_record_parse(bad, strlen(bad), false, &r),
	    1);
	CU_ASSERT_EQUAL(r.fo, DMARC_FO_0);
	CU_ASSERT_PTR_NULL(r.ruf_list);
}

static void
uri_ok(const char *uri, const char *addr, const char *domain, uint64_t max)
{
	struct dmarc_uri u;
	const char *why = NULL;

	CU_ASSERT_EQUAL_FATAL(dmarc_uri_parse(uri, strlen(uri), &u, &why), 0);
	CU_ASSERT_STRING_EQUAL(u.addr, addr);
	CU_ASSERT_STRING_EQUAL(u.domain, domain);
	CU_ASSERT_EQUAL(u.max_bytes, max);
}

static void
uri_bad(const char *uri)
{
	struct dmarc_uri u;
	const char *why = NULL;

	CU_ASSERT_EQUAL(dmarc_uri_parse(uri, strlen(uri), &u, &why), -1);
	CU_ASSERT_PTR_NOT_NULL(why);
}

/* RFC 7489 6.2: "!" size with k, m, g, t units (powers of two). */
static void
ruf_uri_parse(void)
{
	uri_ok("mailto:ruf@example.com", "ruf@example.com", "example.com", 0);
	uri_ok(" MAILTO:ruf@example.com ", "ruf@example.com", "example.com",
	    0);
	uri_ok("mailto:ruf@example.com!50", "ruf@example.com", "example.com",
	    50);
	uri_ok("mailto:ruf@example.com!10k", "ruf@example.com", "example.com",
	    10240);
	uri_ok("mailto:ruf@example.com!2m", "ruf@example.com", "example.com",
	    2u << 20);
	uri_ok("mailto:ruf@example.com!1t", "ruf@example.com", "example.com",
	    (uint64_t)1 << 40);
	/* RFC 6068 2: percent-encoded octets */
	uri_ok("mailto:d%2Bruf@example.com", "d+ruf@example.com",
	    "example.com", 0);
	uri_bad("https://example.com/ruf");
	uri_bad("mailto:");
	uri_bad("mailto:ruf@");
	uri_bad("mailto:@example.com");
	uri_bad("mailto:ruf@example.com!");
	uri_bad("mailto:ruf@example.com!10x");
	uri_bad("mailto:ruf@example.com?subject=x");
	uri_bad("mailto:ruf%0D%0ABcc:x@example.com");
	uri_bad("mailto:ruf@exa mple.com");
	uri_bad("mailto:ruf@example.com%2");
}

/* RFC 7489 7.1: <policy-domain>._report._dmarc.<destination>. */
static void
ruf_dest_qname(void)
{
	char out[300], small[20], longd[250];

	CU_ASSERT_EQUAL(dmarc_dest_qname("example.com", "thirdparty.example",
	    out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out,
	    "example.com._report._dmarc.thirdparty.example");
	CU_ASSERT_EQUAL(dmarc_dest_qname("example.com", "thirdparty.example",
	    small, sizeof(small)), -1);
	memset(longd, 'a', sizeof(longd) - 1);
	longd[sizeof(longd) - 1] = '\0';
	CU_ASSERT_EQUAL(dmarc_dest_qname("example.com", longd, out,
	    sizeof(out)), -1);
}

static void
ruf_dest_accepts(void)
{
	const char *yes[] = { "some other text", "v=DMARC1" };
	const char *yes2[] = { "v = DMARC1; rua=mailto:x@y.example" };
	const char *no[] = { "v=DMARC2", "v=DMARC10", "x=1; v=DMARC1",
	    "v=dmarc1" };

	CU_ASSERT_TRUE(dmarc_dest_accepts(yes, 2));
	CU_ASSERT_TRUE(dmarc_dest_accepts(yes2, 1));
	CU_ASSERT_FALSE(dmarc_dest_accepts(no, 4));
	CU_ASSERT_FALSE(dmarc_dest_accepts(NULL, 0));
}

static void
ruf_dest_external(void)
{
	CU_ASSERT_FALSE(dmarc_dest_external("example.com", "example.com"));
	CU_ASSERT_FALSE(dmarc_dest_external("example.com",
	    "reports.EXAMPLE.com"));
	CU_ASSERT_TRUE(dmarc_dest_external("example.com", "badexample.com"));
	CU_ASSERT_TRUE(dmarc_dest_external("example.com", "example.net"));
	CU_ASSERT_TRUE(dmarc_dest_external("sub.example.com", "example.com"));
}

static void
ruf_kind_names(void)
{
	CU_ASSERT_STRING_EQUAL(dkk_report_kind_name(DKK_REPORT_DKIM), "dkim");
	CU_ASSERT_STRING_EQUAL(dkk_report_kind_name(DKK_REPORT_ADSP), "adsp");
	CU_ASSERT_STRING_EQUAL(dkk_report_kind_name(DKK_REPORT_DMARC),
	    "dmarc");
	CU_ASSERT_PTR_NULL(dkk_report_kind_name((enum dkk_report_kind)9));
}

/* Author domains for the plan: each message is from joe@D, signed by
 * D and broken (DMARC fails: no SPF, the one signature fails). */
static const char ruf_zone[] =
    "rsa._domainkey.f0.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_dmarc.f0.example. TXT \"v=DMARC1; p=none; ruf=mailto:r@f0.example\"\n"
    "rsa._domainkey.nf.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_dmarc.nf.example. TXT \"v=DMARC1; p=none\"\n"
    "rsa._domainkey.x.psd.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_dmarc.psd.example. TXT \"v=DMARC1; p=none; psd=y; ruf=mailto:r@psd.example\"\n"
    "rsa._domainkey.ext.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_dmarc.ext.example. TXT \"v=DMARC1; p=none; ruf=mailto:r@ok.example,mailto:r@no.example,https://x.example/\"\n"
    "ext.example._report._dmarc.ok.example. TXT \"v=DMARC1\"\n"
    "rsa._domainkey.s.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_dmarc.s.example. TXT \"v=DMARC1; p=none; fo=s; ruf=mailto:r@s.example\"\n"
    "rsa._domainkey.lh.example. TXT \"v=DKIM1; p=$RSA\"\n"
    "_dmarc.lh.example. TXT \"v=DMARC1; p=none; ruf=mailto:r@localhost, "
    "mailto:a%3Eb@lh.example, mailto:r@lh.example!2k, mailto:R@LH.example\"\n";

static char *
ruf_message(struct unit_fx *fx, const char *domain)
{
	struct dkk_sign_opts o = unit_opts(fx->rsa, "rsa");
	char *m = from_at(domain), *sm, *bad;

	o.domain = domain;
	sm = unit_sign(fx, &o, m);
	free(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	bad = replace(sm, "Joe.", "Joe!");
	free(sm);
	return bad;
}

/* The plan of domain's broken message: "to/token/kind" per request. */
static void
ruf_plan_case(const char *domain, int no_dmarc, const char *want)
{
	struct dkk_verify_opts vo = { .dmarc = 1 };
	struct dkk_report_opts ro = { .no_dmarc = no_dmarc };
	struct unit_fx fx;
	dkk_verifier *v;
	dkk_reports *r = NULL;
	char got[512] = "", *m;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ruf_zone), 0);
	m = ruf_message(&fx, domain);
	v = unit_verify_opts(fx.ctx, &vo, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_reports_new(v, &ro, &r), DKK_OK);
	CU_ASSERT_EQUAL(dkk_reports_wait(r), DKK_OK);
	for (i = 0; i < dkk_reports_count(r); i++) {
		const struct dkk_report_req *q = dkk_reports_get(r, i);

		snprintf(got + strlen(got), sizeof(got) - strlen(got),
		    "%s%s/%c/%s", i ? " " : "", q->to, q->token,
		    dkk_report_kind_name(q->kind));
	}
	if (strcmp(got, want) != 0)
		fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", domain, got,
		    want);
	CU_ASSERT_STRING_EQUAL(got, want);
	dkk_reports_free(r);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* RFC 9991 with RFC 9989 4.7: ruf= and fo= decide; a psd=y record's
 * ruf= is never used; an external address needs its consent record;
 * other URI schemes are passed over. */
static void
ruf_plan_records(void)
{
	ruf_plan_case("f0.example", 0, "r@f0.example/0/dmarc");
	ruf_plan_case("f0.example", 1, "");
	ruf_plan_case("nf.example", 0, "");
	ruf_plan_case("x.psd.example", 0, "");
	ruf_plan_case("ext.example", 0, "r@ok.example/0/dmarc");
	ruf_plan_case("s.example", 0, "");	/* fo=s, no SPF result */
	/* no domain name, a '>' in the address; one report per address */
	ruf_plan_case("lh.example", 0, "r@lh.example/0/dmarc");
}

/* The plan and the report with the allocator failing at each point:
 * DKK_ENOMEM or the report, never a crash or (under ASan) a leak. */
static int
ruf_oom_once(dkk_verifier *v, const char *m)
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
	    strstr(out, "Auth-Failure: dmarc") == NULL))
		rc = DKK_EINVAL;
	free(out);
	dkk_reports_free(r);
	return rc;
}

static void
ruf_out_of_memory(void)
{
	struct dkk_verify_opts vo = { .dmarc = 1 };
	struct unit_fx fx;
	dkk_verifier *v;
	long total, n;
	char *m;
	int rc;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ruf_zone), 0);
	m = ruf_message(&fx, "ext.example");
	v = unit_verify_opts(fx.ctx, &vo, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	dkk_alloc_fail_at = LONG_MAX;
	rc = ruf_oom_once(v, m);
	total = LONG_MAX - dkk_alloc_fail_at;
	dkk_alloc_fail_at = 0;
	CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
	for (n = 1; n <= total + 1; n++) {
		dkk_alloc_fail_at = n;
		rc = ruf_oom_once(v, m);
		dkk_alloc_fail_at = 0;
		CU_ASSERT(rc == DKK_OK || rc == DKK_ENOMEM);
	}
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

static const struct unit_test ruf_tests[] = {
	{ "ruf_plan_records", ruf_plan_records },
	{ "ruf_out_of_memory", ruf_out_of_memory },
	{ "ruf_fo_0_all_failed", ruf_fo_0_all_failed },
	{ "ruf_fo_1_any_failed", ruf_fo_1_any_failed },
	{ "ruf_fo_1_spf_none", ruf_fo_1_spf_none },
	{ "ruf_fo_d_s_regardless", ruf_fo_d_s_regardless },
	{ "ruf_fo_combined", ruf_fo_combined },
	{ "ruf_record_tags", ruf_record_tags },
	{ "ruf_uri_parse", ruf_uri_parse },
	{ "ruf_dest_qname", ruf_dest_qname },
	{ "ruf_dest_accepts", ruf_dest_accepts },
	{ "ruf_dest_external", ruf_dest_external },
	{ "ruf_kind_names", ruf_kind_names },
	{ NULL, NULL }
};

void
suite_ruf(void)
{
	unit_suite("ruf", ruf_tests);
}
