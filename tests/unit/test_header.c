/*
 * test_header.c: collecting the header block from a stream and splitting
 * it into fields (core/mail/header.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define BIG (4u << 20)

/* Feed s in two chunks split at k; *used counts body octets' offset. */
static int
hd_feed2(struct header *h, const char *s, size_t len, size_t k,
    size_t *body)
{
	size_t used;
	int rc;

	*body = len;
	if ((rc = header_feed(h, s, k, &used)) != DKK_OK)
		return rc;
	if (h->done) {
		*body = used;
		return DKK_OK;
	}
	if ((rc = header_feed(h, s + k, len - k, &used)) != DKK_OK)
		return rc;
	if (h->done)
		*body = k + used;
	return DKK_OK;
}

/* Assert that field i is exactly text (folding included, no CRLF). */
static void
hd_expect_field(const struct header *h, size_t i, const char *text)
{
	const struct field *f;

	CU_ASSERT_FATAL(i < h->count);
	f = &h->fields[i];
	CU_ASSERT_EQUAL(f->len, strlen(text));
	CU_ASSERT(f->len == strlen(text) &&
	    memcmp(header_text(h, f), text, f->len) == 0);
}

static void
header_crlf_fields_and_body_offset(void)
{
	static const char msg[] = "From: a@example.com\r\nTo: b\r\n\r\nbody\r\n";
	struct header h;
	size_t used;
	const char *v;
	size_t vlen;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_TRUE(h.done);
	CU_ASSERT_EQUAL(used, strlen(msg) - 6);
	CU_ASSERT_EQUAL_FATAL(h.count, 2);
	hd_expect_field(&h, 0, "From: a@example.com");
	hd_expect_field(&h, 1, "To: b");
	CU_ASSERT_TRUE(header_is(&h, &h.fields[0], "from"));
	CU_ASSERT_FALSE(header_is(&h, &h.fields[0], "fro"));
	v = header_value(&h, &h.fields[1], &vlen);
	CU_ASSERT_EQUAL(vlen, 2);
	CU_ASSERT(memcmp(v, " b", 2) == 0);
	CU_ASSERT_STRING_EQUAL(h.raw.p, "From: a@example.com\r\nTo: b\r\n");
	header_clear(&h);
}

/* Bare LF line ends become CRLF in the block that is hashed. */
static void
header_lf_normalised_to_crlf(void)
{
	static const char msg[] = "From: a\nSubject: x\n y\n\nbody\n";
	struct header h;
	size_t used;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_TRUE(h.done);
	CU_ASSERT_EQUAL(used, strlen(msg) - 5);
	CU_ASSERT_EQUAL_FATAL(h.count, 2);
	hd_expect_field(&h, 1, "Subject: x\r\n y");
	CU_ASSERT_STRING_EQUAL(h.raw.p, "From: a\r\nSubject: x\r\n y\r\n");
	header_clear(&h);
}

/* A line starting with WSP continues the field above it. */
static void
header_folded_fields(void)
{
	static const char msg[] = "Subject: a\r\n b\r\n\tc\r\nTo: x\r\n"
	    "  y\r\nX: z\r\n\r\n";
	struct header h;
	size_t used;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_EQUAL(used, strlen(msg));
	CU_ASSERT_EQUAL_FATAL(h.count, 3);
	hd_expect_field(&h, 0, "Subject: a\r\n b\r\n\tc");
	hd_expect_field(&h, 1, "To: x\r\n  y");
	hd_expect_field(&h, 2, "X: z");
	header_clear(&h);
}

/* The blank line may be split across chunks anywhere, CRLF or LF: every
 * 2-way split gives the same block and the same body offset. */
static void
header_blank_line_split_across_chunks(void)
{
	static const char *const msgs[] = {
		"From: a\r\nTo: b\r\n\r\nbody\r\n",
		"From: a\nTo: b\n\nbody\n",
		"From: a\r\nTo: b\r\n\nbody",
		"From: a\r\n x\r\n\r\n\r\n",
	};
	size_t m, k, len, body, body0;
	struct header h0, h;

	for (m = 0; m < 4; m++) {
		len = strlen(msgs[m]);
		header_init(&h0, BIG, 100);
		CU_ASSERT_EQUAL_FATAL(hd_feed2(&h0, msgs[m], len, len, &body0),
		    DKK_OK);
		CU_ASSERT_TRUE_FATAL(h0.done);
		for (k = 0; k <= len; k++) {
			header_init(&h, BIG, 100);
			CU_ASSERT_EQUAL_FATAL(hd_feed2(&h, msgs[m], len, k,
			    &body), DKK_OK);
			CU_ASSERT_TRUE(h.done);
			CU_ASSERT_EQUAL(body, body0);
			CU_ASSERT_EQUAL(h.count, h0.count);
			CU_ASSERT(h.raw.len == h0.raw.len &&
			    memcmp(h.raw.p, h0.raw.p, h.raw.len) == 0);
			header_clear(&h);
		}
		header_clear(&h0);
	}
}

