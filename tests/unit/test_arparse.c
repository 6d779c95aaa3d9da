/*
 * test_arparse.c: reading Authentication-Results (RFC 8601 2.2) with
 * dkk_ar_parse() and deciding whose a field is with dkk_ar_claims(),
 * including the forms a forger would use to hide an authserv-id.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static dkk_ar *
parse(const char *v)
{
	dkk_ar *ar = NULL;

	CU_ASSERT_EQUAL(dkk_ar_parse(v, strlen(v), &ar), DKK_OK);
	return ar;
}

/* RFC 8601 Appendix B examples, one result each and several. */
static void
arparse_rfc_examples(void)
{
	dkk_ar *ar;

	ar = parse(" example.com; none");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_STRING_EQUAL(ar->authserv_id, "example.com");
	CU_ASSERT_EQUAL(ar->nresults, 0);
	CU_ASSERT(ar->complete);
	dkk_ar_free(ar);
	ar = parse(" example.com;\r\n\t  spf=pass smtp.mailfrom=example.net");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_EQUAL_FATAL(ar->nresults, 1);
	CU_ASSERT_STRING_EQUAL(ar->results[0].method, "spf");
	CU_ASSERT_STRING_EQUAL(ar->results[0].result, "pass");
	CU_ASSERT_EQUAL_FATAL(ar->results[0].nprops, 1);
	CU_ASSERT_STRING_EQUAL(ar->results[0].props[0].ptype, "smtp");
	CU_ASSERT_STRING_EQUAL(ar->results[0].props[0].property, "mailfrom");
	CU_ASSERT_STRING_EQUAL(ar->results[0].props[0].value, "example.net");
	dkk_ar_free(ar);
	ar = parse(" example.com 1;\r\n\t  auth=pass (cram-md5) smtp.auth=sender@"
	    "example.net;\r\n\t  spf=pass smtp.mailfrom=example.net;\r\n\t"
	    "  dkim=fail reason=\"bad sig\" header.d=example.org (x (y)) "
	    "header.b=\"abc/=\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT(ar->complete);
	CU_ASSERT_EQUAL(ar->version, 1);
	CU_ASSERT_EQUAL_FATAL(ar->nresults, 3);
	CU_ASSERT_STRING_EQUAL(ar->results[0].props[0].value,
	    "sender@example.net");
	CU_ASSERT_STRING_EQUAL(ar->results[2].reason, "bad sig");
	CU_ASSERT_EQUAL_FATAL(ar->results[2].nprops, 2);
	CU_ASSERT_STRING_EQUAL(ar->results[2].props[1].value, "abc/=");
	dkk_ar_free(ar);
	/* "local"@domain as a pvalue */
	ar = parse("mx; dkim=pass header.i=\"a b\"@example.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_STRING_EQUAL(ar->results[0].props[0].value,
	    "a b@example.com");
	dkk_ar_free(ar);
}

/* What our own renderer writes reads back. */
static void
arparse_reads_own_field(void)
{
	char *f = NULL;
	dkk_ar *ar;

	CU_ASSERT_EQUAL_FATAL(dkk_ar_unverified("mx.example.net",
	    DKK_TEMPERROR, "no \"memory\" (now)", 0, &f), DKK_OK);
	ar = parse(strchr(f, ':') + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT(ar->complete);
	CU_ASSERT_STRING_EQUAL(ar->results[0].method, "dkim");
	CU_ASSERT_STRING_EQUAL(ar->results[0].result, "temperror");
	CU_ASSERT_STRING_EQUAL(ar->results[0].reason, "no \"memory\" (now)");
	dkk_ar_free(ar);
	free(f);
}

/* RFC 8601 5: the fields that claim our authserv-id, however written.
 * A CR alone after the colon is a fold to smtpd and Dovecot (issue #28). */
static void
arparse_claims_hidden_forms(void)
{
	static const struct {
		const char *value;
		int ours;
	} cases[] = {
		{ " mx.test; dkim=pass header.d=bank.example", 1 },
		{ "\r\n\tmx.test; dkim=pass", 1 },
		{ "\r\tmx.test; dkim=pass", 1 },
		{ "\rmx.test; dkim=pass", 1 },
		{ "\nmx.test; dkim=pass", 1 },
		{ " (comment (nested) \\) ) mx.test; dkim=pass", 1 },
		{ " \"mx.test\"; dkim=pass", 1 },
		{ " MX.Test; dkim=pass", 1 },
		{ " mx.test; garbage that does not parse ((", 1 },
		{ " mx.test", 1 },
		{ " other.test; dkim=pass", 0 },
		{ " mx.test.evil; dkim=pass", 0 },
		{ " \"mx.test \"; dkim=pass", 0 },
		{ "", 0 },
		{ " ;dkim=pass", 0 },
		{ " (unclosed mx.test; dkim=pass", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = dkk_ar_claims(cases[i].value, strlen(cases[i].value),
		    "mx.test");

		if (got != cases[i].ours) {
			fprintf(stderr, "case %zu: got %d\n", i, got);
			CU_FAIL("dkk_ar_claims");
		}
	}
	CU_ASSERT_EQUAL(dkk_ar_claims("x", 1, NULL), DKK_EINVAL);
}

/* Results after a syntax error are dropped, the ones before kept; a
 * resinfo or a property cut short is left out, never half there. */
static void
arparse_partial(void)
{
	dkk_ar *ar = parse("mx; dkim=pass header.d=a.example; spf=;x");

	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_FALSE(ar->complete);
	CU_ASSERT_EQUAL(ar->nresults, 1);
	CU_ASSERT_STRING_EQUAL(ar->results[0].result, "pass");
	dkk_ar_free(ar);
	/* cut inside a resinfo or a property: what is there is whole */
	ar = parse("mx; dkim=pass; spf");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_FALSE(ar->complete);
	CU_ASSERT_EQUAL(ar->nresults, 1);
	dkk_ar_free(ar);
	ar = parse("mx; spf=pass smtp.helo=a.example smtp.mailfrom");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_FALSE(ar->complete);
	CU_ASSERT_EQUAL_FATAL(ar->nresults, 1);
	CU_ASSERT_STRING_EQUAL(ar->results[0].result, "pass");
	CU_ASSERT_EQUAL_FATAL(ar->results[0].nprops, 1);
	CU_ASSERT_STRING_EQUAL(ar->results[0].props[0].value, "a.example");
	dkk_ar_free(ar);
	ar = parse("mx; spf=pass smtp.");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_EQUAL(ar->results[0].nprops, 0);
	dkk_ar_free(ar);
	ar = NULL;
	CU_ASSERT_EQUAL(dkk_ar_parse("", 0, &ar), DKK_ESYNTAX);
	CU_ASSERT_PTR_NULL(ar);
	dkk_ar_free(NULL);
}

/* The SPF facts of a field: the first spf entry with a result, mailfrom
 * before helo, "hardfail" as fail; an unknown word is no result. */
static void
arparse_spf_facts(void)
{
	static const struct {
		const char *value;
		int known;
		enum dkk_spf_result result;
		enum dkk_spf_scope scope;
		const char *domain, *word;
	} cases[] = {
		{ "mx; spf=pass smtp.helo=h.example smtp.mailfrom=a@m.example",
		    1, DKK_SPF_PASS, DKK_SPF_MAILFROM, "a@m.example", "pass" },
		{ "mx; dkim=pass; SPF=HardFail smtp.helo=h.example", 1,
		    DKK_SPF_FAIL, DKK_SPF_HELO, "h.example", "HardFail" },
		{ "mx; spf=policy smtp.mailfrom=m.example; spf=pass", 0,
		    DKK_SPF_NONE, DKK_SPF_MAILFROM, "m.example", "policy" },
		{ "mx; spf=softfail", 1, DKK_SPF_SOFTFAIL, DKK_SPF_HELO, NULL,
		    "softfail" },
		{ "mx; dkim=pass", 0, DKK_SPF_NONE, DKK_SPF_MAILFROM, NULL,
		    NULL },
	};
	struct dkk_spf_facts f;
	const char *word;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dkk_ar *ar = parse(cases[i].value);

		CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
		CU_ASSERT_EQUAL(dkk_ar_spf(ar, &f, &word), cases[i].known);
		CU_ASSERT_EQUAL(f.result, cases[i].result);
		CU_ASSERT_EQUAL(f.scope, cases[i].scope);
		if (cases[i].domain == NULL) {
			CU_ASSERT_PTR_NULL(f.domain);
		} else {
			CU_ASSERT_STRING_EQUAL(f.domain, cases[i].domain);
		}
		if (cases[i].word == NULL) {
			CU_ASSERT_PTR_NULL(word);
		} else {
			CU_ASSERT_STRING_EQUAL(word, cases[i].word);
		}
		dkk_ar_free(ar);
	}
}

/* RFC 8601 5: the topmost field of the trusted id, whatever lies above
 * it from others or cannot be parsed; never a lower one of the id. */
static void
arparse_trusted_topmost(void)
{
	static const char *const fields[] = {
		" other.test; spf=fail smtp.mailfrom=a.example",
		" (unclosed mx.test; spf=pass",
		" MX.test; spf=softfail smtp.mailfrom=b.example",
		" mx.test; spf=pass smtp.mailfrom=c.example",
	};
	struct dkk_spf_facts f;
	dkk_ar *ar = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_ar_trusted(fields, 4, "mx.test", &ar),
	    DKK_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ar);
	CU_ASSERT_EQUAL(dkk_ar_spf(ar, &f, NULL), 1);
	CU_ASSERT_EQUAL(f.result, DKK_SPF_SOFTFAIL);
	CU_ASSERT_STRING_EQUAL(f.domain, "b.example");
	dkk_ar_free(ar);
	/* none of the id: none taken */
	CU_ASSERT_EQUAL(dkk_ar_trusted(fields, 2, "mx.test", &ar), DKK_OK);
	CU_ASSERT_PTR_NULL(ar);
	CU_ASSERT_EQUAL(dkk_ar_trusted(NULL, 0, "mx.test", &ar), DKK_OK);
	CU_ASSERT_PTR_NULL(ar);
	CU_ASSERT_EQUAL(dkk_ar_trusted(fields, 4, NULL, &ar), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_ar_trusted(NULL, 1, "mx.test", &ar), DKK_EINVAL);
}

static const struct unit_test arparse_tests[] = {
	{ "arparse_trusted_topmost", arparse_trusted_topmost },
	{ "arparse_spf_facts", arparse_spf_facts },
	{ "arparse_rfc_examples", arparse_rfc_examples },
	{ "arparse_reads_own_field", arparse_reads_own_field },
	{ "arparse_claims_hidden_forms", arparse_claims_hidden_forms },
	{ "arparse_partial", arparse_partial },
	{ NULL, NULL }
};

void
suite_arparse(void)
{
	unit_suite("arparse", arparse_tests);
}
