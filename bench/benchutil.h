/* SPDX-License-Identifier: MIT */
/* Helpers shared by the benchmark programs: clocks and fatal error checks. */
#ifndef UIOMMU_BENCHUTIL_H
#define UIOMMU_BENCHUTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uiommu/base.h>
#include <uiommu/physmem.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double bench_now_s(void)
{
	return (double)bench_now_ns() * 1e-9;
}

/* A benchmark's setup cannot fail quietly: report and exit. */
static inline void bench_check(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "bench: %s: %s\n", what, uiommu_strerror(ret));
		exit(1);
	}
}

/*
 * A positive numeric argument (an operation count, a scale); anything else
 * is a usage error, never a silent 0 that would time nothing.
 */
static inline double bench_arg_num(const char *prog, const char *arg,
				   const char *usage)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0)) {
		fprintf(stderr, "%s: bad argument '%s'\nusage: %s %s\n", prog,
			arg, prog, usage);
		exit(2);
	}
	return v;
}

static inline void bench_st(struct uiommu_physmem *pm, uint64_t pa,
			    unsigned int size, uint64_t v)
{
	bench_check(uiommu_phys_st(pm, pa, size, v, NULL), "store");
}

#endif /* UIOMMU_BENCHUTIL_H */
