/*
 * crypto.h: the crypto layer: the hashes DKIM uses, public keys and their
 * checks, private keys and signing (key.h), PKCS#11 PINs.
 */
#ifndef DKK_CRYPTO_H
#define DKK_CRYPTO_H

#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "internal.h"

/* hash.c: the two hashes DKIM uses. */
enum hash_alg { HASH_SHA1, HASH_SHA256 };

struct hash {
	enum hash_alg alg;
	union {
		struct sha1_ctx sha1;
		struct sha256_ctx sha256;
	} u;
};

#define HASH_MAX 32

HIDDEN void hash_init(struct hash *h, enum hash_alg alg);
HIDDEN void hash_update(struct hash *h, const void *data, size_t len);
HIDDEN size_t hash_digest(struct hash *h, uint8_t *out);
HIDDEN size_t hash_size(enum hash_alg alg);
/* HMAC-SHA256 (RFC 2104), for RFC 6590 redaction. */
HIDDEN void hash_hmac_sha256(const uint8_t *key, size_t klen,
    const void *data, size_t len, uint8_t out[32]);

/* crypto.c: public keys, verification and signing. */
enum key_type { KEY_RSA, KEY_ED25519 };

struct pubkey;
HIDDEN int pubkey_parse(enum key_type type, const uint8_t *der, size_t len,
    unsigned max_bits, struct pubkey **out);
HIDDEN void pubkey_free(struct pubkey *k);
HIDDEN unsigned pubkey_bits(const struct pubkey *k);
HIDDEN bool pubkey_verify(const struct pubkey *k, enum hash_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen);

/* privkey.c */
HIDDEN int privkey_sign(const dkk_key *k, const uint8_t *digest,
    uint8_t **sig, size_t *siglen);
HIDDEN enum key_type privkey_type(const dkk_key *k);
HIDDEN bool privkey_in_token(const dkk_key *k);

/* pkcs11.c: the first line of a PIN file into *pin (free with free()). */
HIDDEN int p11_pin_file(dkk_ctx *ctx, const char *path, char **pin);

#endif
