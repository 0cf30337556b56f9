// SPDX-License-Identifier: MIT
/*
 * Generic PCI type-0 function.
 *
 * Configuration space is three byte arrays: the values, the writable bits
 * and the write-1-to-clear bits.  A write stores (old & ~wmask) |
 * (val & wmask) and then clears the RW1C bits written as one; reads return
 * the values.  BAR sizing needs no special case: a BAR's writable bits are
 * exactly its address bits above the size, so writing all-ones reads back
 * the size mask with the type bits.
 *
 * After a write the function reacts to what changed: the Command register
 * or a BAR moves decoding (applied by the host bridge, pci-host.c), the MSI
 * and MSI-X capabilities may unmask pending vectors (pci-msi.c).
 *
 * BAR regions are served by one dispatcher: accesses to the MSI-X table and
 * PBA go to pci-msi.c, the rest to the device's own callbacks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "pci-internal.h"
#include "trace.h"

#define SUBSYS "pci"

void uio_pci_cfg_set8(struct uiommu_pci_dev *dev, unsigned int off,
		      uint8_t val, uint8_t wmask, uint8_t w1c)
{
	assert(off < PCI_CFG_SIZE);
	dev->cfg[off] = val;
	dev->wmask[off] = wmask;
	dev->w1cmask[off] = w1c;
}

void uio_pci_cfg_set16(struct uiommu_pci_dev *dev, unsigned int off,
		       uint16_t val, uint16_t wmask, uint16_t w1c)
{
	uio_pci_cfg_set8(dev, off, (uint8_t)val, (uint8_t)wmask, (uint8_t)w1c);
	uio_pci_cfg_set8(dev, off + 1, (uint8_t)(val >> 8),
			 (uint8_t)(wmask >> 8), (uint8_t)(w1c >> 8));
}

void uio_pci_cfg_set32(struct uiommu_pci_dev *dev, unsigned int off,
		       uint32_t val, uint32_t wmask, uint32_t w1c)
{
	uio_pci_cfg_set16(dev, off, (uint16_t)val, (uint16_t)wmask,
			  (uint16_t)w1c);
	uio_pci_cfg_set16(dev, off + 2, (uint16_t)(val >> 16),
			  (uint16_t)(wmask >> 16), (uint16_t)(w1c >> 16));
}

/* Little-endian value of @size bytes at @off. */
uint32_t uio_pci_cfg_get(const struct uiommu_pci_dev *dev, unsigned int off,
			 unsigned int size)
{
	uint32_t v = 0;

	assert(off + size <= PCI_CFG_SIZE && size <= 4);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)dev->cfg[off + i] << (8 * i);
	return v;
}

static bool overlaps(unsigned int off, unsigned int size, unsigned int start,
		     unsigned int len)
{
	return off < start + len && start < off + size;
}

int uio_pci_add_cap(struct uiommu_pci_dev *dev, uint8_t id, unsigned int size,
		    unsigned int *off)
{
	unsigned int at = dev->cap_next;

	if (at + size > PCI_CAP_END)
		return uio_fail(-ENOSPC, SUBSYS,
				"%s: no room for capability 0x%x of %u bytes",
				dev->name, id, size);
	if (dev->cap_last)
		dev->cfg[dev->cap_last + PCI_CAP_NEXT] = (uint8_t)at;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)at;
	dev->cfg[PCI_STATUS] |= (uint8_t)PCI_STS_CAP_LIST_MASK;
	dev->cfg[at + PCI_CAP_ID] = id;
	dev->cfg[at + PCI_CAP_NEXT] = 0;
	dev->cap_last = at;
	dev->cap_next = (unsigned int)uio_align_up(at + size, 4);
	*off = at;
	return 0;
}

