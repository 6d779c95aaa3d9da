/*
 * keygen.c: new keys, made by GnuTLS and loaded as any other.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "key.h"

/* A new key: RSA as PKCS#1 PEM (what most DKIM tools read), Ed25519 as
 * PKCS#8 PEM (its only standard form). */
static int
key_generate_run(dkk_ctx *ctx, const char *type, unsigned bits, char **pem,
    dkk_key **keyp)
{
	gnutls_x509_privkey_t x;
	gnutls_datum_t out = { NULL, 0 };
	dkk_key *k;
	bool rsa;
	int rc;

	if (ctx == NULL || type == NULL || pem == NULL || keyp == NULL)
		return DKK_EINVAL;
	rsa = strcmp(type, "rsa") == 0;
	if (!rsa && strcmp(type, "ed25519") != 0)
		return ctx_fail(ctx, DKK_EINVAL, "unknown key type %s", type);
	if (rsa && (bits < 1024 || bits > 8192))
		return ctx_fail(ctx, DKK_EINVAL,
		    "RSA keys must have 1024 to 8192 bits, not %u", bits);
	if (gnutls_x509_privkey_init(&x) != 0)
		return DKK_ENOMEM;
	rc = gnutls_x509_privkey_generate(x, rsa ? GNUTLS_PK_RSA :
	    GNUTLS_PK_EDDSA_ED25519, rsa ? bits : 256, 0);
	if (rc == 0)
		rc = rsa ? gnutls_x509_privkey_export2(x, GNUTLS_X509_FMT_PEM,
		    &out) : gnutls_x509_privkey_export2_pkcs8(x,
		    GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &out);
	if (rc != 0) {
		gnutls_x509_privkey_deinit(x);
		return ctx_fail(ctx, DKK_ECRYPTO, "key generation failed: %s",
		    gnutls_strerror(rc));
	}
	if ((k = dkk_calloc(1, sizeof(*k))) == NULL ||
	    (*pem = dkk_strndup((const char *)out.data, out.size)) == NULL) {
		free(k);
		rc = DKK_ENOMEM;
	} else {
		rc = key_finish(ctx, k, "generated key", key_from_x509(k, x),
		    keyp);
		if (rc != DKK_OK) {
			free(*pem);
			*pem = NULL;
		}
	}
	gnutls_memset(out.data, 0, out.size);
	gnutls_free(out.data);
	gnutls_x509_privkey_deinit(x);
	return rc;
}

int
dkk_key_generate(dkk_ctx *ctx, const char *type, unsigned bits, char **pem,
    dkk_key **keyp)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, key_generate_run(ctx, type, bits, pem, keyp));
}
