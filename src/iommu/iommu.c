// SPDX-License-Identifier: MIT
/*
 * IOMMU core: instances, devices, groups, domains, mappings and attach.
 *
 * - Instances and MSI controllers are registered by drivers; devices are
 *   created by bus drivers with their IDs and join the group the IOMMU
 *   driver chooses.  A new group gets a default domain of the instance's
 *   default type.
 * - A domain records the IOVA ranges mapped in it (sorted array of disjoint
 *   extents) so that reserved regions of an attaching group and an explicit
 *   MSI window can be checked against existing mappings without walking the
 *   page tables.  Doorbell bindings are not extents: they live in the MSI
 *   window (msi.c) or come from the DMA allocator (dma.c).
 * - Attaching a group is all or nothing: checks and allocations in the new
 *   domain first (reserved regions, live MSI vectors), then the driver's
 *   attach for each device, then the commit (messages rewritten), then the
 *   old domain lets go of its doorbell bindings.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "iommu-internal.h"
#include "log.h"
#include "trace.h"

static struct uio_mutex core_lock = UIO_MUTEX_INIT;
static unsigned int next_group_id;
static _Atomic unsigned int next_domain_id;

static const char *const domain_type_names[] = {
	[UIOMMU_DOMAIN_BLOCKED] = "blocked",
	[UIOMMU_DOMAIN_IDENTITY] = "identity",
	[UIOMMU_DOMAIN_DMA] = "dma",
	[UIOMMU_DOMAIN_UNMANAGED] = "unmanaged",
};

static bool domain_translates(const struct uiommu_domain *dom)
{
	return dom->type == UIOMMU_DOMAIN_DMA ||
	       dom->type == UIOMMU_DOMAIN_UNMANAGED;
}

static void debug_check_domain(struct uiommu_domain *dom)
{
#if UIOMMU_DEBUG >= 2
	int err = uiommu_domain_check(dom);

	assert(!err);
	(void)err;
#else
	(void)dom;
#endif
}

/* ---------------------------------------------------------------- instances */

UIOMMU_API int uiommu_iommu_register(const struct uiommu_iommu_desc *desc,
				     struct uiommu_iommu **out)
{
	const struct uiommu_iommu_ops *ops;
	struct uiommu_iommu *iommu;

	if (!desc || !out || !desc->name || !desc->ops)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"IOMMU registration without name or ops");
	ops = desc->ops;
	if (!ops->device_group || !ops->domain_alloc)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"IOMMU %s: device_group and domain_alloc are "
				"mandatory", desc->name);
	if (desc->default_domain != UIOMMU_DOMAIN_DMA &&
	    desc->default_domain != UIOMMU_DOMAIN_IDENTITY)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"IOMMU %s: default domain type %u is not dma "
				"or identity", desc->name, desc->default_domain);
	iommu = uio_new(struct uiommu_iommu);
	if (!iommu)
		return -ENOMEM;
	iommu->name = uio_strdup(desc->name);
	if (!iommu->name) {
		uio_delete(iommu);
		return -ENOMEM;
	}
	iommu->ops = ops;
	iommu->driver_data = desc->driver_data;
	iommu->default_type = desc->default_domain;
	iommu->default_fmt = desc->default_fmt;
	iommu->physmem = desc->physmem;
	iommu->intr_remap = ops->capable &&
			    ops->capable(iommu, UIOMMU_CAP_INTR_REMAP);
	uio_info(IOMMU_SUBSYS, "registered %s (interrupt remapping: %s)",
		 iommu->name, iommu->intr_remap ? "yes" : "no");
	*out = iommu;
	return 0;
}

UIOMMU_API int uiommu_iommu_unregister(struct uiommu_iommu *iommu)
{
	if (!iommu)
		return 0;
	uio_lock(&core_lock);
	if (iommu->ndevices) {
		uio_unlock(&core_lock);
		return uio_fail(-EBUSY, IOMMU_SUBSYS, "%s still has %u devices",
				iommu->name, iommu->ndevices);
	}
	uio_unlock(&core_lock);
	uio_free_str(iommu->name);
	uio_delete(iommu);
	return 0;
}

UIOMMU_API void *uiommu_iommu_driver_data(const struct uiommu_iommu *iommu)
{
	return iommu->driver_data;
}

UIOMMU_API const char *uiommu_iommu_name(const struct uiommu_iommu *iommu)
{
	return iommu->name;
}

/* ---------------------------------------------------------- MSI controllers */

UIOMMU_API int uiommu_msi_ctrl_register(const struct uiommu_msi_ctrl_desc *desc,
					struct uiommu_msi_ctrl **out)
{
	struct uiommu_msi_ctrl *ctrl;
	size_t i;
	int err;

	if (!desc || !out || !desc->name || (desc->nresv && !desc->resv))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"MSI controller without name");
	for (i = 0; i < desc->nresv; i++) {
		err = uio_resv_region_validate(&desc->resv[i]);
		if (err)
			return err;
	}
	ctrl = uio_new(struct uiommu_msi_ctrl);
	if (!ctrl)
		return -ENOMEM;
	ctrl->name = uio_strdup(desc->name);
	if (!ctrl->name) {
		err = -ENOMEM;
		goto err_free_ctrl;
	}
	ctrl->doorbell_pa = desc->doorbell_pa;
	ctrl->isolating = desc->isolating;
	uio_resv_list_init(&ctrl->resv);
	for (i = 0; i < desc->nresv; i++) {
		err = uio_resv_list_insert(&ctrl->resv, &desc->resv[i]);
		if (err)
			goto err_free_resv;
	}
	*out = ctrl;
	return 0;

err_free_resv:
	uio_resv_list_free(&ctrl->resv);
	uio_free_str(ctrl->name);
err_free_ctrl:
	uio_delete(ctrl);
	return err;
}

UIOMMU_API int uiommu_msi_ctrl_unregister(struct uiommu_msi_ctrl *ctrl)
{
	if (!ctrl)
		return 0;
	uio_lock(&core_lock);
	if (ctrl->users) {
		uio_unlock(&core_lock);
		return uio_fail(-EBUSY, IOMMU_SUBSYS,
				"MSI controller %s still used by %u devices",
				ctrl->name, ctrl->users);
	}
	uio_unlock(&core_lock);
	uio_resv_list_free(&ctrl->resv);
	uio_free_str(ctrl->name);
	uio_delete(ctrl);
	return 0;
}

/* ----------------------------------------------------------------- extents */

