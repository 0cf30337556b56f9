// SPDX-License-Identifier: MIT
/*
 * uiommu smmuv3-drv: the SMMUv3 driver (see include/uiommu/smmuv3-drv.h).
 *
 * Organisation, as in an OS driver:
 *   registers     32/64-bit MMIO accessors and the CR0/IRQ_CTRL handshakes
 *   command queue one producer under drv->cmdq_lock; every batch ends with
 *                 CMD_SYNC and is complete when SMMU_CMDQ_CONS reaches PROD;
 *                 a refused command (CMDQ_ERR) is replaced by CMD_SYNC and
 *                 acknowledged through SMMU_GERRORN, which restarts the queue
 *   stream table  linear, or 2-level with SPLIT 8 and level-2 tables
 *                 allocated when a device of their span is probed
 *   STEs and CDs  written dword 0 last; a live STE whose configuration
 *                 changes is first made to abort (break before make)
 *   domains       one CD (the whole CD table, S1CDMax 0) and one ASID per
 *                 paging domain; tables from the pgtable library
 *   event queue   consumed under drv->evtq_lock, faults to the core
 *
 * Field layouts are the architecture's (smmuv3-regs.h, shared with the
 * model); citations are to Arm IHI 0070 G.b.
 *
 * Locks: drv->lock (stream table, masters, ASIDs) before drv->cmdq_lock
 * before drv->gerror_lock; drv->evtq_lock is taken alone.  The interrupt
 * handlers take no lock a command issuer holds while it writes a register,
 * because the model may raise an interrupt from inside that write.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/pgtable.h>
#include <uiommu/smmuv3-drv.h>
#include <uiommu/smmuv3.h>

#include "alloc.h"
#include "bits.h"
#include "id-bitmap.h"
#include "lock.h"
#include "log.h"
#include "smmuv3-drv-internal.h"
#include "smmuv3-regs.h"
#include "trace.h"

#define DRV_SUBSYS "smmuv3-drv"

/* How long to wait for an acknowledgement or CMD_SYNC, in register reads. */
#define POLL_LIMIT 100000u

/* 2-level stream table: STEs per level-2 table (STRTAB_BASE_CFG.SPLIT). */
#define STRTAB_SPLIT 8

/* Above this many pages a range is invalidated by ASID, not by VA. */
#define TLBI_VA_MAX 64

/* Stage-1 translation: 48-bit input, 4K granule, 4K/2M/1G pages. */
#define S1_IAS 48
#define S1_PGSIZES (UIO_BIT(12) | UIO_BIT(21) | UIO_BIT(30))

/* 5.4 CD.IR0/OR0 and 5.2 STE.S1CIR/S1COR: Write-Back, read-allocate */
#define CACHE_WBRA 1
#define SH_ISH 3
/* 5.2 STE.SHCFG: use the incoming shareability */
#define STE_SHCFG_INCOMING 1

struct smmu_domain;

/* Per-device state (uiommu_device_driver_data()). */
struct smmu_master {
	struct uiommu_smmuv3_drv *drv;
	struct uiommu_device *dev;
	struct smmu_domain *domain;	/* atomic: read by the event handler */
	struct smmu_master *next;	/* drv->masters, under drv->lock */
};

struct smmu_domain {
	struct uiommu_smmuv3_drv *drv;
	struct uiommu_domain *core;
	enum uiommu_domain_type type;
	uint16_t asid;			/* paging domains */
	uint64_t cd;			/* PA of its CD (a 4 KiB CD table) */
	struct uiommu_pgtable *pt;
	struct uiommu_pt_gather gather;	/* tables freed by unmaps, until sync */
};

struct uiommu_smmuv3_drv {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	uint64_t base;
	struct uiommu_smmuv3_drv_options opts;
	char *name;
	struct uiommu_iommu *iommu;

	/* From the ID registers */
	uint32_t idr0, idr1, idr5;
	unsigned int sid_bits, asid_bits, oas;
	bool coherent, two_level;

	struct uio_mutex lock;		/* stream table, ASIDs, masters */
	uint64_t strtab;		/* linear table or level-1 table */
	uint64_t strtab_size;
	uint64_t *l2;			/* 2-level: level-2 table PA per L1 entry */
	uint32_t *l2_users;		/* probed StreamIDs in each level-2 table */
	uint32_t nl1;
	uint64_t *asid_map;
	unsigned int nasids;
	struct smmu_master *masters;	/* probed devices */

	struct uio_mutex cmdq_lock;
	uint64_t cmdq;
	unsigned int cmdq_log2;
	uint32_t cmdq_prod;		/* shadow of SMMU_CMDQ_PROD */

	struct uio_mutex evtq_lock;
	uint64_t eventq;
	unsigned int eventq_log2;

	struct uio_mutex gerror_lock;	/* SMMU_GERRORN read-modify-write */

	struct uiommu_smmuv3_drv_stats st;	/* counters: __atomic */
};

static void stat_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ registers */

static int rd32(struct uiommu_smmuv3_drv *drv, uint64_t off, uint32_t *v)
{
	uint64_t x;
	int err = uiommu_phys_ld(drv->pm, drv->base + off, 4, &x, NULL);

	*v = err ? 0 : (uint32_t)x;
	return err;
}

static int wr32(struct uiommu_smmuv3_drv *drv, uint64_t off, uint64_t v)
{
	return uiommu_phys_st(drv->pm, drv->base + off, 4, (uint32_t)v, NULL);
}

static int wr64(struct uiommu_smmuv3_drv *drv, uint64_t off, uint64_t v)
{
	return uiommu_phys_st(drv->pm, drv->base + off, 8, v, NULL);
}

/* Write @ctrl and wait until @ack reads the same (6.3.9 CR0 / CR0ACK). */
static int write_ack(struct uiommu_smmuv3_drv *drv, uint64_t ctrl,
		     uint64_t ack, uint32_t val)
{
	unsigned int i;
	uint32_t v;
	int err;

	err = wr32(drv, ctrl, val);
	for (i = 0; !err && i < POLL_LIMIT; i++) {
		err = rd32(drv, ack, &v);
		if (!err && v == val)
			return 0;
		sched_yield();
	}
	if (err)
		return err;
	return uio_fail(-ETIMEDOUT, DRV_SUBSYS,
			"%s: register 0x%" PRIx64 " never acknowledged 0x%x",
			drv->name, ctrl, val);
}

/* RAM words of the in-memory structures. */
static int ram_st(struct uiommu_smmuv3_drv *drv, uint64_t pa, uint64_t v)
{
	return uiommu_phys_st(drv->pm, pa, 8, v, NULL);
}

static uint64_t ram_ld(struct uiommu_smmuv3_drv *drv, uint64_t pa)
{
	uint64_t v = 0;

	if (uiommu_phys_ld(drv->pm, pa, 8, &v, NULL))
		return 0;
	return v;
}

static int pool_alloc(struct uiommu_smmuv3_drv *drv, uint64_t size,
		      uint64_t *pa)
{
	return uiommu_phys_pool_alloc(drv->pool, size < 4096 ? 4096 : size, pa);
}

static void pool_free(struct uiommu_smmuv3_drv *drv, uint64_t pa,
		      uint64_t size)
{
	int err = uiommu_phys_pool_free(drv->pool, pa, size < 4096 ? 4096 : size);

	assert(!err);	/* only blocks this driver allocated */
	(void)err;
}

/* -------------------------------------------------------- command queue */

struct cmd {
	uint64_t w[2];
};

static struct cmd cmd_sync(void)
{
	/* 4.7.2: completion is observed through SMMU_CMDQ_CONS (CS = none) */
	return (struct cmd){ { UIO_FDP64(CMD_SYNC, CMD0, SYNC_CS,
					 CMD_SYNC_SIG_NONE), 0 } };
}

static struct cmd cmd_cfgi_ste(uint32_t sid)
{
	/* 4.3.1 CFGI_STE, Leaf = 1: only the STE changed, not an L1STD */
	return (struct cmd){ { UIO_FDP64(CMD_CFGI_STE, CMD0, SID, sid),
			       UIO_FDP64(0, CMD1, LEAF, 1) } };
}

