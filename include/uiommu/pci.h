/* SPDX-License-Identifier: MIT */
/*
 * uiommu pci: models of PCI Express hardware.
 *
 * - An ECAM host bridge: an MMIO region of (bus count) x 1 MiB in the
 *   physical address space that routes configuration reads and writes of 1,
 *   2 or 4 bytes to the function plugged at bus/device/function.
 * - Generic type-0 functions: a 4 KiB configuration space with read-only,
 *   read-write and write-1-to-clear bits, BARs with the sizing protocol, the
 *   Command register's Memory Space and Bus Master enables, a capability
 *   list, and MSI / MSI-X capabilities implemented by the function itself
 *   (MSI-X table and PBA live in a BAR); optionally a PCI Express
 *   Capability and an ACS Extended Capability (for grouping decisions).
 * - A DMA test device (uiommu-testdev) that reads, writes and copies between
 *   IOVAs and raises MSI or MSI-X vector N on request.
 * - uiommu_map_id(): Linux's of_map_id() semantics for iommu-map / msi-map.
 *
 * Everything a function sends upstream -- DMA reads and writes, and MSI /
 * MSI-X messages, which are ordinary 32-bit memory writes -- goes through
 * the host bridge's DMA port (struct uiommu_pci_dma_ops) with the
 * requester ID beside it.  The machine connects that port to an IOMMU model
 * (translate, then physical memory) or, with no IOMMU, straight to physical
 * memory with uiommu_pci_dma_physmem_ops().
 *
 * BARs appear in the physical address space as MMIO regions (named
 * "<device>.bar<N>", with register maps) while they are assigned and the
 * function's Memory Space Enable is set.  Physical-memory callbacks may not
 * add or remove regions, so a configuration write that arrives through the
 * ECAM region only records the new decoding; it takes effect in the address
 * space at the next uiommu_pci_host_cfg_write() or
 * uiommu_pci_host_update_decode().  Writes made with
 * uiommu_pci_host_cfg_write() take effect at once.  A region whose decoding
 * was turned off answers with bus errors until it is removed.
 *
 * Specifications cited: PCI Local Bus Specification 3.0 ("PCI 3.0") and
 * PCI Express Base Specification 6.0 ("PCIe 6.0").
 */
#ifndef UIOMMU_PCI_H
#define UIOMMU_PCI_H

#include <uiommu/base.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_pci_host;
struct uiommu_pci_dev;

/* Requester ID of bus/device/function (PCIe 6.0, 2.2.6.2). */
#define UIOMMU_PCI_DEVFN(dev, fn) ((uint8_t)((((dev) & 0x1f) << 3) | ((fn) & 7)))
#define UIOMMU_PCI_RID(bus, devfn) ((uint16_t)(((bus) << 8) | (devfn)))

/* ------------------------------------------------------------- DMA port */

/* Why a DMA access did not complete. */
enum uiommu_dma_fault_type {
	UIOMMU_DMA_FAULT_NONE = 0,
	UIOMMU_DMA_FAULT_TRANSLATION,	/* no translation for the IOVA */
	UIOMMU_DMA_FAULT_PERMISSION,	/* translation forbids the access */
	UIOMMU_DMA_FAULT_ABORT,		/* the IOMMU blocks this requester */
	UIOMMU_DMA_FAULT_BUS,		/* output address not backed */
	UIOMMU_DMA_FAULT_BUS_MASTER,	/* the function's Bus Master Enable is 0 */
	UIOMMU_DMA_FAULT_OTHER,
};

/**
 * struct uiommu_dma_fault - what went wrong with a DMA access
 * @type:  the kind of fault
 * @addr:  the faulting input address (IOVA)
 * @write: the access was a write
 * @code:  IOMMU-specific detail (e.g. an SMMUv3 event number), or 0
 */
struct uiommu_dma_fault {
	enum uiommu_dma_fault_type type;
	uint64_t addr;
	bool write;
	uint32_t code;
};

