// SPDX-License-Identifier: MIT
/*
 * GICv3 Interrupt Translation Service model (Arm IHI 0069H.b).
 *
 * Organisation:
 * - registers of the control frame (GITS_CTLR ... GITS_BASER<n>) and of the
 *   translation frame (GITS_TRANSLATER), served as two physmem MMIO regions;
 * - table walks: GITS_BASER<n> decode, flat and two-level (Indirect) device
 *   and collection tables, ITTs; all of them live in emulated RAM, in the
 *   entry formats documented in gic-its.h (the architecture leaves them
 *   IMPLEMENTATION DEFINED);
 * - LPI state: the redistributors are not modelled.  The model keeps, per
 *   LPI, the pending bit and the redistributor it is pending at (in place
 *   of the redistributors' LPI Pending tables), and caches each LPI's
 *   Enable bit read from an optional LPI Configuration table in RAM.  As in
 *   hardware, a change to that table is seen only after INV or INVALL;
 * - the command queue: commands run synchronously when GITS_CWRITER is
 *   written (or the ITS is enabled), one thread at a time.
 *
 * Command errors.  With GITS_TYPER.SEIS == 0 the architecture lets an ITS
 * either ignore a command that fails or stall the queue, reporting it with
 * GITS_CREADR.Stalled == 1 until software writes GITS_CWRITER.Retry
 * (IHI 0069H.b, "ITS command errors", GITS_CREADR, GITS_CWRITER).  The model
 * does either, as configured (default: stall).  Every command error is
 * counted with its encoding (stats.last_error) and logged as a guest error.
 * Conditions the architecture calls UNPREDICTABLE rather than command
 * errors (an unknown command, a SYNC to a missing redistributor, a table
 * outside RAM, GITS_CWRITER beyond the queue, a write to GITS_CBASER or
 * GITS_BASER<n> while the ITS is enabled) are logged, counted in
 * stats.ignored and otherwise ignored.
 *
 * Delivery.  An LPI that becomes pending while enabled, with a handler
 * installed for its redistributor, is taken at once: the pending bit is
 * consumed and the handler called, with the model's lock released.
 * Otherwise it stays pending until INV, INVALL, MOVALL or another trigger
 * finds it enabled and handled.
 *
 * Locking.  One mutex (its->lock) protects every register, the LPI state,
 * the handlers and the counters, and serialises all reads and writes of the
 * ITS tables in RAM.  Only one thread runs the command queue at a time
 * (its->processing); a GITS_CWRITER write that finds it busy only moves
 * GITS_CWRITER, and the running thread picks the new commands up.
 */
#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/gic.h>

#include "alloc.h"
#include "bits.h"
#include "gic-its.h"
#include "lock.h"
#include "log.h"
#include "trace.h"

#define SUBSYS "gic-its"

#define ITS_IIDR_VALUE                                                  \
	(UIO_FDP64(0, GITS_IIDR, IMPLEMENTER, 0x43B) |                  \
	 UIO_FDP64(0, GITS_IIDR, PRODUCTID, 0x75))
#define ITS_PIDR2_VALUE                                                 \
	(UIO_FDP64(0, GITS_PIDR2, ARCHREV, 0x3) |                       \
	 UIO_FDP64(0, GITS_PIDR2, JEDEC, 1) |                           \
	 UIO_FDP64(0, GITS_PIDR2, DES_1, 0x3))

/* The two implemented GITS_BASER<n>. */
enum { BASER_DEVICE = 0, BASER_COLLECTION = 1 };

/* Per-LPI state, standing in for the redistributors' tables. */
struct its_lpi {
	uint8_t flags;		/* LPI_* */
	uint16_t target;	/* redistributor the LPI is pending at */
};
#define LPI_PENDING	0x1
#define LPI_CFG_CACHED	0x2	/* LPI_ENABLED holds the Enable bit */
#define LPI_ENABLED	0x4

struct its_handler {
	uiommu_gic_irq_fn fn;
	void *opaque;
};

struct uiommu_gic_its {
	struct uiommu_physmem *pm;
	struct uiommu_gic_its_config cfg;	/* defaults applied; name unused */
	char name[40];
	char ctrl_name[56];
	char tr_name[56];
	char owner[48];

	struct uio_mutex lock;
	/* Everything below is protected by lock. */
	bool enabled;
	bool processing;	/* a thread is running the command queue */
	uint64_t typer;
	uint64_t cbaser;
	uint64_t cwriter;	/* Offset only */
	uint64_t creadr;	/* Offset and Stalled */
	uint64_t baser[GITS_NR_BASER];
	struct its_lpi *lpi;	/* nr_lpis entries, INTID 8192 first */
	uint32_t nr_lpis;
	uint32_t nr_pending;
	struct its_handler *handlers;	/* nr_cpus entries */
	uint32_t drop_logged;	/* bit per drop reason already logged */
	struct uiommu_gic_its_stats stats;
};

/* Internal result of a table walk. */
enum its_status {
	ST_OK = 0,
	ST_DEVICE_OOR,
	ST_DEVICE_UNMAPPED,
	ST_EVENT_OOR,
	ST_EVENT_UNMAPPED,
	ST_COLLECTION_OOR,
	ST_COLLECTION_UNMAPPED,
	ST_FAULT,
};

static const char *const drop_names[UIOMMU_GIC_DROP_NR] = {
	[UIOMMU_GIC_DROP_DISABLED] = "disabled",
	[UIOMMU_GIC_DROP_NO_SOURCE] = "no-source-id",
	[UIOMMU_GIC_DROP_BAD_ACCESS] = "bad-access",
	[UIOMMU_GIC_DROP_DEVICE_OOR] = "device-oor",
	[UIOMMU_GIC_DROP_DEVICE_UNMAPPED] = "device-unmapped",
	[UIOMMU_GIC_DROP_EVENT_OOR] = "event-oor",
	[UIOMMU_GIC_DROP_EVENT_UNMAPPED] = "event-unmapped",
	[UIOMMU_GIC_DROP_COLLECTION_UNMAPPED] = "collection-unmapped",
	[UIOMMU_GIC_DROP_TABLE_FAULT] = "table-fault",
	[UIOMMU_GIC_DROP_SPI_OOR] = "spi-oor",
	[UIOMMU_GIC_DROP_NO_HANDLER] = "no-handler",
};

UIOMMU_API const char *uiommu_gic_drop_name(enum uiommu_gic_drop_reason r)
{
	if ((unsigned int)r >= UIOMMU_GIC_DROP_NR)
		return "?";
	return drop_names[r];
}

static const char *cmd_name(unsigned int cmd)
{
	switch (cmd) {
	case GITS_CMD_MOVI: return "MOVI";
	case GITS_CMD_INT: return "INT";
	case GITS_CMD_CLEAR: return "CLEAR";
	case GITS_CMD_SYNC: return "SYNC";
	case GITS_CMD_MAPD: return "MAPD";
	case GITS_CMD_MAPC: return "MAPC";
	case GITS_CMD_MAPTI: return "MAPTI";
	case GITS_CMD_MAPI: return "MAPI";
	case GITS_CMD_INV: return "INV";
	case GITS_CMD_INVALL: return "INVALL";
	case GITS_CMD_MOVALL: return "MOVALL";
	case GITS_CMD_DISCARD: return "DISCARD";
	default: return "unknown";
	}
}

/* ------------------------------------------------------------ RAM access */

/*
 * The ITS reaches its tables through host pointers, never through MMIO:
 * a table the driver placed on a device (or on the ITS's own frames) is a
 * bus error for the ITS, which keeps the model from re-entering itself.
 */
static int ram_ld64(struct uiommu_gic_its *its, uint64_t pa, uint64_t *val)
{
	uint64_t *p;

	uio_assert_held(&its->lock);
	if (pa & 7)
		return -EFAULT;
	p = uiommu_phys_host_ptr(its->pm, pa, 8);
	if (!p)
		return -EFAULT;
	*val = le64toh(__atomic_load_n(p, __ATOMIC_RELAXED));
	return 0;
}

static int ram_st64(struct uiommu_gic_its *its, uint64_t pa, uint64_t val)
{
	uint64_t *p;

	uio_assert_held(&its->lock);
	if (pa & 7)
		return -EFAULT;
	p = uiommu_phys_host_ptr(its->pm, pa, 8);
	if (!p)
		return -EFAULT;
	__atomic_store_n(p, htole64(val), __ATOMIC_RELAXED);
	return 0;
}

static int ram_ld8(struct uiommu_gic_its *its, uint64_t pa, uint8_t *val)
{
	uint8_t *p;

	uio_assert_held(&its->lock);
	p = uiommu_phys_host_ptr(its->pm, pa, 1);
	if (!p)
		return -EFAULT;
	*val = __atomic_load_n(p, __ATOMIC_RELAXED);
	return 0;
}

/* ----------------------------------------------------------- the tables */

/* A decoded GITS_BASER<n> (IHI 0069H.b, GITS_BASER<n>). */
struct its_table {
	bool valid;
	bool indirect;
	uint64_t base;
	uint64_t page_size;
	uint64_t size;		/* bytes of the (level 1) table */
	uint32_t esz;		/* entry size in bytes */
};

static uint64_t page_size_bytes(uint64_t field)
{
	switch (field) {
	case GITS_PAGE_4K: return 4096;
	case GITS_PAGE_16K: return 16384;
	default: return 65536;	/* writes turn the reserved 0b11 into 64K */
	}
}

