/*
 * seal.c: the seal dlfunc, for a forwarding relay: in its DATA ACL
 * (at-start, the set on top) or on its smtp transport.
 *
 *   ${dlfunc{SO}{seal}{key=FILE|pkcs11:URI}{domain=D}{selector=S}
 *	{[authserv-id=ID]}{[zone=FILE]}{[dns=ADDR@PORT timeout=T ...]}
 *	{[at-start dmarc]}{[client-ip=IP]}{[helo=NAME]}{[mail-from=A]}}
 *	the next ARC set (RFC 8617 5.1): "ARC-Seal: ...",
 *	"ARC-Message-Signature: ..." and "ARC-Authentication-Results: ...",
 *	for headers_add on the transport; with at-start, for add_header in
 *	the DATA ACL, each field marked to go on top of the header
 *
 * The message is verified here (its DKIM signatures and its ARC chain,
 * DMARC and SPF when given dmarc and the SMTP facts, with the key source
 * words verify takes) and the core builds the set from those verdicts.
 * When the RFC says to add nothing (the latest seal
 * already says cv=fail, 5.1 step 2; the chain has 50 sets, 4.2.1; or a
 * header block over the core's limits, which cannot be verified) the
 * result is the empty string and the main log says why: the message goes
 * on as it is, as it would through a relay that does not seal.  A key
 * that cannot be used, or any other failure, fails the expansion, so the
 * delivery is deferred and retried (451 in the ACL): mail is never
 * passed on with a set that could not be made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exim.h"

struct seal_args {
	struct dks set;		/* zone=, dns=, ... and authserv-id= */
	struct dkk_seal_opts so;
	const char *keysrc;
	int at_start;		/* the set for add_header, on top */
	struct exim_facts fx;	/* client-ip=, helo=, mail-from= */
	struct dkk_verify_opts vo;	/* ARC, and DMARC with dmarc */
};

/* The key source words, as verify spells them (settings.h). */
static const struct seal_word {
	const char *name;
	enum dks_key key;
	int bare;		/* a boolean: the bare word means yes */
} seal_words[] = {
	{ "zone", DKS_ZONE, 0 }, { "dns", DKS_DNS, 0 },
	{ "trust-anchor", DKS_TRUST_ANCHOR, 0 },
	{ "timeout", DKS_TIMEOUT, 0 },
	{ "allow-weak", DKS_ALLOW_WEAK, 1 },
	{ "authserv-id", DKS_AUTHSERV_ID, 0 },
	{ "dmarc", DKS_DMARC, 1 }, { "rfc7489", DKS_RFC7489, 1 },
};

/* key=, domain=, selector=, headers=: the seal's own words. */
static int
seal_own(struct seal_args *a, const char *w)
{
	if (strncmp(w, "key=", 4) == 0)
		a->keysrc = w + 4;
	else if (strncmp(w, "domain=", 7) == 0)
		a->so.domain = w + 7;
	else if (strncmp(w, "selector=", 9) == 0)
		a->so.selector = w + 9;
	else if (strncmp(w, "headers=", 8) == 0)
		a->so.headers = w + 8;
	else if (strcmp(w, "at-start") == 0)
		a->at_start = 1;
	else
		return 0;
	return 1;
}

static int
seal_word(struct seal_args *a, const char *w)
{
	const char *eq = strchr(w, '=');
	size_t i, n = eq != NULL ? (size_t)(eq - w) : strlen(w);

	if (*w == '\0' || seal_own(a, w) || facts_word(&a->fx, w))
		return 0;
	for (i = 0; i < sizeof(seal_words) / sizeof(seal_words[0]); i++) {
		const struct seal_word *sw = &seal_words[i];

		if (strlen(sw->name) != n || strncmp(w, sw->name, n) != 0)
			continue;
		if (eq == NULL && !sw->bare)
			break;
		return dks_set(&a->set, sw->key, eq != NULL ? eq + 1 : "yes");
	}
	snprintf(a->set.err, sizeof(a->set.err), "unknown argument \"%s\" "
	    "(key=, domain=, selector=, authserv-id=, headers=, at-start, "
	    "dmarc, rfc7489, client-ip=, helo=, mail-from=, zone=, dns=, "
	    "trust-anchor=, timeout=, allow-weak)", w);
	return -1;
}