/**
 * struct uiommu_pci_dma_ops - the upstream port of a host bridge
 * @access: read (@write false) or write @len bytes at @iova for requester
 *          @rid.  Return 0, or a negative errno (-EFAULT for a translation
 *          or bus fault, -EPERM for an isolation refusal) with *@fault
 *          filled in.  Called without any PCI lock held; may run
 *          concurrently for different requesters.
 *
 * An MSI or MSI-X message arrives here as a 4-byte write of the message
 * data to the message address.
 */
struct uiommu_pci_dma_ops {
	int (*access)(void *opaque, uint16_t rid, uint64_t iova, void *buf,
		      size_t len, bool write, struct uiommu_dma_fault *fault);
};

/**
 * uiommu_pci_dma_physmem_ops() - a DMA port with no IOMMU
 *
 * Use with a struct uiommu_physmem as opaque: addresses are physical, and
 * each access carries the requester ID as source ID
 * (UIOMMU_MEMATTR_SOURCE_VALID).  A hole gives UIOMMU_DMA_FAULT_BUS.
 *
 * Return: the ops (static).
 */
UIOMMU_API const struct uiommu_pci_dma_ops *uiommu_pci_dma_physmem_ops(void);

/* --------------------------------------------------------- host bridge */

/**
 * struct uiommu_pci_host_desc - an ECAM host bridge
 * @name:       owner name of its regions, e.g. "pcie@10000000" (copied)
 * @ecam_base:  physical base of the ECAM window, 1 MiB aligned; offset 0
 *              is bus @bus_start
 * @bus_start:  first bus number (DT bus-range)
 * @bus_end:    last bus number, inclusive, >= @bus_start
 * @dma_ops:    upstream port (may be NULL and set later)
 * @dma_opaque: passed to @dma_ops
 */
struct uiommu_pci_host_desc {
	const char *name;
	uint64_t ecam_base;
	unsigned int bus_start;
	unsigned int bus_end;
	const struct uiommu_pci_dma_ops *dma_ops;
	void *dma_opaque;
};

/**
 * uiommu_pci_host_create() - create a host bridge and map its ECAM window
 * @pm:   physical address space
 * @desc: description
 * @out:  the host bridge
 *
 * Return: 0; -EINVAL for a NULL argument, a misaligned @ecam_base or a bad
 * bus range; -ERANGE / -EEXIST if the ECAM window does not fit (see
 * uiommu_physmem_add_mmio()); -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_host_create(struct uiommu_physmem *pm,
		       const struct uiommu_pci_host_desc *desc,
		       struct uiommu_pci_host **out);

/**
 * uiommu_pci_host_destroy() - unmap the host bridge and destroy the
 * functions plugged into it
 * @host: the host bridge, or NULL
 */
UIOMMU_API void uiommu_pci_host_destroy(struct uiommu_pci_host *host);

/**
 * uiommu_pci_host_set_dma() - connect the upstream port
 * @ops: the port, or NULL to disconnect (DMA then fails with
 *       UIOMMU_DMA_FAULT_ABORT)
 *
 * Call while no DMA is in flight.
 */
UIOMMU_API void uiommu_pci_host_set_dma(struct uiommu_pci_host *host,
					const struct uiommu_pci_dma_ops *ops,
					void *opaque);

