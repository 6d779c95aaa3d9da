/*
 * report.h: failure reports (RFC 6651 on RFC 5965 and RFC 6591, with the
 * redaction of RFC 6590): which failures a domain asked to hear about
 * (record.c), the lookups and the decision per message (plan.c), and the
 * report message itself (arf.c).
 */
#ifndef DKK_REPORT_H
#define DKK_REPORT_H

#include "dkim/verify.h"

/* room in a plan for the ruf= addresses of each Author Domain (the
 * plan's max still caps the whole) */
#define RUF_PER_AUTHOR 4

/* One _report._domainkey (or ADSP, or DMARC destination) record lookup
 * of a plan. */
struct rlookup {
	struct waiter w;	/* first: the cache calls back with &w */
	struct dkk_reports *r;
	char *name;
	struct keyent *e;
	bool answered;
};

/* A candidate: a failure that may be reported once its record is in. */
struct rcand {
	size_t sig;		/* index in the verifier, or SIZE_MAX: ADSP */
	char *domain;		/* d=, or the Author Domain */
	char token;		/* the token of the failure's reason */
	unsigned tokens;	/* every rr token this failure falls under */
	struct rlookup lk;
	/* DMARC failure reports (ruf.c) */
	enum dkk_report_kind kind;
	char *to;		/* the ruf= address */
	uint64_t max_bytes;	/* its !size, 0: none */
	bool verify;		/* external: lk must authorise it */
	struct ruf_walk *org;	/* the Organizational Domain still to be
				 * found (ruf.c), or NULL */
	char *dest;		/* the address's domain */
};

struct dkk_reports {
	dkk_verifier *v;
	struct rcand *cands;
	size_t ncands;
	size_t cap;		/* room in cands */
	size_t pending;
	bool done;
	struct dkk_report_opts opts;
	struct dkk_report_req *reqs;
	size_t nreqs;
};

/* plan.c */
HIDDEN int rlookup_begin(dkk_reports *r, struct rlookup *lk,
    const char *prefix, const char *domain);

/* ruf.c: what the message's authentication came to for one Author
 * Domain, as fo= (RFC 9989 4.7) looks at it. */
struct ruf_facts {
	bool dkim_aligned;	/* a DKIM signature passed aligned */
	bool spf_aligned;	/* SPF passed aligned */
	bool dkim_failed;	/* a signature failed evaluation */
	bool spf_failed;	/* SPF failed */
};
/* The fo= option (DMARC_FO_* bits) that asks for a report, as its
 * letter, or 0 when none does. */
HIDDEN char ruf_fo_asks(unsigned fo, const struct ruf_facts *f);
/* The DMARC candidates of a plan (after the DKIM and ADSP ones). */
HIDDEN int ruf_plan(dkk_reports *r);
/* A DMARC candidate's destination is authorised (not external, or its
 * verification record says v=DMARC1). */
HIDDEN bool ruf_cand_ok(const struct rcand *c);
HIDDEN void ruf_cand_clear(struct rcand *c);

/* record.c */
HIDDEN unsigned report_token_bit(char token);
HIDDEN int report_draw(const struct dkk_report_opts *o, unsigned *draw);
/* arf.c: is the message itself a feedback report (RFC 5965 3)? */
HIDDEN bool report_is_feedback(const struct header *h);

#endif
