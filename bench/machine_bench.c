// SPDX-License-Identifier: MIT
/*
 * Machine benchmarks: the cost of building and tearing down each built-in
 * machine (DTB parse, models, drivers probed, PCI enumerated, IOMMU and MSI
 * devices created), and of one 4-byte DMA write of the test device through
 * the host bridge's port on each (SMMUv3 translate + physmem, or physmem).
 * One JSON object per line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/uiommu.h>

static struct uiommu_machine *make(const char *name)
{
	struct uiommu_machine_opts o = { .name = name };
	struct uiommu_machine *m;

	bench_check(uiommu_machine_create(&o, &m), name);
	return m;
}

static void bench_create(const char *name, unsigned int iters)
{
	double t0 = bench_now_s(), s;

	for (unsigned int i = 0; i < iters; i++)
		uiommu_machine_destroy(make(name));
	s = bench_now_s() - t0;

	printf("{\"bench\":\"machine\",\"case\":\"create_destroy\",\"machine\":\"%s\","
	       "\"ops\":%u,\"ns_per_op\":%.0f,\"us_per_op\":%.1f}\n", name,
	       iters, s * 1e9 / iters, s * 1e6 / iters);
}

static void bench_dma(const char *name, unsigned int iters)
{
	struct uiommu_machine *m = make(name);
	const struct uiommu_machine_func *f =
		uiommu_machine_find_function(m, 0, 0, UIOMMU_PCI_DEVFN(1, 0));
	struct uiommu_dma_fault fault;
	uint64_t iova = 0x40100000;
	uint32_t v = 0;
	double t0;

	bench_check(f ? 0 : -ENOENT, "test device at 00:01.0");
	bench_check(uiommu_pci_func_set_master(f->pci, true), "bus master");
	if (f->iommu_dev)
		bench_check(uiommu_dma_map_single(f->iommu_dev, 0x40100000,
						  0x1000, UIOMMU_DMA_FROM_DEVICE,
						  &iova), "dma_map_single");
	t0 = bench_now_s();
	for (unsigned int i = 0; i < iters; i++)
		bench_check(uiommu_pci_dev_dma(f->dev, iova + (i & 0x3fc), &v, 4,
					       true, &fault), "dma");
	printf("{\"bench\":\"machine\",\"case\":\"dma_write4\",\"machine\":\"%s\","
	       "\"ops\":%u,\"ns_per_op\":%.1f}\n", name, iters,
	       (bench_now_s() - t0) * 1e9 / iters);
	uiommu_machine_destroy(m);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "virt", "virt-gicv2m",
					     "virt-noiommu" };
	unsigned int scale = argc > 1 ?
		(unsigned int)bench_arg_num(argv[0], argv[1], "[SCALE]") : 1;

	if (!scale)
		scale = 1;
	uiommu_set_log_level(UIOMMU_LOG_ERR);
	for (unsigned int i = 0; i < 3; i++)
		bench_create(names[i], 200 * scale);
	for (unsigned int i = 0; i < 3; i++)
		bench_dma(names[i], 1000000 * scale);
	return 0;
}
