/*
 * settings.h: one vocabulary of settings for the dkimkit command and the
 * three mail-server adapters.
 *
 * Each host reads its settings its own way (command-line options, the
 * words after an Exim dlfunc, Dovecot's plugin {} settings) and spells
 * them its own way (-z, zone=, dkimkit_zone); what a setting means, how
 * its value is checked, how settings combine and the words of every error
 * are here, once.  A host fills a struct dks with dks_set(), then
 * dks_apply() configures its context.  Errors name the setting as the
 * host spells it (the table given to dks_init()).
 *
 *	struct dks s;
 *	dks_init(&s, spelling);
 *	if (dks_set(&s, DKS_ZONE, value) < 0 || dks_apply(&s, ctx) < 0)
 *		report(s.err);
 */
#ifndef DKS_SETTINGS_H
#define DKS_SETTINGS_H

#include <stddef.h>

#include "dkimkit.h"

enum dks_key {
	DKS_ZONE,		/* RFC 1035 zone file as the key source */
	DKS_DNS,		/* resolver ADDR[@PORT] (default: the system's) */
	DKS_TRUST_ANCHOR,	/* DNSSEC trust anchor file */
	DKS_TIMEOUT,		/* per DNS lookup: milliseconds, or Ns */
	DKS_ALLOW_WEAK,		/* accept rsa-sha1 and RSA keys under 1024 */
	DKS_AUTHSERV_ID,	/* ours, in Authentication-Results */
	DKS_ADSP,		/* evaluate ADSP (RFC 5617) too */
	DKS_PIN_FILE,		/* PIN of PKCS#11 keys, first line */
	DKS_KEYDIR,		/* key directory (dkimkit-key(1)) */
	DKS_OPENDKIM_CONF,	/* signing policy: an opendkim.conf */
	DKS_DMARC,		/* evaluate DMARC (RFC 9989) too */
	DKS_RFC7489,		/* DMARC as RFC 7489 did (implies dmarc) */
	DKS_ARC,		/* validate the ARC chain (RFC 8617) too */
	DKS_TRUSTED_SEALERS,	/* ARC sealers trusted to vouch: domains,
				 * separated by commas or spaces */
	DKS_TRUSTED_AUTHSERV,	/* an authserv-id whose upstream spf=
				 * results are taken (Dovecot) */
	DKS_EXPLAIN,		/* classify failures in the log line */
	DKS_SELF_VERIFY,	/* verify what was signed before it leaves */
	DKS_ATPS,		/* check ATPS (RFC 6541) too */
	DKS_ATPS_ADSP,		/* an ATPS-authorized signature counts for
				 * ADSP (implies atps) */
	DKS_REPORT_REQUEST,	/* sign with r=y: ask for failure reports
				 * (RFC 6651) */
	DKS_REPORTS,		/* send the failure reports asked for */
	DKS_REPORT_DIR,		/* write them to this folder instead */
	DKS_REPORT_STATE,	/* the rate limits' state file */
	DKS_REPORT_FROM,	/* From: of the reports */
	DKS_ARC_FORWARDED,	/* DMARC reject of mail whose ARC chain
				 * passes: quarantine (implies arc, needs
				 * dmarc) */
	DKS_STORE,		/* observation store URI: a file, sqlite:PATH
				 * or postgresql://... (services/store) */
	DKS_METRICS_FILE,	/* the Prometheus text file of the store's
				 * counters, replaced every interval (needs
				 * store) */
	DKS_METRICS_INTERVAL,	/* its refresh, in seconds: 1 to 86400;
				 * default 60 */
	DKS_WORKERS,		/* worker threads of a host that runs one
				 * process for every session (OpenSMTPD):
				 * a count, 0 or 1 for none, "auto" for
				 * one per online core */
	DKS_REPORT_SMTP,	/* send the reports by SMTP to HOST:PORT
				 * (MAIL FROM:<>) instead of sendmail */
	DKS_NKEYS
};

