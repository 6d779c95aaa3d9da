/*
 * rua.c: dkk_dmarc_dests(): the report destinations (rua= or ruf=) of a
 * policy domain's current DMARC record, each checked as RFC 9990
 * ("Verifying External Destinations") asks before anything is sent to
 * an address outside the domain.  A
 * blocking call on the context's resolver, for report senders (the
 * command's report aggregate --send), never for a verifier.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "dns/dns.h"

/* One answer, waited for: the TXT records copied (the answer lives only
 * during the callback), or whether they authorise a destination. */
struct wait_txt {
	bool done;
	enum dkk_dns_status status;
	bool bogus;
	struct buf recs;	/* the DMARC records, each NUL-ended */
	size_t nrecs;
	bool accepts;		/* dest mode: dmarc_dest_accepts() */
	bool dest;
	struct buf over;	/* dest mode: the accepting record's rua= */
	bool has_over;
};

static const char *tag_value(const char *rec, const char *name, size_t *n);

/* RFC 9990 (external destinations) steps 6 to 9: a record that
 * authorises, and the rua= it
 * may carry to override the destination (the first such record's). */
static void
dest_answer(struct wait_txt *w, const struct dkk_dns_answer *a)
{
	const char *v;
	size_t i, n;

	for (i = 0; i < a->count; i++) {
		if (!dmarc_dest_accepts(&a->txt[i], 1))
			continue;
		if (!w->accepts && (v = tag_value(a->txt[i], "rua", &n)) !=
		    NULL) {
			buf_add(&w->over, v, n);
			buf_addc(&w->over, '\0');
			w->has_over = true;
		}
		w->accepts = true;
	}
}

static void
wait_cb(void *arg, const struct dkk_dns_answer *a)
{
	struct wait_txt *w = arg;
	size_t i;
	struct dmarc_rec r;

	w->done = true;
	w->status = a->status;
	w->bogus = a->dnssec == DKK_DNSSEC_BOGUS;
	if (a->status != DKK_DNS_OK)
		return;
	if (w->dest) {
		dest_answer(w, a);
		return;
	}
	/* RFC 9989 4.10: only records that are DMARC records count */
	for (i = 0; i < a->count; i++)
		if (dmarc_record_parse(a->txt[i], a->len[i], false, &r) == 1) {
			buf_add(&w->recs, a->txt[i], a->len[i]);
			buf_addc(&w->recs, '\0');
			w->nrecs++;
		}
}

static int
wait_query(dkk_ctx *ctx, const char *name, struct wait_txt *w)
{
	int rc;

	if ((rc = dns_query(ctx, name, DKK_DNS_TXT, wait_cb, w)) != DKK_OK)
		return rc;
	while (!w->done)
		if ((rc = dkk_ctx_wait(ctx)) != DKK_OK)
			return rc;
	return DKK_OK;
}

/* The value of tag name (rua or ruf) in rec, or NULL; *n its length. */
static const char *
tag_value(const char *rec, const char *name, size_t *n)
{
	const char *p = rec, *semi, *eq, *k, *ke;

	for (; *p != '\0'; p = semi + (*semi == ';')) {
		semi = p + strcspn(p, ";");
		if ((eq = memchr(p, '=', (size_t)(semi - p))) == NULL)
			continue;
		for (k = p; *k == ' ' || *k == '\t'; k++)
			;
		for (ke = eq; ke > k && (ke[-1] == ' ' || ke[-1] == '\t'); ke--)
			;
		if ((size_t)(ke - k) == strlen(name) &&
		    strncmp(k, name, (size_t)(ke - k)) == 0) {
			*n = (size_t)(semi - eq - 1);
			return eq + 1;
		}
	}
	return NULL;
}

/* RFC 9990 (external destinations) step 9: the authorising record's
 * rua= replaces the
 * destination, on the same host only; another host stops both (its
 * last paragraph).  The override's first URI is taken: the step
 * replaces one value with one. */
static void
dest_override(struct dkk_report_dest *d, const struct wait_txt *w)
{
	const char *v = w->over.p, *why;
	struct dmarc_uri u;

	if (dmarc_uri_parse(v, strcspn(v, ","), &u, &why) != 0) {
		d->state = DKK_DEST_REFUSED;
		d->why = "the authorising record's rua= does not parse";
		return;
	}
	if (strcasecmp(u.domain, d->domain) != 0) {
		d->state = DKK_DEST_REFUSED;
		d->why = "the authorising record's rua= names another host";
		return;
	}
	memcpy(d->addr, u.addr, sizeof(d->addr));
	d->max_bytes = u.max_bytes;
	d->state = DKK_DEST_OK;
	d->why = "external, authorised; its own record's rua= overrides";
}

