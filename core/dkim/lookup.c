/*
 * lookup.c: one DNS name a verifier waits for (a key record, an ADSP
 * record, an author domain), through the context's key cache.  The
 * verifier counts the lookups still pending; the cache calls back when
 * an answer arrives.
 */
#include <stdlib.h>
#include <string.h>

#include "verify.h"

static void
lookup_done(struct waiter *w)
{
	struct lookup *lk = (struct lookup *)w;

	lk->v->pending--;
	lk->answered = true;
}

static int
lookup_start(dkk_verifier *v, struct lookup *lk, char *name, bool own)
{
	int rc;

	memset(lk, 0, sizeof(*lk));
	lk->v = v;
	lk->w.done = lookup_done;
	lk->own = own;
	if ((lk->name = name) == NULL)
		return DKK_ENOMEM;
	rc = keycache_get(v->ctx, lk->name, &lk->w, &lk->e);
	if (rc == DKK_EAGAIN) {
		v->pending++;
		rc = DKK_OK;
	} else {
		lk->answered = rc == DKK_OK;
	}
	return rc;
}

/* Start a lookup of name (taken over, freed by lookup_end()). */
int
lookup_begin(dkk_verifier *v, struct lookup *lk, char *name)
{
	return lookup_start(v, lk, name, true);
}

/* Start a lookup of a name the caller keeps until lookup_end() (a DMARC
 * walk holds all its names in one allocation). */
int
lookup_begin_kept(dkk_verifier *v, struct lookup *lk, const char *name)
{
	return lookup_start(v, lk, (char *)name, false);
}

void
lookup_end(struct lookup *lk)
{
	keycache_put(lk->e, &lk->w);
	if (lk->own)
		free(lk->name);
	lk->e = NULL;
	lk->name = NULL;
}
