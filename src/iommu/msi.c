// SPDX-License-Identifier: MIT
/*
 * MSI doorbells behind a translating IOMMU (the seed's problem, solved in
 * the core so that no driver carries IOVA management).
 *
 * A domain binds each doorbell page at most once: struct msi_binding, keyed
 * by the page's physical address, counts the vectors using it.  In an
 * unmanaged domain the IOVA comes from an allocator over the MSI window (the
 * owner's explicit window, else the sw-msi region of the attached groups),
 * created at the first binding and dropped with the last; in a DMA domain it
 * comes from the domain's own allocator.  Pages are the domain's smallest
 * page size and are mapped write|noexec|mmio.
 *
 * A vector stores the translated doorbell address in one atomic word, so
 * uiommu_msi_compose() neither locks nor allocates.  Moving a group to
 * another domain (iommu.c) binds every live vector there first, swaps the
 * word, lets the MSI layer rewrite the message, then unbinds the old page.
 *
 * Isolation and the exposure report are read-only views of the same state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "iommu-internal.h"
#include "log.h"
#include "trace.h"

#define MSI_PROT (UIOMMU_PROT_WRITE | UIOMMU_PROT_NOEXEC | UIOMMU_PROT_MMIO)

/* The window doorbells are bound into, if @dom has one. */
bool uio_msi_window(struct uiommu_domain *dom, uint64_t *start,
		    uint64_t *last)
{
	unsigned int g;
	size_t i;

	uio_assert_held(&dom->lock);
	if (dom->type != UIOMMU_DOMAIN_UNMANAGED)
		return false;
	if (dom->win_explicit) {
		*start = dom->win_start;
		*last = dom->win_last;
		return true;
	}
	for (g = 0; g < dom->ngroups; g++) {
		const struct uiommu_resv_list *l = &dom->groups[g]->resv;

		for (i = 0; i < l->n; i++)
			if (l->r[i].type == UIOMMU_RESV_SW_MSI) {
				*start = l->r[i].start;
				*last = l->r[i].last;
				return true;
			}
	}
	return false;
}

/*
 * The window allocator works on a mirror image of the window: its top-down
 * order then hands out the window's lowest page first, as Linux's MSI
 * cookie does (one ITS, default window: doorbell page at 0x8000000).
 * The mapping is its own inverse.
 */
static uint64_t win_mirror(const struct uiommu_domain *dom, uint64_t a)
{
	return dom->win_iovad_last + 1 - dom->granule - a;
}

static uint64_t msi_dma_limit(const struct uiommu_domain *dom,
			      struct uiommu_device *dev)
{
	uint64_t limit = atomic_load(&dev->dma_mask);

	if (limit > UINT32_MAX)
		limit = UINT32_MAX;
	if (limit > dom->hw.aperture_last)
		limit = dom->hw.aperture_last;
	return limit;
}

/* IOVA for a new doorbell page in @dom. */
static int msi_alloc_iova(struct uiommu_domain *dom,
			  struct uiommu_device *dev, uint64_t doorbell_pa,
			  uint64_t *iova, bool *in_window)
{
	uint64_t ws, wl, limit;
	int err;

	if (dom->type == UIOMMU_DOMAIN_DMA) {
		/* Under 4 GiB, so that every device of the domain with a
		 * 32-bit or wider mask can reach the shared page. */
		limit = msi_dma_limit(dom, dev);
		*in_window = false;
		err = uiommu_iova_alloc(dom->iovad, dom->granule, limit, 0,
					iova);
		if (err)
			return uio_fail(err, IOMMU_SUBSYS,
					"domain %u: no IOVA for doorbell 0x%"
					PRIx64 " under 0x%" PRIx64, dom->id,
					doorbell_pa, limit);
		return 0;
	}
	if (!uio_msi_window(dom, &ws, &wl))
		return uio_fail(-ENOSPC, IOMMU_SUBSYS,
				"domain %u has no MSI window for doorbell 0x%"
				PRIx64, dom->id, doorbell_pa);
	*in_window = true;
	if (!dom->win_iovad) {
		uint64_t first = uio_align_up(ws, dom->granule);
		uint64_t last = uio_align_up(wl + 1, dom->granule) - 1;
		struct uiommu_iova_config cfg = {
			.start = 0,
			.last = last - first,
			.granule = dom->granule,
			.cache_max_order = UIOMMU_IOVA_CACHE_OFF,
		};

		if (last < first)
			return uio_fail(-ENOSPC, IOMMU_SUBSYS,
					"domain %u: MSI window [0x%" PRIx64
					", 0x%" PRIx64 "] holds no 0x%" PRIx64
					" page", dom->id, ws, wl, dom->granule);
		err = uiommu_iova_domain_create(&cfg, &dom->win_iovad);
		if (err)
			return err;
		dom->win_iovad_start = first;
		dom->win_iovad_last = last;
	}
	err = uiommu_iova_alloc(dom->win_iovad, dom->granule,
				dom->win_iovad_last - dom->win_iovad_start, 0,
				iova);
	if (!err)
		*iova = win_mirror(dom, *iova);
	if (err == -ENOSPC)
		uio_err(IOMMU_SUBSYS, "domain %u: MSI window [0x%" PRIx64
			", 0x%" PRIx64 "] is full (%u doorbell pages)",
			dom->id, dom->win_iovad_start, dom->win_iovad_last,
			dom->nbindings);
	return err;
}

