/*
 * test_dmarc.c: DMARC, RFC 9989 (core/dmarc/): the policy record, the
 * names of the DNS Tree Walk, the Organizational Domain, the Public
 * Suffix List of RFC 7489 mode, and the evaluation inside the verifier
 * over a table resolver that counts its queries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "unit.h"
#include "dmarc/dmarc.h"

/* ---- the record (RFC 9989 4.7, 4.8) ---- */

static struct dmarc_rec
rec(const char *txt, int want_dmarc)
{
	struct dmarc_rec r;

	CU_ASSERT_EQUAL(dmarc_record_parse(txt, strlen(txt), false, &r),
	    want_dmarc);
	return r;
}

/* 4.7 v: first tag, value exactly DMARC1 (case-sensitive), else the
 * whole record is ignored. */
static void
dmarc_record_version(void)
{
	rec("v=DMARC1", 1);
	rec("v=DMARC1; p=reject", 1);
	rec("v = DMARC1 ;p=none", 1);	/* 4.8 equals, dmarc-sep */
	rec("V=DMARC1; p=none", 1);	/* ABNF "v" is case-insensitive */
	rec("v=dmarc1; p=reject", 0);	/* %s"DMARC1" */
	rec("v=DMARC2; p=reject", 0);
	rec("p=reject; v=DMARC1", 0);
	rec("v=DMARC1x; p=reject", 0);
	rec("", 0);
	rec("v=spf1 -all", 0);
	/* RFC 9989 4.10 step 2 discards "Records that do not start with
	 * a 'v' tag"; the ABNF (4.8) has no leading WSP. */
	rec(" v=DMARC1; p=reject", 0);
	rec("\tv=DMARC1; p=reject", 0);
	/* no dmarc-sep: the version value is "DMARC1 p=reject" */
	rec("v=DMARC1 p=reject", 0);
}

/* 4.7: p, sp, np values; absent p is p=none (usable); defaults of the
 * other tags. */
static void
dmarc_record_tags(void)
{
	struct dmarc_rec r = rec("v=DMARC1; p=Quarantine; sp=reject; np=none;"
	    " adkim=s; aspf=s; t=y; psd=n; fo=1:d; rua=mailto:a@example.com",
	    1);

	CU_ASSERT_EQUAL(r.p, DKK_DMARC_QUARANTINE);
	CU_ASSERT_EQUAL(r.sp, DKK_DMARC_REJECT);
	CU_ASSERT_EQUAL(r.np, DKK_DMARC_POLICY_NONE);
	CU_ASSERT(r.adkim_strict && r.aspf_strict && r.testing && r.rua);
	CU_ASSERT_EQUAL(r.psd, 'n');
	CU_ASSERT_EQUAL(r.fo, DMARC_FO_1 | DMARC_FO_D);
	r = rec("v=DMARC1; P=REJECT; SP = none", 1);	/* ABNF literals */
	CU_ASSERT(r.p == DKK_DMARC_REJECT && r.sp == DKK_DMARC_POLICY_NONE);
	r = rec("v=DMARC1", 1);
	CU_ASSERT(r.p < 0 && r.sp < 0 && r.np < 0 && !r.testing);
	CU_ASSERT(!r.adkim_strict && !r.aspf_strict && r.psd == 'u');
	CU_ASSERT_EQUAL(r.fo, DMARC_FO_0);
	CU_ASSERT(dmarc_record_usable(&r, false));
	CU_ASSERT_EQUAL(r.p, DKK_DMARC_POLICY_NONE);
}

/* 4.8: syntax errors in the remainder fall back to defaults; unknown
 * tags are ignored; a repeated tag keeps its first value. */
static void
dmarc_record_lenient(void)
{
	struct dmarc_rec r = rec("v=DMARC1; p=reject; foo=bar; t=maybe; "
	    "psd=x; adkim=q; fo=0:1; garbage; p=none; ;", 1);

	CU_ASSERT_EQUAL(r.p, DKK_DMARC_REJECT);
	CU_ASSERT(!r.testing && r.psd == 'u' && !r.adkim_strict);
	CU_ASSERT_EQUAL(r.fo, DMARC_FO_0);
	CU_ASSERT(!r.bad_policy);
}

/* 4.10.1: a bad p, sp or np makes the record unusable, unless rua has a
 * valid URI: then it counts as p=none. */
static void
dmarc_record_bad_policy(void)
{
	struct dmarc_rec r = rec("v=DMARC1; p=bogus", 1);

	CU_ASSERT(r.bad_policy);
	CU_ASSERT(!dmarc_record_usable(&r, false));
	r = rec("v=DMARC1; p=reject; sp=maybe", 1);
	CU_ASSERT(!dmarc_record_usable(&r, false));
	r = rec("v=DMARC1; p=reject; np=", 1);
	CU_ASSERT(!dmarc_record_usable(&r, false));
	r = rec("v=DMARC1; p=bogus; rua=mailto:r@example.com!10m", 1);
	CU_ASSERT(dmarc_record_usable(&r, false));
	CU_ASSERT_EQUAL(r.p, DKK_DMARC_POLICY_NONE);
	r = rec("v=DMARC1; p=bogus; rua=not a uri", 1);
	CU_ASSERT(!dmarc_record_usable(&r, false));
}

/* RFC 7489 mode: pct and ri read; np, psd and t are unknown tags (RFC
 * 7489 6.3); p is required (6.6.3 step 6).  In RFC 9989 mode pct is a
 * historic tag (9.3), ignored. */
