/*
 * fuzz_zone.c: arbitrary bytes as an RFC 1035 master file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dkimkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	dkk_ctx *ctx;
	int fd;

	snprintf(path, sizeof(path), "%s/dkk-fuzz-zone.XXXXXX",
	    dir != NULL ? dir : P_tmpdir);
	if ((fd = mkstemp(path)) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (dkk_ctx_new(&ctx) == DKK_OK) {
		dkk_ctx_use_zone(ctx, path);
		dkk_ctx_free(ctx);
	}
	unlink(path);
	return 0;
}
