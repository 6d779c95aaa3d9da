/*
 * keydir.c: the active key of a domain in a key directory (the layout of
 * dkimkit-key(1)): DIR/DOMAIN/active names the selector, whose private key
 * is DIR/DOMAIN/SELECTOR.key.  The active file is looked at (stat) on
 * every call and read again only when it has changed, so a switch takes
 * effect with the next message, without a restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dkim.h"

#define KEYDIR_LINE 256

struct kd_domain {
	struct kd_domain *next;
	char *domain;
	char *selector;
	dkk_key *key;
	struct stat st;		/* of the active file when it was read */
	bool stale;		/* dkk_keydir_reload() was called */
};

/* Keys no longer active stay loaded: a signer may still hold one. */
struct kd_old {
	struct kd_old *next;
	dkk_key *key;
};

struct dkk_keydir {
	dkk_ctx *ctx;
	char *dir;
	struct kd_domain *domains;
	struct kd_old *old;
};

static int
keydir_new_run(dkk_ctx *ctx, const char *dir, dkk_keydir **kdp)
{
	dkk_keydir *kd;

	if (ctx == NULL || dir == NULL || *dir == '\0' || kdp == NULL)
		return DKK_EINVAL;
	if ((kd = dkk_calloc(1, sizeof(*kd))) == NULL ||
	    (kd->dir = dkk_strdup(dir)) == NULL) {
		free(kd);
		return DKK_ENOMEM;
	}
	kd->ctx = ctx;
	*kdp = kd;
	return DKK_OK;
}

void
dkk_keydir_free(dkk_keydir *kd)
{
	struct kd_domain *d;
	struct kd_old *o;

	if (kd == NULL)
		return;
	while ((d = kd->domains) != NULL) {
		kd->domains = d->next;
		dkk_key_free(d->key);
		free(d->domain);
		free(d->selector);
		free(d);
	}
	while ((o = kd->old) != NULL) {
		kd->old = o->next;
		dkk_key_free(o->key);
		free(o);
	}
	free(kd->dir);
	free(kd);
}

void
dkk_keydir_reload(dkk_keydir *kd)
{
	struct kd_domain *d;

	if (kd == NULL)
		return;
	for (d = kd->domains; d != NULL; d = d->next)
		d->stale = true;
}

/* Selectors and domains become file names: DNS names only, so no "/",
 * no "..", no leading dot. */
int
dkk_keydir_name_valid(const char *name)
{
	return name != NULL && domain_valid(name, strlen(name), true);
}

static bool
kd_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static struct kd_domain *
kd_find(dkk_keydir *kd, const char *domain)
{
	struct kd_domain *d;

	for (d = kd->domains; d != NULL; d = d->next)
		if (strcmp(d->domain, domain) == 0)
			return d;
	if ((d = dkk_calloc(1, sizeof(*d))) == NULL ||
	    (d->domain = dkk_strdup(domain)) == NULL) {
		free(d);
		return NULL;
	}
	d->next = kd->domains;
	kd->domains = d;
	return d;
}

/* The selector named on the first line of the active file. */
static int
kd_read_active(dkk_ctx *ctx, const char *path, char *sel)
{
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return ctx_fail(ctx, DKK_EIO, "%s: %s", path, strerror(errno));
	if (fgets(sel, KEYDIR_LINE, f) == NULL)
		sel[0] = '\0';
	fclose(f);
	sel[strcspn(sel, " \t\r\n")] = '\0';
	if (!dkk_keydir_name_valid(sel))
		return ctx_fail(ctx, DKK_ESYNTAX, "%s: no valid selector on "
		    "the first line", path);
	return DKK_OK;
}

/* Read the active file and load its key; d changes only on success. */
static int
kd_load(dkk_keydir *kd, struct kd_domain *d, const char *active,
    const struct stat *st)
{
	char sel[KEYDIR_LINE], *copy = NULL;
	struct kd_old *o = NULL;
	struct buf path;
	dkk_key *key;
	int rc;

	if ((rc = kd_read_active(kd->ctx, active, sel)) != DKK_OK)
		return rc;
	buf_init(&path);
	buf_printf(&path, "%s/%s/%s.key", kd->dir, d->domain, sel);
	if (path.failed || (copy = dkk_strdup(sel)) == NULL ||
	    (d->key != NULL && (o = dkk_calloc(1, sizeof(*o))) == NULL))
		rc = DKK_ENOMEM;
	else
		rc = dkk_ctx_load_key(kd->ctx, path.p, &key);
	buf_clear(&path);
	if (rc != DKK_OK) {
		free(copy);
		free(o);
		return rc;
	}
	if (o != NULL) {
		o->key = d->key;
		o->next = kd->old;
		kd->old = o;
	}
	free(d->selector);
	d->selector = copy;
	d->key = key;
	d->st = *st;
	d->stale = false;
	return DKK_OK;
}

static int
keydir_active_run(dkk_keydir *kd, const char *domain, const dkk_key **key,
    const char **selector)
{
	struct kd_domain *d;
	struct stat st;
	struct buf active;
	int rc = DKK_OK;

	if (kd == NULL || domain == NULL || key == NULL || selector == NULL)
		return DKK_EINVAL;
	if (!dkk_keydir_name_valid(domain))
		return ctx_fail(kd->ctx, DKK_EINVAL, "%s: not a domain name",
		    domain);
	buf_init(&active);
	buf_printf(&active, "%s/%s/active", kd->dir, domain);
	if (active.failed || (d = kd_find(kd, domain)) == NULL)
		rc = DKK_ENOMEM;
	else if (stat(active.p, &st) != 0)
		rc = ctx_fail(kd->ctx, DKK_EIO, "%s: %s", active.p,
		    strerror(errno));
	else if (d->key == NULL || d->stale || !kd_same(&st, &d->st))
		rc = kd_load(kd, d, active.p, &st);
	buf_clear(&active);
	if (rc != DKK_OK)
		return rc;
	*key = d->key;
	*selector = d->selector;
	return DKK_OK;
}

int
dkk_keydir_new(dkk_ctx *ctx, const char *dir, dkk_keydir **kdp)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, keydir_new_run(ctx, dir, kdp));
}

int
dkk_keydir_active(dkk_keydir *kd, const char *domain, const dkk_key **key,
    const char **selector)
{
	if (kd == NULL)
		return DKK_EINVAL;
	ctx_begin(kd->ctx);
	return ctx_end(kd->ctx, keydir_active_run(kd, domain, key, selector));
}
