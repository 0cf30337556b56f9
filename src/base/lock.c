// SPDX-License-Identifier: MIT
/*
 * The contended paths of struct uio_mutex (lock.h): back off, then sleep.
 *
 * A waiter polls the word at exponentially growing intervals, up to about
 * UIO_LOCK_BACKOFF_NS, and sleeps on a futex only after
 * UIO_LOCK_SPIN_INTERVALS of the longest without getting the lock.  A
 * poll only reads the word, so the holder's line is shared at most once
 * per interval.  And a poll that finds the lock free takes it only if it
 * is still free about UIO_LOCK_CONFIRM_NS later: a thread that runs one
 * critical section after another is out of the lock for a few tens of
 * nanoseconds at a time, and taking it then would move the lock and all
 * the data it protects to the other core for one section, and back for
 * the next.  Under sustained contention the lock thus changes hands after
 * runs of sections rather than after each one, which favours throughput
 * over fairness: a waiter may wait an interval longer than it had to.
 * docs/perf/iova.md has the measurements (the IOVA tree is the reason for
 * this lock).
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bits.h"
#include "lock.h"

#define UIO_LOCK_BACKOFF_NS 10000u
#define UIO_LOCK_CONFIRM_NS 300u
#define UIO_LOCK_SPIN_INTERVALS 6	/* at the longest backoff */
#define UIO_LOCK_CALIBRATE_PAUSES 256u

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * The longest backoff in pauses.  A pause takes from a few cycles to ~140
 * (Intel since Skylake) depending on the core, so the count that makes
 * UIO_LOCK_BACKOFF_NS is measured, once per process, the first time a
 * thread waits (it was going to wait anyway).  Threads that race here
 * store about the same value.
 */
static unsigned int backoff_max_pauses(void)
{
	static unsigned int max_pauses;
	unsigned int p = __atomic_load_n(&max_pauses, __ATOMIC_RELAXED);
	uint64_t t0, ns, want;

	if (uio_likely(p))
		return p;
	t0 = now_ns();
	for (p = 0; p < UIO_LOCK_CALIBRATE_PAUSES; p++)
		cpu_relax();
	ns = now_ns() - t0;
	want = (uint64_t)UIO_LOCK_BACKOFF_NS * UIO_LOCK_CALIBRATE_PAUSES /
	       (ns ? ns : 1);
	p = want < 16 ? 16 : want > 65536 ? 65536 : (unsigned int)want;
	__atomic_store_n(&max_pauses, p, __ATOMIC_RELAXED);
	return p;
}

static void futex_wait(uint32_t *word, uint32_t val)
{
	/* EAGAIN (the word changed) and EINTR both mean: look again. */
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

/* Take @l if it is free now and still free @confirm pauses later. */
static bool take_if_free(struct uio_mutex *l, unsigned int confirm)
{
	uint32_t v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);

	if (v != 0)
		return false;
	while (confirm--)
		cpu_relax();
	v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
	return v == 0 && __atomic_compare_exchange_n(&l->word, &v, 1, false,
						     __ATOMIC_ACQUIRE,
						     __ATOMIC_RELAXED);
}

void uio_lock_contended(struct uio_mutex *l)
{
	unsigned int max = backoff_max_pauses(), delay = 1, k;
	unsigned int confirm = max / (UIO_LOCK_BACKOFF_NS / UIO_LOCK_CONFIRM_NS);
	uint64_t spun = 0, budget = (uint64_t)max * UIO_LOCK_SPIN_INTERVALS;

	while (spun < budget) {
		for (k = 0; k < delay; k++)
			cpu_relax();
		spun += delay;
		if (take_if_free(l, confirm))
			return;
		delay = delay * 2 < max ? delay * 2 : max;
	}
	/* Mark the word 2 before sleeping, so the release wakes a sleeper;
	 * and keep it 2 on getting the lock: another may still sleep. */
	while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE) != 0)
		futex_wait(&l->word, 2);
}

void uio_unlock_wake(struct uio_mutex *l)
{
	syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
