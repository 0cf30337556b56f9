// SPDX-License-Identifier: MIT
/*
 * Threaded tests of the IOVA allocator (suite 'threads', run under TSan by
 * CI): allocate on one thread and free on another, both at once; threads
 * that exit with full caches; a domain destroyed while other threads' TLS
 * still remembers it.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/iova.h>

#include "iova-tree.h"

#define K4 0x1000ull

/* cmocka's asserts must not fail off the main thread: report and abort. */
#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);        \
		if (a_ != b_) {                                            \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, a_, b_);           \
			abort();                                           \
		}                                                          \
	} while (0)
#define RING 1024
#define OPS 200000

/* Single-producer single-consumer ring of IOVAs. */
struct ring {
	uint64_t slot[RING];
	unsigned long head, tail;	/* atomics */
	struct uiommu_iova_domain *d;
	unsigned long enospc;
};

static void *producer(void *arg)
{
	struct ring *r = arg;
	unsigned long i;
	uint64_t iova;

	for (i = 0; i < OPS; i++) {
		uint64_t size = ((i * 7) % 12 + 1) * K4;
		int ret;

		while (__atomic_load_n(&r->head, __ATOMIC_RELAXED) -
		       __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= RING)
			sched_yield();
		ret = uiommu_iova_alloc(r->d, size, 0xffffffffull, 0, &iova);
		if (ret) {
			CHECK_EQ(ret, -ENOSPC);
			r->enospc++;
			i--;
			sched_yield();
			continue;
		}
		r->slot[r->head % RING] = iova;
		__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct ring *r = arg;
	unsigned long i;

	for (i = 0; i < OPS; i++) {
		uint64_t iova;

		while (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == r->tail)
			sched_yield();
		iova = r->slot[r->tail % RING];
		CHECK_EQ(uiommu_iova_free(r->d, iova), 0);
		/* (No double-free probe here: the producer may legitimately
		 * get the same address back in between.) */
		__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void run_remote_free(unsigned int cache, uint64_t last)
{
	struct uiommu_iova_config cfg = { 0, last, K4, cache };
	static struct ring r;
	struct uiommu_iova_stats st;
	pthread_t p, c;

	memset(&r, 0, sizeof(r));
	tu_alloc_install(0);
	assert_int_equal(uiommu_iova_domain_create(&cfg, &r.d), 0);
	assert_int_equal(pthread_create(&p, NULL, producer, &r), 0);
	assert_int_equal(pthread_create(&c, NULL, consumer, &r), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	assert_int_equal(uiommu_iova_check(r.d), 0);
	assert_int_equal(uiommu_iova_get_stats(r.d, &st), 0);
	assert_int_equal(st.live_ranges, 0);
	uiommu_iova_domain_destroy(r.d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

static void test_alloc_on_one_thread_free_on_another(void **state)
{
	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	run_remote_free(4, 0xffffffffffffull);		/* cached */
	run_remote_free(UIOMMU_IOVA_CACHE_OFF, 0xffffffffffffull);
	run_remote_free(4, 0x3ffffff);	/* tight: ENOSPC and flushes */
	tu_log_release();
}

struct both {
	struct uiommu_iova_domain *d;
	unsigned int seed;
};

/* Each thread allocates and frees its own ranges, all sizes. */
static void *churn(void *arg)
{
	struct both *b = arg;
	uint64_t held[64] = { 0 }, iova;
	unsigned long i;

	tu_rand_seed(b->seed);
	for (i = 0; i < OPS / 2; i++) {
		unsigned int k = (unsigned int)tu_rand_range(0, 63);

		if (held[k]) {
			CHECK_EQ(uiommu_iova_free(b->d, held[k]), 0);
			held[k] = 0;
		} else if (!uiommu_iova_alloc(b->d, tu_rand_range(1, 40) * K4,
					      tu_rand_range(0, 1) ? ~0ull :
					      0xffffffffull, 0, &iova)) {
			held[k] = iova;
		}
	}
	for (i = 0; i < 64; i++)
		if (held[i])
			CHECK_EQ(uiommu_iova_free(b->d, held[i]), 0);
	return NULL;	/* the thread's caches go back to the depot */
}

static void test_two_threads_churn_then_exit(void **state)
{
	struct uiommu_iova_config cfg = { 0, 0xffffffffffffull, K4, 5 };
	struct both b[2];
	struct uiommu_iova_stats st;
	pthread_t t[2];
	int i;

	(void)state;
	tu_alloc_install(0);
	assert_int_equal(uiommu_iova_domain_create(&cfg, &b[0].d), 0);
	b[1].d = b[0].d;
	for (i = 0; i < 2; i++) {
		b[i].seed = 1234u + (unsigned int)i;
		assert_int_equal(pthread_create(&t[i], NULL, churn, &b[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(uiommu_iova_check(b[0].d), 0);
	assert_int_equal(uiommu_iova_get_stats(b[0].d, &st), 0);
	assert_int_equal(st.live_ranges, 0);
	assert_true(st.cache_hits > 0);
	uiommu_iova_domain_destroy(b[0].d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* One range of each cached class, allocated and freed, then exit. */
static void *one_of_each_class(void *arg)
{
	struct uiommu_iova_domain *d = arg;
	uint64_t iova[6];
	int k;

	for (k = 0; k < 6; k++)
		CHECK_EQ(uiommu_iova_alloc(d, K4 << k, ~0ull, 0, &iova[k]), 0);
	for (k = 0; k < 6; k++)
		CHECK_EQ(uiommu_iova_free(d, iova[k]), 0);
	return NULL;
}

/*
 * A thread takes records for new cached ranges a pair of lines at a time
 * per class; when it exits, what it did not use goes back to the pool.
 * Threads that come and go then reuse records instead of growing the
 * domain's memory by a stash per thread and class.
 */
static void test_exiting_threads_give_back_their_records(void **state)
{
	struct uiommu_iova_config cfg = { 0, 0xffffffffffffull, K4, 5 };
	struct uiommu_iova_domain *d;
	long bytes_after_16 = 0;
	pthread_t t;
	int i;

	(void)state;
	tu_alloc_install(0);
	assert_int_equal(uiommu_iova_domain_create(&cfg, &d), 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(pthread_create(&t, NULL, one_of_each_class, d),
				 0);
		pthread_join(t, NULL);
		assert_int_equal(uiommu_iova_check(d), 0);
		if (i == 15)
			bytes_after_16 = tu_alloc_live_bytes();
	}
	/* Kept: 16 records x 6 classes x 48 threads would be 36 KiB. */
	assert_true(tu_alloc_live_bytes() - bytes_after_16 < 4096);
	uiommu_iova_domain_destroy(d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

struct checker {
	struct uiommu_iova_domain *d;
	int stop;		/* atomic */
	unsigned long rounds;
};

/* Check the domain over and over until told to stop. */
static void *check_loop(void *arg)
{
	struct checker *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		CHECK_EQ(uiommu_iova_check(c->d), 0);
		c->rounds++;
	}
	return NULL;
}

/*
 * The checker accounts for every record, those in threads' stashes
 * included, while threads exit and give their stashes back: it must never
 * see records in between (off the list of caches, not yet in the pool).
 */
static void test_check_while_threads_exit(void **state)
{
	struct uiommu_iova_config cfg = { 0, 0xffffffffffffull, K4, 5 };
	struct checker c = { 0 };
	pthread_t chk, t;
	int i;

	(void)state;
	assert_int_equal(uiommu_iova_domain_create(&cfg, &c.d), 0);
	assert_int_equal(pthread_create(&chk, NULL, check_loop, &c), 0);
	for (i = 0; i < 2000; i++) {
		assert_int_equal(pthread_create(&t, NULL, one_of_each_class,
						c.d), 0);
		pthread_join(t, NULL);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(chk, NULL);
	assert_true(c.rounds > 0);
	assert_int_equal(uiommu_iova_check(c.d), 0);
	uiommu_iova_domain_destroy(c.d);
}

/* Reads the stats in a loop: another thread's magazines are read as
 * they move between threads, the depot and the allocator (under ASan a
 * magazine freed under the reader would show; under TSan a plain store
 * to what it reads). */
static void *stats_loop(void *arg)
{
	struct checker *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		struct uiommu_iova_stats st;

		CHECK_EQ(uiommu_iova_get_stats(c->d, &st), 0);
		/* A racy sum, but of whole magazines of one class each:
		 * ranges of 1..16 granules (cache order 4). */
		if (st.cached_granules < st.cached_ranges ||
		    st.cached_granules > st.cached_ranges << 4)
			abort();
		c->rounds++;
	}
	return NULL;
}

/*
 * The stats count the ranges in every thread's magazines by reading them
 * while their owners push, pop and exchange them with the depot: with one
 * thread allocating and another freeing, full magazines go one way and
 * empty ones the other, and spare empties are freed.  When all is quiet
 * the count is exact.
 */
static void test_stats_while_magazines_move(void **state)
{
	struct uiommu_iova_config cfg = { 0, 0xffffffffffffull, K4, 4 };
	static struct ring r;
	struct checker c = { 0 };
	struct uiommu_iova_stats st;
	pthread_t p, q, s;

	(void)state;
	memset(&r, 0, sizeof(r));
	tu_alloc_install(0);
	assert_int_equal(uiommu_iova_domain_create(&cfg, &r.d), 0);
	c.d = r.d;
	assert_int_equal(pthread_create(&s, NULL, stats_loop, &c), 0);
	assert_int_equal(pthread_create(&p, NULL, producer, &r), 0);
	assert_int_equal(pthread_create(&q, NULL, consumer, &r), 0);
	pthread_join(p, NULL);
	pthread_join(q, NULL);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(s, NULL);
	assert_true(c.rounds > 0);
	assert_int_equal(uiommu_iova_check(r.d), 0);
	assert_int_equal(uiommu_iova_get_stats(r.d, &st), 0);
	assert_int_equal(st.live_ranges, 0);
	assert_int_equal(st.live_granules, 0);
	uiommu_iova_domain_destroy(r.d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* What a thread that never used a domain did with three frees. */
struct fresh_frees {
	struct uiommu_iova_domain *d;
	uint64_t bad, uncached, cached;
	int ret[3];
	bool attached[3];
};

static bool has_cache_of(const struct uiommu_iova_domain *d)
{
	return uio_iova_tslot_of(d)->id == d->id;
}

static void *free_three(void *arg)
{
	struct fresh_frees *f = arg;
	uint64_t a[3] = { f->bad, f->uncached, f->cached };
	int i;

	for (i = 0; i < 3; i++) {
		f->ret[i] = uiommu_iova_free(f->d, a[i]);
		f->attached[i] = has_cache_of(f->d);
	}
	return NULL;
}

static void run_free_three(struct fresh_frees *f)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, free_three, f), 0);
	pthread_join(t, NULL);
}

/*
 * A thread's first free of a domain sets up its cache only if the cache
 * takes the range: a bad free or an uncacheable range must not (it could
 * evict another domain's cache from the thread's slot).  If the cache
 * cannot be set up, the claimed range goes back to the tree: freed all
 * the same.
 */
static void test_first_free_on_a_thread_sets_up_a_cache_only_for_it(void **state)
{
	struct uiommu_iova_config cfg = { 0, 0xffffffffffffull, K4, 4 };
	struct fresh_frees f = { 0 };
	struct uiommu_iova_stats st;
	int i;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_iova_domain_create(&cfg, &f.d), 0);
	assert_int_equal(uiommu_iova_alloc(f.d, 64 * K4, ~0ull, 0,
					   &f.uncached), 0);
	assert_int_equal(uiommu_iova_alloc(f.d, K4, ~0ull, 0, &f.cached), 0);
	f.bad = f.cached - 0x100000;
	run_free_three(&f);
	assert_int_equal(f.ret[0], -ENOENT);
	assert_int_equal(f.ret[1], 0);
	assert_int_equal(f.ret[2], 0);
	assert_false(f.attached[0]);
	assert_false(f.attached[1]);
	assert_true(f.attached[2]);
	assert_int_equal(uiommu_iova_check(f.d), 0);

	/* Again, with the cache's allocation failing. */
	assert_int_equal(uiommu_iova_alloc(f.d, 64 * K4, ~0ull, 0,
					   &f.uncached), 0);
	assert_int_equal(uiommu_iova_alloc(f.d, 2 * K4, ~0ull, 0, &f.cached),
			 0);
	tu_alloc_install(1);
	run_free_three(&f);
	assert_true(tu_alloc_failed());
	tu_alloc_uninstall();
	for (i = 0; i < 3; i++)
		assert_int_equal(f.ret[i], i ? 0 : -ENOENT);
	assert_false(f.attached[2]);
	assert_int_equal(uiommu_iova_check(f.d), 0);
	assert_int_equal(uiommu_iova_get_stats(f.d, &st), 0);
	assert_int_equal(st.live_ranges, 0);
	assert_int_equal(uiommu_iova_free(f.d, f.cached), -ENOENT);
	uiommu_iova_domain_destroy(f.d);
	tu_log_release();
}

struct parked {
	struct uiommu_iova_domain *d;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int phase;
};

/* Uses the domain, then waits while the main thread destroys it, then
 * uses a new domain and exits: its stale TLS slot must be harmless. */
static void *parker(void *arg)
{
	struct parked *p = arg;
	struct uiommu_iova_config cfg = { 0, 0xffffffffull, K4, 2 };
	struct uiommu_iova_domain *d2;
	uint64_t iova;
	int i;

	for (i = 0; i < 500; i++) {
		CHECK_EQ(uiommu_iova_alloc(p->d, K4, ~0ull, 0, &iova), 0);
		CHECK_EQ(uiommu_iova_free(p->d, iova), 0);
	}
	pthread_mutex_lock(&p->m);
	p->phase = 1;
	pthread_cond_broadcast(&p->cv);
	while (p->phase != 2)
		pthread_cond_wait(&p->cv, &p->m);
	pthread_mutex_unlock(&p->m);
	CHECK_EQ(uiommu_iova_domain_create(&cfg, &d2), 0);
	for (i = 0; i < 500; i++) {
		CHECK_EQ(uiommu_iova_alloc(d2, K4, ~0ull, 0, &iova), 0);
		CHECK_EQ(uiommu_iova_free(d2, iova), 0);
	}
	uiommu_iova_domain_destroy(d2);
	return NULL;
}

static void test_destroy_while_thread_caches_it(void **state)
{
	struct uiommu_iova_config cfg = { 0, 0xffffffffull, K4, 2 };
	static struct parked p;
	pthread_t t;

	(void)state;
	tu_alloc_install(0);
	pthread_mutex_init(&p.m, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.phase = 0;
	assert_int_equal(uiommu_iova_domain_create(&cfg, &p.d), 0);
	assert_int_equal(pthread_create(&t, NULL, parker, &p), 0);
	pthread_mutex_lock(&p.m);
	while (p.phase != 1)
		pthread_cond_wait(&p.cv, &p.m);
	uiommu_iova_domain_destroy(p.d);	/* drains the parked cache */
	assert_int_equal(tu_alloc_live_blocks(), 0);
	p.phase = 2;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.m);
	pthread_join(t, NULL);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

#define RACE_N 256

struct racer {
	struct uiommu_iova_domain *d;
	const uint64_t *iova;
	int ret[RACE_N];
	unsigned long *arrived;	/* atomic, shared by both racers */
};

/* Both racers free iova[i] at the same moment: they meet before each. */
static void *race_free(void *arg)
{
	struct racer *r = arg;
	unsigned long i;

	for (i = 0; i < RACE_N; i++) {
		__atomic_add_fetch(r->arrived, 1, __ATOMIC_ACQ_REL);
		while (__atomic_load_n(r->arrived, __ATOMIC_ACQUIRE) < 2 * (i + 1))
			sched_yield();
		r->ret[i] = uiommu_iova_free(r->d, r->iova[i]);
	}
	return NULL;
}

/*
 * Two threads free the same live ranges at once (cached sizes, whose free
 * is lock-free, and larger ones): each address is freed exactly once, the
 * other free returns -ENOENT, and nothing is left live.
 */
static void test_racing_frees_of_one_address(void **state)
{
	struct uiommu_iova_config cfg = { 0, 0xffffffffffffull, K4, 5 };
	static uint64_t iova[RACE_N];
	static struct racer r[2];
	struct uiommu_iova_domain *d;
	struct uiommu_iova_stats st;
	unsigned long arrived;
	pthread_t t[2];
	unsigned int round, i, k;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	tu_alloc_install(0);
	tu_rand_seed(99);
	assert_int_equal(uiommu_iova_domain_create(&cfg, &d), 0);
	for (round = 0; round < 40; round++) {
		for (i = 0; i < RACE_N; i++)
			assert_int_equal(uiommu_iova_alloc(d,
				tu_rand_range(1, 40) * K4, ~0ull, 0, &iova[i]), 0);
		arrived = 0;
		for (k = 0; k < 2; k++) {
			r[k] = (struct racer){ .d = d, .iova = iova,
					       .arrived = &arrived };
			assert_int_equal(pthread_create(&t[k], NULL, race_free,
							&r[k]), 0);
		}
		for (k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		for (i = 0; i < RACE_N; i++) {
			int a = r[0].ret[i], b = r[1].ret[i];

			assert_true((a == 0 && b == -ENOENT) ||
				    (a == -ENOENT && b == 0));
		}
		assert_int_equal(uiommu_iova_get_stats(d, &st), 0);
		assert_int_equal(st.live_ranges, 0);
	}
	assert_int_equal(uiommu_iova_check(d), 0);
	uiommu_iova_domain_destroy(d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
	tu_log_release();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_on_one_thread_free_on_another),
		cmocka_unit_test(test_two_threads_churn_then_exit),
		cmocka_unit_test(test_destroy_while_thread_caches_it),
		cmocka_unit_test(test_exiting_threads_give_back_their_records),
		cmocka_unit_test(test_check_while_threads_exit),
		cmocka_unit_test(test_stats_while_magazines_move),
		cmocka_unit_test(test_first_free_on_a_thread_sets_up_a_cache_only_for_it),
		cmocka_unit_test(test_racing_frees_of_one_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
