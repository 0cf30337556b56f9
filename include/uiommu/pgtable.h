/* SPDX-License-Identifier: MIT */
/*
 * uiommu pgtable: I/O page tables in their architectural formats.
 *
 * Formats (enum uiommu_pt_format):
 * - Arm VMSAv8-64 stage 1 and stage 2 (Arm ARM DDI 0487, chapter D8), with
 *   4K, 16K and 64K granules, input sizes 25..48 bits, output sizes 32..48
 *   bits, and concatenated first-level tables at stage 2;
 * - Intel VT-d second-stage tables (VT-d spec rev 4.x, 3.7 and 9.8), 3-, 4-
 *   and 5-level (39, 48, 57-bit input).
 *
 * The tables are real bytes in emulated RAM (struct uiommu_physmem); table
 * pages come from a page pool.  Two views of the same bytes:
 *
 * 1. The OS side, struct uiommu_pgtable: map / unmap / iova_to_phys over a
 *    tree the library owns, with invalidations batched in a gather that the
 *    driver flushes (struct uiommu_pt_gather), a dump shaped like Intel's
 *    domain_translation_struct debugfs file, and an invariant checker.
 *    Not thread-safe: the owner (a domain) serialises calls.  Hardware walks
 *    may run concurrently: every descriptor is written with one 64-bit store
 *    and a new table is filled before it is linked.
 *
 * 2. The hardware side, uiommu_pt_walk(): what an SMMU or a VT-d unit does
 *    with a table base it found in a context descriptor, STE or PASID entry.
 *    Every descriptor is fetched through the physical address space, so a
 *    table pointer into a hole is an external abort, not a crash.  Its
 *    configuration (struct uiommu_pt_walk_cfg) is built from the hardware
 *    fields by uiommu_pt_walk_cfg_arm_s1() / _arm_s2() / _vtd_ss(), which
 *    reject invalid combinations with -EINVAL and a guest-error log line
 *    (the model turns that into a bad-config error such as C_BAD_CD /
 *    C_BAD_STE).
 *
 * Levels are reported in each architecture's own numbering: Arm lookup
 * level 0..3 (3 = page), VT-d 1..5 (1 = SS-PTE, 5 = SS-PML5E).
 *
 * A model's translation, in outline:
 *
 *	struct uiommu_pt_walk_cfg wc;
 *	struct uiommu_pt_walk_result res;
 *	struct uiommu_pt_fault fault;
 *
 *	if (uiommu_pt_walk_cfg_arm_s1(&wc, t0sz, tg0, ips, oas, 0))
 *		... the CD is ILLEGAL (C_BAD_CD)
 *	if (uiommu_pt_walk(pm, &wc, ttb0, iova, UIOMMU_PT_ACC_WRITE, &res,
 *			   &fault))
 *		... event from fault.type, .level, .stage, .fetch, .ipa
 *	else
 *		... res.pa; cache (iova, res.page_size, res.perm) in the TLB
 */
#ifndef UIOMMU_PGTABLE_H
#define UIOMMU_PGTABLE_H

#include <stdio.h>

#include <uiommu/base.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

enum uiommu_pt_format {
	UIOMMU_PT_ARM_S1 = 1,	/* VMSAv8-64 stage 1 (SMMUv3 CD) */
	UIOMMU_PT_ARM_S2,	/* VMSAv8-64 stage 2 (SMMUv3 STE S2*) */
	UIOMMU_PT_VTD_SS,	/* VT-d second stage (context/PASID entry) */
};

/* ------------------------------------------------------------- hardware walk */

/* Access of a walked transaction (bitwise or). */
#define UIOMMU_PT_ACC_READ  (1u << 0)
#define UIOMMU_PT_ACC_WRITE (1u << 1)
#define UIOMMU_PT_ACC_EXEC  (1u << 2)	/* instruction fetch */
#define UIOMMU_PT_ACC_PRIV  (1u << 3)	/* privileged (Arm stage 1: EL1) */