static void
dmarc_record_rfc7489(void)
{
	const char *t = "v=DMARC1; p=reject; np=none; t=y; psd=y; pct=20; "
	    "ri=3600";
	struct dmarc_rec r;

	CU_ASSERT_EQUAL(dmarc_record_parse(t, strlen(t), true, &r), 1);
	CU_ASSERT(r.np < 0 && !r.testing && r.psd == 'u');
	CU_ASSERT(r.pct == 20 && r.ri == 3600);
	CU_ASSERT_EQUAL(dmarc_record_parse(t, strlen(t), false, &r), 1);
	CU_ASSERT(r.pct == 100 && r.np == 0 && r.testing && r.psd == 'y');
	t = "v=DMARC1; pct=101; sp=none";
	CU_ASSERT_EQUAL(dmarc_record_parse(t, strlen(t), true, &r), 1);
	CU_ASSERT_EQUAL(r.pct, 100);
	CU_ASSERT(!dmarc_record_usable(&r, true));
}

/* ---- the walk (RFC 9989 4.10) ---- */

static void
walk_expect(const char *d, const char *const *want, size_t nwant)
{
	const char *names[DMARC_WALK_MAX];
	size_t i, n = dmarc_walk_names(d, names);

	CU_ASSERT_EQUAL(n, nwant);
	for (i = 0; i < n && i < nwant; i++)
		CU_ASSERT_STRING_EQUAL(names[i], want[i]);
}

/* 4.10 steps 3, 4, 7 and the example with eight queries. */
static void
dmarc_walk_label_skipping(void)
{
	static const char *const rfc[] = {
		"a.b.c.d.e.f.g.h.i.j.mail.example.com",
		"g.h.i.j.mail.example.com", "h.i.j.mail.example.com",
		"i.j.mail.example.com", "j.mail.example.com",
		"mail.example.com", "example.com", "com",
	};
	static const char *const small[] = { "a.mail.example.com",
	    "mail.example.com", "example.com", "com" };
	static const char *const eight[] = { "a.b.c.d.e.f.example.com",
	    "b.c.d.e.f.example.com", "c.d.e.f.example.com",
	    "d.e.f.example.com", "e.f.example.com", "f.example.com",
	    "example.com", "com" };
	static const char *const one[] = { "com" };
	/* 9 labels: the first query, then 7 labels and up: 8 queries */
	static const char *const nine[] = { "a.b.c.d.e.f.g.example.com",
	    "c.d.e.f.g.example.com", "d.e.f.g.example.com",
	    "e.f.g.example.com", "f.g.example.com", "g.example.com",
	    "example.com", "com" };

	walk_expect(rfc[0], rfc, 8);
	walk_expect(small[0], small, 4);
	walk_expect(eight[0], eight, 8);	/* 8 labels: parent has 7 */
	walk_expect("com", one, 1);
	walk_expect(nine[0], nine, 8);
	CU_ASSERT_EQUAL(dmarc_labels("a.b.c"), 3);
}

static struct dmarc_found
found(int state, const char *txt)
{
	struct dmarc_found f;

	memset(&f, 0, sizeof(f));
	f.state = state;
	if (txt != NULL)
		dmarc_record_parse(txt, strlen(txt), false, &f.rec);
	return f;
}

/* 4.10.2 and its three examples. */
static void
dmarc_org_domain_rules(void)
{
	const char *names[DMARC_WALK_MAX];
	struct dmarc_found f[4];
	size_t n = dmarc_walk_names("a.mail.example.com", names);

	CU_ASSERT_EQUAL_FATAL(n, 4);
	/* records at mail.example.com and example.com: the shortest */
	f[0] = found(0, NULL);
	f[1] = found(1, "v=DMARC1; p=none");
	f[2] = found(1, "v=DMARC1; p=none");
	f[3] = found(0, NULL);
	CU_ASSERT_STRING_EQUAL(dmarc_org_domain(names, f, 4), "example.com");
	/* psd=n at mail.example.com: that one (the walk stopped there) */
	f[1] = found(1, "v=DMARC1; p=none; psd=n");
	CU_ASSERT_STRING_EQUAL(dmarc_org_domain(names, f, 2),
	    "mail.example.com");
	/* only _dmarc.com, psd=y: one label below */
	f[1] = found(0, NULL);
	f[2] = found(0, NULL);
	f[3] = found(1, "v=DMARC1; p=reject; psd=y");
	CU_ASSERT_STRING_EQUAL(dmarc_org_domain(names, f, 4), "example.com");
	/* nothing at all: the starting domain; several records count as
	 * none (4.10 step 2) */
	f[3] = found(2, NULL);
	CU_ASSERT_STRING_EQUAL(dmarc_org_domain(names, f, 4),
	    "a.mail.example.com");
	/* psd=y at the starting domain itself: not "one below" */
	f[0] = found(1, "v=DMARC1; psd=y");
	CU_ASSERT_STRING_EQUAL(dmarc_org_domain(names, f, 1),
	    "a.mail.example.com");
}