static struct cmd cmd_cfgi_cd(uint32_t sid)
{
	/* 4.3.3 CFGI_CD of SubstreamID 0 (the only CD of a stream) */
	return (struct cmd){ { UIO_FDP64(CMD_CFGI_CD, CMD0, SID, sid),
			       UIO_FDP64(0, CMD1, LEAF, 1) } };
}

static struct cmd cmd_tlbi_asid(uint16_t asid)
{
	/* 4.4.3 TLBI_NH_ASID, VMID 0 (stage 1 only streams) */
	return (struct cmd){ { UIO_FDP64(CMD_TLBI_NH_ASID, CMD0, ASID, asid),
			       0 } };
}

static struct cmd cmd_tlbi_va(uint16_t asid, uint64_t va, bool leaf)
{
	/* 4.4.2 TLBI_NH_VA without range (TG = 0) */
	return (struct cmd){ { UIO_FDP64(CMD_TLBI_NH_VA, CMD0, ASID, asid),
			       UIO_FDP64(UIO_FDP64(0, CMD1, LEAF, leaf), CMD1,
					 ADDR, va >> CMD1_ADDR_SHIFT) } };
}

static uint32_t q_mask(unsigned int log2)
{
	return (UINT32_C(2) << log2) - 1;	/* index and wrap bit */
}

/*
 * The SMMU stopped at a refused command (4.7.3): log it, replace it by a
 * CMD_SYNC so that the rest of the batch still runs, acknowledge CMDQ_ERR.
 */
static int cmdq_skip_error(struct uiommu_smmuv3_drv *drv, uint32_t cons)
{
	uint32_t n = UINT32_C(1) << drv->cmdq_log2, ge, gen;
	uint64_t slot = drv->cmdq + (uint64_t)(cons & (n - 1)) * CMD_SIZE;
	struct cmd sync = cmd_sync();
	int err;

	uio_assert_held(&drv->cmdq_lock);
	uio_err(DRV_SUBSYS, "%s: command 0x%" PRIx64 " 0x%" PRIx64
		" refused (CERROR 0x%x), skipped", drv->name, ram_ld(drv, slot),
		ram_ld(drv, slot + 8), (unsigned int)UIO_FEX64(cons, CMDQ_CONS, ERR));
	stat_add(&drv->st.cmd_errors, 1);
	err = ram_st(drv, slot + 8, sync.w[1]);
	if (!err)
		err = ram_st(drv, slot, sync.w[0]);
	uio_lock(&drv->gerror_lock);
	if (!err)
		err = rd32(drv, SMMU_GERROR, &ge);
	if (!err)
		err = rd32(drv, SMMU_GERRORN, &gen);
	if (!err && ((ge ^ gen) & GERROR_CMDQ_ERR_MASK))
		err = wr32(drv, SMMU_GERRORN, gen ^ GERROR_CMDQ_ERR_MASK);
	uio_unlock(&drv->gerror_lock);
	return err;
}

/*
 * Issue @n commands and a CMD_SYNC; wait until the SMMU consumed them all.
 * Return: 0; -EIO if a command was refused (and skipped); -EFAULT,
 * -ETIMEDOUT.
 */
static int cmdq_issue(struct uiommu_smmuv3_drv *drv, const struct cmd *cmds,
		      size_t n)
{
	uint32_t qn = UINT32_C(1) << drv->cmdq_log2, mask = q_mask(drv->cmdq_log2);
	uint32_t cons = 0, prod;
	unsigned int polls = 0;
	bool refused = false;
	size_t i = 0;
	int err = 0;

	uio_lock(&drv->cmdq_lock);
	while (i <= n && !err) {
		struct cmd c = i < n ? cmds[i] : cmd_sync();
		uint64_t slot;

		/* Full when only the wrap bits differ (3.5). */
		prod = drv->cmdq_prod;
		err = rd32(drv, SMMU_CMDQ_CONS, &cons);
		if (err)
			break;
		if ((prod ^ cons) == qn) {
			err = wr32(drv, SMMU_CMDQ_PROD, prod);
			if (++polls > POLL_LIMIT)
				err = -ETIMEDOUT;
			continue;
		}
		slot = drv->cmdq + (uint64_t)(prod & (qn - 1)) * CMD_SIZE;
		err = ram_st(drv, slot, c.w[0]);
		if (!err)
			err = ram_st(drv, slot + 8, c.w[1]);
		drv->cmdq_prod = (prod + 1) & mask;
		stat_add(&drv->st.commands, 1);
		i++;
	}
	if (!err)
		err = wr32(drv, SMMU_CMDQ_PROD, drv->cmdq_prod);
	stat_add(&drv->st.syncs, 1);
	/* Wait for CONS to reach PROD, skipping refused commands. */
	for (polls = 0; !err; polls++) {
		err = rd32(drv, SMMU_CMDQ_CONS, &cons);
		if (err || (cons & mask) == drv->cmdq_prod)
			break;
		if (UIO_FEX64(cons, CMDQ_CONS, ERR) || polls > POLL_LIMIT / 2) {
			uint32_t ge, gen;

			err = rd32(drv, SMMU_GERROR, &ge);
			if (!err)
				err = rd32(drv, SMMU_GERRORN, &gen);
			if (!err && ((ge ^ gen) & GERROR_CMDQ_ERR_MASK)) {
				refused = true;
				err = cmdq_skip_error(drv, cons & mask);
				continue;
			}
		}
		if (polls > POLL_LIMIT)
			err = uio_fail(-ETIMEDOUT, DRV_SUBSYS,
				       "%s: CMD_SYNC not completed (CONS 0x%x,"
				       " PROD 0x%x)", drv->name, cons,
				       drv->cmdq_prod);
		sched_yield();
	}
	uio_unlock(&drv->cmdq_lock);
	if (err)
		uio_err(DRV_SUBSYS, "%s: command queue error %d", drv->name, err);
	return err ? err : refused ? -EIO : 0;
}

/* Log a failed invalidation of a void operation: hardware is broken then. */
static void cmdq_issue_void(struct uiommu_smmuv3_drv *drv,
			    const struct cmd *cmds, size_t n)
{
	int err = cmdq_issue(drv, cmds, n);

	if (err)
		uio_err(DRV_SUBSYS, "%s: invalidation failed: %d", drv->name, err);
}

int uio_smmuv3_drv_issue_raw(struct uiommu_smmuv3_drv *drv, uint64_t c0,
			     uint64_t c1)
{
	struct cmd c = { { c0, c1 } };

	return cmdq_issue(drv, &c, 1);
}

/* ---------------------------------------------------------- stream table */

/* PA of the STE of @sid; 0 if its level-2 table does not exist. */
static uint64_t ste_addr(struct uiommu_smmuv3_drv *drv, uint32_t sid)
{
	uint64_t l2;

	if (!drv->two_level)
		return drv->strtab + (uint64_t)sid * STE_SIZE;
	l2 = __atomic_load_n(&drv->l2[sid >> STRTAB_SPLIT], __ATOMIC_ACQUIRE);
	if (!l2)
		return 0;
	return l2 + (uint64_t)(sid & (UIO_BIT(STRTAB_SPLIT) - 1)) * STE_SIZE;
}

static uint64_t ste_abort(void)
{
	return UIO_FDP64(UIO_FDP64(0, STE0, V, 1), STE0, CONFIG, STE_CFG_ABORT);
}

/* Fill @n STEs at @pa with the abort configuration. */
static int stes_abort(struct uiommu_smmuv3_drv *drv, uint64_t pa, uint64_t n)
{
	uint64_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++)
		err = ram_st(drv, pa + i * STE_SIZE, ste_abort());
	return err;
}

static uint64_t l2_size(void)
{
	return (uint64_t)STE_SIZE << STRTAB_SPLIT;
}

/*
 * 2-level: make sure the level-2 tables of @ids exist.  On failure the
 * tables this call added are removed again.
 */
