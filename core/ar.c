/*
 * ar.c: the Authentication-Results field, RFC 8601, with the dkim method
 * (properties header.d, .i, .s, .a, and .b after RFC 6008) and dkim-adsp
 * (RFC 5617 5.3).  One renderer for the command and every adapter.
 */
#include <stdlib.h>
#include <string.h>

#include "verify.h"

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

/* pvalue: a token, or [local-part] "@" domain-name, or a quoted-string. */
static void
put_value(struct buf *b, const char *v)
{
	const char *at = strrchr(v, '@');
	size_t n = strlen(v);

	if (all_chars(v, n, is_token_char) || (at != NULL &&
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

/* The field is built as items; fold() decides where lines break. */
struct ar {
	struct buf out;
	struct buf item;
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

static void
ar_prop(struct ar *ar, const char *name, const char *value, size_t max)
{
	char *v;

	if (value == NULL || *value == '\0')
		return;
	ar_flush(ar);
	buf_printf(&ar->item, "%s=", name);
	if ((v = dkk_strndup(value, strnlen(value, max))) == NULL) {
		ar->item.failed = true;
		return;
	}
	put_value(&ar->item, v);
	free(v);
}

static void
ar_comment(struct ar *ar, const char *text)
{
	ar_flush(ar);
	buf_addc(&ar->item, '(');
	for (; *text != '\0'; text++) {
		if (*text == '(' || *text == ')' || *text == '\\')
			buf_addc(&ar->item, '\\');
		if (!is_ctl((unsigned char)*text))
			buf_addc(&ar->item, *text);
	}
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

/* How much of signature i's b= goes in header.b: AR_BPREFIX characters,
 * or more until no other signature's b= starts the same (RFC 6008 4: the
 * prefix tells the signatures apart). */
static size_t
ar_bprefix(const dkk_verifier *v, size_t i)
{
	const char *b = v->sigs[i].res.b, *o;
	size_t n = AR_BPREFIX, j, k;

	if (b == NULL)
		return 0;
	for (j = 0; j < v->nsigs; j++) {
		if (j == i || (o = v->sigs[j].res.b) == NULL)
			continue;
		for (k = 0; b[k] != '\0' && b[k] == o[k]; k++)
			;
		if (k + 1 > n)
			n = k + 1;
	}
	return n;
}

static void
ar_sig(struct ar *ar, const struct dkk_sig_result *r, size_t bprefix)
{
	struct buf why;

	ar_method(ar, "dkim", dkk_verdict_name(r->verdict));
	ar_prop(ar, "header.d", r->domain, SIZE_MAX);
	ar_prop(ar, "header.i", r->identity, SIZE_MAX);
	ar_prop(ar, "header.s", r->selector, SIZE_MAX);
	ar_prop(ar, "header.a", r->algorithm, SIZE_MAX);
	ar_prop(ar, "header.b", r->b, bprefix);
	buf_init(&why);
	buf_adds(&why, r->detail);
	if (r->dnssec != DKK_DNSSEC_UNKNOWN)
		buf_printf(&why, "%sdnssec=%s", why.len > 0 ? "; " : "",
		    dkk_dnssec_name(r->dnssec));
	if (r->key_bits > 0 && r->verdict == DKK_PASS)
		buf_printf(&why, "; %u-bit key", r->key_bits);
	if (!why.failed && why.len > 0)
		ar_comment(ar, why.p);
	buf_clear(&why);
}

int
dkk_verifier_ar(const dkk_verifier *v, const char *authserv_id,
    const char *eol, int value_only, char **out)
{
	struct ar ar;
	size_t i;
	bool failed;

	if (v == NULL || authserv_id == NULL || out == NULL || !v->final)
		return DKK_EINVAL;
	memset(&ar, 0, sizeof(ar));
	ar.eol = eol;
	ar.first_in_line = true;
	if (!value_only) {
		buf_adds(&ar.item, "Authentication-Results:");
		ar_flush(&ar);
	}
	put_value(&ar.item, authserv_id);
	for (i = 0; i < v->nsigs; i++)
		ar_sig(&ar, &v->sigs[i].res, ar_bprefix(v, i));
	if (v->nsigs == 0)
		ar_method(&ar, "dkim", "none");
	if (v->adsp_on) {
		ar_method(&ar, "dkim-adsp", dkk_adsp_name(v->adsp));
		ar_prop(&ar, "header.from", v->author, SIZE_MAX);
	}
	ar_flush(&ar);
	failed = ar.out.failed || ar.item.failed;
	buf_clear(&ar.item);
	*out = failed ? NULL : buf_take(&ar.out);
	buf_clear(&ar.out);
	return *out != NULL ? DKK_OK : DKK_ENOMEM;
}
