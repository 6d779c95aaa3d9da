/*
 * test_keyrec.c: the DKIM key record, RFC 6376 3.6.1 and RFC 8463 4
 * (core/dkim/keyrec.c, core/crypto/crypto.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* RFC 6376 Appendix C: the 1024-bit RSA key as SubjectPublicKeyInfo. */
#define RSA_SPKI "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9Z" \
	"JW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7o" \
	"d+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcW" \
	"ToIMmPSPDdQPNUYckcQ2QIDAQAB"
/* RFC 8463 A.2: the Ed25519 public key. */
#define ED_KEY "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

struct kp {
	struct keyrec kr;
	enum dkk_reason reason;
	struct buf why;
	int rc;
};

static void
kp_parse_max(struct kp *k, const char *txt, unsigned max_bits)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->why);
	k->reason = DKK_R_OK;
	k->rc = keyrec_parse(&k->kr, txt, strlen(txt), max_bits, &k->reason,
	    &k->why);
}

static void
kp_parse(struct kp *k, const char *txt)
{
	kp_parse_max(k, txt, 8192);
}

static void
kp_clear(struct kp *k)
{
	keyrec_clear(&k->kr);
	buf_clear(&k->why);
}

static void
kp_expect_ok(const char *txt)
{
	struct kp k;

	kp_parse(&k, txt);
	if (k.rc != DKK_OK) {
		fprintf(stderr, "\"%s\": %s (%s)\n", txt,
		    dkk_reason_name(k.reason), k.why.p ? k.why.p : "");
		CU_FAIL("key record refused");
	}
	kp_clear(&k);
}

static void
kp_expect_bad(const char *txt, enum dkk_reason r)
{
	struct kp k;

	kp_parse(&k, txt);
	CU_ASSERT_EQUAL(k.rc, DKK_ESYNTAX);
	if (k.rc != DKK_ESYNTAX || k.reason != r) {
		fprintf(stderr, "\"%s\": rc %d %s, want %s\n", txt, k.rc,
		    dkk_reason_name(k.reason), dkk_reason_name(r));
		CU_FAIL("unexpected key record verdict");
	}
	CU_ASSERT(k.why.len > 0);
	kp_clear(&k);
}

static void
keyrec_rsa_defaults(void)
{
	struct kp k;

	kp_parse(&k, "v=DKIM1; p=" RSA_SPKI);
	CU_ASSERT_EQUAL_FATAL(k.rc, DKK_OK);
	CU_ASSERT_EQUAL(k.kr.type, KEY_RSA);
	CU_ASSERT_TRUE(k.kr.sha1_ok);
	CU_ASSERT_TRUE(k.kr.sha256_ok);
	CU_ASSERT_TRUE(k.kr.email);
	CU_ASSERT_FALSE(k.kr.testing);
	CU_ASSERT_FALSE(k.kr.strict);
	CU_ASSERT_FALSE(k.kr.revoked);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k.kr.key);
	CU_ASSERT_EQUAL(pubkey_bits(k.kr.key), 1024);
	kp_clear(&k);
}

/* 3.6.1: v= is optional, but when present must be first and "DKIM1". */
static void
keyrec_version_first_or_absent(void)
{
	kp_expect_ok("p=" RSA_SPKI);
	kp_expect_ok(" v = DKIM1 ;k=rsa; p=" RSA_SPKI);
	kp_expect_bad("k=rsa; v=DKIM1; p=" RSA_SPKI, DKK_R_KEY_SYNTAX);
	kp_expect_bad("p=" RSA_SPKI "; v=DKIM1", DKK_R_KEY_SYNTAX);
}

static void
keyrec_version_other_rejected(void)
{
	kp_expect_bad("v=DKIM2; p=" RSA_SPKI, DKK_R_KEY_SYNTAX);
	kp_expect_bad("v=dkim1; p=" RSA_SPKI, DKK_R_KEY_SYNTAX);
	kp_expect_bad("v=spf1 -all", DKK_R_KEY_SYNTAX);
	kp_expect_bad("v=; p=" RSA_SPKI, DKK_R_KEY_SYNTAX);
}

