// SPDX-License-Identifier: MIT
/*
 * IOVA allocator: per-thread magazine caches (Bonwick & Adams, 2001) and
 * the lock-free index that lets free-by-address validate cheaply.
 *
 * Each thread that uses a cached domain gets a struct iova_tcache with, per
 * size class (2^0 .. 2^cache_order granules), a loaded and a previous
 * magazine of ranges.  Cached ranges stay allocated in the tree, in state
 * CACHED.  The fast paths take no lock:
 *   alloc: pop the loaded magazine, store state LIVE;
 *   free:  find the node by pfn in the hash (open addressing, a slot is
 *          the node's address, a tag of the pfn and the low bits of the
 *          live state word), CAS its state (pfn|class|LIVE) ->
 *          (pfn|class|CACHED), push it with that live word.
 * The CAS is the validation: it only succeeds on the first address of a
 * live allocation, once.  A miss in the lock-free lookup (never allocated,
 * or slots being moved concurrently) falls back to the tree under its
 * lock, which decides authoritatively.  Nodes are type-stable (pooled until
 * the domain dies), so a stale pointer is harmless: the CAS compares the
 * whole state word (pfn, class, LIVE), so it succeeds only on a record
 * that is live for exactly that range at that moment.
 *
 * Full and empty magazines are exchanged with the domain's depot under
 * depot_lock.  When the tree has no space, the depot and the calling
 * thread's magazines are flushed back to the tree and the request retried.
 *
 * Lifetimes: a thread finds its cache through a small TLS array keyed by
 * the domain's id (never reused), so a slot left by a destroyed domain can
 * never match again.  Caches belong to the domain: destroy frees all of
 * them.  A thread that exits hands its magazines to the depot through a
 * pthread key destructor.  Both happen under the registry lock, which also
 * keeps the list of domains that still exist.
 */
#include <inttypes.h>
#include <pthread.h>

#include "alloc.h"
#include "bits.h"
#include "iova-tree.h"
#include "log.h"
#include "trace.h"

#define DEPOT_MAX_FULL 16	/* per class, beyond which magazines flush */
#define DEPOT_MAX_EMPTY 8
#define HASH_MIN_BITS 4

__thread struct iova_tslot uio_iova_tls[IOVA_TSLOTS]
	__attribute__((tls_model("initial-exec")));
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static bool tls_key_ok;
static struct uio_mutex reg_lock = UIO_MUTEX_INIT;
static struct uiommu_iova_domain *reg_head;	/* under reg_lock */

static inline uint32_t mag_n(const struct iova_magazine *m)
{
	return m ? m->n : 0;
}

/* Ranges in @*slot, a cache's loaded or prev magazine, as another thread
 * reads them (see struct iova_tcache); depot_lock held. */
static uint32_t mag_n_racy(struct iova_magazine *const *slot)
{
	const struct iova_magazine *m = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	return m ? __atomic_load_n(&m->n, __ATOMIC_RELAXED) : 0;
}

/* ---------------------------------------------------------------- hash */

static size_t hash_bytes(unsigned int bits)
{
	return sizeof(struct iova_hash) + (sizeof(uint64_t) << bits);
}

static struct iova_hash *hash_new(unsigned int bits)
{
	struct iova_hash *h = uio_alloc_aligned(hash_bytes(bits), 64);

	if (h) {
		h->bits = bits;
		h->idx_shift = 64 - bits;
		h->tag_shift = IOVA_HTAG_FROM - bits;
		h->mask = ((size_t)1 << bits) - 1;
	}
	return h;
}

static uint64_t slot_of(const struct iova_hash *h, struct iova_node *n)
{
	assert(n && (uintptr_t)n < IOVA_HPTR_LIMIT);
	return uio_iova_hslot(n, node_first(n), node_cls(n), h->bits);
}

static void hash_link(struct iova_hash *h, struct iova_node *n)
{
	size_t mask = ((size_t)1 << h->bits) - 1;
	size_t i = uio_iova_hash_idx(node_first(n), h->bits);

	while (h->s[i])
		i = (i + 1) & mask;
	__atomic_store_n(&h->s[i], slot_of(h, n), __ATOMIC_RELEASE);
}