int uio_pci_dev_init(struct uiommu_pci_dev *dev,
		     const struct uiommu_pci_dev_desc *desc)
{
	uint16_t cmd_w = (uint16_t)(PCI_CMD_MEM_MASK | PCI_CMD_MASTER_MASK |
				    PCI_CMD_PARITY_MASK | PCI_CMD_SERR_MASK |
				    PCI_CMD_INTX_DISABLE_MASK);
	uint16_t sts_w1c = (uint16_t)(PCI_STS_MDPE_MASK | PCI_STS_ERRORS_MASK);

	dev->name = uio_strdup(desc->name);
	if (!dev->name)
		return -ENOMEM;
	uio_mutex_init(&dev->lock);
	dev->vendor_id = desc->vendor_id;
	/* Everything not set below reads zero and is read-only. */
	uio_pci_cfg_set16(dev, PCI_VENDOR_ID, desc->vendor_id, 0, 0);
	uio_pci_cfg_set16(dev, PCI_DEVICE_ID, desc->device_id, 0, 0);
	uio_pci_cfg_set16(dev, PCI_COMMAND, 0, cmd_w, 0);
	uio_pci_cfg_set16(dev, PCI_STATUS, 0, 0, sts_w1c);
	uio_pci_cfg_set8(dev, PCI_REVISION_ID, desc->revision, 0, 0);
	uio_pci_cfg_set8(dev, PCI_CLASS_PROG, (uint8_t)desc->class_code, 0, 0);
	uio_pci_cfg_set16(dev, PCI_CLASS_PROG + 1,
			  (uint16_t)(desc->class_code >> 8), 0, 0);
	uio_pci_cfg_set8(dev, PCI_CACHE_LINE_SIZE, 0, 0xff, 0);
	uio_pci_cfg_set16(dev, PCI_SUBSYSTEM_VENDOR_ID,
			  desc->subsystem_vendor_id, 0, 0);
	uio_pci_cfg_set16(dev, PCI_SUBSYSTEM_ID, desc->subsystem_id, 0, 0);
	uio_pci_cfg_set8(dev, PCI_INTERRUPT_LINE, 0, 0xff, 0);
	dev->cap_next = PCI_CAP_START;
	dev->ext_next = PCI_EXT_CAP_START;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		dev->bar[i].dev = dev;
		dev->bar[i].index = i;
	}
	return 0;
}

void uio_pci_dev_fini(struct uiommu_pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct uio_pci_bar *b = &dev->bar[i];

		uio_free_str(b->region_name);
		if (b->own_regs)
			uio_free_array(b->own_regs, b->nregs, sizeof(*b->own_regs));
	}
	uio_pci_msix_free(dev);
	uio_mutex_destroy(&dev->lock);
	uio_free_str(dev->name);
}

static const struct uio_pci_dev_class generic_class = { .release = NULL };

UIOMMU_API int uiommu_pci_dev_create(const struct uiommu_pci_dev_desc *desc,
				     struct uiommu_pci_dev **out)
{
	struct uiommu_pci_dev *dev;
	int ret;

	if (!desc || !out || !desc->name)
		return uio_fail(-EINVAL, SUBSYS, "device: NULL argument");
	if (desc->vendor_id == 0xffff || desc->class_code > 0xffffff)
		return uio_fail(-EINVAL, SUBSYS,
				"%s: bad vendor 0x%x or class 0x%" PRIx32,
				desc->name, desc->vendor_id, desc->class_code);
	dev = uio_new(struct uiommu_pci_dev);
	if (!dev)
		return -ENOMEM;
	ret = uio_pci_dev_init(dev, desc);
	if (ret) {
		uio_delete(dev);
		return ret;
	}
	dev->cls = &generic_class;
	*out = dev;
	return 0;
}

UIOMMU_API void uiommu_pci_dev_destroy(struct uiommu_pci_dev *dev)
{
	if (!dev)
		return;
	if (dev->host && uiommu_pci_host_unplug(dev))
		assert(0);
	uio_pci_dev_fini(dev);
	/* A subclass embeds the function in a larger object it frees. */
	if (dev->cls->release)
		dev->cls->release(dev);
	else
		uio_delete(dev);
}

