/*
 * sqlite.c: the store in one SQLite file, in WAL mode so that stats may
 * read while a host writes, with a small busy timeout so that a locked
 * file loses a batch instead of holding the writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "backend.h"

/* Statements kept prepared: the writer's two inserts run for every row,
 * and parsing them each time would cost more than the insert. */
#define SQ_CACHE 4

struct sq {
	struct dkst_backend b;
	sqlite3 *db;
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[SQ_CACHE];
	char *path;
	dev_t dev;
	ino_t ino;
};

static void
sq_fail(struct sq *q, const char *what)
{
	snprintf(q->b.err, sizeof(q->b.err), "%s: %s: %s", q->path, what,
	    sqlite3_errmsg(q->db));
}

/* A decimal of at most 18 digits, which fits an int64, written as the
 * number is (no leading zero, no "-0"): a text column given "01" (a
 * selector, say) must get "01" back, not 1. */
static int
sq_integer(const char *s, sqlite3_int64 *v)
{
	const char *p = s + (*s == '-');
	size_t n = strspn(p, "0123456789");

	if (n == 0 || n > 18 || p[n] != '\0' || (p[0] == '0' &&
	    (n > 1 || p != s)))
		return 0;
	*v = strtoll(s, NULL, 10);
	return 1;
}

static int
sq_bind1(sqlite3_stmt *st, int i, const char *p)
{
	sqlite3_int64 v;

	if (p == NULL)
		return sqlite3_bind_null(st, i);
	/* A number as a number: the integer columns would convert the
	 * text anyway, at a cost on every row; a text column keeps the
	 * same digits either way. */
	if (sq_integer(p, &v))
		return sqlite3_bind_int64(st, i, v);
	/* static: the values outlive the step, and the bindings are
	 * cleared before the call returns */
	return sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
}

static int
sq_bind(struct sq *q, sqlite3_stmt *st, int n, const char *const *params)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		rc = sq_bind1(st, i + 1, params[i]);
		if (rc != SQLITE_OK) {
			sq_fail(q, "bind");
			return -1;
		}
	}
	return 0;
}

/* Each row's columns as text, at most 32 of them. */
static int
sq_rows(struct sq *q, sqlite3_stmt *st, dkst_row_fn fn, void *arg)
{
	const char *v[32];
	int rc, i, n;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_count(st);
		if (n > 32)
			n = 32;
		for (i = 0; i < n; i++)
			v[i] = (const char *)sqlite3_column_text(st, i);
		if (fn != NULL && fn(arg, n, v) != 0)
			return 0;
	}
	if (rc != SQLITE_DONE) {
		sq_fail(q, "step");
		return -1;
	}
	return 0;
}