/* Double the slots (see IOVA_HASH_LOAD_SHIFT). */
static int hash_grow(struct uiommu_iova_domain *dom)
{
	struct iova_hash *old = dom->hash, *h;
	size_t i;

	if (old->bits >= IOVA_HASH_MAX_BITS)
		return -ENOMEM;
	h = hash_new(old->bits + 1);
	if (!h)
		return -ENOMEM;
	for (i = 0; i < ((size_t)1 << old->bits); i++)
		if (old->s[i])
			hash_link(h, uio_iova_hslot_node(old->s[i]));
	h->retired = old;
	__atomic_store_n(&dom->hash, h, __ATOMIC_RELEASE);
	trace_iova_hash_grow(h->bits);
	return 0;
}

/* Before an insertion, so that it cannot fail: grow the hash now if one
 * more node would pass the load bound.  A failed grow changes nothing. */
int uio_iova_hash_reserve(struct uiommu_iova_domain *dom)
{
	uio_assert_held(&dom->tree_lock);
	if (dom->hcount + 1 > uio_iova_hash_load_max(dom->hash))
		return hash_grow(dom);
	return 0;
}

void uio_iova_hash_insert(struct uiommu_iova_domain *dom, struct iova_node *n)
{
	uio_assert_held(&dom->tree_lock);
	assert(dom->hcount < uio_iova_hash_load_max(dom->hash));
	hash_link(dom->hash, n);
	dom->hcount++;
}

/* Remove by backward shift: later entries of the probe run move into the
 * hole, so no tombstones accumulate. */
void uio_iova_hash_remove(struct uiommu_iova_domain *dom, struct iova_node *n)
{
	struct iova_hash *h = dom->hash;
	size_t mask = ((size_t)1 << h->bits) - 1;
	size_t i = uio_iova_hash_idx(node_first(n), h->bits), j;

	uio_assert_held(&dom->tree_lock);
	while (uio_iova_hslot_node(h->s[i]) != n) {
		assert(h->s[i]);
		i = (i + 1) & mask;
	}
	for (j = i;;) {
		size_t k;

		j = (j + 1) & mask;
		if (!h->s[j])
			break;
		k = uio_iova_hash_idx(node_first(uio_iova_hslot_node(h->s[j])),
				      h->bits);
		/* Entry j may fill hole i unless its home k lies in (i, j]. */
		if (i <= j ? (k > i && k <= j) : (k > i || k <= j))
			continue;
		__atomic_store_n(&h->s[i], h->s[j], __ATOMIC_RELEASE);
		i = j;
	}
	__atomic_store_n(&h->s[i], 0, __ATOMIC_RELEASE);
	dom->hcount--;
}

/* tree_lock held: every used slot holds a hashed (live or cached) record
 * with the tag of its pfn and the low bits of its live state word, and
 * the used slots number hcount.  NULL, or what is wrong (with the pfn in
 * *@where). */
const char *uio_iova_hash_check(struct uiommu_iova_domain *dom,
				uint64_t *where)
{
	const struct iova_hash *h = dom->hash;
	uint64_t used = 0;
	size_t i;

	uio_assert_held(&dom->tree_lock);
	*where = h->bits;
	if (h->idx_shift != 64 - h->bits ||
	    h->tag_shift != IOVA_HTAG_FROM - h->bits ||
	    h->mask != ((size_t)1 << h->bits) - 1)
		return "hash shifts or mask disagree with its size";
	for (i = 0; i < ((size_t)1 << h->bits); i++) {
		const struct iova_node *n;
		unsigned int st;

		if (!h->s[i])
			continue;
		used++;
		n = uio_iova_hslot_node(h->s[i]);
		st = node_st(n);
		*where = node_first(n);
		if (st != ST_LIVE && st != ST_CACHED)
			return "hash slot holds a record not in use";
		if (h->s[i] != uio_iova_hslot(n, node_first(n), node_cls(n),
					      h->bits))
			return "hash slot differs from its range's (tag or class)";
	}
	*where = used;
	if (used != dom->hcount)
		return "hash slots in use disagree with the hash count";
	return NULL;
}

