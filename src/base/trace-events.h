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
UIO_TRACE_EVENT(pci_cfg_read, (unsigned int bus, unsigned int devfn, unsigned int off, unsigned int size, uint32_t val),
		(bus, devfn, off, size, val), "bus=0x%02x devfn=0x%02x off=0x%x size=%u val=0x%" PRIx32)
UIO_TRACE_EVENT(pci_cfg_write, (unsigned int bus, unsigned int devfn, unsigned int off, unsigned int size, uint32_t val),
		(bus, devfn, off, size, val), "bus=0x%02x devfn=0x%02x off=0x%x size=%u val=0x%" PRIx32)
UIO_TRACE_EVENT(pci_bar_map, (const char *dev, unsigned int bar, uint64_t addr, uint64_t size),
		(dev, bar, addr, size), "%s bar=%u addr=0x%" PRIx64 " size=0x%" PRIx64)
UIO_TRACE_EVENT(pci_bar_unmap, (const char *dev, unsigned int bar, uint64_t addr),
		(dev, bar, addr), "%s bar=%u addr=0x%" PRIx64)
UIO_TRACE_EVENT(pci_dma, (uint16_t rid, uint64_t iova, uint64_t len, bool write, int ret),
		(rid, iova, len, write ? "write" : "read", ret), "rid=0x%04x iova=0x%" PRIx64 " len=0x%" PRIx64 " %s ret=%d")
UIO_TRACE_EVENT(pci_dma_refused, (const char *dev, uint64_t iova), (dev, iova),
		"%s iova=0x%" PRIx64 " bus master disabled")
UIO_TRACE_EVENT(pci_msi_send, (const char *dev, uint64_t addr, uint32_t data), (dev, addr, data),
		"%s addr=0x%" PRIx64 " data=0x%" PRIx32)
UIO_TRACE_EVENT(pci_msi_raise, (const char *dev, unsigned int vector, int ret), (dev, vector, ret),
		"%s vector=%u ret=%d")
UIO_TRACE_EVENT(pci_msi_ctl, (const char *dev, uint16_t ctl), (dev, ctl), "%s ctl=0x%04x")
UIO_TRACE_EVENT(pci_msix_write, (const char *dev, uint64_t off, uint64_t val), (dev, off, val),
		"%s off=0x%" PRIx64 " val=0x%" PRIx64)
UIO_TRACE_EVENT(pci_testdev_cmd, (const char *dev, uint32_t cmd, uint64_t src, uint64_t dst, uint32_t len),
		(dev, cmd, src, dst, len), "%s cmd=0x%" PRIx32 " src=0x%" PRIx64 " dst=0x%" PRIx64 " len=0x%" PRIx32)
UIO_TRACE_EVENT(pci_testdev_status, (const char *dev, uint32_t status), (dev, status),
		"%s status=0x%" PRIx32)
UIO_TRACE_EVENT(pci_map_id, (uint32_t id, uint32_t out, uint32_t target, bool matched),
		(id, out, target, matched), "id=0x%" PRIx32 " out=0x%" PRIx32 " target=0x%" PRIx32 " matched=%d")

/* drivers */
UIO_TRACE_EVENT(pci_core_bar, (uint16_t rid, unsigned int bar, uint64_t addr, uint64_t size),
		(rid, bar, addr, size), "rid=0x%04x bar=%u addr=0x%" PRIx64 " size=0x%" PRIx64)
UIO_TRACE_EVENT(pci_core_irq_enable, (uint16_t rid, const char *kind, unsigned int nvec),
		(rid, kind, nvec), "rid=0x%04x %s nvec=%u")
UIO_TRACE_EVENT(pci_core_irq_disable, (uint16_t rid, const char *kind), (rid, kind),
		"rid=0x%04x %s")

/* machine */

/* vfio */