UIOMMU_API int uiommu_pci_dev_add_bar(struct uiommu_pci_dev *dev,
				      unsigned int bar,
				      const struct uiommu_pci_bar_desc *desc)
{
	unsigned int off = PCI_BAR0 + 4 * bar;
	bool is64 = desc && (desc->flags & UIOMMU_PCI_BAR_64);
	struct uio_pci_bar *b;
	uint64_t wmask;
	uint32_t low;
	char name[128];

	if (!dev || !desc)
		return uio_fail(-EINVAL, SUBSYS, "add_bar: NULL argument");
	if (dev->host)
		return uio_fail(-EBUSY, SUBSYS, "%s: add a BAR before plugging",
				dev->name);
	if (bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS) ||
	    dev->bar[bar].present || (is64 && dev->bar[bar + 1].present) ||
	    (bar && dev->bar[bar - 1].present &&
	     (dev->bar[bar - 1].flags & UIOMMU_PCI_BAR_64)))
		return uio_fail(-EINVAL, SUBSYS, "%s: BAR %u unavailable",
				dev->name, bar);
	if (!uio_is_pow2(desc->size) || desc->size < 4096 ||
	    (!is64 && desc->size > (UINT64_C(1) << 31)) ||
	    (desc->flags & ~(UIOMMU_PCI_BAR_64 | UIOMMU_PCI_BAR_PREFETCH)))
		return uio_fail(-EINVAL, SUBSYS,
				"%s: BAR %u size 0x%" PRIx64 " flags 0x%x",
				dev->name, bar, desc->size, desc->flags);
	snprintf(name, sizeof(name), "%s.bar%u", dev->name, bar);
	b = &dev->bar[bar];
	b->region_name = uio_strdup(name);
	if (!b->region_name)
		return -ENOMEM;
	b->present = true;
	b->size = desc->size;
	b->flags = desc->flags;
	b->ops = desc->ops;
	b->opaque = desc->opaque;
	b->regs = desc->regs;
	b->nregs = desc->nregs;

	/* The address bits above the size are writable; the rest read 0. */
	wmask = ~(desc->size - 1);
	low = 0;
	low = UIO_FDP32(low, PCI_BAR, TYPE, is64 ? PCI_BAR_TYPE_64 : 0);
	low = UIO_FDP32(low, PCI_BAR, PREFETCH,
			!!(desc->flags & UIOMMU_PCI_BAR_PREFETCH));
	uio_pci_cfg_set32(dev, off, low,
			  (uint32_t)wmask & (uint32_t)PCI_BAR_ADDR_MASK, 0);
	if (is64)
		uio_pci_cfg_set32(dev, off + 4, 0, (uint32_t)(wmask >> 32), 0);
	return 0;
}

UIOMMU_API int uiommu_pci_dev_add_pcie(struct uiommu_pci_dev *dev,
				       unsigned int port_type)
{
	/* Device Control after reset: Relaxed Ordering, No Snoop, 512-byte
	 * Max_Read_Request_Size (PCIe 6.0, 7.5.3.4). */
	const uint16_t devctl = 0x2810;
	uint16_t flags = 0;
	unsigned int off = 0;
	int ret;

	if (!dev)
		return uio_fail(-EINVAL, SUBSYS, "add_pcie: NULL device");
	if (dev->host)
		return uio_fail(-EBUSY, SUBSYS, "%s: add capabilities before "
				"plugging", dev->name);
	if (port_type != UIOMMU_PCI_EXP_ENDPOINT &&
	    port_type != UIOMMU_PCI_EXP_RC_END)
		return uio_fail(-EINVAL, SUBSYS, "%s: port type %u",
				dev->name, port_type);
	if (dev->pcie_cap)
		return uio_fail(-EEXIST, SUBSYS, "%s: PCIe capability exists",
				dev->name);
	ret = uio_pci_add_cap(dev, PCI_CAP_ID_EXP, PCI_EXP_CAP_SIZE, &off);
	if (ret)
		return ret;
	dev->pcie_cap = off;
	flags = (uint16_t)UIO_FDP32(flags, PCI_EXP_FLAGS, VERS, 2);
	flags = (uint16_t)UIO_FDP32(flags, PCI_EXP_FLAGS, TYPE, port_type);
	uio_pci_cfg_set16(dev, off + PCI_EXP_FLAGS, flags, 0, 0);
	uio_pci_cfg_set16(dev, off + PCI_EXP_DEVCTL, devctl,
			  PCI_EXP_DEVCTL_RW, 0);
	uio_pci_cfg_set16(dev, off + PCI_EXP_DEVSTA, 0, 0, PCI_EXP_DEVSTA_W1C);
	return 0;
}

