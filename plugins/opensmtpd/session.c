/*
 * session.c: per-session state keyed by smtpd's session id, in a chained
 * hash table.  Sessions come and go in any order and a report may name a
 * session never seen, so every lookup tolerates absence.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define SESSION_BUCKETS	1024

static struct session *session_table[SESSION_BUCKETS];
static size_t session_charged;	/* header octets, all sessions (-M) */

static struct session **
session_bucket(uint64_t id)
{
	/* Ids are random (arc4random in smtpd): low bits spread well. */
	return &session_table[(id ^ (id >> 32)) % SESSION_BUCKETS];
}

struct session *
session_find(uint64_t id)
{
	struct session *s;

	for (s = *session_bucket(id); s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* The session, made on first sight; NULL only when out of memory. */
struct session *
session_get(uint64_t id)
{
	struct session **b, *s;

	if ((s = session_find(id)) != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warnx("out of memory for session %016llx",
		    (unsigned long long)id);
		return NULL;
	}
	s->id = id;
	b = session_bucket(id);
	s->next = *b;
	*b = s;
	return s;
}

/* Free the message's signers. */
void
session_drop_signers(struct session *s)
{
	size_t i;

	for (i = 0; i < s->nsigners; i++)
		dkk_signer_free(s->signers[i]);
	s->nsigners = 0;
}

/* Drop what processing the message takes (the spool, the signers or the
 * verifier); what is being held in s->hdr stays. */
void
session_drop(struct session *s)
{
	spool_clear(&s->spool);
	session_drop_signers(s);
	free(s->sigdomain);
	s->sigdomain = NULL;
	free(s->sigsel);
	s->sigsel = NULL;
	dkk_verifier_free(s->verifier);
	s->verifier = NULL;
	s->spflate = 0;
	selfv_clear(s);
	free(s->selftop);
	s->selftop = NULL;
	report_clear(s);
	s->repdone = 0;
}

/* Let go of what s->hdr holds. */
void
session_unhold(struct session *s)
{
	free(s->hdr);
	s->hdr = NULL;
	s->hdrlen = s->hdrcap = 0;
}

/* Count n more octets of the header block of s against -M, at most
 * FILTER_HOLDMAX a message (the most the core and the filter keep of it);
 * -1 when that would take all sessions together over the budget. */
int
session_charge(struct session *s, size_t n)
{
	if (n > FILTER_HOLDMAX - s->charged)
		n = FILTER_HOLDMAX - s->charged;
	if (n > conf.budget - session_charged)
		return -1;
	session_charged += n;
	s->charged += n;
	return 0;
}

void
session_uncharge(struct session *s)
{
	session_charged -= s->charged;
	s->charged = 0;
}

static struct session *session_pick;

static void
session_younger(struct session *s)
{
	if (s->busy || (s->state != ST_HEADER && s->state != ST_BODY))
		return;
	if (session_pick == NULL || s->seq > session_pick->seq)
		session_pick = s;
}

/* Of s and the sessions whose header counts against -M and that can
 * still give way (not over it already, not waiting for DNS), the one
 * whose message began last. */
struct session *
session_youngest(struct session *s)
{
	session_pick = s;
	session_foreach(session_younger);
	return session_pick;
}

/* Drop the message state; the session, its facts and its commit flags
 * stay. */
void
session_reset(struct session *s)
{
	session_drop(s);
	session_unhold(s);
	session_uncharge(s);
	policy_end(s);
	s->ardrop = 0;
	s->pass = 0;
	s->pending = 0;
	s->state = ST_IDLE;
}

/* ST_WORK: keep line for when the worker is done.  -1 when out of
 * memory (logged): the line is then handled now. */
int
session_defer(struct session *s, const char *line)
{
	size_t n = strlen(line) + 1;
	struct deferred *d;

	if ((d = malloc(sizeof(*d) + n)) == NULL) {
		log_session(s, "out of memory: a line is handled before the "
		    "signatures it follows are made");
		return -1;
	}
	memcpy(d->line, line, n);
	d->next = NULL;
	if (s->defer == NULL)
		s->defertail = &s->defer;
	*s->defertail = d;
	s->defertail = &d->next;
	return 0;
}

static void
session_defer_clear(struct session *s)
{
	struct deferred *d;

	while ((d = s->defer) != NULL) {
		s->defer = d->next;
		free(d);
	}
}

/* The worker is done with session id's message: the lines that waited,
 * in order.  One of them may end the next message (which may wait for a
 * worker again: the lines after it wait again, behind it) or the session
 * itself, so the list is taken off the session first. */
void
session_replay(uint64_t id)
{
	struct session *s = session_find(id);
	struct deferred *d, *list;

	if (s == NULL || s->state == ST_WORK || (list = s->defer) == NULL)
		return;
	s->defer = NULL;
	while ((d = list) != NULL) {
		list = d->next;
		proto_line(d->line);
		free(d);
	}
}

void
session_free(uint64_t id)
{
	struct session **pp, *s;

	for (pp = session_bucket(id); (s = *pp) != NULL; pp = &s->next) {
		if (s->id != id)
			continue;
		*pp = s->next;
		session_reset(s);
		session_defer_clear(s);
		facts_clear_link(s);
		dmarc_commit_clear(s);
		free(s->rstext);
		free(s);
		return;
	}
}

/* fn may reset its session but not free it. */
void
session_foreach(void (*fn)(struct session *))
{
	struct session *s, *next;
	size_t i;

	for (i = 0; i < SESSION_BUCKETS; i++)
		for (s = session_table[i]; s != NULL; s = next) {
			next = s->next;
			fn(s);
		}
}

/* Append a line and CRLF to s->hdr (sign: the header block; verify: a
 * field held back by arstrip.c).  CRLF, as for body lines: a CR that ends
 * the line is the message's own ("x\r\r\n" on the wire), and what is
 * signed must be what smtpd sends on; with LF alone, the signer would
 * take that CR for part of the line end.  -1 with the reason in *why when
 * the line cannot be held. */
int
session_hold(struct session *s, const char *line, size_t len,
    const char **why)
{
	size_t need = s->hdrlen + len + 2, cap = s->hdrcap ? s->hdrcap : 1024;
	char *p;

	if (s->busy) {
		*why = "over the header budget";
		return -1;
	}
	/* The core bounds the header block too; this keeps us in step. */
	if (need > FILTER_HOLDMAX) {
		*why = "header over 4 MiB";
		return -1;
	}
	if (need > s->hdrcap) {
		while (cap < need)
			cap *= 2;
		if ((p = realloc(s->hdr, cap)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		s->hdr = p;
		s->hdrcap = cap;
	}
	memcpy(s->hdr + s->hdrlen, line, len);
	memcpy(s->hdr + s->hdrlen + len, "\r\n", 2);
	s->hdrlen = need;
	return 0;
}

/* The held line at p (before end): its length without the CRLF added by
 * session_hold(); *next is the line after it. */
size_t
session_held_line(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	*next = nl + 1;
	return (size_t)(nl - p) - 1;
}
