/*
 * dkimkit-message.c: verify the message being filtered, once.
 *
 * The first test of the extension in a delivery reads the SPF result of
 * the trusted Authentication-Results field, streams the raw message into
 * a dkk_verifier (DKIM, ADSP, DMARC with that SPF result, ARC) and blocks
 * on its lookups; the verdicts are
 * copied into the Sieve message context's pool and the verifier is freed
 * at once, so later tests (and later scripts of the same delivery) only
 * read the copy and nothing needs freeing when the delivery ends.
 *
 * Failures never stop the delivery: they come back as msg->failed, which
 * the tests turn into temperror.  A message over the core's limits is not
 * a failure: the core's verdict for it is permerror, as in every host.
 */
#include "lib.h"

#include <time.h>

#include "array.h"
#include "istream.h"
#include "mail-storage.h"
#include "smtp-address.h"

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

/* DMARC and ARC as the core decided them: 0, or -1 (with *why_r) when
 * the core has no result although it was asked for one. */
static int
dkimkit_message_copy_more(struct dkimkit_msg *msg, pool_t pool,
    const struct dkk_verify_opts *vo, const dkk_verifier *v,
    const char **why_r)
{
	struct dkk_dmarc_result dr;
	struct dkk_arc_result ar;
	struct dkk_arc_set set;
	ARRAY_TYPE(const_string) sealers;
	const char *d;
	unsigned i;

	msg->dmarc = msg->disposition = msg->arc = "none";
	if (vo->dmarc) {
		if (dkk_verifier_dmarc(v, &dr) != DKK_OK) {
			*why_r = "no DMARC result";
			return -1;
		}
		msg->dmarc = dkk_dmarc_result_name(dr.result);
		msg->disposition = dkk_dmarc_policy_name(dr.disposition);
	}
	if (!vo->arc)
		return 0;
	if (dkk_verifier_arc(v, &ar) != DKK_OK) {
		*why_r = "no ARC result";
		return -1;
	}
	msg->arc = dkk_arc_name(ar.result);
	if (ar.result != DKK_ARC_PASS)
		return 0;
	/* A passing chain has every set; a seal that could not be read
	 * names no sealer. */
	p_array_init(&sealers, pool, ar.instances + 1);
	for (i = 1; i <= ar.instances; i++) {
		if (dkk_verifier_arc_set(v, i, &set) != DKK_OK ||
		    set.seal_domain == NULL)
			continue;
		d = p_strdup(pool, set.seal_domain);
		array_push_back(&sealers, &d);
	}
	array_append_zero(&sealers);
	msg->arc_sealers = array_front(&sealers);
	return 0;
}

/* The first spf entry of a trusted field, read by the core: the word
 * the spf test sees (an unknown one as written, in lower case) and the
 * facts DMARC aligns with. */
static void
dkimkit_spf_take(struct dkimkit_msg *msg, pool_t pool, const dkk_ar *ar,
    struct dkk_spf_facts *spf)
{
	const char *word;

	if (dkk_ar_spf(ar, spf, &word))
		msg->spf = dkk_spf_result_name(spf->result);
	else if (word != NULL)
		msg->spf = p_strdup(pool, t_str_lcase(word));
	spf->domain = p_strdup(pool, spf->domain);
}

/* SPF from the Authentication-Results field of the trusted authserv-id
 * (the core picks which, dkk_ar_trusted()): the connecting client is
 * gone at delivery.  0, or -1 with *why_r. */
static int
dkimkit_message_spf(const struct sieve_runtime_env *renv,
    const struct ext_dkimkit_context *ectx, pool_t pool,
    struct dkimkit_msg *msg, struct dkk_spf_facts *spf, const char **why_r)
{
	struct mail *mail = renv->exec_env->msgdata->mail;
	const char *const *fields;
	dkk_ar *ar;
	int err;

	i_zero(spf);
	msg->spf = "none";
	if (ectx->trusted_authserv == NULL)
		return 0;
	if (mail == NULL || mail_get_headers(mail, "Authentication-Results",
	    &fields) < 0) {
		*why_r = "cannot read the Authentication-Results fields";
		return -1;
	}
	err = dkk_ar_trusted(fields, fields == NULL ? 0 :
	    str_array_length(fields), ectx->trusted_authserv, &ar);
	if (err != DKK_OK) {
		*why_r = dkk_strerror(err);
		return -1;
	}
	if (ar == NULL) {
		sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "no Authentication-"
		    "Results of %s: spf=none", ectx->trusted_authserv);
		return 0;
	}
	dkimkit_spf_take(msg, pool, ar, spf);
	dkk_ar_free(ar);
	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS,
	    "spf=%s from the Authentication-Results of %s", msg->spf,
	    ectx->trusted_authserv);
	return 0;
}

