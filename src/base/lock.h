/* SPDX-License-Identifier: MIT */
/*
 * Mutexes with ownership assertions.  A helper that must be called with a
 * lock held says so with uio_assert_held(); in debug builds that is checked
 * against the owning thread, in release builds it compiles away.
 */
#ifndef UIO_LOCK_H
#define UIO_LOCK_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define UIO_HAVE_SINGLE_THREADED 1
#endif
#endif

/*
 * A mutex in one 32-bit word: compare-and-swap to take it, exchange to
 * release it, and a waiter that backs off before it sleeps (lock.c).
 *
 * The library's critical sections are short (tens of nanoseconds for the
 * IOVA tree) and, on a busy domain, taken from several threads at a high
 * rate.  glibc's mutex (2.36) sleeps after a failed compare-and-swap or,
 * adaptive, after a few more whose number follows its recent history; on
 * two threads sharing an IOVA domain that meant ~100,000 futex sleeps and
 * wake-ups in 20 million operations.  A waiter here polls the word at
 * growing intervals instead, which also lets the holder keep the lock and
 * the data it protects in its cache for a run of critical sections
 * (docs/perf/iova.md), and sleeps only when the holder seems to be off
 * its CPU.
 *
 * Word: 0 free, 1 held, 2 held and a thread may be asleep on it (the
 * release must wake one).  Not recursive; no condition variables.
 */
struct uio_mutex {
	uint32_t word;
#if UIOMMU_DEBUG
	pthread_t owner;
	bool held;
#endif
};

/* A free mutex, for static ones. */
#define UIO_MUTEX_INIT { .word = 0 }

void uio_lock_contended(struct uio_mutex *l);
void uio_unlock_wake(struct uio_mutex *l);

static inline void uio_mutex_init(struct uio_mutex *l)
{
	l->word = 0;
#if UIOMMU_DEBUG
	l->held = false;
#endif
}

static inline void uio_mutex_destroy(struct uio_mutex *l)
{
#if UIOMMU_DEBUG
	assert(!l->held);
#endif
	assert(__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0);
	(void)l;
}

/*
 * Whether the process has only ever had one thread (glibc sets this false
 * at the first pthread_create(), which is a full barrier): then nothing
 * can contend, and the lock and release are plain stores, as glibc's own
 * mutex does.  A locked instruction costs ~20 cycles, and the device
 * models take a few locks per access (docs/perf/iova.md).
 */
static inline bool uio_single_threaded(void)
{
#ifdef UIO_HAVE_SINGLE_THREADED
	return __libc_single_threaded;
#else
	return false;
#endif
}

static inline void uio_lock(struct uio_mutex *l)
{
	uint32_t free_word = 0;

	if (uio_single_threaded()) {
		assert(__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0);
		__atomic_store_n(&l->word, 1, __ATOMIC_RELAXED);
	} else if (!__atomic_compare_exchange_n(&l->word, &free_word, 1, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
		uio_lock_contended(l);
	}
#if UIOMMU_DEBUG
	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&l->held, true, __ATOMIC_RELAXED);
#endif
}

/* The calling thread holds @l (checked in debug builds). */
static inline void uio_assert_held(struct uio_mutex *l)
{
#if UIOMMU_DEBUG
	assert(__atomic_load_n(&l->held, __ATOMIC_RELAXED) &&
	       pthread_equal(__atomic_load_n(&l->owner, __ATOMIC_RELAXED),
			     pthread_self()));
#else
	(void)l;
#endif
}

static inline void uio_unlock(struct uio_mutex *l)
{
#if UIOMMU_DEBUG
	uio_assert_held(l);
	__atomic_store_n(&l->held, false, __ATOMIC_RELAXED);
#endif
	if (uio_single_threaded() &&
	    __atomic_load_n(&l->word, __ATOMIC_RELAXED) == 1)
		__atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
	else if (__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2)
		uio_unlock_wake(l);
}

/*
 * Seqlock ordering.  Readers load the data words, then re-read the sequence;
 * writers make the odd sequence visible before the data words.  The usual
 * form is relaxed data accesses plus an acquire (reader) or release
 * (writer) fence.  GCC's ThreadSanitizer does not model standalone fences
 * (-Wtsan), so in TSan builds the fences vanish and the data accesses
 * themselves take acquire/release ordering instead, which is strictly
 * stronger and lets TSan see the synchronisation.
 */
#if defined(__SANITIZE_THREAD__)
#define UIO_SEQ_LOAD_ORDER  __ATOMIC_ACQUIRE
#define UIO_SEQ_STORE_ORDER __ATOMIC_RELEASE
static inline void uio_seq_read_fence(void) { }
static inline void uio_seq_write_fence(void) { }
#else
#define UIO_SEQ_LOAD_ORDER  __ATOMIC_RELAXED
#define UIO_SEQ_STORE_ORDER __ATOMIC_RELAXED
/* Between the data loads and the re-read of the sequence. */
static inline void uio_seq_read_fence(void)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}
/* Between the odd sequence store and the data stores. */
static inline void uio_seq_write_fence(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}
#endif

#endif /* UIO_LOCK_H */
