/* SPDX-License-Identifier: MIT */
/*
 * uiommu msi: the OS's MSI layer, between the PCI core, the IOMMU core and
 * the interrupt controllers' drivers.
 *
 * Objects (all opaque):
 * - struct uiommu_msi_domain: one per MSI controller.  Creating it probes
 *   the controller through its registers (GICv3 ITS: tables, command queue,
 *   collections; GICv2m: MSI_TYPER), registers the doorbell with the IOMMU
 *   core (ITS: GITS_TRANSLATER, isolating; GICv2m: MSI_SETSPI_NS, not
 *   isolating) and installs itself as the controller's interrupt handler.
 * - struct uiommu_msi_dev: the MSI state of one PCI function: which domain
 *   its MSIs go to, its ITS DeviceID (the msi-map result), its IOMMU-core
 *   device, and while vectors are allocated one descriptor per vector
 *   (index, hardware interrupt, EventID, message, IOMMU doorbell handle,
 *   handler).
 *
 * Allocating vectors (uiommu_msi_alloc_irq_vectors()) does everything a
 * kernel's pci_alloc_irq_vectors() does: hardware interrupts from the
 * controller (ITS: MAPD with an ITT for the vectors, EventIDs from 0, one
 * LPI each from 8192 up, MAPTI; GICv2m: SPIs, aligned for multiple-message
 * MSI), uiommu_msi_prepare() per vector (the IOMMU core binds the doorbell
 * page into the device's domain), uiommu_msi_compose() (doorbell IOVA +
 * offset, data = EventID or SPI), and the PCI core writes the messages into
 * the MSI or MSI-X capability.  Nobody rewrites a vector by hand: when the
 * device's group moves to another domain, the core calls back and the
 * layer rewrites each live message through the PCI core (mask, program,
 * unmask).
 *
 * Interrupts: a controller delivers an LPI or SPI; the domain finds the
 * descriptor that owns it and calls the vector's handler (or the device's
 * default handler) with the vector index.  VFIO signals an eventfd there.
 *
 * Thread safety: every function may be called from any thread.  Handlers
 * run in the thread whose doorbell write raised the interrupt, with no
 * lock of this layer held; they may raise further interrupts but must not
 * allocate or free vectors of their own device.
 */
#ifndef UIOMMU_MSI_H
#define UIOMMU_MSI_H

#include <uiommu/base.h>
#include <uiommu/gic.h>
#include <uiommu/iommu-driver.h>
#include <uiommu/pci-core.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_msi_domain;
struct uiommu_msi_dev;

/**
 * typedef uiommu_msi_handler_fn - an MSI vector fired
 * @opaque: the pointer given with the handler
 * @vector: the vector index in its device (0 .. nvec - 1)
 */
typedef void (*uiommu_msi_handler_fn)(void *opaque, unsigned int vector);

/* ---------------------------------------------------------------- domains */

/**
 * struct uiommu_msi_its_desc - an ITS MSI domain (DT arm,gic-v3-its node)
 * @name:     controller name for the IOMMU core and logs, e.g.
 *            "its@8080000" (copied)
 * @its:      the ITS model: the domain installs its per-CPU interrupt
 *            handlers there (the CPU interface wiring; everything else goes
 *            through registers)
 * @pool:     RAM for the command queue and the ITS tables
 * @nr_cpus:  redistributors (as configured in the model); 0 is 1
 * @lpi_bits: INTID width of the redistributors; 0 is 16
 *
 * The ITS base is the model's GITS_TRANSLATER address - 0x10040.
 */
struct uiommu_msi_its_desc {
	const char *name;
	struct uiommu_gic_its *its;
	struct uiommu_phys_pool *pool;
	unsigned int nr_cpus;
	unsigned int lpi_bits;
};

