/* SPDX-License-Identifier: MIT */
/*
 * IOMMU core internals shared by iommu.c (instances, devices, groups,
 * domains, mappings, attach), resv.c (reserved-region lists), msi.c
 * (doorbell window, bindings, isolation, exposure) and dma.c (DMA API).
 *
 * Locks, taken in this order and never two domains at once:
 *   core_lock   (iommu.c) the instance, device and group registries;
 *   group->lock membership, current domain, the devices' MSI vectors;
 *   dom->lock   mappings, attached-group array, bindings, IOVA allocators.
 * uiommu_msi_compose() takes no lock: it reads one atomic word.
 */
#ifndef UIO_IOMMU_INTERNAL_H
#define UIO_IOMMU_INTERNAL_H

#include <stdatomic.h>

#include <uiommu/iommu-driver.h>
#include <uiommu/iova.h>
#include <uiommu/physmem.h>

#include "lock.h"

#define IOMMU_SUBSYS "iommu"

/* A list of reserved regions, sorted by (start, type). */
struct uiommu_resv_list {
	struct uiommu_resv_region *r;
	size_t n, cap;
};

struct uiommu_iommu {
	char *name;
	const struct uiommu_iommu_ops *ops;
	void *driver_data;
	enum uiommu_domain_type default_type;
	unsigned int default_fmt;
	bool intr_remap;		/* capable(UIOMMU_CAP_INTR_REMAP) */
	struct uiommu_physmem *physmem;	/* for exposure reports; may be NULL */
	struct uiommu_device *devices;	/* under core_lock */
	unsigned int ndevices;
};

struct uiommu_msi_ctrl {
	char *name;
	uint64_t doorbell_pa;
	bool isolating;
	struct uiommu_resv_list resv;
	unsigned int users;		/* devices naming it, under core_lock */
};

struct uiommu_device {
	char *name;
	struct uiommu_iommu *iommu;	/* NULL: not translated */
	uint32_t *ids;
	unsigned int nids;
	bool pci, pci_acs;
	uint16_t pci_rid;
	uint16_t *pci_aliases;
	unsigned int npci_aliases;
	struct uiommu_msi_ctrl **ctrls;
	unsigned int nctrls;
	struct uiommu_resv_list resv;	/* driver + controllers + platform */
	void *driver_data;
	_Atomic uint64_t dma_mask;
	struct uiommu_group *group;
	struct uiommu_device *iommu_next;	/* under core_lock */
	struct uiommu_device *group_next;	/* under group->lock */
	struct uiommu_msi_vector *vectors;	/* under group->lock */
	unsigned int nvectors;
};

struct uiommu_group {
	unsigned int id;
	struct uiommu_iommu *iommu;
	struct uio_mutex lock;
	struct uiommu_device *devices;
	unsigned int ndevices;
	struct uiommu_resv_list resv;	/* merged from the devices */
	struct uiommu_domain *domain;
	struct uiommu_domain *default_domain;
};

/* One doorbell page bound in a domain. */
struct msi_binding {
	struct msi_binding *next;
	uint64_t pa_page;
	uint64_t iova;
	uint64_t size;
	uint64_t doorbell_pa;		/* the first doorbell bound on it */
	unsigned long refs;
	bool in_window;			/* from the window, not the DMA allocator */
};

struct uiommu_msi_vector {
	struct uiommu_device *dev;
	uint64_t doorbell_pa;
	uiommu_msi_rewrite_fn rewrite;
	uiommu_msi_quiesce_fn quiesce;	/* under the group lock */
	void *opaque;
	/* Address of the doorbell register as the device must write it. */
	_Atomic uint64_t xlate;
	/* Under the group lock (or the domain lock for the binding's refs). */
	struct uiommu_domain *dom;
	struct msi_binding *binding;	/* NULL: nothing bound */
	struct uiommu_msi_vector *prev, *next;
};

/* One range of IOVA mapped by the owner, the DMA API or a direct region. */
struct map_extent {
	uint64_t first, last;
};

#define FQ_SIZE 64

struct fq_entry {
	uint64_t iova;			/* allocation start in the IOVA allocator */
};

struct uiommu_domain {
	unsigned int id;
	enum uiommu_domain_type type;
	struct uiommu_iommu *iommu;
	struct uiommu_domain_hw hw;
	uint64_t granule;		/* smallest page size */
	struct uio_mutex lock;