/* RFC 7489 3.2 with the list's wildcard and exception rules. */
static void
dmarc_psl_org_domain(void)
{
	static const char list[] = "// comment\ncom\nuk\nco.uk\n*.ck\n"
	    "!www.ck\n";
	struct unit_tmp t;
	struct psl *psl = NULL;
	struct buf why;

	CU_ASSERT_EQUAL_FATAL(unit_tmp_write(&t, "psl.dat", list,
	    strlen(list)), 0);
	buf_init(&why);
	CU_ASSERT_EQUAL_FATAL(psl_load(t.path, &psl, &why), DKK_OK);
	CU_ASSERT_STRING_EQUAL(psl_org_domain(psl, "a.b.example.com"),
	    "example.com");
	CU_ASSERT_STRING_EQUAL(psl_org_domain(psl, "mail.Example.CO.UK"),
	    "Example.CO.UK");
	CU_ASSERT_STRING_EQUAL(psl_org_domain(psl, "a.b.foo.ck"), "b.foo.ck");
	CU_ASSERT_STRING_EQUAL(psl_org_domain(psl, "a.www.ck"), "www.ck");
	CU_ASSERT_STRING_EQUAL(psl_org_domain(psl, "x.example.test"),
	    "example.test");	/* the implicit "*" rule */
	CU_ASSERT_STRING_EQUAL(psl_org_domain(psl, "co.uk"), "co.uk");
	psl_free(psl);
	unit_tmp_remove(&t);
	CU_ASSERT_EQUAL(psl_load(t.path, &psl, &why), DKK_EIO);
	buf_clear(&why);
}

/* ---- the verifier, over a table resolver ---- */

struct table {
	const char *const *rows;	/* name, txt (NULL: exists, no TXT) */
	const char *fail;		/* names ending so: TEMPFAIL ("=name":
					 * that name only) */
	int dmarc_queries;
};

static int
table_txt(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	struct table *t = arg;
	const char *txt[8];
	size_t len[8], n = 0, i, nl = strlen(name), fl;
	bool exists = false;
	struct dkk_dns_answer a = { DKK_DNS_OK, DKK_DNSSEC_UNKNOWN, 60, 0,
	    txt, len };

	if (strncmp(name, "_dmarc.", 7) == 0)
		t->dmarc_queries++;
	fl = t->fail != NULL ? strlen(t->fail) : 0;
	if ((fl > 0 && t->fail[0] == '=' && strcasecmp(name, t->fail + 1) ==
	    0) || (fl > 0 && t->fail[0] != '=' && nl >= fl &&
	    strcasecmp(name + nl - fl, t->fail) == 0)) {
		a.status = DKK_DNS_TEMPFAIL;
		cb(cbarg, &a);
		return DKK_OK;
	}
	for (i = 0; t->rows[i] != NULL; i += 2) {
		if (strcasecmp(t->rows[i], name) != 0)
			continue;
		exists = true;
		if (t->rows[i + 1] != NULL && n < 8) {
			txt[n] = t->rows[i + 1];
			len[n++] = strlen(t->rows[i + 1]);
		}
	}
	a.status = exists ? DKK_DNS_OK : DKK_DNS_NXDOMAIN;
	a.count = n;
	cb(cbarg, &a);
	return DKK_OK;
}

static const char *const zone_rows[] = {
	"_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=none",
	"example.com", "v=spf1 -all",
	"www.example.com", NULL,
	"_dmarc.strict.test", "v=DMARC1; p=reject; aspf=s",
	"mail.strict.test", NULL,
	"_dmarc.testing.test", "v=DMARC1; p=reject; t=y",
	"_dmarc.testq.test", "v=DMARC1; p=quarantine; t=y",
	"_dmarc.two.test", "v=DMARC1; p=reject",
	"_dmarc.two.test", "v=DMARC1; p=none",
	"_dmarc.bad.test", "v=DMARC1; p=bogus",
	"_dmarc.badrua.test", "v=DMARC1; p=bogus; rua=mailto:r@badrua.test",
	"_dmarc.psd.test", "v=DMARC1; p=reject; psd=y",
	"_dmarc.org.psd.test", "v=DMARC1; p=none",
	"_dmarc.nosp.test", "v=DMARC1; p=reject; np=quarantine",
	"sub.nosp.test", NULL,
	"_dmarc.tmp.test", "v=DMARC1; p=reject",
	"_dmarc.ws.test", " v=DMARC1; p=reject",
	"_dmarc.tnone.test", "v=DMARC1; p=none; t=y",
	"_dmarc.ps.test", "v=DMARC1; p=reject; psd=y",
	"_dmarc.dup.psx", "v=DMARC1; p=reject",
	"_dmarc.dup.psx", "v=DMARC1; p=none",
	"_dmarc.psx", "v=DMARC1; p=quarantine",
	"_dmarc.badsp.test", "v=DMARC1; p=reject; sp=bogus; "
	    "rua=mailto:r@badsp.test",
	"_dmarc.nosemi.test", "v=DMARC1 p=reject",
	"_dmarc.xn--bcher-kva.test", "v=DMARC1; p=reject",
	NULL, NULL,
};

struct dcase {
	const char *from;	/* the From field's value */
	const char *spf;	/* a mailfrom SPF pass for this domain */
	const char *fail;	/* TEMPFAIL suffix */
	enum dkk_dmarc result;
	enum dkk_dmarc_policy policy, disposition;
	const char *policy_domain;
};

