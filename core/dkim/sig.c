/*
 * sig.c: the DKIM-Signature field, RFC 6376 3.5 and the checks of 6.1.1.
 * Values are case-sensitive unless the RFC says otherwise (3.2); domain
 * names and header field names are not.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

/* The defaults of DKK_LIMIT_SIG_BYTES, _TAGS and _H_NAMES. */
const struct sig_max sig_max_default = { 64 * 1024, 64, 512 };

enum hash_alg
sig_hash(enum sig_alg alg)
{
	return alg == ALG_RSA_SHA1 ? HASH_SHA1 : HASH_SHA256;
}


static bool
has_dot(const char *s, size_t len)
{
	return memchr(s, '.', len) != NULL;
}

/* 1*n DIGIT into an int64 (saturating, for l= which may have 76 digits). */
static bool
parse_digits(const struct tag *t, size_t maxdigits, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (t->vlen == 0 || t->vlen > maxdigits)
		return false;
	for (i = 0; i < t->vlen; i++) {
		int d = t->val[i] - '0';

		if (d < 0 || d > 9)
			return false;
		v = v > (INT64_MAX - d) / 10 ? INT64_MAX : v * 10 + d;
	}
	*out = v;
	return true;
}

static bool
tag_is(const struct tag *t, const char *lit)
{
	return t->vlen == strlen(lit) && memcmp(t->val, lit, t->vlen) == 0;
}

static bool
parse_alg(const struct tag *t, enum sig_alg *alg)
{
	if (tag_is(t, "rsa-sha256"))
		*alg = ALG_RSA_SHA256;
	else if (tag_is(t, "ed25519-sha256"))
		*alg = ALG_ED25519_SHA256;
	else if (tag_is(t, "rsa-sha1"))
		*alg = ALG_RSA_SHA1;
	else
		return false;
	return true;
}

static bool
parse_canon_word(const char *s, size_t n, enum dkk_canon *c)
{
	if (n == 6 && memcmp(s, "simple", 6) == 0)
		*c = DKK_CANON_SIMPLE;
	else if (n == 7 && memcmp(s, "relaxed", 7) == 0)
		*c = DKK_CANON_RELAXED;
	else
		return false;
	return true;
}

/* c=header[/body]; a lone word is the header's, the body's is simple. */
static bool
canon_pair(const char *s, size_t len, enum dkk_canon *hc, enum dkk_canon *bc)
{
	const char *slash = memchr(s, '/', len);
	size_t hl = slash ? (size_t)(slash - s) : len;

	*bc = DKK_CANON_SIMPLE;
	if (!parse_canon_word(s, hl, hc))
		return false;
	return slash == NULL || parse_canon_word(slash + 1, len - hl - 1, bc);
}

static bool
parse_canon(const struct tag *t, enum dkk_canon *hc, enum dkk_canon *bc)
{
	return canon_pair(t->val, t->vlen, hc, bc);
}

int
dkk_canon_parse(const char *s, enum dkk_canon *header, enum dkk_canon *body)
{
	enum dkk_canon h, b;

	if (s == NULL || !canon_pair(s, strlen(s), &h, &b))
		return DKK_EINVAL;
	if (header != NULL)
		*header = h;
	if (body != NULL)
		*body = b;
	return DKK_OK;
}

/* h= is a colon list of field names with FWS around the colons. */
static int
parse_h(struct sig *sg, const struct tag *t, size_t max)
{
	size_t i = 0, start, end, n = 0;

	if ((sg->h = dkk_calloc(t->vlen / 2 + 1, sizeof(char *))) == NULL)
		return DKK_ENOMEM;
	for (;;) {
		while (i < t->vlen && is_fws((unsigned char)t->val[i]))
			i++;
		for (start = i; i < t->vlen && is_ftext((unsigned char)t->val[i]);
		    i++)
			;
		end = i;
		while (i < t->vlen && is_fws((unsigned char)t->val[i]))
			i++;
		if (end == start)
			return DKK_ESYNTAX;
		if (n == max)
			return DKK_ELIMIT;
		if ((sg->h[n] = dkk_strndup(t->val + start, end - start)) == NULL)
			return DKK_ENOMEM;
		sg->nh = ++n;
		if (i == t->vlen)
			return DKK_OK;
		if (t->val[i++] != ':')
			return DKK_ESYNTAX;
	}
}

