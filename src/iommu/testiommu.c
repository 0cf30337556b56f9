// SPDX-License-Identifier: MIT
/*
 * uio-testiommu: driver and model of a minimal IOMMU (see testiommu.h).
 *
 * Table format (defined here, documented in docs/ARCHITECTURE.md): a radix
 * tree of tables, each one granule in size, of 64-bit little-endian entries
 * indexed by (granule_shift - 3) bits of the IOVA per level; 4 KiB granule:
 * 3 levels, 39-bit IOVA; 64 KiB granule: 2 levels, 42-bit IOVA.  Leaves are
 * only at the last level (the page-size bitmap is the granule alone).
 */
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "lock.h"
#include "log.h"
#include "testiommu.h"

#define TI_SUBSYS "testiommu"
#define TI_IOTLB_SIZE 64

/* uio-testiommu table entry, all levels */
UIO_FIELD(TIPTE, VALID, 0, 1);
UIO_FIELD(TIPTE, TABLE, 1, 1);	/* next-level table (not at the last level) */
UIO_FIELD(TIPTE, READ, 2, 1);
UIO_FIELD(TIPTE, WRITE, 3, 1);
UIO_FIELD(TIPTE, XN, 4, 1);	/* no instruction fetch */
UIO_FIELD(TIPTE, DEVICE, 5, 1);	/* device memory */
UIO_FIELD(TIPTE, OA, 12, 40);	/* output address [51:12] */

struct ti_domain {
	struct uio_testiommu *ti;
	struct uiommu_domain *core;
	enum uiommu_domain_type type;
	unsigned int asid;
	uint64_t root;			/* physical address of the top table */
};

struct ti_iotlb_entry {
	bool valid;
	unsigned int asid;
	uint64_t page, pa;
	uint64_t pte;
};

struct uio_testiommu {
	struct uiommu_iommu *iommu;
	struct uio_testiommu_cfg cfg;
	unsigned int levels, bits, ias;
	uint64_t granule;
	struct uio_mutex lock;		/* stream table, IOTLB, stats */
	struct ti_domain *ste[UIO_TESTIOMMU_MAX_SID];
	struct ti_iotlb_entry iotlb[TI_IOTLB_SIZE];
	unsigned int next_asid;
	uint32_t fail_sid;
	int fail_err;
	struct uio_testiommu_stats st;
};

/* ------------------------------------------------------------ table walks */

static unsigned int level_shift(const struct uio_testiommu *ti,
				unsigned int level)
{
	return (unsigned int)uio_ffs64(ti->granule) +
	       (ti->levels - 1 - level) * ti->bits;
}

static uint64_t pte_addr(const struct uio_testiommu *ti, uint64_t table,
			 unsigned int level, uint64_t iova)
{
	uint64_t idx = uio_extract64(iova, level_shift(ti, level), ti->bits);

	return table + idx * 8;
}

static uint64_t pte_oa(uint64_t pte)
{
	return UIO_FEX64(pte, TIPTE, OA) << TIPTE_OA_SHIFT;
}

/*
 * Address of the last-level entry for @iova; with @alloc missing tables are
 * allocated from the pool.  -ENOENT if absent, -ENOMEM, -EFAULT.
 */
static int walk(struct ti_domain *d, uint64_t iova, bool alloc,
		uint64_t *leaf)
{
	struct uio_testiommu *ti = d->ti;
	uint64_t table = d->root, pte, pa;
	unsigned int level;
	int err;

	for (level = 0; level + 1 < ti->levels; level++) {
		pa = pte_addr(ti, table, level, iova);
		err = uiommu_phys_ld(ti->cfg.pm, pa, 8, &pte, NULL);
		if (err)
			return err;
		if (!UIO_FEX64(pte, TIPTE, VALID)) {
			uint64_t next;

			if (!alloc)
				return -ENOENT;
			err = uiommu_phys_pool_alloc(ti->cfg.pool, ti->granule,
						     &next);
			if (err)
				return err;
			pte = UIO_FDP64(0, TIPTE, VALID, 1);
			pte = UIO_FDP64(pte, TIPTE, TABLE, 1);
			pte = UIO_FDP64(pte, TIPTE, OA, next >> TIPTE_OA_SHIFT);
			err = uiommu_phys_st(ti->cfg.pm, pa, 8, pte, NULL);
			if (err)
				return err;
			uio_lock(&ti->lock);
			ti->st.tables++;
			uio_unlock(&ti->lock);
		}
		table = pte_oa(pte);
	}
	*leaf = pte_addr(ti, table, level, iova);
	return 0;
}

