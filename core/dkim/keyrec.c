/*
 * keyrec.c: the DKIM key record in DNS, RFC 6376 3.6.1 (and RFC 8463 for
 * k=ed25519).  What can be judged from the record alone is judged here;
 * what depends on the signature (k= against a=, h=, t=s) is left as flags.
 */
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

#define KEY_MAX_TAGS 32

/* Call fn on each element of a colon list, FWS trimmed. */
static void
colon_list(const struct tag *t, void (*fn)(struct keyrec *, const char *,
    size_t), struct keyrec *kr)
{
	size_t i = 0, start, end;

	while (i <= t->vlen) {
		for (start = i; i < t->vlen && t->val[i] != ':'; i++)
			;
		end = i++;
		while (start < end && is_fws((unsigned char)t->val[start]))
			start++;
		while (end > start && is_fws((unsigned char)t->val[end - 1]))
			end--;
		fn(kr, t->val + start, end - start);
	}
}

static bool
word_is(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static void
take_hash(struct keyrec *kr, const char *s, size_t n)
{
	if (word_is(s, n, "sha1"))
		kr->sha1_ok = true;
	else if (word_is(s, n, "sha256"))
		kr->sha256_ok = true;
}

static void
take_flag(struct keyrec *kr, const char *s, size_t n)
{
	if (word_is(s, n, "y"))
		kr->testing = true;
	else if (word_is(s, n, "s"))
		kr->strict = true;
}

static void
take_service(struct keyrec *kr, const char *s, size_t n)
{
	if (word_is(s, n, "email") || word_is(s, n, "*"))
		kr->email = true;
}

static int
parse_p(struct keyrec *kr, const struct tag *p, unsigned max_bits,
    enum dkk_reason *reason, struct buf *why)
{
	uint8_t *der;
	size_t len;
	int rc;

	if ((rc = b64_decode(p->val, p->vlen, &der, &len)) != DKK_OK)
		return rc == DKK_ENOMEM ? rc : reason_fail(reason,
		    DKK_R_KEY_DATA, why, "p= is not base64");
	if (len == 0) {
		/* 3.6.1: an empty p= means the key has been revoked. */
		free(der);
		kr->revoked = true;
		return DKK_OK;
	}
	rc = pubkey_parse(kr->type, der, len, max_bits, &kr->key);
	free(der);
	if (rc == DKK_ELIMIT)
		return reason_fail(reason, DKK_R_KEY_SIZE, why,
		    "RSA key larger than %u bits", max_bits);
	if (rc == DKK_ESYNTAX)
		return reason_fail(reason, DKK_R_KEY_DATA, why,
		    "p= is not %s public key",
		    kr->type == KEY_RSA ? "an RSA" : "an Ed25519");
	return rc;
}

/* Parse one TXT record.  DKK_ESYNTAX with a reason when it is not a usable
 * key record. */
int
keyrec_parse(struct keyrec *kr, const char *txt, size_t len,
    unsigned max_bits, enum dkk_reason *reason, struct buf *why)
{
	struct tag tags[KEY_MAX_TAGS];
	const struct tag *t;
	size_t n;

	memset(kr, 0, sizeof(*kr));
	if (taglist_parse(txt, len, tags, KEY_MAX_TAGS, &n) != TAGLIST_OK)
		return reason_fail(reason, DKK_R_KEY_SYNTAX, why,
		    "key record syntax error");
	/* v=, when present, must come first and be exactly DKIM1. */
	t = taglist_find(tags, n, "v");
	if (t != NULL && (t != &tags[0] || !word_is(t->val, t->vlen, "DKIM1")))
		return reason_fail(reason, DKK_R_KEY_SYNTAX, why,
		    "not a DKIM1 key record");
	kr->type = KEY_RSA;
	if ((t = taglist_find(tags, n, "k")) != NULL) {
		if (word_is(t->val, t->vlen, "ed25519"))
			kr->type = KEY_ED25519;
		else if (!word_is(t->val, t->vlen, "rsa"))
			return reason_fail(reason, DKK_R_KEY_TYPE, why,
			    "unknown key type k=%.*s", (int)t->vlen, t->val);
	}
	if ((t = taglist_find(tags, n, "h")) != NULL)
		colon_list(t, take_hash, kr);
	else
		kr->sha1_ok = kr->sha256_ok = true;
	if ((t = taglist_find(tags, n, "t")) != NULL)
		colon_list(t, take_flag, kr);
	kr->email = true;
	if ((t = taglist_find(tags, n, "s")) != NULL) {
		kr->email = false;
		colon_list(t, take_service, kr);
	}
	if (!kr->email)
		return reason_fail(reason, DKK_R_KEY_SERVICE, why,
		    "key not for email (s=%.*s)", (int)t->vlen, t->val);
	if ((t = taglist_find(tags, n, "p")) == NULL)
		return reason_fail(reason, DKK_R_KEY_SYNTAX, why,
		    "key record has no p=");
	return parse_p(kr, t, max_bits, reason, why);
}

void
keyrec_clear(struct keyrec *kr)
{
	pubkey_free(kr->key);
	memset(kr, 0, sizeof(*kr));
}
