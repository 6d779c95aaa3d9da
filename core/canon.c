/*
 * canon.c: canonicalisation, RFC 6376 3.4.  Header fields are canonicalised
 * one at a time into a buffer; the body is canonicalised as it streams and
 * handed to its hashes in large blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* RFC 6376 3.4.2: lowercase the name, unfold, turn WSP runs into one SP,
 * drop WSP at the end of the value and around the colon. */
static int
canon_header_relaxed(struct buf *out, const char *f, size_t len)
{
	size_t i, colon, n;
	bool space = false, started = false;

	for (colon = 0; colon < len && f[colon] != ':'; colon++)
		;
	for (n = colon; n > 0 && is_wsp((unsigned char)f[n - 1]); n--)
		;
	if (buf_reserve(out, len + 3) != DKK_OK)
		return DKK_ENOMEM;
	for (i = 0; i < n; i++)
		out->p[out->len++] = (char)lower((unsigned char)f[i]);
	if (colon < len)
		out->p[out->len++] = ':';
	for (i = colon + 1; i < len; i++) {
		int c = (unsigned char)f[i];

		if (c == '\r' && i + 1 < len && f[i + 1] == '\n') {
			i++;
			continue;
		}
		if (is_wsp(c)) {
			space = true;
			continue;
		}
		if (space && started)
			out->p[out->len++] = ' ';
		out->p[out->len++] = (char)c;
		space = false;
		started = true;
	}
	out->p[out->len] = '\0';
	return DKK_OK;
}

/* Append one header field (without its final CRLF) in canonical form, with
 * a CRLF after it when crlf is set. */
int
canon_header(struct buf *out, enum dkk_canon c, const char *field,
    size_t len, bool crlf)
{
	int rc;

	if (c == DKK_CANON_RELAXED)
		rc = canon_header_relaxed(out, field, len);
	else
		rc = buf_add(out, field, len);
	if (rc == DKK_OK && crlf)
		rc = buf_add(out, "\r\n", 2);
	return rc;
}

void
body_init(struct body *b, enum dkk_canon canon)
{
	memset(b, 0, offsetof(struct body, out));
	b->canon = canon;
}

void
body_clear(struct body *b)
{
	free(b->sinks);
	b->sinks = NULL;
	b->nsinks = 0;
}

/* A hash of the first limit canonical octets (UINT64_MAX: all of them). */
int
body_add_sink(struct body *b, enum hash_alg alg, uint64_t limit,
    size_t *index)
{
	struct body_sink *s;

	s = dkk_realloc(b->sinks, (b->nsinks + 1) * sizeof(*s));
	if (s == NULL)
		return DKK_ENOMEM;
	b->sinks = s;
	s = &b->sinks[b->nsinks];
	hash_init(&s->hash, alg);
	s->limit = limit;
	s->fed = 0;
	*index = b->nsinks++;
	return DKK_OK;
}

static void
body_flush(struct body *b)
{
	size_t i;

	for (i = 0; i < b->nsinks; i++) {
		struct body_sink *s = &b->sinks[i];
		uint64_t n = s->limit - s->fed;

		if (n > b->outlen)
			n = b->outlen;
		if (n > 0)
			hash_update(&s->hash, b->out, (size_t)n);
		s->fed += n;
	}
	b->total += b->outlen;
	b->outlen = 0;
}

static inline void
body_put(struct body *b, const char *s, size_t n)
{
	while (n > 0) {
		size_t room = BODY_OUT - b->outlen;

		if (room == 0) {
			body_flush(b);
			room = BODY_OUT;
		}
		if (room > n)
			room = n;
		memcpy(b->out + b->outlen, s, room);
		b->outlen += room;
		s += room;
		n -= room;
	}
}

static inline void
body_putc(struct body *b, char c)
{
	if (b->outlen == BODY_OUT)
		body_flush(b);
	b->out[b->outlen++] = c;
}

/* A line gets content: the empty lines held back above it are real. */
static inline void
body_content(struct body *b)
{
	if (b->content)
		return;
	for (; b->empty_lines > 0; b->empty_lines--)
		body_put(b, "\r\n", 2);
	b->content = true;
	b->any = true;
}