static void free_tables(struct ti_domain *d, uint64_t table,
			unsigned int level)
{
	struct uio_testiommu *ti = d->ti;
	uint64_t i, pte;
	int err;

	if (level + 1 < ti->levels)
		for (i = 0; i < (UINT64_C(1) << ti->bits); i++) {
			err = uiommu_phys_ld(ti->cfg.pm, table + i * 8, 8, &pte,
					     NULL);
			if (!err && UIO_FEX64(pte, TIPTE, VALID))
				free_tables(d, pte_oa(pte), level + 1);
		}
	err = uiommu_phys_pool_free(ti->cfg.pool, table, ti->granule);
	assert(!err);
	(void)err;
	uio_lock(&ti->lock);
	ti->st.tables--;
	uio_unlock(&ti->lock);
}

/* ----------------------------------------------------------- domain ops */

static struct ti_domain *to_ti(struct uiommu_domain *dom)
{
	return uiommu_domain_driver_data(dom);
}

static int ti_attach_dev(struct uiommu_domain *dom, struct uiommu_device *dev)
{
	struct ti_domain *d = to_ti(dom);
	struct uio_testiommu *ti = d->ti;
	const uint32_t *ids;
	unsigned int n, i;

	ids = uiommu_device_ids(dev, &n);
	uio_lock(&ti->lock);
	for (i = 0; i < n; i++)
		if (ti->fail_err && ids[i] == ti->fail_sid) {
			uio_unlock(&ti->lock);
			return ti->fail_err;
		}
	for (i = 0; i < n; i++)
		ti->ste[ids[i]] = d;
	ti->st.attaches++;
	uio_unlock(&ti->lock);
	return 0;
}

static uint64_t prot_pte(unsigned int prot)
{
	uint64_t pte = UIO_FDP64(0, TIPTE, VALID, 1);

	pte = UIO_FDP64(pte, TIPTE, READ, !!(prot & UIOMMU_PROT_READ));
	pte = UIO_FDP64(pte, TIPTE, WRITE, !!(prot & UIOMMU_PROT_WRITE));
	pte = UIO_FDP64(pte, TIPTE, XN, !!(prot & UIOMMU_PROT_NOEXEC));
	return UIO_FDP64(pte, TIPTE, DEVICE, !!(prot & UIOMMU_PROT_MMIO));
}

static int ti_map_pages(struct uiommu_domain *dom, uint64_t iova, uint64_t pa,
			uint64_t pgsize, size_t pgcount, unsigned int prot,
			uint64_t *mapped)
{
	struct ti_domain *d = to_ti(dom);
	uint64_t leaf, pte;
	size_t i;
	int err;

	assert(pgsize == d->ti->granule);
	*mapped = 0;
	for (i = 0; i < pgcount; i++) {
		err = walk(d, iova + i * pgsize, true, &leaf);
		if (!err)
			err = uiommu_phys_ld(d->ti->cfg.pm, leaf, 8, &pte, NULL);
		if (!err && UIO_FEX64(pte, TIPTE, VALID))
			err = -EEXIST;
		if (err)
			return err;
		pte = UIO_FDP64(prot_pte(prot), TIPTE, OA,
				(pa + i * pgsize) >> TIPTE_OA_SHIFT);
		err = uiommu_phys_st(d->ti->cfg.pm, leaf, 8, pte, NULL);
		if (err)
			return err;
		*mapped += pgsize;
	}
	return 0;
}

static uint64_t ti_unmap_pages(struct uiommu_domain *dom, uint64_t iova,
			       uint64_t pgsize, size_t pgcount,
			       struct uiommu_iotlb_gather *gather)
{
	struct ti_domain *d = to_ti(dom);
	uint64_t leaf, pte, done = 0;
	size_t i;

	if (pgsize != d->ti->granule)
		return 0;
	for (i = 0; i < pgcount; i++) {
		if (walk(d, iova + done, false, &leaf) ||
		    uiommu_phys_ld(d->ti->cfg.pm, leaf, 8, &pte, NULL) ||
		    !UIO_FEX64(pte, TIPTE, VALID) ||
		    uiommu_phys_st(d->ti->cfg.pm, leaf, 8, 0, NULL))
			break;
		uiommu_iotlb_gather_add(gather, iova + done, pgsize, pgsize);
		done += pgsize;
	}
	return done;
}

