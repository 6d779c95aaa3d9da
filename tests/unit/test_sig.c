/*
 * test_sig.c: the DKIM-Signature field, RFC 6376 3.5 and the checks of
 * 6.1.1 (core/dkim/sig.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define BH "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

/* A valid field's tags, one per entry, so tests can drop or swap one. */
static const char *const base_tags[] = {
	"v=1", "a=rsa-sha256", "d=example.com", "s=sel", "h=From:To",
	"bh=" BH, "b=dGVzdA==", NULL
};

struct sp {
	struct sig sg;
	enum dkk_reason reason;
	struct buf why;
	int rc;
};

static void
sp_parse_len(struct sp *p, const char *field, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->reason = DKK_R_OK;
	buf_init(&p->why);
	p->rc = sig_parse(&p->sg, field, len, &p->reason, &p->why);
}

static void
sp_parse(struct sp *p, const char *field)
{
	sp_parse_len(p, field, strlen(field));
}

static void
sp_clear(struct sp *p)
{
	sig_clear(&p->sg);
	buf_clear(&p->why);
}

/* The base field with the tag named drop left out and extra appended. */
static char *
field_with(const char *drop, const char *extra)
{
	struct buf b;
	size_t i, dl = drop != NULL ? strlen(drop) : 0;

	buf_init(&b);
	buf_adds(&b, "DKIM-Signature:");
	for (i = 0; base_tags[i] != NULL; i++) {
		if (drop != NULL && strncmp(base_tags[i], drop, dl) == 0 &&
		    base_tags[i][dl] == '=')
			continue;
		buf_printf(&b, " %s;", base_tags[i]);
	}
	if (extra != NULL)
		buf_printf(&b, " %s", extra);
	return buf_take(&b);
}

/* Parse the base field minus drop plus extra; assert rc and reason. */
static void
sp_expect(const char *drop, const char *extra, int rc, enum dkk_reason r)
{
	struct sp p;
	char *f = field_with(drop, extra);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	sp_parse(&p, f);
	if (p.rc != rc || (rc != DKK_OK && p.reason != r)) {
		fprintf(stderr, "\"%s\": rc %d reason %s (%s), want %d %s\n", f,
		    p.rc, dkk_reason_name(p.reason), p.why.p ? p.why.p : "",
		    rc, dkk_reason_name(r));
		CU_FAIL("unexpected parse result");
	}
	if (rc != DKK_OK)
		CU_ASSERT(p.why.len > 0);
	sp_clear(&p);
	free(f);
}

#define sp_ok(drop, extra) sp_expect(drop, extra, DKK_OK, DKK_R_OK)
#define sp_bad(drop, extra, r) sp_expect(drop, extra, DKK_ESYNTAX, r)

static void
sig_base_field_parses(void)
{
	struct sp p;
	char *f = field_with(NULL, NULL);

	sp_parse(&p, f);
	CU_ASSERT_EQUAL_FATAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.alg, ALG_RSA_SHA256);
	CU_ASSERT_STRING_EQUAL(p.sg.a, "rsa-sha256");
	CU_ASSERT_STRING_EQUAL(p.sg.d, "example.com");
	CU_ASSERT_STRING_EQUAL(p.sg.s, "sel");
	/* 3.5: i= defaults to "@" d= */
	CU_ASSERT_STRING_EQUAL(p.sg.i, "@example.com");
	CU_ASSERT_STRING_EQUAL(p.sg.b64, "dGVzdA==");
	CU_ASSERT_EQUAL(p.sg.blen, 4);
	CU_ASSERT(memcmp(p.sg.b, "test", 4) == 0);
	CU_ASSERT_EQUAL(p.sg.bhlen, 32);
	/* 3.5: c= defaults to simple/simple */
	CU_ASSERT_EQUAL(p.sg.hcanon, DKK_CANON_SIMPLE);
	CU_ASSERT_EQUAL(p.sg.bcanon, DKK_CANON_SIMPLE);
	CU_ASSERT_EQUAL_FATAL(p.sg.nh, 2);
	CU_ASSERT_STRING_EQUAL(p.sg.h[0], "From");
	CU_ASSERT_STRING_EQUAL(p.sg.h[1], "To");
	CU_ASSERT_EQUAL(p.sg.t, -1);
	CU_ASSERT_EQUAL(p.sg.x, -1);
	CU_ASSERT_EQUAL(p.sg.l, -1);
	sp_clear(&p);
	free(f);
}

