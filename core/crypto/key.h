/*
 * key.h: the private key object, shared by privkey.c (import, signing),
 * keypub.c (the public half as published) and keygen.c (new keys).
 */
#ifndef DKK_KEY_H
#define DKK_KEY_H

#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <nettle/eddsa.h>
#include <nettle/rsa.h>

#include "crypto.h"

struct dkk_key {
	dkk_ctx *ctx;
	struct dkk_key *next;
	enum key_type type;
	unsigned bits;
	struct rsa_public_key pub;
	struct rsa_private_key priv;
	uint8_t ed_secret[ED25519_KEY_SIZE];
	uint8_t ed_public[ED25519_KEY_SIZE];
	gnutls_privkey_t token;	/* PKCS#11: the key in its token */
	char *pin;		/* PKCS#11: GnuTLS may ask for it again */
};

/* A key read from x, RSA or Ed25519 (DKK_EKEY for any other). */
HIDDEN int key_from_x509(dkk_key *k, gnutls_x509_privkey_t x);

/* Self-test k and hand it to ctx (freed with it), or free it: rc is the
 * import's result, source names it in the context's error. */
HIDDEN int key_finish(dkk_ctx *ctx, dkk_key *k, const char *source, int rc,
    dkk_key **keyp);

#endif
