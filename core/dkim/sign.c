/*
 * sign.c: the signer, RFC 6376 section 5.  The message streams through as
 * for the verifier; at the end the DKIM-Signature field is laid out, its
 * header hash computed over the field as it will travel (CRLF folding, b=
 * empty), and the signature appended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

#define SIGN_WIDTH 78

struct dkk_signer {
	dkk_ctx *ctx;
	const dkk_key *key;
	char *domain;		/* NULL until chosen from cands */
	char *selector;
	char *identity;
	char **cands;		/* candidate domains, or NULL */
	size_t ncands;
	dkk_keydir *kd;		/* key and selector from here, or NULL */
	char **names;		/* --headers, or NULL for the default set */
	size_t nnames;
	char **ifp;		/* names listed only when present */
	size_t nifp;
	char **ovs;		/* names listed once more than present */
	size_t novs;
	bool bound;		/* domain, key and selector known */
	enum dkk_canon hcanon;
	enum dkk_canon bcanon;
	bool oversign;
	bool body_length;
	int64_t expire;
	char *atps;		/* RFC 6541 atps=, or NULL */
	const char *atpsh;	/* its atpsh=: a static string */
	bool report;		/* r=y, RFC 6651 2 */
	struct header hdr;
	struct bodyset body;
	size_t sink;
	int err;
	bool done;
};

/* Fields worth protecting when present (RFC 6376 5.4.1), From first. */
const char *const sign_default_headers[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date",
	"Resent-From", "Resent-To", "Resent-Cc", "In-Reply-To", "References",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe",
	"List-Post", "List-Owner", "List-Archive", "Message-ID",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-ID", "Content-Description", "Sender", NULL
};

static void
names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* A name for h=: RFC 5322 ftext, which the verifier requires (RFC 6376
 * 3.5), and no ';', which would end the tag. */
static bool
name_ok(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_ftext((unsigned char)p[i]) || p[i] == ';')
			return false;
	return len > 0;
}

/* Split "a:b:c" into names; DKK_EINVAL on an empty or invalid name. */
static int
names_parse(const char *list, char ***out, size_t *n)
{
	const char *p = list, *colon;
	char **names;
	size_t count = 1, i = 0, len;

	for (colon = list; (colon = strchr(colon, ':')) != NULL; colon++)
		count++;
	if ((names = dkk_calloc(count, sizeof(*names))) == NULL)
		return DKK_ENOMEM;
	for (; i < count; i++, p = colon + 1) {
		colon = strchr(p, ':');
		len = colon != NULL ? (size_t)(colon - p) : strlen(p);
		if (!name_ok(p, len)) {
			names_free(names, i);
			return DKK_EINVAL;
		}
		if ((names[i] = dkk_strndup(p, len)) == NULL) {
			names_free(names, i);
			return DKK_ENOMEM;
		}
		colon = p + len;
	}
	*out = names;
	*n = count;
	return DKK_OK;
}

static bool
names_have(char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ci_equals(names[i], strlen(names[i]), name))
			return true;
	return false;
}

/* d= and s= as the verifier will want them (RFC 6376 3.5). */
static int
signer_check_names(dkk_ctx *ctx, const char *domain, const char *selector,
    const char *identity)
{
	const char *at;

	if (!domain_valid(domain, strlen(domain), false) ||
	    strchr(domain, '.') == NULL)
		return ctx_fail(ctx, DKK_EINVAL, "%s is not a domain name",
		    domain);
	if (selector != NULL &&
	    !domain_valid(selector, strlen(selector), true))
		return ctx_fail(ctx, DKK_EINVAL, "%s is not a selector",
		    selector);
	if (identity != NULL && ((at = strrchr(identity, '@')) == NULL ||
	    !domain_valid(at + 1, strlen(at + 1), false) ||
	    strchr(at + 1, '.') == NULL || !domain_within(at + 1, domain)))
		return ctx_fail(ctx, DKK_EINVAL,
		    "identity %s is not an address within %s", identity,
		    domain);
	return DKK_OK;
}

