/*
 * canon.h: what canon.c and its AVX-512 kernel (canon_avx512.c) share.
 */
#ifndef DKK_CANON_H
#define DKK_CANON_H

#include <stdbool.h>

#include "dkim.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(DKK_NO_AVX512)
#define RELAXED_AVX512 1
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt")))
#endif

/* How far ahead of the relaxed canonicaliser its input is prefetched, so
 * that a body in memory, not in cache, arrives while the output buffer is
 * being hashed (without it, the loads after each flush wait on memory). */
#define BODY_PREFETCH 2048

/* Within the input only: beyond its end p + BODY_PREFETCH is no pointer. */
static inline void
body_prefetch(const char *p, const char *end)
{
	if (end - p > BODY_PREFETCH)
		__builtin_prefetch(p + BODY_PREFETCH);
}

#if defined(RELAXED_AVX512)
/* From p, which follows a non-WSP octet (a CR if *cr), while 66 octets or
 * more are left before stop and 130 octets of room at *op: each 64-octet
 * block canonicalised in one compress.  *pp, *op and *cr move on. */
HIDDEN void relaxed_avx512(const char **pp, const char *stop, char **op,
    const char *olim, bool *cr);
#endif

#endif
