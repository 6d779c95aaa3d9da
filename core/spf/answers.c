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

/* Octets kept with each answer for its records, so that the common
 * answer (an SPF record, an address, an MX) needs no allocation of its
 * own: a check asks for a handful, and is made per message. */
#define SPF_ANSWER_SPARE	256

/* name's octets with its NUL, rounded up so that what follows it in the
 * allocation (the spare room) is aligned for pointers. */
static size_t
answer_name_room(size_t n)
{
	size_t a = sizeof(void *);

	return (n + 1 + a - 1) / a * a;
}

static void
answer_free(struct spf_answer *a)
{
	if ((char *)a->rr != a->name + answer_name_room(a->nlen))
		free(a->rr);
	free(a);
}

/* Keep a copy of ans in a, in one block: the pointers, the lengths and
 * the records' text; in the answer's spare room when they fit.  A copy
 * failing to be made is a temporary failure, as a lost answer would
 * be. */
static void
answer_store(struct spf_answer *a, const struct dkk_dns_answer *ans)
{
	size_t i, text = 0, head;
	char *p;

	a->done = true;
	a->status = ans->status;
	if (ans->status != DKK_DNS_OK || ans->count == 0)
		return;
	for (i = 0; i < ans->count; i++)
		text += ans->len[i] + 1;
	head = ans->count * (sizeof(*a->rr) + sizeof(*a->len));
	if (head + text <= SPF_ANSWER_SPARE)
		a->rr = (char **)(void *)(a->name + answer_name_room(a->nlen));
	else if ((a->rr = dkk_malloc(head + text)) == NULL) {
		a->status = DKK_DNS_TEMPFAIL;
		return;
	}
	a->len = (size_t *)(a->rr + ans->count);
	p = (char *)(a->len + ans->count);
	for (i = 0; i < ans->count; i++) {
		memcpy(p, ans->txt[i], ans->len[i]);
		p[ans->len[i]] = '\0';
		a->rr[i] = p;
		a->len[i] = ans->len[i];
		p += ans->len[i] + 1;
	}
	a->count = ans->count;
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
		if (a->type == type && a->nlen == n &&
		    ci_equal(a->name, n, name, n))
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
	size_t n;

	if ((a = answer_find(spf, name, type)) == NULL) {
		n = strlen(name);
		if ((a = dkk_calloc(1, sizeof(*a) + answer_name_room(n) +
		    SPF_ANSWER_SPARE)) == NULL)
			return DKK_ENOMEM;
		memcpy(a->name, name, n + 1);
		a->nlen = n;
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
