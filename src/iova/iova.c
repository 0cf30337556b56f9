// SPDX-License-Identifier: MIT
/*
 * IOVA allocator: the public API and the range tree.
 *
 * The tree holds every allocated, cached and reserved range of a domain,
 * plus a sentinel just above the space.  It is an AVL tree (worst-case
 * height 1.44 log2 n) keyed by first pfn, where each node also owns the
 * free gap just below it, and each subtree records:
 *   - max_gap: its largest gap, so "the highest gap of at least N granules
 *     below the limit" is one descent;
 *   - max order: the largest size-aligned power-of-two block one of its
 *     gaps can hold, so size-aligned requests are one descent too;
 *   - the set of gap size classes (fls of the length), for good fit.
 * Only the gap that contains the limit is clipped by it, and it is found
 * directly (the gap below the first node above the limit); every other gap
 * below the limit lies wholly below it.  So allocation, including a request
 * that cannot fit, costs O(log n) whatever the fragmentation.
 *
 * Locking: tree_lock protects the tree, its counters and the node pool.
 * The per-thread caches (iova-cache.c) work without it.
 */
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "iova-tree.h"
#include "log.h"
#include "trace.h"

#define CHUNK_NODES 64
#define HOT static inline __attribute__((always_inline))

static uint64_t next_domain_id = 1;

/* ---------------------------------------------------------- node fields */

static inline uint64_t n_gap(const struct iova_node *n)
{
	return n->gap_w & W_LOW_MASK;
}

static inline int n_maxord(const struct iova_node *n)
{
	return (int)(n->gap_w >> W_HIGH_SHIFT) - 1;
}

static inline uint64_t n_cls(const struct iova_node *n)
{
	return n->cls_w & W_LOW_MASK;
}

static inline unsigned int n_height(const struct iova_node *n)
{
	return n ? (unsigned int)(n->cls_w >> W_HIGH_SHIFT) : 0;
}

static inline void set_gap(struct iova_node *n, uint64_t gap)
{
	assert(gap <= W_LOW_MASK);
	n->gap_w = (n->gap_w & ~W_LOW_MASK) | gap;
}

/* Lowest pfn of the gap below @n. */
static inline uint64_t gap_base(const struct iova_node *n)
{
	return node_first(n) - n_gap(n);
}

/* Largest k such that a 2^k-aligned block of 2^k granules fits in the gap
 * [first - gap, first - 1], or -1 for an empty gap.  If order fls(gap)
 * does not fit, fls(gap) - 1 always does. */
HOT int gap_order(uint64_t first, uint64_t gap)
{
	unsigned int f;
	uint64_t base;

	if (!gap)
		return -1;
	f = uio_fls64(gap);
	base = first - gap;
	if (uio_align_up(base, UIO_BIT(f)) + UIO_BIT(f) - 1 <= first - 1)
		return (int)f;
	return (int)f - 1;
}

static inline uint64_t gap_class_bit(uint64_t gap)
{
	return gap ? UIO_BIT(uio_fls64(gap)) : 0;
}

/*
 * Recompute the augmented fields of @n from its own gap and children.
 * The bottom gap (that of the lowest node, starting at @lo, the first pfn
 * of the space) is left out of the subtree data: in a top-down allocator it
 * is the big free run that every allocation below the lowest range shrinks,
 * and keeping it out means such an allocation touches no ancestor's data.
 * Searches check it separately, last, as it is the lowest gap.
 */
HOT void update(struct iova_node *n, uint64_t lo)
{
	/* The high bytes of gap_w (max order + 1) and cls_w (height)
	 * combine with max() like the low bits of cls_w with OR. */
	uint64_t g = n_gap(n), first = node_first(n);
	uint64_t eg = first - g == lo ? 0 : g;
	uint64_t mg = eg, cls = gap_class_bit(eg);
	uint64_t ow = (uint64_t)(gap_order(first, eg) + 1) << W_HIGH_SHIFT;
	uint64_t hw = 0;
	const struct iova_node *l = n->left, *r = n->right;

	if (l) {
		mg = l->max_gap > mg ? l->max_gap : mg;
		ow = (l->gap_w & ~W_LOW_MASK) > ow ? (l->gap_w & ~W_LOW_MASK) : ow;
		cls |= l->cls_w & W_LOW_MASK;
		hw = l->cls_w & ~W_LOW_MASK;
	}
	if (r) {
		mg = r->max_gap > mg ? r->max_gap : mg;
		ow = (r->gap_w & ~W_LOW_MASK) > ow ? (r->gap_w & ~W_LOW_MASK) : ow;
		cls |= r->cls_w & W_LOW_MASK;
		hw = (r->cls_w & ~W_LOW_MASK) > hw ? (r->cls_w & ~W_LOW_MASK) : hw;
	}
	n->max_gap = mg;
	n->gap_w = g | ow;
	n->cls_w = cls | (hw + (UINT64_C(1) << W_HIGH_SHIFT));
}

/* ------------------------------------------------------------ AVL tree */

static struct iova_node *rot_right(struct iova_node *n, uint64_t lo)
{
	struct iova_node *l = n->left;

	n->left = l->right;
	l->right = n;
	update(n, lo);
	update(l, lo);
	return l;
}

static struct iova_node *rot_left(struct iova_node *n, uint64_t lo)
{
	struct iova_node *r = n->right;

	n->right = r->left;
	r->left = n;
	update(n, lo);
	update(r, lo);
	return r;
}

static struct iova_node *balance(struct iova_node *n, uint64_t lo)
{
	int bf;

