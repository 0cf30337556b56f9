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

#define SMMU_SUBSYS "smmuv3"

/* ------------------------------------------------------------ registers */

/* 6.2 Register overview: page 0 offsets, page 1 at +0x10000. */
enum smmu_reg {
	SMMU_IDR0 = 0x0000,
	SMMU_IDR1 = 0x0004,
	SMMU_IDR2 = 0x0008,
	SMMU_IDR3 = 0x000c,
	SMMU_IDR4 = 0x0010,
	SMMU_IDR5 = 0x0014,
	SMMU_IIDR = 0x0018,
	SMMU_AIDR = 0x001c,
	SMMU_CR0 = 0x0020,
	SMMU_CR0ACK = 0x0024,
	SMMU_CR1 = 0x0028,
	SMMU_CR2 = 0x002c,
	SMMU_STATUSR = 0x0040,
	SMMU_GBPA = 0x0044,
	SMMU_AGBPA = 0x0048,
	SMMU_IRQ_CTRL = 0x0050,
	SMMU_IRQ_CTRLACK = 0x0054,
	SMMU_GERROR = 0x0060,
	SMMU_GERRORN = 0x0064,
	SMMU_GERROR_IRQ_CFG0 = 0x0068,	/* 64-bit */
	SMMU_GERROR_IRQ_CFG1 = 0x0070,
	SMMU_GERROR_IRQ_CFG2 = 0x0074,
	SMMU_STRTAB_BASE = 0x0080,	/* 64-bit */
	SMMU_STRTAB_BASE_CFG = 0x0088,
	SMMU_CMDQ_BASE = 0x0090,	/* 64-bit */
	SMMU_CMDQ_PROD = 0x0098,
	SMMU_CMDQ_CONS = 0x009c,
	SMMU_EVENTQ_BASE = 0x00a0,	/* 64-bit */
	SMMU_EVENTQ_IRQ_CFG0 = 0x00b0,	/* 64-bit */
	SMMU_EVENTQ_IRQ_CFG1 = 0x00b8,
	SMMU_EVENTQ_IRQ_CFG2 = 0x00bc,
	SMMU_PAGE1 = 0x10000,
	SMMU_EVENTQ_PROD = 0x100a8,	/* 6.3.26: page 1 only */
	SMMU_EVENTQ_CONS = 0x100ac,	/* 6.3.27: page 1 only */
};

/* 6.3.1 SMMU_IDR0 */
UIO_FIELD(IDR0, S2P, 0, 1);
UIO_FIELD(IDR0, S1P, 1, 1);
UIO_FIELD(IDR0, TTF, 2, 2);
UIO_FIELD(IDR0, COHACC, 4, 1);
UIO_FIELD(IDR0, BTM, 5, 1);
UIO_FIELD(IDR0, HTTU, 6, 2);
UIO_FIELD(IDR0, HYP, 9, 1);
UIO_FIELD(IDR0, ATS, 10, 1);
UIO_FIELD(IDR0, ASID16, 12, 1);
UIO_FIELD(IDR0, MSI, 13, 1);
UIO_FIELD(IDR0, SEV, 14, 1);
UIO_FIELD(IDR0, PRI, 16, 1);
UIO_FIELD(IDR0, VMID16, 18, 1);
UIO_FIELD(IDR0, CD2L, 19, 1);
UIO_FIELD(IDR0, TTENDIAN, 21, 2);
UIO_FIELD(IDR0, STALL_MODEL, 24, 2);
UIO_FIELD(IDR0, TERM_MODEL, 26, 1);
UIO_FIELD(IDR0, ST_LEVEL, 27, 2);
#define IDR0_TTF_AARCH64 2
#define IDR0_TTENDIAN_LE 2
#define IDR0_STALL_NONE 1	/* stall not supported */

/* 6.3.2 SMMU_IDR1 */
UIO_FIELD(IDR1, SIDSIZE, 0, 6);
UIO_FIELD(IDR1, SSIDSIZE, 6, 5);
UIO_FIELD(IDR1, PRIQS, 11, 5);
UIO_FIELD(IDR1, EVENTQS, 16, 5);
UIO_FIELD(IDR1, CMDQS, 21, 5);

