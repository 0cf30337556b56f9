// SPDX-License-Identifier: MIT
/*
 * SMMUv3 model: creation, the two register pages and interrupt delivery.
 *
 * Registers follow IHI 0070 G.b chapter 6.  Every write is decoded against
 * a per-register writable mask; read-only and RES0 bits are ignored.  The
 * enable handshakes (CR0 -> CR0ACK, IRQ_CTRL -> IRQ_CTRLACK, GBPA.Update)
 * complete synchronously, so the acknowledge register already holds the new
 * value when the write returns.  "Guarded" registers (6.3: writable only
 * while the feature they configure is disabled) ignore writes otherwise,
 * with a guest-error log line.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smmuv3-internal.h"

#include "alloc.h"
#include "log.h"
#include "trace.h"

/* Writable bits of the registers (the rest is RO or RES0 in this model). */
#define CR0_WMASK (CR0_SMMUEN_MASK | CR0_EVENTQEN_MASK | CR0_CMDQEN_MASK)
#define CR2_WMASK (CR2_E2H_MASK | CR2_RECINVSID_MASK | CR2_PTM_MASK)
#define GBPA_WMASK (GBPA_MEMATTR_MASK | GBPA_MTCFG_MASK | GBPA_ALLOCCFG_MASK | \
		    GBPA_SHCFG_MASK | GBPA_PRIVCFG_MASK | GBPA_INSTCFG_MASK | \
		    GBPA_ABORT_MASK)
#define IRQ_CTRL_WMASK (IRQ_CTRL_GERROR_IRQEN_MASK | IRQ_CTRL_EVENTQ_IRQEN_MASK)
#define GERROR_IMPL (GERROR_CMDQ_ERR_MASK | GERROR_EVENTQ_ABT_ERR_MASK | \
		     GERROR_MSI_CMDQ_ABT_ERR_MASK | GERROR_MSI_EVENTQ_ABT_ERR_MASK | \
		     GERROR_MSI_GERROR_ABT_ERR_MASK | GERROR_SFM_ERR_MASK)
#define IRQ_CFG2_WMASK (IRQ_CFG2_MEMATTR_MASK | IRQ_CFG2_SH_MASK)
#define STRTAB_BASE_WMASK (STRTAB_BASE_ADDR_MASK | STRTAB_BASE_RA_MASK)
#define Q_BASE_WMASK (Q_BASE_LOG2SIZE_MASK | Q_BASE_ADDR_MASK | Q_BASE_RA_MASK)

/* Register map handed to physmem (sorted by offset). */
static const struct uiommu_reg_desc smmu_regs[] = {
	{ "SMMU_IDR0", SMMU_IDR0, 4 },
	{ "SMMU_IDR1", SMMU_IDR1, 4 },
	{ "SMMU_IDR2", SMMU_IDR2, 4 },
	{ "SMMU_IDR3", SMMU_IDR3, 4 },
	{ "SMMU_IDR4", SMMU_IDR4, 4 },
	{ "SMMU_IDR5", SMMU_IDR5, 4 },
	{ "SMMU_IIDR", SMMU_IIDR, 4 },
	{ "SMMU_AIDR", SMMU_AIDR, 4 },
	{ "SMMU_CR0", SMMU_CR0, 4 },
	{ "SMMU_CR0ACK", SMMU_CR0ACK, 4 },
	{ "SMMU_CR1", SMMU_CR1, 4 },
	{ "SMMU_CR2", SMMU_CR2, 4 },
	{ "SMMU_STATUSR", SMMU_STATUSR, 4 },
	{ "SMMU_GBPA", SMMU_GBPA, 4 },
	{ "SMMU_AGBPA", SMMU_AGBPA, 4 },
	{ "SMMU_IRQ_CTRL", SMMU_IRQ_CTRL, 4 },
	{ "SMMU_IRQ_CTRLACK", SMMU_IRQ_CTRLACK, 4 },
	{ "SMMU_GERROR", SMMU_GERROR, 4 },
	{ "SMMU_GERRORN", SMMU_GERRORN, 4 },
	{ "SMMU_GERROR_IRQ_CFG0", SMMU_GERROR_IRQ_CFG0, 8 },
	{ "SMMU_GERROR_IRQ_CFG1", SMMU_GERROR_IRQ_CFG1, 4 },
	{ "SMMU_GERROR_IRQ_CFG2", SMMU_GERROR_IRQ_CFG2, 4 },
	{ "SMMU_STRTAB_BASE", SMMU_STRTAB_BASE, 8 },
	{ "SMMU_STRTAB_BASE_CFG", SMMU_STRTAB_BASE_CFG, 4 },
	{ "SMMU_CMDQ_BASE", SMMU_CMDQ_BASE, 8 },
	{ "SMMU_CMDQ_PROD", SMMU_CMDQ_PROD, 4 },
	{ "SMMU_CMDQ_CONS", SMMU_CMDQ_CONS, 4 },
	{ "SMMU_EVENTQ_BASE", SMMU_EVENTQ_BASE, 8 },
	{ "SMMU_EVENTQ_IRQ_CFG0", SMMU_EVENTQ_IRQ_CFG0, 8 },
	{ "SMMU_EVENTQ_IRQ_CFG1", SMMU_EVENTQ_IRQ_CFG1, 4 },
	{ "SMMU_EVENTQ_IRQ_CFG2", SMMU_EVENTQ_IRQ_CFG2, 4 },
	{ "SMMU_EVENTQ_PROD", SMMU_EVENTQ_PROD, 4 },
	{ "SMMU_EVENTQ_CONS", SMMU_EVENTQ_CONS, 4 },
};

UIOMMU_API void uiommu_smmuv3_default_options(struct uiommu_smmuv3_options *o)
{
	memset(o, 0, sizeof(*o));
	o->features = UIOMMU_SMMUV3_F_STAGE1 | UIOMMU_SMMUV3_F_STAGE2 |
		      UIOMMU_SMMUV3_F_STRTAB_2LVL | UIOMMU_SMMUV3_F_CD_2LVL;
	o->sid_bits = 16;
	o->ssid_bits = 8;
	o->cmdq_log2max = 19;
	o->eventq_log2max = 19;
	o->oas_bits = 48;
	o->tlb_entries = 4096;
	o->cfg_entries = 256;
}