/* Byte by byte, the blank line is found exactly where it ends. */
static void
header_byte_by_byte(void)
{
	static const char msg[] = "A: 1\r\nB: 2\r\n\tcont\n\r\nrest";
	struct header h;
	size_t i, used = 0;

	header_init(&h, BIG, 100);
	for (i = 0; i < strlen(msg) && !h.done; i++)
		CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg + i, 1, &used),
		    DKK_OK);
	CU_ASSERT_TRUE(h.done);
	CU_ASSERT_EQUAL(i, strlen(msg) - 4);
	CU_ASSERT_EQUAL(used, 1);
	CU_ASSERT_EQUAL_FATAL(h.count, 2);
	hd_expect_field(&h, 1, "B: 2\r\n\tcont");
	header_clear(&h);
}

/* Input that ends inside the header: header_end() splits what came. */
static void
header_truncated_without_blank_line(void)
{
	static const char msg[] = "From: a\r\nSubject: b\r\n c";
	struct header h;
	size_t used;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_FALSE(h.done);
	CU_ASSERT_EQUAL(h.count, 0);
	CU_ASSERT_EQUAL_FATAL(header_end(&h), DKK_OK);
	CU_ASSERT_TRUE(h.done);
	CU_ASSERT_EQUAL_FATAL(h.count, 2);
	hd_expect_field(&h, 1, "Subject: b\r\n c");
	/* a second call changes nothing */
	CU_ASSERT_EQUAL(header_end(&h), DKK_OK);
	CU_ASSERT_EQUAL(h.count, 2);
	header_clear(&h);

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, "From: a\n", 8, &used), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(header_end(&h), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(h.count, 1);
	hd_expect_field(&h, 0, "From: a");
	header_clear(&h);
}

/* A message that starts with the blank line has no fields. */
static void
header_empty_block(void)
{
	struct header h;
	size_t used;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, "\r\nbody", 6, &used), DKK_OK);
	CU_ASSERT_TRUE(h.done);
	CU_ASSERT_EQUAL(used, 2);
	CU_ASSERT_EQUAL(h.count, 0);
	header_clear(&h);

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL(header_end(&h), DKK_OK);
	CU_ASSERT_EQUAL(h.count, 0);
	header_clear(&h);
}

/* The byte limit counts the block as stored (CRLF), without the blank
 * line; one octet over is DKK_ELIMIT. */
static void
header_byte_limit(void)
{
	static const char msg[] = "A: 1\r\nB: 2\r\n\r\n";
	struct header h;
	size_t used;

	header_init(&h, 12, 100);
	CU_ASSERT_EQUAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_TRUE(h.done);
	header_clear(&h);
	header_init(&h, 11, 100);
	CU_ASSERT_EQUAL(header_feed(&h, msg, strlen(msg), &used), DKK_ELIMIT);
	header_clear(&h);
	/* LF input counts as CRLF */
	header_init(&h, 11, 100);
	CU_ASSERT_EQUAL(header_feed(&h, "A: 1\nB: 2\n\n", 11, &used),
	    DKK_ELIMIT);
	header_clear(&h);
	/* no blank line yet: the limit still holds */
	header_init(&h, 100, 100);
	CU_ASSERT_EQUAL(header_feed(&h, "X: ", 3, &used), DKK_OK);
	CU_ASSERT_EQUAL(header_feed(&h, "0123456789012345678901234567890123"
	    "45678901234567890123456789012345678901234567890123456789012345"
	    "6789", 100, &used), DKK_ELIMIT);
	header_clear(&h);
}

static void
header_field_count_limit(void)
{
	static const char msg[] = "A: 1\r\nB: 2\r\n C\r\n\r\n";
	static const char msg3[] = "A: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	struct header h;
	size_t used;

	header_init(&h, BIG, 2);
	CU_ASSERT_EQUAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_EQUAL(h.count, 2);
	header_clear(&h);
	header_init(&h, BIG, 2);
	CU_ASSERT_EQUAL(header_feed(&h, msg3, strlen(msg3), &used),
	    DKK_ELIMIT);
	header_clear(&h);
	header_init(&h, BIG, 2);
	CU_ASSERT_EQUAL(header_feed(&h, msg3, 16, &used), DKK_OK);
	CU_ASSERT_EQUAL(header_end(&h), DKK_ELIMIT);
	header_clear(&h);
}

/* RFC 5322 obs-fields may have WSP before the colon; the name excludes
 * it, and relaxed canonicalisation removes it (RFC 6376 3.4.2). */
