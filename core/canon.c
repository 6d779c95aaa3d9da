/*
 * canon.c: canonicalisation, RFC 6376 3.4.  Header fields are canonicalised
 * one at a time into a buffer; the body is canonicalised as it streams and
 * handed to its hashes in large blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Shorter runs of canonical input are copied rather than hashed in place. */
#define BODY_SPAN_MIN 1024

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
	b->bol = true;
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

/* Hand n canonical octets to every sink, each up to its l= limit. */
static void
body_sinks_feed(struct body *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < b->nsinks; i++) {
		struct body_sink *s = &b->sinks[i];
		uint64_t k = s->limit - s->fed;

		if (k > n)
			k = n;
		if (k > 0)
			hash_update(&s->hash, p, (size_t)k);
		s->fed += k;
	}
	b->total += n;
}

static void
body_flush(struct body *b)
{
	body_sinks_feed(b, b->out, b->outlen);
	b->outlen = 0;
}

static inline void body_put(struct body *b, const char *s, size_t n);

/* Input octets that are already canonical: a long run goes to the hashes
 * as it is, after whatever the output buffer holds; a short one is copied,
 * so that the hashes still get large blocks. */
static void
body_span(struct body *b, const char *p, size_t n)
{
	if (n < BODY_SPAN_MIN) {
		body_put(b, p, n);
		return;
	}
	if (b->outlen > 0)
		body_flush(b);
	body_sinks_feed(b, p, n);
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

/* The octet-by-octet canonicaliser: any state, any input. */
static void
body_slow(struct body *b, const char *data, size_t len)
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

#if defined(__GNUC__)
typedef uint8_t v16 __attribute__((vector_size(16)));

static inline v16
v16_load(const char *p)
{
	v16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}
#endif

static inline bool
relaxed_bad(const char *p, const char *q)
{
	return *p == '\t' || (*p == ' ' && p + 1 < q && is_wsp(p[1]));
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RELAXED_V16 1

/* The index of the first non-zero lane of a comparison mask, or 16. */
static inline unsigned
v16_first(v16 m)
{
	uint64_t w[2];

	memcpy(w, &m, sizeof(w));
	if (w[0] != 0)
		return (unsigned)__builtin_ctzll(w[0]) / 8;
	if (w[1] != 0)
		return 8 + (unsigned)__builtin_ctzll(w[1]) / 8;
	return 16;
}

/* The offset of the first octet of p[0..15] that relaxed changes, or 16.
 * Reads p[16] too. */
static inline unsigned
v16_relaxed_first(const char *p)
{
	v16 a = v16_load(p), n = v16_load(p + 1), sp, tab;

	memset(&sp, ' ', sizeof(sp));
	memset(&tab, '\t', sizeof(tab));
	return v16_first((v16)((a == tab) | ((a == sp) & ((n == sp) |
	    (n == tab)))));
}
#endif

/* The first octet in [p, q) where relaxed changes the line: a TAB, or a SP
 * with WSP after it (RFC 6376 3.4.4); q when there is none.  q[-1] is not
 * WSP; octets up to lim may be read. */
static const char *
relaxed_find(const char *p, const char *q, const char *lim)
{
#if defined(RELAXED_V16)
	for (; p < q && lim - p > 16; p += 16) {
		unsigned k = v16_relaxed_first(p);

		if (k < 16)
			return p + k < q ? p + k : q;
	}
#endif
	(void)lim;
	for (; p < q; p++)
		if (relaxed_bad(p, q))
			return p;
	return q;
}

static inline bool
relaxed_event(const char *p, const char *end)
{
	return *p == '\n' || *p == '\t' || (*p == ' ' && p + 1 < end &&
	    (unsigned char)p[1] <= ' ');
}

#if defined(RELAXED_V16)
/* The offset of the first event in p[0..15], or 16: a LF, a TAB, or a SP
 * followed by an octet up to SP (SP, TAB, CR, LF and, rarely, other
 * controls, which the callers find unchanged).  Reads p[16] too. */
static inline unsigned
v16_event_first(const char *p)
{
	v16 a = v16_load(p), n = v16_load(p + 1), sp, nine, one;

	memset(&sp, ' ', sizeof(sp));
	memset(&nine, '\t', sizeof(nine));
	memset(&one, 1, sizeof(one));
	return v16_first((v16)(((v16)(a - nine) <= one) | ((a == sp) &
	    (n <= sp))));
}
#endif

/* The first event at or after p (see v16_event_first), or end.  Every
 * octet of a line before its first event is its own relaxed form. */
static const char *
relaxed_next(const char *p, const char *end)
{
#if defined(RELAXED_V16)
	for (; end - p > 16; p += 16) {
		unsigned k = v16_event_first(p);

		if (k < 16)
			return p + k;
	}
#endif
	for (; p < end; p++)
		if (relaxed_event(p, end))
			return p;
	return end;
}

/* Relaxed, a line with content (p[0] is not WSP) whose first event e is
 * not its LF, and whose LF is in the chunk: the line in relaxed form and
 * its CRLF to the output buffer, event by event.  Returns the octet after
 * the LF. */
static const char *
body_relaxed_events(struct body *b, const char *p, const char *e,
    const char *end)
{
	const char *seg = p, *r;

	for (;;) {
		if (*e == '\n') {
			body_put(b, seg, (size_t)(e - seg) - (e[-1] == '\r'));
			break;
		}
		for (r = e; is_wsp((unsigned char)*r); r++)
			;
		if (*r == '\n' || (*r == '\r' && r[1] == '\n')) {
			/* WSP at the end of the line goes. */
			body_put(b, seg, (size_t)(e - seg));
			e = *r == '\n' ? r : r + 1;
			break;
		}
		if (r != e + 1 || *e != ' ') {
			/* Not one SP before a lone CR: the run becomes SP. */
			body_put(b, seg, (size_t)(e - seg));
			body_putc(b, ' ');
			seg = r;
		}
		e = relaxed_next(r, end);
	}
	body_putc(b, '\r');
	body_putc(b, '\n');
	return e + 1;
}

/* The end of a line's content: relaxed drops the WSP before the CRLF. */
static inline const char *
body_content_end(const struct body *b, const char *p, const char *q)
{
	if (b->canon == DKK_CANON_RELAXED)
		while (q > p && is_wsp((unsigned char)q[-1]))
			q--;
	return q;
}

/* A line with content [p, q) in relaxed form, and its CRLF, to the output
 * buffer: each run of WSP becomes one SP.  w is relaxed_find(p, q, lim). */
static void
body_relaxed_line(struct body *b, const char *p, const char *w,
    const char *q, const char *lim)
{
	for (; w < q; w = relaxed_find(p, q, lim)) {
		body_put(b, p, (size_t)(w - p));
		body_putc(b, ' ');
		for (p = w; is_wsp((unsigned char)*p); p++)
			;
	}
	body_put(b, p, (size_t)(q - p));
	body_putc(b, '\r');
	body_putc(b, '\n');
}

/* From the start of a line, every line that ends in CRLF.  Lines already
 * canonical, with the empty lines between them, are hashed straight from
 * the input in one span; other lines go through the output buffer.  Empty
 * lines after the last line with content are held back, as body_eol()
 * does.  Returns where the first line left for the slow path (bare LF, or
 * incomplete) starts. */
static const char *
body_fast(struct body *b, const char *p, const char *end)
{
	const char *start = p, *kept = p, *nl, *q, *w = p, *last;
	uint64_t empties = 0;
	bool literal = true;	/* the empties since kept are bare CRLFs */
	bool relaxed = b->canon == DKK_CANON_RELAXED;

	if ((last = memrchr(p, '\n', (size_t)(end - p))) == NULL)
		return p;
	while (p <= last) {
		if (relaxed) {
			w = relaxed_next(p, end);
			if (*w != '\n' && w < last &&
			    !is_wsp((unsigned char)*p)) {
				body_content(b);
				body_span(b, start, (size_t)(kept - start));
				for (; empties > 0; empties--)
					body_put(b, "\r\n", 2);
				p = start = kept = body_relaxed_events(b, p, w,
				    end);
				b->content = false;
				literal = true;
				continue;
			}
			nl = *w == '\n' ? w : memchr(w, '\n',
			    (size_t)(end - w));
		} else {
			nl = memchr(p, '\n', (size_t)(end - p));
		}
		if (nl == p || nl[-1] != '\r')
			break;
		q = body_content_end(b, p, nl - 1);
		if (q == p) {
			empties++;
			literal = literal && nl - 1 == p;
			p = nl + 1;
			continue;
		}
		/* Held back from before this span, which has no content
		 * yet: real now, and CRLFs like the ones in the span. */
		for (; b->empty_lines > 0; b->empty_lines--)
			body_put(b, "\r\n", 2);
		b->any = true;
		if (!relaxed || w == nl)
			w = q;
		else
			w = w < q ? relaxed_find(w, q, end) : q;
		if (literal && q == nl - 1 && w == q) {
			kept = nl + 1;
		} else {
			body_span(b, start, (size_t)(kept - start));
			for (; empties > 0; empties--)
				body_put(b, "\r\n", 2);
			body_relaxed_line(b, p, w, q, end);
			start = kept = nl + 1;
		}
		empties = 0;
		literal = true;
		p = nl + 1;
	}
	body_span(b, start, (size_t)(kept - start));
	b->empty_lines += empties;
	return p;
}

/* Canonicalise a chunk of body (RFC 6376 3.4.3, 3.4.4).  Lines may end in
 * CRLF or bare LF; a CR not followed by LF is an ordinary octet.  Whole
 * lines that are already canonical take the fast path; the rest, and the
 * partial lines at chunk edges, go octet by octet. */
void
body_feed(struct body *b, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;

	while (p < end) {
		if (b->bol && (p = body_fast(b, p, end)) == end)
			break;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			body_slow(b, p, (size_t)(end - p));
			b->bol = false;
			break;
		}
		body_slow(b, p, (size_t)(nl + 1 - p));
		b->bol = true;
		p = nl + 1;
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