/* 6.3.6 IDR5.OAS encodings this model implements. */
static const unsigned char oas_widths[] = { 32, 36, 40, 42, 44, 48 };

/* IDR5.OAS encoding of an address width; -1 if not encodable. */
static int oas_encode(unsigned int bits)
{
	for (unsigned int i = 0; i < UIO_ARRAY_SIZE(oas_widths); i++)
		if (oas_widths[i] == bits)
			return (int)i;
	return -1;
}

static int check_options(const struct uiommu_smmuv3_options *o)
{
	const uint32_t known = UIOMMU_SMMUV3_F_STAGE1 | UIOMMU_SMMUV3_F_STAGE2 |
			       UIOMMU_SMMUV3_F_STRTAB_2LVL | UIOMMU_SMMUV3_F_CD_2LVL;

	if (o->features & ~known)
		return uio_fail(-EINVAL, SMMU_SUBSYS, "unknown features 0x%x",
				o->features & ~known);
	if (!(o->features & (UIOMMU_SMMUV3_F_STAGE1 | UIOMMU_SMMUV3_F_STAGE2)))
		return uio_fail(-EINVAL, SMMU_SUBSYS,
				"features 0x%x: neither stage 1 nor stage 2",
				o->features);
	if (o->sid_bits < 1 || o->sid_bits > 24)
		return uio_fail(-EINVAL, SMMU_SUBSYS, "sid_bits %u not in 1..24",
				o->sid_bits);
	if (o->ssid_bits > 20)
		return uio_fail(-EINVAL, SMMU_SUBSYS, "ssid_bits %u not in 0..20",
				o->ssid_bits);
	if (o->cmdq_log2max < 1 || o->cmdq_log2max > 19 ||
	    o->eventq_log2max < 1 || o->eventq_log2max > 19)
		return uio_fail(-EINVAL, SMMU_SUBSYS,
				"queue sizes 2^%u / 2^%u not in 2^1..2^19",
				o->cmdq_log2max, o->eventq_log2max);
	if (oas_encode(o->oas_bits) < 0)
		return uio_fail(-EINVAL, SMMU_SUBSYS,
				"oas_bits %u not 32/36/40/42/44/48", o->oas_bits);
	if (!uio_is_pow2(o->tlb_entries) || o->tlb_entries < 16 ||
	    o->tlb_entries > (1u << 20))
		return uio_fail(-EINVAL, SMMU_SUBSYS,
				"tlb_entries %u not a power of two in 16..2^20",
				o->tlb_entries);
	if (!uio_is_pow2(o->cfg_entries) || o->cfg_entries < 4 ||
	    o->cfg_entries > (1u << 16))
		return uio_fail(-EINVAL, SMMU_SUBSYS,
				"cfg_entries %u not a power of two in 4..2^16",
				o->cfg_entries);
	return 0;
}

/* 6.3.1-6.3.8: the ID registers of the modelled implementation. */
static void init_idregs(struct uiommu_smmuv3 *s)
{
	const struct uiommu_smmuv3_options *o = &s->opts;
	uint64_t v = 0;

	v = UIO_FDP64(v, IDR0, S1P, !!(o->features & UIOMMU_SMMUV3_F_STAGE1));
	v = UIO_FDP64(v, IDR0, S2P, !!(o->features & UIOMMU_SMMUV3_F_STAGE2));
	v = UIO_FDP64(v, IDR0, TTF, IDR0_TTF_AARCH64);
	v = UIO_FDP64(v, IDR0, COHACC, 1);
	v = UIO_FDP64(v, IDR0, HYP, 1);
	v = UIO_FDP64(v, IDR0, ASID16, 1);
	v = UIO_FDP64(v, IDR0, MSI, 1);
	v = UIO_FDP64(v, IDR0, SEV, 1);
	v = UIO_FDP64(v, IDR0, VMID16, 1);
	v = UIO_FDP64(v, IDR0, CD2L, !!(o->features & UIOMMU_SMMUV3_F_CD_2LVL));
	v = UIO_FDP64(v, IDR0, TTENDIAN, IDR0_TTENDIAN_LE);
	v = UIO_FDP64(v, IDR0, STALL_MODEL, IDR0_STALL_NONE);
	v = UIO_FDP64(v, IDR0, ST_LEVEL,
		      !!(o->features & UIOMMU_SMMUV3_F_STRTAB_2LVL));
	s->idr[0] = (uint32_t)v;

	v = UIO_FDP64(0, IDR1, SIDSIZE, o->sid_bits);
	v = UIO_FDP64(v, IDR1, SSIDSIZE, o->ssid_bits);
	v = UIO_FDP64(v, IDR1, EVENTQS, o->eventq_log2max);
	v = UIO_FDP64(v, IDR1, CMDQS, o->cmdq_log2max);
	s->idr[1] = (uint32_t)v;

	v = UIO_FDP64(0, IDR5, OAS, (uint64_t)oas_encode(o->oas_bits));
	v = UIO_FDP64(v, IDR5, GRAN4K, 1);
	v = UIO_FDP64(v, IDR5, GRAN16K, 1);
	v = UIO_FDP64(v, IDR5, GRAN64K, 1);
	s->idr[5] = (uint32_t)v;

	/* Implementer 0x43b is Arm's JEP106 code; product "uio" = 0x0u1. */
	v = UIO_FDP64(0, IIDR, IMPLEMENTER, 0x43b);
	s->iidr = (uint32_t)UIO_FDP64(v, IIDR, PRODUCTID, 0x0a1);
	s->aidr = (uint32_t)UIO_FDP64(0, AIDR, MAJOR, 0);	/* SMMUv3.0 */
}

