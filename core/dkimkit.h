/*
 * dkimkit.h: DKIM signing and verification (RFC 6376, RFC 8463, RFC 8301),
 * Author Domain Signing Practices (RFC 5617), SPF (RFC 7208), DMARC
 * (RFC 9989, and RFC 7489 as an option), ARC (RFC 8617) and
 * Authentication-Results (RFC 8601).  This is the only public header of
 * libdkimkit.
 *
 * Walkthrough
 *
 *	dkk_ctx *ctx;
 *	dkk_verifier *v;
 *
 *	dkk_ctx_new(&ctx);			// once per process
 *	dkk_ctx_use_zone(ctx, "keys.zone");	// or dkk_ctx_use_dns()
 *
 *	dkk_verifier_new(ctx, NULL, &v);	// once per message
 *	while ((n = read(fd, buf, sizeof(buf))) > 0)
 *		dkk_verifier_update(v, buf, n);	// raw bytes, CRLF or LF
 *	dkk_verifier_wait(v);			// or _final() in an event loop
 *	for (i = 0; i < dkk_verifier_count(v); i++)
 *		use(dkk_verifier_result(v, i));
 *	dkk_verifier_free(v);
 *
 * Signing is the same shape: load the private key once with
 * dkk_ctx_load_key(), then per message dkk_signer_new(), _update(),
 * _final() which hands back the DKIM-Signature field to prepend.
 *
 * Conventions
 *
 * - Every function that can fail returns an int: DKK_OK (0) or a negative
 *   enum dkk_err.  Verdicts are never returned as errors: they are read from
 *   the result structs.
 * - Objects are opaque, made with _new and released with _free; _free(NULL)
 *   does nothing.  Strings handed back with "free with free()" are owned by
 *   the caller; every other pointer stays owned by the object it came from.
 * - A dkk_ctx is configured first and then shared by messages.  It is not
 *   thread-safe: use one context per thread, or serialise calls on it.
 *   Verifiers and signers of one context must be used from the thread that
 *   owns the context, until dkk_signer_move() hands a signer to another
 *   thread's context.  The library keeps no global state (but a counter
 *   the unit tests use to fail allocations): the key cache, the resolver
 *   and the error sentence are the context's.
 * - The library prints nothing and never aborts; it reads files only when
 *   told to (zone files, key files) and talks to DNS only through the
 *   resolver given to the context.
 */
#ifndef DKIMKIT_H
#define DKIMKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DKK_EXPORT __attribute__((visibility("default")))
#define DKK_WUR __attribute__((warn_unused_result))
#else
#define DKK_EXPORT
#define DKK_WUR
#endif

/* Operational errors.  Verdicts about messages are in enum dkk_verdict. */
enum dkk_err {
	DKK_OK = 0,
	DKK_ENOMEM = -1,	/* out of memory */
	DKK_EINVAL = -2,	/* invalid argument */
	DKK_EIO = -3,		/* a file could not be read or written */
	DKK_ESYNTAX = -4,	/* a zone file, setting or message to sign
				 * is malformed */
	DKK_EKEY = -5,		/* a private key cannot be used */
	DKK_ELIMIT = -6,	/* input exceeds a configured limit */
	DKK_ESTATE = -7,	/* call out of order (e.g. update after final) */
	DKK_EAGAIN = -8,	/* results wait for DNS answers */
	DKK_EDNS = -9,		/* the resolver could not be set up */
	DKK_ECRYPTO = -10,	/* the crypto library failed */
	DKK_ENOTSUP = -11,	/* feature not built in */
	DKK_ENODOMAIN = -12	/* no signing domain covers the author */
};

/* A static English sentence for an enum dkk_err value. */
DKK_EXPORT const char *dkk_strerror(int err);

/* Verdicts in RFC 8601 words (section 2.7.1). */
enum dkk_verdict {
	DKK_NONE = 0,		/* message not signed */
	DKK_PASS,
	DKK_FAIL,		/* the cryptography said no */
	DKK_NEUTRAL,
	DKK_POLICY,		/* valid, but refused by local policy (RFC 8301) */
	DKK_PERMERROR,		/* cannot be evaluated: syntax, key, expiry */
	DKK_TEMPERROR		/* DNS trouble: try again later */
};

/* "none", "pass", "fail", ...; NULL for an unknown value. */
DKK_EXPORT const char *dkk_verdict_name(enum dkk_verdict verdict);

/* Why a signature got its verdict.  Stable codes for programs. */
enum dkk_reason {
	DKK_R_OK = 0,		/* verified */
	DKK_R_SYNTAX,		/* tag list malformed */
	DKK_R_DUP_TAG,		/* a tag appears twice */
	DKK_R_VERSION,		/* v= is not 1 */
	DKK_R_MISSING_TAG,	/* a required tag is absent */
	DKK_R_BAD_TAG,		/* a tag value is malformed */
	DKK_R_ALGORITHM,	/* a= unknown */
	DKK_R_CANON,		/* c= unknown */
	DKK_R_QUERY,		/* q= has no dns/txt */
	DKK_R_FROM_UNSIGNED,	/* h= lacks From */
	DKK_R_IDENTITY,		/* i= not within d= */
	DKK_R_TIMESTAMPS,	/* x= not after t= */
	DKK_R_FUTURE,		/* t= in the future */
	DKK_R_EXPIRED,		/* x= in the past */
	DKK_R_BODY_LENGTH,	/* l= larger than the body */
	DKK_R_WEAK_HASH,	/* rsa-sha1 refused (RFC 8301) */
	DKK_R_KEY_SIZE,		/* RSA key outside the accepted sizes */
	DKK_R_TOO_MANY,		/* over the per-message signature limit */
	DKK_R_KEY_NXDOMAIN,	/* no key record at the selector */
	DKK_R_KEY_DNS,		/* DNS failed temporarily */
	DKK_R_KEY_BOGUS,	/* DNSSEC validation failed */
	DKK_R_KEY_SYNTAX,	/* key record malformed or not a DKIM key */
	DKK_R_KEY_REVOKED,	/* p= empty */
	DKK_R_KEY_TYPE,		/* k= does not match a= */
	DKK_R_KEY_HASH,		/* key h= excludes the hash */
	DKK_R_KEY_SERVICE,	/* key s= excludes email */
	DKK_R_KEY_STRICT,	/* key t=s and i= domain is not d= */
	DKK_R_KEY_DATA,		/* p= does not decode to a key */
	DKK_R_BODY_HASH,	/* body hash mismatch */
	DKK_R_SIGNATURE,	/* signature does not verify */
	DKK_R_INTERNAL,		/* out of memory or library failure */
	DKK_R_LIMIT		/* header block over a limit: not evaluated */
};

/* A short stable token ("body_hash_mismatch") for a reason code. */
DKK_EXPORT const char *dkk_reason_name(enum dkk_reason reason);

/* DNSSEC state of the key record a result used. */
enum dkk_dnssec {
	DKK_DNSSEC_UNKNOWN = 0,	/* not validated (no trust anchor, no lookup) */
	DKK_DNSSEC_SECURE,
	DKK_DNSSEC_INSECURE,
	DKK_DNSSEC_BOGUS
};

/* "unknown", "secure", "insecure", "bogus". */
DKK_EXPORT const char *dkk_dnssec_name(enum dkk_dnssec state);

/* ADSP results, RFC 5617 section 5.4. */
enum dkk_adsp {
	DKK_ADSP_NONE = 0,
	DKK_ADSP_PASS,
	DKK_ADSP_UNKNOWN,
	DKK_ADSP_FAIL,
	DKK_ADSP_DISCARD,
	DKK_ADSP_NXDOMAIN,
	DKK_ADSP_TEMPERROR,
	DKK_ADSP_PERMERROR
};

/* "none", "pass", "unknown", "fail", "discard", "nxdomain", ... */
DKK_EXPORT const char *dkk_adsp_name(enum dkk_adsp result);

/* ------------------------------------------------------------------ */
/* Context: configuration, key source and key cache.                  */

typedef struct dkk_ctx dkk_ctx;

/* Make a context with the defaults: RFC 8301 policy on, 300 s clock skew,
 * the limits below, the system clock, and no key source (every lookup is a
 * temperror until dkk_ctx_use_zone(), dkk_ctx_use_dns() or
 * dkk_ctx_set_resolver() is called).  Free with dkk_ctx_free(). */
DKK_EXPORT int dkk_ctx_new(dkk_ctx **ctxp) DKK_WUR;

/* Free the context, its keys and its resolver.  Every verifier and signer
 * made from it must be freed first. */
DKK_EXPORT void dkk_ctx_free(dkk_ctx *ctx);

/* A sentence about the last failure of a context call (names the file,
 * line or value at fault, or at least says what the error code means);
 * never empty after a failed call that configures or loads through the
 * context (dkk_ctx_set_limit, _use_zone, _use_dns, _set_pin_file,
 * _load_key, dkk_key_generate, dkk_keydir_new, _active,
 * dkk_record_check, dkk_signer_new, dkk_policy_new, _decide,
 * _sign_opts, _check); "" when the last one succeeded.
 * Owned by the context, valid until the next call on it. */
DKK_EXPORT const char *dkk_ctx_error(const dkk_ctx *ctx);

/* Accept rsa-sha1 and RSA keys of 512 to 1023 bits (turns RFC 8301 off). */
DKK_EXPORT int dkk_ctx_set_allow_weak(dkk_ctx *ctx, int on);

/* The clock for t= and x=: returns seconds since the epoch.  NULL restores
 * the system clock. */
typedef int64_t (*dkk_clock_fn)(void *arg);
DKK_EXPORT int dkk_ctx_set_clock(dkk_ctx *ctx, dkk_clock_fn fn, void *arg);

