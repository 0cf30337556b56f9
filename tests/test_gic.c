// SPDX-License-Identifier: MIT
/*
 * Tests of the GICv3 ITS and GICv2m models, driven as a driver would drive
 * them: MMIO register accesses, a command queue and tables in emulated RAM,
 * and device writes to the doorbells carrying the requester's source ID.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/gic.h>
#include <uiommu/physmem.h>

#include "bits.h"
#include "gic-its.h"
#include "gic-its-drv.h"
#include "gicv2m-drv.h"
#include "gicv2m.h"

#define RAM_BASE	UINT64_C(0x40000000)
#define RAM_SIZE	(UINT64_C(16) << 20)
#define ITS_BASE	UINT64_C(0x08080000)
#define V2M_BASE	UINT64_C(0x08020000)

#define CQ_PA		(RAM_BASE + 0x000000)	/* 4 KiB: 128 commands */
#define CQ_SIZE		UINT64_C(4096)
#define DT_PA		(RAM_BASE + 0x010000)	/* 64 KiB: 8192 devices */
#define DT_PAGES	16
#define CT_PA		(RAM_BASE + 0x020000)	/* 4 KiB: 512 collections */
#define L2_PA		(RAM_BASE + 0x030000)	/* a level 2 device page */
#define PROP_PA		(RAM_BASE + 0x040000)	/* LPI configuration, 64 KiB */
#define ITT_PA(d)	(RAM_BASE + 0x100000 + (uint64_t)(d) * 0x10000)

#define NR_CPUS		4
#define LPI(n)		(UIOMMU_GIC_FIRST_LPI + (n))

/* ------------------------------------------------------------- fixture */

struct rec {
	unsigned int cpu;
	uint32_t intid;
};

struct fx {
	struct uiommu_physmem *pm;
	struct uiommu_gic_its *its;
	struct uiommu_gic_its_config cfg;
	uint64_t cw;			/* next command slot */
	pthread_mutex_t rec_lock;
	struct rec recs[512];
	unsigned int nrecs;
};

static void record_irq(void *opaque, unsigned int cpu, uint32_t intid)
{
	struct fx *f = opaque;

	pthread_mutex_lock(&f->rec_lock);
	if (f->nrecs < UIO_ARRAY_SIZE(f->recs)) {
		f->recs[f->nrecs].cpu = cpu;
		f->recs[f->nrecs].intid = intid;
	}
	f->nrecs++;
	pthread_mutex_unlock(&f->rec_lock);
}

static void new_physmem(struct fx *f)
{
	assert_int_equal(uiommu_physmem_create(48, &f->pm), 0);
	assert_int_equal(uiommu_physmem_add_ram(f->pm, "ram", RAM_BASE, RAM_SIZE,
						NULL, NULL), 0);
}

static void its_st(struct fx *f, uint64_t off, unsigned int size, uint64_t v)
{
	assert_int_equal(uiommu_phys_st(f->pm, ITS_BASE + off, size, v, NULL), 0);
}

static uint64_t its_ld(struct fx *f, uint64_t off, unsigned int size)
{
	uint64_t v;

	assert_int_equal(uiommu_phys_ld(f->pm, ITS_BASE + off, size, &v, NULL), 0);
	return v;
}

static void ram_st(struct fx *f, uint64_t pa, unsigned int size, uint64_t v)
{
	assert_int_equal(uiommu_phys_st(f->pm, pa, size, v, NULL), 0);
}

static uint64_t baser(uint64_t type_reg, uint64_t pa, unsigned int pages,
		      bool indirect)
{
	uint64_t v = type_reg;

	v = UIO_FDP64(v, GITS_BASER, VALID, 1);
	v = UIO_FDP64(v, GITS_BASER, INDIRECT, indirect);
	v = UIO_FDP64(v, GITS_BASER, PAGE_SIZE, GITS_PAGE_4K);
	v = UIO_FDP64(v, GITS_BASER, PA, pa >> 12);
	v = UIO_FDP64(v, GITS_BASER, SIZE, pages - 1);
	return v;
}

/* Program tables and queue, then enable, as a driver's probe does. */
static void its_program(struct fx *f, bool indirect_dt)
{
	uint64_t cbaser = 0;

	its_st(f, GITS_BASER0, 8,
	       baser(its_ld(f, GITS_BASER0, 8), DT_PA,
		     indirect_dt ? 1 : DT_PAGES, indirect_dt));
	its_st(f, GITS_BASER0 + 8, 8,
	       baser(its_ld(f, GITS_BASER0 + 8, 8), CT_PA, 1, false));
	cbaser = UIO_FDP64(cbaser, GITS_CBASER, VALID, 1);
	cbaser = UIO_FDP64(cbaser, GITS_CBASER, PA, CQ_PA >> 12);
	cbaser = UIO_FDP64(cbaser, GITS_CBASER, SIZE, CQ_SIZE / 4096 - 1);
	its_st(f, GITS_CBASER, 8, cbaser);
	its_st(f, GITS_CWRITER, 8, 0);
	f->cw = 0;
	its_st(f, GITS_CTLR, 4, UIO_FDP64(0, GITS_CTLR, ENABLED, 1));
}

static void fx_setup_cfg(struct fx *f, const struct uiommu_gic_its_config *cfg)
{
	unsigned int cpu;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->rec_lock, NULL);
	new_physmem(f);
	f->cfg = *cfg;
	assert_int_equal(uiommu_gic_its_create(f->pm, cfg, &f->its), 0);
	for (cpu = 0; cpu < cfg->nr_cpus; cpu++)
		assert_int_equal(uiommu_gic_its_set_handler(f->its, cpu,
							    record_irq, f), 0);
}

static const struct uiommu_gic_its_config default_cfg = {
	.name = "its0",
	.base = ITS_BASE,
	.nr_cpus = NR_CPUS,
	.devid_bits = 16,
	.eventid_bits = 16,
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	fx_setup_cfg(f, &default_cfg);
	its_program(f, false);
	*state = f;
	return 0;
}

/* With an LPI configuration table in RAM: every LPI starts disabled. */
static int setup_prop(void **state)
{
	struct uiommu_gic_its_config cfg = default_cfg;
	struct fx *f = calloc(1, sizeof(*f));

	cfg.lpi_config_table = true;
	cfg.lpi_config_base = PROP_PA;
	fx_setup_cfg(f, &cfg);
	its_program(f, false);
	*state = f;
	return 0;
}

static int setup_skip(void **state)
{
	struct uiommu_gic_its_config cfg = default_cfg;
	struct fx *f = calloc(1, sizeof(*f));

	cfg.error_mode = UIOMMU_GIC_ITS_ERR_SKIP;
	fx_setup_cfg(f, &cfg);
	its_program(f, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(uiommu_gic_its_check(f->its), 0);
	uiommu_gic_its_destroy(f->its);
	uiommu_physmem_destroy(f->pm);
	pthread_mutex_destroy(&f->rec_lock);
	free(f);
	return 0;
}

/* ------------------------------------------------------------- commands */

struct cmd {
	uint64_t d[4];
};

static struct cmd c_mapd(uint32_t devid, uint64_t itt, unsigned int bits,
			 bool valid)
{
	struct cmd c = { { 0 } };

	c.d[0] = UIO_FDP64(GITS_CMD_MAPD, GITS_CMD0, DEVICEID, devid);
	c.d[1] = UIO_FDP64(0, GITS_CMD1, SIZE, bits - 1);
	c.d[2] = UIO_FDP64(0, GITS_CMD2, ITT_ADDR, itt >> 8);
	c.d[2] = UIO_FDP64(c.d[2], GITS_CMD2, VALID, valid);
	return c;
}

static struct cmd c_mapc(uint32_t icid, uint64_t cpu, bool valid)
{
	struct cmd c = { { GITS_CMD_MAPC } };

	c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, icid);
	c.d[2] = UIO_FDP64(c.d[2], GITS_CMD2, RDBASE, cpu);
	c.d[2] = UIO_FDP64(c.d[2], GITS_CMD2, VALID, valid);
	return c;
}

/* Commands naming (DeviceID, EventID): MOVI, DISCARD, INT, CLEAR, INV. */
static struct cmd c_ev(unsigned int op, uint32_t devid, uint32_t eventid)
{
	struct cmd c = { { 0 } };

	c.d[0] = UIO_FDP64(op, GITS_CMD0, DEVICEID, devid);
	c.d[1] = UIO_FDP64(0, GITS_CMD1, EVENTID, eventid);
	return c;
}

static struct cmd c_mapti(uint32_t devid, uint32_t eventid, uint64_t intid,
			  uint32_t icid)
{
	struct cmd c = c_ev(GITS_CMD_MAPTI, devid, eventid);

	c.d[1] = UIO_FDP64(c.d[1], GITS_CMD1, PINTID, intid);
	c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, icid);
	return c;
}

static struct cmd c_mapi(uint32_t devid, uint32_t eventid, uint32_t icid)
{
	struct cmd c = c_ev(GITS_CMD_MAPI, devid, eventid);

	c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, icid);
	return c;
}

static struct cmd c_movi(uint32_t devid, uint32_t eventid, uint32_t icid)
{
	struct cmd c = c_ev(GITS_CMD_MOVI, devid, eventid);

	c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, icid);
	return c;
}

static struct cmd c_invall(uint32_t icid)
{
	struct cmd c = { { GITS_CMD_INVALL } };

	c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, icid);
	return c;
}

static struct cmd c_sync(uint64_t cpu)
{
	struct cmd c = { { GITS_CMD_SYNC } };

	c.d[2] = UIO_FDP64(0, GITS_CMD2, RDBASE, cpu);
	return c;
}

static struct cmd c_movall(uint64_t from, uint64_t to)
{
	struct cmd c = { { GITS_CMD_MOVALL } };

	c.d[2] = UIO_FDP64(0, GITS_CMD2, RDBASE, from);
	c.d[3] = UIO_FDP64(0, GITS_CMD3, RDBASE2, to);
	return c;
}

/* Write a command into the next slot without publishing it. */
static void queue(struct fx *f, struct cmd c)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		ram_st(f, CQ_PA + f->cw + 8 * i, 8, c.d[i]);
	f->cw = (f->cw + GITS_CMD_SIZE) % CQ_SIZE;
}

static void publish(struct fx *f)
{
	its_st(f, GITS_CWRITER, 8, f->cw);
}

/* Issue one command and expect it to complete without error. */
static void run(struct fx *f, struct cmd c)
{
	queue(f, c);
	publish(f);
	assert_int_equal(its_ld(f, GITS_CREADR, 8), f->cw);
}

/* A device write of @eventid to GITS_TRANSLATER from requester @devid. */
static void msi(struct fx *f, uint32_t devid, uint32_t eventid)
{
	struct uiommu_memattrs a = {
		.source_id = devid, .flags = UIOMMU_MEMATTR_SOURCE_VALID,
	};

	assert_int_equal(uiommu_phys_st(f->pm, uiommu_gic_its_doorbell(f->its),
					4, eventid, &a), 0);
}

