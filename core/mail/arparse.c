/*
 * arparse.c: reading an Authentication-Results field, RFC 8601 2.2:
 *
 *   [CFWS] authserv-id [CFWS authres-version] (no-result / 1*resinfo)
 *   resinfo = [CFWS] ";" methodspec [CFWS reasonspec] [CFWS 1*propspec]
 *
 * What a host needs it for is deciding whether a field claims to be its
 * own (RFC 8601 5: such fields from outside are forgeries), and reading a
 * trusted upstream's results.  The first must not be fooled by what a
 * later reader treats as blank: CR and LF anywhere count as folding
 * white space (a CR alone after the colon is an ordinary fold to smtpd
 * and to Dovecot), and comments nest.  A field whose results do not
 * parse still yields its authserv-id.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail.h"

struct lexer {
	const char *p;
	const char *end;
	struct buf tok;		/* the last value read, unquoted */
};

/* CFWS: SP, HTAB, CR, LF and comments (nested, with quoted pairs). */
static void
lex_cfws(struct lexer *lx)
{
	int depth = 0;

	for (; lx->p < lx->end; lx->p++) {
		char c = *lx->p;

		if (depth > 0 && c == '\\' && lx->p + 1 < lx->end)
			lx->p++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_fws((unsigned char)c))
			return;
	}
}

static bool
is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool
is_keyword_char(int c)
{
	return is_letdig(c) || c == '-' || c == '_';
}

/* RFC 2045 value: a token or a quoted-string, into lx->tok. */
static bool
lex_value(struct lexer *lx, bool (*ok)(int))
{
	lx->tok.len = 0;
	if (lx->p < lx->end && *lx->p == '"') {
		for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++) {
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
			if (*lx->p != '\r' && *lx->p != '\n')
				buf_addc(&lx->tok, *lx->p);
		}
		if (lx->p == lx->end)
			return false;
		lx->p++;
		buf_addc(&lx->tok, '\0');
		lx->tok.len--;
		return !lx->tok.failed;
	}
	while (lx->p < lx->end && ok((unsigned char)*lx->p))
		buf_addc(&lx->tok, *lx->p++);
	buf_addc(&lx->tok, '\0');
	return !lx->tok.failed && --lx->tok.len > 0;
}

static bool
lex_char(struct lexer *lx, char c)
{
	lex_cfws(lx);
	if (lx->p == lx->end || *lx->p != c)
		return false;
	lx->p++;
	lex_cfws(lx);
	return true;
}

static char *
lex_take(struct lexer *lx)
{
	return dkk_strndup(lx->tok.p, lx->tok.len);
}

/* pvalue: a value, or [local-part] "@" domain-name, taken whole up to
 * CFWS or ';' (RFC 8601 2.2). */
static bool
lex_pvalue(struct lexer *lx)
{
	if (lx->p < lx->end && *lx->p == '"') {
		if (!lex_value(lx, is_token_char))
			return false;
		if (lx->p == lx->end || *lx->p != '@')
			return true;
		lx->tok.len = strlen(lx->tok.p);	/* "local"@domain */
	} else {
		lx->tok.len = 0;
	}
	while (lx->p < lx->end && !is_fws((unsigned char)*lx->p) &&
	    *lx->p != ';' && *lx->p != '(')
		buf_addc(&lx->tok, *lx->p++);
	buf_addc(&lx->tok, '\0');
	return !lx->tok.failed && --lx->tok.len > 0;
}

static int
ar_grow(void **arr, size_t n, size_t size)
{
	void *p;

	if ((n & (n - 1)) != 0 && n != 0)
		return DKK_OK;	/* room left: capacities are powers of 2 */
	if ((p = dkk_realloc(*arr, (n == 0 ? 1 : 2 * n) * size)) == NULL)
		return DKK_ENOMEM;
	*arr = p;
	return DKK_OK;
}

/* propspec = ptype "." property "=" pvalue */
static int
prop_read(struct lexer *lx, struct dkk_ar_result *r)
{
	struct dkk_ar_prop *pr;
	int rc;

	if ((rc = ar_grow((void **)&r->props, r->nprops, sizeof(*pr))) !=
	    DKK_OK)
		return rc;
	pr = &r->props[r->nprops];
	memset(pr, 0, sizeof(*pr));
	if (!lex_value(lx, is_keyword_char))
		return DKK_ESYNTAX;
	if ((pr->ptype = lex_take(lx)) == NULL)
		return DKK_ENOMEM;
	r->nprops++;
	if (!lex_char(lx, '.') || !lex_value(lx, is_keyword_char))
		return DKK_ESYNTAX;
	if ((pr->property = lex_take(lx)) == NULL)
		return DKK_ENOMEM;
	if (!lex_char(lx, '=') || !lex_pvalue(lx))
		return DKK_ESYNTAX;
	return (pr->value = lex_take(lx)) != NULL ? DKK_OK : DKK_ENOMEM;
}

/* A property read only in part (ptype without property or value) is
 * taken back: what a reader gets is whole. */
