/*
 * fuzz_atps.c: arbitrary bytes as the TXT records at an ATPS name (RFC
 * 6541; one record per line), for messages whose signatures pass and ask
 * for ATPS with each atpsh= (signed once, at start-up, with an Ed25519
 * key the resolver also serves): exercises the ATPS record parser, the
 * per-author results and the dkim-atps entries of the A-R field, with
 * ADSP counting ATPS.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkimkit.h"

#define NREC 16

static dkk_ctx *ctx;		/* the signer's */
static char *keyrec;		/* "v=DKIM1; k=ed25519; p=..." */
static char *signed_msg[3];	/* atpsh none, sha1, sha256 */
static const uint8_t *in;
static size_t inlen;
static const struct dkk_verify_opts opts = { .adsp = 1, .atps = 1,
    .atps_adsp = 1 };

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return 1700000000;
}

/* The key at its name; the input's lines at every other name. */
static int
answer(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	const char *txt[NREC];
	size_t len[NREC], n = 0, i = 0, start = 0;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 0,
	    txt, len };

	(void)arg;
	if (strstr(name, "._domainkey.") != NULL) {
		txt[0] = keyrec;
		len[0] = strlen(keyrec);
		a.count = 1;
		cb(cbarg, &a);
		return DKK_OK;
	}
	for (i = 0; i <= inlen && n < NREC; i++)
		if (i == inlen || in[i] == '\n') {
			txt[n] = (const char *)in + start;
			len[n++] = i - start;
			start = i + 1;
		}
	a.count = n;
	if (inlen > 0 && in[0] == 0)
		a.status = DKK_DNS_NXDOMAIN;
	cb(cbarg, &a);
	return DKK_OK;
}

static char *
sign_one(const dkk_key *key, const char *hash)
{
	static const char body[] =
	    "From: Al <al@author.example>, b@second.example\r\n"
	    "Subject: atps\r\n\r\nhello\r\n";
	struct dkk_sign_opts o;
	dkk_signer *s;
	char *field = NULL, *out;
	size_t n;

	memset(&o, 0, sizeof(o));
	o.key = key;
	o.domain = "signer.example";
	o.selector = "s";
	o.atps = "author.example";
	o.atps_hash = hash;
	if (dkk_signer_new(ctx, &o, &s) != DKK_OK)
		abort();
	if (dkk_signer_update(s, body, sizeof(body) - 1) != DKK_OK ||
	    dkk_signer_final(s, 0, &field) != DKK_OK)
		abort();
	dkk_signer_free(s);
	n = strlen(field) + 2 + sizeof(body);
	if ((out = malloc(n)) == NULL)
		abort();
	strcpy(out, field);
	strcat(out, "\r\n");
	strcat(out, body);
	free(field);
	return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const hashes[] = { "none", "sha1", "sha256" };
	dkk_key *key;
	char *pem, *p64;
	size_t i;

	(void)argc;
	(void)argv;
	if (dkk_ctx_new(&ctx) != DKK_OK ||
	    dkk_ctx_set_clock(ctx, fixed_clock, NULL) != DKK_OK ||
	    dkk_key_generate(ctx, "ed25519", 0, &pem, &key) != DKK_OK ||
	    dkk_key_public(key, &p64) != DKK_OK)
		abort();
	free(pem);
	if ((keyrec = malloc(strlen(p64) + 32)) == NULL)
		abort();
	strcpy(keyrec, "v=DKIM1; k=ed25519; p=");
	strcat(keyrec, p64);
	free(p64);
	for (i = 0; i < 3; i++)
		signed_msg[i] = sign_one(key, hashes[i]);
	return 0;
}

/* A context per input, so that no answer is cached from the last. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dkk_resolver ops = { .query_txt = answer };
	dkk_ctx *vctx;
	dkk_verifier *v;
	const char *author, *detail;
	const char *m = signed_msg[size > 0 ? data[size - 1] % 3 : 0];
	char *ar;

	in = data;
	inlen = size;
	if (dkk_ctx_new(&vctx) != DKK_OK)
		return 0;
	dkk_ctx_set_clock(vctx, fixed_clock, NULL);
	dkk_ctx_set_resolver(vctx, &ops, NULL);
	if (dkk_verifier_new(vctx, &opts, &v) != DKK_OK) {
		dkk_ctx_free(vctx);
		return 0;
	}
	if (dkk_verifier_update(v, m, strlen(m)) == DKK_OK &&
	    dkk_verifier_wait(v) == DKK_OK) {
		/* the signature itself never depends on the ATPS answer */
		if (dkk_verifier_count(v) != 1 ||
		    dkk_verifier_result(v, 0)->verdict != DKK_PASS)
			abort();
		if (dkk_atps_result_name(dkk_verifier_atps(v, 0, &author,
		    &detail)) == NULL || detail == NULL)
			abort();
		if (dkk_verifier_ar(v, "fuzz.example", 0, &ar) == DKK_OK)
			free(ar);
	}
	dkk_verifier_free(v);
	dkk_ctx_free(vctx);
	return 0;
}
