/*
 * test_sign.c: the signer, RFC 6376 section 5 (core/dkim/sign.c).  Fields are
 * read back with the signature parser and checked by the verifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static const char msg[] =
    "Received: from a by b\r\n"
    "From: Joe <joe@example.com>\r\n"
    "X-Custom: not in the default list\r\n"
    "To: Suzie <suzie@example.net>\r\n"
    "Received: from c by d\r\n"
    "Subject: Is dinner ready?\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n";

/* Sign len bytes of m in chunks of chunk (0: at once) with flags; the
 * field, or NULL with *rc set. */
static char *
sign_chunked(dkk_ctx *ctx, const struct dkk_sign_opts *o, const char *m,
    size_t len, size_t chunk, unsigned flags, int *rc)
{
	dkk_signer *s;
	char *field = NULL;
	size_t off, n;

	if ((*rc = dkk_signer_new(ctx, o, &s)) != DKK_OK)
		return NULL;
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (off = 0; off < len && *rc == DKK_OK; off += n) {
		n = len - off < chunk ? len - off : chunk;
		*rc = dkk_signer_update(s, m + off, n);
	}
	if (*rc == DKK_OK)
		*rc = dkk_signer_final(s, flags, &field);
	dkk_signer_free(s);
	return field;
}

static char *
sign_field(struct unit_fx *fx, const struct dkk_sign_opts *o, const char *m)
{
	int rc;
	char *f = sign_chunked(fx->ctx, o, m, strlen(m), 0, 0, &rc);

	CU_ASSERT_EQUAL(rc, DKK_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	return f;
}

/* Parse a field the signer made; it must parse. */
static void
parse_field(const char *f, struct sig *sg)
{
	enum dkk_reason reason;
	struct buf why;

	buf_init(&why);
	if (sig_parse(sg, f, strlen(f), &reason, &why) != DKK_OK) {
		fprintf(stderr, "%s\n%s\n", f, why.p != NULL ? why.p : "");
		CU_FAIL("the signer's field does not parse");
	}
	buf_clear(&why);
}

/* Sign m and return h= joined with ":". */
static char *
h_of(struct unit_fx *fx, const struct dkk_sign_opts *o, const char *m)
{
	struct sig sg;
	struct buf h;
	char *f = sign_field(fx, o, m);
	size_t i;

	parse_field(f, &sg);
	buf_init(&h);
	for (i = 0; i < sg.nh; i++)
		buf_printf(&h, "%s%s", i > 0 ? ":" : "", sg.h[i]);
	sig_clear(&sg);
	free(f);
	return buf_take(&h);
}

static void
h_expect(struct unit_fx *fx, const struct dkk_sign_opts *o, const char *m,
    const char *want)
{
	char *h = h_of(fx, o, m);

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	if (strcmp(h, want) != 0) {
		fprintf(stderr, "h=%s, want %s\n", h, want);
		CU_FAIL("unexpected h=");
	}
	free(h);
}

/* How many times name occurs in the colon list h. */
static size_t
h_count(const char *h, const char *name)
{
	size_t n = 0, len = strlen(name);
	const char *p;

	for (p = h; p != NULL; p = strchr(p, ':') != NULL ?
	    strchr(p, ':') + 1 : NULL)
		if (strncmp(p, name, len) == 0 && (p[len] == ':' ||
		    p[len] == '\0'))
			n++;
	return n;
}

/* The default set: only the fields present, in the set's order, plus
 * From even when absent (RFC 6376 5.4: From MUST be signed), and From
 * always once more than it occurs (8.15). */
static void
sign_default_headers_present_plus_from(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	h_expect(&fx, &o, msg, "From:From:Subject:To");
	h_expect(&fx, &o, "To: a@example.net\r\nSubject: x\r\nTo: b\r\n\r\n",
	    "From:Subject:To:To");
	h_expect(&fx, &o, "X-Only: 1\r\n\r\nbody\r\n", "From");
	h_expect(&fx, &o, "date: x\r\nMIME-Version: 1.0\r\nFROM: a@b.example\r\n"
	    "\r\n", "From:From:Date:MIME-Version");
	unit_fx_free(&fx);
}

/* An explicit list is used as given, absent names included (that
 * protects them from being added); present names as often as they
 * occur, From once more. */
static void
sign_header_list_absent_names_included(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	o.headers = "From:X-Absent:Subject";
	h_expect(&fx, &o, msg, "From:From:X-Absent:Subject");
	o.headers = "From:Received";
	h_expect(&fx, &o, msg, "From:From:Received:Received");
	o.headers = "from:x-custom";
	h_expect(&fx, &o, msg, "from:from:x-custom");
	unit_fx_free(&fx);
}

static void
sign_header_list_bad_einval(void)
{
	static const char *const bad[] = {
		"To:Subject", "From::To", "From:", ":From", "From; To",
		"From: To", "", "From:x\001y", "From:X-\303\251t\303\251",
		"From:a;b", "From:x\177", NULL
	};
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	for (i = 0; bad[i] != NULL; i++) {
		o.headers = bad[i];
		s = NULL;
		CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
		CU_ASSERT_PTR_NULL(s);
		CU_ASSERT(strlen(dkk_ctx_error(fx.ctx)) > 0);
	}
	unit_fx_free(&fx);
}

/* Over-signing lists each name once more than it occurs, so that no
 * instance can be added (RFC 6376 8.15). */
static void
sign_oversign_adds_one_more(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *h;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.rsa, "rsa");
	o.oversign = 1;
	h = h_of(&fx, &o, msg);
	CU_ASSERT_EQUAL(h_count(h, "From"), 2);
	CU_ASSERT_EQUAL(h_count(h, "Subject"), 2);
	CU_ASSERT_EQUAL(h_count(h, "To"), 2);
	CU_ASSERT_EQUAL(h_count(h, "Date"), 1);
	CU_ASSERT_EQUAL(h_count(h, "X-Custom"), 0);
	free(h);
	o.headers = "From:Received:X-Absent:From";
	h_expect(&fx, &o, msg, "From:From:Received:Received:Received:X-Absent");
	unit_fx_free(&fx);
}

