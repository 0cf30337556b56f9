// SPDX-License-Identifier: MIT
/*
 * iova_bench: the IOVA allocator's benchmark.  One JSON object per line:
 *   {"bench":"iova","case":NAME,"threads":T,"live":N,"ns_per_op":X,"p99_ns":Y}
 * One op is one allocate plus one free (near_full_32bit "nofit": one failed
 * request).  ns_per_op is wall-clock time over the ops of all threads
 * together.  p99_ns is the 99th percentile of per-op latency: timed op by
 * op for the tree cases, and as the mean of batches of BATCH ops for the
 * cached cases (a clock read costs more than a cached op).  The tree
 * cases (tree_random, near_full_32bit) measure ns_per_op on a run without
 * clock reads, then p99 on a second run timed op by op (which adds one
 * clock read, ~30 ns here).
 *
 * The threaded cases (cached, mixed, their _private forms, remote_free)
 * run RUNS times, each on a new domain, and report the median run's
 * ns_per_op and the p99 over the batches of all runs.  A run takes
 * 0.05-1.5 s, and on a shared 2-vCPU guest some runs lose 10-40 % to the
 * host whether or not the threads share anything (docs/perf/iova.md); one
 * run is a sample of the host as much as of the allocator.  --quick runs
 * each once.
 *
 * Usage: iova_bench [--quick] [CASE...]   (cases: tree_random cached mixed
 * cached_private mixed_private remote_free near_full_32bit; default all)
 *
 * cached_private and mixed_private are no targets: "cached" and "mixed"
 * on two threads with a domain each, so nothing is shared; they show what
 * two threads of this machine give for the same work (the ceiling of the
 * shared figures).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/iova.h>

#define K4 0x1000ull
#define M32 0xffffffffull
#define M48 0xffffffffffffull
#define BATCH 256
#define NSIZES 4096

static int quick;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "iova_bench: %s: %s\n", what, uiommu_strerror(err));
	exit(1);
}

static struct uiommu_iova_domain *mkdom(uint64_t last, unsigned int cache)
{
	struct uiommu_iova_config cfg = { 0, last, K4, cache };
	struct uiommu_iova_domain *d;
	int ret = uiommu_iova_domain_create(&cfg, &d);

	if (ret)
		die("create", ret);
	return d;
}

static uint64_t xalloc(struct uiommu_iova_domain *d, uint64_t pages,
		       uint64_t limit)
{
	uint64_t iova;
	int ret = uiommu_iova_alloc(d, pages * K4, limit, 0, &iova);

	if (ret)
		die("alloc", ret);
	return iova;
}

static void xfree(struct uiommu_iova_domain *d, uint64_t iova)
{
	int ret = uiommu_iova_free(d, iova);

	if (ret)
		die("free", ret);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Runs of the repeated cases (see the top); --quick: one. */
#define RUNS 5