/* 6.3.6 SMMU_IDR5 */
UIO_FIELD(IDR5, OAS, 0, 3);
UIO_FIELD(IDR5, GRAN4K, 4, 1);
UIO_FIELD(IDR5, GRAN16K, 5, 1);
UIO_FIELD(IDR5, GRAN64K, 6, 1);

/* 6.3.7 SMMU_IIDR */
UIO_FIELD(IIDR, IMPLEMENTER, 0, 12);
UIO_FIELD(IIDR, PRODUCTID, 20, 12);

/* 6.3.8 SMMU_AIDR */
UIO_FIELD(AIDR, MINOR, 0, 4);
UIO_FIELD(AIDR, MAJOR, 4, 4);

/* 6.3.9 SMMU_CR0 (and 6.3.10 SMMU_CR0ACK) */
UIO_FIELD(CR0, SMMUEN, 0, 1);
UIO_FIELD(CR0, PRIQEN, 1, 1);
UIO_FIELD(CR0, EVENTQEN, 2, 1);
UIO_FIELD(CR0, CMDQEN, 3, 1);
UIO_FIELD(CR0, ATSCHK, 4, 1);
UIO_FIELD(CR0, VMW, 6, 3);

/* 6.3.11 SMMU_CR1: QUEUE_IC/OC/SH, TABLE_IC/OC/SH, all RW */
UIO_FIELD(CR1, ALL, 0, 12);

/* 6.3.12 SMMU_CR2 */
UIO_FIELD(CR2, E2H, 0, 1);
UIO_FIELD(CR2, RECINVSID, 1, 1);
UIO_FIELD(CR2, PTM, 2, 1);

/* 6.3.14 SMMU_GBPA */
UIO_FIELD(GBPA, MEMATTR, 0, 4);
UIO_FIELD(GBPA, MTCFG, 4, 1);
UIO_FIELD(GBPA, ALLOCCFG, 8, 4);
UIO_FIELD(GBPA, SHCFG, 12, 2);
UIO_FIELD(GBPA, PRIVCFG, 16, 2);
UIO_FIELD(GBPA, INSTCFG, 18, 2);
UIO_FIELD(GBPA, ABORT, 20, 1);
UIO_FIELD(GBPA, UPDATE, 31, 1);
#define GBPA_RESET 0x00001000u	/* SHCFG = 0b01 (use incoming), bypass */

/* 6.3.16 SMMU_IRQ_CTRL (and 6.3.17 SMMU_IRQ_CTRLACK) */
UIO_FIELD(IRQ_CTRL, GERROR_IRQEN, 0, 1);
UIO_FIELD(IRQ_CTRL, PRIQ_IRQEN, 1, 1);
UIO_FIELD(IRQ_CTRL, EVENTQ_IRQEN, 2, 1);

/* 6.3.18 SMMU_GERROR (and 6.3.19 SMMU_GERRORN) */
UIO_FIELD(GERROR, CMDQ_ERR, 0, 1);
UIO_FIELD(GERROR, EVENTQ_ABT_ERR, 2, 1);
UIO_FIELD(GERROR, PRIQ_ABT_ERR, 3, 1);
UIO_FIELD(GERROR, MSI_CMDQ_ABT_ERR, 4, 1);
UIO_FIELD(GERROR, MSI_EVENTQ_ABT_ERR, 5, 1);
UIO_FIELD(GERROR, MSI_PRIQ_ABT_ERR, 6, 1);
UIO_FIELD(GERROR, MSI_GERROR_ABT_ERR, 7, 1);
UIO_FIELD(GERROR, SFM_ERR, 8, 1);

/* 6.3.20 SMMU_GERROR_IRQ_CFG0, 6.3.31 SMMU_EVENTQ_IRQ_CFG0 */
UIO_FIELD(IRQ_CFG0, ADDR, 2, 50);
/* 6.3.21 / 6.3.32 *_IRQ_CFG1: DATA [31:0]; 6.3.22 / 6.3.33 *_IRQ_CFG2 */
UIO_FIELD(IRQ_CFG2, MEMATTR, 0, 4);
UIO_FIELD(IRQ_CFG2, SH, 4, 2);

