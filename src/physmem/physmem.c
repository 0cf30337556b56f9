// SPDX-License-Identifier: MIT
/*
 * The emulated physical address space: RAM and MMIO regions, accesses of
 * any length, pins, and the claims page pools make on RAM.
 *
 * How readers find a region without a lock
 * -----------------------------------------
 * Writers (add, remove, pin, pool claims) serialise on pm->lock.  The
 * regions live in a snapshot: an array of {base, last, region} sorted by
 * address, never resized or reordered once published.  Adding a region
 * builds a new snapshot without the removed entries, publishes it with one
 * atomic pointer store and retires the old one.  Removing a region never
 * allocates: it turns the region's entry of the current snapshot into a
 * tombstone (region pointer NULL), the one in-place change a snapshot sees.
 * Every publication stores a new generation number into pm->gen, taken from
 * a process-wide counter so that no two address spaces (not even one freed
 * and another created at the same address) ever share a value.
 *
 * A reader first consults its thread's cache: a few {base, last, host bias,
 * region} ways (8) tagged with (address space, generation).  If pm->gen still
 * holds the tag, the ways are still exact and a hit costs one load of
 * pm->gen and a compare per way: this is what a page-table walk pays per
 * table entry.  Otherwise the slow path raises its reader count, loads
 * the snapshot, binary-searches it, copies the entry into the cache and
 * drops the count.  Reader counts are sharded over cache lines (a thread
 * keeps its shard) so that threads missing their caches do not bounce one
 * line between them.
 *
 * Retired snapshots and removed regions (with their library-allocated host
 * memory) are freed by the next writer that finds every reader count at
 * zero, or at destroy.  Both sides use sequentially consistent atomics:
 * the writer publishes (snapshot, tombstone, generation) and then reads the
 * counts; a reader increments its count and then reads the snapshot.  So
 * either the writer sees the reader and keeps the retired objects, or the
 * reader sees the new snapshot and never touches them.  The generation is read before
 * the snapshot, so a cached way is never tagged newer than its contents.
 *
 * MMIO accesses always run in a reader section (looking the region up in
 * the snapshot again): a region removed while its callbacks run is not
 * freed under them, and uiommu_physmem_synchronize() waits for every
 * reader section that began before it, so a model may free what its
 * callbacks use once remove + synchronize have returned.
 *
 * A RAM cache hit takes no reader count: the region it names cannot be
 * freed unless it was removed, and accessing RAM while another thread
 * removes that same region is the caller's race (as DMA to memory being
 * hot-unplugged is); pins exist to rule it out.
 *
 * RAM accesses copy aligned 8-byte words with atomic loads and stores, so
 * every naturally aligned 8-byte word is single-copy atomic against
 * concurrent accessors, as an SMMU's descriptor fetch is.  MMIO parts are
 * split into naturally aligned accesses of at most 8 bytes.
 */
#include <sched.h>
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "lock.h"
#include "log.h"
#include "trace.h"

#include "physmem-internal.h"

#define PM_PAGE		UINT64_C(4096)
#define PM_TCACHE_WAYS	8
/* Slow-path reader counts, spread so that threads do not share a line. */
#define PM_READER_SHARDS 16
/* RAM host buffers must allow aligned 8-byte atomics. */
#define PM_HOST_ALIGN	8

struct pm_entry {
	uint64_t base;
	uint64_t last;
	struct uio_region *reg;		/* atomic; NULL: removed (tombstone) */
};

struct pm_snap {
	size_t n;
	struct pm_snap *retired_next;
	struct pm_entry e[];
};

struct uiommu_physmem {
	/* Read by every access. */
	uint64_t gen;
	struct pm_snap *snap;
	unsigned int pa_bits;
	uint64_t pa_last;
	/* Written by slow-path readers, one cache line per shard. */
	struct pm_shard {
		unsigned long n;
	} __attribute__((aligned(64))) readers[PM_READER_SHARDS];
	/* Writer side, under @lock. */
	struct uio_mutex lock __attribute__((aligned(64)));
	size_t live;
	struct pm_snap *retired_snaps;
	struct uio_region *retired_regions;
	struct uio_pool_link *pools;
};

/* One cached region: [base, base + span], host address = hbias + pa. */
struct pm_tway {
	uint64_t base;
	uint64_t span;
	uintptr_t hbias;
	struct uio_region *reg;
	bool ram;
};

struct pm_tcache {
	const struct uiommu_physmem *pm;
	uint64_t gen;
	unsigned int n;
	unsigned int mru;		/* the way that hit last */
	unsigned int victim;
	unsigned int shard;		/* reader shard + 1; 0: not yet chosen */
	unsigned int depth;		/* reader sections entered, nested */
	struct pm_tway way[PM_TCACHE_WAYS];
};

static __thread struct pm_tcache tcache
	__attribute__((tls_model("initial-exec")));

static uint64_t gen_source;
static unsigned int shard_source;

static const struct uiommu_memattrs no_attrs;

static const char *kind_name(enum uiommu_region_kind kind)
{
	return kind == UIOMMU_REGION_RAM ? "ram" : "mmio";
}

static uint64_t le_to_cpu(uint64_t v, unsigned int size)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	switch (size) {
	case 2: return __builtin_bswap16((uint16_t)v);
	case 4: return __builtin_bswap32((uint32_t)v);
	case 8: return __builtin_bswap64(v);
	}
#endif
	(void)size;
	return v;
}

/* ----------------------------------------------------- snapshot search */

/* The entry whose range contains @pa (possibly a tombstone), or NULL. */
static const struct pm_entry *snap_search(const struct pm_snap *s, uint64_t pa)
{
	const struct pm_entry *e;
	size_t n;

	if (!s || !s->n)
		return NULL;
	/* Branch-free: narrow to the last entry with base <= pa. */
	e = s->e;
	for (n = s->n; n > 1; n -= n / 2)
		e = e[n / 2].base <= pa ? e + n / 2 : e;
	if (e->base > pa || pa > e->last)
		return NULL;
	return e;
}

