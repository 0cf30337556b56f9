/* SPDX-License-Identifier: MIT */
/*
 * uiommu pci-core: the OS side of PCI, as a kernel's PCI core does it.
 *
 * - Enumeration: every bus of the host bridge's bus range, every device,
 *   function 0 and, for multi-function devices, functions 1-7, through
 *   configuration accessors (struct uiommu_pci_cfg_ops).  There are no
 *   PCI-PCI bridge models, so all buses are probed directly rather than
 *   discovered behind bridges; type-1 headers are skipped.
 * - BAR sizing (decode off, write all-ones, read, restore) and assignment
 *   from the host bridge's memory windows, largest BAR first, each aligned
 *   to its size; 64-bit BARs prefer the 64-bit window.  PCI and CPU
 *   addresses are identical (the host bridge model translates 1:1).
 * - Capability walking.
 * - MSI and MSI-X enabling and disabling through configuration space and
 *   the MSI-X table, in the order Linux uses: MSI: mask all vectors, write
 *   address / data and Multiple Message Enable, disable INTx, set MSI
 *   Enable, unmask; MSI-X: set MSI-X Enable with the Function Mask, mask
 *   every entry, write the entries, disable INTx, unmask the entries in
 *   use, clear the Function Mask.  The message of each vector comes from a
 *   caller callback (the MSI layer, which asks the IOMMU core).
 *
 * Thread safety: one lock per core; calls are serialised.
 */
#ifndef UIOMMU_PCI_CORE_H
#define UIOMMU_PCI_CORE_H

#include <uiommu/base.h>
#include <uiommu/pci.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_pci_core;
struct uiommu_pci_func;

/**
 * struct uiommu_pci_core_desc - one host bridge, as the OS sees it
 * @pm:          the CPU's physical address space (to reach MSI-X tables)
 * @cfg_ops:     configuration accessors (e.g. uiommu_pci_host_cfg_ops())
 * @cfg_opaque:  passed to them
 * @bus_start:   first bus (DT bus-range)
 * @bus_end:     last bus, inclusive
 * @mem_base:    32-bit memory window (DT ranges), below 4 GiB
 * @mem_size:    its size (0: none)
 * @mem64_base:  64-bit memory window, or 0 size for none
 * @mem64_size:  its size
 * @request_acs: enable the ACS features each function implements among
 *               Source Validation, P2P Request / Completion Redirect and
 *               Upstream Forwarding (what Linux does when an IOMMU asks
 *               for ACS)
 */
struct uiommu_pci_core_desc {
	struct uiommu_physmem *pm;
	const struct uiommu_pci_cfg_ops *cfg_ops;
	void *cfg_opaque;
	unsigned int bus_start, bus_end;
	uint64_t mem_base, mem_size;
	uint64_t mem64_base, mem64_size;
	bool request_acs;
};

/**
 * uiommu_pci_core_create() - set up the OS side of a host bridge
 *
 * Return: 0; -EINVAL for NULL arguments, a bad bus range, a 32-bit window
 * that crosses 4 GiB or a window that wraps; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_core_create(const struct uiommu_pci_core_desc *desc,
		       struct uiommu_pci_core **out);

/**
 * uiommu_pci_core_destroy() - disable the functions' interrupts and free
 * @core: the core, or NULL
 */
UIOMMU_API void uiommu_pci_core_destroy(struct uiommu_pci_core *core);

/**
 * uiommu_pci_core_enumerate() - find functions, size and assign BARs
 *
 * Functions with all their BARs assigned get Memory Space Enable; a BAR
 * that fits no window is left unassigned (logged), and its function's
 * memory decoding stays off.
 *
 * Return: 0; -EBUSY if already enumerated; -ENOMEM; a configuration
 * accessor's error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_core_enumerate(struct uiommu_pci_core *core);

/** uiommu_pci_core_count() - number of functions found */
UIOMMU_API size_t uiommu_pci_core_count(struct uiommu_pci_core *core);

/** uiommu_pci_core_func() - function @idx in bus/devfn order, or NULL */
UIOMMU_API struct uiommu_pci_func *
uiommu_pci_core_func(struct uiommu_pci_core *core, size_t idx);

/** uiommu_pci_core_find() - the function at bus/devfn, or NULL */
UIOMMU_API struct uiommu_pci_func *
uiommu_pci_core_find(struct uiommu_pci_core *core, unsigned int bus,
		     unsigned int devfn);

enum uiommu_pci_irq_mode {
	UIOMMU_PCI_IRQ_NONE = 0,
	UIOMMU_PCI_IRQ_MSI,
	UIOMMU_PCI_IRQ_MSIX,
};

/* One BAR as assigned by the core. */
struct uiommu_pci_bar_info {
	uint64_t addr;		/* 0 if unassigned */
	uint64_t size;		/* 0 if not implemented */
	bool is64, prefetch, assigned;
};

/* A snapshot of a function. */
struct uiommu_pci_func_info {
	unsigned int bus, devfn;
	uint16_t rid;
	uint16_t vendor_id, device_id;
	uint32_t class_code;
	struct uiommu_pci_bar_info bar[6];
	unsigned int msi_cap, msix_cap;	/* config offsets, 0 if absent */
	unsigned int msi_max, msix_max;	/* vectors the function supports */
	enum uiommu_pci_irq_mode irq_mode;
	unsigned int nvec;		/* vectors in use */
	/* Topology facts for IOMMU grouping. */
	bool multifunction;		/* Header Type bit 7 */
	int pcie_type;			/* Device/Port Type, -1: not PCIe */
	unsigned int acs_pos;		/* ACS capability offset, 0: none */
	uint16_t acs_cap, acs_ctrl;	/* implemented / enabled features */
};

