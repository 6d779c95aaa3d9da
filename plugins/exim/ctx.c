/*
 * ctx.c: the one dkk_ctx of an Exim process, its key source and its
 * private keys.
 *
 * Exim keeps a dlopen()ed object for the life of the process, so the
 * context lives in a static and is never freed: the process's exit frees
 * it.  The key source is chosen by the first verify call that runs; a
 * private key is loaded the first time its path is named and then reused,
 * so a bad key costs one failed expansion per message, not a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "exim.h"

struct ctx_keyent {
	struct ctx_keyent *next;
	char *path;
	dkk_key *key;
};

struct ctx_dirent {
	struct ctx_dirent *next;
	char *dir;
	dkk_keydir *kd;
};

static dkk_ctx *ctx_ctx;
static int ctx_have_source;
static struct ctx_keyent *ctx_keys;
static struct ctx_dirent *ctx_dirs;

int
exim_words(const char *arg, int (*fn)(void *obj, const char *word),
    void *obj)
{
	static const char space[] = " \t\r\n";
	char *copy = CS string_sprintf("%s", arg), *w;
	size_t n;
	int rc;

	for (w = copy + strspn(copy, space); *w != '\0';
	    w += n + strspn(w + n, space)) {
		n = strcspn(w, space);
		if (w[n] != '\0')
			w[n++] = '\0';
		if ((rc = fn(obj, w)) != 0)
			return rc;
	}
	return 0;
}

int
exim_fail(uschar **yield, const char *what, const char *why)
{
	log_write(0, LOG_MAIN, "dkimkit: %s: %s", what, why);
	*yield = string_sprintf("dkimkit: %s: %s", what, why);
	return FAIL;
}

dkk_ctx *
ctx_get(uschar **yield)
{
	int rc;

	if (ctx_ctx != NULL)
		return ctx_ctx;
	if ((rc = dkk_ctx_new(&ctx_ctx)) != DKK_OK) {
		ctx_ctx = NULL;
		exim_fail(yield, "context", dkk_strerror(rc));
	}
	return ctx_ctx;
}

/* Settings are read once per process (DESIGN.md: adapters read settings
 * at start-up); later calls with other settings get the first ones.  A
 * failure leaves the source unset, so the next message tries again. */
int
ctx_source(struct dks *settings, const char *what, uschar **yield)
{
	if (ctx_have_source)
		return OK;
	if (dks_apply(settings, ctx_ctx) < 0)
		return exim_fail(yield, what, settings->err);
	ctx_have_source = 1;
	return OK;
}

static const dkk_key *
ctx_key_cached(const char *path)
{
	struct ctx_keyent *e;

	for (e = ctx_keys; e != NULL; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e->key;
	return NULL;
}

/* The key at path, loaded once.  A failure is not cached: once the
 * postmaster fixes the file, the next delivery attempt picks it up. */
const dkk_key *
ctx_key(const char *path, uschar **yield)
{
	struct ctx_keyent *e;
	const dkk_key *cached;
	const char *why;
	dkk_key *key;
	int rc;

	if ((cached = ctx_key_cached(path)) != NULL)
		return cached;
	if ((rc = dkk_ctx_load_key(ctx_ctx, path, &key)) != DKK_OK) {
		/* The core's sentence usually names the file already; a
		 * URI is never repeated here: it may carry a pin-value. */
		why = dkk_ctx_error(ctx_ctx);
		exim_fail(yield, strstr(why, path) != NULL ||
		    strncmp(path, "pkcs11:", 7) == 0 ? "key" : path, why);
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->path = strdup(path)) == NULL) {
		free(e);
		dkk_key_free(key);
		exim_fail(yield, path, dkk_strerror(DKK_ENOMEM));
		return NULL;
	}
	e->key = key;
	e->next = ctx_keys;
	ctx_keys = e;
	return key;
}

static dkk_keydir *
ctx_dir(const char *dir, uschar **yield)
{
	struct ctx_dirent *e;

	for (e = ctx_dirs; e != NULL; e = e->next)
		if (strcmp(e->dir, dir) == 0)
			return e->kd;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->dir = strdup(dir)) == NULL ||
	    dkk_keydir_new(ctx_ctx, dir, &e->kd) != DKK_OK) {
		if (e != NULL)
			free(e->dir);
		free(e);
		exim_fail(yield, dir, dkk_strerror(DKK_ENOMEM));
		return NULL;
	}
	e->next = ctx_dirs;
	ctx_dirs = e;
	return e->kd;
}

/* The active key of domain in the key directory dir (dkimkit-key(1)).
 * The active file is looked at on every call, so a key switch takes
 * effect with the next message, in long-lived processes too. */
const dkk_key *
ctx_keydir(const char *dir, const char *domain, const char **selector,
    uschar **yield)
{
	const dkk_key *key;
	dkk_keydir *kd;
	int rc;

	if ((kd = ctx_dir(dir, yield)) == NULL)
		return NULL;
	if ((rc = dkk_keydir_active(kd, domain, &key, selector)) != DKK_OK) {
		exim_fail(yield, "key", dkk_ctx_error(ctx_ctx));
		return NULL;
	}
	return key;
}
