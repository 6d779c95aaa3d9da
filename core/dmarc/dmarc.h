/*
 * dmarc.h: DMARC, RFC 9989 (and RFC 7489 as an option): the policy
 * record (record.c), the names a DNS Tree Walk queries and what its
 * answers mean (walk.c), the Public Suffix List of RFC 7489 mode
 * (psl.c), and the evaluation inside a verifier (dmarc.c).  This layer
 * reads mail/ and dns/ and the verifier's DKIM results; nothing below
 * it includes this header (the verifier calls in as it calls ADSP).
 */
#ifndef DKK_DMARC_H
#define DKK_DMARC_H

#include "internal.h"

/* RFC 9989 4.10: a walk never makes more than eight queries. */
#define DMARC_WALK_MAX 8

/* fo= flags (RFC 9989 4.7). */
enum {
	DMARC_FO_0 = 1,
	DMARC_FO_1 = 2,
	DMARC_FO_D = 4,
	DMARC_FO_S = 8
};

/* One parsed policy record.  A policy is an enum dkk_dmarc_policy, or
 * -1 when its tag is absent. */
struct dmarc_rec {
	int p, sp, np;
	bool bad_policy;	/* p, sp or np present with a bad value */
	bool rua;		/* rua= holds a syntactically valid URI */
	bool ruf;
	const char *ruf_list;	/* ruf= value (into the DNS answer, which
				 * lives as long as the verifier), or NULL */
	size_t ruf_len;
	char psd;		/* 'y', 'n' or 'u' */
	bool testing;		/* t=y */
	bool adkim_strict;
	bool aspf_strict;
	unsigned fo;		/* DMARC_FO_* */
	int pct;		/* RFC 7489 mode: 0 to 100 */
	long ri;		/* RFC 7489 mode: seconds */
};

/* record.c: 1 when txt is a DMARC record (its first tag is v=DMARC1)
 * and *r holds its tags, 0 when it is not one (ignored, RFC 9989 4.7).
 * rfc7489 reads pct, ri and rf and not np, psd, t (those are unknown
 * tags to RFC 7489, and the others are historic in RFC 9989 9.3). */
HIDDEN int dmarc_record_parse(const char *txt, size_t len, bool rfc7489,
    struct dmarc_rec *r);

/* record.c: the record is usable for policy (RFC 9989 4.10.1): no bad
 * p/sp/np, or else a valid rua URI, and then every policy is none;
 * RFC 7489 6.6.3 step 6 also wants p itself.  false: no DMARC
 * processing for the message. */
HIDDEN bool dmarc_record_usable(struct dmarc_rec *r, bool rfc7489);

/* walk.c: the names a tree walk from domain queries, in order (RFC 9989
 * 4.10 steps 1, 3, 4 and 7), each a suffix of domain (pointers into
 * it).  Returns how many, at most DMARC_WALK_MAX. */
HIDDEN size_t dmarc_walk_names(const char *domain,
    const char *names[DMARC_WALK_MAX]);

/* walk.c: labels in a domain name ("a.b" has 2). */
HIDDEN size_t dmarc_labels(const char *domain);

/* What a walk found at names[i]: state 1 one DMARC record (rec), 0 none
 * (no answer, or TXT records that are not DMARC), 2 several DMARC
 * records (all dropped: none for the walk), -1 a DNS temporary
 * failure. */
struct dmarc_found {
	int state;
	struct dmarc_rec rec;
};

/* walk.c: the Organizational Domain by RFC 9989 4.10.2 from the n names
 * a walk queried and what each gave (stopped at a psd=y/n record or at
 * the end): a suffix of names[0] (a pointer into it). */
HIDDEN const char *dmarc_org_domain(const char *const *names,
    const struct dmarc_found *found, size_t n);

/* psl.c: the Public Suffix List (RFC 7489 3.2). */
struct psl;
HIDDEN int psl_load(const char *path, struct psl **out, struct buf *why);
HIDDEN void psl_free(struct psl *psl);
/* The Organizational Domain of domain (RFC 7489 3.2 steps 2 to 4): the
 * longest public suffix plus one label, or domain itself when it is a
 * public suffix.  A pointer into domain. */
HIDDEN const char *psl_org_domain(const struct psl *psl, const char *domain);

/* dest.c: report destinations (RFC 9989 4.7 rua/ruf; the external
 * destination verification of RFC 9990 and RFC 9991). */
struct dmarc_uri {
	char addr[256];
	char domain[256];
	uint64_t max_bytes;	/* 0: no limit */
};

/* One URI of rua=/ruf=: "mailto:local@domain[!size[kmgt]]".  0, or -1
 * with why. */
HIDDEN int dmarc_uri_parse(const char *uri, size_t n, struct dmarc_uri *out,
    const char **why);
/* The TXT name that authorises dest_domain to receive policy_domain's
 * reports.  0, or -1 when too long. */
HIDDEN int dmarc_dest_qname(const char *policy_domain,
    const char *dest_domain, char *out, size_t outlen);
/* Does this TXT answer set authorise it (a record beginning with
 * "v=DMARC1")? */
HIDDEN bool dmarc_dest_accepts(const char *const *txt, size_t n);
/* Is dest_domain outside policy_domain's organizational domain, so that
 * verification is needed? */
HIDDEN bool dmarc_dest_external(const char *policy_domain,
    const char *dest_domain);

/* dmarc.c, for the failure reports (core/report/ruf.c): the i-th Author
 * Domain's record (the one that gave its policy) and Organizational
 * Domain, when DMARC passed or failed for it; false otherwise. */
struct dmarc_author_facts {
	struct dkk_dmarc_result res;
	struct dmarc_rec rec;
	const char *org;	/* NULL: the walk did not go that far */
};
HIDDEN bool dmarc_author_facts(const dkk_verifier *v, size_t i,
    struct dmarc_author_facts *out);

#endif
