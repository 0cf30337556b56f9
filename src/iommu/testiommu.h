/* SPDX-License-Identifier: MIT */
/*
 * uio-testiommu: a small but real IOMMU driver + hardware pair for testing
 * and benchmarking the core without the SMMUv3 model.
 *
 * The "hardware" has a stream table (one entry per ID below
 * UIO_TESTIOMMU_MAX_SID, held by the model), an ASID-tagged IOTLB and a
 * radix page table of 64-bit little-endian entries in emulated RAM
 * (struct uiommu_physmem) whose format is defined in testiommu.c.  The
 * driver side writes those tables through the physical address space and
 * invalidates the IOTLB from the core's gathers; the model side translates
 * device accesses by walking the tables and reports faults to the core.
 */
#ifndef UIO_TESTIOMMU_H
#define UIO_TESTIOMMU_H

#include <uiommu/iommu-driver.h>
#include <uiommu/physmem.h>

#define UIO_TESTIOMMU_MAX_SID 256

struct uio_testiommu;

struct uio_testiommu_cfg {
	const char *name;		/* "testiommu0" if NULL */
	struct uiommu_physmem *pm;	/* tables and DMA live here */
	struct uiommu_phys_pool *pool;	/* table pages */
	unsigned int granule_shift;	/* 12 (4 KiB, 3 levels) or 16 (2) */
	bool intr_remap;		/* report UIOMMU_CAP_INTR_REMAP */
	bool hw_msi;			/* report 0xfee00000 msi, not sw-msi */
	bool no_msi_region;		/* report neither */
	bool pci_groups;		/* uiommu_pci_device_group() */
	enum uiommu_domain_type default_domain;	/* DMA (0 = DMA) or IDENTITY */
};

struct uio_testiommu_stats {
	uint64_t syncs;			/* iotlb_sync calls */
	uint64_t flush_alls;		/* flush_iotlb_all calls */
	uint64_t last_inv_start, last_inv_last;	/* last sync's range */
	uint64_t iotlb_hits, iotlb_misses;
	uint64_t attaches;
	uint64_t faults;
	uint64_t tables;		/* table pages allocated now */
};

/* Access types for uio_testiommu_translate(). */
#define UIO_TESTIOMMU_READ  UIOMMU_FAULT_READ
#define UIO_TESTIOMMU_WRITE UIOMMU_FAULT_WRITE

int uio_testiommu_create(const struct uio_testiommu_cfg *cfg,
			 struct uio_testiommu **out);
/* Unregister (fails with -EBUSY while devices exist) and free. */
int uio_testiommu_destroy(struct uio_testiommu *ti);
struct uiommu_iommu *uio_testiommu_iommu(struct uio_testiommu *ti);

/*
 * The model: stream @sid accesses @iova.  0 and *@pa, or -EFAULT after
 * reporting the fault to the core (the domain owner's handler).
 */
int uio_testiommu_translate(struct uio_testiommu *ti, uint32_t sid,
			    uint64_t iova, unsigned int access, uint64_t *pa);
/* A device write of @len bytes (inside one page) through the IOMMU. */
int uio_testiommu_dma_write(struct uio_testiommu *ti, uint32_t sid,
			    uint64_t iova, const void *buf, size_t len);

void uio_testiommu_get_stats(struct uio_testiommu *ti,
			     struct uio_testiommu_stats *st);
/* Make attach_dev fail with @err for stream @sid (0 to stop). */
void uio_testiommu_fail_attach(struct uio_testiommu *ti, uint32_t sid,
			       int err);

#endif /* UIO_TESTIOMMU_H */