UIOMMU_API void uiommu_pci_func_get_info(struct uiommu_pci_func *fn,
					 struct uiommu_pci_func_info *info);

/**
 * uiommu_pci_func_cfg_read() / uiommu_pci_func_cfg_write() - configuration
 * access to one function (sizes 1, 2, 4, naturally aligned)
 *
 * Return: 0; -EINVAL for a bad size or offset; the accessor's error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_func_cfg_read(struct uiommu_pci_func *fn, unsigned int off,
			 unsigned int size, uint32_t *val);
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_func_cfg_write(struct uiommu_pci_func *fn, unsigned int off,
			  unsigned int size, uint32_t val);

/**
 * uiommu_pci_func_find_cap() - walk the capability list for @id
 * @off: receives the capability's offset
 *
 * Return: 0; -ENOENT if absent; -EIO if the list is malformed (loops or
 * points into the header).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_func_find_cap(struct uiommu_pci_func *fn, uint8_t id,
			 unsigned int *off);

/**
 * uiommu_pci_func_set_master() - set or clear Bus Master Enable
 *
 * Return: 0; the accessor's error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_func_set_master(struct uiommu_pci_func *fn, bool enable);

/* An MSI / MSI-X message: a DWORD write of @data to @address. */
struct uiommu_pci_msi_msg {
	uint64_t address;
	uint32_t data;
};

/**
 * typedef uiommu_pci_compose_fn - supply the message of one vector
 * @opaque: as given with the callback
 * @fn:     the function
 * @vector: 0 .. nvec - 1
 * @msg:    to fill in
 *
 * For MSI, vector i must be vector 0's message with data + i, and vector
 * 0's data aligned to the power of two covering nvec (multiple message).
 *
 * Return: 0 or a negative errno (enabling then fails with it).
 */
typedef int (*uiommu_pci_compose_fn)(void *opaque, struct uiommu_pci_func *fn,
				     unsigned int vector,
				     struct uiommu_pci_msi_msg *msg);

#define UIOMMU_PCI_IRQ_FLAG_MSI		(1u << 0)
#define UIOMMU_PCI_IRQ_FLAG_MSIX	(1u << 1)

/**
 * uiommu_pci_alloc_irq_vectors() - enable MSI-X or MSI with min..max vectors
 * @fn:      function with assigned BARs
 * @min:     fewest vectors acceptable (>= 1)
 * @max:     most wanted (>= @min)
 * @flags:   UIOMMU_PCI_IRQ_FLAG_*; MSI-X is tried first
 * @compose: supplies each vector's message
 * @opaque:  passed to @compose
 * @nvec:    receives the number of vectors enabled
 *
 * On failure configuration space is as before (interrupts disabled).
 *
 * Return: 0; -EINVAL for bad arguments, a message address MSI cannot hold
 * (32-bit capability) or inconsistent multiple-message data; -EBUSY if
 * vectors are already allocated; -ENOSPC if the function supports fewer
 * than @min; -ENODEV without a capability of the requested kinds, or with
 * the MSI-X table in an unassigned BAR; @compose's error; an access error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_alloc_irq_vectors(struct uiommu_pci_func *fn, unsigned int min,
			     unsigned int max, unsigned int flags,
			     uiommu_pci_compose_fn compose, void *opaque,
			     unsigned int *nvec);

/**
 * uiommu_pci_free_irq_vectors() - disable MSI / MSI-X (mask, disable,
 * re-enable INTx), as Linux's shutdown does
 *
 * Return: 0; -ENOENT if no vectors were allocated; an access error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_free_irq_vectors(struct uiommu_pci_func *fn);

/**
 * uiommu_pci_irq_set_masked() - mask or unmask one allocated vector
 *
 * Return: 0; -EINVAL for a vector not allocated; -EOPNOTSUPP for MSI
 * without per-vector masking; an access error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_irq_set_masked(struct uiommu_pci_func *fn, unsigned int vector,
			  bool masked);

/**
 * uiommu_pci_irq_write_msg() - rewrite one vector's message (MSI-X: masked
 * while written if it was unmasked; MSI: the base message, from vector
 * @vector's)
 *
 * Return: 0; -EINVAL for a vector not allocated or an address MSI cannot
 * hold; an access error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_irq_write_msg(struct uiommu_pci_func *fn, unsigned int vector,
			 const struct uiommu_pci_msi_msg *msg);

/**
 * uiommu_pci_irq_read_msg() - read one vector's message back from the
 * function (MSI-X table entry; MSI capability, with @vector in the low
 * log2(enabled vectors) data bits for multiple message), as the device
 * would send it
 * @fn:     the function
 * @vector: an allocated vector
 * @msg:    receives address and data
 * @masked: receives the vector's mask bit (MSI-X Vector Control; MSI
 *          per-vector mask, false without one); may be NULL
 *
 * Configuration and MSI-X table reads have no side effect on the function.
 *
 * Return: 0; -EINVAL for a NULL @fn or @msg or a vector not allocated;
 * an access error (nothing filled).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_irq_read_msg(struct uiommu_pci_func *fn, unsigned int vector,
			struct uiommu_pci_msi_msg *msg, bool *masked);

/**
 * uiommu_pci_core_check() - verify the core's invariants (functions
 * sorted and unique, assigned BARs inside windows, aligned, disjoint)
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_pci_core_check(struct uiommu_pci_core *core);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_PCI_CORE_H */
