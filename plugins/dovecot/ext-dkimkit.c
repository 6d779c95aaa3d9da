/*
 * ext-dkimkit.c: the "vnd.dkimkit" extension: its settings and its
 * registration with the Sieve validator.
 *
 * Settings, from plugin {} in dovecot.conf (or -o for sieve-test):
 *   dkimkit_authserv_id    authserv-id of the log line (default hostname)
 *   dkimkit_dns            resolver ADDR[@PORT] (default: the system's)
 *   dkimkit_zone           zone file to take keys from instead of DNS
 *   dkimkit_trust_anchor   DNSSEC trust anchor file
 *   dkimkit_allow_weak     yes: accept rsa-sha1 and short RSA keys
 *   dkimkit_timeout        milliseconds per DNS lookup (default 5000)
 *
 * A broken setting is logged as an error when the extension loads.  The
 * extension still loads: a script that requires it must keep compiling
 * and filing the user's other mail, so every dkim test then sees
 * temperror instead.
 */
#include "lib.h"
#include "strnum.h"

#include "sieve-common.h"
#include "sieve-error.h"
#include "sieve-extensions.h"
#include "sieve-settings.h"
#include "sieve-validator.h"

#include "ext-dkimkit-common.h"

static bool ext_dkimkit_load(const struct sieve_extension *ext,
    void **context);
static void ext_dkimkit_unload(const struct sieve_extension *ext);
static bool ext_dkimkit_validator_load(const struct sieve_extension *ext,
    struct sieve_validator *valdtr);

static const struct sieve_operation_def *ext_dkimkit_operations[] = {
	&dkimkit_dkim_operation,	/* DKIMKIT_OPERATION_DKIM */
	&dkimkit_adsp_operation		/* DKIMKIT_OPERATION_ADSP */
};

const struct sieve_extension_def dkimkit_extension = {
	.name = "vnd.dkimkit",
	.load = ext_dkimkit_load,
	.unload = ext_dkimkit_unload,
	.validator_load = ext_dkimkit_validator_load,
	SIEVE_EXT_DEFINE_OPERATIONS(ext_dkimkit_operations),
	SIEVE_EXT_DEFINE_NO_OPERANDS
};

/* "yes"/"no" in Dovecot's spellings; -1 for anything else. */
static int
ext_dkimkit_bool(const char *value)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0 ||
	    strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
		return 1;
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "n") == 0 ||
	    strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
		return 0;
	return -1;
}

/* An unset or empty setting is NULL: Dovecot writes "key =" as "". */
static const char *
ext_dkimkit_setting(struct sieve_instance *svinst, const char *name)
{
	const char *value = sieve_setting_get(svinst, name);

	return value == NULL || *value == '\0' ? NULL : value;
}

static int
ext_dkimkit_set_policy(struct sieve_instance *svinst, dkk_ctx *ctx,
    const char **error_r)
{
	const char *weak = ext_dkimkit_setting(svinst, "dkimkit_allow_weak");
	int on;

	if (weak == NULL)
		return 0;
	if ((on = ext_dkimkit_bool(weak)) < 0) {
		*error_r = t_strdup_printf(
		    "dkimkit_allow_weak: '%s' is not yes or no", weak);
		return -1;
	}
	return dkk_ctx_set_allow_weak(ctx, on) == DKK_OK ? 0 : -1;
}

static int
ext_dkimkit_timeout(struct sieve_instance *svinst, unsigned int *ms_r,
    const char **error_r)
{
	const char *value = ext_dkimkit_setting(svinst, "dkimkit_timeout");

	*ms_r = 0;		/* the core's default */
	if (value == NULL)
		return 0;
	if (str_to_uint(value, ms_r) < 0 || *ms_r == 0) {
		*error_r = t_strdup_printf("dkimkit_timeout: '%s' is not a "
		    "positive number of milliseconds", value);
		return -1;
	}
	return 0;
}

/* The key source: a zone file, or DNS (a given resolver or the system's). */
static int
ext_dkimkit_set_source(struct sieve_instance *svinst, dkk_ctx *ctx,
    const char **error_r)
{
	const char *zone = ext_dkimkit_setting(svinst, "dkimkit_zone");
	const char *dns = ext_dkimkit_setting(svinst, "dkimkit_dns");
	const char *anchor = ext_dkimkit_setting(svinst,
	    "dkimkit_trust_anchor");
	unsigned int timeout_ms;

	if (ext_dkimkit_timeout(svinst, &timeout_ms, error_r) < 0)
		return -1;
	if (zone != NULL && (dns != NULL || anchor != NULL)) {
		*error_r = "dkimkit_zone excludes dkimkit_dns and "
		    "dkimkit_trust_anchor: set one key source";
		return -1;
	}
	if (zone != NULL && dkk_ctx_use_zone(ctx, zone) != DKK_OK) {
		*error_r = t_strdup_printf("dkimkit_zone: %s",
		    dkk_ctx_error(ctx));
		return -1;
	}
	if (zone == NULL &&
	    dkk_ctx_use_dns(ctx, dns, anchor, timeout_ms) != DKK_OK) {
		*error_r = t_strdup_printf("dkimkit_dns: %s",
		    dkk_ctx_error(ctx));
		return -1;
	}
	return 0;
}

/* A configured core context, or NULL with *error_r set. */
static dkk_ctx *
ext_dkimkit_ctx_new(struct sieve_instance *svinst, const char **error_r)
{
	dkk_ctx *ctx;
	int err;

	if ((err = dkk_ctx_new(&ctx)) != DKK_OK) {
		*error_r = dkk_strerror(err);
		return NULL;
	}
	if (ext_dkimkit_set_policy(svinst, ctx, error_r) < 0 ||
	    ext_dkimkit_set_source(svinst, ctx, error_r) < 0) {
		dkk_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
ext_dkimkit_context_free(struct ext_dkimkit_context *ectx)
{
	if (ectx == NULL)
		return;
	dkk_ctx_free(ectx->ctx);
	i_free(ectx->authserv_id);
	i_free(ectx);
}

static bool
ext_dkimkit_load(const struct sieve_extension *ext, void **context)
{
	struct sieve_instance *svinst = ext->svinst;
	struct ext_dkimkit_context *ectx;
	const char *id, *error = "unknown error";

	/* A reload replaces what an earlier load made. */
	ext_dkimkit_context_free(*context);
	ectx = i_new(struct ext_dkimkit_context, 1);
	id = ext_dkimkit_setting(svinst, "dkimkit_authserv_id");
	if (id == NULL)
		id = svinst->hostname != NULL ? svinst->hostname : "localhost";
	ectx->authserv_id = i_strdup(id);
	T_BEGIN {
		ectx->ctx = ext_dkimkit_ctx_new(svinst, &error);
		if (ectx->ctx == NULL) {
			e_error(svinst->event, "%s: %s (every dkim and "
			    "dkim_adsp test will see temperror)",
			    dkimkit_extension.name, error);
		}
	} T_END;
	*context = ectx;
	return TRUE;
}

static void
ext_dkimkit_unload(const struct sieve_extension *ext)
{
	ext_dkimkit_context_free(ext->context);
}

static bool
ext_dkimkit_validator_load(const struct sieve_extension *ext,
    struct sieve_validator *valdtr)
{
	sieve_validator_register_command(valdtr, ext, &dkimkit_dkim_test);
	sieve_validator_register_command(valdtr, ext, &dkimkit_adsp_test);
	return TRUE;
}
