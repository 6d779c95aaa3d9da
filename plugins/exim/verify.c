/*
 * verify.c: the verify and result dlfuncs.
 *
 *   ${dlfunc{SO}{verify}{[AUTHSERV-ID]}{[adsp]}{[dmarc]}{[dns=ADDR@PORT]}
 *	{[client-ip=$sender_host_address]}...}
 *	the whole "Authentication-Results: ..." field, for add_header
 *   ${dlfunc{SO}{result}{dkim|adsp|dmarc|disposition|spf|arc|...}}
 *	a verdict word of the last verify of this message, for conditions
 *
 * SPF is checked here, with the core's dkk_spf, from the connection facts
 * the ACL passes (client-ip=, helo=, mail-from=), and handed to the
 * verifier as facts: DMARC aligns with it (and the A-R field carries it
 * when DMARC is evaluated: the library keeps the facts only then).
 * Blocking on the resolver is fine: each SMTP connection has its own
 * Exim process.
 *
 * verify keeps the verdicts of the message it last saw, keyed by
 * message_id, so that later ACL statements can act on them without a
 * second pass over the message.  One SMTP connection may carry many
 * messages: the state of the previous one is freed when another id shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exim.h"

struct verify_opts {
	struct dks set;		/* zone=, dns=, adsp, ... (settings.h) */
	struct dkk_verify_opts vo;
	const char *authserv_id;
	struct exim_facts fx;	/* the SMTP facts for SPF (facts.c) */
};

/* What result can tell about the last verified message. */
static struct verify_state {
	char *id;
	enum dkk_verdict dkim;
	enum dkk_adsp adsp;
	char *author;		/* ADSP author domain, "" when none */
	char *domains;		/* d= of passing signatures, colon list */
	enum dkk_spf_result spf;	/* none unless SPF was checked */
	enum dkk_dmarc dmarc;		/* none unless dmarc was asked */
	enum dkk_dmarc_policy policy, disposition;
	char *dmarc_reason;	/* "" when DMARC was not evaluated */
	enum dkk_arc arc;	/* none unless arc was asked */
	char *sealers;		/* trusted sealers in the chain, colon list */
	char *report_text;	/* rs= of the first report due (RFC 6651
				 * 3.1), "" when none */
} vst;

