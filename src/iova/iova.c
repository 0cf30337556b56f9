// SPDX-License-Identifier: MIT
/*
 * IOVA allocator: the public API and the range tree.
 *
 * The tree holds every allocated, cached and reserved range of a domain,
 * plus a sentinel just above the space.  It is a B+-tree of fan-out 16
 * keyed by first pfn: the leaves hold, per range, its first pfn, the free
 * gap just below it and a reference: for a cacheable range, a pointer to
 * its stable record (struct iova_node, which the caches and the hash
 * hold); for every other range, its last pfn and state inline, so that a
 * free or an allocation of such a range touches no line but the leaf's
 * (a record would be one more dependent cache miss per op in a large
 * tree).  An inner node holds, per
 * child, the child's lowest first pfn and a summary of the child's gaps:
 *   - the largest gap, so "the highest gap of at least N granules below
 *     the limit" is one descent;
 *   - the largest size-aligned power-of-two block one of its gaps can hold
 *     (order + 1), so size-aligned requests are one descent too;
 *   - the set of gap size classes (bit fls(length)), for good fit.
 * A leaf keeps the same three fields per range, for its own gap, so leaves
 * and inner nodes are searched and summarised by the same code.
 *
 * Only the gap that contains the limit is clipped by it, and it is found
 * directly (the gap below the first range above the limit); every other gap
 * below the limit lies wholly below it.  So allocation, including a request
 * that cannot fit, costs O(log n) node visits whatever the fragmentation,
 * with a depth of 4-6 at 10^4-10^6 ranges: an update rewrites at most one
 * summary entry per level, and stops at the first level that is unchanged.
 *
 * Splits take their nodes from a spare list that is filled (with the
 * record pool, in one allocation) before anything changes, so a failed
 * allocation leaves the domain as it was.
 *
 * Locking: tree_lock protects the tree, its counters and the pools.
 * The per-thread caches (iova-cache.c) work without it.
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "alloc.h"
#include "bits.h"
#include "iova-tree.h"
#include "log.h"
#include "trace.h"

#define HOT static inline __attribute__((always_inline))

#define BT_B 16		/* entries per node */
#define BT_MIN 4	/* entries of a non-root node, at least */
#define BT_MAXH 40	/* levels: 2 * 4^(h-1) ranges; > 2^64 at 33 */

/* One pool block: B-tree nodes and (with the caches on) records, one
 * allocation. */
#define CHUNK_BT 16
#define CHUNK_NODES 512	/* records: 64 lines */
/* Blocks are aligned to a pair of lines, and so are the header, the
 * B-tree nodes (whole pairs of lines in all) and the records behind them:
 * a thread's records never share a pair with another's (rec_take()). */
#define CHUNK_ALIGN 128

/*
 * Once a tree has BIG_CHUNK_AFTER nodes, node-only blocks of
 * BIG_CHUNK_BYTES whose 2 MiB-aligned interior is advised as transparent
 * huge pages.  At 10^6 ranges the leaves are ~50 MB: with 4 KiB pages
 * nearly every random leaf access is also a TLB miss (a two-dimensional
 * page walk in a VM); 2 MiB pages measured 5-8 % faster there.  The
 * default allocator serves blocks this large from fresh mmap()ed memory,
 * so the advice comes before the first touch.
 */
#define BIG_CHUNK_AFTER 8192u
#define BIG_CHUNK_BYTES (UIO_BIT(23))	/* 8 MiB: 3 to 4 huge pages */
#define HUGE_PAGE UIO_BIT(21)

static uint64_t next_domain_id = 1;

/*
 * A B-tree node, leaf or inner; 9 cache lines.  Entry i: key (leaf: first
 * pfn of the range; inner: lowest first pfn under child i), gap (leaf: the
 * gap below the range; inner: the largest in the child), cls (gap size
 * class bits), ord (largest size-aligned order a gap holds, + 1; 0: none),
 * ref (leaf: see REF_INLINE; inner: the struct bt_node).
 *
 * The n entries in use are lo..lo+n-1.  The others are padding: below lo
 * key 0, from lo+n key ~0, the rest 0; so that key counts and summaries
 * run over all 16 without a bound (unrolled and vectorised), and a count
 * of the keys <= x is still one past the last of them.  An insertion or
 * deletion moves the entries on whichever side of it are fewer: a
 * top-down fill inserts at the front of the lowest leaf, which a split at
 * that edge leaves with its entries at the end (bt_insert()).
 */
struct bt_node {
	uint64_t key[BT_B];
	uint64_t gap[BT_B];
	uint64_t ref[BT_B];
	uint64_t cls[BT_B];
	uint8_t ord[BT_B];
	uint8_t n;
	uint8_t lo;
	bool leaf;
} __attribute__((aligned(64)));

/* One past the last entry in use. */
static inline int nd_end(const struct bt_node *nd)
{
	return nd->lo + nd->n;
}

_Static_assert(sizeof(struct iova_node) * IOVA_REC_TAKE == 128,
	       "a thread takes records a pair of lines at a time");
_Static_assert(CHUNK_BT * sizeof(struct bt_node) % CHUNK_ALIGN == 0,
	       "the records of a block start on a pair of lines");

/*
 * A leaf reference is either a pointer to the range's record (bit 0 clear:
 * records are 8-byte aligned), which a cacheable allocated range has, or
 * an inline range: bit 0 set, bits 2:1 its state (ST_LIVE or ST_RESERVED:
 * only a record can be ST_CACHED), bits 63:3 its last pfn (at most
 * 2^52, the sentinel's).  No lock-free path reads a leaf, so an inline
 * range is only ever read and changed under tree_lock.
 */
#define REF_INLINE UINT64_C(1)
#define REF_ST_SHIFT 1
#define REF_LAST_SHIFT 3

static inline uint64_t ref_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static inline uint64_t ref_inline(uint64_t last, unsigned int st)
{
	assert(last <= W_LOW_MASK && (st == ST_LIVE || st == ST_RESERVED));
	return (last << REF_LAST_SHIFT) | ((uint64_t)st << REF_ST_SHIFT) |
	       REF_INLINE;
}

static inline struct bt_node *bt_child(const struct bt_node *nd, int i)
{
	return (struct bt_node *)(uintptr_t)nd->ref[i];
}

/* The record of leaf entry @i, or NULL for an inline range. */
static inline struct iova_node *leaf_rec(const struct bt_node *lf, int i)
{
	return (lf->ref[i] & REF_INLINE) ? NULL :
	       (struct iova_node *)(uintptr_t)lf->ref[i];
}

static inline uint64_t leaf_last(const struct bt_node *lf, int i)
{
	return (lf->ref[i] & REF_INLINE) ? lf->ref[i] >> REF_LAST_SHIFT :
	       lf->key[i] + (UINT64_C(1) << node_cls(leaf_rec(lf, i))) - 1;
}

/* State of an inline range. */
static inline unsigned int ref_st(uint64_t ref)
{
	assert(ref & REF_INLINE);
	return (unsigned int)(ref >> REF_ST_SHIFT) & ST_MASK;
}

static inline unsigned int leaf_st(const struct bt_node *lf, int i)
{
	return (lf->ref[i] & REF_INLINE) ? ref_st(lf->ref[i]) :
	       node_st(leaf_rec(lf, i));
}

/* A pool block's header, followed by its B-tree nodes and then, in small
 * blocks of a domain with caches, CHUNK_NODES records (only cacheable
 * ranges have records). */
struct pool_chunk {
	struct pool_chunk *next;
	size_t bytes;		/* as allocated */
} __attribute__((aligned(CHUNK_ALIGN)));

/* A root-to-leaf path: nd[0] is the root, ix[l] the entry taken at l. */
struct bpath {
	struct bt_node *nd[BT_MAXH];
	int ix[BT_MAXH];
};

/* ---------------------------------------------------------- gap summary */

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

/* Set the gap of leaf entry @i and its summary fields. */
HOT void leaf_set_gap(struct bt_node *l, int i, uint64_t gap)
{
	assert(l->leaf && gap <= W_LOW_MASK);
	l->gap[i] = gap;
	l->cls[i] = gap_class_bit(gap);
	l->ord[i] = (uint8_t)(gap_order(l->key[i], gap) + 1);
}

struct bt_ent {
	uint64_t key, gap, cls;
	uint8_t ord;
	uint64_t ref;
};

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * Largest gap of @nd.  Baseline x86-64 has no 64-bit integer vector
 * maximum, but gaps are below 2^53: with 2^62 added, a gap's bits are
 * those of a double in [2, 8), whose order as a double is its order as
 * an integer, so maxpd takes the maximum.  No NaN, infinity or
 * denormal can arise, so the MXCSR modes (DAZ, FTZ) do not matter.
 * Eight maxima in a tree of depth four instead of a chain of fifteen
 * compare-and-moves (which gcc made of the scalar form).
 */
#ifdef __SSE2__
#define GAP_AS_DOUBLE UINT64_C(0x4000000000000000)
_Static_assert(W_LOW_BITS <= 53, "gaps plus 2^62 stay doubles in [2, 8)");

