// SPDX-License-Identifier: MIT
/*
 * The host-side DMA API over DMA domains.
 *
 * A DMA domain owns an IOVA allocator over its aperture (minus page 0).
 * Reserved regions of attached groups are taken out of it once and stay out
 * (dma_reserved remembers them), direct regions are identity-mapped by the
 * attach (iommu.c).  Buffers get IOVAs top-down under the device's DMA mask.
 *
 * Unmapping is strict (invalidate before returning) or lazy: the IOTLB
 * entries are left to a flush queue of FQ_SIZE entries and the IOVAs return
 * to the allocator only after the flush that follows, so an IOVA is never
 * handed out again while a stale translation for it may exist.
 */
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "iommu-internal.h"
#include "log.h"
#include "trace.h"

int uio_dma_domain_init(struct uiommu_domain *dom)
{
	struct uiommu_iova_config cfg = {
		.start = dom->hw.aperture_start > dom->granule ?
			 uio_align_up(dom->hw.aperture_start, dom->granule) :
			 dom->granule,
		.last = dom->hw.aperture_last,
		.granule = dom->granule,
		.cache_max_order = UIOMMU_IOVA_CACHE_OFF,
	};

	dom->flush_mode = UIOMMU_FLUSH_STRICT;
	return uiommu_iova_domain_create(&cfg, &dom->iovad);
}

static void dma_free_iova(struct uiommu_domain *dom, uint64_t iova)
{
	int err = uiommu_iova_free(dom->iovad, iova);

	assert(!err);	/* only ever called for live allocations */
	(void)err;
}

static void fq_drain(struct uiommu_domain *dom)
{
	unsigned int i;

	uio_assert_held(&dom->lock);
	if (!dom->fq_n)
		return;
	if (dom->hw.ops->flush_iotlb_all) {
		dom->hw.ops->flush_iotlb_all(dom);
	} else {
		struct uiommu_iotlb_gather g;

		uiommu_iotlb_gather_init(&g);
		uiommu_iotlb_gather_add(&g, dom->hw.aperture_start,
					dom->hw.aperture_last -
					dom->hw.aperture_start + 1, 0);
		uio_domain_iotlb_sync(dom, &g);
	}
	for (i = 0; i < dom->fq_n; i++)
		dma_free_iova(dom, dom->fq[i].iova);
	trace_iommu_fq_flush(dom->id, dom->fq_n);
	dom->fq_n = 0;
}

void uio_dma_domain_fini(struct uiommu_domain *dom)
{
	fq_drain(dom);
	uiommu_iova_domain_destroy(dom->iovad);
	dom->iovad = NULL;
}

static bool dma_already_reserved(struct uiommu_domain *dom,
				 const struct uiommu_resv_region *r)
{
	size_t i;

	for (i = 0; i < dom->dma_reserved.n; i++)
		if (dom->dma_reserved.r[i].start <= r->start &&
		    dom->dma_reserved.r[i].last >= r->last)
			return true;
	return false;
}

/*
 * Take the regions of @resv that apply out of the allocator.  Reservations
 * are never given back: a group that leaves and returns finds them in
 * place, and a failed attach leaves at most a smaller IOVA space.
 */
int uio_dma_domain_reserve(struct uiommu_domain *dom,
			   const struct uiommu_resv_list *resv)
{
	struct uiommu_resv_region cover;
	uint64_t first, last;
	size_t i;
	int err;

	uio_assert_held(&dom->lock);
	for (i = 0; i < resv->n; i++) {
		const struct uiommu_resv_region *r = &resv->r[i];

		if (!uio_resv_applies(dom, r) || dma_already_reserved(dom, r))
			continue;
		first = uio_align_down(r->start, dom->granule);
		last = r->last >= UINT64_MAX - dom->granule ? UINT64_MAX :
		       uio_align_up(r->last + 1, dom->granule) - 1;
		if (last < dom->hw.aperture_start || first > dom->hw.aperture_last)
			continue;
		if (first < dom->hw.aperture_start)
			first = dom->hw.aperture_start;
		if (last > dom->hw.aperture_last)
			last = dom->hw.aperture_last;
		/*
		 * Reserve, then record: reserving a reserved range again is
		 * harmless, so a failed record only costs a repeat later.
		 */
		err = uiommu_iova_reserve(dom->iovad, first, last);
		if (err == -EBUSY)
			return uio_fail(-EEXIST, IOMMU_SUBSYS,
					"domain %u: %s region [0x%" PRIx64
					", 0x%" PRIx64 "] overlaps live DMA "
					"mappings", dom->id,
					uiommu_resv_type_name(r->type),
					r->start, r->last);
		if (err)
			return err;
		cover = (struct uiommu_resv_region){
			.start = first, .last = last,
			.type = UIOMMU_RESV_RESERVED,
		};
		err = uio_resv_list_insert(&dom->dma_reserved, &cover);
		if (err)
			return err;
	}
	return 0;
}