static int
parse_prop(struct lexer *lx, struct dkk_ar_result *r)
{
	size_t n = r->nprops;
	int rc = prop_read(lx, r);

	if (rc != DKK_OK && r->nprops > n) {
		struct dkk_ar_prop *pr = &r->props[--r->nprops];

		free(pr->ptype);
		free(pr->property);
		free(pr->value);
		memset(pr, 0, sizeof(*pr));
	}
	return rc;
}

/* methodspec [reasonspec] *propspec, after the ';'. */
static int
resinfo_read(struct lexer *lx, dkk_ar *ar)
{
	struct dkk_ar_result *r;
	int rc;

	if ((rc = ar_grow((void **)&ar->results, ar->nresults,
	    sizeof(*r))) != DKK_OK)
		return rc;
	r = &ar->results[ar->nresults];
	memset(r, 0, sizeof(*r));
	if (!lex_value(lx, is_keyword_char))
		return DKK_ESYNTAX;
	if ((r->method = lex_take(lx)) == NULL)
		return DKK_ENOMEM;
	ar->nresults++;
	if (lex_char(lx, '/') && !lex_value(lx, is_letdig))
		return DKK_ESYNTAX;
	if (!lex_char(lx, '=') || !lex_value(lx, is_keyword_char))
		return DKK_ESYNTAX;
	if ((r->result = lex_take(lx)) == NULL)
		return DKK_ENOMEM;
	lex_cfws(lx);
	while (lx->p < lx->end && *lx->p != ';') {
		const char *mark = lx->p;

		if (!lex_value(lx, is_keyword_char))
			return DKK_ESYNTAX;
		if (r->reason == NULL && r->nprops == 0 &&
		    ci_equals(lx->tok.p, lx->tok.len, "reason") &&
		    lex_char(lx, '=')) {
			if (!lex_value(lx, is_token_char))
				return DKK_ESYNTAX;
			if ((r->reason = lex_take(lx)) == NULL)
				return DKK_ENOMEM;
		} else {
			lx->p = mark;
			if ((rc = parse_prop(lx, r)) != DKK_OK)
				return rc;
		}
		lex_cfws(lx);
	}
	return DKK_OK;
}

/* A resinfo cut before its result is taken back; one cut later keeps its
 * method, result, reason and the properties read whole. */
static int
parse_resinfo(struct lexer *lx, dkk_ar *ar)
{
	size_t n = ar->nresults;
	int rc = resinfo_read(lx, ar);

	if (rc != DKK_OK && ar->nresults > n &&
	    ar->results[n].result == NULL) {
		struct dkk_ar_result *r = &ar->results[--ar->nresults];

		free(r->method);
		free(r->props);
		memset(r, 0, sizeof(*r));
	}
	return rc;
}

static int
parse_results(struct lexer *lx, dkk_ar *ar)
{
	int rc;

	lex_cfws(lx);
	if (lx->p < lx->end && is_letdig((unsigned char)*lx->p)) {
		if (!lex_value(lx, is_letdig))	/* authres-version */
			return DKK_ESYNTAX;
		ar->version = atoi(lx->tok.p);
		lex_cfws(lx);
	}
	if (!lex_char(lx, ';'))
		return DKK_ESYNTAX;
	if (lx->end - lx->p >= 4 && ci_equals(lx->p, 4, "none")) {
		const char *after = lx->p + 4;

		lx->p = after;
		lex_cfws(lx);
		if (lx->p == lx->end)
			return DKK_OK;	/* no-result */
		lx->p = after - 4;
	}
	for (;;) {
		if ((rc = parse_resinfo(lx, ar)) != DKK_OK)
			return rc;
		lex_cfws(lx);
		if (lx->p == lx->end)
			return DKK_OK;
		if (!lex_char(lx, ';'))
			return DKK_ESYNTAX;
	}
}

/* An ARC-Authentication-Results value starts "i=N;" (RFC 8617 4.1.1);
 * an authserv-id is a value, which cannot hold "=", so the two cannot be
 * confused.  true when there was none or it was read; false for an i=
 * that is not an instance (1 to 50, RFC 8617 4.2.1). */
