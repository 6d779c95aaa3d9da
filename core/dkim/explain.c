/*
 * explain.c: why a signature failed.  The verifier says "body hash
 * mismatch" or "signature did not verify"; this file says what happened to
 * the message after it was signed, by trying the repairs of the common
 * breakages and checking the signature again.  It never changes a verdict.
 *
 * Body: beside the verifier's canonicalisers, a plain one (octet by octet:
 * it only runs when asked) feeds a running hash per signature, and at the
 * end of every canonical line with content a copy of it is finished and
 * compared with bh=.  A match means the signed body is a prefix of this one
 * (body-appended, with the octets and lines after it).  Lists add their
 * footer to multipart mail before the closing boundary instead: the
 * hashes at the last RING line ends are kept, and at the end each is
 * finished with the tail (the closing boundary line and what follows);
 * a match is body-appended too, with the octets and lines inserted.  No
 * match means any other change (body-changed).  A signature with l=
 * hashes a prefix already, so its body can only have changed within the
 * l= octets.
 *
 * Header: the header hash itself is not in the signature, so each repair
 * builds the header block again with one edit and checks the signature
 * over it (one public key operation each, within the bounds below).  In
 * order: a list tag taken off Subject (subject-tagged); a field whose
 * name h= lists taken out (header-added: an oversigned slot filled, a
 * From added); with z=, the copied fields compared with the current ones
 * (header-changed, the first whose value differs); the rewrites
 * transports make (a fold or a split at 998 octets undone, refolding and
 * whitespace undone under simple), one field, then every field at once
 * (header-changed); with z=, a field whose whitespace differs from its
 * copy (header-changed).  A field added whose name h= does not list (a
 * Received-style prepend) changes no hash, so it needs no repair.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"

#define XOUT 4096		/* canonical octets hashed in one go */
/* What explaining one message may cost (RFC 6376 8.4: the message chooses
 * how much work a verifier does): signature checks per failing signature
 * and per message, and header octets rebuilt for them per message.  Past
 * them a header failure is header-unknown. */
#define TRIALS_MAX 256
#define TRIALS_TOTAL 512
#define WORK_MAX (64u << 20)
#define TAG_MAX 100		/* longest "[list]" tag looked for */
/* A list that adds its footer to multipart mail inserts it before the
 * closing boundary: the line ends kept to find where it starts, and the
 * longest closing part (boundary and epilogue) kept to hash after it. */
#define RING 64
#define TAIL_MAX 1024
#define NO_EDIT SIZE_MAX
#define EVERY_FIELD (SIZE_MAX - 1)

/* A running body hash for one signature without l=. */
/* The running hash at a line end. */
struct snap {
	struct hash h;
	uint64_t octets;
	uint64_t lines;
};

struct track {
	size_t sig;		/* index in v->sigs */
	struct hash h;
	bool found;		/* the signed body is a prefix of this one */
	bool inserted;		/* ... or this one less lines before the tail */
	uint64_t octets;	/* canonical octets of that prefix */
	uint64_t lines;
	uint64_t added;		/* octets and lines inserted */
	uint64_t added_lines;
	struct snap *ring;	/* the last RING line ends */
	size_t nring;
};

/* The plain canonicaliser, RFC 6376 3.4.3 and 3.4.4, which also keeps
 * its tail: the canonical text from the last line that starts with "--"
 * (a MIME boundary) to the end, while it fits. */
struct xcanon {
	bool cr, wsp, content, any;
	uint64_t empty;		/* empty lines held back */
	uint64_t octets;	/* canonical octets out so far */
	uint64_t lines;
	size_t outlen;
	char out[XOUT];
	size_t llen;		/* the current line, its start in line[] */
	char line[TAIL_MAX];
	bool tail_on;
	uint64_t tail_at;	/* octets before the tail */
	uint64_t tail_lines;
	size_t tlen;
	char tail[TAIL_MAX];
};

struct xres {
	enum dkk_class cls;
	char *field;
	struct buf detail;
};

struct explain {
	bool started;
	bool failed;		/* out of memory: classes say internal */
	struct xcanon canon[2];	/* by enum dkk_canon */
	struct track *tracks;
	size_t ntracks;
	struct xres *res;
	size_t nres;
	unsigned trials;	/* of the signature being explained */
	unsigned total;		/* of the message */
	size_t work;		/* header octets rebuilt */
};

/* One edit of the header block: field at (or every field) rewritten by fn,
 * or dropped when fn is NULL. */
struct edit {
	size_t at;
	int (*fn)(struct buf *out, const char *f, size_t len, const void *arg);
	const void *arg;
};

struct text {
	const char *p;
	size_t n;
};

const char *
dkk_class_name(enum dkk_class c)
{
	static const char *const names[] = {
		"none", "body-appended", "body-changed", "subject-tagged",
		"header-added", "header-changed", "header-unknown", "key",
		"dns", "time", "algorithm", "syntax", "limit", "internal",
	};

	if ((int)c < 0 || (size_t)c >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[c];
}

int
explain_new(struct explain **ep)
{
	if ((*ep = dkk_calloc(1, sizeof(**ep))) == NULL)
		return DKK_ENOMEM;
	return DKK_OK;
}

void
explain_free(struct explain *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nres; i++) {
		free(e->res[i].field);
		buf_clear(&e->res[i].detail);
	}
	free(e->res);
	for (i = 0; i < e->ntracks; i++)
		free(e->tracks[i].ring);
	free(e->tracks);
	free(e);
}

/* ------------------------------------------------------------------ */
/* Body: running hashes at line ends.                                 */

