/*
 * fuzz_canon.c: a message body, canonicalised simple and relaxed in four
 * ways that must agree: fed whole (relaxed: with the 64-octet path, where
 * the CPU has it, and without), in chunks whose sizes the first octet
 * picks, and octet by octet (always the slow path).  Any two digests or
 * octet counts that differ abort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"

struct canon_run {
	uint8_t digest[HASH_MAX];
	uint64_t total;
};

static void
canon_run(enum dkk_canon c, bool wide, const char *p, size_t len,
    size_t chunk, struct canon_run *r)
{
	struct body *b = malloc(sizeof(*b));
	size_t idx, off, n;

	if (b == NULL)
		abort();
	body_init(b, c);
	b->wide = b->wide && wide;
	if (body_add_sink(b, HASH_SHA256, UINT64_MAX, &idx) != DKK_OK)
		abort();
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		body_feed(b, p + off, n);
	}
	body_finish(b);
	memcpy(r->digest, b->sinks[idx].digest, sizeof(r->digest));
	r->total = b->total;
	body_clear(b);
	free(b);
}

static void
agree(const struct canon_run *a, const struct canon_run *b)
{
	if (a->total != b->total || memcmp(a->digest, b->digest,
	    sizeof(a->digest)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct canon_run whole, thin, chunked, octets;
	const char *p = (const char *)data;
	size_t chunk = size > 0 ? (size_t)data[0] * 67 % 4099 + 1 : 1;
	int c;

	for (c = DKK_CANON_SIMPLE; c <= DKK_CANON_RELAXED; c++) {
		canon_run(c, true, p, size, size > 0 ? size : 1, &whole);
		canon_run(c, false, p, size, size > 0 ? size : 1, &thin);
		canon_run(c, true, p, size, chunk, &chunked);
		canon_run(c, true, p, size, 1, &octets);
		agree(&whole, &octets);
		agree(&thin, &octets);
		agree(&chunked, &octets);
	}
	return 0;
}