static int strtab_ensure_l2(struct uiommu_smmuv3_drv *drv, const uint32_t *ids,
			    unsigned int nids)
{
	uint32_t added[8];
	unsigned int nadded = 0, i, j;
	int err = 0;

	uio_assert_held(&drv->lock);
	if (!drv->two_level)
		return 0;
	for (i = 0; i < nids && !err; i++) {
		uint32_t l1 = ids[i] >> STRTAB_SPLIT;
		uint64_t l2, desc;

		if (drv->l2[l1])
			continue;
		if (nadded == UIO_ARRAY_SIZE(added))
			return uio_fail(-EINVAL, DRV_SUBSYS,
					"%s: too many spans for one device",
					drv->name);
		err = pool_alloc(drv, l2_size(), &l2);
		if (err)
			break;
		err = stes_abort(drv, l2, UIO_BIT(STRTAB_SPLIT));
		/* 5.1: Span = SPLIT + 1 covers the whole level-2 table */
		desc = UIO_FDP64(0, L1STD, SPAN, STRTAB_SPLIT + 1);
		desc = UIO_FDP64(desc, L1STD, L2PTR, l2 >> L1STD_L2PTR_SHIFT);
		if (!err)
			err = ram_st(drv, drv->strtab + (uint64_t)l1 * 8, desc);
		if (err) {
			pool_free(drv, l2, l2_size());
			break;
		}
		__atomic_store_n(&drv->l2[l1], l2, __ATOMIC_RELEASE);
		added[nadded++] = l1;
		drv->st.l2_tables++;
	}
	if (!err) {
		for (i = 0; i < nids; i++)
			drv->l2_users[ids[i] >> STRTAB_SPLIT]++;
		return 0;
	}
	for (j = 0; j < nadded; j++) {
		/* Never valid for a probed device: no invalidation needed. */
		(void)ram_st(drv, drv->strtab + (uint64_t)added[j] * 8, 0);
		pool_free(drv, drv->l2[added[j]], l2_size());
		drv->l2[added[j]] = 0;
		drv->st.l2_tables--;
	}
	return err;
}

/*
 * 2-level: drop @ids' references to their level-2 tables; a table no probed
 * device uses any more is unlinked, its L1STD invalidated (CFGI_STE with
 * Leaf = 0) and freed.  The STEs must abort already.
 */
static void strtab_put_l2(struct uiommu_smmuv3_drv *drv, const uint32_t *ids,
			  unsigned int nids)
{
	unsigned int i;

	uio_assert_held(&drv->lock);
	if (!drv->two_level)
		return;
	for (i = 0; i < nids; i++) {
		uint32_t l1 = ids[i] >> STRTAB_SPLIT;
		struct cmd c = { { UIO_FDP64(CMD_CFGI_STE, CMD0, SID, ids[i]), 0 } };

		assert(drv->l2_users[l1]);
		if (--drv->l2_users[l1])
			continue;
		if (ram_st(drv, drv->strtab + (uint64_t)l1 * 8, 0) ||
		    cmdq_issue(drv, &c, 1)) {
			/* Keep the table: the SMMU may still use it. */
			drv->l2_users[l1]++;
			continue;
		}
		stat_add(&drv->st.cfgi_ste, 1);
		pool_free(drv, drv->l2[l1], l2_size());
		__atomic_store_n(&drv->l2[l1], 0, __ATOMIC_RELEASE);
		drv->st.l2_tables--;
	}
}

/* The STE a domain of @d's type needs (5.2). */
static void ste_build(const struct smmu_domain *d, uint64_t ste[8])
{
	memset(ste, 0, 8 * sizeof(*ste));
	if (!d || d->type == UIOMMU_DOMAIN_BLOCKED) {
		ste[0] = ste_abort();
		return;
	}
	ste[0] = UIO_FDP64(0, STE0, V, 1);
	if (d->type == UIOMMU_DOMAIN_IDENTITY) {
		ste[0] = UIO_FDP64(ste[0], STE0, CONFIG, STE_CFG_BYPASS);
		ste[1] = UIO_FDP64(0, STE1, SHCFG, STE_SHCFG_INCOMING);
		return;
	}
	ste[0] = UIO_FDP64(ste[0], STE0, CONFIG, STE_CFG_S1);
	ste[0] = UIO_FDP64(ste[0], STE0, S1FMT, STE_S1FMT_LINEAR);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CONTEXTPTR,
			   d->cd >> STE0_S1CONTEXTPTR_SHIFT);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CDMAX, 0);
	ste[1] = UIO_FDP64(0, STE1, S1CIR, CACHE_WBRA);
	ste[1] = UIO_FDP64(ste[1], STE1, S1COR, CACHE_WBRA);
	ste[1] = UIO_FDP64(ste[1], STE1, S1CSH, SH_ISH);
	ste[1] = UIO_FDP64(ste[1], STE1, STRW, 0);	/* NS-EL1 */
}

/*
 * Point the STEs of @ids at @d (NULL: abort).  A live STE that does not
 * abort is first made to abort and invalidated, so that the SMMU never
 * reads a half-written entry; then dwords 1..7, dword 0, CFGI_STE +
 * CFGI_CD, CMD_SYNC.
 */
static int stes_write(struct uiommu_smmuv3_drv *drv, const uint32_t *ids,
		      unsigned int nids, const struct smmu_domain *d)
{
	struct cmd cmds[16];
	uint64_t ste[8];
	unsigned int i, k, nc;
	bool broke = false;
	int err = 0;

	uio_assert_held(&drv->lock);
	ste_build(d, ste);
	for (i = 0; i < nids && !err; i++) {
		uint64_t a = ste_addr(drv, ids[i]), old = ram_ld(drv, a);

		if (UIO_FEX64(old, STE0, V) &&
		    UIO_FEX64(old, STE0, CONFIG) != STE_CFG_ABORT &&
		    old != ste[0]) {
			err = ram_st(drv, a, ste_abort());
			broke = true;
		}
	}
	for (i = 0; i < nids && broke && !err; i += nc) {
		for (nc = 0; nc < UIO_ARRAY_SIZE(cmds) && i + nc < nids; nc++)
			cmds[nc] = cmd_cfgi_ste(ids[i + nc]);
		err = cmdq_issue(drv, cmds, nc);
		stat_add(&drv->st.cfgi_ste, nc);
	}
	for (i = 0; i < nids && !err; i++) {
		uint64_t a = ste_addr(drv, ids[i]);

		for (k = 7; k >= 1 && !err; k--)
			err = ram_st(drv, a + k * 8, ste[k]);
		if (!err)
			err = ram_st(drv, a, ste[0]);
	}
	for (i = 0; i < nids && !err; i += nc / 2) {
		for (nc = 0; nc + 1 < UIO_ARRAY_SIZE(cmds) && i + nc / 2 < nids;
		     nc += 2) {
			cmds[nc] = cmd_cfgi_ste(ids[i + nc / 2]);
			cmds[nc + 1] = cmd_cfgi_cd(ids[i + nc / 2]);
		}
		err = cmdq_issue(drv, cmds, nc);
		stat_add(&drv->st.cfgi_ste, nc / 2);
		stat_add(&drv->st.cfgi_cd, nc / 2);
	}
	return err;
}

/* ---------------------------------------------------------------- domains */

static struct smmu_domain *to_sd(struct uiommu_domain *dom)
{
	return uiommu_domain_driver_data(dom);
}

/* Core protections to the pgtable library's. */
static uint32_t pt_prot(unsigned int prot)
{
	uint32_t p = 0;

	if (prot & UIOMMU_PROT_READ)
		p |= UIOMMU_PT_PROT_READ;
	if (prot & UIOMMU_PROT_WRITE)
		p |= UIOMMU_PT_PROT_WRITE;
	if (prot & UIOMMU_PROT_NOEXEC)
		p |= UIOMMU_PT_PROT_NOEXEC;
	if (prot & UIOMMU_PROT_MMIO)
		p |= UIOMMU_PT_PROT_MMIO;
	if (prot & UIOMMU_PROT_CACHE)
		p |= UIOMMU_PT_PROT_CACHE;
	return p;
}

