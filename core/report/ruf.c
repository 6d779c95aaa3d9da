/*
 * ruf.c: DMARC failure reports (RFC 9991, on the fo= and ruf= tags of
 * RFC 9989 4.7).  The RFC 9991 text was not at hand; this follows the
 * last draft-ietf-dmarc-failure-reporting and RFC 7489 7.3 where they
 * agree.  Which Author Domains owe a report and to whom; the report
 * itself is written by arf.c and delivered, rate-limited and suppressed
 * as every other failure report.
 *
 * Choices where the RFC leaves room, each also in dkimkit(1):
 * - fo= is read as written for every Author Domain DMARC evaluated to
 *   pass or fail: 1, d and s can ask for a report about a message that
 *   passed DMARC (one mechanism aligned, another did not or failed);
 *   none, temperror and permerror give no report (nothing was decided).
 * - "a signature failed evaluation" (fo=d): a DKIM-Signature whose
 *   verdict is fail, permerror or policy; temperror is not a failure
 *   (tried again it may pass).
 * - "SPF failed" (fo=s): the SPF result fail, softfail or permerror
 *   (RFC 7208 2.6: the three that say the host is not authorised or the
 *   record is broken); neutral, none and temperror are not failures.
 * - A record found with psd=y is a Public Suffix Domain's: its ruf= is
 *   never used (RFC 9989 and RFC 9991: failure reports go to the domain
 *   owner only).
 */
#include <stdlib.h>
#include <string.h>

#include "dmarc/dmarc.h"
#include "mail/mail.h"
#include "report.h"

char
ruf_fo_asks(unsigned fo, const struct ruf_facts *f)
{
	bool none_aligned = !f->dkim_aligned && !f->spf_aligned;
	bool any_unaligned = !f->dkim_aligned || !f->spf_aligned;

	/* RFC 9989 4.7 fo: 0, "all underlying authentication mechanisms
	 * fail to produce an aligned pass result" */
	if ((fo & DMARC_FO_0) && none_aligned)
		return '0';
	/* 1, "any underlying authentication mechanism produced something
	 * other than an aligned pass result" */
	if ((fo & DMARC_FO_1) && any_unaligned)
		return '1';
	/* d, "a signature that failed evaluation, regardless of its
	 * alignment" */
	if ((fo & DMARC_FO_D) && f->dkim_failed)
		return 'd';
	/* s, "failed SPF evaluation, regardless of its alignment" */
	if ((fo & DMARC_FO_S) && f->spf_failed)
		return 's';
	return 0;
}

static bool
sig_failed(enum dkk_verdict vd)
{
	return vd == DKK_FAIL || vd == DKK_PERMERROR || vd == DKK_POLICY;
}

static void
ruf_facts_of(const dkk_verifier *v, const struct dkk_dmarc_result *res,
    struct ruf_facts *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->dkim_aligned = res->dkim_aligned != 0;
	f->spf_aligned = res->spf_aligned != 0;
	for (i = 0; i < v->nsigs; i++)
		if (sig_failed(v->sigs[i].res.verdict))
			f->dkim_failed = true;
	f->spf_failed = v->spf.result == DKK_SPF_FAIL ||
	    v->spf.result == DKK_SPF_SOFTFAIL ||
	    v->spf.result == DKK_SPF_PERMERROR;
}

/* a is b or below it. */
static bool
within(const char *a, const char *b)
{
	size_t n = strlen(a), k = strlen(b);

	return n == k ? ci_equal(a, n, b, k) : n > k && a[n - k - 1] == '.' &&
	    ci_equal(a + n - k, k, b, k);
}

/* d= within the Organizational Domain (relaxed alignment), or the
 * Author Domain itself; with the Organizational Domain unknown (the
 * record was at the Author Domain), a d= above or below the Author
 * Domain. */
static bool
d_related(const char *d, const char *author, const char *org)
{
	if (org != NULL)
		return within(d, org) || within(d, author);
	return within(d, author) || within(author, d);
}

/* The signature whose DKIM-* fields the report carries (RFC 9991: those
 * of the aligned identifier): an aligned pass first, else the first
 * signature related to the Author Domain, else for fo=d the first that
 * failed; SIZE_MAX: none. */
