// SPDX-License-Identifier: MIT
/*
 * The page pool: a buddy allocator over a RAM range of an address space,
 * handing out zeroed blocks of 4 KiB << order, each aligned to its size in
 * *physical* address space (a 2 MiB stage-2 concatenated table must sit at
 * a 2 MiB-aligned PA, wherever the host buffer is).
 *
 * The state lives outside the emulated RAM, so a device scribbling over
 * free pool memory cannot corrupt the allocator: one struct pool_page per
 * 4 KiB page.  Only the first page of a block (its head) says anything:
 * free (linked into the free list of its order) or used (pointing to the
 * block's record); every other page is "inner".  The buddy of the block at
 * physical address pa of order k is at pa ^ (4 KiB << k); two free buddies
 * of the same order are always merged, so a free block's buddy is never a
 * free head of its order (the checker verifies it).
 *
 * The range need not be a power of two nor aligned to one: it is seeded
 * with the largest naturally aligned blocks that tile it, and a buddy that
 * would stick out of the range is treated as in use.
 *
 * Every allocation also allocates the block's record through the
 * allocation hook, before taking the pool lock, so a fail-Nth sweep of an
 * operation that takes pool pages fails there too and nothing changes.
 * One mutex per pool; zeroing happens outside it.
 */
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "lock.h"
#include "log.h"
#include "trace.h"

#include "physmem-internal.h"

#define POOL_SHIFT	12
#define POOL_PAGE	(UINT64_C(1) << POOL_SHIFT)
#define POOL_ORDERS	32		/* 4 KiB .. 8 TiB */
#define POOL_NIL	UINT32_MAX

enum pool_state {
	PG_INNER = 0,
	PG_FREE,
	PG_USED,
};

/* The record of a live block, the one hook allocation per alloc. */
struct pool_block {
	uint64_t pa;
	uint64_t size;
};

struct pool_page {
	union {
		struct {
			uint32_t next;
			uint32_t prev;
		} link;			/* PG_FREE head */
		struct pool_block *blk;	/* PG_USED head */
	} u;
	uint8_t state;
	uint8_t order;
};

struct uiommu_phys_pool {
	struct uio_pool_link link;	/* range and region, in pm's list */
	struct uiommu_physmem *pm;
	uint8_t *host;			/* host address of link.base */
	struct uio_mutex lock;
	uint32_t npages;
	struct pool_page *pages;
	uint32_t head[POOL_ORDERS];
	uint64_t bytes_in_use, blocks_in_use;
	uint64_t allocs, frees, failures;
};

static void debug_check(struct uiommu_phys_pool *p)
{
#if UIOMMU_DEBUG >= 2
	int ret = uiommu_phys_pool_check(p);

	assert(ret == 0);
	(void)ret;
#else
	(void)p;
#endif
}

static uint64_t idx_pa(const struct uiommu_phys_pool *p, uint32_t idx)
{
	return p->link.base + ((uint64_t)idx << POOL_SHIFT);
}

static uint32_t pa_idx(const struct uiommu_phys_pool *p, uint64_t pa)
{
	return (uint32_t)((pa - p->link.base) >> POOL_SHIFT);
}

static void list_push(struct uiommu_phys_pool *p, uint32_t idx,
		      unsigned int order)
{
	struct pool_page *pg = &p->pages[idx];

	pg->state = PG_FREE;
	pg->order = (uint8_t)order;
	pg->u.link.prev = POOL_NIL;
	pg->u.link.next = p->head[order];
	if (p->head[order] != POOL_NIL)
		p->pages[p->head[order]].u.link.prev = idx;
	p->head[order] = idx;
}

static void list_del(struct uiommu_phys_pool *p, uint32_t idx)
{
	struct pool_page *pg = &p->pages[idx];

	if (pg->u.link.prev != POOL_NIL)
		p->pages[pg->u.link.prev].u.link.next = pg->u.link.next;
	else
		p->head[pg->order] = pg->u.link.next;
	if (pg->u.link.next != POOL_NIL)
		p->pages[pg->u.link.next].u.link.prev = pg->u.link.prev;
	pg->state = PG_INNER;
}

