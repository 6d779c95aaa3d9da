/*
 * fuzz_spf.c: arbitrary bytes as every TXT record a resolver serves, so
 * as the SPF record of the checked domain, of every include: and
 * redirect= target, and as the exp= text: the record parser, the macro
 * parser and expander, and check_host() with its limits (RFC 7208).
 * Other types get fixed answers, an IPv4 client and an IPv6 client are
 * checked.  Every check must end with a result and a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkimkit.h"

static const uint8_t *rec;
static size_t reclen;

static int
answer_txt(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	const char *txt = (const char *)rec;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 1,
	    &txt, &reclen };

	(void)arg;
	(void)name;
	cb(cbarg, &a);
	return DKK_OK;
}

/* A, AAAA, MX, PTR: one fixed record each, in a name that also has
 * addresses, so that mx and ptr go on to their address lookups. */
static int
answer_typed(void *arg, const char *name, enum dkk_dns_type type,
    dkk_dns_cb cb, void *cbarg)
{
	const char *txt;
	size_t len;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 1,
	    &txt, &len };

	switch (type) {
	case DKK_DNS_A:
		txt = "192.0.2.1";
		break;
	case DKK_DNS_AAAA:
		txt = "2001:db8::1";
		break;
	case DKK_DNS_MX:
		txt = "10 mx.example.test";
		break;
	case DKK_DNS_PTR:
		txt = "mx.example.test";
		break;
	default:
		return answer_txt(arg, name, cb, cbarg);
	}
	len = strlen(txt);
	cb(cbarg, &a);
	return DKK_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dkk_resolver ops = { .query_txt = answer_txt };
	static const char *const ips[] = { "192.0.2.1", "2001:db8::1" };
	struct dkk_spf_query q;
	char *copy;
	dkk_ctx *ctx;
	dkk_spf *spf;
	size_t i;

	/* Records are NUL-terminated strings in answers. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	rec = (const uint8_t *)copy;
	reclen = size;
	if (dkk_ctx_new(&ctx) != DKK_OK ||
	    dkk_ctx_set_resolver(ctx, &ops, NULL) != DKK_OK ||
	    dkk_ctx_set_resolver_query(ctx, answer_typed) != DKK_OK)
		abort();
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.client_ip = ips[i];
		q.helo = "mx.example.test";
		q.mail_from = "user+tag@example.test";
		if (dkk_spf_new(ctx, &q, &spf) != DKK_OK ||
		    dkk_spf_final(spf) != DKK_OK ||
		    dkk_spf_result_name(dkk_spf_result(spf)) == NULL ||
		    dkk_spf_reason(spf) == NULL)
			abort();
		dkk_spf_free(spf);
	}
	dkk_ctx_free(ctx);
	free(copy);
	return 0;
}
