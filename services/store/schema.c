/*
 * schema.c: the store's schema as ordered migration steps.  Step k takes
 * a store from version k-1 to k; a store at version v gets the steps
 * after v, each with its row in schema_version, under a lock (SQLite: a
 * write transaction per step; PostgreSQL: an advisory lock around them
 * all), so a step is applied once even when two hosts open the store at
 * once.
 * Never edit a step that has shipped: add the next one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "schema.h"
#include "store.h"

/* "@ID@" stands for the backend's auto-numbered key. */
static const char *const steps[DKST_SCHEMA_VERSION] = {
	/* 1: messages and their signatures. */
	"CREATE TABLE messages (id @ID@, seen bigint NOT NULL,"
	" client_ip text, helo text, mail_from text, from_domain text,"
	" dkim text NOT NULL, dkim_reason text, spf text, spf_domain text,"
	" dmarc text, dmarc_policy text, disposition text, adsp text);"
	"CREATE TABLE signatures (message_id bigint NOT NULL"
	" REFERENCES messages (id) ON DELETE CASCADE, idx integer NOT NULL,"
	" d text, s text, a text, canon text, key_bits integer,"
	" body_length bigint, result text NOT NULL, reason text,"
	" PRIMARY KEY (message_id, idx));"
	"CREATE INDEX messages_seen ON messages (seen);",
	/* 2: ARC and the failure classes of #18. */
	"ALTER TABLE messages ADD COLUMN arc text;"
	"ALTER TABLE messages ADD COLUMN class text;"
	"ALTER TABLE signatures ADD COLUMN class text;",
	/* 3: what an aggregate report (RFC 9990) needs: the envelope
	 * recipient, SPF's scope, the policy record as published, DMARC's
	 * alignment verdicts and a local policy override. */
	"ALTER TABLE messages ADD COLUMN rcpt_domain text;"
	"ALTER TABLE messages ADD COLUMN spf_scope text;"
	"ALTER TABLE messages ADD COLUMN policy_domain text;"
	"ALTER TABLE messages ADD COLUMN dkim_aligned text;"
	"ALTER TABLE messages ADD COLUMN spf_aligned text;"
	"ALTER TABLE messages ADD COLUMN pub_p text;"
	"ALTER TABLE messages ADD COLUMN pub_sp text;"
	"ALTER TABLE messages ADD COLUMN pub_np text;"
	"ALTER TABLE messages ADD COLUMN pub_adkim text;"
	"ALTER TABLE messages ADD COLUMN pub_aspf text;"
	"ALTER TABLE messages ADD COLUMN pub_t text;"
	"ALTER TABLE messages ADD COLUMN pub_psd text;"
	"ALTER TABLE messages ADD COLUMN discovery text;"
	"ALTER TABLE messages ADD COLUMN override text;"
	"ALTER TABLE messages ADD COLUMN override_comment text;"
	"CREATE INDEX messages_policy ON messages (policy_domain, seen);",
};

static int
version_row(void *arg, int n, const char *const *v)
{
	*(int *)arg = n > 0 && v[0] != NULL ? atoi(v[0]) : 0;
	return 1;
}

int
dkst_schema_version(struct dkst_backend *b, int *version)
{
	*version = 0;
	return b->run(b, "SELECT max(version) FROM schema_version", 0, NULL,
	    version_row, version);
}

void
dkst_rollback(struct dkst_backend *b)
{
	char why[sizeof(b->err)];

	memcpy(why, b->err, sizeof(why));
	b->run(b, "ROLLBACK", 0, NULL, NULL, NULL);
	memcpy(b->err, why, sizeof(why));
}

/* Step k with @ID@ replaced. */
static char *
step_sql(const struct dkst_backend *b, int k)
{
	const char *s = steps[k - 1], *at = strstr(s, "@ID@");
	size_t n;
	char *out;

	if (at == NULL)
		return strdup(s);
	n = strlen(s) - 4 + strlen(b->id_type) + 1;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%.*s%s%s", (int)(at - s), s, b->id_type,
		    at + 4);
	return out;
}

/* Step k's tables and its row in schema_version, in the caller's
 * transaction. */
