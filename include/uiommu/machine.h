/* SPDX-License-Identifier: MIT */
/*
 * uiommu machine: an emulated Arm machine assembled from a flattened device
 * tree.
 *
 * uiommu_machine_create() parses the DTB (a built-in one by name, or the
 * caller's), then builds, in address order of dependency:
 *   - the physical address space with a RAM region per memory range, and a
 *     page pool for in-RAM structures carved from the top of the last one;
 *   - the GIC: the distributor and redistributor (or CPU interface) frames
 *     as inert regions, each ITS or GICv2m frame model with its MSI domain
 *     (msi.h: the controller probed, its doorbell registered with the
 *     IOMMU core);
 *   - each SMMUv3 model at its address, with its driver (smmuv3-drv.h: an
 *     IOMMU instance registered with the core);
 *   - each ECAM PCI host bridge model, with a DMA port per requester.
 * Nothing is half-built: any failure tears down what was made and returns.
 *
 * Endpoints are plugged with uiommu_machine_plug() before the machine is
 * realized; uiommu_machine_realize() plugs the DMA test device at 00:01.0
 * of the first host bridge when nothing was plugged, enumerates PCI (BARs
 * assigned from the host bridge's windows) and gives every function its
 * StreamID (iommu-map) and ITS DeviceID (msi-map), both with Linux's
 * of_map_id() semantics: an ID that no entry matches passes through
 * untranslated, with a warning.  A function behind an SMMU becomes an
 * IOMMU-core device (its group gets a DMA default domain); a function with
 * an MSI controller becomes an MSI device of that controller's domain.
 *
 * DMA of a function (and its MSI writes, which are DMA writes) leaves the
 * host bridge with the requester ID, is translated by the SMMUv3 model of
 * its iommu-map entry (StreamID, IOVA -> PA or a fault), then reaches the
 * physical address space with the DeviceID as the transaction's source ID,
 * which the ITS takes as its side band.  Without an iommu-map (machine
 * "virt-noiommu") DMA addresses are physical.
 *
 * Thread safety: create, plug, realize and destroy are not concurrent with
 * anything on the same machine; DMA through the models may run from any
 * thread once the machine is realized.
 */
#ifndef UIOMMU_MACHINE_H
#define UIOMMU_MACHINE_H

#include <uiommu/base.h>
#include <uiommu/physmem.h>
#include <uiommu/pci.h>
#include <uiommu/pci-core.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_machine;
struct uiommu_device;
struct uiommu_smmuv3;
struct uiommu_smmuv3_drv;
struct uiommu_smmuv3_drv_event;
struct uiommu_msi_dev;
struct uiommu_msi_domain;
struct uiommu_gic_its;
struct uiommu_gicv2m;

/**
 * struct uiommu_machine_opts - what machine to build
 * @name:      a built-in machine: "virt" (GICv3 + ITS, SMMUv3), "virt-gicv2m"
 *             (GICv2 + v2m, SMMUv3) or "virt-noiommu" (GICv3 + ITS); used
 *             when @dtb is NULL (NULL too: "virt")
 * @dtb:       a flattened device tree, or NULL (only read during create)
 * @dtb_size:  bytes available at @dtb
 * @pool_size: bytes of RAM for the page pool of in-RAM structures (command
 *             queues, stream tables, ITS tables), a multiple of 4 KiB;
 *             0 for 16 MiB (at most a quarter of the last RAM range)
 * @nr_cpus:   CPUs (ITS collections), 0 for 1
 * @no_realize: leave the machine unrealized so that endpoints can be plugged
 *             (uiommu_machine_plug()) before uiommu_machine_realize()
 * @no_smmu_driver: create the SMMUv3 models but do not probe their driver:
 *             the caller programs them through their registers (functions
 *             then get no IOMMU-core device)
 * @err:       if not NULL, receives the reason of a failure (the node and
 *             property of a bad DTB), NUL-terminated
 * @errlen:    size of @err
 */
struct uiommu_machine_opts {
	const char *name;
	const void *dtb;
	size_t dtb_size;
	uint64_t pool_size;
	unsigned int nr_cpus;
	bool no_realize;
	bool no_smmu_driver;
	char *err;
	size_t errlen;
};

/**
 * uiommu_machine_create() - build a machine
 * @opts: the machine (NULL: the default "virt", realized)
 * @out:  the machine
 *
 * Return: 0; -EINVAL for a NULL @out, an unknown @name, a bad option, or a
 * malformed or unsupported DTB (the log and @err name the node and
 * property); -E2BIG when the DTB describes more than the machine supports;
 * -ENOENT when a required node (memory) is missing; -ERANGE / -EEXIST when
 * regions do not fit the address space or overlap; -ENODEV when a driver
 * finds no device where the DTB says; -ENOMEM.  On failure nothing is left
 * allocated.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_machine_create(const struct uiommu_machine_opts *opts,
		      struct uiommu_machine **out);

/**
 * uiommu_machine_destroy() - tear the machine down
 * @m: the machine, or NULL
 *
 * Frees the plugged endpoints too, and frees any MSI vectors still
 * allocated.  No DMA may be in flight; domains the caller allocated must be
 * detached and freed first.
 */
