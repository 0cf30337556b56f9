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
UIO_TRACE_EVENT(iova_domain_create, (uint64_t start, uint64_t last, uint64_t granule),
		(start, last, granule),
		"start=0x%" PRIx64 " last=0x%" PRIx64 " granule=0x%" PRIx64)
UIO_TRACE_EVENT(iova_domain_destroy, (uint64_t start, uint64_t last, uint64_t ranges),
		(start, last, ranges),
		"start=0x%" PRIx64 " last=0x%" PRIx64 " ranges_left=%" PRIu64)
UIO_TRACE_EVENT(iova_alloc, (uint64_t size, uint64_t limit, uint64_t iova),
		(size, limit, iova),
		"size=0x%" PRIx64 " limit=0x%" PRIx64 " iova=0x%" PRIx64)
UIO_TRACE_EVENT(iova_alloc_fail, (uint64_t size, uint64_t limit, int err),
		(size, limit, err),
		"size=0x%" PRIx64 " limit=0x%" PRIx64 " err=%d")
UIO_TRACE_EVENT(iova_free, (uint64_t iova, int cached), (iova, cached),
		"iova=0x%" PRIx64 " cached=%d")
UIO_TRACE_EVENT(iova_reserve, (uint64_t first, uint64_t last), (first, last),
		"first=0x%" PRIx64 " last=0x%" PRIx64)
UIO_TRACE_EVENT(iova_cache_flush, (uint64_t ranges), (ranges),
		"ranges=%" PRIu64)
UIO_TRACE_EVENT(iova_hash_grow, (unsigned int bits), (bits), "bits=%u")

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
UIO_TRACE_EVENT(iommu_domain_alloc, (unsigned int dom, const char *type),
		(dom, type), "domain=%u type=%s")
UIO_TRACE_EVENT(iommu_domain_free, (unsigned int dom), (dom), "domain=%u")
UIO_TRACE_EVENT(iommu_device_add, (const char *dev, unsigned int group),
		(dev, group), "dev=%s group=%u")
UIO_TRACE_EVENT(iommu_attach, (unsigned int group, unsigned int from,
				unsigned int to), (group, from, to),
		"group=%u domain=%u->%u")
UIO_TRACE_EVENT(iommu_map, (unsigned int dom, uint64_t iova, uint64_t pa,
			     uint64_t size, unsigned int prot),
		(dom, iova, pa, size, prot),
		"domain=%u iova=0x%" PRIx64 " pa=0x%" PRIx64 " size=0x%" PRIx64
		" prot=0x%x")
UIO_TRACE_EVENT(iommu_unmap, (unsigned int dom, uint64_t iova, uint64_t size,
			       uint64_t unmapped), (dom, iova, size, unmapped),
		"domain=%u iova=0x%" PRIx64 " size=0x%" PRIx64
		" unmapped=0x%" PRIx64)
UIO_TRACE_EVENT(iommu_iotlb_sync, (unsigned int dom, uint64_t start,
				    uint64_t last), (dom, start, last),
		"domain=%u start=0x%" PRIx64 " last=0x%" PRIx64)
UIO_TRACE_EVENT(iommu_fq_flush, (unsigned int dom, unsigned int n), (dom, n),
		"domain=%u entries=%u")
UIO_TRACE_EVENT(iommu_dma_map, (const char *dev, uint64_t iova, uint64_t size),
		(dev, iova, size), "dev=%s iova=0x%" PRIx64 " size=0x%" PRIx64)
UIO_TRACE_EVENT(iommu_dma_unmap, (const char *dev, uint64_t iova,
				   uint64_t size), (dev, iova, size),
		"dev=%s iova=0x%" PRIx64 " size=0x%" PRIx64)
UIO_TRACE_EVENT(iommu_msi_bind, (unsigned int dom, uint64_t pa, uint64_t iova),
		(dom, pa, iova), "domain=%u page=0x%" PRIx64 " iova=0x%" PRIx64)
UIO_TRACE_EVENT(iommu_msi_unbind, (unsigned int dom, uint64_t pa,
				    uint64_t iova), (dom, pa, iova),
		"domain=%u page=0x%" PRIx64 " iova=0x%" PRIx64)
UIO_TRACE_EVENT(iommu_fault, (unsigned int dom, uint32_t sid, uint64_t iova,
			       unsigned int flags, unsigned int reason),
		(dom, sid, iova, flags, reason),
		"domain=%u sid=0x%x iova=0x%" PRIx64 " flags=0x%x reason=%u")

/* hw: smmuv3 */

/* hw: gic its / v2m */

/* hw: pci */

/* drivers */

/* machine */

/* vfio */
