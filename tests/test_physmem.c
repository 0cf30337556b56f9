// SPDX-License-Identifier: MIT
/*
 * Tests of the emulated physical address space: regions, accesses of any
 * length and size, bus errors, MMIO splitting and attributes, pins, the
 * page pool (against a reference model), fail-Nth sweeps, and concurrent
 * readers and writers while other regions come and go.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include <uiommu/physmem.h>

#include "bits.h"
#include "physmem-internal.h"

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

/* ------------------------------------------------------------ helpers */

static struct uiommu_physmem *new_pm(unsigned int bits)
{
	struct uiommu_physmem *pm = NULL;

	assert_int_equal(uiommu_physmem_create(bits, &pm), 0);
	assert_non_null(pm);
	return pm;
}

static int count_one(void *opaque, const struct uiommu_region_info *info)
{
	(void)info;
	(*(int *)opaque)++;
	return 0;
}

static int region_count(struct uiommu_physmem *pm)
{
	int n = 0;

	assert_int_equal(uiommu_physmem_for_each(pm, count_one, &n), 0);
	return n;
}

/*
 * A test device: 4 KiB of byte registers, logging each access (offset,
 * size, source ID), failing accesses at offset 0xff8 (slave error).
 */
#define DEV_LOG 64
struct test_dev {
	uint8_t regs[4096];
	unsigned int nlog;
	struct {
		uint64_t off;
		unsigned int size;
		bool write;
		uint32_t source_id;
		uint32_t flags;
	} log[DEV_LOG];
	bool garbage_high;	/* read returns junk above @size bytes */
	bool no_error;		/* offset 0xff8 works like the others */
};

/* The model serialises itself, as the API asks of every model. */
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;

static void dev_log(struct test_dev *d, uint64_t off, unsigned int size,
		    bool write, const struct uiommu_memattrs *attrs)
{
	assert_non_null(attrs);
	assert_true(size == 1 || size == 2 || size == 4 || size == 8);
	assert_int_equal(off % size, 0);
	if (d->nlog < DEV_LOG) {
		d->log[d->nlog].off = off;
		d->log[d->nlog].size = size;
		d->log[d->nlog].write = write;
		d->log[d->nlog].source_id = attrs->source_id;
		d->log[d->nlog].flags = attrs->flags;
	}
	d->nlog++;
}

static int dev_read(void *opaque, uint64_t off, unsigned int size,
		    uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct test_dev *d = opaque;
	unsigned int i;

	pthread_mutex_lock(&dev_lock);
	dev_log(d, off, size, false, attrs);
	if (off == 0xff8 && !d->no_error) {
		pthread_mutex_unlock(&dev_lock);
		return -EFAULT;
	}
	*val = d->garbage_high ? ~UINT64_C(0) << (size * 8 % 64) : 0;
	if (size == 8)
		*val = 0;
	for (i = 0; i < size; i++)
		*val |= (uint64_t)d->regs[off + i] << (8 * i);
	pthread_mutex_unlock(&dev_lock);
	return 0;
}

static int dev_write(void *opaque, uint64_t off, unsigned int size,
		     uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct test_dev *d = opaque;
	unsigned int i;

	pthread_mutex_lock(&dev_lock);
	dev_log(d, off, size, true, attrs);
	if (off == 0xff8 && !d->no_error) {
		pthread_mutex_unlock(&dev_lock);
		return -EFAULT;
	}
	for (i = 0; i < size; i++)
		d->regs[off + i] = (uint8_t)(val >> (8 * i));
	pthread_mutex_unlock(&dev_lock);
	return 0;
}

static const struct uiommu_mmio_ops dev_ops = {
	.read = dev_read,
	.write = dev_write,
};

static const struct uiommu_reg_desc dev_regs[] = {
	{ "DEV_CTRL", 0x0, 4 },
	{ "DEV_DOORBELL", 0x40, 4 },
	{ "DEV_TABLE", 0x100, 0x100 },
};

static struct uiommu_mmio_desc dev_desc(struct test_dev *d, const char *name)
{
	struct uiommu_mmio_desc desc = {
		.name = name,
		.owner = "testdev@0",
		.size = KiB(4),
		.ops = &dev_ops,
		.opaque = d,
		.regs = dev_regs,
		.nregs = UIO_ARRAY_SIZE(dev_regs),
		.doorbell = true,
	};

	return desc;
}

/* ------------------------------------------------------------ regions */

static void test_create_validates(void **state)
{
	struct uiommu_physmem *pm = NULL;

	(void)state;
	assert_int_equal(uiommu_physmem_create(31, &pm), -EINVAL);
	assert_int_equal(uiommu_physmem_create(65, &pm), -EINVAL);
	assert_int_equal(uiommu_physmem_create(48, NULL), -EINVAL);
	assert_null(pm);
	pm = new_pm(64);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
	uiommu_physmem_destroy(NULL);
}

static void test_ram_read_write_ld_st(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	uint8_t buf[64], back[64];
	uint64_t v, base = 0;
	unsigned int i;

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "dram", GiB(1), MiB(2),
						NULL, &base), 0);
	assert_int_equal(base, GiB(1));
	/* Library-allocated RAM starts zeroed. */
	assert_int_equal(uiommu_phys_ld(pm, GiB(1) + MiB(2) - 8, 8, &v, NULL), 0);
	assert_int_equal(v, 0);

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	/* Odd address and length: head, aligned words, tail. */
	assert_int_equal(uiommu_phys_write(pm, GiB(1) + 3, buf, 61, NULL), 0);
	memset(back, 0, sizeof(back));
	assert_int_equal(uiommu_phys_read(pm, GiB(1) + 3, back, 61, NULL), 0);
	assert_memory_equal(buf, back, 61);

	/* Little-endian as the machine sees it. */
	assert_int_equal(uiommu_phys_st(pm, GiB(1) + 0x100, 8,
					UINT64_C(0x0807060504030201), NULL), 0);
	assert_int_equal(uiommu_phys_read(pm, GiB(1) + 0x100, back, 8, NULL), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(back[i], i + 1);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1) + 0x104, 4, &v, NULL), 0);
	assert_int_equal(v, 0x08070605);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1) + 0x102, 2, &v, NULL), 0);
	assert_int_equal(v, 0x0403);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1) + 0x101, 1, &v, NULL), 0);
	assert_int_equal(v, 0x02);
	/* Stores truncate to their size. */
	assert_int_equal(uiommu_phys_st(pm, GiB(1) + 0x100, 2, 0xaabbccdd, NULL), 0);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1) + 0x100, 8, &v, NULL), 0);
	assert_int_equal(v, UINT64_C(0x080706050403ccdd));
	assert_int_equal(uiommu_phys_st(pm, GiB(1) + 0x101, 1, 0x1ff, NULL), 0);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1) + 0x100, 4, &v, NULL), 0);
	assert_int_equal(v, 0x0403ffdd);

	/* Bad size or alignment. */
	assert_int_equal(uiommu_phys_ld(pm, GiB(1) + 4, 8, &v, NULL), -EINVAL);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1), 3, &v, NULL), -EINVAL);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1), 16, &v, NULL), -EINVAL);
	assert_int_equal(uiommu_phys_ld(pm, GiB(1), 0, &v, NULL), -EINVAL);
	assert_int_equal(uiommu_phys_st(pm, GiB(1) + 2, 4, 0, NULL), -EINVAL);
	assert_int_equal(uiommu_physmem_pa_bits(pm), 48);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

/* Compare-and-swap: swaps on a match, reports the value otherwise. */
static void test_cmpxchg64(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct test_dev dev = { 0 };
	struct uiommu_mmio_desc d = dev_desc(&dev, "dev");
	uint64_t expected = 0, v;

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "ram", 0x1000, KiB(4), NULL,
						NULL), 0);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x2000, &d), 0);
	assert_int_equal(uiommu_phys_cmpxchg64(pm, 0x1008, &expected, 0x400,
					       NULL), 0);
	assert_int_equal(uiommu_phys_ld(pm, 0x1008, 8, &v, NULL), 0);
	assert_int_equal(v, 0x400);
	expected = 0;
	assert_int_equal(uiommu_phys_cmpxchg64(pm, 0x1008, &expected, 0x401,
					       NULL), -EAGAIN);
	assert_int_equal(expected, 0x400);
	assert_int_equal(uiommu_phys_ld(pm, 0x1008, 8, &v, NULL), 0);
	assert_int_equal(v, 0x400);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_phys_cmpxchg64(pm, 0x1004, &expected, 1, NULL),
			 -EINVAL);
	tu_log_release();
	assert_int_equal(uiommu_phys_cmpxchg64(pm, 0x2000, &expected, 1, NULL),
			 -EFAULT);
	assert_int_equal(dev.nlog, 0);
	assert_int_equal(uiommu_phys_cmpxchg64(pm, 0x3000, &expected, 1, NULL),
			 -EFAULT);
	uiommu_physmem_destroy(pm);
}

