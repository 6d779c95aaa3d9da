/*
 * test_atps.c: Authorized Third-Party Signatures (RFC 6541,
 * core/atps/atps.c): base32 (RFC 4648), the query name, each
 * signature's result through the verifier, the dkim-atps entries of the
 * A-R field, ADSP with atps_adsp, and atps=/atpsh= on the signer.
 *
 * The labels below were computed outside dkimkit, with Python's hashlib
 * and base64 (b32encode, "=" padding stripped):
 *	python3 -c 'import hashlib, base64; print(base64.b32encode(
 *	    hashlib.sha1(b"one.example.net").digest()))'
 * The two sha1 labels of one.example.net and two.example.net are also
 * RFC 6541's own example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "verify_fx.h"

#define EX_SHA1 "BSVPESVRUDBTIQGANL7JTX4YMNS3A6A7"	/* example.com */
#define EX_SHA256 "UN42N5XOV642KXRXRQIYANHCOUPGQL5LT4WTBKYT2IJFLBWODFDQ"

/* Author domains and what each publishes for the signer example.com. */
static const char atps_zone[] =
    EX_SHA256 "._atps.a256.example. TXT \"v=ATPS1; d=example.com\"\n"
    EX_SHA1 "._atps.a1.example. TXT \"v=ATPS1; d=example.com\"\n"
    "example.com._atps.anone.example. TXT \"v=ATPS1\"\n"
    EX_SHA256 "._atps.other.example. TXT \"v=ATPS1; d=other.example\"\n"
    EX_SHA256 "._atps.notatps.example. TXT \"v=spf1 -all\"\n"
    EX_SHA256 "._atps.lower.example. TXT \"v=atps1\"\n"
    EX_SHA256 "._atps.several.example. TXT \"v=spf1 -all\"\n"
    EX_SHA256 "._atps.several.example. TXT \"v=ATPS1; x=y; d=EXAMPLE.com\"\n"
    EX_SHA256 "._atps.temp.example. TXT \"v=ATPS1\"\n"
    EX_SHA256 "._atps.vlast.example. TXT \"d=example.com; v=ATPS1\"\n"
    EX_SHA256 "._atps.nodata.example. A 192.0.2.5\n"
    "_adsp._domainkey.aall.example. TXT \"dkim=all\"\n"
    EX_SHA256 "._atps.aall.example. TXT \"v=ATPS1; d=example.com\"\n"
    "aall.example. A 192.0.2.4\n"
    "_adsp._domainkey.example.com. TXT \"dkim=all\"\n";

static const struct dkk_verify_opts with_atps = { .atps = 1 };

