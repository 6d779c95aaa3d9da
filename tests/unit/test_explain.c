/*
 * test_explain.c: the failure classifier (core/dkim/explain.c): the RFC
 * 6376 example message signed, changed in one known way, verified with
 * explain on; the class, the field and the figures of the detail checked,
 * and the verdict checked to be the one explain off gives.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"

static const struct dkk_verify_opts with_explain = { .explain = 1 };

/* Verify m with explain on (fed chunk octets at a time) and off; the
 * verdicts must agree.  Returns the class of signature 0, its field and
 * detail copied to field and detail (may be NULL). */
static enum dkk_class
classify(dkk_ctx *ctx, const char *m, size_t chunk, char *field,
    char *detail, size_t cap)
{
	dkk_verifier *on, *off;
	const char *f, *d;
	enum dkk_class c;

	on = unit_verify_opts(ctx, &with_explain, m, strlen(m), chunk);
	off = unit_verify(ctx, m, strlen(m), chunk);
	CU_ASSERT_PTR_NOT_NULL_FATAL(on);
	CU_ASSERT_PTR_NOT_NULL_FATAL(off);
	CU_ASSERT_EQUAL(dkk_verifier_verdict(on), dkk_verifier_verdict(off));
	CU_ASSERT_STRING_EQUAL(unit_result(on, 0), unit_result(off, 0));
	c = dkk_verifier_explain(on, 0, &f, &d);
	CU_ASSERT_EQUAL(dkk_verifier_explain(off, 0, NULL, NULL), DKK_C_NONE);
	if (field != NULL)
		snprintf(field, cap, "%s", f != NULL ? f : "(null)");
	if (detail != NULL)
		snprintf(detail, cap, "%s", d);
	dkk_verifier_free(on);
	dkk_verifier_free(off);
	return c;
}

static char *
signed_msg(struct unit_fx *fx, enum dkk_canon hc, enum dkk_canon bc,
    int oversign, const char *m)
{
	struct dkk_sign_opts o = unit_opts(fx->rsa, "rsa");

	o.header_canon = hc;
	o.body_canon = bc;
	o.oversign = oversign;
	return unit_sign(fx, &o, m);
}

static void
explain_pass_is_none(void)
{
	struct unit_fx fx;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = signed_msg(&fx, DKK_CANON_RELAXED, DKK_CANON_RELAXED, 0, msg);
	CU_ASSERT_EQUAL(classify(fx.ctx, sm, 0, NULL, NULL, 0), DKK_C_NONE);
	free(sm);
	unit_fx_free(&fx);
}

/* A footer under every body canonicalization, fed whole and one octet
 * at a time: the detail counts its canonical octets and lines. */
static void
explain_footer_is_body_appended(void)
{
	static const enum dkk_canon canons[] = { DKK_CANON_SIMPLE,
	    DKK_CANON_RELAXED };
	static const size_t chunks[] = { 0, 1, 7 };
	struct unit_fx fx;
	char *sm, *m, detail[512];
	size_t c, k;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	for (c = 0; c < 2; c++) {
		sm = signed_msg(&fx, DKK_CANON_RELAXED, canons[c], 0, msg);
		m = concat(sm, "-- \r\nThe list footer\r\n");
		for (k = 0; k < 3; k++) {
			CU_ASSERT_EQUAL(classify(fx.ctx, m, chunks[k], NULL,
			    detail, sizeof(detail)), DKK_C_BODY_APPENDED);
			/* "-- " is 3 octets simple, 2 relaxed; plus CRLFs */
			CU_ASSERT_PTR_NOT_NULL(strstr(detail, canons[c] ==
			    DKK_CANON_SIMPLE ? "22 octets in 2 lines" :
			    "21 octets in 2 lines"));
		}
		free(m);
		free(sm);
	}
	unit_fx_free(&fx);
}

/* The signed body ended in empty lines (not in the hash): the footer
 * after them is still an append. */
static void
explain_footer_after_empty_lines(void)
{
	struct unit_fx fx;
	char *base = concat(msg, "\r\n\r\n"), *sm, *m, detail[512];

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = signed_msg(&fx, DKK_CANON_SIMPLE, DKK_CANON_SIMPLE, 0, base);
	m = concat(sm, "footer\r\n");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, NULL, detail, sizeof(detail)),
	    DKK_C_BODY_APPENDED);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "12 octets in 3 lines"));
	free(m);
	free(sm);
	free(base);
	unit_fx_free(&fx);
}

