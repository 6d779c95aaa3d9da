/*
 * hdrsel.c: header field selection for the header hash, RFC 6376 5.4.2:
 * the Nth listing of a name in h= takes the Nth instance of that field
 * counting from the bottom; a listing with no instance left adds nothing.
 * A verifier passes the signature's own field, which h= never names
 * (RFC 6376 3.5: h= "MUST NOT include the DKIM-Signature header field that
 * is being created or verified"): a "DKIM-Signature" in h= means the
 * others.
 *
 * A message chooses how many fields it has and how many names each
 * signature lists (RFC 6376 8.4), so the fields are indexed once by name:
 * sorted by lower-cased name, then by position, each name is one run
 * found by binary search, and a selection costs O(names * log fields),
 * not O(names * fields).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;
	int d;

	for (i = 0; i < alen && i < blen; i++)
		if ((d = lower((unsigned char)a[i]) -
		    lower((unsigned char)b[i])) != 0)
			return d;
	return alen < blen ? -1 : alen > blen;
}

static int
hidx_cmp(const void *x, const void *y)
{
	const struct hidx *a = x, *b = y;
	int d = name_cmp(a->name, a->nlen, b->name, b->nlen);

	if (d != 0)
		return d;
	return a->field < b->field ? -1 : a->field > b->field;
}

/* Build the index of a finished header block. */
int
hdrsel_index(struct header *h)
{
	size_t i;

	free(h->byname);
	h->byname = NULL;
	if (h->count == 0)
		return DKK_OK;
	if ((h->byname = dkk_calloc(h->count, sizeof(*h->byname))) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < h->count; i++) {
		h->byname[i].name = header_text(h, &h->fields[i]);
		h->byname[i].nlen = h->fields[i].nlen;
		h->byname[i].field = i;
	}
	qsort(h->byname, h->count, sizeof(*h->byname), hidx_cmp);
	for (i = 0; i < h->count; i++)
		h->fields[h->byname[i].field].rank = i;
	return DKK_OK;
}

/* The run [*lo, *hi) of fields named name, in top-to-bottom order. */
static void
hdrsel_run(const struct header *h, const char *name, size_t nlen, size_t *lo,
    size_t *hi)
{
	size_t a = 0, b = h->count, m;

	while (a < b) {		/* first entry not below name */
		m = a + (b - a) / 2;
		if (name_cmp(h->byname[m].name, h->byname[m].nlen, name,
		    nlen) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	for (b = h->count; a < b;) {	/* first entry above name */
		m = a + (b - a) / 2;
		if (name_cmp(h->byname[m].name, h->byname[m].nlen, name,
		    nlen) <= 0)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

/* The seen-th field of the run [lo, hi) counting from the bottom, never
 * own (which is in the run when its rank is). */
static const struct field *
hdrsel_pick(const struct header *h, size_t lo, size_t hi, size_t seen,
    const struct field *own)
{
	size_t j;

	if (seen >= hi - lo)
		return NULL;
	j = hi - 1 - seen;
	if (own != NULL && own->rank >= j && own->rank < hi) {
		if (j == lo)
			return NULL;
		j--;
	}
	return &h->fields[h->byname[j].field];
}

/* Feed the selected fields, canonicalised, to h; own is the signature's
 * field when verifying, else NULL.  tmp is scratch.  A name's listings
 * are counted by the start of its run, which only that name has. */
int
hdrsel_hash(struct hash *h, const struct header *hdr, char *const *names,
    size_t n, enum dkk_canon c, const struct field *own, struct buf *tmp)
{
	const struct field *f;
	size_t k, lo, hi, *seen;
	int rc = DKK_OK;

	if (n == 0 || hdr->byname == NULL)
		return DKK_OK;
	if ((seen = dkk_calloc(hdr->count, sizeof(*seen))) == NULL)
		return DKK_ENOMEM;
	for (k = 0; k < n && rc == DKK_OK; k++) {
		hdrsel_run(hdr, names[k], strlen(names[k]), &lo, &hi);
		if (lo == hi ||
		    (f = hdrsel_pick(hdr, lo, hi, seen[lo]++, own)) == NULL)
			continue;
		tmp->len = 0;
		if ((rc = canon_header(tmp, c, header_text(hdr, f), f->len,
		    true)) == DKK_OK)
			hash_update(h, tmp->p, tmp->len);
	}
	free(seen);
	return rc;
}

/* How many fields have this name. */
size_t
hdrsel_count(const struct header *hdr, const char *name)
{
	size_t lo, hi;

	if (hdr->byname == NULL)
		return 0;
	hdrsel_run(hdr, name, strlen(name), &lo, &hi);
	return hi - lo;
}
