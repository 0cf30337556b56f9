/* SPDX-License-Identifier: MIT */
/*
 * uiommu iommu: the IOMMU core as its users see it.
 *
 * Objects (all opaque):
 * - struct uiommu_device: an endpoint behind an IOMMU instance (created by a
 *   bus driver through iommu-driver.h);
 * - struct uiommu_group: the devices that cannot be isolated from each other
 *   (the IOMMU driver decides).  A group is attached to exactly one domain at
 *   a time and every device in it follows;
 * - struct uiommu_domain: an I/O address space: blocked (no DMA), identity
 *   (IOVA == PA), DMA (IOVA managed by the core for the host's DMA API) or
 *   unmanaged (IOVA managed by an owner such as VFIO).
 *
 * Reserved regions: each group carries the merged list of the regions its
 * devices' IOMMU driver, MSI controllers and platform report.  A domain
 * refuses mappings inside the regions that apply to it (-EINVAL) and never
 * allocates IOVA there.
 *
 * MSI doorbells: when a device behind a translating domain allocates an MSI
 * vector, the core maps the interrupt controller's doorbell page into the
 * domain's MSI window (sw-msi region or owner-registered window) or, in a DMA
 * domain, at an IOVA from the domain's allocator, reference-counted per
 * vector.  The owner can read what each doorbell mapping exposes to DMA
 * (uiommu_domain_exposure_print()) and whether a group's MSIs are isolated
 * (uiommu_group_msi_isolation()).
 *
 * Addresses: ranges are [start, last] with an inclusive last byte, so that
 * they can reach the top of a 64-bit space, except where a size is given.
 *
 * Thread safety: every function may be called from any thread.  Locks are
 * taken in the order group, then domain; see docs/ARCHITECTURE.md.
 */
#ifndef UIOMMU_IOMMU_H
#define UIOMMU_IOMMU_H

#include <uiommu/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_iommu;
struct uiommu_device;
struct uiommu_group;
struct uiommu_domain;
struct uiommu_pgtable;
struct uiommu_iova_domain;

enum uiommu_domain_type {
	UIOMMU_DOMAIN_BLOCKED,	 /* every DMA faults */
	UIOMMU_DOMAIN_IDENTITY,	 /* IOVA == PA, no translation */
	UIOMMU_DOMAIN_DMA,	 /* IOVA managed by the core (DMA API) */
	UIOMMU_DOMAIN_UNMANAGED, /* IOVA managed by the domain's owner */
};

/* Mapping permissions and attributes (prot). */
#define UIOMMU_PROT_READ   (1u << 0)
#define UIOMMU_PROT_WRITE  (1u << 1)
#define UIOMMU_PROT_NOEXEC (1u << 2)	/* no instruction fetch */
#define UIOMMU_PROT_MMIO   (1u << 3)	/* device memory (a doorbell) */
#define UIOMMU_PROT_CACHE  (1u << 4)	/* cache-coherent access */
#define UIOMMU_PROT_ALL    0x1fu

/* ------------------------------------------------------ devices and groups */

/**
 * uiommu_device_name() - the name the bus driver gave the device
 * Return: a string that lives as long as the device.
 */
UIOMMU_API const char *uiommu_device_name(const struct uiommu_device *dev);

/**
 * uiommu_device_group() - the group of a device
 * Return: the group, or NULL if the device is not behind an IOMMU (its DMA
 * is not translated; this is not an error).
 */
UIOMMU_API struct uiommu_group *
uiommu_device_group(const struct uiommu_device *dev);

/**
 * uiommu_device_set_dma_mask() - set the highest address the device can
 * generate (e.g. 0xffffffff for a 32-bit device)
 * @mask: a mask of the form 2^n - 1 with n >= 12
 *
 * Return: 0; -EINVAL if @mask is not of that form.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_device_set_dma_mask(struct uiommu_device *dev, uint64_t mask);

/**
 * uiommu_group_id() - the group's number, as in /sys/kernel/iommu_groups/N
 */
