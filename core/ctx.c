/*
 * ctx.c: the long-lived context: settings, key source, key cache.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim/dkim.h"
#include "spf/spf.h"

#define CACHE_ENTRIES 10000

int
dkk_ctx_new(dkk_ctx **ctxp)
{
	dkk_ctx *ctx;

	if (ctxp == NULL)
		return DKK_EINVAL;
	if ((ctx = dkk_calloc(1, sizeof(*ctx))) == NULL)
		return DKK_ENOMEM;
	ctx->skew = 300;
	ctx->limit_header_bytes = 4u << 20;
	ctx->limit_header_fields = 20000;
	ctx->limit_signatures = 16;
	ctx->limit_rsa_bits = 8192;
	ctx->limit_sig = sig_max_default;
	ctx->limit_dns_bytes = 8192;
	ctx->cache_entries = CACHE_ENTRIES;
	ctx->cache_ttl = 3600;
	buf_init(&ctx->err);
	if (keycache_new(&ctx->cache, CACHE_ENTRIES) != DKK_OK) {
		free(ctx);
		return DKK_ENOMEM;
	}
	keycache_max_bytes(ctx->cache, ctx->limit_dns_bytes);
	*ctxp = ctx;
	return DKK_OK;
}

static void
ctx_drop_resolver(dkk_ctx *ctx)
{
	if (ctx->res.release != NULL)
		ctx->res.release(ctx->res_arg);
	memset(&ctx->res, 0, sizeof(ctx->res));
	ctx->res_arg = NULL;
	ctx->query = NULL;
}

void
dkk_ctx_free(dkk_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ctx_drop_resolver(ctx);
	spf_orphans_free(ctx, true);
	keycache_free(ctx->cache);
	psl_free(ctx->psl);
	while (ctx->keys != NULL)
		dkk_key_free(ctx->keys);
	dkk_ctx_set_pin(ctx, NULL);
	buf_clear(&ctx->err);
	free(ctx);
}

/* The sentence of the last call's failure; a failure that gave none
 * says what its code means, so this is never empty after one. */
const char *
dkk_ctx_error(const dkk_ctx *ctx)
{
	if (ctx == NULL)
		return "";
	if (ctx->err.p != NULL && ctx->err.len > 0 && !ctx->err.failed)
		return ctx->err.p;
	return ctx->last < 0 ? dkk_strerror(ctx->last) : "";
}

/* A public call through the context starts afresh (ctx_begin) and ends
 * with ctx_end(ctx, rc), which keeps rc for dkk_ctx_error(). */
void
ctx_begin(dkk_ctx *ctx)
{
	ctx->err.len = 0;
	ctx->err.failed = false;
	if (ctx->err.p != NULL)
		ctx->err.p[0] = '\0';
	ctx->last = DKK_OK;
}

int
ctx_end(dkk_ctx *ctx, int rc)
{
	ctx->last = rc == DKK_EAGAIN ? DKK_OK : rc;
	return rc;
}

/* Record why a call failed and return err. */
int
ctx_fail(dkk_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	ctx->err.len = 0;
	ctx->err.failed = false;
	va_start(ap, fmt);
	buf_vprintf(&ctx->err, fmt, ap);
	va_end(ap);
	ctx->last = err;
	return err;
}

int
dkk_ctx_set_allow_weak(dkk_ctx *ctx, int on)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx->allow_weak = on != 0;
	return DKK_OK;
}

int
dkk_ctx_set_clock(dkk_ctx *ctx, dkk_clock_fn fn, void *arg)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx->clock = fn;
	ctx->clock_arg = arg;
	return DKK_OK;
}

int
dkk_ctx_set_skew(dkk_ctx *ctx, unsigned seconds)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx->skew = seconds;
	return DKK_OK;
}

static int
ctx_set_limit_run(dkk_ctx *ctx, enum dkk_limit which, size_t value)
{
	if (ctx == NULL || value == 0)
		return DKK_EINVAL;
	switch (which) {
	case DKK_LIMIT_HEADER_BYTES:
		ctx->limit_header_bytes = value;
		return DKK_OK;
	case DKK_LIMIT_HEADER_FIELDS:
		ctx->limit_header_fields = value;
		return DKK_OK;
	case DKK_LIMIT_SIGNATURES:
		ctx->limit_signatures = value;
		return DKK_OK;
	case DKK_LIMIT_RSA_BITS:
		if (value < 1024 || value > 16384)
			return DKK_EINVAL;
		ctx->limit_rsa_bits = (unsigned)value;
		return DKK_OK;
	case DKK_LIMIT_CACHE_ENTRIES:
		keycache_limits(ctx->cache, value, ctx->cache_ttl);
		ctx->cache_entries = value;
		return DKK_OK;
	case DKK_LIMIT_SIG_BYTES:
		ctx->limit_sig.bytes = value;
		return DKK_OK;
	case DKK_LIMIT_SIG_TAGS:
		if (value > SIG_TAGS_CAP)
			return DKK_EINVAL;
		ctx->limit_sig.tags = value;
		return DKK_OK;
	case DKK_LIMIT_H_NAMES:
		ctx->limit_sig.h_names = value;
		return DKK_OK;
	case DKK_LIMIT_DNS_BYTES:
		keycache_max_bytes(ctx->cache, value);
		ctx->limit_dns_bytes = value;
		return DKK_OK;
	case DKK_LIMIT_CACHE_TTL:
		if (value > UINT32_MAX)
			return DKK_EINVAL;
		keycache_limits(ctx->cache, ctx->cache_entries,
		    (uint32_t)value);
		ctx->cache_ttl = (uint32_t)value;
		return DKK_OK;
	}
	return DKK_EINVAL;
}

