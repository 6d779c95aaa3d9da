/*
 * harness.h: what the stand-alone benches (bench-arc, bench-dmarc,
 * bench-store) share: their command line, their clock and the median of
 * a round's times.  Each bench times its own operations.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stdbool.h>
#include <stdio.h>

#define BENCH_MAX_ROUNDS 15

struct bench_args {
	bool tiny;		/* --tiny: one round of one repetition */
	int rounds;		/* --rounds N, 1 to BENCH_MAX_ROUNDS (5) */
	const char *out;	/* --out FILE, or NULL: standard output */
};

/* Read "[--tiny] [--rounds N] [--out FILE]"; 0, or 2 after a usage line
 * naming prog on standard error.  A count out of range is the default. */
int bench_args(int argc, char **argv, const char *prog,
    struct bench_args *a);

/* The median of t[0..n-1], which it sorts. */
double bench_median(double *t, int n);

/* The CPU time of the process so far (all its threads), in seconds. */
double bench_cpu_seconds(void);

/* Where the table goes: a->out opened for writing, or standard output;
 * NULL (said on standard error) when the file cannot be made. */
FILE *bench_open(const struct bench_args *a);

#endif