/* One log line per message, in every host's format (settings.h). */
static void
dkimkit_message_log(const struct sieve_runtime_env *renv,
    const struct ext_dkimkit_context *ectx, const dkk_verifier *v)
{
	char line[2048];

	e_info(renv->event, "dkimkit: %s", dks_log_line(v, &ectx->vo,
	    ectx->authserv_id, line, sizeof(line)));
}

/* dkimkit_store: the store of this Sieve instance, opened by its first
 * verification (a delivery whose script makes no dkimkit test opens
 * nothing).  NULL when there is none or it cannot be opened (said once).
 * The writer thread gets no log callback: Dovecot's logging belongs to
 * the delivery's own thread, so what the writer drops or loses is said
 * from the counts when the store closes. */
static dkst *
dkimkit_store_get(const struct sieve_runtime_env *renv,
    struct ext_dkimkit_context *ectx)
{
	struct dkst_opts so = { .log = NULL };
	char err[300];

	if (ectx->store != NULL || ectx->store_uri == NULL ||
	    ectx->store_failed)
		return ectx->store;
	if (dkst_open(ectx->store_uri, &so, &ectx->store, err,
	    sizeof(err)) != 0) {
		e_error(renv->event, "dkimkit: %s: %s (no rows recorded)",
		    "dkimkit_store", err);
		ectx->store = NULL;
		ectx->store_failed = TRUE;
	}
	return ectx->store;
}

/* The instance ends (one delivery in lmtp and dovecot-lda): the queued
 * rows are written before the process can go on or exit.  The wait is
 * bounded by the few rows of the delivery and the store's busy timeout
 * per batch. */
void
dkimkit_store_close(struct ext_dkimkit_context *ectx, struct event *event)
{
	struct dkst_counts c;

	if (ectx->store == NULL)
		return;
	dkst_close(ectx->store, &c);
	ectx->store = NULL;
	if (c.dropped > 0 || c.lost > 0)
		e_error(event, "dkimkit: dkimkit_store: %llu rows written, "
		    "%llu dropped, %llu lost (the store was full, locked or "
		    "gone)", (unsigned long long)c.written,
		    (unsigned long long)c.dropped, (unsigned long long)c.lost);
}

/* The message's row, queued for the store's writer.  The envelope
 * sender is what Dovecot was told; the client's address and HELO are
 * not known at delivery. */
static void
dkimkit_message_store(const struct sieve_runtime_env *renv,
    struct ext_dkimkit_context *ectx, const struct dkk_verify_opts *vo,
    const dkk_verifier *v)
{
	const struct smtp_address *from =
	    renv->exec_env->msgdata->envelope.mail_from;
	struct dkst_facts f = { .seen = time(NULL), .adsp = vo->adsp };
	dkst *st;

	if ((st = dkimkit_store_get(renv, ectx)) == NULL)
		return;
	if (from != NULL && !smtp_address_isnull(from))
		f.mail_from = smtp_address_encode(from);
	/* SPF as the trusted Authentication-Results field gave it */
	if (ectx->trusted_authserv != NULL)
		f.spf = &vo->spf;
	dkst_put(st, dkst_row_from_verifier(v, &f));
}

static int
dkimkit_message_verify(const struct sieve_runtime_env *renv,
    struct ext_dkimkit_context *ectx, pool_t pool,
    struct dkimkit_msg *msg)
{
	struct dkk_verify_opts vo;
	dkk_verifier *v = NULL;
	const char *why = "the extension's settings are broken";
	int err;

	if (ectx->ctx == NULL)
		goto fail;
	/* The settings' choices (ADSP, DMARC, ARC on unless turned off)
	 * with this message's SPF result. */
	vo = ectx->vo;
	if (dkimkit_message_spf(renv, ectx, pool, msg, &vo.spf, &why) < 0)
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
	if (dkimkit_message_copy_more(msg, pool, &vo, v, &why) < 0)
		goto fail;
	dkimkit_message_log(renv, ectx, v);
	dkimkit_message_store(renv, ectx, &vo, v);
	/* the tests' verdicts are copied: reports only follow */
	dkimkit_report_send(renv, ectx, v);
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
	    "verifying the message (DKIM, ADSP, DMARC, ARC)");
	T_BEGIN {
		if (dkimkit_message_verify(renv, ext->context, pool, msg) < 0)
			msg->failed = TRUE;
	} T_END;
	sieve_message_context_extension_set(renv->msgctx, ext, msg);
	return msg;
}
