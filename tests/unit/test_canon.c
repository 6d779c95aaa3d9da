/*
 * test_canon.c: canonicalisation, RFC 6376 3.4 (core/dkim/canon.c).  Bodies are
 * checked by hashing: the expected canonical form is hashed directly and
 * compared with what the streaming canonicaliser fed its sink.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* RFC 6376 3.4.3 and 3.4.4: the SHA-256 of CRLF and of nothing. */
#define SHA256_CRLF "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="
#define SHA256_EMPTY "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void
hdr_expect(enum dkk_canon c, const char *field, const char *want)
{
	struct buf out;

	buf_init(&out);
	CU_ASSERT_EQUAL_FATAL(canon_header(&out, c, field, strlen(field), true),
	    DKK_OK);
	CU_ASSERT_EQUAL(out.len, strlen(want));
	CU_ASSERT_STRING_EQUAL(out.p, want);
	buf_clear(&out);
}

static void
canon_simple_header_unchanged(void)
{
	hdr_expect(DKK_CANON_SIMPLE, "SubJect \t:  Hi \r\n\tthere  ",
	    "SubJect \t:  Hi \r\n\tthere  \r\n");
	hdr_expect(DKK_CANON_SIMPLE, "X:", "X:\r\n");
}

/* RFC 6376 3.4.5, the header part of the example. */
static void
canon_relaxed_header_rfc_example(void)
{
	hdr_expect(DKK_CANON_RELAXED, "A: X", "a:X\r\n");
	hdr_expect(DKK_CANON_RELAXED, "B : Y\t\r\n\tZ  ", "b:Y Z\r\n");
	hdr_expect(DKK_CANON_SIMPLE, "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n");
}

static void
canon_relaxed_header_unfolds(void)
{
	hdr_expect(DKK_CANON_RELAXED, "Subject: a\r\n b\r\n\tc",
	    "subject:a b c\r\n");
	hdr_expect(DKK_CANON_RELAXED, "Subject: a\r\n\r\n b", "subject:a b\r\n");
}

static void
canon_relaxed_header_wsp_runs(void)
{
	hdr_expect(DKK_CANON_RELAXED, "To: a \t  b\t\tc", "to:a b c\r\n");
	hdr_expect(DKK_CANON_RELAXED, "To: a  \r\n \t b", "to:a b\r\n");
}

static void
canon_relaxed_header_wsp_around_colon(void)
{
	hdr_expect(DKK_CANON_RELAXED, "Subject \t :\t  x", "subject:x\r\n");
	hdr_expect(DKK_CANON_RELAXED, "Subject:\r\n x", "subject:x\r\n");
	hdr_expect(DKK_CANON_RELAXED, "Subject:x  \t", "subject:x\r\n");
	hdr_expect(DKK_CANON_RELAXED, "X-Empty: \t ", "x-empty:\r\n");
	hdr_expect(DKK_CANON_RELAXED, "X-Empty:", "x-empty:\r\n");
}

/* Only the name is lowercased; a colon in the value is kept. */
static void
canon_relaxed_header_name_lowercased(void)
{
	hdr_expect(DKK_CANON_RELAXED, "DKIM-Signature: V=1; A=B",
	    "dkim-signature:V=1; A=B\r\n");
	hdr_expect(DKK_CANON_RELAXED, "Date: 21:00:37 PDT",
	    "date:21:00:37 PDT\r\n");
}

/* crlf false: the signature field is hashed without its line end. */
static void
canon_header_without_crlf(void)
{
	struct buf out;

	buf_init(&out);
	CU_ASSERT_EQUAL_FATAL(canon_header(&out, DKK_CANON_RELAXED,
	    "DKIM-Signature: a=1;\r\n b=", 25, false), DKK_OK);
	CU_ASSERT_STRING_EQUAL(out.p, "dkim-signature:a=1; b=");
	CU_ASSERT_EQUAL_FATAL(canon_header(&out, DKK_CANON_SIMPLE, "X: y", 4,
	    false), DKK_OK);
	CU_ASSERT_STRING_EQUAL(out.p, "dkim-signature:a=1; b=X: y");
	buf_clear(&out);
}

/* Set: body_b64() turns relaxed's 64-octet path off (struct body's wide,
 * on where the CPU has AVX-512), so that the 16-octet one is checked too. */
