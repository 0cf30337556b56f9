// SPDX-License-Identifier: MIT
/*
 * physmem benchmark: the cost of finding a region and loading a word, as a
 * page-table walker pays it for every table entry.
 *
 * Cases (addresses drawn beforehand, uniformly over the chosen regions):
 *   lookup_{1,4,8,16}region(s): uiommu_phys_host_ptr()
 *   ld8_{1,4,8,16}region(s):    uiommu_phys_ld(8 bytes)
 *   read64_1region:             uiommu_phys_read(64 bytes)
 *   mmio_ld4:                   uiommu_phys_ld(4) of a trivial MMIO device
 *   pool_alloc_free_4k:         a zeroed 4 KiB page from the pool and back
 * 16 regions exceed the per-thread lookup cache (8 ways): that case
 * measures the slow path (reader count + snapshot binary search).  Each
 * case runs with 1 and 2 threads, each thread doing the full count of
 * operations; ns_per_op is per thread.
 *
 * Usage: physmem_bench [case-substring [ops]]
 *
 * Output: one JSON object per line,
 *   {"bench":"physmem","case":C,"threads":T,"ns_per_op":X}
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/physmem.h>

#define NREGIONS	16
#define REGION_SIZE	(UINT64_C(1) << 20)
#define REGION_STRIDE	(UINT64_C(1) << 32)
#define NADDR		4096		/* power of two */
#define OPS_DEFAULT	(4u << 20)

/* Operations per thread and case (argv[2]; fewer under callgrind). */
static unsigned int ops_per_thread = OPS_DEFAULT;

enum bench_op { OP_LOOKUP, OP_LD8, OP_READ64, OP_MMIO_LD4, OP_POOL };

/* The MMIO region: 64 KiB above the RAM regions, a trivial device. */
#define MMIO_BASE	(NREGIONS * REGION_STRIDE)
#define MMIO_SIZE	(UINT64_C(64) << 10)
/* The page pool's RAM, above the device. */
#define POOL_BASE	(MMIO_BASE + REGION_STRIDE)
#define POOL_SIZE	(UINT64_C(16) << 20)

static struct uiommu_phys_pool *pool;

struct bench_case {
	const char *name;
	enum bench_op op;
	unsigned int regions;
};

static const struct bench_case cases[] = {
	{ "lookup_1region", OP_LOOKUP, 1 },
	{ "lookup_4regions", OP_LOOKUP, 4 },
	{ "lookup_8regions", OP_LOOKUP, 8 },
	{ "lookup_16regions", OP_LOOKUP, 16 },
	{ "ld8_1region", OP_LD8, 1 },
	{ "ld8_4regions", OP_LD8, 4 },
	{ "ld8_8regions", OP_LD8, 8 },
	{ "ld8_16regions", OP_LD8, 16 },
	{ "read64_1region", OP_READ64, 1 },
	{ "mmio_ld4", OP_MMIO_LD4, 1 },
	{ "pool_alloc_free_4k", OP_POOL, 1 },
};

/* Written only at the end of a run; aligned so threads share no line. */
struct worker {
	struct uiommu_physmem *pm;
	const struct bench_case *c;
	uint64_t addr[NADDR];
	uint64_t sink;
	double ns;
	int failed;
} __attribute__((aligned(64)));

static int dev_read(void *opaque, uint64_t off, unsigned int size,
		    uint64_t *val, const struct uiommu_memattrs *attrs)
{
	(void)opaque;
	(void)size;
	(void)attrs;
	*val = off;
	return 0;
}

static int dev_write(void *opaque, uint64_t off, unsigned int size,
		     uint64_t val, const struct uiommu_memattrs *attrs)
{
	(void)opaque;
	(void)off;
	(void)size;
	(void)val;
	(void)attrs;
	return 0;
}

