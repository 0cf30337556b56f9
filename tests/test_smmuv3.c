// SPDX-License-Identifier: MIT
/*
 * Register-level tests of the SMMUv3 model: everything is programmed as a
 * driver would, through MMIO registers and structures in emulated RAM
 * (tests/smmuv3_testdrv.c), and checked through registers, RAM (event
 * records, MSIs) and the translation entry point.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "smmuv3_testdrv.h"
#include "smmuv3-internal.h"

#define VA	 UINT64_C(0x0000123456789000)
#define ASID	 7
#define VMID	 3

static struct td *td_new(const struct td_config *cfg)
{
	struct td *td = calloc(1, sizeof(*td));

	assert_non_null(td);
	assert_int_equal(td_init(td, cfg), 0);
	return td;
}

static void td_free(struct td *td)
{
	assert_int_equal(uiommu_smmuv3_check(td->smmu), 0);
	td_fini(td);
	free(td);
}

/* A stage-1 stream: STE -> CD -> 4-level table; returns the table. */
static struct td_pt s1_stream(struct td *td, uint32_t sid, uint64_t *cd_out)
{
	struct td_pt pt;
	uint64_t cd = td_alloc(td, 4096);

	assert_int_equal(td_pt_init(td, &pt, false), 0);
	td_write_cd(td, cd, ASID, pt.root);
	td_ste_s1(td, sid, cd, 0);
	if (cd_out)
		*cd_out = cd;
	return pt;
}

static uint64_t ev_type(const uint64_t ev[4])
{
	return UIO_FEX64(ev[0], EVT0, TYPE);
}

/* ---------------------------------------------------------- registers */

static void test_reset_values(void **state)
{
	struct uiommu_physmem *pm;
	struct uiommu_smmuv3 *smmu;
	struct td td;
	uint64_t v;

	(void)state;
	assert_int_equal(uiommu_physmem_create(48, &pm), 0);
	assert_int_equal(uiommu_smmuv3_create(pm, TD_SMMU_BASE, NULL, &smmu), 0);
	memset(&td, 0, sizeof(td));
	td.pm = pm;
	v = td_rd32(&td, SMMU_IDR0);
	assert_int_equal(UIO_FEX64(v, IDR0, S1P), 1);
	assert_int_equal(UIO_FEX64(v, IDR0, S2P), 1);
	assert_int_equal(UIO_FEX64(v, IDR0, TTF), IDR0_TTF_AARCH64);
	assert_int_equal(UIO_FEX64(v, IDR0, HTTU), 0);
	assert_int_equal(UIO_FEX64(v, IDR0, ST_LEVEL), 1);
	assert_int_equal(UIO_FEX64(v, IDR0, STALL_MODEL), IDR0_STALL_NONE);
	assert_int_equal(UIO_FEX64(v, IDR0, MSI), 1);
	assert_int_equal(UIO_FEX64(v, IDR0, ATS), 0);
	assert_int_equal(UIO_FEX64(v, IDR0, PRI), 0);
	v = td_rd32(&td, SMMU_IDR1);
	assert_int_equal(UIO_FEX64(v, IDR1, SIDSIZE), 16);
	assert_int_equal(UIO_FEX64(v, IDR1, SSIDSIZE), 8);
	assert_int_equal(UIO_FEX64(v, IDR1, CMDQS), 19);
	assert_int_equal(UIO_FEX64(v, IDR1, EVENTQS), 19);
	v = td_rd32(&td, SMMU_IDR5);
	assert_int_equal(UIO_FEX64(v, IDR5, OAS), 5);
	assert_int_equal(UIO_FEX64(v, IDR5, GRAN4K), 1);
	assert_int_equal(td_rd32(&td, SMMU_AIDR), 0);
	assert_int_equal(td_rd32(&td, SMMU_CR0), 0);
	assert_int_equal(td_rd32(&td, SMMU_CR0ACK), 0);
	assert_int_equal(td_rd32(&td, SMMU_GBPA), GBPA_RESET);
	assert_int_equal(td_rd32(&td, SMMU_GERROR), 0);
	assert_int_equal(td_rd32(&td, SMMU_GERRORN), 0);
	assert_int_equal(td_rd32(&td, SMMU_IRQ_CTRLACK), 0);
	assert_int_equal(td_rd32(&td, SMMU_CMDQ_PROD), 0);
	assert_int_equal(td_rd32(&td, SMMU_CMDQ_CONS), 0);
	assert_int_equal(td_rd32(&td, SMMU_EVENTQ_PROD), 0);

	/* Read-only and reserved bits are honoured. */
	tu_log_capture(UIOMMU_LOG_WARN);
	td_wr32(&td, SMMU_IDR0, 0);
	assert_int_not_equal(td_rd32(&td, SMMU_IDR0), 0);
	td_wr32(&td, SMMU_CR0, 0xffffffff);
	assert_int_equal(td_rd32(&td, SMMU_CR0), CR0_SMMUEN_MASK |
			 CR0_EVENTQEN_MASK | CR0_CMDQEN_MASK);
	td_wr32(&td, SMMU_CR0, 0);
	td_wr64(&td, SMMU_STRTAB_BASE, ~UINT64_C(0));
	assert_true(td_rd64(&td, SMMU_STRTAB_BASE) ==
		    (STRTAB_BASE_ADDR_MASK | STRTAB_BASE_RA_MASK));
	/* 32-bit halves of a 64-bit register */
	td_wr32(&td, SMMU_STRTAB_BASE + 4, 0);
	td_wr32(&td, SMMU_STRTAB_BASE, 0x40001040);
	assert_true(td_rd64(&td, SMMU_STRTAB_BASE) == 0x40001040);
	assert_int_equal(td_rd32(&td, SMMU_STRTAB_BASE + 4), 0);
	/* EVENTQ_PROD/CONS live in page 1 only */
	td_wr32(&td, SMMU_EVENTQ_BASE, 0x40000000 | 4);
	td_wr32(&td, SMMU_EVENTQ_CONS, 3);
	assert_int_equal(td_rd32(&td, SMMU_EVENTQ_CONS), 3);
	assert_int_equal(td_rd32(&td, SMMU_EVENTQ_CONS - SMMU_PAGE1), 0);
	td_wr32(&td, SMMU_GERROR, 1);
	assert_int_equal(td_rd32(&td, SMMU_GERROR), 0);
	assert_non_null(strstr(tu_log_text(), "read-only"));
	tu_log_release();

	assert_int_equal(uiommu_smmuv3_check(smmu), 0);
	uiommu_smmuv3_destroy(smmu);
	uiommu_physmem_destroy(pm);
}

static void test_create_rejects_bad_options(void **state)
{
	struct uiommu_smmuv3_options o;
	struct uiommu_physmem *pm;
	struct uiommu_smmuv3 *smmu = NULL;

	(void)state;
	assert_int_equal(uiommu_physmem_create(48, &pm), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_smmuv3_create(pm, TD_SMMU_BASE + 0x1000, NULL,
					      &smmu), -EINVAL);
	uiommu_smmuv3_default_options(&o);
	o.sid_bits = 0;
	assert_int_equal(uiommu_smmuv3_create(pm, TD_SMMU_BASE, &o, &smmu), -EINVAL);
	uiommu_smmuv3_default_options(&o);
	o.tlb_entries = 1000;
	assert_int_equal(uiommu_smmuv3_create(pm, TD_SMMU_BASE, &o, &smmu), -EINVAL);
	uiommu_smmuv3_default_options(&o);
	o.oas_bits = 47;
	assert_int_equal(uiommu_smmuv3_create(pm, TD_SMMU_BASE, &o, &smmu), -EINVAL);
	assert_non_null(strstr(tu_log_text(), "oas_bits 47"));
	tu_log_release();
	assert_null(smmu);
	uiommu_physmem_destroy(pm);
}