/* Candidate domains with a fixed key: the longest that covers From; the
 * if_present names are left out of h= when absent; the combinations that
 * make no sense are refused. */
static void
sign_candidates_and_if_present(void)
{
	static const char *const cands[] = { "example.com", "joe.example.com",
	    NULL };
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *h;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	o.domain = NULL;
	o.domains = cands;
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, msg, strlen(msg)), DKK_OK);
	CU_ASSERT_STRING_EQUAL(dkk_signer_domain(s), "example.com");
	dkk_signer_free(s);
	/* if_present: Date absent, Subject present */
	o = unit_opts(fx.ed, "ed");
	o.headers = "From:Date:Subject:Message-ID";
	o.if_present = "date:message-id";
	h = h_of(&fx, &o, msg);
	CU_ASSERT_STRING_EQUAL(h, "From:From:Subject");
	free(h);
	/* refused: both a domain and candidates, an identity with
	 * candidates, an empty list, a bad candidate, no key at all */
	o = unit_opts(fx.ed, "ed");
	o.domains = cands;
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o.domain = NULL;
	o.identity = "joe@example.com";
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o.identity = NULL;
	o.domains = cands + 2;
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o.domains = (const char *const[]){ "not..valid", NULL };
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o = unit_opts(NULL, "ed");
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	unit_fx_free(&fx);
}

/* Per-field modes: sign (absent ones listed once), sign only if present
 * (if_present), oversign (oversign_headers: once more than present, an
 * absent one once, named in headers or not); From always oversigned. */
