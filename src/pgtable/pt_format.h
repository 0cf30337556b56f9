/* SPDX-License-Identifier: MIT */
/*
 * Descriptor formats of the I/O page tables, and the geometry every format
 * shares.  This is the only place that knows bit positions; the walker
 * (pt_walk.c) and the table code (pgtable.c) are generic and call the small
 * inline hooks below with a compile-time constant format, so each format
 * gets its own specialised copy of the one generic algorithm.
 *
 * Geometry.  A table is described by its granule (g = 12, 14 or 16), its
 * input size (IAS) and its number of lookup levels.  Code counts levels by
 * height h: h = 0 is the level of the smallest pages, h = levels - 1 the
 * start level.  Each level below the start resolves bpl = g - 3 input bits
 * at bit g + h * bpl; the start level resolves what is left (its table may
 * be several concatenated granules at Arm stage 2).  Architectural level
 * numbers: Arm level = 3 - h, VT-d level = h + 1.
 */
#ifndef UIO_PT_FORMAT_H
#define UIO_PT_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include <uiommu/pgtable.h>

#include "bits.h"

/* ------------------------------------------------------------------ Arm */

/*
 * Arm ARM DDI 0487 K.a, D8.3 "Translation table descriptor formats"
 * (VMSAv8-64, 4KB / 16KB / 64KB granules, 48-bit OA):
 * descriptor[0] valid; descriptor[1] type: at levels 0..2, 1 = table and
 * 0 = block; at level 3, 1 = page (0 is reserved and treated as invalid).
 */
UIO_FIELD(ARM_DESC, VALID, 0, 1);
UIO_FIELD(ARM_DESC, TYPE, 1, 1);
/*
 * D8.3: next-level table address / output address, bits [47:g] (the bits
 * below the granule, or below the block size, are RES0).  Bits [51:48] are
 * OA[51:48] only with FEAT_LPA/LPA2; here any of them set is an output
 * address beyond 48 bits, hence beyond every supported OAS.
 */
UIO_FIELD(ARM_DESC, ADDR, 12, 40);
/* D8.3, stage-1 table descriptor: hierarchical attributes. */
UIO_FIELD(ARM_TABLE, PXNTABLE, 59, 1);
UIO_FIELD(ARM_TABLE, UXNTABLE, 60, 1);	/* XNTable */
UIO_FIELD(ARM_TABLE, APTABLE, 61, 2);	/* [0]: no EL0 access, [1]: no write */
UIO_FIELD(ARM_TABLE, NSTABLE, 63, 1);
/* D8.3 block and page descriptors, stage 1 lower and upper attributes. */
UIO_FIELD(ARM_S1, ATTRINDX, 2, 3);	/* index into MAIR */
UIO_FIELD(ARM_S1, NS, 5, 1);
UIO_FIELD(ARM_S1, AP, 6, 2);		/* AP[2:1]: [1] read-only, [0] EL0 access */
UIO_FIELD(ARM_LEAF, SH, 8, 2);		/* shareability, both stages */
UIO_FIELD(ARM_LEAF, AF, 10, 1);		/* access flag, both stages */
UIO_FIELD(ARM_S1, NG, 11, 1);		/* not global: ASID-tagged */
UIO_FIELD(ARM_LEAF, CONTIG, 52, 1);
UIO_FIELD(ARM_S1, PXN, 53, 1);
UIO_FIELD(ARM_S1, UXN, 54, 1);		/* XN / UXN */
/*
 * D8.3, stage-2 block and page descriptors; D8.6 "Memory region attributes"
 * for MemAttr: [3:2] = 0b00 Device ([1:0] = 0b01: nGnRE), otherwise Normal
 * with [3:2] outer and [1:0] inner cacheability (0b01 NC, 0b11 WB).
 */
UIO_FIELD(ARM_S2, MEMATTR, 2, 4);
UIO_FIELD(ARM_S2, S2AP, 6, 2);		/* [0] read, [1] write */
UIO_FIELD(ARM_S2, XN, 54, 1);		/* XN (XN[1] with FEAT_XNX) */