/* RFC 8463 4: p= is the raw 32-octet Ed25519 key. */
static void
keyrec_ed25519_32_bytes(void)
{
	struct kp k;

	kp_parse(&k, "v=DKIM1; k=ed25519; p=" ED_KEY);
	CU_ASSERT_EQUAL_FATAL(k.rc, DKK_OK);
	CU_ASSERT_EQUAL(k.kr.type, KEY_ED25519);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k.kr.key);
	CU_ASSERT_EQUAL(pubkey_bits(k.kr.key), 256);
	kp_clear(&k);
}

static void
keyrec_ed25519_wrong_length(void)
{
	/* 31 and 33 octets */
	kp_expect_bad("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==",
	    DKK_R_KEY_DATA);
	kp_expect_bad("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURoA",
	    DKK_R_KEY_DATA);
	/* an RSA key under k=ed25519, and the Ed25519 key under k=rsa */
	kp_expect_bad("k=ed25519; p=" RSA_SPKI, DKK_R_KEY_DATA);
	kp_expect_bad("k=rsa; p=" ED_KEY, DKK_R_KEY_DATA);
}

static void
keyrec_unknown_key_type(void)
{
	kp_expect_bad("v=DKIM1; k=dsa; p=" RSA_SPKI, DKK_R_KEY_TYPE);
	kp_expect_bad("k=RSA; p=" RSA_SPKI, DKK_R_KEY_TYPE);
	kp_expect_bad("k=; p=" RSA_SPKI, DKK_R_KEY_TYPE);
}

static void
kp_expect_hashes(const char *h, bool sha1, bool sha256)
{
	struct kp k;
	char txt[512];

	snprintf(txt, sizeof(txt), "v=DKIM1; %s; p=%s", h, RSA_SPKI);
	kp_parse(&k, txt);
	CU_ASSERT_EQUAL_FATAL(k.rc, DKK_OK);
	CU_ASSERT_EQUAL(k.kr.sha1_ok, sha1);
	CU_ASSERT_EQUAL(k.kr.sha256_ok, sha256);
	kp_clear(&k);
}

/* 3.6.1: h= lists the acceptable hashes; unknown ones are ignored. */
static void
keyrec_hash_list(void)
{
	kp_expect_hashes("h=sha1", true, false);
	kp_expect_hashes("h=sha256", false, true);
	kp_expect_hashes("h= sha512 : sha256 ", false, true);
	kp_expect_hashes("h=sha1:sha256", true, true);
	kp_expect_hashes("h=md5", false, false);
	kp_expect_hashes("h=SHA256", false, false);
}

/* 3.6.1: s= must include "email" or "*". */
static void
keyrec_service_types(void)
{
	kp_expect_ok("s=email; p=" RSA_SPKI);
	kp_expect_ok("s=*; p=" RSA_SPKI);
	kp_expect_ok("s=other : email; p=" RSA_SPKI);
	kp_expect_bad("s=other; p=" RSA_SPKI, DKK_R_KEY_SERVICE);
	kp_expect_bad("s=; p=" RSA_SPKI, DKK_R_KEY_SERVICE);
	kp_expect_bad("s=Email; p=" RSA_SPKI, DKK_R_KEY_SERVICE);
}

static void
kp_expect_flags(const char *t, bool testing, bool strict)
{
	struct kp k;
	char txt[512];

	snprintf(txt, sizeof(txt), "v=DKIM1; %s; p=%s", t, RSA_SPKI);
	kp_parse(&k, txt);
	CU_ASSERT_EQUAL_FATAL(k.rc, DKK_OK);
	CU_ASSERT_EQUAL(k.kr.testing, testing);
	CU_ASSERT_EQUAL(k.kr.strict, strict);
	kp_clear(&k);
}

