// SPDX-License-Identifier: MIT
/*
 * Register-level SMMUv3 test driver (see smmuv3_testdrv.h).  Field layouts
 * come from the model's own tables in smmuv3-internal.h, which cite
 * IHI 0070; a test that disagrees with the model about a layout therefore
 * checks behaviour, not the spelling of bits.
 */
#include <stdlib.h>
#include <string.h>

#include "smmuv3_testdrv.h"
#include "smmuv3-internal.h"

static void count_event_irq(void *opaque)
{
	struct td *td = opaque;

	__atomic_fetch_add(&td->event_irqs, 1, __ATOMIC_RELAXED);
	if (td->event_hook)
		td->event_hook(td);
}

static void count_gerror_irq(void *opaque)
{
	struct td *td = opaque;

	__atomic_fetch_add(&td->gerror_irqs, 1, __ATOMIC_RELAXED);
}

uint32_t td_rd32(struct td *td, uint64_t off)
{
	uint64_t v = 0;

	if (uiommu_phys_ld(td->pm, TD_SMMU_BASE + off, 4, &v, NULL))
		return 0xdeadbeef;
	return (uint32_t)v;
}

uint64_t td_rd64(struct td *td, uint64_t off)
{
	uint64_t v = 0;

	if (uiommu_phys_ld(td->pm, TD_SMMU_BASE + off, 8, &v, NULL))
		return UINT64_C(0xdeadbeefdeadbeef);
	return v;
}

void td_wr32(struct td *td, uint64_t off, uint32_t val)
{
	if (uiommu_phys_st(td->pm, TD_SMMU_BASE + off, 4, val, NULL))
		abort();
}

void td_wr64(struct td *td, uint64_t off, uint64_t val)
{
	if (uiommu_phys_st(td->pm, TD_SMMU_BASE + off, 8, val, NULL))
		abort();
}

uint64_t td_alloc(struct td *td, uint64_t size)
{
	uint64_t pa;

	if (size < 4096)
		size = 4096;
	if (uiommu_phys_pool_alloc(td->pool, size, &pa))
		abort();
	return pa;
}

uint64_t td_ld(struct td *td, uint64_t pa)
{
	uint64_t v;

	if (uiommu_phys_ld(td->pm, pa, 8, &v, NULL))
		abort();
	return v;
}

void td_st(struct td *td, uint64_t pa, uint64_t val)
{
	if (uiommu_phys_st(td->pm, pa, 8, val, NULL))
		abort();
}

static int td_program(struct td *td, const struct td_config *cfg);

int td_init(struct td *td, const struct td_config *cfg)
{
	struct uiommu_smmuv3_options o;
	struct td_config dflt = { 0 };
	uint64_t ram;
	int err;

	memset(td, 0, sizeof(*td));
	if (!cfg)
		cfg = &dflt;
	if (cfg->opts)
		o = *cfg->opts;
	else
		uiommu_smmuv3_default_options(&o);
	o.event_irq = count_event_irq;
	o.gerror_irq = count_gerror_irq;
	o.irq_opaque = td;
	err = uiommu_physmem_create(48, &td->pm);
	if (err)
		return err;
	ram = cfg->ram_size ? cfg->ram_size : TD_RAM_SIZE;
	err = uiommu_physmem_add_ram(td->pm, "ram", TD_RAM_BASE, ram, NULL, NULL);
	if (!err)
		err = uiommu_phys_pool_create(td->pm, TD_RAM_BASE, ram, &td->pool);
	if (!err)
		err = uiommu_smmuv3_create(td->pm, TD_SMMU_BASE, &o, &td->smmu);
	if (err) {
		if (td->pool)
			uiommu_phys_pool_destroy(td->pool);
		uiommu_physmem_destroy(td->pm);
		return err;
	}
	return td_program(td, cfg);
}

int td_attach(struct td *td, struct uiommu_physmem *pm,
	      struct uiommu_phys_pool *pool, struct uiommu_smmuv3 *smmu,
	      const struct td_config *cfg)
{
	struct td_config dflt = { 0 };

	memset(td, 0, sizeof(*td));
	td->pm = pm;
	td->pool = pool;
	td->smmu = smmu;
	td->borrowed = true;
	return td_program(td, cfg ? cfg : &dflt);
}

