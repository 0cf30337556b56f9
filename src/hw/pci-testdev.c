// SPDX-License-Identifier: MIT
/*
 * uiommu-testdev: a PCI function made to exercise DMA and MSI through an
 * IOMMU, in the spirit of QEMU's edu and pci-testdev (its own design).
 *
 * BAR0 holds the registers (layout in include/uiommu/pci.h) and, at 0x8000,
 * a window onto a 32 KiB device buffer.  Writing CMD runs a transfer to
 * completion before the write returns:
 *   READ   SRC IOVA           -> buffer[BUF_OFF], LEN bytes
 *   WRITE  buffer[BUF_OFF]    -> DST IOVA
 *   COPY   SRC IOVA           -> DST IOVA (through a bounce buffer)
 * STATUS then says DONE, or ERROR with the reason and, for a DMA fault, the
 * fault type from the DMA port and FAULT_ADDR the faulting IOVA.  Writing N
 * to IRQ_RAISE raises vector N (MSI-X if enabled, else MSI); IRQ_STATUS
 * holds the outcome (0 sent, 1 pending, else a positive errno).
 *
 * BAR2 holds the MSI-X table (up to 2048 vectors) and, at 0x8000, the PBA.
 * All transfers go through uiommu_pci_dev_dma() in chunks of at most 4 KiB,
 * so Bus Master Enable and the host bridge's DMA port apply to each.
 */
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "pci-internal.h"
#include "trace.h"

#define SUBSYS "pci-testdev"

#define TESTDEV_ID_VALUE	0x75690001u
#define CHUNK			4096

/* CMD register (uiommu-testdev; see pci.h) */
UIO_FIELD(TD_CMD, OP, 0, 4);
UIO_FIELD(TD_CMD, IRQ, 8, 1);
UIO_FIELD(TD_CMD, VEC, 16, 16);
/* STATUS register */
UIO_FIELD(TD_ST, BUSY, 0, 1);
UIO_FIELD(TD_ST, DONE, 1, 1);
UIO_FIELD(TD_ST, ERROR, 2, 1);
UIO_FIELD(TD_ST, ERR, 8, 8);
UIO_FIELD(TD_ST, FAULT, 16, 8);

struct testdev {
	struct uiommu_pci_dev pdev;	/* first: freed as one object */
	struct uio_mutex lock;		/* registers and buffer */
	uint64_t src, dst;
	uint32_t len, buf_off;
	uint32_t status;
	uint64_t fault_addr;
	uint32_t irq_status;
	uint32_t dma_count;
	uint8_t buf[UIOMMU_TESTDEV_BUF_BYTES];
};

static const struct uiommu_reg_desc bar0_regs[] = {
	{ "ID", UIOMMU_TESTDEV_ID, 4 },
	{ "BUF_SIZE", UIOMMU_TESTDEV_BUF_SIZE, 4 },
	{ "SRC", UIOMMU_TESTDEV_SRC, 8 },
	{ "DST", UIOMMU_TESTDEV_DST, 8 },
	{ "LEN", UIOMMU_TESTDEV_LEN, 4 },
	{ "BUF_OFF", UIOMMU_TESTDEV_BUF_OFF, 4 },
	{ "CMD", UIOMMU_TESTDEV_CMD, 4 },
	{ "STATUS", UIOMMU_TESTDEV_STATUS, 4 },
	{ "FAULT_ADDR", UIOMMU_TESTDEV_FAULT_ADDR, 8 },
	{ "IRQ_RAISE", UIOMMU_TESTDEV_IRQ_RAISE, 4 },
	{ "IRQ_STATUS", UIOMMU_TESTDEV_IRQ_STATUS, 4 },
	{ "DMA_COUNT", UIOMMU_TESTDEV_DMA_COUNT, 4 },
	{ "BUF", UIOMMU_TESTDEV_BUF, UIOMMU_TESTDEV_BUF_BYTES },
};

/* ---------------------------------------------------------- transfers */

/* One chunk of the buffer to or from @iova. */
static int buf_dma(struct testdev *td, uint64_t iova, uint32_t off,
		   uint32_t n, bool to_mem, struct uiommu_dma_fault *fault)
{
	uint8_t bounce[CHUNK];
	int ret;

	if (to_mem) {
		uio_lock(&td->lock);
		memcpy(bounce, td->buf + off, n);
		uio_unlock(&td->lock);
		return uiommu_pci_dev_dma(&td->pdev, iova, bounce, n, true, fault);
	}
	ret = uiommu_pci_dev_dma(&td->pdev, iova, bounce, n, false, fault);
	if (ret)
		return ret;
	uio_lock(&td->lock);
	memcpy(td->buf + off, bounce, n);
	uio_unlock(&td->lock);
	return 0;
}