static struct uiommu_gic_its_stats stats(struct fx *f)
{
	struct uiommu_gic_its_stats st;

	uiommu_gic_its_get_stats(f->its, &st);
	return st;
}

/* Field by field: the struct has tail padding, which a copy need not
 * carry, so memcmp() of two copies can differ where no field does. */
static void assert_stats_equal(const struct uiommu_gic_its_stats *a,
			       const struct uiommu_gic_its_stats *b)
{
	unsigned int i;

	assert_int_equal(a->translations, b->translations);
	assert_int_equal(a->delivered, b->delivered);
	for (i = 0; i < UIOMMU_GIC_DROP_NR; i++)
		assert_int_equal(a->dropped[i], b->dropped[i]);
	assert_int_equal(a->commands, b->commands);
	assert_int_equal(a->command_errors, b->command_errors);
	assert_int_equal(a->ignored, b->ignored);
	assert_int_equal(a->last_error, b->last_error);
}

static void expect_irqs(struct fx *f, unsigned int n)
{
	assert_int_equal(f->nrecs, n);
}

static void expect_last(struct fx *f, unsigned int cpu, uint32_t intid)
{
	assert_true(f->nrecs > 0);
	assert_int_equal(f->recs[f->nrecs - 1].cpu, cpu);
	assert_int_equal(f->recs[f->nrecs - 1].intid, intid);
}

/* Device 5 with a 16-event ITT, collection 1 on CPU 2, event 3 -> LPI 8200. */
static void map_basic(struct fx *f)
{
	run(f, c_mapd(5, ITT_PA(5), 4, true));
	run(f, c_mapc(1, 2, true));
	run(f, c_mapti(5, 3, LPI(8), 1));
}

static void lpi_config(struct fx *f, uint32_t intid, bool enable)
{
	ram_st(f, PROP_PA + (intid - UIOMMU_GIC_FIRST_LPI), 1,
	       UIO_FDP64(0xa0, GIC_LPI_CFG, ENABLE, enable));
}

/* ------------------------------------------------------- ITS: registers */

static void test_its_registers_after_reset(void **state)
{
	struct uiommu_physmem *pm;
	struct uiommu_gic_its *its;
	uint64_t typer, v;
	struct fx f;

	(void)state;
	memset(&f, 0, sizeof(f));
	new_physmem(&f);
	pm = f.pm;
	assert_int_equal(uiommu_gic_its_create(pm, &default_cfg, &its), 0);
	f.its = its;
	typer = its_ld(&f, GITS_TYPER, 8);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, PHYSICAL), 1);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, VIRTUAL), 0);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, ITT_ENTRY_SIZE), 7);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, IDBITS), 15);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, DEVBITS), 15);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, PTA), 0);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, SEIS), 0);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, HCC), 0);
	assert_int_equal(UIO_FEX64(typer, GITS_TYPER, CIL), 0);
	/* 32-bit access to the upper half of a 64-bit register */
	assert_int_equal(its_ld(&f, GITS_TYPER + 4, 4), typer >> 32);
	v = its_ld(&f, GITS_CTLR, 4);
	assert_int_equal(UIO_FEX64(v, GITS_CTLR, ENABLED), 0);
	assert_int_equal(UIO_FEX64(v, GITS_CTLR, QUIESCENT), 1);
	assert_int_equal(UIO_FEX64(its_ld(&f, GITS_IIDR, 4), GITS_IIDR,
				   IMPLEMENTER), 0x43B);
	assert_int_equal(UIO_FEX64(its_ld(&f, GITS_PIDR2, 4), GITS_PIDR2,
				   ARCHREV), 3);
	v = its_ld(&f, GITS_BASER0, 8);
	assert_int_equal(UIO_FEX64(v, GITS_BASER, TYPE), GITS_BASER_TYPE_DEVICE);
	assert_int_equal(UIO_FEX64(v, GITS_BASER, ENTRY_SIZE), 7);
	v = its_ld(&f, GITS_BASER0 + 8, 8);
	assert_int_equal(UIO_FEX64(v, GITS_BASER, TYPE),
			 GITS_BASER_TYPE_COLLECTION);
	/* unimplemented GITS_BASER2: RAZ/WI; Type is read-only */
	its_st(&f, GITS_BASER0 + 16, 8, UINT64_MAX);
	assert_int_equal(its_ld(&f, GITS_BASER0 + 16, 8), 0);
	its_st(&f, GITS_BASER0, 8, 0);
	assert_int_equal(UIO_FEX64(its_ld(&f, GITS_BASER0, 8), GITS_BASER, TYPE),
			 GITS_BASER_TYPE_DEVICE);
	/* a 64K page table keeps PA[51:48] in bits [15:12] */
	v = UIO_FDP64(0, GITS_BASER, PAGE_SIZE, GITS_PAGE_64K);
	v = UIO_FDP64(v, GITS_BASER, PA, 0x123450);
	its_st(&f, GITS_BASER0, 8, v);
	assert_int_equal(UIO_FEX64(its_ld(&f, GITS_BASER0, 8), GITS_BASER, PA),
			 0x123450);
	assert_true(uiommu_gic_its_isolating(its));
	assert_int_equal(uiommu_gic_its_doorbell(its), ITS_BASE + 0x10040);
	assert_int_equal(uiommu_gic_its_check(its), 0);
	uiommu_gic_its_destroy(its);
	uiommu_physmem_destroy(pm);
}

static void test_its_frames_in_address_map(void **state)
{
	struct fx *f = *state;
	struct uiommu_region_info info;
	size_t i;
	bool found = false;

	assert_int_equal(uiommu_physmem_lookup(f->pm, ITS_BASE + 0x10040, &info), 0);
	assert_int_equal(info.kind, UIOMMU_REGION_MMIO);
	assert_int_equal(info.base, ITS_BASE + 0x10000);
	assert_int_equal(info.size, 0x10000);
	assert_true(info.doorbell);
	assert_string_equal(info.name, "its0.translater");
	for (i = 0; i < info.nregs; i++)
		if (!strcmp(info.regs[i].name, "GITS_TRANSLATER")) {
			assert_int_equal(info.regs[i].offset, 0x40);
			assert_int_equal(info.regs[i].size, 4);
			found = true;
		}
	assert_true(found);
	assert_int_equal(uiommu_physmem_lookup(f->pm, ITS_BASE, &info), 0);
	assert_false(info.doorbell);
	assert_int_equal(info.size, 0x10000);
	assert_string_equal(info.regs[0].name, "GITS_CTLR");
}

static void test_its_cbaser_only_while_disabled(void **state)
{
	struct fx *f = *state;
	uint64_t cbaser = its_ld(f, GITS_CBASER, 8);
	uint64_t ignored = stats(f).ignored;

	run(f, c_sync(0));
	/* enabled: GITS_CBASER and GITS_BASER<n> do not change */
	tu_log_capture(UIOMMU_LOG_WARN);
	its_st(f, GITS_CBASER, 8, 0);
	assert_int_equal(its_ld(f, GITS_CBASER, 8), cbaser);
	its_st(f, GITS_BASER0, 8, 0);
	assert_non_null(strstr(tu_log_text(), "GITS_CBASER ignored: ITS not quiescent"));
	tu_log_release();
	assert_int_equal(stats(f).ignored, ignored + 2);
	assert_true(UIO_FEX64(its_ld(f, GITS_BASER0, 8), GITS_BASER, VALID));
	/* disabled: a GITS_CBASER write resets GITS_CREADR */
	its_st(f, GITS_CTLR, 4, 0);
	assert_true(UIO_FEX64(its_ld(f, GITS_CTLR, 4), GITS_CTLR, QUIESCENT));
	assert_int_not_equal(its_ld(f, GITS_CREADR, 8), 0);
	its_st(f, GITS_CBASER, 8, cbaser);
	assert_int_equal(its_ld(f, GITS_CREADR, 8), 0);
}

/* -------------------------------------------------------- ITS: commands */

static void test_its_mapti_delivers_once_to_target_cpu(void **state)
{
	struct fx *f = *state;
	struct uiommu_gic_its_stats st;

	map_basic(f);
	expect_irqs(f, 0);
	msi(f, 5, 3);
	expect_irqs(f, 1);
	expect_last(f, 2, LPI(8));
	st = stats(f);
	assert_int_equal(st.translations, 1);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.command_errors, 0);
	assert_int_equal(st.commands, 3);
	/* another event of the same device goes to its own LPI */
	run(f, c_mapti(5, 4, LPI(9), 1));
	msi(f, 5, 4);
	expect_irqs(f, 2);
	expect_last(f, 2, LPI(9));
}

static void test_its_mapi_uses_eventid_as_lpi(void **state)
{
	struct fx *f = *state;

	run(f, c_mapd(9, ITT_PA(9), 14, true));
	run(f, c_mapc(0, 1, true));
	run(f, c_mapi(9, LPI(5), 0));
	msi(f, 9, LPI(5));
	expect_irqs(f, 1);
	expect_last(f, 1, LPI(5));
}

static void test_its_deviceid_comes_only_from_side_band(void **state)
{
	struct fx *f = *state;
	struct uiommu_memattrs none = { .source_id = 5, .flags = 0 };
	struct uiommu_gic_its_stats st;

	map_basic(f);
	tu_log_capture(UIOMMU_LOG_WARN);
	/* the DeviceID is not in the data: device 7 writing 5:3 hits nothing */
	msi(f, 7, (5u << 16) | 3);
	assert_int_equal(uiommu_phys_st(f->pm, uiommu_gic_its_doorbell(f->its),
					4, 3, &none), 0);
	assert_int_equal(uiommu_phys_st(f->pm, uiommu_gic_its_doorbell(f->its),
					4, 3, NULL), 0);
	tu_log_release();
	expect_irqs(f, 0);
	st = stats(f);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_DEVICE_UNMAPPED], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_NO_SOURCE], 2);
	assert_int_equal(st.translations, 0);
	/* a 16-bit write is a valid GITS_TRANSLATER access */
	{
		struct uiommu_memattrs a = {
			.source_id = 5, .flags = UIOMMU_MEMATTR_SOURCE_VALID,
		};

		assert_int_equal(uiommu_phys_st(f->pm,
						uiommu_gic_its_doorbell(f->its),
						2, 3, &a), 0);
	}
	expect_irqs(f, 1);
	expect_last(f, 2, LPI(8));
}

