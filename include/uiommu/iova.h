/* SPDX-License-Identifier: MIT */
/*
 * uiommu IOVA allocator: hands out ranges of a device address space.
 *
 * A domain covers [start, last] (inclusive) in units of a power-of-two
 * granule (4 KiB, 16 KiB or 64 KiB).  Ranges are allocated below a caller's
 * limit (the device's DMA mask), top-down by default: the highest address
 * that fits, so that devices with narrow masks keep the low space.  Reserved
 * ranges (MSI windows, PCI apertures) are never handed out.
 *
 * Costs: allocate, free, reserve and find are O(log n) in the number of
 * ranges in the domain whatever the fragmentation, including requests that
 * cannot fit.  Sizes up to 2^cache_max_order granules are served from
 * per-thread magazine caches without taking a lock.
 *
 * All functions are thread-safe for one domain, except that a domain must
 * not be used while or after it is destroyed.
 */
#ifndef UIOMMU_IOVA_H
#define UIOMMU_IOVA_H

#include <stdint.h>

#include <uiommu/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_iova_domain;

/* cache_max_order value that disables the per-thread caches. */
#define UIOMMU_IOVA_CACHE_OFF 0xffffffffu
/* Largest accepted cache_max_order. */
#define UIOMMU_IOVA_CACHE_MAX_ORDER 10u

/**
 * struct uiommu_iova_config - the shape of a domain
 * @start:   first address of the space; a multiple of @granule
 * @last:    last address of the space (inclusive); @last + 1 is a multiple
 *           of @granule (@last may be UINT64_MAX)
 * @granule: allocation unit in bytes: 4096, 16384 or 65536
 * @cache_max_order: requests of up to 2^@cache_max_order granules go
 *           through per-thread magazine caches (0..UIOMMU_IOVA_CACHE_MAX_ORDER),
 *           or UIOMMU_IOVA_CACHE_OFF for none.  With the caches on, a
 *           request of a cached size is rounded up to a power of two
 *           granules and aligned to that size (as Linux's dma-iommu does),
 *           so that any cached range can serve any request of its class.
 */
struct uiommu_iova_config {
	uint64_t start;
	uint64_t last;
	uint64_t granule;
	unsigned int cache_max_order;
};

/* Flags of uiommu_iova_alloc(). */
enum uiommu_iova_flags {
	/*
	 * Good fit instead of top-down: take the highest range of the
	 * smallest power-of-two gap size class whose every gap holds the
	 * request (TLSF-style segregated fit); if no gap of such a class
	 * lies below the limit, fall back to top-down.  Bypasses the caches.
	 */
	UIOMMU_IOVA_BEST_FIT = 1u << 0,
	/* Align the range to its size; the size must be a power of two. */
	UIOMMU_IOVA_SIZE_ALIGNED = 1u << 1,
};

/* Kinds of range reported by find and for_each. */
enum uiommu_iova_kind {
	UIOMMU_IOVA_LIVE = 1u << 0,	/* allocated and held by a caller */
	UIOMMU_IOVA_RESERVED = 1u << 1,	/* reserved, never handed out */
	UIOMMU_IOVA_FREE = 1u << 2,	/* a gap: can be allocated */
	UIOMMU_IOVA_CACHED = 1u << 3,	/* freed, parked in a thread cache */
	UIOMMU_IOVA_ALL = 0xf,
};

/**
 * struct uiommu_iova_range - one range of a domain
 * @first: first address
 * @last:  last address (inclusive)
 * @kind:  one enum uiommu_iova_kind value
 */
struct uiommu_iova_range {
	uint64_t first;
	uint64_t last;
	unsigned int kind;
};

/**
 * struct uiommu_iova_stats - counters of a domain
 * @live_ranges:       ranges held by callers
 * @live_granules:     granules held by callers
 * @cached_ranges:     ranges parked in per-thread caches and the depot
 * @cached_granules:   granules in those ranges
 * @reserved_ranges:   reserved ranges (after merging)
 * @reserved_granules: granules reserved
 * @free_granules:     granules in gaps (allocatable)
 * @largest_free:      size in bytes of the largest gap (0 if full)
 * @cache_hits:        allocations served by a cache
 * @cache_misses:      cacheable allocations that went to the tree
 *
 * Exact when no other thread uses the domain; otherwise a snapshot whose
 * cache counters may lag by the operations in flight.
 */
struct uiommu_iova_stats {
	uint64_t live_ranges;
	uint64_t live_granules;
	uint64_t cached_ranges;
	uint64_t cached_granules;
	uint64_t reserved_ranges;
	uint64_t reserved_granules;
	uint64_t free_granules;
	uint64_t largest_free;
	uint64_t cache_hits;
	uint64_t cache_misses;
};

/**
 * uiommu_iova_domain_create() - create an empty domain
 * @cfg: its shape (copied)
 * @out: receives the domain
 *
 * Cheap: a domain starts with one small allocation for the domain, one for
 * its first block of tree nodes and one for its hash; caches are created
 * lazily by the threads that use them.
 *
 * Return: 0 on success;
 * -EINVAL if @cfg or @out is NULL, @granule is not 4K, 16K or 64K, @start
 * or @last + 1 is not granule-aligned, @last < @start, or cache_max_order
 * is neither UIOMMU_IOVA_CACHE_OFF nor at most UIOMMU_IOVA_CACHE_MAX_ORDER;
 * -ENOMEM if out of memory.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_domain_create(const struct uiommu_iova_config *cfg,
			  struct uiommu_iova_domain **out);

/**
 * uiommu_iova_domain_destroy() - free a domain and everything in it
 * @dom: the domain, or NULL (no-op)
 *
 * Live allocations are forgotten; every thread's cache of @dom is drained
 * and freed, whether or not the thread still runs.  No other thread may
 * use @dom during or after the call.
 */