static void test_caller_buffer_visible_both_ways(void **state)
{
	struct uiommu_physmem *pm = new_pm(40);
	struct uiommu_region_info info;
	uint64_t *mem = aligned_alloc(4096, KiB(8));
	uint64_t v;

	(void)state;
	memset(mem, 0, KiB(8));
	assert_int_equal(uiommu_physmem_add_ram(pm, "user", 0x80000000, KiB(8),
						mem, NULL), 0);
	mem[3] = UINT64_C(0x1122334455667788);
	assert_int_equal(uiommu_phys_ld(pm, 0x80000018, 8, &v, NULL), 0);
	assert_int_equal(v, UINT64_C(0x1122334455667788));
	assert_int_equal(uiommu_phys_st(pm, 0x80001000, 8, 42, NULL), 0);
	assert_int_equal(mem[512], 42);
	assert_ptr_equal(uiommu_phys_host_ptr(pm, 0x80001000, 8), &mem[512]);
	assert_ptr_equal(uiommu_phys_host_ptr(pm, 0x80000000, KiB(8)), mem);
	assert_null(uiommu_phys_host_ptr(pm, 0x80000008, KiB(8)));
	assert_null(uiommu_phys_host_ptr(pm, 0x7ffff000, 8));

	assert_int_equal(uiommu_physmem_lookup(pm, 0x80001fff, &info), 0);
	assert_int_equal(info.kind, UIOMMU_REGION_RAM);
	assert_int_equal(info.base, 0x80000000);
	assert_int_equal(info.size, KiB(8));
	assert_true(info.caller_memory);
	assert_ptr_equal(info.host, mem);
	assert_string_equal(info.name, "user");
	assert_string_equal(info.owner, "user");
	assert_int_equal(uiommu_physmem_lookup(pm, 0x80002000, &info), -EFAULT);

	/* Removing leaves the buffer to its owner, untouched. */
	assert_int_equal(uiommu_physmem_remove(pm, 0x80000000), 0);
	assert_int_equal(mem[512], 42);
	assert_int_equal(uiommu_phys_ld(pm, 0x80000018, 8, &v, NULL), -EFAULT);
	assert_int_equal(uiommu_physmem_add_ram(pm, "user2", 0x80000000, KiB(8),
						mem, NULL), 0);
	uiommu_physmem_destroy(pm);
	assert_int_equal(mem[3], UINT64_C(0x1122334455667788));
	free(mem);
}

static void test_add_validates_and_rejects_overlap(void **state)
{
	struct uiommu_physmem *pm = new_pm(32);
	struct test_dev dev = { 0 };
	struct uiommu_mmio_desc d = dev_desc(&dev, "dev");
	struct uiommu_reg_desc bad_regs[] = { { "X", 0xffc, 8 } };
	struct uiommu_reg_desc unsorted[] = { { "A", 8, 4 }, { "B", 0, 4 } };
	uint64_t buf[2];

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_physmem_add_ram(pm, "r", 0x1001, KiB(4), NULL,
						NULL), -EINVAL);
	assert_int_equal(uiommu_physmem_add_ram(pm, "r", 0x1000, 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(uiommu_physmem_add_ram(pm, "r", 0x1000, 100, NULL,
						NULL), -EINVAL);
	assert_int_equal(uiommu_physmem_add_ram(pm, NULL, 0x1000, KiB(4), NULL,
						NULL), -EINVAL);
	assert_int_equal(uiommu_physmem_add_ram(pm, "r", 0x1000, KiB(4),
						(char *)buf + 1, NULL), -EINVAL);
	assert_non_null(strstr(tu_log_text(), "not 8-byte aligned"));
	/* The last page of a 32-bit space fits; one more byte does not. */
	assert_int_equal(uiommu_physmem_add_ram(pm, "r", 0xfffff000, KiB(8),
						NULL, NULL), -ERANGE);
	assert_int_equal(uiommu_physmem_add_mmio(pm, GiB(4), &d), -ERANGE);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0xfffff000, &d), 0);

	assert_int_equal(uiommu_physmem_add_ram(pm, "a", 0x10000, KiB(16), NULL,
						NULL), 0);
	/* Partial overlap at either end, inside, around, exact. */
	assert_int_equal(uiommu_physmem_add_ram(pm, "b", 0xf000, KiB(8), NULL,
						NULL), -EEXIST);
	assert_int_equal(uiommu_physmem_add_ram(pm, "b", 0x13000, KiB(8), NULL,
						NULL), -EEXIST);
	assert_int_equal(uiommu_physmem_add_ram(pm, "b", 0x11000, KiB(4), NULL,
						NULL), -EEXIST);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x10000, &d), -EEXIST);
	assert_int_equal(uiommu_physmem_add_ram(pm, "b", 0x8000, KiB(64), NULL,
						NULL), -EEXIST);
	assert_non_null(strstr(tu_log_text(), "overlaps a"));
	/* Adjacent on both sides is fine. */
	assert_int_equal(uiommu_physmem_add_ram(pm, "b", 0xf000, KiB(4), NULL,
						NULL), 0);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x14000, &d), 0);

	/* MMIO descriptions. */
	d.regs = bad_regs;
	d.nregs = 1;
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x20000, &d), -EINVAL);
	d.regs = unsorted;
	d.nregs = 2;
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x20000, &d), -EINVAL);
	d = dev_desc(&dev, "dev");
	d.ops = NULL;
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x20000, &d), -EINVAL);
	d = dev_desc(&dev, "dev");
	d.size = KiB(2);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x20000, &d), -EINVAL);
	d = dev_desc(&dev, "dev");
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x20800, &d), -EINVAL);
	assert_int_equal(uiommu_physmem_add_mmio(pm, UIOMMU_PHYS_ANY, &d),
			 -EINVAL);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x20000, NULL), -EINVAL);
	tu_log_release();

	assert_int_equal(region_count(pm), 4);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

static void test_phys_any_placement(void **state)
{
	struct uiommu_physmem *pm = new_pm(32);
	struct test_dev dev = { 0 };
	struct uiommu_mmio_desc d = dev_desc(&dev, "dev");
	uint64_t base = 1;

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "a", UIOMMU_PHYS_ANY,
						KiB(8), NULL, &base), 0);
	assert_int_equal(base, 0);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x3000, &d), 0);
	/* The 4 KiB gap at 0x2000 is the lowest free range that fits. */
	assert_int_equal(uiommu_physmem_add_ram(pm, "b", UIOMMU_PHYS_ANY,
						KiB(4), NULL, &base), 0);
	assert_int_equal(base, 0x2000);
	assert_int_equal(uiommu_physmem_add_ram(pm, "c", UIOMMU_PHYS_ANY,
						KiB(8), NULL, &base), 0);
	assert_int_equal(base, 0x4000);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_physmem_add_ram(pm, "d", UIOMMU_PHYS_ANY,
						GiB(4) + KiB(4), NULL, &base),
			 -ERANGE);
	/* Fill the rest with one MMIO region up to the top. */
	d.size = GiB(4) - 0x10000;
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x10000, &d), 0);
	assert_int_equal(uiommu_physmem_add_ram(pm, "e", UIOMMU_PHYS_ANY,
						KiB(48), NULL, &base), -ENOSPC);
	tu_log_release();
	assert_int_equal(uiommu_physmem_add_ram(pm, "f", UIOMMU_PHYS_ANY,
						KiB(40), NULL, &base), 0);
	assert_int_equal(base, 0x6000);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