static void baser_decode(uint64_t v, struct its_table *t)
{
	t->valid = UIO_FEX64(v, GITS_BASER, VALID);
	t->indirect = UIO_FEX64(v, GITS_BASER, INDIRECT);
	t->page_size = page_size_bytes(UIO_FEX64(v, GITS_BASER, PAGE_SIZE));
	t->esz = (uint32_t)UIO_FEX64(v, GITS_BASER, ENTRY_SIZE) + 1;
	t->size = (UIO_FEX64(v, GITS_BASER, SIZE) + 1) * t->page_size;
	t->base = UIO_FEX64(v, GITS_BASER, PA) << GITS_BASER_PA_SHIFT;
	if (t->page_size == 65536) {
		/* 64K pages: PA[51:48] sits in bits [15:12] */
		t->base = uio_align_down(t->base, 65536) |
			  UIO_FEX64(v, GITS_BASER, PA_HI64K) << 48;
	} else {
		t->base = uio_align_down(t->base, t->page_size);
	}
}

/*
 * Address of the entry for @id in the table of GITS_BASER<@n>.
 * Return: 0; -ERANGE if the table is not valid or too small for @id;
 * -ENOENT if the level 1 entry covering @id is not valid; -EFAULT if the
 * level 1 table is not in RAM.
 */
static int table_entry(struct uiommu_gic_its *its, unsigned int n,
		       uint64_t id, uint64_t *pa)
{
	struct its_table t;
	uint64_t per_page, l1e;
	int ret;

	baser_decode(its->baser[n], &t);
	if (!t.valid)
		return -ERANGE;
	if (!t.indirect) {
		if (id >= t.size / t.esz)
			return -ERANGE;
		*pa = t.base + id * t.esz;
		return 0;
	}
	per_page = t.page_size / t.esz;
	if (id / per_page >= t.size / GITS_L1E_SIZE)
		return -ERANGE;
	ret = ram_ld64(its, t.base + id / per_page * GITS_L1E_SIZE, &l1e);
	if (ret)
		return ret;
	if (!UIO_FEX64(l1e, GITS_L1E, VALID))
		return -ENOENT;
	*pa = uio_align_down(UIO_FEX64(l1e, GITS_L1E, PA) << GITS_L1E_PA_SHIFT,
			     t.page_size) + id % per_page * t.esz;
	return 0;
}

static bool id_fits(uint64_t id, unsigned int bits)
{
	return bits >= 64 || id >> bits == 0;
}

/* Slot of @devid in the device table (for MAPD and lookups). */
static enum its_status device_slot(struct uiommu_gic_its *its, uint32_t devid,
				   uint64_t *pa)
{
	int ret;

	if (!id_fits(devid, its->cfg.devid_bits))
		return ST_DEVICE_OOR;
	ret = table_entry(its, BASER_DEVICE, devid, pa);
	if (ret == -EFAULT)
		return ST_FAULT;
	return ret ? ST_DEVICE_OOR : ST_OK;
}

static enum its_status collection_slot(struct uiommu_gic_its *its,
				       uint32_t icid, uint64_t *pa)
{
	int ret;

	if (!id_fits(icid, its->cfg.cid_bits))
		return ST_COLLECTION_OOR;
	ret = table_entry(its, BASER_COLLECTION, icid, pa);
	if (ret == -EFAULT)
		return ST_FAULT;
	return ret ? ST_COLLECTION_OOR : ST_OK;
}

static enum its_status lookup_device(struct uiommu_gic_its *its,
				     uint32_t devid, uint64_t *dte)
{
	enum its_status st;
	uint64_t pa;

	st = device_slot(its, devid, &pa);
	if (st)
		return st;
	if (ram_ld64(its, pa, dte))
		return ST_FAULT;
	return UIO_FEX64(*dte, GITS_DTE, VALID) ? ST_OK : ST_DEVICE_UNMAPPED;
}

/* Target redistributor of collection @icid. */
static enum its_status lookup_collection(struct uiommu_gic_its *its,
					 uint32_t icid, uint32_t *target)
{
	enum its_status st;
	uint64_t pa, cte, rd;

	st = collection_slot(its, icid, &pa);
	if (st)
		return st;
	if (ram_ld64(its, pa, &cte))
		return ST_FAULT;
	if (!UIO_FEX64(cte, GITS_CTE, VALID))
		return ST_COLLECTION_UNMAPPED;
	rd = UIO_FEX64(cte, GITS_CTE, RDBASE);
	if (rd >= its->cfg.nr_cpus) {
		/* only software scribbling on the table can get here */
		uio_guest_error(SUBSYS, "%s: collection %u: table entry 0x%016"
				PRIx64 " names no redistributor", its->name,
				icid, cte);
		return ST_COLLECTION_UNMAPPED;
	}
	*target = (uint32_t)rd;
	return ST_OK;
}

/* A mapped event: where its ITT entry is and what it says. */
struct its_event {
	uint64_t ite_pa;
	uint32_t intid;
	uint32_t icid;
};

static bool lpi_in_range(struct uiommu_gic_its *its, uint64_t intid)
{
	return intid >= UIOMMU_GIC_FIRST_LPI &&
	       intid - UIOMMU_GIC_FIRST_LPI < its->nr_lpis;
}

/* ITT entry address of (@devid, @eventid); ev->intid/icid not filled. */
static enum its_status event_slot(struct uiommu_gic_its *its, uint32_t devid,
				  uint32_t eventid, struct its_event *ev)
{
	enum its_status st;
	uint64_t dte, itt;

	st = lookup_device(its, devid, &dte);
	if (st)
		return st;
	if (!id_fits(eventid, (unsigned int)UIO_FEX64(dte, GITS_DTE, SIZE) + 1))
		return ST_EVENT_OOR;
	itt = UIO_FEX64(dte, GITS_DTE, ITT_ADDR) << GITS_DTE_ITT_ADDR_SHIFT;
	ev->ite_pa = itt + (uint64_t)eventid * GITS_ITE_SIZE;
	return ST_OK;
}

static enum its_status lookup_event(struct uiommu_gic_its *its, uint32_t devid,
				    uint32_t eventid, struct its_event *ev)
{
	enum its_status st;
	uint64_t ite;

	st = event_slot(its, devid, eventid, ev);
	if (st)
		return st;
	if (ram_ld64(its, ev->ite_pa, &ite))
		return ST_FAULT;
	if (!UIO_FEX64(ite, GITS_ITE, VALID))
		return ST_EVENT_UNMAPPED;
	ev->intid = (uint32_t)UIO_FEX64(ite, GITS_ITE, PINTID);
	ev->icid = (uint32_t)UIO_FEX64(ite, GITS_ITE, ICID);
	if (!lpi_in_range(its, ev->intid)) {
		uio_guest_error(SUBSYS, "%s: ITT entry 0x%016" PRIx64
				" at 0x%" PRIx64 " holds no LPI", its->name,
				ite, ev->ite_pa);
		return ST_EVENT_UNMAPPED;
	}
	return ST_OK;
}

/* ------------------------------------------------------------ LPI state */

static struct its_lpi *lpi_state(struct uiommu_gic_its *its, uint32_t intid)
{
	assert(lpi_in_range(its, intid));
	return &its->lpi[intid - UIOMMU_GIC_FIRST_LPI];
}

/* The LPI's Enable bit, read from the configuration table once cached. */
static bool lpi_enabled(struct uiommu_gic_its *its, uint32_t intid)
{
	struct its_lpi *l = lpi_state(its, intid);
	uint8_t cfg;

	if (!its->cfg.lpi_config_table)
		return true;
	if (!(l->flags & LPI_CFG_CACHED)) {
		if (ram_ld8(its, its->cfg.lpi_config_base +
				 (intid - UIOMMU_GIC_FIRST_LPI), &cfg)) {
			uio_guest_error(SUBSYS, "%s: LPI %u: configuration "
					"table at 0x%" PRIx64 " is not RAM",
					its->name, intid,
					its->cfg.lpi_config_base);
			cfg = 0;
		}
		l->flags |= LPI_CFG_CACHED;
		if (UIO_FEX64(cfg, GIC_LPI_CFG, ENABLE))
			l->flags |= LPI_ENABLED;
		else
			l->flags &= (uint8_t)~LPI_ENABLED;
	}
	return l->flags & LPI_ENABLED;
}

static void lpi_set_pending(struct uiommu_gic_its *its, uint32_t intid,
			    uint32_t target)
{
	struct its_lpi *l = lpi_state(its, intid);

	if (!(l->flags & LPI_PENDING))
		its->nr_pending++;
	l->flags |= LPI_PENDING;
	l->target = (uint16_t)target;
}

static void lpi_clear_pending(struct uiommu_gic_its *its, uint32_t intid)
{
	struct its_lpi *l = lpi_state(its, intid);

	if (l->flags & LPI_PENDING)
		its->nr_pending--;
	l->flags &= (uint8_t)~LPI_PENDING;
}

/*
 * Take @intid if it is pending, enabled and its CPU has a handler.  Drops
 * the lock around the callback, so callers must not keep pointers into the
 * model's state across this call.
 */
static void lpi_drain(struct uiommu_gic_its *its, uint32_t intid)
{
	struct its_lpi *l = lpi_state(its, intid);
	struct its_handler h;
	unsigned int cpu;

	uio_assert_held(&its->lock);
	if (!(l->flags & LPI_PENDING) || !lpi_enabled(its, intid))
		return;
	cpu = l->target;
	h = its->handlers[cpu];
	if (!h.fn)
		return;
	lpi_clear_pending(its, intid);
	its->stats.delivered++;
	trace_gic_its_deliver(its->cfg.base, cpu, intid);
	uio_unlock(&its->lock);
	h.fn(h.opaque, cpu, intid);
	uio_lock(&its->lock);
}

static void lpi_drain_all(struct uiommu_gic_its *its)
{
	uint32_t i;

	for (i = 0; i < its->nr_lpis && its->nr_pending; i++)
		if (its->lpi[i].flags & LPI_PENDING)
			lpi_drain(its, UIOMMU_GIC_FIRST_LPI + i);
}