/* RFC 6541: atps= is a domain name, atpsh= one of the three hashes. */
static int
signer_check_atps(dkk_ctx *ctx, const struct dkk_sign_opts *o)
{
	if (o->atps == NULL)
		return o->atps_hash == NULL ? DKK_OK : ctx_fail(ctx,
		    DKK_EINVAL, "an ATPS hash needs an ATPS domain");
	if (!domain_valid(o->atps, strlen(o->atps), false) ||
	    strchr(o->atps, '.') == NULL)
		return ctx_fail(ctx, DKK_EINVAL, "ATPS domain %s is not a "
		    "domain name", o->atps);
	if (o->atps_hash != NULL && strcmp(o->atps_hash, "none") != 0 &&
	    strcmp(o->atps_hash, "sha1") != 0 &&
	    strcmp(o->atps_hash, "sha256") != 0)
		return ctx_fail(ctx, DKK_EINVAL, "ATPS hash %s is not none, "
		    "sha1 or sha256 (RFC 6541)", o->atps_hash);
	return DKK_OK;
}

static int
signer_check(dkk_ctx *ctx, const struct dkk_sign_opts *o)
{
	size_t i;
	int rc = DKK_OK;

	if ((o->domain == NULL) == (o->domains == NULL))
		return ctx_fail(ctx, DKK_EINVAL,
		    "a domain, or candidate domains, is required (not both)");
	if ((o->keydir == NULL) == (o->key == NULL) ||
	    (o->key != NULL && o->selector == NULL) ||
	    (o->keydir != NULL && o->selector != NULL))
		return ctx_fail(ctx, DKK_EINVAL,
		    "a key and a selector, or a key directory, are required");
	if (o->domains != NULL && (o->domains[0] == NULL ||
	    o->identity != NULL))
		return ctx_fail(ctx, DKK_EINVAL, o->identity != NULL ?
		    "an identity needs a fixed domain" :
		    "the candidate domain list is empty");
	if (o->expire < 0)
		return ctx_fail(ctx, DKK_EINVAL, "negative expiry");
	if ((rc = signer_check_atps(ctx, o)) != DKK_OK)
		return rc;
	if (o->domain != NULL)
		return signer_check_names(ctx, o->domain, o->selector,
		    o->identity);
	for (i = 0; o->domains[i] != NULL && rc == DKK_OK; i++)
		rc = signer_check_names(ctx, o->domains[i], o->selector, NULL);
	return rc;
}

/* The candidate list, copied. */
static int
signer_cands(dkk_signer *s, const char *const *domains)
{
	size_t n;

	for (n = 0; domains[n] != NULL; n++)
		;
	if ((s->cands = dkk_calloc(n, sizeof(*s->cands))) == NULL)
		return DKK_ENOMEM;
	for (s->ncands = 0; s->ncands < n; s->ncands++)
		if ((s->cands[s->ncands] = dkk_strdup(domains[s->ncands])) ==
		    NULL)
			return DKK_ENOMEM;
	return DKK_OK;
}

/* Whether cand is every author domain or a parent of each. */
static bool
signer_covers(const struct authors *a, const char *cand)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!domain_within(a->domain[i], cand))
			return false;
	return a->n > 0;
}

/* The longest candidate equal to the domain of every author address in
 * From, or a parent of each; NULL when none is, or From cannot be read:
 * a signer vouches for the whole message, so not for one that also names
 * an author outside its domain (or hides one in a malformed list). */
