/*
 * dmarc.c: DMARC inside the verifier, RFC 9989 section 5.3 (RFC 7489
 * section 6.6 in RFC 7489 mode).
 *
 * Every Author Domain of every From field is evaluated and the worst
 * outcome counts (11.5: "apply the DMARC mechanism to each domain found
 * in the RFC5322.From field ... and apply the most strict policy"), so
 * neither a second address nor a second From field can hide a domain.
 * A From field with no author domain, or a malformed one, cannot be
 * evaluated (4.4, 5.3.1): permerror, never pass.
 *
 * The From answers, and why.  RFC 9989 puts a message without exactly
 * one Author Domain outside its scope (4.2, 5.3.1: "validation is not
 * possible and the process terminates") and warns that this is an
 * attack (11.5).  So: several domains (addresses or From fields) are
 * each evaluated, as 11.5 recommends, and a fail among them is the
 * message's, with the strictest disposition; when nothing fails, a
 * message with no Author Domain (From missing, empty, a group without
 * members), a malformed From or several From fields is permerror (the
 * registered result for "an error ... that is unrecoverable", 9.2),
 * not none: none would tell a host "no policy to apply", which is
 * exactly what the sender of such a message wants.  A non-existent
 * Author Domain (NXDOMAIN, 3.2.13) below the policy domain gets np=.
 *
 * The lookups go through the verifier's lookups (the key cache and the
 * context's resolver), started when the header block ends.  The policy
 * walk of an author is also the walk that finds its Organizational
 * Domain (4.10.1, 4.10.2), so it is made once; a DKIM d= or the SPF
 * domain gets a walk of its own only when relaxed alignment needs its
 * Organizational Domain.  Evaluation is re-run from the top whenever
 * answers arrive: each step either finds what it needs in a walk, or
 * starts the one lookup it misses and returns.
 */
#include <stdlib.h>
#include <string.h>

#include "arc/arc.h"
#include "dmarc.h"

#define DMARC_PSL_DEFAULT "/usr/share/publicsuffix/public_suffix_list.dat"

/* A tree walk from one domain (RFC 9989 4.10), answered lazily. */
struct walk {
	char *start;		/* lower case; names point into it */
	const char *names[DMARC_WALK_MAX];
	char *qnames;		/* "_dmarc." names[i], in one block */
	const char *qname[DMARC_WALK_MAX];
	size_t n;
	size_t asked;		/* lookups begun (names[0..asked-1]) */
	size_t got;		/* answers read into found[] */
	struct lookup lk[DMARC_WALK_MAX];
	struct dmarc_found found[DMARC_WALK_MAX];
};

struct author {
	const char *domain;	/* in authors */
	struct walk walk;
	struct lookup exist;	/* the Author Domain itself (np=) */
	bool exist_asked;
	struct dkk_dmarc_result res;
	int p_tag;		/* the record's p= (none when absent) */
	struct buf why;
	const char *align_org;	/* for a trusted sealer's dkim=pass */
	struct dmarc_rec rec;	/* the record that gave the policy ... */
	bool has_rec;		/* ... once one was found and usable */
};

struct dmarc_state {
	struct authors authors;
	size_t nfrom;		/* From fields */
	struct author *a;
	size_t na;
	struct walk *ids;	/* walks of authenticated identifiers */
	size_t nids;
	size_t capids;
	struct dkk_dmarc_result res;	/* the message's */
	bool done;
	bool parked;		/* only the DKIM verdicts are missing */
	bool need;		/* waiting for a lookup ... */
	size_t pending_then;	/* ... begun when v->pending was this */
	const char *problem;	/* why From made the result permerror */
};

enum { NEED = 1 };		/* a lookup was started: come back later */

/* The names the walk queries, "_dmarc." names[i], made at once into
 * one block: a walk asks up to eight per message.  Without memory the
 * walk is undone (walk_init() fails whole). */