static int copy_chunk(struct testdev *td, uint64_t src, uint64_t dst,
		      uint32_t n, struct uiommu_dma_fault *fault)
{
	uint8_t bounce[CHUNK];
	int ret = uiommu_pci_dev_dma(&td->pdev, src, bounce, n, false, fault);

	return ret ? ret : uiommu_pci_dev_dma(&td->pdev, dst, bounce, n, true,
					      fault);
}

/* Run @op; returns the STATUS error code. */
static unsigned int run(struct testdev *td, unsigned int op, uint64_t src,
			uint64_t dst, uint32_t len, uint32_t off,
			struct uiommu_dma_fault *fault)
{
	bool buf_op = op == UIOMMU_TESTDEV_OP_READ || op == UIOMMU_TESTDEV_OP_WRITE;
	int ret = 0;

	if (!len || (!buf_op && op != UIOMMU_TESTDEV_OP_COPY) ||
	    (buf_op && (off > UIOMMU_TESTDEV_BUF_BYTES ||
			len > UIOMMU_TESTDEV_BUF_BYTES - off))) {
		uio_guest_error(SUBSYS, "%s: bad command op %u len 0x%" PRIx32
				" buffer offset 0x%" PRIx32, td->pdev.name, op,
				len, off);
		return UIOMMU_TESTDEV_ERR_CMD;
	}
	for (uint32_t done = 0; done < len && !ret;) {
		uint32_t n = len - done < CHUNK ? len - done : CHUNK;

		if (op == UIOMMU_TESTDEV_OP_READ)
			ret = buf_dma(td, src + done, off + done, n, false, fault);
		else if (op == UIOMMU_TESTDEV_OP_WRITE)
			ret = buf_dma(td, dst + done, off + done, n, true, fault);
		else
			ret = copy_chunk(td, src + done, dst + done, n, fault);
		done += n;
	}
	if (!ret)
		return UIOMMU_TESTDEV_ERR_NONE;
	if (fault->type == UIOMMU_DMA_FAULT_BUS_MASTER)
		return UIOMMU_TESTDEV_ERR_BUS_MASTER;
	return UIOMMU_TESTDEV_ERR_DMA;
}

static void start(struct testdev *td, uint32_t cmd)
{
	struct uiommu_dma_fault fault = { 0 };
	uint64_t src, dst;
	uint32_t len, off, st;
	unsigned int err;

	uio_lock(&td->lock);
	if (UIO_FEX32(td->status, TD_ST, BUSY)) {
		uio_unlock(&td->lock);
		uio_guest_error(SUBSYS, "%s: CMD written while busy",
				td->pdev.name);
		return;
	}
	td->status = UIO_FDP32(0, TD_ST, BUSY, 1);
	src = td->src;
	dst = td->dst;
	len = td->len;
	off = td->buf_off;
	uio_unlock(&td->lock);

	trace_pci_testdev_cmd(td->pdev.name, cmd, src, dst, len);
	err = run(td, UIO_FEX32(cmd, TD_CMD, OP), src, dst, len, off, &fault);

	st = UIO_FDP32(0, TD_ST, DONE, err == UIOMMU_TESTDEV_ERR_NONE);
	st = UIO_FDP32(st, TD_ST, ERROR, err != UIOMMU_TESTDEV_ERR_NONE);
	st = UIO_FDP32(st, TD_ST, ERR, err);
	if (err == UIOMMU_TESTDEV_ERR_DMA || err == UIOMMU_TESTDEV_ERR_BUS_MASTER)
		st = UIO_FDP32(st, TD_ST, FAULT, fault.type);
	uio_lock(&td->lock);
	td->status = st;
	td->fault_addr = err == UIOMMU_TESTDEV_ERR_DMA ? fault.addr : 0;
	td->dma_count++;
	uio_unlock(&td->lock);
	trace_pci_testdev_status(td->pdev.name, st);
	if (UIO_FEX32(cmd, TD_CMD, IRQ)) {
		int r = uiommu_pci_dev_notify(&td->pdev, UIO_FEX32(cmd, TD_CMD, VEC));

		uio_lock(&td->lock);
		td->irq_status = r < 0 ? (uint32_t)-r : (uint32_t)r;
		uio_unlock(&td->lock);
	}
}

static void raise_irq(struct testdev *td, uint32_t vector)
{
	int r = uiommu_pci_dev_notify(&td->pdev, vector);

	uio_lock(&td->lock);
	td->irq_status = r < 0 ? (uint32_t)-r : (uint32_t)r;
	uio_unlock(&td->lock);
}

/* ------------------------------------------------------------ registers */