static void
b32_expect(const char *in, const char *want)
{
	char *got = b32_encode((const uint8_t *)in, strlen(in));

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

/* RFC 4648 10, without the padding RFC 6541 leaves out. */
static void
atps_base32_rfc4648_vectors(void)
{
	b32_expect("", "");
	b32_expect("f", "MY");
	b32_expect("fo", "MZXQ");
	b32_expect("foo", "MZXW6");
	b32_expect("foob", "MZXW6YQ");
	b32_expect("fooba", "MZXW6YTB");
	b32_expect("foobar", "MZXW6YTBOI");
}

static void
query_expect(const char *signer, const char *author, const char *hash,
    const char *want)
{
	char *name = NULL;
	int rc = dkk_atps_query(signer, author, hash, &name);

	if (want == NULL) {
		CU_ASSERT_EQUAL(rc, DKK_EINVAL);
		CU_ASSERT_PTR_NULL(name);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
	CU_ASSERT_STRING_EQUAL(name, want);
	free(name);
}

/* RFC 6541's example, sha256, none, and the signer in lower case. */
static void
atps_query_names(void)
{
	query_expect("one.example.net", "example.com", "sha1",
	    "QSP4I4D24CRHOPDZ3O3ZIU2KSGS3X6Z6._atps.example.com");
	query_expect("two.example.net", "example.com", "sha1",
	    "ZTZGRRV3F45A4U6HLDKBF3ZCOW4V2AJX._atps.example.com");
	query_expect("one.example.net", "example.com", "sha256",
	    "SQWHEPKQYG5KRIOG6F7LPEDTTNOIF7DQUSVCO2PCHSH3QUGXAKHA"
	    "._atps.example.com");
	query_expect("One.Example.NET", "example.com", "sha1",
	    "QSP4I4D24CRHOPDZ3O3ZIU2KSGS3X6Z6._atps.example.com");
	query_expect("Signer.Example", "author.example", "none",
	    "signer.example._atps.author.example");
	query_expect("one.example.net", "example.com", "md5", NULL);
	query_expect("one.example.net", "example.com", "SHA1", NULL);
	query_expect("bad domain", "example.com", "sha1", NULL);
	query_expect("one.example.net", "", "sha1", NULL);
}

/* Verify m with opts; assert signature 0's ATPS result, its author and
 * (when want_ar is not NULL) that the A-R field holds want_ar. */
static void
atps_expect(dkk_ctx *ctx, const struct dkk_verify_opts *opts, const char *m,
    enum dkk_atps want, const char *author, const char *want_ar)
{
	dkk_verifier *v = unit_verify_opts(ctx, opts, m, strlen(m), 0);
	const char *a = "unset", *detail = NULL;
	enum dkk_atps got;
	char *ar = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	got = dkk_verifier_atps(v, 0, &a, &detail);
	if (got != want) {
		fprintf(stderr, "atps %s (%s), want %s\n",
		    dkk_atps_result_name(got), detail,
		    dkk_atps_result_name(want));
		CU_FAIL("unexpected ATPS result");
	}
	CU_ASSERT_PTR_NOT_NULL(detail);
	if (author == NULL) {
		CU_ASSERT_PTR_NULL(a);
	} else if (a == NULL) {
		CU_FAIL("no ATPS author");
	} else {
		CU_ASSERT_STRING_EQUAL(a, author);
	}
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.test", DKK_FIELD_ONE_LINE,
	    &ar), DKK_OK);
	if (want_ar != NULL && strstr(ar, want_ar) == NULL) {
		fprintf(stderr, "A-R: %s\nwant: %s\n", ar, want_ar);
		CU_FAIL("A-R field lacks the dkim-atps entry");
	}
	free(ar);
	dkk_verifier_free(v);
}

/* msg from joe@author, signed for example.com with atps=atps, atpsh=hash
 * (hash NULL: the signer's default, sha256). */
static char *
atps_signed(struct unit_fx *fx, const char *author, const char *atps,
    const char *hash)
{
	struct dkk_sign_opts o = unit_opts(fx->ed, "ed");
	char *m = from_at(author), *sm;

	o.atps = atps;
	o.atps_hash = hash;
	sm = unit_sign(fx, &o, m);
	free(m);
	return sm;
}

static void
signed_expect(struct unit_fx *fx, const char *author, const char *atps,
    const char *hash, enum dkk_atps want, const char *want_ar)
{
	char *sm = atps_signed(fx, author, atps, hash);

	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	atps_expect(fx->ctx, &with_atps, sm, want, want == DKK_ATPS_NONE &&
	    strcmp(author, atps) != 0 ? NULL : author, want_ar);
	free(sm);
}

/* A record for the signer under each hash: pass. */
static void
verify_atps_pass_each_hash(void)
{
	struct unit_fx fx;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	signed_expect(&fx, "a256.example", "a256.example", NULL,
	    DKK_ATPS_PASS, "dkim-atps=pass header.from=a256.example");
	signed_expect(&fx, "a256.example", "a256.example", "sha256",
	    DKK_ATPS_PASS, "dkim-atps=pass header.from=a256.example");
	signed_expect(&fx, "a1.example", "a1.example", "sha1",
	    DKK_ATPS_PASS, "dkim-atps=pass header.from=a1.example");
	signed_expect(&fx, "anone.example", "anone.example", "none",
	    DKK_ATPS_PASS, "dkim-atps=pass header.from=anone.example");
	/* atps= in another case than From still names the author */
	signed_expect(&fx, "a256.example", "A256.Example", NULL,
	    DKK_ATPS_PASS, "dkim-atps=pass header.from=a256.example");
	/* a sha1 record does not answer a sha256 request */
	signed_expect(&fx, "a1.example", "a1.example", "sha256",
	    DKK_ATPS_FAIL, "dkim-atps=fail header.from=a1.example");
	unit_fx_free(&fx);
}