UIOMMU_API unsigned int uiommu_group_id(const struct uiommu_group *group);

/**
 * uiommu_group_for_each_device() - visit the devices of a group
 * @fn: called with each device; a non-zero return stops the walk
 *
 * @fn runs with the group locked: it must not attach, detach or create
 * devices.
 *
 * Return: 0 after the whole walk, or @fn's non-zero value.
 */
UIOMMU_API int
uiommu_group_for_each_device(struct uiommu_group *group,
			     int (*fn)(void *opaque, struct uiommu_device *dev),
			     void *opaque);

/**
 * uiommu_group_domain() - the domain the group is attached to now
 * Return: never NULL.
 */
UIOMMU_API struct uiommu_domain *
uiommu_group_domain(struct uiommu_group *group);

/**
 * uiommu_group_default_domain() - the domain the group returns to on detach
 */
UIOMMU_API struct uiommu_domain *
uiommu_group_default_domain(struct uiommu_group *group);

/**
 * uiommu_group_check() - verify a group's invariants (members, merged
 * reserved regions sorted and disjoint per type, MSI vector lists)
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_group_check(struct uiommu_group *group);

/* ---------------------------------------------------------------- domains */

/**
 * uiommu_domain_alloc() - allocate a domain usable by @dev's IOMMU
 * @dev:  a device behind the IOMMU instance that will translate
 * @type: any domain type
 * @out:  the new domain, attached to nothing
 *
 * Return: 0; -EINVAL for a NULL argument, a device without IOMMU or an
 * unknown @type; -EOPNOTSUPP if the IOMMU driver cannot provide @type;
 * -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_domain_alloc(struct uiommu_device *dev, enum uiommu_domain_type type,
		    struct uiommu_domain **out);

/**
 * uiommu_domain_free() - free a domain attached to no group
 * @dom: the domain, or NULL
 *
 * Remaining mappings are unmapped and invalidated.
 *
 * Return: 0; -EBUSY if a group is attached (or @dom is a group's default
 * domain).
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_domain_free(struct uiommu_domain *dom);

/* What uiommu_domain_get_info() reports. */
struct uiommu_domain_info {
	enum uiommu_domain_type type;
	unsigned int id;		/* unique, for dumps */
	uint64_t aperture_start;	/* first mappable IOVA */
	uint64_t aperture_last;		/* last mappable IOVA (inclusive) */
	uint64_t pgsize_bitmap;		/* page sizes the format supports */
	unsigned int groups;		/* attached groups */
	uint64_t mapped_bytes;		/* owner and DMA API mappings */
};

/**
 * uiommu_domain_get_info() - describe a domain
 */
UIOMMU_API void uiommu_domain_get_info(struct uiommu_domain *dom,
				       struct uiommu_domain_info *info);

/**
 * uiommu_domain_pgtable() - the domain's I/O page table, for inspection
 * @dom: the domain
 *
 * For uiommu_pgtable_get_info(), uiommu_pgtable_for_each_leaf() and
 * uiommu_pgtable_dump_lines().  The table changes with every map and unmap
 * of the domain: the caller keeps them from running while it reads.
 *
 * Return: the table; NULL (not an error) for a NULL @dom, a blocked or
 * identity domain, or a driver whose tables are not the pgtable library's.
 */
UIOMMU_API const struct uiommu_pgtable *
uiommu_domain_pgtable(struct uiommu_domain *dom);

/**
 * uiommu_domain_iova_domain() - the IOVA allocator of a DMA domain
 * @dom: a domain
 *
 * For inspection (uiommu_iova_for_each(), uiommu_iova_get_stats()): the
 * DMA API allocates from it, with the group's reserved regions reserved
 * in it; a caller that allocates or frees in it corrupts the domain.
 *
 * Return: the allocator; NULL for a NULL @dom or a domain that is not of
 * type UIOMMU_DOMAIN_DMA.
 */
