/*
 * fuzz_ar.c: arbitrary strings into the Authentication-Results renderer
 * (dkk_verifier_ar) through a finished verifier made by hand: the
 * authserv-id, the Author Domain, and each signature's d=, s=, i=, a=, b=
 * and detail, in that order, as the input's NUL-separated pieces.  The
 * first byte picks the number of signatures, ADSP and the verdicts.
 * Whatever the strings, the field must stay one header field: no line
 * break but the folding (eol then TAB), no control characters, no line
 * over 998 characters, and it must read back (dkk_ar_claims) with its
 * authserv-id.  The input as a whole also goes to dkk_ar_parse().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/verify.h"

#define FUZZ_SIGS 4

static const char *
next_str(const char **p, const char *end)
{
	const char *s = *p, *nul;

	if (s >= end)
		return NULL;
	nul = memchr(s, '\0', (size_t)(end - s));
	*p = nul != NULL ? nul + 1 : end;
	return s;
}

/* No CR or LF except in eol + TAB, no other control character, and
 * folded, no line over 998 characters (RFC 5322 2.1.1). */
static void
check_field(const char *f, const char *eol)
{
	size_t el = eol != NULL ? strlen(eol) : 0, line = 0;

	while (*f != '\0') {
		if (el > 0 && strncmp(f, eol, el) == 0 && f[el] == '\t') {
			f += el + 1;
			line = 1;
			continue;
		}
		if ((unsigned char)*f < 0x20 || *f == 0x7f)
			abort();
		if (el > 0 && ++line > 998)
			abort();
		f++;
	}
}

/* Does s hold a control character (which the renderer drops)? */
static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Rendered, the field reads back with the same authserv-id. */
static void
render(const dkk_verifier *v, const char *id, unsigned flags)
{
	const char *value, *eol = (flags & DKK_FIELD_ONE_LINE) ? NULL :
	    (flags & DKK_FIELD_LF) ? "\n" : "\r\n";
	char *out;

	if (dkk_verifier_ar(v, id, flags, &out) != DKK_OK)
		return;
	check_field(out, eol);
	value = (flags & DKK_FIELD_VALUE_ONLY) ? out : strchr(out, ':') + 1;
	if (!has_ctl(id) && dkk_ar_claims(value, strlen(value), id) != 1)
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsig sigs[FUZZ_SIGS];
	dkk_ctx ctx;
	dkk_verifier v;
	dkk_ar *parsed;
	enum dkk_adsp adsp_res;
	char *copy;
	const char *p, *end, *id;
	size_t i;

	if (size < 1 || (copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	p = copy;
	end = copy + size - 1;
	memset(&v, 0, sizeof(v));
	memset(&ctx, 0, sizeof(ctx));
	memset(sigs, 0, sizeof(sigs));
	ctx.limit_signatures = 2;	/* the others past two: counted */
	v.ctx = &ctx;
	v.final = true;
	v.sigs = sigs;
	v.nsigs = data[0] % (FUZZ_SIGS + 1);
	v.adsp_on = (data[0] & 8) != 0;
	v.adsp = (enum dkk_adsp)((data[0] >> 4) % 8);
	if ((id = next_str(&p, end)) == NULL)
		id = "";
	v.author = next_str(&p, end);
	if (v.author != NULL && (data[0] & 4) != 0) {
		/* one Author Domain with its result */
		v.authors.domain[0] = (char *)v.author;
		v.authors.n = 1;
		v.authors.malformed = (data[0] & 2) != 0;
		adsp_res = v.adsp;
		v.adsp_res = &adsp_res;
	}
	for (i = 0; i < v.nsigs; i++) {
		struct dkk_sig_result *r = &sigs[i].res;

		r->verdict = (enum dkk_verdict)((data[0] + i) % 7);
		sigs[i].evaluated = ((data[0] >> i) & 1) != 0;
		r->dnssec = (enum dkk_dnssec)(i % 4);
		r->key_bits = i == 0 ? 2048 : 0;
		r->domain = next_str(&p, end);
		r->selector = next_str(&p, end);
		r->identity = next_str(&p, end);
		r->algorithm = next_str(&p, end);
		r->b = next_str(&p, end);
		r->detail = next_str(&p, end);
		if (r->detail == NULL)
			r->detail = "";
	}
	if (dkk_ar_parse(copy, size - 1, &parsed) == DKK_OK)
		dkk_ar_free(parsed);
	render(&v, id, 0);
	render(&v, id, DKK_FIELD_LF | DKK_FIELD_VALUE_ONLY);
	render(&v, id, DKK_FIELD_ONE_LINE);
	free(copy);
	return 0;
}
