/*
 * arc.h: the ARC layer, RFC 8617, on top of the DKIM machinery: the ARC
 * sets of a message (set.c), chain validation (chain.c) and sealing
 * (seal.c).  The verifier calls arc_start() when the header block is
 * complete (key lookups overlap the body, as DKIM's do), arc_settle() at
 * final and arc_clear() when freed.
 */
#ifndef DKK_ARC_H
#define DKK_ARC_H

#include "dkim/verify.h"

#define ARC_MAX_SETS 50		/* RFC 8617 4.2.1: i= is 1 to 50 */

enum arc_kind { ARC_AAR, ARC_AMS, ARC_AS, ARC_NKINDS };
enum arc_cv { ARC_CV_NONE, ARC_CV_PASS, ARC_CV_FAIL };

/* One instance: its three fields and the parsed signatures. */
struct arc_set {
	size_t field[ARC_NKINDS];	/* index in hdr.fields; SIZE_MAX */
	struct sig ams;
	struct sig as;
	enum arc_cv cv;
	bool ams_parsed;	/* ams holds a usable signature */
	bool ams_skipped;	/* older than the limit looks back */
	bool as_parsed;
	size_t ams_sink;	/* its body hash, in body.canon[ams.bcanon] */
	size_t ams_lk;		/* index in arc.lk */
	size_t as_lk;
	struct buf ams_why;	/* why the AMS cannot be used */
	struct buf as_why;
};

struct arc {
	enum dkk_arc result;
	unsigned n;		/* sets: the highest instance */
	unsigned oldest_pass;
	unsigned failed;	/* instance at fault, 0 */
	bool decided;		/* the structure already settled it */
	bool top_cv_fail;	/* the latest seal says cv=fail */
	struct buf why;
	struct arc_set *sets;	/* sets[k - 1] is instance k */
	struct lookup *lk;	/* key records, one per name */
	size_t nlk;
	size_t seal_sink;	/* relaxed SHA-256 of the whole body */
	char *remote_ip;
	char **trusted;		/* dkk_verify_opts.trusted_sealers */
	size_t ntrusted;
	struct buf comment;	/* RFC 8617 7.2.1, made once */
	bool forwarded;		/* dkk_verify_opts.arc_forwarded */
};

/* set.c: collecting and parsing the sets. */
HIDDEN int arc_collect(dkk_verifier *v, struct arc *a);
HIDDEN int arc_instance(const char *value, size_t len, unsigned *inst);
HIDDEN int arc_sig_parse(struct sig *sg, enum arc_kind kind,
    const char *field, size_t len, const struct sig_max *max,
    unsigned *inst, enum arc_cv *cv, struct buf *why);
HIDDEN const char *arc_kind_name(enum arc_kind kind);

/* chain.c: RFC 8617 5.2. */
HIDDEN void arc_fail(struct arc *a, unsigned inst, const char *fmt, ...)
    PRINTF(3, 4);
HIDDEN int arc_new(dkk_verifier *v, const struct dkk_verify_opts *o);
HIDDEN int arc_start(dkk_verifier *v);
HIDDEN void arc_settle(dkk_verifier *v);
HIDDEN void arc_clear(dkk_verifier *v);
HIDDEN int arc_seal_hash(struct hash *h, const struct header *hdr,
    const struct arc *a, unsigned upto, struct buf *tmp);

/* trust.c: what a trusted sealer vouched for (RFC 8617 7.2).  The
 * question: did it record method=pass with header.from=domain, or a
 * dkim=pass with header.d=domain or (org not NULL) within org? */
struct arc_ask {
	const char *method;	/* "dmarc" or "dkim-adsp" */
	const char *domain;	/* the Author Domain */
	const char *org;	/* relaxed DKIM alignment's domain, or NULL */
};
HIDDEN int arc_trust_init(struct arc *a, const char *const *sealers);
HIDDEN void arc_trust_clear(struct arc *a);
HIDDEN bool arc_vouched(const dkk_verifier *v, const struct arc_ask *q,
    struct dkk_override *out);
/* dkk_verify_opts.arc_forwarded: the chain passes; out names the latest
 * seal (who vouched for nothing) and carries the RFC 8617 7.2.1 comment. */
HIDDEN bool arc_forwarded(const dkk_verifier *v, struct dkk_override *out);

#endif