/* Append an extended capability (PCIe 6.0, 7.6.3) of @size bytes. */
static int add_ext_cap(struct uiommu_pci_dev *dev, uint16_t id,
		       unsigned int ver, unsigned int size, unsigned int *off)
{
	unsigned int at = dev->ext_next;
	uint32_t hdr = 0;

	if (at + size > PCI_CFG_SIZE)
		return uio_fail(-ENOSPC, SUBSYS, "%s: no room for extended "
				"capability 0x%x", dev->name, id);
	if (dev->ext_last) {
		uint32_t prev = uio_pci_cfg_get(dev, dev->ext_last, 4);

		uio_pci_cfg_set32(dev, dev->ext_last,
				  UIO_FDP32(prev, PCI_EXT_CAP, NEXT, at), 0, 0);
	}
	hdr = UIO_FDP32(hdr, PCI_EXT_CAP, ID, id);
	hdr = UIO_FDP32(hdr, PCI_EXT_CAP, VER, ver);
	uio_pci_cfg_set32(dev, at, hdr, 0, 0);
	dev->ext_last = at;
	dev->ext_next = (unsigned int)uio_align_up(at + size, 4);
	*off = at;
	return 0;
}

UIOMMU_API int uiommu_pci_dev_add_acs(struct uiommu_pci_dev *dev,
				      uint16_t acs_cap)
{
	unsigned int off = 0;
	int ret;

	if (!dev)
		return uio_fail(-EINVAL, SUBSYS, "add_acs: NULL device");
	if (dev->host)
		return uio_fail(-EBUSY, SUBSYS, "%s: add capabilities before "
				"plugging", dev->name);
	/* Egress Control would need an Egress Control Vector: not modelled. */
	if (!dev->pcie_cap || (acs_cap & ~(uint16_t)PCI_ACS_ALL) ||
	    (acs_cap & PCI_ACS_EC_MASK))
		return uio_fail(-EINVAL, SUBSYS, "%s: ACS 0x%x (needs a PCIe "
				"capability; EC unsupported)", dev->name,
				acs_cap);
	if (dev->acs_cap)
		return uio_fail(-EEXIST, SUBSYS, "%s: ACS exists", dev->name);
	ret = add_ext_cap(dev, PCI_EXT_CAP_ID_ACS, 1, PCI_ACS_SIZE, &off);
	if (ret)
		return ret;
	dev->acs_cap = off;
	/* Only the controls of implemented features are writable. */
	uio_pci_cfg_set16(dev, off + PCI_ACS_CAP, acs_cap, 0, 0);
	uio_pci_cfg_set16(dev, off + PCI_ACS_CTRL, 0, acs_cap, 0);
	return 0;
}

/* Current address of a BAR from configuration space. */
static uint64_t bar_address(const struct uiommu_pci_dev *dev, unsigned int bar)
{
	unsigned int off = PCI_BAR0 + 4 * bar;
	uint64_t addr = uio_pci_cfg_get(dev, off, 4) & PCI_BAR_ADDR_MASK;

	if (dev->bar[bar].flags & UIOMMU_PCI_BAR_64)
		addr |= (uint64_t)uio_pci_cfg_get(dev, off + 4, 4) << 32;
	return addr;
}

