/*
 * out.c: every line filter-dkimkit writes to smtpd.  They are buffered
 * here rather than in stdio, for one reason: a write that a signal
 * interrupts (SIGHUP in -K mode, while smtpd is slow to read) must be
 * retried.  stdio records EINTR as an error and drops the rest of its
 * buffer, and smtpd takes the torn line that follows for a protocol error
 * and stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"

#define OUT_BUFSIZE	(64 * 1024)

static char out_buf[OUT_BUFSIZE];
static size_t out_len;

/* Write all of it, whatever interrupts; smtpd is gone when its end of
 * the pipe cannot be written, and there is nothing left to do. */
static void
out_write(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(STDOUT_FILENO, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			log_warnx("cannot write to smtpd (%s), exiting",
			    strerror(errno));
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

void
out_flush(void)
{
	out_write(out_buf, out_len);
	out_len = 0;
}

static void
out_add(const char *p, size_t n)
{
	if (out_len + n > sizeof(out_buf))
		out_flush();
	if (n > sizeof(out_buf)) {
		out_write(p, n);
		return;
	}
	memcpy(out_buf + out_len, p, n);
	out_len += n;
}

/* "KIND|SESSION|TOKEN|", the start of every reply. */
static void
out_head(const char *kind, uint64_t sid, uint64_t token)
{
	char head[64];
	int n;

	n = snprintf(head, sizeof(head), "%s|%016llx|%016llx|", kind,
	    (unsigned long long)sid, (unsigned long long)token);
	out_add(head, (size_t)n);
}

/* One protocol line, given without its newline. */
void
out_text(const char *line)
{
	out_add(line, strlen(line));
	out_add("\n", 1);
}

/* One data line of len octets, already dot-escaped. */
void
out_dataline(const struct session *s, const char *line, size_t len)
{
	out_head("filter-dataline", s->id, s->token);
	out_add(line, len);
	out_add("\n", 1);
}

/* The length of the longest line of text ("a\n\tb"). */
static size_t
out_longest(const char *text)
{
	size_t n, max = 0;

	for (;;) {
		n = strcspn(text, "\n");
		if (n > max)
			max = n;
		if (text[n] == '\0')
			return max;
		text += n + 1;
	}
}

/* New header lines ("a\n\tb"), one data line each, dot-escaped.  They
 * are checked as the lines from smtpd are: none goes out if one is over
 * OUT_LINEMAX octets (RFC 5322 2.1.1), since smtpd 6.8 would cut one over
 * FILTER_LINE_BACK and deliver a field that says something else.  -1 then,
 * with the length of that line in *longest. */
int
out_lines(const struct session *s, const char *text, size_t *longest)
{
	const char *p = text;
	size_t n;

	if ((*longest = out_longest(text)) > OUT_LINEMAX)
		return -1;
	while (*p != '\0') {
		n = strcspn(p, "\n");
		out_head("filter-dataline", s->id, s->token);
		if (*p == '.')
			out_add(".", 1);
		out_add(p, n);
		out_add("\n", 1);
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return 0;
}

void
out_result(uint64_t sid, uint64_t token, const char *what)
{
	out_head("filter-result", sid, token);
	out_text(what);
}
