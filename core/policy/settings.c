/*
 * settings.c: dkk_policy_new(): the settings of opendkim.conf turned into
 * a policy, each value checked, each error "FILE:LINE: Name: reason".
 * OpenDKIM's defaults stand for what is not set: Mode sv, simple/simple,
 * MinimumKeyBits 1024, InternalHosts the local host.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define SET(p, k) ((p)->set[k].value)
#define AT(p, k) ((p)->set[k].where)

static const struct {
	const char *word;
	bool value;
} booleans[] = {
	{ "yes", true }, { "true", true }, { "y", true }, { "t", true },
	{ "1", true }, { "on", true }, { "no", false }, { "false", false },
	{ "n", false }, { "f", false }, { "0", false }, { "off", false },
};

static int
set_bool(dkk_policy *p, enum pkey k, bool *out)
{
	const char *v = SET(p, k);
	size_t i;

	if (v == NULL)
		return DKK_OK;
	for (i = 0; i < sizeof(booleans) / sizeof(booleans[0]); i++)
		if (ci_equals(v, strlen(v), booleans[i].word)) {
			*out = booleans[i].value;
			return DKK_OK;
		}
	return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: %s: not yes or no: '%s'",
	    AT(p, k), pkey_name(k), v);
}

static int
set_number(dkk_policy *p, enum pkey k, unsigned long max, unsigned long *out)
{
	const char *v = SET(p, k);
	unsigned long n;
	char *end;

	if (v == NULL)
		return DKK_OK;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || n > max)
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: %s: not a number "
		    "from 0 to %lu: '%s'", AT(p, k), pkey_name(k), max, v);
	*out = n;
	return DKK_OK;
}

static int
set_mode(dkk_policy *p)
{
	const char *v = SET(p, PK_MODE);

	p->sign_mode = true;
	if (v == NULL)
		return DKK_OK;
	if (strspn(v, "sv") != strlen(v))
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: Mode: letters s "
		    "and v only: '%s'", AT(p, PK_MODE), v);
	p->sign_mode = strchr(v, 's') != NULL;
	return DKK_OK;
}

static int
set_canon(dkk_policy *p)
{
	const char *v = SET(p, PK_CANON);

	p->hcanon = p->bcanon = DKK_CANON_SIMPLE;
	if (v != NULL && dkk_canon_parse(v, &p->hcanon, &p->bcanon) != DKK_OK)
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: Canonicalization: "
		    "not simple or relaxed (HEADER/BODY): '%s'",
		    AT(p, PK_CANON), v);
	return DKK_OK;
}

/* libopendkim 2.11's defaults: the fields RFC 6376 5.4.1 says SHOULD be
 * signed (and Resent-Sender), and those it says SHOULD NOT be. */
static const char *const od_sign_default[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date",
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
	"In-Reply-To", "References", "List-Id", "List-Help",
	"List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner",
	"List-Archive", NULL
};
static const char *const od_omit_default[] = {
	"Return-Path", "Received", "Comments", "Keywords", NULL
};

/* A set of field names in the order first given, case aside. */
struct names {
	char **v;
	size_t n;
};

static bool
names_in(const struct names *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (ci_equals(s->v[i], strlen(s->v[i]), name))
			return true;
	return false;
}

static int
names_add(struct names *s, const char *name)
{
	char **v;

	if (names_in(s, name))
		return DKK_OK;
	if ((v = dkk_realloc(s->v, (s->n + 1) * sizeof(*v))) == NULL)
		return DKK_ENOMEM;
	s->v = v;
	return (s->v[s->n] = dkk_strdup(name)) != NULL ? (s->n++, DKK_OK) :
	    DKK_ENOMEM;
}

static void
names_del(struct names *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (ci_equals(s->v[i], strlen(s->v[i]), name)) {
			free(s->v[i]);
			memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) *
			    sizeof(*s->v));
			s->n--;
			return;
		}
}

static void
names_clear(struct names *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The names joined by ':' (NULL for none), less those in skip. */
static int
names_join(const struct names *s, const struct names *skip, char **out)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < s->n; i++)
		if (skip == NULL || !names_in(skip, s->v[i]))
			buf_printf(&b, "%s%s", b.len > 0 ? ":" : "", s->v[i]);
	if (b.failed)
		return DKK_ENOMEM;
	*out = b.p != NULL ? buf_take(&b) : NULL;
	return DKK_OK;
}