/* Memory plugged after boot: above a floor, aligned, skipping what sits
 * there; -ENOSPC when nothing above the floor fits. */
static void test_add_ram_above(void **state)
{
	struct uiommu_physmem *pm = new_pm(32);
	uint64_t base = 1;

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "ram", GiB(1), GiB(1),
						NULL, NULL), 0);
	assert_int_equal(uio_physmem_add_ram_above(pm, "a", GiB(2), MiB(2),
						   MiB(4), NULL, &base), 0);
	assert_int_equal(base, GiB(2));
	/* A floor inside a region moves past it, to the next aligned base. */
	assert_int_equal(uio_physmem_add_ram_above(pm, "b", GiB(1) + 0x1000,
						   MiB(2), MiB(2), NULL, &base), 0);
	assert_int_equal(base, GiB(2) + MiB(4));
	/* An unaligned floor is rounded up; the hole below stays free. */
	assert_int_equal(uio_physmem_add_ram_above(pm, "c", 0x3001, 0x1000,
						   KiB(4), NULL, &base), 0);
	assert_int_equal(base, 0x4000);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uio_physmem_add_ram_above(pm, "d", GiB(4) - MiB(2),
						   MiB(2), MiB(4), NULL, &base),
			 -ENOSPC);
	tu_log_release();
	assert_int_equal(uio_physmem_add_ram_above(pm, "e", GiB(4) - MiB(2),
						   MiB(2), MiB(2), NULL, &base), 0);
	assert_int_equal(base, GiB(4) - MiB(2));
	assert_int_equal(region_count(pm), 5);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

static void test_remove(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	uint64_t v;

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_physmem_remove(pm, 0), -ENOENT);
	assert_int_equal(uiommu_physmem_add_ram(pm, "a", 0x100000, KiB(64),
						NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_remove(pm, 0x101000), -ENOENT);
	tu_log_release();
	assert_int_equal(uiommu_phys_st(pm, 0x100000, 8, 5, NULL), 0);
	assert_int_equal(uiommu_physmem_remove(pm, 0x100000), 0);
	assert_int_equal(uiommu_phys_ld(pm, 0x100000, 8, &v, NULL), -EFAULT);
	assert_null(uiommu_phys_host_ptr(pm, 0x100000, 8));
	assert_int_equal(region_count(pm), 0);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	/* Re-adding gives fresh zeroed memory. */
	assert_int_equal(uiommu_physmem_add_ram(pm, "a", 0x100000, KiB(64),
						NULL, NULL), 0);
	assert_int_equal(uiommu_phys_ld(pm, 0x100000, 8, &v, NULL), 0);
	assert_int_equal(v, 0);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

/*
 * Random regions come and go in 64 slots of 1 MiB; random lookups agree
 * with a plain table of what is present (binary search, tombstones, the
 * per-thread cache across generations).
 */
static void test_lookup_random_vs_model(void **state)
{
	struct uiommu_physmem *pm = new_pm(40);
	struct test_dev dev = { 0 };
	struct uiommu_mmio_desc d = dev_desc(&dev, "dev");
	uint64_t present[64] = { 0 };	/* size of the region in the slot */
	bool mmio[64] = { false };
	unsigned int op;

	(void)state;
	tu_rand_seed(tu_seed_from_env(0x100c));
	for (op = 0; op < 3000; op++) {
		unsigned int slot = (unsigned int)tu_rand_range(0, 63), k;
		uint64_t base = MiB(1) * slot;
		struct uiommu_region_info info;

		if (present[slot]) {
			assert_int_equal(uiommu_physmem_remove(pm, base), 0);
			present[slot] = 0;
		} else if (tu_rand() % 2) {
			present[slot] = KiB(4) << tu_rand_range(0, 8);
			mmio[slot] = false;
			assert_int_equal(uiommu_physmem_add_ram(pm, "r", base,
					present[slot], NULL, NULL), 0);
		} else {
			present[slot] = KiB(4);
			mmio[slot] = true;
			assert_int_equal(uiommu_physmem_add_mmio(pm, base, &d),
					 0);
		}
		for (k = 0; k < 8; k++) {
			unsigned int s2 = (unsigned int)tu_rand_range(0, 63);
			uint64_t pa = MiB(1) * s2 + tu_rand_range(0, KiB(1100));
			bool in = pa - MiB(1) * s2 < present[s2];
			int ret = uiommu_physmem_lookup(pm, pa, &info);

			if (pa >= MiB(1) * (s2 + 1))	/* ran into the next */
				continue;
			assert_int_equal(ret, in ? 0 : -EFAULT);
			if (in) {
				assert_int_equal(info.base, MiB(1) * s2);
				assert_int_equal(info.size, present[s2]);
				assert_int_equal(info.kind, mmio[s2] ?
						 UIOMMU_REGION_MMIO :
						 UIOMMU_REGION_RAM);
				assert_true(mmio[s2] ||
					    uiommu_phys_host_ptr(pm, pa, 1));
			}
		}
		if (op % 256 == 0)
			assert_int_equal(uiommu_physmem_check(pm), 0);
	}
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

/* A 64-bit space: the last page, and ranges that would wrap. */
static void test_top_of_64bit_space(void **state)
{
	struct uiommu_physmem *pm = new_pm(64);
	uint64_t *mem = aligned_alloc(4096, KiB(4)), v, base;
	uint8_t buf[8];

	(void)state;
	memset(mem, 0, KiB(4));
	assert_int_equal(uiommu_physmem_add_ram(pm, "top", UINT64_MAX - 0xfff,
						KiB(4), mem, NULL), 0);
	assert_int_equal(uiommu_phys_st(pm, UINT64_MAX - 7, 8, 0xabcdef, NULL),
			 0);
	assert_int_equal(mem[511], 0xabcdef);
	assert_int_equal(uiommu_phys_ld(pm, UINT64_MAX, 1, &v, NULL), 0);
	assert_int_equal(v, 0);
	assert_ptr_equal(uiommu_phys_host_ptr(pm, UINT64_MAX, 1), (char *)mem +
			 4095);
	assert_int_equal(uiommu_phys_read(pm, UINT64_MAX - 7, buf, 8, NULL), 0);
	assert_int_equal(uiommu_phys_read(pm, UINT64_MAX - 3, buf, 8, NULL),
			 -EFAULT);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_physmem_pin(pm, UINT64_MAX - 0xfff, KiB(8)),
			 -EFAULT);
	tu_log_release();
	assert_int_equal(uiommu_physmem_pin(pm, UINT64_MAX - 0xfff, KiB(4)), 0);
	assert_int_equal(uiommu_physmem_unpin(pm, UINT64_MAX - 0xfff, KiB(4)),
			 0);
	/* PHYS_ANY goes below it. */
	assert_int_equal(uiommu_physmem_add_ram(pm, "any", UIOMMU_PHYS_ANY,
						KiB(4), NULL, &base), 0);
	assert_int_equal(base, 0);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
	free(mem);
}

/* ------------------------------------------------------------ accesses */

static char trace_text[4096];

static void record_trace(void *opaque, const char *event, const char *text)
{
	size_t len = strlen(trace_text);

	(void)opaque;
	snprintf(trace_text + len, sizeof(trace_text) - len, "%s %s\n", event,
		 text);
}

static void test_holes_are_bus_errors(void **state)
{
	struct uiommu_physmem *pm = new_pm(36);
	struct uiommu_memattrs attrs = { 0x42, UIOMMU_MEMATTR_SOURCE_VALID };
	uint8_t buf[32] = { 0 };
	uint64_t v;

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "a", 0x1000, KiB(4), NULL,
						NULL), 0);
	uiommu_set_trace_handler(record_trace, NULL);
	trace_text[0] = '\0';
	assert_true(uiommu_trace_enable("physmem_bus_error") >= 1);
	assert_int_equal(uiommu_phys_ld(pm, 0, 8, &v, &attrs), -EFAULT);
	assert_string_equal(trace_text, "physmem_bus_error pa=0x0 len=0x8 "
			    "write=0 source=0x42\n");
	/* A range running off the end of RAM into a hole. */
	assert_int_equal(uiommu_phys_read(pm, 0x1ff0, buf, 32, NULL), -EFAULT);
	assert_int_equal(uiommu_phys_write(pm, 0x1ff0, buf, 32, NULL), -EFAULT);
	/* Far beyond the address width, and wrapping around 2^64. */
	assert_int_equal(uiommu_phys_st(pm, UINT64_C(1) << 40, 4, 1, NULL),
			 -EFAULT);
	assert_int_equal(uiommu_phys_read(pm, UINT64_MAX - 3, buf, 8, NULL),
			 -EFAULT);
	assert_true(uiommu_trace_disable("physmem_*") >= 1);
	uiommu_set_trace_handler(NULL, NULL);
	/* A zero-length access touches nothing. */
	assert_int_equal(uiommu_phys_read(pm, 0, buf, 0, NULL), 0);
	uiommu_physmem_destroy(pm);
}

