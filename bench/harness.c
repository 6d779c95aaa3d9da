/*
 * harness.c: the stand-alone benches' command line and medians
 * (harness.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

int
bench_args(int argc, char **argv, const char *prog, struct bench_args *a)
{
	int i;

	a->tiny = false;
	a->rounds = 5;
	a->out = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tiny") == 0)
			a->tiny = true;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			a->rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			a->out = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--tiny] [--rounds N] "
			    "[--out FILE]\n", prog);
			return 2;
		}
	}
	if (a->tiny)
		a->rounds = 1;
	else if (a->rounds < 1 || a->rounds > BENCH_MAX_ROUNDS)
		a->rounds = 5;
	return 0;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return (a > c) - (a < c);
}

double
bench_median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(double), cmp_double);
	return t[n / 2];
}

FILE *
bench_open(const struct bench_args *a)
{
	FILE *f;

	if (a->out == NULL)
		return stdout;
	if ((f = fopen(a->out, "w")) == NULL)
		perror(a->out);
	return f;
}

double
bench_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
