/*
 * ar.c: the Authentication-Results field, RFC 8601, with the dkim method
 * (properties header.d, .i, .s, .a, and .b after RFC 6008) and dkim-adsp
 * (RFC 5617 5.3), dkim-atps (RFC 6541).  One renderer for the command
 * and every adapter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"
#include "arc/arc.h"

#define AR_WIDTH 78
#define AR_BPREFIX 8

/* RFC 2045 token: printable ASCII except tspecials. */
static bool
is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* Controls (RFC 5234 CTL: 0x00-0x1F and DEL) never reach the field: a
 * CR or LF would end it, the others are not allowed in any of its parts. */
static bool
is_ctl(int c)
{
	return c < 0x20 || c == 0x7f;
}

static bool
all_chars(const char *s, size_t n, bool (*ok)(int))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ok((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* value (RFC 2045: a token or a quoted-string), or with addr a pvalue,
 * which may also be [local-part] "@" domain-name unquoted. */
static void
put_value(struct buf *b, const char *v, bool addr)
{
	const char *at = strrchr(v, '@');
	size_t n = strlen(v);

	if (all_chars(v, n, is_token_char) || (addr && at != NULL &&
	    (at == v || all_chars(v, (size_t)(at - v), is_atext)) &&
	    domain_valid(at + 1, strlen(at + 1), true))) {
		buf_add(b, v, n);
		return;
	}
	buf_addc(b, '"');
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			buf_addc(b, '\\');
		if (!is_ctl((unsigned char)*v))
			buf_addc(b, *v);
	}
	buf_addc(b, '"');
}

/* The field is built as items; ar_flush() decides where lines break.  A
 * folded line holds at most AR_LINE_MAX characters (RFC 5322 2.1.1): an
 * item is at most AR_ITEM_MAX, as nothing else shares a line with an item
 * longer than AR_WIDTH, and a value or comment longer than AR_VALUE_MAX
 * is shortened or left out (those carry no verdict). */
#define AR_LINE_MAX 998
#define AR_VALUE_MAX 256
#define AR_COMMENT_MAX 200	/* characters of text, before escaping */
#define AR_ID_MAX 255

struct ar {
	struct buf out;
	struct buf item;
	struct buf note;	/* what was left out, for the comment */
	const char *eol;
	size_t col;
	bool first_in_line;
	bool own_line;		/* the pending item starts a new line */
};

static void
ar_flush(struct ar *ar)
{
	bool newline = ar->own_line;

	ar->own_line = false;
	if (ar->item.len == 0)
		return;
	if (ar->eol != NULL && !ar->first_in_line &&
	    (newline || ar->col + 1 + ar->item.len > AR_WIDTH)) {
		buf_adds(&ar->out, ar->eol);
		buf_addc(&ar->out, '\t');
		ar->col = 8;
	} else if (!ar->first_in_line) {
		buf_addc(&ar->out, ' ');
		ar->col++;
	}
	buf_add(&ar->out, ar->item.p, ar->item.len);
	ar->col += ar->item.len;
	ar->first_in_line = false;
	ar->item.len = 0;
}

/* name=value (a pvalue for properties, a value for reason); a value
 * longer than AR_VALUE_MAX once rendered is noted and
 * left out, or, when cut is set, shortened until it fits (header.b: a
 * prefix is what it holds anyway, RFC 6008).  The value is shortened
 * before it is quoted, so a quoted one keeps its closing quote. */
static void
ar_prop(struct ar *ar, const char *name, const char *value, size_t max,
    bool cut)
{
	struct buf v;
	char *s;
	size_t n;
	bool nomem = false;

	if (value == NULL || *value == '\0')
		return;
	buf_init(&v);
	for (n = strnlen(value, max);; n -= v.len - AR_VALUE_MAX) {
		v.len = 0;
		if ((s = dkk_strndup(value, n)) == NULL) {
			nomem = true;
			break;
		}
		put_value(&v, s, strcmp(name, "reason") != 0);
		free(s);
		if (v.failed || !cut || v.len <= AR_VALUE_MAX ||
		    v.len - AR_VALUE_MAX >= n)
			break;
	}
	if (nomem || v.failed) {
		ar->item.failed = true;
	} else if (v.len <= AR_VALUE_MAX) {
		ar_flush(ar);
		buf_printf(&ar->item, "%s=", name);
		buf_add(&ar->item, v.p, v.len);
	} else {
		buf_printf(&ar->note, "%s%s of %zu characters left out",
		    ar->note.len > 0 ? "; " : "", name, strlen(value));
	}
	buf_clear(&v);
}

/* Where a text may be cut: not inside a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static void
ar_comment(struct ar *ar, const char *text)
{
	size_t n = strlen(text);

	if (n == 0)
		return;
	if (n > AR_COMMENT_MAX)
		n = utf8_cut(text, AR_COMMENT_MAX);
	ar_flush(ar);
	buf_addc(&ar->item, '(');
	for (; n > 0; text++, n--) {
		if (*text == '(' || *text == ')' || *text == '\\')
			buf_addc(&ar->item, '\\');
		if (!is_ctl((unsigned char)*text))
			buf_addc(&ar->item, *text);
	}
	if (text[0] != '\0')
		buf_adds(&ar->item, "...");
	buf_addc(&ar->item, ')');
}

/* Each resinfo starts on its own line; the ';' ends the item before. */
static void
ar_method(struct ar *ar, const char *method, const char *result)
{
	buf_addc(&ar->item, ';');
	ar_flush(ar);
	buf_printf(&ar->item, "%s=%s", method, result);
	ar->own_line = true;
}

struct bref {
	const char *b;
	size_t sig;
};

static int
bref_cmp(const void *x, const void *y)
{
	return strcmp(((const struct bref *)x)->b, ((const struct bref *)y)->b);
}

static size_t
common_prefix(const char *a, const char *b)
{
	size_t k;

	for (k = 0; a[k] != '\0' && a[k] == b[k]; k++)
		;
	return k;
}

/* How much of each signature's b= goes in header.b: AR_BPREFIX
 * characters, or more until no other signature's b= starts the same
 * (RFC 6008 4: the prefix tells the signatures apart), all of it when
 * another is identical.  Sorted, a value shares its longest prefix with a
 * neighbour: O(n log n) comparisons rather than one per pair, as a
 * message chooses n (RFC 6376 8.4). */
static int
ar_bprefixes(const dkk_verifier *v, size_t *len)
{
	struct bref *s;
	size_t i, lo, hi, n = 0, k;

	if ((s = dkk_calloc(v->nsigs + 1, sizeof(*s))) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < v->nsigs; i++) {
		len[i] = 0;
		if (v->sigs[i].res.b != NULL) {
			s[n].b = v->sigs[i].res.b;
			s[n++].sig = i;
		}
	}
	qsort(s, n, sizeof(*s), bref_cmp);
	for (lo = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && strcmp(s[hi].b, s[lo].b) == 0; hi++)
			;
		k = hi - lo > 1 ? SIZE_MAX - 1 : AR_BPREFIX - 1;
		if (lo > 0 && common_prefix(s[lo].b, s[lo - 1].b) > k)
			k = common_prefix(s[lo].b, s[lo - 1].b);
		if (hi < n && common_prefix(s[lo].b, s[hi].b) > k)
			k = common_prefix(s[lo].b, s[hi].b);
		for (i = lo; i < hi; i++)
			len[s[i].sig] = k + 1;
	}
	free(s);
	return DKK_OK;
}

