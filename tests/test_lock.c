// SPDX-License-Identifier: MIT
/*
 * Tests of the library's mutex (src/base/lock.h, lock.c): mutual exclusion
 * under contention, the futex sleep and wake-up of a waiter whose holder
 * keeps the lock, and the word left free afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "testutil.h"

#include "lock.h"

#define CONTENDERS 4
#define ROUNDS 100000

struct shared {
	struct uio_mutex lock;
	/* Under lock: plain accesses, so a lock that let two threads in
	 * loses increments (and TSan reports the race). */
	uint64_t counter;
	int inside;
	int overlaps;
};

static void *contend(void *arg)
{
	struct shared *s = arg;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		uio_lock(&s->lock);
		uio_assert_held(&s->lock);
		if (s->inside++)
			s->overlaps++;
		s->counter++;
		s->inside--;
		uio_unlock(&s->lock);
	}
	return NULL;
}

static void test_contended_lock_excludes(void **state)
{
	struct shared s = { .counter = 0 };
	pthread_t t[CONTENDERS];
	int i;

	(void)state;
	uio_mutex_init(&s.lock);
	for (i = 0; i < CONTENDERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, contend, &s), 0);
	for (i = 0; i < CONTENDERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(s.overlaps, 0);
	assert_int_equal(s.counter, (uint64_t)CONTENDERS * ROUNDS);
	assert_int_equal(__atomic_load_n(&s.lock.word, __ATOMIC_RELAXED), 0);
	uio_mutex_destroy(&s.lock);
}

struct sleeper {
	struct uio_mutex *lock;
	int got;	/* under lock */
};

static void *take_once(void *arg)
{
	struct sleeper *s = arg;

	uio_lock(s->lock);
	s->got++;
	uio_unlock(s->lock);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * The holder keeps the lock far longer than any waiter spins: the waiters
 * must go to sleep (the word says so) and the release must wake them all,
 * one after the other.  A lost wake-up shows as a join that times out.
 */
static void test_sleeping_waiters_are_woken(void **state)
{
	struct uio_mutex lock;
	struct sleeper s = { .lock = &lock, .got = 0 };
	pthread_t t[CONTENDERS];
	struct timespec until;
	int i, waited;

	(void)state;
	uio_mutex_init(&lock);
	uio_lock(&lock);
	for (i = 0; i < CONTENDERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, take_once, &s), 0);
	/* Far past the backoff budget (tens of microseconds), even on a
	 * loaded machine or under a sanitizer. */
	for (waited = 0; waited < 5000; waited += 10) {
		sleep_ms(10);
		if (waited >= 200 &&
		    __atomic_load_n(&lock.word, __ATOMIC_RELAXED) == 2)
			break;
	}
	assert_int_equal(__atomic_load_n(&lock.word, __ATOMIC_RELAXED), 2);
	assert_int_equal(s.got, 0);
	uio_unlock(&lock);

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	for (i = 0; i < CONTENDERS; i++)
		assert_int_equal(pthread_timedjoin_np(t[i], NULL, &until), 0);
	assert_int_equal(s.got, CONTENDERS);
	assert_int_equal(__atomic_load_n(&lock.word, __ATOMIC_RELAXED), 0);
	uio_mutex_destroy(&lock);
}

static void check_uncontended(void)
{
	static struct uio_mutex st = UIO_MUTEX_INIT;

	uio_lock(&st);
	assert_int_equal(__atomic_load_n(&st.word, __ATOMIC_RELAXED), 1);
	uio_unlock(&st);
	assert_int_equal(__atomic_load_n(&st.word, __ATOMIC_RELAXED), 0);
}

/* Run first, while the process still has one thread (plain stores). */
static void test_uncontended_lock_leaves_word_free(void **state)
{
	(void)state;
	check_uncontended();
}

/* Run after the threaded tests (atomic operations). */
static void test_uncontended_lock_after_threads(void **state)
{
	(void)state;
	check_uncontended();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uncontended_lock_leaves_word_free),
		cmocka_unit_test(test_contended_lock_excludes),
		cmocka_unit_test(test_sleeping_waiters_are_woken),
		cmocka_unit_test(test_uncontended_lock_after_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
