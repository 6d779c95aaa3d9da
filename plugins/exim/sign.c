/*
 * sign.c: the sign dlfunc.
 *
 *   ${dlfunc{SO}{sign}{DOMAIN}{SELECTOR}{KEYFILE}{[HDR/BODY]}{[a:b:c]}}
 *   ${dlfunc{SO}{sign}{DOMAIN}{keydir=DIR}{[HDR/BODY]}{[a:b:c]}}
 *	the whole "DKIM-Signature: ..." field, for add_header in
 *	acl_smtp_data or headers_add on a transport; the second form signs
 *	with DOMAIN's active key in a dkimkit-key(1) key directory
 *   ${dlfunc{SO}{sign}{opendkim-conf=FILE}{client-ip=IP}{auth=ID}}
 *	an OpenDKIM signing policy decides (psign.c)
 *
 * In the first two forms any failure fails the expansion, so Exim defers
 * the message (451 in the ACL, a retry on a transport): mail is never
 * passed on unsigned.  With a policy, a message it cannot sign goes on
 * unsigned, as OpenDKIM's does (psign.c).
 */
#include <stdlib.h>
#include <string.h>

#include "exim.h"

/* RFC 6376 3.5 c=: "HDR/BODY", or "HDR" alone with a simple body; empty
 * for the default, relaxed/relaxed. */
static int
sign_canon(const char *s, struct dkk_sign_opts *so)
{
	if (*s == '\0') {
		so->header_canon = DKK_CANON_RELAXED;
		so->body_canon = DKK_CANON_RELAXED;
		return 0;
	}
	return dkk_canon_parse(s, &so->header_canon, &so->body_canon) ==
	    DKK_OK ? 0 : -1;
}

/* The words after the key: canonicalization and header list. */
static int
sign_tail(struct dkk_sign_opts *so, int argc, uschar *argv[], uschar **yield)
{
	if (sign_canon(argc > 0 ? CCS argv[0] : "", so) != 0)
		return exim_fail(yield, "sign", CCS string_sprintf(
		    "bad canonicalization \"%s\" (simple or relaxed, "
		    "HDR/BODY)", argv[0]));
	if (argc > 1 && *argv[1] != '\0')
		so->headers = CCS argv[1];
	return OK;
}

/* *keysrc: the key file, or the key directory when *keydir. */
static int
sign_args(struct dkk_sign_opts *so, int argc, uschar *argv[],
    const char **keysrc, int *keydir, uschar **yield)
{
	memset(so, 0, sizeof(*so));
	*keydir = argc >= 2 && strncmp(CCS argv[1], "keydir=", 7) == 0;
	if (*keydir && argc > 4)
		return exim_fail(yield, "sign", "arguments: domain, "
		    "keydir=DIR[, canonicalization[, header list]]");
	if (!*keydir && (argc < 3 || argc > 5))
		return exim_fail(yield, "sign", "arguments: domain, selector, "
		    "key file[, canonicalization[, header list]]");
	so->domain = CCS argv[0];
	*keysrc = *keydir ? CCS argv[1] + 7 : CCS argv[2];
	so->selector = *keydir ? NULL : CCS argv[1];
	if (*so->domain == '\0' || **keysrc == '\0' ||
	    (!*keydir && *so->selector == '\0'))
		return exim_fail(yield, "sign", *keydir ?
		    "domain and key directory must not be empty" :
		    "domain, selector and key file must not be empty");
	return *keydir ? sign_tail(so, argc - 2, argv + 2, yield) :
	    sign_tail(so, argc - 3, argv + 3, yield);
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

	if ((rc = spool_feed(sign_update, s, 0, yield)) != OK)
		return rc;
	if ((rc = dkk_signer_final(s, DKK_FIELD_LF, &field)) != DKK_OK)
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
	const char *keysrc;
	dkk_ctx *ctx;
	int rc, keydir;

	if (sign_is_policy(argc, argv))
		return sign_policy(yield, argc, argv);
	if ((rc = sign_args(&so, argc, argv, &keysrc, &keydir, yield)) != OK)
		return rc;
	if (message_id == NULL || *message_id == '\0')
		return exim_fail(yield, "sign", "no message (use it in "
		    "acl_smtp_data or a transport)");
	if ((ctx = ctx_get(yield)) == NULL)
		return FAIL;
	so.key = keydir ? ctx_keydir(keysrc, so.domain, &so.selector, yield) :
	    ctx_key(keysrc, yield);
	if (so.key == NULL)
		return FAIL;
	if ((rc = dkk_signer_new(ctx, &so, &s)) != DKK_OK)
		return exim_fail(yield, "sign", CCS string_sprintf("%.*s: %s",
		    (int)strcspn(keysrc, "?"), keysrc, dkk_strerror(rc)));
	rc = sign_run(s, &so, yield);
	dkk_signer_free(s);
	return rc;
}