/* 6.1.1: a missing required tag makes the signature unusable. */
static void
sig_required_tag_missing(void)
{
	static const char *const req[] = { "a", "b", "bh", "d", "h", "s" };
	size_t i;

	for (i = 0; i < 6; i++)
		sp_bad(req[i], NULL, DKK_R_MISSING_TAG);
}

/* v= is required too (3.5; 6.1.1 "signature missing required tag"). */
static void
sig_version_missing(void)
{
	sp_bad("v", NULL, DKK_R_MISSING_TAG);
}

/* 6.1.1: v= other than "1" is an incompatible version. */
static void
sig_version_other(void)
{
	sp_bad("v", "v=2", DKK_R_VERSION);
	sp_bad("v", "v=0.5", DKK_R_VERSION);
	sp_bad("v", "v=", DKK_R_VERSION);
	sp_bad("v", "v=1.0", DKK_R_VERSION);
	sp_ok("v", "v= 1 ");
}

static void
sig_algorithm(void)
{
	struct sp p;
	char *f = field_with("a", "a=ed25519-sha256");

	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.alg, ALG_ED25519_SHA256);
	sp_clear(&p);
	free(f);
	f = field_with("a", "a=rsa-sha1");
	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.alg, ALG_RSA_SHA1);
	sp_clear(&p);
	free(f);
}

/* An unknown a= is unusable, but d=, s=, a= stay known for reporting. */
static void
sig_algorithm_unknown(void)
{
	struct sp p;
	char *f = field_with("a", "a=rsa-sha512");

	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_ESYNTAX);
	CU_ASSERT_EQUAL(p.reason, DKK_R_ALGORITHM);
	CU_ASSERT_STRING_EQUAL(p.sg.a, "rsa-sha512");
	CU_ASSERT_STRING_EQUAL(p.sg.d, "example.com");
	CU_ASSERT_STRING_EQUAL(p.sg.s, "sel");
	sp_clear(&p);
	free(f);
	/* 3.2: values are case-sensitive unless the tag says otherwise */
	sp_bad("a", "a=RSA-SHA256", DKK_R_ALGORITHM);
	sp_bad("a", "a=", DKK_R_ALGORITHM);
}

static void
sp_expect_canon(const char *c, enum dkk_canon hc, enum dkk_canon bc)
{
	struct sp p;
	char *f = field_with(NULL, c);

	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.hcanon, hc);
	CU_ASSERT_EQUAL(p.sg.bcanon, bc);
	sp_clear(&p);
	free(f);
}

/* 3.5: c= is header/body; a single word is the header's, body simple. */
static void
sig_canon_variants(void)
{
	sp_expect_canon("c=simple/simple", DKK_CANON_SIMPLE, DKK_CANON_SIMPLE);
	sp_expect_canon("c=relaxed/relaxed", DKK_CANON_RELAXED,
	    DKK_CANON_RELAXED);
	sp_expect_canon("c=simple/relaxed", DKK_CANON_SIMPLE,
	    DKK_CANON_RELAXED);
	sp_expect_canon("c=relaxed/simple", DKK_CANON_RELAXED,
	    DKK_CANON_SIMPLE);
	sp_expect_canon("c=relaxed", DKK_CANON_RELAXED, DKK_CANON_SIMPLE);
	sp_expect_canon("c=simple", DKK_CANON_SIMPLE, DKK_CANON_SIMPLE);
}

/* dkk_canon_parse: the same words for every host's setting. */
static void
sig_canon_parse_api(void)
{
	static const char *const bad[] = {
		"", "foo", "relaxed/", "/relaxed", "Relaxed", "relaxed/foo",
		"relaxed/relaxed/x", "relaxed ", NULL
	};
	enum dkk_canon h = DKK_CANON_RELAXED, b = DKK_CANON_RELAXED;
	size_t i;

	CU_ASSERT_EQUAL(dkk_canon_parse("simple/relaxed", &h, &b), DKK_OK);
	CU_ASSERT_EQUAL(h, DKK_CANON_SIMPLE);
	CU_ASSERT_EQUAL(b, DKK_CANON_RELAXED);
	CU_ASSERT_EQUAL(dkk_canon_parse("relaxed", &h, &b), DKK_OK);
	CU_ASSERT_EQUAL(h, DKK_CANON_RELAXED);
	CU_ASSERT_EQUAL(b, DKK_CANON_SIMPLE);
	for (i = 0; bad[i] != NULL; i++) {
		CU_ASSERT_EQUAL(dkk_canon_parse(bad[i], &h, &b), DKK_EINVAL);
		CU_ASSERT_EQUAL(h, DKK_CANON_RELAXED);
		CU_ASSERT_EQUAL(b, DKK_CANON_SIMPLE);
	}
	CU_ASSERT_EQUAL(dkk_canon_parse(NULL, &h, &b), DKK_EINVAL);
}