static void
sign_field_modes(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *h;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.rsa, "rsa");
	o.headers = "From:Subject:To:Sender:List-Id:Date";
	o.if_present = "Sender:List-Id";
	o.oversign_headers = "subject:Reply-To:Received";
	h_expect(&fx, &o, msg, "From:From:Subject:Subject:To:Date:"
	    "Reply-To:Received:Received:Received");
	/* oversign wins over if_present: an absent field listed once */
	o.headers = "From:Sender";
	o.if_present = "Sender";
	o.oversign_headers = "Sender:sender";
	h_expect(&fx, &o, msg, "From:From:Sender");
	/* the default set, with two of its own and one outside it */
	o.headers = NULL;
	o.if_present = NULL;
	o.oversign_headers = "Subject:X-Custom:Cc";
	h = h_of(&fx, &o, msg);
	CU_ASSERT_EQUAL(h_count(h, "From"), 2);
	CU_ASSERT_EQUAL(h_count(h, "Subject"), 2);
	CU_ASSERT_EQUAL(h_count(h, "To"), 1);
	CU_ASSERT_EQUAL(h_count(h, "Cc"), 1);
	CU_ASSERT_EQUAL(h_count(h, "X-Custom"), 2);
	CU_ASSERT_EQUAL(h_count(h, "Received"), 0);
	free(h);
	o.oversign_headers = "Subject::To";
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	CU_ASSERT(strstr(dkk_ctx_error(fx.ctx), "oversign") != NULL);
	unit_fx_free(&fx);
}

/* An oversigned field added after signing breaks the signature; one
 * signed only as often as present does not (the verifier takes the
 * bottom instance, RFC 6376 5.4.2). */
static void
sign_oversigned_added_later_fails(void)
{
	static const char *const want[] = { "pass/ok",
	    "fail/signature_mismatch" };
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *sm, *forged;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	for (i = 0; i < 2; i++) {
		o = unit_opts(fx.rsa, "rsa");
		o.headers = "From:Subject:To";
		o.oversign_headers = i == 1 ? "Subject" : NULL;
		sm = unit_sign(&fx, &o, msg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
		CU_ASSERT(asprintf(&forged, "Subject: Act now\r\n%s", sm) > 0);
		v = unit_verify(fx.ctx, forged, strlen(forged), 0);
		CU_ASSERT_STRING_EQUAL(unit_result(v, 0), want[i]);
		dkk_verifier_free(v);
		free(forged);
		free(sm);
	}
	unit_fx_free(&fx);
}

/* RFC 6376 8.15: a From field added after signing breaks the signature,
 * whatever the header list. */
static void
sign_from_added_later_fails(void)
{
	static const char *const lists[] = { NULL, "From:Subject", NULL };
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *sm, *forged;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	for (i = 0; i < 2; i++) {
		o = unit_opts(fx.rsa, "rsa");
		o.headers = lists[i];
		sm = unit_sign(&fx, &o, msg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
		v = unit_verify(fx.ctx, sm, strlen(sm), 0);
		CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "pass/ok");
		dkk_verifier_free(v);
		CU_ASSERT(asprintf(&forged, "From: CEO <ceo@bank.example>\r\n%s",
		    sm) > 0);
		v = unit_verify(fx.ctx, forged, strlen(forged), 0);
		CU_ASSERT_STRING_EQUAL(unit_result(v, 0),
		    "fail/signature_mismatch");
		dkk_verifier_free(v);
		free(forged);
		free(sm);
	}
	unit_fx_free(&fx);
}

/* i= is written in dkim-quoted-printable (RFC 6376 2.11) and reads back
 * as given; the message verifies. */
static void
sign_identity_qp_encoded(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct sig sg;
	dkk_verifier *v;
	char *f, *m;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.rsa, "rsa");
	o.identity = "joe;x=y z@sub.example.com";
	f = sign_field(&fx, &o, msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(f, "i=joe=3Bx=3Dy=20z@sub.example.com;"));
	parse_field(f, &sg);
	CU_ASSERT_STRING_EQUAL(sg.i, o.identity);
	sig_clear(&sg);
	CU_ASSERT(asprintf(&m, "%s\r\n%s", f, msg) > 0);
	v = unit_verify(fx.ctx, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "pass/ok");
	CU_ASSERT_STRING_EQUAL(dkk_verifier_result(v, 0)->identity,
	    o.identity);
	dkk_verifier_free(v);
	free(m);
	free(f);
	unit_fx_free(&fx);
}

