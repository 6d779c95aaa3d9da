/*
 * adsp.c: Author Domain Signing Practices, RFC 5617.  The Author Domain is
 * the domain of the single address in From; the two lookups (the domain
 * itself, and its _adsp._domainkey record) start with the key lookups and
 * are only consulted when no Author Domain Signature passes.
 */
#include <stdlib.h>
#include <string.h>

#include "verify.h"

enum { ADSP_RECORD, ADSP_DOMAIN };

/* Skip a comment (nested, with quoted pairs) starting at s[i] == '('. */
static size_t
skip_comment(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

static size_t
skip_quoted(const char *s, size_t len, size_t i)
{
	for (i++; i < len && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* Copy value without comments and with FWS removed, keeping quoted
 * strings, so that addresses can be picked out of it. */
static char *
strip_comments(const char *s, size_t len)
{
	struct buf out;
	size_t i = 0, q;

	buf_init(&out);
	while (i < len) {
		if (s[i] == '(') {
			i = skip_comment(s, len, i);
			buf_addc(&out, ' ');
		} else if (s[i] == '"') {
			q = skip_quoted(s, len, i);
			buf_add(&out, s + i, q - i);
			i = q;
		} else {
			buf_addc(&out, is_fws((unsigned char)s[i]) ? ' ' : s[i]);
			i++;
		}
	}
	return buf_take(&out);
}

/* The domain of one mailbox: inside <> when present, else the whole. */
static int
mailbox_domain(const char *s, size_t len, char **domain)
{
	const char *lt = NULL, *gt, *at = NULL;
	size_t i, start, end;

	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			i = skip_quoted(s, len, i) - 1;
		else if (s[i] == '<' && lt == NULL)
			lt = s + i;
	}
	start = lt != NULL ? (size_t)(lt - s) + 1 : 0;
	gt = lt != NULL ? memchr(lt, '>', len - start + 1) : NULL;
	if (lt != NULL && gt == NULL)
		return DKK_ESYNTAX;
	end = gt != NULL ? (size_t)(gt - s) : len;
	for (i = start; i < end; i++) {
		if (s[i] == '"')
			i = skip_quoted(s, end, i) - 1;
		else if (s[i] == '@')
			at = s + i;
	}
	if (at == NULL)
		return DKK_ESYNTAX;
	for (i = (size_t)(at - s) + 1; i < end && s[i] == ' '; i++)
		;
	start = i;
	while (end > start && s[end - 1] == ' ')
		end--;
	if (!domain_valid(s + start, end - start, true))
		return DKK_ESYNTAX;
	if ((*domain = dkk_strndup(s + start, end - start)) == NULL)
		return DKK_ENOMEM;
	for (i = 0; (*domain)[i] != '\0'; i++)
		(*domain)[i] = (char)lower((unsigned char)(*domain)[i]);
	return DKK_OK;
}

/* Split at top-level commas; exactly one mailbox is required (RFC 5617
 * 2.3: several addresses make several Author Domains, not evaluated). */
int
author_domain(const char *value, size_t len, char **domain)
{
	char *s;
	size_t i, n, count = 0, start = 0, one = 0, one_end = 0;
	int rc;

	if ((s = strip_comments(value, len)) == NULL)
		return DKK_ENOMEM;
	n = strlen(s);
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] == '"') {
			i = skip_quoted(s, n, i) - 1;
			continue;
		}
		if (i < n && s[i] == '<') {
			char *gt = memchr(s + i, '>', n - i);

			i = gt != NULL ? (size_t)(gt - s) : n;
			continue;
		}
		if (i < n && s[i] != ',' && s[i] != ':' && s[i] != ';')
			continue;
		if (strspn(s + start, " ") < i - start) {
			count++;
			one = start;
			one_end = i;
		}
		start = i + 1;
	}
	rc = count == 1 ? mailbox_domain(s + one, one_end - one, domain) :
	    DKK_ESYNTAX;
	free(s);
	return rc;
}

static char *
adsp_name(const char *prefix, const char *domain)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s%s", prefix, domain);
	return buf_take(&b);
}

/* The Author Domain of a parsed header: one From field with one address
 * (RFC 5617 2.7).  DKK_ESYNTAX when there is none. */
static int
header_author(const struct header *h, char **domain)
{
	const struct field *from = NULL;
	const char *value;
	size_t i, len, nfrom = 0;

	for (i = 0; i < h->count; i++)
		if (header_is(h, &h->fields[i], "From")) {
			from = &h->fields[i];
			nfrom++;
		}
	if (nfrom != 1)
		return DKK_ESYNTAX;
	value = header_value(h, from, &len);
	return author_domain(value, len, domain);
}

