// SPDX-License-Identifier: MIT
/*
 * Tests of the I/O page tables: descriptor values worked out by hand from
 * the specifications, sweeps over granule x IAS x OAS, a randomized
 * differential test against a plain reference map, fail-Nth sweeps, the
 * hardware walker's fault records, the gather and the dump.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/pgtable.h>
#include <uiommu/physmem.h>

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_SIZE (UINT64_C(64) << 20)
#define HOLE	 UINT64_C(0x700000000)	/* nothing there */
#define MMIO_TABLE UINT64_C(0x800000000)	/* a device region (reads 0) */

#define K4   UINT64_C(0x1000)
#define K16  UINT64_C(0x4000)
#define K64  UINT64_C(0x10000)
#define M2   UINT64_C(0x200000)
#define M32  UINT64_C(0x2000000)
#define M512 UINT64_C(0x20000000)
#define G1   UINT64_C(0x40000000)

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define RW (UIOMMU_PT_PROT_READ | UIOMMU_PT_PROT_WRITE)

struct env {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
};

static void env_init(struct env *e)
{
	assert_int_equal(uiommu_physmem_create(52, &e->pm), 0);
	assert_int_equal(uiommu_physmem_add_ram(e->pm, "ram", RAM_BASE,
						RAM_SIZE, NULL, NULL), 0);
	assert_int_equal(uiommu_phys_pool_create(e->pm, RAM_BASE, RAM_SIZE,
						 &e->pool), 0);
}

static void env_fini(struct env *e)
{
	uiommu_phys_pool_destroy(e->pool);
	uiommu_physmem_destroy(e->pm);
}

static uint64_t pool_in_use(const struct env *e)
{
	struct uiommu_phys_pool_stats st;

	uiommu_phys_pool_get_stats(e->pool, &st);
	return st.bytes_in_use;
}

static struct uiommu_pgtable *mk(struct env *e, enum uiommu_pt_format f,
				 unsigned int g, unsigned int ias,
				 unsigned int oas, uint32_t flags)
{
	struct uiommu_pgtable_cfg cfg = {
		.format = f, .granule_shift = g, .ias = ias, .oas = oas,
		.flags = flags,
	};
	struct uiommu_pgtable *pt = NULL;

	assert_int_equal(uiommu_pgtable_create(e->pm, e->pool, &cfg, &pt), 0);
	return pt;
}

static uint64_t ld(struct env *e, uint64_t pa)
{
	uint64_t v = 0;

	assert_int_equal(uiommu_phys_ld(e->pm, pa, 8, &v, NULL), 0);
	return v;
}

static void st(struct env *e, uint64_t pa, uint64_t v)
{
	assert_int_equal(uiommu_phys_st(e->pm, pa, 8, v, NULL), 0);
}

/* Walk @iova with the table's own walk configuration; expect success. */
static struct uiommu_pt_walk_result walk_ok(struct env *e,
					    struct uiommu_pgtable *pt,
					    uint64_t iova, uint32_t acc)
{
	struct uiommu_pgtable_info info;
	struct uiommu_pt_walk_result r;
	struct uiommu_pt_fault f;
	int ret;

	uiommu_pgtable_get_info(pt, &info);
	memset(&f, 0, sizeof(f));
	ret = uiommu_pt_walk(e->pm, &info.walk, info.root, iova, acc, &r, &f);
	if (ret)
		fail_msg("walk 0x%" PRIx64 ": %s fault at level %d",
			 iova, uiommu_pt_fault_name(f.type), f.level);
	return r;
}

static struct uiommu_pt_fault walk_fault(struct env *e,
					 const struct uiommu_pt_walk_cfg *wc,
					 uint64_t root, uint64_t iova,
					 uint32_t acc)
{
	struct uiommu_pt_walk_result r;
	struct uiommu_pt_fault f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(uiommu_pt_walk(e->pm, wc, root, iova, acc, &r, &f),
			 -EFAULT);
	return f;
}

static uint64_t lookup(struct uiommu_pgtable *pt, uint64_t iova)
{
	uint64_t pa = 0;

	assert_int_equal(uiommu_pgtable_iova_to_phys(pt, iova, &pa, NULL), 0);
	return pa;
}

static void unmap_expect(struct uiommu_pgtable *pt, uint64_t iova,
			 uint64_t size, uint64_t expect)
{
	uint64_t done = ~UINT64_C(0);

	assert_int_equal(uiommu_pgtable_unmap(pt, iova, size, NULL, &done), 0);
	assert_int_equal(done, expect);
}

/* ------------------------------------------------ exact descriptor values */

