// SPDX-License-Identifier: MIT
/*
 * SMMUv3 model: VMSAv8-64 translation table walk (private adapter).
 *
 * The pgtable layer owns the I/O page-table formats; until its walker entry
 * point exists this file is the SMMU model's minimal walker, behind the one
 * call uio_smmu_walk() that the rest of the model uses.  It covers what an
 * SMMUv3 needs (IHI 0070 G.b, 3.4 and 5.x referring to Arm DDI 0487 D8):
 * 4K/16K/64K granules, stage 1 and stage 2 (with concatenated start-level
 * tables), block and page descriptors, hierarchical permissions, the access
 * flag, address-size checks, and stage-1 descriptor fetches translated
 * through stage 2 (nested) by a callback.  Permissions are returned as a
 * mask; the caller decides on permission faults.
 */
#include <inttypes.h>

#include "smmuv3-internal.h"

/* DDI 0487 D8.3 VMSAv8-64 descriptors: common bits */
UIO_FIELD(DESC, VALID, 0, 1);
UIO_FIELD(DESC, TABLE, 1, 1);	/* table (level < 3) or page (level 3) */
/* D8.3.2 Stage 1 block/page attributes */
UIO_FIELD(DESC, AP, 6, 2);	/* AP[2:1]: bit 7 read-only, bit 6 EL0 */
UIO_FIELD(DESC, AF, 10, 1);
UIO_FIELD(DESC, PXN, 53, 1);
UIO_FIELD(DESC, UXN, 54, 1);	/* stage 2: XN[1] */
/* D8.3.2 Stage 2 block/page attributes */
UIO_FIELD(DESC, S2AP, 6, 2);	/* bit 6 read, bit 7 write */
/* D8.3.1 Stage 1 table descriptor hierarchical attributes */
UIO_FIELD(DESC, PXNTABLE, 59, 1);
UIO_FIELD(DESC, UXNTABLE, 60, 1);
UIO_FIELD(DESC, APTABLE, 61, 2);	/* bit 61 no EL0, bit 62 read-only */
/* Output / next-level address bits [47:granule] (no 52-bit PAs) */
#define DESC_ADDR_HI 47

int uio_smmu_walk_start_level(unsigned int gshift, unsigned int ias)
{
	unsigned int stride = gshift - 3;

	return 4 - (int)((ias - gshift + stride - 1) / stride);
}

static int walk_fault(struct smmu_walk_fault *f, const struct smmu_walk_cfg *cfg,
		      uint8_t type, int level, uint64_t ia, uint64_t fetch)
{
	f->type = type;
	f->level = (int8_t)level;
	f->stage = cfg->stage2 ? 2 : 1;
	f->cls = UIOMMU_SMMUV3_CLASS_IN;
	f->ipa = cfg->stage2 ? ia : 0;
	f->fetch_addr = fetch;
	return -EFAULT;
}

/* Level of a block descriptor allowed for the granule (no FEAT_LPA2). */
static bool block_ok(unsigned int gshift, int level)
{
	return gshift == 12 ? (level == 1 || level == 2) : level == 2;
}

struct s1_table_attrs {
	bool ro, no_user, pxn, uxn;
};

static uint8_t s1_perm(uint64_t d, const struct s1_table_attrs *t, bool wxn)
{
	uint64_t ap = UIO_FEX64(d, DESC, AP);
	bool ro = (ap & 2) || t->ro;
	bool user = (ap & 1) && !t->no_user;
	bool pxn = UIO_FEX64(d, DESC, PXN) || t->pxn || (user && !ro) ||
		   (wxn && !ro);
	bool uxn = UIO_FEX64(d, DESC, UXN) || t->uxn || (wxn && user && !ro);
	uint8_t priv = SMMU_PERM_R | (ro ? 0 : SMMU_PERM_W) |
		       (pxn ? 0 : SMMU_PERM_X);
	uint8_t unpriv = (user ? SMMU_PERM_R : 0) |
			 (user && !ro ? SMMU_PERM_W : 0) |
			 (uxn ? 0 : SMMU_PERM_X);

	return (uint8_t)(unpriv | priv << SMMU_PERM_PRIV_SHIFT);
}