void uio_iova_hash_destroy(struct uiommu_iova_domain *dom)
{
	struct iova_hash *h, *next;

	for (h = dom->hash; h; h = next) {
		next = h->retired;
		uio_free_aligned(h, hash_bytes(h->bits), 64);
	}
	dom->hash = NULL;
}

/* ------------------------------------------------------------ registry */

static void tls_exit(void *arg);

static void tls_key_init(void)
{
	tls_key_ok = pthread_key_create(&tls_key, tls_exit) == 0;
}

static struct uiommu_iova_domain *reg_find(uint64_t id)
{
	struct uiommu_iova_domain *d;

	for (d = reg_head; d; d = d->reg_next)
		if (d->id == id)
			return d;
	return NULL;
}

int uio_iova_cache_register(struct uiommu_iova_domain *dom)
{
	dom->hash = hash_new(HASH_MIN_BITS);
	if (!dom->hash)
		return -ENOMEM;
	uio_lock(&reg_lock);
	dom->reg_next = reg_head;
	reg_head = dom;
	uio_unlock(&reg_lock);
	return 0;
}

/* Caches and magazines are written by one thread each: give them whole
 * pairs of cache lines, so two threads never share a line nor the line
 * the adjacent-line prefetcher pulls in with it. */
#define PAIR 128

static void *line_alloc(size_t size)
{
	return uio_alloc_aligned(uio_align_up(size, PAIR), PAIR);
}

static void line_free(void *p, size_t size)
{
	uio_free_aligned(p, uio_align_up(size, PAIR), PAIR);
}

static void mag_free(struct iova_magazine *m)
{
	line_free(m, sizeof(*m));
}

/* Put @m on a depot list; depot_lock held.  Returns @m if it was not
 * taken (an empty one beyond the limit) so the caller frees it. */
static struct iova_magazine *depot_put(struct iova_depot *d,
				       struct iova_magazine *m)
{
	if (!m)
		return NULL;
	if (m->n) {
		m->next = d->full;
		d->full = m;
		d->nfull++;
		return NULL;
	}
	if (d->nempty >= DEPOT_MAX_EMPTY)
		return m;
	m->next = d->empty;
	d->empty = m;
	d->nempty++;
	return NULL;
}

/* Detach @tc from @dom and give its magazines to the depot; reg_lock
 * held, so @dom cannot be destroyed meanwhile. */
static void tcache_retire(struct uiommu_iova_domain *dom,
			  struct iova_tcache *tc)
{
	struct iova_tcache **pp;
	struct iova_magazine *spill[2 * IOVA_NCLASS];
	unsigned int c, nspill = 0, i;

	/* Records first, while @tc is still listed: the checker counts
	 * stashes through the list under tree_lock, so a stash off the list
	 * but not yet returned would look like lost records. */
	uio_lock(&dom->tree_lock);
	uio_iova_rstash_return(dom, tc);
	uio_unlock(&dom->tree_lock);
	uio_lock(&dom->depot_lock);
	for (pp = &dom->tcaches; *pp != tc; pp = &(*pp)->next)
		assert(*pp);
	*pp = tc->next;
	for (c = 0; c < IOVA_NCLASS; c++) {
		struct iova_magazine *m;

		m = depot_put(&dom->depot[c], tc->loaded[c]);
		if (m)
			spill[nspill++] = m;
		m = depot_put(&dom->depot[c], tc->prev[c]);
		if (m)
			spill[nspill++] = m;
	}
	dom->retired_hits += tc->hits;
	dom->retired_misses += tc->misses;
	uio_unlock(&dom->depot_lock);
	for (i = 0; i < nspill; i++)
		mag_free(spill[i]);
	line_free(tc, sizeof(*tc));
}

