// SPDX-License-Identifier: MIT
/*
 * The hardware side of the I/O page tables: walk configurations built from
 * the fields an SMMUv3 or a VT-d unit reads (CD, STE, context / PASID
 * entries), and the table walk itself, which fetches every descriptor
 * through the physical address space and reports faults as records.
 *
 * One generic walk (walk_generic) is specialised per format by inlining it
 * with a constant format; pt_format.h holds the descriptor knowledge.
 */
#include <string.h>

#include <uiommu/pgtable.h>

#include "log.h"
#include "pt_format.h"
#include "trace.h"

#define SUBSYS "pgtable"

UIOMMU_API const char *uiommu_pt_fault_name(enum uiommu_pt_fault_type type)
{
	switch (type) {
	case UIOMMU_PT_FAULT_NONE:
		return "none";
	case UIOMMU_PT_FAULT_TRANSLATION:
		return "translation";
	case UIOMMU_PT_FAULT_PERMISSION:
		return "permission";
	case UIOMMU_PT_FAULT_ACCESS_FLAG:
		return "access-flag";
	case UIOMMU_PT_FAULT_ADDR_SIZE:
		return "address-size";
	case UIOMMU_PT_FAULT_EXT_ABORT:
		return "external-abort";
	case UIOMMU_PT_FAULT_RESERVED:
		return "reserved";
	}
	return "unknown";
}

/* ------------------------------------------------------------ configs */

/* TG0 / S2TG (and VTCR_EL2.TG0) encoding to granule shift; 0 if reserved. */
static unsigned int arm_tg_shift(unsigned int tg)
{
	static const uint8_t shift[] = { 12, 16, 14 };

	return tg < UIO_ARRAY_SIZE(shift) ? shift[tg] : 0;
}

static unsigned int arm_ps_bits(unsigned int ps, unsigned int max_oas)
{
	unsigned int bits;

	if (ps >= UIO_ARRAY_SIZE(pt_arm_ps_bits))
		return 0;
	bits = pt_arm_ps_bits[ps];
	/* SMMUv3: an IPS / S2PS larger than the implemented OAS is treated
	 * as the OAS. */
	return bits > max_oas ? max_oas : bits;
}

/*
 * Is the walk configuration internally consistent?  Also used by
 * uiommu_pgtable_create() on the configuration it derives.
 */
int uio_pt_walk_cfg_check(const struct uiommu_pt_walk_cfg *wc)
{
	unsigned int g = wc->granule_shift, bpl, top;

	if (wc->format < UIOMMU_PT_ARM_S1 || wc->format > UIOMMU_PT_VTD_SS)
		return -EINVAL;
	if (g != 12 && g != 14 && g != 16)
		return -EINVAL;
	if (wc->format == UIOMMU_PT_VTD_SS && g != 12)
		return -EINVAL;
	if (wc->oas < 32 || wc->oas > 52 || wc->levels < 1 || wc->levels > 5)
		return -EINVAL;
	bpl = g - 3;
	if (wc->ias <= g + (wc->levels - 1u) * bpl)
		return -EINVAL;
	top = wc->ias - g - (wc->levels - 1u) * bpl;
	/* The start level resolves 1..bpl bits, plus up to 4 when 16 tables
	 * are concatenated (Arm stage 2 only). */
	if (top > bpl + (wc->format == UIOMMU_PT_ARM_S2 ? 4u : 0u))
		return -EINVAL;
	if (wc->concat_log2 != (top > bpl ? top - bpl : 0))
		return -EINVAL;
	return 0;
}

/*
 * The configuration fields come from structures a guest or driver wrote:
 * an invalid one is its error (the model reports C_BAD_CD / C_BAD_STE).
 */
#define bad_cfg(...) (uio_guest_error(SUBSYS, __VA_ARGS__), -EINVAL)

/* Names of the size fields in one structure, for the messages. */
struct arm_names {
	const char *tsz, *tg, *ps;
};

