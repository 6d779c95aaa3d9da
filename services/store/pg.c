/*
 * pg.c: the store in PostgreSQL through libpq, for a fleet of MX hosts
 * writing into one database.  The same schema as SQLite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "backend.h"

struct pg {
	struct dkst_backend b;
	PGconn *conn;
};

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

static int
pg_run(struct dkst_backend *b, const char *sql, int n,
    const char *const *params, dkst_row_fn fn, void *arg)
{
	struct pg *p = (struct pg *)b;
	PGresult *res;
	ExecStatusType s;
	int rc = -1;

	/* Several statements (the migrations) go without parameters. */
	res = n == 0 && fn == NULL ? PQexec(p->conn, sql) :
	    PQexecParams(p->conn, sql, n, NULL, params, NULL, NULL, 0);
	s = PQresultStatus(res);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		rc = pg_rows(res, fn, arg);
	else
		pg_fail(p, "statement failed", PQerrorMessage(p->conn));
	PQclear(res);
	return rc;
}

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
		return 1;
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

int
dkst_pg_open(const char *conninfo, struct dkst_backend **b, char *err,
    size_t errlen)
{
	/* libpq waits for a connection forever by default: 10 s unless
	 * the URI says otherwise (its values come after, and win). */
	static const char *const keys[] = { "connect_timeout", "dbname",
	    NULL };
	const char *vals[] = { "10", conninfo, NULL };
	struct pg *p = calloc(1, sizeof(*p));

	*b = NULL;
	if (p == NULL) {
		snprintf(err, errlen, "postgresql: out of memory");
		return -1;
	}
	p->b.name = "postgresql";
	p->b.id_type = "bigserial primary key";
	p->b.run = pg_run;
	p->b.alive = pg_alive;
	p->b.close = pg_close;
	*b = &p->b;
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		pg_fail(p, "cannot connect", PQerrorMessage(p->conn));
		snprintf(err, errlen, "%s", p->b.err);
		return -1;
	}
	/* Notices (e.g. "relation exists, skipping") are not ours to print. */
	PQsetNoticeProcessor(p->conn, pg_quiet, NULL);
	return 0;
}
