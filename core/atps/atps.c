/*
 * atps.c: Authorized Third-Party Signatures, RFC 6541 (experimental).
 * An Author Domain lists the domains it lets sign its mail as TXT
 * records "v=ATPS1; d=SIGNER" under _atps.<author>; a signature whose
 * d= is another domain names the author in atps= and the form of the
 * record's label in atpsh=.  The lookups start when the header block
 * ends, beside the key lookups, and count only for signatures that pass.
 *
 * Where the RFC leaves a choice (written down in dkimkit(1), ATPS too):
 * - Several authors (addresses or From fields): atps= must name one of
 *   the Author Domains, and the record is looked up under that one; the
 *   A-R field has one dkim-atps entry per Author Domain.  A From field
 *   that does not parse gives no author, so nothing is evaluated.
 * - atps= naming an author with atpsh= missing or not one of none,
 *   sha1 and sha256 is permerror: the signer asked for ATPS and its
 *   request cannot be evaluated.  Only for a signature that verified:
 *   RFC 6541 4.3 evaluates "atps" only once the signature "is
 *   successfully verified", so any other signature's ATPS is none.
 * - A valid signature whose atps= names no Author Domain is none itself
 *   (4.3: the tag "MUST be ignored"), but it makes the message's result
 *   fail for each Author Domain no other signature settles (8.3: fail
 *   when all valid signatures bearing "atps" "did not reference a
 *   domain name found in the RFC5322.From field" or failed the test).
 * - Any valid record among several authorizes (v=ATPS1 anywhere in it,
 *   as RFC 6541 4.4 sets no order; d=, when present, equal to the
 *   signing domain); TXT records that are not ATPS records are ignored,
 *   as DNS lets other data share a name.
 *
 * Not a choice: d= is put in lower case before it is hashed or used as
 * the label, as RFC 6541 4.3 step 3 requires.
 *
 * ADSP: RFC 6541 6 says a verifier doing both "MUST test ATPS first"
 * and treat a valid delegation as an Author Domain Signature, so ADSP
 * counts an ATPS pass whenever ATPS is on (dkk_verify_opts.atps_adsp
 * is implied and kept only for compatibility).
 */
#include <stdlib.h>
#include <string.h>

#include "dkim/verify.h"

struct atps_sig {
	enum dkk_atps res;
	const char *author;	/* in atps.a.domain[], or NULL */
	bool stray;		/* atps= names no Author Domain */
	struct lookup lk;
	bool asked;		/* lk holds a lookup */
	struct buf why;
};

struct atps {
	struct authors a;	/* every Author Domain, lower case */
	struct atps_sig *s;	/* one per signature */
	size_t n;
};

static const char *const atps_hashes[] = { "none", "sha1", "sha256", NULL };