/* Granule, output and input size fields shared by the CD and the STE. */
static int arm_sizes(const struct arm_names *n, unsigned int tsz,
		     unsigned int tg, unsigned int ps, unsigned int max_oas,
		     unsigned int *g, unsigned int *oas)
{
	*g = arm_tg_shift(tg);
	*oas = arm_ps_bits(ps, max_oas);
	if (!*g)
		return bad_cfg("%s %u reserved", n->tg, tg);
	if (*oas < 32)
		return bad_cfg("%s %u reserved (or SMMU OAS %u)", n->ps, ps,
			       max_oas);
	if (tsz < 16 || tsz > 39)
		return bad_cfg("%s %u out of 16..39", n->tsz, tsz);
	return 0;
}

UIOMMU_API int uiommu_pt_walk_cfg_arm_s1(struct uiommu_pt_walk_cfg *wc,
					 unsigned int t0sz, unsigned int tg0,
					 unsigned int ips, unsigned int max_oas,
					 uint32_t flags)
{
	static const struct arm_names names = { "CD.T0SZ", "CD.TG0", "CD.IPS" };
	unsigned int g, oas, ias = 64 - t0sz;

	if (!wc)
		return uio_fail(-EINVAL, SUBSYS, "walk cfg: NULL");
	if (arm_sizes(&names, t0sz, tg0, ips, max_oas, &g, &oas))
		return -EINVAL;
	memset(wc, 0, sizeof(*wc));
	wc->format = UIOMMU_PT_ARM_S1;
	wc->granule_shift = (uint8_t)g;
	wc->ias = (uint8_t)ias;
	wc->oas = (uint8_t)oas;
	wc->levels = (uint8_t)((ias - g + (g - 3) - 1) / (g - 3));
	wc->flags = flags & (UIOMMU_PT_WALK_AF_NOFAULT | UIOMMU_PT_WALK_RAM_ONLY);
	return 0;
}

UIOMMU_API int uiommu_pt_walk_cfg_arm_s2(struct uiommu_pt_walk_cfg *wc,
					 unsigned int s2t0sz,
					 unsigned int s2sl0, unsigned int s2tg,
					 unsigned int s2ps, unsigned int max_oas,
					 uint32_t flags)
{
	static const struct arm_names names = { "STE.S2T0SZ", "STE.S2TG",
						"STE.S2PS" };
	unsigned int g, oas, ias = 64 - s2t0sz, bpl, start, below, top;

	if (!wc)
		return uio_fail(-EINVAL, SUBSYS, "walk cfg: NULL");
	if (arm_sizes(&names, s2t0sz, s2tg, s2ps, max_oas, &g, &oas))
		return -EINVAL;
	/* VTCR_EL2.SL0 encoding: 4K counts down from level 2, 16K and 64K
	 * from level 3; the value 3 needs FEAT_TTST / LPA2. */
	if (s2sl0 > 2)
		return bad_cfg("STE.S2SL0 %u reserved", s2sl0);
	start = (g == 12 ? 2 : 3) - s2sl0;
	bpl = g - 3;
	below = g + (3 - start) * bpl;	/* input bits below the start level */
	if (ias <= below)
		return bad_cfg("STE.S2T0SZ %u too small for start level %u",
			       s2t0sz, start);
	top = ias - below;
	if (top > bpl + 4 || (start == 0 && top > bpl))
		return bad_cfg("STE.S2T0SZ %u needs more than 16 concatenated tables at level %u",
			       s2t0sz, start);
	memset(wc, 0, sizeof(*wc));
	wc->format = UIOMMU_PT_ARM_S2;
	wc->granule_shift = (uint8_t)g;
	wc->ias = (uint8_t)ias;
	wc->oas = (uint8_t)oas;
	wc->levels = (uint8_t)(4 - start);
	wc->concat_log2 = (uint8_t)(top > bpl ? top - bpl : 0);
	wc->flags = flags & (UIOMMU_PT_WALK_AF_NOFAULT | UIOMMU_PT_WALK_RAM_ONLY);
	return 0;
}

