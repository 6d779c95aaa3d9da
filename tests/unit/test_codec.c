/*
 * test_codec.c: base64 with the FWS DKIM allows inside it, and
 * dkim-quoted-printable (core/codec.c; RFC 6376 2.11, RFC 4648).
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* Assert that s decodes to the len octets of want. */
static void
b64_expect(const char *s, const char *want, size_t len)
{
	uint8_t *out = NULL;
	size_t n = (size_t)-1;

	CU_ASSERT_EQUAL_FATAL(b64_decode(s, strlen(s), &out, &n), DKK_OK);
	CU_ASSERT_EQUAL(n, len);
	if (n == len)
		CU_ASSERT(memcmp(out, want, len) == 0);
	free(out);
}

static void
b64_expect_bad(const char *s, size_t len)
{
	uint8_t *out = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(b64_decode(s, len, &out, &n), DKK_ESYNTAX);
	CU_ASSERT_PTR_NULL(out);
	free(out);
}

/* RFC 4648 10. */
static void
codec_b64_decode_rfc4648_vectors(void)
{
	b64_expect("", "", 0);
	b64_expect("Zg==", "f", 1);
	b64_expect("Zm8=", "fo", 2);
	b64_expect("Zm9v", "foo", 3);
	b64_expect("Zm9vYg==", "foob", 4);
	b64_expect("Zm9vYmE=", "fooba", 5);
	b64_expect("Zm9vYmFy", "foobar", 6);
}

/* RFC 6376 2.4: base64string allows FWS anywhere, padding included. */
static void
codec_b64_decode_skips_fws(void)
{
	b64_expect(" Zm9v\r\n\tYmFy ", "foobar", 6);
	b64_expect("Z m 9 v Y g", "foob", 4);
	b64_expect("Zm9vYg\r\n =\t=", "foob", 4);
	b64_expect(" \r\n\t", "", 0);
}

/* Padding may be left out, but what is there must complete the group;
 * RFC 6376 2.4 allows at most two "=". */
static void
codec_b64_decode_padding_rules(void)
{
	b64_expect("Zm9vYg", "foob", 4);
	b64_expect("Zm9vYmE", "fooba", 5);
	b64_expect_bad("Zm9vYg=", 7);
	b64_expect_bad("Zm9vYg===", 9);
	b64_expect_bad("Zm9v=", 5);
	b64_expect_bad("Zm9vYmE==", 9);
	b64_expect_bad("=", 1);
	b64_expect_bad("====", 4);
	b64_expect_bad("Zm9v====", 8);
	b64_expect_bad("Zg======", 8);
}

static void
codec_b64_decode_data_after_padding(void)
{
	b64_expect_bad("Zg==Zg==", 8);
	b64_expect_bad("Zm8=Zm9v", 8);
	b64_expect_bad("Zg= =x", 6);
}

static void
codec_b64_decode_lone_char_group(void)
{
	b64_expect_bad("Z", 1);
	b64_expect_bad("Zm9vY", 5);
	b64_expect_bad("Zm9vY===", 8);
}

static void
codec_b64_decode_garbage(void)
{
	b64_expect_bad("Zm9v!mFy", 8);
	b64_expect_bad("Zm9v-_", 6);	/* base64url is not base64 */
	b64_expect_bad("Zm9v;", 5);
	b64_expect_bad("Zm9v\xc3\xa9", 6);
	b64_expect_bad("Zm\0v", 4);
	b64_expect_bad("Zm9v\v", 5);	/* VT is not FWS */
}

