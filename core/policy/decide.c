/*
 * decide.c: one message's decision, as OpenDKIM takes it.  The author's
 * address is looked up in the SigningTable (or the Domain list); the
 * message is signed only when that finds a key AND the client
 * authenticated or is in InternalHosts.  The table is asked
 * "user@domain" (and "domain" only when that finds nothing), then
 * "user@.parent" (else ".parent") for each parent, with or without
 * SubDomains, then "user@*" (else "*"); an exact table answers with the line of that
 * key, a refile: table with the first pattern, in file order, that
 * covers it.  The first answer wins, or with MultipleSignatures every
 * question's answer, each line once (as opendkim 2.11 under miltertest
 * does: "ceo@example.com" with the lines "ceo@example.com",
 * "*@example.com" and "*@*" gets the first and the last; with the exact
 * lines "ceo@example.com", "example.com" and "*", the first and the
 * last).
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

struct asker {
	dkk_policy *p;
	const char *user;
	const char *domain;
	struct dkk_decision *d;
	struct buf why;		/* the decision's reason */
};

/* s with each "%" made the author's domain. */
char *
percent_expand(const char *s, const char *domain)
{
	struct buf b;

	buf_init(&b);
	for (; *s != '\0'; s++)
		if (*s == '%')
			buf_adds(&b, domain);
		else
			buf_addc(&b, *s);
	if (b.p == NULL && !b.failed)
		return dkk_strdup("");
	return b.failed ? (buf_clear(&b), NULL) : buf_take(&b);
}

/* field n (from 0) of a colon list, expanded; NULL when absent. */
static char *
colon_field(const char *v, size_t n, const char *domain, bool *nomem)
{
	const char *end;
	char *raw, *out;

	for (; n > 0 && v != NULL; n--)
		if ((v = strchr(v, ':')) != NULL)
			v++;
	if (v == NULL)
		return NULL;
	end = v + strcspn(v, ":");
	if ((raw = dkk_strndup(v, (size_t)(end - v))) == NULL ||
	    (out = percent_expand(raw, domain)) == NULL) {
		free(raw);
		*nomem = true;
		return NULL;
	}
	free(raw);
	return out;
}

static int
sig_push(struct dkk_decision *d, struct dkk_policy_sig **out)
{
	struct dkk_policy_sig *v;

	if ((v = dkk_realloc(d->sigs, (d->nsigs + 1) * sizeof(*v))) == NULL)
		return DKK_ENOMEM;
	d->sigs = v;
	*out = memset(&v[d->nsigs++], 0, sizeof(*v));
	return DKK_OK;
}

/* A signature from a KeyTable line (or the single KeyFile). */
static int
sig_from_key(struct asker *a, const char *keyval, const char *key_line,
    const char *signing_line, const char *identity)
{
	struct dkk_policy_sig *s;
	bool nomem = false;
	int rc;

	if ((rc = sig_push(a->d, &s)) != DKK_OK)
		return rc;
	s->domain = colon_field(keyval, 0, a->domain, &nomem);
	s->selector = colon_field(keyval, 1, a->domain, &nomem);
	s->keyfile = colon_field(keyval, 2, a->domain, &nomem);
	s->algorithm = colon_field(keyval, 3, a->domain, &nomem);
	if (s->algorithm == NULL && !nomem)
		s->algorithm = dkk_strdup("rsa-sha256");
	s->identity = identity != NULL ? percent_expand(identity, a->domain) :
	    NULL;
	s->signing_line = dkk_strdup(signing_line);
	s->key_line = key_line != NULL ? dkk_strdup(key_line) : NULL;
	if (nomem || s->algorithm == NULL || s->signing_line == NULL ||
	    (identity != NULL && s->identity == NULL) ||
	    (key_line != NULL && s->key_line == NULL))
		return DKK_ENOMEM;
	return DKK_OK;
}

/* A SigningTable line that matched: "KEYNAME[:IDENTITY]". */
static int
sig_from_signing(struct asker *a, const struct pentry *se)
{
	const struct pentry *ke;
	const char *colon = strchr(se->value, ':');
	char *name;
	int rc;

	name = colon != NULL ? dkk_strndup(se->value,
	    (size_t)(colon - se->value)) : dkk_strdup(se->value);
	if (name == NULL)
		return DKK_ENOMEM;
	ke = ptable_find(&a->p->keys, name);
	if (ke == NULL)
		rc = ctx_fail(a->p->ctx, DKK_ESYNTAX, "%s: SigningTable: "
		    "'%s' is not in the KeyTable", se->where, name);
	else
		rc = sig_from_key(a, ke->value, ke->where, se->where,
		    colon != NULL && colon[1] != '\0' ? colon + 1 : NULL);
	free(name);
	return rc;
}

