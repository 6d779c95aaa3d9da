/*
 * fuzz_arc.c: arbitrary bytes as a message with ARC on (RFC 8617): the
 * set collector, the ARC-Message-Signature and ARC-Seal parsers and the
 * chain validator, against a zone holding one fixed Ed25519 key
 * (s._domainkey.fuzz.example), with which the seeds were sealed.  The
 * result must be consistent (a pass names no failing instance and no
 * reason, a fail gives a reason, never more than 50 sets), the A-R
 * renders, and the message is sealed; when the chain passed, the sealed
 * message must pass again with one set more.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkimkit.h"

/* The key of the seeds: an Ed25519 seed (base64). */
#define FUZZ_SEED "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="

static dkk_ctx *ctx;
static dkk_key *key;
static const struct dkk_verify_opts with_arc = { .arc = 1 };

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return 1800000000;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char dir[128], path[192], zone[512], *p;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_arc.XXXXXX",
	    tmp != NULL && strlen(tmp) < 80 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL || dkk_ctx_new(&ctx) != DKK_OK)
		abort();
	snprintf(path, sizeof(path), "%s/key", dir);
	write_file(path, FUZZ_SEED "\n");
	if (dkk_ctx_load_key(ctx, path, &key) != DKK_OK ||
	    dkk_key_public(key, &p) != DKK_OK)
		abort();
	unlink(path);
	snprintf(zone, sizeof(zone), "s._domainkey.fuzz.example. 300 IN TXT "
	    "\"v=DKIM1; k=ed25519; p=%s\"\n", p);
	free(p);
	snprintf(path, sizeof(path), "%s/zone", dir);
	write_file(path, zone);
	if (dkk_ctx_use_zone(ctx, path) != DKK_OK)
		abort();
	unlink(path);
	rmdir(dir);
	dkk_ctx_set_clock(ctx, fixed_clock, NULL);
	return 0;
}

/* Verify len bytes; the result in *r, the verifier (or NULL). */
static dkk_verifier *
check(const void *data, size_t len, struct dkk_arc_result *r)
{
	dkk_verifier *v;
	char *ar;

	if (dkk_verifier_new(ctx, &with_arc, &v) != DKK_OK)
		return NULL;
	if (dkk_verifier_update(v, data, len) != DKK_OK ||
	    dkk_verifier_wait(v) != DKK_OK) {
		dkk_verifier_free(v);
		return NULL;
	}
	if (dkk_verifier_arc(v, r) != DKK_OK || r->instances > 50 ||
	    (r->result == DKK_ARC_PASS && (r->failed_instance != 0 ||
	    *r->reason != '\0' || r->instances == 0)) ||
	    (r->result == DKK_ARC_FAIL && *r->reason == '\0') ||
	    (r->result == DKK_ARC_NONE && r->instances != 0))
		abort();
	if (dkk_verifier_ar(v, "fuzz.example", 0, &ar) == DKK_OK)
		free(ar);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkk_seal_opts o = { key, "fuzz.example", "s", "fuzz.example",
	    NULL, NULL };
	struct dkk_arc_result r, r2;
	dkk_verifier *v, *v2;
	char *fields = NULL, *m;
	size_t fl;

	if ((v = check(data, size, &r)) == NULL)
		return 0;
	if (dkk_verifier_seal(v, &o, 0, &fields) == DKK_OK &&
	    fields != NULL && r.result == DKK_ARC_PASS) {
		fl = strlen(fields);
		if ((m = malloc(fl + 2 + size)) == NULL)
			abort();
		memcpy(m, fields, fl);
		memcpy(m + fl, "\r\n", 2);
		memcpy(m + fl + 2, data, size);
		v2 = check(m, fl + 2 + size, &r2);
		if (v2 != NULL && (r2.result != DKK_ARC_PASS ||
		    r2.instances != r.instances + 1))
			abort();
		dkk_verifier_free(v2);
		free(m);
	}
	free(fields);
	dkk_verifier_free(v);
	return 0;
}