/* INV/INVALL: forget cached configuration so it is read again. */
static void lpi_invalidate(struct uiommu_gic_its *its, uint32_t intid)
{
	lpi_state(its, intid)->flags &= (uint8_t)~LPI_CFG_CACHED;
}

/* ------------------------------------------------------------- commands */

/* What running one command asks of the queue loop. */
struct cmd_result {
	uint32_t error;		/* architectural command error, 0 if none */
	bool ignored;		/* UNPREDICTABLE: logged and ignored */
	bool drain_all;		/* then deliver every deliverable LPI */
	uint32_t drain;		/* then deliver this LPI (0: none) */
};

static void cmd_fail(struct cmd_result *r, unsigned int cmd, uint32_t reason)
{
	r->error = GITS_ERR_CODE(cmd == GITS_CMD_CLEAR ? GITS_ERR_CLEAR_CODE
						       : cmd, reason);
}

static void cmd_ignore(struct uiommu_gic_its *its, struct cmd_result *r,
		       unsigned int cmd, const char *why)
{
	uio_guest_error(SUBSYS, "%s: %s (0x%02x) ignored: %s", its->name,
			cmd_name(cmd), cmd, why);
	r->ignored = true;
}

/* Turn a failed event or collection lookup into the command's error. */
static void cmd_lookup_failed(struct uiommu_gic_its *its,
			      struct cmd_result *r, unsigned int cmd,
			      enum its_status st)
{
	switch (st) {
	case ST_OK:
		assert(0);
		break;
	case ST_DEVICE_OOR:
	case ST_DEVICE_UNMAPPED:
		cmd_fail(r, cmd, GITS_ERR_UNMAPPED_DEVICE);
		break;
	case ST_EVENT_OOR:
		cmd_fail(r, cmd, cmd == GITS_CMD_MAPTI || cmd == GITS_CMD_MAPI
				 ? GITS_ERR_ID_OOR : GITS_ERR_UNMAPPED_INTERRUPT);
		break;
	case ST_EVENT_UNMAPPED:
		cmd_fail(r, cmd, GITS_ERR_UNMAPPED_INTERRUPT);
		break;
	case ST_COLLECTION_OOR:
		cmd_fail(r, cmd, GITS_ERR_COLLECTION_OOR);
		break;
	case ST_COLLECTION_UNMAPPED:
		cmd_fail(r, cmd, GITS_ERR_UNMAPPED_COLLECTION);
		break;
	case ST_FAULT:
		cmd_ignore(its, r, cmd, "a table is not in RAM");
		break;
	}
}

/* IHI 0069H.b, ITS commands: MAPD */
static void cmd_mapd(struct uiommu_gic_its *its, const uint64_t *c,
		     struct cmd_result *r)
{
	uint32_t devid = (uint32_t)UIO_FEX64(c[0], GITS_CMD0, DEVICEID);
	uint64_t size = UIO_FEX64(c[1], GITS_CMD1, SIZE);
	bool valid = UIO_FEX64(c[2], GITS_CMD2, VALID);
	enum its_status st;
	uint64_t pa, dte = 0;

	st = device_slot(its, devid, &pa);
	if (st == ST_FAULT) {
		cmd_ignore(its, r, GITS_CMD_MAPD, "device table not in RAM");
		return;
	}
	if (st) {
		cmd_fail(r, GITS_CMD_MAPD, GITS_ERR_DEVICE_OOR);
		return;
	}
	if (valid && size + 1 > its->cfg.eventid_bits) {
		cmd_fail(r, GITS_CMD_MAPD, GITS_ERR_ITTSIZE_OOR);
		return;
	}
	if (valid) {
		dte = UIO_FDP64(dte, GITS_DTE, VALID, 1);
		dte = UIO_FDP64(dte, GITS_DTE, SIZE, size);
		dte = UIO_FDP64(dte, GITS_DTE, ITT_ADDR,
				UIO_FEX64(c[2], GITS_CMD2, ITT_ADDR));
	}
	if (ram_st64(its, pa, dte))
		cmd_ignore(its, r, GITS_CMD_MAPD, "device table not in RAM");
}

/* IHI 0069H.b, ITS commands: MAPC */
static void cmd_mapc(struct uiommu_gic_its *its, const uint64_t *c,
		     struct cmd_result *r)
{
	uint32_t icid = (uint32_t)UIO_FEX64(c[2], GITS_CMD2, ICID);
	uint64_t rd = UIO_FEX64(c[2], GITS_CMD2, RDBASE);
	bool valid = UIO_FEX64(c[2], GITS_CMD2, VALID);
	enum its_status st;
	uint64_t pa, cte = 0;

	st = collection_slot(its, icid, &pa);
	if (st == ST_FAULT) {
		cmd_ignore(its, r, GITS_CMD_MAPC,
			   "collection table not in RAM");
		return;
	}
	if (st) {
		cmd_fail(r, GITS_CMD_MAPC, GITS_ERR_COLLECTION_OOR);
		return;
	}
	if (valid && rd >= its->cfg.nr_cpus) {
		cmd_fail(r, GITS_CMD_MAPC, GITS_ERR_PROCNUM_OOR_MAPC);
		return;
	}
	if (valid) {
		cte = UIO_FDP64(cte, GITS_CTE, VALID, 1);
		cte = UIO_FDP64(cte, GITS_CTE, RDBASE, rd);
	}
	if (ram_st64(its, pa, cte))
		cmd_ignore(its, r, GITS_CMD_MAPC, "collection table not in RAM");
}

/* IHI 0069H.b, ITS commands: MAPTI and MAPI (pINTID == EventID) */
static void cmd_mapti(struct uiommu_gic_its *its, const uint64_t *c,
		      struct cmd_result *r)
{
	unsigned int cmd = (unsigned int)UIO_FEX64(c[0], GITS_CMD0, CMD);
	uint32_t devid = (uint32_t)UIO_FEX64(c[0], GITS_CMD0, DEVICEID);
	uint32_t eventid = (uint32_t)UIO_FEX64(c[1], GITS_CMD1, EVENTID);
	uint32_t icid = (uint32_t)UIO_FEX64(c[2], GITS_CMD2, ICID);
	uint64_t intid = cmd == GITS_CMD_MAPI
			 ? eventid : UIO_FEX64(c[1], GITS_CMD1, PINTID);
	struct its_event ev;
	enum its_status st;
	uint64_t cte_pa, ite = 0;

	st = event_slot(its, devid, eventid, &ev);
	if (st) {
		cmd_lookup_failed(its, r, cmd, st);
		return;
	}
	if (!lpi_in_range(its, intid)) {
		cmd_fail(r, cmd, GITS_ERR_PHYSICALID_OOR);
		return;
	}
	st = collection_slot(its, icid, &cte_pa);
	if (st) {
		cmd_lookup_failed(its, r, cmd, st);
		return;
	}
	ite = UIO_FDP64(ite, GITS_ITE, VALID, 1);
	ite = UIO_FDP64(ite, GITS_ITE, PINTID, intid);
	ite = UIO_FDP64(ite, GITS_ITE, ICID, icid);
	if (ram_st64(its, ev.ite_pa, ite))
		cmd_ignore(its, r, cmd, "ITT not in RAM");
}

/*
 * The mapped event of a command naming (DeviceID, EventID), with the
 * target of its collection.  Fills @r and returns false on failure.
 */
static bool cmd_event(struct uiommu_gic_its *its, const uint64_t *c,
		      struct cmd_result *r, bool need_collection,
		      struct its_event *ev, uint32_t *target)
{
	unsigned int cmd = (unsigned int)UIO_FEX64(c[0], GITS_CMD0, CMD);
	uint32_t devid = (uint32_t)UIO_FEX64(c[0], GITS_CMD0, DEVICEID);
	uint32_t eventid = (uint32_t)UIO_FEX64(c[1], GITS_CMD1, EVENTID);
	enum its_status st;

	st = lookup_event(its, devid, eventid, ev);
	if (!st && need_collection) {
		st = lookup_collection(its, ev->icid, target);
		/* the ITT names a collection the tables cannot hold */
		if (st == ST_COLLECTION_OOR)
			st = ST_COLLECTION_UNMAPPED;
	}
	if (st) {
		cmd_lookup_failed(its, r, cmd, st);
		return false;
	}
	return true;
}

/* IHI 0069H.b, ITS commands: MOVI */
static void cmd_movi(struct uiommu_gic_its *its, const uint64_t *c,
		     struct cmd_result *r)
{
	uint32_t icid = (uint32_t)UIO_FEX64(c[2], GITS_CMD2, ICID);
	uint32_t old_target, new_target;
	struct its_event ev;
	enum its_status st;
	uint64_t ite = 0;

	if (!cmd_event(its, c, r, true, &ev, &old_target))
		return;
	st = lookup_collection(its, icid, &new_target);
	if (st) {
		cmd_lookup_failed(its, r, GITS_CMD_MOVI, st);
		return;
	}
	ite = UIO_FDP64(ite, GITS_ITE, VALID, 1);
	ite = UIO_FDP64(ite, GITS_ITE, PINTID, ev.intid);
	ite = UIO_FDP64(ite, GITS_ITE, ICID, icid);
	if (ram_st64(its, ev.ite_pa, ite)) {
		cmd_ignore(its, r, GITS_CMD_MOVI, "ITT not in RAM");
		return;
	}
	/* a pending LPI moves with its mapping */
	if (lpi_state(its, ev.intid)->flags & LPI_PENDING)
		lpi_state(its, ev.intid)->target = (uint16_t)new_target;
	r->drain = ev.intid;
}

