/* SPDX-License-Identifier: MIT */
/*
 * Private state of the PCI models (pci-host.c, pci-dev.c, pci-msi.c,
 * pci-testdev.c) and the architectural layout of type-0 configuration
 * space, the MSI and MSI-X capabilities, declared once here.
 *
 * Locking: each function has a mutex (dev->lock) over its configuration
 * space, MSI-X table, PBA and counters.  It is never held while calling out
 * (DMA port, physical memory, a BAR's device callbacks).  The host's mutex
 * serialises plugging and BAR decoding updates; the ECAM path does not take
 * it (slots are read atomically) because physical memory may hold its own
 * locks while calling the ECAM callbacks.
 */
#ifndef UIO_PCI_INTERNAL_H
#define UIO_PCI_INTERNAL_H

#include <uiommu/pci.h>

#include "bits.h"
#include "lock.h"

#define PCI_CFG_SIZE	4096	/* PCIe 6.0, 7.2.2: 4 KiB per function (ECAM) */
#define PCI_NUM_BARS	6
#define PCI_ECAM_BUS_SIZE (UINT64_C(1) << 20)

/* Type 0 header offsets (PCI 3.0, 6.1; PCIe 6.0, 7.5.1.1 and 7.5.1.2) */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_CAP_START		0x40	/* first byte after the header */
#define PCI_CAP_END		0x100	/* capabilities live below this */

/* Command register (PCIe 6.0, 7.5.1.1.3) */
UIO_FIELD(PCI_CMD, IO, 0, 1);		/* I/O Space Enable */
UIO_FIELD(PCI_CMD, MEM, 1, 1);		/* Memory Space Enable */
UIO_FIELD(PCI_CMD, MASTER, 2, 1);	/* Bus Master Enable */
UIO_FIELD(PCI_CMD, PARITY, 6, 1);	/* Parity Error Response */
UIO_FIELD(PCI_CMD, SERR, 8, 1);		/* SERR# Enable */
UIO_FIELD(PCI_CMD, INTX_DISABLE, 10, 1); /* Interrupt Disable */

/* Status register (PCIe 6.0, 7.5.1.1.4); bits 8 and 11..15 are RW1C */
UIO_FIELD(PCI_STS, CAP_LIST, 4, 1);	/* Capabilities List (RO 1) */
UIO_FIELD(PCI_STS, MDPE, 8, 1);		/* Master Data Parity Error */
UIO_FIELD(PCI_STS, ERRORS, 11, 5);	/* Sig/Rcv Target Abort .. Det Parity */

/* Memory BAR (PCI 3.0, 6.2.5.1; PCIe 6.0, 7.5.1.2.1) */
UIO_FIELD(PCI_BAR, SPACE, 0, 1);	/* Memory Space Indicator: 0 memory */
UIO_FIELD(PCI_BAR, TYPE, 1, 2);		/* 00 32-bit, 10 64-bit */
UIO_FIELD(PCI_BAR, PREFETCH, 3, 1);	/* Prefetchable */
UIO_FIELD(PCI_BAR, ADDR, 4, 28);	/* Base Address [31:4] */
#define PCI_BAR_TYPE_64 2

/* Capability header (PCI 3.0, 6.7; PCIe 6.0, 7.5.3) */
#define PCI_CAP_ID		0
#define PCI_CAP_NEXT		1
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11

/*
 * MSI capability (PCI 3.0, 6.8.1; PCIe 6.0, 7.7.1).  Offsets from the
 * capability; with the 64-bit address the data/mask/pending move by 4.
 */
