/*
 * ext-dkimkit.c: the "vnd.dkimkit" extension: its settings and its
 * registration with the Sieve validator.
 *
 * Settings, from plugin {} in dovecot.conf (or -o for sieve-test), in
 * the vocabulary every host shares (plugins/common/settings.h):
 *   dkimkit_authserv_id    authserv-id of the log line (default hostname)
 *   dkimkit_dns            resolver ADDR[@PORT] (default: the system's)
 *   dkimkit_zone           zone file to take keys from instead of DNS
 *   dkimkit_trust_anchor   DNSSEC trust anchor file
 *   dkimkit_allow_weak     yes: accept rsa-sha1 and short RSA keys
 *   dkimkit_timeout        per DNS lookup: milliseconds, or 5s (default
 *                          5000)
 *   dkimkit_dmarc          evaluate DMARC (default yes: the dmarc test)
 *   dkimkit_rfc7489        DMARC as RFC 7489 does it (default no)
 *   dkimkit_arc            validate the ARC chain (default yes: the arc
 *                          test)
 *   dkimkit_trusted_sealers  ARC sealers of the arc :trusted test
 *   dkimkit_trusted_authserv_id  whose Authentication-Results field
 *                          gives SPF (default: none is trusted)
 *   dkimkit_explain        classify failures in the log line
 *   dkimkit_atps           check ATPS (RFC 6541): A-R and log line
 *   dkimkit_atps_adsp      an ATPS-authorized signature counts for ADSP
 *   dkimkit_arc_forwarded  DMARC reject of mail whose ARC chain passes:
 *                          quarantine (default no)
 *   dkimkit_reports        send the RFC 6651 failure reports failing
 *                          signatures ask for (dkimkit-report.c)
 *   dkimkit_report_dir     write them into this folder instead
 *   dkimkit_report_smtp    send them by SMTP to HOST:PORT instead
 *   dkimkit_report_state   the rate limits' state file
 *   dkimkit_report_from    From: of the reports
 *   dkimkit_store          the observation store (issue #23): a file,
 *                          sqlite:PATH or postgresql://...; one row per
 *                          message verified (dkimkit-message.c)
 *
 * A broken setting is logged as an error when the extension loads.  The
 * extension still loads: a script that requires it must keep compiling
 * and filing the user's other mail, so every dkim test then sees
 * temperror instead.
 */
#include "lib.h"

#include "sieve-common.h"
#include "sieve-error.h"
#include "sieve-extensions.h"
#include "sieve-settings.h"
#include "sieve-validator.h"

#include "ext-dkimkit-common.h"
#include "settings.h"

static bool ext_dkimkit_load(const struct sieve_extension *ext,
    void **context);
static void ext_dkimkit_unload(const struct sieve_extension *ext);
static bool ext_dkimkit_validator_load(const struct sieve_extension *ext,
    struct sieve_validator *valdtr);

static const struct sieve_operation_def *ext_dkimkit_operations[] = {
	&dkimkit_dkim_operation,	/* DKIMKIT_OPERATION_DKIM */
	&dkimkit_adsp_operation,	/* DKIMKIT_OPERATION_ADSP */
	&dkimkit_dmarc_operation,	/* DKIMKIT_OPERATION_DMARC */
	&dkimkit_spf_operation,		/* DKIMKIT_OPERATION_SPF */
	&dkimkit_arc_operation		/* DKIMKIT_OPERATION_ARC */
};

const struct sieve_extension_def dkimkit_extension = {
	.name = "vnd.dkimkit",
	.load = ext_dkimkit_load,
	.unload = ext_dkimkit_unload,
	.validator_load = ext_dkimkit_validator_load,
	SIEVE_EXT_DEFINE_OPERATIONS(ext_dkimkit_operations),
	SIEVE_EXT_DEFINE_NO_OPERANDS
};

/* The settings vocabulary (settings.h) as Dovecot spells it.  ADSP is
 * always on: it is cheap next to the key lookups, and a script may ask
 * for it after the dkim test has already verified the message. */
static const char *const ext_dkimkit_spell[DKS_NKEYS] = {
	[DKS_ZONE] = "dkimkit_zone",
	[DKS_DNS] = "dkimkit_dns",
	[DKS_TRUST_ANCHOR] = "dkimkit_trust_anchor",
	[DKS_TIMEOUT] = "dkimkit_timeout",
	[DKS_ALLOW_WEAK] = "dkimkit_allow_weak",
	[DKS_AUTHSERV_ID] = "dkimkit_authserv_id",
	[DKS_DMARC] = "dkimkit_dmarc",
	[DKS_RFC7489] = "dkimkit_rfc7489",
	[DKS_ARC] = "dkimkit_arc",
	[DKS_TRUSTED_SEALERS] = "dkimkit_trusted_sealers",
	[DKS_TRUSTED_AUTHSERV] = "dkimkit_trusted_authserv_id",
	[DKS_EXPLAIN] = "dkimkit_explain",
	[DKS_ATPS] = "dkimkit_atps",
	[DKS_ATPS_ADSP] = "dkimkit_atps_adsp",
	[DKS_ARC_FORWARDED] = "dkimkit_arc_forwarded",
	[DKS_STORE] = "dkimkit_store",
	[DKS_REPORTS] = "dkimkit_reports",
	[DKS_REPORT_DIR] = "dkimkit_report_dir",
	[DKS_REPORT_STATE] = "dkimkit_report_state",
	[DKS_REPORT_FROM] = "dkimkit_report_from",
	[DKS_REPORT_SMTP] = "dkimkit_report_smtp",
};

/* Read every setting Dovecot has for us; an unset or empty one (Dovecot
 * writes "key =" as "") is left at its default. */
