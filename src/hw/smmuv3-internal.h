/* SPDX-License-Identifier: MIT */
/*
 * SMMUv3 model internals: register map, architectural field tables, the
 * model state and the interfaces between its files.
 *
 * Citations are to Arm IHI 0070 G.b ("SMMU architecture specification,
 * SMMUv3").  Files:
 *   smmuv3.c        create/destroy, registers (page 0 and page 1), IRQs
 *   smmuv3-cmdq.c   command queue consumer and event queue producer
 *   smmuv3-xlate.c  STE/CD fetch and decode, configuration cache, TLB,
 *                   the translation entry point
 *   smmuv3-walk.c   VMSAv8-64 translation table walk (stage 1, stage 2,
 *                   stage 1 fetches through stage 2)
 *
 * Locking: smmu->lock serialises register accesses, command processing and
 * event-queue writes.  The two caches are arrays of seqlock-protected
 * slots: readers never take a lock; writers (a translation filling a slot,
 * a command invalidating one) own a slot by making its sequence odd.  Lock
 * order: smmu->lock, then a slot.
 */
#ifndef UIO_SMMUV3_INTERNAL_H
#define UIO_SMMUV3_INTERNAL_H

#include <stdint.h>

#include <uiommu/pgtable.h>
#include <uiommu/smmuv3.h>

#include "bits.h"
#include "lock.h"
#include "smmuv3-regs.h"

#define SMMU_SUBSYS "smmuv3"

/* ------------------------------------------------------------ the walk */

/*
 * One stage of translation for the walker (smmuv3-walk.c, on top of the
 * pgtable layer's uiommu_pt_walk()): built from CD fields (T0SZ/TG0/IPS/
 * TTB0/AFFD) with uiommu_pt_walk_cfg_arm_s1() or STE fields (S2T0SZ/S2SL0/
 * S2TG/S2PS/S2TTB/S2AFFD) with uiommu_pt_walk_cfg_arm_s2().  For nested
 * stage 1, pt.fetch translates each descriptor IPA through stage 2.
 */
struct smmu_walk_cfg {
	struct uiommu_pt_walk_cfg pt;
	uint64_t ttb;		/* table base: PA, or IPA if pt.fetch is set */
	bool stage2;
};

/* Access permission bits of a walk result: one per (privilege, R/W/X). */
#define SMMU_PERM_R 0x01
#define SMMU_PERM_W 0x02
#define SMMU_PERM_X 0x04
#define SMMU_PERM_PRIV_SHIFT 3	/* privileged bits are the next three */
#define SMMU_PERM_ALL 0x3f

struct smmu_walk_out {
	uint64_t oa;		/* output address of the block/page base */
	unsigned int shift;	/* log2 of the block/page size */
	int level;
	uint8_t perm;		/* SMMU_PERM_* granted */
};

struct smmu_walk_fault {
	uint8_t type;		/* UIOMMU_SMMUV3_EVT_F_* */
	int8_t level;
	uint8_t stage;		/* 1 or 2 */
	uint8_t cls;		/* UIOMMU_SMMUV3_CLASS_*, for nested table fetches */
	uint64_t ipa;		/* stage 2 faults: the IPA */
	uint64_t fetch_addr;	/* F_WALK_EABT: descriptor PA */
};

/* CMD_SYNC: wait until every table walk and STE/CD fetch that began before
 * it has ended. */
void uio_smmu_sync_walks(struct uiommu_smmuv3 *s);

int uio_smmu_walk(struct uiommu_physmem *pm, const struct smmu_walk_cfg *cfg,
		  uint64_t ia, uint32_t access, struct smmu_walk_out *out,
		  struct smmu_walk_fault *f);

/* Permission bit that an access needs (UIOMMU_SMMUV3_ACC_* flags). */
static inline uint8_t smmu_perm_needed(uint32_t access)
{
	uint8_t p = (access & UIOMMU_SMMUV3_ACC_WRITE) ? SMMU_PERM_W :
		    (access & UIOMMU_SMMUV3_ACC_EXEC) ? SMMU_PERM_X : SMMU_PERM_R;

	return (access & UIOMMU_SMMUV3_ACC_PRIV) ?
		(uint8_t)(p << SMMU_PERM_PRIV_SHIFT) : p;
}

