/* SPDX-License-Identifier: MIT */
/*
 * A register-level SMMUv3 test driver: what the model's tests, fuzzers and
 * benchmark need to program it as an OS driver would, and nothing more.
 * It allocates the stream table and queues in emulated RAM, writes STEs,
 * CDs and 4K-granule translation tables, issues commands and reads events,
 * only through MMIO registers and RAM.  (The real driver, on top of the
 * IOMMU core, lives in src/drivers/.)
 *
 * Functions return 0 or a negative errno; td_cmd() returns the CERROR code.
 */
#ifndef UIOMMU_SMMUV3_TESTDRV_H
#define UIOMMU_SMMUV3_TESTDRV_H

#include <stdint.h>

#include <uiommu/physmem.h>
#include <uiommu/smmuv3.h>

#define TD_SMMU_BASE UINT64_C(0x09050000)
#define TD_RAM_BASE UINT64_C(0x40000000)
#define TD_RAM_SIZE (UINT64_C(64) << 20)

struct td_config {
	const struct uiommu_smmuv3_options *opts;	/* NULL: defaults */
	unsigned int sid_bits;		/* stream table size (log2), default 8 */
	bool two_level;			/* 2-level stream table, SPLIT 6 */
	unsigned int cmdq_log2;		/* default 8 */
	unsigned int eventq_log2;	/* default 8 */
	bool no_enable;			/* leave CR0 at its reset value */
	uint64_t ram_size;		/* default TD_RAM_SIZE */
};

struct td {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	struct uiommu_smmuv3 *smmu;
	uint64_t strtab;
	unsigned int sid_bits, split;
	bool two_level;
	uint64_t cmdq, eventq;
	unsigned int cmdq_log2, eventq_log2;
	uint64_t sync_word;		/* CMD_SYNC MSI target in RAM */
	unsigned int event_irqs, gerror_irqs;
	/* called from the event interrupt, on the thread that raised it */
	void (*event_hook)(struct td *td);
	bool borrowed;			/* pm, pool, smmu are the caller's */
};

/* Page-table permissions for td_map() */
#define TD_R	 0x01
#define TD_W	 0x02
#define TD_X	 0x04
#define TD_PRIVONLY 0x08	/* stage 1: no EL0 (unprivileged) access */
#define TD_NOAF	 0x10	/* leave the access flag clear */
#define TD_BLOCK 0x20	/* 2 MiB block at level 2 */

/* A 4K-granule translation table: stage 1 (48-bit VA, 4 levels) or
 * stage 2 (39-bit IPA, start level 1). */
struct td_pt {
	uint64_t root;
	bool stage2;
	uint64_t arena, arena_end;	/* if set, tables come from here */
	uint64_t ipa_off;		/* table pointers written as PA + this */
};

int td_init(struct td *td, const struct td_config *cfg);
/* Program an SMMU at TD_SMMU_BASE that the caller created (a machine's):
 * tables and queues come from @pool; td_fini() leaves all three alone.
 * The wired-interrupt counters stay 0. */
int td_attach(struct td *td, struct uiommu_physmem *pm,
	      struct uiommu_phys_pool *pool, struct uiommu_smmuv3 *smmu,
	      const struct td_config *cfg);
void td_fini(struct td *td);

uint32_t td_rd32(struct td *td, uint64_t off);
uint64_t td_rd64(struct td *td, uint64_t off);
void td_wr32(struct td *td, uint64_t off, uint32_t val);
void td_wr64(struct td *td, uint64_t off, uint64_t val);

uint64_t td_alloc(struct td *td, uint64_t size);
uint64_t td_ld(struct td *td, uint64_t pa);
void td_st(struct td *td, uint64_t pa, uint64_t val);

/* Queue one raw command; process; return CMDQ_CONS.ERR (0 if consumed). */
int td_cmd(struct td *td, uint64_t c0, uint64_t c1);
int td_sync(struct td *td);
int td_cfgi_ste(struct td *td, uint32_t sid);
int td_cfgi_all(struct td *td);
int td_tlbi_nh_all(struct td *td, uint16_t vmid);
int td_tlbi_nh_asid(struct td *td, uint16_t vmid, uint16_t asid);
int td_tlbi_nh_va(struct td *td, uint16_t vmid, uint16_t asid, uint64_t va);
int td_tlbi_s12_vmall(struct td *td, uint16_t vmid);
int td_tlbi_s2_ipa(struct td *td, uint16_t vmid, uint64_t ipa);

/* STE address (allocating the level-2 table of a 2-level stream table). */
uint64_t td_ste_addr(struct td *td, uint32_t sid);
void td_write_ste(struct td *td, uint32_t sid, const uint64_t ste[8]);
/* STE: Config abort/bypass; stage 1 with a single CD; stage 2; nested. */
void td_ste_simple(struct td *td, uint32_t sid, unsigned int config);
void td_ste_s1(struct td *td, uint32_t sid, uint64_t cd, uint16_t vmid);
void td_ste_s2(struct td *td, uint32_t sid, const struct td_pt *s2,
	       uint16_t vmid);
void td_ste_nested(struct td *td, uint32_t sid, uint64_t cd_ipa,
		   const struct td_pt *s2, uint16_t vmid);
/* CD with T0SZ 16, 4K granule, IPS 48 bits, R=1, A=1, EPD1=1. */
void td_write_cd(struct td *td, uint64_t cd, uint16_t asid, uint64_t ttb0);

int td_pt_init(struct td *td, struct td_pt *pt, bool stage2);
/* Stage 1 tables inside a 2 MiB arena whose IPA is its PA + @ipa_off. */
int td_pt_init_arena(struct td *td, struct td_pt *pt, uint64_t ipa_off);
/* Map [va, va + 4K) (or 2 MiB with TD_BLOCK) to pa; tables at @alloc_*:
 * physical by default.  For nested stage-1 tables use td_map_nested(). */
int td_map(struct td *td, const struct td_pt *pt, uint64_t va, uint64_t pa,
	   unsigned int prot);
/* Raw descriptor write of the last level entry for @va (for fault tests). */
uint64_t td_pte_addr(struct td *td, const struct td_pt *pt, uint64_t va);

/* Pop one event record; -ENOENT if the queue is empty. */
int td_read_event(struct td *td, uint64_t ev[4]);

/* Translate helpers */
int td_xlate(struct td *td, uint32_t sid, uint64_t iova, uint32_t access,
	     uint64_t *pa, struct uiommu_smmuv3_fault *f);

#endif /* UIOMMU_SMMUV3_TESTDRV_H */
