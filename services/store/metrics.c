/*
 * metrics.c: the Prometheus text exposition format (version 0.0.4) of
 * the store's counters.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

void
dkst_tally_init(struct dkst_tally *t)
{
	memset(t, 0, sizeof(*t));
}

void
dkst_tally_add(struct dkst_tally *t, const char *method, const char *result,
    uint64_t n)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].method, method) == 0 &&
		    strcmp(t->v[i].result, result) == 0) {
			t->v[i].n += n;
			return;
		}
	if (t->n == DKST_TALLY_MAX || strlen(method) >= sizeof(t->v[0].method)
	    || strlen(result) >= sizeof(t->v[0].result)) {
		t->other += n;
		return;
	}
	strcpy(t->v[t->n].method, method);
	strcpy(t->v[t->n].result, result);
	t->v[t->n++].n = n;
}

void
dkst_tally_row(struct dkst_tally *t, const struct dkst_row *r)
{
	static const struct { const char *method; int col; } m[] = {
		{ "dkim", DKST_M_DKIM }, { "spf", DKST_M_SPF },
		{ "dmarc", DKST_M_DMARC }, { "arc", DKST_M_ARC },
		{ "adsp", DKST_M_ADSP } };
	size_t i;

	t->messages++;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (r->m[m[i].col] != NULL)
			dkst_tally_add(t, m[i].method, r->m[m[i].col], 1);
}

/* A label value: backslash, double quote and newline escaped, as the
 * format asks (the values come from a store someone may have edited). */
static void
prom_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			putc(*s, f);
}

static void
prom_head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

static void
prom_verdicts(FILE *f, const struct dkst_tally *t)
{
	uint64_t temp = 0;
	size_t i;

	prom_head(f, "dkimkit_verdicts_total", "Verdicts by method and "
	    "result (RFC 8601 words; dkim: the message's verdict).");
	for (i = 0; i < t->n; i++) {
		fputs("dkimkit_verdicts_total{method=\"", f);
		prom_label(f, t->v[i].method);
		fputs("\",result=\"", f);
		prom_label(f, t->v[i].result);
		fprintf(f, "\"} %" PRIu64 "\n", t->v[i].n);
		if (strcmp(t->v[i].result, "temperror") == 0)
			temp += t->v[i].n;
	}
	if (t->other > 0)
		fprintf(f, "dkimkit_verdicts_total{method=\"other\","
		    "result=\"other\"} %" PRIu64 "\n", t->other);
	/* RFC 8601 2.7: temperror is a transient failure of the check,
	 * which for these methods is DNS trouble. */
	prom_head(f, "dkimkit_dns_errors_total", "Verdicts that were "
	    "temperror (a DNS lookup failed for the time being).");
	fprintf(f, "dkimkit_dns_errors_total %" PRIu64 "\n", temp);
}

static void
prom_counts(FILE *f, const struct dkst_counts *c)
{
	prom_head(f, "dkimkit_store_rows_total", "Rows handed to the store "
	    "by this process, by outcome.");
	fprintf(f, "dkimkit_store_rows_total{outcome=\"put\"} %" PRIu64 "\n"
	    "dkimkit_store_rows_total{outcome=\"written\"} %" PRIu64 "\n",
	    c->put, c->written);
	prom_head(f, "dkimkit_store_rows_dropped_total", "Rows dropped: the "
	    "store's queue was full.");
	fprintf(f, "dkimkit_store_rows_dropped_total %" PRIu64 "\n",
	    c->dropped);
	prom_head(f, "dkimkit_store_rows_lost_total", "Rows lost: their "
	    "batch could not be written.");
	fprintf(f, "dkimkit_store_rows_lost_total %" PRIu64 "\n", c->lost);
}

int
dkst_prom_write(FILE *f, const struct dkst_tally *t,
    const struct dkst_counts *c)
{
	prom_head(f, "dkimkit_messages_total", "Messages verified and "
	    "recorded.");
	fprintf(f, "dkimkit_messages_total %" PRIu64 "\n", t->messages);
	prom_verdicts(f, t);
	if (c != NULL)
		prom_counts(f, c);
	return ferror(f) ? -1 : 0;
}

/* f written and closed: 0, or -1 with errno. */
static int
prom_close(FILE *f, const struct dkst_tally *t, const struct dkst_counts *c)
{
	/* mkstemp makes it 0600; a scraper (node_exporter's textfile
	 * collector, say) may run as another user. */
	int rc = fchmod(fileno(f), 0644) == 0 &&
	    dkst_prom_write(f, t, c) == 0 && fflush(f) == 0 ? 0 : -1;

	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int
dkst_prom_file(const char *path, const struct dkst_tally *t,
    const struct dkst_counts *c, char *err, size_t errlen)
{
	size_t n = strlen(path) + 8;
	char *tmp = malloc(n);
	FILE *f;
	int fd;

	if (tmp == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	snprintf(tmp, n, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL)
		close(fd);
	if (f == NULL || prom_close(f, t, c) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