UIOMMU_API int uiommu_pt_walk_cfg_vtd_ss(struct uiommu_pt_walk_cfg *wc,
					 unsigned int aw, unsigned int sagaw,
					 unsigned int haw, uint32_t flags)
{
	if (!wc)
		return uio_fail(-EINVAL, SUBSYS, "walk cfg: NULL");
	/* VT-d 9.3 / 9.6: AW 1, 2, 3 = 39, 48, 57-bit (3, 4, 5 levels). */
	if (aw < 1 || aw > 3 || !(sagaw & (1u << aw)))
		return bad_cfg("AW %u not in SAGAW 0x%x", aw, sagaw);
	if (haw < 32 || haw > 52)
		return bad_cfg("HAW %u out of 32..52", haw);
	memset(wc, 0, sizeof(*wc));
	wc->format = UIOMMU_PT_VTD_SS;
	wc->granule_shift = 12;
	wc->ias = (uint8_t)(30 + 9 * aw);
	wc->oas = (uint8_t)haw;
	wc->levels = (uint8_t)(aw + 2);
	wc->flags = flags & (UIOMMU_PT_WALK_VTD_EXEC | UIOMMU_PT_WALK_VTD_SP2M |
			     UIOMMU_PT_WALK_RAM_ONLY |
			     UIOMMU_PT_WALK_VTD_SP1G);
	return 0;
}

/* ------------------------------------------------------------ the walk */

static __attribute__((noinline, cold)) int
walk_fault(struct uiommu_pt_fault *fault, enum uiommu_pt_format f,
	   enum uiommu_pt_fault_type type, unsigned int h, uint64_t iova,
	   uint32_t access, uint64_t entry_pa, uint64_t desc)
{
	fault->type = type;
	fault->stage = f == UIOMMU_PT_ARM_S1 ? 1 : 2;
	fault->level = (int8_t)pt_arch_level(f, h);
	fault->fetch = false;
	fault->access = access;
	fault->iova = iova;
	fault->ipa = 0;
	fault->entry_pa = entry_pa;
	fault->desc = desc;
	trace_pgtable_walk_fault(iova, uiommu_pt_fault_name(type),
				 fault->level, fault->stage);
	return -EFAULT;
}

/*
 * The RAM region the last descriptor came from, so that the next levels
 * (usually in the same region) skip the address-space lookup.  Lives for
 * one walk: the region cannot go away under it any more than under a
 * pointer from uiommu_phys_host_ptr().
 */
struct walk_win {
	uint64_t base;
	uint64_t span;		/* bytes - 8: last descriptor address - base */
	const uint8_t *host;
};

/*
 * Slow path of fetch_desc(): find the host memory behind @pa and remember
 * it for the next levels.  First the 2 MiB block around @pa (one cheap
 * query; the tables of a walk usually sit close together in one page
 * pool), else the whole RAM region.  MMIO is a bus access, or an
 * abort for a RAM-only walker; a hole is an abort.
 */
static __attribute__((noinline)) int
fetch_lookup(struct uiommu_physmem *pm, struct walk_win *win, uint64_t pa,
	     bool ram_only, uint64_t *d)
{
	const uint64_t block = UINT64_C(1) << 21;
	struct uiommu_region_info info;
	const uint8_t *host;

	host = uiommu_phys_host_ptr(pm, pa & ~(block - 1), block);
	if (host) {
		win->base = pa & ~(block - 1);
		win->span = block - 8;
	} else {
		if (uiommu_physmem_lookup(pm, pa, &info))
			return -EFAULT;
		if (info.kind != UIOMMU_REGION_RAM)
			return ram_only ? -EFAULT :
			       uiommu_phys_ld(pm, pa, 8, d, NULL);
		host = info.host;
		win->base = info.base;
		win->span = info.size - 8;
	}
	win->host = host;
	*d = __atomic_load_n((const uint64_t *)(const void *)
			     (host + (pa - win->base)), __ATOMIC_ACQUIRE);
	return 0;
}

