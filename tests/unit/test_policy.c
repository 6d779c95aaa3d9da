/*
 * test_policy.c: the signing policy (dkk_policy) on its corners: the
 * order of refile: patterns, a pattern that is a prefix of another, "*@*",
 * "%", SubDomains at the apex and below, MultipleSignatures, csl:,
 * InternalHosts with IPv4, IPv6, networks, names and "!", every
 * configuration error's message, dkk_policy_check's findings, and exact
 * lookups that do not grow with the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define FX_FILES 8

/* A folder of configuration files; "@D@" in their text is the folder. */
struct pfx {
	char dir[256];
	char path[FX_FILES][320];
	size_t n;
	dkk_ctx *ctx;
	dkk_policy *p;
};

static int
pfx_init(struct pfx *fx)
{
	const char *tmp = getenv("TMPDIR");

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s/dkk-policy-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL || dkk_ctx_new(&fx->ctx) != DKK_OK) {
		CU_FAIL("fixture");
		return -1;
	}
	return 0;
}

static const char *
pfx_file(struct pfx *fx, const char *name, const char *text)
{
	char *path = fx->path[fx->n++], dir[sizeof(fx->dir)];
	const char *at;
	FILE *f;

	memcpy(dir, fx->dir, sizeof(dir));
	snprintf(path, sizeof(fx->path[0]), "%.255s/%.63s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return path;
	for (; (at = strstr(text, "@D@")) != NULL; text = at + 3) {
		fwrite(text, 1, (size_t)(at - text), f);
		fputs(fx->dir, f);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	return path;
}

static void
pfx_free(struct pfx *fx)
{
	size_t i;

	dkk_policy_free(fx->p);
	dkk_ctx_free(fx->ctx);
	for (i = 0; i < fx->n; i++)
		unlink(fx->path[i]);
	rmdir(fx->dir);
}

/* The policy of this opendkim.conf, or NULL (then the error is in ctx). */
static int
pfx_policy(struct pfx *fx, const char *conf)
{
	return dkk_policy_new(fx->ctx, pfx_file(fx, "opendkim.conf", conf),
	    &fx->p);
}

/* A fixture with this opendkim.conf read: 0, or -1 (the failure said). */
static int
pfx_open(struct pfx *fx, const char *conf)
{
	if (pfx_init(fx) != 0)
		return -1;
	if (pfx_policy(fx, conf) != DKK_OK) {
		fprintf(stderr, "\n  %s\n", dkk_ctx_error(fx->ctx));
		CU_FAIL("dkk_policy_new");
		pfx_free(fx);
		return -1;
	}
	return 0;
}

/* "s1,s2" (the selectors to sign with), "-" (none: not signed). */
static char *
decide(struct pfx *fx, const char *from, const char *ip, const char *host,
    const char *auth)
{
	struct dkk_policy_client c = { from, ip, host, auth };
	struct dkk_decision d;
	static char out[256];
	size_t i;

	out[0] = '\0';
	if (dkk_policy_decide(fx->p, &c, &d) != DKK_OK)
		return strcpy(out, "error");
	if (!d.sign)
		strcpy(out, "-");
	for (i = 0; d.sign && i < d.nsigs; i++) {
		strcat(out, i > 0 ? "," : "");
		strcat(out, d.sigs[i].selector);
	}
	dkk_decision_clear(&d);
	return out;
}

/* The selectors for an unauthenticated client at ip, by name unknown. */
#define WANT(fx, from, ip, want) \
	CU_ASSERT_STRING_EQUAL(decide(fx, from, ip, NULL, NULL), want)

static const char keytable[] =
    "k1 example.com:s1:@D@/k1.pem\n"
    "k2 example.com:s2:@D@/k2.pem\n"
    "k3 %:s3:@D@/%.pem\n"
    "ceo example.com:ceo:@D@/ceo.pem\n";

static void
policy_refile_order_and_prefix(void)
{
	struct pfx fx;

	if (pfx_init(&fx) != 0)
		return;
	pfx_file(&fx, "keys", keytable);
	pfx_file(&fx, "signing",
	    "ceo@example.com ceo\n"
	    "ceo*@example.com k2\n"
	    "*@example.com k1\n"
	    "*@* k3\n");
	CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx,
	    "KeyTable @D@/keys\nSigningTable refile:@D@/signing\n"), DKK_OK);
	WANT(&fx, "ceo@example.com", "127.0.0.1", "ceo");
	WANT(&fx, "ceox@example.com", "127.0.0.1", "s2");
	WANT(&fx, "CEO@Example.COM", "127.0.0.1", "ceo");
	WANT(&fx, "bob@example.com", "::1", "s1");
	WANT(&fx, "bob@example.org", "::1", "s3");
	pfx_free(&fx);
}