static int
ext_dkimkit_settings(struct sieve_instance *svinst, struct dks *set)
{
	const char *value;
	int k;

	dks_init(set, ext_dkimkit_spell);
	/* A script cannot say before the one verification which tests it
	 * will make, so what the dmarc and arc tests need is on unless the
	 * administrator turns it off (ADSP, cheaper still, is always on). */
	set->adsp = 1;
	set->dmarc = 1;
	set->arc = 1;
	for (k = 0; k < DKS_NKEYS; k++) {
		if (ext_dkimkit_spell[k] == NULL)
			continue;
		value = sieve_setting_get(svinst, ext_dkimkit_spell[k]);
		if (value != NULL && *value != '\0' &&
		    dks_set(set, (enum dks_key)k, value) < 0)
			return -1;
	}
	return 0;
}

/* A configured core context, or NULL with *error_r set. */
static dkk_ctx *
ext_dkimkit_ctx_new(struct dks *set, const char **error_r)
{
	dkk_ctx *ctx;
	int err;

	if ((err = dkk_ctx_new(&ctx)) != DKK_OK) {
		*error_r = dkk_strerror(err);
		return NULL;
	}
	if (dks_apply(set, ctx) < 0) {
		*error_r = t_strdup(set->err);
		dkk_ctx_free(ctx);
		return NULL;
	}
	/* The Public Suffix List of RFC 7489 mode, read now so that a
	 * missing one is reported with the settings, not per message. */
	if (set->rfc7489 && (err = dkk_ctx_use_psl(ctx, NULL)) != DKK_OK) {
		*error_r = t_strdup_printf("%s: %s: %s",
		    ext_dkimkit_spell[DKS_RFC7489], dkk_strerror(err),
		    dkk_ctx_error(ctx));
		dkk_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

/* What the verifications and tests need of the settings, copied: the
 * values in set belong to Dovecot's settings. */
static void
ext_dkimkit_keep(struct ext_dkimkit_context *ectx, const struct dks *set)
{
	const char *sealers = set->val[DKS_TRUSTED_SEALERS];

	dks_verify_opts(set, &ectx->vo);
	ectx->trusted_authserv = i_strdup(set->val[DKS_TRUSTED_AUTHSERV]);
	/* dks_set() checked the list: domains between commas and blanks. */
	if (sealers != NULL)
		ectx->sealers = p_strsplit_spaces(default_pool, sealers,
		    ", \t");
	/* dks_verify_opts() pointed the list into set, which is gone once
	 * the extension is loaded: the copy serves instead. */
	ectx->vo.trusted_sealers = (const char *const *)ectx->sealers;
	ectx->store_uri = i_strdup(set->val[DKS_STORE]);
	ectx->reports = set->reports;
	ectx->report_dir = i_strdup(set->val[DKS_REPORT_DIR]);
	ectx->report_state = i_strdup(set->val[DKS_REPORT_STATE]);
	ectx->report_from = i_strdup(set->val[DKS_REPORT_FROM]);
	ectx->report_smtp = i_strdup(set->val[DKS_REPORT_SMTP]);
	/* the store records each failure's class (as verify --store) */
	if (ectx->store_uri != NULL)
		ectx->vo.explain = 1;
}

static void
ext_dkimkit_context_free(struct ext_dkimkit_context *ectx,
    struct event *event)
{
	if (ectx == NULL)
		return;
	dkimkit_store_close(ectx, event);
	i_free(ectx->store_uri);
	i_free(ectx->report_dir);
	i_free(ectx->report_state);
	i_free(ectx->report_from);
	i_free(ectx->report_smtp);
	dkk_ctx_free(ectx->ctx);
	i_free(ectx->authserv_id);
	i_free(ectx->trusted_authserv);
	if (ectx->sealers != NULL)
		p_strsplit_free(default_pool, ectx->sealers);
	i_free(ectx);
}

static bool
ext_dkimkit_load(const struct sieve_extension *ext, void **context)
{
	struct sieve_instance *svinst = ext->svinst;
	struct ext_dkimkit_context *ectx;
	const char *id, *error = "unknown error";
	struct dks set;

	/* A reload replaces what an earlier load made. */
	ext_dkimkit_context_free(*context, svinst->event);
	ectx = i_new(struct ext_dkimkit_context, 1);
	T_BEGIN {
		if (ext_dkimkit_settings(svinst, &set) < 0)
			error = t_strdup(set.err);
		else
			ectx->ctx = ext_dkimkit_ctx_new(&set, &error);
		id = set.val[DKS_AUTHSERV_ID];
		if (id == NULL)
			id = svinst->hostname != NULL ? svinst->hostname :
			    "localhost";
		ectx->authserv_id = i_strdup(id);
		ext_dkimkit_keep(ectx, &set);
		if (ectx->ctx == NULL) {
			e_error(svinst->event, "%s: %s (every test of "
			    "the extension will see temperror)",
			    dkimkit_extension.name, error);
		}
	} T_END;
	*context = ectx;
	return TRUE;
}

static void
ext_dkimkit_unload(const struct sieve_extension *ext)
{
	ext_dkimkit_context_free(ext->context, ext->svinst->event);
}

static bool
ext_dkimkit_validator_load(const struct sieve_extension *ext,
    struct sieve_validator *valdtr)
{
	sieve_validator_register_command(valdtr, ext, &dkimkit_dkim_test);
	sieve_validator_register_command(valdtr, ext, &dkimkit_adsp_test);
	sieve_validator_register_command(valdtr, ext, &dkimkit_dmarc_test);
	sieve_validator_register_command(valdtr, ext, &dkimkit_spf_test);
	sieve_validator_register_command(valdtr, ext, &dkimkit_arc_test);
	return TRUE;
}