/* IHI 0069H.b, ITS commands: DISCARD */
static void cmd_discard(struct uiommu_gic_its *its, const uint64_t *c,
			struct cmd_result *r)
{
	struct its_event ev;

	if (!cmd_event(its, c, r, false, &ev, NULL))
		return;
	if (ram_st64(its, ev.ite_pa, 0)) {
		cmd_ignore(its, r, GITS_CMD_DISCARD, "ITT not in RAM");
		return;
	}
	lpi_clear_pending(its, ev.intid);
}

/* IHI 0069H.b, ITS commands: INT, CLEAR and INV */
static void cmd_int_clear_inv(struct uiommu_gic_its *its, const uint64_t *c,
			      struct cmd_result *r)
{
	unsigned int cmd = (unsigned int)UIO_FEX64(c[0], GITS_CMD0, CMD);
	struct its_event ev;
	uint32_t target;

	if (!cmd_event(its, c, r, true, &ev, &target))
		return;
	if (cmd == GITS_CMD_INT)
		lpi_set_pending(its, ev.intid, target);
	else if (cmd == GITS_CMD_CLEAR)
		lpi_clear_pending(its, ev.intid);
	else
		lpi_invalidate(its, ev.intid);
	r->drain = ev.intid;
}

/* IHI 0069H.b, ITS commands: INVALL */
static void cmd_invall(struct uiommu_gic_its *its, const uint64_t *c,
		       struct cmd_result *r)
{
	uint32_t icid = (uint32_t)UIO_FEX64(c[2], GITS_CMD2, ICID);
	enum its_status st;
	uint32_t target, i;

	st = lookup_collection(its, icid, &target);
	if (st) {
		cmd_lookup_failed(its, r, GITS_CMD_INVALL, st);
		return;
	}
	/* the configuration table is shared by every redistributor */
	for (i = 0; i < its->nr_lpis; i++)
		its->lpi[i].flags &= (uint8_t)~LPI_CFG_CACHED;
	r->drain_all = true;
}

/* IHI 0069H.b, ITS commands: MOVALL */
static void cmd_movall(struct uiommu_gic_its *its, const uint64_t *c,
		       struct cmd_result *r)
{
	uint64_t from = UIO_FEX64(c[2], GITS_CMD2, RDBASE);
	uint64_t to = UIO_FEX64(c[3], GITS_CMD3, RDBASE2);
	uint32_t i;

	if (from >= its->cfg.nr_cpus || to >= its->cfg.nr_cpus) {
		cmd_fail(r, GITS_CMD_MOVALL, GITS_ERR_PROCNUM_OOR_MOVALL);
		return;
	}
	for (i = 0; i < its->nr_lpis; i++)
		if ((its->lpi[i].flags & LPI_PENDING) &&
		    its->lpi[i].target == from)
			its->lpi[i].target = (uint16_t)to;
	r->drain_all = true;
}

/* IHI 0069H.b, ITS commands: SYNC.  Commands complete synchronously. */
static void cmd_sync(struct uiommu_gic_its *its, const uint64_t *c,
		     struct cmd_result *r)
{
	if (UIO_FEX64(c[2], GITS_CMD2, RDBASE) >= its->cfg.nr_cpus)
		cmd_ignore(its, r, GITS_CMD_SYNC, "RDbase names no redistributor");
}

static void cmd_run(struct uiommu_gic_its *its, const uint64_t *c,
		    struct cmd_result *r)
{
	unsigned int cmd = (unsigned int)UIO_FEX64(c[0], GITS_CMD0, CMD);

	switch (cmd) {
	case GITS_CMD_MAPD:
		cmd_mapd(its, c, r);
		break;
	case GITS_CMD_MAPC:
		cmd_mapc(its, c, r);
		break;
	case GITS_CMD_MAPTI:
	case GITS_CMD_MAPI:
		cmd_mapti(its, c, r);
		break;
	case GITS_CMD_MOVI:
		cmd_movi(its, c, r);
		break;
	case GITS_CMD_DISCARD:
		cmd_discard(its, c, r);
		break;
	case GITS_CMD_INT:
	case GITS_CMD_CLEAR:
	case GITS_CMD_INV:
		cmd_int_clear_inv(its, c, r);
		break;
	case GITS_CMD_INVALL:
		cmd_invall(its, c, r);
		break;
	case GITS_CMD_MOVALL:
		cmd_movall(its, c, r);
		break;
	case GITS_CMD_SYNC:
		cmd_sync(its, c, r);
		break;
	default:
		/* GICv4 commands included: GITS_TYPER.Virtual == 0 */
		cmd_ignore(its, r, cmd, "not a GICv3 physical command");
		return;
	}
}

static uint64_t queue_bytes(uint64_t cbaser)
{
	return (UIO_FEX64(cbaser, GITS_CBASER, SIZE) + 1) * 4096;
}

static uint64_t queue_base(uint64_t cbaser)
{
	return UIO_FEX64(cbaser, GITS_CBASER, PA) << GITS_CBASER_PA_SHIFT;
}

static int its_check_locked(struct uiommu_gic_its *its);

static void debug_check(struct uiommu_gic_its *its)
{
#if UIOMMU_DEBUG >= 2
	int ret = its_check_locked(its);

	assert(ret == 0);
	(void)ret;
#else
	(void)its;
#endif
}

/* Read the command at GITS_CREADR (one lookup for its 32 bytes); false if
 * the queue is not in RAM. */
static bool cmd_fetch(struct uiommu_gic_its *its, uint64_t off, uint64_t *c)
{
	uint64_t *p;
	unsigned int i;

	uio_assert_held(&its->lock);
	p = uiommu_phys_host_ptr(its->pm, queue_base(its->cbaser) + off,
				 GITS_CMD_SIZE);
	if (!p)
		return false;
	for (i = 0; i < GITS_CMD_SIZE / 8; i++)
		c[i] = le64toh(__atomic_load_n(&p[i], __ATOMIC_RELAXED));
	return true;
}

/* Count and report a command error; true if the queue stalls on it. */
static bool cmd_error(struct uiommu_gic_its *its, unsigned int cmd,
		      uint64_t off, uint32_t code)
{
	bool stall = its->cfg.error_mode == UIOMMU_GIC_ITS_ERR_STALL;

	its->stats.command_errors++;
	its->stats.last_error = code;
	trace_gic_its_cmd_error(its->cfg.base, off, code);
	uio_guest_error(SUBSYS, "%s: %s at queue offset 0x%" PRIx64 ": command "
			"error 0x%06x%s", its->name, cmd_name(cmd), off, code,
			stall ? ", queue stalled" : "");
	if (stall)
		its->creadr = UIO_FDP64(its->creadr, GITS_CREADR, STALLED, 1);
	return stall;
}

/*
 * Run commands from GITS_CREADR up to GITS_CWRITER while the ITS is
 * enabled and not stalled.  Each command advances GITS_CREADR before its
 * interrupts are delivered, so a handler that polls GITS_CREADR sees it
 * complete.
 */
static void queue_run(struct uiommu_gic_its *its)
{
	uint64_t qsize, off, c[GITS_CMD_SIZE / 8];
	struct cmd_result r;
	unsigned int cmd;

	uio_assert_held(&its->lock);
	if (its->processing)
		return;
	its->processing = true;
	while (its->enabled && UIO_FEX64(its->cbaser, GITS_CBASER, VALID) &&
	       !UIO_FEX64(its->creadr, GITS_CREADR, STALLED)) {
		qsize = queue_bytes(its->cbaser);
		off = its->creadr & GITS_CREADR_OFFSET_MASK;
		if (off == its->cwriter)
			break;
		if (its->cwriter >= qsize || off >= qsize) {
			uio_guest_error(SUBSYS, "%s: GITS_CWRITER 0x%" PRIx64
					" beyond the 0x%" PRIx64 "-byte queue",
					its->name, its->cwriter, qsize);
			its->stats.ignored++;
			break;
		}
		memset(&r, 0, sizeof(r));
		if (!cmd_fetch(its, off, c)) {
			uio_guest_error(SUBSYS, "%s: command queue at 0x%" PRIx64
					" is not RAM", its->name,
					queue_base(its->cbaser) + off);
			r.ignored = true;
			cmd = 0;
		} else {
			cmd = (unsigned int)UIO_FEX64(c[0], GITS_CMD0, CMD);
			trace_gic_its_cmd(its->cfg.base, off, cmd, cmd_name(cmd));
			cmd_run(its, c, &r);
		}
		if (r.ignored)
			its->stats.ignored++;
		if (r.error && cmd_error(its, cmd, off, r.error))
			break;
		its->creadr = (off + GITS_CMD_SIZE) % qsize;
		its->stats.commands++;
		debug_check(its);
		if (r.drain_all)
			lpi_drain_all(its);
		else if (r.drain)
			lpi_drain(its, r.drain);
	}
	its->processing = false;
	debug_check(its);
}

/* ------------------------------------------------------------ registers */

static uint64_t ctlr_value(struct uiommu_gic_its *its)
{
	uint64_t v = 0;

	v = UIO_FDP64(v, GITS_CTLR, ENABLED, its->enabled);
	/* commands run synchronously: quiescent once disabled and idle */
	v = UIO_FDP64(v, GITS_CTLR, QUIESCENT,
		      !its->enabled && !its->processing);
	return v;
}