/* RFC 6376 3.5: the i= domain must be d= or below it. */
static void
sign_identity_outside_domain_einval(void)
{
	static const char *const bad[] = {
		"joe@example.org", "joe@notexample.com", "joe", "joe@com",
		"a@sub..example.com", "a@.example.com", "a@-x.example.com",
		"a@sub_x.example.com", "a@x\001.example.com", NULL
	};
	static const char *const good[] = {
		"@example.com", "joe@SUB.Example.COM", "joe@example.com", NULL
	};
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	for (i = 0; bad[i] != NULL; i++) {
		o.identity = bad[i];
		CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	}
	for (i = 0; good[i] != NULL; i++) {
		o.identity = good[i];
		CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
		dkk_signer_free(s);
	}
	unit_fx_free(&fx);
}

/* Every line of the field has at most 78 characters (RFC 5322 2.1.1),
 * folds are CRLF + WSP, and the field ends without a line end. */
static void
field_lines_expect(const char *f, const char *eol)
{
	const char *line, *next;
	size_t len, el = strlen(eol);

	CU_ASSERT(strncmp(f, "DKIM-Signature: v=1; a=", 23) == 0);
	len = strlen(f);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT(f[len - 1] != '\n' && f[len - 1] != '\r' &&
	    f[len - 1] != ' ' && f[len - 1] != '\t');
	for (line = f; line != NULL; line = next) {
		next = strstr(line, eol);
		len = next != NULL ? (size_t)(next - line) : strlen(line);
		if (len > 78) {
			fprintf(stderr, "line of %zu: %.*s\n", len, (int)len,
			    line);
			CU_FAIL("field line longer than 78");
		}
		CU_ASSERT_PTR_NULL(memchr(line, '\n', len));
		CU_ASSERT_PTR_NULL(memchr(line, '\r', len));
		if (next != NULL) {
			next += el;
			CU_ASSERT(*next == '\t');
		}
	}
}

static void
sign_folding_at_most_78(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *f;
	int k;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	for (k = 0; k < 2; k++) {
		o = unit_opts(k ? fx.ed : fx.rsa, k ? "ed" : "rsa");
		o.oversign = 1;
		o.identity = "someone.with.a.longish.name@mail.example.com";
		o.body_length = 1;
		o.expire = 86400;
		f = sign_field(&fx, &o, msg);
		field_lines_expect(f, "\r\n");
		free(f);
		o.headers = "From:Subject:Date:To:Cc:Reply-To:Message-ID:"
		    "In-Reply-To:References:List-Id:List-Unsubscribe:"
		    "Content-Type:Content-Transfer-Encoding:MIME-Version";
		f = sign_field(&fx, &o, msg);
		field_lines_expect(f, "\r\n");
		free(f);
	}
	unit_fx_free(&fx);
}

/* DKK_FIELD_LF (for files and LF spools): no CR anywhere, and the field
 * still verifies above an LF message. */
static void
sign_eol_lf_variant(void)
{
	static const char lfmsg[] = "From: joe@example.com\nSubject: x\n\n"
	    "body\n";
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_verifier *v;
	char *f, *f2, *m;
	int rc;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.rsa, "rsa");
	f = sign_chunked(fx.ctx, &o, lfmsg, strlen(lfmsg), 0, DKK_FIELD_LF,
	    &rc);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NULL(strchr(f, '\r'));
	CU_ASSERT_PTR_NOT_NULL(strchr(f, '\n'));
	field_lines_expect(f, "\n");
	CU_ASSERT(asprintf(&m, "%s\n%s", f, lfmsg) > 0);
	v = unit_verify(fx.ctx, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "pass/ok");
	dkk_verifier_free(v);
	free(m);
	/* 0 is CRLF; the A-R-only flags are refused */
	CU_ASSERT_PTR_NULL(sign_chunked(fx.ctx, &o, lfmsg, strlen(lfmsg), 0,
	    DKK_FIELD_ONE_LINE, &rc));
	CU_ASSERT_EQUAL(rc, DKK_EINVAL);
	f2 = sign_chunked(fx.ctx, &o, lfmsg, strlen(lfmsg), 0, 0, &rc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f2);
	CU_ASSERT_PTR_NOT_NULL(strstr(f2, "\r\n\t"));
	field_lines_expect(f2, "\r\n");
	free(f2);
	free(f);
	unit_fx_free(&fx);
}