/* "%" is the author's domain in d= and in the key's path. */
static void
policy_percent_and_catchall(void)
{
	struct dkk_policy_client c = { "q@shop.example.org", "127.0.0.1",
	    NULL, NULL };
	struct dkk_decision d;
	struct pfx fx;
	char want[2048];

	if (pfx_init(&fx) != 0)
		return;
	pfx_file(&fx, "keys", keytable);
	pfx_file(&fx, "signing", "*@* k3:@%\n");
	CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx,
	    "KeyTable @D@/keys\nSigningTable refile:@D@/signing\n"), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_policy_decide(fx.p, &c, &d), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(d.nsigs, 1);
	CU_ASSERT_STRING_EQUAL(d.sigs[0].domain, "shop.example.org");
	CU_ASSERT_STRING_EQUAL(d.sigs[0].identity, "@shop.example.org");
	CU_ASSERT_STRING_EQUAL(d.sigs[0].algorithm, "rsa-sha256");
	snprintf(want, sizeof(want), "%s/shop.example.org.pem", fx.dir);
	CU_ASSERT_STRING_EQUAL(d.sigs[0].keyfile, want);
	snprintf(want, sizeof(want), "%s/signing:1", fx.dir);
	CU_ASSERT_STRING_EQUAL(d.sigs[0].signing_line, want);
	snprintf(want, sizeof(want), "%s/keys:3", fx.dir);
	CU_ASSERT_STRING_EQUAL(d.sigs[0].key_line, want);
	dkk_decision_clear(&d);
	pfx_free(&fx);
}

/* An exact SigningTable: "domain" for the apex, ".domain" below it,
 * with or without SubDomains (opendkim 2.11 asks the parents either
 * way); SubDomains is for the Domain list, whose d= is then the parent
 * listed. */
static void
policy_subdomains(void)
{
	static const char *const conf[2] = {
	    "KeyTable @D@/keys\nSigningTable @D@/signing\nSubDomains yes\n",
	    "KeyTable @D@/keys\nSigningTable @D@/signing\nSubDomains no\n"
	};
	struct dkk_policy_client c = { "a@x.example.com", "::1", NULL, NULL };
	struct dkk_decision d;
	struct pfx fx;
	int i;

	for (i = 0; i < 2; i++) {
		if (pfx_init(&fx) != 0)
			return;
		pfx_file(&fx, "keys", keytable);
		pfx_file(&fx, "signing", "example.com k1\n.example.com k2\n");
		CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx, conf[i]), DKK_OK);
		WANT(&fx, "a@example.com", "127.0.0.1", "s1");
		WANT(&fx, "a@x.example.com", "127.0.0.1", "s2");
		WANT(&fx, "a@y.x.example.com", "127.0.0.1", "s2");
		WANT(&fx, "a@badexample.com", "127.0.0.1", "-");
		pfx_free(&fx);
	}
	if (pfx_open(&fx, "Domain example.com\nSelector s\nKeyFile /k\n"
	    "SubDomains yes\n") != 0)
		return;
	CU_ASSERT_EQUAL_FATAL(dkk_policy_decide(fx.p, &c, &d), DKK_OK);
	CU_ASSERT_EQUAL(d.nsigs, 1);
	CU_ASSERT_STRING_EQUAL(d.sigs[0].domain, "example.com");
	dkk_decision_clear(&d);
	pfx_free(&fx);
	if (pfx_open(&fx, "Domain example.com\nSelector s\nKeyFile /k\n")
	    != 0)
		return;
	WANT(&fx, "a@x.example.com", "127.0.0.1", "-");
	WANT(&fx, "a@example.com", "127.0.0.1", "s");
	pfx_free(&fx);
}

static void
policy_multiple_signatures(void)
{
	static const char *const conf[2] = {
	    "KeyTable @D@/keys\nSigningTable @D@/signing\n"
	    "MultipleSignatures yes\n",
	    "KeyTable @D@/keys\nSigningTable @D@/signing\n"
	};
	static const char *const want[2][2] = {
		{ "ceo,s3", "s1,s3" },	/* "domain" only if "user@" missed */
		{ "ceo", "s1" }
	};
	struct pfx fx;
	int i;

	for (i = 0; i < 2; i++) {
		if (pfx_init(&fx) != 0)
			return;
		pfx_file(&fx, "keys", keytable);
		pfx_file(&fx, "signing",
		    "* k3\nexample.com k1\nceo@example.com ceo\n");
		CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx, conf[i]), DKK_OK);
		WANT(&fx, "ceo@example.com", "127.0.0.1", want[i][0]);
		WANT(&fx, "bob@example.com", "127.0.0.1", want[i][1]);
		WANT(&fx, "x@example.net", "127.0.0.1", "s3");
		pfx_free(&fx);
	}
}

/* csl: tables, and Domain/Selector/KeyFile without tables. */
static void
policy_csl_and_single_key(void)
{
	struct pfx fx;

	if (pfx_open(&fx,
	    "KeyTable csl:k1=example.com:s1:/k1.pem,"
	    " k2=example.net:s2:/k2.pem\n"
	    "SigningTable csl:example.com=k1,example.net=k2\n") != 0)
		return;
	WANT(&fx, "a@example.net", "127.0.0.1", "s2");
	WANT(&fx, "a@example.org", "127.0.0.1", "-");
	dkk_policy_free(fx.p);
	fx.p = NULL;
	CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx, "Domain example.com,example.net\n"
	    "Selector one\nKeyFile /k.pem\nSubDomains yes\n"), DKK_OK);
	WANT(&fx, "a@x.example.net", "127.0.0.1", "one");
	WANT(&fx, "a@example.org", "127.0.0.1", "-");
	pfx_free(&fx);
}

