// SPDX-License-Identifier: MIT
/*
 * Register-level GICv2m driver (see gicv2m-drv.h).  The SPIs of the frame
 * are tracked in a bitmap of at most 1024 bits; drv->lock protects it.
 */
#include <inttypes.h>

#include "alloc.h"
#include "bits.h"
#include "gicv2m-drv.h"
#include "gicv2m.h"
#include "id-bitmap.h"
#include "lock.h"
#include "log.h"

#define SUBSYS "v2m-drv"

struct uio_v2m_drv {
	struct uiommu_physmem *pm;
	uint64_t base;
	uint32_t spi_base;
	uint32_t nr_spis;
	struct uio_mutex lock;
	uint64_t used[1024 / 64];	/* bit i: SPI spi_base + i allocated */
};

int uio_v2m_drv_probe(struct uiommu_physmem *pm, uint64_t base,
		      struct uio_v2m_drv **out)
{
	struct uio_v2m_drv *drv;
	uint64_t typer;
	uint32_t first, n;

	if (!pm || !out)
		return uio_fail(-EINVAL, SUBSYS, "NULL argument");
	if (uiommu_phys_ld(pm, base + V2M_MSI_TYPER, 4, &typer, NULL))
		return uio_fail(-ENODEV, SUBSYS, "no GICv2m frame at 0x%" PRIx64,
				base);
	first = (uint32_t)UIO_FEX64(typer, V2M_MSI_TYPER, BASE);
	n = (uint32_t)UIO_FEX64(typer, V2M_MSI_TYPER, NUMBER);
	if (first < V2M_FIRST_SPI || n == 0 || first + n > V2M_SPI_LIMIT)
		return uio_fail(-ENODEV, SUBSYS, "frame at 0x%" PRIx64 ": "
				"MSI_TYPER 0x%08" PRIx64 " names no SPIs", base,
				typer);
	drv = uio_new(struct uio_v2m_drv);
	if (!drv)
		return -ENOMEM;
	drv->pm = pm;
	drv->base = base;
	drv->spi_base = first;
	drv->nr_spis = n;
	uio_mutex_init(&drv->lock);
	uio_info(SUBSYS, "frame at 0x%" PRIx64 ": SPIs %u..%u", base, first,
		 first + n - 1);
	*out = drv;
	return 0;
}

void uio_v2m_drv_remove(struct uio_v2m_drv *drv)
{
	if (!drv)
		return;
	uio_mutex_destroy(&drv->lock);
	uio_delete(drv);
}

int uio_v2m_drv_alloc_spis_aligned(struct uio_v2m_drv *drv, uint32_t n,
				   uint32_t align, uint32_t *first)
{
	uint32_t start;
	int ret;

	if (n == 0 || !align || !uio_is_pow2(align))
		return uio_fail(-EINVAL, SUBSYS, "%u SPIs aligned to %u", n,
				align);
	uio_lock(&drv->lock);
	ret = uio_id_bitmap_alloc_aligned(drv->used, drv->nr_spis, n, align,
					  drv->spi_base, &start);
	uio_unlock(&drv->lock);
	if (!ret)
		*first = drv->spi_base + start;
	return ret;
}

int uio_v2m_drv_alloc_spis(struct uio_v2m_drv *drv, uint32_t n,
			   uint32_t *first)
{
	return uio_v2m_drv_alloc_spis_aligned(drv, n, 1, first);
}

void uio_v2m_drv_free_spis(struct uio_v2m_drv *drv, uint32_t first,
			   uint32_t n)
{
	uio_lock(&drv->lock);
	uio_id_bitmap_free(drv->used, drv->nr_spis, first - drv->spi_base, n);
	uio_unlock(&drv->lock);
}

void uio_v2m_drv_range(const struct uio_v2m_drv *drv, uint32_t *spi_base,
		       uint32_t *nr_spis)
{
	*spi_base = drv->spi_base;
	*nr_spis = drv->nr_spis;
}

uint64_t uio_v2m_drv_doorbell(const struct uio_v2m_drv *drv)
{
	return drv->base + V2M_MSI_SETSPI_NS;
}