/**
 * uiommu_msi_domain_create_its() - probe an ITS and make its MSI domain
 * @desc: the controller
 * @out:  the domain
 *
 * The doorbell (ITS base + 0x10040) is registered with the IOMMU core as
 * isolating: the DeviceID is a side band of the write.
 *
 * Return: 0; -EINVAL for a NULL argument or a bad @nr_cpus / @lpi_bits;
 * -ENODEV if no ITS answers; -ENOMEM (host memory or pool); -EIO if the
 * ITS rejects the setup.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_domain_create_its(const struct uiommu_msi_its_desc *desc,
			     struct uiommu_msi_domain **out);

/**
 * struct uiommu_msi_v2m_desc - a GICv2m MSI domain (DT arm,gic-v2m-frame)
 * @name: controller name, e.g. "v2m@8020000" (copied)
 * @v2m:  the frame model (for its SPI handler wiring)
 * @pm:   the physical address space the frame is mapped in
 *
 * The frame base is the model's MSI_SETSPI_NS address - 0x40.
 */
struct uiommu_msi_v2m_desc {
	const char *name;
	struct uiommu_gicv2m *v2m;
	struct uiommu_physmem *pm;
};

/**
 * uiommu_msi_domain_create_v2m() - probe a GICv2m frame and make its domain
 *
 * SPIs come from the range MSI_TYPER reports.  The doorbell is registered
 * with the IOMMU core as not isolating: any device can write any SPI.
 *
 * Return: 0; -EINVAL for a NULL argument; -ENODEV if MSI_TYPER names no
 * SPI; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_domain_create_v2m(const struct uiommu_msi_v2m_desc *desc,
			     struct uiommu_msi_domain **out);

/**
 * uiommu_msi_domain_destroy() - remove a domain no device uses
 * @dom: the domain, or NULL
 *
 * Uninstalls the interrupt handlers, unregisters the doorbell and (ITS)
 * disables the ITS and frees its tables.
 *
 * Return: 0; -EBUSY while an MSI device or an IOMMU-core device uses it
 * (nothing changed).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_domain_destroy(struct uiommu_msi_domain *dom);

/**
 * uiommu_msi_domain_ctrl() - the doorbell as registered with the IOMMU core
 *
 * Put it in struct uiommu_device_desc.msi_ctrls of every device whose MSIs
 * go to this domain, so that the core's isolation verdict and reserved
 * regions know about it.
 *
 * Return: the controller; NULL for a NULL @dom.
 */
UIOMMU_API struct uiommu_msi_ctrl *
uiommu_msi_domain_ctrl(const struct uiommu_msi_domain *dom);

/**
 * uiommu_msi_domain_doorbell() - physical address of the doorbell register
 * (0 for a NULL @dom)
 */
UIOMMU_API uint64_t uiommu_msi_domain_doorbell(const struct uiommu_msi_domain *dom);

/* Counters of a domain. */
struct uiommu_msi_domain_stats {
	uint64_t delivered;	/* interrupts handed to a handler */
	uint64_t unhandled;	/* for a live vector without a handler */
	uint64_t spurious;	/* for an interrupt no vector owns */
	unsigned int devices;	/* MSI devices created on the domain */
	unsigned int vectors;	/* vectors allocated now */
};

UIOMMU_API void uiommu_msi_domain_get_stats(struct uiommu_msi_domain *dom,
					    struct uiommu_msi_domain_stats *st);

/**
 * struct uiommu_msi_domain_info - what an MSI domain is
 * @name:        the controller's name as given at creation ("its@8080000")
 * @its:         a GICv3 ITS domain (else GICv2m)
 * @controller:  "GICv3 ITS" or "GICv2m"
 * @doorbell_pa: physical address of the doorbell register
 * @isolating:   the doorbell tells requesters apart (ITS: DeviceID side
 *               band), as registered with the IOMMU core
 * @nr_cpus:     CPUs vectors can be routed to (1 for GICv2m)
 * @gic_its:     the ITS model (NULL for GICv2m)
 * @gicv2m:      the GICv2m frame model (NULL for an ITS)
 */
struct uiommu_msi_domain_info {
	const char *name;
	bool its;
	const char *controller;
	uint64_t doorbell_pa;
	bool isolating;
	unsigned int nr_cpus;
	struct uiommu_gic_its *gic_its;
	struct uiommu_gicv2m *gicv2m;
};