static void
ar_sig(struct ar *ar, const struct dkk_sig_result *r, size_t bprefix)
{
	struct buf why;

	ar->note.len = 0;
	ar_method(ar, "dkim", dkk_verdict_name(r->verdict));
	ar_prop(ar, "header.d", r->domain, SIZE_MAX, false);
	ar_prop(ar, "header.i", r->identity, SIZE_MAX, false);
	ar_prop(ar, "header.s", r->selector, SIZE_MAX, false);
	ar_prop(ar, "header.a", r->algorithm, SIZE_MAX, false);
	ar_prop(ar, "header.b", r->b, bprefix, true);
	buf_init(&why);
	buf_adds(&why, r->detail);
	if (r->dnssec != DKK_DNSSEC_UNKNOWN)
		buf_printf(&why, "%sdnssec=%s", why.len > 0 ? "; " : "",
		    dkk_dnssec_name(r->dnssec));
	if (r->key_bits > 0 && r->verdict == DKK_PASS)
		buf_printf(&why, "; %u-bit key", r->key_bits);
	if (!why.failed && why.len > 0)
		ar_comment(ar, why.p);
	if (!ar->note.failed && ar->note.len > 0)
		ar_comment(ar, ar->note.p);
	buf_clear(&why);
}

/* Which signatures get an entry: every one evaluated (at most
 * DKK_LIMIT_SIGNATURES), and as many of the others (unparsable, or past
 * the limit); the rest are counted in one comment, so the field stays
 * bounded whatever the message holds (RFC 6376 8.4). */
