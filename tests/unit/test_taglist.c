/*
 * test_taglist.c: tag=value lists, RFC 6376 3.2 (core/mail/taglist.c).
 */
#include <string.h>

#include "unit.h"

#define TL_MAX 16

struct tl {
	struct tag tags[TL_MAX];
	size_t n;
	const char *s;
};

static int
tl_parse(struct tl *t, const char *s)
{
	t->s = s;
	return taglist_parse(s, strlen(s), t->tags, TL_MAX, &t->n);
}

/* Assert that tag i is name=value (value as taglist_parse trims it). */
static void
tl_expect(const struct tl *t, size_t i, const char *name, const char *value)
{
	CU_ASSERT_FATAL(i < t->n);
	CU_ASSERT_EQUAL(t->tags[i].nlen, strlen(name));
	CU_ASSERT(t->tags[i].nlen == strlen(name) &&
	    memcmp(t->tags[i].name, name, t->tags[i].nlen) == 0);
	CU_ASSERT_EQUAL(t->tags[i].vlen, strlen(value));
	CU_ASSERT(t->tags[i].vlen == strlen(value) &&
	    memcmp(t->tags[i].val, value, t->tags[i].vlen) == 0);
}

static void
tl_expect_rc(const char *s, int rc)
{
	struct tl t;

	CU_ASSERT_EQUAL(tl_parse(&t, s), rc);
}

static void
taglist_simple_pairs(void)
{
	struct tl t;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "v=1;a=rsa-sha256;d=example.com"),
	    TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 3);
	tl_expect(&t, 0, "v", "1");
	tl_expect(&t, 1, "a", "rsa-sha256");
	tl_expect(&t, 2, "d", "example.com");
}

/* FWS may surround the tag name, the "=" and the ";". */
static void
taglist_fws_around_equals_and_semicolon(void)
{
	struct tl t;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t,
	    " \r\n\tv \t=\r\n 1 ;\r\n\ta\t=  rsa-sha256\t\r\n ;d= x "),
	    TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 3);
	tl_expect(&t, 0, "v", "1");
	tl_expect(&t, 1, "a", "rsa-sha256");
	tl_expect(&t, 2, "d", "x");
}

/* tag-list = tag-spec *( ";" tag-spec ) [ ";" ] */
static void
taglist_trailing_semicolon(void)
{
	struct tl t;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "a=1; b=2;"), TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 2);
	tl_expect(&t, 1, "b", "2");
	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "a=1 ; \r\n "), TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 1);
}

static void
taglist_empty_list(void)
{
	struct tl t;

	CU_ASSERT_EQUAL(tl_parse(&t, ""), TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 0);
	CU_ASSERT_EQUAL(tl_parse(&t, " \r\n\t"), TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 0);
}

/* Only one optional ";" at the end, and none between tags. */
static void
taglist_double_semicolon_syntax_error(void)
{
	tl_expect_rc("a=1;;b=2", TAGLIST_SYNTAX);
	tl_expect_rc("a=1;;", TAGLIST_SYNTAX);
	tl_expect_rc("a=1; ; b=2", TAGLIST_SYNTAX);
	tl_expect_rc(";", TAGLIST_SYNTAX);
	tl_expect_rc(";a=1", TAGLIST_SYNTAX);
}

/* 3.2: a tag name appearing twice invalidates the whole list. */
static void
taglist_duplicate_tag_invalid(void)
{
	tl_expect_rc("a=1; b=2; a=1", TAGLIST_DUPLICATE);
	tl_expect_rc("bh=x; b=y; bh=x", TAGLIST_DUPLICATE);
	tl_expect_rc("d=; d=", TAGLIST_DUPLICATE);
}

/* 3.2: tag names are case-sensitive, so "a" and "A" are two tags. */
static void
taglist_names_case_sensitive(void)
{
	struct tl t;
	const struct tag *f;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "a=lower; A=upper"), TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 2);
	f = taglist_find(t.tags, t.n, "a");
	CU_ASSERT_PTR_EQUAL(f, &t.tags[0]);
	f = taglist_find(t.tags, t.n, "A");
	CU_ASSERT_PTR_EQUAL(f, &t.tags[1]);
	CU_ASSERT_PTR_NULL(taglist_find(t.tags, t.n, "b"));
	/* "b" is not a prefix match for "bh" */
	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "bh=1"), TAGLIST_OK);
	CU_ASSERT_PTR_NULL(taglist_find(t.tags, t.n, "b"));
}

/* tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_" */
static void
taglist_bad_tag_names(void)
{
	struct tl t;

	tl_expect_rc("1a=x", TAGLIST_SYNTAX);
	tl_expect_rc("_a=x", TAGLIST_SYNTAX);
	tl_expect_rc("a-b=x", TAGLIST_SYNTAX);
	tl_expect_rc("a b=x", TAGLIST_SYNTAX);
	tl_expect_rc("=x", TAGLIST_SYNTAX);
	tl_expect_rc("a", TAGLIST_SYNTAX);
	tl_expect_rc("a=1; b", TAGLIST_SYNTAX);
	tl_expect_rc("\xc3\xa9=x", TAGLIST_SYNTAX);
	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "a_1=x; Z9=y"), TAGLIST_OK);
	tl_expect(&t, 0, "a_1", "x");
	tl_expect(&t, 1, "Z9", "y");
}

static void
taglist_empty_values(void)
{
	struct tl t;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "a=; b= \r\n ;c="), TAGLIST_OK);
	CU_ASSERT_EQUAL(t.n, 3);
	tl_expect(&t, 0, "a", "");
	tl_expect(&t, 1, "b", "");
	tl_expect(&t, 2, "c", "");
}

/* tag-value = [ tval *( 1*(WSP / FWS) tval ) ]: inner FWS is kept, the
 * outer FWS is not part of the value. */
static void
taglist_values_with_inner_whitespace(void)
{
	struct tl t;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t,
	    "h= From : To :\r\n\tSubject ; b=ab cd\r\n ef \t"), TAGLIST_OK);
	tl_expect(&t, 0, "h", "From : To :\r\n\tSubject");
	tl_expect(&t, 1, "b", "ab cd\r\n ef");
}

/* "=" is a VALCHAR, ";" is not; control characters are not. */
static void
taglist_value_characters(void)
{
	struct tl t;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "b=abc==; n=x=y z"), TAGLIST_OK);
	tl_expect(&t, 0, "b", "abc==");
	tl_expect(&t, 1, "n", "x=y z");
	tl_expect_rc("a=x\x01y", TAGLIST_SYNTAX);
	tl_expect_rc("a=x\x7fy", TAGLIST_SYNTAX);
	tl_expect_rc("a=x\0y", TAGLIST_OK);	/* strlen stops at the NUL */
	CU_ASSERT_EQUAL(taglist_parse("a=x\0y", 5, t.tags, TL_MAX, &t.n),
	    TAGLIST_SYNTAX);
}

/* vend is the offset of the ";" (or the end) that closes a value: the
 * signature code deletes b= up to there. */
static void
taglist_value_end_offset(void)
{
	struct tl t;

	CU_ASSERT_EQUAL_FATAL(tl_parse(&t, "a=1 ; b = 22 "), TAGLIST_OK);
	CU_ASSERT_EQUAL(t.tags[0].vend, 4);
	CU_ASSERT_EQUAL(t.tags[1].vend, strlen(t.s));
	CU_ASSERT_EQUAL(t.tags[1].val - t.s, 10);
}

static void
taglist_too_many_tags(void)
{
	struct tag tags[2];
	size_t n;

	CU_ASSERT_EQUAL(taglist_parse("a=1;b=2", 7, tags, 2, &n), TAGLIST_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(taglist_parse("a=1;b=2;c=3", 11, tags, 2, &n),
	    TAGLIST_TOO_MANY);
}

/* Only len octets are parsed. */
static void
taglist_uses_length(void)
{
	struct tag tags[4];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(taglist_parse("a=1;b=2;;;", 7, tags, 4, &n),
	    TAGLIST_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(tags[1].vlen, 1);
}

static const struct unit_test taglist_tests[] = {
	{ "taglist_simple_pairs", taglist_simple_pairs },
	{ "taglist_fws_around_equals_and_semicolon",
	    taglist_fws_around_equals_and_semicolon },
	{ "taglist_trailing_semicolon", taglist_trailing_semicolon },
	{ "taglist_empty_list", taglist_empty_list },
	{ "taglist_double_semicolon_syntax_error",
	    taglist_double_semicolon_syntax_error },
	{ "taglist_duplicate_tag_invalid", taglist_duplicate_tag_invalid },
	{ "taglist_names_case_sensitive", taglist_names_case_sensitive },
	{ "taglist_bad_tag_names", taglist_bad_tag_names },
	{ "taglist_empty_values", taglist_empty_values },
	{ "taglist_values_with_inner_whitespace",
	    taglist_values_with_inner_whitespace },
	{ "taglist_value_characters", taglist_value_characters },
	{ "taglist_value_end_offset", taglist_value_end_offset },
	{ "taglist_too_many_tags", taglist_too_many_tags },
	{ "taglist_uses_length", taglist_uses_length },
	{ NULL, NULL }
};

void
suite_taglist(void)
{
	unit_suite("taglist", taglist_tests);
}
