// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the GICv3 ITS model fed arbitrary command-queue contents,
 * register writes, table corruption and device MSIs.
 *
 * Each input is a program for a small interpreter: one opcode byte, then
 * its operands.  The ITS starts programmed (tables, queue, enabled) so
 * inputs reach deep states quickly.  Properties checked:
 * - no crash, no sanitizer report, no hang (every access returns);
 * - the model reports only architectural outcomes: MMIO accesses never
 *   fail, nothing is logged at error level (guest errors are warnings);
 * - uiommu_gic_its_check() holds at the end.
 *
 * Built with -fsanitize=fuzzer when the meson option fuzz is true;
 * otherwise linked with replay.c so that the corpus in corpus/its_cmdq runs
 * as an ordinary test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/gic.h>
#include <uiommu/physmem.h>

#include "bits.h"
#include "gic-its.h"

#define RAM_BASE	UINT64_C(0x40000000)
#define RAM_SIZE	UINT64_C(0x40000)
#define ITS_BASE	UINT64_C(0x08080000)
#define CQ_PA		(RAM_BASE + 0x00000)
#define DT_PA		(RAM_BASE + 0x10000)
#define CT_PA		(RAM_BASE + 0x20000)
#define PROP_PA		(RAM_BASE + 0x30000)	/* 8 KiB: LPIs 8192..16383 */
#define ITT_AREA	(RAM_BASE + 0x38000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

struct state {
	struct uiommu_physmem *pm;
	struct uiommu_gic_its *its;
	uint64_t cw;
	unsigned int depth;
	unsigned long irqs;
};

static void on_log(void *opaque, enum uiommu_log_level level,
		   const char *subsys, const char *msg)
{
	(void)opaque;
	if (level == UIOMMU_LOG_ERR) {
		fprintf(stderr, "unexpected error from %s: %s\n", subsys, msg);
		abort();
	}
}

static void must(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "%s failed: %d\n", what, ret);
		abort();
	}
}

static void reg_st(struct state *s, uint64_t off, unsigned int size,
		   uint64_t v)
{
	must(uiommu_phys_st(s->pm, ITS_BASE + off, size, v, NULL), "MMIO write");
}

static void msi(struct state *s, uint32_t devid, uint32_t eventid,
		bool valid, unsigned int size)
{
	struct uiommu_memattrs a = {
		.source_id = devid,
		.flags = valid ? UIOMMU_MEMATTR_SOURCE_VALID : 0,
	};

	must(uiommu_phys_st(s->pm, uiommu_gic_its_doorbell(s->its), size,
			    eventid & (size == 8 ? UINT64_MAX
				       : (UINT64_C(1) << 8 * size) - 1), &a),
	     "MSI write");
}

/* A handler that sometimes re-enters the ITS, as a real one may. */
static void on_irq(void *opaque, unsigned int cpu, uint32_t intid)
{
	struct state *s = opaque;

	s->irqs++;
	if (s->depth == 0 && (intid & 3) == 0) {
		s->depth++;
		msi(s, cpu, intid & 15, true, 4);
		reg_st(s, GITS_CWRITER, 8, s->cw);
		s->depth--;
	}
}

static uint64_t baser_value(uint64_t pa, bool indirect)
{
	uint64_t v = 0;

	v = UIO_FDP64(v, GITS_BASER, VALID, 1);
	v = UIO_FDP64(v, GITS_BASER, INDIRECT, indirect);
	v = UIO_FDP64(v, GITS_BASER, PA, pa >> 12);
	return v;
}

static void start(struct state *s, struct input *in)
{
	struct uiommu_gic_its_config cfg = { 0 };
	uint64_t b = take(in, 2), cbaser = 0;

	cfg.name = "fuzz-its";
	cfg.base = ITS_BASE;
	cfg.nr_cpus = 2;
	cfg.devid_bits = 1 + (b & 15);
	cfg.eventid_bits = 1 + (b >> 4 & 15);
	cfg.cid_bits = 1 + (b >> 8 & 15);
	cfg.lpi_bits = 14;
	cfg.lpi_config_table = b >> 12 & 1;
	cfg.lpi_config_base = PROP_PA;
	cfg.error_mode = b >> 13 & 1 ? UIOMMU_GIC_ITS_ERR_SKIP
				     : UIOMMU_GIC_ITS_ERR_STALL;
	must(uiommu_physmem_create(40, &s->pm), "physmem");
	must(uiommu_physmem_add_ram(s->pm, "ram", RAM_BASE, RAM_SIZE, NULL,
				    NULL), "RAM");
	must(uiommu_gic_its_create(s->pm, &cfg, &s->its), "ITS");
	must(uiommu_gic_its_set_handler(s->its, 0, on_irq, s), "handler");
	must(uiommu_gic_its_set_handler(s->its, 1, on_irq, s), "handler");
	reg_st(s, GITS_BASER0, 8, baser_value(DT_PA, b >> 14 & 1));
	reg_st(s, GITS_BASER0 + 8, 8, baser_value(CT_PA, false));
	cbaser = UIO_FDP64(cbaser, GITS_CBASER, VALID, 1);
	cbaser = UIO_FDP64(cbaser, GITS_CBASER, PA, CQ_PA >> 12);
	reg_st(s, GITS_CBASER, 8, cbaser);
	reg_st(s, GITS_CTLR, 4, 1);
}

static void put_cmd(struct state *s, const uint64_t *c)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		must(uiommu_phys_st(s->pm, CQ_PA + s->cw + 8 * i, 8, c[i], NULL),
		     "queue write");
	s->cw = (s->cw + GITS_CMD_SIZE) % 4096;
}