/* As with verify, one argument may hold several words separated by
 * white space, except a word whose value may hold some (a file name,
 * what the SMTP client said): it takes its whole argument.  A pkcs11:
 * URI has none (RFC 7512 escapes them). */
static int
seal_word_cb(void *a, const char *w)
{
	return seal_word(a, w);
}

static int
seal_arg(struct seal_args *a, const char *arg)
{
	if (strncmp(arg, "zone=", 5) == 0 ||
	    strncmp(arg, "trust-anchor=", 13) == 0 ||
	    strncmp(arg, "client-ip=", 10) == 0 ||
	    strncmp(arg, "helo=", 5) == 0 ||
	    strncmp(arg, "mail-from=", 10) == 0 ||
	    (strncmp(arg, "key=", 4) == 0 && strncmp(arg, "key=pkcs11:", 11)))
		return seal_word(a, arg);
	return exim_words(arg, seal_word_cb, a);
}

/* Exim places :at_start: only for add_header in an ACL (spec 44.24); a
 * transport's headers_add would pass the marks on as text. */
static int
seal_in_acl(uschar **yield)
{
	const uschar *t = expand_string(US"$transport_name");

	if (t != NULL && *t != '\0')
		return exim_fail(yield, "seal", CCS string_sprintf("at-start "
		    "is for add_header in an ACL, not the transport %s (its "
		    "headers_add appends)", t));
	return OK;
}

static int
seal_args(struct seal_args *a, int argc, uschar *argv[], uschar **yield)
{
	int i;

	memset(a, 0, sizeof(*a));
	dks_init(&a->set, NULL);
	for (i = 0; i < argc; i++)
		if (seal_arg(a, CCS argv[i]) != 0)
			return exim_fail(yield, "seal", a->set.err);
	if (dks_check(&a->set) < 0)
		return exim_fail(yield, "seal", a->set.err);
	dks_verify_opts(&a->set, &a->vo);
	a->vo.arc = 1;
	if (a->keysrc == NULL || *a->keysrc == '\0' ||
	    a->so.domain == NULL || *a->so.domain == '\0' ||
	    a->so.selector == NULL || *a->so.selector == '\0')
		return exim_fail(yield, "seal", "key=, domain= and selector= "
		    "are required and must not be empty");
	a->so.authserv_id = a->set.val[DKS_AUTHSERV_ID];
	if (a->so.authserv_id == NULL)
		a->so.authserv_id = CCS expand_string(US"$primary_hostname");
	if (a->so.authserv_id == NULL || *a->so.authserv_id == '\0')
		return exim_fail(yield, "seal", "no authserv-id");
	return a->at_start ? seal_in_acl(yield) : OK;
}

static int
seal_update(void *v, const void *data, size_t len)
{
	return dkk_verifier_update(v, data, len);
}

/* Whether Exim changed a field it passes on (a rewrite rule: the old copy
 * is marked '*'): then the verdicts are those of the message as it came
 * in, and the ARC-Message-Signature signs it as it goes out. */
static int
seal_rewritten(void)
{
	const header_line *h;

	for (h = header_list; h != NULL; h = h->next)
		if (h->type == '*')
			return 1;
	return 0;
}

/* A verifier (ARC on; DMARC and SPF when asked) of the message, as
 * received or as it goes out. */
static int
seal_verify(dkk_ctx *ctx, const struct seal_args *a, int received,
    dkk_verifier **vp, uschar **yield)
{
	int rc;

	*vp = NULL;
	/* rfc7489 loads the Public Suffix List here: the context's error
	 * names the file */
	if ((rc = dkk_verifier_new(ctx, &a->vo, vp)) != DKK_OK)
		return exim_fail(yield, "seal", rc == DKK_EIO ||
		    rc == DKK_ESYNTAX ? dkk_ctx_error(ctx) : dkk_strerror(rc));
	if ((rc = spool_feed(seal_update, *vp, received, yield)) != OK)
		return rc;
	/* DNS trouble is a temperror verdict, recorded in the set */
	if ((rc = dkk_verifier_wait(*vp)) != DKK_OK)
		return exim_fail(yield, "seal", dkk_strerror(rc));
	return OK;
}