static void test_mmio_sizes_and_attrs(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct test_dev *dev = calloc(1, sizeof(*dev));
	struct uiommu_mmio_desc d = dev_desc(dev, "dev");
	struct uiommu_memattrs attrs = { 0x1234, UIOMMU_MEMATTR_SOURCE_VALID |
					 UIOMMU_MEMATTR_PRIV };
	struct uiommu_region_info info;
	unsigned int size;
	uint64_t v;

	(void)state;
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x8080000, &d), 0);
	for (size = 1; size <= 8; size *= 2) {
		uint64_t val = UINT64_C(0x8877665544332211) &
			       (size == 8 ? UINT64_MAX :
				(UINT64_C(1) << (size * 8)) - 1);

		dev->nlog = 0;
		assert_int_equal(uiommu_phys_st(pm, 0x8080040, size, val,
						&attrs), 0);
		assert_int_equal(uiommu_phys_ld(pm, 0x8080040, size, &v,
						&attrs), 0);
		assert_int_equal(v, val);
		assert_int_equal(dev->nlog, 2);
		assert_int_equal(dev->log[0].off, 0x40);
		assert_int_equal(dev->log[0].size, size);
		assert_true(dev->log[0].write);
		assert_false(dev->log[1].write);
		assert_int_equal(dev->log[0].source_id, 0x1234);
		assert_int_equal(dev->log[1].source_id, 0x1234);
		assert_int_equal(dev->log[0].flags, attrs.flags);
	}
	/* A read callback's junk above the access size is masked off. */
	dev->garbage_high = true;
	assert_int_equal(uiommu_phys_ld(pm, 0x8080040, 2, &v, NULL), 0);
	assert_int_equal(v, 0x2211);
	dev->garbage_high = false;
	/* No attributes: the callback still gets a (zeroed) struct. */
	dev->nlog = 0;
	assert_int_equal(uiommu_phys_ld(pm, 0x8080040, 4, &v, NULL), 0);
	assert_int_equal(dev->log[0].source_id, 0);
	assert_int_equal(dev->log[0].flags, 0);
	/* Slave error. */
	assert_int_equal(uiommu_phys_ld(pm, 0x8080ff8, 8, &v, NULL), -EFAULT);
	assert_int_equal(uiommu_phys_st(pm, 0x8080ff8, 8, 0, NULL), -EFAULT);

	assert_int_equal(uiommu_physmem_lookup(pm, 0x8080abc, &info), 0);
	assert_int_equal(info.kind, UIOMMU_REGION_MMIO);
	assert_string_equal(info.name, "dev");
	assert_string_equal(info.owner, "testdev@0");
	assert_ptr_equal(info.regs, dev_regs);
	assert_int_equal(info.nregs, 3);
	assert_true(info.doorbell);
	assert_null(info.host);
	assert_null(uiommu_phys_host_ptr(pm, 0x8080000, 4));
	uiommu_physmem_destroy(pm);
	free(dev);
}

/*
 * RAM [0x10000, 0x11000), MMIO [0x11000, 0x12000), RAM [0x12000, 0x13000):
 * one read and one write cross both boundaries.
 */
static void test_cross_boundary_ram_mmio(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct test_dev *dev = calloc(1, sizeof(*dev));
	struct uiommu_mmio_desc d = dev_desc(dev, "dev");
	struct uiommu_memattrs attrs = { 7, UIOMMU_MEMATTR_SOURCE_VALID };
	static uint8_t buf[0x1020], back[0x1020];
	unsigned int i, expect_sizes[] = { 1, 2, 4, 8, 2, 1 };
	uint64_t expect_offs[] = { 1, 2, 4, 8, 16, 18 };
	uint8_t small[19];

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "lo", 0x10000, KiB(4), NULL,
						NULL), 0);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x11000, &d), 0);
	assert_int_equal(uiommu_physmem_add_ram(pm, "hi", 0x12000, KiB(4), NULL,
						NULL), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ (i >> 8));
	/* 0x10ff0 .. 0x1200f: 16 bytes of RAM, the 4 KiB device, 16 bytes of
	 * RAM, in one write and one read. */
	dev->no_error = true;
	dev->nlog = 0;
	assert_int_equal(uiommu_phys_write(pm, 0x10ff0, buf, sizeof(buf),
					   &attrs), 0);
	/* The MMIO part went as 8-byte accesses carrying the source ID. */
	assert_int_equal(dev->nlog, 0x1000 / 8);
	for (i = 0; i < DEV_LOG; i++) {
		assert_int_equal(dev->log[i].size, 8);
		assert_true(dev->log[i].write);
		assert_int_equal(dev->log[i].source_id, 7);
	}
	assert_memory_equal(dev->regs, buf + 16, 0x1000);
	dev->nlog = 0;
	assert_int_equal(uiommu_phys_read(pm, 0x10ff0, back, sizeof(back),
					  &attrs), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	assert_int_equal(dev->nlog, 0x1000 / 8);
	assert_false(dev->log[0].write);

	/* A slave error part-way: the read fails; the write fails after
	 * storing what came before the error, and nothing after it. */
	dev->no_error = false;
	assert_int_equal(uiommu_phys_read(pm, 0x10ff0, back, sizeof(back),
					  NULL), -EFAULT);
	memset(back, 0xee, sizeof(back));
	assert_int_equal(uiommu_phys_write(pm, 0x10ff0, back, sizeof(back),
					   NULL), -EFAULT);
	assert_int_equal(dev->regs[0xff7], 0xee);
	assert_int_equal(dev->regs[0xff8], buf[16 + 0xff8]);
	assert_int_equal(uiommu_phys_read(pm, 0x12000, small, 16, NULL), 0);
	assert_memory_equal(small, buf + 0x1010, 16);
	assert_int_equal(uiommu_phys_read(pm, 0x10ff0, small, 16, NULL), 0);
	assert_memory_equal(small, back, 16);

	/* Odd offset and length inside the device: 1, 2, 4, 8, 2, 1. */
	dev->nlog = 0;
	assert_int_equal(uiommu_phys_read(pm, 0x11001, small, 18, NULL), 0);
	assert_int_equal(dev->nlog, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(dev->log[i].size, expect_sizes[i]);
		assert_int_equal(dev->log[i].off, expect_offs[i]);
	}
	assert_memory_equal(small, dev->regs + 1, 18);
	dev->nlog = 0;
	assert_int_equal(uiommu_phys_write(pm, 0x11001, small, 18, NULL), 0);
	assert_int_equal(dev->nlog, 6);
	uiommu_physmem_destroy(pm);
	free(dev);
}

/* ------------------------------------------------------------ pins */

