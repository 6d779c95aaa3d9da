/*
 * sign.c: signing one message.  The header block is kept until it ends,
 * for the fields smtpd changes after the filter (after.c); then one signer
 * per key gets it, chooses d= by the From address, and gets the body line
 * by line.  With -C the policy (policy.c) says whether to sign and gives
 * each signer its key, d=, s=, i= and options.  At the end their fields
 * go on top of everything smtpd sent, its own Received field included.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "pool.h"

/* The list h (-h, or the policy's SignHeaders) for this message,
 * without the fields smtpd changes after the filter (after.c): Date and
 * Message-ID when absent, Bcc when present, To and Cc with an address
 * without a domain.  Returns the list to use (NULL: the default set), or
 * NULL with *err set; *own is what to free. */
static const char *
sign_header_list(const struct session *s, const char *h, char **own,
    int *err)
{
	const char *p, *q;
	char *out;
	size_t len = 0, n;

	*own = NULL;
	*err = 0;
	if (h == NULL)
		return NULL;
	if ((out = malloc(strlen(h) + 1)) == NULL) {
		*err = 1;
		return NULL;
	}
	for (p = h; *p != '\0'; p = *q != '\0' ? q + 1 : q) {
		q = p + strcspn(p, ":");
		n = (size_t)(q - p);
		if (after_changes(s, p, n))
			continue;
		if (len > 0)
			out[len++] = ':';
		memcpy(out + len, p, n);
		len += n;
	}
	out[len] = '\0';
	*own = out;
	return out;
}

/* Feed the held header block and the blank line to signer i. */
static int
sign_feed_header(struct session *s, size_t i)
{
	int rc;

	if ((rc = dkk_signer_update(s->signers[i], s->hdr, s->hdrlen)) !=
	    DKK_OK || (rc = dkk_signer_update(s->signers[i], "\r\n", 2)) !=
	    DKK_OK) {
		log_session(s, "not signed: %s", rc == DKK_ENOMEM ?
		    dkk_strerror(rc) : dkk_ctx_error(conf.ctx));
		return -1;
	}
	return 0;
}

/* One signer per key, or one with -K's key directory; each chooses d=
 * among the -d domains by the From address (the core's rule: the longest
 * equal to its domain or a parent of it) once it has the held header
 * block and the blank line that ends it. */
static int
sign_start_signers(struct session *s, const struct dkk_sign_opts *opts)
{
	struct dkk_sign_opts o = *opts;
	size_t i, n = conf.kd != NULL ? 1 : conf.nkeys;

	o.domain = NULL;
	o.domains = conf.domains;
	o.keydir = conf.kd;
	for (i = 0; i < n; i++) {
		o.key = conf.kd != NULL ? NULL : conf.keys[i].key;
		o.selector = conf.kd != NULL ? NULL : conf.keys[i].selector;
		if (dkk_signer_new(conf.ctx, &o, &s->signers[i]) != DKK_OK)
			return -1;
		s->nsigners = i + 1;
		if (sign_feed_header(s, i) == -1)
			return -1;
	}
	return 0;
}

/* -C: one signer per signature of the decision, with the options the
 * policy gives it (key, d=, s=, i=, canonicalization, SignHeaders ...).
 * 0 with the signers started, 1 when the message goes unsigned (a key
 * that cannot be used: logged), -1 on failure. */
