/*
 * policy.c: the signing policies (opendkim.conf) of an Exim process, read
 * once and read again when their files change.
 *
 * Exim keeps the module for the life of a process: an SMTP connection
 * (the DATA ACL of each of its messages), a queue run, a delivery.  Each
 * configuration named by a sign call is read with dks_policy() the first
 * time and kept.  On every later call the files it was read from are
 * stat()ed (a handful of system calls, no reading): when the device,
 * inode, size or modification time of any of them differs, it is read
 * again.  A configuration that no longer reads keeps the one before in
 * use, with a main-log line saying why, once per change.
 *
 * Which files: the configuration itself and every value in it that looks
 * like a path (a '/' in it, after a file: or refile: prefix).  The core
 * reads the data sets; this only needs to know where to look, and taking
 * any path-like value watches a data set of a setting the core learns
 * later without a change here (a value that is no file, such as
 * Canonicalization's relaxed/simple, is watched as absent, harmlessly).
 * Keys named in a KeyTable are not watched: the core loads them when a
 * message first needs them and keeps them with the configuration.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exim.h"

/* Files watched per configuration; more are ignored (the configuration
 * itself is always first). */
#define POLICY_MAX_FILES 64
#define POLICY_LINE 4096

struct pfile {
	char *path;
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct pent {
	struct pent *next;
	char *conf;
	dkk_policy *p;		/* in use; NULL until one has read */
	struct pfile files[POLICY_MAX_FILES];
	size_t nfiles;		/* 0: never read */
	char err[512];		/* why the last reading failed, or "" */
};

static struct pent *policies;

/* The state of f's file now, into f. */
static void
pfile_stat(struct pfile *f)
{
	struct stat st;

	f->exists = stat(f->path, &st) == 0;
	if (!f->exists) {
		f->dev = 0;
		f->ino = 0;
		f->size = 0;
		memset(&f->mtime, 0, sizeof(f->mtime));
		return;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
}

static int
pfile_changed(const struct pfile *f)
{
	struct pfile now;

	now.path = f->path;
	pfile_stat(&now);
	return now.exists != f->exists || now.dev != f->dev ||
	    now.ino != f->ino || now.size != f->size ||
	    now.mtime.tv_sec != f->mtime.tv_sec ||
	    now.mtime.tv_nsec != f->mtime.tv_nsec;
}

static int
pent_changed(const struct pent *e)
{
	size_t i;

	if (e->nfiles == 0)
		return 1;
	for (i = 0; i < e->nfiles; i++)
		if (pfile_changed(&e->files[i]))
			return 1;
	return 0;
}

static void
pent_forget_files(struct pent *e)
{
	size_t i;

	for (i = 0; i < e->nfiles; i++)
		free(e->files[i].path);
	e->nfiles = 0;
}

static int
pent_watch(struct pent *e, const char *path)
{
	size_t i;

	for (i = 0; i < e->nfiles; i++)
		if (strcmp(e->files[i].path, path) == 0)
			return 0;
	if (e->nfiles == POLICY_MAX_FILES)
		return 0;
	if ((e->files[e->nfiles].path = strdup(path)) == NULL)
		return -1;
	e->nfiles++;
	return 0;
}

/* The path a configuration line's value names, or NULL: "Name value",
 * value perhaps "file:PATH" or "refile:PATH".  line is changed. */
static const char *
policy_line_path(char *line)
{
	char *v, *end;

	line[strcspn(line, "#\r\n")] = '\0';
	v = line + strspn(line, " \t");
	v += strcspn(v, " \t");
	v += strspn(v, " \t");
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strncmp(v, "file:", 5) == 0)
		v += 5;
	else if (strncmp(v, "refile:", 7) == 0)
		v += 7;
	return strchr(v, '/') != NULL ? v : NULL;
}

/* The files to watch: the configuration and what it names, with their
 * state taken now, before they are read (a change while they are read
 * shows at the next call). */
static int
pent_files(struct pent *e)
{
	char line[POLICY_LINE];
	const char *path;
	size_t i;
	FILE *f;
	int rc = 0;

	pent_forget_files(e);
	if (pent_watch(e, e->conf) != 0)
		return -1;
	if ((f = fopen(e->conf, "r")) != NULL) {
		while (rc == 0 && fgets(line, sizeof(line), f) != NULL)
			if ((path = policy_line_path(line)) != NULL)
				rc = pent_watch(e, path);
		fclose(f);
	}
	for (i = 0; i < e->nfiles; i++)
		pfile_stat(&e->files[i]);
	return rc;
}

/* The warnings of a configuration just read, one main-log line each:
 * settings it does not use are named, never silently dropped. */
static void
policy_warning(void *arg, const char *warning)
{
	log_write(0, LOG_MAIN, "dkimkit: policy %s: warning: %s",
	    (const char *)arg, warning);
}

/* Read e's configuration again; on failure keep what was in use. */
static void
pent_load(struct pent *e)
{
	static const char *const spell[DKS_NKEYS] = {
		[DKS_OPENDKIM_CONF] = "opendkim-conf"
	};
	dkk_policy *p = NULL;
	struct dks s;
	dkk_ctx *ctx;
	uschar *why = NULL;

	e->err[0] = '\0';
	if (pent_files(e) != 0) {
		snprintf(e->err, sizeof(e->err), "%s: %s", e->conf,
		    strerror(ENOMEM));
	} else if ((ctx = ctx_get(&why)) == NULL) {
		snprintf(e->err, sizeof(e->err), "%s", why != NULL ?
		    CCS why : "no context");
	} else {
		dks_init(&s, spell);
		if (dks_set(&s, DKS_OPENDKIM_CONF, e->conf) < 0 ||
		    dks_policy(&s, ctx, &p, policy_warning, e->conf) < 0)
			snprintf(e->err, sizeof(e->err), "%s", s.err);
	}
	if (e->err[0] != '\0') {
		log_write(0, LOG_MAIN, "dkimkit: policy %s: %s; %s", e->conf,
		    e->err, e->p != NULL ? "keeping the configuration read "
		    "before" : "no configuration: mail passes unsigned");
		return;
	}
	if (e->p != NULL)
		log_write(0, LOG_MAIN, "dkimkit: policy %s: read again "
		    "(a file changed)", e->conf);
	dkk_policy_free(e->p);
	e->p = p;
}

static struct pent *
pent_find(const char *conf)
{
	struct pent *e;

	for (e = policies; e != NULL; e = e->next)
		if (strcmp(e->conf, conf) == 0)
			return e;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->conf = strdup(conf)) == NULL) {
		free(e);
		return NULL;
	}
	e->next = policies;
	policies = e;
	return e;
}

dkk_policy *
policy_get(const char *conf, const char **why)
{
	struct pent *e;

	if ((e = pent_find(conf)) == NULL) {
		*why = strerror(ENOMEM);
		return NULL;
	}
	if (pent_changed(e))
		pent_load(e);
	*why = e->err[0] != '\0' ? e->err : "no configuration";
	return e->p;
}
