/*
 * cloexec.c: mark close-on-exec the descriptors that a library call
 * opened without FD_CLOEXEC.
 *
 * fdsnap_take() records the descriptors open before the call, each by its
 * number and by the file it refers to (device and inode), so that a number
 * closed and opened again within the call counts as new; fdsnap_mark()
 * compares the table after the call with the record and sets FD_CLOEXEC
 * on every new descriptor.  resolver.c says why libunbound needs this.
 *
 * The table is read from /proc/self/fd (Linux) or /dev/fd; where neither
 * lists descriptors, every number below FD_PROBE_MAX is asked with
 * fstat(), which finds all that a mail server's process usually holds.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "dns.h"

#define FD_PROBE_MAX 1024

struct fdent {
	int fd;
	dev_t dev;
	ino_t ino;
};

typedef int (*fd_fn)(void *arg, int fd, const struct stat *st);

/* Call fn for every open descriptor but the listing's own; stop at the
 * first non-zero return and return it. */
static int
fd_each_listed(DIR *dir, fd_fn fn, void *arg)
{
	struct dirent *d;
	struct stat st;
	char *end;
	long fd;
	int rc = 0;

	while (rc == 0 && (d = readdir(dir)) != NULL) {
		fd = strtol(d->d_name, &end, 10);
		if (end == d->d_name || *end != '\0' || fd < 0 ||
		    fd > INT_MAX || fd == dirfd(dir) ||
		    fstat((int)fd, &st) != 0)
			continue;
		rc = fn(arg, (int)fd, &st);
	}
	return rc;
}

static int
fd_each(fd_fn fn, void *arg)
{
	struct stat st;
	DIR *dir;
	int fd, rc = 0;

	if ((dir = opendir("/proc/self/fd")) != NULL ||
	    (dir = opendir("/dev/fd")) != NULL) {
		rc = fd_each_listed(dir, fn, arg);
		closedir(dir);
		return rc;
	}
	for (fd = 0; rc == 0 && fd < FD_PROBE_MAX; fd++)
		if (fstat(fd, &st) == 0)
			rc = fn(arg, fd, &st);
	return rc;
}

static int
fdsnap_add(void *arg, int fd, const struct stat *st)
{
	struct fdsnap *s = arg;
	struct fdent *v;

	if (s->n == s->cap) {
		s->cap = s->cap > 0 ? s->cap * 2 : 32;
		if ((v = dkk_realloc(s->v, s->cap * sizeof(*v))) == NULL)
			return DKK_ENOMEM;
		s->v = v;
	}
	s->v[s->n].fd = fd;
	s->v[s->n].dev = st->st_dev;
	s->v[s->n].ino = st->st_ino;
	s->n++;
	return 0;
}

static int
fdent_cmp(const void *a, const void *b)
{
	const struct fdent *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

int
fdsnap_take(struct fdsnap *s)
{
	int rc;

	s->v = NULL;
	s->n = s->cap = 0;
	if ((rc = fd_each(fdsnap_add, s)) != 0) {
		fdsnap_free(s);
		return rc;
	}
	qsort(s->v, s->n, sizeof(*s->v), fdent_cmp);
	return DKK_OK;
}

/* Whether fd, referring to st's file, was in the snapshot. */
static bool
fdsnap_had(const struct fdsnap *s, int fd, const struct stat *st)
{
	struct fdent key = { fd, 0, 0 }, *e;

	e = bsearch(&key, s->v, s->n, sizeof(*s->v), fdent_cmp);
	return e != NULL && e->dev == st->st_dev && e->ino == st->st_ino;
}

static int
fdsnap_mark_one(void *arg, int fd, const struct stat *st)
{
	int fl;

	if (!fdsnap_had(arg, fd, st) && (fl = fcntl(fd, F_GETFD)) >= 0 &&
	    (fl & FD_CLOEXEC) == 0)
		(void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	return 0;
}

void
fdsnap_mark(struct fdsnap *s)
{
	(void)fd_each(fdsnap_mark_one, s);
	fdsnap_free(s);
}

void
fdsnap_free(struct fdsnap *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