static void msi_free_iova(struct uiommu_domain *dom, uint64_t iova,
			  bool in_window)
{
	int err;

	if (in_window) {
		err = uiommu_iova_free(dom->win_iovad, win_mirror(dom, iova));
		if (!dom->nbindings) {
			uiommu_iova_domain_destroy(dom->win_iovad);
			dom->win_iovad = NULL;
		}
	} else {
		err = uiommu_iova_free(dom->iovad, iova);
	}
	assert(!err);
	(void)err;
}

int uio_msi_bind(struct uiommu_domain *dom, struct uiommu_device *dev,
		 uint64_t doorbell_pa, struct msi_binding **out,
		 uint64_t *xlate)
{
	struct msi_binding *b;
	uint64_t page;
	int err;

	uio_assert_held(&dom->lock);
	*out = NULL;
	*xlate = doorbell_pa;
	if (dom->type != UIOMMU_DOMAIN_DMA &&
	    dom->type != UIOMMU_DOMAIN_UNMANAGED)
		return 0;	/* untranslated (identity) or all blocked */
	/* Reuse first: the common case, and a bound page is never one that a
	 * hardware window covers, so the region scan below is skipped. */
	page = uio_align_down(doorbell_pa, dom->granule);
	for (b = dom->bindings; b; b = b->next)
		if (b->pa_page == page)
			goto found;
	if (uio_domain_resv_find(dom, UIOMMU_RESV_MSI, doorbell_pa))
		return 0;	/* a hardware MSI window bypasses translation */
	b = uio_new(struct msi_binding);
	if (!b)
		return -ENOMEM;
	err = msi_alloc_iova(dom, dev, doorbell_pa, &b->iova, &b->in_window);
	if (err)
		goto err_free_binding;
	err = uio_domain_map_locked(dom, b->iova, page, dom->granule, MSI_PROT,
				    false);
	if (err)
		goto err_free_iova;
	b->pa_page = page;
	b->size = dom->granule;
	b->doorbell_pa = doorbell_pa;
	b->next = dom->bindings;
	dom->bindings = b;
	dom->nbindings++;
	trace_iommu_msi_bind(dom->id, page, b->iova);
found:
	if (!b->in_window && b->iova + b->size - 1 > msi_dma_limit(dom, dev))
		return uio_fail(-ERANGE, IOMMU_SUBSYS,
				"%s: doorbell page IOVA 0x%" PRIx64 " beyond "
				"its DMA mask", dev->name, b->iova);
	b->refs++;
	dom->nvec_refs++;
	*out = b;
	*xlate = b->iova + (doorbell_pa - page);
	return 0;

err_free_iova:
	msi_free_iova(dom, b->iova, b->in_window);
err_free_binding:
	if (dom->win_iovad && !dom->nbindings) {
		uiommu_iova_domain_destroy(dom->win_iovad);
		dom->win_iovad = NULL;
	}
	uio_delete(b);
	return err;
}

void uio_msi_unbind(struct uiommu_domain *dom, struct msi_binding *b)
{
	struct msi_binding **pp;

	uio_assert_held(&dom->lock);
	assert(b->refs && dom->nvec_refs);
	dom->nvec_refs--;
	if (--b->refs)
		return;
	for (pp = &dom->bindings; *pp != b; pp = &(*pp)->next)
		assert(*pp);
	*pp = b->next;
	dom->nbindings--;
	uio_domain_unmap_locked(dom, b->iova, b->size, true);
	trace_iommu_msi_unbind(dom->id, b->pa_page, b->iova);
	msi_free_iova(dom, b->iova, b->in_window);
	uio_delete(b);
}