static bool narrow;

/* Body helpers: feed chunks, return the base64 of the sink's digest. */
static char *
body_b64(enum dkk_canon c, const char *data, size_t len, size_t chunk,
    uint64_t limit, uint64_t *total)
{
	struct body *b = malloc(sizeof(*b));
	size_t idx, off, n;
	char *out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	body_init(b, c);
	if (narrow)
		b->wide = false;
	CU_ASSERT_EQUAL_FATAL(body_add_sink(b, HASH_SHA256, limit, &idx),
	    DKK_OK);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		body_feed(b, data + off, n);
	}
	body_finish(b);
	out = b64_encode(b->sinks[idx].digest, 32);
	if (total != NULL)
		*total = b->total;
	body_clear(b);
	free(b);
	return out;
}

static char *
sha256_b64(const char *data, size_t len)
{
	struct hash h;
	uint8_t d[HASH_MAX];

	hash_init(&h, HASH_SHA256);
	hash_update(&h, data, len);
	hash_digest(&h, d);
	return b64_encode(d, 32);
}

/* Assert that body canonicalises to want (compared by SHA-256). */
static void
body_expect(enum dkk_canon c, const char *body, const char *want)
{
	char *got = body_b64(c, body, strlen(body), 0, UINT64_MAX, NULL);
	char *exp = sha256_b64(want, strlen(want));

	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(exp);
	if (strcmp(got, exp) != 0) {
		fprintf(stderr, "canon %s of \"%s\": got %s, want %s\n",
		    c == DKK_CANON_SIMPLE ? "simple" : "relaxed", body, got, exp);
		CU_FAIL("canonical body differs");
	}
	free(got);
	free(exp);
}

/* RFC 6376 3.4.5, the body part of the example. */
static void
canon_body_rfc_example(void)
{
	body_expect(DKK_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n",
	    " C \r\nD \t E\r\n");
	body_expect(DKK_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n",
	    " C\r\nD E\r\n");
}

static void
canon_simple_body_trailing_empty_lines(void)
{
	body_expect(DKK_CANON_SIMPLE, "a\r\n\r\n\r\n\r\n", "a\r\n");
	body_expect(DKK_CANON_SIMPLE, "a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n");
}

/* RFC 6376 3.4.3: an empty body is CRLF; its hash is in the RFC. */
static void
canon_simple_body_empty_is_crlf(void)
{
	char *h;

	h = body_b64(DKK_CANON_SIMPLE, "", 0, 0, UINT64_MAX, NULL);
	CU_ASSERT_STRING_EQUAL(h, SHA256_CRLF);
	free(h);
	h = body_b64(DKK_CANON_SIMPLE, "\r\n\r\n\r\n", 6, 0, UINT64_MAX, NULL);
	CU_ASSERT_STRING_EQUAL(h, SHA256_CRLF);
	free(h);
}

/* RFC 6376 3.4.4: an empty body stays empty under relaxed. */
static void
canon_relaxed_body_empty_is_empty(void)
{
	uint64_t total = 1;
	char *h;

	h = body_b64(DKK_CANON_RELAXED, "", 0, 0, UINT64_MAX, &total);
	CU_ASSERT_STRING_EQUAL(h, SHA256_EMPTY);
	CU_ASSERT_EQUAL(total, 0);
	free(h);
	h = body_b64(DKK_CANON_RELAXED, "\r\n \t\r\n\t\r\n", 9, 0, UINT64_MAX,
	    NULL);
	CU_ASSERT_STRING_EQUAL(h, SHA256_EMPTY);
	free(h);
}

static void
canon_relaxed_body_trailing_empty_lines(void)
{
	body_expect(DKK_CANON_RELAXED, "a\r\n\r\n\r\n", "a\r\n");
	body_expect(DKK_CANON_RELAXED, "a\r\n \r\n\t\r\n", "a\r\n");
	body_expect(DKK_CANON_RELAXED, "a\r\n \r\nb", "a\r\n\r\nb\r\n");
}

static void
canon_relaxed_body_trailing_wsp(void)
{
	body_expect(DKK_CANON_RELAXED, "abc \t \r\ndef\t\r\n",
	    "abc\r\ndef\r\n");
	body_expect(DKK_CANON_RELAXED, "abc   ", "abc\r\n");
}

