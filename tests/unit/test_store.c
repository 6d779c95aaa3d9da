/*
 * test_store.c: the observation store's queue, batches, counters and
 * schema migration, against real SQLite files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "unit.h"
#include "verify_fx.h"
#include "metrics.h"
#include "queue.h"
#include "store.h"

/* An empty file s.db in a fresh folder; store_tmp_remove() takes the
 * WAL files SQLite leaves beside it too. */
static int
store_tmp(struct unit_tmp *t, char *uri, size_t len)
{
	if (unit_tmp_write(t, "s.db", "", 0) != 0)
		return -1;
	snprintf(uri, len, "sqlite:%s", t->path);
	return 0;
}

static void
store_tmp_remove(struct unit_tmp *t)
{
	char p[400];

	snprintf(p, sizeof(p), "%s-wal", t->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", t->path);
	unlink(p);
	unit_tmp_remove(t);
}

/* A row of one message with nsigs signatures; dkim NULL makes a row the
 * schema refuses (dkim is NOT NULL). */
static struct dkst_row *
row_make(long long seen, const char *dkim, size_t nsigs)
{
	struct dkst_row *r = calloc(1, sizeof(*r));
	char b[24];
	size_t i;

	snprintf(b, sizeof(b), "%lld", seen);
	r->m[DKST_M_SEEN] = strdup(b);
	r->m[DKST_M_DKIM] = dkim != NULL ? strdup(dkim) : NULL;
	r->m[DKST_M_CLASS] = strdup("body-appended");
	r->nsigs = nsigs;
	r->s = calloc(nsigs > 0 ? nsigs : 1, sizeof(*r->s));
	for (i = 0; i < nsigs; i++) {
		snprintf(b, sizeof(b), "%zu", i);
		r->s[i][DKST_S_IDX] = strdup(b);
		r->s[i][DKST_S_D] = strdup("example.com");
		r->s[i][DKST_S_RESULT] = strdup("pass");
	}
	return r;
}

/* The one number a query gives, or -1. */
static long long
count_of(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

static void
store_queue_fifo_bounded(void)
{
	struct dkst_queue q;
	int v[5] = { 0, 1, 2, 3, 4 };
	void *out[5];
	size_t n;

	CU_ASSERT_FATAL(dkst_queue_init(&q, 3) == 0);
	CU_ASSERT(dkst_queue_push(&q, &v[0]) == 0);
	CU_ASSERT(dkst_queue_push(&q, &v[1]) == 0);
	CU_ASSERT(dkst_queue_push(&q, &v[2]) == 0);
	CU_ASSERT(dkst_queue_push(&q, &v[3]) == -1);	/* full: refused */
	n = dkst_queue_take(&q, out, 2);
	CU_ASSERT(n == 2 && out[0] == &v[0] && out[1] == &v[1]);
	/* the ring wraps: room for two more after the oldest left */
	CU_ASSERT(dkst_queue_push(&q, &v[3]) == 0);
	CU_ASSERT(dkst_queue_push(&q, &v[4]) == 0);
	CU_ASSERT(dkst_queue_push(&q, &v[0]) == -1);
	n = dkst_queue_take(&q, out, 5);
	CU_ASSERT(n == 3 && out[0] == &v[2] && out[1] == &v[3] &&
	    out[2] == &v[4]);
	CU_ASSERT(dkst_queue_take(&q, out, 5) == 0);
	dkst_queue_clear(&q);
}

struct logged {
	int lines;
	char last[512];
};

static void
log_keep(void *arg, const char *line)
{
	struct logged *l = arg;

	l->lines++;
	snprintf(l->last, sizeof(l->last), "%s", line);
}

/* A writer that waits for a batch the queue can never hold takes nothing
 * before dkst_close(): the queue fills and the rest is dropped. */
static void
store_queue_full_drops(void)
{
	struct dkst_opts o = { .queue_max = 4, .batch_max = 1000,
	    .flush_ms = 60000, .log = log_keep };
	struct dkst_counts c;
	struct unit_tmp t;
	struct logged l = { 0, "" };
	char uri[400];
	dkst *st;
	char err[300];
	int i;

	o.log_arg = &l;
	CU_ASSERT_FATAL(store_tmp(&t, uri, sizeof(uri)) == 0);
	CU_ASSERT_FATAL(dkst_open(uri, &o, &st, err, sizeof(err)) == 0);
	for (i = 0; i < 10; i++)
		dkst_put(st, row_make(1000 + i, "pass", 1));
	dkst_put(st, NULL);	/* a row that could not be built */
	dkst_close(st, &c);
	CU_ASSERT(c.put == 11);
	CU_ASSERT(c.dropped == 7);
	CU_ASSERT(c.written == 4);
	CU_ASSERT(c.lost == 0);
	/* drops 1, 2 and 4 are logged, 3, 5 and 6 are not */
	CU_ASSERT(l.lines == 3);
	CU_ASSERT(strstr(l.last, "queue full") != NULL);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM messages") == 4);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM signatures") == 4);
	/* the first four, in order */
	CU_ASSERT(count_of(t.path, "SELECT max(seen) FROM messages") == 1003);
	store_tmp_remove(&t);
}