/* Part of a 64-bit register at @reg touched by an access at @off. */
static bool reg64_hit(uint64_t off, unsigned int size, uint64_t reg,
		      unsigned int *shift)
{
	if (off == reg && (size == 8 || size == 4)) {
		*shift = 0;
		return true;
	}
	if (off == reg + 4 && size == 4) {
		*shift = 32;
		return true;
	}
	return false;
}

static uint64_t reg64_merge(uint64_t old, unsigned int shift,
			    unsigned int size, uint64_t val)
{
	uint64_t m = size == 8 ? UINT64_MAX : UINT64_C(0xffffffff) << shift;

	return (old & ~m) | ((val << shift) & m);
}

static int bar0_read(void *opaque, uint64_t off, unsigned int size,
		     uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct testdev *td = opaque;
	unsigned int sh;
	uint64_t v = 0;

	uio_lock(&td->lock);
	if (off >= UIOMMU_TESTDEV_BUF) {
		for (unsigned int i = 0; i < size; i++)
			v |= (uint64_t)td->buf[off - UIOMMU_TESTDEV_BUF + i] << (8 * i);
	} else if (reg64_hit(off, size, UIOMMU_TESTDEV_SRC, &sh)) {
		v = td->src >> sh;
	} else if (reg64_hit(off, size, UIOMMU_TESTDEV_DST, &sh)) {
		v = td->dst >> sh;
	} else if (reg64_hit(off, size, UIOMMU_TESTDEV_FAULT_ADDR, &sh)) {
		v = td->fault_addr >> sh;
	} else if (size == 4) {
		switch (off) {
		case UIOMMU_TESTDEV_ID: v = TESTDEV_ID_VALUE; break;
		case UIOMMU_TESTDEV_BUF_SIZE: v = UIOMMU_TESTDEV_BUF_BYTES; break;
		case UIOMMU_TESTDEV_LEN: v = td->len; break;
		case UIOMMU_TESTDEV_BUF_OFF: v = td->buf_off; break;
		case UIOMMU_TESTDEV_STATUS: v = td->status; break;
		case UIOMMU_TESTDEV_IRQ_STATUS: v = td->irq_status; break;
		case UIOMMU_TESTDEV_DMA_COUNT: v = td->dma_count; break;
		default: break;
		}
	}
	uio_unlock(&td->lock);
	if (size < 8)
		v &= UIO_GENMASK(8 * size - 1, 0);
	*val = v;
	return 0;
}

/* Register writes; returns the command to run or the vector to raise. */
static void bar0_store(struct testdev *td, uint64_t off, unsigned int size,
		       uint64_t val, uint32_t *cmd, uint32_t *irq)
{
	unsigned int sh;

	uio_assert_held(&td->lock);
	if (off >= UIOMMU_TESTDEV_BUF) {
		for (unsigned int i = 0; i < size; i++)
			td->buf[off - UIOMMU_TESTDEV_BUF + i] = (uint8_t)(val >> (8 * i));
	} else if (reg64_hit(off, size, UIOMMU_TESTDEV_SRC, &sh)) {
		td->src = reg64_merge(td->src, sh, size, val);
	} else if (reg64_hit(off, size, UIOMMU_TESTDEV_DST, &sh)) {
		td->dst = reg64_merge(td->dst, sh, size, val);
	} else if (size == 4 && off == UIOMMU_TESTDEV_LEN) {
		td->len = (uint32_t)val;
	} else if (size == 4 && off == UIOMMU_TESTDEV_BUF_OFF) {
		td->buf_off = (uint32_t)val;
	} else if (size == 4 && off == UIOMMU_TESTDEV_CMD) {
		*cmd = (uint32_t)val;
	} else if (size == 4 && off == UIOMMU_TESTDEV_STATUS) {
		/* DONE and ERROR are write-1-to-clear; clearing ERROR
		 * forgets the reason too. */
		uint32_t clr = (uint32_t)val & (uint32_t)(TD_ST_DONE_MASK |
							  TD_ST_ERROR_MASK);

		td->status &= ~clr;
		if (clr & TD_ST_ERROR_MASK) {
			td->status &= ~(uint32_t)(TD_ST_ERR_MASK | TD_ST_FAULT_MASK);
			td->fault_addr = 0;
		}
	} else if (size == 4 && off == UIOMMU_TESTDEV_IRQ_RAISE) {
		*irq = (uint32_t)val;
	} else {
		uio_guest_error(SUBSYS, "%s: %u-byte write of 0x%" PRIx64
				" to 0x%" PRIx64 " ignored", td->pdev.name,
				size, val, off);
	}
}

/*
 * A DMA or MSI the device sends may land on its own (or a peer's) BAR0 and
 * start another transfer there.  The chain runs on this thread's stack, so
 * it is cut at a small depth: the write that would go deeper is dropped.
 */
#define MAX_NESTING 4
static __thread unsigned int nesting;

