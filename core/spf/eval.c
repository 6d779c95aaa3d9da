/*
 * eval.c: check_host() (RFC 7208 4) with its mechanisms (5) and
 * modifiers (6), run over the answers gathered so far (answers.c).
 * Every function that may need DNS returns DKK_EAGAIN when an answer is
 * missing; the next run starts again from the top (spf.h).
 */
#include <stdlib.h>
#include <string.h>

#include "spf/spf.h"

/* What a term did. */
enum term_out {
	T_NOMATCH,
	T_MATCH,
	T_TEMP,			/* temperror */
	T_PERM			/* permerror */
};

/* One check_host(): its macro environment, and the run it is part of. */
struct frame {
	struct spf_env env;
	struct run *r;
	struct buf name;	/* scratch for expanded names */
};

struct run {
	dkk_spf *spf;
	unsigned lookups;	/* 4.6.4: DNS-querying terms so far */
	unsigned voids;		/* 4.6.4: void lookups so far */
	bool ptr_asked;		/* the client's PTR query made and counted */
	bool explaining;	/* expanding exp= (6.2): the check is over */
	struct buf why;
	char *explanation;
};

static int check_host(struct run *r, const char *domain, bool top,
    enum dkk_spf_result *res);
static void frame_init(struct frame *f, struct run *r, const char *domain);

static int say(struct run *r, const char *fmt, ...) PRINTF(2, 3);

/* The reason sentence: the last decision said wins. */
static int
say(struct run *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	r->why.len = 0;
	va_start(ap, fmt);
	rc = buf_vprintf(&r->why, fmt, ap);
	va_end(ap);
	return rc;
}

/* The reason of a match: "IP matched TERM in DOMAIN".  Every matching
 * term writes one, those within an include that the including term
 * then overrides too, so it is put together without printf. */
static void
say_match(struct run *r, const struct spf_term *t, const char *domain)
{
	r->why.len = 0;
	spf_ip_text(&r->spf->ip, &r->why);
	buf_adds(&r->why, " matched ");
	buf_add(&r->why, t->text.p, t->text.n);
	buf_adds(&r->why, " in ");
	buf_adds(&r->why, domain);
}

/* RFC 7208 4.6.4: "include", "a", "mx", "ptr", "exists" and "redirect"
 * count; the eleventh is permerror. */
static bool
count_lookup(struct run *r)
{
	if (++r->lookups <= SPF_MAX_LOOKUPS)
		return true;
	say(r, "more than %d DNS-querying terms", SPF_MAX_LOOKUPS);
	return false;
}

/* RFC 7208 4.6.4: an answer with no records, or NXDOMAIN, is a void
 * lookup; the third is permerror.  False when over the limit. */
static bool
count_void(struct run *r, const struct spf_answer *a)
{
	if (a->status == DKK_DNS_TEMPFAIL ||
	    (a->status == DKK_DNS_OK && a->count > 0))
		return true;
	if (++r->voids <= SPF_MAX_VOIDS)
		return true;
	say(r, "more than %d void DNS lookups (the last: %s)", SPF_MAX_VOIDS,
	    a->name);
	return false;
}

static enum dkk_dns_type
addr_type(const struct spf_ip *ip)
{
	return ip->af == AF_INET ? DKK_DNS_A : DKK_DNS_AAAA;
}

/* Whether an answer's addresses hold the client within its prefix. */
static bool
addrs_match(const struct spf_answer *a, const struct spf_ip *ip,
    unsigned cidr)
{
	struct spf_ip x;
	size_t i;

	for (i = 0; i < a->count; i++)
		if (spf_ip_parse(a->rr[i], a->len[i], &x) == DKK_OK &&
		    spf_ip_match(&x, ip, cidr))
			return true;
	return false;
}

static unsigned
term_cidr(const struct spf_term *t, const struct spf_ip *ip)
{
	return ip->af == AF_INET ? t->cidr4 : t->cidr6;
}