/* The buddy's head index, or false if the buddy sticks out of the range. */
static bool buddy_of(const struct uiommu_phys_pool *p, uint32_t idx,
		     unsigned int order, uint32_t *bidx)
{
	uint64_t bsize = POOL_PAGE << order;
	uint64_t bpa = idx_pa(p, idx) ^ bsize;

	if (bpa < p->link.base || bpa + bsize - 1 > p->link.last ||
	    bpa + bsize - 1 < bpa)
		return false;
	*bidx = pa_idx(p, bpa);
	return true;
}

/* Tile [base, last] with the largest naturally aligned free blocks. */
static void seed(struct uiommu_phys_pool *p)
{
	uint64_t pa = p->link.base;
	unsigned int k;

	for (k = 0; k < POOL_ORDERS; k++)
		p->head[k] = POOL_NIL;
	for (;;) {
		uint64_t left = p->link.last - pa;	/* bytes - 1 */

		k = 0;
		while (k + 1 < POOL_ORDERS &&
		       uio_is_aligned(pa, POOL_PAGE << (k + 1)) &&
		       (POOL_PAGE << (k + 1)) - 1 <= left)
			k++;
		list_push(p, pa_idx(p, pa), k);
		if ((POOL_PAGE << k) - 1 == left)
			return;
		pa += POOL_PAGE << k;
	}
}

UIOMMU_API int uiommu_phys_pool_create(struct uiommu_physmem *pm,
				       uint64_t base, uint64_t size,
				       struct uiommu_phys_pool **out)
{
	struct uiommu_phys_pool *p;
	int ret;

	if (!pm || !out)
		return uio_fail(-EINVAL, "physmem",
				"NULL argument to pool_create");
	if (size == 0 || !uio_is_aligned(size, POOL_PAGE) ||
	    !uio_is_aligned(base, POOL_PAGE) ||
	    (size >> POOL_SHIFT) >= POOL_NIL)
		return uio_fail(-EINVAL, "physmem",
				"pool base 0x%" PRIx64 " size 0x%" PRIx64
				" not 4 KiB aligned, zero or too large",
				base, size);
	if (base + size - 1 < base)
		return uio_fail(-EFAULT, "physmem",
				"pool 0x%" PRIx64 "+0x%" PRIx64 " wraps", base,
				size);
	p = uio_new(struct uiommu_phys_pool);
	if (!p)
		goto err_nomem;
	p->npages = (uint32_t)(size >> POOL_SHIFT);
	p->pages = uio_calloc(p->npages, sizeof(p->pages[0]));
	if (!p->pages)
		goto err_free_pool;
	p->pm = pm;
	p->link.base = base;
	p->link.last = base + size - 1;
	ret = uio_physmem_pool_claim(pm, &p->link);
	if (ret)
		goto err_free_pages;
	p->host = p->link.region->host + (base - p->link.region->base);
	uio_mutex_init(&p->lock);
	seed(p);
	debug_check(p);
	*out = p;
	return 0;

err_free_pages:
	uio_free_array(p->pages, p->npages, sizeof(p->pages[0]));
	uio_delete(p);
	return ret;
err_free_pool:
	uio_delete(p);
err_nomem:
	return uio_fail(-ENOMEM, "physmem", "no memory for a pool of 0x%"
			PRIx64 " bytes", size);
}

UIOMMU_API void uiommu_phys_pool_destroy(struct uiommu_phys_pool *p)
{
	uint32_t i;

	if (!p)
		return;
	for (i = 0; i < p->npages; i++)
		if (p->pages[i].state == PG_USED)
			uio_delete(p->pages[i].u.blk);
	uio_physmem_pool_release(p->pm, &p->link);
	uio_mutex_destroy(&p->lock);
	uio_free_array(p->pages, p->npages, sizeof(p->pages[0]));
	uio_delete(p);
}

/* Order of a block of @size bytes, or -1 if @size is not a valid one. */
static int size_order(uint64_t size)
{
	if (size < POOL_PAGE || !uio_is_pow2(size))
		return -1;
	return (int)(uio_fls64(size) - POOL_SHIFT);
}

