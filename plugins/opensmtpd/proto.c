/*
 * proto.c: the smtpd filter protocol, version 0.6 (0.7 lines accepted:
 * the fields used here did not change).  Every line from smtpd is parsed
 * here; a line that cannot be understood is logged and skipped, because
 * smtpd shuts down when its filter exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define PROTO_FIELDS	8	/* data-line: the 8th field is the line */

static int proto_registered;

static const char *const proto_filters[] = { "data-line", "commit" };
/* tx-rollback and link-disconnect free state; the others are the facts
 * of facts.c. */
static const char *const proto_reports[] = { "tx-rollback",
    "link-disconnect", "link-connect", "link-auth", "link-identify",
    "tx-mail", "tx-rcpt", "tx-reset" };

/* Split at '|' into at most max fields, the last one keeping the rest. */
static size_t
proto_split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *bar;

	f[n++] = line;
	while (n < max && (bar = strchr(f[n - 1], '|')) != NULL) {
		*bar = '\0';
		f[n++] = bar + 1;
	}
	return n;
}

/* Session ids and tokens are 16 hex digits; accept 1 to 16. */
static int
proto_id(const char *s, uint64_t *id)
{
	size_t len = strspn(s, "0123456789abcdefABCDEF");

	if (len == 0 || len > 16 || s[len] != '\0')
		return -1;
	*id = strtoull(s, NULL, 16);
	return 0;
}

static int
proto_version_ok(const char *v)
{
	return strcmp(v, "0.6") == 0 || strcmp(v, "0.7") == 0;
}

static void
proto_register(const char *kind, const char *what)
{
	char line[128];

	snprintf(line, sizeof(line), "register|%s|smtp-in|%s", kind, what);
	out_text(line);
}

/* The handshake: answer config|ready with our registrations. */
static void
proto_config(char **f, size_t n)
{
	size_t i;

	if (n >= 3 && strcmp(f[1], "admd") == 0 && conf.authserv_id == NULL)
		conf.authserv_id = strdup(f[2]);
	if (n < 2 || strcmp(f[1], "ready") != 0 || proto_registered)
		return;
	for (i = 0; i < sizeof(proto_filters) / sizeof(proto_filters[0]); i++)
		proto_register("filter", proto_filters[i]);
	for (i = 0; i < sizeof(proto_reports) / sizeof(proto_reports[0]); i++)
		proto_register("report", proto_reports[i]);
	out_text("register|ready");
	proto_registered = 1;
}

static void
proto_filter(char **f, size_t n)
{
	uint64_t sid, token;

	if (n < 7 || !proto_version_ok(f[1]) || strcmp(f[3], "smtp-in") != 0 ||
	    proto_id(f[5], &sid) == -1 || proto_id(f[6], &token) == -1) {
		log_warnx("malformed filter request skipped");
		return;
	}
	if (strcmp(f[4], "data-line") == 0) {
		/* A data line without its field was cut short. */
		if (n < 8) {
			log_warnx("truncated data-line request skipped");
			return;
		}
		message_line(session_get(sid), token, f[7], strlen(f[7]));
	} else if (strcmp(f[4], "commit") == 0)
		message_commit(session_find(sid), sid, token);
	else {
		/* Not registered, but a session must never hang on us. */
		log_warnx("unexpected phase %.40s: proceed", f[4]);
		out_result(sid, token, "proceed");
	}
}

/* Whether event brings a fact that facts.c keeps. */
static int
proto_is_fact(const char *event)
{
	return strcmp(event, "link-connect") == 0 ||
	    strcmp(event, "link-auth") == 0 ||
	    strcmp(event, "link-identify") == 0 ||
	    strcmp(event, "tx-mail") == 0;
}

/* A rolled-back message is dropped, its session kept (it may send
 * another); a disconnect drops the session. */
