/* SPDX-License-Identifier: MIT */
/*
 * Private state of the PCI models (pci-host.c, pci-dev.c, pci-msi.c,
 * pci-testdev.c).  The architectural layout is in pci-regs.h.
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
#include "pci-regs.h"

#define PCI_ECAM_BUS_SIZE (UINT64_C(1) << 20)

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

	unsigned int pcie_cap;		/* 0: none */
	unsigned int acs_cap;		/* extended, 0: none */
	unsigned int ext_next;		/* where the next extended cap goes */
	unsigned int ext_last;		/* header of the last one, 0: none */

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
