/*
 * zone.c: an RFC 1035 master file (section 5) as a key source, so that
 * tests and offline tools can verify without DNS.
 *
 * The file is read whole and cut into entries: one line, or several joined
 * by parentheses (RFC 1035 5.1).  A TXT record keeps its character-strings
 * joined with nothing between them, as a verifier reads a key record
 * (RFC 6376 3.6.2.2).  A, AAAA, MX, PTR and CNAME records (what SPF asks
 * about) are kept in presentation form (dkimkit.h, dkk_dns_query_fn), and
 * queries follow CNAMEs as a recursive resolver would (RFC 1034 3.6.2).
 * Records of other types only make their owner exist, so that a query
 * there is NODATA rather than NXDOMAIN.  Names are kept
 * lowercased, without the final dot, in an open-addressing hash table.
 *
 * Not supported, and refused with a syntax error: $INCLUDE, $GENERATE,
 * classes other than IN, and the RFC 3597 generic form (\#) of TXT rdata.
 * An escaped dot inside a label ("a\.b") reads as a label separator.
 * A name exists when it owns a record or has a descendant that does (an
 * empty non-terminal answers NODATA, RFC 1034 4.3.2; zone_ancestors()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"

/* Longest entry accepted, counted over its tokens. */
#define ZONE_MAX_RECORD		(1024 * 1024)
/* RFC 2181 8: a TTL is an unsigned 31-bit number of seconds. */
#define ZONE_TTL_MAX		2147483647u
/* TTL of records without one when the file has no $TTL. */
#define ZONE_TTL_DEFAULT	3600u
/* Bytes asked of read() at a time. */
#define ZONE_CHUNK		65536
/* CNAMEs followed for one query before giving up (a loop, or a chain no
 * resolver would follow either): SERVFAIL. */
#define ZONE_CNAME_MAX		8
/* RR type of CNAME (RFC 1035 3.2.2); the others are enum dkk_dns_type. */
#define ZONE_CNAME		5

/* A record of a type other than TXT, as text. */
struct zone_rr {
	int type;
	char *data;
	size_t len;
	uint32_t ttl;
};

struct zone_node {
	char *name;		/* lowercased, without the final dot */
	size_t nlen;
	size_t hash;
	char **txt;		/* TXT records in file order, strings joined */
	size_t *len;
	size_t count;
	size_t cap;
	uint32_t ttl;		/* smallest TTL of txt[] */
	struct zone_rr *rr;	/* other records, in file order */
	size_t nrr;
	size_t crr;
};

struct zone {
	struct zone_node *nodes;
	size_t nnodes;
	size_t cap;
	size_t *slots;		/* index into nodes plus one; 0 is free */
	size_t nslots;		/* a power of two, at most half full */
	uint32_t ttl;		/* of answers without records */
};

struct zone_tok {
	size_t off;		/* into the text, quotes excluded */
	size_t len;
	unsigned long line;
	bool quoted;
};

struct zone_parse {
	const char *path;
	struct buf *err;
	struct buf text;	/* the whole file */
	size_t pos;
	unsigned long line;
	unsigned long eline;	/* first line of the current entry */
	size_t used;		/* octets of the current entry's tokens */
	struct zone_tok *tok;	/* the current entry */
	size_t ntok;
	size_t ctok;
	bool blank;		/* the entry starts with a blank: same owner */
	bool have_origin;
	bool have_owner;
	bool have_ttl;
	uint32_t ttl;		/* $TTL */
	struct buf origin;
	struct buf owner;
	struct buf name;	/* scratch for a name */
	struct buf rdata;	/* scratch for a TXT record */
	struct zone *z;
};

static int zone_syntax(struct zone_parse *, unsigned long, const char *, ...)
    PRINTF(3, 4);

/* ------------------------------------------------------------------ */
/* The table of names.                                                */

static size_t
zone_hash(const char *s, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint64_t)lower((unsigned char)s[i]);
		h *= UINT64_C(1099511628211);
	}
	return (size_t)h;
}

static struct zone_node *
zone_find(struct zone *z, const char *name, size_t len, size_t h)
{
	struct zone_node *n;
	size_t i, mask = z->nslots - 1;

	if (z->nslots == 0)
		return NULL;
	for (i = h & mask; z->slots[i] != 0; i = (i + 1) & mask) {
		n = &z->nodes[z->slots[i] - 1];
		if (n->hash == h && ci_equal(n->name, n->nlen, name, len))
			return n;
	}
	return NULL;
}

static void
zone_slot_put(size_t *slots, size_t nslots, size_t h, size_t index)
{
	size_t i, mask = nslots - 1;

	for (i = h & mask; slots[i] != 0; i = (i + 1) & mask)
		continue;
	slots[i] = index + 1;
}