static void test_its_translation_drops_counted_by_reason(void **state)
{
	struct fx *f = *state;
	struct uiommu_memattrs a = {
		.source_id = 5, .flags = UIOMMU_MEMATTR_SOURCE_VALID,
	};
	struct uiommu_gic_its_stats st;

	tu_log_capture(UIOMMU_LOG_WARN);
	map_basic(f);
	run(f, c_mapti(5, 6, LPI(10), 2));	/* collection 2 is unmapped */
	msi(f, 1 << 16, 0);			/* beyond Devbits */
	msi(f, 9000, 0);			/* beyond the 8192-entry table */
	msi(f, 6, 0);				/* no device table entry */
	msi(f, 5, 16);				/* beyond the 16-event ITT */
	msi(f, 5, 1);				/* no ITT entry */
	msi(f, 5, 6);				/* collection unmapped */
	assert_int_equal(uiommu_phys_st(f->pm, ITS_BASE + 0x10040, 1, 3, &a), 0);
	its_st(f, GITS_CTLR, 4, 0);
	msi(f, 5, 3);				/* ITS disabled */
	expect_irqs(f, 0);
	st = stats(f);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_DEVICE_OOR], 2);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_DEVICE_UNMAPPED], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_EVENT_OOR], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_COLLECTION_UNMAPPED], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_BAD_ACCESS], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_DISABLED], 1);
	assert_int_equal(st.translations, 0);
	/* each reason logged once as a guest error */
	assert_non_null(strstr(tu_log_text(), "guest error: its0: MSI from "
			       "DeviceID 0x6 EventID 0x0 dropped: device-unmapped"));
	tu_log_release();
	its_st(f, GITS_CTLR, 4, 1);
	msi(f, 5, 3);
	expect_irqs(f, 1);
}

static void test_its_movi_moves_the_interrupt(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	run(f, c_mapc(3, 0, true));
	run(f, c_movi(5, 3, 3));
	msi(f, 5, 3);
	expect_irqs(f, 1);
	expect_last(f, 0, LPI(8));
}

static void test_its_movi_moves_pending_state(void **state)
{
	struct fx *f = *state;

	map_basic(f);				/* LPI 8200 disabled */
	run(f, c_mapc(3, 1, true));
	msi(f, 5, 3);
	expect_irqs(f, 0);			/* pending at CPU 2 */
	run(f, c_movi(5, 3, 3));
	lpi_config(f, LPI(8), true);
	run(f, c_ev(GITS_CMD_INV, 5, 3));
	expect_irqs(f, 1);
	expect_last(f, 1, LPI(8));
}

static void test_its_movall_moves_pending_lpis(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	run(f, c_mapti(5, 4, LPI(9), 1));
	msi(f, 5, 3);
	msi(f, 5, 4);
	expect_irqs(f, 0);			/* both pending at CPU 2 */
	/* the collection moves to CPU 3, and its pending LPIs with it */
	run(f, c_mapc(1, 3, true));
	run(f, c_movall(2, 3));
	lpi_config(f, LPI(8), true);
	lpi_config(f, LPI(9), true);
	run(f, c_invall(1));
	expect_irqs(f, 2);
	assert_int_equal(f->recs[0].cpu, 3);
	assert_int_equal(f->recs[1].cpu, 3);
	assert_int_equal(f->recs[0].intid + f->recs[1].intid, LPI(8) + LPI(9));
}

static void test_its_discard_drops_later_msis(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	run(f, c_ev(GITS_CMD_DISCARD, 5, 3));
	tu_log_capture(UIOMMU_LOG_WARN);
	msi(f, 5, 3);
	tu_log_release();
	expect_irqs(f, 0);
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], 1);
	/* and the event can be mapped again */
	run(f, c_mapti(5, 3, LPI(11), 1));
	msi(f, 5, 3);
	expect_last(f, 2, LPI(11));
}

static void test_its_discard_clears_pending(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	msi(f, 5, 3);				/* pending, disabled */
	run(f, c_ev(GITS_CMD_DISCARD, 5, 3));
	run(f, c_mapti(5, 3, LPI(8), 1));
	lpi_config(f, LPI(8), true);
	run(f, c_ev(GITS_CMD_INV, 5, 3));
	expect_irqs(f, 0);
}

static void test_its_int_raises_without_a_device(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	run(f, c_ev(GITS_CMD_INT, 5, 3));
	expect_irqs(f, 1);
	expect_last(f, 2, LPI(8));
	assert_int_equal(stats(f).translations, 0);
}

static void test_its_int_clear_act_on_pending_state(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	run(f, c_ev(GITS_CMD_INT, 5, 3));	/* pending, disabled */
	run(f, c_ev(GITS_CMD_CLEAR, 5, 3));
	lpi_config(f, LPI(8), true);
	run(f, c_ev(GITS_CMD_INV, 5, 3));
	expect_irqs(f, 0);			/* CLEAR removed it */
	lpi_config(f, LPI(8), false);
	run(f, c_ev(GITS_CMD_INV, 5, 3));
	run(f, c_ev(GITS_CMD_INT, 5, 3));
	run(f, c_ev(GITS_CMD_INT, 5, 3));	/* still one pending bit */
	lpi_config(f, LPI(8), true);
	run(f, c_ev(GITS_CMD_INV, 5, 3));
	expect_irqs(f, 1);
	expect_last(f, 2, LPI(8));
}

static void test_its_config_change_needs_inv(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	msi(f, 5, 3);				/* caches "disabled" */
	lpi_config(f, LPI(8), true);
	msi(f, 5, 3);				/* cached: still disabled */
	expect_irqs(f, 0);
	run(f, c_invall(1));
	expect_irqs(f, 1);			/* one pending bit, one interrupt */
	msi(f, 5, 3);
	expect_irqs(f, 2);
}

static void test_its_pending_without_handler(void **state)
{
	struct fx *f = *state;

	map_basic(f);
	assert_int_equal(uiommu_gic_its_set_handler(f->its, 2, NULL, NULL), 0);
	msi(f, 5, 3);
	expect_irqs(f, 0);
	assert_int_equal(uiommu_gic_its_set_handler(f->its, 2, record_irq, f), 0);
	run(f, c_ev(GITS_CMD_INV, 5, 3));
	expect_irqs(f, 1);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_gic_its_set_handler(f->its, NR_CPUS, NULL, NULL),
			 -EINVAL);
	assert_non_null(strstr(tu_log_text(), "cpu 4 >= 4"));
	tu_log_release();
}

static void test_its_sync_completes(void **state)
{
	struct fx *f = *state;
	struct uiommu_gic_its_stats st;

	run(f, c_sync(3));
	tu_log_capture(UIOMMU_LOG_WARN);
	run(f, c_sync(NR_CPUS));		/* UNPREDICTABLE: ignored */
	tu_log_release();
	st = stats(f);
	assert_int_equal(st.commands, 2);
	assert_int_equal(st.ignored, 1);
	assert_int_equal(st.command_errors, 0);
}

static void test_its_two_level_device_table(void **state)
{
	struct fx *f = *state;
	uint64_t l1e = 0;

	its_st(f, GITS_CTLR, 4, 0);
	its_program(f, true);			/* one L1 page: 512 L2 pages */
	/* 4K L2 pages of 8-byte entries: 512 DeviceIDs each; give 512..1023 */
	l1e = UIO_FDP64(l1e, GITS_L1E, VALID, 1);
	l1e = UIO_FDP64(l1e, GITS_L1E, PA, L2_PA >> 12);
	ram_st(f, DT_PA + 8, 8, l1e);
	run(f, c_mapd(600, ITT_PA(1), 4, true));
	run(f, c_mapc(0, 0, true));
	run(f, c_mapti(600, 2, LPI(100), 0));
	msi(f, 600, 2);
	expect_last(f, 0, LPI(100));
	/* the device table entry went into the level 2 page */
	{
		uint64_t dte;

		assert_int_equal(uiommu_phys_ld(f->pm, L2_PA + (600 - 512) * 8,
						8, &dte, NULL), 0);
		assert_true(UIO_FEX64(dte, GITS_DTE, VALID));
	}
	/* no level 2 page for DeviceID 5: MAPD is out of range */
	tu_log_capture(UIOMMU_LOG_WARN);
	queue(f, c_mapd(5, ITT_PA(2), 4, true));
	publish(f);
	assert_int_equal(stats(f).last_error, 0x010801);
	msi(f, 5, 0);
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_DEVICE_OOR], 1);
	/* beyond the level 1 table: 512 * 512 DeviceIDs */
	msi(f, 512 * 512, 0);
	tu_log_release();
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_DEVICE_OOR], 2);
}

/* ------------------------------------------------------ ITS: inspection */

struct walk_rec {
	struct uiommu_gic_its_translation t[64];
	unsigned int n;
	unsigned int stop_after;	/* 0: never */
};

static int collect_walk(void *opaque, const struct uiommu_gic_its_translation *t)
{
	struct walk_rec *w = opaque;

	if (w->n < UIO_ARRAY_SIZE(w->t))
		w->t[w->n] = *t;
	w->n++;
	return w->stop_after && w->n == w->stop_after ? 42 : 0;
}

static void walk(struct fx *f, struct walk_rec *w)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(uiommu_gic_its_for_each_translation(f->its,
							     collect_walk, w), 0);
}

static void expect_tr(const struct uiommu_gic_its_translation *t,
		      uint32_t devid, uint32_t eventid, uint32_t intid,
		      uint32_t icid, unsigned int target)
{
	assert_int_equal(t->devid, devid);
	assert_int_equal(t->eventid, eventid);
	assert_int_equal(t->intid, intid);
	assert_int_equal(t->icid, icid);
	assert_int_equal(t->target, target);
	assert_true(t->ok);
}

static void test_its_walk_returns_what_was_mapped(void **state)
{
	struct fx *f = *state;
	struct uiommu_gic_its_stats before, after;
	struct walk_rec w;

	walk(f, &w);
	assert_int_equal(w.n, 0);
	map_basic(f);				/* 5/3 -> 8200, ICID 1, CPU 2 */
	run(f, c_mapd(9, ITT_PA(9), 2, true));
	run(f, c_mapc(0, 3, true));
	run(f, c_mapti(9, 0, LPI(20), 0));
	run(f, c_mapti(9, 3, LPI(21), 1));
	run(f, c_mapd(7, ITT_PA(7), 3, true));	/* a device with no events */
	before = stats(f);
	walk(f, &w);
	after = stats(f);
	assert_stats_equal(&before, &after);
	assert_int_equal(w.n, 3);
	expect_tr(&w.t[0], 5, 3, LPI(8), 1, 2);
	assert_int_equal(w.t[0].itt_addr, ITT_PA(5));
	assert_int_equal(w.t[0].eventid_bits, 4);
	assert_false(w.t[0].pending);
	expect_tr(&w.t[1], 9, 0, LPI(20), 0, 3);
	expect_tr(&w.t[2], 9, 3, LPI(21), 1, 2);
	assert_int_equal(w.t[2].eventid_bits, 2);

	/* DISCARD: gone; MAPD V=0: the device's events are gone */
	run(f, c_ev(GITS_CMD_DISCARD, 9, 0));
	walk(f, &w);
	assert_int_equal(w.n, 2);
	expect_tr(&w.t[1], 9, 3, LPI(21), 1, 2);
	run(f, c_mapd(9, ITT_PA(9), 2, false));
	walk(f, &w);
	assert_int_equal(w.n, 1);
	expect_tr(&w.t[0], 5, 3, LPI(8), 1, 2);

	/* the callback stops the walk with its value */
	run(f, c_mapd(9, ITT_PA(9), 2, true));
	memset(&w, 0, sizeof(w));
	w.stop_after = 1;
	assert_int_equal(uiommu_gic_its_for_each_translation(f->its,
							     collect_walk, &w), 42);
	assert_int_equal(w.n, 1);
}

