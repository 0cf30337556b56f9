/* SPDX-License-Identifier: MIT */
/*
 * First-fit allocation of contiguous ID ranges in a bitmap (LPIs of an ITS,
 * SPIs of a GICv2m frame).  The caller owns the bitmap (@size bits, in
 * 64-bit words) and its locking.
 */
#ifndef UIO_ID_BITMAP_H
#define UIO_ID_BITMAP_H

#include <stdint.h>

/* Mark the first free run of @n bits; its index in *@start.  0 or -ENOSPC. */
int uio_id_bitmap_alloc(uint64_t *map, uint32_t size, uint32_t n,
			uint32_t *start);
/* Likewise, but the run starts at an index s with (@bias + s) a multiple of
 * @align (a power of two): IDs numbered from @bias, aligned. */
int uio_id_bitmap_alloc_aligned(uint64_t *map, uint32_t size, uint32_t n,
				uint32_t align, uint32_t bias, uint32_t *start);
/* Clear bits [@start, @start + @n), which must all be set. */
void uio_id_bitmap_free(uint64_t *map, uint32_t size, uint32_t start,
			uint32_t n);

#endif /* UIO_ID_BITMAP_H */
