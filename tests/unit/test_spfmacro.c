/*
 * test_spfmacro.c: SPF macros (RFC 7208 7, core/spf/macro.c) and
 * record syntax (4.6.1, core/spf/record.c), without DNS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "spf/spf.h"

static int
tm_ptr(void *arg, const char **name)
{
	(void)arg;
	*name = "mx.example.org";
	return DKK_OK;
}

/* RFC 7208 7.4's sender, client and domain. */
static void
tm_env(struct spf_env *env, struct spf_ip *ip, const char *addr)
{
	CU_ASSERT_EQUAL_FATAL(spf_ip_parse(addr, strlen(addr), ip), DKK_OK);
	memset(env, 0, sizeof(*env));
	env->sender = "strong-bad@email.example.com";
	env->local = "strong-bad";
	env->sender_domain = "email.example.com";
	env->domain = "email.example.com";
	env->ip = ip;
	env->helo = "mx.example.org";
	env->receiver = "rx.example.net";
	env->now = 1700000000;
	env->ptr_name = tm_ptr;
}

static void
tm_expect(const char *addr, const char *in, bool exp, const char *want)
{
	struct spf_env env;
	struct spf_ip ip;
	struct buf out, why;
	int rc;

	tm_env(&env, &ip, addr);
	buf_init(&out);
	buf_init(&why);
	rc = spf_expand(&env, in, strlen(in), exp, &out, &why);
	if (want == NULL) {
		CU_ASSERT_EQUAL(rc, DKK_ESYNTAX);
	} else {
		CU_ASSERT_EQUAL(rc, DKK_OK);
		if (rc != DKK_OK || strcmp(out.len ? out.p : "", want) != 0)
			fprintf(stderr, "%s: \"%s\", not \"%s\" (%s)\n", in,
			    out.len ? out.p : "", want, why.len ? why.p : "");
		CU_ASSERT(rc == DKK_OK && strcmp(out.len ? out.p : "",
		    want) == 0);
	}
	buf_clear(&out);
	buf_clear(&why);
}

