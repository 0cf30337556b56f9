/* SPDX-License-Identifier: MIT */
/*
 * uiommu physmem: the emulated physical address space.
 *
 * A physical address space holds non-overlapping regions:
 * - RAM, backed by host memory the library allocates (mmap) or by a caller's
 *   own buffer (how a VFIO user's pinned memory becomes reachable by DMA);
 * - MMIO, served by read/write callbacks of a hardware model, with a
 *   register map (name, offset, size of each register) so that the IOMMU
 *   core can say exactly which registers a DMA-mapped page exposes.
 *
 * Every access carries transaction attributes (struct uiommu_memattrs): the
 * requester's source ID travels beside the data, as on a real bus, which is
 * how a GICv3 ITS learns the DeviceID of an MSI write.
 *
 * A page pool hands out zeroed, naturally aligned blocks of a RAM region for
 * in-memory structures (page tables, queues, stream tables, ITS tables).
 *
 * Addresses and sizes are bytes; ranges are [base, base + size).  Accessing
 * an address no region covers is a bus error: -EFAULT, never a crash.
 *
 * Thread safety: accesses and lookups may run concurrently with each other
 * and with adding or removing regions.  A region's callbacks may be called
 * from several threads at once; the model behind them serialises itself.
 * Removing a RAM region while another thread still accesses it is the
 * caller's race (pin RAM that DMA may reach, see uiommu_physmem_pin()); an
 * MMIO region may be removed under accesses, which then either complete or
 * see a bus error (see uiommu_physmem_synchronize()).  Accesses to other
 * regions are never disturbed.
 *
 * Lookups are lock-free: each thread caches the last regions it used, so
 * a page-table walk pays a few nanoseconds per table entry.  The cache
 * serves one address space per thread at a time.
 */
#ifndef UIOMMU_PHYSMEM_H
#define UIOMMU_PHYSMEM_H

#include <uiommu/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_physmem;
struct uiommu_phys_pool;

/* Pass as a base address to let the library choose a free one. */
#define UIOMMU_PHYS_ANY UINT64_MAX

/* Transaction attributes of one access (like QEMU's MemTxAttrs). */
struct uiommu_memattrs {
	uint32_t source_id;	/* requester: PCI RID, StreamID, ... */
	uint32_t flags;		/* UIOMMU_MEMATTR_* */
};
#define UIOMMU_MEMATTR_SOURCE_VALID (1u << 0)	/* source_id is meaningful */
#define UIOMMU_MEMATTR_PRIV	    (1u << 1)	/* privileged access */
#define UIOMMU_MEMATTR_INSTR	    (1u << 2)	/* instruction fetch */

/* One register of an MMIO region's register map. */
struct uiommu_reg_desc {
	const char *name;	/* "GITS_TRANSLATER" */
	uint64_t offset;	/* from the region's base */
	uint32_t size;		/* bytes: 1, 2, 4 or 8 (or larger for arrays) */
};

/**
 * struct uiommu_mmio_ops - callbacks of an MMIO region
 * @read:  load @size bytes (1, 2, 4 or 8, naturally aligned) at @offset
 *         into *@val; return 0, or -EFAULT for a slave error (any non-zero
 *         return is reported to the requester as -EFAULT)
 * @write: store the low @size bytes of @val at @offset; 0 or -EFAULT
 *
 * @attrs is never NULL: an access made without attributes passes zeroed
 * ones (no UIOMMU_MEMATTR_SOURCE_VALID).  Bits of *@val above @size bytes
 * are ignored.  Callbacks may access the address space (e.g. a model
 * fetching a table from RAM) but must not add or remove regions of it.
 */
struct uiommu_mmio_ops {
	int (*read)(void *opaque, uint64_t offset, unsigned int size,
		    uint64_t *val, const struct uiommu_memattrs *attrs);
	int (*write)(void *opaque, uint64_t offset, unsigned int size,
		     uint64_t val, const struct uiommu_memattrs *attrs);
};

/**
 * struct uiommu_mmio_desc - everything that describes an MMIO region
 * @name:   region name, e.g. "its0.translater"
 * @owner:  the model that serves it, e.g. "gicv3-its@8080000"
 * @size:   bytes, a multiple of 4 KiB
 * @ops:    callbacks
 * @opaque: passed to the callbacks
 * @regs:   register map, sorted by offset (may be NULL with @nregs 0)
 * @nregs:  number of entries in @regs
 * @doorbell: true if writes to this region raise interrupts (an MSI frame)
 */
struct uiommu_mmio_desc {
	const char *name;
	const char *owner;
	uint64_t size;
	const struct uiommu_mmio_ops *ops;
	void *opaque;
	const struct uiommu_reg_desc *regs;
	size_t nregs;
	bool doorbell;
};