static int
walk_qnames(struct walk *w)
{
	static const char prefix[] = "_dmarc.";
	size_t i, k, total = 0;
	char *p;

	for (i = 0; i < w->n; i++)
		total += sizeof(prefix) + strlen(w->names[i]);
	if ((p = w->qnames = dkk_malloc(total)) == NULL) {
		free(w->start);
		memset(w, 0, sizeof(*w));
		return DKK_ENOMEM;
	}
	for (i = 0; i < w->n; i++) {
		k = strlen(w->names[i]);
		w->qname[i] = p;
		memcpy(p, prefix, sizeof(prefix) - 1);
		memcpy(p + sizeof(prefix) - 1, w->names[i], k + 1);
		p += sizeof(prefix) + k;
	}
	return DKK_OK;
}

static int
walk_init(struct walk *w, const char *domain, const struct psl *psl)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	if ((w->start = dkk_strdup(domain)) == NULL)
		return DKK_ENOMEM;
	for (i = 0; w->start[i] != '\0'; i++)
		w->start[i] = (char)lower((unsigned char)w->start[i]);
	if (i > 0 && w->start[i - 1] == '.')
		w->start[i - 1] = '\0';
	if (psl == NULL) {
		w->n = dmarc_walk_names(w->start, w->names);
		/* "" or ".": one query, which finds nothing */
		if (w->n == 0)
			w->names[w->n++] = w->start;
		return walk_qnames(w);
	}
	/* RFC 7489 6.6.3: the From domain, then its Organizational
	 * Domain by the list. */
	w->names[w->n++] = w->start;
	if (*w->start != '\0' && psl_org_domain(psl, w->start) != w->start)
		w->names[w->n++] = psl_org_domain(psl, w->start);
	return walk_qnames(w);
}

static void
walk_clear(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->asked; i++)
		lookup_end(&w->lk[i]);
	free(w->qnames);
	free(w->start);
	memset(w, 0, sizeof(*w));
}

/* RFC 9989 4.10 step 2: records not starting with v=DMARC1 are dropped;
 * several DMARC records at one name are all dropped (state 2). */
static void
walk_read(dkk_verifier *v, struct walk *w, size_t i)
{
	const struct dkk_dns_answer *ans = keyent_answer(w->lk[i].e);
	struct dmarc_found *f = &w->found[i];
	struct dmarc_rec r;
	size_t k, n = 0;

	f->state = 0;
	if (dns_trouble(ans)) {
		f->state = -1;
		return;
	}
	if (ans->status != DKK_DNS_OK)
		return;
	for (k = 0; k < ans->count; k++)
		if (dmarc_record_parse(ans->txt[k], ans->len[k],
		    v->dmarc_7489, &r) == 1 && n++ == 0)
			f->rec = r;
	f->state = n == 1 ? 1 : n > 1 ? 2 : 0;
}

/* What names[i] gave, or NEED after starting its lookup (the lookups
 * of a walk go one at a time: each depends on the one before). */
static int
walk_at(dkk_verifier *v, struct walk *w, size_t i,
    const struct dmarc_found **f)
{
	int rc;

	while (w->got <= i) {
		if (w->asked == w->got) {
			rc = lookup_begin_kept(v, &w->lk[w->asked],
			    w->qname[w->asked]);
			w->asked++;
			if (rc != DKK_OK)
				return rc;
		}
		if (!w->lk[w->got].answered)
			return NEED;
		walk_read(v, w, w->got++);
	}
	*f = &w->found[i];
	return DKK_OK;
}

/* Walk on to the end or to a psd=y/n record (4.10 steps 5 to 7).  *end
 * gets the number of names queried; -1 (as *temp) on DNS trouble. */
static int
walk_all(dkk_verifier *v, struct walk *w, size_t *end, bool *temp)
{
	const struct dmarc_found *f;
	size_t i;
	int rc;

	*temp = false;
	for (i = 0; i < w->n; i++) {
		if ((rc = walk_at(v, w, i, &f)) != DKK_OK)
			return rc;
		if (f->state < 0) {
			*temp = true;
			break;
		}
		if (f->state == 1 && (f->rec.psd == 'y' || f->rec.psd == 'n'))
			break;
	}
	*end = i < w->n ? i + 1 : w->n;
	return DKK_OK;
}

