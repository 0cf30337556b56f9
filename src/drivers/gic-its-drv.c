// SPDX-License-Identifier: MIT
/*
 * Register-level GICv3 ITS driver (see gic-its-drv.h).
 *
 * Organisation: register and command helpers; probe (tables and queue from
 * the page pool, collections); devices (ITT, level 2 device table pages);
 * events; the LPI bitmap.  drv->lock serialises everything: with it held,
 * the only commands in the queue are the caller's, so "done" is simply
 * GITS_CREADR == GITS_CWRITER.
 */
#include <inttypes.h>
#include <sched.h>
#include <string.h>

#include <uiommu/gic.h>

#include "alloc.h"
#include "bits.h"
#include "gic-its-drv.h"
#include "gic-its.h"
#include "id-bitmap.h"
#include "lock.h"
#include "log.h"

#define SUBSYS "its-drv"

#define DRV_PAGE	UINT64_C(65536)		/* GITS_BASER<n> pages */
#define DRV_CQ_BYTES	UINT64_C(65536)		/* 2048 commands */
#define DRV_FLAT_MAX	(UINT64_C(1) << 20)	/* larger: two-level */
#define DRV_POLLS	10000000ul

struct drv_table {
	uint64_t pa;
	uint64_t bytes;		/* block from the pool */
	uint32_t esz;
	bool indirect;
	unsigned int baser;	/* which GITS_BASER<n> */
};

struct drv_dev {
	uint32_t devid;
	unsigned int event_bits;
	uint64_t itt_pa;
	uint64_t itt_bytes;
};

struct uio_its_drv {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	uint64_t base;
	unsigned int nr_cpus;
	unsigned int devid_bits;
	unsigned int eventid_bits;
	unsigned int ite_size;

	struct uio_mutex lock;
	/* below: protected by lock */
	uint64_t cq_pa;
	uint64_t cw;
	uint64_t ncmds;
	struct drv_table dt, ct;
	struct drv_dev *devs;
	size_t ndevs, cap;
	uint64_t *lpi_map;	/* bit set: LPI 8192 + i allocated */
	uint32_t nr_lpis;
};

/* ----------------------------------------------------- register access */

static int reg_ld(struct uio_its_drv *drv, uint64_t off, unsigned int size,
		  uint64_t *v)
{
	return uiommu_phys_ld(drv->pm, drv->base + off, size, v, NULL);
}

static int reg_st(struct uio_its_drv *drv, uint64_t off, unsigned int size,
		  uint64_t v)
{
	return uiommu_phys_st(drv->pm, drv->base + off, size, v, NULL);
}

static uint64_t pow2_at_least(uint64_t x, uint64_t min)
{
	uint64_t p = min;

	while (p < x)
		p <<= 1;
	return p;
}

static int pool_get(struct uio_its_drv *drv, uint64_t bytes, uint64_t *pa)
{
	return uiommu_phys_pool_alloc(drv->pool, bytes, pa);
}

static void pool_put(struct uio_its_drv *drv, uint64_t pa, uint64_t bytes)
{
	if (uiommu_phys_pool_free(drv->pool, pa, bytes))
		assert(0);
}

/* ------------------------------------------------------------ commands */

struct drv_cmd {
	uint64_t d[4];
};

static struct drv_cmd cmd_sync(unsigned int cpu)
{
	struct drv_cmd c = { { GITS_CMD_SYNC } };

	c.d[2] = UIO_FDP64(0, GITS_CMD2, RDBASE, cpu);
	return c;
}

static struct drv_cmd cmd_dev_event(unsigned int op, uint32_t devid,
				    uint32_t eventid)
{
	struct drv_cmd c = { { 0 } };

	c.d[0] = UIO_FDP64(op, GITS_CMD0, DEVICEID, devid);
	c.d[1] = UIO_FDP64(0, GITS_CMD1, EVENTID, eventid);
	return c;
}

