/*
 * verify.h: the verifier's insides, shared by verify.c, lookup.c, adsp.c
 * and ar.c.
 */
#ifndef DKK_VERIFY_H
#define DKK_VERIFY_H

#include "dkim.h"

struct lookup {
	struct waiter w;	/* first: the callback gets &lookup->w */
	dkk_verifier *v;
	char *name;
	struct keyent *e;
};

struct vsig {
	struct sig sg;
	struct dkk_sig_result res;
	struct buf why;		/* res.detail */
	bool decided;
	bool evaluated;		/* parsed, and within the signature limit */
	size_t sink;		/* body hash, in body.canon[sg.bcanon] */
	size_t lookup;		/* index in lookups */
	size_t field;		/* its DKIM-Signature field in hdr.fields */
};

struct dkk_verifier {
	dkk_ctx *ctx;
	struct header hdr;
	struct bodyset body;
	struct vsig *sigs;
	size_t nsigs;
	struct lookup *lookups;	/* key records, one per name */
	size_t nlookups;
	size_t pending;		/* lookups still waiting for DNS */
	bool header_done;
	bool ended;
	bool final;
	int err;
	enum dkk_verdict verdict;
	struct buf limit;	/* why the header block was not evaluated */
	struct buf tmp;
	/* ADSP, RFC 5617 */
	bool adsp_on;
	enum dkk_adsp adsp;	/* the worst of adsp_res */
	const char *author;	/* the Author Domain that gave it */
	struct authors authors;	/* every Author Domain, lower case */
	struct lookup (*adsp_lk)[2];	/* per author: record, domain */
	enum dkk_adsp *adsp_res;	/* per author */
};

/* lookup.c */
HIDDEN int lookup_begin(dkk_verifier *v, struct lookup *lk, char *name);
HIDDEN void lookup_end(struct lookup *lk);
HIDDEN int adsp_start(dkk_verifier *v);
HIDDEN void adsp_settle(dkk_verifier *v);
HIDDEN void adsp_clear(dkk_verifier *v);
HIDDEN int author_domain(const char *value, size_t len, char **domain);

#endif
