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
	char path[] = "/tmp/dkk-fuzz-zone.XXXXXX";
	dkk_ctx *ctx;
	int fd;

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
