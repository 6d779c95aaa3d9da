/*
 * keycache.c: DNS answers by name, with their key records parsed once.
 * A bounded hash table with LRU eviction; TTLs are honoured up to a cap.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim.h"

#define CACHE_NEG_TTL 300	/* seconds, cap for NXDOMAIN and NODATA */

struct keyent {
	struct keyent *hnext;		/* hash chain */
	struct keyent *prev, *next;	/* LRU, most recent first */
	struct keycache *cache;
	char *name;
	unsigned refs;
	bool ready;
	bool stale;			/* out of the table, freed at refs 0 */
	int64_t expires;
	struct waiter *waiters;
	struct dkk_dns_answer ans;
	char **txt;
	size_t *len;
	bool parsed;
	int parse_rc;
	struct keyrec kr;
	enum dkk_reason reason;
	char *why;
	size_t dropped;			/* TXT bytes of an answer over max_bytes */
};

struct keycache {
	struct keyent **table;
	size_t nbuckets;
	size_t count;
	size_t max;
	uint32_t ttl_max;		/* cap on a record's TTL */
	size_t max_bytes;		/* TXT bytes kept of one answer */
	struct keyent lru;		/* sentinel of the LRU ring */
};

static int64_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static size_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint32_t)lower((unsigned char)*s)) * 16777619u;
	return h;
}

int
keycache_new(struct keycache **cp, size_t max_entries)
{
	struct keycache *c;

	if ((c = dkk_calloc(1, sizeof(*c))) == NULL)
		return DKK_ENOMEM;
	c->max = max_entries;
	c->ttl_max = 3600;
	c->max_bytes = SIZE_MAX;
	c->nbuckets = 256;
	while (c->nbuckets < max_entries && c->nbuckets < (1u << 20))
		c->nbuckets *= 2;
	if ((c->table = dkk_calloc(c->nbuckets, sizeof(*c->table))) == NULL) {
		free(c);
		return DKK_ENOMEM;
	}
	c->lru.next = c->lru.prev = &c->lru;
	*cp = c;
	return DKK_OK;
}

static void
ent_free(struct keyent *e)
{
	size_t i;

	for (i = 0; i < e->ans.count; i++)
		free(e->txt[i]);
	free(e->txt);
	free(e->len);
	keyrec_clear(&e->kr);
	free(e->why);
	free(e->name);
	free(e);
}

