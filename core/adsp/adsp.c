/*
 * adsp.c: Author Domain Signing Practices, RFC 5617.  Every address in
 * From is an Author Address (2.3) and each Author Domain is evaluated;
 * the two lookups per domain (the domain itself, and its _adsp._domainkey
 * record) start with the key lookups and are only consulted when no
 * Author Domain Signature passes.  The message's result is the worst of
 * its authors' (adsp_rank), so a second address or a second From field
 * cannot hide a discardable domain.
 */
#include <stdlib.h>
#include <string.h>

#include "arc/arc.h"

enum { ADSP_RECORD, ADSP_DOMAIN };

/* Every From field's author domains (RFC 5617 2.3: each address in From
 * is an Author Address; 2.7 and 3: each Author Domain is evaluated).
 * DKK_ESYNTAX when there are none. */
int
header_authors(const struct header *h, struct authors *a)
{
	const char *value;
	size_t i, len, nfrom = 0;
	int rc;

	for (i = 0; i < h->count; i++) {
		if (!header_is(h, &h->fields[i], "From"))
			continue;
		nfrom++;
		value = header_value(h, &h->fields[i], &len);
		if ((rc = authors_parse(a, value, len)) != DKK_OK)
			return rc;
	}
	return a->n > 0 ? DKK_OK : DKK_ESYNTAX;
}

/* One From field with one valid mailbox, as RFC 5617 2.7 has it. */
int
author_domain(const char *value, size_t len, char **domain)
{
	struct authors a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = authors_parse(&a, value, len);
	if (rc == DKK_OK && (a.addresses != 1 || a.malformed))
		rc = DKK_ESYNTAX;
	if (rc == DKK_OK) {
		*domain = a.domain[0];
		a.n = 0;
	}
	authors_clear(&a);
	return rc;
}

static char *
adsp_name(const char *prefix, const char *domain)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s%s", prefix, domain);
	return buf_take(&b);
}

/* The single From field's single author, or DKK_ESYNTAX. */
static int
sole_author(const char *header, size_t len, struct authors *a)
{
	struct header h;
	size_t used;
	int rc;

	memset(a, 0, sizeof(*a));
	header_init(&h, SIZE_MAX, SIZE_MAX);
	rc = header_feed(&h, header, len, &used);
	if (rc == DKK_OK && !h.done)
		rc = header_end(&h);
	if (rc == DKK_OK)
		rc = header_authors(&h, a);
	if (rc == DKK_OK && (a->addresses != 1 || a->malformed ||
	    hdrsel_count(&h, "From") != 1))
		rc = DKK_ESYNTAX;
	header_clear(&h);
	return rc;
}

int
dkk_author_domain(const char *header, size_t len, char **domain)
{
	struct authors a;
	int rc;

	if (header == NULL || domain == NULL)
		return DKK_EINVAL;
	*domain = NULL;
	if ((rc = sole_author(header, len, &a)) == DKK_OK) {
		*domain = a.domain[0];
		a.n = 0;
	}
	authors_clear(&a);
	return rc;
}

int
dkk_author_address(const char *header, size_t len, char **address)
{
	struct authors a;
	int rc;

	if (header == NULL || address == NULL)
		return DKK_EINVAL;
	*address = NULL;
	if ((rc = sole_author(header, len, &a)) == DKK_OK) {
		*address = a.address;
		a.address = NULL;
	}
	authors_clear(&a);
	return rc;
}

/* At the end of the header: find the Author Domains, start two lookups
 * for each.  No author at all, or a malformed From, is permerror. */
