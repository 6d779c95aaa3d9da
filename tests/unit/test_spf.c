/*
 * test_spf.c: SPF check_host() (core/spf) over zone files: record
 * selection, every mechanism and modifier, the limits of RFC 7208 4.6.4,
 * the identities, and the examples of RFC 7208 Appendix A.  Each case
 * names its section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "spf/spf.h"

/* RFC 7208 Appendix A's zone; cases add the records they test. */
static const char appendix_a[] =
    "$ORIGIN example.com.\n"
    "@ 600 MX 10 mail-a\n"
    "      MX 20 mail-b\n"
    "      A 192.0.2.10\n"
    "      A 192.0.2.11\n"
    "amy A 192.0.2.65\n"
    "bob A 192.0.2.66\n"
    "mail-a A 192.0.2.129\n"
    "mail-b A 192.0.2.130\n"
    "www CNAME example.com.\n"
    "$ORIGIN example.org.\n"
    "@ MX 10 mail-c\n"
    "mail-c A 192.0.2.140\n"
    "$ORIGIN 2.0.192.in-addr.arpa.\n"
    "10 PTR example.com.\n"
    "11 PTR example.com.\n"
    "65 PTR amy.example.com.\n"
    "66 PTR bob.example.com.\n"
    "129 PTR mail-a.example.com.\n"
    "130 PTR mail-b.example.com.\n"
    "140 PTR mail-c.example.org.\n"
    "10.0.0.10.in-addr.arpa. PTR bob.example.com.\n"
    "$ORIGIN example.com.\n";

struct spf_case {
	const char *section;	/* RFC 7208 section */
	const char *zone;	/* after appendix_a */
	const char *ip;
	const char *from;	/* MAIL FROM; NULL: the HELO check */
	enum dkk_spf_result want;
};

/* A context over appendix_a followed by extra. */
static dkk_ctx *
spf_ctx(const char *extra)
{
	struct unit_tmp t;
	dkk_ctx *ctx = NULL;
	char *text;
	size_t n = strlen(appendix_a) + strlen(extra) + 2;

	text = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(text, n, "%s%s\n", appendix_a, extra);
	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&t, "spf.zone", text,
	    strlen(text)), 0);
	free(text);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	if (dkk_ctx_use_zone(ctx, t.path) != DKK_OK)
		fprintf(stderr, "zone: %s\n", dkk_ctx_error(ctx));
	unit_tmp_remove(&t);
	return ctx;
}

/* The check of q over ctx; *spfp for more questions, freed by caller. */
static enum dkk_spf_result
spf_eval(dkk_ctx *ctx, const struct dkk_spf_query *q, dkk_spf **spfp)
{
	dkk_spf *spf = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_spf_new(ctx, q, &spf), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_final(spf), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(dkk_spf_reason(spf));
	*spfp = spf;
	return dkk_spf_result(spf);
}

static void
spf_cases(const struct spf_case *c, size_t n)
{
	struct dkk_spf_query q;
	enum dkk_spf_result got;
	dkk_spf *spf;
	dkk_ctx *ctx;
	size_t i;

	for (i = 0; i < n; i++) {
		ctx = spf_ctx(c[i].zone);
		memset(&q, 0, sizeof(q));
		q.client_ip = c[i].ip;
		q.mail_from = c[i].from;
		q.helo = "helo.example.net";
		got = spf_eval(ctx, &q, &spf);
		if (got != c[i].want)
			fprintf(stderr, "RFC 7208 %s: %s from %s: %s, not %s "
			    "(%s)\n", c[i].section, c[i].ip, c[i].from,
			    dkk_spf_result_name(got),
			    dkk_spf_result_name(c[i].want),
			    dkk_spf_reason(spf));
		CU_ASSERT_EQUAL(got, c[i].want);
		dkk_spf_free(spf);
		dkk_ctx_free(ctx);
	}
}

#define CASES(c) spf_cases((c), sizeof(c) / sizeof((c)[0]))
#define FROM "joe@example.com"
#define REC(r) "@ TXT \"" r "\""

/* RFC 7208 A.1: the simple examples, each record at example.com. */
static void
spf_appendix_a1(void)
{
	static const struct spf_case c[] = {
		{ "A.1", REC("v=spf1 +all"), "198.51.100.1", FROM,
		    DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 a -all"), "192.0.2.10", FROM,
		    DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 a -all"), "192.0.2.11", FROM,
		    DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 a -all"), "192.0.2.65", FROM,
		    DKK_SPF_FAIL },
		{ "A.1", REC("v=spf1 a:example.org -all"), "192.0.2.10", FROM,
		    DKK_SPF_FAIL },
		{ "A.1", REC("v=spf1 mx -all"), "192.0.2.129", FROM,
		    DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 mx -all"), "192.0.2.130", FROM,
		    DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 mx -all"), "192.0.2.140", FROM,
		    DKK_SPF_FAIL },
		{ "A.1", REC("v=spf1 mx:example.org -all"), "192.0.2.140", FROM,
		    DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 mx mx:example.org -all"), "192.0.2.130",
		    FROM, DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 mx mx:example.org -all"), "192.0.2.140",
		    FROM, DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 mx/30 mx:example.org/30 -all"),
		    "192.0.2.131", FROM, DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 mx/30 mx:example.org/30 -all"),
		    "192.0.2.143", FROM, DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 mx/30 mx:example.org/30 -all"),
		    "192.0.2.144", FROM, DKK_SPF_FAIL },
		{ "A.1", REC("v=spf1 ptr -all"), "192.0.2.65", FROM,
		    DKK_SPF_PASS },
		{ "A.1", REC("v=spf1 ptr -all"), "192.0.2.140", FROM,
		    DKK_SPF_FAIL },
		{ "A.1", REC("v=spf1 ptr -all"), "10.0.0.10", FROM,
		    DKK_SPF_FAIL },
		{ "A.1", REC("v=spf1 ip4:192.0.2.128/28 -all"), "192.0.2.65",
		    FROM, DKK_SPF_FAIL },
		{ "A.1", REC("v=spf1 ip4:192.0.2.128/28 -all"), "192.0.2.129",
		    FROM, DKK_SPF_PASS },
	};

	CASES(c);
}