static void
policy_internal_hosts(void)
{
	static const struct {
		const char *ip, *host, *auth, *want;
	} cases[] = {
		{ "10.2.3.4", NULL, NULL, "s1" },	/* in 10/8 */
		{ "10.1.3.4", NULL, NULL, "-" },	/* !10.1/16 */
		{ "10.1.3.4", "relay.example", NULL, "s1" },	/* name first */
		{ "10.1.3.4", NULL, "alice", "s1" },	/* authenticated */
		{ "192.0.2.1", "a.int.example", NULL, "s1" },	/* .domain */
		{ "192.0.2.1", "int.example", NULL, "-" },
		{ "192.0.2.1", "x.bad.int.example", NULL, "-" },	/* ! */
		{ "2001:db8::1", NULL, NULL, "s1" },
		{ "2001:db8:bad::1", NULL, NULL, "-" },
		{ "2001:db9::1", NULL, NULL, "-" },
		{ "127.0.0.1", NULL, NULL, "-" },	/* no default now */
		{ "192.0.2.9", NULL, NULL, "s1" },
		{ NULL, NULL, NULL, "-" },	/* 127.0.0.1: not listed */
		{ "", NULL, NULL, "-" },
		{ NULL, "relay.example", NULL, "s1" },
		{ "not an address", NULL, NULL, "-" },
	};
	struct pfx fx;
	size_t i;

	if (pfx_open(&fx,
	    "Domain example.com\nSelector s1\nKeyFile /k.pem\n"
	    "InternalHosts csl:10.0.0.0/8, !10.1.0.0/16, 2001:db8::/32,"
	    "!2001:db8:bad::/48, relay.example, .int.example,"
	    "!.bad.int.example, 192.0.2.9\n") != 0)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_STRING_EQUAL(decide(&fx, "a@example.com", cases[i].ip,
		    cases[i].host, cases[i].auth), cases[i].want);
	pfx_free(&fx);
	/* The default: the local host only. */
	if (pfx_open(&fx,
	    "Domain example.com\nSelector s1\nKeyFile /k.pem\n") != 0)
		return;
	WANT(&fx, "a@example.com", "::1", "s1");
	WANT(&fx, "a@example.com", "10.0.0.1", "-");
	/* No address (a local submission) is 127.0.0.1, as opendkim
	 * takes a connection of family "unspec". */
	WANT(&fx, "a@example.com", NULL, "s1");
	WANT(&fx, "a@example.com", "", "s1");
	pfx_free(&fx);
}