int
adsp_start(dkk_verifier *v)
{
	size_t i;
	int rc;

	if (!v->adsp_on)
		return DKK_OK;
	v->adsp = DKK_ADSP_PERMERROR;
	if ((rc = header_authors(&v->hdr, &v->authors)) == DKK_ENOMEM)
		return rc;
	if (v->authors.n > 0 && ((v->adsp_lk = dkk_calloc(v->authors.n,
	    sizeof(*v->adsp_lk))) == NULL || (v->adsp_res = dkk_calloc(
	    v->authors.n, sizeof(*v->adsp_res))) == NULL))
		return DKK_ENOMEM;
	for (i = 0; i < v->authors.n; i++) {
		const char *d = v->authors.domain[i];

		if ((rc = lookup_begin(v, &v->adsp_lk[i][ADSP_RECORD],
		    adsp_name("_adsp._domainkey.", d))) != DKK_OK ||
		    (rc = lookup_begin(v, &v->adsp_lk[i][ADSP_DOMAIN],
		    adsp_name("", d))) != DKK_OK)
			return rc;
	}
	return DKK_OK;
}

/* RFC 5617 4.2.1: the record must start with the dkim tag (its first
 * four characters are "dkim"); unknown practices count as unknown.  A
 * record that does not comply is ignored, as if there were none: 4.1,
 * "considered equivalent to a NODATA result". */
static enum dkk_adsp
adsp_record(const char *txt, size_t len)
{
	struct tag tags[32];
	size_t n;

	if (len < 4 || memcmp(txt, "dkim", 4) != 0 ||
	    taglist_parse(txt, len, tags, 32, &n) != TAGLIST_OK || n == 0 ||
	    tags[0].nlen != 4 || memcmp(tags[0].name, "dkim", 4) != 0)
		return DKK_ADSP_NONE;
	if (tags[0].vlen == 3 && memcmp(tags[0].val, "all", 3) == 0)
		return DKK_ADSP_FAIL;
	if (tags[0].vlen == 11 && memcmp(tags[0].val, "discardable", 11) == 0)
		return DKK_ADSP_DISCARD;
	return DKK_ADSP_UNKNOWN;
}

/* RFC 5617 3.2 and 4.3: pass with an Author Domain Signature (or, when
 * ATPS is on, a third-party signature the author authorizes by ATPS:
 * RFC 6541 6 has a verifier doing both test ATPS first and count the
 * delegation as one); otherwise the domain must exist, and its record
 * decides. */
static enum dkk_adsp
adsp_author(dkk_verifier *v, size_t k)
{
	const char *d = v->authors.domain[k];
	const struct dkk_dns_answer *rec, *dom;
	size_t i;

	for (i = 0; i < v->nsigs; i++)
		if (v->sigs[i].res.verdict == DKK_PASS &&
		    (ci_equal(v->sigs[i].sg.d, strlen(v->sigs[i].sg.d), d,
		    strlen(d)) || atps_authorizes(v, i, d)))
			return DKK_ADSP_PASS;
	rec = keyent_answer(v->adsp_lk[k][ADSP_RECORD].e);
	dom = keyent_answer(v->adsp_lk[k][ADSP_DOMAIN].e);
	if (dns_trouble(dom))
		return DKK_ADSP_TEMPERROR;
	if (dom->status == DKK_DNS_NXDOMAIN)
		return DKK_ADSP_NXDOMAIN;
	if (dns_trouble(rec))
		return DKK_ADSP_TEMPERROR;
	if (rec->status == DKK_DNS_NXDOMAIN || rec->count == 0)
		return DKK_ADSP_NONE;
	if (rec->count > 1)
		return DKK_ADSP_PERMERROR;
	return adsp_record(rec->txt[0], rec->len[0]);
}

/* How bad a result is for the message, worst first: what a receiver
 * acts on (discard, then fail and nxdomain) beats what it cannot act on,
 * and pass counts only when every author has it. */
static int
adsp_rank(enum dkk_adsp r)
{
	static const enum dkk_adsp order[] = {
		DKK_ADSP_DISCARD, DKK_ADSP_FAIL, DKK_ADSP_NXDOMAIN,
		DKK_ADSP_TEMPERROR, DKK_ADSP_PERMERROR, DKK_ADSP_UNKNOWN,
		DKK_ADSP_NONE, DKK_ADSP_PASS,
	};
	int i;

	for (i = 0; order[i] != r; i++)
		;
	return i;
}