/* The Organizational Domain at the end of a walk (4.10.2), or by the
 * Public Suffix List in RFC 7489 mode (3.2 of RFC 7489). */
static int
walk_org(dkk_verifier *v, struct walk *w, const char **org, bool *temp)
{
	size_t end;
	int rc;

	*temp = false;
	if (v->dmarc_7489) {
		*org = w->n > 1 ? w->names[1] : w->names[0];
		return DKK_OK;
	}
	if ((rc = walk_all(v, w, &end, temp)) != DKK_OK || *temp)
		return rc;
	*org = dmarc_org_domain(w->names, w->found, end);
	return DKK_OK;
}

/* The walk of an authenticated identifier, made once per name. */
static int
id_walk(dkk_verifier *v, const char *domain, struct walk **wp)
{
	struct dmarc_state *st = v->dmarc;
	struct walk *w;
	size_t i;
	int rc;

	for (i = 0; i < st->nids; i++)
		if (ci_equal(st->ids[i].start, strlen(st->ids[i].start),
		    domain, strlen(domain))) {
			*wp = &st->ids[i];
			return DKK_OK;
		}
	/* At most one walk per signature and one for SPF, allocated at
	 * once: walks hold lookups the cache points at, never moved. */
	if (st->ids == NULL) {
		if ((st->ids = dkk_calloc(v->nsigs + 1, sizeof(*w))) == NULL)
			return DKK_ENOMEM;
		st->capids = v->nsigs + 1;
	}
	if (st->nids == st->capids)
		return DKK_ELIMIT;
	w = &st->ids[st->nids];
	if ((rc = walk_init(w, domain, v->dmarc_7489 ? v->ctx->psl : NULL)) !=
	    DKK_OK)
		return rc;
	st->nids++;
	*wp = w;
	return DKK_OK;
}

/* Do two names share their last label?  Organizational Domains are
 * suffixes, so names without one can never align (no walk needed). */
static bool
same_tld(const char *a, const char *b)
{
	const char *x = strrchr(a, '.'), *y = strrchr(b, '.');

	x = x != NULL ? x + 1 : a;
	y = y != NULL ? y + 1 : b;
	return ci_equal(x, strlen(x), y, strlen(y));
}

/* Identifier alignment (RFC 9989 4.4, 4.10.2): strict is equality,
 * relaxed is equal Organizational Domains.  *aligned is 1, 0, or -1
 * when DNS trouble kept an Organizational Domain unknown. */
static int
aligned(dkk_verifier *v, struct author *au, const char *id, bool strict,
    int *out)
{
	const char *o1, *o2;
	struct walk *w;
	bool temp;
	int rc;

	*out = ci_equal(id, strlen(id), au->domain, strlen(au->domain));
	if (*out || strict || !same_tld(id, au->domain))
		return DKK_OK;
	if ((rc = walk_org(v, &au->walk, &o1, &temp)) != DKK_OK)
		return rc;
	if (temp) {
		*out = -1;
		return DKK_OK;
	}
	if ((rc = id_walk(v, id, &w)) != DKK_OK ||
	    (rc = walk_org(v, w, &o2, &temp)) != DKK_OK)
		return rc;
	*out = temp ? -1 : ci_equal(o1, strlen(o1), o2, strlen(o2));
	return DKK_OK;
}

/* The record that applies (4.10.1): the Author Domain's own, else the
 * Organizational Domain's, else the Public Suffix Domain's.  *idx is
 * -1 when there is none; *temp on DNS trouble. */
