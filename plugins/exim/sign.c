/*
 * sign.c: the sign dlfunc.
 *
 *   ${dlfunc{SO}{sign}{DOMAIN}{SELECTOR}{KEYFILE}{[HDR/BODY]}{[a:b:c]}}
 *	the whole "DKIM-Signature: ..." field, for add_header in
 *	acl_smtp_data or headers_add on a transport
 *
 * Any failure fails the expansion, so Exim defers the message (451 in the
 * ACL, a retry on a transport): mail is never passed on unsigned.
 */
#include <stdlib.h>
#include <string.h>

#include "exim.h"

static int
sign_canon_word(const char *s, size_t len, enum dkk_canon *c)
{
	if (len == 6 && strncmp(s, "simple", 6) == 0)
		*c = DKK_CANON_SIMPLE;
	else if (len == 7 && strncmp(s, "relaxed", 7) == 0)
		*c = DKK_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* RFC 6376 3.5 c=: "HDR/BODY", or "HDR" alone with a simple body. */
static int
sign_canon(const char *s, struct dkk_sign_opts *so)
{
	const char *slash = strchr(s, '/');

	if (*s == '\0') {
		so->header_canon = DKK_CANON_RELAXED;
		so->body_canon = DKK_CANON_RELAXED;
		return 0;
	}
	if (slash == NULL) {
		so->body_canon = DKK_CANON_SIMPLE;
		return sign_canon_word(s, strlen(s), &so->header_canon);
	}
	if (sign_canon_word(s, (size_t)(slash - s), &so->header_canon) != 0)
		return -1;
	return sign_canon_word(slash + 1, strlen(slash + 1), &so->body_canon);
}

static int
sign_args(struct dkk_sign_opts *so, int argc, uschar *argv[], uschar **yield)
{
	memset(so, 0, sizeof(*so));
	if (argc < 3 || argc > 5)
		return exim_fail(yield, "sign", "arguments: domain, selector, "
		    "key file[, canonicalization[, header list]]");
	so->domain = CCS argv[0];
	so->selector = CCS argv[1];
	if (*so->domain == '\0' || *so->selector == '\0' || *argv[2] == '\0')
		return exim_fail(yield, "sign",
		    "domain, selector and key file must not be empty");
	if (sign_canon(argc > 3 ? CCS argv[3] : "", so) != 0)
		return exim_fail(yield, "sign", CCS string_sprintf(
		    "bad canonicalization \"%s\" (simple or relaxed, "
		    "HDR/BODY)", argv[3]));
	if (argc > 4 && *argv[4] != '\0')
		so->headers = CCS argv[4];
	return OK;
}

static int
sign_update(void *s, const void *data, size_t len)
{
	return dkk_signer_update(s, data, len);
}

static int
sign_run(dkk_signer *s, const struct dkk_sign_opts *so, uschar **yield)
{
	char *field = NULL;
	int rc;

	if ((rc = spool_feed(sign_update, s, yield)) != OK)
		return rc;
	if ((rc = dkk_signer_final(s, "\n", &field)) != DKK_OK)
		return exim_fail(yield, "sign", dkk_strerror(rc));
	log_write(0, LOG_MAIN, "dkimkit: signed d=%s s=%s a=%s-sha256",
	    so->domain, so->selector, dkk_key_type(so->key));
	*yield = string_sprintf("%s", field);
	free(field);
	return OK;
}

int
sign(uschar **yield, int argc, uschar *argv[])
{
	struct dkk_sign_opts so;
	dkk_signer *s = NULL;
	dkk_ctx *ctx;
	int rc;

	if ((rc = sign_args(&so, argc, argv, yield)) != OK)
		return rc;
	if (message_id == NULL || *message_id == '\0')
		return exim_fail(yield, "sign", "no message (use it in "
		    "acl_smtp_data or a transport)");
	if ((ctx = ctx_get(yield)) == NULL ||
	    (so.key = ctx_key(CCS argv[2], yield)) == NULL)
		return FAIL;
	if ((rc = dkk_signer_new(ctx, &so, &s)) != DKK_OK)
		return exim_fail(yield, "sign", CCS string_sprintf("%s: %s",
		    argv[2], dkk_strerror(rc)));
	rc = sign_run(s, &so, yield);
	dkk_signer_free(s);
	return rc;
}
