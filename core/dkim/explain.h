/*
 * explain.h: the failure classifier (explain.c), as the verifier calls it:
 * made with the verifier when dkk_verify_opts.explain asks for it, fed the
 * body beside the verifier's own canonicalisers, settled once the verdicts
 * are known.  Nothing here changes a verdict.
 */
#ifndef DKK_EXPLAIN_H
#define DKK_EXPLAIN_H

#include "verify.h"

HIDDEN int explain_new(struct explain **ep);
HIDDEN void explain_free(struct explain *e);
HIDDEN void explain_feed(dkk_verifier *v, const char *p, size_t len);
HIDDEN void explain_settle(dkk_verifier *v);

#endif
