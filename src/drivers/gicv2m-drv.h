/* SPDX-License-Identifier: MIT */
/*
 * Register-level GICv2m driver: reads a frame's MSI_TYPER and hands out its
 * SPIs.  An MSI to SPI n is a 32-bit write of n to the frame's
 * MSI_SETSPI_NS (uio_v2m_drv_doorbell()).
 *
 * Thread safety: every function takes the driver's lock.
 */
#ifndef UIO_GICV2M_DRV_H
#define UIO_GICV2M_DRV_H

#include <stdint.h>

#include <uiommu/physmem.h>

struct uio_v2m_drv;

/* Probe the frame at @base.  0; -EINVAL for NULL arguments; -ENODEV if
 * nothing answers or MSI_TYPER describes no valid SPI range; -ENOMEM. */
int uio_v2m_drv_probe(struct uiommu_physmem *pm, uint64_t base,
		      struct uio_v2m_drv **out);
void uio_v2m_drv_remove(struct uio_v2m_drv *drv);

/* @n contiguous SPIs, the first INTID in *@first.  0; -EINVAL for n == 0;
 * -ENOSPC. */
int uio_v2m_drv_alloc_spis(struct uio_v2m_drv *drv, uint32_t n,
			   uint32_t *first);
/* Likewise, with the first INTID a multiple of @align (a power of two), as
 * multiple-message MSI needs.  0; -EINVAL for n == 0 or a bad @align;
 * -ENOSPC. */
int uio_v2m_drv_alloc_spis_aligned(struct uio_v2m_drv *drv, uint32_t n,
				   uint32_t align, uint32_t *first);
void uio_v2m_drv_free_spis(struct uio_v2m_drv *drv, uint32_t first,
			   uint32_t n);

/* The frame's SPI range, from MSI_TYPER. */
void uio_v2m_drv_range(const struct uio_v2m_drv *drv, uint32_t *spi_base,
		       uint32_t *nr_spis);
/* Physical address of MSI_SETSPI_NS: the MSI address. */
uint64_t uio_v2m_drv_doorbell(const struct uio_v2m_drv *drv);

#endif /* UIO_GICV2M_DRV_H */
