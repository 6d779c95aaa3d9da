/*
 * dkimkit-report.c: RFC 6651 failure reports from the Sieve extension
 * (dkimkit_reports, issue #22).
 *
 * RFC 6651 lets any verifier report, and by delivery time the message is
 * accepted: nothing here can change what the MTA answered, nor the
 * verdicts the tests see (they are copied before this runs).  The plan
 * (the _report._domainkey lookups) is waited for as the key lookups are,
 * bounded by dkimkit_timeout; then each report is built and handed over
 * by plugins/common/reportsend.c (rate limits in dkimkit_report_state,
 * then dkimkit_report_dir, SMTP to dkimkit_report_smtp, or sendmail -t
 * -f '').  The hand-off is done in the delivery's own process, not a
 * child: Dovecot's mail processes reap their children themselves, and a
 * child they do not know of is not ours to leave them.  So the delivery
 * waits for sendmail to queue the report (or for the SMTP exchange,
 * bounded by its 30 s timeouts); dkimkit_report_dir costs a file write.
 *
 * ADSP is always evaluated here, so an ADSP record's ra= is honoured too
 * (RFC 6651 section 4).  A site whose MTA already reports (Exim's
 * reports word, filter-dkimkit -G) leaves this off: the rate limits are
 * kept per state file, and a signer would otherwise get two reports of
 * one failure.
 */
#include "lib.h"

#include <stdlib.h>
#include <string.h>

#include "istream.h"
#include "mail-storage.h"
#include "smtp-address.h"

#include "sieve-common.h"
#include "sieve-message.h"
#include "sieve-runtime.h"

#include "ext-dkimkit-common.h"
#include "reportsend.h"

static void
dkimkit_report_warn(void *arg, const char *line)
{
	const struct sieve_runtime_env *renv = arg;

	e_warning(renv->event, "dkimkit: report: %s", line);
}

/* The message as delivered, whole, for the report's canonical body
 * (free with free()); NULL when it cannot be read (the report then
 * goes without the body, as the core allows). */
static char *
dkimkit_report_message(const struct sieve_runtime_env *renv, size_t *len_r)
{
	struct mail *mail = renv->exec_env->msgdata->mail;
	struct istream *input;
	const unsigned char *data;
	size_t size, len = 0, cap = 0;
	char *buf = NULL, *q;
	int ret;

	if (mail == NULL || mail_get_stream(mail, NULL, NULL, &input) < 0)
		return NULL;
	i_stream_seek(input, 0);
	while ((ret = i_stream_read_more(input, &data, &size)) > 0) {
		if (len + size + 1 > cap) {
			cap = (len + size + 1) * 2;
			if ((q = realloc(buf, cap)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = q;
		}
		memcpy(buf + len, data, size);
		len += size;
		buf[len] = '\0';
		i_stream_skip(input, size);
	}
	if (ret != -1 || input->stream_errno != 0) {
		free(buf);
		return NULL;
	}
	*len_r = len;
	return buf;
}

/* Build and hand over each report of a final plan, one log line each. */
static void
dkimkit_report_deliver(const struct sieve_runtime_env *renv,
    const struct ext_dkimkit_context *ectx, dkk_reports *plan)
{
	const struct smtp_address *from =
	    renv->exec_env->msgdata->envelope.mail_from;
	const struct smtp_address *rcpt =
	    renv->exec_env->msgdata->envelope.rcpt_to;
	struct dkr_send ds = { .dir = ectx->report_dir,
	    .state = ectx->report_state, .smtp = ectx->report_smtp,
	    .warn = dkimkit_report_warn, .warn_arg = (void *)renv };
	struct dkk_report_info info = { .authserv_id = ectx->authserv_id,
	    .reporting_mta = ectx->authserv_id, .arrival = -1 };
	const char *rcpts[2] = { NULL, NULL };
	char *msg;
	size_t i, len = 0;

	info.from = ectx->report_from != NULL ? ectx->report_from :
	    t_strconcat("postmaster@", ectx->authserv_id, NULL);
	if (from != NULL && !smtp_address_isnull(from))
		info.mail_from = smtp_address_encode(from);
	if (rcpt != NULL && !smtp_address_isnull(rcpt)) {
		rcpts[0] = smtp_address_encode(rcpt);
		info.rcpt_to = rcpts;
	}
	if ((msg = dkimkit_report_message(renv, &len)) != NULL) {
		info.message = msg;
		info.message_len = len;
	}
	if (dkr_open(&ds) == 0) {
		for (i = 0; i < dkk_reports_count(plan); i++) {
			const struct dkk_report_req *q =
			    dkk_reports_get(plan, i);
			const char *st = dkr_deliver(&ds, plan, i, &info);

			/* the token is rr='s, or for DMARC fo='s */
			e_info(renv->event, "dkimkit: report to %s (%s, "
			    "%s=%c): %s", q->to, q->domain,
			    q->kind == DKK_REPORT_DMARC ? "fo" : "rr",
			    q->token, st);
		}
		dkr_close(&ds);
	}
	free(msg);
}

void
dkimkit_report_send(const struct sieve_runtime_env *renv,
    const struct ext_dkimkit_context *ectx, dkk_verifier *v)
{
	struct dkk_report_opts ro = { .adsp = 1 };
	dkk_reports *plan = NULL;
	int err;

	if (!ectx->reports)
		return;
	if ((err = dkk_reports_new(v, &ro, &plan)) != DKK_OK ||
	    (err = dkk_reports_wait(plan)) != DKK_OK) {
		e_warning(renv->event, "dkimkit: report: %s",
		    dkk_strerror(err));
		dkk_reports_free(plan);
		return;
	}
	if (dkk_reports_count(plan) > 0)
		dkimkit_report_deliver(renv, ectx, plan);
	dkk_reports_free(plan);
}
