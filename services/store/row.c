/*
 * row.c: the observation of one verified message, as the store's rows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* The values of a row (a message with a signature or two: some 300
 * bytes) go into one block after it: some 25 malloc() and free() calls
 * less, which is most of what building a row costs the caller.  A value
 * that does not fit is a malloc() of its own. */
#define ROW_ARENA 1024

/* A copy, or NULL for NULL; *bad set when out of memory. */
static char *
row_dup(struct dkst_row *r, const char *s, int *bad)
{
	size_t n;
	char *d;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	if (r->arena_len - r->arena_used >= n) {
		d = r->arena + r->arena_used;
		r->arena_used += n;
		memcpy(d, s, n);
		return d;
	}
	if ((d = malloc(n)) == NULL)
		*bad = 1;
	else
		memcpy(d, s, n);
	return d;
}

static char *
num(struct dkst_row *r, int64_t n, int *bad)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, n);
	return row_dup(r, b, bad);
}

/* An address's domain (after the last '@', without '>'), lower case. */
static char *
domain_of(struct dkst_row *r, const char *a, int *bad)
{
	const char *at;
	char *d;
	size_t i;

	if (a == NULL || *a == '\0')
		return NULL;
	at = strrchr(a, '@');
	if ((d = row_dup(r, at != NULL ? at + 1 : a, bad)) == NULL)
		return NULL;
	d[strcspn(d, ">")] = '\0';
	for (i = 0; d[i] != '\0'; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] += 'a' - 'A';
	return d;
}

static const char *
canon_name(enum dkk_canon c)
{
	return c == DKK_CANON_RELAXED ? "relaxed" : "simple";
}

static void
sig_fill(struct dkst_row *r, const dkk_verifier *v, size_t i, int *bad)
{
	const struct dkk_sig_result *g = dkk_verifier_result(v, i);
	enum dkk_class c = dkk_verifier_explain(v, i, NULL, NULL);
	char **s = r->s[i], canon[32];

	snprintf(canon, sizeof(canon), "%s/%s", canon_name(g->header_canon),
	    canon_name(g->body_canon));
	s[DKST_S_IDX] = num(r, (int64_t)i, bad);
	s[DKST_S_D] = row_dup(r, g->domain, bad);
	s[DKST_S_S] = row_dup(r, g->selector, bad);
	s[DKST_S_A] = row_dup(r, g->algorithm, bad);
	s[DKST_S_CANON] = row_dup(r, canon, bad);
	s[DKST_S_KEY_BITS] = g->key_bits > 0 ? num(r, g->key_bits, bad) : NULL;
	s[DKST_S_BODY_LENGTH] = g->body_length >= 0 ?
	    num(r, g->body_length, bad) : NULL;
	s[DKST_S_RESULT] = row_dup(r, dkk_verdict_name(g->verdict), bad);
	s[DKST_S_REASON] = row_dup(r, dkk_reason_name(g->reason), bad);
	s[DKST_S_CLASS] = c != DKK_C_NONE ? row_dup(r, dkk_class_name(c),
	    bad) : NULL;
}

/* The class of the first signature that has one: why the message's
 * DKIM failed, when none passed. */
static const char *
msg_class(const dkk_verifier *v)
{
	size_t i;
	enum dkk_class c;

	if (dkk_verifier_verdict(v) == DKK_PASS)
		return NULL;
	for (i = 0; i < dkk_verifier_count(v); i++)
		if ((c = dkk_verifier_explain(v, i, NULL, NULL)) != DKK_C_NONE)
			return dkk_class_name(c);
	return NULL;
}

static const char *
pub_policy(int p)
{
	return p < 0 ? NULL : dkk_dmarc_policy_name((enum dkk_dmarc_policy)p);
}

static char *
pub_char(struct dkst_row *r, char c, int *bad)
{
	char b[2] = { c, '\0' };

	return row_dup(r, b, bad);
}

/* What an aggregate report (RFC 9990) says of the message's DMARC: the
 * record as published, the aligned verdicts and an override. */