/* ------------------------------------------------------------------ */
/* PTR validation (RFC 7208 5.5), for ptr and %{p}.                     */

/* The client's validated names: the PTR names (the first 10, 4.6.4)
 * with an address record of the client.  *best is one within target, or
 * else the first validated, or NULL.  DNS errors lose names, never the
 * check (5.5).  4.6.4: a PTR query that finds nothing is a void lookup
 * when count_voids (*voided: over the limit); the address lookups of the
 * names are not counted, being bounded by the limit of 10 names already. */
static int
validated_name(struct run *r, const char *target, bool count_voids,
    const char **best, bool *voided)
{
	const struct spf_answer *ptr, *a;
	struct buf rev;
	size_t i;
	int rc, pending = DKK_OK;

	*best = NULL;
	*voided = false;
	buf_init(&rev);
	if ((rc = spf_ip_reverse(&r->spf->ip, &rev)) == DKK_OK)
		rc = spf_answer_get(r->spf, rev.p, DKK_DNS_PTR, &ptr);
	buf_clear(&rev);
	if (rc != DKK_OK)
		return rc;
	r->ptr_asked = true;
	*voided = count_voids && !count_void(r, ptr);
	if (*voided || ptr->status != DKK_DNS_OK)
		return DKK_OK;
	for (i = 0; i < ptr->count && i < SPF_MAX_ADDRS; i++) {
		rc = spf_answer_get(r->spf, ptr->rr[i],
		    addr_type(&r->spf->ip), &a);
		if (rc == DKK_EAGAIN) {
			pending = rc;
			continue;
		}
		if (rc != DKK_OK)
			return rc;
		if (a->status != DKK_DNS_OK || !addrs_match(a, &r->spf->ip,
		    r->spf->ip.af == AF_INET ? 32 : 128))
			continue;
		if (pending == DKK_OK && domain_within(ptr->rr[i], target)) {
			*best = ptr->rr[i];
			return DKK_OK;
		}
		if (*best == NULL)
			*best = ptr->rr[i];
	}
	return pending;
}

/* RFC 7208 7.3: %{p} is a validated name, preferring one within the
 * current domain, else "unknown".
 *
 * 4.6.4: "When evaluating ... the %{p} macro, the number of 'PTR'
 * resource records queried is included in the overall limit of 10".
 * Read as its MX twin is read in mech_mx(): the PTR query itself is
 * one lookup toward the limit (the names it returns are bounded apart,
 * by the 10 of validated_name()).  It is counted, and its void answer
 * too, once per check: the first expansion of %{p} makes the query,
 * later ones (or one after a ptr mechanism, which counted its own term)
 * reuse the answer, which is no new DNS lookup.  In an explanation
 * (6.2) nothing counts: the result is decided, and the limits are those
 * of check_host()'s evaluation. */
static int
ptr_macro(void *arg, const char **name)
{
	struct frame *f = arg;
	const char *best;
	bool first = !f->r->ptr_asked && !f->r->explaining, voided;
	int rc;

	if (first && !count_lookup(f->r))
		return DKK_ESYNTAX;	/* permerror, said by count_lookup() */
	if ((rc = validated_name(f->r, f->env.domain, first, &best,
	    &voided)) != DKK_OK)
		return rc;
	if (voided)
		return DKK_ESYNTAX;	/* permerror, said by count_void() */
	*name = best != NULL ? best : "unknown";
	return DKK_OK;
}

/* ------------------------------------------------------------------ */
/* Mechanisms (RFC 7208 5).                                            */

/* The target of a term: its domain-spec expanded, or the current
 * domain.  A macro error is permerror (7.1). */
static int
target(struct frame *f, const struct spf_span *spec, const char **name,
    enum term_out *out)
{
	struct buf why;
	int rc;

