// SPDX-License-Identifier: MIT
/*
 * MSI and MSI-X capabilities of a PCI function model.
 *
 * MSI state lives entirely in configuration space (Message Control,
 * address, data, Mask Bits and Pending Bits).  MSI-X state is the
 * capability's Message Control plus a table (4 DWORDs per vector) and a
 * Pending Bit Array that software reaches through a BAR.
 *
 * Raising a vector (uiommu_pci_dev_notify) either sends the message now or,
 * when the vector or the whole function is masked, sets its pending bit.
 * Unmasking -- through configuration space or the MSI-X table -- sends the
 * pending messages: uio_pci_msi_flush_pending() runs after every write that
 * may unmask, without the function's lock, one message at a time.
 *
 * A message is an ordinary DWORD memory write through the host bridge's
 * DMA port, so it is subject to Bus Master Enable and to the IOMMU.
 */
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "pci-internal.h"
#include "trace.h"

#define SUBSYS "pci"

/* --------------------------------------------------------------- MSI */

static unsigned int msi_off(const struct uiommu_pci_dev *dev, unsigned int r32,
			    unsigned int r64)
{
	return dev->msi_cap + (dev->msi_64 ? r64 : r32);
}

static uint16_t msi_ctl(const struct uiommu_pci_dev *dev)
{
	return (uint16_t)uio_pci_cfg_get(dev, dev->msi_cap + PCI_MSI_FLAGS, 2);
}

static bool msi_enabled(const struct uiommu_pci_dev *dev)
{
	return dev->msi_cap && UIO_FEX32(msi_ctl(dev), PCI_MSI_CTL, ENABLE);
}

/* Vectors software enabled: 2^MME. */
static unsigned int msi_nen(const struct uiommu_pci_dev *dev)
{
	return 1u << UIO_FEX32(msi_ctl(dev), PCI_MSI_CTL, MME);
}

static uint32_t msi_vec_bits(unsigned int nvec)
{
	return nvec >= 32 ? UINT32_MAX : (UINT32_C(1) << nvec) - 1;
}

UIOMMU_API int uiommu_pci_dev_add_msi(struct uiommu_pci_dev *dev,
				      unsigned int nvec, unsigned int flags)
{
	bool is64 = flags & UIOMMU_PCI_MSI_64BIT;
	bool pvm = flags & UIOMMU_PCI_MSI_MASKABLE;
	unsigned int size = (is64 ? 14 : 10) + (pvm ? 10 : 0), off;
	uint16_t ctl = 0, ctl_w = 0;
	int ret;

	if (!dev)
		return uio_fail(-EINVAL, SUBSYS, "add_msi: NULL device");
	if (dev->host)
		return uio_fail(-EBUSY, SUBSYS, "%s: add MSI before plugging",
				dev->name);
	if (!uio_is_pow2(nvec) || nvec > 32 ||
	    (flags & ~(UIOMMU_PCI_MSI_64BIT | UIOMMU_PCI_MSI_MASKABLE)))
		return uio_fail(-EINVAL, SUBSYS, "%s: MSI nvec %u flags 0x%x",
				dev->name, nvec, flags);
	if (dev->msi_cap)
		return uio_fail(-EEXIST, SUBSYS, "%s: MSI already present",
				dev->name);
	ret = uio_pci_add_cap(dev, PCI_CAP_ID_MSI, size, &off);
	if (ret)
		return ret;
	dev->msi_cap = off;
	dev->msi_nvec = nvec;
	dev->msi_64 = is64;
	dev->msi_pvm = pvm;

	ctl = (uint16_t)UIO_FDP32(ctl, PCI_MSI_CTL, MMC, uio_ffs64(nvec));
	ctl = (uint16_t)UIO_FDP32(ctl, PCI_MSI_CTL, ADDR64, is64);
	ctl = (uint16_t)UIO_FDP32(ctl, PCI_MSI_CTL, PVM, pvm);
	ctl_w = (uint16_t)(PCI_MSI_CTL_ENABLE_MASK | PCI_MSI_CTL_MME_MASK);
	uio_pci_cfg_set16(dev, off + PCI_MSI_FLAGS, ctl, ctl_w, 0);
	uio_pci_cfg_set32(dev, off + PCI_MSI_ADDR_LO, 0,
			  (uint32_t)PCI_MSI_ADDR_LO_MASK, 0);
	if (is64)
		uio_pci_cfg_set32(dev, off + PCI_MSI_ADDR_HI, 0, UINT32_MAX, 0);
	/* 16-bit Message Data; Extended Message Data is not implemented. */
	uio_pci_cfg_set16(dev, msi_off(dev, PCI_MSI_DATA_32, PCI_MSI_DATA_64),
			  0, 0xffff, 0);
	if (pvm) {
		uio_pci_cfg_set32(dev, msi_off(dev, PCI_MSI_MASK_32,
					       PCI_MSI_MASK_64),
				  0, msi_vec_bits(nvec), 0);
		/* Pending Bits: read-only to software, set by the function. */
		uio_pci_cfg_set32(dev, msi_off(dev, PCI_MSI_PENDING_32,
					       PCI_MSI_PENDING_64), 0, 0, 0);
	}
	return 0;
}