static bool
track_matches(const dkk_verifier *v, const struct track *t)
{
	const struct sig *sg = &v->sigs[t->sig].sg;
	struct hash h = t->h;
	uint8_t d[HASH_MAX];
	size_t n = hash_digest(&h, d);

	return sg->bhlen == n && memcmp(sg->bh, d, n) == 0;
}

static void
xcanon_flush(dkk_verifier *v, enum dkk_canon c)
{
	struct explain *e = v->explain;
	struct xcanon *x = &e->canon[c];
	size_t i;

	for (i = 0; i < e->ntracks; i++) {
		struct track *t = &e->tracks[i];

		if (!t->found && v->sigs[t->sig].sg.bcanon == c)
			hash_update(&t->h, x->out, x->outlen);
	}
	x->outlen = 0;
}

/* A canonical line (with its CRLF) is out: does a tail start or go on? */
static void
xcanon_line(struct xcanon *x)
{
	if (x->llen > 4 && x->llen <= TAIL_MAX && x->line[0] == '-' &&
	    x->line[1] == '-') {
		x->tail_on = true;
		x->tlen = 0;
		x->tail_at = x->octets - x->llen;
		x->tail_lines = x->lines;
	}
	if (x->tail_on && x->tlen + x->llen <= TAIL_MAX) {
		memcpy(x->tail + x->tlen, x->line, x->llen);
		x->tlen += x->llen;
	} else
		x->tail_on = false;
	x->llen = 0;
}

static void
xcanon_putc(dkk_verifier *v, enum dkk_canon c, char ch)
{
	struct xcanon *x = &v->explain->canon[c];

	if (x->outlen == XOUT)
		xcanon_flush(v, c);
	x->out[x->outlen++] = ch;
	x->octets++;
	if (x->llen < TAIL_MAX)
		x->line[x->llen] = ch;
	x->llen++;
	if (ch == '\n')	/* canonical: only ever the LF of a CRLF */
		xcanon_line(x);
}

static void
xcanon_crlf(dkk_verifier *v, enum dkk_canon c)
{
	xcanon_putc(v, c, '\r');
	xcanon_putc(v, c, '\n');
	v->explain->canon[c].lines++;
}

/* A line with content ended: is what came out so far the signed body? */
static void
xcanon_check(dkk_verifier *v, enum dkk_canon c)
{
	struct explain *e = v->explain;
	size_t i;

	xcanon_flush(v, c);
	for (i = 0; i < e->ntracks; i++) {
		struct track *t = &e->tracks[i];
		struct snap *sn;

		if (t->found || v->sigs[t->sig].sg.bcanon != c)
			continue;
		sn = &t->ring[t->nring++ % RING];
		sn->h = t->h;
		sn->octets = e->canon[c].octets;
		sn->lines = e->canon[c].lines;
		if (!track_matches(v, t))
			continue;
		t->found = true;
		t->octets = e->canon[c].octets;
		t->lines = e->canon[c].lines;
	}
}

/* At the end, for a body that is no prefix: is the signed body one of the
 * last line ends, then up to two empty lines, then the tail?  Then what
 * lies between was inserted before the closing boundary. */
static void
track_insert(const dkk_verifier *v, struct track *t, const struct xcanon *x)
{
	const struct sig *sg = &v->sigs[t->sig].sg;
	uint8_t d[HASH_MAX];
	size_t i, k, n;

	if (!x->tail_on || x->tail_at == 0)
		return;
	for (i = 0; i < RING && i < t->nring; i++) {
		const struct snap *sn = &t->ring[(t->nring - 1 - i) % RING];

		for (k = 0; k <= 2 && sn->octets + 2 * k < x->tail_at; k++) {
			struct hash h = sn->h;

			for (n = 0; n < k; n++)
				hash_update(&h, "\r\n", 2);
			hash_update(&h, x->tail, x->tlen);
			n = hash_digest(&h, d);
			if (sg->bhlen != n || memcmp(sg->bh, d, n) != 0)
				continue;
			t->inserted = true;
			t->added = x->tail_at - sn->octets - 2 * k;
			t->added_lines = x->tail_lines - sn->lines - k;
			return;
		}
	}
}

static void
xcanon_eol(dkk_verifier *v, enum dkk_canon c)
{
	struct xcanon *x = &v->explain->canon[c];

	if (x->content) {
		xcanon_crlf(v, c);
		xcanon_check(v, c);
	} else
		x->empty++;
	x->content = false;
	x->wsp = false;
}

static void
xcanon_octet(dkk_verifier *v, enum dkk_canon c, char ch)
{
	struct xcanon *x = &v->explain->canon[c];

	if (c == DKK_CANON_RELAXED && is_wsp((unsigned char)ch)) {
		x->wsp = true;
		return;
	}
	if (!x->content) {
		for (; x->empty > 0; x->empty--)
			xcanon_crlf(v, c);
		x->content = x->any = true;
	}
	if (x->wsp) {
		xcanon_putc(v, c, ' ');
		x->wsp = false;
	}
	xcanon_putc(v, c, ch);
}

static void
xcanon_feed(dkk_verifier *v, enum dkk_canon c, const char *p, size_t len)
{
	struct xcanon *x = &v->explain->canon[c];
	size_t i;

	for (i = 0; i < len; i++) {
		if (x->cr) {
			x->cr = false;
			if (p[i] == '\n') {
				xcanon_eol(v, c);
				continue;
			}
			xcanon_octet(v, c, '\r');
		}
		if (p[i] == '\r')
			x->cr = true;
		else if (p[i] == '\n')
			xcanon_eol(v, c);
		else
			xcanon_octet(v, c, p[i]);
	}
}

