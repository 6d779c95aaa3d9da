/*
 * test_adsp.c: Author Domain Signing Practices (RFC 5617, core/adsp/adsp.c)
 * through the verifier: every Author Domain of From, the record results,
 * the worst result for the message; and dkk_author_domain().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"
#include "mail/mail.h"

/* ADSP (RFC 5617): verify m with ADSP on; assert result and domain. */
static void
adsp_expect(dkk_ctx *ctx, const char *m, enum dkk_adsp want,
    const char *domain)
{
	dkk_verifier *v = unit_verify_opts(ctx, &with_adsp, m, strlen(m), 0);
	const char *d = "unset";
	enum dkk_adsp got;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	got = dkk_verifier_adsp(v, &d);
	if (got != want) {
		fprintf(stderr, "adsp %s, want %s\n", dkk_adsp_name(got),
		    dkk_adsp_name(want));
		CU_FAIL("unexpected ADSP result");
	}
	if (domain == NULL) {
		CU_ASSERT_PTR_NULL(d);
	} else if (d == NULL) {
		CU_FAIL("no author domain");
	} else {
		CU_ASSERT_STRING_EQUAL(d, domain);
	}
	dkk_verifier_free(v);
}

static void
adsp_unsigned_expect(dkk_ctx *ctx, const char *domain, enum dkk_adsp want)
{
	char *m = from_at(domain);

	adsp_expect(ctx, m, want, domain);
	free(m);
}

/* RFC 5617 3.2: an Author Domain Signature passes without lookups. */
static void
verify_adsp_pass(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *bad;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	adsp_expect(fx.ctx, sm, DKK_ADSP_PASS, "example.com");
	/* the same domain's signature failing: its dkim=all says fail */
	bad = replace(sm, "hungry", "thirsty");
	adsp_expect(fx.ctx, bad, DKK_ADSP_FAIL, "example.com");
	free(bad);
	free(sm);
	unit_fx_free(&fx);
}

/* RFC 5617 4.3: no record, unknown, all and discardable. */
static void
verify_adsp_record_results(void)
{
	struct unit_fx fx;
	char *m;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	adsp_unsigned_expect(fx.ctx, "none.example", DKK_ADSP_NONE);
	adsp_unsigned_expect(fx.ctx, "unknown.example", DKK_ADSP_UNKNOWN);
	adsp_unsigned_expect(fx.ctx, "all.example", DKK_ADSP_FAIL);
	adsp_unsigned_expect(fx.ctx, "discard.example", DKK_ADSP_DISCARD);
	/* domain names compare case-insensitively; reported in lowercase */
	m = from_at("ALL.Example");
	adsp_expect(fx.ctx, m, DKK_ADSP_FAIL, "all.example");
	free(m);
	unit_fx_free(&fx);
}

/* A valid signature from another domain does not satisfy dkim=all. */
static void
verify_adsp_third_party_signature_fails(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *m, *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m = from_at("discard.example");
	o = unit_opts(fx.ed, "ed");
	sm = unit_sign(&fx, &o, m);
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	adsp_expect(fx.ctx, sm, DKK_ADSP_DISCARD, "discard.example");
	free(sm);
	free(m);
	unit_fx_free(&fx);
}

/* RFC 5617 4.3: the author domain does not exist. */
static void
verify_adsp_nxdomain(void)
{
	struct unit_fx fx;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	adsp_unsigned_expect(fx.ctx, "nowhere.invalid", DKK_ADSP_NXDOMAIN);
	unit_fx_free(&fx);
}

static void
verify_adsp_temperror(void)
{
	struct unit_fx fx;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	tr_install(&fx, false, "temp.example");
	adsp_unsigned_expect(fx.ctx, "temp.example", DKK_ADSP_TEMPERROR);
	tr_install(&fx, true, "_adsp._domainkey.temp.example");
	adsp_unsigned_expect(fx.ctx, "temp.example", DKK_ADSP_TEMPERROR);
	tr_install(&fx, true, NULL);
	adsp_unsigned_expect(fx.ctx, "temp.example", DKK_ADSP_FAIL);
	unit_fx_free(&fx);
}

/* RFC 5617 4.1: a record that is not in the ADSP syntax (not starting
 * with "dkim", or a tag-list syntax error) is ignored, as NODATA: none. */