static uint64_t msi_address(const struct uiommu_pci_dev *dev)
{
	uint64_t a = uio_pci_cfg_get(dev, dev->msi_cap + PCI_MSI_ADDR_LO, 4);

	if (dev->msi_64)
		a |= (uint64_t)uio_pci_cfg_get(dev, dev->msi_cap +
					       PCI_MSI_ADDR_HI, 4) << 32;
	return a;
}

/* Multiple Message: vector i replaces the low log2(nen) data bits. */
static uint32_t msi_data(const struct uiommu_pci_dev *dev, unsigned int vec)
{
	uint32_t d = uio_pci_cfg_get(dev, msi_off(dev, PCI_MSI_DATA_32,
						  PCI_MSI_DATA_64), 2);

	return (d & ~(msi_nen(dev) - 1)) | vec;
}

static uint32_t msi_reg(const struct uiommu_pci_dev *dev, unsigned int r32,
			unsigned int r64)
{
	return uio_pci_cfg_get(dev, msi_off(dev, r32, r64), 4);
}

static void msi_set_pending(struct uiommu_pci_dev *dev, uint32_t pending)
{
	unsigned int o = msi_off(dev, PCI_MSI_PENDING_32, PCI_MSI_PENDING_64);

	for (unsigned int i = 0; i < 4; i++)
		dev->cfg[o + i] = (uint8_t)(pending >> (8 * i));
}

/* --------------------------------------------------------------- MSI-X */

static uint16_t msix_ctl(const struct uiommu_pci_dev *dev)
{
	return (uint16_t)uio_pci_cfg_get(dev, dev->msix_cap + PCI_MSIX_FLAGS, 2);
}

static bool msix_enabled(const struct uiommu_pci_dev *dev)
{
	return dev->msix_cap && UIO_FEX32(msix_ctl(dev), PCI_MSIX_CTL, ENABLE);
}

static bool msix_fmasked(const struct uiommu_pci_dev *dev)
{
	return UIO_FEX32(msix_ctl(dev), PCI_MSIX_CTL, MASKALL);
}

static uint32_t *msix_entry(struct uiommu_pci_dev *dev, unsigned int vec)
{
	return &dev->msix_table[4 * vec];
}

static bool msix_vmasked(struct uiommu_pci_dev *dev, unsigned int vec)
{
	return UIO_FEX32(msix_entry(dev, vec)[PCI_MSIX_ENTRY_CTRL],
			 PCI_MSIX_VCTL, MASK);
}

static size_t pba_bytes(unsigned int nvec)
{
	return (nvec + 63) / 64 * 8;
}

static bool pba_test(const struct uiommu_pci_dev *dev, unsigned int v)
{
	return dev->msix_pba[v / 64] & UIO_BIT(v % 64);
}

static void pba_assign(struct uiommu_pci_dev *dev, unsigned int v, bool on)
{
	if (on)
		dev->msix_pba[v / 64] |= UIO_BIT(v % 64);
	else
		dev->msix_pba[v / 64] &= ~UIO_BIT(v % 64);
}

static bool in_range(uint64_t off, uint64_t start, uint64_t len)
{
	return off >= start && off - start < len;
}

bool uio_pci_msix_owns(const struct uiommu_pci_dev *dev, unsigned int bar,
		       uint64_t off)
{
	if (!dev->msix_cap)
		return false;
	return (bar == dev->msix_table_bar &&
		in_range(off, dev->msix_table_off,
			 (uint64_t)dev->msix_nvec * PCI_MSIX_ENTRY_SIZE)) ||
	       (bar == dev->msix_pba_bar &&
		in_range(off, dev->msix_pba_off, pba_bytes(dev->msix_nvec)));
}