static int
discover(dkk_verifier *v, struct author *au, int *idx, bool *temp)
{
	struct walk *w = &au->walk;
	const struct dmarc_found *f;
	const char *org;
	size_t i, end;
	int rc, psd_y = -1;

	*idx = -1;
	*temp = false;
	if ((rc = walk_at(v, w, 0, &f)) != DKK_OK)
		return rc;
	if (f->state < 0 || f->state == 1) {
		*temp = f->state < 0;
		*idx = f->state == 1 ? 0 : -1;
		return DKK_OK;
	}
	/* RFC 7489 6.6.3 step 5: several records end discovery. */
	if (v->dmarc_7489 && f->state == 2)
		return DKK_OK;
	if (v->dmarc_7489) {
		if (w->n > 1 && (rc = walk_at(v, w, 1, &f)) == DKK_OK) {
			*temp = f->state < 0;
			*idx = f->state == 1 ? 1 : -1;
		}
		return rc;
	}
	if ((rc = walk_all(v, w, &end, temp)) != DKK_OK || *temp)
		return rc;
	org = dmarc_org_domain(w->names, w->found, end);
	for (i = 1; i < end; i++) {
		if (w->found[i].state == 1 && w->names[i] == org)
			*idx = (int)i;
		if (w->found[i].state == 1 && w->found[i].rec.psd == 'y')
			psd_y = (int)i;
	}
	if (*idx < 0)
		*idx = psd_y;
	return DKK_OK;
}

static void PRINTF(3, 4)
settle_author(struct author *au, enum dkk_dmarc r, const char *fmt,
    ...)
{
	va_list ap;

	au->res.result = r;
	au->why.len = 0;
	va_start(ap, fmt);
	buf_vprintf(&au->why, fmt, ap);
	va_end(ap);
}

/* settle_author() for a pass, the common outcome, without printf. */
static void
settle_pass(struct author *au)
{
	au->res.result = DKK_DMARC_PASS;
	au->why.len = 0;
	buf_adds(&au->why, au->res.dkim_aligned ? "a DKIM signature" : "SPF");
	buf_adds(&au->why, " aligned with ");
	buf_adds(&au->why, au->domain);
}

/* The policy for the Author Domain (4.10.1): p at the policy domain;
 * below it sp, or np when the Author Domain does not exist (RFC 8020
 * NXDOMAIN, 3.2.13).  RFC 7489 has no np. */
static int
author_policy(dkk_verifier *v, struct author *au, const struct dmarc_rec *r,
    bool *temp)
{
	const struct dkk_dns_answer *ans;
	int sub = r->sp >= 0 ? r->sp : r->p;
	int rc;

	*temp = false;
	if (au->res.policy_domain == au->walk.names[0]) {
		au->res.policy = (enum dkk_dmarc_policy)r->p;
		return DKK_OK;
	}
	au->res.policy = (enum dkk_dmarc_policy)sub;
	if (v->dmarc_7489 || r->np < 0 || r->np == sub)
		return DKK_OK;
	if (!au->exist_asked) {
		au->exist_asked = true;
		if ((rc = lookup_begin(v, &au->exist,
		    dkk_strdup(au->walk.start))) != DKK_OK)
			return rc;
	}
	if (!au->exist.answered)
		return NEED;
	ans = keyent_answer(au->exist.e);
	if (dns_trouble(ans))
		*temp = true;
	else if (ans->status == DKK_DNS_NXDOMAIN)
		au->res.policy = (enum dkk_dmarc_policy)r->np;
	return DKK_OK;
}

/* RFC 7489 6.6.4: pct= applies the policy to a sample; the rest gets
 * the next policy down.  The sample is drawn from the header block, so
 * one message always gets the same answer. */
static bool
in_sample(const dkk_verifier *v, int pct)
{
	uint32_t h = 2166136261u;
	size_t i;

	if (pct >= 100)
		return true;
	for (i = 0; i < v->hdr.raw.len; i++)
		h = (h ^ (uint8_t)v->hdr.raw.p[i]) * 16777619u;
	return (int)(h % 100) < pct;
}

static enum dkk_dmarc_policy
lower_policy(enum dkk_dmarc_policy p)
{
	return p == DKK_DMARC_REJECT ? DKK_DMARC_QUARANTINE :
	    DKK_DMARC_POLICY_NONE;
}

/* Every passing DKIM signature (4.4.1: "any DKIM-Authenticated
 * Identifier") and a mailfrom SPF pass (4.4.2: DMARC relies solely on
 * the MAIL FROM identity).  *unsure names an aligned identifier whose
 * DKIM or SPF result is temperror (NULL when none): DNS trouble kept it
 * from passing, so without a pass the outcome is not known yet. */
