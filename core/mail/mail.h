/*
 * mail.h: the mail layer: header blocks and their fields, tag=value
 * lists, the addresses of From, domain names, and reading
 * Authentication-Results (arparse.c, public API).
 */
#ifndef DKK_MAIL_H
#define DKK_MAIL_H

#include "internal.h"

/* taglist.c: tag=value lists, RFC 6376 3.2. */
struct tag {
	const char *name;
	size_t nlen;
	const char *val;	/* leading and trailing FWS excluded */
	size_t vlen;
	size_t vend;		/* offset of the ';' or end that closes it */
};

enum taglist_status {
	TAGLIST_OK = 0,
	TAGLIST_SYNTAX = -1,
	TAGLIST_DUPLICATE = -2,
	TAGLIST_TOO_MANY = -3
};

HIDDEN int taglist_parse(const char *s, size_t len, struct tag *tags,
    size_t max, size_t *count);
HIDDEN const struct tag *taglist_find(const struct tag *tags, size_t n,
    const char *name);

/* header.c: the header block, split into fields. */
struct field {
	size_t off;		/* start in the block */
	size_t len;		/* without the final CRLF */
	size_t nlen;		/* name length (WSP before the colon excluded) */
	size_t colon;		/* offset of the colon from off, or len */
	size_t rank;		/* its place in header.byname */
};

/* The fields sorted by lower-cased name, then top to bottom. */
struct hidx {
	const char *name;
	size_t nlen;
	size_t field;
};

struct header {
	struct buf raw;		/* normalised to CRLF */
	struct field *fields;
	size_t count;
	size_t cap;
	struct hidx *byname;	/* built when the block ends */
	size_t max_bytes;
	size_t max_fields;
	bool done;		/* blank line seen (or input ended) */
	bool cr;		/* last byte fed was a CR */
	int at_bol;		/* bytes of the current line so far (capped) */
};

HIDDEN void header_init(struct header *h, size_t max_bytes,
    size_t max_fields);
HIDDEN void header_clear(struct header *h);
HIDDEN int header_feed(struct header *h, const char *data, size_t len,
    size_t *used);
HIDDEN int header_end(struct header *h);
HIDDEN const char *header_text(const struct header *h, const struct field *f);
HIDDEN bool header_is(const struct header *h, const struct field *f,
    const char *name);
HIDDEN const char *header_value(const struct header *h, const struct field *f,
    size_t *len);
HIDDEN int header_index(struct header *h);
HIDDEN void header_run(const struct header *h, const char *name, size_t nlen,
    size_t *lo, size_t *hi);

/* mailbox.c: the author domains of a From field, RFC 5322 3.4, lower
 * case, each once, at most AUTHORS_MAX (more set malformed).  malformed:
 * some element was not a valid mailbox (its "@domain" parts still
 * counted), or the list held more domains than are kept. */
#define AUTHORS_MAX 8
struct authors {
	char *domain[AUTHORS_MAX];
	size_t n;
	size_t addresses;	/* list elements seen */
	char *address;		/* the first valid "local@domain" */
	bool malformed;
};

HIDDEN int authors_parse(struct authors *a, const char *value, size_t len);
HIDDEN void authors_clear(struct authors *a);

/* domain.c: domain names (RFC 5321 sub-domain syntax). */
HIDDEN bool domain_valid(const char *s, size_t len, bool underscore);
HIDDEN bool domain_within(const char *sub, const char *dom);
HIDDEN bool domain_has_8bit(const char *s, size_t len);
HIDDEN int domain_alabels(const char *s, size_t len, char **out);

#endif
