/*
 * seal.c: adding the next ARC set to a verified message, RFC 8617 5.1:
 * an ARC-Authentication-Results with the verifier's own A-R value, an
 * ARC-Message-Signature made as a DKIM signature (relaxed/relaxed, the
 * AMS's own i=, no v=), and an ARC-Seal over the chain with cv= the
 * chain's result.  Nothing is added when the latest seal already says
 * cv=fail (5.1 step 2) or the chain has its 50 sets (4.2.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"

#define AR_NAME "Authentication-Results:"

struct names {
	char **v;
	size_t n;
	size_t cap;
};

static int
names_push(struct names *nm, const char *p, size_t len)
{
	char **v;

	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? 2 * nm->cap : 32;
		if ((v = dkk_realloc(nm->v, nm->cap * sizeof(*v))) == NULL)
			return DKK_ENOMEM;
		nm->v = v;
	}
	if ((nm->v[nm->n] = dkk_strndup(p, len)) == NULL)
		return DKK_ENOMEM;
	nm->n++;
	return DKK_OK;
}

static void
names_clear(struct names *nm)
{
	while (nm->n > 0)
		free(nm->v[--nm->n]);
	free(nm->v);
}

/* A colon list into names; DKK_EINVAL on an empty name or one with
 * characters a field name cannot have. */
static int
names_split(const char *list, struct names *nm)
{
	const char *p = list;
	size_t len, i;
	int rc;

	for (;;) {
		len = strcspn(p, ":");
		for (i = 0; i < len; i++)
			if (!is_ftext((unsigned char)p[i]) || p[i] == ';')
				return DKK_EINVAL;
		if (len == 0)
			return DKK_EINVAL;
		if ((rc = names_push(nm, p, len)) != DKK_OK)
			return rc;
		if (p[len] == '\0')
			return DKK_OK;
		p += len + 1;
	}
}

/* The AMS h=: the named fields, or the signer's default set and
 * DKIM-Signature, each as often as the message has it; From at least
 * once (RFC 6376 3.5).  ARC-Seal is never listed (RFC 8617 4.1.2). */
static int
ams_names(const dkk_verifier *v, const char *headers, struct buf *list,
    struct names *nm)
{
	struct names want = { NULL, 0, 0 };
	const char *name;
	size_t i;
	int rc = DKK_OK;

	if (headers != NULL)
		rc = names_split(headers, &want);
	for (i = 0; headers == NULL && rc == DKK_OK &&
	    (name = sign_default_headers[i]) != NULL; i++)
		rc = names_push(&want, name, strlen(name));
	if (headers == NULL && rc == DKK_OK)
		rc = names_push(&want, "DKIM-Signature", 14);
	for (i = 0; i < want.n && rc == DKK_OK; i++) {
		name = want.v[i];
		if (ci_equals(name, strlen(name), "ARC-Seal"))
			continue;
		rc = sign_hlist_add(list, &v->hdr, name, false,
		    ci_equals(name, strlen(name), "From"));
	}
	names_clear(&want);
	if (rc == DKK_OK && list->len == 0)
		rc = DKK_EINVAL;
	return rc == DKK_OK ? names_split(list->p, nm) : rc;
}

static int
sign_digest(const dkk_key *key, struct hash *h, char **b64)
{
	uint8_t digest[HASH_MAX], *sig;
	size_t siglen;
	int rc;

	hash_digest(h, digest);
	if ((rc = privkey_sign(key, digest, &sig, &siglen)) != DKK_OK)
		return rc;
	*b64 = b64_encode(sig, siglen);
	free(sig);
	return *b64 != NULL ? DKK_OK : DKK_ENOMEM;
}

/* Canonicalize (relaxed) and hash a field of ours; crlf as in
 * canon_header(). */
static int
hash_ours(struct hash *h, const struct buf *f, bool crlf, struct buf *tmp)
{
	tmp->len = 0;
	if (canon_header(tmp, DKK_CANON_RELAXED, f->p, f->len, crlf) !=
	    DKK_OK)
		return DKK_ENOMEM;
	hash_update(h, tmp->p, tmp->len);
	return DKK_OK;
}

static const char *
alg_name(const dkk_key *key)
{
	return privkey_type(key) == KEY_ED25519 ? "ed25519-sha256" :
	    "rsa-sha256";
}