static int
align_all(dkk_verifier *v, struct author *au, const struct dmarc_rec *r,
    bool *temp, const char **unsure)
{
	enum dkk_verdict vd;
	size_t i;
	int rc, ok;

	*temp = false;
	*unsure = NULL;
	for (i = 0; i < v->nsigs && !au->res.dkim_aligned; i++) {
		vd = v->sigs[i].res.verdict;
		if ((vd != DKK_PASS && vd != DKK_TEMPERROR) ||
		    v->sigs[i].sg.d == NULL)
			continue;
		if ((rc = aligned(v, au, v->sigs[i].sg.d, r->adkim_strict,
		    &ok)) != DKK_OK)
			return rc;
		if (vd == DKK_PASS)
			au->res.dkim_aligned = ok == 1;
		else if (ok == 1 && *unsure == NULL)
			*unsure = "a DKIM signature";
		*temp = *temp || ok < 0;
	}
	if ((v->spf.result == DKK_SPF_PASS ||
	    v->spf.result == DKK_SPF_TEMPERROR) &&
	    v->spf.scope == DKK_SPF_MAILFROM &&
	    v->spf.domain != NULL && *v->spf.domain != '\0') {
		if ((rc = aligned(v, au, v->spf.domain, r->aspf_strict,
		    &ok)) != DKK_OK)
			return rc;
		if (v->spf.result == DKK_SPF_PASS)
			au->res.spf_aligned = ok == 1;
		else if (ok == 1 && *unsure == NULL)
			*unsure = "SPF";
		*temp = *temp || ok < 0;
	}
	return DKK_OK;
}

static void
decide_fail(dkk_verifier *v, struct author *au, const struct dmarc_rec *r)
{
	enum dkk_dmarc_policy d = au->res.policy;

	if (!v->dmarc_7489 && r->testing && d != DKK_DMARC_POLICY_NONE) {
		d = lower_policy(d);	/* RFC 9989 4.7, t=y */
	} else if (v->dmarc_7489 && !in_sample(v, r->pct)) {
		d = lower_policy(d);
	}
	au->res.disposition = d;
	settle_author(au, DKK_DMARC_FAIL, "no aligned identifier passed "
	    "(policy %s at %s%s)", dkk_dmarc_policy_name(au->res.policy),
	    au->res.policy_domain, d != au->res.policy ?
	    (r->testing ? ", t=y" : ", outside pct") : "");
}

/* One Author Domain, as far as the answers at hand allow. */
static int
author_eval(dkk_verifier *v, struct author *au)
{
	struct dmarc_rec r;
	const char *unsure;
	int rc, idx;
	bool temp, exist_temp;

	if ((rc = discover(v, au, &idx, &temp)) != DKK_OK)
		return rc;
	if (temp) {
		settle_author(au, DKK_DMARC_TEMPERROR, "policy lookup for %s "
		    "failed temporarily", au->domain);
		return DKK_OK;
	}
	if (idx < 0) {
		settle_author(au, DKK_DMARC_NONE, "no DMARC policy record "
		    "for %s", au->domain);
		return DKK_OK;
	}
	r = au->walk.found[idx].rec;
	au->res.policy_domain = au->walk.names[idx];
	au->p_tag = r.p >= 0 ? r.p : DKK_DMARC_POLICY_NONE;
	au->res.testing = r.testing && !v->dmarc_7489;
	if (!dmarc_record_usable(&r, v->dmarc_7489)) {
		settle_author(au, DKK_DMARC_PERMERROR, "policy record at %s "
		    "has an invalid p=, sp= or np= and no valid rua=",
		    au->res.policy_domain);
		return DKK_OK;
	}
	/* A sealer's dkim=pass aligns, with adkim=r, within the policy
	 * domain (the Author Domain or its Organizational Domain; never
	 * a Public Suffix Domain's): what this walk already knows. */
	au->align_org = !r.adkim_strict && r.psd != 'y' ?
	    au->res.policy_domain : NULL;
	au->rec = r;
	au->has_rec = true;
	/* Alignment waits for every DKIM verdict and for the SPF result
	 * (dkk_verifier_set_spf()). */
	if ((rc = author_policy(v, au, &r, &exist_temp)) != DKK_OK ||
	    !v->dkim_settled || v->spf_wait)
		return rc;
	if ((rc = align_all(v, au, &r, &temp, &unsure)) != DKK_OK)
		return rc;
	/* 5.3.6: a lookup that did not complete leaves neither pass nor
	 * fail; one whose answer a pass does not need (the Author
	 * Domain's existence, for np=) does not stop the pass.  Nor is it
	 * a fail when an aligned identifier's DKIM or SPF check met DNS
	 * trouble: tried again, it may pass (issue 20: a temporary DNS
	 * failure anywhere is temperror, never fail). */
	if (au->res.dkim_aligned || au->res.spf_aligned)
		settle_pass(au);
	else if (temp)
		settle_author(au, DKK_DMARC_TEMPERROR, "an Organizational "
		    "Domain lookup failed temporarily");
	else if (unsure != NULL)
		settle_author(au, DKK_DMARC_TEMPERROR, "%s of an aligned "
		    "identifier failed temporarily (temperror)", unsure);
	else if (exist_temp)
		settle_author(au, DKK_DMARC_TEMPERROR, "the existence check "
		    "of %s failed temporarily", au->domain);
	else
		decide_fail(v, au, &r);
	return DKK_OK;
}

