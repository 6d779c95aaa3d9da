/*
 * store.c: opening a store by its URI, the writer thread and its
 * batches, and the counters of rows dropped and lost.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "metrics.h"
#include "queue.h"
#include "schema.h"
#include "store.h"

struct dkst {
	struct dkst_backend *b;
	struct dkst_opts o;
	pthread_mutex_t mu;	/* q, counts, stop */
	pthread_mutex_t dbmu;	/* b: the writer or dkst_select() */
	pthread_cond_t cv;
	pthread_t writer;
	int writing;		/* the writer was started */
	struct dkst_queue q;
	struct dkst_counts c;
	struct dkst_tally tally;	/* of the rows put (metrics) */
	int stop;
};

#define MSG_INSERT \
    "INSERT INTO messages (seen, client_ip, helo, mail_from, from_domain," \
    " dkim, dkim_reason, spf, spf_domain, dmarc, dmarc_policy, disposition," \
    " arc, adsp, class, rcpt_domain, spf_scope, policy_domain," \
    " dkim_aligned, spf_aligned, pub_p, pub_sp, pub_np, pub_adkim," \
    " pub_aspf, pub_t, pub_psd, discovery, override, override_comment)" \
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13," \
    " $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26," \
    " $27, $28, $29, $30)"
/* RETURNING costs SQLite a result table per row: it gives the id its own
 * way (last_id). */
static const char msg_insert[] = MSG_INSERT;
static const char msg_insert_id[] = MSG_INSERT " RETURNING id";
static const char sig_insert[] =
    "INSERT INTO signatures (message_id, idx, d, s, a, canon, key_bits,"
    " body_length, result, reason, class) VALUES ($1, $2, $3, $4, $5, $6,"
    " $7, $8, $9, $10, $11)";