#define PCI_MSI_FLAGS		2	/* Message Control */
#define PCI_MSI_ADDR_LO		4	/* Message Address [31:2] */
#define PCI_MSI_ADDR_HI		8	/* Message Upper Address (64-bit) */
#define PCI_MSI_DATA_32		8
#define PCI_MSI_DATA_64		12
#define PCI_MSI_MASK_32		12	/* Mask Bits (per-vector masking) */
#define PCI_MSI_MASK_64		16
#define PCI_MSI_PENDING_32	16	/* Pending Bits */
#define PCI_MSI_PENDING_64	20
/* Message Control (PCIe 6.0, 7.7.1.2) */
UIO_FIELD(PCI_MSI_CTL, ENABLE, 0, 1);	/* MSI Enable */
UIO_FIELD(PCI_MSI_CTL, MMC, 1, 3);	/* Multiple Message Capable, log2 */
UIO_FIELD(PCI_MSI_CTL, MME, 4, 3);	/* Multiple Message Enable, log2 */
UIO_FIELD(PCI_MSI_CTL, ADDR64, 7, 1);	/* 64 bit Address Capable */
UIO_FIELD(PCI_MSI_CTL, PVM, 8, 1);	/* Per-Vector Masking Capable */
/* Message Address [1:0] are reserved zero (PCIe 6.0, 7.7.1.3) */
UIO_FIELD(PCI_MSI_ADDR, LO, 2, 30);

/* MSI-X capability (PCI 3.0, 6.8.2; PCIe 6.0, 7.7.2) */
#define PCI_MSIX_FLAGS		2	/* Message Control */
#define PCI_MSIX_TABLE		4	/* Table Offset / Table BIR */
#define PCI_MSIX_PBA		8	/* PBA Offset / PBA BIR */
#define PCI_MSIX_CAP_SIZE	12
/* Message Control (PCIe 6.0, 7.7.2.2) */
UIO_FIELD(PCI_MSIX_CTL, QSIZE, 0, 11);	/* Table Size, N - 1 */
UIO_FIELD(PCI_MSIX_CTL, MASKALL, 14, 1); /* Function Mask */
UIO_FIELD(PCI_MSIX_CTL, ENABLE, 15, 1);	/* MSI-X Enable */
/* Table / PBA Offset and BIR (PCIe 6.0, 7.7.2.3 and 7.7.2.4) */
UIO_FIELD(PCI_MSIX_LOC, BIR, 0, 3);
UIO_FIELD(PCI_MSIX_LOC, OFFSET, 3, 29);
/* Table entry: 4 DWORDs (PCIe 6.0, 7.7.2.5 - 7.7.2.8) */
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_ENTRY_ADDR_LO	0	/* Message Address, [1:0] zero */
#define PCI_MSIX_ENTRY_ADDR_HI	1	/* Message Upper Address */
#define PCI_MSIX_ENTRY_DATA	2	/* Message Data */
#define PCI_MSIX_ENTRY_CTRL	3	/* Vector Control */
UIO_FIELD(PCI_MSIX_VCTL, MASK, 0, 1);	/* Mask Bit, 1 after reset */

struct uiommu_pci_dev;

/* One memory BAR of a function. */
struct uio_pci_bar {
	struct uiommu_pci_dev *dev;
	unsigned int index;
	bool present;
	uint64_t size;
	unsigned int flags;		/* UIOMMU_PCI_BAR_* */
	const struct uiommu_mmio_ops *ops;
	void *opaque;
	const struct uiommu_reg_desc *regs;	/* the device's, or merged */
	size_t nregs;
	struct uiommu_reg_desc *own_regs;	/* merged map we allocated */
	char *region_name;		/* "<dev>.bar<N>" */
	/* Decoding state in the physical address space (host lock). */
	bool mapped;
	uint64_t mapped_addr;
	bool bad_logged;
	uint64_t bad_addr;
};

/* Subclass hooks (the test device). */
struct uio_pci_dev_class {
	void (*release)(struct uiommu_pci_dev *dev);
};

struct uiommu_pci_dev {
	struct uio_mutex lock;
	char *name;
	struct uiommu_pci_host *host;	/* NULL while unplugged */
	struct uiommu_pci_dev *host_next; /* host's list (host lock) */
	unsigned int bus, devfn;
	uint16_t vendor_id;

	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* writable bits */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* write-1-to-clear bits */
	unsigned int cap_next;		/* where the next capability goes */
	unsigned int cap_last;		/* offset of the last one's header */