/* Batches of five, each one transaction: the batch holding a row the
 * schema refuses is lost whole, the others are written. */
static void
store_batch_is_transaction(void)
{
	struct dkst_opts o = { .queue_max = 100, .batch_max = 5,
	    .flush_ms = 60000, .log = log_keep };
	struct dkst_counts c;
	struct unit_tmp t;
	struct logged l = { 0, "" };
	char uri[400], err[300];
	dkst *st;
	int i;

	o.log_arg = &l;
	CU_ASSERT_FATAL(store_tmp(&t, uri, sizeof(uri)) == 0);
	CU_ASSERT_FATAL(dkst_open(uri, &o, &st, err, sizeof(err)) == 0);
	for (i = 0; i < 12; i++)
		dkst_put(st, row_make(i, i == 6 ? NULL : "fail", 2));
	dkst_close(st, &c);
	CU_ASSERT(c.put == 12 && c.dropped == 0);
	CU_ASSERT(c.written == 7);	/* rows 0-4 and 10-11 */
	CU_ASSERT(c.lost == 5);		/* rows 5-9 */
	CU_ASSERT(l.lines == 1 && strstr(l.last, "5 rows lost") != NULL);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM messages") == 7);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM messages "
	    "WHERE seen BETWEEN 5 AND 9") == 0);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM signatures") == 14);
	store_tmp_remove(&t);
}

static void
wait_written(dkst *st, uint64_t n)
{
	struct dkst_counts c;
	int i;

	for (i = 0; i < 500; i++) {
		dkst_counts(st, &c);
		if (c.written + c.lost >= n)
			return;
		usleep(10000);
	}
}

/* A removed store file: SQLite would write on into the unlinked file;
 * the rows are counted lost and said instead. */
static void
store_file_removed(void)
{
	struct dkst_opts o = { .batch_max = 1, .log = log_keep };
	struct dkst_counts c;
	struct unit_tmp t;
	struct logged l = { 0, "" };
	char uri[400], err[300];
	dkst *st;
	int i;

	o.log_arg = &l;
	CU_ASSERT_FATAL(store_tmp(&t, uri, sizeof(uri)) == 0);
	CU_ASSERT_FATAL(dkst_open(uri, &o, &st, err, sizeof(err)) == 0);
	dkst_put(st, row_make(1, "pass", 1));
	wait_written(st, 1);
	unlink(t.path);
	for (i = 0; i < 3; i++)
		dkst_put(st, row_make(2 + i, "pass", 1));
	dkst_close(st, &c);
	CU_ASSERT(c.written == 1);
	CU_ASSERT(c.lost == 3);
	CU_ASSERT(l.lines == 3 && strstr(l.last, "removed") != NULL);
	store_tmp_remove(&t);
}