enum uiommu_region_kind {
	UIOMMU_REGION_RAM,
	UIOMMU_REGION_MMIO,
};

/* A snapshot of one region, for iteration and dumps. */
struct uiommu_region_info {
	enum uiommu_region_kind kind;
	uint64_t base;
	uint64_t size;
	const char *name;
	const char *owner;		/* MMIO: the model; RAM: "ram" or "user" */
	const struct uiommu_reg_desc *regs;	/* MMIO only */
	size_t nregs;
	bool doorbell;
	bool caller_memory;		/* RAM backed by a caller's buffer */
	void *host;			/* RAM only: host address of base */
};

/**
 * uiommu_physmem_create() - create an empty physical address space
 * @pa_bits: width of physical addresses (32..64); accesses at or above
 *           2^@pa_bits are bus errors
 * @out:     the new address space
 *
 * Return: 0; -EINVAL for a bad @pa_bits or NULL @out; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_create(unsigned int pa_bits, struct uiommu_physmem **out);

/**
 * uiommu_physmem_destroy() - free an address space and library-allocated RAM
 * @pm: the address space, or NULL
 *
 * Regions backed by caller buffers are dropped; the buffers stay the
 * caller's.  Pools must have been destroyed first.
 */
UIOMMU_API void uiommu_physmem_destroy(struct uiommu_physmem *pm);

/**
 * uiommu_physmem_add_ram() - add a RAM region
 * @pm:   address space
 * @name: region name (copied)
 * @base: physical base, 4 KiB aligned, or UIOMMU_PHYS_ANY for the lowest free
 *        4 KiB-aligned range that fits
 * @size: bytes, a non-zero multiple of 4 KiB
 * @host: the caller's buffer of @size bytes backing the region, 8-byte
 *        aligned (4 KiB recommended; it must stay valid until the region
 *        is removed), or NULL to allocate zeroed memory
 * @base_out: if not NULL, receives the base actually used
 *
 * Return: 0; -EINVAL for a misaligned or zero @base/@size, a NULL @pm or
 * @name, or a @host that is not 8-byte aligned;
 * -ERANGE if the range does not fit in the address width; -EEXIST if it
 * overlaps a region; -ENOSPC if UIOMMU_PHYS_ANY finds no room; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_add_ram(struct uiommu_physmem *pm, const char *name,
		       uint64_t base, uint64_t size, void *host,
		       uint64_t *base_out);

/**
 * uiommu_physmem_add_mmio() - add an MMIO region
 * @pm:   address space
 * @base: physical base, 4 KiB aligned
 * @desc: description (copied, but @desc->regs and the strings it points to
 *        must stay valid while the region exists)
 *
 * Return: 0; -EINVAL for bad alignment (UIOMMU_PHYS_ANY is not accepted),
 * zero size, a missing name or callback, or a register map entry that is
 * empty, outside the region or out of order; -ERANGE beyond the address
 * width; -EEXIST on overlap; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_add_mmio(struct uiommu_physmem *pm, uint64_t base,
			const struct uiommu_mmio_desc *desc);

/**
 * uiommu_physmem_pa_bits() - width of the address space's physical addresses
 *
 * Return: the @pa_bits given to uiommu_physmem_create().
 */
UIOMMU_API unsigned int uiommu_physmem_pa_bits(const struct uiommu_physmem *pm);

