// SPDX-License-Identifier: MIT
/*
 * SMMUv3 model benchmark: translations per second at TLB hit and at TLB
 * miss (a full 4-level stage-1 walk, configuration cache hit), with one and
 * two device threads.  Prints one JSON object per case:
 *   {"bench":"smmuv3","case":"translate_hit","threads":1,"ns_per_op":X}
 * where X is wall time divided by the translations of all threads.
 *
 * Usage: smmu_bench [scale [hit|miss|drv]]: scale multiplies the iterations
 * (default 1), the second argument runs one case only (for callgrind).
 *
 * The translation cases program the model through its registers and RAM
 * with the tests' register-level driver (tests/smmuv3_testdrv.c).  The
 * driver case, "drv_map_unmap_4k", measures the real driver under the IOMMU
 * core: uiommu_map() + uiommu_unmap() of one 4 KiB page of an unmanaged
 * domain, i.e. a PTE write, and TLBI_NH_VA + CMD_SYNC through the model's
 * command queue.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/iommu-driver.h>
#include <uiommu/smmuv3-drv.h>

#include "smmuv3_testdrv.h"

#define SID 5
#define VA_BASE UINT64_C(0x0000100000000000)
#define HIT_PAGES 64		/* fits the TLB */
#define MISS_PAGES 65536	/* 16x the TLB: every access walks */

struct job {
	struct td *td;
	unsigned int pages;
	unsigned long iters;
	unsigned int offset;
	pthread_barrier_t *start;
	uint64_t sink;
	int err;
};

static void *run(void *arg)
{
	struct job *j = arg;
	struct uiommu_smmuv3_txn t = { .sid = SID, .size = 8 };
	uint64_t pa, sum = 0;
	unsigned int page = j->offset;

	pthread_barrier_wait(j->start);
	for (unsigned long i = 0; i < j->iters; i++) {
		/* a large odd stride defeats any locality in the TLB index */
		page = (page + 4099) & (j->pages - 1);
		t.iova = VA_BASE + ((uint64_t)page << 12) + (i & 0xff8);
		if (uiommu_smmuv3_translate(j->td->smmu, &t, &pa, NULL)) {
			j->err = 1;
			break;
		}
		sum += pa;
	}
	j->sink = sum;
	return NULL;
}

static int bench_case(struct td *td, const char *name, unsigned int pages,
		      unsigned int nthreads, unsigned long iters)
{
	pthread_t th[2];
	struct job jobs[2];
	pthread_barrier_t start;
	double t0, t1;

	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (unsigned int i = 0; i < nthreads; i++) {
		jobs[i] = (struct job){ td, pages, iters, i * (pages / 2), &start, 0, 0 };
		pthread_create(&th[i], NULL, run, &jobs[i]);
	}
	pthread_barrier_wait(&start);
	t0 = bench_now_ns();
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	t1 = bench_now_ns();
	pthread_barrier_destroy(&start);
	for (unsigned int i = 0; i < nthreads; i++)
		if (jobs[i].err) {
			fprintf(stderr, "smmu_bench: translation failed\n");
			return 1;
		}
	printf("{\"bench\":\"smmuv3\",\"case\":\"%s\",\"threads\":%u,"
	       "\"ns_per_op\":%.1f}\n", name, nthreads,
	       (t1 - t0) / ((double)iters * nthreads));
	return 0;
}

/* Map + unmap (+ the driver's invalidation) of one 4 KiB page. */
static int bench_drv(unsigned long iters)
{
	struct uiommu_smmuv3_drv *drv = NULL;
	struct uiommu_device *dev = NULL;
	struct uiommu_domain *dom = NULL;
	uint32_t sid = SID;
	struct uiommu_device_desc dd = { .name = "bench", .ids = &sid, .nids = 1 };
	struct td td;
	double t0, t1;
	int err;

	if (td_init(&td, &(struct td_config){ .no_enable = true }))
		return 1;
	err = uiommu_smmuv3_drv_probe(td.pm, td.pool, TD_SMMU_BASE, NULL, &drv);
	if (!err)
		err = uiommu_device_create(uiommu_smmuv3_drv_iommu(drv), &dd, &dev);
	if (!err)
		err = uiommu_domain_alloc(dev, UIOMMU_DOMAIN_UNMANAGED, &dom);
	if (!err)
		err = uiommu_group_attach(uiommu_device_group(dev), dom);
	/* A resident page keeps the last-level table: each unmap is then one
	 * leaf TLBI_NH_VA, not a table removal (TLBI_NH_ASID). */
	if (!err)
		err = uiommu_map(dom, 0x1ff000, TD_RAM_BASE, 4096,
				 UIOMMU_PROT_READ);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < iters && !err; i++) {
		uint64_t iova = 0x100000 + ((i & 127) << 12);

		err = uiommu_map(dom, iova, TD_RAM_BASE, 4096,
				 UIOMMU_PROT_READ | UIOMMU_PROT_WRITE);
		if (!err)
			err = uiommu_unmap(dom, iova, 4096, NULL);
	}
	t1 = bench_now_ns();
	if (!err)
		printf("{\"bench\":\"smmuv3\",\"case\":\"drv_map_unmap_4k\","
		       "\"threads\":1,\"ns_per_op\":%.1f}\n",
		       (t1 - t0) / (double)iters);
	if (dom && uiommu_unmap(dom, 0x1ff000, 4096, NULL))
		err = 1;
	if (dom && uiommu_group_detach(uiommu_device_group(dev)))
		err = 1;
	if (uiommu_domain_free(dom) || uiommu_device_destroy(dev) ||
	    uiommu_smmuv3_drv_remove(drv))
		err = 1;
	td_fini(&td);
	if (err)
		fprintf(stderr, "smmu_bench: driver case failed: %d\n", err);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct td td;
	struct td_pt pt;
	uint64_t cd, data;
	double scale = argc > 1 ? bench_arg_num(argv[0], argv[1], "[SCALE [drv]]") : 1.0;
	const char *only = argc > 2 ? argv[2] : "";
	int err = 0;

	if (argc > 3 || (*only && strcmp(only, "drv"))) {
		fprintf(stderr, "usage: %s [SCALE [drv]]\n", argv[0]);
		return 2;
	}
	if (!strcmp(only, "drv"))
		return bench_drv((unsigned long)(2e5 * scale));
	if (td_init(&td, NULL))
		return 1;
	cd = td_alloc(&td, 4096);
	data = td_alloc(&td, 4096);
	td_pt_init(&td, &pt, false);
	td_write_cd(&td, cd, 1, pt.root);
	td_ste_s1(&td, SID, cd, 0);
	for (unsigned int i = 0; i < MISS_PAGES; i++)
		td_map(&td, &pt, VA_BASE + ((uint64_t)i << 12), data, TD_R | TD_W);
	for (unsigned int n = 1; n <= 2 && !err; n++) {
		if (strcmp(only, "miss"))
			err |= bench_case(&td, "translate_hit", HIT_PAGES, n,
					  (unsigned long)(20e6 * scale));
		if (strcmp(only, "hit"))
			err |= bench_case(&td, "translate_miss", MISS_PAGES, n,
					  (unsigned long)(2e6 * scale));
	}
	td_fini(&td);
	if (!only[0] && !err)
		err = bench_drv((unsigned long)(2e5 * scale));
	return err;
}