static void
dmarc_case(const struct dcase *c)
{
	static const struct dkk_resolver ops = { .query_txt = table_txt };
	struct table t = { zone_rows, c->fail, 0 };
	struct dkk_verify_opts o = { .dmarc = 1 };
	struct dkk_dmarc_result d;
	dkk_ctx *ctx;
	dkk_verifier *v;
	char m[512];

	if (c->spf != NULL) {
		o.spf.result = DKK_SPF_PASS;
		o.spf.domain = c->spf;
	}
	snprintf(m, sizeof(m), "From: %s\r\nSubject: x\r\n\r\nbody\r\n",
	    c->from);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &t), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	if (d.result != c->result || d.policy != c->policy ||
	    d.disposition != c->disposition) {
		fprintf(stderr, "From %s: %s %s %s (%s), want %s %s %s\n",
		    c->from, dkk_dmarc_result_name(d.result),
		    dkk_dmarc_policy_name(d.policy),
		    dkk_dmarc_policy_name(d.disposition), d.reason,
		    dkk_dmarc_result_name(c->result),
		    dkk_dmarc_policy_name(c->policy),
		    dkk_dmarc_policy_name(c->disposition));
		CU_FAIL("unexpected DMARC outcome");
	}
	if (c->policy_domain != NULL && (d.policy_domain == NULL ||
	    strcmp(d.policy_domain, c->policy_domain) != 0))
		CU_FAIL("unexpected policy domain");
	CU_ASSERT(t.dmarc_queries <= 8);
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
}

/* One message through the table resolver: the DMARC result, with its
 * reason kept for the messages of failed assertions. */
static enum dkk_dmarc
dmarc_outcome(const char *msg, const struct dkk_spf_facts *spf,
    const char *fail, enum dkk_dmarc_policy *disposition)
{
	static const struct dkk_resolver ops = { .query_txt = table_txt };
	struct table t = { zone_rows, fail, 0 };
	struct dkk_verify_opts o = { .dmarc = 1 };
	struct dkk_dmarc_result d;
	enum dkk_dmarc res = DKK_DMARC_NONE;
	dkk_ctx *ctx;
	dkk_verifier *v;

	if (spf != NULL)
		o.spf = *spf;
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &t), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, msg, strlen(msg)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	if (dkk_verifier_dmarc(v, &d) == DKK_OK) {
		res = d.result;
		*disposition = d.disposition;
	} else {
		CU_FAIL("no DMARC result");
	}
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
	return res;
}

/* A temporary DNS failure in the DKIM or SPF check of an aligned
 * identifier, with nothing aligned passing, is temperror (issue 20:
 * never fail; RFC 9989 5.3.6's reading for a check that did not
 * complete); an unaligned identifier's temperror cannot turn into an
 * aligned pass, so the fail stands; an aligned pass wins either way. */
static void
dmarc_identifier_temperror(void)
{
	static const char unsigned_msg[] =
	    "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
	static const char signed_msg[] =
	    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel;\r\n"
	    " c=relaxed/relaxed; h=from:subject;\r\n"
	    " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
	    " b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==\r\n"
	    "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
	const struct dkk_spf_facts tmp_aligned = { DKK_SPF_TEMPERROR,
	    DKK_SPF_MAILFROM, "bounce.example.com" };
	const struct dkk_spf_facts tmp_other = { DKK_SPF_TEMPERROR,
	    DKK_SPF_MAILFROM, "other.test" };
	const struct dkk_spf_facts pass_aligned = { DKK_SPF_PASS,
	    DKK_SPF_MAILFROM, "example.com" };
	enum dkk_dmarc_policy disp = DKK_DMARC_POLICY_NONE;

	CU_ASSERT_EQUAL(dmarc_outcome(unsigned_msg, &tmp_aligned, NULL,
	    &disp), DKK_DMARC_TEMPERROR);
	CU_ASSERT_EQUAL(dmarc_outcome(unsigned_msg, &tmp_other, NULL, &disp),
	    DKK_DMARC_FAIL);
	CU_ASSERT_EQUAL(disp, DKK_DMARC_REJECT);
	/* the signature's key lookup fails temporarily */
	CU_ASSERT_EQUAL(dmarc_outcome(signed_msg, NULL,
	    "=sel._domainkey.example.com", &disp), DKK_DMARC_TEMPERROR);
	CU_ASSERT_EQUAL(dmarc_outcome(signed_msg, &pass_aligned,
	    "=sel._domainkey.example.com", &disp), DKK_DMARC_PASS);
	/* the key answers (no record): permerror, not DNS trouble */
	CU_ASSERT_EQUAL(dmarc_outcome(signed_msg, NULL, NULL, &disp),
	    DKK_DMARC_FAIL);
}

#define N DKK_DMARC_POLICY_NONE
#define Q DKK_DMARC_QUARANTINE
#define R DKK_DMARC_REJECT

/* 4.10.1 policy discovery; p for the domain, sp for an existing
 * subdomain, np for a non-existent one (3.2.13: NXDOMAIN). */