/**
 * uiommu_pci_host_plug() - plug a function at bus/devfn
 * @host:  host bridge
 * @bus:   bus number inside the bus range
 * @devfn: UIOMMU_PCI_DEVFN(device, function)
 * @dev:   a function not plugged anywhere; the host bridge owns it from now
 *         on (uiommu_pci_host_destroy() destroys it)
 *
 * Return: 0; -EINVAL for NULL arguments; -ERANGE for a bus outside the bus
 * range; -EEXIST if the slot is taken; -EBUSY if @dev is already plugged.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_host_plug(struct uiommu_pci_host *host, unsigned int bus,
		     unsigned int devfn, struct uiommu_pci_dev *dev);

/**
 * uiommu_pci_host_unplug() - take a function out again
 * @dev: a plugged function; its BARs are unmapped and the caller owns it
 *
 * Accesses through physical memory (ECAM, BARs) already under way finish
 * before this returns (uiommu_physmem_synchronize()), so the function may
 * be freed afterwards; do not call it from an MMIO callback.  Calls of the
 * host bridge's configuration API or of uiommu_pci_dev_*() racing the
 * removal remain the caller's race, as hot-unplug is on real hardware.
 *
 * Return: 0; -EINVAL if @dev is NULL or not plugged.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_pci_host_unplug(struct uiommu_pci_dev *dev);

/**
 * uiommu_pci_host_find() - the function at bus/devfn
 *
 * Return: the function, or NULL if the slot is empty or out of range.
 */
UIOMMU_API struct uiommu_pci_dev *
uiommu_pci_host_find(struct uiommu_pci_host *host, unsigned int bus,
		     unsigned int devfn);

/**
 * uiommu_pci_host_for_each() - visit the plugged functions in bus/devfn order
 * @fn: called with each function and its bus and devfn; a non-zero return
 *      stops the walk and is returned.  It must not plug or unplug.
 *
 * Return: 0 after visiting all, or @fn's non-zero value.
 */
UIOMMU_API int
uiommu_pci_host_for_each(struct uiommu_pci_host *host,
			 int (*fn)(void *opaque, struct uiommu_pci_dev *dev,
				   unsigned int bus, unsigned int devfn),
			 void *opaque);

/**
 * uiommu_pci_host_cfg_read() - configuration read, as through ECAM
 * @host:   host bridge
 * @bus:    bus number
 * @devfn:  device/function
 * @offset: register offset, 0..4095, aligned to @size
 * @size:   1, 2 or 4
 * @val:    receives the value; all-ones for an absent function
 *
 * Return: 0; -EINVAL for a bad @size, misaligned @offset or NULL @val.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_host_cfg_read(struct uiommu_pci_host *host, unsigned int bus,
			 unsigned int devfn, unsigned int offset,
			 unsigned int size, uint32_t *val);

/**
 * uiommu_pci_host_cfg_write() - configuration write, as through ECAM
 *
 * Writes to absent functions are dropped.  BAR decoding changes take
 * effect in the physical address space before this returns.
 *
 * Return: 0; -EINVAL for a bad @size or misaligned @offset.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_host_cfg_write(struct uiommu_pci_host *host, unsigned int bus,
			  unsigned int devfn, unsigned int offset,
			  unsigned int size, uint32_t val);

/**
 * struct uiommu_pci_cfg_ops - configuration space accessors for an OS
 * @read:  like uiommu_pci_host_cfg_read()
 * @write: like uiommu_pci_host_cfg_write()
 *
 * The OS-side PCI core (pci-core.h) reaches configuration space through
 * these, as Linux's struct pci_ops.
 */
struct uiommu_pci_cfg_ops {
	int (*read)(void *opaque, unsigned int bus, unsigned int devfn,
		    unsigned int offset, unsigned int size, uint32_t *val);
	int (*write)(void *opaque, unsigned int bus, unsigned int devfn,
		     unsigned int offset, unsigned int size, uint32_t val);
};

/**
 * uiommu_pci_host_cfg_ops() - accessors that reach a host bridge model
 *
 * Use with the struct uiommu_pci_host as opaque.  Equivalent to ECAM
 * accesses, except that BAR decoding changes are applied immediately.
 *
 * Return: the ops (static).
 */
UIOMMU_API const struct uiommu_pci_cfg_ops *uiommu_pci_host_cfg_ops(void);

