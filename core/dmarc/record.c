/*
 * record.c: the DMARC policy record, RFC 9989 4.7 and 4.8.
 *
 * The record is a tag=value list whose first tag must be v=DMARC1 (case
 * sensitive); anything else is not a DMARC record and is ignored.  After
 * it the RFC is lenient on purpose: "Unknown tags MUST be ignored.
 * Syntax errors in the remainder of the record MUST be discarded in
 * favor of default values (if any) or ignored outright" (4.8).  So a
 * piece without '=', a bad t/psd/adkim/aspf/fo value or a repeated tag
 * (the first one counts: a second is a syntax error in the remainder)
 * never voids the record.  Tag names and the keyword values compare
 * without regard to case (ABNF literals, RFC 5234 2.3); "DMARC1" is the
 * one case-sensitive value (%s in 4.8).  Bad p, sp or np values are the
 * exception 4.10.1 makes: they decide whether the record is used at all
 * (dmarc_record_usable).  Whitespace around '=' and ';' is allowed
 * (dmarc-sep, equals), and before the first tag as in the DKIM
 * tag-value syntax the record follows (4.7).
 */
#include <string.h>

#include "dmarc.h"

struct piece {
	const char *name;
	size_t nlen;
	const char *val;
	size_t vlen;
};

/* WSP, and CR/LF of folded TXT text seen in the wild. */
static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* The next "name=value" up to ';' from *pos; false at the end. */
static bool
next_piece(const char *s, size_t len, size_t *pos, struct piece *pc)
{
	const char *eq;
	size_t start = *pos, end;

	if (start >= len)
		return false;
	for (end = start; end < len && s[end] != ';'; end++)
		;
	*pos = end + 1;
	pc->name = s + start;
	pc->nlen = end - start;
	pc->val = NULL;
	pc->vlen = 0;
	if ((eq = memchr(pc->name, '=', pc->nlen)) != NULL) {
		pc->val = eq + 1;
		pc->vlen = (size_t)(s + end - pc->val);
		pc->nlen = (size_t)(eq - pc->name);
		trim(&pc->val, &pc->vlen);
	}
	trim(&pc->name, &pc->nlen);
	return true;
}

static bool
word_is(const char *s, size_t n, const char *lit)
{
	return ci_equals(s, n, lit);
}

/* dmarc-request: "none" / "quarantine" / "reject" (ABNF strings are
 * case-insensitive, RFC 5234 2.3). */
static int
request(const char *s, size_t n)
{
	if (word_is(s, n, "none"))
		return DKK_DMARC_POLICY_NONE;
	if (word_is(s, n, "quarantine"))
		return DKK_DMARC_QUARANTINE;
	if (word_is(s, n, "reject"))
		return DKK_DMARC_REJECT;
	return -1;
}

/* A URI (RFC 3986 3.1): scheme ":" and something after it, no WSP; the
 * obsolete "!size" suffix is allowed and ignored (4.8). */
static bool
uri_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return false;
	for (i = 1; i < n && s[i] != ':'; i++)
		if (!((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && strchr("+-.", s[i]) ==
		    NULL)
			return false;
	if (i + 1 >= n)
		return false;
	for (; i < n; i++)
		if (is_space((unsigned char)s[i]) || s[i] == '<' || s[i] == '>')
			return false;
	return true;
}

/* dmarc-urilist: true when at least one element is a valid URI. */
static bool
urilist(const char *s, size_t n)
{
	const char *e;
	size_t k;
	bool any = false;

	while (n > 0) {
		e = memchr(s, ',', n);
		k = e != NULL ? (size_t)(e - s) : n;
		{
			const char *u = s;
			size_t ul = k;

			trim(&u, &ul);
			any = any || uri_valid(u, ul);
		}
		s += k;
		n -= k;
		if (n > 0) {
			s++;
			n--;
		}
	}
	return any;
}

/* dmarc-fo: a colon list of 0, 1, d, s, each at most once, 0 and 1 not
 * both; anything else leaves the default (0). */
static unsigned
failure_options(const char *s, size_t n)
{
	unsigned fo = 0, bit;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 2 == 1) {
			if (s[i] != ':')
				return DMARC_FO_0;
			continue;
		}
		switch (s[i] | 0x20) {
		case '0': bit = DMARC_FO_0; break;
		case '1': bit = DMARC_FO_1; break;
		case 'd': bit = DMARC_FO_D; break;
		case 's': bit = DMARC_FO_S; break;
		default: return DMARC_FO_0;
		}
		if (fo & bit)
			return DMARC_FO_0;
		fo |= bit;
	}
	if (n == 0 || n % 2 == 0 || (fo & (DMARC_FO_0 | DMARC_FO_1)) ==
	    (DMARC_FO_0 | DMARC_FO_1))
		return DMARC_FO_0;
	return fo;
}