static void
proto_report(char **f, size_t n)
{
	struct session *s;
	uint64_t sid;

	if (n < 6 || !proto_version_ok(f[1]) || proto_id(f[5], &sid) == -1) {
		log_warnx("malformed report skipped");
		return;
	}
	if (strcmp(f[4], "link-disconnect") == 0) {
		session_free(sid);
		return;
	}
	if (strcmp(f[4], "tx-rollback") == 0 && (s = session_find(sid)) != NULL)
		session_reset(s);
	/* What follows the id, whole again: split at most 8 ways. */
	if (n == PROTO_FIELDS)
		f[7][-1] = '|';
	if (n <= 6) {
		if (proto_is_fact(f[4]))
			log_warnx("malformed %s report skipped", f[4]);
		return;
	}
	/* A session is made for its facts only, not by any stray report. */
	s = proto_is_fact(f[4]) ? session_get(sid) : session_find(sid);
	if (s != NULL)
		facts_report(s, f[4], f[6], f[1]);
}

/* A filter request or report for a session whose message is at a worker
 * (-j) waits its turn there: 1 when line was kept so. */
static int
proto_deferred(const char *line)
{
	struct session *s;
	const char *p = line;
	char id[17];
	uint64_t sid;
	size_t len;
	int i;

	if (!proto_registered || (strncmp(line, "filter|", 7) != 0 &&
	    strncmp(line, "report|", 7) != 0))
		return 0;
	for (i = 0; i < 5 && p != NULL; i++)
		if ((p = strchr(p, '|')) != NULL)
			p++;
	if (p == NULL || (len = strcspn(p, "|")) >= sizeof(id))
		return 0;
	memcpy(id, p, len);
	id[len] = '\0';
	if (proto_id(id, &sid) == -1 || (s = session_find(sid)) == NULL ||
	    s->state != ST_WORK)
		return 0;
	return session_defer(s, line) == 0;
}

/* One line from smtpd, without its newline; modified in place. */
void
proto_line(char *line)
{
	char *f[PROTO_FIELDS];
	size_t n;

	if (proto_deferred(line))
		return;
	n = proto_split(line, f, PROTO_FIELDS);
	if (strcmp(f[0], "config") == 0)
		proto_config(f, n);
	else if (!proto_registered)
		log_warnx("line before the handshake ended skipped");
	else if (strcmp(f[0], "filter") == 0)
		proto_filter(f, n);
	else if (strcmp(f[0], "report") == 0)
		proto_report(f, n);
	else
		log_warnx("unknown line skipped: %.40s", f[0]);
}

/* Whether line is a data-line request, whose last field is message
 * content (a CR at its end is the message's own). */
static int
proto_is_dataline(const char *line)
{
	int i;

	if (strncmp(line, "filter|", 7) != 0)
		return 0;
	for (i = 0; i < 4 && line != NULL; i++)
		if ((line = strchr(line, '|')) != NULL)
			line++;
	return line != NULL && strncmp(line, "data-line|", 10) == 0;
}

/* Handle every complete line in buf[0..*len); keep the rest.  A buffer
 * filled to max without a newline holds part of an overlong line: it is
 * dropped, and so is the rest of that line (*skipping).  A CR before the
 * newline is dropped, except from data lines. */
void
proto_lines(char *buf, size_t *len, int *skipping, size_t max)
{
	char *p = buf, *nl;

	while ((nl = memchr(p, '\n', buf + *len - p)) != NULL) {
		*nl = '\0';
		if (*skipping)
			*skipping = 0;	/* the end of an overlong line */
		else {
			if (nl > p && nl[-1] == '\r' && !proto_is_dataline(p))
				nl[-1] = '\0';
			proto_line(p);
		}
		p = nl + 1;
	}
	*len -= p - buf;
	memmove(buf, p, *len);
	if (*len == max) {
		log_warnx("line over %zu bytes skipped", max);
		*skipping = 1;
		*len = 0;
	}
}

int
proto_ready(void)
{
	return proto_registered;
}