/**
 * uiommu_pci_host_update_decode() - apply BAR decoding changes
 *
 * Adds the regions of BARs that became decoded and removes those that no
 * longer are (see the file comment).  A BAR whose address overlaps another
 * region or lies beyond the address width stays unreachable and is logged
 * as a guest error.
 *
 * Return: 0; -ENOMEM if a region could not be added (retry later).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_host_update_decode(struct uiommu_pci_host *host);

/**
 * uiommu_pci_host_check() - verify the host bridge's invariants
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_pci_host_check(struct uiommu_pci_host *host);

/* ------------------------------------------------------ generic function */

/**
 * struct uiommu_pci_dev_desc - identity of a type-0 function
 * @name:       instance name used for region names and logs (copied)
 * @vendor_id:  Vendor ID (not 0xffff)
 * @device_id:  Device ID
 * @subsystem_vendor_id, @subsystem_id: Subsystem IDs
 * @revision:   Revision ID
 * @class_code: 24-bit Class Code (base class, sub-class, prog-if)
 */
struct uiommu_pci_dev_desc {
	const char *name;
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint8_t revision;
	uint32_t class_code;
};

/**
 * uiommu_pci_dev_create() - create a function with an empty capability list
 *
 * Return: 0; -EINVAL for NULL arguments, vendor ID 0xffff or a class code
 * above 24 bits; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_create(const struct uiommu_pci_dev_desc *desc,
		      struct uiommu_pci_dev **out);

/**
 * uiommu_pci_dev_destroy() - unplug (if plugged) and free a function
 * @dev: the function, or NULL
 */
UIOMMU_API void uiommu_pci_dev_destroy(struct uiommu_pci_dev *dev);

#define UIOMMU_PCI_BAR_64	(1u << 0)	/* 64-bit memory BAR (uses N+1) */
#define UIOMMU_PCI_BAR_PREFETCH	(1u << 1)	/* prefetchable */

/**
 * struct uiommu_pci_bar_desc - a memory BAR
 * @size:   bytes, a power of two of at least 4 KiB
 * @flags:  UIOMMU_PCI_BAR_*
 * @ops:    the BAR's registers (offsets from the BAR's base); may be NULL
 *          for a BAR that only holds an MSI-X table / PBA
 * @opaque: passed to @ops
 * @regs:   register map, sorted by offset (kept by pointer)
 * @nregs:  entries in @regs
 */
struct uiommu_pci_bar_desc {
	uint64_t size;
	unsigned int flags;
	const struct uiommu_mmio_ops *ops;
	void *opaque;
	const struct uiommu_reg_desc *regs;
	size_t nregs;
};

/**
 * uiommu_pci_dev_add_bar() - give an unplugged function a memory BAR
 * @bar: BAR number 0..5 (0..4 for a 64-bit BAR)
 *
 * Return: 0; -EINVAL for a bad number, size or flag, or a BAR slot in use;
 * -EBUSY if the function is plugged.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_add_bar(struct uiommu_pci_dev *dev, unsigned int bar,
		       const struct uiommu_pci_bar_desc *desc);

#define UIOMMU_PCI_EXP_ENDPOINT	0x0	/* PCI Express Endpoint */
#define UIOMMU_PCI_EXP_RC_END	0x9	/* Root Complex Integrated Endpoint */

/**
 * uiommu_pci_dev_add_pcie() - add a PCI Express Capability (version 2)
 * @port_type: UIOMMU_PCI_EXP_ENDPOINT or UIOMMU_PCI_EXP_RC_END
 *
 * Return: 0; -EINVAL for a bad type; -EEXIST if present; -ENOSPC if
 * configuration space is full; -EBUSY if plugged.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_add_pcie(struct uiommu_pci_dev *dev, unsigned int port_type);

/* ACS Capability bits (PCIe 6.0, ACS Extended Capability) */
#define UIOMMU_PCI_ACS_SV	(1u << 0)	/* Source Validation */
#define UIOMMU_PCI_ACS_TB	(1u << 1)	/* Translation Blocking */
#define UIOMMU_PCI_ACS_RR	(1u << 2)	/* P2P Request Redirect */
#define UIOMMU_PCI_ACS_CR	(1u << 3)	/* P2P Completion Redirect */
#define UIOMMU_PCI_ACS_UF	(1u << 4)	/* Upstream Forwarding */
#define UIOMMU_PCI_ACS_DT	(1u << 6)	/* Direct Translated P2P */