static void test_its_walk_reports_pending_and_unmapped_collection(void **state)
{
	struct fx *f = *state;
	struct walk_rec w;

	map_basic(f);
	assert_int_equal(uiommu_gic_its_set_handler(f->its, 2, NULL, NULL), 0);
	msi(f, 5, 3);				/* stays pending at CPU 2 */
	walk(f, &w);
	assert_int_equal(w.n, 1);
	assert_true(w.t[0].pending);
	assert_true(w.t[0].ok);
	run(f, c_mapc(1, 0, false));
	walk(f, &w);
	assert_int_equal(w.n, 1);
	assert_false(w.t[0].ok);
	assert_int_equal(w.t[0].why, UIOMMU_GIC_DROP_COLLECTION_UNMAPPED);
	assert_int_equal(w.t[0].intid, LPI(8));
	assert_int_equal(w.t[0].icid, 1);
	/* and a write would be dropped for that very reason */
	tu_log_capture(UIOMMU_LOG_WARN);
	msi(f, 5, 3);
	tu_log_release();
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_COLLECTION_UNMAPPED], 1);
}

static void test_its_walk_two_level_device_table(void **state)
{
	struct fx *f = *state;
	struct walk_rec w;
	uint64_t l1e = 0;

	its_st(f, GITS_CTLR, 4, 0);
	its_program(f, true);
	l1e = UIO_FDP64(l1e, GITS_L1E, VALID, 1);
	l1e = UIO_FDP64(l1e, GITS_L1E, PA, L2_PA >> 12);
	ram_st(f, DT_PA + 8, 8, l1e);		/* DeviceIDs 512..1023 */
	run(f, c_mapd(600, ITT_PA(1), 4, true));
	run(f, c_mapd(1023, ITT_PA(2), 1, true));
	run(f, c_mapc(0, 1, true));
	run(f, c_mapti(600, 2, LPI(100), 0));
	run(f, c_mapti(1023, 1, LPI(101), 0));
	walk(f, &w);
	assert_int_equal(w.n, 2);
	expect_tr(&w.t[0], 600, 2, LPI(100), 0, 1);
	expect_tr(&w.t[1], 1023, 1, LPI(101), 0, 1);
	assert_int_equal(w.t[0].itt_addr, ITT_PA(1));

	/* a level 1 entry pointing outside RAM: reported once, walk goes on */
	l1e = UIO_FDP64(l1e, GITS_L1E, PA, UINT64_C(0x1000000000) >> 12);
	ram_st(f, DT_PA + 0, 8, l1e);		/* DeviceIDs 0..511 */
	tu_log_capture(UIOMMU_LOG_WARN);
	walk(f, &w);
	assert_non_null(strstr(tu_log_text(), "level 2 page"));
	tu_log_release();
	assert_int_equal(w.n, 3);
	assert_false(w.t[0].ok);
	assert_int_equal(w.t[0].why, UIOMMU_GIC_DROP_TABLE_FAULT);
	assert_int_equal(w.t[0].devid, 0);
	expect_tr(&w.t[1], 600, 2, LPI(100), 0, 1);
}

static void test_its_walk_reports_corrupt_entries(void **state)
{
	struct fx *f = *state;
	struct walk_rec w;
	uint64_t dte = 0, ite = 0;

	map_basic(f);
	/* an ITT entry naming no LPI (only a scribbling driver does that) */
	ite = UIO_FDP64(ite, GITS_ITE, VALID, 1);
	ite = UIO_FDP64(ite, GITS_ITE, PINTID, 17);
	ram_st(f, ITT_PA(5) + 7 * GITS_ITE_SIZE, 8, ite);
	/* a device table entry whose ITT is not RAM */
	dte = UIO_FDP64(dte, GITS_DTE, VALID, 1);
	dte = UIO_FDP64(dte, GITS_DTE, SIZE, 3);
	dte = UIO_FDP64(dte, GITS_DTE, ITT_ADDR, UINT64_C(0x2000000000) >> 8);
	ram_st(f, DT_PA + 8 * 8, 8, dte);
	/* and one with an ITT wider than GITS_TYPER.ID_bits allows */
	dte = UIO_FDP64(dte, GITS_DTE, SIZE, 31);
	dte = UIO_FDP64(dte, GITS_DTE, ITT_ADDR, ITT_PA(11) >> 8);
	ram_st(f, DT_PA + 11 * 8, 8, dte);
	tu_log_capture(UIOMMU_LOG_WARN);
	walk(f, &w);
	assert_non_null(strstr(tu_log_text(), "holds no LPI"));
	assert_non_null(strstr(tu_log_text(), "ITT at 0x2000000000 is not RAM"));
	assert_non_null(strstr(tu_log_text(), "32-bit ITT"));
	tu_log_release();
	assert_int_equal(w.n, 3);
	expect_tr(&w.t[0], 5, 3, LPI(8), 1, 2);
	assert_false(w.t[1].ok);
	assert_int_equal(w.t[1].devid, 5);
	assert_int_equal(w.t[1].eventid, 7);
	assert_int_equal(w.t[1].intid, 17);
	assert_int_equal(w.t[1].why, UIOMMU_GIC_DROP_EVENT_UNMAPPED);
	assert_false(w.t[2].ok);
	assert_int_equal(w.t[2].devid, 8);
	assert_int_equal(w.t[2].why, UIOMMU_GIC_DROP_TABLE_FAULT);
	/* what the ITS does with a write of the corrupt event: the same */
	tu_log_capture(UIOMMU_LOG_WARN);
	msi(f, 5, 7);
	msi(f, 8, 0);
	tu_log_release();
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], 1);
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_TABLE_FAULT], 1);
	ram_st(f, DT_PA + 8 * 8, 8, 0);
	ram_st(f, DT_PA + 11 * 8, 8, 0);
	ram_st(f, ITT_PA(5) + 7 * GITS_ITE_SIZE, 8, 0);
}

struct field_rec {
	char text[512];
	unsigned int n;
};

static int collect_field(void *opaque, const struct uiommu_gic_field *fl)
{
	struct field_rec *r = opaque;
	size_t len = strlen(r->text);

	snprintf(r->text + len, sizeof(r->text) - len, "%s%s[%u:%u]=0x%llx",
		 r->n++ ? " " : "", fl->name, fl->lsb + fl->width - 1, fl->lsb,
		 (unsigned long long)fl->value);
	return 0;
}

static void test_its_get_regs_and_fields(void **state)
{
	struct fx *f = *state;
	struct uiommu_gic_its_regs r;
	struct field_rec fr = { "", 0 };
	struct uiommu_gic_its_stats before = stats(f), after;

	assert_int_equal(uiommu_gic_its_get_regs(f->its, &r), 0);
	after = stats(f);
	assert_stats_equal(&before, &after);
	assert_int_equal(r.base, ITS_BASE);
	assert_int_equal(r.nr_cpus, NR_CPUS);
	assert_int_equal(r.nr_lpis, 65536 - 8192);
	/* as MMIO reads return them */
	assert_int_equal(r.ctlr, its_ld(f, GITS_CTLR, 4));
	assert_int_equal(r.iidr, its_ld(f, GITS_IIDR, 4));
	assert_int_equal(r.typer, its_ld(f, GITS_TYPER, 8));
	assert_int_equal(r.cbaser, its_ld(f, GITS_CBASER, 8));
	assert_int_equal(r.creadr, its_ld(f, GITS_CREADR, 8));
	for (unsigned int n = 0; n < 8; n++)
		assert_int_equal(r.baser[n], its_ld(f, GITS_BASER0 + 8 * n, 8));
	assert_int_equal(r.table[0].type, UIOMMU_GITS_BASER_TYPE_DEVICES);
	assert_string_equal(r.table[0].type_name, "Devices");
	assert_true(r.table[0].valid);
	assert_false(r.table[0].indirect);
	assert_int_equal(r.table[0].base, DT_PA);
	assert_int_equal(r.table[0].page_size, 4096);
	assert_int_equal(r.table[0].pages, DT_PAGES);
	assert_int_equal(r.table[0].entry_size, 8);
	assert_int_equal(r.table[0].max_ids, DT_PAGES * 4096 / 8);
	assert_string_equal(r.table[1].type_name, "Collections");
	assert_int_equal(r.table[1].max_ids, 512);
	assert_string_equal(r.table[2].type_name, "none");
	assert_false(r.table[2].valid);

	assert_int_equal(uiommu_gic_its_for_each_field(UIOMMU_GITS_CTLR, r.ctlr,
						       collect_field, &fr), 0);
	assert_string_equal(fr.text, "Enabled[0:0]=0x1 Quiescent[31:31]=0x0");
	memset(&fr, 0, sizeof(fr));
	assert_int_equal(uiommu_gic_its_for_each_field(UIOMMU_GITS_TYPER, r.typer,
						       collect_field, &fr), 0);
	assert_non_null(strstr(fr.text, "ITT_entry_size[7:4]=0x7 "
				       "ID_bits[12:8]=0xf Devbits[17:13]=0xf"));
	memset(&fr, 0, sizeof(fr));
	assert_int_equal(uiommu_gic_its_for_each_field(UIOMMU_GITS_BASER(1),
						       r.baser[1], collect_field,
						       &fr), 0);
	assert_non_null(strstr(fr.text, "Type[58:56]=0x4"));
	assert_non_null(strstr(fr.text, "Valid[63:63]=0x1"));
}

static void test_its_inspection_rejects_bad_arguments(void **state)
{
	struct fx *f = *state;
	struct uiommu_gic_its_regs r;
	struct walk_rec w;
	struct field_rec fr = { "", 0 };

	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_gic_its_get_regs(NULL, &r), -EINVAL);
	assert_int_equal(uiommu_gic_its_get_regs(f->its, NULL), -EINVAL);
	assert_int_equal(uiommu_gic_its_for_each_translation(NULL, collect_walk,
							     &w), -EINVAL);
	assert_int_equal(uiommu_gic_its_for_each_translation(f->its, NULL, &w),
			 -EINVAL);
	assert_int_equal(uiommu_gic_its_for_each_field(UIOMMU_GITS_CTLR, 0, NULL,
						       NULL), -EINVAL);
	assert_int_equal(uiommu_gic_its_for_each_field(0x10, 0, collect_field,
						       &fr), -EINVAL);
	assert_int_equal(uiommu_gic_its_for_each_field(UIOMMU_GITS_BASER(8), 0,
						       collect_field, &fr), -EINVAL);
	assert_int_equal(uiommu_gic_its_for_each_field(UIOMMU_GITS_BASER(0) + 4, 0,
						       collect_field, &fr), -EINVAL);
	tu_log_release();
	assert_int_equal(fr.n, 0);
}