/* 6.3.23 SMMU_STRTAB_BASE */
UIO_FIELD(STRTAB_BASE, ADDR, 6, 46);
UIO_FIELD(STRTAB_BASE, RA, 62, 1);

/* 6.3.24 SMMU_STRTAB_BASE_CFG */
UIO_FIELD(STRTAB_BASE_CFG, LOG2SIZE, 0, 6);
UIO_FIELD(STRTAB_BASE_CFG, SPLIT, 6, 5);
UIO_FIELD(STRTAB_BASE_CFG, FMT, 16, 2);
#define STRTAB_FMT_LINEAR 0
#define STRTAB_FMT_2LVL 1

/* 6.3.25 SMMU_CMDQ_BASE, 6.3.28 SMMU_EVENTQ_BASE */
UIO_FIELD(Q_BASE, LOG2SIZE, 0, 5);
UIO_FIELD(Q_BASE, ADDR, 5, 47);
UIO_FIELD(Q_BASE, RA, 62, 1);	/* CMDQ: RA, EVENTQ: WA */

/* 6.3.26 SMMU_CMDQ_PROD, 6.3.27 SMMU_CMDQ_CONS */
UIO_FIELD(Q_IDX, WR, 0, 20);	/* index and wrap bit: PROD.WR, CONS.RD */
UIO_FIELD(CMDQ_CONS, ERR, 24, 7);
/* 6.3.29 SMMU_EVENTQ_PROD, 6.3.30 SMMU_EVENTQ_CONS */
UIO_FIELD(EVENTQ_PROD, OVFLG, 31, 1);
UIO_FIELD(EVENTQ_CONS, OVACKFLG, 31, 1);

/* 4.7.3 Command errors: CMDQ_CONS.ERR values */
enum smmu_cerror {
	CERROR_NONE = 0x00,
	CERROR_ILL = 0x01,
	CERROR_ABT = 0x02,
	CERROR_ATC_INV_SYNC = 0x03,
};

/* ------------------------------------------------------- stream table */

/* 5.1 Level 1 Stream Table Descriptor (8 bytes) */
UIO_FIELD(L1STD, SPAN, 0, 5);
UIO_FIELD(L1STD, L2PTR, 6, 46);

/* 5.2 Stream Table Entry (64 bytes, dwords 0..7) */
#define STE_SIZE 64
/* dword 0 */
UIO_FIELD(STE0, V, 0, 1);
UIO_FIELD(STE0, CONFIG, 1, 3);
UIO_FIELD(STE0, S1FMT, 4, 2);
UIO_FIELD(STE0, S1CONTEXTPTR, 6, 46);
UIO_FIELD(STE0, S1CDMAX, 59, 5);
/* dword 1 */
UIO_FIELD(STE1, S1DSS, 0, 2);
UIO_FIELD(STE1, S1CIR, 2, 2);
UIO_FIELD(STE1, S1COR, 4, 2);
UIO_FIELD(STE1, S1CSH, 6, 2);
UIO_FIELD(STE1, S1STALLD, 27, 1);
UIO_FIELD(STE1, EATS, 28, 2);
UIO_FIELD(STE1, STRW, 30, 2);
UIO_FIELD(STE1, SHCFG, 44, 2);
/* dword 2 */
UIO_FIELD(STE2, S2VMID, 0, 16);
UIO_FIELD(STE2, S2T0SZ, 32, 6);
UIO_FIELD(STE2, S2SL0, 38, 2);
UIO_FIELD(STE2, S2IR0, 40, 2);
UIO_FIELD(STE2, S2OR0, 42, 2);
UIO_FIELD(STE2, S2SH0, 44, 2);
UIO_FIELD(STE2, S2TG, 46, 2);
UIO_FIELD(STE2, S2PS, 48, 3);
UIO_FIELD(STE2, S2AA64, 51, 1);
UIO_FIELD(STE2, S2ENDI, 52, 1);
UIO_FIELD(STE2, S2AFFD, 53, 1);
UIO_FIELD(STE2, S2PTW, 54, 1);
UIO_FIELD(STE2, S2HD, 55, 1);
UIO_FIELD(STE2, S2HA, 56, 1);
UIO_FIELD(STE2, S2S, 57, 1);
UIO_FIELD(STE2, S2R, 58, 1);
/* dword 3 */
UIO_FIELD(STE3, S2TTB, 4, 48);