/* Index of the first extent whose last byte is >= @first. */
static size_t ext_search(struct uiommu_domain *dom, uint64_t first)
{
	size_t lo = 0, hi = dom->next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dom->ext[mid].last < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool uio_domain_ext_overlaps(struct uiommu_domain *dom, uint64_t first,
			     uint64_t last)
{
	size_t i;

	uio_assert_held(&dom->lock);
	i = ext_search(dom, first);
	return i < dom->next && dom->ext[i].first <= last;
}

/* Exactly one extent is [@first, @last]. */
bool uio_domain_ext_is(struct uiommu_domain *dom, uint64_t first,
		       uint64_t last)
{
	size_t i;

	uio_assert_held(&dom->lock);
	i = ext_search(dom, first);
	return i < dom->next && dom->ext[i].first == first &&
	       dom->ext[i].last == last;
}

/* Make room for @extra more extents, so that later steps cannot fail. */
int uio_domain_ext_reserve(struct uiommu_domain *dom, size_t extra)
{
	uio_assert_held(&dom->lock);
	return uio_array_grow((void **)&dom->ext, &dom->ext_cap, dom->next,
			      dom->next + extra, sizeof(*dom->ext), 16);
}

/* Record [@first, @last], which overlaps nothing; room was reserved. */
void uio_domain_ext_insert(struct uiommu_domain *dom, uint64_t first,
			   uint64_t last)
{
	size_t i;

	uio_assert_held(&dom->lock);
	i = ext_search(dom, first);
	assert(dom->next < dom->ext_cap);
	assert(i == dom->next || dom->ext[i].first > last);
	memmove(&dom->ext[i + 1], &dom->ext[i],
		(dom->next - i) * sizeof(*dom->ext));
	dom->ext[i].first = first;
	dom->ext[i].last = last;
	dom->next++;
	dom->mapped_bytes += last - first + 1;
}

/*
 * Forget [@first, @last]; splitting an extent needs one free slot, which
 * the caller reserved.
 */
void uio_domain_ext_remove(struct uiommu_domain *dom, uint64_t first,
			   uint64_t last)
{
	size_t i;

	uio_assert_held(&dom->lock);
	i = ext_search(dom, first);
	while (i < dom->next && dom->ext[i].first <= last) {
		struct map_extent *e = &dom->ext[i];
		uint64_t lo = e->first > first ? e->first : first;
		uint64_t hi = e->last < last ? e->last : last;

		dom->mapped_bytes -= hi - lo + 1;
		if (lo > e->first && hi < e->last) {
			assert(dom->next < dom->ext_cap);
			memmove(&dom->ext[i + 1], &dom->ext[i],
				(dom->next - i) * sizeof(*dom->ext));
			dom->next++;
			dom->ext[i].last = lo - 1;
			dom->ext[i + 1].first = hi + 1;
			return;
		}
		if (lo > e->first) {
			e->last = lo - 1;
			i++;
		} else if (hi < e->last) {
			e->first = hi + 1;
			return;
		} else {
			memmove(e, e + 1, (dom->next - i - 1) * sizeof(*e));
			dom->next--;
		}
	}
}

/* ---------------------------------------------------------- page-level work */

/*
 * The largest page size of @bitmap that the alignment of @iova and @pa and
 * the remaining @size allow, and how many such pages to do in one call
 * (stopping where a larger page size would become possible).
 */
static uint64_t pick_pgsize(uint64_t bitmap, uint64_t iova, uint64_t pa,
			    uint64_t size, size_t *count)
{
	uint64_t sizes = bitmap & UIO_GENMASK(uio_fls64(size), 0);
	uint64_t addr = iova | pa, pgsize, above, n;

	if (addr)
		sizes &= UIO_GENMASK(uio_ffs64(addr), 0);
	assert(sizes);
	pgsize = UIO_BIT(uio_fls64(sizes));
	n = size / pgsize;
	above = bitmap & ~UIO_GENMASK(uio_fls64(pgsize), 0);
	if (above) {
		uint64_t big = UIO_BIT(uio_ffs64(above));

		if (!((iova ^ pa) & (big - 1))) {
			uint64_t to_big = (big - (iova & (big - 1))) / pgsize;

			if (to_big < n)
				n = to_big;
		}
	}
	*count = (size_t)n;
	return pgsize;
}

void uio_domain_iotlb_sync(struct uiommu_domain *dom,
			   struct uiommu_iotlb_gather *g)
{
	if (!g->ranges)
		return;
	trace_iommu_iotlb_sync(dom->id, g->start, g->last);
	if (dom->hw.ops->iotlb_sync)
		dom->hw.ops->iotlb_sync(dom, g);
	else if (dom->hw.ops->flush_iotlb_all)
		dom->hw.ops->flush_iotlb_all(dom);
	uiommu_iotlb_gather_init(g);
}

/* Unmap [@iova, @iova + @size) from the tables into @g; bytes unmapped. */
static uint64_t unmap_pages(struct uiommu_domain *dom, uint64_t iova,
			    uint64_t size, struct uiommu_iotlb_gather *g)
{
	uint64_t done = 0;

	while (done < size) {
		size_t count;
		uint64_t pgsize = pick_pgsize(dom->hw.pgsize_bitmap,
					      iova + done, 0, size - done,
					      &count);
		uint64_t n = dom->hw.ops->unmap_pages(dom, iova + done, pgsize,
						      count, g);

		if (!n)
			break;
		done += n;
	}
	return done;
}

/*
 * Map through the driver; on failure nothing stays mapped.  With @track the
 * range is recorded as an extent (room must have been reserved).
 */
int uio_domain_map_locked(struct uiommu_domain *dom, uint64_t iova,
			  uint64_t pa, uint64_t size, unsigned int prot,
			  bool track)
{
	struct uiommu_iotlb_gather g;
	uint64_t done = 0;
	int err = 0;

	uio_assert_held(&dom->lock);
	while (done < size) {
		size_t count;
		uint64_t mapped = 0;
		uint64_t pgsize = pick_pgsize(dom->hw.pgsize_bitmap,
					      iova + done, pa + done,
					      size - done, &count);

		err = dom->hw.ops->map_pages(dom, iova + done, pa + done,
					     pgsize, count, prot, &mapped);
		done += mapped;
		if (err)
			break;
	}
	if (err) {
		uiommu_iotlb_gather_init(&g);
		if (done)
			unmap_pages(dom, iova, done, &g);
		uio_domain_iotlb_sync(dom, &g);
		return err;
	}
	trace_iommu_map(dom->id, iova, pa, size, prot);
	if (track)
		uio_domain_ext_insert(dom, iova, iova + size - 1);
	return 0;
}

/* Unmap a range the caller knows is mapped; bytes unmapped. */
uint64_t uio_domain_unmap_locked(struct uiommu_domain *dom, uint64_t iova,
				 uint64_t size, bool sync)
{
	struct uiommu_iotlb_gather g;
	uint64_t n;

	uio_assert_held(&dom->lock);
	uiommu_iotlb_gather_init(&g);
	n = unmap_pages(dom, iova, size, &g);
	trace_iommu_unmap(dom->id, iova, size, n);
	if (sync)
		uio_domain_iotlb_sync(dom, &g);
	return n;
}

/* ------------------------------------------------------------------ domains */

static int domain_create(struct uiommu_iommu *iommu,
			 enum uiommu_domain_type type, unsigned int fmt,
			 struct uiommu_domain **out)
{
	struct uiommu_domain *dom;
	int err;

	dom = uio_new(struct uiommu_domain);
	if (!dom)
		return -ENOMEM;
	dom->iommu = iommu;
	dom->type = type;
	dom->id = atomic_fetch_add(&next_domain_id, 1);
	uio_mutex_init(&dom->lock);
	uio_resv_list_init(&dom->dma_reserved);
	err = iommu->ops->domain_alloc(iommu, dom, type, fmt, &dom->hw);
	if (err)
		goto err_free_dom;
	if (!dom->hw.ops || !dom->hw.ops->attach_dev || !dom->hw.ops->free) {
		err = uio_fail(-EINVAL, IOMMU_SUBSYS,
			       "%s: domain without attach_dev or free",
			       iommu->name);
		goto err_free_dom;
	}
	if (domain_translates(dom)) {
		const struct uiommu_domain_ops *o = dom->hw.ops;

		if (!o->map_pages || !o->unmap_pages || !o->iova_to_phys ||
		    !(o->iotlb_sync || o->flush_iotlb_all) ||
		    !(dom->hw.pgsize_bitmap & UIO_GENMASK(63, 12)) ||
		    dom->hw.aperture_last <= dom->hw.aperture_start) {
			err = uio_fail(-EINVAL, IOMMU_SUBSYS,
				       "%s: paging domain without map ops, "
				       "page sizes or aperture", iommu->name);
			goto err_driver_free;
		}
		dom->hw.pgsize_bitmap &= UIO_GENMASK(63, 12);
		dom->granule = UIO_BIT(uio_ffs64(dom->hw.pgsize_bitmap));
	}
	if (type == UIOMMU_DOMAIN_DMA) {
		err = uio_dma_domain_init(dom);
		if (err)
			goto err_driver_free;
	}
	trace_iommu_domain_alloc(dom->id, domain_type_names[type]);
	*out = dom;
	return 0;

err_driver_free:
	dom->hw.ops->free(dom);
err_free_dom:
	uio_mutex_destroy(&dom->lock);
	uio_delete(dom);
	return err;
}

static void domain_destroy(struct uiommu_domain *dom)
{
	assert(!dom->ngroups);
	uio_lock(&dom->lock);
	uio_msi_domain_teardown(dom);
	if (dom->next) {
		/* Leftover owner mappings: unmap and invalidate them. */
		struct uiommu_iotlb_gather g;
		size_t i;

		uiommu_iotlb_gather_init(&g);
		for (i = 0; i < dom->next; i++)
			unmap_pages(dom, dom->ext[i].first,
				    dom->ext[i].last - dom->ext[i].first + 1, &g);
		uio_domain_iotlb_sync(dom, &g);
	}
	if (dom->type == UIOMMU_DOMAIN_DMA)
		uio_dma_domain_fini(dom);
	uio_unlock(&dom->lock);
	dom->hw.ops->free(dom);
	if (dom->ext)
		uio_free_array(dom->ext, dom->ext_cap, sizeof(*dom->ext));
	if (dom->groups)
		uio_free_array(dom->groups, dom->groups_cap,
			       sizeof(*dom->groups));
	uio_resv_list_free(&dom->dma_reserved);
	uio_mutex_destroy(&dom->lock);
	trace_iommu_domain_free(dom->id);
	uio_delete(dom);
}

UIOMMU_API int uiommu_domain_alloc(struct uiommu_device *dev,
				   enum uiommu_domain_type type,
				   struct uiommu_domain **out)
{
	if (!dev || !out)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL device or result");
	if (!dev->iommu)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"%s is not behind an IOMMU", dev->name);
	if ((unsigned int)type > UIOMMU_DOMAIN_UNMANAGED)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "domain type %u unknown",
				type);
	return domain_create(dev->iommu, type, 0, out);
}