	/* Everything below is under lock. */
	struct map_extent *ext;
	size_t next, ext_cap;
	uint64_t mapped_bytes;

	struct uiommu_group **groups;
	unsigned int ngroups;
	size_t groups_cap;
	struct uiommu_group *default_of;	/* group owning it as default */

	/* MSI window and doorbell bindings. */
	bool win_explicit;
	uint64_t win_start, win_last;	/* explicit window */
	struct uiommu_iova_domain *win_iovad;
	uint64_t win_iovad_start, win_iovad_last;
	struct msi_binding *bindings;
	unsigned int nbindings;
	unsigned long nvec_refs;

	/* DMA domains. */
	struct uiommu_iova_domain *iovad;
	struct uiommu_resv_list dma_reserved;	/* already reserved in iovad */
	enum uiommu_flush_mode flush_mode;
	struct fq_entry fq[FQ_SIZE];
	unsigned int fq_n;

	uiommu_fault_handler fault_fn;
	void *fault_opaque;
};

/* resv.c */
int uio_array_grow(void **arr, size_t *cap, size_t used, size_t need,
		   size_t elem, size_t first_cap);
void uio_resv_list_init(struct uiommu_resv_list *l);
void uio_resv_list_free(struct uiommu_resv_list *l);
int uio_resv_list_insert(struct uiommu_resv_list *l,
			 const struct uiommu_resv_region *r);
int uio_resv_list_merge(struct uiommu_resv_list *dst,
			const struct uiommu_resv_list *src);
int uio_resv_region_validate(const struct uiommu_resv_region *r);
bool uio_resv_applies(const struct uiommu_domain *dom,
		      const struct uiommu_resv_region *r);
int uio_resv_list_check(const struct uiommu_resv_list *l, const char *what);
/* First region of @dom's attached groups that applies and overlaps. */
const struct uiommu_resv_region *
uio_domain_resv_overlap(struct uiommu_domain *dom, uint64_t first,
			uint64_t last);
/* First region applying to @dom that has @type and contains @addr. */
const struct uiommu_resv_region *
uio_domain_resv_find(struct uiommu_domain *dom, enum uiommu_resv_type type,
		     uint64_t addr);
void uio_snprintf_cat(char *buf, size_t len, size_t *pos, const char *fmt,
		      ...) UIOMMU_PRINTF(4, 5);

/* iommu.c */
int uio_domain_map_locked(struct uiommu_domain *dom, uint64_t iova,
			  uint64_t pa, uint64_t size, unsigned int prot,
			  bool track);
uint64_t uio_domain_unmap_locked(struct uiommu_domain *dom, uint64_t iova,
				 uint64_t size, bool sync);
int uio_domain_ext_reserve(struct uiommu_domain *dom, size_t extra);
void uio_domain_ext_remove(struct uiommu_domain *dom, uint64_t first,
			   uint64_t last);
void uio_domain_ext_insert(struct uiommu_domain *dom, uint64_t first,
			   uint64_t last);
bool uio_domain_ext_is(struct uiommu_domain *dom, uint64_t first,
		       uint64_t last);
bool uio_domain_ext_overlaps(struct uiommu_domain *dom, uint64_t first,
			     uint64_t last);
void uio_domain_iotlb_sync(struct uiommu_domain *dom,
			   struct uiommu_iotlb_gather *g);
struct uiommu_domain *uio_device_domain_lock(struct uiommu_device *dev);
void uio_device_domain_unlock(struct uiommu_device *dev,
			      struct uiommu_domain *dom);

/* msi.c */
int uio_msi_bind(struct uiommu_domain *dom, struct uiommu_device *dev,
		 uint64_t doorbell_pa, struct msi_binding **out,
		 uint64_t *xlate);
void uio_msi_unbind(struct uiommu_domain *dom, struct msi_binding *b);
void uio_msi_domain_teardown(struct uiommu_domain *dom);
int uio_msi_domain_check(struct uiommu_domain *dom);
bool uio_msi_window(struct uiommu_domain *dom, uint64_t *start,
		    uint64_t *last);

/* dma.c */
int uio_dma_domain_init(struct uiommu_domain *dom);
void uio_dma_domain_fini(struct uiommu_domain *dom);
int uio_dma_domain_reserve(struct uiommu_domain *dom,
			   const struct uiommu_resv_list *group_resv);

#endif /* UIO_IOMMU_INTERNAL_H */