/* Domain free: vectors moved with their groups, so normally nothing left. */
void uio_msi_domain_teardown(struct uiommu_domain *dom)
{
	uio_assert_held(&dom->lock);
	while (dom->bindings) {
		struct msi_binding *b = dom->bindings;

		uio_warn(IOMMU_SUBSYS, "domain %u freed with doorbell 0x%" PRIx64
			 " bound (%lu refs)", dom->id, b->pa_page, b->refs);
		dom->nvec_refs -= b->refs - 1;
		b->refs = 1;
		uio_msi_unbind(dom, b);
	}
	if (dom->win_iovad) {
		uiommu_iova_domain_destroy(dom->win_iovad);
		dom->win_iovad = NULL;
	}
}

int uio_msi_domain_check(struct uiommu_domain *dom)
{
	const struct msi_binding *b, *o;
	unsigned long refs = 0;
	unsigned int n = 0;

	uio_assert_held(&dom->lock);
	for (b = dom->bindings; b; b = b->next) {
		n++;
		refs += b->refs;
		if (!b->refs || !uio_is_aligned(b->pa_page | b->iova, b->size))
			return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
					"domain %u: binding of 0x%" PRIx64
					" has no refs or is misaligned",
					dom->id, b->pa_page);
		if (b->in_window && (!dom->win_iovad ||
				     b->iova < dom->win_iovad_start ||
				     b->iova + b->size - 1 > dom->win_iovad_last))
			return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
					"domain %u: doorbell IOVA 0x%" PRIx64
					" outside the MSI window", dom->id,
					b->iova);
		for (o = b->next; o; o = o->next)
			if (o->pa_page == b->pa_page ||
			    uio_ranges_overlap(o->iova, o->iova + o->size - 1,
					       b->iova, b->iova + b->size - 1))
				return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
						"domain %u: doorbell page 0x%"
						PRIx64 " bound twice", dom->id,
						b->pa_page);
	}
	if (n != dom->nbindings || refs != dom->nvec_refs)
		return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
				"domain %u: %u bindings / %lu refs, counted %u "
				"/ %lu", dom->id, dom->nbindings,
				dom->nvec_refs, n, refs);
	if (dom->win_iovad && !dom->nbindings)
		return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
				"domain %u: window allocator without bindings",
				dom->id);
	return 0;
}

/* ---------------------------------------------------------------- vectors */

UIOMMU_API int uiommu_msi_prepare(struct uiommu_device *dev,
				  uint64_t doorbell_pa,
				  uiommu_msi_rewrite_fn rewrite, void *opaque,
				  struct uiommu_msi_vector **out)
{
	struct uiommu_msi_vector *v;
	struct uiommu_domain *dom;
	struct msi_binding *b = NULL;
	uint64_t xlate = doorbell_pa;
	int err = 0;

	if (!dev || !out)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"MSI prepare: NULL device or result");
	v = uio_new(struct uiommu_msi_vector);
	if (!v)
		return -ENOMEM;
	v->dev = dev;
	v->doorbell_pa = doorbell_pa;
	v->rewrite = rewrite;
	v->opaque = opaque;
	dom = uio_device_domain_lock(dev);
	if (dom) {
		err = uio_msi_bind(dom, dev, doorbell_pa, &b, &xlate);
		if (!err) {
			v->dom = dom;
			v->binding = b;
			v->next = dev->vectors;
			if (dev->vectors)
				dev->vectors->prev = v;
			dev->vectors = v;
			dev->nvectors++;
		}
		uio_device_domain_unlock(dev, dom);
	}
	if (err) {
		uio_delete(v);
		return err;
	}
	atomic_store_explicit(&v->xlate, xlate, memory_order_release);
	*out = v;
	return 0;
}

UIOMMU_API int uiommu_msi_compose(const struct uiommu_msi_vector *vec,
				  struct uiommu_msi_msg *msg)
{
	uint64_t xlate;

	/* Any granule is at least 4 KiB: the doorbell's 4 KiB page is bound. */
	if (uio_unlikely((msg->address ^ vec->doorbell_pa) & ~UINT64_C(0xfff)))
		return -EINVAL;
	xlate = atomic_load_explicit(&((struct uiommu_msi_vector *)vec)->xlate,
				     memory_order_acquire);
	msg->address = xlate + (msg->address - vec->doorbell_pa);
	return 0;
}