/* 6.3: reset values (queues and tables UNKNOWN; this model uses zero). */
static void reset_regs(struct uiommu_smmuv3 *s)
{
	s->cr0 = s->cr1 = s->cr2 = 0;
	s->gbpa = GBPA_RESET;
	s->irq_ctrl = 0;
	s->gerror = s->gerrorn = 0;
	s->gerror_irq_cfg0 = s->eventq_irq_cfg0 = 0;
	s->gerror_irq_cfg1 = s->gerror_irq_cfg2 = 0;
	s->eventq_irq_cfg1 = s->eventq_irq_cfg2 = 0;
	s->strtab_base = 0;
	s->strtab_base_cfg = 0;
	s->cmdq_base = s->eventq_base = 0;
	s->cmdq_prod = s->cmdq_cons = 0;
	s->eventq_prod = s->eventq_cons = 0;
}

bool uio_smmu_addr_is_self(const struct uiommu_smmuv3 *s, uint64_t pa)
{
	return pa >= s->base && pa - s->base < UIOMMU_SMMUV3_MMIO_SIZE;
}

/*
 * Toggle GERROR bits (an error becomes active when GERROR != GERRORN) and
 * ask for the GERROR interrupt.  Already active errors are not toggled
 * again (6.3.18).
 */
void uio_smmu_gerror_toggle(struct uiommu_smmuv3 *s, uint32_t bits)
{
	uint32_t active;

	uio_assert_held(&s->lock);
	active = s->gerror ^ s->gerrorn;
	bits &= ~active;
	if (!bits)
		return;
	s->gerror ^= bits;
	trace_smmuv3_gerror(s->gerror, s->gerrorn);
	if (UIO_FEX64(s->irq_ctrl, IRQ_CTRL, GERROR_IRQEN))
		s->pending_irqs |= SMMU_IRQ_GERROR;
}

/*
 * Deliver interrupts collected under the lock: an MSI when the IRQ_CFG0
 * address is set (6.3.20), else the wired callback.  Called unlocked.
 */
void uio_smmu_deliver_irqs(struct uiommu_smmuv3 *s, unsigned int irqs)
{
	for (unsigned int irq = SMMU_IRQ_EVENTQ; irq <= SMMU_IRQ_GERROR; irq <<= 1) {
		uint64_t addr;
		uint32_t data;
		void (*wired)(void *);

		if (!(irqs & irq))
			continue;
		uio_lock(&s->lock);
		if (irq == SMMU_IRQ_EVENTQ) {
			addr = UIO_FEX64(s->eventq_irq_cfg0, IRQ_CFG0, ADDR) << 2;
			data = s->eventq_irq_cfg1;
			wired = s->opts.event_irq;
		} else {
			addr = UIO_FEX64(s->gerror_irq_cfg0, IRQ_CFG0, ADDR) << 2;
			data = s->gerror_irq_cfg1;
			wired = s->opts.gerror_irq;
		}
		uio_unlock(&s->lock);
		trace_smmuv3_irq(irq, addr, data);
		if (!addr) {
			if (wired)
				wired(s->opts.irq_opaque);
			continue;
		}
		if (uio_smmu_addr_is_self(s, addr) ||
		    uiommu_phys_st(s->pm, addr, 4, data, NULL)) {
			uio_guest_error(SMMU_SUBSYS, "%s: MSI write to 0x%" PRIx64
					" aborted", s->name, addr);
			uio_lock(&s->lock);
			uio_smmu_gerror_toggle(s, irq == SMMU_IRQ_EVENTQ ?
					       GERROR_MSI_EVENTQ_ABT_ERR_MASK :
					       GERROR_MSI_GERROR_ABT_ERR_MASK);
			/* No second MSI for the GERROR MSI's own failure. */
			s->pending_irqs &= ~(unsigned int)SMMU_IRQ_GERROR;
			uio_unlock(&s->lock);
		}
	}
}

/* Take the interrupts pending and drop the lock. */
static unsigned int unlock_take_irqs(struct uiommu_smmuv3 *s)
{
	unsigned int irqs = s->pending_irqs;

	s->pending_irqs = 0;
#if UIOMMU_DEBUG >= 2
	{
		int err = 0;

		uio_unlock(&s->lock);
		err = uiommu_smmuv3_check(s);
		assert(!err);
		(void)err;
		return irqs;
	}
#endif
	uio_unlock(&s->lock);
	return irqs;
}

static uint64_t reg_read_locked(struct uiommu_smmuv3 *s, uint64_t off)
{
	switch (off) {
	case SMMU_IDR0: case SMMU_IDR1: case SMMU_IDR2:
	case SMMU_IDR3: case SMMU_IDR4: case SMMU_IDR5:
		return s->idr[(off - SMMU_IDR0) / 4];
	case SMMU_IIDR: return s->iidr;
	case SMMU_AIDR: return s->aidr;
	case SMMU_CR0: case SMMU_CR0ACK: return s->cr0;
	case SMMU_CR1: return s->cr1;
	case SMMU_CR2: return s->cr2;
	case SMMU_GBPA: return s->gbpa;	/* Update always reads 0 */
	case SMMU_IRQ_CTRL: case SMMU_IRQ_CTRLACK: return s->irq_ctrl;
	case SMMU_GERROR: return s->gerror;
	case SMMU_GERRORN: return s->gerrorn;
	case SMMU_GERROR_IRQ_CFG0: return s->gerror_irq_cfg0;
	case SMMU_GERROR_IRQ_CFG1: return s->gerror_irq_cfg1;
	case SMMU_GERROR_IRQ_CFG2: return s->gerror_irq_cfg2;
	case SMMU_STRTAB_BASE: return s->strtab_base;
	case SMMU_STRTAB_BASE_CFG: return s->strtab_base_cfg;
	case SMMU_CMDQ_BASE: return s->cmdq_base;
	case SMMU_CMDQ_PROD: return s->cmdq_prod;
	case SMMU_CMDQ_CONS: return s->cmdq_cons;
	case SMMU_EVENTQ_BASE: return s->eventq_base;
	case SMMU_EVENTQ_IRQ_CFG0: return s->eventq_irq_cfg0;
	case SMMU_EVENTQ_IRQ_CFG1: return s->eventq_irq_cfg1;
	case SMMU_EVENTQ_IRQ_CFG2: return s->eventq_irq_cfg2;
	case SMMU_EVENTQ_PROD: return s->eventq_prod;
	case SMMU_EVENTQ_CONS: return s->eventq_cons;
	default: return 0;	/* reserved, STATUSR, AGBPA: RAZ */
	}
}