static void
sig_canon_unknown(void)
{
	sp_bad(NULL, "c=foo", DKK_R_CANON);
	sp_bad(NULL, "c=relaxed/foo", DKK_R_CANON);
	sp_bad(NULL, "c=relaxed/", DKK_R_CANON);
	sp_bad(NULL, "c=/relaxed", DKK_R_CANON);
	sp_bad(NULL, "c=relaxed/relaxed/relaxed", DKK_R_CANON);
	sp_bad(NULL, "c=Relaxed", DKK_R_CANON);
	sp_bad(NULL, "c=", DKK_R_CANON);
}

/* 3.5 and 6.1.1: the i= domain must be d= or a subdomain of it. */
static void
sig_identity_outside_domain(void)
{
	sp_bad(NULL, "i=joe@example.org", DKK_R_IDENTITY);
	sp_bad(NULL, "i=joe@notexample.com", DKK_R_IDENTITY);
	sp_bad(NULL, "i=@com", DKK_R_BAD_TAG);
	sp_bad(NULL, "i=@", DKK_R_BAD_TAG);
	sp_bad(NULL, "i=joe", DKK_R_BAD_TAG);
}

static void
sp_expect_identity(const char *tag, const char *want)
{
	struct sp p;
	char *f = field_with(NULL, tag);

	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_OK);
	if (p.rc == DKK_OK)
		CU_ASSERT_STRING_EQUAL(p.sg.i, want);
	sp_clear(&p);
	free(f);
}

static void
sig_identity_subdomain_ok(void)
{
	sp_expect_identity("i=joe@mail.example.com", "joe@mail.example.com");
	sp_expect_identity("i=@a.b.example.com", "@a.b.example.com");
	sp_expect_identity("i=Joe@EXAMPLE.COM", "Joe@EXAMPLE.COM");
	sp_expect_identity("i=@example.com", "@example.com");
}

/* i= is dkim-quoted-printable (2.11). */
static void
sig_identity_qp_escapes(void)
{
	sp_expect_identity("i=joe=3Bsmith@example.com", "joe;smith@example.com");
	sp_expect_identity("i=joe=2Bx=40y@example.com", "joe+x@y@example.com");
	sp_expect_identity("i=j o\r\n e@example.com", "joe@example.com");
	sp_bad(NULL, "i=joe=ZZ@example.com", DKK_R_BAD_TAG);
	sp_bad(NULL, "i=joe@example.com=", DKK_R_BAD_TAG);
}

/* 5.4 and 6.1.1: h= must include From (compared case-insensitively). */
static void
sig_h_without_from(void)
{
	struct sp p;
	char *f;

	sp_bad("h", "h=To:Subject", DKK_R_FROM_UNSIGNED);
	sp_bad("h", "h=From-X:To", DKK_R_FROM_UNSIGNED);
	sp_ok("h", "h=from");
	sp_ok("h", "h=To:FROM");
	f = field_with("h", "h=To:FROM");
	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_OK);
	CU_ASSERT_STRING_EQUAL(p.sg.h[1], "FROM");
	sp_clear(&p);
	free(f);
}

/* FWS around the colons of h= (RFC 8463 A.3 writes "from : to :"). */
static void
sig_h_with_fws(void)
{
	struct sp p;
	char *f = field_with("h", "h= from : to :\r\n\tsubject\t:date ");

	sp_parse(&p, f);
	CU_ASSERT_EQUAL_FATAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL_FATAL(p.sg.nh, 4);
	CU_ASSERT_STRING_EQUAL(p.sg.h[0], "from");
	CU_ASSERT_STRING_EQUAL(p.sg.h[1], "to");
	CU_ASSERT_STRING_EQUAL(p.sg.h[2], "subject");
	CU_ASSERT_STRING_EQUAL(p.sg.h[3], "date");
	sp_clear(&p);
	free(f);
}