#define DKS_TIMEOUT_MIN 100	/* milliseconds */
#define DKS_TIMEOUT_MAX 60000
#define DKS_ID_MAX 255
#define DKS_SEALERS_MAX 32	/* trusted-sealers: domains at most */
#define DKS_DOMAIN_MAX 253
#define DKS_METRICS_MAX 86400	/* seconds */
#define DKS_WORKERS_MAX 64	/* workers: threads at most */

struct dks {
	const char *const *spell;	/* the host's name of each key */
	const char *val[DKS_NKEYS];	/* as given, not copied */
	unsigned timeout_ms;		/* 0: the core's default */
	unsigned metrics_s;		/* metrics-interval; 0: 60 */
	int allow_weak;
	int adsp;
	int dmarc;
	int rfc7489;
	int arc;
	int explain;
	int self_verify;
	int atps;
	int atps_adsp;
	int report_request;
	int reports;
	int arc_forwarded;
	unsigned workers;		/* DKS_WORKERS, "auto" resolved */
	/* trusted-sealers, split by dks_set(): sealers[] points into
	 * sealer_names and ends with NULL, so a struct dks is not copied
	 * once set (dks_verify_opts() hands the list out). */
	char sealer_names[DKS_SEALERS_MAX][DKS_DOMAIN_MAX + 1];
	const char *sealers[DKS_SEALERS_MAX + 1];
	char err[512];
};

/* spell[k] is how the host names key k in messages (NULL: not offered). */
void dks_init(struct dks *s, const char *const *spell);

/* Take one setting as text (booleans: yes/no, true/false, on/off, 1/0).
 * 0, or -1 with s->err naming the setting and saying what is wrong. */
int dks_set(struct dks *s, enum dks_key k, const char *value);

/* Check how the settings combine (a zone excludes dns and a trust
 * anchor; arc-forwarded needs dmarc).  0, or -1 with s->err. */
int dks_check(struct dks *s);

/* dks_check(), then configure ctx: the key source, allow-weak, the PIN
 * file.  0, or -1 with s->err. */
int dks_apply(struct dks *s, dkk_ctx *ctx);

/* The PIN of pkcs11: keys: the pin-file, else $DKIMKIT_PIN; never from a
 * command line, which every user of the machine can read.  0, or -1 with
 * s->err. */
int dks_apply_pin(struct dks *s, dkk_ctx *ctx);

/* The signing policy of the opendkim-conf setting, read into *pp with
 * dkk_policy_new(); each of its warnings goes to warn (which may be NULL).
 * Without the setting *pp is NULL and the result 0.  0, or -1 with s->err
 * naming the setting and carrying the core's "FILE:LINE: Name: reason". */
int dks_policy(struct dks *s, dkk_ctx *ctx, dkk_policy **pp,
    void (*warn)(void *arg, const char *warning), void *arg);

/* The per-message choices of these settings; o->trusted_sealers points
 * into s (valid while s is). */
void dks_verify_opts(const struct dks *s, struct dkk_verify_opts *o);

/* The one log line of a verified message, the same in every host (each
 * puts its own prefix in front):
 *   mx.example.net: dkim=pass adsp=none (example.com) dmarc=pass
 *   (example.com, policy reject, disposition none) arc=none (0 sets)
 *   [pass d=example.com s=sel a=rsa-sha256: good signature] ...
 * adsp=, dmarc= and arc= when the options asked for them (a DMARC
 * override adds ", local_policy by trusted sealer D" after the
 * disposition, arc-forwarded's ", local_policy for forwarded mail,
 * latest sealer D"); with atps, a signature that asked for ATPS gets
 * "; atps=RESULT for AUTHOR" before its "]"; with explain,
 * a failing signature's detail ends "; CLASS [FIELD]: DETAIL".
 * at most 16 signatures, then a count of the rest; no control character.
 * Fits in len (cut with "..." if it must be); returns out. */
char *dks_log_line(const dkk_verifier *v, const struct dkk_verify_opts *o,
    const char *authserv_id, char *out, size_t len);

#endif
