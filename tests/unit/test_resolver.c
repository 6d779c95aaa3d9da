/*
 * test_resolver.c: the libunbound resolver (core/dns/resolver.c) leaves no
 * descriptor for a child process to inherit: every descriptor it opens
 * is close-on-exec, and after a lookup cancelled at its deadline nothing
 * of libunbound's stays open (its worker would go on retrying).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "unit.h"

#define FD_SEEN 1024

static const char unsigned_msg[] =
    "From: Alice <alice@example.test>\r\n"
    "To: bob@example.net\r\n"
    "Subject: descriptors\r\n"
    "\r\n"
    "Hello.\r\n";

/* Which descriptors below FD_SEEN are open, from /proc/self/fd. */
static void
fds_open(bool open[FD_SEEN])
{
	struct dirent *d;
	DIR *dir;
	int fd;

	memset(open, 0, FD_SEEN * sizeof(open[0]));
	dir = opendir("/proc/self/fd");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	while ((d = readdir(dir)) != NULL) {
		fd = atoi(d->d_name);
		if (d->d_name[0] != '.' && fd != dirfd(dir) && fd < FD_SEEN)
			open[fd] = true;
	}
	closedir(dir);
}

/* How many descriptors are open now that were not in before; *inherit:
 * how many of those lack FD_CLOEXEC. */
static int
fds_new(const bool before[FD_SEEN], int *inherit)
{
	bool now[FD_SEEN];
	int fd, n = 0;

	fds_open(now);
	*inherit = 0;
	for (fd = 0; fd < FD_SEEN; fd++) {
		if (!now[fd] || before[fd])
			continue;
		n++;
		if ((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0)
			(*inherit)++;
	}
	return n;
}

/* A resolver on fd answering NXDOMAIN to every query, in a child process;
 * its pid. */
static pid_t
nxdomain_server(int fd)
{
	struct sockaddr_storage from;
	unsigned char pkt[512];
	socklen_t len;
	ssize_t n;
	pid_t pid;

	if ((pid = fork()) != 0)
		return pid;
	for (;;) {
		len = sizeof(from);
		n = recvfrom(fd, pkt, sizeof(pkt), 0,
		    (struct sockaddr *)&from, &len);
		if (n < 12)
			continue;
		pkt[2] |= 0x80;			/* QR: a response */
		pkt[3] = 0x80 | 3;		/* RA, RCODE 3: NXDOMAIN */
		(void)sendto(fd, pkt, (size_t)n, 0, (struct sockaddr *)&from,
		    len);
	}
}

/* Verify the unsigned message with ADSP on; its ADSP result. */
static enum dkk_adsp
adsp_of(dkk_ctx *ctx)
{
	static const struct dkk_verify_opts with_adsp = { .adsp = 1 };
	enum dkk_adsp a = DKK_ADSP_NONE;
	dkk_verifier *v;

	CU_ASSERT_EQUAL_FATAL(dkk_verifier_new(ctx, &with_adsp, &v), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_update(v, unsigned_msg,
	    strlen(unsigned_msg)), DKK_OK);
	CU_ASSERT_EQUAL(dkk_verifier_wait(v), DKK_OK);
	a = dkk_verifier_adsp(v, NULL);
	dkk_verifier_free(v);
	return a;
}

static dkk_ctx *
ctx_dns(unsigned port, unsigned timeout_ms)
{
	char server[64];
	dkk_ctx *ctx;

	snprintf(server, sizeof(server), "127.0.0.1@%u", port);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_new(&ctx), DKK_OK);
	CU_ASSERT_EQUAL_FATAL(dkk_ctx_use_dns(ctx, server, NULL, timeout_ms),
	    DKK_OK);
	return ctx;
}

/* The first lookups, answered: the socketpairs made with the context and
 * the worker's event base made with the first query are all marked. */
static void
resolver_answered_cloexec(void)
{
	bool before[FD_SEEN];
	unsigned port = 0;
	int fd, n, inherit, status;
	dkk_ctx *ctx;
	pid_t pid;

	fd = unit_udp_loopback(&port);
	CU_ASSERT_FATAL(fd != -1);
	pid = nxdomain_server(fd);
	CU_ASSERT_FATAL(pid > 0);
	close(fd);
	fds_open(before);
	ctx = ctx_dns(port, 3000);
	n = fds_new(before, &inherit);
	CU_ASSERT(n >= 4);		/* two socketpairs */
	CU_ASSERT_EQUAL(inherit, 0);
	CU_ASSERT_EQUAL(adsp_of(ctx), DKK_ADSP_NXDOMAIN);
	n = fds_new(before, &inherit);
	CU_ASSERT(n >= 5);		/* and the worker's */
	CU_ASSERT_EQUAL(inherit, 0);
	dkk_ctx_free(ctx);
	CU_ASSERT_EQUAL(fds_new(before, &inherit), 0);
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
}

/* A resolver that never answers: after the deadline the lookup is
 * temperror and libunbound's context, whose worker would keep retrying
 * with sockets of its own, is gone; the next lookup makes it again. */
static void
resolver_timeout_leaves_nothing(void)
{
	bool before[FD_SEEN];
	unsigned port = 0;
	int silent, inherit;
	dkk_ctx *ctx;

	silent = unit_udp_loopback(&port);
	CU_ASSERT_FATAL(silent != -1);
	fds_open(before);
	ctx = ctx_dns(port, 300);
	CU_ASSERT_EQUAL(adsp_of(ctx), DKK_ADSP_TEMPERROR);
	CU_ASSERT_EQUAL(fds_new(before, &inherit), 0);
	CU_ASSERT_EQUAL(adsp_of(ctx), DKK_ADSP_TEMPERROR);
	CU_ASSERT_EQUAL(fds_new(before, &inherit), 0);
	dkk_ctx_free(ctx);
	close(silent);
}

void
suite_resolver(void)
{
	static const struct unit_test tests[] = {
		{ "answered_cloexec", resolver_answered_cloexec },
		{ "timeout_leaves_nothing", resolver_timeout_leaves_nothing },
		{ NULL, NULL }
	};

	unit_suite("resolver", tests);
}