static int
step_body(struct dkst_backend *b, int k)
{
	char mark[80], *sql;
	int rc;

	if ((sql = step_sql(b, k)) == NULL) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		return -1;
	}
	snprintf(mark, sizeof(mark),
	    "INSERT INTO schema_version (version) VALUES (%d)", k);
	rc = b->run(b, sql, 0, NULL, NULL, NULL) == 0 &&
	    b->run(b, mark, 0, NULL, NULL, NULL) == 0 ? 0 : -1;
	free(sql);
	return rc;
}

static int
commit_or_rollback(struct dkst_backend *b, int rc, const char *what)
{
	if (rc == 0 && b->run(b, "COMMIT", 0, NULL, NULL, NULL) == 0)
		return 0;
	if (b->err[0] == '\0')
		snprintf(b->err, sizeof(b->err), "%s failed", what);
	dkst_rollback(b);
	return -1;
}

/* One step in one transaction; the version read again under the lock,
 * since another host may have applied it meanwhile. */
static int
step_apply(struct dkst_backend *b, int k)
{
	int now, rc = -1;

	if (b->run(b, "BEGIN IMMEDIATE", 0, NULL, NULL, NULL) != 0)
		return -1;
	if (dkst_schema_version(b, &now) == 0 && now >= k)
		rc = 0;
	else if (now == k - 1)
		rc = step_body(b, k);
	return commit_or_rollback(b, rc, "migration step");
}

static int
newer_than_us(struct dkst_backend *b, int v)
{
	if (v <= DKST_SCHEMA_VERSION)
		return 0;
	snprintf(b->err, sizeof(b->err), "the store's schema version %d is "
	    "newer than this dkimkit's (%d)", v, DKST_SCHEMA_VERSION);
	return 1;
}

/* SQLite: BEGIN IMMEDIATE serialises each step. */
static int
migrate_steps(struct dkst_backend *b, int target)
{
	int v, k;

	if (b->run(b, "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version integer NOT NULL)", 0, NULL, NULL, NULL) != 0 ||
	    dkst_schema_version(b, &v) != 0 || newer_than_us(b, v))
		return -1;
	for (k = v + 1; k <= target; k++)
		if (step_apply(b, k) != 0)
			return -1;
	return 0;
}

/* PostgreSQL: everything, CREATE of schema_version included, in one
 * transaction under the backend's lock, which every host takes first. */
static int
migrate_locked(struct dkst_backend *b, int target)
{
	int v = 0, k, rc = -1;

	if (b->run(b, "BEGIN", 0, NULL, NULL, NULL) != 0)
		return -1;
	if (b->run(b, b->lock_sql, 0, NULL, NULL, NULL) == 0 &&
	    b->run(b, "CREATE TABLE IF NOT EXISTS schema_version "
	    "(version integer NOT NULL)", 0, NULL, NULL, NULL) == 0 &&
	    dkst_schema_version(b, &v) == 0 && !newer_than_us(b, v)) {
		rc = 0;
		for (k = v + 1; k <= target && rc == 0; k++)
			rc = step_body(b, k);
	}
	return commit_or_rollback(b, rc, "migration");
}

int
dkst_schema_migrate(struct dkst_backend *b, int target)
{
	b->err[0] = '\0';
	return b->lock_sql != NULL ? migrate_locked(b, target) :
	    migrate_steps(b, target);
}

/* "schema_version" exists: SQLite and PostgreSQL name their catalogues
 * differently, so a SELECT that fails is read as "no". */
static int
has_version_table(struct dkst_backend *b)
{
	const char *sql = strcmp(b->name, "sqlite") == 0 ?
	    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	    " AND name = 'schema_version'" :
	    "SELECT count(*) FROM information_schema.tables"
	    " WHERE table_name = 'schema_version'"
	    " AND table_schema = current_schema()";
	int n = 0;

	return b->run(b, sql, 0, NULL, version_row, &n) == 0 && n > 0;
}

int
dkst_schema_check(struct dkst_backend *b)
{
	int v;

	b->err[0] = '\0';
	if (!has_version_table(b)) {
		if (b->err[0] == '\0')
			snprintf(b->err, sizeof(b->err), "not a dkimkit store "
			    "(no schema_version table)");
		return -1;
	}
	if (dkst_schema_version(b, &v) != 0 || newer_than_us(b, v))
		return -1;
	if (v < DKST_SCHEMA_VERSION) {
		snprintf(b->err, sizeof(b->err), "the store's schema version "
		    "%d is older than this dkimkit's (%d): a host or verify "
		    "--store migrates it when it opens it to write", v,
		    DKST_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}