/* Each error of the configuration, and its words. */
static void
policy_errors(void)
{
	static const struct {
		const char *conf;
		const char *want;	/* after "DIR/" */
	} cases[] = {
		{ "SubDomains maybe\n", "opendkim.conf:1: SubDomains: not yes "
		    "or no: 'maybe'" },
		{ "# c\nMultipleSignatures\n", "opendkim.conf:2: "
		    "MultipleSignatures: no value" },
		{ "Mode sx\n", "opendkim.conf:1: Mode: letters s and v only: "
		    "'sx'" },
		{ "Canonicalization loose\n", "opendkim.conf:1: "
		    "Canonicalization: not simple or relaxed (HEADER/BODY): "
		    "'loose'" },
		{ "SignatureTTL -5\n", "opendkim.conf:1: SignatureTTL: not a "
		    "number from 0 to 1099511627776: '-5'" },
		{ "MinimumKeyBits 99999\n", "opendkim.conf:1: MinimumKeyBits: "
		    "not a number from 0 to 16384: '99999'" },
		{ "KeyTable csl:a=b:c:d\n", "opendkim.conf:1: KeyTable: no "
		    "SigningTable to use it" },
		{ "SigningTable csl:a=b\n", "opendkim.conf:1: SigningTable: no "
		    "KeyTable to name its keys" },
		{ "Domain example.com\nSelector s\n",
		    "opendkim.conf:1: Domain: needs Selector and KeyFile" },
		{ "SigningTable csl:a=k\nKeyTable ldap://x/y\n",
		    "opendkim.conf:2: KeyTable: table type 'ldap:' is not "
		    "supported (file:, refile:, csl: are)" },
		{ "SigningTable csl:a=k\nKeyTable @D@/none\n",
		    "opendkim.conf:2: KeyTable: @D@/none: No such file or "
		    "directory" },
		{ "SigningTable csl:a=k\nKeyTable csl:k=example.com:sel\n",
		    "csl:1: KeyTable: expected DOMAIN:SELECTOR:KEYFILE"
		    "[:ALGORITHM] after 'k'" },
		{ "SigningTable csl:a=k\nKeyTable csl:k=a:b:c:rsa-sha1\n",
		    "csl:1: KeyTable: unknown algorithm 'rsa-sha1' "
		    "(rsa-sha256 or ed25519-sha256)" },
		{ "SigningTable csl:a=k,b\nKeyTable csl:k=a:b:c\n",
		    "csl:2: SigningTable: no KeyTable name after 'b'" },
		{ "InternalHosts csl:10.0.0.0/33\n", "csl:1: InternalHosts: "
		    "bad prefix length in '10.0.0.0/33'" },
		{ "ExternalIgnoreList csl:::1,1.2.3.4.5\n", "csl:2: "
		    "ExternalIgnoreList: not an address or network "
		    "'1.2.3.4.5'" },
		{ "InternalHosts csl:!\n", "csl:1: InternalHosts: empty "
		    "entry" },
		{ "OmitHeaders csl:To,from\n", "opendkim.conf:1: OmitHeaders: "
		    "From must be signed (RFC 6376 5.4); opendkim 2.11 signs "
		    "nothing" },
		{ "SignHeaders +X-A\n", "opendkim.conf:1: SignHeaders: '+X-A': "
		    "'+' and '-' change the default list, which needs a '*' "
		    "entry" },
		{ "OversignHeaders From,Sub ject\n", "opendkim.conf:1: "
		    "OversignHeaders: 'Sub ject' is not a header field name" },
		{ "SignHeaders @D@/none\n", "opendkim.conf:1: SignHeaders: "
		    "@D@/none: No such file or directory" },
	};
	char want[2048], *at;
	struct pfx fx;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (pfx_init(&fx) != 0)
			return;
		CU_ASSERT_NOT_EQUAL(pfx_policy(&fx, cases[i].conf), DKK_OK);
		CU_ASSERT_PTR_NULL(fx.p);
		want[0] = '\0';
		if (strncmp(cases[i].want, "csl:", 4) != 0)
			snprintf(want, sizeof(want), "%s/", fx.dir);
		strcat(want, cases[i].want);
		if ((at = strstr(want, "@D@")) != NULL) {
			memmove(at + strlen(fx.dir), at + 3,
			    strlen(at + 3) + 1);
			memcpy(at, fx.dir, strlen(fx.dir));
		}
		if (strcmp(dkk_ctx_error(fx.ctx), want) != 0)
			fprintf(stderr, "\n  got  %s\n  want %s\n",
			    dkk_ctx_error(fx.ctx), want);
		CU_ASSERT_STRING_EQUAL(dkk_ctx_error(fx.ctx), want);
		pfx_free(&fx);
	}
}

/* Settings not read are named, never dropped in silence. */
static void
policy_warnings(void)
{
	struct pfx fx;
	char want[2048];

	if (pfx_open(&fx, "Socket inet:8891@localhost\n"
	    "Frobnicate yes\nMode sv\nMode s\n") != 0)
		return;
	CU_ASSERT_EQUAL_FATAL(dkk_policy_warnings(fx.p), 3);
	snprintf(want, sizeof(want), "%s/opendkim.conf:1: Socket: a setting "
	    "of the OpenDKIM daemon, not used by dkimkit", fx.dir);
	CU_ASSERT_STRING_EQUAL(dkk_policy_warning(fx.p, 0), want);
	snprintf(want, sizeof(want), "%s/opendkim.conf:2: Frobnicate: "
	    "unknown or unsupported setting, ignored", fx.dir);
	CU_ASSERT_STRING_EQUAL(dkk_policy_warning(fx.p, 1), want);
	snprintf(want, sizeof(want), "%s/opendkim.conf:4: Mode: set again, "
	    "the first setting (%s/opendkim.conf:3) counts", fx.dir, fx.dir);
	CU_ASSERT_STRING_EQUAL(dkk_policy_warning(fx.p, 2), want);
	CU_ASSERT_PTR_NULL(dkk_policy_warning(fx.p, 3));
	pfx_free(&fx);
	if (pfx_open(&fx, "Selector s\nKeyFile /k.pem\n") != 0)
		return;
	CU_ASSERT_EQUAL_FATAL(dkk_policy_warnings(fx.p), 2);
	snprintf(want, sizeof(want), "%s/opendkim.conf:2: KeyFile: not used: "
	    "no Domain to sign for", fx.dir);
	CU_ASSERT_STRING_EQUAL(dkk_policy_warning(fx.p, 1), want);
	pfx_free(&fx);
}

/* A dangling KeyTable name fails the message, as in OpenDKIM. */
static void
policy_dangling_at_decision(void)
{
	struct pfx fx;

	if (pfx_open(&fx, "SigningTable csl:example.com="
	    "nokey\nKeyTable csl:k=a:b:c\n") != 0)
		return;
	WANT(&fx, "a@example.com", "127.0.0.1", "error");
	CU_ASSERT_STRING_EQUAL(dkk_ctx_error(fx.ctx), "csl:1: SigningTable: "
	    "'nokey' is not in the KeyTable");
	pfx_free(&fx);
}

