/* SPDX-License-Identifier: MIT */
/*
 * uiommu iommu-driver: the IOMMU core as drivers see it.
 *
 * - IOMMU drivers (SMMUv3, VT-d, the test driver) register an instance with
 *   operations limited to hardware work: allocate a domain with its
 *   page-table format, attach a device, map and unmap pages, walk, invalidate
 *   from a gather, probe a device's IDs, choose its group, list its reserved
 *   regions, report capabilities.  IOVA management, reserved-region policy
 *   and MSI doorbells are the core's.
 * - Bus drivers (the PCI core, platform devices) create devices with their
 *   IDs, DMA aliases and MSI controllers.
 * - MSI controllers (ITS, GICv2m, x86-like interrupt remappers) register
 *   their doorbell with an `isolating` flag; the MSI layer then calls
 *   uiommu_msi_prepare() when a vector is allocated, uiommu_msi_compose()
 *   when its message is written and uiommu_msi_release() when it is freed.
 *
 * The names follow Linux's iommu_ops / iommu_domain_ops so that a driver
 * author finds the same split, but nothing is shared with Linux's code.
 */
#ifndef UIOMMU_IOMMU_DRIVER_H
#define UIOMMU_IOMMU_DRIVER_H

#include <uiommu/iommu.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_msi_ctrl;
struct uiommu_msi_vector;
struct uiommu_resv_list;

/*
 * Invalidation batch.  unmap_pages() adds the ranges it cleared; the core
 * then calls iotlb_sync() once.  [start, last] covers every range added.
 */
struct uiommu_iotlb_gather {
	uint64_t start;
	uint64_t last;
	uint64_t pgsize;	/* largest page size added */
	unsigned int ranges;	/* number of ranges added */
};

static inline void uiommu_iotlb_gather_init(struct uiommu_iotlb_gather *g)
{
	g->start = UINT64_MAX;
	g->last = 0;
	g->pgsize = 0;
	g->ranges = 0;
}

static inline void uiommu_iotlb_gather_add(struct uiommu_iotlb_gather *g,
					   uint64_t iova, uint64_t size,
					   uint64_t pgsize)
{
	if (iova < g->start)
		g->start = iova;
	if (iova + size - 1 > g->last)
		g->last = iova + size - 1;
	if (pgsize > g->pgsize)
		g->pgsize = pgsize;
	g->ranges++;
}

enum uiommu_cap {
	UIOMMU_CAP_CACHE_COHERENCY,	/* table walks snoop CPU caches */
	UIOMMU_CAP_INTR_REMAP,		/* the IOMMU remaps and checks MSIs */
};

/**
 * struct uiommu_domain_ops - a driver's domain operations
 * @attach_dev:  make @dev translate through @dom (replacing whatever it
 *               used before); 0 or a negative errno, nothing changed then
 * @map_pages:   map @pgcount pages of @pgsize (a size of the domain's
 *               bitmap) from @iova to @pa; set *@mapped to the bytes mapped
 *               even on failure; 0 or -ENOMEM (the core unmaps a partial map)
 * @unmap_pages: unmap up to @pgcount pages of @pgsize at @iova, adding them to
 *               @gather without invalidating; return the bytes unmapped
 * @iova_to_phys: walk the tables; 0 or -ENOENT
 * @flush_iotlb_all: invalidate every IOTLB entry of the domain
 * @iotlb_sync:  invalidate what @gather collected
 * @free:        release the domain's tables and private data
 * @pgtable:     optional: the domain's table if it is one of the pgtable
 *               library's (for inspection), else NULL
 *
 * Blocked and identity domains need only @attach_dev and @free.  The core
 * serialises map, unmap and sync of one domain; @attach_dev is called with
 * the group locked.
 */
