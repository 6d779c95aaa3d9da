/*
 * dns.h: the DNS layer: libunbound as the resolver, RFC 1035 zone files
 * as a key source, and descriptors kept from child processes.
 */
#ifndef DKK_DNS_H
#define DKK_DNS_H

#include "internal.h"

/* zone.c: RFC 1035 master files as a key source. */
struct zone;
HIDDEN int zone_load(struct zone **zp, const char *path, struct buf *err);
HIDDEN void zone_free(struct zone *z);
HIDDEN int zone_query_txt(void *arg, const char *name, dkk_dns_cb cb,
    void *cbarg);
HIDDEN int zone_query(void *arg, const char *name, enum dkk_dns_type type,
    dkk_dns_cb cb, void *cbarg);

/* query.c: a lookup of any type through the context's resolver.  When the
 * resolver cannot ask (no source, no typed lookup) cb gets a temporary
 * failure before this returns, which is then DKK_OK. */
HIDDEN int dns_query(dkk_ctx *ctx, const char *name, enum dkk_dns_type type,
    dkk_dns_cb cb, void *cbarg);

/* rdata.c: one record's wire rdata as the text of an answer, appended to
 * out; DKK_ESYNTAX when damaged, DKK_EINVAL for another type. */
HIDDEN int rdata_text(enum dkk_dns_type type, const uint8_t *p, size_t len,
    struct buf *out);

/* No usable answer now: a lookup that failed, or one DNSSEC calls bogus
 * (what a validating resolver answers with SERVFAIL). */
static inline bool
dns_trouble(const struct dkk_dns_answer *a)
{
	return a->status == DKK_DNS_TEMPFAIL || a->dnssec == DKK_DNSSEC_BOGUS;
}

/* resolver.c: a libunbound result as a dkk_dns_answer, given to cb. */
struct ub_result;
HIDDEN void resolver_answer(const struct ub_result *res,
    enum dkk_dns_type type, bool validate, dkk_dns_cb cb, void *cbarg);

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

#endif