static void
dmarc_policy_selection(void)
{
	static const struct dcase cases[] = {
		{ "a@example.com", NULL, NULL, DKK_DMARC_FAIL, R, R,
		    "example.com" },
		{ "a@www.example.com", NULL, NULL, DKK_DMARC_FAIL, Q, Q,
		    "example.com" },
		{ "a@nx.example.com", NULL, NULL, DKK_DMARC_FAIL, N, N,
		    "example.com" },
		/* np absent: sp, else p; np present: it decides */
		{ "a@sub.nosp.test", NULL, NULL, DKK_DMARC_FAIL, R, R, NULL },
		{ "a@nx.nosp.test", NULL, NULL, DKK_DMARC_FAIL, Q, Q, NULL },
		{ "a@nothing.test", NULL, NULL, DKK_DMARC_NONE, N, N, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* 4.4 alignment: relaxed by Organizational Domain, strict by equality;
 * only the mailfrom identity aligns (4.4.2). */
static void
dmarc_alignment_modes(void)
{
	static const struct dcase cases[] = {
		{ "a@example.com", "example.com", NULL, DKK_DMARC_PASS, R, N,
		    NULL },
		{ "a@example.com", "bounce.example.com", NULL,
		    DKK_DMARC_PASS, R, N, NULL },
		{ "a@www.example.com", "example.com", NULL, DKK_DMARC_PASS,
		    Q, N, NULL },
		{ "a@example.com", "example.net", NULL, DKK_DMARC_FAIL, R, R,
		    NULL },
		{ "a@strict.test", "strict.test", NULL, DKK_DMARC_PASS, R, N,
		    NULL },
		{ "a@strict.test", "mail.strict.test", NULL, DKK_DMARC_FAIL,
		    R, R, NULL },
		/* an address as SPF's domain (smtp.mailfrom) */
		{ "a@strict.test", "<bounce@strict.test>", NULL,
		    DKK_DMARC_PASS, R, N, NULL },
		{ "a@strict.test", "strict.test.", NULL, DKK_DMARC_PASS, R, N,
		    NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* 4.7 t=y: the disposition is one level below the policy. */
static void
dmarc_testing_mode(void)
{
	static const struct dcase cases[] = {
		{ "a@testing.test", NULL, NULL, DKK_DMARC_FAIL, R, Q, NULL },
		{ "a@testq.test", NULL, NULL, DKK_DMARC_FAIL, Q, N, NULL },
		/* t=y with p=none: none stays none */
		{ "a@tnone.test", NULL, NULL, DKK_DMARC_FAIL, N, N, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* 4.10 step 2: several DMARC records at a name count as none; 4.10.1:
 * a bad p without rua means no DMARC processing (permerror here), with
 * rua it is p=none. */
static void
dmarc_record_sets(void)
{
	static const struct dcase cases[] = {
		{ "a@two.test", NULL, NULL, DKK_DMARC_NONE, N, N, NULL },
		{ "a@bad.test", NULL, NULL, DKK_DMARC_PERMERROR, N, N, NULL },
		{ "a@badrua.test", NULL, NULL, DKK_DMARC_FAIL, N, N, NULL },
		/* 4.10.1: an invalid sp= is as bad as an invalid p=; with a
		 * valid rua= the record is p=none */
		{ "a@badsp.test", NULL, NULL, DKK_DMARC_FAIL, N, N, NULL },
		/* 4.10 step 2: a record not starting with its v tag is none
		 * (" v=DMARC1"), as is "v=DMARC1 p=reject" (no dmarc-sep:
		 * the version value is not "DMARC1") */
		{ "a@ws.test", NULL, NULL, DKK_DMARC_NONE, N, N, NULL },
		{ "a@nosemi.test", NULL, NULL, DKK_DMARC_NONE, N, N, NULL },
		/* two records at the Organizational Domain: none there, the
		 * walk goes on to the next name (4.10 step 2, 4.10.1) */
		{ "a@x.dup.psx", NULL, NULL, DKK_DMARC_FAIL, Q, Q, "psx" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* 4.10.1: a PSD record (psd=y) applies below it when the
 * Organizational Domain has none; the Organizational Domain's own
 * record wins when it exists. */
static void
dmarc_psd_policy(void)
{
	static const struct dcase cases[] = {
		{ "a@x.other.psd.test", NULL, NULL, DKK_DMARC_FAIL, R, R,
		    "psd.test" },
		{ "a@x.org.psd.test", NULL, NULL, DKK_DMARC_FAIL, N, N,
		    "org.psd.test" },
		/* relaxed alignment stops at the PSD boundary */
		{ "a@x.other.psd.test", "y.other.psd.test", NULL,
		    DKK_DMARC_PASS, R, N, NULL },
		{ "a@other.psd.test", "another.psd.test", NULL,
		    DKK_DMARC_FAIL, R, R, NULL },
		/* psd=y at the Author Domain itself: it is its own
		 * Organizational Domain (4.10.2), mail.ps.test's is
		 * mail.ps.test, so relaxed alignment fails */
		{ "a@ps.test", "mail.ps.test", NULL, DKK_DMARC_FAIL, R, R,
		    "ps.test" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* Relaxed alignment with an identifier that is a parent of the Author
 * Domain: its Organizational Domain comes from the names the author's
 * own walk asked (4.10.2 read from the identifier down), and must be
 * what a walk of its own would give, psd= records included. */
static void
dmarc_id_parent_of_author(void)
{
	static const struct dcase cases[] = {
		{ "a@www.example.com", "example.com", NULL, DKK_DMARC_PASS,
		    Q, N, "example.com" },
		/* psd=y at psd.test: both Organizational Domains are
		 * org.psd.test, one label below it */
		{ "a@x.y.org.psd.test", "org.psd.test", NULL,
		    DKK_DMARC_PASS, N, N, "org.psd.test" },
		/* the PSD itself is not the author's Organizational
		 * Domain: no alignment */
		{ "a@x.org.psd.test", "psd.test", NULL, DKK_DMARC_FAIL, N, N,
		    "org.psd.test" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* 5.3.6: DNS trouble anywhere gives temperror, never fail. */
static void
dmarc_temperror(void)
{
	static const struct dcase cases[] = {
		{ "a@tmp.test", NULL, "tmp.test", DKK_DMARC_TEMPERROR, N, N,
		    NULL },
		{ "a@x.y.tmp.test", NULL, "y.tmp.test", DKK_DMARC_TEMPERROR,
		    N, N, NULL },
		/* the Organizational Domain of the SPF domain */
		{ "a@example.com", "x.example.com", "_dmarc.x.example.com",
		    DKK_DMARC_TEMPERROR, R, N, NULL },
		/* the Author Domain's existence, needed for np= on fail but
		 * not for a pass */
		{ "a@x.nosp.test", NULL, "=x.nosp.test", DKK_DMARC_TEMPERROR,
		    R, N, NULL },
		{ "a@x.nosp.test", "nosp.test", "=x.nosp.test",
		    DKK_DMARC_PASS, R, N, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* 5.3.1, 11.5: each Author Domain, the strictest failure wins; no
 * author, or a malformed From, is permerror. */
static void
dmarc_from_forms(void)
{
	static const struct dcase cases[] = {
		{ "a@nothing.test, b@example.com", NULL, NULL,
		    DKK_DMARC_FAIL, R, R, "example.com" },
		{ "a@testing.test, b@example.com", NULL, NULL,
		    DKK_DMARC_FAIL, R, R, "example.com" },
		{ "undisclosed:;", NULL, NULL, DKK_DMARC_PERMERROR, N, N,
		    NULL },
		{ "", NULL, NULL, DKK_DMARC_PERMERROR, N, N, NULL },
		{ "\"x\" <a@nothing.test", NULL, NULL, DKK_DMARC_PERMERROR,
		    N, N, NULL },
		/* RFC 9989 5.3.1: a U-label domain is looked up as its
		 * A-label; one that is not UTF-8 is no domain (permerror),
		 * never its ASCII prefix */
		{ "a@b\xc3\xbc" "cher.test", NULL, NULL, DKK_DMARC_FAIL, R, R,
		    "xn--bcher-kva.test" },
		{ "a@b\xfc" "cher.test", NULL, NULL, DKK_DMARC_PERMERROR, N,
		    N, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		dmarc_case(&cases[i]);
}

/* The eight-query bound of 4.10 over a long name with no record. */
static void
dmarc_query_bound(void)
{
	static const struct dkk_resolver ops = { .query_txt = table_txt };
	struct table t = { zone_rows, NULL, 0 };
	struct dkk_verify_opts o = { .dmarc = 1 };
	const char *m = "From: a@1.2.3.4.5.6.7.8.9.10.11.12.nothing.test\r\n"
	    "\r\nbody\r\n";
	dkk_ctx *ctx;
	dkk_verifier *v;

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &t), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL(t.dmarc_queries, 8);
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
}

/* RFC 9989 11.2, RFC 8601 2.7.2: spf= with smtp.mailfrom, dmarc= with
 * header.from, polrec.p (the record's p=, here not the sp= that applied),
 * polrec.domain (the record was found above the Author Domain) and
 * policy.dmarc, read back by dkk_ar_parse(); a reason on temperror. */
static void
dmarc_ar_field(void)
{
	static const struct dkk_resolver ops = { .query_txt = table_txt };
	struct table t = { zone_rows, NULL, 0 };
	struct dkk_verify_opts o = { .dmarc = 1 };
	const char *m = "From: a@www.example.com, b@tmp.test\r\n\r\nbody\r\n";
	dkk_ctx *ctx;
	dkk_verifier *v;
	dkk_ar *ar = NULL;
	char *field = NULL;
	size_t i, k, seen = 0;

	o.spf.result = DKK_SPF_FAIL;
	o.spf.domain = "bounce.example.net";
	t.fail = "_dmarc.tmp.test";
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &t), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx.example",
	    DKK_FIELD_VALUE_ONLY, &field), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ar_parse(field, strlen(field), &ar),
	    DKK_OK);
	CU_ASSERT(ar->complete);
	for (i = 0; i < ar->nresults; i++) {
		const struct dkk_ar_result *r = &ar->results[i];
		const char *want = NULL;

		for (k = 0; k < r->nprops; k++) {
			const struct dkk_ar_prop *p = &r->props[k];

			if (strcmp(r->method, "spf") == 0 &&
			    strcmp(p->ptype, "smtp") == 0 &&
			    strcmp(p->property, "mailfrom") == 0)
				want = "bounce.example.net";
			else if (strcmp(r->method, "dmarc") == 0 &&
			    strcmp(p->ptype, "header") == 0)
				want = strcmp(r->result, "fail") == 0 ?
				    "www.example.com" : "tmp.test";
			else if (strcmp(p->ptype, "policy") == 0 &&
			    strcmp(p->property, "dmarc") == 0)
				want = "quarantine";
			else if (strcmp(p->ptype, "polrec") == 0 &&
			    strcmp(p->property, "p") == 0)
				want = "reject";	/* p=, not sp= */
			else if (strcmp(p->ptype, "polrec") == 0 &&
			    strcmp(p->property, "domain") == 0)
				want = "example.com";
			else
				continue;
			CU_ASSERT_STRING_EQUAL(p->value, want);
			seen++;
		}
		if (strcmp(r->method, "dmarc") == 0 &&
		    strcmp(r->result, "temperror") == 0)
			CU_ASSERT_PTR_NOT_NULL(r->reason);
	}
	CU_ASSERT_EQUAL(seen, 6);
	dkk_ar_free(ar);
	free(field);
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
}

/* DMARC off: no dmarc= or spf= (the field is as it always was), and
 * dkk_verifier_dmarc() says so; SPF facts given still make spf=. */
static void
dmarc_off_by_default(void)
{
	static const struct dkk_resolver ops = { .query_txt = table_txt };
	struct table t = { zone_rows, NULL, 0 };
	const char *m = "From: a@example.com\r\n\r\nbody\r\n";
	struct dkk_verify_opts o = { 0 };
	struct dkk_dmarc_result d;
	dkk_ctx *ctx;
	dkk_verifier *v;
	char *field = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &t), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, NULL, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_dmarc(v, &d), DKK_EINVAL);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_VALUE_ONLY |
	    DKK_FIELD_ONE_LINE,
	    &field), DKK_OK);
	CU_ASSERT_STRING_EQUAL(field, "mx; dkim=none");
	CU_ASSERT_EQUAL(t.dmarc_queries, 0);
	free(field);
	dkk_verifier_free(v);
	/* SPF facts without DMARC: spf= in the field all the same (RFC
	 * 8601 2.7.2), the domain of an address given */
	o.spf.result = DKK_SPF_SOFTFAIL;
	o.spf.domain = "<bounce@Mail.example.com.>";
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_dmarc(v, &d), DKK_EINVAL);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_VALUE_ONLY |
	    DKK_FIELD_ONE_LINE, &field), DKK_OK);
	CU_ASSERT_STRING_EQUAL(field, "mx; dkim=none; spf=softfail "
	    "smtp.mailfrom=Mail.example.com");
	CU_ASSERT_EQUAL(t.dmarc_queries, 0);
	free(field);
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
}

/* An asynchronous resolver over the table: answers come one at a time
 * from wait(), as from libunbound, so the walk (RFC 9989 4.10, each
 * query depends on the one before) goes on across calls of
 * dkk_verifier_final() (the host's event loop, DKK_EAGAIN meanwhile). */
struct later {
	struct table t;
	int n;
	char *name[32];
	dkk_dns_cb cb[32];
	void *cbarg[32];
	int answered;
};

static int
later_txt(void *arg, const char *name, dkk_dns_cb cb, void *cbarg)
{
	struct later *l = arg;

	if (l->n == 32)
		return DKK_ELIMIT;
	l->name[l->n] = strdup(name);
	l->cb[l->n] = cb;
	l->cbarg[l->n++] = cbarg;
	return DKK_OK;
}

static int
later_wait(void *arg)
{
	struct later *l = arg;

	if (l->answered == l->n)
		return DKK_ESTATE;
	table_txt(&l->t, l->name[l->answered], l->cb[l->answered],
	    l->cbarg[l->answered]);
	free(l->name[l->answered++]);
	return DKK_OK;
}

static void
dmarc_async_walk(void)
{
	static const struct dkk_resolver ops = { .query_txt = later_txt,
	    .wait = later_wait };
	struct later l;
	struct dkk_verify_opts o = { .dmarc = 1 };
	const char *m = "From: a@x.y.example.com\r\n\r\nbody\r\n";
	struct dkk_dmarc_result d;
	dkk_ctx *ctx;
	dkk_verifier *v;
	int rc, rounds = 0;

	memset(&l, 0, sizeof(l));
	l.t.rows = zone_rows;
	o.spf.result = DKK_SPF_PASS;
	o.spf.domain = "bounce.example.com";
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &l), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	/* the first _dmarc query left with the header block */
	CU_ASSERT_EQUAL(l.n, 1);
	while ((rc = dkk_verifier_final(v)) == DKK_EAGAIN && rounds++ < 50)
		CU_ASSERT_EQUAL_FATAL(dkk_ctx_wait(ctx), DKK_OK);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	CU_ASSERT(rounds > 2);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.result, DKK_DMARC_PASS);
	CU_ASSERT(d.spf_aligned);
	CU_ASSERT_STRING_EQUAL(d.policy_domain, "example.com");
	/* x.y.example.com does not exist: np=none (RFC 9989 4.7) */
	CU_ASSERT_EQUAL(d.policy, DKK_DMARC_POLICY_NONE);
	dkk_verifier_free(v);
	while (l.answered < l.n)
		free(l.name[l.answered++]);
	dkk_ctx_free(ctx);
}

/* dkk_verifier_set_spf(): a verifier made with spf_later runs its
 * lookups (the walk goes on) without the SPF result, says DKK_EAGAIN at
 * final until the result is handed in, and only then decides DMARC,
 * aligning what came late: the SPF pass of bounce.example.com aligns
 * with From example.com (relaxed, RFC 9989 4.4.2), so DMARC passes
 * where without it p=reject fails.  The A-R field carries it. */
static void
dmarc_spf_later(void)
{
	static const struct dkk_resolver ops = { .query_txt = later_txt,
	    .wait = later_wait };
	static const struct dkk_spf_facts pass = { DKK_SPF_PASS,
	    DKK_SPF_MAILFROM, "user@Bounce.example.com" };
	struct later l;
	struct dkk_verify_opts o = { .dmarc = 1, .spf_later = 1 };
	const char *m = "From: a@example.com\r\n\r\nbody\r\n";
	struct dkk_dmarc_result d;
	dkk_ctx *ctx;
	dkk_verifier *v;
	char *field = NULL;
	int rc, rounds = 0;

	memset(&l, 0, sizeof(l));
	l.t.rows = zone_rows;
	/* ignored with spf_later: the result to align is the late one */
	o.spf.result = DKK_SPF_FAIL;
	o.spf.domain = "example.com";
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &l), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(l.n, 1);	/* the walk began without SPF */
	while ((rc = dkk_verifier_final(v)) == DKK_EAGAIN && rounds++ < 50 &&
	    l.answered < l.n)
		CU_ASSERT_EQUAL_FATAL(dkk_ctx_wait(ctx), DKK_OK);
	/* every answer in, SPF still missing: no verdict yet */
	CU_ASSERT_EQUAL(rc, DKK_EAGAIN);
	CU_ASSERT_EQUAL(l.answered, l.n);
	CU_ASSERT_NOT_EQUAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_ESTATE);
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(v, &pass), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.result, DKK_DMARC_PASS);
	CU_ASSERT(d.spf_aligned);
	CU_ASSERT_FALSE(d.dkim_aligned);
	/* too late now */
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(v, &pass), DKK_ESTATE);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_VALUE_ONLY |
	    DKK_FIELD_ONE_LINE, &field), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(field, "spf=pass "
	    "smtp.mailfrom=Bounce.example.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(field, "dmarc=pass"));
	free(field);
	dkk_verifier_free(v);
	while (l.answered < l.n)
		free(l.name[l.answered++]);
	dkk_ctx_free(ctx);
}

/* The same message with a late SPF fail: DMARC fails with p=reject; a
 * NULL result is none (nothing aligns either), and a verifier without
 * spf_later takes a result until it is final. */
static void
dmarc_spf_later_fail(void)
{
	static const struct dkk_resolver ops = { .query_txt = table_txt };
	static const struct dkk_spf_facts fail = { DKK_SPF_FAIL,
	    DKK_SPF_MAILFROM, "example.com" };
	struct table t = { zone_rows, NULL, 0 };
	struct dkk_verify_opts o = { .dmarc = 1, .spf_later = 1 };
	const char *m = "From: a@example.com\r\n\r\nbody\r\n";
	struct dkk_dmarc_result d;
	dkk_ctx *ctx;
	dkk_verifier *v;

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &t), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_EAGAIN);
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(v, &fail), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.result, DKK_DMARC_FAIL);
	CU_ASSERT_EQUAL(d.disposition, DKK_DMARC_REJECT);
	dkk_verifier_free(v);

	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(v, NULL), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.result, DKK_DMARC_FAIL);
	dkk_verifier_free(v);

	o.spf_later = 0;
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(v, &fail), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.result, DKK_DMARC_FAIL);
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(v, &fail), DKK_ESTATE);
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(NULL, &fail), DKK_EINVAL);
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
}