struct uiommu_domain_ops {
	int (*attach_dev)(struct uiommu_domain *dom, struct uiommu_device *dev);
	int (*map_pages)(struct uiommu_domain *dom, uint64_t iova, uint64_t pa,
			 uint64_t pgsize, size_t pgcount, unsigned int prot,
			 uint64_t *mapped);
	uint64_t (*unmap_pages)(struct uiommu_domain *dom, uint64_t iova,
				uint64_t pgsize, size_t pgcount,
				struct uiommu_iotlb_gather *gather);
	int (*iova_to_phys)(struct uiommu_domain *dom, uint64_t iova,
			    uint64_t *pa);
	void (*flush_iotlb_all)(struct uiommu_domain *dom);
	void (*iotlb_sync)(struct uiommu_domain *dom,
			   struct uiommu_iotlb_gather *gather);
	void (*free)(struct uiommu_domain *dom);
	const struct uiommu_pgtable *(*pgtable)(struct uiommu_domain *dom);
};

/**
 * struct uiommu_domain_hw - what a driver's domain_alloc() provides
 * @ops:            operations (must outlive the domain)
 * @priv:           the driver's domain state
 * @aperture_start: first IOVA the format translates
 * @aperture_last:  last one (inclusive)
 * @pgsize_bitmap:  page sizes the format maps (bit n: 2^n bytes)
 */
struct uiommu_domain_hw {
	const struct uiommu_domain_ops *ops;
	void *priv;
	uint64_t aperture_start;
	uint64_t aperture_last;
	uint64_t pgsize_bitmap;
};

/**
 * struct uiommu_iommu_ops - a driver's instance operations
 * @probe_device:   check the device's IDs (uiommu_device_ids()) and set up
 *                  per-device state (uiommu_device_set_driver_data()); 0 or
 *                  a negative errno (the device is then not created)
 * @release_device: undo @probe_device; the device is attached to nothing
 *                  the core tracks any more
 * @device_group:   find or allocate the device's group (uiommu_group_alloc(),
 *                  uiommu_generic_device_group(), uiommu_pci_device_group())
 * @get_resv_regions: add the device's regions with uiommu_resv_list_add()
 *                  (an Arm SMMU driver adds sw-msi 0x8000000, 1 MiB)
 * @capable:        report a capability
 * @domain_alloc:   allocate a domain of @type with page-table format @fmt
 *                  (driver-defined, 0 = default) and fill @hw; -EOPNOTSUPP
 *                  for a type the hardware cannot do
 */
struct uiommu_iommu_ops {
	int (*probe_device)(struct uiommu_iommu *iommu,
			    struct uiommu_device *dev);
	void (*release_device)(struct uiommu_iommu *iommu,
			       struct uiommu_device *dev);
	int (*device_group)(struct uiommu_iommu *iommu,
			    struct uiommu_device *dev,
			    struct uiommu_group **group);
	int (*get_resv_regions)(struct uiommu_iommu *iommu,
				struct uiommu_device *dev,
				struct uiommu_resv_list *list);
	bool (*capable)(struct uiommu_iommu *iommu, enum uiommu_cap cap);
	int (*domain_alloc)(struct uiommu_iommu *iommu, struct uiommu_domain *dom,
			    enum uiommu_domain_type type, unsigned int fmt,
			    struct uiommu_domain_hw *hw);
};

/**
 * struct uiommu_iommu_desc - an IOMMU instance to register
 * @name:          "smmuv3@9050000" (copied)
 * @ops:           operations (must outlive the instance)
 * @driver_data:   returned by uiommu_iommu_driver_data()
 * @default_domain: type of the groups' default domains (DMA or IDENTITY)
 * @default_fmt:   page-table format of default domains
 * @physmem:       the physical address space its devices' DMA reaches
 *                 (register maps for exposure reports); may be NULL
 */
struct uiommu_iommu_desc {
	const char *name;
	const struct uiommu_iommu_ops *ops;
	void *driver_data;
	enum uiommu_domain_type default_domain;
	unsigned int default_fmt;
	struct uiommu_physmem *physmem;
};