/* Ask the table for key: its first line that is key (an exact table) or
 * whose pattern covers key (refile:, in file order).  A hit becomes a
 * signature (*hit), and *done once one is enough. */
static int
ask(struct asker *a, const char *key, bool *hit, bool *done)
{
	const struct pentry *e;
	size_t i;

	if ((e = ptable_find(&a->p->signing, key)) == NULL)
		return DKK_OK;
	*hit = true;
	*done = !a->p->multisig;
	/* A line that answered an earlier question signs only once. */
	for (i = 0; i < a->d->nsigs; i++)
		if (strcmp(a->d->sigs[i].signing_line, e->where) == 0)
			return DKK_OK;
	return sig_from_signing(a, e);
}

/* One level of the questions: "user@X", and only when that finds
 * nothing, "X". */
static int
ask_level(struct asker *a, const char *x, bool *done)
{
	struct buf k;
	bool hit = false;
	int rc;

	if (*done)
		return DKK_OK;
	buf_init(&k);
	buf_printf(&k, "%s@%s", a->user, x);
	rc = k.failed ? DKK_ENOMEM : ask(a, k.p, &hit, done);
	buf_clear(&k);
	if (rc != DKK_OK || hit)
		return rc;
	return ask(a, x, &hit, done);
}

/* OpenDKIM asks every kind of table the same questions, level by level:
 * the domain, each ".parent" (whatever SubDomains says: it is for the
 * Domain list), then "*". */
static int
lookup_signing(struct asker *a)
{
	const char *parent;
	bool done = false;
	int rc;

	if ((rc = ask_level(a, a->domain, &done)) != DKK_OK)
		return rc;
	for (parent = strchr(a->domain, '.'); parent != NULL;
	    parent = strchr(parent + 1, '.'))
		if ((rc = ask_level(a, parent, &done)) != DKK_OK)
			return rc;
	return ask_level(a, "*", &done);
}

/* Domain, Selector, KeyFile: one key for the listed domains (and, with
 * SubDomains, those under them: d= is the listed parent). */
static int
lookup_domain(struct asker *a)
{
	const struct pentry *e = NULL;
	const char *d;
	struct buf kv;
	int rc;

	if (a->p->domains.patterns)
		e = ptable_find(&a->p->domains, a->domain);
	for (d = a->domain; e == NULL && d != NULL; d = a->p->subdomains ?
	    strchr(d + 1, '.') : NULL)
		e = ptable_get(&a->p->domains, *d == '.' ? d + 1 : d);
	if (e == NULL)
		return DKK_OK;
	d = a->p->domains.patterns ? a->domain : e->key;
	buf_init(&kv);
	buf_printf(&kv, "%s:%s:%s", d, a->p->set[PK_SELECTOR].value,
	    a->p->set[PK_KEYFILE].value);
	rc = kv.failed ? DKK_ENOMEM : sig_from_key(a, kv.p,
	    a->p->set[PK_KEYFILE].where, e->where, NULL);
	buf_clear(&kv);
	return rc;
}

/* Authenticated, or internal by InternalHosts: else why not.  A client
 * without an address (a local submission) is 127.0.0.1, as opendkim
 * 2.11 takes it (seen under miltertest with an "unspec" connection). */
static bool
client_trusted(struct asker *a, const struct dkk_policy_client *c)
{
	const struct phost *h;
	const char *ip = c->ip != NULL && *c->ip != '\0' ? c->ip :
	    "127.0.0.1";
	const char *who = ip != c->ip ? "without an address (127.0.0.1)" :
	    ip;

	if (c->auth != NULL && *c->auth != '\0') {
		buf_printf(&a->why, "the client authenticated as %s", c->auth);
		return true;
	}
	h = phosts_match(&a->p->internal, ip, c->host);
	if (h != NULL && !h->neg) {
		buf_printf(&a->why, "the client %s is in InternalHosts (%s)",
		    who, h->where != NULL ? h->where : "the default 127.0.0.1, "
		    "::1");
		return true;
	}
	buf_printf(&a->why, "the client %s neither authenticated nor is in "
	    "InternalHosts", who);
	if (h != NULL)
		buf_printf(&a->why, " (excluded at %s)", h->where);
	if (a->p->have_ignore && (h = phosts_match(&a->p->ignore, ip,
	    c->host)) != NULL && !h->neg)
		buf_printf(&a->why, "; it is in ExternalIgnoreList (%s), so "
		    "OpenDKIM would not log it", h->where);
	return false;
}

