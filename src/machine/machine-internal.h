/* SPDX-License-Identifier: MIT */
/*
 * Library-internal view of a machine: the models and drivers behind it,
 * for tests and for layers that need more than the public accessors.
 */
#ifndef UIO_MACHINE_INTERNAL_H
#define UIO_MACHINE_INTERNAL_H

#include <stdbool.h>

#include <uiommu/gic.h>
#include <uiommu/machine.h>
#include <uiommu/msi.h>
#include <uiommu/smmuv3-drv.h>

/* ITS / GICv2m model @idx in DT order; NULL if none. */
struct uiommu_gic_its *uio_machine_its(struct uiommu_machine *m,
				       unsigned int idx);
struct uiommu_gicv2m *uio_machine_v2m(struct uiommu_machine *m,
				      unsigned int idx);

/* The MSI domain of ITS @idx (@its) or GICv2m frame @idx; NULL if none. */
struct uiommu_msi_domain *uio_machine_msi_domain(struct uiommu_machine *m,
						 bool its, unsigned int idx);

/* The driver of SMMU @idx; NULL if none (opts.no_smmu_driver). */
struct uiommu_smmuv3_drv *uio_machine_smmu_drv(struct uiommu_machine *m,
					       unsigned int idx);

#endif /* UIO_MACHINE_INTERNAL_H */
