/*
 * privkey.c: private keys, imported once with GnuTLS, used with Nettle.
 * The public half goes out in keypub.c, new keys come from keygen.c.
 * RSA signing uses the timing-resistant, blinded rsa_*_sign_digest_tr.
 * Keys named by a "pkcs11:" URI stay in their token and sign through
 * GnuTLS (pkcs11.c); Nettle only checks their signatures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/bignum.h>
#include <nettle/eddsa.h>
#include <nettle/rsa.h>

#include "key.h"
#include "pkcs11.h"


#define KEY_FILE_MAX (1 << 20)

/* Nettle's random callback for RSA blinding.  It cannot fail, so a
 * failure is recorded in *failed and the signature made with it is
 * thrown away by the caller (the core never aborts); getrandom() with no
 * flags waits for the pool instead of failing, so this takes a kernel
 * without it (ENOSYS) or a seccomp filter that refuses it. */
static void
key_random(void *failed, size_t len, uint8_t *dst)
{
	ssize_t n;

	while (len > 0) {
		n = getrandom(dst, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*(bool *)failed = true;
			memset(dst, 0, len);
			return;
		}
		dst += n;
		len -= (size_t)n;
	}
}

static void
key_zero(dkk_key *k)
{
	if (k->type == KEY_RSA) {
		rsa_public_key_clear(&k->pub);
		rsa_private_key_clear(&k->priv);
	}
	memset(k->ed_secret, 0, sizeof(k->ed_secret));
	if (k->token != NULL)
		gnutls_privkey_deinit(k->token);
	if (k->pin != NULL) {
		gnutls_memset(k->pin, 0, strlen(k->pin));
		free(k->pin);
	}
}