static void
sig_h_malformed(void)
{
	sp_bad("h", "h=From::To", DKK_R_BAD_TAG);
	sp_bad("h", "h=From:", DKK_R_BAD_TAG);
	sp_bad("h", "h=:From", DKK_R_BAD_TAG);
	sp_bad("h", "h=", DKK_R_BAD_TAG);
	sp_bad("h", "h=From To", DKK_R_BAD_TAG);
}

/* 3.5: q= must offer dns/txt; other methods are ignored. */
static void
sig_q_methods(void)
{
	sp_ok(NULL, "q=dns/txt");
	sp_ok(NULL, "q= foo/bar : dns/txt ");
	sp_ok(NULL, "q=dns/txt:x-other");
	sp_bad(NULL, "q=dns", DKK_R_QUERY);
	sp_bad(NULL, "q=foo/bar", DKK_R_QUERY);
	sp_bad(NULL, "q=dns/txtx", DKK_R_QUERY);
	sp_bad(NULL, "q=", DKK_R_QUERY);
}

static void
sp_expect_l(const char *tag, int64_t want)
{
	struct sp p;
	char *f = field_with(NULL, tag);

	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.l, want);
	sp_clear(&p);
	free(f);
}

/* 3.5: sig-l-tag = 1*76DIGIT; values past int64 saturate. */
static void
sig_body_length(void)
{
	char tag[100];

	sp_expect_l("l=0", 0);
	sp_expect_l("l=1234", 1234);
	sp_expect_l("l=9223372036854775807", INT64_MAX);
	sp_expect_l("l=9223372036854775808", INT64_MAX);
	memset(tag, '9', sizeof(tag));
	memcpy(tag, "l=", 2);
	tag[2 + 76] = '\0';
	sp_expect_l(tag, INT64_MAX);
	tag[2 + 76] = '9';
	tag[2 + 77] = '\0';
	sp_bad(NULL, tag, DKK_R_BAD_TAG);
	sp_bad(NULL, "l=", DKK_R_BAD_TAG);
	sp_bad(NULL, "l=-1", DKK_R_BAD_TAG);
	sp_bad(NULL, "l=1e3", DKK_R_BAD_TAG);
}

static void
sig_timestamps(void)
{
	struct sp p;
	char *f = field_with(NULL, "x=1700000100; t=1700000000");

	sp_parse(&p, f);
	CU_ASSERT_EQUAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.t, 1700000000);
	CU_ASSERT_EQUAL(p.sg.x, 1700000100);
	sp_clear(&p);
	free(f);
	sp_ok(NULL, "x=5");
	sp_ok(NULL, "t=999999999999");
	sp_bad(NULL, "t=1000000000000", DKK_R_BAD_TAG);
	sp_bad(NULL, "t=12a", DKK_R_BAD_TAG);
	sp_bad(NULL, "x=", DKK_R_BAD_TAG);
}

/* 3.5: x= must be greater than t=, whatever the order of the tags. */
static void
sig_expiry_not_after_timestamp(void)
{
	sp_bad(NULL, "t=100; x=100", DKK_R_TIMESTAMPS);
	sp_bad(NULL, "t=100; x=99", DKK_R_TIMESTAMPS);
	sp_bad(NULL, "x=99; t=100", DKK_R_TIMESTAMPS);
	sp_ok(NULL, "x=101; t=100");
}

/* 3.2: unknown tags are ignored. */
static void
sig_unknown_tags_ignored(void)
{
	sp_ok(NULL, "foo=bar; X=anything at all; zz9=");
}

/* 3.2: a duplicate tag invalidates the whole list. */
static void
sig_duplicate_tag(void)
{
	sp_bad(NULL, "d=example.com", DKK_R_DUP_TAG);
	sp_bad(NULL, "foo=1; foo=2", DKK_R_DUP_TAG);
}

static void
sig_b_garbage(void)
{
	sp_bad("b", "b=dGVz!A==", DKK_R_BAD_TAG);
	sp_bad("b", "b=", DKK_R_BAD_TAG);
	sp_bad("b", "b=dGVzdA===", DKK_R_BAD_TAG);
	sp_bad("bh", "bh=not base64!", DKK_R_BAD_TAG);
	sp_bad("bh", "bh=", DKK_R_BAD_TAG);
}