static unsigned int dir_prot(enum uiommu_dma_dir dir)
{
	switch (dir) {
	case UIOMMU_DMA_TO_DEVICE:
		return UIOMMU_PROT_READ;
	case UIOMMU_DMA_FROM_DEVICE:
		return UIOMMU_PROT_WRITE;
	default:
		return UIOMMU_PROT_READ | UIOMMU_PROT_WRITE;
	}
}

/* NULL (untranslated) or a locked DMA domain; -EBUSY for the others. */
static int dma_domain_get(struct uiommu_device *dev,
			  struct uiommu_domain **out)
{
	struct uiommu_domain *dom = uio_device_domain_lock(dev);

	*out = NULL;
	if (!dom || dom->type == UIOMMU_DOMAIN_IDENTITY) {
		uio_device_domain_unlock(dev, dom);
		return 0;
	}
	if (dom->type != UIOMMU_DOMAIN_DMA) {
		int err = uio_fail(-EBUSY, IOMMU_SUBSYS,
				   "%s is attached to %s domain %u, not a DMA "
				   "domain", dev->name,
				   dom->type == UIOMMU_DOMAIN_BLOCKED ?
				   "blocked" : "unmanaged", dom->id);

		uio_device_domain_unlock(dev, dom);
		return err;
	}
	*out = dom;
	return 0;
}

/* IOVA for @len bytes under @dev's mask; a full space drains the queue. */
static int dma_alloc_iova(struct uiommu_domain *dom, struct uiommu_device *dev,
			  uint64_t len, uint64_t *iova)
{
	uint64_t limit = atomic_load(&dev->dma_mask);
	int err;

	if (limit > dom->hw.aperture_last)
		limit = dom->hw.aperture_last;
	err = uiommu_iova_alloc(dom->iovad, len, limit, 0, iova);
	if (err == -ENOSPC && dom->fq_n) {
		fq_drain(dom);
		err = uiommu_iova_alloc(dom->iovad, len, limit, 0, iova);
	}
	if (err == -ENOSPC)
		uio_err(IOMMU_SUBSYS, "%s: no IOVA of 0x%" PRIx64 " bytes under "
			"0x%" PRIx64, dev->name, len, limit);
	return err;
}

static int check_dir(enum uiommu_dma_dir dir)
{
	if ((unsigned int)dir > UIOMMU_DMA_FROM_DEVICE)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "DMA direction %u",
				(unsigned int)dir);
	return 0;
}

static int identity_check(struct uiommu_device *dev, uint64_t pa,
			  uint64_t size)
{
	uint64_t mask = atomic_load(&dev->dma_mask);

	if (pa + size - 1 < pa || pa + size - 1 > mask)
		return uio_fail(-ERANGE, IOMMU_SUBSYS,
				"%s: [0x%" PRIx64 ", +0x%" PRIx64 ") beyond DMA "
				"mask 0x%" PRIx64, dev->name, pa, size, mask);
	return 0;
}

UIOMMU_API int uiommu_dma_map_single(struct uiommu_device *dev, uint64_t pa,
				     uint64_t size, enum uiommu_dma_dir dir,
				     uint64_t *dma_addr)
{
	struct uiommu_sg sg = { .pa = pa, .len = size };
	int err;

	if (!dma_addr)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL result");
	err = uiommu_dma_map_sg(dev, &sg, 1, dir);
	if (!err)
		*dma_addr = sg.dma_addr;
	return err;
}

UIOMMU_API int uiommu_dma_unmap_single(struct uiommu_device *dev,
				       uint64_t dma_addr, uint64_t size,
				       enum uiommu_dma_dir dir)
{
	struct uiommu_sg sg = { .pa = dma_addr, .len = size,
				.dma_addr = dma_addr };

	return uiommu_dma_unmap_sg(dev, &sg, 1, dir);
}

/* Bytes of IOVA the list needs: each element padded to whole pages. */
static uint64_t sg_span(const struct uiommu_sg *sg, size_t nents,
			uint64_t granule, bool from_dma)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < nents; i++) {
		uint64_t a = from_dma ? sg[i].dma_addr : sg[i].pa;

		total += uio_align_up((a & (granule - 1)) + sg[i].len, granule);
	}
	return total;
}

