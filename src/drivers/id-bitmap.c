// SPDX-License-Identifier: MIT
/* First-fit ID range allocation in a bitmap (see id-bitmap.h). */
#include <errno.h>

#include "bits.h"
#include "id-bitmap.h"

static int bit_set(const uint64_t *map, uint32_t i)
{
	return !!(map[i / 64] & UIO_BIT(i % 64));
}

int uio_id_bitmap_alloc(uint64_t *map, uint32_t size, uint32_t n,
			uint32_t *start)
{
	uint32_t s, i;

	assert(n > 0);
	for (s = 0; n <= size && s <= size - n;) {
		for (i = 0; i < n && !bit_set(map, s + i); i++)
			;
		if (i < n) {
			s += i + 1;	/* restart past the used bit */
			continue;
		}
		for (i = 0; i < n; i++)
			map[(s + i) / 64] |= UIO_BIT((s + i) % 64);
		*start = s;
		return 0;
	}
	return -ENOSPC;
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
