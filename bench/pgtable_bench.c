// SPDX-License-Identifier: MIT
/*
 * I/O page-table benchmark.  One JSON object per line:
 *   {"bench":"pgtable","format":F,"case":C,"ns_per_op":X}
 *
 * Formats: arm-s1-4k, arm-s2-4k, arm-s1-64k, vtd-ss-4level (48-bit input
 * and output each, so every 4K format walks four levels).
 * Cases:
 *   map_unmap_4k  one granule map plus its unmap, tables already present
 *                 (a neighbour stays mapped so the leaf table is kept);
 *   map_1g_2m     ns per 2M block of a 1 GiB map + unmap, one call each
 *                 (64K granule: map_1g_512m, per 512M block);
 *   map_1g_2m_percall  the same with one map and one unmap call per block;
 *   map_1g_4k     ns per granule page of a 1 GiB map + unmap;
 *   iova_to_phys  software lookup of random addresses in a 1 GiB range
 *                 mapped with granule pages;
 *   walk          uiommu_pt_walk() of the same addresses (every descriptor
 *                 read through the physical address space).
 * Each number is the best of several rounds.  Usage: pgtable_bench
 * [rounds] (default 5).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/pgtable.h>
#include <uiommu/physmem.h>

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_SIZE (UINT64_C(256) << 20)
#define G1	 (UINT64_C(1) << 30)
#define IOVA0	 (UINT64_C(1) << 40)	/* away from index 0 at every level */
#define PA0	 (UINT64_C(1) << 36)

struct fmt {
	const char *name;
	enum uiommu_pt_format format;
	unsigned int g;
};

static const struct fmt fmts[] = {
	{ "arm-s1-4k", UIOMMU_PT_ARM_S1, 12 },
	{ "arm-s2-4k", UIOMMU_PT_ARM_S2, 12 },
	{ "arm-s1-64k", UIOMMU_PT_ARM_S1, 16 },
	{ "vtd-ss-4level", UIOMMU_PT_VTD_SS, 12 },
};

static struct uiommu_physmem *pm;
static struct uiommu_phys_pool *pool;
static unsigned int rounds = 5;

static void die(const char *what, int err)
{
	fprintf(stderr, "pgtable_bench: %s: %s\n", what, uiommu_strerror(err));
	exit(1);
}

static void report(const struct fmt *f, const char *c, double ns)
{
	printf("{\"bench\":\"pgtable\",\"format\":\"%s\",\"case\":\"%s\","
	       "\"ns_per_op\":%.2f}\n", f->name, c, ns);
	fflush(stdout);
}

static struct uiommu_pgtable *mk(const struct fmt *f, uint64_t bitmap)
{
	struct uiommu_pgtable_cfg cfg = {
		.format = f->format, .granule_shift = f->g, .ias = 48,
		.oas = 48, .pgsize_bitmap = bitmap,
		.flags = UIOMMU_PGTABLE_NO_CONCAT,
	};
	struct uiommu_pgtable *pt;
	int ret = uiommu_pgtable_create(pm, pool, &cfg, &pt);

	if (ret)
		die("create", ret);
	return pt;
}

