// SPDX-License-Identifier: MIT
/*
 * Tests of the IOVA allocator: placement rules, reservations, validation,
 * a randomized differential test against a sorted-array model, the
 * per-thread caches, and fail-Nth sweeps over every allocating operation.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/iova.h>

#include "iova-tree.h"

#define K4 0x1000ull
#define M32 0xffffffffull
#define M48 0xffffffffffffull

static struct uiommu_iova_domain *mkdom(uint64_t start, uint64_t last,
					uint64_t granule, unsigned int cache)
{
	struct uiommu_iova_config cfg = { start, last, granule, cache };
	struct uiommu_iova_domain *d = NULL;

	assert_int_equal(uiommu_iova_domain_create(&cfg, &d), 0);
	assert_non_null(d);
	return d;
}

static uint64_t must_alloc(struct uiommu_iova_domain *d, uint64_t size,
			   uint64_t limit, unsigned int flags)
{
	uint64_t iova = 0;

	assert_int_equal(uiommu_iova_alloc(d, size, limit, flags, &iova), 0);
	return iova;
}

static struct uiommu_iova_stats stats(struct uiommu_iova_domain *d)
{
	struct uiommu_iova_stats st;

	assert_int_equal(uiommu_iova_get_stats(d, &st), 0);
	return st;
}

/* ------------------------------------------------------------ placement */

static void test_first_alloc_under_32bit_mask_is_fffff000(void **state)
{
	struct uiommu_iova_domain *d = mkdom(0, M48, K4, UIOMMU_IOVA_CACHE_OFF);

	(void)state;
	assert_int_equal(must_alloc(d, K4, M32, 0), 0xfffff000ull);
	assert_int_equal(must_alloc(d, K4, M32, 0), 0xffffe000ull);
	assert_int_equal(must_alloc(d, 2 * K4, M32, 0), 0xffffc000ull);
	assert_int_equal(must_alloc(d, K4, M48, 0), 0xfffffffff000ull);
	/* A limit that is not one below a granule boundary rounds down. */
	assert_int_equal(must_alloc(d, K4, 0x7ffff800ull, 0), 0x7fffe000ull);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
}

/* largest_free counts every free run, the lowest one included. */
static void test_largest_free_includes_the_lowest_gap(void **state)
{
	struct uiommu_iova_domain *d = mkdom(0, M48, K4, UIOMMU_IOVA_CACHE_OFF);

	(void)state;
	assert_int_equal(stats(d).largest_free, M48 + 1);
	assert_int_equal(must_alloc(d, K4, M48, 0), M48 + 1 - K4);
	assert_int_equal(stats(d).largest_free, M48 + 1 - K4);
	assert_int_equal(uiommu_iova_reserve(d, 0x1000, 0x1fff), 0);
	assert_int_equal(stats(d).largest_free, M48 + 1 - K4 - 0x2000);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
}

static void test_same_with_cache_on(void **state)
{
	struct uiommu_iova_domain *d = mkdom(0, M48, K4, 5);

	(void)state;
	assert_int_equal(must_alloc(d, K4, M32, 0), 0xfffff000ull);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
}

static void test_exhaustion_and_reuse(void **state)
{
	struct uiommu_iova_domain *d =
		mkdom(0x10000, 0x1ffff, K4, UIOMMU_IOVA_CACHE_OFF);
	uint64_t iova, a[16];
	int i;

	(void)state;
	for (i = 0; i < 16; i++)
		a[i] = must_alloc(d, K4, M48, 0);
	assert_int_equal(a[0], 0x1f000);
	assert_int_equal(a[15], 0x10000);
	assert_int_equal(uiommu_iova_alloc(d, K4, M48, 0, &iova), -ENOSPC);
	assert_int_equal(stats(d).largest_free, 0);
	assert_int_equal(uiommu_iova_free(d, a[7]), 0);
	assert_int_equal(uiommu_iova_alloc(d, 2 * K4, M48, 0, &iova), -ENOSPC);
	assert_int_equal(must_alloc(d, K4, M48, 0), a[7]);
	/* Limit below every free granule. */
	assert_int_equal(uiommu_iova_free(d, a[0]), 0);
	assert_int_equal(uiommu_iova_alloc(d, K4, 0x1efff, 0, &iova), -ENOSPC);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
}

/*
 * The summaries that only size-aligned and best-fit requests use are
 * built on a domain's first such request: after a long history without
 * them, every answer must be the one a domain that had them all along
 * gives.
 */
static void test_late_aligned_and_best_fit_requests(void **state)
{
	struct uiommu_iova_domain *d[2];
	static uint64_t held[2][4000];
	uint64_t iova[2];
	unsigned int n = 0, i, k, flags;
	int ret[2];

	(void)state;
	tu_rand_seed(tu_seed_from_env(0x1a7e5u));
	for (k = 0; k < 2; k++)
		d[k] = mkdom(0x100000, M48, K4, UIOMMU_IOVA_CACHE_OFF);
	/* d[0] has kept every summary from the start. */
	iova[0] = must_alloc(d[0], 2 * K4, M48,
			     UIOMMU_IOVA_SIZE_ALIGNED | UIOMMU_IOVA_BEST_FIT);
	assert_int_equal(uiommu_iova_free(d[0], iova[0]), 0);
	for (i = 0; i < 12000; i++) {
		if (i < 6000 && n < 4000 && tu_rand_range(0, 2)) {
			uint64_t size = tu_rand_range(1, 24) * K4;

			/* Plain requests first, then any kind. */
			flags = 0;
			if (i >= 5000 && tu_rand_range(0, 1))
				flags |= UIOMMU_IOVA_BEST_FIT;
			if (i >= 5500 && tu_rand_range(0, 1)) {
				flags |= UIOMMU_IOVA_SIZE_ALIGNED;
				size = (K4 << tu_rand_range(0, 4));
			}
			for (k = 0; k < 2; k++)
				ret[k] = uiommu_iova_alloc(d[k], size, M32,
							   flags, &iova[k]);
			assert_int_equal(ret[0], ret[1]);
			if (ret[0])
				continue;
			assert_int_equal(iova[0], iova[1]);
			held[0][n] = iova[0];
			held[1][n++] = iova[1];
		} else if (n) {
			unsigned int j = (unsigned int)tu_rand_range(0, n - 1);

			for (k = 0; k < 2; k++) {
				assert_int_equal(uiommu_iova_free(d[k], held[k][j]), 0);
				held[k][j] = held[k][n - 1];
			}
			n--;
		}
		if (i % 1000 == 999)
			for (k = 0; k < 2; k++)
				assert_int_equal(uiommu_iova_check(d[k]), 0);
	}
	for (k = 0; k < 2; k++)
		uiommu_iova_domain_destroy(d[k]);
}

