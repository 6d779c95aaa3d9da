/*
 * reportsend.h: delivering RFC 6651 failure reports (issue #22), shared
 * by the dkimkit command and the hosts: rate limits (token buckets per
 * address and in all, in a state file), a suppression list, and the
 * hand-off (a folder, sendmail -t -f '', or SMTP with MAIL FROM:<>).
 *
 *	struct dkr_send s = { .dir = "/var/spool/dkimkit-reports" };
 *	if (dkr_open(&s) == 0) {
 *		status = dkr_deliver(&s, plan, i, &info);	// per request
 *		dkr_close(&s);		// saves the state
 *	}
 */
#ifndef DKR_REPORTSEND_H
#define DKR_REPORTSEND_H

#include <stddef.h>
#include <stdint.h>

#include "dkimkit.h"

struct dkr_bucket;

struct dkr_send {
	const char *dir;	/* write each report to DIR instead */
	const char *sendmail;	/* the sendmail program (default
				 * /usr/sbin/sendmail) */
	const char *smtp;	/* HOST:PORT: send by SMTP instead */
	const char *state;	/* the buckets' file, or NULL */
	const char *suppress;	/* addresses and domains, one a line */
	double per_addr;	/* reports per address per hour (0: 1) */
	double global;		/* reports per hour in all (0: 100) */
	/* each problem as one line (NULL: none said) */
	void (*warn)(void *arg, const char *line);
	void *warn_arg;
	/* kept by dkr_open() and dkr_close() */
	struct dkr_bucket *buckets;
	size_t nbuckets;
	char **suppressed;
	size_t nsuppressed;
	size_t written;
};

/* Read the state and the suppression list: 0, or -1 (said). */
int dkr_open(struct dkr_send *s);

/* The i-th request of a final plan, built with info and delivered
 * unless rp= sampled it out, it is suppressed or over a limit; what
 * became of it: "sampled_out", "suppressed", "rate_limited", "too_large"
 * (over a DMARC destination's !size), "written", "sent" or "failed"
 * (said). */
const char *dkr_deliver(struct dkr_send *s, dkk_reports *plan, size_t i,
    const struct dkk_report_info *info);

/* Save the state (renamed into place) and free what open read. */
void dkr_close(struct dkr_send *s);

/* A whole small file, NUL-terminated (free with free()), or NULL. */
char *dkr_slurp(const char *path, size_t *len);

#endif