static struct uio_region *entry_region(const struct pm_entry *e)
{
	return __atomic_load_n(&e->reg, __ATOMIC_SEQ_CST);
}

/* Count the calling thread as a slow-path reader; returns its shard. */
static unsigned long *reader_enter(struct uiommu_physmem *pm)
{
	struct pm_tcache *c = &tcache;
	unsigned long *n;

	if (uio_unlikely(!c->shard))
		c->shard = __atomic_fetch_add(&shard_source, 1,
					      __ATOMIC_RELAXED) %
			   PM_READER_SHARDS + 1;
	n = &pm->readers[c->shard - 1].n;
	__atomic_add_fetch(n, 1, __ATOMIC_SEQ_CST);
	c->depth++;
	return n;
}

static void reader_exit(unsigned long *shard)
{
	tcache.depth--;
	__atomic_sub_fetch(shard, 1, __ATOMIC_SEQ_CST);
}

/* Whether a slow-path reader may hold a snapshot or region (writer). */
static bool readers_active(struct uiommu_physmem *pm)
{
	unsigned int i;

	for (i = 0; i < PM_READER_SHARDS; i++)
		if (__atomic_load_n(&pm->readers[i].n, __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* The live region containing @pa in the current snapshot (reader section). */
static struct uio_region *snap_region(struct uiommu_physmem *pm, uint64_t pa)
{
	const struct pm_entry *e;

	assert(tcache.depth);
	e = snap_search(__atomic_load_n(&pm->snap, __ATOMIC_SEQ_CST), pa);
	return e ? entry_region(e) : NULL;
}

static __attribute__((noinline)) const struct pm_tway *
find_slow(struct uiommu_physmem *pm, uint64_t pa, struct pm_tcache *c)
{
	struct pm_tway *w = NULL;
	unsigned long *shard = reader_enter(pm);
	struct uio_region *reg = snap_region(pm, pa);

	if (reg) {
		if (c->n < PM_TCACHE_WAYS) {
			w = &c->way[c->n++];
		} else {
			w = &c->way[c->victim];
			c->victim = (c->victim + 1) % PM_TCACHE_WAYS;
		}
		w->base = reg->base;
		w->span = reg->last - reg->base;
		w->reg = reg;
		w->ram = reg->kind == UIOMMU_REGION_RAM;
		w->hbias = w->ram ? (uintptr_t)reg->host - (uintptr_t)reg->base
				  : 0;
		c->mru = (unsigned int)(w - c->way);
	}
	reader_exit(shard);
	return w;
}

/*
 * The other ways and the slow path.  The way that hits becomes the MRU one,
 * which the inline fast paths test first: a thread working in one region
 * (a page walk) never gets here.
 */
static __attribute__((noinline)) const struct pm_tway *
find_more(struct uiommu_physmem *pm, uint64_t pa, uint64_t gen)
{
	struct pm_tcache *c = &tcache;
	unsigned int i;

	if (c->gen == gen && c->pm == pm) {
		for (i = 0; i < c->n; i++) {
			if (pa - c->way[i].base <= c->way[i].span) {
				c->mru = i;
				return &c->way[i];
			}
		}
	} else {
		c->pm = pm;
		c->gen = gen;
		c->n = 0;
		c->victim = 0;
		c->mru = 0;
		c->way[0].ram = false;	/* fast_ram() does not read @n */
	}
	return find_slow(pm, pa, c);
}

/*
 * The region containing @pa as a cache way of the calling thread, or NULL
 * for a hole.  The way is valid until this thread's next lookup (an MMIO
 * callback may do one): copy what you need first.
 */
static inline const struct pm_tway *find(struct uiommu_physmem *pm,
					 uint64_t pa)
{
	struct pm_tcache *c = &tcache;
	uint64_t gen = __atomic_load_n(&pm->gen, __ATOMIC_ACQUIRE);

	/* Generations are unique to one address space: no need to test pm. */
	const struct pm_tway *w = &c->way[c->mru];

	if (uio_likely(c->gen == gen && c->n && pa - w->base <= w->span))
		return w;
	return find_more(pm, pa, gen);
}

/*
 * The fastest path: host address of @pa if the thread's MRU way is a
 * current RAM region containing it, else NULL (then use find()).
 */
static inline void *fast_ram(struct uiommu_physmem *pm, uint64_t pa)
{
	const struct pm_tcache *c = &tcache;
	const struct pm_tway *w = &c->way[c->mru];

	if (uio_likely(c->gen == __atomic_load_n(&pm->gen, __ATOMIC_ACQUIRE) &&
		       w->ram && pa - w->base <= w->span))
		return (void *)(w->hbias + (uintptr_t)pa);
	return NULL;
}

/* ------------------------------------------------------ writer helpers */

static uint64_t next_gen(void)
{
	return __atomic_add_fetch(&gen_source, 1, __ATOMIC_RELAXED);
}

static void region_free(struct uio_region *r)
{
	if (r->kind == UIOMMU_REGION_RAM && !r->caller_memory)
		uio_free_aligned(r->host, r->last - r->base + 1, PM_PAGE);
	uio_free_str(r->name_copy);
	uio_delete(r);
}

static void snap_free(struct pm_snap *s)
{
	if (s)
		uio_free(s, sizeof(*s) + s->n * sizeof(s->e[0]));
}

/* Free what no reader can still see (see the banner). */
static void reclaim(struct uiommu_physmem *pm, bool force)
{
	uio_assert_held(&pm->lock);
	if (!force && readers_active(pm))
		return;
	while (pm->retired_snaps) {
		struct pm_snap *s = pm->retired_snaps;

		pm->retired_snaps = s->retired_next;
		snap_free(s);
	}
	while (pm->retired_regions) {
		struct uio_region *r = pm->retired_regions;

		pm->retired_regions = r->retired_next;
		region_free(r);
	}
}

/* Make a change visible: new generation, then free what became unused. */
static void publish(struct uiommu_physmem *pm)
{
	__atomic_store_n(&pm->gen, next_gen(), __ATOMIC_SEQ_CST);
	reclaim(pm, false);
}

static int check_locked(struct uiommu_physmem *pm);

static void debug_check(struct uiommu_physmem *pm)
{
#if UIOMMU_DEBUG >= 2
	int ret = check_locked(pm);

	assert(ret == 0);
	(void)ret;
#else
	(void)pm;
#endif
}

/* The live entry starting exactly at or containing @pa (lock held). */
static struct pm_entry *live_entry(struct uiommu_physmem *pm, uint64_t pa)
{
	struct pm_entry *e = (struct pm_entry *)snap_search(pm->snap, pa);

	uio_assert_held(&pm->lock);
	return e && e->reg ? e : NULL;
}

static int check_overlap(struct uiommu_physmem *pm, uint64_t base,
			 uint64_t last)
{
	const struct pm_snap *s = pm->snap;
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (s->e[i].reg && uio_ranges_overlap(base, last, s->e[i].base,
						      s->e[i].last))
			return uio_fail(-EEXIST, "physmem",
					"[0x%" PRIx64 ", 0x%" PRIx64
					"] overlaps %s [0x%" PRIx64 ", 0x%"
					PRIx64 "]", base, last,
					s->e[i].reg->name, s->e[i].base,
					s->e[i].last);
	return 0;
}

/* Where UIOMMU_PHYS_ANY places a region: at or above @min, @align-ed. */
struct placement {
	uint64_t min;
	uint64_t align;		/* a power of two >= 4 KiB */
};

static const struct placement place_lowest = { 0, PM_PAGE };

/* Lowest free base for @size bytes that @pl allows (lock held). */
static int find_free(struct uiommu_physmem *pm, const struct placement *pl,
		     uint64_t size, uint64_t *base)
{
	const struct pm_snap *s = pm->snap;
	uint64_t cur = uio_align_up(pl->min, pl->align);
	size_t i;

	if (size - 1 > pm->pa_last)
		return uio_fail(-ERANGE, "physmem",
				"size 0x%" PRIx64 " exceeds %u-bit space",
				size, pm->pa_bits);
	for (i = 0; s && i < s->n; i++) {
		if (!s->e[i].reg || s->e[i].last < cur)
			continue;
		if (s->e[i].base > cur && s->e[i].base - cur >= size)
			break;		/* the gap below this region fits */
		if (s->e[i].last == pm->pa_last)
			goto no_space;
		cur = uio_align_up(s->e[i].last + 1, pl->align);
		if (cur <= s->e[i].last)
			goto no_space;	/* wrapped */
	}
	if (cur < pl->min || cur > pm->pa_last || pm->pa_last - cur < size - 1)
		goto no_space;
	*base = cur;
	return 0;
no_space:
	return uio_fail(-ENOSPC, "physmem", "no free range of 0x%" PRIx64
			" bytes", size);
}

/* Publish a snapshot with @reg added to the live entries (lock held). */
static int insert_region(struct uiommu_physmem *pm, struct uio_region *reg)
{
	const struct pm_snap *old = pm->snap;
	struct pm_snap *s;
	size_t i, j = 0;
	bool placed = false;

	uio_assert_held(&pm->lock);
	s = uio_zalloc(sizeof(*s) + (pm->live + 1) * sizeof(s->e[0]));
	if (!s)
		return uio_fail(-ENOMEM, "physmem", "no memory for region %s",
				reg->name);
	s->n = pm->live + 1;
	for (i = 0; old && i < old->n; i++) {
		if (!old->e[i].reg)
			continue;
		if (!placed && old->e[i].base > reg->base) {
			s->e[j++] = (struct pm_entry){ reg->base, reg->last,
						       reg };
			placed = true;
		}
		s->e[j++] = old->e[i];
	}
	if (!placed)
		s->e[j++] = (struct pm_entry){ reg->base, reg->last, reg };
	assert(j == s->n);

	__atomic_store_n(&pm->snap, s, __ATOMIC_SEQ_CST);
	if (old) {
		((struct pm_snap *)old)->retired_next = pm->retired_snaps;
		pm->retired_snaps = (struct pm_snap *)old;
	}
	pm->live++;
	publish(pm);
	return 0;
}

/*
 * Place and insert @reg of @size bytes at @base (or anywhere): the checks
 * and the publication common to RAM and MMIO.
 */
static int add_region(struct uiommu_physmem *pm, struct uio_region *reg,
		      uint64_t base, uint64_t size, const struct placement *pl)
{
	int ret;

	uio_lock(&pm->lock);
	if (base == UIOMMU_PHYS_ANY) {
		ret = find_free(pm, pl, size, &base);
		if (ret)
			goto out_unlock;
	} else if (base + size - 1 < base || base + size - 1 > pm->pa_last) {
		ret = uio_fail(-ERANGE, "physmem",
			       "[0x%" PRIx64 ", +0x%" PRIx64
			       ") beyond the %u-bit address space", base, size,
			       pm->pa_bits);
		goto out_unlock;
	} else {
		ret = check_overlap(pm, base, base + size - 1);
		if (ret)
			goto out_unlock;
	}
	reg->base = base;
	reg->last = base + size - 1;
	ret = insert_region(pm, reg);
	if (!ret) {
		trace_physmem_add(kind_name(reg->kind), reg->name, base, size);
		debug_check(pm);
	}
out_unlock:
	uio_unlock(&pm->lock);
	return ret;
}

/* ---------------------------------------------------------- public API */

UIOMMU_API int uiommu_physmem_create(unsigned int pa_bits,
				     struct uiommu_physmem **out)
{
	struct uiommu_physmem *pm;

	if (!out)
		return uio_fail(-EINVAL, "physmem", "NULL out pointer");
	if (pa_bits < 32 || pa_bits > 64)
		return uio_fail(-EINVAL, "physmem", "pa_bits %u not in 32..64",
				pa_bits);
	pm = uio_alloc_aligned(sizeof(*pm), _Alignof(struct uiommu_physmem));
	if (!pm)
		return uio_fail(-ENOMEM, "physmem", "no memory");
	pm->pa_bits = pa_bits;
	pm->pa_last = pa_bits == 64 ? UINT64_MAX : UIO_BIT(pa_bits) - 1;
	pm->gen = next_gen();
	uio_mutex_init(&pm->lock);
	*out = pm;
	return 0;
}

UIOMMU_API void uiommu_physmem_destroy(struct uiommu_physmem *pm)
{
	struct pm_snap *s;
	size_t i;

	if (!pm)
		return;
	uio_lock(&pm->lock);
	if (pm->pools)
		uio_err("physmem", "destroyed with pools still in use");
	s = pm->snap;
	for (i = 0; s && i < s->n; i++)
		if (s->e[i].reg)
			region_free(s->e[i].reg);
	snap_free(s);
	reclaim(pm, true);
	uio_unlock(&pm->lock);
	uio_mutex_destroy(&pm->lock);
	if (tcache.pm == pm)
		tcache.pm = NULL;
	uio_free_aligned(pm, sizeof(*pm), _Alignof(struct uiommu_physmem));
}

UIOMMU_API unsigned int uiommu_physmem_pa_bits(const struct uiommu_physmem *pm)
{
	return pm->pa_bits;
}

static int check_base_size(uint64_t base, uint64_t size)
{
	if (size == 0 || !uio_is_aligned(size, PM_PAGE))
		return uio_fail(-EINVAL, "physmem",
				"size 0x%" PRIx64
				" not a non-zero multiple of 4 KiB", size);
	if (base != UIOMMU_PHYS_ANY && !uio_is_aligned(base, PM_PAGE))
		return uio_fail(-EINVAL, "physmem",
				"base 0x%" PRIx64 " not 4 KiB aligned", base);
	return 0;
}

static int add_ram(struct uiommu_physmem *pm, const char *name, uint64_t base,
		   uint64_t size, void *host, uint64_t *base_out,
		   const struct placement *pl);

int uio_physmem_add_ram_above(struct uiommu_physmem *pm, const char *name,
			      uint64_t min, uint64_t align, uint64_t size,
			      void *host, uint64_t *base_out)
{
	const struct placement pl = { min, align };

	assert(uio_is_pow2(align) && align >= PM_PAGE);
	return add_ram(pm, name, UIOMMU_PHYS_ANY, size, host, base_out, &pl);
}

UIOMMU_API int uiommu_physmem_add_ram(struct uiommu_physmem *pm,
				      const char *name, uint64_t base,
				      uint64_t size, void *host,
				      uint64_t *base_out)
{
	return add_ram(pm, name, base, size, host, base_out, &place_lowest);
}

static int add_ram(struct uiommu_physmem *pm, const char *name, uint64_t base,
		   uint64_t size, void *host, uint64_t *base_out,
		   const struct placement *pl)
{
	struct uio_region *reg;
	int ret;

	if (!pm || !name)
		return uio_fail(-EINVAL, "physmem",
				"NULL address space or name");
	ret = check_base_size(base, size);
	if (ret)
		return ret;
	if (!uio_is_aligned((uintptr_t)host, PM_HOST_ALIGN))
		return uio_fail(-EINVAL, "physmem",
				"RAM %s: host buffer %p not 8-byte aligned",
				name, host);
	if (size > SIZE_MAX)
		return uio_fail(-ERANGE, "physmem", "RAM %s: size 0x%" PRIx64
				" exceeds the host address space", name, size);

	reg = uio_new(struct uio_region);
	if (!reg)
		goto err_nomem;
	reg->kind = UIOMMU_REGION_RAM;
	reg->name_copy = uio_strdup(name);
	if (!reg->name_copy)
		goto err_free_region;
	reg->name = reg->name_copy;
	reg->caller_memory = host != NULL;
	reg->owner = host ? "user" : "ram";
	reg->host = host;
	if (!host) {
		reg->host = uio_alloc_aligned((size_t)size, PM_PAGE);
		if (!reg->host)
			goto err_free_name;
	}
	ret = add_region(pm, reg, base, size, pl);
	if (ret)
		goto err_free_host;
	if (base_out)
		*base_out = reg->base;
	return 0;

err_free_host:
	if (!host)
		uio_free_aligned(reg->host, (size_t)size, PM_PAGE);
	uio_free_str(reg->name_copy);
	uio_delete(reg);
	return ret;
err_free_name:
	uio_free_str(reg->name_copy);
err_free_region:
	uio_delete(reg);
err_nomem:
	return uio_fail(-ENOMEM, "physmem", "no memory for RAM %s", name);
}

static int check_mmio_desc(uint64_t base, const struct uiommu_mmio_desc *d)
{
	uint64_t prev = 0;
	size_t i;
	int ret;

	if (!d || !d->name || !d->ops || !d->ops->read || !d->ops->write)
		return uio_fail(-EINVAL, "physmem",
				"MMIO description, name or callbacks missing");
	ret = check_base_size(base, d->size);
	if (ret)
		return ret;
	if (base == UIOMMU_PHYS_ANY)
		return uio_fail(-EINVAL, "physmem", "MMIO %s needs a base",
				d->name);
	if (d->nregs && !d->regs)
		return uio_fail(-EINVAL, "physmem", "MMIO %s: NULL register map",
				d->name);
	for (i = 0; i < d->nregs; i++) {
		const struct uiommu_reg_desc *r = &d->regs[i];

		if (!r->name || r->size == 0 || r->offset >= d->size ||
		    r->size > d->size - r->offset || r->offset < prev)
			return uio_fail(-EINVAL, "physmem",
					"MMIO %s: register %zu (%s) at 0x%"
					PRIx64 " size 0x%x outside the region "
					"or out of order", d->name, i,
					r->name ? r->name : "?", r->offset,
					r->size);
		prev = r->offset;
	}
	return 0;
}

UIOMMU_API int uiommu_physmem_add_mmio(struct uiommu_physmem *pm,
				       uint64_t base,
				       const struct uiommu_mmio_desc *desc)
{
	struct uio_region *reg;
	int ret;

	if (!pm)
		return uio_fail(-EINVAL, "physmem", "NULL address space");
	ret = check_mmio_desc(base, desc);
	if (ret)
		return ret;
	reg = uio_new(struct uio_region);
	if (!reg)
		return uio_fail(-ENOMEM, "physmem", "no memory for MMIO %s",
				desc->name);
	reg->kind = UIOMMU_REGION_MMIO;
	reg->name = desc->name;
	reg->owner = desc->owner ? desc->owner : "";
	reg->ops = *desc->ops;
	reg->opaque = desc->opaque;
	reg->regs = desc->regs;
	reg->nregs = desc->nregs;
	reg->doorbell = desc->doorbell;
	ret = add_region(pm, reg, base, desc->size, &place_lowest);
	if (ret)
		uio_delete(reg);
	return ret;
}

UIOMMU_API int uiommu_physmem_remove(struct uiommu_physmem *pm, uint64_t base)
{
	struct pm_entry *e;
	struct uio_region *reg;
	int ret = 0;

	if (!pm)
		return uio_fail(-EINVAL, "physmem", "NULL address space");
	uio_lock(&pm->lock);
	e = live_entry(pm, base);
	if (!e || e->base != base) {
		ret = uio_fail(-ENOENT, "physmem",
			       "no region starts at 0x%" PRIx64, base);
		goto out_unlock;
	}
	reg = e->reg;
	if (reg->pins || reg->pools) {
		ret = uio_fail(-EBUSY, "physmem",
			       "%s at 0x%" PRIx64 " is in use (%" PRIu64
			       " pins, %u pools)", reg->name, base, reg->pins,
			       reg->pools);
		goto out_unlock;
	}
	trace_physmem_remove(reg->name, reg->base, reg->last - reg->base + 1);
	__atomic_store_n(&e->reg, NULL, __ATOMIC_SEQ_CST);
	pm->live--;
	reg->retired_next = pm->retired_regions;
	pm->retired_regions = reg;
	publish(pm);
	debug_check(pm);
out_unlock:
	uio_unlock(&pm->lock);
	return ret;
}

/*
 * Visit the RAM regions covering [@base, @last] in order (lock held);
 * -EFAULT if a byte of it is not RAM.  With @fn NULL, only validate.
 */
static int for_ram_range(struct uiommu_physmem *pm, uint64_t base,
			 uint64_t last, int (*fn)(struct uio_region *r))
{
	uint64_t cur = base;

	for (;;) {
		struct pm_entry *e = live_entry(pm, cur);
		int ret;

		if (!e || e->reg->kind != UIOMMU_REGION_RAM)
			return -EFAULT;
		if (fn) {
			ret = fn(e->reg);
			if (ret)
				return ret;
		}
		if (e->last >= last)
			return 0;
		cur = e->last + 1;
	}
}

static int pin_one(struct uio_region *r)
{
	r->pins++;
	return 0;
}

static int check_pinned(struct uio_region *r)
{
	return r->pins ? 0 : -EINVAL;
}

static int unpin_one(struct uio_region *r)
{
	r->pins--;
	return 0;
}

static int pin_range(struct uiommu_physmem *pm, uint64_t base, uint64_t size,
		     bool pin)
{
	uint64_t last = base + size - 1;
	int ret;

	if (!pm || size == 0)
		return uio_fail(-EINVAL, "physmem", "%s of 0x%" PRIx64
				" bytes", pin ? "pin" : "unpin", size);
	if (last < base)
		return uio_fail(pin ? -EFAULT : -EINVAL, "physmem",
				"range 0x%" PRIx64 "+0x%" PRIx64 " wraps",
				base, size);
	uio_lock(&pm->lock);
	ret = for_ram_range(pm, base, last, pin ? NULL : check_pinned);
	if (ret) {
		ret = pin ? -EFAULT : -EINVAL;
		uio_err("physmem", "%s [0x%" PRIx64 ", 0x%" PRIx64 "]: %s",
			pin ? "pin" : "unpin", base, last,
			pin ? "not all RAM" : "not pinned");
	} else {
		ret = for_ram_range(pm, base, last, pin ? pin_one : unpin_one);
		assert(ret == 0);
		debug_check(pm);
	}
	uio_unlock(&pm->lock);
	return ret;
}

UIOMMU_API int uiommu_physmem_pin(struct uiommu_physmem *pm, uint64_t base,
				  uint64_t size)
{
	return pin_range(pm, base, size, true);
}

UIOMMU_API int uiommu_physmem_unpin(struct uiommu_physmem *pm, uint64_t base,
				    uint64_t size)
{
	return pin_range(pm, base, size, false);
}

/* ------------------------------------------------------------ accesses */

static int bus_error(uint64_t pa, uint64_t len, bool write,
		     const struct uiommu_memattrs *attrs)
{
	trace_physmem_bus_error(pa, len, write,
				attrs && (attrs->flags &
					  UIOMMU_MEMATTR_SOURCE_VALID)
				? attrs->source_id : UINT32_MAX);
	return -EFAULT;
}

static void ram_copy_out(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (; n && !uio_is_aligned((uintptr_t)src, 8); n--)
		*dst++ = __atomic_load_n(src++, __ATOMIC_RELAXED);
	for (; n >= 8; n -= 8, src += 8, dst += 8) {
		uint64_t v = __atomic_load_n((const uint64_t *)src,
					     __ATOMIC_RELAXED);

		memcpy(dst, &v, 8);
	}
	for (; n; n--)
		*dst++ = __atomic_load_n(src++, __ATOMIC_RELAXED);
}

static void ram_copy_in(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (; n && !uio_is_aligned((uintptr_t)dst, 8); n--)
		__atomic_store_n(dst++, *src++, __ATOMIC_RELAXED);
	for (; n >= 8; n -= 8, src += 8, dst += 8) {
		uint64_t v;

		memcpy(&v, src, 8);
		__atomic_store_n((uint64_t *)dst, v, __ATOMIC_RELAXED);
	}
	for (; n; n--)
		__atomic_store_n(dst++, *src++, __ATOMIC_RELAXED);
}

/* Largest naturally aligned access of at most 8 bytes at @off. */
static unsigned int mmio_chunk(uint64_t off, uint64_t n)
{
	unsigned int size = 8;

	while (size > n || (off & (size - 1)))
		size /= 2;
	return size;
}

static int mmio_rw(const struct uio_region *r, uint64_t off, uint8_t *buf,
		   uint64_t n, bool write, const struct uiommu_memattrs *attrs)
{
	while (n) {
		unsigned int size = mmio_chunk(off, n);
		uint64_t v = 0;
		unsigned int i;

		if (write) {
			for (i = 0; i < size; i++)
				v |= (uint64_t)buf[i] << (8 * i);
			if (r->ops.write(r->opaque, off, size, v, attrs))
				return -EFAULT;
		} else {
			if (r->ops.read(r->opaque, off, size, &v, attrs))
				return -EFAULT;
			for (i = 0; i < size; i++)
				buf[i] = (uint8_t)(v >> (8 * i));
		}
		off += size;
		buf += size;
		n -= size;
	}
	return 0;
}

/*
 * The part of an access at @pa that is not cached RAM: found in the current
 * snapshot with the reader count held, so that a region removed meanwhile
 * is not freed while its callbacks run.  Sets *@done to the bytes handled
 * (up to @len, within one region).  Return: 0 or -EFAULT (traced).
 */
static __attribute__((noinline)) int
slow_part(struct uiommu_physmem *pm, uint64_t pa, uint8_t *buf, uint64_t len,
	  bool write, const struct uiommu_memattrs *attrs, uint64_t *done)
{
	unsigned long *shard = reader_enter(pm);
	struct uio_region *r = snap_region(pm, pa);
	uint64_t n = 0;
	int ret = 0;

	if (!r) {
		ret = -EFAULT;
	} else {
		n = r->last - pa;
		n = (n < len - 1 ? n : len - 1) + 1;
		if (r->kind == UIOMMU_REGION_MMIO)
			ret = mmio_rw(r, pa - r->base, buf, n, write, attrs);
		else if (write)
			ram_copy_in(r->host + (pa - r->base), buf, (size_t)n);
		else
			ram_copy_out(buf, r->host + (pa - r->base), (size_t)n);
	}
	reader_exit(shard);
	*done = n;
	return ret ? bus_error(pa, n ? n : len, write, attrs) : 0;
}

static int phys_rw(struct uiommu_physmem *pm, uint64_t pa, uint8_t *buf,
		   size_t len, bool write, const struct uiommu_memattrs *attrs)
{
	if (!attrs)
		attrs = &no_attrs;
	if (len && pa + (len - 1) < pa)
		return bus_error(pa, len, write, attrs);
	while (len) {
		const struct pm_tway *w = find(pm, pa);
		uint64_t n;

		if (w && w->ram) {
			uint8_t *host = (uint8_t *)(w->hbias + (uintptr_t)pa);

			/* Bytes left in the region, minus one. */
			n = w->base + w->span - pa;
			n = (n < len - 1 ? n : len - 1) + 1;
			if (write)
				ram_copy_in(host, buf, (size_t)n);
			else
				ram_copy_out(buf, host, (size_t)n);
		} else {
			int ret = slow_part(pm, pa, buf, len, write, attrs, &n);

			if (ret)
				return ret;
		}
		pa += n;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

UIOMMU_API int uiommu_phys_read(struct uiommu_physmem *pm, uint64_t pa,
				void *buf, size_t len,
				const struct uiommu_memattrs *attrs)
{
	return phys_rw(pm, pa, buf, len, false, attrs);
}

UIOMMU_API int uiommu_phys_write(struct uiommu_physmem *pm, uint64_t pa,
				 const void *buf, size_t len,
				 const struct uiommu_memattrs *attrs)
{
	return phys_rw(pm, pa, (uint8_t *)buf, len, true, attrs);
}

static bool bad_access(uint64_t pa, unsigned int size)
{
	return size - 1 > 7 || (size & (size - 1)) || (pa & (size - 1));
}

static int bad_access_fail(uint64_t pa, unsigned int size)
{
	return uio_fail(-EINVAL, "physmem",
			"access of %u bytes at 0x%" PRIx64
			" not 1, 2, 4 or 8 bytes naturally aligned", size, pa);
}

/* One MMIO access of @size bytes (naturally aligned: a single callback). */
static int mmio_access(struct uiommu_physmem *pm, uint64_t pa,
		       unsigned int size, uint64_t *val, bool write,
		       const struct uiommu_memattrs *attrs)
{
	uint8_t bytes[8];
	uint64_t done, v = 0;
	unsigned int i;
	int ret;

	for (i = 0; write && i < size; i++)
		bytes[i] = (uint8_t)(*val >> (8 * i));
	ret = slow_part(pm, pa, bytes, size, write, attrs ? attrs : &no_attrs,
			&done);
	if (ret || write)
		return ret;
	for (i = 0; i < size; i++)
		v |= (uint64_t)bytes[i] << (8 * i);
	*val = v;
	return 0;
}

static __attribute__((noinline)) int
ld_slow(struct uiommu_physmem *pm, uint64_t pa, unsigned int size,
	uint64_t *val, const struct uiommu_memattrs *attrs)
{
	const struct pm_tway *w;
	const void *host;

	if (uio_unlikely(bad_access(pa, size)))
		return bad_access_fail(pa, size);
	w = find(pm, pa);
	if (uio_unlikely(!w || !w->ram))
		return mmio_access(pm, pa, size, val, false, attrs);
	host = (const void *)(w->hbias + (uintptr_t)pa);
	switch (size) {
	case 8:
		*val = le_to_cpu(__atomic_load_n((const uint64_t *)host,
						 __ATOMIC_ACQUIRE), 8);
		break;
	case 4:
		*val = le_to_cpu(__atomic_load_n((const uint32_t *)host,
						 __ATOMIC_ACQUIRE), 4);
		break;
	case 2:
		*val = le_to_cpu(__atomic_load_n((const uint16_t *)host,
						 __ATOMIC_ACQUIRE), 2);
		break;
	default:
		*val = __atomic_load_n((const uint8_t *)host, __ATOMIC_ACQUIRE);
		break;
	}
	return 0;
}

/* A page-table walker's descriptor fetch: 8 aligned bytes of hot RAM. */
UIOMMU_API int uiommu_phys_ld(struct uiommu_physmem *pm, uint64_t pa,
			      unsigned int size, uint64_t *val,
			      const struct uiommu_memattrs *attrs)
{
	if (uio_likely(size == 8 && !(pa & 7))) {
		const uint64_t *host = fast_ram(pm, pa);

		if (uio_likely(host)) {
			*val = le_to_cpu(__atomic_load_n(host,
							 __ATOMIC_ACQUIRE), 8);
			return 0;
		}
	}
	return ld_slow(pm, pa, size, val, attrs);
}

static __attribute__((noinline)) int
st_slow(struct uiommu_physmem *pm, uint64_t pa, unsigned int size,
	uint64_t val, const struct uiommu_memattrs *attrs)
{
	const struct pm_tway *w;
	void *host;

	if (uio_unlikely(bad_access(pa, size)))
		return bad_access_fail(pa, size);
	w = find(pm, pa);
	if (uio_unlikely(!w || !w->ram))
		return mmio_access(pm, pa, size, &val, true, attrs);
	host = (void *)(w->hbias + (uintptr_t)pa);
	switch (size) {
	case 8:
		__atomic_store_n((uint64_t *)host, le_to_cpu(val, 8),
				 __ATOMIC_RELEASE);
		break;
	case 4:
		__atomic_store_n((uint32_t *)host,
				 (uint32_t)le_to_cpu(val, 4), __ATOMIC_RELEASE);
		break;
	case 2:
		__atomic_store_n((uint16_t *)host,
				 (uint16_t)le_to_cpu(val, 2), __ATOMIC_RELEASE);
		break;
	default:
		__atomic_store_n((uint8_t *)host, (uint8_t)val,
				 __ATOMIC_RELEASE);
		break;
	}
	return 0;
}

UIOMMU_API int uiommu_phys_st(struct uiommu_physmem *pm, uint64_t pa,
			      unsigned int size, uint64_t val,
			      const struct uiommu_memattrs *attrs)
{
	if (uio_likely(size == 8 && !(pa & 7))) {
		uint64_t *host = fast_ram(pm, pa);

		if (uio_likely(host)) {
			__atomic_store_n(host, le_to_cpu(val, 8),
					 __ATOMIC_RELEASE);
			return 0;
		}
	}
	return st_slow(pm, pa, size, val, attrs);
}

UIOMMU_API int uiommu_phys_cmpxchg64(struct uiommu_physmem *pm, uint64_t pa,
				     uint64_t *expected, uint64_t desired,
				     const struct uiommu_memattrs *attrs)
{
	const struct pm_tway *w;
	uint64_t *host, want;

	if (pa & 7)
		return bad_access_fail(pa, 8);
	w = find(pm, pa);
	if (!w || !w->ram)
		return bus_error(pa, 8, true, attrs);
	host = (uint64_t *)(w->hbias + (uintptr_t)pa);
	want = le_to_cpu(*expected, 8);
	if (__atomic_compare_exchange_n(host, &want, le_to_cpu(desired, 8),
					false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		return 0;
	*expected = le_to_cpu(want, 8);
	return -EAGAIN;
}

UIOMMU_API void *uiommu_phys_host_ptr(struct uiommu_physmem *pm, uint64_t pa,
				      uint64_t size)
{
	const struct pm_tway *w = find(pm, pa);

	if (uio_unlikely(!w || !w->ram))
		return NULL;
	if (size && size - 1 > w->base + w->span - pa)
		return NULL;
	return (void *)(w->hbias + (uintptr_t)pa);
}

/* ---------------------------------------------------- lookup, for_each */

static void fill_info(const struct uio_region *r, struct uiommu_region_info *i)
{
	memset(i, 0, sizeof(*i));
	i->kind = r->kind;
	i->base = r->base;
	i->size = r->last - r->base + 1;
	i->name = r->name;
	i->owner = r->owner;
	i->regs = r->regs;
	i->nregs = r->nregs;
	i->doorbell = r->doorbell;
	i->caller_memory = r->caller_memory;
	i->host = r->kind == UIOMMU_REGION_RAM ? r->host : NULL;
}

UIOMMU_API int uiommu_physmem_lookup(struct uiommu_physmem *pm, uint64_t pa,
				     struct uiommu_region_info *info)
{
	struct uio_region *r;
	unsigned long *shard;

	if (!pm || !info)
		return uio_fail(-EINVAL, "physmem", "NULL argument to lookup");
	/* Not a hot path: read the snapshot, safe against removals. */
	shard = reader_enter(pm);
	r = snap_region(pm, pa);
	if (r)
		fill_info(r, info);
	reader_exit(shard);
	return r ? 0 : -EFAULT;
}

UIOMMU_API int uiommu_physmem_for_each(struct uiommu_physmem *pm,
				       int (*fn)(void *opaque,
						 const struct uiommu_region_info *info),
				       void *opaque)
{
	const struct pm_snap *s;
	unsigned long *shard;
	size_t i;
	int ret = 0;

	if (!pm || !fn)
		return uio_fail(-EINVAL, "physmem", "NULL argument to for_each");
	shard = reader_enter(pm);
	s = __atomic_load_n(&pm->snap, __ATOMIC_SEQ_CST);
	for (i = 0; s && i < s->n && !ret; i++) {
		struct uio_region *r = entry_region(&s->e[i]);
		struct uiommu_region_info info;

		if (!r)
			continue;
		fill_info(r, &info);
		ret = fn(opaque, &info);
	}
	reader_exit(shard);
	return ret;
}

UIOMMU_API int uiommu_physmem_synchronize(struct uiommu_physmem *pm)
{
	unsigned int i;

	if (!pm)
		return uio_fail(-EINVAL, "physmem", "NULL address space");
	if (tcache.depth)
		return uio_fail(-EDEADLK, "physmem",
				"synchronize from inside an access or for_each");
	/* Each shard seen empty once: every earlier reader has left. */
	for (i = 0; i < PM_READER_SHARDS; i++)
		while (__atomic_load_n(&pm->readers[i].n, __ATOMIC_SEQ_CST))
			sched_yield();
	uio_lock(&pm->lock);
	reclaim(pm, false);
	uio_unlock(&pm->lock);
	return 0;
}

/* ------------------------------------------------------------ checker */

static int check_fail(const char *what, uint64_t a, uint64_t b)
{
	return uio_fail(-EUCLEAN, "physmem",
			"invariant broken: %s (0x%" PRIx64 ", 0x%" PRIx64 ")",
			what, a, b);
}

static int check_entry(struct uiommu_physmem *pm, const struct pm_entry *e)
{
	const struct uio_region *r = e->reg;

	if (e->base > e->last || e->last > pm->pa_last)
		return check_fail("entry range", e->base, e->last);
	if (!uio_is_aligned(e->base, PM_PAGE) ||
	    !uio_is_aligned(e->last + 1, PM_PAGE))
		return check_fail("entry alignment", e->base, e->last);
	if (!r)
		return 0;
	if (r->base != e->base || r->last != e->last)
		return check_fail("region differs from its entry", r->base,
				  e->base);
	if (r->kind == UIOMMU_REGION_RAM &&
	    (!r->host || !uio_is_aligned((uintptr_t)r->host, PM_HOST_ALIGN)))
		return check_fail("RAM without aligned host memory", r->base,
				  (uintptr_t)r->host);
	if (r->kind == UIOMMU_REGION_MMIO && (!r->ops.read || !r->ops.write))
		return check_fail("MMIO without callbacks", r->base, 0);
	if (r->kind == UIOMMU_REGION_MMIO && (r->pins || r->pools))
		return check_fail("MMIO pinned or pooled", r->base, r->pins);
	return 0;
}

static int check_pools(struct uiommu_physmem *pm)
{
	const struct uio_pool_link *l, *m;
	const struct pm_snap *s = pm->snap;
	size_t i;

	for (i = 0; s && i < s->n; i++) {
		unsigned int count = 0;

		if (!s->e[i].reg)
			continue;
		for (l = pm->pools; l; l = l->next)
			count += l->region == s->e[i].reg;
		if (count != s->e[i].reg->pools)
			return check_fail("pool count of region", s->e[i].base,
					  count);
	}
	for (l = pm->pools; l; l = l->next) {
		const struct pm_entry *e = snap_search(s, l->base);

		if (!e || e->reg != l->region || l->last > e->last)
			return check_fail("pool outside its region", l->base,
					  l->last);
		for (m = l->next; m; m = m->next)
			if (uio_ranges_overlap(l->base, l->last, m->base,
					       m->last))
				return check_fail("pools overlap", l->base,
						  m->base);
	}
	return 0;
}

/* The calling thread's cache, if current, must match the snapshot. */
static int check_tcache(struct uiommu_physmem *pm)
{
	const struct pm_tcache *c = &tcache;
	unsigned int i;

	if (c->pm != pm || c->gen != pm->gen)
		return 0;
	for (i = 0; i < c->n; i++) {
		const struct pm_tway *w = &c->way[i];
		const struct pm_entry *e = snap_search(pm->snap, w->base);

		if (!e || e->reg != w->reg || e->base != w->base ||
		    e->last - e->base != w->span)
			return check_fail("stale lookup cache way", w->base,
					  w->span);
	}
	return 0;
}

static int check_locked(struct uiommu_physmem *pm)
{
	const struct pm_snap *s = pm->snap;
	size_t i, live = 0;
	int ret;

	uio_assert_held(&pm->lock);
	if (pm->gen == 0)
		return check_fail("generation zero", 0, 0);
	for (i = 0; s && i < s->n; i++) {
		ret = check_entry(pm, &s->e[i]);
		if (ret)
			return ret;
		if (i && s->e[i - 1].last >= s->e[i].base)
			return check_fail("entries unsorted or overlapping",
					  s->e[i - 1].last, s->e[i].base);
		live += s->e[i].reg != NULL;
	}
	if (live != pm->live)
		return check_fail("live region count", live, pm->live);
	ret = check_pools(pm);
	return ret ? ret : check_tcache(pm);
}

UIOMMU_API int uiommu_physmem_check(struct uiommu_physmem *pm)
{
	int ret;

	if (!pm)
		return uio_fail(-EINVAL, "physmem", "NULL address space");
	uio_lock(&pm->lock);
	ret = check_locked(pm);
	uio_unlock(&pm->lock);
	return ret;
}

/* ------------------------------------------------------- pool claims */

int uio_physmem_pool_claim(struct uiommu_physmem *pm,
			   struct uio_pool_link *link)
{
	const struct uio_pool_link *l;
	struct pm_entry *e;
	int ret = 0;

	uio_lock(&pm->lock);
	e = live_entry(pm, link->base);
	if (!e || e->reg->kind != UIOMMU_REGION_RAM || link->last > e->last) {
		ret = uio_fail(-EFAULT, "physmem",
			       "pool [0x%" PRIx64 ", 0x%" PRIx64
			       "] not inside one RAM region", link->base,
			       link->last);
		goto out_unlock;
	}
	for (l = pm->pools; l; l = l->next) {
		if (uio_ranges_overlap(l->base, l->last, link->base,
				       link->last)) {
			ret = uio_fail(-EBUSY, "physmem",
				       "pool [0x%" PRIx64 ", 0x%" PRIx64
				       "] overlaps pool at 0x%" PRIx64,
				       link->base, link->last, l->base);
			goto out_unlock;
		}
	}
	link->region = e->reg;
	e->reg->pools++;
	link->next = pm->pools;
	pm->pools = link;
	debug_check(pm);
out_unlock:
	uio_unlock(&pm->lock);
	return ret;
}

void uio_physmem_pool_release(struct uiommu_physmem *pm,
			      struct uio_pool_link *link)
{
	struct uio_pool_link **p;

	uio_lock(&pm->lock);
	for (p = &pm->pools; *p && *p != link; p = &(*p)->next)
		;
	assert(*p == link);
	*p = link->next;
	link->region->pools--;
	debug_check(pm);
	uio_unlock(&pm->lock);
}
