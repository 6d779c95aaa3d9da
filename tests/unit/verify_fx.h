/*
 * verify_fx.h: what the verifier's suites share (test_verify.c,
 * test_adsp.c, test_ar.c; defined in verify_fx.c): the RFC 6376 example
 * message, a zone of keys and ADSP records over the fixture's, and small
 * helpers.
 */
#ifndef VERIFY_FX_H
#define VERIFY_FX_H

#include <stdbool.h>

#include "unit.h"

extern const struct dkk_verify_opts with_adsp;
extern const char msg[];		/* RFC 6376 A.1, CRLF */
extern const char key512_pem[];		/* a 512-bit RSA key, for RFC 8301 */
#define KEY512_SPKI "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAPNnN2G8FI18SsCKZbkhER" \
	"BzTNioEB0zkGUyKEsMv4/dkWPDPasPVgW0pwOVlIyKo2CCDqkQmeBOW39S0d6Zs9MC" \
	"AwEAAQ=="

/* The fixture with zone_extra's records (selectors for the key checks,
 * ADSP records). */
int fx_init(struct unit_fx *fx);

/* The DKIM-Signature field for data, or NULL (a failed assertion). */
char *sign_field(struct unit_fx *fx, const struct dkk_sign_opts *o,
    const char *data, size_t len);

/* s with its first from replaced by to; a concatenated; free with free(). */
char *replace(const char *s, const char *from, const char *to);
char *concat(const char *a, const char *b);

/* msg with its From address at domain; free with free(). */
char *from_at(const char *domain);

/* m signed by hand with the RSA key pem (test_verify.c): tags without bh=
 * and b=; makes what dkk_signer will not (rsa-sha1, z=).  Free with free(). */
char *hand_sign(const char *pem, const char *m, const char *tags);

/* Verify m and assert the message verdict and each result, given as
 * "verdict/reason" strings; n is the expected signature count. */
void vexpect(dkk_ctx *ctx, const char *m, const char *verdict, size_t n,
    ...);

/* A resolver: answers from a zone, synchronously or later (from process
 * and wait); names ending in fail_suffix get TEMPFAIL. */
#define TR_MAX 64
struct tres {
	struct zone *zone;
	bool async;
	const char *fail_suffix;
	int queries;
	size_t n;
	struct {
		char *name;
		dkk_dns_cb cb;
		void *cbarg;
	} q[TR_MAX];
};

/* Replace the fixture's key source by a tres over the same zone. */
struct tres *tr_install(struct unit_fx *fx, bool async,
    const char *fail_suffix);

#endif