/* Thread exit: return this thread's caches of live domains. */
static void tls_exit(void *arg)
{
	struct iova_tslot *slots = arg;
	unsigned int i;

	uio_lock(&reg_lock);
	for (i = 0; i < IOVA_TSLOTS; i++) {
		struct uiommu_iova_domain *dom;

		if (!slots[i].id)
			continue;
		dom = reg_find(slots[i].id);
		if (dom)
			tcache_retire(dom, slots[i].tc);
		slots[i].id = 0;
		slots[i].tc = NULL;
	}
	uio_unlock(&reg_lock);
}

struct iova_tcache *uio_iova_tcache_attach(struct uiommu_iova_domain *dom,
					   struct iova_tslot *slot)
{
	struct iova_tcache *tc;

	pthread_once(&tls_once, tls_key_init);
	uio_lock(&reg_lock);
	if (slot->id) {
		struct uiommu_iova_domain *old = reg_find(slot->id);

		if (old)
			tcache_retire(old, slot->tc);
		slot->id = 0;
		slot->tc = NULL;
	}
	tc = line_alloc(sizeof(*tc));
	if (tc) {
		uio_lock(&dom->depot_lock);
		tc->next = dom->tcaches;
		dom->tcaches = tc;
		uio_unlock(&dom->depot_lock);
		slot->id = dom->id;
		slot->tc = tc;
		if (tls_key_ok)
			pthread_setspecific(tls_key, uio_iova_tls);
	}
	uio_unlock(&reg_lock);
	return tc;	/* NULL: this call goes uncached */
}

void uio_iova_cache_destroy(struct uiommu_iova_domain *dom)
{
	struct uiommu_iova_domain **pp;
	struct iova_tcache *tc, *tnext;
	struct iova_magazine *m, *mnext;
	unsigned int c;

	uio_lock(&reg_lock);
	for (pp = &reg_head; *pp != dom; pp = &(*pp)->reg_next)
		assert(*pp);
	*pp = dom->reg_next;
	for (tc = dom->tcaches; tc; tc = tnext) {
		tnext = tc->next;
		for (c = 0; c < IOVA_NCLASS; c++) {
			if (tc->loaded[c])
				mag_free(tc->loaded[c]);
			if (tc->prev[c])
				mag_free(tc->prev[c]);
		}
		line_free(tc, sizeof(*tc));
	}
	dom->tcaches = NULL;
	uio_unlock(&reg_lock);
	for (c = 0; c < IOVA_NCLASS; c++) {
		for (m = dom->depot[c].full; m; m = mnext) {
			mnext = m->next;
			mag_free(m);
		}
		for (m = dom->depot[c].empty; m; m = mnext) {
			mnext = m->next;
			mag_free(m);
		}
	}
	uio_iova_hash_destroy(dom);
}

/* --------------------------------------------------------------- flush */

/* Return the ranges of @m to the tree; tree_lock held. */
static uint64_t mag_drain(struct uiommu_iova_domain *dom,
			  struct iova_magazine *m)
{
	uint64_t n = 0;

	for (; m && m->n; n++) {
		struct iova_node *x = m->rec[m->n - 1];

		mag_set_n(m, m->n - 1);
		assert(node_st(x) == ST_CACHED);
		uio_iova_tree_release(dom, x);
	}
	return n;
}

static void spill_empty(struct uiommu_iova_domain *dom, unsigned int c,
			struct iova_magazine *list)
{
	struct iova_magazine *m, *next, *extra = NULL;

	uio_lock(&dom->depot_lock);
	for (m = list; m; m = next) {
		next = m->next;
		if (depot_put(&dom->depot[c], m)) {
			m->next = extra;
			extra = m;
		}
	}
	uio_unlock(&dom->depot_lock);
	for (m = extra; m; m = next) {
		next = m->next;
		mag_free(m);
	}
}

