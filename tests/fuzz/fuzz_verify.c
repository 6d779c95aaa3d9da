/*
 * fuzz_verify.c: arbitrary bytes as a message, verified against a fixed
 * zone of keys (the RFC examples) with ADSP and ATPS (RFC 6541) on, fed
 * in two chunks split where the first input byte says; the A-R field is
 * rendered both ways.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dkimkit.h"

static dkk_ctx *ctx;
static const struct dkk_verify_opts with_adsp = { .adsp = 1, .atps = 1,
    .atps_adsp = 1 };

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dkk_verifier *v;
	size_t split = size > 0 ? data[0] % (size + 1) : 0;
	char *ar;
	size_t i;

	if (dkk_verifier_new(ctx, &with_adsp, &v) != DKK_OK)
		return 0;
	if (dkk_verifier_update(v, data, split) == DKK_OK &&
	    dkk_verifier_update(v, data + split, size - split) == DKK_OK &&
	    dkk_verifier_wait(v) == DKK_OK) {
		for (i = 0; i < dkk_verifier_count(v); i++)
			if (dkk_verifier_result(v, i) == NULL ||
			    dkk_atps_result_name(dkk_verifier_atps(v, i, NULL,
			    NULL)) == NULL)
				abort();
		if (dkk_verifier_ar(v, "fuzz.example", 0, &ar) == DKK_OK)
			free(ar);
		if (dkk_verifier_ar(v, "fuzz example", DKK_FIELD_ONE_LINE |
		    DKK_FIELD_VALUE_ONLY, &ar) == DKK_OK)
			free(ar);
	}
	dkk_verifier_free(v);
	return 0;
}