/* RFC 7208 7.4: the examples, verbatim. */
static void
macro_rfc_examples(void)
{
	static const char *const v[][2] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net",
		    "example.com.trusted-domains.example.net" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		tm_expect("192.0.2.3", v[i][0], false, v[i][1]);
	tm_expect("2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}", false,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6._spf.example.com");
}

/* RFC 7208 7.3: the letters not in 7.4's examples, uppercase escaping,
 * the escapes of 7.1, and c, r, t only in explanations (7.2). */
static void
macro_letters(void)
{
	tm_expect("192.0.2.3", "%{h}", false, "mx.example.org");
	tm_expect("192.0.2.3", "%{p}", false, "mx.example.org");
	tm_expect("192.0.2.3", "%{i}", false, "192.0.2.3");
	tm_expect("2001:db8::cb01", "%{c}", true, "2001:db8::cb01");
	tm_expect("2001:db8::cb01", "%{i1r}", false, "2");
	tm_expect("192.0.2.3", "%{r}", true, "rx.example.net");
	tm_expect("192.0.2.3", "%{t}", true, "1700000000");
	tm_expect("192.0.2.3", "%{v}", false, "in-addr");
	tm_expect("::1", "%{v}", false, "ip6");
	tm_expect("192.0.2.3", "%{S}", false,
	    "strong-bad%40email.example.com");
	tm_expect("192.0.2.3", "%{L}", false, "strong-bad");
	tm_expect("192.0.2.3", "a%%b%_c%-d", false, "a%b c%20d");
	tm_expect("192.0.2.3", "%{c}", false, NULL);
	tm_expect("192.0.2.3", "%{r}", false, NULL);
	tm_expect("192.0.2.3", "%{t}", false, NULL);
	tm_expect("192.0.2.3", "say %{l}", true, "say strong-bad");
	tm_expect("192.0.2.3", "say %{l}", false, NULL);
	/* 7.3: %{i} of IPv6 is dot-format nibbles, in a domain-spec too */
	tm_expect("2001:db8::cb01", "%{i}.x.example", false,
	    "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1"
	    ".x.example");
}

/* RFC 7208 7.3: an uppercase macro letter URL-escapes its value: every
 * octet outside unreserved (RFC 3986) becomes %XX. */
static void
macro_url_escape(void)
{
	static const char want[] = "a-b%2Bc%2Fd a-b%2Bc%2Fd%40x.example";
	struct spf_env env;
	struct spf_ip ip;
	struct buf out, why;

	tm_env(&env, &ip, "192.0.2.3");
	env.local = "a-b+c/d";
	env.sender = "a-b+c/d@x.example";
	buf_init(&out);
	buf_init(&why);
	CU_ASSERT_EQUAL(spf_expand(&env, "%{L} %{S}", 9, true, &out, &why),
	    DKK_OK);
	if (out.len == 0 || strcmp(out.p, want) != 0)
		fprintf(stderr, "%%{L} %%{S}: \"%s\"\n", out.len ? out.p : "");
	CU_ASSERT(out.len > 0 && strcmp(out.p, want) == 0);
	buf_clear(&out);
	buf_clear(&why);
}

/* RFC 7208 7.1: transformers and delimiters. */
static void
macro_transformers(void)
{
	tm_expect("192.0.2.3", "%{s2r.-}", false, "bad@email.strong");
	tm_expect("192.0.2.3", "%{s1}", false, "com");
	/* "@" is no delimiter. */
	tm_expect("192.0.2.3", "%{s.@}", false, NULL);
	tm_expect("192.0.2.3", "%{d99}", false, "email.example.com");
	tm_expect("192.0.2.3", "%{l+,/_=-}", false, "strong.bad");
	tm_expect("192.0.2.3", "%{dR}", false, "com.example.email");
	tm_expect("192.0.2.3", "%{d0}", false, NULL);
	tm_expect("192.0.2.3", "%{x}", false, NULL);
	tm_expect("192.0.2.3", "%{d", false, NULL);
	tm_expect("192.0.2.3", "%{d*}", false, NULL);
	tm_expect("192.0.2.3", "%a", false, NULL);
	tm_expect("192.0.2.3", "%", false, NULL);
}

/* RFC 7208 7.3: an expanded name over 253 octets loses labels on the
 * left. */
static void
macro_truncation(void)
{
	struct spf_env env;
	struct spf_ip ip;
	struct spf_span spec;
	struct buf out, why;
	char big[400];
	size_t i;

	for (i = 0; i < 39; i++)
		memcpy(big + i * 10, "abcdefghi.", 10);
	strcpy(big + 390, "%{d}");
	tm_env(&env, &ip, "192.0.2.3");
	spec.p = big;
	spec.n = strlen(big);
	buf_init(&out);
	buf_init(&why);
	CU_ASSERT_EQUAL(spf_expand_domain(&env, &spec, &out, &why), DKK_OK);
	CU_ASSERT(out.len <= SPF_MAX_DOMAIN);
	CU_ASSERT(out.len > SPF_MAX_DOMAIN - 10);
	CU_ASSERT(strncmp(out.p, "abcdefghi.", 10) == 0);
	CU_ASSERT(strcmp(out.p + out.len - 17, "email.example.com") == 0);
	buf_clear(&out);
	buf_clear(&why);
}

/* RFC 7208 7.1: domain-end. */
static void
macro_domain_end(void)
{
	static const struct {
		const char *spec;
		bool ok;
	} v[] = {
		{ "example.com", true },
		{ "example.com.", true },
		{ "%{d}", true },
		{ "x.%{d}", true },
		{ "%{d}.com", true },
		{ "foo.1-2", true },
		{ "example.123", false },
		{ "com", false },
		{ "%{d}com", false },
		{ "foo.-bar", false },
		{ "foo.bar-", false },
		{ "", false },
		{ "foo..com/", false },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = spf_spec_check(v[i].spec, strlen(v[i].spec), false,
		    NULL);

		if ((rc == DKK_OK) != v[i].ok)
			fprintf(stderr, "domain-spec \"%s\"\n", v[i].spec);
		CU_ASSERT_EQUAL(rc == DKK_OK, v[i].ok);
	}
}

static int
tr_parse(const char *txt, struct spf_record *rec)
{
	struct buf why;
	int rc;

	buf_init(&why);
	rc = spf_record_parse(txt, strlen(txt), rec, &why);
	if (rc == DKK_ESYNTAX)
		CU_ASSERT(why.len > 0);
	buf_clear(&why);
	return rc;
}

/* RFC 7208 4.6.1, 5, 6: terms, qualifiers, arguments. */
static void
record_terms(void)
{
	struct spf_record rec;

	CU_ASSERT_EQUAL_FATAL(tr_parse("v=spf1 -ip4:192.0.2.0/24 ~a:x.example"
	    "/28//64 ?MX +ptr exists:%{i}.x.example include:y.example "
	    "ip6:2001:db8::/32 all redirect=r.example exp=e.example x-y=z",
	    &rec), DKK_OK);
	CU_ASSERT_EQUAL(rec.n, 8);
	CU_ASSERT_EQUAL(rec.terms[0].mech, SPF_IP4);
	CU_ASSERT_EQUAL(rec.terms[0].qual, '-');
	CU_ASSERT_EQUAL(rec.terms[0].cidr4, 24);
	CU_ASSERT_EQUAL(rec.terms[1].mech, SPF_A);
	CU_ASSERT_EQUAL(rec.terms[1].qual, '~');
	CU_ASSERT_EQUAL(rec.terms[1].cidr4, 28);
	CU_ASSERT_EQUAL(rec.terms[1].cidr6, 64);
	CU_ASSERT_EQUAL(rec.terms[1].spec.n, 9);
	CU_ASSERT_EQUAL(rec.terms[2].mech, SPF_MX);
	CU_ASSERT_EQUAL(rec.terms[2].qual, '?');
	CU_ASSERT_PTR_NULL(rec.terms[2].spec.p);
	CU_ASSERT_EQUAL(rec.terms[3].mech, SPF_PTR);
	CU_ASSERT_EQUAL(rec.terms[4].mech, SPF_EXISTS);
	CU_ASSERT_EQUAL(rec.terms[5].mech, SPF_INCLUDE);
	CU_ASSERT_EQUAL(rec.terms[6].cidr6, 32);
	CU_ASSERT_EQUAL(rec.terms[7].mech, SPF_ALL);
	CU_ASSERT_EQUAL(rec.redirect.n, 9);
	CU_ASSERT_EQUAL(rec.exp.n, 9);
	spf_record_clear(&rec);
}

static void
record_errors(void)
{
	static const char *const bad[] = {
		"v=spf1 foo",
		"v=spf1 all:x",
		"v=spf1 include",
		"v=spf1 exists:",
		"v=spf1 ip4",
		"v=spf1 ip4:192.0.2.1/",
		"v=spf1 ip4:192.0.2.01",
		"v=spf1 ip4:192.0.2.1//24",
		"v=spf1 ip4:1.2.3.4//32",
		/* 5.2, 5.7: include and exists take no cidr-length */
		"v=spf1 exists:x.example/24",
		"v=spf1 include:x.example/24",
		/* 7.1: domain-end is "." toplabel ["."]: "museum." has none */
		"v=spf1 a:museum.",
		"v=spf1 ip6:2001:db8::/129",
		"v=spf1 a/",
		"v=spf1 a:%{q}.example",
		"v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example",
		"v=spf1 redirect=",
		"v=spf1 *all",
		"v=spf1\t-all",
		"v=spf2 -all",
	};
	struct spf_record rec;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tr_parse(bad[i], &rec) != DKK_ESYNTAX)
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		CU_ASSERT_EQUAL(tr_parse(bad[i], &rec), DKK_ESYNTAX);
	}
	CU_ASSERT_TRUE(spf_is_record("v=spf1", 6));
	CU_ASSERT_TRUE(spf_is_record("V=SpF1 -all", 11));
	CU_ASSERT_FALSE(spf_is_record("v=spf1-all", 10));
	CU_ASSERT_FALSE(spf_is_record("v=spf", 5));
}