static inline __m128d gap_pair(const struct bt_node *nd, int i)
{
	return _mm_castsi128_pd(_mm_add_epi64(
		_mm_load_si128((const __m128i *)&nd->gap[i]),
		_mm_set1_epi64x((long long)GAP_AS_DOUBLE)));
}

static uint64_t scan_gap(const struct bt_node *nd)
{
	__m128d m = _mm_max_pd(
		_mm_max_pd(_mm_max_pd(gap_pair(nd, 0), gap_pair(nd, 2)),
			   _mm_max_pd(gap_pair(nd, 4), gap_pair(nd, 6))),
		_mm_max_pd(_mm_max_pd(gap_pair(nd, 8), gap_pair(nd, 10)),
			   _mm_max_pd(gap_pair(nd, 12), gap_pair(nd, 14))));

	m = _mm_max_pd(m, _mm_unpackhi_pd(m, m));
	return (uint64_t)_mm_cvtsi128_si64(_mm_castpd_si128(m)) -
	       GAP_AS_DOUBLE;
}
#else
static uint64_t scan_gap(const struct bt_node *nd)
{
	uint64_t m = 0;
	int i;

	for (i = 0; i < BT_B; i++)
		m = max_u64(m, nd->gap[i]);
	return m;
}
#endif

static uint8_t scan_ord(const struct bt_node *nd)
{
	uint8_t o = 0;
	int i;

	for (i = 0; i < BT_B; i++)
		o = nd->ord[i] > o ? nd->ord[i] : o;
	return o;
}

static uint64_t scan_cls(const struct bt_node *nd)
{
	uint64_t c = 0;
	int i;

	for (i = 0; i < BT_B; i++)
		c |= nd->cls[i];
	return c;
}

/*
 * Which optional summaries a domain keeps in its inner nodes (the largest
 * gap always): the gap classes serve only best-fit requests, the aligned
 * orders only size-aligned ones (the caches' refills among them).  Until a
 * domain sees such a request the component stays 0 in every inner entry,
 * so it never changes and an update stops climbing as soon as the largest
 * gap is unchanged (the class set, which changes with almost every update,
 * used to carry most updates up to the root).  The first request that
 * needs one rebuilds it (sum_enable()).  Leaves always keep both.
 */
#define SUM_CLS 1u
#define SUM_ORD 2u

/* The parent entry that summarises @nd, with the summaries in @sum. */
static void summarise(const struct bt_node *nd, unsigned int sum,
		      struct bt_ent *e)
{
	e->key = nd->key[nd->lo];
	e->gap = scan_gap(nd);
	e->cls = (sum & SUM_CLS) ? scan_cls(nd) : 0;
	e->ord = (sum & SUM_ORD) ? scan_ord(nd) : 0;
	e->ref = ref_of(nd);
}

HOT void ent_put(struct bt_node *nd, int i, const struct bt_ent *e)
{
	nd->key[i] = e->key;
	nd->gap[i] = e->gap;
	nd->cls[i] = e->cls;
	nd->ord[i] = e->ord;
	nd->ref[i] = e->ref;
}

/* Rewrite entry @i of @par from its child; false if it was up to date. */
static bool ent_refresh(struct bt_node *par, int i, unsigned int sum)
{
	struct bt_ent e;

	summarise(bt_child(par, i), sum, &e);
	if (par->key[i] == e.key && par->gap[i] == e.gap &&
	    par->cls[i] == e.cls && par->ord[i] == e.ord)
		return false;
	ent_put(par, i, &e);
	return true;
}

/*
 * Node @lvl of @p changed: refresh the entries above it, stopping at the
 * first that does not change (nothing above it can).  Each refresh
 * rescans the child whole: the scans have no data-dependent branch, and
 * this measured faster than updating only the components that may have
 * changed (which branches on each, unpredictably).
 */
static void fix_up(const struct uiommu_iova_domain *dom, struct bpath *p,
		   int lvl)
{
	for (; lvl > 0; lvl--)
		if (!ent_refresh(p->nd[lvl - 1], p->ix[lvl - 1], dom->sum))
			return;
}

/* The leaf of @p changed: refresh the summaries above it. */
static void leaf_changed(const struct uiommu_iova_domain *dom,
			 struct bpath *p)
{
	fix_up(dom, p, (int)dom->height - 1);
}

/*
 * Node @lvl of @p changed, but no gap under it shrank and none grew past
 * @gap, nor any order past @ord: each entry above needs its first key
 * and, at most, its largest gap and order raised to those; no rescan.
 * (Not for a domain that keeps gap classes: a class set loses members.)
 */
static void raise_up(const struct uiommu_iova_domain *dom, struct bpath *p,
		     int lvl, uint64_t gap, uint8_t ord)
{
	assert(!(dom->sum & SUM_CLS));
	if (!(dom->sum & SUM_ORD))
		ord = 0;
	for (; lvl > 0; lvl--) {
		struct bt_node *par = p->nd[lvl - 1];
		int i = p->ix[lvl - 1];
		uint64_t key = p->nd[lvl]->key[p->nd[lvl]->lo];

		if (par->key[i] == key && par->gap[i] >= gap &&
		    par->ord[i] >= ord)
			return;
		par->key[i] = key;
		par->gap[i] = max_u64(par->gap[i], gap);
		par->ord[i] = par->ord[i] > ord ? par->ord[i] : ord;
	}
}

/*
 * Whether the leaf of @p may lose its largest gap or order when the gap of
 * its entry at @p shrinks: that gap or order is the leaf's summary in its
 * parent (or the domain keeps gap classes, which change either way).
 */
static bool leaf_max_may_shrink(const struct uiommu_iova_domain *dom,
				const struct bpath *p)
{
	int h = (int)dom->height;
	const struct bt_node *lf = p->nd[h - 1], *par;
	int i = p->ix[h - 1], pi;

	if (h == 1 || (dom->sum & SUM_CLS))
		return true;
	par = p->nd[h - 2];
	pi = p->ix[h - 2];
	return lf->gap[i] >= par->gap[pi] ||
	       ((dom->sum & SUM_ORD) && lf->ord[i] >= par->ord[pi]);
}

/* Move @cnt entries of @s from @si to @d at @di (may overlap). */
HOT void ent_copy(struct bt_node *d, int di, const struct bt_node *s, int si)
{
	d->key[di] = s->key[si];
	d->gap[di] = s->gap[si];
	d->cls[di] = s->cls[si];
	d->ord[di] = s->ord[si];
	d->ref[di] = s->ref[si];
}

static void ent_move(struct bt_node *d, int di, const struct bt_node *s,
		     int si, int cnt)
{
	size_t k = (size_t)cnt;

	/* One or two entries: a copy beats five memmove calls. */
	if (cnt <= 2) {
		if (cnt == 2 && d == s && di > si)
			ent_copy(d, di + 1, s, si + 1);
		if (cnt >= 1)
			ent_copy(d, di, s, si);
		if (cnt == 2 && !(d == s && di > si))
			ent_copy(d, di + 1, s, si + 1);
		return;
	}
	memmove(&d->key[di], &s->key[si], k * sizeof(s->key[0]));
	memmove(&d->gap[di], &s->gap[si], k * sizeof(s->gap[0]));
	memmove(&d->cls[di], &s->cls[si], k * sizeof(s->cls[0]));
	memmove(&d->ord[di], &s->ord[si], k * sizeof(s->ord[0]));
	memmove(&d->ref[di], &s->ref[si], k * sizeof(s->ref[0]));
}

/*
 * The hot insertions and deletions move a few entries within one node.
 * Five memmove() calls (one per array) cost more than those moves, and
 * gcc turns a plain loop back into the five calls; so the 64-bit arrays
 * move two entries per 16-byte load and store, and the orders as one
 * 16-byte vector shifted by a byte and merged under a mask.
 */
#ifdef __SSE2__
#define MOVE2(a, d, s) _mm_storeu_si128((__m128i *)&(a)[d], \
					_mm_loadu_si128((const __m128i *)&(a)[s]))
#define MOVE1(a, d, s) ((a)[d] = (a)[s])
#define MOVE_WORDS(nd, how, d, s) do {	\
	how((nd)->key, d, s);		\
	how((nd)->gap, d, s);		\
	how((nd)->ref, d, s);		\
	how((nd)->cls, d, s);		\
} while (0)

/* Bytes @from..@to-1 of @moved, the others of @v. */
static inline __m128i ord_merge(__m128i v, __m128i moved, int from, int to)
{
	const __m128i idx = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					  11, 12, 13, 14, 15);
	__m128i m = _mm_and_si128(
		_mm_cmpgt_epi8(idx, _mm_set1_epi8((char)(from - 1))),
		_mm_cmplt_epi8(idx, _mm_set1_epi8((char)to)));

	return _mm_or_si128(_mm_and_si128(m, moved), _mm_andnot_si128(m, v));
}