UIOMMU_API struct uiommu_iova_domain *
uiommu_domain_iova_domain(struct uiommu_domain *dom);

/**
 * uiommu_group_attach() - attach a group (every device in it) to a domain
 * @group: the group
 * @dom:   a domain of the same IOMMU instance; may be the current one
 *
 * The group leaves its current domain.  Reserved regions of the group that
 * apply to @dom are checked: in an unmanaged domain none may overlap an
 * existing mapping or the registered MSI window; in a DMA domain they are
 * kept out of the IOVA allocator and direct regions are identity-mapped.
 * Live MSI vectors of the group's devices are prepared in @dom and their
 * messages rewritten (the MSI layer's rewrite callback) before the old
 * doorbell mappings are released, so interrupts keep working; vectors
 * whose owner asked for it (uiommu_msi_set_quiesce()) are held masked from
 * before the devices move until their rewrite, so what they raise meanwhile
 * arrives afterwards instead of faulting.  On failure nothing changes.
 *
 * Return: 0; -EINVAL for NULL arguments or a domain of another IOMMU;
 * -EEXIST if a reserved region overlaps a mapping or the MSI window of
 * @dom; -ENOSPC if a live MSI finds no room in @dom's window; -ENOMEM; an
 * error of the IOMMU driver's attach.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_group_attach(struct uiommu_group *group, struct uiommu_domain *dom);

/**
 * uiommu_group_detach() - return a group to its default domain
 *
 * Return: as uiommu_group_attach().
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_group_detach(struct uiommu_group *group);

/**
 * uiommu_map() - map [@iova, @iova + @size) to [@pa, @pa + @size)
 * @dom:  an unmanaged domain
 * @prot: UIOMMU_PROT_* (at least READ or WRITE)
 *
 * The largest page sizes of the domain's bitmap that the alignment of @iova
 * and @pa allows are used.  On failure nothing is mapped.
 *
 * Return: 0; -EINVAL for a zero @size, addresses or size not aligned to the
 * domain's smallest page, a bad @prot, a domain that is not unmanaged, or a
 * range inside a reserved region or the MSI window of the domain (the log
 * names the region); -ERANGE outside the aperture; -EEXIST if part of the
 * range is already mapped; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_map(struct uiommu_domain *dom, uint64_t iova, uint64_t pa,
	   uint64_t size, unsigned int prot);

/**
 * uiommu_unmap() - unmap whatever is mapped in [@iova, @iova + @size)
 * @unmapped: if not NULL, receives the number of bytes that were mapped
 *
 * The IOTLB is invalidated before the call returns.  Unmapping part of a
 * larger page the driver mapped is refused.
 *
 * Return: 0; -EINVAL for a zero or misaligned range or a domain that is not
 * unmanaged; -ERANGE outside the aperture; -ENOMEM if a partial unmap needs
 * to split the range record.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_unmap(struct uiommu_domain *dom, uint64_t iova, uint64_t size,
	     uint64_t *unmapped);

/**
 * uiommu_iova_to_phys() - translate an IOVA through the domain's tables
 *
 * Return: 0; -ENOENT if @iova is not mapped; -EINVAL for a blocked domain.
 * An identity domain returns @iova.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_iova_to_phys(struct uiommu_domain *dom, uint64_t iova, uint64_t *pa);

/**
 * uiommu_domain_check() - verify a domain's invariants (mapping records
 * sorted and disjoint, applicable reserved regions, doorbell bindings
 * inside the window with positive reference counts)
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_domain_check(struct uiommu_domain *dom);

/* ------------------------------------------------------------------ DMA API */

enum uiommu_dma_dir {
	UIOMMU_DMA_BIDIRECTIONAL,
	UIOMMU_DMA_TO_DEVICE,	/* device reads */
	UIOMMU_DMA_FROM_DEVICE,	/* device writes */
};

