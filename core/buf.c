/*
 * buf.c: growable byte strings.  An append that runs out of memory marks
 * the buffer failed, so a run of appends can be checked once at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_clear(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->failed)
		return DKK_ENOMEM;
	if (b->len + extra < b->cap)
		return DKK_OK;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return DKK_ENOMEM;
	}
	cap = b->cap ? b->cap : 64;
	while (cap <= b->len + extra)
		cap *= 2;
	if ((p = dkk_realloc(b->p, cap)) == NULL) {
		b->failed = true;
		return DKK_ENOMEM;
	}
	b->p = p;
	b->cap = cap;
	return DKK_OK;
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) != DKK_OK)
		return DKK_ENOMEM;
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return DKK_OK;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0 || buf_reserve(b, (size_t)n) != DKK_OK)
		return DKK_ENOMEM;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return DKK_OK;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/* Hand the string over to the caller (free with free()); NULL if an append
 * failed.  The buffer is left empty either way. */
char *
buf_take(struct buf *b)
{
	char *p = NULL;

	if (!b->failed && buf_reserve(b, 0) == DKK_OK) {
		p = b->p;
		p[b->len] = '\0';
		buf_init(b);
	}
	buf_clear(b);
	return p;
}

/* A parser's verdict: the reason code and a sentence for it. */
int
reason_fail(enum dkk_reason *reason, enum dkk_reason r, struct buf *why,
    const char *fmt, ...)
{
	va_list ap;

	*reason = r;
	va_start(ap, fmt);
	buf_vprintf(why, fmt, ap);
	va_end(ap);
	return DKK_ESYNTAX;
}