static int
key_read(dkk_ctx *ctx, const char *path, gnutls_datum_t *data)
{
	FILE *f;
	size_t n;
	uint8_t *p;

	if ((f = fopen(path, "rb")) == NULL)
		return ctx_fail(ctx, DKK_EIO, "%s: %s", path, strerror(errno));
	if ((p = dkk_malloc(KEY_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return DKK_ENOMEM;
	}
	n = fread(p, 1, KEY_FILE_MAX + 1, f);
	if (ferror(f) || n > KEY_FILE_MAX) {
		int err = ferror(f) ? errno : EFBIG;

		fclose(f);
		free(p);
		return ctx_fail(ctx, DKK_EIO, "%s: %s", path, strerror(err));
	}
	fclose(f);
	p[n] = '\0';
	data->data = p;
	data->size = (unsigned)n;
	return DKK_OK;
}

static void
datums_free(gnutls_datum_t *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gnutls_free(d[i].data);
}

static void
mpz_set_datum(mpz_t x, const gnutls_datum_t *d)
{
	nettle_mpz_set_str_256_u(x, d->size, d->data);
}

/* Nettle wants a = d mod (p-1), b = d mod (q-1) and c = q^-1 mod p; they
 * are derived here rather than trusting the CRT values in the file. */
static int
key_from_rsa(dkk_key *k, gnutls_x509_privkey_t x)
{
	enum { M, E, D, P, Q, U, E1, E2, NDATUM };
	gnutls_datum_t v[NDATUM];
	mpz_t t;
	int rc = DKK_EKEY;

	if (gnutls_x509_privkey_export_rsa_raw2(x, &v[M], &v[E], &v[D],
	    &v[P], &v[Q], &v[U], &v[E1], &v[E2]) != 0)
		return DKK_EKEY;
	k->type = KEY_RSA;
	rsa_public_key_init(&k->pub);
	rsa_private_key_init(&k->priv);
	mpz_init(t);
	mpz_set_datum(k->pub.n, &v[M]);
	mpz_set_datum(k->pub.e, &v[E]);
	mpz_set_datum(k->priv.d, &v[D]);
	mpz_set_datum(k->priv.p, &v[P]);
	mpz_set_datum(k->priv.q, &v[Q]);
	mpz_sub_ui(t, k->priv.p, 1);
	mpz_fdiv_r(k->priv.a, k->priv.d, t);
	mpz_sub_ui(t, k->priv.q, 1);
	mpz_fdiv_r(k->priv.b, k->priv.d, t);
	if (mpz_sgn(k->priv.p) > 0 && mpz_sgn(k->priv.q) > 0 &&
	    mpz_invert(k->priv.c, k->priv.q, k->priv.p) &&
	    rsa_public_key_prepare(&k->pub) &&
	    rsa_private_key_prepare(&k->priv))
		rc = DKK_OK;
	k->bits = (unsigned)mpz_sizeinbase(k->pub.n, 2);
	mpz_clear(t);
	datums_free(v, NDATUM);
	return rc;
}

static int
key_from_ed25519_seed(dkk_key *k, const uint8_t *seed)
{
	k->type = KEY_ED25519;
	k->bits = 256;
	memcpy(k->ed_secret, seed, ED25519_KEY_SIZE);
	ed25519_sha512_public_key(k->ed_public, k->ed_secret);
	return DKK_OK;
}

int
key_from_x509(dkk_key *k, gnutls_x509_privkey_t x)
{
	gnutls_datum_t px, py, seed;
	gnutls_ecc_curve_t curve;
	int rc = DKK_EKEY;

	switch (gnutls_x509_privkey_get_pk_algorithm2(x, NULL)) {
	case GNUTLS_PK_RSA:
		return key_from_rsa(k, x);
	case GNUTLS_PK_EDDSA_ED25519:
		if (gnutls_x509_privkey_export_ecc_raw(x, &curve, &px, &py,
		    &seed) != 0)
			return DKK_EKEY;
		if (seed.size == ED25519_KEY_SIZE)
			rc = key_from_ed25519_seed(k, seed.data);
		gnutls_memset(seed.data, 0, seed.size);
		gnutls_free(px.data);
		gnutls_free(py.data);
		gnutls_free(seed.data);
		return rc;
	default:
		return DKK_EKEY;
	}
}

/* PEM or DER (PKCS#1, PKCS#8), else a base64 Ed25519 seed as published in
 * RFC 8463 A.2. */
static int
key_import(dkk_key *k, const gnutls_datum_t *data)
{
	gnutls_x509_privkey_t x;
	uint8_t *seed;
	size_t len;
	int rc = DKK_EKEY;

	if (gnutls_x509_privkey_init(&x) != 0)
		return DKK_ENOMEM;
	if (gnutls_x509_privkey_import2(x, data, GNUTLS_X509_FMT_PEM, NULL,
	    GNUTLS_PKCS_PLAIN) == 0 ||
	    gnutls_x509_privkey_import2(x, data, GNUTLS_X509_FMT_DER, NULL,
	    GNUTLS_PKCS_PLAIN) == 0)
		rc = key_from_x509(k, x);
	gnutls_x509_privkey_deinit(x);
	if (rc == DKK_OK || k->type == KEY_RSA)
		return rc;
	if (b64_decode((const char *)data->data, data->size, &seed, &len) ==
	    DKK_OK) {
		if (len == ED25519_KEY_SIZE)
			rc = key_from_ed25519_seed(k, seed);
		memset(seed, 0, len);
		free(seed);
	}
	return rc;
}

static size_t key_sigsize(const dkk_key *k);

static int
key_sign(const dkk_key *k, const uint8_t *digest, uint8_t *sig)
{
	mpz_t s;
	bool failed = false;
	int ok;

	if (k->token != NULL)
		return p11_sign(k->token, k->type, digest, sig, key_sigsize(k));
	if (k->type == KEY_ED25519) {
		ed25519_sha512_sign(k->ed_public, k->ed_secret,
		    SHA256_DIGEST_SIZE, digest, sig);
		return DKK_OK;
	}
	mpz_init(s);
	ok = rsa_sha256_sign_digest_tr(&k->pub, &k->priv, &failed, key_random,
	    digest, s) && !failed;
	if (ok)
		nettle_mpz_get_str_256(k->pub.size, sig, s);
	mpz_clear(s);
	return ok ? DKK_OK : DKK_ECRYPTO;
}

static size_t
key_sigsize(const dkk_key *k)
{
	return k->type == KEY_ED25519 ? ED25519_SIGNATURE_SIZE : k->pub.size;
}

/* Sign and verify a fixed digest: catches a key whose parts disagree. */
static int
key_selftest(const dkk_key *k)
{
	static const uint8_t digest[SHA256_DIGEST_SIZE] = { 0x64, 0x6b, 0x6b };
	uint8_t *sig;
	mpz_t s;
	int ok;

	if ((sig = dkk_malloc(key_sigsize(k))) == NULL)
		return DKK_ENOMEM;
	if (key_sign(k, digest, sig) != DKK_OK) {
		free(sig);
		return DKK_EKEY;
	}
	if (k->type == KEY_ED25519) {
		ok = ed25519_sha512_verify(k->ed_public, sizeof(digest),
		    digest, sig);
	} else {
		nettle_mpz_init_set_str_256_u(s, k->pub.size, sig);
		ok = rsa_sha256_verify_digest(&k->pub, digest, s);
		mpz_clear(s);
	}
	free(sig);
	return ok ? DKK_OK : DKK_EKEY;
}

static void
key_link(dkk_ctx *ctx, dkk_key *k)
{
	k->ctx = ctx;
	k->next = ctx->keys;
	ctx->keys = k;
}

int
key_finish(dkk_ctx *ctx, dkk_key *k, const char *source, int rc,
    dkk_key **keyp)
{
	if (rc == DKK_OK && (rc = key_selftest(k)) != DKK_OK)
		ctx_fail(ctx, rc, "%s: the key fails its own test signature",
		    source);
	if (rc != DKK_OK) {
		key_zero(k);
		free(k);
		return rc;
	}
	key_link(ctx, k);
	*keyp = k;
	return DKK_OK;
}

/* The public half of a token's key, for the self-test and dkk_key_public. */
static int
key_token_public(dkk_ctx *ctx, dkk_key *k, const char *url)
{
	gnutls_datum_t n, e;
	int rc;

	if (k->type == KEY_RSA) {	/* key_zero clears them from here on */
		rsa_public_key_init(&k->pub);
		rsa_private_key_init(&k->priv);
	}
	if ((rc = p11_public(ctx, k->token, url, &n, &e)) != DKK_OK)
		return rc;
	rc = DKK_EKEY;
	if (k->type == KEY_ED25519 && n.size == ED25519_KEY_SIZE) {
		memcpy(k->ed_public, n.data, n.size);
		k->bits = 256;
		rc = DKK_OK;
	} else if (k->type == KEY_RSA) {
		mpz_set_datum(k->pub.n, &n);
		mpz_set_datum(k->pub.e, &e);
		if (rsa_public_key_prepare(&k->pub))
			rc = DKK_OK;
		k->bits = (unsigned)mpz_sizeinbase(k->pub.n, 2);
	}
	gnutls_free(n.data);
	gnutls_free(e.data);
	if (rc != DKK_OK)
		ctx_fail(ctx, rc, "%.*s: unusable public key",
		    P11_SHOWN(url));
	return rc;
}

static int
key_load_token(dkk_ctx *ctx, const char *url, dkk_key **keyp)
{
	char *shown;	/* for messages: no pin-value */
	dkk_key *k;
	int rc;

	if ((k = dkk_calloc(1, sizeof(*k))) == NULL)
		return DKK_ENOMEM;
	k->type = KEY_ED25519;	/* nothing for key_zero to clear yet */
	if ((shown = dkk_strndup(url, strcspn(url, "?"))) == NULL) {
		free(k);
		return DKK_ENOMEM;
	}
	rc = p11_pin_source(ctx, url, &k->pin);
	if (rc == DKK_OK && k->pin == NULL && ctx->pin != NULL &&
	    (k->pin = dkk_strdup(ctx->pin)) == NULL)
		rc = DKK_ENOMEM;
	if (rc == DKK_OK)
		rc = p11_open(ctx, url, k->pin, &k->token, &k->type);
	if (rc == DKK_OK)
		rc = key_token_public(ctx, k, url);
	rc = key_finish(ctx, k, shown, rc, keyp);
	free(shown);
	return rc;
}

static int
ctx_load_key_run(dkk_ctx *ctx, const char *source, dkk_key **keyp)
{
	gnutls_datum_t data;
	dkk_key *k;
	int rc;

	if (ctx == NULL || source == NULL || keyp == NULL)
		return DKK_EINVAL;
	if (strncmp(source, "pkcs11:", 7) == 0)
		return key_load_token(ctx, source, keyp);
	if ((rc = key_read(ctx, source, &data)) != DKK_OK)
		return rc;
	if ((k = dkk_calloc(1, sizeof(*k))) == NULL) {
		free(data.data);
		return DKK_ENOMEM;
	}
	k->type = KEY_ED25519;
	rc = key_import(k, &data);
	memset(data.data, 0, data.size);
	free(data.data);
	if (rc == DKK_EKEY)
		ctx_fail(ctx, rc, "%s: not an RSA or Ed25519 private key "
		    "(PEM or DER, PKCS#1 or PKCS#8) nor a base64 Ed25519 seed",
		    source);
	return key_finish(ctx, k, source, rc, keyp);
}

void
dkk_key_free(dkk_key *key)
{
	dkk_key **pp;

	if (key == NULL)
		return;
	for (pp = &key->ctx->keys; *pp != NULL; pp = &(*pp)->next)
		if (*pp == key) {
			*pp = key->next;
			break;
		}
	key_zero(key);
	free(key);
}

const char *
dkk_key_type(const dkk_key *key)
{
	return key->type == KEY_RSA ? "rsa" : "ed25519";
}

unsigned
dkk_key_bits(const dkk_key *key)
{
	return key->bits;
}

enum key_type
privkey_type(const dkk_key *k)
{
	return k->type;
}

/* A PKCS#11 key signs through its token's session, which one thread
 * uses at a time (dkk_signer_move). */
bool
privkey_in_token(const dkk_key *k)
{
	return k->token != NULL;
}

/* Sign a SHA-256 header hash; *sig is allocated (free with free()). */
int
privkey_sign(const dkk_key *k, const uint8_t *digest, uint8_t **sig,
    size_t *siglen)
{
	int rc;

	if ((*sig = dkk_malloc(key_sigsize(k))) == NULL)
		return DKK_ENOMEM;
	if ((rc = key_sign(k, digest, *sig)) != DKK_OK) {
		free(*sig);
		*sig = NULL;
		return rc;
	}
	*siglen = key_sigsize(k);
	return DKK_OK;
}

int
dkk_ctx_load_key(dkk_ctx *ctx, const char *source, dkk_key **keyp)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, ctx_load_key_run(ctx, source, keyp));
}