/* The 64-bit word of the control frame at 8-aligned @off. */
static uint64_t ctrl_read_word(struct uiommu_gic_its *its, uint64_t off)
{
	uio_assert_held(&its->lock);
	switch (off) {
	case GITS_CTLR:
		return ctlr_value(its) | ITS_IIDR_VALUE << 32;
	case GITS_TYPER: return its->typer;
	case GITS_CBASER: return its->cbaser;
	case GITS_CWRITER: return its->cwriter;
	case GITS_CREADR: return its->creadr;
	case GITS_PIDR2: return ITS_PIDR2_VALUE;
	default:
		if (off >= GITS_BASER0 && off < GITS_BASER0 + 8 * GITS_NR_BASER)
			return its->baser[(off - GITS_BASER0) / 8];
		return 0;	/* reserved: RAZ */
	}
}

/* Writes that the architecture makes UNPREDICTABLE: logged, ignored. */
static void reg_ignore(struct uiommu_gic_its *its, const char *reg,
		       uint64_t val, const char *why)
{
	uio_guest_error(SUBSYS, "%s: write 0x%016" PRIx64 " to %s ignored: %s",
			its->name, val, reg, why);
	its->stats.ignored++;
}

/* IHI 0069H.b, GITS_CTLR */
static void write_ctlr(struct uiommu_gic_its *its, uint64_t val)
{
	bool en = UIO_FEX64(val, GITS_CTLR, ENABLED);

	if (en == its->enabled)
		return;
	its->enabled = en;
	uio_info(SUBSYS, "%s: %s", its->name, en ? "enabled" : "disabled");
	if (en)
		queue_run(its);
}

/* IHI 0069H.b, GITS_CBASER: writable while the ITS is disabled */
static void write_cbaser(struct uiommu_gic_its *its, uint64_t val)
{
	if (its->enabled || its->processing) {
		reg_ignore(its, "GITS_CBASER", val, "ITS not quiescent");
		return;
	}
	its->cbaser = val & (GITS_CBASER_SIZE_MASK | GITS_CBASER_SHAREABILITY_MASK |
			     GITS_CBASER_PA_MASK | GITS_CBASER_OUTERCACHE_MASK |
			     GITS_CBASER_INNERCACHE_MASK | GITS_CBASER_VALID_MASK);
	/* a write to GITS_CBASER sets GITS_CREADR to 0 and makes GITS_CWRITER
	 * UNKNOWN: the model makes it 0 too, an empty queue */
	its->creadr = 0;
	its->cwriter = 0;
}

/* IHI 0069H.b, GITS_CWRITER */
static void write_cwriter(struct uiommu_gic_its *its, uint64_t val)
{
	uint64_t off = val & GITS_CWRITER_OFFSET_MASK;

	if (UIO_FEX64(its->cbaser, GITS_CBASER, VALID) &&
	    off >= queue_bytes(its->cbaser)) {
		reg_ignore(its, "GITS_CWRITER", val, "beyond the queue");
		return;
	}
	its->cwriter = off;
	if (UIO_FEX64(val, GITS_CWRITER, RETRY))
		its->creadr = UIO_FDP64(its->creadr, GITS_CREADR, STALLED, 0);
	queue_run(its);
}

/* IHI 0069H.b, GITS_BASER<n>: Type and Entry_Size are read-only */
static void write_baser(struct uiommu_gic_its *its, unsigned int n,
			uint64_t val)
{
	uint64_t ro = GITS_BASER_TYPE_MASK | GITS_BASER_ENTRY_SIZE_MASK;
	uint64_t rw = GITS_BASER_SIZE_MASK | GITS_BASER_PAGE_SIZE_MASK |
		      GITS_BASER_SHAREABILITY_MASK | GITS_BASER_PA_MASK |
		      GITS_BASER_OUTERCACHE_MASK | GITS_BASER_INNERCACHE_MASK |
		      GITS_BASER_INDIRECT_MASK | GITS_BASER_VALID_MASK;

	if (UIO_FEX64(its->baser[n], GITS_BASER, TYPE) == GITS_BASER_TYPE_NONE)
		return;		/* unimplemented: RAZ/WI */
	if (its->enabled) {
		reg_ignore(its, "GITS_BASER<n>", val, "ITS enabled");
		return;
	}
	if (UIO_FEX64(val, GITS_BASER, PAGE_SIZE) == 3) {
		uio_guest_error(SUBSYS, "%s: GITS_BASER%u: reserved Page_Size "
				"0b11 taken as 64K", its->name, n);
		val = UIO_FDP64(val, GITS_BASER, PAGE_SIZE, GITS_PAGE_64K);
	}
	its->baser[n] = (its->baser[n] & ro) | (val & rw);
}

static void ctrl_write_word(struct uiommu_gic_its *its, uint64_t off,
			    uint64_t val, uint64_t written)
{
	uio_assert_held(&its->lock);
	switch (off) {
	case GITS_CTLR:
		if (written & UINT32_MAX)
			write_ctlr(its, val);
		break;	/* GITS_IIDR is read-only */
	case GITS_CBASER: write_cbaser(its, val); break;
	case GITS_CWRITER: write_cwriter(its, val); break;
	default:
		if (off >= GITS_BASER0 && off < GITS_BASER0 + 8 * GITS_NR_BASER)
			write_baser(its, (unsigned int)(off - GITS_BASER0) / 8,
				    val);
		/* GITS_TYPER, GITS_CREADR, ID registers, reserved: WI */
		break;
	}
}

static bool access_ok(struct uiommu_gic_its *its, uint64_t off,
		      unsigned int size, const char *dir)
{
	if ((size == 4 || size == 8) && !(off & (size - 1)))
		return true;
	uio_guest_error(SUBSYS, "%s: %u-byte %s at 0x%" PRIx64 " ignored",
			its->name, size, dir, off);
	return false;
}

static int ctrl_read(void *opaque, uint64_t off, unsigned int size,
		     uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_gic_its *its = opaque;
	uint64_t word;

	(void)attrs;
	*val = 0;
	if (!access_ok(its, off, size, "read"))
		return 0;
	uio_lock(&its->lock);
	word = ctrl_read_word(its, off & ~UINT64_C(7));
	uio_unlock(&its->lock);
	*val = size == 8 ? word : (word >> (off & 4) * 8) & UINT32_MAX;
	return 0;
}

static int ctrl_write(void *opaque, uint64_t off, unsigned int size,
		      uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_gic_its *its = opaque;
	uint64_t word, mask;
	unsigned int shift;

	(void)attrs;
	if (!access_ok(its, off, size, "write"))
		return 0;
	shift = size == 8 ? 0 : (unsigned int)(off & 4) * 8;
	mask = size == 8 ? UINT64_MAX : (uint64_t)UINT32_MAX << shift;
	uio_lock(&its->lock);
	trace_gic_its_reg_write(its->cfg.base, off, val);
	word = ctrl_read_word(its, off & ~UINT64_C(7));
	word = (word & ~mask) | ((val << shift) & mask);
	ctrl_write_word(its, off & ~UINT64_C(7), word, mask);
	debug_check(its);
	uio_unlock(&its->lock);
	return 0;
}

/* --------------------------------------------------------- translation */

static void drop(struct uiommu_gic_its *its, enum uiommu_gic_drop_reason why,
		 uint32_t devid, uint32_t eventid)
{
	uio_assert_held(&its->lock);
	its->stats.dropped[why]++;
	trace_gic_its_drop(its->cfg.base, devid, eventid, drop_names[why]);
	/* one line per reason: a misbehaving device must not flood the log */
	if (!(its->drop_logged & (1u << why))) {
		its->drop_logged |= 1u << why;
		uio_guest_error(SUBSYS, "%s: MSI from DeviceID 0x%x EventID 0x%x"
				" dropped: %s (further drops counted only)",
				its->name, devid, eventid, drop_names[why]);
	}
}

static enum uiommu_gic_drop_reason drop_reason(enum its_status st)
{
	switch (st) {
	case ST_DEVICE_OOR: return UIOMMU_GIC_DROP_DEVICE_OOR;
	case ST_DEVICE_UNMAPPED: return UIOMMU_GIC_DROP_DEVICE_UNMAPPED;
	case ST_EVENT_OOR: return UIOMMU_GIC_DROP_EVENT_OOR;
	case ST_EVENT_UNMAPPED: return UIOMMU_GIC_DROP_EVENT_UNMAPPED;
	case ST_COLLECTION_OOR:
	case ST_COLLECTION_UNMAPPED: return UIOMMU_GIC_DROP_COLLECTION_UNMAPPED;
	default: return UIOMMU_GIC_DROP_TABLE_FAULT;
	}
}

/* IHI 0069H.b, GITS_TRANSLATER: the EventID is the data, the DeviceID is
 * the requester's, carried beside the write. */
static void translate(struct uiommu_gic_its *its, uint32_t eventid,
		      const struct uiommu_memattrs *attrs)
{
	uint32_t devid = attrs ? attrs->source_id : 0, target;
	struct its_event ev;
	enum its_status st;

	uio_assert_held(&its->lock);
	if (!its->enabled) {
		drop(its, UIOMMU_GIC_DROP_DISABLED, devid, eventid);
		return;
	}
	if (!attrs || !(attrs->flags & UIOMMU_MEMATTR_SOURCE_VALID)) {
		drop(its, UIOMMU_GIC_DROP_NO_SOURCE, devid, eventid);
		return;
	}
	st = lookup_event(its, devid, eventid, &ev);
	if (!st)
		st = lookup_collection(its, ev.icid, &target);
	if (st) {
		drop(its, drop_reason(st), devid, eventid);
		return;
	}
	its->stats.translations++;
	trace_gic_its_translate(its->cfg.base, devid, eventid, ev.intid, target);
	lpi_set_pending(its, ev.intid, target);
	lpi_drain(its, ev.intid);
}

static int tr_read(void *opaque, uint64_t off, unsigned int size,
		   uint64_t *val, const struct uiommu_memattrs *attrs)
{
	(void)opaque, (void)off, (void)size, (void)attrs;
	*val = 0;	/* GITS_TRANSLATER is write-only; the rest is RAZ */
	return 0;
}