/* RFC 7208 A.2: several domains sharing one policy through redirect. */
static void
spf_appendix_a2(void)
{
	static const char zone[] =
	    "$ORIGIN example.net.\n"
	    "la TXT \"v=spf1 redirect=_spf.example.net\"\n"
	    "ny TXT \"v=spf1 redirect=_spf.example.net\"\n"
	    "_spf TXT \"v=spf1 mx:example.com -all\"\n";
	static const struct spf_case c[] = {
		{ "A.2", zone, "192.0.2.129", "a@la.example.net",
		    DKK_SPF_PASS },
		{ "A.2", zone, "192.0.2.130", "a@ny.example.net",
		    DKK_SPF_PASS },
		{ "A.2", zone, "192.0.2.65", "a@ny.example.net",
		    DKK_SPF_FAIL },
	};

	CASES(c);
}

/* RFC 7208 A.3: a DNSBL-style exists: with macros. */
static void
spf_appendix_a3(void)
{
	static const char zone[] =
	    REC("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all") "\n"
	    "65.2.0.192.joe._spf A 127.0.0.2\n";
	static const struct spf_case c[] = {
		{ "A.3", zone, "192.0.2.65", "joe@example.com",
		    DKK_SPF_PASS },
		/* l1r+-: the first part of joe+news. */
		{ "A.3", zone, "192.0.2.65", "joe+news@example.com",
		    DKK_SPF_PASS },
		{ "A.3", zone, "192.0.2.65", "news+joe@example.com",
		    DKK_SPF_FAIL },
		{ "A.3", zone, "192.0.2.66", "joe@example.com",
		    DKK_SPF_FAIL },
	};

	CASES(c);
}

/* RFC 7208 A.4: -include: whose targets fail do not match (5.2). */
static void
spf_appendix_a4(void)
{
	static const char zone[] =
	    REC("v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} "
	    "+all") "\n"
	    "ip4._spf TXT \"v=spf1 -ip4:192.0.2.0/24 +all\"\n"
	    "ptr._spf TXT \"v=spf1 -ptr:%{d2} +all\"\n";
	static const struct spf_case c[] = {
		/* Both includes pass for a stranger: "-" matches. */
		{ "A.4", zone, "198.51.100.7", FROM, DKK_SPF_FAIL },
		/* In 192.0.2.0/24 the first include fails: no match; amy
		 * validates in example.com (%{d2} there): the second fails
		 * too, and +all passes. */
		{ "A.4", zone, "192.0.2.65", FROM, DKK_SPF_PASS },
	};

	CASES(c);
}

/* RFC 7208 4.5: exactly one record; none is none; 4.3: NXDOMAIN and bad
 * domains are none. */
static void
spf_record_selection(void)
{
	static const struct spf_case c[] = {
		{ "4.5", REC("v=spf1 +all") "\n" REC("v=spf1 -all"),
		    "192.0.2.1", FROM, DKK_SPF_PERMERROR },
		{ "4.5", REC("v=spf1 +all") "\n" REC("other text"),
		    "192.0.2.1", FROM, DKK_SPF_PASS },
		{ "4.5", REC("v=spf10 +all"), "192.0.2.1", FROM,
		    DKK_SPF_NONE },
		{ "4.5", REC("V=SPF1 +all"), "192.0.2.1", FROM,
		    DKK_SPF_PASS },
		{ "4.5", REC("v=spf1"), "192.0.2.1", FROM,
		    DKK_SPF_NEUTRAL },
		{ "4.5", "", "192.0.2.1", FROM, DKK_SPF_NONE },
		{ "4.3", "", "192.0.2.1", "a@nx.example.com", DKK_SPF_NONE },
		{ "4.3", "", "192.0.2.1", "a@com", DKK_SPF_NONE },
		{ "4.3", "", "192.0.2.1", "a@bad..example.com",
		    DKK_SPF_NONE },
		{ "4.6", REC("v=spf1 +all foo"), "192.0.2.1", FROM,
		    DKK_SPF_PERMERROR },
		{ "4.6", REC("v=spf1 -all ip4:1.2.3"), "192.0.2.1", FROM,
		    DKK_SPF_PERMERROR },
		{ "4.6.1", REC("v=spf1 foo=%{d} +all"), "192.0.2.1", FROM,
		    DKK_SPF_PASS },
		{ "4.6.1", REC("v=spf1 foo=%{z} +all"), "192.0.2.1", FROM,
		    DKK_SPF_PERMERROR },
		{ "4.6.1", REC("v=spf1  +all  "), "192.0.2.1", FROM,
		    DKK_SPF_PASS },
	};

	CASES(c);
}