/* The last line gets its CRLF; an empty body is CRLF under simple. */
static void
xcanon_finish(dkk_verifier *v, enum dkk_canon c)
{
	struct xcanon *x = &v->explain->canon[c];

	if (x->cr) {
		x->cr = false;
		xcanon_octet(v, c, '\r');
	}
	if (x->content)
		xcanon_eol(v, c);
	if (!x->any && c == DKK_CANON_SIMPLE)
		xcanon_crlf(v, c);
	xcanon_flush(v, c);
}

/* A track per signature whose body hash is still open, each checked at
 * once against the empty body (CRLF under simple, nothing under relaxed). */
static void
explain_start(dkk_verifier *v)
{
	struct explain *e = v->explain;
	size_t i;

	e->started = true;
	if (v->nsigs == 0)
		return;
	if ((e->tracks = dkk_calloc(v->nsigs, sizeof(*e->tracks))) == NULL) {
		e->failed = true;
		return;
	}
	for (i = 0; i < v->nsigs; i++) {
		const struct vsig *vs = &v->sigs[i];
		struct track *t = &e->tracks[e->ntracks];

		if (!vs->evaluated || vs->decided || vs->sg.l >= 0)
			continue;
		if ((t->ring = dkk_calloc(RING, sizeof(*t->ring))) == NULL) {
			e->failed = true;
			return;
		}
		t->sig = i;
		hash_init(&t->h, sig_hash(vs->sg.alg));
		e->ntracks++;
		if (vs->sg.bcanon == DKK_CANON_SIMPLE) {
			struct hash h = t->h;
			uint8_t d[HASH_MAX];
			size_t n;

			hash_update(&h, "\r\n", 2);
			n = hash_digest(&h, d);
			t->found = vs->sg.bhlen == n &&
			    memcmp(vs->sg.bh, d, n) == 0;
		} else
			t->found = track_matches(v, t);
	}
}

void
explain_feed(dkk_verifier *v, const char *p, size_t len)
{
	struct explain *e = v->explain;

	if (!e->started)
		explain_start(v);
	if (e->failed || e->ntracks == 0)
		return;
	if (v->body.canon[DKK_CANON_SIMPLE] != NULL)
		xcanon_feed(v, DKK_CANON_SIMPLE, p, len);
	if (v->body.canon[DKK_CANON_RELAXED] != NULL)
		xcanon_feed(v, DKK_CANON_RELAXED, p, len);
}

/* ------------------------------------------------------------------ */
/* Header: rebuild with one edit, check the signature again.          */

static int
edit_apply(const struct edit *ed, struct buf *out, const char *f, size_t len)
{
	if (ed->fn == NULL)
		return DKK_OK;
	if (ed->fn(out, f, len, ed->arg) != DKK_OK)
		return DKK_ENOMEM;
	return buf_add(out, "\r\n", 2);
}

/* The header block (fields, blank line) with the edit made. */
static int
edit_build(const struct header *hdr, const struct edit *ed, struct buf *out)
{
	size_t i;
	int rc = DKK_OK;

	out->len = 0;
	for (i = 0; i < hdr->count && rc == DKK_OK; i++) {
		const struct field *f = &hdr->fields[i];
		const char *s = header_text(hdr, f);

		if (ed->at == i || ed->at == EVERY_FIELD)
			rc = edit_apply(ed, out, s, f->len);
		else if ((rc = buf_add(out, s, f->len)) == DKK_OK)
			rc = buf_add(out, "\r\n", 2);
	}
	return rc == DKK_OK ? buf_add(out, "\r\n", 2) : rc;
}

/* The DKIM-Signature field of hdr with the b= of vs (b= has no FWS in
 * b64, so refolding the field keeps it found), parsed into sg. */
static size_t
own_field(const struct header *hdr, const struct vsig *vs, struct sig *sg,
    struct buf *why)
{
	enum dkk_reason r;
	size_t i;

	for (i = 0; i < hdr->count; i++) {
		const struct field *f = &hdr->fields[i];

		if (!header_is(hdr, f, "DKIM-Signature"))
			continue;
		memset(sg, 0, sizeof(*sg));
		if (sig_parse(sg, header_text(hdr, f), f->len, &r, why) ==
		    DKK_OK && strcmp(sg->b64, vs->sg.b64) == 0)
			return i;
		sig_clear(sg);
	}
	return SIZE_MAX;
}

/* RFC 6376 6.1.3 over a header block given as text. */
static bool
header_verifies(dkk_verifier *v, const struct vsig *vs,
    const struct pubkey *key, const struct buf *text)
{
	struct header h;
	struct sig sg;
	struct hash hs;
	struct buf tmp;
	uint8_t d[HASH_MAX];
	size_t used, own;
	bool ok = false;

	buf_init(&tmp);
	header_init(&h, text->len + 2, v->hdr.count + 2);
	if (header_feed(&h, text->p, text->len, &used) != DKK_OK ||
	    header_end(&h) != DKK_OK ||
	    (own = own_field(&h, vs, &sg, &tmp)) == SIZE_MAX)
		goto out;
	hash_init(&hs, sig_hash(sg.alg));
	if (hdrsel_hash(&hs, &h, sg.h, sg.nh, sg.hcanon, &h.fields[own],
	    &tmp) == DKK_OK && (tmp.len = 0, canon_header(&tmp, sg.hcanon,
	    sg.unsigned_field, sg.unsigned_len, false)) == DKK_OK) {
		hash_update(&hs, tmp.p, tmp.len);
		hash_digest(&hs, d);
		ok = pubkey_verify(key, sig_hash(sg.alg), d, sg.b, sg.blen);
	}
	sig_clear(&sg);
out:
	header_clear(&h);
	buf_clear(&tmp);
	return ok;
}