static int sd_attach_dev(struct uiommu_domain *dom, struct uiommu_device *dev)
{
	struct smmu_domain *d = to_sd(dom);
	struct smmu_master *m = uiommu_device_driver_data(dev);
	struct uiommu_smmuv3_drv *drv = d->drv;
	const uint32_t *ids;
	unsigned int nids;
	int err;

	ids = uiommu_device_ids(dev, &nids);
	uio_lock(&drv->lock);
	err = stes_write(drv, ids, nids, d);
	if (!err)
		__atomic_store_n(&m->domain, d, __ATOMIC_RELEASE);
	uio_unlock(&drv->lock);
	return err;
}

/* Invalidate the domain's TLB entries, then free the tables unmaps held. */
static void sd_flush_all(struct uiommu_domain *dom)
{
	struct smmu_domain *d = to_sd(dom);
	struct cmd c = cmd_tlbi_asid(d->asid);

	cmdq_issue_void(d->drv, &c, 1);
	stat_add(&d->drv->st.tlbi_asid, 1);
	uiommu_pgtable_gather_done(d->pt, &d->gather);
}

static void sd_iotlb_sync(struct uiommu_domain *dom,
			  struct uiommu_iotlb_gather *g)
{
	struct smmu_domain *d = to_sd(dom);
	uint64_t step = d->gather.granule ? d->gather.granule : UIO_BIT(12);
	uint64_t first = uio_align_down(g->start, step), va;
	struct cmd cmds[TLBI_VA_MAX];
	size_t n = 0;

	if (g->start > g->last)
		return;
	if ((g->last - first) / step >= TLBI_VA_MAX) {
		sd_flush_all(dom);
		return;
	}
	for (va = first; va <= g->last && va >= first; va += step)
		cmds[n++] = cmd_tlbi_va(d->asid, va, d->gather.leaf_only);
	cmdq_issue_void(d->drv, cmds, n);
	stat_add(&d->drv->st.tlbi_va, n);
	uiommu_pgtable_gather_done(d->pt, &d->gather);
}

static int sd_map_pages(struct uiommu_domain *dom, uint64_t iova, uint64_t pa,
			uint64_t pgsize, size_t pgcount, unsigned int prot,
			uint64_t *mapped)
{
	struct smmu_domain *d = to_sd(dom);
	struct uiommu_pt_gather g;
	int err;

	uiommu_pt_gather_init(&g, 0);
	*mapped = 0;
	err = uiommu_pgtable_map(d->pt, iova, pa, pgsize * pgcount,
				 pt_prot(prot), &g);
	if (!uiommu_pt_gather_empty(&g)) {
		/* A roll-back removed tables a walk may have cached. */
		struct cmd c = cmd_tlbi_asid(d->asid);

		cmdq_issue_void(d->drv, &c, 1);
		stat_add(&d->drv->st.tlbi_asid, 1);
	}
	uiommu_pgtable_gather_done(d->pt, &g);
	if (!err)
		*mapped = pgsize * pgcount;
	return err;
}

static uint64_t sd_unmap_pages(struct uiommu_domain *dom, uint64_t iova,
			       uint64_t pgsize, size_t pgcount,
			       struct uiommu_iotlb_gather *gather)
{
	struct smmu_domain *d = to_sd(dom);
	uint64_t unmapped = 0;
	int err;

	err = uiommu_pgtable_unmap(d->pt, iova, pgsize * pgcount, &d->gather,
				   &unmapped);
	if (err)
		uio_debug(DRV_SUBSYS, "unmap 0x%" PRIx64 ": %d", iova, err);
	if (unmapped)
		uiommu_iotlb_gather_add(gather, iova, pgsize * pgcount, pgsize);
	return unmapped;
}

static int sd_iova_to_phys(struct uiommu_domain *dom, uint64_t iova,
			   uint64_t *pa)
{
	int err = uiommu_pgtable_iova_to_phys(to_sd(dom)->pt, iova, pa, NULL);

	return err ? -ENOENT : 0;
}

static void asid_free(struct uiommu_smmuv3_drv *drv, uint16_t asid)
{
	uio_lock(&drv->lock);
	uio_id_bitmap_free(drv->asid_map, UIO_BIT(drv->asid_bits), asid, 1);
	drv->nasids--;
	uio_unlock(&drv->lock);
}

static void sd_free(struct uiommu_domain *dom)
{
	struct smmu_domain *d = to_sd(dom);
	struct uiommu_smmuv3_drv *drv = d->drv;

	if (d->pt) {
		/* No STE points at the CD any more (no group attached). */
		(void)ram_st(drv, d->cd, 0);
		sd_flush_all(dom);
		uiommu_pgtable_destroy(d->pt);
		pool_free(drv, d->cd, 4096);
		asid_free(drv, d->asid);
	}
	uio_delete(d);
}

static const struct uiommu_pgtable *sd_pgtable(struct uiommu_domain *dom)
{
	return to_sd(dom)->pt;	/* NULL for identity and blocked domains */
}

static const struct uiommu_domain_ops sd_ops = {
	.attach_dev = sd_attach_dev,
	.map_pages = sd_map_pages,
	.unmap_pages = sd_unmap_pages,
	.iova_to_phys = sd_iova_to_phys,
	.flush_iotlb_all = sd_flush_all,
	.iotlb_sync = sd_iotlb_sync,
	.free = sd_free,
	.pgtable = sd_pgtable,
};

/* Write the domain's CD (5.4): dwords 1..3 first, dword 0 with V last. */
static int cd_write(struct smmu_domain *d)
{
	struct uiommu_pgtable_info info;
	uint64_t d0 = 0;
	int err;

	uiommu_pgtable_get_info(d->pt, &info);
	d0 = UIO_FDP64(d0, CD0, T0SZ, info.arm_tsz);
	d0 = UIO_FDP64(d0, CD0, TG0, info.arm_tg);
	d0 = UIO_FDP64(d0, CD0, IR0, CACHE_WBRA);
	d0 = UIO_FDP64(d0, CD0, OR0, CACHE_WBRA);
	d0 = UIO_FDP64(d0, CD0, SH0, SH_ISH);
	d0 = UIO_FDP64(d0, CD0, EPD1, 1);	/* no TTB1 half */
	d0 = UIO_FDP64(d0, CD0, V, 1);
	d0 = UIO_FDP64(d0, CD0, IPS, info.arm_ps);
	d0 = UIO_FDP64(d0, CD0, AA64, 1);
	d0 = UIO_FDP64(d0, CD0, R, 1);		/* record faults */
	d0 = UIO_FDP64(d0, CD0, A, 1);		/* abort faulting accesses */
	d0 = UIO_FDP64(d0, CD0, ASET, 1);	/* not shared with a CPU */
	d0 = UIO_FDP64(d0, CD0, ASID, d->asid);
	err = ram_st(d->drv, d->cd + 8,
		     UIO_FDP64(0, CD1, TTB0, info.root >> CD1_TTB0_SHIFT));
	if (!err)
		err = ram_st(d->drv, d->cd + 24,
			     UIO_FDP64(0, CD3, MAIR0, info.arm_mair & 0xffffffff));
	if (!err)
		err = ram_st(d->drv, d->cd, d0);
	return err;
}

static int paging_domain_init(struct uiommu_smmuv3_drv *drv,
			      struct smmu_domain *d)
{
	struct uiommu_pgtable_cfg cfg = {
		.format = UIOMMU_PT_ARM_S1,
		.granule_shift = 12,
		.ias = S1_IAS,
		.oas = drv->oas,
		.pgsize_bitmap = S1_PGSIZES,
	};
	uint32_t asid;
	int err;

	uio_lock(&drv->lock);
	/* ASID 0 stays unused, as a reserved value for nothing-attached. */
	err = uio_id_bitmap_alloc(drv->asid_map, UIO_BIT(drv->asid_bits), 1,
				  &asid);
	if (!err)
		drv->nasids++;
	uio_unlock(&drv->lock);
	if (err)
		return uio_fail(-ENOSPC, DRV_SUBSYS, "%s: no free ASID",
				drv->name);
	d->asid = (uint16_t)asid;
	err = uiommu_pgtable_create(drv->pm, drv->pool, &cfg, &d->pt);
	if (err)
		goto err_free_asid;
	err = pool_alloc(drv, 4096, &d->cd);
	if (err)
		goto err_free_pt;
	err = cd_write(d);
	if (err)
		goto err_free_cd;
	uiommu_pt_gather_init(&d->gather, 0);
	return 0;

err_free_cd:
	pool_free(drv, d->cd, 4096);
err_free_pt:
	uiommu_pgtable_destroy(d->pt);
	d->pt = NULL;
err_free_asid:
	asid_free(drv, d->asid);
	return err;
}

