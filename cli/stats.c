/*
 * stats.c: dkimkit stats: who signs the mail recorded in a store, and
 * what fails, in one screen or one JSON object.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "metrics.h"
#include "stats.h"
#include "store.h"

static const char stats_usage[] =
    "usage: dkimkit stats --store URI [--since T] [--top N]\n"
    "                     [--json | --prometheus] [--html FILE]\n"
    "\n"
    "Count what verify --store (or a host) recorded: messages, the share\n"
    "signed, the top signing domains and their pass rates, algorithms,\n"
    "key sizes, canonicalizations, l= use, verdicts by reason, ADSP, DMARC\n"
    "and ARC outcomes, failure classes and the share of DKIM failures a\n"
    "mailing list or forwarder caused.\n"
    "\n"
    "  --store URI   a file or sqlite:PATH, or postgresql://...\n"
    "  --since T     only messages seen from T on: a unix time, or an age\n"
    "                such as 90m, 24h, 7d\n"
    "  --top N       signing domains listed (default 10)\n"
    "  --json        one JSON object; \"messages\" is the number recorded\n"
    "  --prometheus  the counters in the Prometheus text format: messages,\n"
    "                verdicts by method and result, DNS errors (temperror)\n"
    "  --html FILE   write the same as one self-contained HTML page with\n"
    "                charts to FILE (-: standard output) instead of the\n"
    "                text; --json or --prometheus are printed as well\n"
    "\n"
    "The store is opened read only: it is never created nor migrated, and\n"
    "one of another schema version is refused.\n"
    "\n"
    "Exit status: 0, or 2 for usage errors and a store that cannot be\n"
    "read.\n";

static int
table_row(void *arg, int n, const char *const *v)
{
	struct table *t = arg;
	struct kv *nv;

	if (n < 2 || v[0] == NULL)
		return 0;
	if ((nv = realloc(t->v, (t->n + 1) * sizeof(*nv))) == NULL ||
	    (nv[t->n].k = strdup(v[0])) == NULL) {
		if (nv != NULL)
			t->v = nv;
		t->bad = 1;
		return 1;
	}
	t->v = nv;
	nv[t->n].n = v[1] != NULL ? atoll(v[1]) : 0;
	nv[t->n].pass = n > 2 && v[2] != NULL ? atoll(v[2]) : 0;
	t->n++;
	return 0;
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].k);
	free(t->v);
}

#define M_SINCE " FROM messages WHERE seen >= $1"
#define S_SINCE " FROM signatures JOIN messages ON messages.id =" \
	" signatures.message_id WHERE messages.seen >= $1"

/* The classes of a change made after signing, by a hop that handles the
 * message on its way (a list's footer or subject tag, a forwarder's
 * re-encoding or added field): the failures lists and forwarders cause.
 * header-unknown is not among them (no known rewrite explains it). */
#define TRANSIT_CLASSES "('body-appended', 'body-changed', " \
	"'subject-tagged', 'header-added', 'header-changed')"