static void
st_log(const dkst *st, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (st->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st->o.log(st->o.log_arg, line);
}

/* A value not in the row's arena (it did not fit, or the row has none). */
static void
row_value_free(const struct dkst_row *r, char *v)
{
	if (r->arena == NULL || v < r->arena || v >= r->arena + r->arena_len)
		free(v);
}

void
dkst_row_free(struct dkst_row *r)
{
	size_t i, j;

	if (r == NULL)
		return;
	for (i = 0; i < DKST_M_N; i++)
		row_value_free(r, r->m[i]);
	for (i = 0; i < r->nsigs; i++)
		for (j = 0; j < DKST_S_N; j++)
			row_value_free(r, r->s[i][j]);
	free(r->s);
	free(r);
}

static int
id_row(void *arg, int n, const char *const *v)
{
	snprintf(arg, 24, "%s", n > 0 && v[0] != NULL ? v[0] : "");
	return 1;
}

static int
row_insert(struct dkst_backend *b, const struct dkst_row *r)
{
	const char *p[DKST_S_N + 1];
	char id[24] = "";
	size_t i;

	if (b->last_id != NULL) {
		if (b->run(b, msg_insert, DKST_M_N, (const char *const *)r->m,
		    NULL, NULL) != 0)
			return -1;
		snprintf(id, sizeof(id), "%lld", (long long)b->last_id(b));
	} else if (b->run(b, msg_insert_id, DKST_M_N,
	    (const char *const *)r->m, id_row, id) != 0)
		return -1;
	if (id[0] == '\0') {
		snprintf(b->err, sizeof(b->err), "no message id returned");
		return -1;
	}
	p[0] = id;
	for (i = 0; i < r->nsigs; i++) {
		memcpy(p + 1, r->s[i], sizeof(r->s[i]));
		if (b->run(b, sig_insert, DKST_S_N + 1, p, NULL, NULL) != 0)
			return -1;
	}
	return 0;
}

/* One transaction: all of the batch, or none of it. */
static int
batch_write(struct dkst_backend *b, struct dkst_row **rows, size_t n)
{
	size_t i;

	if (!b->alive(b) || b->run(b, "BEGIN", 0, NULL, NULL, NULL) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (row_insert(b, rows[i]) != 0)
			break;
	if (i == n && b->run(b, "COMMIT", 0, NULL, NULL, NULL) == 0)
		return 0;
	dkst_rollback(b);
	return -1;
}

static void
batch_done(dkst *st, struct dkst_row **rows, size_t n, int rc)
{
	size_t i;

	pthread_mutex_lock(&st->mu);
	if (rc == 0)
		st->c.written += n;
	else
		st->c.lost += n;
	pthread_mutex_unlock(&st->mu);
	if (rc != 0)
		st_log(st, "store %s: %zu row%s lost: %s", st->b->name, n,
		    n == 1 ? "" : "s", st->b->err);
	for (i = 0; i < n; i++)
		dkst_row_free(rows[i]);
}

static void
deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait for a full batch, or for flush_ms after the first row, or stop:
 * the number of rows taken (0: stopped and empty). */
static size_t
batch_take(dkst *st, struct dkst_row **rows)
{
	struct timespec ts;
	size_t n;

	pthread_mutex_lock(&st->mu);
	while (st->q.len == 0 && !st->stop)
		pthread_cond_wait(&st->cv, &st->mu);
	deadline(&ts, st->o.flush_ms);
	while (st->q.len < st->o.batch_max && !st->stop)
		if (pthread_cond_timedwait(&st->cv, &st->mu, &ts) == ETIMEDOUT)
			break;
	n = dkst_queue_take(&st->q, (void **)rows, st->o.batch_max);
	pthread_mutex_unlock(&st->mu);
	return n;
}

static void *
writer(void *arg)
{
	dkst *st = arg;
	struct dkst_row **rows = calloc(st->o.batch_max, sizeof(*rows));
	size_t n;
	int rc;

	if (rows == NULL)
		return NULL;	/* dkst_close() counts what is left as lost */
	while ((n = batch_take(st, rows)) > 0) {
		pthread_mutex_lock(&st->dbmu);
		rc = batch_write(st->b, rows, n);
		pthread_mutex_unlock(&st->dbmu);
		batch_done(st, rows, n, rc);
	}
	free(rows);
	return NULL;
}

void
dkst_put(dkst *st, struct dkst_row *r)
{
	uint64_t dropped = 0;

	if (st == NULL) {
		dkst_row_free(r);
		return;
	}
	pthread_mutex_lock(&st->mu);
	st->c.put++;
	if (r != NULL)
		dkst_tally_row(&st->tally, r);
	if (r == NULL || st->o.readonly || dkst_queue_push(&st->q, r) != 0)
		dropped = ++st->c.dropped;
	else if (st->q.len == 1 || st->q.len == st->o.batch_max)
		/* The writer waits for a first row, then for a full batch:
		 * waking it for every row would cost a switch per row. */
		pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (dropped == 0)
		return;
	/* A line at the 1st, 2nd, 4th, 8th ... drop: said, not flooding. */
	if ((dropped & (dropped - 1)) == 0)
		st_log(st, "store %s: %s: row dropped, %llu so far",
		    st->b->name, r == NULL ? "out of memory building it" :
		    "queue full", (unsigned long long)dropped);
	dkst_row_free(r);
}

/* The backend of uri, opened: 0 or -1 with err. */
static int
backend_open(const char *uri, const struct dkst_opts *o,
    struct dkst_backend **b, char *err, size_t errlen)
{
	if (strncmp(uri, "postgresql://", 13) == 0 ||
	    strncmp(uri, "postgres://", 11) == 0)
		return dkst_pg_open(uri, o->timeout_ms, o->readonly, b, err,
		    errlen);
	if (strncmp(uri, "sqlite:", 7) == 0)
		uri += 7;
	if (*uri == '\0') {
		*b = NULL;
		snprintf(err, errlen, "store: empty file name");
		return -1;
	}
	return dkst_sqlite_open(uri, o->busy_ms, o->readonly, b, err,
	    errlen);
}

static void
opts_default(struct dkst_opts *o, const struct dkst_opts *in)
{
	if (in != NULL)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (o->queue_max == 0)
		o->queue_max = 4096;
	if (o->batch_max == 0)
		o->batch_max = 256;
	if (o->flush_ms == 0)
		o->flush_ms = 200;
	if (o->busy_ms == 0)
		o->busy_ms = 50;
	if (o->timeout_ms == 0)
		o->timeout_ms = 30000;
}

static dkst *
st_new(const struct dkst_opts *in)
{
	dkst *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	opts_default(&st->o, in);
	if (dkst_queue_init(&st->q, st->o.queue_max) != 0) {
		free(st);
		return NULL;
	}
	pthread_mutex_init(&st->mu, NULL);
	pthread_mutex_init(&st->dbmu, NULL);
	pthread_cond_init(&st->cv, NULL);
	return st;
}

/* Rows still queued when the writer stopped: lost. */
static void
st_drain(dkst *st)
{
	struct dkst_row *r;

	while (dkst_queue_take(&st->q, (void **)&r, 1) == 1) {
		st->c.lost++;
		dkst_row_free(r);
	}
}

static void
st_free(dkst *st)
{
	dkst_queue_clear(&st->q);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->dbmu);
	pthread_cond_destroy(&st->cv);
	if (st->b != NULL)
		st->b->close(st->b);
	free(st);
}

int
dkst_open(const char *uri, const struct dkst_opts *o, dkst **stp,
    char *err, size_t errlen)
{
	dkst *st = st_new(o);

	*stp = NULL;
	if (st == NULL) {
		snprintf(err, errlen, "%s: out of memory", uri);
		return -1;
	}
	if (backend_open(uri, &st->o, &st->b, err, errlen) != 0)
		goto fail;
	if (st->o.readonly && dkst_schema_check(st->b) != 0) {
		snprintf(err, errlen, "%s: %s", uri, st->b->err);
		goto fail;
	}
	if (!st->o.readonly &&
	    dkst_schema_migrate(st->b, DKST_SCHEMA_VERSION) != 0) {
		snprintf(err, errlen, "%s", st->b->err);
		goto fail;
	}
	if (!st->o.readonly) {
		if (pthread_create(&st->writer, NULL, writer, st) != 0) {
			snprintf(err, errlen, "%s: cannot start the writer",
			    uri);
			goto fail;
		}
		st->writing = 1;
	}
	*stp = st;
	return 0;
fail:
	st_free(st);
	return -1;
}

void
dkst_counts(dkst *st, struct dkst_counts *counts)
{
	pthread_mutex_lock(&st->mu);
	*counts = st->c;
	pthread_mutex_unlock(&st->mu);
}

void
dkst_tally_get(dkst *st, struct dkst_tally *t)
{
	pthread_mutex_lock(&st->mu);
	*t = st->tally;
	pthread_mutex_unlock(&st->mu);
}

void
dkst_close(dkst *st, struct dkst_counts *counts)
{
	if (st == NULL)
		return;
	pthread_mutex_lock(&st->mu);
	st->stop = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (st->writing)
		pthread_join(st->writer, NULL);
	st_drain(st);	/* what a failed writer left counts as lost */
	if (counts != NULL)
		*counts = st->c;
	st_free(st);
}

int
dkst_select(dkst *st, const char *sql, int nparams,
    const char *const *params,
    int (*row)(void *arg, int n, const char *const *values), void *arg,
    char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&st->dbmu);
	rc = st->b->run(st->b, sql, nparams, params, row, arg);
	if (rc != 0)
		snprintf(err, errlen, "%s", st->b->err);
	pthread_mutex_unlock(&st->dbmu);
	return rc;
}

int
dkst_migrate(const char *uri, int version, char *err, size_t errlen)
{
	struct dkst_opts o;
	struct dkst_backend *b;
	int rc = -1;

	opts_default(&o, NULL);
	if (version < 1 || version > DKST_SCHEMA_VERSION) {
		snprintf(err, errlen, "no schema version %d", version);
		return -1;
	}
	if (backend_open(uri, &o, &b, err, errlen) == 0) {
		if ((rc = dkst_schema_migrate(b, version)) != 0)
			snprintf(err, errlen, "%s", b->err);
	}
	if (b != NULL)
		b->close(b);
	return rc;
}

int
dkst_version(const char *uri, char *err, size_t errlen)
{
	struct dkst_opts o;
	struct dkst_backend *b;
	int v = -1;

	opts_default(&o, NULL);
	if (backend_open(uri, &o, &b, err, errlen) == 0 &&
	    b->run(b, "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version integer NOT NULL)", 0, NULL, NULL, NULL) == 0 &&
	    dkst_schema_version(b, &v) != 0)
		v = -1;
	if (v < 0 && b != NULL && b->err[0] != '\0')
		snprintf(err, errlen, "%s", b->err);
	if (b != NULL)
		b->close(b);
	return v;
}