static bool
edit_try(dkk_verifier *v, const struct vsig *vs, const struct pubkey *key,
    const struct edit *ed)
{
	struct explain *e = v->explain;
	struct buf text;
	bool ok = false;

	if (e->trials >= TRIALS_MAX || e->total >= TRIALS_TOTAL ||
	    e->work + v->hdr.raw.len > WORK_MAX)
		return false;
	e->trials++;
	e->total++;
	e->work += v->hdr.raw.len;
	buf_init(&text);
	if (edit_build(&v->hdr, ed, &text) == DKK_OK)
		ok = header_verifies(v, vs, key, &text);
	else
		v->explain->failed = true;
	buf_clear(&text);
	return ok;
}

/* Rewrites undone.  Each copies the field f to out. */

/* A fold made after signing: CRLF and the WSP after it taken out (a line
 * split at 998 octets, or a fold inside a word). */
static int
fix_unsplit(struct buf *out, const char *f, size_t len, const void *arg)
{
	size_t i;
	int rc = DKK_OK;

	(void)arg;
	for (i = 0; i < len && rc == DKK_OK; i++) {
		if (f[i] == '\r' && i + 2 < len && f[i + 1] == '\n' &&
		    is_wsp((unsigned char)f[i + 2]))
			i += 2;
		else
			rc = buf_addc(out, f[i]);
	}
	return rc;
}

/* A fold made after signing at WSP that was there: the CRLF taken out;
 * with arg, the WSP after it made an SP (folders that fold with a TAB). */
static int
fix_unfold(struct buf *out, const char *f, size_t len, const void *arg)
{
	size_t i;
	int rc = DKK_OK;

	for (i = 0; i < len && rc == DKK_OK; i++) {
		if (f[i] == '\r' && i + 2 < len && f[i + 1] == '\n' &&
		    is_wsp((unsigned char)f[i + 2])) {
			i += 2;
			rc = buf_addc(out, arg != NULL ? ' ' : f[i]);
		} else
			rc = buf_addc(out, f[i]);
	}
	return rc;
}

/* Whitespace added after signing: runs of WSP in the value as one SP,
 * none at its end (what relaxed canonicalisation would not notice). */
static int
fix_squeeze(struct buf *out, const char *f, size_t len, const void *arg)
{
	size_t i, colon;
	bool wsp = false;
	int rc = DKK_OK;

	(void)arg;
	for (colon = 0; colon < len && f[colon] != ':'; colon++)
		;
	while (len > colon + 1 && is_wsp((unsigned char)f[len - 1]))
		len--;
	rc = buf_add(out, f, colon < len ? colon + 1 : len);
	for (i = colon + 1; i < len && rc == DKK_OK; i++) {
		if (is_wsp((unsigned char)f[i]) && wsp)
			continue;
		wsp = is_wsp((unsigned char)f[i]);
		rc = buf_addc(out, wsp ? ' ' : f[i]);
	}
	return rc;
}

static int
fix_replace(struct buf *out, const char *f, size_t len, const void *arg)
{
	const struct text *t = arg;

	(void)f;
	(void)len;
	return buf_add(out, t->p, t->n);
}

static int
xres_set(struct xres *r, enum dkk_class cls, const char *field,
    size_t flen, const char *fmt, ...) PRINTF(5, 6);

static int
xres_set(struct xres *r, enum dkk_class cls, const char *field,
    size_t flen, const char *fmt, ...)
{
	va_list ap;

	r->cls = cls;
	free(r->field);
	r->field = NULL;
	if (field != NULL && (r->field = dkk_strndup(field, flen)) == NULL)
		return DKK_ENOMEM;
	r->detail.len = 0;
	va_start(ap, fmt);
	buf_vprintf(&r->detail, fmt, ap);
	va_end(ap);
	return r->detail.failed ? DKK_ENOMEM : DKK_OK;
}

static bool
signed_name(const struct sig *sg, const char *name, size_t nlen)
{
	size_t k;

	for (k = 0; k < sg->nh; k++)
		if (ci_equal(sg->h[k], strlen(sg->h[k]), name, nlen))
			return true;
	return false;
}

static size_t
listed(const struct sig *sg, const char *name, size_t nlen)
{
	size_t k, n = 0;

	for (k = 0; k < sg->nh; k++)
		n += ci_equal(sg->h[k], strlen(sg->h[k]), name, nlen);
	return n;
}

/* Reply prefixes a list tag may follow: "Re: [list] ...". */
static bool
reply_prefix(const char *s, size_t n)
{
	static const char *const words[] = { "re", "fwd", "fw", "aw", "sv",
	    "wg", "tr" };
	size_t i = 0, w, k;

	while (i < n) {
		if (is_wsp((unsigned char)s[i]) || s[i] == '\r' ||
		    s[i] == '\n') {
			i++;
			continue;
		}
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
			k = strlen(words[w]);
			if (i + k < n && ci_equal(s + i, k, words[w], k) &&
			    s[i + k] == ':')
				break;
		}
		if (w == sizeof(words) / sizeof(words[0]))
			return false;
		i += strlen(words[w]) + 1;
	}
	return true;
}