static int
zone_rehash(struct zone *z)
{
	size_t i, nslots = z->nslots ? z->nslots * 2 : 64;
	size_t *slots;

	if ((slots = dkk_calloc(nslots, sizeof(*slots))) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < z->nnodes; i++)
		zone_slot_put(slots, nslots, z->nodes[i].hash, i);
	free(z->slots);
	z->slots = slots;
	z->nslots = nslots;
	return DKK_OK;
}

static int
zone_nodes_grow(struct zone *z)
{
	size_t cap = z->cap ? z->cap * 2 : 64;
	struct zone_node *nodes;

	if (cap > SIZE_MAX / sizeof(*nodes) ||
	    (nodes = dkk_realloc(z->nodes, cap * sizeof(*nodes))) == NULL)
		return DKK_ENOMEM;
	z->nodes = nodes;
	z->cap = cap;
	return DKK_OK;
}

/* The node of name, made if it is new. */
static int
zone_node_get(struct zone *z, const char *name, size_t len,
    struct zone_node **np)
{
	size_t h = zone_hash(name, len);
	struct zone_node *n;
	char *copy;

	if ((*np = zone_find(z, name, len, h)) != NULL)
		return DKK_OK;
	if ((z->nnodes + 1) * 2 > z->nslots && zone_rehash(z) != DKK_OK)
		return DKK_ENOMEM;
	if (z->nnodes == z->cap && zone_nodes_grow(z) != DKK_OK)
		return DKK_ENOMEM;
	if ((copy = dkk_strndup(name, len)) == NULL)
		return DKK_ENOMEM;
	n = &z->nodes[z->nnodes];
	memset(n, 0, sizeof(*n));
	n->name = copy;
	n->nlen = len;
	n->hash = h;
	zone_slot_put(z->slots, z->nslots, h, z->nnodes++);
	*np = n;
	return DKK_OK;
}

static int
zone_node_grow(struct zone_node *n)
{
	size_t cap = n->cap ? n->cap * 2 : 1;
	size_t *len;
	char **txt;

	if (cap > SIZE_MAX / sizeof(*txt))
		return DKK_ENOMEM;
	if ((txt = dkk_realloc(n->txt, cap * sizeof(*txt))) == NULL)
		return DKK_ENOMEM;
	n->txt = txt;
	if ((len = dkk_realloc(n->len, cap * sizeof(*len))) == NULL)
		return DKK_ENOMEM;
	n->len = len;
	n->cap = cap;
	return DKK_OK;
}

static int
zone_node_add(struct zone_node *n, const char *txt, size_t len, uint32_t ttl)
{
	char *copy;

	if (n->count == n->cap && zone_node_grow(n) != DKK_OK)
		return DKK_ENOMEM;
	if ((copy = dkk_strndup(txt, len)) == NULL)
		return DKK_ENOMEM;
	n->txt[n->count] = copy;
	n->len[n->count] = len;
	if (n->count == 0 || ttl < n->ttl)
		n->ttl = ttl;
	n->count++;
	return DKK_OK;
}

static int
zone_node_add_rr(struct zone_node *n, int type, const char *data, size_t len,
    uint32_t ttl)
{
	size_t cap = n->crr ? n->crr * 2 : 2;
	struct zone_rr *rr;

	if (n->nrr == n->crr) {
		if ((rr = dkk_realloc(n->rr, cap * sizeof(*rr))) == NULL)
			return DKK_ENOMEM;
		n->rr = rr;
		n->crr = cap;
	}
	rr = &n->rr[n->nrr];
	if ((rr->data = dkk_strndup(data, len)) == NULL)
		return DKK_ENOMEM;
	rr->type = type;
	rr->len = len;
	rr->ttl = ttl;
	n->nrr++;
	return DKK_OK;
}

static void
zone_node_clear(struct zone_node *n)
{
	size_t i;

	for (i = 0; i < n->nrr; i++)
		free(n->rr[i].data);
	free(n->rr);
	for (i = 0; i < n->count; i++)
		free(n->txt[i]);
	free(n->txt);
	free(n->len);
	free(n->name);
}

void
zone_free(struct zone *z)
{
	size_t i;

	if (z == NULL)
		return;
	for (i = 0; i < z->nnodes; i++)
		zone_node_clear(&z->nodes[i]);
	free(z->nodes);
	free(z->slots);
	free(z);
}

/* ------------------------------------------------------------------ */
/* Errors and small helpers of the parser.                            */

static int
zone_syntax(struct zone_parse *ps, unsigned long line, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	buf_printf(ps->err, "%s:%lu: %s", ps->path, line, why);
	return DKK_ESYNTAX;
}

static int
zone_io(struct zone_parse *ps, int e)
{
	buf_printf(ps->err, "%s: %s", ps->path, strerror(e));
	return DKK_EIO;
}