/* RFC 7208 4.6.2 and 2.6: the qualifiers, and neutral when nothing
 * matches (4.7). */
static void
spf_qualifiers(void)
{
	static const struct spf_case c[] = {
		{ "4.6.2", REC("v=spf1 all"), "192.0.2.1", FROM,
		    DKK_SPF_PASS },
		{ "4.6.2", REC("v=spf1 -all"), "192.0.2.1", FROM,
		    DKK_SPF_FAIL },
		{ "4.6.2", REC("v=spf1 ~all"), "192.0.2.1", FROM,
		    DKK_SPF_SOFTFAIL },
		{ "4.6.2", REC("v=spf1 ?all"), "192.0.2.1", FROM,
		    DKK_SPF_NEUTRAL },
		{ "4.7", REC("v=spf1 ip4:192.0.2.99"), "192.0.2.1", FROM,
		    DKK_SPF_NEUTRAL },
		{ "5.1", REC("v=spf1 -all:foo"), "192.0.2.1", FROM,
		    DKK_SPF_PERMERROR },
		{ "4.6.1", REC("v=spf1 =all"), "192.0.2.1", FROM,
		    DKK_SPF_PERMERROR },
	};

	CASES(c);
}

/* RFC 7208 5.2: include's results mapped. */
static void
spf_include(void)
{
	static const char zone[] =
	    "p TXT \"v=spf1 +all\"\n"
	    "f TXT \"v=spf1 -all\"\n"
	    "s TXT \"v=spf1 ~all\"\n"
	    "n TXT \"v=spf1 ?all\"\n"
	    "e TXT \"v=spf1 bogus\"\n"
	    "loop1 CNAME loop2\n"
	    "loop2 CNAME loop1\n"
	    "none A 192.0.2.1\n"
	    "inc-p TXT \"v=spf1 include:p.example.com -all\"\n"
	    "inc-f TXT \"v=spf1 include:f.example.com -all\"\n"
	    "inc-s TXT \"v=spf1 include:s.example.com ?all\"\n"
	    "inc-n TXT \"v=spf1 include:n.example.com ~all\"\n"
	    "inc-e TXT \"v=spf1 include:e.example.com +all\"\n"
	    "inc-t TXT \"v=spf1 include:loop1.example.com +all\"\n"
	    "inc-none TXT \"v=spf1 include:none.example.com +all\"\n"
	    "inc-nx TXT \"v=spf1 include:nx.example.com +all\"\n"
	    "inc-bare TXT \"v=spf1 include +all\"\n";
	static const struct spf_case c[] = {
		{ "5.2", zone, "192.0.2.1", "a@inc-p.example.com",
		    DKK_SPF_PASS },
		{ "5.2", zone, "192.0.2.1", "a@inc-f.example.com",
		    DKK_SPF_FAIL },
		{ "5.2", zone, "192.0.2.1", "a@inc-s.example.com",
		    DKK_SPF_NEUTRAL },
		{ "5.2", zone, "192.0.2.1", "a@inc-n.example.com",
		    DKK_SPF_SOFTFAIL },
		{ "5.2", zone, "192.0.2.1", "a@inc-e.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.2", zone, "192.0.2.1", "a@inc-t.example.com",
		    DKK_SPF_TEMPERROR },
		{ "5.2", zone, "192.0.2.1", "a@inc-none.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.2", zone, "192.0.2.1", "a@inc-nx.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.2", zone, "192.0.2.1", "a@inc-bare.example.com",
		    DKK_SPF_PERMERROR },
	};

	CASES(c);
}

/* RFC 7208 5.3 and 5.6: a with its dual CIDR lengths, IPv6. */
static void
spf_a_cidr(void)
{
	static const char zone[] =
	    "v6 AAAA 2001:db8::1\n"
	    "v6 A 192.0.2.200\n"
	    "t1 TXT \"v=spf1 a:v6.example.com -all\"\n"
	    "t2 TXT \"v=spf1 a:v6.example.com/24//64 -all\"\n"
	    "t3 TXT \"v=spf1 a//64 -all\"\n"
	    "t3 AAAA 2001:db8:1::1\n"
	    "t4 TXT \"v=spf1 a/33 -all\"\n"
	    "t5 TXT \"v=spf1 a:v6.example.com//129 -all\"\n"
	    "t6 TXT \"v=spf1 a:v6.example.com/024 -all\"\n"
	    "t7 TXT \"v=spf1 a: -all\"\n"
	    "t8 TXT \"v=spf1 a:foo.123 -all\"\n";
	static const struct spf_case c[] = {
		{ "5.3", zone, "2001:db8::1", "a@t1.example.com",
		    DKK_SPF_PASS },
		{ "5.3", zone, "2001:db8::2", "a@t1.example.com",
		    DKK_SPF_FAIL },
		{ "5.3", zone, "192.0.2.200", "a@t1.example.com",
		    DKK_SPF_PASS },
		{ "5.3", zone, "::ffff:192.0.2.200", "a@t1.example.com",
		    DKK_SPF_PASS },
		{ "5.6", zone, "2001:db8::ffff", "a@t2.example.com",
		    DKK_SPF_PASS },
		{ "5.6", zone, "192.0.2.7", "a@t2.example.com",
		    DKK_SPF_PASS },
		{ "5.6", zone, "192.0.3.7", "a@t2.example.com",
		    DKK_SPF_FAIL },
		{ "5.6", zone, "2001:db8:1::99", "a@t3.example.com",
		    DKK_SPF_PASS },
		{ "5.6", zone, "192.0.2.1", "a@t4.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.6", zone, "192.0.2.1", "a@t5.example.com",
		    DKK_SPF_PERMERROR },
		{ "4.6.1", zone, "192.0.2.1", "a@t6.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.3", zone, "192.0.2.1", "a@t7.example.com",
		    DKK_SPF_PERMERROR },
		{ "7.1", zone, "192.0.2.1", "a@t8.example.com",
		    DKK_SPF_PERMERROR },
	};

	CASES(c);
}

