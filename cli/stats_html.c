/*
 * stats_html.c: dkimkit stats --html: the same counts as the text and
 * JSON outputs, as one self-contained page (inline CSS, inline SVG, no
 * script, nothing fetched): verdicts over time, failure classes and the
 * top signing domains as charts, then the tables.  Every string from
 * the store is HTML-escaped: domains, reasons and the rest come from
 * mail, and mail may say <script>.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "stats.h"

#define CHART_W 720
#define BAR_H 18
#define LABEL_W 240

static void
esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: putc(*s, f);
		}
}

/* A colour per RFC 8601 word, so a chart reads the same everywhere. */
static const char *
colour(const char *verdict)
{
	static const struct { const char *v, *c; } map[] = {
		{ "pass", "#2e7d32" }, { "fail", "#c62828" },
		{ "none", "#9e9e9e" }, { "neutral", "#f9a825" },
		{ "policy", "#1565c0" }, { "temperror", "#6a1b9a" },
		{ "permerror", "#ef6c00" } };
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].v, verdict) == 0)
			return map[i].c;
	return "#607d8b";
}

static void
period_name(char *buf, size_t len, long long t, long long period)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "%lld", t);
	else
		strftime(buf, len, period < 86400 ? "%Y-%m-%d %H:00 UTC" :
		    "%Y-%m-%d", &tm);
}

/* The most messages in one period, and how many periods. */
static long long
series_max(const struct stats *s, size_t *nperiods)
{
	long long max = 0, sum = 0;
	size_t i;

	*nperiods = 0;
	for (i = 0; i < s->npt; i++) {
		if (i == 0 || s->pt[i].t != s->pt[i - 1].t) {
			(*nperiods)++;
			sum = 0;
		}
		sum += s->pt[i].n;
		if (sum > max)
			max = sum;
	}
	return max;
}

/* Stacked bars, one per period that has mail (periods without mail are
 * left out: the x axis is the periods, in order, not a clock). */
static void
chart_series(FILE *f, const struct stats *s)
{
	size_t np, k = 0, i;
	long long max = series_max(s, &np), y = 0;
	double bw, h;
	char name[40];

	fprintf(f, "<h2>DKIM verdicts over time (messages per %s)</h2>\n",
	    s->period < 86400 ? "hour" : "day");
	if (np == 0) {
		fputs("<p>No messages.</p>\n", f);
		return;
	}
	bw = (double)CHART_W / (double)np;
	fprintf(f, "<svg class=\"chart\" width=\"%d\" height=\"220\" "
	    "viewBox=\"0 0 %d 220\" role=\"img\">\n", CHART_W, CHART_W);
	for (i = 0; i < s->npt; i++) {
		if (i > 0 && s->pt[i].t != s->pt[i - 1].t) {
			k++;
			y = 0;
		}
		h = 200.0 * (double)s->pt[i].n / (double)max;
		period_name(name, sizeof(name), s->pt[i].t, s->period);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\" fill=\"%s\"><title>%s: ", k * bw + 1,
		    200.0 - 200.0 * (double)y / (double)max - h,
		    bw > 3 ? bw - 2 : bw, h, colour(s->pt[i].verdict), name);
		esc(f, s->pt[i].verdict);
		fprintf(f, " %lld</title></rect>\n", s->pt[i].n);
		y += s->pt[i].n;
	}
	period_name(name, sizeof(name), s->pt[0].t, s->period);
	fprintf(f, "<text x=\"0\" y=\"215\">%s</text>\n", name);
	period_name(name, sizeof(name), s->pt[s->npt - 1].t, s->period);
	fprintf(f, "<text x=\"%d\" y=\"215\" text-anchor=\"end\">%s</text>\n"
	    "</svg>\n", CHART_W, name);
}

/* Horizontal bars: each key's count, its passing part in green when
 * pass is set (the domains). */