/* 3.6.1: t=y testing, t=s strict; unknown flags are ignored. */
static void
keyrec_flags(void)
{
	kp_expect_flags("t=y", true, false);
	kp_expect_flags("t=s", false, true);
	kp_expect_flags("t=y:s", true, true);
	kp_expect_flags("t= s : x ", false, true);
	kp_expect_flags("t=x:z", false, false);
	kp_expect_flags("t=", false, false);
}

/* 3.6.1: an empty p= means the key has been revoked. */
static void
keyrec_empty_p_revoked(void)
{
	struct kp k;

	kp_parse(&k, "v=DKIM1; p=");
	CU_ASSERT_EQUAL_FATAL(k.rc, DKK_OK);
	CU_ASSERT_TRUE(k.kr.revoked);
	CU_ASSERT_PTR_NULL(k.kr.key);
	kp_clear(&k);
	kp_parse(&k, "v=DKIM1; k=ed25519; p= \t");
	CU_ASSERT_EQUAL(k.rc, DKK_OK);
	CU_ASSERT_TRUE(k.kr.revoked);
	kp_clear(&k);
}

static void
keyrec_missing_p(void)
{
	kp_expect_bad("v=DKIM1; k=rsa", DKK_R_KEY_SYNTAX);
	kp_expect_bad("", DKK_R_KEY_SYNTAX);
}

/* A bare PKCS#1 RSAPublicKey (the SPKI without its 22-octet head) is
 * seen in the wild and accepted. */
static void
keyrec_pkcs1_rsa_accepted(void)
{
	struct kp k;
	uint8_t *der;
	size_t len;
	char *p1, txt[512];

	CU_ASSERT_EQUAL_FATAL(b64_decode(RSA_SPKI, strlen(RSA_SPKI), &der,
	    &len), DKK_OK);
	CU_ASSERT_FATAL(len > 22 && der[22] == 0x30);
	p1 = b64_encode(der + 22, len - 22);
	free(der);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
	snprintf(txt, sizeof(txt), "v=DKIM1; k=rsa; p=%s", p1);
	free(p1);
	kp_parse(&k, txt);
	CU_ASSERT_EQUAL_FATAL(k.rc, DKK_OK);
	CU_ASSERT_EQUAL(pubkey_bits(k.kr.key), 1024);
	kp_clear(&k);
}

/* The SPKI may be split by FWS, as long TXT records often are. */
static void
keyrec_spki_with_fws(void)
{
	kp_expect_ok("v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ KBgQDwIRP/"
	    "UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt\r\n\tIxN2SnFCjxOCKG9v3b4jYf"
	    "cTNh5ijSsq631uBItLa7od+v /RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVj"
	    "H4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB");
}

static void
keyrec_garbage_p(void)
{
	kp_expect_bad("v=DKIM1; p=!!!!", DKK_R_KEY_DATA);
	kp_expect_bad("v=DKIM1; p=AAAA", DKK_R_KEY_DATA);
	kp_expect_bad("v=DKIM1; p=" ED_KEY, DKK_R_KEY_DATA);
	/* the SPKI cut short */
	kp_expect_bad("v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP",
	    DKK_R_KEY_DATA);
}

/* RFC 6376 dropped g= (RFC 4871); it is ignored like any unknown tag. */
static void
keyrec_granularity_ignored(void)
{
	kp_expect_ok("v=DKIM1; g=*; p=" RSA_SPKI);
	kp_expect_ok("v=DKIM1; g=joe; p=" RSA_SPKI);
	kp_expect_ok("v=DKIM1; n=a note with spaces; x_new=1; p=" RSA_SPKI);
}

/* Larger than the configured limit: DKK_R_KEY_SIZE (the verifier makes
 * it a policy result); at the limit: accepted. */
static void
keyrec_rsa_over_limit(void)
{
	struct kp k;

	kp_parse_max(&k, "v=DKIM1; p=" RSA_SPKI, 1023);
	CU_ASSERT_EQUAL(k.rc, DKK_ESYNTAX);
	CU_ASSERT_EQUAL(k.reason, DKK_R_KEY_SIZE);
	CU_ASSERT_PTR_NULL(k.kr.key);
	kp_clear(&k);
	kp_parse_max(&k, "v=DKIM1; p=" RSA_SPKI, 1024);
	CU_ASSERT_EQUAL(k.rc, DKK_OK);
	kp_clear(&k);
}

