/*
 * stats.h: what dkimkit stats reads from a store, shared by its text,
 * JSON, Prometheus (stats.c) and HTML (stats_html.c) outputs.
 */
#ifndef DKK_CLI_STATS_H
#define DKK_CLI_STATS_H

#include <stdio.h>

#include "store.h"

/* One count by key, in the order the query gives. */
struct kv {
	char *k;
	long long n, pass;
};

struct table {
	struct kv *v;
	size_t n;
	int bad;
};

/* A section: a title (the JSON key), its query and what it holds. */
enum shape { COUNTS, DOMAINS };
struct section {
	const char *key;
	const char *title;
	enum shape shape;
	const char *sql;	/* $1: since */
};

/* The messages by time period and DKIM verdict, for the HTML chart. */
struct series_point {
	long long t;		/* the period's start, unix time */
	char *verdict;
	long long n;
};

#define STATS_NSECTIONS 15
#define STATS_NTOTALS 7

struct stats {
	long long since;
	long long total[STATS_NTOTALS];
	struct table t[STATS_NSECTIONS];
	long long period;	/* of the series: 3600 or 86400 */
	struct series_point *pt;
	size_t npt;
};

extern const struct section stats_sections[STATS_NSECTIONS];
extern const struct section stats_totals[STATS_NTOTALS];

/* totals[] indexes, for the shares. */
enum { T_MESSAGES, T_SIGNED, T_SIGS, T_L, T_ARC, T_FAILED, T_TRANSIT };

double stats_share(long long part, long long whole);
/* The section of key (its index), or -1. */
int stats_find(const char *key);
/* Read the time series into s (period chosen by the span). */
int stats_read_series(dkst *st, const char *since, struct stats *s);
/* The page: 0, or -1 when it cannot be written (said on stderr). */
int stats_html(const char *path, const struct stats *s);

#endif
