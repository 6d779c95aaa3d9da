/*
 * fuzz_report.c: arbitrary bytes as a _report._domainkey record (and as
 * an ADSP record with reporting tags), served for a fixed message whose
 * signature asks for reports with r=y and fails its body hash: exercises
 * the record parser (RFC 6651 3.1), the plan and the report (RFC 5965,
 * RFC 6591), plain and redacted.  A report must name the signing domain
 * and no other.
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
    " s=s; r=y; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
    " b=dGVzdA==\r\n"
    "From: a@example.test\r\n\r\nbody\r\n";

static int
answer(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	const char *txt = (const char *)rec;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 1,
	    &txt, &reclen };
	struct dkk_dns_answer none = { DKK_DNS_NXDOMAIN, DKK_DNSSEC_UNKNOWN,
	    60, 0, NULL, NULL };

	(void)arg;
	/* the key is missing (a d failure); the records are the input */
	cb(cbarg, strncmp(name, "s._domainkey.", 13) == 0 ? &none : &a);
	return DKK_OK;
}

static uint32_t
zero(void *arg)
{
	(void)arg;
	return 0;
}

static void
build_all(dkk_reports *r, const uint8_t *key)
{
	struct dkk_report_info info = { .from = "r@rep.test",
	    .authserv_id = "mx.test", .arrival = 0, .message = msg,
	    .message_len = sizeof(msg) - 1, .redact_key = key,
	    .redact_key_len = key ? 3 : 0 };
	char *out;
	size_t i;

	for (i = 0; i < dkk_reports_count(r); i++) {
		const struct dkk_report_req *q = dkk_reports_get(r, i);
		size_t n = strlen(q->to);

		if (n < 14 || (strcmp(q->to + n - 13, "@example.test") != 0))
			abort();
		if (!q->sampled_out && dkk_report_build(r, i, &info, &out) ==
		    DKK_OK)
			free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dkk_resolver ops = { .query_txt = answer };
	struct dkk_report_opts ro = { .adsp = 1, .random = zero };
	struct dkk_report_record parsed;
	dkk_ctx *ctx;
	dkk_verifier *v;
	dkk_reports *r;

	rec = data;
	reclen = size;
	if (dkk_report_record_parse((const char *)data, size, 0, &parsed) ==
	    DKK_OK)
		dkk_report_record_clear(&parsed);
	if (dkk_ctx_new(&ctx) != DKK_OK)
		return 0;
	dkk_ctx_set_resolver(ctx, &ops, NULL);
	if (dkk_verifier_new(ctx, &with_adsp, &v) == DKK_OK) {
		if (dkk_verifier_update(v, msg, sizeof(msg) - 1) == DKK_OK &&
		    dkk_verifier_wait(v) == DKK_OK &&
		    dkk_reports_new(v, &ro, &r) == DKK_OK) {
			if (dkk_reports_wait(r) == DKK_OK) {
				build_all(r, NULL);
				build_all(r, (const uint8_t *)"key");
			}
			dkk_reports_free(r);
		}
		dkk_verifier_free(v);
	}
	dkk_ctx_free(ctx);
	return 0;
}