/* A record of more terms than the parse keeps in its struct
 * (SPF_FEW_TERMS) holds them all, in order. */
static void
record_many_terms(void)
{
	struct spf_record rec;
	struct buf txt;
	size_t i;

	buf_init(&txt);
	buf_adds(&txt, "v=spf1");
	for (i = 0; i < SPF_FEW_TERMS + 4; i++)
		buf_printf(&txt, " ip4:192.0.2.%zu/%zu", i, 24 + i % 8);
	buf_adds(&txt, " -all");
	CU_ASSERT_FALSE_FATAL(txt.failed);
	CU_ASSERT_EQUAL_FATAL(tr_parse(txt.p, &rec), DKK_OK);
	CU_ASSERT_EQUAL(rec.n, SPF_FEW_TERMS + 5);
	for (i = 0; i < SPF_FEW_TERMS + 4; i++) {
		CU_ASSERT_EQUAL(rec.terms[i].mech, SPF_IP4);
		CU_ASSERT_EQUAL(rec.terms[i].net.b[3], i);
		CU_ASSERT_EQUAL(rec.terms[i].cidr4, 24 + i % 8);
	}
	CU_ASSERT_EQUAL(rec.terms[SPF_FEW_TERMS + 4].mech, SPF_ALL);
	CU_ASSERT_EQUAL(rec.terms[SPF_FEW_TERMS + 4].qual, '-');
	spf_record_clear(&rec);
	buf_clear(&txt);
}