static int64_t
l_of(struct unit_fx *fx, enum dkk_canon c, const char *m)
{
	struct dkk_sign_opts o = unit_opts(fx->ed, "ed");
	struct sig sg;
	int64_t l;
	char *f;

	o.body_canon = c;
	o.body_length = 1;
	f = sign_field(fx, &o, m);
	parse_field(f, &sg);
	l = sg.l;
	sig_clear(&sg);
	free(f);
	return l;
}

/* l= is the canonical body length (RFC 6376 3.5). */
static void
sign_body_length_tag(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct sig sg;
	char *f;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	CU_ASSERT_EQUAL(l_of(&fx, DKK_CANON_RELAXED,
	    "From: a\r\n\r\nHi  there \r\n\r\n"), 10);
	CU_ASSERT_EQUAL(l_of(&fx, DKK_CANON_SIMPLE,
	    "From: a\r\n\r\nHi  there \r\n\r\n"), 12);
	CU_ASSERT_EQUAL(l_of(&fx, DKK_CANON_SIMPLE, "From: a\r\n\r\n"), 2);
	CU_ASSERT_EQUAL(l_of(&fx, DKK_CANON_RELAXED, "From: a\r\n\r\n"), 0);
	CU_ASSERT_EQUAL(l_of(&fx, DKK_CANON_SIMPLE, "From: a\r\n\r\nx"), 3);
	/* without the option: no l= */
	o = unit_opts(fx.ed, "ed");
	f = sign_field(&fx, &o, msg);
	parse_field(f, &sg);
	CU_ASSERT_EQUAL(sg.l, -1);
	CU_ASSERT_PTR_NULL(strstr(f, " l="));
	sig_clear(&sg);
	free(f);
	unit_fx_free(&fx);
}

/* t= is the clock, x= is t= plus the expiry. */
static void
sign_timestamp_and_expiry(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct sig sg;
	dkk_signer *s;
	char *f;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	fx.now = 1528637909;
	o = unit_opts(fx.rsa, "rsa");
	o.expire = 3600;
	f = sign_field(&fx, &o, msg);
	parse_field(f, &sg);
	CU_ASSERT_EQUAL(sg.t, 1528637909);
	CU_ASSERT_EQUAL(sg.x, 1528637909 + 3600);
	sig_clear(&sg);
	free(f);
	o.expire = 0;
	f = sign_field(&fx, &o, msg);
	parse_field(f, &sg);
	CU_ASSERT_EQUAL(sg.t, 1528637909);
	CU_ASSERT_EQUAL(sg.x, -1);
	sig_clear(&sg);
	free(f);
	o.expire = -1;
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	unit_fx_free(&fx);
}

/* a= follows the key, c= the options. */
static void
sign_algorithm_and_canon_tags(void)
{
	static const char *const cwant[] = {
		" c=simple/simple;", " c=simple/relaxed;",
		" c=relaxed/simple;", " c=relaxed/relaxed;"
	};
	struct unit_fx fx;
	struct dkk_sign_opts o;
	struct sig sg;
	char *f;
	int hc, bc;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	for (hc = 0; hc < 2; hc++)
		for (bc = 0; bc < 2; bc++) {
			o = unit_opts(hc ? fx.ed : fx.rsa, hc ? "ed" : "rsa");
			o.header_canon = hc;
			o.body_canon = bc;
			f = sign_field(&fx, &o, msg);
			CU_ASSERT_PTR_NOT_NULL(strstr(f, cwant[hc * 2 + bc]));
			CU_ASSERT_PTR_NOT_NULL(strstr(f, hc ? " a=ed25519-sha256;" :
			    " a=rsa-sha256;"));
			parse_field(f, &sg);
			CU_ASSERT_EQUAL(sg.hcanon, (enum dkk_canon)hc);
			CU_ASSERT_EQUAL(sg.bcanon, (enum dkk_canon)bc);
			CU_ASSERT_STRING_EQUAL(sg.d, "example.com");
			CU_ASSERT_STRING_EQUAL(sg.s, hc ? "ed" : "rsa");
			sig_clear(&sg);
			free(f);
		}
	unit_fx_free(&fx);
}

