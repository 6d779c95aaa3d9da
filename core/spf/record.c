/*
 * record.c: an SPF record cut into terms (RFC 7208 4.5, 4.6.1, 5, 6).
 * The whole record is checked before any term is evaluated: a syntax
 * error anywhere is permerror (4.6), even after a matching term.
 */
#include <stdlib.h>
#include <string.h>

#include "spf/spf.h"

/* What a mechanism takes after its name (RFC 7208 5). */
enum spf_arg {
	ARG_NONE,		/* all */
	ARG_SPEC,		/* include, exists: ":" domain-spec */
	ARG_SPEC_OPT,		/* ptr: [":" domain-spec] */
	ARG_SPEC_CIDR,		/* a, mx: [":" domain-spec] [dual-cidr] */
	ARG_IP4,		/* ":" ip4-network [ip4-cidr-length] */
	ARG_IP6			/* ":" ip6-network [ip6-cidr-length] */
};

#define MECH(name, mech, arg) { name, sizeof(name) - 1, mech, arg }

static const struct {
	const char *name;
	size_t len;
	enum spf_mech mech;
	enum spf_arg arg;
} mechs[] = {
	MECH("all", SPF_ALL, ARG_NONE),
	MECH("include", SPF_INCLUDE, ARG_SPEC),
	MECH("a", SPF_A, ARG_SPEC_CIDR),
	MECH("mx", SPF_MX, ARG_SPEC_CIDR),
	MECH("ptr", SPF_PTR, ARG_SPEC_OPT),
	MECH("ip4", SPF_IP4, ARG_IP4),
	MECH("ip6", SPF_IP6, ARG_IP6),
	MECH("exists", SPF_EXISTS, ARG_SPEC),
};

#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* RFC 7208 4.5: "v=spf1" exactly, then a space or the end. */
bool
spf_is_record(const char *txt, size_t len)
{
	return len >= 6 && ci_equal(txt, 6, "v=spf1", 6) &&
	    (len == 6 || txt[6] == ' ');
}

static int
bad_term(struct buf *why, const char *p, size_t n, const char *what)
{
	buf_printf(why, "%s in \"%.*s\"", what, (int)(n > 60 ? 60 : n), p);
	return DKK_ESYNTAX;
}

/* RFC 7208 4.6.1: ip4-cidr-length "/" ("0" / %x31-39 0*1DIGIT) and
 * ip6-cidr-length "/" ("0" / %x31-39 0*2DIGIT): no leading zero. */
