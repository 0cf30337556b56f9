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

/*
 * A record's state word: bits 1:0 the state, bits 5:2 the cache class
 * (log2 of the range's length in granules), bits 63:6 the first pfn.  A
 * record in the free pool has state 0 in bits 1:0 and the next pool
 * record's address in the word (records are 8-byte aligned), so it
 * matches no live or cached range.
 */
enum {
	ST_FREE = 0,		/* in the record pool */
	ST_LIVE = 1,		/* held by a caller */
	ST_CACHED = 2,		/* parked in a magazine (allocated in the tree) */
	ST_RESERVED = 3,	/* reserved range or the top sentinel (inline) */
};
#define ST_MASK 3u
#define ST_CLS_SHIFT 2
#define ST_CLS_MASK 15u		/* classes 0..UIOMMU_IOVA_CACHE_MAX_ORDER */
#define ST_SHIFT 6		/* the pfn */

_Static_assert(UIOMMU_IOVA_CACHE_MAX_ORDER <= ST_CLS_MASK,
	       "a cache class fits its field of the state word");

/* Granule counts and pfns fit in 53 bits (space <= 2^64, granule >= 4K):
 * gap size classes are bits 0..52 of a word. */
#define W_LOW_BITS 53
#define W_LOW_MASK ((UINT64_C(1) << W_LOW_BITS) - 1)

/*
 * One cacheable allocated range (live or cached): a stable one-word record
 * that the B-tree leaves (iova.c) point to, so the magazines and the hash
 * may hold it while the tree moves its entries.  Every other range (not
 * cacheable, reserved, the top sentinel) is kept inline in its leaf entry
 * and has no record.  A cacheable range is 2^class granules aligned to its
 * size, so the word alone describes it.
 *
 * Eight records share a line, and a thread takes its records two lines at
 * a time per class (iova.c, rec_take()): the ranges a thread allocates one
 * after the other in a class then share lines, so a thread that frees
 * another's ranges in that order claims up to eight states per line it
 * moves, and two threads that allocate on their own never share a line
 * (nor the line the prefetcher pairs with it).
 *
 * state is claimed without the lock by the cached free path (found
 * through the hash, with one compare-and-swap), so it is only accessed
 * atomically.
 */
struct iova_node {
	uint64_t state;
};

/* Records a thread takes at once: a pair of 64-byte lines, the unit the
 * adjacent-line prefetcher moves. */
#define IOVA_REC_TAKE 16

static inline uint64_t node_state(uint64_t first, unsigned int cls,
				  unsigned int st)
{
	return (first << ST_SHIFT) | ((uint64_t)cls << ST_CLS_SHIFT) | st;
}

static inline uint64_t state_first(uint64_t s)
{
	return s >> ST_SHIFT;
}

static inline unsigned int state_st(uint64_t s)
{
	return (unsigned int)(s & ST_MASK);
}

static inline unsigned int state_cls(uint64_t s)
{
	return (unsigned int)(s >> ST_CLS_SHIFT) & ST_CLS_MASK;
}

struct bt_node;		/* iova.c */
struct pool_chunk;	/* iova.c */

/*
 * The pfn -> node index of cacheable ranges: open addressing with linear
 * probing.  A slot is one word, 0 when empty:
 *   bits 63:16  the record's address (user addresses are below 2^48 on
 *               the 64-bit hosts we build for; pool_grow() checks each
 *               block);
 *   bits 15:6   a 10-bit tag of the pfn's hash;
 *   bits  5:0   the low bits of the record's state word when it is live:
 *               the cache class in 5:2 and ST_LIVE (1) in 1:0.
 * One atomic load reads a whole slot, so a lock-free reader never sees a
 * torn one.  The tag lets a probe pass other keys' slots without touching
 * their records (mostly other threads' lines); with bit 0 set in every
 * used slot, one masked compare also rejects an empty one.  And since the
 * low bits are those of the live state word, a free has the whole word
 * it expects, (pfn << 6) | (slot & 63), and claims the record with one
 * compare-and-swap without reading it first: that read would be one more
 * load in the chain of every free.  A tag match is confirmed by the CAS,
 * or by the pfn in the word it returns.  Old arrays are kept until
 * destroy (a lock-free reader may still be in one; together they are
 * smaller than the current one).
 */