/* bh= for the RFC 6376 / RFC 8463 example body: simple over one space
 * and relaxed over two give the hash printed in both RFCs. */
static void
sign_body_hash_rfc_example(void)
{
	static const char one[] = "From: joe@example.com\r\n\r\nHi.\r\n\r\n"
	    "We lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n";
	static const char two[] = "From: joe@example.com\r\n\r\nHi.\r\n\r\n"
	    "We lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
	static const char bh[] = "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *f;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	o.body_canon = DKK_CANON_SIMPLE;
	f = sign_field(&fx, &o, one);
	CU_ASSERT_PTR_NOT_NULL(strstr(f, bh));
	free(f);
	f = sign_field(&fx, &o, two);
	CU_ASSERT_PTR_NULL(strstr(f, bh));
	free(f);
	o.body_canon = DKK_CANON_RELAXED;
	f = sign_field(&fx, &o, two);
	CU_ASSERT_PTR_NOT_NULL(strstr(f, bh));
	free(f);
	unit_fx_free(&fx);
}

/* Ed25519 signatures are deterministic (RFC 8032): with a fixed clock
 * the field is the same however the message is cut into chunks. */
static void
sign_ed25519_deterministic_across_chunkings(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *whole, *f;
	size_t len = strlen(msg), k;
	int rc, c;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	for (c = 0; c < 2; c++) {
		o = unit_opts(fx.ed, "ed");
		o.header_canon = o.body_canon = c;
		o.body_length = 1;
		whole = sign_chunked(fx.ctx, &o, msg, len, 0, 0, &rc);
		CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
		f = sign_chunked(fx.ctx, &o, msg, len, 1, 0, &rc);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_STRING_EQUAL(f, whole);
		free(f);
		for (k = 0; k <= len; k++) {
			dkk_signer *s;

			CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s),
			    DKK_OK);
			CU_ASSERT_EQUAL(dkk_signer_update(s, msg, k), DKK_OK);
			CU_ASSERT_EQUAL(dkk_signer_update(s, msg + k, len - k),
			    DKK_OK);
			CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &f), DKK_OK);
			dkk_signer_free(s);
			if (f == NULL || strcmp(f, whole) != 0) {
				fprintf(stderr, "split at %zu differs\n", k);
				CU_FAIL("chunking changes the signature");
			}
			free(f);
		}
		/* and signing again gives the same field */
		f = sign_chunked(fx.ctx, &o, msg, len, 0, 0, &rc);
		CU_ASSERT_STRING_EQUAL(f, whole);
		free(f);
		free(whole);
	}
	unit_fx_free(&fx);
}

static void
sign_api_misuse(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *f;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	CU_ASSERT_EQUAL(dkk_signer_new(NULL, &o, &s), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, NULL, &s), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, NULL), DKK_EINVAL);
	o.key = NULL;
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o = unit_opts(fx.ed, "ed");
	o.domain = "com";
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o.domain = NULL;
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o = unit_opts(fx.ed, "bad selector");
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o = unit_opts(fx.ed, "ed");
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, NULL, 1), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_signer_update(s, msg, strlen(msg)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, NULL), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &f), DKK_OK);
	free(f);
	CU_ASSERT_EQUAL(dkk_signer_update(s, "x", 1), DKK_ESTATE);
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &f), DKK_ESTATE);
	dkk_signer_free(s);
	dkk_signer_free(NULL);
	unit_fx_free(&fx);
}

static void
sign_header_limit_elimit(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *f = NULL;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	CU_ASSERT_EQUAL(dkk_ctx_set_limit(fx.ctx, DKK_LIMIT_HEADER_BYTES, 32),
	    DKK_OK);
	o = unit_opts(fx.ed, "ed");
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, msg, strlen(msg)), DKK_ELIMIT);
	CU_ASSERT_EQUAL(dkk_signer_update(s, "x", 1), DKK_ELIMIT);
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &f), DKK_ELIMIT);
	CU_ASSERT_PTR_NULL(f);
	dkk_signer_free(s);
	unit_fx_free(&fx);
}

