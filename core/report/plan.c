/*
 * plan.c: which reports one message owes (RFC 6651 3.3 and 4).  After
 * the verifier is final: each signature that did not pass and asked
 * with r=y, the first of its d= only, and each Author Domain whose ADSP
 * result is fail or discard; one record lookup per candidate, through
 * the context's key cache and resolver; then the record decides.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define REPORTS_MAX_DEFAULT 4

/* The tags RFC 6376 3.5, RFC 6541 and RFC 6651 define; any other tag of
 * a signature falls under u (RFC 6651 3.1). */
static bool
sig_tag_known(const struct tag *t)
{
	static const char *const known[] = { "v", "a", "b", "bh", "c", "d",
	    "h", "i", "l", "q", "s", "t", "x", "z", "r", "atps", "atpsh" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (t->nlen == strlen(known[i]) &&
		    memcmp(t->name, known[i], t->nlen) == 0)
			return true;
	return false;
}

/* r=y (RFC 6651 2): the signer asks for reports.  The tag list must
 * parse; a signature whose tags cannot be told apart (a duplicate, a
 * broken list) asks nothing that can be trusted.  *unknown: it carries
 * a tag no RFC defines. */
static bool
sig_asks(const dkk_verifier *v, const struct vsig *vs, bool *unknown)
{
	struct tag tags[SIG_TAGS_CAP];
	const struct tag *r;
	const char *value;
	size_t len, n, i;

	value = header_value(&v->hdr, &v->hdr.fields[vs->field], &len);
	if (taglist_parse(value, len, tags, SIG_TAGS_CAP, &n) != TAGLIST_OK)
		return false;
	*unknown = false;
	for (i = 0; i < n; i++)
		if (!sig_tag_known(&tags[i]))
			*unknown = true;
	r = taglist_find(tags, n, "r");
	return r != NULL && r->vlen == 1 && r->val[0] == 'y';
}

static void
rlookup_done(struct waiter *w)
{
	struct rlookup *lk = (struct rlookup *)w;

	lk->r->pending--;
	lk->answered = true;
}

int
rlookup_begin(dkk_reports *r, struct rlookup *lk, const char *prefix,
    const char *domain)
{
	struct buf name;
	int rc;

	lk->r = r;
	lk->w.done = rlookup_done;
	buf_init(&name);
	if (buf_printf(&name, "%s%s", prefix, domain) != DKK_OK)
		return DKK_ENOMEM;
	lk->name = buf_take(&name);
	rc = keycache_get(r->v->ctx, lk->name, &lk->w, &lk->e);
	if (rc == DKK_EAGAIN) {
		r->pending++;
		return DKK_OK;
	}
	lk->answered = rc == DKK_OK;
	return rc;
}

static bool
cand_has_domain(const dkk_reports *r, const char *d, bool adsp)
{
	size_t i;

	for (i = 0; i < r->ncands; i++)
		if ((r->cands[i].sig == SIZE_MAX) == adsp &&
		    ci_equal(r->cands[i].domain, strlen(r->cands[i].domain), d,
		    strlen(d)))
			return true;
	return false;
}

static int
cand_add(dkk_reports *r, size_t sig, const char *domain, char token,
    unsigned tokens)
{
	struct rcand *c = &r->cands[r->ncands];

	/* The d= of a signature that did not parse is as written: only a
	 * real domain name may become a lookup and an address (a d= with
	 * "<", "," or "@" would put other recipients into To:). */
	if (!domain_valid(domain, strlen(domain), false) ||
	    strchr(domain, '.') == NULL)
		return DKK_OK;
	memset(c, 0, sizeof(*c));
	c->sig = sig;
	c->token = token;
	c->tokens = tokens;
	if ((c->domain = dkk_strdup(domain)) == NULL)
		return DKK_ENOMEM;
	r->ncands++;
	return rlookup_begin(r, &c->lk, sig == SIZE_MAX ?
	    "_adsp._domainkey." : "_report._domainkey.", domain);
}

/* RFC 6651 3.3: failing signatures with r=y, one per signing domain. */
static int
plan_sigs(dkk_reports *r)
{
	const dkk_verifier *v = r->v;
	size_t i;
	int rc;

	for (i = 0; i < v->nsigs && r->ncands < r->cap; i++) {
		const struct vsig *vs = &v->sigs[i];
		char token = dkk_report_token(vs->res.reason);
		bool unknown;
		unsigned tokens;

		if (vs->res.verdict == DKK_PASS || token == 0 ||
		    vs->res.domain == NULL || !sig_asks(v, vs, &unknown) ||
		    cand_has_domain(r, vs->res.domain, false))
			continue;
		tokens = report_token_bit(token) |
		    (unknown ? DKK_RR('u') : 0);
		if ((rc = cand_add(r, i, vs->res.domain, token, tokens)) !=
		    DKK_OK)
			return rc;
	}
	return DKK_OK;
}

/* RFC 6651 4 names the ADSP tokens without saying which failure is
 * which; dkimkit reads them as: u, the message has no DKIM signature at
 * all; s, an Author Domain Signature is there and its cryptography
 * failed; o, one is there that could not be evaluated; p, only other
 * domains signed (the practice itself was not met). */
static char
adsp_token(const dkk_verifier *v, const char *author)
{
	size_t i;
	char t = 'p';

	if (v->nsigs == 0)
		return 'u';
	for (i = 0; i < v->nsigs; i++) {
		const char *d = v->sigs[i].res.domain;

		if (d == NULL || !ci_equal(d, strlen(d), author,
		    strlen(author)))
			continue;
		if (v->sigs[i].res.verdict == DKK_FAIL)
			return 's';
		t = 'o';
	}
	return t;
}

static int
plan_adsp(dkk_reports *r)
{
	const dkk_verifier *v = r->v;
	size_t k;
	int rc;
	char t;

	if (!r->opts.adsp || !v->adsp_on || v->adsp_res == NULL)
		return DKK_OK;
	for (k = 0; k < v->authors.n && r->ncands < r->cap; k++) {
		const char *d = v->authors.domain[k];

		if ((v->adsp_res[k] != DKK_ADSP_FAIL &&
		    v->adsp_res[k] != DKK_ADSP_DISCARD) ||
		    cand_has_domain(r, d, true))
			continue;
		t = adsp_token(v, d);
		if ((rc = cand_add(r, SIZE_MAX, d, t, report_token_bit(t))) !=
		    DKK_OK)
			return rc;
	}
	return DKK_OK;
}

int
dkk_reports_new(dkk_verifier *v, const struct dkk_report_opts *opts,
    dkk_reports **rp)
{
	dkk_reports *r;
	size_t most;
	int rc = DKK_OK;

	if (v == NULL || rp == NULL || !v->final)
		return DKK_EINVAL;
	if ((r = dkk_calloc(1, sizeof(*r))) == NULL)
		return DKK_ENOMEM;
	r->v = v;
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.max == 0)
		r->opts.max = REPORTS_MAX_DEFAULT;
	most = v->nsigs + v->authors.n + 1;
	if (v->dmarc_on && !r->opts.no_dmarc)
		most += RUF_PER_AUTHOR * (v->authors.n + 1);
	if (most > r->opts.max)
		most = r->opts.max;
	r->cap = most;
	if ((r->cands = dkk_calloc(most, sizeof(*r->cands))) == NULL) {
		free(r);
		return DKK_ENOMEM;
	}
	/* RFC 5965 3 (and RFC 6651 3.3): never a report about a report. */
	if (v->limit.len == 0 && !report_is_feedback(&v->hdr) &&
	    (rc = plan_sigs(r)) == DKK_OK &&
	    (rc = plan_adsp(r)) == DKK_OK)
		rc = ruf_plan(r);
	if (rc != DKK_OK) {
		dkk_reports_free(r);
		return rc;
	}
	*rp = r;
	return DKK_OK;
}