static void
ar_sigs(struct ar *ar, const dkk_verifier *v, const size_t *bprefix)
{
	size_t i, others = 0, hidden = 0;

	for (i = 0; i < v->nsigs; i++) {
		if (!v->sigs[i].evaluated &&
		    others++ >= v->ctx->limit_signatures) {
			hidden++;
			continue;
		}
		ar_sig(ar, &v->sigs[i].res, bprefix[i]);
	}
	if (hidden > 0) {
		ar->note.len = 0;
		buf_printf(&ar->note, "%zu more DKIM-Signature fields, "
		    "unparsable or over the limit, not shown", hidden);
		if (!ar->note.failed)
			ar_comment(ar, ar->note.p);
	}
}

/* A local policy override (RFC 8617 7.2) as the resinfo's reason (RFC
 * 8601 2.2 allows one with any result): the report's reason type
 * "local_policy" first, for programs, then who vouched.  The result word
 * stays, as the evaluation's outcome; policy.dmarc, the disposition,
 * says none. */
static void
ar_override(struct ar *ar, const char *sealer, unsigned instance)
{
	struct buf why;

	buf_init(&why);
	buf_printf(&why, "local_policy: arc=pass, trusted sealer %s of "
	    "instance %u recorded a pass", sealer, instance);
	if (!why.failed)
		ar_prop(ar, "reason", why.p, SIZE_MAX, false);
	else
		ar->item.failed = true;
	buf_clear(&why);
}

/* The arc_forwarded override, said as ar_override() says a trusted
 * sealer's: the report's reason type first, then the relay. */
static void
ar_forwarded(struct ar *ar, const struct dkk_dmarc_result *d)
{
	struct buf why;

	buf_init(&why);
	buf_printf(&why, "%s: arc=pass, forwarded, latest sealer %s of "
	    "instance %u, no trusted sealer vouched: reject lowered to "
	    "quarantine", d->override_reason, d->override_sealer,
	    d->override_instance);
	if (!why.failed)
		ar_prop(ar, "reason", why.p, SIZE_MAX, false);
	else
		ar->item.failed = true;
	buf_clear(&why);
}

/* dkim-adsp for each Author Domain (RFC 5617 5.3), and one permerror
 * when the From field has no author or is malformed. */
static void
ar_adsp(struct ar *ar, const dkk_verifier *v)
{
	size_t i;

	for (i = 0; v->adsp_res != NULL && i < v->authors.n; i++) {
		ar_method(ar, "dkim-adsp", dkk_adsp_name(v->adsp_res[i]));
		if (v->adsp_ovr.overridden &&
		    (v->adsp_res[i] == DKK_ADSP_FAIL ||
		    v->adsp_res[i] == DKK_ADSP_DISCARD))
			ar_override(ar, v->adsp_ovr.sealer,
			    v->adsp_ovr.instance);
		ar_prop(ar, "header.from", v->authors.domain[i], SIZE_MAX,
		    false);
	}
	if (v->adsp_res != NULL && !v->authors.malformed)
		return;
	ar_method(ar, "dkim-adsp", "permerror");
	if (v->limit.len > 0)
		ar_comment(ar, "header not evaluated");
	else if (v->authors.n == AUTHORS_MAX)
		ar_comment(ar, "From field with too many author domains");
	else
		ar_comment(ar, v->authors.n > 0 ? "From field malformed" :
		    "no author address in From");
}

/*
 * dkim-atps (RFC 6541) for each Author Domain, with the one property
 * RFC 6541 registers for it, header.from; the authorized signer as a
 * comment.  A message without an author gets one dkim-atps=none.
 *
 * header.from holds the Author Domain, not what RFC 6541 8.2's
 * registration describes ("contents of the [MAIL] From: header field,
 * with comments removed"): the result is per Author Domain (one entry
 * each when From names several, and the whole field would not tell
 * them apart); RFC 8601 2.3 lets a header property carry the part of
 * the field the method used, and ATPS uses exactly the domain (4.3);
 * and the whole field (display name, angle brackets, several
 * addresses) would have to become a quoted-string readers of
 * header.from (DMARC's, ADSP's) do not expect there.
 */
