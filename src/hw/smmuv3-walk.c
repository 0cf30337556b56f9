// SPDX-License-Identifier: MIT
/*
 * SMMUv3 model: the translation table walk, delegated to the pgtable
 * layer's hardware walker (uiommu_pt_walk()).
 *
 * This file is the one place where the model meets the walker: it maps the
 * transaction's access to the walker's, the walker's permissions to the
 * TLB's per-privilege permission bits, and the walker's fault record
 * {type, stage, level, ipa, entry_pa} to an SMMUv3 event number and CLASS
 * (IHI 0070 G.b, 7.3.12 - 7.3.16).
 */
#include <string.h>

#include "smmuv3-internal.h"

static uint32_t pt_access(uint32_t access)
{
	uint32_t a = (access & UIOMMU_SMMUV3_ACC_WRITE) ? UIOMMU_PT_ACC_WRITE :
		     (access & UIOMMU_SMMUV3_ACC_EXEC) ? UIOMMU_PT_ACC_EXEC :
							  UIOMMU_PT_ACC_READ;

	return (access & UIOMMU_SMMUV3_ACC_PRIV) ? a | UIOMMU_PT_ACC_PRIV : a;
}

/* Walker permissions of the walked privilege as SMMU_PERM_* bits. */
static uint8_t smmu_perm(uint32_t perm, uint32_t access, bool stage2)
{
	uint8_t p = (uint8_t)(((perm & UIOMMU_PT_PERM_READ) ? SMMU_PERM_R : 0) |
			      ((perm & UIOMMU_PT_PERM_WRITE) ? SMMU_PERM_W : 0) |
			      ((perm & UIOMMU_PT_PERM_EXEC) ? SMMU_PERM_X : 0));

	/* stage 2 permissions do not depend on the privilege */
	if (stage2)
		return (uint8_t)(p | p << SMMU_PERM_PRIV_SHIFT);
	return (access & UIOMMU_SMMUV3_ACC_PRIV) ?
		(uint8_t)(p << SMMU_PERM_PRIV_SHIFT) : p;
}

static uint8_t event_of(enum uiommu_pt_fault_type t)
{
	switch (t) {
	case UIOMMU_PT_FAULT_PERMISSION: return UIOMMU_SMMUV3_EVT_F_PERMISSION;
	case UIOMMU_PT_FAULT_ACCESS_FLAG: return UIOMMU_SMMUV3_EVT_F_ACCESS;
	case UIOMMU_PT_FAULT_ADDR_SIZE: return UIOMMU_SMMUV3_EVT_F_ADDR_SIZE;
	case UIOMMU_PT_FAULT_EXT_ABORT: return UIOMMU_SMMUV3_EVT_F_WALK_EABT;
	default: return UIOMMU_SMMUV3_EVT_F_TRANSLATION;
	}
}

/* The walker's fault record as the model's (stage, CLASS, IPA, FetchAddr). */
static void convert_fault(const struct smmu_walk_cfg *cfg, uint64_t ia,
			  const struct uiommu_pt_fault *pf,
			  struct smmu_walk_fault *f)
{
	memset(f, 0, sizeof(*f));
	f->type = event_of(pf->type);
	f->level = pf->level;
	if (pf->fetch) {
		/* stage 2 fault on a stage-1 descriptor fetch (CLASS TT):
		 * IPA is the descriptor's IPA (7.3.13) */
		f->stage = 2;
		f->cls = UIOMMU_SMMUV3_CLASS_TT;
		f->ipa = pf->ipa;
	} else {
		f->stage = cfg->stage2 ? 2 : 1;
		/* 7.3.12: a stage 1 walk abort is CLASS TT, S2 = 0 */
		f->cls = (pf->type == UIOMMU_PT_FAULT_EXT_ABORT && !cfg->stage2) ?
			 UIOMMU_SMMUV3_CLASS_TT : UIOMMU_SMMUV3_CLASS_IN;
		f->ipa = cfg->stage2 ? ia : 0;
	}
	if (pf->type == UIOMMU_PT_FAULT_EXT_ABORT)
		f->fetch_addr = pf->entry_pa;
}

int uio_smmu_walk(struct uiommu_physmem *pm, const struct smmu_walk_cfg *cfg,
		  uint64_t ia, uint32_t access, struct smmu_walk_out *out,
		  struct smmu_walk_fault *f)
{
	struct uiommu_pt_walk_result res;
	struct uiommu_pt_fault pf;

	if (uiommu_pt_walk(pm, &cfg->pt, cfg->ttb, ia, pt_access(access), &res, &pf)) {
		convert_fault(cfg, ia, &pf, f);
		return -EFAULT;
	}
	out->shift = (unsigned int)__builtin_ctzll(res.page_size);
	out->oa = res.pa & ~(res.page_size - 1);
	out->level = res.level;
	out->perm = smmu_perm(res.perm, access, cfg->stage2);
	return 0;
}
