/*
 * spool.c: hand the message Exim is working on to the core: the header
 * fields from header_list, then the body from the spool's -D file.
 *
 * The -D file is read through the descriptor Exim already holds, with
 * pread(), and never closed here.  Exim marks a message as busy with an
 * fcntl() lock on that file, and POSIX drops all of a process's locks on a
 * file when any descriptor for it is closed: opening and closing our own
 * descriptor would let a queue runner deliver the message twice.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "exim.h"

/* Big enough to keep the read calls few, small enough for any stack of
 * Exim's; static because Exim is single-threaded. */
static unsigned char spool_buf[64 * 1024];

/* Our own descriptor, used only when Exim holds none (e.g. exim -be); kept
 * open for the reason at the top, closed when another message comes. */
static int spool_own_fd = -1;
static char *spool_own_id;

/* Whether two fields have the same name. */
static int
spool_same_name(const header_line *a, const header_line *b)
{
	const char *ca = memchr(a->text, ':', (size_t)a->slen);
	const char *cb = memchr(b->text, ':', (size_t)b->slen);
	size_t n;

	if (ca == NULL || cb == NULL)
		return 0;
	n = (size_t)(ca - CCS a->text);
	return n == (size_t)(cb - CCS b->text) &&
	    strncasecmp(CCS a->text, CCS b->text, n) == 0;
}

/* Whether to feed h: the fields as they will go out (signing), or as they
 * came in (verifying).  Exim marks a field it will not pass on with '*'
 * (htype_old): one its rewrite rules replaced, with the rewritten copy
 * right after it, or a Return-Path, Envelope-to or Delivery-date it
 * drops (fields the ACLs remove are marked only when the ACL ends).  A
 * signature covers the original, so a verifier reads it and not the
 * copy. */
static int
spool_wanted(const header_line *h, const header_line *prev, int received)
{
	if (h->slen <= 0)
		return 0;
	if (!received)
		return h->type != '*';
	return h->type == '*' || prev == NULL || prev->type != '*' ||
	    !spool_same_name(prev, h);
}

int
spool_headers(spool_update_fn update, void *obj, int received,
    uschar **yield)
{
	const header_line *h, *prev = NULL;
	int rc;

	for (h = header_list; h != NULL; prev = h, h = h->next) {
		if (!spool_wanted(h, prev, received))
			continue;
		if ((rc = update(obj, h->text, (size_t)h->slen)) != DKK_OK)
			return exim_fail(yield, "header", dkk_strerror(rc));
	}
	if ((rc = update(obj, "\n", 1)) != DKK_OK)
		return exim_fail(yield, "header", dkk_strerror(rc));
	return OK;
}

/* $spool_directory/[$queue_name/]input/[SUBDIR/]ID-D; SUBDIR is the sixth
 * character of the id when split_spool_directory is set, an option that
 * dlfuncs cannot read, so both places are tried. */
static int
spool_path(char *path, size_t size, int split)
{
	const uschar *dir = expand_string(US"$spool_directory");
	const uschar *queue = expand_string(US"$queue_name");
	int n;

	if (dir == NULL || queue == NULL || message_id == NULL ||
	    strlen(CCS message_id) < 6)
		return -1;
	if (split)
		n = snprintf(path, size, "%s/%s%sinput/%c/%s-D", dir, queue,
		    *queue != '\0' ? "/" : "", message_id[5], message_id);
	else
		n = snprintf(path, size, "%s/%s%sinput/%s-D", dir, queue,
		    *queue != '\0' ? "/" : "", message_id);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* A descriptor of this process, open for reading, on the file st names. */
static int
spool_exim_fd(const struct stat *st)
{
	struct stat fst;
	struct dirent *d;
	DIR *dir;
	int fd, found = -1, fl;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (found < 0 && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		fd = atoi(d->d_name);
		if (fd == dirfd(dir) || fstat(fd, &fst) != 0 ||
		    fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
			continue;
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_ACCMODE) != O_WRONLY)
			found = fd;
	}
	closedir(dir);
	return found;
}

static int
spool_own(const char *path)
{
	if (spool_own_fd >= 0 && strcmp(spool_own_id, CCS message_id) == 0)
		return spool_own_fd;
	if (spool_own_fd >= 0)
		close(spool_own_fd);
	spool_own_fd = -1;
	free(spool_own_id);
	if ((spool_own_id = strdup(CCS message_id)) == NULL)
		return -1;
	spool_own_fd = open(path, O_RDONLY | O_CLOEXEC);
	return spool_own_fd;
}

static int
spool_open(uschar **yield)
{
	char path[PATH_MAX], split[PATH_MAX];
	struct stat st;
	int fd, err;

	if (spool_path(path, sizeof(path), 0) != 0)
		return exim_fail(yield, "spool", "no message (use it in "
		    "acl_smtp_data or a transport)"), -1;
	if (stat(path, &st) != 0) {
		err = errno;
		if (err != ENOENT || spool_path(split, sizeof(split), 1) != 0 ||
		    stat(split, &st) != 0)
			return exim_fail(yield, path, strerror(err)), -1;
		memcpy(path, split, sizeof(path));
	}
	if ((fd = spool_exim_fd(&st)) < 0 && (fd = spool_own(path)) < 0)
		return exim_fail(yield, path, strerror(errno)), -1;
	return fd;
}

/* Where the body starts in the -D file: after its first line, the
 * message id and "-D".  Exim 4.96's ids have 16 characters, 4.97's 23,
 * and 4.97 still reads spool files of the old ids: the offset is taken
 * from the file (checked against message_id), not from local_scan.h's
 * SPOOL_DATA_START_OFFSET of the Exim built against.  -1 when the first
 * line is not this message's. */
static off_t
spool_data_start(int fd, uschar **yield)
{
	char line[128];
	size_t idlen = strlen(CCS message_id);
	ssize_t n;

	do
		n = pread(fd, line, sizeof(line), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return exim_fail(yield, "spool", strerror(errno)), -1;
	if ((size_t)n < idlen + 3 || memcmp(line, message_id, idlen) != 0 ||
	    memcmp(line + idlen, "-D\n", 3) != 0)
		return exim_fail(yield, "spool", CCS string_sprintf("the -D "
		    "file does not start with \"%s-D\"", message_id)), -1;
	return (off_t)(idlen + 3);
}

static int
spool_body(spool_update_fn update, void *obj, uschar **yield)
{
	off_t off;
	ssize_t n;
	int fd, rc;

	if ((fd = spool_open(yield)) < 0 ||
	    (off = spool_data_start(fd, yield)) < 0)
		return FAIL;
	while ((n = pread(fd, spool_buf, sizeof(spool_buf), off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return exim_fail(yield, "spool", strerror(errno));
		if ((rc = update(obj, spool_buf, (size_t)n)) != DKK_OK)
			return exim_fail(yield, "body", dkk_strerror(rc));
		off += n;
	}
	return OK;
}

/* Feed the whole message: the fields (as received, or as they will go
 * out), the blank line, the body. */
int
spool_feed(spool_update_fn update, void *obj, int received, uschar **yield)
{
	int rc;

	if ((rc = spool_headers(update, obj, received, yield)) != OK)
		return rc;
	return spool_body(update, obj, yield);
}
