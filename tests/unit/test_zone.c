/*
 * test_zone.c: the zone file key source (core/dns/zone.c).  Each test writes
 * its zone into a fresh mkdtemp() directory, loads it, and removes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#define TZ_MAX 8

/* A copy of one answer, since the callback's is gone once it returns. */
struct tz_answer {
	int calls;
	enum dkk_dns_status status;
	enum dkk_dnssec dnssec;
	uint32_t ttl;
	size_t count;
	char *txt[TZ_MAX];
	size_t len[TZ_MAX];
};

static void
tz_cb(void *arg, const struct dkk_dns_answer *ans)
{
	struct tz_answer *a = arg;
	size_t i;

	a->calls++;
	a->status = ans->status;
	a->dnssec = ans->dnssec;
	a->ttl = ans->ttl;
	a->count = ans->count;
	for (i = 0; i < ans->count && i < TZ_MAX; i++) {
		a->txt[i] = malloc(ans->len[i] + 1);
		memcpy(a->txt[i], ans->txt[i], ans->len[i]);
		a->txt[i][ans->len[i]] = '\0';
		a->len[i] = ans->len[i];
	}
}

static void
tz_answer_clear(struct tz_answer *a)
{
	size_t i;

	for (i = 0; i < TZ_MAX; i++)
		free(a->txt[i]);
	memset(a, 0, sizeof(*a));
}

/* Query name, asserting the callback ran exactly once. */
static void
tz_query(struct zone *z, const char *name, struct tz_answer *a)
{
	memset(a, 0, sizeof(*a));
	CU_ASSERT_EQUAL(zone_query_txt(z, name, tz_cb, a), DKK_OK);
	CU_ASSERT_EQUAL(a->calls, 1);
}

/* A scratch directory holding t.zone; tz_done() removes both. */
struct tz_file {
	char dir[256];
	char path[300];
};

static int
tz_write(struct tz_file *f, const char *text, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	FILE *fp;
	size_t n;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/dkk-zone-XXXXXX", tmp);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.zone", f->dir);
	if ((fp = fopen(f->path, "wb")) == NULL)
		return -1;
	n = fwrite(text, 1, len, fp);
	return fclose(fp) == 0 && n == len ? 0 : -1;
}

static void
tz_done(struct tz_file *f)
{
	unlink(f->path);
	rmdir(f->dir);
}

/* Load text as a zone; *err keeps the message for the caller to clear. */
static int
tz_load_err(const char *text, struct zone **zp, struct buf *err)
{
	struct tz_file f;
	int rc;

	*zp = NULL;
	buf_init(err);
	if (tz_write(&f, text, strlen(text)) != 0) {
		tz_done(&f);
		CU_FAIL("cannot write the zone file");
		return DKK_EIO;
	}
	rc = zone_load(zp, f.path, err);
	tz_done(&f);
	return rc;
}

static struct zone *
tz_load(const char *text)
{
	struct zone *z;
	struct buf err;
	int rc;

	rc = tz_load_err(text, &z, &err);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	if (rc != DKK_OK)
		fprintf(stderr, "zone: %s\n", err.p != NULL ? err.p : "?");
	buf_clear(&err);
	return z;
}

/* Assert that name has exactly one TXT record, equal to want. */
static void
tz_expect_txt(struct zone *z, const char *name, const char *want)
{
	struct tz_answer a;

	tz_query(z, name, &a);
	CU_ASSERT_EQUAL(a.status, DKK_DNS_OK);
	CU_ASSERT_EQUAL_FATAL(a.count, 1);
	CU_ASSERT_EQUAL(a.len[0], strlen(want));
	CU_ASSERT_STRING_EQUAL(a.txt[0], want);
	tz_answer_clear(&a);
}

static void
tz_expect_status(struct zone *z, const char *name, enum dkk_dns_status st)
{
	struct tz_answer a;

	tz_query(z, name, &a);
	CU_ASSERT_EQUAL(a.status, st);
	CU_ASSERT_EQUAL(a.count, 0);
	tz_answer_clear(&a);
}

/* Assert that text fails to load with DKK_ESYNTAX and a message that
 * contains "t.zone:LINE: " followed by reason. */
