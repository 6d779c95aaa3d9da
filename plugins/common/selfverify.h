/*
 * selfverify.h: verify a message just signed against the public half of
 * the signing key, for every signing host (dkimkit sign --self-verify,
 * Exim's sign self-verify=, filter-dkimkit).
 *
 * The context made here has a one-record resolver: it answers
 * SELECTOR._domainkey.DOMAIN with the key's public half and NXDOMAIN for
 * any other name, so no DNS is asked and a key not yet published can be
 * checked.  The host feeds the message as it will leave to a verifier
 * made with dks_selfv_opts, waits, and asks dks_selfv_verdict.
 *
 *	dkk_ctx *ctx = dks_selfv_ctx(key, domain, selector);
 *	dkk_verifier_new(ctx, &dks_selfv_opts, &v); ...update, wait...
 *	switch (dks_selfv_verdict(v, why, sizeof(why))) ...
 */
#ifndef DKS_SELFVERIFY_H
#define DKS_SELFVERIFY_H

#include <stddef.h>

#include "dkimkit.h"

/* The verifier options: the failure classifier on. */
extern const struct dkk_verify_opts dks_selfv_opts;

/* A new context serving only the public half of key under
 * SELECTOR._domainkey.DOMAIN; weak keys allowed (the check is of the
 * signature, not of the key's strength).  NULL when it cannot be made. */
dkk_ctx *dks_selfv_ctx(const dkk_key *key, const char *domain,
    const char *selector);

/* The topmost signature's verdict: 0 pass, 1 not (why gets "DETAIL;
 * class CLASS[, field FIELD][: MORE]"), -1 no result (why says so). */
int dks_selfv_verdict(dkk_verifier *v, char *why, size_t size);

/* The same for the i-th signature from the top (a host that added
 * several checks each of its own). */
int dks_selfv_sig(dkk_verifier *v, size_t i, char *why, size_t size);

#endif /* DKS_SELFVERIFY_H */