#define IOVA_HPTR_SHIFT 16
#define IOVA_HTAG_SHIFT ST_SHIFT
#define IOVA_HTAG_BITS 10
#define IOVA_HTAG_MASK (((UINT64_C(1) << IOVA_HTAG_BITS) - 1) << IOVA_HTAG_SHIFT)
#define IOVA_HLOW_MASK ((UINT64_C(1) << ST_SHIFT) - 1)	/* class, LIVE */
/* What a probe compares: the tag and the used bit (ST_LIVE's). */
#define IOVA_HKEY_MASK (IOVA_HTAG_MASK | ST_LIVE)
#define IOVA_HPTR_LIMIT (UINT64_C(1) << (64 - IOVA_HPTR_SHIFT))

_Static_assert(IOVA_HTAG_SHIFT + IOVA_HTAG_BITS == IOVA_HPTR_SHIFT,
	       "a hash slot's fields fill its word");
/* A table of 2^bits slots takes its tag from the mix's bits just below
 * the home index: the mix shifted right by this minus bits puts them at
 * bits 15:6.  A table never grows past IOVA_HASH_MAX_BITS, so the shift
 * is never negative. */
#define IOVA_HTAG_FROM (64 - IOVA_HPTR_SHIFT)
#define IOVA_HASH_MAX_BITS IOVA_HTAG_FROM