void uio_iova_cache_flush_local(struct uiommu_iova_domain *dom)
{
	struct iova_magazine *full[IOVA_NCLASS];
	struct iova_tcache *tc = uio_iova_tcache_peek(dom);
	struct iova_magazine *m;
	uint64_t ranges = 0;
	unsigned int c;

	uio_lock(&dom->depot_lock);
	for (c = 0; c < IOVA_NCLASS; c++) {
		full[c] = dom->depot[c].full;
		dom->depot[c].full = NULL;
		dom->depot[c].nfull = 0;
	}
	uio_unlock(&dom->depot_lock);

	uio_lock(&dom->tree_lock);
	for (c = 0; c < IOVA_NCLASS; c++) {
		for (m = full[c]; m; m = m->next)
			ranges += mag_drain(dom, m);
		if (tc) {
			ranges += mag_drain(dom, tc->loaded[c]);
			ranges += mag_drain(dom, tc->prev[c]);
		}
	}
	uio_unlock(&dom->tree_lock);

	for (c = 0; c < IOVA_NCLASS; c++)
		if (full[c])
			spill_empty(dom, c, full[c]);
	if (ranges)
		trace_iova_cache_flush(ranges);
}

/* --------------------------------------------------------------- alloc */

/* Load @m (or nothing) as @tc's magazine of class @c; the loaded one
 * becomes the previous one. */
static void mag_load(struct iova_tcache *tc, unsigned int c,
		     struct iova_magazine *m)
{
	mag_set(&tc->prev[c], tc->loaded[c]);
	mag_set(&tc->loaded[c], m);
}

/* Loaded magazine of class @c is empty: make a non-empty one loaded if the
 * previous one or the depot has one. */
static bool reload_full(struct uiommu_iova_domain *dom,
			struct iova_tcache *tc, unsigned int c)
{
	struct iova_magazine *m, *spill = NULL;
	struct iova_depot *d = &dom->depot[c];

	if (mag_n(tc->prev[c])) {
		mag_load(tc, c, tc->prev[c]);
		return true;
	}
	uio_lock(&dom->depot_lock);
	m = d->full;
	if (m) {
		d->full = m->next;
		d->nfull--;
		spill = depot_put(d, tc->loaded[c]);
		mag_set(&tc->loaded[c], m);
	}
	uio_unlock(&dom->depot_lock);
	if (spill)
		mag_free(spill);
	return m != NULL;
}

/* A cache miss: reload from the depot, else allocate from the tree
 * (flushing and retrying once if it is full).  @tc NULL: go straight to
 * the tree. */
int uio_iova_cache_alloc_slow(struct uiommu_iova_domain *dom,
			      struct iova_tcache *tc, unsigned int order,
			      uint64_t limit_pfn, uint64_t *pfn)
{
	int ret;

	if (tc && reload_full(dom, tc, order) &&
	    uio_iova_cache_pop(dom, order, limit_pfn, pfn))
		return 0;
	if (tc)
		uio_relaxed_add(&tc->misses, 1);
	ret = uio_iova_cache_tree_alloc(dom, order, limit_pfn, pfn);
	if (ret == -ENOSPC) {
		uio_iova_cache_flush_local(dom);
		ret = uio_iova_cache_tree_alloc(dom, order, limit_pfn, pfn);
	}
	return ret;
}

/* ---------------------------------------------------------------- free */

/* Start fetching @p's line for writing.  gcc's write prefetch is a plain
 * one unless the target has PREFETCHW; the instruction is a no-op on x86
 * processors older than it (its opcode was a reserved NOP). */