UIOMMU_API int uiommu_domain_free(struct uiommu_domain *dom)
{
	if (!dom)
		return 0;
	uio_lock(&dom->lock);
	if (dom->ngroups || dom->default_of) {
		uio_unlock(&dom->lock);
		return uio_fail(-EBUSY, IOMMU_SUBSYS,
				"domain %u is attached to %u groups%s", dom->id,
				dom->ngroups,
				dom->default_of ? " (a default domain)" : "");
	}
	uio_unlock(&dom->lock);
	domain_destroy(dom);
	return 0;
}

UIOMMU_API void uiommu_domain_get_info(struct uiommu_domain *dom,
				       struct uiommu_domain_info *info)
{
	uio_lock(&dom->lock);
	info->type = dom->type;
	info->id = dom->id;
	info->aperture_start = dom->hw.aperture_start;
	info->aperture_last = dom->hw.aperture_last;
	info->pgsize_bitmap = dom->hw.pgsize_bitmap;
	info->groups = dom->ngroups;
	info->mapped_bytes = dom->mapped_bytes;
	uio_unlock(&dom->lock);
}

UIOMMU_API const struct uiommu_pgtable *
uiommu_domain_pgtable(struct uiommu_domain *dom)
{
	if (!dom || !domain_translates(dom) || !dom->hw.ops->pgtable)
		return NULL;
	return dom->hw.ops->pgtable(dom);
}

UIOMMU_API struct uiommu_iova_domain *
uiommu_domain_iova_domain(struct uiommu_domain *dom)
{
	/* Set once when a DMA domain is allocated, never changed after. */
	return dom && dom->type == UIOMMU_DOMAIN_DMA ? dom->iovad : NULL;
}

UIOMMU_API void *uiommu_domain_driver_data(const struct uiommu_domain *dom)
{
	return dom->hw.priv;
}

UIOMMU_API enum uiommu_domain_type
uiommu_domain_type(const struct uiommu_domain *dom)
{
	return dom->type;
}

static int check_map_args(struct uiommu_domain *dom, uint64_t iova,
			  uint64_t size, const char *op)
{
	if (!dom)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "%s: NULL domain", op);
	if (dom->type != UIOMMU_DOMAIN_UNMANAGED)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"%s: domain %u is %s, not unmanaged", op,
				dom->id, domain_type_names[dom->type]);
	if (!size || !uio_is_aligned(iova | size, dom->granule))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"%s: iova 0x%" PRIx64 " size 0x%" PRIx64
				" not aligned to 0x%" PRIx64, op, iova, size,
				dom->granule);
	if (iova < dom->hw.aperture_start || iova + size - 1 < iova ||
	    iova + size - 1 > dom->hw.aperture_last)
		return uio_fail(-ERANGE, IOMMU_SUBSYS,
				"%s: [0x%" PRIx64 ", 0x%" PRIx64 "] outside "
				"the aperture [0x%" PRIx64 ", 0x%" PRIx64 "]",
				op, iova, iova + size - 1,
				dom->hw.aperture_start, dom->hw.aperture_last);
	return 0;
}

