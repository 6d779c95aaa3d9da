/*
 * macro.c: macro-strings and domain-specs (RFC 7208 7): their syntax,
 * checked when a record is parsed, and their expansion, done when a term
 * is evaluated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf.h"

/* RFC 7208 7.1: delimiter = "." / "-" / "+" / "," / "/" / "_" / "=". */
static const char delimiters[] = ".-+,/_=";

/* One %{...}: letter, transformers, delimiters. */
struct macro {
	char letter;		/* lowercase */
	bool upper;		/* URL-escape the result (7.3) */
	unsigned digits;	/* 0: all parts */
	bool reverse;
	char delims[sizeof(delimiters)];	/* "" means "." */
	size_t len;		/* of the whole "%{...}" */
};

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
macro_bad(struct buf *why, const char *s, size_t n, const char *what)
{
	if (why != NULL)
		buf_printf(why, "%s in \"%.*s\"", what,
		    (int)(n > 60 ? 60 : n), s);
	return DKK_ESYNTAX;
}

/* RFC 7208 7.1: "%{" macro-letter transformers *delimiter "}" at s.
 * 7.2: c, r and t only in explanations. */
static int
macro_parse(const char *s, size_t n, bool exp_text, struct macro *m,
    struct buf *why)
{
	size_t i = 3, nd = 0;
	bool digits = false;

	memset(m, 0, sizeof(*m));
	if (n < 4 || strchr("slodiphcrtvSLODIPHCRTV", s[2]) == NULL ||
	    s[2] == '\0')
		return macro_bad(why, s, n, "bad macro letter");
	m->letter = (char)lower((unsigned char)s[2]);
	m->upper = s[2] >= 'A' && s[2] <= 'Z';
	if (!exp_text && strchr("crt", m->letter) != NULL)
		return macro_bad(why, s, n, "c, r or t outside exp text");
	for (; i < n && is_digit((unsigned char)s[i]); i++) {
		digits = true;
		if (m->digits < 1000)
			m->digits = m->digits * 10 + (unsigned)(s[i] - '0');
	}
	/* 7.1: "If a DIGIT is specified, the value MUST be nonzero." */
	if (digits && m->digits == 0)
		return macro_bad(why, s, n, "zero parts in a macro");
	if (i < n && (s[i] == 'r' || s[i] == 'R')) {
		m->reverse = true;
		i++;
	}
	for (; i < n && s[i] != '}'; i++) {
		if (strchr(delimiters, s[i]) == NULL || s[i] == '\0')
			return macro_bad(why, s, n, "bad macro delimiter");
		if (strchr(m->delims, s[i]) == NULL)
			m->delims[nd++] = s[i];
	}
	if (i >= n)
		return macro_bad(why, s, n, "unterminated macro");
	m->len = i + 1;
	return DKK_OK;
}

/* RFC 7208 7.1: macro-literal = %x21-24 / %x26-7E; explain-string
 * allows SP as well. */
static bool
is_literal(int c, bool exp_text)
{
	return (c >= 0x21 && c <= 0x7e && c != '%') || (exp_text && c == ' ');
}

static int macro_string(const struct spf_env *env, const char *s,
    size_t n, bool exp_text, struct buf *out, size_t *end, struct buf *why);

int
spf_macro_check(const char *s, size_t n, bool exp_text, struct buf *why)
{
	size_t end;

	return macro_string(NULL, s, n, exp_text, NULL, &end, why);
}

/* RFC 7208 4.6.1: toplabel = ( *alphanum ALPHA *alphanum ) /
 * ( 1*alphanum "-" *( alphanum / "-" ) alphanum ). */