/**
 * uiommu_pci_dev_add_acs() - add an ACS Extended Capability
 * @acs_cap: the features implemented (UIOMMU_PCI_ACS_*); their controls
 *           are writable, and read 0 after reset
 *
 * The model records the controls for software (grouping decisions); it
 * has no peer-to-peer paths to redirect.
 *
 * Return: 0; -EINVAL without a PCIe capability or for unknown bits
 * (Egress Control is not modelled); -EEXIST if present; -EBUSY if plugged.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_add_acs(struct uiommu_pci_dev *dev, uint16_t acs_cap);

#define UIOMMU_PCI_MSI_64BIT	(1u << 0)	/* 64-bit message address */
#define UIOMMU_PCI_MSI_MASKABLE	(1u << 1)	/* per-vector masking */

/**
 * uiommu_pci_dev_add_msi() - add an MSI capability
 * @nvec:  vectors requested by the function: 1, 2, 4, 8, 16 or 32
 * @flags: UIOMMU_PCI_MSI_*
 *
 * Return: 0; -EINVAL for a bad @nvec or flag; -EEXIST if there already is
 * one; -ENOSPC if configuration space is full; -EBUSY if plugged.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_add_msi(struct uiommu_pci_dev *dev, unsigned int nvec,
		       unsigned int flags);

/**
 * uiommu_pci_dev_add_msix() - add an MSI-X capability
 * @nvec:       table size, 1..2048
 * @table_bar:  BAR holding the table (added before)
 * @table_off:  offset of the table in it, 8-byte aligned
 * @pba_bar:    BAR holding the Pending Bit Array
 * @pba_off:    its offset, 8-byte aligned
 *
 * Table and PBA must lie inside their BARs and overlap neither each other
 * nor a register of the BAR's register map.
 *
 * Return: 0; -EINVAL for a bad argument; -EEXIST if there already is one;
 * -ENOSPC if configuration space is full; -EBUSY if plugged; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_add_msix(struct uiommu_pci_dev *dev, unsigned int nvec,
			unsigned int table_bar, uint32_t table_off,
			unsigned int pba_bar, uint32_t pba_off);

/**
 * uiommu_pci_dev_notify() - the function raises interrupt vector @vector
 *
 * With MSI-X enabled: a masked vector (function or vector mask) sets its
 * pending bit and is sent when unmasked.  With MSI enabled: likewise with
 * the per-vector mask.  Neither enabled: nothing is sent.
 *
 * Return: 0 when sent; 1 when left pending; -EINVAL if @vector is not
 * enabled; -EIO if neither MSI nor MSI-X is enabled; -EPERM with Bus Master
 * Enable off; a DMA port error (the message faulted).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_notify(struct uiommu_pci_dev *dev, unsigned int vector);

/**
 * uiommu_pci_dev_dma() - the function reads or writes memory upstream
 * @fault: filled in on failure (may be NULL)
 *
 * Return: 0; -EPERM (UIOMMU_DMA_FAULT_BUS_MASTER) if Bus Master Enable is
 * off; -ENODEV if not plugged; the DMA port's error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_dev_dma(struct uiommu_pci_dev *dev, uint64_t iova, void *buf,
		   size_t len, bool write, struct uiommu_dma_fault *fault);

/**
 * uiommu_pci_dev_rid() - the function's requester ID (0 if unplugged)
 */