/**
 * uiommu_msi_domain_get_info() - describe a domain (valid while it lives)
 * @dom:  the MSI domain
 * @info: receives its controller, doorbell, isolation and CPU count; the
 *        strings and model pointers stay valid while @dom lives
 *
 * Return: 0; -EINVAL for a NULL argument.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_domain_get_info(const struct uiommu_msi_domain *dom,
			   struct uiommu_msi_domain_info *info);

/**
 * uiommu_msi_domain_check() - verify the domain's invariants (hardware
 * interrupts owned by one vector each, counters, per-device descriptors)
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_domain_check(struct uiommu_msi_domain *dom);

/* ---------------------------------------------------------------- devices */

/**
 * struct uiommu_msi_dev_desc - the MSI side of one PCI function
 * @domain:    where its MSIs go (msi-map / msi-parent target)
 * @fn:        the function, as enumerated by the PCI core
 * @iommu_dev: its IOMMU-core device, or NULL if its DMA is not translated
 *             (the device must list uiommu_msi_domain_ctrl(@domain) in its
 *             msi_ctrls)
 * @devid:     ITS DeviceID: the requester ID through msi-map /
 *             msi-map-mask (uiommu_map_id()); ignored by GICv2m
 * @handler:   default handler of vectors without their own (may be NULL)
 * @opaque:    passed to @handler
 */
struct uiommu_msi_dev_desc {
	struct uiommu_msi_domain *domain;
	struct uiommu_pci_func *fn;
	struct uiommu_device *iommu_dev;
	uint32_t devid;
	uiommu_msi_handler_fn handler;
	void *opaque;
};

/**
 * uiommu_msi_dev_create() - give a PCI function its MSI state
 *
 * Return: 0; -EINVAL for NULL @domain, @fn or @out; -EEXIST if another MSI
 * device of @domain has @fn; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_dev_create(const struct uiommu_msi_dev_desc *desc,
		      struct uiommu_msi_dev **out);

/**
 * uiommu_msi_dev_destroy() - free it
 * @md: the device, or NULL
 *
 * Return: 0; -EBUSY while vectors are allocated.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_msi_dev_destroy(struct uiommu_msi_dev *md);

/**
 * uiommu_msi_alloc_irq_vectors() - allocate and enable min..max vectors
 * @md:    the device
 * @min:   fewest acceptable (>= 1)
 * @max:   most wanted (>= @min)
 * @flags: UIOMMU_PCI_IRQ_FLAG_MSIX and/or _MSI; MSI-X is preferred
 * @nvec:  receives the number enabled
 *
 * MSI gets a power-of-two block of hardware interrupts when it has more
 * than one vector (multiple message).  Each vector's message is composed
 * by the IOMMU core (doorbell IOVA in the device's current domain) and
 * written by the PCI core; vectors start unmasked.  On failure nothing
 * changed: no interrupt, doorbell binding or ITS mapping is left.
 *
 * Return: 0; -EINVAL for bad arguments; -EBUSY if vectors are allocated;
 * -ENODEV / -ENOSPC as uiommu_pci_alloc_irq_vectors() (no capability,
 * fewer vectors than @min); -ENOSPC also when the controller has no free
 * interrupts or the domain's MSI window is full; -EEXIST if the ITS
 * DeviceID is already mapped (another function with the same DeviceID has
 * vectors: not supported); -ERANGE for a DeviceID or vector count the ITS
 * cannot hold, or a doorbell IOVA beyond the device's DMA mask; -ENOMEM;
 * -EIO if the ITS rejects a command; a configuration access error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_alloc_irq_vectors(struct uiommu_msi_dev *md, unsigned int min,
			     unsigned int max, unsigned int flags,
			     unsigned int *nvec);

/**
 * uiommu_msi_free_irq_vectors() - disable and free every vector
 *
 * The function's MSI / MSI-X is disabled first, then the controller's
 * mappings (ITS: DISCARD, MAPD V=0) and interrupts are freed and the
 * doorbell references dropped (the last one unmaps the doorbell page).
 * Returns after every running handler of the device has returned; do not
 * call it from one of them.
 *
 * Return: 0; -ENOENT if none are allocated.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_free_irq_vectors(struct uiommu_msi_dev *md);

/**
 * uiommu_msi_set_handler() - set one vector's handler
 * @fn: the handler, or NULL to fall back to the device's default
 *
 * A handler being replaced may still be running when this returns.
 *
 * Return: 0; -EINVAL for a vector not allocated.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_set_handler(struct uiommu_msi_dev *md, unsigned int vector,
		       uiommu_msi_handler_fn fn, void *opaque);

/**
 * uiommu_msi_set_masked() - mask or unmask one vector at the function
 * (MSI-X vector control; MSI per-vector mask).  A masked vector's
 * interrupt stays pending in the function and arrives on unmask.
 *
 * Return: 0; -EINVAL for a vector not allocated; -EOPNOTSUPP for MSI
 * without per-vector masking; an access error.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_set_masked(struct uiommu_msi_dev *md, unsigned int vector,
		      bool masked);

/**
 * uiommu_msi_set_affinity() - route one vector to another CPU
 * @cpu: 0 .. nr_cpus - 1 of the ITS domain
 *
 * ITS: MOVI to @cpu's collection (a pending interrupt moves with it).
 *
 * Return: 0; -EINVAL for a vector not allocated or a CPU out of range;
 * -EOPNOTSUPP on a GICv2m domain (SPI routing is not modelled); -EIO if
 * the ITS rejects the command.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_set_affinity(struct uiommu_msi_dev *md, unsigned int vector,
			unsigned int cpu);

/* One vector, as uiommu_msi_get_vector() reports it. */
struct uiommu_msi_vector_info {
	unsigned int index;	/* vector number in the device */
	bool msix;		/* MSI-X (else MSI) */
	uint32_t hwirq;		/* LPI or SPI INTID */
	uint32_t eventid;	/* ITS EventID (0 for GICv2m) */
	unsigned int cpu;	/* target CPU (collection) */
	uint64_t doorbell_pa;	/* physical doorbell register */
	uint64_t address;	/* message address written (IOVA or PA) */
	uint32_t data;		/* message data written */
	bool masked;		/* by uiommu_msi_set_masked() */
	bool has_handler;	/* own or default handler present */
	uint64_t count;		/* interrupts delivered */
};

