/*
 * canon_avx512.c: relaxed body canonicalisation (RFC 6376 3.4.4) 64
 * octets at a time, on x86-64 CPUs with AVX-512 BW and VBMI2 (canon.c
 * checks when a message starts and calls this for long runs of whole
 * lines).  Built without it: -DDKK_NO_AVX512.
 */
#include "canon.h"

#if defined(RELAXED_AVX512)
#include <immintrin.h>

/* The lanes of a that keep selects, stored at o, 64 octets written. */
AVX512 static inline char *
compress_store(char *o, uint64_t keep, __m512i a)
{
	_mm512_storeu_si512(o, _mm512_maskz_compress_epi8(keep, a));
	return o + _mm_popcnt_u64(keep);
}

/* Relaxed, 64 octets at a time with AVX-512 (BW, VBMI2): TAB as SP, and
 * every WSP dropped that a WSP or a line end follows (so a run keeps its
 * last octet, as an SP), in one compress; an LF without its CR gets one
 * (a block with one takes two compresses; with more, the block is taken
 * up to the first).  From p, which follows a non-WSP octet (a CR if
 * *cr), while 66 octets or more are left before stop and 130 octets of
 * room at *op.  *pp, *op and *cr move on. */
AVX512 void
relaxed_avx512(const char **pp, const char *stop, char **op, const char *olim,
    bool *cr)
{
	const __m512i sp = _mm512_set1_epi8(' '), tab = _mm512_set1_epi8('\t'),
	    c_r = _mm512_set1_epi8('\r'), l_f = _mm512_set1_epi8('\n');
	const char *p = *pp;
	char *o = *op;
	uint64_t crs = *cr, t, w, c, l, bare, keep;
	__m512i a, a1, a2;

	while (stop - p >= 66 && o <= olim) {
		body_prefetch(p, stop);
		a = _mm512_loadu_si512(p);
		a1 = _mm512_loadu_si512(p + 1);
		a2 = _mm512_loadu_si512(p + 2);
		t = _mm512_cmpeq_epi8_mask(a, tab);
		w = _mm512_cmpeq_epi8_mask(a, sp) | t;
		c = _mm512_cmpeq_epi8_mask(a, c_r);
		l = _mm512_cmpeq_epi8_mask(a, l_f);
		keep = ~(w & (_mm512_cmpeq_epi8_mask(a1, sp) |
		    _mm512_cmpeq_epi8_mask(a1, tab) |
		    _mm512_cmpeq_epi8_mask(a1, l_f) |
		    (_mm512_cmpeq_epi8_mask(a1, c_r) &
		    _mm512_cmpeq_epi8_mask(a2, l_f))));
		a = _mm512_mask_mov_epi8(a, t, sp);
		bare = l & ~(c << 1 | crs);
		crs = c >> 63;
		if (bare == 0) {
			o = compress_store(o, keep, a);
			p += 64;
		} else if ((bare & (bare - 1)) != 0) {
			/* Two bare LFs or more: up to the first, as CRLF. */
			bare &= -bare;
			o = compress_store(o, keep & (bare - 1), a);
			*o++ = '\r';
			*o++ = '\n';
			p += __builtin_ctzll(bare) + 1;
			crs = 0;
		} else {
			/* One: the octets before it, a CR, then the rest. */
			o = compress_store(o, keep & (bare - 1), a);
			*o++ = '\r';
			o = compress_store(o, keep & -bare, a);
			p += 64;
		}
	}
	*pp = p;
	*op = o;
	*cr = crs != 0;
}
#endif
