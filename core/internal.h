/*
 * internal.h: declarations shared by the core's files, never installed.
 */
#ifndef DKK_INTERNAL_H
#define DKK_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/sha1.h>
#include <nettle/sha2.h>

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

HIDDEN int lower(int c);
HIDDEN bool ci_equal(const char *a, size_t alen, const char *b, size_t blen);
HIDDEN bool ci_equals(const char *a, size_t alen, const char *lit);
HIDDEN char *strip_fws(const char *s, size_t len);

/* taglist.c: tag=value lists, RFC 6376 3.2. */
struct tag {
	const char *name;
	size_t nlen;
	const char *val;	/* leading and trailing FWS excluded */
	size_t vlen;
	size_t vend;		/* offset of the ';' or end that closes it */
};

enum taglist_status {
	TAGLIST_OK = 0,
	TAGLIST_SYNTAX = -1,
	TAGLIST_DUPLICATE = -2,
	TAGLIST_TOO_MANY = -3
};

HIDDEN int taglist_parse(const char *s, size_t len, struct tag *tags,
    size_t max, size_t *count);
HIDDEN const struct tag *taglist_find(const struct tag *tags, size_t n,
    const char *name);

/* codec.c: base64 and dkim-quoted-printable. */
HIDDEN int b64_decode(const char *s, size_t len, uint8_t **out,
    size_t *outlen);
HIDDEN char *b64_encode(const uint8_t *data, size_t len);
HIDDEN int qp_decode(const char *s, size_t len, char **out);

/* hash.c: the two hashes DKIM uses. */
enum hash_alg { HASH_SHA1, HASH_SHA256 };

struct hash {
	enum hash_alg alg;
	union {
		struct sha1_ctx sha1;
		struct sha256_ctx sha256;
	} u;
};

#define HASH_MAX 32

HIDDEN void hash_init(struct hash *h, enum hash_alg alg);
HIDDEN void hash_update(struct hash *h, const void *data, size_t len);
HIDDEN size_t hash_digest(struct hash *h, uint8_t *out);
HIDDEN size_t hash_size(enum hash_alg alg);

/* header.c: the header block, split into fields. */
struct field {
	size_t off;		/* start in the block */
	size_t len;		/* without the final CRLF */
	size_t nlen;		/* name length (WSP before the colon excluded) */
	size_t colon;		/* offset of the colon from off, or len */
	size_t rank;		/* its place in header.byname */
};

/* The fields sorted by lower-cased name, then top to bottom. */
struct hidx {
	const char *name;
	size_t nlen;
	size_t field;
};

struct header {
	struct buf raw;		/* normalised to CRLF */
	struct field *fields;
	size_t count;
	size_t cap;
	struct hidx *byname;	/* built when the block ends */
	size_t max_bytes;
	size_t max_fields;
	bool done;		/* blank line seen (or input ended) */
	bool cr;		/* last byte fed was a CR */
	int at_bol;		/* bytes of the current line so far (capped) */
};

HIDDEN void header_init(struct header *h, size_t max_bytes,
    size_t max_fields);
HIDDEN void header_clear(struct header *h);
HIDDEN int header_feed(struct header *h, const char *data, size_t len,
    size_t *used);
HIDDEN int header_end(struct header *h);
HIDDEN const char *header_text(const struct header *h, const struct field *f);
HIDDEN bool header_is(const struct header *h, const struct field *f,
    const char *name);
HIDDEN const char *header_value(const struct header *h, const struct field *f,
    size_t *len);

/* canon.c: canonicalisation, RFC 6376 3.4. */
HIDDEN int canon_header(struct buf *out, enum dkk_canon c, const char *field,
    size_t len, bool crlf);

struct body_sink {
	struct hash hash;
	uint64_t limit;		/* UINT64_MAX: whole body */
	uint64_t fed;
	uint8_t digest[HASH_MAX];	/* set by body_finish */
};

#define BODY_OUT 16384

struct body {
	enum dkk_canon canon;
	struct body_sink *sinks;
	size_t nsinks;
	uint64_t total;		/* canonical octets produced */
	uint64_t empty_lines;	/* deferred CRLFs */
	bool cr;
	bool wsp;
	bool content;		/* the current line has content */
	bool any;		/* some line had content */
	bool bol;		/* at the start of a line */
	bool wide;		/* relaxed may take 64 octets at a time */
	size_t outlen;
	char out[BODY_OUT];
};