/* Subject f with [a, b) taken out, tried. */
static bool
subject_cut(dkk_verifier *v, const struct vsig *vs, const struct pubkey *key,
    size_t at, const char *f, size_t len, size_t a, size_t b)
{
	struct buf s;
	struct text t;
	struct edit ed = { at, fix_replace, &t };
	bool ok = false;

	buf_init(&s);
	if (buf_add(&s, f, a) == DKK_OK && buf_add(&s, f + b, len - b) ==
	    DKK_OK) {
		t.p = s.p;
		t.n = s.len;
		ok = edit_try(v, vs, key, &ed);
	}
	buf_clear(&s);
	return ok;
}

/* A "[list]" tag in Subject f: at its start, after reply prefixes, or at
 * its end; taken out with the SP after it, alone, or with the SP before
 * it.  On success *a, *b are the tag. */
static bool
subject_try(dkk_verifier *v, const struct vsig *vs, const struct pubkey *key,
    size_t at, const char *f, size_t len, size_t *a, size_t *b)
{
	const char *open, *close;
	size_t c, o, e;

	for (c = 0; c < len && f[c] != ':'; c++)
		;
	if (c == len || (open = memchr(f + c, '[', len - c)) == NULL)
		return false;
	o = (size_t)(open - f);
	close = memchr(open, ']', len - o);
	if (close == NULL || (size_t)(close - open) > TAG_MAX ||
	    memchr(open, '\n', (size_t)(close - open)) != NULL)
		return false;
	e = (size_t)(close - f) + 1;
	*a = o;
	*b = e;
	if (reply_prefix(f + c + 1, o - c - 1)) {
		if (e < len && is_wsp((unsigned char)f[e]) &&
		    subject_cut(v, vs, key, at, f, len, o, e + 1))
			return true;
		if (subject_cut(v, vs, key, at, f, len, o, e))
			return true;
	}
	return o > c + 1 && is_wsp((unsigned char)f[o - 1]) &&
	    subject_cut(v, vs, key, at, f, len, o - 1, e);
}

static int
explain_subject(dkk_verifier *v, const struct vsig *vs,
    const struct pubkey *key, struct xres *r)
{
	size_t i, a, b;

	if (!signed_name(&vs->sg, "Subject", 7))
		return 0;
	for (i = 0; i < v->hdr.count; i++) {
		const struct field *f = &v->hdr.fields[i];
		const char *s = header_text(&v->hdr, f);

		if (header_is(&v->hdr, f, "Subject") &&
		    subject_try(v, vs, key, i, s, f->len, &a, &b))
			return xres_set(r, DKK_C_SUBJECT_TAGGED, "Subject", 7,
			    "the list tag \"%.*s\" was added to Subject after "
			    "signing", (int)(b - a), s + a) == DKK_OK ? 1 : -1;
	}
	return 0;
}

static int
explain_added(dkk_verifier *v, const struct vsig *vs,
    const struct pubkey *key, struct xres *r)
{
	size_t i;

	for (i = 0; i < v->hdr.count; i++) {
		const struct field *f = &v->hdr.fields[i];
		const char *s = header_text(&v->hdr, f);
		struct edit ed = { i, NULL, NULL };
		size_t lo, hi, k;
		char times[32];

		if (i == vs->field || f->nlen == 0 || v->hdr.byname == NULL)
			continue;
		/* Only the bottom instances (as many as h= lists) are
		 * selected: taking out one above them changes nothing. */
		header_run(&v->hdr, s, f->nlen, &lo, &hi);
		if (hi - 1 - f->rank >= listed(&vs->sg, s, f->nlen) ||
		    !edit_try(v, vs, key, &ed))
			continue;
		k = listed(&vs->sg, s, f->nlen);
		snprintf(times, sizeof(times), k == 1 ? "once" : k == 2 ?
		    "twice" : "%zu times", k);
		return xres_set(r, DKK_C_HEADER_ADDED, s, f->nlen,
		    "a %.*s field was added after signing: %zu now, %zu "
		    "signed (h= lists the name %s%s)", (int)f->nlen, s,
		    hi - lo, hi - lo - 1, times,
		    k >= hi - lo ? ", oversigned" : "") == DKK_OK ? 1 : -1;
	}
	return 0;
}

/* ---- z= (RFC 6376 3.5): the fields as they were signed. ---- */

/* Octets of s other than WSP, CR and LF, equal; with squeeze, WSP runs
 * compared as one SP too. */
static bool
same_value(const char *a, size_t an, const char *b, size_t bn, bool squeeze)
{
	size_t i = 0, j = 0;

	for (;;) {
		bool wa = false, wb = false;

		while (i < an && (is_wsp((unsigned char)a[i]) || a[i] == '\r' ||
		    a[i] == '\n'))
			i++, wa = true;
		while (j < bn && (is_wsp((unsigned char)b[j]) || b[j] == '\r' ||
		    b[j] == '\n'))
			j++, wb = true;
		if (i == an || j == bn)
			return i == an && j == bn;
		if (squeeze && wa != wb && i > 0 && j > 0)
			return false;
		if (a[i++] != b[j++])
			return false;
	}
}

/* The instance of name that the k-th listing selects (bottom-up). */
static const struct field *
z_current(const dkk_verifier *v, const char *name, size_t nlen, size_t k)
{
	size_t lo, hi;

	if (v->hdr.byname == NULL)
		return NULL;
	header_run(&v->hdr, name, nlen, &lo, &hi);
	if (k >= hi - lo)
		return NULL;
	return &v->hdr.fields[v->hdr.byname[hi - 1 - k].field];
}

/* Copy [a, b) of z= into dst with non-printing octets as '?'. */
static void
z_show(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i;

	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	dst[n] = '\0';
}

