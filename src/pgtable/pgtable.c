// SPDX-License-Identifier: MIT
/*
 * The OS side of the I/O page tables: a tree of table pages in emulated RAM
 * that map / unmap / iova_to_phys maintain, with invalidations batched in a
 * gather, a debugfs-like dump and an invariant checker.
 *
 * Organisation:
 * - create / destroy / info: turn a struct uiommu_pgtable_cfg into the walk
 *   geometry (levels, concatenation) and allocate the start table;
 * - bookkeeping: table pages come from a uiommu_phys_pool; a host-side
 *   array holds, per 4 KiB of the pool, the number of valid entries of the
 *   table that starts there (so an empty table is noticed in O(1)), or,
 *   for a table waiting in a gather, the link to the next such table;
 * - map_generic / unmap_generic / lookup_generic: the one algorithm, written
 *   once and inlined per format with a constant format so that the
 *   descriptor hooks of pt_format.h fold into straight-line code.
 *
 * Descriptors are written with single 64-bit stores; a new table is filled
 * before the store that links it, so a concurrent hardware walk sees either
 * the old or the new translation.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/pgtable.h>

#include "alloc.h"
#include "log.h"
#include "pt_format.h"
#include "trace.h"

#define SUBSYS "pgtable"

/* Bookkeeping slots are per 4 KiB of the pool, whatever the granule. */
#define META_SHIFT 12

struct uiommu_pgtable {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	struct uiommu_pt_walk_cfg wc;	/* geometry, shared with the walker */
	uint32_t flags;			/* UIOMMU_PGTABLE_* */
	unsigned int leaf_heights;	/* bit h: map() may put a leaf at h */
	unsigned int max_leaf_h;
	uint64_t pgsize_bitmap;
	uint64_t root;			/* PA of the start table */
	uint64_t root_size;		/* its bytes (entries * 8) */
	uint64_t root_alloc;		/* bytes allocated for it (>= 4 KiB) */
	uint64_t pool_base, pool_size;
	uint8_t *pool_host;		/* host address of pool_base */
	uint32_t *meta;			/* per 4 KiB of the pool, see above */
	size_t nmeta;
	uint64_t nr_tables;		/* live table pages, root included */
	uint8_t lshift[6];		/* per height: pt_shift() */
	uint8_t lbits[6];		/* per height: pt_index_bits() */
	uint32_t lmask[6];		/* per height: index mask */
	uint64_t tmask;			/* address bits of a table descriptor */
	uint32_t last_prot;		/* pt_prot_attrs() of the last map */
	uint64_t last_attrs;
};

/* The geometry of pt_format.h, precomputed per height for the hot paths. */
static inline unsigned int lv_shift(const struct uiommu_pgtable *pt,
				    unsigned int h)
{
	return pt->lshift[h];
}

static inline unsigned int lv_bits(const struct uiommu_pgtable *pt,
				   unsigned int h)
{
	return pt->lbits[h];
}

/* Next-level table of a table descriptor. */
static inline uint64_t lv_table(const struct uiommu_pgtable *pt, uint64_t d)
{
	return d & pt->tmask;
}

static inline unsigned int lv_index(const struct uiommu_pgtable *pt,
				    unsigned int h, uint64_t va)
{
	return (unsigned int)(va >> pt->lshift[h]) & pt->lmask[h];
}

/* ------------------------------------------------------------ helpers */

static inline uint64_t *tbl_host(const struct uiommu_pgtable *pt, uint64_t pa)
{
	assert(pa >= pt->pool_base && pa - pt->pool_base < pt->pool_size);
	return (uint64_t *)(void *)(pt->pool_host + (pa - pt->pool_base));
}

static inline uint32_t *tbl_meta(const struct uiommu_pgtable *pt, uint64_t pa)
{
	return &pt->meta[(pa - pt->pool_base) >> META_SHIFT];
}

static inline void pte_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline uint64_t table_bytes(const struct uiommu_pgtable *pt)
{
	return UINT64_C(1) << pt->wc.granule_shift;
}

static void gather_add(struct uiommu_pt_gather *g, uint64_t start,
		       uint64_t size, uint64_t granule, bool leaf)
{
	uint64_t last = start + size - 1;

	if (!g)
		return;
	if (g->start > g->last) {
		g->start = start;
		g->last = last;
		g->granule = granule;
		g->leaf_only = leaf;
		return;
	}
	if (start < g->start)
		g->start = start;
	if (last > g->last)
		g->last = last;
	if (granule < g->granule)
		g->granule = granule;
	g->leaf_only = g->leaf_only && leaf;
}

UIOMMU_API void uiommu_pt_gather_init(struct uiommu_pt_gather *g,
				      uint32_t flags)
{
	memset(g, 0, sizeof(*g));
	g->start = UINT64_MAX;
	g->leaf_only = true;
	g->flags = flags;
}

UIOMMU_API bool uiommu_pt_gather_empty(const struct uiommu_pt_gather *g)
{
	return g->start > g->last && g->nr_free == 0;
}

static int alloc_table(struct uiommu_pgtable *pt, unsigned int h,
		       uint64_t *pa)
{
	int ret = uiommu_phys_pool_alloc(pt->pool, table_bytes(pt), pa);

	if (ret)
		return ret;
	*tbl_meta(pt, *pa) = 0;
	pt->nr_tables++;
	trace_pgtable_table_alloc(*pa, pt_arch_level(pt->wc.format, h));
	return 0;
}

