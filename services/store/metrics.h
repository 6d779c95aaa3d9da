/*
 * metrics.h: the store's counters in the Prometheus text exposition
 * format (issue 23, item 5), from the store's totals (dkimkit stats
 * --prometheus) or from a host's own count of the rows it handed in
 * (filter-dkimkit's metrics file).
 *
 * Usage:
 *	struct dkst_tally t;
 *	dkst_tally_init(&t);
 *	dkst_tally_add(&t, "dkim", "pass", 12);	// or dkst_tally_row()
 *	dkst_prom_write(stdout, &t, NULL);
 */
#ifndef DKST_METRICS_H
#define DKST_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* Distinct (method, result) pairs kept: five methods and their RFC 8601
 * words fit with room; one beyond is counted in "other". */
#define DKST_TALLY_MAX 48

struct dkst_tally {
	uint64_t messages;
	size_t n;
	struct {
		char method[8];
		char result[24];
		uint64_t n;
	} v[DKST_TALLY_MAX];
	uint64_t other;		/* pairs that did not fit */
};

void dkst_tally_init(struct dkst_tally *t);
/* n more verdicts of method (dkim, spf, dmarc, arc, adsp) and result. */
void dkst_tally_add(struct dkst_tally *t, const char *method,
    const char *result, uint64_t n);
/* One message's verdicts, as its row holds them. */
void dkst_tally_row(struct dkst_tally *t, const struct dkst_row *r);

/* The exposition: messages, verdicts by method and result, DNS errors
 * (the temperror verdicts); with c (not NULL), the store's rows put,
 * written, dropped and lost.  0, or -1 when f could not be written. */
int dkst_prom_write(FILE *f, const struct dkst_tally *t,
    const struct dkst_counts *c);

/* The same into path, atomically: written to a temporary file beside
 * it, then renamed over it, so a scraper never reads half a file.  0, or
 * -1 with a sentence in err. */
int dkst_prom_file(const char *path, const struct dkst_tally *t,
    const struct dkst_counts *c, char *err, size_t errlen);

/* A copy of the tally of the rows handed to dkst_put() so far. */
void dkst_tally_get(dkst *st, struct dkst_tally *t);

#endif