struct iova_hash {
	struct iova_hash *retired;
	unsigned int bits;
	/* Derived from bits, for the lock-free lookup: 64 - bits,
	 * IOVA_HTAG_FROM - bits, 2^bits - 1. */
	unsigned int idx_shift, tag_shift;
	size_t mask;
	uint64_t s[];		/* see above; 0: empty */
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
/*
 * Entries per magazine: a multiple of the records in a line (and of a
 * stash's 16).  A thread that frees another's ranges fills magazines in
 * the order the other allocated them, and the records of that order come
 * in whole lines; magazines of a multiple of that size begin and end on
 * those lines round after round.  At 63 the boundaries moved by one each
 * round and the lines scattered: remote_free measured 28-34 ns against
 * 25-26.5 ns at 64 (docs/perf/iova.md).
 */
#define IOVA_MAG_SIZE 64
_Static_assert(IOVA_MAG_SIZE % IOVA_REC_TAKE == 0,
	       "magazines hold whole stashes of records");

/*
 * Cached range i of a magazine: its record rec[i] and the state word the
 * record has when live, live[i] (first pfn, class, ST_LIVE), so that an
 * allocation from the magazine writes the record without reading it first
 * (the line is often still in the cache of the thread that freed it) or
 * forming the word.  Two arrays of words rather than one of pairs: an
 * entry's address is then one scaled index, which x86 folds into the
 * load or store.
 */
struct iova_magazine {
	uint32_t n;
	struct iova_magazine *next;	/* depot lists */
	struct iova_node *rec[IOVA_MAG_SIZE];
	uint64_t live[IOVA_MAG_SIZE];
};

/* Records not yet used, the rest of a pair of lines taken for one class. */
struct iova_rstash {
	struct iova_node *next;
	unsigned int left;
};

/*
 * One thread's caches of one domain.  The stats of any thread count the
 * ranges in them by reading loaded, prev and their magazines' n under
 * depot_lock (uio_iova_cache_counts()), while the owner changes them: so
 * the owner stores those atomically (mag_set(), mag_set_n()), and a
 * magazine leaves the thread (to the depot, or to be freed) only under
 * depot_lock, which keeps it from being freed while the stats read it.
 * (The owner's swaps of loaded and prev may make a racing count see one
 * magazine twice and the other not at all; the stats clamp.)
 * (A counter per class instead cost the hit paths a load and a store
 * each, about 1 ns per pair: docs/perf/iova.md.)
 */
struct iova_tcache {
	struct iova_magazine *loaded[IOVA_NCLASS];
	struct iova_magazine *prev[IOVA_NCLASS];
	/* Written by the owner with relaxed atomics, read by stats. */
	uint64_t hits, misses;
	struct iova_tcache *next;	/* dom->tcaches, under depot_lock */
	/* Under tree_lock, taken only by the owner (iova.c). */
	struct iova_rstash rstash[IOVA_NCLASS];
};

/* Per size class depot of magazines, under depot_lock. */
struct iova_depot {
	struct iova_magazine *full;
	struct iova_magazine *empty;
	unsigned int nfull, nempty;
};

struct uiommu_iova_domain {
	/* Read-mostly, used by the lock-free paths: the first two lines. */
	uint64_t id;			/* unique, never reused */
	unsigned int shift;		/* log2(granule) */
	unsigned int cache_order;	/* max cached order, or OFF */
	bool cache_on;
	/* Largest request the fast path may take: min(2^cache_order, size
	 * of the space) granules, 0 with the cache off. */
	uint64_t fast_pages;
	uint64_t start_pfn, last_pfn;
	uint64_t granule_mask;		/* cfg.granule - 1 */
	uintptr_t tslot_off;		/* see IOVA_TSLOT() */
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
	struct iova_node *pool;		/* free records, linked by state */
	struct iova_node *fresh;	/* never used records, whole lines */
	uint64_t nfresh;		/* records at fresh */
	uint64_t nrec;			/* records in all pool blocks */
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

/* The owner's store of a magazine's count (see struct iova_tcache). */
static inline void mag_set_n(struct iova_magazine *m, uint32_t n)
{
	__atomic_store_n(&m->n, n, __ATOMIC_RELAXED);
}

/* The owner's store of a cache's loaded or prev magazine; release, so
 * that a reader of a new magazine sees it initialised. */
static inline void mag_set(struct iova_magazine **slot,
			   struct iova_magazine *m)
{
	__atomic_store_n(slot, m, __ATOMIC_RELEASE);
}

static inline uint64_t node_load(const struct iova_node *n)
{
	return __atomic_load_n(&n->state, __ATOMIC_RELAXED);
}

static inline uint64_t node_first(const struct iova_node *n)
{
	return state_first(node_load(n));
}

static inline unsigned int node_st(const struct iova_node *n)
{
	return state_st(node_load(n));
}

static inline unsigned int node_cls(const struct iova_node *n)
{
	return state_cls(node_load(n));
}

/*
 * LIVE -> CACHED in one compare-and-swap of @n's whole state word (pfn,
 * class, state), expected to be *@live: so of two racing frees exactly one
 * wins, and a record reused for another range since fails.  On failure
 * *@live holds the word found.
 */
static inline bool node_cas_claim(struct iova_node *n, uint64_t *live)
{
	return __atomic_compare_exchange_n(&n->state, live,
					   *live ^ ST_LIVE ^ ST_CACHED, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Claim the live range whose record @n held state @s when read (see
 * node_cas_claim()).  False: not live (any more). */
static inline bool node_claim(struct iova_node *n, uint64_t s)
{
	return state_st(s) == ST_LIVE && node_cas_claim(n, &s);
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
/* tree_lock held: at debug level 2, check the whole domain after a change. */
void uio_iova_debug_check(struct uiommu_iova_domain *dom);
/* Give the records left in @tc's stashes back to the pool. */
void uio_iova_rstash_return(struct uiommu_iova_domain *dom,
			    struct iova_tcache *tc);
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

/*
 * The hit paths read this thread's slot of @dom at dom->tslot_off from
 * the thread pointer: an initial-exec variable lies at the same offset
 * from it in every thread, so the domain computes it once
 * (uio_iova_tslot_off()) and a hit spends one load on it instead of five
 * instructions that index the array and add the thread pointer.  On
 * x86-64 the load is %fs-relative.
 */
/* This thread's slot for @dom (which may hold another domain's cache). */
static inline struct iova_tslot *
uio_iova_tslot_of(const struct uiommu_iova_domain *dom)
{
	return &uio_iova_tls[dom->id & (IOVA_TSLOTS - 1)];
}

static inline uintptr_t uio_iova_tslot_off(const struct uiommu_iova_domain *dom)
{
	return (uintptr_t)uio_iova_tslot_of(dom) -
	       (uintptr_t)__builtin_thread_pointer();
}

/* The sanitizers that shadow memory instrument an %fs-relative access as
 * if it were a plain pointer (and fault): they get the portable form. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer)
#define IOVA_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
	defined(__SANITIZE_HWADDRESS__)
#define IOVA_SANITIZED 1
#endif

#if defined(__x86_64__) && defined(__SEG_FS) && !defined(IOVA_SANITIZED)
#define IOVA_TSLOT(dom) \
	((const struct iova_tslot __seg_fs *)(dom)->tslot_off)
#else
#define IOVA_TSLOT(dom) ((const struct iova_tslot *)(uintptr_t) \
	((uintptr_t)__builtin_thread_pointer() + (dom)->tslot_off))
#endif

/* This thread's cache of @dom if it has one; never attaches. */
static inline struct iova_tcache *
uio_iova_tcache_peek(const struct uiommu_iova_domain *dom)
{
	const struct iova_tslot *slot = uio_iova_tslot_of(dom);

	return slot->id == dom->id ? slot->tc : NULL;
}

/* This thread's cache of @dom, created on first use; NULL if that failed. */
static inline struct iova_tcache *
uio_iova_tcache_get(struct uiommu_iova_domain *dom)
{
	struct iova_tslot *slot = uio_iova_tslot_of(dom);

	if (__builtin_expect(slot->id == dom->id, 1))
		return slot->tc;
	return uio_iova_tcache_attach(dom, slot);
}
int uio_iova_cache_alloc_slow(struct uiommu_iova_domain *dom,
			      struct iova_tcache *tc, unsigned int order,
			      uint64_t limit_pfn, uint64_t *pfn);
bool uio_iova_cache_free_slow(struct uiommu_iova_domain *dom,
			      struct iova_tcache *tc, struct iova_node *n,
			      uint64_t live);

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

/* Tag: the next IOVA_HTAG_BITS of the mix below the home slot's, so
 * keys of one home slot differ in it (the low bits of an aligned pfn, and
 * of its product, are zero), in place in the slot; bits <=
 * IOVA_HASH_MAX_BITS (hash_grow() refuses more, which 8-byte slots
 * below 2^48 could not hold anyway). */
static inline uint64_t uio_iova_hash_tag(uint64_t pfn, unsigned int bits)
{
	return (uio_iova_hash_mix(pfn) >> (IOVA_HTAG_FROM - bits)) &
	       IOVA_HTAG_MASK;
}

static inline struct iova_node *uio_iova_hslot_node(uint64_t v)
{
	return (struct iova_node *)(uintptr_t)(v >> IOVA_HPTR_SHIFT);
}

/* The slot of live record @n at @first in a table of 2^@bits slots. */
static inline uint64_t uio_iova_hslot(const struct iova_node *n,
				      uint64_t first,
				      unsigned int cls, unsigned int bits)
{
	return (uint64_t)(uintptr_t)n << IOVA_HPTR_SHIFT |
	       uio_iova_hash_tag(first, bits) |
	       (node_state(first, cls, ST_LIVE) & IOVA_HLOW_MASK);
}

/* The first slot of @pfn's probe run in @h, and what a slot of @pfn
 * holds in IOVA_HKEY_MASK (unmasked: the compare masks it). */
static inline size_t uio_iova_hash_home(const struct iova_hash *h,
					uint64_t pfn, uint64_t *key)
{
	uint64_t hv = uio_iova_hash_mix(pfn);

	*key = (hv >> h->tag_shift) | ST_LIVE;
	return (size_t)(hv >> h->idx_shift);
}

/* Slot @v is used and its tag is the one in @key. */
static inline bool uio_iova_hslot_match(uint64_t v, uint64_t key)
{
	return !((v ^ key) & IOVA_HKEY_MASK);
}

#define IOVA_HASH_MAX_STEPS 64	/* lock-free probe bound */

/* A lock-free walk of one probe run: uio_iova_probe_start(), then
 * uio_iova_probe_next() until it returns 0. */
struct iova_probe {
	const struct iova_hash *h;
	uint64_t key;		/* see uio_iova_hash_home() */
	size_t i;		/* the next slot to read */
	int left;		/* slots it may still read */
};

static inline void uio_iova_probe_start(struct iova_probe *p,
					struct uiommu_iova_domain *dom,
					uint64_t pfn)
{
	p->h = __atomic_load_n(&dom->hash, __ATOMIC_ACQUIRE);
	p->i = uio_iova_hash_home(p->h, pfn, &p->key);
	p->left = IOVA_HASH_MAX_STEPS;
}

/* The next slot of the run whose tag is the key's; 0 at the run's end
 * (an empty slot) or after IOVA_HASH_MAX_STEPS slots. */
static inline uint64_t uio_iova_probe_next(struct iova_probe *p)
{
	while (p->left-- > 0) {
		uint64_t v = __atomic_load_n(&p->h->s[p->i], __ATOMIC_ACQUIRE);

		p->i = (p->i + 1) & p->h->mask;
		if (!v)
			return 0;
		if (uio_iova_hslot_match(v, p->key))
			return v;
	}
	return 0;
}

/*
 * Lock-free: the node indexed at @pfn, with the state word read from it
 * in *@state, or NULL (possibly falsely, while a writer moves slots: the
 * caller then asks the tree).  The state is only a hint (it may change at
 * once); the caller's CAS on it, which holds the pfn, is the validation.
 */
static inline struct iova_node *
uio_iova_hash_find(struct uiommu_iova_domain *dom, uint64_t pfn,
		   uint64_t *state)
{
	struct iova_probe p;
	uint64_t v;

	uio_iova_probe_start(&p, dom, pfn);
	while ((v = uio_iova_probe_next(&p))) {
		struct iova_node *n = uio_iova_hslot_node(v);

		*state = node_load(n);
		if (state_first(*state) == pfn)
			return n;
	}
	return NULL;
}

/*
 * Claim @pfn's live range through its matching slot @v (see
 * node_cas_claim()), with the expected word built from @pfn and the slot
 * without reading the record.  True with the record's state word as it
 * was in *@s; false with the word the CAS found.
 */
static inline bool uio_iova_hslot_claim(uint64_t v, uint64_t pfn,
					uint64_t *s)
{
	*s = (pfn << ST_SHIFT) | (v & IOVA_HLOW_MASK);
	return node_cas_claim(uio_iova_hslot_node(v), s);
}

/*
 * Lock-free: claim the live cacheable range that starts at @pfn and
 * return its record, with the state word it had in *@live.  NULL if no
 * record at @pfn was live at the CAS, or possibly falsely while a writer
 * moves slots: the caller then asks the tree, which decides.
 */
static inline struct iova_node *
uio_iova_hash_claim(struct uiommu_iova_domain *dom, uint64_t pfn,
		    uint64_t *live)
{
	struct iova_probe p;
	uint64_t v, s;

	uio_iova_probe_start(&p, dom, pfn);
	while ((v = uio_iova_probe_next(&p))) {
		if (uio_iova_hslot_claim(v, pfn, &s)) {
			*live = s;
			return uio_iova_hslot_node(v);
		}
		/* @pfn's own record, not live; else another key's. */
		if (state_first(s) == pfn)
			return NULL;
	}
	return NULL;
}

/*
 * uio_iova_hash_claim() at @pfn's home slot only, where nearly every live
 * key sits at the hash's load (IOVA_HASH_LOAD_SHIFT): the inline hit path
 * then keeps no probe loop state.  False when that slot does not claim
 * it: the caller probes the whole run.
 */
static inline bool uio_iova_hash_claim_home(struct uiommu_iova_domain *dom,
					    uint64_t pfn, struct iova_node **n,
					    uint64_t *live)
{
	struct iova_hash *h = __atomic_load_n(&dom->hash, __ATOMIC_ACQUIRE);
	uint64_t key;
	size_t i = uio_iova_hash_home(h, pfn, &key);
	uint64_t v = __atomic_load_n(&h->s[i], __ATOMIC_ACQUIRE);

	if (!uio_iova_hslot_match(v, key) || !uio_iova_hslot_claim(v, pfn, live))
		return false;
	*n = uio_iova_hslot_node(v);
	return true;
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
	struct iova_tcache *tc;
	struct iova_magazine *m;
	uint64_t live;
	size_t k;

	if (__builtin_expect(IOVA_TSLOT(dom)->id != dom->id, 0))
		return false;
	tc = IOVA_TSLOT(dom)->tc;
	m = tc->loaded[order];
	if (__builtin_expect(!m || !m->n, 0))
		return false;
	k = m->n - 1;
	live = m->live[k];
	/* Folds away when the caller passes no limit (UINT64_MAX). */
	if (__builtin_expect(state_first(live) + (UINT64_C(1) << order) - 1 >
			     limit_pfn, 0))
		return false;
	mag_set_n(m, (uint32_t)k);
	uio_relaxed_add(&tc->hits, 1);
	*pfn = state_first(live);
	__atomic_store_n(&m->rec[k]->state, live, __ATOMIC_RELEASE);
	return true;
}

/* Push the claimed range @n, whose state word was @live when live, on
 * @tc's loaded magazine of its class, which has room: the counterpart of
 * uio_iova_cache_pop(). */
static inline void uio_iova_cache_push(struct iova_tcache *tc,
				       struct iova_node *n, uint64_t live)
{
	unsigned int c = state_cls(live);
	struct iova_magazine *m = tc->loaded[c];
	size_t k = m->n;

	m->rec[k] = n;
	m->live[k] = live;
	mag_set_n(m, (uint32_t)k + 1);
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