const struct section stats_sections[STATS_NSECTIONS] = {
	{ "dkim", "message DKIM verdicts", COUNTS,
	    "SELECT dkim, count(*)" M_SINCE " GROUP BY dkim"
	    " ORDER BY 2 DESC, 1" },
	{ "dkim_reasons", "messages by verdict and reason", COUNTS,
	    "SELECT dkim || '/' || coalesce(dkim_reason, 'none'), count(*)"
	    M_SINCE " GROUP BY 1 ORDER BY 2 DESC, 1" },
	{ "domains", "signing domains (signatures, passing)", DOMAINS,
	    "SELECT d, count(*), sum(CASE WHEN result = 'pass' THEN 1"
	    " ELSE 0 END)" S_SINCE " AND d IS NOT NULL GROUP BY d"
	    " ORDER BY 2 DESC, 1 LIMIT $2" },
	{ "signature_results", "signature results", COUNTS,
	    "SELECT result, count(*)" S_SINCE " GROUP BY result"
	    " ORDER BY 2 DESC, 1" },
	{ "signature_reasons", "signature results by reason", COUNTS,
	    "SELECT result || '/' || coalesce(reason, 'none'), count(*)"
	    S_SINCE " GROUP BY 1 ORDER BY 2 DESC, 1" },
	{ "algorithms", "algorithms (signatures)", COUNTS,
	    "SELECT a, count(*)" S_SINCE " GROUP BY a ORDER BY 2 DESC, 1" },
	{ "key_sizes", "key sizes in bits (signatures with a key)", COUNTS,
	    "SELECT CAST(key_bits AS text), count(*)" S_SINCE
	    " AND key_bits IS NOT NULL GROUP BY key_bits ORDER BY 2 DESC, 1" },
	{ "canonicalizations", "canonicalizations (signatures)", COUNTS,
	    "SELECT canon, count(*)" S_SINCE " GROUP BY canon"
	    " ORDER BY 2 DESC, 1" },
	{ "adsp", "ADSP results", COUNTS,
	    "SELECT adsp, count(*)" M_SINCE " AND adsp IS NOT NULL"
	    " GROUP BY adsp ORDER BY 2 DESC, 1" },
	{ "dmarc", "DMARC results", COUNTS,
	    "SELECT dmarc, count(*)" M_SINCE " AND dmarc IS NOT NULL"
	    " GROUP BY dmarc ORDER BY 2 DESC, 1" },
	{ "dmarc_policies", "DMARC policies", COUNTS,
	    "SELECT dmarc_policy, count(*)" M_SINCE " AND dmarc IS NOT NULL"
	    " GROUP BY dmarc_policy ORDER BY 2 DESC, 1" },
	{ "dispositions", "DMARC dispositions", COUNTS,
	    "SELECT disposition, count(*)" M_SINCE " AND dmarc IS NOT NULL"
	    " GROUP BY disposition ORDER BY 2 DESC, 1" },
	{ "spf", "SPF results", COUNTS,
	    "SELECT spf, count(*)" M_SINCE " AND spf IS NOT NULL"
	    " GROUP BY spf ORDER BY 2 DESC, 1" },
	{ "arc", "ARC results (messages validated)", COUNTS,
	    "SELECT arc, count(*)" M_SINCE " AND arc IS NOT NULL"
	    " GROUP BY arc ORDER BY 2 DESC, 1" },
	{ "failure_classes", "why DKIM failed (messages)", COUNTS,
	    "SELECT class, count(*)" M_SINCE " AND class IS NOT NULL"
	    " GROUP BY class ORDER BY 2 DESC, 1" },
};

/* The single figures: JSON key, text, query. */
const struct section stats_totals[STATS_NTOTALS] = {
	{ "messages", "messages recorded", COUNTS,
	    "SELECT 'n', count(*)" M_SINCE },
	{ "signed", "messages signed", COUNTS,
	    "SELECT 'n', count(*)" M_SINCE " AND EXISTS (SELECT 1 FROM"
	    " signatures WHERE signatures.message_id = messages.id)" },
	{ "signatures", "signatures", COUNTS, "SELECT 'n', count(*)" S_SINCE },
	{ "body_length", "signatures with l=", COUNTS,
	    "SELECT 'n', count(*)" S_SINCE " AND body_length IS NOT NULL" },
	{ "arc_present", "messages with an ARC chain", COUNTS,
	    "SELECT 'n', count(*)" M_SINCE " AND arc IS NOT NULL"
	    " AND arc <> 'none'" },
	{ "failed", "signed messages whose DKIM did not pass", COUNTS,
	    "SELECT 'n', count(*)" M_SINCE " AND dkim <> 'pass'"
	    " AND dkim <> 'none'" },
	{ "transit_failures", "of them caused by lists and forwarders",
	    COUNTS, "SELECT 'n', count(*)" M_SINCE " AND dkim <> 'pass'"
	    " AND class IN " TRANSIT_CLASSES },
};
#define NSECTIONS STATS_NSECTIONS
#define NTOTALS STATS_NTOTALS