UIOMMU_API void uiommu_msi_set_quiesce(struct uiommu_msi_vector *vec,
				       uiommu_msi_quiesce_fn fn)
{
	struct uiommu_device *dev = vec->dev;

	/* Moves read the callback with the group locked. */
	if (dev->group)
		uio_lock(&dev->group->lock);
	vec->quiesce = fn;
	if (dev->group)
		uio_unlock(&dev->group->lock);
}

UIOMMU_API uint64_t uiommu_msi_vector_iova(const struct uiommu_msi_vector *vec)
{
	return atomic_load_explicit(&((struct uiommu_msi_vector *)vec)->xlate,
				    memory_order_acquire);
}

UIOMMU_API void uiommu_msi_release(struct uiommu_msi_vector *v)
{
	struct uiommu_device *dev;
	struct uiommu_domain *dom;

	if (!v)
		return;
	dev = v->dev;
	dom = uio_device_domain_lock(dev);
	if (dom) {
		assert(dom == v->dom);
		if (v->binding)
			uio_msi_unbind(dom, v->binding);
		if (v->prev)
			v->prev->next = v->next;
		else
			dev->vectors = v->next;
		if (v->next)
			v->next->prev = v->prev;
		dev->nvectors--;
		uio_device_domain_unlock(dev, dom);
	}
	uio_delete(v);
}

/* ------------------------------------------------------------- the window */

UIOMMU_API int uiommu_domain_set_msi_window(struct uiommu_domain *dom,
					    uint64_t base, uint64_t size)
{
	const struct uiommu_resv_region *r;
	uint64_t last = base + size - 1;
	bool was_explicit;
	int err = 0;

	if (!dom || dom->type != UIOMMU_DOMAIN_UNMANAGED)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"MSI window: domain is not unmanaged");
	if (!size || !uio_is_aligned(base | size, dom->granule) || last < base)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"MSI window 0x%" PRIx64 " size 0x%" PRIx64
				" empty or not aligned to 0x%" PRIx64, base,
				size, dom->granule);
	if (base < dom->hw.aperture_start || last > dom->hw.aperture_last)
		return uio_fail(-ERANGE, IOMMU_SUBSYS,
				"MSI window [0x%" PRIx64 ", 0x%" PRIx64 "] "
				"outside the aperture", base, last);
	uio_lock(&dom->lock);
	if (dom->nbindings) {
		err = uio_fail(-EBUSY, IOMMU_SUBSYS,
			       "domain %u: %u doorbell pages bound in the "
			       "current MSI window", dom->id, dom->nbindings);
		goto out_unlock;
	}
	if (uio_domain_ext_overlaps(dom, base, last)) {
		err = uio_fail(-EEXIST, IOMMU_SUBSYS,
			       "MSI window [0x%" PRIx64 ", 0x%" PRIx64 "] "
			       "overlaps a mapping of domain %u", base, last,
			       dom->id);
		goto out_unlock;
	}
	/* An explicit window replaces sw-msi: check everything else. */
	was_explicit = dom->win_explicit;
	dom->win_explicit = true;
	r = uio_domain_resv_overlap(dom, base, last);
	if (r) {
		dom->win_explicit = was_explicit;
		err = uio_fail(-EEXIST, IOMMU_SUBSYS,
			       "MSI window [0x%" PRIx64 ", 0x%" PRIx64 "] "
			       "overlaps %s region [0x%" PRIx64 ", 0x%" PRIx64
			       "]", base, last, uiommu_resv_type_name(r->type),
			       r->start, r->last);
		goto out_unlock;
	}
	dom->win_start = base;
	dom->win_last = last;
	uio_info(IOMMU_SUBSYS, "domain %u: MSI window [0x%" PRIx64 ", 0x%"
		 PRIx64 "]", dom->id, base, last);
out_unlock:
	uio_unlock(&dom->lock);
	return err;
}

UIOMMU_API void uiommu_domain_get_msi_window(struct uiommu_domain *dom,
					     struct uiommu_msi_window_info *info)
{
	unsigned int g;
	size_t i;