UIOMMU_API void uiommu_iova_domain_destroy(struct uiommu_iova_domain *dom);

/**
 * uiommu_iova_alloc() - allocate a range below a limit
 * @dom:   the domain
 * @size:  bytes: a non-zero multiple of the granule, at most the space
 * @limit: last address the range may use (inclusive), e.g. the DMA mask
 *         0xffffffff; values above the space's last address are clamped
 * @flags: 0 or enum uiommu_iova_flags
 * @iova:  receives the first address of the range
 *
 * Top-down: the range ends as high as possible at or below @limit (aligned
 * to its size with UIOMMU_IOVA_SIZE_ALIGNED or when served by the caches).
 *
 * Return: 0 on success;
 * -EINVAL if @dom or @iova is NULL, @size is 0, not a multiple of the
 * granule or larger than the space, @limit is below the start of the space,
 * @flags has unknown bits, or SIZE_ALIGNED is asked for a size that is not
 * a power of two (nothing changes, one log line);
 * -ENOSPC if no free range of @size fits below @limit (after flushing the
 * depot and this thread's cache), silent but traced (iova_alloc_fail);
 * -ENOMEM if a tree node could not be allocated.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_alloc(struct uiommu_iova_domain *dom, uint64_t size,
		  uint64_t limit, unsigned int flags, uint64_t *iova);

/**
 * uiommu_iova_free() - free a range by its first address
 * @dom:  the domain
 * @iova: the address uiommu_iova_alloc() returned
 *
 * Any thread may free a range allocated by another.  The address is
 * validated: a range already freed, never allocated, reserved, or a
 * non-first address of a range is refused and nothing changes.
 *
 * Return: 0 on success;
 * -EINVAL if @dom is NULL or @iova is not granule-aligned;
 * -ENOENT if @iova is not the first address of a live allocation.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_free(struct uiommu_iova_domain *dom, uint64_t iova);

/**
 * uiommu_iova_reserve() - reserve [first, last] so it is never allocated
 * @dom:   the domain
 * @first: first address, rounded down to the granule
 * @last:  last address (inclusive), rounded up to the end of its granule
 *
 * A reservation that overlaps or touches other reservations merges with
 * them into one range.  Ranges parked in the depot and in this thread's
 * cache are flushed first.
 *
 * Return: 0 on success;
 * -EINVAL if @dom is NULL or @last < @first;
 * -ERANGE if [@first, @last] is not wholly inside the space;
 * -EBUSY if it overlaps a live allocation (or a range still cached by
 * another thread);
 * -ENOMEM if out of memory.  On any error nothing changes.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_reserve(struct uiommu_iova_domain *dom, uint64_t first,
		    uint64_t last);

/**
 * uiommu_iova_find() - which range contains an address
 * @dom:   the domain
 * @addr:  any address inside the space
 * @range: receives the range containing @addr: live, reserved, cached, or
 *         the free gap around it
 *
 * Return: 0 on success; -EINVAL if @dom or @range is NULL; -ERANGE if
 * @addr is outside the space.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_find(struct uiommu_iova_domain *dom, uint64_t addr,
		 struct uiommu_iova_range *range);

/**
 * typedef uiommu_iova_visit_fn - receives one range from for_each
 * @opaque: as given to uiommu_iova_for_each()
 * @range:  the range (valid during the call only)
 *
 * Return: 0 to continue, anything else to stop the walk (returned by
 * uiommu_iova_for_each()).  Must not call back into the same domain.
 */
typedef int (*uiommu_iova_visit_fn)(void *opaque,
				    const struct uiommu_iova_range *range);

/**
 * uiommu_iova_for_each() - visit ranges in address order
 * @dom:    the domain
 * @kinds:  mask of enum uiommu_iova_kind to report
 * @fn:     called for each range of a kind in @kinds, lowest first
 * @opaque: passed to @fn
 *
 * The domain is locked during the walk: allocations that miss the caches
 * wait.
 *
 * Return: 0 after the whole walk, the first non-zero value @fn returned,
 * or -EINVAL if @dom or @fn is NULL or @kinds has unknown bits.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_for_each(struct uiommu_iova_domain *dom, unsigned int kinds,
		     uiommu_iova_visit_fn fn, void *opaque);

/**
 * uiommu_iova_get_stats() - read the counters of a domain
 * @dom: the domain
 * @st:  receives them
 *
 * Return: 0 on success, -EINVAL if @dom or @st is NULL.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_get_stats(struct uiommu_iova_domain *dom,
		      struct uiommu_iova_stats *st);

/**
 * uiommu_iova_get_config() - the configuration a domain was created with
 * @dom: the domain
 * @cfg: receives it
 *
 * Return: 0 on success, -EINVAL if @dom or @cfg is NULL.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_get_config(struct uiommu_iova_domain *dom,
		       struct uiommu_iova_config *cfg);

/**
 * uiommu_iova_check() - verify the internal invariants of a domain
 * @dom: the domain
 *
 * Checks tree order, balance and augmented gap data, the hash index and
 * the counters.  O(n); for tests and debugging.
 *
 * Return: 0 if consistent, -EUCLEAN (with a log line naming the first
 * broken invariant) if not, -EINVAL if @dom is NULL.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_check(struct uiommu_iova_domain *dom);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_IOVA_H */
