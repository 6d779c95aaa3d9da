/*
 * queue.h: a bounded FIFO of pointers, without locking (the store holds
 * its mutex around it).  Full means refused, never waited on.
 */
#ifndef DKST_QUEUE_H
#define DKST_QUEUE_H

#include <stddef.h>

struct dkst_queue {
	void **slot;
	size_t max, head, len;
};

/* 0, or -1 when out of memory. */
int dkst_queue_init(struct dkst_queue *q, size_t max);
void dkst_queue_clear(struct dkst_queue *q);
/* 0 queued, -1 full (p not taken). */
int dkst_queue_push(struct dkst_queue *q, void *p);
/* Up to max of the oldest into out: how many. */
size_t dkst_queue_take(struct dkst_queue *q, void **out, size_t max);

#endif
