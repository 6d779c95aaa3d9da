/*
 * pool.h: the worker threads of filter-dkimkit (-j), apart from the
 * filter so that a unit test can drive them.  Every function but a job's
 * run is for the main thread.
 */
#ifndef FILTER_POOL_H
#define FILTER_POOL_H

#include <stddef.h>

#include "dkimkit.h"

/* One piece of work; embed it first in a struct of the job's own. */
struct pool_job {
	struct pool_job *next;
	/* In a worker, with the worker's own context: touches only what
	 * the job carries. */
	void (*run)(struct pool_job *, dkk_ctx *);
	/* Back in the main thread (pool_reap), which owns the job again
	 * and frees it. */
	void (*done)(struct pool_job *);
};

int		pool_start(unsigned, char *, size_t);
unsigned	pool_size(void);
int		pool_fd(void);
unsigned	pool_busy(void);
int		pool_submit(struct pool_job *);
void		pool_reap(void);
void		pool_stop(void);

#endif /* FILTER_POOL_H */
