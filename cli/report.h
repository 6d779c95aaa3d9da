/*
 * report.h: dkimkit verify --reports: RFC 6651 failure reports planned
 * by the core, then rate-limited, suppressed or delivered here.
 */
#ifndef DKK_CLI_REPORT_H
#define DKK_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "dkimkit.h"
#include "reportsend.h"

struct report_cli {
	int on;
	int opened;			/* send holds what dkr_open read */
	struct dkr_send send;		/* --report-dir, --sendmail,
					 * --report-smtp, --report-state,
					 * --report-suppress, the rates */
	const char *from;		/* --report-from */
	const char *redact_file;	/* --redact-key FILE */
	const char *key_file;		/* --report-key FILE */
	const char *sign_domain;	/* --report-domain D */
	const char *sign_selector;	/* --report-selector S */
	int have_seed;
	uint64_t seed;			/* --report-seed: draws for tests */
	/* loaded by report_setup() */
	uint8_t *redact;
	size_t redact_len;
	dkk_key *key;
};

enum {
	O_REP_ON = 3000, O_REP_DIR, O_REP_FROM, O_REP_SENDMAIL, O_REP_STATE,
	O_REP_SUPPRESS, O_REP_REDACT, O_REP_KEY, O_REP_DOMAIN, O_REP_SELECTOR,
	O_REP_RATE, O_REP_GLOBAL, O_REP_SEED, O_REP_SMTP
};
#define REPORT_LONGOPTS \
	{ "reports", no_argument, NULL, O_REP_ON }, \
	{ "report-dir", required_argument, NULL, O_REP_DIR }, \
	{ "report-from", required_argument, NULL, O_REP_FROM }, \
	{ "sendmail", required_argument, NULL, O_REP_SENDMAIL }, \
	{ "report-state", required_argument, NULL, O_REP_STATE }, \
	{ "report-suppress", required_argument, NULL, O_REP_SUPPRESS }, \
	{ "redact-key", required_argument, NULL, O_REP_REDACT }, \
	{ "report-key", required_argument, NULL, O_REP_KEY }, \
	{ "report-domain", required_argument, NULL, O_REP_DOMAIN }, \
	{ "report-selector", required_argument, NULL, O_REP_SELECTOR }, \
	{ "report-rate", required_argument, NULL, O_REP_RATE }, \
	{ "report-global-rate", required_argument, NULL, O_REP_GLOBAL }, \
	{ "report-seed", required_argument, NULL, O_REP_SEED }, \
	{ "report-smtp", required_argument, NULL, O_REP_SMTP }

/* 1 when c was one of REPORT_LONGOPTS (stored), -1 for a bad value
 * (said on stderr), 0 for another option. */
int report_option(struct report_cli *r, int c, const char *arg);
/* After options: read the files, the state.  -1 on trouble (said). */
int report_setup(dkk_ctx *ctx, struct report_cli *r);
/* Plan, build and deliver the reports of one final verifier; msg is
 * the whole message.  Returns the JSON array of what became of each
 * ("[...]", free with free()), NULL without memory.  Never changes the
 * verdict; trouble is said on stderr. */
char *report_message(dkk_verifier *v, const char *msg, size_t len,
    const struct dkk_spf_query *smtp, const char *authserv_id,
    struct report_cli *r);
/* dkimkit key record --report SPEC: SPEC's tags and tokens checked (-1,
 * said, when bad), then the _report._domainkey line for domain. */
int report_record_check(const char *spec);
void report_record_print(FILE *out, const char *domain, const char *spec);
/* Save the state, free what setup loaded. */
void report_finish(struct report_cli *r);

#endif
