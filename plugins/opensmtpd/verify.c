/*
 * verify.c: verifying one message.  Lines are hashed as they arrive; key
 * lookups start when the header block ends and run in the background
 * while the body comes in.  The verdict can wait for DNS: verify_end()
 * then says so and message_dns() calls it again when answers arrive.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <time.h>

#include "filter.h"
#include "settings.h"

/* One line; -1 with the reason in *why when the verifier refuses it. */
int
verify_line(struct session *s, const char *line, size_t len,
    const char **why)
{
	int rc;

	/* CRLF, not LF: a CR that ends the line is its own ("x\r\r\n"). */
	if ((rc = dkk_verifier_update(s->verifier, line, len)) != DKK_OK ||
	    (rc = dkk_verifier_update(s->verifier, "\r\n", 2)) != DKK_OK) {
		*why = dkk_strerror(rc);
		return -1;
	}
	return 0;
}

/* Whether domain d is in the list of -S. */
static int
verify_trusted(const char *d)
{
	const char *p = conf.sealers;
	size_t n, dl = strlen(d);

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			return 0;
		n = strcspn(p, ", \t");
		if (n == dl && strncasecmp(p, d, n) == 0)
			return 1;
		p += n;
	}
}

/* -S: which ARC sets a trusted sealer sealed, and what its seal said;
 * logged for the operator (the verdicts do not change). */
static void
verify_log_sealers(struct session *s)
{
	struct dkk_arc_result r;
	struct dkk_arc_set set;
	unsigned i;

	if (conf.sealers == NULL || dkk_verifier_arc(s->verifier, &r) !=
	    DKK_OK)
		return;
	for (i = 1; i <= r.instances; i++)
		if (dkk_verifier_arc_set(s->verifier, i, &set) == DKK_OK &&
		    set.seal_domain != NULL && verify_trusted(set.seal_domain))
			log_session(s, "arc=%s: trusted sealer %s sealed "
			    "instance %u (cv=%s)", dkk_arc_name(r.result),
			    set.seal_domain, i, set.cv != NULL ? set.cv : "?");
}

/* One log line per message, in every host's format (settings.h), and
 * what the filter does about an ADSP discard. */
static void
verify_log(struct session *s)
{
	char line[2048];

	dks_log_line(s->verifier, &conf.vopts, verify_authserv_id(), line,
	    sizeof(line));
	log_session(s, "%s%s", line, s->discard ? (conf.reject ?
	    ": rejected" : ": discardable") : "");
	verify_log_sealers(s);
}

/* -O: the message's row, queued for the store's writer (never waited
 * on; a full queue drops it, counted and logged by the store). */
static void
verify_store(const struct session *s)
{
	struct dkst_facts f = { .seen = time(NULL), .client_ip = s->ip,
	    .helo = s->helo, .mail_from = s->mailfrom, .rcpt_to = s->rcptto,
	    .adsp = conf.adsp };

	if (conf.store == NULL)
		return;
	if (s->spfdone)
		f.spf = &s->spff;
	dkst_put(conf.store, dkst_row_from_verifier(s->verifier, &f));
}

/* Ours: -i, else the admd smtpd announced, else "localhost". */
const char *
verify_authserv_id(void)
{
	return conf.authserv_id ? conf.authserv_id : "localhost";
}

/* -m seal: why a message goes on without a new set. */
static void
verify_not_sealed(struct session *s, const char *why)
{
	log_session(s, "arc: not sealed: %s", why);
}

/* -m seal: the next ARC set (RFC 8617 5.1) from the verdicts just found,
 * in *top; NULL when the RFC says to add nothing (logged).  0, or -1 when
 * the set cannot be made. */
static int
verify_seal(struct session *s, char **top)
{
	const struct dkk_seal_opts so = {
		.key = conf.keys[0].key,
		.domain = conf.domains[0],
		.selector = conf.keys[0].selector,
		.authserv_id = verify_authserv_id(),
		.headers = conf.opts.headers,
		.received = NULL
	};
	struct dkk_arc_result r;
	int rc;

	*top = NULL;
	if ((rc = dkk_verifier_seal(s->verifier, &so, DKK_FIELD_LF, top)) ==
	    DKK_ELIMIT) {
		verify_not_sealed(s, "the header block is over a limit");
		return 0;
	}
	if (rc != DKK_OK || dkk_verifier_arc(s->verifier, &r) != DKK_OK) {
		log_session(s, "arc: sealing as d=%s s=%s: %s", so.domain,
		    so.selector, dkk_strerror(rc));
		free(*top);
		*top = NULL;
		return -1;
	}
	if (*top == NULL)
		verify_not_sealed(s, r.instances >= 50 ? "the chain has 50 "
		    "sets (RFC 8617 4.2.1)" : "the chain already failed "
		    "(cv=fail, RFC 8617 5.1)");
	else
		log_session(s, "arc: sealed i=%u cv=%s d=%s s=%s",
		    r.instances + 1, r.instances == 0 ? "none" :
		    dkk_arc_name(r.result), so.domain, so.selector);
	return 0;
}

/* 0 with the Authentication-Results field (-m seal: the ARC set, or
 * NULL) in *top, 1 while DNS answers are outstanding, -1 on failure. */
int
verify_end(struct session *s, char **top)
{
	int rc;

	/* DMARC: DKIM may be done before SPF (dmarc_spf_poll() hands the
	 * result in); final says DKK_EAGAIN until both are. */
	if ((rc = dkk_verifier_final(s->verifier)) == DKK_EAGAIN)
		return 1;
	if (rc != DKK_OK) {
		log_session(s, "verify: %s", dkk_strerror(rc));
		return -1;
	}
	/* -G: the _report records are looked up before the message goes
	 * on (the rs= text may be needed at commit); sending waits for
	 * nothing (report.c) */
	if (report_wait(s) == 1)
		return 1;
	/* RFC 5617 5.4: only discard is grounds to refuse; temperror never. */
	if (conf.adsp)
		s->discard = dkk_verifier_adsp(s->verifier, NULL) ==
		    DKK_ADSP_DISCARD;
	verify_log(s);
	verify_store(s);
	if (conf.mode == MODE_SEAL)
		return verify_seal(s, top);
	if (dkk_verifier_ar(s->verifier, verify_authserv_id(), DKK_FIELD_LF,
	    top) != DKK_OK)
		return -1;
	dmarc_verdict(s, top);
	return 0;
}