static int bar0_write(void *opaque, uint64_t off, unsigned int size,
		      uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct testdev *td = opaque;
	uint32_t cmd = 0, irq = UINT32_MAX;

	uio_lock(&td->lock);
	bar0_store(td, off, size, val, &cmd, &irq);
	uio_unlock(&td->lock);
	if ((cmd || irq != UINT32_MAX) && nesting >= MAX_NESTING) {
		uio_guest_error(SUBSYS, "%s: DMA loops back into a device "
				"register (0x%" PRIx64 "); dropped",
				td->pdev.name, off);
		return 0;
	}
	/* Both run without the lock: they master the bus. */
	nesting++;
	if (cmd)
		start(td, cmd);
	if (irq != UINT32_MAX)
		raise_irq(td, irq);
	nesting--;
	return 0;
}

static const struct uiommu_mmio_ops bar0_ops = {
	.read = bar0_read,
	.write = bar0_write,
};

/* ------------------------------------------------------------ lifecycle */

static void testdev_release(struct uiommu_pci_dev *dev)
{
	struct testdev *td = uio_container_of(dev, struct testdev, pdev);

	uio_mutex_destroy(&td->lock);
	uio_delete(td);
}

static const struct uio_pci_dev_class testdev_class = {
	.release = testdev_release,
};

static int testdev_caps(struct testdev *td,
			const struct uiommu_testdev_config *cfg)
{
	struct uiommu_pci_bar_desc bar0 = {
		.size = UIOMMU_TESTDEV_BAR0_SIZE,
		.flags = UIOMMU_PCI_BAR_64,
		.ops = &bar0_ops,
		.opaque = td,
		.regs = bar0_regs,
		.nregs = UIO_ARRAY_SIZE(bar0_regs),
	};
	struct uiommu_pci_bar_desc bar2 = { .size = UIOMMU_TESTDEV_BAR2_SIZE };
	int ret;

	ret = uiommu_pci_dev_add_bar(&td->pdev, 0, &bar0);
	if (!ret)
		ret = uiommu_pci_dev_add_bar(&td->pdev, 2, &bar2);
	if (!ret)
		ret = uiommu_pci_dev_add_pcie(&td->pdev, UIOMMU_PCI_EXP_RC_END);
	if (!ret && cfg->acs)
		ret = uiommu_pci_dev_add_acs(&td->pdev, cfg->acs);
	if (!ret && cfg->msi_vectors)
		ret = uiommu_pci_dev_add_msi(&td->pdev, cfg->msi_vectors,
					     UIOMMU_PCI_MSI_64BIT |
					     UIOMMU_PCI_MSI_MASKABLE);
	if (!ret && cfg->msix_vectors)
		ret = uiommu_pci_dev_add_msix(&td->pdev, cfg->msix_vectors, 2, 0,
					      2, UIOMMU_TESTDEV_MSIX_PBA_OFF);
	return ret;
}

UIOMMU_API int uiommu_testdev_create(const struct uiommu_testdev_config *cfg,
				     struct uiommu_pci_dev **out)
{
	struct uiommu_pci_dev_desc desc;
	struct testdev *td;
	int ret;

	if (!cfg || !out || !cfg->name)
		return uio_fail(-EINVAL, SUBSYS, "create: NULL argument");
	if ((cfg->msi_vectors &&
	     (!uio_is_pow2(cfg->msi_vectors) || cfg->msi_vectors > 32)) ||
	    cfg->msix_vectors > UIOMMU_TESTDEV_MAX_VECTORS)
		return uio_fail(-EINVAL, SUBSYS, "%s: MSI %u / MSI-X %u vectors",
				cfg->name, cfg->msi_vectors, cfg->msix_vectors);
	desc = (struct uiommu_pci_dev_desc){
		.name = cfg->name,
		.vendor_id = UIOMMU_TESTDEV_VENDOR_ID,
		.device_id = UIOMMU_TESTDEV_DEVICE_ID,
		.subsystem_vendor_id = UIOMMU_TESTDEV_VENDOR_ID,
		.subsystem_id = UIOMMU_TESTDEV_DEVICE_ID,
		.class_code = UIOMMU_TESTDEV_CLASS,
	};
	td = uio_new(struct testdev);
	if (!td)
		return -ENOMEM;
	ret = uio_pci_dev_init(&td->pdev, &desc);
	if (ret) {
		uio_delete(td);
		return ret;
	}
	uio_mutex_init(&td->lock);
	td->pdev.cls = &testdev_class;
	td->pdev.priv = td;
	ret = testdev_caps(td, cfg);
	if (ret) {
		uiommu_pci_dev_destroy(&td->pdev);
		return ret;
	}
	*out = &td->pdev;
	return 0;
}