/* RFC 5322 2.2.3: a folded line continues the field above it.  A header
 * block that begins with one has no such field: the DKIM-Signature put on
 * top would take the line in, so the signer refuses, in whichever chunk
 * the header block ends, with a sentence of this call in the context;
 * later calls keep the error. */
static void
sign_refuses_folded_first_line(void)
{
	static const char stray[] = " stray\r\nFrom: joe@example.com\r\n"
	    "\r\nHi.\r\n";
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *f = NULL;
	size_t cut;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	for (cut = 1; cut < sizeof(stray) - 1; cut += 7) {
		CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
		if (dkk_signer_update(s, stray, cut) == DKK_OK)
			CU_ASSERT_EQUAL(dkk_signer_update(s, stray + cut,
			    sizeof(stray) - 1 - cut), DKK_ESYNTAX);
		CU_ASSERT_PTR_NOT_NULL(strstr(dkk_ctx_error(fx.ctx),
		    "begins with a folded line"));
		CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &f), DKK_ESYNTAX);
		CU_ASSERT_PTR_NULL(f);
		CU_ASSERT_STRING_NOT_EQUAL(dkk_ctx_error(fx.ctx), "");
		dkk_signer_free(s);
	}
	unit_fx_free(&fx);
}

/* dkimkit.h lets data be NULL when len is 0, before the header block
 * and after it: nothing is taken, and the signature is the one made
 * without those calls (under UBSan: no arithmetic on the null pointer). */
static void
sign_update_null_empty(void)
{
	static const char m[] = "From: a@example.com\r\n\r\nbody\r\n";
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *field = NULL, *plain;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	o = unit_opts(fx.ed, "ed");
	plain = sign_field(&fx, &o, m);
	CU_ASSERT_EQUAL_FATAL(dkk_signer_new(fx.ctx, &o, &s), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, NULL, 0), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, m, 21), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, NULL, 0), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, m + 21, strlen(m) - 21), DKK_OK);
	CU_ASSERT_EQUAL(dkk_signer_update(s, NULL, 1), DKK_EINVAL);
	CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &field), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(field);
	if (field != NULL)
		CU_ASSERT_STRING_EQUAL(field, plain);
	free(field);
	free(plain);
	dkk_signer_free(s);
	unit_fx_free(&fx);
}

static const struct unit_test sign_tests[] = {
	{ "sign_update_null_empty", sign_update_null_empty },
	{ "sign_refuses_folded_first_line", sign_refuses_folded_first_line },
	{ "sign_default_headers_present_plus_from",
	    sign_default_headers_present_plus_from },
	{ "sign_header_list_absent_names_included",
	    sign_header_list_absent_names_included },
	{ "sign_header_list_bad_einval", sign_header_list_bad_einval },
	{ "sign_oversign_adds_one_more", sign_oversign_adds_one_more },
	{ "sign_field_modes", sign_field_modes },
	{ "sign_oversigned_added_later_fails",
	    sign_oversigned_added_later_fails },
	{ "sign_from_added_later_fails", sign_from_added_later_fails },
	{ "sign_candidates_and_if_present",
	    sign_candidates_and_if_present },
	{ "sign_identity_qp_encoded", sign_identity_qp_encoded },
	{ "sign_identity_outside_domain_einval",
	    sign_identity_outside_domain_einval },
	{ "sign_folding_at_most_78", sign_folding_at_most_78 },
	{ "sign_eol_lf_variant", sign_eol_lf_variant },
	{ "sign_body_length_tag", sign_body_length_tag },
	{ "sign_timestamp_and_expiry", sign_timestamp_and_expiry },
	{ "sign_algorithm_and_canon_tags", sign_algorithm_and_canon_tags },
	{ "sign_body_hash_rfc_example", sign_body_hash_rfc_example },
	{ "sign_ed25519_deterministic_across_chunkings",
	    sign_ed25519_deterministic_across_chunkings },
	{ "sign_api_misuse", sign_api_misuse },
	{ "sign_header_limit_elimit", sign_header_limit_elimit },
	{ NULL, NULL }
};

void
suite_sign(void)
{
	unit_suite("sign", sign_tests);
}
