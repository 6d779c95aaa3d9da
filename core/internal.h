/*
 * internal.h: what every layer of the core shares, never installed: the
 * allocator, growable strings, character classes, base64 and
 * dkim-quoted-printable, and the context.
 *
 * The core is layered; each folder has a header of its own, and a layer
 * includes only those below it:
 *
 *	dkimkit.h		the public API
 *	internal.h		this file
 *	mail/mail.h		header blocks, tag lists, addresses,
 *				domain names, Authentication-Results parsing
 *	crypto/crypto.h		hashes, public and private keys, PKCS#11
 *	dns/dns.h		the resolver, zone files, descriptors
 *	dkim/dkim.h		canonicalization, signatures, key records, the
 *				key cache, signing and verifying (verify.h)
 *	adsp/			ADSP, on the verifier (dkim/verify.h)
 *	spf/spf.h		SPF (RFC 7208) on the DNS layer: records,
 *				macros, check_host()
 *	dmarc/dmarc.h		DMARC (RFC 9989, RFC 7489): policy records,
 *				the DNS Tree Walk, the Public Suffix List,
 *				the evaluation on the verifier (dkim/verify.h)
 *				with the SPF result the host gives
 *	policy/policy.h		the signing policy: opendkim.conf, its
 *				tables and host lists, the decision
 *
 * ctx.c and names.c, at the top, tie the layers together (ctx.c frees
 * the context's Public Suffix List: psl_free, declared below).
 */
#ifndef DKK_INTERNAL_H
#define DKK_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkimkit.h"

#define HIDDEN __attribute__((visibility("hidden")))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Allocation goes through one place so tests can make it fail. */
HIDDEN void *dkk_malloc(size_t n);
HIDDEN void *dkk_calloc(size_t n, size_t size);
HIDDEN void *dkk_realloc(void *p, size_t n);
HIDDEN char *dkk_strndup(const char *s, size_t n);
HIDDEN char *dkk_strdup(const char *s);

/* buf.c: a growable byte string, always NUL-terminated once non-empty. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;		/* an append ran out of memory */
};

HIDDEN void buf_init(struct buf *b);
HIDDEN void buf_clear(struct buf *b);
HIDDEN int buf_reserve(struct buf *b, size_t extra);
HIDDEN int buf_add(struct buf *b, const void *data, size_t len);
HIDDEN int buf_adds(struct buf *b, const char *s);
HIDDEN int buf_addc(struct buf *b, char c);
HIDDEN int buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
HIDDEN int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    PRINTF(2, 0);
HIDDEN char *buf_take(struct buf *b);
HIDDEN int reason_fail(enum dkk_reason *reason, enum dkk_reason r,
    struct buf *why, const char *fmt, ...) PRINTF(4, 5);

/* chars.c: character classes of RFC 5234 and RFC 6376. */
static inline bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static inline bool
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline bool
is_letdig(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 5322 3.6.8: the characters of a field name. */
static inline bool
is_ftext(int c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* ASCII lowercase: inline, as name hashing and comparing call it for
 * every octet. */
static inline int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

HIDDEN bool ci_equal(const char *a, size_t alen, const char *b, size_t blen);
HIDDEN bool ci_equals(const char *a, size_t alen, const char *lit);
HIDDEN char *strip_fws(const char *s, size_t len);

/* Limits on one field (DKK_LIMIT_SIG_BYTES, _TAGS, _H_NAMES); the tags
 * are parsed into a stack array of SIG_TAGS_CAP. */
#define SIG_TAGS_CAP 256
struct sig_max {
	size_t bytes;
	size_t tags;
	size_t h_names;
};
/* codec.c: base64 and dkim-quoted-printable. */
HIDDEN int b64_decode(const char *s, size_t len, uint8_t **out,
    size_t *outlen);
HIDDEN char *b64_encode(const uint8_t *data, size_t len);
HIDDEN int qp_decode(const char *s, size_t len, char **out);
HIDDEN char *b32_encode(const uint8_t *data, size_t len);

/* The context. */
struct keycache;
struct spf_answer;
struct psl;
HIDDEN void psl_free(struct psl *psl);

struct dkk_ctx {
	bool allow_weak;
	unsigned skew;
	size_t limit_header_bytes;
	size_t limit_header_fields;
	size_t limit_signatures;
	unsigned limit_rsa_bits;
	struct sig_max limit_sig;
	size_t limit_dns_bytes;
	size_t cache_entries;
	uint32_t cache_ttl;
	dkk_clock_fn clock;
	void *clock_arg;
	struct dkk_resolver res;
	void *res_arg;
	dkk_dns_query_fn query;	/* typed lookups of res, or NULL */
	struct keycache *cache;
	struct spf_answer *spf_orphans;	/* awaited by freed SPF checks */
	struct psl *psl;	/* RFC 7489 DMARC mode, loaded on demand */
	struct dkk_key *keys;	/* loaded keys, freed with the context */
	char *pin;		/* for PKCS#11 keys loaded from now on */
	struct buf err;		/* the last call's failure, said */
	int last;		/* the last call's result */
};

HIDDEN int64_t ctx_now(const dkk_ctx *ctx);
HIDDEN int ctx_fail(dkk_ctx *ctx, int err, const char *fmt, ...)
    PRINTF(3, 4);
HIDDEN void ctx_begin(dkk_ctx *ctx);
HIDDEN int ctx_end(dkk_ctx *ctx, int rc);

#endif /* DKK_INTERNAL_H */