static int cq_put(struct uio_its_drv *drv, const struct drv_cmd *c)
{
	unsigned int i;
	int ret;

	for (i = 0; i < 4; i++) {
		ret = uiommu_phys_st(drv->pm, drv->cq_pa + drv->cw + 8 * i, 8,
				     c->d[i], NULL);
		if (ret)
			return ret;
	}
	drv->cw = (drv->cw + GITS_CMD_SIZE) % DRV_CQ_BYTES;
	drv->ncmds++;
	return 0;
}

/*
 * Publish the queued commands and wait until the ITS has consumed them.
 * A command error stalls the queue: the failing command is replaced by a
 * SYNC and the ITS told to retry, and the caller gets -EIO.
 */
static int cq_flush(struct uio_its_drv *drv)
{
	unsigned long polls;
	uint64_t creadr, off;
	int ret, err = 0;

	uio_assert_held(&drv->lock);
	ret = reg_st(drv, GITS_CWRITER, 8, drv->cw);
	for (polls = 0; !ret && polls < DRV_POLLS; polls++) {
		ret = reg_ld(drv, GITS_CREADR, 8, &creadr);
		if (ret)
			break;
		off = creadr & GITS_CREADR_OFFSET_MASK;
		if (UIO_FEX64(creadr, GITS_CREADR, STALLED)) {
			struct drv_cmd sync = cmd_sync(0);
			uint64_t save = drv->cw;

			uio_err(SUBSYS, "ITS@0x%" PRIx64 ": command at 0x%" PRIx64
				" failed", drv->base, off);
			drv->cw = off;
			ret = cq_put(drv, &sync);
			drv->cw = save;
			if (!ret)
				ret = reg_st(drv, GITS_CWRITER, 8, drv->cw |
					     GITS_CWRITER_RETRY_MASK);
			err = -EIO;
			continue;
		}
		if (off == drv->cw)
			return err;
		sched_yield();
	}
	return uio_fail(ret ? -EIO : -ETIMEDOUT, SUBSYS, "ITS@0x%" PRIx64
			": command queue %s", drv->base,
			ret ? "unreachable" : "timed out");
}

/* Queue @c and a SYNC to @cpu, then wait for both. */
static int cq_run(struct uio_its_drv *drv, struct drv_cmd c, unsigned int cpu)
{
	struct drv_cmd sync = cmd_sync(cpu);
	int ret;

	ret = cq_put(drv, &c);
	if (!ret)
		ret = cq_put(drv, &sync);
	return ret ? ret : cq_flush(drv);
}

/* --------------------------------------------------------------- probe */

/* GITS_BASER<n> value for a table at @pa of @bytes in 64 KiB pages. */
static uint64_t baser_value(uint64_t cur, const struct drv_table *t)
{
	uint64_t v = cur & (GITS_BASER_TYPE_MASK | GITS_BASER_ENTRY_SIZE_MASK);

	v = UIO_FDP64(v, GITS_BASER, VALID, 1);
	v = UIO_FDP64(v, GITS_BASER, INDIRECT, t->indirect);
	v = UIO_FDP64(v, GITS_BASER, PAGE_SIZE, GITS_PAGE_64K);
	v = UIO_FDP64(v, GITS_BASER, SIZE, t->bytes / DRV_PAGE - 1);
	/* 64K pages: PA[47:16] in place, PA[51:48] in bits [15:12] */
	v = UIO_FDP64(v, GITS_BASER, PA,
		      (t->pa & UIO_GENMASK(47, 16)) >> GITS_BASER_PA_SHIFT);
	v = UIO_FDP64(v, GITS_BASER, PA_HI64K, t->pa >> 48);
	return v;
}

