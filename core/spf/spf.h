/*
 * spf.h: the SPF layer (RFC 7208), on the DNS layer (and domain names of
 * the mail layer): client addresses
 * (addr.c), records (record.c), macros (macro.c), the DNS answers one
 * check has gathered (answers.c), check_host() (eval.c) and the public
 * dkk_spf object (spf.c).
 *
 * The evaluation is a function of the answers gathered so far: it runs
 * from the start each time dkk_spf_final() is called, and where an answer
 * is missing it asks for it and stops with DKK_EAGAIN.  Each run is
 * bounded by the limits of RFC 7208 4.6.4, so the runs are too.
 */
#ifndef DKK_SPF_H
#define DKK_SPF_H

#include <sys/socket.h>

#include "mail/mail.h"
#include "dns/dns.h"

/* RFC 7208 4.6.4: DNS-querying terms, void lookups, and the names of one
 * MX or PTR answer whose addresses are looked up. */
#define SPF_MAX_LOOKUPS	10
#define SPF_MAX_VOIDS	2
#define SPF_MAX_ADDRS	10
/* RFC 7208 7.3: longest expanded domain name. */
#define SPF_MAX_DOMAIN	253

/* addr.c: an address, IPv4 as 4 octets. */
struct spf_ip {
	int af;			/* AF_INET or AF_INET6 */
	unsigned char b[16];
};

HIDDEN int spf_ip_parse(const char *s, size_t n, struct spf_ip *ip);
HIDDEN void spf_ip_unmap(struct spf_ip *ip);
HIDDEN bool spf_ip_match(const struct spf_ip *a, const struct spf_ip *b,
    unsigned bits);
HIDDEN int spf_ip_reverse(const struct spf_ip *ip, struct buf *out);
HIDDEN int spf_ip_dotted(const struct spf_ip *ip, struct buf *out);
HIDDEN int spf_ip_text(const struct spf_ip *ip, struct buf *out);

/* record.c: a record cut into terms (RFC 7208 4.6, 5, 6).  Pointers go
 * into the record's text, which must outlive the struct. */
enum spf_mech {
	SPF_ALL,
	SPF_INCLUDE,
	SPF_A,
	SPF_MX,
	SPF_PTR,
	SPF_IP4,
	SPF_IP6,
	SPF_EXISTS
};

struct spf_span {
	const char *p;		/* NULL: absent */
	size_t n;
};

struct spf_term {
	enum spf_mech mech;
	char qual;		/* '+', '-', '~' or '?' */
	struct spf_span spec;	/* domain-spec, unexpanded */
	struct spf_span text;	/* the term as written */
	struct spf_ip net;	/* ip4, ip6 */
	unsigned cidr4;		/* 32 when not given */
	unsigned cidr6;		/* 128 when not given */
};

/* Terms of a record kept in the struct itself: published records
 * rarely have more, and a check parses one per DNS-querying term. */
#define SPF_FEW_TERMS	16

/* terms may point into few: the struct is not to be copied. */
struct spf_record {
	struct spf_term *terms;
	size_t n;
	struct spf_span redirect;
	struct spf_span exp;
	struct spf_term few[SPF_FEW_TERMS];
};

HIDDEN bool spf_is_record(const char *txt, size_t len);
HIDDEN int spf_record_parse(const char *txt, size_t len,
    struct spf_record *rec, struct buf *why);
HIDDEN void spf_record_clear(struct spf_record *rec);

/* macro.c: RFC 7208 7.  A domain-spec's syntax (7.1, domain-end), and
 * expansions.  Expanding %{p} may need DNS: env->ptr_name then returns
 * DKK_EAGAIN, as does the expansion. */
struct spf_env {
	const char *sender;	/* local-part@domain */
	const char *local;
	const char *sender_domain;
	const char *domain;	/* %{d}, the current domain */
	const struct spf_ip *ip;
	const char *helo;
	const char *receiver;
	int64_t now;
	int (*ptr_name)(void *arg, const char **name);
	void *arg;
};

HIDDEN int spf_macro_check(const char *s, size_t n, bool exp_text,
    struct buf *why);
HIDDEN int spf_spec_check(const char *s, size_t n, bool exp_text,
    struct buf *why);
HIDDEN int spf_expand(const struct spf_env *env, const char *s, size_t n,
    bool exp_text, struct buf *out, struct buf *why);
HIDDEN int spf_expand_domain(const struct spf_env *env,
    const struct spf_span *spec, struct buf *out, struct buf *why);

/* answers.c: the DNS answers of one check, each asked for once. */
struct spf_answer {
	struct spf_answer *next;
	dkk_spf *owner;		/* NULL once the check is freed: then
				 * on the context's spf_orphans */
	enum dkk_dns_type type;
	bool done;
	enum dkk_dns_status status;
	size_t count;
	char **rr;		/* records as text; one block with len[]
				 * and the text */
	size_t *len;
	size_t nlen;		/* of name */
	char name[];		/* allocated with the struct */
};

HIDDEN int spf_answer_get(dkk_spf *spf, const char *name,
    enum dkk_dns_type type, const struct spf_answer **ap);
HIDDEN void spf_answers_free(dkk_spf *spf);
HIDDEN void spf_orphans_free(dkk_ctx *ctx, bool all);

/* The check (spf.c keeps it, eval.c runs it). */
struct dkk_spf {
	dkk_ctx *ctx;
	struct spf_ip ip;
	enum dkk_spf_scope scope;
	char *strings;		/* the five below, in one allocation */
	const char *sender;
	const char *local;
	const char *domain;
	const char *helo;
	const char *receiver;
	struct spf_answer *answers;
	size_t nanswers;
	bool done;
	enum dkk_spf_result result;
	char *explanation;
	char *reason;
};

/* eval.c: one run of check_host() over the answers at hand: DKK_OK with
 * the result set, DKK_EAGAIN, or DKK_ENOMEM. */
HIDDEN int spf_run(dkk_spf *spf);

#endif /* DKK_SPF_H */
