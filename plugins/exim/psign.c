/*
 * psign.c: the sign dlfunc with a signing policy (issue #19).
 *
 *   ${dlfunc{SO}{sign}{opendkim-conf=FILE}{client-ip=$sender_host_address}
 *       {auth=$authenticated_id}[{client-host=$sender_host_name}]}
 *	every DKIM-Signature field the policy asks for (several with
 *	MultipleSignatures, one a line), or "" when it signs nothing
 *
 * The adapter only gathers the facts: the author address, read by the
 * core from the header fields as they will go out, the client's address
 * and name, and the authenticated id; the core decides (dkk_policy_decide)
 * and says with which keys, canonicalization and fields.
 *
 * A message the policy does not sign, or cannot decide or sign (no
 * configuration ever read, no single author address, a SigningTable line
 * naming no key, a key that does not load), is passed on unsigned: the
 * expansion gives "" and the transport or the ACL goes on.  Only bad
 * words fail the expansion, as they fail every message alike.  Each call
 * writes one main-log line with the decision and its reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exim.h"

/* The header block read for the author address; Exim's own limit
 * (header_maxsize) is far below it. */
#define PSIGN_HEAD_MAX (16 * 1024 * 1024)

struct psign_args {
	const char *conf;
	struct dkk_policy_client c;
};

struct hbuf {
	char *p;
	size_t len, cap;
};

struct signers {
	dkk_signer **v;
	size_t n;
};

/* NAME=VALUE words; an empty value (an empty expansion) means none. */
static int
psign_word(struct psign_args *a, const char *arg, struct dks *s)
{
	static const char *const names[] = {
		"opendkim-conf=", "client-ip=", "client-host=", "auth="
	};
	const char **dst[] = { &a->conf, &a->c.ip, &a->c.host, &a->c.auth };
	size_t i, n;

	if (*arg == '\0')
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (strncmp(arg, names[i], n) != 0)
			continue;
		if (i == 0)
			return dks_set(s, DKS_OPENDKIM_CONF, arg + n);
		*dst[i] = arg[n] != '\0' ? arg + n : NULL;
		return 0;
	}
	snprintf(s->err, sizeof(s->err), "unknown argument \"%s\" (with "
	    "opendkim-conf=: client-ip=, client-host=, auth=)", arg);
	return -1;
}

static int
psign_args(struct psign_args *a, int argc, uschar *argv[], uschar **yield)
{
	static const char *const spell[DKS_NKEYS] = {
		[DKS_OPENDKIM_CONF] = "opendkim-conf"
	};
	struct dks s;
	int i;

	memset(a, 0, sizeof(*a));
	dks_init(&s, spell);
	for (i = 0; i < argc; i++)
		if (psign_word(a, CCS argv[i], &s) != 0)
			return exim_fail(yield, "sign", s.err);
	a->conf = s.val[DKS_OPENDKIM_CONF];
	/* No client-ip (a local submission) stays NULL: the core takes it
	 * for 127.0.0.1, as OpenDKIM does. */
	return OK;
}

/* Whether an argument list is the policy form. */
int
sign_is_policy(int argc, uschar *argv[])
{
	int i;

	for (i = 0; i < argc; i++)
		if (strncmp(CCS argv[i], "opendkim-conf=", 14) == 0)
			return 1;
	return 0;
}