#define CHECK(expr)                                   \
	do {                                          \
		int ret_ = (expr);                    \
		if (ret_)                             \
			die(#expr, ret_);             \
	} while (0)

static void bench_map_unmap(const struct fmt *f)
{
	uint64_t gran = UINT64_C(1) << f->g, done, i, n = 1000000;
	struct uiommu_pgtable *pt = mk(f, 0);
	double best = 1e30;
	unsigned int r;

	CHECK(uiommu_pgtable_map(pt, IOVA0, PA0, gran,
				 UIOMMU_PT_PROT_READ, NULL));
	for (r = 0; r < rounds; r++) {
		double t0 = bench_now_ns(), t;

		for (i = 0; i < n; i++) {
			CHECK(uiommu_pgtable_map(pt, IOVA0 + gran, PA0 + gran,
						 gran, UIOMMU_PT_PROT_READ |
						 UIOMMU_PT_PROT_WRITE, NULL));
			CHECK(uiommu_pgtable_unmap(pt, IOVA0 + gran, gran, NULL,
						   &done));
		}
		t = (bench_now_ns() - t0) / (double)n;
		best = t < best ? t : best;
	}
	report(f, "map_unmap_4k", best);
	uiommu_pgtable_destroy(pt);
}

/* 1 GiB map + unmap with pages of @pgsize only; ns per page. */
static void bench_map_1g(const struct fmt *f, uint64_t pgsize,
			 const char *name)
{
	uint64_t gran = UINT64_C(1) << f->g, bitmap = pgsize | gran, done;
	struct uiommu_pgtable *pt = mk(f, bitmap);
	uint64_t i, n = G1 / pgsize, reps = pgsize == gran ? 2 : 200;
	double best = 1e30;
	unsigned int r;

	for (r = 0; r < rounds; r++) {
		double t0 = bench_now_ns(), t;

		for (i = 0; i < reps; i++) {
			CHECK(uiommu_pgtable_map(pt, IOVA0, PA0, G1,
						 UIOMMU_PT_PROT_READ |
						 UIOMMU_PT_PROT_WRITE, NULL));
			CHECK(uiommu_pgtable_unmap(pt, IOVA0, G1, NULL, &done));
			if (done != G1)
				die("unmap size", -EINVAL);
		}
		t = (bench_now_ns() - t0) / (double)(n * reps);
		best = t < best ? t : best;
	}
	report(f, name, best);
	uiommu_pgtable_destroy(pt);
}

/* The same 1 GiB, one map and one unmap call per 2M block (what a
 * driver does that maps block by block); ns per block. */
static void bench_map_1g_percall(const struct fmt *f)
{
	uint64_t blk = UINT64_C(1) << 21, i, n = G1 / blk, done, reps = 100, k;
	struct uiommu_pgtable *pt = mk(f, blk | (UINT64_C(1) << f->g));
	double best = 1e30;
	unsigned int r;

	for (r = 0; r < rounds; r++) {
		double t0 = bench_now_ns(), t;

		for (k = 0; k < reps; k++) {
			for (i = 0; i < n; i++)
				CHECK(uiommu_pgtable_map(pt, IOVA0 + i * blk,
							 PA0 + i * blk, blk,
							 UIOMMU_PT_PROT_READ, NULL));
			for (i = 0; i < n; i++)
				CHECK(uiommu_pgtable_unmap(pt, IOVA0 + i * blk,
							   blk, NULL, &done));
		}
		t = (bench_now_ns() - t0) / (double)(n * reps);
		best = t < best ? t : best;
	}
	report(f, "map_1g_2m_percall", best);
	uiommu_pgtable_destroy(pt);
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void bench_lookup(const struct fmt *f)
{
	uint64_t gran = UINT64_C(1) << f->g, i, n = 2000000, pa, sum = 0;
	struct uiommu_pgtable *pt = mk(f, gran);
	struct uiommu_pgtable_info info;
	struct uiommu_pt_walk_result res;
	struct uiommu_pt_fault fault;
	double best_sw = 1e30, best_hw = 1e30;
	unsigned int r;

	CHECK(uiommu_pgtable_map(pt, IOVA0, PA0, G1, UIOMMU_PT_PROT_READ, NULL));
	uiommu_pgtable_get_info(pt, &info);
	for (r = 0; r < rounds; r++) {
		uint64_t s = 0x9e3779b97f4a7c15ull;
		double t0 = bench_now_ns(), t;

		for (i = 0; i < n; i++) {
			CHECK(uiommu_pgtable_iova_to_phys(pt, IOVA0 +
							  (xorshift(&s) & (G1 - 8)),
							  &pa, NULL));
			sum += pa;
		}
		t = (bench_now_ns() - t0) / (double)n;
		best_sw = t < best_sw ? t : best_sw;

		s = 0x9e3779b97f4a7c15ull;
		t0 = bench_now_ns();
		for (i = 0; i < n; i++) {
			CHECK(uiommu_pt_walk(pm, &info.walk, info.root,
					     IOVA0 + (xorshift(&s) & (G1 - 8)),
					     UIOMMU_PT_ACC_READ, &res, &fault));
			sum += res.pa;
		}
		t = (bench_now_ns() - t0) / (double)n;
		best_hw = t < best_hw ? t : best_hw;
	}
	if (sum == 42)
		printf("\n");	/* keep the loops */
	report(f, "iova_to_phys", best_sw);
	report(f, "walk", best_hw);
	uiommu_pgtable_destroy(pt);
}

int main(int argc, char **argv)
{
	unsigned int i;

	if (argc > 1)
		rounds = (unsigned int)bench_arg_num(argv[0], argv[1], "[ROUNDS]");
	if (!rounds)
		rounds = 1;
	CHECK(uiommu_physmem_create(48, &pm));
	CHECK(uiommu_physmem_add_ram(pm, "ram", RAM_BASE, RAM_SIZE, NULL, NULL));
	CHECK(uiommu_phys_pool_create(pm, RAM_BASE, RAM_SIZE, &pool));
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		const struct fmt *f = &fmts[i];

		bench_map_unmap(f);
		if (f->g == 12) {
			bench_map_1g(f, UINT64_C(1) << 21, "map_1g_2m");
			bench_map_1g_percall(f);
		} else
			bench_map_1g(f, UINT64_C(1) << 29, "map_1g_512m");
		bench_map_1g(f, UINT64_C(1) << f->g,
			     f->g == 12 ? "map_1g_4k" : "map_1g_64k");
		bench_lookup(f);
	}
	uiommu_phys_pool_destroy(pool);
	uiommu_physmem_destroy(pm);
	return 0;
}