/* Allocate the stream table and queues, program the registers, enable. */
static int td_program(struct td *td, const struct td_config *cfg)
{
	uint64_t v;

	td->sid_bits = cfg->sid_bits ? cfg->sid_bits : 8;
	td->two_level = cfg->two_level;
	td->split = 6;
	td->cmdq_log2 = cfg->cmdq_log2 ? cfg->cmdq_log2 : 8;
	td->eventq_log2 = cfg->eventq_log2 ? cfg->eventq_log2 : 8;
	td->sync_word = td_alloc(td, 4096);

	/* The stream table: linear, or level 1 of SPLIT 6. */
	if (td->two_level)
		td->strtab = td_alloc(td, UINT64_C(8) << (td->sid_bits > td->split ?
							   td->sid_bits - td->split : 0));
	else
		td->strtab = td_alloc(td, (uint64_t)STE_SIZE << td->sid_bits);
	td->cmdq = td_alloc(td, (uint64_t)CMD_SIZE << td->cmdq_log2);
	td->eventq = td_alloc(td, (uint64_t)EVT_SIZE << td->eventq_log2);

	td_wr64(td, SMMU_STRTAB_BASE, td->strtab);
	v = UIO_FDP64(0, STRTAB_BASE_CFG, LOG2SIZE, td->sid_bits);
	if (td->two_level) {
		v = UIO_FDP64(v, STRTAB_BASE_CFG, FMT, STRTAB_FMT_2LVL);
		v = UIO_FDP64(v, STRTAB_BASE_CFG, SPLIT, td->split);
	}
	td_wr32(td, SMMU_STRTAB_BASE_CFG, (uint32_t)v);
	td_wr64(td, SMMU_CMDQ_BASE, td->cmdq | td->cmdq_log2);
	td_wr32(td, SMMU_CMDQ_PROD, 0);
	td_wr32(td, SMMU_CMDQ_CONS, 0);
	td_wr64(td, SMMU_EVENTQ_BASE, td->eventq | td->eventq_log2);
	td_wr32(td, SMMU_EVENTQ_PROD, 0);
	td_wr32(td, SMMU_EVENTQ_CONS, 0);
	td_wr32(td, SMMU_CR2, (uint32_t)CR2_RECINVSID_MASK);
	td_wr32(td, SMMU_IRQ_CTRL, (uint32_t)(IRQ_CTRL_EVENTQ_IRQEN_MASK |
					      IRQ_CTRL_GERROR_IRQEN_MASK));
	if (cfg->no_enable)
		return 0;
	td_wr32(td, SMMU_CR0, (uint32_t)(CR0_CMDQEN_MASK | CR0_EVENTQEN_MASK));
	if (td_cfgi_all(td) || td_tlbi_nh_all(td, 0) ||
	    td_cmd(td, CMD_TLBI_NSNH_ALL, 0) || td_sync(td))
		abort();
	td_wr32(td, SMMU_CR0, (uint32_t)(CR0_CMDQEN_MASK | CR0_EVENTQEN_MASK |
					 CR0_SMMUEN_MASK));
	if (td_rd32(td, SMMU_CR0ACK) != td_rd32(td, SMMU_CR0))
		abort();
	return 0;
}

void td_fini(struct td *td)
{
	if (td->borrowed) {
		memset(td, 0, sizeof(*td));
		return;
	}
	uiommu_smmuv3_destroy(td->smmu);
	uiommu_phys_pool_destroy(td->pool);
	uiommu_physmem_destroy(td->pm);
	memset(td, 0, sizeof(*td));
}

int td_cmd(struct td *td, uint64_t c0, uint64_t c1)
{
	uint32_t prod = td_rd32(td, SMMU_CMDQ_PROD);
	uint32_t n = UINT32_C(1) << td->cmdq_log2;
	uint32_t mask = (n << 1) - 1;
	uint64_t slot = td->cmdq + (uint64_t)(prod & (n - 1)) * CMD_SIZE;

	td_st(td, slot, c0);
	td_st(td, slot + 8, c1);
	td_wr32(td, SMMU_CMDQ_PROD, (prod + 1) & mask);
	if ((td_rd32(td, SMMU_CMDQ_CONS) & mask) != ((prod + 1) & mask))
		return (int)UIO_FEX64(td_rd32(td, SMMU_CMDQ_CONS), CMDQ_CONS, ERR);
	return 0;
}

