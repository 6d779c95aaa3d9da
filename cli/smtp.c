/*
 * smtp.c: hand one report to an SMTP server (RFC 5321): EHLO, then
 * MAIL FROM:<> (the null reverse-path RFC 6651 5 asks for, so nothing
 * bounces back into a loop), one RCPT, DATA with dot-stuffing, QUIT.
 * Every reply is read whole (multi-line replies too) and its code
 * checked; each read and write gives up after 30 s.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

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

int
report_smtp(const char *hostport, const char *helo, const char *to,
    const char *msg)
{
	char last[1024] = "";
	FILE *io;
	int fd, rc = -1;

	if ((fd = smtp_connect(hostport)) < 0) {
		warnx("%s: cannot connect", hostport);
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
		warnx("%s: report to %s refused: %s", hostport, to,
		    *last ? last : "no reply");
	fputs("QUIT\r\n", io);
	fclose(io);
	return rc;
}
