/*
 * fuzz_sign.c: arbitrary bytes as a message to sign (Ed25519), then the
 * signed result verified with the matching key: it must always pass.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkimkit.h"

static dkk_ctx *ctx;
static dkk_key *key;
static char *p64;

static int
answer(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	static char rec[128];
	const char *txt = rec;
	size_t len;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 1,
	    &txt, &len };

	(void)arg;
	(void)name;
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; p=%s", p64);
	len = strlen(rec);
	cb(cbarg, &a);
	return DKK_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct dkk_resolver ops = { .query_txt = answer };
	char *pem;

	(void)argc;
	(void)argv;
	if (dkk_ctx_new(&ctx) != DKK_OK ||
	    dkk_key_generate(ctx, "ed25519", 0, &pem, &key) != DKK_OK ||
	    dkk_key_public(key, &p64) != DKK_OK)
		abort();
	free(pem);
	dkk_ctx_set_resolver(ctx, &ops, NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkk_sign_opts o = { .key = key, .domain = "example.test",
	    .selector = "s", .header_canon = DKK_CANON_RELAXED,
	    .body_canon = size > 0 && data[0] & 1 ? DKK_CANON_RELAXED :
	    DKK_CANON_SIMPLE, .oversign = size > 1 && data[1] & 1 };
	dkk_signer *s;
	dkk_verifier *v;
	char *field = NULL;
	int ok = 1;

	/* A first line that starts with WSP would continue the field put
	 * above it: such input cannot be signed by prepending. */
	if ((size > 0 && (data[0] == ' ' || data[0] == '\t')) ||
	    dkk_signer_new(ctx, &o, &s) != DKK_OK)
		return 0;
	if (dkk_signer_update(s, data, size) != DKK_OK ||
	    dkk_signer_final(s, 0, &field) != DKK_OK) {
		dkk_signer_free(s);
		return 0;
	}
	dkk_signer_free(s);
	if (dkk_verifier_new(ctx, NULL, &v) == DKK_OK) {
		if (dkk_verifier_update(v, field, strlen(field)) == DKK_OK &&
		    dkk_verifier_update(v, "\r\n", 2) == DKK_OK &&
		    dkk_verifier_update(v, data, size) == DKK_OK &&
		    dkk_verifier_wait(v) == DKK_OK)
			ok = dkk_verifier_count(v) == 0 ||
			    dkk_verifier_result(v, 0)->verdict == DKK_PASS;
		dkk_verifier_free(v);
	}
	free(field);
	if (!ok)
		abort();	/* our own signature did not verify */
	return 0;
}