static int
sign_policy_signers(struct session *s)
{
	struct dkk_sign_opts o[FILTER_MAXSIGS];
	char *own[FILTER_MAXSIGS] = { NULL };
	size_t i, n = s->dec.nsigs;
	int err = 0, rc = 0;

	if (n > FILTER_MAXSIGS) {
		log_session(s, "policy: %zu signatures; only the first %d are "
		    "made", n, FILTER_MAXSIGS);
		n = FILTER_MAXSIGS;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (dkk_policy_sign_opts(s->pol->p, &s->dec.sigs[i], &o[i]) !=
		    DKK_OK) {
			log_session(s, "policy: not signed: %s; passed on "
			    "unsigned", dkk_ctx_error(conf.ctx));
			rc = 1;
			continue;
		}
		o[i].report_request = conf.opts.report_request;	/* -f */
		if (o[i].headers != NULL) {
			o[i].headers = sign_header_list(s, o[i].headers,
			    &own[i], &err);
			rc = err ? -1 : 0;
		}
	}
	/* The lists first: after_unsign() takes To and Cc out of what
	 * they are computed from. */
	if (rc == 0)
		after_unsign(s);
	for (i = 0; i < n && rc == 0; i++) {
		/* The options come from the tables (an i= outside d=, say):
		 * a refusal is the configuration's, not a failure. */
		if ((err = dkk_signer_new(conf.ctx, &o[i], &s->signers[i])) !=
		    DKK_OK) {
			log_session(s, "policy: not signed: %s; passed on "
			    "unsigned", err == DKK_ENOMEM ? dkk_strerror(err) :
			    dkk_ctx_error(conf.ctx));
			rc = err == DKK_ENOMEM ? -1 : 1;
			break;
		}
		s->nsigners = i + 1;
		s->polkeys[i] = o[i].key;	/* -V: kept by the policy */
		rc = sign_feed_header(s, i);
	}
	for (i = 0; i < n; i++)
		free(own[i]);
	if (rc != 0)
		session_drop_signers(s);
	return rc;
}

/* -C: the header block is complete; sign as the policy decides (in -m
 * sv it has decided already). */
static int
sign_by_policy(struct session *s)
{
	int rc = 0;

	s->state = ST_BODY;
	if ((s->decided || policy_decide(s)) && s->dec.sign)
		rc = sign_policy_signers(s);
	session_unhold(s);
	return rc == -1 ? -1 : 0;
}

/* The header block is complete: start the signers.  A From address that
 * no -d covers is not an error: the message goes unsigned. */
static int
sign_header_end(struct session *s)
{
	struct dkk_sign_opts o = conf.opts;
	const char *d, *sel;
	char *own;
	int err, rc;

	if (s->pol != NULL)
		return sign_by_policy(s);
	s->state = ST_BODY;
	o.headers = sign_header_list(s, conf.opts.headers, &own, &err);
	if (err)
		return -1;
	after_unsign(s);
	rc = sign_start_signers(s, &o);
	free(own);
	if (rc == -1)
		return -1;
	if ((d = dkk_signer_domain(s->signers[0])) == NULL) {
		log_session(s, "not signed: no -d domain covers the From "
		    "address");
		session_drop_signers(s);
	} else if ((s->sigdomain = strdup(d)) == NULL ||
	    ((sel = dkk_signer_selector(s->signers[0])) != NULL &&
	    conf.kd != NULL && (s->sigsel = strdup(sel)) == NULL)) {
		return -1;
	}
	session_unhold(s);
	return 0;
}

static int
sign_update(struct session *s, const char *p, size_t len)
{
	size_t i;
	int rc = DKK_OK;

	for (i = 0; i < s->nsigners && rc == DKK_OK; i++)
		rc = dkk_signer_update(s->signers[i], p, len);
	return rc;
}

/* One line; -1 with the reason in *why when it cannot be signed. */
int
sign_line(struct session *s, const char *line, size_t len, const char **why)
{
	int rc;

	if (s->state == ST_HEADER) {
		if (len > 0)
			return session_hold(s, line, len, why);
		/* the blank line: the signers have it with the header */
		if (sign_header_end(s) == -1) {
			*why = "cannot start signing";
			return -1;
		}
		return 0;
	}
	/* -j: the body is hashed at the end, by the thread that signs
	 * (sign_body()); it is in the spool meanwhile. */
	if (pool_size() > 0)
		return 0;
	/* CRLF, not LF: a CR that ends the line is its own ("x\r\r\n"). */
	if ((rc = sign_update(s, line, len)) != DKK_OK ||
	    (rc = sign_update(s, "\r\n", 2)) != DKK_OK) {
		*why = dkk_strerror(rc);
		return -1;
	}
	return 0;
}