/* A version 1 store (no ARC, no classes) with a row in it: opening it
 * applies step 2, keeps the row and takes the new columns. */
static void
store_migrate_v1(void)
{
	struct dkst_counts c;
	struct unit_tmp t;
	char uri[400], err[300];
	dkst *st;
	sqlite3 *db;

	CU_ASSERT_FATAL(store_tmp(&t, uri, sizeof(uri)) == 0);
	CU_ASSERT_FATAL(dkst_migrate(uri, 1, err, sizeof(err)) == 0);
	CU_ASSERT(dkst_version(uri, err, sizeof(err)) == 1);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM pragma_table_info("
	    "'messages') WHERE name = 'class'") == 0);
	CU_ASSERT_FATAL(sqlite3_open(t.path, &db) == SQLITE_OK);
	CU_ASSERT(sqlite3_exec(db, "INSERT INTO messages (seen, dkim) "
	    "VALUES (42, 'fail')", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT_FATAL(dkst_open(uri, NULL, &st, err, sizeof(err)) == 0);
	dkst_put(st, row_make(43, "fail", 0));
	dkst_close(st, &c);
	CU_ASSERT(c.written == 1);
	CU_ASSERT(dkst_version(uri, err, sizeof(err)) == DKST_SCHEMA_VERSION);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM messages") == 2);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM messages "
	    "WHERE seen = 42 AND class IS NULL") == 1);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM messages "
	    "WHERE seen = 43 AND class = 'body-appended'") == 1);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM schema_version")
	    == DKST_SCHEMA_VERSION);
	store_tmp_remove(&t);
}

