/*
 * policy.h: the signing policy (dkk_policy), OpenDKIM's way: which
 * messages to sign, for which domain, with which keys.  Built from an
 * opendkim.conf (conf.c) whose data sets (table.c: file:, refile:, csl:)
 * become a SigningTable, a KeyTable and host lists (hosts.c); decide.c
 * answers for one message and check.c looks the whole of it over.
 */
#ifndef DKK_POLICY_H
#define DKK_POLICY_H

#include <sys/socket.h>

#include "../mail/mail.h"

/* One line of a data set: a key, the rest of the line as its value, and
 * where it stands ("FILE:LINE", or "csl:N" for a csl: list). */
struct pentry {
	char *key;
	char *value;		/* NULL when the line had only a key */
	char *where;
	struct pentry *hnext;	/* the next exact entry in its bucket */
};

/* A data set.  Exact keys are hashed (lookups do not grow with the
 * table).  A refile: table's keys are patterns, answered in file order;
 * those without "*" (which cover only themselves) are hashed as exact
 * keys, those of the form "*@TEXT" (which cover what ends in "@TEXT")
 * by "@TEXT", and only the others are tried one by one. */
struct ptable {
	char *name;		/* as written: "refile:/etc/..." */
	bool patterns;		/* refile: */
	struct pentry *v;
	size_t n;
	struct pentry **bucket;
	struct pentry **sbucket;	/* refile: "*@TEXT" by "@TEXT" */
	size_t nbucket;
	size_t *pat;		/* refile: the other patterns, in order */
	size_t npat;
};

HIDDEN int ptable_load(dkk_ctx *ctx, struct ptable *t, const char *spec,
    const char *where, const char *field);
HIDDEN void ptable_clear(struct ptable *t);
HIDDEN const struct pentry *ptable_get(const struct ptable *t,
    const char *key);
HIDDEN const struct pentry *ptable_find(const struct ptable *t,
    const char *key);
HIDDEN bool glob_match(const char *pat, const char *s);

/* A host list (InternalHosts, ExternalIgnoreList): addresses, networks,
 * host names and ".domain" suffixes, each perhaps negated by "!". */
struct phost {
	bool neg;
	int family;		/* AF_INET, AF_INET6, or 0 for a name */
	unsigned char addr[16];
	unsigned bits;		/* prefix length */
	char *name;		/* lower case, ".domain" for a suffix */
	const char *where;
};

struct phosts {
	struct ptable src;
	struct phost *v;
	size_t n;
};

HIDDEN int phosts_load(dkk_ctx *ctx, struct phosts *h, const char *spec,
    const char *where, const char *field);
HIDDEN int phosts_default(struct phosts *h);
HIDDEN void phosts_clear(struct phosts *h);
/* The most specific entry matching the client, or NULL. */
HIDDEN const struct phost *phosts_match(const struct phosts *h,
    const char *ip, const char *host);

/* A setting's value and where it was read, for the errors it gives. */
struct psetting {
	char *value;
	char *where;		/* "FILE:LINE" */
};

enum pkey {
	PK_DOMAIN, PK_SELECTOR, PK_KEYFILE, PK_KEYTABLE, PK_SIGNINGTABLE,
	PK_INTERNALHOSTS, PK_EXTERNALIGNORE, PK_SUBDOMAINS, PK_MULTISIG,
	PK_CANON, PK_SIGNHEADERS, PK_OVERSIGN, PK_OMIT, PK_TTL, PK_MINBITS,
	PK_MODE, PK_REQPUB, PK_REQPUB_TTL, PK_COUNT
};

/* A key loaded for a signature, kept by path for the next message. */
struct pkey_loaded {
	struct pkey_loaded *next;
	char *path;
	dkk_key *key;
};

struct dkk_policy {
	dkk_ctx *ctx;
	struct psetting set[PK_COUNT];
	struct ptable domains;		/* Domain */
	struct ptable signing;		/* SigningTable */
	struct ptable keys;		/* KeyTable */
	struct phosts internal;
	struct phosts ignore;
	bool have_ignore;
	bool subdomains;
	bool multisig;
	bool sign_mode;			/* Mode has s */
	enum dkk_canon hcanon, bcanon;
	int64_t ttl;
	unsigned minbits;
	/* dkk_sign_opts' lists: From and SignHeaders less OmitHeaders;
	 * those but From signed only if present; OversignHeaders. */
	char *headers;
	char *if_present;
	char *oversign_headers;
	char **warn;
	size_t nwarn;
	struct pkey_loaded *loaded;
	bool require_published;		/* RequirePublishedKey */
	int64_t published_ttl;		/* PublishedKeyCacheTTL */
	struct pcheck *checks;		/* published.c's answers */
	size_t nchecks;
};

HIDDEN const char *pkey_name(enum pkey k);
HIDDEN int policy_conf_read(dkk_policy *p, const char *path);
HIDDEN int policy_warn(dkk_policy *p, const char *fmt, ...) PRINTF(2, 3);
HIDDEN char *percent_expand(const char *s, const char *domain);
HIDDEN int policy_key_load(dkk_policy *p, const char *path, dkk_key **keyp);

/* published.c: RequirePublishedKey. */
HIDDEN int policy_published(dkk_policy *p, struct dkk_decision *d,
    struct buf *why);
HIDDEN int policy_published_state(dkk_policy *p,
    const struct dkk_policy_sig *s, bool use_cache,
    enum dkk_record_state *st);
HIDDEN const char *policy_published_problem(enum dkk_record_state st);
HIDDEN void policy_published_clear(dkk_policy *p);

#endif /* DKK_POLICY_H */