static void test_size_aligned_and_best_fit(void **state)
{
	struct uiommu_iova_domain *d =
		mkdom(0, 0xfffff, K4, UIOMMU_IOVA_CACHE_OFF);
	uint64_t a, b, top;

	(void)state;
	a = must_alloc(d, K4, M48, 0);			/* 0xff000 */
	b = must_alloc(d, 4 * K4, M48, UIOMMU_IOVA_SIZE_ALIGNED);
	assert_int_equal(a, 0xff000);
	assert_int_equal(b, 0xf8000);			/* aligned to 16K */
	assert_int_equal(uiommu_iova_free(d, a), 0);
	assert_int_equal(uiommu_iova_free(d, b), 0);

	/* A 4-granule hole below a 128-granule free top. */
	top = must_alloc(d, 0x80 * K4, M48, 0);
	assert_int_equal(top, 0x80000);
	assert_int_equal(must_alloc(d, 0x10 * K4, M48, 0), 0x70000);
	b = must_alloc(d, 4 * K4, M48, 0);
	assert_int_equal(b, 0x6c000);
	assert_int_equal(must_alloc(d, K4, M48, 0), 0x6b000);
	assert_int_equal(uiommu_iova_free(d, top), 0);
	assert_int_equal(uiommu_iova_free(d, b), 0);
	/* Good fit takes the smallest class that surely holds 3 granules
	 * (4..7): the hole; top-down takes the top. */
	assert_int_equal(must_alloc(d, 3 * K4, M48, UIOMMU_IOVA_BEST_FIT),
			 0x6d000);
	assert_int_equal(must_alloc(d, 3 * K4, M48, 0), 0xfd000);
	/* Size-aligned 64K: the highest 64K-aligned block. */
	assert_int_equal(must_alloc(d, 16 * K4, M48, UIOMMU_IOVA_SIZE_ALIGNED),
			 0xe0000);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
}

static void test_larger_granules(void **state)
{
	struct uiommu_iova_domain *d = mkdom(0, M48, 0x10000, 3);
	struct uiommu_iova_range r;

	(void)state;
	assert_int_equal(must_alloc(d, 0x10000, M32, 0), 0xffff0000ull);
	assert_int_equal(uiommu_iova_find(d, 0xffff1234, &r), 0);
	assert_int_equal(r.first, 0xffff0000ull);
	assert_int_equal(r.last, 0xffffffffull);
	assert_int_equal(r.kind, UIOMMU_IOVA_LIVE);
	uiommu_iova_domain_destroy(d);
	d = mkdom(0x4000, 0xfffff, 0x4000, UIOMMU_IOVA_CACHE_OFF);
	assert_int_equal(must_alloc(d, 0x8000, 0x7ffff, 0), 0x78000);
	uiommu_iova_domain_destroy(d);
}

/* --------------------------------------------------------- reservations */

static int count_kind(void *opaque, const struct uiommu_iova_range *r)
{
	unsigned int *n = opaque;

	(void)r;
	(*n)++;
	return 0;
}

