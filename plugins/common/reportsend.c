/*
 * reportsend.c: delivering the reports the core's plan asks for, safely
 * (issue #22; RFC 6651 5 and 8), for the command and the hosts: never
 * with a sender a bounce could come back to (null envelope sender:
 * sendmail -t -f '', or MAIL FROM:<> over SMTP), never over the rate
 * limits (a token bucket per address and one for all, kept across runs
 * in a state file replaced by rename), never to a suppressed address or
 * domain; or written to a folder instead.  The verdict of the message is
 * decided before any of this runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reportsend.h"

#define HOUR 3600.0

struct dkr_bucket {
	char *addr;		/* "*" for the global bucket */
	double tokens;
	int64_t at;		/* when tokens was last computed */
};

static void __attribute__((format(printf, 2, 3)))
dkr_warn(const struct dkr_send *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->warn != NULL)
		r->warn(r->warn_arg, line);
}

/* A whole small file, NUL-terminated. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t cap = 0, n = 0, k;

	if (f == NULL)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *q = realloc(p, cap = cap * 2 + 4096 + 1);

			if (q == NULL) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = q;
		}
		k = fread(p + n, 1, cap - n - 1, f);
		n += k;
	} while (k > 0);
	if (ferror(f) || p == NULL) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	p[n] = '\0';
	if (len != NULL)
		*len = n;
	return p;
}

static int
bucket_add(struct dkr_send *r, const char *addr, double tokens, int64_t at)
{
	struct dkr_bucket *b = realloc(r->buckets, (r->nbuckets + 1) *
	    sizeof(*b));

	if (b == NULL)
		return -1;
	r->buckets = b;
	b = &r->buckets[r->nbuckets];
	if ((b->addr = strdup(addr)) == NULL)
		return -1;
	b->tokens = tokens;
	b->at = at;
	r->nbuckets++;
	return 0;
}

/* The state file: "ADDRESS TOKENS UNIXTIME" per line.  A line that does
 * not read is dropped: a bucket forgotten is full, not empty, so a
 * damaged file can cost at most one report per address. */
static int
state_load(struct dkr_send *r)
{
	char *text, *line, *save = NULL;
	char addr[512];
	double tokens;
	long long at;

	if (r->state == NULL)
		return 0;
	if ((text = slurp(r->state, NULL)) == NULL)
		return errno == ENOENT ? 0 : (dkr_warn(r, "%s: %s", r->state,
		    strerror(errno)), -1);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%511s %lf %lld", addr, &tokens, &at) == 3 &&
		    isfinite(tokens) && tokens >= 0 &&
		    bucket_add(r, addr, tokens, at) != 0) {
			free(text);
			return -1;	/* no memory: a partial state */
		}
	free(text);
	return 0;
}

/* A bucket refilled to its capacity says nothing a missing one would
 * not: it is left out, so the file holds only the addresses reported to
 * within the hour and cannot grow with every domain ever seen. */
static bool
bucket_full(const struct dkr_send *r, const struct dkr_bucket *b,
    int64_t now)
{
	double rate = strcmp(b->addr, "*") == 0 ? r->global : r->per_addr;
	double t = b->tokens;

	if (now > b->at)
		t += rate * (double)(now - b->at) / HOUR;
	return t >= rate;
}

static void
state_save(const struct dkr_send *r)
{
	char tmp[4096];
	int64_t now = (int64_t)time(NULL);
	FILE *f;
	size_t i;
	int fd;

	if (r->state == NULL)
		return;
	/* A fresh name (mkstemp: O_EXCL, mode 0600) in the state's own
	 * folder, so the rename stays on one file system and nothing
	 * planted under a guessable name is followed. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", r->state) >=
	    sizeof(tmp)) {
		dkr_warn(r, "%s: name too long", r->state);
		return;
	}
	if ((fd = mkstemp(tmp)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		dkr_warn(r, "%s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return;
	}
	for (i = 0; i < r->nbuckets; i++)
		if (!bucket_full(r, &r->buckets[i], now))
			fprintf(f, "%s %.6f %lld\n", r->buckets[i].addr,
			    r->buckets[i].tokens,
			    (long long)r->buckets[i].at);
	/* Written whole, then renamed over the old one: a crash leaves
	 * either state, never half of one. */
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, r->state) != 0) {
		dkr_warn(r, "%s: %s", r->state, strerror(errno));
		unlink(tmp);
	}
}