int td_sync(struct td *td)
{
	uint64_t c0 = UIO_FDP64(CMD_SYNC, CMD0, SYNC_CS, CMD_SYNC_SIG_IRQ);
	uint64_t c1 = UIO_FDP64(0, CMD1, SYNC_MSIADDR,
				td->sync_word >> CMD1_SYNC_MSIADDR_SHIFT);
	uint64_t seq = td_ld(td, td->sync_word) + 1;
	int err;

	c0 = UIO_FDP64(c0, CMD0, SYNC_MSIDATA, seq & 0xffffffff);
	err = td_cmd(td, c0, c1);
	if (!err && (td_ld(td, td->sync_word) & 0xffffffff) != (seq & 0xffffffff))
		return -ETIMEDOUT;
	return err;
}

static uint64_t sid_cmd(unsigned int op, uint32_t sid)
{
	return UIO_FDP64(op, CMD0, SID, sid);
}

int td_cfgi_ste(struct td *td, uint32_t sid)
{
	return td_cmd(td, sid_cmd(CMD_CFGI_STE, sid), UIO_FDP64(0, CMD1, LEAF, 1));
}

int td_cfgi_all(struct td *td)
{
	return td_cmd(td, CMD_CFGI_STE_RANGE, UIO_FDP64(0, CMD1, RANGE, 31));
}

static uint64_t vm_cmd(unsigned int op, uint16_t vmid, uint16_t asid)
{
	return UIO_FDP64(UIO_FDP64(op, CMD0, VMID, vmid), CMD0, ASID, asid);
}

int td_tlbi_nh_all(struct td *td, uint16_t vmid)
{
	return td_cmd(td, vm_cmd(CMD_TLBI_NH_ALL, vmid, 0), 0);
}

int td_tlbi_nh_asid(struct td *td, uint16_t vmid, uint16_t asid)
{
	return td_cmd(td, vm_cmd(CMD_TLBI_NH_ASID, vmid, asid), 0);
}

int td_tlbi_nh_va(struct td *td, uint16_t vmid, uint16_t asid, uint64_t va)
{
	return td_cmd(td, vm_cmd(CMD_TLBI_NH_VA, vmid, asid),
		      UIO_FDP64(0, CMD1, ADDR, va >> 12));
}

int td_tlbi_s12_vmall(struct td *td, uint16_t vmid)
{
	return td_cmd(td, vm_cmd(CMD_TLBI_S12_VMALL, vmid, 0), 0);
}

int td_tlbi_s2_ipa(struct td *td, uint16_t vmid, uint64_t ipa)
{
	return td_cmd(td, vm_cmd(CMD_TLBI_S2_IPA, vmid, 0),
		      UIO_FDP64(0, CMD1, ADDR, ipa >> 12));
}

uint64_t td_ste_addr(struct td *td, uint32_t sid)
{
	uint64_t l1, d, l2;
	unsigned int span = td->split + 1;

	if (!td->two_level)
		return td->strtab + (uint64_t)sid * STE_SIZE;
	l1 = td->strtab + (uint64_t)(sid >> td->split) * 8;
	d = td_ld(td, l1);
	if (!UIO_FEX64(d, L1STD, SPAN)) {
		l2 = td_alloc(td, (uint64_t)STE_SIZE << td->split);
		d = UIO_FDP64(0, L1STD, SPAN, span);
		d = UIO_FDP64(d, L1STD, L2PTR, l2 >> L1STD_L2PTR_SHIFT);
		td_st(td, l1, d);
	}
	l2 = UIO_FEX64(d, L1STD, L2PTR) << L1STD_L2PTR_SHIFT;
	return l2 + (uint64_t)(sid & ((1u << td->split) - 1)) * STE_SIZE;
}

void td_write_ste(struct td *td, uint32_t sid, const uint64_t ste[8])
{
	uint64_t a = td_ste_addr(td, sid);

	/* dword 0 (with V) last, as a driver publishes an STE */
	for (unsigned int i = 7; i < 8; i--)
		td_st(td, a + i * 8, ste[i]);
}