/* D8.6: SH encodings. */
#define ARM_SH_OUTER 2u
#define ARM_SH_INNER 3u
/* Stage-2 MemAttr values used for the prot flags. */
#define ARM_S2_MEMATTR_DEV_nGnRE 0x1u
#define ARM_S2_MEMATTR_NC	 0x5u
#define ARM_S2_MEMATTR_WB	 0xfu
/* AttrIndx values matching UIOMMU_PT_ARM_MAIR. */
#define ARM_ATTRIDX_NC	  0u
#define ARM_ATTRIDX_WB	  1u
#define ARM_ATTRIDX_DEV	  2u

/* ---------------------------------------------------------------- VT-d */

/*
 * Intel VT-d Architecture Specification rev 4.1, 9.8 "Second-Stage Paging
 * Entries" (SS-PML5E, SS-PML4E, SS-PDPE, SS-PDE, SS-PTE), and 3.7
 * "Second-Stage Translation".  An entry with R = W = 0 is not present.
 * PS is defined in SS-PDPE (1 GiB page) and SS-PDE (2 MiB page) and
 * reserved in SS-PML5E and SS-PML4E; EMT, IPAT and SNP apply to leaves.
 */
UIO_FIELD(VTD_SS, R, 0, 1);
UIO_FIELD(VTD_SS, W, 1, 1);
UIO_FIELD(VTD_SS, X, 2, 1);		/* execute, when ECAP/SSEE enable it */
UIO_FIELD(VTD_SS, EMT, 3, 3);		/* extended memory type */
UIO_FIELD(VTD_SS, IPAT, 6, 1);		/* ignore PAT */
UIO_FIELD(VTD_SS, PS, 7, 1);		/* page size: this entry is a leaf */
UIO_FIELD(VTD_SS, A, 8, 1);		/* accessed (hardware sets, if enabled) */
UIO_FIELD(VTD_SS, D, 9, 1);		/* dirty */
UIO_FIELD(VTD_SS, SNP, 11, 1);		/* snoop: force coherent access */
UIO_FIELD(VTD_SS, ADDR, 12, 40);	/* ADDR [51:12]; bits >= HAW reserved */

/* ------------------------------------------------------------ geometry */

static inline bool pt_is_arm(enum uiommu_pt_format f)
{
	return f != UIOMMU_PT_VTD_SS;
}

static inline unsigned int pt_bpl(const struct uiommu_pt_walk_cfg *wc)
{
	return wc->granule_shift - 3u;
}

/* Lowest input bit resolved at height @h. */
static inline unsigned int pt_shift(const struct uiommu_pt_walk_cfg *wc,
				    unsigned int h)
{
	return wc->granule_shift + h * pt_bpl(wc);
}

/* Input bits resolved at height @h (the start level may resolve fewer, or
 * more with concatenation). */
static inline unsigned int pt_index_bits(const struct uiommu_pt_walk_cfg *wc,
					 unsigned int h)
{
	if (h == wc->levels - 1u)
		return wc->ias - pt_shift(wc, h);
	return pt_bpl(wc);
}

static inline unsigned int pt_index(const struct uiommu_pt_walk_cfg *wc,
				    unsigned int h, uint64_t iova)
{
	return (unsigned int)((iova >> pt_shift(wc, h)) &
			      ((UINT64_C(1) << pt_index_bits(wc, h)) - 1));
}

static inline int pt_arch_level(enum uiommu_pt_format f, unsigned int h)
{
	return pt_is_arm(f) ? 3 - (int)h : (int)h + 1;
}

/* ------------------------------------------------------------ descriptors */

static inline bool pt_valid(enum uiommu_pt_format f, uint64_t d)
{
	if (pt_is_arm(f))
		return d & ARM_DESC_VALID_MASK;
	return d & (VTD_SS_R_MASK | VTD_SS_W_MASK);
}

/* A valid descriptor at height @h > 0 points to a table (not a block). */
static inline bool pt_is_table(enum uiommu_pt_format f, uint64_t d)
{
	if (pt_is_arm(f))
		return d & ARM_DESC_TYPE_MASK;
	return !(d & VTD_SS_PS_MASK);
}