static int
stats_read(dkst *st, const char *since, const char *top, struct stats *s)
{
	const char *p[2] = { since, top };
	char err[300];
	struct table one;
	size_t i;

	for (i = 0; i < NTOTALS; i++) {
		memset(&one, 0, sizeof(one));
		if (dkst_select(st, stats_totals[i].sql, 1, p, table_row, &one,
		    err, sizeof(err)) != 0 || one.bad) {
			warnx("stats: %s", one.bad ? "out of memory" : err);
			table_free(&one);
			return -1;
		}
		s->total[i] = one.n > 0 ? one.v[0].n : 0;
		table_free(&one);
	}
	for (i = 0; i < NSECTIONS; i++)
		if (dkst_select(st, stats_sections[i].sql,
		    stats_sections[i].shape == DOMAINS ? 2 : 1, p, table_row,
		    &s->t[i], err, sizeof(err)) != 0 || s->t[i].bad) {
			warnx("stats: %s", s->t[i].bad ? "out of memory" : err);
			return -1;
		}
	return 0;
}

double
stats_share(long long part, long long whole)
{
	return whole > 0 ? (double)part / (double)whole : 0.0;
}

static void
json_table(const struct section *sec, const struct table *t)
{
	size_t i;

	printf(",\"%s\":%c", sec->key, sec->shape == DOMAINS ? '[' : '{');
	for (i = 0; i < t->n; i++) {
		if (i > 0)
			putchar(',');
		if (sec->shape == DOMAINS) {
			fputs("{\"d\":", stdout);
			json_string(stdout, t->v[i].k);
			printf(",\"signatures\":%lld,\"pass\":%lld,"
			    "\"pass_rate\":%.4f}", t->v[i].n, t->v[i].pass,
			    stats_share(t->v[i].pass, t->v[i].n));
		} else {
			json_string(stdout, t->v[i].k);
			printf(":%lld", t->v[i].n);
		}
	}
	putchar(sec->shape == DOMAINS ? ']' : '}');
}


static void
print_json(const struct stats *s, long long since)
{
	size_t i;

	printf("{\"since\":%lld", since);
	for (i = 0; i < NTOTALS; i++)
		printf(",\"%s\":%lld", stats_totals[i].key, s->total[i]);
	printf(",\"signed_share\":%.4f,\"transit_failure_share\":%.4f",
	    stats_share(s->total[T_SIGNED], s->total[T_MESSAGES]),
	    stats_share(s->total[T_TRANSIT], s->total[T_FAILED]));
	for (i = 0; i < NSECTIONS; i++)
		json_table(&stats_sections[i], &s->t[i]);
	puts("}");
}

static void
plain_table(const struct section *sec, const struct table *t)
{
	size_t i;

	printf("%s:%s\n", sec->title, t->n == 0 ? " none" : "");
	for (i = 0; i < t->n; i++)
		if (sec->shape == DOMAINS)
			printf("  %-32s %8lld  %5.1f%% pass\n", t->v[i].k,
			    t->v[i].n, 100 * stats_share(t->v[i].pass, t->v[i].n));
		else
			printf("  %-32s %8lld\n", t->v[i].k, t->v[i].n);
}

static void
print_plain(const struct stats *s)
{
	size_t i;

	for (i = 0; i < NTOTALS; i++)
		printf("%-42s %8lld\n", stats_totals[i].title, s->total[i]);
	printf("%-42s %7.1f%%\n", "signed share",
	    100 * stats_share(s->total[T_SIGNED], s->total[T_MESSAGES]));
	printf("%-42s %7.1f%%\n", "failures from lists and forwarders",
	    100 * stats_share(s->total[T_TRANSIT], s->total[T_FAILED]));
	for (i = 0; i < NSECTIONS; i++)
		plain_table(&stats_sections[i], &s->t[i]);
}