static void
canon_relaxed_body_wsp_runs(void)
{
	body_expect(DKK_CANON_RELAXED, "a \t b\t\tc\r\n", "a b c\r\n");
	body_expect(DKK_CANON_RELAXED, "  lead\r\n", " lead\r\n");
}

/* simple keeps whitespace: a line of blanks is not an empty line. */
static void
canon_simple_body_trailing_wsp_lines(void)
{
	body_expect(DKK_CANON_SIMPLE, "a \r\n \r\n\t\r\n\r\n",
	    "a \r\n \r\n\t\r\n");
	body_expect(DKK_CANON_SIMPLE, "a  \t b\r\n", "a  \t b\r\n");
}

/* RFC 6376 3.4.3 and 3.4.4: a last line without CRLF gets one. */
static void
canon_body_missing_final_crlf(void)
{
	body_expect(DKK_CANON_SIMPLE, "abc", "abc\r\n");
	body_expect(DKK_CANON_SIMPLE, "abc\r\n\r\nx", "abc\r\n\r\nx\r\n");
	body_expect(DKK_CANON_RELAXED, "abc", "abc\r\n");
	body_expect(DKK_CANON_SIMPLE, " ", " \r\n");
	body_expect(DKK_CANON_RELAXED, " ", "");
}

/* Bare LF line ends are taken as CRLF. */
static void
canon_body_bare_lf_equals_crlf(void)
{
	static const char *const lf[] = {
		"a\nb\n\n\n", "\n", "x \n\n y\t\n", "a\r\nb\nc", NULL
	};
	static const char *const crlf[] = {
		"a\r\nb\r\n\r\n\r\n", "\r\n", "x \r\n\r\n y\t\r\n", "a\r\nb\r\nc",
		NULL
	};
	char *h1, *h2;
	size_t i;
	int c;

	for (c = 0; c < 2; c++)
		for (i = 0; lf[i] != NULL; i++) {
			h1 = body_b64(c, lf[i], strlen(lf[i]), 0, UINT64_MAX,
			    NULL);
			h2 = body_b64(c, crlf[i], strlen(crlf[i]), 0, UINT64_MAX,
			    NULL);
			CU_ASSERT_STRING_EQUAL(h1, h2);
			free(h1);
			free(h2);
		}
}