/* RFC 9990 (external destinations): a destination outside the
 * policy domain is asked at
 * <policy domain>._report._dmarc.<destination host>. */
static int
dest_verify(dkk_ctx *ctx, const char *policy_domain,
    struct dkk_report_dest *d)
{
	struct wait_txt w = { .dest = true };
	char q[300];
	int rc;

	if (!dmarc_dest_external(policy_domain, d->domain)) {
		d->state = DKK_DEST_OK;
		d->why = "inside the policy domain";
		return DKK_OK;
	}
	if (dmarc_dest_qname(policy_domain, d->domain, q, sizeof(q)) != 0) {
		d->state = DKK_DEST_REFUSED;
		d->why = "the verification name is too long for DNS";
		return DKK_OK;
	}
	if ((rc = wait_query(ctx, q, &w)) != DKK_OK) {
		free(w.over.p);
		return rc;
	}
	if (w.over.failed) {
		free(w.over.p);
		return DKK_ENOMEM;
	}
	if (w.status == DKK_DNS_TEMPFAIL || w.bogus) {
		d->state = DKK_DEST_TEMPERROR;
		d->why = "the verification lookup failed temporarily";
	} else if (w.status == DKK_DNS_OK && w.accepts && w.has_over) {
		dest_override(d, &w);
	} else if (w.status == DKK_DNS_OK && w.accepts) {
		d->state = DKK_DEST_OK;
		d->why = "external, authorised by its v=DMARC1 record";
	} else {
		d->state = DKK_DEST_REFUSED;
		d->why = "external, and no v=DMARC1 record authorises it";
	}
	free(w.over.p);
	return DKK_OK;
}

/* Each URI of the comma list v (RFC 9989 4.7) into out. */
static int
dests_fill(dkk_ctx *ctx, const char *policy_domain, const char *v,
    size_t vlen, struct dkk_report_dest *out, size_t max, size_t *n)
{
	const char *end = v + vlen, *comma, *why;
	struct dmarc_uri u;
	struct dkk_report_dest *d;
	size_t i;
	int rc;

	for (; v < end && *n < max; v = comma + 1) {
		if ((comma = memchr(v, ',', (size_t)(end - v))) == NULL)
			comma = end;
		d = &out[(*n)++];
		memset(d, 0, sizeof(*d));
		if (dmarc_uri_parse(v, (size_t)(comma - v), &u, &why) != 0) {
			d->state = DKK_DEST_BAD;
			d->why = why;
			continue;
		}
		memcpy(d->addr, u.addr, sizeof(d->addr));
		for (i = 0; i < sizeof(d->domain) - 1 && u.domain[i] != '\0';
		    i++)
			d->domain[i] = (char)tolower((unsigned char)u.domain[i]);
		d->domain[i] = '\0';
		d->max_bytes = u.max_bytes;
		if ((rc = dest_verify(ctx, policy_domain, d)) != DKK_OK)
			return rc;
	}
	return DKK_OK;
}

int
dkk_dmarc_dests(dkk_ctx *ctx, const char *policy_domain, int ruf,
    struct dkk_report_dest *out, size_t max, size_t *n, int *found)
{
	struct wait_txt w = { 0 };
	struct buf q = { 0 };
	const char *v;
	size_t vlen;
	int rc;

	if (ctx == NULL || policy_domain == NULL || n == NULL ||
	    found == NULL || (out == NULL && max > 0))
		return DKK_EINVAL;
	*n = 0;
	*found = 0;
	if (buf_printf(&q, "_dmarc.%s", policy_domain) != 0)
		return DKK_ENOMEM;
	rc = wait_query(ctx, q.p, &w);
	free(q.p);
	if (rc == DKK_OK && w.recs.failed)
		rc = DKK_ENOMEM;
	if (rc == DKK_OK && (w.status == DKK_DNS_TEMPFAIL || w.bogus))
		*found = -1;
	/* RFC 9989 4.10: several DMARC records are as none */
	else if (rc == DKK_OK && w.nrecs == 1) {
		*found = 1;
		v = tag_value(w.recs.p, ruf ? "ruf" : "rua", &vlen);
		if (v != NULL)
			rc = dests_fill(ctx, policy_domain, v, vlen, out, max,
			    n);
	}
	free(w.recs.p);
	return rc;
}
