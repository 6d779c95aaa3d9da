/*
 * set.c: the ARC sets of a message (RFC 8617 4.1): every
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal field,
 * by instance.  What RFC 8617 5.2 steps 1 and 2 need: a field whose
 * instance cannot be read, an instance outside 1..50, a kind twice in one
 * instance or missing from one, each makes the chain fail here, before
 * any key is looked up.
 */
#include <stdlib.h>
#include <string.h>

#include "arc.h"

static const char *const kind_names[ARC_NKINDS] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"
};

const char *
arc_kind_name(enum arc_kind kind)
{
	return kind_names[kind];
}

/* i= of an ARC field: 1*DIGIT (RFC 8617 4.2.1); leading zeros are
 * digits like any other, but more than 3 is never an instance. */
static bool
instance_digits(const char *p, size_t n, unsigned *inst)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*inst = v;
	return true;
}

/* An AAR value starts "[FWS] i=N [FWS] ;" (RFC 8617 4.1.1).  DKK_OK
 * with *inst (possibly out of range, for the caller to judge), or
 * DKK_ESYNTAX with *inst 0. */
int
arc_instance(const char *value, size_t len, unsigned *inst)
{
	size_t i = 0, d;
	unsigned n;

	*inst = 0;
	while (i < len && is_fws((unsigned char)value[i]))
		i++;
	if (i == len || value[i++] != 'i')
		return DKK_ESYNTAX;
	while (i < len && is_fws((unsigned char)value[i]))
		i++;
	if (i == len || value[i++] != '=')
		return DKK_ESYNTAX;
	while (i < len && is_fws((unsigned char)value[i]))
		i++;
	for (d = i; d < len && value[d] >= '0' && value[d] <= '9'; d++)
		;
	if (!instance_digits(value + i, d - i, &n))
		return DKK_ESYNTAX;
	while (d < len && is_fws((unsigned char)value[d]))
		d++;
	if (d == len || value[d] != ';')
		return DKK_ESYNTAX;
	*inst = n;
	return DKK_OK;
}

static int
why_fail(struct buf *why, const char *fmt, const char *arg)
{
	why->len = 0;
	buf_printf(why, fmt, arg);
	return why->failed ? DKK_ENOMEM : DKK_ESYNTAX;
}

static int
need_tags(const struct tag *tags, size_t n, const char *const *names,
    struct buf *why)
{
	for (; *names != NULL; names++)
		if (taglist_find(tags, n, *names) == NULL)
			return why_fail(why, "%s= tag missing", *names);
	return DKK_OK;
}

/* a=, d=, s= and b=, common to both signatures (RFC 8617 4.1.2, 4.1.3:
 * as in RFC 6376 3.5). */
static int
parse_common(struct sig *sg, const struct tag *tags, size_t n,
    struct buf *why)
{
	const struct tag *t;
	int rc;