/* 5.2 STE.Config encodings ([3:1]) */
enum ste_config {
	STE_CFG_ABORT = 0,
	STE_CFG_BYPASS = 4,
	STE_CFG_S1 = 5,
	STE_CFG_S2 = 6,
	STE_CFG_NESTED = 7,
};
/* 5.2 STE.S1Fmt */
#define STE_S1FMT_LINEAR 0
#define STE_S1FMT_2LVL_4K 1
#define STE_S1FMT_2LVL_64K 2
/* 5.2 STE.S1DSS */
#define STE_S1DSS_TERMINATE 0
#define STE_S1DSS_BYPASS 1
#define STE_S1DSS_SSID0 2

/* 5.3 Level 1 Context Descriptor (8 bytes) */
UIO_FIELD(L1CD, V, 0, 1);
UIO_FIELD(L1CD, L2PTR, 12, 40);

/* 5.4 Context Descriptor (64 bytes) */
#define CD_SIZE 64
/* dword 0 */
UIO_FIELD(CD0, T0SZ, 0, 6);
UIO_FIELD(CD0, TG0, 6, 2);
UIO_FIELD(CD0, IR0, 8, 2);
UIO_FIELD(CD0, OR0, 10, 2);
UIO_FIELD(CD0, SH0, 12, 2);
UIO_FIELD(CD0, EPD0, 14, 1);
UIO_FIELD(CD0, ENDI, 15, 1);
UIO_FIELD(CD0, T1SZ, 16, 6);
UIO_FIELD(CD0, TG1, 22, 2);
UIO_FIELD(CD0, EPD1, 30, 1);
UIO_FIELD(CD0, V, 31, 1);
UIO_FIELD(CD0, IPS, 32, 3);
UIO_FIELD(CD0, AFFD, 35, 1);
UIO_FIELD(CD0, WXN, 36, 1);
UIO_FIELD(CD0, UWXN, 37, 1);
UIO_FIELD(CD0, TBI, 38, 2);
UIO_FIELD(CD0, PAN, 40, 1);
UIO_FIELD(CD0, AA64, 41, 1);
UIO_FIELD(CD0, HD, 42, 1);
UIO_FIELD(CD0, HA, 43, 1);
UIO_FIELD(CD0, S, 44, 1);
UIO_FIELD(CD0, R, 45, 1);
UIO_FIELD(CD0, A, 46, 1);
UIO_FIELD(CD0, ASET, 47, 1);
UIO_FIELD(CD0, ASID, 48, 16);
/* dword 1, 2 */
UIO_FIELD(CD1, TTB0, 4, 48);
UIO_FIELD(CD2, TTB1, 4, 48);
/* dword 3: MAIR0 [31:0], MAIR1 [63:32] */
UIO_FIELD(CD3, MAIR0, 0, 32);

/* CD.TG0 encodings (5.4); CD.TG1 uses 0b10 = 4K, 0b01 = 16K, 0b11 = 64K */
#define CD_TG0_4K 0
#define CD_TG0_64K 1
#define CD_TG0_16K 2
/* STE.S2TG encodings (5.2), as VTCR_EL2.TG0 */
#define STE_S2TG_4K 0
#define STE_S2TG_64K 1
#define STE_S2TG_16K 2

/* ------------------------------------------------------------ commands */