/* One command error: expected encoding, the queue stalls on it. */
struct err_case {
	const char *what;
	struct cmd cmd;
	uint32_t code;
};

/* Device 1 (16 events): event 0 -> LPI 8192 in collection 1 (CPU 1),
 * event 1 -> LPI 8193 in collection 2 (valid ICID, never mapped). */
static void map_for_errors(struct fx *f)
{
	run(f, c_mapd(1, ITT_PA(1), 4, true));
	run(f, c_mapc(1, 1, true));
	run(f, c_mapti(1, 0, LPI(0), 1));
	run(f, c_mapti(1, 1, LPI(1), 2));
}

static void err_cases(struct err_case *c, size_t *n)
{
	size_t i = 0;

#define ERR(w, cm, code_) c[i++] = (struct err_case){ w, cm, code_ }
	ERR("MAPD DeviceID beyond Devbits", c_mapd(1u << 16, ITT_PA(2), 4, true), 0x010801);
	ERR("MAPD DeviceID beyond table", c_mapd(8192, ITT_PA(2), 4, true), 0x010801);
	ERR("MAPD ITT size", c_mapd(2, ITT_PA(2), 17, true), 0x010802);
	ERR("MAPC ICID beyond table", c_mapc(512, 0, true), 0x010903);
	ERR("MAPC RDbase", c_mapc(3, NR_CPUS, true), 0x010902);
	ERR("MAPTI unmapped device", c_mapti(2, 0, LPI(5), 1), 0x010A04);
	ERR("MAPTI DeviceID beyond Devbits", c_mapti(1u << 16, 0, LPI(5), 1), 0x010A04);
	ERR("MAPTI EventID", c_mapti(1, 16, LPI(5), 1), 0x010A05);
	ERR("MAPTI pINTID below 8192", c_mapti(1, 2, 8191, 1), 0x010A06);
	ERR("MAPTI pINTID beyond IDbits", c_mapti(1, 2, 65536, 1), 0x010A06);
	ERR("MAPTI ICID", c_mapti(1, 2, LPI(5), 600), 0x010A03);
	ERR("MAPI pINTID", c_mapi(1, 2, 1), 0x010B06);
	ERR("MOVI unmapped interrupt", c_movi(1, 5, 1), 0x010107);
	ERR("MOVI to unmapped collection", c_movi(1, 0, 7), 0x010109);
	ERR("MOVI from unmapped collection", c_movi(1, 1, 1), 0x010109);
	ERR("INT unmapped device", c_ev(GITS_CMD_INT, 3, 0), 0x010304);
	ERR("INT unmapped interrupt", c_ev(GITS_CMD_INT, 1, 9), 0x010307);
	ERR("INT EventID beyond ITT", c_ev(GITS_CMD_INT, 1, 16), 0x010307);
	ERR("INT unmapped collection", c_ev(GITS_CMD_INT, 1, 1), 0x010309);
	ERR("CLEAR unmapped interrupt", c_ev(GITS_CMD_CLEAR, 1, 9), 0x010507);
	ERR("INV unmapped interrupt", c_ev(GITS_CMD_INV, 1, 9), 0x010C07);
	ERR("INVALL unmapped collection", c_invall(2), 0x010D09);
	ERR("INVALL ICID beyond table", c_invall(600), 0x010D03);
	ERR("MOVALL RDbase", c_movall(0, NR_CPUS), 0x010E01);
	ERR("DISCARD unmapped interrupt", c_ev(GITS_CMD_DISCARD, 1, 9), 0x010F07);
	ERR("DISCARD unmapped device", c_ev(GITS_CMD_DISCARD, 4, 0), 0x010F04);
#undef ERR
	*n = i;
}

static void test_its_command_errors_stall_until_retry(void **state)
{
	struct fx *f = *state;
	struct err_case cases[32];
	size_t n, i;

	map_for_errors(f);
	err_cases(cases, &n);
	tu_log_capture(UIOMMU_LOG_WARN);
	for (i = 0; i < n; i++) {
		uint64_t slot = f->cw, creadr;
		struct uiommu_gic_its_stats st;

		queue(f, cases[i].cmd);
		queue(f, c_sync(0));		/* must wait behind the error */
		publish(f);
		creadr = its_ld(f, GITS_CREADR, 8);
		st = stats(f);
		if (st.last_error != cases[i].code ||
		    !UIO_FEX64(creadr, GITS_CREADR, STALLED))
			fail_msg("%s: error 0x%06x creadr 0x%llx, want 0x%06x",
				 cases[i].what, st.last_error,
				 (unsigned long long)creadr, cases[i].code);
		assert_int_equal(st.command_errors, i + 1);
		assert_int_equal(creadr & GITS_CREADR_OFFSET_MASK, slot);
		/* still stalled when more commands come */
		publish(f);
		assert_int_equal(its_ld(f, GITS_CREADR, 8), creadr);
		/* the driver repairs the command and retries */
		ram_st(f, CQ_PA + slot, 8, GITS_CMD_SYNC);
		ram_st(f, CQ_PA + slot + 16, 8, 0);
		its_st(f, GITS_CWRITER, 8,
		       f->cw | UIO_FDP64(0, GITS_CWRITER, RETRY, 1));
		assert_int_equal(its_ld(f, GITS_CREADR, 8), f->cw);
	}
	assert_non_null(strstr(tu_log_text(), "command error 0x010801, queue stalled"));
	tu_log_release();
	/* nothing the errors touched was mapped */
	msi(f, 1, 0);
	expect_last(f, 1, LPI(0));
	expect_irqs(f, 1);
}

static void test_its_command_errors_skipped_in_skip_mode(void **state)
{
	struct fx *f = *state;
	struct err_case cases[32];
	size_t n, i;

	map_for_errors(f);
	err_cases(cases, &n);
	tu_log_capture(UIOMMU_LOG_WARN);
	for (i = 0; i < n; i++) {
		queue(f, cases[i].cmd);
		queue(f, c_ev(GITS_CMD_INT, 1, 0));
		publish(f);
		assert_int_equal(its_ld(f, GITS_CREADR, 8), f->cw);
		assert_int_equal(stats(f).last_error, cases[i].code);
	}
	tu_log_release();
	assert_int_equal(stats(f).command_errors, n);
	expect_irqs(f, n);
}

static void test_its_unknown_commands_ignored(void **state)
{
	struct fx *f = *state;
	struct cmd vmapti = { { 0x2A } }, zero = { { 0 } };

	tu_log_capture(UIOMMU_LOG_WARN);
	run(f, vmapti);
	run(f, zero);
	assert_non_null(strstr(tu_log_text(), "ignored: not a GICv3 physical"));
	tu_log_release();
	assert_int_equal(stats(f).ignored, 2);
	assert_int_equal(stats(f).command_errors, 0);
}

static void test_its_queue_wraps_around(void **state)
{
	struct fx *f = *state;
	unsigned int i, batch, sent = 0;

	map_basic(f);
	/* 128 slots; batches of 1..37 commands cross the end many times */
	for (batch = 1; sent < 700; batch = batch % 37 + 1) {
		for (i = 0; i < batch; i++)
			queue(f, c_ev(GITS_CMD_INT, 5, 3));
		publish(f);
		sent += batch;
		assert_int_equal(its_ld(f, GITS_CREADR, 8), f->cw);
		expect_irqs(f, sent);
	}
	assert_int_equal(stats(f).commands, sent + 3);
	/* 127 commands fill the queue (one slot stays empty) */
	for (i = 0; i < 127; i++)
		queue(f, c_sync(0));
	publish(f);
	assert_int_equal(its_ld(f, GITS_CREADR, 8), f->cw);
}

static void test_its_cwriter_beyond_queue_ignored(void **state)
{
	struct fx *f = *state;
	uint64_t ignored = stats(f).ignored;

	tu_log_capture(UIOMMU_LOG_WARN);
	its_st(f, GITS_CWRITER, 8, CQ_SIZE);
	tu_log_release();
	assert_int_equal(its_ld(f, GITS_CWRITER, 8), 0);
	assert_int_equal(its_ld(f, GITS_CREADR, 8), 0);
	assert_int_equal(stats(f).ignored, ignored + 1);
}

static void test_its_tables_outside_ram(void **state)
{
	struct fx *f = *state;

	/* a device table on the ITS's own frame: a bus error, no re-entry */
	its_st(f, GITS_CTLR, 4, 0);
	its_st(f, GITS_BASER0, 8,
	       baser(its_ld(f, GITS_BASER0, 8), ITS_BASE, 1, false));
	its_st(f, GITS_CTLR, 4, 1);
	tu_log_capture(UIOMMU_LOG_WARN);
	run(f, c_mapd(1, ITT_PA(1), 4, true));
	msi(f, 1, 0);
	tu_log_release();
	assert_int_equal(stats(f).ignored, 1);
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_TABLE_FAULT], 1);
}

static void test_its_survives_scribbled_tables_and_odd_accesses(void **state)
{
	struct fx *f = *state;
	uint64_t v, cbaser;

	tu_log_capture(UIOMMU_LOG_WARN);
	map_basic(f);
	/* software must not write the tables; if it does, MSIs drop */
	ram_st(f, CT_PA + 8, 8, UIO_FDP64(NR_CPUS, GITS_CTE, VALID, 1));
	msi(f, 5, 3);
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_COLLECTION_UNMAPPED], 1);
	run(f, c_mapc(1, 2, true));
	ram_st(f, ITT_PA(5) + 3 * 8, 8, UIO_FDP64(5, GITS_ITE, VALID, 1));
	msi(f, 5, 3);
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], 1);
	expect_irqs(f, 0);
	/* byte accesses to registers are ignored; GITS_TRANSLATER reads 0 */
	assert_int_equal(its_ld(f, GITS_CTLR, 1), 0);
	its_st(f, GITS_CTLR, 1, 0);
	assert_true(UIO_FEX64(its_ld(f, GITS_CTLR, 4), GITS_CTLR, ENABLED));
	assert_int_equal(its_ld(f, 0x10040, 4), 0);
	/* reserved Page_Size 0b11 reads back as 64K; 16K pages work */
	its_st(f, GITS_CTLR, 4, 0);
	v = its_ld(f, GITS_BASER0, 8);
	its_st(f, GITS_BASER0, 8, UIO_FDP64(v, GITS_BASER, PAGE_SIZE, 3));
	assert_int_equal(UIO_FEX64(its_ld(f, GITS_BASER0, 8), GITS_BASER,
				   PAGE_SIZE), GITS_PAGE_64K);
	its_st(f, GITS_BASER0, 8, UIO_FDP64(v, GITS_BASER, PAGE_SIZE,
					     GITS_PAGE_16K));
	/* a command queue on a device: commands are skipped, not run */
	cbaser = its_ld(f, GITS_CBASER, 8);
	its_st(f, GITS_CBASER, 8, UIO_FDP64(cbaser, GITS_CBASER, PA,
					     ITS_BASE >> 12));
	its_st(f, GITS_CTLR, 4, 1);
	its_st(f, GITS_CWRITER, 8, 64);
	assert_int_equal(its_ld(f, GITS_CREADR, 8), 64);
	assert_int_equal(stats(f).ignored, 2);
	/* with 16K pages, DeviceID 5 is still entry 5 of the table */
	msi(f, 5, 4);
	assert_int_equal(stats(f).dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], 2);
	tu_log_release();
}