/* -EINVAL naming the reserved region or window [@first, @last] hits. */
static int resv_conflict(struct uiommu_domain *dom, uint64_t first,
			 uint64_t last)
{
	const struct uiommu_resv_region *r;
	uint64_t ws, wl;

	r = uio_domain_resv_overlap(dom, first, last);
	if (r)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"domain %u: [0x%" PRIx64 ", 0x%" PRIx64 "] is "
				"inside %s region [0x%" PRIx64 ", 0x%" PRIx64
				"]", dom->id, first, last,
				uiommu_resv_type_name(r->type), r->start,
				r->last);
	if (dom->win_explicit && uio_msi_window(dom, &ws, &wl) &&
	    uio_ranges_overlap(first, last, ws, wl))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"domain %u: [0x%" PRIx64 ", 0x%" PRIx64 "] is "
				"inside the MSI window [0x%" PRIx64 ", 0x%"
				PRIx64 "]", dom->id, first, last, ws, wl);
	return 0;
}

UIOMMU_API int uiommu_map(struct uiommu_domain *dom, uint64_t iova,
			  uint64_t pa, uint64_t size, unsigned int prot)
{
	int err;

	err = check_map_args(dom, iova, size, "map");
	if (err)
		return err;
	if (!uio_is_aligned(pa, dom->granule) || pa + size - 1 < pa)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"map: pa 0x%" PRIx64 " not aligned to 0x%"
				PRIx64 " or wraps", pa, dom->granule);
	if (prot & ~UIOMMU_PROT_ALL ||
	    !(prot & (UIOMMU_PROT_READ | UIOMMU_PROT_WRITE)))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"map: prot 0x%x needs read or write", prot);
	uio_lock(&dom->lock);
	err = resv_conflict(dom, iova, iova + size - 1);
	if (err)
		goto out_unlock;
	if (uio_domain_ext_overlaps(dom, iova, iova + size - 1)) {
		err = uio_fail(-EEXIST, IOMMU_SUBSYS,
			       "map: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps "
			       "a mapping of domain %u", iova, iova + size - 1,
			       dom->id);
		goto out_unlock;
	}
	err = uio_domain_ext_reserve(dom, 1);
	if (!err)
		err = uio_domain_map_locked(dom, iova, pa, size, prot, true);
	debug_check_domain(dom);
out_unlock:
	uio_unlock(&dom->lock);
	return err;
}

UIOMMU_API int uiommu_unmap(struct uiommu_domain *dom, uint64_t iova,
			    uint64_t size, uint64_t *unmapped)
{
	struct uiommu_iotlb_gather g;
	uint64_t last, done_last = 0, total = 0;
	size_t i;
	int err;

	err = check_map_args(dom, iova, size, "unmap");
	if (err)
		return err;
	last = iova + size - 1;
	uio_lock(&dom->lock);
	/* A hole punched in one extent splits it: room for one more. */
	err = uio_domain_ext_reserve(dom, 1);
	if (err)
		goto out_unlock;
	uiommu_iotlb_gather_init(&g);
	for (i = ext_search(dom, iova); i < dom->next; i++) {
		struct map_extent *e = &dom->ext[i];
		uint64_t lo = e->first > iova ? e->first : iova;
		uint64_t hi = e->last < last ? e->last : last;

		if (e->first > last)
			break;
		if (unmap_pages(dom, lo, hi - lo + 1, &g) != hi - lo + 1) {
			err = uio_fail(-EINVAL, IOMMU_SUBSYS,
				       "unmap: [0x%" PRIx64 ", 0x%" PRIx64 "] "
				       "splits a larger page", lo, hi);
			break;
		}
		total += hi - lo + 1;
		done_last = hi;
	}
	uio_domain_iotlb_sync(dom, &g);
	/* Forget what was unmapped, up to a piece the driver refused. */
	if (total)
		uio_domain_ext_remove(dom, iova, done_last);
	debug_check_domain(dom);
out_unlock:
	uio_unlock(&dom->lock);
	if (unmapped)
		*unmapped = total;
	return err;
}

UIOMMU_API int uiommu_iova_to_phys(struct uiommu_domain *dom, uint64_t iova,
				   uint64_t *pa)
{
	int err;

	if (!dom || !pa)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL domain or result");
	if (dom->type == UIOMMU_DOMAIN_IDENTITY) {
		*pa = iova;
		return 0;
	}
	if (dom->type == UIOMMU_DOMAIN_BLOCKED)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"domain %u blocks all DMA", dom->id);
	uio_lock(&dom->lock);
	err = dom->hw.ops->iova_to_phys(dom, iova, pa);
	uio_unlock(&dom->lock);
	return err;
}

UIOMMU_API int uiommu_domain_check(struct uiommu_domain *dom)
{
	uint64_t bytes = 0;
	unsigned int g;
	size_t i;
	int err = 0;
	bool locked = false;

#if UIOMMU_DEBUG
	locked = __atomic_load_n(&dom->lock.held, __ATOMIC_RELAXED) &&
		 pthread_equal(dom->lock.owner, pthread_self());
#endif
	if (!locked)
		uio_lock(&dom->lock);
	for (i = 0; i < dom->next && !err; i++) {
		const struct map_extent *e = &dom->ext[i];

		if (e->last < e->first ||
		    (i && e->first <= dom->ext[i - 1].last))
			err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
				       "domain %u: extent %zu [0x%" PRIx64
				       ", 0x%" PRIx64 "] unsorted or empty",
				       dom->id, i, e->first, e->last);
		else if (e->first < dom->hw.aperture_start ||
			 e->last > dom->hw.aperture_last)
			err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
				       "domain %u: extent %zu outside aperture",
				       dom->id, i);
		bytes += e->last - e->first + 1;
	}
	if (!err && bytes != dom->mapped_bytes)
		err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
			       "domain %u: mapped_bytes 0x%" PRIx64 " != 0x%"
			       PRIx64, dom->id, dom->mapped_bytes, bytes);
	for (g = 0; g < dom->ngroups && !err; g++)
		if (dom->groups[g]->iommu != dom->iommu)
			err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
				       "domain %u: group %u of another IOMMU",
				       dom->id, dom->groups[g]->id);
	if (!err && dom->type == UIOMMU_DOMAIN_UNMANAGED)
		for (i = 0; i < dom->next && !err; i++) {
			const struct uiommu_resv_region *r =
				uio_domain_resv_overlap(dom, dom->ext[i].first,
							dom->ext[i].last);
			if (r)
				err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
					       "domain %u: mapping inside "
					       "reserved region 0x%" PRIx64,
					       dom->id, r->start);
		}
	if (!err)
		err = uio_msi_domain_check(dom);
	if (!locked)
		uio_unlock(&dom->lock);
	return err;
}

/* ------------------------------------------------------------------ faults */

UIOMMU_API void uiommu_domain_set_fault_handler(struct uiommu_domain *dom,
						uiommu_fault_handler fn,
						void *opaque)
{
	uio_lock(&dom->lock);
	dom->fault_fn = fn;
	dom->fault_opaque = fn ? opaque : NULL;
	uio_unlock(&dom->lock);
}