/* The length of the name of copy c ("name:value"), or SIZE_MAX. */
static size_t
z_name(const char *c)
{
	const char *colon = strchr(c, ':');
	size_t n;

	if (colon == NULL)
		return SIZE_MAX;
	for (n = (size_t)(colon - c); n > 0 && is_wsp((unsigned char)c[n - 1]);
	    n--)
		;
	return n;
}

/* Copy c (decoded), the k-th of its name in z=, against the field the
 * k-th listing selects now: 1 it differs (r set), 0 the same. */
static int
z_compare(const dkk_verifier *v, const char *c, size_t nlen, size_t k,
    bool squeeze, struct xres *r)
{
	const char *val = strchr(c, ':') + 1, *cur;
	const struct field *f;
	size_t clen;
	char was[64];

	if ((f = z_current(v, c, nlen, k)) == NULL)
		return xres_set(r, DKK_C_HEADER_CHANGED, c, nlen,
		    "the %.*s field copied in z= is gone from the message",
		    (int)nlen, c) == DKK_OK ? 1 : -1;
	cur = header_value(&v->hdr, f, &clen);
	if (same_value(val, strlen(val), cur, clen, squeeze))
		return 0;
	z_show(was, sizeof(was), val, strlen(val));
	return xres_set(r, DKK_C_HEADER_CHANGED, c, nlen, squeeze ?
	    "only the whitespace of %.*s differs from its copy in z=" :
	    "%.*s differs from its copy in z=, which was \"%s\"", (int)nlen,
	    c, was) == DKK_OK ? 1 : -1;
}

/* The copies of z= ("|" separates them; one inside a copy is =7C), each
 * decoded and compared with the message: 1 one differs, 0 none, -1. */
static int
z_walk(const dkk_verifier *v, const char *z, size_t zlen, bool squeeze,
    struct xres *r)
{
	char **copy;
	size_t n = 0, i, j, k, nl, start = 0, end;
	int rc = 0;

	if ((copy = dkk_calloc(zlen / 2 + 2, sizeof(*copy))) == NULL)
		return -1;
	while (start <= zlen && n < zlen / 2 + 2) {
		const char *bar = memchr(z + start, '|', zlen - start);

		end = bar != NULL ? (size_t)(bar - z) : zlen;
		if (qp_decode(z + start, end - start, &copy[n]) == DKK_OK)
			n++;
		start = end + 1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if ((nl = z_name(copy[i])) == SIZE_MAX || nl == 0)
			continue;
		for (j = k = 0; j < i; j++)
			k += z_name(copy[j]) == nl &&
			    ci_equal(copy[j], nl, copy[i], nl);
		rc = z_compare(v, copy[i], nl, k, squeeze, r);
	}
	for (i = 0; i < n; i++)
		free(copy[i]);
	free(copy);
	return rc;
}

/* z= (RFC 6376 3.5): the first copied field whose value differs from the
 * field now; with squeeze, whose whitespace differs. */
static int
explain_z(dkk_verifier *v, const struct vsig *vs, bool squeeze,
    struct xres *r)
{
	const struct field *f = &v->hdr.fields[vs->field];
	struct tag tags[SIG_TAGS_CAP];
	const struct tag *z;
	const char *val;
	size_t vlen, n;

	val = header_value(&v->hdr, f, &vlen);
	if (taglist_parse(val, vlen, tags, SIG_TAGS_CAP, &n) != TAGLIST_OK ||
	    (z = taglist_find(tags, n, "z")) == NULL)
		return 0;
	return z_walk(v, z->val, z->vlen, squeeze, r);
}

/* Longest line of field f, in octets without its CRLF. */
static size_t
longest_line(const char *f, size_t len)
{
	size_t i, run = 0, max = 0;

	for (i = 0; i < len; i++) {
		if (f[i] == '\r' && i + 1 < len && f[i + 1] == '\n') {
			run = 0;
			i++;
			continue;
		}
		if (++run > max)
			max = run;
	}
	return max;
}

static int
rewrite_found(dkk_verifier *v, const struct vsig *vs, size_t at, int which,
    struct xres *r)
{
	const struct field *f = &v->hdr.fields[at == EVERY_FIELD ? vs->field :
	    at];
	const char *s = header_text(&v->hdr, f);
	struct buf fixed;
	size_t longest;
	int rc;

	buf_init(&fixed);
	if (fix_unsplit(&fixed, s, f->len, NULL) != DKK_OK)
		return -1;
	longest = longest_line(fixed.p, fixed.len);
	buf_clear(&fixed);
	if (at == EVERY_FIELD)
		rc = xres_set(r, DKK_C_HEADER_CHANGED, NULL, 0, "%s",
		    which == 2 ? "the whitespace of several fields was "
		    "changed after signing" : "several fields were refolded "
		    "after signing");
	else if (which == 0 && longest > 998)
		rc = xres_set(r, DKK_C_HEADER_CHANGED, s, f->nlen,
		    "a line of %zu octets in %.*s was split after signing "
		    "(RFC 5322 2.1.1 allows 998)", longest, (int)f->nlen, s);
	else
		rc = xres_set(r, DKK_C_HEADER_CHANGED, s, f->nlen,
		    which == 2 ? "the whitespace of %.*s was changed after "
		    "signing" : "%.*s was refolded after signing",
		    (int)f->nlen, s);
	return rc == DKK_OK ? 1 : -1;
}