/* Allocate table @t for @ids entries and program GITS_BASER<t->baser>. */
static int table_setup(struct uio_its_drv *drv, struct drv_table *t,
		       uint64_t ids)
{
	uint64_t cur, back, flat = ids * t->esz;
	int ret;

	t->indirect = flat > DRV_FLAT_MAX;
	if (t->indirect)
		t->bytes = pow2_at_least(uio_align_up(ids, DRV_PAGE / t->esz) /
					 (DRV_PAGE / t->esz) * GITS_L1E_SIZE,
					 DRV_PAGE);
	else
		t->bytes = pow2_at_least(flat, DRV_PAGE);
	ret = pool_get(drv, t->bytes, &t->pa);
	if (ret)
		return ret;
	ret = reg_ld(drv, GITS_BASER0 + 8 * t->baser, 8, &cur);
	if (!ret)
		ret = reg_st(drv, GITS_BASER0 + 8 * t->baser, 8,
			     baser_value(cur, t));
	if (!ret)
		ret = reg_ld(drv, GITS_BASER0 + 8 * t->baser, 8, &back);
	if (!ret && back != baser_value(cur, t))
		ret = uio_fail(-EIO, SUBSYS, "ITS@0x%" PRIx64 ": GITS_BASER%u "
			       "kept 0x%016" PRIx64, drv->base, t->baser, back);
	if (ret)
		pool_put(drv, t->pa, t->bytes);
	return ret;
}

/* Which GITS_BASER<n> holds tables of @type, and their entry size. */
static int find_baser(struct uio_its_drv *drv, unsigned int type,
		      struct drv_table *t)
{
	unsigned int n;
	uint64_t v;

	for (n = 0; n < GITS_NR_BASER; n++) {
		if (reg_ld(drv, GITS_BASER0 + 8 * n, 8, &v))
			return -ENODEV;
		if (UIO_FEX64(v, GITS_BASER, TYPE) == type) {
			t->baser = n;
			t->esz = (uint32_t)UIO_FEX64(v, GITS_BASER, ENTRY_SIZE) + 1;
			return 0;
		}
	}
	return uio_fail(-ENODEV, SUBSYS, "ITS@0x%" PRIx64 ": no GITS_BASER of "
			"type %u", drv->base, type);
}

static int read_id(struct uio_its_drv *drv)
{
	uint64_t pidr2, typer;

	if (reg_ld(drv, GITS_PIDR2, 4, &pidr2) ||
	    (UIO_FEX64(pidr2, GITS_PIDR2, ARCHREV) != 3 &&
	     UIO_FEX64(pidr2, GITS_PIDR2, ARCHREV) != 4))
		return uio_fail(-ENODEV, SUBSYS, "no ITS at 0x%" PRIx64,
				drv->base);
	if (reg_ld(drv, GITS_TYPER, 8, &typer) ||
	    !UIO_FEX64(typer, GITS_TYPER, PHYSICAL))
		return uio_fail(-ENODEV, SUBSYS, "ITS@0x%" PRIx64 ": no "
				"physical LPIs", drv->base);
	drv->devid_bits = (unsigned int)UIO_FEX64(typer, GITS_TYPER, DEVBITS) + 1;
	drv->eventid_bits = (unsigned int)UIO_FEX64(typer, GITS_TYPER, IDBITS) + 1;
	drv->ite_size = (unsigned int)UIO_FEX64(typer, GITS_TYPER,
						 ITT_ENTRY_SIZE) + 1;
	if (UIO_FEX64(typer, GITS_TYPER, CIL) &&
	    drv->nr_cpus > UIO_BIT(UIO_FEX64(typer, GITS_TYPER, CIDBITS) + 1))
		return uio_fail(-ENODEV, SUBSYS, "ITS@0x%" PRIx64 ": too few "
				"collection IDs for %u CPUs", drv->base,
				drv->nr_cpus);
	return 0;
}

