/*
 * report.c: RFC 6651 failure reports from filter-dkimkit (-G, issue #22).
 *
 * When a verified message is final, the core plans the reports its
 * failing signatures asked for (r=y and their domain's
 * _report._domainkey record; with -A the ADSP record's ra= too; with -p
 * the DMARC failure reports of RFC 9991 its policy record asks for).  The
 * record lookups run on the context's resolver like the key lookups: the
 * session waits in ST_WAIT and the poll loop goes on serving the others
 * (report_wait() says 1 until the plan is final).  Only a message with a
 * failing r=y signature (or an ADSP failure under -A) has lookups to wait
 * for; a plan without requests is final at once.
 *
 * Delivering never waits: once the plan is final, the message as
 * received is copied out of the spool and a child process is forked to
 * build the reports and hand them over (plugins/common/reportsend.c:
 * rate limits in the -L state file under a lock, then -g DIR, SMTP to
 * -J HOST:PORT or sendmail -t -f '').  The filter goes on at once; the children are
 * reaped with waitpid(WNOHANG) from the poll loop (report_reap()).  At
 * most REPORT_CHILDREN run at a time: past that, a message's reports are
 * dropped with a log line rather than waited for.  Each report is one
 * log line from the child ("report to ADDR (D, rr=v): written").
 *
 * The rs= text of the first request that has one is kept for the commit
 * (report_reply()): a message refused there (-r, -E) carries it in the
 * 550 reply, as RFC 6651 3.1 asks, tamed to printable ASCII and cut to
 * REPORT_RS_MAX octets: it is the signer's text, put in our reply.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "reportsend.h"

/* Report children running at once, at most. */
#define REPORT_CHILDREN	16
/* The longest rs= text put in a reply. */
#define REPORT_RS_MAX	200

static pid_t report_pids[REPORT_CHILDREN];

struct report_copy {
	char *p;
	size_t len, cap;
};

/* One held line (dot-escaped, no line end) into the copy, with CRLF. */
static int
report_copy_line(void *arg, const char *line, size_t len)
{
	struct report_copy *c = arg;
	char *q;

	if (*line == '.') {
		line++;
		len--;
	}
	if (c->len + len + 3 > c->cap) {
		c->cap = (c->len + len + 3) * 2;
		if ((q = realloc(c->p, c->cap)) == NULL)
			return -1;
		c->p = q;
	}
	memcpy(c->p + c->len, line, len);
	memcpy(c->p + c->len + len, "\r\n", 3);
	c->len += len + 2;
	return 0;
}

/* The rs= text for a reply: printable ASCII only ('|' too is left out:
 * it separates the fields of the filter protocol), bounded.  NULL when
 * nothing printable is left. */
static char *
report_tame(const char *rs)
{
	char *t, *q;

	if ((t = malloc(REPORT_RS_MAX + 1)) == NULL)
		return NULL;
	for (q = t; *rs != '\0' && q < t + REPORT_RS_MAX; rs++)
		if ((unsigned char)*rs >= 0x20 && (unsigned char)*rs < 0x7f &&
		    *rs != '|')
			*q++ = *rs;
		else if (q > t && q[-1] != ' ')
			*q++ = ' ';
	while (q > t && q[-1] == ' ')
		q--;
	*q = '\0';
	if (*t == '\0') {
		free(t);
		return NULL;
	}
	return t;
}

static void
report_warn(void *arg, const char *line)
{
	log_session(arg, "report: %s", line);
}

/* In the child: hand each request's report over, one log line each. */
static void
report_child(struct session *s, dkk_reports *plan,
    const struct dkk_report_info *info)
{
	struct dkr_send ds = { .dir = conf.report_dir,
	    .smtp = conf.report_smtp,
	    .state = conf.report_state, .warn = report_warn, .warn_arg = s };
	size_t i;
	int fd;

	/* stdin and stdout are smtpd's: sendmail must not touch them */
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (dkr_open(&ds) != 0)
		return;
	for (i = 0; i < dkk_reports_count(plan); i++) {
		const struct dkk_report_req *q = dkk_reports_get(plan, i);
		const char *st = dkr_deliver(&ds, plan, i, info);

		/* the token is rr='s, or for DMARC the fo= option's */
		log_session(s, "report to %s (%s, %s=%c): %s", q->to,
		    q->domain, q->kind == DKK_REPORT_DMARC ? "fo" : "rr",
		    q->token, st);
	}
	dkr_close(&ds);
}

