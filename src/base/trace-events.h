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
UIO_TRACE_EVENT(pgtable_map, (uint64_t iova, uint64_t pa, uint64_t size, uint32_t prot),
		(iova, pa, size, prot),
		"iova=0x%" PRIx64 " pa=0x%" PRIx64 " size=0x%" PRIx64 " prot=0x%x")
UIO_TRACE_EVENT(pgtable_map_fail, (uint64_t iova, uint64_t size, int err),
		(iova, size, err), "iova=0x%" PRIx64 " size=0x%" PRIx64 " err=%d")
UIO_TRACE_EVENT(pgtable_unmap, (uint64_t iova, uint64_t size, uint64_t unmapped),
		(iova, size, unmapped),
		"iova=0x%" PRIx64 " size=0x%" PRIx64 " unmapped=0x%" PRIx64)
UIO_TRACE_EVENT(pgtable_split, (uint64_t iova, uint64_t block, int level),
		(iova, block, level), "iova=0x%" PRIx64 " block=0x%" PRIx64 " level=%d")
UIO_TRACE_EVENT(pgtable_table_alloc, (uint64_t pa, int level), (pa, level),
		"pa=0x%" PRIx64 " level=%d")
UIO_TRACE_EVENT(pgtable_table_free, (uint64_t pa), (pa), "pa=0x%" PRIx64)
UIO_TRACE_EVENT(pgtable_walk_fault, (uint64_t iova, const char *type, int level, int stage),
		(iova, type, level, stage),
		"iova=0x%" PRIx64 " type=%s level=%d stage=%d")

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
UIO_TRACE_EVENT(smmuv3_mmio_read, (uint64_t off, unsigned int size, uint64_t val),
		(off, size, val), "off=0x%" PRIx64 " size=%u val=0x%" PRIx64)
UIO_TRACE_EVENT(smmuv3_mmio_write, (uint64_t off, unsigned int size, uint64_t val),
		(off, size, val), "off=0x%" PRIx64 " size=%u val=0x%" PRIx64)
UIO_TRACE_EVENT(smmuv3_gerror, (uint32_t gerror, uint32_t gerrorn),
		(gerror, gerrorn), "gerror=0x%" PRIx32 " gerrorn=0x%" PRIx32)
UIO_TRACE_EVENT(smmuv3_irq, (unsigned int irq, uint64_t addr, uint32_t data),
		(irq, addr, data), "irq=%u msi_addr=0x%" PRIx64 " data=0x%" PRIx32)
UIO_TRACE_EVENT(smmuv3_sync_msi, (uint64_t addr, uint32_t data), (addr, data),
		"addr=0x%" PRIx64 " data=0x%" PRIx32)
UIO_TRACE_EVENT(smmuv3_cmd, (uint32_t cons, unsigned int opcode, uint64_t c0,
			     uint64_t c1, int cerr),
		(cons, opcode, c0, c1, cerr),
		"cons=0x%" PRIx32 " op=0x%02x cmd=0x%016" PRIx64 ":0x%016" PRIx64
		" cerror=%d")
UIO_TRACE_EVENT(smmuv3_event, (unsigned int type, uint32_t sid, uint64_t addr,
			       uint32_t prod),
		(type, sid, addr, prod),
		"type=0x%02x sid=0x%" PRIx32 " addr=0x%" PRIx64 " prod=0x%" PRIx32)
UIO_TRACE_EVENT(smmuv3_cfgi, (uint32_t first, uint32_t last, uint32_t ssid,
			      uint64_t dropped),
		(first, last, ssid, dropped),
		"sid=0x%" PRIx32 "-0x%" PRIx32 " ssid=0x%" PRIx32 " dropped=%" PRIu64)
UIO_TRACE_EVENT(smmuv3_tlbi, (unsigned int scope, unsigned int vmid,
			      unsigned int asid, uint64_t addr, uint64_t dropped),
		(scope, vmid, asid, addr, dropped),
		"scope=%u vmid=0x%x asid=0x%x addr=0x%" PRIx64 " dropped=%" PRIu64)
UIO_TRACE_EVENT(smmuv3_fault, (unsigned int event, uint32_t sid, uint64_t iova,
			       unsigned int stage, int level),
		(event, sid, iova, stage, level),
		"event=0x%02x sid=0x%" PRIx32 " iova=0x%" PRIx64 " stage=%u level=%d")
UIO_TRACE_EVENT(smmuv3_cfg_fill, (uint32_t sid, uint32_t sskey, unsigned int kind),
		(sid, sskey, kind), "sid=0x%" PRIx32 " sskey=0x%" PRIx32 " kind=%u")
