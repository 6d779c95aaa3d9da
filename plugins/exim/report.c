/*
 * report.c: RFC 6651 failure reports from Exim's verify (issue #22).
 *
 *   ${dlfunc{SO}{verify}{mx.example.net reports}
 *	{report-dir=/var/spool/exim4/dkimkit-reports}...}
 *
 * With the reports word, after the verdicts are known and the A-R field
 * is made, the core plans the reports the failing signatures asked for
 * (r=y and their domain's _report._domainkey record; ADSP too with
 * adsp; with dmarc, the DMARC failure reports of RFC 9991 that a policy
 * record's ruf= and fo= ask for: the core decides, nothing here), each is built (with the message read again from the spool for
 * its canonical body) and handed to plugins/common/reportsend.c: rate
 * limits (report-state= keeps them across messages and processes),
 * then report-dir= (a file each) or Exim's own sendmail -t -f ''.
 * Nothing here changes the verdict or fails the expansion: trouble is
 * one main-log line.  ${dlfunc{SO}{result}{report-text}} then gives the
 * rs= text of the first report due, for a deny message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exim.h"
#include "reportsend.h"

struct report_msg {
	char *p;
	size_t len, cap;
	int failed;
};

static int
report_keep(void *obj, const void *data, size_t len)
{
	struct report_msg *m = obj;
	char *q;

	if (m->failed)
		return DKK_ENOMEM;
	if (m->len + len + 1 > m->cap) {
		m->cap = (m->len + len + 1) * 2;
		if ((q = realloc(m->p, m->cap)) == NULL) {
			m->failed = 1;
			return DKK_ENOMEM;
		}
		m->p = q;
	}
	memcpy(m->p + m->len, data, len);
	m->len += len;
	m->p[m->len] = '\0';
	return DKK_OK;
}

static void
report_warn(void *arg, const char *line)
{
	(void)arg;
	log_write(0, LOG_MAIN, "dkimkit: report: %s", line);
}

static void
report_send(dkk_reports *plan, struct dkr_send *s,
    const struct dkk_report_info *info)
{
	size_t i;

	for (i = 0; i < dkk_reports_count(plan); i++) {
		const struct dkk_report_req *q = dkk_reports_get(plan, i);
		const char *st = dkr_deliver(s, plan, i, info);

		/* the token is rr='s, or for DMARC the fo= option's */
		log_write(0, LOG_MAIN, "dkimkit: report to %s (%s, %s=%c): %s",
		    q->to, q->domain, q->kind == DKK_REPORT_DMARC ? "fo" : "rr",
		    q->token, st);
	}
}

/* RFC 6651 3.3 step 10: the rs= text a domain asks to see in the SMTP
 * reply (the plan knows which record's applies, with or without ra=,
 * and never a sampled-out one's), at most REPORT_RS_MAX octets (as
 * filter-dkimkit: the signer's text in our reply stays short). */
#define REPORT_RS_MAX 200
static char *
report_text(const dkk_reports *plan)
{
	const char *rs = dkk_reports_smtp_text(plan);

	return rs != NULL ? strndup(rs, REPORT_RS_MAX) : NULL;
}

char *
exim_reports(dkk_verifier *v, const struct dks *set, const char *authserv_id,
    const struct dkk_spf_query *smtp)
{
	struct dkk_report_opts ro = { .adsp = set->adsp };
	struct dkr_send s = { .dir = set->val[DKS_REPORT_DIR],
	    .state = set->val[DKS_REPORT_STATE],
	    .smtp = set->val[DKS_REPORT_SMTP], .warn = report_warn };
	struct report_msg m = { NULL, 0, 0, 0 };
	const char *from = set->val[DKS_REPORT_FROM];
	const char *host = CCS expand_string(US"$primary_hostname");
	struct dkk_report_info info = { .authserv_id = authserv_id,
	    .reporting_mta = host, .arrival = -1,
	    .source_ip = smtp->client_ip, .mail_from = smtp->mail_from };
	dkk_reports *plan = NULL;
	uschar *err = NULL;
	char *rs;
	int rc;

	if (host == NULL || *host == '\0')
		host = "localhost";
	info.reporting_mta = host;
	info.from = from != NULL ? from : CCS string_sprintf("postmaster@%s",
	    host);
	if ((rc = dkk_reports_new(v, &ro, &plan)) != DKK_OK ||
	    (rc = dkk_reports_wait(plan)) != DKK_OK) {
		report_warn(NULL, dkk_strerror(rc));
		dkk_reports_free(plan);
		return NULL;
	}
	if (dkk_reports_count(plan) > 0 &&
	    spool_feed(report_keep, &m, 1, &err) == OK && !m.failed) {
		info.message = m.p;
		info.message_len = m.len;
	}
	if (dkk_reports_count(plan) > 0 && dkr_open(&s) == 0) {
		report_send(plan, &s, &info);
		dkr_close(&s);
	}
	free(m.p);
	rs = report_text(plan);
	dkk_reports_free(plan);
	return rs;
}