static const char *
zone_at(const struct zone_parse *ps, const struct zone_tok *t)
{
	return ps->text.p + t->off;
}

/* How much of a token an error message shows. */
static int
zone_show(const struct zone_tok *t)
{
	return t->len > 40 ? 40 : (int)t->len;
}

static bool
zone_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
zone_is_alpha(int c)
{
	c = lower(c);
	return c >= 'a' && c <= 'z';
}

/* Empty b, keeping it allocated so that b->p is a string. */
static int
zone_reset(struct buf *b)
{
	b->len = 0;
	if (buf_reserve(b, 1) != DKK_OK)
		return DKK_ENOMEM;
	b->p[0] = '\0';
	return DKK_OK;
}

static void
zone_swap(struct buf *a, struct buf *b)
{
	struct buf t = *a;

	*a = *b;
	*b = t;
}

/* ------------------------------------------------------------------ */
/* Reading the file and cutting it into entries (RFC 1035 5.1).       */

static int
zone_read(struct zone_parse *ps)
{
	ssize_t got;
	int fd, rc = DKK_OK;

	if ((fd = open(ps->path, O_RDONLY | O_CLOEXEC)) < 0)
		return zone_io(ps, errno);
	for (;;) {
		if (buf_reserve(&ps->text, ZONE_CHUNK) != DKK_OK) {
			rc = DKK_ENOMEM;
			break;
		}
		got = read(fd, ps->text.p + ps->text.len, ZONE_CHUNK);
		if (got > 0)
			ps->text.len += (size_t)got;
		else if (got == 0)
			break;
		else if (errno != EINTR) {
			rc = zone_io(ps, errno);
			break;
		}
	}
	close(fd);
	return rc;
}

static int
zone_push(struct zone_parse *ps, size_t off, size_t len, bool quoted)
{
	struct zone_tok *tok;
	size_t cap;

	ps->used += len + 1;
	if (ps->used > ZONE_MAX_RECORD)
		return zone_syntax(ps, ps->eline,
		    "record longer than %d octets", ZONE_MAX_RECORD);
	if (ps->ntok == ps->ctok) {
		cap = ps->ctok ? ps->ctok * 2 : 16;
		if ((tok = dkk_realloc(ps->tok, cap * sizeof(*tok))) == NULL)
			return DKK_ENOMEM;
		ps->tok = tok;
		ps->ctok = cap;
	}
	tok = &ps->tok[ps->ntok++];
	tok->off = off;
	tok->len = len;
	tok->line = ps->line;
	tok->quoted = quoted;
	return DKK_OK;
}

static bool
zone_is_delim(int c)
{
	return is_wsp(c) || c == '\r' || c == '\n' || c == ';' || c == '(' ||
	    c == ')' || c == '"';
}

/* An unquoted token; a backslash keeps the next octet in it. */
static int
zone_word(struct zone_parse *ps)
{
	const char *p = ps->text.p;
	size_t n = ps->text.len, start = ps->pos;

	while (ps->pos < n && !zone_is_delim((unsigned char)p[ps->pos])) {
		if (p[ps->pos] == '\\') {
			if (ps->pos + 1 >= n || p[ps->pos + 1] == '\n')
				return zone_syntax(ps, ps->line,
				    "'\\' at the end of a line");
			ps->pos++;
		}
		ps->pos++;
	}
	return zone_push(ps, start, ps->pos - start, false);
}

/* A quoted token.  Like BIND, a quoted string does not span lines. */
static int
zone_quoted(struct zone_parse *ps)
{
	const char *p = ps->text.p;
	size_t n = ps->text.len, start = ++ps->pos;

	for (; ps->pos < n && p[ps->pos] != '"' && p[ps->pos] != '\n';
	    ps->pos++)
		if (p[ps->pos] == '\\' && ps->pos + 1 < n &&
		    p[ps->pos + 1] != '\n')
			ps->pos++;
	if (ps->pos >= n || p[ps->pos] != '"')
		return zone_syntax(ps, ps->line, "unterminated quoted string");
	ps->pos++;
	return zone_push(ps, start, ps->pos - 1 - start, true);
}

static void
zone_skip_comment(struct zone_parse *ps)
{
	const char *nl;

	nl = memchr(ps->text.p + ps->pos, '\n', ps->text.len - ps->pos);
	ps->pos = nl != NULL ? (size_t)(nl - ps->text.p) : ps->text.len;
}

/* One step of zone_entry(): DKK_OK to go on, 1 at the end of the entry,
 * or an error.  *open is the line of an open '(', or 0. */