static bool
h_has_from(const struct sig *sg)
{
	size_t i;

	for (i = 0; i < sg->nh; i++)
		if (ci_equals(sg->h[i], strlen(sg->h[i]), "from"))
			return true;
	return false;
}

/* q= must offer dns/txt; other methods are ignored (3.5). */
static bool
q_has_dnstxt(const struct tag *t)
{
	size_t i = 0, start, end;

	while (i <= t->vlen) {
		start = i;
		while (i < t->vlen && t->val[i] != ':')
			i++;
		end = i++;
		while (start < end && is_fws((unsigned char)t->val[start]))
			start++;
		while (end > start && is_fws((unsigned char)t->val[end - 1]))
			end--;
		if (end - start == 7 && memcmp(t->val + start, "dns/txt", 7) == 0)
			return true;
	}
	return false;
}

static int
decode_b64_tag(const struct tag *t, uint8_t **out, size_t *len)
{
	if (t->vlen == 0)
		return DKK_ESYNTAX;
	return b64_decode(t->val, t->vlen, out, len);
}

/* i= = [local-part] "@" domain-name, dkim-quoted-printable, within d=. */
static int
parse_i(struct sig *sg, const struct tag *t, enum dkk_reason *reason,
    struct buf *why)
{
	const char *at, *dom;
	int rc;

	if ((rc = qp_decode(t->val, t->vlen, &sg->i)) == DKK_ENOMEM)
		return rc;
	if (rc != DKK_OK || (at = strrchr(sg->i, '@')) == NULL)
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "i= is not an address");
	dom = at + 1;
	if (!domain_valid(dom, strlen(dom), false) ||
	    !has_dot(dom, strlen(dom)))
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "i= domain %s is not a domain name", dom);
	if (!domain_within(dom, sg->d))
		return reason_fail(reason, DKK_R_IDENTITY, why,
		    "i= domain %s is not within d=", dom);
	return DKK_OK;
}

/* The field with the value of b= deleted, surrounding whitespace included
 * (3.7), so the header hash can cover the signature field itself. */
static int
make_unsigned(struct sig *sg, const char *field, size_t len,
    const char *value, const struct tag *b)
{
	size_t eq = (size_t)(b->name - field) + b->nlen;
	size_t rest = (size_t)(value - field) + b->vend;

	while (field[eq] != '=')
		eq++;
	eq++;
	sg->unsigned_len = eq + (len - rest);
	if ((sg->unsigned_field = dkk_malloc(sg->unsigned_len + 1)) == NULL)
		return DKK_ENOMEM;
	memcpy(sg->unsigned_field, field, eq);
	memcpy(sg->unsigned_field + eq, field + rest, len - rest);
	sg->unsigned_field[sg->unsigned_len] = '\0';
	return DKK_OK;
}

/* d=, s=, a= and b= as written, for reporting even when the signature
 * turns out to be unusable. */
static int
copy_names(struct sig *sg, const struct tag *tags, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
	} names[] = {
		{ "d", offsetof(struct sig, d) },
		{ "s", offsetof(struct sig, s) },
		{ "a", offsetof(struct sig, a) },
		{ "b", offsetof(struct sig, b64) },
	};
	const struct tag *t;
	char **dst;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((t = taglist_find(tags, n, names[i].name)) == NULL)
			continue;
		dst = (char **)((char *)sg + names[i].off);
		if ((*dst = strip_fws(t->val, t->vlen)) == NULL)
			return DKK_ENOMEM;
	}
	return DKK_OK;
}

static const char *const required[] = { "a", "b", "bh", "d", "h", "s" };

static int
check_required(const struct tag *tags, size_t n, enum dkk_reason *reason,
    struct buf *why)
{
	const struct tag *v = taglist_find(tags, n, "v");
	size_t i;

	/* 6.1.1: the version first, then the required tags. */
	if (v == NULL)
		return reason_fail(reason, DKK_R_MISSING_TAG, why,
		    "v= tag missing");
	if (!tag_is(v, "1"))
		return reason_fail(reason, DKK_R_VERSION, why,
		    "incompatible version v=%.*s", (int)v->vlen, v->val);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (taglist_find(tags, n, required[i]) == NULL)
			return reason_fail(reason, DKK_R_MISSING_TAG, why,
			    "%s= tag missing", required[i]);
	return DKK_OK;
}

