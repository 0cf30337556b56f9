/* SPDX-License-Identifier: MIT */
/*
 * IOVA allocator internals shared by iova.c (API, tree) and iova-cache.c
 * (per-thread magazines, depot, lock-free free-by-address index).
 *
 * Units are granule frame numbers (pfn = address >> granule shift); every
 * range is [first, last] inclusive.
 */
#ifndef UIO_IOVA_TREE_H
#define UIO_IOVA_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include <uiommu/iova.h>

#include "lock.h"

/* Node states, in the low two bits of node.state; the rest is the pfn. */
enum {
	ST_LIVE = 1,		/* held by a caller */
	ST_CACHED = 2,		/* parked in a magazine (allocated in the tree) */
	ST_RESERVED = 3,	/* reserved range or the top sentinel (inline) */
};
#define ST_SHIFT 2
#define ST_MASK 3u
#define ST_POOL (~UINT64_C(0))	/* a node in the free pool: matches no pfn */

/* Granule counts and pfns fit in 53 bits (space <= 2^64, granule >= 4K):
 * gap size classes are bits 0..52 of a word. */
#define W_LOW_BITS 53
#define W_LOW_MASK ((UINT64_C(1) << W_LOW_BITS) - 1)

/*
 * One cacheable allocated range (live or cached): a stable 64-byte record
 * that the B-tree leaves (iova.c) point to, so the magazines and the hash
 * may hold it while the tree moves its entries.  Every other range (not
 * cacheable, reserved, the top sentinel) is kept inline in its leaf entry
 * and has no record.  The free gap below a range and the per-subtree
 * summaries live in the B-tree nodes, not here.
 *
 * state is read without the lock by the cached free path (found through
 * the hash), so it is only accessed atomically.
 */
struct iova_node {
	struct iova_node *next;	/* free pool link */
	uint64_t state;		/* (first << ST_SHIFT) | ST_* */
	uint64_t last;
	/* Cache class of the range (-1: not cacheable), set before the
	 * range is published; read by the lock-free free path. */
	int32_t cache_cls;
	uint32_t spare;
	/* One line per record: a remote free's CAS on state moves only
	 * this range's line between cores. */
	uint64_t pad[4];
};

struct bt_node;		/* iova.c */
struct pool_chunk;	/* iova.c */

/*
 * The pfn -> node index of cacheable ranges: open addressing with linear
 * probing.  A slot is one word: the record's address (records are 64-byte
 * aligned) with a 6-bit tag of the pfn's hash in the low bits, 0 when
 * empty.  One atomic load reads a whole slot, so a lock-free reader never
 * sees a torn one; the tag lets a probe pass other keys' slots without
 * touching their records (mostly other threads' lines).  A tag match is
 * confirmed against the record's state, which holds the pfn.
 * Old arrays are kept until destroy (a lock-free reader may still be in
 * one; together they are smaller than the current one).
 */
#define IOVA_HTAG_BITS 6
#define IOVA_HTAG_MASK ((UINT64_C(1) << IOVA_HTAG_BITS) - 1)

struct iova_hash {
	struct iova_hash *retired;
	unsigned int bits;
	/* Derived from bits, for the lock-free lookup: 64 - bits,
	 * 64 - IOVA_HTAG_BITS - bits, 2^bits - 1. */
	unsigned int idx_shift, tag_shift;
	size_t mask;
	uint64_t s[];			/* (uintptr_t)node | tag, 0: empty */
};

/*
 * The hash never holds more than 1/2^IOVA_HASH_LOAD_SHIFT of its slots:
 * it doubles before an insertion would pass that (uio_iova_hash_reserve(),
 * which may fail; the insertion then cannot).  Every cached free probes
 * it, and a probe run longer than one slot is a data-dependent loop exit
 * that the branch predictor misses.  At load 1/2 a table shared by two
 * threads measured 1.2-2.0 probes per free and cached on two threads
 * scaled 1.3x instead of 1.8x (docs/perf/iova.md); 1/4 gave ~1.8x and 1/8
 * up to 1.97x.  With one-word slots, 1/8 costs what 1/4 did with two-word
 * slots: 64-128 bytes per cached range.
 */