static int queue_setup(struct uio_its_drv *drv)
{
	uint64_t v = 0;
	int ret;

	ret = pool_get(drv, DRV_CQ_BYTES, &drv->cq_pa);
	if (ret)
		return ret;
	v = UIO_FDP64(v, GITS_CBASER, VALID, 1);
	v = UIO_FDP64(v, GITS_CBASER, PA, drv->cq_pa >> GITS_CBASER_PA_SHIFT);
	v = UIO_FDP64(v, GITS_CBASER, SIZE, DRV_CQ_BYTES / 4096 - 1);
	ret = reg_st(drv, GITS_CBASER, 8, v);
	if (!ret)
		ret = reg_st(drv, GITS_CWRITER, 8, 0);
	if (ret)
		pool_put(drv, drv->cq_pa, DRV_CQ_BYTES);
	drv->cw = 0;
	return ret;
}

/* Return every level 2 device table page to the pool. */
static void l2_pages_free(struct uio_its_drv *drv)
{
	uint64_t i, l1e;

	if (!drv->dt.indirect)
		return;
	for (i = 0; i < drv->dt.bytes / GITS_L1E_SIZE; i++)
		if (!uiommu_phys_ld(drv->pm, drv->dt.pa + i * GITS_L1E_SIZE, 8,
				    &l1e, NULL) &&
		    UIO_FEX64(l1e, GITS_L1E, VALID))
			pool_put(drv, UIO_FEX64(l1e, GITS_L1E, PA) <<
				      GITS_L1E_PA_SHIFT, DRV_PAGE);
}

static void its_disable(struct uio_its_drv *drv)
{
	if (reg_st(drv, GITS_CTLR, 4, 0))
		uio_err(SUBSYS, "ITS@0x%" PRIx64 ": cannot disable", drv->base);
}

int uio_its_drv_probe(struct uiommu_phys_pool *pool, uint64_t its_base,
		      unsigned int nr_cpus, unsigned int lpi_bits,
		      struct uio_its_drv **out)
{
	struct uio_its_drv *drv;
	unsigned int cpu;
	int ret;

	if (!pool || !out || nr_cpus == 0 || nr_cpus > 4096 ||
	    lpi_bits < 14 || lpi_bits > 24)
		return uio_fail(-EINVAL, SUBSYS, "bad probe arguments (%u CPUs,"
				" %u LPI bits)", nr_cpus, lpi_bits);
	drv = uio_new(struct uio_its_drv);
	if (!drv)
		return -ENOMEM;
	drv->pm = uiommu_phys_pool_physmem(pool);
	drv->pool = pool;
	drv->base = its_base;
	drv->nr_cpus = nr_cpus;
	drv->nr_lpis = (uint32_t)(UIO_BIT(lpi_bits) - UIOMMU_GIC_FIRST_LPI);
	uio_mutex_init(&drv->lock);
	ret = read_id(drv);
	if (ret)
		goto err_free_drv;
	ret = -ENOMEM;
	drv->lpi_map = uio_calloc(uio_align_up(drv->nr_lpis, 64) / 64,
				  sizeof(uint64_t));
	if (!drv->lpi_map)
		goto err_free_drv;
	its_disable(drv);
	ret = find_baser(drv, GITS_BASER_TYPE_DEVICE, &drv->dt);
	if (!ret)
		ret = find_baser(drv, GITS_BASER_TYPE_COLLECTION, &drv->ct);
	if (ret)
		goto err_free_map;
	ret = queue_setup(drv);
	if (ret)
		goto err_free_map;
	ret = table_setup(drv, &drv->dt, UIO_BIT(drv->devid_bits));
	if (ret)
		goto err_free_queue;
	ret = table_setup(drv, &drv->ct, nr_cpus);
	if (ret)
		goto err_free_dt;
	uio_lock(&drv->lock);
	ret = reg_st(drv, GITS_CTLR, 4, UIO_FDP64(0, GITS_CTLR, ENABLED, 1));
	for (cpu = 0; !ret && cpu < nr_cpus; cpu++) {
		struct drv_cmd c = { { GITS_CMD_MAPC } };

		c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, cpu);
		c.d[2] = UIO_FDP64(c.d[2], GITS_CMD2, RDBASE, cpu);
		c.d[2] = UIO_FDP64(c.d[2], GITS_CMD2, VALID, 1);
		ret = cq_run(drv, c, cpu);
	}
	uio_unlock(&drv->lock);
	if (ret)
		goto err_disable;
	uio_info(SUBSYS, "ITS@0x%" PRIx64 ": %u-bit DeviceIDs (%s device "
		 "table), %u-bit EventIDs, %u collections", its_base,
		 drv->devid_bits, drv->dt.indirect ? "two-level" : "flat",
		 drv->eventid_bits, nr_cpus);
	*out = drv;
	return 0;

