/*
 * fuzz_dmarc.c: arbitrary bytes as a DMARC policy record (RFC 9989 4.7,
 * 4.8), parsed directly in both modes with the parsed values checked,
 * then through the verifier: up to the first newline the bytes are the
 * From field's value, the rest is the TXT record every _dmarc name
 * answers with (so the tree walk, the Organizational Domain, np= and the
 * From parser all see it), with an SPF pass at a fixed domain.  Every
 * evaluation must end with a result, a policy and a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/dmarc.h"

static const char *rec;
static size_t reclen;
static struct psl *psl;	/* loaded once; a fresh context each run */
static bool psl_tried;

static int
answer_txt(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	const char *txt = rec;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 1,
	    &txt, &reclen };

	(void)arg;
	if (strncmp(name, "_dmarc.", 7) != 0)
		a.count = (name[0] & 1) ? 0 : 1;
	if (strstr(name, "nx") != NULL)
		a.status = DKK_DNS_NXDOMAIN;
	cb(cbarg, &a);
	return DKK_OK;
}

static void
check_record(const char *s, size_t len, bool rfc7489)
{
	struct dmarc_rec r;

	if (dmarc_record_parse(s, len, rfc7489, &r) != 1)
		return;
	if (r.p < -1 || r.p > 2 || r.sp < -1 || r.sp > 2 || r.np < -1 ||
	    r.np > 2 || strchr("ynu", r.psd) == NULL || r.pct < 0 ||
	    r.pct > 100 || r.fo == 0 || r.fo > 15)
		abort();
	if (dmarc_record_usable(&r, rfc7489) && (r.p < 0 || r.p > 2))
		abort();
}

static void
evaluate(const char *from, size_t flen, bool rfc7489)
{
	static const struct dkk_resolver ops = { .query_txt = answer_txt };
	struct dkk_verify_opts o = { .dmarc = 1 };
	struct dkk_dmarc_result d;
	dkk_ctx *ctx;
	dkk_verifier *v;
	char *m = malloc(flen + 64);

	if (m == NULL || dkk_ctx_new(&ctx) != DKK_OK) {
		free(m);
		return;
	}
	o.spf.result = DKK_SPF_PASS;
	o.spf.domain = "mail.example.com";
	if (rfc7489 && !psl_tried) {
		struct buf why;

		psl_tried = true;
		buf_init(&why);
		if (psl_load("/usr/share/publicsuffix/public_suffix_list.dat",
		    &psl, &why) != DKK_OK)
			psl = NULL;
		buf_clear(&why);
	}
	if (rfc7489 && psl != NULL) {
		o.rfc7489 = 1;
		ctx->psl = psl;
	}
	memcpy(m, "From: ", 6);
	memcpy(m + 6, from, flen);
	memcpy(m + 6 + flen, "\r\n\r\nbody\r\n", 10);
	dkk_ctx_set_resolver(ctx, &ops, NULL);
	if (dkk_verifier_new(ctx, &o, &v) == DKK_OK) {
		if (dkk_verifier_update(v, m, flen + 16) == DKK_OK &&
		    dkk_verifier_wait(v) == DKK_OK) {
			char *ar = NULL;

			if (dkk_verifier_dmarc(v, &d) != DKK_OK ||
			    dkk_dmarc_result_name(d.result) == NULL ||
			    dkk_dmarc_policy_name(d.policy) == NULL ||
			    dkk_dmarc_policy_name(d.disposition) == NULL ||
			    d.reason == NULL)
				abort();
			if (dkk_verifier_ar(v, "mx.example", 0, &ar) ==
			    DKK_OK)
				free(ar);
		}
		dkk_verifier_free(v);
	}
	ctx->psl = NULL;	/* kept for the next run */
	dkk_ctx_free(ctx);
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t flen = nl != NULL ? (size_t)(nl - s) : 0;

	check_record(s, size, false);
	check_record(s, size, true);
	if (nl == NULL || memchr(s, '\r', flen) != NULL)
		return 0;
	rec = nl + 1;
	reclen = size - flen - 1;
	evaluate(s, flen, (size & 1) != 0);
	return 0;
}