static struct uiommu_physmem *sweep_pm;

static int sweep_create(void *ctx)
{
	struct uiommu_smmuv3 *smmu;
	int err = uiommu_smmuv3_create(sweep_pm, TD_SMMU_BASE, NULL, &smmu);

	(void)ctx;
	if (!err)
		uiommu_smmuv3_destroy(smmu);
	return err;
}

static void sweep_check(void *ctx, int ret)
{
	struct uiommu_region_info info;

	(void)ctx;
	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(uiommu_physmem_lookup(sweep_pm, TD_SMMU_BASE, &info),
			 -EFAULT);
}

static void test_create_fail_nth(void **state)
{
	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	tu_alloc_install(0);
	assert_int_equal(uiommu_physmem_create(48, &sweep_pm), 0);
	assert_true(tu_fail_nth_sweep(NULL, sweep_create, sweep_check, NULL) >= 1);
	uiommu_physmem_destroy(sweep_pm);
	/* physmem may keep retired region tables until it is destroyed */
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
	tu_log_release();
}

static void test_enable_handshake(void **state)
{
	struct td_config cfg = { .no_enable = true };
	struct td *td = td_new(&cfg);
	uint32_t en = (uint32_t)(CR0_SMMUEN_MASK | CR0_CMDQEN_MASK |
				 CR0_EVENTQEN_MASK);

	(void)state;
	assert_int_equal(td_rd32(td, SMMU_CR0ACK), 0);
	td_wr32(td, SMMU_CR0, en);
	assert_int_equal(td_rd32(td, SMMU_CR0ACK), en);
	assert_int_equal(td_rd32(td, SMMU_IRQ_CTRLACK), td_rd32(td, SMMU_IRQ_CTRL));
	/* Guarded registers ignore writes while their unit is enabled. */
	tu_log_capture(UIOMMU_LOG_WARN);
	td_wr64(td, SMMU_STRTAB_BASE, 0x50000000);
	td_wr64(td, SMMU_CMDQ_BASE, 0x50000000);
	td_wr32(td, SMMU_CR2, 0);
	assert_true(td_rd64(td, SMMU_STRTAB_BASE) == td->strtab);
	assert_true(td_rd64(td, SMMU_CMDQ_BASE) == (td->cmdq | td->cmdq_log2));
	assert_int_equal(td_rd32(td, SMMU_CR2), CR2_RECINVSID_MASK);
	assert_non_null(strstr(tu_log_text(), "STRTAB_BASE while enabled"));
	tu_log_release();
	td_wr32(td, SMMU_CR0, 0);
	assert_int_equal(td_rd32(td, SMMU_CR0ACK), 0);
	td_wr64(td, SMMU_STRTAB_BASE, 0x50000000);
	assert_true(td_rd64(td, SMMU_STRTAB_BASE) == 0x50000000);
	td_free(td);
}