/* "FILE:LINE" of an entry, or of the setting for a list written in it. */
static const char *
entry_at(dkk_policy *p, enum pkey k, const struct pentry *e)
{
	return strncmp(e->where, "csl:", 4) == 0 ? AT(p, k) : e->where;
}

/* One entry of a name list: a field name (RFC 5322 ftext), or with a
 * "*" entry a "+name" or "-name" change to the default. */
static int
names_entry(dkk_policy *p, enum pkey k, const struct pentry *e, bool delta,
    struct names *out)
{
	const char *name = e->key, *at = entry_at(p, k, e);
	char op = name[0] == '+' || name[0] == '-' ? name[0] : 0;
	size_t i;

	if (strcmp(name, "*") == 0 && k == PK_OVERSIGN)
		return policy_warn(p, "%s: %s: '*' not used: there is no "
		    "default list to change", at, pkey_name(k));
	if (strcmp(name, "*") == 0)
		return DKK_OK;
	if (op != 0 && !delta)
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: %s: '%s': '+' and "
		    "'-' change the default list, which needs a '*' entry",
		    at, pkey_name(k), name);
	if (op == 0 && delta)
		return policy_warn(p, "%s: %s: '%s' not used: after '*' only "
		    "+NAME and -NAME count (as in opendkim 2.11)", at,
		    pkey_name(k), name);
	name += op != 0;
	if (strchr(name, '*') != NULL)
		return policy_warn(p, "%s: %s: '%s' not used: dkimkit takes "
		    "field names, not patterns", at, pkey_name(k), name);
	for (i = 0; name[i] != '\0'; i++)
		if (!is_ftext((unsigned char)name[i]) || name[i] == ';')
			break;
	if (i == 0 || name[i] != '\0')
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: %s: '%s' is not a "
		    "header field name", at, pkey_name(k), name);
	if (op == '-') {
		names_del(out, name);
		return DKK_OK;
	}
	return names_add(out, name);
}

/* SignHeaders, OmitHeaders, OversignHeaders read as OpenDKIM reads them:
 * the list replaces def (NULL: no default), or, with an entry "*",
 * changes it. */
static int
names_build(dkk_policy *p, enum pkey k, const char *const *def,
    struct names *out)
{
	struct ptable t;
	bool delta = false;
	size_t i;
	int rc = DKK_OK;

	memset(&t, 0, sizeof(t));
	if (SET(p, k) != NULL)
		rc = ptable_load(p->ctx, &t, SET(p, k), AT(p, k),
		    pkey_name(k));
	for (i = 0; rc == DKK_OK && i < t.n; i++)
		delta = delta || strcmp(t.v[i].key, "*") == 0;
	for (i = 0; def != NULL && (SET(p, k) == NULL || delta) &&
	    def[i] != NULL && rc == DKK_OK; i++)
		rc = names_add(out, def[i]);
	for (i = 0; i < t.n && rc == DKK_OK; i++)
		rc = names_entry(p, k, &t.v[i], delta && def != NULL, out);
	ptable_clear(&t);
	return rc;
}

/* The three signing modes from OpenDKIM's lists.  libopendkim signs the
 * fields present that SignHeaders names (From always) and OmitHeaders
 * does not, then lists each OversignHeaders name once more: so SignHeaders
 * less OmitHeaders is "sign only if present", OversignHeaders "oversign".
 * Where opendkim would make a signature no verifier can check (an
 * OversignHeaders field that is present but not signed: listed in h= but
 * left out of the hash), dkimkit signs the field.  From cannot be
 * omitted: opendkim then signs nothing. */
