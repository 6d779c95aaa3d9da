/*
 * ext-dkimkit-common.h: the "vnd.dkimkit" Sieve extension, shared between
 * the extension, its tests and the per-message verification.
 *
 * Pigeonhole's ABI dictates the struct and callback shapes below; the
 * names outside it follow dkimkit's own conventions.
 */
#ifndef EXT_DKIMKIT_COMMON_H
#define EXT_DKIMKIT_COMMON_H

#include "lib.h"

#include "sieve-common.h"
#include "sieve-extensions.h"

#include "dkimkit.h"
#include "store.h"

/* What the extension keeps for the life of a Sieve instance (one delivery
 * in dovecot-lda and lmtp, one run in sieve-test). */
struct ext_dkimkit_context {
	dkk_ctx *ctx;		/* NULL: settings broken, every test temperror */
	char *authserv_id;	/* for the log line (RFC 8601) */
	/* The authserv-id whose Authentication-Results field gives the
	 * SPF result (dkimkit_trusted_authserv_id); NULL: SPF is none. */
	char *trusted_authserv;
	/* dkimkit_trusted_sealers, one domain each, NULL-terminated; NULL
	 * when the setting is absent. */
	char **sealers;
	/* What every verification evaluates besides DKIM (adsp, dmarc,
	 * rfc7489, arc, explain); .spf is filled per message. */
	struct dkk_verify_opts vo;
	/* dkimkit_store: the observation store's URI (NULL: none), the
	 * store once the first verification of the instance opened it,
	 * and whether opening failed (said once, not per message). */
	char *store_uri;
	dkst *store;
	bool store_failed;
	/* dkimkit_reports and its companions (dkimkit-report.c); NULL
	 * when not set. */
	bool reports;
	char *report_dir, *report_state, *report_from, *report_smtp;
};

/* One signature, as the tests see it.  Strings live in the message
 * context's pool. */
struct dkimkit_sig {
	const char *domain;	/* d=, NULL when unparsable */
	const char *verdict;	/* "pass", "fail", ... */
};

/* The verdicts of one message, computed on first use and kept in the
 * Sieve message context until the delivery ends. */
struct dkimkit_msg {
	const struct dkimkit_sig *sigs;
	unsigned int count;
	const char *adsp;
	/* The verdict of a message that was not evaluated (its header block
	 * is over the core's limits), which every dkim test sees; NULL. */
	const char *unevaluated;
	bool failed;		/* internal or setting failure: all temperror */
	/* DMARC (RFC 9989): the result and the disposition words; "none"
	 * and "none" when dkimkit_dmarc = no. */
	const char *dmarc;
	const char *disposition;
	/* The spf= result of the trusted Authentication-Results field, or
	 * "none" without one. */
	const char *spf;
	/* ARC (RFC 8617): the chain's result; when it passes, the d= of the
	 * seal of every instance (NULL-terminated; NULL otherwise). */
	const char *arc;
	const char *const *arc_sealers;
};

extern const struct sieve_extension_def dkimkit_extension;

extern const struct sieve_command_def dkimkit_dkim_test;
extern const struct sieve_command_def dkimkit_adsp_test;
extern const struct sieve_command_def dkimkit_dmarc_test;
extern const struct sieve_command_def dkimkit_spf_test;
extern const struct sieve_command_def dkimkit_arc_test;

enum dkimkit_operation {
	DKIMKIT_OPERATION_DKIM,
	DKIMKIT_OPERATION_ADSP,
	DKIMKIT_OPERATION_DMARC,
	DKIMKIT_OPERATION_SPF,
	DKIMKIT_OPERATION_ARC
};

extern const struct sieve_operation_def dkimkit_dkim_operation;
extern const struct sieve_operation_def dkimkit_adsp_operation;
extern const struct sieve_operation_def dkimkit_dmarc_operation;
extern const struct sieve_operation_def dkimkit_spf_operation;
extern const struct sieve_operation_def dkimkit_arc_operation;

/* The verdicts of the message being filtered, verifying it on the first
 * call.  Never NULL: failures come back as msg->failed. */
/* dkimkit_reports: the failure reports of a final verifier, sent. */
void dkimkit_report_send(const struct sieve_runtime_env *renv,
    const struct ext_dkimkit_context *ectx, dkk_verifier *v);

/* Flush and close the observation store of ectx, if open. */
void dkimkit_store_close(struct ext_dkimkit_context *ectx,
    struct event *event);

const struct dkimkit_msg *dkimkit_message_get(const struct sieve_runtime_env *renv,
    const struct sieve_extension *ext);

#endif /* EXT_DKIMKIT_COMMON_H */