UIOMMU_API void uiommu_machine_destroy(struct uiommu_machine *m);

/**
 * uiommu_machine_plug() - plug an endpoint into a host bridge
 * @m:      an unrealized machine (opts.no_realize)
 * @host:   host bridge index (0 for the first pci-host-ecam-generic node)
 * @bus:    bus number inside the host bridge's bus-range
 * @devfn:  UIOMMU_PCI_DEVFN(device, function)
 * @dev:    the function; on success the machine owns it
 *
 * Return: 0; -EINVAL for NULL arguments or a bad @host; -EBUSY once the
 * machine is realized (hot-plug is not modelled); the errors of
 * uiommu_pci_host_plug() (-ERANGE, -EEXIST).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_machine_plug(struct uiommu_machine *m, unsigned int host,
		    unsigned int bus, unsigned int devfn,
		    struct uiommu_pci_dev *dev);

/**
 * uiommu_machine_realize() - plug the default endpoint if needed,
 * enumerate PCI, compute every function's IDs and probe it
 * @m: the machine
 *
 * On failure the machine is as before (still unrealized; endpoints stay
 * plugged).
 *
 * Return: 0; -EBUSY if already realized; -EINVAL for an ID map that is
 * malformed for a requester ID met (log names node and property);
 * -ENOMEM; the PCI core's errors.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_machine_realize(struct uiommu_machine *m);

/**
 * uiommu_machine_physmem() - the machine's physical address space
 */
UIOMMU_API struct uiommu_physmem *uiommu_machine_physmem(struct uiommu_machine *m);

/**
 * uiommu_machine_pool() - the page pool carved from the top of RAM
 */
UIOMMU_API struct uiommu_phys_pool *uiommu_machine_pool(struct uiommu_machine *m);

/* What the machine is made of (uiommu_machine_get_info()). */
struct uiommu_machine_info {
	const char *model;	/* the DT's model property, or "" */
	unsigned int gic_version;	/* 2 or 3, 0 if none */
	unsigned int nits, nv2m, nsmmu, npci;
	bool realized;
};

/**
 * uiommu_machine_get_info() - describe the machine
 */
UIOMMU_API void uiommu_machine_get_info(struct uiommu_machine *m,
					struct uiommu_machine_info *info);

/**
 * uiommu_machine_smmu() - SMMUv3 model @idx (DT order), or NULL
 */
UIOMMU_API struct uiommu_smmuv3 *uiommu_machine_smmu(struct uiommu_machine *m,
						     unsigned int idx);

/**
 * uiommu_machine_smmu_drv() - the driver of SMMUv3 model @idx (DT order),
 * for its counters (uiommu_smmuv3_drv_get_stats()); NULL for a bad @idx or
 * with opts.no_smmu_driver
 */
UIOMMU_API struct uiommu_smmuv3_drv *
uiommu_machine_smmu_drv(struct uiommu_machine *m, unsigned int idx);

/**
 * typedef uiommu_machine_smmu_event_fn - receives one SMMU event record
 * @opaque: the pointer given to uiommu_machine_set_smmu_event_handler()
 * @smmu:   index of the SMMU (DT order)
 * @ev:     the record as the driver decoded it; valid during the call
 *
 * Called from the thread whose DMA raised the event, under the driver's
 * event-queue lock, before the fault reaches the domain's fault handler:
 * it must not consume events or call back into the machine.
 */
typedef void (*uiommu_machine_smmu_event_fn)(
	void *opaque, unsigned int smmu,
	const struct uiommu_smmuv3_drv_event *ev);

/**
 * uiommu_machine_set_smmu_event_handler() - see every event record the
 * machine's SMMUv3 drivers consume (translation faults, bad STEs, ...)
 * @fn:     the handler, or NULL to stop
 * @opaque: passed back to @fn
 *
 * Not concurrent with DMA on the machine (set it before the first DMA).
 * A NULL @m is ignored.
 */
UIOMMU_API void
uiommu_machine_set_smmu_event_handler(struct uiommu_machine *m,
				      uiommu_machine_smmu_event_fn fn,
				      void *opaque);

/**
 * uiommu_machine_its() - GICv3 ITS model @idx (DT order, 0 .. nits - 1),
 * or NULL for a bad @idx or a NULL @m
 */
UIOMMU_API struct uiommu_gic_its *uiommu_machine_its(struct uiommu_machine *m,
						     unsigned int idx);