static void pool_release(struct uiommu_pgtable *pt, uint64_t pa,
			 uint64_t size)
{
	int ret = uiommu_phys_pool_free(pt->pool, pa, size);

	assert(ret == 0);
	(void)ret;
}

/*
 * Drop a table that nothing links any more.  With a gather, the page is
 * kept (linked through its bookkeeping slot) until the driver has
 * invalidated the walk caches that might still point at it.
 */
static void free_table(struct uiommu_pgtable *pt, uint64_t pa,
		       struct uiommu_pt_gather *g)
{
	assert(pa != pt->root);
	pt->nr_tables--;
	trace_pgtable_table_free(pa);
	if (!g) {
		pool_release(pt, pa, table_bytes(pt));
		return;
	}
	assert(!g->owner || g->owner == pt);
	g->owner = pt;
	*tbl_meta(pt, pa) = g->nr_free ?
		(uint32_t)((g->free_head - pt->pool_base) >> META_SHIFT) + 1 : 0;
	g->free_head = pa;
	g->nr_free++;
}

UIOMMU_API void uiommu_pgtable_gather_done(struct uiommu_pgtable *pt,
					   struct uiommu_pt_gather *g)
{
	uint64_t pa = g->free_head, n;

	assert(!g->nr_free || g->owner == pt);
	for (n = g->nr_free; n; n--) {
		uint32_t next = *tbl_meta(pt, pa);

		pool_release(pt, pa, table_bytes(pt));
		pa = pt->pool_base + ((uint64_t)(next - 1) << META_SHIFT);
	}
	uiommu_pt_gather_init(g, g->flags);
}

/* ------------------------------------------------------------ create */

/* Leaf heights that @bitmap (page sizes) selects, or -1 if it names a size
 * the geometry cannot hold. */
static int bitmap_heights(const struct uiommu_pt_walk_cfg *wc,
			  uint64_t bitmap)
{
	unsigned int h;
	int heights = 0;

	for (h = 0; h < wc->levels; h++) {
		uint64_t sz = UINT64_C(1) << pt_shift(wc, h);

		if (bitmap & sz) {
			heights |= 1 << h;
			bitmap &= ~sz;
		}
	}
	return bitmap ? -1 : heights;
}

static int cfg_to_walk(const struct uiommu_pgtable_cfg *cfg,
		       struct uiommu_pt_walk_cfg *wc)
{
	unsigned int g = cfg->granule_shift ? cfg->granule_shift : 12;
	unsigned int bpl = g - 3, levels, top, i;
	bool arm = cfg->format != UIOMMU_PT_VTD_SS;

	memset(wc, 0, sizeof(*wc));
	if (cfg->format < UIOMMU_PT_ARM_S1 || cfg->format > UIOMMU_PT_VTD_SS)
		return uio_fail(-EINVAL, SUBSYS, "unknown format %d",
				(int)cfg->format);
	if (!(g == 12 || (arm && (g == 14 || g == 16))))
		return uio_fail(-EINVAL, SUBSYS, "granule shift %u not supported",
				g);
	if (arm) {
		if (cfg->ias < 25 || cfg->ias > 48)
			return uio_fail(-EINVAL, SUBSYS, "IAS %u out of 25..48",
					cfg->ias);
		for (i = 0; i < UIO_ARRAY_SIZE(pt_arm_ps_bits); i++)
			if (pt_arm_ps_bits[i] == cfg->oas)
				break;
		if (i == UIO_ARRAY_SIZE(pt_arm_ps_bits))
			return uio_fail(-EINVAL, SUBSYS,
					"OAS %u is no Arm PS value", cfg->oas);
	} else {
		if (cfg->ias != 39 && cfg->ias != 48 && cfg->ias != 57)
			return uio_fail(-EINVAL, SUBSYS,
					"VT-d IAS %u is not 39, 48 or 57",
					cfg->ias);
		if (cfg->oas < 32 || cfg->oas > 52)
			return uio_fail(-EINVAL, SUBSYS, "OAS %u out of 32..52",
					cfg->oas);
	}
	levels = (cfg->ias - g + bpl - 1) / bpl;
	top = cfg->ias - g - (levels - 1) * bpl;
	/*
	 * Stage 2 may start one level lower with up to 16 concatenated
	 * tables, saving a lookup; the start level must stay encodable in
	 * S2SL0 (4K: level 0..2, 16K/64K: level 1..3).
	 */
	if (cfg->format == UIOMMU_PT_ARM_S2 &&
	    !(cfg->flags & UIOMMU_PGTABLE_NO_CONCAT) && levels > 1 &&
	    top <= 4 && (g != 12 || levels > 2)) {
		levels--;
		wc->concat_log2 = (uint8_t)top;
	}
	/* S2SL0 encodes start levels 0..2 (4K) or 1..3 (16K, 64K). */
	if (cfg->format == UIOMMU_PT_ARM_S2 &&
	    (g == 12 ? levels < 2 : levels > 3))
		return uio_fail(-EINVAL, SUBSYS,
				"stage-2 IAS %u: start level not encodable",
				cfg->ias);
	wc->format = cfg->format;
	wc->granule_shift = (uint8_t)g;
	wc->ias = (uint8_t)cfg->ias;
	wc->oas = (uint8_t)cfg->oas;
	wc->levels = (uint8_t)levels;
	if (!arm && (cfg->flags & UIOMMU_PGTABLE_VTD_EXEC))
		wc->flags |= UIOMMU_PT_WALK_VTD_EXEC;
	return 0;
}

