/*
 * sign.c: signing one message.  The header block is kept until it ends,
 * because d= is chosen from the From domain; then one signer per key gets
 * the header and, line by line, the body.  At the end their fields go on
 * top of everything smtpd sent, its own Received field included.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"

/* The longest -d equal to the From domain or a parent of it. */
static const char *
sign_pick_domain(const char *from)
{
	const char *best = NULL, *d;
	size_t i, fl = strlen(from), dl;

	for (i = 0; i < conf.ndomains; i++) {
		d = conf.domains[i];
		dl = strlen(d);
		if (dl > fl || strcasecmp(from + fl - dl, d) != 0)
			continue;
		if (dl < fl && from[fl - dl - 1] != '.')
			continue;
		if (best == NULL || dl > strlen(best))
			best = d;
	}
	return best;
}

/* The -h list for this message, without the fields smtpd changes after
 * the filter (after.c): Date and Message-ID when absent, Bcc when
 * present, To and Cc with an address without a domain.  Returns the list
 * to use (NULL: the default set), or NULL with *err set; *own is what to
 * free. */
static const char *
sign_header_list(const struct session *s, char **own, int *err)
{
	const char *h = conf.opts.headers, *p, *q;
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

/* -K: one signer, with the domain's active key (checked for a switch on
 * every message).  Keys stay loaded while a message uses them. */
static int
sign_start_keydir(struct session *s, const char *domain,
    const struct dkk_sign_opts *opts)
{
	struct dkk_sign_opts o = *opts;
	int rc;

	o.domain = domain;
	if ((rc = dkk_keydir_active(conf.kd, domain, &o.key, &o.selector)) !=
	    DKK_OK) {
		log_session(s, "no key for %s: %s", domain,
		    *dkk_ctx_error(conf.ctx) ? dkk_ctx_error(conf.ctx) :
		    dkk_strerror(rc));
		return -1;
	}
	if ((s->sigsel = strdup(o.selector)) == NULL ||
	    dkk_signer_new(conf.ctx, &o, &s->signers[0]) != DKK_OK)
		return -1;
	s->nsigners = 1;
	if (dkk_signer_update(s->signers[0], s->hdr, s->hdrlen) != DKK_OK)
		return -1;
	return (s->sigdomain = strdup(domain)) == NULL ? -1 : 0;
}

static int
sign_start_keys(struct session *s, const char *domain,
    const struct dkk_sign_opts *opts)
{
	struct dkk_sign_opts o = *opts;
	size_t i;

	o.domain = domain;
	for (i = 0; i < conf.nkeys; i++) {
		o.key = conf.keys[i].key;
		o.selector = conf.keys[i].selector;
		if (dkk_signer_new(conf.ctx, &o, &s->signers[i]) != DKK_OK)
			return -1;
		s->nsigners = i + 1;
		if (dkk_signer_update(s->signers[i], s->hdr, s->hdrlen) !=
		    DKK_OK)
			return -1;
	}
	return (s->sigdomain = strdup(domain)) == NULL ? -1 : 0;
}

static int
sign_start(struct session *s, const char *domain)
{
	struct dkk_sign_opts o = conf.opts;
	char *own;
	int err, rc;

	o.headers = sign_header_list(s, &own, &err);
	if (err)
		return -1;
	after_unsign(s);
	rc = conf.kd != NULL ? sign_start_keydir(s, domain, &o) :
	    sign_start_keys(s, domain, &o);
	free(own);
	return rc;
}

/* The header block is complete: choose d= and start the signers.  A From
 * domain we do not sign for is not an error: the message goes unsigned. */
static int
sign_header_end(struct session *s)
{
	const char *d = NULL;
	char *from = NULL;

	s->state = ST_BODY;
	if (dkk_author_domain(s->hdr, s->hdrlen, &from) == DKK_OK)
		d = sign_pick_domain(from);
	if (d == NULL)
		log_session(s, "not signed: From domain %s is not one of -d",
		    from != NULL ? from : "(none or several)");
	free(from);
	if (d != NULL && sign_start(s, d) == -1)
		return -1;
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
		if (sign_header_end(s) == -1) {
			*why = "cannot start signing";
			return -1;
		}
	}
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

/* The DKIM-Signature fields, one per key, "\n" between lines. */
int
sign_end(struct session *s, char **top)
{
	char *field;
	size_t i;
	int rc = 0;

	if (s->state == ST_HEADER && sign_header_end(s) == -1)
		return -1;
	for (i = 0; rc == 0 && i < s->nsigners; i++) {
		if (dkk_signer_final(s->signers[i], DKK_FIELD_LF, &field) != DKK_OK) {
			rc = -1;
			break;
		}
		rc = sign_append(top, field);
		free(field);
	}
	if (rc == -1) {
		free(*top);
		*top = NULL;
		return -1;
	}
	if (s->nsigners > 0)
		log_session(s, "signed: d=%s s=%s%s%s", s->sigdomain,
		    s->sigsel != NULL ? s->sigsel : conf.keys[0].selector,
		    s->nsigners > 1 ? " and s=" : "",
		    s->nsigners > 1 ? conf.keys[1].selector : "");
	return 0;
}
