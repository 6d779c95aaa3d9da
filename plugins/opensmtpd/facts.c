/*
 * facts.c: what smtpd reports of a session, kept for the signing policy
 * (client address, its name, the authenticated user) and for SPF and
 * DMARC (HELO name, MAIL FROM).  Report lines of protocol 0.6 (smtpd
 * 6.8) and 0.7 (smtpd 7), after the session id:
 *
 *	link-connect	rdns|fcrdns|src|dest	src "1.2.3.4:port",
 *						"[::1]:port" or "unix:..."
 *	link-auth	user|result (0.6)	result|user (0.7)
 *	link-identify	method|name		method HELO or EHLO
 *	tx-mail		msgid|result|address	msgid kept for the log
 *	tx-rcpt		msgid|result|address	the first accepted one, for
 *						the store's envelope_to
 *
 * The connection facts go at link-disconnect (the session goes), the
 * MAIL FROM at tx-reset and tx-rollback (the transaction ends).  A fact
 * that cannot be read or stored is left unknown, and logged: unknown
 * never makes a client more trusted than it is.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"

/* Replace *slot with a copy of the n octets at v (NULL: forget it). */
static void
facts_set(struct session *s, char **slot, const char *v, size_t n,
    const char *what)
{
	free(*slot);
	*slot = NULL;
	if (v == NULL)
		return;
	if ((*slot = malloc(n + 1)) == NULL) {
		log_session(s, "out of memory: %s unknown", what);
		return;
	}
	memcpy(*slot, v, n);
	(*slot)[n] = '\0';
}

/* The address of "1.2.3.4:port" or "[::1]:port" (smtpd 6.8), taking
 * "[IPv6:::1]:port" and "::1:port" too: whatever the text form of the
 * address, the port comes last.  NULL for "unix:..." (a local client has
 * no address). */
static void
facts_addr(struct session *s, const char *src)
{
	const char *colon = strrchr(src, ':'), *p = src;
	size_t n;

	if (strncmp(src, "unix:", 5) == 0 || colon == NULL ||
	    colon == src) {
		facts_set(s, &s->ip, NULL, 0, "client address");
		return;
	}
	n = (size_t)(colon - src);
	if (*p == '[' && n >= 2 && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n > 5 && strncasecmp(p, "IPv6:", 5) == 0) {
		p += 5;
		n -= 5;
	}
	facts_set(s, &s->ip, p, n, "client address");
}

/* Split v at its first '|': v ends there, the rest is returned (NULL
 * when there is none). */
static char *
facts_next(char *v)
{
	char *bar = strchr(v, '|');

	if (bar == NULL)
		return NULL;
	*bar = '\0';
	return bar + 1;
}

static void
facts_connect(struct session *s, char *v)
{
	char *fcrdns, *src, *dest;

	if ((fcrdns = facts_next(v)) == NULL ||
	    (src = facts_next(fcrdns)) == NULL ||
	    (dest = facts_next(src)) == NULL) {
		log_session(s, "malformed link-connect report: client unknown");
		facts_clear_link(s);
		return;
	}
	facts_addr(s, src);
	/* The name only when its address leads back to the client: anyone
	 * can make the PTR of their own address say "relay.example". */
	if (strcmp(fcrdns, "pass") == 0 && strcmp(v, "<unknown>") != 0)
		facts_set(s, &s->host, v, strlen(v), "client name");
	else
		facts_set(s, &s->host, NULL, 0, NULL);
}

/* 0.6 puts the user first, 0.7 the result; a user name may hold '|',
 * the result never does. */
static void
facts_auth(struct session *s, char *v, const char *version)
{
	const char *result, *user;
	char *bar;

	if (strcmp(version, "0.6") == 0) {
		if ((bar = strrchr(v, '|')) == NULL)
			goto bad;
		*bar = '\0';
		user = v;
		result = bar + 1;
	} else {
		result = v;
		if ((user = facts_next(v)) == NULL)
			goto bad;
	}
	if (strcmp(result, "pass") == 0 && *user != '\0')
		facts_set(s, &s->user, user, strlen(user), "user");
	return;
bad:
	log_session(s, "malformed link-auth report: not authenticated");
}

static void
facts_identify(struct session *s, char *v)
{
	char *name = facts_next(v);

	if (name == NULL) {
		log_session(s, "malformed link-identify report skipped");
		return;
	}
	facts_set(s, &s->helo, name, strlen(name), "HELO name");
}

/* Only an accepted MAIL FROM is the transaction's. */
static void
facts_mail(struct session *s, char *v)
{
	char *result, *addr;

	if ((result = facts_next(v)) == NULL ||
	    (addr = facts_next(result)) == NULL) {
		log_session(s, "malformed tx-mail report skipped");
		return;
	}
	if (strcmp(result, "ok") != 0)
		return;
	facts_set(s, &s->msgid, v, strlen(v), "message id");
	facts_set(s, &s->mailfrom, addr, strlen(addr), "MAIL FROM");
	/* DMARC: SPF runs while RCPT and DATA go by. */
	dmarc_spf_clear(s);
	dmarc_spf_start(s);
}

/* The first accepted RCPT TO: an aggregate report (RFC 9990) has room
 * for one envelope_to domain per record. */
static void
facts_rcpt(struct session *s, char *v)
{
	char *result, *addr;

	if ((result = facts_next(v)) == NULL ||
	    (addr = facts_next(result)) == NULL) {
		log_session(s, "malformed tx-rcpt report skipped");
		return;
	}
	if (strcmp(result, "ok") == 0 && s->rcptto == NULL)
		facts_set(s, &s->rcptto, addr, strlen(addr), "RCPT TO");
}

/* One report of session s: its event, what follows the session id
 * (modified in place), the protocol version. */
void
facts_report(struct session *s, const char *event, char *v,
    const char *version)
{
	if (strcmp(event, "link-connect") == 0)
		facts_connect(s, v);
	else if (strcmp(event, "link-auth") == 0)
		facts_auth(s, v, version);
	else if (strcmp(event, "link-identify") == 0)
		facts_identify(s, v);
	else if (strcmp(event, "tx-mail") == 0)
		facts_mail(s, v);
	else if (strcmp(event, "tx-rcpt") == 0)
		facts_rcpt(s, v);
	else if (strcmp(event, "tx-reset") == 0 ||
	    strcmp(event, "tx-rollback") == 0)
		facts_clear_tx(s);
}

void
facts_clear_tx(struct session *s)
{
	free(s->mailfrom);
	s->mailfrom = NULL;
	free(s->rcptto);
	s->rcptto = NULL;
	free(s->msgid);
	s->msgid = NULL;
	dmarc_spf_clear(s);
}

void
facts_clear_link(struct session *s)
{
	facts_clear_tx(s);
	free(s->ip);
	free(s->host);
	free(s->user);
	free(s->helo);
	s->ip = s->host = s->user = s->helo = NULL;
}