/* Why nothing is added: the chain's state, or the header's size. */
static const char *
seal_why_not(const dkk_verifier *v)
{
	struct dkk_arc_result r;

	if (dkk_verifier_arc(v, &r) != DKK_OK)
		return "the chain could not be read";
	return r.instances >= 50 ? "the chain has 50 sets (RFC 8617 4.2.1)" :
	    "the chain already failed (cv=fail, RFC 8617 5.1)";
}

/* The set for add_header = in the DATA ACL, on top of the header (each
 * handler's set above the fields it found, as each adds its trace
 * fields, RFC 5322 3.6.7): each field marked :at_start:.  Exim inserts each such field
 * above the others, so the last given ends on top: AAR, AMS, AS here
 * leave ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results
 * from the top down, as the core orders them.  fields holds the three
 * fields, folded with LF + TAB, LF between them. */
static uschar *
seal_at_start(const char *fields)
{
	const char *start[3], *p = fields;
	size_t len[3];
	int n = 0;

	while (n < 3 && *p != '\0') {
		start[n] = p;
		/* a field ends at an LF not followed by folding white space */
		while (*p != '\0' && !(p[0] == '\n' && p[1] != ' ' &&
		    p[1] != '\t'))
			p++;
		len[n] = (size_t)(p - start[n]);
		n++;
		if (*p == '\n')
			p++;
	}
	if (n != 3 || *p != '\0')
		return NULL;
	return string_sprintf(":at_start:%.*s\n:at_start:%.*s\n"
	    ":at_start:%.*s", (int)len[2], start[2], (int)len[1], start[1],
	    (int)len[0], start[0]);
}

static int
seal_run(dkk_verifier *v, const struct seal_args *a, uschar **yield)
{
	struct dkk_arc_result r;
	char *fields = NULL;
	int rc;

	rc = dkk_verifier_seal(v, &a->so, DKK_FIELD_LF, &fields);
	if (rc == DKK_ELIMIT) {
		const char *why = "";

		(void)dkk_verifier_reason(v, &why);
		log_write(0, LOG_MAIN, "dkimkit: seal: not sealed: the header "
		    "is over a limit: %s", why);
		*yield = US"";
		return OK;
	}
	if (rc != DKK_OK)
		return exim_fail(yield, "seal", CCS string_sprintf("d=%s s=%s: "
		    "%s", a->so.domain, a->so.selector, dkk_strerror(rc)));
	if (fields == NULL) {
		log_write(0, LOG_MAIN, "dkimkit: seal: not sealed: %s",
		    seal_why_not(a->so.received != NULL ? a->so.received : v));
		*yield = US"";
		return OK;
	}
	if (dkk_verifier_arc(a->so.received != NULL ? a->so.received : v,
	    &r) == DKK_OK)
		log_write(0, LOG_MAIN, "dkimkit: sealed i=%u cv=%s d=%s s=%s",
		    r.instances + 1, r.instances == 0 ? "none" :
		    dkk_arc_name(r.result), a->so.domain, a->so.selector);
	*yield = a->at_start ? seal_at_start(fields) :
	    string_sprintf("%s", fields);
	free(fields);
	if (*yield == NULL)
		return exim_fail(yield, "seal", "the set is not three fields");
	return OK;
}

int
seal(uschar **yield, int argc, uschar *argv[])
{
	struct seal_args a;
	dkk_verifier *v = NULL, *rv = NULL;
	dkk_ctx *ctx;
	int rc;

	if ((rc = seal_args(&a, argc, argv, yield)) != OK)
		return rc;
	if (message_id == NULL || *message_id == '\0')
		return exim_fail(yield, "seal", "no message (use it in "
		    "acl_smtp_data or on a transport)");
	if ((ctx = ctx_get(yield)) == NULL)
		return FAIL;
	if ((rc = ctx_source(&a.set, "seal", yield)) != OK)
		return rc;
	if ((a.so.key = ctx_key(a.keysrc, yield)) == NULL)
		return FAIL;
	if ((rc = facts_spf(ctx, &a.fx, &a.vo, "seal", yield)) != OK)
		goto out;
	if (seal_rewritten() &&
	    (rc = seal_verify(ctx, &a, 1, &rv, yield)) != OK)
		goto out;
	a.so.received = rv;
	if ((rc = seal_verify(ctx, &a, 0, &v, yield)) == OK)
		rc = seal_run(v, &a, yield);
out:
	dkk_verifier_free(v);
	dkk_verifier_free(rv);
	facts_clear(&a.fx);
	return rc;
}