	memset(info, 0, sizeof(*info));
	uio_lock(&dom->lock);
	info->present = uio_msi_window(dom, &info->start, &info->last);
	info->explicit_window = dom->win_explicit;
	info->page_size = dom->granule;
	info->pages_used = dom->nbindings;
	info->vectors = dom->nvec_refs;
	for (g = 0; g < dom->ngroups; g++)
		for (i = 0; i < dom->groups[g]->resv.n; i++)
			if (dom->groups[g]->resv.r[i].type == UIOMMU_RESV_MSI &&
			    uio_resv_applies(dom, &dom->groups[g]->resv.r[i]))
				info->hw_msi = true;
	uio_unlock(&dom->lock);
}

/* -------------------------------------------------------------- isolation */

UIOMMU_API void uiommu_group_msi_isolation(struct uiommu_group *group,
					   bool *isolated, char *reason,
					   size_t len)
{
	struct uiommu_device *dev;
	char buf[256];
	size_t pos = 0;
	unsigned int i;
	bool ok = true;

	buf[0] = '\0';
	uio_lock(&group->lock);
	if (group->iommu->intr_remap) {
		snprintf(buf, sizeof(buf), "IOMMU %s remaps interrupts",
			 group->iommu->name);
		goto out;
	}
	for (dev = group->devices; dev && ok; dev = dev->group_next) {
		if (!dev->nctrls) {
			snprintf(buf, sizeof(buf),
				 "%s declares no MSI controller and %s does "
				 "not remap interrupts", dev->name,
				 group->iommu->name);
			ok = false;
		}
		for (i = 0; i < dev->nctrls && ok; i++)
			if (!dev->ctrls[i]->isolating) {
				snprintf(buf, sizeof(buf),
					 "%s uses MSI controller %s, which does "
					 "not identify the source device, and "
					 "%s does not remap interrupts",
					 dev->name, dev->ctrls[i]->name,
					 group->iommu->name);
				ok = false;
			}
	}
	if (ok) {
		uio_snprintf_cat(buf, sizeof(buf), &pos,
				 "every MSI controller used identifies the "
				 "source device:");
		for (dev = group->devices; dev; dev = dev->group_next)
			for (i = 0; i < dev->nctrls; i++)
				uio_snprintf_cat(buf, sizeof(buf), &pos, " %s",
						 dev->ctrls[i]->name);
	}
out:
	uio_unlock(&group->lock);
	*isolated = ok;
	if (reason && len)
		snprintf(reason, len, "%s", buf);
}

/* --------------------------------------------------------------- exposure */

struct expose_walk {
	struct uiommu_exposure_page page;
	const struct msi_binding *b;
	int (*fn)(void *opaque, const struct uiommu_exposure_page *page,
		  const struct uiommu_exposure_entry *e);
	void *opaque;
	bool classify_only;
	bool unsafe;
	int ret;
};

static int expose_emit(struct expose_walk *w, struct uiommu_exposure_entry *e)
{
	if (e->kind == UIOMMU_EXPOSE_OTHER_DOORBELL ||
	    e->kind == UIOMMU_EXPOSE_MMIO || e->kind == UIOMMU_EXPOSE_RAM)
		w->unsafe = true;
	if (w->classify_only)
		return 0;
	e->iova = w->page.iova + (e->pa - w->page.pa);
	return w->fn(w->opaque, &w->page, e);
}

static enum uiommu_exposure_kind
expose_kind(const struct expose_walk *w, const struct uiommu_region_info *ri,
	    uint64_t pa, uint64_t size)
{
	uint64_t db = w->b->doorbell_pa;
	bool own_frame = db >= ri->base && db - ri->base < ri->size;

	if (!ri->doorbell)
		return UIOMMU_EXPOSE_MMIO;
	if (!own_frame)
		return UIOMMU_EXPOSE_OTHER_DOORBELL;
	if (db >= pa && db - pa < size)
		return UIOMMU_EXPOSE_DOORBELL;
	return UIOMMU_EXPOSE_DOORBELL_FRAME;
}