/* A store from a newer dkimkit is refused, not written half-understood. */
static void
store_newer_refused(void)
{
	struct unit_tmp t;
	char uri[400], err[300];
	dkst *st;
	sqlite3 *db;

	CU_ASSERT_FATAL(store_tmp(&t, uri, sizeof(uri)) == 0);
	CU_ASSERT_FATAL(sqlite3_open(t.path, &db) == SQLITE_OK);
	CU_ASSERT(sqlite3_exec(db, "CREATE TABLE schema_version (version "
	    "integer NOT NULL); INSERT INTO schema_version VALUES (99)",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT(dkst_open(uri, NULL, &st, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "99") != NULL && strstr(err, "newer") != NULL);
	CU_ASSERT(dkst_migrate(uri, 0, err, sizeof(err)) == -1);
	store_tmp_remove(&t);
}

/* A plain path and sqlite:PATH are the same store; a bad one is said. */
static void
store_uri_forms(void)
{
	struct unit_tmp t;
	char uri[400], err[300];
	dkst *st;

	CU_ASSERT_FATAL(store_tmp(&t, uri, sizeof(uri)) == 0);
	CU_ASSERT(dkst_migrate(t.path, 1, err, sizeof(err)) == 0);
	CU_ASSERT(dkst_version(uri, err, sizeof(err)) == 1);
	CU_ASSERT(dkst_open("sqlite:", NULL, &st, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "empty") != NULL);
	CU_ASSERT(dkst_open("sqlite:/nonexistent-dir/x/s.db", NULL, &st, err,
	    sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "/nonexistent-dir/x/s.db") != NULL);
	store_tmp_remove(&t);
}

/* The observation of verified messages: the facts given, the verdict,
 * each signature's tags, and the class of a failure. */
static void
store_row_from_verifier(void)
{
	static const char m[] = "From: Joe <Joe@Example.COM>\r\n"
	    "To: list@example.net\r\nSubject: hi\r\n\r\nbody\r\n";
	struct dkk_verify_opts vo = { .explain = 1, .adsp = 1 };
	struct dkk_spf_facts spf = { DKK_SPF_PASS, DKK_SPF_MAILFROM,
	    "example.com" };
	struct dkst_facts f = { .seen = 1700000000, .client_ip = "192.0.2.7",
	    .helo = "mx.example.com", .mail_from = "<joe@Example.Com>",
	    .spf = &spf, .adsp = 1 };
	struct dkk_sign_opts so;
	struct unit_fx fx;
	struct dkst_row *r;
	dkk_verifier *v;
	char *sm, *bad;

	CU_ASSERT_FATAL(unit_fx_init(&fx, NULL) == 0);
	so = unit_opts(fx.ed, "ed");
	so.body_canon = DKK_CANON_SIMPLE;
	so.body_length = 1;
	sm = unit_sign(&fx, &so, m);
	CU_ASSERT_FATAL(sm != NULL);
	v = unit_verify_opts(fx.ctx, &vo, sm, strlen(sm), 0);
	CU_ASSERT_FATAL(v != NULL);
	r = dkst_row_from_verifier(v, &f);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_SEEN], "1700000000");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_CLIENT_IP], "192.0.2.7");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_HELO], "mx.example.com");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_MAIL_FROM], "example.com");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_FROM], "example.com");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_DKIM], "pass");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_SPF], "pass");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_ADSP], "pass");
	CU_ASSERT(r->m[DKST_M_DMARC] == NULL);	/* not evaluated */
	CU_ASSERT(r->m[DKST_M_ARC] == NULL);
	CU_ASSERT(r->m[DKST_M_CLASS] == NULL);	/* it passed */
	CU_ASSERT_FATAL(r->nsigs == 1);
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_D], "example.com");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_S], "ed");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_A], "ed25519-sha256");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_CANON], "relaxed/simple");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_KEY_BITS], "256");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_BODY_LENGTH], "6");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_RESULT], "pass");
	CU_ASSERT(r->s[0][DKST_S_CLASS] == NULL);
	dkst_row_free(r);
	dkk_verifier_free(v);

	/* the subject tagged: fail, class subject-tagged on both rows */
	bad = replace(sm, "Subject: hi", "Subject: [list] hi");
	v = unit_verify_opts(fx.ctx, &vo, bad, strlen(bad), 0);
	CU_ASSERT_FATAL(v != NULL);
	f.spf = NULL;
	f.adsp = 0;
	r = dkst_row_from_verifier(v, &f);
	CU_ASSERT_FATAL(r != NULL && r->nsigs == 1);
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_DKIM], "fail");
	CU_ASSERT(r->m[DKST_M_SPF] == NULL && r->m[DKST_M_ADSP] == NULL);
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_CLASS], "subject-tagged");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_CLASS], "subject-tagged");
	CU_ASSERT_STRING_EQUAL(r->s[0][DKST_S_RESULT], "fail");
	dkst_row_free(r);
	dkk_verifier_free(v);
	free(bad);
	free(sm);
	unit_fx_free(&fx);
}

/* Read only: an older store is refused and left at its version, the
 * rows of a current one are read, and a row put is dropped. */