static void test_pin_blocks_remove(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct test_dev dev = { 0 };
	struct uiommu_mmio_desc d = dev_desc(&dev, "dev");

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "a", 0x100000, KiB(64),
						NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_add_ram(pm, "b", 0x110000, KiB(64),
						NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x120000, &d), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	/* Across the two adjacent RAM regions. */
	assert_int_equal(uiommu_physmem_pin(pm, 0x10f000, KiB(8)), 0);
	assert_int_equal(uiommu_physmem_remove(pm, 0x100000), -EBUSY);
	assert_int_equal(uiommu_physmem_remove(pm, 0x110000), -EBUSY);
	assert_non_null(strstr(tu_log_text(), "in use"));
	/* Into MMIO or a hole. */
	assert_int_equal(uiommu_physmem_pin(pm, 0x11f000, KiB(8)), -EFAULT);
	assert_int_equal(uiommu_physmem_pin(pm, 0xff000, KiB(8)), -EFAULT);
	assert_int_equal(uiommu_physmem_pin(pm, 0x100000, 0), -EINVAL);
	assert_int_equal(uiommu_physmem_unpin(pm, 0x120000, KiB(4)), -EINVAL);
	/* Pinned twice, unpinned twice. */
	assert_int_equal(uiommu_physmem_pin(pm, 0x100000, KiB(4)), 0);
	assert_int_equal(uiommu_physmem_unpin(pm, 0x10f000, KiB(8)), 0);
	assert_int_equal(uiommu_physmem_remove(pm, 0x110000), 0);
	assert_int_equal(uiommu_physmem_remove(pm, 0x100000), -EBUSY);
	assert_int_equal(uiommu_physmem_unpin(pm, 0x100000, KiB(4)), 0);
	assert_int_equal(uiommu_physmem_unpin(pm, 0x100000, KiB(4)), -EINVAL);
	tu_log_release();
	assert_int_equal(uiommu_physmem_remove(pm, 0x100000), 0);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

/* ------------------------------------------------------------ pool */

static void test_pool_basics(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct uiommu_phys_pool *pool = NULL, *other = NULL;
	struct uiommu_phys_pool_stats st;
	struct test_dev dev = { 0 };
	struct uiommu_mmio_desc d = dev_desc(&dev, "dev");
	uint64_t pa, pa2, size, v;
	uint64_t *host;

	(void)state;
	/* A region not aligned to the big block sizes. */
	assert_int_equal(uiommu_physmem_add_ram(pm, "ram", 0x40003000, MiB(8),
						NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x40803000, &d), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x40003001, MiB(1), &pool),
			 -EINVAL);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x40003000, 0, &pool),
			 -EINVAL);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x40800000, MiB(1), &pool),
			 -EFAULT);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x1000, KiB(4), &pool),
			 -EFAULT);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x40803000, KiB(4), &pool),
			 -EFAULT);
	tu_log_release();
	assert_int_equal(uiommu_phys_pool_create(pm, 0x40003000, MiB(8) - KiB(12),
						 &pool), 0);
	assert_ptr_equal(uiommu_phys_pool_physmem(pool), pm);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x407ff000, KiB(8), &other),
			 -EBUSY);
	assert_int_equal(uiommu_physmem_remove(pm, 0x40003000), -EBUSY);
	tu_log_release();
	assert_int_equal(uiommu_phys_pool_create(pm, 0x40800000, KiB(12), &other),
			 0);
	uiommu_phys_pool_destroy(other);
	assert_int_equal(uiommu_physmem_check(pm), 0);

	/* Every power of two: naturally aligned in PA, zeroed. */
	for (size = KiB(4); size <= MiB(2); size *= 2) {
		assert_int_equal(uiommu_phys_pool_alloc(pool, size, &pa), 0);
		assert_int_equal(pa % size, 0);
		assert_true(pa >= 0x40003000 && pa + size <= 0x40800000);
		host = uiommu_phys_host_ptr(pm, pa, size);
		assert_non_null(host);
		assert_int_equal(host[0] | host[size / 8 - 1], 0);
		memset(host, 0xa5, size);	/* dirty it for the next user */
	}
	uiommu_phys_pool_get_stats(pool, &st);
	assert_int_equal(st.base, 0x40003000);
	assert_int_equal(st.size, MiB(8) - KiB(12));
	assert_int_equal(st.blocks_in_use, 10);
	assert_int_equal(st.bytes_in_use, MiB(4) - KiB(4));
	assert_int_equal(st.allocs, 10);
	assert_int_equal(uiommu_phys_pool_check(pool), 0);

	/* Bad frees change nothing. */
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_phys_pool_free(pool, pa, MiB(1)), -EINVAL);
	assert_int_equal(uiommu_phys_pool_free(pool, pa + KiB(4), KiB(4)),
			 -EINVAL);
	assert_int_equal(uiommu_phys_pool_free(pool, pa, KiB(3)), -EINVAL);
	assert_int_equal(uiommu_phys_pool_free(pool, 0x1000, KiB(4)), -EINVAL);
	assert_int_equal(uiommu_phys_pool_alloc(pool, KiB(6), &pa2), -EINVAL);
	assert_int_equal(uiommu_phys_pool_alloc(pool, 0, &pa2), -EINVAL);
	assert_int_equal(uiommu_phys_pool_alloc(pool, GiB(1), &pa2), -ENOMEM);
	tu_log_release();
	assert_int_equal(uiommu_phys_pool_free(pool, pa, MiB(2)), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_phys_pool_free(pool, pa, MiB(2)), -EINVAL);
	tu_log_release();
	/* The freed, dirtied block comes back zeroed. */
	assert_int_equal(uiommu_phys_pool_alloc(pool, MiB(2), &pa2), 0);
	assert_int_equal(pa2, pa);
	assert_int_equal(uiommu_phys_ld(pm, pa2 + MiB(1), 8, &v, NULL), 0);
	assert_int_equal(v, 0);
	uiommu_phys_pool_get_stats(pool, &st);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.frees, 1);
	assert_int_equal(uiommu_phys_pool_check(pool), 0);
	uiommu_phys_pool_destroy(pool);
	assert_int_equal(uiommu_physmem_remove(pm, 0x40003000), 0);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
}

static void test_pool_exhaustion(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct uiommu_phys_pool *pool;
	struct uiommu_phys_pool_stats st;
	uint64_t pa[16], x;
	unsigned int i;

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "ram", 0x100000, KiB(64),
						NULL, NULL), 0);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x100000, KiB(64), &pool),
			 0);
	uiommu_phys_pool_get_stats(pool, &st);
	assert_int_equal(st.largest_free, KiB(64));
	for (i = 0; i < 16; i++)
		assert_int_equal(uiommu_phys_pool_alloc(pool, KiB(4), &pa[i]), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_phys_pool_alloc(pool, KiB(4), &x), -ENOMEM);
	tu_log_release();
	uiommu_phys_pool_get_stats(pool, &st);
	assert_int_equal(st.largest_free, 0);
	assert_int_equal(st.bytes_in_use, KiB(64));
	assert_int_equal(st.failures, 1);
	/* Free every other page: still no 8 KiB block. */
	for (i = 0; i < 16; i += 2)
		assert_int_equal(uiommu_phys_pool_free(pool, pa[i], KiB(4)), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_phys_pool_alloc(pool, KiB(8), &x), -ENOMEM);
	tu_log_release();
	for (i = 1; i < 16; i += 2)
		assert_int_equal(uiommu_phys_pool_free(pool, pa[i], KiB(4)), 0);
	/* Everything merged back. */
	uiommu_phys_pool_get_stats(pool, &st);
	assert_int_equal(st.largest_free, KiB(64));
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(uiommu_phys_pool_check(pool), 0);
	uiommu_phys_pool_destroy(pool);
	uiommu_physmem_destroy(pm);
}

/*
 * Random allocations and frees against a reference model: a page bitmap.
 * An allocation must fail exactly when no naturally aligned free run of its
 * size lies in the range; a success must be aligned, inside, and free in
 * the model.
 */
#define RP_BASE  UINT64_C(0x7000)	/* deliberately poorly aligned */
#define RP_PAGES 300u

static bool ref_run_free(const uint8_t *used, uint64_t pa, uint64_t size)
{
	uint64_t i;

	if (pa < RP_BASE || pa + size > RP_BASE + RP_PAGES * KiB(4))
		return false;
	for (i = 0; i < size / KiB(4); i++)
		if (used[(pa - RP_BASE) / KiB(4) + i])
			return false;
	return true;
}

static bool ref_can_alloc(const uint8_t *used, uint64_t size)
{
	uint64_t pa;

	for (pa = uio_align_up(RP_BASE, size);
	     pa + size <= RP_BASE + RP_PAGES * KiB(4); pa += size)
		if (ref_run_free(used, pa, size))
			return true;
	return false;
}