static int choose_page_sizes(struct uiommu_pgtable *pt, uint64_t bitmap)
{
	struct uiommu_pt_walk_cfg *wc = &pt->wc;
	unsigned int all = pt_leaf_heights(wc->format, wc->granule_shift,
					   UIOMMU_PT_WALK_VTD_SP2M |
					   UIOMMU_PT_WALK_VTD_SP1G);
	unsigned int h;
	int sel;

	all &= (1u << wc->levels) - 1;
	sel = bitmap ? bitmap_heights(wc, bitmap) : (int)all;
	/* The granule, and no gap: splitting a block needs the next size. */
	if (sel < 0 || (sel & ~(int)all) || !(sel & 1) || (sel & (sel + 1)))
		return uio_fail(-EINVAL, SUBSYS,
				"page sizes 0x%" PRIx64 " not supported",
				bitmap);
	pt->leaf_heights = (unsigned int)sel;
	pt->pgsize_bitmap = 0;
	for (h = 0; h < wc->levels; h++)
		if (sel & (1 << h)) {
			pt->pgsize_bitmap |= UINT64_C(1) << pt_shift(wc, h);
			pt->max_leaf_h = h;
		}
	if (wc->format == UIOMMU_PT_VTD_SS)
		wc->flags |= ((sel & 2) ? UIOMMU_PT_WALK_VTD_SP2M : 0) |
			     ((sel & 4) ? UIOMMU_PT_WALK_VTD_SP1G : 0);
	return 0;
}

UIOMMU_API int uiommu_pgtable_create(struct uiommu_physmem *pm,
				     struct uiommu_phys_pool *pool,
				     const struct uiommu_pgtable_cfg *cfg,
				     struct uiommu_pgtable **out)
{
	struct uiommu_phys_pool_stats st;
	struct uiommu_pgtable *pt;
	unsigned int h;
	int ret;

	if (!pm || !pool || !cfg || !out)
		return uio_fail(-EINVAL, SUBSYS, "create: NULL argument");
	if (uiommu_phys_pool_physmem(pool) != pm)
		return uio_fail(-EINVAL, SUBSYS,
				"create: pool of another address space");
	if (cfg->flags & ~(UIOMMU_PGTABLE_NO_CONCAT | UIOMMU_PGTABLE_VTD_EXEC))
		return uio_fail(-EINVAL, SUBSYS, "create: unknown flags 0x%x",
				cfg->flags);
	pt = uio_new(struct uiommu_pgtable);
	if (!pt)
		return -ENOMEM;
	pt->pm = pm;
	pt->pool = pool;
	pt->flags = cfg->flags;
	ret = cfg_to_walk(cfg, &pt->wc);
	if (ret)
		goto err_free_pt;
	ret = choose_page_sizes(pt, cfg->pgsize_bitmap);
	if (ret)
		goto err_free_pt;
	assert(uio_pt_walk_cfg_check(&pt->wc) == 0);
	for (h = 0; h < pt->wc.levels; h++) {
		pt->lshift[h] = (uint8_t)pt_shift(&pt->wc, h);
		pt->lbits[h] = (uint8_t)pt_index_bits(&pt->wc, h);
		pt->lmask[h] = (1u << pt->lbits[h]) - 1;
	}
	pt->tmask = pt_addr(pt->wc.format, pt->wc.granule_shift, ~UINT64_C(0));

	uiommu_phys_pool_get_stats(pool, &st);
	pt->pool_base = st.base;
	pt->pool_size = st.size;
	pt->pool_host = uiommu_phys_host_ptr(pm, st.base, st.size);
	if (!pt->pool_host) {
		ret = uio_fail(-EINVAL, SUBSYS,
			       "create: pool 0x%" PRIx64 " is not in RAM",
			       st.base);
		goto err_free_pt;
	}
	pt->nmeta = (size_t)(st.size >> META_SHIFT);
	pt->meta = uio_calloc(pt->nmeta, sizeof(*pt->meta));
	if (!pt->meta) {
		ret = -ENOMEM;
		goto err_free_pt;
	}
	pt->root_size = UINT64_C(8) << pt_index_bits(&pt->wc, pt->wc.levels - 1u);
	pt->root_alloc = pt->root_size < 4096 ? 4096 : pt->root_size;
	ret = uiommu_phys_pool_alloc(pool, pt->root_alloc, &pt->root);
	if (ret)
		goto err_free_meta;
	*tbl_meta(pt, pt->root) = 0;
	pt->nr_tables = 1;
	*out = pt;
	return 0;

err_free_meta:
	uio_free_array(pt->meta, pt->nmeta, sizeof(*pt->meta));
err_free_pt:
	uio_delete(pt);
	return ret;
}

static uint64_t free_subtree(struct uiommu_pgtable *pt, uint64_t tpa,
			     unsigned int h, struct uiommu_pt_gather *g);

UIOMMU_API void uiommu_pgtable_destroy(struct uiommu_pgtable *pt)
{
	const struct uiommu_pt_walk_cfg *wc;
	uint64_t *root, i, n;

	if (!pt)
		return;
	wc = &pt->wc;
	root = tbl_host(pt, pt->root);
	n = pt->root_size / 8;
	for (i = 0; i < n; i++) {
		uint64_t d = root[i];

		if (pt_valid(wc->format, d) && wc->levels > 1 &&
		    pt_is_table(wc->format, d))
			free_subtree(pt, pt_addr(wc->format, wc->granule_shift, d),
				     wc->levels - 2u, NULL);
	}
	pool_release(pt, pt->root, pt->root_alloc);
	uio_free_array(pt->meta, pt->nmeta, sizeof(*pt->meta));
	uio_delete(pt);
}