/* The @wc->fetch step of fetch_desc(), out of line: nesting is rare. */
static __attribute__((noinline)) int
fetch_nested(const struct uiommu_pt_walk_cfg *wc, uint64_t iova,
	     uint32_t access, uint64_t addr, uint64_t *pa,
	     struct uiommu_pt_fault *fault)
{
	memset(fault, 0, sizeof(*fault));
	if (!wc->fetch(wc->fetch_opaque, addr, pa, fault))
		return 0;
	/* A stage-2 fault on a stage-1 table fetch. */
	fault->stage = 2;
	fault->fetch = true;
	fault->access = access;
	fault->iova = iova;
	fault->ipa = addr;
	if (fault->type == UIOMMU_PT_FAULT_NONE)
		fault->type = UIOMMU_PT_FAULT_TRANSLATION;
	trace_pgtable_walk_fault(iova, uiommu_pt_fault_name(fault->type),
				 fault->level, 2);
	return -EFAULT;
}

/*
 * Read the descriptor at @addr: through @wc->fetch if set, then from RAM
 * (one single-copy-atomic 64-bit load of the host memory behind it) or,
 * for MMIO, as a bus access.  0, or -EFAULT with @fault filled.
 */
static inline __attribute__((always_inline)) int
fetch_desc(struct uiommu_physmem *pm, const struct uiommu_pt_walk_cfg *wc,
	   enum uiommu_pt_format f, unsigned int h, uint64_t iova,
	   uint32_t access, uint64_t addr, struct walk_win *win, uint64_t *pa,
	   uint64_t *d, struct uiommu_pt_fault *fault)
{
	*pa = addr;
	if (uio_unlikely(wc->fetch != NULL) &&
	    fetch_nested(wc, iova, access, addr, pa, fault))
		return -EFAULT;
	if (uio_likely(*pa - win->base <= win->span)) {
		*d = __atomic_load_n((const uint64_t *)(const void *)
				     (win->host + (*pa - win->base)),
				     __ATOMIC_ACQUIRE);
		return 0;
	}
	if (fetch_lookup(pm, win, *pa, wc->flags & UIOMMU_PT_WALK_RAM_ONLY, d))
		return walk_fault(fault, f, UIOMMU_PT_FAULT_EXT_ABORT, h, iova,
				  access, *pa, 0);
	return 0;
}

/* Permissions a leaf grants, given the table restrictions @tbl collected
 * on the way down (Arm S1: table-descriptor bits; VT-d: ANDed R/W/X). */
static inline uint32_t leaf_perm(enum uiommu_pt_format f,
				 const struct uiommu_pt_walk_cfg *wc,
				 uint64_t d, uint64_t tbl, bool priv)
{
	uint32_t perm = 0;
	uint64_t ap, aptable;

	switch (f) {
	case UIOMMU_PT_ARM_S1:
		/* D8.4 "Memory access control": AP[2:1] and APTable limit
		 * data access, UXN / PXN and their table forms execution. */
		ap = UIO_FEX64(d, ARM_S1, AP);
		aptable = UIO_FEX64(tbl, ARM_TABLE, APTABLE);
		if (priv || ((ap & 1) && !(aptable & 1)))
			perm |= UIOMMU_PT_PERM_READ;
		if ((perm & UIOMMU_PT_PERM_READ) && !(ap & 2) && !(aptable & 2))
			perm |= UIOMMU_PT_PERM_WRITE;
		if (priv) {
			/* Memory writable at EL0 is never executable at EL1. */
			if (!UIO_FEX64(d, ARM_S1, PXN) &&
			    !UIO_FEX64(tbl, ARM_TABLE, PXNTABLE) &&
			    !(ap == 1 && !(aptable & 3)))
				perm |= UIOMMU_PT_PERM_EXEC;
		} else if (!UIO_FEX64(d, ARM_S1, UXN) &&
			   !UIO_FEX64(tbl, ARM_TABLE, UXNTABLE)) {
			perm |= UIOMMU_PT_PERM_EXEC;
		}
		break;
	case UIOMMU_PT_ARM_S2:
		ap = UIO_FEX64(d, ARM_S2, S2AP);
		perm = ((ap & 1) ? UIOMMU_PT_PERM_READ : 0) |
		       ((ap & 2) ? UIOMMU_PT_PERM_WRITE : 0) |
		       (UIO_FEX64(d, ARM_S2, XN) ? 0 : UIOMMU_PT_PERM_EXEC);
		break;
	case UIOMMU_PT_VTD_SS:
		d &= tbl;
		perm = (UIO_FEX64(d, VTD_SS, R) ? UIOMMU_PT_PERM_READ : 0) |
		       (UIO_FEX64(d, VTD_SS, W) ? UIOMMU_PT_PERM_WRITE : 0);
		if ((wc->flags & UIOMMU_PT_WALK_VTD_EXEC) &&
		    UIO_FEX64(d, VTD_SS, X))
			perm |= UIOMMU_PT_PERM_EXEC;
		break;
	}
	return perm;
}