static int ti_iova_to_phys(struct uiommu_domain *dom, uint64_t iova,
			   uint64_t *pa)
{
	struct ti_domain *d = to_ti(dom);
	uint64_t leaf, pte;

	if (walk(d, iova, false, &leaf) ||
	    uiommu_phys_ld(d->ti->cfg.pm, leaf, 8, &pte, NULL) ||
	    !UIO_FEX64(pte, TIPTE, VALID))
		return -ENOENT;
	*pa = pte_oa(pte) + (iova & (d->ti->granule - 1));
	return 0;
}

static void iotlb_inv(struct uio_testiommu *ti, unsigned int asid,
		      uint64_t start, uint64_t last)
{
	unsigned int i;

	uio_assert_held(&ti->lock);
	for (i = 0; i < TI_IOTLB_SIZE; i++)
		if (ti->iotlb[i].valid && ti->iotlb[i].asid == asid &&
		    ti->iotlb[i].page >= uio_align_down(start, ti->granule) &&
		    ti->iotlb[i].page <= last)
			ti->iotlb[i].valid = false;
}

static void ti_flush_all(struct uiommu_domain *dom)
{
	struct ti_domain *d = to_ti(dom);

	uio_lock(&d->ti->lock);
	iotlb_inv(d->ti, d->asid, 0, UINT64_MAX);
	d->ti->st.flush_alls++;
	uio_unlock(&d->ti->lock);
}

static void ti_iotlb_sync(struct uiommu_domain *dom,
			  struct uiommu_iotlb_gather *g)
{
	struct ti_domain *d = to_ti(dom);

	uio_lock(&d->ti->lock);
	iotlb_inv(d->ti, d->asid, g->start, g->last);
	d->ti->st.syncs++;
	d->ti->st.last_inv_start = g->start;
	d->ti->st.last_inv_last = g->last;
	uio_unlock(&d->ti->lock);
}

static void ti_domain_free(struct uiommu_domain *dom)
{
	struct ti_domain *d = to_ti(dom);
	unsigned int i;

	uio_lock(&d->ti->lock);
	for (i = 0; i < UIO_TESTIOMMU_MAX_SID; i++)
		if (d->ti->ste[i] == d)
			d->ti->ste[i] = NULL;
	iotlb_inv(d->ti, d->asid, 0, UINT64_MAX);
	uio_unlock(&d->ti->lock);
	if (d->root)
		free_tables(d, d->root, 0);
	uio_delete(d);
}

static const struct uiommu_domain_ops ti_domain_ops = {
	.attach_dev = ti_attach_dev,
	.map_pages = ti_map_pages,
	.unmap_pages = ti_unmap_pages,
	.iova_to_phys = ti_iova_to_phys,
	.flush_iotlb_all = ti_flush_all,
	.iotlb_sync = ti_iotlb_sync,
	.free = ti_domain_free,
};

/* ------------------------------------------------------------ instance ops */

static struct uio_testiommu *iommu_ti(struct uiommu_iommu *iommu)
{
	return uiommu_iommu_driver_data(iommu);
}

static int ti_domain_alloc(struct uiommu_iommu *iommu, struct uiommu_domain *dom,
			   enum uiommu_domain_type type, unsigned int fmt,
			   struct uiommu_domain_hw *hw)
{
	struct uio_testiommu *ti = iommu_ti(iommu);
	struct ti_domain *d;
	int err;

	if (fmt)
		return uio_fail(-EOPNOTSUPP, TI_SUBSYS, "format %u", fmt);
	d = uio_new(struct ti_domain);
	if (!d)
		return -ENOMEM;
	d->ti = ti;
	d->core = dom;
	d->type = type;
	if (type == UIOMMU_DOMAIN_DMA || type == UIOMMU_DOMAIN_UNMANAGED) {
		err = uiommu_phys_pool_alloc(ti->cfg.pool, ti->granule,
					     &d->root);
		if (err) {
			uio_delete(d);
			return err;
		}
		uio_lock(&ti->lock);
		ti->st.tables++;
		d->asid = ++ti->next_asid;
		uio_unlock(&ti->lock);
	}
	hw->ops = &ti_domain_ops;
	hw->priv = d;
	hw->aperture_start = 0;
	hw->aperture_last = (UINT64_C(1) << ti->ias) - 1;
	hw->pgsize_bitmap = ti->granule;
	return 0;
}

static int ti_probe_device(struct uiommu_iommu *iommu,
			   struct uiommu_device *dev)
{
	const uint32_t *ids;
	unsigned int n, i;