/* RFC 7208 5.6: ip4 and ip6. */
static void
spf_ip4_ip6(void)
{
	static const char zone[] =
	    "t1 TXT \"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all\"\n"
	    "t2 TXT \"v=spf1 ip4:192.0.2.1/33 -all\"\n"
	    "t3 TXT \"v=spf1 ip6:192.0.2.1 -all\"\n"
	    "t4 TXT \"v=spf1 ip4:2001:db8::1 -all\"\n"
	    "t5 TXT \"v=spf1 ip6:::ffff:192.0.2.1 ip4:0.0.0.0/0 -all\"\n";
	static const struct spf_case c[] = {
		{ "5.6", zone, "192.0.2.77", "a@t1.example.com",
		    DKK_SPF_PASS },
		{ "5.6", zone, "2001:db8:ff::1", "a@t1.example.com",
		    DKK_SPF_PASS },
		{ "5.6", zone, "2001:db9::1", "a@t1.example.com",
		    DKK_SPF_FAIL },
		{ "5.6", zone, "198.51.100.1", "a@t1.example.com",
		    DKK_SPF_FAIL },
		{ "5.6", zone, "192.0.2.1", "a@t2.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.6", zone, "192.0.2.1", "a@t3.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.6", zone, "192.0.2.1", "a@t4.example.com",
		    DKK_SPF_PERMERROR },
		{ "5.6", zone, "198.51.100.1", "a@t5.example.com",
		    DKK_SPF_PASS },
	};

	CASES(c);
}

/* RFC 7208 5.4 and 5.5 beyond Appendix A, 5.7 exists. */
static void
spf_mx_ptr_exists(void)
{
	static const char zone[] =
	    "m1 MX 0 mail-a\n"
	    "m1 TXT \"v=spf1 mx -all\"\n"
	    "m2 TXT \"v=spf1 mx:loop1.example.com -all\"\n"
	    "loop1 CNAME loop2\n"
	    "loop2 CNAME loop1\n"
	    "p1 TXT \"v=spf1 ptr:example.com -all\"\n"
	    "p2 TXT \"v=spf1 ptr:loop1.example.com ?all\"\n"
	    "e1 TXT \"v=spf1 exists:%{l}.list.example.com -all\"\n"
	    "ok.list A 127.0.0.2\n"
	    "e2 TXT \"v=spf1 exists:loop1.example.com -all\"\n"
	    "e3 TXT \"v=spf1 exists -all\"\n"
	    "v6 AAAA 2001:db8::5\n"
	    "e4 TXT \"v=spf1 exists:v6.example.com -all\"\n";
	static const struct spf_case c[] = {
		{ "5.4", zone, "192.0.2.129", "a@m1.example.com",
		    DKK_SPF_PASS },
		{ "5.4", zone, "192.0.2.1", "a@m2.example.com",
		    DKK_SPF_TEMPERROR },
		{ "5.5", zone, "192.0.2.129", "a@p1.example.com",
		    DKK_SPF_PASS },
		{ "5.5", zone, "192.0.2.140", "a@p1.example.com",
		    DKK_SPF_FAIL },
		{ "5.5", zone, "192.0.2.129", "a@p2.example.com",
		    DKK_SPF_NEUTRAL },
		{ "5.7", zone, "192.0.2.1", "ok@e1.example.com",
		    DKK_SPF_PASS },
		{ "5.7", zone, "192.0.2.1", "no@e1.example.com",
		    DKK_SPF_FAIL },
		{ "5.7", zone, "192.0.2.1", "a@e2.example.com",
		    DKK_SPF_TEMPERROR },
		{ "5.7", zone, "192.0.2.1", "a@e3.example.com",
		    DKK_SPF_PERMERROR },
		/* 5.7: exists asks for A records whatever the client. */
		{ "5.7", zone, "2001:db8::5", "a@e4.example.com",
		    DKK_SPF_FAIL },
	};

	CASES(c);
}

/* RFC 7208 6.1: redirect=, ignored after a match; none is permerror;
 * twice is a syntax error. */
