/*
 * crypto.c: public keys from key records, and signature verification with
 * Nettle.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/asn1.h>
#include <nettle/bignum.h>
#include <nettle/eddsa.h>
#include <nettle/rsa.h>

#include "crypto.h"

struct pubkey {
	enum key_type type;
	unsigned bits;
	struct rsa_public_key rsa;
	uint8_t ed25519[ED25519_KEY_SIZE];
};

/* 1.2.840.113549.1.1.1, rsaEncryption */
static const uint8_t oid_rsa[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01
};

/* Parse with a generous limit so that an oversized key is told apart from
 * garbage; the caller compares the size with its own limit. */
#define RSA_PARSE_BITS 16384

/* SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { OID, params }, BIT STRING }
 * with the RSAPublicKey inside the bit string. */
static bool
rsa_from_spki(struct rsa_public_key *pub, const uint8_t *der, size_t len)
{
	struct asn1_der_iterator i, alg, inner;

	if (asn1_der_iterator_first(&i, len, der) != ASN1_ITERATOR_CONSTRUCTED ||
	    i.type != ASN1_SEQUENCE ||
	    asn1_der_decode_constructed_last(&i) != ASN1_ITERATOR_CONSTRUCTED ||
	    i.type != ASN1_SEQUENCE ||
	    asn1_der_decode_constructed(&i, &alg) != ASN1_ITERATOR_PRIMITIVE ||
	    alg.type != ASN1_IDENTIFIER || alg.length != sizeof(oid_rsa) ||
	    memcmp(alg.data, oid_rsa, sizeof(oid_rsa)) != 0)
		return false;
	if (asn1_der_iterator_next(&i) != ASN1_ITERATOR_PRIMITIVE ||
	    i.type != ASN1_BITSTRING || i.length < 1 || i.data[0] != 0)
		return false;
	if (asn1_der_iterator_first(&inner, i.length - 1, i.data + 1) !=
	    ASN1_ITERATOR_CONSTRUCTED)
		return false;
	return rsa_public_key_from_der_iterator(pub, RSA_PARSE_BITS, &inner) &&
	    asn1_der_iterator_next(&i) == ASN1_ITERATOR_END;
}

/* A bare PKCS#1 RSAPublicKey, seen in the wild and accepted by most
 * verifiers. */
static bool
rsa_from_pkcs1(struct rsa_public_key *pub, const uint8_t *der, size_t len)
{
	struct asn1_der_iterator i;

	return asn1_der_iterator_first(&i, len, der) ==
	    ASN1_ITERATOR_CONSTRUCTED &&
	    rsa_public_key_from_der_iterator(pub, RSA_PARSE_BITS, &i);
}

/* Decode p= (already base64-decoded).  DKK_ESYNTAX when it is not a key of
 * the type, DKK_ELIMIT when an RSA key has more than max_bits. */
int
pubkey_parse(enum key_type type, const uint8_t *der, size_t len,
    unsigned max_bits, struct pubkey **out)
{
	struct pubkey *k;
	int rc = DKK_ESYNTAX;

	if ((k = dkk_calloc(1, sizeof(*k))) == NULL)
		return DKK_ENOMEM;
	k->type = type;
	if (type == KEY_ED25519) {
		/* RFC 8463 4: the raw 32-octet key, no ASN.1 wrapper. */
		if (len == ED25519_KEY_SIZE) {
			memcpy(k->ed25519, der, len);
			k->bits = 256;
			*out = k;
			return DKK_OK;
		}
		free(k);
		return rc;
	}
	rsa_public_key_init(&k->rsa);
	if (rsa_from_spki(&k->rsa, der, len) ||
	    rsa_from_pkcs1(&k->rsa, der, len)) {
		k->bits = (unsigned)mpz_sizeinbase(k->rsa.n, 2);
		if (k->bits <= max_bits) {
			*out = k;
			return DKK_OK;
		}
		rc = DKK_ELIMIT;
	}
	rsa_public_key_clear(&k->rsa);
	free(k);
	return rc;
}

void
pubkey_free(struct pubkey *k)
{
	if (k == NULL)
		return;
	if (k->type == KEY_RSA)
		rsa_public_key_clear(&k->rsa);
	free(k);
}

unsigned
pubkey_bits(const struct pubkey *k)
{
	return k->bits;
}

/* Check a signature over a header hash.  RSA uses PKCS#1 v1.5 (RFC 6376
 * 3.3); Ed25519 signs the SHA-256 hash itself with PureEdDSA (RFC 8463 3). */
bool
pubkey_verify(const struct pubkey *k, enum hash_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	mpz_t s;
	int ok;

	if (k->type == KEY_ED25519)
		return alg == HASH_SHA256 && siglen == ED25519_SIGNATURE_SIZE &&
		    ed25519_sha512_verify(k->ed25519, SHA256_DIGEST_SIZE,
			digest, sig) == 1;
	/* RFC 8017 8.2.2 step 1: S is exactly k octets, the modulus' size;
	 * a shorter S with the same value would give a second valid b=. */
	if (siglen != k->rsa.size)
		return false;
	nettle_mpz_init_set_str_256_u(s, siglen, sig);
	if (alg == HASH_SHA1)
		ok = rsa_sha1_verify_digest(&k->rsa, digest, s);
	else
		ok = rsa_sha256_verify_digest(&k->rsa, digest, s);
	mpz_clear(s);
	return ok == 1;
}
