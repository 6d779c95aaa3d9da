/*
 * pool.c: the worker threads of filter-dkimkit (-j).  smtpd runs one
 * filter process for all its sessions, so the work that takes the CPU
 * (the signatures) goes to a few threads while the main thread keeps
 * reading smtpd and answering it.
 *
 * The shape: jobs go into one queue (a mutex and a condition); a worker
 * runs one with a dkk_ctx of its own, puts it on the done list and writes
 * a byte to a pipe; the main loop polls that pipe and pool_reap() hands
 * each finished job back to its done function, in the main thread.  The
 * workers touch nothing but their job and their own context: sessions,
 * output, the resolver, the key cache and the log stay with the main
 * thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

struct pool_worker {
	pthread_t tid;
	dkk_ctx *ctx;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;		/* a job is queued, or stop */
	struct pool_job *head, *tail;	/* to do */
	struct pool_job *done;		/* finished, newest first */
	struct pool_worker *w;
	unsigned n;			/* workers running */
	unsigned out;			/* jobs queued or running */
	int stop;
	int fd[2];			/* done: a byte per wake-up */
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
    NULL, NULL, NULL, 0, 0, 0, { -1, -1 } };

/* Wake the main loop.  A full pipe already will: EAGAIN is fine. */
static void
pool_wake(void)
{
	char c = 0;

	while (write(pool.fd[1], &c, 1) == -1 && errno == EINTR)
		;
}

/* The next job, or NULL when told to stop. */
static struct pool_job *
pool_take(void)
{
	struct pool_job *j;

	pthread_mutex_lock(&pool.lock);
	while (pool.head == NULL && !pool.stop)
		pthread_cond_wait(&pool.more, &pool.lock);
	if ((j = pool.head) != NULL && (pool.head = j->next) == NULL)
		pool.tail = NULL;
	pthread_mutex_unlock(&pool.lock);
	return j;
}

static void
pool_finished(struct pool_job *j)
{
	pthread_mutex_lock(&pool.lock);
	j->next = pool.done;
	pool.done = j;
	pthread_mutex_unlock(&pool.lock);
	pool_wake();
}

static void *
pool_main(void *arg)
{
	struct pool_worker *w = arg;
	struct pool_job *j;

	while ((j = pool_take()) != NULL) {
		j->run(j, w->ctx);
		pool_finished(j);
	}
	return NULL;
}

static int
pool_pipe(char *err, size_t len)
{
	int i;

	if (pipe(pool.fd) == -1) {
		snprintf(err, len, "pipe: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++)
		if (fcntl(pool.fd[i], F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(pool.fd[i], F_SETFD, FD_CLOEXEC) == -1) {
			snprintf(err, len, "pipe: %s", strerror(errno));
			return -1;
		}
	return 0;
}

/* n workers (n < 2: none, the work is done inline).  The signals stay
 * with the main thread: the workers block them all. */
int
pool_start(unsigned n, char *err, size_t len)
{
	sigset_t all, old;
	int rc;

	if (n < 2)
		return 0;
	if (pool_pipe(err, len) == -1)
		return -1;
	if ((pool.w = calloc(n, sizeof(*pool.w))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (pool.n = 0; pool.n < n; pool.n++) {
		if (dkk_ctx_new(&pool.w[pool.n].ctx) != DKK_OK) {
			snprintf(err, len, "out of memory");
			break;
		}
		if ((rc = pthread_create(&pool.w[pool.n].tid, NULL, pool_main,
		    &pool.w[pool.n])) != 0) {
			dkk_ctx_free(pool.w[pool.n].ctx);
			snprintf(err, len, "thread %u: %s", pool.n + 1,
			    strerror(rc));
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pool.n == n ? 0 : -1;
}

unsigned
pool_size(void)
{
	return pool.n;
}

int
pool_fd(void)
{
	return pool.n > 0 ? pool.fd[0] : -1;
}

unsigned
pool_busy(void)
{
	return pool.out;
}

/* Queue j (the main thread no longer touches what it carries).  -1 when
 * there is no pool: do the work inline. */
int
pool_submit(struct pool_job *j)
{
	if (pool.n == 0)
		return -1;
	j->next = NULL;
	pthread_mutex_lock(&pool.lock);
	if (pool.tail != NULL)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pool.out++;
	pthread_cond_signal(&pool.more);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

/* The finished jobs, oldest first, each to its done function. */
void
pool_reap(void)
{
	struct pool_job *list, *back = NULL, *j;
	char buf[256];

	if (pool.n == 0)
		return;
	while (read(pool.fd[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&pool.lock);
	list = pool.done;
	pool.done = NULL;
	pthread_mutex_unlock(&pool.lock);
	while ((j = list) != NULL) {
		list = j->next;
		j->next = back;
		back = j;
	}
	while ((j = back) != NULL) {
		back = j->next;
		pool.out--;
		j->done(j);
	}
}

/* Let the workers finish what is queued, and end them. */
void
pool_stop(void)
{
	unsigned i;

	if (pool.n == 0)
		return;
	pthread_mutex_lock(&pool.lock);
	pool.stop = 1;
	pthread_cond_broadcast(&pool.more);
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < pool.n; i++) {
		pthread_join(pool.w[i].tid, NULL);
		dkk_ctx_free(pool.w[i].ctx);
	}
	pool_reap();
	free(pool.w);
	pool.w = NULL;
	pool.n = 0;
	close(pool.fd[0]);
	close(pool.fd[1]);
	pool.fd[0] = pool.fd[1] = -1;
	pool.stop = 0;
}
