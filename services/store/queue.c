/*
 * queue.c: the bounded FIFO between dkst_put() and the writer.
 */
#include <stdlib.h>

#include "queue.h"

int
dkst_queue_init(struct dkst_queue *q, size_t max)
{
	q->head = q->len = 0;
	q->max = max;
	q->slot = calloc(max, sizeof(*q->slot));
	return q->slot != NULL ? 0 : -1;
}

void
dkst_queue_clear(struct dkst_queue *q)
{
	free(q->slot);
	q->slot = NULL;
	q->max = q->head = q->len = 0;
}

int
dkst_queue_push(struct dkst_queue *q, void *p)
{
	if (q->len == q->max)
		return -1;
	q->slot[(q->head + q->len) % q->max] = p;
	q->len++;
	return 0;
}

size_t
dkst_queue_take(struct dkst_queue *q, void **out, size_t max)
{
	size_t n = 0;

	while (n < max && q->len > 0) {
		out[n++] = q->slot[q->head];
		q->head = (q->head + 1) % q->max;
		q->len--;
	}
	return n;
}
