/*
 * query.c: one entry for lookups of every type, so that the layers above
 * need not know which resolver answers TXT only.
 */
#include <string.h>

#include "dns.h"

int
dns_query(dkk_ctx *ctx, const char *name, enum dkk_dns_type type,
    dkk_dns_cb cb, void *cbarg)
{
	struct dkk_dns_answer fail;

	if (ctx == NULL || name == NULL || cb == NULL)
		return DKK_EINVAL;
	if (type == DKK_DNS_TXT && ctx->res.query_txt != NULL)
		return ctx->res.query_txt(ctx->res_arg, name, cb, cbarg);
	if (type != DKK_DNS_TXT && ctx->query != NULL)
		return ctx->query(ctx->res_arg, name, type, cb, cbarg);
	/* dkimkit.h: no source, or one that answers TXT only, fails
	 * temporarily. */
	memset(&fail, 0, sizeof(fail));
	fail.status = DKK_DNS_TEMPFAIL;
	cb(cbarg, &fail);
	return DKK_OK;
}
