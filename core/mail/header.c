/*
 * header.c: collect the header block from a byte stream (bounded), with
 * bare LF turned into CRLF, and split it into fields.
 */
#include <stdlib.h>
#include <string.h>

#include "mail.h"

void
header_init(struct header *h, size_t max_bytes, size_t max_fields)
{
	memset(h, 0, sizeof(*h));
	buf_init(&h->raw);
	h->max_bytes = max_bytes;
	h->max_fields = max_fields;
}

void
header_clear(struct header *h)
{
	buf_clear(&h->raw);
	free(h->fields);
	free(h->byname);
	h->fields = NULL;
	h->byname = NULL;
	h->count = h->cap = 0;
}

static int
header_put(struct header *h, const char *s, size_t n)
{
	if (h->raw.len + n > h->max_bytes)
		return DKK_ELIMIT;
	return buf_add(&h->raw, s, n);
}

/* Take bytes until the blank line that ends the header block.  *used says
 * how many belonged to the header; the rest is body.  The trailing CR of a
 * chunk is held until the next byte tells whether it ends a line. */
int
header_feed(struct header *h, const char *data, size_t len, size_t *used)
{
	size_t i, start = 0;
	int rc = DKK_OK;

	for (i = 0; i < len && !h->done && rc == DKK_OK; i++) {
		char c = data[i];

		if (h->cr) {
			h->cr = false;
			if (c != '\n') {
				rc = header_put(h, "\r", 1);
				h->at_bol = 1;
				if (rc != DKK_OK)
					break;
			}
		}
		if (c == '\r') {
			rc = header_put(h, data + start, i - start);
			start = i + 1;
			h->cr = true;
		} else if (c == '\n') {
			rc = header_put(h, data + start, i - start);
			start = i + 1;
			if (rc == DKK_OK && h->at_bol == 0)
				h->done = true;
			else if (rc == DKK_OK)
				rc = header_put(h, "\r\n", 2);
			h->at_bol = 0;
		} else {
			h->at_bol = 1;
		}
	}
	if (rc == DKK_OK && !h->done && start < i)
		rc = header_put(h, data + start, i - start);
	*used = i;
	if (rc == DKK_OK && h->done)
		rc = header_end(h);
	return rc;
}

static int
header_add_field(struct header *h, size_t off, size_t len)
{
	struct field *f;
	const char *s = h->raw.p + off;
	size_t n;

	if (h->count == h->max_fields)
		return DKK_ELIMIT;
	if (h->count == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;

		if ((f = dkk_realloc(h->fields, cap * sizeof(*f))) == NULL)
			return DKK_ENOMEM;
		h->fields = f;
		h->cap = cap;
	}
	f = &h->fields[h->count++];
	f->off = off;
	f->len = len;
	for (n = 0; n < len && s[n] != ':'; n++)
		;
	f->colon = n;
	while (n > 0 && is_wsp((unsigned char)s[n - 1]))
		n--;
	f->nlen = f->colon < len ? n : 0;
	return DKK_OK;
}

/* Split the block into fields: a line that starts with WSP continues the
 * field above it.  Also called when the input ends inside the header. */
int
header_end(struct header *h)
{
	const char *p;
	size_t pos = 0, start = 0, eol;
	int rc;

	if (h->count > 0 || (h->done && h->raw.p == NULL))
		return DKK_OK;
	if (h->cr && (rc = header_put(h, "\r", 1)) != DKK_OK)
		return rc;
	h->cr = false;
	if (h->raw.len > 0 && (h->raw.len < 2 ||
	    memcmp(h->raw.p + h->raw.len - 2, "\r\n", 2) != 0) &&
	    (rc = header_put(h, "\r\n", 2)) != DKK_OK)
		return rc;
	h->done = true;
	p = h->raw.p;
	while (pos < h->raw.len) {
		eol = (size_t)((const char *)memmem(p + pos, h->raw.len - pos,
		    "\r\n", 2) - p);
		if (pos > start && !is_wsp((unsigned char)p[pos]) &&
		    (rc = header_add_field(h, start, pos - start - 2)) != DKK_OK)
			return rc;
		if (pos > start && !is_wsp((unsigned char)p[pos]))
			start = pos;
		pos = eol + 2;
	}
	if (pos > start &&
	    (rc = header_add_field(h, start, pos - start - 2)) != DKK_OK)
		return rc;
	return header_index(h);
}

const char *
header_text(const struct header *h, const struct field *f)
{
	return h->raw.p + f->off;
}

/* Does the field have this name (case-insensitive)? */
bool
header_is(const struct header *h, const struct field *f, const char *name)
{
	return f->nlen > 0 && ci_equals(header_text(h, f), f->nlen, name);
}

/* The value after the colon, as written (folding included). */
const char *
header_value(const struct header *h, const struct field *f, size_t *len)
{
	size_t start = f->colon < f->len ? f->colon + 1 : f->len;

	*len = f->len - start;
	return header_text(h, f) + start;
}

/*
 * The fields sorted by lower-cased name, then top to bottom: a message
 * chooses how many fields it has, so a name is found by binary search
 * rather than by a scan of every field (RFC 6376 8.4).
 */
static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;
	int d;

	for (i = 0; i < alen && i < blen; i++)
		if ((d = lower((unsigned char)a[i]) -
		    lower((unsigned char)b[i])) != 0)
			return d;
	return alen < blen ? -1 : alen > blen;
}

static int
hidx_cmp(const void *x, const void *y)
{
	const struct hidx *a = x, *b = y;
	int d = name_cmp(a->name, a->nlen, b->name, b->nlen);

	if (d != 0)
		return d;
	return a->field < b->field ? -1 : a->field > b->field;
}

/* Index a finished header block by field name. */
int
header_index(struct header *h)
{
	size_t i;

	free(h->byname);
	h->byname = NULL;
	if (h->count == 0)
		return DKK_OK;
	if ((h->byname = dkk_calloc(h->count, sizeof(*h->byname))) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < h->count; i++) {
		h->byname[i].name = header_text(h, &h->fields[i]);
		h->byname[i].nlen = h->fields[i].nlen;
		h->byname[i].field = i;
	}
	qsort(h->byname, h->count, sizeof(*h->byname), hidx_cmp);
	for (i = 0; i < h->count; i++)
		h->fields[h->byname[i].field].rank = i;
	return DKK_OK;
}

/* The run [*lo, *hi) of h->byname holding the fields named name, top to
 * bottom. */
void
header_run(const struct header *h, const char *name, size_t nlen, size_t *lo,
    size_t *hi)
{
	size_t a = 0, b = h->count, m;

	while (a < b) {		/* first entry not below name */
		m = a + (b - a) / 2;
		if (name_cmp(h->byname[m].name, h->byname[m].nlen, name,
		    nlen) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	for (b = h->count; a < b;) {	/* first entry above name */
		m = a + (b - a) / 2;
		if (name_cmp(h->byname[m].name, h->byname[m].nlen, name,
		    nlen) <= 0)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}