/* Permissions an access needs; an instruction fetch needs read too. */
static inline uint32_t access_needs(uint32_t access)
{
	uint32_t need = 0;

	if (access & (UIOMMU_PT_ACC_READ | UIOMMU_PT_ACC_EXEC))
		need |= UIOMMU_PT_PERM_READ;
	if (access & UIOMMU_PT_ACC_WRITE)
		need |= UIOMMU_PT_PERM_WRITE;
	if (access & UIOMMU_PT_ACC_EXEC)
		need |= UIOMMU_PT_PERM_EXEC;
	return need;
}

/* Checks of a leaf at height @h beyond "valid": 0 or a fault type. */
static inline enum uiommu_pt_fault_type
leaf_check(enum uiommu_pt_format f, const struct uiommu_pt_walk_cfg *wc,
	   unsigned int h, uint64_t d)
{
	unsigned int heights = pt_leaf_heights(f, wc->granule_shift, wc->flags);

	if (pt_is_arm(f)) {
		/* A level-3 descriptor of type 0, or a block where the
		 * granule allows none, is invalid. */
		if (h == 0 ? !(d & ARM_DESC_TYPE_MASK) : !(heights & (1u << h)))
			return UIOMMU_PT_FAULT_TRANSLATION;
		return UIOMMU_PT_FAULT_NONE;
	}
	/* VT-d: PS set where the level or the unit allows no superpage. */
	if (h && !(heights & (1u << h)))
		return UIOMMU_PT_FAULT_RESERVED;
	return UIOMMU_PT_FAULT_NONE;
}

static inline __attribute__((always_inline)) int
walk_generic(enum uiommu_pt_format f, struct uiommu_physmem *pm,
	     const struct uiommu_pt_walk_cfg *wc, uint64_t root,
	     uint64_t iova, uint32_t access, struct uiommu_pt_walk_result *res,
	     struct uiommu_pt_fault *fault)
{
	unsigned int g = wc->granule_shift, h = wc->levels - 1u;
	unsigned int bpl = g - 3u, shift = g + h * bpl;
	/* Index mask of the level being looked up: the start level resolves
	 * what is left of the input size, the others bpl bits. */
	uint64_t imask = (UINT64_C(1) << (wc->ias - shift)) - 1;
	uint64_t table = root & ~UINT64_C(7), tbl = 0, d, addr, pa, oa;
	struct walk_win win = { .base = ~UINT64_C(0) };
	enum uiommu_pt_fault_type ft;
	uint32_t perm;