err_disable:
	its_disable(drv);
	pool_put(drv, drv->ct.pa, drv->ct.bytes);
err_free_dt:
	pool_put(drv, drv->dt.pa, drv->dt.bytes);
err_free_queue:
	pool_put(drv, drv->cq_pa, DRV_CQ_BYTES);
err_free_map:
	uio_free_array(drv->lpi_map, uio_align_up(drv->nr_lpis, 64) / 64,
		       sizeof(uint64_t));
err_free_drv:
	uio_mutex_destroy(&drv->lock);
	uio_delete(drv);
	return ret;
}

void uio_its_drv_remove(struct uio_its_drv *drv)
{
	size_t i;

	if (!drv)
		return;
	its_disable(drv);
	for (i = 0; i < drv->ndevs; i++)
		pool_put(drv, drv->devs[i].itt_pa, drv->devs[i].itt_bytes);
	uio_free_array(drv->devs, drv->cap, sizeof(*drv->devs));
	l2_pages_free(drv);
	pool_put(drv, drv->ct.pa, drv->ct.bytes);
	pool_put(drv, drv->dt.pa, drv->dt.bytes);
	pool_put(drv, drv->cq_pa, DRV_CQ_BYTES);
	uio_free_array(drv->lpi_map, uio_align_up(drv->nr_lpis, 64) / 64,
		       sizeof(uint64_t));
	uio_mutex_destroy(&drv->lock);
	uio_delete(drv);
}

/* ------------------------------------------------------------- devices */

static struct drv_dev *dev_find(struct uio_its_drv *drv, uint32_t devid)
{
	size_t i;

	for (i = 0; i < drv->ndevs; i++)
		if (drv->devs[i].devid == devid)
			return &drv->devs[i];
	return NULL;
}

static int devs_reserve(struct uio_its_drv *drv)
{
	struct drv_dev *n;
	size_t cap;

	if (drv->ndevs < drv->cap)
		return 0;
	cap = drv->cap ? 2 * drv->cap : 8;
	n = uio_calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (drv->ndevs)
		memcpy(n, drv->devs, drv->ndevs * sizeof(*n));
	uio_free_array(drv->devs, drv->cap, sizeof(*drv->devs));
	drv->devs = n;
	drv->cap = cap;
	return 0;
}

/*
 * Two-level device table: make sure the level 2 page for @devid exists.
 * *@new_page is set when this call allocated it (to undo on failure).
 */
static int l2_page_ensure(struct uio_its_drv *drv, uint32_t devid,
			  uint64_t *new_page)
{
	uint64_t per_page = DRV_PAGE / drv->dt.esz, l1_pa, l1e, page;
	int ret;

	*new_page = 0;
	if (!drv->dt.indirect)
		return 0;
	l1_pa = drv->dt.pa + devid / per_page * GITS_L1E_SIZE;
	ret = uiommu_phys_ld(drv->pm, l1_pa, 8, &l1e, NULL);
	if (ret || UIO_FEX64(l1e, GITS_L1E, VALID))
		return ret;
	ret = pool_get(drv, DRV_PAGE, &page);
	if (ret)
		return ret;
	l1e = UIO_FDP64(0, GITS_L1E, VALID, 1);
	l1e = UIO_FDP64(l1e, GITS_L1E, PA, page >> GITS_L1E_PA_SHIFT);
	ret = uiommu_phys_st(drv->pm, l1_pa, 8, l1e, NULL);
	if (ret) {
		pool_put(drv, page, DRV_PAGE);
		return ret;
	}
	*new_page = page;
	return 0;
}

