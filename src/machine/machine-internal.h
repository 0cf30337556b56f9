/* SPDX-License-Identifier: MIT */
/*
 * Library-internal view of a machine: the register-level drivers it
 * probed, for the MSI layer and tests.
 */
#ifndef UIO_MACHINE_INTERNAL_H
#define UIO_MACHINE_INTERNAL_H

#include <uiommu/gic.h>
#include <uiommu/machine.h>

#include "gic-its-drv.h"
#include "gicv2m-drv.h"

/* ITS @idx (DT order): the model and its probed driver; NULL if none. */
struct uiommu_gic_its *uio_machine_its(struct uiommu_machine *m,
				       unsigned int idx);
struct uio_its_drv *uio_machine_its_drv(struct uiommu_machine *m,
					unsigned int idx);

/* GICv2m frame @idx: the model and its probed driver; NULL if none. */
struct uiommu_gicv2m *uio_machine_v2m(struct uiommu_machine *m,
				      unsigned int idx);
struct uio_v2m_drv *uio_machine_v2m_drv(struct uiommu_machine *m,
					unsigned int idx);

#endif /* UIO_MACHINE_INTERNAL_H */
