/*
 * backend.h: what the store asks of SQLite and of PostgreSQL.  Values go
 * in and come out as text (NULL: SQL NULL); parameters are $1, $2, ...
 * in the order they appear, which both engines read.
 */
#ifndef DKST_BACKEND_H
#define DKST_BACKEND_H

#include <stddef.h>
#include <stdint.h>

typedef int (*dkst_row_fn)(void *arg, int n, const char *const *values);

struct dkst_backend {
	const char *name;	/* "sqlite", "postgresql" */
	const char *id_type;	/* DDL of an auto-numbered primary key */
	/* A statement that, inside a transaction, serialises migrations
	 * across connections until its end (NULL: BEGIN IMMEDIATE does). */
	const char *lock_sql;
	/* A statement; rows (if any) to fn (NULL: ignored).  0 or -1. */
	int (*run)(struct dkst_backend *b, const char *sql, int n,
	    const char *const *params, dkst_row_fn fn, void *arg);
	/* The id of the row the last INSERT made (SQLite), or NULL: the
	 * INSERT must say RETURNING id (PostgreSQL). */
	int64_t (*last_id)(struct dkst_backend *b);
	/* The store is still the one opened (its file not removed). */
	int (*alive)(struct dkst_backend *b);
	void (*close)(struct dkst_backend *b);
	char err[256];		/* the last failure, a sentence */
};

/* Open: 0, or -1 with the reason in err (NULL *b when out of memory). */
int dkst_sqlite_open(const char *path, unsigned busy_ms, int readonly,
    struct dkst_backend **b, char *err, size_t errlen);
int dkst_pg_open(const char *conninfo, unsigned timeout_ms, int readonly,
    struct dkst_backend **b, char *err, size_t errlen);

#endif