/* The prepared statement of sql, kept when there is room (*kept). */
static sqlite3_stmt *
sq_prepare(struct sq *q, const char *sql, int *kept)
{
	sqlite3_stmt *st;
	int i;

	*kept = 0;
	for (i = 0; i < SQ_CACHE && q->cache[i].sql != NULL; i++)
		if (strcmp(q->cache[i].sql, sql) == 0) {
			*kept = 1;
			return q->cache[i].st;
		}
	if (sqlite3_prepare_v3(q->db, sql, -1, i < SQ_CACHE ?
	    SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK) {
		sq_fail(q, "prepare");
		return NULL;
	}
	if (i < SQ_CACHE && (q->cache[i].sql = strdup(sql)) != NULL) {
		q->cache[i].st = st;
		*kept = 1;
	}
	return st;
}

/* One statement, or several without parameters (the migrations). */
static int
sq_run(struct dkst_backend *b, const char *sql, int n,
    const char *const *params, dkst_row_fn fn, void *arg)
{
	struct sq *q = (struct sq *)b;
	sqlite3_stmt *st;
	char *msg = NULL;
	int rc, kept;

	if (n == 0 && fn == NULL) {
		if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) == SQLITE_OK)
			return 0;
		snprintf(b->err, sizeof(b->err), "%s: %s", q->path,
		    msg != NULL ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	if ((st = sq_prepare(q, sql, &kept)) == NULL)
		return -1;
	rc = sq_bind(q, st, n, params);
	if (rc == 0)
		rc = sq_rows(q, st, fn, arg);
	if (kept) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else
		sqlite3_finalize(st);
	return rc;
}

/* Removed or replaced: SQLite would go on writing to the unlinked file,
 * and the rows would vanish without a word. */
static int
sq_alive(struct dkst_backend *b)
{
	struct sq *q = (struct sq *)b;
	struct stat sb;

	if (stat(q->path, &sb) != 0 || sb.st_dev != q->dev ||
	    sb.st_ino != q->ino) {
		snprintf(b->err, sizeof(b->err), "%s: the store file was "
		    "removed or replaced", q->path);
		return 0;
	}
	return 1;
}

static int64_t
sq_last_id(struct dkst_backend *b)
{
	return sqlite3_last_insert_rowid(((struct sq *)b)->db);
}

static void
sq_close(struct dkst_backend *b)
{
	struct sq *q = (struct sq *)b;
	int i;

	if (q == NULL)
		return;
	for (i = 0; i < SQ_CACHE; i++) {
		sqlite3_finalize(q->cache[i].st);
		free(q->cache[i].sql);
	}
	sqlite3_close(q->db);
	free(q->path);
	free(q);
}

/* foreign_keys off: the writer inserts each signature right after its
 * message, in the same transaction, so the check could never fail, and
 * it cost a lookup of the message per signature.  (SQLite's default;
 * ON DELETE CASCADE takes effect in a connection that turns it on.) */
static int
sq_setup(struct sq *q, unsigned busy_ms, int readonly)
{
	struct stat sb;

	if (sqlite3_busy_timeout(q->db, (int)busy_ms) != SQLITE_OK ||
	    (!readonly && sq_run(&q->b, "PRAGMA journal_mode=WAL; "
	    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;", 0, NULL,
	    NULL, NULL) != 0))
		return -1;
	if (stat(q->path, &sb) != 0) {
		snprintf(q->b.err, sizeof(q->b.err), "%s: not created",
		    q->path);
		return -1;
	}
	q->dev = sb.st_dev;
	q->ino = sb.st_ino;
	return 0;
}

/* "file:" and path with the characters a URI gives meaning escaped. */
static char *
sq_uri(const char *path, const char *query)
{
	size_t n = strlen(path), i, o = 5;
	char *u = malloc(5 + 3 * n + strlen(query) + 1);

	if (u == NULL)
		return NULL;
	memcpy(u, "file:", 5);
	for (i = 0; i < n; i++)
		if (strchr("%?#", path[i]) != NULL)
			o += (size_t)sprintf(u + o, "%%%02X",
			    (unsigned char)path[i]);
		else
			u[o++] = path[i];
	strcpy(u + o, query);
	return u;
}

/* Read only: a WAL store needs its -shm file, which SQLite makes when
 * absent; in a folder we may not write (a read-only mount, a store
 * owned by the MTA) it cannot, and the first read fails with
 * SQLITE_CANTOPEN.  No -shm then means no writer has the store open
 * (a writer keeps one while it runs), so it is read as immutable: the
 * committed rows as they are. */
static int
sq_open_ro(struct sq *q)
{
	char *uri;
	int rc;

	rc = sqlite3_open_v2(q->path, &q->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_exec(q->db,
	    "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL)) !=
	    SQLITE_CANTOPEN)
		return rc;
	sqlite3_close(q->db);
	q->db = NULL;
	if ((uri = sq_uri(q->path, "?immutable=1")) == NULL)
		return SQLITE_NOMEM;
	rc = sqlite3_open_v2(uri, &q->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
	free(uri);
	return rc;
}

int
dkst_sqlite_open(const char *path, unsigned busy_ms, int readonly,
    struct dkst_backend **b, char *err, size_t errlen)
{
	struct sq *q = calloc(1, sizeof(*q));
	int rc;

	*b = NULL;
	if (q == NULL || (q->path = strdup(path)) == NULL) {
		free(q);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	q->b.name = "sqlite";
	q->b.id_type = "integer primary key";
	q->b.run = sq_run;
	q->b.alive = sq_alive;
	q->b.last_id = sq_last_id;
	q->b.close = sq_close;
	*b = &q->b;
	/* No mutex of SQLite's: the store lets one thread at a time in. */
	rc = readonly ? sq_open_ro(q) : sqlite3_open_v2(path, &q->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		sq_fail(q, "cannot open");
		snprintf(err, errlen, "%s", q->b.err);
		return -1;
	}
	if (sq_setup(q, busy_ms, readonly) != 0) {
		snprintf(err, errlen, "%s", q->b.err);
		return -1;
	}
	return 0;
}