/* Keys: loaded once, of the algorithm named, of MinimumKeyBits. */
static void
policy_sign_opts(void)
{
	struct dkk_policy_client c = { "a@example.com", "127.0.0.1", NULL,
	    NULL };
	struct dkk_sign_opts o, o2;
	struct dkk_decision d;
	char conf[1024], *pem = unit_vector("rfc6376-appC-rsa-private.pem");
	struct pfx fx;

	if (pfx_init(&fx) != 0)
		return;
	snprintf(conf, sizeof(conf), "SigningTable csl:example.com=r,"
	    "example.net=e\nKeyTable csl:r=example.com:rs:%s,"
	    "e=example.net:ed:%s:ed25519-sha256\nMinimumKeyBits 1024\n"
	    "Canonicalization relaxed\nSignatureTTL 3600\n", pem, pem);
	CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx, conf), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_policy_decide(fx.p, &c, &d), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(d.nsigs, 1);
	CU_ASSERT_EQUAL(dkk_policy_sign_opts(fx.p, &d.sigs[0], &o), DKK_OK);
	CU_ASSERT_EQUAL(dkk_policy_sign_opts(fx.p, &d.sigs[0], &o2), DKK_OK);
	CU_ASSERT_PTR_EQUAL(o.key, o2.key);
	CU_ASSERT_STRING_EQUAL(o.selector, "rs");
	CU_ASSERT_EQUAL(o.header_canon, DKK_CANON_RELAXED);
	CU_ASSERT_EQUAL(o.body_canon, DKK_CANON_SIMPLE);
	CU_ASSERT_EQUAL(o.expire, 3600);
	dkk_decision_clear(&d);
	c.from = "a@example.net";
	CU_ASSERT_EQUAL_FATAL(dkk_policy_decide(fx.p, &c, &d), DKK_OK);
	CU_ASSERT_EQUAL(dkk_policy_sign_opts(fx.p, &d.sigs[0], &o), DKK_EKEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(dkk_ctx_error(fx.ctx),
	    ": the key is rsa, not for ed25519-sha256"));
	dkk_decision_clear(&d);
	pfx_free(&fx);
	snprintf(conf, sizeof(conf), "Domain example.com\nSelector s\n"
	    "KeyFile %s\nMinimumKeyBits 2048\n", pem);
	if (pfx_open(&fx, conf) != 0)
		return;
	c.from = "a@example.com";
	CU_ASSERT_EQUAL_FATAL(dkk_policy_decide(fx.p, &c, &d), DKK_OK);
	CU_ASSERT_EQUAL(dkk_policy_sign_opts(fx.p, &d.sigs[0], &o), DKK_EKEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(dkk_ctx_error(fx.ctx),
	    "opendkim.conf:3: KeyFile: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(dkk_ctx_error(fx.ctx),
	    ": the key has 1024 bits, under MinimumKeyBits 2048"));
	dkk_decision_clear(&d);
	pfx_free(&fx);
	free(pem);
}

/* The signer's lists of one configuration's first signature. */
static int
header_lists(const char *extra, char *out, size_t size)
{
	struct dkk_policy_client c = { "a@example.com", "127.0.0.1", NULL,
	    NULL };
	struct dkk_sign_opts o;
	struct dkk_decision d;
	char conf[2048], *pem = unit_vector("rfc6376-appC-rsa-private.pem");
	struct pfx fx;
	int rc = -1;

	snprintf(conf, sizeof(conf), "SigningTable csl:example.com=r\n"
	    "KeyTable csl:r=example.com:rs:%s\n%s", pem, extra);
	free(pem);
	if (pfx_open(&fx, conf) != 0)
		return -1;
	if (dkk_policy_decide(fx.p, &c, &d) == DKK_OK && d.nsigs == 1 &&
	    dkk_policy_sign_opts(fx.p, &d.sigs[0], &o) == DKK_OK) {
		snprintf(out, size, "%s|%s|%s|%zu", o.headers, o.if_present !=
		    NULL ? o.if_present : "-", o.oversign_headers != NULL ?
		    o.oversign_headers : "-", dkk_policy_warnings(fx.p));
		rc = o.oversign == 0 ? 0 : -1;
	}
	dkk_decision_clear(&d);
	pfx_free(&fx);
	return rc;
}

/* SignHeaders, OmitHeaders and OversignHeaders become the signer's
 * modes as libopendkim 2.11 applies them: SignHeaders (or its default)
 * with From, less OmitHeaders (or its default: Return-Path, Received,
 * Comments, Keywords), signed only if present; OversignHeaders
 * oversigned; a "*" entry makes "+NAME" and "-NAME" changes to the
 * default, and a plain name after it counts for nothing. */
