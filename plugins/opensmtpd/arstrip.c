/*
 * arstrip.c: removing Authentication-Results fields that claim to be
 * ours.  RFC 8601 5: a receiver must delete any such field that claims
 * its authserv-id but did not come from inside its trust boundary; a
 * message arriving here has not been verified here yet, so every field
 * with our authserv-id is a forgery (or a loop), and a user or a Sieve
 * script must never see it next to ours.
 *
 * In verify mode the header lines pass through here on their way out
 * (message_put), whether the message is processed or not.  An
 * Authentication-Results field is held until its last line is known (the
 * authserv-id may sit on a continuation line), then passed on or dropped.
 * The verifier still sees every line: the verdict is on the message as it
 * arrived.
 */
#include <string.h>
#include <strings.h>

#include "filter.h"

#define AR_NAME		"Authentication-Results"
#define AR_NAMELEN	(sizeof(AR_NAME) - 1)

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

/* Pass the held field on (message_put: spooled, or straight out once
 * the message is not processed). */
static void
arstrip_keep(struct session *s)
{
	const char *p = s->hdr, *end = s->hdr + s->hdrlen, *next;

	for (; p < end; p = next)
		message_put(s, p, session_held_line(p, end, &next));
	s->hdrlen = 0;
}

/* The field going by is complete: drop it if it claims our authserv-id
 * (the core's RFC 8601 reader, which takes CR and LF for the blanks that
 * later readers take them for), else pass it on.  A field that cannot be
 * read for want of memory is dropped too: it may be a forgery. */
void
arstrip_end(struct session *s)
{
	const char *value;
	int ours;

	s->ardrop = 0;
	if (s->hdrlen == 0)
		return;
	value = (const char *)memchr(s->hdr, ':', s->hdrlen) + 1;
	ours = dkk_ar_claims(value, s->hdrlen - (size_t)(value - s->hdr),
	    verify_authserv_id());
	if (ours == 0) {
		arstrip_keep(s);
		return;
	}
	log_session(s, "removed an Authentication-Results field claiming to "
	    "come from %s (RFC 8601 5)", verify_authserv_id());
	s->hdrlen = 0;
}

/* A field that cannot be held whole cannot be told from a forgery: it is
 * dropped, and so are the lines of it still to come. */
static void
arstrip_hold(struct session *s, const char *line, size_t len)
{
	const char *why;

	if (session_hold(s, line, len, &why) == 0)
		return;
	log_session(s, "removed an Authentication-Results field that cannot "
	    "be held (%s)", why);
	s->hdrlen = 0;
	s->ardrop = 1;
}

/* One header line in verify mode: held, passed on, or dropped with the
 * field it belongs to.  This goes on when the message is not processed:
 * a forged field must not reach the user whatever becomes of the
 * verdict. */
void
arstrip_line(struct session *s, const char *line, size_t len)
{
	int cont = len > 0 && arstrip_wsp(line[0]);

	if (cont && s->ardrop)
		return;
	if (cont && s->hdrlen > 0) {
		arstrip_hold(s, line, len);
		return;
	}
	arstrip_end(s);
	if (len == 0)
		s->state = ST_BODY;
	else if (arstrip_starts(line, len)) {
		arstrip_hold(s, line, len);
		return;
	}
	message_put(s, line, len);
}