	*out = T_NOMATCH;
	if (spec->p == NULL) {
		*name = f->env.domain;
		return DKK_OK;
	}
	buf_init(&why);
	rc = spf_expand_domain(&f->env, spec, &f->name, &why);
	if (rc == DKK_ESYNTAX) {
		if (why.len > 0)	/* else count_void() has said why */
			say(f->r, "in %s: %s", f->env.domain, why.p);
		*out = T_PERM;
		rc = DKK_OK;
	}
	buf_clear(&why);
	*name = f->name.p;
	return rc;
}

/* RFC 7208 4.6.4: a term that queries DNS counts, then its target is
 * expanded; past the limit, or on a macro error, *out is T_PERM. */
static int
dns_term(struct frame *f, const struct spf_span *spec, const char **name,
    enum term_out *out)
{
	if (!count_lookup(f->r)) {
		*out = T_PERM;
		return DKK_OK;
	}
	return target(f, spec, name, out);
}

/* A lookup's trouble as the term's outcome: temperror (RFC 7208 2.6.6),
 * or permerror past the void limit; T_MATCH means go on. */
static enum term_out
lookup_trouble(struct run *r, const struct spf_answer *a)
{
	if (a->status == DKK_DNS_TEMPFAIL) {
		say(r, "DNS lookup of %s failed", a->name);
		return T_TEMP;
	}
	return count_void(r, a) ? T_MATCH : T_PERM;
}

/* The query a, mx and exists make for their target: counted, the
 * target expanded, asked.  *out T_MATCH means go on with *a. */
static int
term_lookup(struct frame *f, const struct spf_term *t, enum dkk_dns_type type,
    const struct spf_answer **a, enum term_out *out)
{
	const char *name;
	int rc;

	if ((rc = dns_term(f, &t->spec, &name, out)) != DKK_OK ||
	    *out != T_NOMATCH)
		return rc;
	if ((rc = spf_answer_get(f->r->spf, name, type, a)) != DKK_OK)
		return rc;
	*out = lookup_trouble(f->r, *a);
	return DKK_OK;
}

/* 5.1 */
static int
mech_all(struct frame *f, const struct spf_term *t, enum term_out *out)
{
	(void)f;
	(void)t;
	*out = T_MATCH;
	return DKK_OK;
}

/* 5.2: pass matches; fail, softfail, neutral do not; temperror and
 * permerror propagate; none is permerror. */
static int
mech_include(struct frame *f, const struct spf_term *t, enum term_out *out)
{
	enum dkk_spf_result res;
	const char *name;
	int rc;

	/* name stays as it is while the included record runs: it is this
	 * frame's, and only this frame writes it. */
	if ((rc = dns_term(f, &t->spec, &name, out)) != DKK_OK ||
	    *out != T_NOMATCH)
		return rc;
	rc = check_host(f->r, name, false, &res);
	if (rc == DKK_OK && res == DKK_SPF_NONE)
		say(f->r, "%s, included by %s, has no SPF record", name,
		    f->env.domain);
	if (rc != DKK_OK)
		return rc;
	*out = res == DKK_SPF_PASS ? T_MATCH : res == DKK_SPF_TEMPERROR ?
	    T_TEMP : res == DKK_SPF_PERMERROR || res == DKK_SPF_NONE ?
	    T_PERM : T_NOMATCH;
	return DKK_OK;
}

/* 5.3 */
static int
mech_a(struct frame *f, const struct spf_term *t, enum term_out *out)
{
	const struct spf_answer *a;
	int rc;

	if ((rc = term_lookup(f, t, addr_type(f->env.ip), &a, out)) !=
	    DKK_OK || *out != T_MATCH)
		return rc;
	*out = addrs_match(a, f->env.ip, term_cidr(t, f->env.ip)) ? T_MATCH :
	    T_NOMATCH;
	return DKK_OK;
}

/* The exchange of an MX record's text "PREF NAME". */
static const char *
mx_exchange(const char *rr)
{
	const char *sp = strchr(rr, ' ');

	return sp != NULL ? sp + 1 : rr;
}

