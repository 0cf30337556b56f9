/* SPDX-License-Identifier: MIT */
/*
 * The one list of trace events.  No include guard: trace.h includes it with
 * UIO_TRACE_EVENT defined several ways (enum, names, inline emitters).
 *
 *   UIO_TRACE_EVENT(name, (prototype), (arguments), "format")
 *
 * Addresses are printed in hex with a 0x prefix.  Keep each module's events
 * together, in layer order.
 */

/* base */
UIO_TRACE_EVENT(base_alloc_fail, (size_t size, size_t align), (size, align),
		"size=0x%zx align=0x%zx")

/* iova */

/* physmem */
UIO_TRACE_EVENT(physmem_add,
		(const char *kind, const char *name, uint64_t base, uint64_t size),
		(kind, name, base, size),
		"%s %s base=0x%" PRIx64 " size=0x%" PRIx64)
UIO_TRACE_EVENT(physmem_remove,
		(const char *name, uint64_t base, uint64_t size),
		(name, base, size), "%s base=0x%" PRIx64 " size=0x%" PRIx64)
UIO_TRACE_EVENT(physmem_bus_error,
		(uint64_t pa, uint64_t len, int write, uint32_t source_id),
		(pa, len, write, source_id),
		"pa=0x%" PRIx64 " len=0x%" PRIx64 " write=%d source=0x%" PRIx32)
UIO_TRACE_EVENT(pool_alloc, (uint64_t pool, uint64_t size, uint64_t pa),
		(pool, size, pa),
		"pool=0x%" PRIx64 " size=0x%" PRIx64 " pa=0x%" PRIx64)
UIO_TRACE_EVENT(pool_free, (uint64_t pool, uint64_t pa, uint64_t size),
		(pool, pa, size),
		"pool=0x%" PRIx64 " pa=0x%" PRIx64 " size=0x%" PRIx64)

/* pgtable */

/* iommu core */

/* hw: smmuv3 */

/* hw: gic its / v2m */

/* hw: pci */

/* drivers */

/* machine */

/* vfio */