static size_t
ruf_sig(const dkk_verifier *v, const struct dmarc_author_facts *af,
    char fo)
{
	size_t i;

	for (i = 0; i < v->nsigs && af->res.dkim_aligned; i++)
		if (v->sigs[i].res.verdict == DKK_PASS &&
		    v->sigs[i].res.domain != NULL &&
		    d_related(v->sigs[i].res.domain, af->res.domain, af->org))
			return i;
	for (i = 0; i < v->nsigs; i++)
		if (v->sigs[i].res.domain != NULL &&
		    d_related(v->sigs[i].res.domain, af->res.domain, af->org))
			return i;
	for (i = 0; i < v->nsigs && fo == 'd'; i++)
		if (sig_failed(v->sigs[i].res.verdict) &&
		    v->sigs[i].res.domain != NULL)
			return i;
	return SIZE_MAX;
}

/* RFC 9989 4.10.2 for a policy record found at the Author Domain,
 * where the verifier's walk stopped: the rest of the walk, all names at
 * once (the first answers come from the cache), only for a destination
 * outside the policy domain. */
struct ruf_walk {
	char *start;
	const char *names[DMARC_WALK_MAX];
	size_t n;
	struct rlookup lk[DMARC_WALK_MAX];
};

static int
ruf_walk_begin(dkk_reports *r, struct rcand *c, const char *domain)
{
	struct ruf_walk *w;
	size_t i;
	int rc = DKK_OK;

	if ((w = c->org = dkk_calloc(1, sizeof(*w))) == NULL ||
	    (w->start = dkk_strdup(domain)) == NULL)
		return DKK_ENOMEM;
	for (i = 0; w->start[i] != '\0'; i++)
		w->start[i] = (char)lower((unsigned char)w->start[i]);
	w->n = dmarc_walk_names(w->start, w->names);
	for (i = 0; i < w->n && rc == DKK_OK; i++)
		rc = rlookup_begin(r, &w->lk[i], "_dmarc.", w->names[i]);
	return rc;
}

/* What names[i] gave, as the verifier's walk reads it (RFC 9989 4.10
 * step 2). */
static void
ruf_walk_read(const struct rlookup *lk, struct dmarc_found *f)
{
	const struct dkk_dns_answer *a;
	struct dmarc_rec rec;
	size_t k, n = 0;

	f->state = 0;
	if (lk->e == NULL || !lk->answered)
		return;
	a = keyent_answer(lk->e);
	if (dns_trouble(a)) {
		f->state = -1;
		return;
	}
	if (a->status != DKK_DNS_OK)
		return;
	for (k = 0; k < a->count; k++)
		if (dmarc_record_parse(a->txt[k], a->len[k], false, &rec) == 1 &&
		    n++ == 0)
			f->rec = rec;
	f->state = n == 1 ? 1 : n > 1 ? 2 : 0;
}

/* The Organizational Domain, or NULL after DNS trouble. */
static const char *
ruf_walk_org(const struct ruf_walk *w)
{
	struct dmarc_found found[DMARC_WALK_MAX];
	size_t i;

	for (i = 0; i < w->n; i++) {
		ruf_walk_read(&w->lk[i], &found[i]);
		if (found[i].state < 0)
			return NULL;
		if (found[i].state == 1 && (found[i].rec.psd == 'y' ||
		    found[i].rec.psd == 'n'))
			return dmarc_org_domain(w->names, found, i + 1);
	}
	return dmarc_org_domain(w->names, found, w->n);
}

void
ruf_cand_clear(struct rcand *c)
{
	size_t i;

	free(c->dest);
	c->dest = NULL;
	if (c->org == NULL)
		return;
	for (i = 0; i < c->org->n; i++) {
		keycache_put(c->org->lk[i].e, &c->org->lk[i].w);
		free(c->org->lk[i].name);
	}
	free(c->org->start);
	free(c->org);
	c->org = NULL;
}

static bool
cand_has_to(const dkk_reports *r, const char *to)
{
	size_t i;

	for (i = 0; i < r->ncands; i++)
		if (r->cands[i].to != NULL &&
		    ci_equal(r->cands[i].to, strlen(r->cands[i].to), to,
		    strlen(to)))
			return true;
	return false;
}

/* The address goes into To: and RCPT TO: as <addr>: printable, no
 * '<', '>', ',', '"' or '\\', and a domain that is a domain name (as
 * the d= of an RFC 6651 report must be). */
static bool
ruf_addr_ok(const struct dmarc_uri *u)
{
	const unsigned char *p;

	for (p = (const unsigned char *)u->addr; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>,\"\\", *p) != NULL)
			return false;
	return domain_valid(u->domain, strlen(u->domain), false) &&
	    strchr(u->domain, '.') != NULL;
}