static bool guarded(struct uiommu_smmuv3 *s, const char *reg, bool enabled)
{
	if (enabled)
		uio_guest_error(SMMU_SUBSYS, "%s: write to %s while enabled ignored",
				s->name, reg);
	return enabled;
}

/* Index bits (with wrap bit) of a queue of 2^log2 entries. */
static uint32_t q_idx_mask(unsigned int log2)
{
	return (uint32_t)UIO_GENMASK(log2, 0);
}

/* 6.3.9 CR0: apply, acknowledge (CR0ACK is the same storage). */
static void write_cr0(struct uiommu_smmuv3 *s, uint32_t val)
{
	uint32_t old = s->cr0, now = val & (uint32_t)CR0_WMASK;

	if (val & ~(uint32_t)CR0_WMASK)
		uio_guest_error(SMMU_SUBSYS, "%s: CR0 0x%x sets unimplemented bits",
				s->name, val);
	__atomic_store_n(&s->cr0, now, __ATOMIC_RELEASE);
	/* Disabling the SMMU forgets cached state (3.21.1: caches invalid). */
	if (UIO_FEX64(old, CR0, SMMUEN) && !UIO_FEX64(now, CR0, SMMUEN)) {
		uio_smmu_cfg_inval(s, 0, UINT32_MAX, false, 0);
		uio_smmu_tlb_inval(s, TLBI_ALL, 0, 0, 0);
	}
	if (!UIO_FEX64(old, CR0, CMDQEN) && UIO_FEX64(now, CR0, CMDQEN))
		uio_smmu_cmdq_process(s);
}

static void write_gbpa(struct uiommu_smmuv3 *s, uint32_t val)
{
	/* 6.3.14: only a write with Update set changes the fields; the update
	 * completes at once, so Update reads back as zero. */
	if (!UIO_FEX64(val, GBPA, UPDATE)) {
		uio_guest_error(SMMU_SUBSYS, "%s: GBPA write 0x%x without Update ignored",
				s->name, val);
		return;
	}
	__atomic_store_n(&s->gbpa, val & (uint32_t)GBPA_WMASK, __ATOMIC_RELAXED);
}

static void write_gerrorn(struct uiommu_smmuv3 *s, uint32_t val)
{
	uint32_t was_active = s->gerror ^ s->gerrorn;

	/* 6.3.19: software toggles only active errors; toggling an inactive
	 * one is CONSTRAINED UNPREDICTABLE, here ignored so that it cannot
	 * fake an error (and halt the command queue). */
	if ((val ^ s->gerrorn) & ~was_active & (uint32_t)GERROR_IMPL)
		uio_guest_error(SMMU_SUBSYS, "%s: GERRORN 0x%x toggles inactive"
				" errors (GERROR 0x%x)", s->name, val, s->gerror);
	s->gerrorn = (s->gerrorn & ~was_active) | (val & was_active);
	/* 4.7.3: the command queue restarts once CMDQ_ERR is acknowledged. */
	if ((was_active & GERROR_CMDQ_ERR_MASK) &&
	    !((s->gerror ^ s->gerrorn) & GERROR_CMDQ_ERR_MASK))
		uio_smmu_cmdq_process(s);
}

static void write_q_prod_cons(struct uiommu_smmuv3 *s, uint64_t off,
			      uint32_t val)
{
	unsigned int cl = uio_smmu_q_log2(s->cmdq_base, s->opts.cmdq_log2max);
	unsigned int el = uio_smmu_q_log2(s->eventq_base, s->opts.eventq_log2max);
	bool cmdqen = UIO_FEX64(s->cr0, CR0, CMDQEN);
	bool evqen = UIO_FEX64(s->cr0, CR0, EVENTQEN);

	switch (off) {
	case SMMU_CMDQ_PROD:
		s->cmdq_prod = val & q_idx_mask(cl);
		uio_smmu_cmdq_process(s);
		break;
	case SMMU_CMDQ_CONS:	/* 6.3.27: RO while the queue is enabled */
		if (!guarded(s, "CMDQ_CONS", cmdqen))
			s->cmdq_cons = val & (q_idx_mask(cl) | (uint32_t)CMDQ_CONS_ERR_MASK);
		break;
	case SMMU_EVENTQ_PROD:	/* 6.3.29: RO while the queue is enabled */
		if (!guarded(s, "EVENTQ_PROD", evqen))
			s->eventq_prod = val & (q_idx_mask(el) |
						(uint32_t)EVENTQ_PROD_OVFLG_MASK);
		break;
	case SMMU_EVENTQ_CONS:
		s->eventq_cons = val & (q_idx_mask(el) |
					(uint32_t)EVENTQ_CONS_OVACKFLG_MASK);
		break;
	}
}

/* Write the 32-bit half @hi of a 64-bit register (or all of it, @size 8). */
static uint64_t merge64(uint64_t old, uint64_t val, unsigned int size, bool hi)
{
	if (size == 8)
		return val;
	if (hi)
		return (old & 0xffffffffu) | (val << 32);
	return (old & ~UINT64_C(0xffffffff)) | (val & 0xffffffffu);
}