static void test_reservations_merge_and_are_skipped(void **state)
{
	struct uiommu_iova_domain *d = mkdom(0, M48, K4, 5);
	struct uiommu_iova_range r;
	unsigned int n = 0;
	uint64_t iova;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_iova_reserve(d, 0x8000000, 0x80fffff), 0);
	assert_int_equal(uiommu_iova_reserve(d, 0x8100000, 0x81fffff), 0);
	assert_int_equal(uiommu_iova_reserve(d, 0x8080000, 0x8180fff), 0);
	assert_int_equal(uiommu_iova_reserve(d, 0x7fff000, 0x7fff001), 0);
	assert_int_equal(uiommu_iova_for_each(d, UIOMMU_IOVA_RESERVED,
					      count_kind, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(uiommu_iova_find(d, 0x8123456, &r), 0);
	assert_int_equal(r.first, 0x7fff000);
	assert_int_equal(r.last, 0x81fffff);
	assert_int_equal(r.kind, UIOMMU_IOVA_RESERVED);
	assert_int_equal(stats(d).reserved_granules, 0x201);
	assert_int_equal(stats(d).reserved_ranges, 1);

	/* Allocation below the top of the reservation skips it. */
	assert_int_equal(must_alloc(d, K4, 0x81fffff, 0), 0x7ffe000);
	/* A reservation touching a live range does not merge with it,
	 * one over it is refused. */
	iova = must_alloc(d, 0x10000, M32, 0);
	assert_int_equal(iova, 0xffff0000ull);
	assert_int_equal(uiommu_iova_reserve(d, iova + 0x10000, iova + 0x10fff),
			 0);
	assert_int_equal(uiommu_iova_reserve(d, iova + 0xf000, iova + 0x10fff),
			 -EBUSY);
	assert_int_equal(uiommu_iova_reserve(d, iova - 0x1000, iova - 1), 0);
	assert_int_equal(uiommu_iova_find(d, iova - 1, &r), 0);
	assert_int_equal(r.kind, UIOMMU_IOVA_RESERVED);
	assert_int_equal(uiommu_iova_find(d, iova, &r), 0);
	assert_int_equal(r.kind, UIOMMU_IOVA_LIVE);
	/* The whole space reserved around the allocations. */
	assert_int_equal(uiommu_iova_reserve(d, 0, 0xfff), 0);
	assert_int_equal(uiommu_iova_reserve(d, M48 - 0xfff, M48), 0);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
	tu_log_release();
}

/* -------------------------------------------------------- find, for_each */

struct walk_rec {
	struct uiommu_iova_range r[64];
	unsigned int n;
};

static int record(void *opaque, const struct uiommu_iova_range *r)
{
	struct walk_rec *w = opaque;

	assert_true(w->n < 64);
	w->r[w->n++] = *r;
	return 0;
}

static int stop_at_two(void *opaque, const struct uiommu_iova_range *r)
{
	unsigned int *n = opaque;

	(void)r;
	return ++*n == 2 ? 42 : 0;
}

static void test_for_each_tiles_the_space_in_order(void **state)
{
	struct uiommu_iova_domain *d =
		mkdom(0x8000000, 0x80fffff, K4, UIOMMU_IOVA_CACHE_OFF);
	struct walk_rec w = { .n = 0 };
	struct uiommu_iova_range r;
	uint64_t a, b, next;
	unsigned int i, n = 0;

	(void)state;
	a = must_alloc(d, 2 * K4, M48, 0);
	b = must_alloc(d, K4, M48, 0);
	assert_int_equal(uiommu_iova_free(d, a), 0);
	assert_int_equal(uiommu_iova_reserve(d, 0x8000000, 0x8000fff), 0);
	assert_int_equal(uiommu_iova_for_each(d, UIOMMU_IOVA_ALL, record, &w),
			 0);
	next = 0x8000000;
	for (i = 0; i < w.n; i++) {
		assert_int_equal(w.r[i].first, next);
		next = w.r[i].last + 1;
	}
	assert_int_equal(next, 0x8100000);
	assert_int_equal(w.n, 4);	/* reserved, free, live, free */
	assert_int_equal(w.r[2].first, b);
	assert_int_equal(w.r[2].kind, UIOMMU_IOVA_LIVE);
	assert_int_equal(w.r[3].kind, UIOMMU_IOVA_FREE);
	assert_int_equal(uiommu_iova_find(d, 0x80fffff, &r), 0);
	assert_int_equal(r.kind, UIOMMU_IOVA_FREE);
	assert_int_equal(r.first, b + K4);
	assert_int_equal(uiommu_iova_for_each(d, UIOMMU_IOVA_ALL, stop_at_two,
					      &n), 42);
	uiommu_iova_domain_destroy(d);
}

/* ------------------------------------------------------------ bad input */

static void assert_unchanged(struct uiommu_iova_domain *d,
			     const struct uiommu_iova_stats *before)
{
	struct uiommu_iova_stats now = stats(d);

	assert_int_equal(now.live_ranges, before->live_ranges);
	assert_int_equal(now.live_granules, before->live_granules);
	assert_int_equal(now.reserved_granules, before->reserved_granules);
	assert_int_equal(now.free_granules, before->free_granules);
	assert_int_equal(uiommu_iova_check(d), 0);
}

#define EXPECT_BAD(call, err)                                             \
	do {                                                              \
		tu_log_clear();                                           \
		assert_int_equal((call), (err));                          \
		assert_true(strstr(tu_log_text(), "iova: ") != NULL);     \
		assert_unchanged(d, &before);                             \
	} while (0)

static void test_bad_input_changes_nothing(void **state)
{
	struct uiommu_iova_config cfg = { 0, M48, K4, 5 };
	struct uiommu_iova_domain *d = mkdom(0x100000, M48, K4, 5), *none;
	struct uiommu_iova_stats before;
	struct uiommu_iova_range r;
	uint64_t iova, a;

	(void)state;
	a = must_alloc(d, 4 * K4, M32, 0);
	assert_int_equal(uiommu_iova_reserve(d, 0x200000, 0x2fffff), 0);
	before = stats(d);
	tu_log_capture(UIOMMU_LOG_ERR);
	EXPECT_BAD(uiommu_iova_alloc(d, 0, M32, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, 0x1800, M32, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, 1ull << 48, M48, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, K4, 0xfffff, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, K4, M32, 0x80, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, 3 * K4, M32, UIOMMU_IOVA_SIZE_ALIGNED,
				     &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, K4, M32, 0, NULL), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(NULL, K4, M32, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_free(d, a + 1), -EINVAL);
	EXPECT_BAD(uiommu_iova_free(d, a + K4), -ENOENT);
	EXPECT_BAD(uiommu_iova_free(d, 0x200000), -ENOENT);
	EXPECT_BAD(uiommu_iova_free(d, 0x1000), -ENOENT);
	EXPECT_BAD(uiommu_iova_free(d, 0x7000000), -ENOENT);
	EXPECT_BAD(uiommu_iova_reserve(d, 0x2000, 0x3000), -ERANGE);
	EXPECT_BAD(uiommu_iova_reserve(d, M48, M48 + 1), -ERANGE);
	EXPECT_BAD(uiommu_iova_reserve(d, 0x300000, 0x200000), -EINVAL);
	EXPECT_BAD(uiommu_iova_reserve(d, a, a), -EBUSY);
	EXPECT_BAD(uiommu_iova_find(d, 0x1000, &r), -ERANGE);
	EXPECT_BAD(uiommu_iova_for_each(d, 0x100, count_kind, &r), -EINVAL);
	/* A double free is refused, by the cached path too. */
	assert_int_equal(uiommu_iova_free(d, a), 0);
	before = stats(d);
	EXPECT_BAD(uiommu_iova_free(d, a), -ENOENT);

	cfg.granule = 8192;
	assert_int_equal(uiommu_iova_domain_create(&cfg, &none), -EINVAL);
	cfg.granule = 0x3000;	/* not a power of two */
	assert_int_equal(uiommu_iova_domain_create(&cfg, &none), -EINVAL);
	cfg.granule = K4;
	cfg.start = 0x800;
	assert_int_equal(uiommu_iova_domain_create(&cfg, &none), -EINVAL);
	cfg.start = 0x2000;
	cfg.last = 0x1fff;
	assert_int_equal(uiommu_iova_domain_create(&cfg, &none), -EINVAL);
	cfg.last = M48;
	cfg.cache_max_order = 11;
	assert_int_equal(uiommu_iova_domain_create(&cfg, &none), -EINVAL);
	assert_int_equal(uiommu_iova_domain_create(NULL, &none), -EINVAL);
	tu_log_release();
	uiommu_iova_domain_destroy(d);
	uiommu_iova_domain_destroy(NULL);
}

/*
 * A tree past 8192 B-tree nodes takes its nodes from big blocks (8 MiB,
 * advised as huge pages): 200,000 ranges need about 13,000 nodes, which
 * small blocks of 16 would serve in about 800 allocations.  Everything is
 * consistent and freed on destroy.  (Skipped in debug level 2 builds,
 * where every change runs the O(n) checker.)
 */
static void test_large_tree_uses_big_blocks(void **state)
{
	static uint64_t a[200000];
	struct uiommu_iova_domain *d;
	unsigned int i;

	(void)state;
#if UIOMMU_DEBUG >= 2
	skip();
#endif
	tu_alloc_install(0);
	d = mkdom(0, M48, K4, UIOMMU_IOVA_CACHE_OFF);
	for (i = 0; i < 200000; i++)
		a[i] = must_alloc(d, K4, M48, 0);
	assert_true(tu_alloc_live_blocks() < 700);
	for (i = 0; i < 200000; i += 3)
		assert_int_equal(uiommu_iova_free(d, a[i]), 0);
	for (i = 0; i < 200000; i += 3)
		a[i] = must_alloc(d, K4, M48, 0);
	assert_int_equal(uiommu_iova_check(d), 0);
	assert_int_equal(stats(d).live_ranges, 200000);
	uiommu_iova_domain_destroy(d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* Ranges without a record (the caches off, an uncached size, a
 * reservation) are validated from the tree alone: a free that does not
 * name the start of a live one is refused and changes nothing. */
static void test_free_of_uncached_ranges_is_exact(void **state)
{
	static const unsigned int caches[] = { UIOMMU_IOVA_CACHE_OFF, 5 };
	unsigned int k;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	for (k = 0; k < 2; k++) {
		struct uiommu_iova_domain *d = mkdom(0x100000, M48, K4, caches[k]);
		struct uiommu_iova_stats before;
		struct uiommu_iova_range r;
		uint64_t a, b;

		a = must_alloc(d, 3 * K4, M32, 0);
		b = must_alloc(d, 100 * K4, M32, 0);
		assert_int_equal(uiommu_iova_reserve(d, 0x200000, 0x2fffff), 0);
		before = stats(d);
		EXPECT_BAD(uiommu_iova_free(d, 0x200000), -ENOENT);
		EXPECT_BAD(uiommu_iova_free(d, 0x201000), -ENOENT);
		EXPECT_BAD(uiommu_iova_free(d, a + K4), -ENOENT);
		EXPECT_BAD(uiommu_iova_free(d, b + 99 * K4), -ENOENT);
		EXPECT_BAD(uiommu_iova_free(d, M48 + 1 - K4), -ENOENT);
		assert_int_equal(uiommu_iova_find(d, a + 2 * K4, &r), 0);
		assert_int_equal(r.first, a);
		/* (with the caches on, 3 granules take a 4-granule block) */
		assert_int_equal(r.last, a + (k ? 4 : 3) * K4 - 1);
		assert_int_equal(r.kind, UIOMMU_IOVA_LIVE);
		assert_int_equal(uiommu_iova_find(d, 0x2ff000, &r), 0);
		assert_int_equal(r.first, 0x200000);
		assert_int_equal(r.last, 0x2fffff);
		assert_int_equal(r.kind, UIOMMU_IOVA_RESERVED);
		assert_int_equal(uiommu_iova_free(d, a), 0);
		before = stats(d);
		EXPECT_BAD(uiommu_iova_free(d, a), -ENOENT);
		assert_int_equal(uiommu_iova_free(d, b), 0);
		before = stats(d);
		EXPECT_BAD(uiommu_iova_free(d, b), -ENOENT);
		assert_int_equal(before.live_ranges, 0);
		uiommu_iova_domain_destroy(d);
	}
	tu_log_release();
}

/* The cached fast path (no flags, limit at or above the space) checks
 * the same things: here in a space smaller than the largest cached size. */
static void test_fast_path_bad_input(void **state)
{
	struct uiommu_iova_domain *d = mkdom(0x10000, 0x17fff, K4, 5);
	struct uiommu_iova_stats before;
	uint64_t iova, a;

	(void)state;
	before = stats(d);
	tu_log_capture(UIOMMU_LOG_ERR);
	EXPECT_BAD(uiommu_iova_alloc(d, 16 * K4, M48, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, 0, M48, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, 0x800, M48, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, K4 + 0x800, M48, 0, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, K4, M48, 0x80, &iova), -EINVAL);
	EXPECT_BAD(uiommu_iova_alloc(d, K4, M48, 0, NULL), -EINVAL);
	tu_log_release();
	/* The whole space in one request, then nothing is left. */
	a = must_alloc(d, 8 * K4, M48, 0);
	assert_int_equal(a, 0x10000);
	assert_int_equal(uiommu_iova_alloc(d, K4, M48, 0, &iova), -ENOSPC);
	assert_int_equal(uiommu_iova_free(d, a), 0);
	/* Cached now: the next request of its class reuses it. */
	assert_int_equal(must_alloc(d, 5 * K4, M48, 0), a);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
}

/* --------------------------------------------------------------- caches */

static void test_cache_reuses_and_counts(void **state)
{
	struct uiommu_iova_domain *d;
	struct uiommu_iova_stats st;
	uint64_t a, b;

	(void)state;
	tu_alloc_install(0);
	d = mkdom(0, M48, K4, 5);
	a = must_alloc(d, 3 * K4, M32, 0);	/* rounded to 4, aligned */
	assert_int_equal(a, 0xffffc000ull);
	assert_int_equal(uiommu_iova_free(d, a), 0);
	st = stats(d);
	assert_int_equal(st.live_ranges, 0);
	assert_int_equal(st.cached_ranges, 1);
	assert_int_equal(st.cached_granules, 4);
	b = must_alloc(d, 4 * K4, M32, UIOMMU_IOVA_SIZE_ALIGNED);
	assert_int_equal(b, a);
	st = stats(d);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cache_misses, 1);
	assert_int_equal(st.live_granules, 4);
	/* A cached range above a narrower limit is not handed out. */
	assert_int_equal(uiommu_iova_free(d, b), 0);
	assert_int_equal(must_alloc(d, 4 * K4, 0xffffbfffull, 0),
			 0xffff8000ull);
	/* BEST_FIT and larger sizes bypass the cache. */
	assert_int_equal(must_alloc(d, 64 * K4, M32, 0), 0xfffb8000ull);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

static void test_cache_flushed_when_tree_is_full(void **state)
{
	/* 64 granules, all in cached ranges of one granule. */
	struct uiommu_iova_domain *d;
	uint64_t a[64], iova;
	int i;

	(void)state;
	tu_alloc_install(0);
	d = mkdom(0, 0x3ffff, K4, 5);
	for (i = 0; i < 64; i++)
		a[i] = must_alloc(d, K4, M48, 0);
	assert_int_equal(uiommu_iova_alloc(d, K4, M48, 0, &iova), -ENOSPC);
	for (i = 0; i < 64; i++)
		assert_int_equal(uiommu_iova_free(d, a[i]), 0);
	assert_int_equal(stats(d).free_granules, 0);
	/* Only the tree can serve 64 granules: the caches are flushed. */
	assert_int_equal(must_alloc(d, 64 * K4, M48, 0), 0);
	assert_int_equal(stats(d).cached_ranges, 0);
	assert_int_equal(uiommu_iova_free(d, 0), 0);
	/* A reservation flushes too. */
	a[0] = must_alloc(d, K4, M48, 0);
	assert_int_equal(uiommu_iova_free(d, a[0]), 0);
	assert_int_equal(uiommu_iova_reserve(d, a[0], a[0] + K4 - 1), 0);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

static void test_many_domains_per_thread(void **state)
{
	struct uiommu_iova_domain *d[9];
	uint64_t iova;
	int i, round;

	(void)state;
	tu_alloc_install(0);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 9; i++)
			d[i] = mkdom(0, M32, K4, 4);
		for (i = 0; i < 9 * 4; i++) {
			iova = must_alloc(d[i % 9], K4, M32, 0);
			assert_int_equal(uiommu_iova_free(d[i % 9], iova), 0);
		}
		for (i = 0; i < 9; i++) {
			assert_int_equal(uiommu_iova_check(d[i]), 0);
			uiommu_iova_domain_destroy(d[i]);
		}
	}
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* Many magazines: exercises depot exchanges and overflow draining. */
static void test_cache_depot_churn(void **state)
{
	struct uiommu_iova_domain *d;
	static uint64_t a[4000];
	int i, round;

	(void)state;
	tu_alloc_install(0);
	d = mkdom(0, M48, K4, 3);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 4000; i++)
			a[i] = must_alloc(d, (uint64_t)(1 + i % 8) * K4, M48, 0);
		for (i = 0; i < 4000; i++)
			assert_int_equal(uiommu_iova_free(d, a[i]), 0);
		assert_int_equal(uiommu_iova_check(d), 0);
		assert_int_equal(stats(d).live_ranges, 0);
	}
	uiommu_iova_domain_destroy(d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* ----------------------------------------------- differential test */

/* The reference: a sorted array of [first, last] pfn ranges. */
struct mrange {
	uint64_t first, last;
	int reserved;
};

struct model {
	struct mrange r[4096];
	unsigned int n;
	uint64_t start, last;	/* pfns */
};

static unsigned int fls64_(uint64_t x)
{
	return 63u - (unsigned int)__builtin_clzll(x);
}

static int m_fit(uint64_t base, uint64_t top, uint64_t pages, int order,
		 uint64_t *s)
{
	uint64_t x;

	if (top < base || top - base + 1 < pages)
		return 0;
	x = top - pages + 1;
	if (order >= 0)
		x &= ~((1ull << order) - 1);
	if (x < base)
		return 0;
	*s = x;
	return 1;
}

/* Gap i lies below range i (i == n: the top gap). */
static void m_gap(const struct model *m, unsigned int i, uint64_t *b,
		  uint64_t *t)
{
	*b = i ? m->r[i - 1].last + 1 : m->start;
	*t = i < m->n ? m->r[i].first - 1 : m->last;
	if (i < m->n && m->r[i].first == 0)
		*t = 0, *b = 1;	/* empty */
}

static int m_alloc(const struct model *m, uint64_t pages, uint64_t limit,
		   int order, int best, uint64_t *s)
{
	unsigned int need = order >= 0 ? (unsigned int)order + 1 :
			    fls64_(pages) + ((pages & (pages - 1)) != 0);
	int i, best_i = -1;
	unsigned int best_c = 99;
	uint64_t b, t;

	if (best) {
		for (i = (int)m->n; i >= 0; i--) {
			unsigned int c;

			m_gap(m, (unsigned int)i, &b, &t);
			if (t > limit)
				t = limit;
			if (t < b || b > limit)
				continue;
			c = fls64_(t - b + 1);
			if (c >= need && c < best_c) {
				best_c = c;
				best_i = i;
			}
		}
		if (best_i >= 0) {
			m_gap(m, (unsigned int)best_i, &b, &t);
			if (t > limit)
				t = limit;
			assert_true(m_fit(b, t, pages, order, s));
			return 0;
		}
	}
	for (i = (int)m->n; i >= 0; i--) {
		m_gap(m, (unsigned int)i, &b, &t);
		if (b > limit)
			continue;
		if (t > limit)
			t = limit;
		if (m_fit(b, t, pages, order, s))
			return 0;
	}
	return -ENOSPC;
}

static void m_insert(struct model *m, uint64_t first, uint64_t last, int resv)
{
	unsigned int i = 0;

	while (i < m->n && m->r[i].first < first)
		i++;
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(m->r[0]));
	m->r[i] = (struct mrange){ first, last, resv };
	m->n++;
	assert_true(m->n < 4096);
}

static void m_remove(struct model *m, unsigned int i)
{
	memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof(m->r[0]));
	m->n--;
}

static int m_reserve(struct model *m, uint64_t lo, uint64_t hi)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (!m->r[i].reserved && m->r[i].first <= hi &&
		    lo <= m->r[i].last)
			return -EBUSY;
	for (i = 0; i < m->n;) {
		if (m->r[i].reserved && m->r[i].first <= hi + 1 &&
		    lo <= m->r[i].last + 1) {
			if (m->r[i].first < lo)
				lo = m->r[i].first;
			if (m->r[i].last > hi)
				hi = m->r[i].last;
			m_remove(m, i);
		} else {
			i++;
		}
	}
	m_insert(m, lo, hi, 1);
	return 0;
}

static int m_find_live(const struct model *m, uint64_t pfn)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		if (m->r[i].first == pfn && !m->r[i].reserved)
			return (int)i;
	return -1;
}