static void
tz_expect_syntax(const char *text, unsigned line, const char *reason)
{
	struct zone *z;
	struct buf err;
	char want[256];

	snprintf(want, sizeof(want), "t.zone:%u: %s", line, reason);
	CU_ASSERT_EQUAL(tz_load_err(text, &z, &err), DKK_ESYNTAX);
	CU_ASSERT_PTR_NULL(z);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err.p);
	if (strstr(err.p, want) == NULL) {
		fprintf(stderr, "got \"%s\", want \"%s\"\n", err.p, want);
		CU_FAIL("error message");
	}
	buf_clear(&err);
	zone_free(z);
}

static void
zone_txt_multistring_joined(void)
{
	struct zone *z = tz_load("k.example. 300 IN TXT \"v=DKIM1; \" "
	    "\"k=rsa; \" \"p=AB\" \"\" \"CD\"\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "k.example", "v=DKIM1; k=rsa; p=ABCD");
	zone_free(z);
}

static void
zone_unquoted_txt_strings(void)
{
	struct zone *z = tz_load("k.example. TXT v=DKIM1; comment\n"
	    "u.example. TXT abc def\\032ghi\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "k.example", "v=DKIM1");
	tz_expect_txt(z, "u.example", "abcdef ghi");
	zone_free(z);
}

static void
zone_origin_relative_names(void)
{
	struct zone *z = tz_load("$ORIGIN example.com.\n"
	    "@ TXT \"apex\"\n"
	    "sel._domainkey TXT \"rel\"\n"
	    "abs.example.net. TXT \"abs\"\n"
	    "$ORIGIN sub\n"
	    "x TXT \"nested\"\n"
	    "$ORIGIN .\n"
	    "top TXT \"root origin\"\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "example.com", "apex");
	tz_expect_txt(z, "sel._domainkey.example.com", "rel");
	tz_expect_txt(z, "abs.example.net", "abs");
	tz_expect_txt(z, "x.sub.example.com", "nested");
	tz_expect_txt(z, "top", "root origin");
	tz_expect_status(z, "sel._domainkey", DKK_DNS_NXDOMAIN);
	tz_expect_status(z, "abs.example.net.example.com", DKK_DNS_NXDOMAIN);
	zone_free(z);
}

static void
zone_blank_owner_previous_record(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "a TXT \"one\"\n"
	    "\tA 192.0.2.1\n"
	    "  TXT \"two\"\n"
	    "b TXT \"three\"\n");
	struct tz_answer a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "a.example", &a);
	CU_ASSERT_EQUAL(a.count, 2);
	if (a.count == 2) {
		CU_ASSERT_STRING_EQUAL(a.txt[0], "one");
		CU_ASSERT_STRING_EQUAL(a.txt[1], "two");
	}
	tz_answer_clear(&a);
	tz_expect_txt(z, "b.example", "three");
	zone_free(z);
}

static void
zone_parens_multiline(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "@ 3600 IN SOA ns.example. admin.example. (\n"
	    "\t2024010101 ; serial\n"
	    "\t7200 3600\n"
	    "\t\"not a record\" ; a quoted string in rdata\n"
	    "\t1209600 300 )\n"
	    "k TXT ( \"v=DKIM1; \" ; first part\n"
	    "\t\"p=AB\"\n"
	    "\t\"CD\" )\n"
	    "after TXT \"still parsing\"\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_status(z, "example", DKK_DNS_OK);
	tz_expect_txt(z, "k.example", "v=DKIM1; p=ABCD");
	tz_expect_txt(z, "after.example", "still parsing");
	tz_expect_status(z, "7200", DKK_DNS_NXDOMAIN);
	zone_free(z);
}

static void
zone_nxdomain_absent_name(void)
{
	struct zone *z = tz_load("k.example. TXT \"x\"\n");
	struct tz_answer a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "other.example", &a);
	CU_ASSERT_EQUAL(a.status, DKK_DNS_NXDOMAIN);
	CU_ASSERT_EQUAL(a.count, 0);
	CU_ASSERT_EQUAL(a.dnssec, DKK_DNSSEC_UNKNOWN);
	tz_answer_clear(&a);
	/* "example" has a name below it: it exists, without records. */
	tz_expect_status(z, "example", DKK_DNS_OK);
	tz_expect_status(z, "x.k.example", DKK_DNS_NXDOMAIN);
	tz_expect_status(z, "", DKK_DNS_NXDOMAIN);
	zone_free(z);
}