static bool
is_toplabel(const char *s, size_t n)
{
	bool alpha = false, hyphen = false;
	size_t i;

	if (n == 0 || !is_letdig((unsigned char)s[0]) ||
	    !is_letdig((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			hyphen = true;
		else if (!is_letdig((unsigned char)s[i]))
			return false;
		else if (!is_digit((unsigned char)s[i]))
			alpha = true;
	}
	return alpha || hyphen;
}

/* RFC 7208 7.1: domain-spec = macro-string domain-end, domain-end =
 * ( "." toplabel [ "." ] ) / macro-expand. */
int
spf_spec_check(const char *s, size_t n, bool exp_text, struct buf *why)
{
	size_t end, k;
	int rc;

	if (n == 0)
		return macro_bad(why, s, n, "empty domain");
	if ((rc = macro_string(NULL, s, n, exp_text, NULL, &end, why)) !=
	    DKK_OK)
		return rc;
	if (end == n)
		return DKK_OK;
	if (s[n - 1] == '.')
		n--;
	for (k = n; k > end && s[k - 1] != '.'; k--)
		continue;
	if (k == end || !is_toplabel(s + k, n - k))
		return macro_bad(why, s, n, "bad top label");
	return DKK_OK;
}

/* ------------------------------------------------------------------ */
/* Expansion.                                                         */

/* The value of a macro letter (RFC 7208 7.3) into out. */
static int
macro_value(const struct spf_env *env, char letter, struct buf *out)
{
	const char *name;
	int rc;

	switch (letter) {
	case 's':
		return buf_adds(out, env->sender);
	case 'l':
		return buf_adds(out, env->local);
	case 'o':
		return buf_adds(out, env->sender_domain);
	case 'd':
		return buf_adds(out, env->domain);
	case 'i':
		return spf_ip_dotted(env->ip, out);
	case 'p':
		if ((rc = env->ptr_name(env->arg, &name)) != DKK_OK)
			return rc;
		return buf_adds(out, name);
	case 'v':
		return buf_adds(out, env->ip->af == AF_INET ? "in-addr" :
		    "ip6");
	case 'h':
		return buf_adds(out, env->helo);
	case 'c':
		return spf_ip_text(env->ip, out);
	case 'r':
		return buf_adds(out, env->receiver);
	case 't':
		return buf_printf(out, "%lld", (long long)env->now);
	default:
		return DKK_EINVAL;
	}
}

/* RFC 7208 7.3: split on the delimiters, reverse on "r", keep the
 * rightmost digits parts, join with ".". */
static int
macro_transform(const struct macro *m, const char *v, size_t n,
    struct buf *out)
{
	const char *delims = m->delims[0] != '\0' ? m->delims : ".";
	size_t parts = 1, i, first, idx, start, k, want;
	size_t *off;

	for (i = 0; i < n; i++)
		parts += strchr(delims, v[i]) != NULL;
	if ((off = dkk_calloc(parts + 1, sizeof(*off))) == NULL)
		return DKK_ENOMEM;
	for (i = 0, k = 1; i < n; i++)
		if (strchr(delims, v[i]) != NULL)
			off[k++] = i + 1;
	off[parts] = n + 1;	/* one past the end of the last part */
	want = m->digits > 0 && m->digits < parts ? m->digits : parts;
	first = parts - want;
	for (i = first; i < parts; i++) {
		idx = m->reverse ? parts - 1 - i : i;
		start = off[idx];
		buf_add(out, v + start, off[idx + 1] - 1 - start);
		if (i + 1 < parts)
			buf_addc(out, '.');
	}
	free(off);
	return out->failed ? DKK_ENOMEM : DKK_OK;
}

/* RFC 7208 7.3: uppercase letters URL-escape the value: every octet
 * outside RFC 3986's "unreserved" as %XX. */
static int
url_escape(const char *v, size_t n, struct buf *out)
{
	size_t i;
	int c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if (is_letdig(c) || strchr("-._~", c) != NULL)
			buf_addc(out, (char)c);
		else
			buf_printf(out, "%%%02X", (unsigned)c);
	}
	return out->failed ? DKK_ENOMEM : DKK_OK;
}

static int
macro_expand_one(const struct spf_env *env, const struct macro *m,
    struct buf *out)
{
	struct buf v, t;
	int rc;

	buf_init(&v);
	buf_init(&t);
	rc = macro_value(env, m->letter, &v);
	if (rc == DKK_OK)
		rc = macro_transform(m, v.len > 0 ? v.p : "", v.len, &t);
	if (rc == DKK_OK && m->upper)
		rc = url_escape(t.len > 0 ? t.p : "", t.len, out);
	else if (rc == DKK_OK)
		rc = buf_add(out, t.p, t.len);
	buf_clear(&v);
	buf_clear(&t);
	return rc;
}

/* RFC 7208 7.1: "%%" is "%", "%_" a space, "%-" "%20". */
static const char *
macro_escape(int c)
{
	switch (c) {
	case '%':
		return "%";
	case '_':
		return " ";
	case '-':
		return "%20";
	default:
		return NULL;
	}
}

/* Walk a macro-string: check it and, given env, expand it into out.
 * *end is where its last macro-expand ends (domain-end, 7.1). */
static int
macro_string(const struct spf_env *env, const char *s, size_t n,
    bool exp_text, struct buf *out, size_t *end, struct buf *why)
{
	const char *esc;
	struct macro m;
	size_t i = 0, run;
	int rc;

	*end = 0;
	while (i < n) {
		/* A run of literals is copied at once: most domain-specs
		 * are nothing else. */
		for (run = i; run < n && s[run] != '%'; run++)
			if (!is_literal((unsigned char)s[run], exp_text))
				return macro_bad(why, s, n, "bad character");
		if (run > i) {
			if (out != NULL)
				buf_add(out, s + i, run - i);
			i = run;
			continue;
		}
		if (i + 1 < n && s[i + 1] == '{') {
			if ((rc = macro_parse(s + i, n - i, exp_text, &m,
			    why)) != DKK_OK || (env != NULL &&
			    (rc = macro_expand_one(env, &m, out)) != DKK_OK))
				return rc;
			i += m.len;
		} else if (i + 1 < n &&
		    (esc = macro_escape((unsigned char)s[i + 1])) != NULL) {
			if (out != NULL)
				buf_adds(out, esc);
			i += 2;
		} else
			return macro_bad(why, s, n, "'%' not starting a macro");
		*end = i;
	}
	return out != NULL && out->failed ? DKK_ENOMEM : DKK_OK;
}

int
spf_expand(const struct spf_env *env, const char *s, size_t n,
    bool exp_text, struct buf *out, struct buf *why)
{
	size_t end;

	return macro_string(env, s, n, exp_text, out, &end, why);
}

/* A domain-spec expanded into a name to look up, without a final dot;
 * RFC 7208 7.3: over 253 octets, labels go from the left until it
 * fits. */
int
spf_expand_domain(const struct spf_env *env, const struct spf_span *spec,
    struct buf *out, struct buf *why)
{
	const char *dot;
	size_t cut;
	int rc;

	out->len = 0;
	if ((rc = spf_expand(env, spec->p, spec->n, false, out, why)) !=
	    DKK_OK)
		return rc;
	if (out->len > 0 && out->p[out->len - 1] == '.')
		out->len--;
	while (out->len > SPF_MAX_DOMAIN &&
	    (dot = memchr(out->p, '.', out->len)) != NULL) {
		cut = (size_t)(dot - out->p) + 1;
		memmove(out->p, out->p + cut, out->len - cut);
		out->len -= cut;
	}
	if (buf_reserve(out, 1) != DKK_OK)
		return DKK_ENOMEM;
	out->p[out->len] = '\0';
	return DKK_OK;
}