static void reg_write_locked(struct uiommu_smmuv3 *s, uint64_t off,
			     unsigned int size, uint64_t val)
{
	bool smmuen = UIO_FEX64(s->cr0, CR0, SMMUEN);
	bool hi = (off & 4) && size == 4;
	uint64_t reg64 = off & ~UINT64_C(7);
	uint32_t v32 = (uint32_t)val;

	switch (reg64) {
	case SMMU_GERROR_IRQ_CFG0:
		if (!guarded(s, "GERROR_IRQ_CFG0",
			     UIO_FEX64(s->irq_ctrl, IRQ_CTRL, GERROR_IRQEN)))
			s->gerror_irq_cfg0 = merge64(s->gerror_irq_cfg0, val, size,
						     hi) & IRQ_CFG0_ADDR_MASK;
		return;
	case SMMU_STRTAB_BASE:
		if (!guarded(s, "STRTAB_BASE", smmuen))
			__atomic_store_n(&s->strtab_base,
					 merge64(s->strtab_base, val, size, hi) &
					 STRTAB_BASE_WMASK, __ATOMIC_RELAXED);
		return;
	case SMMU_CMDQ_BASE:
		if (!guarded(s, "CMDQ_BASE", UIO_FEX64(s->cr0, CR0, CMDQEN)))
			s->cmdq_base = merge64(s->cmdq_base, val, size, hi) &
				       Q_BASE_WMASK;
		return;
	case SMMU_EVENTQ_BASE:
		if (!guarded(s, "EVENTQ_BASE", UIO_FEX64(s->cr0, CR0, EVENTQEN)))
			s->eventq_base = merge64(s->eventq_base, val, size, hi) &
					 Q_BASE_WMASK;
		return;
	case SMMU_EVENTQ_IRQ_CFG0:
		if (!guarded(s, "EVENTQ_IRQ_CFG0",
			     UIO_FEX64(s->irq_ctrl, IRQ_CTRL, EVENTQ_IRQEN)))
			s->eventq_irq_cfg0 = merge64(s->eventq_irq_cfg0, val, size,
						     hi) & IRQ_CFG0_ADDR_MASK;
		return;
	}
	if (size != 4) {
		uio_guest_error(SMMU_SUBSYS, "%s: %u-byte write to 32-bit register"
				" 0x%" PRIx64 " ignored", s->name, size, off);
		return;
	}
	switch (off) {
	case SMMU_CR0:
		write_cr0(s, v32);
		break;
	case SMMU_CR1:
		if (!guarded(s, "CR1", smmuen || (s->cr0 & (CR0_CMDQEN_MASK |
							     CR0_EVENTQEN_MASK))))
			s->cr1 = v32 & (uint32_t)CR1_ALL_MASK;
		break;
	case SMMU_CR2:
		if (!guarded(s, "CR2", smmuen))
			__atomic_store_n(&s->cr2, v32 & (uint32_t)CR2_WMASK,
					 __ATOMIC_RELAXED);
		break;
	case SMMU_GBPA:
		write_gbpa(s, v32);
		break;
	case SMMU_IRQ_CTRL:
		s->irq_ctrl = v32 & (uint32_t)IRQ_CTRL_WMASK;
		break;
	case SMMU_GERRORN:
		write_gerrorn(s, v32);
		break;
	case SMMU_GERROR_IRQ_CFG1:
		if (!guarded(s, "GERROR_IRQ_CFG1",
			     UIO_FEX64(s->irq_ctrl, IRQ_CTRL, GERROR_IRQEN)))
			s->gerror_irq_cfg1 = v32;
		break;
	case SMMU_GERROR_IRQ_CFG2:
		if (!guarded(s, "GERROR_IRQ_CFG2",
			     UIO_FEX64(s->irq_ctrl, IRQ_CTRL, GERROR_IRQEN)))
			s->gerror_irq_cfg2 = v32 & (uint32_t)IRQ_CFG2_WMASK;
		break;
	case SMMU_EVENTQ_IRQ_CFG1:
		if (!guarded(s, "EVENTQ_IRQ_CFG1",
			     UIO_FEX64(s->irq_ctrl, IRQ_CTRL, EVENTQ_IRQEN)))
			s->eventq_irq_cfg1 = v32;
		break;
	case SMMU_EVENTQ_IRQ_CFG2:
		if (!guarded(s, "EVENTQ_IRQ_CFG2",
			     UIO_FEX64(s->irq_ctrl, IRQ_CTRL, EVENTQ_IRQEN)))
			s->eventq_irq_cfg2 = v32 & (uint32_t)IRQ_CFG2_WMASK;
		break;
	case SMMU_STRTAB_BASE_CFG:
		if (!guarded(s, "STRTAB_BASE_CFG", smmuen))
			__atomic_store_n(&s->strtab_base_cfg, v32 &
					 (uint32_t)(STRTAB_BASE_CFG_LOG2SIZE_MASK |
						    STRTAB_BASE_CFG_SPLIT_MASK |
						    STRTAB_BASE_CFG_FMT_MASK),
					 __ATOMIC_RELAXED);
		break;
	case SMMU_CMDQ_PROD: case SMMU_CMDQ_CONS:
	case SMMU_EVENTQ_PROD: case SMMU_EVENTQ_CONS:
		write_q_prod_cons(s, off, v32);
		break;
	default:
		/* ID registers, ACKs, GERROR, STATUSR, AGBPA, reserved: RO/WI */
		uio_guest_error(SMMU_SUBSYS, "%s: write 0x%x to read-only or reserved"
				" offset 0x%" PRIx64 " ignored", s->name, v32, off);
		break;
	}
}

static bool is_reg64(uint64_t off)
{
	switch (off) {
	case SMMU_GERROR_IRQ_CFG0: case SMMU_STRTAB_BASE:
	case SMMU_CMDQ_BASE: case SMMU_EVENTQ_BASE: case SMMU_EVENTQ_IRQ_CFG0:
		return true;
	default:
		return false;
	}
}

/* 6.2: 32-bit accesses to any register, 64-bit ones to 64-bit registers. */
static bool access_ok(struct uiommu_smmuv3 *s, uint64_t off, unsigned int size,
		      const char *dir)
{
	if (size == 4 || (size == 8 && is_reg64(off)))
		return true;
	uio_guest_error(SMMU_SUBSYS, "%s: %u-byte %s at 0x%" PRIx64
			" not supported (RAZ/WI)", s->name, size, dir, off);
	return false;
}

/* Page 0 offsets 0xa8/0xac and page 1 offsets other than those: reserved. */
static uint64_t decode_offset(uint64_t off)
{
	if (off >= SMMU_PAGE1) {
		if (off == SMMU_EVENTQ_PROD || off == SMMU_EVENTQ_CONS)
			return off;
		return UINT64_MAX;
	}
	if (off == (SMMU_EVENTQ_PROD - SMMU_PAGE1) ||
	    off == (SMMU_EVENTQ_CONS - SMMU_PAGE1))
		return UINT64_MAX;
	return off;
}