static bool
cidr_value(const char *p, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3 || (p[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* The length of a trailing "/DIGITS" of p[0..n) (0: none). */
static size_t
cidr_tail(const char *p, size_t n)
{
	size_t k = n;

	while (k > 0 && is_digit((unsigned char)p[k - 1]))
		k--;
	return k < n && k > 0 && p[k - 1] == '/' ? n - k + 1 : 0;
}

/* RFC 7208 5.6: dual-cidr-length = [ ip4-cidr-length ]
 * [ "/" ip6-cidr-length ], taken off the end of p[0..*n). */
static bool
dual_cidr(const char *p, size_t *n, struct spf_term *t)
{
	size_t k;

	if ((k = cidr_tail(p, *n)) > 0 && *n > k && p[*n - k - 1] == '/') {
		if (!cidr_value(p + *n - k + 1, k - 1, 128, &t->cidr6))
			return false;
		*n -= k + 1;
	}
	if ((k = cidr_tail(p, *n)) > 0) {
		if (!cidr_value(p + *n - k + 1, k - 1, 32, &t->cidr4))
			return false;
		*n -= k;
	}
	return true;
}

/* ip4: and ip6: (RFC 7208 5.6): an address and one optional length. */
static int
parse_ip(struct spf_term *t, const char *p, size_t n, int af,
    struct buf *why)
{
	unsigned max = af == AF_INET ? 32 : 128;
	unsigned *cidr = af == AF_INET ? &t->cidr4 : &t->cidr6;
	size_t k = cidr_tail(p, n);

	if (k > 0) {
		if (!cidr_value(p + n - k + 1, k - 1, max, cidr))
			return bad_term(why, t->text.p, t->text.n,
			    "bad prefix length");
		n -= k;
	}
	if (spf_ip_parse(p, n, &t->net) != DKK_OK || t->net.af != af ||
	    (af == AF_INET6 && memchr(p, ':', n) == NULL))
		return bad_term(why, t->text.p, t->text.n, "bad address");
	return DKK_OK;
}

/* The argument of a mechanism, p[0..n) after its name. */
static int
parse_arg(struct spf_term *t, enum spf_arg arg, const char *p, size_t n,
    struct buf *why)
{
	bool colon = n > 0 && p[0] == ':';

	if (arg == ARG_NONE)
		return n == 0 ? DKK_OK : bad_term(why, t->text.p, t->text.n,
		    "unexpected argument");
	if (arg == ARG_IP4 || arg == ARG_IP6)
		return colon ? parse_ip(t, p + 1, n - 1, arg == ARG_IP4 ?
		    AF_INET : AF_INET6, why) : bad_term(why, t->text.p,
		    t->text.n, "missing address");
	if (arg == ARG_SPEC_CIDR && !dual_cidr(p, &n, t))
		return bad_term(why, t->text.p, t->text.n,
		    "bad prefix length");
	if (!colon)
		return n == 0 && arg != ARG_SPEC ? DKK_OK :
		    bad_term(why, t->text.p, t->text.n, "missing domain");
	t->spec.p = p + 1;
	t->spec.n = n - 1;
	return spf_spec_check(t->spec.p, t->spec.n, false, why);
}

/* directive = [ qualifier ] mechanism (RFC 7208 4.6.2). */
static int
parse_directive(struct spf_term *t, const char *p, size_t n,
    struct buf *why)
{
	size_t k = 0, i;

	t->qual = '+';
	if (n > 0 && strchr("+-~?", p[0]) != NULL) {
		t->qual = p[0];
		p++;
		n--;
	}
	while (k < n && p[k] != ':' && p[k] != '/')
		k++;
	for (i = 0; i < NMECHS; i++)
		if (k == mechs[i].len && ci_equal(p, k, mechs[i].name, k))
			break;
	if (i == NMECHS)
		return bad_term(why, t->text.p, t->text.n,
		    "unknown mechanism");
	t->mech = mechs[i].mech;
	t->cidr4 = 32;
	t->cidr6 = 128;
	return parse_arg(t, mechs[i].arg, p + k, n - k, why);
}

/* RFC 7208 6: redirect and exp at most once each; other modifiers are
 * ignored once their macro-string is well-formed (6, 4.6.1). */
static int
parse_modifier(struct spf_record *rec, const char *p, size_t n, size_t eq,
    struct buf *why)
{
	struct spf_span *slot = NULL;

	if (ci_equals(p, eq, "redirect"))
		slot = &rec->redirect;
	else if (ci_equals(p, eq, "exp"))
		slot = &rec->exp;
	if (slot == NULL)
		return spf_macro_check(p + eq + 1, n - eq - 1, true, why);
	if (slot->p != NULL)
		return bad_term(why, p, n, "modifier given twice");
	slot->p = p + eq + 1;
	slot->n = n - eq - 1;
	return spf_spec_check(slot->p, slot->n, false, why);
}

/* name "=" for a modifier (RFC 7208 4.6.1: name = ALPHA *( ALPHA /
 * DIGIT / "-" / "_" / "." )), or 0 when the term is a directive. */
static size_t
modifier_name(const char *p, size_t n)
{
	size_t k = 0;

	if (n == 0 || !is_alpha((unsigned char)p[0]))
		return 0;
	while (k < n && (is_letdig((unsigned char)p[k]) || p[k] == '-' ||
	    p[k] == '_' || p[k] == '.'))
		k++;
	return k < n && p[k] == '=' ? k : 0;
}

static int
parse_term(struct spf_record *rec, const char *p, size_t n, struct buf *why)
{
	struct spf_term *t;
	size_t eq;

	if ((eq = modifier_name(p, n)) > 0)
		return parse_modifier(rec, p, n, eq, why);
	t = &rec->terms[rec->n++];
	memset(t, 0, sizeof(*t));
	t->text.p = p;
	t->text.n = n;
	return parse_directive(t, p, n, why);
}

int
spf_record_parse(const char *txt, size_t len, struct spf_record *rec,
    struct buf *why)
{
	size_t i, start, cap = 1;
	const char *sp;
	int rc = DKK_OK;

	rec->terms = rec->few;
	rec->n = 0;
	rec->redirect.p = rec->exp.p = NULL;
	rec->redirect.n = rec->exp.n = 0;
	if (!spf_is_record(txt, len))
		return bad_term(why, txt, len, "not an SPF record");
	for (sp = txt + 6; (sp = memchr(sp, ' ', len - (size_t)(sp - txt))) !=
	    NULL; sp++)
		cap++;
	if (cap > SPF_FEW_TERMS &&
	    (rec->terms = dkk_calloc(cap, sizeof(*rec->terms))) == NULL) {
		rec->terms = rec->few;
		return DKK_ENOMEM;
	}
	/* RFC 7208 4.6.1: terms = *( 1*SP ( directive / modifier ) ). */
	for (i = 6; i < len && rc == DKK_OK;) {
		while (i < len && txt[i] == ' ')
			i++;
		start = i;
		sp = memchr(txt + i, ' ', len - i);
		i = sp != NULL ? (size_t)(sp - txt) : len;
		if (i > start)
			rc = parse_term(rec, txt + start, i - start, why);
	}
	if (rc != DKK_OK)
		spf_record_clear(rec);
	return rc;
}

void
spf_record_clear(struct spf_record *rec)
{
	if (rec->terms != rec->few)
		free(rec->terms);
	rec->terms = rec->few;
	rec->n = 0;
}