static struct model model;

struct walk_big {
	struct uiommu_iova_range r[4096];
	unsigned int n;
};

static int record_big(void *opaque, const struct uiommu_iova_range *r)
{
	struct walk_big *w = opaque;

	assert_true(w->n < 4096);
	w->r[w->n++] = *r;
	return 0;
}

static void compare_walk(struct uiommu_iova_domain *d, const struct model *m)
{
	static struct walk_big w;
	unsigned int i;

	w.n = 0;
	assert_int_equal(uiommu_iova_for_each(d, UIOMMU_IOVA_LIVE |
					      UIOMMU_IOVA_RESERVED,
					      record_big, &w), 0);
	assert_int_equal(w.n, m->n);
	for (i = 0; i < m->n; i++) {
		assert_int_equal(w.r[i].first >> 12, m->r[i].first);
		assert_int_equal(w.r[i].last >> 12, m->r[i].last);
		assert_int_equal(w.r[i].kind, m->r[i].reserved ?
				 UIOMMU_IOVA_RESERVED : UIOMMU_IOVA_LIVE);
	}
}

/*
 * 100,000+ random operations, cache off, compared address for address with
 * the model: top-down, size-aligned and good-fit allocations under random
 * limits, frees (valid and not), reservations; the invariant checker after
 * every op for the first 30,000, then every 101.
 */
