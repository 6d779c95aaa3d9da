/*
 * spool.c: the lines of a message held back until its new header is
 * known.  Small messages stay in memory; past SPOOL_MEMMAX the lines move
 * to an unlinked temporary file, so memory stays flat whatever the size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"

#define SPOOL_MEMMAX	(64 * 1024)

static FILE *
spool_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	FILE *f;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.XXXXXX", dir,
	    FILTER_NAME) >= sizeof(path))
		return NULL;
	if ((fd = mkstemp(path)) == -1)
		return NULL;
	unlink(path);
	if ((f = fdopen(fd, "w+")) == NULL)
		close(fd);
	return f;
}

/* Move the lines held in memory to a file. */
static int
spool_spill(struct spool *sp)
{
	if ((sp->f = spool_tmpfile()) == NULL) {
		log_warnx("temporary file: %s", strerror(errno));
		return -1;
	}
	if (fwrite(sp->mem, 1, sp->len, sp->f) != sp->len) {
		log_warnx("temporary file: %s", strerror(errno));
		return -1;
	}
	free(sp->mem);
	sp->mem = NULL;
	sp->len = sp->cap = 0;
	return 0;
}

static int
spool_grow(struct spool *sp, size_t need)
{
	size_t cap = sp->cap ? sp->cap : 4096;
	char *p;

	while (cap < need)
		cap *= 2;
	if ((p = realloc(sp->mem, cap)) == NULL)
		return -1;
	sp->mem = p;
	sp->cap = cap;
	return 0;
}

/* Append one line (a newline is added). */
int
spool_put(struct spool *sp, const char *line, size_t len)
{
	if (sp->f == NULL && sp->len + len + 1 > SPOOL_MEMMAX &&
	    spool_spill(sp) == -1)
		return -1;
	if (sp->f != NULL) {
		if (fwrite(line, 1, len, sp->f) != len ||
		    putc('\n', sp->f) == EOF)
			return -1;
		return 0;
	}
	if (sp->len + len + 1 > sp->cap && spool_grow(sp, sp->len + len + 1))
		return -1;
	memcpy(sp->mem + sp->len, line, len);
	sp->mem[sp->len + len] = '\n';
	sp->len += len + 1;
	return 0;
}

static int
spool_each_file(struct spool *sp, int (*fn)(void *, const char *, size_t),
    void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (fflush(sp->f) == EOF || fseek(sp->f, 0, SEEK_SET) == -1)
		return -1;
	while (rc == 0 && (n = getline(&line, &cap, sp->f)) > 0)
		rc = fn(arg, line, (size_t)n - (line[n - 1] == '\n'));
	if (ferror(sp->f))
		rc = -1;
	free(line);
	return rc;
}

/* Each held line to fn, in order, until fn says -1; -1 then, or if some
 * were lost. */
int
spool_each(struct spool *sp, int (*fn)(void *, const char *, size_t),
    void *arg)
{
	char *p, *nl;

	if (sp->f != NULL)
		return spool_each_file(sp, fn, arg);
	for (p = sp->mem; p != NULL && p < sp->mem + sp->len; p = nl + 1) {
		nl = memchr(p, '\n', sp->mem + sp->len - p);
		if (fn(arg, p, (size_t)(nl - p)) == -1)
			return -1;
	}
	return 0;
}

static int
spool_out(void *arg, const char *line, size_t len)
{
	out_dataline(arg, line, len);
	return 0;
}

/* Send every held line to smtpd, in order; -1 if some were lost. */
int
spool_emit(struct spool *sp, const struct session *s)
{
	return spool_each(sp, spool_out, (void *)s);
}

void
spool_clear(struct spool *sp)
{
	free(sp->mem);
	if (sp->f != NULL)
		fclose(sp->f);
	memset(sp, 0, sizeof(*sp));
}
