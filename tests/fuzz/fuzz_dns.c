/*
 * fuzz_dns.c: arbitrary bytes as a libunbound result handed to the
 * resolver's answer parser (resolver_answer), and the answer it makes fed
 * on to the key cache and key record parser through a resolver that
 * replays it.  Input: one flag byte (rcode 0 or 3, bogus, secure, havedata)
 * then TXT rdata records, each as a 2-byte big-endian length and its
 * bytes (the length is not trusted to match what follows).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "dkim/dkim.h"

#define FUZZ_MAX_RR 80		/* past the resolver's own cap of 64 */

static const char msg[] =
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; h=from;"
    " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\r\n"
    "From: a@example.test\r\n\r\n";

static const uint8_t *in;
static size_t inlen;

struct relay {
	dkk_dns_cb cb;
	void *cbarg;
};

/* Check the answer's shape, then hand it on as the resolver would. */
static void
check_answer(void *cbarg, const struct dkk_dns_answer *ans)
{
	struct relay *r = cbarg;
	size_t i;

	if (ans->status != DKK_DNS_OK && ans->count != 0)
		abort();
	for (i = 0; i < ans->count; i++)
		if (ans->txt[i][ans->len[i]] != '\0')
			abort();
	r->cb(r->cbarg, ans);
}

/* Build a ub_result from the input; records point into a copy. */
static void
parse_input(struct ub_result *res, char **data, int *len, uint8_t *copy)
{
	size_t pos = 1, n = 0, rl;

	memset(res, 0, sizeof(*res));
	res->rcode = inlen > 0 && (in[0] & 1) ? 3 : 0;
	res->bogus = inlen > 0 && (in[0] & 2);
	res->secure = inlen > 0 && (in[0] & 4);
	res->havedata = inlen > 0 && !(in[0] & 8);
	res->ttl = 300;
	memcpy(copy, in, inlen);
	while (pos + 2 <= inlen && n < FUZZ_MAX_RR) {
		rl = (size_t)in[pos] << 8 | in[pos + 1];
		pos += 2;
		if (rl > inlen - pos)
			rl = inlen - pos;
		data[n] = (char *)copy + pos;
		len[n++] = (int)rl;
		pos += rl;
	}
	data[n] = NULL;
	res->data = data;
	res->len = len;
}

static int
replay(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	struct ub_result res;
	char *data[FUZZ_MAX_RR + 1];
	int len[FUZZ_MAX_RR + 1];
	uint8_t *copy = malloc(inlen + 1);
	struct relay r = { cb, cbarg };

	(void)arg;
	(void)name;
	if (copy == NULL)
		return DKK_ENOMEM;
	parse_input(&res, data, len, copy);
	resolver_answer(&res, DKK_DNS_TXT, (in[0] & 16) != 0, check_answer,
	    &r);
	free(copy);
	return DKK_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dkk_resolver ops = { .query_txt = replay };
	dkk_ctx *ctx;
	dkk_verifier *v;

	if (size == 0)
		return 0;
	in = data;
	inlen = size;
	if (dkk_ctx_new(&ctx) != DKK_OK)
		return 0;
	dkk_ctx_set_resolver(ctx, &ops, NULL);
	if (dkk_verifier_new(ctx, NULL, &v) == DKK_OK) {
		if (dkk_verifier_update(v, msg, sizeof(msg) - 1) == DKK_OK &&
		    dkk_verifier_wait(v) == DKK_OK &&
		    dkk_verifier_count(v) != 1)
			abort();
		dkk_verifier_free(v);
	}
	dkk_ctx_free(ctx);
	return 0;
}