static void
zone_nodata_other_type(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "a A 192.0.2.1\n"
	    "aaaa AAAA 2001:db8::1\n"
	    "mx MX 10 mail.example.\n"
	    "ns NS ns1\n"
	    "c CNAME a.example.\n"	/* followed: a exists */
	    "ds DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n"
	    "key DNSKEY 256 3 8 ( AwEAAa\n"
	    "\tBBBB== )\n"
	    "sig RRSIG TXT 8 2 300 20250101000000 20240101000000 1 "
	    "example. AAAA==\n"
	    "nsec NSEC a.example. A TXT RRSIG\n"
	    "spf SPF \"v=spf1 -all\"\n"
	    "un TYPE65534 \\# 0\n");
	static const char *names[] = { "a", "aaaa", "mx", "ns", "c", "ds",
	    "key", "sig", "nsec", "spf", "un" };
	char name[64];
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(name, sizeof(name), "%s.example", names[i]);
		tz_expect_status(z, name, DKK_DNS_OK);
	}
	tz_expect_status(z, "mail.example", DKK_DNS_NXDOMAIN);
	tz_expect_status(z, "target.example", DKK_DNS_NXDOMAIN);
	zone_free(z);
}

static void
zone_case_insensitive_lookup(void)
{
	struct zone *z = tz_load("Sel._DomainKey.Example.COM. TXT "
	    "\"P=MixedCase\"\n"
	    "$ORIGIN EXAMPLE.NET.\n"
	    "LowER TXT \"y\"\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "sel._domainkey.example.com", "P=MixedCase");
	tz_expect_txt(z, "SEL._DOMAINKEY.EXAMPLE.COM.", "P=MixedCase");
	tz_expect_txt(z, "sEL._dOMAINkEY.eXAMPLE.cOM", "P=MixedCase");
	tz_expect_txt(z, "lower.example.net.", "y");
	tz_expect_txt(z, "LOWER.EXAMPLE.NET", "y");
	zone_free(z);
}

static void
zone_escapes_in_quotes(void)
{
	static const char want[] = "a\"b\\c;d\xff" "e( ) \000f";
	struct zone *z = tz_load("k.example. TXT "
	    "\"a\\\"b\\\\c\\059d\\255\" \"e( ) \\000f\" ; tail\n"
	    "s.example. TXT \"; not a comment\"\n"
	    "n\\065me.example. TXT \"escaped owner\"\n");
	struct tz_answer a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "k.example", &a);
	CU_ASSERT_EQUAL_FATAL(a.count, 1);
	CU_ASSERT_EQUAL(a.len[0], sizeof(want) - 1);
	CU_ASSERT(memcmp(a.txt[0], want, sizeof(want) - 1) == 0);
	tz_answer_clear(&a);
	tz_expect_txt(z, "s.example", "; not a comment");
	tz_expect_txt(z, "name.example", "escaped owner");
	zone_free(z);
}

static void
zone_comments_and_blank_lines(void)
{
	struct zone *z = tz_load("; a comment at the top\n"
	    "\n"
	    "   \t\n"
	    "   ; an indented comment\n"
	    "k.example. TXT \"x\" ; trailing\n"
	    ";; last\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "k.example", "x");
	zone_free(z);
}

static void
zone_crlf_and_no_final_newline(void)
{
	struct zone *z = tz_load("$ORIGIN example.\r\n"
	    "k TXT ( \"a\"\r\n"
	    "\t\"b\" )\r\n"
	    "last TXT \"end\"");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "k.example", "ab");
	tz_expect_txt(z, "last.example", "end");
	zone_free(z);
}

static void
zone_ttl_class_either_order(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "a 300 IN TXT \"1\"\n"
	    "b IN 400 TXT \"2\"\n"
	    "c IN TXT \"3\"\n"
	    "d 500 TXT \"4\"\n"
	    "e TXT \"5\"\n"
	    "f in txt \"6\"\n");
	struct tz_answer a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "a.example", &a);
	CU_ASSERT_EQUAL(a.ttl, 300);
	tz_answer_clear(&a);
	tz_query(z, "b.example", &a);
	CU_ASSERT_EQUAL(a.ttl, 400);
	tz_answer_clear(&a);
	tz_query(z, "d.example", &a);
	CU_ASSERT_EQUAL(a.ttl, 500);
	tz_answer_clear(&a);
	tz_expect_txt(z, "c.example", "3");
	tz_expect_txt(z, "e.example", "5");
	tz_expect_txt(z, "f.example", "6");
	zone_free(z);
}