	update(n, lo);
	bf = (int)n_height(n->left) - (int)n_height(n->right);
	if (bf > 1) {
		if (n_height(n->left->left) < n_height(n->left->right))
			n->left = rot_left(n->left, lo);
		return rot_right(n, lo);
	}
	if (bf < -1) {
		if (n_height(n->right->right) < n_height(n->right->left))
			n->right = rot_right(n->right, lo);
		return rot_left(n, lo);
	}
	return n;
}

/*
 * Insertion and deletion are iterative over a recorded path of child links,
 * so that the walk back up can stop as soon as a node comes out of
 * rebalancing unchanged (same node, height and subtree data) once past the
 * node whose own gap changed: nothing above it can change then.
 */
#define PATH_MAX_DEPTH 96	/* AVL height bound for 2^64 nodes is 93 */

struct path {
	struct iova_node **link[PATH_MAX_DEPTH];
	int n;
};

/* Rebalance levels @from..0 of @p; levels at or above @dirty (the node
 * whose gap changed) may stop early. */
static void fix_up(struct path *p, int from, int dirty, uint64_t lo)
{
	int i;

	for (i = from; i >= 0; i--) {
		struct iova_node *n = *p->link[i], *m;
		uint64_t gw = n->gap_w, mg = n->max_gap, cw = n->cls_w;

		m = balance(n, lo);
		*p->link[i] = m;
		if (i <= dirty && m == n && n->gap_w == gw &&
		    n->max_gap == mg && n->cls_w == cw)
			return;
	}
}

/* Insert leaf @x whose successor @succ just had its gap changed. */
static void avl_insert_at(struct uiommu_iova_domain *dom, struct iova_node *x,
			  struct iova_node *succ)
{
	struct path p;
	struct iova_node *n;
	uint64_t key = node_first(x);
	int dirty = 0;

	p.n = 0;
	p.link[p.n++] = &dom->root;
	while ((n = *p.link[p.n - 1])) {
		if (n == succ)
			dirty = p.n - 1;
		assert(p.n < PATH_MAX_DEPTH);
		p.link[p.n++] = key < node_first(n) ? &n->left : &n->right;
	}
	*p.link[p.n - 1] = x;
	update(x, dom->start_pfn);
	fix_up(&p, p.n - 2, dirty, dom->start_pfn);
}

/* Remove @x and credit its range and gap to its successor's gap. */
static void avl_remove(struct uiommu_iova_domain *dom, struct iova_node *x)
{
	struct path p;
	struct iova_node *n, *succ, *c;
	uint64_t key = node_first(x);
	int k, last_left = -1, dirty;

	p.n = 0;
	p.link[p.n++] = &dom->root;
	while ((n = *p.link[p.n - 1]) != x) {
		assert(n && p.n < PATH_MAX_DEPTH);
		if (key < node_first(n)) {
			last_left = p.n - 1;
			p.link[p.n++] = &n->left;
		} else {
			p.link[p.n++] = &n->right;
		}
	}
	k = p.n - 1;
	if (x->left && x->right) {
		/* The successor is the minimum of the right subtree: it takes
		 * x's place. */
		p.link[p.n++] = &x->right;
		while ((*p.link[p.n - 1])->left) {
			assert(p.n < PATH_MAX_DEPTH);
			p.link[p.n] = &(*p.link[p.n - 1])->left;
			p.n++;
		}
		succ = *p.link[p.n - 1];
		set_gap(succ, n_gap(succ) + n_gap(x) + node_len(x));
		*p.link[p.n - 1] = succ->right;
		succ->left = x->left;
		succ->right = x->right;
		/* fix_up() compares a level with what it summarised before:
		 * at level k that is x's summary, not succ's old one. */
		succ->gap_w = n_gap(succ) | (x->gap_w & ~W_LOW_MASK);
		succ->max_gap = x->max_gap;
		succ->cls_w = x->cls_w;
		*p.link[k] = succ;
		p.link[k + 1] = &succ->right;
		fix_up(&p, p.n - 2, k, dom->start_pfn);
		return;
	}
	c = x->left ? x->left : x->right;
	if (x->right) {
		/* A lone right child is a leaf: the successor. */
		succ = c;
		dirty = k;
	} else {
		assert(last_left >= 0);	/* the sentinel is above x */
		succ = *p.link[last_left];
		dirty = last_left;
	}
	set_gap(succ, n_gap(succ) + n_gap(x) + node_len(x));
	*p.link[k] = c;
	if (c)
		update(c, dom->start_pfn);
	fix_up(&p, k - 1, dirty, dom->start_pfn);
}

/* Node with the greatest first <= @pfn, or NULL. */
static struct iova_node *find_le(struct iova_node *n, uint64_t pfn)
{
	struct iova_node *best = NULL;