static const char *
signer_pick(const dkk_signer *s)
{
	struct authors a;
	const char *value, *best = NULL;
	size_t i, len;
	int rc = DKK_OK;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < s->hdr.count && rc == DKK_OK; i++)
		if (header_is(&s->hdr, &s->hdr.fields[i], "From")) {
			value = header_value(&s->hdr, &s->hdr.fields[i], &len);
			rc = authors_parse(&a, value, len);
		}
	for (i = 0; rc == DKK_OK && !a.malformed && i < s->ncands; i++)
		if (signer_covers(&a, s->cands[i]) &&
		    (best == NULL || strlen(s->cands[i]) > strlen(best)))
			best = s->cands[i];
	authors_clear(&a);
	return best;
}

/* When the header block has ended: d=, then with a key directory the
 * domain's active key and selector.  No candidate leaves the signer
 * unbound, and final says DKK_ENODOMAIN. */
static int
signer_bind(dkk_signer *s)
{
	const char *pick, *sel;
	int rc;

	if (s->bound)
		return DKK_OK;
	/* The new field goes on top: a first line that is a continuation
	 * would become part of it, and no verifier could check it. */
	if (s->hdr.count > 0 &&
	    is_wsp((unsigned char)*header_text(&s->hdr, &s->hdr.fields[0])))
		return ctx_fail(s->ctx, DKK_ESYNTAX, "the header block begins "
		    "with a folded line (space or tab): it continues no field "
		    "(RFC 5322 2.2.3), and the DKIM-Signature field put above "
		    "it would take it in");
	if (s->domain == NULL) {
		if ((pick = signer_pick(s)) == NULL)
			return DKK_OK;
		if ((s->domain = dkk_strdup(pick)) == NULL)
			return DKK_ENOMEM;
	}
	if (s->kd != NULL) {
		if ((rc = dkk_keydir_active(s->kd, s->domain, &s->key, &sel)) !=
		    DKK_OK)
			return rc;
		if ((s->selector = dkk_strdup(sel)) == NULL)
			return DKK_ENOMEM;
	}
	s->bound = true;
	return DKK_OK;
}

const char *
dkk_signer_domain(const dkk_signer *s)
{
	return s != NULL && s->bound ? s->domain : NULL;
}

const char *
dkk_signer_selector(const dkk_signer *s)
{
	return s != NULL && s->bound ? s->selector : NULL;
}