/* One scatter-gather element. */
struct uiommu_sg {
	uint64_t pa;		/* in: physical address */
	uint64_t len;		/* in: bytes */
	uint64_t dma_addr;	/* out: address the device uses */
};

/**
 * uiommu_dma_map_single() - make [@pa, @pa + @size) reachable by @dev
 * @dma_addr: receives the address to give the device
 *
 * In a DMA domain the IOVA comes from the domain's allocator, top-down under
 * the device's DMA mask (the first page under a 32-bit mask is 0xfffff000),
 * avoiding reserved regions.  In an identity domain or without IOMMU the
 * address is @pa, which must fit the mask.
 *
 * Return: 0; -EINVAL for a zero @size or a bad @dir; -EBUSY if the device is
 * attached to an unmanaged or blocked domain (its DMA belongs to an owner);
 * -ERANGE if an identity mapping does not fit the mask; -ENOSPC if no IOVA
 * range is free under the mask; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_dma_map_single(struct uiommu_device *dev, uint64_t pa, uint64_t size,
		      enum uiommu_dma_dir dir, uint64_t *dma_addr);

/**
 * uiommu_dma_unmap_single() - undo uiommu_dma_map_single()
 *
 * In strict mode the IOTLB is invalidated before returning; in lazy mode the
 * IOVA goes to the domain's flush queue and is reused only after the next
 * global invalidation.
 *
 * Return: 0; -ENOENT if @dma_addr is not a live mapping of @dev's domain;
 * -EINVAL for a zero @size.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_dma_unmap_single(struct uiommu_device *dev, uint64_t dma_addr,
			uint64_t size, enum uiommu_dma_dir dir);

/**
 * uiommu_dma_map_sg() - map a scatter list into one contiguous IOVA range
 * @sg:    @nents elements; each gets its dma_addr
 *
 * Return: 0; errors as uiommu_dma_map_single(); -EINVAL for @nents 0.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_dma_map_sg(struct uiommu_device *dev, struct uiommu_sg *sg,
		  size_t nents, enum uiommu_dma_dir dir);

/**
 * uiommu_dma_unmap_sg() - undo uiommu_dma_map_sg() (same @sg and @nents)
 *
 * Return: as uiommu_dma_unmap_single().
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_dma_unmap_sg(struct uiommu_device *dev, struct uiommu_sg *sg,
		    size_t nents, enum uiommu_dma_dir dir);

enum uiommu_flush_mode {
	UIOMMU_FLUSH_STRICT,	/* invalidate on every unmap */
	UIOMMU_FLUSH_LAZY,	/* batch unmaps in a flush queue */
};

/**
 * uiommu_domain_set_flush_mode() - choose strict or lazy invalidation
 * @dom: a DMA domain
 *
 * Switching to strict drains the flush queue first.
 *
 * Return: 0; -EINVAL for another domain type or an unknown mode.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_domain_set_flush_mode(struct uiommu_domain *dom,
			     enum uiommu_flush_mode mode);

/**
 * uiommu_domain_flush_queue() - invalidate everything queued and free the
 * queued IOVAs (what a lazy domain's timer does)
 */
UIOMMU_API void uiommu_domain_flush_queue(struct uiommu_domain *dom);

/* -------------------------------------------------------- reserved regions */

enum uiommu_resv_type {
	UIOMMU_RESV_DIRECT,		/* must be identity-mapped */
	UIOMMU_RESV_DIRECT_RELAXABLE,	/* identity, may be dropped when assigned */
	UIOMMU_RESV_RESERVED,		/* never usable as IOVA */
	UIOMMU_RESV_MSI,		/* hardware MSI window, not translated */
	UIOMMU_RESV_SW_MSI,		/* software MSI window the core maps into */
};

/* Applies only to DMA domains (e.g. a PCI host bridge's windows). */
#define UIOMMU_RESV_F_DMA_ONLY (1u << 0)