	while (n) {
		if (node_first(n) <= pfn) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* Node with the smallest first > @pfn; never NULL for a pfn inside the
 * space (the sentinel bounds it). */
static struct iova_node *find_gt(struct iova_node *n, uint64_t pfn)
{
	struct iova_node *best = NULL;

	while (n) {
		if (node_first(n) > pfn) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	if (!best)
		__builtin_unreachable();
	return best;
}

/* ---------------------------------------------------------- node pool */

static struct iova_node *pool_get(struct uiommu_iova_domain *dom)
{
	struct iova_node *n;

	if (!dom->pool) {
		struct iova_node *chunk;
		unsigned int i;

		chunk = uio_alloc_aligned(CHUNK_NODES * sizeof(*chunk), 64);
		if (!chunk)
			return NULL;
		*(void **)chunk = dom->chunks;
		dom->chunks = chunk;
		for (i = CHUNK_NODES - 1; i >= 1; i--) {
			__atomic_store_n(&chunk[i].state, ST_POOL,
					 __ATOMIC_RELAXED);
			chunk[i].left = dom->pool;
			dom->pool = &chunk[i];
		}
	}
	n = dom->pool;
	dom->pool = n->left;
	n->left = NULL;
	n->right = NULL;
	return n;
}

static void pool_put(struct uiommu_iova_domain *dom, struct iova_node *n)
{
	/* The memory stays a node until destroy: a lock-free reader that
	 * still holds a stale pointer sees a state that matches no pfn. */
	__atomic_store_n(&n->state, ST_POOL, __ATOMIC_RELEASE);
	n->left = dom->pool;
	dom->pool = n;
}

/* ------------------------------------------------------ gap searches */

/* What a gap must satisfy: at least @pages granules, or hold a
 * 2^@order-aligned block (@order >= 0), or have size class @cls. */
struct fitq {
	uint64_t pages;
	int order;
	int cls;
};

HOT bool own_ok(const struct iova_node *n, const struct fitq *q)
{
	uint64_t g = n_gap(n);

	if (q->cls >= 0)
		return g && uio_fls64(g) == (unsigned int)q->cls;
	if (q->order >= 0)
		return gap_order(node_first(n), g) >= q->order;
	return g >= q->pages;
}

HOT bool sub_ok(const struct iova_node *n, const struct fitq *q)
{
	if (q->cls >= 0)
		return n_cls(n) & UIO_BIT(q->cls);
	if (q->order >= 0)
		return n_maxord(n) >= q->order;
	return n->max_gap >= q->pages;
}

/* Highest node of subtree @n whose own gap satisfies @q; one must exist. */
static struct iova_node *descend(struct iova_node *n, const struct fitq *q)
{
	for (;;) {
		if (n->right && sub_ok(n->right, q))
			n = n->right;
		else if (own_ok(n, q))
			return n;
		else
			n = n->left;
	}
}

/*
 * Highest node with first <= @limit whose gap satisfies @q.  One recursive
 * call per level along the path to @limit, plus at most one descend().
 */
static struct iova_node *search_le(struct iova_node *n, uint64_t limit,
				   const struct fitq *q)
{
	struct iova_node *r;

	if (!n || !sub_ok(n, q))
		return NULL;
	if (node_first(n) > limit)
		return search_le(n->left, limit, q);
	r = search_le(n->right, limit, q);
	if (r)
		return r;
	if (own_ok(n, q))
		return n;
	if (n->left && sub_ok(n->left, q))
		return descend(n->left, q);
	return NULL;
}

/* Size classes of the gaps of all nodes with first <= @limit, but for the
 * bottom gap (see update()). */
static uint64_t classes_le(struct iova_node *n, uint64_t limit, uint64_t lo)
{
	uint64_t acc = 0;

	while (n) {
		if (node_first(n) <= limit) {
			if (gap_base(n) != lo)
				acc |= gap_class_bit(n_gap(n));
			if (n->left)
				acc |= n_cls(n->left);
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return acc;
}

static struct iova_node *leftmost(struct iova_node *n)
{
	while (n->left)
		n = n->left;
	return n;
}

/* Top-down placement of @pages in [base, top]: the start pfn, or false. */
static bool fit_in(uint64_t base, uint64_t top, uint64_t pages, int order,
		   uint64_t *start)
{
	uint64_t s;

	if (top < base || top - base + 1 < pages)
		return false;
	s = top - pages + 1;
	if (order >= 0)
		s = uio_align_down(s, UIO_BIT(order));
	if (s < base)
		return false;
	*start = s;
	return true;
}

/* Smallest gap class whose every member holds the request. */
static unsigned int class_needed(uint64_t pages, int order)
{
	if (order >= 0)
		return (unsigned int)order + 1;
	return uio_fls64(pages) + !uio_is_pow2(pages);
}

/*
 * Choose the gap for a request: the node whose gap gets the range, and the
 * top of the usable part of that gap.  NULL if nothing fits.
 */
static struct iova_node *choose_gap(struct uiommu_iova_domain *dom,
				    uint64_t pages, uint64_t limit, int order,
				    bool best_fit, uint64_t *top)
{
	struct iova_node *s = find_gt(dom->root, limit), *g;
	struct iova_node *low = leftmost(dom->root);
	struct fitq q = { pages, order, -1 };
	uint64_t clip_len = 0, start;
	/* The bottom gap lies wholly below the limit: it is not clipped
	 * and is the last candidate of every search. */
	bool bottom = node_first(low) <= limit && n_gap(low);

	/* The one gap that contains the limit, clipped by it. */
	if (n_gap(s) && gap_base(s) <= limit)
		clip_len = limit - gap_base(s) + 1;

	if (best_fit) {
		unsigned int need = class_needed(pages, order);
		uint64_t mask = classes_le(dom->root, limit, dom->start_pfn) |
				gap_class_bit(clip_len) |
				(bottom ? gap_class_bit(n_gap(low)) : 0);

		mask = need < W_LOW_BITS ? mask & ~(UIO_BIT(need) - 1) : 0;
		if (mask) {
			q.cls = (int)uio_ffs64(mask);
			if (clip_len && uio_fls64(clip_len) == (unsigned int)q.cls) {
				*top = limit;
				return s;
			}
			g = search_le(dom->root, limit, &q);
			if (!g) {
				assert(bottom && own_ok(low, &q));
				g = low;
			}
			*top = node_first(g) - 1;
			return g;
		}
		q.cls = -1;
	}
	if (clip_len && fit_in(gap_base(s), limit, pages, order, &start)) {
		*top = limit;
		return s;
	}
	g = search_le(dom->root, limit, &q);
	if (!g && bottom && own_ok(low, &q))
		g = low;
	if (g)
		*top = node_first(g) - 1;
	return g;
}

/* Put @x (state and last set) into the tree inside the gap of @succ. */
static void tree_insert(struct uiommu_iova_domain *dom, struct iova_node *x,
			struct iova_node *succ)
{
	uint64_t base = gap_base(succ);

	assert(base <= node_first(x) && x->last < node_first(succ));
	x->gap_w = node_first(x) - base;
	x->cls_w = 0;
	/* succ is an ancestor of the new leaf: the insertion path
	 * recomputes its augmented fields. */
	set_gap(succ, node_first(succ) - x->last - 1);
	avl_insert_at(dom, x, succ);
}

static void tree_remove(struct uiommu_iova_domain *dom, struct iova_node *x)
{
	avl_remove(dom, x);
}

int uio_iova_tree_alloc(struct uiommu_iova_domain *dom, uint64_t pages,
			uint64_t limit_pfn, int align_order, bool best_fit,
			struct iova_node **out)
{
	struct iova_node *g, *x;
	uint64_t top, start;

	uio_assert_held(&dom->tree_lock);
	g = choose_gap(dom, pages, limit_pfn, align_order, best_fit, &top);
	if (!g)
		return -ENOSPC;
	x = pool_get(dom);
	if (!x)
		return -ENOMEM;
	if (!fit_in(gap_base(g), top, pages, align_order, &start)) {
		assert(0);	/* choose_gap() checked it */
		pool_put(dom, x);
		return -ENOSPC;
	}
	x->last = start + pages - 1;
	x->cache_cls = node_cache_class(dom, start, pages);
	__atomic_store_n(&x->state, (start << ST_SHIFT) | ST_LIVE,
			 __ATOMIC_RELAXED);
	tree_insert(dom, x, g);
	dom->alloc_ranges++;
	dom->alloc_granules += pages;
	if (x->cache_cls >= 0)
		uio_iova_hash_insert(dom, x);
	*out = x;
	return 0;
}

void uio_iova_tree_release(struct uiommu_iova_domain *dom,
			   struct iova_node *n)
{
	uio_assert_held(&dom->tree_lock);
	assert(node_st(n) == ST_LIVE || node_st(n) == ST_CACHED);
	if (n->cache_cls >= 0)
		uio_iova_hash_remove(dom, n);
	dom->alloc_ranges--;
	dom->alloc_granules -= node_len(n);
	tree_remove(dom, n);
	pool_put(dom, n);
}

/* ----------------------------------------------------- invariant check */

struct check_ctx {
	struct uiommu_iova_domain *dom;
	uint64_t prev_end;	/* first pfn after the previous node */
	uint64_t alloc_ranges, alloc_granules, resv_ranges, resv_granules;
	uint64_t hashed;
	const char *why;
	uint64_t where;
};

static int check_fail(struct check_ctx *c, const char *why, uint64_t pfn)
{
	if (!c->why) {
		c->why = why;
		c->where = pfn;
	}
	return -1;
}

static int check_node(struct check_ctx *c, struct iova_node *n)
{
	struct uiommu_iova_domain *dom = c->dom;
	uint64_t first, saved_gap, saved_max, saved_cls;
	int bf;

	if (!n)
		return 0;
	saved_gap = n->gap_w;
	saved_max = n->max_gap;
	saved_cls = n->cls_w;
	if (check_node(c, n->left))
		return -1;
	first = node_first(n);
	if (first < c->prev_end || n->last < first)
		return check_fail(c, "ranges out of order or overlapping", first);
	if (n_gap(n) != first - c->prev_end)
		return check_fail(c, "gap below node is wrong", first);
	c->prev_end = n->last + 1;
	update(n, dom->start_pfn);
	if (n->gap_w != saved_gap || n->max_gap != saved_max ||
	    n->cls_w != saved_cls)
		return check_fail(c, "stale subtree gap data", first);
	bf = (int)n_height(n->left) - (int)n_height(n->right);
	if (bf < -1 || bf > 1)
		return check_fail(c, "AVL balance broken", first);
	switch (node_st(n)) {
	case ST_LIVE:
	case ST_CACHED:
		if (n->last > dom->last_pfn)
			return check_fail(c, "range beyond the space", first);
		c->alloc_ranges++;
		c->alloc_granules += node_len(n);
		if (n->cache_cls != node_cache_class(dom, first, node_len(n)))
			return check_fail(c, "cache class field is wrong", first);
		if (n->cache_cls >= 0) {
			c->hashed++;
			if (uio_iova_hash_find(dom, first) != n)
				return check_fail(c, "cached-size range missing from the hash",
						  first);
		} else if (node_st(n) == ST_CACHED) {
			return check_fail(c, "uncacheable range in a cache", first);
		}
		break;
	case ST_RESERVED:
		if (first == dom->last_pfn + 1)
			break;	/* the sentinel */
		if (n->last > dom->last_pfn)
			return check_fail(c, "reservation beyond the space", first);
		c->resv_ranges++;
		c->resv_granules += node_len(n);
		break;
	default:
		return check_fail(c, "node in the tree has a bad state", first);
	}
	return check_node(c, n->right);
}

static int check_locked(struct uiommu_iova_domain *dom)
{
	struct check_ctx c = { .dom = dom, .prev_end = dom->start_pfn };
	struct iova_node *top;

	top = dom->root;
	while (top && top->right)
		top = top->right;
	if (!top || node_first(top) != dom->last_pfn + 1 ||
	    node_st(top) != ST_RESERVED)
		check_fail(&c, "sentinel missing", dom->last_pfn + 1);
	else
		check_node(&c, dom->root);
	if (!c.why && (c.alloc_ranges != dom->alloc_ranges ||
		       c.alloc_granules != dom->alloc_granules ||
		       c.resv_ranges != dom->resv_ranges ||
		       c.resv_granules != dom->resv_granules))
		check_fail(&c, "counters disagree with the tree", 0);
	if (!c.why && dom->cache_on && c.hashed != dom->hcount)
		check_fail(&c, "hash count disagrees with the tree", 0);
	if (c.why)
		return uio_fail(-EUCLEAN, "iova",
				"domain check failed: %s at pfn 0x%" PRIx64,
				c.why, c.where);
	return 0;
}

static void debug_check(struct uiommu_iova_domain *dom)
{
#if UIOMMU_DEBUG >= 2
	int ret = check_locked(dom);

	assert(ret == 0);
	(void)ret;
#else
	(void)dom;
#endif
}

/* ------------------------------------------------------ public API */

UIOMMU_API int uiommu_iova_domain_create(const struct uiommu_iova_config *cfg,
					 struct uiommu_iova_domain **out)
{
	struct uiommu_iova_domain *dom;
	struct iova_node *sentinel;
	unsigned int shift;
	int ret;

	if (!cfg || !out)
		return uio_fail(-EINVAL, "iova", "create: NULL %s",
				cfg ? "out" : "config");
	if (cfg->granule != 4096 && cfg->granule != 16384 &&
	    cfg->granule != 65536)
		return uio_fail(-EINVAL, "iova",
				"create: granule 0x%" PRIx64 " is not 4K, 16K or 64K",
				cfg->granule);
	if (!uio_is_aligned(cfg->start, cfg->granule) ||
	    !uio_is_aligned(cfg->last + 1, cfg->granule) ||
	    cfg->last < cfg->start)
		return uio_fail(-EINVAL, "iova",
				"create: space [0x%" PRIx64 ", 0x%" PRIx64
				"] is empty or not aligned to granule 0x%" PRIx64,
				cfg->start, cfg->last, cfg->granule);
	if (cfg->cache_max_order != UIOMMU_IOVA_CACHE_OFF &&
	    cfg->cache_max_order > UIOMMU_IOVA_CACHE_MAX_ORDER)
		return uio_fail(-EINVAL, "iova",
				"create: cache_max_order %u above %u",
				cfg->cache_max_order, UIOMMU_IOVA_CACHE_MAX_ORDER);

	dom = uio_alloc_aligned(sizeof(*dom), 64);
	if (!dom)
		return -ENOMEM;
	shift = uio_ffs64(cfg->granule);
	dom->cfg = *cfg;
	dom->shift = shift;
	dom->start_pfn = cfg->start >> shift;
	dom->last_pfn = cfg->last >> shift;
	dom->cache_on = cfg->cache_max_order != UIOMMU_IOVA_CACHE_OFF;
	dom->cache_order = dom->cache_on ? cfg->cache_max_order : 0;
	if (dom->cache_on) {
		dom->fast_pages = UIO_BIT(dom->cache_order);
		if (dom->fast_pages > dom->last_pfn - dom->start_pfn + 1)
			dom->fast_pages = dom->last_pfn - dom->start_pfn + 1;
	}
	dom->id = __atomic_fetch_add(&next_domain_id, 1, __ATOMIC_RELAXED);
	uio_mutex_init_adaptive(&dom->tree_lock);
	uio_mutex_init_adaptive(&dom->depot_lock);

	sentinel = pool_get(dom);
	if (!sentinel) {
		ret = -ENOMEM;
		goto err_free_dom;
	}
	sentinel->last = dom->last_pfn + 1;
	sentinel->cache_cls = -1;
	__atomic_store_n(&sentinel->state,
			 ((dom->last_pfn + 1) << ST_SHIFT) | ST_RESERVED,
			 __ATOMIC_RELAXED);
	sentinel->gap_w = dom->last_pfn - dom->start_pfn + 1;
	update(sentinel, dom->start_pfn);
	dom->root = sentinel;

	if (dom->cache_on) {
		ret = uio_iova_cache_register(dom);
		if (ret)
			goto err_free_chunks;
	}
	trace_iova_domain_create(cfg->start, cfg->last, cfg->granule);
	*out = dom;
	return 0;

err_free_chunks:
	uio_free_aligned(dom->chunks, CHUNK_NODES * sizeof(struct iova_node),
			 64);
err_free_dom:
	uio_mutex_destroy(&dom->depot_lock);
	uio_mutex_destroy(&dom->tree_lock);
	uio_free_aligned(dom, sizeof(*dom), 64);
	return ret;
}

UIOMMU_API void uiommu_iova_domain_destroy(struct uiommu_iova_domain *dom)
{
	void *chunk, *next;

	if (!dom)
		return;
	trace_iova_domain_destroy(dom->cfg.start, dom->cfg.last,
				  dom->alloc_ranges);
	if (dom->cache_on)
		uio_iova_cache_destroy(dom);
	for (chunk = dom->chunks; chunk; chunk = next) {
		next = *(void **)chunk;
		uio_free_aligned(chunk, CHUNK_NODES * sizeof(struct iova_node),
				 64);
	}
	uio_mutex_destroy(&dom->depot_lock);
	uio_mutex_destroy(&dom->tree_lock);
	uio_free_aligned(dom, sizeof(*dom), 64);
}

/* Last pfn wholly at or below @limit, clamped to the space; false if no
 * granule of the space lies below it. */
static bool limit_to_pfn(const struct uiommu_iova_domain *dom, uint64_t limit,
			 uint64_t *pfn)
{
	uint64_t g = dom->cfg.granule, p;

	if (limit >= dom->cfg.last) {
		*pfn = dom->last_pfn;
		return true;
	}
	p = limit >> dom->shift;
	if ((limit & (g - 1)) != g - 1) {
		if (p == 0)
			return false;
		p--;
	}
	*pfn = p;
	return p >= dom->start_pfn;
}

static int tree_alloc_locked(struct uiommu_iova_domain *dom, uint64_t pages,
			     uint64_t limit_pfn, int order, bool best_fit,
			     uint64_t *pfn)
{
	struct iova_node *x;
	int ret;

	uio_lock(&dom->tree_lock);
	ret = uio_iova_tree_alloc(dom, pages, limit_pfn, order, best_fit, &x);
	if (!ret) {
		*pfn = node_first(x);
		debug_check(dom);
	}
	uio_unlock(&dom->tree_lock);
	return ret;
}

/* Requests the caches do not serve; out of line to keep the cached path
 * free of register saves. */
static __attribute__((noinline)) int
alloc_uncached(struct uiommu_iova_domain *dom, uint64_t pages,
	       uint64_t limit_pfn, unsigned int flags, uint64_t *pfn)
{
	int order = (flags & UIOMMU_IOVA_SIZE_ALIGNED) ?
		    (int)uio_ffs64(pages) : -1;
	bool best = flags & UIOMMU_IOVA_BEST_FIT;
	int ret;

	ret = tree_alloc_locked(dom, pages, limit_pfn, order, best, pfn);
	if (ret == -ENOSPC && dom->cache_on) {
		uio_iova_cache_flush_local(dom);
		ret = tree_alloc_locked(dom, pages, limit_pfn, order, best, pfn);
	}
	return ret;
}

/* Size (2^order granules) of the cache class serving @pages. */
static inline unsigned int cache_order_of(uint64_t pages)
{
	return pages == 1 ? 0 : uio_fls64(pages - 1) + 1;
}

/* Every request but the common cached one: full validation. */
static __attribute__((noinline)) int
alloc_checked(struct uiommu_iova_domain *dom, uint64_t size, uint64_t limit,
	      unsigned int flags, uint64_t *iova)
{
	uint64_t pages, limit_pfn, pfn = 0;
	int ret;

	if (uio_unlikely(!dom || !iova))
		return uio_fail(-EINVAL, "iova", "alloc: NULL %s",
				dom ? "iova" : "domain");
	pages = size >> dom->shift;
	if (uio_unlikely(!size || (size & (dom->cfg.granule - 1)) ||
			 pages > dom->last_pfn - dom->start_pfn + 1))
		return uio_fail(-EINVAL, "iova",
				"alloc: size 0x%" PRIx64 " is zero, not a multiple of the granule 0x%" PRIx64
				" or larger than the space",
				size, dom->cfg.granule);
	if (uio_unlikely(flags & ~(unsigned int)(UIOMMU_IOVA_BEST_FIT |
						 UIOMMU_IOVA_SIZE_ALIGNED)))
		return uio_fail(-EINVAL, "iova", "alloc: unknown flags 0x%x",
				flags);
	if (uio_unlikely((flags & UIOMMU_IOVA_SIZE_ALIGNED) &&
			 !uio_is_pow2(pages)))
		return uio_fail(-EINVAL, "iova",
				"alloc: size-aligned size 0x%" PRIx64 " is not a power of two granules",
				size);
	if (uio_unlikely(limit < dom->cfg.start))
		return uio_fail(-EINVAL, "iova",
				"alloc: limit 0x%" PRIx64 " below the start 0x%" PRIx64,
				limit, dom->cfg.start);
	if (uio_unlikely(!limit_to_pfn(dom, limit, &limit_pfn))) {
		ret = -ENOSPC;
		goto out_fail;
	}

	if (dom->cache_on && pages <= UIO_BIT(dom->cache_order) &&
	    !(flags & UIOMMU_IOVA_BEST_FIT)) {
		ret = uio_iova_cache_alloc(dom, cache_order_of(pages),
					   limit_pfn, &pfn);
	} else {
		ret = alloc_uncached(dom, pages, limit_pfn, flags, &pfn);
	}
	if (uio_unlikely(ret))
		goto out_fail;
	*iova = pfn << dom->shift;
	trace_iova_alloc(size, limit, *iova);
	return 0;

out_fail:
	trace_iova_alloc_fail(size, limit, ret);
	return ret;
}

UIOMMU_API int uiommu_iova_alloc(struct uiommu_iova_domain *dom, uint64_t size,
				 uint64_t limit, unsigned int flags,
				 uint64_t *iova)
{
	uint64_t pages, pfn = 0;
	int ret;

	/*
	 * The common case first, with the checks it implies folded: no
	 * flags, the limit at or above the space (so the limit pfn is the
	 * last one), size a non-zero multiple of the granule up to the
	 * largest cached size (which is no larger than the space).
	 */
	if (uio_likely(dom && iova && !flags && limit >= dom->cfg.last)) {
		pages = size >> dom->shift;
		if (uio_likely(pages - 1 < dom->fast_pages &&
			       !(size & (dom->cfg.granule - 1)))) {
			ret = uio_iova_cache_alloc(dom, cache_order_of(pages),
						   dom->last_pfn, &pfn);
			if (uio_unlikely(ret)) {
				trace_iova_alloc_fail(size, limit, ret);
				return ret;
			}
			*iova = pfn << dom->shift;
			trace_iova_alloc(size, limit, *iova);
			return 0;
		}
	}
	return alloc_checked(dom, size, limit, flags, iova);
}

/* Alloc path for cache misses: the size-aligned power-of-two block. */
int uio_iova_cache_tree_alloc(struct uiommu_iova_domain *dom,
			      unsigned int order, uint64_t limit_pfn,
			      uint64_t *pfn)
{
	return tree_alloc_locked(dom, UIO_BIT(order), limit_pfn, (int)order,
				 false, pfn);
}

/* Free @pfn through the tree, which validates authoritatively; out of
 * line so that the cached path saves no registers. */
static __attribute__((noinline)) int
free_tree(struct uiommu_iova_domain *dom, uint64_t iova, uint64_t pfn)
{
	uint64_t live = (pfn << ST_SHIFT) | ST_LIVE;
	struct iova_node *n;
	int ret = -ENOENT;

	uio_lock(&dom->tree_lock);
	n = find_le(dom->root, pfn);
	/* Claim the node against a racing cached free of the same address. */
	if (n && node_first(n) == pfn &&
	    __atomic_compare_exchange_n(&n->state, &live,
					(pfn << ST_SHIFT) | ST_CACHED, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		uio_iova_tree_release(dom, n);
		debug_check(dom);
		ret = 0;
	}
	uio_unlock(&dom->tree_lock);
	if (ret)
		return uio_fail(ret, "iova",
				"free: 0x%" PRIx64 " is not the start of a live allocation",
				iova);
	trace_iova_free(iova, 0);
	return 0;
}

UIOMMU_API int uiommu_iova_free(struct uiommu_iova_domain *dom, uint64_t iova)
{
	uint64_t pfn;

	if (uio_unlikely(!dom))
		return uio_fail(-EINVAL, "iova", "free: NULL domain");
	if (uio_unlikely(iova & (dom->cfg.granule - 1)))
		return uio_fail(-EINVAL, "iova",
				"free: 0x%" PRIx64 " is not aligned to the granule 0x%" PRIx64,
				iova, dom->cfg.granule);
	pfn = iova >> dom->shift;
	if (uio_unlikely(pfn < dom->start_pfn || pfn > dom->last_pfn))
		return uio_fail(-ENOENT, "iova",
				"free: 0x%" PRIx64 " is outside the space", iova);
	if (dom->cache_on && uio_iova_cache_free(dom, pfn) == 0) {
		trace_iova_free(iova, 1);
		return 0;
	}
	return free_tree(dom, iova, pfn);
}

/* Reserve with tree_lock held; @spare is a node the caller took from the
 * pool, used if the reservation merges with nothing. */
static int reserve_locked(struct uiommu_iova_domain *dom, uint64_t first,
			  uint64_t last, struct iova_node *spare,
			  bool *used_spare)
{
	struct iova_node *n, *succ;
	uint64_t lo = first, hi = last, from;

	/* Pass 1: refuse before touching anything. */
	n = find_le(dom->root, first);
	if (!n || n->last < first)
		n = find_gt(dom->root, first);
	for (; node_first(n) <= last; n = find_gt(dom->root, node_first(n)))
		if (node_st(n) != ST_RESERVED)
			return -EBUSY;

	/* Pass 2: absorb reservations that overlap or touch. */
	from = first ? first - 1 : 0;
	n = find_le(dom->root, from);
	if (!n || n->last + 1 < first)
		n = find_gt(dom->root, from);
	while (node_first(n) <= last + 1 && node_first(n) <= dom->last_pfn) {
		succ = find_gt(dom->root, node_first(n));
		if (node_st(n) == ST_RESERVED) {
			if (node_first(n) < lo)
				lo = node_first(n);
			if (n->last > hi)
				hi = n->last;
			dom->resv_ranges--;
			dom->resv_granules -= node_len(n);
			tree_remove(dom, n);
			pool_put(dom, n);
		}
		n = succ;
	}
	succ = find_gt(dom->root, lo);
	spare->last = hi;
	spare->cache_cls = -1;
	__atomic_store_n(&spare->state, (lo << ST_SHIFT) | ST_RESERVED,
			 __ATOMIC_RELAXED);
	tree_insert(dom, spare, succ);
	*used_spare = true;
	dom->resv_ranges++;
	dom->resv_granules += hi - lo + 1;
	return 0;
}

UIOMMU_API int uiommu_iova_reserve(struct uiommu_iova_domain *dom,
				   uint64_t first, uint64_t last)
{
	struct iova_node *spare;
	bool used = false;
	int ret;

	if (!dom)
		return uio_fail(-EINVAL, "iova", "reserve: NULL domain");
	if (last < first)
		return uio_fail(-EINVAL, "iova",
				"reserve: [0x%" PRIx64 ", 0x%" PRIx64 "] is empty",
				first, last);
	if (first < dom->cfg.start || last > dom->cfg.last)
		return uio_fail(-ERANGE, "iova",
				"reserve: [0x%" PRIx64 ", 0x%" PRIx64
				"] is not inside the space [0x%" PRIx64 ", 0x%" PRIx64 "]",
				first, last, dom->cfg.start, dom->cfg.last);
	if (dom->cache_on)
		uio_iova_cache_flush_local(dom);

	uio_lock(&dom->tree_lock);
	spare = pool_get(dom);
	if (!spare) {
		uio_unlock(&dom->tree_lock);
		return -ENOMEM;
	}
	ret = reserve_locked(dom, first >> dom->shift, last >> dom->shift,
			     spare, &used);
	if (!used)
		pool_put(dom, spare);
	debug_check(dom);
	uio_unlock(&dom->tree_lock);
	if (ret)
		return uio_fail(ret, "iova",
				"reserve: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps a live allocation",
				first, last);
	trace_iova_reserve(first, last);
	return 0;
}

static unsigned int node_kind(const struct iova_node *n)
{
	switch (node_st(n)) {
	case ST_LIVE:
		return UIOMMU_IOVA_LIVE;
	case ST_CACHED:
		return UIOMMU_IOVA_CACHED;
	default:
		return UIOMMU_IOVA_RESERVED;
	}
}

static void to_range(const struct uiommu_iova_domain *dom, uint64_t first,
		     uint64_t last, unsigned int kind,
		     struct uiommu_iova_range *r)
{
	r->first = first << dom->shift;
	r->last = ((last + 1) << dom->shift) - 1;
	r->kind = kind;
}

UIOMMU_API int uiommu_iova_find(struct uiommu_iova_domain *dom, uint64_t addr,
				struct uiommu_iova_range *range)
{
	struct iova_node *n;
	uint64_t pfn;

	if (!dom || !range)
		return uio_fail(-EINVAL, "iova", "find: NULL %s",
				dom ? "range" : "domain");
	if (addr < dom->cfg.start || addr > dom->cfg.last)
		return uio_fail(-ERANGE, "iova",
				"find: 0x%" PRIx64 " is outside the space", addr);
	pfn = addr >> dom->shift;
	uio_lock(&dom->tree_lock);
	n = find_le(dom->root, pfn);
	if (n && n->last >= pfn) {
		to_range(dom, node_first(n), n->last, node_kind(n), range);
	} else {
		n = find_gt(dom->root, pfn);
		to_range(dom, gap_base(n), node_first(n) - 1, UIOMMU_IOVA_FREE,
			 range);
	}
	uio_unlock(&dom->tree_lock);
	return 0;
}

struct walk_ctx {
	struct uiommu_iova_domain *dom;
	unsigned int kinds;
	uiommu_iova_visit_fn fn;
	void *opaque;
};

static int walk(struct walk_ctx *w, struct iova_node *n)
{
	struct uiommu_iova_range r;
	unsigned int kind;
	int ret;

	if (!n)
		return 0;
	ret = walk(w, n->left);
	if (ret)
		return ret;
	if ((w->kinds & UIOMMU_IOVA_FREE) && n_gap(n)) {
		to_range(w->dom, gap_base(n), node_first(n) - 1,
			 UIOMMU_IOVA_FREE, &r);
		ret = w->fn(w->opaque, &r);
		if (ret)
			return ret;
	}
	kind = node_kind(n);
	if ((w->kinds & kind) && node_first(n) <= w->dom->last_pfn) {
		to_range(w->dom, node_first(n), n->last, kind, &r);
		ret = w->fn(w->opaque, &r);
		if (ret)
			return ret;
	}
	return walk(w, n->right);
}

UIOMMU_API int uiommu_iova_for_each(struct uiommu_iova_domain *dom,
				    unsigned int kinds,
				    uiommu_iova_visit_fn fn, void *opaque)
{
	struct walk_ctx w = { dom, kinds, fn, opaque };
	int ret;

	if (!dom || !fn)
		return uio_fail(-EINVAL, "iova", "for_each: NULL %s",
				dom ? "callback" : "domain");
	if (kinds & ~(unsigned int)UIOMMU_IOVA_ALL)
		return uio_fail(-EINVAL, "iova", "for_each: unknown kinds 0x%x",
				kinds);
	uio_lock(&dom->tree_lock);
	ret = walk(&w, dom->root);
	uio_unlock(&dom->tree_lock);
	return ret;
}

UIOMMU_API int uiommu_iova_get_stats(struct uiommu_iova_domain *dom,
				     struct uiommu_iova_stats *st)
{
	uint64_t total;

	if (!dom || !st)
		return uio_fail(-EINVAL, "iova", "get_stats: NULL %s",
				dom ? "stats" : "domain");
	memset(st, 0, sizeof(*st));
	if (dom->cache_on)
		uio_iova_cache_counts(dom, st);
	uio_lock(&dom->tree_lock);
	total = dom->last_pfn - dom->start_pfn + 1;
	/* The cache counters are a racy snapshot: keep the sums sane. */
	if (st->cached_ranges > dom->alloc_ranges)
		st->cached_ranges = dom->alloc_ranges;
	if (st->cached_granules > dom->alloc_granules)
		st->cached_granules = dom->alloc_granules;
	st->live_ranges = dom->alloc_ranges - st->cached_ranges;
	st->live_granules = dom->alloc_granules - st->cached_granules;
	st->reserved_ranges = dom->resv_ranges;
	st->reserved_granules = dom->resv_granules;
	st->free_granules = total - dom->alloc_granules - dom->resv_granules;
	st->largest_free = dom->root->max_gap << dom->shift;
	uio_unlock(&dom->tree_lock);
	return 0;
}

UIOMMU_API int uiommu_iova_get_config(struct uiommu_iova_domain *dom,
				      struct uiommu_iova_config *cfg)
{
	if (!dom || !cfg)
		return uio_fail(-EINVAL, "iova", "get_config: NULL %s",
				dom ? "config" : "domain");
	*cfg = dom->cfg;
	return 0;
}

UIOMMU_API int uiommu_iova_check(struct uiommu_iova_domain *dom)
{
	int ret;

	if (!dom)
		return uio_fail(-EINVAL, "iova", "check: NULL domain");
	uio_lock(&dom->tree_lock);
	ret = check_locked(dom);
	uio_unlock(&dom->tree_lock);
	return ret;
}