/* Insert @r into a BAR's register map (sorted by offset). */
static int bar_add_reg(struct uio_pci_bar *b, const struct uiommu_reg_desc *r)
{
	struct uiommu_reg_desc *n = uio_calloc(b->nregs + 1, sizeof(*n));
	size_t j = 0;
	bool done = false;

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < b->nregs; i++) {
		if (!done && r->offset < b->regs[i].offset) {
			n[j++] = *r;
			done = true;
		}
		n[j++] = b->regs[i];
	}
	if (!done)
		n[j++] = *r;
	if (b->own_regs)
		uio_free_array(b->own_regs, b->nregs, sizeof(*b->own_regs));
	b->own_regs = n;
	b->regs = n;
	b->nregs++;
	return 0;
}

/* Does [off, off + len) overlap a register of BAR @b's map? */
static bool hits_regs(const struct uio_pci_bar *b, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < b->nregs; i++)
		if (uio_ranges_overlap(off, off + len - 1, b->regs[i].offset,
				       b->regs[i].offset + b->regs[i].size - 1))
			return true;
	return false;
}

static int msix_validate(struct uiommu_pci_dev *dev, unsigned int nvec,
			 unsigned int tbar, uint32_t toff, unsigned int pbar,
			 uint32_t poff)
{
	uint64_t tlen = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = pba_bytes(nvec);

	if (nvec < 1 || nvec > 2048 || tbar >= PCI_NUM_BARS ||
	    pbar >= PCI_NUM_BARS || !dev->bar[tbar].present ||
	    !dev->bar[pbar].present || (toff & 7) || (poff & 7) ||
	    toff + tlen > dev->bar[tbar].size ||
	    poff + plen > dev->bar[pbar].size ||
	    (tbar == pbar && uio_ranges_overlap(toff, toff + tlen - 1, poff,
						poff + plen - 1)) ||
	    hits_regs(&dev->bar[tbar], toff, tlen) ||
	    hits_regs(&dev->bar[pbar], poff, plen))
		return uio_fail(-EINVAL, SUBSYS,
				"%s: MSI-X nvec %u table %u:0x%" PRIx32
				" PBA %u:0x%" PRIx32, dev->name, nvec, tbar,
				toff, pbar, poff);
	return 0;
}

UIOMMU_API int uiommu_pci_dev_add_msix(struct uiommu_pci_dev *dev,
				       unsigned int nvec, unsigned int table_bar,
				       uint32_t table_off, unsigned int pba_bar,
				       uint32_t pba_off)
{
	struct uiommu_reg_desc treg = { "MSIX_TABLE", table_off,
					nvec * PCI_MSIX_ENTRY_SIZE };
	struct uiommu_reg_desc preg = { "MSIX_PBA", pba_off,
					(uint32_t)pba_bytes(nvec) };
	struct uio_pci_bar saved_t;
	unsigned int off;
	uint32_t loc;
	int ret;

	if (!dev)
		return uio_fail(-EINVAL, SUBSYS, "add_msix: NULL device");
	if (dev->host)
		return uio_fail(-EBUSY, SUBSYS, "%s: add MSI-X before plugging",
				dev->name);
	if (dev->msix_cap)
		return uio_fail(-EEXIST, SUBSYS, "%s: MSI-X already present",
				dev->name);
	ret = msix_validate(dev, nvec, table_bar, table_off, pba_bar, pba_off);
	if (ret)
		return ret;
	if (dev->cap_next + PCI_MSIX_CAP_SIZE > PCI_CAP_END)
		return uio_fail(-ENOSPC, SUBSYS, "%s: no room for MSI-X",
				dev->name);

	dev->msix_table = uio_calloc(4 * (size_t)nvec, sizeof(uint32_t));
	if (!dev->msix_table)
		return -ENOMEM;
	dev->msix_pba = uio_zalloc(pba_bytes(nvec));
	if (!dev->msix_pba)
		goto err_free_table;
	/* Register maps: on failure the BAR keeps its previous map. */
	saved_t = dev->bar[table_bar];
	if (bar_add_reg(&dev->bar[table_bar], &treg))
		goto err_free_pba;
	if (bar_add_reg(&dev->bar[pba_bar], &preg))
		goto err_restore_table_regs;
	if (uio_pci_add_cap(dev, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_SIZE, &off))
		assert(0); /* room checked above */

	dev->msix_cap = off;
	dev->msix_nvec = nvec;
	dev->msix_table_bar = table_bar;
	dev->msix_table_off = table_off;
	dev->msix_pba_bar = pba_bar;
	dev->msix_pba_off = pba_off;
	for (unsigned int v = 0; v < nvec; v++)
		msix_entry(dev, v)[PCI_MSIX_ENTRY_CTRL] = PCI_MSIX_VCTL_MASK_MASK;
	uio_pci_cfg_set16(dev, off + PCI_MSIX_FLAGS,
			  (uint16_t)UIO_FDP32(0, PCI_MSIX_CTL, QSIZE, nvec - 1),
			  (uint16_t)(PCI_MSIX_CTL_MASKALL_MASK |
				     PCI_MSIX_CTL_ENABLE_MASK), 0);
	loc = UIO_FDP32(table_off, PCI_MSIX_LOC, BIR, table_bar);
	uio_pci_cfg_set32(dev, off + PCI_MSIX_TABLE, loc, 0, 0);
	loc = UIO_FDP32(pba_off, PCI_MSIX_LOC, BIR, pba_bar);
	uio_pci_cfg_set32(dev, off + PCI_MSIX_PBA, loc, 0, 0);
	return 0;

err_restore_table_regs:
	if (dev->bar[table_bar].own_regs)
		uio_free_array(dev->bar[table_bar].own_regs,
			       dev->bar[table_bar].nregs,
			       sizeof(struct uiommu_reg_desc));
	dev->bar[table_bar] = saved_t;
err_free_pba:
	uio_free(dev->msix_pba, pba_bytes(nvec));
	dev->msix_pba = NULL;
err_free_table:
	uio_free_array(dev->msix_table, 4 * (size_t)nvec, sizeof(uint32_t));
	dev->msix_table = NULL;
	return -ENOMEM;
}

