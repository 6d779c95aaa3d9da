/*
 * filter.h: filter-dkimkit, the OpenSMTPD filter process.  smtpd talks to
 * it over stdin/stdout with the filter protocol (0.6, 0.7 accepted); one
 * process serves every session, keeping per-session state keyed by the
 * session id.
 */
#ifndef FILTER_DKIMKIT_H
#define FILTER_DKIMKIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dkimkit.h"
#include "store.h"

#define FILTER_NAME	"filter-dkimkit"
#define FILTER_MAXKEYS	4		/* -k/-a pairs */
#define FILTER_MAXDOMS	64		/* -d */
/* Signatures one message gets: a -k each, or what the policy (-C) says
 * with MultipleSignatures; the rest are left out, logged. */
#define FILTER_MAXSIGS	16
/* The longest data line smtpd 6.8 takes back whole: it copies each filter
 * response into a 2048-octet buffer, and "filter-dataline|ID|TOKEN|"
 * takes 50 of them. */
#define FILTER_LINE_BACK	1997
/* The longest line the filter makes itself (RFC 5322 2.1.1). */
#define OUT_LINEMAX		998
/* The most header octets held for one field or header block, as the
 * core's DKK_LIMIT_HEADER_BYTES. */
#define FILTER_HOLDMAX		(4 * 1024 * 1024)
/* -M: header octets held for all sessions together, by default. */
#define FILTER_BUDGET		(32 * 1024 * 1024)

enum filter_mode {
	MODE_SIGN,
	MODE_VERIFY,
	MODE_SV,	/* -m sv: sign what the policy signs, verify the rest */
	MODE_SEAL	/* -m seal: verify, then add the next ARC set */
};

/* The signing policy of -C, shared by the messages that started with it:
 * a SIGHUP puts a new one in conf.policy, and the old one goes when its
 * last message ends. */
struct fpolicy {
	dkk_policy *p;
	unsigned refs;
};

/* -V: verify what was signed before it goes on (selfv.c). */
enum selfv_mode {
	SELFV_OFF,
	SELFV_LOG,	/* -V yes: a failure is logged, the message goes on */
	SELFV_DEFER	/* -V defer: and it is refused with 451 at commit */
};

struct filter_key {
	const char *path;		/* -k */
	const char *alg;		/* the -a after it, or NULL */
	const char *selector;		/* its -s (one -s: every key's) */
	dkk_key *key;
};

struct filter_conf {
	enum filter_mode mode;
	const char *domains[FILTER_MAXDOMS + 1];	/* NULL after the last */
	size_t ndomains;
	const char *selectors[FILTER_MAXKEYS];	/* -s */
	size_t nselectors;
	struct filter_key keys[FILTER_MAXKEYS];
	size_t nkeys;
	struct dkk_sign_opts opts;	/* -c and -h; key and d= per message */
	const char *keydir;		/* -K: active keys of the -d domains */
	dkk_keydir *kd;
	const char *authserv_id;	/* -i, else config|admd, else host */
	int adsp;			/* -A (-i, -A, -K and the key source are
					 * read by settings.h's vocabulary) */
	int reject;			/* -r */
	int tempfail;			/* -T */
	int enforce;			/* -E: act on DMARC dispositions */
	unsigned workers;		/* -j: worker threads (0: none) */
	int forwarded;			/* -F: the core's arc-forwarded
					 * (vopts.arc_forwarded); kept to
					 * require -E */
	struct dkk_verify_opts vopts;	/* -A, -p, -R, -x, -S, -e */
	const char *sealers;		/* -S: trusted ARC sealers */
	size_t budget;			/* -M */
	const char *policy_conf;	/* -C: an opendkim.conf */
	int canon_given;		/* -c or -h (which -C excludes) */
	struct fpolicy *policy;		/* read from it (NULL: no -C) */
	enum selfv_mode selfv;		/* -V */
	dkk_ctx *ctx;
	dkst *store;			/* -O, or NULL */
	int reports;			/* -G: send RFC 6651 reports */
	const char *report_dir;		/* -g: write them there instead */
	const char *report_state;	/* -L: rate limits kept in this file */
	const char *report_from;	/* -U: From: of the reports */
	const char *report_smtp;	/* -J: send them by SMTP there */
};