static int tr_write(void *opaque, uint64_t off, unsigned int size,
		    uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_gic_its *its = opaque;

	if (off != GITS_TRANSLATER_OFF)
		return 0;	/* reserved: WI */
	uio_lock(&its->lock);
	/* 16-bit and 32-bit writes are architected */
	if (size == 2 || size == 4)
		translate(its, (uint32_t)val, attrs);
	else
		drop(its, UIOMMU_GIC_DROP_BAD_ACCESS,
		     attrs ? attrs->source_id : 0, (uint32_t)val);
	debug_check(its);
	uio_unlock(&its->lock);
	return 0;
}

static const struct uiommu_mmio_ops ctrl_ops = {
	.read = ctrl_read,
	.write = ctrl_write,
};

static const struct uiommu_mmio_ops tr_ops = {
	.read = tr_read,
	.write = tr_write,
};

/* Register maps: what a DMA mapping of either frame would expose. */
static const struct uiommu_reg_desc ctrl_regs[] = {
	{ "GITS_CTLR", GITS_CTLR, 4 },
	{ "GITS_IIDR", GITS_IIDR, 4 },
	{ "GITS_TYPER", GITS_TYPER, 8 },
	{ "GITS_CBASER", GITS_CBASER, 8 },
	{ "GITS_CWRITER", GITS_CWRITER, 8 },
	{ "GITS_CREADR", GITS_CREADR, 8 },
	{ "GITS_BASER0", GITS_BASER0 + 0x00, 8 },
	{ "GITS_BASER1", GITS_BASER0 + 0x08, 8 },
	{ "GITS_BASER2", GITS_BASER0 + 0x10, 8 },
	{ "GITS_BASER3", GITS_BASER0 + 0x18, 8 },
	{ "GITS_BASER4", GITS_BASER0 + 0x20, 8 },
	{ "GITS_BASER5", GITS_BASER0 + 0x28, 8 },
	{ "GITS_BASER6", GITS_BASER0 + 0x30, 8 },
	{ "GITS_BASER7", GITS_BASER0 + 0x38, 8 },
	{ "GITS_PIDR2", GITS_PIDR2, 4 },
};

static const struct uiommu_reg_desc tr_regs[] = {
	{ "GITS_TRANSLATER", GITS_TRANSLATER_OFF, 4 },
};

/* ---------------------------------------------------------- life cycle */

static uint64_t typer_value(const struct uiommu_gic_its_config *cfg)
{
	uint64_t v = 0;

	v = UIO_FDP64(v, GITS_TYPER, PHYSICAL, 1);
	v = UIO_FDP64(v, GITS_TYPER, ITT_ENTRY_SIZE, GITS_ITE_SIZE - 1);
	v = UIO_FDP64(v, GITS_TYPER, IDBITS, cfg->eventid_bits - 1);
	v = UIO_FDP64(v, GITS_TYPER, DEVBITS, cfg->devid_bits - 1);
	/* SEIS = 0, PTA = 0 (targets are processor numbers), HCC = 0 */
	if (cfg->cid_bits < 16) {
		v = UIO_FDP64(v, GITS_TYPER, CIL, 1);
		v = UIO_FDP64(v, GITS_TYPER, CIDBITS, cfg->cid_bits - 1);
	}
	return v;
}

static uint64_t baser_reset(unsigned int type, unsigned int esz)
{
	uint64_t v = 0;

	v = UIO_FDP64(v, GITS_BASER, TYPE, type);
	v = UIO_FDP64(v, GITS_BASER, ENTRY_SIZE, esz - 1);
	return v;
}

static unsigned int or_default(unsigned int v, unsigned int dflt)
{
	return v ? v : dflt;
}

static int config_apply(const struct uiommu_gic_its_config *in,
			struct uiommu_gic_its_config *c)
{
	*c = *in;
	c->name = NULL;
	c->nr_cpus = or_default(c->nr_cpus, 1);
	c->devid_bits = or_default(c->devid_bits, 20);
	c->eventid_bits = or_default(c->eventid_bits, 16);
	c->cid_bits = or_default(c->cid_bits, 16);
	c->lpi_bits = or_default(c->lpi_bits, 16);
	if (!uio_is_aligned(c->base, UIOMMU_GITS_FRAME_SIZE) ||
	    c->base > UINT64_MAX - 2 * UIOMMU_GITS_FRAME_SIZE + 1)
		return uio_fail(-EINVAL, SUBSYS, "base 0x%" PRIx64
				" is not a 64K-aligned ITS base", c->base);
	if (c->nr_cpus > 4096)
		return uio_fail(-EINVAL, SUBSYS, "nr_cpus %u > 4096", c->nr_cpus);
	if (c->devid_bits > 32 || c->eventid_bits > 32 || c->cid_bits > 16)
		return uio_fail(-EINVAL, SUBSYS, "ID widths %u/%u/%u exceed "
				"32/32/16", c->devid_bits, c->eventid_bits,
				c->cid_bits);
	if (c->lpi_bits < 14 || c->lpi_bits > 20)
		return uio_fail(-EINVAL, SUBSYS, "lpi_bits %u not in 14..20",
				c->lpi_bits);
	if (c->error_mode != UIOMMU_GIC_ITS_ERR_STALL &&
	    c->error_mode != UIOMMU_GIC_ITS_ERR_SKIP)
		return uio_fail(-EINVAL, SUBSYS, "error_mode %d",
				(int)c->error_mode);
	return 0;
}

UIOMMU_API int uiommu_gic_its_create(struct uiommu_physmem *pm,
				     const struct uiommu_gic_its_config *cfg,
				     struct uiommu_gic_its **out)
{
	struct uiommu_mmio_desc desc;
	struct uiommu_gic_its *its;
	const char *name;
	int ret;

	if (!pm || !cfg || !out)
		return uio_fail(-EINVAL, SUBSYS, "NULL %s",
				!pm ? "physmem" : !cfg ? "config" : "out");
	name = cfg->name ? cfg->name : "its";
	if (strlen(name) >= sizeof(its->name))
		return uio_fail(-EINVAL, SUBSYS, "name \"%s\" too long", name);
	its = uio_new(struct uiommu_gic_its);
	if (!its)
		return -ENOMEM;
	ret = config_apply(cfg, &its->cfg);
	if (ret)
		goto err_free_its;
	its->pm = pm;
	snprintf(its->name, sizeof(its->name), "%s", name);
	snprintf(its->ctrl_name, sizeof(its->ctrl_name), "%s.ctrl", name);
	snprintf(its->tr_name, sizeof(its->tr_name), "%s.translater", name);
	snprintf(its->owner, sizeof(its->owner), "gicv3-its@%" PRIx64,
		 its->cfg.base);
	its->nr_lpis = (1u << its->cfg.lpi_bits) - UIOMMU_GIC_FIRST_LPI;
	its->typer = typer_value(&its->cfg);
	its->baser[BASER_DEVICE] = baser_reset(GITS_BASER_TYPE_DEVICE,
					       GITS_DTE_SIZE);
	its->baser[BASER_COLLECTION] = baser_reset(GITS_BASER_TYPE_COLLECTION,
						   GITS_CTE_SIZE);
	ret = -ENOMEM;
	its->lpi = uio_calloc(its->nr_lpis, sizeof(*its->lpi));
	if (!its->lpi)
		goto err_free_its;
	its->handlers = uio_calloc(its->cfg.nr_cpus, sizeof(*its->handlers));
	if (!its->handlers)
		goto err_free_lpi;
	uio_mutex_init(&its->lock);

	memset(&desc, 0, sizeof(desc));
	desc.name = its->ctrl_name;
	desc.owner = its->owner;
	desc.size = UIOMMU_GITS_FRAME_SIZE;
	desc.ops = &ctrl_ops;
	desc.opaque = its;
	desc.regs = ctrl_regs;
	desc.nregs = UIO_ARRAY_SIZE(ctrl_regs);
	ret = uiommu_physmem_add_mmio(pm, its->cfg.base, &desc);
	if (ret)
		goto err_destroy_lock;
	desc.name = its->tr_name;
	desc.ops = &tr_ops;
	desc.regs = tr_regs;
	desc.nregs = UIO_ARRAY_SIZE(tr_regs);
	desc.doorbell = true;
	ret = uiommu_physmem_add_mmio(pm, its->cfg.base + UIOMMU_GITS_FRAME_SIZE,
				      &desc);
	if (ret)
		goto err_remove_ctrl;
	uio_info(SUBSYS, "%s: ITS at 0x%" PRIx64 ", %u CPUs, DeviceID %u bits,"
		 " EventID %u bits, LPIs 8192..%u", its->name, its->cfg.base,
		 its->cfg.nr_cpus, its->cfg.devid_bits, its->cfg.eventid_bits,
		 UIOMMU_GIC_FIRST_LPI + its->nr_lpis - 1);
	*out = its;
	return 0;

err_remove_ctrl:
	if (uiommu_physmem_remove(pm, its->cfg.base))
		assert(0);
err_destroy_lock:
	uio_mutex_destroy(&its->lock);
	uio_free_array(its->handlers, its->cfg.nr_cpus, sizeof(*its->handlers));
err_free_lpi:
	uio_free_array(its->lpi, its->nr_lpis, sizeof(*its->lpi));
err_free_its:
	uio_delete(its);
	return ret;
}

