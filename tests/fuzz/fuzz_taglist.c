/*
 * fuzz_taglist.c: arbitrary bytes as a tag=value list (RFC 6376 3.2),
 * parsed directly with the tag and value bounds checked, then as the value
 * of a DKIM-Signature field (sig_parse) and as a key record (keyrec_parse).
 * fuzz_verify and fuzz_records reach these parsers only after a message or
 * a lookup; here every byte goes straight in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"

#define FUZZ_TAGS 64

static void
check_tags(const char *s, size_t len, const struct tag *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].nlen == 0 || t[i].name < s ||
		    t[i].name + t[i].nlen > s + len ||
		    t[i].val < s || t[i].val + t[i].vlen > s + len ||
		    t[i].vend > len || memchr(t[i].val, ';', t[i].vlen) != NULL)
			abort();
	}
}

static void
as_signature(const char *s, size_t len)
{
	static const char name[] = "DKIM-Signature:";
	char *field = malloc(sizeof(name) + len);
	enum dkk_reason reason;
	struct buf why;
	struct sig sg;

	if (field == NULL)
		return;
	memcpy(field, name, sizeof(name) - 1);
	memcpy(field + sizeof(name) - 1, s, len);
	buf_init(&why);
	sig_parse(&sg, field, sizeof(name) - 1 + len, &reason, &why);
	sig_clear(&sg);
	buf_clear(&why);
	free(field);
}

static void
as_key_record(const char *s, size_t len)
{
	enum dkk_reason reason;
	struct keyrec kr;
	struct buf why;

	buf_init(&why);
	keyrec_parse(&kr, s, len, 8192, &reason, &why);
	keyrec_clear(&kr);
	buf_clear(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct tag tags[FUZZ_TAGS];
	size_t n;

	if (taglist_parse(s, size, tags, FUZZ_TAGS, &n) == TAGLIST_OK)
		check_tags(s, size, tags, n);
	as_signature(s, size);
	as_key_record(s, size);
	return 0;
}