UIOMMU_API uint16_t uiommu_pci_dev_rid(const struct uiommu_pci_dev *dev);

/**
 * uiommu_pci_dev_name() - the function's instance name
 */
UIOMMU_API const char *uiommu_pci_dev_name(const struct uiommu_pci_dev *dev);

/* Counters of a function. */
struct uiommu_pci_dev_stats {
	uint64_t dma_ok, dma_faults;
	uint64_t dma_refused;		/* Bus Master Enable was off */
	uint64_t msi_sent, msi_pended, msi_dropped, msi_faults;
	uint64_t guest_errors;
};

UIOMMU_API void uiommu_pci_dev_get_stats(struct uiommu_pci_dev *dev,
					 struct uiommu_pci_dev_stats *st);

/**
 * uiommu_pci_dev_check() - verify a function's invariants
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_pci_dev_check(struct uiommu_pci_dev *dev);

/* ------------------------------------------------------ DMA test device */

/*
 * uiommu-testdev: vendor 0x7569 ("ui"), device 0x0001, class 0xff0000.
 * These IDs are not assigned by the PCI-SIG; they name this model only.
 *
 * BAR0 (64-bit, 64 KiB): registers, then a 32 KiB device buffer window.
 * BAR2 (32-bit, 64 KiB): MSI-X table at 0x0, PBA at 0x8000.
 * Register offsets and fields: UIOMMU_TESTDEV_* below.
 */
#define UIOMMU_TESTDEV_VENDOR_ID	0x7569
#define UIOMMU_TESTDEV_DEVICE_ID	0x0001
#define UIOMMU_TESTDEV_CLASS		0xff0000
#define UIOMMU_TESTDEV_BAR0_SIZE	0x10000
#define UIOMMU_TESTDEV_BAR2_SIZE	0x10000
#define UIOMMU_TESTDEV_MSIX_PBA_OFF	0x8000
#define UIOMMU_TESTDEV_MAX_VECTORS	2048

/* BAR0 registers (32-bit unless said; 64-bit ones take 4- or 8-byte access) */
#define UIOMMU_TESTDEV_ID		0x00	/* RO: 0x75690001 */
#define UIOMMU_TESTDEV_BUF_SIZE		0x04	/* RO: bytes of the buffer */
#define UIOMMU_TESTDEV_SRC		0x08	/* 64: source IOVA */
#define UIOMMU_TESTDEV_DST		0x10	/* 64: destination IOVA */
#define UIOMMU_TESTDEV_LEN		0x18	/* bytes to transfer */
#define UIOMMU_TESTDEV_BUF_OFF		0x1c	/* offset in the buffer */
#define UIOMMU_TESTDEV_CMD		0x20	/* write: start a command */
#define UIOMMU_TESTDEV_STATUS		0x24	/* RO + W1C DONE/ERROR */
#define UIOMMU_TESTDEV_FAULT_ADDR	0x28	/* 64, RO: faulting IOVA */
#define UIOMMU_TESTDEV_IRQ_RAISE	0x30	/* WO: raise vector N */
#define UIOMMU_TESTDEV_IRQ_STATUS	0x34	/* RO: result of the last raise */
#define UIOMMU_TESTDEV_DMA_COUNT	0x38	/* RO: commands completed */
#define UIOMMU_TESTDEV_BUF		0x8000	/* buffer window */
#define UIOMMU_TESTDEV_BUF_BYTES	0x8000

/* CMD: [3:0] operation, [8] raise vector CMD[31:16] when done */
#define UIOMMU_TESTDEV_OP_READ		1	/* SRC IOVA -> buffer[BUF_OFF] */
#define UIOMMU_TESTDEV_OP_WRITE		2	/* buffer[BUF_OFF] -> DST IOVA */
#define UIOMMU_TESTDEV_OP_COPY		3	/* SRC IOVA -> DST IOVA */
#define UIOMMU_TESTDEV_CMD_IRQ		(1u << 8)
#define UIOMMU_TESTDEV_CMD_VEC_SHIFT	16

