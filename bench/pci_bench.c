// SPDX-License-Identifier: MIT
/*
 * PCI model benchmarks: the cost of a configuration read through ECAM, of
 * raising an MSI-X vector (notify -> DMA port -> doorbell write), and of a
 * test-device COPY through the no-IOMMU DMA port.  One JSON object per line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/pci.h>
#include <uiommu/physmem.h>

#define ECAM	UINT64_C(0x30000000)
#define RAM	UINT64_C(0x40000000)
#define BAR0	UINT64_C(0x10000000)
#define BAR2	UINT64_C(0x10010000)
#define DB	UINT64_C(0x08090000)

static uint64_t db_hits;

static int db_read(void *o, uint64_t off, unsigned int size, uint64_t *val,
		   const struct uiommu_memattrs *a)
{
	*val = 0;
	return 0;
}

static int db_write(void *o, uint64_t off, unsigned int size, uint64_t val,
		    const struct uiommu_memattrs *a)
{
	db_hits++;
	return 0;
}

static const struct uiommu_mmio_ops db_ops = { db_read, db_write };

/* Walk the capability list of 00:01.0 for MSI-X (ID 0x11). */
static unsigned int msix_cap(struct uiommu_pci_host *host)
{
	uint32_t off = 0, id = 0;

	bench_check(uiommu_pci_host_cfg_read(host, 0, 8, 0x34, 1, &off), "cap ptr");
	while (off) {
		bench_check(uiommu_pci_host_cfg_read(host, 0, 8, off, 1, &id), "cap");
		if (id == 0x11)
			return off;
		bench_check(uiommu_pci_host_cfg_read(host, 0, 8, off + 1, 1, &off),
		      "cap next");
	}
	fprintf(stderr, "no MSI-X capability\n");
	exit(1);
}

int main(void)
{
	struct uiommu_physmem *pm;
	struct uiommu_pci_host *host;
	struct uiommu_pci_dev *td;
	struct uiommu_pci_host_desc hd = { "pcie", ECAM, 0, 0, NULL, NULL };
	struct uiommu_testdev_config tc = { "td0", 0, 2048 };
	struct uiommu_mmio_desc dd = { .name = "db", .owner = "bench",
				       .size = 4096, .ops = &db_ops };
	const unsigned int n = 1000000, ncopy = 20000;
	uint64_t v, sum = 0;
	double t;

	bench_check(uiommu_physmem_create(48, &pm), "physmem");
	bench_check(uiommu_physmem_add_ram(pm, "ram", RAM, 1 << 24, NULL, NULL), "ram");
	bench_check(uiommu_physmem_add_mmio(pm, DB, &dd), "doorbell");
	hd.dma_ops = uiommu_pci_dma_physmem_ops();
	hd.dma_opaque = pm;
	bench_check(uiommu_pci_host_create(pm, &hd, &host), "host");
	bench_check(uiommu_testdev_create(&tc, &td), "testdev");
	bench_check(uiommu_pci_host_plug(host, 0, 8, td), "plug");
	bench_check(uiommu_pci_host_cfg_write(host, 0, 8, 0x10, 4, (uint32_t)BAR0), "bar0");
	bench_check(uiommu_pci_host_cfg_write(host, 0, 8, 0x18, 4, (uint32_t)BAR2), "bar2");
	bench_check(uiommu_pci_host_cfg_write(host, 0, 8, 4, 2, 6), "command");

	t = bench_now_s();
	for (unsigned int i = 0; i < n; i++) {
		bench_check(uiommu_phys_ld(pm, ECAM + (8 << 12), 4, &v, NULL), "ecam");
		sum += v;
	}
	t = bench_now_s() - t;
	printf("{\"bench\":\"pci\",\"case\":\"ecam_cfg_read\",\"ops\":%u,\"ns_per_op\":%.1f}\n",
	       n, t * 1e9 / n);

	/* MSI-X enabled, all 2048 vectors unmasked. */
	bench_check(uiommu_pci_host_cfg_write(host, 0, 8, msix_cap(host) + 2, 2,
					0x8000), "msix");
	for (unsigned int vec = 0; vec < 2048; vec++) {
		bench_st(pm, BAR2 + 16 * vec, 4, DB + 0x40);
		bench_st(pm, BAR2 + 16 * vec + 8, 4, vec);
		bench_st(pm, BAR2 + 16 * vec + 12, 4, 0);
	}
	t = bench_now_s();
	for (unsigned int i = 0; i < n; i++)
		bench_check(uiommu_pci_dev_notify(td, i % 2048), "notify");
	t = bench_now_s() - t;
	printf("{\"bench\":\"pci\",\"case\":\"msix_notify\",\"ops\":%u,\"ns_per_op\":%.1f,"
	       "\"delivered\":%" PRIu64 "}\n", n, t * 1e9 / n, db_hits);

	bench_st(pm, BAR0 + UIOMMU_TESTDEV_SRC, 8, RAM);
	bench_st(pm, BAR0 + UIOMMU_TESTDEV_DST, 8, RAM + (1 << 23));
	bench_st(pm, BAR0 + UIOMMU_TESTDEV_LEN, 4, 1 << 16);
	t = bench_now_s();
	for (unsigned int i = 0; i < ncopy; i++)
		bench_st(pm, BAR0 + UIOMMU_TESTDEV_CMD, 4, UIOMMU_TESTDEV_OP_COPY);
	t = bench_now_s() - t;
	bench_check(uiommu_phys_ld(pm, BAR0 + UIOMMU_TESTDEV_STATUS, 4, &v, NULL), "status");
	printf("{\"bench\":\"pci\",\"case\":\"testdev_copy_64k\",\"ops\":%u,"
	       "\"ns_per_op\":%.0f,\"us_per_op\":%.2f,"
	       "\"gib_per_s\":%.2f,\"status\":%" PRIu64 "}\n", ncopy,
	       t * 1e9 / ncopy, t * 1e6 / ncopy, (double)ncopy * 65536 / t / (1 << 30), v);

	uiommu_pci_host_destroy(host);
	uiommu_physmem_destroy(pm);
	return sum == 42;
}