/* ARC-Authentication-Results: i=N; and the A-R value (RFC 8617 4.1.1). */
static int
make_aar(dkk_verifier *v, const struct dkk_seal_opts *o, unsigned inst,
    struct buf *out)
{
	char *ar;
	int rc;

	if ((rc = dkk_verifier_ar(o->received != NULL ? o->received : v,
	    o->authserv_id, 0, &ar)) != DKK_OK)
		return rc;
	buf_printf(out, "ARC-Authentication-Results: i=%u;%s", inst,
	    ar + strlen(AR_NAME));
	free(ar);
	return out->failed ? DKK_ENOMEM : DKK_OK;
}

static int
make_ams(dkk_verifier *v, const struct dkk_seal_opts *o, unsigned inst,
    struct layout *l)
{
	struct arc *a = v->arc;
	const struct body_sink *bs = bodyset_get(&v->body, DKK_CANON_RELAXED,
	    a->seal_sink);
	struct names nm = { NULL, 0, 0 };
	struct buf list;
	struct hash h;
	char num[32], *bh = NULL, *b = NULL;
	int rc;

	buf_init(&list);
	if ((rc = ams_names(v, o->headers, &list, &nm)) != DKK_OK ||
	    (bh = b64_encode(bs->digest, hash_size(HASH_SHA256))) == NULL)
		goto out;
	buf_printf(&l->f, "ARC-Message-Signature: i=%u; a=%s; "
	    "c=relaxed/relaxed;", inst, alg_name(o->key));
	l->col = l->f.len;
	lay_item(l, "d", o->domain, 0);
	lay_item(l, "s", o->selector, 0);
	snprintf(num, sizeof(num), "%lld", (long long)ctx_now(v->ctx));
	lay_item(l, "t", num, 0);
	lay_item(l, "h", list.p, ':');
	lay_item(l, "bh", bh, 0);
	lay_tag(l, "b", 8);
	hash_init(&h, HASH_SHA256);
	if ((rc = l->f.failed ? DKK_ENOMEM : DKK_OK) == DKK_OK &&
	    (rc = hdrsel_hash(&h, &v->hdr, nm.v, nm.n, DKK_CANON_RELAXED,
	    NULL, &v->tmp)) == DKK_OK &&
	    (rc = hash_ours(&h, &l->f, false, &v->tmp)) == DKK_OK &&
	    (rc = sign_digest(o->key, &h, &b)) == DKK_OK)
		lay_value(l, b, 'b');
out:
	if (rc == DKK_OK && bh == NULL)
		rc = DKK_ENOMEM;
	free(bh);
	free(b);
	buf_clear(&list);
	names_clear(&nm);
	return rc;
}

static const char *
cv_name(enum dkk_arc r)
{
	return r == DKK_ARC_PASS ? "pass" : r == DKK_ARC_FAIL ? "fail" :
	    "none";
}

/* The seal covers the sets before it unless the chain failed (RFC 8617
 * 5.1.2: then only its own set), then its AAR, AMS and itself. */
static int
make_as(dkk_verifier *v, const struct dkk_seal_opts *o, unsigned inst,
    const struct buf *aar, const struct layout *ams, struct layout *l)
{
	struct arc *a = v->arc;
	enum dkk_arc cv = o->received != NULL ? o->received->arc->result :
	    a->result;
	struct hash h;
	char num[32], *b = NULL;
	int rc = DKK_OK;

	buf_printf(&l->f, "ARC-Seal: i=%u; a=%s;", inst, alg_name(o->key));
	l->col = l->f.len;
	snprintf(num, sizeof(num), "%lld", (long long)ctx_now(v->ctx));
	lay_item(l, "t", num, 0);
	lay_item(l, "cv", cv_name(cv), 0);
	lay_item(l, "d", o->domain, 0);
	lay_item(l, "s", o->selector, 0);
	lay_tag(l, "b", 8);
	hash_init(&h, HASH_SHA256);
	if (cv == DKK_ARC_PASS)
		rc = arc_seal_hash(&h, &v->hdr, a, a->n, &v->tmp);
	if (rc == DKK_OK && !l->f.failed &&
	    (rc = hash_ours(&h, aar, true, &v->tmp)) == DKK_OK &&
	    (rc = hash_ours(&h, &ams->f, true, &v->tmp)) == DKK_OK &&
	    (rc = hash_ours(&h, &l->f, false, &v->tmp)) == DKK_OK &&
	    (rc = sign_digest(o->key, &h, &b)) == DKK_OK)
		lay_value(l, b, 'b');
	free(b);
	return rc != DKK_OK ? rc : l->f.failed ? DKK_ENOMEM : DKK_OK;
}