void uio_pci_msix_free(struct uiommu_pci_dev *dev)
{
	if (dev->msix_table)
		uio_free_array(dev->msix_table, 4 * (size_t)dev->msix_nvec,
			       sizeof(uint32_t));
	if (dev->msix_pba)
		uio_free(dev->msix_pba, pba_bytes(dev->msix_nvec));
	dev->msix_table = NULL;
	dev->msix_pba = NULL;
}

/* Read-only and reserved bits of a table DWORD keep their value. */
static uint32_t msix_dword_wmask(unsigned int reg)
{
	switch (reg) {
	case PCI_MSIX_ENTRY_ADDR_LO:
		return (uint32_t)PCI_MSI_ADDR_LO_MASK;
	case PCI_MSIX_ENTRY_CTRL:
		/* Steering Tags need TPH, which is not implemented. */
		return (uint32_t)PCI_MSIX_VCTL_MASK_MASK;
	default:
		return UINT32_MAX;
	}
}

/* Bytes [off, off + size) of the table as one little-endian value. */
int uio_pci_msix_mmio_read(struct uiommu_pci_dev *dev, unsigned int bar,
			   uint64_t off, unsigned int size, uint64_t *val)
{
	uint64_t v = 0;

	uio_assert_held(&dev->lock);
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint8_t byte = 0;

		if (bar == dev->msix_table_bar &&
		    in_range(o, dev->msix_table_off,
			     (uint64_t)dev->msix_nvec * PCI_MSIX_ENTRY_SIZE)) {
			uint64_t t = o - dev->msix_table_off;

			byte = (uint8_t)(dev->msix_table[t / 4] >> (8 * (t % 4)));
		} else if (bar == dev->msix_pba_bar &&
			   in_range(o, dev->msix_pba_off,
				    pba_bytes(dev->msix_nvec))) {
			uint64_t p = o - dev->msix_pba_off;

			byte = (uint8_t)(dev->msix_pba[p / 8] >> (8 * (p % 8)));
		}
		v |= (uint64_t)byte << (8 * i);
	}
	*val = v;
	return 0;
}