static void test_arm_s1_4k_descriptors(void **state)
{
	struct uiommu_pt_walk_result r;
	struct uiommu_pgtable_info info;
	struct uiommu_pgtable *pt;
	struct env e;
	uint64_t l1, l2, l3;

	(void)state;
	env_init(&e);
	pt = mk(&e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(info.walk.levels, 4);	/* start at level 0 */
	assert_int_equal(info.arm_tsz, 16);
	assert_int_equal(info.arm_tg, 0);
	assert_int_equal(info.arm_ps, 5);
	assert_int_equal(info.arm_mair, 0x04ff44);
	assert_int_equal(info.pgsize_bitmap, K4 | M2 | G1);

	/*
	 * 4K page, iova 0x40201000 -> pa 0x80123000, READ|WRITE|CACHE:
	 *   OA 0x80123000 | page bits[1:0] 0b11 (0x3)
	 *   AttrIndx 1 (WB) << 2 = 0x4;  AP[2:1] = 0b01 (RW, EL0) << 6 = 0x40
	 *   SH 0b11 (inner) << 8 = 0x300; AF << 10 = 0x400; nG << 11 = 0x800
	 *   = 0x80123000 + 0x3 + 0x4 + 0x40 + 0x300 + 0x400 + 0x800
	 *   = 0x0000000080123f47
	 */
	assert_int_equal(uiommu_pgtable_map(pt, 0x40201000, 0x80123000, K4,
					    RW | UIOMMU_PT_PROT_CACHE, NULL), 0);
	r = walk_ok(&e, pt, 0x40201abc, UIOMMU_PT_ACC_WRITE);
	assert_int_equal(r.desc, 0x0000000080123f47);
	assert_int_equal(r.pa, 0x80123abc);
	assert_int_equal(r.level, 3);
	assert_int_equal(r.page_size, K4);
	assert_int_equal(r.attr, 1);
	assert_int_equal(r.sh, 3);
	assert_true(r.ng);
	/* Table descriptors: next-level address | 0b11, no attributes.
	 * iova 0x40201000: L0 index 0, L1 index 1, L2 index 1, L3 index 1. */
	l1 = ld(&e, info.root + 0 * 8);
	assert_int_equal(l1 & 0xfff, 0x3);
	assert_int_equal(l1 >> 48, 0);
	l2 = ld(&e, (l1 & ~UINT64_C(0xfff)) + 1 * 8);
	assert_int_equal(l2 & 0xfff, 0x3);
	l3 = ld(&e, (l2 & ~UINT64_C(0xfff)) + 1 * 8);
	assert_int_equal(l3 & 0xfff, 0x3);
	assert_int_equal(ld(&e, (l3 & ~UINT64_C(0xfff)) + 1 * 8),
			 0x0000000080123f47);
	assert_int_equal(r.desc_pa, (l3 & ~UINT64_C(0xfff)) + 8);

	/*
	 * 2M block, iova 0x40400000 -> pa 0x80400000, READ|NOEXEC|MMIO:
	 *   OA 0x80400000 | block bits[1:0] 0b01 (0x1)
	 *   AttrIndx 2 (Device-nGnRE) << 2 = 0x8
	 *   AP[2:1] = 0b11 (RO, EL0) << 6 = 0xc0; SH 0b10 (outer) << 8 = 0x200
	 *   AF 0x400; nG 0x800; PXN bit 53 + UXN bit 54 = 0x0060000000000000
	 *   = 0x0060000080400ec9
	 */
	assert_int_equal(uiommu_pgtable_map(pt, 0x40400000, 0x80400000, M2,
					    UIOMMU_PT_PROT_READ |
					    UIOMMU_PT_PROT_NOEXEC |
					    UIOMMU_PT_PROT_MMIO, NULL), 0);
	r = walk_ok(&e, pt, 0x405fffff, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.desc, 0x0060000080400ec9);
	assert_int_equal(r.level, 2);
	assert_int_equal(r.page_size, M2);
	assert_int_equal(r.perm, UIOMMU_PT_PERM_READ);

	/*
	 * 1G block, iova 0x80000000 -> pa 0xc0000000, READ|WRITE|PRIV:
	 *   0xc0000000 | 0b01 | AttrIndx 0 | AP 0b00 (RW, EL1 only) | SH outer
	 *   0x200 | AF 0x400 | nG 0x800 = 0x00000000c0000e01
	 */
	assert_int_equal(uiommu_pgtable_map(pt, 0x80000000, 0xc0000000, G1,
					    RW | UIOMMU_PT_PROT_PRIV, NULL), 0);
	r = walk_ok(&e, pt, 0x80000000,
		    UIOMMU_PT_ACC_WRITE | UIOMMU_PT_ACC_PRIV);
	assert_int_equal(r.desc, 0x00000000c0000e01);
	assert_int_equal(r.level, 1);
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	uiommu_pgtable_destroy(pt);
	assert_int_equal(pool_in_use(&e), 0);
	env_fini(&e);
}

static void test_arm_s2_4k_concatenated(void **state)
{
	struct uiommu_pt_walk_cfg wc;
	struct uiommu_pt_walk_result r;
	struct uiommu_pgtable_info info;
	struct uiommu_pgtable *pt;
	struct env e;

	(void)state;
	env_init(&e);
	/* IAS 40 with 4K: four levels would start at level 0 resolving one
	 * bit; stage 2 instead starts at level 1 with 2 concatenated tables
	 * (bits [39:30], 1024 entries, 8 KiB): S2SL0 = 1, S2T0SZ = 24. */
	pt = mk(&e, UIOMMU_PT_ARM_S2, 12, 40, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(info.walk.levels, 3);
	assert_int_equal(info.walk.concat_log2, 1);
	assert_int_equal(info.root_size, 0x2000);
	assert_int_equal(info.root & 0x1fff, 0);
	assert_int_equal(info.arm_sl0, 1);
	assert_int_equal(info.arm_tsz, 24);
	assert_int_equal(uiommu_pt_walk_cfg_arm_s2(&wc, 24, 1, 0, 5, 48, 0), 0);
	assert_memory_equal(&wc, &info.walk, sizeof(wc));

	/*
	 * 1G block, iova 0x80000000 -> pa 0x100000000, READ|WRITE|CACHE:
	 *   0x100000000 | block 0b01 | MemAttr 0b1111 (WB/WB) << 2 = 0x3c
	 *   | S2AP 0b11 << 6 = 0xc0 | SH inner 0x300 | AF 0x400
	 *   = 0x00000001000007fd, in root entry 0x80000000 >> 30 = 2.
	 */
	assert_int_equal(uiommu_pgtable_map(pt, 0x80000000, 0x100000000, G1,
					    RW | UIOMMU_PT_PROT_CACHE, NULL), 0);
	assert_int_equal(ld(&e, info.root + 2 * 8), 0x00000001000007fd);

	/*
	 * Last 4K page of the 40-bit space, iova 0xfffffff000 -> pa 0x3000,
	 * READ|MMIO: 0x3000 | page 0b11 | MemAttr 0b0001 (Device-nGnRE) << 2
	 *   = 0x4 | S2AP 0b01 << 6 = 0x40 | SH outer 0x200 | AF 0x400
	 *   = 0x0000000000003647.  Root index 0x3ff = 1023: the last entry
	 *   of the second concatenated table (root + 0x1ff8).
	 */
	assert_int_equal(uiommu_pgtable_map(pt, 0xfffffff000, 0x3000, K4,
					    UIOMMU_PT_PROT_READ |
					    UIOMMU_PT_PROT_MMIO, NULL), 0);
	assert_int_equal(ld(&e, info.root + 0x1ff8) & 0xfff, 0x3);
	r = walk_ok(&e, pt, 0xfffffff010, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.desc, 0x0000000000003647);
	assert_int_equal(r.pa, 0x3010);
	assert_int_equal(r.attr, 1);
	assert_int_equal(r.level, 3);
	/* S2AP write clear: a write is a stage-2 permission fault. */
	{
		struct uiommu_pt_fault f = walk_fault(&e, &info.walk, info.root,
						      0xfffffff010,
						      UIOMMU_PT_ACC_WRITE);

		assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);
		assert_int_equal(f.stage, 2);
		assert_int_equal(f.level, 3);
		assert_int_equal(f.desc, 0x3647);
	}
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

static void test_arm_64k_16k_descriptors(void **state)
{
	struct uiommu_pt_walk_result r;
	struct uiommu_pgtable_info info;
	struct uiommu_pgtable *pt;
	struct env e;

	(void)state;
	env_init(&e);
	/* 64K granule, IAS 48: levels 1..3, level 1 resolves [47:42]. */
	pt = mk(&e, UIOMMU_PT_ARM_S1, 16, 48, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(info.walk.levels, 3);
	assert_int_equal(info.root_size, 64 * 8);
	assert_int_equal(info.arm_tg, 1);
	assert_int_equal(info.pgsize_bitmap, K64 | M512);
	/*
	 * 512M block, iova 0x20000000 -> pa 0x40000000, READ|WRITE:
	 *   0x40000000 | block 0b01 | AttrIndx 0 (NC) | AP 0b01 << 6 = 0x40
	 *   | SH outer 0x200 | AF 0x400 | nG 0x800 = 0x0000000040000e41
	 */
	assert_int_equal(uiommu_pgtable_map(pt, M512, 0x40000000, M512, RW,
					    NULL), 0);
	r = walk_ok(&e, pt, M512 + 0x1234567, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.desc, 0x0000000040000e41);
	assert_int_equal(r.pa, 0x41234567);
	assert_int_equal(r.level, 2);
	/*
	 * 64K page, iova 0x10000 -> pa 0x50000, READ|WRITE|PRIV|NOEXEC:
	 *   0x50000 | page 0b11 | AP 0b00 | SH outer 0x200 | AF 0x400
	 *   | nG 0x800 | PXN+UXN 0x0060000000000000 = 0x0060000000050e03
	 */
	assert_int_equal(uiommu_pgtable_map(pt, K64, 0x50000, K64,
					    RW | UIOMMU_PT_PROT_PRIV |
					    UIOMMU_PT_PROT_NOEXEC, NULL), 0);
	r = walk_ok(&e, pt, K64 + 8, UIOMMU_PT_ACC_READ | UIOMMU_PT_ACC_PRIV);
	assert_int_equal(r.desc, 0x0060000000050e03);
	assert_int_equal(r.level, 3);
	uiommu_pgtable_destroy(pt);

	/* 16K granule, IAS 36: levels 2..3 (start level resolves [35:25]). */
	pt = mk(&e, UIOMMU_PT_ARM_S1, 14, 36, 40, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(info.walk.levels, 2);
	assert_int_equal(info.arm_tg, 2);
	assert_int_equal(info.arm_ps, 2);
	assert_int_equal(info.pgsize_bitmap, K16 | M32);
	/*
	 * 32M block, iova 0x2000000 -> pa 0x6000000, READ|WRITE:
	 *   0x6000000 | 0b01 | AP 0x40 | SH 0x200 | AF 0x400 | nG 0x800
	 *   = 0x0000000006000e41
	 */
	assert_int_equal(uiommu_pgtable_map(pt, M32, 0x6000000, M32, RW, NULL),
			 0);
	r = walk_ok(&e, pt, M32, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.desc, 0x0000000006000e41);
	assert_int_equal(r.level, 2);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

static void test_vtd_descriptors(void **state)
{
	struct uiommu_pt_walk_result r;
	struct uiommu_pgtable_info info;
	struct uiommu_pgtable *pt;
	struct env e;
	uint64_t pml4e;

	(void)state;
	env_init(&e);
	pt = mk(&e, UIOMMU_PT_VTD_SS, 12, 48, 46, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(info.walk.levels, 4);
	assert_int_equal(info.vtd_aw, 2);
	/*
	 * 4K, iova 0x1000 -> pa 0x12345000, READ|WRITE|CACHE (VT-d 9.8):
	 *   ADDR 0x12345000 | R 0x1 | W 0x2 | SNP bit 11 0x800
	 *   = 0x0000000012345803
	 */
	assert_int_equal(uiommu_pgtable_map(pt, K4, 0x12345000, K4,
					    RW | UIOMMU_PT_PROT_CACHE, NULL), 0);
	r = walk_ok(&e, pt, 0x1fff, UIOMMU_PT_ACC_WRITE);
	assert_int_equal(r.desc, 0x0000000012345803);
	assert_int_equal(r.level, 1);
	assert_true(r.snp);
	/* Non-leaf entries: table address | R | W. */
	pml4e = ld(&e, info.root);
	assert_int_equal(pml4e & 0xfff, 0x3);
	/*
	 * 2M superpage (SS-PDE), iova 0x200000 -> pa 0x40000000, READ:
	 *   0x40000000 | R 0x1 | PS bit 7 0x80 = 0x0000000040000081
	 */
	assert_int_equal(uiommu_pgtable_map(pt, M2, 0x40000000, M2,
					    UIOMMU_PT_PROT_READ, NULL), 0);
	r = walk_ok(&e, pt, M2, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.desc, 0x0000000040000081);
	assert_int_equal(r.level, 2);
	/*
	 * 1G superpage (SS-PDPE), iova 0x40000000 -> pa 0x80000000, RW:
	 *   0x80000000 | 0x3 | PS 0x80 = 0x0000000080000083
	 */
	assert_int_equal(uiommu_pgtable_map(pt, G1, 0x80000000, G1, RW, NULL),
			 0);
	r = walk_ok(&e, pt, G1 + 5, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.desc, 0x0000000080000083);
	assert_int_equal(r.level, 3);
	uiommu_pgtable_destroy(pt);

	/* 5-level with execute: iova 1 << 56 is SS-PML5E index 256.
	 *   4K READ -> pa 0x5000: 0x5000 | R 0x1 | X 0x4 = 0x5005 */
	pt = mk(&e, UIOMMU_PT_VTD_SS, 12, 57, 48, UIOMMU_PGTABLE_VTD_EXEC);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(info.walk.levels, 5);
	assert_int_equal(info.vtd_aw, 3);
	assert_int_equal(uiommu_pgtable_map(pt, UINT64_C(1) << 56, 0x5000, K4,
					    UIOMMU_PT_PROT_READ, NULL), 0);
	assert_int_equal(ld(&e, info.root + 256 * 8) & 0xfff, 0x7);
	r = walk_ok(&e, pt, UINT64_C(1) << 56, UIOMMU_PT_ACC_EXEC);
	assert_int_equal(r.desc, 0x5005);
	assert_int_equal(r.level, 1);
	assert_int_equal(r.perm, UIOMMU_PT_PERM_READ | UIOMMU_PT_PERM_EXEC);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

/* iova_to_phys() reports the protection each format can express. */
static void test_lookup_reports_prot(void **state)
{
	static const struct {
		enum uiommu_pt_format f;
		uint32_t flags, prot, want;
	} cases[] = {
		{ UIOMMU_PT_ARM_S1, 0, UIOMMU_PT_PROT_READ | UIOMMU_PT_PROT_MMIO |
		  UIOMMU_PT_PROT_NOEXEC | UIOMMU_PT_PROT_PRIV,
		  UIOMMU_PT_PROT_READ | UIOMMU_PT_PROT_MMIO |
		  UIOMMU_PT_PROT_NOEXEC | UIOMMU_PT_PROT_PRIV },
		/* Stage 1 cannot express write-only: it reads too. */
		{ UIOMMU_PT_ARM_S1, 0, UIOMMU_PT_PROT_WRITE | UIOMMU_PT_PROT_CACHE,
		  RW | UIOMMU_PT_PROT_CACHE },
		{ UIOMMU_PT_ARM_S2, 0, UIOMMU_PT_PROT_WRITE | UIOMMU_PT_PROT_CACHE |
		  UIOMMU_PT_PROT_PRIV, UIOMMU_PT_PROT_WRITE | UIOMMU_PT_PROT_CACHE },
		{ UIOMMU_PT_ARM_S2, 0, RW | UIOMMU_PT_PROT_MMIO | UIOMMU_PT_PROT_NOEXEC,
		  RW | UIOMMU_PT_PROT_MMIO | UIOMMU_PT_PROT_NOEXEC },
		/* VT-d: no MMIO attribute, no privilege; NOEXEC needs X. */
		{ UIOMMU_PT_VTD_SS, 0, RW | UIOMMU_PT_PROT_MMIO | UIOMMU_PT_PROT_NOEXEC,
		  RW },
		{ UIOMMU_PT_VTD_SS, UIOMMU_PGTABLE_VTD_EXEC,
		  UIOMMU_PT_PROT_READ | UIOMMU_PT_PROT_CACHE | UIOMMU_PT_PROT_NOEXEC,
		  UIOMMU_PT_PROT_READ | UIOMMU_PT_PROT_CACHE | UIOMMU_PT_PROT_NOEXEC },
	};
	struct env e;
	unsigned int i;

	(void)state;
	env_init(&e);
	for (i = 0; i < N_ELEMS(cases); i++) {
		struct uiommu_pgtable *pt = mk(&e, cases[i].f, 12, 48, 48,
					       cases[i].flags);
		uint64_t pa = 0;
		uint32_t prot = 0;

		assert_int_equal(uiommu_pgtable_map(pt, M2, 0x7000, K4,
						    cases[i].prot, NULL), 0);
		assert_int_equal(uiommu_pgtable_iova_to_phys(pt, M2 + 0x10, &pa,
							     &prot), 0);
		assert_int_equal(pa, 0x7010);
		assert_int_equal(prot, cases[i].want);
		uiommu_pgtable_destroy(pt);
	}
	env_fini(&e);
}

/* ------------------------------------------------------------ sweeps */

static void sweep_one(struct env *e, enum uiommu_pt_format f, unsigned int g,
		      unsigned int ias, unsigned int oas)
{
	struct uiommu_pgtable_info info;
	struct uiommu_pt_walk_result r;
	struct uiommu_pgtable *pt;
	uint64_t gran = UINT64_C(1) << g, bm, sz, last_in, last_out, done;
	uint64_t before = pool_in_use(e);

	pt = mk(e, f, g, ias, oas, 0);
	uiommu_pgtable_get_info(pt, &info);
	for (bm = info.pgsize_bitmap; bm; bm &= bm - 1) {
		uint64_t iova, pa, mid;

		sz = bm & -bm;
		iova = sz * 3;
		pa = sz * 2;
		if ((iova + sz - 1) >> ias || (pa + sz - 1) >> oas)
			continue;
		assert_int_equal(uiommu_pgtable_map(pt, iova, pa, sz, RW, NULL),
				 0);
		r = walk_ok(e, pt, iova + sz - 1, UIOMMU_PT_ACC_READ);
		assert_int_equal(r.page_size, sz);
		assert_int_equal(r.pa, pa + sz - 1);
		assert_int_equal(lookup(pt, iova), pa);
		/* Overlaps fail and change nothing. */
		assert_int_equal(uiommu_pgtable_map(pt, iova, pa, sz, RW, NULL),
				 -EEXIST);
		assert_int_equal(uiommu_pgtable_map(pt, iova + sz - gran, 0,
						    gran, RW, NULL), -EEXIST);
		if (iova >= gran)
			assert_int_equal(uiommu_pgtable_map(pt, iova - gran, 0,
							    2 * gran, RW, NULL),
					 -EEXIST);
		/* Partial unmap of one granule in the middle splits. */
		mid = iova + (sz > gran ? sz / 2 : 0);
		unmap_expect(pt, mid, gran, gran);
		assert_int_equal(uiommu_pgtable_iova_to_phys(pt, mid, &done, NULL),
				 -ENOENT);
		if (sz > gran) {
			assert_int_equal(lookup(pt, mid - gran), pa + sz / 2 - gran);
			assert_int_equal(lookup(pt, mid + gran), pa + sz / 2 + gran);
		}
		assert_int_equal(uiommu_pgtable_check(pt), 0);
		unmap_expect(pt, iova, sz, sz - gran);
		/* Remap after the split and unmap. */
		assert_int_equal(uiommu_pgtable_map(pt, iova, pa, sz, RW, NULL),
				 0);
		r = walk_ok(e, pt, mid, UIOMMU_PT_ACC_WRITE);
		assert_int_equal(r.page_size, sz);
		unmap_expect(pt, iova, sz, sz);
		assert_int_equal(uiommu_pgtable_check(pt), 0);
	}
	/* The last page of the input space, and the first beyond it. */
	last_in = (UINT64_C(1) << ias) - gran;
	last_out = (UINT64_C(1) << oas) - gran;
	assert_int_equal(uiommu_pgtable_map(pt, last_in, last_out, gran, RW,
					    NULL), 0);
	r = walk_ok(e, pt, last_in + gran - 1, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.pa, last_out + gran - 1);
	assert_int_equal(uiommu_pgtable_map(pt, last_in + gran, 0, gran, RW,
					    NULL), -ERANGE);
	assert_int_equal(uiommu_pgtable_map(pt, 0, last_out + gran, gran, RW,
					    NULL), -ERANGE);
	assert_int_equal(uiommu_pgtable_map(pt, last_in, 0, 2 * gran, RW, NULL),
			 -ERANGE);
	assert_int_equal(uiommu_pgtable_iova_to_phys(pt, last_in + gran, &done,
						     NULL), -ERANGE);
	unmap_expect(pt, last_in, gran, gran);
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	assert_int_equal(pool_in_use(e), before + (info.root_size < 4096 ?
						   4096 : info.root_size));
	uiommu_pgtable_destroy(pt);
	assert_int_equal(pool_in_use(e), before);
}

static void test_sweep_granule_ias_oas(void **state)
{
	static const unsigned int grans[] = { 12, 14, 16 };
	static const unsigned int iases[] = { 32, 36, 39, 40, 42, 44, 47, 48 };
	static const unsigned int oases[] = { 32, 40, 44, 48 };
	static const unsigned int vtd_ias[] = { 39, 48, 57 };
	struct env e;
	unsigned int gi, ii, oi, n = 0;

	(void)state;
	env_init(&e);
	/* The out-of-range maps log their refusal: keep that quiet. */
	tu_log_capture(UIOMMU_LOG_ERR);
	for (gi = 0; gi < 3; gi++)
		for (ii = 0; ii < N_ELEMS(iases); ii++)
			for (oi = 0; oi < N_ELEMS(oases); oi++) {
				sweep_one(&e, UIOMMU_PT_ARM_S1, grans[gi],
					  iases[ii], oases[oi]);
				sweep_one(&e, UIOMMU_PT_ARM_S2, grans[gi],
					  iases[ii], oases[oi]);
				n += 2;
			}
	for (ii = 0; ii < 3; ii++)
		for (oi = 0; oi < N_ELEMS(oases); oi++, n++)
			sweep_one(&e, UIOMMU_PT_VTD_SS, 12, vtd_ias[ii],
				  oases[oi]);
	tu_log_release();
	print_message("swept %u configurations\n", n);
	env_fini(&e);
}

static void test_create_rejects_bad_configs(void **state)
{
	struct uiommu_pgtable_cfg cfg = { .format = UIOMMU_PT_ARM_S1,
					  .granule_shift = 12, .ias = 48,
					  .oas = 48 };
	struct uiommu_pgtable *pt = NULL;
	struct env e;

	(void)state;
	env_init(&e);
	tu_log_capture(UIOMMU_LOG_ERR);
	cfg.granule_shift = 13;
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), -EINVAL);
	cfg.granule_shift = 12;
	cfg.oas = 41;
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), -EINVAL);
	cfg.oas = 48;
	cfg.ias = 49;
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), -EINVAL);
	cfg.ias = 48;
	cfg.pgsize_bitmap = K4 | G1;	/* a gap: 2M missing */
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), -EINVAL);
	cfg.pgsize_bitmap = K4 | 0x8000;
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), -EINVAL);
	cfg.pgsize_bitmap = 0;
	cfg.format = UIOMMU_PT_VTD_SS;
	cfg.granule_shift = 16;
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), -EINVAL);
	cfg.granule_shift = 12;
	cfg.ias = 47;
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), -EINVAL);
	assert_null(pt);
	assert_non_null(strstr(tu_log_text(), "VT-d IAS 47"));
	tu_log_release();

	/* A restricted page-size set is honoured: 4K only. */
	cfg.ias = 48;
	cfg.pgsize_bitmap = K4;
	assert_int_equal(uiommu_pgtable_create(e.pm, e.pool, &cfg, &pt), 0);
	assert_int_equal(uiommu_pgtable_map(pt, 0, 0, M2, RW, NULL), 0);
	assert_int_equal(walk_ok(&e, pt, 0, UIOMMU_PT_ACC_READ).page_size, K4);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