static bool
seal_opts_ok(const struct dkk_seal_opts *o)
{
	return o->key != NULL && o->domain != NULL && o->selector != NULL &&
	    o->authserv_id != NULL &&
	    domain_valid(o->domain, strlen(o->domain), false) &&
	    strchr(o->domain, '.') != NULL &&
	    domain_valid(o->selector, strlen(o->selector), true);
}

/* One ARC field of instance k + 1 in v and in r: both present and
 * the same text. */
static bool
same_field(const dkk_verifier *v, const dkk_verifier *r, unsigned k,
    int kind)
{
	size_t fv, fr, lv, lr;
	const char *tv, *tr;

	if (v->arc->sets == NULL || r->arc->sets == NULL ||
	    (fv = v->arc->sets[k].field[kind]) == SIZE_MAX ||
	    (fr = r->arc->sets[k].field[kind]) == SIZE_MAX)
		return false;
	tv = header_text(&v->hdr, &v->hdr.fields[fv]);
	tr = header_text(&r->hdr, &r->hdr.fields[fr]);
	lv = v->hdr.fields[fv].len;
	lr = r->hdr.fields[fr].len;
	return lv == lr && memcmp(tv, tr, lv) == 0;
}

/* The message as received must carry the same ARC sets as the one
 * sealed: its chain's result becomes cv= of a seal over these sets.
 * When that chain passes, every field of every set must be there, the
 * same, in both. */
static bool
received_ok(const dkk_verifier *v, const dkk_verifier *r)
{
	unsigned k;
	int kind;

	if (r == NULL)
		return true;
	if (!r->final || r->arc == NULL || r->arc->n != v->arc->n ||
	    r->limit.len > 0)
		return false;
	if (r->arc->result != DKK_ARC_PASS)
		return true;
	for (k = 0; k < v->arc->n; k++)
		for (kind = 0; kind < ARC_NKINDS; kind++)
			if (!same_field(v, r, k, kind))
				return false;
	return true;
}

static int
seal_build(dkk_verifier *v, const struct dkk_seal_opts *o, unsigned inst,
    const char *eol, char **fields)
{
	struct buf aar, all;
	struct layout ams, as;
	int rc;

	buf_init(&aar);
	buf_init(&all);
	buf_init(&ams.f);
	buf_init(&as.f);
	if ((rc = make_aar(v, o, inst, &aar)) == DKK_OK &&
	    (rc = make_ams(v, o, inst, &ams)) == DKK_OK &&
	    (rc = make_as(v, o, inst, &aar, &ams, &as)) == DKK_OK) {
		buf_add(&all, as.f.p, as.f.len);
		buf_adds(&all, "\r\n");
		buf_add(&all, ams.f.p, ams.f.len);
		buf_adds(&all, "\r\n");
		buf_add(&all, aar.p, aar.len);
		if (all.failed || (*fields = sign_eol(&all, eol)) == NULL)
			rc = DKK_ENOMEM;
	}
	buf_clear(&aar);
	buf_clear(&all);
	buf_clear(&ams.f);
	buf_clear(&as.f);
	return rc;
}

int
dkk_verifier_seal(dkk_verifier *v, const struct dkk_seal_opts *o,
    unsigned flags, char **fields)
{
	struct arc *a;

	if (v == NULL || o == NULL || fields == NULL || (a = v->arc) == NULL ||
	    !v->final || (flags & ~(unsigned)DKK_FIELD_LF) ||
	    !seal_opts_ok(o) || !received_ok(v, o->received))
		return DKK_EINVAL;
	*fields = NULL;
	/* a header block over the limit was not kept: nothing to sign */
	if (v->limit.len > 0)
		return DKK_ELIMIT;
	if (a->top_cv_fail || a->n >= ARC_MAX_SETS)
		return DKK_OK;
	return seal_build(v, o, a->n + 1, (flags & DKK_FIELD_LF) ? "\n" :
	    "\r\n", fields);
}