UIOMMU_API void uiommu_pgtable_get_info(const struct uiommu_pgtable *pt,
					struct uiommu_pgtable_info *info)
{
	const struct uiommu_pt_walk_cfg *wc = &pt->wc;
	unsigned int i, start = 4u - wc->levels;

	memset(info, 0, sizeof(*info));
	info->root = pt->root;
	info->root_size = pt->root_size;
	info->pgsize_bitmap = pt->pgsize_bitmap;
	info->walk = *wc;
	if (wc->format == UIOMMU_PT_VTD_SS) {
		info->vtd_aw = (wc->ias - 30u) / 9u;
		return;
	}
	info->arm_tsz = 64u - wc->ias;
	info->arm_tg = wc->granule_shift == 12 ? 0 :
		       wc->granule_shift == 16 ? 1 : 2;
	for (i = 0; i < UIO_ARRAY_SIZE(pt_arm_ps_bits); i++)
		if (pt_arm_ps_bits[i] == wc->oas)
			info->arm_ps = i;
	if (wc->format == UIOMMU_PT_ARM_S2)
		info->arm_sl0 = (wc->granule_shift == 12 ? 2u : 3u) - start;
	else
		info->arm_mair = UIOMMU_PT_ARM_MAIR;
}

/* ------------------------------------------------------------ map */

/* The largest leaf height that @align (iova | pa) and @left allow. */
static inline unsigned int pick_height(const struct uiommu_pgtable *pt,
				       uint64_t align, uint64_t left)
{
	unsigned int h;

	for (h = pt->max_leaf_h; h > 0; h--) {
		uint64_t sz = UINT64_C(1) << lv_shift(pt, h);

		if ((pt->leaf_heights & (1u << h)) && !(align & (sz - 1)) &&
		    left >= sz)
			return h;
	}
	return 0;
}

/*
 * Link new tables under the invalid entry @ptep (in table @parent at
 * height @h) down to height @target.  The chain is allocated and filled
 * first and published by one store, so a failure leaves nothing behind.
 */
static int install_chain(enum uiommu_pt_format f, struct uiommu_pgtable *pt,
			 uint64_t parent, uint64_t *ptep, uint64_t va,
			 unsigned int h, unsigned int target, uint64_t *out)
{
	uint64_t pas[5];
	unsigned int n = h - target, k;
	int ret;

	for (k = 0; k < n; k++) {
		ret = alloc_table(pt, h - 1 - k, &pas[k]);
		if (ret) {
			while (k--) {
				pt->nr_tables--;
				pool_release(pt, pas[k], table_bytes(pt));
			}
			return ret;
		}
	}
	for (k = 0; k + 1 < n; k++) {
		tbl_host(pt, pas[k])[lv_index(pt, h - 1 - k, va)] =
			pt_mk_table(f, pt->flags, pas[k + 1]);
		*tbl_meta(pt, pas[k]) = 1;
	}
	pte_store(ptep, pt_mk_table(f, pt->flags, pas[0]));
	(*tbl_meta(pt, parent))++;
	*out = pas[n - 1];
	return 0;
}

/* The table at height @target on the path of @va, created if missing. */
static inline __attribute__((always_inline)) int
table_for(enum uiommu_pt_format f, struct uiommu_pgtable *pt, uint64_t va,
	  unsigned int target, uint64_t *out)
{
	unsigned int h = pt->wc.levels - 1u;
	uint64_t tpa = pt->root, *ptep, d;

	for (; h > target; h--) {
		ptep = tbl_host(pt, tpa) + lv_index(pt, h, va);
		d = *ptep;
		if (!pt_valid(f, d))
			return install_chain(f, pt, tpa, ptep, va, h, target,
					     out);
		if (!pt_is_table(f, d))
			return -EEXIST;	/* a block covers @va */
		tpa = lv_table(pt, d);
	}
	*out = tpa;
	return 0;
}

static int unmap_range(struct uiommu_pgtable *pt, uint64_t first,
		       uint64_t last, struct uiommu_pt_gather *g,
		       uint64_t *unmapped);

static inline __attribute__((always_inline)) int
map_generic(enum uiommu_pt_format f, struct uiommu_pgtable *pt, uint64_t iova,
	    uint64_t pa, uint64_t size, uint32_t prot,
	    struct uiommu_pt_gather *g)
{
	const struct uiommu_pt_walk_cfg *wc = &pt->wc;
	uint64_t attrs, done = 0, undone;
	int ret = 0;

	/* Consecutive maps mostly share their protection. */
	if (uio_unlikely(prot != pt->last_prot)) {
		pt->last_prot = prot;
		pt->last_attrs = pt_prot_attrs(f, pt->flags, prot);
	}
	attrs = pt->last_attrs;
	while (done < size) {
		uint64_t va = iova + done, oa = pa + done, left = size - done;
		unsigned int h = pick_height(pt, va | oa, left);
		unsigned int shift = lv_shift(pt, h), idx, n, i;
		uint64_t tpa, *tbl;

		ret = table_for(f, pt, va, h, &tpa);
		if (ret)
			break;
		tbl = tbl_host(pt, tpa);
		idx = lv_index(pt, h, va);
		n = (1u << lv_bits(pt, h)) - idx;
		if ((left >> shift) < n)
			n = (unsigned int)(left >> shift);
		for (i = 0; i < n; i++) {
			if (pt_valid(f, tbl[idx + i])) {
				ret = -EEXIST;
				break;
			}
			pte_store(&tbl[idx + i],
				  pt_mk_leaf(f, h, oa + ((uint64_t)i << shift),
					     attrs));
		}
		*tbl_meta(pt, tpa) += i;
		done += (uint64_t)i << shift;
		if (ret)
			break;
	}
	if (uio_unlikely(ret)) {
		/* All or nothing: what this call mapped was unmapped before,
		 * so removing it needs no split and cannot fail. */
		if (done) {
			int r = unmap_range(pt, iova, iova + done - 1, g,
					    &undone);

			assert(r == 0 && undone == done);
			(void)r;
		}
		trace_pgtable_map_fail(iova, size, ret);
		return ret;
	}
	if (g && (g->flags & UIOMMU_PT_GATHER_MAPS))
		gather_add(g, iova, size, UINT64_C(1) << wc->granule_shift,
			   true);
	return 0;
}