/* Permissions a leaf grants to an access of the walk's privilege. */
#define UIOMMU_PT_PERM_READ  (1u << 0)
#define UIOMMU_PT_PERM_WRITE (1u << 1)
#define UIOMMU_PT_PERM_EXEC  (1u << 2)

/* struct uiommu_pt_walk_cfg.flags */
#define UIOMMU_PT_WALK_AF_NOFAULT (1u << 0) /* Arm: AF=0 is no fault (SMMU CD.HA / STE.S2AFFD) */
#define UIOMMU_PT_WALK_VTD_EXEC   (1u << 1) /* VT-d: X bit implemented (execute requests) */
#define UIOMMU_PT_WALK_VTD_SP2M   (1u << 2) /* VT-d: 2 MiB superpages (CAP.SLLPS bit 0) */
#define UIOMMU_PT_WALK_VTD_SP1G   (1u << 3) /* VT-d: 1 GiB superpages (CAP.SLLPS bit 1) */
/*
 * Descriptors come from RAM only: a table address in an MMIO region is an
 * external abort instead of a device read.  For walkers that must not
 * call into device models while they walk (an SMMU whose tables point at
 * its own registers would wait for itself).
 */
#define UIOMMU_PT_WALK_RAM_ONLY   (1u << 4)

struct uiommu_pt_fault;

/**
 * typedef uiommu_pt_fetch_fn - translate a table-fetch address
 * @opaque: uiommu_pt_walk_cfg.fetch_opaque
 * @addr:   the address of a descriptor as the walk computed it (an IPA when
 *          stage 1 is nested in stage 2)
 * @pa:     receives the physical address to read
 * @fault:  on failure, fill the stage-2 fault (type, level, ipa, entry_pa...)
 *
 * Return: 0, or -EFAULT with @fault filled.
 */
typedef int (*uiommu_pt_fetch_fn)(void *opaque, uint64_t addr, uint64_t *pa,
				  struct uiommu_pt_fault *fault);

/**
 * struct uiommu_pt_walk_cfg - what the walker needs to know about a table
 * @format:        table format
 * @granule_shift: 12, 14 or 16 (VT-d: 12)
 * @ias:           input address bits
 * @oas:           output address bits; a descriptor (or the table base)
 *                 with an address at or above 2^@oas is an address size fault
 * @levels:        lookup levels walked, start level included
 * @concat_log2:   Arm stage 2: log2 of the number of concatenated tables at
 *                 the start level (0..4); otherwise 0
 * @flags:         UIOMMU_PT_WALK_*
 * @fetch:         optional: translate each descriptor address before it is
 *                 read (nested stage 1 table walks through stage 2)
 * @fetch_opaque:  passed to @fetch
 *
 * Build it with one of the uiommu_pt_walk_cfg_*() helpers or take it from
 * uiommu_pgtable_get_info(); then set @fetch if needed.  uiommu_pt_walk()
 * trusts it (checked by assertion only, to keep the walk short).
 *
 * Nested translation: @fetch translates the table base and every
 * descriptor address (IPAs) through stage 2; the walk's output address is
 * still an IPA, which the caller translates through stage 2 itself.
 */
struct uiommu_pt_walk_cfg {
	enum uiommu_pt_format format;
	uint8_t granule_shift;
	uint8_t ias;
	uint8_t oas;
	uint8_t levels;
	uint8_t concat_log2;
	uint32_t flags;
	uiommu_pt_fetch_fn fetch;
	void *fetch_opaque;
};

enum uiommu_pt_fault_type {
	UIOMMU_PT_FAULT_NONE = 0,
	UIOMMU_PT_FAULT_TRANSLATION,	/* invalid descriptor, or input beyond IAS (Arm) */
	UIOMMU_PT_FAULT_PERMISSION,
	UIOMMU_PT_FAULT_ACCESS_FLAG,	/* Arm: AF=0 in the leaf */
	UIOMMU_PT_FAULT_ADDR_SIZE,	/* table base / output address beyond OAS; VT-d: input beyond AW */
	UIOMMU_PT_FAULT_EXT_ABORT,	/* descriptor fetch hit no RAM or a bus error */
	UIOMMU_PT_FAULT_RESERVED,	/* VT-d: reserved field set (PS where not allowed) */
};

