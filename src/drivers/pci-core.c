// SPDX-License-Identifier: MIT
/*
 * OS-side PCI core: enumeration, BAR sizing and assignment, capability
 * walking, MSI / MSI-X enabling (include/uiommu/pci-core.h says what and
 * in which order).
 *
 * The core keeps a sorted array of functions found by enumeration.  All
 * hardware access goes through the configuration accessors and, for MSI-X
 * tables, through the CPU's physical address space, as a kernel's would.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/pci-core.h>

#include "alloc.h"
#include "lock.h"
#include "log.h"
#include "pci-regs.h"
#include "trace.h"

#define SUBSYS "pci-core"
#define FOUR_GIB (UINT64_C(1) << 32)

struct uiommu_pci_func {
	struct uiommu_pci_core *core;
	struct uiommu_pci_func_info info;
	uint8_t msix_table_bir;
	uint32_t msix_table_off;
	bool msi_64, msi_pvm;
};

struct uiommu_pci_core {
	struct uio_mutex lock;
	struct uiommu_pci_core_desc d;
	bool enumerated;
	struct uiommu_pci_func *funcs;
	size_t nfuncs, cap;
	uint64_t mem_next, mem64_next;	/* bump pointers of the windows */
};

/* ------------------------------------------------------------- access */

static int rd(struct uiommu_pci_func *fn, unsigned int off, unsigned int size,
	      uint32_t *v)
{
	struct uiommu_pci_core *c = fn->core;

	return c->d.cfg_ops->read(c->d.cfg_opaque, fn->info.bus,
				  fn->info.devfn, off, size, v);
}

static int wr(struct uiommu_pci_func *fn, unsigned int off, unsigned int size,
	      uint32_t v)
{
	struct uiommu_pci_core *c = fn->core;

	return c->d.cfg_ops->write(c->d.cfg_opaque, fn->info.bus,
				   fn->info.devfn, off, size, v);
}

/* Read-modify-write of a 16-bit register: clear @clr, then set @set. */
static int rmw16(struct uiommu_pci_func *fn, unsigned int off, uint16_t clr,
		 uint16_t set)
{
	uint32_t v;
	int ret = rd(fn, off, 2, &v);

	return ret ? ret : wr(fn, off, 2, (v & ~(uint32_t)clr) | set);
}

static bool cfg_args_ok(unsigned int off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && off < 4096 &&
	       !(off & (size - 1));
}

UIOMMU_API int uiommu_pci_func_cfg_read(struct uiommu_pci_func *fn,
					unsigned int off, unsigned int size,
					uint32_t *val)
{
	if (!fn || !val || !cfg_args_ok(off, size))
		return uio_fail(-EINVAL, SUBSYS, "cfg_read: off 0x%x size %u",
				off, size);
	return rd(fn, off, size, val);
}

UIOMMU_API int uiommu_pci_func_cfg_write(struct uiommu_pci_func *fn,
					 unsigned int off, unsigned int size,
					 uint32_t val)
{
	if (!fn || !cfg_args_ok(off, size))
		return uio_fail(-EINVAL, SUBSYS, "cfg_write: off 0x%x size %u",
				off, size);
	return wr(fn, off, size, val);
}

UIOMMU_API int uiommu_pci_func_find_cap(struct uiommu_pci_func *fn,
					uint8_t id, unsigned int *off)
{
	uint32_t sts, ptr, cid;
	int ret, n = 0;

	if (!fn || !off)
		return uio_fail(-EINVAL, SUBSYS, "find_cap: NULL argument");
	ret = rd(fn, PCI_STATUS, 2, &sts);
	if (ret)
		return ret;
	if (!UIO_FEX32(sts, PCI_STS, CAP_LIST))
		return -ENOENT;
	ret = rd(fn, PCI_CAPABILITY_LIST, 1, &ptr);
	/* The bottom two bits are reserved (PCIe 6.0, 7.5.1.1.11). */
	for (ptr &= ~3u; !ret && ptr; ptr &= ~3u) {
		if (ptr < PCI_CAP_START || ++n > 48)
			return uio_fail(-EIO, SUBSYS, "%02x:%02x.%x: capability"
					" list broken at 0x%x", fn->info.bus,
					fn->info.devfn >> 3, fn->info.devfn & 7,
					ptr);
		ret = rd(fn, ptr + PCI_CAP_ID, 1, &cid);
		if (!ret && cid == id) {
			*off = ptr;
			return 0;
		}
		if (!ret)
			ret = rd(fn, ptr + PCI_CAP_NEXT, 1, &ptr);
	}
	return ret ? ret : -ENOENT;
}

UIOMMU_API int uiommu_pci_func_set_master(struct uiommu_pci_func *fn,
					  bool enable)
{
	if (!fn)
		return uio_fail(-EINVAL, SUBSYS, "set_master: NULL function");
	return rmw16(fn, PCI_COMMAND, (uint16_t)PCI_CMD_MASTER_MASK,
		     enable ? (uint16_t)PCI_CMD_MASTER_MASK : 0);
}

/* --------------------------------------------------------- lifecycle */

UIOMMU_API int uiommu_pci_core_create(const struct uiommu_pci_core_desc *desc,
				      struct uiommu_pci_core **out)
{
	struct uiommu_pci_core *c;