static void test_gbpa_update_and_global_bypass(void **state)
{
	struct td_config cfg = { .no_enable = true };
	struct td *td = td_new(&cfg);
	struct uiommu_smmuv3_fault f;
	uint64_t pa;

	(void)state;
	assert_int_equal(td_xlate(td, 1, 0x40001000, 0, &pa, &f), 0);
	assert_true(pa == 0x40001000);
	tu_log_capture(UIOMMU_LOG_WARN);
	td_wr32(td, SMMU_GBPA, (uint32_t)GBPA_ABORT_MASK);	/* no Update */
	assert_non_null(strstr(tu_log_text(), "without Update"));
	tu_log_release();
	assert_int_equal(td_rd32(td, SMMU_GBPA), GBPA_RESET);
	td_wr32(td, SMMU_GBPA, (uint32_t)(GBPA_ABORT_MASK | GBPA_UPDATE_MASK));
	assert_int_equal(td_rd32(td, SMMU_GBPA), GBPA_ABORT_MASK);
	assert_int_equal(td_xlate(td, 1, 0x40001000, 0, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_NONE);
	assert_false(f.recorded);
	td_free(td);
}

/* ------------------------------------------------------ command queue */

static void test_cmdq_wraparound(void **state)
{
	struct td_config cfg = { .cmdq_log2 = 2 };
	struct td *td = td_new(&cfg);
	struct uiommu_smmuv3_stats st0, st1;
	uint32_t cons;

	(void)state;
	uiommu_smmuv3_get_stats(td->smmu, &st0);
	for (unsigned int i = 0; i < 11; i++)
		assert_int_equal(td_sync(td), 0);
	cons = td_rd32(td, SMMU_CMDQ_CONS);
	/* 4 entries: index bits [1:0], wrap bit [2] */
	assert_int_equal(cons, td_rd32(td, SMMU_CMDQ_PROD));
	uiommu_smmuv3_get_stats(td->smmu, &st1);
	assert_int_equal(st1.commands - st0.commands, 11);
	assert_int_equal((cons & 3), (st1.commands) & 3);
	assert_int_equal((cons >> 2) & 1, (st1.commands >> 2) & 1);

	/* A batch of three commands across the wrap, published at once. */
	{
		uint32_t prod = td_rd32(td, SMMU_CMDQ_PROD);

		for (unsigned int i = 0; i < 3; i++) {
			uint64_t slot = td->cmdq + ((prod + i) & 3) * CMD_SIZE;

			td_st(td, slot, CMD_SYNC);
			td_st(td, slot + 8, 0);
		}
		td_wr32(td, SMMU_CMDQ_PROD, (prod + 3) & 7);
		assert_int_equal(td_rd32(td, SMMU_CMDQ_CONS), (prod + 3) & 7);
	}
	td_free(td);
}

static void test_cmdq_cerror_ill_and_gerror(void **state)
{
	struct td *td = td_new(NULL);
	uint32_t prod = td_rd32(td, SMMU_CMDQ_PROD), cons, gerror;
	uint64_t slot = td->cmdq + (prod & 255) * CMD_SIZE;
	unsigned int irqs = td->gerror_irqs;

	(void)state;
	/* An unknown opcode followed by a CMD_SYNC */
	td_st(td, slot, 0x7f);
	td_st(td, slot + 8, 0);
	td_st(td, slot + 16, CMD_SYNC);
	td_st(td, slot + 24, 0);
	tu_log_capture(UIOMMU_LOG_WARN);
	td_wr32(td, SMMU_CMDQ_PROD, prod + 2);
	assert_non_null(strstr(tu_log_text(), "CERROR_ILL"));
	tu_log_release();
	cons = td_rd32(td, SMMU_CMDQ_CONS);
	assert_int_equal(cons & 0x1ff, prod);
	assert_int_equal(UIO_FEX64(cons, CMDQ_CONS, ERR), CERROR_ILL);
	gerror = td_rd32(td, SMMU_GERROR);
	assert_int_equal((gerror ^ td_rd32(td, SMMU_GERRORN)) &
			 GERROR_CMDQ_ERR_MASK, GERROR_CMDQ_ERR_MASK);
	assert_int_equal(td->gerror_irqs, irqs + 1);
	/* Stays stopped until acknowledged, even on new PROD writes. */
	td_wr32(td, SMMU_CMDQ_PROD, prod + 2);
	assert_int_equal(td_rd32(td, SMMU_CMDQ_CONS) & 0x1ff, prod);
	/* The driver replaces the bad command and acknowledges. */
	td_st(td, slot, CMD_SYNC);
	td_wr32(td, SMMU_GERRORN, gerror);
	assert_int_equal(td_rd32(td, SMMU_CMDQ_CONS) & 0x1ff, prod + 2);
	assert_int_equal(td_rd32(td, SMMU_GERROR) ^ td_rd32(td, SMMU_GERRORN), 0);

	/* Other illegal commands: reserved CMD_SYNC.CS, no ATS, no stalls. */
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(td_cmd(td, UIO_FDP64(CMD_SYNC, CMD0, SYNC_CS, 3), 0),
			 CERROR_ILL);
	td_st(td, td->cmdq + (td_rd32(td, SMMU_CMDQ_CONS) & 255) * CMD_SIZE, CMD_SYNC);
	td_wr32(td, SMMU_GERRORN, td_rd32(td, SMMU_GERROR));
	assert_int_equal(td_cmd(td, CMD_ATC_INV, 0), CERROR_ILL);
	td_st(td, td->cmdq + (td_rd32(td, SMMU_CMDQ_CONS) & 255) * CMD_SIZE, CMD_SYNC);
	td_wr32(td, SMMU_GERRORN, td_rd32(td, SMMU_GERROR));
	assert_int_equal(td_cmd(td, CMD_RESUME, 0), CERROR_ILL);
	td_st(td, td->cmdq + (td_rd32(td, SMMU_CMDQ_CONS) & 255) * CMD_SIZE, CMD_SYNC);
	td_wr32(td, SMMU_GERRORN, td_rd32(td, SMMU_GERROR));
	tu_log_release();
	/* every legal command is consumed */
	assert_int_equal(td_cmd(td, UIO_FDP64(CMD_PREFETCH_CONFIG, CMD0, SID, 1), 0), 0);
	assert_int_equal(td_cmd(td, CMD_CFGI_CD_ALL, 0), 0);
	assert_int_equal(td_cmd(td, CMD_CFGI_CD, 0), 0);
	assert_int_equal(td_cmd(td, CMD_TLBI_EL2_ALL, 0), 0);
	assert_int_equal(td_cmd(td, CMD_TLBI_NH_VAA, 0), 0);
	assert_int_equal(td_cmd(td, CMD_PREFETCH_ADDR, 0), 0);
	assert_int_equal(td_tlbi_s12_vmall(td, 1), 0);
	assert_int_equal(td_tlbi_s2_ipa(td, 1, 0x1000), 0);
	assert_int_equal(td_sync(td), 0);
	td_free(td);
}

static void test_cmd_sync_msi_abort(void **state)
{
	struct td *td = td_new(NULL);
	uint64_t c1 = UIO_FDP64(0, CMD1, SYNC_MSIADDR,
				UINT64_C(0x7000000000) >> CMD1_SYNC_MSIADDR_SHIFT);

	(void)state;
	tu_log_capture(UIOMMU_LOG_WARN);
	/* The MSI goes nowhere: the sync completes, GERROR.MSI_CMDQ_ABT_ERR */
	assert_int_equal(td_cmd(td, UIO_FDP64(CMD_SYNC, CMD0, SYNC_CS,
					      CMD_SYNC_SIG_IRQ), c1), 0);
	tu_log_release();
	assert_int_equal(td_rd32(td, SMMU_GERROR) & GERROR_MSI_CMDQ_ABT_ERR_MASK,
			 GERROR_MSI_CMDQ_ABT_ERR_MASK);
	td_free(td);
}

/* -------------------------------------------------------- translation */

static void test_s1_translation(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt pt = s1_stream(td, 5, NULL);
	struct uiommu_smmuv3_stats st;
	uint64_t data = td_alloc(td, 4096), pa;

	(void)state;
	assert_int_equal(td_map(td, &pt, VA, data, TD_R | TD_W), 0);
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	assert_int_equal(td_xlate(td, 5, VA + 0x123, 0, &pa, NULL), 0);
	assert_true(pa == data + 0x123);
	assert_int_equal(td_xlate(td, 5, VA + 0x8, UIOMMU_SMMUV3_ACC_WRITE, &pa,
				  NULL), 0);
	assert_true(pa == data + 0x8);
	uiommu_smmuv3_get_stats(td->smmu, &st);
	assert_int_equal(st.tlb_misses, 1);
	assert_int_equal(st.tlb_hits, 1);
	assert_int_equal(st.cfg_misses, 1);
	assert_int_equal(st.cfg_hits, 1);
	assert_int_equal(st.faults, 0);

	/* a 2 MiB block */
	assert_int_equal(td_map(td, &pt, UINT64_C(0x200000), 0x40200000,
				TD_R | TD_BLOCK), 0);
	assert_int_equal(td_xlate(td, 5, 0x2abcd0, 0, &pa, NULL), 0);
	assert_true(pa == 0x402abcd0);
	td_free(td);
}

static void test_forgotten_tlbi_leaves_stale_translation(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt pt = s1_stream(td, 5, NULL);
	uint64_t p0 = td_alloc(td, 4096), p1 = td_alloc(td, 4096), pa;

	(void)state;
	td_map(td, &pt, VA, p0, TD_R | TD_W);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), 0);
	assert_true(pa == p0);
	/* The driver remaps the page but forgets the TLBI. */
	td_map(td, &pt, VA, p1, TD_R | TD_W);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), 0);
	assert_true(pa == p0);
	/* Wrong invalidations: other ASID, other VA, other VMID. */
	assert_int_equal(td_tlbi_nh_va(td, 0, ASID + 1, VA), 0);
	assert_int_equal(td_tlbi_nh_va(td, 0, ASID, VA + 0x1000), 0);
	assert_int_equal(td_tlbi_nh_asid(td, 1, ASID), 0);
	assert_int_equal(td_tlbi_s12_vmall(td, 1), 0);
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	assert_int_equal(td_sync(td), 0);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), 0);
	assert_true(pa == p0);
	/* The right one. */
	assert_int_equal(td_tlbi_nh_va(td, 0, ASID, VA + 0x800), 0);
	assert_int_equal(td_sync(td), 0);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), 0);
	assert_true(pa == p1);
	/* TLBI_NH_ASID and TLBI_NH_ALL work as well */
	td_map(td, &pt, VA, p0, TD_R | TD_W);
	assert_int_equal(td_tlbi_nh_asid(td, 0, ASID), 0);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), 0);
	assert_true(pa == p0);
	td_map(td, &pt, VA, p1, TD_R | TD_W);
	assert_int_equal(td_tlbi_nh_all(td, 0), 0);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), 0);
	assert_true(pa == p1);

	/* The same for the configuration cache: STE changed, no CFGI. */
	td_ste_simple(td, 5, STE_CFG_ABORT);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), 0);
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), -EFAULT);
	td_free(td);
}

