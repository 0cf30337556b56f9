// SPDX-License-Identifier: MIT
/*
 * SMMUv3 model: the command queue consumer and the event queue producer.
 *
 * Queues are circular arrays in emulated RAM (IHI 0070 G.b, 3.5): PROD and
 * CONS hold an index of LOG2SIZE bits plus a wrap bit above it; the queue is
 * empty when they are equal and full when only the wrap bits differ.
 *
 * Commands are consumed synchronously from the SMMU_CMDQ_PROD write (and
 * when the queue is enabled, or restarted by acknowledging CMDQ_ERR through
 * SMMU_GERRORN).  An illegal command (4.7.3) stops the queue: CONS stays at
 * the command, CONS.ERR gets CERROR_ILL (or CERROR_ABT if the command could
 * not be read) and GERROR.CMDQ_ERR toggles.
 */
#include <endian.h>
#include <inttypes.h>

#include "smmuv3-internal.h"

#include "log.h"
#include "trace.h"

/* Effective LOG2SIZE of a queue: larger values act as the maximum (6.3.25). */
unsigned int uio_smmu_q_log2(uint64_t base, unsigned int log2max)
{
	unsigned int l = (unsigned int)UIO_FEX64(base, Q_BASE, LOG2SIZE);

	return l > log2max ? log2max : l;
}

/* Queue base: ADDR, aligned down to the queue's size (at least 32 bytes). */
static uint64_t q_addr(uint64_t base, unsigned int log2, unsigned int esize)
{
	uint64_t bytes = (uint64_t)esize << log2;

	return uio_align_down(UIO_FEX64(base, Q_BASE, ADDR) << Q_BASE_ADDR_SHIFT,
			      bytes < 32 ? 32 : bytes);
}

static int cmd_tlbi(struct uiommu_smmuv3 *s, uint8_t op, const uint64_t c[2])
{
	uint16_t vmid = (uint16_t)UIO_FEX64(c[0], CMD0, VMID);
	uint16_t asid = (uint16_t)UIO_FEX64(c[0], CMD0, ASID);
	uint64_t addr = UIO_FEX64(c[1], CMD1, ADDR) << CMD1_ADDR_SHIFT;
	bool s1p = UIO_FEX64(s->idr[0], IDR0, S1P);
	bool s2p = UIO_FEX64(s->idr[0], IDR0, S2P);

	switch (op) {
	case CMD_TLBI_NH_ALL:
		if (!s1p)
			return CERROR_ILL;
		uio_smmu_tlb_inval(s, TLBI_NH_VMID, vmid, 0, 0);
		return 0;
	case CMD_TLBI_NH_ASID:
		if (!s1p)
			return CERROR_ILL;
		uio_smmu_tlb_inval(s, TLBI_NH_ASID, vmid, asid, 0);
		return 0;
	case CMD_TLBI_NH_VA:
		if (!s1p)
			return CERROR_ILL;
		uio_smmu_tlb_inval(s, TLBI_NH_VA, vmid, asid, addr);
		return 0;
	case CMD_TLBI_NH_VAA:
		if (!s1p)
			return CERROR_ILL;
		uio_smmu_tlb_inval(s, TLBI_NH_VAA, vmid, 0, addr);
		return 0;
	case CMD_TLBI_EL2_ALL: case CMD_TLBI_EL2_ASID:
	case CMD_TLBI_EL2_VA: case CMD_TLBI_EL2_VAA:
		/* Legal (IDR0.HYP), but no EL2 StreamWorld entries exist:
		 * STE.STRW = EL2 is not supported by this model. */
		return 0;
	case CMD_TLBI_S12_VMALL:
		if (!s2p)
			return CERROR_ILL;
		uio_smmu_tlb_inval(s, TLBI_VMID, vmid, 0, 0);
		return 0;
	case CMD_TLBI_S2_IPA:
		if (!s2p)
			return CERROR_ILL;
		uio_smmu_tlb_inval(s, TLBI_S2_IPA, vmid, 0, addr);
		return 0;
	case CMD_TLBI_NSNH_ALL:
		uio_smmu_tlb_inval(s, TLBI_ALL, 0, 0, 0);
		return 0;
	default:
		return CERROR_ILL;
	}
}