int
stats_find(const char *key)
{
	size_t i;

	for (i = 0; i < NSECTIONS; i++)
		if (strcmp(stats_sections[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* The Prometheus counters from the store's totals: the same numbers as
 * --json's "messages" and its dkim, spf, dmarc, arc and adsp counts.
 * Rows dropped or lost never reached the store, so only a host's own
 * metrics file can tell them (filter-dkimkit -m). */
static int
print_prometheus(const struct stats *s)
{
	static const char *const methods[] = { "dkim", "spf", "dmarc", "arc",
	    "adsp" };
	struct dkst_tally t;
	const struct table *tb;
	size_t i, j;

	dkst_tally_init(&t);
	t.messages = (uint64_t)s->total[T_MESSAGES];
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		tb = &s->t[stats_find(methods[i])];
		for (j = 0; j < tb->n; j++)
			dkst_tally_add(&t, methods[i], tb->v[j].k,
			    (uint64_t)tb->v[j].n);
	}
	return dkst_prom_write(stdout, &t, NULL);
}

static int
series_row(void *arg, int n, const char *const *v)
{
	struct stats *s = arg;
	struct series_point *np;

	if (n < 3 || v[0] == NULL || v[1] == NULL)
		return 0;
	if ((np = realloc(s->pt, (s->npt + 1) * sizeof(*np))) == NULL)
		return 1;
	s->pt = np;
	if ((np[s->npt].verdict = strdup(v[1])) == NULL)
		return 1;
	np[s->npt].t = atoll(v[0]);
	np[s->npt].n = v[2] != NULL ? atoll(v[2]) : 0;
	s->npt++;
	return 0;
}

static int
span_row(void *arg, int n, const char *const *v)
{
	long long *span = arg;

	*span = n >= 2 && v[0] != NULL && v[1] != NULL ?
	    atoll(v[1]) - atoll(v[0]) : 0;
	return 1;
}

/* Per hour when the messages span two days at most, else per day: a
 * chart of a few dozen to a few hundred bars either way. */
int
stats_read_series(dkst *st, const char *since, struct stats *s)
{
	const char *p[2] = { since, NULL };
	char err[300], period[24];
	long long span = 0;

	if (dkst_select(st, "SELECT min(seen), max(seen)" M_SINCE, 1, p,
	    span_row, &span, err, sizeof(err)) != 0)
		goto fail;
	s->period = span <= 2 * 86400 ? 3600 : 86400;
	snprintf(period, sizeof(period), "%lld", s->period);
	/* SQLite numbers $N parameters in the order they first appear:
	 * the period comes first in the text, so it is $1. */
	p[0] = period;
	p[1] = since;
	if (dkst_select(st, "SELECT (seen / $1) * $1, dkim, count(*)"
	    " FROM messages WHERE seen >= $2 GROUP BY 1, 2 ORDER BY 1, 2", 2,
	    p, series_row, s, err, sizeof(err)) == 0)
		return 0;
fail:
	warnx("stats: %s", err);
	return -1;
}

/* A unix time, or an age: digits and s, m, h or d. */
/* A unix time, or an age before now (90m, 24h, 7d): also report's. */
int
parse_since(const char *arg, long long *since)
{
	static const struct { char u; long long mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char num[24];
	size_t n = strlen(arg), i;
	long long v;

	if (parse_int64(arg, 0, 253402300799LL, since) == 0)
		return 0;
	if (n < 2 || n >= sizeof(num))
		return -1;
	memcpy(num, arg, n - 1);
	num[n - 1] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (arg[n - 1] == units[i].u &&
		    parse_int64(num, 0, 100000LL * 86400 / units[i].mul,
		    &v) == 0) {
			*since = (long long)time(NULL) - v * units[i].mul;
			return 0;
		}
	return -1;
}

/* Reading must not create: a mistyped file name is an error, not an
 * empty store. */
int
store_exists(const char *uri)
{
	struct stat sb;

	if (strncmp(uri, "postgresql://", 13) == 0 ||
	    strncmp(uri, "postgres://", 11) == 0)
		return 1;
	if (strncmp(uri, "sqlite:", 7) == 0)
		uri += 7;
	return stat(uri, &sb) == 0;
}

enum stats_out { OUT_TEXT, OUT_JSON, OUT_PROM };

static void
stats_free(struct stats *s)
{
	size_t i;

	for (i = 0; i < NSECTIONS; i++)
		table_free(&s->t[i]);
	for (i = 0; i < s->npt; i++)
		free(s->pt[i].verdict);
	free(s->pt);
}

static int
stats_print(const struct stats *s, enum stats_out out)
{
	if (out == OUT_JSON)
		print_json(s, s->since);
	else if (out == OUT_PROM)
		return print_prometheus(s);
	else
		print_plain(s);
	return 0;
}

/* Read only: stats never creates, migrates or writes a store (a store
 * of an older or newer schema is refused with the reason). */
static int
stats_run(const char *uri, long long since, long long top,
    enum stats_out out, const char *html)
{
	struct dkst_opts so = { .queue_max = 1, .readonly = 1 };
	struct stats s;
	char err[300], sincebuf[24], topbuf[24];
	dkst *st;
	int rc;

	if (!store_exists(uri)) {
		warnx("stats: %s: no such store", uri);
		return EXIT_TROUBLE;
	}
	if (dkst_open(uri, &so, &st, err, sizeof(err)) != 0) {
		warnx("stats: %s", err);
		return EXIT_TROUBLE;
	}
	memset(&s, 0, sizeof(s));
	s.since = since;
	snprintf(sincebuf, sizeof(sincebuf), "%lld", since);
	snprintf(topbuf, sizeof(topbuf), "%lld", top);
	rc = stats_read(st, sincebuf, topbuf, &s);
	if (rc == 0 && html != NULL)
		rc = stats_read_series(st, sincebuf, &s);
	if (rc == 0 && html != NULL)
		rc = stats_html(html, &s);
	if (rc == 0 && (html == NULL || out != OUT_TEXT))
		rc = stats_print(&s, out);
	stats_free(&s);
	dkst_close(st, NULL);
	return rc == 0 ? 0 : EXIT_TROUBLE;
}

int
cmd_stats(int argc, char **argv)
{
	enum { O_STORE = 256, O_SINCE, O_TOP, O_JSON, O_PROM, O_HTML, O_HELP };
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, O_STORE },
		{ "since", required_argument, NULL, O_SINCE },
		{ "top", required_argument, NULL, O_TOP },
		{ "json", no_argument, NULL, O_JSON },
		{ "prometheus", no_argument, NULL, O_PROM },
		{ "html", required_argument, NULL, O_HTML },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char *uri = NULL, *html = NULL;
	long long since = 0, top = 10;
	enum stats_out out = OUT_TEXT;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1)
		switch (c) {
		case O_STORE: uri = optarg; break;
		case O_SINCE:
			if (parse_since(optarg, &since) != 0)
				return usage_error("stats", "bad --since '%s'",
				    optarg);
			break;
		case O_TOP:
			if (parse_int64(optarg, 1, 100000, &top) != 0)
				return usage_error("stats", "bad --top '%s'",
				    optarg);
			break;
		case O_JSON:
		case O_PROM:
			if (out != OUT_TEXT)
				return usage_error("stats", "--json and "
				    "--prometheus exclude each other");
			out = c == O_JSON ? OUT_JSON : OUT_PROM;
			break;
		case O_HTML: html = optarg; break;
		case O_HELP:
			fputs(stats_usage, stdout);
			return 0;
		default:
			return usage_error("stats", "unknown option '%s'",
			    argv[optind - 1]);
		}
	if (uri == NULL)
		return usage_error("stats", "--store URI is required");
	if (optind != argc)
		return usage_error("stats", "no FILE is read: '%s'",
		    argv[optind]);
	return stats_run(uri, since, top, out, html);
}
