/* SPDX-License-Identifier: MIT */
/*
 * A small machine for the MSI layer's tests and benchmark: RAM with a page
 * pool, a GICv3 ITS and a GICv2m frame probed into MSI domains, the IOMMU
 * core's test driver (real page tables in RAM) in front of an ECAM host
 * bridge with NDEV DMA test devices, each with an IOMMU-core device and an
 * MSI device on the ITS (or the GICv2m frame).
 *
 * The host bridge's DMA port translates through the test IOMMU with the RID
 * as stream ID, then accesses physical memory with the msi-map DeviceID
 * (RID + 0x100) as source ID, as an SMMU hands MSIs to an ITS.
 */
#ifndef UIOMMU_TESTS_MSI_WORLD_H
#define UIOMMU_TESTS_MSI_WORLD_H

#include <stdatomic.h>
#include <stdbool.h>

#include <uiommu/msi.h>

#include "testiommu.h"

#define RAM_BASE	UINT64_C(0x40000000)
#define RAM_SIZE	UINT64_C(0x2000000)
#define POOL_SIZE	UINT64_C(0x1000000)
#define BUF_PA		(RAM_BASE + POOL_SIZE)
#define ITS_BASE	UINT64_C(0x08080000)
#define ITS_DOORBELL	(ITS_BASE + 0x10040)
#define V2M_BASE	UINT64_C(0x08020000)
#define V2M_DOORBELL	(V2M_BASE + 0x40)
#define V2M_SPI_BASE	80u
#define ECAM_BASE	UINT64_C(0x3f000000)
#define MEM_BASE	UINT64_C(0x10000000)
#define MEM_SIZE	UINT64_C(0x2eff0000)
#define DEVID_BASE	0x100u		/* msi-map: DeviceID = RID + 0x100 */
#define NDEV		2
#define MAXVEC		64

struct tdev {
	struct uiommu_pci_dev *pd;
	struct uiommu_pci_func *fn;
	struct uiommu_device *idev;
	struct uiommu_msi_dev *md;
	uint16_t rid;
	uint32_t devid;
	uint64_t bar0, bar2;
	atomic_uint hits[MAXVEC];
};

struct world {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	struct uiommu_gic_its *its;
	struct uiommu_gicv2m *v2m;
	struct uio_testiommu *ti;
	struct uiommu_iommu *iommu;
	struct uiommu_pci_host *host;
	struct uiommu_pci_core *core;
	struct uiommu_msi_domain *its_dom, *v2m_dom;
	struct tdev d[NDEV];
	bool use_v2m;
	atomic_uint faults;
};

/* Build the machine; 0 or the first error. */
int msi_world_init(struct world *w, bool use_v2m);
/* Tear it down (frees remaining vectors); 0 or the first error. */
int msi_world_fini(struct world *w);
/* The msi-map result for @rid (UINT32_MAX if the map rejects it). */
uint32_t msi_world_devid(uint16_t rid);
/* Default handler of every test device: counts hits[vector]. */
void msi_world_on_irq(void *opaque, unsigned int vector);
/* Fault handler that only lets the fault be counted. */
int msi_world_quiet_fault(void *opaque, struct uiommu_domain *dom,
			  const struct uiommu_fault *f);

#endif /* UIOMMU_TESTS_MSI_WORLD_H */