/**
 * uiommu_iommu_register() - register an IOMMU instance
 *
 * Return: 0; -EINVAL for a NULL field, missing mandatory ops or a default
 * domain type other than DMA or IDENTITY; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iommu_register(const struct uiommu_iommu_desc *desc,
		      struct uiommu_iommu **out);

/**
 * uiommu_iommu_unregister() - remove an instance without devices
 * @iommu: the instance, or NULL
 *
 * Return: 0; -EBUSY while devices are behind it.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iommu_unregister(struct uiommu_iommu *iommu);

/**
 * uiommu_iommu_driver_data() - the @driver_data given at registration
 */
UIOMMU_API void *uiommu_iommu_driver_data(const struct uiommu_iommu *iommu);

/**
 * uiommu_iommu_name() - the instance's name (lives as long as it)
 */
UIOMMU_API const char *uiommu_iommu_name(const struct uiommu_iommu *iommu);

/* ---------------------------------------------------------- MSI controllers */

/**
 * struct uiommu_msi_ctrl_desc - an MSI controller's doorbell
 * @name:         "its@8080000" (copied)
 * @doorbell_pa:  physical address of the doorbell register
 *                (GITS_TRANSLATER, MSI_SETSPI_NS)
 * @isolating:    the controller identifies the writing device (an ITS via
 *                the DeviceID side band); a GICv2m does not
 * @resv:         regions it imposes on its devices (a hardware msi window);
 *                copied
 * @nresv:        number of entries in @resv
 */
struct uiommu_msi_ctrl_desc {
	const char *name;
	uint64_t doorbell_pa;
	bool isolating;
	const struct uiommu_resv_region *resv;
	size_t nresv;
};

/**
 * uiommu_msi_ctrl_register() - register an MSI controller
 *
 * Return: 0; -EINVAL for a NULL name or a malformed region; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_ctrl_register(const struct uiommu_msi_ctrl_desc *desc,
			 struct uiommu_msi_ctrl **out);

/**
 * uiommu_msi_ctrl_unregister() - remove a controller no device uses
 *
 * Return: 0; -EBUSY while a device names it.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_ctrl_unregister(struct uiommu_msi_ctrl *ctrl);

/* ------------------------------------------------------------------ devices */

/**
 * struct uiommu_device_desc - a device to create
 * @name:       "0000:00:01.0" (copied)
 * @ids:        IDs the IOMMU sees for the device (StreamIDs, RIDs)
 * @nids:       number of @ids (at least 1 behind an IOMMU)
 * @pci:        the device is a PCI function: @pci_rid, @pci_aliases and
 *              @pci_acs are meaningful for uiommu_pci_device_group()
 * @pci_rid:    bus << 8 | devfn
 * @pci_acs:    the function isolates its peers (ACS or single function)
 * @pci_aliases: other requester IDs its DMA may carry
 * @npci_aliases: number of @pci_aliases
 * @msi_ctrls:  MSI controllers its vectors target
 * @nmsi_ctrls: number of @msi_ctrls
 * @resv:       platform regions for this device (RMRR-like direct regions,
 *              host-bridge windows with UIOMMU_RESV_F_DMA_ONLY); copied
 * @nresv:      number of @resv
 */
struct uiommu_device_desc {
	const char *name;
	const uint32_t *ids;
	unsigned int nids;
	bool pci;
	uint16_t pci_rid;
	bool pci_acs;
	const uint16_t *pci_aliases;
	unsigned int npci_aliases;
	struct uiommu_msi_ctrl *const *msi_ctrls;
	unsigned int nmsi_ctrls;
	const struct uiommu_resv_region *resv;
	size_t nresv;
};

/**
 * uiommu_device_create() - create a device, behind @iommu or none
 * @iommu: the translating instance, or NULL for a device whose DMA is not
 *         translated
 * @desc:  the device
 * @out:   the device
 *
 * Behind an IOMMU the driver probes the device and chooses its group; a new
 * group gets its default domain, and the device is attached to its group's
 * current domain.
 *
 * Return: 0; -EINVAL for a malformed @desc; -EEXIST if one of its IDs
 * belongs to another device of @iommu; -ENOMEM; the driver's errors.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_device_create(struct uiommu_iommu *iommu,
		     const struct uiommu_device_desc *desc,
		     struct uiommu_device **out);

/**
 * uiommu_device_destroy() - remove a device
 * @dev: the device, or NULL
 *
 * Return: 0; -EBUSY while it has prepared MSI vectors.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_device_destroy(struct uiommu_device *dev);

/**
 * uiommu_device_ids() - the IDs the IOMMU sees for @dev
 * @nids: receives their number
 * Return: the array (lives as long as the device).
 */
