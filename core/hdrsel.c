/*
 * hdrsel.c: header field selection for the header hash, RFC 6376 5.4.2:
 * the Nth listing of a name in h= takes the Nth instance of that field
 * counting from the bottom; a listing with no instance left adds nothing.
 * A verifier passes the signature's own field, which h= never names
 * (RFC 6376 3.5: h= "MUST NOT include the DKIM-Signature header field that
 * is being created or verified"): a "DKIM-Signature" in h= means the
 * others.
 */
#include <string.h>

#include "internal.h"

/* The field the k-th name of h= selects, or NULL; never own. */
static const struct field *
hdrsel_pick(const struct header *hdr, char *const *names, size_t k,
    const struct field *own)
{
	size_t nlen = strlen(names[k]), seen = 0, i;

	for (i = 0; i < k; i++)
		if (ci_equal(names[i], strlen(names[i]), names[k], nlen))
			seen++;
	for (i = hdr->count; i-- > 0;) {
		const struct field *f = &hdr->fields[i];

		if (f != own && ci_equal(header_text(hdr, f), f->nlen,
		    names[k], nlen) && seen-- == 0)
			return f;
	}
	return NULL;
}

/* Feed the selected fields, canonicalised, to h; own is the signature's
 * field when verifying, else NULL.  tmp is scratch. */
int
hdrsel_hash(struct hash *h, const struct header *hdr, char *const *names,
    size_t n, enum dkk_canon c, const struct field *own, struct buf *tmp)
{
	const struct field *f;
	size_t k;
	int rc;

	for (k = 0; k < n; k++) {
		if ((f = hdrsel_pick(hdr, names, k, own)) == NULL)
			continue;
		tmp->len = 0;
		if ((rc = canon_header(tmp, c, header_text(hdr, f), f->len,
		    true)) != DKK_OK)
			return rc;
		hash_update(h, tmp->p, tmp->len);
	}
	return DKK_OK;
}

/* How many fields have this name. */
size_t
hdrsel_count(const struct header *hdr, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < hdr->count; i++)
		if (header_is(hdr, &hdr->fields[i], name))
			n++;
	return n;
}