/* Address field of a descriptor whose tables / pages are 2^@g aligned. */
static inline uint64_t pt_addr(enum uiommu_pt_format f, unsigned int g,
			       uint64_t d)
{
	uint64_t mask = pt_is_arm(f) ? ARM_DESC_ADDR_MASK : VTD_SS_ADDR_MASK;

	return d & mask & ~((UINT64_C(1) << g) - 1);
}

/* Table descriptor (no hierarchical restrictions) for a table at @pa. */
static inline uint64_t pt_mk_table(enum uiommu_pt_format f, uint32_t flags,
				   uint64_t pa)
{
	if (pt_is_arm(f))
		return pa | ARM_DESC_VALID_MASK | ARM_DESC_TYPE_MASK;
	/* Permissions are the AND over all levels: grant all here. */
	return pa | VTD_SS_R_MASK | VTD_SS_W_MASK |
	       ((flags & UIOMMU_PGTABLE_VTD_EXEC) ? VTD_SS_X_MASK : 0);
}

/* Leaf descriptor at height @h from its attribute bits. */
static inline uint64_t pt_mk_leaf(enum uiommu_pt_format f, unsigned int h,
				  uint64_t pa, uint64_t attrs)
{
	if (pt_is_arm(f))
		return pa | attrs | ARM_DESC_VALID_MASK |
		       (h == 0 ? ARM_DESC_TYPE_MASK : 0);
	return pa | attrs | (h ? VTD_SS_PS_MASK : 0);
}

/* The attribute bits of a leaf: everything but address and type. */
static inline uint64_t pt_leaf_attrs(enum uiommu_pt_format f, uint64_t d)
{
	if (pt_is_arm(f))
		return d & ~(ARM_DESC_ADDR_MASK | ARM_DESC_VALID_MASK |
			     ARM_DESC_TYPE_MASK);
	return d & ~(VTD_SS_ADDR_MASK | VTD_SS_PS_MASK);
}

/* Attribute bits for a mapping with UIOMMU_PT_PROT_* @prot. */
static inline uint64_t pt_prot_attrs(enum uiommu_pt_format f, uint32_t flags,
				     uint32_t prot)
{
	bool cache = prot & UIOMMU_PT_PROT_CACHE;
	bool mmio = prot & UIOMMU_PT_PROT_MMIO;
	bool noexec = prot & UIOMMU_PT_PROT_NOEXEC;
	uint64_t d = 0;

	switch (f) {
	case UIOMMU_PT_ARM_S1:
		/* AP[2] = read-only; AP[1] = EL0 (unprivileged) access. */
		d = UIO_FDP64(d, ARM_S1, AP,
			      (!(prot & UIOMMU_PT_PROT_WRITE) ? 2u : 0u) |
			      (!(prot & UIOMMU_PT_PROT_PRIV) ? 1u : 0u));
		d = UIO_FDP64(d, ARM_S1, ATTRINDX,
			      mmio ? ARM_ATTRIDX_DEV :
			      cache ? ARM_ATTRIDX_WB : ARM_ATTRIDX_NC);
		d = UIO_FDP64(d, ARM_S1, NG, 1);
		d = UIO_FDP64(d, ARM_S1, UXN, noexec);
		d = UIO_FDP64(d, ARM_S1, PXN, noexec);
		break;
	case UIOMMU_PT_ARM_S2:
		d = UIO_FDP64(d, ARM_S2, S2AP,
			      ((prot & UIOMMU_PT_PROT_READ) ? 1u : 0u) |
			      ((prot & UIOMMU_PT_PROT_WRITE) ? 2u : 0u));
		d = UIO_FDP64(d, ARM_S2, MEMATTR,
			      mmio ? ARM_S2_MEMATTR_DEV_nGnRE :
			      cache ? ARM_S2_MEMATTR_WB : ARM_S2_MEMATTR_NC);
		d = UIO_FDP64(d, ARM_S2, XN, noexec);
		break;
	case UIOMMU_PT_VTD_SS:
		d = UIO_FDP64(d, VTD_SS, R, !!(prot & UIOMMU_PT_PROT_READ));
		d = UIO_FDP64(d, VTD_SS, W, !!(prot & UIOMMU_PT_PROT_WRITE));
		d = UIO_FDP64(d, VTD_SS, X,
			      (flags & UIOMMU_PGTABLE_VTD_EXEC) && !noexec);
		d = UIO_FDP64(d, VTD_SS, SNP, cache);
		return d;
	}
	d = UIO_FDP64(d, ARM_LEAF, SH, cache ? ARM_SH_INNER : ARM_SH_OUTER);
	return UIO_FDP64(d, ARM_LEAF, AF, 1);
}

