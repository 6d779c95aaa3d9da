/*
 * message.c: the data-line stream of one message.  Every line is held in
 * the session's spool and fed, dot-unescaped, to the signer or verifier.
 * At the final "." the new header field is known (signing needs the whole
 * body; the Authentication-Results field needs the verdict, which needs
 * the whole body and the keys), and it goes out first, then every held
 * line, then ".".  A message that cannot be processed goes out unchanged
 * (or is tempfailed at commit with -T): mail is never lost or altered.
 * One exception: smtpd 6.8 cuts a data line it gets back from a filter at
 * FILTER_LINE_BACK octets, so a message with a longer line is refused at
 * commit rather than delivered cut.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"

static int
message_begin(struct session *s)
{
	struct dkk_verify_opts vo = { .adsp = conf.adsp };

	session_reset(s);
	s->failed = s->broken = s->discard = 0;
	s->toolong = 0;
	s->state = ST_HEADER;
	if (conf.mode == MODE_VERIFY &&
	    dkk_verifier_new(conf.ctx, &vo, &s->verifier) != DKK_OK)
		return -1;
	return 0;
}

/* Give up on processing: everything held goes out unchanged, and the rest
 * of the message passes through line by line. */
void
message_fail(struct session *s, const char *why)
{
	log_session(s, "message not processed (%s)%s", why,
	    conf.tempfail ? ": tempfail at commit" : ": passed on unchanged");
	s->failed = 1;
	if (spool_emit(&s->spool, s) == -1) {
		log_session(s, "held lines lost: tempfail at commit");
		s->broken = 1;
	}
	if (conf.mode == MODE_VERIFY)
		arstrip_release(s);
	session_reset(s);
	s->state = ST_PASS;
}

/* The new header lines (may be NULL), the held lines, the end. */
void
message_finish(struct session *s, char *top)
{
	if (top != NULL)
		out_lines(s, top);
	free(top);
	if (spool_emit(&s->spool, s) == -1) {
		log_session(s, "held lines lost: tempfail at commit");
		s->broken = 1;
	}
	out_dataline(s, ".");
	session_reset(s);
}

static void
message_end(struct session *s)
{
	char *top = NULL;
	int rc;

	if (s->state == ST_PASS) {
		out_dataline(s, ".");
		session_reset(s);
		return;
	}
	if (conf.mode == MODE_VERIFY && arstrip_end(s) == -1) {
		message_fail(s, "cannot hold the message");
		message_end(s);
		return;
	}
	rc = conf.mode == MODE_SIGN ? sign_end(s, &top) : verify_end(s, &top);
	if (rc == 1) {
		s->state = ST_WAIT;
		return;
	}
	if (rc == -1) {
		message_fail(s, "cannot complete");
		message_end(s);
		return;
	}
	message_finish(s, top);
}

void
message_line(struct session *s, uint64_t token, const char *line,
    size_t len)
{
	const char *content = line;
	int rc;

	if (s == NULL)
		return;		/* out of memory, logged: nothing to answer */
	s->token = token;
	if (s->state == ST_WAIT) {
		log_session(s, "data line after the end of message skipped");
		return;
	}
	if (s->state == ST_IDLE && message_begin(s) == -1)
		message_fail(s, "out of memory");
	if (len > FILTER_LINE_BACK && s->toolong == 0) {
		s->toolong = len;
		log_session(s, "a line of %zu octets: smtpd keeps only %d of "
		    "it on the way back; refused at commit", len,
		    FILTER_LINE_BACK);
	}
	if (strcmp(line, ".") == 0) {
		message_end(s);
		return;
	}
	if (s->state == ST_PASS) {
		out_dataline(s, line);
		return;
	}
	if (conf.mode == MODE_VERIFY && s->state == ST_HEADER)
		rc = arstrip_line(s, line, len);
	else
		rc = spool_put(&s->spool, line, len);
	if (rc == -1) {
		message_fail(s, "cannot hold the message");
		out_dataline(s, line);
		return;
	}
	/* RFC 5321 4.5.2: smtpd leaves the leading dot doubled. */
	if (*content == '.') {
		content++;
		len--;
	}
	rc = conf.mode == MODE_SIGN ? sign_line(s, content, len) :
	    verify_line(s, content, len);
	if (rc == -1)
		message_fail(s, "the library refused the message");
}

/* The commit phase: the verdicts decide; a session never seen proceeds. */
void
message_commit(struct session *s, uint64_t sid, uint64_t token)
{
	const char *answer = "proceed";

	if (s != NULL && s->toolong)
		answer = "reject|554 5.6.0 dkimkit: a line is longer than "
		    "this server can pass on (1997 octets; RFC 5321 allows "
		    "998)";
	else if (s != NULL && s->broken)
		answer = "reject|451 4.3.0 dkimkit: message lost, try again";
	else if (s != NULL && s->failed && conf.tempfail)
		answer = "reject|451 4.7.0 dkimkit: cannot process message, "
		    "try again later";
	else if (s != NULL && s->discard && conf.reject)
		answer = "reject|550 5.7.1 dkimkit: ADSP discard: the author "
		    "domain signs all mail and this has no valid signature";
	out_result(sid, token, answer);
	if (s != NULL) {
		s->failed = s->broken = s->discard = 0;
		s->toolong = 0;
	}
}

static int message_nwait;

static void
message_retry(struct session *s)
{
	char *top = NULL;
	int rc;

	if (s->state != ST_WAIT)
		return;
	if ((rc = verify_end(s, &top)) == 1) {
		message_nwait++;
		return;
	}
	if (rc == -1) {
		message_fail(s, "cannot complete");
		out_dataline(s, ".");
		session_reset(s);
		return;
	}
	message_finish(s, top);
}

/* DNS answers came in (or time passed): finish the messages they free. */
void
message_dns(void)
{
	message_nwait = 0;
	session_foreach(message_retry);
}

static void
message_count_wait(struct session *s)
{
	if (s->state == ST_WAIT)
		message_nwait++;
}

int
message_waiting(void)
{
	message_nwait = 0;
	session_foreach(message_count_wait);
	return message_nwait;
}