static int cmd_cfgi(struct uiommu_smmuv3 *s, uint8_t op, const uint64_t c[2])
{
	uint32_t sid = (uint32_t)UIO_FEX64(c[0], CMD0, SID);
	uint32_t ssid = (uint32_t)UIO_FEX64(c[0], CMD0, SSID);
	unsigned int range;
	uint64_t n;

	switch (op) {
	case CMD_CFGI_STE:
	case CMD_CFGI_CD_ALL:
		uio_smmu_cfg_inval(s, sid, sid, false, 0);
		return 0;
	case CMD_CFGI_CD:
		uio_smmu_cfg_inval(s, sid, sid, true, ssid);
		return 0;
	case CMD_CFGI_STE_RANGE:
		/* 4.3.2: 2^(Range + 1) StreamIDs, aligned; Range 31 = CFGI_ALL */
		range = (unsigned int)UIO_FEX64(c[1], CMD1, RANGE);
		if (range == 31) {
			uio_smmu_cfg_inval(s, 0, UINT32_MAX, false, 0);
			return 0;
		}
		n = UINT64_C(1) << (range + 1);
		sid = (uint32_t)uio_align_down(sid, n);
		uio_smmu_cfg_inval(s, sid, (uint32_t)(sid + n - 1), false, 0);
		return 0;
	default:
		return CERROR_ILL;
	}
}

/*
 * Execute one command.  Return 0 or a CERROR_* code.  *@msi_addr is set
 * for a CMD_SYNC that signals completion with an MSI.
 */
static int cmd_exec(struct uiommu_smmuv3 *s, const uint64_t c[2],
		    uint64_t *msi_addr)
{
	uint8_t op = (uint8_t)UIO_FEX64(c[0], CMD0, OPCODE);

	switch (op) {
	case CMD_PREFETCH_CONFIG:
	case CMD_PREFETCH_ADDR:
		/* 4.2: hints; errors in the fetched structures are not reported */
		uio_smmu_prefetch_cfg(s, (uint32_t)UIO_FEX64(c[0], CMD0, SID),
				      UIO_FEX64(c[0], CMD0, SSV),
				      (uint32_t)UIO_FEX64(c[0], CMD0, SSID));
		return 0;
	case CMD_CFGI_STE: case CMD_CFGI_STE_RANGE:
	case CMD_CFGI_CD: case CMD_CFGI_CD_ALL:
		return cmd_cfgi(s, op, c);
	case CMD_TLBI_NH_ALL: case CMD_TLBI_NH_ASID: case CMD_TLBI_NH_VA:
	case CMD_TLBI_NH_VAA: case CMD_TLBI_EL2_ALL: case CMD_TLBI_EL2_ASID:
	case CMD_TLBI_EL2_VA: case CMD_TLBI_EL2_VAA: case CMD_TLBI_S12_VMALL:
	case CMD_TLBI_S2_IPA: case CMD_TLBI_NSNH_ALL:
		return cmd_tlbi(s, op, c);
	case CMD_SYNC:
		/* 4.7.2: CS 0b11 is reserved */
		if (UIO_FEX64(c[0], CMD0, SYNC_CS) == 3)
			return CERROR_ILL;
		uio_smmu_sync_walks(s);
		switch (UIO_FEX64(c[0], CMD0, SYNC_CS)) {
		case CMD_SYNC_SIG_IRQ:
			*msi_addr = UIO_FEX64(c[1], CMD1, SYNC_MSIADDR) <<
				    CMD1_SYNC_MSIADDR_SHIFT;
			return 0;
		case CMD_SYNC_SIG_NONE:
		case CMD_SYNC_SIG_SEV:	/* no PE to wake in this model */
			return 0;
		default:
			return CERROR_ILL;
		}
	default:
		/* TLBI_EL3_* (no Secure state), ATC_INV (no ATS), PRI_RESP (no
		 * PRI), RESUME/STALL_TERM (no stalls), unknown opcodes. */
		return CERROR_ILL;
	}
}

/* 4.7.2: the CMD_SYNC completion MSI, a 32-bit write of MSIData. */
static void sync_msi(struct uiommu_smmuv3 *s, uint64_t addr, uint32_t data)
{
	trace_smmuv3_sync_msi(addr, data);
	if (uio_smmu_addr_is_self(s, addr) ||
	    uiommu_phys_st(s->pm, addr, 4, data, NULL)) {
		uio_guest_error(SMMU_SUBSYS, "%s: CMD_SYNC MSI to 0x%" PRIx64
				" aborted", s->name, addr);
		uio_smmu_gerror_toggle(s, GERROR_MSI_CMDQ_ABT_ERR_MASK);
	}
}