void
dkk_reports_free(dkk_reports *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ncands; i++) {
		keycache_put(r->cands[i].lk.e, &r->cands[i].lk.w);
		free(r->cands[i].lk.name);
		free(r->cands[i].domain);
		free(r->cands[i].to);
		ruf_cand_clear(&r->cands[i]);
	}
	for (i = 0; i < r->nreqs; i++)
		free((char *)r->reqs[i].to);
	for (i = 0; i < r->nreqs; i++)
		free((char *)r->reqs[i].rs);
	free(r->reqs);
	free(r->cands);
	free(r);
}

/* RFC 6651 3.3: exactly one well-formed record with ra=; anything else
 * (no answer, several, a bad one) means no report.  1 with *rec, 0 for
 * none, DKK_ENOMEM. */
static int
cand_record(const struct rcand *c, struct dkk_report_record *rec)
{
	const struct dkk_dns_answer *a = keyent_answer(c->lk.e);
	int rc;

	if (a == NULL || a->status != DKK_DNS_OK || dns_trouble(a) ||
	    a->count != 1)
		return 0;
	if ((rc = dkk_report_record_parse(a->txt[0], a->len[0],
	    c->sig == SIZE_MAX, rec)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : 0;
	if (rec->ra != NULL)
		return 1;
	dkk_report_record_clear(rec);
	return 0;
}

/* The token that asked: the reason's own, else u. */
static char
cand_token(const struct rcand *c, unsigned rr)
{
	if (rr & report_token_bit(c->token))
		return c->token;
	return 'u';
}

static int
req_add(dkk_reports *r, const struct rcand *c, struct dkk_report_record *rec)
{
	struct dkk_report_req *q = &r->reqs[r->nreqs];
	struct buf to;
	unsigned draw;

	buf_init(&to);
	buf_printf(&to, "%s@%s", rec->ra, c->domain);
	if ((q->to = buf_take(&to)) == NULL)
		return DKK_ENOMEM;
	q->domain = c->domain;
	q->token = cand_token(c, rec->rr);
	q->adsp = c->sig == SIZE_MAX;
	q->sig = c->sig;
	q->rs = rec->rs;
	rec->rs = NULL;
	report_draw(&r->opts, &draw);
	q->sampled_out = !dkk_report_sampled(rec->rp, draw);
	q->kind = q->adsp ? DKK_REPORT_ADSP : DKK_REPORT_DKIM;
	r->nreqs++;
	return DKK_OK;
}

/* A DMARC failure report: no record of its own beyond the destination's
 * authorisation, no sampling (RFC 9989 has no rp=; pct= of RFC 7489
 * samples the policy, not the reports). */
static int
req_add_dmarc(dkk_reports *r, const struct rcand *c)
{
	struct dkk_report_req *q = &r->reqs[r->nreqs];

	if ((q->to = dkk_strdup(c->to)) == NULL)
		return DKK_ENOMEM;
	q->domain = c->domain;
	q->token = c->token;
	q->sig = c->sig;
	q->kind = DKK_REPORT_DMARC;
	q->max_bytes = c->max_bytes;
	r->nreqs++;
	return DKK_OK;
}

static int
plan_decide(dkk_reports *r)
{
	struct dkk_report_record rec;
	size_t i;
	int rc = DKK_OK;

	/* after a failed attempt (no memory), start over */
	while (r->nreqs > 0) {
		r->nreqs--;
		free((char *)r->reqs[r->nreqs].to);
		free((char *)r->reqs[r->nreqs].rs);
	}
	free(r->reqs);
	if ((r->reqs = dkk_calloc(r->ncands + 1, sizeof(*r->reqs))) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < r->ncands && rc == DKK_OK; i++) {
		if (r->cands[i].kind == DKK_REPORT_DMARC) {
			if (ruf_cand_ok(&r->cands[i]))
				rc = req_add_dmarc(r, &r->cands[i]);
			continue;
		}
		if ((rc = cand_record(&r->cands[i], &rec)) <= 0)
			continue;
		rc = DKK_OK;
		if (rec.rr & r->cands[i].tokens)
			rc = req_add(r, &r->cands[i], &rec);
		dkk_report_record_clear(&rec);
	}
	return rc;
}

int
dkk_reports_final(dkk_reports *r)
{
	int rc;

	if (r == NULL)
		return DKK_EINVAL;
	if (r->done)
		return DKK_OK;
	if (r->pending > 0)
		return DKK_EAGAIN;
	if ((rc = plan_decide(r)) == DKK_OK)
		r->done = true;
	return rc;
}

int
dkk_reports_wait(dkk_reports *r)
{
	int rc;

	while ((rc = dkk_reports_final(r)) == DKK_EAGAIN)
		if ((rc = dkk_ctx_wait(r->v->ctx)) != DKK_OK)
			return rc;
	return rc;
}

size_t
dkk_reports_count(const dkk_reports *r)
{
	return r != NULL && r->done ? r->nreqs : 0;
}

const struct dkk_report_req *
dkk_reports_get(const dkk_reports *r, size_t i)
{
	return r != NULL && r->done && i < r->nreqs ? &r->reqs[i] : NULL;
}