#define IOVA_HASH_LOAD_SHIFT 3

static inline uint64_t uio_iova_hash_load_max(const struct iova_hash *h)
{
	return ((uint64_t)1 << h->bits) >> IOVA_HASH_LOAD_SHIFT;
}

#define IOVA_NCLASS (UIOMMU_IOVA_CACHE_MAX_ORDER + 1)
#define IOVA_MAG_SIZE 62	/* 512-byte magazines */

struct iova_magazine {
	uint32_t n;
	struct iova_magazine *next;	/* depot lists */
	struct iova_node *e[IOVA_MAG_SIZE];
};

/* One thread's caches of one domain. */
struct iova_tcache {
	struct iova_magazine *loaded[IOVA_NCLASS];
	struct iova_magazine *prev[IOVA_NCLASS];
	/* Written by the owner with relaxed atomics, read by stats. */
	uint64_t count[IOVA_NCLASS];	/* ranges in loaded + prev */
	uint64_t hits, misses;
	struct iova_tcache *next;	/* dom->tcaches, under depot_lock */
};

/* Per size class depot of magazines, under depot_lock. */
struct iova_depot {
	struct iova_magazine *full;
	struct iova_magazine *empty;
	unsigned int nfull, nempty;
};

struct uiommu_iova_domain {
	/* Read-mostly, used by the lock-free paths: one cache line. */
	uint64_t id;			/* unique, never reused */
	unsigned int shift;		/* log2(granule) */
	unsigned int cache_order;	/* max cached order, or OFF */
	bool cache_on;
	/* Largest request the fast path may take: min(2^cache_order, size
	 * of the space) granules, 0 with the cache off. */
	uint64_t fast_pages;
	uint64_t start_pfn, last_pfn;
	struct iova_hash *hash;		/* atomic pointer */
	struct uiommu_iova_config cfg;

	/* The tree, its counters and the node pool, under tree_lock. */
	struct uio_mutex tree_lock __attribute__((aligned(64)));
	struct bt_node *root;
	unsigned int height;		/* B-tree levels, leaves included */
	unsigned int sum;		/* optional inner summaries (iova.c) */
	unsigned int nspare;		/* B-tree nodes in spare */
	uint64_t nnodes;		/* B-tree nodes in all pool blocks */
	struct bt_node *spare;		/* free B-tree nodes */
	struct iova_node *pool;		/* free records, linked by next */
	struct pool_chunk *chunks;	/* pool blocks (iova.c) */
	uint64_t hcount;		/* nodes in the hash */
	uint64_t alloc_ranges, alloc_granules;	/* LIVE + CACHED */
	uint64_t resv_ranges, resv_granules;

	/* Caches, under depot_lock. */
	struct uio_mutex depot_lock __attribute__((aligned(64)));
	struct iova_depot depot[IOVA_NCLASS];
	struct iova_tcache *tcaches;	/* threads' caches of this domain */
	uint64_t retired_hits, retired_misses;

	struct uiommu_iova_domain *reg_next; /* registry of cached domains */
};

static inline uint64_t node_first(const struct iova_node *n)
{
	return __atomic_load_n(&n->state, __ATOMIC_RELAXED) >> ST_SHIFT;
}

static inline unsigned int node_st(const struct iova_node *n)
{
	return (unsigned int)(__atomic_load_n(&n->state, __ATOMIC_RELAXED) &
			      ST_MASK);
}

static inline uint64_t node_len(const struct iova_node *n)
{
	return n->last - node_first(n) + 1;
}

/* Cacheable: a power-of-two number of granules up to the cached order,
 * aligned to its size (so it serves any request of its class). */
static inline int node_cache_class(const struct uiommu_iova_domain *dom,
				   uint64_t first, uint64_t len)
{
	unsigned int order;

	if (!dom->cache_on || (len & (len - 1)) || (first & (len - 1)))
		return -1;
	order = (unsigned int)__builtin_ctzll(len);
	return order <= dom->cache_order ? (int)order : -1;
}