/* How bad an outcome is, worst first (RFC 9989 11.5: the strictest
 * failing policy counts). */
static int
rank(const struct dkk_dmarc_result *r)
{
	switch (r->result) {
	case DKK_DMARC_FAIL:
		return 2 - (int)r->disposition;
	case DKK_DMARC_TEMPERROR:
		return 3;
	case DKK_DMARC_PERMERROR:
		return 4;
	case DKK_DMARC_NONE:
		return 5;
	default:
		return 6;
	}
}

/* Why From cannot be evaluated as one Author Domain, or NULL. */
static const char *
from_problem(const struct dmarc_state *st)
{
	if (st->nfrom == 0)
		return "no From field";
	if (st->na == 0)
		return "no author domain in From";
	if (st->nfrom > 1)
		return "several From fields";
	return st->authors.malformed ? "From field malformed" : NULL;
}

/* The worst author's outcome; a From problem makes none or pass a
 * permerror (a fail or temperror stays: it is worse). */
static void
settle_message(dkk_verifier *v)
{
	struct dmarc_state *st = v->dmarc;
	const char *problem = from_problem(st);
	size_t i;

	for (i = 0; i < st->na; i++) {
		struct author *au = &st->a[i];

		au->res.domain = au->domain;
		au->res.reason = au->why.failed || au->why.len == 0 ? "" :
		    au->why.p;
		if (i == 0 || rank(&au->res) < rank(&st->res))
			st->res = au->res;
	}
	if (problem != NULL && (st->na == 0 ||
	    st->res.result == DKK_DMARC_NONE ||
	    st->res.result == DKK_DMARC_PASS)) {
		st->res.result = DKK_DMARC_PERMERROR;
		st->res.disposition = DKK_DMARC_POLICY_NONE;
		st->res.reason = st->problem = problem;
	}
	st->done = true;
}

int
dmarc_start(dkk_verifier *v)
{
	struct dmarc_state *st;
	size_t i;
	int rc;

	if (!v->dmarc_on)
		return DKK_OK;
	if ((st = v->dmarc = dkk_calloc(1, sizeof(*st))) == NULL)
		return DKK_ENOMEM;
	if (v->limit.len > 0)
		return dmarc_step(v);	/* the header is gone: permerror */
	st->nfrom = hdrsel_count(&v->hdr, "From");
	if ((rc = header_authors(&v->hdr, &st->authors)) == DKK_ENOMEM)
		return rc;
	if (st->authors.n > 0 && (st->a = dkk_calloc(st->authors.n,
	    sizeof(*st->a))) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < st->authors.n; i++) {
		struct author *au = &st->a[i];

		au->domain = st->authors.domain[i];
		buf_init(&au->why);
		if ((rc = walk_init(&au->walk, au->domain, v->dmarc_7489 ?
		    v->ctx->psl : NULL)) != DKK_OK)
			return rc;
		st->na++;
	}
	return dmarc_step(v);
}