static bool
parse_instance(struct lexer *lx, dkk_ar *ar)
{
	const char *p = lx->p;
	unsigned n = 0;
	size_t digits = 0;

	if (p == lx->end || *p != 'i')
		return true;
	lx->p++;
	if (!lex_char(lx, '=')) {
		lx->p = p;
		return true;
	}
	for (; lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9'; lx->p++)
		if (++digits <= 3)
			n = n * 10 + (unsigned)(*lx->p - '0');
	if (digits == 0 || digits > 3 || n < 1 || n > 50 ||
	    !lex_char(lx, ';'))
		return false;
	ar->instance = n;
	return true;
}

int
dkk_ar_parse(const char *value, size_t len, dkk_ar **out)
{
	struct lexer lx;
	dkk_ar *ar;
	int rc;

	if (value == NULL || out == NULL)
		return DKK_EINVAL;
	*out = NULL;
	if ((ar = dkk_calloc(1, sizeof(*ar))) == NULL)
		return DKK_ENOMEM;
	lx.p = value;
	lx.end = value + len;
	buf_init(&lx.tok);
	lex_cfws(&lx);
	if (!parse_instance(&lx, ar)) {
		rc = DKK_ESYNTAX;
	} else if (!lex_value(&lx, is_token_char)) {
		rc = lx.tok.failed ? DKK_ENOMEM : DKK_ESYNTAX;
	} else if ((ar->authserv_id = lex_take(&lx)) == NULL) {
		rc = DKK_ENOMEM;
	} else {
		rc = parse_results(&lx, ar);
		ar->complete = rc == DKK_OK;
		rc = rc == DKK_ENOMEM ? rc : DKK_OK;
	}
	buf_clear(&lx.tok);
	if (rc != DKK_OK) {
		dkk_ar_free(ar);
		return rc;
	}
	*out = ar;
	return DKK_OK;
}

/* A result word as RFC 7208's result, or -1. */
static int
spf_word(const char *word)
{
	int i;

	if (strcasecmp(word, "hardfail") == 0)
		return DKK_SPF_FAIL;
	for (i = DKK_SPF_NONE; i <= DKK_SPF_PERMERROR; i++)
		if (strcasecmp(word, dkk_spf_result_name(
		    (enum dkk_spf_result)i)) == 0)
			return i;
	return -1;
}

int
dkk_ar_spf(const dkk_ar *ar, struct dkk_spf_facts *facts, const char **word)
{
	const struct dkk_ar_result *r = NULL;
	const char *mailfrom = NULL, *helo = NULL;
	size_t i;
	int res;

	memset(facts, 0, sizeof(*facts));
	if (word != NULL)
		*word = NULL;
	for (i = 0; ar != NULL && i < ar->nresults && r == NULL; i++)
		if (strcasecmp(ar->results[i].method, "spf") == 0 &&
		    ar->results[i].result != NULL)
			r = &ar->results[i];
	if (r == NULL)
		return 0;
	if (word != NULL)
		*word = r->result;
	for (i = 0; i < r->nprops; i++) {
		const struct dkk_ar_prop *p = &r->props[i];

		if (strcasecmp(p->ptype, "smtp") != 0)
			continue;
		if (mailfrom == NULL && strcasecmp(p->property, "mailfrom") == 0)
			mailfrom = p->value;
		else if (helo == NULL && strcasecmp(p->property, "helo") == 0)
			helo = p->value;
	}
	facts->scope = mailfrom != NULL ? DKK_SPF_MAILFROM : DKK_SPF_HELO;
	facts->domain = mailfrom != NULL ? mailfrom : helo;
	if ((res = spf_word(r->result)) < 0)
		return 0;
	facts->result = (enum dkk_spf_result)res;
	return 1;
}

void
dkk_ar_free(dkk_ar *ar)
{
	size_t i, j;

	if (ar == NULL)
		return;
	for (i = 0; i < ar->nresults; i++) {
		struct dkk_ar_result *r = &ar->results[i];

		for (j = 0; j < r->nprops; j++) {
			free(r->props[j].ptype);
			free(r->props[j].property);
			free(r->props[j].value);
		}
		free(r->props);
		free(r->method);
		free(r->result);
		free(r->reason);
	}
	free(ar->results);
	free(ar->authserv_id);
	free(ar);
}

/* An authserv-id names a host or an ADMD (RFC 8601 2.5), so it is
 * compared without regard to case, as host names are: a forger cannot
 * slip past by changing the case of ours. */
int
dkk_ar_claims(const char *value, size_t len, const char *authserv_id)
{
	dkk_ar *ar;
	int rc, ours;

	if (authserv_id == NULL)
		return DKK_EINVAL;
	if ((rc = dkk_ar_parse(value, len, &ar)) != DKK_OK)
		return rc == DKK_ESYNTAX ? 0 : rc;
	ours = ci_equals(ar->authserv_id, strlen(ar->authserv_id),
	    authserv_id);
	dkk_ar_free(ar);
	return ours;
}

/* RFC 8601 5: of the fields a message carries, only those of an
 * authserv-id the reader trusts say anything, and of those the topmost,
 * which the trusted MTA added last (it removes earlier fields claiming
 * its id, so a lower one can only be a forgery that got past).  A field
 * that cannot be parsed cannot be known as trusted and is passed over. */
int
dkk_ar_trusted(const char *const *values, size_t n, const char *authserv_id,
    dkk_ar **out)
{
	dkk_ar *ar;
	size_t i;
	int rc;

	if (out == NULL)
		return DKK_EINVAL;
	*out = NULL;
	if (authserv_id == NULL || (values == NULL && n > 0))
		return DKK_EINVAL;
	for (i = 0; i < n; i++) {
		if (values[i] == NULL)
			return DKK_EINVAL;
		rc = dkk_ar_parse(values[i], strlen(values[i]), &ar);
		if (rc == DKK_ESYNTAX)
			continue;
		if (rc != DKK_OK)
			return rc;
		if (ci_equals(ar->authserv_id, strlen(ar->authserv_id),
		    authserv_id)) {
			*out = ar;
			return DKK_OK;
		}
		dkk_ar_free(ar);
	}
	return DKK_OK;
}