const char *
dkk_atps_result_name(enum dkk_atps r)
{
	static const char *const names[] = {
		"none", "pass", "fail", "temperror", "permerror"
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ?
	    names[r] : NULL;
}

/* Index in atps_hashes of the atpsh= value, or -1. */
static int
atps_hash_index(const char *s, size_t len)
{
	int i;

	for (i = 0; atps_hashes[i] != NULL; i++)
		if (strlen(atps_hashes[i]) == len &&
		    memcmp(atps_hashes[i], s, len) == 0)
			return i;
	return -1;
}

/* The label for signer: itself (none) or base32 of its digest, signer
 * in lower case either way. */
static int
atps_label(const char *signer, int hash, struct buf *out)
{
	struct hash h;
	uint8_t digest[HASH_MAX];
	char *low, *b32;
	size_t i, n = strlen(signer);

	if ((low = dkk_strdup(signer)) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < n; i++)
		low[i] = (char)lower((unsigned char)low[i]);
	if (hash == 0) {
		buf_adds(out, low);
		free(low);
		return out->failed ? DKK_ENOMEM : DKK_OK;
	}
	hash_init(&h, hash == 1 ? HASH_SHA1 : HASH_SHA256);
	hash_update(&h, low, n);
	free(low);
	if ((b32 = b32_encode(digest, hash_digest(&h, digest))) == NULL)
		return DKK_ENOMEM;
	buf_adds(out, b32);
	free(b32);
	return out->failed ? DKK_ENOMEM : DKK_OK;
}

/* "<label>._atps.<author>", which must be a domain name: labels of at
 * most 63 octets, the name at most 255 on the wire (RFC 1035 2.3.4), so
 * 253 characters written without the final dot. */
static int
atps_name(const char *signer, const char *author, int hash, char **name)
{
	struct buf b;
	int rc;

	buf_init(&b);
	if ((rc = atps_label(signer, hash, &b)) == DKK_OK)
		buf_printf(&b, "._atps.%s", author);
	if (rc == DKK_OK && b.failed)
		rc = DKK_ENOMEM;
	if (rc == DKK_OK && (b.len > 253 || !domain_valid(b.p, b.len, true)))
		rc = DKK_EINVAL;
	*name = rc == DKK_OK ? buf_take(&b) : NULL;
	buf_clear(&b);
	return rc;
}

int
dkk_atps_query(const char *signer, const char *author, const char *hash,
    char **name)
{
	int h;

	if (name == NULL)
		return DKK_EINVAL;
	*name = NULL;
	if (signer == NULL || author == NULL || hash == NULL ||
	    (h = atps_hash_index(hash, strlen(hash))) < 0 ||
	    !domain_valid(signer, strlen(signer), false) ||
	    !domain_valid(author, strlen(author), false))
		return DKK_EINVAL;
	return atps_name(signer, author, h, name);
}

int
atps_new(dkk_verifier *v, const struct dkk_verify_opts *opts)
{
	if (opts == NULL || !opts->atps)
		return DKK_OK;
	if ((v->atps = dkk_calloc(1, sizeof(*v->atps))) == NULL)
		return DKK_ENOMEM;
	return DKK_OK;
}

static void PRINTF(3, 4)
atps_decide(struct atps_sig *s, enum dkk_atps res, const char *fmt, ...)
{
	va_list ap;

	s->res = res;
	s->why.len = 0;
	va_start(ap, fmt);
	buf_vprintf(&s->why, fmt, ap);
	va_end(ap);
}

/* The Author Domain equal to value, or NULL. */
static const char *
atps_author_of(const struct authors *a, const char *value, size_t len)
{
	size_t k;

	for (k = 0; k < a->n; k++)
		if (ci_equal(a->domain[k], strlen(a->domain[k]), value, len))
			return a->domain[k];
	return NULL;
}

/* Signature i's request, if it makes one: atps= naming an author other
 * than d=, with a hash we know; then its lookup starts. */
static int
atps_sig_start(dkk_verifier *v, size_t i)
{
	struct atps_sig *s = &v->atps->s[i];
	const struct vsig *vs = &v->sigs[i];
	const struct tag *atps, *atpsh;
	struct tag tags[SIG_TAGS_CAP];
	const char *value, *d = vs->sg.d;
	size_t len, n;
	char *name;
	int h, rc;

	if (!vs->evaluated || vs->decided)
		return DKK_OK;
	value = header_value(&v->hdr, &v->hdr.fields[vs->field], &len);
	if (taglist_parse(value, len, tags, SIG_TAGS_CAP, &n) != TAGLIST_OK ||
	    (atps = taglist_find(tags, n, "atps")) == NULL)
		return DKK_OK;
	if (atps_author_of(&v->atps->a, d, strlen(d)) != NULL) {
		atps_decide(s, DKK_ATPS_NONE, "d=%s is an Author Domain", d);
		return DKK_OK;
	}
	if ((s->author = atps_author_of(&v->atps->a, atps->val,
	    atps->vlen)) == NULL) {
		s->stray = true;
		atps_decide(s, DKK_ATPS_NONE, "atps=%.*s is not an Author "
		    "Domain", (int)(atps->vlen > 253 ? 253 : atps->vlen),
		    atps->val);
		return DKK_OK;
	}
	atpsh = taglist_find(tags, n, "atpsh");
	if (atpsh == NULL || (h = atps_hash_index(atpsh->val,
	    atpsh->vlen)) < 0) {
		atps_decide(s, DKK_ATPS_PERMERROR, atpsh == NULL ?
		    "atps= without atpsh=" : "atpsh= is not none, sha1 or "
		    "sha256");
		return DKK_OK;
	}
	if ((rc = atps_name(d, s->author, h, &name)) != DKK_OK) {
		if (rc == DKK_ENOMEM)
			return rc;
		atps_decide(s, DKK_ATPS_PERMERROR, "the ATPS query name for "
		    "d=%s is not a domain name (over 253 characters)", d);
		return DKK_OK;
	}
	s->asked = true;
	return lookup_begin(v, &s->lk, name);
}

/* At the end of the header, after the signatures are set up. */
int
atps_start(dkk_verifier *v)
{
	struct atps *at = v->atps;
	size_t i;
	int rc;

	if (at == NULL)
		return DKK_OK;
	if ((rc = header_authors(&v->hdr, &at->a)) == DKK_ENOMEM)
		return rc;
	if (at->a.malformed) {
		authors_clear(&at->a);
		memset(&at->a, 0, sizeof(at->a));
	}
	if (v->nsigs > 0 && (at->s = dkk_calloc(v->nsigs,
	    sizeof(*at->s))) == NULL)
		return DKK_ENOMEM;
	at->n = v->nsigs;
	for (i = 0; i < at->n; i++)
		buf_init(&at->s[i].why);
	for (i = 0; i < at->n; i++)
		if ((rc = atps_sig_start(v, i)) != DKK_OK)
			return rc;
	return DKK_OK;
}

/* An ATPS record authorizing d (RFC 6541 4.4: v=ATPS1 required, in any
 * place, as the RFC sets no order; d= optional; other tags are
 * ignored). */
static bool
atps_record_ok(const char *txt, size_t len, const char *d)
{
	struct tag tags[32];
	const struct tag *vt, *dt;
	size_t n;

	if (taglist_parse(txt, len, tags, 32, &n) != TAGLIST_OK ||
	    (vt = taglist_find(tags, n, "v")) == NULL ||
	    vt->vlen != 5 || memcmp(vt->val, "ATPS1", 5) != 0)
		return false;
	dt = taglist_find(tags, n, "d");
	return dt == NULL || ci_equal(dt->val, dt->vlen, d, strlen(d));
}

static void
atps_sig_settle(dkk_verifier *v, size_t i)
{
	struct atps_sig *s = &v->atps->s[i];
	const char *d = v->sigs[i].sg.d, *name = s->lk.name;
	const struct dkk_dns_answer *ans;
	size_t k;

	/* RFC 6541 4.3: only a signature "successfully verified" has its
	 * atps= evaluated; whatever its request looked like, the rest
	 * are none (no permerror for a bad atpsh= on a broken one) */
	if (v->sigs[i].res.verdict != DKK_PASS) {
		if (s->asked || s->res != DKK_ATPS_NONE || s->stray)
			atps_decide(s, DKK_ATPS_NONE, "signature did not "
			    "pass");
		s->stray = false;
		return;
	}
	if (!s->asked)
		return;
	ans = keyent_answer(s->lk.e);
	if (dns_trouble(ans)) {
		atps_decide(s, DKK_ATPS_TEMPERROR, ans->dnssec ==
		    DKK_DNSSEC_BOGUS ? "DNSSEC validation of %s failed" :
		    "lookup of %s failed temporarily", name);
		return;
	}
	for (k = 0; ans->status == DKK_DNS_OK && k < ans->count; k++)
		if (atps_record_ok(ans->txt[k], ans->len[k], d)) {
			atps_decide(s, DKK_ATPS_PASS, "v=ATPS1 record at %s",
			    name);
			return;
		}
	atps_decide(s, DKK_ATPS_FAIL, ans->status == DKK_DNS_NXDOMAIN ||
	    ans->count == 0 ? "no record at %s" : "no ATPS record for d= "
	    "at %s", name);
}

/* Once the DKIM verdicts are known, before ADSP uses them. */
void
atps_settle(dkk_verifier *v)
{
	size_t i;

	if (v->atps == NULL)
		return;
	for (i = 0; i < v->atps->n; i++)
		atps_sig_settle(v, i);
}

/* For ADSP (RFC 6541 6): does signature i stand for author? */
bool
atps_authorizes(const dkk_verifier *v, size_t i, const char *author)
{
	const struct atps_sig *s;

	if (v->atps == NULL || i >= v->atps->n)
		return false;
	s = &v->atps->s[i];
	return s->res == DKK_ATPS_PASS &&
	    ci_equal(s->author, strlen(s->author), author, strlen(author));
}

size_t
atps_authors(const dkk_verifier *v)
{
	return v->atps != NULL ? v->atps->a.n : 0;
}

/* The message's result for Author Domain k (RFC 6541 8.3's meaning of
 * the A-R result: pass when at least one signature it authorizes
 * passes; fail when some asked and none was authorized, or a valid
 * signature's atps= named no Author Domain at all); *signer gets a
 * passing signature's d=, or NULL. */
enum dkk_atps
atps_author(const dkk_verifier *v, size_t k, const char **author,
    const char **signer)
{
	static const enum dkk_atps order[] = {
		DKK_ATPS_PASS, DKK_ATPS_TEMPERROR, DKK_ATPS_PERMERROR,
		DKK_ATPS_FAIL
	};
	const struct atps *at = v->atps;
	size_t i, w;

	*author = at->a.domain[k];
	*signer = NULL;
	for (w = 0; w < sizeof(order) / sizeof(order[0]); w++)
		for (i = 0; i < at->n; i++)
			if ((at->s[i].author == at->a.domain[k] &&
			    at->s[i].res == order[w]) ||
			    (order[w] == DKK_ATPS_FAIL && at->s[i].stray)) {
				if (order[w] == DKK_ATPS_PASS)
					*signer = v->sigs[i].sg.d;
				return order[w];
			}
	return DKK_ATPS_NONE;
}

enum dkk_atps
dkk_verifier_atps(const dkk_verifier *v, size_t i, const char **author,
    const char **detail)
{
	const struct atps_sig *s = NULL;

	if (v != NULL && v->final && v->atps != NULL && i < v->atps->n)
		s = &v->atps->s[i];
	if (author != NULL)
		*author = s != NULL ? s->author : NULL;
	if (detail != NULL)
		*detail = s != NULL && s->why.len > 0 && !s->why.failed ?
		    s->why.p : "";
	return s != NULL ? s->res : DKK_ATPS_NONE;
}

void
atps_clear(dkk_verifier *v)
{
	size_t i;

	if (v->atps == NULL)
		return;
	for (i = 0; i < v->atps->n; i++) {
		if (v->atps->s[i].asked)
			lookup_end(&v->atps->s[i].lk);
		buf_clear(&v->atps->s[i].why);
	}
	free(v->atps->s);
	authors_clear(&v->atps->a);
	free(v->atps);
	v->atps = NULL;
}