extern struct filter_conf conf;

/* A message held back: the data lines as received (dot-escaped), in
 * memory while small, then in an unlinked temporary file. */
struct spool {
	char *mem;
	size_t len;
	size_t cap;
	FILE *f;
};

enum session_state {
	ST_IDLE,	/* between messages */
	ST_HEADER,	/* in the header block */
	ST_BODY,	/* in the body */
	ST_WAIT,	/* "." seen; the verdict waits for DNS */
	ST_WORK		/* "." seen; a worker (-j) makes the signatures */
};

/* A line from smtpd for a session whose signatures a worker is making:
 * it waits, so that the session's lines are handled, and answered, in
 * the order they came. */
struct deferred {
	struct deferred *next;
	char line[];
};

struct session {
	uint64_t id;
	uint64_t token;			/* of the latest data-line request */
	struct session *next;		/* hash chain */
	enum session_state state;
	uint64_t seq;			/* the message's place in arrival order */
	int pass;			/* not processed: lines go straight out */
	int failed;			/* not processed: -T tempfails */
	int broken;			/* lines lost: always tempfail */
	int discard;			/* ADSP discard: -r rejects */
	int busy;			/* over -M: always tempfail */
	size_t toolong;			/* a line smtpd would cut: refused */
	struct spool spool;
	char *hdr;			/* sign: the header block so far;
					   verify: an A-R field held back */
	size_t hdrlen;
	size_t hdrcap;
	int ardrop;			/* verify: the field going by is dropped */
	int verify;			/* this message is verified, not signed */
	int pending;			/* -m sv: header held until From is known
					   (raw lines, dot-escaped) */
	struct fpolicy *pol;		/* -C: the policy of this message */
	struct dkk_decision dec;	/* its decision */
	int decided;			/* dec holds one */
	/* What smtpd reported of the connection (link-connect, link-auth,
	 * link-identify) and of the transaction (tx-mail): NULL when not
	 * known.  host only when its forward lookup confirmed it. */
	char *ip;
	char *host;
	char *user;			/* authenticated (result "pass") */
	char *helo;
	char *mailfrom;			/* accepted MAIL FROM address */
	char *rcptto;			/* the first accepted RCPT TO */
	char *msgid;			/* smtpd's message id (tx-mail) */
	size_t charged;			/* header octets counted against -M */
	dkk_signer *signers[FILTER_MAXSIGS];
	const dkk_key *polkeys[FILTER_MAXSIGS];	/* -C: their keys */
	size_t nsigners;
	char *sigdomain;		/* sign: d= of this message */
	char *sigsel;			/* sign -K: its active selector */
	dkk_verifier *verifier;
	/* -V: the signed message under verification (ST_WAIT), the fields
	 * that go on top of it meanwhile, and a failure to refuse. */
	dkk_verifier *selfv;
	char *selftop;
	int selfbad;
	/* DMARC (-p): the SPF check of the transaction, started when its
	 * facts are known (tx-mail), run in the background. */
	dkk_spf *spf;			/* under way, or NULL */
	int spfdone;			/* spff holds this transaction's */
	struct dkk_spf_facts spff;
	char *spfdomain;		/* spff.domain */
	/* The verifier was made before SPF was done: it runs (its key
	 * lookups too) and gets spff when SPF is (dkk_verifier_set_spf()). */
	int spflate;
	/* -E: what the commit does about the DMARC verdict. */
	int dmreject;			/* disposition reject: 550 */
	int dmtemp;			/* temperror: 451 */
	char *dmdomain;			/* the Author Domain, for the reply */
	/* ST_WORK: what smtpd sent for this session meanwhile. */
	struct deferred *defer;
	struct deferred **defertail;
	/* -G: the report plan while its lookups are out, whether this
	 * message's is done, and the rs= text for a reject at commit
	 * (kept past the message's end, as the DMARC verdict is). */
	dkk_reports *reports;
	int repdone;
	char *rstext;
};