static int map_dispatch(struct uiommu_pgtable *pt, uint64_t iova,
			uint64_t pa, uint64_t size, uint32_t prot,
			struct uiommu_pt_gather *g)
{
	switch (pt->wc.format) {
	case UIOMMU_PT_ARM_S1:
		return map_generic(UIOMMU_PT_ARM_S1, pt, iova, pa, size, prot, g);
	case UIOMMU_PT_ARM_S2:
		return map_generic(UIOMMU_PT_ARM_S2, pt, iova, pa, size, prot, g);
	case UIOMMU_PT_VTD_SS:
		return map_generic(UIOMMU_PT_VTD_SS, pt, iova, pa, size, prot, g);
	}
	return -EINVAL;
}

#define PROT_ALL (UIOMMU_PT_PROT_READ | UIOMMU_PT_PROT_WRITE |            \
		  UIOMMU_PT_PROT_NOEXEC | UIOMMU_PT_PROT_CACHE |          \
		  UIOMMU_PT_PROT_MMIO | UIOMMU_PT_PROT_PRIV)

/* Public-boundary checks of an input range; 0 or an errno. */
static inline int check_range(const struct uiommu_pgtable *pt, const char *op,
		       uint64_t iova, uint64_t size)
{
	uint64_t gmask = (UINT64_C(1) << pt->wc.granule_shift) - 1;

	if (!size || (iova & gmask) || (size & gmask))
		return uio_fail(-EINVAL, SUBSYS,
				"%s: iova 0x%" PRIx64 " size 0x%" PRIx64
				" not granule aligned", op, iova, size);
	if (iova + size < iova || ((iova + size - 1) >> pt->wc.ias))
		return uio_fail(-ERANGE, SUBSYS,
				"%s: iova 0x%" PRIx64 " size 0x%" PRIx64
				" beyond the %u-bit input space", op, iova,
				size, pt->wc.ias);
	return 0;
}

UIOMMU_API int uiommu_pgtable_map(struct uiommu_pgtable *pt, uint64_t iova,
				  uint64_t pa, uint64_t size, uint32_t prot,
				  struct uiommu_pt_gather *gather)
{
	uint64_t gmask;
	int ret;

	if (!pt)
		return uio_fail(-EINVAL, SUBSYS, "map: NULL table");
	ret = check_range(pt, "map", iova, size);
	if (ret)
		return ret;
	gmask = (UINT64_C(1) << pt->wc.granule_shift) - 1;
	if (pa & gmask)
		return uio_fail(-EINVAL, SUBSYS,
				"map: pa 0x%" PRIx64 " not granule aligned", pa);
	if ((prot & ~PROT_ALL) ||
	    !(prot & (UIOMMU_PT_PROT_READ | UIOMMU_PT_PROT_WRITE)))
		return uio_fail(-EINVAL, SUBSYS, "map: bad prot 0x%x", prot);
	if (pa + size < pa || ((pa + size - 1) >> pt->wc.oas))
		return uio_fail(-ERANGE, SUBSYS,
				"map: pa 0x%" PRIx64 " size 0x%" PRIx64
				" beyond the %u-bit output space", pa, size,
				pt->wc.oas);
	trace_pgtable_map(iova, pa, size, prot);
	ret = map_dispatch(pt, iova, pa, size, prot, gather);
#if UIOMMU_DEBUG >= 2
	assert(uiommu_pgtable_check(pt) == 0);
#endif
	return ret;
}

/* ------------------------------------------------------------ unmap */

/* Bytes mapped under table @tpa at height @h; frees it and its subtables. */
static uint64_t free_subtree(struct uiommu_pgtable *pt, uint64_t tpa,
			     unsigned int h, struct uiommu_pt_gather *g)
{
	enum uiommu_pt_format f = pt->wc.format;
	uint64_t bytes = 0, *tbl = tbl_host(pt, tpa), d;
	unsigned int i, n = 1u << lv_bits(pt, h);

	if (h == 0) {
		/* Only pages down here: the counter says how many. */
		bytes = (uint64_t)*tbl_meta(pt, tpa) << pt->wc.granule_shift;
	} else {
		for (i = 0; i < n; i++) {
			d = tbl[i];
			if (!pt_valid(f, d))
				continue;
			if (pt_is_table(f, d))
				bytes += free_subtree(pt,
						      lv_table(pt, d),
						      h - 1, g);
			else
				bytes += UINT64_C(1) << lv_shift(pt, h);
		}
	}
	free_table(pt, tpa, g);
	return bytes;
}

/*
 * Replace the block @d in entry @idx of @tbl (height @h, covering input
 * @e) by a table of the next smaller leaves mapping the same range.
 */