	if ((rc = sig_tag_names(sg, tags, n)) != DKK_OK)
		return rc;
	if (!sig_tag_alg(taglist_find(tags, n, "a"), &sg->alg))
		return why_fail(why, "unknown algorithm a=%s", sg->a);
	t = taglist_find(tags, n, "d");
	if (!domain_valid(t->val, t->vlen, false) ||
	    memchr(t->val, '.', t->vlen) == NULL)
		return why_fail(why, "d=%s is not a domain name", sg->d);
	t = taglist_find(tags, n, "s");
	if (!domain_valid(t->val, t->vlen, true))
		return why_fail(why, "s=%s is not a selector", sg->s);
	if ((rc = sig_tag_b64(taglist_find(tags, n, "b"), &sg->b,
	    &sg->blen)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : why_fail(why, "%s",
		    "b= is not base64");
	if ((t = taglist_find(tags, n, "t")) != NULL &&
	    !sig_tag_digits(t, 12, &sg->t))
		return why_fail(why, "%s", "t= is not a timestamp");
	return DKK_OK;
}

static bool
h_names(const struct sig *sg, const char *name)
{
	size_t i;

	for (i = 0; i < sg->nh; i++)
		if (ci_equals(sg->h[i], strlen(sg->h[i]), name))
			return true;
	return false;
}

/* The AMS: a DKIM-Signature without v= and with i= the instance
 * (RFC 8617 4.1.2), so bh=, h=, c=, l= and x= as there; h= must list
 * From (RFC 6376 3.5) and must not list ARC-Seal (RFC 8617 4.1.2). */
static int
parse_ams(struct sig *sg, const struct tag *tags, size_t n,
    const struct sig_max *max, struct buf *why)
{
	static const char *const req[] = { "a", "b", "bh", "d", "h", "s",
	    NULL };
	const struct tag *t;
	int rc;

	if ((rc = need_tags(tags, n, req, why)) != DKK_OK ||
	    (rc = parse_common(sg, tags, n, why)) != DKK_OK)
		return rc;
	if ((rc = sig_tag_b64(taglist_find(tags, n, "bh"), &sg->bh,
	    &sg->bhlen)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : why_fail(why, "%s",
		    "bh= is not base64");
	rc = sig_tag_h(sg, taglist_find(tags, n, "h"), max->h_names);
	if (rc == DKK_ENOMEM)
		return rc;
	if (rc != DKK_OK)
		return why_fail(why, "%s", "h= is not a list of field names "
		    "within the limit");
	if (!sig_h_from(sg))
		return why_fail(why, "%s", "From field not signed");
	if (h_names(sg, "ARC-Seal"))
		return why_fail(why, "%s", "h= lists ARC-Seal "
		    "(RFC 8617 4.1.2)");
	if ((t = taglist_find(tags, n, "c")) != NULL &&
	    !sig_tag_canon(t, &sg->hcanon, &sg->bcanon))
		return why_fail(why, "%s", "unknown canonicalization");
	if ((t = taglist_find(tags, n, "l")) != NULL &&
	    !sig_tag_digits(t, 76, &sg->l))
		return why_fail(why, "%s", "l= is not a number");
	if ((t = taglist_find(tags, n, "x")) != NULL &&
	    !sig_tag_digits(t, 12, &sg->x))
		return why_fail(why, "%s", "x= is not a timestamp");
	return DKK_OK;
}

/* The AS: a, b, cv, d, i, s, t; no h= (RFC 8617 4.1.3: its presence is a
 * failure) and relaxed header canonicalization always (5.1.1). */
static int
parse_as(struct sig *sg, const struct tag *tags, size_t n, enum arc_cv *cv,
    struct buf *why)
{
	static const char *const req[] = { "a", "b", "cv", "d", "s", NULL };
	const struct tag *t;
	int rc;

	if (taglist_find(tags, n, "h") != NULL)
		return why_fail(why, "%s", "h= in an ARC-Seal "
		    "(RFC 8617 4.1.3)");
	if ((rc = need_tags(tags, n, req, why)) != DKK_OK ||
	    (rc = parse_common(sg, tags, n, why)) != DKK_OK)
		return rc;
	t = taglist_find(tags, n, "cv");
	if (t->vlen == 4 && memcmp(t->val, "none", 4) == 0)
		*cv = ARC_CV_NONE;
	else if (t->vlen == 4 && memcmp(t->val, "pass", 4) == 0)
		*cv = ARC_CV_PASS;
	else if (t->vlen == 4 && memcmp(t->val, "fail", 4) == 0)
		*cv = ARC_CV_FAIL;
	else
		return why_fail(why, "%s", "cv= is not none, pass or fail");
	sg->hcanon = DKK_CANON_RELAXED;
	return DKK_OK;
}

static int
parse_tags(struct sig *sg, enum arc_kind kind, const char *field,
    size_t len, const struct sig_max *max, unsigned *inst,
    enum arc_cv *cv, struct buf *why)
{
	struct tag tags[SIG_TAGS_CAP];
	const char *value = memchr(field, ':', len) + 1;
	const struct tag *t;
	size_t n;
	int rc;

	if (taglist_parse(value, len - (size_t)(value - field), tags,
	    max->tags < SIG_TAGS_CAP ? max->tags : SIG_TAGS_CAP, &n) !=
	    TAGLIST_OK)
		return why_fail(why, "%s", "tag list malformed, with a tag "
		    "twice or over the tag limit");
	if ((t = taglist_find(tags, n, "i")) == NULL)
		return why_fail(why, "%s", "i= tag missing");
	if (!instance_digits(t->val, t->vlen, inst))
		return why_fail(why, "%s", "i= is not an instance number");
	if ((rc = kind == ARC_AMS ? parse_ams(sg, tags, n, max, why) :
	    parse_as(sg, tags, n, cv, why)) != DKK_OK)
		return rc;
	return sig_tag_unsigned(sg, field, len, value,
	    taglist_find(tags, n, "b"));
}

/* Parse an AMS or AS field ("Name: value").  *inst is its i= as soon as
 * that could be read (0 before), even when a later tag is at fault;
 * DKK_ESYNTAX with a sentence in why. */
int
arc_sig_parse(struct sig *sg, enum arc_kind kind, const char *field,
    size_t len, const struct sig_max *max, unsigned *inst,
    enum arc_cv *cv, struct buf *why)
{
	memset(sg, 0, sizeof(*sg));
	sg->t = sg->x = sg->l = -1;
	*inst = 0;
	if (len > max->bytes) {
		why->len = 0;
		buf_printf(why, "field of %zu bytes, over the limit of %zu",
		    len, max->bytes);
		return why->failed ? DKK_ENOMEM : DKK_ESYNTAX;
	}
	if (memchr(field, ':', len) == NULL)
		return why_fail(why, "%s", "no colon");
	return parse_tags(sg, kind, field, len, max, inst, cv, why);
}

static int
kind_of(const struct header *h, const struct field *f)
{
	int k;

	for (k = 0; k < ARC_NKINDS; k++)
		if (header_is(h, f, kind_names[k]))
			return k;
	return -1;
}

/* Read one field's instance and, for AMS and AS, its signature into
 * its set.  A fault of the structure fails the chain. */
static int
collect_one(dkk_verifier *v, struct arc *a, enum arc_kind kind, size_t idx)
{
	const struct field *f = &v->hdr.fields[idx];
	const char *value;
	struct sig sg;
	struct buf why;
	enum arc_cv cv = ARC_CV_NONE;
	unsigned inst = 0;
	size_t vlen;
	int rc;

	buf_init(&why);
	if (kind == ARC_AAR) {
		value = header_value(&v->hdr, f, &vlen);
		rc = arc_instance(value, vlen, &inst);
		memset(&sg, 0, sizeof(sg));
		if (rc != DKK_OK)
			buf_adds(&why, "no i= instance first");
	} else {
		rc = arc_sig_parse(&sg, kind, header_text(&v->hdr, f), f->len,
		    &v->ctx->limit_sig, &inst, &cv, &why);
	}
	if (rc == DKK_ENOMEM || why.failed) {
		sig_clear(&sg);
		buf_clear(&why);
		return DKK_ENOMEM;
	}
	if (inst == 0 || inst > ARC_MAX_SETS) {
		if (inst == 0 && why.len > 0)
			arc_fail(a, 0, "%s without a readable instance: %s",
			    kind_names[kind], why.p);
		else
			arc_fail(a, 0, "%s with i=%u, outside 1 to %d "
			    "(RFC 8617 4.2.1)", kind_names[kind], inst,
			    ARC_MAX_SETS);
	} else if (a->sets[inst - 1].field[kind] != SIZE_MAX) {
		arc_fail(a, inst, "two %s fields with i=%u",
		    kind_names[kind], inst);
	} else {
		struct arc_set *s = &a->sets[inst - 1];

		s->field[kind] = idx;
		if (inst > a->n)
			a->n = inst;
		if (kind == ARC_AMS) {
			s->ams = sg;
			s->ams_parsed = rc == DKK_OK;
			s->ams_why = why;
			return DKK_OK;
		}
		if (kind == ARC_AS) {
			s->as = sg;
			s->cv = cv;
			s->as_parsed = rc == DKK_OK;
			s->as_why = why;
			return DKK_OK;
		}
	}
	sig_clear(&sg);
	buf_clear(&why);
	return DKK_OK;
}

/* Every instance from 1 to the highest has all three fields (RFC 8617
 * 5.2 step 2). */
static void
check_complete(struct arc *a)
{
	unsigned k;
	int kind;

	for (k = 1; k <= a->n && !a->decided; k++)
		for (kind = 0; kind < ARC_NKINDS && !a->decided; kind++)
			if (a->sets[k - 1].field[kind] == SIZE_MAX)
				arc_fail(a, k, "instance %u has no %s", k,
				    kind_names[kind]);
}

/* RFC 8617 5.2 steps 1 and 2.  More ARC fields than 50 sets can hold is
 * a failure without reading them (the limit of 4.2.1 bounds the work). */
int
arc_collect(dkk_verifier *v, struct arc *a)
{
	size_t i, count = 0;
	unsigned k;
	int kind, rc;

	for (i = 0; i < v->hdr.count; i++)
		if (kind_of(&v->hdr, &v->hdr.fields[i]) >= 0)
			count++;
	if (count == 0)
		return DKK_OK;
	if (count > ARC_NKINDS * ARC_MAX_SETS) {
		arc_fail(a, 0, "%zu ARC fields, more than %d sets can hold",
		    count, ARC_MAX_SETS);
		return DKK_OK;
	}
	if ((a->sets = dkk_calloc(ARC_MAX_SETS, sizeof(*a->sets))) == NULL)
		return DKK_ENOMEM;
	for (k = 0; k < ARC_MAX_SETS; k++)
		for (kind = 0; kind < ARC_NKINDS; kind++)
			a->sets[k].field[kind] = SIZE_MAX;
	for (i = 0; i < v->hdr.count; i++) {
		if ((kind = kind_of(&v->hdr, &v->hdr.fields[i])) < 0)
			continue;
		if ((rc = collect_one(v, a, (enum arc_kind)kind, i)) !=
		    DKK_OK)
			return rc;
	}
	if (!a->decided)
		check_complete(a);
	return DKK_OK;
}