UIOMMU_API void uiommu_gic_its_destroy(struct uiommu_gic_its *its)
{
	if (!its)
		return;
	if (uiommu_physmem_remove(its->pm, its->cfg.base + UIOMMU_GITS_FRAME_SIZE) ||
	    uiommu_physmem_remove(its->pm, its->cfg.base))
		uio_err(SUBSYS, "%s: frames already removed", its->name);
	uio_mutex_destroy(&its->lock);
	uio_free_array(its->handlers, its->cfg.nr_cpus, sizeof(*its->handlers));
	uio_free_array(its->lpi, its->nr_lpis, sizeof(*its->lpi));
	uio_delete(its);
}

UIOMMU_API int uiommu_gic_its_set_handler(struct uiommu_gic_its *its,
					  unsigned int cpu,
					  uiommu_gic_irq_fn fn, void *opaque)
{
	if (!its)
		return uio_fail(-EINVAL, SUBSYS, "NULL its");
	if (cpu >= its->cfg.nr_cpus)
		return uio_fail(-EINVAL, SUBSYS, "%s: cpu %u >= %u", its->name,
				cpu, its->cfg.nr_cpus);
	uio_lock(&its->lock);
	its->handlers[cpu].fn = fn;
	its->handlers[cpu].opaque = opaque;
	uio_unlock(&its->lock);
	return 0;
}

UIOMMU_API void uiommu_gic_its_get_stats(struct uiommu_gic_its *its,
					 struct uiommu_gic_its_stats *st)
{
	uio_lock(&its->lock);
	*st = its->stats;
	uio_unlock(&its->lock);
}

UIOMMU_API uint64_t uiommu_gic_its_doorbell(const struct uiommu_gic_its *its)
{
	return its->cfg.base + UIOMMU_GITS_TRANSLATER;
}

UIOMMU_API bool uiommu_gic_its_isolating(const struct uiommu_gic_its *its)
{
	(void)its;
	return true;
}

static int its_check_locked(struct uiommu_gic_its *its)
{
	uint64_t qsize = queue_bytes(its->cbaser);
	uint32_t i, pending = 0;
	unsigned int n;

	uio_assert_held(&its->lock);
	if (its->cwriter & ~GITS_CWRITER_OFFSET_MASK ||
	    its->creadr & ~(GITS_CREADR_OFFSET_MASK | GITS_CREADR_STALLED_MASK))
		return uio_fail(-EUCLEAN, SUBSYS, "%s: CWRITER 0x%" PRIx64
				" / CREADR 0x%" PRIx64 " hold stray bits",
				its->name, its->cwriter, its->creadr);
	if ((its->creadr & GITS_CREADR_OFFSET_MASK) >= qsize &&
	    UIO_FEX64(its->cbaser, GITS_CBASER, VALID))
		return uio_fail(-EUCLEAN, SUBSYS, "%s: CREADR 0x%" PRIx64
				" beyond the queue", its->name, its->creadr);
	for (n = 0; n < GITS_NR_BASER; n++) {
		uint64_t type = UIO_FEX64(its->baser[n], GITS_BASER, TYPE);
		uint64_t want = n == BASER_DEVICE ? GITS_BASER_TYPE_DEVICE
				: n == BASER_COLLECTION ? GITS_BASER_TYPE_COLLECTION
				: GITS_BASER_TYPE_NONE;

		if (type != want || (want == GITS_BASER_TYPE_NONE && its->baser[n]) ||
		    UIO_FEX64(its->baser[n], GITS_BASER, PAGE_SIZE) == 3)
			return uio_fail(-EUCLEAN, SUBSYS, "%s: GITS_BASER%u 0x%016"
					PRIx64 " corrupt", its->name, n,
					its->baser[n]);
	}
	for (i = 0; i < its->nr_lpis; i++) {
		if (its->lpi[i].flags & LPI_PENDING)
			pending++;
		if (its->lpi[i].target >= its->cfg.nr_cpus)
			return uio_fail(-EUCLEAN, SUBSYS, "%s: LPI %u targets "
					"cpu %u", its->name,
					UIOMMU_GIC_FIRST_LPI + i,
					its->lpi[i].target);
	}
	if (pending != its->nr_pending)
		return uio_fail(-EUCLEAN, SUBSYS, "%s: %u LPIs pending, count "
				"says %u", its->name, pending, its->nr_pending);
	return 0;
}

UIOMMU_API int uiommu_gic_its_check(struct uiommu_gic_its *its)
{
	int ret;

	if (!its)
		return uio_fail(-EINVAL, SUBSYS, "NULL its");
	uio_lock(&its->lock);
	ret = its_check_locked(its);
	uio_unlock(&its->lock);
	return ret;
}

/* ----------------------------------------------------------- inspection */

_Static_assert(UIOMMU_GITS_CTLR == GITS_CTLR && UIOMMU_GITS_IIDR == GITS_IIDR &&
	       UIOMMU_GITS_TYPER == GITS_TYPER &&
	       UIOMMU_GITS_CBASER == GITS_CBASER &&
	       UIOMMU_GITS_CWRITER == GITS_CWRITER &&
	       UIOMMU_GITS_CREADR == GITS_CREADR &&
	       UIOMMU_GITS_BASER(0) == GITS_BASER0 &&
	       UIOMMU_GITS_NR_BASER == GITS_NR_BASER &&
	       UIOMMU_GITS_BASER_TYPE_DEVICES == GITS_BASER_TYPE_DEVICE &&
	       UIOMMU_GITS_BASER_TYPE_VPES == GITS_BASER_TYPE_VPE &&
	       UIOMMU_GITS_BASER_TYPE_COLLECTIONS == GITS_BASER_TYPE_COLLECTION,
	       "public ITS constants follow gic-its.h");