/* No record, a record for another signer, TXT that is not ATPS, v=
 * spelled in lower case: fail.  Several records, one valid: pass. */
static void
verify_atps_fail_and_records(void)
{
	struct unit_fx fx;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	signed_expect(&fx, "norecord.example", "norecord.example", NULL,
	    DKK_ATPS_FAIL, "dkim-atps=fail header.from=norecord.example");
	signed_expect(&fx, "other.example", "other.example", NULL,
	    DKK_ATPS_FAIL, "dkim-atps=fail header.from=other.example");
	signed_expect(&fx, "notatps.example", "notatps.example", NULL,
	    DKK_ATPS_FAIL, NULL);
	signed_expect(&fx, "lower.example", "lower.example", NULL,
	    DKK_ATPS_FAIL, NULL);
	signed_expect(&fx, "several.example", "several.example", NULL,
	    DKK_ATPS_PASS, "dkim-atps=pass header.from=several.example");
	/* RFC 6541 4.4 puts v= in no particular place */
	signed_expect(&fx, "vlast.example", "vlast.example", NULL,
	    DKK_ATPS_PASS, "dkim-atps=pass header.from=vlast.example");
	/* NODATA (the name holds only an A record) is no record: fail */
	signed_expect(&fx, "nodata.example", "nodata.example", NULL,
	    DKK_ATPS_FAIL, "dkim-atps=fail header.from=nodata.example");
	unit_fx_free(&fx);
}

/* Not evaluated: atps= names another domain than the author (the
 * signature's result is none, but the message's is fail: RFC 6541 8.3),
 * d= is the author, the signature fails, ATPS is off. */