int uio_pci_msix_mmio_write(struct uiommu_pci_dev *dev, unsigned int bar,
			    uint64_t off, unsigned int size, uint64_t val)
{
	uio_assert_held(&dev->lock);
	if (size < 4)
		uio_guest_error(SUBSYS, "%s: MSI-X %u-byte access at 0x%" PRIx64
				" (DWORD or QWORD required)", dev->name, size,
				off);
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint8_t byte = (uint8_t)(val >> (8 * i));

		if (bar == dev->msix_table_bar &&
		    in_range(o, dev->msix_table_off,
			     (uint64_t)dev->msix_nvec * PCI_MSIX_ENTRY_SIZE)) {
			uint64_t t = o - dev->msix_table_off;
			uint32_t *dw = &dev->msix_table[t / 4];
			uint32_t m = msix_dword_wmask((unsigned int)(t / 4 % 4)) &
				     (UINT32_C(0xff) << (8 * (t % 4)));

			*dw = (*dw & ~m) | (((uint32_t)byte << (8 * (t % 4))) & m);
		} else if (i == 0) {
			uio_guest_error(SUBSYS, "%s: write to MSI-X PBA at 0x%"
					PRIx64 " ignored", dev->name, o);
			dev->stats.guest_errors++;
		}
	}
	trace_pci_msix_write(dev->name, off, val);
	return 0;
}

/* ----------------------------------------------------------- delivery */

void uio_pci_msi_cfg_written(struct uiommu_pci_dev *dev, unsigned int off,
			     unsigned int size)
{
	unsigned int c = dev->msi_cap + PCI_MSI_FLAGS;
	uint16_t ctl;

	uio_assert_held(&dev->lock);
	if (!dev->msi_cap || off >= c + 2 || off + size <= c)
		return;
	ctl = msi_ctl(dev);
	if (UIO_FEX32(ctl, PCI_MSI_CTL, MME) > UIO_FEX32(ctl, PCI_MSI_CTL, MMC)) {
		uio_guest_error(SUBSYS, "%s: MSI Multiple Message Enable %u > "
				"Capable %u; using %u", dev->name,
				UIO_FEX32(ctl, PCI_MSI_CTL, MME),
				UIO_FEX32(ctl, PCI_MSI_CTL, MMC),
				UIO_FEX32(ctl, PCI_MSI_CTL, MMC));
		dev->stats.guest_errors++;
		ctl = (uint16_t)UIO_FDP32(ctl, PCI_MSI_CTL, MME,
					  UIO_FEX32(ctl, PCI_MSI_CTL, MMC));
		dev->cfg[c] = (uint8_t)ctl;
	}
	trace_pci_msi_ctl(dev->name, ctl);
}

/*
 * Take one deliverable pending vector: clear its pending bit and return its
 * message.  Lock held.
 */
static bool take_pending(struct uiommu_pci_dev *dev, uint64_t *addr,
			 uint32_t *data)
{
	if (msix_enabled(dev) && !msix_fmasked(dev)) {
		for (unsigned int w = 0; w < (dev->msix_nvec + 63) / 64; w++) {
			uint64_t bits = dev->msix_pba[w];

			while (bits) {
				unsigned int v = w * 64 + uio_ffs64(bits);
				uint32_t *e = msix_entry(dev, v);

				bits &= bits - 1;
				if (msix_vmasked(dev, v))
					continue;
				pba_assign(dev, v, false);
				*addr = e[PCI_MSIX_ENTRY_ADDR_LO] |
					(uint64_t)e[PCI_MSIX_ENTRY_ADDR_HI] << 32;
				*data = e[PCI_MSIX_ENTRY_DATA];
				return true;
			}
		}
	}
	if (msi_enabled(dev) && dev->msi_pvm) {
		uint32_t pend = msi_reg(dev, PCI_MSI_PENDING_32, PCI_MSI_PENDING_64);
		uint32_t mask = msi_reg(dev, PCI_MSI_MASK_32, PCI_MSI_MASK_64);
		uint32_t ready = pend & ~mask & msi_vec_bits(msi_nen(dev));

		if (ready) {
			unsigned int v = uio_ffs64(ready);

			msi_set_pending(dev, pend & ~(UINT32_C(1) << v));
			*addr = msi_address(dev);
			*data = msi_data(dev, v);
			return true;
		}
	}
	return false;
}

/*
 * A message may land where it unmasks more vectors (a guest can aim MSI at
 * configuration space or an MSI-X table when no IOMMU stands in the way),
 * which flushes again from inside the write.  Past a small depth the rest
 * stays pending for the next flush instead of growing the stack.
 */
#define MAX_FLUSH_DEPTH 4
static __thread unsigned int flush_depth;