/* Each author's result; the message's is the worst of them, and at best
 * permerror when the From field was malformed. */
void
adsp_settle(dkk_verifier *v)
{
	size_t k;

	if (!v->adsp_on || v->adsp_res == NULL)
		return;
	v->adsp = v->authors.malformed ? DKK_ADSP_PERMERROR : DKK_ADSP_PASS;
	v->author = v->authors.domain[0];
	for (k = 0; k < v->authors.n; k++) {
		v->adsp_res[k] = adsp_author(v, k);
		if (adsp_rank(v->adsp_res[k]) < adsp_rank(v->adsp)) {
			v->adsp = v->adsp_res[k];
			v->author = v->authors.domain[k];
		}
	}
}

/* An ADSP fail or discard says "every message from this domain is
 * signed by it" (RFC 5617 4.2.1); a trusted ARC sealer that recorded
 * the Author Domain Signature passing (dkim=pass header.d=AUTHOR, or
 * its own dkim-adsp=pass header.from=AUTHOR) says it was, before a
 * forwarder changed the message.  Each author with fail or discard must
 * be vouched for; the override reported is that of the author whose
 * result is the message's.  The results stay. */
void
adsp_override(dkk_verifier *v)
{
	struct dkk_override o, mine;
	size_t k;

	memset(&v->adsp_ovr, 0, sizeof(v->adsp_ovr));
	if (v->adsp_res == NULL || v->limit.len > 0 ||
	    (v->adsp != DKK_ADSP_FAIL && v->adsp != DKK_ADSP_DISCARD))
		return;
	memset(&mine, 0, sizeof(mine));
	for (k = 0; k < v->authors.n; k++) {
		struct arc_ask q = { "dkim-adsp", v->authors.domain[k], NULL };

		if (v->adsp_res[k] != DKK_ADSP_FAIL &&
		    v->adsp_res[k] != DKK_ADSP_DISCARD)
			continue;
		if (!arc_vouched(v, &q, &o))
			return;
		if (v->authors.domain[k] == v->author || !mine.overridden)
			mine = o;
	}
	v->adsp_ovr = mine;
}

int
dkk_verifier_adsp_override(const dkk_verifier *v, struct dkk_override *o)
{
	if (v == NULL || o == NULL || !v->final || !v->adsp_on)
		return DKK_EINVAL;
	*o = v->adsp_ovr;
	return DKK_OK;
}

bool
adsp_record_text(const dkk_verifier *v, const char *d, const char **txt,
    size_t *len)
{
	const struct dkk_dns_answer *a;
	size_t k;

	for (k = 0; v->adsp_lk != NULL && k < v->authors.n; k++) {
		if (!ci_equal(v->authors.domain[k],
		    strlen(v->authors.domain[k]), d, strlen(d)))
			continue;
		a = keyent_answer(v->adsp_lk[k][ADSP_RECORD].e);
		if (a == NULL || a->status != DKK_DNS_OK || a->count != 1)
			return false;
		*txt = a->txt[0];
		*len = a->len[0];
		return true;
	}
	return false;
}

void
adsp_clear(dkk_verifier *v)
{
	size_t i;

	for (i = 0; v->adsp_lk != NULL && i < v->authors.n; i++) {
		lookup_end(&v->adsp_lk[i][ADSP_RECORD]);
		lookup_end(&v->adsp_lk[i][ADSP_DOMAIN]);
	}
	free(v->adsp_lk);
	free(v->adsp_res);
	authors_clear(&v->authors);
	v->adsp_lk = NULL;
	v->adsp_res = NULL;
	v->author = NULL;
}

enum dkk_adsp
dkk_verifier_adsp(const dkk_verifier *v, const char **author_domain)
{
	if (author_domain != NULL)
		*author_domain = v != NULL ? v->author : NULL;
	return v != NULL && v->final ? v->adsp : DKK_ADSP_NONE;
}
