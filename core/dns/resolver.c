/*
 * resolver.c: DNS through libunbound, asynchronous underneath.  Lookups
 * run in libunbound's background thread; answers are collected by
 * process() (non-blocking, for event loops polling fd()) or wait()
 * (blocking).  Every lookup has a deadline: past it the query is cancelled
 * and answered TEMPFAIL (RFC 6376 6.1.2: "TEMPFAIL (key unavailable)").
 *
 * Descriptors.  The context lives as long as the host process (Exim's
 * SMTP receiving process, a Dovecot delivery), whose children (Exim's
 * re-executed deliveries and pipe commands, Sieve's extprograms) must not
 * inherit what libunbound holds: a child writing into its socketpairs
 * breaks every later lookup of the process.  libunbound opens descriptors
 * without FD_CLOEXEC and has no option for it, so:
 *
 *  - In thread mode (ub_ctx_async(ub, 1)), which this file uses, the
 *    descriptors libunbound keeps are opened in the caller's thread:
 *    ub_ctx_create() makes two socketpairs (the query and answer tubes),
 *    and the first ub_resolve_async() sets up the background worker's
 *    event base before starting its thread.  Both calls are bracketed
 *    with fdsnap_take()/fdsnap_mark() (cloexec.c): whatever appeared
 *    across the call is marked, whichever descriptor number it took.
 *  - The worker thread opens one UDP (or TCP) socket per query sent and
 *    closes it when the answer comes, before handing the answer over;
 *    those are not seen by the brackets.  While our lookups are in
 *    flight the host is inside this library (Exim and Dovecot block in
 *    dkk_verifier_wait(); filter-dkimkit runs no programs), so none is
 *    passed on.  A lookup cancelled at its deadline, though, goes on in
 *    the worker, which retries with new sockets for a while: so once a
 *    lookup has been cancelled, the whole libunbound context is deleted
 *    (that joins the worker and closes its sockets) as soon as no lookup
 *    is in flight, and made again for the next query.
 *  - Fork mode (ub_ctx_async(ub, 0)) is not used: libunbound would fork
 *    a resolver process from the host's, which would hold the host's
 *    descriptors (the SMTP connection, the spool files) and be a child
 *    the host did not make and would reap.
 *
 * A host thread opening a descriptor while one of the bracketed calls
 * runs would see it marked too; a dkk_ctx belongs to one thread
 * (dkimkit.h), and the adapters' hosts are single-threaded.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#include "dns.h"

#define DNS_TIMEOUT_MS 5000
#define DNS_MAX_TXT 64		/* records in one answer */
#define CLASS_IN 1

struct ubq {
	struct ubres *r;
	struct ubq *prev, *next;
	int id;
	int64_t deadline;	/* monotonic ms */
	enum dkk_dns_type type;
	dkk_dns_cb cb;
	void *cbarg;
};