static void
policy_header_modes(void)
{
	static const struct {
		const char *conf;
		const char *want;
	} cases[] = {
		{ "", "From:Reply-To:Subject:Date:To:Cc:Resent-Date:"
		    "Resent-From:Resent-Sender:Resent-To:Resent-Cc:In-Reply-To:"
		    "References:List-Id:List-Help:List-Unsubscribe:"
		    "List-Subscribe:List-Post:List-Owner:List-Archive|"
		    "Reply-To:Subject:Date:To:Cc:Resent-Date:Resent-From:"
		    "Resent-Sender:Resent-To:Resent-Cc:In-Reply-To:References:"
		    "List-Id:List-Help:List-Unsubscribe:List-Subscribe:"
		    "List-Post:List-Owner:List-Archive|-|0" },
		{ "SignHeaders To,subject,Received,from,Sender\n"
		    "OversignHeaders From,Subject,from\n",
		    "From:To:subject:Sender|To:subject:Sender|From:Subject|0" },
		{ "SignHeaders csl:Received,Comments,To\nOmitHeaders .\n",
		    "From:Received:Comments:To|Received:Comments:To|-|0" },
		{ "SignHeaders *,+X-A,-Subject,-Reply-To,-Date,-Cc,-To,"
		    "-Resent-Date,-Resent-From,-Resent-Sender,-Resent-To,"
		    "-Resent-Cc,-In-Reply-To,-References,-List-Help,"
		    "-List-Unsubscribe,-List-Subscribe,-List-Post,-List-Owner,"
		    "-List-Archive,X-B\nOmitHeaders *,+X-A,-Received\n"
		    "OversignHeaders Reply-To\n",
		    "From:List-Id|List-Id|Reply-To|1" },
		{ "SignHeaders From,X-*,Subject\n", "From:Subject|Subject|-|1" },
		{ "SignHeaders To\nOversignHeaders *,Subject\n",
		    "From:To|To|Subject|1" },
	};
	char got[2048];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(header_lists(cases[i].conf, got,
		    sizeof(got)), 0);
		if (strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "\n  got  %s\n  want %s\n", got,
			    cases[i].want);
		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
	}
}

static void
collect(void *arg, const char *problem)
{
	char *all = arg;

	strcat(all, problem);
	strcat(all, "\n");
}

static int64_t
pub_clock(void *arg)
{
	return *(int64_t *)arg;
}

/* A zone publishing s1 and s3 with the p= of k1 and, when p2 is not
 * NULL, s2 with p2; loaded into fx's context. */
static int
pub_zone(struct pfx *fx, const char *p1, const char *p2)
{
	char zone[4096];

	snprintf(zone, sizeof(zone),
	    "s1._domainkey.example.com. 300 IN TXT \"v=DKIM1; p=%s\"\n"
	    "s3._domainkey.example.com. 300 IN TXT \"v=DKIM1; p=%s\"\n"
	    "%s%s%s", p1, p1, p2 != NULL ? "s2._domainkey.example.com. 300 "
	    "IN TXT \"v=DKIM1; p=" : "", p2 != NULL ? p2 : "", p2 != NULL ?
	    "\"\n" : "");
	return dkk_ctx_use_zone(fx->ctx, pfx_file(fx, "keys.zone", zone));
}

/* The selectors signing, then "|" and those left out with their
 * problems, then "|" and the decision's reason. */
static char *
pub_decide(struct pfx *fx)
{
	struct dkk_policy_client c = { "a@example.com", "127.0.0.1", NULL,
	    NULL };
	struct dkk_decision d;
	static char out[2048];
	size_t i;

	if (dkk_policy_decide(fx->p, &c, &d) != DKK_OK)
		return strcpy(out, "error");
	snprintf(out, sizeof(out), "%s", d.sign ? "" : "-");
	for (i = 0; i < d.nsigs; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
		    i > 0 ? "," : "", d.sigs[i].selector);
	for (i = 0; i < d.nunused; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "|%s: %s",
		    d.unused[i].selector, d.unused[i].problem);
	snprintf(out + strlen(out), sizeof(out) - strlen(out), "|%s",
	    d.reason);
	dkk_decision_clear(&d);
	return out;
}

/* RequirePublishedKey (dkimkit's, not OpenDKIM's): a key whose record is
 * missing or holds another key is left out, with the reason; answers
 * are kept for PublishedKeyCacheTTL seconds; with no key left the
 * message is not signed. */
