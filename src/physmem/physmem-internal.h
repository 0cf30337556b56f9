/* SPDX-License-Identifier: MIT */
/*
 * Private view of the physical address space shared by physmem.c and
 * physmem-pool.c: the region record and the writer-side helpers a pool
 * needs to claim a RAM range.  Readers never see these helpers.
 */
#ifndef UIO_PHYSMEM_INTERNAL_H
#define UIO_PHYSMEM_INTERNAL_H

#include <stdint.h>

#include <uiommu/physmem.h>

#include "lock.h"

/*
 * One region.  Everything but @pins and @pools is written once before the
 * region is published and never again, so lock-free readers may use it;
 * @pins and @pools change under the address space's lock only.
 */
struct uio_region {
	uint64_t base;
	uint64_t last;			/* inclusive: base + size - 1 */
	enum uiommu_region_kind kind;
	uint8_t *host;			/* RAM: host address of @base */
	bool caller_memory;		/* RAM: @host belongs to the caller */
	bool doorbell;
	char *name_copy;		/* RAM: owned copy of the name */
	const char *name;
	const char *owner;
	struct uiommu_mmio_ops ops;	/* MMIO: copied callbacks */
	void *opaque;
	const struct uiommu_reg_desc *regs;
	size_t nregs;
	uint64_t pins;			/* under the lock */
	unsigned int pools;		/* pools inside, under the lock */
	struct uio_region *retired_next;
};

/*
 * A pool's entry in its address space's list: the range it manages, so that
 * the address space refuses overlapping pools and checks its RAM claims.
 */
struct uio_pool_link {
	struct uio_pool_link *next;
	struct uio_region *region;
	uint64_t base;
	uint64_t last;
};

/*
 * Claim [@link->base, @link->last] for a pool (writer lock taken inside):
 * 0, -EFAULT if it is not inside one RAM region, -EBUSY if another pool
 * overlaps it.  On success the region cannot be removed until release.
 */
/**
 * uio_physmem_add_ram_above() - uiommu_physmem_add_ram() at the lowest free
 * @align-ed base at or above @min (@align a power of two >= 4 KiB), for
 * memory plugged after boot (VFIO's pinned user buffers) that belongs
 * above the machine's RAM, not in the holes of its address map
 */
int uio_physmem_add_ram_above(struct uiommu_physmem *pm, const char *name,
			      uint64_t min, uint64_t align, uint64_t size,
			      void *host, uint64_t *base_out);

int uio_physmem_pool_claim(struct uiommu_physmem *pm,
			   struct uio_pool_link *link);
void uio_physmem_pool_release(struct uiommu_physmem *pm,
			      struct uio_pool_link *link);

#endif /* UIO_PHYSMEM_INTERNAL_H */
