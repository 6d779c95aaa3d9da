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

/* SignHeaders less OmitHeaders, as the colon list of dkk_sign_opts. */
static int
set_headers(dkk_policy *p)
{
	struct ptable sign, omit;
	struct buf b;
	size_t i;
	int rc;

	if (SET(p, PK_SIGNHEADERS) == NULL) {
		if (SET(p, PK_OMIT) != NULL)
			return policy_warn(p, "%s: OmitHeaders: without "
			    "SignHeaders dkimkit signs its own default set",
			    AT(p, PK_OMIT));
		return DKK_OK;
	}
	memset(&omit, 0, sizeof(omit));
	rc = ptable_load(p->ctx, &sign, SET(p, PK_SIGNHEADERS),
	    AT(p, PK_SIGNHEADERS), "SignHeaders");
	if (rc == DKK_OK && SET(p, PK_OMIT) != NULL)
		rc = ptable_load(p->ctx, &omit, SET(p, PK_OMIT),
		    AT(p, PK_OMIT), "OmitHeaders");
	buf_init(&b);
	for (i = 0; rc == DKK_OK && i < sign.n; i++)
		if (ptable_get(&omit, sign.v[i].key) == NULL)
			buf_printf(&b, "%s%s", b.len > 0 ? ":" : "",
			    sign.v[i].key);
	if (rc == DKK_OK && (b.failed || b.p == NULL))
		rc = b.failed ? DKK_ENOMEM : ctx_fail(p->ctx, DKK_ESYNTAX,
		    "%s: SignHeaders: no field left to sign",
		    AT(p, PK_SIGNHEADERS));
	if (rc == DKK_OK)
		p->headers = buf_take(&b);
	buf_clear(&b);
	ptable_clear(&sign);
	ptable_clear(&omit);
	return rc;
}

static int
set_oversign(dkk_policy *p)
{
	if (SET(p, PK_OVERSIGN) == NULL)
		return DKK_OK;
	p->oversign = true;
	return policy_warn(p, "%s: OversignHeaders: dkimkit oversigns every "
	    "signed field, not only those listed", AT(p, PK_OVERSIGN));
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
	unsigned long ttl = 0, bits = 1024;
	int rc;

	if ((rc = set_mode(p)) != DKK_OK || (rc = set_canon(p)) != DKK_OK ||
	    (rc = set_bool(p, PK_SUBDOMAINS, &p->subdomains)) != DKK_OK ||
	    (rc = set_bool(p, PK_MULTISIG, &p->multisig)) != DKK_OK ||
	    (rc = set_number(p, PK_TTL, 1UL << 40, &ttl)) != DKK_OK ||
	    (rc = set_number(p, PK_MINBITS, 16384, &bits)) != DKK_OK ||
	    (rc = check_pairs(p)) != DKK_OK ||
	    (rc = set_headers(p)) != DKK_OK ||
	    (rc = set_oversign(p)) != DKK_OK ||
	    (rc = load_table(p, PK_DOMAIN, &p->domains)) != DKK_OK ||
	    (rc = load_table(p, PK_SIGNINGTABLE, &p->signing)) != DKK_OK ||
	    (rc = load_table(p, PK_KEYTABLE, &p->keys)) != DKK_OK ||
	    (rc = check_keytable(p)) != DKK_OK ||
	    (rc = check_signing(p)) != DKK_OK)
		return rc;
	p->ttl = (int64_t)ttl;
	p->minbits = (unsigned)bits;
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