/* Seconds of tolerance for t= in the future and x= in the past. */
DKK_EXPORT int dkk_ctx_set_skew(dkk_ctx *ctx, unsigned seconds);

/* Resource limits, each with a safe default; value 0 is DKK_EINVAL.
 * A header block over DKK_LIMIT_HEADER_BYTES or _FIELDS is a verdict for a
 * verifier (permerror, DKK_R_LIMIT: see dkk_verifier_reason()) and an
 * error for a signer (dkk_signer_update() returns DKK_ELIMIT); either way
 * what is kept stays bounded.
 * Signatures past the signature limit get the verdict policy
 * (DKK_R_TOO_MANY) without being evaluated.  A signature field over the
 * SIG_ limits is permerror (DKK_R_SYNTAX, or DKK_R_BAD_TAG for h=), a key
 * record answer over DKK_LIMIT_DNS_BYTES is permerror (DKK_R_KEY_SYNTAX),
 * an RSA key over DKK_LIMIT_RSA_BITS is policy (DKK_R_KEY_SIZE); the
 * detail names the limit.  Body bytes after l= are read but not hashed. */
enum dkk_limit {
	DKK_LIMIT_HEADER_BYTES,		/* header block size, default 4 MiB */
	DKK_LIMIT_HEADER_FIELDS,	/* header fields, default 20000 */
	DKK_LIMIT_SIGNATURES,		/* signatures evaluated, default 16 */
	DKK_LIMIT_RSA_BITS,		/* largest RSA key, default 8192
					 * (1024 to 16384) */
	DKK_LIMIT_CACHE_ENTRIES,	/* DNS answers kept, default 10000 */
	DKK_LIMIT_CACHE_TTL,		/* seconds an answer is kept at most,
					 * default 3600 (negative: 300) */
	DKK_LIMIT_SIG_BYTES,		/* one DKIM-Signature field, default
					 * 64 KiB */
	DKK_LIMIT_SIG_TAGS,		/* tags in a signature's tag list,
					 * default 64 (at most 256) */
	DKK_LIMIT_H_NAMES,		/* names in a signature's h=,
					 * default 512 */
	DKK_LIMIT_DNS_BYTES		/* TXT bytes in one key record answer,
					 * all records together, default 8192 */
};
DKK_EXPORT int dkk_ctx_set_limit(dkk_ctx *ctx, enum dkk_limit which,
    size_t value);

/* ------------------------------------------------------------------ */
/* Key sources.                                                       */

/* Status of one DNS answer. */
enum dkk_dns_status {
	DKK_DNS_OK = 0,		/* records in txt[] (possibly none: NODATA) */
	DKK_DNS_NXDOMAIN,	/* the name does not exist */
	DKK_DNS_TEMPFAIL	/* SERVFAIL, timeout, network trouble */
};

/* One answer: the TXT records at a name, each record's strings joined with
 * nothing between them (RFC 6376 3.6.2.2).  Read-only for the callback,
 * valid only during it. */
struct dkk_dns_answer {
	enum dkk_dns_status status;
	enum dkk_dnssec dnssec;
	uint32_t ttl;
	size_t count;
	const char *const *txt;
	const size_t *len;
};

typedef void (*dkk_dns_cb)(void *cbarg, const struct dkk_dns_answer *ans);

/* A resolver.  query_txt starts a TXT lookup and calls cb exactly once with
 * the answer, either before it returns (synchronous sources) or later from
 * process or wait; it returns DKK_OK, or a negative error without calling
 * cb.  wait blocks until at least one pending answer has been delivered.
 * fd is a descriptor that becomes readable when process has work, or -1.
 * release frees arg when the context is freed.  timeout gives the
 * milliseconds until process must run to expire a lookup, or -1.  Only
 * query_txt is required. */
struct dkk_resolver {
	int (*query_txt)(void *arg, const char *name, dkk_dns_cb cb,
	    void *cbarg);
	int (*wait)(void *arg);
	int (*fd)(void *arg);
	int (*process)(void *arg);
	void (*release)(void *arg);
	int (*timeout)(void *arg);
};

/* Use a custom resolver; ops is copied, arg is handed to every call and to
 * ops->release when the context is freed or another source is chosen.
 * It answers TXT only until dkk_ctx_set_resolver_query() is called. */
DKK_EXPORT int dkk_ctx_set_resolver(dkk_ctx *ctx,
    const struct dkk_resolver *ops, void *arg);

/* Record types besides TXT that SPF asks for (RFC 1035 3.2.2, RFC 3596),
 * with their RR type numbers. */
enum dkk_dns_type {
	DKK_DNS_A = 1,
	DKK_DNS_PTR = 12,
	DKK_DNS_MX = 15,
	DKK_DNS_TXT = 16,
	DKK_DNS_AAAA = 28
};

/* A typed lookup, with the contract of query_txt.  The answer's txt[]
 * holds each record in presentation form, names without the final dot:
 * A "192.0.2.1", AAAA "2001:db8::1", MX "10 mx.example.com", PTR
 * "host.example.com", TXT as for query_txt.  Like a recursive resolver it
 * follows CNAME records and answers with the records of the last name. */
typedef int (*dkk_dns_query_fn)(void *arg, const char *name,
    enum dkk_dns_type type, dkk_dns_cb cb, void *cbarg);

/* Give the custom resolver set last by dkk_ctx_set_resolver() a typed
 * lookup (called with that resolver's arg); without one, every lookup of
 * another type than TXT is a temporary failure.  Kept out of struct
 * dkk_resolver so that programs built against its first form still work.
 * dkk_ctx_use_zone() and dkk_ctx_use_dns() have their own. */
DKK_EXPORT int dkk_ctx_set_resolver_query(dkk_ctx *ctx,
    dkk_dns_query_fn query);

/* Serve lookups from an RFC 1035 master file ($ORIGIN, $TTL, parentheses,
 * quoted strings; TXT, A, AAAA, MX, PTR and CNAME records are answered,
 * other types only mark names as existing).
 * Names absent from it are NXDOMAIN.  DKK_EIO or DKK_ESYNTAX with the file
 * and line in dkk_ctx_error(). */
DKK_EXPORT int dkk_ctx_use_zone(dkk_ctx *ctx, const char *path);

/* Look keys up in DNS with libunbound.  server NULL: the system's
 * resolver configuration (/etc/resolv.conf, /etc/hosts); "ADDR[@PORT]":
 * forward every query to that recursive resolver.  trust_anchor: a file of
 * DS or DNSKEY records for the root or a zone; with it every answer is
 * validated and carries secure, insecure or bogus.  timeout_ms bounds each
 * lookup (0: 5000).  DKK_EDNS with the reason in dkk_ctx_error(). */
DKK_EXPORT int dkk_ctx_use_dns(dkk_ctx *ctx, const char *server,
    const char *trust_anchor, unsigned timeout_ms);

/* Block until at least one outstanding DNS answer has been handled. */
DKK_EXPORT int dkk_ctx_wait(dkk_ctx *ctx);

/* The resolver's descriptor for poll(), or -1 when it has none. */
DKK_EXPORT int dkk_ctx_fd(dkk_ctx *ctx);

/* Handle DNS answers that have arrived, without blocking. */
DKK_EXPORT int dkk_ctx_process(dkk_ctx *ctx);

/* Milliseconds until dkk_ctx_process() must be called even if dkk_ctx_fd()
 * stays quiet (the earliest lookup deadline; 0: now), or -1 when no lookup
 * is in flight or the resolver keeps no deadlines.  An event loop polls
 * with this as its timeout. */
