/*
 * table.c: OpenDKIM data sets read as files: "file:PATH" (or a bare
 * path) and "refile:PATH" hold one entry a line, a key and the rest of
 * the line as its value, "#" starting a comment; "csl:a,b=c" is a comma
 * list written in the configuration itself.  Exact keys go into a hash
 * table so that a lookup costs the same with ten lines or a million;
 * refile: keys are "*" patterns and are tried in file order, as OpenDKIM
 * walks them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define TABLE_LINE 4096

/* Types OpenDKIM knows and dkimkit does not read: named, not guessed. */
static const char *const unsupported[] = {
	"db:", "dsn:", "ldap:", "ldaps:", "ldapi:", "lua:", "memcache:",
	"redis:", "mdb:", "erlang:", "socket:", NULL
};

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static uint32_t
key_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint32_t)lower((unsigned char)*s)) * 16777619u;
	return h;
}

static char *
trim(char *s)
{
	char *end;

	while (is_wsp(*s))
		s++;
	end = s + strlen(s);
	while (end > s && (is_fws(end[-1])))
		*--end = '\0';
	return s;
}

static int
table_add(struct ptable *t, size_t *cap, const char *key, const char *value,
    const char *where)
{
	struct pentry *e, *v;
	size_t ncap;

	if (t->n == *cap) {
		ncap = *cap == 0 ? 16 : *cap * 2;
		if ((v = dkk_realloc(t->v, ncap * sizeof(*v))) == NULL)
			return DKK_ENOMEM;
		t->v = v;
		*cap = ncap;
	}
	e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->key = dkk_strdup(key);
	e->value = value != NULL && *value != '\0' ? dkk_strdup(value) : NULL;
	e->where = dkk_strdup(where);
	t->n++;
	if (e->key == NULL || e->where == NULL ||
	    (value != NULL && *value != '\0' && e->value == NULL))
		return DKK_ENOMEM;
	return DKK_OK;
}

/* One line of a file: the key, then the value after white space. */
static int
table_line(struct ptable *t, size_t *cap, char *line, const char *where)
{
	char *key, *val;

	line[strcspn(line, "#")] = '\0';
	key = trim(line);
	if (*key == '\0')
		return DKK_OK;
	val = key + strcspn(key, " \t");
	if (*val != '\0')
		*val++ = '\0';
	return table_add(t, cap, key, trim(val), where);
}

static int
table_file(dkk_ctx *ctx, struct ptable *t, const char *path,
    const char *where, const char *field)
{
	char line[TABLE_LINE], at[TABLE_LINE + 32];
	size_t cap = 0, lineno = 0;
	FILE *f;
	int rc = DKK_OK;

	if ((f = fopen(path, "r")) == NULL)
		return ctx_fail(ctx, DKK_EIO, "%s: %s: %s: %s", where, field,
		    path, strerror(errno));
	while (rc == DKK_OK && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		snprintf(at, sizeof(at), "%s:%zu", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(f))
			rc = ctx_fail(ctx, DKK_ESYNTAX, "%s: %s: line longer "
			    "than %d bytes", at, field, TABLE_LINE - 2);
		else
			rc = table_line(t, &cap, line, at);
	}
	if (rc == DKK_OK && ferror(f))
		rc = ctx_fail(ctx, DKK_EIO, "%s: %s: %s: %s", where, field,
		    path, strerror(errno));
	fclose(f);
	return rc;
}

/* "a, b=c": key=value items, white space around them dropped. */
static int
table_csl(struct ptable *t, const char *list, const char *where)
{
	char at[64], *copy, *item, *save = NULL, *eq;
	size_t cap = 0, n = 0;
	int rc = DKK_OK;

	if ((copy = dkk_strdup(list)) == NULL)
		return DKK_ENOMEM;
	for (item = strtok_r(copy, ",", &save); rc == DKK_OK && item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		item = trim(item);
		if (*item == '\0')
			continue;
		snprintf(at, sizeof(at), "csl:%zu", ++n);
		if ((eq = strchr(item, '=')) != NULL)
			*eq++ = '\0';
		rc = table_add(t, &cap, trim(item), eq != NULL ? trim(eq) :
		    NULL, where != NULL ? where : at);
	}
	free(copy);
	return rc;
}

/* How a line is found: by its key, by the "@TEXT" of a "*@TEXT"
 * pattern, or by trying it (the other patterns of a refile: table). */
enum pkind { PK_EXACT, PK_SUFFIX, PK_PATTERN };

static enum pkind
table_kind(const struct ptable *t, size_t i)
{
	const char *k = t->v[i].key;

	if (!t->patterns || strchr(k, '*') == NULL)
		return PK_EXACT;
	if (k[0] == '*' && k[1] == '@' && strchr(k + 1, '*') == NULL)
		return PK_SUFFIX;
	return PK_PATTERN;
}

static void
table_chain(struct pentry **bucket, size_t nbucket, struct pentry *e,
    const char *key)
{
	size_t b = key_hash(key) & (nbucket - 1);

	e->hnext = bucket[b];
	bucket[b] = e;
}