static void
spf_redirect(void)
{
	static const char zone[] =
	    "r1 TXT \"v=spf1 redirect=f.example.com\"\n"
	    "f TXT \"v=spf1 -all\"\n"
	    "r2 TXT \"v=spf1 +all redirect=f.example.com\"\n"
	    "r3 TXT \"v=spf1 redirect=nx.example.com\"\n"
	    "r4 TXT \"v=spf1 redirect=f.example.com redirect=f.example.com\"\n"
	    "r5 TXT \"v=spf1 ip4:192.0.2.1 redirect=%{d}.example.net\"\n"
	    "r5.example.com.example.net. TXT \"v=spf1 ~all\"\n";
	static const struct spf_case c[] = {
		{ "6.1", zone, "192.0.2.1", "a@r1.example.com",
		    DKK_SPF_FAIL },
		{ "6.1", zone, "192.0.2.1", "a@r2.example.com",
		    DKK_SPF_PASS },
		{ "6.1", zone, "192.0.2.1", "a@r3.example.com",
		    DKK_SPF_PERMERROR },
		{ "6", zone, "192.0.2.1", "a@r4.example.com",
		    DKK_SPF_PERMERROR },
		{ "6.1", zone, "192.0.2.1", "a@r5.example.com",
		    DKK_SPF_PASS },
		{ "6.1", zone, "192.0.2.2", "a@r5.example.com",
		    DKK_SPF_SOFTFAIL },
	};

	CASES(c);
}

/* The explanation of the check of from by ip over zone, or NULL. */
static char *
spf_explained(const char *zone, const char *ip, const char *from)
{
	struct dkk_spf_query q;
	dkk_spf *spf;
	dkk_ctx *ctx = spf_ctx(zone);
	char *exp;

	memset(&q, 0, sizeof(q));
	q.client_ip = ip;
	q.mail_from = from;
	q.helo = "helo.example.net";
	q.receiver = "mx.example.net";
	(void)spf_eval(ctx, &q, &spf);
	exp = dkk_spf_explanation(spf) != NULL ?
	    strdup(dkk_spf_explanation(spf)) : NULL;
	dkk_spf_free(spf);
	dkk_ctx_free(ctx);
	return exp;
}

static void
spf_expect_exp(const char *zone, const char *from, const char *want)
{
	char *got = spf_explained(zone, "192.0.2.3", from);

	if (want == NULL) {
		CU_ASSERT_PTR_NULL(got);
	} else {
		CU_ASSERT_PTR_NOT_NULL(got);
		if (got != NULL && strcmp(got, want) != 0)
			fprintf(stderr, "exp: \"%s\", not \"%s\"\n", got, want);
		CU_ASSERT(got != NULL && strcmp(got, want) == 0);
	}
	free(got);
}

/* RFC 7208 6.2: exp= on fail only, its one TXT record expanded with c, r
 * too; none from an include, the redirect target's through redirect;
 * any trouble leaves no explanation. */
static void
spf_exp(void)
{
	static const char zone[] =
	    "x1 TXT \"v=spf1 -all exp=e.example.com\"\n"
	    "e TXT \"%{i} (%{c}) may not send for %{d} says %{r}%_%%\"\n"
	    "x2 TXT \"v=spf1 ~all exp=e.example.com\"\n"
	    "x3 TXT \"v=spf1 include:x1.example.com -all\"\n"
	    "x4 TXT \"v=spf1 redirect=x1.example.com exp=o.example.com\"\n"
	    "o TXT \"outer\"\n"
	    "x5 TXT \"v=spf1 -all exp=two.example.com\"\n"
	    "two TXT \"one\"\n"
	    "two TXT \"two\"\n"
	    "x6 TXT \"v=spf1 -all exp=bad.example.com\"\n"
	    "bad TXT \"%{z}\"\n"
	    "x7 TXT \"v=spf1 -all exp=nx.example.com\"\n"
	    "x8 TXT \"v=spf1 -all exp=ex.%{d}\"\n"
	    "ex.x8 TXT \"for \" \"%{l}\"\n"
	    /* 6.2: include reaching a record through redirect: still
	     * within the include, its exp= unused. */
	    "x9 TXT \"v=spf1 include:inc.example.com -all\"\n"
	    "inc TXT \"v=spf1 redirect=red.example.com\"\n"
	    "red TXT \"v=spf1 -all exp=o.example.com\"\n"
	    /* 6.2 after ten lookups: %{p} in the explanation is not an
	     * eleventh (4.6.4 limits check_host(), decided by then) */
	    "xp TXT \"v=spf1 a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com -all "
	    "exp=pe.example.com\"\n"
	    "pe TXT \"%{p} may not\"\n";

	spf_expect_exp(zone, "a@x1.example.com", "192.0.2.3 (192.0.2.3) may "
	    "not send for x1.example.com says mx.example.net %");
	spf_expect_exp(zone, "a@x2.example.com", NULL);
	spf_expect_exp(zone, "a@x3.example.com", NULL);
	spf_expect_exp(zone, "a@x4.example.com", "192.0.2.3 (192.0.2.3) may "
	    "not send for x1.example.com says mx.example.net %");
	spf_expect_exp(zone, "a@x5.example.com", NULL);
	spf_expect_exp(zone, "a@x6.example.com", NULL);
	spf_expect_exp(zone, "a@x7.example.com", NULL);
	spf_expect_exp(zone, "joe@x8.example.com", "for joe");
	spf_expect_exp(zone, "a@x9.example.com", NULL);
	spf_expect_exp(zone, "a@xp.example.com", "unknown may not");
}