/* Does the rewrite apply to field i at all (saves a trial)? */
static bool
rewrite_applies(const dkk_verifier *v, const struct vsig *vs, size_t i,
    int which)
{
	const struct field *f = &v->hdr.fields[i];
	const char *s = header_text(&v->hdr, f);

	if (f->len == 0 || (i != vs->field && (f->nlen == 0 ||
	    !signed_name(&vs->sg, s, f->nlen))))
		return false;
	if (which != 2)
		return memmem(s, f->len, "\r\n", 2) != NULL;
	return memmem(s, f->len, "  ", 2) != NULL ||
	    memchr(s, '\t', f->len) != NULL ||
	    is_wsp((unsigned char)s[f->len - 1]);
}

static int
explain_rewrites(dkk_verifier *v, const struct vsig *vs,
    const struct pubkey *key, struct xres *r)
{
	static int (*const fixes[])(struct buf *, const char *, size_t,
	    const void *) = { fix_unsplit, fix_unfold, fix_squeeze,
	    fix_unfold };
	static const char sp[] = " ";
	bool simple = vs->sg.hcanon == DKK_CANON_SIMPLE;
	int which;
	size_t i;

	/* Relaxed unfolds and squeezes whitespace itself: only a split
	 * inside a word (an SP that was not there) can break it. */
	for (which = 0; which < (simple ? 4 : 1); which++)
		for (i = 0; i < v->hdr.count; i++) {
			struct edit ed = { i, fixes[which], which == 3 ? sp :
			    NULL };

			if (rewrite_applies(v, vs, i, which) &&
			    edit_try(v, vs, key, &ed))
				return rewrite_found(v, vs, i, which, r);
		}
	for (which = 0; which < (simple ? 4 : 1); which++) {
		struct edit ed = { EVERY_FIELD, fixes[which], which == 3 ? sp :
		    NULL };

		if (edit_try(v, vs, key, &ed))
			return rewrite_found(v, vs, EVERY_FIELD, which, r);
	}
	return 0;
}

/* The header hash failed: which repair makes it verify?  1 found (r set),
 * 0 none, -1 out of memory. */
static int
explain_header(dkk_verifier *v, const struct vsig *vs,
    const struct pubkey *key, struct xres *r)
{
	int rc;

	/* z= names a new value; a refold or split is better told by the
	 * rewrite that undoes it than by z= (whose copies have no folding). */
	if ((rc = explain_subject(v, vs, key, r)) != 0 ||
	    (rc = explain_added(v, vs, key, r)) != 0 ||
	    (rc = explain_z(v, vs, false, r)) != 0 ||
	    (rc = explain_rewrites(v, vs, key, r)) != 0 ||
	    (rc = explain_z(v, vs, true, r)) != 0)
		return rc;
	return xres_set(r, DKK_C_HEADER_UNKNOWN, NULL, 0, "%s",
	    vs->sg.hcanon == DKK_CANON_SIMPLE ? "the header hash fails and "
	    "no common rewrite explains it (simple header canonicalization "
	    "breaks on any change of whitespace or folding)" :
	    "the header hash fails and no common rewrite explains it: a "
	    "signed field was changed, removed or reordered") == DKK_OK ? 0 :
	    -1;
}

/* ------------------------------------------------------------------ */
/* Settling.                                                          */

/* The reasons the verifier knows already, as classes. */
static enum dkk_class
reason_class(enum dkk_reason reason)
{
	switch (reason) {
	case DKK_R_OK:
		return DKK_C_NONE;
	case DKK_R_FUTURE:
	case DKK_R_EXPIRED:
		return DKK_C_TIME;
	case DKK_R_BODY_LENGTH:
	case DKK_R_BODY_HASH:
		return DKK_C_BODY_CHANGED;
	case DKK_R_WEAK_HASH:
	case DKK_R_KEY_SIZE:
		return DKK_C_ALGORITHM;
	case DKK_R_TOO_MANY:
	case DKK_R_LIMIT:
		return DKK_C_LIMIT;
	case DKK_R_KEY_DNS:
	case DKK_R_KEY_BOGUS:
		return DKK_C_DNS;
	case DKK_R_KEY_NXDOMAIN:
	case DKK_R_KEY_SYNTAX:
	case DKK_R_KEY_REVOKED:
	case DKK_R_KEY_TYPE:
	case DKK_R_KEY_HASH:
	case DKK_R_KEY_SERVICE:
	case DKK_R_KEY_STRICT:
	case DKK_R_KEY_DATA:
		return DKK_C_KEY;
	case DKK_R_SIGNATURE:
		return DKK_C_HEADER_UNKNOWN;
	case DKK_R_INTERNAL:
		return DKK_C_INTERNAL;
	default:
		return DKK_C_SYNTAX;
	}
}

static struct track *
track_of(struct explain *e, size_t sig)
{
	size_t i;

	for (i = 0; i < e->ntracks; i++)
		if (e->tracks[i].sig == sig)
			return &e->tracks[i];
	return NULL;
}

/* The header too, when the body failed: said after the body's class. */
static void
body_and_header(dkk_verifier *v, const struct vsig *vs,
    const struct pubkey *key, struct xres *r)
{
	struct edit none = { NO_EDIT, NULL, NULL };
	struct xres h;

	memset(&h, 0, sizeof(h));
	buf_init(&h.detail);
	if (!edit_try(v, vs, key, &none) && explain_header(v, vs, key, &h) >= 0)
		buf_printf(&r->detail, "; the header fails too: %s%s%s",
		    dkk_class_name(h.cls), h.detail.len > 0 ? ", " : "",
		    h.detail.len > 0 ? h.detail.p : "");
	free(h.field);
	buf_clear(&h.detail);
}

