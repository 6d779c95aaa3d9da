/*
 * report.h: failure reports (RFC 6651 on RFC 5965 and RFC 6591, with the
 * redaction of RFC 6590): which failures a domain asked to hear about
 * (record.c), the lookups and the decision per message (plan.c), and the
 * report message itself (arf.c).
 */
#ifndef DKK_REPORT_H
#define DKK_REPORT_H

#include "dkim/verify.h"

/* One _report._domainkey (or ADSP) record lookup of a plan. */
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
};

struct dkk_reports {
	dkk_verifier *v;
	struct rcand *cands;
	size_t ncands;
	size_t pending;
	bool done;
	struct dkk_report_opts opts;
	struct dkk_report_req *reqs;
	size_t nreqs;
};

/* record.c */
HIDDEN unsigned report_token_bit(char token);
HIDDEN int report_draw(const struct dkk_report_opts *o, unsigned *draw);
/* arf.c: is the message itself a feedback report (RFC 5965 3)? */
HIDDEN bool report_is_feedback(const struct header *h);

#endif