static void
chart_bars(FILE *f, const char *title, const struct table *t, int pass)
{
	long long max = 0;
	double w, wp;
	size_t i;

	fprintf(f, "<h2>%s</h2>\n", title);
	if (t->n == 0) {
		fputs("<p>None.</p>\n", f);
		return;
	}
	for (i = 0; i < t->n; i++)
		if (t->v[i].n > max)
			max = t->v[i].n;
	fprintf(f, "<svg class=\"chart\" width=\"%d\" height=\"%zu\" "
	    "role=\"img\">\n", CHART_W, t->n * (BAR_H + 4));
	for (i = 0; i < t->n; i++) {
		w = (double)(CHART_W - LABEL_W - 120) * (double)t->v[i].n /
		    (double)(max > 0 ? max : 1);
		wp = pass ? w * stats_share(t->v[i].pass, t->v[i].n) : 0;
		fprintf(f, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">",
		    LABEL_W - 6, i * (BAR_H + 4) + 14);
		esc(f, t->v[i].k);
		fprintf(f, "</text><rect x=\"%d\" y=\"%zu\" width=\"%.1f\" "
		    "height=\"%d\" fill=\"%s\"/>", LABEL_W, i * (BAR_H + 4),
		    w, BAR_H, pass ? "#c62828" : "#ef6c00");
		if (pass)
			fprintf(f, "<rect x=\"%d\" y=\"%zu\" width=\"%.1f\" "
			    "height=\"%d\" fill=\"#2e7d32\"/>", LABEL_W,
			    i * (BAR_H + 4), wp, BAR_H);
		fprintf(f, "<text x=\"%.1f\" y=\"%zu\">%lld", LABEL_W + w + 6,
		    i * (BAR_H + 4) + 14, t->v[i].n);
		if (pass)
			fprintf(f, ", %.1f%% pass", 100 * stats_share(
			    t->v[i].pass, t->v[i].n));
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

/* The tables carry ids (the JSON keys) so a program can read the page
 * too: the tests check its numbers against --json. */
static void
table_totals(FILE *f, const struct stats *s)
{
	size_t i;

	fputs("<h2>Totals</h2>\n<table id=\"totals\">\n", f);
	for (i = 0; i < STATS_NTOTALS; i++)
		fprintf(f, "<tr id=\"total-%s\"><th>%s</th><td>%lld</td></tr>\n",
		    stats_totals[i].key, stats_totals[i].title, s->total[i]);
	fprintf(f, "<tr id=\"total-signed_share\"><th>signed share</th>"
	    "<td>%.1f%%</td></tr>\n", 100 * stats_share(s->total[T_SIGNED],
	    s->total[T_MESSAGES]));
	fprintf(f, "<tr id=\"total-transit_failure_share\"><th>failures from "
	    "lists and forwarders</th><td>%.1f%%</td></tr>\n</table>\n",
	    100 * stats_share(s->total[T_TRANSIT], s->total[T_FAILED]));
}

static void
table_section(FILE *f, const struct section *sec, const struct table *t)
{
	size_t i;

	fprintf(f, "<h2>%s</h2>\n<table id=\"t-%s\">\n", sec->title,
	    sec->key);
	fputs(sec->shape == DOMAINS ? "<tr><th>domain</th><th>signatures"
	    "</th><th>passing</th><th>pass rate</th></tr>\n" :
	    "<tr><th>value</th><th>count</th></tr>\n", f);
	for (i = 0; i < t->n; i++) {
		fputs("<tr><td>", f);
		esc(f, t->v[i].k);
		fprintf(f, "</td><td>%lld</td>", t->v[i].n);
		if (sec->shape == DOMAINS)
			fprintf(f, "<td>%lld</td><td>%.1f%%</td>", t->v[i].pass,
			    100 * stats_share(t->v[i].pass, t->v[i].n));
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static const char style[] =
    "body{font-family:sans-serif;margin:2em;color:#222;max-width:60em}"
    "table{border-collapse:collapse;margin-bottom:1em}"
    "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    "td:nth-child(n+2){text-align:right}"
    ".chart text{font-size:12px;fill:#222}"
    ".key span{display:inline-block;width:1em;height:1em;"
    "margin:0 4px 0 12px;vertical-align:middle}";

static void
page(FILE *f, const struct stats *s)
{
	static const char *const words[] = { "pass", "fail", "none",
	    "neutral", "policy", "temperror", "permerror" };
	int c = stats_find("failure_classes"), d = stats_find("domains");
	size_t i;

	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>dkimkit stats</title>\n"
	    "<style>%s</style>\n</head>\n<body>\n<h1>dkimkit stats</h1>\n"
	    "<p>Messages seen since %lld (unix time): %lld.</p>\n", style,
	    s->since, s->total[T_MESSAGES]);
	chart_series(f, s);
	fputs("<p class=\"key\">", f);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		fprintf(f, "<span style=\"background:%s\"></span>%s",
		    colour(words[i]), words[i]);
	fputs("</p>\n", f);
	chart_bars(f, "Why DKIM failed (messages by failure class)",
	    &s->t[c], 0);
	chart_bars(f, "Top signing domains (signatures; green: passing)",
	    &s->t[d], 1);
	table_totals(f, s);
	for (i = 0; i < STATS_NSECTIONS; i++)
		table_section(f, &stats_sections[i], &s->t[i]);
	fputs("</body>\n</html>\n", f);
}

int
stats_html(const char *path, const struct stats *s)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	int rc;

	if (f == NULL) {
		warnx("stats: %s: %s", path, strerror(errno));
		return -1;
	}
	page(f, s);
	rc = fflush(f) != 0 || ferror(f) ? -1 : 0;
	if (f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		warnx("stats: %s: cannot write it", path);
	return rc;
}