static int
sign_append(char **top, const char *field)
{
	size_t old = *top ? strlen(*top) + 1 : 0;
	char *p;

	if ((p = realloc(*top, old + strlen(field) + 1)) == NULL)
		return -1;
	if (old > 0)
		p[old - 1] = '\n';
	strcpy(p + old, field);
	*top = p;
	return 0;
}

/* -C: "signed: d=example.com s=sel i=@example.com a=rsa-sha256, ...". */
static void
sign_log_policy(const struct session *s)
{
	const struct dkk_policy_sig *g;
	char line[2048];
	size_t i, pos = 0;
	int n;

	line[0] = '\0';
	for (i = 0; i < s->nsigners && pos < sizeof(line); i++) {
		g = &s->dec.sigs[i];
		n = snprintf(line + pos, sizeof(line) - pos,
		    "%sd=%.100s s=%.100s%s%.100s a=%s", i > 0 ? ", " : "",
		    g->domain, g->selector, g->identity ? " i=" : "",
		    g->identity ? g->identity : "", g->algorithm);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
	log_session(s, "signed: %s", line);
}

/* The header block is over (a message may end without a blank line):
 * the signers have all of it.  0, or -1 when they cannot start. */
int
sign_ready(struct session *s)
{
	if (s->state == ST_HEADER && sign_header_end(s) == -1)
		return -1;
	return 0;
}

/* The DKIM-Signature fields of n signers, one after the other, "\n"
 * between lines, into *top.  Touches only the signers and *top, so a
 * worker runs it (pool.c).  0, or -1 with *top NULL. */
int
sign_fields(dkk_signer **sg, size_t n, char **top)
{
	char *field;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		if (dkk_signer_final(sg[i], DKK_FIELD_LF, &field) != DKK_OK) {
			rc = -1;
			break;
		}
		rc = sign_append(top, field);
		free(field);
	}
	if (rc == -1) {
		free(*top);
		*top = NULL;
	}
	return rc;
}

struct sign_feed {
	dkk_signer **sg;
	size_t n;
	int body;		/* past the blank line that ends the header */
};

/* One held line (as it came, dot-escaped) to the signers, if it is the
 * body's. */
static int
sign_feed_line(void *arg, const char *line, size_t len)
{
	struct sign_feed *f = arg;
	size_t i;

	if (!f->body) {
		f->body = len == 0;
		return 0;
	}
	/* RFC 5321 4.5.2: smtpd leaves the leading dot doubled. */
	if (*line == '.') {
		line++;
		len--;
	}
	for (i = 0; i < f->n; i++)
		if (dkk_signer_update(f->sg[i], line, len) != DKK_OK ||
		    dkk_signer_update(f->sg[i], "\r\n", 2) != DKK_OK)
			return -1;
	return 0;
}

/* -j: the body, from the spool that holds the message, to n signers
 * (without threads each line went to them as it came).  Touches only
 * the signers and the spool, which the main thread leaves alone while
 * the message is at a worker.  0, or -1 when a signer refuses it. */
int
sign_body(dkk_signer **sg, size_t n, struct spool *sp)
{
	struct sign_feed f = { sg, n, 0 };

	if (pool_size() == 0 || n == 0)
		return 0;
	return spool_each(sp, sign_feed_line, &f);
}

/* The log line of a signed message. */
void
sign_log(const struct session *s)
{
	if (s->nsigners > 0 && s->pol != NULL)
		sign_log_policy(s);
	else if (s->nsigners > 0)
		log_session(s, "signed: d=%s s=%s%s%s", s->sigdomain,
		    s->sigsel != NULL ? s->sigsel : conf.keys[0].selector,
		    s->nsigners > 1 ? " and s=" : "",
		    s->nsigners > 1 ? conf.keys[1].selector : "");
}

/* The DKIM-Signature fields, one per key, "\n" between lines. */
int
sign_end(struct session *s, char **top)
{
	if (sign_ready(s) == -1 ||
	    sign_body(s->signers, s->nsigners, &s->spool) == -1 ||
	    sign_fields(s->signers, s->nsigners, top) == -1)
		return -1;
	sign_log(s);
	return 0;
}