/* A field of the UIO_FIELD tables in gic-its.h, with its name in IHI 0069. */
struct field_desc {
	const char *name;
	unsigned int lsb, width;
};
#define FD(reg, field, name) \
	{ name, reg##_##field##_SHIFT, reg##_##field##_LEN }

static const struct field_desc ctlr_fields[] = {
	FD(GITS_CTLR, ENABLED, "Enabled"),
	FD(GITS_CTLR, QUIESCENT, "Quiescent"),
};
static const struct field_desc iidr_fields[] = {
	FD(GITS_IIDR, IMPLEMENTER, "Implementer"),
	FD(GITS_IIDR, REVISION, "Revision"),
	FD(GITS_IIDR, VARIANT, "Variant"),
	FD(GITS_IIDR, PRODUCTID, "ProductID"),
};
static const struct field_desc typer_fields[] = {
	FD(GITS_TYPER, PHYSICAL, "Physical"),
	FD(GITS_TYPER, VIRTUAL, "Virtual"),
	FD(GITS_TYPER, CCT, "CCT"),
	FD(GITS_TYPER, ITT_ENTRY_SIZE, "ITT_entry_size"),
	FD(GITS_TYPER, IDBITS, "ID_bits"),
	FD(GITS_TYPER, DEVBITS, "Devbits"),
	FD(GITS_TYPER, SEIS, "SEIS"),
	FD(GITS_TYPER, PTA, "PTA"),
	FD(GITS_TYPER, HCC, "HCC"),
	FD(GITS_TYPER, CIDBITS, "CIDbits"),
	FD(GITS_TYPER, CIL, "CIL"),
};
static const struct field_desc cbaser_fields[] = {
	FD(GITS_CBASER, SIZE, "Size"),
	FD(GITS_CBASER, SHAREABILITY, "Shareability"),
	FD(GITS_CBASER, PA, "Physical_Address"),
	FD(GITS_CBASER, OUTERCACHE, "OuterCache"),
	FD(GITS_CBASER, INNERCACHE, "InnerCache"),
	FD(GITS_CBASER, VALID, "Valid"),
};
static const struct field_desc cwriter_fields[] = {
	FD(GITS_CWRITER, RETRY, "Retry"),
	FD(GITS_CWRITER, OFFSET, "Offset"),
};
static const struct field_desc creadr_fields[] = {
	FD(GITS_CREADR, STALLED, "Stalled"),
	FD(GITS_CREADR, OFFSET, "Offset"),
};
static const struct field_desc baser_fields[] = {
	FD(GITS_BASER, SIZE, "Size"),
	FD(GITS_BASER, PAGE_SIZE, "Page_Size"),
	FD(GITS_BASER, SHAREABILITY, "Shareability"),
	FD(GITS_BASER, PA, "Physical_Address"),
	FD(GITS_BASER, ENTRY_SIZE, "Entry_Size"),
	FD(GITS_BASER, OUTERCACHE, "OuterCache"),
	FD(GITS_BASER, TYPE, "Type"),
	FD(GITS_BASER, INNERCACHE, "InnerCache"),
	FD(GITS_BASER, INDIRECT, "Indirect"),
	FD(GITS_BASER, VALID, "Valid"),
};
#undef FD

UIOMMU_API int
uiommu_gic_its_for_each_field(unsigned int offset, uint64_t value,
			      int (*fn)(void *opaque,
					const struct uiommu_gic_field *f),
			      void *opaque)
{
	const struct field_desc *t;
	size_t n;

	switch (offset) {
	case GITS_CTLR: t = ctlr_fields; n = UIO_ARRAY_SIZE(ctlr_fields); break;
	case GITS_IIDR: t = iidr_fields; n = UIO_ARRAY_SIZE(iidr_fields); break;
	case GITS_TYPER: t = typer_fields; n = UIO_ARRAY_SIZE(typer_fields); break;
	case GITS_CBASER: t = cbaser_fields; n = UIO_ARRAY_SIZE(cbaser_fields); break;
	case GITS_CWRITER: t = cwriter_fields; n = UIO_ARRAY_SIZE(cwriter_fields); break;
	case GITS_CREADR: t = creadr_fields; n = UIO_ARRAY_SIZE(creadr_fields); break;
	default:
		if (offset < GITS_BASER0 || offset >= GITS_BASER0 + 8 * GITS_NR_BASER ||
		    offset % 8)
			return uio_fail(-EINVAL, SUBSYS, "no ITS register with "
					"fields at offset 0x%x", offset);
		t = baser_fields;
		n = UIO_ARRAY_SIZE(baser_fields);
		break;
	}
	if (!fn)
		return uio_fail(-EINVAL, SUBSYS, "for_each_field: NULL fn");
	for (size_t i = 0; i < n; i++) {
		struct uiommu_gic_field f = {
			.name = t[i].name, .lsb = t[i].lsb, .width = t[i].width,
			.value = uio_extract64(value, t[i].lsb, t[i].width),
		};
		int ret = fn(opaque, &f);

		if (ret)
			return ret;
	}
	return 0;
}

static const char *baser_type_name(unsigned int type)
{
	switch (type) {
	case GITS_BASER_TYPE_NONE: return "none";
	case GITS_BASER_TYPE_DEVICE: return "Devices";
	case GITS_BASER_TYPE_VPE: return "vPEs";
	case GITS_BASER_TYPE_COLLECTION: return "Collections";
	default: return "reserved";
	}
}

/* IDs the table of a decoded GITS_BASER<n> can hold (table_entry()'s
 * bounds). */
static uint64_t table_max_ids(const struct its_table *t)
{
	if (!t->valid)
		return 0;
	if (!t->indirect)
		return t->size / t->esz;
	return t->size / GITS_L1E_SIZE * (t->page_size / t->esz);
}

UIOMMU_API int uiommu_gic_its_get_regs(struct uiommu_gic_its *its,
				       struct uiommu_gic_its_regs *regs)
{
	if (!its || !regs)
		return uio_fail(-EINVAL, SUBSYS, "get_regs: NULL %s",
				!its ? "its" : "regs");
	memset(regs, 0, sizeof(*regs));
	regs->base = its->cfg.base;
	regs->nr_cpus = its->cfg.nr_cpus;
	regs->nr_lpis = its->nr_lpis;
	uio_lock(&its->lock);
	regs->ctlr = (uint32_t)ctrl_read_word(its, GITS_CTLR);
	regs->iidr = (uint32_t)(ctrl_read_word(its, GITS_CTLR) >> 32);
	regs->typer = ctrl_read_word(its, GITS_TYPER);
	regs->cbaser = ctrl_read_word(its, GITS_CBASER);
	regs->cwriter = ctrl_read_word(its, GITS_CWRITER);
	regs->creadr = ctrl_read_word(its, GITS_CREADR);
	for (unsigned int n = 0; n < GITS_NR_BASER; n++)
		regs->baser[n] = ctrl_read_word(its, GITS_BASER0 + 8 * n);
	uio_unlock(&its->lock);
	for (unsigned int n = 0; n < GITS_NR_BASER; n++) {
		struct uiommu_gic_its_table *o = &regs->table[n];
		struct its_table t;

		o->type = (unsigned int)UIO_FEX64(regs->baser[n], GITS_BASER, TYPE);
		o->type_name = baser_type_name(o->type);
		if (o->type == GITS_BASER_TYPE_NONE)
			continue;	/* unimplemented: RAZ/WI, nothing to decode */
		baser_decode(regs->baser[n], &t);
		o->valid = t.valid;
		o->indirect = t.indirect;
		o->base = t.base;
		o->page_size = t.page_size;
		o->pages = (unsigned int)UIO_FEX64(regs->baser[n], GITS_BASER, SIZE) + 1;
		o->entry_size = t.esz;
		o->max_ids = table_max_ids(&t);
		/* no more IDs than GITS_TYPER lets commands name */
		if (o->type == GITS_BASER_TYPE_DEVICE &&
		    its->cfg.devid_bits < 64 &&
		    o->max_ids > UINT64_C(1) << its->cfg.devid_bits)
			o->max_ids = UINT64_C(1) << its->cfg.devid_bits;
		if (o->type == GITS_BASER_TYPE_COLLECTION &&
		    o->max_ids > UINT64_C(1) << its->cfg.cid_bits)
			o->max_ids = UINT64_C(1) << its->cfg.cid_bits;
	}
	return 0;
}

/* Walk state of uiommu_gic_its_for_each_translation(). */
struct its_walk {
	struct uiommu_gic_its *its;
	int (*fn)(void *opaque, const struct uiommu_gic_its_translation *t);
	void *opaque;
};

/* Call the user's function without the ITS lock. */
static int walk_emit(struct its_walk *w, struct uiommu_gic_its_translation *t)
{
	int ret;

	uio_unlock(&w->its->lock);
	ret = w->fn(w->opaque, t);
	uio_lock(&w->its->lock);
	return ret;
}

static int walk_fault(struct its_walk *w, uint32_t devid, uint64_t itt,
		      unsigned int bits, const char *what, uint64_t pa)
{
	struct uiommu_gic_its_translation t = {
		.devid = devid, .itt_addr = itt, .eventid_bits = bits,
		.why = UIOMMU_GIC_DROP_TABLE_FAULT,
	};

	uio_guest_error(SUBSYS, "%s: DeviceID 0x%x: %s at 0x%" PRIx64
			" is not RAM", w->its->name, devid, what, pa);
	return walk_emit(w, &t);
}

/* The events of one mapped device (@dte valid). */
static int walk_device(struct its_walk *w, uint32_t devid, uint64_t dte)
{
	struct uiommu_gic_its *its = w->its;
	unsigned int bits = (unsigned int)UIO_FEX64(dte, GITS_DTE, SIZE) + 1;
	uint64_t itt = UIO_FEX64(dte, GITS_DTE, ITT_ADDR) << GITS_DTE_ITT_ADDR_SHIFT;
	uint64_t nev, ite;
	int ret;

	/* a table entry MAPD would not have written: walk what the ITS
	 * could ever be asked for */
	if (bits > its->cfg.eventid_bits) {
		uio_guest_error(SUBSYS, "%s: DeviceID 0x%x: device table entry "
				"0x%016" PRIx64 " has a %u-bit ITT, GITS_TYPER "
				"says %u", its->name, devid, dte, bits,
				its->cfg.eventid_bits);
		bits = its->cfg.eventid_bits;
	}
	nev = UINT64_C(1) << bits;
	for (uint64_t e = 0; e < nev; e++) {
		struct uiommu_gic_its_translation t = {
			.devid = devid, .itt_addr = itt, .eventid_bits = bits,
			.eventid = (uint32_t)e,
		};
		struct its_event ev;
		enum its_status st;

		/* one fault per ITT, not one per entry */
		if (ram_ld64(its, itt + e * GITS_ITE_SIZE, &ite))
			return walk_fault(w, devid, itt, bits, "ITT",
					  itt + e * GITS_ITE_SIZE);
		if (!UIO_FEX64(ite, GITS_ITE, VALID))
			continue;
		st = lookup_event(its, devid, (uint32_t)e, &ev);
		if (st == ST_EVENT_UNMAPPED) {
			t.intid = (uint32_t)UIO_FEX64(ite, GITS_ITE, PINTID);
			t.icid = (uint32_t)UIO_FEX64(ite, GITS_ITE, ICID);
		} else if (st == ST_OK) {
			t.intid = ev.intid;
			t.icid = ev.icid;
			t.pending = lpi_state(its, ev.intid)->flags & LPI_PENDING;
			st = lookup_collection(its, ev.icid, &t.target);
		} else {
			/* the device entry changed under us: re-read later */
			continue;
		}
		t.ok = st == ST_OK;
		if (!t.ok)
			t.why = drop_reason(st);
		ret = walk_emit(w, &t);
		if (ret)
			return ret;
	}
	return 0;
}

UIOMMU_API int uiommu_gic_its_for_each_translation(
	struct uiommu_gic_its *its,
	int (*fn)(void *opaque, const struct uiommu_gic_its_translation *t),
	void *opaque)
{
	struct its_walk w = { its, fn, opaque };
	struct its_table dt;
	uint64_t nids, per_page, pa, dte;
	int ret = 0;

	if (!its || !fn)
		return uio_fail(-EINVAL, SUBSYS, "for_each_translation: NULL %s",
				!its ? "its" : "fn");
	uio_lock(&its->lock);
	baser_decode(its->baser[BASER_DEVICE], &dt);
	nids = table_max_ids(&dt);
	if (its->cfg.devid_bits < 64 && nids > UINT64_C(1) << its->cfg.devid_bits)
		nids = UINT64_C(1) << its->cfg.devid_bits;
	per_page = dt.page_size / dt.esz;
	for (uint64_t id = 0; id < nids && !ret; id++) {
		int err = table_entry(its, BASER_DEVICE, id, &pa);

		if (err == -ERANGE)	/* GITS_BASER0 changed meanwhile */
			break;
		if (err == -ENOENT) {
			/* invalid level 1 entry: skip the page it stands for */
			id = uio_align_down(id, per_page) + per_page - 1;
			continue;
		}
		if (err == -EFAULT) {
			ret = walk_fault(&w, (uint32_t)id, 0, 0,
					 "device table level 1 entry",
					 dt.base + id / per_page * GITS_L1E_SIZE);
			id = uio_align_down(id, per_page) + per_page - 1;
			continue;
		}
		if (ram_ld64(its, pa, &dte)) {
			ret = walk_fault(&w, (uint32_t)id, 0, 0, dt.indirect ?
					 "device table level 2 page" :
					 "device table", pa);
			/* skip what the unreadable page holds */
			id = dt.indirect ? uio_align_down(id, per_page) +
					   per_page - 1 : nids;
			continue;
		}
		if (UIO_FEX64(dte, GITS_DTE, VALID))
			ret = walk_device(&w, (uint32_t)id, dte);
	}
	uio_unlock(&its->lock);
	return ret;
}
