/*
 * check.c: dkk_policy_check(), the whole configuration looked over before
 * it meets mail: SigningTable lines naming no KeyTable line, key files
 * that cannot be read or that others can, and lines that can never
 * match (shadowed by an earlier pattern, a duplicate, a form the lookup
 * never asks for).  Each problem is one "FILE:LINE: Name: reason".
 * dkk_policy_check_records() asks DNS whether each key is published.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

struct checker {
	dkk_policy *p;
	dkk_policy_problem_fn fn;
	void *arg;
	int count;
	bool nomem;
};

static void
problem(struct checker *c, const char *fmt, ...) PRINTF(2, 3);

static void
problem(struct checker *c, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.failed || b.p == NULL)
		c->nomem = true;
	else
		c->fn(c->arg, b.p);
	c->count++;
	buf_clear(&b);
}

static void
check_refs(struct checker *c)
{
	const struct ptable *s = &c->p->signing;
	size_t i, j, len;
	char name[1024];

	for (i = 0; i < s->n; i++) {
		len = strcspn(s->v[i].value, ":");
		if (len >= sizeof(name) || memchr(s->v[i].value, '%', len))
			continue;	/* known only per message */
		memcpy(name, s->v[i].value, len);
		name[len] = '\0';
		if (!c->p->keys.patterns &&
		    ptable_get(&c->p->keys, name) != NULL)
			continue;
		for (j = 0; c->p->keys.patterns && j < c->p->keys.n; j++)
			if (glob_match(c->p->keys.v[j].key, name))
				break;
		if (!c->p->keys.patterns || j == c->p->keys.n)
			problem(c, "%s: SigningTable: '%s' is not in the "
			    "KeyTable", s->v[i].where, name);
	}
}

static void
check_keyfile(struct checker *c, const char *where, const char *field,
    const char *path)
{
	struct stat st;
	FILE *f;

	if (strchr(path, '%') != NULL)
		return;		/* known only per message */
	if ((f = fopen(path, "r")) == NULL) {
		problem(c, "%s: %s: %s: %s", where, field, path,
		    strerror(errno));
		return;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		problem(c, "%s: %s: %s: readable or writable by group or "
		    "others (mode %04o)", where, field, path,
		    (unsigned)(st.st_mode & 07777));
	fclose(f);
}

static void
check_keys(struct checker *c)
{
	const struct ptable *k = &c->p->keys;
	const char *v, *end;
	char path[4096];
	size_t i, len;

	for (i = 0; i < k->n; i++) {
		v = strchr(strchr(k->v[i].value, ':') + 1, ':') + 1;
		end = v + strcspn(v, ":");
		len = (size_t)(end - v);
		if (len >= sizeof(path))
			continue;
		memcpy(path, v, len);
		path[len] = '\0';
		check_keyfile(c, k->v[i].where, "KeyTable", path);
	}
	if (c->p->set[PK_SIGNINGTABLE].value == NULL &&
	    c->p->set[PK_DOMAIN].value != NULL)
		check_keyfile(c, c->p->set[PK_KEYFILE].where, "KeyFile",
		    c->p->set[PK_KEYFILE].value);
}

/* Each question gets the first line that covers it: a line that an
 * earlier one covers is never that first.  The earlier line is the
 * first whose pattern covers j's own text (as ptable_find answers),
 * when that is above j. */
static const struct pentry *
check_cover(const struct ptable *s, size_t j)
{
	const struct pentry *e = ptable_find(s, s->v[j].key);

	return e != NULL && e < &s->v[j] ? e : NULL;
}

static void
check_patterns(struct checker *c)
{
	const struct ptable *s = &c->p->signing;
	const struct pentry *e;
	size_t j;

	for (j = 0; j < s->n; j++)
		if ((e = check_cover(s, j)) != NULL)
			problem(c, "%s: SigningTable: '%s' never matches: '%s' "
			    "(%s) comes first and covers it", s->v[j].where,
			    s->v[j].key, e->key, e->where);
}

/* Exact keys are asked only in the forms decide.c lists. */
static void
check_exact(struct checker *c)
{
	const struct ptable *s = &c->p->signing;
	const struct pentry *first;
	const char *k, *star;
	size_t j;

	for (j = 0; j < s->n; j++) {
		k = s->v[j].key;
		star = strchr(k, '*');
		first = ptable_get(s, k);
		if (first != &s->v[j])
			problem(c, "%s: SigningTable: '%s' never matches: the "
			    "same key at %s comes first", s->v[j].where, k,
			    first->where);
		else if (star != NULL && strcmp(k, "*") != 0 &&
		    !(strcmp(star, "*") == 0 && star > k && star[-1] == '@'))
			problem(c, "%s: SigningTable: '%s' never matches: only "
			    "refile: tables have patterns", s->v[j].where, k);
	}
}

static void
check_hosts(struct checker *c, const struct phosts *h, const char *field)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->v[i].name != NULL && strchr(h->v[i].name, '*') != NULL)
			problem(c, "%s: %s: '%s' never matches: names are "
			    "compared whole; write '.domain' for every host "
			    "under a domain", h->v[i].where, field,
			    h->v[i].name);
}

