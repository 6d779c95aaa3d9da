/*
 * message.c: the data-line stream of one message.  Every line is held in
 * the session's spool and fed, dot-unescaped, to the signer or verifier.
 * At the final "." the new header field is known (signing needs the whole
 * body; the Authentication-Results field needs the verdict, which needs
 * the whole body and the keys), and it goes out first, then every held
 * line, then ".".
 *
 * A message that cannot be processed (the spool cannot hold it, no
 * memory, the library refuses it) is passed on from then on, line by
 * line, or tempfailed at commit with -T: mail is never lost.  In verify
 * mode it still gets our Authentication-Results field, saying why it was
 * not verified, and fields claiming our authserv-id are still removed
 * (arstrip.c): a forged verdict must never be the only one delivered.
 * One exception to passing on: smtpd 6.8 cuts a data line it gets back
 * from a filter at FILTER_LINE_BACK octets, so a message with a longer
 * line is refused at commit rather than delivered cut.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "pool.h"

static uint64_t message_seq;

static int
message_begin(struct session *s)
{
	session_reset(s);
	s->seq = ++message_seq;
	s->failed = s->broken = s->discard = s->busy = 0;
	s->toolong = s->selfbad = 0;
	s->state = ST_HEADER;
	s->verify = conf.mode == MODE_VERIFY || conf.mode == MODE_SEAL;
	policy_begin(s);
	dmarc_commit_clear(s);
	if (s->verify && dmarc_verifier(s) == -1)
		return -1;
	return 0;
}

/* Our new header field(s) on top.  Over-long lines are never sent
 * (out_lines): the field is left out and the message counts as not
 * processed (-T tempfails it). */
static void
message_top(struct session *s, const char *fields)
{
	size_t longest;

	if (out_lines(s, fields, &longest) == 0)
		return;
	log_session(s, "%.*s field not added: a line of %zu octets (RFC 5322 "
	    "allows %d)", (int)strcspn(fields, ":"), fields, longest,
	    OUT_LINEMAX);
	s->failed = 1;
}

/* Verify mode: the field saying that this message was not verified and
 * why (RFC 8601 2.7.1: temperror, a local failure that may not recur). */
static void
message_unverified(struct session *s, const char *why)
{
	char *field;

	if (dkk_ar_unverified(verify_authserv_id(), DKK_TEMPERROR, why,
	    DKK_FIELD_LF, &field) != DKK_OK) {
		log_session(s, "cannot make the Authentication-Results field");
		return;
	}
	message_top(s, field);
	free(field);
}

/* Give up on processing: our field on top (verify mode), everything held,
 * and from now on every line as it comes. */
void
message_fail(struct session *s, const char *why)
{
	char *held = NULL;
	size_t heldlen = 0;
	int pending = s->pending;

	if (s->pass)
		return;
	/* -m sv before the choice: the held lines are verified (the
	 * forged fields removed) as they go out below. */
	if (pending)
		held = policy_take(s, &heldlen);
	log_session(s, "message not processed (%s): %s", why,
	    conf.tempfail || s->busy ? "tempfail at commit" :
	    conf.mode == MODE_SEAL ? "passed on unsealed" :
	    s->verify ? "passed on with dkim=temperror" :
	    "passed on unsigned");
	s->failed = 1;
	s->pass = 1;
	if (s->verify && conf.mode != MODE_SEAL)
		message_unverified(s, why);
	if (spool_emit(&s->spool, s) == -1) {
		log_session(s, "held lines lost: tempfail at commit");
		s->broken = 1;
	}
	session_drop(s);
	if (!s->verify)
		session_unhold(s);	/* the header block for the signer */
	if (pending)
		policy_replay(s, held, heldlen);
}

/* A line that goes on: into the spool, or straight out once the message
 * is not processed. */
void
message_put(struct session *s, const char *line, size_t len)
{
	if (!s->pass && spool_put(&s->spool, line, len) == 0)
		return;
	message_fail(s, "cannot hold the message");
	out_dataline(s, line, len);
}

/* The new header lines (may be NULL), the held lines, the end. */
void
message_finish(struct session *s, char *top)
{
	if (top != NULL)
		message_top(s, top);
	free(top);
	if (spool_emit(&s->spool, s) == -1) {
		log_session(s, "held lines lost: tempfail at commit");
		s->broken = 1;
	}
	out_dataline(s, ".", 1);
	session_reset(s);
}

/* The end of a message that could not be processed to its end. */
static void
message_abort(struct session *s, const char *why)
{
	message_fail(s, why);
	out_dataline(s, ".", 1);
	session_reset(s);
}

/* -V: the signed message is verified before it goes on; meanwhile its
 * new fields wait in s->selftop.  1 when it waits, 0 to finish now. */
static int
message_selfv(struct session *s, char **top)
{
	if (selfv_start(s, *top) != 1)
		return 0;
	s->selftop = *top;
	*top = NULL;
	if (selfv_end(s) == 1)
		return 1;
	*top = s->selftop;
	s->selftop = NULL;
	return 0;
}