static int mmio_read(void *opaque, uint64_t offset, unsigned int size,
		     uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_smmuv3 *s = opaque;
	uint64_t off = decode_offset(offset & ~UINT64_C(3));

	(void)attrs;
	*val = 0;
	if (!access_ok(s, offset, size, "read") || off == UINT64_MAX)
		return 0;
	uio_lock(&s->lock);
	if (is_reg64(off & ~UINT64_C(7))) {
		*val = reg_read_locked(s, off & ~UINT64_C(7));
		if (size == 4)
			*val = (off & 4) ? *val >> 32 : (uint32_t)*val;
	} else {
		*val = (uint32_t)reg_read_locked(s, off);
	}
	uio_unlock(&s->lock);
	trace_smmuv3_mmio_read(offset, size, *val);
	return 0;
}

static int mmio_write(void *opaque, uint64_t offset, unsigned int size,
		      uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_smmuv3 *s = opaque;
	uint64_t off = decode_offset(offset & ~UINT64_C(3));
	unsigned int irqs;

	(void)attrs;
	trace_smmuv3_mmio_write(offset, size, val);
	if (!access_ok(s, offset, size, "write"))
		return 0;
	if (off == UINT64_MAX) {
		uio_guest_error(SMMU_SUBSYS, "%s: write to reserved offset 0x%"
				PRIx64 " ignored", s->name, offset);
		return 0;
	}
	uio_lock(&s->lock);
	reg_write_locked(s, off, size, val);
	irqs = unlock_take_irqs(s);
	uio_smmu_deliver_irqs(s, irqs);
	return 0;
}

static const struct uiommu_mmio_ops smmu_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

UIOMMU_API int uiommu_smmuv3_create(struct uiommu_physmem *pm, uint64_t base,
				    const struct uiommu_smmuv3_options *opts,
				    struct uiommu_smmuv3 **out)
{
	struct uiommu_smmuv3_options defaults;
	struct uiommu_mmio_desc desc;
	struct uiommu_smmuv3 *s;
	int err;

	if (!pm || !out)
		return uio_fail(-EINVAL, SMMU_SUBSYS, "create: NULL %s",
				!pm ? "physmem" : "out");
	if (!uio_is_aligned(base, 0x10000) || base == UIOMMU_PHYS_ANY)
		return uio_fail(-EINVAL, SMMU_SUBSYS,
				"base 0x%" PRIx64 " not 64 KiB aligned", base);
	if (!opts) {
		uiommu_smmuv3_default_options(&defaults);
		opts = &defaults;
	}
	err = check_options(opts);
	if (err)
		return err;

	s = uio_new(struct uiommu_smmuv3);
	if (!s)
		return -ENOMEM;
	s->pm = pm;
	s->base = base;
	s->opts = *opts;
	snprintf(s->name, sizeof(s->name), "smmuv3@%" PRIx64, base);
	uio_mutex_init(&s->lock);
	init_idregs(s);
	reset_regs(s);
	err = uio_smmu_caches_init(s);
	if (err)
		goto err_free_smmu;

	memset(&desc, 0, sizeof(desc));
	desc.name = "smmuv3.regs";
	desc.owner = s->name;
	desc.size = UIOMMU_SMMUV3_MMIO_SIZE;
	desc.ops = &smmu_mmio_ops;
	desc.opaque = s;
	desc.regs = smmu_regs;
	desc.nregs = UIO_ARRAY_SIZE(smmu_regs);
	err = uiommu_physmem_add_mmio(pm, base, &desc);
	if (err)
		goto err_free_caches;
	uio_info(SMMU_SUBSYS, "%s: created (IDR0 0x%08x IDR1 0x%08x IDR5 0x%08x)",
		 s->name, s->idr[0], s->idr[1], s->idr[5]);
	*out = s;
	return 0;

err_free_caches:
	uio_smmu_caches_fini(s);
err_free_smmu:
	uio_mutex_destroy(&s->lock);
	uio_delete(s);
	return err;
}

UIOMMU_API void uiommu_smmuv3_destroy(struct uiommu_smmuv3 *s)
{
	int err;

	if (!s)
		return;
	err = uiommu_physmem_remove(s->pm, s->base);
	if (err)
		uio_err(SMMU_SUBSYS, "%s: removing registers: %s", s->name,
			uiommu_strerror(err));
	uio_smmu_caches_fini(s);
	uio_mutex_destroy(&s->lock);
	uio_delete(s);
}

UIOMMU_API uint64_t uiommu_smmuv3_base(const struct uiommu_smmuv3 *s)
{
	return s->base;
}

UIOMMU_API void uiommu_smmuv3_get_stats(struct uiommu_smmuv3 *s,
					struct uiommu_smmuv3_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < SMMU_NSHARDS; i++) {
		const struct smmu_counters *c = &s->ctr[i];

		st->translations += __atomic_load_n(&c->translations, __ATOMIC_RELAXED);
		st->faults += __atomic_load_n(&c->faults, __ATOMIC_RELAXED);
		st->tlb_hits += __atomic_load_n(&c->tlb_hits, __ATOMIC_RELAXED);
		st->tlb_misses += __atomic_load_n(&c->tlb_misses, __ATOMIC_RELAXED);
		st->cfg_hits += __atomic_load_n(&c->cfg_hits, __ATOMIC_RELAXED);
		st->cfg_misses += __atomic_load_n(&c->cfg_misses, __ATOMIC_RELAXED);
	}
	uio_lock(&s->lock);
	st->commands = s->commands;
	st->cmd_errors = s->cmd_errors;
	st->events_written = s->events_written;
	st->events_lost = s->events_lost;
	st->tlb_invalidated = s->tlb_invalidated;
	st->cfg_invalidated = s->cfg_invalidated;
	uio_unlock(&s->lock);
}

