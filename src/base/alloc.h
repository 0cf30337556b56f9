/* SPDX-License-Identifier: MIT */
/*
 * Internal allocation entry points.  Every allocation of the library goes
 * through the hook installed with uiommu_set_allocator(), so a test can fail
 * the Nth one.  All memory comes back zero-filled; frees pass the size.
 */
#ifndef UIO_ALLOC_H
#define UIO_ALLOC_H

#include <stddef.h>

#include <uiommu/base.h>

void *uio_alloc_aligned(size_t size, size_t align) __attribute__((malloc));
void uio_free_aligned(void *ptr, size_t size, size_t align);

/* Zeroed, naturally aligned for any object. */
static inline void *uio_zalloc(size_t size)
{
	return uio_alloc_aligned(size, 16);
}

static inline void uio_free(void *ptr, size_t size)
{
	uio_free_aligned(ptr, size, 16);
}

/* n * size with overflow checking; NULL on overflow or failure. */
void *uio_calloc(size_t n, size_t size) __attribute__((malloc));
static inline void uio_free_array(void *ptr, size_t n, size_t size)
{
	uio_free(ptr, n * size);
}

/* Copy of a NUL-terminated string; free with uio_free_str(). */
char *uio_strdup(const char *s) __attribute__((malloc));
void uio_free_str(char *s);

/*
 * Objects are allocated with their own alignment, so that a member
 * declared __attribute__((aligned(64))) (per-thread shards) really starts
 * a cache line.
 */
#define uio_new(type) \
	((type *)uio_alloc_aligned(sizeof(type), uio_obj_align(__alignof__(type))))
#define uio_delete(ptr) \
	uio_free_aligned((ptr), sizeof(*(ptr)), uio_obj_align(__alignof__(*(ptr))))

static inline size_t uio_obj_align(size_t align)
{
	return align < 16 ? 16 : align;
}

#endif /* UIO_ALLOC_H */