/* A list's footer in multipart mail: a new part, or text, inserted
 * before the closing boundary (after an empty line, too). */
static void
explain_mime_footer_is_body_appended(void)
{
	static const char mime[] =
	    "From: Joe SixPack <joe@example.com>\r\n"
	    "Subject: Is dinner ready?\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	    "\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "We lost the game.\r\n"
	    "\r\n"
	    "--b1--\r\n"
	    "epilogue\r\n";
	static const char *const footers[][2] = {
		{ "--b1\r\nContent-Type: text/plain\r\n\r\nfooter\r\n",
		    "42 octets in 4 lines were inserted" },
		{ "footer\r\n", "8 octets in 1 line were inserted" },
	};
	struct unit_fx fx;
	char *sm, *m, *ins, detail[512];
	size_t i, c;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	for (c = 0; c < 2; c++) {
		sm = signed_msg(&fx, DKK_CANON_RELAXED, c ? DKK_CANON_RELAXED :
		    DKK_CANON_SIMPLE, 0, mime);
		for (i = 0; i < 2; i++) {
			ins = concat(footers[i][0], "--b1--");
			m = replace(sm, "--b1--", ins);
			CU_ASSERT_EQUAL(classify(fx.ctx, m, 5, NULL, detail,
			    sizeof(detail)), DKK_C_BODY_APPENDED);
			CU_ASSERT_PTR_NOT_NULL(strstr(detail, footers[i][1]));
			free(m);
			free(ins);
		}
		/* the closing part changed too: no longer explained */
		m = replace(sm, "epilogue", "epilog");
		ins = replace(m, "--b1--", "footer\r\n--b1--");
		CU_ASSERT_EQUAL(classify(fx.ctx, ins, 0, NULL, NULL, 0),
		    DKK_C_BODY_CHANGED);
		free(ins);
		free(m);
		free(sm);
	}
	unit_fx_free(&fx);
}

static void
explain_edit_is_body_changed(void)
{
	struct unit_fx fx;
	char *sm, *m, *m2;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = signed_msg(&fx, DKK_CANON_RELAXED, DKK_CANON_RELAXED, 0, msg);
	m = replace(sm, "We lost", "We won");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, NULL, NULL, 0),
	    DKK_C_BODY_CHANGED);
	/* an edit and a footer: not a prefix any more */
	m2 = concat(m, "footer\r\n");
	CU_ASSERT_EQUAL(classify(fx.ctx, m2, 3, NULL, NULL, 0),
	    DKK_C_BODY_CHANGED);
	free(m2);
	free(m);
	free(sm);
	unit_fx_free(&fx);
}

/* With l= the body hash covers a prefix already: a failure is a change
 * inside it, never an append. */
static void
explain_body_length_is_body_changed(void)
{
	struct unit_fx fx;
	char *sm, *m, detail[512];

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha256; c=simple/simple; "
	    "d=example.com; s=rsa; h=From:Subject; l=5");
	m = replace(sm, "Hi.", "Ho.");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, NULL, detail, sizeof(detail)),
	    DKK_C_BODY_CHANGED);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "l=5"));
	free(m);
	free(sm);
	unit_fx_free(&fx);
}

static void
explain_list_tags_are_subject_tagged(void)
{
	static const char *const tags[][2] = {
		{ "Subject: Is dinner", "Subject: [football] Is dinner" },
		{ "Subject: Is dinner", "Subject: [football]Is dinner" },
		{ "Subject: Re: Is", "Subject: Re: [football] Is" },
		{ "Subject: Re: Is", "Subject: [football] Re: Is" },
		{ "ready?\r\n", "ready? [football]\r\n" },
	};
	struct unit_fx fx;
	char *base, *sm, *m, field[64], detail[512];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		base = strstr(tags[i][0], "Re:") != NULL ?
		    replace(msg, "Subject: Is", "Subject: Re: Is") :
		    replace(msg, "", "");
		sm = signed_msg(&fx, i % 2 ? DKK_CANON_SIMPLE :
		    DKK_CANON_RELAXED, DKK_CANON_RELAXED, 0, base);
		m = replace(sm, tags[i][0], tags[i][1]);
		CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, detail,
		    sizeof(detail)), DKK_C_SUBJECT_TAGGED);
		CU_ASSERT_STRING_EQUAL(field, "Subject");
		CU_ASSERT_PTR_NOT_NULL(strstr(detail, "\"[football]\""));
		free(m);
		free(sm);
		free(base);
	}
	unit_fx_free(&fx);
}