/* 5.4: the addresses of every exchange; 4.6.4: more than 10 exchanges
 * is permerror. */
static int
mech_mx(struct frame *f, const struct spf_term *t, enum term_out *out)
{
	const struct spf_answer *mx, *a;
	int rc, pending = DKK_OK;
	size_t i;

	if ((rc = term_lookup(f, t, DKK_DNS_MX, &mx, out)) != DKK_OK ||
	    *out != T_MATCH)
		return rc;
	*out = T_NOMATCH;
	if (mx->count > SPF_MAX_ADDRS) {
		say(f->r, "%s has more than %d MX records", mx->name,
		    SPF_MAX_ADDRS);
		*out = T_PERM;
		return DKK_OK;
	}
	/* Ask for every exchange at once; decide once all have answered. */
	for (i = 0; i < mx->count; i++) {
		rc = spf_answer_get(f->r->spf, mx_exchange(mx->rr[i]),
		    addr_type(f->env.ip), &a);
		if (rc == DKK_EAGAIN)
			pending = rc;
		else if (rc != DKK_OK)
			return rc;
		else if (*out == T_NOMATCH && a->status == DKK_DNS_TEMPFAIL) {
			say(f->r, "DNS lookup of %s failed", a->name);
			*out = T_TEMP;
		} else if (*out == T_NOMATCH &&
		    addrs_match(a, f->env.ip, term_cidr(t, f->env.ip)))
			*out = T_MATCH;
	}
	return pending;
}

/* 5.5 */
static int
mech_ptr(struct frame *f, const struct spf_term *t, enum term_out *out)
{
	const char *name, *best;
	bool voided;
	int rc;

	if ((rc = dns_term(f, &t->spec, &name, out)) != DKK_OK ||
	    *out != T_NOMATCH)
		return rc;
	rc = validated_name(f->r, name, true, &best, &voided);
	*out = voided ? T_PERM : rc == DKK_OK && best != NULL &&
	    domain_within(best, name) ? T_MATCH : T_NOMATCH;
	return rc;
}

/* 5.6 */
static int
mech_ip(struct frame *f, const struct spf_term *t, enum term_out *out)
{
	*out = spf_ip_match(&t->net, f->env.ip, term_cidr(t, f->env.ip)) ?
	    T_MATCH : T_NOMATCH;
	return DKK_OK;
}

/* 5.7: an A lookup whatever the client's family. */
static int
mech_exists(struct frame *f, const struct spf_term *t, enum term_out *out)
{
	const struct spf_answer *a;
	int rc;

	if ((rc = term_lookup(f, t, DKK_DNS_A, &a, out)) != DKK_OK ||
	    *out != T_MATCH)
		return rc;
	*out = a->count > 0 ? T_MATCH : T_NOMATCH;
	return DKK_OK;
}

/* By enum spf_mech. */
static int (*const mech_eval[])(struct frame *, const struct spf_term *,
    enum term_out *) = {
	[SPF_ALL] = mech_all,
	[SPF_INCLUDE] = mech_include,
	[SPF_A] = mech_a,
	[SPF_MX] = mech_mx,
	[SPF_PTR] = mech_ptr,
	[SPF_IP4] = mech_ip,
	[SPF_IP6] = mech_ip,
	[SPF_EXISTS] = mech_exists,
};

/* ------------------------------------------------------------------ */
/* check_host() (RFC 7208 4).                                          */

/* RFC 7208 4.3: a domain that is malformed or not multi-label gives
 * none before any lookup; one final dot is allowed. */
static bool
domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n > 0 && d[n - 1] == '.')
		n--;
	return domain_valid(d, n, true) && memchr(d, '.', n) != NULL;
}

static enum dkk_spf_result
qualifier_result(char q)
{
	switch (q) {
	case '-':
		return DKK_SPF_FAIL;
	case '~':
		return DKK_SPF_SOFTFAIL;
	case '?':
		return DKK_SPF_NEUTRAL;
	default:
		return DKK_SPF_PASS;
	}
}