/* A free place for a child, reaping first; -1 when all are taken. */
static int
report_slot(void)
{
	int i;

	report_reap();
	for (i = 0; i < REPORT_CHILDREN; i++)
		if (report_pids[i] == 0)
			return i;
	return -1;
}

/* The plan is final: a child builds and delivers its reports. */
static void
report_hand_off(struct session *s, dkk_reports *plan)
{
	const char *host = verify_authserv_id();
	struct report_copy c = { NULL, 0, 0 };
	struct dkk_report_info info = { .authserv_id = host,
	    .reporting_mta = host, .arrival = -1, .source_ip = s->ip,
	    .mail_from = s->mailfrom };
	char from[300];
	pid_t pid;
	int slot;

	if ((slot = report_slot()) == -1) {
		log_session(s, "report: %d report processes already run: "
		    "this message's reports dropped", REPORT_CHILDREN);
		return;
	}
	snprintf(from, sizeof(from), "postmaster@%s", host);
	info.from = conf.report_from != NULL ? conf.report_from : from;
	/* the canonical body for the report, from the message as held */
	if (spool_each(&s->spool, report_copy_line, &c) == 0 && c.p != NULL) {
		info.message = c.p;
		info.message_len = c.len;
	}
	if ((pid = fork()) == -1) {
		log_session(s, "report: fork: %s: reports dropped",
		    strerror(errno));
	} else if (pid == 0) {
		report_child(s, plan, &info);
		/* _exit: the parent's buffered protocol output is not ours
		 * to flush, nor its atexit handlers (the store) to run */
		_exit(0);
	} else
		report_pids[slot] = pid;
	free(c.p);
}

/* Keep the rs= text for a reject at commit (RFC 6651 3.3 step 10: the
 * plan knows which record's applies, with or without ra=, and never a
 * sampled-out one's). */
static void
report_keep_text(struct session *s, const dkk_reports *plan)
{
	const char *rs = dkk_reports_smtp_text(plan);

	free(s->rstext);
	s->rstext = rs != NULL ? report_tame(rs) : NULL;
}

/* -G: the verifier is final.  1 while the plan's lookups are out (call
 * again when DNS answers come), 0 when done (reports handed off or none
 * due; trouble is logged, never a verdict). */
int
report_wait(struct session *s)
{
	struct dkk_report_opts ro = { .adsp = conf.adsp };
	int rc;

	if (!conf.reports || s->repdone)
		return 0;
	if (s->reports == NULL && (rc = dkk_reports_new(s->verifier, &ro,
	    &s->reports)) != DKK_OK) {
		log_session(s, "report: %s", dkk_strerror(rc));
		s->reports = NULL;
		s->repdone = 1;
		return 0;
	}
	if ((rc = dkk_reports_final(s->reports)) == DKK_EAGAIN)
		return 1;
	s->repdone = 1;
	if (rc != DKK_OK)
		log_session(s, "report: %s", dkk_strerror(rc));
	else {
		report_keep_text(s, s->reports);
		if (dkk_reports_count(s->reports) > 0)
			report_hand_off(s, s->reports);
	}
	report_clear(s);
	return 0;
}

/* Free the plan of s (the message ends or is dropped). */
void
report_clear(struct session *s)
{
	dkk_reports_free(s->reports);
	s->reports = NULL;
}

/* The reject answer with the signer's rs= text after it, in buf; answer
 * itself when there is none or it does not fit. */
const char *
report_reply(const struct session *s, const char *answer, char *buf,
    size_t len)
{
	int n;

	if (s->rstext == NULL || strncmp(answer, "reject|5", 8) != 0)
		return answer;
	/* RFC 5321 4.5.3.1.5: a reply line is 512 octets with its CRLF;
	 * "reject|" is not part of it */
	n = snprintf(buf, len, "%s (%s)", answer, s->rstext);
	if (n < 0 || (size_t)n >= len || (size_t)n - 7 > 510)
		return answer;
	return buf;
}

/* Reap the report children that are done; never waits. */
void
report_reap(void)
{
	int i, status;

	for (i = 0; i < REPORT_CHILDREN; i++)
		if (report_pids[i] != 0 &&
		    waitpid(report_pids[i], &status, WNOHANG) != 0)
			report_pids[i] = 0;
}