/* b= and bh= may hold FWS (3.5); the reported b= has none. */
static void
sig_b_with_fws(void)
{
	struct sp p;
	char *f = field_with("b", "b= dG\r\n\tVz dA\r\n =\t=");

	sp_parse(&p, f);
	CU_ASSERT_EQUAL_FATAL(p.rc, DKK_OK);
	CU_ASSERT_STRING_EQUAL(p.sg.b64, "dGVzdA==");
	CU_ASSERT_EQUAL(p.sg.blen, 4);
	sp_clear(&p);
	free(f);
}

/* 3.7: the header hash covers the field with the value of b= deleted,
 * surrounding whitespace included, and b= itself kept. */
static void
sig_unsigned_field_drops_b_value(void)
{
	static const char field[] = "DKIM-Signature: v=1; a=rsa-sha256; "
	    "d=example.com; s=sel; b = \r\n\tdGVz\r\n dA== ; h=From; "
	    "bh=" BH;
	static const char want[] = "DKIM-Signature: v=1; a=rsa-sha256; "
	    "d=example.com; s=sel; b =; h=From; bh=" BH;
	struct sp p;

	sp_parse(&p, field);
	CU_ASSERT_EQUAL_FATAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.unsigned_len, strlen(want));
	CU_ASSERT_STRING_EQUAL(p.sg.unsigned_field, want);
	sp_clear(&p);
}

/* b= last, folded, with trailing FWS: the field ends at "b=". */
static void
sig_unsigned_field_b_last(void)
{
	static const char field[] = "DKIM-Signature: v=1; a=rsa-sha256;\r\n"
	    "\td=example.com; s=sel; h=From; bh=" BH ";\r\n\tb=dGVz\r\n\t"
	    "dA== \r\n ";
	static const char want[] = "DKIM-Signature: v=1; a=rsa-sha256;\r\n"
	    "\td=example.com; s=sel; h=From; bh=" BH ";\r\n\tb=";
	struct sp p;

	sp_parse(&p, field);
	CU_ASSERT_EQUAL_FATAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.unsigned_len, strlen(want));
	CU_ASSERT_STRING_EQUAL(p.sg.unsigned_field, want);
	sp_clear(&p);
}

/* "bh=" is not "b=": only the b= value is removed. */
static void
sig_unsigned_field_keeps_bh(void)
{
	static const char field[] = "DKIM-Signature: bh=" BH "; b=dGVzdA==;"
	    " v=1; a=rsa-sha256; d=example.com; s=sel; h=From";
	static const char want[] = "DKIM-Signature: bh=" BH "; b=;"
	    " v=1; a=rsa-sha256; d=example.com; s=sel; h=From";
	struct sp p;

	sp_parse(&p, field);
	CU_ASSERT_EQUAL_FATAL(p.rc, DKK_OK);
	CU_ASSERT_STRING_EQUAL(p.sg.unsigned_field, want);
	sp_clear(&p);
}

/* d= must be a domain name with at least two labels. */
static void
sig_domain_single_label_rejected(void)
{
	sp_bad("d", "d=com", DKK_R_BAD_TAG);
	sp_bad("d", "d=exa_mple.com", DKK_R_BAD_TAG);
	sp_bad("d", "d=example..com", DKK_R_BAD_TAG);
	sp_bad("d", "d=-example.com", DKK_R_BAD_TAG);
	sp_bad("d", "d=", DKK_R_BAD_TAG);
	sp_ok("d", "d=EXAMPLE.com");
}

static void
sig_selector_syntax(void)
{
	sp_ok("s", "s=brisbane");
	sp_ok("s", "s=2024_01.eu");
	sp_bad("s", "s=sel ector", DKK_R_BAD_TAG);
	sp_bad("s", "s=", DKK_R_BAD_TAG);
	sp_bad("s", "s=sel.", DKK_R_BAD_TAG);
}

