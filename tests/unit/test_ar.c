/*
 * test_ar.c: the Authentication-Results field the verifier renders (RFC
 * 8601, RFC 6008 header.b; core/dkim/ar.c): one line or folded, quoting,
 * header.b prefixes, dkim=none, ADSP entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"

/* The header.b value: 8 characters, quoted unless a token (RFC 8601 2.2,
 * RFC 2045 tspecials include "/" and "="). */
static char *
b8(const char *b)
{
	char *out;
	int n = (int)strnlen(b, 8);

	if (asprintf(&out, strcspn(b, "/=") < (size_t)n ? "\"%.*s\"" :
	    "%.*s", n, b) < 0)
		out = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	return out;
}

static void
verify_ar_one_line(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *sm, *ar, *want, *hb;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	sm = unit_sign(&fx, &o, msg);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", DKK_FIELD_ONE_LINE,
	    &ar), DKK_OK);
	hb = b8(dkk_verifier_result(v, 0)->b);
	CU_ASSERT(asprintf(&want, "Authentication-Results: mx.example.net; "
	    "dkim=pass header.d=example.com header.i=@example.com "
	    "header.s=rsa header.a=rsa-sha256 header.b=%s "
	    "(good signature; 1024-bit key)", hb) > 0);
	CU_ASSERT_STRING_EQUAL(ar, want);
	free(want);
	free(ar);
	/* value_only drops the field name */
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", DKK_FIELD_ONE_LINE | DKK_FIELD_VALUE_ONLY,
	    &ar), DKK_OK);
	CU_ASSERT(strncmp(ar, "mx.example.net; dkim=pass ", 26) == 0);
	free(ar);
	free(hb);
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

/* No space outside comments and quotes: one item of the A-R field. */
static bool
single_item(const char *s, size_t n)
{
	size_t i;
	int depth = 0;
	bool q = false;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == '(')
			depth++;
		else if (!q && s[i] == ')')
			depth--;
		else if (!q && depth == 0 && s[i] == ' ')
			return false;
	}
	return true;
}

/* Folded: lines of at most 78 octets unless one item is longer, folds
 * are eol + TAB, and unfolding gives the one-line form. */
static void
verify_ar_folded(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *f1, *f2, *f3, *m, *one, *folded, *line, *next, *unf;
	size_t len, lines = 0;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.rsa, "rsa");
	f1 = sign_field(&fx, &o, msg, strlen(msg));
	o = unit_opts(fx.ed, "ed");
	o.identity = "a.very.long.local.part.that.will.not.fit.on.one.line."
	    "together.with.others@mail.example.com";
	f2 = sign_field(&fx, &o, msg, strlen(msg));
	o = unit_opts(fx.rsa, "missing");
	f3 = sign_field(&fx, &o, msg, strlen(msg));
	CU_ASSERT(asprintf(&m, "%s\r\n%s\r\n%s\r\n%s", f1, f2, f3, msg) > 0);
	v = unit_verify_opts(fx.ctx, &with_adsp, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", DKK_FIELD_ONE_LINE,
	    &one), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", 0,
	    &folded), DKK_OK);
	CU_ASSERT_PTR_NULL(strpbrk(one, "\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(one, "dkim-adsp=pass "
	    "header.from=example.com"));
	len = strlen(folded);
	CU_ASSERT(len > 2 && strcmp(folded + len - 2, "\r\n") != 0);
	for (line = folded; line != NULL; line = next) {
		next = strstr(line, "\r\n");
		len = next != NULL ? (size_t)(next - line) : strlen(line);
		if (next != NULL) {
			CU_ASSERT_EQUAL(next[2], '\t');
			next += 2;
		}
		if (len > 78 && !single_item(line + 1, len - 1)) {
			fprintf(stderr, "A-R line of %zu: %.*s\n", len,
			    (int)len, line);
			CU_FAIL("A-R line too long");
		}
		lines++;
	}
	CU_ASSERT(lines >= 5);
	/* unfolding: each eol + TAB is one SP of the one-line form */
	unf = strdup(folded);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unf);
	while ((line = strstr(unf, "\r\n\t")) != NULL) {
		*line = ' ';
		memmove(line + 1, line + 3, strlen(line + 3) + 1);
	}
	CU_ASSERT_STRING_EQUAL(unf, one);
	free(unf);
	free(one);
	free(folded);
	dkk_verifier_free(v);
	free(m);
	free(f1);
	free(f2);
	free(f3);
	unit_fx_free(&fx);
}

/* header.b: the first 8 characters, quoted when they hold "/" or "=". */
static void
verify_ar_header_b_quoting(void)
{
	static const char *const bs[] = {
		"ab/cdefghijk", "\"ab/cdefg\"",
		"abcdef==", "\"abcdef==\"",
		"ab+cdefghijk", "ab+cdefg",
		"abc", "abc",
	};
	struct unit_fx fx;
	dkk_verifier *v;
	char *m, *ar, want[64];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (i = 0; i < 8; i += 2) {
		CU_ASSERT(asprintf(&m, "DKIM-Signature: v=1; a=rsa-sha256; "
		    "d=example.com; s=rsa; h=From; bh=AAAA; b=%s\r\n%s",
		    bs[i], msg) > 0);
		v = unit_verify(fx.ctx, m, strlen(m), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE, &ar),
		    DKK_OK);
		snprintf(want, sizeof(want), " header.b=%s ", bs[i + 1]);
		if (strstr(ar, want) == NULL) {
			fprintf(stderr, "%s\nwant %s\n", ar, want);
			CU_FAIL("header.b");
		}
		free(ar);
		dkk_verifier_free(v);
		free(m);
	}
	unit_fx_free(&fx);
}

