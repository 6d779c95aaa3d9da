/*
 * selfverify.c: the one-record resolver and the verdict line shared by the
 * signing hosts' self-verification (selfverify.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "selfverify.h"

const struct dkk_verify_opts dks_selfv_opts = { .explain = 1 };

struct onekey {
	char name[512];		/* selector._domainkey.domain */
	char *record;		/* v=DKIM1; k=...; p=... */
};

/* Answers the one name, NXDOMAIN for any other; synchronous. */
static int
onekey_query(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	const struct onekey *k = arg;
	const char *txt[1] = { k->record };
	size_t len[1] = { strlen(k->record) };
	struct dkk_dns_answer ans = { DKK_DNS_NXDOMAIN, DKK_DNSSEC_UNKNOWN,
	    0, 0, txt, len };

	if (strcasecmp(name, k->name) == 0) {
		ans.status = DKK_DNS_OK;
		ans.count = 1;
	}
	cb(cbarg, &ans);
	return DKK_OK;
}

static void
onekey_release(void *arg)
{
	struct onekey *k = arg;

	free(k->record);
	free(k);
}

/* The record of key's public half; NULL when it cannot be made. */
static char *
onekey_record(const dkk_key *key)
{
	char *p64 = NULL, *rec = NULL;
	size_t n;

	if (dkk_key_public(key, &p64) != DKK_OK)
		return NULL;
	n = strlen(p64) + 64;
	if ((rec = malloc(n)) != NULL)
		snprintf(rec, n, "v=DKIM1; k=%s; p=%s", dkk_key_type(key), p64);
	free(p64);
	return rec;
}

static int
onekey_setup(dkk_ctx *ctx, const dkk_key *key, const char *domain,
    const char *selector)
{
	static const struct dkk_resolver ops = { onekey_query, NULL, NULL,
	    NULL, onekey_release, NULL };
	struct onekey *k = calloc(1, sizeof(*k));
	int n;

	if (k == NULL)
		return -1;
	n = snprintf(k->name, sizeof(k->name), "%s._domainkey.%s", selector,
	    domain);
	if (n < 0 || (size_t)n >= sizeof(k->name) ||
	    (k->record = onekey_record(key)) == NULL) {
		free(k);
		return -1;
	}
	if (dkk_ctx_set_resolver(ctx, &ops, k) == DKK_OK)
		return 0;
	onekey_release(k);
	return -1;
}

dkk_ctx *
dks_selfv_ctx(const dkk_key *key, const char *domain, const char *selector)
{
	dkk_ctx *ctx;

	if (key == NULL || domain == NULL || selector == NULL ||
	    dkk_ctx_new(&ctx) != DKK_OK)
		return NULL;
	dkk_ctx_set_allow_weak(ctx, 1);
	if (onekey_setup(ctx, key, domain, selector) == 0)
		return ctx;
	dkk_ctx_free(ctx);
	return NULL;
}

int
dks_selfv_sig(dkk_verifier *v, size_t i, char *why, size_t size)
{
	const struct dkk_sig_result *r = dkk_verifier_result(v, i);
	const char *field, *detail;
	enum dkk_class c;

	if (r == NULL) {
		snprintf(why, size, "no signature found in the signed message");
		return -1;
	}
	if (r->verdict == DKK_PASS) {
		*why = '\0';
		return 0;
	}
	c = dkk_verifier_explain(v, i, &field, &detail);
	snprintf(why, size, "%s; class %s%s%s%s%s", r->detail,
	    dkk_class_name(c), field != NULL ? ", field " : "",
	    field != NULL ? field : "",
	    detail != NULL && *detail != '\0' ? ": " : "",
	    detail != NULL ? detail : "");
	return 1;
}

int
dks_selfv_verdict(dkk_verifier *v, char *why, size_t size)
{
	return dks_selfv_sig(v, 0, why, size);
}
