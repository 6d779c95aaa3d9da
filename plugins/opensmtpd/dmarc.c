/*
 * dmarc.c: DMARC (-p, -R) in the filter: the SPF check it needs, and
 * what -E does with the verdict.
 *
 * SPF (RFC 7208) is checked on the facts smtpd reports (facts.c): the
 * client address, the HELO name and the MAIL FROM address.  The check
 * starts as soon as MAIL FROM is accepted (tx-mail) and runs on the
 * context's resolver in the poll loop while RCPT and DATA go by.  The
 * verifier is made when the message begins, done or not: when SPF is
 * not done yet it is made with dkk_verify_opts.spf_later, so that its
 * key and _dmarc lookups run beside SPF's, and gets the result through
 * dkk_verifier_set_spf() when SPF finishes (dmarc_spf_keep()); the core
 * decides DMARC once both are in.  A slow SPF answer thus costs the
 * message no DKIM time, and a slow key no SPF time.
 *
 * -E acts on the DMARC verdict at the commit phase (the only one where
 * smtpd takes a refusal for the message): disposition reject is refused
 * with 550 5.7.1; temperror with 451 4.7.0, so that nothing is lost and
 * the client tries again; disposition quarantine adds a header field on
 * top, "X-Dkimkit-Quarantine: dmarc DOMAIN", for a Sieve script to file
 * the message, and "X-Spam: Yes", which smtpd's maildir delivery with
 * "junk" files in .Junk.  smtpd's own "junk" answer is no use at commit:
 * smtpd writes that X-Spam field when the message begins
 * (smtp_message_begin()), before any verdict, so the filter writes it
 * itself.  Without -E the verdict is only written
 * (Authentication-Results, the log line).  With -F, forwarded mail whose
 * ARC chain passes is quarantined rather than refused (the core's
 * arc_forwarded option decides; dmarc_forwarded() logs it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

/* A verifier made before SPF was done gets its result now. */
static void
dmarc_spf_late(struct session *s)
{
	int rc;

	if (!s->spflate || s->verifier == NULL)
		return;
	s->spflate = 0;
	if ((rc = dkk_verifier_set_spf(s->verifier, &s->spff)) != DKK_OK)
		log_session(s, "verify: SPF result not taken: %s",
		    dkk_strerror(rc));
}

/* The result of the transaction's SPF check is known: keep it. */
static void
dmarc_spf_keep(struct session *s, enum dkk_spf_result r,
    enum dkk_spf_scope scope, const char *domain, const char *why)
{
	free(s->spfdomain);
	s->spfdomain = domain != NULL ? strdup(domain) : NULL;
	memset(&s->spff, 0, sizeof(s->spff));
	s->spff.result = r;
	s->spff.scope = scope;
	s->spff.domain = s->spfdomain;
	s->spfdone = 1;
	log_session(s, "spf=%s (%s%s%s)", dkk_spf_result_name(r),
	    s->spfdomain != NULL ? s->spfdomain : "no domain",
	    why != NULL ? ": " : "", why != NULL ? why : "");
	dmarc_spf_late(s);
}

/* Start the SPF check of the transaction when DMARC is on and it has
 * not started yet.  Without a client address (a local client) or an
 * identity to check, the result is none: there is nothing to align. */
void
dmarc_spf_start(struct session *s)
{
	struct dkk_spf_query q;
	int rc;

	if (!conf.vopts.dmarc || conf.mode == MODE_SIGN || s->spfdone ||
	    s->spf != NULL)
		return;
	if (s->ip == NULL) {
		dmarc_spf_keep(s, DKK_SPF_NONE, DKK_SPF_MAILFROM, NULL,
		    "no client address");
		return;
	}
	/* MAIL FROM not seen: the HELO identity alone (RFC 7208 2.3). */
	if (s->mailfrom == NULL && s->helo == NULL) {
		dmarc_spf_keep(s, DKK_SPF_NONE, DKK_SPF_MAILFROM, NULL,
		    "neither HELO nor MAIL FROM known");
		return;
	}
	memset(&q, 0, sizeof(q));
	q.client_ip = s->ip;
	q.helo = s->helo;
	q.mail_from = s->mailfrom;
	q.receiver = verify_authserv_id();
	if ((rc = dkk_spf_new(conf.ctx, &q, &s->spf)) != DKK_OK) {
		s->spf = NULL;
		/* An address or name the core cannot read: no verdict to
		 * give on it, and no reason to refuse the message. */
		dmarc_spf_keep(s, rc == DKK_ENOMEM ? DKK_SPF_TEMPERROR :
		    DKK_SPF_NONE, DKK_SPF_MAILFROM, NULL, dkk_strerror(rc));
		return;
	}
	dmarc_spf_poll(s);
}

/* Take the SPF check as far as the answers at hand allow: 1 while it
 * waits for DNS, 0 when done (or never started). */
int
dmarc_spf_poll(struct session *s)
{
	int rc;

	if (s->spf == NULL)
		return 0;
	if ((rc = dkk_spf_final(s->spf)) == DKK_EAGAIN)
		return 1;
	if (rc != DKK_OK)
		dmarc_spf_keep(s, DKK_SPF_TEMPERROR, DKK_SPF_MAILFROM, NULL,
		    dkk_strerror(rc));
	else
		dmarc_spf_keep(s, dkk_spf_result(s->spf), dkk_spf_scope(s->spf),
		    dkk_spf_domain(s->spf), dkk_spf_reason(s->spf));
	dkk_spf_free(s->spf);
	s->spf = NULL;
	return 0;
}