DKK_EXPORT int dkk_ctx_timeout(dkk_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Verifying.                                                         */

typedef struct dkk_verifier dkk_verifier;

/* One DKIM-Signature field's outcome.  Strings are NUL-terminated, NULL
 * when the tag was absent or unparsable, and live as long as the verifier. */
/* Canonicalization algorithms (RFC 6376 3.4). */
enum dkk_canon { DKK_CANON_SIMPLE = 0, DKK_CANON_RELAXED };

struct dkk_sig_result {
	enum dkk_verdict verdict;
	enum dkk_reason reason;
	const char *detail;	/* a sentence, e.g. "body hash mismatch" */
	const char *domain;	/* d= */
	const char *selector;	/* s= */
	const char *identity;	/* i=, decoded; "@" d= when absent */
	const char *algorithm;	/* a= as written */
	const char *b;		/* b= without whitespace */
	enum dkk_dnssec dnssec;	/* of the key record used */
	unsigned key_bits;	/* RSA modulus bits, 256 for Ed25519, 0 */
	int key_testing;	/* the key record has t=y */
	int64_t timestamp;	/* t=, or -1 */
	int64_t expiration;	/* x=, or -1 */
	int64_t body_length;	/* l=, or -1 */
	/* c= (the header's, the body's); simple/simple when absent or
	 * when the field could not be parsed that far. */
	enum dkk_canon header_canon;
	enum dkk_canon body_canon;
};

/* check_host() results, RFC 7208 section 2.6. */
enum dkk_spf_result {
	DKK_SPF_NONE = 0,	/* no record, or no domain to check */
	DKK_SPF_NEUTRAL,	/* the domain says nothing ("?", no match) */
	DKK_SPF_PASS,
	DKK_SPF_FAIL,		/* the client is not authorized */
	DKK_SPF_SOFTFAIL,	/* probably not authorized ("~") */
	DKK_SPF_TEMPERROR,	/* DNS trouble: try again later */
	DKK_SPF_PERMERROR	/* the records cannot be interpreted */
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror",
 * "permerror"; NULL for an unknown value. */
DKK_EXPORT const char *dkk_spf_result_name(enum dkk_spf_result result);

/* The identity checked (RFC 7208 2.3, 2.4). */
enum dkk_spf_scope {
	DKK_SPF_MAILFROM = 0,
	DKK_SPF_HELO
};

/* "mailfrom", "helo". */
DKK_EXPORT const char *dkk_spf_scope_name(enum dkk_spf_scope scope);

/* An SPF result the host already has (from dkk_spf_*, or read from a
 * trusted Authentication-Results field) for DMARC to align with.
 * Zeroed: none. */
struct dkk_spf_facts {
	enum dkk_spf_result result;
	enum dkk_spf_scope scope;	/* only a mailfrom pass aligns
					 * (RFC 9989 4.4.2) */
	const char *domain;	/* the domain checked (or an address: its
				 * domain counts); copied */
};

/* What one verifier does besides DKIM: per-message choices, so that the
 * context stays as it was configured while messages flow.  Zero the
 * struct, then set what is wanted; NULL means all off. */
struct dkk_verify_opts {
	int adsp;		/* evaluate ADSP (RFC 5617) too */
	int dmarc;		/* evaluate DMARC (RFC 9989) too: its
				 * lookups start when the header block ends,
				 * on the context's resolver; the result is
				 * known when _final() says DKK_OK
				 * (dkk_verifier_dmarc()) */
	int rfc7489;		/* with dmarc: as RFC 7489 does it (the
				 * Public Suffix List, pct=, no np=/psd=/t=);
				 * the list is dkk_ctx_use_psl()'s, else the
				 * system's, loaded by dkk_verifier_new() */
	struct dkk_spf_facts spf;	/* SPF for DMARC and the A-R field */
	int explain;		/* classify failures: dkk_verifier_explain() */
	int arc;		/* validate the ARC chain (RFC 8617) too */
	const char *arc_remote_ip;	/* smtp.remote-ip of the arc A-R
					 * entry, or NULL (copied) */
	/* With arc: the sealers (the d= of their ARC-Seals, compared
	 * without regard to case, subdomains not included) whose word
	 * is taken for forwarded mail, NULL-terminated; copied.  When
	 * DMARC fails, the chain passes and the ARC-Authentication-
	 * Results of an instance sealed by one of them (the latest such
	 * instance that does) recorded dmarc=pass for the Author Domain
	 * (header.from) or a dkim=pass aligned with it (header.d the
	 * Author Domain, or with adkim=r within the Organizational
	 * Domain that holds the policy record), the disposition becomes
	 * none: a local policy override (dkk_dmarc_result.overridden).
	 * ADSP fail or discard is overridden the same way by a recorded
	 * dkim=pass with header.d the Author Domain or dkim-adsp=pass
	 * with header.from the Author Domain
	 * (dkk_verifier_adsp_override()).  The DKIM, DMARC, ADSP and
	 * ARC results themselves never change.  An ARC-Authentication-
	 * Results field that does not parse to its end counts for
	 * nothing. */
	const char *const *trusted_sealers;
	/* Authorized Third-Party Signatures (RFC 6541): a passing signature
	 * whose d= is not an Author Domain and whose atps= names one is
	 * looked up at <label>._atps.<that Author Domain> (lookups start
	 * when the header block ends): dkk_verifier_atps(), dkim-atps in
	 * the A-R field. */
	int atps;
	/* Kept for compatibility, and ignored: with atps and adsp a
	 * signature ATPS authorizes always counts as an Author Domain
	 * Signature of that author for ADSP (RFC 6541 6: a verifier doing
	 * both "MUST test ATPS first"). */
	int atps_adsp;
	/* The SPF result is not known yet: it comes later, through
	 * dkk_verifier_set_spf(), while the key lookups and the body go
	 * on (spf above is then ignored).  Until it has come,
	 * dkk_verifier_final() says DKK_EAGAIN and DMARC is not
	 * decided. */
	int spf_later;
	/* With arc and dmarc: forwarded mail is quarantined rather than
	 * rejected.  When DMARC fails with disposition reject, the ARC
	 * chain passes and no trusted sealer vouched (that override wins
	 * and gives none), the disposition becomes quarantine: a local
	 * policy override (dkk_dmarc_result.override_forwarded), as RFC
	 * 9989's policy enforcement considerations ask receivers not to
	 * reject on p=reject alone because of the indirect flows of RFC
	 * 7960 (lists and forwarders that change the body).  Anyone can
	 * add an ARC set, so a sealed forgery buys quarantine, never none.
	 * ADSP has no analogue: its fail and discard have no milder step
	 * to lower to (RFC 5617 5.4), and dkk_verifier_adsp_override()
	 * stays the trusted sealers' alone. */
	int arc_forwarded;
};

/* A verifier for one message.  Free with dkk_verifier_free(). */
DKK_EXPORT int dkk_verifier_new(dkk_ctx *ctx,
    const struct dkk_verify_opts *opts, dkk_verifier **vp) DKK_WUR;
DKK_EXPORT void dkk_verifier_free(dkk_verifier *v);

/* Feed the next len bytes of the raw message (header, blank line, body), in
 * chunks of any size.  Lines may end in CRLF or bare LF.  Key lookups start
 * as soon as the header block is complete. */
DKK_EXPORT int dkk_verifier_update(dkk_verifier *v, const void *data,
    size_t len) DKK_WUR;

/* End of message.  DKK_OK when every result is known; DKK_EAGAIN while DNS
 * answers are outstanding (poll dkk_ctx_fd(), call dkk_ctx_process(), then
 * call dkk_verifier_final() again).  Never blocks. */
DKK_EXPORT int dkk_verifier_final(dkk_verifier *v) DKK_WUR;

/* dkk_verifier_final(), blocking on the resolver until results are known.
 * DKK_ESTATE when all that is missing is the SPF result of
 * dkk_verify_opts.spf_later (no DNS answer can bring it). */
DKK_EXPORT int dkk_verifier_wait(dkk_verifier *v) DKK_WUR;

/* The SPF result for DMARC and the A-R field, handed to a verifier that
 * is already running: so that a host can start the verifier (and its
 * key lookups) when the message begins, and SPF and DKIM run at once.
 * DMARC is decided only once both are in.  facts is copied (as
 * dkk_verify_opts.spf is); NULL gives none.  Any time until
 * dkk_verifier_final() has said DKK_OK (DKK_ESTATE after that); when
 * DMARC was decided without it (a header block over the limits is
 * permerror at once) the facts only reach the A-R field.  With
 * dkk_verify_opts.spf_later the verifier waits for it.  Then call
 * dkk_verifier_final() again. */
DKK_EXPORT int dkk_verifier_set_spf(dkk_verifier *v,
    const struct dkk_spf_facts *facts) DKK_WUR;

/* Number of DKIM-Signature fields, top first, including unparsable ones. */
DKK_EXPORT size_t dkk_verifier_count(const dkk_verifier *v);

/* The i-th result (0 = topmost field), NULL if out of range or not final. */
DKK_EXPORT const struct dkk_sig_result *dkk_verifier_result(
    const dkk_verifier *v, size_t i);

/* The message verdict: pass if any signature passes, else the first
 * signature's verdict, else none; permerror for a header block over a
 * limit. */
DKK_EXPORT enum dkk_verdict dkk_verifier_verdict(const dkk_verifier *v);

/* Why the message as a whole was not evaluated: DKK_R_LIMIT when its
 * header block passed DKK_LIMIT_HEADER_BYTES or _FIELDS (no signature is
 * evaluated, the rest of the message is read and dropped, the verdict is
 * permerror and so is ADSP), else DKK_R_OK.  *detail (if detail is not
 * NULL) gets a sentence naming the limit, or "", valid as long as v. */
DKK_EXPORT enum dkk_reason dkk_verifier_reason(const dkk_verifier *v,
    const char **detail);

/* DMARC results (RFC 9989 9.2) and policies (4.7). */
enum dkk_dmarc {
	DKK_DMARC_NONE = 0,	/* no policy record for the Author Domain */
	DKK_DMARC_PASS,		/* an aligned identifier passed */
	DKK_DMARC_FAIL,		/* a record, and nothing aligned passed */
	DKK_DMARC_TEMPERROR,	/* DNS trouble: try again later */
	DKK_DMARC_PERMERROR	/* cannot be evaluated: From malformed or
				 * missing, a record with a bad policy */
};

enum dkk_dmarc_policy {
	DKK_DMARC_POLICY_NONE = 0,
	DKK_DMARC_QUARANTINE,
	DKK_DMARC_REJECT
};

/* "none", "pass", "fail", "temperror", "permerror"; NULL if unknown. */
DKK_EXPORT const char *dkk_dmarc_result_name(enum dkk_dmarc r);
/* "none", "quarantine", "reject"; NULL if unknown. */
DKK_EXPORT const char *dkk_dmarc_policy_name(enum dkk_dmarc_policy p);

/* The DMARC outcome of a message.  With several Author Domains (several
 * addresses or From fields) each is evaluated and the worst counts
 * (RFC 9989 11.5): a fail (the strictest disposition first), then
 * temperror, permerror, none, pass.  Strings live as long as the
 * verifier; domain and policy_domain may be NULL. */
struct dkk_dmarc_result {
	enum dkk_dmarc result;
	const char *domain;		/* the Author Domain (From) */
	const char *policy_domain;	/* where the record was found */
	enum dkk_dmarc_policy policy;	/* p=, sp= or np= that applies */
	enum dkk_dmarc_policy disposition;	/* what to do: the policy on
					 * fail, one level less with t=y
					 * (or outside pct= in RFC 7489
					 * mode), none otherwise */
	int dkim_aligned;	/* a passing DKIM signature aligned */
	int spf_aligned;	/* the SPF mailfrom pass aligned */
	int testing;		/* the record has t=y */
	const char *reason;	/* a sentence saying why */
	/* Local policy override (dkk_verify_opts.trusted_sealers): 1
	 * when a trusted sealer vouched for a failing message whose
	 * disposition was not none; disposition is then none, result
	 * and policy stay what DMARC said.  Also 1 with
	 * override_forwarded (dkk_verify_opts.arc_forwarded). */
	int overridden;
	const char *override_sealer;	/* the sealer's domain, or NULL */
	unsigned override_instance;	/* the ARC instance it sealed */
	const char *override_reason;	/* "local_policy" (the policy
					 * override reason type of the
					 * aggregate report, RFC 7489
					 * appendix C, RFC 9990), or
					 * NULL; "forwarded" for
					 * override_forwarded in RFC 7489
					 * mode (RFC 9990 dropped it) */
	const char *override_comment;	/* its comment as RFC 8617 7.2.1
					 * suggests: "arc=pass as[2].d=...
					 * as[2].s=... ...", or NULL */
	/* 1 when the override is arc_forwarded's: a reject lowered to
	 * quarantine for a passing chain no trusted sealer vouched for;
	 * override_sealer and override_instance are then the latest
	 * seal's d= and instance, who vouched for nothing. */
	int override_forwarded;
	/* The policy record that applied, as published (for the
	 * policy_published element of an aggregate report, RFC 9990):
	 * p=, sp=, np= (-1 when the tag is absent), adkim= and aspf=
	 * ('r' or 's'), psd= ('y', 'n' or 'u'), and how it was found:
	 * "treewalk" (RFC 9989 4.10) or "psl" (RFC 7489 mode).  The
	 * pub_ fields mean nothing when discovery is NULL: no record
	 * applied. */
	int pub_p, pub_sp, pub_np;
	char pub_adkim, pub_aspf, pub_psd;
	const char *discovery;
};

/* The DMARC outcome (with dkk_verify_opts.dmarc), once final.  DKK_EINVAL
 * when DMARC is off or the verifier is not final. */
DKK_EXPORT int dkk_verifier_dmarc(const dkk_verifier *v,
    struct dkk_dmarc_result *out);

/* Whether a report may go to a destination of rua= or ruf=. */
enum dkk_dest_state {
	DKK_DEST_OK = 0,	/* inside the policy domain, or authorised */
	DKK_DEST_REFUSED,	/* outside, and no record authorises it
				 * (RFC 9990): never send */
	DKK_DEST_TEMPERROR,	/* the verification lookup failed: try
				 * again later */
	DKK_DEST_BAD		/* the URI does not parse (RFC 9989 4.7) */
};

/* One destination of a DMARC record's rua= or ruf=. */
struct dkk_report_dest {
	char addr[256];		/* the mailto: address, %-decoded */
	char domain[256];	/* its domain, lower case */
	uint64_t max_bytes;	/* the URI's !size limit; 0: none */
	enum dkk_dest_state state;
	const char *why;	/* a static sentence */
};

/* The report destinations (rua=, or ruf= when ruf is 1) of the DMARC
 * record at _dmarc.<policy_domain> as it is now, in the record's order,
 * each outside the policy domain verified at <policy_domain>._report.
 * _dmarc.<its domain> (RFC 9990; "outside" is judged without DNS: a
 * destination that is not the policy domain or below it is verified).
 * Blocks on the context's resolver: for report senders, not for
 * verifiers.  *found: 1 a single DMARC record, 0 none (or several), -1
 * the lookup failed temporarily.  out gets at most max (*n of them).
 * DKK_OK, or an error of the resolver. */
DKK_EXPORT int dkk_dmarc_dests(dkk_ctx *ctx, const char *policy_domain,
    int ruf, struct dkk_report_dest *out, size_t max, size_t *n,
    int *found);

/* The Public Suffix List for RFC 7489 mode (dkk_verify_opts.rfc7489);
 * path NULL: the system's (/usr/share/publicsuffix/
 * public_suffix_list.dat).  DKK_EIO or DKK_ESYNTAX with the file in
 * dkk_ctx_error(). */
DKK_EXPORT int dkk_ctx_use_psl(dkk_ctx *ctx, const char *path);

/* The ADSP result (with dkk_verify_opts.adsp) and the Author Domain that
 * gave it (NULL when From has no author address). */
DKK_EXPORT enum dkk_adsp dkk_verifier_adsp(const dkk_verifier *v,
    const char **author_domain);

/* A local policy override of an ADSP fail or discard by a trusted ARC
 * sealer (dkk_verify_opts.trusted_sealers); the fields mean what the
 * override_ fields of struct dkk_dmarc_result do.  Zeroed when there is
 * none. */
struct dkk_override {
	int overridden;
	const char *sealer;
	unsigned instance;
	const char *reason;
	const char *comment;
};

/* After dkk_verifier_final() with ADSP on: *o says whether the ADSP
 * result (fail or discard, for every Author Domain that has it) is
 * overridden.  The ADSP result itself stays; a host that acts on fail
 * or discard acts on neither when o->overridden is 1.  Strings live as
 * long as v.  DKK_EINVAL when ADSP is off or v is not final. */
DKK_EXPORT int dkk_verifier_adsp_override(const dkk_verifier *v,
    struct dkk_override *o) DKK_WUR;

/* ATPS results: the result names RFC 6541 registers for dkim-atps. */
enum dkk_atps {
	DKK_ATPS_NONE = 0,	/* not evaluated: ATPS off, no atps=, d= is
				 * an Author Domain, atps= names none, or
				 * the signature did not pass */
	DKK_ATPS_PASS,		/* the Author Domain publishes an ATPS
				 * record for d= */
	DKK_ATPS_FAIL,		/* it publishes none (NXDOMAIN, no record,
				 * or none valid for d=) */
	DKK_ATPS_TEMPERROR,	/* DNS trouble, or DNSSEC bogus */
	DKK_ATPS_PERMERROR	/* atps= names the author but atpsh= is
				 * missing or unknown */
};

/* "none", "pass", "fail", "temperror", "permerror"; NULL if unknown. */
DKK_EXPORT const char *dkk_atps_result_name(enum dkk_atps r);

/* The i-th signature's ATPS result (dkk_verify_opts.atps), once final;
 * none when ATPS is off, before final or for i out of range.  *author
 * (if author is not NULL) gets the Author Domain atps= names when d= is
 * not an Author Domain (the author whose record counts), else NULL;
 * *detail (if not NULL) a sentence ("v=ATPS1 record at NAME"), or "".
 * Strings live as long as v. */
DKK_EXPORT enum dkk_atps dkk_verifier_atps(const dkk_verifier *v, size_t i,
    const char **author, const char **detail);

/* The name an author domain publishes its ATPS record at for a signing
 * domain (RFC 6541): "<label>._atps.<author>", the label being the
 * signer in lower case (hash "none") or the base32 (RFC 4648, without
 * padding, in its upper-case alphabet as RFC 6541's example has it) of
 * the SHA-1 or SHA-256 digest of the signer in lower case ("sha1",
 * "sha256").  DKK_EINVAL for another hash or a name that is not a
 * domain.  Free *name with free(). */
DKK_EXPORT int dkk_atps_query(const char *signer, const char *author,
    const char *hash, char **name) DKK_WUR;

/* Why a signature failed (dkk_verify_opts.explain): the class of the
 * change a message went through after it was signed, found by trying
 * repairs and checking the signature again.  The verdict never changes. */
enum dkk_class {
	DKK_C_NONE = 0,		/* passed, or explain was off */
	DKK_C_BODY_APPENDED,	/* the signed body is a prefix of this one, or
				 * is this one less lines inserted before its
				 * closing MIME boundary (a list's footer) */
	DKK_C_BODY_CHANGED,	/* any other body change */
	DKK_C_SUBJECT_TAGGED,	/* passes with a list tag taken off Subject */
	DKK_C_HEADER_ADDED,	/* a signed field has more instances now */
	DKK_C_HEADER_CHANGED,	/* a signed field was changed or refolded */
	DKK_C_HEADER_UNKNOWN,	/* header hash fails, no repair explains it */
	DKK_C_KEY,		/* key record missing, malformed or unusable */
	DKK_C_DNS,		/* key lookup failed for now, or DNSSEC bogus */
	DKK_C_TIME,		/* x= passed, or t= in the future */
	DKK_C_ALGORITHM,	/* refused by RFC 8301 (rsa-sha1, small key) */
	DKK_C_SYNTAX,		/* the DKIM-Signature field is malformed */
	DKK_C_LIMIT,		/* not evaluated: over a limit */
	DKK_C_INTERNAL		/* out of memory */
};

/* "none", "body-appended", "body-changed", "subject-tagged",
 * "header-added", "header-changed", "header-unknown", "key", "dns",
 * "time", "algorithm", "syntax", "limit", "internal"; NULL if unknown. */
DKK_EXPORT const char *dkk_class_name(enum dkk_class c);

/* The class of the i-th signature's failure, after the verifier is final
 * (DKK_C_NONE when it passed, explain was off, or i is out of range).
 * *field (if field is not NULL) gets the header field concerned, or NULL;
 * *detail (if not NULL) a sentence with the figures, e.g. "212 octets in
 * 5 lines were appended after the signed body", or "".  Strings live as
 * long as v. */
DKK_EXPORT enum dkk_class dkk_verifier_explain(const dkk_verifier *v,
    size_t i, const char **field, const char **detail);
/* ARC chain validation (RFC 8617 5.2), with dkk_verify_opts.arc. */
enum dkk_arc {
	DKK_ARC_NONE = 0,	/* no ARC set, or ARC not asked for */
	DKK_ARC_PASS,
	DKK_ARC_FAIL
};

/* "none", "pass", "fail"; NULL for an unknown value. */
DKK_EXPORT const char *dkk_arc_name(enum dkk_arc result);

/* The outcome of the chain.  instances: the number of ARC sets, that
 * is the highest instance (1 to 50) among the ARC fields; 0 when there
 * are none or none has a readable one.  oldest_pass (RFC 8617 5.2
 * step 6): 0 when every ARC-Message-Signature down to instance 1 still
 * verifies, else the
 * oldest instance whose AMS and all later ones verify (the failing
 * instance + 1); 0 as well when the chain does not pass.  It looks back
 * over at most DKK_LIMIT_SIGNATURES AMSs, the latest ones; an older one
 * counts as not verifying.
 * failed_instance: the instance at fault, 0 when none or when the fault
 * is not one instance's (fields that carry no readable i=).  reason: a
 * sentence, "" for pass and none.  Strings live as long as the
 * verifier. */
struct dkk_arc_result {
	enum dkk_arc result;
	unsigned instances;
	unsigned oldest_pass;
	unsigned failed_instance;
	const char *reason;
};

/* After dkk_verifier_final() returned DKK_OK; DKK_EINVAL before it or
 * when ARC was not asked for. */
DKK_EXPORT int dkk_verifier_arc(const dkk_verifier *v,
    struct dkk_arc_result *r) DKK_WUR;

/* One ARC set as the message carries it, for a host deciding whether to
 * trust what a sealer recorded (RFC 8617 7.2): the sealer (the d= and
 * s= of its ARC-Seal; NULL when the seal could not be read), its cv=
 * ("none", "pass", "fail", or NULL) and the value of its
 * ARC-Authentication-Results field (what follows the colon, as it stands
 * in the header: "i=N; authserv-id; ...", for dkk_ar_parse()).  Strings
 * live as long as the verifier. */
struct dkk_arc_set {
	unsigned instance;
	const char *seal_domain;
	const char *seal_selector;
	const char *cv;
	const char *aar;
	size_t aar_len;
};

/* Set `instance` (1 to dkk_arc_result.instances) after
 * dkk_verifier_final(); DKK_EINVAL when ARC was off, before final, or
 * when the message has no complete set of that instance (a chain that
 * failed on its form may have gaps). */
DKK_EXPORT int dkk_verifier_arc_set(const dkk_verifier *v, unsigned instance,
    struct dkk_arc_set *set) DKK_WUR;

/* Adding the next ARC set (RFC 8617 5.1) to a verified message. */
struct dkk_seal_opts {
	const struct dkk_key *key;	/* decides a=: rsa-sha256 or
					 * ed25519-sha256 */
	const char *domain;	/* d= of the AMS and the AS */
	const char *selector;	/* s= */
	const char *authserv_id;	/* of the ARC-Authentication-Results */
	const char *headers;	/* colon list for the AMS h=; NULL: the
				 * signer's default set and DKIM-Signature,
				 * as present */
	/* A relay that changes what it forwards (a list's footer or
	 * Subject tag) verifies the message as received and seals the
	 * message it sends: received is the final verifier (ARC on) of
	 * the message as it came in, with the same ARC sets; its
	 * verdicts make the ARC-Authentication-Results and its chain's
	 * result the cv=, while the ARC-Message-Signature signs this
	 * verifier's message.  NULL: this verifier's own.  DKK_EINVAL
	 * when it is not final, has ARC off, or has other ARC sets. */
	const struct dkk_verifier *received;
};

/* The three fields of the next ARC set, built from this verifier's
 * results (dkk_verify_opts.arc on, after dkk_verifier_final()):
 * "ARC-Seal: ...", "ARC-Message-Signature: ..." and
 * "ARC-Authentication-Results: i=N; <the A-R value>" in that order, one
 * after the other, to be placed above the header; line ends and folding
 * as flags say (0 or DKK_FIELD_LF), no final line end.  The seal's cv=
 * is the chain's result; with fail it covers only its own set (RFC 8617
 * 5.1.2).  *fields is NULL with DKK_OK when the RFC says to add nothing:
 * the latest seal already says cv=fail (5.1 step 2) or the chain has 50
 * sets (4.2.1).  DKK_ELIMIT when the header block was over a limit (it
 * was not kept: see dkk_verifier_reason()).  Free *fields with free(). */
DKK_EXPORT int dkk_verifier_seal(dkk_verifier *v,
    const struct dkk_seal_opts *opts, unsigned flags, char **fields)
    DKK_WUR;

/* The Author Domain of a message (RFC 5617 2.7): the domain of the single
 * address of its single From field, lower case.  header is the header
 * block (CRLF or LF line ends; it may run on into the body).  DKK_ESYNTAX
 * when there is no From field, several, or not exactly one address.
 * Free *domain with free(). */
DKK_EXPORT int dkk_author_domain(const char *header, size_t len,
    char **domain) DKK_WUR;

/* The author address of the same single From field, "local@domain" with
 * the domain in lower case (what a signing policy looks up).  Errors as
 * dkk_author_domain().  Free *address with free(). */
DKK_EXPORT int dkk_author_address(const char *header, size_t len,
    char **address) DKK_WUR;

/* How a header field the core writes is laid out (dkk_verifier_ar,
 * dkk_ar_unverified, dkk_signer_final).  0: folded at 78 columns with
 * CRLF + TAB, no line over 998 characters, name included, no final line
 * end. */
enum dkk_field_flags {
	DKK_FIELD_LF = 1,		/* fold with LF + TAB (Exim, smtpd) */
	DKK_FIELD_ONE_LINE = 2,		/* no folding (A-R only) */
	DKK_FIELD_VALUE_ONLY = 4	/* without "Name: " (A-R only) */
};

/* Render the Authentication-Results field for this message (RFC 8601):
 * "Authentication-Results: <authserv_id>; dkim=... ; dkim-adsp=...",
 * laid out as flags say (enum dkk_field_flags; folded, no line is longer
 * than 998 characters, RFC 5322 2.1.1).  Each evaluated signature has a
 * dkim entry; of the others (unparsable, past DKK_LIMIT_SIGNATURES) at
 * most DKK_LIMIT_SIGNATURES do, and a comment counts the rest.  A value
 * over 256 characters is left out (header.b is cut), and a comment says
 * so.  With ADSP on, one dkim-adsp entry per Author Domain (header.from),
 * and a dkim-adsp=permerror entry when From is missing or malformed.
 * With ARC on, one arc entry (RFC 8617 7.2): header.oldest-pass when it
 * passes, smtp.remote-ip when dkk_verify_opts.arc_remote_ip is set, the
 * reason as a comment when it fails.  A trusted sealer's override
 * (dkk_verify_opts.trusted_sealers) is the reason of the dmarc= and
 * dkim-adsp= entries it concerns, "local_policy: arc=pass, trusted
 * sealer D of instance N recorded a pass", and policy.dmarc is then
 * none (the disposition).  The arc_forwarded override is the reason of
 * the dmarc= entry, "local_policy: arc=pass, forwarded, latest sealer D
 * of instance N, no trusted sealer vouched: reject lowered to
 * quarantine" ("forwarded: ..." in RFC 7489 mode), and policy.dmarc is
 * then quarantine.
 * DKK_EINVAL for an authserv_id over 255 characters.  Free *out with
 * free(). */
DKK_EXPORT int dkk_verifier_ar(const dkk_verifier *v, const char *authserv_id,
    unsigned flags, char **out) DKK_WUR;

/* The Authentication-Results field for a message the host could not
 * verify (it could not hold it, ran out of memory, ...): "dkim=<verdict>"
 * with why as its reason (NULL for none), laid out and escaped as
 * dkk_verifier_ar() does.  Free *out with free(). */
DKK_EXPORT int dkk_ar_unverified(const char *authserv_id,
    enum dkk_verdict verdict, const char *why, unsigned flags, char **out)
    DKK_WUR;

/* Reading Authentication-Results fields (RFC 8601 2.2), for a host that
 * must drop fields claiming its authserv-id (RFC 8601 5) or read a
 * trusted upstream's results.  CR and LF count as folding white space
 * wherever they stand, as later readers fold them. */
struct dkk_ar_prop {
	char *ptype;		/* "header", "smtp", ... */
	char *property;		/* "d", "from", ... */
	char *value;		/* unquoted */
};

struct dkk_ar_result {
	char *method;		/* "dkim", "spf", ... */
	char *result;		/* "pass", ... */
	char *reason;		/* the reason= value, or NULL */
	struct dkk_ar_prop *props;
	size_t nprops;
};

typedef struct dkk_ar {
	char *authserv_id;	/* unquoted */
	int version;		/* authres-version, 0 when absent */
	struct dkk_ar_result *results;	/* none for "; none" */
	size_t nresults;
	int complete;		/* the whole value parsed; else the results
				 * read before the first error: each has its
				 * method and result, each property all three
				 * parts (one cut short is left out) */
	unsigned instance;	/* an ARC-Authentication-Results value's i=
				 * (RFC 8617 4.1.1), 1 to 50; 0 for an A-R */
} dkk_ar;

/* Parse a field's value (what follows "Authentication-Results:"), or
 * that of an ARC-Authentication-Results field ("i=N;" then the same).
 * DKK_ESYNTAX when not even the authserv-id can be read, or when an
 * i= is not an instance number of 1 to 50.  Free *out with
 * dkk_ar_free(). */
DKK_EXPORT int dkk_ar_parse(const char *value, size_t len, dkk_ar **out)
    DKK_WUR;

/* The SPF facts an Authentication-Results field records (RFC 8601
 * 2.7.2), for a host that cannot check SPF itself: its first spf entry
 * with a result; the identity smtp.mailfrom, else smtp.helo (facts->domain
 * points into ar, NULL without either); the result word read as RFC
 * 7208's ("hardfail", RFC 5451's name for fail, as fail).  *word (if not
 * NULL) gets the result as written, NULL without an spf entry.  1 when
 * the word is one of RFC 7208's results, else 0 and facts->result is
 * none: no SPF result for DMARC. */
DKK_EXPORT int dkk_ar_spf(const dkk_ar *ar, struct dkk_spf_facts *facts,
    const char **word);
DKK_EXPORT void dkk_ar_free(dkk_ar *ar);

/* 1 when the field value claims authserv_id (compared without regard to
 * case), 0 when it does not or names none, or a negative enum dkk_err. */
DKK_EXPORT int dkk_ar_claims(const char *value, size_t len,
    const char *authserv_id);

/* For a host that must take a result from the mail (at delivery, the
 * SMTP client is gone): of the Authentication-Results field values
 * values[0..n), topmost first, the first whose authserv-id is
 * authserv_id (compared without regard to case), parsed into *out (free
 * it with dkk_ar_free()), or *out NULL when none is.  Values that cannot
 * be parsed are passed over (RFC 8601 5: they cannot be known to be the
 * trusted MTA's; lower fields of the trusted id are never read).
 * DKK_OK, DKK_ENOMEM, or DKK_EINVAL for a NULL argument. */
DKK_EXPORT int dkk_ar_trusted(const char *const *values, size_t n,
    const char *authserv_id, dkk_ar **out) DKK_WUR;

/* ------------------------------------------------------------------ */
/* Signing.                                                           */

typedef struct dkk_key dkk_key;
typedef struct dkk_signer dkk_signer;

/* Load a private key: a PEM or DER file (PKCS#1 RSA, PKCS#8 RSA or
 * Ed25519), a file holding a base64 Ed25519 seed, or a "pkcs11:" URI
 * (RFC 7512) naming an RSA or Ed25519 key in a token.  A token's key never
 * leaves it: GnuTLS opens it (through the modules p11-kit knows of) and
 * every signature is made by the token.  The PIN comes from a pin-value or
 * pin-source attribute of the URI (a file: the PIN is its first line),
 * else from dkk_ctx_set_pin().  The key
 * is checked by a test signature.  It belongs to the context; free it with
 * dkk_key_free() or let dkk_ctx_free() do so.  A token's key must be
 * loaded again in a child process after fork(). */
DKK_EXPORT int dkk_ctx_load_key(dkk_ctx *ctx, const char *source,
    dkk_key **keyp) DKK_WUR;
DKK_EXPORT void dkk_key_free(dkk_key *key);

/* The PIN (user PIN) for "pkcs11:" keys loaded after this call; the string
 * is copied and wiped when replaced.  NULL forgets it.  Give it from a
 * file or the environment, never from a command line. */
DKK_EXPORT int dkk_ctx_set_pin(dkk_ctx *ctx, const char *pin);

/* dkk_ctx_set_pin() with the first line of a file (its line end
 * dropped).  DKK_EIO or DKK_ESYNTAX (empty first line), with the file in
 * dkk_ctx_error(). */
DKK_EXPORT int dkk_ctx_set_pin_file(dkk_ctx *ctx, const char *path);

/* "rsa" or "ed25519", and the key size in bits. */
DKK_EXPORT const char *dkk_key_type(const dkk_key *key);
DKK_EXPORT unsigned dkk_key_bits(const dkk_key *key);

/* The public key as the p= value of a DNS key record (base64 of the
 * SubjectPublicKeyInfo for RSA, of the raw 32 bytes for Ed25519).
 * Free with free(). */
DKK_EXPORT int dkk_key_public(const dkk_key *key, char **p64) DKK_WUR;

/* Generate a key pair: type "rsa" (bits 1024 to 8192) or "ed25519" (bits
 * ignored).  *pem is the private key to store (PKCS#1 PEM for RSA, PKCS#8
 * PEM for Ed25519), free with free(); *keyp is the loaded key, as from
 * dkk_ctx_load_key(). */
DKK_EXPORT int dkk_key_generate(dkk_ctx *ctx, const char *type,
    unsigned bits, char **pem, dkk_key **keyp) DKK_WUR;

/* Is the key published?  One fresh DNS lookup (the key cache is neither
 * read nor filled) of SELECTOR._domainkey.DOMAIN through the context's
 * key source, blocking until the answer is in. */
enum dkk_record_state {
	DKK_RECORD_MATCH = 0,	/* a key record that verifies this key's
				   rsa-sha256/ed25519-sha256 signatures */
	DKK_RECORD_MISSING,	/* no DKIM key record at the name */
	DKK_RECORD_DIFFERS,	/* a key record with another key, or one a
				   verifier would not use for it */
	DKK_RECORD_REVOKED,	/* a key record with an empty p= */
	DKK_RECORD_PRESENT,	/* a key record, not compared (key NULL) */
	DKK_RECORD_TEMPERROR	/* DNS trouble, or an answer that failed
				   DNSSEC validation (trust anchor set) */
};

/* With several records at the name the best one counts: match, present,
 * revoked, differs, missing in that order.  key may be NULL. */
DKK_EXPORT int dkk_record_check(dkk_ctx *ctx, const char *selector,
    const char *domain, const dkk_key *key, enum dkk_record_state *state)
    DKK_WUR;

/* "ok", "missing", "differs", "revoked", "published", "temperror". */
DKK_EXPORT const char *dkk_record_state_name(enum dkk_record_state state);

/* ------------------------------------------------------------------ */
/* Key directories (dkimkit-key(1)).                                  */
/*
 *	DIR/DOMAIN/active		the selector to sign with, one line
 *	DIR/DOMAIN/SELECTOR.key		its private key
 *
 * dkk_keydir_active() looks at the active file (one stat) on every call
 * and loads the key again only when the file has changed (a rename, as
 * `dkimkit key switch` does, always counts as a change) or after
 * dkk_keydir_reload().  Keys it has handed out stay loaded until
 * dkk_keydir_free(), so signers made with an older key stay valid. */

typedef struct dkk_keydir dkk_keydir;

/* A key directory whose keys are loaded into ctx (as by
 * dkk_ctx_load_key(), so a PIN set with dkk_ctx_set_pin() applies).  Free
 * with dkk_keydir_free(), before ctx and after the signers using its
 * keys. */
DKK_EXPORT int dkk_keydir_new(dkk_ctx *ctx, const char *dir,
    dkk_keydir **kdp) DKK_WUR;
DKK_EXPORT void dkk_keydir_free(dkk_keydir *kd);

/* The active key and selector of domain.  Both are owned by kd: *key
 * until dkk_keydir_free(), *selector until the next call for domain.
 * DKK_EIO (no active file), DKK_ESYNTAX (no selector in it) or a
 * dkk_ctx_load_key() error, with the file in dkk_ctx_error(); the key
 * handed out before stays valid. */
DKK_EXPORT int dkk_keydir_active(dkk_keydir *kd, const char *domain,
    const dkk_key **key, const char **selector) DKK_WUR;

/* Read every domain's active file again at its next use (e.g. on SIGHUP). */
DKK_EXPORT void dkk_keydir_reload(dkk_keydir *kd);

/* 1 when name can be a domain or selector in a key directory: a DNS name
 * of letters, digits, hyphens and underscores, so never a path. */
DKK_EXPORT int dkk_keydir_name_valid(const char *name);

/* "simple", "relaxed" or "HEADER/BODY" as in c= (RFC 6376 3.5): a lone
 * word is the header's and the body's is simple.  DKK_EINVAL for any
 * other text, leaving *header and *body alone. */
DKK_EXPORT int dkk_canon_parse(const char *s, enum dkk_canon *header,
    enum dkk_canon *body) DKK_WUR;

/* What to sign with.  Strings are copied by dkk_signer_new(). */
struct dkk_sign_opts {
	const dkk_key *key;	/* decides a=: rsa-sha256 or ed25519-sha256 */
	const char *domain;	/* d=; or NULL with domains */
	const char *selector;	/* s=, with key */
	const char *identity;	/* i=, within d=; NULL to leave it out */
	const char *headers;	/* colon list for h=; NULL: a default set */
	/* Choosing d= from the message: with domains (NULL-terminated) and
	 * no domain, d= is the longest candidate equal to the domain of
	 * every author address in From or a parent of each, chosen when
	 * the header block ends (dkk_signer_domain()); none (an author
	 * outside every candidate, a malformed From) gives DKK_ENODOMAIN
	 * at dkk_signer_final().  With keydir instead of key and selector,
	 * the chosen domain's active key signs. */
	const char *const *domains;
	dkk_keydir *keydir;
	/* Names of the header list listed only when the message has them
	 * (colon list): fields a later hop adds when absent, such as Date
	 * and Message-ID, which signed as absent would break the
	 * signature. */
	const char *if_present;
	enum dkk_canon header_canon;
	enum dkk_canon body_canon;
	int oversign;		/* list each name once more than it occurs */
	int body_length;	/* add l= */
	int64_t expire;		/* > 0: x= is t= + expire seconds */
	/* Per-field over-signing (colon list): each of these names is
	 * listed once more than the message has it (an absent one once),
	 * so that a copy added on the way breaks the signature (RFC 6376
	 * 8.15), whether or not headers names it.  With headers and
	 * if_present this gives each field one of three modes: sign (in
	 * headers: listed as often as present, absent ones once), sign
	 * only if present (in headers and if_present), oversign (here; a
	 * name also in if_present is oversigned).  From is always
	 * over-signed. */
	const char *oversign_headers;
	/* RFC 6541: atps= (the Author Domain this third-party signature
	 * is made for) and atpsh= ("none", "sha1" or "sha256"; NULL:
	 * "sha256"), placed after i=.  NULL: neither tag. */
	const char *atps;
	const char *atps_hash;
	/* RFC 6651 2: add r=y, asking verifiers for failure reports (as
	 * the signing domain's _report._domainkey record says). */
	int report_request;
};

/* A signer for one message.  Free with dkk_signer_free(). */
DKK_EXPORT int dkk_signer_new(dkk_ctx *ctx, const struct dkk_sign_opts *opts,
    dkk_signer **sp) DKK_WUR;
DKK_EXPORT void dkk_signer_free(dkk_signer *s);

/* Feed the message as for dkk_verifier_update().  DKK_ESYNTAX when the
 * header block begins with a folded line (its first line starts with a
 * space or tab), which the new field would take in. */
DKK_EXPORT int dkk_signer_update(dkk_signer *s, const void *data,
    size_t len) DKK_WUR;

/* The d= chosen (dkk_sign_opts.domains), or the one given; NULL before
 * the header block has ended, or when no candidate covers the author.
 * Valid as long as s. */
DKK_EXPORT const char *dkk_signer_domain(const dkk_signer *s);

/* The s= that will be used (the active one with a key directory), or
 * NULL as for dkk_signer_domain(). */
DKK_EXPORT const char *dkk_signer_selector(const dkk_signer *s);

/* End of message: *field is "DKIM-Signature: ..." folded as flags say
 * (0 or DKK_FIELD_LF; the others are DKK_EINVAL), without a final line
 * end, to be placed above the header.  Free *field with free(). */
DKK_EXPORT int dkk_signer_final(dkk_signer *s, unsigned flags,
    char **field) DKK_WUR;

/* Hand signer s over to context to, so that another thread can finish it
 * (dkk_signer_final()) through a context of its own while the thread of
 * the first context goes on with other messages.  One thread at a time
 * uses a signer; the one that moves it must not touch it until it is
 * handed back.  Neither context is touched: call it from the thread that
 * holds s.  What the two threads still share is only read while signing:
 * the private key (which must outlive s, as always) and the options given
 * to dkk_signer_new().  Contexts differ in clock and limits: give to the
 * same ones.  DKK_ESTATE when the key is held in a PKCS#11 token (its
 * session belongs to the context that loaded it) or is not chosen yet
 * (the header block has not ended: dkk_signer_domain() is NULL); the
 * signer then stays where it was.  DKK_EINVAL for a NULL argument. */
DKK_EXPORT int dkk_signer_move(dkk_signer *s, dkk_ctx *to) DKK_WUR;

/* ------------------------------------------------------------------ */
/* SPF (RFC 7208): may this client send mail for this domain?          */

typedef struct dkk_spf dkk_spf;

/* enum dkk_spf_result and enum dkk_spf_scope are above, with
 * struct dkk_spf_facts. */

/* What to check.  client_ip (IPv4 or IPv6 text; an IPv4-mapped IPv6
 * address counts as IPv4) is required.  mail_from is the SMTP MAIL FROM
 * address, with or without angle brackets; "" is the null reverse path,
 * checked as postmaster@helo (RFC 7208 2.4).  mail_from NULL checks the
 * HELO identity (2.3), which needs helo.  receiver is %{r} in
 * explanations (default "unknown"). */
struct dkk_spf_query {
	const char *client_ip;
	const char *helo;
	const char *mail_from;
	const char *receiver;
};

/* A check of one identity; lookups go through the context's resolver
 * (typed lookups: dkk_ctx_set_resolver_query()) and start with the first
 * dkk_spf_final().  DKK_EINVAL for an unreadable client_ip, or with
 * neither mail_from nor helo.  Free with dkk_spf_free(). */
DKK_EXPORT int dkk_spf_new(dkk_ctx *ctx, const struct dkk_spf_query *q,
    dkk_spf **spfp) DKK_WUR;
DKK_EXPORT void dkk_spf_free(dkk_spf *spf);

/* Evaluate as far as the answers at hand allow.  DKK_OK when the result
 * is known; DKK_EAGAIN while DNS answers are outstanding (poll
 * dkk_ctx_fd(), call dkk_ctx_process(), then call dkk_spf_final() again).
 * Never blocks. */
DKK_EXPORT int dkk_spf_final(dkk_spf *spf) DKK_WUR;

/* dkk_spf_final(), blocking on the resolver until the result is known. */
DKK_EXPORT int dkk_spf_wait(dkk_spf *spf) DKK_WUR;

/* After DKK_OK from _final or _wait (before it: none, NULL).  Strings
 * live as long as spf. */
DKK_EXPORT enum dkk_spf_result dkk_spf_result(const dkk_spf *spf);
DKK_EXPORT enum dkk_spf_scope dkk_spf_scope(const dkk_spf *spf);
/* The domain checked: that of MAIL FROM, or the HELO name. */
DKK_EXPORT const char *dkk_spf_domain(const dkk_spf *spf);
/* A fail's explanation from the domain's exp= (RFC 7208 6.2), or NULL. */
DKK_EXPORT const char *dkk_spf_explanation(const dkk_spf *spf);
/* A sentence saying why ("192.0.2.1 matched ip4:192.0.2.0/24 in
 * example.com"), never NULL once known. */
DKK_EXPORT const char *dkk_spf_reason(const dkk_spf *spf);
/* Signing policy: OpenDKIM's opendkim.conf, KeyTable, SigningTable.   */
/*
 * Which messages to sign, for which domain, with which keys, decided as
 * OpenDKIM 2.11 decides: the author's address has a SigningTable line
 * (or its domain is in Domain) AND the client authenticated or is in
 * InternalHosts.  Read from opendkim.conf: Domain, Selector, KeyFile,
 * KeyTable, SigningTable, InternalHosts, ExternalIgnoreList, SubDomains,
 * MultipleSignatures, Canonicalization, SignHeaders, OversignHeaders,
 * OmitHeaders, SignatureTTL, MinimumKeyBits, Mode; data sets as file:,
 * refile: (patterns, tried in file order), csl: or a plain path.  Other
 * settings become warnings (dkk_policy_warning), never silence.  Two are
 * dkimkit's own: RequirePublishedKey (a key whose record is missing,
 * revoked or holds another key is left out of a decision, looked up
 * through the context's key source, blocking) and PublishedKeyCacheTTL
 * (seconds those answers are kept, default 300). */

typedef struct dkk_policy dkk_policy;

/* Read the configuration and the tables it names (keys are loaded only
 * when a signature needs them: dkk_policy_sign_opts).  DKK_EIO,
 * DKK_ESYNTAX or DKK_ENOTSUP with "FILE:LINE: Name: reason" in
 * dkk_ctx_error().  Free with dkk_policy_free(), before ctx. */
DKK_EXPORT int dkk_policy_new(dkk_ctx *ctx, const char *opendkim_conf,
    dkk_policy **pp) DKK_WUR;
DKK_EXPORT void dkk_policy_free(dkk_policy *p);

/* The warnings read: "FILE:LINE: Name: what was not used, and why".
 * Owned by p. */
DKK_EXPORT size_t dkk_policy_warnings(const dkk_policy *p);
DKK_EXPORT const char *dkk_policy_warning(const dkk_policy *p, size_t i);

/* What is known of one message. */
struct dkk_policy_client {
	const char *from;	/* the author address, "user@domain" */
	const char *ip;		/* the client's address; NULL or "" (a
				 * local submission) is 127.0.0.1, as
				 * OpenDKIM takes it */
	const char *host;	/* its host name, or NULL */
	const char *auth;	/* the authenticated user, or NULL/"" */
};

/* One signature to make.  "FILE:LINE" of the table lines that gave it
 * (for the single KeyFile: the Domain line and the KeyFile setting). */
struct dkk_policy_sig {
	char *domain;		/* d= */
	char *selector;		/* s= */
	char *identity;		/* i=, or NULL */
	char *algorithm;	/* "rsa-sha256" or "ed25519-sha256" */
	char *keyfile;		/* the private key's path */
	char *signing_line;
	char *key_line;
	char *problem;		/* in dkk_decision.unused: why not used */
};

struct dkk_decision {
	int sign;		/* 1: make every signature in sigs */
	char *reason;		/* a sentence: why, or why not */
	struct dkk_policy_sig *sigs;	/* the keys found, even when sign
					 * is 0 (for "why not?") */
	size_t nsigs;
	/* With RequirePublishedKey: the keys found but left out, each with
	 * its problem (no record, another key, revoked); the reason names
	 * them too. */
	struct dkk_policy_sig *unused;
	size_t nunused;
};

/* Decide for one message; free what *d holds with dkk_decision_clear().
 * With RequirePublishedKey the keys left out are in d->unused, not in
 * d->sigs, and with none left sign is 0.
 * A SigningTable line naming no KeyTable line is DKK_ESYNTAX with the
 * line in dkk_ctx_error(), as OpenDKIM fails the message. */
DKK_EXPORT int dkk_policy_decide(dkk_policy *p,
    const struct dkk_policy_client *c, struct dkk_decision *d) DKK_WUR;
DKK_EXPORT void dkk_decision_clear(struct dkk_decision *d);

/* The signer options for one signature of a decision: its key loaded
 * (once per path, kept by p), checked against the algorithm and
 * MinimumKeyBits (DKK_EKEY), and the policy's Canonicalization,
 * SignatureTTL and header fields: headers, if_present and
 * oversign_headers from SignHeaders, OmitHeaders and OversignHeaders as
 * libopendkim applies them (dkimkit(1), POLICY).  The strings point into
 * s and p. */
DKK_EXPORT int dkk_policy_sign_opts(dkk_policy *p,
    const struct dkk_policy_sig *s, struct dkk_sign_opts *o) DKK_WUR;

/* Look the whole configuration over: fn gets each problem as
 * "FILE:LINE: Name: reason" (a SigningTable line naming no KeyTable
 * line, a key file that cannot be read or that group or others can, a
 * table line that can never match).  The number of problems, or a
 * negative enum dkk_err. */
typedef void (*dkk_policy_problem_fn)(void *arg, const char *problem);
DKK_EXPORT int dkk_policy_check(dkk_policy *p, dkk_policy_problem_fn fn,
    void *arg);

/* Ask DNS, through the context's key source (blocking, one lookup a
 * key, no cache), for the record of each KeyTable key (and of the
 * single KeyFile for each Domain): fn gets "FILE:LINE: KeyTable: KEYFILE:
 * SELECTOR._domainkey.DOMAIN: reason" for a record that is missing,
 * holds another key, is revoked or cannot be looked up, and a key file
 * that cannot be loaded.  Lines with "%" are skipped (known only per
 * message).  The number of problems, or a negative enum dkk_err. */
DKK_EXPORT int dkk_policy_check_records(dkk_policy *p,
    dkk_policy_problem_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Failure reports: RFC 6651 (requests, on top of RFC 6376 and RFC    */
/* 5617), RFC 5965 and RFC 6591 (the report), RFC 6590 (redaction).   */
/*
 *	dkk_reports *r;
 *	dkk_reports_new(v, &opts, &r);	// v final; starts the lookups
 *	dkk_reports_wait(r);		// or _final() in an event loop
 *	for (i = 0; i < dkk_reports_count(r); i++) {
 *		req = dkk_reports_get(r, i);
 *		if (!req->sampled_out)
 *			dkk_report_build(r, i, &info, &msg);	// deliver msg
 *	}
 *	dkk_reports_free(r);
 *
 * The core decides and writes; delivering (sendmail, SMTP, a directory),
 * rate limits and suppression are the host's (see dkimkit(1)). */

/* The tags of a _report._domainkey record (RFC 6651 3.1), or the
 * reporting tags of an ADSP record (section 4).  rr is a set of bits,
 * one per token letter: DKK_RR('d'); "all" sets every bit. */
#define DKK_RR(c) (1u << ((c) - 'a'))
#define DKK_RR_ALL 0xffffffffu
struct dkk_report_record {
	char *ra;		/* local part, decoded; NULL when absent (no
				 * report is then requested) */
	unsigned rp;		/* percentage 0 to 100, default 100 */
	unsigned rr;		/* default: all */
	char *rs;		/* text for an SMTP reply, decoded, or NULL */
};

/* Parse one record (its TXT strings joined).  adsp: the record is an
 * ADSP record (RFC 5617; its dkim= tag is left to ADSP) and only the
 * tokens o, p, s and u count.  DKK_ESYNTAX for a record that is not a
 * tag list, an rp= that is not a number of 0 to 100, an rr= element
 * that is not a token, an ra= that is not a local part; a token this
 * version does not know is left out (RFC 6651 3.1 lets the list grow).
 * DKK_ENOMEM without memory.  Free what *out holds with
 * dkk_report_record_clear(). */
DKK_EXPORT int dkk_report_record_parse(const char *txt, size_t len,
    int adsp, struct dkk_report_record *out) DKK_WUR;
DKK_EXPORT void dkk_report_record_clear(struct dkk_report_record *rec);

/* The rr= token ('d', 'o', 'p', 's', 'v' or 'x') a failing signature's
 * reason falls under (the table in core/report/record.c says why for
 * each), or 0 when none does: a pass, and dkimkit's own trouble (no
 * memory, a local limit), are never reported. */
DKK_EXPORT char dkk_report_token(enum dkk_reason reason);

/* RFC 6651 3.3 sampling: 1 when a draw of 0 to 99 falls below rp (so
 * rp=0 never reports and rp=100 always does). */
DKK_EXPORT int dkk_report_sampled(unsigned rp, unsigned draw);

/* A random number source; the default reads getrandom(2). */
typedef uint32_t (*dkk_random_fn)(void *arg);

struct dkk_report_opts {
	int adsp;		/* ADSP reports too (RFC 6651 4): the
				 * verifier must have ADSP on */
	size_t max;		/* reports per message, 0: 4 */
	dkk_random_fn random;	/* NULL: getrandom(2) */
	void *random_arg;
	/* DMARC failure reports (RFC 9991) are planned whenever the
	 * verifier evaluated DMARC (dkk_verify_opts.dmarc) and a policy
	 * record asks with ruf= and fo=; 1 leaves them out. */
	int no_dmarc;
};

/* What a report is about. */
enum dkk_report_kind {
	DKK_REPORT_DKIM = 0,	/* a DKIM signature (RFC 6651 3) */
	DKK_REPORT_ADSP,	/* an ADSP fail or discard (RFC 6651 4) */
	DKK_REPORT_DMARC	/* a DMARC failure report (RFC 9991) */
};

/* "dkim", "adsp", "dmarc"; NULL if unknown. */
DKK_EXPORT const char *dkk_report_kind_name(enum dkk_report_kind kind);

/* One report a domain asked for.  Strings live as long as the plan. */
struct dkk_report_req {
	const char *to;		/* ra@domain, the only address used */
	const char *domain;	/* d=, or the Author Domain for ADSP */
	char token;		/* the rr= token that asked */
	int adsp;		/* an ADSP report (sig is SIZE_MAX) */
	size_t sig;		/* the signature's index in the verifier */
	int sampled_out;	/* rp= said not this time: send nothing */
	const char *rs;		/* rs= text, or NULL (always NULL when
				 * sampled out: RFC 6651 3.3 step 7 ends
				 * before step 10) */
	/* Added with DMARC failure reports.  For DKK_REPORT_DMARC:
	 * domain is the Author Domain, token the fo= option that asked
	 * ('0', '1', 'd' or 's'), sig the signature the DKIM-* fields
	 * describe (SIZE_MAX: none), to the ruf= address (verified when
	 * outside the policy domain), max_bytes its "!size" cap (0:
	 * none; a larger report must not be sent). */
	enum dkk_report_kind kind;
	uint64_t max_bytes;
};

typedef struct dkk_reports dkk_reports;

/* Plan the reports of a final verifier: every signature that did not
 * pass and carries r=y, the first of each d= (one report per domain
 * and message), then ADSP fail or discard (opts->adsp), then DMARC
 * failure reports (RFC 9991: each Author Domain whose policy record
 * has ruf= and whose fo= asks, one per ruf= mailto address, never from
 * a record with psd=y, an address outside the policy domain only when
 * <policy-domain>._report._dmarc.<its domain> says v=DMARC1), up to
 * opts->max;
 * their records' lookups start here on the context's resolver.  A
 * message that is itself a feedback report (multipart/report;
 * report-type=feedback-report) gets none, so reports never loop.  The
 * verifier must outlive the plan and is never changed.  Free with
 * dkk_reports_free(). */
DKK_EXPORT int dkk_reports_new(dkk_verifier *v,
    const struct dkk_report_opts *opts, dkk_reports **rp) DKK_WUR;
DKK_EXPORT void dkk_reports_free(dkk_reports *r);

/* DKK_OK when every record is in and the requests are known, DKK_EAGAIN
 * while lookups are outstanding (as dkk_verifier_final()). */
DKK_EXPORT int dkk_reports_final(dkk_reports *r) DKK_WUR;
DKK_EXPORT int dkk_reports_wait(dkk_reports *r) DKK_WUR;

/* The requests once final: failures whose record (found, single, well
 * formed, with ra=) asks for their token.  A failed lookup, several
 * records or a bad one give none. */
DKK_EXPORT size_t dkk_reports_count(const dkk_reports *r);
DKK_EXPORT const struct dkk_report_req *dkk_reports_get(
    const dkk_reports *r, size_t i);

/* RFC 6651 3.3 step 10: the decoded rs= text an SMTP server SHOULD put
 * in its reply to DATA, or NULL.  The first rs= of a failure whose
 * record asked for it (its rr= token matched and rp= drew it in) or
 * whose record has no ra= (then no report, but rr= and rp= are ignored
 * and rs= still applies); never one of a sampled-out request.  Valid
 * while the plan lives. */
DKK_EXPORT const char *dkk_reports_smtp_text(const dkk_reports *r);

/* What the report says beyond the verifier's results.  from, to come
 * from the host; NULL fields are left out. */
struct dkk_report_info {
	const char *from;		/* From: of the report (required) */
	const char *authserv_id;	/* of its Authentication-Results
					 * (required) */
	const char *reporting_mta;	/* Reporting-MTA: dns; NAME */
	const char *source_ip;		/* Source-IP */
	const char *mail_from;		/* Original-Mail-From */
	const char *const *rcpt_to;	/* Original-Rcpt-To, NULL-ended */
	int64_t arrival;		/* Arrival-Date, -1: the clock's */
	/* The original message as received (header and body), for the
	 * canonicalized body; NULL: the header only (no body field).  A
	 * canonical body over 1 MiB is left out, not cut. */
	const char *message;
	size_t message_len;
	/* RFC 6590 redaction: with a key, every local part of an address
	 * in the report's copy of the header and the Original-* fields
	 * becomes a keyed hash (HMAC-SHA256, the same token for the same
	 * address), and the canonicalized fields are left out. */
	const uint8_t *redact_key;
	size_t redact_key_len;
	/* Sign the report with this key (DKIM, the signer's defaults). */
	const dkk_key *key;
	const char *sign_domain;
	const char *sign_selector;
};

/* The i-th request's report: an RFC 5965 multipart/report message
 * (Feedback-Type: auth-failure, RFC 6591), CRLF line ends, To: the
 * request's address.  Free *msg with free().  DKK_EINVAL for a request
 * that was sampled out or a bad info. */
DKK_EXPORT int dkk_report_build(const dkk_reports *r, size_t i,
    const struct dkk_report_info *info, char **msg) DKK_WUR;

/* The Authentication-Results field of the i-th signature alone (one
 * dkim entry), laid out as flags say; i SIZE_MAX: the dkim-adsp
 * entries alone.  Free *out with free(). */
DKK_EXPORT int dkk_verifier_ar_one(const dkk_verifier *v, size_t i,
    const char *authserv_id, unsigned flags, char **out) DKK_WUR;

#ifdef __cplusplus
}
#endif

#endif /* DKIMKIT_H */