/* STATUS: [0] BUSY, [1] DONE, [2] ERROR, [15:8] error, [23:16] fault type */
#define UIOMMU_TESTDEV_ST_BUSY		(1u << 0)
#define UIOMMU_TESTDEV_ST_DONE		(1u << 1)
#define UIOMMU_TESTDEV_ST_ERROR		(1u << 2)
#define UIOMMU_TESTDEV_ST_ERR_SHIFT	8
#define UIOMMU_TESTDEV_ST_FAULT_SHIFT	16
#define UIOMMU_TESTDEV_ERR_NONE		0
#define UIOMMU_TESTDEV_ERR_CMD		1	/* bad operation, length or offset */
#define UIOMMU_TESTDEV_ERR_DMA		2	/* DMA fault: see fault type/addr */
#define UIOMMU_TESTDEV_ERR_BUS_MASTER	3	/* Bus Master Enable off */

/**
 * struct uiommu_testdev_config - options of a test device
 * @name:         instance name (copied), e.g. "testdev0"
 * @msi_vectors:  MSI vectors (0 for no MSI capability, or 1..32 power of 2)
 * @msix_vectors: MSI-X table size (0 for no MSI-X, or 1..2048)
 * @acs:          ACS features to offer (UIOMMU_PCI_ACS_*), 0 for no ACS
 *                capability
 *
 * The device always has a PCI Express Capability (Root Complex Integrated
 * Endpoint), then MSI, then MSI-X.
 */
struct uiommu_testdev_config {
	const char *name;
	unsigned int msi_vectors;
	unsigned int msix_vectors;
	uint16_t acs;
};

/**
 * uiommu_testdev_create() - create a DMA test device
 *
 * Return: 0; -EINVAL for bad options; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_testdev_create(const struct uiommu_testdev_config *cfg,
		      struct uiommu_pci_dev **out);

/* --------------------------------------------------- requester ID maps */

/**
 * struct uiommu_id_map - an iommu-map or msi-map property
 * @cells:    the property's cells in host byte order: entries of
 *            (id-base, target phandle, out-base, length); NULL if absent
 * @ncells:   number of 32-bit cells
 * @has_mask: the matching *-map-mask property is present
 * @mask:     its value (ignored without @has_mask: all ones then)
 * @name:     property name for messages ("iommu-map"), may be NULL
 * @node:     node path for messages, may be NULL
 */
struct uiommu_id_map {
	const uint32_t *cells;
	size_t ncells;
	bool has_mask;
	uint32_t mask;
	const char *name;
	const char *node;
};

/**
 * uiommu_map_id() - translate an ID through a map (Linux's of_map_id())
 * @map:     the property
 * @id:      input ID (a PCI requester ID)
 * @target:  in: 0 for any target, or a phandle to consider only entries
 *           for it (0 is never a valid phandle); out: the matching entry's
 *           phandle (unchanged on pass-through); may be NULL
 * @id_out:  receives the output ID
 * @matched: if not NULL, whether an entry matched (false: pass-through)
 *
 * The ID is masked first; entries are half-open ranges [id-base,
 * id-base + length) tried in order, the first match wins and gives
 * masked-id - id-base + out-base.  No match passes @id through unmasked
 * and logs a warning.  An absent map passes through silently when @target
 * is NULL.
 *
 * Return: 0; -EINVAL for a property that is empty or not a whole number of
 * entries, an id-base with bits outside the mask in an entry examined
 * before a match (as Linux, entries are checked as they are reached), or
 * NULL @map/@id_out;
 * -ENOENT for an absent map when @target is not NULL.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_map_id(const struct uiommu_id_map *map, uint32_t id, uint32_t *target,
	      uint32_t *id_out, bool *matched);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_PCI_H */