static int nruns(void)
{
	return quick ? 1 : RUNS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double p99(uint64_t *lat, size_t n)
{
	if (!n)
		return 0;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	return (double)lat[(n * 99) / 100];
}

static void report(const char *name, int threads, uint64_t live, double ns,
		   double p99ns, const char *extra)
{
	printf("{\"bench\":\"iova\",\"case\":\"%s\",\"threads\":%d,\"live\":%" PRIu64
	       ",\"ns_per_op\":%.1f,\"p99_ns\":%.1f%s}\n",
	       name, threads, live, ns, p99ns, extra ? extra : "");
	fflush(stdout);
}

/* ---------------------------------------------------------- tree_random */

/* @ops random free + allocate pairs; per-op latency into @lat if set. */
static __attribute__((noinline)) void
tree_ops(struct uiommu_iova_domain *d, uint64_t *addr, uint64_t live,
	 size_t ops, uint64_t *lat)
{
	size_t i;

	for (i = 0; i < ops; i++) {
		uint64_t k = rnd() % live, pages = 1 + rnd() % 64, s = 0;

		if (lat)
			s = bench_now_ns();
		xfree(d, addr[k]);
		addr[k] = xalloc(d, pages, M48);
		if (lat)
			lat[i] = bench_now_ns() - s;
	}
}

static void bench_tree_random(uint64_t live)
{
	struct uiommu_iova_domain *d = mkdom(M48, UIOMMU_IOVA_CACHE_OFF);
	uint64_t *addr = malloc(live * sizeof(*addr));
	size_t ops = quick ? 20000 : (live >= 1000000 ? 300000 : 200000);
	uint64_t *lat = malloc(ops * sizeof(*lat));
	uint64_t t0, t1, i;

	if (!addr || !lat)
		die("malloc", -ENOMEM);
	for (i = 0; i < live; i++)
		addr[i] = xalloc(d, 1 + rnd() % 64, M48);
	/* Churn once before measuring so the space is fragmented. */
	for (i = 0; i < live; i++) {
		uint64_t k = rnd() % live;

		xfree(d, addr[k]);
		addr[k] = xalloc(d, 1 + rnd() % 64, M48);
	}
	t0 = bench_now_ns();
	tree_ops(d, addr, live, ops, NULL);
	t1 = bench_now_ns();
	tree_ops(d, addr, live, ops, lat);
	report("tree_random", 1, live, (double)(t1 - t0) / (double)ops,
	       p99(lat, ops), NULL);
	free(lat);
	free(addr);
	uiommu_iova_domain_destroy(d);
}

/* ------------------------------------------------- cached, mixed (threads) */

struct worker {
	struct uiommu_iova_domain *d;
	pthread_barrier_t *bar;
	const uint16_t *sizes;
	size_t batches;
	uint64_t *lat;
	uint64_t start, end;
	unsigned int seed;
};

/* Each batch: allocate 8 ranges, free them, 32 times (BATCH pairs). */
static void *worker_pairs(void *arg)
{
	struct worker *w = arg;
	uint64_t held[8];
	size_t b, j, k, si = w->seed * 977u;

	pthread_barrier_wait(w->bar);
	w->start = bench_now_ns();
	for (b = 0; b < w->batches; b++) {
		uint64_t s = bench_now_ns();

		for (j = 0; j < BATCH / 8; j++) {
			for (k = 0; k < 8; k++)
				held[k] = xalloc(w->d,
						 w->sizes[si++ % NSIZES], M48);
			for (k = 0; k < 8; k++)
				xfree(w->d, held[k]);
		}
		w->lat[b] = (bench_now_ns() - s) / BATCH;
	}
	w->end = bench_now_ns();
	return NULL;
}

/* One run of a pairs case; the per-batch latencies of all threads go to
 * @lat (2 * @batches of them at most). */
static double pairs_once(int threads, const uint16_t *sizes, size_t batches,
			 bool private_doms, uint64_t *lat)
{
	struct uiommu_iova_domain *d = mkdom(M48, 5), *own[2] = { d, d };
	struct worker w[2];
	pthread_barrier_t bar;
	pthread_t t[2];
	uint64_t start = UINT64_MAX, end = 0;
	int k;

	pthread_barrier_init(&bar, NULL, (unsigned int)threads);
	if (private_doms)
		own[1] = mkdom(M48, 5);
	for (k = 0; k < threads; k++) {
		w[k] = (struct worker){ .d = own[k], .bar = &bar, .sizes = sizes,
					.batches = batches,
					.lat = lat + (size_t)k * batches,
					.seed = (unsigned int)k + 1 };
		pthread_create(&t[k], NULL, worker_pairs, &w[k]);
	}
	for (k = 0; k < threads; k++) {
		pthread_join(t[k], NULL);
		if (w[k].start < start)
			start = w[k].start;
		if (w[k].end > end)
			end = w[k].end;
	}
	pthread_barrier_destroy(&bar);
	if (private_doms)
		uiommu_iova_domain_destroy(own[1]);
	uiommu_iova_domain_destroy(d);
	return (double)(end - start) / (double)(batches * BATCH * threads);
}

/* @private_doms: one domain per thread instead of one shared. */
static void run_pairs(const char *name, int threads, unsigned int maxsize,
		      bool private_doms)
{
	static uint16_t sizes[NSIZES];
	size_t batches = quick ? 2000 : 40000, per_run, i;
	int runs = nruns(), r;
	double ns[RUNS];
	uint64_t *lat;

	for (i = 0; i < NSIZES; i++)
		sizes[i] = (uint16_t)(1 + rnd() % maxsize);
	per_run = batches * (size_t)threads;
	lat = malloc((size_t)runs * per_run * sizeof(*lat));
	if (!lat)
		die("malloc", -ENOMEM);
	for (r = 0; r < runs; r++)
		ns[r] = pairs_once(threads, sizes, batches, private_doms,
				   lat + (size_t)r * per_run);
	report(name, threads, 0, median(ns, runs),
	       p99(lat, (size_t)runs * per_run), NULL);
	free(lat);
}

/* ---------------------------------------------------------- remote_free */

/*
 * The ring between the two threads.  Each side reads the other's index
 * only when its own copy says the ring is full (producer) or empty
 * (consumer), and publishes its own every PUBLISH ops: a consumer that
 * keeps up would otherwise pull the head's line across on every op, and
 * the producer's next store would have to pull it back, which costs more
 * than the allocator's own work and is not what the case measures.
 * ops is a multiple of BATCH, and so of PUBLISH: the last index is
 * always published.
 */
#define RING 4096
#define PUBLISH 32

struct ring {
	struct uiommu_iova_domain *d;
	uint64_t slot[RING];
	unsigned long head __attribute__((aligned(64)));
	unsigned long tail __attribute__((aligned(64)));
	size_t ops;
	uint64_t *lat;
	uint64_t start, end;
};

/* Wait politely: on a loaded 2-CPU machine the peer may be off-CPU. */
static void spin(void)
{
	static __thread unsigned int n;

	if (++n % 256 == 0)
		sched_yield();
#if defined(__x86_64__) || defined(__i386__)
	else
		__builtin_ia32_pause();
#endif
}

static void *remote_producer(void *arg)
{
	struct ring *r = arg;
	unsigned long head = 0, tail = 0;
	size_t i;

	r->start = bench_now_ns();
	for (i = 0; i < r->ops; i += BATCH) {
		uint64_t s = bench_now_ns();
		size_t j;

		for (j = 0; j < BATCH; j++, head++) {
			while (head - tail >= RING) {
				tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
				if (head - tail >= RING)
					spin();
			}
			r->slot[head % RING] =
				xalloc(r->d, 1 + (head * 7) % 32, M48);
			if ((head + 1) % PUBLISH == 0)
				__atomic_store_n(&r->head, head + 1,
						 __ATOMIC_RELEASE);
		}
		r->lat[i / BATCH] = (bench_now_ns() - s) / BATCH;
	}
	return NULL;
}

static void *remote_consumer(void *arg)
{
	struct ring *r = arg;
	unsigned long tail = 0, head = 0;

	for (; tail < r->ops; tail++) {
		while (head == tail) {
			head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
			if (head == tail)
				spin();
		}
		xfree(r->d, r->slot[tail % RING]);
		if ((tail + 1) % PUBLISH == 0)
			__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
	}
	r->end = bench_now_ns();
	return NULL;
}

/* One run of remote_free; per-batch latencies to @lat. */
static double remote_once(size_t ops, uint64_t *lat)
{
	static struct ring r;
	pthread_t p, c;

	memset(&r, 0, sizeof(r));
	r.d = mkdom(M48, 5);
	r.ops = ops;
	r.lat = lat;
	pthread_create(&c, NULL, remote_consumer, &r);
	pthread_create(&p, NULL, remote_producer, &r);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	uiommu_iova_domain_destroy(r.d);
	return (double)(r.end - r.start) / (double)r.ops;
}

static void bench_remote_free(void)
{
	size_t ops = (quick ? 500000 : 8000000) / BATCH * BATCH;
	size_t per_run = ops / BATCH;
	int runs = nruns(), k;
	double ns[RUNS];
	uint64_t *lat = malloc((size_t)runs * per_run * sizeof(*lat));

	if (!lat)
		die("malloc", -ENOMEM);
	for (k = 0; k < runs; k++)
		ns[k] = remote_once(ops, lat + (size_t)k * per_run);
	report("remote_free", 2, 0, median(ns, runs),
	       p99(lat, (size_t)runs * per_run), NULL);
	free(lat);
}

/* ------------------------------------------------------ near_full_32bit */

/* Granule @k is allocated and freeing it leaves single-granule holes. */
static int lone_hole_ok(const uint64_t *addr, size_t n, size_t k)
{
	return addr[k] != UINT64_MAX && (k == 0 || addr[k - 1] != UINT64_MAX) &&
	       (k + 1 == n || addr[k + 1] != UINT64_MAX);
}

/* @ops times: allocate one granule under 4 GiB (the highest hole), free
 * a random other one; per-op latency into @lat if set. */
static __attribute__((noinline)) void
fit_ops(struct uiommu_iova_domain *d, uint64_t *addr, size_t n, size_t ops,
	uint64_t *lat)
{
	uint64_t iova, s = 0;
	size_t i, k;

	for (i = 0; i < ops; i++) {
		if (lat)
			s = bench_now_ns();
		do
			k = rnd() % n;
		while (!lone_hole_ok(addr, n, k));
		iova = xalloc(d, 1, M32);
		xfree(d, addr[k]);
		addr[iova >> 12] = iova;
		addr[k] = UINT64_MAX;
		if (lat)
			lat[i] = bench_now_ns() - s;
	}
}

/* @ops two-granule requests that cannot fit. */
static __attribute__((noinline)) void
nofit_ops(struct uiommu_iova_domain *d, size_t ops, uint64_t *lat)
{
	uint64_t iova, s = 0;
	size_t i;
	int ret;

	for (i = 0; i < ops; i++) {
		if (lat)
			s = bench_now_ns();
		ret = uiommu_iova_alloc(d, 2 * K4, M32, 0, &iova);
		if (ret != -ENOSPC)
			die("near_full: a 2-granule request fitted", ret);
		if (lat)
			lat[i] = bench_now_ns() - s;
	}
}

static void bench_near_full(void)
{
	struct uiommu_iova_domain *d = mkdom(M48, UIOMMU_IOVA_CACHE_OFF);
	const size_t n = 1u << 20;	/* granules below 4 GiB */
	uint64_t *addr = malloc(n * sizeof(*addr)), iova, t0, t1;
	size_t holes = 4096, ops = quick ? 20000 : 200000, i;
	uint64_t *lat = malloc(ops * sizeof(*lat));
	char extra[64];

	for (i = 0; i < n; i++) {	/* addr[] is indexed by pfn */
		iova = xalloc(d, 1, M32);
		addr[iova >> 12] = iova;
	}
	if (!uiommu_iova_alloc(d, K4, M32, 0, &iova))
		die("near_full: space below 4 GiB not full", -EINVAL);
	for (i = 0; i < holes; i++) {
		size_t k = rnd() % n;

		if (!lone_hole_ok(addr, n, k)) {
			i--;
			continue;
		}
		xfree(d, addr[k]);
		addr[k] = UINT64_MAX;
	}

	/* Fits: take the highest hole, free a random other granule. */
	t0 = bench_now_ns();
	fit_ops(d, addr, n, ops, NULL);
	t1 = bench_now_ns();
	fit_ops(d, addr, n, ops, lat);
	snprintf(extra, sizeof(extra), ",\"variant\":\"fit\"");
	report("near_full_32bit", 1, n - holes, (double)(t1 - t0) / (double)ops,
	       p99(lat, ops), extra);

	/* Cannot fit: every hole is one granule, ask for two. */
	t0 = bench_now_ns();
	nofit_ops(d, ops, NULL);
	t1 = bench_now_ns();
	nofit_ops(d, ops, lat);
	snprintf(extra, sizeof(extra), ",\"variant\":\"nofit\"");
	report("near_full_32bit", 1, n - holes, (double)(t1 - t0) / (double)ops,
	       p99(lat, ops), extra);
	free(lat);
	free(addr);
	uiommu_iova_domain_destroy(d);
}

static int wanted(int argc, char **argv, const char *name)
{
	int i, any = 0;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		any = 1;
		if (!strcmp(argv[i], name))
			return 1;
	}
	return !any;
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
	if (wanted(argc, argv, "tree_random")) {
		bench_tree_random(10000);
		bench_tree_random(100000);
		bench_tree_random(1000000);
	}
	if (wanted(argc, argv, "cached")) {
		run_pairs("cached", 1, 32, false);
		run_pairs("cached", 2, 32, false);
	}
	if (wanted(argc, argv, "mixed")) {
		run_pairs("mixed", 1, 64, false);
		run_pairs("mixed", 2, 64, false);
	}
	/* Not targets: the same work with nothing shared, the ceiling of
	 * the two-thread figures on this machine. */
	if (wanted(argc, argv, "cached_private"))
		run_pairs("cached_private", 2, 32, true);
	if (wanted(argc, argv, "mixed_private"))
		run_pairs("mixed_private", 2, 64, true);
	if (wanted(argc, argv, "remote_free"))
		bench_remote_free();
	if (wanted(argc, argv, "near_full_32bit"))
		bench_near_full();
	return 0;
}