static void
verify_atps_none(void)
{
	struct unit_fx fx;
	char *sm, *bad;
	dkk_verifier *v;
	char *ar;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	signed_expect(&fx, "someone.example", "a256.example", NULL,
	    DKK_ATPS_NONE, "dkim-atps=fail header.from=someone.example");
	/* d=example.com is the author: an author signature, not ATPS */
	sm = atps_signed(&fx, "example.com", "example.com", NULL);
	atps_expect(fx.ctx, &with_atps, sm, DKK_ATPS_NONE, NULL,
	    "dkim-atps=none header.from=example.com");
	free(sm);
	/* a broken signature is not checked, whatever the record says */
	sm = atps_signed(&fx, "a256.example", "a256.example", NULL);
	bad = replace(sm, "hungry", "thirsty");
	atps_expect(fx.ctx, &with_atps, bad, DKK_ATPS_NONE, "a256.example",
	    "dkim-atps=none header.from=a256.example");
	free(bad);
	/* off by default: no result, no dkim-atps entry */
	v = unit_verify(fx.ctx, sm, strlen(sm), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_atps(v, 0, NULL, NULL), DKK_ATPS_NONE);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.test", 0, &ar), DKK_OK);
	CU_ASSERT_PTR_NULL(strstr(ar, "dkim-atps"));
	free(ar);
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

/* atps= naming the author without a usable atpsh=: permerror. */
static void
verify_atps_permerror(void)
{
	struct unit_fx fx;
	char *m, *sm, *bad;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	m = from_at("a256.example");
	sm = hand_sign(fx.rsa_pem, m, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=rsa; h=From:Subject; atps=a256.example");
	vexpect(fx.ctx, sm, "pass", 1, "pass/ok");
	atps_expect(fx.ctx, &with_atps, sm, DKK_ATPS_PERMERROR,
	    "a256.example", "dkim-atps=permerror header.from=a256.example");
	free(sm);
	sm = hand_sign(fx.rsa_pem, m, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=rsa; h=From; atps=a256.example; atpsh=md5");
	atps_expect(fx.ctx, &with_atps, sm, DKK_ATPS_PERMERROR,
	    "a256.example", "dkim-atps=permerror header.from=a256.example");
	free(sm);
	/* RFC 6541 4.3: a signature that does not verify is not looked
	 * at, so its missing atpsh= is none, not permerror */
	sm = hand_sign(fx.rsa_pem, m, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=rsa; h=From; atps=a256.example");
	bad = replace(sm, "hungry", "thirsty");
	atps_expect(fx.ctx, &with_atps, bad, DKK_ATPS_NONE, "a256.example",
	    "dkim-atps=none header.from=a256.example");
	free(bad);
	free(sm);
	free(m);
	unit_fx_free(&fx);
}

/* DNS trouble at the ATPS name, answered at once or later. */
static void
verify_atps_temperror(void)
{
	struct unit_fx fx;
	char *sm;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	sm = atps_signed(&fx, "temp.example", "temp.example", NULL);
	tr_install(&fx, false, "_atps.temp.example");
	atps_expect(fx.ctx, &with_atps, sm, DKK_ATPS_TEMPERROR,
	    "temp.example", "dkim-atps=temperror header.from=temp.example");
	tr_install(&fx, true, "_atps.temp.example");
	atps_expect(fx.ctx, &with_atps, sm, DKK_ATPS_TEMPERROR,
	    "temp.example", NULL);
	tr_install(&fx, true, NULL);
	atps_expect(fx.ctx, &with_atps, sm, DKK_ATPS_PASS, "temp.example",
	    "dkim-atps=pass header.from=temp.example");
	free(sm);
	unit_fx_free(&fx);
}

/* Two authors: atps= names the second; one entry per Author Domain. */
static void
verify_atps_several_authors(void)
{
	struct unit_fx fx;
	char *m, *m2, *sm;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	m = from_at("a256.example");
	m2 = replace(m, "From: Joe SixPack <joe@a256.example>",
	    "From: Joe <joe@first.example>, Jim <jim@a256.example>");
	CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(m2, "jim@a256.example"));
	o = unit_opts(fx.ed, "ed");
	o.atps = "a256.example";
	sm = unit_sign(&fx, &o, m2);
	atps_expect(fx.ctx, &with_atps, sm, DKK_ATPS_PASS, "a256.example",
	    "dkim-atps=none header.from=first.example; "
	    "dkim-atps=pass header.from=a256.example");
	free(sm);
	free(m2);
	free(m);
	unit_fx_free(&fx);
}

static void
adsp_with(dkk_ctx *ctx, const char *m, int atps, int atps_adsp,
    enum dkk_adsp want)
{
	struct dkk_verify_opts o = { .adsp = 1 };
	dkk_verifier *v;

	o.atps = atps;
	o.atps_adsp = atps_adsp;
	v = unit_verify_opts(ctx, &o, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_adsp(v, NULL), want);
	dkk_verifier_free(v);
}

/* An author with dkim=all and an ATPS record for example.com: with ATPS
 * on, ADSP passes on the third-party signature (RFC 6541 6: atps_adsp
 * is implied and makes no difference); with ATPS off it fails. */
static void
verify_atps_adsp(void)
{
	struct unit_fx fx;
	char *sm, *plain, *m;
	struct dkk_sign_opts o;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	sm = atps_signed(&fx, "aall.example", "aall.example", NULL);
	adsp_with(fx.ctx, sm, 0, 0, DKK_ADSP_FAIL);
	adsp_with(fx.ctx, sm, 1, 0, DKK_ADSP_PASS);
	adsp_with(fx.ctx, sm, 1, 1, DKK_ADSP_PASS);
	/* without atps= the signature stands for nobody but example.com */
	m = from_at("aall.example");
	o = unit_opts(fx.ed, "ed");
	plain = unit_sign(&fx, &o, m);
	adsp_with(fx.ctx, plain, 1, 0, DKK_ADSP_FAIL);
	free(plain);
	free(m);
	free(sm);
	unit_fx_free(&fx);
}

/* s without white space (folding differs when tags are added). */
static char *
nows(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (; *s != '\0'; s++)
		if (strchr(" \t\r\n", *s) == NULL)
			*o++ = *s;
	*o = '\0';
	return out;
}

/* atps= and atpsh= follow s= (and i=); the rest of the field, h= among
 * it, is what it is without them. */
static void
sign_atps_tags(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *with, *without, *p, *a, *b;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, atps_zone), 0);
	o = unit_opts(fx.ed, "ed");
	without = sign_field(&fx, &o, msg, strlen(msg));
	o.atps = "author.example";
	o.atps_hash = "sha1";
	with = sign_field(&fx, &o, msg, strlen(msg));
	CU_ASSERT_PTR_NOT_NULL_FATAL(with);
	CU_ASSERT_PTR_NOT_NULL_FATAL(without);
	a = nows(with);
	b = nows(without);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, ";s=ed;atps=author.example;"
	    "atpsh=sha1;t="));
	/* the same tags up to b= once those two are taken out */
	p = replace(a, "atps=author.example;atpsh=sha1;", "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(b, ";b="));
	CU_ASSERT(strncmp(p, b, (size_t)(strstr(b, ";b=") - b)) == 0);
	CU_ASSERT_STRING_NOT_EQUAL(a, p);
	free(p);
	free(a);
	free(b);
	free(with);
	o.atps_hash = NULL;
	with = sign_field(&fx, &o, msg, strlen(msg));
	CU_ASSERT_PTR_NOT_NULL(with != NULL ? strstr(with, "atpsh=sha256;") :
	    NULL);
	free(with);
	free(without);
	/* refused: an unknown hash, a hash without a domain, a bad domain */
	o.atps_hash = "md5";
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(dkk_ctx_error(fx.ctx), "md5"));
	o.atps = NULL;
	o.atps_hash = "sha1";
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	o.atps = "not a domain";
	o.atps_hash = NULL;
	CU_ASSERT_EQUAL(dkk_signer_new(fx.ctx, &o, &s), DKK_EINVAL);
	unit_fx_free(&fx);
}