struct ubres {
	dkk_ctx *ctx;		/* the owner, for error sentences */
	struct ub_ctx *ub;	/* NULL: made again by the next query */
	bool stale;		/* a lookup was cancelled: remake ub when idle */
	char *server;		/* settings, to make ub again */
	char *anchor;
	bool validate;
	unsigned timeout_ms;
	struct ubq head;	/* ring of queries in flight */
	unsigned delivered;	/* answers handed out, for wait() */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
q_unlink(struct ubq *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
}

static void
q_deliver(struct ubq *q, const struct dkk_dns_answer *ans)
{
	q_unlink(q);
	q->r->delivered++;
	q->cb(q->cbarg, ans);
	free(q);
}

static enum dkk_dnssec
ub_dnssec(bool validate, const struct ub_result *res)
{
	if (!validate)
		return DKK_DNSSEC_UNKNOWN;
	if (res->bogus)
		return DKK_DNSSEC_BOGUS;
	return res->secure ? DKK_DNSSEC_SECURE : DKK_DNSSEC_INSECURE;
}

/* One record of a result as text, or NULL when out of memory or when the
 * record is damaged (a damaged record is a failed lookup). */
static char *
record_text(enum dkk_dns_type type, const char *data, int len, size_t *out)
{
	struct buf b;

	buf_init(&b);
	if (rdata_text(type, (const uint8_t *)data, len > 0 ? (size_t)len : 0,
	    &b) != DKK_OK || buf_reserve(&b, 1) != DKK_OK) {
		buf_clear(&b);
		return NULL;
	}
	*out = b.len;
	b.p[b.len] = '\0';
	return b.p;
}

/* The dkk_dns_answer of a libunbound result, handed to cb: rcode and
 * DNSSEC state mapped, each record as text (rdata.c).  libunbound has
 * followed CNAMEs already: data[] holds the records of the last name.
 * Separate from the query bookkeeping so that a fuzz harness can feed it
 * any result. */
void
resolver_answer(const struct ub_result *res, enum dkk_dns_type type,
    bool validate, dkk_dns_cb cb, void *cbarg)
{
	struct dkk_dns_answer ans = { DKK_DNS_TEMPFAIL, DKK_DNSSEC_UNKNOWN, 0,
	    0, NULL, NULL };
	char *txt[DNS_MAX_TXT];
	size_t len[DNS_MAX_TXT], n = 0, i;

	ans.dnssec = ub_dnssec(validate, res);
	if (res->rcode == 3 && !res->bogus)
		ans.status = DKK_DNS_NXDOMAIN;
	else if (res->rcode == 0 && !res->bogus) {
		ans.status = DKK_DNS_OK;
		ans.ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
		for (i = 0; res->havedata && res->data[i] != NULL &&
		    n < DNS_MAX_TXT; i++)
			if ((txt[n] = record_text(type, res->data[i],
			    res->len[i], &len[n])) != NULL)
				n++;
			else
				ans.status = DKK_DNS_TEMPFAIL;
	}
	ans.count = ans.status == DKK_DNS_OK ? n : 0;
	ans.txt = (const char *const *)txt;
	ans.len = len;
	cb(cbarg, &ans);
	for (i = 0; i < n; i++)
		free(txt[i]);
}

static void
answer_deliver(void *cbarg, const struct dkk_dns_answer *ans)
{
	q_deliver(cbarg, ans);
}

static void
ub_callback(void *mydata, int err, struct ub_result *res)
{
	static const struct dkk_dns_answer fail = { DKK_DNS_TEMPFAIL,
	    DKK_DNSSEC_UNKNOWN, 0, 0, NULL, NULL };
	struct ubq *q = mydata;

	if (err != 0 || res == NULL)
		q_deliver(q, &fail);
	else
		resolver_answer(res, q->type, q->r->validate, answer_deliver,
		    q);
	if (res != NULL)
		ub_resolve_free(res);
}

/* The zones libunbound answers itself by default (RFC 6761 .test, the
 * RFC 6303 reverse zones of the documentation and private ranges) that a
 * named resolver decides about instead: test setups publish keys under
 * .test, and SPF's ptr and %{p} (RFC 7208 5.5) ask the reverse zones of
 * the documentation addresses clients have in tests, and of private
 * addresses clients have inside an organisation. */
static void
ubres_transparent(struct ubres *r)
{
	static const char *const zones[] = {
		"test.", "2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
		"113.0.203.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.",
		"10.in-addr.arpa.", "168.192.in-addr.arpa.",
		"d.f.ip6.arpa.",
	};
	char zone[48];
	size_t i;
	int k;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		snprintf(zone, sizeof(zone), "%s transparent", zones[i]);
		ub_ctx_set_option(r->ub, "local-zone:", zone);
	}
	for (k = 16; k <= 31; k++) {
		snprintf(zone, sizeof(zone), "%d.172.in-addr.arpa. "
		    "transparent", k);
		ub_ctx_set_option(r->ub, "local-zone:", zone);
	}
}