/* Take a free block of @order, splitting a larger one (lock held). */
static bool take_block(struct uiommu_phys_pool *p, unsigned int order,
		       uint32_t *idx_out)
{
	unsigned int j = order;
	uint32_t idx;

	uio_assert_held(&p->lock);
	while (j < POOL_ORDERS && p->head[j] == POOL_NIL)
		j++;
	if (j == POOL_ORDERS)
		return false;
	idx = p->head[j];
	list_del(p, idx);
	while (j > order) {
		j--;
		list_push(p, idx + (UINT32_C(1) << j), j);
	}
	*idx_out = idx;
	return true;
}

UIOMMU_API int uiommu_phys_pool_alloc(struct uiommu_phys_pool *p,
				      uint64_t size, uint64_t *pa)
{
	struct pool_block *blk;
	int order = size_order(size);
	uint32_t idx;

	if (!p || !pa || order < 0)
		return uio_fail(-EINVAL, "physmem", "pool block of 0x%" PRIx64
				" bytes: not a power of two >= 4 KiB", size);
	blk = order < POOL_ORDERS ? uio_new(struct pool_block) : NULL;
	uio_lock(&p->lock);
	if (!blk || !take_block(p, (unsigned int)order, &idx)) {
		p->failures++;
		uio_unlock(&p->lock);
		uio_delete(blk);
		return uio_fail(-ENOMEM, "physmem",
				"pool 0x%" PRIx64 ": no free block of 0x%"
				PRIx64 " bytes%s", p->link.base, size,
				blk || order >= POOL_ORDERS ? "" :
				" (no memory for its record)");
	}
	blk->pa = idx_pa(p, idx);
	blk->size = size;
	p->pages[idx].state = PG_USED;
	p->pages[idx].order = (uint8_t)order;
	p->pages[idx].u.blk = blk;
	p->bytes_in_use += size;
	p->blocks_in_use++;
	p->allocs++;
	uio_unlock(&p->lock);

	/* The block is ours alone now: zero it outside the lock. */
	memset(p->host + ((uint64_t)idx << POOL_SHIFT), 0, (size_t)size);
	trace_pool_alloc(p->link.base, size, blk->pa);
	*pa = blk->pa;
	debug_check(p);
	return 0;
}

UIOMMU_API int uiommu_phys_pool_free(struct uiommu_phys_pool *p, uint64_t pa,
				     uint64_t size)
{
	struct pool_block *blk;
	int order = size_order(size);
	unsigned int k;
	uint32_t idx, bidx;

	if (!p || order < 0 || pa < p->link.base || pa > p->link.last ||
	    !uio_is_aligned(pa, POOL_PAGE))
		goto err_inval;
	idx = pa_idx(p, pa);
	uio_lock(&p->lock);
	if (p->pages[idx].state != PG_USED || p->pages[idx].order != order) {
		uio_unlock(&p->lock);
		goto err_inval;
	}
	blk = p->pages[idx].u.blk;
	p->bytes_in_use -= size;
	p->blocks_in_use--;
	p->frees++;
	/* Merge with free buddies as far as they go. */
	for (k = (unsigned int)order; k + 1 < POOL_ORDERS; k++) {
		if (!buddy_of(p, idx, k, &bidx) ||
		    p->pages[bidx].state != PG_FREE ||
		    p->pages[bidx].order != k)
			break;
		list_del(p, bidx);
		p->pages[idx].state = PG_INNER;
		if (bidx < idx)
			idx = bidx;
	}
	list_push(p, idx, k);
	uio_unlock(&p->lock);
	uio_delete(blk);
	trace_pool_free(p->link.base, pa, size);
	debug_check(p);
	return 0;

err_inval:
	return uio_fail(-EINVAL, "physmem",
			"pool free of 0x%" PRIx64 "+0x%" PRIx64
			": not an allocated block", pa, size);
}

UIOMMU_API void uiommu_phys_pool_get_stats(struct uiommu_phys_pool *p,
					   struct uiommu_phys_pool_stats *st)
{
	int k;