/**
 * struct uiommu_pt_fault - a structured fault record
 * @type:     what went wrong
 * @stage:    1 for Arm stage 1, 2 for Arm stage 2 and VT-d second stage;
 *            2 for a fault of the @fetch callback on a stage-1 table fetch
 * @level:    lookup level (architectural numbering) of the faulting lookup
 * @fetch:    true if stage 2 faulted translating a stage-1 descriptor
 *            address (SMMUv3 CLASS=TT)
 * @access:   the UIOMMU_PT_ACC_* of the transaction
 * @iova:     the input address of the walk
 * @ipa:      for a stage-2 fault on a fetch: the descriptor's IPA
 * @entry_pa: physical address of the descriptor involved (for EXT_ABORT:
 *            the fetch that failed); 0 if none was read
 * @desc:     the descriptor value that caused the fault (0 if none)
 */
struct uiommu_pt_fault {
	enum uiommu_pt_fault_type type;
	uint8_t stage;
	int8_t level;
	bool fetch;
	uint32_t access;
	uint64_t iova;
	uint64_t ipa;
	uint64_t entry_pa;
	uint64_t desc;
};

/**
 * struct uiommu_pt_walk_result - a successful translation
 * @pa:        output address of the input address (page base + offset)
 * @page_size: size of the page or block that translated it
 * @level:     lookup level of the leaf (architectural numbering)
 * @perm:      UIOMMU_PT_PERM_* granted to accesses of the walked privilege,
 *             after hierarchical (table) restrictions
 * @desc:      raw leaf descriptor
 * @desc_pa:   physical address the leaf descriptor was read from
 * @attr:      Arm stage 1: AttrIndx; stage 2: MemAttr; VT-d: EMT
 * @sh:        Arm: SH; VT-d: 0
 * @ng:        Arm stage 1: nG
 * @snp:       VT-d: SNP
 */
struct uiommu_pt_walk_result {
	uint64_t pa;
	uint64_t page_size;
	int level;
	uint32_t perm;
	uint64_t desc;
	uint64_t desc_pa;
	uint8_t attr;
	uint8_t sh;
	bool ng;
	bool snp;
};