static void
header_wsp_before_colon(void)
{
	static const char msg[] = "Subject \t: hi\r\nNoColon\r\n\r\n";
	struct header h;
	const struct field *f;
	size_t used, vlen;
	const char *v;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(h.count, 2);
	f = &h.fields[0];
	CU_ASSERT_EQUAL(f->nlen, 7);
	CU_ASSERT_EQUAL(f->colon, 9);
	CU_ASSERT_TRUE(header_is(&h, f, "SUBJECT"));
	v = header_value(&h, f, &vlen);
	CU_ASSERT_EQUAL(vlen, 3);
	CU_ASSERT(memcmp(v, " hi", 3) == 0);
	f = &h.fields[1];
	CU_ASSERT_EQUAL(f->nlen, 0);
	CU_ASSERT_FALSE(header_is(&h, f, "NoColon"));
	CU_ASSERT_EQUAL(hdrsel_count(&h, "subject"), 1);
	header_clear(&h);
}

/* A 1 MiB field (folded every 70 octets) is kept whole, fed in one chunk
 * or in 1000-octet pieces. */
static void
header_one_megabyte_field(void)
{
	struct buf m;
	struct header h;
	size_t i, used = 0, off, n = 0, want;
	int pass;

	buf_init(&m);
	buf_adds(&m, "X-Big: ");
	for (i = 0; i < (1u << 20) / 72; i++)
		buf_printf(&m, "%070zu\r\n ", i);
	buf_adds(&m, "end\r\nFrom: a@example.com\r\n\r\nbody");
	CU_ASSERT_FALSE_FATAL(m.failed);
	want = m.len - strlen("\r\nFrom: a@example.com\r\n\r\nbody");
	for (pass = 0; pass < 2; pass++) {
		header_init(&h, BIG, 100);
		for (off = 0; off < m.len && !h.done; off += n) {
			n = pass == 0 ? m.len : 1000;
			if (n > m.len - off)
				n = m.len - off;
			CU_ASSERT_EQUAL_FATAL(header_feed(&h, m.p + off, n,
			    &used), DKK_OK);
		}
		CU_ASSERT_TRUE(h.done);
		CU_ASSERT_EQUAL(off - n + used, m.len - 4);
		CU_ASSERT_EQUAL_FATAL(h.count, 2);
		CU_ASSERT_EQUAL(h.fields[0].len, want);
		CU_ASSERT(h.fields[0].len > (1u << 20));
		CU_ASSERT_TRUE(header_is(&h, &h.fields[1], "From"));
		header_clear(&h);
	}
	buf_clear(&m);
}

/* NUL octets are kept, lengths rule. */
static void
header_nul_bytes_kept(void)
{
	static const char msg[] = "Subject: a\0b\r\nFrom: c\r\n\r\n";
	struct header h;
	size_t used;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg, sizeof(msg) - 1, &used),
	    DKK_OK);
	CU_ASSERT_EQUAL_FATAL(h.count, 2);
	CU_ASSERT_EQUAL(h.fields[0].len, 12);
	CU_ASSERT(memcmp(header_text(&h, &h.fields[0]), "Subject: a\0b",
	    12) == 0);
	CU_ASSERT_TRUE(header_is(&h, &h.fields[1], "From"));
	header_clear(&h);
}

/* A CR not followed by LF stays inside the line. */
static void
header_lone_cr_kept(void)
{
	static const char msg[] = "Subject: a\rb\r\nFrom: c\r\r\n\r\n";
	struct header h;
	size_t used;

	header_init(&h, BIG, 100);
	CU_ASSERT_EQUAL_FATAL(header_feed(&h, msg, strlen(msg), &used), DKK_OK);
	CU_ASSERT_TRUE(h.done);
	CU_ASSERT_EQUAL(used, strlen(msg));
	CU_ASSERT_EQUAL_FATAL(h.count, 2);
	hd_expect_field(&h, 0, "Subject: a\rb");
	hd_expect_field(&h, 1, "From: c\r");
	header_clear(&h);
}

static const struct unit_test header_tests[] = {
	{ "header_crlf_fields_and_body_offset",
	    header_crlf_fields_and_body_offset },
	{ "header_lf_normalised_to_crlf", header_lf_normalised_to_crlf },
	{ "header_folded_fields", header_folded_fields },
	{ "header_blank_line_split_across_chunks",
	    header_blank_line_split_across_chunks },
	{ "header_byte_by_byte", header_byte_by_byte },
	{ "header_truncated_without_blank_line",
	    header_truncated_without_blank_line },
	{ "header_empty_block", header_empty_block },
	{ "header_byte_limit", header_byte_limit },
	{ "header_field_count_limit", header_field_count_limit },
	{ "header_wsp_before_colon", header_wsp_before_colon },
	{ "header_one_megabyte_field", header_one_megabyte_field },
	{ "header_nul_bytes_kept", header_nul_bytes_kept },
	{ "header_lone_cr_kept", header_lone_cr_kept },
	{ NULL, NULL }
};

void
suite_header(void)
{
	unit_suite("header", header_tests);
}