/* Each author in turn; a NEED stops the pass (DNS answers come back
 * through the verifier, which calls again). */
int
dmarc_step(dkk_verifier *v)
{
	struct dmarc_state *st = v->dmarc;
	size_t i;
	int rc;

	if (st == NULL || st->done)
		return DKK_OK;
	st->need = st->parked = false;
	if (v->limit.len > 0) {
		st->na = 0;
		st->nfrom = 1;
		settle_message(v);
		st->res.reason = st->problem = "header not evaluated";
		return DKK_OK;
	}
	for (i = 0; i < st->na; i++) {
		rc = author_eval(v, &st->a[i]);
		if (rc == NEED) {
			st->need = true;
			st->pending_then = v->pending;
			return DKK_EAGAIN;
		}
		if (rc != DKK_OK)
			return rc;
	}
	if (v->dkim_settled && !v->spf_wait)
		settle_message(v);
	else
		st->parked = true;
	return DKK_OK;
}

/* The SPF result came (dkk_verifier_set_spf()): the next step may
 * decide. */
void
dmarc_unpark(dkk_verifier *v)
{
	if (v->dmarc != NULL)
		v->dmarc->parked = false;
}

/* Whether DMARC is decided: the SPF result can no longer count. */
bool
dmarc_settled(const dkk_verifier *v)
{
	return v->dmarc != NULL && v->dmarc->done;
}

/* dmarc_step() for the body's chunks: only when an answer may have come
 * in since the last step (a host feeding line by line calls this for
 * every line). */
int
dmarc_poll(dkk_verifier *v)
{
	struct dmarc_state *st = v->dmarc;

	if (st == NULL || st->done || st->parked ||
	    (st->need && v->pending >= st->pending_then))
		return DKK_OK;
	return dmarc_step(v);
}

void
dmarc_clear(dkk_verifier *v)
{
	struct dmarc_state *st = v->dmarc;
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->na; i++) {
		walk_clear(&st->a[i].walk);
		if (st->a[i].exist_asked)
			lookup_end(&st->a[i].exist);
		buf_clear(&st->a[i].why);
	}
	for (i = 0; i < st->nids; i++)
		walk_clear(&st->ids[i]);
	free(st->a);
	free(st->ids);
	authors_clear(&st->authors);
	free(st);
	v->dmarc = NULL;
}

/* A failure whose disposition is not none, vouched for by a trusted
 * ARC sealer (core/arc/trust.c), gets disposition none: the local
 * policy override of RFC 9989 (a receiver's own decision about a
 * failure) that RFC 8617 7.2 describes for ARC.  The result and the
 * policy stay; the message's outcome is chosen again from the
 * authors'. */
static void
dmarc_overridden(struct author *au, const struct dkk_override *o,
    enum dkk_dmarc_policy disposition)
{
	au->res.disposition = disposition;
	au->res.overridden = 1;
	au->res.override_sealer = o->sealer;
	au->res.override_instance = o->instance;
	au->res.override_reason = o->reason;
	au->res.override_comment = o->comment;
}

/* dkk_verify_opts.arc_forwarded: a reject of mail whose ARC chain passes
 * becomes quarantine (RFC 9989's enforcement considerations: not reject
 * on p=reject alone, for the indirect flows of RFC 7960).  The reason
 * type: RFC 9990 keeps local_policy, mailing_list, other,
 * policy_test_mode and trusted_forwarder; this is the receiver's own
 * policy about relays it does not know, so local_policy (not
 * trusted_forwarder: none vouched; not mailing_list: a chain does not
 * say it was a list).  RFC 7489 appendix C has "forwarded", which says
 * exactly this, so RFC 7489 mode reports that. */
static bool
dmarc_forwarded(dkk_verifier *v, struct author *au)
{
	struct dkk_override o;

	if (au->res.disposition != DKK_DMARC_REJECT ||
	    !arc_forwarded(v, &o))
		return false;
	if (v->dmarc_7489)
		o.reason = "forwarded";
	dmarc_overridden(au, &o, DKK_DMARC_QUARANTINE);
	au->res.override_forwarded = 1;
	return true;
}

