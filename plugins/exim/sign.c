/*
 * sign.c: the sign dlfunc.
 *
 *   ${dlfunc{SO}{sign}{DOMAIN}{SELECTOR}{KEYFILE}{[HDR/BODY]}{[a:b:c]}
 *	[{self-verify[=yes|no|defer]}][{report-request[=yes|no]}]}
 *   ${dlfunc{SO}{sign}{DOMAIN}{keydir=DIR}{[HDR/BODY]}{[a:b:c]}
 *	[{self-verify[=yes|no|defer]}][{report-request[=yes|no]}]}
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
 *
 * self-verify (the last argument, issue #24): the message as the module
 * sees it leave (the header fields as they go out, the body, the new
 * field) is verified against the public half of the key, with the
 * failure classifier on; a failure is one main-log line with the class
 * and the field.  self-verify or self-verify=yes then passes the field
 * on anyway; self-verify=defer fails the expansion, so the message is
 * deferred like one whose key cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exim.h"
#include "selfverify.h"

enum sv_mode { SV_OFF, SV_LOG, SV_DEFER };

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

/* A last argument "self-verify[=VALUE]": *mode from it (yes and no as
 * the settings layer reads them, or defer) and *argc without it. */
static int
sign_self_word(int *argc, uschar *argv[], enum sv_mode *mode,
    uschar **yield)
{
	static const char *const spell[DKS_NKEYS] = {
		[DKS_SELF_VERIFY] = "self-verify"
	};
	const char *w = *argc > 0 ? CCS argv[*argc - 1] : "";
	struct dks s;

	*mode = SV_OFF;
	if (strncmp(w, "self-verify", 11) != 0 ||
	    (w[11] != '\0' && w[11] != '='))
		return OK;
	(*argc)--;
	if (w[11] == '\0' || strcmp(w + 12, "defer") == 0) {
		*mode = w[11] == '\0' ? SV_LOG : SV_DEFER;
		return OK;
	}
	dks_init(&s, spell);
	if (dks_set(&s, DKS_SELF_VERIFY, w + 12) != 0)
		return exim_fail(yield, "sign", CCS string_sprintf("%s "
		    "(self-verify=yes, no or defer)", s.err));
	*mode = s.self_verify ? SV_LOG : SV_OFF;
	return OK;
}

/* A last argument "report-request[=yes|no]" (before or after
 * self-verify): sign with r=y, asking for RFC 6651 failure reports. */
static int
sign_report_word(int *argc, uschar *argv[], int *on, uschar **yield)
{
	static const char *const spell[DKS_NKEYS] = {
		[DKS_REPORT_REQUEST] = "report-request"
	};
	const char *w = *argc > 0 ? CCS argv[*argc - 1] : "";
	struct dks s;

	if (strncmp(w, "report-request", 14) != 0 ||
	    (w[14] != '\0' && w[14] != '='))
		return OK;
	(*argc)--;
	if (w[14] == '\0') {
		*on = 1;
		return OK;
	}
	dks_init(&s, spell);
	if (dks_set(&s, DKS_REPORT_REQUEST, w + 15) != 0)
		return exim_fail(yield, "sign", s.err);
	*on = s.report_request;
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
verify_update(void *v, const void *data, size_t len)
{
	return dkk_verifier_update(v, data, len);
}

/* No line break or control character reaches the log. */
static const char *
sign_clean(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* The new field, then the message as it goes out, verified against the
 * key's public half: 0 pass, 1 not, -1 could not run; *why says why. */
static int
sign_self_check(const struct dkk_sign_opts *so, const char *field,
    char *why, size_t size)
{
	dkk_ctx *ctx = dks_selfv_ctx(so->key, so->domain, so->selector);
	uschar *err = NULL;
	dkk_verifier *v = NULL;
	int rc = -1;

	snprintf(why, size, "%s", "it could not run");
	if (ctx == NULL || dkk_verifier_new(ctx, &dks_selfv_opts, &v) !=
	    DKK_OK)
		goto out;
	if (dkk_verifier_update(v, field, strlen(field)) != DKK_OK ||
	    dkk_verifier_update(v, "\n", 1) != DKK_OK ||
	    spool_feed(verify_update, v, 0, &err) != OK)
		snprintf(why, size, "it could not run: %s", err != NULL ?
		    CCS err : "the message cannot be read");
	else if (dkk_verifier_wait(v) == DKK_OK)
		rc = dks_selfv_verdict(v, why, size);
out:
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
	return rc;
}

/* After signing: log a failure; with defer, fail the expansion. */
static int
sign_self(const struct dkk_sign_opts *so, const char *field,
    enum sv_mode mode, uschar **yield)
{
	char why[1024];
	uschar *line;

	if (mode == SV_OFF || sign_self_check(so, field, why, sizeof(why)) ==
	    0)
		return OK;
	line = string_sprintf("self-verification d=%s s=%s failed: %s%s",
	    so->domain, so->selector, why, mode == SV_DEFER ?
	    "; deferred" : "; passed on");
	if (mode == SV_DEFER)
		return exim_fail(yield, "sign", sign_clean(CS line));
	log_write(0, LOG_MAIN, "dkimkit: sign: %s", sign_clean(CS line));
	return OK;
}

static int
sign_run(dkk_signer *s, const struct dkk_sign_opts *so, enum sv_mode mode,
    uschar **yield)
{
	char *field = NULL;
	int rc;

	if ((rc = spool_feed(sign_update, s, 0, yield)) != OK)
		return rc;
	if ((rc = dkk_signer_final(s, DKK_FIELD_LF, &field)) != DKK_OK)
		return exim_fail(yield, "sign", dkk_strerror(rc));
	log_write(0, LOG_MAIN, "dkimkit: signed d=%s s=%s a=%s-sha256",
	    so->domain, so->selector, dkk_key_type(so->key));
	if ((rc = sign_self(so, field, mode, yield)) != OK) {
		free(field);
		return rc;
	}
	*yield = string_sprintf("%s", field);
	free(field);
	return OK;
}

int
sign(uschar **yield, int argc, uschar *argv[])
{
	struct dkk_sign_opts so;
	dkk_signer *s = NULL;
	enum sv_mode mode;
	const char *keysrc;
	dkk_ctx *ctx;
	int rc, keydir, report = 0;

	if (sign_is_policy(argc, argv))
		return sign_policy(yield, argc, argv);
	if ((rc = sign_report_word(&argc, argv, &report, yield)) != OK ||
	    (rc = sign_self_word(&argc, argv, &mode, yield)) != OK ||
	    (!report && (rc = sign_report_word(&argc, argv, &report,
	    yield)) != OK))
		return rc;
	if ((rc = sign_args(&so, argc, argv, &keysrc, &keydir, yield)) != OK)
		return rc;
	so.report_request = report;
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
	rc = sign_run(s, &so, mode, yield);
	dkk_signer_free(s);
	return rc;
}