bool uio_pci_bar_decoded(struct uiommu_pci_dev *dev, unsigned int bar,
			 uint64_t *addr)
{
	uio_assert_held(&dev->lock);
	if (!dev->bar[bar].present ||
	    !UIO_FEX32(uio_pci_cfg_get(dev, PCI_COMMAND, 2), PCI_CMD, MEM))
		return false;
	*addr = bar_address(dev, bar);
	return true;
}

uint32_t uio_pci_dev_cfg_read(struct uiommu_pci_dev *dev, unsigned int off,
			      unsigned int size)
{
	uint32_t v;

	uio_lock(&dev->lock);
	v = uio_pci_cfg_get(dev, off, size);
	uio_unlock(&dev->lock);
	return v;
}

/*
 * Configuration write of @size bytes.  Returns true if BAR decoding may have
 * changed (the host bridge then updates the address space).  Vectors that
 * the write unmasked are sent before returning.
 */
bool uio_pci_dev_cfg_write(struct uiommu_pci_dev *dev, unsigned int off,
			   unsigned int size, uint32_t val)
{
	bool decode;

	uio_lock(&dev->lock);
	for (unsigned int i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		unsigned int o = off + i;
		uint8_t w = dev->wmask[o], c = dev->w1cmask[o];

		dev->cfg[o] = (uint8_t)(((dev->cfg[o] & ~w) | (b & w)) & ~(b & c));
	}
	decode = overlaps(off, size, PCI_COMMAND, 2) ||
		 overlaps(off, size, PCI_BAR0, 4 * PCI_NUM_BARS);
	uio_pci_msi_cfg_written(dev, off, size);
#if UIOMMU_DEBUG >= 2
	assert(uiommu_pci_dev_check(dev) == 0);
#endif
	uio_unlock(&dev->lock);
	uio_pci_msi_flush_pending(dev);
	return decode;
}

/* ---------------------------------------------------------- BAR regions */

/* Is this region still what the function decodes?  (lock held) */
static bool bar_live(struct uio_pci_bar *b)
{
	uint64_t addr;

	return uio_pci_bar_decoded(b->dev, b->index, &addr) && b->mapped &&
	       addr == b->mapped_addr;
}

static int bar_read(void *opaque, uint64_t offset, unsigned int size,
		    uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct uio_pci_bar *b = opaque;
	struct uiommu_pci_dev *dev = b->dev;
	int ret;

	uio_lock(&dev->lock);
	if (!bar_live(b)) {
		uio_unlock(&dev->lock);
		return -EFAULT;
	}
	if (uio_pci_msix_owns(dev, b->index, offset)) {
		ret = uio_pci_msix_mmio_read(dev, b->index, offset, size, val);
		uio_unlock(&dev->lock);
		return ret;
	}
	uio_unlock(&dev->lock);
	if (!b->ops || !b->ops->read) {
		*val = 0;
		return 0;
	}
	return b->ops->read(b->opaque, offset, size, val, attrs);
}

static int bar_write(void *opaque, uint64_t offset, unsigned int size,
		     uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct uio_pci_bar *b = opaque;
	struct uiommu_pci_dev *dev = b->dev;
	int ret;

	uio_lock(&dev->lock);
	if (!bar_live(b)) {
		uio_unlock(&dev->lock);
		return -EFAULT;
	}
	if (uio_pci_msix_owns(dev, b->index, offset)) {
		ret = uio_pci_msix_mmio_write(dev, b->index, offset, size, val);
#if UIOMMU_DEBUG >= 2
		assert(uiommu_pci_dev_check(dev) == 0);
#endif
		uio_unlock(&dev->lock);
		uio_pci_msi_flush_pending(dev);
		return ret;
	}
	uio_unlock(&dev->lock);
	if (!b->ops || !b->ops->write)
		return 0;
	return b->ops->write(b->opaque, offset, size, val, attrs);
}