static void test_its_lpi_config_table_outside_ram(void **state)
{
	struct uiommu_gic_its_config cfg = default_cfg;
	struct fx f;

	(void)state;
	cfg.lpi_config_table = true;
	cfg.lpi_config_base = 0x1000;	/* nothing there */
	fx_setup_cfg(&f, &cfg);
	its_program(&f, false);
	map_basic(&f);
	tu_log_capture(UIOMMU_LOG_WARN);
	msi(&f, 5, 3);			/* reads as disabled: stays pending */
	assert_non_null(strstr(tu_log_text(), "configuration table at 0x1000"));
	tu_log_release();
	expect_irqs(&f, 0);
	assert_int_equal(stats(&f).translations, 1);
	uiommu_gic_its_destroy(f.its);
	uiommu_physmem_destroy(f.pm);
	pthread_mutex_destroy(&f.rec_lock);
}

/* ------------------------------------------------ ITS: create, destroy */

static void test_its_create_rejects_bad_config(void **state)
{
	struct uiommu_gic_its_config cfg = default_cfg;
	struct uiommu_gic_its *its = NULL;
	struct fx f;

	(void)state;
	memset(&f, 0, sizeof(f));
	new_physmem(&f);
	tu_log_capture(UIOMMU_LOG_ERR);
	cfg.base = ITS_BASE + 0x1000;
	assert_int_equal(uiommu_gic_its_create(f.pm, &cfg, &its), -EINVAL);
	cfg = default_cfg;
	cfg.lpi_bits = 21;
	assert_int_equal(uiommu_gic_its_create(f.pm, &cfg, &its), -EINVAL);
	cfg = default_cfg;
	cfg.cid_bits = 17;
	assert_int_equal(uiommu_gic_its_create(f.pm, &cfg, &its), -EINVAL);
	cfg = default_cfg;
	cfg.nr_cpus = 5000;
	assert_int_equal(uiommu_gic_its_create(f.pm, &cfg, &its), -EINVAL);
	assert_int_equal(uiommu_gic_its_create(NULL, &cfg, &its), -EINVAL);
	assert_int_equal(uiommu_gic_its_create(f.pm, NULL, &its), -EINVAL);
	/* overlapping RAM: the control frame goes first and comes back out */
	cfg = default_cfg;
	cfg.base = RAM_BASE - 0x10000;
	assert_int_equal(uiommu_gic_its_create(f.pm, &cfg, &its), -EEXIST);
	tu_log_release();
	assert_null(its);
	{
		struct uiommu_region_info info;

		assert_int_equal(uiommu_physmem_lookup(f.pm, RAM_BASE - 0x10000,
						       &info), -EFAULT);
	}
	assert_int_equal(uiommu_physmem_check(f.pm), 0);
	uiommu_physmem_destroy(f.pm);
}

struct sweep_ctx {
	struct uiommu_physmem *pm;
	struct uiommu_gic_its *its;
	struct uiommu_gicv2m *v2m;
	long live_before;
};

static int create_both(void *opaque)
{
	struct sweep_ctx *s = opaque;
	struct uiommu_gicv2m_config vc = { "v2m0", V2M_BASE, 64, 32 };
	int ret;

	ret = uiommu_gic_its_create(s->pm, &default_cfg, &s->its);
	if (ret)
		return ret;
	ret = uiommu_gicv2m_create(s->pm, &vc, &s->v2m);
	if (ret) {
		uiommu_gic_its_destroy(s->its);
		s->its = NULL;
	}
	return ret;
}

static void create_failed(void *opaque, int ret)
{
	struct sweep_ctx *s = opaque;
	struct uiommu_region_info info;

	assert_int_equal(ret, -ENOMEM);
	assert_null(s->v2m);
	assert_int_equal(tu_alloc_live_blocks(), s->live_before);
	assert_int_equal(uiommu_physmem_lookup(s->pm, ITS_BASE, &info), -EFAULT);
	assert_int_equal(uiommu_physmem_lookup(s->pm, ITS_BASE + 0x10040, &info),
			 -EFAULT);
	assert_int_equal(uiommu_physmem_lookup(s->pm, V2M_BASE, &info), -EFAULT);
}

static void test_create_fail_nth_sweep(void **state)
{
	struct sweep_ctx s = { 0 };
	unsigned long points;

	(void)state;
	tu_alloc_install(0);
	assert_int_equal(uiommu_physmem_create(48, &s.pm), 0);
	/* physmem publishes its first region table lazily: start from RAM */
	assert_int_equal(uiommu_physmem_add_ram(s.pm, "ram", RAM_BASE, RAM_SIZE,
						NULL, NULL), 0);
	s.live_before = tu_alloc_live_blocks();
	tu_log_capture(UIOMMU_LOG_ERR);
	points = tu_fail_nth_sweep(&s, create_both, create_failed, NULL);
	tu_log_release();
	assert_true(points >= 4);
	assert_int_equal(uiommu_gic_its_check(s.its), 0);
	assert_int_equal(uiommu_gicv2m_check(s.v2m), 0);
	uiommu_gicv2m_destroy(s.v2m);
	uiommu_gic_its_destroy(s.its);
	assert_int_equal(tu_alloc_live_blocks(), s.live_before);
	uiommu_physmem_destroy(s.pm);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* ------------------------------------------------------------- threads */

#define HAMMER_DEVS	2
#define HAMMER_EVENTS	32
#define HAMMER_WRITES	20000

struct hammer {
	struct fx *f;
	uint32_t devid;
	unsigned long writes;
	bool done;
};

static unsigned long delivered_by_cpu[NR_CPUS];

static void count_irq(void *opaque, unsigned int cpu, uint32_t intid)
{
	(void)opaque;
	/* event e of device d is LPI 8192 + 64 d + e, on CPU d */
	assert_int_equal((intid - UIOMMU_GIC_FIRST_LPI) / 64, cpu);
	__atomic_fetch_add(&delivered_by_cpu[cpu], 1, __ATOMIC_RELAXED);
}

static void *hammer_thread(void *opaque)
{
	struct hammer *h = opaque;
	struct uiommu_memattrs a = {
		.source_id = h->devid, .flags = UIOMMU_MEMATTR_SOURCE_VALID,
	};
	uint64_t db = uiommu_gic_its_doorbell(h->f->its);
	unsigned long i;

	for (i = 0; i < HAMMER_WRITES; i++) {
		if (uiommu_phys_st(h->f->pm, db, 4, i % HAMMER_EVENTS, &a))
			break;
		h->writes++;
	}
	__atomic_store_n(&h->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static bool hammers_done(struct hammer *h)
{
	unsigned int d;

	for (d = 0; d < HAMMER_DEVS; d++)
		if (!__atomic_load_n(&h[d].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* Wait for the ITS to consume the queue, as a driver polls GITS_CREADR. */
static void wait_idle(struct fx *f)
{
	while (its_ld(f, GITS_CREADR, 8) != f->cw)
		;
}

static void test_its_translater_races_commands(void **state)
{
	struct fx *f = *state;
	struct hammer h[HAMMER_DEVS];
	pthread_t t[HAMMER_DEVS];
	struct uiommu_gic_its_stats st;
	uint32_t d, e, round;
	unsigned long total = 0, delivered = 0;
	unsigned int cpu;

	memset(delivered_by_cpu, 0, sizeof(delivered_by_cpu));
	for (d = 0; d < HAMMER_DEVS; d++) {
		assert_int_equal(uiommu_gic_its_set_handler(f->its, d, count_irq,
							    NULL), 0);
		run(f, c_mapd(d, ITT_PA(d), 6, true));
		run(f, c_mapc(d, d, true));
		for (e = 0; e < HAMMER_EVENTS; e++)
			run(f, c_mapti(d, e, LPI(64 * d + e), d));
	}
	tu_log_capture(UIOMMU_LOG_WARN);
	for (d = 0; d < HAMMER_DEVS; d++) {
		h[d] = (struct hammer){ f, d, 0, false };
		assert_int_equal(pthread_create(&t[d], NULL, hammer_thread,
						&h[d]), 0);
	}
	/* the driver unmaps and remaps events while the devices write */
	for (round = 0; round < 300 || !hammers_done(h); round++) {
		d = round % HAMMER_DEVS;
		e = round % HAMMER_EVENTS;
		queue(f, c_ev(GITS_CMD_DISCARD, d, e));
		queue(f, c_sync(d));
		publish(f);
		wait_idle(f);
		queue(f, c_mapti(d, e, LPI(64 * d + e), d));
		queue(f, c_sync(d));
		publish(f);
		wait_idle(f);
	}
	for (d = 0; d < HAMMER_DEVS; d++) {
		pthread_join(t[d], NULL);
		total += h[d].writes;
	}
	tu_log_release();
	st = stats(f);
	for (cpu = 0; cpu < NR_CPUS; cpu++)
		delivered += delivered_by_cpu[cpu];
	assert_int_equal(total, HAMMER_DEVS * HAMMER_WRITES);
	assert_int_equal(st.command_errors, 0);
	assert_int_equal(st.delivered, delivered);
	assert_int_equal(st.translations, st.delivered);
	assert_int_equal(st.translations + st.dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED],
			 total);
	assert_int_equal(uiommu_gic_its_check(f->its), 0);
	printf("# %lu MSIs: %" PRIu64 " delivered, %" PRIu64 " dropped while "
	       "unmapped, %u remap rounds\n", total, st.delivered,
	       st.dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], round);
}

/* -------------------------------------------------- ITS driver library */

#define POOL_BASE	(RAM_BASE + (UINT64_C(4) << 20))
#define POOL_SIZE	(UINT64_C(12) << 20)

struct drv_fx {
	struct fx f;
	struct uiommu_phys_pool *pool;
	struct uio_its_drv *drv;
};

static void drv_fx_init(struct drv_fx *d, unsigned int devid_bits)
{
	struct uiommu_gic_its_config cfg = default_cfg;
	unsigned int cpu;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->f.rec_lock, NULL);
	new_physmem(&d->f);
	cfg.devid_bits = devid_bits;
	assert_int_equal(uiommu_gic_its_create(d->f.pm, &cfg, &d->f.its), 0);
	for (cpu = 0; cpu < NR_CPUS; cpu++)
		assert_int_equal(uiommu_gic_its_set_handler(d->f.its, cpu,
							    record_irq, &d->f), 0);
	assert_int_equal(uiommu_phys_pool_create(d->f.pm, POOL_BASE, POOL_SIZE,
						 &d->pool), 0);
}

static uint64_t pool_in_use(struct drv_fx *d)
{
	struct uiommu_phys_pool_stats st;

	uiommu_phys_pool_get_stats(d->pool, &st);
	return st.bytes_in_use;
}

static void drv_fx_fini(struct drv_fx *d)
{
	assert_int_equal(pool_in_use(d), 0);
	assert_int_equal(uiommu_gic_its_check(d->f.its), 0);
	uiommu_phys_pool_destroy(d->pool);
	uiommu_gic_its_destroy(d->f.its);
	uiommu_physmem_destroy(d->f.pm);
	pthread_mutex_destroy(&d->f.rec_lock);
}

static void test_its_drv_maps_devices_and_events(void **state)
{
	struct drv_fx d;
	uint32_t first, e;
	struct uiommu_gic_its_stats st;

	(void)state;
	drv_fx_init(&d, 16);
	assert_int_equal(uio_its_drv_probe(d.pool, ITS_BASE, NR_CPUS, 16,
					   &d.drv), 0);
	assert_int_equal(uio_its_drv_doorbell(d.drv), ITS_BASE + 0x10040);
	assert_int_equal(uio_its_drv_map_device(d.drv, 0x10, 32), 0);
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 32, &first), 0);
	assert_int_equal(first, UIOMMU_GIC_FIRST_LPI);
	for (e = 0; e < 32; e++)
		assert_int_equal(uio_its_drv_map_event(d.drv, 0x10, e, first + e,
						       e % NR_CPUS), 0);
	for (e = 0; e < 32; e++) {
		msi(&d.f, 0x10, e);
		expect_last(&d.f, e % NR_CPUS, first + e);
	}
	expect_irqs(&d.f, 32);
	assert_int_equal(uio_its_drv_move_event(d.drv, 0x10, 0, 3), 0);
	msi(&d.f, 0x10, 0);
	expect_last(&d.f, 3, first);
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(uio_its_drv_unmap_event(d.drv, 0x10, 1), 0);
	msi(&d.f, 0x10, 1);
	assert_int_equal(uio_its_drv_unmap_device(d.drv, 0x10), 0);
	msi(&d.f, 0x10, 2);
	tu_log_release();
	expect_irqs(&d.f, 33);
	st = stats(&d.f);
	assert_int_equal(st.command_errors, 0);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_DEVICE_UNMAPPED], 1);
	/* each operation was one command and a SYNC */
	assert_int_equal(uio_its_drv_commands(d.drv), 2 * (NR_CPUS + 1 + 32 + 3));
	uio_its_drv_free_lpis(d.drv, first, 32);
	uio_its_drv_remove(d.drv);
	drv_fx_fini(&d);
}

