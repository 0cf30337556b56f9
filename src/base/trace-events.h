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

/* hw: gic its / v2m */

/* hw: pci */

/* drivers */

/* machine */

/* vfio */