static void ste_base(uint64_t ste[8], unsigned int config)
{
	memset(ste, 0, 8 * sizeof(*ste));
	ste[0] = UIO_FDP64(UIO_FDP64(0, STE0, V, 1), STE0, CONFIG, config);
}

void td_ste_simple(struct td *td, uint32_t sid, unsigned int config)
{
	uint64_t ste[8];

	ste_base(ste, config);
	td_write_ste(td, sid, ste);
}

void td_ste_s1(struct td *td, uint32_t sid, uint64_t cd, uint16_t vmid)
{
	uint64_t ste[8];

	ste_base(ste, STE_CFG_S1);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CONTEXTPTR, cd >> STE0_S1CONTEXTPTR_SHIFT);
	ste[2] = UIO_FDP64(0, STE2, S2VMID, vmid);
	td_write_ste(td, sid, ste);
}

static void ste_s2_fields(uint64_t ste[8], const struct td_pt *s2, uint16_t vmid)
{
	/* 39-bit IPA, 4K granule, start level 1 (SL0 0b01), 48-bit PA */
	ste[2] = UIO_FDP64(0, STE2, S2VMID, vmid);
	ste[2] = UIO_FDP64(ste[2], STE2, S2T0SZ, 25);
	ste[2] = UIO_FDP64(ste[2], STE2, S2SL0, 1);
	ste[2] = UIO_FDP64(ste[2], STE2, S2TG, STE_S2TG_4K);
	ste[2] = UIO_FDP64(ste[2], STE2, S2PS, 5);
	ste[2] = UIO_FDP64(ste[2], STE2, S2AA64, 1);
	ste[2] = UIO_FDP64(ste[2], STE2, S2R, 1);
	ste[3] = UIO_FDP64(0, STE3, S2TTB, s2->root >> STE3_S2TTB_SHIFT);
}

void td_ste_s2(struct td *td, uint32_t sid, const struct td_pt *s2, uint16_t vmid)
{
	uint64_t ste[8];

	ste_base(ste, STE_CFG_S2);
	ste_s2_fields(ste, s2, vmid);
	td_write_ste(td, sid, ste);
}

void td_ste_nested(struct td *td, uint32_t sid, uint64_t cd_ipa,
		   const struct td_pt *s2, uint16_t vmid)
{
	uint64_t ste[8];

	ste_base(ste, STE_CFG_NESTED);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CONTEXTPTR,
			   cd_ipa >> STE0_S1CONTEXTPTR_SHIFT);
	ste_s2_fields(ste, s2, vmid);
	td_write_ste(td, sid, ste);
}

void td_write_cd(struct td *td, uint64_t cd, uint16_t asid, uint64_t ttb0)
{
	uint64_t d0 = 0;

	d0 = UIO_FDP64(d0, CD0, T0SZ, 16);
	d0 = UIO_FDP64(d0, CD0, TG0, CD_TG0_4K);
	d0 = UIO_FDP64(d0, CD0, IR0, 1);
	d0 = UIO_FDP64(d0, CD0, OR0, 1);
	d0 = UIO_FDP64(d0, CD0, SH0, 3);
	d0 = UIO_FDP64(d0, CD0, EPD1, 1);
	d0 = UIO_FDP64(d0, CD0, V, 1);
	d0 = UIO_FDP64(d0, CD0, IPS, 5);
	d0 = UIO_FDP64(d0, CD0, AA64, 1);
	d0 = UIO_FDP64(d0, CD0, R, 1);
	d0 = UIO_FDP64(d0, CD0, A, 1);
	d0 = UIO_FDP64(d0, CD0, ASET, 1);
	d0 = UIO_FDP64(d0, CD0, ASID, asid);
	td_st(td, cd + 8, UIO_FDP64(0, CD1, TTB0, ttb0 >> CD1_TTB0_SHIFT));
	td_st(td, cd + 24, UIO_FDP64(0, CD3, MAIR0, 0x0404ff44));
	td_st(td, cd, d0);
}

