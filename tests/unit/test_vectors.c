/*
 * test_vectors.c: the examples of RFC 6376 (Appendices A and C) and RFC
 * 8463 (Appendix A), from tests/vectors (or $DKK_VECTORS): each
 * row of expected.tsv verified against keys.zone, and the published
 * private keys used to sign and verify again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* RFC 8463 A.3: t=1528637909; an hour later. */
static int64_t vec_now = 1528637909 + 3600;

/* RFC 8463 A.2: the Ed25519 public key. */
#define RFC8463_ED_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

/* A context over keys.zone with the fixed clock, or NULL. */
static dkk_ctx *
vec_ctx(void)
{
	char *zone = unit_vector("keys.zone");
	dkk_ctx *ctx;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(zone);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL(dkk_ctx_set_clock(ctx, unit_clock, &vec_now), DKK_OK);
	rc = dkk_ctx_use_zone(ctx, zone);
	if (rc != DKK_OK)
		fprintf(stderr, "%s: %s\n", zone, dkk_ctx_error(ctx));
	free(zone);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	if (rc != DKK_OK) {
		dkk_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

static char *
vec_read(const char *file, size_t *len)
{
	char *path = unit_vector(file), *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	text = unit_slurp(path, len);
	if (text == NULL)
		fprintf(stderr, "cannot read %s\n", path);
	free(path);
	return text;
}

/* One row of expected.tsv: case file sig corpus_expected rfc_expected
 * tag note.  sig is a 0-based index from the top, or "*". */
static void
vec_row(dkk_ctx *ctx, char **col)
{
	const char *got;
	dkk_verifier *v;
	char *text, *end;
	size_t len, chunk;
	long idx;

	text = vec_read(col[1], &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (chunk = 0; chunk <= 1; chunk++) {
		v = unit_verify(ctx, text, len, chunk);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		if (strcmp(col[2], "*") == 0) {
			got = dkk_verdict_name(dkk_verifier_verdict(v));
		} else {
			idx = strtol(col[2], &end, 10);
			CU_ASSERT_FATAL(*end == '\0' && idx >= 0);
			got = dkk_verifier_result(v, (size_t)idx) != NULL ?
			    dkk_verdict_name(dkk_verifier_result(v,
			    (size_t)idx)->verdict) : "-";
		}
		if (strcmp(got, col[4]) != 0) {
			fprintf(stderr, "%s sig %s: %s, RFC says %s\n", col[0],
			    col[2], got, col[4]);
			CU_FAIL("RFC vector");
		}
		dkk_verifier_free(v);
	}
	free(text);
}

/* Every row of expected.tsv gets the rfc_expected verdict. */
static void
vectors_expected_tsv(void)
{
	dkk_ctx *ctx = vec_ctx();
	char *tsv, *line, *next, *col[7], *p;
	size_t len, rows = 0, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	tsv = vec_read("expected.tsv", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tsv);
	for (line = tsv; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		for (n = 0, p = line; n < 7 && p != NULL; n++) {
			col[n] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
		CU_ASSERT_FATAL(n >= 5);
		vec_row(ctx, col);
		rows++;
	}
	CU_ASSERT(rows >= 8);
	free(tsv);
	dkk_ctx_free(ctx);
}

static dkk_key *
vec_key(dkk_ctx *ctx, const char *file)
{
	char *path = unit_vector(file);
	dkk_key *key = NULL;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	rc = dkk_ctx_load_key(ctx, path, &key);
	if (rc != DKK_OK)
		fprintf(stderr, "%s: %s\n", path, dkk_ctx_error(ctx));
	free(path);
	CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
	return key;
}

/* Sign the unsigned A.1 message with key as d=/s= in every
 * canonicalisation and check that it verifies against keys.zone. */
static void
vec_sign_verify(const char *keyfile, const char *domain, const char *sel,
    const char *alg)
{
	struct dkk_sign_opts o;
	dkk_ctx *ctx = vec_ctx();
	dkk_verifier *v;
	dkk_signer *s;
	char *text, *field, *m;
	size_t len;
	int hc, bc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	text = vec_read("rfc6376-A1-unsigned.eml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	memset(&o, 0, sizeof(o));
	o.key = vec_key(ctx, keyfile);
	CU_ASSERT_STRING_EQUAL(dkk_key_type(o.key), strncmp(alg, "rsa", 3) ==
	    0 ? "rsa" : "ed25519");
	o.domain = domain;
	o.selector = sel;
	for (hc = 0; hc < 2; hc++)
		for (bc = 0; bc < 2; bc++) {
			o.header_canon = hc;
			o.body_canon = bc;
			/* the author's address is within both d= */
			o.identity = bc ? "joe@football.example.com" : NULL;
			CU_ASSERT_EQUAL_FATAL(dkk_signer_new(ctx, &o, &s),
			    DKK_OK);
			CU_ASSERT_EQUAL(dkk_signer_update(s, text, len), DKK_OK);
			CU_ASSERT_EQUAL(dkk_signer_final(s, 0, &field),
			    DKK_OK);
			dkk_signer_free(s);
			CU_ASSERT_PTR_NOT_NULL_FATAL(field);
			CU_ASSERT(asprintf(&m, "%s\r\n%s", field, text) > 0);
			v = unit_verify(ctx, m, strlen(m), 0);
			CU_ASSERT_PTR_NOT_NULL_FATAL(v);
			CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "pass/ok");
			CU_ASSERT_STRING_EQUAL(dkk_verifier_result(v, 0)->algorithm,
			    alg);
			CU_ASSERT_STRING_EQUAL(dkk_verifier_result(v, 0)->domain,
			    domain);
			dkk_verifier_free(v);
			free(m);
			free(field);
		}
	free(text);
	dkk_ctx_free(ctx);
}

static void
vectors_sign_rfc6376_appc_key(void)
{
	vec_sign_verify("rfc6376-appC-rsa-private.pem", "example.com",
	    "brisbane", "rsa-sha256");
}

static void
vectors_sign_rfc8463_ed25519_pkcs8(void)
{
	vec_sign_verify("rfc8463-ed25519-private-pkcs8.pem",
	    "football.example.com", "brisbane", "ed25519-sha256");
}

static void
vectors_sign_rfc8463_ed25519_seed(void)
{
	vec_sign_verify("rfc8463-ed25519-secret-seed.b64",
	    "football.example.com", "brisbane", "ed25519-sha256");
}

static void
vectors_sign_rfc8463_rsa(void)
{
	vec_sign_verify("rfc8463-rsa-private.pem", "football.example.com",
	    "test", "rsa-sha256");
}

struct vec_txt {
	int calls;
	char *txt;
};

static void
vec_txt_cb(void *arg, const struct dkk_dns_answer *ans)
{
	struct vec_txt *t = arg;

	t->calls++;
	if (ans->status == DKK_DNS_OK && ans->count == 1)
		t->txt = strndup(ans->txt[0], ans->len[0]);
}

/* The p= published at name in keys.zone; free with free(). */
static char *
vec_published_p(const char *name)
{
	struct vec_txt t = { 0, NULL };
	struct zone *z;
	struct buf err;
	char *path = unit_vector("keys.zone"), *p = NULL;
	const char *at;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	buf_init(&err);
	CU_ASSERT_EQUAL(zone_load(&z, path, &err), DKK_OK);
	free(path);
	buf_clear(&err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(zone_query_txt(z, name, vec_txt_cb, &t), DKK_OK);
	zone_free(z);
	CU_ASSERT_EQUAL(t.calls, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t.txt);
	if ((at = strstr(t.txt, "p=")) != NULL)
		p = strdup(at + 2);
	free(t.txt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* The public half of a published private key is the published p=. */
static void
vec_key_expect_public(const char *keyfile, const char *name,
    const char *want)
{
	dkk_ctx *ctx;
	dkk_key *key;
	char *p64, *published = vec_published_p(name);

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	key = vec_key(ctx, keyfile);
	CU_ASSERT_EQUAL_FATAL(dkk_key_public(key, &p64), DKK_OK);
	CU_ASSERT_STRING_EQUAL(p64, published);
	if (want != NULL)
		CU_ASSERT_STRING_EQUAL(p64, want);
	free(p64);
	free(published);
	dkk_ctx_free(ctx);
}

/* RFC 8463 A.2: the public key derived from the secret seed (and from
 * the PKCS#8 form of it) is the one published. */
static void
vectors_ed25519_public_from_seed(void)
{
	vec_key_expect_public("rfc8463-ed25519-secret-seed.b64",
	    "brisbane._domainkey.football.example.com", RFC8463_ED_P);
	vec_key_expect_public("rfc8463-ed25519-private-pkcs8.pem",
	    "brisbane._domainkey.football.example.com", RFC8463_ED_P);
}

/* The RSA keys' SubjectPublicKeyInfo is the published p= too. */
static void
vectors_rsa_public_matches_zone(void)
{
	dkk_ctx *ctx;
	dkk_key *key;

	vec_key_expect_public("rfc6376-appC-rsa-private.pem",
	    "brisbane._domainkey.example.com", NULL);
	vec_key_expect_public("rfc8463-rsa-private.pem",
	    "test._domainkey.football.example.com", NULL);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	key = vec_key(ctx, "rfc6376-appC-rsa-private.pem");
	CU_ASSERT_EQUAL(dkk_key_bits(key), 1024);
	CU_ASSERT_STRING_EQUAL(dkk_key_type(key), "rsa");
	key = vec_key(ctx, "rfc8463-ed25519-secret-seed.b64");
	CU_ASSERT_EQUAL(dkk_key_bits(key), 256);
	CU_ASSERT_STRING_EQUAL(dkk_key_type(key), "ed25519");
	dkk_ctx_free(ctx);
}

/* The published RFC 8463 signatures fail once the body changes: the
 * pass above is not an accident of the test. */
static void
vectors_rfc8463_tampered_fails(void)
{
	dkk_ctx *ctx = vec_ctx();
	dkk_verifier *v;
	char *text, *at;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	text = vec_read("rfc8463-A3-signed.eml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	at = strstr(text, "hungry");
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	*at = 'H';
	v = unit_verify(ctx, text, len, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_count(v), 2);
	CU_ASSERT_STRING_EQUAL(unit_result(v, 0), "fail/body_hash_mismatch");
	CU_ASSERT_STRING_EQUAL(unit_result(v, 1), "fail/body_hash_mismatch");
	dkk_verifier_free(v);
	free(text);
	dkk_ctx_free(ctx);
}

static const struct unit_test vectors_tests[] = {
	{ "vectors_expected_tsv", vectors_expected_tsv },
	{ "vectors_sign_rfc6376_appc_key", vectors_sign_rfc6376_appc_key },
	{ "vectors_sign_rfc8463_ed25519_pkcs8",
	    vectors_sign_rfc8463_ed25519_pkcs8 },
	{ "vectors_sign_rfc8463_ed25519_seed",
	    vectors_sign_rfc8463_ed25519_seed },
	{ "vectors_sign_rfc8463_rsa", vectors_sign_rfc8463_rsa },
	{ "vectors_ed25519_public_from_seed",
	    vectors_ed25519_public_from_seed },
	{ "vectors_rsa_public_matches_zone", vectors_rsa_public_matches_zone },
	{ "vectors_rfc8463_tampered_fails", vectors_rfc8463_tampered_fails },
	{ NULL, NULL }
};

void
suite_vectors(void)
{
	unit_suite("vectors", vectors_tests);
}