/* iova.c: tree operations, all with tree_lock held. */
int uio_iova_tree_alloc(struct uiommu_iova_domain *dom, uint64_t pages,
			uint64_t limit_pfn, int align_order, bool best_fit,
			uint64_t *pfn);
void uio_iova_tree_release(struct uiommu_iova_domain *dom,
			   struct iova_node *n);
/* Takes tree_lock: a size-aligned block of 2^@order granules. */
int uio_iova_cache_tree_alloc(struct uiommu_iova_domain *dom,
			      unsigned int order, uint64_t limit_pfn,
			      uint64_t *pfn);

/* iova-cache.c */

/* A thread's caches, found by domain id (ids are never reused, so a slot
 * left by a destroyed domain never matches again). */
#define IOVA_TSLOTS 4
struct iova_tslot {
	uint64_t id;
	struct iova_tcache *tc;
};
/* initial-exec: the fast path reads it without a __tls_get_addr call. */
extern __thread struct iova_tslot uio_iova_tls[IOVA_TSLOTS]
	__attribute__((tls_model("initial-exec")));
struct iova_tcache *uio_iova_tcache_attach(struct uiommu_iova_domain *dom,
					   struct iova_tslot *slot);

/* This thread's cache of @dom, created on first use; NULL if that failed. */
static inline struct iova_tcache *
uio_iova_tcache_get(struct uiommu_iova_domain *dom)
{
	struct iova_tslot *slot = &uio_iova_tls[dom->id & (IOVA_TSLOTS - 1)];

	if (__builtin_expect(slot->id == dom->id, 1))
		return slot->tc;
	return uio_iova_tcache_attach(dom, slot);
}
int uio_iova_cache_alloc_slow(struct uiommu_iova_domain *dom,
			      struct iova_tcache *tc, unsigned int order,
			      uint64_t limit_pfn, uint64_t *pfn);
void uio_iova_cache_free_slow(struct uiommu_iova_domain *dom,
			      struct iova_tcache *tc, unsigned int c,
			      struct iova_node *n);

/* The owner's relaxed update of a counter that stats read racily. */
static inline void uio_relaxed_add(uint64_t *p, int64_t v)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (uint64_t)v,
			 __ATOMIC_RELAXED);
}

static inline uint64_t uio_iova_hash_mix(uint64_t pfn)
{
	return pfn * UINT64_C(0x9e3779b97f4a7c15);
}

/* Home slot: the top @bits of the mix. */
static inline size_t uio_iova_hash_idx(uint64_t pfn, unsigned int bits)
{
	return (size_t)(uio_iova_hash_mix(pfn) >> (64 - bits));
}

/* Tag: the next IOVA_HTAG_BITS of the mix, so keys of one home slot
 * differ in it (the low bits of an aligned pfn, and of its product, are
 * zero).  bits <= 58 always (a space has at most 2^52 granules). */
static inline uint64_t uio_iova_hash_tag(uint64_t pfn, unsigned int bits)
{
	return (uio_iova_hash_mix(pfn) >> (64 - IOVA_HTAG_BITS - bits)) &
	       IOVA_HTAG_MASK;
}

static inline struct iova_node *uio_iova_hslot_node(uint64_t v)
{
	return (struct iova_node *)(uintptr_t)(v & ~IOVA_HTAG_MASK);
}

#define IOVA_HASH_MAX_STEPS 64	/* lock-free probe bound */

/*
 * Lock-free: the node indexed at @pfn, or NULL (possibly falsely, while a
 * writer moves slots: the caller then asks the tree).  The state read that
 * confirms a tag match is only a hint (it may change at once); the
 * caller's CAS on the state, which holds the pfn, is the validation.
 */
static inline struct iova_node *
uio_iova_hash_find(struct uiommu_iova_domain *dom, uint64_t pfn)
{
	struct iova_hash *h = __atomic_load_n(&dom->hash, __ATOMIC_ACQUIRE);
	size_t mask = h->mask;
	uint64_t hv = uio_iova_hash_mix(pfn);
	size_t i = (size_t)(hv >> h->idx_shift);
	uint64_t tag = (hv >> h->tag_shift) & IOVA_HTAG_MASK;
	int steps;

	for (steps = 0; steps < IOVA_HASH_MAX_STEPS;
	     steps++, i = (i + 1) & mask) {
		uint64_t v = __atomic_load_n(&h->s[i], __ATOMIC_ACQUIRE);
		struct iova_node *n;

		if (!v)
			return NULL;
		if ((v & IOVA_HTAG_MASK) != tag)
			continue;
		n = uio_iova_hslot_node(v);
		if (node_first(n) == pfn)
			return n;
	}
	return NULL;
}