	if (!desc || !out || !desc->pm || !desc->cfg_ops ||
	    !desc->cfg_ops->read || !desc->cfg_ops->write)
		return uio_fail(-EINVAL, SUBSYS, "create: NULL argument");
	if (desc->bus_start > desc->bus_end || desc->bus_end > 255 ||
	    (desc->mem_size && (desc->mem_base + desc->mem_size > FOUR_GIB ||
				desc->mem_base + desc->mem_size < desc->mem_base)) ||
	    desc->mem64_base + desc->mem64_size < desc->mem64_base)
		return uio_fail(-EINVAL, SUBSYS,
				"bus-range %u-%u windows 0x%" PRIx64 "+0x%" PRIx64
				" 0x%" PRIx64 "+0x%" PRIx64, desc->bus_start,
				desc->bus_end, desc->mem_base, desc->mem_size,
				desc->mem64_base, desc->mem64_size);
	c = uio_new(struct uiommu_pci_core);
	if (!c)
		return -ENOMEM;
	uio_mutex_init(&c->lock);
	c->d = *desc;
	c->mem_next = desc->mem_base;
	c->mem64_next = desc->mem64_base;
	*out = c;
	return 0;
}

UIOMMU_API void uiommu_pci_core_destroy(struct uiommu_pci_core *core)
{
	if (!core)
		return;
	for (size_t i = 0; i < core->nfuncs; i++)
		if (core->funcs[i].info.irq_mode != UIOMMU_PCI_IRQ_NONE &&
		    uiommu_pci_free_irq_vectors(&core->funcs[i]))
			uio_warn(SUBSYS, "could not disable interrupts of "
				 "function %zu", i);
	if (core->funcs)
		uio_free_array(core->funcs, core->cap, sizeof(*core->funcs));
	uio_mutex_destroy(&core->lock);
	uio_delete(core);
}

UIOMMU_API size_t uiommu_pci_core_count(struct uiommu_pci_core *core)
{
	return core ? core->nfuncs : 0;
}

UIOMMU_API struct uiommu_pci_func *
uiommu_pci_core_func(struct uiommu_pci_core *core, size_t idx)
{
	return core && idx < core->nfuncs ? &core->funcs[idx] : NULL;
}

UIOMMU_API struct uiommu_pci_func *
uiommu_pci_core_find(struct uiommu_pci_core *core, unsigned int bus,
		     unsigned int devfn)
{
	for (size_t i = 0; core && i < core->nfuncs; i++)
		if (core->funcs[i].info.bus == bus &&
		    core->funcs[i].info.devfn == devfn)
			return &core->funcs[i];
	return NULL;
}

UIOMMU_API void uiommu_pci_func_get_info(struct uiommu_pci_func *fn,
					 struct uiommu_pci_func_info *info)
{
	uio_lock(&fn->core->lock);
	*info = fn->info;
	uio_unlock(&fn->core->lock);
}

/* --------------------------------------------------------- enumeration */

/* Size BAR @i (decode is off); returns the number of BAR slots it uses. */
static int size_bar(struct uiommu_pci_func *fn, unsigned int i,
		    unsigned int *used)
{
	unsigned int off = PCI_BAR0 + 4 * i;
	struct uiommu_pci_bar_info *b = &fn->info.bar[i];
	uint32_t orig, lo, hi = 0xffffffff, orig_hi = 0;
	uint64_t mask;
	int ret;

	*used = 1;
	if ((ret = rd(fn, off, 4, &orig)) || (ret = wr(fn, off, 4, 0xffffffff)) ||
	    (ret = rd(fn, off, 4, &lo)) || (ret = wr(fn, off, 4, orig)))
		return ret;
	if (!lo || UIO_FEX32(lo, PCI_BAR, SPACE))	/* none, or I/O */
		return 0;
	b->is64 = UIO_FEX32(lo, PCI_BAR, TYPE) == PCI_BAR_TYPE_64;
	b->prefetch = UIO_FEX32(lo, PCI_BAR, PREFETCH);
	if (b->is64 && i < 5) {
		*used = 2;
		if ((ret = rd(fn, off + 4, 4, &orig_hi)) ||
		    (ret = wr(fn, off + 4, 4, 0xffffffff)) ||
		    (ret = rd(fn, off + 4, 4, &hi)) ||
		    (ret = wr(fn, off + 4, 4, orig_hi)))
			return ret;
	}
	mask = ((uint64_t)hi << 32) | (lo & (uint32_t)PCI_BAR_ADDR_MASK);
	if (!b->is64)
		mask |= UINT64_C(0xffffffff) << 32;
	if (!mask)
		return 0;
	b->size = ~mask + 1;
	return 0;
}

