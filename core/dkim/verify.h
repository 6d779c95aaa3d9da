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
	bool own;		/* name is freed by lookup_end() */
	struct keyent *e;
	bool answered;		/* the answer is in (lk->e has it) */
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
	struct dkk_override adsp_ovr;	/* a trusted sealer's, or zero */
	/* DMARC, RFC 9989 (core/dmarc/dmarc.c) */
	bool dmarc_on;
	bool dmarc_7489;
	bool spf_wait;		/* spf_later, and not given yet */
	bool dkim_settled;	/* DKIM verdicts known, DMARC may use them */
	struct dkk_spf_facts spf;	/* spf.domain owned (copied) */
	struct dmarc_state *dmarc;
	struct explain *explain;	/* failure classes, explain.c */
	struct arc *arc;	/* RFC 8617 (core/arc), NULL when off */
	struct atps *atps;	/* RFC 6541 (core/atps), NULL when off */
};

/* lookup.c */
HIDDEN int lookup_begin(dkk_verifier *v, struct lookup *lk, char *name);
HIDDEN int lookup_begin_kept(dkk_verifier *v, struct lookup *lk,
    const char *name);
HIDDEN void lookup_end(struct lookup *lk);
HIDDEN int adsp_start(dkk_verifier *v);
HIDDEN void adsp_settle(dkk_verifier *v);
HIDDEN void adsp_clear(dkk_verifier *v);
/* The one ADSP record the verifier found for Author Domain d (the text
 * its result came from), or false when there was none. */
HIDDEN bool adsp_record_text(const dkk_verifier *v, const char *d,
    const char **txt, size_t *len);
HIDDEN int author_domain(const char *value, size_t len, char **domain);
HIDDEN int header_authors(const struct header *h, struct authors *a);

/* core/dmarc/dmarc.c: set up at the end of the header; step advances
 * the DNS walks as far as the answers at hand allow (DKK_EAGAIN when it
 * started lookups, DKK_OK when the result is known, or only DKIM
 * verdicts or the SPF result are still missing); clear frees.  unpark
 * lets the next step decide once a late SPF result is in; settled says
 * whether it is decided. */
struct dmarc_state;
HIDDEN int dmarc_start(dkk_verifier *v);
HIDDEN int dmarc_step(dkk_verifier *v);
HIDDEN int dmarc_poll(dkk_verifier *v);
HIDDEN void dmarc_unpark(dkk_verifier *v);
HIDDEN bool dmarc_settled(const dkk_verifier *v);
HIDDEN void dmarc_clear(dkk_verifier *v);
HIDDEN bool dmarc_author_result(const dkk_verifier *v, size_t i,
    struct dkk_dmarc_result *out);
HIDDEN const char *dmarc_from_problem(const dkk_verifier *v);
HIDDEN enum dkk_dmarc_policy dmarc_author_ptag(const dkk_verifier *v,
    size_t i);
HIDDEN void dmarc_override(dkk_verifier *v);

/* core/atps/atps.c: RFC 6541.  new reads the options; start looks the
 * requests up at the end of the header; settle gives each signature its
 * result once the DKIM verdicts are known (before adsp_settle, which
 * asks atps_authorizes); atps_author is Author Domain k's result for the
 * A-R field; clear frees. */
struct atps;
HIDDEN int atps_new(dkk_verifier *v, const struct dkk_verify_opts *opts);
HIDDEN int atps_start(dkk_verifier *v);
HIDDEN void atps_settle(dkk_verifier *v);
HIDDEN bool atps_authorizes(const dkk_verifier *v, size_t i,
    const char *author);
HIDDEN size_t atps_authors(const dkk_verifier *v);
HIDDEN enum dkk_atps atps_author(const dkk_verifier *v, size_t k,
    const char **author, const char **signer);
HIDDEN void atps_clear(dkk_verifier *v);

/* core/adsp/adsp.c: the same for ADSP, after arc_settle(). */
HIDDEN void adsp_override(dkk_verifier *v);

#endif