/* RFC 7208 4.6.4: the eleventh DNS-querying term is permerror. */
static void
spf_lookup_limit(void)
{
	static const char zone[] =
	    "n TXT \"v=spf1 ?all\"\n"
	    "ten TXT \"v=spf1 a:amy.example.com a:bob.example.com "
	    "mx:example.com mx:example.com exists:amy.example.com "
	    "ptr:x.example.com include:n.example.com include:n.example.com "
	    "a:amy.example.com a:bob.example.com ip4:192.0.2.1 -all\"\n"
	    "eleven TXT \"v=spf1 a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "ip4:192.0.2.1 -all\"\n"
	    "chain TXT \"v=spf1 a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com redirect=last.example.com\"\n"
	    "last TXT \"v=spf1 a:amy.example.com ip4:192.0.2.1\"\n"
	    "loop TXT \"v=spf1 include:loop.example.com -all\"\n"
	    /* %{p}'s PTR query is the eleventh (4.6.4) */
	    "pmac TXT \"v=spf1 a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com exists:%{p}.a1.example.com "
	    "ip4:192.0.2.1 -all\"\n"
	    "pmac2 TXT \"v=spf1 a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "a:amy.example.com a:amy.example.com a:amy.example.com "
	    "exists:%{p}.a1.example.com ip4:192.0.2.1 -all\"\n";
	static const struct spf_case c[] = {
		/* RFC 7208 4.6.4: "When evaluating ... the %{p} macro, the
		 * number of PTR resource records queried is included in the
		 * overall limit of 10": nine terms, exists, its PTR query. */
		{ "4.6.4", zone, "192.0.2.1", "a@pmac.example.com",
		    DKK_SPF_PERMERROR },
		{ "4.6.4", zone, "192.0.2.1", "a@pmac2.example.com",
		    DKK_SPF_PASS },
		{ "4.6.4", zone, "192.0.2.1", "a@ten.example.com",
		    DKK_SPF_PASS },
		{ "4.6.4", zone, "192.0.2.1", "a@eleven.example.com",
		    DKK_SPF_PERMERROR },
		{ "4.6.4", zone, "192.0.2.1", "a@chain.example.com",
		    DKK_SPF_PERMERROR },
		{ "4.6.4", zone, "192.0.2.1", "a@loop.example.com",
		    DKK_SPF_PERMERROR },
		/* Not reached, not counted: the match comes first. */
		{ "4.6.4", zone, "192.0.2.65", "a@eleven.example.com",
		    DKK_SPF_PASS },
	};

	CASES(c);
}

/* RFC 7208 4.6.4: the third void lookup is permerror. */
static void
spf_void_limit(void)
{
	static const char zone[] =
	    "v2 TXT \"v=spf1 a:nx1.example.com a:nx2.example.com "
	    "ip4:192.0.2.1 -all\"\n"
	    "v3 TXT \"v=spf1 a:nx1.example.com mx:nx2.example.com "
	    "exists:nx3.example.com ip4:192.0.2.1 -all\"\n"
	    "nodata TXT \"v=spf1 a:amy.example.com/24 mx:amy.example.com "
	    "exists:nx.example.com ip4:192.0.2.1 -all\"\n"
	    "p3 TXT \"v=spf1 a:nx1.example.com ptr a:nx2.example.com "
	    "-all\"\n"
	    "pp TXT \"v=spf1 a:nx1.example.com a:%{p}.x.example.com "
	    "a:%{p}.x.example.com ip4:198.51.100.1 -all\"\n"
	    "unknown.x A 192.0.2.99\n";
	static const struct spf_case c[] = {
		/* RFC 7208 4.6.4: the PTR query %{p} makes, finding nothing,
		 * is one void lookup (the second here), not one more each
		 * time %{p} reuses its answer. */
		{ "4.6.4", zone, "198.51.100.1", "a@pp.example.com",
		    DKK_SPF_PASS },
		{ "4.6.4", zone, "192.0.2.1", "a@v2.example.com",
		    DKK_SPF_PASS },
		{ "4.6.4", zone, "192.0.2.1", "a@v3.example.com",
		    DKK_SPF_PERMERROR },
		/* amy has an A record (not void) but no MX (void). */
		{ "4.6.4", zone, "198.51.100.1", "a@nodata.example.com",
		    DKK_SPF_FAIL },
		/* ptr's PTR query finding nothing is the second. */
		{ "4.6.4", zone, "198.51.100.1", "a@p3.example.com",
		    DKK_SPF_PERMERROR },
		{ "4.6.4", zone, "192.0.2.65", "a@p3.example.com",
		    DKK_SPF_FAIL },
	};

	CASES(c);
}

/* RFC 7208 4.6.4: more than 10 MX records is permerror; of PTR names
 * only the first 10 are validated. */