static int add_func(struct uiommu_pci_core *c, unsigned int bus,
		    unsigned int devfn, uint32_t id)
{
	struct uiommu_pci_func *fn;

	if (c->nfuncs == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 8;
		struct uiommu_pci_func *n = uio_calloc(ncap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (c->funcs) {
			memcpy(n, c->funcs, c->nfuncs * sizeof(*n));
			uio_free_array(c->funcs, c->cap, sizeof(*n));
		}
		c->funcs = n;
		c->cap = ncap;
	}
	fn = &c->funcs[c->nfuncs++];
	memset(fn, 0, sizeof(*fn));
	fn->core = c;
	fn->info.bus = bus;
	fn->info.devfn = devfn;
	fn->info.rid = UIOMMU_PCI_RID(bus, devfn);
	fn->info.vendor_id = (uint16_t)id;
	fn->info.device_id = (uint16_t)(id >> 16);
	return 0;
}

/* Identify a function's BARs and interrupt capabilities. */
static int probe_func(struct uiommu_pci_func *fn)
{
	uint32_t v, cmd;
	unsigned int used;
	int ret;

	if ((ret = rd(fn, PCI_REVISION_ID, 4, &v)))
		return ret;
	fn->info.class_code = v >> 8;
	/* Sizing moves the BARs: decode off meanwhile, as Linux does. */
	if ((ret = rd(fn, PCI_COMMAND, 2, &cmd)) ||
	    (ret = wr(fn, PCI_COMMAND, 2, cmd & ~(uint32_t)(PCI_CMD_MEM_MASK |
							    PCI_CMD_IO_MASK))))
		return ret;
	for (unsigned int i = 0; i < 6 && !ret; i += used)
		ret = size_bar(fn, i, &used);
	if (!ret)
		ret = wr(fn, PCI_COMMAND, 2, cmd);
	if (ret)
		return ret;
	if (!uiommu_pci_func_find_cap(fn, PCI_CAP_ID_MSI, &fn->info.msi_cap)) {
		if ((ret = rd(fn, fn->info.msi_cap + PCI_MSI_FLAGS, 2, &v)))
			return ret;
		fn->info.msi_max = 1u << UIO_FEX32(v, PCI_MSI_CTL, MMC);
		fn->msi_64 = UIO_FEX32(v, PCI_MSI_CTL, ADDR64);
		fn->msi_pvm = UIO_FEX32(v, PCI_MSI_CTL, PVM);
	}
	if (!uiommu_pci_func_find_cap(fn, PCI_CAP_ID_MSIX, &fn->info.msix_cap)) {
		if ((ret = rd(fn, fn->info.msix_cap + PCI_MSIX_FLAGS, 2, &v)))
			return ret;
		fn->info.msix_max = UIO_FEX32(v, PCI_MSIX_CTL, QSIZE) + 1;
		if ((ret = rd(fn, fn->info.msix_cap + PCI_MSIX_TABLE, 4, &v)))
			return ret;
		fn->msix_table_bir = (uint8_t)UIO_FEX32(v, PCI_MSIX_LOC, BIR);
		fn->msix_table_off = v & (uint32_t)PCI_MSIX_LOC_OFFSET_MASK;
	}
	return 0;
}

/* Find extended capability @id (PCIe 6.0, 7.6.3); 0 if absent. */
static int find_ext_cap(struct uiommu_pci_func *fn, uint16_t id,
			unsigned int *pos)
{
	unsigned int off = PCI_EXT_CAP_START, n = 0;
	uint32_t hdr;
	int ret;

	*pos = 0;
	while (off >= PCI_EXT_CAP_START && n++ < 960) {
		if ((ret = rd(fn, off, 4, &hdr)))
			return ret;
		if (!hdr || hdr == 0xffffffff)
			return 0;
		if (UIO_FEX32(hdr, PCI_EXT_CAP, ID) == id) {
			*pos = off;
			return 0;
		}
		off = UIO_FEX32(hdr, PCI_EXT_CAP, NEXT) & ~3u;
	}
	return 0;
}

/* PCIe type, Multi-Function, ACS; enable ACS features on request. */
static int probe_topology(struct uiommu_pci_func *fn, uint32_t hdr_type)
{
	unsigned int pos;
	uint32_t v;
	int ret;

	fn->info.multifunction = UIO_FEX32(hdr_type, PCI_HDR, MULTI);
	fn->info.pcie_type = -1;
	if (uiommu_pci_func_find_cap(fn, PCI_CAP_ID_EXP, &pos))
		return 0;
	if ((ret = rd(fn, pos + PCI_EXP_FLAGS, 2, &v)))
		return ret;
	fn->info.pcie_type = (int)UIO_FEX32(v, PCI_EXP_FLAGS, TYPE);
	if ((ret = find_ext_cap(fn, PCI_EXT_CAP_ID_ACS, &pos)) || !pos)
		return ret;
	fn->info.acs_pos = pos;
	if ((ret = rd(fn, pos + PCI_ACS_CAP, 2, &v)))
		return ret;
	fn->info.acs_cap = (uint16_t)v;
	if (fn->core->d.request_acs) {
		uint32_t want = v & (uint32_t)(PCI_ACS_SV_MASK | PCI_ACS_RR_MASK |
					       PCI_ACS_CR_MASK | PCI_ACS_UF_MASK);

		if ((ret = rmw16(fn, pos + PCI_ACS_CTRL, 0, (uint16_t)want)))
			return ret;
	}
	if ((ret = rd(fn, pos + PCI_ACS_CTRL, 2, &v)))
		return ret;
	fn->info.acs_ctrl = (uint16_t)v;
	return 0;
}

static int scan(struct uiommu_pci_core *c)
{
	for (unsigned int bus = c->d.bus_start; bus <= c->d.bus_end; bus++) {
		for (unsigned int devfn = 0; devfn < 256; devfn++) {
			struct uiommu_pci_func tmp = { .core = c };
			uint32_t id, hdr;
			int ret;

			tmp.info.bus = bus;
			tmp.info.devfn = devfn;
			if ((ret = rd(&tmp, PCI_VENDOR_ID, 4, &id)))
				return ret;
			if ((id & 0xffff) == 0xffff) {
				if (!(devfn & 7))
					devfn += 7;	/* no function 0 */
				continue;
			}
			if ((ret = rd(&tmp, PCI_HEADER_TYPE, 1, &hdr)))
				return ret;
			if (UIO_FEX32(hdr, PCI_HDR, LAYOUT) != 0)
				uio_unimp(SUBSYS, "%02x:%02x.%x: header type %u "
					  "skipped", bus, devfn >> 3, devfn & 7,
					  UIO_FEX32(hdr, PCI_HDR, LAYOUT));
			else if ((ret = add_func(c, bus, devfn, id)) ||
				 (ret = probe_func(&c->funcs[c->nfuncs - 1])) ||
				 (ret = probe_topology(&c->funcs[c->nfuncs - 1],
						       hdr)))
				return ret;
			if (!(devfn & 7) && !UIO_FEX32(hdr, PCI_HDR, MULTI))
				devfn += 7;
		}
	}
	return 0;
}

struct bar_ref {
	struct uiommu_pci_func *fn;
	unsigned int bar;
};

static int bar_cmp(const void *a, const void *b)
{
	const struct bar_ref *x = a, *y = b;
	uint64_t sx = x->fn->info.bar[x->bar].size;
	uint64_t sy = y->fn->info.bar[y->bar].size;

	if (sx != sy)
		return sx < sy ? 1 : -1;
	if (x->fn != y->fn)		/* stable: enumeration order */
		return x->fn < y->fn ? -1 : 1;
	return (int)x->bar - (int)y->bar;
}

/* Take @size bytes aligned to @size from a window's bump pointer. */
static bool carve(uint64_t *next, uint64_t base, uint64_t wsize, uint64_t size,
		  uint64_t *addr)
{
	uint64_t a = uio_align_up(*next, size);

	if (!wsize || a < *next || a - base > wsize || wsize - (a - base) < size)
		return false;
	*addr = a;
	*next = a + size;
	return true;
}

static int program_bar(struct uiommu_pci_func *fn, unsigned int i)
{
	struct uiommu_pci_bar_info *b = &fn->info.bar[i];
	uint32_t lo;
	int ret = rd(fn, PCI_BAR0 + 4 * i, 4, &lo);

	if (ret)
		return ret;
	lo = (lo & ~(uint32_t)PCI_BAR_ADDR_MASK) | ((uint32_t)b->addr & (uint32_t)PCI_BAR_ADDR_MASK);
	ret = wr(fn, PCI_BAR0 + 4 * i, 4, lo);
	if (!ret && b->is64)
		ret = wr(fn, PCI_BAR0 + 4 * i + 4, 4, (uint32_t)(b->addr >> 32));
	return ret;
}

static int assign(struct uiommu_pci_core *c)
{
	struct bar_ref *refs;
	size_t n = 0;
	int ret = 0;

	refs = uio_calloc(c->nfuncs * 6 + 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t f = 0; f < c->nfuncs; f++)
		for (unsigned int i = 0; i < 6; i++)
			if (c->funcs[f].info.bar[i].size)
				refs[n++] = (struct bar_ref){ &c->funcs[f], i };
	qsort(refs, n, sizeof(*refs), bar_cmp);
	for (size_t k = 0; k < n && !ret; k++) {
		struct uiommu_pci_func *fn = refs[k].fn;
		struct uiommu_pci_bar_info *b = &fn->info.bar[refs[k].bar];

		b->assigned = (b->is64 && carve(&c->mem64_next, c->d.mem64_base,
						c->d.mem64_size, b->size,
						&b->addr)) ||
			      carve(&c->mem_next, c->d.mem_base, c->d.mem_size,
				    b->size, &b->addr);
		if (b->assigned) {
			trace_pci_core_bar(fn->info.rid, refs[k].bar, b->addr,
					   b->size);
			ret = program_bar(fn, refs[k].bar);
		}
		else
			uio_err(SUBSYS, "%02x:%02x.%x: no room for BAR %u of "
				"0x%" PRIx64 " bytes", fn->info.bus,
				fn->info.devfn >> 3, fn->info.devfn & 7,
				refs[k].bar, b->size);
	}
	uio_free_array(refs, c->nfuncs * 6 + 1, sizeof(*refs));
	return ret;
}

static int enable_decode(struct uiommu_pci_core *c)
{
	for (size_t f = 0; f < c->nfuncs; f++) {
		struct uiommu_pci_func *fn = &c->funcs[f];
		bool all = true;
		int ret;

		for (unsigned int i = 0; i < 6; i++)
			all &= !fn->info.bar[i].size || fn->info.bar[i].assigned;
		if (!all)
			continue;
		ret = rmw16(fn, PCI_COMMAND, 0, (uint16_t)PCI_CMD_MEM_MASK);
		if (ret)
			return ret;
	}
	return 0;
}

UIOMMU_API int uiommu_pci_core_enumerate(struct uiommu_pci_core *core)
{
	int ret;

	if (!core)
		return uio_fail(-EINVAL, SUBSYS, "enumerate: NULL core");
	uio_lock(&core->lock);
	if (core->enumerated) {
		uio_unlock(&core->lock);
		return uio_fail(-EBUSY, SUBSYS, "already enumerated");
	}
	ret = scan(core);
	if (!ret)
		ret = assign(core);
	if (!ret)
		ret = enable_decode(core);
	if (ret) {
		/* Forget what was found: a retry starts from scratch. */
		if (core->funcs)
			uio_free_array(core->funcs, core->cap,
				       sizeof(*core->funcs));
		core->funcs = NULL;
		core->nfuncs = core->cap = 0;
		core->mem_next = core->d.mem_base;
		core->mem64_next = core->d.mem64_base;
	} else {
		core->enumerated = true;
		uio_info(SUBSYS, "%zu functions", core->nfuncs);
	}
	uio_unlock(&core->lock);
	return ret;
}

/* ----------------------------------------------------------------- MSI */

static unsigned int msi_reg(const struct uiommu_pci_func *fn, unsigned int r32,
			    unsigned int r64)
{
	return fn->info.msi_cap + (fn->msi_64 ? r64 : r32);
}

static uint32_t low_bits(unsigned int n)
{
	return n >= 32 ? UINT32_MAX : (UINT32_C(1) << n) - 1;
}

static int msi_write_msg(struct uiommu_pci_func *fn,
			 const struct uiommu_pci_msi_msg *m)
{
	unsigned int c = fn->info.msi_cap;
	int ret;

	if (!fn->msi_64 && (m->address >> 32))
		return uio_fail(-EINVAL, SUBSYS, "%04x: MSI address 0x%" PRIx64
				" above 4 GiB, capability is 32-bit",
				fn->info.rid, m->address);
	ret = wr(fn, c + PCI_MSI_ADDR_LO, 4, (uint32_t)m->address);
	if (!ret && fn->msi_64)
		ret = wr(fn, c + PCI_MSI_ADDR_HI, 4, (uint32_t)(m->address >> 32));
	if (!ret)
		ret = wr(fn, msi_reg(fn, PCI_MSI_DATA_32, PCI_MSI_DATA_64), 2,
			 m->data & 0xffff);
	return ret;
}

/* Messages of all @n vectors must form one multiple-message block. */
static int msi_compose_all(struct uiommu_pci_func *fn, unsigned int n,
			   unsigned int n2, uiommu_pci_compose_fn compose,
			   void *opaque, struct uiommu_pci_msi_msg *base)
{
	for (unsigned int v = 0; v < n; v++) {
		struct uiommu_pci_msi_msg m;
		int ret = compose(opaque, fn, v, &m);

		if (ret)
			return ret;
		if (!v)
			*base = m;
		if (m.address != base->address || m.data != base->data + v ||
		    (base->data & (n2 - 1)) || m.data > 0xffff)
			return uio_fail(-EINVAL, SUBSYS,
					"%04x: MSI vector %u message 0x%" PRIx64
					"/0x%" PRIx32 " does not extend vector 0's",
					fn->info.rid, v, m.address, m.data);
	}
	return 0;
}

static int msi_enable(struct uiommu_pci_func *fn, unsigned int n,
		      uiommu_pci_compose_fn compose, void *opaque)
{
	unsigned int c = fn->info.msi_cap, mme = 0;
	unsigned int mask_reg = msi_reg(fn, PCI_MSI_MASK_32, PCI_MSI_MASK_64);
	struct uiommu_pci_msi_msg base;
	uint32_t ctl;
	int ret;

	while ((1u << mme) < n)
		mme++;
	ret = msi_compose_all(fn, n, 1u << mme, compose, opaque, &base);
	if (ret)
		return ret;
	/* Mask every vector the function has, program, enable, unmask. */
	if (fn->msi_pvm && (ret = wr(fn, mask_reg, 4, low_bits(fn->info.msi_max))))
		return ret;
	if ((ret = msi_write_msg(fn, &base)) || (ret = rd(fn, c + PCI_MSI_FLAGS, 2, &ctl)))
		return ret;
	ctl = UIO_FDP32(ctl, PCI_MSI_CTL, MME, mme);
	if ((ret = wr(fn, c + PCI_MSI_FLAGS, 2, ctl)) ||
	    (ret = rmw16(fn, PCI_COMMAND, 0, (uint16_t)PCI_CMD_INTX_DISABLE_MASK)) ||
	    (ret = wr(fn, c + PCI_MSI_FLAGS, 2, UIO_FDP32(ctl, PCI_MSI_CTL, ENABLE, 1))))
		return ret;
	if (fn->msi_pvm)
		ret = wr(fn, mask_reg, 4, low_bits(fn->info.msi_max) & ~low_bits(n));
	return ret;
}

static int msi_disable(struct uiommu_pci_func *fn)
{
	unsigned int c = fn->info.msi_cap;
	int ret = rmw16(fn, c + PCI_MSI_FLAGS, (uint16_t)PCI_MSI_CTL_ENABLE_MASK, 0);

	if (!ret)
		ret = rmw16(fn, PCI_COMMAND, (uint16_t)PCI_CMD_INTX_DISABLE_MASK, 0);
	/* The function goes back unmasked, its state after reset. */
	if (!ret && fn->msi_pvm)
		ret = wr(fn, msi_reg(fn, PCI_MSI_MASK_32, PCI_MSI_MASK_64), 4, 0);
	return ret;
}

/* --------------------------------------------------------------- MSI-X */

static int msix_entry_pa(struct uiommu_pci_func *fn, unsigned int v,
			 uint64_t *pa)
{
	struct uiommu_pci_bar_info *b = &fn->info.bar[fn->msix_table_bir];

	if (fn->msix_table_bir > 5 || !b->assigned)
		return uio_fail(-ENODEV, SUBSYS, "%04x: MSI-X table in "
				"unassigned BAR %u", fn->info.rid,
				fn->msix_table_bir);
	*pa = b->addr + fn->msix_table_off + (uint64_t)v * PCI_MSIX_ENTRY_SIZE;
	return 0;
}

static int msix_wr(struct uiommu_pci_func *fn, unsigned int v,
		   unsigned int dw, uint32_t val)
{
	uint64_t pa = 0;
	int ret = msix_entry_pa(fn, v, &pa);

	return ret ? ret : uiommu_phys_st(fn->core->d.pm, pa + 4 * dw, 4, val,
					  NULL);
}

static int msix_rd(struct uiommu_pci_func *fn, unsigned int v, unsigned int dw,
		   uint32_t *val)
{
	uint64_t pa = 0, x;
	int ret = msix_entry_pa(fn, v, &pa);

	if (!ret)
		ret = uiommu_phys_ld(fn->core->d.pm, pa + 4 * dw, 4, &x, NULL);
	if (!ret)
		*val = (uint32_t)x;
	return ret;
}

static int msix_set_mask(struct uiommu_pci_func *fn, unsigned int v,
			 bool masked)
{
	return msix_wr(fn, v, PCI_MSIX_ENTRY_CTRL,
		       UIO_FDP32(0, PCI_MSIX_VCTL, MASK, masked));
}

static int msix_write_entry(struct uiommu_pci_func *fn, unsigned int v,
			    const struct uiommu_pci_msi_msg *m)
{
	int ret = msix_wr(fn, v, PCI_MSIX_ENTRY_ADDR_LO, (uint32_t)m->address);

	if (!ret)
		ret = msix_wr(fn, v, PCI_MSIX_ENTRY_ADDR_HI,
			      (uint32_t)(m->address >> 32));
	if (!ret)
		ret = msix_wr(fn, v, PCI_MSIX_ENTRY_DATA, m->data);
	return ret;
}

static int msix_disable(struct uiommu_pci_func *fn, unsigned int n)
{
	int ret = 0;

	for (unsigned int v = 0; v < n && !ret; v++)
		ret = msix_set_mask(fn, v, true);
	if (!ret)
		ret = rmw16(fn, fn->info.msix_cap + PCI_MSIX_FLAGS,
			    (uint16_t)(PCI_MSIX_CTL_ENABLE_MASK |
				       PCI_MSIX_CTL_MASKALL_MASK), 0);
	if (!ret)
		ret = rmw16(fn, PCI_COMMAND, (uint16_t)PCI_CMD_INTX_DISABLE_MASK, 0);
	return ret;
}

static int msix_enable(struct uiommu_pci_func *fn, unsigned int n,
		       uiommu_pci_compose_fn compose, void *opaque)
{
	unsigned int c = fn->info.msix_cap;
	uint64_t pa = 0;
	int ret = msix_entry_pa(fn, 0, &pa);

	if (ret)
		return ret;
	/* Enabled but function-masked while the table is set up. */
	ret = rmw16(fn, c + PCI_MSIX_FLAGS, 0,
		    (uint16_t)(PCI_MSIX_CTL_ENABLE_MASK | PCI_MSIX_CTL_MASKALL_MASK));
	for (unsigned int v = 0; v < fn->info.msix_max && !ret; v++)
		ret = msix_set_mask(fn, v, true);
	for (unsigned int v = 0; v < n && !ret; v++) {
		struct uiommu_pci_msi_msg m;

		ret = compose(opaque, fn, v, &m);
		if (!ret)
			ret = msix_write_entry(fn, v, &m);
	}
	if (!ret)
		ret = rmw16(fn, PCI_COMMAND, 0, (uint16_t)PCI_CMD_INTX_DISABLE_MASK);
	for (unsigned int v = 0; v < n && !ret; v++)
		ret = msix_set_mask(fn, v, false);
	if (!ret)
		ret = rmw16(fn, c + PCI_MSIX_FLAGS,
			    (uint16_t)PCI_MSIX_CTL_MASKALL_MASK, 0);
	if (ret && msix_disable(fn, fn->info.msix_max))
		uio_warn(SUBSYS, "%04x: MSI-X rollback failed", fn->info.rid);
	return ret;
}

/* ------------------------------------------------------------- vectors */

UIOMMU_API int uiommu_pci_alloc_irq_vectors(struct uiommu_pci_func *fn,
					    unsigned int min, unsigned int max,
					    unsigned int flags,
					    uiommu_pci_compose_fn compose,
					    void *opaque, unsigned int *nvec)
{
	bool want_x = flags & UIOMMU_PCI_IRQ_FLAG_MSIX;
	bool want_msi = flags & UIOMMU_PCI_IRQ_FLAG_MSI;
	unsigned int n;
	int ret;

	if (!fn || !compose || !nvec || !min || min > max ||
	    !(want_x || want_msi) ||
	    (flags & ~(UIOMMU_PCI_IRQ_FLAG_MSI | UIOMMU_PCI_IRQ_FLAG_MSIX)))
		return uio_fail(-EINVAL, SUBSYS, "alloc_irq_vectors: min %u "
				"max %u flags 0x%x", min, max, flags);
	uio_lock(&fn->core->lock);
	if (fn->info.irq_mode != UIOMMU_PCI_IRQ_NONE) {
		ret = uio_fail(-EBUSY, SUBSYS, "%04x: vectors already allocated",
			       fn->info.rid);
	} else if (want_x && fn->info.msix_cap && fn->info.msix_max >= min) {
		n = max < fn->info.msix_max ? max : fn->info.msix_max;
		ret = msix_enable(fn, n, compose, opaque);
		if (!ret) {
			fn->info.irq_mode = UIOMMU_PCI_IRQ_MSIX;
			fn->info.nvec = n;
		}
	} else if (want_msi && fn->info.msi_cap && fn->info.msi_max >= min) {
		n = max < fn->info.msi_max ? max : fn->info.msi_max;
		ret = msi_enable(fn, n, compose, opaque);
		if (ret && msi_disable(fn))
			uio_warn(SUBSYS, "%04x: MSI rollback failed", fn->info.rid);
		if (!ret) {
			fn->info.irq_mode = UIOMMU_PCI_IRQ_MSI;
			fn->info.nvec = n;
		}
	} else {
		ret = (want_x && fn->info.msix_cap) || (want_msi && fn->info.msi_cap) ?
		      -ENOSPC : -ENODEV;
		uio_err(SUBSYS, "%04x: cannot allocate %u..%u vectors: %s",
			fn->info.rid, min, max, uiommu_strerror(ret));
	}
	if (!ret) {
		*nvec = fn->info.nvec;
		trace_pci_core_irq_enable(fn->info.rid,
					  fn->info.irq_mode == UIOMMU_PCI_IRQ_MSIX ?
					  "msix" : "msi", fn->info.nvec);
	}
	uio_unlock(&fn->core->lock);
	return ret;
}

UIOMMU_API int uiommu_pci_free_irq_vectors(struct uiommu_pci_func *fn)
{
	int ret;

	if (!fn)
		return uio_fail(-EINVAL, SUBSYS, "free_irq_vectors: NULL");
	uio_lock(&fn->core->lock);
	switch (fn->info.irq_mode) {
	case UIOMMU_PCI_IRQ_MSIX:
		ret = msix_disable(fn, fn->info.nvec);
		break;
	case UIOMMU_PCI_IRQ_MSI:
		ret = msi_disable(fn);
		break;
	default:
		ret = -ENOENT;
		break;
	}
	if (!ret) {
		trace_pci_core_irq_disable(fn->info.rid,
					   fn->info.irq_mode == UIOMMU_PCI_IRQ_MSIX ?
					   "msix" : "msi");
		fn->info.irq_mode = UIOMMU_PCI_IRQ_NONE;
		fn->info.nvec = 0;
	}
	uio_unlock(&fn->core->lock);
	return ret;
}

UIOMMU_API int uiommu_pci_irq_set_masked(struct uiommu_pci_func *fn,
					 unsigned int vector, bool masked)
{
	int ret;

	if (!fn)
		return uio_fail(-EINVAL, SUBSYS, "set_masked: NULL");
	uio_lock(&fn->core->lock);
	if (vector >= fn->info.nvec) {
		ret = uio_fail(-EINVAL, SUBSYS, "%04x: vector %u not allocated",
			       fn->info.rid, vector);
	} else if (fn->info.irq_mode == UIOMMU_PCI_IRQ_MSIX) {
		ret = msix_set_mask(fn, vector, masked);
	} else if (!fn->msi_pvm) {
		ret = -EOPNOTSUPP;
	} else {
		unsigned int r = msi_reg(fn, PCI_MSI_MASK_32, PCI_MSI_MASK_64);
		uint32_t m;

		ret = rd(fn, r, 4, &m);
		if (!ret)
			ret = wr(fn, r, 4, masked ? m | UINT32_C(1) << vector :
					     m & ~(UINT32_C(1) << vector));
	}
	uio_unlock(&fn->core->lock);
	return ret;
}

UIOMMU_API int uiommu_pci_irq_write_msg(struct uiommu_pci_func *fn,
					unsigned int vector,
					const struct uiommu_pci_msi_msg *msg)
{
	struct uiommu_pci_msi_msg base;
	uint32_t ctrl = 0;
	int ret;

	if (!fn || !msg)
		return uio_fail(-EINVAL, SUBSYS, "write_msg: NULL");
	uio_lock(&fn->core->lock);
	if (vector >= fn->info.nvec) {
		ret = uio_fail(-EINVAL, SUBSYS, "%04x: vector %u not allocated",
			       fn->info.rid, vector);
	} else if (fn->info.irq_mode == UIOMMU_PCI_IRQ_MSIX) {
		/* An unmasked entry is masked while it changes. */
		ret = msix_rd(fn, vector, PCI_MSIX_ENTRY_CTRL, &ctrl);
		if (!ret && !UIO_FEX32(ctrl, PCI_MSIX_VCTL, MASK))
			ret = msix_set_mask(fn, vector, true);
		if (!ret)
			ret = msix_write_entry(fn, vector, msg);
		if (!ret && !UIO_FEX32(ctrl, PCI_MSIX_VCTL, MASK))
			ret = msix_set_mask(fn, vector, false);
	} else {
		base = *msg;
		base.data -= vector;
		ret = msi_write_msg(fn, &base);
	}
	uio_unlock(&fn->core->lock);
	return ret;
}

/* The message of MSI vector @vector as the capability holds it. */
static int msi_read_msg(struct uiommu_pci_func *fn, unsigned int vector,
			struct uiommu_pci_msi_msg *m, bool *masked)
{
	unsigned int c = fn->info.msi_cap;
	uint32_t lo, hi = 0, data, mask = 0, ctl, nen;
	int ret;

	ret = rd(fn, c + PCI_MSI_FLAGS, 2, &ctl);
	if (!ret)
		ret = rd(fn, c + PCI_MSI_ADDR_LO, 4, &lo);
	if (!ret && fn->msi_64)
		ret = rd(fn, c + PCI_MSI_ADDR_HI, 4, &hi);
	if (!ret)
		ret = rd(fn, msi_reg(fn, PCI_MSI_DATA_32, PCI_MSI_DATA_64), 2,
			 &data);
	if (!ret && fn->msi_pvm)
		ret = rd(fn, msi_reg(fn, PCI_MSI_MASK_32, PCI_MSI_MASK_64), 4,
			 &mask);
	if (ret)
		return ret;
	/*
	 * Multiple Message (PCI Local Bus 3.0, 6.8.1.3 Message Data): vector
	 * i replaces the low log2(enabled) bits of the data, as the function
	 * sends it.
	 */
	nen = 1u << UIO_FEX32(ctl, PCI_MSI_CTL, MME);
	m->address = (uint64_t)hi << 32 | lo;
	m->data = ((data & 0xffff) & ~(nen - 1)) | vector;
	*masked = mask >> vector & 1;
	return 0;
}

static int msix_read_msg(struct uiommu_pci_func *fn, unsigned int vector,
			 struct uiommu_pci_msi_msg *m, bool *masked)
{
	uint32_t lo, hi, data, ctrl;
	int ret;

	ret = msix_rd(fn, vector, PCI_MSIX_ENTRY_ADDR_LO, &lo);
	if (!ret)
		ret = msix_rd(fn, vector, PCI_MSIX_ENTRY_ADDR_HI, &hi);
	if (!ret)
		ret = msix_rd(fn, vector, PCI_MSIX_ENTRY_DATA, &data);
	if (!ret)
		ret = msix_rd(fn, vector, PCI_MSIX_ENTRY_CTRL, &ctrl);
	if (ret)
		return ret;
	m->address = (uint64_t)hi << 32 | lo;
	m->data = data;
	*masked = UIO_FEX32(ctrl, PCI_MSIX_VCTL, MASK);
	return 0;
}

UIOMMU_API int uiommu_pci_irq_read_msg(struct uiommu_pci_func *fn,
				       unsigned int vector,
				       struct uiommu_pci_msi_msg *msg,
				       bool *masked)
{
	bool mask = false;
	int ret;

	if (!fn || !msg)
		return uio_fail(-EINVAL, SUBSYS, "read_msg: NULL");
	uio_lock(&fn->core->lock);
	if (vector >= fn->info.nvec)
		ret = uio_fail(-EINVAL, SUBSYS, "%04x: vector %u not allocated",
			       fn->info.rid, vector);
	else if (fn->info.irq_mode == UIOMMU_PCI_IRQ_MSIX)
		ret = msix_read_msg(fn, vector, msg, &mask);
	else
		ret = msi_read_msg(fn, vector, msg, &mask);
	uio_unlock(&fn->core->lock);
	if (!ret && masked)
		*masked = mask;
	return ret;
}

/* -------------------------------------------------------------- check */

static bool in_window(uint64_t a, uint64_t s, uint64_t base, uint64_t size)
{
	return size && a >= base && a - base <= size && size - (a - base) >= s;
}

/* Assigned BARs of all functions must not overlap. */
static int check_disjoint(struct uiommu_pci_core *core)
{
	for (size_t f = 0; f < core->nfuncs; f++)
		for (unsigned int i = 0; i < 6; i++) {
			struct uiommu_pci_bar_info *a = &core->funcs[f].info.bar[i];

			for (size_t g = f; a->assigned && g < core->nfuncs; g++)
				for (unsigned int j = g == f ? i + 1 : 0; j < 6; j++) {
					struct uiommu_pci_bar_info *b =
						&core->funcs[g].info.bar[j];

					if (b->assigned &&
					    uio_ranges_overlap(a->addr, a->addr + a->size - 1,
							       b->addr, b->addr + b->size - 1))
						return uio_fail(-EUCLEAN, SUBSYS,
								"BARs overlap at 0x%" PRIx64,
								b->addr);
				}
		}
	return 0;
}

UIOMMU_API int uiommu_pci_core_check(struct uiommu_pci_core *core)
{
	if (!core)
		return uio_fail(-EINVAL, SUBSYS, "check: NULL core");
	if (check_disjoint(core))
		return -EUCLEAN;
	for (size_t f = 0; f < core->nfuncs; f++) {
		struct uiommu_pci_func *fn = &core->funcs[f];

		if (f && core->funcs[f - 1].info.rid >= fn->info.rid)
			return uio_fail(-EUCLEAN, SUBSYS, "functions not sorted "
					"at %zu", f);
		for (unsigned int i = 0; i < 6; i++) {
			struct uiommu_pci_bar_info *b = &fn->info.bar[i];

			if (!b->assigned)
				continue;
			if (!uio_is_pow2(b->size) || !uio_is_aligned(b->addr, b->size) ||
			    !(in_window(b->addr, b->size, core->d.mem_base,
					core->d.mem_size) ||
			      in_window(b->addr, b->size, core->d.mem64_base,
					core->d.mem64_size)))
				return uio_fail(-EUCLEAN, SUBSYS, "%04x BAR %u at "
						"0x%" PRIx64 " size 0x%" PRIx64,
						fn->info.rid, i, b->addr, b->size);
		}
	}
	return 0;
}
