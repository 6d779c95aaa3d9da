/*
 * dkim.h: the DKIM layer (RFC 6376): canonicalization, header selection,
 * the signature field, key records and the key cache; the signer and the
 * verifier (verify.h) are built on them.
 */
#ifndef DKK_DKIM_H
#define DKK_DKIM_H

#include "crypto/crypto.h"
#include "dns/dns.h"
#include "mail/mail.h"

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
	struct buf *copy;	/* NULL, or gets the first copy_limit
				 * canonical octets (failure reports) */
	uint64_t copy_limit;
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
HIDDEN int hdrsel_copy(struct buf *out, const struct header *hdr,
    char *const *names, size_t n, enum dkk_canon c, const struct field *own,
    struct buf *tmp);
HIDDEN size_t hdrsel_count(const struct header *hdr, const char *name);

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

HIDDEN extern const struct sig_max sig_max_default;

HIDDEN int sig_parse(struct sig *sg, const char *field, size_t len,
    enum dkk_reason *reason, struct buf *why);
HIDDEN int sig_parse_max(struct sig *sg, const char *field, size_t len,
    const struct sig_max *max, enum dkk_reason *reason, struct buf *why);
HIDDEN void sig_clear(struct sig *sg);
HIDDEN enum hash_alg sig_hash(enum sig_alg alg);
/* Tag by tag, for the ARC fields (core/arc). */
HIDDEN bool sig_tag_alg(const struct tag *t, enum sig_alg *alg);
HIDDEN bool sig_tag_canon(const struct tag *t, enum dkk_canon *hc,
    enum dkk_canon *bc);
HIDDEN bool sig_tag_digits(const struct tag *t, size_t maxdigits,
    int64_t *out);
HIDDEN int sig_tag_h(struct sig *sg, const struct tag *t, size_t max);
HIDDEN bool sig_h_from(const struct sig *sg);
HIDDEN int sig_tag_b64(const struct tag *t, uint8_t **out, size_t *len);
HIDDEN int sig_tag_names(struct sig *sg, const struct tag *tags, size_t n);
HIDDEN int sig_tag_unsigned(struct sig *sg, const char *field, size_t len,
    const char *value, const struct tag *b);

/* sign.c: laying out a signature field, shared with the ARC sealer:
 * "tag=value;" items folded at 78 columns with CRLF + TAB. */
struct layout {
	struct buf f;
	size_t col;
};

HIDDEN void lay_tag(struct layout *l, const char *tag, size_t need);
HIDDEN void lay_value(struct layout *l, const char *v, char brk);
HIDDEN void lay_item(struct layout *l, const char *tag, const char *value,
    char brk);
HIDDEN char *sign_eol(struct buf *f, const char *eol);
HIDDEN int sign_hlist_add(struct buf *h, const struct header *hdr,
    const char *name, bool oversign, bool always);
HIDDEN extern const char *const sign_default_headers[];

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

#endif