static int
signer_copy(dkk_signer *s, const struct dkk_sign_opts *o)
{
	int rc;

	if ((o->domain != NULL &&
	    (s->domain = dkk_strdup(o->domain)) == NULL) ||
	    (o->selector != NULL &&
	    (s->selector = dkk_strdup(o->selector)) == NULL) ||
	    (o->identity != NULL &&
	    (s->identity = dkk_strdup(o->identity)) == NULL) ||
	    (o->atps != NULL && (s->atps = dkk_strdup(o->atps)) == NULL))
		return DKK_ENOMEM;
	s->atpsh = o->atps_hash == NULL ? "sha256" :
	    strcmp(o->atps_hash, "none") == 0 ? "none" :
	    strcmp(o->atps_hash, "sha1") == 0 ? "sha1" : "sha256";
	if (o->domains != NULL && (rc = signer_cands(s, o->domains)) != DKK_OK)
		return rc;
	if (o->if_present != NULL && (rc = names_parse(o->if_present, &s->ifp,
	    &s->nifp)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : ctx_fail(s->ctx, rc,
		    "bad if-present list: names are printable ASCII but ':', "
		    "separated by ':' (RFC 5322 3.6.8)");
	if (o->oversign_headers != NULL && (rc = names_parse(
	    o->oversign_headers, &s->ovs, &s->novs)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : ctx_fail(s->ctx, rc,
		    "bad oversign list: names are printable ASCII but ':', "
		    "separated by ':' (RFC 5322 3.6.8)");
	if (o->headers == NULL)
		return DKK_OK;
	if ((rc = names_parse(o->headers, &s->names, &s->nnames)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : ctx_fail(s->ctx, rc,
		    "bad header list: names are printable ASCII but ':', "
		    "separated by ':' (RFC 5322 3.6.8)");
	if (!names_have(s->names, s->nnames, "From"))
		return ctx_fail(s->ctx, DKK_EINVAL,
		    "the header list must include From (RFC 6376 5.4)");
	return DKK_OK;
}

static int
signer_new_run(dkk_ctx *ctx, const struct dkk_sign_opts *opts,
    dkk_signer **sp)
{
	dkk_signer *s;
	int rc;

	if (ctx == NULL || opts == NULL || sp == NULL)
		return DKK_EINVAL;
	if ((rc = signer_check(ctx, opts)) != DKK_OK)
		return rc;
	if ((s = dkk_calloc(1, sizeof(*s))) == NULL)
		return DKK_ENOMEM;
	s->ctx = ctx;
	s->key = opts->key;
	s->kd = opts->keydir;
	s->hcanon = opts->header_canon;
	s->bcanon = opts->body_canon;
	s->oversign = opts->oversign != 0;
	s->body_length = opts->body_length != 0;
	s->expire = opts->expire;
	s->report = opts->report_request != 0;
	header_init(&s->hdr, ctx->limit_header_bytes, ctx->limit_header_fields);
	bodyset_init(&s->body);
	if ((rc = signer_copy(s, opts)) != DKK_OK ||
	    (rc = bodyset_sink(&s->body, s->bcanon, HASH_SHA256, UINT64_MAX,
	    &s->sink)) != DKK_OK) {
		dkk_signer_free(s);
		return rc;
	}
	*sp = s;
	return DKK_OK;
}

void
dkk_signer_free(dkk_signer *s)
{
	if (s == NULL)
		return;
	free(s->domain);
	free(s->selector);
	free(s->identity);
	free(s->atps);
	names_free(s->cands, s->ncands);
	names_free(s->names, s->nnames);
	names_free(s->ifp, s->nifp);
	names_free(s->ovs, s->novs);
	header_clear(&s->hdr);
	bodyset_clear(&s->body);
	free(s);
}

static int
signer_update_run(dkk_signer *s, const char *p, size_t len)
{
	size_t used;
	int rc;

	if (s->err != DKK_OK)
		return s->err;
	if (s->done)
		return DKK_ESTATE;
	/* Nothing to take; p may be NULL then (dkimkit.h), and NULL + 0 is
	 * undefined in C (filter-dkimkit feeds an empty header block so). */
	if (len == 0)
		return DKK_OK;
	if (!s->hdr.done) {
		if ((rc = header_feed(&s->hdr, p, len, &used)) != DKK_OK ||
		    (s->hdr.done && (rc = signer_bind(s)) != DKK_OK))
			return s->err = rc;
		p += used;
		len -= used;
	}
	bodyset_feed(&s->body, p, len);
	return DKK_OK;
}

/* Signers of several messages share a context: each call starts its
 * dkk_ctx_error() afresh, so the sentence read after a failure is this
 * call's. */
int
dkk_signer_update(dkk_signer *s, const void *data, size_t len)
{
	if (s == NULL || (data == NULL && len > 0))
		return DKK_EINVAL;
	ctx_begin(s->ctx);
	return ctx_end(s->ctx, signer_update_run(s, data, len));
}

/* Add name to the list as often as the message has it (plus one when
 * over-signing); at least once when always is set. */
int
sign_hlist_add(struct buf *h, const struct header *hdr, const char *name,
    bool oversign, bool always)
{
	size_t n = hdrsel_count(hdr, name) + (oversign ? 1 : 0);

	if (n == 0 && always)
		n = 1;
	while (n-- > 0) {
		if (h->len > 0)
			buf_addc(h, ':');
		buf_adds(h, name);
	}
	return h->failed ? DKK_ENOMEM : DKK_OK;
}

/* Whether name gets one more listing than it has fields: all do with
 * oversign, From always (a second From added on the way would otherwise
 * leave the signature valid while readers show the added one, RFC 6376
 * 8.15, and no legitimate relay adds one), else those of the oversign
 * list. */
static bool
hlist_over(const dkk_signer *s, const char *name)
{
	return s->oversign || ci_equals(name, strlen(name), "From") ||
	    names_have(s->ovs, s->novs, name);
}

/* The oversign names that the main list did not name: signed too, each
 * instance and one more. */
static int
hlist_rest(const dkk_signer *s, struct buf *h, char *const *names,
    size_t n)
{
	size_t i;
	int rc = DKK_OK;

	for (i = 0; i < s->novs && rc == DKK_OK; i++)
		if (!names_have(names, n, s->ovs[i]) &&
		    !names_have(s->ovs, i, s->ovs[i]))
			rc = sign_hlist_add(h, &s->hdr, s->ovs[i], true, true);
	return rc;
}

static bool
hlist_is_default(const char *name)
{
	size_t i;

	for (i = 0; sign_default_headers[i] != NULL; i++)
		if (ci_equals(name, strlen(name), sign_default_headers[i]))
			return true;
	return false;
}

/* The default fields that are present, each as often as it occurs, then
 * the oversign names outside them. */
static int
hlist_default(const dkk_signer *s, struct buf *h)
{
	const char *name;
	size_t i;
	int rc = DKK_OK;

	for (i = 0; (name = sign_default_headers[i]) != NULL && rc == DKK_OK;
	    i++)
		rc = sign_hlist_add(h, &s->hdr, name, hlist_over(s, name),
		    i == 0);
	for (i = 0; i < s->novs && rc == DKK_OK; i++)
		if (!hlist_is_default(s->ovs[i]) &&
		    !names_have(s->ovs, i, s->ovs[i]))
			rc = sign_hlist_add(h, &s->hdr, s->ovs[i], true, true);
	return rc;
}

/* The h= list: the named fields (absent ones too: listing a field that
 * is not there protects it from being added, unless it is one of
 * if_present), or the default fields that are present; each as often as
 * it occurs, once more when over-signed (hlist_over). */
static int
hlist_build(const dkk_signer *s, struct buf *h)
{
	const char *name;
	size_t i;
	int rc = DKK_OK;

	if (s->names == NULL)
		return hlist_default(s, h);
	for (i = 0; i < s->nnames && rc == DKK_OK; i++) {
		name = s->names[i];
		if (names_have(s->ifp, s->nifp, name) &&
		    !names_have(s->ovs, s->novs, name) &&
		    hdrsel_count(&s->hdr, name) == 0)
			continue;
		if (!names_have(s->names, i, name))
			rc = sign_hlist_add(h, &s->hdr, name, hlist_over(s, name),
			    true);
	}
	return rc == DKK_OK ? hlist_rest(s, h, s->names, s->nnames) : rc;
}

/* Lay out "tag=value;" items, folding before an item that would pass
 * the width.  Long values (h=, bh=, b=) fold inside at safe points. */
static void
lay_fold(struct layout *l)
{
	buf_adds(&l->f, "\r\n\t");
	l->col = 8;
}

/* Start "tag=" on this line if it and the first need of its value fit. */
void
lay_tag(struct layout *l, const char *tag, size_t need)
{
	size_t tl = strlen(tag) + 1;

	if (l->col + 1 + tl + need > SIGN_WIDTH) {
		lay_fold(l);
	} else {
		buf_addc(&l->f, ' ');
		l->col++;
	}
	buf_printf(&l->f, "%s=", tag);
	l->col += tl;
}

/* Append a value; brk says where it may fold: ':' after a colon (h=),
 * 'b' anywhere (base64), 0 nowhere. */
void
lay_value(struct layout *l, const char *v, char brk)
{
	size_t vl = strlen(v), i = 0, run, room;

	while (i < vl) {
		run = vl - i;
		room = l->col + 1 < SIGN_WIDTH ? SIGN_WIDTH - 1 - l->col : 0;
		if (brk != 0 && run > room) {
			run = room;
			if (brk == ':')
				while (run > 0 && v[i + run - 1] != ':')
					run--;
			if (run == 0 && l->col > 8) {
				lay_fold(l);
				continue;
			}
			if (run == 0)	/* one name wider than a line */
				run = strcspn(v + i, ":") + (v[i +
				    strcspn(v + i, ":")] == ':');
			/* no last line of only a few characters */
			if (brk == 'b' && vl - i - run < 8 && run > 16)
				run -= 8 - (vl - i - run);
		}
		buf_add(&l->f, v + i, run);
		l->col += run;
		i += run;
		if (i < vl)
			lay_fold(l);
	}
}

void
lay_item(struct layout *l, const char *tag, const char *value, char brk)
{
	lay_tag(l, tag, brk != 0 ? 8 : strlen(value) + 1);
	lay_value(l, value, brk);
	buf_addc(&l->f, ';');
	l->col++;
}

static char *
qp_encode(const char *s)
{
	struct buf b;

	buf_init(&b);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 0x20 && c < 0x7f && c != ';' && c != '=')
			buf_addc(&b, (char)c);
		else
			buf_printf(&b, "=%02X", c);
	}
	return buf_take(&b);
}

static int
lay_tags(dkk_signer *s, struct layout *l, const char *hlist,
    const char *bh)
{
	const struct body *b = s->body.canon[s->bcanon];
	int64_t now = ctx_now(s->ctx);
	char num[32], *i;

	buf_printf(&l->f, "DKIM-Signature: v=1; a=%s; c=%s/%s;",
	    privkey_type(s->key) == KEY_ED25519 ? "ed25519-sha256" :
	    "rsa-sha256", s->hcanon == DKK_CANON_RELAXED ? "relaxed" :
	    "simple", s->bcanon == DKK_CANON_RELAXED ? "relaxed" : "simple");
	l->col = l->f.len;
	lay_item(l, "d", s->domain, 0);
	lay_item(l, "s", s->selector, 0);
	if (s->identity != NULL) {
		if ((i = qp_encode(s->identity)) == NULL)
			return DKK_ENOMEM;
		lay_item(l, "i", i, 0);
		free(i);
	}
	if (s->atps != NULL) {
		lay_item(l, "atps", s->atps, 0);
		lay_item(l, "atpsh", s->atpsh, 0);
	}
	if (s->body_length) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)b->total);
		lay_item(l, "l", num, 0);
	}
	snprintf(num, sizeof(num), "%lld", (long long)now);
	lay_item(l, "t", num, 0);
	if (s->expire > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)(now + s->expire));
		lay_item(l, "x", num, 0);
	}
	/* RFC 6651 2: ask verifiers for failure reports. */
	if (s->report)
		lay_item(l, "r", "y", 0);
	lay_item(l, "h", hlist, ':');
	lay_item(l, "bh", bh, 0);
	lay_tag(l, "b", 8);
	return l->f.failed ? DKK_ENOMEM : DKK_OK;
}