/* The UIOMMU_PT_PROT_* a leaf written by pt_prot_attrs() encodes. */
static inline uint32_t pt_attrs_prot(enum uiommu_pt_format f, uint32_t flags,
				     uint64_t d)
{
	uint32_t prot = 0;
	uint64_t v;

	switch (f) {
	case UIOMMU_PT_ARM_S1:
		v = UIO_FEX64(d, ARM_S1, AP);
		prot = UIOMMU_PT_PROT_READ |
		       ((v & 2) ? 0 : UIOMMU_PT_PROT_WRITE) |
		       ((v & 1) ? 0 : UIOMMU_PT_PROT_PRIV);
		v = UIO_FEX64(d, ARM_S1, ATTRINDX);
		prot |= v == ARM_ATTRIDX_DEV ? UIOMMU_PT_PROT_MMIO :
			v == ARM_ATTRIDX_WB ? UIOMMU_PT_PROT_CACHE : 0;
		if (UIO_FEX64(d, ARM_S1, UXN))
			prot |= UIOMMU_PT_PROT_NOEXEC;
		break;
	case UIOMMU_PT_ARM_S2:
		v = UIO_FEX64(d, ARM_S2, S2AP);
		prot = ((v & 1) ? UIOMMU_PT_PROT_READ : 0) |
		       ((v & 2) ? UIOMMU_PT_PROT_WRITE : 0);
		v = UIO_FEX64(d, ARM_S2, MEMATTR);
		prot |= v == ARM_S2_MEMATTR_DEV_nGnRE ? UIOMMU_PT_PROT_MMIO :
			v == ARM_S2_MEMATTR_WB ? UIOMMU_PT_PROT_CACHE : 0;
		if (UIO_FEX64(d, ARM_S2, XN))
			prot |= UIOMMU_PT_PROT_NOEXEC;
		break;
	case UIOMMU_PT_VTD_SS:
		prot = (UIO_FEX64(d, VTD_SS, R) ? UIOMMU_PT_PROT_READ : 0) |
		       (UIO_FEX64(d, VTD_SS, W) ? UIOMMU_PT_PROT_WRITE : 0) |
		       (UIO_FEX64(d, VTD_SS, SNP) ? UIOMMU_PT_PROT_CACHE : 0);
		if ((flags & UIOMMU_PGTABLE_VTD_EXEC) && !UIO_FEX64(d, VTD_SS, X))
			prot |= UIOMMU_PT_PROT_NOEXEC;
		break;
	}
	return prot;
}

/* ------------------------------------------------------------ configs */

/* Arm PS / IPS encodings (D8 / SMMUv3 CD.IPS): output bits per value. */
static const uint8_t pt_arm_ps_bits[] = { 32, 36, 40, 42, 44, 48 };

/* Heights at which a leaf may sit (bit h set), per format and granule. */
static inline unsigned int pt_leaf_heights(enum uiommu_pt_format f,
					   unsigned int g, uint32_t wflags)
{
	if (!pt_is_arm(f))
		return 1u | ((wflags & UIOMMU_PT_WALK_VTD_SP2M) ? 2u : 0u) |
		       ((wflags & UIOMMU_PT_WALK_VTD_SP1G) ? 4u : 0u);
	/* D8.3: 4K blocks at levels 1 and 2; 16K and 64K at level 2 only
	 * (level-1 blocks need 52-bit addressing). */
	return g == 12 ? 7u : 3u;
}

int uio_pt_walk_cfg_check(const struct uiommu_pt_walk_cfg *wc);

#endif /* UIO_PT_FORMAT_H */