/* header.b grows past 8 characters until it tells two signatures apart
 * (RFC 6008 4); identical b= values stay whole. */
static void
verify_ar_header_b_unique(void)
{
	static const char *const pairs[] = {
		"ABCDEFGHij", "ABCDEFGHkl", " header.b=ABCDEFGHi ",
		" header.b=ABCDEFGHk ",
		"ABCDxxxxxx", "ABCDyyyyyy", " header.b=ABCDxxxx ",
		" header.b=ABCDyyyy ",
		"ABCDEFGHIJ", "ABCDEFGHIJ", " header.b=ABCDEFGHIJ ",
		" header.b=ABCDEFGHIJ ",
	};
	struct unit_fx fx;
	dkk_verifier *v;
	char *m, *ar, *first;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i += 4) {
		CU_ASSERT(asprintf(&m, "DKIM-Signature: v=1; a=rsa-sha256; "
		    "d=example.com; s=rsa; h=From; bh=AAAA; b=%s\r\n"
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; "
		    "h=From; bh=AAAA; b=%s\r\n%s", pairs[i], pairs[i + 1],
		    msg) > 0);
		v = unit_verify(fx.ctx, m, strlen(m), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE, &ar),
		    DKK_OK);
		first = strstr(ar, pairs[i + 2]);
		if (first == NULL || strstr(first + 1, pairs[i + 3]) == NULL) {
			fprintf(stderr, "%s\nwant %s then %s\n", ar,
			    pairs[i + 2], pairs[i + 3]);
			CU_FAIL("header.b prefix");
		}
		free(ar);
		dkk_verifier_free(v);
		free(m);
	}
	unit_fx_free(&fx);
}

/* header.i is [local-part] "@" domain-name, or a quoted-string when the
 * local part is not a dot-atom (RFC 8601 2.2, RFC 5322 3.4.1). */
static void
verify_ar_identity_quoting(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *sm, *ar;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	o = unit_opts(fx.ed, "ed");
	o.identity = "joe;x\"y@example.com";
	sm = unit_sign(&fx, &o, msg);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE, &ar), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(ar,
	    " header.i=\"joe;x\\\"y@example.com\" "));
	free(ar);
	dkk_verifier_free(v);
	free(sm);
	o.identity = "joe.q+tag@example.com";
	sm = unit_sign(&fx, &o, msg);
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_ONE_LINE, &ar), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(ar,
	    " header.i=joe.q+tag@example.com "));
	free(ar);
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

/* RFC 8601 2.7.1: an unsigned message is dkim=none. */
static void
verify_ar_none_unsigned(void)
{
	struct unit_fx fx;
	dkk_verifier *v;
	char *ar;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	v = unit_verify(fx.ctx, msg, strlen(msg), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", DKK_FIELD_ONE_LINE,
	    &ar), DKK_OK);
	CU_ASSERT_STRING_EQUAL(ar,
	    "Authentication-Results: mx.example.net; dkim=none");
	free(ar);
	/* folded, each resinfo starts a line */
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", 0,
	    &ar), DKK_OK);
	CU_ASSERT_STRING_EQUAL(ar,
	    "Authentication-Results: mx.example.net;\r\n\tdkim=none");
	free(ar);
	dkk_verifier_free(v);
	unit_fx_free(&fx);
}

/* dkim-adsp appears with ADSP on, after the dkim results. */
static void
verify_ar_adsp_present_when_on(void)
{
	struct unit_fx fx;
	dkk_verifier *v;
	char *m, *ar;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), 0);
	m = from_at("discard.example");
	v = unit_verify_opts(fx.ctx, &with_adsp, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", DKK_FIELD_ONE_LINE,
	    &ar), DKK_OK);
	CU_ASSERT_STRING_EQUAL(ar, "Authentication-Results: mx.example.net; "
	    "dkim=none; dkim-adsp=discard header.from=discard.example");
	free(ar);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

static const struct unit_test ar_tests[] = {
	{ "verify_ar_one_line", verify_ar_one_line },
	{ "verify_ar_folded", verify_ar_folded },
	{ "verify_ar_header_b_quoting", verify_ar_header_b_quoting },
	{ "verify_ar_header_b_unique", verify_ar_header_b_unique },
	{ "verify_ar_identity_quoting", verify_ar_identity_quoting },
	{ "verify_ar_none_unsigned", verify_ar_none_unsigned },
	{ "verify_ar_adsp_present_when_on",
	    verify_ar_adsp_present_when_on },
	{ NULL, NULL }
};

void
suite_ar(void)
{
	unit_suite("ar", ar_tests);
}
