/*
 * test_dest.c: where DMARC reports may go (core/dmarc/dest.c): rua=/ruf=
 * URIs with the !size suffix (RFC 9989 4.7) and the verification of an
 * external destination (RFC 9990).  What both shapes of dest.c (the
 * failure reports' and the aggregate reports') agreed on.
 */
#include <string.h>

#include "unit.h"
#include "dmarc/dmarc.h"

static int
uri(const char *s, struct dmarc_uri *u)
{
	const char *why = NULL;
	int rc = dmarc_uri_parse(s, strlen(s), u, &why);

	CU_ASSERT(rc == 0 || why != NULL);
	return rc;
}

static void
dest_uri_plain(void)
{
	struct dmarc_uri u;

	CU_ASSERT_EQUAL_FATAL(uri("mailto:Agg@example.com", &u), 0);
	CU_ASSERT_STRING_EQUAL(u.addr, "Agg@example.com");
	CU_ASSERT_STRING_EQUAL(u.domain, "example.com");
	CU_ASSERT_EQUAL(u.max_bytes, 0);
	CU_ASSERT_EQUAL(uri("MAILTO:a@b.example", &u), 0);
}

/* 4.7: the size is a decimal with an optional k, m, g or t, each a
 * power of two. */
static void
dest_uri_size(void)
{
	struct dmarc_uri u;

	CU_ASSERT_EQUAL_FATAL(uri("mailto:a@b.example!50", &u), 0);
	CU_ASSERT_EQUAL(u.max_bytes, 50);
	CU_ASSERT_EQUAL_FATAL(uri("mailto:a@b.example!10k", &u), 0);
	CU_ASSERT_EQUAL(u.max_bytes, 10240);
	CU_ASSERT_EQUAL_FATAL(uri("mailto:a@b.example!2M", &u), 0);
	CU_ASSERT_EQUAL(u.max_bytes, 2u << 20);
	CU_ASSERT_EQUAL_FATAL(uri("mailto:a@b.example!1t", &u), 0);
	CU_ASSERT_EQUAL(u.max_bytes, (uint64_t)1 << 40);
	CU_ASSERT_EQUAL(uri("mailto:a@b.example!", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a@b.example!k", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a@b.example!10x", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a@b.example!10kk", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a@b.example!99999999999999999999", &u),
	    -1);
}

static void
dest_uri_bad(void)
{
	struct dmarc_uri u;

	CU_ASSERT_EQUAL(uri("https://b.example/", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:nobody", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:@b.example", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a@", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a b@c.example", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a@c.example?subject=x", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a%4@c.example", &u), -1);
	CU_ASSERT_EQUAL(uri("mailto:a%00@c.example", &u), -1);
}

/* RFC 6068 2: the address may be %-encoded. */
static void
dest_uri_escape(void)
{
	struct dmarc_uri u;

	CU_ASSERT_EQUAL_FATAL(uri("mailto:a%2Bb@d.example!1k", &u), 0);
	CU_ASSERT_STRING_EQUAL(u.addr, "a+b@d.example");
	CU_ASSERT_EQUAL(u.max_bytes, 1024);
}

/* RFC 9990: <policy domain>._report._dmarc.<destination host>. */
static void
dest_qname(void)
{
	char out[300], big[300];

	CU_ASSERT_EQUAL_FATAL(dmarc_dest_qname("blue.example.com",
	    "red.example.net", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out,
	    "blue.example.com._report._dmarc.red.example.net");
	memset(big, 'a', 240);
	big[240] = '\0';
	CU_ASSERT_EQUAL(dmarc_dest_qname(big, "red.example.net", out,
	    sizeof(out)), -1);
	CU_ASSERT_EQUAL(dmarc_dest_qname("a.example", "b.example", out, 10),
	    -1);
}

static void
dest_accepts(void)
{
	const char *yes[] = { "something else", "v=DMARC1" };
	const char *yes2[] = { "v = DMARC1; rua=mailto:x@y.example" };
	const char *no[] = { "v=DMARC2", "p=none; v=DMARC1", "v=dmarc1",
	    "v=DMARC1x", "" };

	CU_ASSERT_TRUE(dmarc_dest_accepts(yes, 2));
	CU_ASSERT_TRUE(dmarc_dest_accepts(yes2, 1));
	CU_ASSERT_FALSE(dmarc_dest_accepts(no, 5));
	CU_ASSERT_FALSE(dmarc_dest_accepts(NULL, 0));
}

static void
dest_external(void)
{
	CU_ASSERT_FALSE(dmarc_dest_external("example.com", "example.com"));
	CU_ASSERT_FALSE(dmarc_dest_external("example.com", "EXAMPLE.com"));
	CU_ASSERT_FALSE(dmarc_dest_external("example.com",
	    "reports.example.com"));
	CU_ASSERT_TRUE(dmarc_dest_external("example.com", "example.net"));
	CU_ASSERT_TRUE(dmarc_dest_external("example.com", "badexample.com"));
	CU_ASSERT_TRUE(dmarc_dest_external("blue.example.com",
	    "red.example.net"));
	/* a parent may be another organization (a public suffix): asked */
	CU_ASSERT_TRUE(dmarc_dest_external("sub.example.com", "example.com"));
}

static const struct unit_test dest_tests[] = {
	{ "dest_uri_plain", dest_uri_plain },
	{ "dest_uri_size", dest_uri_size },
	{ "dest_uri_bad", dest_uri_bad },
	{ "dest_uri_escape", dest_uri_escape },
	{ "dest_qname", dest_qname },
	{ "dest_accepts", dest_accepts },
	{ "dest_external", dest_external },
	{ NULL, NULL }
};

void
suite_dest(void)
{
	unit_suite("dest", dest_tests);
}
