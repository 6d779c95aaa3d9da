/*
 * keys.c: from a decided signature to a signer's options.  A key file
 * (opendkim-genkey's selector.private, or any file dkk_ctx_load_key
 * reads) is loaded once and kept by path, since the same few keys sign
 * every message; it must be of the algorithm the KeyTable names and, if
 * RSA, of at least MinimumKeyBits.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int
policy_key_load(dkk_policy *p, const char *path, dkk_key **keyp)
{
	struct pkey_loaded *l;
	int rc;

	for (l = p->loaded; l != NULL; l = l->next)
		if (strcmp(l->path, path) == 0) {
			*keyp = l->key;
			return DKK_OK;
		}
	if ((l = dkk_calloc(1, sizeof(*l))) == NULL ||
	    (l->path = dkk_strdup(path)) == NULL) {
		free(l);
		return DKK_ENOMEM;
	}
	if ((rc = dkk_ctx_load_key(p->ctx, path, &l->key)) != DKK_OK) {
		free(l->path);
		free(l);
		return rc;
	}
	l->next = p->loaded;
	p->loaded = l;
	*keyp = l->key;
	return DKK_OK;
}

static int
key_fits(dkk_policy *p, const struct dkk_policy_sig *s, const dkk_key *key)
{
	const char *type = dkk_key_type(key);
	const char *field = p->set[PK_SIGNINGTABLE].value != NULL ?
	    "KeyTable" : "KeyFile";

	if (strncmp(s->algorithm, type, strlen(type)) != 0 ||
	    s->algorithm[strlen(type)] != '-')
		return ctx_fail(p->ctx, DKK_EKEY, "%s: %s: %s: the key is %s, "
		    "not for %s", s->key_line, field, s->keyfile, type,
		    s->algorithm);
	if (strcmp(type, "rsa") == 0 && dkk_key_bits(key) < p->minbits)
		return ctx_fail(p->ctx, DKK_EKEY, "%s: %s: %s: the key has %u "
		    "bits, under MinimumKeyBits %u", s->key_line, field,
		    s->keyfile, dkk_key_bits(key), p->minbits);
	return DKK_OK;
}

static int
policy_sign_opts_run(dkk_policy *p, const struct dkk_policy_sig *s,
    struct dkk_sign_opts *o)
{
	dkk_key *key;
	int rc;

	if (s == NULL || o == NULL || s->keyfile == NULL)
		return DKK_EINVAL;
	if ((rc = policy_key_load(p, s->keyfile, &key)) != DKK_OK ||
	    (rc = key_fits(p, s, key)) != DKK_OK)
		return rc;
	memset(o, 0, sizeof(*o));
	o->key = key;
	o->domain = s->domain;
	o->selector = s->selector;
	o->identity = s->identity;
	o->headers = p->headers;
	o->header_canon = p->hcanon;
	o->body_canon = p->bcanon;
	o->if_present = p->if_present;
	o->oversign_headers = p->oversign_headers;
	o->expire = p->ttl;
	return DKK_OK;
}

int
dkk_policy_sign_opts(dkk_policy *p, const struct dkk_policy_sig *s,
    struct dkk_sign_opts *o)
{
	if (p == NULL)
		return DKK_EINVAL;
	ctx_begin(p->ctx);
	return ctx_end(p->ctx, policy_sign_opts_run(p, s, o));
}