static void
keyrec_syntax_error(void)
{
	kp_expect_bad("v=DKIM1; p", DKK_R_KEY_SYNTAX);
	kp_expect_bad("v=DKIM1;; p=" RSA_SPKI, DKK_R_KEY_SYNTAX);
	kp_expect_bad("v=DKIM1; p=" RSA_SPKI "; p=" RSA_SPKI,
	    DKK_R_KEY_SYNTAX);
}

/* RFC 8017 8.2.2: an RSA signature is as long as the modulus.  The first
 * signature whose leading octet is 0 is checked without that octet (the
 * same number), and with one more 0 octet in front. */
static void
keyrec_rsa_signature_length(void)
{
	struct unit_fx fx;
	struct kp k;
	uint8_t digest[32] = { 0 }, *sig = NULL, *longer;
	size_t len = 0;
	unsigned i;
	char *txt;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, NULL), 0);
	CU_ASSERT_FATAL(asprintf(&txt, "v=DKIM1; p=%s", fx.rsa_p) > 0);
	kp_parse(&k, txt);
	CU_ASSERT_EQUAL_FATAL(k.rc, DKK_OK);
	for (i = 0; i < 5000; i++) {
		memcpy(digest, &i, sizeof(i));
		free(sig);
		CU_ASSERT_EQUAL_FATAL(privkey_sign(fx.rsa, digest, &sig, &len),
		    DKK_OK);
		if (sig[0] == 0)
			break;
	}
	CU_ASSERT_FATAL(i < 5000 && len == 128);
	CU_ASSERT(pubkey_verify(k.kr.key, HASH_SHA256, digest, sig, len));
	CU_ASSERT(!pubkey_verify(k.kr.key, HASH_SHA256, digest, sig + 1,
	    len - 1));
	longer = calloc(1, len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
	memcpy(longer + 1, sig, len);
	CU_ASSERT(!pubkey_verify(k.kr.key, HASH_SHA256, digest, longer,
	    len + 1));
	free(longer);
	free(sig);
	free(txt);
	kp_clear(&k);
	unit_fx_free(&fx);
}

static const struct unit_test keyrec_tests[] = {
	{ "keyrec_rsa_defaults", keyrec_rsa_defaults },
	{ "keyrec_version_first_or_absent", keyrec_version_first_or_absent },
	{ "keyrec_version_other_rejected", keyrec_version_other_rejected },
	{ "keyrec_ed25519_32_bytes", keyrec_ed25519_32_bytes },
	{ "keyrec_ed25519_wrong_length", keyrec_ed25519_wrong_length },
	{ "keyrec_unknown_key_type", keyrec_unknown_key_type },
	{ "keyrec_hash_list", keyrec_hash_list },
	{ "keyrec_service_types", keyrec_service_types },
	{ "keyrec_flags", keyrec_flags },
	{ "keyrec_empty_p_revoked", keyrec_empty_p_revoked },
	{ "keyrec_missing_p", keyrec_missing_p },
	{ "keyrec_pkcs1_rsa_accepted", keyrec_pkcs1_rsa_accepted },
	{ "keyrec_spki_with_fws", keyrec_spki_with_fws },
	{ "keyrec_garbage_p", keyrec_garbage_p },
	{ "keyrec_granularity_ignored", keyrec_granularity_ignored },
	{ "keyrec_rsa_over_limit", keyrec_rsa_over_limit },
	{ "keyrec_syntax_error", keyrec_syntax_error },
	{ "keyrec_rsa_signature_length", keyrec_rsa_signature_length },
	{ NULL, NULL }
};

void
suite_keyrec(void)
{
	unit_suite("keyrec", keyrec_tests);
}