/* Header hash over the selected fields and the unsigned field itself. */
static int
sign_headers(dkk_signer *s, const char *hlist, const struct buf *field,
    char **b64)
{
	struct hash h;
	struct buf tmp;
	char **names;
	size_t n;
	uint8_t digest[HASH_MAX], *sig;
	size_t siglen;
	int rc;

	if ((rc = names_parse(hlist, &names, &n)) != DKK_OK)
		return rc;
	hash_init(&h, HASH_SHA256);
	buf_init(&tmp);
	rc = hdrsel_hash(&h, &s->hdr, names, n, s->hcanon, NULL, &tmp);
	names_free(names, n);
	tmp.len = 0;
	if (rc == DKK_OK)
		rc = canon_header(&tmp, s->hcanon, field->p, field->len, false);
	if (rc == DKK_OK) {
		hash_update(&h, tmp.p, tmp.len);
		hash_digest(&h, digest);
		rc = privkey_sign(s->key, digest, &sig, &siglen);
	}
	buf_clear(&tmp);
	if (rc != DKK_OK)
		return rc;
	*b64 = b64_encode(sig, siglen);
	free(sig);
	return *b64 != NULL ? DKK_OK : DKK_ENOMEM;
}

/* Swap the CRLFs of the field for the caller's line end. */
char *
sign_eol(struct buf *f, const char *eol)
{
	struct buf out;
	size_t i;

	if (strcmp(eol, "\r\n") == 0)
		return buf_take(f);
	buf_init(&out);
	for (i = 0; i < f->len; i++) {
		if (f->p[i] == '\r' && i + 1 < f->len && f->p[i + 1] == '\n') {
			buf_adds(&out, eol);
			i++;
		} else {
			buf_addc(&out, f->p[i]);
		}
	}
	buf_clear(f);
	return buf_take(&out);
}

