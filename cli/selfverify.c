/*
 * selfverify.c: dkimkit sign --self-verify.  The signed message, exactly
 * as it is about to be written, is verified in this process against the
 * public half of the signing key (served by a one-record resolver, so no
 * DNS is asked and a key not yet published can be checked), with the
 * failure classifier on: "signed, then broken by our own path" is caught
 * at the source, with the class and the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

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

static int
onekey_setup(dkk_ctx *ctx, const dkk_key *key, const char *domain,
    const char *selector)
{
	static const struct dkk_resolver ops = { onekey_query, NULL, NULL,
	    NULL, onekey_release, NULL };
	struct onekey *k = calloc(1, sizeof(*k));
	char *p64 = NULL;
	size_t n;

	if (k == NULL || dkk_key_public(key, &p64) != DKK_OK)
		goto fail;
	n = strlen(p64) + 64;
	if ((k->record = malloc(n)) == NULL)
		goto fail;
	snprintf(k->record, n, "v=DKIM1; k=%s; p=%s", dkk_key_type(key), p64);
	snprintf(k->name, sizeof(k->name), "%s._domainkey.%s", selector,
	    domain);
	free(p64);
	if (dkk_ctx_set_resolver(ctx, &ops, k) == DKK_OK)
		return 0;
	free(k->record);
	free(k);
	return -1;
fail:
	free(p64);
	if (k != NULL)
		free(k->record);
	free(k);
	return -1;
}

/* The topmost signature's verdict on f (read from its start): 0 pass,
 * 1 not (said on standard error with its class), -1 trouble. */
static int
self_check(dkk_ctx *ctx, FILE *f, const char *name)
{
	static const struct dkk_verify_opts explain = { .explain = 1 };
	const struct dkk_sig_result *r;
	const char *field, *detail;
	enum dkk_class c;
	dkk_verifier *v;
	char buf[65536];
	size_t n;
	int rc, ret = -1;

	if (fseek(f, 0, SEEK_SET) != 0 ||
	    (rc = dkk_verifier_new(ctx, &explain, &v)) != DKK_OK)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if ((rc = dkk_verifier_update(v, buf, n)) != DKK_OK)
			break;
	if (!ferror(f) && dkk_verifier_wait(v) == DKK_OK &&
	    (r = dkk_verifier_result(v, 0)) != NULL) {
		ret = r->verdict != DKK_PASS;
		c = dkk_verifier_explain(v, 0, &field, &detail);
		if (ret)
			warnx("%s: self-verification failed: %s; "
			    "class %s%s%s%s%s", name, r->detail,
			    dkk_class_name(c),
			    field != NULL ? ", field " : "",
			    field != NULL ? field : "",
			    *detail != '\0' ? ": " : "", detail);
	}
	dkk_verifier_free(v);
	return ret;
}

int
self_verify(const dkk_key *key, const char *domain, const char *selector,
    int64_t (*clock)(void *), void *clock_arg, FILE *f, const char *name)
{
	dkk_ctx *ctx;
	int rc = -1;

	if (dkk_ctx_new(&ctx) != DKK_OK)
		return -1;
	if (clock != NULL)
		dkk_ctx_set_clock(ctx, clock, clock_arg);
	dkk_ctx_set_allow_weak(ctx, 1);
	if (onekey_setup(ctx, key, domain, selector) == 0)
		rc = self_check(ctx, f, name);
	dkk_ctx_free(ctx);
	if (rc < 0)
		warnx("%s: self-verification could not run", name);
	return rc;
}
