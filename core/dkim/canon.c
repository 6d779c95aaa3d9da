/*
 * canon.c: canonicalisation, RFC 6376 3.4.  Header fields are canonicalised
 * one at a time into a buffer; the body is canonicalised as it streams and
 * handed to its hashes in large blocks.  Relaxed bodies go 16 octets at a
 * time here (SSE2, or portable masks), 64 at a time in canon_avx512.c
 * where the CPU can.
 */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "canon.h"

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
#if defined(RELAXED_AVX512)
	b->wide = __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vbmi2");
#endif
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
	if (b->copy != NULL && b->total < b->copy_limit)
		buf_add(b->copy, p, b->copy_limit - b->total < n ?
		    (size_t)(b->copy_limit - b->total) : n);
	b->total += n;
}

static void
body_flush(struct body *b)
{
	body_sinks_feed(b, b->out, b->outlen);
	b->outlen = 0;
}

/* Flush all but the last keep octets of the output buffer. */
static void
body_flush_keep(struct body *b, size_t keep)
{
	body_sinks_feed(b, b->out, b->outlen - keep);
	memmove(b->out, b->out + b->outlen - keep, keep);
	b->outlen = keep;
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

static inline void
body_crlf(struct body *b)
{
	body_putc(b, '\r');
	body_putc(b, '\n');
}

/* A line gets content: the empty lines held back above it are real. */
static inline void
body_content(struct body *b)
{
	if (b->content)
		return;
	for (; b->empty_lines > 0; b->empty_lines--)
		body_crlf(b);
	b->content = true;
	b->any = true;
}

static inline void
body_eol(struct body *b)
{
	if (b->content)
		body_crlf(b);
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

/* From the start of a line, simple: every line that ends in CRLF, hashed
 * straight from the input in one span (empty lines after the last line
 * with content are held back, as body_eol() does).  Returns where the first
 * line left for the slow path (bare LF, or incomplete) starts. */
static const char *
body_fast_simple(struct body *b, const char *p, const char *end)
{
	const char *start = p, *kept = p, *nl, *last;
	uint64_t empties = 0;

	if ((last = memrchr(p, '\n', (size_t)(end - p))) == NULL)
		return p;
	for (; p <= last; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == p || nl[-1] != '\r')
			break;
		if (nl - 1 == p) {
			empties++;
			continue;
		}
		/* Held back from before this span: real now. */
		for (; b->empty_lines > 0; b->empty_lines--)
			body_crlf(b);
		b->any = true;
		kept = nl + 1;
		empties = 0;
	}
	body_span(b, start, (size_t)(kept - start));
	b->empty_lines += empties;
	return p;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RELAXED_V16 1
typedef uint8_t v16 __attribute__((vector_size(16)));

/* Bit i set when lane i of a comparison is true. */
static inline unsigned
v16_bits(v16 m)
{
#if defined(__SSE2__)
	return (unsigned)_mm_movemask_epi8((__m128i)m);
#else
	const uint64_t pick = 0x8040201008040201u, gather = 0x0101010101010101u;
	uint64_t w[2];

	memcpy(w, &m, sizeof(w));
	return (unsigned)(((w[0] & pick) * gather) >> 56) |
	    (unsigned)(((w[1] & pick) * gather) >> 56) << 8;
#endif
}
#endif

static inline unsigned
lowest_bit(unsigned m)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctz(m);
#else
	unsigned i = 0;

	while ((m >> i & 1) == 0)
		i++;
	return i;
#endif
}

/* Relaxed, the 16 octets at p of a line that goes on, or its octets up to
 * its LF, to o: TAB as SP, a WSP after a WSP dropped.  *wsp says whether
 * p[-1] was WSP, and is updated; *n is the number of octets before the LF,
 * or 16.  Returns the end of the output. */
static inline char *
relaxed_octets(char *o, const char *p, unsigned *n, unsigned *wsp)
{
	unsigned i, w;

	for (i = 0; i < 16 && p[i] != '\n'; i++) {
		w = is_wsp((unsigned char)p[i]);
		*o = w ? ' ' : p[i];
		o += !(w & *wsp);
		*wsp = w;
	}
	*n = i;
	return o;
}

#if defined(RELAXED_V16)
static inline v16
v16_tab_to_sp(v16 a)
{
	return a ^ ((v16)(a == '\t') & ('\t' ^ ' '));
}

/* relaxed_octets(), 16 lanes at a time.  With at most one octet dropped
 * (nearly always), two stores without a branch: the lanes before it, and
 * from a second load the lanes after it.  Reads p[0..32]; writes o[0..31]. */
static inline char *
relaxed_v16(char *o, const char *p, unsigned *n, unsigned *wsp)
{
	v16 a, c;
	unsigned lf, w, drop, k, from;

	memcpy(&a, p, sizeof(a));
	lf = v16_bits((v16)(a == '\n'));
	w = v16_bits((v16)((a == ' ') | (a == '\t')));
	*n = lowest_bit(lf | 1u << 16);
	drop = w & (w << 1 | *wsp) & ((1u << *n) - 1);
	*wsp = w >> 15;
	k = lowest_bit(drop | 1u << 16);
	memcpy(&c, p + k + 1, sizeof(c));
	a = v16_tab_to_sp(a);
	c = v16_tab_to_sp(c);
	memcpy(o, &a, sizeof(a));
	memcpy(o + k, &c, sizeof(c));
	if ((drop & (drop - 1)) == 0)
		return o + *n - (drop != 0);
	/* More: each run between dropped octets stored whole. */
	for (o += k, from = k + 1, drop &= drop - 1;; drop &= drop - 1) {
		k = lowest_bit(drop | 1u << *n);
		memcpy(&a, p + from, sizeof(a));
		a = v16_tab_to_sp(a);
		memcpy(o, &a, sizeof(a));
		o += k - from;
		from = k + 1;
		if (drop == 0)
			return o;
	}
}
#endif

/* Relaxed (RFC 6376 3.4.4), a line from p to its LF, which is before end:
 * each WSP run as one SP, the WSP at its end dropped, CRLF after it, all to
 * the output buffer.  p is the line's start, or follows an octet that
 * relaxed_avx512() took.  Returns the octet after the LF. */
static const char *
body_relaxed_line(struct body *b, const char *p, const char *end)
{
	char *o = b->out + b->outlen;
	unsigned n, wsp = 0;

	for (;; p += 16) {
		/* Room for 32; the last two octets may yet be taken back. */
		if (o > b->out + BODY_OUT - 32) {
			b->outlen = (size_t)(o - b->out);
			body_flush_keep(b, 2);
			o = b->out + b->outlen;
		}
#if defined(RELAXED_V16)
		if (end - p > 32)
			o = relaxed_v16(o, p, &n, &wsp);
		else
#endif
			o = relaxed_octets(o, p, &n, &wsp);
		if (n < 16)
			break;
	}
	/* Take back the CR of the CRLF and then the SP of a WSP run at the
	 * end (the line may have had no content, and the buffer nothing). */
	p += n;
	o -= p[-1] == '\r';
	o -= o > b->out && o[-1] == ' ';
	*o++ = '\r';
	*o++ = '\n';
	b->outlen = (size_t)(o - b->out);
	return p + 1;
}

#if defined(RELAXED_AVX512)
/* Relaxed, the lines from p to stop (just after an LF), all of them real
 * (a line with content is at or after each), through relaxed_avx512() while
 * 66 octets are left; the line it stops in is finished 16 octets at a
 * time.  Returns where it stopped: a line's start. */
static const char *
body_relaxed_wide(struct body *b, const char *p, const char *stop)
{
	const char *start = p;
	bool cr = false;
	char *o;

	while (stop - p >= 66) {
		/* Keep two octets: the line's finish may take them back. */
		if (b->outlen > BODY_OUT - 130)
			body_flush_keep(b, 2);
		o = b->out + b->outlen;
		relaxed_avx512(&p, stop, &o, b->out + BODY_OUT - 130, &cr);
		b->outlen = (size_t)(o - b->out);
	}
	if (p > start && p < stop && p[-1] != '\n')
		p = body_relaxed_line(b, p, stop);
	return p;
}

/* Just after the last line in [p, last] with content (p if none): the lines
 * after it are WSP at most, and are held back. */
static const char *
relaxed_content_end(const char *p, const char *last)
{
	const char *r;

	for (;;) {
		r = last;
		if (r > p && r[-1] == '\r')
			r--;
		while (r > p && is_wsp((unsigned char)r[-1]))
			r--;
		if (r == p)
			return p;
		if (r[-1] != '\n')
			return last + 1;
		last = r - 1;
	}
}
#endif

/* From the start of a line, relaxed: every line that ends in LF (CRLF or
 * bare LF, as the slow path reads them).  Lines without content are held
 * back, as body_eol() does.  Returns where the slow path takes over. */
static const char *
body_fast_relaxed(struct body *b, const char *p, const char *end)
{
	const char *last, *c;
#if defined(RELAXED_AVX512)
	const char *stop;
#endif

	if ((last = memrchr(p, '\n', (size_t)(end - p))) == NULL)
		return p;
#if defined(RELAXED_AVX512)
	if (b->wide && last - p > 66 &&
	    (stop = relaxed_content_end(p, last)) - p > 66) {
		for (; b->empty_lines > 0; b->empty_lines--)
			body_crlf(b);
		b->any = true;
		p = body_relaxed_wide(b, p, stop);
	}
#endif
	while (p <= last) {
		for (c = p; is_wsp((unsigned char)*c); c++)
			;
		if (*c == '\r' && c[1] == '\n')
			c++;
		if (*c == '\n') {
			b->empty_lines++;
			p = c + 1;
			continue;
		}
		for (; b->empty_lines > 0; b->empty_lines--)
			body_crlf(b);
		b->any = true;
		body_prefetch(p, end);
		p = body_relaxed_line(b, p, end);
	}
	return p;
}

/* Canonicalise a chunk of body (RFC 6376 3.4.3, 3.4.4).  Lines may end in
 * CRLF or bare LF; a CR not followed by LF is an ordinary octet.  Whole
 * lines take a fast path (simple: CRLF lines, hashed in place; relaxed:
 * any, 64 or 16 octets at a time); the rest, and the partial lines at
 * chunk edges, go octet by octet. */
void
body_feed(struct body *b, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;

	while (p < end) {
		if (b->bol && (p = b->canon == DKK_CANON_RELAXED ?
		    body_fast_relaxed(b, p, end) :
		    body_fast_simple(b, p, end)) == end)
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
		body_crlf(b);
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
