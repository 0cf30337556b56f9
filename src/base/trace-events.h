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

/* pgtable */

/* iommu core */

/* hw: smmuv3 */

/* hw: gic its / v2m */

/* hw: pci */

/* drivers */

/* machine */

/* vfio */
