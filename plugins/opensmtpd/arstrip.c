/*
 * arstrip.c: removing Authentication-Results fields that claim to be
 * ours.  RFC 8601 5: a receiver must delete any such field that claims
 * its authserv-id but did not come from inside its trust boundary; a
 * message arriving here has not been verified here yet, so every field
 * with our authserv-id is a forgery (or a loop), and a user or a Sieve
 * script must never see it next to ours.
 *
 * In verify mode the header lines pass through here on their way to the
 * spool.  An Authentication-Results field is held until its last line is
 * known (the authserv-id may sit on a continuation line), then spooled or
 * dropped.  The verifier still sees every line: the verdict is on the
 * message as it arrived.
 */
#include <string.h>
#include <strings.h>

#include "filter.h"

#define AR_NAME		"Authentication-Results"
#define AR_NAMELEN	(sizeof(AR_NAME) - 1)
#define AR_IDMAX	256

/* WSP (RFC 5322): at the start of a line, it makes the line a
 * continuation of the field above, to smtpd as to us. */
static int
arstrip_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* What the parsers after us fold or pass over as white space: WSP, and CR
 * and LF.  smtpd takes a data line ending in a bare CR and a next line
 * starting with WSP for one folded field, and a reader such as Dovecot's
 * Sieve passes over that CR: were it no blank here, the authserv-id after
 * it would go unseen and a forged field would stay. */
static int
arstrip_blank(char c)
{
	return arstrip_wsp(c) || c == '\r' || c == '\n';
}

/* Does a field start here ("Authentication-Results" blanks ":")? */
static int
arstrip_starts(const char *line, size_t len)
{
	size_t i = AR_NAMELEN;

	if (len < AR_NAMELEN || strncasecmp(line, AR_NAME, AR_NAMELEN) != 0)
		return 0;
	while (i < len && arstrip_blank(line[i]))
		i++;
	return i < len && line[i] == ':';
}

/* Skip CFWS (RFC 5322 3.2.2): blanks, line breaks and nested comments. */
static const char *
arstrip_cfws(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '\\' && depth > 0 && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !arstrip_blank(*p))
			break;
	}
	return p;
}

/* RFC 2045 token characters. */
static int
arstrip_tokenchar(char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* The authserv-id (RFC 8601 2.2: a token or a quoted-string) of the
 * field in [p, end), into id; empty when there is none. */
static void
arstrip_id(const char *p, const char *end, char *id)
{
	size_t n = 0;

	p = memchr(p, ':', end - p) + 1;
	p = arstrip_cfws(p, end);
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"' && n < AR_IDMAX - 1; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (*p != '\n' && *p != '\r')
				id[n++] = *p;
		}
	} else {
		while (p < end && arstrip_tokenchar(*p) && n < AR_IDMAX - 1)
			id[n++] = *p++;
	}
	id[n] = '\0';
}

/* Spool the held lines; on failure the ones not yet spooled stay held. */
static int
arstrip_spool(struct session *s)
{
	const char *p = s->hdr, *end = s->hdr + s->hdrlen, *next;
	size_t len;

	for (; p < end; p = next) {
		len = session_held_line(p, end, &next);
		if (spool_put(&s->spool, p, len) == -1) {
			memmove(s->hdr, p, (size_t)(end - p));
			s->hdrlen = (size_t)(end - p);
			return -1;
		}
	}
	s->hdrlen = 0;
	return 0;
}

/* The held field is complete: drop it if it claims our authserv-id. */
int
arstrip_end(struct session *s)
{
	char id[AR_IDMAX];

	if (s->hdrlen == 0)
		return 0;
	arstrip_id(s->hdr, s->hdr + s->hdrlen, id);
	if (strcasecmp(id, verify_authserv_id()) != 0)
		return arstrip_spool(s);
	log_session(s, "removed an Authentication-Results field claiming to "
	    "come from %s (RFC 8601 5)", id);
	s->hdrlen = 0;
	return 0;
}

/* One header line in verify mode: held, spooled, or (with a field being
 * dropped) nothing.  -1 when it could be neither held nor spooled. */
int
arstrip_line(struct session *s, const char *line, size_t len)
{
	if (s->hdrlen > 0 && len > 0 && arstrip_wsp(line[0]))
		return session_hold(s, line, len);
	if (arstrip_end(s) == -1)
		return -1;
	if (len == 0)
		s->state = ST_BODY;
	else if (arstrip_starts(line, len))
		return session_hold(s, line, len);
	return spool_put(&s->spool, line, len);
}

/* Processing gave up: the held lines go out unchanged, after the spool. */
void
arstrip_release(struct session *s)
{
	char *p = s->hdr, *end, *next;
	size_t len;

	if (s->hdrlen == 0)
		return;		/* s->hdr may be NULL */
	for (end = p + s->hdrlen; p < end; p = next) {
		len = session_held_line(p, end, (const char **)&next);
		p[len] = '\0';
		out_dataline(s, p);
	}
	s->hdrlen = 0;
}