static inline void prefetch_excl(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

/*
 * An empty magazine from the depot was last read by the thread that
 * emptied it, often another one.  Ask for all its lines for writing now:
 * else each push that starts a line waits for that line at the next
 * free's compare-and-swap, which drains the stores before it.
 */
static void mag_prefetch_excl(const struct iova_magazine *m)
{
	size_t off;

	for (off = 0; off < sizeof(*m); off += 64)
		prefetch_excl((const char *)m + off);
}

/* An empty magazine off the depot list of @d, or NULL; depot_lock held. */
static struct iova_magazine *depot_take_empty(struct iova_depot *d)
{
	struct iova_magazine *m = d->empty;

	if (m) {
		d->empty = m->next;
		d->nempty--;
	}
	return m;
}

/* An empty magazine taken from the depot (@m) or, if it had none, a new
 * one; NULL if that allocation failed. */
static struct iova_magazine *mag_ready_empty(struct iova_magazine *m)
{
	if (!m)
		return line_alloc(sizeof(*m));
	mag_prefetch_excl(m);
	return m;
}

/*
 * Loaded and previous magazines of class @c are both full: the previous
 * one goes to the depot (or, if the depot holds enough, back to the tree),
 * the loaded one becomes the previous one, and an empty one is loaded.
 * One depot_lock section: a thread that only frees (another allocates)
 * comes here once per magazine, and the lock's line is then the other
 * thread's.
 */
static bool rotate_full(struct uiommu_iova_domain *dom, struct iova_tcache *tc,
			unsigned int c)
{
	struct iova_depot *d = &dom->depot[c];
	struct iova_magazine *full = tc->prev[c], *m = NULL;

	uio_lock(&dom->depot_lock);
	if (d->nfull < DEPOT_MAX_FULL) {
		depot_put(d, full);
		full = NULL;
		m = depot_take_empty(d);
		/* It leaves prev under the lock (see struct iova_tcache). */
		mag_load(tc, c, NULL);
	}
	uio_unlock(&dom->depot_lock);
	if (full) {
		uio_lock(&dom->tree_lock);
		mag_drain(dom, full);
		uio_unlock(&dom->tree_lock);
		mag_load(tc, c, full);		/* drained, empty */
		return true;
	}
	m = mag_ready_empty(m);
	mag_set(&tc->loaded[c], m);
	return m != NULL;
}

/* Loaded magazine of class @c is full or missing: make room. */
static bool make_room(struct uiommu_iova_domain *dom, struct iova_tcache *tc,
		      unsigned int c)
{
	struct iova_magazine *m;

	if (tc->loaded[c] && tc->prev[c]) {
		if (tc->prev[c]->n == IOVA_MAG_SIZE)
			return rotate_full(dom, tc, c);
		mag_load(tc, c, tc->prev[c]);
		return true;
	}
	if (tc->loaded[c])	/* no previous: loaded becomes it */
		mag_load(tc, c, NULL);
	uio_lock(&dom->depot_lock);
	m = depot_take_empty(&dom->depot[c]);
	uio_unlock(&dom->depot_lock);
	mag_set(&tc->loaded[c], mag_ready_empty(m));
	return tc->loaded[c] != NULL;
}

/* Loaded magazine full or missing: make room, or (no room, or no cache:
 * @tc NULL) give @n to the tree.  True if @n went into the cache. */
bool uio_iova_cache_free_slow(struct uiommu_iova_domain *dom,
			      struct iova_tcache *tc, struct iova_node *n,
			      uint64_t live)
{
	if (!tc || !make_room(dom, tc, state_cls(live))) {
		uio_lock(&dom->tree_lock);
		uio_iova_tree_release(dom, n);
		uio_iova_debug_check(dom);
		uio_unlock(&dom->tree_lock);
		return false;
	}
	uio_iova_cache_push(tc, n, live);
	return true;
}

/* --------------------------------------------------------------- stats */

void uio_iova_cache_counts(struct uiommu_iova_domain *dom,
			   struct uiommu_iova_stats *st)
{
	struct iova_tcache *tc;
	struct iova_magazine *m;
	unsigned int c;

	uio_lock(&dom->depot_lock);
	st->cache_hits = dom->retired_hits;
	st->cache_misses = dom->retired_misses;
	for (c = 0; c < IOVA_NCLASS; c++) {
		for (m = dom->depot[c].full; m; m = m->next) {
			st->cached_ranges += m->n;
			st->cached_granules += (uint64_t)m->n << c;
		}
	}
	for (tc = dom->tcaches; tc; tc = tc->next) {
		st->cache_hits += __atomic_load_n(&tc->hits, __ATOMIC_RELAXED);
		st->cache_misses +=
			__atomic_load_n(&tc->misses, __ATOMIC_RELAXED);
		for (c = 0; c < IOVA_NCLASS; c++) {
			uint64_t k = (uint64_t)mag_n_racy(&tc->loaded[c]) +
				     mag_n_racy(&tc->prev[c]);

			st->cached_ranges += k;
			st->cached_granules += k << c;
		}
	}
	uio_unlock(&dom->depot_lock);
}