	memset(st, 0, sizeof(*st));
	uio_lock(&p->lock);
	st->base = p->link.base;
	st->size = p->link.last - p->link.base + 1;
	st->bytes_in_use = p->bytes_in_use;
	st->blocks_in_use = p->blocks_in_use;
	for (k = POOL_ORDERS - 1; k >= 0; k--) {
		if (p->head[k] != POOL_NIL) {
			st->largest_free = POOL_PAGE << k;
			break;
		}
	}
	st->allocs = p->allocs;
	st->frees = p->frees;
	st->failures = p->failures;
	uio_unlock(&p->lock);
}

UIOMMU_API struct uiommu_physmem *
uiommu_phys_pool_physmem(struct uiommu_phys_pool *p)
{
	return p->pm;
}

/* ------------------------------------------------------------ checker */

static int pool_check_fail(const struct uiommu_phys_pool *p, const char *what,
			   uint64_t a)
{
	return uio_fail(-EUCLEAN, "physmem",
			"pool 0x%" PRIx64 " invariant broken: %s (0x%" PRIx64
			")", p->link.base, what, a);
}

static int check_lists(const struct uiommu_phys_pool *p, uint64_t *nfree)
{
	unsigned int k;

	*nfree = 0;
	for (k = 0; k < POOL_ORDERS; k++) {
		uint32_t idx, prev = POOL_NIL;

		for (idx = p->head[k]; idx != POOL_NIL;
		     idx = p->pages[idx].u.link.next) {
			const struct pool_page *pg = &p->pages[idx];

			if (idx >= p->npages || pg->state != PG_FREE ||
			    pg->order != k || pg->u.link.prev != prev ||
			    ++*nfree > p->npages)
				return pool_check_fail(p, "free list",
						       idx_pa(p, idx));
			prev = idx;
		}
	}
	return 0;
}

/* One block at @idx: aligned, inside, inner pages inner, buddies merged. */
static int check_block(const struct uiommu_phys_pool *p, uint32_t idx,
		       uint64_t *bytes, uint64_t *nfree)
{
	const struct pool_page *pg = &p->pages[idx];
	uint64_t pa = idx_pa(p, idx), size = POOL_PAGE << pg->order;
	uint32_t i, bidx;

	if (pg->order >= POOL_ORDERS || !uio_is_aligned(pa, size) ||
	    size - 1 > p->link.last - pa)
		return pool_check_fail(p, "block misplaced", pa);
	for (i = 1; i < (size >> POOL_SHIFT); i++)
		if (p->pages[idx + i].state != PG_INNER)
			return pool_check_fail(p, "head inside a block",
					       pa + ((uint64_t)i << POOL_SHIFT));
	if (pg->state == PG_USED) {
		if (!pg->u.blk || pg->u.blk->pa != pa || pg->u.blk->size != size)
			return pool_check_fail(p, "block record", pa);
		*bytes += size;
	} else {
		(*nfree)++;
		if (buddy_of(p, idx, pg->order, &bidx) &&
		    p->pages[bidx].state == PG_FREE &&
		    p->pages[bidx].order == pg->order)
			return pool_check_fail(p, "unmerged free buddies", pa);
	}
	return 0;
}

UIOMMU_API int uiommu_phys_pool_check(struct uiommu_phys_pool *p)
{
	uint64_t bytes = 0, nfree = 0, listed, used = 0;
	uint32_t idx;
	int ret;

	if (!p)
		return uio_fail(-EINVAL, "physmem", "NULL pool");
	uio_lock(&p->lock);
	ret = check_lists(p, &listed);
	for (idx = 0; !ret && idx < p->npages;) {
		const struct pool_page *pg = &p->pages[idx];

		if (pg->state == PG_INNER) {
			ret = pool_check_fail(p, "page outside any block",
					      idx_pa(p, idx));
			break;
		}
		used += pg->state == PG_USED;
		ret = check_block(p, idx, &bytes, &nfree);
		if (ret)
			break;
		idx += UINT32_C(1) << pg->order;
	}
	if (!ret && (nfree != listed || bytes != p->bytes_in_use ||
		     used != p->blocks_in_use ||
		     p->allocs - p->frees != p->blocks_in_use))
		ret = pool_check_fail(p, "accounting", bytes);
	uio_unlock(&p->lock);
	return ret;
}
