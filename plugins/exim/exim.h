/*
 * exim.h: the Exim dlfunc adapter's private declarations.
 *
 * Exim loads dkimkit_exim.so with dlopen() the first time a
 * ${dlfunc{...}{verify|result|sign|seal}...} expansion names it and keeps it for
 * the life of the process.  One dkk_ctx serves the whole process; it holds
 * the key source and the private keys.
 */
#ifndef DKIMKIT_EXIM_H
#define DKIMKIT_EXIM_H

/* local_scan.h renames a few of Exim's functions for dlfunc callers. */
#define DLFUNC_IMPL
#include <local_scan.h>

#include "dkimkit.h"
#include "settings.h"

/* The dlfunc entry points, looked up by name with dlsym(). */
int verify(uschar **yield, int argc, uschar *argv[]);
int result(uschar **yield, int argc, uschar *argv[]);
int sign(uschar **yield, int argc, uschar *argv[]);
int seal(uschar **yield, int argc, uschar *argv[]);

/* psign.c: sign with a signing policy, when a word is opendkim-conf=. */
int sign_is_policy(int argc, uschar *argv[]);
int sign_policy(uschar **yield, int argc, uschar *argv[]);

/* ctx.c: the process-wide context. */
dkk_ctx *ctx_get(uschar **yield);
int ctx_source(struct dks *settings, const char *what, uschar **yield);
const dkk_key *ctx_key(const char *path, uschar **yield);
const dkk_key *ctx_keydir(const char *dir, const char *domain,
    const char **selector, uschar **yield);

/* report.c: the RFC 6651 reports of a verified message (the reports
 * word); never fails, trouble is logged.  The rs= text of the first
 * report due (free with free()), or NULL. */
char *exim_reports(dkk_verifier *v, const struct dks *set,
    const char *authserv_id, const struct dkk_spf_query *smtp);

/* store.c: the message's row queued for the observation store of uri
 * (store=), opened once per process and flushed at its exit; never
 * fails, trouble is logged. */
void exim_store(const dkk_verifier *v, const char *uri,
    const struct dkk_verify_opts *vo, const struct dkk_spf_query *smtp);

/* spool.c: the message as Exim holds it. */
typedef int (*spool_update_fn)(void *obj, const void *data, size_t len);
int spool_feed(spool_update_fn update, void *obj, int received,
    uschar **yield);
/* The header fields alone, then the empty line. */
int spool_headers(spool_update_fn update, void *obj, int received,
    uschar **yield);

/* policy.c: the signing policies of the process, read again when their
 * files change.  NULL (with *why) when none could be read; when the
 * latest reading failed, the one before (and *why says what failed). */
dkk_policy *policy_get(const char *conf, const char **why);

/* facts.c: the SMTP facts and SPF.  q's members are NULL when not given
 * or empty, except mail_from, where "" is the null reverse path. */
struct exim_facts {
	struct dkk_spf_query q;
	char *domain;		/* vo->spf.domain's storage */
};
/* 1 when arg is client-ip=, helo= or mail-from= (then kept), else 0. */
int facts_word(struct exim_facts *f, const char *arg);
/* SPF into vo->spf (and the client's address into vo->arc_remote_ip);
 * OK, or the expansion's failure under what.  facts_clear() after. */
int facts_spf(dkk_ctx *ctx, struct exim_facts *f,
    struct dkk_verify_opts *vo, const char *what, uschar **yield);
void facts_clear(struct exim_facts *f);

/* Log a failure to the main log and make it the expansion's error. */
int exim_fail(uschar **yield, const char *what, const char *why);

/* Each word of a dlfunc argument (white space between), copied into
 * Exim's store (freed with the message: the words stay until the
 * function returns), to fn; the first non-zero result of fn, else 0. */
int exim_words(const char *arg, int (*fn)(void *obj, const char *word),
    void *obj);

#endif /* DKIMKIT_EXIM_H */