static int
policy_check_run(dkk_policy *p, dkk_policy_problem_fn fn, void *arg)
{
	struct checker c;

	if (fn == NULL)
		return DKK_EINVAL;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.fn = fn;
	c.arg = arg;
	check_refs(&c);
	check_keys(&c);
	if (p->signing.patterns)
		check_patterns(&c);
	else
		check_exact(&c);
	check_hosts(&c, &p->internal, "InternalHosts");
	check_hosts(&c, &p->ignore, "ExternalIgnoreList");
	return c.nomem ? DKK_ENOMEM : c.count;
}

int
dkk_policy_check(dkk_policy *p, dkk_policy_problem_fn fn, void *arg)
{
	int rc;

	if (p == NULL)
		return DKK_EINVAL;
	ctx_begin(p->ctx);
	rc = policy_check_run(p, fn, arg);
	ctx_end(p->ctx, rc < 0 ? rc : DKK_OK);
	return rc;
}

/* One key's record, looked up now: named when it is missing, holds
 * another key, is revoked or cannot be looked up; a key file that opens
 * but does not load is named as such (one that does not open is
 * dkk_policy_check's). */
static void
check_record(struct checker *c, const char *where, const char *field,
    const struct dkk_policy_sig *s)
{
	enum dkk_record_state st;
	const char *why;
	int rc;

	if (strchr(s->domain, '%') != NULL ||
	    strchr(s->selector, '%') != NULL ||
	    strchr(s->keyfile, '%') != NULL)
		return;		/* known only per message */
	rc = policy_published_state(c->p, s, false, &st);
	if (rc == DKK_ENOMEM)
		c->nomem = true;
	else if (rc != DKK_OK && access(s->keyfile, R_OK) == 0)
		problem(c, "%s: %s: %s: the key cannot be loaded: %s", where,
		    field, s->keyfile, dkk_ctx_error(c->p->ctx));
	else if (rc != DKK_OK)
		return;
	else if ((why = st == DKK_RECORD_TEMPERROR ? "the key record could "
	    "not be looked up (DNS trouble)" : policy_published_problem(st)) !=
	    NULL)
		problem(c, "%s: %s: %s: %s._domainkey.%s: %s", where, field,
		    s->keyfile, s->selector, s->domain, why);
}

/* "DOMAIN:SELECTOR:KEYFILE[:ALG]" split into s (pointing into buf). */
static bool
check_split(const char *value, char *buf, size_t size,
    struct dkk_policy_sig *s)
{
	if (strlen(value) >= size)
		return false;
	memcpy(buf, value, strlen(value) + 1);
	memset(s, 0, sizeof(*s));
	s->domain = buf;
	if ((s->selector = strchr(buf, ':')) == NULL)
		return false;
	*s->selector++ = '\0';
	if ((s->keyfile = strchr(s->selector, ':')) == NULL)
		return false;
	*s->keyfile++ = '\0';
	s->keyfile[strcspn(s->keyfile, ":")] = '\0';
	return true;
}

static int
policy_check_records_run(dkk_policy *p, dkk_policy_problem_fn fn,
    void *arg)
{
	struct dkk_policy_sig s;
	struct checker c;
	char buf[4096];
	size_t i;

	if (fn == NULL)
		return DKK_EINVAL;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.fn = fn;
	c.arg = arg;
	for (i = 0; i < p->keys.n && !c.nomem; i++)
		if (check_split(p->keys.v[i].value, buf, sizeof(buf), &s))
			check_record(&c, p->keys.v[i].where, "KeyTable", &s);
	if (p->set[PK_SIGNINGTABLE].value == NULL &&
	    p->set[PK_DOMAIN].value != NULL && p->domains.n > 0 &&
	    !p->domains.patterns) {
		/* the single KeyFile signs for each listed domain */
		memset(&s, 0, sizeof(s));
		s.selector = p->set[PK_SELECTOR].value;
		s.keyfile = p->set[PK_KEYFILE].value;
		for (i = 0; i < p->domains.n && !c.nomem; i++) {
			s.domain = p->domains.v[i].key;
			check_record(&c, p->set[PK_KEYFILE].where, "KeyFile",
			    &s);
		}
	}
	return c.nomem ? DKK_ENOMEM : c.count;
}

int
dkk_policy_check_records(dkk_policy *p, dkk_policy_problem_fn fn,
    void *arg)
{
	int rc;

	if (p == NULL)
		return DKK_EINVAL;
	ctx_begin(p->ctx);
	rc = policy_check_records_run(p, fn, arg);
	ctx_end(p->ctx, rc < 0 ? rc : DKK_OK);
	return rc;
}
