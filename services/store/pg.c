/*
 * pg.c: the store in PostgreSQL through libpq, for a fleet of MX hosts
 * writing into one database.  The same schema as SQLite.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libpq-fe.h>

#include "backend.h"

struct pg {
	struct dkst_backend b;
	PGconn *conn;
	unsigned timeout_ms;	/* the store's: statement_timeout */
	unsigned deadline_ms;	/* for an answer, client side */
	int readonly;
};

/* Migrations of every host take this lock (a constant of ours: "dkst"
 * and the issue number) for their transaction: two hosts opening a
 * fresh database at once would otherwise both run CREATE TABLE, and
 * the second fail on the catalogue's unique index. */
#define PG_LOCK "SELECT pg_advisory_xact_lock(1684763508, 23)"

/* libpq's messages span lines ("...failed: Connection refused\n\tIs the
 * server running ..."); a log line is one line. */
static void
pg_fail(struct pg *p, const char *what, const char *msg)
{
	char *e = p->b.err;
	size_t i, n = 0;

	snprintf(e, sizeof(p->b.err), "postgresql: %s: %s", what,
	    msg != NULL && *msg != '\0' ? msg : "error");
	for (i = 0; e[i] != '\0'; i++) {
		if (e[i] == '\n' || e[i] == '\t' || e[i] == '\r')
			e[i] = ' ';
		if (e[i] != ' ' || (n > 0 && e[n - 1] != ' '))
			e[n++] = e[i];
	}
	while (n > 0 && e[n - 1] == ' ')
		n--;
	e[n] = '\0';
}

static int
pg_rows(PGresult *res, dkst_row_fn fn, void *arg)
{
	const char *v[32];
	int r, c, nr = PQntuples(res), nc = PQnfields(res);

	if (nc > 32)
		nc = 32;
	for (r = 0; r < nr && fn != NULL; r++) {
		for (c = 0; c < nc; c++)
			v[c] = PQgetisnull(res, r, c) ? NULL :
			    PQgetvalue(res, r, c);
		if (fn(arg, nc, v) != 0)
			break;
	}
	return 0;
}

static int64_t
pg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the whole answer, at most deadline_ms: the server's own
 * statement_timeout cannot help when the server itself hangs (stopped,
 * or a network that drops packets without a reset), and the writer
 * must not wait for ever.  On timeout the connection is shut down, so
 * libpq gives up and the next batch reconnects (pg_alive). */
static int
pg_wait(struct pg *p)
{
	int64_t end = pg_now_ms() + p->deadline_ms, left;
	struct pollfd pfd;

	while (PQisBusy(p->conn)) {
		pfd.fd = PQsocket(p->conn);
		pfd.events = POLLIN;
		left = end - pg_now_ms();
		if (pfd.fd < 0 || left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			if (pfd.fd >= 0)
				shutdown(pfd.fd, SHUT_RDWR);
			return -1;
		}
		if (PQconsumeInput(p->conn) == 0)
			return 0;	/* the error comes as a result */
	}
	return 0;
}

/* The last result of the statement(s) sent (NULL: none), the others
 * cleared; *late set when the answer did not come in time. */
static PGresult *
pg_result(struct pg *p, int *late)
{
	PGresult *res, *last = NULL;

	*late = 0;
	for (;;) {
		if (pg_wait(p) != 0) {
			*late = 1;
			break;
		}
		if ((res = PQgetResult(p->conn)) == NULL)
			break;
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR)
			PQclear(res);	/* the first error is the one */
		else {
			PQclear(last);
			last = res;
		}
	}
	if (*late)
		while ((res = PQgetResult(p->conn)) != NULL)
			PQclear(res);
	return last;
}

