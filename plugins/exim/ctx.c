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

static dkk_ctx *ctx_ctx;
static int ctx_have_source;
static struct ctx_keyent *ctx_keys;

int
exim_fail(uschar **yield, const char *what, const char *why)
{
	log_write(0, LOG_MAIN, "dkimkit: %s: %s", what, why);
	*yield = string_sprintf("dkimkit: %s: %s", what, why);
	return FAIL;
}

/* The reason for a failed context call: the context's sentence names the
 * file or value; the error code's is the fallback. */
static const char *
ctx_why(int rc)
{
	const char *s = dkk_ctx_error(ctx_ctx);

	return s != NULL && *s != '\0' ? s : dkk_strerror(rc);
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

static int
ctx_use(const struct exim_source *src)
{
	int rc;

	if (src->allow_weak &&
	    (rc = dkk_ctx_set_allow_weak(ctx_ctx, 1)) != DKK_OK)
		return rc;
	if (src->zone != NULL)
		return dkk_ctx_use_zone(ctx_ctx, src->zone);
	return dkk_ctx_use_dns(ctx_ctx, src->dns, src->trust_anchor,
	    src->timeout_ms);
}

/* Settings are read once per process (DESIGN.md: adapters read settings
 * at start-up); later calls with other settings get the first ones.  A
 * failure leaves the source unset, so the next message tries again. */
int
ctx_source(const struct exim_source *src, uschar **yield)
{
	int rc;

	if (ctx_have_source)
		return OK;
	if (src->zone != NULL && (src->dns != NULL ||
	    src->trust_anchor != NULL))
		return exim_fail(yield, "verify",
		    "zone= excludes dns= and trust-anchor=");
	if ((rc = ctx_use(src)) != DKK_OK)
		return exim_fail(yield, "key source", ctx_why(rc));
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
		/* The core's sentence usually names the file already. */
		why = ctx_why(rc);
		exim_fail(yield, strstr(why, path) != NULL ? "key" : path, why);
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
