/* SPDX-License-Identifier: MIT */
/* Helpers shared by the benchmark programs: clocks and fatal error checks. */
#ifndef UIOMMU_BENCHUTIL_H
#define UIOMMU_BENCHUTIL_H

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

static inline void bench_st(struct uiommu_physmem *pm, uint64_t pa,
			    unsigned int size, uint64_t v)
{
	bench_check(uiommu_phys_st(pm, pa, size, v, NULL), "store");
}

#endif /* UIOMMU_BENCHUTIL_H */
