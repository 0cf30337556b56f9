/* SPDX-License-Identifier: MIT */
/*
 * Bit and field helpers shared by every layer.
 *
 * Architectural formats are described as data: each register or descriptor
 * field is declared once with UIO_FIELD(REG, FIELD, shift, length) next to a
 * citation of the specification section, and read or written with
 * UIO_FEX64() / UIO_FDP64().  No other code spells out shifts and masks.
 */
#ifndef UIO_BITS_H
#define UIO_BITS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define UIO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define uio_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define uio_likely(x)   __builtin_expect(!!(x), 1)
#define uio_unlikely(x) __builtin_expect(!!(x), 0)

#define UIO_BIT(n)  (UINT64_C(1) << (n))
/* Bits [hi:lo] set, as in the Arm ARM's notation. */
#define UIO_GENMASK(hi, lo) \
	((~UINT64_C(0) >> (63 - (hi))) & (~UINT64_C(0) << (lo)))

/*
 * Declare field FIELD of register/descriptor REG: REG_FIELD_SHIFT,
 * REG_FIELD_LEN and REG_FIELD_MASK (mask in place).
 */
#define UIO_FIELD(reg, field, shift, len)                                  \
	enum {                                                             \
		reg##_##field##_SHIFT = (shift),                           \
		reg##_##field##_LEN = (len),                               \
	};                                                                 \
	static const uint64_t reg##_##field##_MASK __attribute__((unused)) = \
		((len) == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << (len)) - 1)) << (shift)

static inline uint64_t uio_extract64(uint64_t v, unsigned int shift,
				     unsigned int len)
{
	assert(len > 0 && shift + len <= 64);
	return (v >> shift) & (~UINT64_C(0) >> (64 - len));
}

static inline uint64_t uio_deposit64(uint64_t v, unsigned int shift,
				     unsigned int len, uint64_t field)
{
	uint64_t mask;

	assert(len > 0 && shift + len <= 64);
	mask = (~UINT64_C(0) >> (64 - len)) << shift;
	return (v & ~mask) | ((field << shift) & mask);
}

static inline uint32_t uio_extract32(uint32_t v, unsigned int shift,
				     unsigned int len)
{
	return (uint32_t)uio_extract64(v, shift, len);
}

static inline uint32_t uio_deposit32(uint32_t v, unsigned int shift,
				     unsigned int len, uint32_t field)
{
	return (uint32_t)uio_deposit64(v, shift, len, field);
}

#define UIO_FEX64(v, reg, field) \
	uio_extract64((v), reg##_##field##_SHIFT, reg##_##field##_LEN)
#define UIO_FDP64(v, reg, field, x) \
	uio_deposit64((v), reg##_##field##_SHIFT, reg##_##field##_LEN, (x))
#define UIO_FEX32(v, reg, field) \
	uio_extract32((v), reg##_##field##_SHIFT, reg##_##field##_LEN)
#define UIO_FDP32(v, reg, field, x) \
	uio_deposit32((v), reg##_##field##_SHIFT, reg##_##field##_LEN, (x))

static inline int uio_is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Index of the least significant set bit; @x must be non-zero. */
static inline unsigned int uio_ffs64(uint64_t x)
{
	assert(x);
	return (unsigned int)__builtin_ctzll(x);
}

/* Index of the most significant set bit; @x must be non-zero. */
static inline unsigned int uio_fls64(uint64_t x)
{
	assert(x);
	return 63u - (unsigned int)__builtin_clzll(x);
}

static inline uint64_t uio_align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static inline uint64_t uio_align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline int uio_is_aligned(uint64_t x, uint64_t a)
{
	return (x & (a - 1)) == 0;
}

/*
 * [a_first, a_last] and [b_first, b_last] (inclusive ends) overlap?
 * Inclusive ends let a range reach the top of a 64-bit space.
 */
static inline int uio_ranges_overlap(uint64_t a_first, uint64_t a_last,
				     uint64_t b_first, uint64_t b_last)
{
	return a_first <= b_last && b_first <= a_last;
}

#endif /* UIO_BITS_H */
