/*
 * answers.c: the DNS answers one SPF check has gathered.  Each (name,
 * type) is asked once; the evaluation reads answers from here and, where
 * one is missing, asks and stops (spf.h).  An answer still awaited when
 * its check is freed is orphaned: kept on the context, whose resolver
 * will still call back into it, until it has arrived and another check
 * is freed, or until the context is freed.
 */
#include <stdlib.h>
#include <string.h>

#include "spf/spf.h"

/* Answers kept per check: RFC 7208 4.6.4 bounds a check to 10 terms,
 * each with at most 10 names and two address lookups per name, and
 * records with their explanations: 512 is far above that. */
#define SPF_MAX_ANSWERS 512

static void
answer_free(struct spf_answer *a)
{
	size_t i;

	for (i = 0; i < a->count; i++)
		free(a->rr[i]);
	free(a->rr);
	free(a->len);
	free(a->name);
	free(a);
}

/* Keep a copy of ans in a: a copy failing to be made is a temporary
 * failure, as a lost answer would be. */
static void
answer_store(struct spf_answer *a, const struct dkk_dns_answer *ans)
{
	size_t i;

	a->done = true;
	a->status = ans->status;
	if (ans->status != DKK_DNS_OK || ans->count == 0)
		return;
	a->rr = dkk_calloc(ans->count, sizeof(*a->rr));
	a->len = dkk_calloc(ans->count, sizeof(*a->len));
	if (a->rr == NULL || a->len == NULL) {
		a->status = DKK_DNS_TEMPFAIL;
		return;
	}
	for (i = 0; i < ans->count; i++) {
		if ((a->rr[i] = dkk_strndup(ans->txt[i], ans->len[i])) ==
		    NULL) {
			a->status = DKK_DNS_TEMPFAIL;
			return;
		}
		a->len[i] = ans->len[i];
		a->count++;
	}
}

static void
answer_cb(void *cbarg, const struct dkk_dns_answer *ans)
{
	struct spf_answer *a = cbarg;

	if (a->owner == NULL)
		a->done = true;	/* orphaned: spf_orphans_free() frees it */
	else
		answer_store(a, ans);
}

static struct spf_answer *
answer_find(dkk_spf *spf, const char *name, enum dkk_dns_type type)
{
	struct spf_answer *a;
	size_t n = strlen(name);

	for (a = spf->answers; a != NULL; a = a->next)
		if (a->type == type && ci_equal(a->name, strlen(a->name),
		    name, n))
			return a;
	return NULL;
}

/* The answer for (name, type): DKK_OK with *ap, DKK_EAGAIN when asked
 * for and not yet there, DKK_ENOMEM.  Past SPF_MAX_ANSWERS, or when the
 * resolver refuses the query, the answer is a temporary failure. */
int
spf_answer_get(dkk_spf *spf, const char *name, enum dkk_dns_type type,
    const struct spf_answer **ap)
{
	struct spf_answer *a;

	if ((a = answer_find(spf, name, type)) == NULL) {
		if ((a = dkk_calloc(1, sizeof(*a))) == NULL ||
		    (a->name = dkk_strdup(name)) == NULL) {
			free(a);
			return DKK_ENOMEM;
		}
		a->owner = spf;
		a->type = type;
		a->next = spf->answers;
		spf->answers = a;
		if (++spf->nanswers > SPF_MAX_ANSWERS ||
		    dns_query(spf->ctx, name, type, answer_cb, a) != DKK_OK) {
			a->done = true;
			a->status = DKK_DNS_TEMPFAIL;
		}
	}
	if (!a->done)
		return DKK_EAGAIN;
	*ap = a;
	return DKK_OK;
}

void
spf_answers_free(dkk_spf *spf)
{
	struct spf_answer *a, *next;

	for (a = spf->answers; a != NULL; a = next) {
		next = a->next;
		if (a->done)
			answer_free(a);
		else {
			a->owner = NULL;
			a->next = spf->ctx->spf_orphans;
			spf->ctx->spf_orphans = a;
		}
	}
	spf->answers = NULL;
	spf->nanswers = 0;
	spf_orphans_free(spf->ctx, false);
}

/* Free the orphans that have had their answer, or all of them once the
 * resolver is gone. */
void
spf_orphans_free(dkk_ctx *ctx, bool all)
{
	struct spf_answer **ap = &ctx->spf_orphans, *a;

	while ((a = *ap) != NULL) {
		if (all || a->done) {
			*ap = a->next;
			answer_free(a);
		} else
			ap = &a->next;
	}
}