static uint8_t s2_perm(uint64_t d)
{
	uint64_t s2ap = UIO_FEX64(d, DESC, S2AP);
	uint8_t p = (uint8_t)(((s2ap & 1) ? SMMU_PERM_R : 0) |
			      ((s2ap & 2) ? SMMU_PERM_W : 0) |
			      (UIO_FEX64(d, DESC, UXN) ? 0 : SMMU_PERM_X));

	return (uint8_t)(p | p << SMMU_PERM_PRIV_SHIFT);
}

int uio_smmu_walk(struct uiommu_physmem *pm, const struct smmu_walk_cfg *cfg,
		  uint64_t ia, struct smmu_walk_out *out,
		  struct smmu_walk_fault *f)
{
	unsigned int g = cfg->gshift, stride = g - 3;
	int level = cfg->start_level;
	unsigned int top = g + (unsigned int)(3 - level) * stride;
	unsigned int bits = cfg->ias - top;	/* index bits at the start level */
	uint64_t table = uio_align_down(cfg->ttb, (UINT64_C(8) << bits) < 64 ?
					64 : UINT64_C(8) << bits);
	struct s1_table_attrs ta = { false, false, false, false };

	assert(g == 12 || g == 14 || g == 16);
	assert(level >= 0 && level <= 3 && cfg->ias > top && cfg->ias <= 64);
	if (cfg->ias < 64 && (ia >> cfg->ias))
		return walk_fault(f, cfg, UIOMMU_SMMUV3_EVT_F_TRANSLATION, level,
				  ia, 0);
	for (;;) {
		unsigned int lshift = g + (unsigned int)(3 - level) * stride;
		uint64_t idx = (ia >> lshift) & (UIO_BIT(bits) - 1);
		uint64_t dpa = table + idx * 8, d, oa;

		if (cfg->fetch && cfg->fetch(cfg->opaque, dpa, &dpa, f)) {
			/* stage 2 fault on a stage 1 table fetch (CLASS TT) */
			f->cls = UIOMMU_SMMUV3_CLASS_TT;
			return -EFAULT;
		}
		if (uiommu_phys_ld(pm, dpa, 8, &d, NULL)) {
			walk_fault(f, cfg, UIOMMU_SMMUV3_EVT_F_WALK_EABT, level, ia,
				   dpa);
			f->cls = UIOMMU_SMMUV3_CLASS_TT;
			return -EFAULT;
		}
		if (!UIO_FEX64(d, DESC, VALID))
			return walk_fault(f, cfg, UIOMMU_SMMUV3_EVT_F_TRANSLATION,
					  level, ia, 0);
		if (level < 3 && UIO_FEX64(d, DESC, TABLE)) {
			table = d & UIO_GENMASK(DESC_ADDR_HI, g);
			if (cfg->oas < 64 && (table >> cfg->oas))
				return walk_fault(f, cfg, UIOMMU_SMMUV3_EVT_F_ADDR_SIZE,
						  level, ia, 0);
			if (!cfg->stage2) {
				uint64_t apt = UIO_FEX64(d, DESC, APTABLE);

				ta.no_user |= apt & 1;
				ta.ro |= (apt & 2) != 0;
				ta.pxn |= UIO_FEX64(d, DESC, PXNTABLE);
				ta.uxn |= UIO_FEX64(d, DESC, UXNTABLE);
			}
			level++;
			bits = stride;
			continue;
		}
		if (level == 3 ? !UIO_FEX64(d, DESC, TABLE) : !block_ok(g, level))
			return walk_fault(f, cfg, UIOMMU_SMMUV3_EVT_F_TRANSLATION,
					  level, ia, 0);
		oa = d & UIO_GENMASK(DESC_ADDR_HI, lshift);
		if (cfg->oas < 64 && (oa >> cfg->oas))
			return walk_fault(f, cfg, UIOMMU_SMMUV3_EVT_F_ADDR_SIZE,
					  level, ia, 0);
		if (!UIO_FEX64(d, DESC, AF) && !cfg->affd)
			return walk_fault(f, cfg, UIOMMU_SMMUV3_EVT_F_ACCESS, level,
					  ia, 0);
		out->oa = oa;
		out->shift = lshift;
		out->level = level;
		out->perm = cfg->stage2 ? s2_perm(d) : s1_perm(d, &ta, cfg->wxn);
		return 0;
	}
}
