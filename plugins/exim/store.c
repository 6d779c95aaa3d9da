/*
 * store.c: the observation store from Exim's verify (issue #23).
 *
 *   ${dlfunc{SO}{verify}{mx.example.net}{store=sqlite:/var/lib/dkimkit/obs.db}...}
 *
 * Exim forks a process for each SMTP connection and calls verify once
 * per message in it, so the store is opened lazily, once per process,
 * by the first verify that names it, and kept for the process's later
 * messages; its writer thread takes the rows, so a message never waits
 * on the store.  Rows must not be lost when the process ends: an atexit
 * handler flushes the queue and closes the store (exit() is how Exim's
 * receiving process ends in the normal case).  The wait there is bounded
 * by what is queued (a few rows per connection) and by the store's own
 * busy timeout per batch: a locked store loses its rows, counted (one
 * main-log line at exit), rather than holding the process.
 *
 * A process that forks after opening (Exim's receiving process may fork
 * its delivery) gives the child a copy of the handle but not the writer
 * thread: the handler runs only in the process that opened the store,
 * and the child leaves it alone.
 *
 * One store per process: a later verify naming another URI gets its rows
 * dropped with a log line, as the settings are meant to be the same in
 * every ACL.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exim.h"
#include "store.h"

static dkst *obs;
static char *obs_uri;		/* what it was opened with */
static pid_t obs_pid;		/* the process whose writer it is */
static int obs_failed;	/* opening failed: said once */
static int obs_registered;	/* obs_atexit() is */

/* At exit: flush what is queued and close, in the opener only. */
static void
obs_atexit(void)
{
	struct dkst_counts c;

	if (obs == NULL || getpid() != obs_pid)
		return;
	dkst_close(obs, &c);
	obs = NULL;
	if (c.dropped > 0 || c.lost > 0)
		log_write(0, LOG_MAIN, "dkimkit: store: %llu rows written, "
		    "%llu dropped, %llu lost", (unsigned long long)c.written,
		    (unsigned long long)c.dropped, (unsigned long long)c.lost);
}

/* The store of uri, opened once in this process; NULL when it cannot be
 * (said once). */
static dkst *
obs_get(const char *uri)
{
	/* No log callback: it would run in the writer thread, and Exim's
	 * log_write() and store are not thread-safe.  What the writer
	 * drops or loses is said from the counts at exit instead. */
	struct dkst_opts so = { .log = NULL };
	char err[300];

	if (obs != NULL && getpid() != obs_pid) {
		/* inherited over a fork: not ours to use or close */
		obs = NULL;
		free(obs_uri);
		obs_uri = NULL;
		obs_failed = 0;
	}
	if (obs != NULL) {
		if (strcmp(uri, obs_uri) == 0)
			return obs;
		log_write(0, LOG_MAIN, "dkimkit: store: %s is not %s, which "
		    "this process already writes: row dropped", uri,
		    obs_uri);
		return NULL;
	}
	if (obs_failed)
		return NULL;
	if ((obs_uri = strdup(uri)) == NULL ||
	    dkst_open(uri, &so, &obs, err, sizeof(err)) != 0) {
		log_write(0, LOG_MAIN, "dkimkit: store: %s", obs_uri ==
		    NULL ? "out of memory" : err);
		free(obs_uri);
		obs_uri = NULL;
		obs = NULL;
		obs_failed = 1;
		return NULL;
	}
	obs_pid = getpid();
	if (!obs_registered && atexit(obs_atexit) == 0)
		obs_registered = 1;
	return obs;
}

void
exim_store(const dkk_verifier *v, const char *uri,
    const struct dkk_verify_opts *vo, const struct dkk_spf_query *smtp)
{
	struct dkst_facts f = { .seen = time(NULL),
	    .client_ip = smtp->client_ip, .helo = smtp->helo,
	    .mail_from = smtp->mail_from, .adsp = vo->adsp };
	dkst *st;

	if ((st = obs_get(uri)) == NULL)
		return;
	/* SPF was checked when the ACL gave what facts_spf() needs */
	if (smtp->client_ip != NULL && (smtp->helo != NULL ||
	    (smtp->mail_from != NULL && *smtp->mail_from != '\0')))
		f.spf = &vo->spf;
	dkst_put(st, dkst_row_from_verifier(v, &f));
}