/* RFC 7208 4.6.1 ip4-network: the dotted quad inet_pton() reads, no
 * more (the core reads it without inet_pton()). */
static void
ip4_dotted_quad(void)
{
	static const struct {
		const char *s;
		bool ok;
	} v[] = {
		{ "192.0.2.1", true }, { "0.0.0.0", true },
		{ "255.255.255.255", true }, { "10.0.0.10", true },
		{ "256.0.0.1", false }, { "1.2.3", false },
		{ "1.2.3.4.5", false }, { "1.2.3.4.", false },
		{ ".1.2.3.4", false }, { "1..2.3", false },
		{ "01.2.3.4", false }, { "1.2.3.00", false },
		{ "1.2.3.4a", false }, { "1.2.3.1000", false },
	};
	struct spf_ip ip;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rc = spf_ip_parse(v[i].s, strlen(v[i].s), &ip);
		if ((rc == DKK_OK && ip.af == AF_INET) != v[i].ok)
			fprintf(stderr, "ip4 \"%s\"\n", v[i].s);
		CU_ASSERT_EQUAL(rc == DKK_OK && ip.af == AF_INET, v[i].ok);
	}
	CU_ASSERT_EQUAL_FATAL(spf_ip_parse("192.0.2.10", 10, &ip), DKK_OK);
	CU_ASSERT_EQUAL(ip.b[0], 192);
	CU_ASSERT_EQUAL(ip.b[3], 10);
	/* An IPv6 address still reads as one. */
	CU_ASSERT_EQUAL(spf_ip_parse("2001:db8::1", 11, &ip), DKK_OK);
	CU_ASSERT_EQUAL(ip.af, AF_INET6);
}

static const struct unit_test tests[] = {
	{ "macro_rfc_7_4_examples", macro_rfc_examples },
	{ "macro_letters_7_3", macro_letters },
	{ "macro_url_escape_7_3", macro_url_escape },
	{ "macro_transformers_7_1", macro_transformers },
	{ "macro_truncation_7_3", macro_truncation },
	{ "macro_domain_end_7_1", macro_domain_end },
	{ "record_terms_4_6_1", record_terms },
	{ "record_errors_4_6_1", record_errors },
	{ "record_many_terms_4_6_1", record_many_terms },
	{ "ip4_dotted_quad_4_6_1", ip4_dotted_quad },
	{ NULL, NULL }
};

void
suite_spfmacro(void)
{
	unit_suite("spfmacro", tests);
}
