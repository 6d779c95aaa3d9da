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

/* Start a lookup of name (taken over, freed by lookup_end()). */
int
lookup_begin(dkk_verifier *v, struct lookup *lk, char *name)
{
	int rc;

	memset(lk, 0, sizeof(*lk));
	lk->v = v;
	lk->w.done = lookup_done;
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

void
lookup_end(struct lookup *lk)
{
	keycache_put(lk->e, &lk->w);
	free(lk->name);
	lk->e = NULL;
	lk->name = NULL;
}