static int
ubres_configure(struct ubres *r)
{
	int rc;

	if ((rc = ub_ctx_async(r->ub, 1)) != 0)
		return ctx_fail(r->ctx, DKK_EDNS, "libunbound: %s",
		    ub_strerror(rc));
	if (r->server != NULL) {
		if ((rc = ub_ctx_set_fwd(r->ub, r->server)) != 0)
			return ctx_fail(r->ctx, DKK_EDNS, "DNS server %s: %s",
			    r->server, ub_strerror(rc));
		ubres_transparent(r);
	} else if ((rc = ub_ctx_resolvconf(r->ub, NULL)) != 0) {
		return ctx_fail(r->ctx, DKK_EDNS, "/etc/resolv.conf: %s",
		    ub_strerror(rc));
	} else {
		ub_ctx_hosts(r->ub, NULL);
	}
	if (r->anchor != NULL) {
		if ((rc = ub_ctx_add_ta_file(r->ub, r->anchor)) != 0)
			return ctx_fail(r->ctx, DKK_EDNS, "trust anchor %s: %s",
			    r->anchor, ub_strerror(rc));
		r->validate = true;
	}
	return DKK_OK;
}

/* Make and configure r->ub; its socketpairs are marked close-on-exec
 * (see the top of this file). */
static int
ubres_open(struct ubres *r)
{
	struct fdsnap snap;
	int rc;

	if (fdsnap_take(&snap) != DKK_OK)
		return ctx_fail(r->ctx, DKK_ENOMEM, "libunbound: %s",
		    dkk_strerror(DKK_ENOMEM));
	r->ub = ub_ctx_create();
	fdsnap_mark(&snap);
	if (r->ub == NULL)
		return ctx_fail(r->ctx, DKK_EDNS, "libunbound: cannot start");
	if ((rc = ubres_configure(r)) != DKK_OK) {
		ub_ctx_delete(r->ub);
		r->ub = NULL;
	}
	return rc;
}

/* ub_resolve_async(), with what it opens marked close-on-exec: the first
 * call sets up the background worker. */
static int
ubres_send(struct ubres *r, struct ubq *q, const char *name)
{
	struct fdsnap snap;
	int rc;

	if (fdsnap_take(&snap) != DKK_OK)
		return DKK_ENOMEM;
	rc = ub_resolve_async(r->ub, name, (int)q->type, CLASS_IN, q,
	    ub_callback, &q->id);
	fdsnap_mark(&snap);
	return rc == 0 ? DKK_OK : DKK_EDNS;
}

static int
ubres_query_type(void *arg, const char *name, enum dkk_dns_type type,
    dkk_dns_cb cb, void *cbarg)
{
	struct ubres *r = arg;
	struct ubq *q;
	int rc;

	if (r->ub == NULL && (rc = ubres_open(r)) != DKK_OK)
		return rc;
	if ((q = dkk_calloc(1, sizeof(*q))) == NULL)
		return DKK_ENOMEM;
	q->r = r;
	q->type = type;
	q->cb = cb;
	q->cbarg = cbarg;
	q->deadline = now_ms() + r->timeout_ms;
	if ((rc = ubres_send(r, q, name)) != DKK_OK) {
		free(q);
		return rc;
	}
	q->next = &r->head;
	q->prev = r->head.prev;
	r->head.prev->next = q;
	r->head.prev = q;
	return DKK_OK;
}

static int
ubres_query(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	return ubres_query_type(arg, name, DKK_DNS_TXT, cb, cbarg);
}

/* Cancel and answer every query past its deadline. */
static void
ubres_expire(struct ubres *r)
{
	static const struct dkk_dns_answer timeout = { DKK_DNS_TEMPFAIL,
	    DKK_DNSSEC_UNKNOWN, 0, 0, NULL, NULL };
	int64_t now = now_ms();
	struct ubq *q, *next;

	for (q = r->head.next; q != &r->head; q = next) {
		next = q->next;
		if (q->deadline <= now) {
			ub_cancel(r->ub, q->id);
			r->stale = true;
			q_deliver(q, &timeout);
		}
	}
}

