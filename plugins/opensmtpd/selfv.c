/*
 * selfv.c: -V, verifying a message just signed before it goes on (issue
 * #24).  The verifier is fed exactly what the filter will send back: the
 * new DKIM-Signature fields on top, then the held lines, dot-unescaped
 * as smtpd will unescape them.  Its keys come from the filter's key
 * source (DNS, or -z), not from the private key in hand: the key a
 * receiver will fetch is what must match, so a key not yet published, a
 * rotated key whose record still holds the old one, or a wrong selector
 * is caught here as well as a change made after signing.  The lookups
 * run in the background like a verdict's (message.c waits with
 * ST_WAIT); the lines go out once the answer is in.
 *
 * A published key that differs looks to the verifier like any header
 * change no repair explains (the classifier says header-unknown).  So a
 * signature of that class is checked once more against the signing
 * key's own public half (the one-record resolver of selfverify.h; no
 * DNS, no waiting): when it passes there, the record is what is wrong,
 * and the log says class key and why.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "selfverify.h"

static int
selfv_feed(dkk_verifier *v, const char *line, size_t len)
{
	return dkk_verifier_update(v, line, len) == DKK_OK &&
	    dkk_verifier_update(v, "\r\n", 2) == DKK_OK ? 0 : -1;
}

/* A held line as smtpd will deliver it: RFC 5321 4.5.2 unescaped. */
static int
selfv_feed_held(void *arg, const char *line, size_t len)
{
	if (len > 0 && *line == '.') {
		line++;
		len--;
	}
	return selfv_feed(arg, line, len);
}

/* The new fields ("a\n\tb\nc"), one line each, then the held lines. */
static int
selfv_feed_all(dkk_verifier *v, const char *top, struct spool *sp)
{
	size_t n;

	for (;;) {
		n = strcspn(top, "\n");
		if (selfv_feed(v, top, n) == -1)
			return -1;
		if (top[n] == '\0')
			break;
		top += n + 1;
	}
	return spool_each(sp, selfv_feed_held, v);
}

/* The key that made signature i (d=, s= as it says), or NULL. */
static const dkk_key *
selfv_key(const struct session *s, size_t i, const char *domain,
    const char *selector)
{
	const dkk_key *key;
	const char *sel;

	if (s->pol != NULL)
		return s->polkeys[i];
	/* -K: the active key, unless a switch came in between */
	if (conf.kd != NULL)
		return dkk_keydir_active(conf.kd, domain, &key, &sel) ==
		    DKK_OK && strcmp(sel, selector) == 0 ? key : NULL;
	return i < conf.nkeys ? conf.keys[i].key : NULL;
}

/* Whether signature i, whose published key fails it, passes with the
 * public half of the key that made it. */
static int
selfv_own_key_passes(struct session *s, size_t i,
    const struct dkk_sig_result *r)
{
	static const struct dkk_verify_opts plain = { 0 };
	const dkk_key *key;
	const struct dkk_sig_result *r2;
	dkk_verifier *v = NULL;
	dkk_ctx *ctx;
	int ok = 0;

	if (r->domain == NULL || r->selector == NULL ||
	    (key = selfv_key(s, i, r->domain, r->selector)) == NULL ||
	    (ctx = dks_selfv_ctx(key, r->domain, r->selector)) == NULL)
		return 0;
	if (dkk_verifier_new(ctx, &plain, &v) == DKK_OK &&
	    selfv_feed_all(v, s->selftop, &s->spool) == 0 &&
	    dkk_verifier_wait(v) == DKK_OK &&
	    (r2 = dkk_verifier_result(v, i)) != NULL)
		ok = r2->verdict == DKK_PASS;
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
	return ok;
}

/* What goes in the log for the message: smtpd's message id when tx-mail
 * gave it, else the session's. */
static const char *
selfv_msgid(const struct session *s)
{
	return s->msgid != NULL ? s->msgid : "unknown";
}

/* Not run, or not passed: one line; -V defer refuses it at commit. */
static void
selfv_failed(struct session *s, const char *what)
{
	log_session(s, "msgid %s: self-verification failed: %s; %s",
	    selfv_msgid(s), what, conf.selfv == SELFV_DEFER ?
	    "451 at commit (-V defer)" : "passed on");
	if (conf.selfv == SELFV_DEFER)
		s->selfbad = 1;
}

/* Start verifying what goes out; top stays the caller's.  0 when there
 * is nothing to verify (-V off, nothing signed), 1 when it is under way,
 * -1 when it cannot start (logged, and counted as a failure). */
int
selfv_start(struct session *s, const char *top)
{
	if (conf.selfv == SELFV_OFF || s->nsigners == 0 || top == NULL)
		return 0;
	if (dkk_verifier_new(conf.ctx, &dks_selfv_opts, &s->selfv) !=
	    DKK_OK || selfv_feed_all(s->selfv, top, &s->spool) == -1) {
		selfv_failed(s, "it could not run (out of memory or the "
		    "held message cannot be read)");
		selfv_clear(s);
		return -1;
	}
	return 1;
}

/* Each of the first n signatures (ours: they are on top) passed; the
 * first that did not is logged with its class and field. */
static void
selfv_judge(struct session *s, size_t n)
{
	const struct dkk_sig_result *r;
	char why[1024], what[1400];
	size_t i;

	for (i = 0; i < n; i++) {
		if (dks_selfv_sig(s->selfv, i, why, sizeof(why)) == 0)
			continue;
		r = dkk_verifier_result(s->selfv, i);
		if (r != NULL && dkk_verifier_explain(s->selfv, i, NULL,
		    NULL) == DKK_C_HEADER_UNKNOWN &&
		    selfv_own_key_passes(s, i, r))
			snprintf(why, sizeof(why), "%s; class %s: the key "
			    "record at %s._domainkey.%s holds another key than "
			    "the one that signed (a new key not yet published, "
			    "or the wrong selector)", r->detail,
			    dkk_class_name(DKK_C_KEY), r->selector, r->domain);
		snprintf(what, sizeof(what), "d=%s s=%s: %s",
		    r != NULL && r->domain != NULL ? r->domain : "?",
		    r != NULL && r->selector != NULL ? r->selector : "?",
		    why);
		selfv_failed(s, what);
		return;
	}
	log_session(s, "msgid %s: self-verification passed",
	    selfv_msgid(s));
}

/* 1 while key lookups are outstanding; 0 once judged (logged). */
int
selfv_end(struct session *s)
{
	int rc;

	if ((rc = dkk_verifier_final(s->selfv)) == DKK_EAGAIN)
		return 1;
	if (rc != DKK_OK)
		selfv_failed(s, dkk_strerror(rc));
	else
		selfv_judge(s, s->nsigners);
	selfv_clear(s);
	return 0;
}

void
selfv_clear(struct session *s)
{
	dkk_verifier_free(s->selfv);
	s->selfv = NULL;
}
