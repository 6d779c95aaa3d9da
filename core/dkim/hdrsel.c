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
 * signature lists (RFC 6376 8.4), so selection goes through the index of
 * the fields by name that header.c builds (header_index()): each name is
 * one run found by binary search, and a selection costs O(names * log
 * fields), not O(names * fields).
 */
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

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

/* Feed the selected fields, canonicalised, to h (or, with copy, append
 * them to copy: the octets a failure report shows, RFC 6591 3.1); own is
 * the signature's field when verifying, else NULL.  tmp is scratch.  A
 * name's listings are counted by the start of its run, which only that
 * name has. */
static int
hdrsel_run(struct hash *h, struct buf *copy, const struct header *hdr,
    char *const *names, size_t n, enum dkk_canon c, const struct field *own,
    struct buf *tmp)
{
	const struct field *f;
	size_t k, lo, hi, *seen;
	int rc = DKK_OK;

	if (n == 0 || hdr->byname == NULL)
		return DKK_OK;
	if ((seen = dkk_calloc(hdr->count, sizeof(*seen))) == NULL)
		return DKK_ENOMEM;
	for (k = 0; k < n && rc == DKK_OK; k++) {
		header_run(hdr, names[k], strlen(names[k]), &lo, &hi);
		if (lo == hi ||
		    (f = hdrsel_pick(hdr, lo, hi, seen[lo]++, own)) == NULL)
			continue;
		tmp->len = 0;
		if ((rc = canon_header(tmp, c, header_text(hdr, f), f->len,
		    true)) != DKK_OK)
			break;
		if (copy != NULL)
			rc = buf_add(copy, tmp->p, tmp->len);
		else
			hash_update(h, tmp->p, tmp->len);
	}
	free(seen);
	return rc;
}

int
hdrsel_hash(struct hash *h, const struct header *hdr, char *const *names,
    size_t n, enum dkk_canon c, const struct field *own, struct buf *tmp)
{
	return hdrsel_run(h, NULL, hdr, names, n, c, own, tmp);
}

int
hdrsel_copy(struct buf *out, const struct header *hdr, char *const *names,
    size_t n, enum dkk_canon c, const struct field *own, struct buf *tmp)
{
	return hdrsel_run(NULL, out, hdr, names, n, c, own, tmp);
}

/* How many fields have this name. */
size_t
hdrsel_count(const struct header *hdr, const char *name)
{
	size_t lo, hi;

	if (hdr->byname == NULL)
		return 0;
	header_run(hdr, name, strlen(name), &lo, &hi);
	return hi - lo;
}