/* The transaction ended (or a new MAIL FROM came). */
void
dmarc_spf_clear(struct session *s)
{
	static const struct dkk_spf_facts lost = { DKK_SPF_TEMPERROR,
	    DKK_SPF_MAILFROM, NULL };

	/* A verifier still waiting is not left to wait for ever: the
	 * check did not complete. */
	if (s->spflate && s->verifier != NULL &&
	    dkk_verifier_set_spf(s->verifier, &lost) != DKK_OK)
		log_session(s, "verify: SPF result not taken");
	s->spflate = 0;
	dkk_spf_free(s->spf);
	s->spf = NULL;
	free(s->spfdomain);
	s->spfdomain = NULL;
	memset(&s->spff, 0, sizeof(s->spff));
	s->spfdone = 0;
}

/* The verifier of a message that begins, made now.  With DMARC, the
 * SPF result goes in with it when SPF is done, else later
 * (dmarc_spf_late()).  -1 when it cannot be made. */
int
dmarc_verifier(struct session *s)
{
	struct dkk_verify_opts vo = conf.vopts;

	s->spflate = 0;
	if (conf.vopts.dmarc) {
		dmarc_spf_start(s);
		(void)dmarc_spf_poll(s);
		s->spflate = !s->spfdone;
	}
	vo.adsp = conf.adsp;
	/* the store records each failure's class (as verify --store) */
	if (conf.store != NULL)
		vo.explain = 1;
	vo.spf = s->spff;
	vo.spf_later = s->spflate;
	vo.arc_remote_ip = s->ip;
	if (dkk_verifier_new(conf.ctx, &vo, &s->verifier) != DKK_OK) {
		s->verifier = NULL;
		s->spflate = 0;
		return -1;
	}
	return 0;
}

/* The domain goes into a reply and a header field: only what a domain
 * name holds, whatever From said. */
static void
dmarc_tame(char *d)
{
	for (; *d != '\0'; d++)
		if (!(*d >= 'a' && *d <= 'z') && !(*d >= 'A' && *d <= 'Z') &&
		    !(*d >= '0' && *d <= '9') && *d != '-' && *d != '.' &&
		    *d != '_')
			*d = '?';
}

/* -F (the core's arc_forwarded) lowered a reject to quarantine: say so
 * in the log, naming the latest sealer the core reports. */
static void
dmarc_forwarded(struct session *s, const struct dkk_dmarc_result *dm)
{
	if (!dm->override_forwarded)
		return;
	log_session(s, "DMARC reject lowered to quarantine (-F): forwarded "
	    "mail, arc=pass (latest sealer %s, i=%u), no trusted sealer "
	    "vouched for it", dm->override_sealer != NULL ?
	    dm->override_sealer : "?", dm->override_instance);
}

/* The verifier is final: note what -E does at commit, and put the
 * quarantine field in front of *top (the A-R field). */
void
dmarc_verdict(struct session *s, char **top)
{
	struct dkk_dmarc_result dm;
	const char *d;
	char *both;
	size_t n;

	if (!conf.vopts.dmarc || !conf.enforce ||
	    dkk_verifier_dmarc(s->verifier, &dm) != DKK_OK)
		return;
	dmarc_forwarded(s, &dm);
	d = dm.domain != NULL ? dm.domain : "unknown";
	free(s->dmdomain);
	if ((s->dmdomain = strdup(d)) != NULL)
		dmarc_tame(s->dmdomain);
	if (dm.result == DKK_DMARC_TEMPERROR)
		s->dmtemp = 1;
	else if (dm.result == DKK_DMARC_FAIL &&
	    dm.disposition == DKK_DMARC_REJECT)
		s->dmreject = 1;
	else if (dm.result == DKK_DMARC_FAIL &&
	    dm.disposition == DKK_DMARC_QUARANTINE && *top != NULL) {
		n = strlen(d) + strlen(*top) + 64;
		if ((both = malloc(n)) == NULL) {
			log_session(s, "out of memory: quarantine field not "
			    "added");
			return;
		}
		snprintf(both, n, "X-Dkimkit-Quarantine: dmarc %s\n"
		    "X-Spam: Yes\n%s",
		    s->dmdomain != NULL ? s->dmdomain : "unknown", *top);
		free(*top);
		*top = both;
		log_session(s, "DMARC quarantine: X-Dkimkit-Quarantine added");
	}
	if (s->dmreject)
		log_session(s, "DMARC reject: refused at commit");
	else if (s->dmtemp)
		log_session(s, "DMARC temperror: tempfail at commit");
}

/* -E: the commit answer the DMARC verdict calls for, in buf; NULL when it
 * calls for none. */
const char *
dmarc_commit(const struct session *s, char *buf, size_t len)
{
	const char *d = s->dmdomain != NULL ? s->dmdomain : "unknown";

	if (s->dmreject)
		snprintf(buf, len, "reject|550 5.7.1 dkimkit: rejected by the "
		    "DMARC policy of %.255s: not authenticated", d);
	else if (s->dmtemp)
		snprintf(buf, len, "reject|451 4.7.0 dkimkit: DMARC of %.255s "
		    "cannot be evaluated now, try again later", d);
	else
		return NULL;
	return buf;
}

void
dmarc_commit_clear(struct session *s)
{
	s->dmreject = s->dmtemp = 0;
	free(s->dmdomain);
	s->dmdomain = NULL;
}