static const struct uiommu_mmio_ops bar_ops = {
	.read = bar_read,
	.write = bar_write,
};

const struct uiommu_mmio_ops *uio_pci_bar_mmio_ops(void)
{
	return &bar_ops;
}

/* ------------------------------------------------------------------ DMA */

UIOMMU_API uint16_t uiommu_pci_dev_rid(const struct uiommu_pci_dev *dev)
{
	return dev && dev->host ? UIOMMU_PCI_RID(dev->bus, dev->devfn) : 0;
}

UIOMMU_API const char *uiommu_pci_dev_name(const struct uiommu_pci_dev *dev)
{
	return dev ? dev->name : NULL;
}

/*
 * Check that @dev may master the bus and take the port; lock held.
 * Returns 0 or the errno with @fault filled in.
 */
static int may_master(struct uiommu_pci_dev *dev, struct uio_pci_port *port,
		      uint64_t iova, bool write, struct uiommu_dma_fault *fault)
{
	memset(fault, 0, sizeof(*fault));
	fault->addr = iova;
	fault->write = write;
	if (!dev->host)
		return -ENODEV;
	if (!UIO_FEX32(uio_pci_cfg_get(dev, PCI_COMMAND, 2), PCI_CMD, MASTER)) {
		dev->stats.dma_refused++;
		fault->type = UIOMMU_DMA_FAULT_BUS_MASTER;
		trace_pci_dma_refused(dev->name, iova);
		return -EPERM;
	}
	uio_pci_host_port(dev->host, port);
	if (!port->ops) {
		fault->type = UIOMMU_DMA_FAULT_ABORT;
		return -EFAULT;
	}
	return 0;
}

static int dev_access(struct uiommu_pci_dev *dev, uint64_t iova, void *buf,
		      size_t len, bool write, struct uiommu_dma_fault *fault,
		      bool is_msi)
{
	struct uio_pci_port port;
	uint16_t rid;
	int ret;

	uio_lock(&dev->lock);
	ret = may_master(dev, &port, iova, write, fault);
	rid = UIOMMU_PCI_RID(dev->bus, dev->devfn);
	uio_unlock(&dev->lock);
	if (ret)
		return ret;
	ret = port.ops->access(port.opaque, rid, iova, buf, len, write, fault);
	trace_pci_dma(rid, iova, (uint64_t)len, write, ret);
	/* These four counters are only ever changed here, atomically. */
	__atomic_fetch_add(is_msi ? (ret ? &dev->stats.msi_faults :
				     &dev->stats.msi_sent) :
			   (ret ? &dev->stats.dma_faults : &dev->stats.dma_ok),
			   1, __ATOMIC_RELAXED);
	return ret;
}

UIOMMU_API int uiommu_pci_dev_dma(struct uiommu_pci_dev *dev, uint64_t iova,
				  void *buf, size_t len, bool write,
				  struct uiommu_dma_fault *fault)
{
	struct uiommu_dma_fault dummy;

	if (!dev || (!buf && len))
		return uio_fail(-EINVAL, SUBSYS, "dma: NULL argument");
	return dev_access(dev, iova, buf, len, write, fault ? fault : &dummy,
			  false);
}

/* An MSI / MSI-X message: a DWORD write of @data to @addr.  No lock held. */
int uio_pci_dev_send(struct uiommu_pci_dev *dev, uint64_t addr, uint32_t data)
{
	struct uiommu_dma_fault fault;
	uint8_t le[4] = { (uint8_t)data, (uint8_t)(data >> 8),
			  (uint8_t)(data >> 16), (uint8_t)(data >> 24) };

	trace_pci_msi_send(dev->name, addr, data);
	return dev_access(dev, addr, le, sizeof(le), true, &fault, true);
}