/* Oversigned From duplicated, an oversigned List-Id slot filled, and a
 * Message-ID signed as absent then added: each named. */
static void
explain_added_fields_are_header_added(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm, *m, *base, field[64], detail[512];

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = signed_msg(&fx, DKK_CANON_RELAXED, DKK_CANON_RELAXED, 1, msg);
	m = concat("From: ceo@example.com\r\n", sm);
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, NULL, sizeof(field)),
	    DKK_C_HEADER_ADDED);
	CU_ASSERT_STRING_EQUAL(field, "From");
	free(m);
	free(sm);

	/* From listed once (dkk_signer always oversigns it; by hand): a From
	 * on top is not selected (bottom-up) and breaks nothing; one below
	 * the signed one is, and is named. */
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha256; c=relaxed/relaxed;"
	    " d=example.com; s=rsa; h=From:To:Subject");
	m = concat("From: ceo@example.com\r\n", sm);
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, NULL, NULL, 0), DKK_C_NONE);
	free(m);
	m = replace(sm, "To: Suzie", "From: ceo@example.com\r\nTo: Suzie");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, detail, sizeof(detail)),
	    DKK_C_HEADER_ADDED);
	CU_ASSERT_STRING_EQUAL(field, "From");
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "2 now, 1 signed (h= lists "
	    "the name once)") != NULL ? detail : NULL);
	free(m);
	free(sm);

	o = unit_opts(fx.rsa, "rsa");
	o.headers = "From:To:Subject:List-Id";
	o.oversign = 1;
	sm = unit_sign(&fx, &o, msg);
	m = replace(sm, "\r\n\r\n", "\r\nList-Id: <football.example.com>\r\n"
	    "\r\n");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, NULL, sizeof(field)),
	    DKK_C_HEADER_ADDED);
	CU_ASSERT_STRING_EQUAL(field, "List-Id");
	free(m);
	free(sm);

	base = replace(msg, "Message-ID: <20030712040037.46341.5F8J@example."
	    "com>\r\n", "");
	o.headers = "From:To:Subject:Message-ID";
	o.oversign = 0;
	sm = unit_sign(&fx, &o, base);
	m = replace(sm, "\r\n\r\n", "\r\nMessage-ID: <x@relay.example>\r\n"
	    "\r\n");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, NULL, sizeof(field)),
	    DKK_C_HEADER_ADDED);
	CU_ASSERT_STRING_EQUAL(field, "Message-ID");
	free(m);
	free(sm);
	free(base);
	unit_fx_free(&fx);
}

/* z= names the changed field, even when no rewrite could undo it. */
static void
explain_z_names_changed_field(void)
{
	struct unit_fx fx;
	char *sm, *m, field[64], detail[512];

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha256; c=relaxed/relaxed;"
	    " d=example.com; s=rsa; h=From:To:Subject; z=From:Joe=20SixPack="
	    "20<joe@example.com>|To:Suzie=20Q=20<suzie@shopping.example.net>"
	    "|Subject:Is=20dinner=20ready?");
	CU_ASSERT_EQUAL(classify(fx.ctx, sm, 0, NULL, NULL, 0), DKK_C_NONE);
	m = replace(sm, "To: Suzie Q", "To: Suzy Q");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, detail, sizeof(detail)),
	    DKK_C_HEADER_CHANGED);
	CU_ASSERT_STRING_EQUAL(field, "To");
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "Suzie Q"));
	free(m);
	free(sm);
	unit_fx_free(&fx);
}

/* Simple header canonicalization: a fold added, a long line split, extra
 * whitespace; relaxed survives the first and the last. */
