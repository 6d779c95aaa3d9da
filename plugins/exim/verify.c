/*
 * verify.c: the verify and result dlfuncs.
 *
 *   ${dlfunc{SO}{verify}{[AUTHSERV-ID]}{[adsp]}{[dns=ADDR@PORT]}...}
 *	the whole "Authentication-Results: ..." field, for add_header
 *   ${dlfunc{SO}{result}{dkim|adsp|domains|author}}
 *	a verdict word of the last verify of this message, for conditions
 *
 * verify keeps the verdicts of the message it last saw, keyed by
 * message_id, so that later ACL statements can act on them without a
 * second pass over the message.  One SMTP connection may carry many
 * messages: the state of the previous one is freed when another id shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exim.h"

struct verify_opts {
	struct dks set;		/* zone=, dns=, adsp, ... (settings.h) */
	struct dkk_verify_opts vo;
	const char *authserv_id;
};

/* What result can tell about the last verified message. */
static struct verify_state {
	char *id;
	enum dkk_verdict dkim;
	enum dkk_adsp adsp;
	char *author;		/* ADSP author domain, "" when none */
	char *domains;		/* d= of passing signatures, colon list */
} vst;

static void
verify_state_clear(void)
{
	free(vst.id);
	free(vst.author);
	free(vst.domains);
	memset(&vst, 0, sizeof(vst));
}

static int
verify_state_current(void)
{
	return vst.id != NULL && message_id != NULL &&
	    strcmp(vst.id, CCS message_id) == 0;
}

/* The words after verify: NAME=VALUE in the settings vocabulary
 * (settings.h; the key source is applied once per process, see ctx.c),
 * the bare words adsp and allow-weak for adsp=yes and allow-weak=yes,
 * and the first other word, the authserv-id. */
static const struct verify_word {
	const char *name;
	enum dks_key key;
} verify_words[] = {
	{ "zone", DKS_ZONE }, { "dns", DKS_DNS },
	{ "trust-anchor", DKS_TRUST_ANCHOR }, { "timeout", DKS_TIMEOUT },
	{ "allow-weak", DKS_ALLOW_WEAK }, { "adsp", DKS_ADSP },
	{ "authserv-id", DKS_AUTHSERV_ID },
};

static int
verify_opt(struct verify_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t i, n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

	if (*arg == '\0')
		return 0;
	for (i = 0; i < sizeof(verify_words) / sizeof(verify_words[0]); i++) {
		const struct verify_word *w = &verify_words[i];

		if (strlen(w->name) != n || strncmp(arg, w->name, n) != 0)
			continue;
		if (eq == NULL && w->key != DKS_ADSP &&
		    w->key != DKS_ALLOW_WEAK)
			break;
		return dks_set(&o->set, w->key, eq != NULL ? eq + 1 : "yes");
	}
	if (eq != NULL || o->set.val[DKS_AUTHSERV_ID] != NULL) {
		snprintf(o->set.err, sizeof(o->set.err), "unknown argument "
		    "\"%s\"", arg);
		return -1;
	}
	return dks_set(&o->set, DKS_AUTHSERV_ID, arg);
}

static int
verify_args(struct verify_opts *o, int argc, uschar *argv[], uschar **yield)
{
	int i;

	memset(o, 0, sizeof(*o));
	dks_init(&o->set, NULL);
	for (i = 0; i < argc; i++)
		if (verify_opt(o, CCS argv[i]) != 0)
			return exim_fail(yield, "verify", o->set.err);
	if (dks_check(&o->set) < 0)
		return exim_fail(yield, "verify", o->set.err);
	dks_verify_opts(&o->set, &o->vo);
	o->authserv_id = o->set.val[DKS_AUTHSERV_ID];
	if (o->authserv_id == NULL)
		o->authserv_id = CCS expand_string(US"$primary_hostname");
	if (o->authserv_id == NULL || *o->authserv_id == '\0')
		return exim_fail(yield, "verify", "no authserv-id");
	return OK;
}

static int
verify_update(void *v, const void *data, size_t len)
{
	return dkk_verifier_update(v, data, len);
}

/* The d= of every passing signature, joined with ':'. */
static char *
verify_domains(const dkk_verifier *v)
{
	const struct dkk_sig_result *r;
	size_t i, len = 1;
	char *s;

	for (i = 0; i < dkk_verifier_count(v); i++)
		if ((r = dkk_verifier_result(v, i))->verdict == DKK_PASS &&
		    r->domain != NULL)
			len += strlen(r->domain) + 1;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	for (i = 0; i < dkk_verifier_count(v); i++) {
		r = dkk_verifier_result(v, i);
		if (r->verdict != DKK_PASS || r->domain == NULL)
			continue;
		if (*s != '\0')
			strcat(s, ":");
		strcat(s, r->domain);
	}
	return s;
}