/* Entries @from..@to-1 of @nd one place up (entry @from is then stale). */
static void ent_shift_up(struct bt_node *nd, int from, int to)
{
	__m128i o = _mm_load_si128((const __m128i *)nd->ord);
	int j;

	for (j = to - 2; j >= from; j -= 2)
		MOVE_WORDS(nd, MOVE2, j + 1, j);
	if (j == from - 1)
		MOVE_WORDS(nd, MOVE1, from + 1, from);
	_mm_store_si128((__m128i *)nd->ord,
			ord_merge(o, _mm_slli_si128(o, 1), from + 1, to + 1));
}

/* Entries @from..@to-1 of @nd one place down (entry @to-1 is then
 * stale). */
static void ent_shift_down(struct bt_node *nd, int from, int to)
{
	__m128i o = _mm_load_si128((const __m128i *)nd->ord);
	int j;

	for (j = from; j + 1 < to; j += 2)
		MOVE_WORDS(nd, MOVE2, j - 1, j);
	if (j < to)
		MOVE_WORDS(nd, MOVE1, j - 1, j);
	_mm_store_si128((__m128i *)nd->ord,
			ord_merge(o, _mm_srli_si128(o, 1), from - 1, to - 1));
}
#else
static void ent_shift_up(struct bt_node *nd, int from, int to)
{
	ent_move(nd, from + 1, nd, from, to - from);
}

static void ent_shift_down(struct bt_node *nd, int from, int to)
{
	ent_move(nd, from - 1, nd, from, to - from);
}
#endif

/* Make entry @i padding, with key @key (0 below the entries, ~0 above). */
HOT void ent_pad(struct bt_node *nd, int i, uint64_t key)
{
	nd->key[i] = key;
	nd->gap[i] = 0;
	nd->cls[i] = 0;
	nd->ord[i] = 0;
	nd->ref[i] = 0;
}

/* Make entry @i padding above the entries. */
HOT void ent_clear1(struct bt_node *nd, int i)
{
	ent_pad(nd, i, ~UINT64_C(0));
}

/* Make entries @from..15 padding. */
static void ent_clear(struct bt_node *nd, int from)
{
	int i;

	for (i = from; i < BT_B; i++)
		ent_clear1(nd, i);
}

/*
 * Insert @e before entry @i of @nd (at the end for @i = lo + n), moving
 * the fewer entries of either side when there is room on both: the
 * entries before @i may move down one place, so indexes into @nd from
 * before the call are stale.
 */
static void ent_insert(struct bt_node *nd, int i, const struct bt_ent *e)
{
	int lo = nd->lo, end = nd_end(nd);

	assert(nd->n < BT_B && lo <= i && i <= end);
	if (lo > 0 && (end == BT_B || i - lo < end - i)) {
		ent_shift_down(nd, lo, i);
		nd->lo--;
		i--;
	} else {
		ent_shift_up(nd, i, end);
	}
	ent_put(nd, i, e);
	nd->n++;
}

/* Delete entry @i of @nd, moving the fewer entries of either side. */
static void ent_delete(struct bt_node *nd, int i)
{
	int lo = nd->lo, end = nd_end(nd);

	assert(lo <= i && i < end);
	if (i - lo < end - 1 - i) {
		ent_shift_up(nd, lo, i);
		ent_pad(nd, lo, 0);
		nd->lo++;
	} else {
		ent_shift_down(nd, i + 1, end);
		ent_clear1(nd, end - 1);
	}
	nd->n--;
}

/* Move the entries of @nd to the front (for the rare restructurings,
 * which count from 0). */
static void nd_compact(struct bt_node *nd)
{
	int lo = nd->lo;

	if (!lo)
		return;
	ent_move(nd, 0, nd, lo, nd->n);
	nd->lo = 0;
	ent_clear(nd, nd->n);
}

/* Move the entries of @nd to the end. */
static void nd_align_end(struct bt_node *nd)
{
	int lo = BT_B - nd->n, i;

	assert(nd->lo == 0);
	if (!lo)
		return;
	ent_move(nd, lo, nd, 0, nd->n);
	for (i = 0; i < lo; i++)
		ent_pad(nd, i, 0);
	nd->lo = (uint8_t)lo;
}

/* ---------------------------------------------------------- pools */

static struct iova_node *pool_get(struct uiommu_iova_domain *dom)
{
	struct iova_node *n = dom->pool;

	assert(n && node_st(n) == ST_FREE);
	dom->pool = (struct iova_node *)(uintptr_t)node_load(n);
	return n;
}

static void pool_put(struct uiommu_iova_domain *dom, struct iova_node *n)
{
	/* The memory stays a record until destroy: a lock-free reader that
	 * still holds a stale pointer sees state ST_FREE, which matches no
	 * live range (the link is 8-byte aligned, so bits 1:0 stay 0). */
	__atomic_store_n(&n->state, (uint64_t)(uintptr_t)dom->pool,
			 __ATOMIC_RELEASE);
	dom->pool = n;
}

/* Give the @count never used records from @first back to the pool. */
static void pool_put_run(struct uiommu_iova_domain *dom,
			 struct iova_node *first, uint64_t count)
{
	while (count--)
		pool_put(dom, first++);
}

/* This thread's record stash of class @cls in @dom, if it has a cache. */
static struct iova_rstash *rstash_of(struct uiommu_iova_domain *dom,
				     unsigned int cls)
{
	struct iova_tcache *tc = uio_iova_tcache_peek(dom);

	return tc ? &tc->rstash[cls] : NULL;
}

/*
 * A record for a new cacheable range of class @cls; pool_reserve() made
 * sure there is one.  A thread with a cache takes never used records a
 * pair of lines (IOVA_REC_TAKE) at a time per class, so that the ranges
 * it allocates in a class one after the other have neighbouring records
 * (see struct iova_node); records given back go to the pool and are used
 * once fewer than a pair of lines of never used ones is left.
 */
static struct iova_node *rec_take(struct uiommu_iova_domain *dom,
				  unsigned int cls)
{
	struct iova_rstash *st = rstash_of(dom, cls);

	if (st && !st->left && dom->nfresh >= IOVA_REC_TAKE) {
		st->next = dom->fresh;
		st->left = IOVA_REC_TAKE;
		dom->fresh += IOVA_REC_TAKE;
		dom->nfresh -= IOVA_REC_TAKE;
	}
	if (st && st->left) {
		st->left--;
		return st->next++;
	}
	if (dom->pool)
		return pool_get(dom);
	/* From the end, so that the stashes' pairs of lines stay aligned. */
	assert(dom->nfresh);
	dom->nfresh--;
	return dom->fresh + dom->nfresh;
}

void uio_iova_rstash_return(struct uiommu_iova_domain *dom,
			    struct iova_tcache *tc)
{
	unsigned int c;

	uio_assert_held(&dom->tree_lock);
	for (c = 0; c < IOVA_NCLASS; c++) {
		struct iova_rstash *st = &tc->rstash[c];

		pool_put_run(dom, st->next, st->left);
		st->left = 0;
	}
}

/* Advise the whole 2 MiB pages inside [@p, @p + @bytes) as huge pages;
 * only a hint, so a failure (another allocator, no THP) changes nothing. */
static void advise_huge(void *p, size_t bytes)
{
	uintptr_t lo = uio_align_up((uintptr_t)p, HUGE_PAGE);
	uintptr_t hi = uio_align_down((uintptr_t)p + bytes, HUGE_PAGE);

#ifdef MADV_HUGEPAGE
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
	(void)lo;
	(void)hi;
#endif
}

/* Add one pool block: small ones (nodes and, with the caches on, records)
 * until the tree is large, then big node-only ones. */
static int pool_grow(struct uiommu_iova_domain *dom)
{
	bool big = dom->nnodes >= BIG_CHUNK_AFTER &&
		   !(dom->cache_on && !dom->pool);
	size_t nbt = big ? (BIG_CHUNK_BYTES - sizeof(struct pool_chunk)) /
			   sizeof(struct bt_node) : CHUNK_BT;
	size_t nrec = !big && dom->cache_on ? CHUNK_NODES : 0;
	size_t bytes = big ? BIG_CHUNK_BYTES :
		       sizeof(struct pool_chunk) +
		       nbt * sizeof(struct bt_node) +
		       nrec * sizeof(struct iova_node);
	struct pool_chunk *c = uio_alloc_aligned(bytes, CHUNK_ALIGN);
	struct bt_node *bt;
	size_t i;

	if (!c)
		return -ENOMEM;
	if (nrec && (uintptr_t)c + bytes > IOVA_HPTR_LIMIT) {
		/* The hash slots keep a record's address in 48 bits. */
		uio_free_aligned(c, bytes, CHUNK_ALIGN);
		return uio_fail(-ENOMEM, "iova",
				"record block at %p is above 2^48", (void *)c);
	}
	if (big)
		advise_huge(c, bytes);
	c->bytes = bytes;
	c->next = dom->chunks;
	dom->chunks = c;
	bt = (struct bt_node *)(c + 1);
	if (nrec) {
		/* Records never used are kept apart, whole lines at a
		 * time for the threads' stashes (rec_take()). */
		pool_put_run(dom, dom->fresh, dom->nfresh);
		dom->fresh = (struct iova_node *)(bt + nbt);
		dom->nfresh = nrec;
		dom->nrec += nrec;
	}
	for (i = 0; i < nbt; i++) {
		bt[i].ref[0] = ref_of(dom->spare);
		dom->spare = &bt[i];
	}
	dom->nspare += (unsigned int)nbt;
	dom->nnodes += nbt;
	return 0;
}