UIOMMU_API const uint32_t *uiommu_device_ids(const struct uiommu_device *dev,
					     unsigned int *nids);

/**
 * uiommu_device_iommu() - the translating instance, or NULL for none
 */
UIOMMU_API struct uiommu_iommu *
uiommu_device_iommu(const struct uiommu_device *dev);

/**
 * uiommu_device_driver_data() - the IOMMU driver's per-device pointer
 */
UIOMMU_API void *uiommu_device_driver_data(const struct uiommu_device *dev);

/**
 * uiommu_device_set_driver_data() - set it (from probe_device)
 */
UIOMMU_API void uiommu_device_set_driver_data(struct uiommu_device *dev,
					      void *data);

/**
 * uiommu_device_find() - the device of @iommu that owns ID @id
 * Return: the device, or NULL if none.
 */
UIOMMU_API struct uiommu_device *
uiommu_device_find(struct uiommu_iommu *iommu, uint32_t id);

/* ------------------------------------------------------------------- groups */

/**
 * uiommu_group_alloc() - a new, empty group for @iommu (device_group op)
 *
 * Return: 0; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_group_alloc(struct uiommu_iommu *iommu, struct uiommu_group **out);

/**
 * uiommu_generic_device_group() - one group per device
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_generic_device_group(struct uiommu_iommu *iommu,
			    struct uiommu_device *dev,
			    struct uiommu_group **out);

/**
 * uiommu_pci_device_group() - group PCI functions that cannot be isolated
 *
 * Joins the group of an existing device of @iommu when either may issue DMA
 * with the other's requester ID (DMA aliases), or when both are functions of
 * one multi-function device and either lacks ACS; otherwise a new group.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pci_device_group(struct uiommu_iommu *iommu, struct uiommu_device *dev,
			struct uiommu_group **out);

/* ------------------------------------------------------- reserved regions */

/**
 * uiommu_resv_list_add() - add a region from get_resv_regions()
 * @start: first byte
 * @len:   bytes (non-zero)
 *
 * Return: 0; -EINVAL for a zero @len, a range wrapping past 2^64 or an
 * unknown type; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_resv_list_add(struct uiommu_resv_list *list, uint64_t start,
		     uint64_t len, unsigned int prot,
		     enum uiommu_resv_type type, unsigned int flags);

/* ------------------------------------------------------------------ domains */

/**
 * uiommu_domain_driver_data() - the @priv the driver's domain_alloc set
 */
UIOMMU_API void *uiommu_domain_driver_data(const struct uiommu_domain *dom);

/**
 * uiommu_domain_type() - the domain's type
 */
UIOMMU_API enum uiommu_domain_type
uiommu_domain_type(const struct uiommu_domain *dom);

/* ------------------------------------------------------------------- faults */

/**
 * uiommu_report_fault() - a driver reports a translation fault
 * @dom:   the domain the faulting device was attached to
 * @fault: the record (copied)
 *
 * Calls the domain owner's handler without any core lock held.
 *
 * Return: the handler's return value; -ENOENT if no handler is installed
 * (the fault is logged).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_report_fault(struct uiommu_domain *dom,
		    const struct uiommu_fault *fault);

/* --------------------------------------------------------------- MSI layer */

struct uiommu_msi_msg {
	uint64_t address;	/* doorbell address the device writes */
	uint32_t data;		/* EventID / SPI number */
};