int64_t
ctx_now(const dkk_ctx *ctx)
{
	return ctx->clock != NULL ? ctx->clock(ctx->clock_arg) :
	    (int64_t)time(NULL);
}

int
dkk_ctx_set_resolver(dkk_ctx *ctx, const struct dkk_resolver *ops, void *arg)
{
	if (ctx == NULL || ops == NULL || ops->query_txt == NULL)
		return DKK_EINVAL;
	ctx_drop_resolver(ctx);
	ctx->res = *ops;
	ctx->res_arg = arg;
	return DKK_OK;
}

int
dkk_ctx_set_resolver_query(dkk_ctx *ctx, dkk_dns_query_fn query)
{
	if (ctx == NULL || query == NULL || ctx->res.query_txt == NULL)
		return DKK_EINVAL;
	ctx->query = query;
	return DKK_OK;
}

static void
zone_release(void *arg)
{
	zone_free(arg);
}

static int
ctx_use_zone_run(dkk_ctx *ctx, const char *path)
{
	static const struct dkk_resolver ops = {
		.query_txt = zone_query_txt,
		.release = zone_release,
	};
	struct zone *z;
	int rc;

	if (ctx == NULL || path == NULL)
		return DKK_EINVAL;
	if ((rc = zone_load(&z, path, &ctx->err)) != DKK_OK)
		return rc;
	if ((rc = dkk_ctx_set_resolver(ctx, &ops, z)) == DKK_OK)
		rc = dkk_ctx_set_resolver_query(ctx, zone_query);
	return rc;
}

int
dkk_ctx_wait(dkk_ctx *ctx)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	if (ctx->res.wait == NULL)
		return DKK_ESTATE;
	return ctx->res.wait(ctx->res_arg);
}

int
dkk_ctx_fd(dkk_ctx *ctx)
{
	if (ctx == NULL || ctx->res.fd == NULL)
		return -1;
	return ctx->res.fd(ctx->res_arg);
}

int
dkk_ctx_timeout(dkk_ctx *ctx)
{
	if (ctx == NULL || ctx->res.timeout == NULL)
		return -1;
	return ctx->res.timeout(ctx->res_arg);
}

int
dkk_ctx_process(dkk_ctx *ctx)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	if (ctx->res.process == NULL)
		return DKK_OK;
	return ctx->res.process(ctx->res_arg);
}

int
dkk_ctx_set_pin(dkk_ctx *ctx, const char *pin)
{
	char *copy = NULL;

	if (ctx == NULL)
		return DKK_EINVAL;
	if (pin != NULL && (copy = dkk_strdup(pin)) == NULL)
		return DKK_ENOMEM;
	if (ctx->pin != NULL) {
		memset(ctx->pin, 0, strlen(ctx->pin));
		free(ctx->pin);
	}
	ctx->pin = copy;
	return DKK_OK;
}

/* The first line of the file, without its line end: the PIN. */
static int
ctx_set_pin_file_run(dkk_ctx *ctx, const char *path)
{
	char *pin;
	int rc;

	if (ctx == NULL || path == NULL)
		return DKK_EINVAL;
	if ((rc = p11_pin_file(ctx, path, &pin)) != DKK_OK)
		return rc;
	rc = dkk_ctx_set_pin(ctx, pin);
	memset(pin, 0, strlen(pin));
	free(pin);
	return rc;
}

int
dkk_ctx_set_limit(dkk_ctx *ctx, enum dkk_limit which, size_t value)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, ctx_set_limit_run(ctx, which, value));
}

int
dkk_ctx_use_zone(dkk_ctx *ctx, const char *path)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, ctx_use_zone_run(ctx, path));
}

int
dkk_ctx_set_pin_file(dkk_ctx *ctx, const char *path)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, ctx_set_pin_file_run(ctx, path));
}