/* What follows the new fields: -V's check, then out (or the wait). */
static void
message_after(struct session *s, int rc, char *top)
{
	if (rc == 0 && !s->verify)
		rc = message_selfv(s, &top);
	if (rc == 1)
		s->state = ST_WAIT;
	else if (rc == -1)
		message_abort(s, "cannot complete");
	else
		message_finish(s, top);
}

/* A message's signatures, made by a worker (-j): the job takes the
 * signers, and a reference to the policy that owns their keys, so that
 * a session that goes meanwhile (link-disconnect) frees nothing a
 * worker uses. */
struct message_job {
	struct pool_job pj;
	uint64_t sid;
	uint64_t seq;			/* of the message it signs */
	dkk_ctx *home;			/* the signers' own context */
	struct spool *spool;		/* the message, for its body */
	dkk_signer *sg[FILTER_MAXSIGS];
	size_t n;
	struct fpolicy *pol;
	char *top;			/* the fields made */
	int rc;				/* 0, -1, or 1: sign at home */
};

/* Every signer to ctx; 0 when one cannot go (a PKCS#11 key: its token
 * is the main thread's), which then stays home. */
static int
message_job_move(struct message_job *j, dkk_ctx *ctx)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < j->n; i++)
		if (dkk_signer_move(j->sg[i], ctx) != DKK_OK)
			ok = 0;
	return ok;
}

/* In a worker: only the job's signers and its own context. */
static void
message_job_run(struct pool_job *pj, dkk_ctx *ctx)
{
	struct message_job *j = (struct message_job *)pj;

	if (!message_job_move(j, ctx))
		j->rc = 1;
	else if (sign_body(j->sg, j->n, j->spool) == -1)
		j->rc = -1;
	else
		j->rc = sign_fields(j->sg, j->n, &j->top);
	(void)message_job_move(j, j->home);
}

/* Back in the main thread: the message goes on where message_end() left
 * it, unless it is gone (its session ended, or smtpd rolled it back). */
static void
message_job_done(struct pool_job *pj)
{
	struct message_job *j = (struct message_job *)pj;
	struct session *s = session_find(j->sid);
	uint64_t sid = j->sid;
	size_t i;

	if (s != NULL && s->state == ST_WORK && s->seq == j->seq) {
		memcpy(s->signers, j->sg, j->n * sizeof(j->sg[0]));
		s->nsigners = j->n;
		j->n = 0;
		s->state = ST_BODY;
		if (j->rc == 1)
			j->rc = sign_body(s->signers, s->nsigners,
			    &s->spool) == -1 ? -1 : sign_fields(s->signers,
			    s->nsigners, &j->top);
		if (j->rc == 0)
			sign_log(s);
		message_after(s, j->rc, j->top);
		j->top = NULL;
	}
	for (i = 0; i < j->n; i++)
		dkk_signer_free(j->sg[i]);
	free(j->top);
	policy_release(j->pol);
	free(j);
	session_replay(sid);
}

/* -j: 1 when the signatures went to a worker; 0 to make them here (no
 * pool, nothing to sign, no memory for the job). */