static void test_its_drv_two_level_device_table(void **state)
{
	struct drv_fx d;
	uint32_t lpi;
	uint64_t before;

	(void)state;
	drv_fx_init(&d, 20);	/* flat would be 8 MiB: two-level */
	assert_int_equal(uio_its_drv_probe(d.pool, ITS_BASE, 2, 16, &d.drv), 0);
	assert_true(UIO_FEX64(its_ld(&d.f, GITS_BASER0, 8), GITS_BASER, INDIRECT));
	before = pool_in_use(&d);
	assert_int_equal(uio_its_drv_map_device(d.drv, 5, 4), 0);
	assert_int_equal(uio_its_drv_map_device(d.drv, 70000, 4), 0);
	assert_int_equal(uio_its_drv_map_device(d.drv, 70001, 4), 0);
	/* two level 2 pages, three ITTs */
	assert_int_equal(pool_in_use(&d) - before, 2 * 65536 + 3 * 4096);
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 1, &lpi), 0);
	assert_int_equal(uio_its_drv_map_event(d.drv, 70000, 3, lpi, 1), 0);
	msi(&d.f, 70000, 3);
	expect_last(&d.f, 1, lpi);
	assert_int_equal(uio_its_drv_unmap_device(d.drv, 5), 0);
	uio_its_drv_free_lpis(d.drv, lpi, 1);
	uio_its_drv_remove(d.drv);
	drv_fx_fini(&d);
}

static void test_its_drv_rejects_bad_requests(void **state)
{
	struct drv_fx d;
	struct uio_its_drv *none = NULL;
	uint32_t a, b;

	(void)state;
	drv_fx_init(&d, 16);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uio_its_drv_probe(d.pool, RAM_BASE, 1, 16, &none),
			 -ENODEV);
	assert_int_equal(uio_its_drv_probe(d.pool, ITS_BASE, 0, 16, &none),
			 -EINVAL);
	assert_null(none);
	assert_int_equal(uio_its_drv_probe(d.pool, ITS_BASE, NR_CPUS, 14,
					   &d.drv), 0);
	assert_int_equal(uio_its_drv_map_device(d.drv, 1u << 16, 1), -ERANGE);
	assert_int_equal(uio_its_drv_map_device(d.drv, 1, (1u << 16) + 1),
			 -ERANGE);
	assert_int_equal(uio_its_drv_map_device(d.drv, 1, 0), -ERANGE);
	assert_int_equal(uio_its_drv_map_device(d.drv, 1, 3), 0);
	assert_int_equal(uio_its_drv_map_device(d.drv, 1, 3), -EEXIST);
	assert_int_equal(uio_its_drv_map_event(d.drv, 2, 0, 8192, 0), -ENOENT);
	assert_int_equal(uio_its_drv_map_event(d.drv, 1, 4, 8192, 0), -ERANGE);
	assert_int_equal(uio_its_drv_map_event(d.drv, 1, 0, 8191, 0), -ERANGE);
	assert_int_equal(uio_its_drv_map_event(d.drv, 1, 0, 16384, 0), -ERANGE);
	assert_int_equal(uio_its_drv_map_event(d.drv, 1, 0, 8192, NR_CPUS),
			 -ERANGE);
	assert_int_equal(uio_its_drv_unmap_device(d.drv, 2), -ENOENT);
	/* 8192 LPIs with 14 bits: first fit, holes reused */
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 8000, &a), 0);
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 193, &b), -ENOSPC);
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 192, &b), 0);
	assert_int_equal(b, 8192 + 8000);
	uio_its_drv_free_lpis(d.drv, a + 10, 20);
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 21, &b), -ENOSPC);
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 20, &b), 0);
	assert_int_equal(b, a + 10);
	assert_int_equal(uio_its_drv_alloc_lpis(d.drv, 0, &b), -EINVAL);
	tu_log_release();
	assert_int_equal(stats(&d.f).command_errors, 0);
	assert_int_equal(uio_its_drv_unmap_device(d.drv, 1), 0);
	uio_its_drv_remove(d.drv);
	drv_fx_fini(&d);
}

static void test_its_drv_recovers_from_a_stalled_queue(void **state)
{
	struct drv_fx d;
	uint64_t baser, creadr;

	(void)state;
	drv_fx_init(&d, 16);
	assert_int_equal(uio_its_drv_probe(d.pool, ITS_BASE, NR_CPUS, 16,
					   &d.drv), 0);
	assert_int_equal(uio_its_drv_map_device(d.drv, 3, 8), 0);
	/* someone wipes the device table entry: MAPTI fails, the queue
	 * stalls, the driver repairs it and reports -EIO */
	baser = its_ld(&d.f, GITS_BASER0, 8);
	ram_st(&d.f, (UIO_FEX64(baser, GITS_BASER, PA) << 12) + 3 * 8, 8, 0);
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(uio_its_drv_map_event(d.drv, 3, 0, 8192, 0), -EIO);
	assert_non_null(strstr(tu_log_text(), "command error 0x010a04"));
	tu_log_release();
	creadr = its_ld(&d.f, GITS_CREADR, 8);
	assert_false(UIO_FEX64(creadr, GITS_CREADR, STALLED));
	assert_int_equal(stats(&d.f).command_errors, 1);
	/* and the queue works again */
	assert_int_equal(uio_its_drv_map_device(d.drv, 4, 8), 0);
	assert_int_equal(uio_its_drv_map_event(d.drv, 4, 1, 8193, 2), 0);
	msi(&d.f, 4, 1);
	expect_last(&d.f, 2, 8193);
	assert_int_equal(uio_its_drv_unmap_device(d.drv, 4), 0);
	assert_int_equal(uio_its_drv_unmap_device(d.drv, 3), 0);
	uio_its_drv_remove(d.drv);
	drv_fx_fini(&d);
}

struct drv_sweep {
	struct drv_fx d;
	uint64_t pool_before;
	long live_before;
};

static int drv_probe_and_map(void *opaque)
{
	struct drv_sweep *s = opaque;
	int ret;

	ret = uio_its_drv_probe(s->d.pool, ITS_BASE, NR_CPUS, 16, &s->d.drv);
	if (ret)
		return ret;
	ret = uio_its_drv_map_device(s->d.drv, 7, 16);
	if (ret) {
		uio_its_drv_remove(s->d.drv);
		s->d.drv = NULL;
	}
	return ret;
}

static void drv_probe_failed(void *opaque, int ret)
{
	struct drv_sweep *s = opaque;

	assert_int_equal(ret, -ENOMEM);
	assert_null(s->d.drv);
	assert_int_equal(pool_in_use(&s->d), s->pool_before);
	assert_int_equal(tu_alloc_live_blocks(), s->live_before);
}

