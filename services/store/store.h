/*
 * store.h: the observation store (issue #23): one row per message
 * verified and one per signature, kept in SQLite or PostgreSQL.
 *
 * It lives beside the core (hosts -> services -> core): the core never
 * does this I/O.  Usage:
 *
 *	struct dkst_opts o = { .log = my_log, .log_arg = me };
 *	dkst *st;
 *	if (dkst_open("sqlite:/var/lib/dkimkit/obs.db", &o, &st) < 0) ...
 *	struct dkst_row *r = dkst_row_from_verifier(v, &facts);
 *	dkst_put(st, r);		// never waits; takes r in every case
 *	...
 *	dkst_close(st, &counts);	// flushes what is queued
 *
 * dkst_put() only queues: a writer thread takes up to a batch of rows at
 * a time and writes each batch in one transaction.  When the queue is
 * full a row is dropped and counted; when a batch cannot be written (the
 * store is locked, full, read-only or its file was removed) its rows are
 * lost and counted.  Both say so through the log callback, never by
 * making the caller wait.  A writer thread rather than a flush inside
 * the caller's poll loop: a slow disk or a far PostgreSQL then costs the
 * caller nothing, whatever loop it runs.
 *
 * Thread safety: dkst_put() may be called from any thread; dkst_open()
 * and dkst_close() once each.
 */
#ifndef DKST_STORE_H
#define DKST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dkimkit.h"

/* The message columns, in the order of DKST_MSG_COLUMNS. */
enum dkst_mcol {
	DKST_M_SEEN = 0,	/* unix time, decimal */
	DKST_M_CLIENT_IP,
	DKST_M_HELO,
	DKST_M_MAIL_FROM,	/* the envelope domain */
	DKST_M_FROM,		/* the author (header From) domain */
	DKST_M_DKIM,		/* message verdict, RFC 8601 words */
	DKST_M_DKIM_REASON,	/* dkk_reason_name() of the first signature */
	DKST_M_SPF,
	DKST_M_SPF_DOMAIN,
	DKST_M_DMARC,
	DKST_M_DMARC_POLICY,
	DKST_M_DISPOSITION,
	DKST_M_ARC,
	DKST_M_ADSP,
	DKST_M_CLASS,		/* dkk_class_name() of the first failure */
	/* schema 3: what an aggregate report (RFC 9990) needs */
	DKST_M_RCPT_TO,		/* the envelope recipient's domain */
	DKST_M_SPF_SCOPE,	/* "mfrom" or "helo", as RFC 9990 says */
	DKST_M_POLICY_DOMAIN,	/* where the DMARC record was found */
	DKST_M_DKIM_ALIGNED,	/* "pass" or "fail": DMARC's view */
	DKST_M_SPF_ALIGNED,
	DKST_M_PUB_P,		/* the record's p=, sp=, np= (NULL: absent) */
	DKST_M_PUB_SP,
	DKST_M_PUB_NP,
	DKST_M_PUB_ADKIM,	/* "r" or "s" */
	DKST_M_PUB_ASPF,
	DKST_M_PUB_T,		/* "y" or "n" */
	DKST_M_PUB_PSD,		/* "y", "n" or "u" */
	DKST_M_DISCOVERY,	/* "treewalk" or "psl" */
	DKST_M_OVERRIDE,	/* the override reason type, or NULL */
	DKST_M_OVERRIDE_COMMENT,
	DKST_M_N
};

/* The signature columns (after message_id). */
enum dkst_scol {
	DKST_S_IDX = 0,		/* its place in the message, from 0 */
	DKST_S_D,
	DKST_S_S,
	DKST_S_A,
	DKST_S_CANON,		/* "relaxed/simple" */
	DKST_S_KEY_BITS,
	DKST_S_BODY_LENGTH,	/* l=, or NULL */
	DKST_S_RESULT,
	DKST_S_REASON,
	DKST_S_CLASS,
	DKST_S_N
};

/* One observation: every value text (NULL: SQL NULL), owned by the row:
 * each its own malloc(), or (dkst_row_from_verifier()) in the row's
 * arena, which dkst_row_free() does not free value by value. */
