/*
 * selfverify.c: dkimkit sign --self-verify.  The signed message, exactly
 * as it is about to be written, is verified in this process against the
 * public half of the signing key (served by a one-record resolver, so no
 * DNS is asked and a key not yet published can be checked), with the
 * failure classifier on: "signed, then broken by our own path" is caught
 * at the source, with the class and the field.  The resolver and the
 * verdict line are the hosts' too (plugins/common/selfverify.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "selfverify.h"

/* The topmost signature's verdict on f (read from its start): 0 pass,
 * 1 not (said on standard error with its class), -1 trouble. */
static int
self_check(dkk_ctx *ctx, FILE *f, const char *name)
{
	dkk_verifier *v;
	char buf[65536], why[1024];
	size_t n;
	int rc, ret = -1;

	if (fseek(f, 0, SEEK_SET) != 0 ||
	    dkk_verifier_new(ctx, &dks_selfv_opts, &v) != DKK_OK)
		return -1;
	rc = DKK_OK;
	while (rc == DKK_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		rc = dkk_verifier_update(v, buf, n);
	if (rc == DKK_OK && !ferror(f) && dkk_verifier_wait(v) == DKK_OK &&
	    (ret = dks_selfv_verdict(v, why, sizeof(why))) > 0)
		warnx("%s: self-verification failed: %s", name, why);
	dkk_verifier_free(v);
	return ret;
}

int
self_verify(const dkk_key *key, const char *domain, const char *selector,
    int64_t (*clock)(void *), void *clock_arg, FILE *f, const char *name)
{
	dkk_ctx *ctx = dks_selfv_ctx(key, domain, selector);
	int rc = -1;

	if (ctx != NULL) {
		if (clock != NULL)
			dkk_ctx_set_clock(ctx, clock, clock_arg);
		rc = self_check(ctx, f, name);
		dkk_ctx_free(ctx);
	}
	if (rc < 0)
		warnx("%s: self-verification could not run", name);
	return rc;
}