static uint32_t
tz_ttl(struct zone *z, const char *name)
{
	struct tz_answer a;
	uint32_t ttl;

	tz_query(z, name, &a);
	ttl = a.ttl;
	tz_answer_clear(&a);
	return ttl;
}

static void
zone_ttl_directive(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "early TXT \"no $TTL yet\"\n"
	    "$TTL 600\n"
	    "a TXT \"default\"\n"
	    "b 30 TXT \"explicit\"\n"
	    "$TTL 1h30m\n"
	    "c TXT \"units\"\n"
	    "d 1W TXT \"week\"\n"
	    "e 2d12h TXT \"mixed\"\n"
	    "f A 192.0.2.1\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(tz_ttl(z, "early.example"), 3600);
	CU_ASSERT_EQUAL(tz_ttl(z, "a.example"), 600);
	CU_ASSERT_EQUAL(tz_ttl(z, "b.example"), 30);
	CU_ASSERT_EQUAL(tz_ttl(z, "c.example"), 5400);
	CU_ASSERT_EQUAL(tz_ttl(z, "d.example"), 604800);
	CU_ASSERT_EQUAL(tz_ttl(z, "e.example"), 216000);
	/* answers without records carry the $TTL in force at the end */
	CU_ASSERT_EQUAL(tz_ttl(z, "f.example"), 5400);
	CU_ASSERT_EQUAL(tz_ttl(z, "absent.example"), 5400);
	zone_free(z);
}

static void
zone_ttl_default_without_directive(void)
{
	struct zone *z = tz_load("a.example. TXT \"x\"\n"
	    "b.example. A 192.0.2.1\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(tz_ttl(z, "a.example"), 3600);
	CU_ASSERT_EQUAL(tz_ttl(z, "b.example"), 3600);
	CU_ASSERT_EQUAL(tz_ttl(z, "c.example"), 3600);
	zone_free(z);
}

static void
zone_multiple_txt_records(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "k 300 TXT \"first\"\n"
	    "other TXT \"between\"\n"
	    "k 60 TXT \"second\" \" part\"\n"
	    "k A 192.0.2.1\n"
	    "K 900 TXT \"third\"\n");
	struct tz_answer a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "k.example", &a);
	CU_ASSERT_EQUAL(a.status, DKK_DNS_OK);
	CU_ASSERT_EQUAL_FATAL(a.count, 3);
	CU_ASSERT_STRING_EQUAL(a.txt[0], "first");
	CU_ASSERT_STRING_EQUAL(a.txt[1], "second part");
	CU_ASSERT_EQUAL(a.len[1], 11);
	CU_ASSERT_STRING_EQUAL(a.txt[2], "third");
	CU_ASSERT_EQUAL(a.ttl, 60);
	tz_answer_clear(&a);
	tz_expect_txt(z, "other.example", "between");
	zone_free(z);
}

static void
zone_empty_txt_string(void)
{
	struct zone *z = tz_load("k.example. TXT \"\"\n");
	struct tz_answer a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "k.example", &a);
	CU_ASSERT_EQUAL(a.status, DKK_DNS_OK);
	CU_ASSERT_EQUAL_FATAL(a.count, 1);
	CU_ASSERT_EQUAL(a.len[0], 0);
	tz_answer_clear(&a);
	zone_free(z);
}

static void
zone_long_character_string_accepted(void)
{
	char text[600], want[301];
	struct zone *z;

	memset(want, 'x', 300);
	want[300] = '\0';
	snprintf(text, sizeof(text), "k.example. TXT \"%s\"\n", want);
	z = tz_load(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "k.example", want);
	zone_free(z);
}

/* A TXT record whose rdata is n octets, split in 255-octet strings over
 * lines in parentheses, on line 2 of the file. */
static char *
tz_big_record(size_t n)
{
	size_t cap = n + n / 255 * 4 + 64, len;
	char *text = malloc(cap);

	len = (size_t)snprintf(text, cap, "; big\nbig.example. TXT (\n");
	while (n > 0) {
		size_t k = n < 255 ? n : 255;

		text[len++] = '"';
		memset(text + len, 'a', k);
		len += k;
		text[len++] = '"';
		text[len++] = '\n';
		n -= k;
	}
	snprintf(text + len, cap - len, ")\n");
	return text;
}

