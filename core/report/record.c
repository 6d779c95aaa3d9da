/*
 * record.c: what a domain asks to hear about.  The _report._domainkey
 * record (RFC 6651 3.1) and the reporting tags of an ADSP record
 * (section 4), the rr= token of each dkimkit reason, and rp= sampling.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "report.h"

unsigned
report_token_bit(char token)
{
	return token >= 'a' && token <= 'z' ? DKK_RR(token) : 0;
}

/*
 * RFC 6651 5.1 names seven conditions: d (DNS: the key record could
 * not be had), o (other), p (local policy), s (syntax of the signature
 * or of the key record), u
 * (unknown tags: plan.c adds it beside the reason's own token), v
 * (verification: the hashes), x (expiry).  Each reason falls under one;
 * reasons that are dkimkit's own trouble (memory, a header over a local
 * limit) are under none and so never reported, even with rr=all.
 */
static const struct {
	enum dkk_reason reason;
	char token;
} report_tokens[] = {
	{ DKK_R_SYNTAX, 's' },		/* tag list malformed: syntax */
	{ DKK_R_DUP_TAG, 's' },		/* RFC 6376 3.2: a syntax error */
	{ DKK_R_VERSION, 's' },		/* v= is signature syntax (3.5) */
	{ DKK_R_MISSING_TAG, 's' },	/* a required tag: syntax */
	{ DKK_R_BAD_TAG, 's' },		/* a malformed value: syntax */
	{ DKK_R_ALGORITHM, 's' },	/* a= not one 3.5 defines */
	{ DKK_R_CANON, 's' },		/* c= not one 3.5 defines */
	{ DKK_R_QUERY, 's' },		/* q= without dns/txt */
	{ DKK_R_FROM_UNSIGNED, 's' },	/* 3.5: h= MUST list From */
	{ DKK_R_IDENTITY, 's' },	/* 3.5: i= MUST be within d= */
	{ DKK_R_TIMESTAMPS, 's' },	/* 3.5: x= MUST be after t= */
	{ DKK_R_FUTURE, 'o' },		/* t= ahead: not expiry, "other" */
	{ DKK_R_EXPIRED, 'x' },		/* x= passed: expiry */
	{ DKK_R_BODY_LENGTH, 'v' },	/* l= over the body: the body hash
					 * cannot be verified */
	{ DKK_R_WEAK_HASH, 'p' },	/* RFC 8301 refusal: local policy */
	{ DKK_R_KEY_SIZE, 'p' },	/* RFC 8301 key size: local policy */
	{ DKK_R_TOO_MANY, 'p' },	/* over the local signature limit */
	{ DKK_R_KEY_NXDOMAIN, 'd' },	/* no key record: DNS */
	{ DKK_R_KEY_DNS, 'd' },		/* lookup failed: DNS */
	{ DKK_R_KEY_BOGUS, 'd' },	/* DNSSEC said bogus: DNS */
	/* The record came back but says no (RFC 6651 5.1: d is for DNS
	 * issues, "e.g., key retrieval problems", s for "signature or key
	 * syntax errors"): a malformed record is s; a revoked key or one
	 * whose k=, h=, s= or t=s rules the signature out is neither
	 * syntax nor DNS, and no token names it, so o ("any reason ... not
	 * covered by other report requests"). */
	{ DKK_R_KEY_SYNTAX, 's' },	/* the key record's tag list */
	{ DKK_R_KEY_DATA, 's' },	/* p= is no public key */
	{ DKK_R_KEY_REVOKED, 'o' },	/* p= empty: no "revoked" token */
	{ DKK_R_KEY_TYPE, 'o' },	/* k= not the signature's a= */
	{ DKK_R_KEY_HASH, 'o' },	/* h= leaves out a='s hash */
	{ DKK_R_KEY_SERVICE, 'o' },	/* s= leaves out email */
	{ DKK_R_KEY_STRICT, 'o' },	/* t=s and i= in a subdomain */
	{ DKK_R_BODY_HASH, 'v' },	/* bh= mismatch: verification */
	{ DKK_R_SIGNATURE, 'v' },	/* b= does not verify */
};

char
dkk_report_token(enum dkk_reason reason)
{
	size_t i;

	for (i = 0; i < sizeof(report_tokens) / sizeof(report_tokens[0]); i++)
		if (report_tokens[i].reason == reason)
			return report_tokens[i].token;
	return 0;
}

int
dkk_report_sampled(unsigned rp, unsigned draw)
{
	return draw < 100 && draw < rp;
}

static uint32_t
report_getrandom(void *arg)
{
	uint32_t x = 0;

	(void)arg;
	while (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x) &&
	    errno == EINTR)
		;
	return x;
}

/* A draw of 0 to 99 without modulo bias: values past the last whole
 * hundred are drawn again. */