static inline void
body_eol(struct body *b)
{
	if (b->content)
		body_put(b, "\r\n", 2);
	else
		b->empty_lines++;
	b->content = false;
	b->wsp = false;
}

/* One octet that is neither CR nor LF. */
static inline void
body_octet(struct body *b, char c)
{
	if (b->canon == DKK_CANON_RELAXED && is_wsp((unsigned char)c)) {
		b->wsp = true;
		return;
	}
	body_content(b);
	if (b->wsp) {
		body_putc(b, ' ');
		b->wsp = false;
	}
	body_putc(b, c);
}

/* Copy a run of plain octets (no CR, LF, and for relaxed no WSP). */
static inline size_t
body_run(struct body *b, const char *p, size_t n)
{
	size_t i = 0;

	if (b->canon == DKK_CANON_RELAXED)
		while (i < n && p[i] != '\r' && p[i] != '\n' && p[i] != ' ' &&
		    p[i] != '\t')
			i++;
	else
		while (i < n && p[i] != '\r' && p[i] != '\n')
			i++;
	if (i > 0) {
		body_octet(b, p[0]);
		body_put(b, p + 1, i - 1);
	}
	return i;
}

/* Canonicalise a chunk of body (RFC 6376 3.4.3, 3.4.4).  Lines may end in
 * CRLF or bare LF; a CR not followed by LF is an ordinary octet. */
void
body_feed(struct body *b, const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		char c = data[i];

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				body_eol(b);
				i++;
				continue;
			}
			body_octet(b, '\r');
		}
		if (c == '\r') {
			b->cr = true;
			i++;
		} else if (c == '\n') {
			body_eol(b);
			i++;
		} else {
			size_t n = body_run(b, data + i, len - i);

			if (n == 0) {
				body_octet(b, c);
				n = 1;
			}
			i += n;
		}
	}
}

/* End of body: trailing empty lines are dropped; a last line without a line
 * end gets one; an empty body is CRLF under simple and empty under relaxed. */
void
body_finish(struct body *b)
{
	size_t i;

	if (b->cr) {
		b->cr = false;
		body_octet(b, '\r');
	}
	if (b->content)
		body_eol(b);
	if (!b->any && b->canon == DKK_CANON_SIMPLE)
		body_put(b, "\r\n", 2);
	body_flush(b);
	for (i = 0; i < b->nsinks; i++)
		hash_digest(&b->sinks[i].hash, b->sinks[i].digest);
}

/* bodyset: the one or two canonicalisers a message needs.  Hashes that
 * agree in canonicalisation, algorithm and l= share one sink. */
void
bodyset_init(struct bodyset *bs)
{
	bs->canon[0] = bs->canon[1] = NULL;
}

int
bodyset_sink(struct bodyset *bs, enum dkk_canon c, enum hash_alg alg,
    uint64_t limit, size_t *index)
{
	struct body *b = bs->canon[c];
	size_t i;

	if (b == NULL) {
		if ((b = dkk_malloc(sizeof(*b))) == NULL)
			return DKK_ENOMEM;
		body_init(b, c);
		bs->canon[c] = b;
	}
	for (i = 0; i < b->nsinks; i++)
		if (b->sinks[i].hash.alg == alg && b->sinks[i].limit == limit) {
			*index = i;
			return DKK_OK;
		}
	return body_add_sink(b, alg, limit, index);
}

const struct body_sink *
bodyset_get(const struct bodyset *bs, enum dkk_canon c, size_t index)
{
	return &bs->canon[c]->sinks[index];
}

void
bodyset_feed(struct bodyset *bs, const char *data, size_t len)
{
	if (bs->canon[0] != NULL)
		body_feed(bs->canon[0], data, len);
	if (bs->canon[1] != NULL)
		body_feed(bs->canon[1], data, len);
}

void
bodyset_finish(struct bodyset *bs)
{
	if (bs->canon[0] != NULL)
		body_finish(bs->canon[0]);
	if (bs->canon[1] != NULL)
		body_finish(bs->canon[1]);
}

void
bodyset_clear(struct bodyset *bs)
{
	int c;

	for (c = 0; c < 2; c++) {
		if (bs->canon[c] != NULL)
			body_clear(bs->canon[c]);
		free(bs->canon[c]);
		bs->canon[c] = NULL;
	}
}