	if (f == UIOMMU_PT_VTD_SS)
		tbl = ~UINT64_C(0);
	if (uio_unlikely(iova >> wc->ias))
		/* Arm: outside the TTB range is a translation fault; VT-d:
		 * an address beyond the AW. */
		return walk_fault(fault, f,
				  pt_is_arm(f) ? UIOMMU_PT_FAULT_TRANSLATION :
						 UIOMMU_PT_FAULT_ADDR_SIZE,
				  h, iova, access, 0, 0);
	if (uio_unlikely(table >> wc->oas))
		return walk_fault(fault, f, UIOMMU_PT_FAULT_ADDR_SIZE, h, iova,
				  access, 0, 0);
	for (;;) {
		addr = table + 8u * ((iova >> shift) & imask);
		if (fetch_desc(pm, wc, f, h, iova, access, addr, &win, &pa, &d,
			       fault))
			return -EFAULT;
		if (!pt_valid(f, d))
			return walk_fault(fault, f, UIOMMU_PT_FAULT_TRANSLATION,
					  h, iova, access, pa, d);
		if (h == 0 || !pt_is_table(f, d))
			break;
		table = pt_addr(f, g, d);
		if (uio_unlikely(table >> wc->oas))
			return walk_fault(fault, f, UIOMMU_PT_FAULT_ADDR_SIZE,
					  h, iova, access, pa, d);
		if (f == UIOMMU_PT_ARM_S1)
			tbl |= d;
		else if (f == UIOMMU_PT_VTD_SS)
			tbl &= d;
		h--;
		shift -= bpl;
		imask = (UINT64_C(1) << bpl) - 1;
	}
	ft = leaf_check(f, wc, h, d);
	if (ft != UIOMMU_PT_FAULT_NONE)
		return walk_fault(fault, f, ft, h, iova, access, pa, d);
	oa = pt_addr(f, shift, d);
	if (uio_unlikely(oa >> wc->oas))
		return walk_fault(fault, f, UIOMMU_PT_FAULT_ADDR_SIZE, h, iova,
				  access, pa, d);
	if (pt_is_arm(f) && !UIO_FEX64(d, ARM_LEAF, AF) &&
	    !(wc->flags & UIOMMU_PT_WALK_AF_NOFAULT))
		return walk_fault(fault, f, UIOMMU_PT_FAULT_ACCESS_FLAG, h,
				  iova, access, pa, d);
	perm = leaf_perm(f, wc, d, tbl, access & UIOMMU_PT_ACC_PRIV);
	if (access_needs(access) & ~perm)
		return walk_fault(fault, f, UIOMMU_PT_FAULT_PERMISSION, h,
				  iova, access, pa, d);
	res->page_size = UINT64_C(1) << shift;
	res->pa = oa | (iova & (res->page_size - 1));
	res->level = pt_arch_level(f, h);
	res->perm = perm;
	res->desc = d;
	res->desc_pa = pa;
	switch (f) {
	case UIOMMU_PT_ARM_S1:
		res->attr = (uint8_t)UIO_FEX64(d, ARM_S1, ATTRINDX);
		res->sh = (uint8_t)UIO_FEX64(d, ARM_LEAF, SH);
		res->ng = UIO_FEX64(d, ARM_S1, NG);
		res->snp = false;
		break;
	case UIOMMU_PT_ARM_S2:
		res->attr = (uint8_t)UIO_FEX64(d, ARM_S2, MEMATTR);
		res->sh = (uint8_t)UIO_FEX64(d, ARM_LEAF, SH);
		res->ng = false;
		res->snp = false;
		break;
	case UIOMMU_PT_VTD_SS:
		res->attr = (uint8_t)UIO_FEX64(d, VTD_SS, EMT);
		res->sh = 0;
		res->ng = false;
		res->snp = UIO_FEX64(d, VTD_SS, SNP);
		break;
	}
	return 0;
}

UIOMMU_API int uiommu_pt_walk(struct uiommu_physmem *pm,
			      const struct uiommu_pt_walk_cfg *wc,
			      uint64_t root, uint64_t iova, uint32_t access,
			      struct uiommu_pt_walk_result *res,
			      struct uiommu_pt_fault *fault)
{
	if (uio_unlikely(!pm || !wc || !res || !fault))
		return uio_fail(-EINVAL, SUBSYS, "walk: NULL argument");
	assert(uio_pt_walk_cfg_check(wc) == 0);
	switch (wc->format) {
	case UIOMMU_PT_ARM_S1:
		return walk_generic(UIOMMU_PT_ARM_S1, pm, wc, root, iova,
				    access, res, fault);
	case UIOMMU_PT_ARM_S2:
		return walk_generic(UIOMMU_PT_ARM_S2, pm, wc, root, iova,
				    access, res, fault);
	case UIOMMU_PT_VTD_SS:
		return walk_generic(UIOMMU_PT_VTD_SS, pm, wc, root, iova,
				    access, res, fault);
	}
	return uio_fail(-EINVAL, SUBSYS, "walk: unknown format %d",
			(int)wc->format);
}