HIDDEN void body_init(struct body *b, enum dkk_canon canon);
HIDDEN int body_add_sink(struct body *b, enum hash_alg alg, uint64_t limit,
    size_t *index);
HIDDEN void body_feed(struct body *b, const char *data, size_t len);
HIDDEN void body_finish(struct body *b);
HIDDEN void body_clear(struct body *b);

/* bodyset.c: the body canonicalisers a message needs, fed together. */
struct bodyset {
	struct body *canon[2];	/* by enum dkk_canon, NULL if unused */
};

HIDDEN void bodyset_init(struct bodyset *bs);
HIDDEN int bodyset_sink(struct bodyset *bs, enum dkk_canon c,
    enum hash_alg alg, uint64_t limit, size_t *index);
HIDDEN const struct body_sink *bodyset_get(const struct bodyset *bs,
    enum dkk_canon c, size_t index);
HIDDEN void bodyset_feed(struct bodyset *bs, const char *data, size_t len);
HIDDEN void bodyset_finish(struct bodyset *bs);
HIDDEN void bodyset_clear(struct bodyset *bs);

/* hdrsel.c: header selection for the header hash, RFC 6376 5.4.2. */
HIDDEN int hdrsel_hash(struct hash *h, const struct header *hdr,
    char *const *names, size_t n, enum dkk_canon c, const struct field *own,
    struct buf *tmp);
HIDDEN size_t hdrsel_count(const struct header *hdr, const char *name);
HIDDEN int hdrsel_index(struct header *h);

/* mailbox.c: the author domains of a From field, RFC 5322 3.4, lower
 * case, each once, at most AUTHORS_MAX (more set malformed).  malformed:
 * some element was not a valid mailbox (its "@domain" parts still
 * counted), or the list held more domains than are kept. */
#define AUTHORS_MAX 8
struct authors {
	char *domain[AUTHORS_MAX];
	size_t n;
	size_t addresses;	/* list elements seen */
	bool malformed;
};

HIDDEN int authors_parse(struct authors *a, const char *value, size_t len);
HIDDEN void authors_clear(struct authors *a);

/* crypto.c: public keys, verification and signing. */
enum key_type { KEY_RSA, KEY_ED25519 };

struct pubkey;
HIDDEN int pubkey_parse(enum key_type type, const uint8_t *der, size_t len,
    unsigned max_bits, struct pubkey **out);
HIDDEN void pubkey_free(struct pubkey *k);
HIDDEN unsigned pubkey_bits(const struct pubkey *k);
HIDDEN bool pubkey_verify(const struct pubkey *k, enum hash_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen);

HIDDEN int privkey_sign(const dkk_key *k, const uint8_t *digest,
    uint8_t **sig, size_t *siglen);
HIDDEN enum key_type privkey_type(const dkk_key *k);

/* sig.c: the DKIM-Signature field, RFC 6376 3.5. */
enum sig_alg { ALG_RSA_SHA1, ALG_RSA_SHA256, ALG_ED25519_SHA256 };

struct sig {
	/* parsed tags; strings owned */
	enum sig_alg alg;
	enum dkk_canon hcanon;
	enum dkk_canon bcanon;
	char *d;
	char *s;
	char *i;		/* decoded, "@" d when absent */
	char *a;		/* as written */
	char *b64;		/* b= without FWS */
	uint8_t *b;
	size_t blen;
	uint8_t *bh;
	size_t bhlen;
	char **h;		/* names in h= */
	size_t nh;
	int64_t t;
	int64_t x;
	int64_t l;
	/* the field with b= emptied, for the header hash */
	char *unsigned_field;
	size_t unsigned_len;
};

/* Limits on one field (DKK_LIMIT_SIG_BYTES, _TAGS, _H_NAMES); the tags
 * are parsed into a stack array of SIG_TAGS_CAP. */
#define SIG_TAGS_CAP 256
struct sig_max {
	size_t bytes;
	size_t tags;
	size_t h_names;
};
HIDDEN extern const struct sig_max sig_max_default;

HIDDEN int sig_parse(struct sig *sg, const char *field, size_t len,
    enum dkk_reason *reason, struct buf *why);
