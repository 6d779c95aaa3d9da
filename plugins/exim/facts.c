/*
 * facts.c: the SMTP facts a dlfunc is given (client-ip=, helo=,
 * mail-from=) and the SPF check (RFC 7208) made from them, for verify in
 * the DATA ACL and for seal there, whose ARC-Authentication-Results
 * then records spf= and dmarc= as verify's field does.
 */
#include <stdlib.h>
#include <string.h>

#include "exim.h"

/* client-ip=, helo=, mail-from=: Exim's $sender_host_address,
 * $sender_helo_name, $sender_address, which may be empty: a local
 * submission has no address, a client may not have said HELO, and a
 * bounce has the null reverse path (mail-from= empty, checked as
 * postmaster@HELO, RFC 7208 2.4). */
int
facts_word(struct exim_facts *f, const char *arg)
{
	if (strncmp(arg, "client-ip=", 10) == 0)
		f->q.client_ip = arg[10] != '\0' ? arg + 10 : NULL;
	else if (strncmp(arg, "helo=", 5) == 0)
		f->q.helo = arg[5] != '\0' ? arg + 5 : NULL;
	else if (strncmp(arg, "mail-from=", 10) == 0)
		f->q.mail_from = arg + 10;
	else
		return 0;
	return 1;
}

/* The domain of an address (after its last '@'), or the name itself. */
static const char *
addr_domain(const char *a)
{
	const char *at = strrchr(a, '@');

	return at != NULL ? at + 1 : a;
}

/* Without the client's address (a local submission: $sender_host_address
 * is empty) SPF cannot be checked; with dmarc, as `dkimkit verify
 * --dmarc` without --client-ip does, the verifier gets spf=none for the
 * MAIL FROM domain, or without one the HELO name. */
static int
facts_spf_none(struct exim_facts *f, struct dkk_verify_opts *vo)
{
	const struct dkk_spf_query *q = &f->q;
	const char *d;

	if (!vo->dmarc)
		return 0;
	vo->spf.result = DKK_SPF_NONE;
	vo->spf.scope = q->mail_from != NULL && *q->mail_from != '\0' ?
	    DKK_SPF_MAILFROM : DKK_SPF_HELO;
	d = vo->spf.scope == DKK_SPF_MAILFROM ? q->mail_from : q->helo;
	if (d == NULL)
		return 0;
	if ((f->domain = strdup(addr_domain(d))) == NULL)
		return -1;
	f->domain[strcspn(f->domain, ">")] = '\0';
	vo->spf.domain = f->domain;
	return 0;
}

/* SPF of the SMTP client, for DMARC and the A-R field: checked whenever
 * client-ip= is given (with dmarc or not), from MAIL FROM or, for the
 * null reverse path, postmaster@HELO; only HELO when mail-from= is not
 * given at all.  DNS trouble is a temperror result, not an error.  The
 * smtp.remote-ip of the arc entry is the client's address too. */
int
facts_spf(dkk_ctx *ctx, struct exim_facts *f, struct dkk_verify_opts *vo,
    const char *what, uschar **yield)
{
	const struct dkk_spf_query *q = &f->q;
	dkk_spf *spf;
	int rc;

	vo->arc_remote_ip = q->client_ip;
	if (q->client_ip == NULL || (q->helo == NULL &&
	    (q->mail_from == NULL || *q->mail_from == '\0')))
		return facts_spf_none(f, vo) == 0 ? OK : exim_fail(yield,
		    what, dkk_strerror(DKK_ENOMEM));
	if ((rc = dkk_spf_new(ctx, q, &spf)) == DKK_EINVAL)
		return exim_fail(yield, what, CCS string_sprintf(
		    "client-ip: '%s' is not an IP address", q->client_ip));
	if (rc == DKK_OK && (rc = dkk_spf_wait(spf)) != DKK_OK)
		dkk_spf_free(spf);
	if (rc != DKK_OK)
		return exim_fail(yield, what, CCS string_sprintf(
		    "spf: %s", dkk_strerror(rc)));
	vo->spf.result = dkk_spf_result(spf);
	vo->spf.scope = dkk_spf_scope(spf);
	if (dkk_spf_domain(spf) != NULL &&
	    (f->domain = strdup(dkk_spf_domain(spf))) == NULL) {
		dkk_spf_free(spf);
		return exim_fail(yield, what, dkk_strerror(DKK_ENOMEM));
	}
	vo->spf.domain = f->domain;
	dkk_spf_free(spf);
	return OK;
}

void
facts_clear(struct exim_facts *f)
{
	free(f->domain);
	f->domain = NULL;
}
