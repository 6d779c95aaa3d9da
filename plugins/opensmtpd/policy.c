/*
 * policy.c: -C, the signing policy of an opendkim.conf.  The filter only
 * gathers the facts (facts.c: client address and name, authenticated
 * user; the author address of From) and asks the core, which decides as
 * OpenDKIM does.  Each message keeps the policy it started with, so that
 * a SIGHUP (main.c) never changes the rules under a message.
 *
 * -m sv signs what the policy signs and verifies the rest; which of the
 * two is known only once From is, at the end of the header block.  Until
 * then the header lines are held as they came (s->pending), then
 * replayed through the signing or the verifying path (message_process),
 * so that each path sees every line as if it had been chosen from the
 * first: the verifier's removal of forged Authentication-Results fields
 * included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

void
policy_release(struct fpolicy *fp)
{
	if (fp == NULL || --fp->refs > 0)
		return;
	dkk_policy_free(fp->p);
	free(fp);
}

/* A message begins: it takes the policy of now. */
void
policy_begin(struct session *s)
{
	if (conf.policy == NULL)
		return;
	s->pol = conf.policy;
	s->pol->refs++;
	s->pending = conf.mode == MODE_SV;
}

/* The message is over (its signers are gone). */
void
policy_end(struct session *s)
{
	if (s->decided)
		dkk_decision_clear(&s->dec);
	s->decided = 0;
	policy_release(s->pol);
	s->pol = NULL;
}

/* The facts of a message, for its log line. */
static void
policy_facts(const struct session *s, const char *from, char *out,
    size_t len)
{
	snprintf(out, len, "from=<%.200s> client=%.64s%s%.200s%s auth=%.100s "
	    "helo=%.100s mail-from=<%.200s>", from ? from : "",
	    s->ip ? s->ip : "unknown", s->host ? " [" : "",
	    s->host ? s->host : "", s->host ? "]" : "",
	    s->user ? s->user : "-", s->helo ? s->helo : "-",
	    s->mailfrom ? s->mailfrom : "");
}

/* What becomes of a message the policy does not sign. */
static const char *
policy_else(void)
{
	return conf.mode == MODE_SV ? "verified instead" :
	    "passed on unsigned";
}

/* Whether every key of the decision can sign (loaded once, then kept by
 * the policy): a key that cannot means no signature, logged, so that -m
 * sv verifies the message instead. */
static int
policy_keys_ok(struct session *s)
{
	struct dkk_sign_opts o;
	size_t i;

	for (i = 0; i < s->dec.nsigs && i < FILTER_MAXSIGS; i++)
		if (dkk_policy_sign_opts(s->pol->p, &s->dec.sigs[i], &o) !=
		    DKK_OK) {
			log_session(s, "policy: not signed: %s; %s",
			    dkk_ctx_error(conf.ctx), policy_else());
			s->dec.sign = 0;
			return 0;
		}
	return 1;
}

/* Decide for the message whose header block s->hdr holds: 1 to sign
 * (s->dec says with what), 0 not to.  One log line says what and why;
 * a message the policy cannot decide (a SigningTable line naming no
 * KeyTable line, no author address) is not signed. */
int
policy_decide(struct session *s)
{
	struct dkk_policy_client c;
	char facts[1024], *from = NULL;
	int rc;

	if ((rc = dkk_author_address(s->hdr != NULL ? s->hdr : "",
	    s->hdrlen, &from)) != DKK_OK) {
		policy_facts(s, NULL, facts, sizeof(facts));
		log_session(s, "policy: %s: not signed: no single author "
		    "address in a single From field (%s); %s", facts,
		    dkk_strerror(rc), policy_else());
		return 0;
	}
	policy_facts(s, from, facts, sizeof(facts));
	memset(&c, 0, sizeof(c));
	c.from = from;
	c.ip = s->ip;
	c.host = s->host;
	c.auth = s->user;
	rc = dkk_policy_decide(s->pol->p, &c, &s->dec);
	if (rc != DKK_OK) {
		log_session(s, "policy: %s: cannot decide: %s; %s", facts,
		    rc == DKK_ENOMEM ? dkk_strerror(rc) :
		    dkk_ctx_error(conf.ctx), policy_else());
		free(from);
		return 0;
	}
	s->decided = 1;
	log_session(s, "policy: %s: %s: %s%s%s", facts, s->dec.sign ? "sign" :
	    "not signed", s->dec.reason, s->dec.sign ? "" : "; ",
	    s->dec.sign ? "" : policy_else());
	free(from);
	return s->dec.sign && policy_keys_ok(s);
}

/* The held raw lines, out of s->hdr; the message is verified from now
 * on unless the caller says otherwise. */
char *
policy_take(struct session *s, size_t *len)
{
	char *buf = s->hdr;

	*len = s->hdrlen;
	s->hdr = NULL;
	s->hdrlen = s->hdrcap = 0;
	s->pending = 0;
	s->verify = 1;
	return buf;
}

/* Each held line through the path now chosen; buf is freed. */
void
policy_replay(struct session *s, char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *next;

	for (; p < end; p = next)
		message_process(s, p, session_held_line(p, end, &next));
	free(buf);
}

/* The header block is complete (or the message ended within it): sign
 * or verify, and replay what was held. */
void
policy_settle(struct session *s)
{
	int sign = policy_decide(s);
	size_t len;
	char *buf = policy_take(s, &len);

	s->verify = !sign;
	if (s->verify && !s->pass && dmarc_verifier(s) == -1)
		message_fail(s, "out of memory");
	policy_replay(s, buf, len);
}

/* -m sv, header not yet complete: hold the line as it came.  A header
 * too large to hold is verified (what cannot be held cannot be signed
 * either). */
void
policy_hold(struct session *s, const char *line, size_t len)
{
	const char *why;
	size_t n;
	char *buf;

	if (len == 0) {
		policy_settle(s);
		message_process(s, line, len);
		return;
	}
	if (session_hold(s, line, len, &why) == 0)
		return;
	log_session(s, "policy: the header cannot be held (%s): verified, "
	    "not signed", why);
	buf = policy_take(s, &n);
	if (!s->pass && dmarc_verifier(s) == -1)
		message_fail(s, "out of memory");
	policy_replay(s, buf, n);
	message_process(s, line, len);
}