/*
 * Cache hit paths, inline in the API functions of iova.c; everything else
 * is out of line in iova-cache.c.
 *
 * The hit path of an allocation: pop a size-aligned block of 2^@order
 * granules at or below @limit_pfn from this thread's loaded magazine and
 * make it LIVE.  False, with nothing changed, when this thread has no
 * cache of @dom yet or its loaded magazine cannot serve: the caller then
 * takes the full path, uio_iova_cache_alloc().  Makes no call, so the
 * API function that inlines it need not save registers.
 */
static inline bool uio_iova_cache_pop(struct uiommu_iova_domain *dom,
				      unsigned int order, uint64_t limit_pfn,
				      uint64_t *pfn)
{
	struct iova_tslot *slot = &uio_iova_tls[dom->id & (IOVA_TSLOTS - 1)];
	struct iova_tcache *tc;
	struct iova_magazine *m;
	struct iova_node *n;
	uint32_t k;

	if (__builtin_expect(slot->id != dom->id, 0))
		return false;
	tc = slot->tc;
	m = tc->loaded[order];
	if (__builtin_expect(!m || !m->n, 0))
		return false;
	k = m->n - 1;
	n = m->e[k];
	if (__builtin_expect(n->last > limit_pfn, 0))
		return false;
	m->n = k;
	uio_relaxed_add(&tc->count[order], -1);
	uio_relaxed_add(&tc->hits, 1);
	*pfn = node_first(n);
	__atomic_store_n(&n->state, (*pfn << ST_SHIFT) | ST_LIVE,
			 __ATOMIC_RELEASE);
	return true;
}

/* Allocate a size-aligned block of 2^@order granules at or below
 * @limit_pfn from this thread's cache, else from the depot or the tree. */
static inline int uio_iova_cache_alloc(struct uiommu_iova_domain *dom,
				       unsigned int order, uint64_t limit_pfn,
				       uint64_t *pfn)
{
	struct iova_tcache *tc;
	struct iova_magazine *m;

	if (uio_iova_cache_pop(dom, order, limit_pfn, pfn))
		return 0;
	tc = uio_iova_tcache_get(dom);
	if (__builtin_expect(!tc, 0))
		return uio_iova_cache_alloc_slow(dom, NULL, order, limit_pfn,
						 pfn);
	m = tc->loaded[order];
	if (!m || !m->n)
		return uio_iova_cache_alloc_slow(dom, tc, order, limit_pfn,
						 pfn);
	/* Cached ranges lie above the limit: go to the tree. */
	uio_relaxed_add(&tc->misses, 1);
	return uio_iova_cache_alloc_slow(dom, NULL, order, limit_pfn, pfn);
}

void uio_iova_cache_flush_local(struct uiommu_iova_domain *dom);
void uio_iova_cache_counts(struct uiommu_iova_domain *dom,
			   struct uiommu_iova_stats *st);
int uio_iova_cache_register(struct uiommu_iova_domain *dom);
void uio_iova_cache_destroy(struct uiommu_iova_domain *dom);
/* tree_lock held: reserve (0 or -ENOMEM), then insert, which cannot fail. */
UIOMMU_MUST_CHECK int uio_iova_hash_reserve(struct uiommu_iova_domain *dom);
void uio_iova_hash_insert(struct uiommu_iova_domain *dom,
			  struct iova_node *n);
void uio_iova_hash_remove(struct uiommu_iova_domain *dom,
			  struct iova_node *n);
const char *uio_iova_hash_check(struct uiommu_iova_domain *dom,
				uint64_t *where);
void uio_iova_hash_destroy(struct uiommu_iova_domain *dom);

#endif /* UIO_IOVA_TREE_H */