	struct uio_pci_bar bar[PCI_NUM_BARS];

	unsigned int msi_cap;		/* 0: none */
	unsigned int msi_nvec;
	bool msi_64, msi_pvm;

	unsigned int msix_cap;		/* 0: none */
	unsigned int msix_nvec;
	unsigned int msix_table_bar, msix_pba_bar;
	uint32_t msix_table_off, msix_pba_off;
	uint32_t *msix_table;		/* 4 DWORDs per vector */
	uint64_t *msix_pba;		/* 1 bit per vector */

	struct uiommu_pci_dev_stats stats;

	const struct uio_pci_dev_class *cls;
	void *priv;
};

/* pci-dev.c */
void uio_pci_cfg_set8(struct uiommu_pci_dev *dev, unsigned int off,
		      uint8_t val, uint8_t wmask, uint8_t w1c);
void uio_pci_cfg_set16(struct uiommu_pci_dev *dev, unsigned int off,
		       uint16_t val, uint16_t wmask, uint16_t w1c);
void uio_pci_cfg_set32(struct uiommu_pci_dev *dev, unsigned int off,
		       uint32_t val, uint32_t wmask, uint32_t w1c);
uint32_t uio_pci_cfg_get(const struct uiommu_pci_dev *dev, unsigned int off,
			 unsigned int size);
int uio_pci_add_cap(struct uiommu_pci_dev *dev, uint8_t id, unsigned int size,
		    unsigned int *off);
uint32_t uio_pci_dev_cfg_read(struct uiommu_pci_dev *dev, unsigned int off,
			      unsigned int size);
bool uio_pci_dev_cfg_write(struct uiommu_pci_dev *dev, unsigned int off,
			   unsigned int size, uint32_t val);
bool uio_pci_bar_decoded(struct uiommu_pci_dev *dev, unsigned int bar,
			 uint64_t *addr);
int uio_pci_dev_init(struct uiommu_pci_dev *dev,
		     const struct uiommu_pci_dev_desc *desc);
void uio_pci_dev_fini(struct uiommu_pci_dev *dev);
const struct uiommu_mmio_ops *uio_pci_bar_mmio_ops(void);
int uio_pci_dev_send(struct uiommu_pci_dev *dev, uint64_t addr,
		     uint32_t data);

/* pci-msi.c: all called with dev->lock held, except where said */
void uio_pci_msi_cfg_written(struct uiommu_pci_dev *dev, unsigned int off,
			     unsigned int size);
bool uio_pci_msix_owns(const struct uiommu_pci_dev *dev, unsigned int bar,
		       uint64_t off);
int uio_pci_msix_mmio_read(struct uiommu_pci_dev *dev, unsigned int bar,
			   uint64_t off, unsigned int size, uint64_t *val);
int uio_pci_msix_mmio_write(struct uiommu_pci_dev *dev, unsigned int bar,
			    uint64_t off, unsigned int size, uint64_t val);
/* Without the lock: send whatever became deliverable. */
void uio_pci_msi_flush_pending(struct uiommu_pci_dev *dev);
int uio_pci_msi_check(struct uiommu_pci_dev *dev);
void uio_pci_msix_free(struct uiommu_pci_dev *dev);

/* pci-host.c */
struct uio_pci_port {
	const struct uiommu_pci_dma_ops *ops;
	void *opaque;
};
/* The host's port, read once (it only changes with no DMA in flight). */
void uio_pci_host_port(struct uiommu_pci_host *host, struct uio_pci_port *p);
void uio_pci_host_mark_dirty(struct uiommu_pci_host *host);
void uio_pci_host_remove_dev_locked(struct uiommu_pci_host *host,
				    struct uiommu_pci_dev *dev);

#endif /* UIO_PCI_INTERNAL_H */