static void
spf_mx_ptr_limits(void)
{
	struct buf z;
	struct spf_case c[4];
	int i;

	buf_init(&z);
	for (i = 1; i <= 11; i++)
		buf_printf(&z, "mx11 MX %d h%d\nh%d A 192.0.2.%d\n", i, i, i,
		    150 + i);
	for (i = 1; i <= 10; i++)
		buf_printf(&z, "mx10 MX %d h%d\n", i, i);
	buf_adds(&z, "mx11 TXT \"v=spf1 mx -all\"\n"
	    "mx10 TXT \"v=spf1 mx -all\"\n"
	    "ptr TXT \"v=spf1 ptr:example.com -all\"\n"
	    "$ORIGIN 2.0.192.in-addr.arpa.\n");
	/* 192.0.2.200 has 11 names; only the eleventh has its address. */
	for (i = 1; i <= 11; i++)
		buf_printf(&z, "200 PTR n%d.example.com.\n"
		    "201 PTR m%d.example.com.\n", i, i);
	buf_adds(&z, "$ORIGIN example.com.\nn11 A 192.0.2.200\n"
	    "m1 A 192.0.2.201\n");
	CU_ASSERT_FALSE_FATAL(z.failed);
	c[0] = (struct spf_case){ "4.6.4", z.p, "192.0.2.151",
	    "a@mx11.example.com", DKK_SPF_PERMERROR };
	c[1] = (struct spf_case){ "4.6.4", z.p, "192.0.2.160",
	    "a@mx10.example.com", DKK_SPF_PASS };
	c[2] = (struct spf_case){ "4.6.4", z.p, "192.0.2.200",
	    "a@ptr.example.com", DKK_SPF_FAIL };
	c[3] = (struct spf_case){ "4.6.4", z.p, "192.0.2.201",
	    "a@ptr.example.com", DKK_SPF_PASS };
	CASES(c);
	buf_clear(&z);
}

/* RFC 7208 2.3, 2.4, 4.3: the identities checked. */
static void
spf_identities(void)
{
	struct dkk_spf_query q;
	dkk_spf *spf;
	dkk_ctx *ctx = spf_ctx("h TXT \"v=spf1 ip4:192.0.2.1 "
	    "exists:%{l}.l.example.com -all\"\npostmaster.l A 127.0.0.2\n");

	memset(&q, 0, sizeof(q));
	q.client_ip = "192.0.2.1";
	q.helo = "h.example.com";
	/* 2.3: no MAIL FROM given: the HELO identity. */
	CU_ASSERT_EQUAL(spf_eval(ctx, &q, &spf), DKK_SPF_PASS);
	CU_ASSERT_EQUAL(dkk_spf_scope(spf), DKK_SPF_HELO);
	CU_ASSERT_STRING_EQUAL(dkk_spf_domain(spf), "h.example.com");
	dkk_spf_free(spf);
	/* 2.4: the null reverse-path is postmaster@helo, scope mailfrom. */
	q.mail_from = "";
	q.client_ip = "192.0.2.9";
	CU_ASSERT_EQUAL(spf_eval(ctx, &q, &spf), DKK_SPF_PASS);
	CU_ASSERT_EQUAL(dkk_spf_scope(spf), DKK_SPF_MAILFROM);
	CU_ASSERT_STRING_EQUAL(dkk_spf_domain(spf), "h.example.com");
	dkk_spf_free(spf);
	/* 4.3: no local-part: postmaster. */
	q.mail_from = "<@h.example.com>";
	CU_ASSERT_EQUAL(spf_eval(ctx, &q, &spf), DKK_SPF_PASS);
	dkk_spf_free(spf);
	q.mail_from = "joe@h.example.com";
	CU_ASSERT_EQUAL(spf_eval(ctx, &q, &spf), DKK_SPF_FAIL);
	dkk_spf_free(spf);
	/* Bad input. */
	q.client_ip = "192.0.2";
	CU_ASSERT_EQUAL(dkk_spf_new(ctx, &q, &spf), DKK_EINVAL);
	CU_ASSERT_PTR_NULL(spf);
	q.client_ip = "192.0.2.1";
	q.helo = NULL;
	q.mail_from = "";
	CU_ASSERT_EQUAL(dkk_spf_new(ctx, &q, &spf), DKK_EINVAL);
	dkk_ctx_free(ctx);
}

/* RFC 7208 2.6: the names of the results and scopes. */
static void
spf_names(void)
{
	CU_ASSERT_STRING_EQUAL(dkk_spf_result_name(DKK_SPF_NONE), "none");
	CU_ASSERT_STRING_EQUAL(dkk_spf_result_name(DKK_SPF_SOFTFAIL),
	    "softfail");
	CU_ASSERT_STRING_EQUAL(dkk_spf_result_name(DKK_SPF_PERMERROR),
	    "permerror");
	CU_ASSERT_PTR_NULL(dkk_spf_result_name((enum dkk_spf_result)99));
	CU_ASSERT_STRING_EQUAL(dkk_spf_scope_name(DKK_SPF_HELO), "helo");
}

/* An asynchronous resolver over a zone: answers are held until
 * wait() (or process()) hands them over. */
struct held {
	dkk_ctx *zctx;		/* owns the zone */
	struct {
		char *name;
		enum dkk_dns_type type;
		dkk_dns_cb cb;
		void *cbarg;
	} q[64];
	size_t n;
	unsigned queries;
};

static int
held_query(void *arg, const char *name, enum dkk_dns_type type,
    dkk_dns_cb cb, void *cbarg)
{
	struct held *h = arg;

	if (h->n == 64)
		return DKK_ELIMIT;
	h->q[h->n].name = strdup(name);
	h->q[h->n].type = type;
	h->q[h->n].cb = cb;
	h->q[h->n].cbarg = cbarg;
	h->n++;
	h->queries++;
	return DKK_OK;
}

static int
held_txt(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	return held_query(arg, name, DKK_DNS_TXT, cb, cbarg);
}

static int
held_wait(void *arg)
{
	struct held *h = arg;
	size_t i, n = h->n;

	h->n = 0;
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(dns_query(h->zctx, h->q[i].name, h->q[i].type,
		    h->q[i].cb, h->q[i].cbarg), DKK_OK);
		free(h->q[i].name);
	}
	return DKK_OK;
}