static void
ar_atps(struct ar *ar, const dkk_verifier *v)
{
	const char *author, *signer;
	enum dkk_atps r;
	size_t k;

	for (k = 0; k < atps_authors(v); k++) {
		r = atps_author(v, k, &author, &signer);
		ar_method(ar, "dkim-atps", dkk_atps_result_name(r));
		ar_prop(ar, "header.from", author, SIZE_MAX, false);
		if (signer != NULL) {
			ar->note.len = 0;
			buf_printf(&ar->note, "authorized signer %s", signer);
			if (!ar->note.failed)
				ar_comment(ar, ar->note.p);
		}
	}
	if (atps_authors(v) == 0) {
		ar_method(ar, "dkim-atps", "none");
		ar_comment(ar, "no author domain");
	}
}

/* spf (RFC 8601 2.7.2) when the host gave an SPF result: the identity
 * checked is smtp.mailfrom or smtp.helo. */
static void
ar_spf(struct ar *ar, const dkk_verifier *v)
{
	if (v->spf.domain == NULL)
		return;
	ar_method(ar, "spf", dkk_spf_result_name(v->spf.result) != NULL ?
	    dkk_spf_result_name(v->spf.result) : "permerror");
	ar_prop(ar, v->spf.scope == DKK_SPF_HELO ? "smtp.helo" :
	    "smtp.mailfrom", v->spf.domain, SIZE_MAX, true);
}

/* dmarc (RFC 9989) for each Author Domain: header.from; when a record was
 * found, polrec.p (its p=) and polrec.domain (where it was, when not the
 * Author Domain), the properties RFC 9989 11.2 registers (not in RFC
 * 7489 mode), and
 * policy.dmarc, the disposition (what RFC 7489-era readers look for); a
 * comment gives the policy that applied (p, sp or np).  When no domain
 * could be evaluated, one dmarc=permerror. */
static void
ar_dmarc(struct ar *ar, const dkk_verifier *v)
{
	struct dkk_dmarc_result d;
	const char *problem = dmarc_from_problem(v);
	bool found;
	size_t i;

	for (i = 0; dmarc_author_result(v, i, &d); i++) {
		found = d.result == DKK_DMARC_PASS ||
		    d.result == DKK_DMARC_FAIL;
		ar_method(ar, "dmarc", dkk_dmarc_result_name(d.result));
		if (found) {
			ar->note.len = 0;
			buf_printf(&ar->note, "policy %s of %s",
			    dkk_dmarc_policy_name(d.policy), d.policy_domain);
			if (!ar->note.failed)
				ar_comment(ar, ar->note.p);
		} else if (d.result != DKK_DMARC_NONE) {
			ar_prop(ar, "reason", d.reason, SIZE_MAX, false);
		}
		if (d.override_forwarded)
			ar_forwarded(ar, &d);
		else if (d.overridden)
			ar_override(ar, d.override_sealer,
			    d.override_instance);
		ar_prop(ar, "header.from", d.domain, SIZE_MAX, false);
		if (!found)
			continue;
		/* RFC 7489 has no polrec, and its readers may refuse the
		 * whole field for it (opendmarc 1.4.2 does). */
		if (!v->dmarc_7489)
			ar_prop(ar, "polrec.p", dkk_dmarc_policy_name(
			    dmarc_author_ptag(v, i)), SIZE_MAX, false);
		if (!v->dmarc_7489 && strcmp(d.policy_domain, d.domain) != 0)
			ar_prop(ar, "polrec.domain", d.policy_domain,
			    SIZE_MAX, false);
		ar_prop(ar, "policy.dmarc", dkk_dmarc_policy_name(
		    d.disposition), SIZE_MAX, false);
	}
	if (problem == NULL)
		return;
	ar_method(ar, "dmarc", "permerror");
	ar_prop(ar, "reason", problem, SIZE_MAX, false);
}

/* arc (RFC 8617 7.2): the chain's result, header.oldest-pass when it
 * passes, smtp.remote-ip when the host gave it, and a failure's reason
 * as a comment. */
static void
ar_arc(struct ar *ar, const dkk_verifier *v)
{
	struct dkk_arc_result r;
	char num[16];

	if (dkk_verifier_arc(v, &r) != DKK_OK)
		return;
	ar_method(ar, "arc", dkk_arc_name(r.result));
	if (r.result == DKK_ARC_PASS) {
		snprintf(num, sizeof(num), "%u", r.oldest_pass);
		ar_prop(ar, "header.oldest-pass", num, SIZE_MAX, false);
	}
	if (v->arc->remote_ip != NULL)
		ar_prop(ar, "smtp.remote-ip", v->arc->remote_ip, SIZE_MAX,
		    false);
	if (r.result == DKK_ARC_FAIL)
		ar_comment(ar, r.reason);
}