static int
set_headers(dkk_policy *p)
{
	struct names sign, omit, over, all;
	size_t i;
	int rc;

	memset(&sign, 0, sizeof(sign));
	memset(&omit, 0, sizeof(omit));
	memset(&over, 0, sizeof(over));
	memset(&all, 0, sizeof(all));
	if ((rc = names_build(p, PK_SIGNHEADERS, od_sign_default, &sign)) ==
	    DKK_OK && (rc = names_build(p, PK_OMIT, od_omit_default, &omit)) ==
	    DKK_OK && (rc = names_build(p, PK_OVERSIGN, NULL, &over)) ==
	    DKK_OK && names_in(&omit, "From"))
		rc = ctx_fail(p->ctx, DKK_ESYNTAX, "%s: OmitHeaders: From must "
		    "be signed (RFC 6376 5.4); opendkim 2.11 signs nothing",
		    AT(p, PK_OMIT));
	names_del(&sign, "From");
	if (rc == DKK_OK)
		rc = names_join(&sign, &omit, &p->if_present);
	if (rc == DKK_OK)
		rc = names_join(&over, NULL, &p->oversign_headers);
	if (rc == DKK_OK)
		rc = names_add(&all, "From");
	for (i = 0; i < sign.n && rc == DKK_OK; i++)
		if (!names_in(&omit, sign.v[i]))
			rc = names_add(&all, sign.v[i]);
	if (rc == DKK_OK)
		rc = names_join(&all, NULL, &p->headers);
	names_clear(&sign);
	names_clear(&omit);
	names_clear(&over);
	names_clear(&all);
	return rc;
}

static int
load_table(dkk_policy *p, enum pkey k, struct ptable *t)
{
	if (SET(p, k) == NULL)
		return DKK_OK;
	return ptable_load(p->ctx, t, SET(p, k), AT(p, k), pkey_name(k));
}

/* KeyTable values are DOMAIN:SELECTOR:KEYFILE[:ALGORITHM]. */
static int
check_keytable(dkk_policy *p)
{
	const struct pentry *e;
	const char *v, *alg;
	size_t i, colons;

	for (i = 0; i < p->keys.n; i++) {
		e = &p->keys.v[i];
		v = e->value != NULL ? e->value : "";
		for (colons = 0; *v != '\0'; v++)
			colons += *v == ':';
		if (colons < 2 || colons > 3)
			return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: KeyTable: "
			    "expected DOMAIN:SELECTOR:KEYFILE[:ALGORITHM] "
			    "after '%s'", e->where, e->key);
		alg = colons == 3 ? strrchr(e->value, ':') + 1 : NULL;
		if (alg != NULL && strcmp(alg, "rsa-sha256") != 0 &&
		    strcmp(alg, "ed25519-sha256") != 0)
			return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: KeyTable: "
			    "unknown algorithm '%s' (rsa-sha256 or "
			    "ed25519-sha256)", e->where, alg);
	}
	return DKK_OK;
}

static int
check_signing(dkk_policy *p)
{
	size_t i;

	for (i = 0; i < p->signing.n; i++)
		if (p->signing.v[i].value == NULL ||
		    p->signing.v[i].value[0] == ':')
			return ctx_fail(p->ctx, DKK_ESYNTAX,
			    "%s: SigningTable: no KeyTable name after '%s'",
			    p->signing.v[i].where, p->signing.v[i].key);
	return DKK_OK;
}

/* Domain, Selector and KeyFile sign only without a SigningTable, and
 * only together: else each one set is named. */
static int
unused_single(dkk_policy *p)
{
	static const enum pkey single[] = { PK_DOMAIN, PK_SELECTOR,
	    PK_KEYFILE };
	bool table = SET(p, PK_SIGNINGTABLE) != NULL;
	size_t i;
	int rc = DKK_OK;

	if (!table && SET(p, PK_DOMAIN) != NULL)
		return DKK_OK;
	for (i = 0; rc == DKK_OK && i < 3; i++)
		if (SET(p, single[i]) != NULL)
			rc = policy_warn(p, "%s: %s: not used: %s", AT(p,
			    single[i]), pkey_name(single[i]), table ?
			    "the SigningTable and KeyTable decide" :
			    "no Domain to sign for");
	return rc;
}

/* The tables go together, and a lone Domain needs its key. */
static int
check_pairs(dkk_policy *p)
{
	if (SET(p, PK_KEYTABLE) != NULL && SET(p, PK_SIGNINGTABLE) == NULL)
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: KeyTable: no "
		    "SigningTable to use it", AT(p, PK_KEYTABLE));
	if (SET(p, PK_SIGNINGTABLE) != NULL && SET(p, PK_KEYTABLE) == NULL)
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: SigningTable: no "
		    "KeyTable to name its keys", AT(p, PK_SIGNINGTABLE));
	if (SET(p, PK_DOMAIN) != NULL && SET(p, PK_SIGNINGTABLE) == NULL &&
	    (SET(p, PK_SELECTOR) == NULL || SET(p, PK_KEYFILE) == NULL))
		return ctx_fail(p->ctx, DKK_ESYNTAX, "%s: Domain: needs "
		    "Selector and KeyFile", AT(p, PK_DOMAIN));
	return unused_single(p);
}

