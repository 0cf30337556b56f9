// SPDX-License-Identifier: MIT
/* First-fit ID range allocation in a bitmap (see id-bitmap.h). */
#include <errno.h>

#include "bits.h"
#include "id-bitmap.h"

static int bit_set(const uint64_t *map, uint32_t i)
{
	return !!(map[i / 64] & UIO_BIT(i % 64));
}

int uio_id_bitmap_alloc_aligned(uint64_t *map, uint32_t size, uint32_t n,
				uint32_t align, uint32_t bias, uint32_t *start)
{
	uint64_t s, i;

	assert(n > 0 && align > 0 && uio_is_pow2(align));
	/* Candidates s have (bias + s) % align == 0. */
	s = (uint64_t)((align - bias % align) % align);
	while (n <= size && s <= size - n) {
		for (i = 0; i < n && !bit_set(map, (uint32_t)(s + i)); i++)
			;
		if (i < n) {
			/* Restart at the next aligned candidate past the used bit. */
			s = uio_align_up(bias + s + i + 1, align) - bias;
			continue;
		}
		for (i = 0; i < n; i++)
			map[(s + i) / 64] |= UIO_BIT((s + i) % 64);
		*start = (uint32_t)s;
		return 0;
	}
	return -ENOSPC;
}

int uio_id_bitmap_alloc(uint64_t *map, uint32_t size, uint32_t n,
			uint32_t *start)
{
	return uio_id_bitmap_alloc_aligned(map, size, n, 1, 0, start);
}

void uio_id_bitmap_free(uint64_t *map, uint32_t size, uint32_t start,
			uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		assert(start + i < size && bit_set(map, start + i));
		map[(start + i) / 64] &= ~UIO_BIT((start + i) % 64);
	}
	(void)size;
}