/* A header block over a limit is not evaluated: DMARC is permerror with
 * the reason, in the getter and the A-R field, and makes no query. */
static void
dmarc_header_over_limit(void)
{
	static const struct dkk_resolver ops = { .query_txt = table_txt };
	struct table t = { zone_rows, NULL, 0 };
	struct dkk_verify_opts o = { .dmarc = 1 };
	const char *m = "From: a@example.com\r\nTo: b@example.com\r\n"
	    "Subject: x\r\n\r\nbody\r\n";
	struct dkk_dmarc_result d;
	dkk_ctx *ctx;
	dkk_verifier *v;
	char *field = NULL;

	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_resolver(ctx, &ops, &t), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_limit(ctx, DKK_LIMIT_HEADER_FIELDS,
	    2), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.result, DKK_DMARC_PERMERROR);
	CU_ASSERT_STRING_EQUAL(d.reason, "header not evaluated");
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_ar(v, "mx", DKK_FIELD_VALUE_ONLY |
	    DKK_FIELD_ONE_LINE, &field), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(field,
	    "dmarc=permerror reason=\"header not evaluated\""));
	CU_ASSERT_EQUAL(t.dmarc_queries, 0);
	free(field);
	dkk_verifier_free(v);
	/* With the SPF result to come (a filter's session): DMARC is
	 * settled at once, the late result is still taken, and the
	 * verifier does not wait for ever (it did: set_spf refused it). */
	o.spf_later = 1;
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &o, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, m, strlen(m)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_EAGAIN);
	CU_ASSERT_EQUAL(dkk_verifier_set_spf(v, NULL), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_final(v), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_verifier_dmarc(v, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.result, DKK_DMARC_PERMERROR);
	dkk_verifier_free(v);
	dkk_ctx_free(ctx);
}