static uint64_t pt_table(struct td *td, struct td_pt *pt)
{
	uint64_t pa;

	if (!pt->arena)
		return td_alloc(td, 4096);
	if (pt->arena >= pt->arena_end)
		abort();
	pa = pt->arena;
	pt->arena += 4096;
	return pa;
}

int td_pt_init(struct td *td, struct td_pt *pt, bool stage2)
{
	memset(pt, 0, sizeof(*pt));
	pt->stage2 = stage2;
	pt->root = pt_table(td, pt);
	return 0;
}

int td_pt_init_arena(struct td *td, struct td_pt *pt, uint64_t ipa_off)
{
	memset(pt, 0, sizeof(*pt));
	pt->arena = td_alloc(td, UINT64_C(2) << 20);
	pt->arena_end = pt->arena + (UINT64_C(2) << 20);
	pt->ipa_off = ipa_off;
	pt->root = pt_table(td, pt);
	return 0;
}

/* Level-3 (or level-2 for a block) descriptor slot of @va, tables made. */
static uint64_t pte_slot(struct td *td, struct td_pt *pt, uint64_t va,
			 int leaf_level)
{
	int level = pt->stage2 ? 1 : 0;
	uint64_t table = pt->root;

	for (;; level++) {
		unsigned int shift = 12 + 9 * (unsigned int)(3 - level);
		uint64_t slot = table + ((va >> shift) & 511) * 8, d;

		if (level == leaf_level)
			return slot;
		d = td_ld(td, slot);
		if (!(d & 1)) {
			uint64_t next = pt_table(td, pt);

			d = (next + pt->ipa_off) | 3;
			td_st(td, slot, d);
		}
		table = (d & UIO_GENMASK(47, 12)) - pt->ipa_off;
	}
}

int td_map(struct td *td, const struct td_pt *cpt, uint64_t va, uint64_t pa,
	   unsigned int prot)
{
	struct td_pt *pt = (struct td_pt *)cpt;
	bool block = prot & TD_BLOCK;
	uint64_t slot = pte_slot(td, pt, va, block ? 2 : 3);
	uint64_t d = pa | (block ? 1 : 3);

	if (!(prot & TD_NOAF))
		d |= UIO_BIT(10);
	if (pt->stage2) {
		d |= (prot & TD_R) ? UIO_BIT(6) : 0;
		d |= (prot & TD_W) ? UIO_BIT(7) : 0;
		d |= (prot & TD_X) ? 0 : UIO_BIT(54);
	} else {
		d |= (prot & TD_W) ? 0 : UIO_BIT(7);	/* AP[2]: read-only */
		d |= (prot & TD_PRIVONLY) ? 0 : UIO_BIT(6);	/* AP[1]: EL0 */
		d |= (prot & TD_X) ? 0 : UIO_BIT(53) | UIO_BIT(54);
		d |= UIO_BIT(11);			/* nG */
	}
	td_st(td, slot, d);
	return 0;
}

uint64_t td_pte_addr(struct td *td, const struct td_pt *pt, uint64_t va)
{
	return pte_slot(td, (struct td_pt *)pt, va, 3);
}

int td_read_event(struct td *td, uint64_t ev[4])
{
	uint32_t n = UINT32_C(1) << td->eventq_log2;
	uint32_t mask = (n << 1) - 1;
	uint32_t prod = td_rd32(td, SMMU_EVENTQ_PROD);
	uint32_t consr = td_rd32(td, SMMU_EVENTQ_CONS);
	uint32_t cons = consr & mask;

	if ((prod & mask) == cons)
		return -ENOENT;
	for (unsigned int i = 0; i < 4; i++)
		ev[i] = td_ld(td, td->eventq + (uint64_t)(cons & (n - 1)) * EVT_SIZE + i * 8);
	td_wr32(td, SMMU_EVENTQ_CONS, (consr & ~mask) | ((cons + 1) & mask));
	return 0;
}

int td_xlate(struct td *td, uint32_t sid, uint64_t iova, uint32_t access,
	     uint64_t *pa, struct uiommu_smmuv3_fault *f)
{
	struct uiommu_smmuv3_txn t = {
		.sid = sid, .iova = iova, .size = 4, .access = access,
	};

	return uiommu_smmuv3_translate(td->smmu, &t, pa, f);
}