/* A CR not followed by LF is an ordinary octet. */
static void
canon_body_lone_cr(void)
{
	body_expect(DKK_CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n");
	body_expect(DKK_CANON_RELAXED, "a \rb\r\n", "a \rb\r\n");
	body_expect(DKK_CANON_SIMPLE, "a\r\r\n", "a\r\r\n");
	body_expect(DKK_CANON_SIMPLE, "\r", "\r\r\n");
	body_expect(DKK_CANON_SIMPLE, "a\r\n\r", "a\r\n\r\r\n");
}

/* NUL and 8-bit octets are body content like any other. */
static void
canon_body_binary_octets(void)
{
	static const char body[] = "a\0b\xff\r\n";
	char *h1 = body_b64(DKK_CANON_RELAXED, body, 6, 0, UINT64_MAX, NULL);
	char *h2 = sha256_b64(body, 6);

	CU_ASSERT_STRING_EQUAL(h1, h2);
	free(h1);
	free(h2);
}

/* l=: a sink hashes only the first limit canonical octets. */
static void
canon_body_length_limit_sinks(void)
{
	static const char body[] = "Hello  World \r\n\r\n";
	struct body b;
	size_t i0, i5, iall, i5b;
	char *h, *want;

	body_init(&b, DKK_CANON_RELAXED);
	CU_ASSERT_EQUAL_FATAL(body_add_sink(&b, HASH_SHA256, 0, &i0), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(body_add_sink(&b, HASH_SHA256, 5, &i5), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(body_add_sink(&b, HASH_SHA256, UINT64_MAX,
	    &iall), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(body_add_sink(&b, HASH_SHA1, 5, &i5b), DKK_OK);
	body_feed(&b, body, strlen(body));
	body_finish(&b);
	CU_ASSERT_EQUAL(b.total, 13);	/* "Hello World\r\n" */
	CU_ASSERT_EQUAL(b.sinks[i0].fed, 0);
	CU_ASSERT_EQUAL(b.sinks[i5].fed, 5);
	CU_ASSERT_EQUAL(b.sinks[iall].fed, 13);
	h = b64_encode(b.sinks[i0].digest, 32);
	CU_ASSERT_STRING_EQUAL(h, SHA256_EMPTY);
	free(h);
	h = b64_encode(b.sinks[i5].digest, 32);
	want = sha256_b64("Hello", 5);
	CU_ASSERT_STRING_EQUAL(h, want);
	free(want);
	free(h);
	h = b64_encode(b.sinks[i5b].digest, 20);
	CU_ASSERT_STRING_EQUAL(h, "9/+ei3uy4Jtwk1pdeF4MxdnQq/A=");	/* SHA-1 */
	free(h);
	body_clear(&b);
}

/* A limit larger than the body: the sink sees the whole body. */
static void
canon_body_length_limit_past_end(void)
{
	uint64_t total;
	char *h = body_b64(DKK_CANON_SIMPLE, "", 0, 0, 100, &total);

	CU_ASSERT_STRING_EQUAL(h, SHA256_CRLF);
	CU_ASSERT_EQUAL(total, 2);
	free(h);
}

/* bodyset: sinks agreeing in canonicalisation, hash and limit are
 * shared; the others are not. */
static void
canon_bodyset_shares_sinks(void)
{
	struct bodyset bs;
	size_t a, b, c, d;
	char *hr, *hs;

	bodyset_init(&bs);
	CU_ASSERT_EQUAL_FATAL(bodyset_sink(&bs, DKK_CANON_RELAXED, HASH_SHA256,
	    UINT64_MAX, &a), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(bodyset_sink(&bs, DKK_CANON_RELAXED, HASH_SHA256,
	    UINT64_MAX, &b), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(bodyset_sink(&bs, DKK_CANON_RELAXED, HASH_SHA256,
	    7, &c), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(bodyset_sink(&bs, DKK_CANON_SIMPLE, HASH_SHA256,
	    UINT64_MAX, &d), DKK_OK);
	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_NOT_EQUAL(a, c);
	bodyset_feed(&bs, "", 0);
	bodyset_finish(&bs);
	hr = b64_encode(bodyset_get(&bs, DKK_CANON_RELAXED, a)->digest, 32);
	hs = b64_encode(bodyset_get(&bs, DKK_CANON_SIMPLE, d)->digest, 32);
	CU_ASSERT_STRING_EQUAL(hr, SHA256_EMPTY);
	CU_ASSERT_STRING_EQUAL(hs, SHA256_CRLF);
	free(hr);
	free(hs);
	bodyset_clear(&bs);
}

/* A body exercising every state of the canonicaliser: WSP runs, lone CR,
 * bare LF, CRLF split, blank and whitespace-only lines, no final CRLF. */
static const char tricky_body[] =
    "  Hello \t World  \r\n\r\n\tline\twith\ttabs \r\nbare LF\n"
    "lone\rCR\r\r\n \r\n\t\r\n\r\nmid\r\n\r\n\r\n  x \t\r\n \r\n\r\nend  ";

/* Every 2-way split and byte-by-byte feeding give the same hash. */
static void
canon_body_chunking_invariant(void)
{
	size_t len = strlen(tricky_body), k;
	int c;

	for (c = 0; c < 2; c++) {
		char *whole = body_b64(c, tricky_body, len, 0, UINT64_MAX, NULL);
		char *bytes = body_b64(c, tricky_body, len, 1, UINT64_MAX, NULL);

		CU_ASSERT_STRING_EQUAL(whole, bytes);
		for (k = 0; k <= len; k++) {
			struct body b;
			size_t idx;
			char *h;

			body_init(&b, c);
			CU_ASSERT_EQUAL_FATAL(body_add_sink(&b, HASH_SHA256,
			    UINT64_MAX, &idx), DKK_OK);
			body_feed(&b, tricky_body, k);
			body_feed(&b, tricky_body + k, len - k);
			body_finish(&b);
			h = b64_encode(b.sinks[idx].digest, 32);
			if (strcmp(h, whole) != 0) {
				fprintf(stderr, "canon %d split at %zu differs\n",
				    c, k);
				CU_FAIL("split changes the body hash");
			}
			free(h);
			body_clear(&b);
		}
		free(whole);
		free(bytes);
	}
}

/* Lines that take the fast path (whole, CRLF, already canonical) mixed
 * with ones that do not: whole-body feeding, 7- and 61-octet chunks and
 * octet by octet (always the slow path) agree, with and without l=. */
static void
canon_body_fast_path_agrees(void)
{
	static const char *const pieces[] = {
		"plain words here\r\n", "\r\n", "two  spaces\r\n",
		"tab\there\r\n", "trailing \r\n", "bare lf\n", "\n",
		" lead\r\n", "lone\rcr\r\n", " \r\n",
		"0123456789abcdef0123456789abcdef0123456789  x\r\n",
		"0123456789abcdef0123456789abcdef0123456789\t\r\n",
		"0123456789abcdef 0123456789abcdef 0123456789ab x\r\n",
		"a \rb\r\n", "a\t\rb  c\n", "x  \n", "y \t\r\n", "z \n",
		"q\r\r\n", "w \r \r\n", "e\t\r", "0123456789abcdef\t0123 \r\n",
		"0123456789abcdef \001ctl \002\r\n"
	};
	char body[4096], *exact;
	uint32_t r = 12345;
	size_t len, k, i;
	int c, trial;

	for (trial = 0; trial < 200; trial++) {
		len = 0;
		for (k = 0; k < 40; k++) {
			r = r * 1103515245u + 12345u;
			i = (r >> 16) % (sizeof(pieces) / sizeof(pieces[0]));
			memcpy(body + len, pieces[i], strlen(pieces[i]));
			len += strlen(pieces[i]);
		}
		/* Exactly len octets on the heap: ASan sees any read past
		 * the end by the 16-octet scans. */
		exact = malloc(len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(exact);
		memcpy(exact, body, len);
		for (c = 0; c < 2; c++) {
			uint64_t lim = trial % 3 == 0 ? (r >> 8) % len :
			    UINT64_MAX;
			char *whole = body_b64(c, exact, len, 0, lim, NULL);
			char *seven = body_b64(c, exact, len, 7, lim, NULL);
			char *odd = body_b64(c, exact, len, 61, lim, NULL);
			char *bytes = body_b64(c, exact, len, 1, lim, NULL);

			CU_ASSERT_STRING_EQUAL(whole, bytes);
			CU_ASSERT_STRING_EQUAL(seven, bytes);
			CU_ASSERT_STRING_EQUAL(odd, bytes);
			free(whole);
			free(seven);
			free(odd);
			free(bytes);
		}
		free(exact);
	}
}

/* The body hashes the same fed whole (with and without the 64-octet path),
 * in chunks of chunk octets and octet by octet (always the slow path). */
static void
body_feeds_agree(enum dkk_canon c, const char *body, size_t len,
    size_t chunk)
{
	char *whole = body_b64(c, body, len, 0, UINT64_MAX, NULL);
	char *odd = body_b64(c, body, len, chunk, UINT64_MAX, NULL);
	char *bytes = body_b64(c, body, len, 1, UINT64_MAX, NULL);
	char *thin;

	narrow = true;
	thin = body_b64(c, body, len, 0, UINT64_MAX, NULL);
	narrow = false;
	CU_ASSERT_STRING_EQUAL(whole, bytes);
	CU_ASSERT_STRING_EQUAL(thin, bytes);
	CU_ASSERT_STRING_EQUAL(odd, bytes);
	free(whole);
	free(thin);
	free(odd);
	free(bytes);
}

/* Random octets from the ones canonicalisation cares about, lines long
 * enough for the 16-octet scans: every way of feeding them agrees with
 * octet-by-octet feeding. */
static void
canon_body_random_octets_agree(void)
{
	static const char alphabet[] = "ab  \t\r\n\r\n\001xyz";
	uint32_t r = 99;
	size_t len, k;
	char *body;
	int c, trial;

	for (trial = 0; trial < 2000; trial++) {
		r = r * 1103515245u + 12345u;
		len = 1 + (r >> 16) % 300;
		body = malloc(len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		for (k = 0; k < len; k++) {
			r = r * 1103515245u + 12345u;
			body[k] = (r >> 16) % 3 == 0 ? 'a' :
			    alphabet[(r >> 18) % (sizeof(alphabet) - 1)];
		}
		for (c = 0; c < 2; c++)
			body_feeds_agree(c, body, len, 19);
		free(body);
	}
}

/* The expected canonical forms of tricky_body, computed by hand. */
static void
canon_body_tricky_expected(void)
{
	body_expect(DKK_CANON_SIMPLE, tricky_body,
	    "  Hello \t World  \r\n\r\n\tline\twith\ttabs \r\nbare LF\r\n"
	    "lone\rCR\r\r\n \r\n\t\r\n\r\nmid\r\n\r\n\r\n  x \t\r\n \r\n\r\n"
	    "end  \r\n");
	body_expect(DKK_CANON_RELAXED, tricky_body,
	    " Hello World\r\n\r\n line with tabs\r\nbare LF\r\n"
	    "lone\rCR\r\r\n\r\n\r\n\r\nmid\r\n\r\n\r\n x\r\n\r\n\r\n"
	    "end\r\n");
}

/* A body much larger than the output buffer, with a limit inside it, fed
 * in irregular chunks, hashes as it does whole. */
static void
canon_body_large_chunked(void)
{
	size_t len = 5 * BODY_OUT + 123, i, chunks[] = { 1, 7, 4096, 16383,
	    16384, 16385, 65536 };
	char *body = malloc(len), *whole, *h;
	int c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	for (i = 0; i < len; i++)
		body[i] = "ab \t\r\nxyz\n\r  \r\n"[i * 7 % 15];
	for (c = 0; c < 2; c++) {
		whole = body_b64(c, body, len, 0, 3 * BODY_OUT + 5, NULL);
		for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
			h = body_b64(c, body, len, chunks[i], 3 * BODY_OUT + 5,
			    NULL);
			CU_ASSERT_STRING_EQUAL(h, whole);
			free(h);
		}
		free(whole);
	}
	free(body);
}

/* Simple, CRLF lines over several output buffers with runs of empty
 * lines everywhere (so across the points where the span is hashed in
 * pieces) and at the end: whole, in chunks and octet by octet agree. */
static void
canon_simple_body_long_spans_agree(void)
{
	size_t cap = 5 * BODY_OUT, len = 0, k;
	char *body = malloc(cap + 256);
	uint32_t r = 7;

	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	while (len < cap) {
		r = r * 1103515245u + 12345u;
		if ((r >> 16) % 5 == 0) {
			for (k = 0; k < (r >> 20) % 40; k++)
				len += (size_t)sprintf(body + len, "\r\n");
		} else {
			len += (size_t)sprintf(body + len, "line %u  with text \r\n",
			    r >> 8);
		}
	}
	len += (size_t)sprintf(body + len, "\r\n\r\n");
	body_feeds_agree(DKK_CANON_SIMPLE, body, len, 5003);
	body_feeds_agree(DKK_CANON_SIMPLE, body, len, BODY_OUT + 1);
	free(body);
}

/* Relaxed lines longer than the output buffer, whose WSP runs, CRs and
 * line ends fall on every offset around its flushes (a plain line too, so
 * that " \r\n" straddles one): whole, in odd chunks and octet by octet
 * agree. */
static void
canon_body_long_lines_agree(void)
{
	static const char *const tails[] = { " \r\n", "\t \r\n", "x\r\n",
	    " \r \r\n", "\r\r\n", "  \n", "\r\n\r\n \r\n" };
	size_t len, i, k, t, shift;
	char *body;

	body = malloc(2 * BODY_OUT + 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++)
		for (shift = 0; shift < 48; shift++) {
			len = 0;
			for (k = 0; k < 2; k++) {
				size_t n = BODY_OUT - 40 + shift;

				for (i = 0; i < n; i++)
					body[len + i] = k == 0 || i % 5 != 4 ?
					    (k == 1 && i % 11 == 0 ? '\t' : 'a') :
					    ' ';
				len += n;
				memcpy(body + len, tails[t], strlen(tails[t]));
				len += strlen(tails[t]);
			}
			body_feeds_agree(DKK_CANON_RELAXED, body, len, 5003);
		}
	free(body);
}

/* The 64-octet path's corners at every offset of its blocks: WSP runs,
 * WSP before a line end and before a lone CR, TAB, one bare LF and more,
 * empty and WSP-only lines, each after a run of plain octets of every
 * length from 0 to 140, inside lines long enough for the path to take. */
static void
canon_body_wide_edges(void)
{
	static const char *const cuts[] = { " ", "  ", "\t", " \t \t",
	    " \r\n", "  \r\n", "\t\r\n", " \r", " \rz", "\r\n", "\n", " \n",
	    "\r\r\n", "\r\n\r\n", "\r\n \r\n", "\r\n\t\t\r\n", "\r", "\n\n",
	    " \n\t\n", "\r\n\n", "x\nx\nx\n" };
	char body[512], want[80];
	size_t i, k, len, shift;

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		for (shift = 0; shift <= 140; shift++) {
			len = 0;
			for (k = 0; k < 2; k++) {
				memset(body + len, 'a', shift);
				len += shift;
				memcpy(body + len, cuts[i], strlen(cuts[i]));
				len += strlen(cuts[i]);
				memset(body + len, 'b', 100);
				len += 100;
				memcpy(body + len, " \r\n", 3);
				len += 3;
			}
			body_feeds_agree(DKK_CANON_RELAXED, body, len, 61);
		}
	/* A first line of WSP alone, longer than a block: nothing before it
	 * in the output for its SP to be taken back from. */
	memset(body, ' ', 70);
	memcpy(body + 70, "\r\n", 2);
	memset(body + 72, 'a', 70);
	memcpy(body + 142, "  \r\n\r\n", 7);
	memcpy(want, "\r\n", 2);
	memset(want + 2, 'a', 70);
	memcpy(want + 72, "\r\n", 3);
	body_expect(DKK_CANON_RELAXED, body, want);
}

static const struct unit_test canon_tests[] = {
	{ "canon_simple_header_unchanged", canon_simple_header_unchanged },
	{ "canon_relaxed_header_rfc_example",
	    canon_relaxed_header_rfc_example },
	{ "canon_relaxed_header_unfolds", canon_relaxed_header_unfolds },
	{ "canon_relaxed_header_wsp_runs", canon_relaxed_header_wsp_runs },
	{ "canon_relaxed_header_wsp_around_colon",
	    canon_relaxed_header_wsp_around_colon },
	{ "canon_relaxed_header_name_lowercased",
	    canon_relaxed_header_name_lowercased },
	{ "canon_header_without_crlf", canon_header_without_crlf },
	{ "canon_body_rfc_example", canon_body_rfc_example },
	{ "canon_simple_body_trailing_empty_lines",
	    canon_simple_body_trailing_empty_lines },
	{ "canon_simple_body_empty_is_crlf", canon_simple_body_empty_is_crlf },
	{ "canon_relaxed_body_empty_is_empty",
	    canon_relaxed_body_empty_is_empty },
	{ "canon_relaxed_body_trailing_empty_lines",
	    canon_relaxed_body_trailing_empty_lines },
	{ "canon_relaxed_body_trailing_wsp", canon_relaxed_body_trailing_wsp },
	{ "canon_relaxed_body_wsp_runs", canon_relaxed_body_wsp_runs },
	{ "canon_simple_body_trailing_wsp_lines",
	    canon_simple_body_trailing_wsp_lines },
	{ "canon_body_missing_final_crlf", canon_body_missing_final_crlf },
	{ "canon_body_bare_lf_equals_crlf", canon_body_bare_lf_equals_crlf },
	{ "canon_body_lone_cr", canon_body_lone_cr },
	{ "canon_body_binary_octets", canon_body_binary_octets },
	{ "canon_body_length_limit_sinks", canon_body_length_limit_sinks },
	{ "canon_body_length_limit_past_end",
	    canon_body_length_limit_past_end },
	{ "canon_bodyset_shares_sinks", canon_bodyset_shares_sinks },
	{ "canon_body_tricky_expected", canon_body_tricky_expected },
	{ "canon_body_chunking_invariant", canon_body_chunking_invariant },
	{ "canon_body_fast_path_agrees", canon_body_fast_path_agrees },
	{ "canon_body_random_octets_agree", canon_body_random_octets_agree },
	{ "canon_body_large_chunked", canon_body_large_chunked },
	{ "canon_simple_body_long_spans_agree",
	    canon_simple_body_long_spans_agree },
	{ "canon_body_long_lines_agree", canon_body_long_lines_agree },
	{ "canon_body_wide_edges", canon_body_wide_edges },
	{ NULL, NULL }
};

void
suite_canon(void)
{
	unit_suite("canon", canon_tests);
}