UIOMMU_API int uiommu_report_fault(struct uiommu_domain *dom,
				   const struct uiommu_fault *fault)
{
	uiommu_fault_handler fn;
	void *opaque;

	if (!dom || !fault)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL domain or fault");
	trace_iommu_fault(dom->id, fault->source_id, fault->iova,
			  fault->flags, (unsigned int)fault->reason);
	uio_lock(&dom->lock);
	fn = dom->fault_fn;
	opaque = dom->fault_opaque;
	uio_unlock(&dom->lock);
	if (!fn) {
		uio_warn(IOMMU_SUBSYS,
			 "unhandled fault in domain %u: source 0x%x iova 0x%"
			 PRIx64 " flags 0x%x reason %u", dom->id,
			 fault->source_id, fault->iova, fault->flags,
			 (unsigned int)fault->reason);
		return -ENOENT;
	}
	return fn(opaque, dom, fault);
}

/* ------------------------------------------------------ groups and attach */

UIOMMU_API int uiommu_group_alloc(struct uiommu_iommu *iommu,
				  struct uiommu_group **out)
{
	struct uiommu_group *group;

	if (!iommu || !out)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL IOMMU or result");
	group = uio_new(struct uiommu_group);
	if (!group)
		return -ENOMEM;
	group->iommu = iommu;
	uio_mutex_init(&group->lock);
	uio_resv_list_init(&group->resv);
	*out = group;
	return 0;
}

UIOMMU_API int uiommu_generic_device_group(struct uiommu_iommu *iommu,
					   struct uiommu_device *dev,
					   struct uiommu_group **out)
{
	(void)dev;
	return uiommu_group_alloc(iommu, out);
}

static bool pci_rid_in(uint16_t rid, const uint16_t *list, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (list[i] == rid)
			return true;
	return false;
}

/* Bus and device number equal: two functions of one device. */
static bool pci_same_slot(uint16_t a, uint16_t b)
{
	return (a >> 3) == (b >> 3);
}

UIOMMU_API int uiommu_pci_device_group(struct uiommu_iommu *iommu,
				       struct uiommu_device *dev,
				       struct uiommu_group **out)
{
	struct uiommu_device *o;

	uio_assert_held(&core_lock);
	if (!dev->pci)
		return uiommu_group_alloc(iommu, out);
	for (o = iommu->devices; o; o = o->iommu_next) {
		if (!o->pci || o == dev)
			continue;
		if (pci_rid_in(o->pci_rid, dev->pci_aliases,
			       dev->npci_aliases) ||
		    pci_rid_in(dev->pci_rid, o->pci_aliases,
			       o->npci_aliases) ||
		    (pci_same_slot(o->pci_rid, dev->pci_rid) &&
		     (!o->pci_acs || !dev->pci_acs))) {
			*out = o->group;
			return 0;
		}
	}
	return uiommu_group_alloc(iommu, out);
}

static void group_free(struct uiommu_group *group)
{
	assert(!group->ndevices);
	uio_resv_list_free(&group->resv);
	uio_mutex_destroy(&group->lock);
	uio_delete(group);
}

UIOMMU_API unsigned int uiommu_group_id(const struct uiommu_group *group)
{
	return group->id;
}

UIOMMU_API struct uiommu_domain *
uiommu_group_domain(struct uiommu_group *group)
{
	struct uiommu_domain *dom;

	uio_lock(&group->lock);
	dom = group->domain;
	uio_unlock(&group->lock);
	return dom;
}

UIOMMU_API struct uiommu_domain *
uiommu_group_default_domain(struct uiommu_group *group)
{
	return group->default_domain;
}

UIOMMU_API int
uiommu_group_for_each_device(struct uiommu_group *group,
			     int (*fn)(void *opaque, struct uiommu_device *dev),
			     void *opaque)
{
	struct uiommu_device *dev;
	int ret = 0;

	uio_lock(&group->lock);
	for (dev = group->devices; dev && !ret; dev = dev->group_next)
		ret = fn(opaque, dev);
	uio_unlock(&group->lock);
	return ret;
}

/* Merged regions of the group's devices, plus @extra if not NULL. */
static int group_build_resv(struct uiommu_group *group,
			    struct uiommu_device *extra,
			    struct uiommu_device *without,
			    struct uiommu_resv_list *out)
{
	struct uiommu_device *dev;
	int err = 0;

	uio_resv_list_init(out);
	for (dev = group->devices; dev && !err; dev = dev->group_next)
		if (dev != without)
			err = uio_resv_list_merge(out, &dev->resv);
	if (!err && extra)
		err = uio_resv_list_merge(out, &extra->resv);
	if (err)
		uio_resv_list_free(out);
	return err;
}

/*
 * Apply the regions @resv of a group to @dom before the group (or a new
 * device of it) is attached: in an unmanaged domain nothing may overlap a
 * mapping or the registered window; in a DMA domain the regions leave the
 * allocator and direct regions are identity-mapped.  @direct_done collects
 * the direct ranges mapped here so that a later failure can undo them.
 */
static int domain_apply_resv(struct uiommu_domain *dom,
			     const struct uiommu_resv_list *resv,
			     struct uiommu_resv_list *direct_done)
{
	uint64_t ws, wl;
	size_t i;
	int err;

	uio_assert_held(&dom->lock);
	for (i = 0; i < resv->n; i++) {
		const struct uiommu_resv_region *r = &resv->r[i];

		if (!uio_resv_applies(dom, r))
			continue;
		if (dom->type == UIOMMU_DOMAIN_UNMANAGED &&
		    (uio_domain_ext_overlaps(dom, r->start, r->last) ||
		     (dom->win_explicit && uio_msi_window(dom, &ws, &wl) &&
		      uio_ranges_overlap(r->start, r->last, ws, wl))))
			return uio_fail(-EEXIST, IOMMU_SUBSYS,
					"domain %u: %s region [0x%" PRIx64
					", 0x%" PRIx64 "] overlaps a mapping or "
					"the MSI window", dom->id,
					uiommu_resv_type_name(r->type),
					r->start, r->last);
	}
	if (dom->type != UIOMMU_DOMAIN_DMA)
		return 0;
	err = uio_dma_domain_reserve(dom, resv);
	if (err)
		return err;
	for (i = 0; i < resv->n; i++) {
		const struct uiommu_resv_region *r = &resv->r[i];
		uint64_t first = uio_align_down(r->start, dom->granule);
		uint64_t last = uio_align_up(r->last + 1, dom->granule) - 1;

		if (r->type != UIOMMU_RESV_DIRECT &&
		    r->type != UIOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		if (uio_domain_ext_overlaps(dom, first, last))
			continue;	/* mapped by an earlier attach */
		err = uio_domain_ext_reserve(dom, 1);
		if (!err)
			err = uio_resv_list_insert(direct_done, r);
		if (!err)
			err = uio_domain_map_locked(dom, first, first,
						    last - first + 1,
						    r->prot ? r->prot :
						    UIOMMU_PROT_READ |
						    UIOMMU_PROT_WRITE, true);
		if (err)
			return err;
	}
	return 0;
}

static void domain_undo_direct(struct uiommu_domain *dom,
			       struct uiommu_resv_list *direct_done)
{
	size_t i;