static void test_pool_random_vs_model(void **state)
{
	struct uiommu_physmem *pm = new_pm(40);
	struct uiommu_phys_pool *pool;
	struct uiommu_phys_pool_stats st;
	static uint8_t used[RP_PAGES];
	struct { uint64_t pa, size; } live[RP_PAGES];
	unsigned int nlive = 0, op;
	uint64_t bytes = 0;

	(void)state;
	memset(used, 0, sizeof(used));
	tu_rand_seed(tu_seed_from_env(0x5eed));
	assert_int_equal(uiommu_physmem_add_ram(pm, "ram", 0, MiB(4), NULL,
						NULL), 0);
	assert_int_equal(uiommu_phys_pool_create(pm, RP_BASE, RP_PAGES * KiB(4),
						 &pool), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	for (op = 0; op < 20000; op++) {
		bool do_alloc = nlive == 0 || tu_rand() % 100 < 55;

		if (do_alloc) {
			uint64_t size = KiB(4) << tu_rand_range(0, 7), pa = 0;
			int ret = uiommu_phys_pool_alloc(pool, size, &pa);
			bool can = ref_can_alloc(used, size);
			uint64_t i;

			assert_int_equal(ret, can ? 0 : -ENOMEM);
			if (ret)
				continue;
			assert_int_equal(pa % size, 0);
			assert_true(ref_run_free(used, pa, size));
			for (i = 0; i < size / KiB(4); i++)
				used[(pa - RP_BASE) / KiB(4) + i] = 1;
			live[nlive].pa = pa;
			live[nlive++].size = size;
			bytes += size;
			/* Dirty it: the next owner must still see zeroes. */
			assert_int_equal(uiommu_phys_st(pm, pa + size - 8, 8,
							~UINT64_C(0), NULL), 0);
		} else {
			unsigned int k = (unsigned int)tu_rand_range(0, nlive - 1);
			uint64_t i, v;

			assert_int_equal(uiommu_phys_ld(pm, live[k].pa +
							live[k].size - 8, 8,
							&v, NULL), 0);
			assert_int_equal(v, ~UINT64_C(0));
			if (tu_rand() % 16 == 0)	/* a bad free first */
				assert_int_equal(uiommu_phys_pool_free(pool,
						live[k].pa, live[k].size * 2),
						-EINVAL);
			assert_int_equal(uiommu_phys_pool_free(pool, live[k].pa,
							       live[k].size), 0);
			for (i = 0; i < live[k].size / KiB(4); i++)
				used[(live[k].pa - RP_BASE) / KiB(4) + i] = 0;
			bytes -= live[k].size;
			live[k] = live[--nlive];
		}
		if (op % 512 == 0) {
			uint64_t size, largest = 0;

			assert_int_equal(uiommu_phys_pool_check(pool), 0);
			uiommu_phys_pool_get_stats(pool, &st);
			assert_int_equal(st.bytes_in_use, bytes);
			assert_int_equal(st.blocks_in_use, nlive);
			for (size = KiB(4); size <= MiB(2); size *= 2)
				if (ref_can_alloc(used, size))
					largest = size;
			assert_int_equal(st.largest_free, largest);
		}
	}
	tu_log_release();
	assert_int_equal(uiommu_phys_pool_check(pool), 0);
	uiommu_phys_pool_destroy(pool);
	uiommu_physmem_destroy(pm);
}

/* ------------------------------------------------------------ fail-Nth */

struct sweep_ctx {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	int regions;
	long live_blocks;
	uint64_t pool_bytes;
	struct test_dev dev;
	void *user;
	int step;		/* which operation */
};

static int sweep_op(void *opaque)
{
	struct sweep_ctx *c = opaque;
	struct uiommu_mmio_desc d = dev_desc(&c->dev, "dev");
	uint64_t pa;

	switch (c->step) {
	case 0:
		return uiommu_physmem_add_ram(c->pm, "lib", 0x200000, MiB(2),
					      NULL, NULL);
	case 1:
		return uiommu_physmem_add_ram(c->pm, "user", UIOMMU_PHYS_ANY,
					      KiB(8), c->user, NULL);
	case 2:
		return uiommu_physmem_add_mmio(c->pm, 0x8000000, &d);
	case 3:
		return uiommu_phys_pool_create(c->pm, 0x100000, KiB(512),
					       &c->pool);
	default:
		return uiommu_phys_pool_alloc(c->pool, KiB(16), &pa);
	}
}

static void sweep_check(void *opaque, int ret)
{
	struct sweep_ctx *c = opaque;

	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(region_count(c->pm), c->regions);
	assert_int_equal(uiommu_physmem_check(c->pm), 0);
	assert_int_equal(tu_alloc_live_blocks(), c->live_blocks);
	if (c->step == 4) {
		struct uiommu_phys_pool_stats st;

		uiommu_phys_pool_get_stats(c->pool, &st);
		assert_int_equal(st.bytes_in_use, c->pool_bytes);
		assert_int_equal(uiommu_phys_pool_check(c->pool), 0);
	}
}

static void test_fail_nth_sweeps(void **state)
{
	struct sweep_ctx c;
	unsigned long points;
	uint64_t pa;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.user = aligned_alloc(4096, KiB(8));
	tu_alloc_install(0);
	tu_log_capture(UIOMMU_LOG_ERR);
	c.pm = new_pm(48);
	assert_int_equal(uiommu_physmem_add_ram(c.pm, "base", 0x100000, MiB(1),
						NULL, NULL), 0);
	for (c.step = 0; c.step <= 4; c.step++) {
		if (c.step == 4)	/* a pool with a block already out */
			assert_int_equal(uiommu_phys_pool_alloc(c.pool, KiB(4),
								&pa), 0);
		c.regions = region_count(c.pm);
		c.live_blocks = tu_alloc_live_blocks();
		c.pool_bytes = c.step == 4 ? KiB(4) : 0;
		points = tu_fail_nth_sweep(&c, sweep_op, sweep_check, NULL);
		assert_true(points >= 1);
	}
	assert_int_equal(region_count(c.pm), 4);
	/* Pins and removal never allocate: they cannot fail for memory. */
	tu_alloc_install(1);
	assert_int_equal(uiommu_physmem_pin(c.pm, 0x200000, KiB(4)), 0);
	assert_int_equal(uiommu_physmem_unpin(c.pm, 0x200000, KiB(4)), 0);
	assert_int_equal(uiommu_physmem_remove(c.pm, 0x8000000), 0);
	assert_int_equal(uiommu_physmem_remove(c.pm, 0x200000), 0);
	assert_int_equal(tu_alloc_count(), 0);
	tu_alloc_install(0);
	uiommu_phys_pool_destroy(c.pool);
	uiommu_physmem_destroy(c.pm);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_log_release();
	tu_alloc_uninstall();
	free(c.user);
}

/* A failing create leaks nothing either. */
static int create_op(void *opaque)
{
	struct uiommu_physmem **pm = opaque;

	return uiommu_physmem_create(48, pm);
}

static void create_check(void *opaque, int ret)
{
	(void)opaque;
	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void test_fail_nth_create(void **state)
{
	struct uiommu_physmem *pm = NULL;

	(void)state;
	tu_alloc_install(0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(tu_fail_nth_sweep(&pm, create_op, create_check, NULL),
			 1);
	uiommu_physmem_destroy(pm);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_log_release();
	tu_alloc_uninstall();
}

/* ------------------------------------------------------------ threads */

#define T_RAM_BASE   UINT64_C(0x40000000)
#define T_RAM_SIZE   MiB(1)
#define T_NREGIONS   10		/* more than the per-thread cache holds */
#define T_CHURN_BASE UINT64_C(0x1000000000)
#define T_ITERS      20000

struct thread_ctx {
	struct uiommu_physmem *pm;
	int stop;
	int id;
	struct test_dev dev;
};

/* Words whose two halves are always equal: a torn 8-byte access shows. */
static uint64_t twin(uint32_t x)
{
	return ((uint64_t)x << 32) | x;
}

static void *rw_thread(void *opaque)
{
	struct thread_ctx *t = opaque;
	uint64_t shared = T_RAM_BASE;	/* the word every thread hammers */
	uint64_t mine = T_RAM_BASE + 0x1000 * (uint64_t)(t->id + 1);
	uint8_t buf[24];
	unsigned int i;
	int ret;

	for (i = 0; i < T_ITERS; i++) {
		uint64_t r = T_RAM_BASE + (i % T_NREGIONS) * GiB(1);
		uint64_t v, w[3];

		/* Single-copy atomicity of 8-byte loads and stores. */
		assert_int_equal(uiommu_phys_st(t->pm, shared, 8,
						twin(i * 2654435761u + t->id),
						NULL), 0);
		assert_int_equal(uiommu_phys_ld(t->pm, shared, 8, &v, NULL), 0);
		assert_int_equal(v >> 32, v & 0xffffffff);
		/* A multi-word copy is word-atomic too. */
		w[0] = w[1] = w[2] = twin(i);
		assert_int_equal(uiommu_phys_write(t->pm, shared + 8, w, 24,
						   NULL), 0);
		assert_int_equal(uiommu_phys_read(t->pm, shared + 8, buf, 24,
						  NULL), 0);
		memcpy(w, buf, 24);
		assert_int_equal(w[1] >> 32, w[1] & 0xffffffff);
		/* Private data round-trips, in every stable region in turn
		 * (more regions than cache ways: slow lookups too). */
		assert_int_equal(uiommu_phys_st(t->pm, r + (mine - T_RAM_BASE),
						8, i, NULL), 0);
		assert_int_equal(uiommu_phys_ld(t->pm, r + (mine - T_RAM_BASE),
						8, &v, NULL), 0);
		assert_int_equal(v, i);
		/* Hardware-style atomic update of a shared counter. */
		v = 0;
		while (uiommu_phys_cmpxchg64(t->pm, T_RAM_BASE + 0x800, &v,
					     v + 1, NULL) == -EAGAIN)
			;
		/* A hole stays a hole. */
		assert_int_equal(uiommu_phys_ld(t->pm, 0x1000, 8, &v, NULL),
				 -EFAULT);
		/* MMIO that comes and goes: completes or is a bus error. */
		ret = uiommu_phys_ld(t->pm, T_CHURN_BASE + MiB(64) +
				     (i % 8) * MiB(1), 4, &v, NULL);
		assert_true(ret == 0 || ret == -EFAULT);
		/* MMIO at a stable address. */
		assert_int_equal(uiommu_phys_ld(t->pm, 0x10000000, 4, &v, NULL),
				 0);
	}
	return NULL;
}

static void *churn_thread(void *opaque)
{
	struct thread_ctx *t = opaque;
	struct uiommu_mmio_desc d = dev_desc(&t->dev, "churn");
	unsigned int i = 0;

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		uint64_t base = T_CHURN_BASE + (i % 8) * MiB(1), any;

		assert_int_equal(uiommu_physmem_add_ram(t->pm, "churn", base,
							KiB(64), NULL, NULL), 0);
		assert_int_equal(uiommu_physmem_add_mmio(t->pm, base + MiB(64),
							 &d), 0);
		assert_int_equal(uiommu_physmem_add_ram(t->pm, "any",
							UIOMMU_PHYS_ANY, KiB(4),
							NULL, &any), 0);
		assert_int_equal(uiommu_physmem_remove(t->pm, any), 0);
		if (i % 8 == 7) {
			unsigned int j;

			for (j = 0; j < 8; j++) {
				base = T_CHURN_BASE + j * MiB(1);
				assert_int_equal(uiommu_physmem_remove(t->pm,
								       base), 0);
				assert_int_equal(uiommu_physmem_remove(t->pm,
						base + MiB(64)), 0);
			}
		}
		i++;
	}
	return NULL;
}

static void test_threads_access_during_add_remove(void **state)
{
	struct thread_ctx rw[2], churn;
	struct test_dev *dev = calloc(1, sizeof(*dev));
	struct uiommu_mmio_desc d = dev_desc(dev, "stable");
	struct uiommu_physmem *pm = new_pm(48);
	pthread_t tr[2], tc;
	uint64_t count;
	unsigned int i;

	(void)state;
	for (i = 0; i < T_NREGIONS; i++)
		assert_int_equal(uiommu_physmem_add_ram(pm, "stable",
							T_RAM_BASE + i * GiB(1),
							T_RAM_SIZE, NULL, NULL),
				 0);
	assert_int_equal(uiommu_physmem_add_mmio(pm, 0x10000000, &d), 0);
	memset(&churn, 0, sizeof(churn));
	churn.pm = pm;
	assert_int_equal(pthread_create(&tc, NULL, churn_thread, &churn), 0);
	for (i = 0; i < 2; i++) {
		memset(&rw[i], 0, sizeof(rw[i]));
		rw[i].pm = pm;
		rw[i].id = (int)i;
		assert_int_equal(pthread_create(&tr[i], NULL, rw_thread, &rw[i]),
				 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(tr[i], NULL), 0);
	__atomic_store_n(&churn.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(tc, NULL), 0);
	assert_int_equal(uiommu_phys_ld(pm, T_RAM_BASE + 0x800, 8, &count,
					NULL), 0);
	assert_int_equal(count, 2 * T_ITERS);
	assert_int_equal(uiommu_physmem_check(pm), 0);
	uiommu_physmem_destroy(pm);
	free(dev);
}

/* Two threads allocate and free concurrently; blocks never overlap. */
struct pool_thread {
	struct uiommu_phys_pool *pool;
	struct uiommu_physmem *pm;
	uint64_t tag;
};

static void *pool_thread(void *opaque)
{
	struct pool_thread *t = opaque;
	struct { uint64_t pa, size; } held[32];
	unsigned int n = 0, i;
	uint64_t v;

	tu_rand_seed(t->tag);
	for (i = 0; i < 3000; i++) {
		if (n < 32 && (n == 0 || tu_rand() % 2)) {
			uint64_t size = KiB(4) << tu_rand_range(0, 4), pa;

			if (uiommu_phys_pool_alloc(t->pool, size, &pa))
				continue;
			assert_int_equal(uiommu_phys_ld(t->pm, pa, 8, &v, NULL), 0);
			assert_int_equal(v, 0);
			assert_int_equal(uiommu_phys_st(t->pm, pa, 8, t->tag + pa,
							NULL), 0);
			assert_int_equal(uiommu_phys_st(t->pm, pa + size - 8, 8,
							t->tag + pa, NULL), 0);
			held[n].pa = pa;
			held[n++].size = size;
		} else {
			unsigned int k = (unsigned int)tu_rand_range(0, n - 1);
			uint64_t pa = held[k].pa, size = held[k].size;

			/* Nobody else wrote into our block. */
			assert_int_equal(uiommu_phys_ld(t->pm, pa, 8, &v, NULL), 0);
			assert_int_equal(v, t->tag + pa);
			assert_int_equal(uiommu_phys_ld(t->pm, pa + size - 8, 8, &v,
							NULL), 0);
			assert_int_equal(v, t->tag + pa);
			assert_int_equal(uiommu_phys_pool_free(t->pool, pa, size),
					 0);
			held[k] = held[--n];
		}
	}
	while (n--)
		assert_int_equal(uiommu_phys_pool_free(t->pool, held[n].pa,
						       held[n].size), 0);
	return NULL;
}

static void test_threads_pool(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct uiommu_phys_pool_stats st;
	struct pool_thread t[2];
	pthread_t tid[2];
	unsigned int i;

	(void)state;
	assert_int_equal(uiommu_physmem_add_ram(pm, "ram", 0, MiB(2), NULL,
						NULL), 0);
	assert_int_equal(uiommu_phys_pool_create(pm, 0, MiB(2), &t[0].pool), 0);
	tu_log_capture(UIOMMU_LOG_ERR);		/* exhaustion is allowed */
	for (i = 0; i < 2; i++) {
		t[i].pool = t[0].pool;
		t[i].pm = pm;
		t[i].tag = (i + 1) * UINT64_C(0x1000000000);
		assert_int_equal(pthread_create(&tid[i], NULL, pool_thread,
						&t[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	tu_log_release();
	uiommu_phys_pool_get_stats(t[0].pool, &st);
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(st.largest_free, MiB(2));
	assert_int_equal(uiommu_phys_pool_check(t[0].pool), 0);
	uiommu_phys_pool_destroy(t[0].pool);
	uiommu_physmem_destroy(pm);
}

/* Region and pool changes fire their trace events, addresses in hex. */
static void test_trace_events(void **state)
{
	struct uiommu_physmem *pm = new_pm(48);
	struct uiommu_phys_pool *pool;
	uint64_t pa;

	(void)state;
	uiommu_set_trace_handler(record_trace, NULL);
	trace_text[0] = '\0';
	assert_true(uiommu_trace_enable("physmem_*,pool_*") >= 4);
	assert_int_equal(uiommu_physmem_add_ram(pm, "dram", 0x40000000, MiB(1),
						NULL, NULL), 0);
	assert_int_equal(uiommu_phys_pool_create(pm, 0x40000000, MiB(1), &pool),
			 0);
	assert_int_equal(uiommu_phys_pool_alloc(pool, KiB(64), &pa), 0);
	assert_int_equal(uiommu_phys_pool_free(pool, pa, KiB(64)), 0);
	uiommu_phys_pool_destroy(pool);
	assert_int_equal(uiommu_physmem_remove(pm, 0x40000000), 0);
	assert_true(uiommu_trace_disable("*") >= 4);
	uiommu_set_trace_handler(NULL, NULL);
	assert_string_equal(trace_text,
		"physmem_add ram dram base=0x40000000 size=0x100000\n"
		"pool_alloc pool=0x40000000 size=0x10000 pa=0x40000000\n"
		"pool_free pool=0x40000000 pa=0x40000000 size=0x10000\n"
		"physmem_remove dram base=0x40000000 size=0x100000\n");
	uiommu_physmem_destroy(pm);
}

/*
 * A reader inside for_each keeps what it may see alive: a region removed
 * meanwhile by another thread is skipped, and freed only by a later change.
 */
struct defer_ctx {
	struct uiommu_physmem *pm;
	int visited;
	long live_before;
	long live_after_remove;
};

static void *remove_b(void *opaque)
{
	struct defer_ctx *d = opaque;

	assert_int_equal(uiommu_physmem_remove(d->pm, 0x100000), 0);
	return NULL;
}

static int defer_visit(void *opaque, const struct uiommu_region_info *info)
{
	struct defer_ctx *d = opaque;
	pthread_t t;

	d->visited++;
	if (info->base == 0x1000) {
		d->live_before = tu_alloc_live_blocks();
		assert_int_equal(pthread_create(&t, NULL, remove_b, d), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		d->live_after_remove = tu_alloc_live_blocks();
	}
	return 0;
}

static void test_threads_reader_defers_free(void **state)
{
	struct defer_ctx d = { 0 };

	(void)state;
	tu_alloc_install(0);
	d.pm = new_pm(48);
	assert_int_equal(uiommu_physmem_add_ram(d.pm, "a", 0x1000, KiB(4), NULL,
						NULL), 0);
	assert_int_equal(uiommu_physmem_add_ram(d.pm, "b", 0x100000, KiB(4),
						NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_for_each(d.pm, defer_visit, &d), 0);
	assert_int_equal(d.visited, 1);
	/* Nothing was freed under the reader... */
	assert_int_equal(d.live_after_remove, d.live_before);
	/* ...until the next change found no reader: adding c takes four
	 * blocks (region, name, memory, snapshot) and frees four (b's region,
	 * name and memory, the retired snapshot). */
	assert_int_equal(uiommu_physmem_add_ram(d.pm, "c", 0x200000, KiB(4),
						NULL, NULL), 0);
	assert_int_equal(tu_alloc_live_blocks(), d.live_before);
	assert_int_equal(uiommu_physmem_check(d.pm), 0);
	uiommu_physmem_destroy(d.pm);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/*
 * An MMIO region removed while a callback runs: the removal returns at
 * once, the region is not freed under the callback, synchronize waits for
 * it and then frees it.
 */
struct block_dev {
	struct uiommu_physmem *pm;
	int entered, release, sync_done, sync_in_callback;
	long live_after_remove;
};

static int block_read(void *opaque, uint64_t off, unsigned int size,
		      uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct block_dev *b = opaque;

	(void)off;
	(void)size;
	(void)attrs;
	__atomic_store_n(&b->sync_in_callback,
			 uiommu_physmem_synchronize(b->pm), __ATOMIC_RELEASE);
	__atomic_store_n(&b->entered, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&b->release, __ATOMIC_ACQUIRE))
		sched_yield();
	*val = 0x5a;
	return 0;
}

static int block_write(void *opaque, uint64_t off, unsigned int size,
		       uint64_t val, const struct uiommu_memattrs *attrs)
{
	(void)opaque;
	(void)off;
	(void)size;
	(void)val;
	(void)attrs;
	return 0;
}

static void *block_reader(void *opaque)
{
	struct block_dev *b = opaque;
	uint64_t v = 0;

	assert_int_equal(uiommu_phys_ld(b->pm, 0x10000, 4, &v, NULL), 0);
	assert_int_equal(v, 0x5a);
	return NULL;
}

static void *block_sync(void *opaque)
{
	struct block_dev *b = opaque;

	assert_int_equal(uiommu_physmem_synchronize(b->pm), 0);
	__atomic_store_n(&b->sync_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_threads_mmio_remove_synchronize(void **state)
{
	static const struct uiommu_mmio_ops ops = { block_read, block_write };
	struct block_dev b = { 0 };
	struct uiommu_mmio_desc d = { .name = "slow", .size = KiB(4),
				      .ops = &ops, .opaque = &b };
	pthread_t reader, syncer;
	long live_before;
	uint64_t v;

	(void)state;
	tu_alloc_install(0);
	tu_log_capture(UIOMMU_LOG_ERR);
	b.pm = new_pm(48);
	assert_int_equal(uiommu_physmem_add_mmio(b.pm, 0x10000, &d), 0);
	assert_int_equal(pthread_create(&reader, NULL, block_reader, &b), 0);
	while (!__atomic_load_n(&b.entered, __ATOMIC_ACQUIRE))
		sched_yield();
	assert_int_equal(__atomic_load_n(&b.sync_in_callback, __ATOMIC_ACQUIRE),
			 -EDEADLK);
	live_before = tu_alloc_live_blocks();
	assert_int_equal(uiommu_physmem_remove(b.pm, 0x10000), 0);
	assert_int_equal(tu_alloc_live_blocks(), live_before);	/* deferred */
	assert_int_equal(uiommu_phys_ld(b.pm, 0x10000, 4, &v, NULL), -EFAULT);
	assert_int_equal(pthread_create(&syncer, NULL, block_sync, &b), 0);
	usleep(20000);
	assert_false(__atomic_load_n(&b.sync_done, __ATOMIC_ACQUIRE));
	__atomic_store_n(&b.release, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(reader, NULL), 0);
	assert_int_equal(pthread_join(syncer, NULL), 0);
	assert_true(__atomic_load_n(&b.sync_done, __ATOMIC_ACQUIRE));
	/* The region record went with the synchronize. */
	assert_int_equal(tu_alloc_live_blocks(), live_before - 1);
	uiommu_physmem_destroy(b.pm);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_log_release();
	tu_alloc_uninstall();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_validates),
		cmocka_unit_test(test_ram_read_write_ld_st),
		cmocka_unit_test(test_cmpxchg64),
		cmocka_unit_test(test_caller_buffer_visible_both_ways),
		cmocka_unit_test(test_add_validates_and_rejects_overlap),
		cmocka_unit_test(test_add_ram_above),
		cmocka_unit_test(test_phys_any_placement),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_lookup_random_vs_model),
		cmocka_unit_test(test_top_of_64bit_space),
		cmocka_unit_test(test_holes_are_bus_errors),
		cmocka_unit_test(test_mmio_sizes_and_attrs),
		cmocka_unit_test(test_cross_boundary_ram_mmio),
		cmocka_unit_test(test_pin_blocks_remove),
		cmocka_unit_test(test_pool_basics),
		cmocka_unit_test(test_pool_exhaustion),
		cmocka_unit_test(test_pool_random_vs_model),
		cmocka_unit_test(test_fail_nth_sweeps),
		cmocka_unit_test(test_fail_nth_create),
		cmocka_unit_test(test_trace_events),
		cmocka_unit_test(test_threads_access_during_add_remove),
		cmocka_unit_test(test_threads_pool),
		cmocka_unit_test(test_threads_reader_defers_free),
		cmocka_unit_test(test_threads_mmio_remove_synchronize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