static struct uiommu_smmuv3_drv *to_drv(struct uiommu_iommu *iommu)
{
	return uiommu_iommu_driver_data(iommu);
}

static int sd_domain_alloc(struct uiommu_iommu *iommu, struct uiommu_domain *dom,
			   enum uiommu_domain_type type, unsigned int fmt,
			   struct uiommu_domain_hw *hw)
{
	struct uiommu_smmuv3_drv *drv = to_drv(iommu);
	struct smmu_domain *d;
	int err;

	if (fmt && fmt != UIOMMU_PT_ARM_S1)
		return uio_fail(-EOPNOTSUPP, DRV_SUBSYS,
				"%s: page-table format %u", drv->name, fmt);
	d = uio_new(struct smmu_domain);
	if (!d)
		return -ENOMEM;
	d->drv = drv;
	d->core = dom;
	d->type = type;
	if (type == UIOMMU_DOMAIN_DMA || type == UIOMMU_DOMAIN_UNMANAGED) {
		err = paging_domain_init(drv, d);
		if (err) {
			uio_delete(d);
			return err;
		}
	}
	hw->ops = &sd_ops;
	hw->priv = d;
	hw->aperture_start = 0;
	hw->aperture_last = UIO_BIT(S1_IAS) - 1;
	hw->pgsize_bitmap = S1_PGSIZES;
	return 0;
}

/* ---------------------------------------------------------------- devices */

static int sd_probe_device(struct uiommu_iommu *iommu, struct uiommu_device *dev)
{
	struct uiommu_smmuv3_drv *drv = to_drv(iommu);
	struct smmu_master *m;
	const uint32_t *ids;
	unsigned int nids, i;
	int err;

	ids = uiommu_device_ids(dev, &nids);
	for (i = 0; i < nids; i++)
		if (ids[i] >> drv->sid_bits)
			return uio_fail(-ERANGE, DRV_SUBSYS,
					"%s: %s: StreamID 0x%x beyond %u bits",
					drv->name, uiommu_device_name(dev),
					ids[i], drv->sid_bits);
	m = uio_new(struct smmu_master);
	if (!m)
		return -ENOMEM;
	m->drv = drv;
	m->dev = dev;
	uio_lock(&drv->lock);
	err = strtab_ensure_l2(drv, ids, nids);
	if (!err) {
		m->next = drv->masters;
		drv->masters = m;
	}
	uio_unlock(&drv->lock);
	if (err) {
		uio_delete(m);
		return err;
	}
	uiommu_device_set_driver_data(dev, m);
	return 0;
}

static void sd_release_device(struct uiommu_iommu *iommu,
			      struct uiommu_device *dev)
{
	struct uiommu_smmuv3_drv *drv = to_drv(iommu);
	struct smmu_master *m = uiommu_device_driver_data(dev), **pp;
	const uint32_t *ids;
	unsigned int nids;
	int err;

	ids = uiommu_device_ids(dev, &nids);
	uio_lock(&drv->lock);
	err = stes_write(drv, ids, nids, NULL);
	__atomic_store_n(&m->domain, NULL, __ATOMIC_RELEASE);
	if (!err)
		strtab_put_l2(drv, ids, nids);
	for (pp = &drv->masters; *pp != m; pp = &(*pp)->next)
		assert(*pp);
	*pp = m->next;
	uio_unlock(&drv->lock);
	if (err)
		uio_err(DRV_SUBSYS, "%s: %s: STE not reset: %d", drv->name,
			uiommu_device_name(dev), err);
	uiommu_device_set_driver_data(dev, NULL);
	uio_delete(m);
}

static int sd_device_group(struct uiommu_iommu *iommu,
			   struct uiommu_device *dev, struct uiommu_group **g)
{
	if (to_drv(iommu)->opts.pci_groups)
		return uiommu_pci_device_group(iommu, dev, g);
	return uiommu_generic_device_group(iommu, dev, g);
}

static int sd_get_resv_regions(struct uiommu_iommu *iommu,
			       struct uiommu_device *dev,
			       struct uiommu_resv_list *list)
{
	(void)iommu;
	(void)dev;
	return uiommu_resv_list_add(list, UIOMMU_SMMUV3_DRV_MSI_IOVA,
				    UIOMMU_SMMUV3_DRV_MSI_SIZE,
				    UIOMMU_PROT_WRITE | UIOMMU_PROT_NOEXEC |
				    UIOMMU_PROT_MMIO, UIOMMU_RESV_SW_MSI, 0);
}

static bool sd_capable(struct uiommu_iommu *iommu, enum uiommu_cap cap)
{
	/* An SMMU translates MSIs as any write; it never checks their source. */
	return cap == UIOMMU_CAP_CACHE_COHERENCY && to_drv(iommu)->coherent;
}

static const struct uiommu_iommu_ops sd_iommu_ops = {
	.probe_device = sd_probe_device,
	.release_device = sd_release_device,
	.device_group = sd_device_group,
	.get_resv_regions = sd_get_resv_regions,
	.capable = sd_capable,
	.domain_alloc = sd_domain_alloc,
};

/* ------------------------------------------------------------ event queue */

static void event_decode(const uint64_t raw[4],
			 struct uiommu_smmuv3_drv_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->raw, raw, sizeof(ev->raw));
	ev->type = (uint8_t)UIO_FEX64(raw[0], EVT0, TYPE);
	ev->ssv = UIO_FEX64(raw[0], EVT0, SSV);
	ev->ssid = (uint32_t)UIO_FEX64(raw[0], EVT0, SSID);
	ev->sid = (uint32_t)UIO_FEX64(raw[0], EVT0, SID);
	ev->pnu = UIO_FEX64(raw[1], EVT1, PNU);
	ev->ind = UIO_FEX64(raw[1], EVT1, IND);
	ev->rnw = UIO_FEX64(raw[1], EVT1, RNW);
	ev->s2 = UIO_FEX64(raw[1], EVT1, S2);
	ev->cls = (uint8_t)UIO_FEX64(raw[1], EVT1, CLASS);
	ev->input_addr = raw[2];
	ev->ipa = UIO_FEX64(raw[3], EVT3, IPA) << EVT3_IPA_SHIFT;
	ev->fetch_addr = UIO_FEX64(raw[3], EVT3, FETCH_ADDR) << EVT3_FETCH_ADDR_SHIFT;
}

/* 7.3: which events describe a faulting transaction of a configured stream */
static bool event_fault_reason(uint8_t type, enum uiommu_fault_reason *r)
{
	switch (type) {
	case UIOMMU_SMMUV3_EVT_F_TRANSLATION:
	case UIOMMU_SMMUV3_EVT_F_WALK_EABT:
		*r = UIOMMU_FAULT_UNMAPPED;
		return true;
	case UIOMMU_SMMUV3_EVT_F_ADDR_SIZE:
		*r = UIOMMU_FAULT_BAD_ADDRESS;
		return true;
	case UIOMMU_SMMUV3_EVT_F_ACCESS:
	case UIOMMU_SMMUV3_EVT_F_PERMISSION:
		*r = UIOMMU_FAULT_PERMISSION;
		return true;
	case UIOMMU_SMMUV3_EVT_F_STREAM_DISABLED:
		*r = UIOMMU_FAULT_BLOCKED;
		return true;
	default:
		return false;
	}
}