struct dkst_row {
	char *m[DKST_M_N];
	size_t nsigs;
	char *(*s)[DKST_S_N];
	char *arena;		/* NULL, or arena_len bytes after the row */
	size_t arena_len, arena_used;
};

/* What the caller knows beyond the message (NULL: not known). */
struct dkst_facts {
	int64_t seen;
	const char *client_ip;
	const char *helo;
	const char *mail_from;	/* an address or a domain */
	const char *rcpt_to;	/* an envelope recipient (its domain is
				 * kept), or NULL */
	const struct dkk_spf_facts *spf;	/* NULL: SPF not checked */
	int adsp;		/* ADSP was evaluated (dkk_verify_opts.adsp) */
};

/* The observation of a verified message (dkk_verifier_wait() done;
 * explain on for failure classes).  NULL when out of memory.  Free with
 * dkst_row_free(), or hand to dkst_put(). */
struct dkst_row *dkst_row_from_verifier(const dkk_verifier *v,
    const struct dkst_facts *f);
void dkst_row_free(struct dkst_row *r);

typedef struct dkst dkst;

struct dkst_opts {
	size_t queue_max;	/* rows waiting at most; 0: 4096 */
	size_t batch_max;	/* rows per transaction; 0: 256 */
	unsigned flush_ms;	/* a partial batch waits at most; 0: 200 */
	unsigned busy_ms;	/* SQLite busy_timeout; 0: 50 */
	/* PostgreSQL: a statement, or a silent server, waits at most this
	 * long before its batch is lost; 0: 30000. */
	unsigned timeout_ms;
	/* Read only (stats): no writer, no migration, and a store whose
	 * schema is not DKST_SCHEMA_VERSION is refused with the reason;
	 * dkst_put() then drops every row. */
	int readonly;
	void (*log)(void *arg, const char *line);	/* NULL: silent */
	void *log_arg;
};

/* What happened to the rows handed in. */
struct dkst_counts {
	uint64_t put;		/* handed to dkst_put() */
	uint64_t written;	/* committed */
	uint64_t dropped;	/* the queue was full */
	uint64_t lost;		/* their batch could not be written */
};

/* Open the store of uri: "sqlite:PATH", "postgresql://..." (or
 * "postgres://..."), or a plain file path (SQLite).  Creates or migrates
 * the schema to DKST_SCHEMA_VERSION and starts the writer (unless
 * o->readonly: see there).  0, or -1 with a sentence naming the store
 * and the reason in err. */
#define DKST_SCHEMA_VERSION 3
int dkst_open(const char *uri, const struct dkst_opts *o, dkst **st,
    char *err, size_t errlen);

/* Queue r (taken in every case; NULL, a row that could not be built, is
 * counted dropped): never blocks on the store.  st NULL frees r. */
void dkst_put(dkst *st, struct dkst_row *r);

/* The counts so far (for a host's log or metrics). */
void dkst_counts(dkst *st, struct dkst_counts *counts);

/* Flush the queue, stop the writer, close; counts (if not NULL) gets the
 * totals.  dkst_close(NULL, ...) is a no-op. */
void dkst_close(dkst *st, struct dkst_counts *counts);

/* Create or migrate the schema of uri to version (1 to
 * DKST_SCHEMA_VERSION) and close it: for tests of the migration path and
 * for upgrading a store before the hosts open it.  0, or -1 with err. */
int dkst_migrate(const char *uri, int version, char *err, size_t errlen);

/* The schema version of uri as it is (0: no schema yet), without
 * migrating (an empty schema_version table is made when there is none):
 * -1 with err when it cannot be read. */
int dkst_version(const char *uri, char *err, size_t errlen);

/* For stats: run a read-only SELECT whose parameters are params (text),
 * calling row() with each row's values (NULL for SQL NULL); a non-zero
 * return stops.  0, or -1 with err.  The store must be opened with
 * dkst_open() (the writer idle: call between puts). */
int dkst_select(dkst *st, const char *sql, int nparams,
    const char *const *params,
    int (*row)(void *arg, int n, const char *const *values), void *arg,
    char *err, size_t errlen);

#endif