/* Where each register of smmu_regs[] goes in a snapshot (same order). */
static const size_t snap_field[] = {
#define F(f) offsetof(struct uiommu_smmuv3_regs, f)
	F(idr[0]), F(idr[1]), F(idr[2]), F(idr[3]), F(idr[4]), F(idr[5]),
	F(iidr), F(aidr), F(cr0), F(cr0ack), F(cr1), F(cr2),
	SIZE_MAX /* STATUSR */, F(gbpa), SIZE_MAX /* AGBPA */,
	F(irq_ctrl), F(irq_ctrlack), F(gerror), F(gerrorn),
	F(gerror_irq_cfg0), F(gerror_irq_cfg1), F(gerror_irq_cfg2),
	F(strtab_base), F(strtab_base_cfg),
	F(cmdq_base), F(cmdq_prod), F(cmdq_cons),
	F(eventq_base), F(eventq_irq_cfg0), F(eventq_irq_cfg1),
	F(eventq_irq_cfg2), F(eventq_prod), F(eventq_cons),
#undef F
};
_Static_assert(UIO_ARRAY_SIZE(snap_field) == UIO_ARRAY_SIZE(smmu_regs) &&
	       UIO_ARRAY_SIZE(smmu_regs) == UIOMMU_SMMUV3_NREGS,
	       "one snapshot field per register");

/* 6.3.1-6.3.8: what the ID registers say. */
static void decode_id(struct uiommu_smmuv3_regs *r)
{
	uint64_t oas = UIO_FEX64(r->idr[5], IDR5, OAS);

	r->id.s1p = UIO_FEX64(r->idr[0], IDR0, S1P);
	r->id.s2p = UIO_FEX64(r->idr[0], IDR0, S2P);
	r->id.aarch64_tables = UIO_FEX64(r->idr[0], IDR0, TTF) & IDR0_TTF_AARCH64;
	r->id.coherent = UIO_FEX64(r->idr[0], IDR0, COHACC);
	r->id.httu = UIO_FEX64(r->idr[0], IDR0, HTTU) != 0;
	r->id.ats = UIO_FEX64(r->idr[0], IDR0, ATS);
	r->id.pri = UIO_FEX64(r->idr[0], IDR0, PRI);
	r->id.asid16 = UIO_FEX64(r->idr[0], IDR0, ASID16);
	r->id.vmid16 = UIO_FEX64(r->idr[0], IDR0, VMID16);
	r->id.msi = UIO_FEX64(r->idr[0], IDR0, MSI);
	r->id.sev = UIO_FEX64(r->idr[0], IDR0, SEV);
	r->id.cd_2lvl = UIO_FEX64(r->idr[0], IDR0, CD2L);
	r->id.strtab_2lvl = UIO_FEX64(r->idr[0], IDR0, ST_LEVEL) != 0;
	r->id.little_endian = UIO_FEX64(r->idr[0], IDR0, TTENDIAN) != 3;
	r->id.stall_model = (unsigned int)UIO_FEX64(r->idr[0], IDR0, STALL_MODEL);
	r->id.sid_bits = (unsigned int)UIO_FEX64(r->idr[1], IDR1, SIDSIZE);
	r->id.ssid_bits = (unsigned int)UIO_FEX64(r->idr[1], IDR1, SSIDSIZE);
	r->id.cmdq_log2max = (unsigned int)UIO_FEX64(r->idr[1], IDR1, CMDQS);
	r->id.eventq_log2max = (unsigned int)UIO_FEX64(r->idr[1], IDR1, EVENTQS);
	/* IDR5.OAS 0b110 is 52 bits (SMMUv3.1), 0b111 reserved: 0 */
	r->id.oas_bits = oas < UIO_ARRAY_SIZE(oas_widths) ? oas_widths[oas] :
			 oas == 6 ? 52 : 0;
	r->id.gran4k = UIO_FEX64(r->idr[5], IDR5, GRAN4K);
	r->id.gran16k = UIO_FEX64(r->idr[5], IDR5, GRAN16K);
	r->id.gran64k = UIO_FEX64(r->idr[5], IDR5, GRAN64K);
	r->id.arch_major = 3 + (unsigned int)UIO_FEX64(r->aidr, AIDR, MAJOR);
	r->id.arch_minor = (unsigned int)UIO_FEX64(r->aidr, AIDR, MINOR);
	r->id.implementer = (unsigned int)UIO_FEX64(r->iidr, IIDR, IMPLEMENTER);
	r->id.product = (unsigned int)UIO_FEX64(r->iidr, IIDR, PRODUCTID);
}

/* 6.3.9-6.3.33: what the control registers say. */
static void decode_ctl(const struct uiommu_smmuv3 *s,
		       struct uiommu_smmuv3_regs *r)
{
	r->ctl.smmuen = UIO_FEX64(r->cr0, CR0, SMMUEN);
	r->ctl.cmdqen = UIO_FEX64(r->cr0, CR0, CMDQEN);
	r->ctl.eventqen = UIO_FEX64(r->cr0, CR0, EVENTQEN);
	r->ctl.recinvsid = UIO_FEX64(r->cr2, CR2, RECINVSID);
	r->ctl.ptm = UIO_FEX64(r->cr2, CR2, PTM);
	r->ctl.e2h = UIO_FEX64(r->cr2, CR2, E2H);
	r->ctl.gbpa_abort = UIO_FEX64(r->gbpa, GBPA, ABORT);
	r->ctl.gerror_irqen = UIO_FEX64(r->irq_ctrl, IRQ_CTRL, GERROR_IRQEN);
	r->ctl.eventq_irqen = UIO_FEX64(r->irq_ctrl, IRQ_CTRL, EVENTQ_IRQEN);
	r->ctl.gerror_active = r->gerror ^ r->gerrorn;
	r->ctl.strtab_addr = UIO_FEX64(r->strtab_base, STRTAB_BASE, ADDR) <<
			     STRTAB_BASE_ADDR_SHIFT;
	r->ctl.strtab_2lvl = UIO_FEX64(r->strtab_base_cfg, STRTAB_BASE_CFG, FMT) ==
			     STRTAB_FMT_2LVL;
	r->ctl.strtab_log2size =
		(unsigned int)UIO_FEX64(r->strtab_base_cfg, STRTAB_BASE_CFG, LOG2SIZE);
	r->ctl.strtab_split =
		(unsigned int)UIO_FEX64(r->strtab_base_cfg, STRTAB_BASE_CFG, SPLIT);
	r->ctl.cmdq_addr = UIO_FEX64(r->cmdq_base, Q_BASE, ADDR) << Q_BASE_ADDR_SHIFT;
	r->ctl.eventq_addr = UIO_FEX64(r->eventq_base, Q_BASE, ADDR) <<
			     Q_BASE_ADDR_SHIFT;
	r->ctl.cmdq_log2size = uio_smmu_q_log2(r->cmdq_base, s->opts.cmdq_log2max);
	r->ctl.eventq_log2size = uio_smmu_q_log2(r->eventq_base,
						 s->opts.eventq_log2max);
	r->ctl.cmdq_prod = (uint32_t)UIO_FEX64(r->cmdq_prod, Q_IDX, WR);
	r->ctl.cmdq_cons = (uint32_t)UIO_FEX64(r->cmdq_cons, Q_IDX, WR);
	r->ctl.eventq_prod = (uint32_t)UIO_FEX64(r->eventq_prod, Q_IDX, WR);
	r->ctl.eventq_cons = (uint32_t)UIO_FEX64(r->eventq_cons, Q_IDX, WR);
	r->ctl.cmdq_err = (unsigned int)UIO_FEX64(r->cmdq_cons, CMDQ_CONS, ERR);
	r->ctl.eventq_overflow = UIO_FEX64(r->eventq_prod, EVENTQ_PROD, OVFLG) !=
				 UIO_FEX64(r->eventq_cons, EVENTQ_CONS, OVACKFLG);
}