static void
msg_published(struct dkst_row *r, const struct dkk_dmarc_result *d,
    int *bad)
{
	char **m = r->m;

	if (d->discovery == NULL)
		return;
	m[DKST_M_POLICY_DOMAIN] = domain_of(r, d->policy_domain, bad);
	m[DKST_M_DKIM_ALIGNED] = row_dup(r, d->dkim_aligned ? "pass" : "fail",
	    bad);
	m[DKST_M_SPF_ALIGNED] = row_dup(r, d->spf_aligned ? "pass" : "fail",
	    bad);
	m[DKST_M_PUB_P] = row_dup(r, pub_policy(d->pub_p), bad);
	m[DKST_M_PUB_SP] = row_dup(r, pub_policy(d->pub_sp), bad);
	m[DKST_M_PUB_NP] = row_dup(r, pub_policy(d->pub_np), bad);
	m[DKST_M_PUB_ADKIM] = pub_char(r, d->pub_adkim, bad);
	m[DKST_M_PUB_ASPF] = pub_char(r, d->pub_aspf, bad);
	m[DKST_M_PUB_T] = pub_char(r, d->testing ? 'y' : 'n', bad);
	m[DKST_M_PUB_PSD] = pub_char(r, d->pub_psd, bad);
	m[DKST_M_DISCOVERY] = row_dup(r, d->discovery, bad);
	if (d->overridden) {
		m[DKST_M_OVERRIDE] = row_dup(r, d->override_reason, bad);
		m[DKST_M_OVERRIDE_COMMENT] = row_dup(r, d->override_comment, bad);
	}
}

static void
msg_dmarc_arc(struct dkst_row *r, const dkk_verifier *v, int *bad)
{
	char **m = r->m;
	struct dkk_dmarc_result d;
	struct dkk_arc_result a;

	if (dkk_verifier_dmarc(v, &d) == DKK_OK) {
		m[DKST_M_DMARC] = row_dup(r, dkk_dmarc_result_name(d.result), bad);
		m[DKST_M_DMARC_POLICY] = row_dup(r, dkk_dmarc_policy_name(d.policy),
		    bad);
		m[DKST_M_DISPOSITION] = row_dup(r, dkk_dmarc_policy_name(
		    d.disposition), bad);
		if (m[DKST_M_FROM] == NULL)
			m[DKST_M_FROM] = domain_of(r, d.domain, bad);
		msg_published(r, &d, bad);
	}
	if (dkk_verifier_arc(v, &a) == DKK_OK)
		m[DKST_M_ARC] = row_dup(r, dkk_arc_name(a.result), bad);
}

static void
msg_fill(struct dkst_row *r, const dkk_verifier *v,
    const struct dkst_facts *f, int *bad)
{
	char **m = r->m;
	const char *author = NULL;
	enum dkk_adsp adsp = dkk_verifier_adsp(v, &author);

	m[DKST_M_SEEN] = num(r, f->seen, bad);
	m[DKST_M_CLIENT_IP] = row_dup(r, f->client_ip, bad);
	m[DKST_M_HELO] = domain_of(r, f->helo, bad);
	m[DKST_M_MAIL_FROM] = domain_of(r, f->mail_from, bad);
	m[DKST_M_RCPT_TO] = domain_of(r, f->rcpt_to, bad);
	m[DKST_M_DKIM] = row_dup(r, dkk_verdict_name(dkk_verifier_verdict(v)), bad);
	if (dkk_verifier_count(v) > 0)
		m[DKST_M_DKIM_REASON] = row_dup(r, dkk_reason_name(
		    dkk_verifier_result(v, 0)->reason), bad);
	else if (dkk_verifier_reason(v, NULL) != DKK_R_OK)
		m[DKST_M_DKIM_REASON] = row_dup(r, dkk_reason_name(
		    dkk_verifier_reason(v, NULL)), bad);
	if (f->spf != NULL) {
		m[DKST_M_SPF] = row_dup(r, dkk_spf_result_name(f->spf->result), bad);
		m[DKST_M_SPF_DOMAIN] = domain_of(r, f->spf->domain, bad);
		/* RFC 9990 calls the MAIL FROM identity "mfrom" */
		m[DKST_M_SPF_SCOPE] = row_dup(r, f->spf->scope == DKK_SPF_HELO ?
		    "helo" : "mfrom", bad);
	}
	if (f->adsp) {
		m[DKST_M_ADSP] = row_dup(r, dkk_adsp_name(adsp), bad);
		m[DKST_M_FROM] = domain_of(r, author, bad);
	}
	msg_dmarc_arc(r, v, bad);
	m[DKST_M_CLASS] = row_dup(r, msg_class(v), bad);
}

struct dkst_row *
dkst_row_from_verifier(const dkk_verifier *v, const struct dkst_facts *f)
{
	struct dkst_row *r = calloc(1, sizeof(*r) + ROW_ARENA);
	size_t i, n = dkk_verifier_count(v);
	int bad = 0;

	if (r == NULL)
		return NULL;
	r->arena = (char *)(r + 1);
	r->arena_len = ROW_ARENA;
	if (n > 0 && (r->s = calloc(n, sizeof(*r->s))) == NULL) {
		free(r);
		return NULL;
	}
	r->nsigs = n;
	msg_fill(r, v, f, &bad);
	for (i = 0; i < n; i++)
		sig_fill(r, v, i, &bad);
	if (bad) {
		dkst_row_free(r);
		return NULL;
	}
	return r;
}