static void test_differential_against_sorted_array(void **state)
{
	const uint64_t start = 0x100, last = 0x23ff;	/* pfns */
	struct uiommu_iova_domain *d =
		mkdom(start << 12, ((last + 1) << 12) - 1, K4,
		      UIOMMU_IOVA_CACHE_OFF);
	uint64_t seed = tu_seed_from_env(0x10fa11ce);
	unsigned long op, nalloc = 0, nspc = 0;
	struct model *m = &model;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	fprintf(stderr, "[ seed ] UIOMMU_TEST_SEED=0x%" PRIx64 "\n", seed);
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->last = last;
	for (op = 0; op < 120000; op++) {
		unsigned int what = (unsigned int)tu_rand_range(0, 99);

		if (what < 55) {
			uint64_t pages = tu_rand_range(1, 64), limit, want = 0, got = 0;
			unsigned int flags = 0;
			int order = -1, best = 0, r1, r2;

			if (tu_rand_range(0, 3) == 0) {
				pages = 1ull << tu_rand_range(0, 6);
				flags |= UIOMMU_IOVA_SIZE_ALIGNED;
				order = (int)fls64_(pages);
			}
			if (tu_rand_range(0, 3) == 0) {
				flags |= UIOMMU_IOVA_BEST_FIT;
				best = 1;
			}
			limit = tu_rand_range(0, 2) ? (last << 12) | 0xfff :
				tu_rand_range((start << 12) + 0xfff,
					      (last << 12) + 0xfff);
			r1 = m_alloc(m, pages, ((limit + 1) >> 12) - 1, order,
				     best, &want);
			r2 = uiommu_iova_alloc(d, pages << 12, limit, flags,
					       &got);
			if (r1 != r2 || (!r1 && want << 12 != got))
				fail_msg("op %lu: alloc 0x%" PRIx64 " pages limit 0x%" PRIx64
					 " flags %u: model %d 0x%" PRIx64 ", domain %d 0x%" PRIx64
					 " (seed 0x%" PRIx64 ")",
					 op, pages, limit, flags, r1, want << 12,
					 r2, got, seed);
			if (!r1) {
				m_insert(m, want, want + pages - 1, 0);
				nalloc++;
			} else {
				nspc++;
			}
		} else if (what < 95) {
			unsigned int i;
			int k;

			if (!m->n)
				continue;
			i = (unsigned int)tu_rand_range(0, m->n - 1);
			if (m->r[i].reserved || tu_rand_range(0, 19) == 0) {
				/* Not the start of a live range. */
				uint64_t pfn = m->r[i].reserved ?
					m->r[i].first : m->r[i].first + 1;

				k = m_find_live(m, pfn);
				assert_int_equal(uiommu_iova_free(d, pfn << 12),
						 k >= 0 ? 0 : -ENOENT);
				if (k >= 0)
					m_remove(m, (unsigned int)k);
				continue;
			}
			assert_int_equal(uiommu_iova_free(d, m->r[i].first << 12), 0);
			m_remove(m, i);
		} else {
			uint64_t lo = tu_rand_range(start, last);
			uint64_t hi = lo + tu_rand_range(0, 8);

			if (hi > last)
				hi = last;
			assert_int_equal(uiommu_iova_reserve(d, lo << 12,
							     (hi << 12) | 0xfff),
					 m_reserve(m, lo, hi));
		}
		/* The checker after every op for a while (a transiently stale
		 * subtree summary heals on later updates), then regularly. */
		if (op < 30000 || op % 101 == 0)
			assert_int_equal(uiommu_iova_check(d), 0);
		if (op % 997 == 0)
			compare_walk(d, m);
		if (op % 20000 == 19999) {
			/* Start again so reservations do not take over. */
			uiommu_iova_domain_destroy(d);
			d = mkdom(start << 12, ((last + 1) << 12) - 1, K4,
				  UIOMMU_IOVA_CACHE_OFF);
			m->n = 0;
		}
	}
	assert_true(nalloc > 10000);
	assert_true(nspc > 100);
	uiommu_iova_domain_destroy(d);
	tu_log_release();
}