static void
explain_rewrites_are_header_changed(void)
{
	struct unit_fx fx;
	char *sm, *m, *base, *longsub, *split, field[64], detail[512];

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = signed_msg(&fx, DKK_CANON_SIMPLE, DKK_CANON_SIMPLE, 0, msg);
	m = replace(sm, "Subject: Is dinner", "Subject: Is\r\n dinner");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, detail, sizeof(detail)),
	    DKK_C_HEADER_CHANGED);
	CU_ASSERT_STRING_EQUAL(field, "Subject");
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "refolded"));
	free(m);
	m = replace(sm, "Subject: Is dinner", "Subject: Is   dinner");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, detail, sizeof(detail)),
	    DKK_C_HEADER_CHANGED);
	CU_ASSERT_STRING_EQUAL(field, "Subject");
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "whitespace"));
	free(m);
	free(sm);

	/* a Subject of 1200 octets split at 998 with CRLF SP */
	longsub = malloc(1200);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longsub);
	memset(longsub, 'x', 1199);
	longsub[1199] = '\0';
	memcpy(longsub, "Subject: ", 9);
	base = replace(msg, "Subject: Is dinner ready?", longsub);
	sm = signed_msg(&fx, DKK_CANON_RELAXED, DKK_CANON_RELAXED, 0, base);
	longsub[998] = '\0';
	split = malloc(strlen(longsub) + 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(split);
	sprintf(split, "%s\r\n ", longsub);
	m = replace(sm, longsub, split);
	free(split);
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, detail, sizeof(detail)),
	    DKK_C_HEADER_CHANGED);
	CU_ASSERT_STRING_EQUAL(field, "Subject");
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "1199 octets"));
	free(m);
	free(sm);
	free(base);
	free(longsub);
	unit_fx_free(&fx);
}