	(void)iommu;
	ids = uiommu_device_ids(dev, &n);
	for (i = 0; i < n; i++)
		if (ids[i] >= UIO_TESTIOMMU_MAX_SID)
			return uio_fail(-ERANGE, TI_SUBSYS,
					"%s: stream ID 0x%x beyond the table",
					uiommu_device_name(dev), ids[i]);
	return 0;
}

static void ti_release_device(struct uiommu_iommu *iommu,
			      struct uiommu_device *dev)
{
	struct uio_testiommu *ti = iommu_ti(iommu);
	const uint32_t *ids;
	unsigned int n, i;

	ids = uiommu_device_ids(dev, &n);
	uio_lock(&ti->lock);
	for (i = 0; i < n; i++)
		ti->ste[ids[i]] = NULL;
	uio_unlock(&ti->lock);
}

static int ti_device_group(struct uiommu_iommu *iommu,
			   struct uiommu_device *dev, struct uiommu_group **g)
{
	if (iommu_ti(iommu)->cfg.pci_groups)
		return uiommu_pci_device_group(iommu, dev, g);
	return uiommu_generic_device_group(iommu, dev, g);
}

static int ti_get_resv_regions(struct uiommu_iommu *iommu,
			       struct uiommu_device *dev,
			       struct uiommu_resv_list *list)
{
	const struct uio_testiommu_cfg *cfg = &iommu_ti(iommu)->cfg;

	(void)dev;
	if (cfg->no_msi_region)
		return 0;
	if (cfg->hw_msi)
		return uiommu_resv_list_add(list, 0xfee00000, 0x100000, 0,
					    UIOMMU_RESV_MSI, 0);
	return uiommu_resv_list_add(list, 0x8000000, 0x100000,
				    UIOMMU_PROT_WRITE | UIOMMU_PROT_NOEXEC |
				    UIOMMU_PROT_MMIO, UIOMMU_RESV_SW_MSI, 0);
}

static bool ti_capable(struct uiommu_iommu *iommu, enum uiommu_cap cap)
{
	return cap == UIOMMU_CAP_CACHE_COHERENCY ||
	       (cap == UIOMMU_CAP_INTR_REMAP && iommu_ti(iommu)->cfg.intr_remap);
}

static const struct uiommu_iommu_ops ti_ops = {
	.probe_device = ti_probe_device,
	.release_device = ti_release_device,
	.device_group = ti_device_group,
	.get_resv_regions = ti_get_resv_regions,
	.capable = ti_capable,
	.domain_alloc = ti_domain_alloc,
};

int uio_testiommu_create(const struct uio_testiommu_cfg *cfg,
			 struct uio_testiommu **out)
{
	struct uiommu_iommu_desc desc = { 0 };
	struct uio_testiommu *ti;
	int err;

	if (!cfg->pm || !cfg->pool ||
	    (cfg->granule_shift != 12 && cfg->granule_shift != 16))
		return uio_fail(-EINVAL, TI_SUBSYS,
				"needs physmem, pool and granule 4K or 64K");
	ti = uio_new(struct uio_testiommu);
	if (!ti)
		return -ENOMEM;
	ti->cfg = *cfg;
	ti->granule = UIO_BIT(cfg->granule_shift);
	ti->bits = cfg->granule_shift - 3;
	ti->levels = cfg->granule_shift == 12 ? 3 : 2;
	ti->ias = cfg->granule_shift + ti->levels * ti->bits;
	uio_mutex_init(&ti->lock);
	desc.name = cfg->name ? cfg->name : "testiommu0";
	desc.ops = &ti_ops;
	desc.driver_data = ti;
	desc.default_domain = cfg->default_domain ? cfg->default_domain :
			      UIOMMU_DOMAIN_DMA;
	desc.physmem = cfg->pm;
	err = uiommu_iommu_register(&desc, &ti->iommu);
	if (err) {
		uio_mutex_destroy(&ti->lock);
		uio_delete(ti);
		return err;
	}
	*out = ti;
	return 0;
}

int uio_testiommu_destroy(struct uio_testiommu *ti)
{
	int err;

	if (!ti)
		return 0;
	err = uiommu_iommu_unregister(ti->iommu);
	if (err)
		return err;
	uio_mutex_destroy(&ti->lock);
	uio_delete(ti);
	return 0;
}

struct uiommu_iommu *uio_testiommu_iommu(struct uio_testiommu *ti)
{
	return ti->iommu;
}

/* ------------------------------------------------------------------ model */