static int split_block(enum uiommu_pt_format f, struct uiommu_pgtable *pt,
		       uint64_t *ptep, unsigned int h, uint64_t d, uint64_t e,
		       struct uiommu_pt_gather *g)
{
	const struct uiommu_pt_walk_cfg *wc = &pt->wc;
	unsigned int i, n = 1u << pt_bpl(wc), cshift = lv_shift(pt, h - 1);
	uint64_t attrs = pt_leaf_attrs(f, d), oa = pt_addr(f, lv_shift(pt, h), d);
	uint64_t tpa, *tbl;
	int ret;

	assert(pt->leaf_heights & (1u << (h - 1)));
	ret = alloc_table(pt, h - 1, &tpa);
	if (ret)
		return ret;
	tbl = tbl_host(pt, tpa);
	for (i = 0; i < n; i++)
		tbl[i] = pt_mk_leaf(f, h - 1, oa + ((uint64_t)i << cshift),
				    attrs);
	*tbl_meta(pt, tpa) = n;
	pte_store(ptep, pt_mk_table(f, pt->flags, tpa));
	/* The old block may sit in a TLB: it goes too. */
	gather_add(g, e, UINT64_C(1) << lv_shift(pt, h),
		   UINT64_C(1) << lv_shift(pt, h), true);
	trace_pgtable_split(e, UINT64_C(1) << lv_shift(pt, h),
			    pt_arch_level(f, h));
	return 0;
}

/*
 * Remove the leaves in [@first, @last].  Iterative, with the path of
 * tables kept in arrays: an entry wholly inside the range is cleared (a
 * table with its whole subtree), a block partly inside is split, a table
 * partly inside is descended into; leaving a table that became empty
 * frees it.
 */
/* One entry fewer in the table at height @h; note it in @zero if that
 * left a table other than the root empty. */
static inline void drop_entry(const struct uiommu_pgtable *pt, uint64_t tpa,
			      unsigned int h, unsigned int *zero)
{
	if (--*tbl_meta(pt, tpa) == 0 && tpa != pt->root)
		*zero |= 1u << h;
}

static inline __attribute__((always_inline)) int
unmap_generic(enum uiommu_pt_format f, struct uiommu_pgtable *pt,
	      uint64_t first, uint64_t last, struct uiommu_pt_gather *g,
	      uint64_t *unmapped)
{
	unsigned int top = pt->wc.levels - 1u, h = top, zero = 0;
	uint64_t path[6], granule = UINT64_C(1) << lv_shift(pt, 0);
	uint64_t va = first, bytes = 0;
	bool done = false;
	int ret = 0;

	path[top] = pt->root;
	for (;;) {
		uint64_t esz = UINT64_C(1) << lv_shift(pt, h);
		uint64_t e = va & ~(esz - 1), hi = e + esz - 1;
		uint64_t *ptep = tbl_host(pt, path[h]) + lv_index(pt, h, va);
		uint64_t d = *ptep;
		bool whole;

		if (hi > last)
			hi = last;
		whole = va == e && hi == e + esz - 1;
		if (pt_valid(f, d)) {
			if (h == 0 || !pt_is_table(f, d)) {
				if (whole) {
					pte_store(ptep, 0);
					drop_entry(pt, path[h], h, &zero);
					bytes += esz;
					gather_add(g, e, esz, esz, true);
					goto next;
				}
				ret = split_block(f, pt, ptep, h, d, e, g);
				if (ret) {
					done = true;
					goto climb;
				}
				d = *ptep;
			}
			if (whole) {
				bytes += free_subtree(pt, lv_table(pt, d), h - 1, g);
				pte_store(ptep, 0);
				drop_entry(pt, path[h], h, &zero);
				gather_add(g, e, esz, granule, false);
				goto next;
			}
			path[h - 1] = lv_table(pt, d);
			h--;
			continue;
		}
next:
		if (hi == last)
			done = true;
		else
			va = hi + 1;
climb:
		/*
		 * Leave every table whose span ends here (all of them once
		 * done), freeing those that became empty; once done with no
		 * empty table left, there is nothing more to see.
		 */
		while (h < top && !(done && !zero) &&
		       (done || !(va & ((UINT64_C(1) << lv_shift(pt, h + 1)) - 1)))) {
			uint64_t child = path[h];
			uint64_t cva = done ? hi : va - 1;

			h++;
			if (zero & (1u << (h - 1))) {
				uint64_t psz = UINT64_C(1) << lv_shift(pt, h);

				zero &= ~(1u << (h - 1));
				pte_store(tbl_host(pt, path[h]) +
					  lv_index(pt, h, cva), 0);
				drop_entry(pt, path[h], h, &zero);
				free_table(pt, child, g);
				gather_add(g, cva & ~(psz - 1), psz, granule,
					   false);
			}
		}
		if (done)
			break;
	}
	*unmapped = bytes;
	return ret;
}

static int unmap_range(struct uiommu_pgtable *pt, uint64_t first,
		       uint64_t last, struct uiommu_pt_gather *g,
		       uint64_t *unmapped)
{
	switch (pt->wc.format) {
	case UIOMMU_PT_ARM_S1:
		return unmap_generic(UIOMMU_PT_ARM_S1, pt, first, last, g,
				     unmapped);
	case UIOMMU_PT_ARM_S2:
		return unmap_generic(UIOMMU_PT_ARM_S2, pt, first, last, g,
				     unmapped);
	case UIOMMU_PT_VTD_SS:
		return unmap_generic(UIOMMU_PT_VTD_SS, pt, first, last, g,
				     unmapped);
	}
	return -EINVAL;
}