static int
split_from(const char *from, char **user, char **domain)
{
	const char *at = strrchr(from, '@');
	size_t i;

	*user = at != NULL ? dkk_strndup(from, (size_t)(at - from)) :
	    dkk_strdup("");
	*domain = dkk_strdup(at != NULL ? at + 1 : from);
	if (*user == NULL || *domain == NULL)
		return DKK_ENOMEM;
	for (i = 0; (*domain)[i] != '\0'; i++)
		(*domain)[i] = (char)lower((*domain)[i]);
	return DKK_OK;
}

static int
decide(struct asker *a, const struct dkk_policy_client *c)
{
	bool trusted;
	int rc;

	if (!a->p->sign_mode)
		return buf_printf(&a->why, "Mode %s has no s: this policy "
		    "never signs", a->p->set[PK_MODE].value);
	if (a->p->set[PK_SIGNINGTABLE].value != NULL)
		rc = lookup_signing(a);
	else if (a->p->set[PK_DOMAIN].value != NULL)
		rc = lookup_domain(a);
	else
		return buf_adds(&a->why, "neither SigningTable nor Domain is "
		    "set: this policy never signs");
	if (rc != DKK_OK)
		return rc;
	if (a->d->nsigs == 0)
		return buf_printf(&a->why, "%s@%s matches no %s line",
		    a->user, a->domain, a->p->set[PK_SIGNINGTABLE].value !=
		    NULL ? "SigningTable" : "Domain");
	trusted = client_trusted(a, c);
	a->d->sign = trusted;
	if (trusted && (rc = buf_printf(&a->why, ", and %s@%s has %zu key%s",
	    a->user, a->domain, a->d->nsigs, a->d->nsigs == 1 ? "" : "s")) ==
	    DKK_OK && a->p->require_published)
		rc = policy_published(a->p, a->d, &a->why);
	if (trusted)
		return rc;
	return buf_printf(&a->why, ": %s@%s is not signed", a->user,
	    a->domain);
}

static int
policy_decide_run(dkk_policy *p, const struct dkk_policy_client *c,
    struct dkk_decision *d)
{
	struct asker a;
	char *user = NULL, *domain = NULL;
	int rc;

	if (p == NULL || c == NULL || c->from == NULL || d == NULL)
		return DKK_EINVAL;
	memset(d, 0, sizeof(*d));
	memset(&a, 0, sizeof(a));
	buf_init(&a.why);
	if ((rc = split_from(c->from, &user, &domain)) == DKK_OK) {
		a.p = p;
		a.user = user;
		a.domain = domain;
		a.d = d;
		rc = decide(&a, c);
	}
	if (rc == DKK_OK && (a.why.failed || a.why.p == NULL))
		rc = DKK_ENOMEM;
	if (rc == DKK_OK)
		d->reason = buf_take(&a.why);
	else
		dkk_decision_clear(d);
	buf_clear(&a.why);
	free(user);
	free(domain);
	return rc;
}

int
dkk_policy_decide(dkk_policy *p, const struct dkk_policy_client *c,
    struct dkk_decision *d)
{
	if (p == NULL)
		return DKK_EINVAL;
	ctx_begin(p->ctx);
	return ctx_end(p->ctx, policy_decide_run(p, c, d));
}

static void
sigs_free(struct dkk_policy_sig *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].domain);
		free(v[i].selector);
		free(v[i].identity);
		free(v[i].algorithm);
		free(v[i].keyfile);
		free(v[i].signing_line);
		free(v[i].key_line);
		free(v[i].problem);
	}
	free(v);
}

void
dkk_decision_clear(struct dkk_decision *d)
{
	if (d == NULL)
		return;
	sigs_free(d->sigs, d->nsigs);
	sigs_free(d->unused, d->nunused);
	free(d->reason);
	memset(d, 0, sizeof(*d));
}