static int ti_fault(struct uio_testiommu *ti, struct ti_domain *d,
		    uint32_t sid, uint64_t iova, unsigned int access,
		    enum uiommu_fault_reason reason)
{
	struct uiommu_fault f = {
		.iova = iova, .flags = access, .reason = reason,
		.source_id = sid,
		.dev = uiommu_device_find(ti->iommu, sid),
	};

	uio_lock(&ti->lock);
	ti->st.faults++;
	uio_unlock(&ti->lock);
	/* Unhandled faults are logged by the core; the access fails anyway. */
	if (d && uiommu_report_fault(d->core, &f))
		uio_debug(TI_SUBSYS, "fault at 0x%" PRIx64 " not handled", iova);
	return -EFAULT;
}

int uio_testiommu_translate(struct uio_testiommu *ti, uint32_t sid,
			    uint64_t iova, unsigned int access, uint64_t *pa)
{
	uint64_t page = uio_align_down(iova, ti->granule), leaf, pte;
	struct ti_iotlb_entry *e;
	struct ti_domain *d;
	unsigned int slot;
	bool hit;

	if (sid >= UIO_TESTIOMMU_MAX_SID)
		return -EFAULT;
	uio_lock(&ti->lock);
	d = ti->ste[sid];
	if (!d || d->type == UIOMMU_DOMAIN_BLOCKED) {
		uio_unlock(&ti->lock);
		return ti_fault(ti, d, sid, iova, access, UIOMMU_FAULT_BLOCKED);
	}
	if (d->type == UIOMMU_DOMAIN_IDENTITY) {
		uio_unlock(&ti->lock);
		*pa = iova;
		return 0;
	}
	slot = (unsigned int)((page >> uio_ffs64(ti->granule)) ^ d->asid) %
	       TI_IOTLB_SIZE;
	e = &ti->iotlb[slot];
	hit = e->valid && e->asid == d->asid && e->page == page;
	hit ? ti->st.iotlb_hits++ : ti->st.iotlb_misses++;
	pte = e->pte;
	uio_unlock(&ti->lock);
	if (!hit) {
		if (iova >> ti->ias)
			return ti_fault(ti, d, sid, iova, access,
					UIOMMU_FAULT_BAD_ADDRESS);
		if (walk(d, iova, false, &leaf) ||
		    uiommu_phys_ld(ti->cfg.pm, leaf, 8, &pte, NULL) ||
		    !UIO_FEX64(pte, TIPTE, VALID))
			return ti_fault(ti, d, sid, iova, access,
					UIOMMU_FAULT_UNMAPPED);
		uio_lock(&ti->lock);
		*e = (struct ti_iotlb_entry){
			.valid = true, .asid = d->asid, .page = page,
			.pa = pte_oa(pte), .pte = pte,
		};
		uio_unlock(&ti->lock);
	}
	if (((access & UIOMMU_FAULT_READ) && !UIO_FEX64(pte, TIPTE, READ)) ||
	    ((access & UIOMMU_FAULT_WRITE) && !UIO_FEX64(pte, TIPTE, WRITE)) ||
	    ((access & UIOMMU_FAULT_EXEC) && UIO_FEX64(pte, TIPTE, XN)))
		return ti_fault(ti, d, sid, iova, access,
				UIOMMU_FAULT_PERMISSION);
	*pa = pte_oa(pte) + (iova - page);
	return 0;
}

int uio_testiommu_dma_write(struct uio_testiommu *ti, uint32_t sid,
			    uint64_t iova, const void *buf, size_t len)
{
	struct uiommu_memattrs attrs = {
		.source_id = sid, .flags = UIOMMU_MEMATTR_SOURCE_VALID,
	};
	uint64_t pa = 0;	/* gcc -O2 cannot see translate() set it */
	int err;

	err = uio_testiommu_translate(ti, sid, iova, UIOMMU_FAULT_WRITE, &pa);
	if (err)
		return err;
	return uiommu_phys_write(ti->cfg.pm, pa, buf, len, &attrs);
}

void uio_testiommu_get_stats(struct uio_testiommu *ti,
			     struct uio_testiommu_stats *st)
{
	uio_lock(&ti->lock);
	*st = ti->st;
	uio_unlock(&ti->lock);
}

void uio_testiommu_fail_attach(struct uio_testiommu *ti, uint32_t sid,
			       int err)
{
	uio_lock(&ti->lock);
	ti->fail_sid = sid;
	ti->fail_err = err;
	uio_unlock(&ti->lock);
}