static void
verify_state_clear(void)
{
	free(vst.id);
	free(vst.author);
	free(vst.domains);
	free(vst.dmarc_reason);
	free(vst.sealers);
	free(vst.report_text);
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
 * the bare boolean words (adsp for adsp=yes, ...), the connection facts
 * (facts_word()) and the first other word, the authserv-id. */
static const struct verify_word {
	const char *name;
	enum dks_key key;
	int bare;		/* a boolean: the bare word means yes */
} verify_words[] = {
	{ "zone", DKS_ZONE, 0 }, { "dns", DKS_DNS, 0 },
	{ "trust-anchor", DKS_TRUST_ANCHOR, 0 },
	{ "timeout", DKS_TIMEOUT, 0 },
	{ "allow-weak", DKS_ALLOW_WEAK, 1 }, { "adsp", DKS_ADSP, 1 },
	{ "authserv-id", DKS_AUTHSERV_ID, 0 },
	{ "dmarc", DKS_DMARC, 1 }, { "rfc7489", DKS_RFC7489, 1 },
	{ "arc", DKS_ARC, 1 }, { "trusted-sealers", DKS_TRUSTED_SEALERS, 0 },
	{ "arc-forwarded", DKS_ARC_FORWARDED, 1 },
	{ "explain", DKS_EXPLAIN, 1 },
	{ "atps", DKS_ATPS, 1 }, { "atps-adsp", DKS_ATPS_ADSP, 1 },
	{ "reports", DKS_REPORTS, 1 }, { "report-dir", DKS_REPORT_DIR, 0 },
	{ "report-state", DKS_REPORT_STATE, 0 },
	{ "report-from", DKS_REPORT_FROM, 0 },
	{ "report-smtp", DKS_REPORT_SMTP, 0 },
	{ "store", DKS_STORE, 0 },
};

static int
verify_opt(struct verify_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t i, n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

	if (*arg == '\0' || facts_word(&o->fx, arg))
		return 0;
	for (i = 0; i < sizeof(verify_words) / sizeof(verify_words[0]); i++) {
		const struct verify_word *w = &verify_words[i];

		if (strlen(w->name) != n || strncmp(arg, w->name, n) != 0)
			continue;
		if (eq == NULL && !w->bare)
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

/* Exim passes a dlfunc at most 8 arguments, fewer than the words a
 * DMARC-checking verify needs, so an argument may hold several words
 * separated by white space: {mx.example.net dmarc explain}.  A word whose
 * value may itself hold white space (a file name, the trusted-sealers
 * list, what the SMTP client said) takes its whole argument. */
static int
verify_whole(const char *arg)
{
	static const char *const whole[] = {
		"zone=", "trust-anchor=", "trusted-sealers=", "client-ip=",
		"helo=", "mail-from=", "report-dir=", "report-state=",
		"store="
	};
	size_t i;

	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (strncmp(arg, whole[i], strlen(whole[i])) == 0)
			return 1;
	return 0;
}

static int
verify_word_cb(void *o, const char *w)
{
	return verify_opt(o, w);
}

static int
verify_arg(struct verify_opts *o, const char *arg)
{
	if (verify_whole(arg))
		return verify_opt(o, arg);
	return exim_words(arg, verify_word_cb, o);
}

static int
verify_args(struct verify_opts *o, int argc, uschar *argv[], uschar **yield)
{
	int i;

	memset(o, 0, sizeof(*o));
	dks_init(&o->set, NULL);
	for (i = 0; i < argc; i++)
		if (verify_arg(o, CCS argv[i]) != 0)
			return exim_fail(yield, "verify", o->set.err);
	if (dks_check(&o->set) < 0)
		return exim_fail(yield, "verify", o->set.err);
	dks_verify_opts(&o->set, &o->vo);
	/* the store records each failure's class (as verify --store) */
	if (o->set.val[DKS_STORE] != NULL)
		o->vo.explain = 1;
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

/* The trusted sealers (trusted-sealers=, commas or spaces between) whose
 * d= sealed an instance of the chain, joined with ':'; "" when none.  A
 * fact for the ACL, as `dkimkit verify --trusted-sealer` prints it: the
 * chain's own verdict is result{arc}. */
static char *
verify_sealers(const dkk_verifier *v, const char *list)
{
	struct dkk_arc_result r;
	struct dkk_arc_set set;
	size_t n, len = 0;
	unsigned k;
	const char *p;
	char *s;

	if (list == NULL || dkk_verifier_arc(v, &r) != DKK_OK)
		return strdup("");
	if ((s = calloc(1, strlen(list) + 1)) == NULL)
		return NULL;
	for (p = list; *(p += strspn(p, ", \t")) != '\0'; p += n) {
		n = strcspn(p, ", \t");
		for (k = 1; k <= r.instances; k++)
			if (dkk_verifier_arc_set(v, k, &set) == DKK_OK &&
			    set.seal_domain != NULL &&
			    strlen(set.seal_domain) == n &&
			    strncasecmp(set.seal_domain, p, n) == 0)
				break;
		if (k > r.instances)
			continue;
		if (len > 0)
			s[len++] = ':';
		memcpy(s + len, p, n);
		len += n;
	}
	return s;
}

/* A sentence from the message (the DMARC reason may quote it) for an ACL
 * message: no control character. */
static char *
verify_clean(const char *text)
{
	char *s = strdup(text != NULL ? text : ""), *p;

	for (p = s; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* Keep the verdicts of this message for result.  0, or -1 when out of
 * memory. */
static int
verify_keep(const dkk_verifier *v, const struct verify_opts *o)
{
	const char *author = NULL;
	struct dkk_dmarc_result dm;
	struct dkk_arc_result arc;

	verify_state_clear();
	vst.dkim = dkk_verifier_verdict(v);
	vst.adsp = dkk_verifier_adsp(v, &author);
	vst.spf = o->vo.spf.result;
	if (o->vo.dmarc && dkk_verifier_dmarc(v, &dm) == DKK_OK) {
		vst.dmarc = dm.result;
		vst.policy = dm.policy;
		vst.disposition = dm.disposition;
		vst.dmarc_reason = verify_clean(dm.reason);
	} else
		vst.dmarc_reason = strdup("");
	if (o->vo.arc && dkk_verifier_arc(v, &arc) == DKK_OK)
		vst.arc = arc.result;
	vst.id = strdup(CCS message_id);
	vst.author = strdup(author != NULL ? author : "");
	vst.domains = verify_domains(v);
	vst.sealers = verify_sealers(v, o->set.val[DKS_TRUSTED_SEALERS]);
	vst.report_text = strdup("");
	if (vst.id == NULL || vst.author == NULL || vst.domains == NULL ||
	    vst.dmarc_reason == NULL || vst.sealers == NULL ||
	    vst.report_text == NULL) {
		verify_state_clear();
		return -1;
	}
	return 0;
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
	char *ar = NULL, *rs, *clean;
	int rc;

	/* A header block over the core's limits is a verdict too
	 * (permerror, DKK_R_LIMIT), not an error the client would retry. */
	if ((rc = spool_feed(verify_update, v, 1, yield)) != OK)
		return rc;
	/* DNS trouble is a temperror verdict, not an error. */
	if ((rc = dkk_verifier_wait(v)) != DKK_OK ||
	    (rc = dkk_verifier_ar(v, o->authserv_id, DKK_FIELD_LF, &ar)) != DKK_OK)
		return exim_fail(yield, "verify", dkk_strerror(rc));
	if (verify_keep(v, o) != 0) {
		free(ar);
		return exim_fail(yield, "verify", dkk_strerror(DKK_ENOMEM));
	}
	verify_log(v, o);
	if (o->set.val[DKS_STORE] != NULL)
		exim_store(v, o->set.val[DKS_STORE], &o->vo, &o->fx.q);
	*yield = string_sprintf("%s", ar);
	free(ar);
	/* The verdicts and the field are made: reports only follow. */
	if (o->set.reports && (rs = exim_reports(v, &o->set, o->authserv_id,
	    &o->fx.q)) != NULL) {
		/* qp-decoded text may hold line ends: not in a reply */
		if ((clean = verify_clean(rs)) != NULL) {
			free(vst.report_text);
			vst.report_text = clean;
		}
		free(rs);
	}
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
	if ((rc = ctx_source(&o.set, "verify", yield)) != OK ||
	    (rc = facts_spf(ctx, &o.fx, &o.vo, "verify", yield)) != OK) {
		facts_clear(&o.fx);
		return rc;
	}
	/* rfc7489 loads the Public Suffix List here: the context's error
	 * names the file */
	if ((rc = dkk_verifier_new(ctx, &o.vo, &v)) != DKK_OK)
		rc = exim_fail(yield, "verify", rc == DKK_EIO ||
		    rc == DKK_ESYNTAX ? dkk_ctx_error(ctx) : dkk_strerror(rc));
	else
		rc = verify_run(v, &o, yield);
	dkk_verifier_free(v);
	facts_clear(&o.fx);
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
	if (strcmp(what, "spf") == 0)
		return dkk_spf_result_name(vst.spf);
	if (strcmp(what, "dmarc") == 0)
		return dkk_dmarc_result_name(vst.dmarc);
	if (strcmp(what, "policy") == 0)
		return dkk_dmarc_policy_name(vst.policy);
	if (strcmp(what, "disposition") == 0)
		return dkk_dmarc_policy_name(vst.disposition);
	if (strcmp(what, "dmarc-reason") == 0)
		return vst.dmarc_reason;
	if (strcmp(what, "arc") == 0)
		return dkk_arc_name(vst.arc);
	if (strcmp(what, "sealers") == 0)
		return vst.sealers;
	if (strcmp(what, "report-text") == 0)
		return vst.report_text;
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
		    "unknown word \"%s\" (dkim, adsp, domains, author, spf, "
		    "dmarc, policy, disposition, dmarc-reason, arc, sealers, "
		    "report-text)",
		    what));
	*yield = string_sprintf("%s", word);
	return OK;
}