static int expose_region(void *opaque, const struct uiommu_region_info *ri)
{
	struct expose_walk *w = opaque;
	uint64_t plast = w->page.pa + w->page.size - 1;
	uint64_t lo, hi;
	size_t i;
	struct uiommu_exposure_entry e = {
		.region = ri->name, .owner = ri->owner,
	};

	if (!uio_ranges_overlap(ri->base, ri->base + ri->size - 1,
				w->page.pa, plast))
		return 0;
	lo = ri->base > w->page.pa ? ri->base : w->page.pa;
	hi = ri->base + ri->size - 1 < plast ? ri->base + ri->size - 1 : plast;
	if (ri->kind == UIOMMU_REGION_RAM || !ri->nregs) {
		e.kind = ri->kind == UIOMMU_REGION_RAM ?
			 UIOMMU_EXPOSE_RAM : expose_kind(w, ri, lo, hi - lo + 1);
		e.pa = lo;
		e.size = hi - lo + 1;
		return expose_emit(w, &e);
	}
	for (i = 0; i < ri->nregs; i++) {
		uint64_t rpa = ri->base + ri->regs[i].offset;
		int ret;

		if (!uio_ranges_overlap(rpa, rpa + ri->regs[i].size - 1, lo, hi))
			continue;
		e.pa = rpa;
		e.size = ri->regs[i].size;
		e.reg = ri->regs[i].name;
		e.kind = expose_kind(w, ri, rpa, e.size);
		ret = expose_emit(w, &e);
		if (ret)
			return ret;
	}
	return 0;
}

UIOMMU_API int uiommu_domain_for_each_exposure(
	struct uiommu_domain *dom,
	int (*fn)(void *opaque, const struct uiommu_exposure_page *page,
		  const struct uiommu_exposure_entry *e),
	void *opaque)
{
	struct uiommu_physmem *pm = dom->iommu->physmem;
	const struct msi_binding *b;
	int ret = 0;

	if (!pm)
		return 0;
	uio_lock(&dom->lock);
	for (b = dom->bindings; b && !ret; b = b->next) {
		struct expose_walk w = {
			.page = {
				.iova = b->iova, .pa = b->pa_page,
				.size = b->size, .doorbell_pa = b->doorbell_pa,
				.refs = b->refs,
			},
			.b = b, .fn = fn, .opaque = opaque,
			.classify_only = true,
		};

		/* First pass decides the page's verdict, second reports. */
		ret = uiommu_physmem_for_each(pm, expose_region, &w);
		w.page.safe = !w.unsafe;
		w.classify_only = false;
		if (!ret)
			ret = uiommu_physmem_for_each(pm, expose_region, &w);
	}
	uio_unlock(&dom->lock);
	return ret;
}

static const char *const expose_names[] = {
	[UIOMMU_EXPOSE_DOORBELL] = "doorbell",
	[UIOMMU_EXPOSE_DOORBELL_FRAME] = "doorbell-frame",
	[UIOMMU_EXPOSE_OTHER_DOORBELL] = "OTHER-DOORBELL",
	[UIOMMU_EXPOSE_MMIO] = "MMIO",
	[UIOMMU_EXPOSE_RAM] = "RAM",
};

struct expose_print {
	char *buf;
	size_t len, pos;
	uint64_t last_page;
	bool any;
	unsigned int dom_id;
};

static int expose_print_one(void *opaque,
			    const struct uiommu_exposure_page *pg,
			    const struct uiommu_exposure_entry *e)
{
	struct expose_print *p = opaque;

	if (!p->any || pg->iova != p->last_page)
		uio_snprintf_cat(p->buf, p->len, &p->pos,
				 "domain %u doorbell page iova 0x%016" PRIx64
				 " pa 0x%016" PRIx64 " size 0x%" PRIx64
				 " vectors %lu: %s\n", p->dom_id, pg->iova,
				 pg->pa, pg->size, pg->refs,
				 pg->safe ? "safe" : "UNSAFE");
	p->any = true;
	p->last_page = pg->iova;
	uio_snprintf_cat(p->buf, p->len, &p->pos,
			 "  iova 0x%016" PRIx64 " pa 0x%016" PRIx64
			 " size 0x%-6" PRIx64 " %-14s %s %s (%s)\n", e->iova,
			 e->pa, e->size, expose_names[e->kind], e->region,
			 e->reg ? e->reg : "-", e->owner ? e->owner : "-");
	return 0;
}

UIOMMU_API void uiommu_domain_exposure_print(struct uiommu_domain *dom,
					     char *buf, size_t len,
					     size_t *needed)
{
	struct expose_print p = {
		.buf = buf, .len = len, .dom_id = dom->id,
	};
	int ret;

	if (len)
		buf[0] = '\0';
	ret = uiommu_domain_for_each_exposure(dom, expose_print_one, &p);
	assert(!ret);
	(void)ret;
	if (needed)
		*needed = p.pos;
}