int
report_draw(const struct dkk_report_opts *o, unsigned *draw)
{
	const uint32_t cut = UINT32_MAX - UINT32_MAX % 100;
	dkk_random_fn fn = o->random ? o->random : report_getrandom;
	uint32_t x;
	int tries;

	for (tries = 0; tries < 64; tries++)
		if ((x = fn(o->random_arg)) < cut) {
			*draw = x % 100;
			return DKK_OK;
		}
	*draw = 99;		/* a stuck source: the least likely draw */
	return DKK_OK;
}

/* rp=: 1*3DIGIT, 0 to 100. */
static int
record_rp(const struct tag *t, unsigned *rp)
{
	unsigned v = 0;
	size_t i;

	if (t->vlen == 0 || t->vlen > 3)
		return DKK_ESYNTAX;
	for (i = 0; i < t->vlen; i++) {
		if (t->val[i] < '0' || t->val[i] > '9')
			return DKK_ESYNTAX;
		v = v * 10 + (unsigned)(t->val[i] - '0');
	}
	if (v > 100)
		return DKK_ESYNTAX;
	*rp = v;
	return DKK_OK;
}

static bool
rr_known(char c, int adsp)
{
	return strchr(adsp ? "opsu" : "dopsuvx", c) != NULL;
}

/* One rr= element (FWS around it dropped): "all" or a token; a token of
 * letters this version does not know adds nothing. */
static int
record_rr_token(const char *s, size_t n, int adsp, unsigned *rr)
{
	size_t i;

	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, n--;
	while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
		n--;
	if (n == 0)
		return DKK_ESYNTAX;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return DKK_ESYNTAX;
	if (n == 3 && ci_equals(s, n, "all"))
		*rr = adsp ? *rr | DKK_RR('o') | DKK_RR('p') | DKK_RR('s') |
		    DKK_RR('u') : DKK_RR_ALL;
	else if (n == 1 && rr_known(lower(s[0]), adsp))
		*rr |= DKK_RR(lower(s[0]));
	return DKK_OK;
}

/* rr=: a colon list (RFC 6651 3.1). */
static int
record_rr(const struct tag *t, int adsp, unsigned *rr)
{
	size_t i = 0, start;
	int rc;

	*rr = 0;
	while (i <= t->vlen) {
		start = i;
		while (i < t->vlen && t->val[i] != ':')
			i++;
		if ((rc = record_rr_token(t->val + start, i - start, adsp,
		    rr)) != DKK_OK)
			return rc;
		i++;
	}
	return DKK_OK;
}

/* RFC 5321 local part as dot-atom-text: what ra= can be, since the
 * address is built as ra@domain. */
static bool
local_part_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' && s[i + 1] == '.')
			return false;
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL))
			return false;
	}
	return true;
}

static int
record_tag(const struct tag *t, int adsp, struct dkk_report_record *out)
{
	char **qp = NULL;
	int rc;

	if (t->nlen == 2 && memcmp(t->name, "rp", 2) == 0)
		return record_rp(t, &out->rp);
	if (t->nlen == 2 && memcmp(t->name, "rr", 2) == 0)
		return record_rr(t, adsp, &out->rr);
	if (t->nlen == 2 && memcmp(t->name, "ra", 2) == 0)
		qp = &out->ra;
	else if (t->nlen == 2 && memcmp(t->name, "rs", 2) == 0)
		qp = &out->rs;
	if (qp == NULL)
		return DKK_OK;	/* other tags are ignored (RFC 6651 3.1) */
	/* ra= and rs= are dkim-quoted-printable (qp-section). */
	if ((rc = qp_decode(t->val, t->vlen, qp)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : DKK_ESYNTAX;
	if (qp == &out->ra && !local_part_ok(out->ra))
		return DKK_ESYNTAX;
	return DKK_OK;
}

int
dkk_report_record_parse(const char *txt, size_t len, int adsp,
    struct dkk_report_record *out)
{
	struct tag tags[64];
	size_t i, n;
	int rc = DKK_OK;

	if (txt == NULL || out == NULL)
		return DKK_EINVAL;
	memset(out, 0, sizeof(*out));
	out->rp = 100;
	out->rr = adsp ? DKK_RR('o') | DKK_RR('p') | DKK_RR('s') |
	    DKK_RR('u') : DKK_RR_ALL;
	if (taglist_parse(txt, len, tags, 64, &n) != TAGLIST_OK)
		return DKK_ESYNTAX;
	for (i = 0; i < n && rc == DKK_OK; i++)
		rc = record_tag(&tags[i], adsp, out);
	if (rc != DKK_OK)
		dkk_report_record_clear(out);
	return rc;
}

void
dkk_report_record_clear(struct dkk_report_record *rec)
{
	if (rec == NULL)
		return;
	free(rec->ra);
	free(rec->rs);
	rec->ra = rec->rs = NULL;
}