static int
suppress_load(struct dkr_send *r)
{
	char *text, *line, *save = NULL;

	if (r->suppress == NULL)
		return 0;
	if ((text = slurp(r->suppress, NULL)) == NULL) {
		dkr_warn(r, "%s: %s", r->suppress, strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		char **s;

		line += strspn(line, " \t");
		if (*line == '#' || *line == '\0')
			continue;
		line[strcspn(line, " \t")] = '\0';
		if ((s = realloc(r->suppressed, (r->nsuppressed + 1) *
		    sizeof(*s))) == NULL)
			break;
		r->suppressed = s;
		if ((s[r->nsuppressed] = strdup(line)) != NULL)
			r->nsuppressed++;
	}
	free(text);
	return 0;
}

static int
suppressed(const struct dkr_send *r, const char *to)
{
	const char *d = strrchr(to, '@');
	size_t i;

	for (i = 0; i < r->nsuppressed; i++)
		if (strcasecmp(r->suppressed[i], to) == 0 ||
		    (d != NULL && strcasecmp(r->suppressed[i], d + 1) == 0))
			return 1;
	return 0;
}

/* A token bucket of capacity rate, refilled at rate per hour, brought
 * up to now; NULL without memory. */
static struct dkr_bucket *
bucket_get(struct dkr_send *r, const char *addr, double rate, int64_t now)
{
	struct dkr_bucket *b = NULL;
	size_t i;

	for (i = 0; i < r->nbuckets && b == NULL; i++)
		if (strcasecmp(r->buckets[i].addr, addr) == 0)
			b = &r->buckets[i];
	if (b == NULL) {
		if (bucket_add(r, addr, rate, now) != 0)
			return NULL;
		b = &r->buckets[r->nbuckets - 1];
	}
	if (now > b->at)
		b->tokens += rate * (double)(now - b->at) / HOUR;
	if (b->tokens > rate)
		b->tokens = rate;
	b->at = now;
	return b;
}

static void
buckets_clear(struct dkr_send *r)
{
	size_t i;

	for (i = 0; i < r->nbuckets; i++)
		free(r->buckets[i].addr);
	free(r->buckets);
	r->buckets = NULL;
	r->nbuckets = 0;
}

/* The state file's lock (STATE.lock, never followed if a link), held
 * while the buckets are read, a token taken and the file written back:
 * Exim's receiving processes and the command share one set of limits.
 * The descriptor, or -1 (said). */
static int
state_lock(struct dkr_send *r)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s.lock", r->state) >=
	    sizeof(path)) {
		dkr_warn(r, "%s: name too long", r->state);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0 || flock(fd, LOCK_EX) != 0) {
		dkr_warn(r, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A report may go when the global bucket and the address's both hold a
 * token; only then is one taken from each.  The global one is asked
 * first, so a flood past it adds no address to the state.  With a state
 * file the decision is made under its lock on the file's current
 * buckets; a state that cannot be read or locked sends nothing (a
 * limit that cannot be kept is not lifted). */
static int
rate_ok(struct dkr_send *r, const char *to)
{
	int64_t now = (int64_t)time(NULL);
	struct dkr_bucket *a, *g;
	int lock = -1, ok = 0;

	if (r->state != NULL) {
		if ((lock = state_lock(r)) < 0)
			return 0;
		buckets_clear(r);
		if (state_load(r) != 0)
			goto out;
	}
	if ((g = bucket_get(r, "*", r->global, now)) == NULL || g->tokens < 1)
		goto out;
	/* bucket_get may move the array: look the global one up again */
	if ((a = bucket_get(r, to, r->per_addr, now)) == NULL ||
	    a->tokens < 1 ||
	    (g = bucket_get(r, "*", r->global, now)) == NULL)
		goto out;
	a->tokens -= 1;
	g->tokens -= 1;
	ok = 1;
	state_save(r);
out:
	if (lock >= 0)
		close(lock);
	return ok;
}

/* DIR/<time>.<pid>.<n>.eml, made under another name and renamed, so a
 * reader of DIR never sees half a report. */
static int
deliver_dir(struct dkr_send *r, const char *msg)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%lld.%ld.%zu.eml", r->dir,
	    (long long)time(NULL), (long)getpid(), r->written++);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "wx")) == NULL) {
		dkr_warn(r, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fputs(msg, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		dkr_warn(r, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* sendmail -t -f '': recipients from To:, the null envelope sender
 * (RFC 6651 5: reports must not bounce back into a loop).  The message
 * goes with LF line ends, as a local submission takes it. */
static int
deliver_sendmail(const struct dkr_send *r, const char *msg)
{
	const char *path = r->sendmail ? r->sendmail : "/usr/sbin/sendmail";
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int fd[2], status;
	bool werr;
	pid_t pid;
	FILE *f;
	const char *p;

	if (pipe(fd) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[0], 0);
		close(fd[0]);
		close(fd[1]);
		/* -i: a line of a lone "." is text, not the end */
		execl(path, path, "-i", "-t", "-f", "", (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	if ((f = fdopen(fd[1], "w")) == NULL) {
		close(fd[1]);
		waitpid(pid, &status, 0);
		return -1;
	}
	/* A sendmail that exits early must not kill the verifier with
	 * SIGPIPE: the write fails (EPIPE) and the report is failed. */
	sigaction(SIGPIPE, &ign, &old);
	for (p = msg; *p != '\0'; p++)
		if (!(*p == '\r' && p[1] == '\n'))
			putc(*p, f);
	werr = ferror(f) != 0;
	werr = fclose(f) != 0 || werr;
	sigaction(SIGPIPE, &old, NULL);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || werr) {
		dkr_warn(r, "%s: the report was not accepted", path);
		return -1;
	}
	return 0;
}

/* HOST:PORT, or [IPv6]:PORT. */
static int
smtp_connect(const char *hostport)
{
	char host[256], *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { 30, 0 };
	int fd = -1;

	if (strlen(hostport) >= sizeof(host))
		return -1;
	strcpy(host, hostport);
	if ((port = strrchr(host, ':')) == NULL)
		return -1;
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, 0)) < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* The code of the server's next reply (its last line has a space after
 * the code), or -1. */
static int
smtp_reply(FILE *in, char *last, size_t lastlen)
{
	char line[1024];

	while (fgets(line, sizeof(line), in) != NULL) {
		if (strlen(line) < 4 || line[0] < '2' || line[0] > '5')
			return -1;
		if (line[3] == '-')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		snprintf(last, lastlen, "%s", line);
		return atoi(line);
	}
	return -1;
}

static int
smtp_step(FILE *io, int want, char *last, size_t lastlen, const char *fmt,
    const char *arg)
{
	int code;

	if (fmt != NULL) {
		fprintf(io, fmt, arg);
		if (fflush(io) != 0)
			return -1;
	}
	code = smtp_reply(io, last, lastlen);
	return code / 100 == want / 100 ? 0 : -1;
}

/* The message, CRLF lines, a leading dot doubled (RFC 5321 4.5.2). */
static int
smtp_data(FILE *io, const char *msg)
{
	const char *p = msg;
	int bol = 1;

	for (; *p != '\0'; p++) {
		if (bol && *p == '.')
			putc('.', io);
		putc(*p, io);
		bol = *p == '\n';
	}
	if (!bol)
		fputs("\r\n", io);
	fputs(".\r\n", io);
	return fflush(io);
}

static int
dkr_smtp(const struct dkr_send *r, const char *hostport, const char *helo,
    const char *to, const char *msg)
{
	char last[1024] = "";
	FILE *io;
	int fd, rc = -1;

	if ((fd = smtp_connect(hostport)) < 0) {
		dkr_warn(r, "%s: cannot connect", hostport);
		return -1;
	}
	if ((io = fdopen(fd, "r+")) == NULL) {
		close(fd);
		return -1;
	}
	if (smtp_step(io, 220, last, sizeof(last), NULL, NULL) == 0 &&
	    smtp_step(io, 250, last, sizeof(last), "EHLO %s\r\n", helo) == 0 &&
	    smtp_step(io, 250, last, sizeof(last), "MAIL FROM:<>%s\r\n", "") ==
	    0 &&
	    smtp_step(io, 250, last, sizeof(last), "RCPT TO:<%s>\r\n", to) ==
	    0 &&
	    smtp_step(io, 354, last, sizeof(last), "DATA\r\n%s", "") == 0 &&
	    smtp_data(io, msg) == 0 &&
	    smtp_step(io, 250, last, sizeof(last), NULL, NULL) == 0)
		rc = 0;
	else
		dkr_warn(r, "%s: report to %s refused: %s", hostport, to,
		    *last ? last : "no reply");
	fputs("QUIT\r\n", io);
	fclose(io);
	return rc;
}

const char *
dkr_deliver(struct dkr_send *r, dkk_reports *plan, size_t i,
    const struct dkk_report_info *info)
{
	const struct dkk_report_req *q = dkk_reports_get(plan, i);
	char *msg = NULL;
	int rc;

	if (q->sampled_out)
		return "sampled_out";
	if (suppressed(r, q->to))
		return "suppressed";
	if (!rate_ok(r, q->to))
		return "rate_limited";
	if ((rc = dkk_report_build(plan, i, info, &msg)) != DKK_OK) {
		dkr_warn(r, "report to %s: %s", q->to, dkk_strerror(rc));
		return "failed";
	}
	/* RFC 7489 6.2 "!size": a report over the destination's cap is
	 * not sent (dkimkit writes no shortened copy). */
	if (q->max_bytes > 0 && strlen(msg) > q->max_bytes) {
		free(msg);
		return "too_large";
	}
	if (r->dir != NULL)
		rc = deliver_dir(r, msg);
	else if (r->smtp != NULL)
		rc = dkr_smtp(r, r->smtp, info->authserv_id, q->to, msg);
	else
		rc = deliver_sendmail(r, msg);
	free(msg);
	if (rc != 0)
		return "failed";
	return r->dir != NULL ? "written" : "sent";
}


int
dkr_open(struct dkr_send *r)
{
	if (r->per_addr == 0)
		r->per_addr = 1;	/* issue #22: one an hour */
	if (r->global == 0)
		r->global = 100;
	/* The state is read under its lock at each decision (rate_ok);
	 * here only whether it can be: a limit that cannot be kept is
	 * said at once. */
	if (r->state != NULL && state_load(r) != 0) {
		buckets_clear(r);
		return -1;
	}
	if (suppress_load(r) != 0) {
		dkr_close(r);
		return -1;
	}
	return 0;
}

void
dkr_close(struct dkr_send *r)
{
	size_t i;

	/* with a state file each decision saved it under the lock */
	if (r->state == NULL)
		state_save(r);
	buckets_clear(r);
	for (i = 0; i < r->nsuppressed; i++)
		free(r->suppressed[i]);
	free(r->suppressed);
	r->suppressed = NULL;
	r->nsuppressed = 0;
}

char *
dkr_slurp(const char *path, size_t *len)
{
	return slurp(path, len);
}