int
dkk_author_domain(const char *header, size_t len, char **domain)
{
	struct header h;
	size_t used;
	int rc;

	if (header == NULL || domain == NULL)
		return DKK_EINVAL;
	*domain = NULL;
	header_init(&h, SIZE_MAX, SIZE_MAX);
	rc = header_feed(&h, header, len, &used);
	if (rc == DKK_OK && !h.done)
		rc = header_end(&h);
	if (rc == DKK_OK)
		rc = header_author(&h, domain);
	header_clear(&h);
	return rc;
}

/* At the end of the header: find the Author Domain, start the lookups.
 * Without exactly one From address the result is permerror. */
int
adsp_start(dkk_verifier *v)
{
	int rc;

	if (!v->adsp_on)
		return DKK_OK;
	v->adsp = DKK_ADSP_PERMERROR;
	if ((rc = header_author(&v->hdr, &v->author)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : DKK_OK;
	if ((rc = lookup_begin(v, &v->adsp_lk[ADSP_RECORD],
	    adsp_name("_adsp._domainkey.", v->author))) != DKK_OK)
		return rc;
	return lookup_begin(v, &v->adsp_lk[ADSP_DOMAIN],
	    adsp_name("", v->author));
}

/* RFC 5617 4.2.1: the record must start with the dkim tag (its first
 * four characters are "dkim"); unknown practices count as unknown.  A
 * record that does not comply is ignored, as if there were none: 4.1,
 * "considered equivalent to a NODATA result". */
static enum dkk_adsp
adsp_record(const char *txt, size_t len)
{
	struct tag tags[32];
	size_t n;

	if (len < 4 || memcmp(txt, "dkim", 4) != 0 ||
	    taglist_parse(txt, len, tags, 32, &n) != TAGLIST_OK || n == 0 ||
	    tags[0].nlen != 4 || memcmp(tags[0].name, "dkim", 4) != 0)
		return DKK_ADSP_NONE;
	if (tags[0].vlen == 3 && memcmp(tags[0].val, "all", 3) == 0)
		return DKK_ADSP_FAIL;
	if (tags[0].vlen == 11 && memcmp(tags[0].val, "discardable", 11) == 0)
		return DKK_ADSP_DISCARD;
	return DKK_ADSP_UNKNOWN;
}

/* RFC 5617 3.2 and 4.3: pass with an Author Domain Signature; otherwise
 * the domain must exist, and its record decides. */
void
adsp_settle(dkk_verifier *v)
{
	const struct dkk_dns_answer *rec, *dom;
	size_t i;

	if (!v->adsp_on || v->author == NULL)
		return;
	for (i = 0; i < v->nsigs; i++)
		if (v->sigs[i].res.verdict == DKK_PASS &&
		    ci_equal(v->sigs[i].sg.d, strlen(v->sigs[i].sg.d),
		    v->author, strlen(v->author))) {
			v->adsp = DKK_ADSP_PASS;
			return;
		}
	rec = keyent_answer(v->adsp_lk[ADSP_RECORD].e);
	dom = keyent_answer(v->adsp_lk[ADSP_DOMAIN].e);
	if (dns_trouble(dom))
		v->adsp = DKK_ADSP_TEMPERROR;
	else if (dom->status == DKK_DNS_NXDOMAIN)
		v->adsp = DKK_ADSP_NXDOMAIN;
	else if (dns_trouble(rec))
		v->adsp = DKK_ADSP_TEMPERROR;
	else if (rec->status == DKK_DNS_NXDOMAIN || rec->count == 0)
		v->adsp = DKK_ADSP_NONE;
	else if (rec->count > 1)
		v->adsp = DKK_ADSP_PERMERROR;
	else
		v->adsp = adsp_record(rec->txt[0], rec->len[0]);
}

void
adsp_clear(dkk_verifier *v)
{
	lookup_end(&v->adsp_lk[ADSP_RECORD]);
	lookup_end(&v->adsp_lk[ADSP_DOMAIN]);
	free(v->author);
	v->author = NULL;
}

enum dkk_adsp
dkk_verifier_adsp(const dkk_verifier *v, const char **author_domain)
{
	if (author_domain != NULL)
		*author_domain = v != NULL ? v->author : NULL;
	return v != NULL && v->final ? v->adsp : DKK_ADSP_NONE;
}
