/*
 * trust.c: what a trusted sealer vouched for (RFC 8617 7.2).  A
 * receiver that knows a forwarder may take that forwarder's word for
 * what the message looked like before it was changed: when the chain
 * passes, the ARC-Authentication-Results of an instance sealed by a
 * trusted sealer are the forwarder's own results, protected by every
 * seal from its own up.  DMARC and ADSP ask here whether such a sealer
 * recorded a pass for their Author Domain, and change only their
 * disposition (RFC 9989 leaves what a receiver does with a failure to
 * its local policy; RFC 8617 7.2.1 calls this a local policy override).
 *
 * Choices: the sealer is the d= of the instance's ARC-Seal, matched
 * without regard to case and without subdomains (a domain trusts whom it
 * names); every instance counts, the latest that vouches first, as every
 * AAR is covered by the seals of a passing chain; an AAR that does not
 * parse to its end (dkk_ar_parse() complete) counts for nothing, as
 * part of a result list cannot be told from the whole; the authserv-id
 * is not compared (the seal's d= already names who wrote it).
 */
#include <stdlib.h>
#include <string.h>

#include "arc.h"

int
arc_trust_init(struct arc *a, const char *const *sealers)
{
	size_t n;

	for (n = 0; sealers != NULL && sealers[n] != NULL; n++)
		;
	if (n == 0)
		return DKK_OK;
	if ((a->trusted = dkk_calloc(n, sizeof(*a->trusted))) == NULL)
		return DKK_ENOMEM;
	for (a->ntrusted = 0; a->ntrusted < n; a->ntrusted++)
		if ((a->trusted[a->ntrusted] =
		    dkk_strdup(sealers[a->ntrusted])) == NULL)
			return DKK_ENOMEM;
	return DKK_OK;
}

void
arc_trust_clear(struct arc *a)
{
	size_t i;

	for (i = 0; i < a->ntrusted; i++)
		free(a->trusted[i]);
	free(a->trusted);
	buf_clear(&a->comment);
}

static bool
trusted(const struct arc *a, const char *d)
{
	size_t i, n = strlen(d);

	if (n > 0 && d[n - 1] == '.')
		n--;
	for (i = 0; i < a->ntrusted; i++) {
		size_t tn = strlen(a->trusted[i]);

		if (tn > 0 && a->trusted[i][tn - 1] == '.')
			tn--;
		if (ci_equal(a->trusted[i], tn, d, n))
			return true;
	}
	return false;
}

static const char *
prop(const struct dkk_ar_result *r, const char *ptype, const char *name)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		if (ci_equal(r->props[i].ptype, strlen(r->props[i].ptype),
		    ptype, strlen(ptype)) &&
		    ci_equal(r->props[i].property,
		    strlen(r->props[i].property), name, strlen(name)))
			return r->props[i].value;
	return NULL;
}

static bool
word_is(const char *s, const char *w)
{
	return s != NULL && ci_equal(s, strlen(s), w, strlen(w));
}

/* Does one recorded result vouch for the domain? */
static bool
result_vouches(const struct dkk_ar_result *r, const struct arc_ask *q)
{
	const char *d;

	if (!word_is(r->result, "pass"))
		return false;
	if (word_is(r->method, q->method)) {
		/* a domain (RFC 7489 11.2), or an address: its domain */
		if ((d = prop(r, "header", "from")) != NULL &&
		    strrchr(d, '@') != NULL)
			d = strrchr(d, '@') + 1;
		return d != NULL &&
		    ci_equal(d, strlen(d), q->domain, strlen(q->domain));
	}
	if (!word_is(r->method, "dkim") ||
	    (d = prop(r, "header", "d")) == NULL)
		return false;
	return ci_equal(d, strlen(d), q->domain, strlen(q->domain)) ||
	    (q->org != NULL && domain_within(d, q->org));
}

static bool
set_vouches(const dkk_verifier *v, const struct arc_set *s,
    const struct arc_ask *q)
{
	const char *value;
	size_t len, i;
	dkk_ar *ar;
	bool ok = false;

	if (!s->as_parsed || !trusted(v->arc, s->as.d))
		return false;
	value = header_value(&v->hdr, &v->hdr.fields[s->field[ARC_AAR]],
	    &len);
	if (dkk_ar_parse(value, len, &ar) != DKK_OK)
		return false;
	for (i = 0; ar->complete && i < ar->nresults && !ok; i++)
		ok = result_vouches(&ar->results[i], q);
	dkk_ar_free(ar);
	return ok;
}

/* The ARC data of RFC 8617 7.2.1 for the report's comment: the chain's
 * result, each seal's d= and s= from the latest down, and the
 * smtp.remote-ip each AAR recorded. */
static void
make_comment(const dkk_verifier *v, struct arc *a)
{
	const char *value, *ip;
	size_t len, i;
	unsigned k;
	dkk_ar *ar;

	a->comment.len = 0;
	buf_adds(&a->comment, "arc=pass");
	for (k = a->n; k >= 1; k--)
		buf_printf(&a->comment, " as[%u].d=%s as[%u].s=%s", k,
		    a->sets[k - 1].as.d, k, a->sets[k - 1].as.s);
	for (k = a->n; k >= 1; k--) {
		value = header_value(&v->hdr,
		    &v->hdr.fields[a->sets[k - 1].field[ARC_AAR]], &len);
		if (dkk_ar_parse(value, len, &ar) != DKK_OK)
			continue;
		for (i = 0, ip = NULL; i < ar->nresults && ip == NULL; i++)
			ip = prop(&ar->results[i], "smtp", "remote-ip");
		if (ip != NULL)
			buf_printf(&a->comment, " remote-ip[%u]=%s", k, ip);
		dkk_ar_free(ar);
	}
}

bool
arc_vouched(const dkk_verifier *v, const struct arc_ask *q,
    struct dkk_override *out)
{
	struct arc *a = v->arc;
	unsigned k;

	if (a == NULL || a->ntrusted == 0 || a->result != DKK_ARC_PASS ||
	    q->domain == NULL)
		return false;
	for (k = a->n; k >= 1; k--)
		if (set_vouches(v, &a->sets[k - 1], q))
			break;
	if (k == 0)
		return false;
	if (a->comment.len == 0)
		make_comment(v, a);
	memset(out, 0, sizeof(*out));
	out->overridden = 1;
	out->sealer = a->sets[k - 1].as.d;
	out->instance = k;
	out->reason = "local_policy";
	out->comment = a->comment.failed ? NULL : a->comment.p;
	return true;
}

/* Forwarded mail (dkk_verify_opts.arc_forwarded): a chain that passes
 * says only that each relay sealed what it got, not that the author's
 * message was good, so no result is read from it; the latest seal is
 * named because it is who handed the message over. */
bool
arc_forwarded(const dkk_verifier *v, struct dkk_override *out)
{
	struct arc *a = v->arc;

	if (a == NULL || !a->forwarded || a->result != DKK_ARC_PASS ||
	    a->n == 0 || !a->sets[a->n - 1].as_parsed)
		return false;
	if (a->comment.len == 0)
		make_comment(v, a);
	memset(out, 0, sizeof(*out));
	out->overridden = 1;
	out->sealer = a->sets[a->n - 1].as.d;
	out->instance = a->n;
	out->reason = "local_policy";
	out->comment = a->comment.failed ? NULL : a->comment.p;
	return true;
}