	for (i = 0; i < direct_done->n; i++) {
		uint64_t first = uio_align_down(direct_done->r[i].start,
						dom->granule);
		uint64_t last = uio_align_up(direct_done->r[i].last + 1,
					     dom->granule) - 1;

		if (!uio_domain_ext_overlaps(dom, first, last))
			continue;	/* the failing one was never mapped */
		uio_domain_unmap_locked(dom, first, last - first + 1, true);
		uio_domain_ext_remove(dom, first, last);
	}
	uio_resv_list_free(direct_done);
}

static int domain_groups_reserve(struct uiommu_domain *dom)
{
	uio_assert_held(&dom->lock);
	return uio_array_grow((void **)&dom->groups, &dom->groups_cap,
			      dom->ngroups, dom->ngroups + 1,
			      sizeof(*dom->groups), 2);
}

static void domain_remove_group(struct uiommu_domain *dom,
				struct uiommu_group *group)
{
	unsigned int i;

	uio_assert_held(&dom->lock);
	for (i = 0; i < dom->ngroups; i++)
		if (dom->groups[i] == group) {
			dom->groups[i] = dom->groups[--dom->ngroups];
			return;
		}
	assert(0 && "group not attached");
}

/* A live vector's binding in the new domain, prepared before the commit. */
struct vec_move {
	struct uiommu_msi_vector *vec;
	struct msi_binding *b;
	uint64_t xlate;
};

static size_t group_count_vectors(struct uiommu_group *group)
{
	struct uiommu_device *dev;
	size_t n = 0;

	for (dev = group->devices; dev; dev = dev->group_next)
		n += dev->nvectors;
	return n;
}

static void unbind_moves(struct uiommu_domain *dom, struct vec_move *mv,
			 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mv[i].b)
			uio_msi_unbind(dom, mv[i].b);
}

/* Check, reserve and bind everything @group needs in @dom; under dom->lock. */
static int attach_prepare(struct uiommu_domain *dom, struct uiommu_group *group,
			  struct vec_move *mv, size_t nmv,
			  struct uiommu_resv_list *direct_done)
{
	struct uiommu_device *dev;
	struct uiommu_msi_vector *v;
	size_t n = 0;
	int err;

	err = domain_groups_reserve(dom);
	if (err)
		return err;
	dom->groups[dom->ngroups++] = group;
	err = domain_apply_resv(dom, &group->resv, direct_done);
	if (err)
		goto err_remove_group;
	for (dev = group->devices; dev; dev = dev->group_next)
		for (v = dev->vectors; v; v = v->next) {
			assert(n < nmv);
			mv[n].vec = v;
			err = uio_msi_bind(dom, dev, v->doorbell_pa, &mv[n].b,
					   &mv[n].xlate);
			if (err)
				goto err_unbind;
			n++;
		}
	return 0;

err_unbind:
	unbind_moves(dom, mv, n);
	domain_undo_direct(dom, direct_done);
err_remove_group:
	domain_remove_group(dom, group);
	return err;
}

/* Hold (or release) the live vectors that asked for it around a move. */
static void quiesce_moves(struct vec_move *mv, size_t n, bool hold)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mv[i].vec->quiesce)
			mv[i].vec->quiesce(mv[i].vec->opaque, mv[i].vec, hold);
}

static int group_attach_locked(struct uiommu_group *group,
			       struct uiommu_domain *dom)
{
	struct uiommu_domain *old = group->domain;
	struct uiommu_resv_list direct_done;
	struct uiommu_device *dev, *d2;
	struct vec_move *mv = NULL;
	size_t nmv, i;
	int err;

	uio_assert_held(&group->lock);
	if (dom == old)
		return 0;
	nmv = group_count_vectors(group);
	if (nmv) {
		mv = uio_calloc(nmv, sizeof(*mv));
		if (!mv)
			return -ENOMEM;
	}
	uio_resv_list_init(&direct_done);
	uio_lock(&dom->lock);
	err = attach_prepare(dom, group, mv, nmv, &direct_done);
	uio_unlock(&dom->lock);
	if (err)
		goto out_free;
	quiesce_moves(mv, nmv, true);
	for (dev = group->devices; dev; dev = dev->group_next) {
		err = dom->hw.ops->attach_dev(dom, dev);
		if (err)
			goto err_reattach;
	}
	/* Commit: the group now translates through @dom. */
	group->domain = dom;
	for (i = 0; i < nmv; i++) {
		struct uiommu_msi_vector *v = mv[i].vec;
		struct msi_binding *ob = v->binding;

		v->binding = mv[i].b;
		v->dom = dom;
		atomic_store_explicit(&v->xlate, mv[i].xlate,
				      memory_order_release);
		if (v->rewrite)
			v->rewrite(v->opaque, v);
		mv[i].b = ob;	/* to release in the old domain */
	}
	uio_lock(&old->lock);
	unbind_moves(old, mv, nmv);
	domain_remove_group(old, group);
	debug_check_domain(old);
	uio_unlock(&old->lock);
	uio_resv_list_free(&direct_done);
	trace_iommu_attach(group->id, old->id, dom->id);
	uio_info(IOMMU_SUBSYS, "group %u: domain %u -> %u (%s), %zu MSI vectors "
		 "moved", group->id, old->id, dom->id,
		 domain_type_names[dom->type], nmv);
	goto out_free;

err_reattach:
	for (d2 = group->devices; d2 != dev; d2 = d2->group_next) {
		int e2 = old->hw.ops->attach_dev(old, d2);

		assert(!e2);	/* the old domain held it a moment ago */
		(void)e2;
	}
	quiesce_moves(mv, nmv, false);
	uio_lock(&dom->lock);
	unbind_moves(dom, mv, nmv);
	domain_undo_direct(dom, &direct_done);
	domain_remove_group(dom, group);
	uio_unlock(&dom->lock);
out_free:
	if (mv)
		uio_free_array(mv, nmv, sizeof(*mv));
	return err;
}

UIOMMU_API int uiommu_group_attach(struct uiommu_group *group,
				   struct uiommu_domain *dom)
{
	int err;

	if (!group || !dom)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL group or domain");
	if (dom->iommu != group->iommu)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"group %u is behind %s, domain %u behind %s",
				group->id, group->iommu->name, dom->id,
				dom->iommu->name);
	uio_lock(&group->lock);
	err = group_attach_locked(group, dom);
	uio_unlock(&group->lock);
	return err;
}

UIOMMU_API int uiommu_group_detach(struct uiommu_group *group)
{
	int err;

	if (!group)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL group");
	uio_lock(&group->lock);
	err = group_attach_locked(group, group->default_domain);
	uio_unlock(&group->lock);
	return err;
}