static int
zone_step(struct zone_parse *ps, unsigned long *open)
{
	const char *p = ps->text.p;

	while (ps->pos < ps->text.len &&
	    (is_wsp((unsigned char)p[ps->pos]) || p[ps->pos] == '\r'))
		ps->pos++;
	if (ps->pos >= ps->text.len)
		return *open ? zone_syntax(ps, *open, "'(' never closed") : 1;
	switch (p[ps->pos]) {
	case ';':
		zone_skip_comment(ps);
		return DKK_OK;
	case '\n':
		ps->pos++;
		ps->line++;
		return *open ? DKK_OK : 1;
	case '(':
		if (*open)
			return zone_syntax(ps, ps->line, "nested '('");
		*open = ps->line;
		ps->pos++;
		return DKK_OK;
	case ')':
		if (!*open)
			return zone_syntax(ps, ps->line, "')' without '('");
		*open = 0;
		ps->pos++;
		return DKK_OK;
	case '"':
		return zone_quoted(ps);
	default:
		return zone_word(ps);
	}
}

/* Cut the next entry into tokens.  1 with an entry (maybe without tokens:
 * a blank or comment line), 0 at the end of the file, or an error. */
static int
zone_entry(struct zone_parse *ps)
{
	unsigned long open = 0;
	int rc;

	if (ps->pos >= ps->text.len)
		return 0;
	ps->ntok = 0;
	ps->used = 0;
	ps->eline = ps->line;
	ps->blank = is_wsp((unsigned char)ps->text.p[ps->pos]);
	while ((rc = zone_step(ps, &open)) == DKK_OK)
		continue;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Tokens into values.                                                */

/* RFC 1035 5.1: \X is X itself, \DDD the octet of decimal value DDD.
 * s[*k] is the backslash; *k moves past the escape. */
static bool
zone_escape(const char *s, size_t n, size_t *k, int *c)
{
	size_t i = *k + 1, end;
	int v = 0;

	if (i >= n)
		return false;
	if (!zone_is_digit((unsigned char)s[i])) {
		*c = (unsigned char)s[i];
		*k = i + 1;
		return true;
	}
	for (end = i + 3; i < end; i++) {
		if (i >= n || !zone_is_digit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 255)
		return false;
	*c = v;
	*k = end;
	return true;
}

/* Append the octets of token t to ps->rdata. */
static int
zone_unescape(struct zone_parse *ps, const struct zone_tok *t)
{
	const char *s = zone_at(ps, t), *bs;
	size_t k = 0, run;
	int c;

	while (k < t->len) {
		bs = memchr(s + k, '\\', t->len - k);
		run = bs != NULL ? (size_t)(bs - s) - k : t->len - k;
		buf_add(&ps->rdata, s + k, run);
		if ((k += run) == t->len)
			break;
		if (!zone_escape(s, t->len, &k, &c))
			return zone_syntax(ps, t->line,
			    "bad escape in \"%.*s\"", zone_show(t), s);
		buf_addc(&ps->rdata, (char)c);
	}
	return ps->rdata.failed ? DKK_ENOMEM : DKK_OK;
}

/* The labels of token t, lowercased, into ps->name; *absolute when the
 * token ends in an unescaped dot, which is not copied. */
static int
zone_labels(struct zone_parse *ps, const struct zone_tok *t, bool *absolute)
{
	const char *s = zone_at(ps, t);
	bool start = true;	/* at the start of a label */
	size_t k = 0;
	int c;

	*absolute = t->len == 1 && s[0] == '.';
	while (k < t->len && !*absolute) {
		if (s[k] == '.') {
			if (start)
				return zone_syntax(ps, t->line,
				    "empty label in %.*s", zone_show(t), s);
			start = true;
			if (++k == t->len)
				*absolute = true;
			else
				buf_addc(&ps->name, '.');
			continue;
		}
		if (s[k] != '\\')
			c = (unsigned char)s[k++];
		else if (!zone_escape(s, t->len, &k, &c) || c == '\0')
			return zone_syntax(ps, t->line, "bad escape in %.*s",
			    zone_show(t), s);
		buf_addc(&ps->name, (char)lower(c));
		start = false;
	}
	return ps->name.failed ? DKK_ENOMEM : DKK_OK;
}

/* The name of token t into ps->name, absolute, lowercased, without the
 * final dot.  RFC 1035 5.1: "@" is the origin, and a name that does not
 * end in a dot is relative to it. */
static int
zone_name(struct zone_parse *ps, const struct zone_tok *t)
{
	const char *s = zone_at(ps, t);
	bool absolute = false;
	int rc;

	if (t->quoted)
		return zone_syntax(ps, t->line, "quoted name \"%.*s\"",
		    zone_show(t), s);
	if (zone_reset(&ps->name) != DKK_OK)
		return DKK_ENOMEM;
	if ((t->len != 1 || s[0] != '@') &&
	    (rc = zone_labels(ps, t, &absolute)) != DKK_OK)
		return rc;
	if (absolute)
		return DKK_OK;
	if (!ps->have_origin)
		return zone_syntax(ps, t->line, "relative name %.*s and no "
		    "$ORIGIN", zone_show(t), s);
	if (ps->name.len > 0 && ps->origin.len > 0)
		buf_addc(&ps->name, '.');
	buf_add(&ps->name, ps->origin.p, ps->origin.len);
	return ps->name.failed ? DKK_ENOMEM : DKK_OK;
}

static uint32_t
zone_ttl_unit(int c)
{
	switch (lower(c)) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 604800;
	default:
		return 0;
	}
}

/* A TTL in seconds, or with BIND's units: "3600", "1h", "1d12h", "1h30". */
static bool
zone_ttl_parse(const char *s, size_t n, uint32_t *ttl)
{
	uint64_t total = 0, num = 0;
	bool digits = false;
	uint32_t unit;
	size_t i;

	for (i = 0; i < n; i++) {
		if (zone_is_digit((unsigned char)s[i])) {
			num = num * 10 + (uint64_t)(s[i] - '0');
			digits = true;
		} else if (digits &&
		    (unit = zone_ttl_unit((unsigned char)s[i])) != 0) {
			total += num * unit;
			num = 0;
			digits = false;
		} else
			return false;
		if (num > ZONE_TTL_MAX || total > ZONE_TTL_MAX)
			return false;
	}
	total += num;
	if (n == 0 || !zone_is_digit((unsigned char)s[0]) ||
	    total > ZONE_TTL_MAX)
		return false;
	*ttl = (uint32_t)total;
	return true;
}

/* ------------------------------------------------------------------ */
/* Entries into records.                                              */

static int
zone_origin(struct zone_parse *ps)
{
	int rc;

	if (ps->ntok != 2)
		return zone_syntax(ps, ps->eline, "$ORIGIN takes one name");
	if ((rc = zone_name(ps, &ps->tok[1])) != DKK_OK)
		return rc;
	zone_swap(&ps->origin, &ps->name);
	ps->have_origin = true;
	return DKK_OK;
}

/* RFC 2308 4: $TTL is the TTL of the records that do not give one. */
static int
zone_ttl(struct zone_parse *ps)
{
	const struct zone_tok *t = &ps->tok[1];

	if (ps->ntok != 2)
		return zone_syntax(ps, ps->eline, "$TTL takes one value");
	if (t->quoted || !zone_ttl_parse(zone_at(ps, t), t->len, &ps->ttl))
		return zone_syntax(ps, t->line, "bad TTL %.*s", zone_show(t),
		    zone_at(ps, t));
	ps->have_ttl = true;
	return DKK_OK;
}

static int
zone_directive(struct zone_parse *ps)
{
	const struct zone_tok *t = &ps->tok[0];
	const char *s = zone_at(ps, t);

	if (ci_equals(s, t->len, "$ORIGIN"))
		return zone_origin(ps);
	if (ci_equals(s, t->len, "$TTL"))
		return zone_ttl(ps);
	return zone_syntax(ps, t->line, "%.*s is not supported", zone_show(t),
	    s);
}

/* The owner: the first token, or the previous owner when the entry
 * starts with a blank (RFC 1035 5.1).  *i moves past it. */
static int
zone_owner(struct zone_parse *ps, size_t *i)
{
	int rc;

	if (ps->blank) {
		if (!ps->have_owner)
			return zone_syntax(ps, ps->eline,
			    "no owner name and no previous record");
		return DKK_OK;
	}
	if ((rc = zone_name(ps, &ps->tok[0])) != DKK_OK)
		return rc;
	zone_swap(&ps->owner, &ps->name);
	ps->have_owner = true;
	*i = 1;
	return DKK_OK;
}

static bool
zone_is_class(const char *s, size_t n)
{
	return ci_equals(s, n, "IN") || ci_equals(s, n, "CH") ||
	    ci_equals(s, n, "HS") || ci_equals(s, n, "CS");
}

/* RFC 1035 5.1: [<TTL>] [<class>] or [<class>] [<TTL>] before the type.
 * A type never starts with a digit, so a digit starts the TTL. */
static int
zone_ttl_class(struct zone_parse *ps, size_t *i, uint32_t *ttl)
{
	bool got_ttl = false, got_class = false;
	const struct zone_tok *t;
	const char *s;

	*ttl = ps->have_ttl ? ps->ttl : ZONE_TTL_DEFAULT;
	for (; *i < ps->ntok && !ps->tok[*i].quoted; (*i)++) {
		t = &ps->tok[*i];
		s = zone_at(ps, t);
		if (!got_ttl && zone_is_digit((unsigned char)s[0])) {
			if (!zone_ttl_parse(s, t->len, ttl))
				return zone_syntax(ps, t->line, "bad TTL %.*s",
				    zone_show(t), s);
			got_ttl = true;
		} else if (!got_class && zone_is_class(s, t->len)) {
			if (!ci_equals(s, t->len, "IN"))
				return zone_syntax(ps, t->line, "class %.*s is "
				    "not supported", zone_show(t), s);
			got_class = true;
		} else
			break;
	}
	return DKK_OK;
}

/* A type mnemonic ("TXT", "DNSKEY", "TYPE65534"). */
static bool
zone_is_type(const struct zone_parse *ps, const struct zone_tok *t)
{
	const char *s = zone_at(ps, t);
	size_t k;

	if (t->quoted || t->len == 0 || !zone_is_alpha((unsigned char)s[0]))
		return false;
	for (k = 1; k < t->len; k++)
		if (!zone_is_alpha((unsigned char)s[k]) &&
		    !zone_is_digit((unsigned char)s[k]) && s[k] != '-')
			return false;
	return true;
}

/* TXT rdata from token i on: the character-strings, joined (RFC 6376
 * 3.6.2.2).  RFC 1035 3.3 caps a character-string at 255 octets; a
 * longer one is taken whole, as the signer surely meant it to be split. */
static int
zone_txt(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl)
{
	const struct zone_tok *t;
	int rc;

	if (i >= ps->ntok)
		return zone_syntax(ps, ps->eline,
		    "TXT record without character-strings");
	t = &ps->tok[i];
	if (!t->quoted && t->len == 2 && memcmp(zone_at(ps, t), "\\#", 2) == 0)
		return zone_syntax(ps, t->line,
		    "generic TXT rdata (\\#) is not supported");
	ps->rdata.len = 0;
	for (; i < ps->ntok; i++)
		if ((rc = zone_unescape(ps, &ps->tok[i])) != DKK_OK)
			return rc;
	return zone_node_add(n, ps->rdata.len > 0 ? ps->rdata.p : "",
	    ps->rdata.len, ttl);
}

/* The one rdata token of a record of type t (ps->tok[i] the type). */
static const struct zone_tok *
zone_one(struct zone_parse *ps, size_t i, size_t want)
{
	const struct zone_tok *t = &ps->tok[i];

	if (ps->ntok != i + 1 + want) {
		zone_syntax(ps, t->line, "%.*s takes %zu value%s", zone_show(t),
		    zone_at(ps, t), want, want == 1 ? "" : "s");
		return NULL;
	}
	return &ps->tok[i + 1];
}

/* RFC 1035 3.4.1, RFC 3596 2.4: an address, kept as inet_ntop() writes
 * it so that answers compare as text. */
static int
zone_addr(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl,
    int af, int type)
{
	const struct zone_tok *t;
	char text[INET6_ADDRSTRLEN];
	unsigned char bin[16];

	if ((t = zone_one(ps, i, 1)) == NULL)
		return DKK_ESYNTAX;
	if (t->quoted || t->len >= sizeof(text))
		return zone_syntax(ps, t->line, "bad address %.*s",
		    zone_show(t), zone_at(ps, t));
	memcpy(text, zone_at(ps, t), t->len);
	text[t->len] = '\0';
	if (inet_pton(af, text, bin) != 1 ||
	    inet_ntop(af, bin, text, sizeof(text)) == NULL)
		return zone_syntax(ps, t->line, "bad address %.*s",
		    zone_show(t), zone_at(ps, t));
	return zone_node_add_rr(n, type, text, strlen(text), ttl);
}

static int
zone_a(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl)
{
	return zone_addr(ps, n, i, ttl, AF_INET, DKK_DNS_A);
}

static int
zone_aaaa(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl)
{
	return zone_addr(ps, n, i, ttl, AF_INET6, DKK_DNS_AAAA);
}

/* A record whose rdata is one name (PTR, CNAME: RFC 1035 3.3.12, 3.3.1). */
static int
zone_target(struct zone_parse *ps, struct zone_node *n, size_t i,
    uint32_t ttl, int type)
{
	const struct zone_tok *t;
	int rc;

	if ((t = zone_one(ps, i, 1)) == NULL)
		return DKK_ESYNTAX;
	if ((rc = zone_name(ps, t)) != DKK_OK)
		return rc;
	return zone_node_add_rr(n, type, ps->name.p, ps->name.len, ttl);
}

static int
zone_ptr(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl)
{
	return zone_target(ps, n, i, ttl, DKK_DNS_PTR);
}

/* RFC 1034 3.6.2: a CNAME owner has no other data; a second CNAME or a
 * CNAME beside other records is refused as BIND refuses it. */
static int
zone_cname(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl)
{
	if (n->nrr > 0 || n->count > 0)
		return zone_syntax(ps, ps->eline, "CNAME beside other records "
		    "at %.*s", (int)(ps->owner.len > 40 ? 40 : ps->owner.len),
		    ps->owner.p);
	return zone_target(ps, n, i, ttl, ZONE_CNAME);
}

/* RFC 1035 3.3.9: PREFERENCE (0 to 65535) and EXCHANGE, kept as
 * "PREF NAME". */
static int
zone_mx(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl)
{
	const struct zone_tok *t;
	unsigned long pref = 0;
	size_t k;
	int rc;

	if ((t = zone_one(ps, i, 2)) == NULL)
		return DKK_ESYNTAX;
	for (k = 0; k < t->len && zone_is_digit((unsigned char)
	    zone_at(ps, t)[k]) && pref <= 65535; k++)
		pref = pref * 10 + (unsigned long)(zone_at(ps, t)[k] - '0');
	if (t->quoted || t->len == 0 || k != t->len || pref > 65535)
		return zone_syntax(ps, t->line, "bad MX preference %.*s",
		    zone_show(t), zone_at(ps, t));
	if ((rc = zone_name(ps, t + 1)) != DKK_OK)
		return rc;
	ps->rdata.len = 0;
	buf_printf(&ps->rdata, "%lu %s", pref, ps->name.p);
	if (ps->rdata.failed)
		return DKK_ENOMEM;
	return zone_node_add_rr(n, DKK_DNS_MX, ps->rdata.p, ps->rdata.len,
	    ttl);
}

static int
zone_txt_at(struct zone_parse *ps, struct zone_node *n, size_t i,
    uint32_t ttl)
{
	return zone_txt(ps, n, i + 1, ttl);
}

/* The record types answered, by mnemonic; others only make the owner
 * exist. */
static const struct {
	const char *name;
	int (*parse)(struct zone_parse *, struct zone_node *, size_t,
	    uint32_t);
} zone_types[] = {
	{ "TXT", zone_txt_at },
	{ "A", zone_a },
	{ "AAAA", zone_aaaa },
	{ "MX", zone_mx },
	{ "PTR", zone_ptr },
	{ "CNAME", zone_cname },
};

/* The rdata of the record whose type is ps->tok[i]. */
static int
zone_rdata(struct zone_parse *ps, struct zone_node *n, size_t i, uint32_t ttl)
{
	const struct zone_tok *t = &ps->tok[i];
	size_t k;

	for (k = 0; k < sizeof(zone_types) / sizeof(zone_types[0]); k++)
		if (ci_equals(zone_at(ps, t), t->len, zone_types[k].name))
			break;
	if (k == sizeof(zone_types) / sizeof(zone_types[0]))
		return DKK_OK;
	if (n->nrr > 0 && n->rr[0].type == ZONE_CNAME)
		return zone_syntax(ps, ps->eline, "CNAME beside other records "
		    "at %.*s", (int)(ps->owner.len > 40 ? 40 : ps->owner.len),
		    ps->owner.p);
	return zone_types[k].parse(ps, n, i, ttl);
}

/* A name with names below it exists, even with no records of its own
 * (RFC 1034 4.3.2: an empty non-terminal answers NODATA, not NXDOMAIN);
 * ADSP's check that the author domain exists depends on it. */
static int
zone_ancestors(struct zone *z, const char *name, size_t len)
{
	struct zone_node *n;
	const char *dot;
	int rc;

	while ((dot = memchr(name, '.', len)) != NULL) {
		len -= (size_t)(dot + 1 - name);
		name = dot + 1;
		if (len > 0 && (rc = zone_node_get(z, name, len, &n)) != DKK_OK)
			return rc;
	}
	return DKK_OK;
}

static int
zone_record(struct zone_parse *ps)
{
	const struct zone_tok *t = &ps->tok[0];
	struct zone_node *n;
	uint32_t ttl;
	size_t i = 0;
	int rc;

	if (!ps->blank && !t->quoted && zone_at(ps, t)[0] == '$')
		return zone_directive(ps);
	if ((rc = zone_owner(ps, &i)) != DKK_OK ||
	    (rc = zone_ttl_class(ps, &i, &ttl)) != DKK_OK)
		return rc;
	if (i >= ps->ntok)
		return zone_syntax(ps, ps->eline, "no record type");
	t = &ps->tok[i];
	if (!zone_is_type(ps, t))
		return zone_syntax(ps, t->line, "bad record type %.*s",
		    zone_show(t), zone_at(ps, t));
	if ((rc = zone_ancestors(ps->z, ps->owner.p, ps->owner.len)) !=
	    DKK_OK ||
	    (rc = zone_node_get(ps->z, ps->owner.p, ps->owner.len, &n)) !=
	    DKK_OK)
		return rc;
	return zone_rdata(ps, n, i, ttl);
}

static int
zone_parse_all(struct zone_parse *ps)
{
	int rc;

	while ((rc = zone_entry(ps)) > 0)
		if (ps->ntok > 0 && (rc = zone_record(ps)) != DKK_OK)
			return rc;
	return rc;
}

static void
zone_parse_clear(struct zone_parse *ps)
{
	buf_clear(&ps->text);
	buf_clear(&ps->origin);
	buf_clear(&ps->owner);
	buf_clear(&ps->name);
	buf_clear(&ps->rdata);
	free(ps->tok);
	zone_free(ps->z);
}

int
zone_load(struct zone **zp, const char *path, struct buf *err)
{
	struct zone_parse ps;
	int rc;

	if (zp == NULL || path == NULL || err == NULL)
		return DKK_EINVAL;
	*zp = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.path = path;
	ps.err = err;
	ps.line = 1;
	if ((rc = zone_read(&ps)) == DKK_OK &&
	    (ps.z = dkk_calloc(1, sizeof(*ps.z))) == NULL)
		rc = DKK_ENOMEM;
	if (rc == DKK_OK)
		rc = zone_parse_all(&ps);
	if (rc == DKK_OK) {
		ps.z->ttl = ps.have_ttl ? ps.ttl : ZONE_TTL_DEFAULT;
		*zp = ps.z;
		ps.z = NULL;
	} else if (rc == DKK_ENOMEM)
		buf_printf(err, "%s: out of memory", path);
	zone_parse_clear(&ps);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Answers.                                                           */

/* The CNAME target of n, or NULL. */
static const struct zone_rr *
zone_cname_of(const struct zone_node *n)
{
	return n->nrr > 0 && n->rr[0].type == ZONE_CNAME ? &n->rr[0] : NULL;
}

/* Records of one name answered without an allocation: SPF asks for the
 * addresses and MX of names that rarely own more. */
#define ZONE_ANSWER_STACK	16

/* Answer with n's records of type (none: NODATA). */
static int
zone_answer_rr(const struct zone_node *n, enum dkk_dns_type type,
    struct dkk_dns_answer *ans, dkk_dns_cb cb, void *cbarg)
{
	const char *txt_stack[ZONE_ANSWER_STACK], **txt = txt_stack;
	size_t len_stack[ZONE_ANSWER_STACK], *len = len_stack, i, k = 0;

	if (type == DKK_DNS_TXT) {
		ans->count = n->count;
		ans->txt = (const char *const *)n->txt;
		ans->len = n->len;
		if (n->count > 0)
			ans->ttl = n->ttl;
		cb(cbarg, ans);
		return DKK_OK;
	}
	if (n->nrr > ZONE_ANSWER_STACK) {
		txt = dkk_calloc(n->nrr, sizeof(*txt));
		len = dkk_calloc(n->nrr, sizeof(*len));
		if (txt == NULL || len == NULL) {
			free(txt);
			free(len);
			return DKK_ENOMEM;
		}
	}
	for (i = 0; i < n->nrr; i++)
		if (n->rr[i].type == (int)type) {
			txt[k] = n->rr[i].data;
			len[k] = n->rr[i].len;
			if (k++ == 0 || n->rr[i].ttl < ans->ttl)
				ans->ttl = n->rr[i].ttl;
		}
	ans->count = k;
	ans->txt = txt;
	ans->len = len;
	cb(cbarg, ans);
	if (txt != txt_stack) {
		free(txt);
		free(len);
	}
	return DKK_OK;
}

/* A synchronous resolver: the answer is delivered before returning.
 * Answers without records carry the zone's $TTL (or one hour).  A name
 * owning a CNAME is answered for its target, as a recursive resolver
 * does (RFC 1034 3.6.2); a chain longer than ZONE_CNAME_MAX, a loop, is
 * SERVFAIL. */
int
zone_query(void *arg, const char *name, enum dkk_dns_type type,
    dkk_dns_cb cb, void *cbarg)
{
	struct zone *z = arg;
	struct dkk_dns_answer ans;
	const struct zone_rr *cname;
	struct zone_node *n;
	size_t len, hops;

	if (z == NULL || name == NULL || cb == NULL)
		return DKK_EINVAL;
	memset(&ans, 0, sizeof(ans));
	ans.dnssec = DKK_DNSSEC_UNKNOWN;
	ans.ttl = z->ttl;
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	for (hops = 0; hops <= ZONE_CNAME_MAX; hops++) {
		if ((n = zone_find(z, name, len, zone_hash(name, len))) ==
		    NULL) {
			ans.status = DKK_DNS_NXDOMAIN;
			cb(cbarg, &ans);
			return DKK_OK;
		}
		if ((cname = zone_cname_of(n)) == NULL)
			return zone_answer_rr(n, type, &ans, cb, cbarg);
		name = cname->data;
		len = cname->len;
	}
	ans.status = DKK_DNS_TEMPFAIL;
	cb(cbarg, &ans);
	return DKK_OK;
}

int
zone_query_txt(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	return zone_query(arg, name, DKK_DNS_TXT, cb, cbarg);
}
