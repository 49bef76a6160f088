/* Timing helpers shared by the benchmarks: a monotonic clock and sorting
 * of samples. Header-only; the benchmarks are single files. */
#ifndef WL_BENCH_CLOCK_H
#define WL_BENCH_CLOCK_H

#include <stdlib.h>
#include <time.h>

/* Monotonic time in milliseconds. */
static inline double bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Monotonic time in seconds. */
static inline double bench_now_s(void)
{
	return bench_now_ms() / 1e3;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts n samples in place, smallest first. */
static inline void bench_sort(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
}

#endif