static void test_cfgi_range_cd_and_prefetch(void **state)
{
	struct td *td = td_new(NULL);
	struct uiommu_smmuv3_stats st0, st1;
	uint64_t pa, cd;

	(void)state;
	for (uint32_t sid = 0x10; sid < 0x18; sid++) {
		td_ste_simple(td, sid, STE_CFG_BYPASS);
		assert_int_equal(td_xlate(td, sid, 0x40000000, 0, &pa, NULL), 0);
	}
	uiommu_smmuv3_get_stats(td->smmu, &st0);
	/* Range 1: 2^2 StreamIDs aligned, 0x14..0x17 */
	assert_int_equal(td_cmd(td, UIO_FDP64(CMD_CFGI_STE_RANGE, CMD0, SID, 0x15),
				UIO_FDP64(0, CMD1, RANGE, 1)), 0);
	uiommu_smmuv3_get_stats(td->smmu, &st1);
	assert_int_equal(st1.cfg_invalidated - st0.cfg_invalidated, 4);
	/* CFGI_CD of the stream's CD drops its combined entry */
	s1_stream(td, 0x20, &cd);
	(void)td_xlate(td, 0x20, VA, 0, &pa, NULL);
	st0 = st1;
	assert_int_equal(td_cmd(td, UIO_FDP64(CMD_CFGI_CD, CMD0, SID, 0x20), 0), 0);
	uiommu_smmuv3_get_stats(td->smmu, &st1);
	assert_int_equal(st1.cfg_invalidated - st0.cfg_invalidated, 1);
	/* PREFETCH_CONFIG fills the cache: the next lookup hits */
	td_ste_simple(td, 0x30, STE_CFG_BYPASS);
	assert_int_equal(td_cmd(td, UIO_FDP64(CMD_PREFETCH_CONFIG, CMD0, SID, 0x30),
				0), 0);
	uiommu_smmuv3_get_stats(td->smmu, &st0);
	assert_int_equal(td_xlate(td, 0x30, 0x40000000, 0, &pa, NULL), 0);
	uiommu_smmuv3_get_stats(td->smmu, &st1);
	assert_int_equal(st1.cfg_misses, st0.cfg_misses);
	assert_int_equal(st1.cfg_hits, st0.cfg_hits + 1);
	td_free(td);
}

/* Fault with an event: check the record's common and stage fields. */
static void expect_event(struct td *td, uint8_t type, uint32_t sid,
			 uint64_t input, unsigned int s2, unsigned int cls,
			 bool rnw)
{
	uint64_t ev[4];

	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), type);
	assert_int_equal(UIO_FEX64(ev[0], EVT0, SID), sid);
	if (type >= UIOMMU_SMMUV3_EVT_F_TRANSLATION ||
	    type == UIOMMU_SMMUV3_EVT_F_WALK_EABT) {
		assert_true(ev[2] == input);
		assert_int_equal(UIO_FEX64(ev[1], EVT1, S2), s2);
		assert_int_equal(UIO_FEX64(ev[1], EVT1, CLASS), cls);
		assert_int_equal(UIO_FEX64(ev[1], EVT1, RNW), rnw);
	}
}