/**
 * uiommu_msi_get_vector() - describe one allocated vector
 *
 * Return: 0; -EINVAL for a vector not allocated or NULL @info.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_get_vector(struct uiommu_msi_dev *md, unsigned int vector,
		      struct uiommu_msi_vector_info *info);

/**
 * struct uiommu_msi_dev_info - the MSI state of one function
 * @domain:    where its MSIs go
 * @fn:        the PCI function
 * @iommu_dev: its IOMMU-core device, or NULL
 * @rid:       requester ID
 * @devid:     ITS DeviceID (meaningless for GICv2m)
 * @nvec:      vectors allocated (0: none)
 * @msix:      they are MSI-X vectors (else MSI)
 * @hw_first:  first hardware interrupt (LPI or SPI) allocated
 * @nr_hw:     hardware interrupts allocated (MSI: a power of two >= @nvec)
 */
struct uiommu_msi_dev_info {
	struct uiommu_msi_domain *domain;
	struct uiommu_pci_func *fn;
	struct uiommu_device *iommu_dev;
	uint16_t rid;
	uint32_t devid;
	unsigned int nvec;
	bool msix;
	uint32_t hw_first;
	uint32_t nr_hw;
};

/**
 * uiommu_msi_dev_get_info() - describe an MSI device
 * @md:   the MSI device
 * @info: receives its domain, function, IDs and allocated vectors
 *
 * Return: 0; -EINVAL for a NULL argument.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_dev_get_info(struct uiommu_msi_dev *md,
			struct uiommu_msi_dev_info *info);

/**
 * uiommu_msi_dev_nvec() - the number of vectors allocated (0 for none)
 */
UIOMMU_API unsigned int uiommu_msi_dev_nvec(struct uiommu_msi_dev *md);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_MSI_H */