/* ------------------------------------------------------------- caches */

/* Kind of a decoded configuration (what the STE + CD say). */
enum smmu_cfg_kind {
	SMMU_CFG_INVALID = 0,	/* slot empty */
	SMMU_CFG_ABORT,
	SMMU_CFG_BYPASS,
	SMMU_CFG_S1,
	SMMU_CFG_S2,
	SMMU_CFG_NESTED,
};

/*
 * A decoded STE (+ CD): what a translation needs.  Copied in and out of
 * the cache word by word (struct smmu_cfg_words) so that concurrent
 * readers and writers are race-free.
 */
struct smmu_cfg {
	uint32_t sid;
	uint32_t sskey;		/* 0: no SubstreamID; else SubstreamID + 1 */
	uint8_t kind;		/* enum smmu_cfg_kind */
	uint8_t s1_record;	/* CD.R */
	uint8_t s1_abort;	/* CD.A */
	uint8_t s2_record;	/* STE.S2R */
	uint8_t s1_affd, s2_affd;
	uint8_t epd0, epd1, tbi;
	/* architectural encodings, as the pgtable walk helpers take them */
	uint8_t t0sz, tg0, t1sz, tg1_as_tg0, ips;
	uint8_t s2t0sz, s2sl0, s2tg, s2ps;
	uint16_t asid, vmid;
	uint64_t ttb0, ttb1, s2ttb;
	uint64_t tlb_tag;	/* TLB tag of this configuration */
};
#define SMMU_CFG_WORDS (sizeof(struct smmu_cfg) / 8)
_Static_assert(sizeof(struct smmu_cfg) % 8 == 0, "cfg is whole words");

union smmu_cfg_words {
	struct smmu_cfg c;
	uint64_t w[SMMU_CFG_WORDS];
};

struct smmu_cfg_slot {
	uint32_t seq;		/* odd while a writer owns the slot */
	uint32_t pad;
	union smmu_cfg_words u;
};

/* TLB tag: valid bit, translation regime kind, VMID, ASID. */
UIO_FIELD(TLBTAG, ASID, 0, 16);
UIO_FIELD(TLBTAG, VMID, 16, 16);
UIO_FIELD(TLBTAG, KIND, 32, 3);	/* SMMU_CFG_S1 / S2 / NESTED */
UIO_FIELD(TLBTAG, VALID, 63, 1);

/* TLB entry info word */
UIO_FIELD(TLBINFO, SHIFT, 0, 6);	/* log2 of the cached block size */
UIO_FIELD(TLBINFO, S1PERM, 8, 6);	/* SMMU_PERM_* granted by stage 1 */
UIO_FIELD(TLBINFO, S2PERM, 16, 6);	/* ... by stage 2 */
UIO_FIELD(TLBINFO, LEVEL, 24, 2);
UIO_FIELD(TLBINFO, PRIVS, 26, 2);	/* privileges whose S1PERM is known */

struct smmu_tlbe {
	uint64_t tag;		/* TLBTAG; 0 if the slot is empty */
	uint64_t va;		/* input address of the block base */
	uint64_t pa;		/* output address of the block base */
	uint64_t ipa;		/* nested: intermediate address of the block */
	uint64_t info;		/* TLBINFO */
};
#define SMMU_TLBE_WORDS (sizeof(struct smmu_tlbe) / 8)
union smmu_tlbe_words {
	struct smmu_tlbe e;
	uint64_t w[SMMU_TLBE_WORDS];
};

struct smmu_tlb_slot {
	uint32_t seq;
	uint32_t pad;
	union smmu_tlbe_words u;
};

/* Per-thread counters, each shard on its own cache line. */
#define SMMU_NSHARDS 64
struct smmu_counters {
	/*
	 * Table walks and configuration fetches in flight on this shard's
	 * threads: CMD_SYNC waits for each shard to be seen at zero, so no
	 * walk or STE/CD fetch that began before it can still read a page
	 * table, stream table or CD table page that the driver frees once the
	 * sync completes.
	 */
	uint64_t walking;
	uint64_t translations, faults;
	uint64_t tlb_hits, tlb_misses;
	uint64_t cfg_hits, cfg_misses;
} __attribute__((aligned(64)));