/* No line break or control character from a message reaches the log. */
static char *
psign_clean(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static void
psign_log(const char *what, const char *why)
{
	uschar *line = string_sprintf("%s: %s", what, why != NULL ? why : "");

	log_write(0, LOG_MAIN, "dkimkit: policy: %s", psign_clean(CS line));
}

static int
hbuf_add(void *obj, const void *data, size_t len)
{
	struct hbuf *b = obj;
	size_t cap;
	char *p;

	if (len > PSIGN_HEAD_MAX - b->len)
		return DKK_ELIMIT;
	if (b->len + len > b->cap) {
		cap = b->cap == 0 ? 8192 : b->cap;
		while (cap < b->len + len)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return DKK_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return DKK_OK;
}

/* The author address as the core reads it from the fields that go out
 * (after Exim's rewriting, as the signature covers them); NULL with *why. */
static char *
psign_author(const char **why)
{
	struct hbuf b = { NULL, 0, 0 };
	uschar *err = NULL;
	char *addr = NULL;

	*why = "no single author address in a single From field";
	if (spool_headers(hbuf_add, &b, 0, &err) != OK)
		*why = err != NULL ? CCS err : "the header cannot be read";
	else if (dkk_author_address(b.p, b.len, &addr) != DKK_OK)
		addr = NULL;
	free(b.p);
	return addr;
}

static int
signers_update(void *obj, const void *data, size_t len)
{
	struct signers *ss = obj;
	size_t i;
	int rc;

	for (i = 0; i < ss->n; i++)
		if ((rc = dkk_signer_update(ss->v[i], data, len)) != DKK_OK)
			return rc;
	return DKK_OK;
}

static void
signers_free(struct signers *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		dkk_signer_free(ss->v[i]);
	free(ss->v);
}

/* One signer per signature of d; *why names the one that fails. */
static int
signers_make(dkk_ctx *ctx, dkk_policy *p, const struct dkk_decision *d,
    struct signers *ss, const char **why)
{
	struct dkk_sign_opts so;
	size_t i;
	int rc;

	if ((ss->v = calloc(d->nsigs, sizeof(*ss->v))) == NULL) {
		*why = dkk_strerror(DKK_ENOMEM);
		return -1;
	}
	for (i = 0; i < d->nsigs; i++) {
		if ((rc = dkk_policy_sign_opts(p, &d->sigs[i], &so)) != DKK_OK ||
		    (rc = dkk_signer_new(ctx, &so, &ss->v[i])) != DKK_OK) {
			*why = *dkk_ctx_error(ctx) != '\0' ?
			    dkk_ctx_error(ctx) : dkk_strerror(rc);
			return -1;
		}
		ss->n++;
	}
	return 0;
}

/* The fields, one a line, in Exim's memory; NULL with *why. */
static uschar *
signers_final(struct signers *ss, const char **why)
{
	uschar *out = US "";
	char *field;
	size_t i;
	int rc;

	for (i = 0; i < ss->n; i++) {
		if ((rc = dkk_signer_final(ss->v[i], DKK_FIELD_LF,
		    &field)) != DKK_OK) {
			*why = dkk_strerror(rc);
			return NULL;
		}
		out = i == 0 ? string_sprintf("%s", field) :
		    string_sprintf("%s\n%s", out, field);
		free(field);
	}
	return out;
}

/* " [d=... s=... i=... a=...]" for each signature, for the log line. */
static const char *
psign_list(const struct dkk_decision *d)
{
	const struct dkk_policy_sig *s;
	uschar *out = US "";
	size_t i;

	for (i = 0; i < d->nsigs; i++) {
		s = &d->sigs[i];
		out = string_sprintf("%s [d=%s s=%s%s%s a=%s]", out,
		    s->domain, s->selector, s->identity != NULL ? " i=" : "",
		    s->identity != NULL ? s->identity : "", s->algorithm);
	}
	return CCS out;
}

/* Sign with every key of the decision, in one pass over the message;
 * all or nothing, as dkimkit sign --opendkim-conf. */
static uschar *
psign_make(dkk_ctx *ctx, dkk_policy *p, const struct dkk_decision *d,
    const char **why)
{
	struct signers ss = { NULL, 0 };
	uschar *err = NULL, *out = NULL;

	if (signers_make(ctx, p, d, &ss, why) == 0) {
		if (spool_feed(signers_update, &ss, 0, &err) != OK)
			*why = err != NULL ? CCS err : "the message cannot "
			    "be read";
		else
			out = signers_final(&ss, why);
	}
	signers_free(&ss);
	return out;
}

/* The decision for the message and its fields; "" when unsigned. */
static uschar *
psign_run(dkk_ctx *ctx, dkk_policy *p, struct psign_args *a)
{
	struct dkk_decision d;
	const char *why;
	uschar *out = string_sprintf("%s", "");
	char *from;

	if ((from = psign_author(&why)) == NULL) {
		psign_log("not signed", why);
		return out;
	}
	a->c.from = from;
	if (dkk_policy_decide(p, &a->c, &d) != DKK_OK) {
		psign_log("not signed, the policy cannot decide",
		    dkk_ctx_error(ctx));
		free(from);
		return out;
	}
	if (!d.sign)
		psign_log("not signed", d.reason);
	else if ((out = psign_make(ctx, p, &d, &why)) == NULL) {
		psign_log(CCS string_sprintf("not signed, signing%s failed",
		    psign_list(&d)), why);
		out = string_sprintf("%s", "");
	} else
		psign_log(CCS string_sprintf("signed%s", psign_list(&d)),
		    d.reason);
	dkk_decision_clear(&d);
	free(from);
	return out;
}

int
sign_policy(uschar **yield, int argc, uschar *argv[])
{
	struct psign_args a;
	const char *why;
	dkk_policy *p;
	dkk_ctx *ctx;
	int rc;

	if ((rc = psign_args(&a, argc, argv, yield)) != OK)
		return rc;
	if (message_id == NULL || *message_id == '\0')
		return exim_fail(yield, "sign", "no message (use it in "
		    "acl_smtp_data or a transport)");
	/* From here on, whatever goes wrong, the message goes on. */
	if ((ctx = ctx_get(yield)) == NULL)
		psign_log("not signed", CCS *yield);
	else if ((p = policy_get(a.conf, &why)) == NULL)
		psign_log("not signed, no usable configuration", why);
	else {
		*yield = psign_run(ctx, p, &a);
		return OK;
	}
	*yield = string_sprintf("%s", "");
	return OK;
}