static int
signer_finish(dkk_signer *s, struct layout *l, struct buf *hlist)
{
	const struct body_sink *bs;
	char *bh = NULL, *b = NULL;
	int rc;

	if (!s->hdr.done && ((rc = header_end(&s->hdr)) != DKK_OK ||
	    (rc = signer_bind(s)) != DKK_OK))
		return rc;
	if (!s->bound)
		return DKK_ENODOMAIN;
	bodyset_finish(&s->body);
	bs = bodyset_get(&s->body, s->bcanon, s->sink);
	if ((rc = hlist_build(s, hlist)) != DKK_OK)
		return rc;
	if ((bh = b64_encode(bs->digest, hash_size(HASH_SHA256))) == NULL)
		return DKK_ENOMEM;
	rc = lay_tags(s, l, hlist->p, bh);
	if (rc == DKK_OK)
		rc = sign_headers(s, hlist->p, &l->f, &b);
	if (rc == DKK_OK)
		lay_value(l, b, 'b');
	free(bh);
	free(b);
	return rc;
}

int
dkk_signer_final(dkk_signer *s, unsigned flags, char **field)
{
	struct layout l;
	struct buf hlist;
	int rc;

	if (s == NULL || field == NULL || (flags & ~(unsigned)DKK_FIELD_LF))
		return DKK_EINVAL;
	ctx_begin(s->ctx);
	if (s->err != DKK_OK)
		return ctx_end(s->ctx, s->err);
	if (s->done)
		return ctx_end(s->ctx, DKK_ESTATE);
	s->done = true;
	buf_init(&l.f);
	buf_init(&hlist);
	l.col = 0;
	rc = signer_finish(s, &l, &hlist);
	buf_clear(&hlist);
	if (rc == DKK_OK && l.f.failed)
		rc = DKK_ENOMEM;
	*field = rc == DKK_OK ? sign_eol(&l.f, (flags & DKK_FIELD_LF) ? "\n" :
	    "\r\n") : NULL;
	buf_clear(&l.f);
	if (rc == DKK_OK && *field == NULL)
		rc = DKK_ENOMEM;
	return ctx_end(s->ctx, s->err = rc);
}

/* Only the context pointer changes: errors and the clock (t=, x=) are
 * then the new context's.  The key stays shared, and is only read by
 * privkey_sign() (Nettle's RSA takes const keys; its blinding draws on
 * getrandom(), not on a shared generator). */
int
dkk_signer_move(dkk_signer *s, dkk_ctx *to)
{
	if (s == NULL || to == NULL)
		return DKK_EINVAL;
	if (!s->bound || s->key == NULL || privkey_in_token(s->key))
		return DKK_ESTATE;
	s->ctx = to;
	return DKK_OK;
}

int
dkk_signer_new(dkk_ctx *ctx, const struct dkk_sign_opts *opts,
    dkk_signer **sp)
{
	if (ctx == NULL)
		return DKK_EINVAL;
	ctx_begin(ctx);
	return ctx_end(ctx, signer_new_run(ctx, opts, sp));
}