static void l2_page_undo(struct uio_its_drv *drv, uint32_t devid,
			 uint64_t page)
{
	uint64_t per_page = DRV_PAGE / drv->dt.esz;

	if (!page)
		return;
	if (uiommu_phys_st(drv->pm, drv->dt.pa + devid / per_page *
			   GITS_L1E_SIZE, 8, 0, NULL))
		assert(0);
	pool_put(drv, page, DRV_PAGE);
}

static struct drv_cmd cmd_mapd(uint32_t devid, const struct drv_dev *d,
			       bool valid)
{
	struct drv_cmd c = cmd_dev_event(GITS_CMD_MAPD, devid, 0);

	c.d[1] = UIO_FDP64(0, GITS_CMD1, SIZE, d->event_bits - 1);
	c.d[2] = UIO_FDP64(0, GITS_CMD2, ITT_ADDR,
			   d->itt_pa >> GITS_CMD2_ITT_ADDR_SHIFT);
	c.d[2] = UIO_FDP64(c.d[2], GITS_CMD2, VALID, valid);
	return c;
}

int uio_its_drv_map_device(struct uio_its_drv *drv, uint32_t devid,
			   uint32_t nr_events)
{
	struct drv_dev d = { .devid = devid, .event_bits = 1 };
	uint64_t l2_page;
	int ret;

	if ((drv->devid_bits < 32 && devid >> drv->devid_bits) ||
	    nr_events == 0 ||
	    (drv->eventid_bits < 32 && (nr_events - 1) >> drv->eventid_bits))
		return uio_fail(-ERANGE, SUBSYS, "DeviceID 0x%x with %u events"
				" does not fit the ITS", devid, nr_events);
	while (UIO_BIT(d.event_bits) < nr_events)
		d.event_bits++;
	d.itt_bytes = pow2_at_least(UIO_BIT(d.event_bits) * drv->ite_size, 4096);
	uio_lock(&drv->lock);
	ret = -EEXIST;
	if (dev_find(drv, devid))
		goto out_unlock;
	ret = devs_reserve(drv);
	if (ret)
		goto out_unlock;
	ret = pool_get(drv, d.itt_bytes, &d.itt_pa);
	if (ret)
		goto out_unlock;
	ret = l2_page_ensure(drv, devid, &l2_page);
	if (ret)
		goto err_free_itt;
	ret = cq_run(drv, cmd_mapd(devid, &d, true), 0);
	if (ret)
		goto err_undo_l2;
	drv->devs[drv->ndevs++] = d;
	uio_unlock(&drv->lock);
	return 0;

err_undo_l2:
	l2_page_undo(drv, devid, l2_page);
err_free_itt:
	pool_put(drv, d.itt_pa, d.itt_bytes);
out_unlock:
	uio_unlock(&drv->lock);
	return ret;
}

int uio_its_drv_unmap_device(struct uio_its_drv *drv, uint32_t devid)
{
	struct drv_dev *d;
	int ret;

	uio_lock(&drv->lock);
	d = dev_find(drv, devid);
	if (!d) {
		uio_unlock(&drv->lock);
		return -ENOENT;
	}
	ret = cq_run(drv, cmd_mapd(devid, d, false), 0);
	if (!ret) {
		pool_put(drv, d->itt_pa, d->itt_bytes);
		*d = drv->devs[--drv->ndevs];
	}
	uio_unlock(&drv->lock);
	return ret;
}

/* -------------------------------------------------------------- events */