static int
set_hosts(dkk_policy *p)
{
	int rc;

	if (SET(p, PK_INTERNALHOSTS) == NULL)
		rc = phosts_default(&p->internal);
	else
		rc = phosts_load(p->ctx, &p->internal, SET(p, PK_INTERNALHOSTS),
		    AT(p, PK_INTERNALHOSTS), "InternalHosts");
	if (rc != DKK_OK || SET(p, PK_EXTERNALIGNORE) == NULL)
		return rc;
	p->have_ignore = true;
	return phosts_load(p->ctx, &p->ignore, SET(p, PK_EXTERNALIGNORE),
	    AT(p, PK_EXTERNALIGNORE), "ExternalIgnoreList");
}

static int
policy_apply(dkk_policy *p)
{
	unsigned long ttl = 0, bits = 1024, pubttl = 300;
	int rc;

	if ((rc = set_mode(p)) != DKK_OK || (rc = set_canon(p)) != DKK_OK ||
	    (rc = set_bool(p, PK_SUBDOMAINS, &p->subdomains)) != DKK_OK ||
	    (rc = set_bool(p, PK_MULTISIG, &p->multisig)) != DKK_OK ||
	    (rc = set_number(p, PK_TTL, 1UL << 40, &ttl)) != DKK_OK ||
	    (rc = set_number(p, PK_MINBITS, 16384, &bits)) != DKK_OK ||
	    (rc = set_bool(p, PK_REQPUB, &p->require_published)) != DKK_OK ||
	    (rc = set_number(p, PK_REQPUB_TTL, 86400, &pubttl)) != DKK_OK ||
	    (rc = check_pairs(p)) != DKK_OK ||
	    (rc = set_headers(p)) != DKK_OK ||
	    (rc = load_table(p, PK_DOMAIN, &p->domains)) != DKK_OK ||
	    (rc = load_table(p, PK_SIGNINGTABLE, &p->signing)) != DKK_OK ||
	    (rc = load_table(p, PK_KEYTABLE, &p->keys)) != DKK_OK ||
	    (rc = check_keytable(p)) != DKK_OK ||
	    (rc = check_signing(p)) != DKK_OK)
		return rc;
	p->ttl = (int64_t)ttl;
	p->minbits = (unsigned)bits;
	p->published_ttl = (int64_t)pubttl;
	return set_hosts(p);
}

void
dkk_policy_free(dkk_policy *p)
{
	struct pkey_loaded *l;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < PK_COUNT; i++) {
		free(p->set[i].value);
		free(p->set[i].where);
	}
	ptable_clear(&p->domains);
	ptable_clear(&p->signing);
	ptable_clear(&p->keys);
	phosts_clear(&p->internal);
	phosts_clear(&p->ignore);
	for (i = 0; i < p->nwarn; i++)
		free(p->warn[i]);
	free(p->warn);
	free(p->headers);
	free(p->if_present);
	free(p->oversign_headers);
	policy_published_clear(p);
	while ((l = p->loaded) != NULL) {
		p->loaded = l->next;
		dkk_key_free(l->key);
		free(l->path);
		free(l);
	}
	free(p);
}

static int
policy_new_run(dkk_ctx *ctx, const char *conf, dkk_policy **pp)
{
	dkk_policy *p;
	int rc;

	if (conf == NULL || pp == NULL)
		return DKK_EINVAL;
	*pp = NULL;
	if ((p = dkk_calloc(1, sizeof(*p))) == NULL)
		return DKK_ENOMEM;
	p->ctx = ctx;
	if ((rc = policy_conf_read(p, conf)) == DKK_OK &&
	    (rc = policy_apply(p)) == DKK_OK) {
		*pp = p;
		return DKK_OK;
	}
	dkk_policy_free(p);
	return rc;
}

int
dkk_policy_new(dkk_ctx *ctx, const char *conf, dkk_policy **pp)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, policy_new_run(ctx, conf, pp));
}

size_t
dkk_policy_warnings(const dkk_policy *p)
{
	return p != NULL ? p->nwarn : 0;
}

const char *
dkk_policy_warning(const dkk_policy *p, size_t i)
{
	return p != NULL && i < p->nwarn ? p->warn[i] : NULL;
}