static int
explain_body(dkk_verifier *v, size_t i, struct xres *r)
{
	const struct vsig *vs = &v->sigs[i];
	const struct xcanon *x = &v->explain->canon[vs->sg.bcanon];
	struct track *t = track_of(v->explain, i);

	if (vs->res.reason == DKK_R_BODY_LENGTH)
		return xres_set(r, DKK_C_BODY_CHANGED, NULL, 0, "the body is "
		    "shorter than l=%lld: it was cut or re-encoded after "
		    "signing", (long long)vs->sg.l);
	if (vs->sg.l >= 0)
		return xres_set(r, DKK_C_BODY_CHANGED, NULL, 0, "the first "
		    "l=%lld octets of the body changed after signing",
		    (long long)vs->sg.l);
	if (t != NULL && !t->found)
		track_insert(v, t, x);
	if (t != NULL && t->inserted)
		return xres_set(r, DKK_C_BODY_APPENDED, NULL, 0, "%llu octets "
		    "in %llu line%s were inserted before the closing MIME "
		    "boundary after signing (%s canonicalization)",
		    (unsigned long long)t->added,
		    (unsigned long long)t->added_lines,
		    t->added_lines == 1 ? "" : "s",
		    vs->sg.bcanon == DKK_CANON_SIMPLE ? "simple" : "relaxed");
	if (t != NULL && t->found)
		return xres_set(r, DKK_C_BODY_APPENDED, NULL, 0, "%llu octets "
		    "in %llu line%s were appended after the signed body "
		    "(%s canonicalization)",
		    (unsigned long long)(x->octets - t->octets),
		    (unsigned long long)(x->lines - t->lines),
		    x->lines - t->lines == 1 ? "" : "s",
		    vs->sg.bcanon == DKK_CANON_SIMPLE ? "simple" : "relaxed");
	return xres_set(r, DKK_C_BODY_CHANGED, NULL, 0, "the body changed "
	    "after signing, not only at its end (%s canonicalization)",
	    vs->sg.bcanon == DKK_CANON_SIMPLE ? "simple" : "relaxed");
}

/* The public key a signature failed against (its checks passed). */
static const struct pubkey *
key_of(dkk_verifier *v, const struct vsig *vs)
{
	const struct keyrec *kr;
	enum dkk_reason reason;
	const char *why;

	if (!vs->evaluated || v->lookups[vs->lookup].e == NULL ||
	    keyent_key(v->lookups[vs->lookup].e, v->ctx->limit_rsa_bits, &kr,
	    &reason, &why) != DKK_OK)
		return NULL;
	return kr->key;
}

static int
explain_one(dkk_verifier *v, size_t i, struct xres *r)
{
	const struct vsig *vs = &v->sigs[i];
	const struct pubkey *key;
	int rc;

	v->explain->trials = 0;
	if (vs->res.verdict == DKK_PASS)
		return DKK_OK;
	r->cls = reason_class(vs->res.reason);
	if (r->cls != DKK_C_BODY_CHANGED && r->cls != DKK_C_HEADER_UNKNOWN)
		return xres_set(r, r->cls, NULL, 0, "%s", vs->res.detail);
	key = key_of(v, vs);
	if (r->cls == DKK_C_BODY_CHANGED) {
		if ((rc = explain_body(v, i, r)) == DKK_OK && key != NULL)
			body_and_header(v, vs, key, r);
		return rc;
	}
	if (key == NULL)
		return xres_set(r, DKK_C_HEADER_UNKNOWN, NULL, 0, "%s",
		    vs->res.detail);
	return explain_header(v, vs, key, r) < 0 ? DKK_ENOMEM : DKK_OK;
}

void
explain_settle(dkk_verifier *v)
{
	struct explain *e = v->explain;
	size_t i;

	if (!e->started)
		explain_start(v);
	if (!e->failed) {
		if (v->body.canon[DKK_CANON_SIMPLE] != NULL)
			xcanon_finish(v, DKK_CANON_SIMPLE);
		if (v->body.canon[DKK_CANON_RELAXED] != NULL)
			xcanon_finish(v, DKK_CANON_RELAXED);
	}
	if (v->nsigs == 0)
		return;
	if ((e->res = dkk_calloc(v->nsigs, sizeof(*e->res))) == NULL) {
		e->failed = true;	/* dkk_verifier_explain() says so */
		return;
	}
	e->nres = v->nsigs;
	for (i = 0; i < v->nsigs; i++) {
		buf_init(&e->res[i].detail);
		if (e->failed || explain_one(v, i, &e->res[i]) != DKK_OK ||
		    e->failed)
			xres_set(&e->res[i], DKK_C_INTERNAL, NULL, 0,
			    "out of memory while explaining");
	}
}

enum dkk_class
dkk_verifier_explain(const dkk_verifier *v, size_t i, const char **field,
    const char **detail)
{
	const struct xres *r;

	if (field != NULL)
		*field = NULL;
	if (detail != NULL)
		*detail = "";
	if (v == NULL || v->explain == NULL || !v->final || i >= v->nsigs ||
	    v->sigs[i].res.verdict == DKK_PASS)
		return DKK_C_NONE;
	if (i >= v->explain->nres) {
		if (detail != NULL)
			*detail = "out of memory while explaining";
		return DKK_C_INTERNAL;
	}
	r = &v->explain->res[i];
	if (field != NULL)
		*field = r->field;
	if (detail != NULL && r->detail.len > 0 && !r->detail.failed)
		*detail = r->detail.p;
	return r->cls;
}