static int check_sg(struct uiommu_device *dev, const struct uiommu_sg *sg,
		    size_t nents, enum uiommu_dma_dir dir)
{
	size_t i;

	if (!dev || !sg || !nents)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"DMA: NULL device or empty list");
	for (i = 0; i < nents; i++)
		if (!sg[i].len || sg[i].pa + sg[i].len - 1 < sg[i].pa)
			return uio_fail(-EINVAL, IOMMU_SUBSYS,
					"DMA: element %zu at 0x%" PRIx64
					" length 0x%" PRIx64 " empty or wraps",
					i, sg[i].pa, sg[i].len);
	return check_dir(dir);
}

UIOMMU_API int uiommu_dma_map_sg(struct uiommu_device *dev,
				 struct uiommu_sg *sg, size_t nents,
				 enum uiommu_dma_dir dir)
{
	struct uiommu_domain *dom;
	uint64_t iova, span, cur;
	size_t i;
	int err;

	err = check_sg(dev, sg, nents, dir);
	if (!err)
		err = dma_domain_get(dev, &dom);
	if (err)
		return err;
	if (!dom) {
		for (i = 0; i < nents; i++) {
			err = identity_check(dev, sg[i].pa, sg[i].len);
			if (err)
				return err;
		}
		for (i = 0; i < nents; i++)
			sg[i].dma_addr = sg[i].pa;
		return 0;
	}
	span = sg_span(sg, nents, dom->granule, false);
	err = uio_domain_ext_reserve(dom, 1);
	if (!err)
		err = dma_alloc_iova(dom, dev, span, &iova);
	if (err)
		goto out_unlock;
	for (i = 0, cur = iova; i < nents; i++) {
		uint64_t off = sg[i].pa & (dom->granule - 1);
		uint64_t len = uio_align_up(off + sg[i].len, dom->granule);

		err = uio_domain_map_locked(dom, cur, sg[i].pa - off, len,
					    dir_prot(dir), false);
		if (err) {
			if (cur > iova)
				uio_domain_unmap_locked(dom, iova, cur - iova,
							true);
			dma_free_iova(dom, iova);
			goto out_unlock;
		}
		sg[i].dma_addr = cur + off;
		cur += len;
	}
	/* One record for the whole list: unmap_sg removes it in one go. */
	uio_domain_ext_insert(dom, iova, iova + span - 1);
	trace_iommu_dma_map(dev->name, iova, span);
out_unlock:
	uio_device_domain_unlock(dev, dom);
	return err;
}

UIOMMU_API int uiommu_dma_unmap_sg(struct uiommu_device *dev,
				   struct uiommu_sg *sg, size_t nents,
				   enum uiommu_dma_dir dir)
{
	struct uiommu_domain *dom;
	uint64_t iova, span;
	int err;

	err = check_sg(dev, sg, nents, dir);
	if (!err)
		err = dma_domain_get(dev, &dom);
	if (err || !dom)
		return err;
	iova = uio_align_down(sg[0].dma_addr, dom->granule);
	span = sg_span(sg, nents, dom->granule, true);
	if (!uio_domain_ext_is(dom, iova, iova + span - 1)) {
		err = uio_fail(-ENOENT, IOMMU_SUBSYS,
			       "%s: no DMA mapping [0x%" PRIx64 ", +0x%" PRIx64
			       ") in domain %u", dev->name, iova, span,
			       dom->id);
		goto out_unlock;
	}
	uio_domain_unmap_locked(dom, iova, span,
				dom->flush_mode == UIOMMU_FLUSH_STRICT);
	uio_domain_ext_remove(dom, iova, iova + span - 1);
	trace_iommu_dma_unmap(dev->name, iova, span);
	if (dom->flush_mode == UIOMMU_FLUSH_STRICT) {
		dma_free_iova(dom, iova);
	} else {
		if (dom->fq_n == FQ_SIZE)
			fq_drain(dom);
		dom->fq[dom->fq_n++].iova = iova;
	}
out_unlock:
	uio_device_domain_unlock(dev, dom);
	return err;
}

UIOMMU_API int uiommu_domain_set_flush_mode(struct uiommu_domain *dom,
					    enum uiommu_flush_mode mode)
{
	if (!dom || dom->type != UIOMMU_DOMAIN_DMA)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"flush mode: not a DMA domain");
	if (mode != UIOMMU_FLUSH_STRICT && mode != UIOMMU_FLUSH_LAZY)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "flush mode %u unknown",
				(unsigned int)mode);
	uio_lock(&dom->lock);
	if (mode == UIOMMU_FLUSH_STRICT)
		fq_drain(dom);
	dom->flush_mode = mode;
	uio_unlock(&dom->lock);
	return 0;
}

UIOMMU_API void uiommu_domain_flush_queue(struct uiommu_domain *dom)
{
	if (dom->type != UIOMMU_DOMAIN_DMA)
		return;
	uio_lock(&dom->lock);
	fq_drain(dom);
	uio_unlock(&dom->lock);
}