static void test_map_rejects_bad_arguments(void **state)
{
	struct uiommu_pgtable *pt;
	struct env e;
	uint64_t done;

	(void)state;
	env_init(&e);
	pt = mk(&e, UIOMMU_PT_ARM_S1, 12, 39, 40, 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_pgtable_map(pt, 0x800, 0, K4, RW, NULL), -EINVAL);
	assert_int_equal(uiommu_pgtable_map(pt, 0, 0x800, K4, RW, NULL), -EINVAL);
	assert_int_equal(uiommu_pgtable_map(pt, 0, 0, 0, RW, NULL), -EINVAL);
	assert_int_equal(uiommu_pgtable_map(pt, 0, 0, K4, 0, NULL), -EINVAL);
	assert_int_equal(uiommu_pgtable_map(pt, 0, 0, K4, 0x100, NULL), -EINVAL);
	assert_int_equal(uiommu_pgtable_map(pt, UINT64_C(1) << 39, 0, K4, RW,
					    NULL), -ERANGE);
	assert_int_equal(uiommu_pgtable_map(pt, 0, UINT64_C(1) << 40, K4, RW,
					    NULL), -ERANGE);
	assert_int_equal(uiommu_pgtable_map(pt, ~UINT64_C(0xfff), 0, K4, RW,
					    NULL), -ERANGE);
	assert_int_equal(uiommu_pgtable_unmap(pt, 0, 0x800, NULL, &done),
			 -EINVAL);
	assert_int_equal(uiommu_pgtable_unmap(pt, UINT64_C(1) << 39, K4, NULL,
					      &done), -ERANGE);
	assert_non_null(strstr(tu_log_text(), "beyond the 39-bit input space"));
	tu_log_release();
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

/* Mapping, unmapping across holes, frees: the tables go back to the pool. */
static void test_unmap_skips_holes_and_frees_tables(void **state)
{
	struct uiommu_pgtable *pt;
	struct env e;
	uint64_t base;

	(void)state;
	env_init(&e);
	base = pool_in_use(&e);
	pt = mk(&e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	assert_int_equal(uiommu_pgtable_map(pt, 0x10000, 0x10000, K4, RW, NULL), 0);
	assert_int_equal(uiommu_pgtable_map(pt, 0x13000, 0x99000, 2 * K4, RW,
					    NULL), 0);
	assert_int_equal(uiommu_pgtable_map(pt, G1 + M2, 0, M2 + K4, RW, NULL), 0);
	/* root + L1 + L2 + L3 (first), L2' + L3' (second) */
	assert_int_equal(pool_in_use(&e), base + 6 * K4);
	unmap_expect(pt, 0, 2 * G1, 3 * K4 + M2 + K4);
	assert_int_equal(pool_in_use(&e), base + K4);
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	unmap_expect(pt, 0, 2 * G1, 0);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

/* ------------------------------------------------------------ gather */

static void test_gather_batches_and_defers_frees(void **state)
{
	struct uiommu_pt_gather g;
	struct uiommu_pgtable *pt;
	struct env e;
	uint64_t done, base;

	(void)state;
	env_init(&e);
	pt = mk(&e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	assert_int_equal(uiommu_pgtable_map(pt, 0x100000, 0, 4 * K4, RW, NULL), 0);
	uiommu_pt_gather_init(&g, 0);
	assert_true(uiommu_pt_gather_empty(&g));
	/* Two leaves: a leaf-only range of 4K granule. */
	assert_int_equal(uiommu_pgtable_unmap(pt, 0x101000, 2 * K4, &g, &done), 0);
	assert_int_equal(done, 2 * K4);
	assert_int_equal(g.start, 0x101000);
	assert_int_equal(g.last, 0x102fff);
	assert_int_equal(g.granule, K4);
	assert_true(g.leaf_only);
	assert_false(uiommu_pt_gather_empty(&g));
	/* The rest empties three tables: walk caches too, and the pages
	 * stay allocated until the driver says the flush is done. */
	base = pool_in_use(&e);
	assert_int_equal(uiommu_pgtable_unmap(pt, 0x100000, 4 * K4, &g, &done), 0);
	assert_int_equal(done, 2 * K4);
	assert_false(g.leaf_only);
	assert_true(g.start <= 0x100000 && g.last >= 0x103fff);
	assert_int_equal(pool_in_use(&e), base);
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	uiommu_pgtable_gather_done(pt, &g);
	assert_int_equal(pool_in_use(&e), base - 3 * K4);
	assert_true(uiommu_pt_gather_empty(&g));

	/* A map with UIOMMU_PT_GATHER_MAPS records the new range. */
	uiommu_pt_gather_init(&g, UIOMMU_PT_GATHER_MAPS);
	assert_int_equal(uiommu_pgtable_map(pt, M2, 0, M2, RW, &g), 0);
	assert_int_equal(g.start, M2);
	assert_int_equal(g.last, 2 * M2 - 1);
	/* Splitting a block invalidates the whole block. */
	uiommu_pt_gather_init(&g, 0);
	assert_int_equal(uiommu_pgtable_unmap(pt, M2 + K4, K4, &g, &done), 0);
	assert_int_equal(done, K4);
	assert_int_equal(g.start, M2);
	assert_int_equal(g.last, 2 * M2 - 1);
	assert_int_equal(g.granule, K4);
	uiommu_pgtable_gather_done(pt, &g);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

/* ------------------------------------------------------------ random */

/*
 * The reference: one slot per granule of a window, holding the mapped
 * output page + 1 (0: unmapped).
 */
struct ref {
	uint64_t *pa1;
	uint64_t n;
	unsigned int g;
};

static void random_run(enum uiommu_pt_format f, unsigned int g,
		       unsigned int ias, unsigned long ops)
{
	struct uiommu_pgtable_info info;
	struct uiommu_pgtable *pt;
	struct ref ref;
	struct env e;
	uint64_t window = UINT64_C(256) << 20, gran = UINT64_C(1) << g;
	uint64_t big = g == 12 ? M2 : g == 14 ? M32 : M512;
	uint64_t base = UINT64_C(1) << (ias - 2); /* away from index 0 */
	unsigned long op, nmap = 0, nunmap = 0, nlook = 0;

	env_init(&e);
	pt = mk(&e, f, g, ias, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	ref.g = g;
	ref.n = window >> g;
	ref.pa1 = calloc(ref.n, sizeof(uint64_t));
	assert_non_null(ref.pa1);
	for (op = 0; op < ops; op++) {
		unsigned int kind = (unsigned int)tu_rand_range(0, 9);
		uint64_t npg, i0, i, pa, done, got;
		int ret, busy = 0;

		/* Sizes up to 1024 granules; sometimes block aligned. */
		npg = tu_rand_range(1, tu_rand_range(0, 3) ? 16 : 1024);
		i0 = tu_rand_range(0, ref.n - npg);
		pa = tu_rand_range(0, (UINT64_C(1) << 36) >> g) << g;
		if (tu_rand_range(0, 3) == 0 && big < window) {
			uint64_t bpg = big >> g;

			i0 = i0 / bpg * bpg;
			npg = bpg * tu_rand_range(1, 2);
			if (i0 + npg > ref.n)
				i0 = ref.n - npg;
			pa &= ~(big - 1);
		}
		if (kind < 4) {		/* map */
			for (i = i0; i < i0 + npg; i++)
				busy |= ref.pa1[i] != 0;
			ret = uiommu_pgtable_map(pt, base + (i0 << g), pa,
						 npg << g, RW, NULL);
			assert_int_equal(ret, busy ? -EEXIST : 0);
			if (!busy)
				for (i = 0; i < npg; i++)
					ref.pa1[i0 + i] = pa + (i << g) + 1;
			nmap++;
		} else if (kind < 7) {	/* unmap */
			uint64_t want = 0;

			for (i = i0; i < i0 + npg; i++) {
				want += ref.pa1[i] ? gran : 0;
				ref.pa1[i] = 0;
			}
			assert_int_equal(uiommu_pgtable_unmap(pt, base + (i0 << g),
							      npg << g, NULL,
							      &done), 0);
			assert_int_equal(done, want);
			nunmap++;
		} else {		/* translate, software and hardware */
			struct uiommu_pt_walk_result r;
			struct uiommu_pt_fault fl;
			uint64_t off = tu_rand_range(0, gran - 1) & ~UINT64_C(7);

			ret = uiommu_pgtable_iova_to_phys(pt, base + (i0 << g) + off,
							  &got, NULL);
			ret |= uiommu_pt_walk(e.pm, &info.walk, info.root,
					      base + (i0 << g) + off,
					      UIOMMU_PT_ACC_READ, &r, &fl) ? 1 : 0;
			if (ref.pa1[i0]) {
				assert_int_equal(ret, 0);
				assert_int_equal(got, ref.pa1[i0] - 1 + off);
				assert_int_equal(r.pa, got);
			} else {
				assert_int_not_equal(ret, 0);
				assert_int_equal(fl.type,
						 UIOMMU_PT_FAULT_TRANSLATION);
			}
			nlook++;
		}
		if (op % 20000 == 0)
			assert_int_equal(uiommu_pgtable_check(pt), 0);
	}
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	print_message("format %d granule %u: %lu maps, %lu unmaps, %lu lookups\n",
		      (int)f, g, nmap, nunmap, nlook);
	free(ref.pa1);
	uiommu_pgtable_destroy(pt);
	assert_int_equal(pool_in_use(&e), 0);
	env_fini(&e);
}

/* At debug level 2 every mutation runs the full invariant checker: fewer
 * operations keep the test within seconds there. */
#if UIOMMU_DEBUG >= 2
#define RANDOM_OPS 10000
#else
#define RANDOM_OPS 100000
#endif

static void test_random_differential(void **state)
{
	uint64_t seed = tu_seed_from_env(0x5eed0001);

	(void)state;
	print_message("seed %" PRIu64 " (replay: UIOMMU_TEST_SEED=%" PRIu64 ")\n",
		      seed, seed);
	random_run(UIOMMU_PT_ARM_S1, 12, 48, RANDOM_OPS);
	random_run(UIOMMU_PT_ARM_S2, 12, 40, RANDOM_OPS);
	random_run(UIOMMU_PT_ARM_S1, 16, 48, RANDOM_OPS / 3);
	random_run(UIOMMU_PT_ARM_S2, 14, 44, RANDOM_OPS / 3);
	random_run(UIOMMU_PT_VTD_SS, 12, 48, RANDOM_OPS);
}

/* ------------------------------------------------------------ fail-Nth */

struct nth_ctx {
	struct env e;
	struct uiommu_pgtable *pt;
	uint64_t in_use;
	long live;
};

static int nth_map(void *p)
{
	struct nth_ctx *c = p;

	/* Crosses a 1G boundary: two L2 tables, several L3 tables. */
	return uiommu_pgtable_map(c->pt, 2 * G1 - 3 * M2 - K4, 0x80000000 - K4,
				  6 * M2 + 2 * K4, RW, NULL);
}

static void nth_check(void *p, int ret)
{
	struct nth_ctx *c = p;
	uint64_t pa;

	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(lookup(c->pt, 0x1000), 0x5000);
	assert_int_equal(lookup(c->pt, G1 + K4), 0x9000);
	assert_int_equal(uiommu_pgtable_iova_to_phys(c->pt, 2 * G1 - M2, &pa,
						     NULL), -ENOENT);
	assert_int_equal(uiommu_pgtable_check(c->pt), 0);
	assert_int_equal(pool_in_use(&c->e), c->in_use);
	assert_int_equal(tu_alloc_live_blocks(), c->live);
}

static void test_fail_nth_map(void **state)
{
	struct nth_ctx c;
	unsigned long n;
	uint64_t done;

	(void)state;
	tu_alloc_install(0);
	env_init(&c.e);
	c.pt = mk(&c.e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	assert_int_equal(uiommu_pgtable_map(c.pt, 0x1000, 0x5000, K4, RW, NULL), 0);
	assert_int_equal(uiommu_pgtable_map(c.pt, G1 + K4, 0x9000, K4, RW, NULL), 0);
	c.in_use = pool_in_use(&c.e);
	c.live = tu_alloc_live_blocks();
	n = tu_fail_nth_sweep(&c, nth_map, nth_check, NULL);
	print_message("map: %lu failure points\n", n);
	assert_true(n >= 3);
	assert_int_equal(lookup(c.pt, 2 * G1), 0x80000000 + 3 * M2);
	assert_int_equal(uiommu_pgtable_check(c.pt), 0);
	unmap_expect(c.pt, 0, 4 * G1, 6 * M2 + 4 * K4);
	assert_int_equal(uiommu_pgtable_unmap(c.pt, 0, K4, NULL, &done), 0);

	/* create: nothing leaks on any failure. */
	uiommu_pgtable_destroy(c.pt);
	c.live = tu_alloc_live_blocks();
	for (n = 1;; n++) {
		struct uiommu_pgtable_cfg cfg = { .format = UIOMMU_PT_ARM_S2,
						  .granule_shift = 12,
						  .ias = 40, .oas = 48 };
		int ret;

		c.pt = NULL;
		tu_alloc_install(n);
		ret = uiommu_pgtable_create(c.e.pm, c.e.pool, &cfg, &c.pt);
		if (!tu_alloc_failed()) {
			assert_int_equal(ret, 0);
			break;
		}
		assert_int_equal(ret, -ENOMEM);
		assert_null(c.pt);
		assert_int_equal(tu_alloc_live_blocks(), c.live);
	}
	uiommu_pgtable_destroy(c.pt);
	env_fini(&c.e);
	tu_alloc_uninstall();
}

static int nth_unmap(void *p)
{
	struct nth_ctx *c = p;
	uint64_t done;
	int ret;

	/* Unmapping one page from the middle of a 1G block splits twice. */
	ret = uiommu_pgtable_unmap(c->pt, G1 + M2 + K4, K4, NULL, &done);
	if (ret == 0)
		assert_int_equal(done, K4);
	return ret;
}

static void nth_unmap_check(void *p, int ret)
{
	struct nth_ctx *c = p;

	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(lookup(c->pt, G1 + M2 + K4), 0x80000000 + M2 + K4);
	assert_int_equal(uiommu_pgtable_check(c->pt), 0);
}

static void nth_unmap_reset(void *p)
{
	struct nth_ctx *c = p;

	/* A failed second split leaves the first (harmless, still mapped):
	 * start again from the block. */
	unmap_expect(c->pt, G1, G1, G1);
	assert_int_equal(uiommu_pgtable_map(c->pt, G1, 0x80000000, G1, RW,
					    NULL), 0);
}

static void test_fail_nth_unmap_split(void **state)
{
	struct nth_ctx c;

	(void)state;
	tu_alloc_install(0);
	env_init(&c.e);
	c.pt = mk(&c.e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	assert_int_equal(uiommu_pgtable_map(c.pt, G1, 0x80000000, G1, RW, NULL), 0);
	assert_int_equal(tu_fail_nth_sweep(&c, nth_unmap, nth_unmap_check,
					   nth_unmap_reset), 2);
	assert_int_equal(uiommu_pgtable_check(c.pt), 0);
	uiommu_pgtable_destroy(c.pt);
	env_fini(&c.e);
	tu_alloc_uninstall();
}

/* ------------------------------------------------------------ walker */

/* A device region that reads as zero and counts the reads. */
static int zero_read(void *opaque, uint64_t offset, unsigned int size,
		     uint64_t *val, const struct uiommu_memattrs *attrs)
{
	(*(unsigned int *)opaque)++;
	*val = 0;
	return 0;
}

static int ignore_write(void *opaque, uint64_t offset, unsigned int size,
			uint64_t val, const struct uiommu_memattrs *attrs)
{
	return 0;
}

static const struct uiommu_mmio_ops zero_ops = { zero_read, ignore_write };

static void test_walk_fault_records(void **state)
{
	struct uiommu_pgtable_info info;
	struct uiommu_pt_walk_cfg wc;
	struct uiommu_pt_fault f;
	struct uiommu_pt_walk_result r;
	struct uiommu_pgtable *pt;
	struct env e;
	uint64_t l1;

	(void)state;
	env_init(&e);
	pt = mk(&e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(uiommu_pgtable_map(pt, 0x1000, 0x2000, K4,
					    UIOMMU_PT_PROT_READ, NULL), 0);
	assert_int_equal(uiommu_pgtable_map(pt, 0x2000, 0x3000, K4,
					    RW | UIOMMU_PT_PROT_PRIV |
					    UIOMMU_PT_PROT_NOEXEC, NULL), 0);
	assert_int_equal(uiommu_pgtable_map(pt, 0x3000, UINT64_C(0x10000000000),
					    K4, RW, NULL), 0);

	/* Translation: nothing at level 3 for 0x4000; nothing at level 0
	 * for 1 << 40 (root entry 2 is invalid); beyond the IAS. */
	f = walk_fault(&e, &info.walk, info.root, 0x4000, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_TRANSLATION);
	assert_int_equal(f.level, 3);
	assert_int_equal(f.stage, 1);
	assert_int_equal(f.iova, 0x4000);
	assert_false(f.fetch);
	f = walk_fault(&e, &info.walk, info.root, UINT64_C(1) << 40,
		       UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_TRANSLATION);
	assert_int_equal(f.level, 0);
	assert_int_equal(f.entry_pa, info.root + 2 * 8);
	f = walk_fault(&e, &info.walk, info.root, UINT64_C(1) << 48,
		       UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_TRANSLATION);

	/* Permission: write to read-only; unprivileged access to a
	 * privileged page; instruction fetch from an XN page. */
	f = walk_fault(&e, &info.walk, info.root, 0x1000, UIOMMU_PT_ACC_WRITE);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);
	assert_int_equal(f.level, 3);
	assert_int_equal(f.access, UIOMMU_PT_ACC_WRITE);
	f = walk_fault(&e, &info.walk, info.root, 0x2000, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);
	r = walk_ok(&e, pt, 0x2000, UIOMMU_PT_ACC_WRITE | UIOMMU_PT_ACC_PRIV);
	assert_int_equal(r.perm, UIOMMU_PT_PERM_READ | UIOMMU_PT_PERM_WRITE);
	f = walk_fault(&e, &info.walk, info.root, 0x2000,
		       UIOMMU_PT_ACC_EXEC | UIOMMU_PT_ACC_PRIV);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);
	/* EL0-writable memory is never executable at EL1. */
	r = walk_ok(&e, pt, 0x3000, UIOMMU_PT_ACC_EXEC);
	f = walk_fault(&e, &info.walk, info.root, 0x3000,
		       UIOMMU_PT_ACC_EXEC | UIOMMU_PT_ACC_PRIV);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);

	/* Address size: the same tables read with a 36-bit output size
	 * (CD.IPS = 1): the leaf at 0x10000000000 is beyond it. */
	assert_int_equal(uiommu_pt_walk_cfg_arm_s1(&wc, 16, 0, 1, 48, 0), 0);
	assert_int_equal(wc.oas, 36);
	f = walk_fault(&e, &wc, info.root, 0x3000, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_ADDR_SIZE);
	assert_int_equal(f.level, 3);
	walk_ok(&e, pt, 0x1000, UIOMMU_PT_ACC_READ);
	/* ... and a table base beyond the output size. */
	f = walk_fault(&e, &wc, UINT64_C(1) << 36, 0x1000, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_ADDR_SIZE);
	assert_int_equal(f.level, 0);

	/* Access flag: clear AF in the leaf behind the table code's back. */
	r = walk_ok(&e, pt, 0x1000, UIOMMU_PT_ACC_READ);
	st(&e, r.desc_pa, r.desc & ~(UINT64_C(1) << 10));
	f = walk_fault(&e, &info.walk, info.root, 0x1000, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_ACCESS_FLAG);
	assert_int_equal(f.entry_pa, r.desc_pa);
	wc = info.walk;
	wc.flags |= UIOMMU_PT_WALK_AF_NOFAULT;
	{
		struct uiommu_pt_walk_result r2;

		assert_int_equal(uiommu_pt_walk(e.pm, &wc, info.root, 0x1000,
						UIOMMU_PT_ACC_READ, &r2, &f), 0);
	}
	st(&e, r.desc_pa, r.desc);

	/* External abort: the level-0 entry points into a hole. */
	l1 = ld(&e, info.root);
	st(&e, info.root, HOLE | 0x3);
	f = walk_fault(&e, &info.walk, info.root, 0x1000, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_EXT_ABORT);
	assert_int_equal(f.level, 1);
	assert_int_equal(f.entry_pa, HOLE);	/* L1 index 0 */
	st(&e, info.root, l1);
	/* A table in MMIO is read as a device access, unless the walker
	 * reads RAM only: then it is an external abort. */
	{
		struct uiommu_pt_walk_cfg ram_only = info.walk;

		unsigned int reads = 0;
		struct uiommu_mmio_desc dev = {
			.name = "dev", .owner = "test", .size = K4,
			.ops = &zero_ops, .opaque = &reads,
		};

		assert_int_equal(uiommu_physmem_add_mmio(e.pm, MMIO_TABLE, &dev), 0);
		ram_only.flags |= UIOMMU_PT_WALK_RAM_ONLY;
		st(&e, info.root, MMIO_TABLE | 0x3);
		f = walk_fault(&e, &info.walk, info.root, 0x1000,
			       UIOMMU_PT_ACC_READ);
		assert_int_equal(f.type, UIOMMU_PT_FAULT_TRANSLATION);
		assert_int_equal(reads, 1);
		f = walk_fault(&e, &ram_only, info.root, 0x1000,
			       UIOMMU_PT_ACC_READ);
		assert_int_equal(f.type, UIOMMU_PT_FAULT_EXT_ABORT);
		assert_int_equal(reads, 1);
		assert_int_equal(f.entry_pa, MMIO_TABLE);
		st(&e, info.root, l1);
	}
	/* A level-3 descriptor with type 0 is invalid. */
	st(&e, r.desc_pa, r.desc & ~UINT64_C(2));
	f = walk_fault(&e, &info.walk, info.root, 0x1000, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_TRANSLATION);
	st(&e, r.desc_pa, r.desc);
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

static void test_walk_hierarchical_and_vtd(void **state)
{
	struct uiommu_pgtable_info info;
	struct uiommu_pt_fault f;
	struct uiommu_pt_walk_result r;
	struct uiommu_pgtable *pt;
	struct env e;
	uint64_t l0;

	(void)state;
	env_init(&e);
	pt = mk(&e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(uiommu_pgtable_map(pt, 0, 0x100000, K4, RW, NULL), 0);
	/* APTable[1] (bit 62) in the level-0 table descriptor: no writes
	 * below it, whatever the leaf says. */
	l0 = ld(&e, info.root);
	st(&e, info.root, l0 | (UINT64_C(1) << 62));
	f = walk_fault(&e, &info.walk, info.root, 0, UIOMMU_PT_ACC_WRITE);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);
	/* UXNTable (bit 60): no unprivileged execution. */
	st(&e, info.root, l0 | (UINT64_C(1) << 60));
	walk_ok(&e, pt, 0, UIOMMU_PT_ACC_WRITE);
	f = walk_fault(&e, &info.walk, info.root, 0, UIOMMU_PT_ACC_EXEC);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);
	st(&e, info.root, l0);
	uiommu_pgtable_destroy(pt);

	/* VT-d: permissions are the AND over all levels; PS in an
	 * SS-PML4E is a reserved-field fault; input beyond the AW. */
	pt = mk(&e, UIOMMU_PT_VTD_SS, 12, 48, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(uiommu_pgtable_map(pt, 0, 0x100000, K4, RW, NULL), 0);
	l0 = ld(&e, info.root);
	st(&e, info.root, l0 & ~UINT64_C(2));	/* PML4E read-only */
	r = walk_ok(&e, pt, 0, UIOMMU_PT_ACC_READ);
	assert_int_equal(r.perm, UIOMMU_PT_PERM_READ);
	f = walk_fault(&e, &info.walk, info.root, 0, UIOMMU_PT_ACC_WRITE);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_PERMISSION);
	assert_int_equal(f.stage, 2);
	assert_int_equal(f.level, 1);
	st(&e, info.root, l0 | (UINT64_C(1) << 7));
	f = walk_fault(&e, &info.walk, info.root, 0, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_RESERVED);
	assert_int_equal(f.level, 4);
	st(&e, info.root, l0);
	f = walk_fault(&e, &info.walk, info.root, UINT64_C(1) << 48,
		       UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_ADDR_SIZE);
	/* Not present: R = W = 0. */
	f = walk_fault(&e, &info.walk, info.root, K4, UIOMMU_PT_ACC_READ);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_TRANSLATION);
	assert_int_equal(f.level, 1);
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

/* Nested: stage-1 descriptor fetches go through a stage-2 table. */
struct nest {
	struct env *e;
	struct uiommu_pgtable_info s2;
	unsigned int calls;
};

static int nest_fetch(void *opaque, uint64_t addr, uint64_t *pa,
		      struct uiommu_pt_fault *fault)
{
	struct nest *n = opaque;
	struct uiommu_pt_walk_result r;

	n->calls++;
	if (uiommu_pt_walk(n->e->pm, &n->s2.walk, n->s2.root, addr,
			   UIOMMU_PT_ACC_READ, &r, fault))
		return -EFAULT;
	*pa = r.pa;
	return 0;
}

static void test_walk_nested_fetch(void **state)
{
	struct uiommu_pgtable_info s1i;
	struct uiommu_pgtable *s1, *s2;
	struct uiommu_pt_walk_cfg wc;
	struct uiommu_pt_walk_result r;
	struct uiommu_pt_fault f;
	struct nest n = { 0 };
	struct env e;
	uint64_t done;

	(void)state;
	env_init(&e);
	n.e = &e;
	s1 = mk(&e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	s2 = mk(&e, UIOMMU_PT_ARM_S2, 12, 40, 48, 0);
	uiommu_pgtable_get_info(s1, &s1i);
	uiommu_pgtable_get_info(s2, &n.s2);
	/* Stage 2 maps the table RAM at IPA == PA. */
	assert_int_equal(uiommu_pgtable_map(s2, RAM_BASE, RAM_BASE, RAM_SIZE,
					    UIOMMU_PT_PROT_READ, NULL), 0);
	assert_int_equal(uiommu_pgtable_map(s1, 0x5000, 0x6000, K4, RW, NULL), 0);
	wc = s1i.walk;
	wc.fetch = nest_fetch;
	wc.fetch_opaque = &n;
	assert_int_equal(uiommu_pt_walk(e.pm, &wc, s1i.root, 0x5008,
					UIOMMU_PT_ACC_READ, &r, &f), 0);
	assert_int_equal(r.pa, 0x6008);
	assert_int_equal(n.calls, 4);
	/* Take the stage-1 root page out of stage 2: the first fetch faults
	 * at stage 2, reported on the stage-1 walk. */
	assert_int_equal(uiommu_pgtable_unmap(s2, s1i.root, K4, NULL, &done), 0);
	assert_int_equal(done, K4);
	memset(&f, 0, sizeof(f));
	assert_int_equal(uiommu_pt_walk(e.pm, &wc, s1i.root, 0x5008,
					UIOMMU_PT_ACC_READ, &r, &f), -EFAULT);
	assert_int_equal(f.type, UIOMMU_PT_FAULT_TRANSLATION);
	assert_int_equal(f.stage, 2);
	assert_true(f.fetch);
	assert_int_equal(f.iova, 0x5008);
	assert_int_equal(f.ipa, s1i.root);
	assert_int_equal(f.level, 3);
	uiommu_pgtable_destroy(s1);
	uiommu_pgtable_destroy(s2);
	env_fini(&e);
}

static void test_walk_cfg_helpers(void **state)
{
	struct uiommu_pt_walk_cfg wc;

	(void)state;
	tu_log_capture(UIOMMU_LOG_WARN);
	/* CD: 4K, T0SZ 25 (39-bit): three levels from level 1. */
	assert_int_equal(uiommu_pt_walk_cfg_arm_s1(&wc, 25, 0, 5, 44, 0), 0);
	assert_int_equal(wc.levels, 3);
	assert_int_equal(wc.oas, 44);	/* IPS 48 capped to the SMMU's OAS */
	/* 16K, T0SZ 17 (47-bit): four levels, level 0 resolves bit 47? no:
	 * 47 - 14 = 33 = 3 * 11: three levels. */
	assert_int_equal(uiommu_pt_walk_cfg_arm_s1(&wc, 17, 2, 5, 48, 0), 0);
	assert_int_equal(wc.levels, 3);
	assert_int_equal(uiommu_pt_walk_cfg_arm_s1(&wc, 16, 3, 5, 48, 0), -EINVAL);
	assert_int_equal(uiommu_pt_walk_cfg_arm_s1(&wc, 16, 0, 7, 48, 0), -EINVAL);
	assert_int_equal(uiommu_pt_walk_cfg_arm_s1(&wc, 40, 0, 5, 48, 0), -EINVAL);
	/* STE: 4K, S2T0SZ 16 (48-bit) must start at level 0 (SL0 = 2);
	 * from level 1 it would need 512 concatenated tables. */
	assert_int_equal(uiommu_pt_walk_cfg_arm_s2(&wc, 16, 2, 0, 5, 48, 0), 0);
	assert_int_equal(wc.levels, 4);
	assert_int_equal(uiommu_pt_walk_cfg_arm_s2(&wc, 16, 1, 0, 5, 48, 0),
			 -EINVAL);
	/* 4K, 42-bit from level 1: 8 concatenated tables. */
	assert_int_equal(uiommu_pt_walk_cfg_arm_s2(&wc, 22, 1, 0, 5, 48, 0), 0);
	assert_int_equal(wc.concat_log2, 3);
	/* 4K, 40-bit from level 0 would resolve one bit: legal, no concat. */
	assert_int_equal(uiommu_pt_walk_cfg_arm_s2(&wc, 24, 2, 0, 5, 48, 0), 0);
	assert_int_equal(wc.levels, 4);
	/* 64K, 48-bit from level 1 (SL0 = 2). */
	assert_int_equal(uiommu_pt_walk_cfg_arm_s2(&wc, 16, 2, 1, 5, 48, 0), 0);
	assert_int_equal(wc.levels, 3);
	assert_int_equal(uiommu_pt_walk_cfg_arm_s2(&wc, 16, 3, 0, 5, 48, 0),
			 -EINVAL);
	/* VT-d: AW 2 (48-bit) needs SAGAW bit 2. */
	assert_int_equal(uiommu_pt_walk_cfg_vtd_ss(&wc, 2, 0x4, 46, 0), 0);
	assert_int_equal(wc.levels, 4);
	assert_int_equal(wc.ias, 48);
	assert_int_equal(uiommu_pt_walk_cfg_vtd_ss(&wc, 3, 0x4, 46, 0), -EINVAL);
	assert_int_equal(uiommu_pt_walk_cfg_vtd_ss(&wc, 2, 0x4, 60, 0), -EINVAL);
	assert_non_null(strstr(tu_log_text(),
			       "pgtable: guest error: AW 3 not in SAGAW 0x4"));
	assert_non_null(strstr(tu_log_text(), "CD.TG0 3 reserved"));
	tu_log_release();
	assert_string_equal(uiommu_pt_fault_name(UIOMMU_PT_FAULT_EXT_ABORT),
			    "external-abort");
}

/* ------------------------------------------------------------ threads */

/*
 * A hardware walk racing with map / unmap / split sees either a fault or
 * the right output address, never a half-written entry.  Tables freed by
 * an unmap wait in the gather until the "invalidation" completed: here,
 * until the walker finished the walk it was in (as a CMD_SYNC would).
 */
struct race {
	struct env e;
	struct uiommu_pgtable_info info;
	int stop;
	unsigned long hits, faults;
	unsigned long epoch;	/* walks completed */
};

/* The driver side of a sync: every walk begun before now has ended. */
static void race_sync(struct race *r, struct uiommu_pgtable *pt,
		      struct uiommu_pt_gather *g)
{
	unsigned long e0 = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);

	while (__atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE) < e0 + 1)
		sched_yield();
	uiommu_pgtable_gather_done(pt, g);
}

#define RACE_BASE (UINT64_C(1) << 32)
#define RACE_DELTA UINT64_C(0x100000000)

static void *race_walker(void *p)
{
	struct race *r = p;
	uint64_t s = 12345;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct uiommu_pt_walk_result res;
		struct uiommu_pt_fault f;
		uint64_t iova;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		iova = RACE_BASE + (s & (2 * M2 - 8));
		if (uiommu_pt_walk(r->e.pm, &r->info.walk, r->info.root, iova,
				   UIOMMU_PT_ACC_READ, &res, &f) == 0) {
			if (res.pa != iova + RACE_DELTA)
				fail_msg("walk 0x%" PRIx64 " -> 0x%" PRIx64, iova,
					 res.pa);
			__atomic_add_fetch(&r->hits, 1, __ATOMIC_RELAXED);
		} else {
			if (f.type != UIOMMU_PT_FAULT_TRANSLATION)
				fail_msg("walk 0x%" PRIx64 ": %s", iova,
					 uiommu_pt_fault_name(f.type));
			__atomic_add_fetch(&r->faults, 1, __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&r->epoch, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_walk_races_with_updates(void **state)
{
	struct uiommu_pgtable *pt;
	struct race r = { 0 };
	pthread_t th;
	uint64_t done;
	unsigned int i;

	(void)state;
	env_init(&r.e);
	pt = mk(&r.e, UIOMMU_PT_ARM_S1, 12, 48, 48, 0);
	uiommu_pgtable_get_info(pt, &r.info);
	/* Keepers: one page in each leaf table the loop uses. */
	assert_int_equal(uiommu_pgtable_map(pt, RACE_BASE, RACE_BASE + RACE_DELTA,
					    K4, RW, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, race_walker, &r), 0);
	/* Run at least 2000 rounds, and until the walker (which may start
	 * late on a busy machine) has done a good number of walks. */
	for (i = 0; i < 2000 ||
		    __atomic_load_n(&r.hits, __ATOMIC_RELAXED) +
		    __atomic_load_n(&r.faults, __ATOMIC_RELAXED) < 20000; i++) {
		uint64_t off = K4 * (1 + i % 511);

		/* Pages come and go in the first 2M ... */
		assert_int_equal(uiommu_pgtable_map(pt, RACE_BASE + off,
						    RACE_BASE + off + RACE_DELTA,
						    K4, RW, NULL), 0);
		unmap_expect(pt, RACE_BASE + off, K4, K4);
		/* ... and a 2M block in the second is mapped, split by a
		 * partial unmap, then removed page by page but one. */
		if (i % 64 == 0) {
			struct uiommu_pt_gather g;

			uiommu_pt_gather_init(&g, 0);
			assert_int_equal(uiommu_pgtable_map(pt, RACE_BASE + M2,
							    RACE_BASE + M2 + RACE_DELTA,
							    M2, RW, NULL), 0);
			assert_int_equal(uiommu_pgtable_unmap(pt, RACE_BASE + M2 + K4,
							      M2 - K4, &g, &done), 0);
			assert_int_equal(done, M2 - K4);
			assert_int_equal(uiommu_pgtable_unmap(pt, RACE_BASE + M2, K4,
							      &g, &done), 0);
			assert_int_equal(done, K4);
			race_sync(&r, pt, &g);
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("walker: %lu hits, %lu faults\n", r.hits, r.faults);
	assert_true(r.hits > 0);
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	uiommu_pgtable_destroy(pt);
	env_fini(&r.e);
}

/* ------------------------------------------------------------ dump */

static char dump_buf[4096];

static int dump_line(void *opaque, const char *line)
{
	(void)opaque;
	strncat(dump_buf, line, sizeof(dump_buf) - strlen(dump_buf) - 2);
	strcat(dump_buf, "\n");
	return 0;
}

static void test_dump_like_intel_debugfs(void **state)
{
	struct uiommu_pgtable_info info;
	struct uiommu_pgtable *pt;
	struct env e;
	char want[2048];
	uint64_t pml4e, pdpe, pde;

	(void)state;
	env_init(&e);
	pt = mk(&e, UIOMMU_PT_VTD_SS, 12, 48, 48, 0);
	uiommu_pgtable_get_info(pt, &info);
	assert_int_equal(uiommu_pgtable_map(pt, 0xfee00000, 0xfee00000, K4, RW,
					    NULL), 0);
	assert_int_equal(uiommu_pgtable_map(pt, 0x40000000, 0x80000000, M2,
					    UIOMMU_PT_PROT_READ, NULL), 0);
	pml4e = ld(&e, info.root);
	pdpe = ld(&e, (pml4e & ~UINT64_C(0xfff)) + 3 * 8);
	pde = ld(&e, (pdpe & ~UINT64_C(0xfff)) + 0x1f7 * 8);
	snprintf(want, sizeof(want),
		 "IOVA_PFN\t\tPML4E             \tPDPE              \tPDE               \tPTE               \tSIZE\n"
		 "0x0000000040000 |\t0x%016" PRIx64 "\t0x%016" PRIx64
		 "\t0x0000000080000081\t0x0000000000000000\t2M\n"
		 "0x00000000fee00 |\t0x%016" PRIx64 "\t0x%016" PRIx64
		 "\t0x%016" PRIx64 "\t0x00000000fee00003\t4K\n",
		 pml4e, ld(&e, (pml4e & ~UINT64_C(0xfff)) + 1 * 8), pml4e, pdpe,
		 pde);
	dump_buf[0] = '\0';
	assert_int_equal(uiommu_pgtable_dump_lines(pt, dump_line, NULL), 0);
	assert_string_equal(dump_buf, want);
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		assert_non_null(f);
		assert_int_equal(uiommu_pgtable_dump(pt, f), 0);
		fclose(f);
		assert_string_equal(text, want);
		free(text);
	}
	uiommu_pgtable_destroy(pt);
	env_fini(&e);
}

struct leaves {
	unsigned int n;
	struct uiommu_pt_leaf l[4];
};

static int collect_leaf(void *opaque, const struct uiommu_pt_leaf *leaf)
{
	struct leaves *ls = opaque;

	if (ls->n == 4)
		return 42;
	ls->l[ls->n++] = *leaf;
	return 0;
}

/* The leaf iterator walks what the dump prints, decoded. */
static void test_for_each_leaf(void **state)
{
	static const enum uiommu_pt_format fmts[] = {
		UIOMMU_PT_ARM_S1, UIOMMU_PT_ARM_S2, UIOMMU_PT_VTD_SS,
	};

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		struct uiommu_pgtable *pt;
		struct leaves ls = { 0 };
		struct env e;

		env_init(&e);
		pt = mk(&e, fmts[i], 12, 48, 48, 0);
		assert_int_equal(uiommu_pgtable_map(pt, 0x40000000, 0x80000000, M2,
						    UIOMMU_PT_PROT_READ, NULL), 0);
		assert_int_equal(uiommu_pgtable_map(pt, 0xfee00000, 0x9000, 2 * K4,
						    RW, NULL), 0);
		assert_int_equal(uiommu_pgtable_for_each_leaf(pt, collect_leaf,
							      &ls), 0);
		assert_int_equal(ls.n, 3);
		assert_int_equal(ls.l[0].iova, 0x40000000);
		assert_int_equal(ls.l[0].pa, 0x80000000);
		assert_int_equal(ls.l[0].size, M2);
		assert_int_equal(ls.l[0].prot & RW, UIOMMU_PT_PROT_READ);
		assert_int_equal(ls.l[0].level, 2);	/* Arm L2, VT-d PDE */
		assert_int_equal(ls.l[2].iova, 0xfee01000);
		assert_int_equal(ls.l[2].pa, 0xa000);
		assert_int_equal(ls.l[2].size, K4);
		assert_int_equal(ls.l[2].prot & RW, RW);
		assert_int_equal(ls.l[2].level, fmts[i] == UIOMMU_PT_VTD_SS ? 1 : 3);
		assert_int_equal(ls.l[2].pa, ls.l[2].desc & 0xfffffffff000);
		/* A non-zero return stops the walk and is returned */
		ls.n = 4;
		assert_int_equal(uiommu_pgtable_for_each_leaf(pt, collect_leaf,
							      &ls), 42);
		tu_log_capture(UIOMMU_LOG_ERR);
		assert_int_equal(uiommu_pgtable_for_each_leaf(NULL, collect_leaf,
							      &ls), -EINVAL);
		assert_int_equal(uiommu_pgtable_for_each_leaf(pt, NULL, NULL),
				 -EINVAL);
		tu_log_release();
		uiommu_pgtable_destroy(pt);
		env_fini(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arm_s1_4k_descriptors),
		cmocka_unit_test(test_arm_s2_4k_concatenated),
		cmocka_unit_test(test_arm_64k_16k_descriptors),
		cmocka_unit_test(test_vtd_descriptors),
		cmocka_unit_test(test_lookup_reports_prot),
		cmocka_unit_test(test_sweep_granule_ias_oas),
		cmocka_unit_test(test_create_rejects_bad_configs),
		cmocka_unit_test(test_map_rejects_bad_arguments),
		cmocka_unit_test(test_unmap_skips_holes_and_frees_tables),
		cmocka_unit_test(test_gather_batches_and_defers_frees),
		cmocka_unit_test(test_random_differential),
		cmocka_unit_test(test_fail_nth_map),
		cmocka_unit_test(test_fail_nth_unmap_split),
		cmocka_unit_test(test_walk_fault_records),
		cmocka_unit_test(test_walk_hierarchical_and_vtd),
		cmocka_unit_test(test_walk_nested_fetch),
		cmocka_unit_test(test_walk_cfg_helpers),
		cmocka_unit_test(test_walk_races_with_updates),
		cmocka_unit_test(test_dump_like_intel_debugfs),
		cmocka_unit_test(test_for_each_leaf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