static void event_report(struct uiommu_smmuv3_drv *drv,
			 const struct uiommu_smmuv3_drv_event *ev)
{
	struct uiommu_fault f = { 0 };
	struct smmu_master *m;
	struct smmu_domain *d;
	int err;

	f.dev = uiommu_device_find(drv->iommu, ev->sid);
	m = f.dev ? uiommu_device_driver_data(f.dev) : NULL;
	d = m ? __atomic_load_n(&m->domain, __ATOMIC_ACQUIRE) : NULL;
	if (!d || !event_fault_reason(ev->type, &f.reason)) {
		uio_warn(DRV_SUBSYS, "%s: event 0x%x StreamID 0x%x address 0x%"
			 PRIx64 " (no device fault)", drv->name, ev->type,
			 ev->sid, ev->input_addr);
		return;
	}
	f.iova = ev->input_addr;
	f.flags = ev->ind ? UIOMMU_FAULT_EXEC | UIOMMU_FAULT_READ :
		  ev->rnw ? UIOMMU_FAULT_READ : UIOMMU_FAULT_WRITE;
	f.source_id = ev->sid;
	stat_add(&drv->st.faults_reported, 1);
	err = uiommu_report_fault(d->core, &f);
	if (err)
		uio_debug(DRV_SUBSYS, "%s: fault at 0x%" PRIx64 " not handled: %d",
			  drv->name, f.iova, err);
}

UIOMMU_API int uiommu_smmuv3_drv_handle_events(struct uiommu_smmuv3_drv *drv)
{
	uint32_t n = UINT32_C(1) << drv->eventq_log2, mask = q_mask(drv->eventq_log2);
	uint32_t prod, cons;
	int err, count = 0;

	uio_lock(&drv->evtq_lock);
	err = rd32(drv, SMMU_EVENTQ_PROD, &prod);
	if (!err)
		err = rd32(drv, SMMU_EVENTQ_CONS, &cons);
	while (!err && (prod & mask) != (cons & mask)) {
		uint64_t slot = drv->eventq + (uint64_t)(cons & (n - 1)) * EVT_SIZE;
		struct uiommu_smmuv3_drv_event ev;
		uint64_t raw[4];

		err = uiommu_phys_read(drv->pm, slot, raw, sizeof(raw), NULL);
		if (err)
			break;
		cons = (cons & ~mask) | ((cons + 1) & mask);
		/* Free the slot before reporting: a handler may cause events. */
		err = wr32(drv, SMMU_EVENTQ_CONS, cons);
		event_decode(raw, &ev);
		trace_smmuv3_drv_event(ev.type, ev.sid, ev.input_addr);
		if (drv->opts.on_event)
			drv->opts.on_event(drv->opts.opaque, &ev);
		stat_add(&drv->st.events, 1);
		count++;
		uio_unlock(&drv->evtq_lock);
		event_report(drv, &ev);
		uio_lock(&drv->evtq_lock);
		if (!err)
			err = rd32(drv, SMMU_EVENTQ_PROD, &prod);
		if (!err)
			err = rd32(drv, SMMU_EVENTQ_CONS, &cons);
	}
	/* 6.3.29: an overflow is acknowledged by copying OVFLG to OVACKFLG */
	if (!err && UIO_FEX64(prod, EVENTQ_PROD, OVFLG) !=
		    UIO_FEX64(cons, EVENTQ_CONS, OVACKFLG)) {
		uio_warn(DRV_SUBSYS, "%s: event queue overflowed, events lost",
			 drv->name);
		stat_add(&drv->st.events_lost, 1);
		err = wr32(drv, SMMU_EVENTQ_CONS,
			   UIO_FDP64(cons, EVENTQ_CONS, OVACKFLG,
				     UIO_FEX64(prod, EVENTQ_PROD, OVFLG)));
	}
	uio_unlock(&drv->evtq_lock);
	return err ? err : count;
}

UIOMMU_API int uiommu_smmuv3_drv_handle_gerror(struct uiommu_smmuv3_drv *drv)
{
	uint32_t ge = 0, gen = 0, active, ack;
	int err;

	uio_lock(&drv->gerror_lock);
	err = rd32(drv, SMMU_GERROR, &ge);
	if (!err)
		err = rd32(drv, SMMU_GERRORN, &gen);
	active = (ge ^ gen) & 0x1ff;
	ack = active & ~(uint32_t)GERROR_CMDQ_ERR_MASK;
	if (!err && ack) {
		uio_err(DRV_SUBSYS, "%s: global error(s) 0x%x acknowledged",
			drv->name, ack);
		stat_add(&drv->st.gerrors, 1);
		err = wr32(drv, SMMU_GERRORN, gen ^ ack);
	}
	uio_unlock(&drv->gerror_lock);
	return err ? err : (int)active;
}

/* ---------------------------------------------------------------- probe */

/* 6.3.6 IDR5.OAS: 32, 36, 40, 42, 44, 48 bits (52 needs 64K pages) */
static const unsigned int oas_bits[] = { 32, 36, 40, 42, 44, 48, 48 };

static int read_idrs(struct uiommu_smmuv3_drv *drv)
{
	unsigned int oas_enc;
	int err;

	err = rd32(drv, SMMU_IDR0, &drv->idr0);
	if (!err)
		err = rd32(drv, SMMU_IDR1, &drv->idr1);
	if (!err)
		err = rd32(drv, SMMU_IDR5, &drv->idr5);
	if (err)
		return uio_fail(-EFAULT, DRV_SUBSYS, "%s: ID registers unreadable",
				drv->name);
	/* 6.3.1: stage 1, AArch64 tables, little-endian walks */
	if (!UIO_FEX64(drv->idr0, IDR0, S1P) ||
	    !(UIO_FEX64(drv->idr0, IDR0, TTF) & IDR0_TTF_AARCH64) ||
	    UIO_FEX64(drv->idr0, IDR0, TTENDIAN) == 3 ||
	    !UIO_FEX64(drv->idr5, IDR5, GRAN4K))
		return uio_fail(-ENODEV, DRV_SUBSYS,
				"%s: IDR0 0x%x IDR5 0x%x: no stage 1 with "
				"AArch64 4K tables", drv->name, drv->idr0,
				drv->idr5);
	drv->coherent = UIO_FEX64(drv->idr0, IDR0, COHACC);
	drv->asid_bits = UIO_FEX64(drv->idr0, IDR0, ASID16) ? 16 : 8;
	drv->sid_bits = (unsigned int)UIO_FEX64(drv->idr1, IDR1, SIDSIZE);
	if (drv->opts.sid_bits && drv->opts.sid_bits < drv->sid_bits)
		drv->sid_bits = drv->opts.sid_bits;
	oas_enc = (unsigned int)UIO_FEX64(drv->idr5, IDR5, OAS);
	drv->oas = oas_bits[oas_enc > 6 ? 6 : oas_enc];
	if (drv->oas > uiommu_physmem_pa_bits(drv->pm))
		drv->oas = uiommu_physmem_pa_bits(drv->pm) < 32 ? 32 :
			   uiommu_physmem_pa_bits(drv->pm);
	drv->cmdq_log2 = (unsigned int)UIO_FEX64(drv->idr1, IDR1, CMDQS);
	drv->eventq_log2 = (unsigned int)UIO_FEX64(drv->idr1, IDR1, EVENTQS);
	if (drv->cmdq_log2 > (drv->opts.cmdq_log2 ? drv->opts.cmdq_log2 : 8))
		drv->cmdq_log2 = drv->opts.cmdq_log2 ? drv->opts.cmdq_log2 : 8;
	if (drv->eventq_log2 > (drv->opts.eventq_log2 ? drv->opts.eventq_log2 : 7))
		drv->eventq_log2 = drv->opts.eventq_log2 ? drv->opts.eventq_log2 : 7;
	/* 2-level when a linear table would pass 64 KiB, or on request */
	drv->two_level = UIO_FEX64(drv->idr0, IDR0, ST_LEVEL) == 1 &&
			 (drv->sid_bits > 10 || drv->opts.force_2lvl) &&
			 drv->sid_bits > STRTAB_SPLIT;
	return 0;
}