void uio_smmu_cmdq_process(struct uiommu_smmuv3 *s)
{
	unsigned int l = uio_smmu_q_log2(s->cmdq_base, s->opts.cmdq_log2max);
	uint32_t mask = (uint32_t)UIO_GENMASK(l, 0);
	uint32_t n = UINT32_C(1) << l;
	uint64_t base = q_addr(s->cmdq_base, l, CMD_SIZE);

	uio_assert_held(&s->lock);
	if (!UIO_FEX64(s->cr0, CR0, CMDQEN) ||
	    ((s->gerror ^ s->gerrorn) & GERROR_CMDQ_ERR_MASK))
		return;
	for (;;) {
		uint32_t cons = s->cmdq_cons & mask;
		uint64_t c[2], msi_addr = 0;
		int cerr;

		if (cons == (s->cmdq_prod & mask))
			break;
		if (uiommu_phys_read(s->pm, base + (uint64_t)(cons & (n - 1)) * CMD_SIZE,
				     c, sizeof(c), NULL)) {
			cerr = CERROR_ABT;
			c[0] = c[1] = 0;
		} else {
			c[0] = le64toh(c[0]);
			c[1] = le64toh(c[1]);
			cerr = cmd_exec(s, c, &msi_addr);
		}
		trace_smmuv3_cmd(cons, (unsigned int)UIO_FEX64(c[0], CMD0, OPCODE),
				 c[0], c[1], cerr);
		if (cerr) {
			uio_guest_error(SMMU_SUBSYS, "%s: command 0x%02x at CONS 0x%x: %s",
					s->name,
					(unsigned int)UIO_FEX64(c[0], CMD0, OPCODE),
					cons, cerr == CERROR_ABT ? "CERROR_ABT" :
					"CERROR_ILL");
			s->cmdq_cons = (uint32_t)UIO_FDP64(s->cmdq_cons, CMDQ_CONS,
							   ERR, (uint64_t)cerr);
			s->cmd_errors++;
			uio_smmu_gerror_toggle(s, GERROR_CMDQ_ERR_MASK);
			break;
		}
		s->commands++;
		s->cmdq_cons = (s->cmdq_cons & ~mask) | ((cons + 1) & mask);
		if (msi_addr)
			sync_msi(s, msi_addr,
				 (uint32_t)UIO_FEX64(c[0], CMD0, SYNC_MSIDATA));
	}
}

/*
 * Write an event record (7.3), or count it lost: queue disabled, full
 * (3.5.4: the overflow flag PROD.OVFLG toggles once, until the driver
 * acknowledges it with CONS.OVACKFLG) or unwritable (GERROR.EVENTQ_ABT_ERR).
 */
void uio_smmu_event_locked(struct uiommu_smmuv3 *s, const uint64_t ev[4],
			   struct uiommu_smmuv3_fault *fault)
{
	unsigned int l = uio_smmu_q_log2(s->eventq_base, s->opts.eventq_log2max);
	uint32_t mask = (uint32_t)UIO_GENMASK(l, 0);
	uint32_t n = UINT32_C(1) << l;
	uint32_t prod = s->eventq_prod & mask, cons = s->eventq_cons & mask;
	uint64_t le[4];

	uio_assert_held(&s->lock);
	trace_smmuv3_event((unsigned int)UIO_FEX64(ev[0], EVT0, TYPE),
			   (uint32_t)UIO_FEX64(ev[0], EVT0, SID), ev[2], prod);
	fault->recorded = false;
	fault->lost = true;
	s->events_lost++;
	if (!UIO_FEX64(s->cr0, CR0, EVENTQEN))
		return;
	if ((prod ^ cons) == n) {
		if (UIO_FEX64(s->eventq_prod, EVENTQ_PROD, OVFLG) ==
		    UIO_FEX64(s->eventq_cons, EVENTQ_CONS, OVACKFLG))
			s->eventq_prod ^= (uint32_t)EVENTQ_PROD_OVFLG_MASK;
		return;
	}
	for (unsigned int i = 0; i < 4; i++)
		le[i] = htole64(ev[i]);
	if (uiommu_phys_write(s->pm, q_addr(s->eventq_base, l, EVT_SIZE) +
			      (uint64_t)(prod & (n - 1)) * EVT_SIZE, le,
			      sizeof(le), NULL)) {
		uio_guest_error(SMMU_SUBSYS, "%s: event queue write aborted", s->name);
		uio_smmu_gerror_toggle(s, GERROR_EVENTQ_ABT_ERR_MASK);
		return;
	}
	s->eventq_prod = (s->eventq_prod & ~mask) | ((prod + 1) & mask);
	s->events_lost--;
	s->events_written++;
	fault->recorded = true;
	fault->lost = false;
	if (UIO_FEX64(s->irq_ctrl, IRQ_CTRL, EVENTQ_IRQEN))
		s->pending_irqs |= SMMU_IRQ_EVENTQ;
}

void uio_smmu_event(struct uiommu_smmuv3 *s, const uint64_t ev[4],
		    struct uiommu_smmuv3_fault *fault)
{
	unsigned int irqs;

	uio_lock(&s->lock);
	uio_smmu_event_locked(s, ev, fault);
	irqs = s->pending_irqs;
	s->pending_irqs = 0;
	uio_unlock(&s->lock);
	uio_smmu_deliver_irqs(s, irqs);
}