struct uiommu_resv_region {
	uint64_t start;
	uint64_t last;			/* inclusive */
	unsigned int prot;		/* UIOMMU_PROT_* for direct and sw-msi */
	enum uiommu_resv_type type;
	unsigned int flags;		/* UIOMMU_RESV_F_* */
};

/**
 * uiommu_resv_type_name() - "direct", "direct-relaxable", "reserved", "msi"
 * or "sw-msi"
 */
UIOMMU_API const char *uiommu_resv_type_name(enum uiommu_resv_type type);

/**
 * uiommu_group_resv_regions() - copy the group's merged, sorted list
 * @out: array of @cap entries (may be NULL when @cap is 0)
 * @n:   receives the number of regions (may exceed @cap)
 */
UIOMMU_API void uiommu_group_resv_regions(struct uiommu_group *group,
					  struct uiommu_resv_region *out,
					  size_t cap, size_t *n);

/* Print options. */
#define UIOMMU_RESV_PRINT_EXTENDED (1u << 0)

/**
 * uiommu_group_resv_print() - the group's reserved regions as text
 * @flags: 0 for exactly the format of Linux's
 *         /sys/kernel/iommu_groups/N/reserved_regions ("0x%016llx 0x%016llx
 *         %s\n", end inclusive, sw-msi shown as "msi", DMA-only regions left
 *         out); UIOMMU_RESV_PRINT_EXTENDED names sw-msi as such and adds the
 *         prot and the DMA-only flag
 * @buf:   receives the NUL-terminated text, truncated to @len - 1 bytes
 * @needed: if not NULL, receives the full length without the NUL
 *
 * Return: 0; -EINVAL for an unknown flag.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_group_resv_print(struct uiommu_group *group, unsigned int flags,
			char *buf, size_t len, size_t *needed);

/**
 * uiommu_domain_resv_regions() - the regions that apply to the domain now:
 * those of its attached groups for its type, plus its registered MSI window
 * (reported as sw-msi).  The valid IOVA ranges are the aperture minus these.
 */
UIOMMU_API void uiommu_domain_resv_regions(struct uiommu_domain *dom,
					   struct uiommu_resv_region *out,
					   size_t cap, size_t *n);

/* -------------------------------------------------------------- MSI window */

/**
 * uiommu_domain_set_msi_window() - choose where doorbells are mapped
 * @dom:  an unmanaged domain
 * @base: first IOVA, aligned to the domain's smallest page size
 * @size: bytes, a non-zero multiple of that page size
 *
 * Replaces the default (the sw-msi region of the attached groups), which
 * then stops applying to the domain.
 *
 * Return: 0; -EINVAL for a misaligned or empty window or another domain
 * type; -ERANGE outside the aperture; -EEXIST if the window overlaps a
 * mapping or a reserved region (other than sw-msi) of an attached group;
 * -EBUSY while doorbells are bound in the current window.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_domain_set_msi_window(struct uiommu_domain *dom, uint64_t base,
			     uint64_t size);

struct uiommu_msi_window_info {
	bool present;		/* a window exists (explicit or sw-msi) */
	bool explicit_window;	/* registered by the owner */
	bool hw_msi;		/* a hardware msi region applies: no binding */
	uint64_t start, last;
	uint64_t page_size;	/* binding granule */
	unsigned int pages_used;	/* bound doorbell pages */
	unsigned long vectors;	/* references on them */
};

/**
 * uiommu_domain_get_msi_window() - describe the domain's MSI window
 */
UIOMMU_API void uiommu_domain_get_msi_window(struct uiommu_domain *dom,
					     struct uiommu_msi_window_info *info);

/* ------------------------------------------------ isolation and exposure */

/**
 * uiommu_group_msi_isolation() - are the group's MSIs isolated?
 * @isolated: receives the verdict: true when the IOMMU remaps interrupts or
 *            every MSI controller the devices use identifies the source
 * @reason:   receives a NUL-terminated explanation (may be NULL)
 */