UIOMMU_API int uiommu_pgtable_unmap(struct uiommu_pgtable *pt, uint64_t iova,
				    uint64_t size,
				    struct uiommu_pt_gather *gather,
				    uint64_t *unmapped)
{
	uint64_t bytes = 0;
	int ret;

	if (!pt || !unmapped)
		return uio_fail(-EINVAL, SUBSYS, "unmap: NULL argument");
	*unmapped = 0;
	ret = check_range(pt, "unmap", iova, size);
	if (ret)
		return ret;
	ret = unmap_range(pt, iova, iova + size - 1, gather, &bytes);
	*unmapped = bytes;
	trace_pgtable_unmap(iova, size, bytes);
#if UIOMMU_DEBUG >= 2
	assert(uiommu_pgtable_check(pt) == 0);
#endif
	return ret;
}

/* ------------------------------------------------------------ lookup */

static inline __attribute__((always_inline)) int
lookup_generic(enum uiommu_pt_format f, const struct uiommu_pgtable *pt,
	       uint64_t iova, uint64_t *pa, uint32_t *prot)
{
	const struct uiommu_pt_walk_cfg *wc = &pt->wc;
	unsigned int h = wc->levels - 1u;
	uint64_t tpa = pt->root, d;

	for (;; h--) {
		d = tbl_host(pt, tpa)[lv_index(pt, h, iova)];
		if (!pt_valid(f, d))
			return -ENOENT;
		if (h == 0 || !pt_is_table(f, d))
			break;
		tpa = lv_table(pt, d);
	}
	*pa = pt_addr(f, lv_shift(pt, h), d) |
	      (iova & ((UINT64_C(1) << lv_shift(pt, h)) - 1));
	if (prot)
		*prot = pt_attrs_prot(f, pt->flags, d);
	return 0;
}

UIOMMU_API int uiommu_pgtable_iova_to_phys(const struct uiommu_pgtable *pt,
					   uint64_t iova, uint64_t *pa,
					   uint32_t *prot)
{
	if (uio_unlikely(!pt || !pa))
		return uio_fail(-EINVAL, SUBSYS, "iova_to_phys: NULL argument");
	if (uio_unlikely(iova >> pt->wc.ias))
		return -ERANGE;
	switch (pt->wc.format) {
	case UIOMMU_PT_ARM_S1:
		return lookup_generic(UIOMMU_PT_ARM_S1, pt, iova, pa, prot);
	case UIOMMU_PT_ARM_S2:
		return lookup_generic(UIOMMU_PT_ARM_S2, pt, iova, pa, prot);
	case UIOMMU_PT_VTD_SS:
		return lookup_generic(UIOMMU_PT_VTD_SS, pt, iova, pa, prot);
	}
	return -EINVAL;
}

/* ------------------------------------------------------------ dump */

/* One walk over the live leaves serves the dump and the leaf iterator. */
struct dump_state {
	const struct uiommu_pgtable *pt;
	int (*leaf)(struct dump_state *s, uint64_t iova, unsigned int hleaf);
	uiommu_pt_line_fn fn;
	uiommu_pt_leaf_fn leaf_fn;
	void *opaque;
	uint64_t path[6];	/* descriptor per height along the walk */
};

static const char *level_name(enum uiommu_pt_format f, unsigned int h)
{
	static const char *const vtd[] = { "PTE", "PDE", "PDPE", "PML4E",
					   "PML5E" };
	static const char *const arm[] = { "L3E", "L2E", "L1E", "L0E" };

	return f == UIOMMU_PT_VTD_SS ? vtd[h] : arm[h];
}

static void size_name(char *buf, size_t len, uint64_t size)
{
	static const char unit[] = "KMGT";
	unsigned int u = 0;

	size >>= 10;
	while (size >= 1024 && !(size & 1023) && u < 3) {
		size >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", size, unit[u]);
}

static int dump_leaf(struct dump_state *s, uint64_t iova, unsigned int hleaf)
{
	const struct uiommu_pt_walk_cfg *wc = &s->pt->wc;
	char line[256], sz[32];
	int n, h;

	n = snprintf(line, sizeof(line), "0x%013" PRIx64 " |", iova >> 12);
	for (h = wc->levels - 1; h >= 0; h--)
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      "\t0x%016" PRIx64,
			      (unsigned int)h >= hleaf ? s->path[h] : 0);
	size_name(sz, sizeof(sz), UINT64_C(1) << lv_shift(s->pt, hleaf));
	snprintf(line + n, sizeof(line) - (size_t)n, "\t%s", sz);
	return s->fn(s->opaque, line);
}

static int dump_table(struct dump_state *s, uint64_t tpa, unsigned int h,
		      uint64_t base)
{
	const struct uiommu_pgtable *pt = s->pt;
	enum uiommu_pt_format f = pt->wc.format;
	const uint64_t *tbl = tbl_host(pt, tpa);
	unsigned int i, n = 1u << lv_bits(pt, h);
	int ret;

	for (i = 0; i < n; i++) {
		uint64_t d = tbl[i];
		uint64_t iova = base + ((uint64_t)i << lv_shift(pt, h));

		if (!pt_valid(f, d))
			continue;
		s->path[h] = d;
		if (h == 0 || !pt_is_table(f, d))
			ret = s->leaf(s, iova, h);
		else
			ret = dump_table(s, lv_table(pt, d),
					 h - 1, iova);
		if (ret)
			return ret;
	}
	return 0;
}

