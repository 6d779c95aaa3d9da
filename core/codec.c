/*
 * codec.c: base64 (RFC 2045, with the FWS DKIM allows inside it) and
 * dkim-quoted-printable (RFC 6376 2.11).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64, skipping FWS.  Padding is optional but, when present, must
 * complete the last group and end the data.  DKK_ESYNTAX on anything else;
 * *out is allocated (free with free()) even for empty input. */
int
b64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *o;
	uint32_t acc = 0;
	size_t i, n = 0, chars = 0, pad = 0;
	int v;

	if ((o = dkk_malloc(len / 4 * 3 + 3)) == NULL)
		return DKK_ENOMEM;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (is_fws(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		if (++chars % 4 == 0) {
			o[n++] = (uint8_t)(acc >> 16);
			o[n++] = (uint8_t)(acc >> 8);
			o[n++] = (uint8_t)acc;
			acc = 0;
		}
	}
	switch (chars % 4) {
	case 1:
		goto bad;
	case 2:
		o[n++] = (uint8_t)(acc >> 4);
		break;
	case 3:
		o[n++] = (uint8_t)(acc >> 10);
		o[n++] = (uint8_t)(acc >> 2);
		break;
	}
	/* RFC 6376 2.4: at most two "=", completing the last group. */
	if (pad > 2 || (pad > 0 && (chars + pad) % 4 != 0))
		goto bad;
	*out = o;
	*outlen = n;
	return DKK_OK;
bad:
	free(o);
	return DKK_ESYNTAX;
}

/* Base64 without line breaks; free with free(). */
char *
b64_encode(const uint8_t *data, size_t len)
{
	char *out, *o;
	size_t i;

	if ((out = dkk_malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16 | data[i + 1] << 8 |
		    data[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)data[i] << 16;

		if (i + 1 < len)
			v |= data[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* RFC 4648 6: base32, five bits a character, without the "=" padding
 * (RFC 6541 4.3 takes the bare encoding as a DNS label). */
char *
b32_encode(const uint8_t *data, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char *out, *o;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i;

	if ((out = dkk_malloc((len * 8 + 4) / 5 + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		acc = (acc << 8 | data[i]) & 0xfff;
		for (bits += 8; bits >= 5; bits -= 5)
			*o++ = alphabet[acc >> (bits - 5) & 31];
	}
	if (bits > 0)
		*o++ = alphabet[acc << (5 - bits) & 31];
	*o = '\0';
	return out;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* dkim-quoted-printable: "=XX" escapes, FWS ignored, other characters
 * must be printable and not ";" (RFC 6376 2.11).  Octets of 0x80 and up
 * are accepted for internationalised addresses (RFC 8616).  *out is a NUL
 * terminated copy, free with free(); a decoded NUL is refused. */
int
qp_decode(const char *s, size_t len, char **out)
{
	char *o, *p;
	size_t i;

	if ((o = dkk_malloc(len + 1)) == NULL)
		return DKK_ENOMEM;
	for (i = 0, p = o; i < len; i++) {
		int c = (unsigned char)s[i], hi, lo;

		if (is_fws(c))
			continue;
		if (c == '=') {
			if (i + 2 >= len)
				goto bad;
			hi = hex_value((unsigned char)s[i + 1]);
			lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*p++ = (char)(hi << 4 | lo);
			i += 2;
			continue;
		}
		if (c < 0x21 || c == ';' || c == 0x7f)
			goto bad;
		*p++ = (char)c;
	}
	*p = '\0';
	*out = o;
	return DKK_OK;
bad:
	free(o);
	return DKK_ESYNTAX;
}
