/*
 * pkcs11.h: keys in PKCS#11 tokens, for privkey.c.  Private to the core.
 */
#ifndef DKK_PKCS11_H
#define DKK_PKCS11_H

#include <string.h>

#include <gnutls/abstract.h>

#include "crypto.h"

/* printf arguments for "%.*s": a URI without its query, which may hold
 * a pin-value that must not reach a log. */
#define P11_SHOWN(url) (int)strcspn((url), "?"), (url)

HIDDEN int p11_pin_source(dkk_ctx *ctx, const char *url, char **pin);
HIDDEN int p11_open(dkk_ctx *ctx, const char *url, const char *pin,
    gnutls_privkey_t *out, enum key_type *type);
HIDDEN int p11_public(dkk_ctx *ctx, gnutls_privkey_t pk, const char *url,
    gnutls_datum_t *n, gnutls_datum_t *e);
HIDDEN int p11_sign(gnutls_privkey_t pk, enum key_type type,
    const uint8_t *digest, uint8_t *sig, size_t siglen);

#endif /* DKK_PKCS11_H */