/**
 * uiommu_machine_gicv2m() - GICv2m frame model @idx (DT order,
 * 0 .. nv2m - 1), or NULL for a bad @idx or a NULL @m
 */
UIOMMU_API struct uiommu_gicv2m *
uiommu_machine_gicv2m(struct uiommu_machine *m, unsigned int idx);

/**
 * uiommu_machine_msi_domain() - MSI domain @idx, or NULL for a bad @idx or
 * a NULL @m
 * @idx: 0 .. nits - 1 are the domains of the ITSes, nits .. nits + nv2m - 1
 *       those of the GICv2m frames, each in DT order (struct
 *       uiommu_machine_info)
 */
UIOMMU_API struct uiommu_msi_domain *
uiommu_machine_msi_domain(struct uiommu_machine *m, unsigned int idx);

/**
 * uiommu_machine_pci_host() - host bridge @idx, or NULL
 */
UIOMMU_API struct uiommu_pci_host *
uiommu_machine_pci_host(struct uiommu_machine *m, unsigned int idx);

/**
 * uiommu_machine_pci_core() - the PCI core of host bridge @idx, or NULL
 */
UIOMMU_API struct uiommu_pci_core *
uiommu_machine_pci_core(struct uiommu_machine *m, unsigned int idx);

/**
 * uiommu_machine_for_each_region() - visit the address map in address order
 * @fn: called with each RAM and MMIO region (see uiommu_physmem_for_each())
 *
 * Return: 0, or @fn's non-zero value; -EINVAL for a NULL @m or @fn.
 */
UIOMMU_API int
uiommu_machine_for_each_region(struct uiommu_machine *m,
			       int (*fn)(void *opaque,
					 const struct uiommu_region_info *info),
			       void *opaque);

/**
 * struct uiommu_machine_func - one PCI function of a realized machine
 * @host:        host bridge index
 * @bus, @devfn: where it is
 * @rid:         requester ID
 * @name:        the endpoint model's instance name
 * @dev:         the endpoint model
 * @pci:         the PCI core's view of it (BARs, vectors)
 * @has_sid:     the host bridge has an iommu-map: DMA goes through @iommu
 * @sid:         StreamID
 * @sid_matched: an iommu-map entry matched (false: passed through)
 * @iommu_node:  DT path of the SMMU, or NULL
 * @has_devid:   the function's MSIs reach an MSI controller
 * @devid:       ITS DeviceID (msi-map; the RID for msi-parent or a v2m)
 * @devid_matched: an msi-map entry matched (false: passed through or msi-parent)
 * @msi_parent:  the controller comes from msi-parent (no msi-map): the
 *               DeviceID is the RID
 * @msi_node:    DT path of the MSI controller, or NULL
 * @msi_isolating: the controller tells devices apart (ITS: yes; v2m: no)
 * @iommu_dev:   the IOMMU core's device (the SMMUv3 driver's), or NULL
 *               without an SMMU or with opts.no_smmu_driver
 * @msi_dev:     the MSI layer's device on its controller's MSI domain
 *               (uiommu_msi_alloc_irq_vectors()), or NULL without one
 */
struct uiommu_machine_func {
	unsigned int host;
	unsigned int bus, devfn;
	uint16_t rid;
	const char *name;
	struct uiommu_pci_dev *dev;
	struct uiommu_pci_func *pci;
	bool has_sid;
	uint32_t sid;
	bool sid_matched;
	const char *iommu_node;
	bool has_devid;
	uint32_t devid;
	bool devid_matched;
	bool msi_parent;
	const char *msi_node;
	bool msi_isolating;
	struct uiommu_device *iommu_dev;
	struct uiommu_msi_dev *msi_dev;
};

/**
 * uiommu_machine_for_each_function() - visit the functions of a realized
 * machine, by host bridge then bus/devfn
 * @fn: called with each; a non-zero return stops the walk
 *
 * Return: 0, @fn's non-zero value; -EBUSY if the machine is not realized;
 * -EINVAL for a NULL @m or @fn.
 */
UIOMMU_API int
uiommu_machine_for_each_function(struct uiommu_machine *m,
				 int (*fn)(void *opaque,
					   const struct uiommu_machine_func *f),
				 void *opaque);

/**
 * uiommu_machine_find_function() - the function at @host/@bus/@devfn
 *
 * Return: the function (lives as long as the machine), or NULL.
 */
UIOMMU_API const struct uiommu_machine_func *
uiommu_machine_find_function(struct uiommu_machine *m, unsigned int host,
			     unsigned int bus, unsigned int devfn);

/**
 * uiommu_machine_check() - verify the machine's invariants (physmem, pool,
 * models, SMMUv3 drivers, MSI domains, host bridges, PCI cores)
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_machine_check(struct uiommu_machine *m);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_MACHINE_H */