/**
 * uiommu_pt_walk_cfg_arm_s1() - stage-1 walk configuration from CD fields
 * @wc:      filled on success
 * @t0sz:    CD.T0SZ (input size is 64 - T0SZ, 16..39)
 * @tg0:     CD.TG0: 0 = 4K, 1 = 64K, 2 = 16K
 * @ips:     CD.IPS: 0..5 = 32, 36, 40, 42, 44, 48 bits
 * @max_oas: the SMMU's output size (SMMU_IDR5.OAS in bits); a larger IPS
 *           is treated as @max_oas, as the architecture says
 * @flags:   UIOMMU_PT_WALK_AF_NOFAULT if CD.HA or AFFD make AF=0 no fault
 *
 * Return: 0; -EINVAL for a reserved TG0 or IPS, or T0SZ out of range.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pt_walk_cfg_arm_s1(struct uiommu_pt_walk_cfg *wc, unsigned int t0sz,
			  unsigned int tg0, unsigned int ips,
			  unsigned int max_oas, uint32_t flags);

/**
 * uiommu_pt_walk_cfg_arm_s2() - stage-2 walk configuration from STE fields
 * @wc:      filled on success
 * @s2t0sz:  STE.S2T0SZ (input size 64 - S2T0SZ, 16..39)
 * @s2sl0:   STE.S2SL0 (starting level, encoded per granule as VTCR_EL2.SL0:
 *           4K: 0 = level 2, 1 = level 1, 2 = level 0;
 *           16K/64K: 0 = level 3, 1 = level 2, 2 = level 1)
 * @s2tg:    STE.S2TG: 0 = 4K, 1 = 64K, 2 = 16K
 * @s2ps:    STE.S2PS, encoded like CD.IPS
 * @max_oas: the SMMU's output size in bits (caps @s2ps)
 * @flags:   UIOMMU_PT_WALK_AF_NOFAULT if STE.S2AFFD
 *
 * The start level must resolve between 1 and (granule bits + 4) input bits:
 * more than one granule's worth means concatenated tables (at most 16, not
 * at level 0).
 *
 * Return: 0; -EINVAL for a reserved encoding or an inconsistent
 * S2T0SZ / S2SL0 / S2TG combination.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pt_walk_cfg_arm_s2(struct uiommu_pt_walk_cfg *wc, unsigned int s2t0sz,
			  unsigned int s2sl0, unsigned int s2tg,
			  unsigned int s2ps, unsigned int max_oas,
			  uint32_t flags);

/**
 * uiommu_pt_walk_cfg_vtd_ss() - second-stage walk configuration
 * @wc:    filled on success
 * @aw:    context / PASID entry AW: 1 = 39-bit 3-level, 2 = 48-bit 4-level,
 *         3 = 57-bit 5-level
 * @sagaw: CAP.SAGAW: bit 1, 2, 3 = 3, 4, 5-level tables supported
 * @haw:   host address width in bits (CAP.MGAW + 1), the output size
 * @flags: UIOMMU_PT_WALK_VTD_EXEC / _SP2M / _SP1G as the unit implements
 *
 * Return: 0; -EINVAL if @aw is reserved or not in @sagaw, or @haw is not in
 * 32..52.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pt_walk_cfg_vtd_ss(struct uiommu_pt_walk_cfg *wc, unsigned int aw,
			  unsigned int sagaw, unsigned int haw, uint32_t flags);

/**
 * uiommu_pt_walk() - translate one input address as the hardware would
 * @pm:     physical address space the descriptors are read from
 * @wc:     walk configuration (from a helper above)
 * @root:   table base (TTB / S2TTB / SSPTPTR), aligned to the start table
 * @iova:   input address
 * @access: UIOMMU_PT_ACC_*
 * @res:    filled on success
 * @fault:  filled on a fault
 *
 * Each descriptor is read with one 64-bit single-copy-atomic load through
 * @pm (after @wc->fetch, if set).  Faults are checked in the architecture's
 * order: per lookup, external abort, then translation (invalid or reserved
 * descriptor), then address size; at the leaf, access flag, then
 * permission.  Arm hierarchical table attributes (APTable, UXNTable,
 * PXNTable) are honoured at stage 1, and memory writable at EL0 is not
 * executable by a privileged access; VT-d permissions are the AND of all
 * levels.  An instruction fetch needs read and execute permission.  The
 * walker does not update AF, A/D or dirty state.  Thread-safe; reads only.
 *
 * Return: 0 with @res filled; -EFAULT with @fault filled; -EINVAL for a
 * NULL argument.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pt_walk(struct uiommu_physmem *pm, const struct uiommu_pt_walk_cfg *wc,
	       uint64_t root, uint64_t iova, uint32_t access,
	       struct uiommu_pt_walk_result *res, struct uiommu_pt_fault *fault);

/**
 * uiommu_pt_fault_name() - short name of a fault type ("translation", ...)
 */
UIOMMU_API const char *uiommu_pt_fault_name(enum uiommu_pt_fault_type type);

/* --------------------------------------------------------- OS-side tables */