UIOMMU_API void uiommu_group_msi_isolation(struct uiommu_group *group,
					   bool *isolated, char *reason,
					   size_t len);

enum uiommu_exposure_kind {
	UIOMMU_EXPOSE_DOORBELL,		/* the bound doorbell register */
	UIOMMU_EXPOSE_DOORBELL_FRAME,	/* another register of its frame */
	UIOMMU_EXPOSE_OTHER_DOORBELL,	/* a doorbell of another frame */
	UIOMMU_EXPOSE_MMIO,		/* a non-doorbell device register */
	UIOMMU_EXPOSE_RAM,		/* memory */
};

/* One doorbell page mapped in a domain. */
struct uiommu_exposure_page {
	uint64_t iova;		/* IOVA of the page */
	uint64_t pa;		/* physical address of the page */
	uint64_t size;		/* IOMMU page size */
	uint64_t doorbell_pa;	/* the doorbell it was bound for */
	unsigned long refs;	/* vectors using it */
	bool safe;		/* only the doorbell's own frame is reachable */
};

/* One thing a doorbell page makes reachable by DMA. */
struct uiommu_exposure_entry {
	enum uiommu_exposure_kind kind;
	uint64_t iova, pa, size;
	const char *region;	/* physmem region name */
	const char *owner;	/* its model */
	const char *reg;	/* register name; NULL for RAM or an unmapped span */
};

/**
 * uiommu_domain_for_each_exposure() - what the doorbell pages expose
 * @fn: called once per reachable register or span, in address order, with
 *      the page it belongs to; a non-zero return stops the walk
 *
 * Return: 0 after the whole walk, or @fn's non-zero value.
 */
UIOMMU_API int uiommu_domain_for_each_exposure(
	struct uiommu_domain *dom,
	int (*fn)(void *opaque, const struct uiommu_exposure_page *page,
		  const struct uiommu_exposure_entry *e),
	void *opaque);

/**
 * uiommu_domain_exposure_print() - the exposure report as text
 * @buf, @len, @needed: as for uiommu_group_resv_print()
 *
 * One header line per doorbell page, then one line per reachable register.
 */
UIOMMU_API void uiommu_domain_exposure_print(struct uiommu_domain *dom,
					     char *buf, size_t len,
					     size_t *needed);

/* ------------------------------------------------------------------ faults */

#define UIOMMU_FAULT_READ  (1u << 0)
#define UIOMMU_FAULT_WRITE (1u << 1)
#define UIOMMU_FAULT_EXEC  (1u << 2)

enum uiommu_fault_reason {
	UIOMMU_FAULT_UNMAPPED,		/* no translation */
	UIOMMU_FAULT_PERMISSION,	/* translation forbids the access */
	UIOMMU_FAULT_BLOCKED,		/* domain blocks all DMA */
	UIOMMU_FAULT_BAD_ADDRESS,	/* outside the input address size */
};

struct uiommu_fault {
	uint64_t iova;
	unsigned int flags;		/* UIOMMU_FAULT_READ/WRITE/EXEC */
	enum uiommu_fault_reason reason;
	uint32_t source_id;		/* StreamID / RID the IOMMU saw */
	struct uiommu_device *dev;	/* NULL if the ID matches no device */
};

/**
 * typedef uiommu_fault_handler - a domain owner's fault callback
 *
 * Called from the thread that reported the fault, with no core lock held.
 * Return 0 if handled.
 */
typedef int (*uiommu_fault_handler)(void *opaque, struct uiommu_domain *dom,
				    const struct uiommu_fault *fault);

/**
 * uiommu_domain_set_fault_handler() - receive the domain's faults
 * @fn: the handler, or NULL to stop
 */
UIOMMU_API void uiommu_domain_set_fault_handler(struct uiommu_domain *dom,
						uiommu_fault_handler fn,
						void *opaque);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_IOMMU_H */