/* dkimkit.h: _final() says DKK_EAGAIN while answers are outstanding;
 * the MX exchanges are asked for together; _wait() finishes. */
static void
spf_async(void)
{
	static const struct dkk_resolver ops = { .query_txt = held_txt,
	    .wait = held_wait };
	struct dkk_spf_query q;
	struct held h;
	dkk_spf *spf;
	dkk_ctx *ctx;

	memset(&h, 0, sizeof(h));
	h.zctx = spf_ctx(REC("v=spf1 mx -all"));
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_set_resolver(ctx, &ops, &h), DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_set_resolver_query(ctx, held_query), DKK_OK);
	memset(&q, 0, sizeof(q));
	q.client_ip = "192.0.2.130";
	q.mail_from = FROM;
	CU_ASSERT_EQUAL(dkk_spf_new(ctx, &q, &spf), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_final(spf), DKK_EAGAIN);	/* TXT */
	CU_ASSERT_PTR_NULL(dkk_spf_reason(spf));
	CU_ASSERT_EQUAL(held_wait(&h), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_final(spf), DKK_EAGAIN);	/* MX */
	CU_ASSERT_EQUAL(held_wait(&h), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_final(spf), DKK_EAGAIN);	/* A, A */
	CU_ASSERT_EQUAL(h.n, 2);
	CU_ASSERT_EQUAL(dkk_spf_wait(spf), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_result(spf), DKK_SPF_PASS);
	CU_ASSERT_EQUAL(h.queries, 4);
	dkk_spf_free(spf);
	/* Freed with a lookup in flight: the late answer is dropped. */
	CU_ASSERT_EQUAL(dkk_spf_new(ctx, &q, &spf), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_final(spf), DKK_EAGAIN);
	dkk_spf_free(spf);
	CU_ASSERT_EQUAL(held_wait(&h), DKK_OK);
	dkk_ctx_free(ctx);
	dkk_ctx_free(h.zctx);
}

/* dkimkit.h: a custom resolver without a typed lookup: SPF's other
 * lookups fail temporarily. */
static void
spf_txt_only_resolver(void)
{
	static const struct dkk_resolver ops = { .query_txt = held_txt,
	    .wait = held_wait };
	struct dkk_spf_query q;
	struct held h;
	dkk_spf *spf;
	dkk_ctx *ctx;

	memset(&h, 0, sizeof(h));
	h.zctx = spf_ctx(REC("v=spf1 a -all"));
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_set_resolver(ctx, &ops, &h), DKK_OK);
	memset(&q, 0, sizeof(q));
	q.client_ip = "192.0.2.10";
	q.mail_from = FROM;
	CU_ASSERT_EQUAL(dkk_spf_new(ctx, &q, &spf), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_wait(spf), DKK_OK);
	CU_ASSERT_EQUAL(dkk_spf_result(spf), DKK_SPF_TEMPERROR);
	dkk_spf_free(spf);
	dkk_ctx_free(ctx);
	dkk_ctx_free(h.zctx);
}

/* RFC 7208 4.3: "Internationalized domain names MUST be encoded as
 * A-labels": a UTF-8 MAIL FROM domain is checked as its A-labels; one
 * that is not UTF-8 is malformed, none. */
static void
spf_u_labels(void)
{
	static const char zone[] =
	    "xn--bcher-kva TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
	    "b TXT \"v=spf1 +all\"\n";
	static const struct spf_case c[] = {
		{ "4.3", zone, "192.0.2.1", "a@b\xc3\xbc" "cher.example.com",
		    DKK_SPF_PASS },
		{ "4.3", zone, "192.0.2.2", "a@B\xc3\xbc" "cher.example.com",
		    DKK_SPF_FAIL },
		{ "4.3", zone, "192.0.2.1", "a@b\xfc" "cher.example.com",
		    DKK_SPF_NONE },
	};

	CASES(c);
}

static const struct unit_test tests[] = {
	{ "appendix_a1_simple", spf_appendix_a1 },
	{ "appendix_a2_redirect", spf_appendix_a2 },
	{ "appendix_a3_dnsbl", spf_appendix_a3 },
	{ "appendix_a4_include", spf_appendix_a4 },
	{ "record_selection_4_5", spf_record_selection },
	{ "qualifiers_4_6_2", spf_qualifiers },
	{ "include_5_2", spf_include },
	{ "a_cidr_5_3", spf_a_cidr },
	{ "ip4_ip6_5_6", spf_ip4_ip6 },
	{ "mx_ptr_exists_5_4_5_5_5_7", spf_mx_ptr_exists },
	{ "redirect_6_1", spf_redirect },
	{ "exp_6_2", spf_exp },
	{ "lookup_limit_4_6_4", spf_lookup_limit },
	{ "void_limit_4_6_4", spf_void_limit },
	{ "mx_ptr_limits_4_6_4", spf_mx_ptr_limits },
	{ "identities_2_3_2_4", spf_identities },
	{ "u_labels_4_3", spf_u_labels },
	{ "result_names_2_6", spf_names },
	{ "async_final_wait", spf_async },
	{ "txt_only_resolver", spf_txt_only_resolver },
	{ NULL, NULL }
};

void
suite_spf(void)
{
	unit_suite("spf", tests);
}