static void
policy_require_published(void)
{
	int64_t now = 1700000000;
	char *pem1 = NULL, *pem2 = NULL, *p1 = NULL, *p2 = NULL, *got;
	char all[4096] = "", want[1024];
	dkk_key *k1 = NULL, *k2 = NULL;
	struct pfx fx;

	if (pfx_init(&fx) != 0)
		return;
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_set_clock(fx.ctx, pub_clock, &now),
	    DKK_OK);
	CU_ASSERT_FATAL(dkk_key_generate(fx.ctx, "rsa", 1024, &pem1, &k1) ==
	    DKK_OK && dkk_key_generate(fx.ctx, "rsa", 1024, &pem2, &k2) ==
	    DKK_OK);
	CU_ASSERT_FATAL(dkk_key_public(k1, &p1) == DKK_OK &&
	    dkk_key_public(k2, &p2) == DKK_OK);
	pfx_file(&fx, "k1.pem", pem1);
	pfx_file(&fx, "k2.pem", pem2);
	CU_ASSERT_EQUAL_FATAL(pub_zone(&fx, p1, NULL), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx, "SigningTable csl:a@example.com"
	    "=ka,.com=kb,*=kc\nKeyTable csl:ka=example.com:s1:@D@/k1.pem,"
	    "kb=example.com:s2:@D@/k2.pem,kc=example.com:s3:@D@/k2.pem\n"
	    "MultipleSignatures yes\nRequirePublishedKey yes\n"
	    "PublishedKeyCacheTTL 100\n"), DKK_OK);
	CU_ASSERT_EQUAL(dkk_policy_warnings(fx.p), 0);
	got = pub_decide(&fx);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "s1|s2: no key record is "
	    "published|s3: the key record does not match the private key|"));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "; selector s3._domainkey."
	    "example.com: the key record does not match the private key, "
	    "not used"));
	/* s2 published now: the answer kept is used until it is old */
	CU_ASSERT_EQUAL_FATAL(pub_zone(&fx, p1, p2), DKK_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(pub_decide(&fx), "s1|s2: no key"));
	now += 101;
	got = pub_decide(&fx);
	CU_ASSERT_EQUAL(strncmp(got, "s1,s2|s3: ", 10), 0);
	/* revoked and missing: nothing signs */
	CU_ASSERT_EQUAL_FATAL(pub_zone(&fx, "", NULL), DKK_OK);
	now += 101;
	got = pub_decide(&fx);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "-|s1: the key record is revoked "
	    "(empty p=)|s2: no key record is published|s3: the key record "
	    "is revoked (empty p=)|"));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, ": no published key left, not "
	    "signed"));
	/* policy check's DNS half names the same three */
	CU_ASSERT_EQUAL(dkk_policy_check_records(fx.p, collect, all), 3);
	snprintf(want, sizeof(want), "csl:2: KeyTable: %s/k2.pem: "
	    "s2._domainkey.example.com: no key record is published\n",
	    fx.dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(all, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(all, "s1._domainkey.example.com: the "
	    "key record is revoked (empty p=)\n"));
	dkk_key_free(k1);
	dkk_key_free(k2);
	free(pem1);
	free(pem2);
	free(p1);
	free(p2);
	pfx_free(&fx);
}

static void
policy_check_findings(void)
{
	static char all[8192];
	char want[4096];
	struct pfx fx;

	if (pfx_init(&fx) != 0)
		return;
	pfx_file(&fx, "ok.pem", "x");
	pfx_file(&fx, "open.pem", "x");
	chmod(fx.path[1], 0644);
	pfx_file(&fx, "keys", "a example.com:s:@D@/ok.pem\n"
	    "b example.com:s:@D@/open.pem\nc example.com:s:@D@/none.pem\n");
	pfx_file(&fx, "signing", "*@example.com a\nbob@example.com b\n"
	    "*@example.net missing\n");
	CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx, "KeyTable @D@/keys\n"
	    "SigningTable refile:@D@/signing\n"
	    "InternalHosts csl:*.example.com\n"), DKK_OK);
	all[0] = '\0';
	CU_ASSERT_EQUAL(dkk_policy_check(fx.p, collect, all), 5);
	snprintf(want, sizeof(want),
	    "%s/signing:3: SigningTable: 'missing' is not in the KeyTable\n"
	    "%s/keys:2: KeyTable: %s/open.pem: readable or writable by group "
	    "or others (mode 0644)\n"
	    "%s/keys:3: KeyTable: %s/none.pem: No such file or directory\n"
	    "%s/signing:2: SigningTable: 'bob@example.com' never matches: "
	    "'*@example.com' (%s/signing:1) comes first and covers it\n"
	    "csl:1: InternalHosts: '*.example.com' never matches: names are "
	    "compared whole; write '.domain' for every host under a domain\n",
	    fx.dir, fx.dir, fx.dir, fx.dir, fx.dir, fx.dir, fx.dir);
	CU_ASSERT_STRING_EQUAL(all, want);
	if (strcmp(all, want) != 0)
		fprintf(stderr, "\n%s", all);
	pfx_free(&fx);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds for n decisions over a table of lines exact domains; with
 * refile, a refile: table of "*@domain" lines with a pattern above them
 * and one below. */
