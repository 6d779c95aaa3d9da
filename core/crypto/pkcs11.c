/*
 * pkcs11.c: private keys that stay in a token (RFC 7512 "pkcs11:" URIs),
 * opened and used through GnuTLS.  Only the signature is computed by the
 * token; the public half is read once so that the caller can check each
 * signature with Nettle and print the key record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>

#include "pkcs11.h"

/* GnuTLS asks for the PIN when it logs in (again).  A pin-value or
 * pin-source in the URI is used by GnuTLS before it asks.  A second
 * attempt means the PIN was wrong: giving it again would only count
 * towards locking the token. */
static int
p11_pin_cb(void *arg, int attempt, const char *token_url,
    const char *token_label, unsigned flags, char *pin, size_t pin_max)
{
	const char *mine = arg;

	(void)token_url;
	(void)token_label;
	if (mine == NULL || attempt > 0 || (flags & GNUTLS_PIN_WRONG))
		return GNUTLS_E_PKCS11_PIN_ERROR;
	if (strlen(mine) >= pin_max)
		return GNUTLS_E_SHORT_MEMORY_BUFFER;
	strcpy(pin, mine);
	return 0;
}

/* The first line of the file at path, without its line end, into *pin
 * (free it with free()); an empty one is an error. */
int
p11_pin_file(dkk_ctx *ctx, const char *path, char **pin)
{
	char line[256];
	FILE *f;

	*pin = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return ctx_fail(ctx, DKK_EIO, "%s: %s", path, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0')
		return ctx_fail(ctx, DKK_ESYNTAX, "%s: no PIN on the first line",
		    path);
	*pin = dkk_strdup(line);
	gnutls_memset(line, 0, sizeof(line));
	return *pin != NULL ? DKK_OK : DKK_ENOMEM;
}

/* RFC 7512 2.4: the query attribute pin-source names a file (a path or a
 * "file:" URI, without percent-escapes here) whose first line is the PIN.
 * GnuTLS reads pin-value itself but not pin-source.  *pin is NULL when
 * the URI has no pin-source; free it with free(). */
int
p11_pin_source(dkk_ctx *ctx, const char *url, char **pin)
{
	const char *q = strchr(url, '?'), *v;
	char path[4096];
	size_t len;

	*pin = NULL;
	for (v = q; v != NULL; v = strchr(v + 1, '&'))
		if (strncmp(v + 1, "pin-source=", 11) == 0)
			break;
	if (v == NULL)
		return DKK_OK;
	v += 12;
	if (strncmp(v, "file://", 7) == 0)
		v += 7;
	else if (strncmp(v, "file:", 5) == 0)
		v += 5;
	if ((len = strcspn(v, "&")) == 0 || len >= sizeof(path))
		return ctx_fail(ctx, DKK_ESYNTAX, "%.*s: bad pin-source",
		    P11_SHOWN(url));
	memcpy(path, v, len);
	path[len] = '\0';
	return p11_pin_file(ctx, path, pin);
}

/* The URI without its pin-source: GnuTLS would read a plain path itself,
 * line end and all, and spend a PIN attempt on it. */
static char *
p11_without_pin_source(const char *url)
{
	char *copy = dkk_strdup(url), *q, *a, *end;

	if (copy == NULL || (q = strchr(copy, '?')) == NULL)
		return copy;
	for (a = q + 1; *a != '\0'; a = end) {
		end = a + strcspn(a, "&");
		if (strncmp(a, "pin-source=", 11) != 0) {
			end += *end == '&';
			continue;
		}
		/* Drop "pin-source=...&", or, when last, from the "?" or "&"
		 * before it. */
		if (*end != '&') {
			a[-1] = '\0';
			break;
		}
		memmove(a, end + 1, strlen(end + 1) + 1);
		end = a;
	}
	return copy;
}

/* Open the private key at url.  pin stays owned by the caller and must
 * outlive the key: GnuTLS may ask again when a session logs out. */
int
p11_open(dkk_ctx *ctx, const char *url, const char *pin,
    gnutls_privkey_t *out, enum key_type *type)
{
	gnutls_privkey_t pk;
	int rc;

	char *bare;

	if ((bare = p11_without_pin_source(url)) == NULL)
		return DKK_ENOMEM;
	if (gnutls_privkey_init(&pk) != 0) {
		free(bare);
		return DKK_ENOMEM;
	}
	gnutls_privkey_set_pin_function(pk, p11_pin_cb, (void *)pin);
	rc = gnutls_privkey_import_url(pk, bare, 0);
	free(bare);
	if (rc != 0) {
		gnutls_privkey_deinit(pk);
		return ctx_fail(ctx, DKK_EKEY, "%.*s: %s%s", P11_SHOWN(url),
		    gnutls_strerror(rc), pin == NULL &&
		    strstr(url, "pin-value=") == NULL &&
		    rc == GNUTLS_E_PKCS11_PIN_ERROR ? " (no PIN given)" : "");
	}
	switch (gnutls_privkey_get_pk_algorithm(pk, NULL)) {
	case GNUTLS_PK_RSA:
		*type = KEY_RSA;
		break;
	case GNUTLS_PK_EDDSA_ED25519:
		*type = KEY_ED25519;
		break;
	default:
		gnutls_privkey_deinit(pk);
		return ctx_fail(ctx, DKK_EKEY, "%.*s: not an RSA or Ed25519 "
		    "key", P11_SHOWN(url));
	}
	*out = pk;
	return DKK_OK;
}

/* The public half: RSA modulus and exponent, or the 32 Ed25519 bytes in
 * n (e left empty).  Free both with gnutls_free(). */
int
p11_public(dkk_ctx *ctx, gnutls_privkey_t pk, const char *url,
    gnutls_datum_t *n, gnutls_datum_t *e)
{
	gnutls_pubkey_t pub;
	gnutls_ecc_curve_t curve;
	int rc;

	memset(e, 0, sizeof(*e));
	if (gnutls_pubkey_init(&pub) != 0)
		return DKK_ENOMEM;
	rc = gnutls_pubkey_import_privkey(pub, pk, 0, 0);
	if (rc == 0 && gnutls_pubkey_get_pk_algorithm(pub, NULL) ==
	    GNUTLS_PK_RSA)
		rc = gnutls_pubkey_export_rsa_raw2(pub, n, e, 0);
	else if (rc == 0)
		rc = gnutls_pubkey_export_ecc_raw2(pub, &curve, n, NULL, 0);
	gnutls_pubkey_deinit(pub);
	if (rc != 0)
		return ctx_fail(ctx, DKK_EKEY, "%.*s: cannot read the public "
		    "key: %s", P11_SHOWN(url), gnutls_strerror(rc));
	return DKK_OK;
}

/* RSA: PKCS#1 v1.5 over the DigestInfo of the SHA-256 digest (RFC 6376
 * 3.3.1).  Ed25519: PureEdDSA over the digest itself (RFC 8463 3). */
int
p11_sign(gnutls_privkey_t pk, enum key_type type, const uint8_t *digest,
    uint8_t *sig, size_t siglen)
{
	gnutls_datum_t in = { (unsigned char *)digest, SHA256_DIGEST_SIZE };
	gnutls_datum_t out = { NULL, 0 };
	int rc;

	if (type == KEY_RSA)
		rc = gnutls_privkey_sign_hash(pk, GNUTLS_DIG_SHA256, 0, &in,
		    &out);
	else
		rc = gnutls_privkey_sign_data2(pk, GNUTLS_SIGN_EDDSA_ED25519,
		    0, &in, &out);
	if (rc == 0 && out.size == siglen)
		memcpy(sig, out.data, siglen);
	else if (rc == 0)
		rc = -1;
	gnutls_free(out.data);
	return rc == 0 ? DKK_OK : DKK_ECRYPTO;
}