static const struct uiommu_mmio_ops dev_ops = { dev_read, dev_write };
static const struct uiommu_mmio_desc dev_desc = {
	.name = "dev", .size = MMIO_SIZE, .ops = &dev_ops,
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *run(void *opaque)
{
	struct worker *w = opaque;
	uint64_t sink = 0, v = 0;
	uint8_t buf[64];
	int failed = 0;
	double t0;
	unsigned int i;

	t0 = bench_now_ns();
	switch (w->c->op) {
	case OP_LOOKUP:
		for (i = 0; i < ops_per_thread; i++)
			sink += (uintptr_t)uiommu_phys_host_ptr(
				w->pm, w->addr[i & (NADDR - 1)], 8);
		break;
	case OP_LD8:
		for (i = 0; i < ops_per_thread; i++) {
			failed |= uiommu_phys_ld(w->pm,
						    w->addr[i & (NADDR - 1)], 8,
						    &v, NULL);
			sink += v;
		}
		break;
	case OP_MMIO_LD4:
		for (i = 0; i < ops_per_thread; i++) {
			failed |= uiommu_phys_ld(w->pm, MMIO_BASE +
				(w->addr[i & (NADDR - 1)] & (MMIO_SIZE - 4)),
				4, &v, NULL);
			sink += v;
		}
		break;
	case OP_POOL:
		for (i = 0; i < ops_per_thread; i++) {
			failed |= uiommu_phys_pool_alloc(pool, 4096, &v);
			failed |= uiommu_phys_pool_free(pool, v, 4096);
		}
		break;
	case OP_READ64:
		for (i = 0; i < ops_per_thread; i++) {
			failed |= uiommu_phys_read(w->pm,
					w->addr[i & (NADDR - 1)] & ~UINT64_C(63),
					buf, sizeof(buf), NULL);
			sink += buf[i & 63];
		}
		break;
	}
	w->ns = (bench_now_ns() - t0) / ops_per_thread;
	w->sink = sink;
	w->failed = failed;
	return NULL;
}

static int run_case(struct uiommu_physmem *pm, const struct bench_case *c,
		    unsigned int nthreads)
{
	struct worker *w = calloc(nthreads, sizeof(*w));
	pthread_t tid[2];
	double total = 0;
	unsigned int t, i;
	int failed = 0;

	if (!w)
		return -1;
	for (t = 0; t < nthreads; t++) {
		uint64_t seed = 0x9e3779b97f4a7c15ull * (t + 1);

		w[t].pm = pm;
		w[t].c = c;
		for (i = 0; i < NADDR; i++) {
			uint64_t r = xorshift(&seed) % c->regions;
			uint64_t off = xorshift(&seed) % REGION_SIZE;

			w[t].addr[i] = r * REGION_STRIDE + (off & ~UINT64_C(7));
		}
	}
	for (t = 0; t < nthreads; t++)
		if (pthread_create(&tid[t], NULL, run, &w[t]))
			return -1;
	for (t = 0; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		total += w[t].ns;
		failed |= w[t].failed;
	}
	printf("{\"bench\":\"physmem\",\"case\":\"%s\",\"threads\":%u,"
	       "\"ns_per_op\":%.2f}\n", c->name, nthreads, total / nthreads);
	free(w);
	return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : "";
	struct uiommu_physmem *pm;
	unsigned int r, c, t;
	int ret = 0;

	if (uiommu_physmem_create(48, &pm))
		return 1;
	for (r = 0; r < NREGIONS; r++) {
		char name[16];

		snprintf(name, sizeof(name), "ram%u", r);
		if (uiommu_physmem_add_ram(pm, name, r * REGION_STRIDE,
					   REGION_SIZE, NULL, NULL))
			return 1;
	}
	if (uiommu_physmem_add_mmio(pm, MMIO_BASE, &dev_desc) ||
	    uiommu_physmem_add_ram(pm, "pool", POOL_BASE, POOL_SIZE, NULL,
				   NULL) ||
	    uiommu_phys_pool_create(pm, POOL_BASE, POOL_SIZE, &pool))
		return 1;
	if (argc > 2)
		ops_per_thread = (unsigned int)bench_arg_num(argv[0], argv[2],
							     "[CASE-FILTER [OPS]]");
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		if (!strstr(cases[c].name, filter))
			continue;
		for (t = 1; t <= 2; t++)
			ret |= run_case(pm, &cases[c], t);
	}
	uiommu_phys_pool_destroy(pool);
	uiommu_physmem_destroy(pm);
	return ret ? 1 : 0;
}