static void
lru_unlink(struct keyent *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

static void
lru_front(struct keycache *c, struct keyent *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

/* Take an entry out of the table; it lives on while referenced. */
static void
ent_detach(struct keyent *e)
{
	struct keycache *c = e->cache;
	struct keyent **pp;

	if (e->stale)
		return;
	for (pp = &c->table[name_hash(e->name) & (c->nbuckets - 1)];
	    *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	lru_unlink(e);
	c->count--;
	e->stale = true;
	if (e->refs == 0)
		ent_free(e);
}

static void
ent_release(struct keyent *e)
{
	if (--e->refs == 0 && e->stale)
		ent_free(e);
}

/* Drop idle entries from the old end until the cache is within bounds. */
static void
cache_trim(struct keycache *c)
{
	struct keyent *e = c->lru.prev, *prev;

	while (c->count > c->max && e != &c->lru) {
		prev = e->prev;
		if (e->refs == 0)
			ent_detach(e);
		e = prev;
	}
}

void
keycache_free(struct keycache *c)
{
	struct keyent *e, *next;

	if (c == NULL)
		return;
	for (e = c->lru.next; e != &c->lru; e = next) {
		next = e->next;
		ent_free(e);
	}
	free(c->table);
	free(c);
}

static struct keyent *
cache_find(struct keycache *c, const char *name)
{
	struct keyent *e;

	for (e = c->table[name_hash(name) & (c->nbuckets - 1)]; e != NULL;
	    e = e->hnext)
		if (ci_equal(e->name, strlen(e->name), name, strlen(name)))
			return e;
	return NULL;
}

/* Bound the cache; a smaller bound takes effect as entries come in. */
void
keycache_limits(struct keycache *c, size_t max_entries, uint32_t ttl_max)
{
	if (max_entries > 0)
		c->max = max_entries;
	c->ttl_max = ttl_max;
}

static uint32_t
ttl_for(const struct keycache *c, const struct dkk_dns_answer *ans)
{
	uint32_t cap = c->ttl_max;

	if ((ans->status == DKK_DNS_NXDOMAIN || ans->count == 0) &&
	    cap > CACHE_NEG_TTL)
		cap = CACHE_NEG_TTL;
	return ans->ttl < cap ? ans->ttl : cap;
}

/* Set the most TXT bytes one answer may bring (DKK_LIMIT_DNS_BYTES). */
void
keycache_max_bytes(struct keycache *c, size_t max_bytes)
{
	c->max_bytes = max_bytes;
}

/* The TXT bytes of an answer refused for its size, else 0. */
size_t
keyent_dropped(const struct keyent *e)
{
	return e->dropped;
}

/* Keep the records of ans; an answer larger than max_bytes in all is
 * kept as none, its size noted, so that no parser ever sees it. */
static bool
ent_copy(struct keyent *e, const struct dkk_dns_answer *ans)
{
	size_t i, total = 0;

	for (i = 0; i < ans->count; i++)
		total += ans->len[i] < SIZE_MAX - total ? ans->len[i] :
		    SIZE_MAX - total;
	if (total > e->cache->max_bytes) {
		e->dropped = total;
		return true;
	}
	if (ans->count == 0)
		return true;
	e->txt = dkk_calloc(ans->count, sizeof(*e->txt));
	e->len = dkk_calloc(ans->count, sizeof(*e->len));
	if (e->txt == NULL || e->len == NULL)
		return false;
	for (i = 0; i < ans->count; i++) {
		if ((e->txt[i] = dkk_strndup(ans->txt[i], ans->len[i])) == NULL)
			return false;
		e->len[i] = ans->len[i];
		e->ans.count = i + 1;
	}
	return true;
}

/* The resolver's callback: keep the answer, wake the waiting messages,
 * drop the reference the query held. */
static void
keycache_answer(void *cbarg, const struct dkk_dns_answer *ans)
{
	struct keyent *e = cbarg;
	struct waiter *w, *next;

	e->ans.status = ans->status;
	e->ans.dnssec = ans->dnssec;
	e->ans.ttl = ans->ttl;
	if (!ent_copy(e, ans))
		e->ans.status = DKK_DNS_TEMPFAIL;
	e->ans.txt = (const char *const *)e->txt;
	e->ans.len = e->len;
	e->expires = mono_now() + ttl_for(e->cache, &e->ans);
	e->ready = true;
	if (e->ans.status == DKK_DNS_TEMPFAIL)
		ent_detach(e);
	for (w = e->waiters, e->waiters = NULL; w != NULL; w = next) {
		next = w->next;
		w->done(w);
	}
	ent_release(e);
}

static const struct dkk_dns_answer tempfail = { DKK_DNS_TEMPFAIL,
    DKK_DNSSEC_UNKNOWN, 0, 0, NULL, NULL };

static int
ent_new(dkk_ctx *ctx, const char *name, struct keyent **ep)
{
	struct keycache *c = ctx->cache;
	struct keyent *e;
	size_t b;

	if ((e = dkk_calloc(1, sizeof(*e))) == NULL ||
	    (e->name = dkk_strdup(name)) == NULL) {
		free(e);
		return DKK_ENOMEM;
	}
	e->cache = c;
	e->refs = 2;		/* the caller's and the query's */
	b = name_hash(name) & (c->nbuckets - 1);
	e->hnext = c->table[b];
	c->table[b] = e;
	lru_front(c, e);
	c->count++;
	cache_trim(c);
	*ep = e;
	if (ctx->res.query_txt == NULL ||
	    ctx->res.query_txt(ctx->res_arg, name, keycache_answer, e) != DKK_OK)
		keycache_answer(e, &tempfail);
	return DKK_OK;
}

/* Get the answer for name.  DKK_OK: *ep is ready.  DKK_EAGAIN: *ep is
 * pending and w->done will be called when it is ready.  Either way the
 * caller holds a reference, released with keycache_put(). */
int
keycache_get(dkk_ctx *ctx, const char *name, struct waiter *w,
    struct keyent **ep)
{
	struct keyent *e = cache_find(ctx->cache, name);
	int rc;

	if (e != NULL && e->ready && e->expires <= mono_now()) {
		ent_detach(e);
		e = NULL;
	}
	if (e != NULL) {
		e->refs++;
		lru_unlink(e);
		lru_front(ctx->cache, e);
	} else if ((rc = ent_new(ctx, name, &e)) != DKK_OK) {
		return rc;
	}
	*ep = e;
	if (e->ready)
		return DKK_OK;
	w->next = e->waiters;
	e->waiters = w;
	return DKK_EAGAIN;
}

/* Release an entry (and the waiter, if it still waits on it). */
void
keycache_put(struct keyent *e, struct waiter *w)
{
	struct waiter **pp;

	if (e == NULL)
		return;
	for (pp = &e->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	ent_release(e);
}

bool
keyent_ready(const struct keyent *e)
{
	return e->ready;
}

const struct dkk_dns_answer *
keyent_answer(const struct keyent *e)
{
	return &e->ans;
}

/* The key record of the answer, parsed on first use: the first TXT record
 * that is a valid key wins (RFC 6376 6.1.2 leaves the choice open); if none
 * is, the first record's fault is reported. */
int
keyent_key(struct keyent *e, unsigned max_bits, const struct keyrec **kr,
    enum dkk_reason *reason, const char **why)
{
	struct buf msg;
	struct keyrec tmp;
	enum dkk_reason r;
	size_t i;
	int rc;

	if (!e->parsed) {
		e->parse_rc = DKK_ESYNTAX;
		e->reason = DKK_R_KEY_SYNTAX;
		buf_init(&msg);
		for (i = 0; i < e->ans.count && e->parse_rc != DKK_OK; i++) {
			rc = keyrec_parse(&tmp, e->txt[i], e->len[i], max_bits,
			    &r, &msg);
			if (rc == DKK_OK) {
				e->kr = tmp;
				e->parse_rc = DKK_OK;
			} else if (i == 0 || rc == DKK_ENOMEM) {
				keyrec_clear(&tmp);
				e->reason = rc == DKK_ENOMEM ? DKK_R_INTERNAL : r;
				free(e->why);
				e->why = buf_take(&msg);
			} else {
				keyrec_clear(&tmp);
			}
			buf_clear(&msg);
		}
		if (e->ans.count == 0)
			e->why = dkk_strdup("no key record at the selector");
		e->parsed = true;
	}
	*kr = &e->kr;
	*reason = e->reason;
	*why = e->why != NULL ? e->why : "key record unusable";
	return e->parse_rc;
}