static int
parse_times(struct sig *sg, const struct tag *tags, size_t n,
    enum dkk_reason *reason, struct buf *why)
{
	const struct tag *t = taglist_find(tags, n, "t");
	const struct tag *x = taglist_find(tags, n, "x");

	if (t != NULL && !parse_digits(t, 12, &sg->t))
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "t= is not a timestamp");
	if (x != NULL && !parse_digits(x, 12, &sg->x))
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "x= is not a timestamp");
	if (t != NULL && x != NULL && sg->x <= sg->t)
		return reason_fail(reason, DKK_R_TIMESTAMPS, why,
		    "x= is not later than t=");
	return DKK_OK;
}

static int
parse_tags(struct sig *sg, const struct tag *tags, size_t n, size_t max_h,
    enum dkk_reason *reason, struct buf *why)
{
	const struct tag *t;
	int rc;

	t = taglist_find(tags, n, "a");
	if (!parse_alg(t, &sg->alg))
		return reason_fail(reason, DKK_R_ALGORITHM, why,
		    "unknown algorithm a=%s", sg->a);
	t = taglist_find(tags, n, "d");
	if (!domain_valid(t->val, t->vlen, false) || !has_dot(t->val, t->vlen))
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "d=%s is not a domain name", sg->d);
	t = taglist_find(tags, n, "s");
	if (!domain_valid(t->val, t->vlen, true))
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "s=%s is not a selector", sg->s);
	t = taglist_find(tags, n, "b");
	if ((rc = decode_b64_tag(t, &sg->b, &sg->blen)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : reason_fail(reason, DKK_R_BAD_TAG,
		    why, "b= is not base64");
	t = taglist_find(tags, n, "bh");
	if ((rc = decode_b64_tag(t, &sg->bh, &sg->bhlen)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : reason_fail(reason, DKK_R_BAD_TAG,
		    why, "bh= is not base64");
	rc = parse_h(sg, taglist_find(tags, n, "h"), max_h);
	if (rc == DKK_ELIMIT)
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "h= lists more than %zu names (limit)", max_h);
	if (rc != DKK_OK)
		return rc == DKK_ENOMEM ? rc : reason_fail(reason, DKK_R_BAD_TAG,
		    why, "h= is not a list of field names");
	if (!h_has_from(sg))
		return reason_fail(reason, DKK_R_FROM_UNSIGNED, why,
		    "From field not signed");
	return DKK_OK;
}

static int
parse_optional(struct sig *sg, const struct tag *tags, size_t n,
    enum dkk_reason *reason, struct buf *why)
{
	const struct tag *t;
	char *z;
	int rc;

	if ((t = taglist_find(tags, n, "c")) != NULL &&
	    !parse_canon(t, &sg->hcanon, &sg->bcanon))
		return reason_fail(reason, DKK_R_CANON, why,
		    "unknown canonicalization");
	if ((t = taglist_find(tags, n, "q")) != NULL && !q_has_dnstxt(t))
		return reason_fail(reason, DKK_R_QUERY, why,
		    "q= does not offer dns/txt");
	if ((t = taglist_find(tags, n, "l")) != NULL &&
	    !parse_digits(t, 76, &sg->l))
		return reason_fail(reason, DKK_R_BAD_TAG, why,
		    "l= is not a number");
	if ((t = taglist_find(tags, n, "z")) != NULL) {
		if ((rc = qp_decode(t->val, t->vlen, &z)) != DKK_OK)
			return rc == DKK_ENOMEM ? rc : reason_fail(reason,
			    DKK_R_BAD_TAG, why, "z= is malformed");
		free(z);
	}
	if ((rc = parse_times(sg, tags, n, reason, why)) != DKK_OK)
		return rc;
	if ((t = taglist_find(tags, n, "i")) != NULL)
		return parse_i(sg, t, reason, why);
	if ((sg->i = dkk_malloc(strlen(sg->d) + 2)) == NULL)
		return DKK_ENOMEM;
	sg->i[0] = '@';
	strcpy(sg->i + 1, sg->d);
	return DKK_OK;
}

/* Parse a whole "DKIM-Signature: ..." field within the limits of max.
 * DKK_ESYNTAX with *reason and a sentence in why when the signature cannot
 * be evaluated; what was parsed before the fault stays in sg for
 * reporting. */
int
sig_parse_max(struct sig *sg, const char *field, size_t len,
    const struct sig_max *max, enum dkk_reason *reason, struct buf *why)
{
	struct tag tags[SIG_TAGS_CAP];
	const char *colon = memchr(field, ':', len), *value;
	size_t n, vlen;
	int rc;

	memset(sg, 0, sizeof(*sg));
	sg->t = sg->x = sg->l = -1;
	if (len > max->bytes)
		return reason_fail(reason, DKK_R_SYNTAX, why,
		    "signature field of %zu bytes, over the limit of %zu", len,
		    max->bytes);
	if (colon == NULL)
		return reason_fail(reason, DKK_R_SYNTAX, why, "no colon");
	value = colon + 1;
	vlen = len - (size_t)(value - field);
	switch (taglist_parse(value, vlen, tags, max->tags < SIG_TAGS_CAP ?
	    max->tags : SIG_TAGS_CAP, &n)) {
	case TAGLIST_OK:
		break;
	case TAGLIST_DUPLICATE:
		return reason_fail(reason, DKK_R_DUP_TAG, why,
		    "a tag appears twice");
	case TAGLIST_TOO_MANY:
		return reason_fail(reason, DKK_R_SYNTAX, why,
		    "more than %zu tags (limit)", max->tags);
	default:
		return reason_fail(reason, DKK_R_SYNTAX, why,
		    "signature syntax error");
	}
	if ((rc = copy_names(sg, tags, n)) != DKK_OK ||
	    (rc = check_required(tags, n, reason, why)) != DKK_OK ||
	    (rc = parse_tags(sg, tags, n, max->h_names, reason, why)) !=
	    DKK_OK ||
	    (rc = parse_optional(sg, tags, n, reason, why)) != DKK_OK)
		return rc;
	return make_unsigned(sg, field, len, value,
	    taglist_find(tags, n, "b"));
}

/* sig_parse_max() with the default limits. */
int
sig_parse(struct sig *sg, const char *field, size_t len,
    enum dkk_reason *reason, struct buf *why)
{
	return sig_parse_max(sg, field, len, &sig_max_default, reason, why);
}

void
sig_clear(struct sig *sg)
{
	size_t i;

	free(sg->d);
	free(sg->s);
	free(sg->i);
	free(sg->a);
	free(sg->b64);
	free(sg->b);
	free(sg->bh);
	for (i = 0; i < sg->nh; i++)
		free(sg->h[i]);
	free(sg->h);
	free(sg->unsigned_field);
	memset(sg, 0, sizeof(*sg));
}

/*
 * The pieces of the parse above that ARC's ARC-Message-Signature and
 * ARC-Seal share with DKIM-Signature (RFC 8617 4.1.2, 4.1.3: same syntax
 * and semantics for a, b, bh, c, d, h, s, t, x), for core/arc.
 */
bool
sig_tag_alg(const struct tag *t, enum sig_alg *alg)
{
	return parse_alg(t, alg);
}

bool
sig_tag_canon(const struct tag *t, enum dkk_canon *hc, enum dkk_canon *bc)
{
	return parse_canon(t, hc, bc);
}

bool
sig_tag_digits(const struct tag *t, size_t maxdigits, int64_t *out)
{
	return parse_digits(t, maxdigits, out);
}

int
sig_tag_h(struct sig *sg, const struct tag *t, size_t max)
{
	return parse_h(sg, t, max);
}

bool
sig_h_from(const struct sig *sg)
{
	return h_has_from(sg);
}

int
sig_tag_b64(const struct tag *t, uint8_t **out, size_t *len)
{
	return decode_b64_tag(t, out, len);
}

int
sig_tag_names(struct sig *sg, const struct tag *tags, size_t n)
{
	return copy_names(sg, tags, n);
}

int
sig_tag_unsigned(struct sig *sg, const char *field, size_t len,
    const char *value, const struct tag *b)
{
	return make_unsigned(sg, field, len, value, b);
}
