/*
 * dkimkit-message.c: verify the message being filtered, once.
 *
 * The first dkim or dkim_adsp test of a delivery streams the raw message
 * into a dkk_verifier and blocks on its key lookups; the verdicts are
 * copied into the Sieve message context's pool and the verifier is freed
 * at once, so later tests (and later scripts of the same delivery) only
 * read the copy and nothing needs freeing when the delivery ends.
 *
 * Failures never stop the delivery: they come back as msg->failed, which
 * the tests turn into temperror.  A message over the core's limits is not
 * a failure: the core's verdict for it is permerror, as in every host.
 */
#include "lib.h"
#include "istream.h"
#include "mail-storage.h"

#include "sieve-common.h"
#include "sieve-extensions.h"
#include "sieve-message.h"
#include "sieve-runtime.h"
#include "sieve-runtime-trace.h"

#include "ext-dkimkit-common.h"
#include "settings.h"

/* Stream the raw message into the verifier: 0, or -1 on a read or core
 * failure (with *why_r set).  The message as it was delivered, not as
 * editheader or a filter action may have changed it since
 * (sieve_message_get_mail() returns that one). */
static int
dkimkit_message_feed(const struct sieve_runtime_env *renv, dkk_verifier *v,
    const char **why_r)
{
	struct mail *mail = renv->exec_env->msgdata->mail;
	struct istream *input;
	const unsigned char *data;
	size_t size;
	int ret, err;

	if (mail == NULL || mail_get_stream(mail, NULL, NULL, &input) < 0) {
		*why_r = "cannot read the message";
		return -1;
	}
	i_stream_seek(input, 0);
	while ((ret = i_stream_read_more(input, &data, &size)) > 0) {
		if ((err = dkk_verifier_update(v, data, size)) != DKK_OK) {
			*why_r = dkk_strerror(err);
			return -1;
		}
		i_stream_skip(input, size);
	}
	/* Mail streams block and every byte read is skipped, so anything
	 * but -1 without an errno (EOF) is a failure. */
	if (ret != -1 || input->stream_errno != 0) {
		*why_r = i_stream_get_error(input);
		return -1;
	}
	return 0;
}

/* The copy the tests read, in the message context's pool. */
static void
dkimkit_message_copy(struct dkimkit_msg *msg, pool_t pool,
    const dkk_verifier *v)
{
	struct dkimkit_sig *sigs;
	const struct dkk_sig_result *r;
	size_t i, n = dkk_verifier_count(v);

	sigs = p_new(pool, struct dkimkit_sig, n + 1);
	for (i = 0; i < n; i++) {
		if ((r = dkk_verifier_result(v, i)) == NULL)
			break;
		sigs[i].domain = p_strdup(pool, r->domain);
		sigs[i].verdict = dkk_verdict_name(r->verdict);
	}
	msg->sigs = sigs;
	msg->count = i;
	msg->adsp = dkk_adsp_name(dkk_verifier_adsp(v, NULL));
	/* Over a limit the core has a verdict but no signature results. */
	if (dkk_verifier_reason(v, NULL) != DKK_R_OK)
		msg->unevaluated = dkk_verdict_name(dkk_verifier_verdict(v));
}

/* One log line per message, in every host's format (settings.h). */
static void
dkimkit_message_log(const struct sieve_runtime_env *renv,
    const struct ext_dkimkit_context *ectx, const dkk_verifier *v)
{
	static const struct dkk_verify_opts vo = { .adsp = 1 };
	char line[2048];

	e_info(renv->event, "dkimkit: %s", dks_log_line(v, &vo,
	    ectx->authserv_id, line, sizeof(line)));
}

static int
dkimkit_message_verify(const struct sieve_runtime_env *renv,
    const struct ext_dkimkit_context *ectx, pool_t pool,
    struct dkimkit_msg *msg)
{
	/* ADSP is cheap next to the key lookups, and a script may ask for
	 * it after the dkim test has already verified the message. */
	static const struct dkk_verify_opts vo = { .adsp = 1 };
	dkk_verifier *v = NULL;
	const char *why = "the extension's settings are broken";
	int err;

	if (ectx->ctx == NULL)
		goto fail;
	if ((err = dkk_verifier_new(ectx->ctx, &vo, &v)) != DKK_OK) {
		why = dkk_strerror(err);
		goto fail;
	}
	if (dkimkit_message_feed(renv, v, &why) < 0)
		goto fail;
	if ((err = dkk_verifier_wait(v)) != DKK_OK) {
		why = dkk_strerror(err);
		goto fail;
	}
	dkimkit_message_copy(msg, pool, v);
	dkimkit_message_log(renv, ectx, v);
	dkk_verifier_free(v);
	return 0;
fail:
	e_error(renv->event, "dkimkit: verification failed, tests see "
	    "temperror: %s", why);
	dkk_verifier_free(v);
	return -1;
}

const struct dkimkit_msg *
dkimkit_message_get(const struct sieve_runtime_env *renv,
    const struct sieve_extension *ext)
{
	struct dkimkit_msg *msg;
	pool_t pool;

	msg = (struct dkimkit_msg *)sieve_message_context_extension_get(
	    renv->msgctx, ext);
	if (msg != NULL)
		return msg;
	pool = sieve_message_context_pool(renv->msgctx);
	msg = p_new(pool, struct dkimkit_msg, 1);
	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS,
	    "verifying DKIM signatures of the message");
	T_BEGIN {
		if (dkimkit_message_verify(renv, ext->context, pool, msg) < 0)
			msg->failed = TRUE;
	} T_END;
	sieve_message_context_extension_set(renv->msgctx, ext, msg);
	return msg;
}
