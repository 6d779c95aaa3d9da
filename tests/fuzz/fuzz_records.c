/*
 * fuzz_records.c: arbitrary bytes as a key record and as an ADSP record,
 * served by a resolver that answers with the input, for a fixed signed
 * message: exercises the key record parser, public key decoding and the
 * ADSP record parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkimkit.h"

static const struct dkk_verify_opts with_adsp = { .adsp = 1 };
static const uint8_t *rec;
static size_t reclen;

static const char msg[] =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test;"
    " s=s; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
    " b=dGVzdA==\r\n"
    "DKIM-Signature: v=1; a=ed25519-sha256; d=example.test; s=e; h=from;"
    " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\r\n"
    "From: a@example.test\r\n\r\n";

static int
answer(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	const char *txt = (const char *)rec;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 1,
	    &txt, &reclen };

	(void)arg;
	(void)name;
	cb(cbarg, &a);
	return DKK_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dkk_resolver ops = { .query_txt = answer };
	dkk_ctx *ctx;
	dkk_verifier *v;

	rec = data;
	reclen = size;
	if (dkk_ctx_new(&ctx) != DKK_OK)
		return 0;
	dkk_ctx_set_resolver(ctx, &ops, NULL);
	if (dkk_verifier_new(ctx, &with_adsp, &v) == DKK_OK) {
		if (dkk_verifier_update(v, msg, sizeof(msg) - 1) == DKK_OK &&
		    dkk_verifier_wait(v) == DKK_OK &&
		    dkk_verifier_count(v) != 2)
			abort();
		dkk_verifier_free(v);
	}
	dkk_ctx_free(ctx);
	return 0;
}