/* 4.1 Commands overview: 16 bytes, opcode in [7:0] */
#define CMD_SIZE 16
UIO_FIELD(CMD0, OPCODE, 0, 8);
UIO_FIELD(CMD0, SSEC, 10, 1);
UIO_FIELD(CMD0, SSV, 11, 1);
UIO_FIELD(CMD0, SSID, 12, 20);
UIO_FIELD(CMD0, SID, 32, 32);
UIO_FIELD(CMD0, VMID, 32, 16);
UIO_FIELD(CMD0, ASID, 48, 16);
UIO_FIELD(CMD0, NUM, 12, 5);	/* 4.4.2 TLBI_NH_VA range (RIL) */
UIO_FIELD(CMD0, SCALE, 20, 5);
/* 4.3.1 CFGI_STE, 4.3.3 CFGI_CD: Leaf; 4.3.2 CFGI_STE_RANGE: Range */
UIO_FIELD(CMD1, LEAF, 0, 1);
UIO_FIELD(CMD1, RANGE, 0, 5);
/* 4.4.2 TLBI_NH_VA, 4.4.6 TLBI_S2_IPA */
UIO_FIELD(CMD1, TTL, 8, 2);
UIO_FIELD(CMD1, TG, 10, 2);
UIO_FIELD(CMD1, ADDR, 12, 52);
/* 4.2.2 PREFETCH_ADDR */
UIO_FIELD(CMD1, PF_SIZE, 0, 5);
/* 4.7.2 CMD_SYNC */
UIO_FIELD(CMD0, SYNC_CS, 12, 2);
UIO_FIELD(CMD0, SYNC_MSH, 22, 2);
UIO_FIELD(CMD0, SYNC_MSIATTR, 24, 4);
UIO_FIELD(CMD0, SYNC_MSIDATA, 32, 32);
UIO_FIELD(CMD1, SYNC_MSIADDR, 2, 50);
#define CMD_SYNC_SIG_NONE 0
#define CMD_SYNC_SIG_IRQ 1
#define CMD_SYNC_SIG_SEV 2

enum smmu_opcode {
	CMD_PREFETCH_CONFIG = 0x01,
	CMD_PREFETCH_ADDR = 0x02,
	CMD_CFGI_STE = 0x03,
	CMD_CFGI_STE_RANGE = 0x04,	/* Range 31 is CFGI_ALL */
	CMD_CFGI_CD = 0x05,
	CMD_CFGI_CD_ALL = 0x06,
	CMD_TLBI_NH_ALL = 0x10,
	CMD_TLBI_NH_ASID = 0x11,
	CMD_TLBI_NH_VA = 0x12,
	CMD_TLBI_NH_VAA = 0x13,
	CMD_TLBI_EL3_ALL = 0x18,
	CMD_TLBI_EL3_VA = 0x1a,
	CMD_TLBI_EL2_ALL = 0x20,
	CMD_TLBI_EL2_ASID = 0x21,
	CMD_TLBI_EL2_VA = 0x22,
	CMD_TLBI_EL2_VAA = 0x23,
	CMD_TLBI_S12_VMALL = 0x28,
	CMD_TLBI_S2_IPA = 0x2a,
	CMD_TLBI_NSNH_ALL = 0x30,
	CMD_ATC_INV = 0x40,
	CMD_PRI_RESP = 0x41,
	CMD_RESUME = 0x44,
	CMD_STALL_TERM = 0x45,
	CMD_SYNC = 0x46,
};

/* -------------------------------------------------------------- events */

/* 7.3 Event records: 32 bytes; common fields */
#define EVT_SIZE 32
UIO_FIELD(EVT0, TYPE, 0, 8);
UIO_FIELD(EVT0, SSV, 11, 1);
UIO_FIELD(EVT0, SSID, 12, 20);
UIO_FIELD(EVT0, SID, 32, 32);
/* 7.3.13 F_TRANSLATION and friends, dword 1 */
UIO_FIELD(EVT1, STAG, 0, 16);
UIO_FIELD(EVT1, STALL, 31, 1);
UIO_FIELD(EVT1, PNU, 33, 1);
UIO_FIELD(EVT1, IND, 34, 1);
UIO_FIELD(EVT1, RNW, 35, 1);
UIO_FIELD(EVT1, S2, 39, 1);
UIO_FIELD(EVT1, CLASS, 40, 2);
UIO_FIELD(EVT1, TTRNW, 44, 1);
/* dword 2: InputAddr[63:0]; dword 3: IPA or FetchAddr */
UIO_FIELD(EVT3, IPA, 12, 40);
UIO_FIELD(EVT3, FETCH_ADDR, 3, 49);

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