/* A command with fields biased towards mapped, in-range values. */
static void structured_cmd(struct state *s, struct input *in)
{
	static const uint8_t ops[] = {
		GITS_CMD_MAPD, GITS_CMD_MAPC, GITS_CMD_MAPTI, GITS_CMD_MAPI,
		GITS_CMD_MOVI, GITS_CMD_DISCARD, GITS_CMD_INV, GITS_CMD_INVALL,
		GITS_CMD_INT, GITS_CMD_CLEAR, GITS_CMD_SYNC, GITS_CMD_MOVALL,
		0x2A,
	};
	uint64_t c[4] = { 0 }, f = take(in, 8);

	c[0] = UIO_FDP64(ops[(f & 0xff) % sizeof(ops)], GITS_CMD0, DEVICEID,
			 f >> 8 & 7);
	c[1] = UIO_FDP64(0, GITS_CMD1, EVENTID, f >> 11 & 15);
	c[1] = UIO_FDP64(c[1], GITS_CMD1, PINTID, 8180 + (f >> 15 & 0x3fff));
	if ((c[0] & 0xff) == GITS_CMD_MAPD) {
		c[1] = UIO_FDP64(0, GITS_CMD1, SIZE, f >> 11 & 7);
		c[2] = UIO_FDP64(0, GITS_CMD2, ITT_ADDR,
				 (ITT_AREA >> 8) + (f >> 29 & 63) * 8);
	} else {
		c[2] = UIO_FDP64(0, GITS_CMD2, ICID, f >> 29 & 7);
		c[2] = UIO_FDP64(c[2], GITS_CMD2, RDBASE, f >> 32 & 3);
	}
	c[2] = UIO_FDP64(c[2], GITS_CMD2, VALID, (f >> 34 & 7) != 0);
	c[3] = UIO_FDP64(0, GITS_CMD3, RDBASE2, f >> 37 & 3);
	put_cmd(s, c);
}

static uint64_t reg_offset(uint64_t sel)
{
	static const uint16_t regs[] = {
		GITS_CTLR, GITS_IIDR, GITS_TYPER, GITS_CBASER, GITS_CWRITER,
		GITS_CREADR, GITS_BASER0, GITS_BASER0 + 8, GITS_BASER0 + 16,
		GITS_PIDR2,
	};

	/* mostly real registers, sometimes anywhere in the frame */
	if ((sel & 0xff) < 200)
		return regs[(sel & 0xff) % UIO_ARRAY_SIZE(regs)];
	return (sel >> 8) & 0xfff8;
}

static void step(struct state *s, struct input *in)
{
	uint64_t op = take(in, 1), a, v;
	unsigned int size;
	uint64_t raw[4];

	switch (op % 8) {
	case 0:
		for (size = 0; size < 4; size++)
			raw[size] = take(in, 8);
		put_cmd(s, raw);
		break;
	case 1:
		structured_cmd(s, in);
		break;
	case 2:
		a = take(in, 1);
		reg_st(s, GITS_CWRITER, 8, (a & 0x80 ? s->cw : a * 32) | (a & 1));
		break;
	case 3:
		a = reg_offset(take(in, 2));
		size = take(in, 1) & 1 ? 8 : 4;
		v = take(in, 8);
		reg_st(s, a & ~(uint64_t)(size - 1), size, v);
		break;
	case 4:
		a = take(in, 2);
		size = 1u << (a >> 14);
		msi(s, a & 15, a >> 4 & 31, !(a & 0x200), size);
		break;
	case 5:
		a = take(in, 3) % RAM_SIZE & ~UINT64_C(7);
		must(uiommu_phys_st(s->pm, RAM_BASE + a, 8, take(in, 8), NULL),
		     "RAM write");
		break;
	case 6:
		a = reg_offset(take(in, 2)) & ~UINT64_C(3);
		must(uiommu_phys_ld(s->pm, ITS_BASE + a, 4, &v, NULL), "MMIO read");
		break;
	default:
		a = take(in, 1);
		must(uiommu_gic_its_set_handler(s->its, a & 1,
						a & 2 ? on_irq : NULL, s),
		     "handler");
		break;
	}
}

static int check_translation(void *opaque,
			     const struct uiommu_gic_its_translation *t)
{
	(void)opaque;
	/* A mapping the walk calls good names an LPI (8192 and up). */
	if (t->ok && t->intid < 8192)
		abort();
	return 0;
}

/*
 * What `uiommu info its` does, on whatever the input left in the tables:
 * the walk and the register snapshot must cope with any of it and change
 * nothing the ITS counts.
 */
static void inspect(struct state *s)
{
	struct uiommu_gic_its_stats before, after;
	struct uiommu_gic_its_regs regs;

	uiommu_gic_its_get_stats(s->its, &before);
	must(uiommu_gic_its_for_each_translation(s->its, check_translation,
						 NULL), "translation walk");
	must(uiommu_gic_its_get_regs(s->its, &regs), "register snapshot");
	uiommu_gic_its_get_stats(s->its, &after);
	if (memcmp(&before, &after, sizeof(before)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct state s;

	memset(&s, 0, sizeof(s));
	uiommu_set_log_handler(on_log, NULL);
	uiommu_set_log_level(UIOMMU_LOG_ERR);
	start(&s, &in);
	while (in.left)
		step(&s, &in);
	inspect(&s);
	must(uiommu_gic_its_check(s.its), "invariants");
	uiommu_gic_its_destroy(s.its);
	uiommu_physmem_destroy(s.pm);
	return 0;
}