static const struct unit_test dmarc_tests[] = {
	{ "dmarc_header_over_limit", dmarc_header_over_limit },
	{ "dmarc_async_walk", dmarc_async_walk },
	{ "dmarc_spf_later", dmarc_spf_later },
	{ "dmarc_spf_later_fail", dmarc_spf_later_fail },
	{ "dmarc_ar_field", dmarc_ar_field },
	{ "dmarc_off_by_default", dmarc_off_by_default },
	{ "dmarc_record_version", dmarc_record_version },
	{ "dmarc_record_tags", dmarc_record_tags },
	{ "dmarc_record_lenient", dmarc_record_lenient },
	{ "dmarc_record_bad_policy", dmarc_record_bad_policy },
	{ "dmarc_record_rfc7489", dmarc_record_rfc7489 },
	{ "dmarc_walk_label_skipping", dmarc_walk_label_skipping },
	{ "dmarc_org_domain_rules", dmarc_org_domain_rules },
	{ "dmarc_psl_org_domain", dmarc_psl_org_domain },
	{ "dmarc_policy_selection", dmarc_policy_selection },
	{ "dmarc_alignment_modes", dmarc_alignment_modes },
	{ "dmarc_testing_mode", dmarc_testing_mode },
	{ "dmarc_record_sets", dmarc_record_sets },
	{ "dmarc_psd_policy", dmarc_psd_policy },
	{ "dmarc_id_parent_of_author", dmarc_id_parent_of_author },
	{ "dmarc_temperror", dmarc_temperror },
	{ "dmarc_identifier_temperror", dmarc_identifier_temperror },
	{ "dmarc_from_forms", dmarc_from_forms },
	{ "dmarc_query_bound", dmarc_query_bound },
	{ NULL, NULL }
};

void
suite_dmarc(void)
{
	unit_suite("dmarc", dmarc_tests);
}