void uio_pci_msi_flush_pending(struct uiommu_pci_dev *dev)
{
	uint64_t addr;
	uint32_t data;

	if (flush_depth >= MAX_FLUSH_DEPTH)
		return;
	flush_depth++;
	for (;;) {
		bool got;

		uio_lock(&dev->lock);
		got = take_pending(dev, &addr, &data);
		uio_unlock(&dev->lock);
		if (!got)
			break;
		/* A fault is counted and traced; the message is gone. */
		(void)uio_pci_dev_send(dev, addr, data);
	}
	flush_depth--;
}

/*
 * Decide what raising @vector does; lock held.  Returns 0 with the message
 * to send, 1 if left pending, or a negative errno.
 */
static int raise_locked(struct uiommu_pci_dev *dev, unsigned int vector,
			uint64_t *addr, uint32_t *data)
{
	if (msix_enabled(dev)) {
		uint32_t *e;

		if (vector >= dev->msix_nvec)
			return -EINVAL;
		if (msix_fmasked(dev) || msix_vmasked(dev, vector)) {
			pba_assign(dev, vector, true);
			return 1;
		}
		e = msix_entry(dev, vector);
		*addr = e[PCI_MSIX_ENTRY_ADDR_LO] |
			(uint64_t)e[PCI_MSIX_ENTRY_ADDR_HI] << 32;
		*data = e[PCI_MSIX_ENTRY_DATA];
		return 0;
	}
	if (msi_enabled(dev)) {
		if (vector >= msi_nen(dev))
			return -EINVAL;
		if (dev->msi_pvm &&
		    (msi_reg(dev, PCI_MSI_MASK_32, PCI_MSI_MASK_64) &
		     (UINT32_C(1) << vector))) {
			msi_set_pending(dev, msi_reg(dev, PCI_MSI_PENDING_32,
						     PCI_MSI_PENDING_64) |
						     (UINT32_C(1) << vector));
			return 1;
		}
		*addr = msi_address(dev);
		*data = msi_data(dev, vector);
		return 0;
	}
	return -EIO;
}

UIOMMU_API int uiommu_pci_dev_notify(struct uiommu_pci_dev *dev,
				     unsigned int vector)
{
	uint64_t addr = 0;
	uint32_t data = 0;
	int ret;

	if (!dev)
		return uio_fail(-EINVAL, SUBSYS, "notify: NULL device");
	uio_lock(&dev->lock);
	ret = raise_locked(dev, vector, &addr, &data);
	if (ret == 1)
		dev->stats.msi_pended++;
	else if (ret < 0)
		dev->stats.msi_dropped++;
	uio_unlock(&dev->lock);
	trace_pci_msi_raise(dev->name, vector, ret);
	if (ret)
		return ret;
	return uio_pci_dev_send(dev, addr, data);
}

/* --------------------------------------------------------------- check */

int uio_pci_msi_check(struct uiommu_pci_dev *dev)
{
	if (dev->msi_cap) {
		uint16_t ctl = msi_ctl(dev);

		if (UIO_FEX32(ctl, PCI_MSI_CTL, MME) >
		    UIO_FEX32(ctl, PCI_MSI_CTL, MMC))
			return uio_fail(-EUCLEAN, SUBSYS, "%s: MSI MME > MMC",
					dev->name);
		if (dev->msi_pvm &&
		    (msi_reg(dev, PCI_MSI_PENDING_32, PCI_MSI_PENDING_64) &
		     ~msi_vec_bits(dev->msi_nvec)))
			return uio_fail(-EUCLEAN, SUBSYS,
					"%s: MSI pending bit beyond vector %u",
					dev->name, dev->msi_nvec);
	}
	if (dev->msix_cap) {
		for (unsigned int v = dev->msix_nvec; v % 64; v++)
			if (pba_test(dev, v))
				return uio_fail(-EUCLEAN, SUBSYS,
						"%s: PBA bit %u beyond table",
						dev->name, v);
		for (unsigned int v = 0; v < dev->msix_nvec; v++)
			if (msix_entry(dev, v)[PCI_MSIX_ENTRY_CTRL] &
			    ~(uint32_t)PCI_MSIX_VCTL_MASK_MASK)
				return uio_fail(-EUCLEAN, SUBSYS,
						"%s: MSI-X vector %u control "
						"reserved bits set",
						dev->name, v);
	}
	return 0;
}