/* RFC 7208 4.4, 4.5: the one "v=spf1" record of domain.  DKK_OK with
 * *rec, or with *res set when there is none to use. */
static int
select_record(struct run *r, const char *domain, const char **rec,
    size_t *len, enum dkk_spf_result *res)
{
	const struct spf_answer *a;
	size_t i, found = 0;
	int rc;

	*rec = NULL;
	if ((rc = spf_answer_get(r->spf, domain, DKK_DNS_TXT, &a)) != DKK_OK)
		return rc;
	if (a->status == DKK_DNS_TEMPFAIL) {
		say(r, "DNS lookup of %s TXT failed", domain);
		*res = DKK_SPF_TEMPERROR;
		return DKK_OK;
	}
	for (i = 0; i < a->count; i++)
		if (spf_is_record(a->rr[i], a->len[i]) && found++ == 0) {
			*rec = a->rr[i];
			*len = a->len[i];
		}
	if (found == 0) {
		say(r, "no SPF record at %s", domain);
		*res = DKK_SPF_NONE;
	} else if (found > 1) {
		say(r, "%s has %zu SPF records", domain, found);
		*res = DKK_SPF_PERMERROR;
		*rec = NULL;
	}
	return DKK_OK;
}

/* RFC 7208 6.2: a fail's explanation: the exp= name's one TXT record,
 * expanded.  Any trouble leaves none. */
static int
explain(struct frame *f, const struct spf_span *exp)
{
	const struct spf_answer *a;
	struct buf why, text;
	int rc;

	buf_init(&why);
	buf_init(&text);
	f->r->explaining = true;
	if ((rc = spf_expand_domain(&f->env, exp, &f->name, &why)) != DKK_OK ||
	    (rc = spf_answer_get(f->r->spf, f->name.p, DKK_DNS_TXT, &a)) !=
	    DKK_OK || a->status != DKK_DNS_OK || a->count != 1)
		goto out;
	rc = spf_expand(&f->env, a->rr[0], a->len[0], true, &text, &why);
	if (rc == DKK_OK) {
		free(f->r->explanation);
		f->r->explanation = buf_take(&text);
	}
out:
	f->r->explaining = false;
	buf_clear(&why);
	buf_clear(&text);
	return rc == DKK_ESYNTAX ? DKK_OK : rc;
}

static void
frame_init(struct frame *f, struct run *r, const char *domain)
{
	dkk_spf *spf = r->spf;

	memset(f, 0, sizeof(*f));
	f->r = r;
	buf_init(&f->name);
	f->env.sender = spf->sender;
	f->env.local = spf->local;
	f->env.sender_domain = spf->domain;
	f->env.domain = domain;
	f->env.ip = &spf->ip;
	f->env.helo = spf->helo;
	f->env.receiver = spf->receiver;
	f->env.now = ctx_now(spf->ctx);
	f->env.ptr_name = ptr_macro;
	f->env.arg = f;
}

/* The terms in order; the first match decides (RFC 7208 4.6.2).
 * *decided tells whether one did. */
static int
run_terms(struct frame *f, const struct spf_record *rec,
    enum dkk_spf_result *res, bool *decided)
{
	const struct spf_term *t;
	enum term_out out;
	size_t i;
	int rc;

	*decided = true;
	for (i = 0; i < rec->n; i++) {
		t = &rec->terms[i];
		if ((rc = mech_eval[t->mech](f, t, &out)) != DKK_OK)
			return rc;
		if (out == T_NOMATCH)
			continue;
		if (out == T_TEMP)
			*res = DKK_SPF_TEMPERROR;
		else if (out == T_PERM)
			*res = DKK_SPF_PERMERROR;
		else {
			*res = qualifier_result(t->qual);
			say_match(f->r, t, f->env.domain);
		}
		return DKK_OK;
	}
	*decided = false;
	return DKK_OK;
}