UIOMMU_API void uiommu_pci_dev_get_stats(struct uiommu_pci_dev *dev,
					 struct uiommu_pci_dev_stats *st)
{
	if (!dev || !st)
		return;
	uio_lock(&dev->lock);
	*st = (struct uiommu_pci_dev_stats){
		.dma_ok = __atomic_load_n(&dev->stats.dma_ok, __ATOMIC_RELAXED),
		.dma_faults = __atomic_load_n(&dev->stats.dma_faults,
					      __ATOMIC_RELAXED),
		.dma_refused = dev->stats.dma_refused,
		.msi_sent = __atomic_load_n(&dev->stats.msi_sent,
					    __ATOMIC_RELAXED),
		.msi_pended = dev->stats.msi_pended,
		.msi_dropped = dev->stats.msi_dropped,
		.msi_faults = __atomic_load_n(&dev->stats.msi_faults,
					      __ATOMIC_RELAXED),
		.guest_errors = dev->stats.guest_errors,
	};
	uio_unlock(&dev->lock);
}

/* --------------------------------------------------------------- checks */

static int check_cap_list(struct uiommu_pci_dev *dev)
{
	unsigned int off = dev->cfg[PCI_CAPABILITY_LIST], n = 0;

	while (off) {
		if (off < PCI_CAP_START || off > PCI_CAP_END - 2 || (off & 3) ||
		    ++n > (PCI_CAP_END - PCI_CAP_START) / 4)
			return uio_fail(-EUCLEAN, SUBSYS,
					"%s: capability list broken at 0x%x",
					dev->name, off);
		off = dev->cfg[off + PCI_CAP_NEXT];
	}
	return 0;
}

static int check_ext_cap_list(struct uiommu_pci_dev *dev)
{
	unsigned int off = PCI_EXT_CAP_START, n = 0;

	while (off) {
		uint32_t hdr = uio_pci_cfg_get(dev, off, 4);

		if (!hdr && off == PCI_EXT_CAP_START)
			return 0;
		if (off < PCI_EXT_CAP_START || off > PCI_CFG_SIZE - 4 ||
		    (off & 3) || ++n > (PCI_CFG_SIZE - PCI_EXT_CAP_START) / 4)
			return uio_fail(-EUCLEAN, SUBSYS, "%s: extended "
					"capability list broken at 0x%x",
					dev->name, off);
		off = UIO_FEX32(hdr, PCI_EXT_CAP, NEXT);
	}
	return 0;
}

static int check_bars(struct uiommu_pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct uio_pci_bar *b = &dev->bar[i];
		uint32_t lo = uio_pci_cfg_get(dev, PCI_BAR0 + 4 * i, 4);

		if (!b->present) {
			if (b->mapped)
				return uio_fail(-EUCLEAN, SUBSYS,
						"%s: absent BAR %u mapped",
						dev->name, i);
			continue;
		}
		if (lo & (uint32_t)(b->size - 1) & (uint32_t)PCI_BAR_ADDR_MASK)
			return uio_fail(-EUCLEAN, SUBSYS,
					"%s: BAR %u value 0x%" PRIx32
					" not aligned to size 0x%" PRIx64,
					dev->name, i, lo, b->size);
		if (b->mapped && !uio_is_aligned(b->mapped_addr, b->size))
			return uio_fail(-EUCLEAN, SUBSYS,
					"%s: BAR %u mapped at 0x%" PRIx64,
					dev->name, i, b->mapped_addr);
	}
	return 0;
}

UIOMMU_API int uiommu_pci_dev_check(struct uiommu_pci_dev *dev)
{
	int ret;

	if (!dev)
		return uio_fail(-EINVAL, SUBSYS, "check: NULL device");
	if (uio_pci_cfg_get(dev, PCI_VENDOR_ID, 2) != dev->vendor_id)
		return uio_fail(-EUCLEAN, SUBSYS, "%s: vendor ID changed",
				dev->name);
	ret = check_cap_list(dev);
	if (!ret)
		ret = check_ext_cap_list(dev);
	if (!ret)
		ret = check_bars(dev);
	if (!ret)
		ret = uio_pci_msi_check(dev);
	return ret;
}
