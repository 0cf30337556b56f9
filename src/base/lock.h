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

struct uio_mutex {
	pthread_mutex_t m;
#if UIOMMU_DEBUG
	pthread_t owner;
	bool held;
#endif
};

static inline void uio_mutex_init(struct uio_mutex *l)
{
	pthread_mutex_init(&l->m, NULL);
#if UIOMMU_DEBUG
	l->held = false;
#endif
}

/*
 * For short critical sections taken from several threads at a high rate:
 * a waiter spins a little before sleeping (glibc's adaptive mutex), which
 * avoids a futex sleep and wake-up per contended acquisition.
 */
static inline void uio_mutex_init_adaptive(struct uio_mutex *l)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
#ifdef PTHREAD_MUTEX_ADAPTIVE_NP
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
	pthread_mutex_init(&l->m, &a);
	pthread_mutexattr_destroy(&a);
#if UIOMMU_DEBUG
	l->held = false;
#endif
}

static inline void uio_mutex_destroy(struct uio_mutex *l)
{
#if UIOMMU_DEBUG
	assert(!l->held);
#endif
	pthread_mutex_destroy(&l->m);
}

static inline void uio_lock(struct uio_mutex *l)
{
	pthread_mutex_lock(&l->m);
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
	pthread_mutex_unlock(&l->m);
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