/* Only len octets are read: a following NUL or garbage is not seen. */
static void
codec_b64_decode_uses_length(void)
{
	uint8_t *out;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(b64_decode("Zm9v!!", 4, &out, &n), DKK_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(memcmp(out, "foo", 3) == 0);
	free(out);
}

static void
codec_b64_encode_rfc4648_vectors(void)
{
	static const char *const want[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"
	};
	char *e;
	size_t i;

	for (i = 0; i < 7; i++) {
		e = b64_encode((const uint8_t *)"foobar", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		CU_ASSERT_STRING_EQUAL(e, want[i]);
		free(e);
	}
}

/* Every length up to 100 and every octet value survive a round trip. */
static void
codec_b64_encode_decode_round_trip(void)
{
	uint8_t data[256], *out;
	uint32_t x = 12345;
	size_t i, len, n;
	char *e;

	for (i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = i < 128 ? (uint8_t)(x >> 16) : (uint8_t)i;
	}
	for (len = 0; len <= sizeof(data); len++) {
		const uint8_t *src = len <= 100 ? data : data + 256 - len;

		e = b64_encode(src, len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		CU_ASSERT_EQUAL(strlen(e), (len + 2) / 3 * 4);
		CU_ASSERT_EQUAL_FATAL(b64_decode(e, strlen(e), &out, &n),
		    DKK_OK);
		CU_ASSERT_EQUAL(n, len);
		CU_ASSERT(n == len && memcmp(out, src, len) == 0);
		free(out);
		free(e);
	}
}

static void
qp_expect(const char *s, const char *want)
{
	char *out = NULL;

	CU_ASSERT_EQUAL_FATAL(qp_decode(s, strlen(s), &out), DKK_OK);
	CU_ASSERT_STRING_EQUAL(out, want);
	free(out);
}

static void
qp_expect_bad(const char *s)
{
	char *out = NULL;

	CU_ASSERT_EQUAL(qp_decode(s, strlen(s), &out), DKK_ESYNTAX);
	CU_ASSERT_PTR_NULL(out);
	free(out);
}

static void
codec_qp_decode_plain(void)
{
	qp_expect("joe@football.example.com", "joe@football.example.com");
	qp_expect("", "");
	qp_expect("!#$%&'*+-/?^_`{|}~\"<>", "!#$%&'*+-/?^_`{|}~\"<>");
}

/* RFC 6376 2.11: "=XX" stands for the octet. */
static void
codec_qp_decode_hex_escapes(void)
{
	qp_expect("joe=3Bsmith@example.com", "joe;smith@example.com");
	qp_expect("a=3Db", "a=b");
	qp_expect("=20x=09", " x\t");
	qp_expect("=7C=7c", "||");	/* lowercase hex tolerated (RFC 2045) */
	qp_expect("=C3=A9t=C3=A9", "\xc3\xa9t\xc3\xa9");
}

/* RFC 6376 2.11: FWS in the encoded text is ignored. */
static void
codec_qp_decode_ignores_fws(void)
{
	qp_expect(" joe\r\n\t@ exa mple.com ", "joe@example.com");
	qp_expect("a=3B\r\n b", "a;b");
}

static void
codec_qp_decode_bad_escapes(void)
{
	qp_expect_bad("abc=");
	qp_expect_bad("abc=4");
	qp_expect_bad("=G1");
	qp_expect_bad("=1G");
	qp_expect_bad("= 41");
	qp_expect_bad("==41");
}

/* A decoded NUL would cut the string: refused. */
static void
codec_qp_decode_nul_refused(void)
{
	qp_expect_bad("a=00b");
}

/* dkim-safe-char is %x21-3A / %x3C / %x3E-7E: no ";", no controls. */
static void
codec_qp_decode_unsafe_chars(void)
{
	qp_expect_bad("a;b");
	qp_expect_bad("a\x01" "b");
	qp_expect_bad("a\x7f");
	qp_expect_bad("a\vb");
}

/* RFC 8616: UTF-8 addresses are accepted raw. */
static void
codec_qp_decode_utf8_raw(void)
{
	qp_expect("j\xc3\xb6rg@b\xc3\xbc" "cher.example",
	    "j\xc3\xb6rg@b\xc3\xbc" "cher.example");
}

static const struct unit_test codec_tests[] = {
	{ "codec_b64_decode_rfc4648_vectors",
	    codec_b64_decode_rfc4648_vectors },
	{ "codec_b64_decode_skips_fws", codec_b64_decode_skips_fws },
	{ "codec_b64_decode_padding_rules", codec_b64_decode_padding_rules },
	{ "codec_b64_decode_data_after_padding",
	    codec_b64_decode_data_after_padding },
	{ "codec_b64_decode_lone_char_group",
	    codec_b64_decode_lone_char_group },
	{ "codec_b64_decode_garbage", codec_b64_decode_garbage },
	{ "codec_b64_decode_uses_length", codec_b64_decode_uses_length },
	{ "codec_b64_encode_rfc4648_vectors",
	    codec_b64_encode_rfc4648_vectors },
	{ "codec_b64_encode_decode_round_trip",
	    codec_b64_encode_decode_round_trip },
	{ "codec_qp_decode_plain", codec_qp_decode_plain },
	{ "codec_qp_decode_hex_escapes", codec_qp_decode_hex_escapes },
	{ "codec_qp_decode_ignores_fws", codec_qp_decode_ignores_fws },
	{ "codec_qp_decode_bad_escapes", codec_qp_decode_bad_escapes },
	{ "codec_qp_decode_nul_refused", codec_qp_decode_nul_refused },
	{ "codec_qp_decode_unsafe_chars", codec_qp_decode_unsafe_chars },
	{ "codec_qp_decode_utf8_raw", codec_qp_decode_utf8_raw },
	{ NULL, NULL }
};

void
suite_codec(void)
{
	unit_suite("codec", codec_tests);
}