UIO_TRACE_EVENT(smmuv3_tlb_fill, (uint32_t sid, uint64_t va, uint64_t pa,
				  unsigned int shift),
		(sid, va, pa, shift),
		"sid=0x%" PRIx32 " va=0x%" PRIx64 " pa=0x%" PRIx64 " shift=%u")

/* drivers: smmuv3-drv */
UIO_TRACE_EVENT(smmuv3_drv_event, (unsigned int type, uint32_t sid, uint64_t addr),
		(type, sid, addr), "type=0x%x sid=0x%x addr=0x%" PRIx64)

/* hw: gic its / v2m */
UIO_TRACE_EVENT(gic_its_reg_write, (uint64_t its, uint64_t off, uint64_t val),
		(its, off, val),
		"its=0x%" PRIx64 " off=0x%" PRIx64 " val=0x%" PRIx64)
UIO_TRACE_EVENT(gic_its_cmd, (uint64_t its, uint64_t off, unsigned int cmd,
			      const char *name),
		(its, off, cmd, name),
		"its=0x%" PRIx64 " creadr=0x%" PRIx64 " cmd=0x%02x %s")
UIO_TRACE_EVENT(gic_its_cmd_error, (uint64_t its, uint64_t off, uint32_t code),
		(its, off, code),
		"its=0x%" PRIx64 " creadr=0x%" PRIx64 " error=0x%06x")
UIO_TRACE_EVENT(gic_its_translate, (uint64_t its, uint32_t devid,
				    uint32_t eventid, uint32_t intid,
				    unsigned int cpu),
		(its, devid, eventid, intid, cpu),
		"its=0x%" PRIx64 " devid=0x%x eventid=0x%x lpi=%u cpu=%u")
UIO_TRACE_EVENT(gic_its_drop, (uint64_t its, uint32_t devid, uint32_t eventid,
			       const char *reason),
		(its, devid, eventid, reason),
		"its=0x%" PRIx64 " devid=0x%x eventid=0x%x reason=%s")
UIO_TRACE_EVENT(gic_its_deliver, (uint64_t its, unsigned int cpu,
				  uint32_t intid),
		(its, cpu, intid), "its=0x%" PRIx64 " cpu=%u lpi=%u")
UIO_TRACE_EVENT(gic_v2m_setspi, (uint64_t frame, uint32_t source, uint32_t spi),
		(frame, source, spi),
		"frame=0x%" PRIx64 " source=0x%x spi=%u")
UIO_TRACE_EVENT(gic_v2m_drop, (uint64_t frame, uint32_t spi,
			       const char *reason),
		(frame, spi, reason), "frame=0x%" PRIx64 " spi=%u reason=%s")

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
UIO_TRACE_EVENT(msi_alloc, (uint16_t rid, const char *kind, unsigned int nvec, uint32_t first),
		(rid, kind, nvec, first), "rid=0x%04x %s nvec=%u first_irq=%" PRIu32)
UIO_TRACE_EVENT(msi_free, (uint16_t rid, unsigned int nvec), (rid, nvec),
		"rid=0x%04x nvec=%u")
UIO_TRACE_EVENT(msi_rewrite, (uint16_t rid, unsigned int vector, uint64_t addr, uint32_t data),
		(rid, vector, addr, data), "rid=0x%04x vector=%u addr=0x%" PRIx64 " data=0x%" PRIx32)
UIO_TRACE_EVENT(msi_deliver, (uint32_t hwirq, unsigned int vector, bool handled),
		(hwirq, vector, handled), "irq=%" PRIu32 " vector=%u handled=%d")

/* machine */

/* vfio */
UIO_TRACE_EVENT(vfio_ioctl, (int fd, unsigned long req, int ret), (fd, req, ret),
		"fd=%d req=0x%lx ret=%d")
UIO_TRACE_EVENT(vfio_map, (uint64_t iova, uint64_t size, uint64_t pa), (iova, size, pa),
		"iova=0x%" PRIx64 " size=0x%" PRIx64 " pa=0x%" PRIx64)
UIO_TRACE_EVENT(vfio_unmap, (uint64_t iova, uint64_t size), (iova, size),
		"iova=0x%" PRIx64 " size=0x%" PRIx64)
UIO_TRACE_EVENT(vfio_irqs, (const char *dev, int index, unsigned int nvec), (dev, index, nvec),
		"%s index=%d nvec=%u")