/* log.c */
void	log_warnx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_session(const struct session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* proto.c */
void	proto_line(char *);
void	proto_lines(char *, size_t *, int *, size_t);
int	proto_ready(void);

/* out.c */
void	out_text(const char *);
void	out_dataline(const struct session *, const char *, size_t);
int	out_lines(const struct session *, const char *, size_t *);
void	out_result(uint64_t, uint64_t, const char *);
void	out_flush(void);

/* facts.c */
void	facts_report(struct session *, const char *, char *, const char *);
void	facts_clear_link(struct session *);
void	facts_clear_tx(struct session *);

/* policy.c */
void	policy_release(struct fpolicy *);
void	policy_begin(struct session *);
void	policy_end(struct session *);
int	policy_decide(struct session *);
void	policy_hold(struct session *, const char *, size_t);
void	policy_settle(struct session *);
char	*policy_take(struct session *, size_t *);
void	policy_replay(struct session *, char *, size_t);

/* session.c */
struct session	*session_find(uint64_t);
struct session	*session_get(uint64_t);
void		 session_drop(struct session *);
void		 session_drop_signers(struct session *);
void		 session_unhold(struct session *);
void		 session_reset(struct session *);
void		 session_free(uint64_t);
void		 session_foreach(void (*)(struct session *));
int		 session_charge(struct session *, size_t);
void		 session_uncharge(struct session *);
struct session	*session_youngest(struct session *);
int		 session_defer(struct session *, const char *);
void		 session_replay(uint64_t);
int		 session_hold(struct session *, const char *, size_t,
		    const char **);
size_t		 session_held_line(const char *, const char *, const char **);

/* spool.c */
int	spool_put(struct spool *, const char *, size_t);
int	spool_each(struct spool *, int (*)(void *, const char *, size_t),
	    void *);
int	spool_emit(struct spool *, const struct session *);
void	spool_clear(struct spool *);

/* message.c (with pool.c: the signatures made by -j's workers) */
void	message_line(struct session *, uint64_t, const char *, size_t);
void	message_commit(struct session *, uint64_t, uint64_t);
void	message_dns(void);
int	message_waiting(void);
void	message_put(struct session *, const char *, size_t);
void	message_finish(struct session *, char *);
void	message_fail(struct session *, const char *);
void	message_process(struct session *, const char *, size_t);

/* after.c */
int	after_changes(const struct session *, const char *, size_t);
void	after_unsign(struct session *);

/* arstrip.c */
void	arstrip_line(struct session *, const char *, size_t);
void	arstrip_end(struct session *);

/* main.c */
void	main_hup(void);
int	main_policy(struct fpolicy **, char *, size_t);

/* sign.c */
int	sign_line(struct session *, const char *, size_t, const char **);
int	sign_ready(struct session *);
int	sign_body(dkk_signer **, size_t, struct spool *);
int	sign_fields(dkk_signer **, size_t, char **);
void	sign_log(const struct session *);
int	sign_end(struct session *, char **);

/* dmarc.c */
void	dmarc_spf_start(struct session *);
int	dmarc_spf_poll(struct session *);
void	dmarc_spf_clear(struct session *);
int	dmarc_verifier(struct session *);
void	dmarc_verdict(struct session *, char **);
const char	*dmarc_commit(const struct session *, char *, size_t);
void	dmarc_commit_clear(struct session *);

/* selfv.c */
int	selfv_start(struct session *, const char *);
int	selfv_end(struct session *);
void	selfv_clear(struct session *);

/* report.c */
int	report_wait(struct session *);
void	report_clear(struct session *);
const char	*report_reply(const struct session *, const char *, char *,
	    size_t);
void	report_reap(void);

/* verify.c */
const char	*verify_authserv_id(void);
int	verify_line(struct session *, const char *, size_t, const char **);
int	verify_end(struct session *, char **);

#endif /* FILTER_DKIMKIT_H */
