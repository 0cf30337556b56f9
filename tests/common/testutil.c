// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static struct {
	pthread_mutex_t lock;
	unsigned long count;
	unsigned long fail_at;
	int failed;
	long live_blocks;
	long live_bytes;
} tu_alloc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *counting_alloc(void *opaque, size_t size, size_t align)
{
	const struct uiommu_allocator *def = uiommu_default_allocator();
	void *p;

	(void)opaque;
	pthread_mutex_lock(&tu_alloc.lock);
	tu_alloc.count++;
	if (tu_alloc.fail_at && tu_alloc.count == tu_alloc.fail_at) {
		tu_alloc.failed = 1;
		pthread_mutex_unlock(&tu_alloc.lock);
		return NULL;
	}
	pthread_mutex_unlock(&tu_alloc.lock);
	p = def->alloc(def->opaque, size, align);
	if (p) {
		pthread_mutex_lock(&tu_alloc.lock);
		tu_alloc.live_blocks++;
		tu_alloc.live_bytes += (long)size;
		pthread_mutex_unlock(&tu_alloc.lock);
	}
	return p;
}

static void counting_free(void *opaque, void *ptr, size_t size, size_t align)
{
	const struct uiommu_allocator *def = uiommu_default_allocator();

	(void)opaque;
	pthread_mutex_lock(&tu_alloc.lock);
	tu_alloc.live_blocks--;
	tu_alloc.live_bytes -= (long)size;
	pthread_mutex_unlock(&tu_alloc.lock);
	def->free(def->opaque, ptr, size, align);
}

void tu_alloc_install(unsigned long fail_at)
{
	static const struct uiommu_allocator hook = {
		.alloc = counting_alloc,
		.free = counting_free,
	};

	pthread_mutex_lock(&tu_alloc.lock);
	tu_alloc.count = 0;
	tu_alloc.fail_at = fail_at;
	tu_alloc.failed = 0;
	pthread_mutex_unlock(&tu_alloc.lock);
	uiommu_set_allocator(&hook);
}

void tu_alloc_uninstall(void)
{
	uiommu_set_allocator(NULL);
}

unsigned long tu_alloc_count(void)
{
	return tu_alloc.count;
}

int tu_alloc_failed(void)
{
	return tu_alloc.failed;
}

long tu_alloc_live_blocks(void)
{
	return tu_alloc.live_blocks;
}

long tu_alloc_live_bytes(void)
{
	return tu_alloc.live_bytes;
}

/* Arm a new failure point without resetting the live counters. */
static void tu_alloc_arm(unsigned long fail_at)
{
	pthread_mutex_lock(&tu_alloc.lock);
	tu_alloc.count = 0;
	tu_alloc.fail_at = fail_at;
	tu_alloc.failed = 0;
	pthread_mutex_unlock(&tu_alloc.lock);
}

unsigned long tu_fail_nth_sweep(void *ctx, int (*op)(void *ctx),
				void (*check)(void *ctx, int ret),
				void (*reset)(void *ctx))
{
	unsigned long n;

	for (n = 1;; n++) {
		int ret;

		tu_alloc_arm(n);
		ret = op(ctx);
		if (!tu_alloc_failed()) {
			/* The whole operation ran below the failure point. */
			assert_int_equal(ret, 0);
			tu_alloc_arm(0);
			return n - 1;
		}
		tu_alloc_arm(0);
		check(ctx, ret);
		if (reset)
			reset(ctx);
	}
}

/* ------------------------------------------------------------ log capture */

static char log_buf[1 << 16];
static size_t log_len;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void capture_log(void *opaque, enum uiommu_log_level level,
			const char *subsys, const char *msg)
{
	int n;

	(void)opaque;
	(void)level;
	pthread_mutex_lock(&log_lock);
	n = snprintf(log_buf + log_len, sizeof(log_buf) - log_len, "%s: %s\n",
		     subsys, msg);
	if (n > 0 && log_len + (size_t)n < sizeof(log_buf))
		log_len += (size_t)n;
	pthread_mutex_unlock(&log_lock);
}

void tu_log_capture(enum uiommu_log_level level)
{
	tu_log_clear();
	uiommu_set_log_level(level);
	uiommu_set_log_handler(capture_log, NULL);
}

const char *tu_log_text(void)
{
	return log_buf;
}

void tu_log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_len = 0;
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

void tu_log_release(void)
{
	uiommu_set_log_handler(NULL, NULL);
	uiommu_set_log_level(UIOMMU_LOG_WARN);
}

/* ------------------------------------------------------------------ PRNG */

static __thread uint64_t rng_state = 0x9e3779b97f4a7c15ull;

void tu_rand_seed(uint64_t seed)
{
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t tu_rand(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t tu_rand_range(uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;

	if (span == 0)
		return tu_rand();
	return lo + tu_rand() % span;
}

uint64_t tu_seed_from_env(uint64_t fallback)
{
	const char *env = getenv("UIOMMU_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : fallback;

	tu_rand_seed(seed);
	return seed;
}

/* ------------------------------------------------------------ test data */

void *tu_load_test_data(const char *name, size_t slack, size_t *size)
{
	const char *dir = getenv("UIOMMU_TEST_DATA");
	char path[512];
	void *data;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	*size = (size_t)len + slack;
	data = calloc(1, *size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return data;
}