/* The mapped device of an event command, with range checks. */
static int event_check(struct uio_its_drv *drv, uint32_t devid,
		       uint32_t eventid, unsigned int cpu)
{
	struct drv_dev *d = dev_find(drv, devid);

	uio_assert_held(&drv->lock);
	if (!d)
		return -ENOENT;
	if (eventid >> d->event_bits || cpu >= drv->nr_cpus)
		return uio_fail(-ERANGE, SUBSYS, "DeviceID 0x%x: EventID %u or "
				"CPU %u out of range", devid, eventid, cpu);
	return 0;
}

int uio_its_drv_map_event(struct uio_its_drv *drv, uint32_t devid,
			  uint32_t eventid, uint32_t lpi, unsigned int cpu)
{
	struct drv_cmd c = cmd_dev_event(GITS_CMD_MAPTI, devid, eventid);
	int ret;

	if (lpi < UIOMMU_GIC_FIRST_LPI ||
	    lpi - UIOMMU_GIC_FIRST_LPI >= drv->nr_lpis)
		return uio_fail(-ERANGE, SUBSYS, "LPI %u out of range", lpi);
	c.d[1] = UIO_FDP64(c.d[1], GITS_CMD1, PINTID, lpi);
	c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, cpu);
	uio_lock(&drv->lock);
	ret = event_check(drv, devid, eventid, cpu);
	if (!ret)
		ret = cq_run(drv, c, cpu);
	uio_unlock(&drv->lock);
	return ret;
}

int uio_its_drv_unmap_event(struct uio_its_drv *drv, uint32_t devid,
			    uint32_t eventid)
{
	int ret;

	uio_lock(&drv->lock);
	ret = event_check(drv, devid, eventid, 0);
	if (!ret)
		ret = cq_run(drv, cmd_dev_event(GITS_CMD_DISCARD, devid,
						eventid), 0);
	uio_unlock(&drv->lock);
	return ret;
}

int uio_its_drv_move_event(struct uio_its_drv *drv, uint32_t devid,
			   uint32_t eventid, unsigned int cpu)
{
	struct drv_cmd c = cmd_dev_event(GITS_CMD_MOVI, devid, eventid);
	int ret;

	c.d[2] = UIO_FDP64(0, GITS_CMD2, ICID, cpu);
	uio_lock(&drv->lock);
	ret = event_check(drv, devid, eventid, cpu);
	if (!ret)
		ret = cq_run(drv, c, cpu);
	uio_unlock(&drv->lock);
	return ret;
}

/* ---------------------------------------------------------------- LPIs */

int uio_its_drv_alloc_lpis(struct uio_its_drv *drv, uint32_t n,
			   uint32_t *first)
{
	uint32_t start;
	int ret;

	if (n == 0)
		return uio_fail(-EINVAL, SUBSYS, "zero LPIs");
	uio_lock(&drv->lock);
	ret = uio_id_bitmap_alloc(drv->lpi_map, drv->nr_lpis, n, &start);
	uio_unlock(&drv->lock);
	if (!ret)
		*first = UIOMMU_GIC_FIRST_LPI + start;
	return ret;
}

void uio_its_drv_free_lpis(struct uio_its_drv *drv, uint32_t first,
			   uint32_t n)
{
	uio_lock(&drv->lock);
	uio_id_bitmap_free(drv->lpi_map, drv->nr_lpis,
			   first - UIOMMU_GIC_FIRST_LPI, n);
	uio_unlock(&drv->lock);
}

uint64_t uio_its_drv_doorbell(const struct uio_its_drv *drv)
{
	return drv->base + 0x10000 + GITS_TRANSLATER_OFF;
}

uint64_t uio_its_drv_commands(struct uio_its_drv *drv)
{
	uint64_t n;

	uio_lock(&drv->lock);
	n = drv->ncmds;
	uio_unlock(&drv->lock);
	return n;
}