/* The field's start: the name (unless value_only) and the authserv-id. */
static int
ar_open(struct ar *ar, const char *authserv_id, unsigned flags)
{
	memset(ar, 0, sizeof(*ar));
	ar->eol = (flags & DKK_FIELD_ONE_LINE) ? NULL :
	    (flags & DKK_FIELD_LF) ? "\n" : "\r\n";
	ar->first_in_line = true;
	if (!(flags & DKK_FIELD_VALUE_ONLY)) {
		buf_adds(&ar->item, "Authentication-Results:");
		ar_flush(ar);
	}
	put_value(&ar->item, authserv_id, false);
	return ar->item.len <= AR_ID_MAX + 2 ? DKK_OK : DKK_EINVAL;
}

static int
ar_close(struct ar *ar, char **out)
{
	bool failed;

	ar_flush(ar);
	failed = ar->out.failed || ar->item.failed || ar->note.failed;
	buf_clear(&ar->item);
	buf_clear(&ar->note);
	*out = failed ? NULL : buf_take(&ar->out);
	buf_clear(&ar->out);
	return *out != NULL ? DKK_OK : DKK_ENOMEM;
}

int
dkk_verifier_ar(const dkk_verifier *v, const char *authserv_id,
    unsigned flags, char **out)
{
	struct ar ar;
	size_t *bprefix;
	int rc;

	if (v == NULL || authserv_id == NULL || out == NULL || !v->final)
		return DKK_EINVAL;
	*out = NULL;
	if ((bprefix = dkk_calloc(v->nsigs + 1, sizeof(*bprefix))) == NULL)
		return DKK_ENOMEM;
	if ((rc = ar_bprefixes(v, bprefix)) == DKK_OK &&
	    (rc = ar_open(&ar, authserv_id, flags)) == DKK_OK) {
		ar_sigs(&ar, v, bprefix);
		if (v->limit.len > 0) {
			ar_method(&ar, "dkim", "permerror");
			ar_prop(&ar, "reason", v->limit.p, SIZE_MAX, false);
		} else if (v->nsigs == 0) {
			ar_method(&ar, "dkim", "none");
		}
		if (v->adsp_on)
			ar_adsp(&ar, v);
		if (v->atps != NULL)
			ar_atps(&ar, v);
		ar_spf(&ar, v);
		if (v->dmarc_on)
			ar_dmarc(&ar, v);
		if (v->arc != NULL)
			ar_arc(&ar, v);
		rc = ar_close(&ar, out);
	} else if (rc == DKK_EINVAL) {
		ar_close(&ar, out);
		free(*out);
		*out = NULL;
	}
	free(bprefix);
	return rc;
}

int
dkk_ar_unverified(const char *authserv_id, enum dkk_verdict verdict,
    const char *why, unsigned flags, char **out)
{
	struct ar ar;
	int rc;

	if (authserv_id == NULL || out == NULL ||
	    dkk_verdict_name(verdict) == NULL)
		return DKK_EINVAL;
	*out = NULL;
	rc = ar_open(&ar, authserv_id, flags);
	ar_method(&ar, "dkim", dkk_verdict_name(verdict));
	if (why != NULL)
		ar_prop(&ar, "reason", why, SIZE_MAX, false);
	if (rc == DKK_OK)
		return ar_close(&ar, out);
	ar_close(&ar, out);
	free(*out);
	*out = NULL;
	return rc;
}

int
dkk_verifier_ar_one(const dkk_verifier *v, size_t i, const char *authserv_id,
    unsigned flags, char **out)
{
	struct ar ar;
	int rc;

	if (v == NULL || authserv_id == NULL || out == NULL || !v->final ||
	    (i != SIZE_MAX && i >= v->nsigs) || (i == SIZE_MAX && !v->adsp_on))
		return DKK_EINVAL;
	*out = NULL;
	rc = ar_open(&ar, authserv_id, flags);
	if (i == SIZE_MAX)
		ar_adsp(&ar, v);
	else
		ar_sig(&ar, &v->sigs[i].res, 8);
	if (rc == DKK_OK)
		return ar_close(&ar, out);
	ar_close(&ar, out);
	free(*out);
	*out = NULL;
	return rc;
}
