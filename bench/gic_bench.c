// SPDX-License-Identifier: MIT
/*
 * Benchmark of the MSI doorbell models: device writes through the physical
 * address space to GITS_TRANSLATER (full table walk: device table, ITT,
 * collection table, LPI delivery to a handler) and to GICv2m MSI_SETSPI_NS,
 * and ITS command throughput.  Prints one JSON object per line.
 *
 *   gic_bench [iterations]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/gic.h>
#include <uiommu/physmem.h>

#include "bits.h"
#include "gic-its.h"

#define RAM_BASE	UINT64_C(0x40000000)
#define ITS_BASE	UINT64_C(0x08080000)
#define V2M_BASE	UINT64_C(0x08020000)
#define CQ_PA		RAM_BASE
#define CQ_BYTES	UINT64_C(65536)
#define DT_PA		(RAM_BASE + 0x10000)
#define CT_PA		(RAM_BASE + 0x20000)
#define ITT_PA		(RAM_BASE + 0x30000)

static unsigned long irqs;

static void on_irq(void *opaque, unsigned int cpu, uint32_t intid)
{
	(void)opaque, (void)cpu, (void)intid;
	irqs++;
}

static uint64_t cq_next;

static void cmd(struct uiommu_physmem *pm, uint64_t d0, uint64_t d1,
		uint64_t d2)
{
	bench_st(pm, CQ_PA + cq_next, 8, d0);
	bench_st(pm, CQ_PA + cq_next + 8, 8, d1);
	bench_st(pm, CQ_PA + cq_next + 16, 8, d2);
	bench_st(pm, CQ_PA + cq_next + 24, 8, 0);
	cq_next = (cq_next + GITS_CMD_SIZE) % CQ_BYTES;
}

static void publish(struct uiommu_physmem *pm)
{
	bench_st(pm, ITS_BASE + GITS_CWRITER, 8, cq_next);
}

static void its_setup(struct uiommu_physmem *pm)
{
	uint64_t v = 0;
	uint32_t e;

	v = UIO_FDP64(v, GITS_BASER, VALID, 1);
	bench_st(pm, ITS_BASE + GITS_BASER0, 8,
	   UIO_FDP64(v, GITS_BASER, PA, DT_PA >> 12));
	bench_st(pm, ITS_BASE + GITS_BASER0 + 8, 8,
	   UIO_FDP64(v, GITS_BASER, PA, CT_PA >> 12));
	v = UIO_FDP64(0, GITS_CBASER, VALID, 1);
	v = UIO_FDP64(v, GITS_CBASER, PA, CQ_PA >> 12);
	v = UIO_FDP64(v, GITS_CBASER, SIZE, CQ_BYTES / 4096 - 1);
	bench_st(pm, ITS_BASE + GITS_CBASER, 8, v);
	bench_st(pm, ITS_BASE + GITS_CTLR, 4, 1);
	/* device 1: 256 events -> LPIs 8192.., collection 0 on CPU 0 */
	cmd(pm, UIO_FDP64(GITS_CMD_MAPD, GITS_CMD0, DEVICEID, 1),
	    UIO_FDP64(0, GITS_CMD1, SIZE, 7),
	    UIO_FDP64(UIO_FDP64(0, GITS_CMD2, ITT_ADDR, ITT_PA >> 8),
		      GITS_CMD2, VALID, 1));
	cmd(pm, GITS_CMD_MAPC, 0, UIO_FDP64(0, GITS_CMD2, VALID, 1));
	for (e = 0; e < 256; e++)
		cmd(pm, UIO_FDP64(GITS_CMD_MAPTI, GITS_CMD0, DEVICEID, 1),
		    UIO_FDP64(e, GITS_CMD1, PINTID, 8192 + e), 0);
	publish(pm);
}

static void report(const char *name, unsigned long n, double secs)
{
	printf("{\"bench\":\"gic\",\"case\":\"%s\",\"ops\":%lu,\"seconds\":%.6f,"
	       "\"ns_per_op\":%.1f,\"mops\":%.3f}\n", name, n, secs,
	       secs * 1e9 / n, n / secs / 1e6);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? (unsigned long)bench_arg_num(argv[0], argv[1], "[OPS]") :
				 1000000, i;
	struct uiommu_gicv2m_config vc = { "v2m0", V2M_BASE, 64, 64 };
	struct uiommu_gic_its_config ic = { .name = "its0", .base = ITS_BASE };
	struct uiommu_memattrs a = {
		.source_id = 1, .flags = UIOMMU_MEMATTR_SOURCE_VALID,
	};
	struct uiommu_physmem *pm;
	struct uiommu_gic_its *its;
	struct uiommu_gicv2m *v2m;
	uint64_t db;
	double t;

	bench_check(uiommu_physmem_create(48, &pm), "physmem");
	bench_check(uiommu_physmem_add_ram(pm, "ram", RAM_BASE, 1 << 20, NULL, NULL),
	      "ram");
	bench_check(uiommu_gic_its_create(pm, &ic, &its), "its");
	bench_check(uiommu_gicv2m_create(pm, &vc, &v2m), "v2m");
	bench_check(uiommu_gic_its_set_handler(its, 0, on_irq, NULL), "handler");
	bench_check(uiommu_gicv2m_set_handler(v2m, on_irq, NULL), "handler");
	its_setup(pm);

	db = uiommu_gic_its_doorbell(its);
	t = bench_now_s();
	for (i = 0; i < n; i++)
		bench_check(uiommu_phys_st(pm, db, 4, i & 255, &a), "msi");
	report("its_translate_deliver", n, bench_now_s() - t);

	db = uiommu_gicv2m_doorbell(v2m);
	t = bench_now_s();
	for (i = 0; i < n; i++)
		bench_check(uiommu_phys_st(pm, db, 4, 64 + (i & 63), &a), "setspi");
	report("v2m_setspi_deliver", n, bench_now_s() - t);

	/* INT commands in batches of 64 per GITS_CWRITER write */
	t = bench_now_s();
	for (i = 0; i < n / 64; i++) {
		unsigned int k;

		for (k = 0; k < 64; k++)
			cmd(pm, UIO_FDP64(GITS_CMD_INT, GITS_CMD0, DEVICEID, 1),
			    k, 0);
		publish(pm);
	}
	report("its_cmd_int_batch64", n / 64 * 64, bench_now_s() - t);
	if (irqs != 2 * n + n / 64 * 64) {
		fprintf(stderr, "gic_bench: %lu interrupts, expected %lu\n",
			irqs, 2 * n + n / 64 * 64);
		return 1;
	}
	uiommu_gicv2m_destroy(v2m);
	uiommu_gic_its_destroy(its);
	uiommu_physmem_destroy(pm);
	return 0;
}