static int
pg_run(struct dkst_backend *b, const char *sql, int n,
    const char *const *params, dkst_row_fn fn, void *arg)
{
	struct pg *p = (struct pg *)b;
	PGresult *res;
	ExecStatusType s;
	int rc = -1, sent, late;

	/* Several statements (the migrations) go without parameters. */
	sent = n == 0 && fn == NULL ? PQsendQuery(p->conn, sql) :
	    PQsendQueryParams(p->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (!sent) {
		pg_fail(p, "cannot send", PQerrorMessage(p->conn));
		return -1;
	}
	res = pg_result(p, &late);
	s = PQresultStatus(res);
	if (late) {
		snprintf(b->err, sizeof(b->err), "postgresql: no answer "
		    "within %u ms: connection closed", p->deadline_ms);
	} else if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		rc = pg_rows(res, fn, arg);
	else
		pg_fail(p, "statement failed", PQerrorMessage(p->conn));
	PQclear(res);
	return rc;
}

static int pg_session(struct pg *p);

/* A broken connection is tried again once: a restarted server then costs
 * one batch, not every batch after it. */
static int
pg_alive(struct dkst_backend *b)
{
	struct pg *p = (struct pg *)b;

	if (PQstatus(p->conn) == CONNECTION_OK)
		return 1;
	PQreset(p->conn);
	if (PQstatus(p->conn) == CONNECTION_OK)
		return pg_session(p) == 0;
	pg_fail(p, "connection lost", PQerrorMessage(p->conn));
	return 0;
}

static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void
pg_close(struct dkst_backend *b)
{
	struct pg *p = (struct pg *)b;

	if (p == NULL)
		return;
	PQfinish(p->conn);
	free(p);
}

static int
pg_ms_row(void *arg, int n, const char *const *v)
{
	long long ms = n > 0 && v[0] != NULL ? atoll(v[0]) : 0;

	*(unsigned *)arg = ms > 0 && ms < 86400000 ? (unsigned)ms : 0;
	return 1;
}

/* Limits on the server's side too: a statement the server works on for
 * too long is cancelled there, and a read-only session refuses writes
 * whatever it is asked.  A statement_timeout the connection already has
 * (the URI's options=-c statement_timeout=..., or ALTER ROLE/DATABASE
 * ... SET) is the administrator's choice and is kept; our answer
 * deadline is then that plus a second, so the server's own cancel comes
 * first when the server is only slow. */
static int
pg_session(struct pg *p)
{
	unsigned given = 0;
	char sql[128];

	p->deadline_ms = p->timeout_ms;
	if (pg_run(&p->b, "SELECT setting FROM pg_settings"
	    " WHERE name = 'statement_timeout'", 0, NULL, pg_ms_row,
	    &given) != 0)
		return -1;
	if (given > 0)
		p->deadline_ms = given + 1000;
	snprintf(sql, sizeof(sql), "SET statement_timeout = %u%s",
	    given > 0 ? given : p->timeout_ms, p->readonly ?
	    "; SET default_transaction_read_only = on" : "");
	return pg_run(&p->b, sql, 0, NULL, NULL, NULL);
}

int
dkst_pg_open(const char *conninfo, unsigned timeout_ms, int readonly,
    struct dkst_backend **b, char *err, size_t errlen)
{
	/* libpq waits for a connection forever by default: 10 s unless
	 * the URI says otherwise (its values come after, and win).  TCP
	 * keepalives find a peer that vanished (a host down, a cable
	 * pulled) on an idle connection; tcp_user_timeout one that stops
	 * acknowledging what we send. */
	static const char *const keys[] = { "connect_timeout", "keepalives",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", "dbname", NULL };
	const char *vals[] = { "10", "1", "30", "10", "3", "30000", conninfo,
	    NULL };
	struct pg *p = calloc(1, sizeof(*p));

	*b = NULL;
	if (p == NULL) {
		snprintf(err, errlen, "postgresql: out of memory");
		return -1;
	}
	p->b.name = "postgresql";
	p->b.id_type = "bigserial primary key";
	p->b.lock_sql = PG_LOCK;
	p->b.run = pg_run;
	p->b.alive = pg_alive;
	p->b.close = pg_close;
	p->timeout_ms = p->deadline_ms = timeout_ms;
	p->readonly = readonly;
	*b = &p->b;
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		pg_fail(p, "cannot connect", PQerrorMessage(p->conn));
		snprintf(err, errlen, "%s", p->b.err);
		return -1;
	}
	/* Notices (e.g. "relation exists, skipping") are not ours to print. */
	PQsetNoticeProcessor(p->conn, pg_quiet, NULL);
	if (pg_session(p) != 0) {
		snprintf(err, errlen, "%s", p->b.err);
		return -1;
	}
	return 0;
}