static bool pool_short(const struct uiommu_iova_domain *dom)
{
	return (dom->cache_on && !dom->pool && !dom->nfresh) ||
	       dom->nspare < dom->height + 1;
}

static __attribute__((noinline, cold)) int
pool_refill(struct uiommu_iova_domain *dom)
{
	while (pool_short(dom))
		if (pool_grow(dom))
			return -ENOMEM;
	return 0;
}

/* Make sure an insertion cannot fail: a spare B-tree node per level plus
 * one (a split of every level and a new root) and, with the caches on, a
 * free record.  Changes nothing in the tree.  Inline: every insertion
 * checks, and one in thousands grows. */
static inline int pool_reserve(struct uiommu_iova_domain *dom)
{
	return uio_unlikely(pool_short(dom)) ? pool_refill(dom) : 0;
}

static struct bt_node *spare_get(struct uiommu_iova_domain *dom, bool leaf)
{
	struct bt_node *nd = dom->spare;

	assert(nd && dom->nspare);
	dom->spare = bt_child(nd, 0);
	dom->nspare--;
	nd->n = 0;
	nd->lo = 0;
	nd->leaf = leaf;
	ent_clear(nd, 0);
	return nd;
}

static void spare_put(struct uiommu_iova_domain *dom, struct bt_node *nd)
{
	nd->ref[0] = ref_of(dom->spare);
	dom->spare = nd;
	dom->nspare++;
}

/* ---------------------------------------------------------- lookups */

/* Start loading all of @nd: the key search reads two of its lines, but
 * the update that follows reads the others, and the misses overlap. */
HOT void prefetch_node(const struct bt_node *nd)
{
	const char *b = (const char *)nd;
	size_t off;

	for (off = 0; off < sizeof(*nd); off += 64)
		__builtin_prefetch(b + off);
}

/* Index of the last key <= @pfn in @nd, or -1. */
HOT int last_le(const struct bt_node *nd, uint64_t pfn)
{
	/* One compare picks the half, then eight independent compares
	 * (padding keys, ~0, count for none): a binary search all the way
	 * down is a chain of dependent loads, and measured slower. */
	int i, c = 0, h = nd->key[BT_B / 2 - 1] <= pfn ? BT_B / 2 : 0;

	for (i = 0; i < BT_B / 2; i++)
		c += nd->key[h + i] <= pfn;
	return h + c - 1;
}

/* Path to the leaf entry with the greatest key <= @pfn; the leaf index is
 * -1 if every key is above @pfn. */
static void descend_le(const struct uiommu_iova_domain *dom, uint64_t pfn,
		       struct bpath *p)
{
	struct bt_node *nd = dom->root;
	int l, i;

	for (l = 0;; l++) {
		i = last_le(nd, pfn);
		p->nd[l] = nd;
		if (nd->leaf) {
			p->ix[l] = i < nd->lo ? -1 : i;
			return;
		}
		i = i < nd->lo ? nd->lo : i;
		p->ix[l] = i;
		nd = bt_child(nd, i);
		prefetch_node(nd);
	}
}

/* Step @p to the next leaf entry; false at the last. */
static bool path_next(const struct uiommu_iova_domain *dom, struct bpath *p)
{
	int l = (int)dom->height - 1;

	while (l >= 0 && p->ix[l] + 1 >= nd_end(p->nd[l]))
		l--;
	if (l < 0)
		return false;
	p->ix[l]++;
	for (; l < (int)dom->height - 1; l++) {
		p->nd[l + 1] = bt_child(p->nd[l], p->ix[l]);
		prefetch_node(p->nd[l + 1]);
		p->ix[l + 1] = p->nd[l + 1]->lo;
	}
	return true;
}

#define LEAF(dom, p) ((p)->nd[(dom)->height - 1])
#define LIX(dom, p) ((p)->ix[(dom)->height - 1])

/* Index of the entry of leaf @lf after the one descend_le() left at @i
 * (-1: every key was above the pfn); lo + n when it is in the next leaf. */
static inline int leaf_ix_after(const struct bt_node *lf, int i)
{
	return i < 0 ? lf->lo : i + 1;
}

/* Path to the entry with the smallest key > @pfn; it exists for a pfn
 * inside the space (the sentinel bounds it). */
static void descend_gt(const struct uiommu_iova_domain *dom, uint64_t pfn,
		       struct bpath *p)
{
	const struct bt_node *lf;
	bool ok;
	int i;

	descend_le(dom, pfn, p);
	lf = LEAF(dom, p);
	i = leaf_ix_after(lf, LIX(dom, p));
	if (i < nd_end(lf)) {
		LIX(dom, p) = i;
		return;
	}
	ok = path_next(dom, p);
	assert(ok);
	(void)ok;
}

/* A range of the tree, as the reserve and find paths see it. */
struct rng {
	uint64_t first, last;
	unsigned int st;
};

static void leaf_range(const struct bt_node *lf, int i, struct rng *r)
{
	r->first = lf->key[i];
	r->last = leaf_last(lf, i);
	r->st = leaf_st(lf, i);
}

/* The range with the greatest first <= @pfn; false if there is none. */
static bool range_le(const struct uiommu_iova_domain *dom, uint64_t pfn,
		     struct rng *r)
{
	struct bpath p;

	descend_le(dom, pfn, &p);
	if (LIX(dom, &p) < 0)
		return false;
	leaf_range(LEAF(dom, &p), LIX(dom, &p), r);
	return true;
}

/* The range with the smallest first > @pfn. */
static void range_gt(const struct uiommu_iova_domain *dom, uint64_t pfn,
		     struct rng *r)
{
	struct bpath p;

	descend_gt(dom, pfn, &p);
	leaf_range(LEAF(dom, &p), LIX(dom, &p), r);
}

/* ---------------------------------------------------------- updates */

/*
 * Insert @e at the leaf position of @p (before the entry there), splitting
 * full nodes on the way up; the spares were reserved.  @rescan: the
 * leaf's largest gap or order may have shrunk (leaf_max_may_shrink());
 * if not, and the leaf does not split, only first keys can change above.
 */
static void bt_insert(struct uiommu_iova_domain *dom, struct bpath *p,
		      struct bt_ent *e, bool rescan)
{
	int lvl = (int)dom->height - 1, pos = p->ix[lvl];

	for (;;) {
		struct bt_node *nd = p->nd[lvl], *r, *root;
		int half;

		if (nd->n < BT_B) {
			ent_insert(nd, pos, e);
			if (rescan)
				fix_up(dom, p, lvl);
			else
				raise_up(dom, p, lvl, 0, 0);
			return;
		}
		rescan = true;
		/* Split in halves, the new entry going to its side; but an
		 * insertion at an edge (a top-down fill inserts at the front
		 * of the lowest leaf) leaves the other side nearly full. */
		half = pos <= 1 ? BT_MIN : pos >= BT_B - 1 ? BT_B - BT_MIN :
		       BT_B / 2;
		r = spare_get(dom, nd->leaf);
		ent_move(r, 0, nd, half, BT_B - half);
		r->n = (uint8_t)(BT_B - half);
		nd->n = (uint8_t)half;
		ent_clear(nd, half);
		if (pos <= half)
			ent_insert(nd, pos, e);
		else
			ent_insert(r, pos - half, e);
		/* The next insertions at the front of @nd then move nothing. */
		if (pos <= 1)
			nd_align_end(nd);
		if (lvl == 0) {
			root = spare_get(dom, false);
			summarise(nd, dom->sum, e);
			ent_insert(root, 0, e);
			summarise(r, dom->sum, e);
			ent_insert(root, 1, e);
			dom->root = root;
			dom->height++;
			assert(dom->height < BT_MAXH);
			return;
		}
		ent_refresh(p->nd[lvl - 1], p->ix[lvl - 1], dom->sum);
		summarise(r, dom->sum, e);
		pos = p->ix[lvl - 1] + 1;
		lvl--;
	}
}

/*
 * Delete the leaf entry at @p, merging or borrowing on underflow.
 * @merged: its range and gap went to the next entry of the same leaf, so
 * no gap or order of the leaf shrank and that entry's are the only ones
 * that grew.
 */
