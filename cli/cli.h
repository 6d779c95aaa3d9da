/*
 * cli.h: the dkimkit command's parts.
 */
#ifndef DKK_CLI_H
#define DKK_CLI_H

#include <stdio.h>

#include "dkimkit.h"

#define EXIT_PASS 0
#define EXIT_NOPASS 1
#define EXIT_TROUBLE 2

extern const char *progname;

int cmd_verify(int argc, char **argv);
int cmd_adsp(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_spf(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* stats.c, for report aggregate too */
int parse_since(const char *arg, long long *since);
int store_exists(const char *uri);
int cmd_selfcheck(int argc, char **argv);

/* main.c: shared helpers */
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int parse_int64(const char *s, long long min, long long max, long long *out);
void ctx_warn(dkk_ctx *ctx);
int pin_setup(dkk_ctx *ctx, const char *pinfile);	/* or $DKIMKIT_PIN */

/* Key source options shared by verify, adsp, key and spf, in the settings
 * vocabulary of every host (plugins/common/settings.h). */
struct source_opts {
	const char *zone;
	const char *dns;
	const char *trust_anchor;
	const char *timeout;
};
int source_check(const char *cmd, const struct source_opts *o);

/* Their getopt_long entries, and the values those give, which
 * source_option() stores in o (1; 0 for another value). */
enum {
	O_SRC_ZONE = 1000,
	O_SRC_DNS,
	O_SRC_TA,
	O_SRC_TIMEOUT
};
#define SOURCE_LONGOPTS \
	{ "zone", required_argument, NULL, O_SRC_ZONE }, \
	{ "dns", required_argument, NULL, O_SRC_DNS }, \
	{ "trust-anchor", required_argument, NULL, O_SRC_TA }, \
	{ "timeout", required_argument, NULL, O_SRC_TIMEOUT }
int source_option(struct source_opts *o, int c, const char *arg);
int source_setup(dkk_ctx *ctx, const struct source_opts *o);

/* keygen.c: the zone-file line of a key record ("" p64: revoked), and a
 * new key pair whose private key goes to a new file (mode 0600, never
 * overwriting) and whose public key comes back in base64. */
void print_record(FILE *out, const char *sel, const char *dom,
    const char *type, const char *p64);
int new_key(dkk_ctx *ctx, const char *type, unsigned bits, const char *path,
    char **p64);

/* sign.c: the input (standard input spooled), one signature over it
 * (*field to free), and the fields on top of it written to out. */
FILE *open_input(const char *path);
int sign_one(dkk_ctx *ctx, const struct dkk_sign_opts *so, FILE *f,
    const char *name, char **field);
int sign_emit(FILE *f, char *const *fields, size_t n, const char *name,
    FILE *out);

/* selfverify.c: f (a signed message) verified against key's public half
 * as selector._domainkey.domain, without DNS, at clock's time (NULL: now):
 * 0 pass, 1 not (said on standard error with its class), -1 trouble. */
int self_verify(const dkk_key *key, const char *domain, const char *selector,
    int64_t (*clock)(void *), void *clock_arg, FILE *f, const char *name);

/* policy.c: the policy of an opendkim.conf, its warnings said; an
 * address as --from gives it (free with free(), NULL if none). */
int policy_open(dkk_ctx *ctx, const char *conf, dkk_policy **pp);
char *policy_address(const char *from);

/* policysign.c: sign f as the policy says, or pass it through. */
int sign_by_policy(dkk_ctx *ctx, const char *conf,
    struct dkk_policy_client *c, FILE *f, const char *name);

/* explain.c: the class, field, detail (and advice) of signature i. */
void explain_json(const dkk_verifier *v, size_t i);
void explain_plain(const dkk_verifier *v, size_t i);

/* atps.c: signature i's ATPS result (verify --atps), and `key
 * atps-record` (argv[0] is "atps-record"). */
void atps_json(const dkk_verifier *v, size_t i);
void atps_plain(const dkk_verifier *v, size_t i);
int cmd_key_atps(int argc, char **argv);

/* json.c */
void json_string(FILE *f, const char *s);

#endif