/* Mapping protection (bitwise or). READ or WRITE is required. */
#define UIOMMU_PT_PROT_READ   (1u << 0)
#define UIOMMU_PT_PROT_WRITE  (1u << 1)
#define UIOMMU_PT_PROT_NOEXEC (1u << 2)	/* Arm XN/PXN; VT-d X clear */
#define UIOMMU_PT_PROT_CACHE  (1u << 3)	/* coherent: Arm WB inner shareable; VT-d SNP */
#define UIOMMU_PT_PROT_MMIO   (1u << 4)	/* Arm Device-nGnRE; VT-d: no bit */
#define UIOMMU_PT_PROT_PRIV   (1u << 5)	/* Arm stage 1: AP[1]=0 (privileged only) */

/* struct uiommu_pgtable_cfg.flags */
#define UIOMMU_PGTABLE_NO_CONCAT (1u << 0) /* Arm S2: do not concatenate start tables */
#define UIOMMU_PGTABLE_VTD_EXEC  (1u << 1) /* VT-d: X bit implemented */

/**
 * struct uiommu_pgtable_cfg - what a new table looks like
 * @format:        table format
 * @granule_shift: 12, 14 or 16 (VT-d: 12; 0 means 12)
 * @ias:           input address bits: Arm 25..48; VT-d 39, 48 or 57
 * @oas:           output address bits: 32..48 (VT-d up to 52)
 * @pgsize_bitmap: 0 for every page size the format allows, or a subset
 *                 that contains the granule and no gap (e.g. 4K|2M|1G)
 * @flags:         UIOMMU_PGTABLE_*
 *
 * Arm stage 2 uses concatenated start tables (up to 16) when that saves a
 * lookup level, unless UIOMMU_PGTABLE_NO_CONCAT.
 */
struct uiommu_pgtable_cfg {
	enum uiommu_pt_format format;
	unsigned int granule_shift;
	unsigned int ias;
	unsigned int oas;
	uint64_t pgsize_bitmap;
	uint32_t flags;
};

/* Memory attributes a stage-1 table's AttrIndx values refer to. */
#define UIOMMU_PT_ARM_MAIR 0x04ff44ULL	/* 0: NC 0x44, 1: WB 0xff, 2: Device-nGnRE 0x04 */

/**
 * struct uiommu_pgtable_info - a table as hardware registers describe it
 * @root:          physical address of the start-level table
 * @root_size:     bytes of the start-level table(s)
 * @pgsize_bitmap: page sizes map() uses
 * @walk:          configuration for uiommu_pt_walk() (fetch unset)
 * @arm_tsz:       Arm: T0SZ / S2T0SZ
 * @arm_tg:        Arm: TG0 / S2TG encoding
 * @arm_ps:        Arm: IPS / S2PS encoding
 * @arm_sl0:       Arm stage 2: S2SL0 encoding
 * @arm_mair:      Arm stage 1: MAIR value for AttrIndx (UIOMMU_PT_ARM_MAIR)
 * @vtd_aw:        VT-d: AW encoding
 */
struct uiommu_pgtable_info {
	uint64_t root;
	uint64_t root_size;
	uint64_t pgsize_bitmap;
	struct uiommu_pt_walk_cfg walk;
	unsigned int arm_tsz, arm_tg, arm_ps, arm_sl0;
	uint64_t arm_mair;
	unsigned int vtd_aw;
};

/**
 * struct uiommu_pt_gather - invalidations a driver owes the hardware
 * @start:     first byte of the input range whose translations changed
 * @last:      last byte (inclusive); empty while @start > @last
 * @granule:   smallest leaf size among the entries removed (the step of a
 *             range invalidation)
 * @leaf_only: only leaf descriptors were removed; false if a table
 *             descriptor was removed too (walk caches must be invalidated)
 * @flags:     UIOMMU_PT_GATHER_* given to uiommu_pt_gather_init()
 *
 * Filled by uiommu_pgtable_map() (only with UIOMMU_PT_GATHER_MAPS, or when
 * it rolls back) and uiommu_pgtable_unmap().  Tables they free are kept
 * until uiommu_pgtable_gather_done(): the driver calls it after its TLB and
 * walk-cache invalidation completed, so no hardware walk can still be using
 * a freed table page.  The other fields are private.
 */
