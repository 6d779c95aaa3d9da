/*
 * keypub.c: the public half of a key as a DKIM key record's p= holds it
 * (RFC 6376 3.6.1): an RSA SubjectPublicKeyInfo in DER, or the raw
 * Ed25519 key (RFC 8463 4), base64.
 */
#include <nettle/bignum.h>

#include "key.h"

/* DER, just enough for a SubjectPublicKeyInfo. */
static void
der_head(struct buf *out, uint8_t tag, size_t len)
{
	uint8_t h[6];
	size_t n = 0;

	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (uint8_t)len;
	} else if (len < 0x100) {
		h[n++] = 0x81;
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = 0x82;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	}
	buf_add(out, h, n);
}

static void
der_wrap(struct buf *out, uint8_t tag, const struct buf *content)
{
	der_head(out, tag, content->len);
	buf_add(out, content->p, content->len);
}

static void
der_integer(struct buf *out, const mpz_t x)
{
	size_t n = nettle_mpz_sizeinbase_256_s(x);

	der_head(out, 0x02, n);
	if (buf_reserve(out, n) == DKK_OK) {
		nettle_mpz_get_str_256(n, (uint8_t *)out->p + out->len, x);
		out->len += n;
	}
}

static char *
rsa_spki_b64(const dkk_key *k)
{
	static const uint8_t algid[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x01, 0x05, 0x00
	};
	struct buf ints, rsapk, spki, outer;
	char *p64 = NULL;

	buf_init(&ints);
	buf_init(&rsapk);
	buf_init(&spki);
	buf_init(&outer);
	der_integer(&ints, k->pub.n);
	der_integer(&ints, k->pub.e);
	buf_addc(&rsapk, 0);		/* no unused bits in the BIT STRING */
	der_wrap(&rsapk, 0x30, &ints);
	buf_add(&spki, algid, sizeof(algid));
	der_wrap(&spki, 0x03, &rsapk);
	der_wrap(&outer, 0x30, &spki);
	if (!ints.failed && !rsapk.failed && !spki.failed && !outer.failed)
		p64 = b64_encode((const uint8_t *)outer.p, outer.len);
	buf_clear(&ints);
	buf_clear(&rsapk);
	buf_clear(&spki);
	buf_clear(&outer);
	return p64;
}

int
dkk_key_public(const dkk_key *key, char **p64)
{
	if (key == NULL || p64 == NULL)
		return DKK_EINVAL;
	if (key->type == KEY_ED25519)
		*p64 = b64_encode(key->ed_public, sizeof(key->ed_public));
	else
		*p64 = rsa_spki_b64(key);
	return *p64 != NULL ? DKK_OK : DKK_ENOMEM;
}