/* A decimal number in [lo, hi], or -1. */
static long
number(const char *s, size_t n, long lo, long hi)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

static void
set_policy(int *slot, bool *bad, const char *v, size_t n)
{
	*slot = request(v, n);
	if (*slot < 0)
		*bad = true;
}

/* One tag after v=; seen has a bit per known tag, so a repeat is
 * ignored. */
static void
record_tag(struct dmarc_rec *r, const struct piece *pc, bool rfc7489,
    unsigned *seen)
{
	static const char *const names[] = { "p", "sp", "np", "psd", "t",
	    "adkim", "aspf", "rua", "ruf", "fo", "pct", "ri", "rf", NULL };
	const char *v = pc->val;
	size_t i, n = pc->vlen;
	long num;

	/* Tag names as ABNF literals (RFC 7489 6.4 spells each tag out):
	 * in any case. */
	for (i = 0; names[i] != NULL; i++)
		if (ci_equals(pc->name, pc->nlen, names[i]))
			break;
	if (names[i] == NULL || (*seen & (1u << i)) || v == NULL)
		return;
	*seen |= 1u << i;
	if (rfc7489 ? (i == 2 || i == 3 || i == 4) : i >= 10)
		return;	/* not a tag of this mode: unknown, ignored */
	switch (i) {
	case 0: set_policy(&r->p, &r->bad_policy, v, n); break;
	case 1: set_policy(&r->sp, &r->bad_policy, v, n); break;
	case 2: set_policy(&r->np, &r->bad_policy, v, n); break;
	case 3:
		if (n == 1 && strchr("ynu", v[0] | 0x20) != NULL)
			r->psd = (char)(v[0] | 0x20);
		break;
	case 4: r->testing = n == 1 && (v[0] | 0x20) == 'y'; break;
	case 5: r->adkim_strict = n == 1 && (v[0] | 0x20) == 's'; break;
	case 6: r->aspf_strict = n == 1 && (v[0] | 0x20) == 's'; break;
	case 7: r->rua = urilist(v, n); break;
	case 8:
		r->ruf = urilist(v, n);
		r->ruf_list = v;
		r->ruf_len = n;
		break;
	case 9: r->fo = failure_options(v, n); break;
	case 10:
		if ((num = number(v, n, 0, 100)) >= 0)
			r->pct = (int)num;
		break;
	case 11:
		if ((num = number(v, n, 0, 2147483647L)) >= 0)
			r->ri = num;
		break;
	default:
		break;	/* rf: only afrf exists; nothing to keep */
	}
}

int
dmarc_record_parse(const char *txt, size_t len, bool rfc7489,
    struct dmarc_rec *r)
{
	struct piece pc;
	size_t pos = 0;
	unsigned seen = 0;

	memset(r, 0, sizeof(*r));
	r->p = r->sp = r->np = -1;
	r->psd = 'u';
	r->fo = DMARC_FO_0;
	r->pct = 100;
	r->ri = 86400;
	/* 4.7: v must be the first tag and its value exactly "DMARC1"
	 * (4.8: %s"DMARC1"; the tag name "v", as ABNF, in any case). */
	if (!next_piece(txt, len, &pos, &pc) || pc.val == NULL ||
	    pc.nlen != 1 || (pc.name[0] | 0x20) != 'v' || pc.vlen != 6 ||
	    memcmp(pc.val, "DMARC1", 6) != 0)
		return 0;
	while (next_piece(txt, len, &pos, &pc))
		if (pc.nlen > 0)
			record_tag(r, &pc, rfc7489, &seen);
	return 1;
}

bool
dmarc_record_usable(struct dmarc_rec *r, bool rfc7489)
{
	bool bad = r->bad_policy || (rfc7489 && r->p < 0);

	if (!bad) {
		if (r->p < 0)
			r->p = DKK_DMARC_POLICY_NONE;	/* 4.7, p */
		return true;
	}
	if (!r->rua)
		return false;
	/* 4.10.1: "act as if a record containing p=none was retrieved". */
	r->p = DKK_DMARC_POLICY_NONE;
	r->sp = r->np = -1;
	r->bad_policy = false;
	return true;
}