UIOMMU_API int uiommu_group_check(struct uiommu_group *group)
{
	struct uiommu_device *dev;
	struct uiommu_msi_vector *v;
	unsigned int n = 0;
	int err;

	uio_lock(&group->lock);
	err = uio_resv_list_check(&group->resv, "group");
	for (dev = group->devices; dev && !err; dev = dev->group_next) {
		unsigned int nv = 0;

		n++;
		if (dev->group != group)
			err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
				       "group %u: %s points elsewhere",
				       group->id, dev->name);
		for (v = dev->vectors; v && !err; v = v->next) {
			nv++;
			if (v->dev != dev || v->dom != group->domain ||
			    (v->next && v->next->prev != v))
				err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
					       "group %u: vector of %s "
					       "inconsistent", group->id,
					       dev->name);
		}
		if (!err && nv != dev->nvectors)
			err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
				       "group %u: %s has %u vectors, counted %u",
				       group->id, dev->name, dev->nvectors, nv);
	}
	if (!err && n != group->ndevices)
		err = uio_fail(-EUCLEAN, IOMMU_SUBSYS,
			       "group %u: %u devices, counted %u", group->id,
			       group->ndevices, n);
	uio_unlock(&group->lock);
	return err;
}

/* ------------------------------------------------------------------ devices */

static int validate_device_desc(struct uiommu_iommu *iommu,
				const struct uiommu_device_desc *d)
{
	size_t i;
	int err;

	if (!d || !d->name)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "device without name");
	if ((d->nids && !d->ids) || (iommu && !d->nids))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"%s: an IOMMU needs the device's IDs", d->name);
	if ((d->npci_aliases && !d->pci_aliases) ||
	    (d->nmsi_ctrls && !d->msi_ctrls) || (d->nresv && !d->resv))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"%s: array count without array", d->name);
	for (i = 0; i < d->nmsi_ctrls; i++)
		if (!d->msi_ctrls[i])
			return uio_fail(-EINVAL, IOMMU_SUBSYS,
					"%s: NULL MSI controller", d->name);
	for (i = 0; i < d->nresv; i++) {
		err = uio_resv_region_validate(&d->resv[i]);
		if (err)
			return err;
	}
	return 0;
}

static void device_free(struct uiommu_device *dev)
{
	uio_resv_list_free(&dev->resv);
	if (dev->ids)
		uio_free_array(dev->ids, dev->nids, sizeof(*dev->ids));
	if (dev->pci_aliases)
		uio_free_array(dev->pci_aliases, dev->npci_aliases,
			       sizeof(*dev->pci_aliases));
	if (dev->ctrls)
		uio_free_array(dev->ctrls, dev->nctrls, sizeof(*dev->ctrls));
	uio_free_str(dev->name);
	uio_delete(dev);
}

static void *dup_array(const void *src, size_t n, size_t size, int *err)
{
	void *p;

	if (!n || *err)
		return NULL;
	p = uio_calloc(n, size);
	if (!p)
		*err = -ENOMEM;
	else
		memcpy(p, src, n * size);
	return p;
}

static int device_alloc(struct uiommu_iommu *iommu,
			const struct uiommu_device_desc *d,
			struct uiommu_device **out)
{
	struct uiommu_device *dev;
	size_t i;
	int err = 0;

	dev = uio_new(struct uiommu_device);
	if (!dev)
		return -ENOMEM;
	uio_resv_list_init(&dev->resv);
	dev->iommu = iommu;
	dev->nids = d->nids;
	dev->npci_aliases = d->npci_aliases;
	dev->nctrls = d->nmsi_ctrls;
	dev->pci = d->pci;
	dev->pci_rid = d->pci_rid;
	dev->pci_acs = d->pci_acs;
	atomic_init(&dev->dma_mask, UINT64_MAX);
	dev->name = uio_strdup(d->name);
	if (!dev->name)
		err = -ENOMEM;
	dev->ids = dup_array(d->ids, d->nids, sizeof(*d->ids), &err);
	dev->pci_aliases = dup_array(d->pci_aliases, d->npci_aliases,
				     sizeof(*d->pci_aliases), &err);
	dev->ctrls = dup_array(d->msi_ctrls, d->nmsi_ctrls,
			       sizeof(*d->msi_ctrls), &err);
	for (i = 0; i < d->nresv && !err; i++)
		err = uio_resv_list_insert(&dev->resv, &d->resv[i]);
	for (i = 0; i < d->nmsi_ctrls && !err; i++)
		err = uio_resv_list_merge(&dev->resv, &d->msi_ctrls[i]->resv);
	if (err) {
		device_free(dev);
		return err;
	}
	*out = dev;
	return 0;
}

static struct uiommu_device *device_find_locked(struct uiommu_iommu *iommu,
						uint32_t id);

static int check_ids_free(struct uiommu_iommu *iommu,
			  const struct uiommu_device *dev)
{
	unsigned int i;

	uio_assert_held(&core_lock);
	for (i = 0; i < dev->nids; i++) {
		struct uiommu_device *o = device_find_locked(iommu,
							     dev->ids[i]);

		if (o)
			return uio_fail(-EEXIST, IOMMU_SUBSYS,
					"%s: ID 0x%x already belongs to %s",
					dev->name, dev->ids[i], o->name);
	}
	return 0;
}

static struct uiommu_device *device_find_locked(struct uiommu_iommu *iommu,
						uint32_t id)
{
	struct uiommu_device *dev;
	unsigned int i;

	uio_assert_held(&core_lock);
	for (dev = iommu->devices; dev; dev = dev->iommu_next)
		for (i = 0; i < dev->nids; i++)
			if (dev->ids[i] == id)
				return dev;
	return NULL;
}

UIOMMU_API struct uiommu_device *uiommu_device_find(struct uiommu_iommu *iommu,
						    uint32_t id)
{
	struct uiommu_device *dev;

	uio_lock(&core_lock);
	dev = device_find_locked(iommu, id);
	uio_unlock(&core_lock);
	return dev;
}

/*
 * Put @dev into @group (new when it has no domain yet): regions merged and
 * applied to the group's domain, then the driver's attach.
 */
static int group_add_device(struct uiommu_group *group,
			    struct uiommu_device *dev)
{
	struct uiommu_resv_list resv, direct_done, old_resv;
	struct uiommu_domain *dom;
	int err;

	uio_assert_held(&group->lock);
	err = group_build_resv(group, dev, NULL, &resv);
	if (err)
		return err;
	uio_resv_list_init(&direct_done);
	dom = group->domain;
	uio_lock(&dom->lock);
	if (!group->ndevices) {
		err = domain_groups_reserve(dom);
		if (!err)
			dom->groups[dom->ngroups++] = group;
	}
	old_resv = group->resv;
	group->resv = resv;
	if (!err)
		err = domain_apply_resv(dom, &resv, &direct_done);
	uio_unlock(&dom->lock);
	if (!err)
		err = dom->hw.ops->attach_dev(dom, dev);
	if (err) {
		uio_lock(&dom->lock);
		domain_undo_direct(dom, &direct_done);
		if (!group->ndevices && dom->ngroups &&
		    dom->groups[dom->ngroups - 1] == group)
			domain_remove_group(dom, group);
		uio_unlock(&dom->lock);
		group->resv = old_resv;
		uio_resv_list_free(&resv);
		return err;
	}
	uio_resv_list_free(&old_resv);
	uio_resv_list_free(&direct_done);
	dev->group = group;
	dev->group_next = group->devices;
	group->devices = dev;
	group->ndevices++;
	return 0;
}