/* RFC 7208 6.1: no term matched and redirect= is there: the target's
 * result, none being permerror.  top is the redirecting record's: a
 * redirect within an include stays within it, so the target's exp= is
 * not used there either (6.2). */
static int
run_redirect(struct frame *f, const struct spf_record *rec, bool top,
    enum dkk_spf_result *res)
{
	enum term_out out;
	const char *name;
	int rc;

	if ((rc = dns_term(f, &rec->redirect, &name, &out)) != DKK_OK)
		return rc;
	if (out == T_PERM) {
		*res = DKK_SPF_PERMERROR;
		return DKK_OK;
	}
	rc = check_host(f->r, name, top, res);
	if (rc == DKK_OK && *res == DKK_SPF_NONE) {
		say(f->r, "%s, the redirect of %s, has no SPF record", name,
		    f->env.domain);
		*res = DKK_SPF_PERMERROR;
	}
	return rc;
}

/* One record of domain, evaluated: terms, then redirect= (6.1), then
 * neutral (4.7); a fail gets exp= (6.2) unless reached by include or
 * through redirect. */
static int
run_record(struct frame *f, const char *txt, size_t len, bool top,
    enum dkk_spf_result *res)
{
	struct spf_record rec;
	struct buf why;
	bool decided;
	int rc;

	buf_init(&why);
	if ((rc = spf_record_parse(txt, len, &rec, &why)) == DKK_ESYNTAX) {
		say(f->r, "the SPF record of %s: %s", f->env.domain, why.p);
		*res = DKK_SPF_PERMERROR;
		buf_clear(&why);
		return DKK_OK;
	}
	buf_clear(&why);
	if (rc != DKK_OK)
		return rc;
	rc = run_terms(f, &rec, res, &decided);
	if (rc == DKK_OK && !decided && rec.redirect.p != NULL)
		rc = run_redirect(f, &rec, top, res);
	else if (rc == DKK_OK && !decided) {
		*res = DKK_SPF_NEUTRAL;
		say(f->r, "no term of the SPF record of %s matched ",
		    f->env.domain);
		spf_ip_text(&f->r->spf->ip, &f->r->why);
	} else if (rc == DKK_OK && top && *res == DKK_SPF_FAIL &&
	    rec.exp.p != NULL)
		rc = explain(f, &rec.exp);
	spf_record_clear(&rec);
	return rc;
}

/* RFC 7208 4: check_host(<ip>, <domain>, <sender>), the sender being
 * the check's.  top: exp= may be used (not within include, 6.2). */
static int
check_host(struct run *r, const char *domain, bool top,
    enum dkk_spf_result *res)
{
	struct frame f;
	const char *txt;
	size_t len = 0;
	int rc;

	if (!domain_ok(domain)) {
		say(r, "\"%.60s\" is not a domain to check", domain);
		*res = DKK_SPF_NONE;
		return DKK_OK;
	}
	if ((rc = select_record(r, domain, &txt, &len, res)) != DKK_OK ||
	    txt == NULL)
		return rc;
	frame_init(&f, r, domain);
	rc = run_record(&f, txt, len, top, res);
	buf_clear(&f.name);
	return rc;
}

int
spf_run(dkk_spf *spf)
{
	enum dkk_spf_result res = DKK_SPF_NONE;
	struct run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.spf = spf;
	buf_init(&r.why);
	rc = check_host(&r, spf->domain, true, &res);
	if (rc == DKK_OK && (r.why.failed || r.why.len == 0))
		rc = DKK_ENOMEM;
	if (rc == DKK_OK) {
		spf->result = res;
		spf->reason = buf_take(&r.why);
		/* 6.2: an explanation belongs to a fail, and only to one */
		if (res == DKK_SPF_FAIL) {
			spf->explanation = r.explanation;
			r.explanation = NULL;
		}
		spf->done = true;
	}
	buf_clear(&r.why);
	free(r.explanation);
	return rc;
}