/**
 * uiommu_physmem_remove() - remove the region that starts at @base
 * @pm:   address space
 * @base: exact base of a region
 *
 * Never allocates, so it cannot fail for lack of memory.  Library-allocated
 * RAM is released.  An MMIO callback of the region that another thread
 * entered before the removal may still be running when this returns: call
 * uiommu_physmem_synchronize() before freeing what the callbacks use.
 *
 * Return: 0; -ENOENT if no region starts at @base; -EBUSY if the region is
 * pinned (uiommu_physmem_pin()) or holds a pool; -EINVAL for a NULL @pm.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_remove(struct uiommu_physmem *pm, uint64_t base);

/**
 * uiommu_physmem_synchronize() - wait for accesses already under way
 * @pm: address space
 *
 * Returns once every MMIO access, slow-path lookup and for_each walk that
 * had begun when it was called has finished, and frees what earlier
 * removals left for them.  After uiommu_physmem_remove() and this, no
 * callback of the removed region runs or will run.  Do not call it while
 * holding a lock that an MMIO callback may take.
 *
 * Return: 0; -EINVAL for a NULL @pm; -EDEADLK when called from inside an
 * MMIO callback or a for_each walk of @pm (it would wait for itself).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_synchronize(struct uiommu_physmem *pm);

/**
 * uiommu_physmem_pin() - take a reference that keeps RAM regions in place
 * @pm:   address space
 * @base: first byte
 * @size: bytes; the whole range must be RAM (one or more regions)
 *
 * An IOMMU mapping pins the RAM it targets; uiommu_physmem_remove() refuses
 * a pinned region with -EBUSY.  Pins are counted per region: each region
 * the range touches gains one reference.  Never allocates.
 *
 * Return: 0; -EINVAL for zero @size; -EFAULT if part of the range is not RAM
 * (nothing is pinned then).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_pin(struct uiommu_physmem *pm, uint64_t base, uint64_t size);

/**
 * uiommu_physmem_unpin() - drop a reference taken by uiommu_physmem_pin()
 *
 * Drops one reference of each region the range touches.
 *
 * Return: 0; -EINVAL for zero @size, or if a byte of the range is not RAM or
 * lies in a region without pins (nothing is unpinned then).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_unpin(struct uiommu_physmem *pm, uint64_t base, uint64_t size);

/**
 * uiommu_phys_read() - read physical memory
 * @pm:    address space
 * @pa:    first byte
 * @buf:   destination
 * @len:   bytes, any length; the range may cross region boundaries
 * @attrs: transaction attributes, or NULL for none
 *
 * MMIO parts are read with the largest naturally aligned accesses of at most
 * 8 bytes.  RAM is copied so that each naturally aligned 8-byte word is
 * read single-copy atomically.  On error @buf may be partly written but no
 * state changes (beyond the side effects of MMIO reads already made).
 * A bus error fires the trace event physmem_bus_error.
 *
 * Return: 0; -EFAULT if any byte is not backed (bus error) or a device
 * returns a slave error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_read(struct uiommu_physmem *pm, uint64_t pa, void *buf,
		 size_t len, const struct uiommu_memattrs *attrs);

/**
 * uiommu_phys_write() - write physical memory
 *
 * As uiommu_phys_read(), in the other direction.  A write that hits a hole
 * part-way has already written the bytes before the hole.
 *
 * Return: 0; -EFAULT.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_write(struct uiommu_physmem *pm, uint64_t pa, const void *buf,
		  size_t len, const struct uiommu_memattrs *attrs);

/**
 * uiommu_phys_ld() - one naturally aligned load of 1, 2, 4 or 8 bytes
 * @val: receives the value, little-endian as the emulated machine sees it
 *
 * RAM loads are single-copy atomic (and acquire), as an SMMU's descriptor
 * fetch is; uiommu_phys_st() stores are single-copy atomic (and release).
 *
 * Return: 0; -EINVAL for a bad size or misalignment; -EFAULT.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_ld(struct uiommu_physmem *pm, uint64_t pa, unsigned int size,
	       uint64_t *val, const struct uiommu_memattrs *attrs);

/**
 * uiommu_phys_st() - one naturally aligned store of 1, 2, 4 or 8 bytes
 *
 * Return: 0; -EINVAL for a bad size or misalignment; -EFAULT.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_st(struct uiommu_physmem *pm, uint64_t pa, unsigned int size,
	       uint64_t val, const struct uiommu_memattrs *attrs);

/**
 * uiommu_phys_cmpxchg64() - atomic compare-and-swap of an 8-byte RAM word
 * @pm:       address space
 * @pa:       8-byte aligned address in RAM
 * @expected: in: the value expected; out: the value found
 * @desired:  stored if the word held *@expected
 * @attrs:    transaction attributes, or NULL
 *
 * For hardware updates of in-memory descriptors (an SMMU setting the
 * access flag or dirty state of a page descriptor), which must not lose a
 * concurrent update by the driver.  Sequentially consistent.
 *
 * Return: 0 if @desired was stored; -EAGAIN if the word differed (*@expected
 * then holds it); -EINVAL for a misaligned @pa; -EFAULT if @pa is not RAM
 * (atomics to MMIO are not supported, as on most buses).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_cmpxchg64(struct uiommu_physmem *pm, uint64_t pa,
		      uint64_t *expected, uint64_t desired,
		      const struct uiommu_memattrs *attrs);

/**
 * uiommu_phys_host_ptr() - host address of a RAM range
 * @pm:   address space
 * @pa:   first byte
 * @size: bytes; the range must lie inside one RAM region
 *
 * The fast path for code that owns in-RAM structures (page-table writers,
 * queue producers) and for table walkers.  The pointer stays valid while the
 * region exists.
 *
 * Code writing through the pointer while devices read the same words should
 * use __atomic stores of aligned words, as uiommu_phys_st() does.
 *
 * Return: the host address, or NULL if [@pa, @pa + @size) is not inside a
 * single RAM region (@size 0 is treated as 1).
 */
UIOMMU_API void *uiommu_phys_host_ptr(struct uiommu_physmem *pm, uint64_t pa,
				      uint64_t size);