/* Random churn with the caches on: every answer must be consistent with a
 * model of who holds what; addresses are the allocator's choice. */
static void test_random_with_caches(void **state)
{
	const uint64_t start = 0x100, last = 0x13ff;
	struct uiommu_iova_domain *d =
		mkdom(start << 12, ((last + 1) << 12) - 1, K4, 3);
	uint64_t seed = tu_seed_from_env(0xcac4e);
	static uint8_t owner[0x1400];	/* 1: live start, 2: live body */
	static uint64_t live[4096];
	unsigned int nlive = 0;
	unsigned long op;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	fprintf(stderr, "[ seed ] UIOMMU_TEST_SEED=0x%" PRIx64 "\n", seed);
	memset(owner, 0, sizeof(owner));
	for (op = 0; op < 60000; op++) {
		if (tu_rand_range(0, 1) || !nlive) {
			uint64_t pages = tu_rand_range(1, 12), iova, p, i;
			uint64_t limit = tu_rand_range(0, 1) ? ~0ull :
				tu_rand_range((start << 12) + 0xfff,
					      (last << 12) | 0xfff);
			int r = uiommu_iova_alloc(d, pages << 12, limit, 0,
						  &iova);

			if (r == -ENOSPC)
				continue;
			assert_int_equal(r, 0);
			assert_true(iova + (pages << 12) - 1 <= limit);
			p = iova >> 12;
			assert_true(p >= start && p + pages - 1 <= last);
			for (i = 0; i < pages; i++) {
				assert_int_equal(owner[p + i], 0);
				owner[p + i] = i ? 2 : 1;
			}
			live[nlive++] = p;
		} else {
			unsigned int k = (unsigned int)tu_rand_range(0, nlive - 1);
			uint64_t p = live[k], i;

			if (tu_rand_range(0, 9) == 0 && p + 1 <= last &&
			    owner[p + 1] != 1)
				assert_int_equal(uiommu_iova_free(d, (p + 1) << 12),
						 -ENOENT);
			assert_int_equal(uiommu_iova_free(d, p << 12), 0);
			assert_int_equal(uiommu_iova_free(d, p << 12), -ENOENT);
			for (i = p; i <= last && (i == p || owner[i] == 2); i++)
				owner[i] = 0;
			live[k] = live[--nlive];
		}
		if (op % 1999 == 0)
			assert_int_equal(uiommu_iova_check(d), 0);
	}
	uiommu_iova_domain_destroy(d);
	tu_log_release();
}

/* ------------------------------------------------------------ fail-Nth */

struct sweep {
	struct uiommu_iova_domain *d;
	struct uiommu_iova_stats before;
	long blocks;
	uint64_t arg;
	int cached;
};

static int op_create(void *ctx)
{
	struct uiommu_iova_config cfg = { 0, M48, K4, *(unsigned int *)ctx };
	struct uiommu_iova_domain *d;
	int ret = uiommu_iova_domain_create(&cfg, &d);

	if (!ret)
		uiommu_iova_domain_destroy(d);
	return ret;
}