struct uiommu_pt_gather {
	uint64_t start;
	uint64_t last;
	uint64_t granule;
	bool leaf_only;
	uint32_t flags;
	/* private */
	const void *owner;
	uint64_t free_head;
	uint64_t nr_free;
};

/* Also record new mappings (for a VT-d unit in caching mode). */
#define UIOMMU_PT_GATHER_MAPS (1u << 0)

/** uiommu_pt_gather_init() - start an empty gather */
UIOMMU_API void uiommu_pt_gather_init(struct uiommu_pt_gather *g,
				      uint32_t flags);

/** uiommu_pt_gather_empty() - true if nothing needs invalidating */
UIOMMU_API bool uiommu_pt_gather_empty(const struct uiommu_pt_gather *g);

struct uiommu_pgtable;

/**
 * uiommu_pgtable_create() - allocate an empty table
 * @pm:   the physical address space (the pool's)
 * @pool: where table pages come from
 * @cfg:  format and sizes
 * @out:  the new table
 *
 * The start-level table is allocated at once; uiommu_pgtable_get_info()
 * gives its address and the matching register values.  Host memory: one
 * 32-bit counter per 4 KiB of the pool.
 *
 * Return: 0; -EINVAL for a NULL argument, an unknown format, a granule,
 * IAS, OAS or page-size set the format does not support, or a pool of
 * another address space; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_create(struct uiommu_physmem *pm, struct uiommu_phys_pool *pool,
		      const struct uiommu_pgtable_cfg *cfg,
		      struct uiommu_pgtable **out);

/**
 * uiommu_pgtable_destroy() - free every table page and the object
 * @pt: the table, or NULL
 *
 * The caller guarantees no hardware uses the table any more, and has
 * completed its gathers (uiommu_pgtable_gather_done()): the tables a gather
 * still holds are not linked from the root any more.
 */
UIOMMU_API void uiommu_pgtable_destroy(struct uiommu_pgtable *pt);

/** uiommu_pgtable_get_info() - root address, page sizes, register values */
UIOMMU_API void uiommu_pgtable_get_info(const struct uiommu_pgtable *pt,
					struct uiommu_pgtable_info *info);

/**
 * uiommu_pgtable_map() - map [@iova, @iova + @size) to @pa
 * @pt:     table
 * @iova:   input address, aligned to the granule
 * @pa:     output address, aligned to the granule
 * @size:   bytes, a non-zero multiple of the granule
 * @prot:   UIOMMU_PT_PROT_*
 * @gather: where invalidations go (may be NULL: tables freed by a
 *          roll-back are then freed at once)
 *
 * Uses the largest page sizes that the alignment of @iova and @pa and the
 * page-size bitmap allow.  All or nothing: on any error the mappings made
 * by this call are removed again and the tables it added are freed, so
 * every earlier mapping is intact.
 *
 * Return: 0; -EINVAL for misalignment, zero size or bad @prot; -ERANGE if
 * the input range exceeds the IAS or the output range the OAS; -EEXIST if
 * part of the range is already mapped; -ENOMEM if a table page could not
 * be allocated.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_map(struct uiommu_pgtable *pt, uint64_t iova, uint64_t pa,
		   uint64_t size, uint32_t prot, struct uiommu_pt_gather *gather);

/**
 * uiommu_pgtable_unmap() - remove the mappings in [@iova, @iova + @size)
 * @pt:       table
 * @iova:     input address, aligned to the granule
 * @size:     bytes, a non-zero multiple of the granule
 * @gather:   collects the invalidations and the freed tables (may be NULL:
 *            tables are then freed at once)
 * @unmapped: receives the bytes that were mapped and are not any more
 *
 * Holes are skipped.  A block only partly inside the range is split into
 * a table of smaller pages first (which needs a table page); tables that
 * become empty are freed.
 *
 * Return: 0; -EINVAL for misalignment or zero size; -ERANGE beyond the
 * IAS; -ENOMEM if a split needed a table page (then *@unmapped says what
 * was already removed, and the gather holds it).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_unmap(struct uiommu_pgtable *pt, uint64_t iova, uint64_t size,
		     struct uiommu_pt_gather *gather, uint64_t *unmapped);

/**
 * uiommu_pgtable_gather_done() - the invalidations in @g have completed
 *
 * Frees the table pages @g held back and empties @g.
 */