static void
atps_result_names(void)
{
	CU_ASSERT_STRING_EQUAL(dkk_atps_result_name(DKK_ATPS_NONE), "none");
	CU_ASSERT_STRING_EQUAL(dkk_atps_result_name(DKK_ATPS_PASS), "pass");
	CU_ASSERT_STRING_EQUAL(dkk_atps_result_name(DKK_ATPS_FAIL), "fail");
	CU_ASSERT_STRING_EQUAL(dkk_atps_result_name(DKK_ATPS_TEMPERROR),
	    "temperror");
	CU_ASSERT_STRING_EQUAL(dkk_atps_result_name(DKK_ATPS_PERMERROR),
	    "permerror");
	CU_ASSERT_PTR_NULL(dkk_atps_result_name((enum dkk_atps)99));
}

static const struct unit_test atps_tests[] = {
	{ "atps_base32_rfc4648_vectors", atps_base32_rfc4648_vectors },
	{ "atps_query_names", atps_query_names },
	{ "atps_result_names", atps_result_names },
	{ "verify_atps_pass_each_hash", verify_atps_pass_each_hash },
	{ "verify_atps_fail_and_records", verify_atps_fail_and_records },
	{ "verify_atps_none", verify_atps_none },
	{ "verify_atps_permerror", verify_atps_permerror },
	{ "verify_atps_temperror", verify_atps_temperror },
	{ "verify_atps_several_authors", verify_atps_several_authors },
	{ "verify_atps_adsp", verify_atps_adsp },
	{ "sign_atps_tags", sign_atps_tags },
	{ NULL, NULL }
};

void
suite_atps(void)
{
	unit_suite("atps", atps_tests);
}