static void
store_readonly(void)
{
	struct dkst_opts ro = { .readonly = 1 };
	struct dkst_counts c;
	struct unit_tmp t;
	char uri[400], err[300];
	dkst *st;

	CU_ASSERT_FATAL(store_tmp(&t, uri, sizeof(uri)) == 0);
	CU_ASSERT(dkst_open(uri, &ro, &st, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "not a dkimkit store") != NULL);
	CU_ASSERT_FATAL(dkst_migrate(uri, 1, err, sizeof(err)) == 0);
	CU_ASSERT(dkst_open(uri, &ro, &st, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "version 1 is older") != NULL);
	CU_ASSERT(dkst_version(uri, err, sizeof(err)) == 1);
	CU_ASSERT_FATAL(dkst_migrate(uri, DKST_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	CU_ASSERT_FATAL(dkst_open(uri, &ro, &st, err, sizeof(err)) == 0);
	dkst_put(st, row_make(43, "fail", 0));
	dkst_close(st, &c);
	CU_ASSERT(c.put == 1 && c.dropped == 1 && c.written == 0);
	CU_ASSERT(count_of(t.path, "SELECT count(*) FROM messages") == 0);
	store_tmp_remove(&t);
}

/* The tally counts each method's verdicts; label values are escaped as
 * the exposition format asks; the file is replaced whole. */
static void
store_prometheus(void)
{
	struct dkst_counts c = { .put = 3, .written = 2, .dropped = 1 };
	struct dkst_tally t;
	struct unit_tmp tmp;
	char buf[4096];
	FILE *f;
	size_t n;

	dkst_tally_init(&t);
	dkst_tally_add(&t, "dkim", "pass", 2);
	dkst_tally_add(&t, "spf", "temperror", 1);
	dkst_tally_add(&t, "dkim", "pass", 1);
	dkst_tally_add(&t, "arc", "a\"b\\c\nd", 1);
	t.messages = 3;
	CU_ASSERT(t.n == 3 && t.v[0].n == 3);
	CU_ASSERT_FATAL(unit_tmp_write(&tmp, "m.prom", "old", 3) == 0);
	CU_ASSERT_FATAL(dkst_prom_file(tmp.path, &t, &c, buf,
	    sizeof(buf)) == 0);
	CU_ASSERT_FATAL((f = fopen(tmp.path, "r")) != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	CU_ASSERT(strncmp(buf, "old", 3) != 0);
	CU_ASSERT(strstr(buf, "\ndkimkit_messages_total 3\n") != NULL);
	CU_ASSERT(strstr(buf, "dkimkit_verdicts_total{method=\"dkim\","
	    "result=\"pass\"} 3\n") != NULL);
	CU_ASSERT(strstr(buf, "result=\"a\\\"b\\\\c\\nd\"} 1\n") != NULL);
	CU_ASSERT(strstr(buf, "dkimkit_dns_errors_total 1\n") != NULL);
	CU_ASSERT(strstr(buf, "dkimkit_store_rows_dropped_total 1\n") != NULL);
	unit_tmp_remove(&tmp);
}

/* Schema 3: what an aggregate report needs from a DMARC evaluation,
 * the record as published (absent tags NULL), DMARC's aligned verdicts,
 * the envelope recipient's domain and SPF's scope in RFC 9990's words. */
static void
store_row_dmarc_published(void)
{
	static const char zone[] =
	    "_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=quarantine; "
	    "np=reject; aspf=s; psd=n; t=y\"\n";
	static const char m[] = "From: Joe <joe@example.com>\r\n"
	    "Subject: hi\r\n\r\nbody\r\n";
	struct dkk_verify_opts vo = { .dmarc = 1,
	    .spf = { DKK_SPF_PASS, DKK_SPF_HELO, "mx.example.net" } };
	struct dkk_spf_facts spf = vo.spf;
	struct dkst_facts f = { .seen = 1700000000, .client_ip = "192.0.2.7",
	    .rcpt_to = "<Someone@Rcpt.Example>", .spf = &spf };
	struct dkk_sign_opts so;
	struct unit_fx fx;
	struct dkst_row *r;
	dkk_verifier *v;
	char *sm;

	CU_ASSERT_FATAL(unit_fx_init(&fx, zone) == 0);
	so = unit_opts(fx.ed, "ed");
	sm = unit_sign(&fx, &so, m);
	CU_ASSERT_FATAL(sm != NULL);
	v = unit_verify_opts(fx.ctx, &vo, sm, strlen(sm), 0);
	CU_ASSERT_FATAL(v != NULL);
	r = dkst_row_from_verifier(v, &f);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_DMARC], "pass");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_POLICY_DOMAIN], "example.com");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_DKIM_ALIGNED], "pass");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_SPF_ALIGNED], "fail");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_PUB_P], "quarantine");
	CU_ASSERT(r->m[DKST_M_PUB_SP] == NULL);	/* absent: the report
							 * says the default */
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_PUB_NP], "reject");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_PUB_ADKIM], "r");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_PUB_ASPF], "s");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_PUB_T], "y");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_PUB_PSD], "n");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_DISCOVERY], "treewalk");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_RCPT_TO], "rcpt.example");
	CU_ASSERT_STRING_EQUAL(r->m[DKST_M_SPF_SCOPE], "helo");
	CU_ASSERT(r->m[DKST_M_OVERRIDE] == NULL);
	dkst_row_free(r);
	dkk_verifier_free(v);
	free(sm);
	unit_fx_free(&fx);
}