static double
lookup_time(size_t lines, size_t n, bool refile)
{
	struct dkk_policy_client c = { NULL, "127.0.0.1", NULL, NULL };
	struct dkk_decision d;
	char from[64], want[512], *table;
	struct pfx fx;
	size_t i, len = 0;
	double t0, t;

	if ((table = malloc(lines * 34 + 64)) == NULL || pfx_init(&fx) != 0) {
		free(table);
		return -1;
	}
	if (refile)
		len += (size_t)sprintf(table, "*@*.invalid k\n");
	for (i = 0; i < lines; i++)
		len += (size_t)sprintf(table + len, "%sd%zu.example k\n",
		    refile ? "*@" : "", i);
	if (refile)
		sprintf(table + len, "*@* k\n");
	pfx_file(&fx, "signing", table);
	free(table);
	if (pfx_policy(&fx, refile ? "SigningTable refile:@D@/signing\n"
	    "KeyTable csl:k=%:s:/k.pem\n" : "SigningTable @D@/signing\n"
	    "KeyTable csl:k=%:s:/k.pem\n") != DKK_OK) {
		pfx_free(&fx);
		return -1;
	}
	c.from = from;
	t0 = now_seconds();
	for (i = 0; i < n; i++) {
		snprintf(from, sizeof(from), "u@d%zu.example",
		    (i * 7919) % lines);
		/* the line of that domain, below "*@*.invalid" if refile */
		snprintf(want, sizeof(want), "%s/signing:%zu", fx.dir,
		    (i * 7919) % lines + (refile ? 2 : 1));
		if (dkk_policy_decide(fx.p, &c, &d) != DKK_OK || !d.sign ||
		    strcmp(d.sigs[0].signing_line, want) != 0)
			CU_FAIL("decision");
		dkk_decision_clear(&d);
	}
	t = now_seconds() - t0;
	pfx_free(&fx);
	return t;
}

/* Exact keys are hashed, and a refile: table's "*@domain" lines:
 * 100,000 lines decide about as fast as 10 (a scan would be thousands
 * of times slower; the bound leaves room for a busy machine). */
static void
policy_exact_lookup_scales(void)
{
	double small, large;
	int refile;

	for (refile = 0; refile < 2; refile++) {
		small = lookup_time(10, 20000, refile);
		large = lookup_time(100000, 20000, refile);
		CU_ASSERT_FATAL(small > 0 && large > 0);
		if (large > 4 * small + 0.05)
			fprintf(stderr, "\n  %s: 10 lines %.3fs, 100000 lines "
			    "%.3fs\n", refile ? "refile" : "file", small,
			    large);
		CU_ASSERT(large <= 4 * small + 0.05);
	}
}

/* A refile: table mixing lines with and without "*" answers with the
 * first line in file order, whichever kind it is (as opendkim walks
 * it), and policy check names the lines shadowed either way. */
static void
policy_refile_mixed_order(void)
{
	struct pfx fx;
	char all[4096] = "", want[1024];

	if (pfx_init(&fx) != 0)
		return;
	pfx_file(&fx, "keys", keytable);
	pfx_file(&fx, "signing",
	    "a@example.com k1\n"
	    "*@example.com k2\n"
	    "b@example.com ceo\n"
	    "example.org k1\n"
	    "*.org k3\n"
	    "A@Example.com ceo\n");
	CU_ASSERT_EQUAL_FATAL(pfx_policy(&fx,
	    "KeyTable @D@/keys\nSigningTable refile:@D@/signing\n"), DKK_OK);
	WANT(&fx, "a@example.com", "127.0.0.1", "s1");
	WANT(&fx, "b@example.com", "127.0.0.1", "s2");
	/* "c@example.org" is asked before "example.org" */
	WANT(&fx, "c@example.org", "127.0.0.1", "s3");
	WANT(&fx, "c@x.org", "127.0.0.1", "s3");
	/* and the three key files, which this test does not make */
	CU_ASSERT_EQUAL(dkk_policy_check(fx.p, collect, all), 5);
	snprintf(want, sizeof(want), "%s/signing:3: SigningTable: "
	    "'b@example.com' never matches: '*@example.com' (%s/signing:2) "
	    "comes first and covers it\n", fx.dir, fx.dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(all, want));
	snprintf(want, sizeof(want), "%s/signing:6: SigningTable: "
	    "'A@Example.com' never matches: 'a@example.com' (%s/signing:1) "
	    "comes first and covers it\n", fx.dir, fx.dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(all, want));
	pfx_free(&fx);
}

static const struct unit_test tests[] = {
	{ "policy_refile_order_and_prefix", policy_refile_order_and_prefix },
	{ "policy_percent_and_catchall", policy_percent_and_catchall },
	{ "policy_subdomains", policy_subdomains },
	{ "policy_multiple_signatures", policy_multiple_signatures },
	{ "policy_csl_and_single_key", policy_csl_and_single_key },
	{ "policy_internal_hosts", policy_internal_hosts },
	{ "policy_errors", policy_errors },
	{ "policy_warnings", policy_warnings },
	{ "policy_dangling_at_decision", policy_dangling_at_decision },
	{ "policy_sign_opts", policy_sign_opts },
	{ "policy_header_modes", policy_header_modes },
	{ "policy_require_published", policy_require_published },
	{ "policy_check_findings", policy_check_findings },
	{ "policy_exact_lookup_scales", policy_exact_lookup_scales },
	{ "policy_refile_mixed_order", policy_refile_mixed_order },
	{ NULL, NULL }
};

void
suite_policy(void)
{
	unit_suite("policy", tests);
}
