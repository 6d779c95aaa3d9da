/*
 * spf.c: the public SPF check (dkimkit.h): the identity to check (RFC
 * 7208 2.3, 2.4, 4.1) and the asynchronous shell around check_host()
 * (eval.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf.h"

/* RFC 5321 4.1.2: a reverse-path may come with its angle brackets. */
static void
strip_brackets(const char **s, size_t *n)
{
	if (*n >= 2 && (*s)[0] == '<' && (*s)[*n - 1] == '>') {
		(*s)++;
		*n -= 2;
	}
}

/* The local-part and domain of the identity to check.  RFC 7208 4.3:
 * "If the <sender> has no local-part, substitute the string
 * "postmaster" for the local-part."  2.4: the null reverse-path is
 * postmaster@ the HELO name. */
static void
spf_identity(const struct dkk_spf_query *q, const char **local,
    size_t *nlocal, const char **domain, size_t *ndomain)
{
	const char *from = q->mail_from, *at = NULL;
	size_t n, i;

	if (from == NULL || from[0] == '\0' || strcmp(from, "<>") == 0) {
		from = q->helo;
		n = strlen(from);
	} else {
		n = strlen(from);
		strip_brackets(&from, &n);
		/* RFC 5321 4.1.2: the domain follows the last "@". */
		for (i = 0; i < n; i++)
			if (from[i] == '@')
				at = from + i;
	}
	*local = "postmaster";
	*nlocal = strlen(*local);
	*domain = from;
	*ndomain = n;
	if (at == NULL)
		return;
	if (at > from) {
		*local = from;
		*nlocal = (size_t)(at - from);
	}
	*domain = at + 1;
	*ndomain = n - (size_t)(at + 1 - from);
}

/* Copy n octets of s to *p as a string; returns the copy. */
static char *
spf_place(char **p, const char *s, size_t n)
{
	char *copy = *p;

	memcpy(copy, s, n);
	copy[n] = '\0';
	*p += n + 1;
	return copy;
}

/* The identity's strings, and the HELO and receiver names, in one
 * allocation (spf->strings): a check is made per message, and each
 * allocation shows in its cost. */
static int
spf_strings(dkk_spf *spf, const struct dkk_spf_query *q)
{
	const char *local, *domain, *helo, *receiver;
	size_t nlocal, ndomain, nhelo, nreceiver;
	char *p, *alabels = NULL;
	int rc;

	spf_identity(q, &local, &nlocal, &domain, &ndomain);
	/* RFC 7208 4.3: "Internationalized domain names MUST be encoded as
	 * A-labels": a UTF-8 (RFC 6531) domain is checked as its A-labels.
	 * One that cannot be converted stays as given, and check_host()
	 * finds it malformed: none (4.3). */
	if (domain_has_8bit(domain, ndomain)) {
		rc = domain_alabels(domain, ndomain, &alabels);
		if (rc == DKK_ENOMEM)
			return rc;
		if (rc == DKK_OK) {
			domain = alabels;
			ndomain = strlen(alabels);
		}
	}
	helo = q->helo != NULL ? q->helo : "unknown";
	receiver = q->receiver != NULL ? q->receiver : "unknown";
	nhelo = strlen(helo);
	nreceiver = strlen(receiver);
	/* local, domain, local@domain, helo, receiver: five NULs */
	if ((p = spf->strings = dkk_malloc(2 * (nlocal + ndomain) + 1 +
	    nhelo + nreceiver + 5)) == NULL) {
		free(alabels);
		return DKK_ENOMEM;
	}
	spf->local = spf_place(&p, local, nlocal);
	spf->domain = spf_place(&p, domain, ndomain);
	spf->sender = p;
	spf_place(&p, local, nlocal);
	p[-1] = '@';
	spf_place(&p, domain, ndomain);
	spf->helo = spf_place(&p, helo, nhelo);
	spf->receiver = spf_place(&p, receiver, nreceiver);
	free(alabels);
	return DKK_OK;
}

static int
spf_setup(dkk_spf *spf, const struct dkk_spf_query *q)
{
	if (spf_ip_parse(q->client_ip, strlen(q->client_ip), &spf->ip) !=
	    DKK_OK)
		return DKK_EINVAL;
	spf_ip_unmap(&spf->ip);
	spf->scope = q->mail_from != NULL ? DKK_SPF_MAILFROM : DKK_SPF_HELO;
	return spf_strings(spf, q);
}

int
dkk_spf_new(dkk_ctx *ctx, const struct dkk_spf_query *q, dkk_spf **spfp)
{
	dkk_spf *spf;
	int rc;

	if (spfp != NULL)
		*spfp = NULL;
	if (ctx == NULL || q == NULL || spfp == NULL || q->client_ip == NULL)
		return DKK_EINVAL;
	/* The null reverse-path and the HELO check need the HELO name. */
	if (q->helo == NULL && (q->mail_from == NULL ||
	    q->mail_from[0] == '\0' || strcmp(q->mail_from, "<>") == 0))
		return DKK_EINVAL;
	if ((spf = dkk_calloc(1, sizeof(*spf))) == NULL)
		return DKK_ENOMEM;
	spf->ctx = ctx;
	if ((rc = spf_setup(spf, q)) != DKK_OK) {
		dkk_spf_free(spf);
		return rc;
	}
	*spfp = spf;
	return DKK_OK;
}

void
dkk_spf_free(dkk_spf *spf)
{
	if (spf == NULL)
		return;
	spf_answers_free(spf);
	free(spf->strings);
	free(spf->explanation);
	free(spf->reason);
	free(spf);
}

int
dkk_spf_final(dkk_spf *spf)
{
	if (spf == NULL)
		return DKK_EINVAL;
	if (spf->done)
		return DKK_OK;
	return spf_run(spf);
}

int
dkk_spf_wait(dkk_spf *spf)
{
	int rc;

	while ((rc = dkk_spf_final(spf)) == DKK_EAGAIN)
		if ((rc = dkk_ctx_wait(spf->ctx)) != DKK_OK)
			return rc;
	return rc;
}

enum dkk_spf_result
dkk_spf_result(const dkk_spf *spf)
{
	return spf != NULL && spf->done ? spf->result : DKK_SPF_NONE;
}

enum dkk_spf_scope
dkk_spf_scope(const dkk_spf *spf)
{
	return spf != NULL ? spf->scope : DKK_SPF_MAILFROM;
}

const char *
dkk_spf_domain(const dkk_spf *spf)
{
	return spf != NULL ? spf->domain : NULL;
}

const char *
dkk_spf_explanation(const dkk_spf *spf)
{
	return spf != NULL && spf->done ? spf->explanation : NULL;
}

const char *
dkk_spf_reason(const dkk_spf *spf)
{
	return spf != NULL && spf->done ? spf->reason : NULL;
}
