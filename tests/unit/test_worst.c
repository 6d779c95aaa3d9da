/*
 * test_worst.c: attacker-chosen messages under the default limits (RFC
 * 6376 8.4, RFC 4686 4.1.6): what a message costs stays bounded, and the
 * Authentication-Results field it gets stays a valid field.  The work
 * bounds are asserted as process CPU time far above the cost of the
 * linear code (a fraction of a second here) and far below that of the
 * quadratic code they replace (tens of seconds), never as a tight
 * wall-clock figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"

#define CPU_BOUND 8.0	/* seconds of CPU for one worst-case message */

static const char body[] = "\r\nHi.\r\n";

static double
cpu_now(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

/* n copies of line, then the rest; free with free(). */
static char *
repeat(const char *line, size_t n, const char *rest)
{
	size_t ll = strlen(line), rl = strlen(rest), i;
	char *m = malloc(ll * n + rl + 1);

	if (m == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		memcpy(m + i * ll, line, ll);
	memcpy(m + n * ll, rest, rl + 1);
	return m;
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

/* Every line of a folded field at most 998 characters; the number of
 * lines. */
static size_t
lines_within_998(const char *f)
{
	const char *eol;
	size_t lines = 0;

	for (;; f = eol + 2) {
		eol = strstr(f, "\r\n");
		lines++;
		if ((eol != NULL ? (size_t)(eol - f) : strlen(f)) > 998) {
			fprintf(stderr, "line %zu: %.60s...\n", lines, f);
			CU_FAIL("A-R line over 998 characters");
		}
		if (eol == NULL)
			return lines;
	}
}

/* 19,990 DKIM-Signature fields of 180 characters of b= and a From field,
 * 4 MB: each b= used to be compared with every other one for header.b.
 * Now a sort; the field holds 16 entries and a count of the rest. */
static void
worst_identical_signatures(void)
{
	struct unit_fx fx;
	char line[256], *m, *ar = NULL;
	dkk_verifier *v;
	double t0;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	snprintf(line, sizeof(line), "DKIM-Signature: b=%0180d\r\n", 0);
	memset(strchr(line, '=') + 1, 'A', 180);
	m = repeat(line, 19990, "From: <ceo@example.com>\r\n\r\nHi.\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	t0 = cpu_now();
	v = unit_verify(fx.ctx, m, strlen(m), 65536);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(dkk_verifier_count(v), 19990);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", 0,
	    &ar), DKK_OK);
	CU_ASSERT(cpu_now() - t0 < CPU_BOUND);
	CU_ASSERT_EQUAL(count(ar, "dkim=permerror"), 16);
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "(19974 more DKIM-Signature fields, "
	    "unparsable or over the limit, not shown)"));
	CU_ASSERT(strlen(ar) < 16 * 400);
	lines_within_998(ar);
	free(ar);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* Distinct b= values with long common prefixes: each header.b is as long
 * as it must be to tell its signature apart (RFC 6008), in O(n log n). */
static void
worst_distinct_signatures(void)
{
	struct unit_fx fx;
	char line[256], *m, *p, *ar = NULL;
	dkk_verifier *v;
	size_t i, n = 19990, ll;
	double t0;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	snprintf(line, sizeof(line), "DKIM-Signature: b=%0180d\r\n", 0);
	ll = strlen(line);
	m = repeat(line, n, "From: <ceo@example.com>\r\n\r\nHi.\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (i = 0, p = m; i < n; i++, p += ll) {
		memset(p + 18, 'B', 170);
		snprintf(p + 18 + 170, 11, "%010zu", n - i);
		p[ll - 2] = '\r';
	}
	t0 = cpu_now();
	v = unit_verify(fx.ctx, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", 0, &ar),
	    DKK_OK);
	CU_ASSERT(cpu_now() - t0 < CPU_BOUND);
	/* the topmost b= ends in 0000019990, its neighbour in ...19989:
	 * they differ at the 179th character, so 179 are shown */
	snprintf(line, sizeof(line), "header.b=%.170s000001999", m + 18);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p = strstr(ar, line));
	CU_ASSERT(strchr("0123456789", p[strlen(line)]) == NULL);
	lines_within_998(ar);
	free(ar);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* 16 signatures listing 512 names (From twice, 510 of 101 characters)
 * over 19,900 fields that none of them matches: header selection used to scan every field
 * for every name of every signature (13 s); now an index by name. */
static void
worst_header_selection(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char name[128], *names, *m, *fields, *sm, *sig, *all;
	dkk_verifier *v;
	size_t i, slen;
	double t0;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	names = malloc(512 * 102 + 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(names);
	strcpy(names, "from");
	for (i = 2; i < 512; i++) {
		snprintf(name, sizeof(name), ":x-%098zu", i);
		strcat(names, name);
	}
	fields = repeat("X-Filler: some value\r\n", 19900,
	    "From: <joe@example.com>\r\nSubject: hi\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fields);
	CU_ASSERT(asprintf(&m, "%s%s", fields, body) > 0);
	o = unit_opts(fx.rsa, "rsa");
	o.headers = names;
	t0 = cpu_now();
	sm = unit_sign(&fx, &o, m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	/* the signature field sixteen times over the message */
	slen = strstr(sm, "\r\nX-Filler:") + 2 - sm;
	sig = strndup(sm, slen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	all = repeat(sig, 16, m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(all);
	v = unit_verify(fx.ctx, all, strlen(all), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT(cpu_now() - t0 < CPU_BOUND);
	CU_ASSERT_EQUAL(dkk_verifier_count(v), 16);
	for (i = 0; i < dkk_verifier_count(v); i++)
		CU_ASSERT_STRING_EQUAL(unit_result(v, i), "pass/ok");
	dkk_verifier_free(v);
	free(all);
	free(sig);
	free(sm);
	free(m);
	free(fields);
	free(names);
	unit_fx_free(&fx);
}

/* RFC 5322 2.1.1: a valid signature whose i= local part is 1,500 octets
 * (folded in the message) and an unparsable a= folded over 20 lines: no
 * line of the field goes over 998; what is left out is said. */
static void
worst_long_values(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *local, *id, *sm, *bad, *m, *ar = NULL, *one = NULL;
	dkk_verifier *v;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	local = malloc(1501);
	CU_ASSERT_PTR_NOT_NULL_FATAL(local);
	memset(local, 'a', 1500);
	local[1500] = '\0';
	CU_ASSERT(asprintf(&id, "%s@example.com", local) > 0);
	o = unit_opts(fx.rsa, "rsa");
	o.identity = id;
	CU_ASSERT(asprintf(&m, "From: <joe@example.com>\r\n%s", body) > 0);
	sm = unit_sign(&fx, &o, m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	/* a second signature, unparsable: a= of 20 folded lines */
	bad = malloc(20 * 72 + 256);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	strcpy(bad, "DKIM-Signature: v=1; d=example.com; s=rsa; a=");
	for (i = 0; i < 20; i++)
		strcat(bad, "rsa-sha256-rsa-sha256-rsa-sha256-rsa-sha256-rsa-"
		    "sha256-rsa-sha256-x\r\n\t");
	strcat(bad, "z; h=from; bh=; b=\r\n");
	free(m);
	CU_ASSERT(asprintf(&m, "%s%s", bad, sm) > 0);
	v = unit_verify(fx.ctx, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(unit_result(v, 1), "pass/ok");
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", 0,
	    &ar), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example.net", DKK_FIELD_ONE_LINE,
	    &one), DKK_OK);
	CU_ASSERT(lines_within_998(ar) >= 4);
	CU_ASSERT_PTR_NULL(strstr(ar, "header.i="));
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "header.i of 1512 characters left "
	    "out"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ar, "dkim=pass header.d=example.com"));
	CU_ASSERT_PTR_NULL(strstr(one, "header.i="));
	free(one);
	free(ar);
	dkk_verifier_free(v);
	free(m);
	free(bad);
	free(sm);
	free(id);
	free(local);
	unit_fx_free(&fx);
}

/* The same signature twice: header.b is given whole (RFC 6008: no
 * prefix tells them apart), and a value cut to fit keeps its closing
 * quote, so the field still parses (an RSA-2048 b= is 344 characters,
 * quoted for its '/', '+' and '=', more than a value may be). */
/* How many results carry a header.b that is a non-empty prefix of the
 * b= value in the field sm starts with (folding taken out). */
static int
b_prefixes(const dkk_ar *ar, const char *sm)
{
	const char *b = strstr(sm, "; b=");
	char full[1024];
	size_t i, k, n = 0;
	int count = 0;

	if (b == NULL)
		return -1;
	for (b += 4; *b != '\0' && *b != ';' && n < sizeof(full) - 1; b++)
		if (*b != ' ' && *b != '\t' && *b != '\r' && *b != '\n')
			full[n++] = *b;
	full[n] = '\0';
	for (i = 0; i < ar->nresults; i++)
		for (k = 0; k < ar->results[i].nprops; k++) {
			const struct dkk_ar_prop *p = &ar->results[i].props[k];

			if (strcmp(p->ptype, "header") == 0 &&
			    strcmp(p->property, "b") == 0 &&
			    *p->value != '\0' &&
			    strncmp(full, p->value, strlen(p->value)) == 0)
				count++;
		}
	return count;
}

static void
worst_identical_quoted_b(void)
{
	struct unit_fx fx;
	struct dkk_sign_opts o;
	char *m, *sm, *two, *pem = NULL, *ar = NULL;
	const char *end;
	dkk_verifier *v;
	dkk_ar *parsed = NULL;
	dkk_key *k2048;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	CU_ASSERT_EQUAL_FATAL(dkk_key_generate(fx.ctx, "rsa", 2048, &pem,
	    &k2048), DKK_OK);
	free(pem);
	CU_ASSERT(asprintf(&m, "From: <joe@example.com>\r\n%s", body) > 0);
	/* no key record for it: the verdict does not matter, header.b does */
	o = unit_opts(k2048, "big");
	sm = unit_sign(&fx, &o, m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	end = strstr(sm, "\r\nFrom:");
	CU_ASSERT_PTR_NOT_NULL_FATAL(end);
	CU_ASSERT(asprintf(&two, "%.*s\r\n%s", (int)(end - sm), sm, sm) > 0);
	v = unit_verify(fx.ctx, two, strlen(two), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", 0, &ar), DKK_OK);
	lines_within_998(ar);
	CU_ASSERT_EQUAL_FATAL(dkk_ar_parse(strchr(ar, ':') + 1,
	    strlen(strchr(ar, ':') + 1), &parsed), DKK_OK);
	CU_ASSERT(parsed->complete);
	CU_ASSERT_EQUAL(parsed->nresults, 2);
	/* header.b of each reads back as a prefix of the signature's b=
	 * (quoted or not: a cut value without "/" or "=" is a token) */
	CU_ASSERT_EQUAL(b_prefixes(parsed, sm), 2);
	dkk_ar_free(parsed);
	free(ar);
	dkk_verifier_free(v);
	free(two);
	free(sm);
	free(m);
	unit_fx_free(&fx);
}

/* An authserv-id over 255 characters is refused, not written long. */
static void
worst_long_authserv_id(void)
{
	struct unit_fx fx;
	char id[300], *m, *ar = NULL;
	dkk_verifier *v;

	CU_ASSERT_EQUAL_FATAL(unit_fx_init(&fx, ""), 0);
	CU_ASSERT(asprintf(&m, "From: <joe@example.com>\r\n%s", body) > 0);
	v = unit_verify(fx.ctx, m, strlen(m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	memset(id, 'm', 299);
	id[299] = '\0';
	CU_ASSERT_EQUAL(dkk_verifier_ar(v, id, 0, &ar), DKK_EINVAL);
	CU_ASSERT_PTR_NULL(ar);
	id[255] = '\0';
	CU_ASSERT_EQUAL(dkk_verifier_ar(v, id, 0, &ar), DKK_OK);
	free(ar);
	dkk_verifier_free(v);
	free(m);
	unit_fx_free(&fx);
}

/* dkk_ar_unverified: the field a host adds for a message it could not
 * verify, rendered and escaped like the others. */
static void
worst_unverified_field(void)
{
	char *ar = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_ar_unverified("mx.example.net",
	    DKK_TEMPERROR, "cannot hold the message", 0, &ar), DKK_OK);
	CU_ASSERT_STRING_EQUAL(ar, "Authentication-Results: mx.example.net;"
	    "\r\n\tdkim=temperror reason=\"cannot hold the message\"");
	free(ar);
	CU_ASSERT_EQUAL_FATAL(dkk_ar_unverified("mx", DKK_PERMERROR, NULL,
	    DKK_FIELD_ONE_LINE, &ar), DKK_OK);
	CU_ASSERT_STRING_EQUAL(ar, "Authentication-Results: mx; "
	    "dkim=permerror");
	free(ar);
	CU_ASSERT_EQUAL(dkk_ar_unverified("mx", (enum dkk_verdict)99, NULL, DKK_FIELD_ONE_LINE, &ar), DKK_EINVAL);
}

static const struct unit_test worst_tests[] = {
	{ "worst_identical_signatures", worst_identical_signatures },
	{ "worst_distinct_signatures", worst_distinct_signatures },
	{ "worst_header_selection", worst_header_selection },
	{ "worst_long_values", worst_long_values },
	{ "worst_identical_quoted_b", worst_identical_quoted_b },
	{ "worst_long_authserv_id", worst_long_authserv_id },
	{ "worst_unverified_field", worst_unverified_field },
	{ NULL, NULL }
};

void
suite_worst(void)
{
	unit_suite("worst", worst_tests);
}