static int
table_index(struct ptable *t)
{
	size_t i;

	t->nbucket = 16;
	while (t->nbucket < 2 * t->n)
		t->nbucket *= 2;
	if ((t->bucket = dkk_calloc(t->nbucket, sizeof(*t->bucket))) == NULL ||
	    (t->patterns && (t->sbucket = dkk_calloc(t->nbucket,
	    sizeof(*t->sbucket))) == NULL) ||
	    (t->patterns && (t->pat = dkk_calloc(t->n + 1,
	    sizeof(*t->pat))) == NULL))
		return DKK_ENOMEM;
	/* Backwards, so each chain keeps file order: the first line wins. */
	for (i = t->n; i-- > 0;)
		if (table_kind(t, i) == PK_EXACT)
			table_chain(t->bucket, t->nbucket, &t->v[i],
			    t->v[i].key);
		else if (table_kind(t, i) == PK_SUFFIX)
			table_chain(t->sbucket, t->nbucket, &t->v[i],
			    t->v[i].key + 1);
	for (i = 0; i < t->n; i++)
		if (table_kind(t, i) == PK_PATTERN)
			t->pat[t->npat++] = i;
	return DKK_OK;
}

int
ptable_load(dkk_ctx *ctx, struct ptable *t, const char *spec,
    const char *where, const char *field)
{
	size_t i;
	int rc;

	memset(t, 0, sizeof(*t));
	if ((t->name = dkk_strdup(spec)) == NULL)
		return DKK_ENOMEM;
	for (i = 0; unsupported[i] != NULL; i++)
		if (has_prefix(spec, unsupported[i]))
			return ctx_fail(ctx, DKK_ENOTSUP, "%s: %s: table type "
			    "'%s' is not supported (file:, refile:, csl: are)",
			    where, field, unsupported[i]);
	if (has_prefix(spec, "refile:")) {
		t->patterns = true;
		rc = table_file(ctx, t, spec + 7, where, field);
	} else if (has_prefix(spec, "file:"))
		rc = table_file(ctx, t, spec + 5, where, field);
	else if (spec[0] == '/' || has_prefix(spec, "./"))
		rc = table_file(ctx, t, spec, where, field);
	else if (has_prefix(spec, "csl:"))
		rc = table_csl(t, spec + 4, NULL);
	else
		rc = table_csl(t, spec, NULL);	/* OpenDKIM's default */
	if (rc == DKK_OK)
		rc = table_index(t);
	return rc;
}

void
ptable_clear(struct ptable *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
		free(t->v[i].where);
	}
	free(t->v);
	free(t->bucket);
	free(t->sbucket);
	free(t->pat);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

/* The first line whose key is key (case aside), or NULL; in a refile:
 * table, of the lines without "*". */
const struct pentry *
ptable_get(const struct ptable *t, const char *key)
{
	const struct pentry *e;
	size_t len = strlen(key);

	if (t->nbucket == 0)
		return NULL;
	for (e = t->bucket[key_hash(key) & (t->nbucket - 1)]; e != NULL;
	    e = e->hnext)
		if (ci_equal(e->key, strlen(e->key), key, len))
			return e;
	return NULL;
}

/* The first "*@TEXT" line whose "@TEXT" is tail, or NULL. */
static const struct pentry *
table_suffix(const struct ptable *t, const char *tail)
{
	const struct pentry *e;
	size_t len = strlen(tail);

	for (e = t->sbucket[key_hash(tail) & (t->nbucket - 1)]; e != NULL;
	    e = e->hnext)
		if (ci_equal(e->key + 1, strlen(e->key + 1), tail, len))
			return e;
	return NULL;
}

/* The first line, in file order, that answers key: its own (an exact
 * table), or one whose pattern covers it (refile:).  Of a refile:
 * table, the line without "*" equal to key and the first "*@TEXT" line
 * for each "@" of key come from the hashes; only the other patterns
 * above the earliest of those are tried.  So a table of many such lines
 * and a few other patterns answers as fast as a small one, and as a
 * walk in file order would. */
const struct pentry *
ptable_find(const struct ptable *t, const char *key)
{
	const struct pentry *best = ptable_get(t, key), *e;
	const char *at;
	size_t j, stop;

	if (!t->patterns || t->n == 0)
		return best;
	for (at = strchr(key, '@'); at != NULL; at = strchr(at + 1, '@'))
		if ((e = table_suffix(t, at)) != NULL &&
		    (best == NULL || e < best))
			best = e;
	stop = best != NULL ? (size_t)(best - t->v) : t->n;
	for (j = 0; j < t->npat && t->pat[j] < stop; j++)
		if (glob_match(t->v[t->pat[j]].key, key))
			return &t->v[t->pat[j]];
	return best;
}

/* OpenDKIM's refile patterns: "*" stands for any run of characters,
 * everything else for itself, without regard to case, and the pattern
 * covers the whole string. */
bool
glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = ++pat;
			resume = s;
		} else if (*pat != '\0' &&
		    lower((unsigned char)*pat) == lower((unsigned char)*s)) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star;
			s = ++resume;
		} else
			return false;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}