UIOMMU_API void uiommu_pgtable_gather_done(struct uiommu_pgtable *pt,
					   struct uiommu_pt_gather *g);

/**
 * uiommu_pgtable_iova_to_phys() - software lookup of one input address
 * @pa:   receives the output address
 * @prot: if not NULL, receives the UIOMMU_PT_PROT_* the leaf encodes
 *
 * Return: 0; -ERANGE beyond the IAS; -ENOENT if not mapped.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_iova_to_phys(const struct uiommu_pgtable *pt, uint64_t iova,
			    uint64_t *pa, uint32_t *prot);

/**
 * typedef uiommu_pt_line_fn - receives one line of a dump (no newline)
 * Return: 0 to continue; non-zero stops the dump and is returned.
 */
typedef int (*uiommu_pt_line_fn)(void *opaque, const char *line);

/**
 * uiommu_pgtable_dump_lines() - the live mappings, one line per leaf
 *
 * Like Intel's domain_translation_struct debugfs file: a header
 * "IOVA_PFN  <one column per level>", then for each leaf the input page
 * number (IOVA >> 12) and the raw descriptor at each level of its path
 * (0x0000000000000000 below a block), then the leaf's size.
 *
 * Return: 0, or @fn's non-zero value.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_dump_lines(const struct uiommu_pgtable *pt,
			  uiommu_pt_line_fn fn, void *opaque);

/**
 * struct uiommu_pt_leaf - one live leaf (page or block) of a table
 * @iova:  first input address it translates
 * @pa:    output address of @iova
 * @size:  bytes it translates
 * @prot:  UIOMMU_PT_PROT_* it encodes
 * @level: architectural level of the descriptor (Arm 0..3, VT-d 1..5)
 * @desc:  the raw descriptor
 */
struct uiommu_pt_leaf {
	uint64_t iova;
	uint64_t pa;
	uint64_t size;
	uint32_t prot;
	int level;
	uint64_t desc;
};

/**
 * typedef uiommu_pt_leaf_fn - receives one leaf
 * Return: 0 to continue; non-zero stops the walk and is returned.
 */
typedef int (*uiommu_pt_leaf_fn)(void *opaque, const struct uiommu_pt_leaf *leaf);

/**
 * uiommu_pgtable_for_each_leaf() - visit the live mappings in IOVA order
 * @pt:     the table
 * @fn:     called for each leaf
 * @opaque: passed to @fn
 *
 * The same walk as uiommu_pgtable_dump_lines(), decoded.  The table must
 * not change during the walk (hold the lock that serialises its maps).
 *
 * Return: 0 after the whole walk; @fn's non-zero value; -EINVAL for a NULL
 * @pt or @fn.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_for_each_leaf(const struct uiommu_pgtable *pt,
			     uiommu_pt_leaf_fn fn, void *opaque);

/**
 * uiommu_pgtable_dump() - uiommu_pgtable_dump_lines() to a stream
 *
 * Return: 0; -EIO if writing failed.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_dump(const struct uiommu_pgtable *pt, FILE *f);

/**
 * uiommu_pgtable_check() - verify the table against its bookkeeping
 *
 * Every table page reachable from the root is in the pool, referenced
 * once and counted; its counter equals its number of valid entries; no
 * table but the root is empty; leaves are aligned, inside the OAS and at a
 * level where the format allows them.
 *
 * Return: 0, or -EUCLEAN with a log line naming the first broken entry.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_pgtable_check(const struct uiommu_pgtable *pt);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_PGTABLE_H */