/* Stream table, queues, ASID map: everything probe allocates. */
static int alloc_structures(struct uiommu_smmuv3_drv *drv)
{
	int err;

	if (drv->two_level) {
		drv->nl1 = UIO_BIT(drv->sid_bits - STRTAB_SPLIT);
		drv->strtab_size = (uint64_t)drv->nl1 * 8;
		drv->l2 = uio_calloc(drv->nl1, sizeof(*drv->l2));
		if (!drv->l2)
			return -ENOMEM;
		drv->l2_users = uio_calloc(drv->nl1, sizeof(*drv->l2_users));
		if (!drv->l2_users)
			goto err_free_l2;
	} else {
		drv->strtab_size = (uint64_t)STE_SIZE << drv->sid_bits;
	}
	drv->asid_map = uio_calloc(UIO_BIT(drv->asid_bits) / 64, sizeof(uint64_t));
	if (!drv->asid_map)
		goto err_free_l2;
	/* ASID 0 is never handed out */
	drv->asid_map[0] = 1;
	err = pool_alloc(drv, drv->strtab_size, &drv->strtab);
	if (err)
		goto err_free_asids;
	err = pool_alloc(drv, (uint64_t)CMD_SIZE << drv->cmdq_log2, &drv->cmdq);
	if (err)
		goto err_free_strtab;
	err = pool_alloc(drv, (uint64_t)EVT_SIZE << drv->eventq_log2,
			 &drv->eventq);
	if (err)
		goto err_free_cmdq;
	return 0;

err_free_cmdq:
	pool_free(drv, drv->cmdq, (uint64_t)CMD_SIZE << drv->cmdq_log2);
err_free_strtab:
	pool_free(drv, drv->strtab, drv->strtab_size);
err_free_asids:
	uio_free_array(drv->asid_map, UIO_BIT(drv->asid_bits) / 64,
		       sizeof(uint64_t));
err_free_l2:
	if (drv->l2_users)
		uio_free_array(drv->l2_users, drv->nl1, sizeof(*drv->l2_users));
	if (drv->l2)
		uio_free_array(drv->l2, drv->nl1, sizeof(*drv->l2));
	return -ENOMEM;
}

static void free_structures(struct uiommu_smmuv3_drv *drv)
{
	uint32_t i;

	pool_free(drv, drv->eventq, (uint64_t)EVT_SIZE << drv->eventq_log2);
	pool_free(drv, drv->cmdq, (uint64_t)CMD_SIZE << drv->cmdq_log2);
	pool_free(drv, drv->strtab, drv->strtab_size);
	uio_free_array(drv->asid_map, UIO_BIT(drv->asid_bits) / 64,
		       sizeof(uint64_t));
	if (drv->l2) {
		for (i = 0; i < drv->nl1; i++)
			if (drv->l2[i])
				pool_free(drv, drv->l2[i], l2_size());
		uio_free_array(drv->l2, drv->nl1, sizeof(*drv->l2));
		uio_free_array(drv->l2_users, drv->nl1, sizeof(*drv->l2_users));
	}
}

/* The enable sequence of 6.3.9 / 3.5: tables, queues, invalidate, enable. */
static int hw_enable(struct uiommu_smmuv3_drv *drv)
{
	uint32_t cr0 = 0;
	uint64_t v;
	int err;

	/* Disable first: a previous owner may have left it running. */
	err = write_ack(drv, SMMU_CR0, SMMU_CR0ACK, 0);
	if (!err && !drv->two_level)
		err = stes_abort(drv, drv->strtab, UIO_BIT(drv->sid_bits));
	v = UIO_FDP64(0, CR1, QUEUE_IC, CR1_CACHE_WB);
	v = UIO_FDP64(v, CR1, QUEUE_OC, CR1_CACHE_WB);
	v = UIO_FDP64(v, CR1, QUEUE_SH, CR1_SH_ISH);
	v = UIO_FDP64(v, CR1, TABLE_IC, CR1_CACHE_WB);
	v = UIO_FDP64(v, CR1, TABLE_OC, CR1_CACHE_WB);
	v = UIO_FDP64(v, CR1, TABLE_SH, CR1_SH_ISH);
	if (!err)
		err = wr32(drv, SMMU_CR1, v);
	/* Record invalid StreamIDs; private TLB maintenance (no BTM) */
	if (!err)
		err = wr32(drv, SMMU_CR2, CR2_RECINVSID_MASK | CR2_PTM_MASK);
	if (!err)
		err = wr64(drv, SMMU_STRTAB_BASE,
			   UIO_FDP64(UIO_FDP64(0, STRTAB_BASE, ADDR,
					       drv->strtab >> STRTAB_BASE_ADDR_SHIFT),
				     STRTAB_BASE, RA, 1));
	v = UIO_FDP64(0, STRTAB_BASE_CFG, LOG2SIZE, drv->sid_bits);
	if (drv->two_level) {
		v = UIO_FDP64(v, STRTAB_BASE_CFG, FMT, STRTAB_FMT_2LVL);
		v = UIO_FDP64(v, STRTAB_BASE_CFG, SPLIT, STRTAB_SPLIT);
	}
	if (!err)
		err = wr32(drv, SMMU_STRTAB_BASE_CFG, v);
	v = UIO_FDP64(0, Q_BASE, LOG2SIZE, drv->cmdq_log2);
	v = UIO_FDP64(v, Q_BASE, ADDR, drv->cmdq >> Q_BASE_ADDR_SHIFT);
	if (!err)
		err = wr64(drv, SMMU_CMDQ_BASE, UIO_FDP64(v, Q_BASE, RA, 1));
	if (!err)
		err = wr32(drv, SMMU_CMDQ_PROD, 0);
	if (!err)
		err = wr32(drv, SMMU_CMDQ_CONS, 0);
	drv->cmdq_prod = 0;
	v = UIO_FDP64(0, Q_BASE, LOG2SIZE, drv->eventq_log2);
	v = UIO_FDP64(v, Q_BASE, ADDR, drv->eventq >> Q_BASE_ADDR_SHIFT);
	if (!err)
		err = wr64(drv, SMMU_EVENTQ_BASE, UIO_FDP64(v, Q_BASE, RA, 1));
	if (!err)
		err = wr32(drv, SMMU_EVENTQ_PROD, 0);
	if (!err)
		err = wr32(drv, SMMU_EVENTQ_CONS, 0);
	cr0 = (uint32_t)CR0_CMDQEN_MASK;
	if (!err)
		err = write_ack(drv, SMMU_CR0, SMMU_CR0ACK, cr0);
	if (!err) {
		/* 4.3.2 CFGI_ALL = CFGI_STE_RANGE with Range 31 */
		struct cmd inv[3] = {
			{ { CMD_CFGI_STE_RANGE, UIO_FDP64(0, CMD1, RANGE, 31) } },
			{ { CMD_TLBI_NH_ALL, 0 } },
			{ { CMD_TLBI_NSNH_ALL, 0 } },
		};

		err = cmdq_issue(drv, inv, 3);
	}
	cr0 |= (uint32_t)CR0_EVENTQEN_MASK;
	if (!err)
		err = write_ack(drv, SMMU_CR0, SMMU_CR0ACK, cr0);
	if (!err)
		err = write_ack(drv, SMMU_IRQ_CTRL, SMMU_IRQ_CTRLACK,
				(uint32_t)(IRQ_CTRL_GERROR_IRQEN_MASK |
					   IRQ_CTRL_EVENTQ_IRQEN_MASK));
	cr0 |= (uint32_t)CR0_SMMUEN_MASK;
	if (!err)
		err = write_ack(drv, SMMU_CR0, SMMU_CR0ACK, cr0);
	return err;
}

static void hw_disable(struct uiommu_smmuv3_drv *drv)
{
	if (write_ack(drv, SMMU_CR0, SMMU_CR0ACK, 0) ||
	    write_ack(drv, SMMU_IRQ_CTRL, SMMU_IRQ_CTRLACK, 0))
		uio_err(DRV_SUBSYS, "%s: could not disable the SMMU", drv->name);
}

static void drv_free(struct uiommu_smmuv3_drv *drv)
{
	uio_mutex_destroy(&drv->gerror_lock);
	uio_mutex_destroy(&drv->evtq_lock);
	uio_mutex_destroy(&drv->cmdq_lock);
	uio_mutex_destroy(&drv->lock);
	uio_free_str(drv->name);
	uio_delete(drv);
}