static void
verify_adsp_invalid_record_ignored(void)
{
	struct unit_fx fx;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	adsp_unsigned_expect(fx.ctx, "notadsp.example", DKK_ADSP_NONE);
	adsp_unsigned_expect(fx.ctx, "badtag.example", DKK_ADSP_NONE);
	adsp_unsigned_expect(fx.ctx, "upper.example", DKK_ADSP_NONE);
	adsp_unsigned_expect(fx.ctx, "lead.example", DKK_ADSP_NONE);
	adsp_unsigned_expect(fx.ctx, "later.example", DKK_ADSP_NONE);
	/* an unknown practice is still a valid record: unknown */
	adsp_unsigned_expect(fx.ctx, "foo.example", DKK_ADSP_UNKNOWN);
	unit_fx_free(&fx);
}

/* RFC 5617 4.3: more than one record leaves the result undefined:
 * permerror.  So do zero or several author addresses (2.3). */
static void
verify_adsp_permerror(void)
{
	struct unit_fx fx;
	char *m, *m2;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	adsp_unsigned_expect(fx.ctx, "two.example", DKK_ADSP_PERMERROR);
	/* an address that cannot be parsed */
	m = replace(msg, "From: Joe SixPack <joe@example.com>",
	    "From: Joe <joe@>");
	adsp_expect(fx.ctx, m, DKK_ADSP_PERMERROR, NULL);
	free(m);
	/* a group with no member */
	m = replace(msg, "From: Joe SixPack <joe@example.com>",
	    "From: undisclosed:;");
	adsp_expect(fx.ctx, m, DKK_ADSP_PERMERROR, NULL);
	free(m);
	/* no From field */
	m = replace(msg, "From: Joe SixPack <joe@example.com>\r\n", "");
	adsp_expect(fx.ctx, m, DKK_ADSP_PERMERROR, NULL);
	free(m);
	/* a comma inside a quoted display name is not a second address */
	m = replace(msg, "From: Joe SixPack <joe@example.com>",
	    "From: \"Pack, Joe\" (a, comment) <joe@none.example>");
	adsp_expect(fx.ctx, m, DKK_ADSP_NONE, "none.example");
	m2 = replace(m, "none.example", "unknown.example");
	adsp_expect(fx.ctx, m2, DKK_ADSP_UNKNOWN, "unknown.example");
	free(m2);
	free(m);
	unit_fx_free(&fx);
}

/* msg with its From field replaced by from, signed by example.com. */
static char *
signed_from(struct unit_fx *fx, const char *from)
{
	struct dkk_sign_opts o = unit_opts(fx->rsa, "rsa");
	char *m = replace(msg, "From: Joe SixPack <joe@example.com>", from);
	char *sm = unit_sign(fx, &o, m);

	free(m);
	return sm;
}

/* RFC 5617 2.3 and 3: every address in From is an Author Address and
 * each Author Domain is evaluated; the worst result is the message's, so
 * a second address, a second From field or a malformed list cannot hide
 * a discardable domain behind one with a good signature. */
static void
verify_adsp_every_author(void)
{
	static const struct {
		const char *from;
		enum dkk_adsp want;
		const char *domain;
	} cases[] = {
		{ "From: CEO <ceo@discard.example>, ceo@discard.example",
		    DKK_ADSP_DISCARD, "discard.example" },
		{ "From: joe@example.com, CEO <ceo@discard.example>",
		    DKK_ADSP_DISCARD, "discard.example" },
		{ "From: <joe@example.com>, \"Bank CEO\" <ceo@discard.example",
		    DKK_ADSP_DISCARD, "discard.example" },
		{ "From: <ceo@discard.example, joe@example.com>",
		    DKK_ADSP_DISCARD, "discard.example" },
		{ "From: ceo@discard.example <joe@example.com>",
		    DKK_ADSP_DISCARD, "discard.example" },
		{ "From: Team: joe@example.com, ceo@all.example;",
		    DKK_ADSP_FAIL, "all.example" },
		{ "From: joe@example.com, a@none.example", DKK_ADSP_NONE,
		    "none.example" },
		{ "From: joe@example.com, Joe <joe@Example.COM>",
		    DKK_ADSP_PASS, "example.com" },
		/* malformed, with every domain passing: no better than
		 * permerror */
		{ "From: <joe@example.com", DKK_ADSP_PERMERROR, "example.com" },
		/* more author domains than are looked up */
		{ "From: a@d1.example, b@d2.example, c@d3.example, "
		    "d@d4.example, e@d5.example, f@d6.example, g@d7.example, "
		    "h@d8.example, ceo@discard.example", DKK_ADSP_PERMERROR,
		    "d1.example" },
	};
	struct unit_fx fx;
	char *sm, *two;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sm = signed_from(&fx, cases[i].from);
		CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
		adsp_expect(fx.ctx, sm, cases[i].want, cases[i].domain);
		free(sm);
	}
	/* the same From field twice, the one signed and one added */
	sm = signed_from(&fx, "From: Joe <joe@example.com>");
	two = replace(sm, "From: Joe <joe@example.com>",
	    "From: CEO <ceo@discard.example>\r\nFrom: Joe <joe@example.com>");
	adsp_expect(fx.ctx, two, DKK_ADSP_DISCARD, "discard.example");
	free(two);
	free(sm);
	unit_fx_free(&fx);
}