static void bt_delete(struct uiommu_iova_domain *dom, struct bpath *p,
		      bool merged)
{
	int lvl = (int)dom->height - 1, i = p->ix[lvl];
	struct bt_node *root, *lf = p->nd[lvl];
	uint64_t grown_gap = 0;
	uint8_t grown_ord = 0;

	if (merged) {
		grown_gap = lf->gap[i + 1];
		grown_ord = lf->ord[i + 1];
	}
	ent_delete(lf, i);
	if (lvl == 0 || lf->n >= BT_MIN) {
		if (merged && !(dom->sum & SUM_CLS))
			raise_up(dom, p, lvl, grown_gap, grown_ord);
		else
			leaf_changed(dom, p);
		return;
	}
	while (lvl > 0 && p->nd[lvl]->n < BT_MIN) {
		struct bt_node *par = p->nd[lvl - 1], *l, *r;
		int li = p->ix[lvl - 1];

		/* the pair (li, li + 1) */
		li = li > par->lo ? li - 1 : li;
		l = bt_child(par, li);
		r = bt_child(par, li + 1);
		nd_compact(l);
		nd_compact(r);
		if (l->n + r->n <= BT_B) {
			ent_move(l, l->n, r, 0, r->n);
			l->n = (uint8_t)(l->n + r->n);
			spare_put(dom, r);
			ent_refresh(par, li, dom->sum);
			ent_delete(par, li + 1);
			lvl--;
			continue;
		}
		/* The sibling has more than BT_B - BT_MIN: lend one. */
		if (l == p->nd[lvl]) {
			ent_move(l, l->n, r, 0, 1);
			l->n++;
			ent_delete(r, 0);
		} else {
			ent_move(r, 1, r, 0, r->n);
			ent_move(r, 0, l, l->n - 1, 1);
			r->n++;
			l->n--;
			ent_clear1(l, l->n);
		}
		ent_refresh(par, li, dom->sum);
		ent_refresh(par, li + 1, dom->sum);
		fix_up(dom, p, lvl - 1);
		return;
	}
	root = dom->root;
	if (lvl == 0 && !root->leaf && root->n == 1) {
		dom->root = bt_child(root, root->lo);
		dom->height--;
		spare_put(dom, root);
		return;
	}
	fix_up(dom, p, lvl);
}

/* Put the range [@first, @last] with leaf reference @ref into the gap of
 * the leaf entry at @p. */
static void tree_insert(struct uiommu_iova_domain *dom, struct bpath *p,
			uint64_t first, uint64_t last, uint64_t ref)
{
	struct bt_node *lf = LEAF(dom, p);
	int i = LIX(dom, p);
	uint64_t base = lf->key[i] - lf->gap[i];
	bool rescan = leaf_max_may_shrink(dom, p);
	struct bt_ent e;

	assert(base <= first && first <= last && last < lf->key[i]);
	leaf_set_gap(lf, i, lf->key[i] - last - 1);
	e.key = first;
	e.gap = first - base;
	e.cls = gap_class_bit(e.gap);
	e.ord = (uint8_t)(gap_order(first, e.gap) + 1);
	e.ref = ref;
	bt_insert(dom, p, &e, rescan);
}

/* Remove the range at @p and credit its range and gap to its successor's
 * gap (the sentinel is above every range, so there is one). */
static void tree_remove_at(struct uiommu_iova_domain *dom, struct bpath *p)
{
	struct bt_node *lf = LEAF(dom, p);
	int i = LIX(dom, p);
	uint64_t credit = lf->gap[i] + (leaf_last(lf, i) - lf->key[i] + 1);

	if (i + 1 < nd_end(lf)) {
		leaf_set_gap(lf, i + 1, lf->gap[i + 1] + credit);
		bt_delete(dom, p, true);
	} else {
		struct bpath q = *p;
		struct bt_node *sl;
		bool ok = path_next(dom, &q);

		assert(ok);
		(void)ok;
		sl = LEAF(dom, &q);
		leaf_set_gap(sl, sl->lo, sl->gap[sl->lo] + credit);
		if (dom->sum & SUM_CLS)
			leaf_changed(dom, &q);
		else	/* only a gap of that leaf grew */
			raise_up(dom, &q, (int)dom->height - 1,
				 sl->gap[sl->lo], sl->ord[sl->lo]);
		bt_delete(dom, p, false);
	}
}

/* Remove the range that starts at @first. */
static void tree_remove(struct uiommu_iova_domain *dom, uint64_t first)
{
	struct bpath p;

	descend_le(dom, first, &p);
	assert(LIX(dom, &p) >= 0 && LEAF(dom, &p)->key[LIX(dom, &p)] == first);
	tree_remove_at(dom, &p);
}

/* ------------------------------------------------------ gap searches */

/* What a gap must satisfy: at least @pages granules, or hold a
 * 2^@order-aligned block (@order >= 0), or have size class @cls.  The same
 * test serves a leaf entry (its own gap) and an inner one (a subtree). */
struct fitq {
	uint64_t pages;
	int order;
	int cls;
};

HOT bool ent_ok(const struct bt_node *nd, int i, const struct fitq *q)
{
	if (q->cls >= 0)
		return nd->cls[i] & UIO_BIT(q->cls);
	if (q->order >= 0)
		return nd->ord[i] > q->order;
	return nd->gap[i] >= q->pages;
}

/*
 * Bit i set iff entry i of @nd satisfies @q (padding never does).  All 16
 * entries at once and without a branch: a loop that stops at the first
 * satisfying entry exits at a data-dependent point, a mispredicted branch
 * per node of the search.  SSE2 (baseline x86-64): gaps and pages are below
 * 2^53, so gap < pages is the sign of the 64-bit difference; a class bit
 * shifted into the sign; orders are below 128, so a signed byte compare.
 */
#ifdef __SSE2__
_Static_assert(BT_B == 16, "ok_mask() reads the orders as one 16-byte vector");
#endif

HOT unsigned int ok_mask(const struct bt_node *nd, const struct fitq *q)
{
	unsigned int m = 0;
	int i;

#ifdef __SSE2__
	if (q->cls >= 0) {
		__m128i sh = _mm_cvtsi32_si128(63 - q->cls);

		for (i = 0; i < BT_B; i += 2)
			m |= (unsigned int)_mm_movemask_pd(_mm_castsi128_pd(
				_mm_sll_epi64(_mm_load_si128((const __m128i *)
							     &nd->cls[i]), sh)))
			     << i;
		return m;
	}
	if (q->order >= 0)
		return (unsigned int)_mm_movemask_epi8(_mm_cmpgt_epi8(
			_mm_load_si128((const __m128i *)nd->ord),
			_mm_set1_epi8((char)q->order)));
	{
		__m128i pv = _mm_set1_epi64x((long long)q->pages);

		/* Four signs at a time: the high halves of two differences
		 * gathered into one vector. */
		for (i = 0; i < BT_B; i += 4) {
			__m128 d0 = _mm_castsi128_ps(_mm_sub_epi64(
				_mm_load_si128((const __m128i *)&nd->gap[i]),
				pv));
			__m128 d1 = _mm_castsi128_ps(_mm_sub_epi64(
				_mm_load_si128((const __m128i *)&nd->gap[i + 2]),
				pv));

			m |= (unsigned int)_mm_movemask_ps(_mm_shuffle_ps(
				     d0, d1, _MM_SHUFFLE(3, 1, 3, 1))) << i;
		}
		return ~m & ((1u << BT_B) - 1);
	}
#else
	for (i = 0; i < BT_B; i++)
		m |= (unsigned int)ent_ok(nd, i, q) << i;
	return m;
#endif
}

/* Highest index <= @from of @nd whose entry satisfies @q, or -1. */
HOT int last_ok(const struct bt_node *nd, int from, const struct fitq *q)
{
	unsigned int m;

	if (from < 0)
		return -1;
	m = ok_mask(nd, q) & ((2u << from) - 1);
	return m ? 31 - __builtin_clz(m) : -1;
}

/*
 * @p is the path of descend_le(@limit): move it to the highest leaf entry
 * at or left of it whose gap satisfies @q; false if there is none.  Back
 * up to the first level with a satisfying entry (the leaf entry itself,
 * or a subtree left of the path), then down the rightmost satisfying
 * entries: at most two walks of the height.
 */
static bool search_le(const struct uiommu_iova_domain *dom,
		      const struct fitq *q, struct bpath *p)
{
	int h = (int)dom->height, l, i;
	struct bt_node *nd;

	/* Below the first path entry whose subtree cannot satisfy @q,
	 * nothing can: start there. */
	for (l = 0; l < h - 1; l++)
		if (!ent_ok(p->nd[l], p->ix[l], q))
			break;
	/* A leaf entry is itself a candidate; a path entry that failed
	 * is not. */
	i = l == h - 1 ? p->ix[l] : p->ix[l] - 1;
	for (;; l--) {
		nd = p->nd[l];
		i = last_ok(nd, i, q);
		if (i >= 0)
			break;
		if (l == 0)
			return false;
		i = p->ix[l - 1] - 1;
	}
	p->ix[l] = i;
	for (; l < h - 1; l++) {
		nd = bt_child(nd, p->ix[l]);
		prefetch_node(nd);
		i = last_ok(nd, nd_end(nd) - 1, q);
		assert(i >= 0);
		p->nd[l + 1] = nd;
		p->ix[l + 1] = i;
	}
	return true;
}

