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
	const char *authserv_id;
	int adsp;
	struct exim_source src;
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

/* Whole seconds, 1 to 3600: more would hold the SMTP client too long. */
static int
verify_timeout(struct verify_opts *o, const char *s)
{
	char *end;
	unsigned long secs = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || secs < 1 || secs > 3600)
		return -1;
	o->src.timeout_ms = (unsigned)secs * 1000;
	return 0;
}

/* name=value arguments choose the key source (applied once per process,
 * see ctx.c); the word adsp turns ADSP on; the first other word is the
 * authserv-id. */
static int
verify_opt(struct verify_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (*arg == '\0')
		return 0;
	if (strcmp(arg, "adsp") == 0)
		o->adsp = 1;
	else if (strcmp(arg, "allow-weak") == 0)
		o->src.allow_weak = 1;
	else if (strncmp(arg, "dns=", 4) == 0)
		o->src.dns = arg + 4;
	else if (strncmp(arg, "zone=", 5) == 0)
		o->src.zone = arg + 5;
	else if (strncmp(arg, "trust-anchor=", 13) == 0)
		o->src.trust_anchor = arg + 13;
	else if (strncmp(arg, "timeout=", 8) == 0)
		return verify_timeout(o, arg + 8);
	else if (eq == NULL && o->authserv_id == NULL)
		o->authserv_id = arg;
	else
		return -1;
	return 0;
}

static int
verify_args(struct verify_opts *o, int argc, uschar *argv[], uschar **yield)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++)
		if (verify_opt(o, CCS argv[i]) != 0)
			return exim_fail(yield, "verify", CCS string_sprintf(
			    "unknown argument \"%s\"", argv[i]));
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

/* One main-log line per message: the verdicts, then each signature. */
static void
verify_log(const dkk_verifier *v, const struct verify_opts *o)
{
	const struct dkk_sig_result *r;
	const char *detail;
	uschar *line;
	size_t i;

	line = string_sprintf("dkimkit: dkim=%s",
	    dkk_verdict_name(vst.dkim));
	if (dkk_verifier_reason(v, &detail) != DKK_R_OK)
		line = string_sprintf("%s (%s)", line, detail);
	if (o->adsp)
		line = string_sprintf("%s adsp=%s (%s)", line,
		    dkk_adsp_name(vst.adsp), vst.author);
	for (i = 0; i < dkk_verifier_count(v); i++) {
		r = dkk_verifier_result(v, i);
		line = string_sprintf("%s [d=%s s=%s a=%s %s %s]", line,
		    r->domain != NULL ? r->domain : "?",
		    r->selector != NULL ? r->selector : "?",
		    r->algorithm != NULL ? r->algorithm : "?",
		    dkk_verdict_name(r->verdict), dkk_reason_name(r->reason));
	}
	log_write(0, LOG_MAIN, "%s", line);
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
	struct dkk_verify_opts vo = { 0 };
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
	if ((rc = ctx_source(&o.src, yield)) != OK)
		return rc;
	vo.adsp = o.adsp;
	if ((rc = dkk_verifier_new(ctx, &vo, &v)) != DKK_OK)
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