/**
 * uiommu_physmem_lookup() - describe the region containing @pa
 * @info: filled on success
 *
 * Return: 0; -EFAULT if no region contains @pa; -EINVAL for NULL @pm or
 * @info.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_lookup(struct uiommu_physmem *pm, uint64_t pa,
		      struct uiommu_region_info *info);

/**
 * uiommu_physmem_for_each() - visit every region in address order
 * @fn: called for each region; a non-zero return stops the walk and is
 *      returned
 *
 * @fn must not add or remove regions.  Regions added or removed by other
 * threads during the walk may or may not be visited.
 *
 * Return: 0 after visiting all regions, or @fn's non-zero value; -EINVAL
 * for NULL @pm or @fn.
 */
UIOMMU_API int
uiommu_physmem_for_each(struct uiommu_physmem *pm,
			int (*fn)(void *opaque,
				  const struct uiommu_region_info *info),
			void *opaque);

/**
 * uiommu_physmem_check() - verify the address space's invariants
 *
 * Sorted, non-overlapping, in-range regions; consistent pin counts and
 * lookup caches.  Meant for tests and debug builds.
 *
 * Return: 0, or -EUCLEAN (with a log message) if an invariant is broken.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_physmem_check(struct uiommu_physmem *pm);

/* ------------------------------------------------------------ page pool */

/* Accounting of a pool. */
struct uiommu_phys_pool_stats {
	uint64_t base, size;		/* the managed range */
	uint64_t bytes_in_use;
	uint64_t blocks_in_use;
	uint64_t largest_free;		/* largest block that can be allocated */
	uint64_t allocs, frees, failures;
};

/**
 * uiommu_phys_pool_create() - manage a RAM range as a page pool
 * @pm:   address space
 * @base: first byte, 4 KiB aligned, inside one RAM region
 * @size: bytes, a non-zero multiple of 4 KiB
 * @out:  the pool
 *
 * The allocator's bookkeeping lives outside emulated RAM (16 bytes per
 * 4 KiB page), so a device writing over free pool memory cannot corrupt it.
 *
 * Return: 0; -EINVAL for misalignment, zero size, a range of 2^32 pages or
 * more, or NULL @pm/@out; -EFAULT if the range is not inside one RAM
 * region; -EBUSY if it overlaps another pool; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_pool_create(struct uiommu_physmem *pm, uint64_t base,
			uint64_t size, struct uiommu_phys_pool **out);

/**
 * uiommu_phys_pool_destroy() - release a pool (its blocks need not be freed)
 * @pool: the pool, or NULL
 *
 * Its RAM region may be removed afterwards.
 */
UIOMMU_API void uiommu_phys_pool_destroy(struct uiommu_phys_pool *pool);

/**
 * uiommu_phys_pool_alloc() - allocate a zeroed, naturally aligned block
 * @pool: pool
 * @size: bytes, a power of two of at least 4 KiB; the block's physical
 *        address is a multiple of @size
 * @pa:   receives the block's physical address
 *
 * Thread-safe.  Each call makes one allocation through the allocation hook
 * (the record of the live block), so a fail-Nth sweep of any operation that
 * takes table pages also fails those.
 *
 * Return: 0; -EINVAL for a bad @size; -ENOMEM if no block that large is free
 * or the hook fails (the pool is memory, as a kernel's page allocator is).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_pool_alloc(struct uiommu_phys_pool *pool, uint64_t size,
		       uint64_t *pa);

/**
 * uiommu_phys_pool_free() - return a block to the pool
 * @pa:   the address uiommu_phys_pool_alloc() returned
 * @size: the size it was allocated with
 *
 * Thread-safe.
 *
 * Return: 0; -EINVAL if (@pa, @size) is not an allocated block (nothing
 * changes).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_pool_free(struct uiommu_phys_pool *pool, uint64_t pa,
		      uint64_t size);

/**
 * uiommu_phys_pool_get_stats() - read a pool's accounting
 */
UIOMMU_API void uiommu_phys_pool_get_stats(struct uiommu_phys_pool *pool,
					   struct uiommu_phys_pool_stats *st);

/**
 * uiommu_phys_pool_check() - verify a pool's invariants
 *
 * Every page belongs to exactly one free or allocated block, blocks are
 * naturally aligned, free buddies are merged, free lists and accounting
 * agree.  Meant for tests and debug builds.
 *
 * Return: 0, or -EUCLEAN (with a log message) if an invariant is broken;
 * -EINVAL for a NULL @pool.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_phys_pool_check(struct uiommu_phys_pool *pool);

/**
 * uiommu_phys_pool_physmem() - the address space a pool belongs to
 */
UIOMMU_API struct uiommu_physmem *
uiommu_phys_pool_physmem(struct uiommu_phys_pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_PHYSMEM_H */