/* Keep the verdicts of this message for result; domains is taken over
 * (NULL: out of memory).  0, or -1 when out of memory. */
static int
verify_state_set(enum dkk_verdict dkim, enum dkk_adsp adsp,
    const char *author, char *domains)
{
	verify_state_clear();
	vst.dkim = dkim;
	vst.adsp = adsp;
	vst.id = strdup(CCS message_id);
	vst.author = strdup(author);
	vst.domains = domains;
	if (vst.id == NULL || vst.author == NULL || vst.domains == NULL) {
		verify_state_clear();
		return -1;
	}
	return 0;
}

static int
verify_keep(const dkk_verifier *v)
{
	const char *author = NULL;
	enum dkk_adsp adsp = dkk_verifier_adsp(v, &author);

	return verify_state_set(dkk_verifier_verdict(v), adsp,
	    author != NULL ? author : "", verify_domains(v));
}

/* One main-log line per message, in every host's format (settings.h). */
static void
verify_log(const dkk_verifier *v, const struct verify_opts *o)
{
	char line[2048];

	log_write(0, LOG_MAIN, "dkimkit: %s",
	    dks_log_line(v, &o->vo, o->authserv_id, line,
	    sizeof(line)));
}

static int
verify_run(dkk_verifier *v, const struct verify_opts *o, uschar **yield)
{
	char *ar = NULL;
	int rc;

	/* A header block over the core's limits is a verdict too
	 * (permerror, DKK_R_LIMIT), not an error the client would retry. */
	if ((rc = spool_feed(verify_update, v, 1, yield)) != OK)
		return rc;
	/* DNS trouble is a temperror verdict, not an error. */
	if ((rc = dkk_verifier_wait(v)) != DKK_OK ||
	    (rc = dkk_verifier_ar(v, o->authserv_id, DKK_FIELD_LF, &ar)) != DKK_OK)
		return exim_fail(yield, "verify", dkk_strerror(rc));
	if (verify_keep(v) != 0) {
		free(ar);
		return exim_fail(yield, "verify", dkk_strerror(DKK_ENOMEM));
	}
	verify_log(v, o);
	*yield = string_sprintf("%s", ar);
	free(ar);
	return OK;
}

int
verify(uschar **yield, int argc, uschar *argv[])
{
	struct verify_opts o;
	dkk_verifier *v = NULL;
	dkk_ctx *ctx;
	int rc;

	verify_state_clear();
	if ((rc = verify_args(&o, argc, argv, yield)) != OK)
		return rc;
	if (message_id == NULL || *message_id == '\0')
		return exim_fail(yield, "verify",
		    "no message (use it in acl_smtp_data)");
	if ((ctx = ctx_get(yield)) == NULL)
		return FAIL;
	if ((rc = ctx_source(&o.set, yield)) != OK)
		return rc;
	if ((rc = dkk_verifier_new(ctx, &o.vo, &v)) != DKK_OK)
		return exim_fail(yield, "verify", dkk_strerror(rc));
	rc = verify_run(v, &o, yield);
	dkk_verifier_free(v);
	return rc;
}

static const char *
result_word(const char *what)
{
	if (strcmp(what, "dkim") == 0)
		return dkk_verdict_name(vst.dkim);
	if (strcmp(what, "adsp") == 0)
		return dkk_adsp_name(vst.adsp);
	if (strcmp(what, "domains") == 0)
		return vst.domains;
	if (strcmp(what, "author") == 0)
		return vst.author;
	return NULL;
}

int
result(uschar **yield, int argc, uschar *argv[])
{
	const char *what = argc > 0 ? CCS argv[0] : "dkim";
	const char *word;

	if (!verify_state_current()) {
		/* A stale state belongs to an earlier message: drop it. */
		verify_state_clear();
		return exim_fail(yield, "result", "verify has not run for "
		    "this message in this process (routers and transports "
		    "run in another: keep the verdict in an acl_m_ variable)");
	}
	if ((word = result_word(what)) == NULL)
		return exim_fail(yield, "result", CCS string_sprintf(
		    "unknown word \"%s\" (dkim, adsp, domains, author)", what));
	*yield = string_sprintf("%s", word);
	return OK;
}