static void test_fault_events(void **state)
{
	struct td *td = td_new(NULL);
	uint64_t cd, ste[8], data = td_alloc(td, 4096), pa, ev[4];
	struct td_pt pt = s1_stream(td, 5, &cd);
	struct uiommu_smmuv3_fault f;
	unsigned int irqs = td->event_irqs;

	(void)state;
	tu_log_capture(UIOMMU_LOG_WARN);
	/* F_TRANSLATION: nothing mapped */
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_true(f.recorded);
	assert_int_equal(f.stage, 1);
	expect_event(td, UIOMMU_SMMUV3_EVT_F_TRANSLATION, 5, VA, 0,
		     UIOMMU_SMMUV3_CLASS_IN, true);
	assert_int_equal(td->event_irqs, irqs + 1);

	/* F_PERMISSION: write to a read-only page, from a cached entry too */
	td_map(td, &pt, VA, data, TD_R);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, &f), 0);
	assert_int_equal(td_xlate(td, 5, VA + 4, UIOMMU_SMMUV3_ACC_WRITE, &pa, &f),
			 -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_PERMISSION);
	expect_event(td, UIOMMU_SMMUV3_EVT_F_PERMISSION, 5, VA + 4, 0,
		     UIOMMU_SMMUV3_CLASS_IN, false);
	/* an instruction fetch from a never-execute page */
	assert_int_equal(td_xlate(td, 5, VA, UIOMMU_SMMUV3_ACC_EXEC |
				  UIOMMU_SMMUV3_ACC_PRIV, &pa, &f), -EFAULT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_PERMISSION);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, IND), 1);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, PNU), 1);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, RNW), 1);
	/* unprivileged access to a privileged-only page */
	td_map(td, &pt, VA + 0x3000, data, TD_R | TD_PRIVONLY);
	assert_int_equal(td_xlate(td, 5, VA + 0x3000, UIOMMU_SMMUV3_ACC_PRIV,
				  &pa, &f), 0);
	assert_int_equal(td_xlate(td, 5, VA + 0x3000, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_F_PERMISSION, 5, VA + 0x3000, 0,
		     UIOMMU_SMMUV3_CLASS_IN, true);

	/* F_ACCESS: AF clear */
	td_map(td, &pt, VA + 0x1000, data, TD_R | TD_NOAF);
	assert_int_equal(td_xlate(td, 5, VA + 0x1000, 0, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_ACCESS);
	assert_int_equal(f.level, 3);
	expect_event(td, UIOMMU_SMMUV3_EVT_F_ACCESS, 5, VA + 0x1000, 0,
		     UIOMMU_SMMUV3_CLASS_IN, true);

	/* F_ADDR_SIZE: output beyond a 32-bit CD.IPS */
	td_map(td, &pt, VA + 0x2000, UINT64_C(0x100000000), TD_R);
	td_st(td, cd, UIO_FDP64(td_ld(td, cd), CD0, IPS, 0));
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	assert_int_equal(td_xlate(td, 5, VA + 0x2000, 0, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_ADDR_SIZE);
	expect_event(td, UIOMMU_SMMUV3_EVT_F_ADDR_SIZE, 5, VA + 0x2000, 0,
		     UIOMMU_SMMUV3_CLASS_IN, true);
	td_st(td, cd, UIO_FDP64(td_ld(td, cd), CD0, IPS, 5));
	assert_int_equal(td_cfgi_ste(td, 5), 0);

	/* F_WALK_EABT: a table pointer into a hole */
	td_st(td, pt.root + ((VA + UIO_BIT(39)) >> 39 & 511) * 8,
	      UINT64_C(0x7000000000) | 3);
	assert_int_equal(td_xlate(td, 5, VA + UIO_BIT(39), 0, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_WALK_EABT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_WALK_EABT);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, CLASS), UIOMMU_SMMUV3_CLASS_TT);
	assert_true((UIO_FEX64(ev[3], EVT3, FETCH_ADDR) << 3) ==
		    UINT64_C(0x7000000000) + ((VA >> 30) & 511) * 8);

	/* F_WALK_EABT too: a table pointer at the SMMU's own registers (the
	 * walk reads RAM only; reading them would wait on the SMMU's lock). */
	{
		uint64_t regs = uiommu_smmuv3_base(td->smmu);

		td_st(td, pt.root + ((VA + UIO_BIT(39)) >> 39 & 511) * 8,
		      regs | 3);
		assert_int_equal(td_xlate(td, 5, VA + UIO_BIT(39), 0, &pa, &f),
				 -EFAULT);
		assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_WALK_EABT);
		assert_int_equal(td_read_event(td, ev), 0);
		assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_WALK_EABT);
		assert_true((UIO_FEX64(ev[3], EVT3, FETCH_ADDR) << 3) ==
			    regs + ((VA >> 30) & 511) * 8);
	}

	/* CD.EPD0 = 1 (T0SZ left 0): TTB0 walks disabled, F_TRANSLATION */
	td_st(td, cd, UIO_FDP64(UIO_FDP64(td_ld(td, cd), CD0, EPD0, 1), CD0, T0SZ, 0));
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	td_map(td, &pt, VA + 0x6000, data, TD_R);
	assert_int_equal(td_xlate(td, 5, VA + 0x6000, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_F_TRANSLATION, 5, VA + 0x6000, 0,
		     UIOMMU_SMMUV3_CLASS_IN, true);
	td_st(td, cd, UIO_FDP64(UIO_FDP64(td_ld(td, cd), CD0, EPD0, 0), CD0, T0SZ, 16));
	assert_int_equal(td_cfgi_ste(td, 5), 0);

	/* CD.R = 0: the fault is not recorded but still returned */
	td_st(td, cd, UIO_FDP64(td_ld(td, cd), CD0, R, 0));
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	assert_int_equal(td_xlate(td, 5, VA + 0x5000, 0, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_false(f.recorded);
	assert_int_equal(td_read_event(td, ev), -ENOENT);
	/* CD.A = 0: RAZ/WI termination */
	td_st(td, cd, UIO_FDP64(td_ld(td, cd), CD0, A, 0));
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	assert_int_equal(td_xlate(td, 5, VA + 0x5000, 0, &pa, &f), -EFAULT);
	assert_false(f.abort);

	/* C_BAD_CD: V = 0, then HA = 1 (no HTTU) */
	td_st(td, cd, UIO_FDP64(td_ld(td, cd), CD0, V, 0));
	assert_int_equal(td_cfgi_ste(td, 5), 0);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_C_BAD_CD, 5, 0, 0, 0, 0);
	td_st(td, cd, UIO_FDP64(UIO_FDP64(td_ld(td, cd), CD0, V, 1), CD0, HA, 1));
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_C_BAD_CD, 5, 0, 0, 0, 0);

	/* F_CD_FETCH: S1ContextPtr into a hole */
	td_ste_s1(td, 6, UINT64_C(0x7000000000), 0);
	assert_int_equal(td_xlate(td, 6, VA, 0, &pa, &f), -EFAULT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_CD_FETCH);
	assert_true((UIO_FEX64(ev[3], EVT3, FETCH_ADDR) << 3) == UINT64_C(0x7000000000));

	/* C_BAD_STE: V = 0, reserved Config */
	assert_int_equal(td_xlate(td, 9, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_C_BAD_STE, 9, 0, 0, 0, 0);
	td_ste_simple(td, 9, 1);
	assert_int_equal(td_xlate(td, 9, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_C_BAD_STE, 9, 0, 0, 0, 0);

	/* C_BAD_STREAMID: beyond STRTAB_BASE_CFG.LOG2SIZE (8) */
	assert_int_equal(td_xlate(td, 256, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID, 256, 0, 0, 0, 0);

	/* F_STREAM_DISABLED: substreams enabled, S1DSS terminate, no SSID;
	 * C_BAD_SUBSTREAMID: SSID beyond S1CDMax */
	memset(ste, 0, sizeof(ste));
	ste[0] = UIO_FDP64(UIO_FDP64(0, STE0, V, 1), STE0, CONFIG, STE_CFG_S1);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CONTEXTPTR, cd >> STE0_S1CONTEXTPTR_SHIFT);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CDMAX, 1);
	td_write_ste(td, 10, ste);
	assert_int_equal(td_xlate(td, 10, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_F_STREAM_DISABLED, 10, 0, 0, 0, 0);
	{
		struct uiommu_smmuv3_txn t = { .sid = 10, .ssid = 2, .ssv = true,
					       .iova = VA, .size = 4 };

		assert_int_equal(uiommu_smmuv3_translate(td->smmu, &t, &pa, &f),
				 -EFAULT);
		assert_int_equal(td_read_event(td, ev), 0);
		assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID);
		assert_int_equal(UIO_FEX64(ev[0], EVT0, SSV), 1);
		assert_int_equal(UIO_FEX64(ev[0], EVT0, SSID), 2);
	}
	tu_log_release();
	assert_int_equal(td_read_event(td, ev), -ENOENT);
	td_free(td);
}

static void test_eventq_overflow(void **state)
{
	struct td_config cfg = { .eventq_log2 = 1 };
	struct td *td = td_new(&cfg);
	struct uiommu_smmuv3_stats st;
	struct uiommu_smmuv3_fault f;
	uint64_t pa, ev[4];
	uint32_t prod;

	(void)state;
	s1_stream(td, 5, NULL);
	for (unsigned int i = 0; i < 5; i++)
		assert_int_equal(td_xlate(td, 5, VA + i * 0x1000, 0, &pa, &f),
				 -EFAULT);
	assert_true(f.lost);
	prod = td_rd32(td, SMMU_EVENTQ_PROD);
	assert_int_equal(UIO_FEX64(prod, EVENTQ_PROD, OVFLG), 1);
	assert_int_equal(prod & 3, 2);	/* index 0, wrap 1 */
	uiommu_smmuv3_get_stats(td->smmu, &st);
	assert_int_equal(st.events_written, 2);
	assert_int_equal(st.events_lost, 3);
	/* the two oldest records are intact */
	assert_int_equal(td_read_event(td, ev), 0);
	assert_true(ev[2] == VA);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_true(ev[2] == VA + 0x1000);
	assert_int_equal(td_read_event(td, ev), -ENOENT);
	/* acknowledge the overflow; recording resumes */
	td_wr32(td, SMMU_EVENTQ_CONS, td_rd32(td, SMMU_EVENTQ_CONS) |
		(uint32_t)EVENTQ_CONS_OVACKFLG_MASK);
	assert_int_equal(td_xlate(td, 5, VA + 0x9000, 0, &pa, &f), -EFAULT);
	assert_true(f.recorded);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_true(ev[2] == VA + 0x9000);
	/* an event queue that is off loses events without overflow */
	td_wr32(td, SMMU_CR0, (uint32_t)(CR0_SMMUEN_MASK | CR0_CMDQEN_MASK));
	assert_int_equal(td_xlate(td, 5, VA + 0xa000, 0, &pa, &f), -EFAULT);
	assert_true(f.lost);
	td_free(td);
}

static void test_eventq_irq_as_msi(void **state)
{
	struct td *td = td_new(NULL);
	uint64_t msi = td_alloc(td, 4096), pa;
	unsigned int wired = td->event_irqs;

	(void)state;
	s1_stream(td, 5, NULL);
	/* IRQ_CFG registers are RO while the interrupt is enabled */
	tu_log_capture(UIOMMU_LOG_WARN);
	td_wr64(td, SMMU_EVENTQ_IRQ_CFG0, msi);
	tu_log_release();
	assert_true(td_rd64(td, SMMU_EVENTQ_IRQ_CFG0) == 0);
	td_wr32(td, SMMU_IRQ_CTRL, 0);
	td_wr64(td, SMMU_EVENTQ_IRQ_CFG0, msi);
	td_wr32(td, SMMU_EVENTQ_IRQ_CFG1, 0xabcd);
	td_wr32(td, SMMU_IRQ_CTRL, (uint32_t)IRQ_CTRL_EVENTQ_IRQEN_MASK);
	assert_int_equal(td_rd32(td, SMMU_IRQ_CTRLACK), IRQ_CTRL_EVENTQ_IRQEN_MASK);
	assert_int_equal(td_xlate(td, 5, VA, 0, &pa, NULL), -EFAULT);
	assert_int_equal(td_ld(td, msi), 0xabcd);
	assert_int_equal(td->event_irqs, wired);
	td_free(td);
}

static void test_bypass_and_abort_configs(void **state)
{
	struct td *td = td_new(NULL);
	struct uiommu_smmuv3_fault f;
	uint64_t pa, ev[4];

	(void)state;
	td_ste_simple(td, 1, STE_CFG_BYPASS);
	td_ste_simple(td, 2, STE_CFG_ABORT);
	assert_int_equal(td_xlate(td, 1, 0x40005000, UIOMMU_SMMUV3_ACC_WRITE, &pa,
				  &f), 0);
	assert_true(pa == 0x40005000);
	assert_int_equal(td_xlate(td, 2, 0x40005000, 0, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_NONE);
	assert_true(f.abort);
	assert_int_equal(td_read_event(td, ev), -ENOENT);
	td_free(td);
}

/* Nested: the guest's stage 1 (tables and CD at IPAs) through stage 2. */
#define IPA_OFF UINT64_C(0x100000000)

static void test_nested_translation(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt s1, s2;
	uint64_t cd, data = td_alloc(td, 4096), pa, ev[4];
	uint64_t data_ipa = UINT64_C(0x20000000);
	struct uiommu_smmuv3_fault f;

	(void)state;
	assert_int_equal(td_pt_init(td, &s2, true), 0);
	assert_int_equal(td_pt_init_arena(td, &s1, IPA_OFF), 0);
	/* stage 2: the stage-1 arena and one data page */
	td_map(td, &s2, s1.root + IPA_OFF, s1.root, TD_R | TD_W | TD_BLOCK);
	td_map(td, &s2, data_ipa, data, TD_R | TD_W);
	cd = s1.arena;
	s1.arena += 4096;
	td_write_cd(td, cd, ASID, s1.root + IPA_OFF);
	td_map(td, &s1, VA, data_ipa, TD_R | TD_W);
	td_ste_nested(td, 4, cd + IPA_OFF, &s2, VMID);
	assert_int_equal(td_xlate(td, 4, VA + 0x10, 0, &pa, &f), 0);
	assert_true(pa == data + 0x10);

	/* stage 2 fault on the output IPA: S2 = 1, CLASS = IN, IPA given */
	td_map(td, &s1, VA + 0x1000, data_ipa + 0x1000, TD_R);
	assert_int_equal(td_xlate(td, 4, VA + 0x1000, 0, &pa, &f), -EFAULT);
	assert_int_equal(f.stage, 2);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, S2), 1);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, CLASS), UIOMMU_SMMUV3_CLASS_IN);
	assert_true((UIO_FEX64(ev[3], EVT3, IPA) << 12) == data_ipa + 0x1000);

	/* stage 2 fault on a stage-1 table fetch: CLASS = TT */
	td_st(td, s1.root + ((VA + UIO_BIT(39)) >> 39 & 511) * 8,
	      (UINT64_C(0x30000000)) | 3);
	assert_int_equal(td_xlate(td, 4, VA + UIO_BIT(39), 0, &pa, &f), -EFAULT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, S2), 1);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, CLASS), UIOMMU_SMMUV3_CLASS_TT);
	assert_true((UIO_FEX64(ev[3], EVT3, IPA) << 12) == 0x30000000);

	/* stage 2 write protection seen through the combined entry */
	td_map(td, &s2, data_ipa, data, TD_R);
	assert_int_equal(td_xlate(td, 4, VA, UIOMMU_SMMUV3_ACC_WRITE, &pa, &f), 0);
	assert_int_equal(td_tlbi_s12_vmall(td, VMID), 0);
	assert_int_equal(td_xlate(td, 4, VA, UIOMMU_SMMUV3_ACC_WRITE, &pa, &f),
			 -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_PERMISSION);
	assert_int_equal(f.stage, 2);
	assert_true(f.ipa == data_ipa);
	td_free(td);
}