UIOMMU_API int uiommu_pgtable_dump_lines(const struct uiommu_pgtable *pt,
					 uiommu_pt_line_fn fn, void *opaque)
{
	struct dump_state s = { .pt = pt, .leaf = dump_leaf, .fn = fn,
				.opaque = opaque };
	char line[160];
	int n, h, ret;

	n = snprintf(line, sizeof(line), "IOVA_PFN\t");
	for (h = pt->wc.levels - 1; h >= 0; h--)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "\t%-18s",
			      level_name(pt->wc.format, (unsigned int)h));
	snprintf(line + n, sizeof(line) - (size_t)n, "\tSIZE");
	ret = fn(opaque, line);
	if (ret)
		return ret;
	return dump_table(&s, pt->root, pt->wc.levels - 1u, 0);
}

static int visit_leaf(struct dump_state *s, uint64_t iova, unsigned int hleaf)
{
	const struct uiommu_pgtable *pt = s->pt;
	enum uiommu_pt_format f = pt->wc.format;
	unsigned int shift = lv_shift(pt, hleaf);
	uint64_t d = s->path[hleaf];
	struct uiommu_pt_leaf l = {
		.iova = iova,
		.pa = pt_addr(f, shift, d),
		.size = UINT64_C(1) << shift,
		.prot = pt_attrs_prot(f, pt->flags, d),
		.level = pt_arch_level(f, hleaf),
		.desc = d,
	};

	return s->leaf_fn(s->opaque, &l);
}

UIOMMU_API int uiommu_pgtable_for_each_leaf(const struct uiommu_pgtable *pt,
					    uiommu_pt_leaf_fn fn, void *opaque)
{
	struct dump_state s = { .pt = pt, .leaf = visit_leaf, .leaf_fn = fn,
				.opaque = opaque };

	if (!pt || !fn)
		return uio_fail(-EINVAL, SUBSYS, "for_each_leaf: NULL argument");
	return dump_table(&s, pt->root, pt->wc.levels - 1u, 0);
}

static int dump_to_file(void *opaque, const char *line)
{
	return fprintf((FILE *)opaque, "%s\n", line) < 0 ? -EIO : 0;
}

UIOMMU_API int uiommu_pgtable_dump(const struct uiommu_pgtable *pt, FILE *f)
{
	if (!pt || !f)
		return uio_fail(-EINVAL, SUBSYS, "dump: NULL argument");
	return uiommu_pgtable_dump_lines(pt, dump_to_file, f);
}

/* ------------------------------------------------------------ check */

/*
 * The checker allocates nothing (debug builds run it inside fail-Nth
 * sweeps): a table linked twice shows as more reachable tables than
 * accounted.
 */
struct check_state {
	const struct uiommu_pgtable *pt;
	uint64_t tables;
};

static int check_table(struct check_state *c, uint64_t tpa, unsigned int h,
		       uint64_t base)
{
	const struct uiommu_pgtable *pt = c->pt;
	const struct uiommu_pt_walk_cfg *wc = &pt->wc;
	enum uiommu_pt_format f = wc->format;
	unsigned int i, n = 1u << lv_bits(pt, h), valid = 0;
	const uint64_t *tbl;
	int ret;

	if (tpa < pt->pool_base || tpa - pt->pool_base >= pt->pool_size ||
	    (tpa & ((tpa == pt->root ? 8 : table_bytes(pt)) - 1)))
		return uio_fail(-EUCLEAN, SUBSYS,
				"check: table 0x%" PRIx64 " for iova 0x%" PRIx64
				" outside the pool or misaligned", tpa, base);
	c->tables++;
	tbl = tbl_host(pt, tpa);
	for (i = 0; i < n; i++) {
		uint64_t d = tbl[i], iova = base + ((uint64_t)i << lv_shift(pt, h));
		uint64_t oa, sz = UINT64_C(1) << lv_shift(pt, h);

		if (!pt_valid(f, d))
			continue;
		valid++;
		if (h > 0 && pt_is_table(f, d)) {
			ret = check_table(c, lv_table(pt, d),
					  h - 1, iova);
			if (ret)
				return ret;
			continue;
		}
		oa = lv_table(pt, d);
		if (!(pt->leaf_heights & (1u << h)) || (oa & (sz - 1)) ||
		    (oa >> wc->oas) || (h == 0 && pt_is_arm(f) && !pt_is_table(f, d)))
			return uio_fail(-EUCLEAN, SUBSYS,
					"check: bad leaf 0x%016" PRIx64
					" for iova 0x%" PRIx64 " at level %d",
					d, iova, pt_arch_level(f, h));
	}
	if (valid != *tbl_meta(pt, tpa))
		return uio_fail(-EUCLEAN, SUBSYS,
				"check: table 0x%" PRIx64 " has %u entries, counted %u",
				tpa, valid, *tbl_meta(pt, tpa));
	if (!valid && tpa != pt->root)
		return uio_fail(-EUCLEAN, SUBSYS,
				"check: empty table 0x%" PRIx64 " still linked",
				tpa);
	return 0;
}

UIOMMU_API int uiommu_pgtable_check(const struct uiommu_pgtable *pt)
{
	struct check_state c = { .pt = pt };
	int ret;

	if (!pt)
		return uio_fail(-EINVAL, SUBSYS, "check: NULL table");
	ret = check_table(&c, pt->root, pt->wc.levels - 1u, 0);
	if (!ret && c.tables != pt->nr_tables)
		ret = uio_fail(-EUCLEAN, SUBSYS,
			       "check: %" PRIu64 " tables reachable, %" PRIu64
			       " accounted", c.tables, pt->nr_tables);
	return ret;
}