static void
sig_syntax_errors(void)
{
	struct sp p;

	sp_parse(&p, "DKIM-Signature v=1");
	CU_ASSERT_EQUAL(p.rc, DKK_ESYNTAX);
	CU_ASSERT_EQUAL(p.reason, DKK_R_SYNTAX);
	sp_clear(&p);
	sp_bad(NULL, ";", DKK_R_SYNTAX);
	sp_bad(NULL, "1x=2", DKK_R_SYNTAX);
	sp_bad(NULL, "novalue", DKK_R_SYNTAX);
	sp_parse(&p, "DKIM-Signature:");
	CU_ASSERT_EQUAL(p.rc, DKK_ESYNTAX);
	CU_ASSERT_EQUAL(p.reason, DKK_R_MISSING_TAG);
	sp_clear(&p);
}

static void
sig_z_tag(void)
{
	sp_ok(NULL, "z=From:foo@example.com|To:bar=20baz@example.net");
	sp_bad(NULL, "z=From:=G0", DKK_R_BAD_TAG);
}

/* The RFC 8463 A.3 signature fields parse as published. */
static void
sig_rfc8463_fields(void)
{
	static const char f1[] = "DKIM-Signature: v=1; a=ed25519-sha256; "
	    "c=relaxed/relaxed;\r\n d=football.example.com; "
	    "i=@football.example.com;\r\n q=dns/txt; s=brisbane; "
	    "t=1528637909; h=from : to :\r\n subject : date : message-id : "
	    "from : subject : date;\r\n "
	    "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n "
	    "b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n "
	    "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
	struct sp p;

	sp_parse(&p, f1);
	CU_ASSERT_EQUAL_FATAL(p.rc, DKK_OK);
	CU_ASSERT_EQUAL(p.sg.alg, ALG_ED25519_SHA256);
	CU_ASSERT_EQUAL(p.sg.hcanon, DKK_CANON_RELAXED);
	CU_ASSERT_EQUAL(p.sg.bcanon, DKK_CANON_RELAXED);
	CU_ASSERT_EQUAL(p.sg.nh, 8);
	CU_ASSERT_EQUAL(p.sg.t, 1528637909);
	CU_ASSERT_EQUAL(p.sg.blen, 64);
	CU_ASSERT_STRING_EQUAL(p.sg.i, "@football.example.com");
	sp_clear(&p);
}

static const struct unit_test sig_tests[] = {
	{ "sig_base_field_parses", sig_base_field_parses },
	{ "sig_required_tag_missing", sig_required_tag_missing },
	{ "sig_version_missing", sig_version_missing },
	{ "sig_version_other", sig_version_other },
	{ "sig_algorithm", sig_algorithm },
	{ "sig_algorithm_unknown", sig_algorithm_unknown },
	{ "sig_canon_variants", sig_canon_variants },
	{ "sig_canon_unknown", sig_canon_unknown },
	{ "sig_identity_outside_domain", sig_identity_outside_domain },
	{ "sig_identity_subdomain_ok", sig_identity_subdomain_ok },
	{ "sig_identity_qp_escapes", sig_identity_qp_escapes },
	{ "sig_h_without_from", sig_h_without_from },
	{ "sig_h_with_fws", sig_h_with_fws },
	{ "sig_h_malformed", sig_h_malformed },
	{ "sig_q_methods", sig_q_methods },
	{ "sig_body_length", sig_body_length },
	{ "sig_timestamps", sig_timestamps },
	{ "sig_expiry_not_after_timestamp", sig_expiry_not_after_timestamp },
	{ "sig_unknown_tags_ignored", sig_unknown_tags_ignored },
	{ "sig_duplicate_tag", sig_duplicate_tag },
	{ "sig_b_garbage", sig_b_garbage },
	{ "sig_b_with_fws", sig_b_with_fws },
	{ "sig_unsigned_field_drops_b_value",
	    sig_unsigned_field_drops_b_value },
	{ "sig_unsigned_field_b_last", sig_unsigned_field_b_last },
	{ "sig_unsigned_field_keeps_bh", sig_unsigned_field_keeps_bh },
	{ "sig_domain_single_label_rejected",
	    sig_domain_single_label_rejected },
	{ "sig_selector_syntax", sig_selector_syntax },
	{ "sig_syntax_errors", sig_syntax_errors },
	{ "sig_z_tag", sig_z_tag },
	{ "sig_canon_parse_api", sig_canon_parse_api },
	{ "sig_rfc8463_fields", sig_rfc8463_fields },
	{ NULL, NULL }
};

void
suite_sig(void)
{
	unit_suite("sig", sig_tests);
}