UIOMMU_API int
uiommu_smmuv3_drv_probe(struct uiommu_physmem *pm, struct uiommu_phys_pool *pool,
			uint64_t base, const struct uiommu_smmuv3_drv_options *opts,
			struct uiommu_smmuv3_drv **out)
{
	struct uiommu_iommu_desc desc = { 0 };
	struct uiommu_smmuv3_drv *drv;
	char name[40];
	int err;

	if (!pm || !pool || !out || uiommu_phys_pool_physmem(pool) != pm)
		return uio_fail(-EINVAL, DRV_SUBSYS,
				"probe needs physmem, its pool and out");
	if (opts && (opts->cmdq_log2 > 19 || opts->eventq_log2 > 19 ||
		     opts->sid_bits > 24))
		return uio_fail(-EINVAL, DRV_SUBSYS,
				"queue size 2^%u / 2^%u or sid_bits %u out of range",
				opts->cmdq_log2, opts->eventq_log2, opts->sid_bits);
	if (base & 0xffff)
		return uio_fail(-EINVAL, DRV_SUBSYS,
				"base 0x%" PRIx64 " not 64 KiB aligned", base);
	drv = uio_new(struct uiommu_smmuv3_drv);
	if (!drv)
		return -ENOMEM;
	drv->pm = pm;
	drv->pool = pool;
	drv->base = base;
	if (opts)
		drv->opts = *opts;
	snprintf(name, sizeof(name), "smmuv3@%" PRIx64, base);
	drv->name = uio_strdup(drv->opts.name ? drv->opts.name : name);
	drv->opts.name = NULL;
	uio_mutex_init(&drv->lock);
	uio_mutex_init(&drv->cmdq_lock);
	uio_mutex_init(&drv->evtq_lock);
	uio_mutex_init(&drv->gerror_lock);
	if (!drv->name) {
		err = -ENOMEM;
		goto err_free_drv;
	}
	err = read_idrs(drv);
	if (err)
		goto err_free_drv;
	err = alloc_structures(drv);
	if (err)
		goto err_free_drv;
	desc.name = drv->name;
	desc.ops = &sd_iommu_ops;
	desc.driver_data = drv;
	desc.default_domain = drv->opts.identity_default ?
			      UIOMMU_DOMAIN_IDENTITY : UIOMMU_DOMAIN_DMA;
	desc.physmem = pm;
	err = uiommu_iommu_register(&desc, &drv->iommu);
	if (err)
		goto err_free_structures;
	err = hw_enable(drv);
	if (err)
		goto err_unregister;
	uio_info(DRV_SUBSYS, "%s: %u-bit StreamIDs (%s stream table), %u-bit "
		 "ASIDs, %u-bit OAS, queues 2^%u/2^%u", drv->name, drv->sid_bits,
		 drv->two_level ? "2-level" : "linear", drv->asid_bits, drv->oas,
		 drv->cmdq_log2, drv->eventq_log2);
	*out = drv;
	return 0;

err_unregister:
	hw_disable(drv);
	if (uiommu_iommu_unregister(drv->iommu))
		assert(0);	/* no device can exist yet */
err_free_structures:
	free_structures(drv);
err_free_drv:
	drv_free(drv);
	return err;
}

UIOMMU_API int uiommu_smmuv3_drv_remove(struct uiommu_smmuv3_drv *drv)
{
	int err;

	if (!drv)
		return 0;
	err = uiommu_iommu_unregister(drv->iommu);
	if (err)
		return err;
	hw_disable(drv);
	free_structures(drv);
	drv_free(drv);
	return 0;
}

UIOMMU_API struct uiommu_iommu *
uiommu_smmuv3_drv_iommu(struct uiommu_smmuv3_drv *drv)
{
	return drv->iommu;
}

UIOMMU_API void uiommu_smmuv3_drv_get_stats(struct uiommu_smmuv3_drv *drv,
					    struct uiommu_smmuv3_drv_stats *st)
{
	uio_lock(&drv->lock);
	drv->st.asids = drv->nasids;
	*st = drv->st;
	uio_unlock(&drv->lock);
}

/* ------------------------------------------------------------ invariants */

/* The STEs of @m's StreamIDs say what its domain says. */
static int check_master(struct uiommu_smmuv3_drv *drv, struct smmu_master *m)
{
	const uint32_t *ids;
	unsigned int nids, i;
	uint64_t ste[8];

	uio_assert_held(&drv->lock);
	ste_build(__atomic_load_n(&m->domain, __ATOMIC_ACQUIRE), ste);
	ids = uiommu_device_ids(m->dev, &nids);
	for (i = 0; i < nids; i++) {
		uint64_t a = ste_addr(drv, ids[i]);

		if (!a || ram_ld(drv, a) != ste[0] || ram_ld(drv, a + 8) != ste[1])
			return uio_fail(-EUCLEAN, DRV_SUBSYS,
					"%s: STE of StreamID 0x%x does not "
					"match its domain", drv->name, ids[i]);
		if (drv->two_level && !drv->l2_users[ids[i] >> STRTAB_SPLIT])
			return uio_fail(-EUCLEAN, DRV_SUBSYS,
					"%s: level-2 table of StreamID 0x%x "
					"has no users", drv->name, ids[i]);
	}
	return 0;
}

UIOMMU_API int uiommu_smmuv3_drv_check(struct uiommu_smmuv3_drv *drv)
{
	uint32_t cr0, ack, cons, ge, gen;
	unsigned int used = 0, i;
	struct smmu_master *m;
	int err = 0;

	if (rd32(drv, SMMU_CR0, &cr0) || rd32(drv, SMMU_CR0ACK, &ack) ||
	    rd32(drv, SMMU_CMDQ_CONS, &cons) || rd32(drv, SMMU_GERROR, &ge) ||
	    rd32(drv, SMMU_GERRORN, &gen))
		return uio_fail(-EUCLEAN, DRV_SUBSYS, "%s: registers unreadable",
				drv->name);
	if (cr0 != ack || !(cr0 & CR0_SMMUEN_MASK))
		return uio_fail(-EUCLEAN, DRV_SUBSYS, "%s: CR0 0x%x CR0ACK 0x%x",
				drv->name, cr0, ack);
	uio_lock(&drv->lock);
	uio_lock(&drv->cmdq_lock);
	if ((cons & q_mask(drv->cmdq_log2)) != drv->cmdq_prod ||
	    ((ge ^ gen) & GERROR_CMDQ_ERR_MASK))
		err = uio_fail(-EUCLEAN, DRV_SUBSYS,
			       "%s: command queue CONS 0x%x PROD 0x%x GERROR "
			       "0x%x/0x%x", drv->name, cons, drv->cmdq_prod,
			       ge, gen);
	uio_unlock(&drv->cmdq_lock);
	for (i = 0; i < UIO_BIT(drv->asid_bits) / 64; i++)
		used += (unsigned int)__builtin_popcountll(drv->asid_map[i]);
	if (!err && used != drv->nasids + 1)
		err = uio_fail(-EUCLEAN, DRV_SUBSYS, "%s: %u ASIDs in the "
			       "bitmap, %u counted", drv->name, used - 1,
			       drv->nasids);
	for (m = drv->masters; m && !err; m = m->next)
		err = check_master(drv, m);
	uio_unlock(&drv->lock);
	return err;
}

/* ------------------------------------------------------------ test hooks */

struct uiommu_pgtable *uio_smmuv3_drv_domain_pgtable(struct uiommu_domain *dom)
{
	return to_sd(dom)->pt;
}

unsigned int uio_smmuv3_drv_domain_asid(struct uiommu_domain *dom)
{
	return to_sd(dom)->asid;
}

int uio_smmuv3_drv_tlbi_va(struct uiommu_domain *dom, uint64_t iova)
{
	struct smmu_domain *d = to_sd(dom);
	struct cmd c = cmd_tlbi_va(d->asid, iova, true);

	stat_add(&d->drv->st.tlbi_va, 1);
	return cmdq_issue(d->drv, &c, 1);
}