static void
zone_record_size_limit(void)
{
	struct tz_answer a;
	struct zone *z;
	char *text;

	text = tz_big_record(900 * 1024);
	z = tz_load(text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "big.example", &a);
	CU_ASSERT_EQUAL(a.count, 1);
	CU_ASSERT_EQUAL(a.len[0], 900 * 1024);
	tz_answer_clear(&a);
	zone_free(z);

	text = tz_big_record(1024 * 1024 + 1);
	tz_expect_syntax(text, 2, "record longer than");
	free(text);
}

static void
zone_syntax_error_names_line(void)
{
	tz_expect_syntax("$ORIGIN example.\n"
	    "ok TXT \"fine\"\n"
	    "bad TXT \"never closed\n"
	    "next TXT \"x\"\n", 3, "unterminated quoted string");
}

static void
zone_syntax_errors(void)
{
	tz_expect_syntax("a.example. 12x TXT \"x\"\n", 1, "bad TTL 12x");
	tz_expect_syntax("a.example. 4294967296 TXT \"x\"\n", 1, "bad TTL");
	tz_expect_syntax("\n\na.example. TXT ( \"x\"\n\"y\"\n", 3,
	    "'(' never closed");
	tz_expect_syntax("a.example. TXT \"x\" )\n", 1, "')' without '('");
	tz_expect_syntax("a.example. TXT ( ( \"x\" ) )\n", 1, "nested '('");
	tz_expect_syntax("a.example. 300 IN\n", 1, "no record type");
	tz_expect_syntax("a.example. 300 IN \"TXT\" \"x\"\n", 1,
	    "bad record type");
	tz_expect_syntax("a.example. TXT\n", 1,
	    "TXT record without character-strings");
	tz_expect_syntax("a.example. TXT \"\\256\"\n", 1, "bad escape");
	tz_expect_syntax("a.example. TXT \"\\12x\"\n", 1, "bad escape");
	tz_expect_syntax("a.example. TXT \\# 2 0141\n", 1, "generic TXT");
	tz_expect_syntax("relative TXT \"x\"\n", 1,
	    "relative name relative and no $ORIGIN");
	tz_expect_syntax("@ TXT \"x\"\n", 1, "relative name @");
	tz_expect_syntax("a..example. TXT \"x\"\n", 1, "empty label");
	tz_expect_syntax("  TXT \"x\"\n", 1, "no owner name");
	tz_expect_syntax("a.example. CH TXT \"x\"\n", 1,
	    "class CH is not supported");
	tz_expect_syntax("$INCLUDE other.zone\n", 1,
	    "$INCLUDE is not supported");
	tz_expect_syntax("$ORIGIN\n", 1, "$ORIGIN takes one name");
	tz_expect_syntax("$TTL 1 2\n", 1, "$TTL takes one value");
	tz_expect_syntax("$TTL 1y\n", 1, "bad TTL 1y");
	tz_expect_syntax("a.example. TXT x\\\n", 1, "'\\' at the end");
}

static void
zone_missing_file_eio(void)
{
	char path[300], want[400];
	const char *tmp = getenv("TMPDIR");
	struct zone *z = (struct zone *)&z;
	struct buf err;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(path, sizeof(path), "%s/dkk-zone-absent-%ld/none.zone", tmp,
	    (long)getpid());
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	buf_init(&err);
	CU_ASSERT_EQUAL(zone_load(&z, path, &err), DKK_EIO);
	CU_ASSERT_PTR_NULL(z);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err.p);
	CU_ASSERT_STRING_EQUAL(err.p, want);
	buf_clear(&err);
}

static void
zone_directory_eio(void)
{
	struct tz_file f;
	struct zone *z;
	struct buf err;

	CU_ASSERT_EQUAL_FATAL(tz_write(&f, "", 0), 0);
	unlink(f.path);
	buf_init(&err);
	CU_ASSERT_EQUAL(zone_load(&z, f.dir, &err), DKK_EIO);
	CU_ASSERT_PTR_NULL(z);
	CU_ASSERT_PTR_NOT_NULL(err.p);
	if (err.p != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(err.p, f.dir));
	buf_clear(&err);
	rmdir(f.dir);
}

static void
zone_empty_file(void)
{
	struct zone *z = tz_load("");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_status(z, "anything.example", DKK_DNS_NXDOMAIN);
	zone_free(z);
}

