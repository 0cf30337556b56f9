/* SPDX-License-Identifier: MIT */
/*
 * SMMUv3 driver internals reachable by tests: the hooks a test needs to
 * play a driver that forgets an invalidation, and to feed the command queue
 * a command the SMMU refuses.
 */
#ifndef UIO_SMMUV3_DRV_INTERNAL_H
#define UIO_SMMUV3_DRV_INTERNAL_H

#include <uiommu/pgtable.h>
#include <uiommu/smmuv3-drv.h>

/* The stage-1 table of a DMA or unmanaged domain of this driver. */
struct uiommu_pgtable *uio_smmuv3_drv_domain_pgtable(struct uiommu_domain *dom);
/* Its ASID. */
unsigned int uio_smmuv3_drv_domain_asid(struct uiommu_domain *dom);
/* TLBI_NH_VA of one page of the domain + CMD_SYNC. */
int uio_smmuv3_drv_tlbi_va(struct uiommu_domain *dom, uint64_t iova);
/* Issue one raw command + CMD_SYNC: 0, -EIO if the SMMU refused it. */
int uio_smmuv3_drv_issue_raw(struct uiommu_smmuv3_drv *drv, uint64_t c0,
			     uint64_t c1);

#endif /* UIO_SMMUV3_DRV_INTERNAL_H */