static void test_s2_only_and_tlbi_s2_ipa(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt s2;
	uint64_t p0 = td_alloc(td, 4096), p1 = td_alloc(td, 4096), pa;
	uint64_t ipa = UINT64_C(0x12345000);

	(void)state;
	td_pt_init(td, &s2, true);
	td_map(td, &s2, ipa, p0, TD_R | TD_W);
	td_ste_s2(td, 3, &s2, VMID);
	assert_int_equal(td_xlate(td, 3, ipa + 8, 0, &pa, NULL), 0);
	assert_true(pa == p0 + 8);
	td_map(td, &s2, ipa, p1, TD_R | TD_W);
	assert_int_equal(td_tlbi_s2_ipa(td, VMID + 1, ipa), 0);
	assert_int_equal(td_xlate(td, 3, ipa + 8, 0, &pa, NULL), 0);
	assert_true(pa == p0 + 8);
	assert_int_equal(td_tlbi_s2_ipa(td, VMID, ipa), 0);
	assert_int_equal(td_xlate(td, 3, ipa + 8, 0, &pa, NULL), 0);
	assert_true(pa == p1 + 8);
	/* an IPA beyond S2T0SZ (39 bits) is a stage 2 translation fault */
	{
		struct uiommu_smmuv3_fault f;

		assert_int_equal(td_xlate(td, 3, UIO_BIT(40), 0, &pa, &f), -EFAULT);
		assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
		assert_int_equal(f.stage, 2);
	}
	td_free(td);
}