/* -------------------------------------------------------------- model */

/* IRQs to deliver once smmu->lock is dropped. */
#define SMMU_IRQ_EVENTQ 0x1
#define SMMU_IRQ_GERROR 0x2

struct uiommu_smmuv3 {
	struct uiommu_physmem *pm;
	uint64_t base;
	struct uiommu_smmuv3_options opts;
	char name[32];

	struct uio_mutex lock;	/* registers, command and event queues */

	/* ID registers (read-only) */
	uint32_t idr[6], iidr, aidr;

	/*
	 * Registers.  Those read by translations without the lock (cr0, cr2,
	 * gbpa, strtab_*) are stored and loaded with __atomic builtins.
	 */
	uint32_t cr0, cr1, cr2, gbpa, irq_ctrl;
	uint32_t gerror, gerrorn;
	uint64_t gerror_irq_cfg0;
	uint32_t gerror_irq_cfg1, gerror_irq_cfg2;
	uint64_t strtab_base;
	uint32_t strtab_base_cfg;
	uint64_t cmdq_base;
	uint32_t cmdq_prod, cmdq_cons;
	uint64_t eventq_base;
	uint32_t eventq_prod, eventq_cons;
	uint64_t eventq_irq_cfg0;
	uint32_t eventq_irq_cfg1, eventq_irq_cfg2;

	unsigned int pending_irqs;	/* SMMU_IRQ_*, under lock */
	uint64_t commands, cmd_errors, events_written, events_lost;
	uint64_t tlb_invalidated, cfg_invalidated;

	/* Bumped (under a slot-free moment) by every invalidation: a fill
	 * computed before an invalidation must not be inserted after it. */
	uint64_t tlb_gen, cfg_gen;

	struct smmu_cfg_slot *cfg;
	unsigned int cfg_mask;
	struct smmu_tlb_slot *tlb;
	unsigned int tlb_mask;

	struct smmu_counters ctr[SMMU_NSHARDS];
};

/* smmuv3.c */
void uio_smmu_gerror_toggle(struct uiommu_smmuv3 *s, uint32_t bits);
bool uio_smmu_addr_is_self(const struct uiommu_smmuv3 *s, uint64_t pa);

/* smmuv3-cmdq.c */
void uio_smmu_cmdq_process(struct uiommu_smmuv3 *s);
void uio_smmu_event_locked(struct uiommu_smmuv3 *s, const uint64_t ev[4],
			   struct uiommu_smmuv3_fault *fault);
void uio_smmu_event(struct uiommu_smmuv3 *s, const uint64_t ev[4],
		    struct uiommu_smmuv3_fault *fault);
void uio_smmu_deliver_irqs(struct uiommu_smmuv3 *s, unsigned int irqs);
unsigned int uio_smmu_q_log2(uint64_t base, unsigned int log2max);

/* smmuv3-xlate.c */
int uio_smmu_caches_init(struct uiommu_smmuv3 *s);
void uio_smmu_caches_fini(struct uiommu_smmuv3 *s);
void uio_smmu_cfg_inval(struct uiommu_smmuv3 *s, uint32_t sid_first,
			uint32_t sid_last, bool by_ssid, uint32_t ssid);
enum smmu_tlbi_scope {
	TLBI_ALL,		/* every entry */
	TLBI_VMID,		/* all stages of a VMID */
	TLBI_NH_VMID,		/* stage 1 (and nested) entries of a VMID */
	TLBI_NH_ASID,		/* ... and an ASID */
	TLBI_NH_VA,		/* ... and an ASID and address */
	TLBI_NH_VAA,		/* ... any ASID, an address */
	TLBI_S2_IPA,		/* stage 2 only entries of a VMID, address */
};
void uio_smmu_tlb_inval(struct uiommu_smmuv3 *s, enum smmu_tlbi_scope scope,
			uint16_t vmid, uint16_t asid, uint64_t addr);
void uio_smmu_prefetch_cfg(struct uiommu_smmuv3 *s, uint32_t sid,
			   bool ssv, uint32_t ssid);
int uio_smmu_caches_check(struct uiommu_smmuv3 *s);

#endif /* UIO_SMMUV3_INTERNAL_H */