static void check_create(void *ctx, int ret)
{
	(void)ctx;
	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void test_fail_nth_create(void **state)
{
	unsigned int cache;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	tu_alloc_install(0);
	cache = UIOMMU_IOVA_CACHE_OFF;
	assert_true(tu_fail_nth_sweep(&cache, op_create, check_create, NULL) >= 2);
	cache = 5;
	assert_true(tu_fail_nth_sweep(&cache, op_create, check_create, NULL) >= 3);
	tu_alloc_uninstall();
	tu_log_release();
}

/* Uncached allocations into a new domain after which the next one needs a
 * new pool block: found by replaying them (the tree is deterministic). */
static int fills_before_block(unsigned int cache)
{
	struct uiommu_iova_domain *d = mkdom(0, M48, K4, cache);
	long blocks = tu_alloc_live_blocks();
	uint64_t iova;
	int i;

	for (i = 0;; i++) {
		assert_int_equal(uiommu_iova_alloc(d, 128 * K4, M48, 0, &iova),
				 0);
		if (tu_alloc_live_blocks() != blocks)
			break;
	}
	uiommu_iova_domain_destroy(d);
	return i;
}

/* The state the sweeps start from: the node pool exactly used up, so the
 * next tree insertion must allocate. */
static void sweep_setup(struct sweep *s, unsigned int cache)
{
	int i, n = fills_before_block(cache);
	uint64_t iova;

	s->d = mkdom(0, M48, K4, cache);
	for (i = 0; i < n; i++)
		assert_int_equal(uiommu_iova_alloc(s->d, 128 * K4, M48, 0,
						   &iova), 0);
	s->before = stats(s->d);
	s->blocks = tu_alloc_live_blocks();
}

static void check_unchanged(void *ctx, int ret)
{
	struct sweep *s = ctx;

	if (s->cached && ret == 0)
		return;	/* a cache allocation failed: served uncached */
	assert_int_equal(ret, -ENOMEM);
	assert_unchanged(s->d, &s->before);
	if (!s->cached)	/* else a thread cache may have been created */
		assert_int_equal(tu_alloc_live_blocks(), s->blocks);
}

static void reset_sweep(void *ctx)
{
	struct sweep *s = ctx;

	uiommu_iova_domain_destroy(s->d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	sweep_setup(s, s->cached ? 5 : UIOMMU_IOVA_CACHE_OFF);
}

static int op_alloc(void *ctx)
{
	struct sweep *s = ctx;
	uint64_t iova;

	return uiommu_iova_alloc(s->d, s->arg, M32, 0, &iova);
}

static int op_reserve(void *ctx)
{
	struct sweep *s = ctx;

	return uiommu_iova_reserve(s->d, 0x8000000, 0x80fffff);
}

/* Cache refill: first use by this thread, magazine exchanges, depot. */
static int op_cache_cycle(void *ctx)
{
	struct sweep *s = ctx;
	static uint64_t a[300];
	int i, ret;

	for (i = 0; i < 300; i++) {
		ret = uiommu_iova_alloc(s->d, K4, M32, 0, &a[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < 300; i++) {
		ret = uiommu_iova_free(s->d, a[i]);
		if (ret)
			return ret;
	}
	assert_int_equal(uiommu_iova_check(s->d), 0);
	assert_int_equal(stats(s->d).live_ranges, s->before.live_ranges);
	return 0;
}

static void check_cycle(void *ctx, int ret)
{
	struct sweep *s = ctx;

	/* Each failure is either absorbed (uncached fallback) or -ENOMEM
	 * from the tree, with nothing leaked either way. */
	if (ret)
		assert_int_equal(ret, -ENOMEM);
	assert_int_equal(uiommu_iova_check(s->d), 0);
}

static void test_fail_nth_alloc_reserve_and_caches(void **state)
{
	struct sweep s = { 0 };

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	tu_alloc_install(0);
	sweep_setup(&s, UIOMMU_IOVA_CACHE_OFF);
	s.arg = K4;
	assert_int_equal(tu_fail_nth_sweep(&s, op_alloc, check_unchanged,
					   reset_sweep), 1);
	reset_sweep(&s);
	assert_int_equal(tu_fail_nth_sweep(&s, op_reserve, check_unchanged,
					   reset_sweep), 1);
	uiommu_iova_domain_destroy(s.d);

	s.cached = 1;
	sweep_setup(&s, 5);
	s.arg = 128 * K4;	/* uncached size with caches on */
	assert_int_equal(tu_fail_nth_sweep(&s, op_alloc, check_unchanged,
					   reset_sweep), 1);
	reset_sweep(&s);
	s.arg = K4;		/* first cached alloc: tcache + tree node */
	assert_true(tu_fail_nth_sweep(&s, op_alloc, check_unchanged,
				      reset_sweep) >= 1);
	reset_sweep(&s);
	assert_true(tu_fail_nth_sweep(&s, op_cache_cycle, check_cycle,
				      reset_sweep) >= 5);
	uiommu_iova_domain_destroy(s.d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
	tu_log_release();
}

/*
 * The first allocation of each cached allocation fails (unless the
 * previous one failed the op): each
 * either succeeds or returns -ENOMEM with the domain unchanged,
 * the domain stays consistent, and every range frees exactly once.  (The
 * free-by-address hash used to let a failed grow pass: after 16 of them
 * its table was full and the next insertion looped forever.)
 */
static void test_cached_allocs_with_every_first_allocation_failing(void **state)
{
	struct uiommu_iova_domain *d;
	static uint64_t live[300];
	unsigned int n = 0, i, tries;
	uint64_t iova;
	int r = 0;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	tu_alloc_install(0);
	d = mkdom(0, (1ull << 32) - 1, K4, 0);
	/* Attach this thread's cache. */
	assert_int_equal(uiommu_iova_free(d, must_alloc(d, K4, ~0ull, 0)), 0);
	for (tries = 0; n < 300; tries++) {
		struct uiommu_iova_stats before, after;

		assert_true(tries < 3000);
		assert_int_equal(uiommu_iova_get_stats(d, &before), 0);
		/* Fail the op's first allocation, unless that just failed
		 * the op (then let it through, to make progress). */
		tu_alloc_install(r ? 0 : 1);
		r = uiommu_iova_alloc(d, K4, ~0ull, 0, &iova);
		tu_alloc_install(0);
		assert_int_equal(uiommu_iova_check(d), 0);
		if (r) {
			assert_int_equal(r, -ENOMEM);
			assert_int_equal(uiommu_iova_get_stats(d, &after), 0);
			/* The space is unchanged (the miss counter counts
			 * requests, so it may move). */
			assert_memory_equal(&before, &after,
					    offsetof(struct uiommu_iova_stats,
						     cache_hits));
			continue;
		}
		live[n++] = iova;
	}
	for (i = 0; i < n; i++)
		assert_int_equal(uiommu_iova_free(d, live[i]), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(uiommu_iova_free(d, live[i]), -ENOENT);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
	tu_log_release();
}

/* Fill @out[0..n) with distinct pfns whose hash mixes agree in their top
 * 22 bits: they share home slot and 10-bit tag in any table of up to 2^12
 * slots. */
static void colliding_pfns(uint64_t *out, unsigned int n)
{
	uint64_t top = uio_iova_hash_mix(1) >> 42, pfn;
	unsigned int k = 0;

	for (pfn = 1; k < n; pfn++)
		if (uio_iova_hash_mix(pfn) >> 42 == top)
			out[k++] = pfn;
}

/*
 * One-word hash slots carry only a 10-bit tag of the key: keys that share
 * home slot and tag must still each find their own record (the match is
 * confirmed against the record's pfn), and a free's claim must take the
 * record of its own key only, whichever slot of the run holds it.  A key
 * of the same home and tag that is not in the table must find and claim
 * nothing, and removing any of them must leave the others reachable.
 */
static void test_hash_keys_sharing_home_slot_and_tag(void **state)
{
	enum { N = 5 };
	static struct iova_node rec[N] __attribute__((aligned(64)));
	struct uiommu_iova_domain *d;
	uint64_t pfn[N + 1], where, st;
	unsigned int i, j;

	(void)state;
	colliding_pfns(pfn, N + 1);
	d = mkdom(0, (1ull << 48) - 1, K4, 5);
	uio_lock(&d->tree_lock);
	for (i = 0; i < N; i++) {
		rec[i].state = node_state(pfn[i], 0, ST_CACHED);
		assert_int_equal(uio_iova_hash_reserve(d), 0);
		uio_iova_hash_insert(d, &rec[i]);
	}
	assert_true(d->hash->bits <= 6);
	assert_null(uio_iova_hash_check(d, &where));
	for (i = 0; i < N; i++) {
		assert_ptr_equal(uio_iova_hash_find(d, pfn[i], &st), &rec[i]);
		assert_int_equal(st, rec[i].state);
	}
	assert_null(uio_iova_hash_find(d, pfn[N], &st));
	/* Claims: each key's own record once, LIVE -> CACHED, nothing else. */
	for (i = 0; i < N; i++)
		rec[i].state = node_state(pfn[i], 0, ST_LIVE);
	assert_null(uio_iova_hash_claim(d, pfn[N], &st));
	for (i = 0; i < N; i++) {
		struct iova_node *n = NULL;
		uint64_t live = 0;
		bool home = uio_iova_hash_claim_home(d, pfn[i], &n, &live);

		/* Only the key in the run's first slot is claimed there. */
		if (home) {
			assert_ptr_equal(n, &rec[i]);
		} else {
			n = uio_iova_hash_claim(d, pfn[i], &live);
			assert_ptr_equal(n, &rec[i]);
		}
		assert_int_equal(live, node_state(pfn[i], 0, ST_LIVE));
		for (j = 0; j < N; j++)
			assert_int_equal(rec[j].state,
					 node_state(pfn[j], 0, j <= i ?
						    ST_CACHED : ST_LIVE));
		assert_null(uio_iova_hash_claim(d, pfn[i], &live));
		assert_false(uio_iova_hash_claim_home(d, pfn[i], &n, &live));
	}
	assert_null(uio_iova_hash_check(d, &where));
	/* Remove from the middle of the run, then the rest. */
	for (i = 0; i < N; i++) {
		unsigned int victim = (i + 2) % N;

		uio_iova_hash_remove(d, &rec[victim]);
		rec[victim].state = ST_FREE;
		assert_null(uio_iova_hash_find(d, pfn[victim], &st));
		for (j = 0; j < N; j++)
			if (rec[j].state != ST_FREE)
				assert_ptr_equal(uio_iova_hash_find(d, pfn[j],
								    &st),
						 &rec[j]);
		assert_null(uio_iova_hash_check(d, &where));
	}
	assert_int_equal(d->hcount, 0);
	uio_unlock(&d->tree_lock);
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
}

/*
 * A slot's tag is the 10 bits of the pfn's mix just below the home index,
 * for every table size a domain can reach: were it taken from elsewhere
 * (or shifted out), keys of one home slot would share it and every probe
 * would try their records with a compare-and-swap.
 */
static void test_hash_tag_is_the_bits_below_the_index(void **state)
{
	unsigned int bits, k;

	(void)state;
	for (bits = 4; bits <= 48; bits++) {
		for (k = 0; k < 64; k++) {
			uint64_t pfn = (uint64_t)k * 0x10001 + bits, mix;

			mix = uio_iova_hash_mix(pfn);
			assert_int_equal(uio_iova_hash_tag(pfn, bits),
					 ((mix >> (64 - bits - 10)) & 0x3ff) << 6);
		}
	}
}

/* Enough live cacheable ranges for a table of more than 2^16 slots (the
 * tag's shift depends on the size; UBSan checks it): each is found and
 * freed once, a second free of any is refused. */
static void test_large_hash_frees_through_the_cache(void **state)
{
	enum { N = 12000 };
	struct uiommu_iova_domain *d = mkdom(0, (1ull << 48) - 1, K4, 5);
	struct uiommu_iova_stats st;
	uint64_t *iova = calloc(N, sizeof(*iova));
	unsigned int i;

	(void)state;
	assert_non_null(iova);
	for (i = 0; i < N; i++)
		iova[i] = must_alloc(d, K4 << (i % 6), ~0ull, 0);
	assert_true(d->hash->bits > 16);
	assert_int_equal(uiommu_iova_check(d), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(uiommu_iova_free(d, iova[i]), 0);
	for (i = 0; i < N; i += 997)
		assert_int_equal(uiommu_iova_free(d, iova[i]), -ENOENT);
	assert_int_equal(uiommu_iova_get_stats(d, &st), 0);
	assert_int_equal(st.live_ranges, 0);
	assert_true(st.cached_ranges > 0);	/* the rest went back */
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
	free(iova);
}

/* The checker verifies every used hash slot: a wrong tag, or a slot that
 * went missing, is reported as corruption. */
static void test_check_catches_a_bad_hash_slot(void **state)
{
	struct uiommu_iova_domain *d;
	uint64_t live[3], saved;
	size_t i, used = 0;
	int k;

	(void)state;
	d = mkdom(0, (1ull << 32) - 1, K4, 5);
	for (k = 0; k < 3; k++)
		live[k] = must_alloc(d, K4 << k, ~0ull, 0);
	assert_int_equal(uiommu_iova_free(d, live[1]), 0);	/* cached */
	assert_int_equal(uiommu_iova_check(d), 0);
	while (!d->hash->s[used])
		used++;
	saved = d->hash->s[used];
	tu_log_capture(UIOMMU_LOG_ERR);
	for (i = 0; i < 2; i++) {
		/* Once a wrong tag, once an emptied slot. */
		d->hash->s[used] = i ? 0 : saved ^ 1;
		assert_int_equal(uiommu_iova_check(d), -EUCLEAN);
		assert_non_null(strstr(tu_log_text(), "domain check failed"));
		d->hash->s[used] = saved;
		assert_int_equal(uiommu_iova_check(d), 0);
	}
	assert_int_equal(uiommu_iova_free(d, live[0]), 0);
	assert_int_equal(uiommu_iova_free(d, live[2]), 0);
	assert_int_equal(uiommu_iova_free(d, live[1]), -ENOENT);
	tu_log_release();
	uiommu_iova_domain_destroy(d);
}

/* The checker accounts for every record: one lost from the never-used
 * ones, or a pool link that loops, is reported as corruption. */
static void test_check_catches_a_lost_record(void **state)
{
	struct uiommu_iova_domain *d;
	struct iova_node *saved;
	uint64_t iova, spare;

	(void)state;
	d = mkdom(0, (1ull << 32) - 1, K4, 5);
	iova = must_alloc(d, K4, ~0ull, 0);
	spare = must_alloc(d, 2 * K4, ~0ull, 0);
	assert_int_equal(uiommu_iova_check(d), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	d->nfresh--;
	assert_int_equal(uiommu_iova_check(d), -EUCLEAN);
	assert_non_null(strstr(tu_log_text(), "records lost"));
	d->nfresh++;
	assert_int_equal(uiommu_iova_check(d), 0);
	/* A pool of one record that links to itself. */
	saved = d->pool;
	d->pool = d->fresh;
	d->fresh->state = (uint64_t)(uintptr_t)d->fresh;
	assert_int_equal(uiommu_iova_check(d), -EUCLEAN);
	assert_non_null(strstr(tu_log_text(), "record pool is corrupt"));
	d->fresh->state = 0;
	d->pool = saved;
	tu_log_release();
	assert_int_equal(uiommu_iova_check(d), 0);
	assert_int_equal(uiommu_iova_free(d, iova), 0);
	assert_int_equal(uiommu_iova_free(d, spare), 0);
	uiommu_iova_domain_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_alloc_under_32bit_mask_is_fffff000),
		cmocka_unit_test(test_largest_free_includes_the_lowest_gap),
		cmocka_unit_test(test_same_with_cache_on),
		cmocka_unit_test(test_exhaustion_and_reuse),
		cmocka_unit_test(test_size_aligned_and_best_fit),
		cmocka_unit_test(test_late_aligned_and_best_fit_requests),
		cmocka_unit_test(test_larger_granules),
		cmocka_unit_test(test_reservations_merge_and_are_skipped),
		cmocka_unit_test(test_for_each_tiles_the_space_in_order),
		cmocka_unit_test(test_bad_input_changes_nothing),
		cmocka_unit_test(test_fast_path_bad_input),
		cmocka_unit_test(test_large_tree_uses_big_blocks),
		cmocka_unit_test(test_free_of_uncached_ranges_is_exact),
		cmocka_unit_test(test_cache_reuses_and_counts),
		cmocka_unit_test(test_cache_flushed_when_tree_is_full),
		cmocka_unit_test(test_many_domains_per_thread),
		cmocka_unit_test(test_cache_depot_churn),
		cmocka_unit_test(test_differential_against_sorted_array),
		cmocka_unit_test(test_random_with_caches),
		cmocka_unit_test(test_fail_nth_create),
		cmocka_unit_test(test_fail_nth_alloc_reserve_and_caches),
		cmocka_unit_test(test_cached_allocs_with_every_first_allocation_failing),
		cmocka_unit_test(test_hash_keys_sharing_home_slot_and_tag),
		cmocka_unit_test(test_hash_tag_is_the_bits_below_the_index),
		cmocka_unit_test(test_large_hash_frees_through_the_cache),
		cmocka_unit_test(test_check_catches_a_bad_hash_slot),
		cmocka_unit_test(test_check_catches_a_lost_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