UIOMMU_API int uiommu_smmuv3_read_regs(struct uiommu_smmuv3 *s,
				       struct uiommu_smmuv3_regs *regs)
{
	if (!s || !regs)
		return uio_fail(-EINVAL, SMMU_SUBSYS, "read_regs: NULL argument");
	memset(regs, 0, sizeof(*regs));
	regs->nregs = UIOMMU_SMMUV3_NREGS;
	uio_lock(&s->lock);
	for (size_t i = 0; i < UIO_ARRAY_SIZE(smmu_regs); i++) {
		const struct uiommu_reg_desc *r = &smmu_regs[i];
		uint64_t v = reg_read_locked(s, r->offset);
		char *field = (char *)regs + snap_field[i];

		if (r->size == 4)
			v = (uint32_t)v;
		regs->reg[i].name = r->name;
		regs->reg[i].offset = (uint32_t)r->offset;
		regs->reg[i].size = r->size;
		regs->reg[i].value = v;
		if (snap_field[i] == SIZE_MAX)
			continue;
		if (r->size == 8) {
			memcpy(field, &v, sizeof(v));
		} else {
			uint32_t v32 = (uint32_t)v;

			memcpy(field, &v32, sizeof(v32));
		}
	}
	uio_unlock(&s->lock);
	decode_id(regs);
	decode_ctl(s, regs);
	return 0;
}

UIOMMU_API const char *uiommu_smmuv3_event_name(unsigned int event)
{
	switch (event) {
	case UIOMMU_SMMUV3_EVT_NONE: return "NONE";
	case UIOMMU_SMMUV3_EVT_F_UUT: return "F_UUT";
	case UIOMMU_SMMUV3_EVT_C_BAD_STREAMID: return "C_BAD_STREAMID";
	case UIOMMU_SMMUV3_EVT_F_STE_FETCH: return "F_STE_FETCH";
	case UIOMMU_SMMUV3_EVT_C_BAD_STE: return "C_BAD_STE";
	case UIOMMU_SMMUV3_EVT_F_STREAM_DISABLED: return "F_STREAM_DISABLED";
	case UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID: return "C_BAD_SUBSTREAMID";
	case UIOMMU_SMMUV3_EVT_F_CD_FETCH: return "F_CD_FETCH";
	case UIOMMU_SMMUV3_EVT_C_BAD_CD: return "C_BAD_CD";
	case UIOMMU_SMMUV3_EVT_F_WALK_EABT: return "F_WALK_EABT";
	case UIOMMU_SMMUV3_EVT_F_TRANSLATION: return "F_TRANSLATION";
	case UIOMMU_SMMUV3_EVT_F_ADDR_SIZE: return "F_ADDR_SIZE";
	case UIOMMU_SMMUV3_EVT_F_ACCESS: return "F_ACCESS";
	case UIOMMU_SMMUV3_EVT_F_PERMISSION: return "F_PERMISSION";
	}
	return "?";
}

/* Queue index registers hold only their architected fields (masked on
 * write; the model's own updates stay inside them). */
static int check_q(struct uiommu_smmuv3 *s, const char *name, uint32_t prod,
		   uint32_t cons, uint32_t flags)
{
	uint32_t ok = (uint32_t)Q_IDX_WR_MASK | flags;

	if ((prod | cons) & ~ok)
		return uio_fail(-EUCLEAN, SMMU_SUBSYS, "%s: %s PROD 0x%x CONS 0x%x"
				" has RES0 bits set", s->name, name, prod, cons);
	return 0;
}

UIOMMU_API int uiommu_smmuv3_check(struct uiommu_smmuv3 *s)
{
	int err = 0;

	uio_lock(&s->lock);
	if (s->cr0 & ~(uint32_t)CR0_WMASK)
		err = uio_fail(-EUCLEAN, SMMU_SUBSYS, "%s: CR0 0x%x has RES0 bits",
			       s->name, s->cr0);
	else if (s->gbpa & ~(uint32_t)GBPA_WMASK)
		err = uio_fail(-EUCLEAN, SMMU_SUBSYS, "%s: GBPA 0x%x not complete",
			       s->name, s->gbpa);
	else if ((s->gerror | s->gerrorn) & ~(uint32_t)GERROR_IMPL)
		err = uio_fail(-EUCLEAN, SMMU_SUBSYS, "%s: GERROR 0x%x/0x%x",
			       s->name, s->gerror, s->gerrorn);
	if (!err)
		err = check_q(s, "CMDQ", s->cmdq_prod, s->cmdq_cons,
			      (uint32_t)CMDQ_CONS_ERR_MASK);
	if (!err)
		err = check_q(s, "EVENTQ", s->eventq_prod, s->eventq_cons,
			      (uint32_t)EVENTQ_PROD_OVFLG_MASK);
	uio_unlock(&s->lock);
	if (!err)
		err = uio_smmu_caches_check(s);
	return err;
}