/**
 * typedef uiommu_msi_rewrite_fn - rewrite a live vector's message
 *
 * Called when the device's group moves to another domain, after the doorbell
 * is bound there and before the old binding goes: recompose the message
 * with uiommu_msi_compose() and write it to the device (MSI-X table entry).
 * Runs with the group locked: it may only call uiommu_msi_compose().
 */
typedef void (*uiommu_msi_rewrite_fn)(void *opaque,
				      struct uiommu_msi_vector *vec);

/**
 * typedef uiommu_msi_quiesce_fn - hold a live vector still around a move
 * @hold: true before the device's group moves to another domain: mask the
 *        vector at the device, so that what it raises meanwhile stays
 *        pending instead of going to a doorbell address that the new
 *        domain does not map; false if the move failed: unmask again
 *
 * After a successful move the rewrite callback writes the new message and
 * unmasks.  Runs with the group locked, like the rewrite callback.
 */
typedef void (*uiommu_msi_quiesce_fn)(void *opaque,
				      struct uiommu_msi_vector *vec,
				      bool hold);

/**
 * uiommu_msi_prepare() - make a doorbell reachable for one vector of @dev
 * @dev:         the device
 * @doorbell_pa: physical address of the doorbell register it will write
 * @rewrite:     called when the message must be rewritten (may be NULL if
 *               the caller never moves the device's group)
 * @opaque:      passed to @rewrite
 * @out:         the vector's handle
 *
 * May allocate.  In an unmanaged domain the doorbell's page is bound into
 * the MSI window (IOVA from an allocator over the window, at the domain's
 * smallest page size, mapped write|noexec|mmio), or the existing binding of
 * that page is reused; in a DMA domain the IOVA comes from the domain's
 * allocator.  Nothing is bound when the domain does not translate
 * (identity, blocked, no IOMMU) or when a hardware msi region covers the
 * doorbell.
 *
 * In a DMA domain doorbell pages are placed below 4 GiB (and below the
 * device's mask), so that devices of the domain can share them.
 *
 * Return: 0; -EINVAL for a NULL argument; -ENOSPC if the window is full or
 * the domain has no MSI window; -ERANGE if the page is already bound, in a
 * DMA domain, above this device's DMA mask; -ENOMEM; the driver's map
 * errors.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_prepare(struct uiommu_device *dev, uint64_t doorbell_pa,
		   uiommu_msi_rewrite_fn rewrite, void *opaque,
		   struct uiommu_msi_vector **out);

/**
 * uiommu_msi_set_quiesce() - ask to be called around group moves
 * @vec: a prepared vector
 * @fn:  the callback (opaque is the one given to uiommu_msi_prepare()), or
 *       NULL for none: the device may then write its old doorbell IOVA
 *       between the move of the group and the rewrite of its message, and
 *       such an interrupt faults in the IOMMU
 */
UIOMMU_API void uiommu_msi_set_quiesce(struct uiommu_msi_vector *vec,
				       uiommu_msi_quiesce_fn fn);

/**
 * uiommu_msi_compose() - translate a message's doorbell address
 * @vec: a prepared vector
 * @msg: its message, with the doorbell's physical address; on success the
 *       address becomes the bound IOVA plus the offset in the page
 *
 * Lock-free and allocation-free: callable from interrupt-like contexts.
 *
 * Return: 0; -EINVAL (message unchanged) if @msg->address is not in the
 * page of the doorbell the vector was prepared for.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_msi_compose(const struct uiommu_msi_vector *vec,
		   struct uiommu_msi_msg *msg);

/**
 * uiommu_msi_release() - the vector is freed: drop its doorbell reference
 * @vec: the handle, or NULL
 *
 * The last reference unmaps the doorbell page and invalidates the IOTLB.
 */
UIOMMU_API void uiommu_msi_release(struct uiommu_msi_vector *vec);

/**
 * uiommu_msi_vector_iova() - the address a vector's doorbell has for its
 * device now (the physical address when nothing is bound)
 */
UIOMMU_API uint64_t uiommu_msi_vector_iova(const struct uiommu_msi_vector *vec);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_IOMMU_DRIVER_H */
