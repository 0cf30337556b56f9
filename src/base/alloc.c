// SPDX-License-Identifier: MIT
/*
 * The allocation hook.  The default allocator serves small blocks from
 * calloc/posix_memalign and large ones (emulated RAM) from anonymous mmap,
 * which the kernel zero-fills lazily: a 4 GiB RAM region costs nothing until
 * it is touched.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"
#include "bits.h"
#include "trace.h"

/* Blocks at least this large come from mmap (page-aligned, lazily zeroed). */
#define UIO_MMAP_THRESHOLD (1u << 20)
#define UIO_PAGE_SIZE 4096u

static void *default_alloc(void *opaque, size_t size, size_t align)
{
	void *p;

	(void)opaque;
	if (size >= UIO_MMAP_THRESHOLD && align <= UIO_PAGE_SIZE) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (align <= 16)
		return calloc(1, size);
	if (posix_memalign(&p, align, size))
		return NULL;
	memset(p, 0, size);
	return p;
}

static void default_free(void *opaque, void *ptr, size_t size, size_t align)
{
	(void)opaque;
	if (size >= UIO_MMAP_THRESHOLD && align <= UIO_PAGE_SIZE)
		munmap(ptr, size);
	else
		free(ptr);
}

static const struct uiommu_allocator default_allocator = {
	.alloc = default_alloc,
	.free = default_free,
};

static struct uiommu_allocator current_allocator = {
	.alloc = default_alloc,
	.free = default_free,
};

UIOMMU_API void uiommu_set_allocator(const struct uiommu_allocator *a)
{
	current_allocator = a ? *a : default_allocator;
}

UIOMMU_API const struct uiommu_allocator *uiommu_default_allocator(void)
{
	return &default_allocator;
}

void *uio_alloc_aligned(size_t size, size_t align)
{
	void *p;

	assert(uio_is_pow2(align));
	if (size == 0)
		size = 1;
	if (align < sizeof(void *))
		align = sizeof(void *);
	p = current_allocator.alloc(current_allocator.opaque, size, align);
	if (!p)
		trace_base_alloc_fail(size, align);
	return p;
}

void uio_free_aligned(void *ptr, size_t size, size_t align)
{
	if (!ptr)
		return;
	if (size == 0)
		size = 1;
	if (align < sizeof(void *))
		align = sizeof(void *);
	current_allocator.free(current_allocator.opaque, ptr, size, align);
}

void *uio_calloc(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return uio_zalloc(bytes);
}

char *uio_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = uio_zalloc(len);

	if (copy)
		memcpy(copy, s, len);
	return copy;
}

void uio_free_str(char *s)
{
	if (s)
		uio_free(s, strlen(s) + 1);
}
