/*
 * fuzz_explain.c: the failure classifier (core/dkim/explain.c) on
 * arbitrary messages: verified with explain on against the RFC example
 * keys (the seeds are the RFC messages, valid signatures the fuzzer then
 * breaks), fed in two chunks split where the first input byte says.  The
 * classes must never change a verdict: the message is verified with
 * explain off too and the results compared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkimkit.h"

static dkk_ctx *ctx;
static const struct dkk_verify_opts with_explain = { .explain = 1 };

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return 1700000000;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *zone = getenv("DKK_FUZZ_ZONE");

	(void)argc;
	(void)argv;
	if (dkk_ctx_new(&ctx) != DKK_OK)
		abort();
	if (zone != NULL && dkk_ctx_use_zone(ctx, zone) != DKK_OK)
		abort();
	dkk_ctx_set_clock(ctx, fixed_clock, NULL);
	return 0;
}

static dkk_verifier *
run(const struct dkk_verify_opts *o, const uint8_t *data, size_t size,
    size_t split)
{
	dkk_verifier *v;

	if (dkk_verifier_new(ctx, o, &v) != DKK_OK)
		return NULL;
	if (dkk_verifier_update(v, data, split) != DKK_OK ||
	    dkk_verifier_update(v, data + split, size - split) != DKK_OK ||
	    dkk_verifier_wait(v) != DKK_OK) {
		dkk_verifier_free(v);
		return NULL;
	}
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t split = size > 0 ? data[0] % (size + 1) : 0, i;
	dkk_verifier *on = run(&with_explain, data, size, split);
	dkk_verifier *off = run(NULL, data, size, size);
	const char *field, *detail;
	enum dkk_class c;

	if (on != NULL && off != NULL) {
		if (dkk_verifier_verdict(on) != dkk_verifier_verdict(off) ||
		    dkk_verifier_count(on) != dkk_verifier_count(off))
			abort();
		for (i = 0; i < dkk_verifier_count(on); i++) {
			c = dkk_verifier_explain(on, i, &field, &detail);
			if (dkk_class_name(c) == NULL || detail == NULL ||
			    (field != NULL && strlen(field) == 0) ||
			    dkk_verifier_result(on, i)->verdict !=
			    dkk_verifier_result(off, i)->verdict ||
			    (c == DKK_C_NONE) != (dkk_verifier_result(on,
			    i)->verdict == DKK_PASS))
				abort();
		}
	}
	dkk_verifier_free(on);
	dkk_verifier_free(off);
	return 0;
}