/* After a cancel, and once no lookup is in flight, drop the libunbound
 * context: its worker still retries the cancelled query with sockets of
 * its own (see the top of this file). */
static void
ubres_settle(struct ubres *r)
{
	if (!r->stale || r->head.next != &r->head || r->ub == NULL)
		return;
	ub_ctx_delete(r->ub);
	r->ub = NULL;
	r->stale = false;
}

static int
ubres_process(void *arg)
{
	struct ubres *r = arg;

	if (r->ub != NULL && ub_poll(r->ub) && ub_process(r->ub) != 0)
		return DKK_EDNS;
	ubres_expire(r);
	ubres_settle(r);
	return DKK_OK;
}

static int
ubres_fd(void *arg)
{
	struct ubres *r = arg;

	return r->ub != NULL ? ub_fd(r->ub) : -1;
}

/* Milliseconds until the earliest deadline: queries are appended with
 * one timeout, so the first in the list ends first. */
static int
ubres_timeout(void *arg)
{
	struct ubres *r = arg;
	int64_t left;

	if (r->head.next == &r->head)
		return -1;
	left = r->head.next->deadline - now_ms();
	return left <= 0 ? 0 : left >= INT_MAX ? INT_MAX : (int)left;
}

/* Block until at least one answer is delivered or a deadline passes.
 * A query in flight means r->ub is there (ubres_settle waits for none). */
static int
ubres_wait(void *arg)
{
	struct ubres *r = arg;
	unsigned before = r->delivered;
	struct pollfd pfd;
	int64_t left;
	int rc;

	while (r->delivered == before && r->head.next != &r->head) {
		left = r->head.next->deadline - now_ms();
		pfd.fd = ub_fd(r->ub);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > 0 ? (int)(left < 1000 ? left : 1000) :
		    0) < 0 && errno != EINTR)
			return DKK_EDNS;
		if ((rc = ubres_process(r)) != DKK_OK)
			return rc;
	}
	return DKK_OK;
}

static void
ubres_release(void *arg)
{
	struct ubres *r = arg;
	struct ubq *q, *next;

	if (r->ub != NULL)
		ub_ctx_delete(r->ub);	/* cancels what is in flight */
	for (q = r->head.next; q != &r->head; q = next) {
		next = q->next;
		free(q);
	}
	free(r->server);
	free(r->anchor);
	free(r);
}

static int
ctx_use_dns_run(dkk_ctx *ctx, const char *server, const char *trust_anchor,
    unsigned timeout_ms)
{
	static const struct dkk_resolver ops = {
		.query_txt = ubres_query,
		.wait = ubres_wait,
		.fd = ubres_fd,
		.process = ubres_process,
		.timeout = ubres_timeout,
		.release = ubres_release,
	};
	struct ubres *r;
	int rc;

	if (ctx == NULL)
		return DKK_EINVAL;
	if ((r = dkk_calloc(1, sizeof(*r))) == NULL)
		return DKK_ENOMEM;
	r->ctx = ctx;
	r->head.next = r->head.prev = &r->head;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : DNS_TIMEOUT_MS;
	if ((server != NULL && (r->server = dkk_strdup(server)) == NULL) ||
	    (trust_anchor != NULL &&
	    (r->anchor = dkk_strdup(trust_anchor)) == NULL)) {
		ubres_release(r);
		return DKK_ENOMEM;
	}
	if ((rc = ubres_open(r)) != DKK_OK) {
		ubres_release(r);
		return rc;
	}
	if ((rc = dkk_ctx_set_resolver(ctx, &ops, r)) == DKK_OK)
		rc = dkk_ctx_set_resolver_query(ctx, ubres_query_type);
	return rc;
}

int
dkk_ctx_use_dns(dkk_ctx *ctx, const char *server, const char *trust_anchor,
    unsigned timeout_ms)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, ctx_use_dns_run(ctx, server, trust_anchor, timeout_ms));
}