static void test_two_level_stream_table(void **state)
{
	struct td_config cfg = { .sid_bits = 16, .two_level = true };
	struct td *td = td_new(&cfg);
	struct td_pt pt = s1_stream(td, 0x1234, NULL);
	uint64_t data = td_alloc(td, 4096), pa, ev[4];
	struct uiommu_smmuv3_fault f;

	(void)state;
	td_map(td, &pt, VA, data, TD_R);
	assert_int_equal(td_xlate(td, 0x1234, VA, 0, &pa, &f), 0);
	assert_true(pa == data);
	/* an L1 descriptor with Span 0 */
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(td_xlate(td, 0x4321, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID, 0x4321, 0, 0, 0, 0);
	/* Span 1 covers only StreamID 0 of its group */
	td_st(td, td->strtab + (0x4321 >> 6) * 8,
	      UIO_FDP64(UIO_FDP64(0, L1STD, SPAN, 1), L1STD, L2PTR,
			data >> L1STD_L2PTR_SHIFT));
	assert_int_equal(td_xlate(td, 0x4321, VA, 0, &pa, &f), -EFAULT);
	expect_event(td, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID, 0x4321, 0, 0, 0, 0);
	/* an L2 pointer into a hole */
	td_st(td, td->strtab + (0x4321 >> 6) * 8,
	      UIO_FDP64(UIO_FDP64(0, L1STD, SPAN, 7), L1STD, L2PTR,
			UINT64_C(0x7000000000) >> L1STD_L2PTR_SHIFT));
	assert_int_equal(td_xlate(td, 0x4321, VA, 0, &pa, &f), -EFAULT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_STE_FETCH);
	assert_true((UIO_FEX64(ev[3], EVT3, FETCH_ADDR) << 3) ==
		    UINT64_C(0x7000000000) + (0x4321 & 63) * 64);
	/* an L2 pointer at the SMMU's own registers: not memory, an abort */
	td_st(td, td->strtab + (0x4321 >> 6) * 8,
	      UIO_FDP64(UIO_FDP64(0, L1STD, SPAN, 7), L1STD, L2PTR,
			TD_SMMU_BASE >> L1STD_L2PTR_SHIFT));
	assert_int_equal(td_xlate(td, 0x4321, VA, 0, &pa, &f), -EFAULT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_STE_FETCH);
	assert_true((UIO_FEX64(ev[3], EVT3, FETCH_ADDR) << 3) ==
		    TD_SMMU_BASE + (0x4321 & 63) * 64);
	tu_log_release();
	td_free(td);
}

/* ------------------------------------------------------------ threads */

struct thr {
	struct td *td;
	uint64_t p[2];
	unsigned int gen;	/* published by the driver after TLBI + SYNC */
	unsigned int writing;	/* generation whose PTE is being written */
	bool stop;
	unsigned long bad, done;
};

/*
 * Once generation g is published (PTE written, TLBI + CMD_SYNC done), a
 * translation must return p[g & 1] unless the driver has started writing
 * generation g + 1: a stale TLB entry surviving the TLBI would show here.
 */
static void *device_thread(void *arg)
{
	struct thr *t = arg;

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		unsigned int g = __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
		uint64_t pa = 0;
		int err = td_xlate(t->td, 5, VA, 0, &pa, NULL);

		/* A seq_cst read-modify-write orders the translation before the
		 * read of 'writing' (and, unlike a fence, TSan models it). */
		if (err || (__atomic_fetch_add(&t->writing, 0, __ATOMIC_SEQ_CST) <= g &&
			    pa != t->p[g & 1]))
			__atomic_fetch_add(&t->bad, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&t->done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_threads_translate_while_driver_invalidates(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt pt = s1_stream(td, 5, NULL);
	struct thr t = { .td = td };
	pthread_t th[2];
	struct uiommu_smmuv3_stats st;

	(void)state;
	t.p[0] = td_alloc(td, 4096);
	t.p[1] = td_alloc(td, 4096);
	td_map(td, &pt, VA, t.p[0], TD_R | TD_W);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, device_thread, &t), 0);
	for (unsigned int g = 1; g <= 500; g++) {
		(void)__atomic_exchange_n(&t.writing, g, __ATOMIC_SEQ_CST);
		td_map(td, &pt, VA, t.p[g & 1], TD_R | TD_W);
		assert_int_equal(td_tlbi_nh_va(td, 0, ASID, VA), 0);
		if (g % 16 == 0)
			assert_int_equal(td_cfgi_ste(td, 5), 0);
		assert_int_equal(td_sync(td), 0);
		__atomic_store_n(&t.gen, g, __ATOMIC_RELEASE);
		/* let the devices translate a few times in the quiet window */
		for (unsigned long d = __atomic_load_n(&t.done, __ATOMIC_RELAXED);
		     __atomic_load_n(&t.done, __ATOMIC_RELAXED) < d + 4;)
			sched_yield();
	}
	__atomic_store_n(&t.stop, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t.bad, 0);
	assert_true(t.done > 0);
	uiommu_smmuv3_get_stats(td->smmu, &st);
	assert_true(st.tlb_hits + st.tlb_misses >= t.done);
	assert_true(st.tlb_invalidated > 0);
	td_free(td);
}

/*
 * Configuration fetches and CMD_SYNC (4.7.2): once CFGI + CMD_SYNC
 * complete, the driver may free the stream-table or CD-table page it
 * replaced, so no translation may still be reading it.
 *
 * The old structure lives in "slow memory": an MMIO page that serves reads
 * from an array, and whose read of one chosen word (the first word of the
 * STE or CD) stalls until the page is poisoned, or for STALL_MS.  A device
 * thread's fetch stalls there; meanwhile the driver writes the new
 * structure, repoints to it, issues CFGI_STE + CMD_SYNC, then poisons the
 * old page (zeroes: V = 0).  If the sync does not wait for the fetch, the
 * stalled read returns the poison (C_BAD_STE / C_BAD_CD); if it does, the
 * stall times out before the poison and the fetch sees the old structure.
 */
#define SLOW_BASE UINT64_C(0x20000000)
#define STALL_MS 300

struct slow_mem {
	uint64_t w[512];
	uint64_t stall_off;	/* offset whose read stalls; UINT64_MAX: none */
	unsigned int entered, poisoned;
};

static int slow_read(void *opaque, uint64_t off, unsigned int size,
		     uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct slow_mem *m = opaque;

	(void)attrs;
	if (size != 8)
		return -EFAULT;	/* structures are fetched as whole words */
	if (off == __atomic_load_n(&m->stall_off, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&m->entered, 1, __ATOMIC_RELEASE);
		for (unsigned int i = 0; i < STALL_MS &&
		     !__atomic_load_n(&m->poisoned, __ATOMIC_ACQUIRE); i++)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	*val = __atomic_load_n(&m->w[off / 8], __ATOMIC_ACQUIRE);
	return 0;
}

static int slow_write(void *opaque, uint64_t off, unsigned int size,
		      uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct slow_mem *m = opaque;

	(void)attrs;
	if (size != 8)
		return -EFAULT;
	__atomic_store_n(&m->w[off / 8], val, __ATOMIC_RELEASE);
	return 0;
}

static void slow_add(struct td *td, struct slow_mem *m)
{
	static const struct uiommu_mmio_ops ops = { slow_read, slow_write };
	struct uiommu_mmio_desc d = {
		.name = "slow", .owner = "test", .size = 4096, .ops = &ops,
		.opaque = m,
	};

	memset(m, 0, sizeof(*m));
	m->stall_off = UINT64_MAX;
	assert_int_equal(uiommu_physmem_add_mmio(td->pm, SLOW_BASE, &d), 0);
}

struct fetch_race {
	struct td *td;
	uint32_t sid;
	uint64_t pa;
	int err;
	struct uiommu_smmuv3_fault f;
};

static void *fetch_race_device(void *arg)
{
	struct fetch_race *r = arg;

	r->err = td_xlate(r->td, r->sid, VA, 0, &r->pa, &r->f);
	return NULL;
}

/*
 * One race: a device thread fetches @sid's configuration and stalls at
 * slow-memory offset @stall_off; @swap repoints the stream away from the
 * slow page (ending with CFGI_STE + CMD_SYNC); the page is then poisoned.
 * The stalled translation must see the old or the new configuration, the
 * next one the new, and no configuration error may be recorded.
 */
static void fetch_race(struct td *td, struct slow_mem *m, uint32_t sid,
		       uint64_t stall_off, void (*swap)(struct td *td, void *arg),
		       void *arg, uint64_t pa_old, uint64_t pa_new)
{
	struct fetch_race r = { .td = td, .sid = sid };
	uint64_t pa, ev[4];
	pthread_t th;

	assert_int_equal(td_cfgi_ste(td, sid), 0);
	assert_int_equal(td_sync(td), 0);
	__atomic_store_n(&m->entered, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&m->poisoned, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&m->stall_off, stall_off, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&th, NULL, fetch_race_device, &r), 0);
	while (!__atomic_load_n(&m->entered, __ATOMIC_ACQUIRE))
		sched_yield();
	swap(td, arg);
	/* the driver frees the old page: here it scribbles zeroes on it */
	for (uint64_t off = 0; off < 4096; off += 8)
		td_st(td, SLOW_BASE + off, 0);
	__atomic_store_n(&m->poisoned, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	__atomic_store_n(&m->stall_off, UINT64_MAX, __ATOMIC_RELEASE);
	assert_int_equal(r.err, 0);
	assert_true(r.pa == pa_old || r.pa == pa_new);
	assert_int_equal(td_xlate(td, sid, VA, 0, &pa, NULL), 0);
	assert_true(pa == pa_new);
	assert_int_equal(td_read_event(td, ev), -ENOENT);
}

struct swap_ste {
	uint32_t sid;
	uint64_t cd_new;
};

/* New level-2 stream table: the old STE with the new CD, then the L1STD. */
static void swap_l2_table(struct td *td, void *arg)
{
	const struct swap_ste *a = arg;
	uint64_t l1 = td->strtab + (a->sid >> td->split) * 8;
	uint64_t l2 = td_alloc(td, 4096), ste[8];
	uint64_t slot = (a->sid & (UIO_BIT(td->split) - 1)) * 64;

	for (unsigned int i = 0; i < 8; i++)
		ste[i] = td_ld(td, SLOW_BASE + slot + i * 8);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CONTEXTPTR,
			   a->cd_new >> STE0_S1CONTEXTPTR_SHIFT);
	for (unsigned int i = 0; i < 8; i++)
		td_st(td, l2 + slot + i * 8, ste[i]);
	td_st(td, l1, UIO_FDP64(td_ld(td, l1), L1STD, L2PTR,
				l2 >> L1STD_L2PTR_SHIFT));
	assert_int_equal(td_cfgi_ste(td, a->sid), 0);
	assert_int_equal(td_sync(td), 0);
}

static void test_sync_waits_for_l2_stream_table_fetch(void **state)
{
	struct td_config cfg = { .sid_bits = 16, .two_level = true };
	struct td *td = td_new(&cfg);
	const uint32_t sid = 0x1234;
	uint64_t cd_old, slot = (sid & 63) * 64, l1;
	struct td_pt pt = s1_stream(td, sid, &cd_old), pt2;
	struct swap_ste a = { .sid = sid, .cd_new = td_alloc(td, 4096) };
	uint64_t p_old = td_alloc(td, 4096), p_new = td_alloc(td, 4096);
	struct slow_mem *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	td_map(td, &pt, VA, p_old, TD_R);
	assert_int_equal(td_pt_init(td, &pt2, false), 0);
	td_map(td, &pt2, VA, p_new, TD_R);
	td_write_cd(td, a.cd_new, ASID + 1, pt2.root);
	/* move the level-2 table that holds the STE into slow memory */
	slow_add(td, m);
	l1 = td->strtab + (sid >> td->split) * 8;
	for (unsigned int i = 0; i < 8; i++)
		td_st(td, SLOW_BASE + slot + i * 8, td_ld(td, td_ste_addr(td, sid) + i * 8));
	td_st(td, l1, UIO_FDP64(td_ld(td, l1), L1STD, L2PTR,
				SLOW_BASE >> L1STD_L2PTR_SHIFT));
	fetch_race(td, m, sid, slot, swap_l2_table, &a, p_old, p_new);
	td_free(td);
	free(m);
}

struct swap_cd {
	uint32_t sid;
	uint64_t cd_new;	/* PA, or IPA when nested */
	const struct td_pt *s2;	/* nested: the stage 2 tables */
};

/* New CD table: the STE's S1ContextPtr moves to it. */
static void swap_cd_table(struct td *td, void *arg)
{
	const struct swap_cd *a = arg;

	if (a->s2)
		td_ste_nested(td, a->sid, a->cd_new, a->s2, VMID);
	else
		td_ste_s1(td, a->sid, a->cd_new, 0);
	assert_int_equal(td_cfgi_ste(td, a->sid), 0);
	assert_int_equal(td_sync(td), 0);
}

static void test_sync_waits_for_cd_fetch(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt pt, pt2;
	struct swap_cd a = { .sid = 6, .cd_new = td_alloc(td, 4096) };
	uint64_t p_old = td_alloc(td, 4096), p_new = td_alloc(td, 4096);
	struct slow_mem *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	slow_add(td, m);
	assert_int_equal(td_pt_init(td, &pt, false), 0);
	td_map(td, &pt, VA, p_old, TD_R);
	assert_int_equal(td_pt_init(td, &pt2, false), 0);
	td_map(td, &pt2, VA, p_new, TD_R);
	td_write_cd(td, SLOW_BASE, ASID, pt.root);
	td_write_cd(td, a.cd_new, ASID + 1, pt2.root);
	td_ste_s1(td, a.sid, SLOW_BASE, 0);
	fetch_race(td, m, a.sid, 0, swap_cd_table, &a, p_old, p_new);
	td_free(td);
	free(m);
}

/* Nested: the CD is fetched through a stage 2 walk, inside the section. */
static void test_sync_waits_for_nested_cd_fetch(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt s1, s2;
	uint64_t data = td_alloc(td, 4096), data_ipa = UINT64_C(0x30000000);
	uint64_t cd_ipa = UINT64_C(0x31000000);
	struct swap_cd a = { .sid = 4, .s2 = &s2 };
	struct slow_mem *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	slow_add(td, m);
	assert_int_equal(td_pt_init(td, &s2, true), 0);
	assert_int_equal(td_pt_init_arena(td, &s1, IPA_OFF), 0);
	td_map(td, &s2, s1.root + IPA_OFF, s1.root, TD_R | TD_W | TD_BLOCK);
	td_map(td, &s2, data_ipa, data, TD_R | TD_W);
	td_map(td, &s2, cd_ipa, SLOW_BASE, TD_R | TD_W);
	td_map(td, &s1, VA, data_ipa, TD_R);
	td_write_cd(td, SLOW_BASE, ASID, s1.root + IPA_OFF);
	a.cd_new = s1.arena + IPA_OFF;
	td_write_cd(td, s1.arena, ASID + 1, s1.root + IPA_OFF);
	s1.arena += 4096;
	td_ste_nested(td, a.sid, cd_ipa, &s2, VMID);
	fetch_race(td, m, a.sid, 0, swap_cd_table, &a, data, data);
	td_free(td);
	free(m);
}

/*
 * An event raised by a configuration fetch reaches a handler that issues
 * CMD_SYNC from the translating thread: the event is raised after the
 * fetch section, so the sync does not wait for its own thread.
 */
static unsigned int hook_syncs;

static void sync_from_event_irq(struct td *td)
{
	assert_int_equal(td_sync(td), 0);
	hook_syncs++;
}

static void test_cmd_sync_from_fetch_event_handler(void **state)
{
	struct td *td = td_new(NULL);
	struct td_pt s1, s2;
	uint64_t pa, ev[4];

	(void)state;
	hook_syncs = 0;
	td->event_hook = sync_from_event_irq;
	tu_log_capture(UIOMMU_LOG_WARN);
	/* C_BAD_STE */
	td_ste_simple(td, 3, 1);	/* a reserved Config */
	assert_int_equal(td_xlate(td, 3, VA, 0, &pa, NULL), -EFAULT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_C_BAD_STE);
	/* nested: stage 2 fault fetching the CD (CLASS CD) */
	assert_int_equal(td_pt_init(td, &s2, true), 0);
	assert_int_equal(td_pt_init_arena(td, &s1, IPA_OFF), 0);
	td_ste_nested(td, 4, UINT64_C(0x31000000), &s2, VMID);
	assert_int_equal(td_xlate(td, 4, VA, 0, &pa, NULL), -EFAULT);
	assert_int_equal(td_read_event(td, ev), 0);
	assert_int_equal(ev_type(ev), UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(UIO_FEX64(ev[1], EVT1, CLASS), UIOMMU_SMMUV3_CLASS_CD);
	assert_int_equal(hook_syncs, 2);
	tu_log_release();
	td->event_hook = NULL;
	td_free(td);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_create_rejects_bad_options),
		cmocka_unit_test(test_create_fail_nth),
		cmocka_unit_test(test_enable_handshake),
		cmocka_unit_test(test_gbpa_update_and_global_bypass),
		cmocka_unit_test(test_cmdq_wraparound),
		cmocka_unit_test(test_cmdq_cerror_ill_and_gerror),
		cmocka_unit_test(test_cmd_sync_msi_abort),
		cmocka_unit_test(test_s1_translation),
		cmocka_unit_test(test_forgotten_tlbi_leaves_stale_translation),
		cmocka_unit_test(test_cfgi_range_cd_and_prefetch),
		cmocka_unit_test(test_fault_events),
		cmocka_unit_test(test_eventq_overflow),
		cmocka_unit_test(test_eventq_irq_as_msi),
		cmocka_unit_test(test_bypass_and_abort_configs),
		cmocka_unit_test(test_nested_translation),
		cmocka_unit_test(test_s2_only_and_tlbi_s2_ipa),
		cmocka_unit_test(test_two_level_stream_table),
		cmocka_unit_test(test_threads_translate_while_driver_invalidates),
		cmocka_unit_test(test_sync_waits_for_l2_stream_table_fetch),
		cmocka_unit_test(test_sync_waits_for_cd_fetch),
		cmocka_unit_test(test_sync_waits_for_nested_cd_fetch),
		cmocka_unit_test(test_cmd_sync_from_fetch_event_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