static void
tz_noop_cb(void *arg, const struct dkk_dns_answer *ans)
{
	(*(int *)arg)++;
}

static void
zone_null_arguments_einval(void)
{
	struct zone *z = tz_load("k.example. TXT \"x\"\n"), *z2 = NULL;
	struct buf err;
	int calls = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(zone_query_txt(NULL, "k.example", tz_noop_cb, &calls),
	    DKK_EINVAL);
	CU_ASSERT_EQUAL(zone_query_txt(z, NULL, tz_noop_cb, &calls),
	    DKK_EINVAL);
	CU_ASSERT_EQUAL(zone_query_txt(z, "k.example", NULL, &calls),
	    DKK_EINVAL);
	CU_ASSERT_EQUAL(calls, 0);
	buf_init(&err);
	CU_ASSERT_EQUAL(zone_load(NULL, "x", &err), DKK_EINVAL);
	CU_ASSERT_EQUAL(zone_load(&z2, NULL, &err), DKK_EINVAL);
	CU_ASSERT_PTR_NULL(z2);
	zone_free(z);
	zone_free(NULL);
}

/* Many names: the table grows, and every name is still found. */
static void
zone_many_names_lookup(void)
{
	enum { N = 100000 };
	struct buf text;
	struct zone *z;
	char name[64], want[64];
	size_t i;

	buf_init(&text);
	buf_printf(&text, "$ORIGIN example.\n$TTL 60\n");
	for (i = 0; i < N; i++)
		buf_printf(&text, "s%zu._domainkey TXT \"v=DKIM1; p=%zu\"\n",
		    i, i);
	CU_ASSERT_FALSE_FATAL(text.failed);
	z = tz_load(text.p);
	buf_clear(&text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	for (i = 0; i < N; i += 997) {
		snprintf(name, sizeof(name), "S%zu._DOMAINKEY.example.", i);
		snprintf(want, sizeof(want), "v=DKIM1; p=%zu", i);
		tz_expect_txt(z, name, want);
	}
	tz_expect_txt(z, "s99999._domainkey.example", "v=DKIM1; p=99999");
	tz_expect_status(z, "s100000._domainkey.example", DKK_DNS_NXDOMAIN);
	zone_free(z);
}

static void
zone_rfc_vectors_keys(void)
{
	static const char head[] = "v=DKIM1; k=rsa; p=MIGfMA0";
	static const char tail[] = "QIDAQAB";
	char *path = unit_vector("keys.zone");
	struct tz_answer a;
	struct zone *z;
	struct buf err;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	buf_init(&err);
	rc = zone_load(&z, path, &err);
	CU_ASSERT_EQUAL(rc, DKK_OK);
	if (rc != DKK_OK)
		fprintf(stderr, "keys.zone: %s\n", err.p ? err.p : "?");
	buf_clear(&err);
	free(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_query(z, "test._domainkey.football.example.com", &a);
	CU_ASSERT_EQUAL(a.status, DKK_DNS_OK);
	CU_ASSERT_EQUAL(a.ttl, 3600);
	CU_ASSERT_EQUAL_FATAL(a.count, 1);
	CU_ASSERT_FATAL(a.len[0] > sizeof(head) + sizeof(tail));
	CU_ASSERT(memcmp(a.txt[0], head, sizeof(head) - 1) == 0);
	CU_ASSERT(memcmp(a.txt[0] + a.len[0] - (sizeof(tail) - 1), tail,
	    sizeof(tail) - 1) == 0);
	CU_ASSERT_PTR_NULL(strchr(a.txt[0], '"'));
	CU_ASSERT_PTR_NULL(strstr(a.txt[0], "DkHlOQoBTzWR iGs"));
	tz_answer_clear(&a);
	tz_expect_txt(z, "brisbane._domainkey.football.example.com",
	    "v=DKIM1; k=ed25519; "
	    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	tz_expect_status(z, "brisbane._domainkey.example.net",
	    DKK_DNS_NXDOMAIN);
	zone_free(z);
}

/* Fail each allocation of zone_load() in turn: every failure must be
 * DKK_ENOMEM with nothing loaded (and, under ASan, nothing leaked). */
static void
zone_alloc_failure_no_leak(void)
{
	struct tz_file f;
	struct buf text, err;
	struct zone *z = NULL;
	struct tz_answer a;
	long n;
	int rc = DKK_ENOMEM, i;

	buf_init(&text);
	buf_printf(&text, "$ORIGIN example.\n$TTL 1h\n"
	    "@ SOA ns admin ( 1 2 3 4 5 )\n"
	    "k TXT \"v=DKIM1; \" \"p=\\065B\"\n\tTXT \"second\"\n");
	for (i = 0; i < 80; i++)
		buf_printf(&text, "n%d A 192.0.2.1\nn%d TXT \"%d\"\n", i, i, i);
	CU_ASSERT_FALSE_FATAL(text.failed);
	CU_ASSERT_EQUAL_FATAL(tz_write(&f, text.p, text.len), 0);
	buf_clear(&text);
	for (n = 1; n < 100000 && rc == DKK_ENOMEM; n++) {
		buf_init(&err);
		dkk_alloc_fail_at = n;
		rc = zone_load(&z, f.path, &err);
		dkk_alloc_fail_at = 0;
		buf_clear(&err);
		if (rc != DKK_OK) {
			CU_ASSERT_EQUAL(rc, DKK_ENOMEM);
			CU_ASSERT_PTR_NULL(z);
		}
	}
	tz_done(&f);
	CU_ASSERT(n > 2);
	CU_ASSERT_EQUAL_FATAL(rc, DKK_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_expect_txt(z, "n79.example", "79");
	tz_expect_txt(z, "n42.example", "42");
	tz_query(z, "k.example", &a);
	CU_ASSERT_EQUAL(a.count, 2);
	if (a.count == 2) {
		CU_ASSERT_STRING_EQUAL(a.txt[0], "v=DKIM1; p=AB");
		CU_ASSERT_STRING_EQUAL(a.txt[1], "second");
	}
	tz_answer_clear(&a);
	zone_free(z);
}

/* Query name for type; the answer's records joined with "|". */
static void
tz_typed(struct zone *z, const char *name, enum dkk_dns_type type,
    enum dkk_dns_status st, const char *want)
{
	struct tz_answer a;
	char got[512] = "";
	size_t i;

	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(zone_query(z, name, type, tz_cb, &a), DKK_OK);
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_EQUAL(a.status, st);
	for (i = 0; i < a.count && i < TZ_MAX; i++) {
		if (i > 0)
			strcat(got, "|");
		strncat(got, a.txt[i], sizeof(got) - strlen(got) - 2);
	}
	if (strcmp(got, want) != 0)
		fprintf(stderr, "%s type %d: \"%s\", not \"%s\"\n", name,
		    (int)type, got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
	tz_answer_clear(&a);
}

/* What SPF asks (RFC 7208 5): A, AAAA, MX, PTR in presentation form,
 * each type apart, names absolute without the final dot. */
static void
zone_typed_records(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "h A 192.0.2.1\n"
	    "h A 192.0.2.2\n"
	    "h AAAA 2001:DB8:0::1\n"
	    "h MX 10 mx\n"
	    "h MX 5 other.example.net.\n"
	    "h TXT \"v=spf1 -all\"\n"
	    "1.2.0.192.in-addr.arpa. PTR h\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_typed(z, "h.example", DKK_DNS_A, DKK_DNS_OK,
	    "192.0.2.1|192.0.2.2");
	tz_typed(z, "h.example", DKK_DNS_AAAA, DKK_DNS_OK, "2001:db8::1");
	tz_typed(z, "H.Example.", DKK_DNS_MX, DKK_DNS_OK,
	    "10 mx.example|5 other.example.net");
	tz_typed(z, "h.example", DKK_DNS_TXT, DKK_DNS_OK, "v=spf1 -all");
	tz_typed(z, "1.2.0.192.in-addr.arpa", DKK_DNS_PTR, DKK_DNS_OK,
	    "h.example");
	tz_typed(z, "h.example", DKK_DNS_PTR, DKK_DNS_OK, "");
	tz_typed(z, "example", DKK_DNS_A, DKK_DNS_OK, "");
	tz_typed(z, "nx.example", DKK_DNS_A, DKK_DNS_NXDOMAIN, "");
	zone_free(z);
}

/* RFC 1034 3.6.2: queries follow CNAMEs, for every type, to the end of
 * the chain; a dangling one is NXDOMAIN, a loop SERVFAIL. */
static void
zone_cname_followed(void)
{
	struct zone *z = tz_load("$ORIGIN example.\n"
	    "h A 192.0.2.1\n"
	    "h TXT \"key\"\n"
	    "h MX 0 h\n"
	    "c1 CNAME c2\n"
	    "c2 CNAME h.example.\n"
	    "dangle CNAME nowhere\n"
	    "l1 CNAME l2\n"
	    "l2 CNAME l1\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	tz_typed(z, "c1.example", DKK_DNS_A, DKK_DNS_OK, "192.0.2.1");
	tz_typed(z, "c1.example", DKK_DNS_TXT, DKK_DNS_OK, "key");
	tz_typed(z, "c2.example", DKK_DNS_MX, DKK_DNS_OK, "0 h.example");
	tz_typed(z, "c2.example", DKK_DNS_AAAA, DKK_DNS_OK, "");
	tz_typed(z, "dangle.example", DKK_DNS_A, DKK_DNS_NXDOMAIN, "");
	tz_typed(z, "l1.example", DKK_DNS_A, DKK_DNS_TEMPFAIL, "");
	zone_free(z);
}

static void
zone_typed_syntax(void)
{
	tz_expect_syntax("h.example. A 192.0.2.256\n", 1, "bad address");
	tz_expect_syntax("h.example. A 192.0.2.1 x\n", 1, "A takes 1 value");
	tz_expect_syntax("h.example. AAAA 192.0.2.1\n", 1, "bad address");
	tz_expect_syntax("h.example. MX 65536 mx.example.\n", 1,
	    "bad MX preference");
	tz_expect_syntax("h.example. MX mx.example.\n", 1,
	    "MX takes 2 values");
	tz_expect_syntax("h.example. CNAME a.example.\nh.example. A "
	    "192.0.2.1\n", 2, "CNAME beside other records");
	tz_expect_syntax("h.example. TXT \"x\"\nh.example. CNAME "
	    "a.example.\n", 2, "CNAME beside other records");
}

static const struct unit_test zone_tests[] = {
	{ "zone_txt_multistring_joined", zone_txt_multistring_joined },
	{ "zone_unquoted_txt_strings", zone_unquoted_txt_strings },
	{ "zone_origin_relative_names", zone_origin_relative_names },
	{ "zone_blank_owner_previous_record",
	    zone_blank_owner_previous_record },
	{ "zone_parens_multiline", zone_parens_multiline },
	{ "zone_nxdomain_absent_name", zone_nxdomain_absent_name },
	{ "zone_nodata_other_type", zone_nodata_other_type },
	{ "zone_typed_records", zone_typed_records },
	{ "zone_cname_followed", zone_cname_followed },
	{ "zone_typed_syntax", zone_typed_syntax },
	{ "zone_case_insensitive_lookup", zone_case_insensitive_lookup },
	{ "zone_escapes_in_quotes", zone_escapes_in_quotes },
	{ "zone_comments_and_blank_lines", zone_comments_and_blank_lines },
	{ "zone_crlf_and_no_final_newline", zone_crlf_and_no_final_newline },
	{ "zone_ttl_class_either_order", zone_ttl_class_either_order },
	{ "zone_ttl_directive", zone_ttl_directive },
	{ "zone_ttl_default_without_directive",
	    zone_ttl_default_without_directive },
	{ "zone_multiple_txt_records", zone_multiple_txt_records },
	{ "zone_empty_txt_string", zone_empty_txt_string },
	{ "zone_long_character_string_accepted",
	    zone_long_character_string_accepted },
	{ "zone_record_size_limit", zone_record_size_limit },
	{ "zone_syntax_error_names_line", zone_syntax_error_names_line },
	{ "zone_syntax_errors", zone_syntax_errors },
	{ "zone_missing_file_eio", zone_missing_file_eio },
	{ "zone_directory_eio", zone_directory_eio },
	{ "zone_empty_file", zone_empty_file },
	{ "zone_null_arguments_einval", zone_null_arguments_einval },
	{ "zone_many_names_lookup", zone_many_names_lookup },
	{ "zone_rfc_vectors_keys", zone_rfc_vectors_keys },
	{ "zone_alloc_failure_no_leak", zone_alloc_failure_no_leak },
	{ NULL, NULL }
};

void
suite_zone(void)
{
	unit_suite("zone", zone_tests);
}