/* Give a new group its default domain; under core_lock. */
static int group_init_default(struct uiommu_iommu *iommu,
			      struct uiommu_group *group)
{
	struct uiommu_domain *dom;
	int err;

	err = domain_create(iommu, iommu->default_type, iommu->default_fmt,
			    &dom);
	if (err)
		return err;
	dom->default_of = group;
	group->default_domain = group->domain = dom;
	group->id = next_group_id++;
	return 0;
}

UIOMMU_API int uiommu_device_create(struct uiommu_iommu *iommu,
				    const struct uiommu_device_desc *desc,
				    struct uiommu_device **out)
{
	struct uiommu_group *group = NULL;
	struct uiommu_device *dev;
	unsigned int i;
	bool new_group = false;
	int err;

	if (!out)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL result");
	err = validate_device_desc(iommu, desc);
	if (err)
		return err;
	err = device_alloc(iommu, desc, &dev);
	if (err)
		return err;
	uio_lock(&core_lock);
	if (!iommu)
		goto out_registered;
	err = check_ids_free(iommu, dev);
	if (err)
		goto err_unlock;
	if (iommu->ops->probe_device) {
		err = iommu->ops->probe_device(iommu, dev);
		if (err)
			goto err_unlock;
	}
	if (iommu->ops->get_resv_regions) {
		err = iommu->ops->get_resv_regions(iommu, dev, &dev->resv);
		if (err)
			goto err_release;
	}
	err = iommu->ops->device_group(iommu, dev, &group);
	if (err)
		goto err_release;
	new_group = !group->default_domain;
	if (new_group) {
		err = group_init_default(iommu, group);
		if (err)
			goto err_free_group;
	}
	uio_lock(&group->lock);
	err = group_add_device(group, dev);
	uio_unlock(&group->lock);
	if (err)
		goto err_free_group;
	dev->iommu_next = iommu->devices;
	iommu->devices = dev;
	iommu->ndevices++;
out_registered:
	for (i = 0; i < dev->nctrls; i++)
		dev->ctrls[i]->users++;
	uio_unlock(&core_lock);
	trace_iommu_device_add(dev->name, group ? group->id : UINT32_MAX);
	*out = dev;
	return 0;

err_free_group:
	if (new_group) {
		if (group->default_domain) {
			group->default_domain->default_of = NULL;
			domain_destroy(group->default_domain);
			next_group_id--;
		}
		group_free(group);
	}
err_release:
	if (iommu->ops->release_device)
		iommu->ops->release_device(iommu, dev);
err_unlock:
	uio_unlock(&core_lock);
	device_free(dev);
	return err;
}

static void unlink_device(struct uiommu_device **head,
			  struct uiommu_device *dev, bool group_list)
{
	struct uiommu_device **pp;

	for (pp = head; *pp; pp = group_list ? &(*pp)->group_next :
					      &(*pp)->iommu_next)
		if (*pp == dev) {
			*pp = group_list ? dev->group_next : dev->iommu_next;
			return;
		}
	assert(0 && "device not in list");
}

UIOMMU_API int uiommu_device_destroy(struct uiommu_device *dev)
{
	struct uiommu_group *group;
	struct uiommu_resv_list resv;
	unsigned int i;
	int err = 0;

	if (!dev)
		return 0;
	uio_lock(&core_lock);
	group = dev->group;
	if (group) {
		uio_lock(&group->lock);
		if (dev->nvectors) {
			err = uio_fail(-EBUSY, IOMMU_SUBSYS,
				       "%s still has %u MSI vectors",
				       dev->name, dev->nvectors);
		} else if (group->ndevices == 1 &&
			   group->domain != group->default_domain) {
			/* The last device takes the group out of the owner's
			 * domain: back to the default one, freed below. */
			err = group_attach_locked(group,
						  group->default_domain);
		}
		if (!err)
			err = group_build_resv(group, NULL, dev, &resv);
		if (err) {
			uio_unlock(&group->lock);
			uio_unlock(&core_lock);
			return err;
		}
		unlink_device(&group->devices, dev, true);
		group->ndevices--;
		uio_resv_list_free(&group->resv);
		group->resv = resv;
		uio_unlock(&group->lock);
		unlink_device(&dev->iommu->devices, dev, false);
		dev->iommu->ndevices--;
		if (dev->iommu->ops->release_device)
			dev->iommu->ops->release_device(dev->iommu, dev);
		if (!group->ndevices) {
			struct uiommu_domain *dom = group->default_domain;

			uio_lock(&dom->lock);
			domain_remove_group(dom, group);
			dom->default_of = NULL;
			uio_unlock(&dom->lock);
			domain_destroy(dom);
			group_free(group);
		}
	}
	for (i = 0; i < dev->nctrls; i++)
		dev->ctrls[i]->users--;
	uio_unlock(&core_lock);
	device_free(dev);
	return 0;
}

UIOMMU_API const char *uiommu_device_name(const struct uiommu_device *dev)
{
	return dev->name;
}

UIOMMU_API struct uiommu_group *
uiommu_device_group(const struct uiommu_device *dev)
{
	return dev->group;
}

UIOMMU_API struct uiommu_iommu *
uiommu_device_iommu(const struct uiommu_device *dev)
{
	return dev->iommu;
}

UIOMMU_API const uint32_t *uiommu_device_ids(const struct uiommu_device *dev,
					     unsigned int *nids)
{
	*nids = dev->nids;
	return dev->ids;
}

UIOMMU_API void *uiommu_device_driver_data(const struct uiommu_device *dev)
{
	return dev->driver_data;
}

UIOMMU_API void uiommu_device_set_driver_data(struct uiommu_device *dev,
					      void *data)
{
	dev->driver_data = data;
}

UIOMMU_API int uiommu_device_set_dma_mask(struct uiommu_device *dev,
					  uint64_t mask)
{
	if (!dev || mask < 0xfff || (mask & (mask + 1)))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"DMA mask 0x%" PRIx64 " is not 2^n - 1, n >= 12",
				mask);
	atomic_store(&dev->dma_mask, mask);
	return 0;
}

/*
 * The domain @dev translates through now, locked, with the group locked
 * too (so that it cannot change); NULL without IOMMU (nothing locked).
 * Release with uio_device_domain_unlock().
 */
struct uiommu_domain *uio_device_domain_lock(struct uiommu_device *dev)
{
	struct uiommu_domain *dom;

	if (!dev->group)
		return NULL;
	uio_lock(&dev->group->lock);
	dom = dev->group->domain;
	uio_lock(&dom->lock);
	return dom;
}

void uio_device_domain_unlock(struct uiommu_device *dev,
			      struct uiommu_domain *dom)
{
	if (!dom)
		return;
	uio_unlock(&dom->lock);
	uio_unlock(&dev->group->lock);
}
