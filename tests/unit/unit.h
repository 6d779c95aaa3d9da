/*
 * unit.h: shared bits of the CUnit suites.
 */
#ifndef DKK_UNIT_H
#define DKK_UNIT_H

#include <CUnit/CUnit.h>

#include "dkim/dkim.h"

/* Each test file registers one suite. */
void suite_codec(void);
void suite_taglist(void);
void suite_canon(void);
void suite_header(void);
void suite_sig(void);
void suite_keyrec(void);
void suite_zone(void);
void suite_keycache(void);
void suite_verify(void);
void suite_adsp(void);
void suite_report(void);
void suite_ruf(void);
void suite_dmarc(void);
void suite_ar(void);
void suite_sign(void);
void suite_vectors(void);
void suite_keydir(void);
void suite_limits(void);
void suite_worst(void);
void suite_arparse(void);
void suite_settings(void);
void suite_resolver(void);
void suite_spf(void);
void suite_spfmacro(void);
void suite_policy(void);
void suite_explain(void);
void suite_arc(void);
void suite_override(void);
void suite_store(void);
void suite_atps(void);
void suite_selfverify(void);

/* Register a suite from a NULL-terminated table. */
struct unit_test {
	const char *name;
	void (*fn)(void);
};
void unit_suite(const char *name, const struct unit_test *tests);

/* Paths of the source tree and of a file of its tests/vectors. */
const char *unit_srcdir(void);
char *unit_vector(const char *file);	/* free with free() */
char *unit_slurp(const char *path, size_t *len);	/* free with free() */

/* relaxed/relaxed signing options for example.com with this key. */
struct dkk_sign_opts unit_opts(const dkk_key *key, const char *selector);

/* Fail the Nth allocation of the core from now (0: never). */
extern long dkk_alloc_fail_at;

/* A file named name in a fresh mkdtemp() directory under $TMPDIR;
 * unit_tmp_remove() deletes both.  0, or -1 with nothing left behind. */
struct unit_tmp {
	char dir[256];
	char path[320];
};
int unit_tmp_write(struct unit_tmp *t, const char *name, const void *data,
    size_t len);
void unit_tmp_remove(struct unit_tmp *t);

/* A UDP socket bound to a free port of 127.0.0.1 (*port), or -1. */
int unit_udp_loopback(unsigned *port);

/* A dkk_clock_fn returning the int64_t that arg points to. */
int64_t unit_clock(void *arg);

/* A context with the clock at fx->now, a fresh RSA 1024 key (rsa) and
 * Ed25519 key (ed), and a zone holding them as rsa._domainkey.example.com
 * and ed._domainkey.example.com, followed by the lines of extra in which
 * $RSA and $ED stand for the keys' p= values.  unit_fx_free() undoes it. */
struct unit_fx {
	dkk_ctx *ctx;
	dkk_key *rsa;
	dkk_key *ed;
	char *rsa_pem;		/* PKCS#1 PEM */
	char *rsa_p;		/* p= values */
	char *ed_p;
	char *zone;		/* the zone file's text */
	int64_t now;
};
int unit_fx_init(struct unit_fx *fx, const char *extra);
void unit_fx_free(struct unit_fx *fx);

/* Sign msg with opts: the DKIM-Signature field, CRLF, msg.  NULL (and a
 * failed assertion) on error.  Free with free(). */
char *unit_sign(struct unit_fx *fx, const struct dkk_sign_opts *opts,
    const char *msg);

/* Verify len bytes of msg fed chunk bytes at a time (0: at once) and
 * wait for the results.  NULL (and a failed assertion) on error.  Free
 * with dkk_verifier_free(). */
dkk_verifier *unit_verify(dkk_ctx *ctx, const char *msg, size_t len,
    size_t chunk);
dkk_verifier *unit_verify_opts(dkk_ctx *ctx,
    const struct dkk_verify_opts *opts, const char *msg, size_t len,
    size_t chunk);

/* The verdict and reason of signature i, as "pass/ok"; "-" when there is
 * no such result.  The string is static, overwritten by the next call. */
const char *unit_result(const dkk_verifier *v, size_t i);

#endif
