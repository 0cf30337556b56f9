/* SPDX-License-Identifier: MIT */
/* uiommu: the whole public API.  Include this, or the headers you need. */
#ifndef UIOMMU_UIOMMU_H
#define UIOMMU_UIOMMU_H

#include <uiommu/base.h>
#include <uiommu/iova.h>
#include <uiommu/physmem.h>
#include <uiommu/pgtable.h>
#include <uiommu/gic.h>
#include <uiommu/smmuv3.h>
#include <uiommu/smmuv3-drv.h>
#include <uiommu/iommu.h>
#include <uiommu/iommu-driver.h>
#include <uiommu/pci.h>
#include <uiommu/pci-core.h>
#include <uiommu/msi.h>
#include <uiommu/machine.h>
#include <uiommu/vfio.h>

#endif /* UIOMMU_UIOMMU_H */
