/*
 * hash.c: SHA-1 and SHA-256 behind one small interface.
 */
#include <nettle/hmac.h>

#include "crypto.h"

void
hash_init(struct hash *h, enum hash_alg alg)
{
	h->alg = alg;
	if (alg == HASH_SHA1)
		sha1_init(&h->u.sha1);
	else
		sha256_init(&h->u.sha256);
}

void
hash_update(struct hash *h, const void *data, size_t len)
{
	if (h->alg == HASH_SHA1)
		sha1_update(&h->u.sha1, len, data);
	else
		sha256_update(&h->u.sha256, len, data);
}

size_t
hash_size(enum hash_alg alg)
{
	return alg == HASH_SHA1 ? SHA1_DIGEST_SIZE : SHA256_DIGEST_SIZE;
}

/* Write the digest to out (HASH_MAX bytes of room) and return its size. */
size_t
hash_digest(struct hash *h, uint8_t *out)
{
	size_t n = hash_size(h->alg);

	if (h->alg == HASH_SHA1)
		sha1_digest(&h->u.sha1, n, out);
	else
		sha256_digest(&h->u.sha256, n, out);
	return n;
}

void
hash_hmac_sha256(const uint8_t *key, size_t klen, const void *data,
    size_t len, uint8_t out[32])
{
	struct hmac_sha256_ctx h;

	hmac_sha256_set_key(&h, klen, key);
	hmac_sha256_update(&h, len, data);
	hmac_sha256_digest(&h, SHA256_DIGEST_SIZE, out);
}