HIDDEN int sig_parse_max(struct sig *sg, const char *field, size_t len,
    const struct sig_max *max, enum dkk_reason *reason, struct buf *why);
HIDDEN void sig_clear(struct sig *sg);
HIDDEN enum hash_alg sig_hash(enum sig_alg alg);
HIDDEN bool domain_valid(const char *s, size_t len, bool underscore);
HIDDEN bool domain_within(const char *sub, const char *dom);

/* keyrec.c: the key record, RFC 6376 3.6.1. */
struct keyrec {
	enum key_type type;
	bool sha1_ok;
	bool sha256_ok;
	bool testing;		/* t=y */
	bool strict;		/* t=s */
	bool email;		/* s= lists email or * */
	bool revoked;		/* p= empty */
	struct pubkey *key;
};

HIDDEN int keyrec_parse(struct keyrec *kr, const char *txt, size_t len,
    unsigned max_bits, enum dkk_reason *reason, struct buf *why);
HIDDEN void keyrec_clear(struct keyrec *kr);

/* zone.c: RFC 1035 master files as a key source. */
struct zone;
HIDDEN int zone_load(struct zone **zp, const char *path, struct buf *err);
HIDDEN void zone_free(struct zone *z);
HIDDEN int zone_query_txt(void *arg, const char *name, dkk_dns_cb cb,
    void *cbarg);

/* keycache.c: DNS answers by name, shared by the messages of a context,
 * with the key record parsed once.  Concurrent lookups of one name share
 * one query.  Entries are reference counted; a TEMPFAIL answer is handed
 * to the waiting messages but not kept. */
struct keycache;
struct keyent;
struct waiter {
	void (*done)(struct waiter *w);
	struct waiter *next;
};

HIDDEN int keycache_new(struct keycache **cp, size_t max_entries);
HIDDEN void keycache_free(struct keycache *c);
HIDDEN void keycache_limits(struct keycache *c, size_t max_entries,
    uint32_t ttl_max);
HIDDEN int keycache_get(dkk_ctx *ctx, const char *name, struct waiter *w,
    struct keyent **ep);
HIDDEN void keycache_max_bytes(struct keycache *c, size_t max_bytes);
HIDDEN void keycache_put(struct keyent *e, struct waiter *w);
HIDDEN size_t keyent_dropped(const struct keyent *e);
HIDDEN bool keyent_ready(const struct keyent *e);
HIDDEN const struct dkk_dns_answer *keyent_answer(const struct keyent *e);
HIDDEN int keyent_key(struct keyent *e, unsigned max_bits,
    const struct keyrec **kr, enum dkk_reason *reason, const char **why);

/* No usable answer now: a lookup that failed, or one DNSSEC calls bogus
 * (what a validating resolver answers with SERVFAIL). */
static inline bool
dns_trouble(const struct dkk_dns_answer *a)
{
	return a->status == DKK_DNS_TEMPFAIL || a->dnssec == DKK_DNSSEC_BOGUS;
}

/* resolver.c: a libunbound result as a dkk_dns_answer, given to cb. */
struct ub_result;
HIDDEN void resolver_answer(const struct ub_result *res, bool validate,
    dkk_dns_cb cb, void *cbarg);

/* cloexec.c: the open descriptors before a call, to mark close-on-exec
 * those the call opened.  fdsnap_take() returns DKK_OK or DKK_ENOMEM;
 * fdsnap_mark() marks and frees. */
struct fdent;
struct fdsnap {
	struct fdent *v;
	size_t n, cap;
};

HIDDEN int fdsnap_take(struct fdsnap *s);
HIDDEN void fdsnap_mark(struct fdsnap *s);
HIDDEN void fdsnap_free(struct fdsnap *s);

/* The context. */
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
	struct keycache *cache;
	struct dkk_key *keys;	/* loaded keys, freed with the context */
	char *pin;		/* for PKCS#11 keys loaded from now on */
	struct buf err;
};

HIDDEN int64_t ctx_now(const dkk_ctx *ctx);
HIDDEN int ctx_fail(dkk_ctx *ctx, int err, const char *fmt, ...)
    PRINTF(3, 4);

/* pkcs11.c: the first line of a PIN file into *pin (free with free()). */
HIDDEN int p11_pin_file(dkk_ctx *ctx, const char *path, char **pin);

#endif /* DKK_INTERNAL_H */