/* One ruf= address: a candidate, its verification lookup begun when it
 * is (or may be) outside the policy domain's Organizational Domain;
 * when the verifier's walk did not learn that domain and the address is
 * outside the policy domain, the rest of the walk too (ruf_cand_ok()
 * decides once both are in). */
static int
ruf_cand(dkk_reports *r, const struct dmarc_author_facts *af,
    const struct dmarc_uri *u, char fo, size_t sig)
{
	struct rcand *c = &r->cands[r->ncands];
	const char *org = af->org != NULL ? af->org : af->res.policy_domain;
	char qname[300];
	int rc;

	if (!ruf_addr_ok(u) || cand_has_to(r, u->addr))
		return DKK_OK;
	memset(c, 0, sizeof(*c));
	c->kind = DKK_REPORT_DMARC;
	c->sig = sig;
	c->token = fo;
	c->max_bytes = u->max_bytes;
	c->verify = dmarc_dest_external(org, u->domain);
	if (c->verify && dmarc_dest_qname(af->res.policy_domain, u->domain,
	    qname, sizeof(qname)) != 0)
		return DKK_OK;	/* no name to ask: never authorised */
	if ((c->domain = dkk_strdup(af->res.domain)) == NULL ||
	    (c->to = dkk_strdup(u->addr)) == NULL ||
	    (c->dest = dkk_strdup(u->domain)) == NULL) {
		free(c->domain);
		free(c->to);
		return DKK_ENOMEM;
	}
	r->ncands++;
	if (!c->verify) {
		c->lk.answered = true;
		return DKK_OK;
	}
	if ((rc = rlookup_begin(r, &c->lk, "", qname)) != DKK_OK)
		return rc;
	return af->org == NULL ? ruf_walk_begin(r, c, af->res.domain) :
	    DKK_OK;
}

/* Each mailto: URI of the ruf= list; the others are not ones dkimkit
 * can send to and are passed over. */
static int
ruf_author(dkk_reports *r, const struct dmarc_author_facts *af, char fo)
{
	const char *s = af->rec.ruf_list, *e;
	size_t n = af->rec.ruf_len, k, sig = ruf_sig(r->v, af, fo);
	struct dmarc_uri u;
	const char *why;
	int rc;

	while (n > 0 && r->ncands < r->cap) {
		e = memchr(s, ',', n);
		k = e != NULL ? (size_t)(e - s) : n;
		if (dmarc_uri_parse(s, k, &u, &why) == 0 &&
		    (rc = ruf_cand(r, af, &u, fo, sig)) != DKK_OK)
			return rc;
		s += k;
		n -= k;
		if (n > 0)
			s++, n--;
	}
	return DKK_OK;
}

int
ruf_plan(dkk_reports *r)
{
	struct dmarc_author_facts af;
	struct ruf_facts f;
	size_t i;
	char fo;
	int rc;

	if (r->opts.no_dmarc || !r->v->dmarc_on)
		return DKK_OK;
	for (i = 0; r->ncands < r->cap &&
	    dmarc_author_result(r->v, i, &af.res); i++) {
		if (!dmarc_author_facts(r->v, i, &af) ||
		    af.rec.ruf_list == NULL || !af.rec.ruf ||
		    af.rec.psd == 'y')
			continue;
		ruf_facts_of(r->v, &af.res, &f);
		if ((fo = ruf_fo_asks(af.rec.fo, &f)) == 0)
			continue;
		if ((rc = ruf_author(r, &af, fo)) != DKK_OK)
			return rc;
	}
	return DKK_OK;
}

bool
ruf_cand_ok(const struct rcand *c)
{
	const struct dkk_dns_answer *a;
	const char *org;

	if (!c->verify)
		return true;
	/* within the Organizational Domain the walk found: no consent
	 * needed (RFC 7489 7.1 verifies only across organizations) */
	if (c->org != NULL && (org = ruf_walk_org(c->org)) != NULL &&
	    !dmarc_dest_external(org, c->dest))
		return true;
	if (c->lk.e == NULL || (a = keyent_answer(c->lk.e)) == NULL ||
	    a->status != DKK_DNS_OK || dns_trouble(a))
		return false;
	return dmarc_dest_accepts(a->txt, a->count);
}

const char *
dkk_report_kind_name(enum dkk_report_kind kind)
{
	switch (kind) {
	case DKK_REPORT_DKIM:
		return "dkim";
	case DKK_REPORT_ADSP:
		return "adsp";
	case DKK_REPORT_DMARC:
		return "dmarc";
	}
	return NULL;
}