static int
message_offload(struct session *s)
{
	struct message_job *j;

	if (pool_size() == 0 || s->nsigners == 0 ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return 0;
	j->pj.run = message_job_run;
	j->pj.done = message_job_done;
	j->sid = s->id;
	j->seq = s->seq;
	j->home = conf.ctx;
	j->spool = &s->spool;
	memcpy(j->sg, s->signers, s->nsigners * sizeof(j->sg[0]));
	j->n = s->nsigners;
	if ((j->pol = s->pol) != NULL)
		j->pol->refs++;
	if (pool_submit(&j->pj) == -1) {
		policy_release(j->pol);
		free(j);
		return 0;
	}
	s->nsigners = 0;
	s->state = ST_WORK;
	return 1;
}

static void
message_end(struct session *s)
{
	char *top = NULL;
	int rc;

	if (s->pending)
		policy_settle(s);	/* a message without a body */
	if (s->verify && conf.mode != MODE_SEAL)
		arstrip_end(s);		/* a field last in the header block */
	if (s->pass) {
		out_dataline(s, ".", 1);
		session_reset(s);
		return;
	}
	if (!s->verify) {
		if (sign_ready(s) == -1) {
			message_abort(s, "cannot complete");
			return;
		}
		if (message_offload(s) == 1)
			return;
	}
	rc = s->verify ? verify_end(s, &top) : sign_end(s, &top);
	message_after(s, rc, top);
}

/* -M: when a header line would take the octets held for all sessions
 * over the budget, the message that began last gives way: it is not
 * processed (its memory goes) and is refused at commit with 451, until
 * the line fits or that message is this one.  Memory stays bounded
 * however many large headers come at once, and older messages finish. */
static void
message_charge(struct session *s, size_t len)
{
	struct session *v;

	if (s->state != ST_HEADER || s->busy)
		return;
	while (session_charge(s, len + 2) == -1) {
		v = session_youngest(s);
		v->busy = 1;
		message_fail(v, "over the header budget of -M");
		session_uncharge(v);
		if (v == s)
			return;
	}
}

/* The line, dot-unescaped, to the signer or the verifier. */
static void
message_feed(struct session *s, const char *line, size_t len)
{
	const char *why = NULL;
	int rc;

	/* RFC 5321 4.5.2: smtpd leaves the leading dot doubled. */
	if (*line == '.') {
		line++;
		len--;
	}
	rc = s->verify ? verify_line(s, line, len, &why) :
	    sign_line(s, line, len, &why);
	if (rc == -1)
		message_fail(s, why);
}

void
message_line(struct session *s, uint64_t token, const char *line,
    size_t len)
{
	if (s == NULL)
		return;		/* out of memory, logged: nothing to answer */
	s->token = token;
	if (s->state == ST_WAIT || s->state == ST_WORK) {
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
	message_charge(s, len);
	if (s->pending)
		policy_hold(s, line, len);
	else
		message_process(s, line, len);
}

/* One line (as it came, dot-escaped) on its way: out, and to the signer
 * or verifier. */
void
message_process(struct session *s, const char *line, size_t len)
{
	/* -m seal: a relay passes the message on as it came (the new
	 * ARC-Message-Signature signs it so), no field removed */
	if (s->verify && s->state == ST_HEADER && conf.mode != MODE_SEAL)
		arstrip_line(s, line, len);
	else {
		message_put(s, line, len);
		if (conf.mode == MODE_SEAL && s->state == ST_HEADER &&
		    len == 0)
			s->state = ST_BODY;
	}
	if (!s->pass)
		message_feed(s, line, len);
	else if (len == 0)
		s->state = ST_BODY;	/* where the signer would have seen it */
}

/* The commit phase: the verdicts decide; a session never seen proceeds. */
void
message_commit(struct session *s, uint64_t sid, uint64_t token)
{
	const char *answer = "proceed", *dm;
	char buf[400], rbuf[700];

	if (s != NULL && s->toolong)
		answer = "reject|554 5.6.0 dkimkit: a line is longer than "
		    "this server can pass on (1997 octets; RFC 5321 allows "
		    "998)";
	else if (s != NULL && s->broken)
		answer = "reject|451 4.3.0 dkimkit: message lost, try again";
	else if (s != NULL && s->busy)
		answer = "reject|451 4.3.1 dkimkit: too many large headers at "
		    "once, try again later";
	else if (s != NULL && s->selfbad)
		answer = "reject|451 4.7.0 dkimkit: the message failed its "
		    "own DKIM self-verification, try again later";
	else if (s != NULL && s->failed && conf.tempfail)
		answer = "reject|451 4.7.0 dkimkit: cannot process message, "
		    "try again later";
	else if (s != NULL && (dm = dmarc_commit(s, buf, sizeof(buf))) !=
	    NULL)
		answer = dm;
	else if (s != NULL && s->discard && conf.reject)
		answer = "reject|550 5.7.1 dkimkit: ADSP discard: the author "
		    "domain signs all mail and this has no valid signature";
	/* RFC 6651 3.1: a refusal for a DKIM failure carries the
	 * signer's rs= text (-G) */
	if (s != NULL && (s->dmreject || (s->discard && conf.reject)) &&
	    answer != NULL)
		answer = report_reply(s, answer, rbuf, sizeof(rbuf));
	out_result(sid, token, answer);
	if (s != NULL) {
		s->failed = s->broken = s->discard = s->busy = 0;
		s->toolong = s->selfbad = 0;
		dmarc_commit_clear(s);
		free(s->rstext);
		s->rstext = NULL;
	}
}

static int message_nwait;

/* -V: the key lookups of the self-verification are in; out it goes. */
static void
message_selfv_retry(struct session *s)
{
	char *top;

	if (selfv_end(s) == 1) {
		message_nwait++;
		return;
	}
	top = s->selftop;
	s->selftop = NULL;
	message_finish(s, top);
}

static void
message_retry(struct session *s)
{
	char *top = NULL;
	int rc;

	/* DMARC: SPF checks run before and while messages come in, and
	 * beside the verifier's lookups. */
	if (dmarc_spf_poll(s) == 1)
		message_nwait++;
	if (s->state != ST_WAIT)
		return;
	if (s->selftop != NULL) {
		message_selfv_retry(s);
		return;
	}
	if ((rc = verify_end(s, &top)) == 1)
		message_nwait++;
	else if (rc == -1)
		message_abort(s, "cannot complete");
	else
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
	if (s->state == ST_WAIT || s->spf != NULL)
		message_nwait++;
}

int
message_waiting(void)
{
	message_nwait = 0;
	session_foreach(message_count_wait);
	return message_nwait;
}