/* Size classes of the gaps of all ranges with first <= @limit. */
static uint64_t classes_le(const struct uiommu_iova_domain *dom,
			   uint64_t limit)
{
	const struct bt_node *nd = dom->root;
	uint64_t acc = 0;
	int i, j;

	for (;;) {
		i = last_le(nd, limit);
		if (i < nd->lo)
			return acc;
		for (j = nd->lo; j < i; j++)
			acc |= nd->cls[j];
		if (nd->leaf)
			return acc | nd->cls[i];
		nd = bt_child(nd, i);
	}
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
 * Choose the gap for a request: the path to the range whose gap gets it,
 * and the top of the usable part of that gap.  False if nothing fits.
 */
static bool choose_gap(const struct uiommu_iova_domain *dom, uint64_t pages,
		       uint64_t limit, int order, bool best_fit,
		       struct bpath *p, uint64_t *top)
{
	struct fitq q = { pages, order, -1 };
	uint64_t clip_len = 0, start, base, key;
	struct bt_node *lf;
	struct bpath gt;
	int i;

	/* One descent to the limit: the entry above it owns the one gap
	 * that contains the limit, clipped by it; the search for a gap
	 * wholly below the limit starts from the same path. */
	descend_le(dom, limit, p);
	lf = LEAF(dom, p);
	i = leaf_ix_after(lf, LIX(dom, p));
	if (i >= nd_end(lf)) {
		/* The entry above is in the next leaf (rare). */
		bool ok;

		gt = *p;
		ok = path_next(dom, &gt);
		assert(ok);
		(void)ok;
		lf = LEAF(dom, &gt);
		i = lf->lo;
	}
	key = lf->key[i];
	base = key - lf->gap[i];
	if (base <= limit && base < key)
		clip_len = limit - base + 1;

	if (best_fit) {
		unsigned int need = class_needed(pages, order);
		uint64_t mask = classes_le(dom, limit) |
				gap_class_bit(clip_len);

		mask = need < W_LOW_BITS ? mask & ~(UIO_BIT(need) - 1) : 0;
		if (mask) {
			bool ok;

			q.cls = (int)uio_ffs64(mask);
			if (clip_len && uio_fls64(clip_len) == (unsigned int)q.cls)
				goto take_clipped;
			ok = search_le(dom, &q, p);
			assert(ok);
			(void)ok;
			*top = LEAF(dom, p)->key[LIX(dom, p)] - 1;
			return true;
		}
		q.cls = -1;
	}
	if (clip_len && fit_in(base, limit, pages, order, &start))
		goto take_clipped;
	if (!search_le(dom, &q, p))
		return false;
	*top = LEAF(dom, p)->key[LIX(dom, p)] - 1;
	return true;

take_clipped:
	if (LEAF(dom, p) != lf)
		*p = gt;
	else
		LIX(dom, p) = i;
	*top = limit;
	return true;
}

/* Recompute every inner entry under @nd. */
static void resummarise(const struct uiommu_iova_domain *dom,
			struct bt_node *nd)
{
	int i;

	if (nd->leaf)
		return;
	for (i = nd->lo; i < nd_end(nd); i++) {
		resummarise(dom, bt_child(nd, i));
		ent_refresh(nd, i, dom->sum);
	}
}

/* Start keeping the optional summaries @need (SUM_*) from now on. */
static void sum_enable(struct uiommu_iova_domain *dom, unsigned int need)
{
	if (uio_likely(!(need & ~dom->sum)))
		return;
	dom->sum |= need;
	resummarise(dom, dom->root);
}

int uio_iova_tree_alloc(struct uiommu_iova_domain *dom, uint64_t pages,
			uint64_t limit_pfn, int align_order, bool best_fit,
			uint64_t *pfn)
{
	struct iova_node *x = NULL;
	struct bpath p;
	struct bt_node *lf;
	uint64_t top, start = 0, last, ref;
	bool ok;
	int cls;

	uio_assert_held(&dom->tree_lock);
	sum_enable(dom, (align_order >= 0 ? SUM_ORD : 0) |
			(best_fit ? SUM_CLS : 0));
	if (!choose_gap(dom, pages, limit_pfn, align_order, best_fit, &p, &top))
		return -ENOSPC;
	if (pool_reserve(dom))
		return -ENOMEM;
	lf = LEAF(dom, &p);
	ok = fit_in(lf->key[LIX(dom, &p)] - lf->gap[LIX(dom, &p)], top, pages,
		    align_order, &start);
	assert(ok);	/* choose_gap() checked it */
	(void)ok;
	last = start + pages - 1;
	cls = node_cache_class(dom, start, pages);
	if (cls >= 0 && uio_iova_hash_reserve(dom))
		return -ENOMEM;
	if (cls >= 0) {
		/* The caches and the hash hold cacheable ranges by record. */
		x = rec_take(dom, (unsigned int)cls);
		__atomic_store_n(&x->state,
				 node_state(start, (unsigned int)cls, ST_LIVE),
				 __ATOMIC_RELAXED);
		ref = ref_of(x);
	} else {
		ref = ref_inline(last, ST_LIVE);
	}
	tree_insert(dom, &p, start, last, ref);
	dom->alloc_ranges++;
	dom->alloc_granules += pages;
	if (x)
		uio_iova_hash_insert(dom, x);
	*pfn = start;
	return 0;
}

/* Release the allocated range at @p (its record, if any, is claimed). */
static void release_at(struct uiommu_iova_domain *dom, struct bpath *p)
{
	const struct bt_node *lf = LEAF(dom, p);
	int i = LIX(dom, p);
	struct iova_node *n = leaf_rec(lf, i);

	assert(leaf_st(lf, i) == ST_LIVE || leaf_st(lf, i) == ST_CACHED);
	if (n)
		uio_iova_hash_remove(dom, n);
	dom->alloc_ranges--;
	dom->alloc_granules -= leaf_last(lf, i) - lf->key[i] + 1;
	tree_remove_at(dom, p);
	if (n)
		pool_put(dom, n);
}

void uio_iova_tree_release(struct uiommu_iova_domain *dom,
			   struct iova_node *n)
{
	struct bpath p;

	uio_assert_held(&dom->tree_lock);
	descend_le(dom, node_first(n), &p);
	assert(LIX(dom, &p) >= 0 && leaf_rec(LEAF(dom, &p), LIX(dom, &p)) == n);
	release_at(dom, &p);
}

/* ----------------------------------------------------- invariant check */

struct check_ctx {
	struct uiommu_iova_domain *dom;
	uint64_t prev_end;	/* first pfn after the previous range */
	uint64_t alloc_ranges, alloc_granules, resv_ranges, resv_granules;
	uint64_t hashed;
	bool sentinel;
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

static int check_range(struct check_ctx *c, const struct bt_node *lf, int i)
{
	struct uiommu_iova_domain *dom = c->dom;
	const struct iova_node *n = leaf_rec(lf, i);
	uint64_t first = lf->key[i], last, len, state;
	unsigned int st;
	int cls;

	if (c->sentinel)
		return check_fail(c, "range above the sentinel", first);
	if ((lf->ref[i] & REF_INLINE) && lf->ref[i] >> REF_LAST_SHIFT > W_LOW_MASK)
		return check_fail(c, "inline range reference is malformed", first);
	if (n && node_first(n) != first)
		return check_fail(c, "leaf key differs from the range", first);
	last = leaf_last(lf, i);
	st = leaf_st(lf, i);
	if (first < c->prev_end || last < first)
		return check_fail(c, "ranges out of order or overlapping", first);
	if (lf->gap[i] != first - c->prev_end)
		return check_fail(c, "gap below range is wrong", first);
	if (lf->cls[i] != gap_class_bit(lf->gap[i]) ||
	    lf->ord[i] != (uint8_t)(gap_order(first, lf->gap[i]) + 1))
		return check_fail(c, "stale gap summary in a leaf", first);
	c->prev_end = last + 1;
	len = last - first + 1;
	switch (st) {
	case ST_LIVE:
	case ST_CACHED:
		if (last > dom->last_pfn)
			return check_fail(c, "range beyond the space", first);
		c->alloc_ranges++;
		c->alloc_granules += len;
		/* A record exactly for the cacheable ranges. */
		cls = node_cache_class(dom, first, len);
		if (!n != (cls < 0))
			return check_fail(c, cls < 0 ? "uncacheable range has a record" :
					  "cacheable range has no record", first);
		if (!n)
			break;
		c->hashed++;
		if (uio_iova_hash_find(dom, first, &state) != n)
			return check_fail(c, "cached-size range missing from the hash",
					  first);
		break;
	case ST_RESERVED:
		if (n)
			return check_fail(c, "reserved range has a record", first);
		if (first == dom->last_pfn + 1) {
			c->sentinel = true;
			break;
		}
		if (last > dom->last_pfn)
			return check_fail(c, "reservation beyond the space", first);
		c->resv_ranges++;
		c->resv_granules += len;
		break;
	default:
		return check_fail(c, "range in the tree has a bad state", first);
	}
	return 0;
}

/* Check the subtree @nd at level @lvl and recompute its summary from
 * scratch into @out. */
static int check_bt(struct check_ctx *c, const struct bt_node *nd,
		    unsigned int lvl, struct bt_ent *out)
{
	struct bt_ent e;
	int i;

	if (!nd->n || nd_end(nd) > BT_B ||
	    (nd != c->dom->root && nd->n < BT_MIN) ||
	    (nd == c->dom->root && !nd->leaf && nd->n < 2))
		return check_fail(c, "B-tree node fill out of bounds", c->prev_end);
	if (nd->leaf != (lvl + 1 == c->dom->height))
		return check_fail(c, "leaves at different depths", c->prev_end);
	for (i = 0; i < BT_B; i++)
		if ((i < nd->lo || i >= nd_end(nd)) &&
		    (nd->key[i] != (i < nd->lo ? 0 : ~UINT64_C(0)) ||
		     nd->gap[i] || nd->cls[i] || nd->ord[i] || nd->ref[i]))
			return check_fail(c, "B-tree padding entry in use",
					  nd->key[nd->lo]);
	for (i = nd->lo; i < nd_end(nd); i++) {
		if (i > nd->lo && nd->key[i] <= nd->key[i - 1])
			return check_fail(c, "B-tree keys out of order",
					  nd->key[i]);
		if (nd->leaf) {
			if (check_range(c, nd, i))
				return -1;
			continue;
		}
		if (check_bt(c, bt_child(nd, i), lvl + 1, &e))
			return -1;
		if (nd->key[i] != e.key || nd->gap[i] != e.gap ||
		    nd->cls[i] != e.cls || nd->ord[i] != e.ord)
			return check_fail(c, "stale subtree gap summary",
					  nd->key[i]);
	}
	summarise(nd, c->dom->sum, out);
	return 0;
}

/* Every record is in the tree (@in_tree of them), in the pool, never
 * used, or in a thread's stash; none is lost or counted twice. */
static void check_records(struct check_ctx *c, uint64_t in_tree)
{
	struct uiommu_iova_domain *dom = c->dom;
	const struct iova_tcache *tc;
	const struct iova_node *n;
	uint64_t free = 0, stashed = 0;
	unsigned int k;

	for (n = dom->pool; n; n = (const struct iova_node *)(uintptr_t)node_load(n)) {
		if (node_st(n) != ST_FREE || ++free > dom->nrec) {
			check_fail(c, "record pool is corrupt", free);
			return;
		}
	}
	/* Stashes change only under tree_lock (held), and a cache leaves
	 * the list only after its stashes are empty (tcache_retire()); the
	 * list needs depot_lock, which nests inside tree_lock. */
	uio_lock(&dom->depot_lock);
	for (tc = dom->tcaches; tc; tc = tc->next)
		for (k = 0; k < IOVA_NCLASS; k++)
			stashed += tc->rstash[k].left;
	uio_unlock(&dom->depot_lock);
	if (in_tree + free + dom->nfresh + stashed != dom->nrec)
		check_fail(c, "records lost or counted twice",
			   in_tree + free + dom->nfresh + stashed);
}

static int check_locked(struct uiommu_iova_domain *dom)
{
	struct check_ctx c = { .dom = dom, .prev_end = dom->start_pfn };
	const struct bt_node *s;
	unsigned int ns = 0;
	struct bt_ent e;

	if (!check_bt(&c, dom->root, 0, &e) && !c.sentinel)
		check_fail(&c, "sentinel missing", dom->last_pfn + 1);
	for (s = dom->spare; s; s = bt_child(s, 0))
		ns++;
	if (!c.why && ns != dom->nspare)
		check_fail(&c, "spare node count is wrong", ns);
	if (!c.why && (c.alloc_ranges != dom->alloc_ranges ||
		       c.alloc_granules != dom->alloc_granules ||
		       c.resv_ranges != dom->resv_ranges ||
		       c.resv_granules != dom->resv_granules))
		check_fail(&c, "counters disagree with the tree", 0);
	if (!c.why && dom->cache_on && c.hashed != dom->hcount)
		check_fail(&c, "hash count disagrees with the tree", 0);
	if (!c.why && dom->cache_on)
		check_records(&c, c.hashed);
	if (!c.why && dom->cache_on &&
	    dom->hcount > uio_iova_hash_load_max(dom->hash))
		check_fail(&c, "hash fuller than its load bound", 0);
	if (!c.why && dom->cache_on) {
		uint64_t where = 0;
		const char *why = uio_iova_hash_check(dom, &where);

		if (why)
			check_fail(&c, why, where);
	}
	if (c.why)
		return uio_fail(-EUCLEAN, "iova",
				"domain check failed: %s at pfn 0x%" PRIx64,
				c.why, c.where);
	return 0;
}

/* tree_lock held: at debug level 2, check the whole domain after a change. */
void uio_iova_debug_check(struct uiommu_iova_domain *dom)
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
	dom->granule_mask = cfg->granule - 1;
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
	dom->tslot_off = uio_iova_tslot_off(dom);
	uio_mutex_init(&dom->tree_lock);
	uio_mutex_init(&dom->depot_lock);

	if (pool_reserve(dom)) {
		ret = -ENOMEM;
		goto err_free_dom;
	}
	dom->root = spare_get(dom, true);
	dom->height = 1;
	dom->root->n = 1;
	dom->root->key[0] = dom->last_pfn + 1;
	dom->root->ref[0] = ref_inline(dom->last_pfn + 1, ST_RESERVED);
	leaf_set_gap(dom->root, 0, dom->last_pfn - dom->start_pfn + 1);

	if (dom->cache_on) {
		ret = uio_iova_cache_register(dom);
		if (ret)
			goto err_free_chunks;
	}
	trace_iova_domain_create(cfg->start, cfg->last, cfg->granule);
	*out = dom;
	return 0;

err_free_chunks:
	uio_free_aligned(dom->chunks, dom->chunks->bytes, 64);
err_free_dom:
	uio_mutex_destroy(&dom->depot_lock);
	uio_mutex_destroy(&dom->tree_lock);
	uio_free_aligned(dom, sizeof(*dom), 64);
	return ret;
}

UIOMMU_API void uiommu_iova_domain_destroy(struct uiommu_iova_domain *dom)
{
	struct pool_chunk *chunk, *next;

	if (!dom)
		return;
	trace_iova_domain_destroy(dom->cfg.start, dom->cfg.last,
				  dom->alloc_ranges);
	if (dom->cache_on)
		uio_iova_cache_destroy(dom);
	for (chunk = dom->chunks; chunk; chunk = next) {
		next = chunk->next;
		uio_free_aligned(chunk, chunk->bytes, CHUNK_ALIGN);
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
	int ret;

	uio_lock(&dom->tree_lock);
	ret = uio_iova_tree_alloc(dom, pages, limit_pfn, order, best_fit, pfn);
	if (!ret)
		uio_iova_debug_check(dom);
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
	/* ceil(log2(pages)) without a branch on pages == 1 (random sizes
	 * mispredict it); pages < 2^53, so the shift keeps every bit. */
	return uio_fls64(((pages - 1) << 1) | 1);
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

/* Out of line and called last, so that the hit path makes no call and
 * keeps no register across one (it then saves none). */
static __attribute__((noinline, cold)) int
alloc_hit_traced(uint64_t size, uint64_t limit, uint64_t iova)
{
	trace_iova_alloc(size, limit, iova);
	return 0;
}

UIOMMU_API int uiommu_iova_alloc(struct uiommu_iova_domain *dom, uint64_t size,
				 uint64_t limit, unsigned int flags,
				 uint64_t *iova)
{
	uint64_t pages, pfn;

	/*
	 * The common case first, with the checks it implies folded: no
	 * flags, the limit at or above the space (so no cached range, all
	 * inside the space, lies above it), size a non-zero multiple of the
	 * granule up to the largest cached size (which is no larger than
	 * the space).
	 */
	if (uio_likely(!flags) && uio_likely(iova != NULL) &&
	    uio_likely(dom != NULL) && uio_likely(limit >= dom->cfg.last)) {
		pages = size >> dom->shift;
		if (uio_likely(pages - 1 < dom->fast_pages &&
			       !(size & dom->granule_mask) &&
			       uio_iova_cache_pop(dom, cache_order_of(pages),
						  UINT64_MAX, &pfn))) {
			*iova = pfn << dom->shift;
			if (trace_iova_alloc_enabled())
				return alloc_hit_traced(size, limit, *iova);
			return 0;
		}
		/* Tail calls, flags known: the hit path keeps fewer
		 * registers live and saves none. */
		return alloc_checked(dom, size, limit, 0, iova);
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
free_tree(struct uiommu_iova_domain *dom, uint64_t pfn)
{
	const struct bt_node *lf;
	struct iova_node *n;
	struct bpath p;
	int ret = -ENOENT, i;
	bool claimed;

	if (uio_unlikely(pfn < dom->start_pfn || pfn > dom->last_pfn))
		return uio_fail(-ENOENT, "iova",
				"free: 0x%" PRIx64 " is outside the space",
				pfn << dom->shift);
	uio_lock(&dom->tree_lock);
	descend_le(dom, pfn, &p);
	lf = LEAF(dom, &p);
	i = LIX(dom, &p);
	if (i >= 0 && lf->key[i] == pfn) {
		n = leaf_rec(lf, i);
		/* A record is claimed against a racing cached free of the
		 * same address; an inline range is only seen under the lock. */
		if (n)
			claimed = node_claim(n, node_load(n));
		else
			claimed = ref_st(lf->ref[i]) == ST_LIVE;
		if (claimed) {
			release_at(dom, &p);
			uio_iova_debug_check(dom);
			ret = 0;
		}
	}
	uio_unlock(&dom->tree_lock);
	if (ret)
		return uio_fail(ret, "iova",
				"free: 0x%" PRIx64 " is not the start of a live allocation",
				pfn << dom->shift);
	trace_iova_free(pfn << dom->shift, 0);
	return 0;
}

/* A claimed range @n that this thread's cache @tc (NULL: none) cannot
 * take as it is: make room, or give it back to the tree. */
static __attribute__((noinline)) int
free_cached_slow(struct uiommu_iova_domain *dom, struct iova_tcache *tc,
		 struct iova_node *n, uint64_t live)
{
	bool cached = uio_iova_cache_free_slow(dom, tc, n, live);

	trace_iova_free(state_first(live) << dom->shift, cached);
	return 0;
}

/* Out of line and called last, so that the hit path makes no call and
 * keeps no register across one (it then saves none). */
static __attribute__((noinline, cold)) int
free_hit_traced(struct uiommu_iova_domain *dom, uint64_t live)
{
	trace_iova_free(state_first(live) << dom->shift, 1);
	return 0;
}

/* Park the claimed range @n, whose state word was @live, in this thread's
 * cache @tc. */
static inline __attribute__((always_inline)) int
free_cached_push(struct uiommu_iova_domain *dom, struct iova_tcache *tc,
		 struct iova_node *n, uint64_t live)
{
	struct iova_magazine *m = tc->loaded[state_cls(live)];

	if (uio_unlikely(!m || m->n == IOVA_MAG_SIZE))
		return free_cached_slow(dom, tc, n, live);
	uio_iova_cache_push(tc, n, live);
	if (trace_iova_free_enabled())
		return free_hit_traced(dom, live);
	return 0;
}

/* The home slot did not claim @pfn: probe the whole run, else the tree. */
static __attribute__((noinline)) int
free_cached_probe(struct uiommu_iova_domain *dom, struct iova_tcache *tc,
		  uint64_t pfn)
{
	uint64_t live;
	struct iova_node *n = uio_iova_hash_claim(dom, pfn, &live);

	if (!n)
		return free_tree(dom, pfn);
	return free_cached_push(dom, tc, n, live);
}

/*
 * A free on a thread without a cache of @dom yet.  The claim comes first:
 * a free that the cache will not take (an uncacheable range, an address
 * that is not live) must not set up a cache, which may evict another
 * domain's from the thread's slot.
 */
static __attribute__((noinline, cold)) int
free_cached_attach(struct uiommu_iova_domain *dom, uint64_t pfn)
{
	struct iova_tslot *slot = uio_iova_tslot_of(dom);
	struct iova_tcache *tc;
	uint64_t live;
	struct iova_node *n = uio_iova_hash_claim(dom, pfn, &live);

	if (!n)
		return free_tree(dom, pfn);
	tc = uio_iova_tcache_attach(dom, slot);
	if (!tc)
		return free_cached_slow(dom, NULL, n, live);
	return free_cached_push(dom, tc, n, live);
}

/*
 * Free @pfn into this thread's cache if the lock-free index claims it
 * live (the validation: only the first free of a live range wins), else
 * through the tree, which decides.  Every exit but the hit is a tail
 * call, so the hit path saves no registers.
 */
static inline __attribute__((always_inline)) int
free_cached(struct uiommu_iova_domain *dom, uint64_t pfn)
{
	struct iova_tcache *tc;
	struct iova_node *n;
	uint64_t live;

	if (uio_unlikely(IOVA_TSLOT(dom)->id != dom->id))
		return free_cached_attach(dom, pfn);
	tc = IOVA_TSLOT(dom)->tc;
	if (uio_unlikely(!uio_iova_hash_claim_home(dom, pfn, &n, &live)))
		return free_cached_probe(dom, tc, pfn);
	return free_cached_push(dom, tc, n, live);
}

UIOMMU_API int uiommu_iova_free(struct uiommu_iova_domain *dom, uint64_t iova)
{
	uint64_t pfn;

	if (uio_unlikely(!dom))
		return uio_fail(-EINVAL, "iova", "free: NULL domain");
	if (uio_unlikely(iova & dom->granule_mask))
		return uio_fail(-EINVAL, "iova",
				"free: 0x%" PRIx64 " is not aligned to the granule 0x%" PRIx64,
				iova, dom->cfg.granule);
	/* A pfn outside the space has no live range, so the cached path
	 * finds none there and leaves it to free_tree() to say so. */
	pfn = iova >> dom->shift;
	if (dom->cache_on)
		return free_cached(dom, pfn);
	return free_tree(dom, pfn);
}

/* Reserve with tree_lock held and the pools reserved (pool_reserve()). */
static int reserve_locked(struct uiommu_iova_domain *dom, uint64_t first,
			  uint64_t last)
{
	struct rng r, succ;
	struct bpath p;
	uint64_t lo = first, hi = last, from;

	/* Pass 1: refuse before touching anything. */
	if (!range_le(dom, first, &r) || r.last < first)
		range_gt(dom, first, &r);
	for (; r.first <= last; range_gt(dom, r.first, &r))
		if (r.st != ST_RESERVED)
			return -EBUSY;

	/* Pass 2: absorb reservations that overlap or touch. */
	from = first ? first - 1 : 0;
	if (!range_le(dom, from, &r) || r.last + 1 < first)
		range_gt(dom, from, &r);
	while (r.first <= last + 1 && r.first <= dom->last_pfn) {
		range_gt(dom, r.first, &succ);
		if (r.st == ST_RESERVED) {
			if (r.first < lo)
				lo = r.first;
			if (r.last > hi)
				hi = r.last;
			dom->resv_ranges--;
			dom->resv_granules -= r.last - r.first + 1;
			tree_remove(dom, r.first);
		}
		r = succ;
	}
	/* Removals only lower the tree: the reserved spares still do. */
	descend_gt(dom, lo, &p);
	tree_insert(dom, &p, lo, hi, ref_inline(hi, ST_RESERVED));
	dom->resv_ranges++;
	dom->resv_granules += hi - lo + 1;
	return 0;
}

UIOMMU_API int uiommu_iova_reserve(struct uiommu_iova_domain *dom,
				   uint64_t first, uint64_t last)
{
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
	if (pool_reserve(dom)) {
		uio_unlock(&dom->tree_lock);
		return -ENOMEM;
	}
	ret = reserve_locked(dom, first >> dom->shift, last >> dom->shift);
	uio_iova_debug_check(dom);
	uio_unlock(&dom->tree_lock);
	if (ret)
		return uio_fail(ret, "iova",
				"reserve: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps a live allocation",
				first, last);
	trace_iova_reserve(first, last);
	return 0;
}

static unsigned int st_kind(unsigned int st)
{
	switch (st) {
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
	struct rng r;
	uint64_t pfn;

	if (!dom || !range)
		return uio_fail(-EINVAL, "iova", "find: NULL %s",
				dom ? "range" : "domain");
	if (addr < dom->cfg.start || addr > dom->cfg.last)
		return uio_fail(-ERANGE, "iova",
				"find: 0x%" PRIx64 " is outside the space", addr);
	pfn = addr >> dom->shift;
	uio_lock(&dom->tree_lock);
	if (range_le(dom, pfn, &r) && r.last >= pfn) {
		to_range(dom, r.first, r.last, st_kind(r.st), range);
	} else {
		struct bpath p;
		const struct bt_node *lf;

		descend_gt(dom, pfn, &p);
		lf = LEAF(dom, &p);
		to_range(dom, lf->key[LIX(dom, &p)] - lf->gap[LIX(dom, &p)],
			 lf->key[LIX(dom, &p)] - 1, UIOMMU_IOVA_FREE, range);
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

static int walk(struct walk_ctx *w, const struct bt_node *nd)
{
	struct uiommu_iova_range r;
	unsigned int kind;
	uint64_t first;
	int i, ret;

	for (i = nd->lo; i < nd_end(nd); i++) {
		if (!nd->leaf) {
			ret = walk(w, bt_child(nd, i));
			if (ret)
				return ret;
			continue;
		}
		first = nd->key[i];
		if ((w->kinds & UIOMMU_IOVA_FREE) && nd->gap[i]) {
			to_range(w->dom, first - nd->gap[i], first - 1,
				 UIOMMU_IOVA_FREE, &r);
			ret = w->fn(w->opaque, &r);
			if (ret)
				return ret;
		}
		kind = st_kind(leaf_st(nd, i));
		if ((w->kinds & kind) && first <= w->dom->last_pfn) {
			to_range(w->dom, first, leaf_last(nd, i), kind, &r);
			ret = w->fn(w->opaque, &r);
			if (ret)
				return ret;
		}
	}
	return 0;
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
	struct bt_ent e;
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
	summarise(dom->root, dom->sum, &e);
	st->largest_free = e.gap << dom->shift;
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