void
dmarc_override(dkk_verifier *v)
{
	struct dmarc_state *st = v->dmarc;
	struct dkk_override o;
	size_t i;
	bool any = false;

	if (st == NULL || !st->done)
		return;
	for (i = 0; i < st->na; i++) {
		struct author *au = &st->a[i];
		struct arc_ask q = { "dmarc", au->domain, au->align_org };

		if (au->res.result != DKK_DMARC_FAIL ||
		    au->res.disposition == DKK_DMARC_POLICY_NONE)
			continue;
		/* A trusted sealer's word first: it gives none. */
		if (arc_vouched(v, &q, &o)) {
			dmarc_overridden(au, &o, DKK_DMARC_POLICY_NONE);
			any = true;
		} else if (dmarc_forwarded(v, au)) {
			any = true;
		}
	}
	if (any)
		settle_message(v);
}

int
dkk_verifier_dmarc(const dkk_verifier *v, struct dkk_dmarc_result *out)
{
	if (v == NULL || out == NULL || !v->final || v->dmarc == NULL ||
	    !v->dmarc->done)
		return DKK_EINVAL;
	*out = v->dmarc->res;
	return DKK_OK;
}

int
dkk_ctx_use_psl(dkk_ctx *ctx, const char *path)
{
	struct psl *psl;
	int rc;

	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	rc = psl_load(path != NULL ? path : DMARC_PSL_DEFAULT, &psl,
	    &ctx->err);
	if (rc == DKK_OK) {
		psl_free(ctx->psl);
		ctx->psl = psl;
	}
	return ctx_end(ctx, rc);
}

/* Why the From field made the message's result permerror, or NULL. */
const char *
dmarc_from_problem(const dkk_verifier *v)
{
	return v->dmarc != NULL && v->dmarc->done ? v->dmarc->problem : NULL;
}

/* For the A-R renderer: the p= of the record that gave the i-th Author
 * Domain its policy (polrec.p, RFC 9989 11.2). */
enum dkk_dmarc_policy
dmarc_author_ptag(const dkk_verifier *v, size_t i)
{
	return (enum dkk_dmarc_policy)v->dmarc->a[i].p_tag;
}

/* For the A-R renderer: the i-th Author Domain's outcome, or false past
 * the last one. */
bool
dmarc_author_result(const dkk_verifier *v, size_t i,
    struct dkk_dmarc_result *out)
{
	if (v->dmarc == NULL || !v->dmarc->done || i >= v->dmarc->na)
		return false;
	*out = v->dmarc->a[i].res;
	return true;
}

/* The Organizational Domain of a walk from what it already asked (no
 * lookup is begun for it: a record at the Author Domain needs no more
 * queries for strict alignment), or NULL when the walk stopped short. */
static const char *
walk_org_known(const dkk_verifier *v, const struct walk *w)
{
	size_t i;

	if (v->dmarc_7489)
		return w->n > 1 ? w->names[1] : w->names[0];
	for (i = 0; i < w->got; i++) {
		if (w->found[i].state < 0)
			return NULL;
		if (w->found[i].state == 1 && (w->found[i].rec.psd == 'y' ||
		    w->found[i].rec.psd == 'n'))
			return dmarc_org_domain(w->names, w->found, i + 1);
	}
	return w->got == w->n ? dmarc_org_domain(w->names, w->found, w->n) :
	    NULL;
}

bool
dmarc_author_facts(const dkk_verifier *v, size_t i,
    struct dmarc_author_facts *out)
{
	const struct author *au;

	if (v->dmarc == NULL || !v->dmarc->done || i >= v->dmarc->na)
		return false;
	au = &v->dmarc->a[i];
	if (!au->has_rec || (au->res.result != DKK_DMARC_PASS &&
	    au->res.result != DKK_DMARC_FAIL))
		return false;
	out->res = au->res;
	out->rec = au->rec;
	/* NULL when the walk stopped at the Author Domain's record: the
	 * report plan walks on itself if a destination needs it. */
	out->org = walk_org_known(v, &au->walk);
	return true;
}