/* dkk_dmarc_dests() over the fixture's zone: the record's rua= in
 * order, each judged (RFC 9990). */
static void
store_dmarc_dests(void)
{
	static const char zone[] =
	    "_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=none; "
	    "rua=mailto:a@example.com!10m, mailto:b@ok.example,"
	    "mailto:c@no.example,ftp://x\"\n"
	    "example.com._report._dmarc.ok.example. 300 IN TXT "
	    "\"v=DMARC1\"\n"
	    "_dmarc.two.example. 300 IN TXT \"v=DMARC1; p=none\"\n"
	    "_dmarc.two.example. 300 IN TXT \"v=DMARC1; p=reject\"\n";
	struct dkk_report_dest d[8];
	struct unit_fx fx;
	size_t n = 99;
	int found = 9;

	CU_ASSERT_FATAL(unit_fx_init(&fx, zone) == 0);
	CU_ASSERT_EQUAL_FATAL(dkk_dmarc_dests(fx.ctx, "example.com", 0, d, 8,
	    &n, &found), DKK_OK);
	CU_ASSERT_EQUAL(found, 1);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(d[0].addr, "a@example.com");
	CU_ASSERT_EQUAL(d[0].max_bytes, 10u << 20);
	CU_ASSERT_EQUAL(d[0].state, DKK_DEST_OK);
	CU_ASSERT_STRING_EQUAL(d[1].addr, "b@ok.example");
	CU_ASSERT_EQUAL(d[1].state, DKK_DEST_OK);
	CU_ASSERT_EQUAL(d[2].state, DKK_DEST_REFUSED);
	CU_ASSERT_EQUAL(d[3].state, DKK_DEST_BAD);
	/* max bounds what is read */
	CU_ASSERT_EQUAL(dkk_dmarc_dests(fx.ctx, "example.com", 0, d, 1, &n,
	    &found), DKK_OK);
	CU_ASSERT_EQUAL(n, 1);
	/* no ruf= */
	CU_ASSERT_EQUAL(dkk_dmarc_dests(fx.ctx, "example.com", 1, d, 8, &n,
	    &found), DKK_OK);
	CU_ASSERT(found == 1 && n == 0);
	/* RFC 9989 4.10: two records are none; no record is none */
	CU_ASSERT_EQUAL(dkk_dmarc_dests(fx.ctx, "two.example", 0, d, 8, &n,
	    &found), DKK_OK);
	CU_ASSERT(found == 0 && n == 0);
	CU_ASSERT_EQUAL(dkk_dmarc_dests(fx.ctx, "nothing.example", 0, d, 8,
	    &n, &found), DKK_OK);
	CU_ASSERT(found == 0 && n == 0);
	CU_ASSERT_EQUAL(dkk_dmarc_dests(NULL, "x", 0, d, 8, &n, &found),
	    DKK_EINVAL);
	unit_fx_free(&fx);
}

static const struct unit_test tests[] = {
	{ "store_row_from_verifier", store_row_from_verifier },
	{ "store_row_dmarc_published", store_row_dmarc_published },
	{ "store_dmarc_dests", store_dmarc_dests },
	{ "store_queue_fifo_bounded", store_queue_fifo_bounded },
	{ "store_queue_full_drops", store_queue_full_drops },
	{ "store_batch_is_transaction", store_batch_is_transaction },
	{ "store_file_removed", store_file_removed },
	{ "store_migrate_v1", store_migrate_v1 },
	{ "store_newer_refused", store_newer_refused },
	{ "store_uri_forms", store_uri_forms },
	{ "store_readonly", store_readonly },
	{ "store_prometheus", store_prometheus },
	{ NULL, NULL }
};

void
suite_store(void)
{
	unit_suite("store", tests);
}