static void test_its_drv_fail_nth_sweep(void **state)
{
	struct drv_sweep s;

	(void)state;
	tu_alloc_install(0);
	drv_fx_init(&s.d, 20);
	s.pool_before = pool_in_use(&s.d);
	s.live_before = tu_alloc_live_blocks();
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_true(tu_fail_nth_sweep(&s, drv_probe_and_map, drv_probe_failed,
				      NULL) >= 5);
	msi(&s.d.f, 7, 0);	/* mapped device, unmapped event */
	tu_log_release();
	assert_int_equal(stats(&s.d.f).dropped[UIOMMU_GIC_DROP_EVENT_UNMAPPED], 1);
	assert_int_equal(uio_its_drv_unmap_device(s.d.drv, 7), 0);
	uio_its_drv_remove(s.d.drv);
	drv_fx_fini(&s.d);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* --------------------------------------------------------------- GICv2m */

struct v2m_fx {
	struct fx f;
	struct uiommu_gicv2m *v2m;
};

static int v2m_setup(void **state)
{
	struct uiommu_gicv2m_config cfg = { "v2m0", V2M_BASE, 64, 32 };
	struct v2m_fx *v = calloc(1, sizeof(*v));

	pthread_mutex_init(&v->f.rec_lock, NULL);
	new_physmem(&v->f);
	assert_int_equal(uiommu_gicv2m_create(v->f.pm, &cfg, &v->v2m), 0);
	assert_int_equal(uiommu_gicv2m_set_handler(v->v2m, record_irq, &v->f), 0);
	*state = v;
	return 0;
}

static int v2m_teardown(void **state)
{
	struct v2m_fx *v = *state;

	assert_int_equal(uiommu_gicv2m_check(v->v2m), 0);
	uiommu_gicv2m_destroy(v->v2m);
	uiommu_physmem_destroy(v->f.pm);
	pthread_mutex_destroy(&v->f.rec_lock);
	free(v);
	return 0;
}

static void v2m_write(struct v2m_fx *v, uint32_t source, bool valid,
		      unsigned int size, uint64_t data)
{
	struct uiommu_memattrs a = {
		.source_id = source,
		.flags = valid ? UIOMMU_MEMATTR_SOURCE_VALID : 0,
	};

	assert_int_equal(uiommu_phys_st(v->f.pm, uiommu_gicv2m_doorbell(v->v2m),
					size, data, &a), 0);
}

static void test_v2m_registers(void **state)
{
	struct v2m_fx *v = *state;
	struct uiommu_region_info info;
	uint64_t typer, iidr;

	assert_int_equal(uiommu_phys_ld(v->f.pm, V2M_BASE + V2M_MSI_TYPER, 4,
					&typer, NULL), 0);
	assert_int_equal(UIO_FEX64(typer, V2M_MSI_TYPER, BASE), 64);
	assert_int_equal(UIO_FEX64(typer, V2M_MSI_TYPER, NUMBER), 32);
	assert_int_equal(uiommu_phys_ld(v->f.pm, V2M_BASE + V2M_MSI_IIDR, 4,
					&iidr, NULL), 0);
	assert_int_equal(UIO_FEX64(iidr, V2M_MSI_IIDR, IMPLEMENTER), 0x43B);
	assert_false(uiommu_gicv2m_isolating(v->v2m));
	assert_int_equal(uiommu_gicv2m_doorbell(v->v2m), V2M_BASE + 0x40);
	assert_int_equal(uiommu_physmem_lookup(v->f.pm, V2M_BASE + 0x40, &info), 0);
	assert_true(info.doorbell);
	assert_int_equal(info.size, 0x1000);
	assert_int_equal(info.nregs, 3);
	assert_string_equal(info.regs[1].name, "MSI_SETSPI_NS");
	assert_int_equal(info.regs[1].offset, 0x40);
	assert_string_equal(info.regs[2].name, "MSI_IIDR");
	assert_int_equal(info.regs[2].offset, 0xFCC);
}

static void test_v2m_get_info(void **state)
{
	struct v2m_fx *v = *state;
	struct uiommu_gicv2m_info info;
	uint64_t typer, iidr;

	assert_int_equal(uiommu_gicv2m_get_info(v->v2m, &info), 0);
	assert_int_equal(info.base, V2M_BASE);
	assert_int_equal(info.doorbell, uiommu_gicv2m_doorbell(v->v2m));
	assert_int_equal(info.spi_base, 64);
	assert_int_equal(info.nr_spis, 32);
	assert_int_equal(uiommu_phys_ld(v->f.pm, V2M_BASE + V2M_MSI_TYPER, 4,
					&typer, NULL), 0);
	assert_int_equal(uiommu_phys_ld(v->f.pm, V2M_BASE + V2M_MSI_IIDR, 4,
					&iidr, NULL), 0);
	assert_int_equal(info.msi_typer, typer);
	assert_int_equal(info.msi_iidr, iidr);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_gicv2m_get_info(NULL, &info), -EINVAL);
	assert_int_equal(uiommu_gicv2m_get_info(v->v2m, NULL), -EINVAL);
	tu_log_release();
}

static void test_v2m_setspi_from_any_source(void **state)
{
	struct v2m_fx *v = *state;
	struct uiommu_gicv2m_stats st;

	v2m_write(v, 0x10, true, 4, 64);
	v2m_write(v, 0x2345, true, 4, 95);
	v2m_write(v, 0, false, 4, 70);		/* no source ID at all */
	assert_int_equal(v->f.nrecs, 3);
	assert_int_equal(v->f.recs[0].intid, 64);
	assert_int_equal(v->f.recs[1].intid, 95);
	assert_int_equal(v->f.recs[2].intid, 70);
	assert_int_equal(v->f.recs[2].cpu, 0);
	uiommu_gicv2m_get_stats(v->v2m, &st);
	assert_int_equal(st.delivered, 3);
}

static void test_v2m_out_of_range_dropped(void **state)
{
	struct v2m_fx *v = *state;
	struct uiommu_gicv2m_stats st;

	tu_log_capture(UIOMMU_LOG_WARN);
	v2m_write(v, 1, true, 4, 63);
	v2m_write(v, 1, true, 4, 96);
	v2m_write(v, 1, true, 4, 0x10040);	/* reserved bits set */
	v2m_write(v, 1, true, 1, 64);		/* byte write */
	assert_int_equal(uiommu_gicv2m_set_handler(v->v2m, NULL, NULL), 0);
	v2m_write(v, 1, true, 4, 64);
	tu_log_release();
	assert_int_equal(v->f.nrecs, 0);
	uiommu_gicv2m_get_stats(v->v2m, &st);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_SPI_OOR], 3);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_BAD_ACCESS], 1);
	assert_int_equal(st.dropped[UIOMMU_GIC_DROP_NO_HANDLER], 1);
	assert_int_equal(st.delivered, 0);
	assert_string_equal(uiommu_gic_drop_name(UIOMMU_GIC_DROP_SPI_OOR),
			    "spi-oor");
}

static void test_v2m_create_rejects_bad_config(void **state)
{
	struct uiommu_gicv2m_config cfg = { "v2m1", V2M_BASE + 0x1000, 31, 4 };
	struct v2m_fx *v = *state;
	struct uiommu_gicv2m *x = NULL;

	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_gicv2m_create(v->f.pm, &cfg, &x), -EINVAL);
	cfg.spi_base = 1000;
	cfg.nr_spis = 21;
	assert_int_equal(uiommu_gicv2m_create(v->f.pm, &cfg, &x), -EINVAL);
	cfg.nr_spis = 0;
	assert_int_equal(uiommu_gicv2m_create(v->f.pm, &cfg, &x), -EINVAL);
	cfg.nr_spis = 20;
	cfg.base = V2M_BASE + 0x800;
	assert_int_equal(uiommu_gicv2m_create(v->f.pm, &cfg, &x), -EINVAL);
	cfg.base = V2M_BASE;	/* taken */
	assert_int_equal(uiommu_gicv2m_create(v->f.pm, &cfg, &x), -EEXIST);
	tu_log_release();
	assert_null(x);
	cfg.base = V2M_BASE + 0x1000;
	assert_int_equal(uiommu_gicv2m_create(v->f.pm, &cfg, &x), 0);
	uiommu_gicv2m_destroy(x);
}

static void test_v2m_drv_allocates_spis_and_raises_them(void **state)
{
	struct v2m_fx *v = *state;
	struct uio_v2m_drv *drv, *none = NULL;
	uint32_t base, n, a, b;

	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uio_v2m_drv_probe(v->f.pm, RAM_BASE, &none), -ENODEV);
	assert_int_equal(uio_v2m_drv_probe(v->f.pm, V2M_BASE + 0x1000, &none),
			 -ENODEV);
	tu_log_release();
	assert_null(none);
	assert_int_equal(uio_v2m_drv_probe(v->f.pm, V2M_BASE, &drv), 0);
	uio_v2m_drv_range(drv, &base, &n);
	assert_int_equal(base, 64);
	assert_int_equal(n, 32);
	assert_int_equal(uio_v2m_drv_alloc_spis(drv, 30, &a), 0);
	assert_int_equal(a, 64);
	assert_int_equal(uio_v2m_drv_alloc_spis(drv, 3, &b), -ENOSPC);
	assert_int_equal(uio_v2m_drv_alloc_spis(drv, 2, &b), 0);
	assert_int_equal(b, 94);
	uio_v2m_drv_free_spis(drv, a + 4, 2);
	assert_int_equal(uio_v2m_drv_alloc_spis(drv, 2, &b), 0);
	assert_int_equal(b, 68);
	v2m_write(v, 0x77, true, 4, b);
	assert_int_equal(v->f.nrecs, 1);
	assert_int_equal(v->f.recs[0].intid, 68);
	assert_int_equal(uio_v2m_drv_doorbell(drv), uiommu_gicv2m_doorbell(v->v2m));
	uio_v2m_drv_remove(drv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_its_registers_after_reset),
		cmocka_unit_test_setup_teardown(test_its_frames_in_address_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_cbaser_only_while_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_mapti_delivers_once_to_target_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_mapi_uses_eventid_as_lpi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_deviceid_comes_only_from_side_band, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_translation_drops_counted_by_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_movi_moves_the_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_movi_moves_pending_state, setup_prop, teardown),
		cmocka_unit_test_setup_teardown(test_its_movall_moves_pending_lpis, setup_prop, teardown),
		cmocka_unit_test_setup_teardown(test_its_discard_drops_later_msis, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_discard_clears_pending, setup_prop, teardown),
		cmocka_unit_test_setup_teardown(test_its_int_raises_without_a_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_int_clear_act_on_pending_state, setup_prop, teardown),
		cmocka_unit_test_setup_teardown(test_its_config_change_needs_inv, setup_prop, teardown),
		cmocka_unit_test_setup_teardown(test_its_pending_without_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_sync_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_two_level_device_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_command_errors_stall_until_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_command_errors_skipped_in_skip_mode, setup_skip, teardown),
		cmocka_unit_test_setup_teardown(test_its_unknown_commands_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_queue_wraps_around, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_cwriter_beyond_queue_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_tables_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_survives_scribbled_tables_and_odd_accesses, setup, teardown),
		cmocka_unit_test(test_its_lpi_config_table_outside_ram),
		cmocka_unit_test(test_its_create_rejects_bad_config),
		cmocka_unit_test(test_create_fail_nth_sweep),
		cmocka_unit_test_setup_teardown(test_its_translater_races_commands, setup, teardown),
		cmocka_unit_test(test_its_drv_maps_devices_and_events),
		cmocka_unit_test(test_its_drv_two_level_device_table),
		cmocka_unit_test(test_its_drv_rejects_bad_requests),
		cmocka_unit_test(test_its_drv_recovers_from_a_stalled_queue),
		cmocka_unit_test(test_its_drv_fail_nth_sweep),
		cmocka_unit_test_setup_teardown(test_its_walk_returns_what_was_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_walk_reports_pending_and_unmapped_collection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_walk_two_level_device_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_walk_reports_corrupt_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_get_regs_and_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_its_inspection_rejects_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2m_registers, v2m_setup, v2m_teardown),
		cmocka_unit_test_setup_teardown(test_v2m_get_info, v2m_setup, v2m_teardown),
		cmocka_unit_test_setup_teardown(test_v2m_setspi_from_any_source, v2m_setup, v2m_teardown),
		cmocka_unit_test_setup_teardown(test_v2m_out_of_range_dropped, v2m_setup, v2m_teardown),
		cmocka_unit_test_setup_teardown(test_v2m_create_rejects_bad_config, v2m_setup, v2m_teardown),
		cmocka_unit_test_setup_teardown(test_v2m_drv_allocates_spis_and_raises_them, v2m_setup, v2m_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