/* A NUL in From hides nothing: what follows it is still an author, and
 * the field is malformed (permerror at best). */
static void
verify_adsp_nul_in_from(void)
{
	static const char fwd[] = "From: <joe@example.com>";
	static const char hidden[] = ", CEO <ceo@discard.example>\r\n";
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *m, *field, *sm;
	size_t fl, ml;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	/* the message with a NUL after the first address, by hand */
	ml = sizeof(fwd) + sizeof(hidden) - 1 + strlen(strstr(msg, "To:"));
	m = malloc(ml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memcpy(m, fwd, sizeof(fwd) - 1);
	m[sizeof(fwd) - 1] = '\0';
	memcpy(m + sizeof(fwd), hidden, sizeof(hidden) - 1);
	memcpy(m + sizeof(fwd) + sizeof(hidden) - 1, strstr(msg, "To:"),
	    strlen(strstr(msg, "To:")));
	o = unit_opts(fx.rsa, "rsa");
	field = sign_field(&fx, &o, m, ml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(field);
	fl = strlen(field);
	sm = malloc(fl + 2 + ml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	memcpy(sm, field, fl);
	memcpy(sm + fl, "\r\n", 2);
	memcpy(sm + fl + 2, m, ml);
	{
		dkk_verifier *v = unit_verify_opts(fx.ctx, &with_adsp, sm,
		    fl + 2 + ml, 0);
		const char *d = NULL;

		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_EQUAL(dkk_verifier_adsp(v, &d), DKK_ADSP_DISCARD);
		CU_ASSERT_STRING_EQUAL(d, "discard.example");
		dkk_verifier_free(v);
	}
	free(sm);
	free(field);
	free(m);
	unit_fx_free(&fx);
}

/* RFC 5617 4.2.1: an unknown practice counts as unknown. */
static void
verify_adsp_unknown_practice(void)
{
	struct unit_fx fx;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	adsp_unsigned_expect(fx.ctx, "foo.example", DKK_ADSP_UNKNOWN);
	unit_fx_free(&fx);
}

static void
verify_adsp_off_by_default(void)
{
	struct unit_fx fx;
	dkk_verifier *v;
	char *m = NULL, *ar;
	const char *d = "unset";

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m = from_at("all.example");
	v = unit_verify(fx.ctx, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_adsp(v, &d), DKK_ADSP_NONE);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", DKK_FIELD_ONE_LINE,
	    &ar), DKK_OK);
	CU_ASSERT_PTR_NULL(strstr(ar, "adsp"));
	free(ar);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* dkk_author_domain: one From field with one address, any RFC 5322 form. */
static void
author_domain_forms(void)
{
	static const struct {
		const char *hdr;
		const char *want;	/* NULL: DKK_ESYNTAX */
	} cases[] = {
		{ "From: a@Example.TEST\r\n\r\nbody", "example.test" },
		{ "To: x@y.test\nFrom: \"Q, Joe @x.y\" <joe@sub.example.test>"
		    " (c <x@y>)\n", "sub.example.test" },
		{ "From: Joe\r\n <joe@example.test>\r\n", "example.test" },
		{ "From: a@example.test, b@example.test\n", NULL },
		{ "From: a@example.test\nFrom: b@example.test\n", NULL },
		{ "Subject: no from\n\n", NULL },
		{ "From: undisclosed:;\n", NULL },
		{ "From: joe\n", NULL },
		/* RFC 9989 5.3.1 (and RFC 7208 4.3): a U-label domain is
		 * converted to its A-label; RFC 6532 UTF-8 local part */
		{ "From: a@b\xc3\xbc" "cher.test\n", "xn--bcher-kva.test" },
		{ "From: J\xc3\xb6rg <j\xc3\xb6rg@m\xc3\xbcller.b\xc3\xbc" "cher"
		    ".test>\n", "xn--mller-kva.xn--bcher-kva.test" },
		/* not UTF-8 (Latin-1): no domain, never the prefix "b" */
		{ "From: a@b\xfc" "cher.test\n", NULL },
	};
	size_t i;
	char *d;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = dkk_author_domain(cases[i].hdr, strlen(cases[i].hdr), &d);
		if (cases[i].want == NULL) {
			CU_ASSERT_EQUAL(rc, DKK_ESYNTAX);
			CU_ASSERT_PTR_NULL(d);
		} else {
			CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
			CU_ASSERT_STRING_EQUAL(d, cases[i].want);
		}
		free(d);
	}
}

/* The author domains of one From value, space-separated, and whether
 * it is malformed. */
static void
authors_of(const char *value, const char *want, bool malformed)
{
	struct authors a;
	char got[256] = "";
	size_t i;

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL_FATAL(authors_parse(&a, value, strlen(value)), DKK_OK);
	for (i = 0; i < a.n; i++) {
		if (i > 0)
			strcat(got, " ");
		strncat(got, a.domain[i], 100);
	}
	if (strcmp(got, want) != 0 || a.malformed != malformed)
		fprintf(stderr, "From: %s: \"%s\"%s, not \"%s\"%s\n", value,
		    got, a.malformed ? " malformed" : "", want,
		    malformed ? " malformed" : "");
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(a.malformed, malformed);
	authors_clear(&a);
}

/* RFC 9989 5.3.1: "If the domain is a U-label, the domain MUST be
 * converted to an A-label"; a domain that cannot be is no author
 * domain, and the salvage of a malformed field takes a domain whole or
 * not at all -- never the prefix before a bad octet. */
static void
authors_u_labels(void)
{
	authors_of("a@b\xc3\xbc" "cher.test", "xn--bcher-kva.test", false);
	authors_of("a@B\xc3\xbc" "CHER.Test", "xn--bcher-kva.test", false);
	authors_of("<a@b\xc3\xbc" "cher.test", "xn--bcher-kva.test", true);
	authors_of("a@b\xfc" "cher.test", "", true);	/* Latin-1 */
	authors_of("<a@b\xfc" "cher.test", "", true);
	authors_of("<a@bank!x.test", "", true);
	authors_of("<a@bank.test, b@x.test>", "bank.test x.test", true);
	authors_of("a@ok.test, b@b\xfc" "cher.test", "ok.test", true);
}

static const struct unit_test adsp_tests[] = {
	{ "verify_adsp_pass", verify_adsp_pass },
	{ "verify_adsp_record_results", verify_adsp_record_results },
	{ "verify_adsp_third_party_signature_fails",
	    verify_adsp_third_party_signature_fails },
	{ "verify_adsp_nxdomain", verify_adsp_nxdomain },
	{ "verify_adsp_temperror", verify_adsp_temperror },
	{ "verify_adsp_permerror", verify_adsp_permerror },
	{ "verify_adsp_invalid_record_ignored",
	    verify_adsp_invalid_record_ignored },
	{ "verify_adsp_every_author", verify_adsp_every_author },
	{ "verify_adsp_nul_in_from", verify_adsp_nul_in_from },
	{ "verify_adsp_unknown_practice", verify_adsp_unknown_practice },
	{ "verify_adsp_off_by_default", verify_adsp_off_by_default },
	{ "author_domain_forms", author_domain_forms },
	{ "authors_u_labels", authors_u_labels },
	{ NULL, NULL }
};

void
suite_adsp(void)
{
	unit_suite("adsp", adsp_tests);
}
