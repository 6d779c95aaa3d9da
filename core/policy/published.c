/*
 * published.c: RequirePublishedKey, a dkimkit setting OpenDKIM does not
 * have.  A key whose record is not in DNS, is revoked or holds another
 * key makes signatures that every receiver fails, so such a key is
 * better left out: the message is signed with the keys left, or passed
 * on unsigned, and the decision says why.  The record is checked as
 * `dkimkit key check` checks it (dkk_record_check, through the context's
 * key source), and the answer kept for PublishedKeyCacheTTL seconds so
 * that a busy server does not look up every message.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* DNS trouble is asked again sooner: it says nothing about the key. */
#define PUB_TROUBLE_TTL 60
/* Past this many remembered answers the stale ones go, then all. */
#define PUB_CACHE_MAX 4096

struct pcheck {
	struct pcheck *next;
	char *selector;
	char *domain;
	char *keyfile;
	enum dkk_record_state state;
	int64_t until;
};

static void
pcheck_free(struct pcheck *c)
{
	free(c->selector);
	free(c->domain);
	free(c->keyfile);
	free(c);
}

void
policy_published_clear(dkk_policy *p)
{
	struct pcheck *c;

	while ((c = p->checks) != NULL) {
		p->checks = c->next;
		pcheck_free(c);
	}
	p->nchecks = 0;
}

static struct pcheck *
pub_cached(dkk_policy *p, const struct dkk_policy_sig *s, int64_t now)
{
	struct pcheck *c;

	for (c = p->checks; c != NULL; c = c->next)
		if (c->until > now && strcmp(c->keyfile, s->keyfile) == 0 &&
		    strcmp(c->selector, s->selector) == 0 &&
		    strcmp(c->domain, s->domain) == 0)
			return c;
	return NULL;
}

/* Forget the answers that are out of date, or all when too many stay. */
static void
pub_trim(dkk_policy *p, int64_t now)
{
	struct pcheck **cp = &p->checks, *c;

	while ((c = *cp) != NULL)
		if (c->until <= now) {
			*cp = c->next;
			pcheck_free(c);
			p->nchecks--;
		} else
			cp = &c->next;
	if (p->nchecks >= PUB_CACHE_MAX)
		policy_published_clear(p);
}

static int
pub_remember(dkk_policy *p, const struct dkk_policy_sig *s,
    enum dkk_record_state st, int64_t now)
{
	struct pcheck *c;
	int64_t ttl = p->published_ttl;

	if (st == DKK_RECORD_TEMPERROR && ttl > PUB_TROUBLE_TTL)
		ttl = PUB_TROUBLE_TTL;
	if (p->nchecks >= PUB_CACHE_MAX)
		pub_trim(p, now);
	if ((c = dkk_calloc(1, sizeof(*c))) == NULL)
		return DKK_ENOMEM;
	c->selector = dkk_strdup(s->selector);
	c->domain = dkk_strdup(s->domain);
	c->keyfile = dkk_strdup(s->keyfile);
	if (c->selector == NULL || c->domain == NULL || c->keyfile == NULL) {
		pcheck_free(c);
		return DKK_ENOMEM;
	}
	c->state = st;
	c->until = now + ttl;
	c->next = p->checks;
	p->checks = c;
	p->nchecks++;
	return DKK_OK;
}

/* The state of a signature's record: remembered, or looked up now.  A
 * key that cannot be loaded is left to dkk_policy_sign_opts to report;
 * a lookup that fails counts as DNS trouble. */
int
policy_published_state(dkk_policy *p, const struct dkk_policy_sig *s,
    bool use_cache, enum dkk_record_state *st)
{
	const struct pcheck *c;
	int64_t now = ctx_now(p->ctx);
	dkk_key *key;
	int rc;

	if (use_cache && (c = pub_cached(p, s, now)) != NULL) {
		*st = c->state;
		return DKK_OK;
	}
	if ((rc = policy_key_load(p, s->keyfile, &key)) != DKK_OK)
		return rc;
	if (dkk_record_check(p->ctx, s->selector, s->domain, key, st) !=
	    DKK_OK)
		*st = DKK_RECORD_TEMPERROR;
	return use_cache ? pub_remember(p, s, *st, now) : DKK_OK;
}

/* Why a record keeps its key from signing; NULL when it does not. */
const char *
policy_published_problem(enum dkk_record_state st)
{
	switch (st) {
	case DKK_RECORD_MISSING:
		return "no key record is published";
	case DKK_RECORD_DIFFERS:
		return "the key record does not match the private key";
	case DKK_RECORD_REVOKED:
		return "the key record is revoked (empty p=)";
	default:
		return NULL;
	}
}

static int
pub_drop(struct dkk_decision *d, size_t i, const char *problem)
{
	struct dkk_policy_sig *v;
	char *why;

	if ((why = dkk_strdup(problem)) == NULL)
		return DKK_ENOMEM;
	if ((v = dkk_realloc(d->unused, (d->nunused + 1) * sizeof(*v))) ==
	    NULL) {
		free(why);
		return DKK_ENOMEM;
	}
	d->unused = v;
	v[d->nunused] = d->sigs[i];
	v[d->nunused++].problem = why;
	memmove(&d->sigs[i], &d->sigs[i + 1], (d->nsigs - i - 1) *
	    sizeof(*d->sigs));
	d->nsigs--;
	return DKK_OK;
}

/* Each signature of a decision to sign whose record is not there for
 * it moves to d->unused, and why says so; with none left the message
 * is not signed. */
int
policy_published(dkk_policy *p, struct dkk_decision *d, struct buf *why)
{
	enum dkk_record_state st;
	const char *problem;
	size_t i = 0;
	int rc;

	while (i < d->nsigs) {
		rc = policy_published_state(p, &d->sigs[i], true, &st);
		if (rc == DKK_ENOMEM)
			return rc;
		problem = rc == DKK_OK ? policy_published_problem(st) : NULL;
		if (rc == DKK_OK && st == DKK_RECORD_TEMPERROR)
			buf_printf(why, "; selector %s._domainkey.%s: the key "
			    "record could not be looked up, the key is used",
			    d->sigs[i].selector, d->sigs[i].domain);
		if (problem == NULL) {
			i++;
			continue;
		}
		buf_printf(why, "; selector %s._domainkey.%s: %s, not used",
		    d->sigs[i].selector, d->sigs[i].domain, problem);
		if ((rc = pub_drop(d, i, problem)) != DKK_OK)
			return rc;
	}
	if (d->nsigs == 0) {
		d->sign = 0;
		buf_adds(why, ": no published key left, not signed");
	}
	return why->failed ? DKK_ENOMEM : DKK_OK;
}