static void
explain_value_change_is_header_unknown(void)
{
	struct unit_fx fx;
	char *sm, *m, field[64];

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = signed_msg(&fx, DKK_CANON_RELAXED, DKK_CANON_RELAXED, 0, msg);
	m = replace(sm, "To: Suzie Q", "To: Suzy Q");
	CU_ASSERT_EQUAL(classify(fx.ctx, m, 0, field, NULL, sizeof(field)),
	    DKK_C_HEADER_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(field, "(null)");
	free(m);
	free(sm);
	unit_fx_free(&fx);
}

/* What the verifier knows already keeps its own class. */
static void
explain_known_reasons(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	o = unit_opts(fx.rsa, "missing");
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_EQUAL(classify(fx.ctx, sm, 0, NULL, NULL, 0), DKK_C_KEY);
	free(sm);
	o = unit_opts(fx.rsa, "revoked");
	sm = unit_sign(&fx, &o, msg);
	CU_ASSERT_EQUAL(classify(fx.ctx, sm, 0, NULL, NULL, 0), DKK_C_KEY);
	free(sm);
	o = unit_opts(fx.rsa, "rsa");
	o.expire = 10;
	sm = unit_sign(&fx, &o, msg);
	fx.now += 100000;
	CU_ASSERT_EQUAL(classify(fx.ctx, sm, 0, NULL, NULL, 0), DKK_C_TIME);
	fx.now -= 100000;
	free(sm);
	sm = hand_sign(fx.rsa_pem, msg, "v=1; a=rsa-sha1; c=relaxed/relaxed; "
	    "d=example.com; s=rsa; h=From:Subject");
	CU_ASSERT_EQUAL(classify(fx.ctx, sm, 0, NULL, NULL, 0),
	    DKK_C_ALGORITHM);
	free(sm);
	sm = concat("DKIM-Signature: v=1; a=rsa-sha256\r\n", msg);
	CU_ASSERT_EQUAL(classify(fx.ctx, sm, 0, NULL, NULL, 0), DKK_C_SYNTAX);
	free(sm);
	unit_fx_free(&fx);
}

/* One run with explain on: DKK_OK with the verdict and class of
 * signature 0, or the error. */
static int
oom_run(dkk_ctx *ctx, const char *m, enum dkk_verdict *verdict,
    enum dkk_class *cls)
{
	dkk_verifier *v;
	int rc;

	if ((rc = dkk_verifier_new(ctx, &with_explain, &v)) != DKK_OK)
		return rc;
	if ((rc = dkk_verifier_update(v, m, strlen(m))) == DKK_OK &&
	    (rc = dkk_verifier_wait(v)) == DKK_OK) {
		*verdict = dkk_verifier_verdict(v);
		*cls = dkk_verifier_explain(v, 0, NULL, NULL);
	}
	dkk_verifier_free(v);
	return rc;
}

/* Fail each allocation of a run in turn, on a message with a footer and
 * a list tag (both the body and the header repairs run): a clean
 * DKK_ENOMEM, or the verdict of a run without failures (fail) with the
 * right class or "internal", or temperror where the verifier itself
 * absorbed the failure; never a crash or (under ASan) a leak. */
static void
explain_out_of_memory(void)
{
	struct unit_fx fx;
	enum dkk_verdict verdict;
	enum dkk_class cls;
	char *sm, *t, *m;
	long total, n, internal = 0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(fx_init(&fx), DKK_OK);
	sm = signed_msg(&fx, DKK_CANON_SIMPLE, DKK_CANON_RELAXED, 0, msg);
	t = replace(sm, "Subject: ", "Subject: [football] ");
	m = concat(t, "footer\r\n");
	dkk_alloc_fail_at = LONG_MAX;
	rc = oom_run(fx.ctx, m, &verdict, &cls);
	total = LONG_MAX - dkk_alloc_fail_at;
	dkk_alloc_fail_at = 0;
	CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
	CU_ASSERT_EQUAL(verdict, DKK_FAIL);
	CU_ASSERT_EQUAL(cls, DKK_C_BODY_APPENDED);
	CU_ASSERT(total > 10);
	for (n = 1; n <= total + 1; n++) {
		dkk_alloc_fail_at = n;
		rc = oom_run(fx.ctx, m, &verdict, &cls);
		dkk_alloc_fail_at = 0;
		if (rc == DKK_ENOMEM)
			continue;
		CU_ASSERT_EQUAL(rc, DKK_OK);
		if (rc != DKK_OK)
			continue;
		if (verdict == DKK_FAIL) {
			CU_ASSERT(cls == DKK_C_BODY_APPENDED ||
			    cls == DKK_C_INTERNAL);
			internal += cls == DKK_C_INTERNAL;
		} else
			CU_ASSERT_EQUAL(verdict, DKK_TEMPERROR);
	}
	CU_ASSERT(internal > 0);
	free(m);
	free(t);
	free(sm);
	unit_fx_free(&fx);
}

static void
explain_class_names(void)
{
	CU_ASSERT_STRING_EQUAL(dkk_class_name(DKK_C_NONE), "none");
	CU_ASSERT_STRING_EQUAL(dkk_class_name(DKK_C_BODY_APPENDED),
	    "body-appended");
	CU_ASSERT_STRING_EQUAL(dkk_class_name(DKK_C_HEADER_UNKNOWN),
	    "header-unknown");
	CU_ASSERT_STRING_EQUAL(dkk_class_name(DKK_C_INTERNAL), "internal");
	CU_ASSERT_PTR_NULL(dkk_class_name((enum dkk_class)(DKK_C_INTERNAL +
	    1)));
	CU_ASSERT_EQUAL(dkk_verifier_explain(NULL, 0, NULL, NULL),
	    DKK_C_NONE);
}

static const struct unit_test explain_tests[] = {
	{ "explain_pass_is_none", explain_pass_is_none },
	{ "explain_footer_is_body_appended", explain_footer_is_body_appended },
	{ "explain_footer_after_empty_lines",
	    explain_footer_after_empty_lines },
	{ "explain_mime_footer_is_body_appended",
	    explain_mime_footer_is_body_appended },
	{ "explain_edit_is_body_changed", explain_edit_is_body_changed },
	{ "explain_body_length_is_body_changed",
	    explain_body_length_is_body_changed },
	{ "explain_list_tags_are_subject_tagged",
	    explain_list_tags_are_subject_tagged },
	{ "explain_added_fields_are_header_added",
	    explain_added_fields_are_header_added },
	{ "explain_z_names_changed_field", explain_z_names_changed_field },
	{ "explain_rewrites_are_header_changed",
	    explain_rewrites_are_header_changed },
	{ "explain_value_change_is_header_unknown",
	    explain_value_change_is_header_unknown },
	{ "explain_known_reasons", explain_known_reasons },
	{ "explain_out_of_memory", explain_out_of_memory },
	{ "explain_class_names", explain_class_names },
	{ NULL, NULL }
};

void
suite_explain(void)
{
	unit_suite("explain", explain_tests);
}
