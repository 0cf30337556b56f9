// SPDX-License-Identifier: MIT
/*
 * Tests of the OS-side PCI core against the PCI models: enumeration, BAR
 * sizing and assignment from the host bridge windows, capability walking,
 * and MSI / MSI-X enabling in the order a kernel uses, checked both by the
 * messages that arrive at a fake doorbell and by the sequence of
 * configuration writes the core makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/pci-core.h>

#include "pci-regs.h"

#define RAM_BASE	UINT64_C(0x40000000)
#define ECAM_BASE	UINT64_C(0x3f000000)
#define MEM_BASE	UINT64_C(0x10000000)
#define MEM_SIZE	UINT64_C(0x2eff0000)
#define MEM64_BASE	UINT64_C(0x8000000000)
#define MEM64_SIZE	UINT64_C(0x8000000000)
#define DOORBELL	UINT64_C(0x08090000)
#define DOORBELL_HI	UINT64_C(0x4000000000)

struct db_write {
	uint64_t addr;
	uint32_t data, source_id;
};

struct cfg_log {
	unsigned int devfn, off, size;
	uint32_t val;
};

struct env {
	struct uiommu_physmem *pm;
	struct uiommu_pci_host *host;
	struct uiommu_pci_core *core;
	struct uiommu_pci_dev *td;
	struct db_write db[4096];
	unsigned int ndb;
	struct cfg_log log[8192];
	unsigned int nlog;
	bool logging;
};

static int db_read(void *opaque, uint64_t offset, unsigned int size,
		   uint64_t *val, const struct uiommu_memattrs *attrs)
{
	*val = 0;
	return 0;
}

static int db_write(void *opaque, uint64_t offset, unsigned int size,
		    uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct env *e = opaque;

	assert_true(e->ndb < 4096);
	e->db[e->ndb++] = (struct db_write){ offset, (uint32_t)val,
					     attrs->source_id };
	return 0;
}

static const struct uiommu_mmio_ops db_ops = { db_read, db_write };

/* Configuration accessors that record writes on their way to the host. */
static int log_read(void *opaque, unsigned int bus, unsigned int devfn,
		    unsigned int off, unsigned int size, uint32_t *val)
{
	struct env *e = opaque;

	return uiommu_pci_host_cfg_ops()->read(e->host, bus, devfn, off, size,
					       val);
}

static int log_write(void *opaque, unsigned int bus, unsigned int devfn,
		     unsigned int off, unsigned int size, uint32_t val)
{
	struct env *e = opaque;

	if (e->logging && e->nlog < 8192)
		e->log[e->nlog++] = (struct cfg_log){ devfn, off, size, val };
	return uiommu_pci_host_cfg_ops()->write(e->host, bus, devfn, off, size,
						val);
}

static const struct uiommu_pci_cfg_ops log_ops = { log_read, log_write };

static void plug_testdev(struct env *e, const char *name, unsigned int bus,
			 unsigned int devfn, unsigned int msi,
			 unsigned int msix, struct uiommu_pci_dev **out)
{
	struct uiommu_testdev_config tc = { name, msi, msix };
	struct uiommu_pci_dev *d;

	assert_int_equal(uiommu_testdev_create(&tc, &d), 0);
	assert_int_equal(uiommu_pci_host_plug(e->host, bus, devfn, d), 0);
	if (out)
		*out = d;
}

static struct env *env_new(uint64_t mem_size, uint64_t mem64_size)
{
	struct env *e = calloc(1, sizeof(*e));
	struct uiommu_pci_host_desc hd = {
		.name = "pcie@3f000000", .ecam_base = ECAM_BASE,
		.bus_start = 0, .bus_end = 3,
	};
	struct uiommu_mmio_desc dd = { .name = "db", .owner = "test",
				       .size = 4096, .ops = &db_ops };
	struct uiommu_pci_core_desc cd = {
		.cfg_ops = &log_ops, .bus_start = 0, .bus_end = 3,
		.mem_base = MEM_BASE, .mem_size = mem_size,
		.mem64_base = MEM64_BASE, .mem64_size = mem64_size,
	};

	assert_non_null(e);
	assert_int_equal(uiommu_physmem_create(48, &e->pm), 0);
	assert_int_equal(uiommu_physmem_add_ram(e->pm, "ram", RAM_BASE,
						1 << 20, NULL, NULL), 0);
	dd.opaque = e;
	assert_int_equal(uiommu_physmem_add_mmio(e->pm, DOORBELL, &dd), 0);
	assert_int_equal(uiommu_physmem_add_mmio(e->pm, DOORBELL_HI, &dd), 0);
	hd.dma_ops = uiommu_pci_dma_physmem_ops();
	hd.dma_opaque = e->pm;
	assert_int_equal(uiommu_pci_host_create(e->pm, &hd, &e->host), 0);
	cd.pm = e->pm;
	cd.cfg_opaque = e;
	assert_int_equal(uiommu_pci_core_create(&cd, &e->core), 0);
	return e;
}

static void env_free(struct env *e)
{
	assert_int_equal(uiommu_pci_core_check(e->core), 0);
	assert_int_equal(uiommu_pci_host_check(e->host), 0);
	uiommu_pci_core_destroy(e->core);
	uiommu_pci_host_destroy(e->host);
	uiommu_physmem_destroy(e->pm);
	free(e);
}

static uint32_t td_reg(struct env *e, const struct uiommu_pci_func_info *fi,
		       uint64_t off)
{
	uint64_t v;

	assert_int_equal(uiommu_phys_ld(e->pm, fi->bar[0].addr + off, 4, &v,
					NULL), 0);
	return (uint32_t)v;
}

static void td_raise(struct env *e, const struct uiommu_pci_func_info *fi,
		     unsigned int vector)
{
	assert_int_equal(uiommu_phys_st(e->pm, fi->bar[0].addr +
					UIOMMU_TESTDEV_IRQ_RAISE, 4, vector,
					NULL), 0);
}

/* ----------------------------------------------------------- enumerate */

static void test_enumerate_sizes_and_assigns_bars(void **state)
{
	struct env *e = env_new(MEM_SIZE, MEM64_SIZE);
	struct uiommu_pci_dev_desc gd = { .name = "big", .vendor_id = 0x1af4,
					  .device_id = 0x1041,
					  .class_code = 0x020000 };
	struct uiommu_pci_bar_desc b4 = { .size = UINT64_C(8) << 30,
		.flags = UIOMMU_PCI_BAR_64 | UIOMMU_PCI_BAR_PREFETCH };
	struct uiommu_pci_bar_desc b1 = { .size = 4096 };
	struct uiommu_pci_func_info fi;
	struct uiommu_pci_dev *g;
	unsigned int off;

	(void)state;
	plug_testdev(e, "td0", 0, UIOMMU_PCI_DEVFN(1, 0), 4, 32, &e->td);
	plug_testdev(e, "td1", 0, UIOMMU_PCI_DEVFN(4, 0), 1, 0, NULL);
	plug_testdev(e, "td2", 0, UIOMMU_PCI_DEVFN(4, 2), 0, 8, NULL);
	plug_testdev(e, "td3", 2, UIOMMU_PCI_DEVFN(0, 0), 0, 2048, NULL);
	assert_int_equal(uiommu_pci_dev_create(&gd, &g), 0);
	assert_int_equal(uiommu_pci_dev_add_bar(g, 1, &b1), 0);
	assert_int_equal(uiommu_pci_dev_add_bar(g, 4, &b4), 0);
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, UIOMMU_PCI_DEVFN(3, 0), g), 0);

	assert_int_equal(uiommu_pci_core_enumerate(e->core), 0);
	assert_int_equal(uiommu_pci_core_enumerate(e->core), -EBUSY);
	assert_int_equal(uiommu_pci_core_count(e->core), 5);
	uiommu_pci_func_get_info(uiommu_pci_core_func(e->core, 0), &fi);
	assert_int_equal(fi.rid, 0x0008);
	assert_int_equal(fi.vendor_id, UIOMMU_TESTDEV_VENDOR_ID);
	assert_int_equal(fi.class_code, UIOMMU_TESTDEV_CLASS);
	assert_int_equal(fi.bar[0].size, UIOMMU_TESTDEV_BAR0_SIZE);
	assert_true(fi.bar[0].is64 && fi.bar[0].assigned);
	assert_int_equal(fi.bar[1].size, 0);
	assert_int_equal(fi.bar[2].size, UIOMMU_TESTDEV_BAR2_SIZE);
	assert_false(fi.bar[2].is64);
	assert_true(fi.bar[2].addr >= MEM_BASE &&
		    fi.bar[2].addr < MEM_BASE + MEM_SIZE);
	assert_int_equal(fi.msi_max, 4);
	assert_int_equal(fi.msix_max, 32);
	/* Memory decode is on: the device answers at its BAR. */
	assert_int_equal(td_reg(e, &fi, UIOMMU_TESTDEV_ID), 0x75690001);
	/* Function 2 of the multi-function device, and bus 2. */
	assert_non_null(uiommu_pci_core_find(e->core, 0, UIOMMU_PCI_DEVFN(4, 2)));
	uiommu_pci_func_get_info(uiommu_pci_core_find(e->core, 2, 0), &fi);
	assert_int_equal(fi.msix_max, 2048);
	/* Topology facts. */
	assert_int_equal(fi.pcie_type, 0x9);
	assert_false(fi.multifunction);
	uiommu_pci_func_get_info(uiommu_pci_core_find(e->core, 0,
						      UIOMMU_PCI_DEVFN(4, 2)), &fi);
	assert_true(fi.multifunction);
	assert_int_equal(fi.acs_pos, 0);
	/* The 8 GiB prefetchable BAR went to the 64-bit window. */
	uiommu_pci_func_get_info(uiommu_pci_core_find(e->core, 0,
						      UIOMMU_PCI_DEVFN(3, 0)), &fi);
	assert_int_equal(fi.bar[4].size, UINT64_C(8) << 30);
	assert_true(fi.bar[4].prefetch);
	assert_int_equal(fi.bar[4].addr, MEM64_BASE);
	assert_int_equal(fi.bar[1].size, 4096);
	assert_int_equal(fi.msi_cap, 0);
	assert_int_equal(fi.pcie_type, -1);
	assert_int_equal(uiommu_pci_func_find_cap(uiommu_pci_core_find(e->core, 0, UIOMMU_PCI_DEVFN(3, 0)),
						  PCI_CAP_ID_MSI, &off), -ENOENT);
	assert_int_equal(uiommu_pci_func_find_cap(uiommu_pci_core_func(e->core, 0),
						  PCI_CAP_ID_MSIX, &off), 0);
	assert_int_equal(off, 0x94);	/* after PCIe (0x40) and MSI (0x7c) */
	env_free(e);
}

static void test_bar_that_fits_no_window_stays_unassigned(void **state)
{
	struct env *e = env_new(0x10000, 0);	/* room for one 64K BAR */
	struct uiommu_pci_func_info fi;
	uint32_t cmd;

	(void)state;
	plug_testdev(e, "td0", 0, 8, 0, 4, &e->td);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_pci_core_enumerate(e->core), 0);
	assert_non_null(strstr(tu_log_text(), "no room for BAR"));
	tu_log_release();
	uiommu_pci_func_get_info(uiommu_pci_core_func(e->core, 0), &fi);
	assert_true(fi.bar[0].assigned != fi.bar[2].assigned);
	assert_int_equal(uiommu_pci_func_cfg_read(uiommu_pci_core_func(e->core, 0),
						  PCI_COMMAND, 2, &cmd), 0);
	assert_int_equal(cmd & PCI_CMD_MEM_MASK, 0);
	env_free(e);
}

static void test_acs_enabled_on_request(void **state)
{
	struct env *e = env_new(MEM_SIZE, MEM64_SIZE);
	struct uiommu_pci_core_desc cd = {
		.pm = e->pm, .cfg_ops = &log_ops, .cfg_opaque = e,
		.bus_start = 0, .bus_end = 3, .mem_base = MEM_BASE,
		.mem_size = MEM_SIZE, .request_acs = true,
	};
	struct uiommu_testdev_config tc = { "acs0", 0, 0,
		UIOMMU_PCI_ACS_SV | UIOMMU_PCI_ACS_TB | UIOMMU_PCI_ACS_RR |
		UIOMMU_PCI_ACS_CR };
	struct uiommu_pci_func_info fi;
	struct uiommu_pci_dev *d;

	(void)state;
	assert_int_equal(uiommu_testdev_create(&tc, &d), 0);
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, 0, d), 0);
	tc.name = "acs1";
	assert_int_equal(uiommu_testdev_create(&tc, &d), 0);
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, 1, d), 0);
	uiommu_pci_core_destroy(e->core);
	assert_int_equal(uiommu_pci_core_create(&cd, &e->core), 0);
	assert_int_equal(uiommu_pci_core_enumerate(e->core), 0);
	uiommu_pci_func_get_info(uiommu_pci_core_func(e->core, 1), &fi);
	assert_true(fi.multifunction);
	assert_int_equal(fi.acs_pos, 0x100);
	assert_int_equal(fi.acs_cap, 0xf);
	/* SV, RR, CR enabled; Translation Blocking left off, as Linux. */
	assert_int_equal(fi.acs_ctrl, 0xd);
	env_free(e);
}

/* ---------------------------------------------------------------- MSI-X */

struct compose_ctx {
	uint64_t addr;
	uint32_t data;
	unsigned int calls;
	unsigned int fail_at;	/* vector whose compose fails, or ~0 */
	bool skew;		/* break multiple-message contiguity */
};

static int compose(void *opaque, struct uiommu_pci_func *fn,
		   unsigned int vector, struct uiommu_pci_msi_msg *msg)
{
	struct compose_ctx *c = opaque;

	c->calls++;
	if (vector == c->fail_at)
		return -ENOSPC;
	msg->address = c->addr;
	msg->data = c->data + vector + (c->skew && vector == 1);
	return 0;
}

static unsigned int log_find(struct env *e, unsigned int from,
			     unsigned int off)
{
	for (unsigned int i = from; i < e->nlog; i++)
		if (e->log[i].off == off)
			return i;
	return UINT32_MAX;
}

/* One test device at 00:01.0, enumerated, bus master on. */
static struct uiommu_pci_func *one_testdev(struct env *e, unsigned int msi,
					   unsigned int msix,
					   struct uiommu_pci_func_info *fi)
{
	struct uiommu_pci_func *fn;

	plug_testdev(e, "td0", 0, 8, msi, msix, &e->td);
	assert_int_equal(uiommu_pci_core_enumerate(e->core), 0);
	fn = uiommu_pci_core_func(e->core, 0);
	assert_int_equal(uiommu_pci_func_set_master(fn, true), 0);
	uiommu_pci_func_get_info(fn, fi);
	return fn;
}

static void test_msix_setup_order_and_delivery(void **state)
{
	struct env *e = env_new(MEM_SIZE, MEM64_SIZE);
	struct compose_ctx cc = { DOORBELL + 0x40, 0x100, 0, ~0u, false };
	struct uiommu_pci_func *fn;
	struct uiommu_pci_func_info fi;
	unsigned int nvec, first, last, c;
	uint32_t v;

	(void)state;
	fn = one_testdev(e, 1, 64, &fi);
	c = fi.msix_cap;
	e->logging = true;
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 1, 32,
			 UIOMMU_PCI_IRQ_FLAG_MSI | UIOMMU_PCI_IRQ_FLAG_MSIX,
			 compose, &cc, &nvec), 0);
	e->logging = false;
	assert_int_equal(nvec, 32);
	assert_int_equal(cc.calls, 32);
	/* Control: enabled with the function masked first, mask cleared last. */
	first = log_find(e, 0, c + PCI_MSIX_FLAGS);
	assert_true(first != UINT32_MAX);
	assert_int_equal(e->log[first].val & 0xc000, 0xc000);
	for (last = first; log_find(e, last + 1, c + PCI_MSIX_FLAGS) != UINT32_MAX;)
		last = log_find(e, last + 1, c + PCI_MSIX_FLAGS);
	assert_true(last > first);
	assert_int_equal(e->log[last].val & 0xc000, 0x8000);
	/* INTx disabled in between. */
	assert_true(log_find(e, first, PCI_COMMAND) < last);
	assert_int_equal(uiommu_pci_func_cfg_read(fn, PCI_COMMAND, 2, &v), 0);
	assert_true(v & PCI_CMD_INTX_DISABLE_MASK);
	uiommu_pci_func_get_info(fn, &fi);
	assert_int_equal(fi.irq_mode, UIOMMU_PCI_IRQ_MSIX);
	/* Every vector arrives exactly once with its message and the RID. */
	for (unsigned int i = 0; i < 32; i++)
		td_raise(e, &fi, i);
	assert_int_equal(e->ndb, 32);
	for (unsigned int i = 0; i < 32; i++) {
		assert_int_equal(e->db[i].addr, 0x40);
		assert_int_equal(e->db[i].data, 0x100 + i);
		assert_int_equal(e->db[i].source_id, fi.rid);
	}
	/* Vector 32 is beyond what was enabled: still masked at reset. */
	td_raise(e, &fi, 32);
	assert_int_equal(td_reg(e, &fi, UIOMMU_TESTDEV_IRQ_STATUS), 1);
	assert_int_equal(e->ndb, 32);
	/* Masking through the core leaves it pending; unmask delivers. */
	assert_int_equal(uiommu_pci_irq_set_masked(fn, 5, true), 0);
	td_raise(e, &fi, 5);
	assert_int_equal(e->ndb, 32);
	assert_int_equal(uiommu_pci_irq_set_masked(fn, 5, false), 0);
	assert_int_equal(e->ndb, 33);
	/* Rewriting an unmasked vector's message. */
	assert_int_equal(uiommu_pci_irq_write_msg(fn, 7, &(struct uiommu_pci_msi_msg){
							  DOORBELL_HI + 8, 0x777 }), 0);
	td_raise(e, &fi, 7);
	assert_int_equal(e->ndb, 34);
	assert_int_equal(e->db[33].addr, 8);
	assert_int_equal(e->db[33].data, 0x777);
	assert_int_equal(uiommu_pci_irq_set_masked(fn, 32, true), -EINVAL);
	/* A second allocation is refused; free disables. */
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 1, 1,
			 UIOMMU_PCI_IRQ_FLAG_MSIX, compose, &cc, &nvec), -EBUSY);
	assert_int_equal(uiommu_pci_free_irq_vectors(fn), 0);
	assert_int_equal(uiommu_pci_free_irq_vectors(fn), -ENOENT);
	td_raise(e, &fi, 1);
	assert_int_equal(td_reg(e, &fi, UIOMMU_TESTDEV_IRQ_STATUS), EIO);
	assert_int_equal(uiommu_pci_func_cfg_read(fn, c + PCI_MSIX_FLAGS, 2, &v), 0);
	assert_int_equal(v & 0xc000, 0);
	assert_int_equal(uiommu_pci_func_cfg_read(fn, PCI_COMMAND, 2, &v), 0);
	assert_false(v & PCI_CMD_INTX_DISABLE_MASK);
	env_free(e);
}

static void test_msix_compose_failure_rolls_back(void **state)
{
	struct env *e = env_new(MEM_SIZE, MEM64_SIZE);
	struct compose_ctx cc = { DOORBELL, 0, 0, 3, false };
	struct uiommu_pci_func *fn;
	struct uiommu_pci_func_info fi;
	unsigned int nvec;
	uint32_t v;

	(void)state;
	fn = one_testdev(e, 0, 16, &fi);
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 4, 8,
			 UIOMMU_PCI_IRQ_FLAG_MSIX, compose, &cc, &nvec), -ENOSPC);
	uiommu_pci_func_get_info(fn, &fi);
	assert_int_equal(fi.irq_mode, UIOMMU_PCI_IRQ_NONE);
	assert_int_equal(uiommu_pci_func_cfg_read(fn, fi.msix_cap + PCI_MSIX_FLAGS,
						  2, &v), 0);
	assert_int_equal(v & 0xc000, 0);
	/* Too few vectors; no MSI capability. */
	cc.fail_at = ~0u;
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 17, 32,
			 UIOMMU_PCI_IRQ_FLAG_MSIX, compose, &cc, &nvec), -ENOSPC);
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 1, 1,
			 UIOMMU_PCI_IRQ_FLAG_MSI, compose, &cc, &nvec), -ENODEV);
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 2, 1,
			 UIOMMU_PCI_IRQ_FLAG_MSI, compose, &cc, &nvec), -EINVAL);
	env_free(e);
}

/* ------------------------------------------------------------------ MSI */

static void test_msi_setup_order_and_multiple_message(void **state)
{
	struct env *e = env_new(MEM_SIZE, MEM64_SIZE);
	struct compose_ctx cc = { DOORBELL + 0x40, 0x20, 0, ~0u, false };
	struct uiommu_pci_func *fn;
	struct uiommu_pci_func_info fi;
	unsigned int nvec, mask_reg, i_mask, i_enable;
	uint32_t v;

	(void)state;
	fn = one_testdev(e, 8, 0, &fi);
	mask_reg = fi.msi_cap + PCI_MSI_MASK_64;
	e->logging = true;
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 1, 3,
			 UIOMMU_PCI_IRQ_FLAG_MSI | UIOMMU_PCI_IRQ_FLAG_MSIX,
			 compose, &cc, &nvec), 0);
	e->logging = false;
	assert_int_equal(nvec, 3);
	/* Mask all first, enable after programming, unmask last. */
	i_mask = log_find(e, 0, mask_reg);
	assert_int_equal(i_mask, 0);
	assert_int_equal(e->log[i_mask].val, 0xff);
	i_enable = log_find(e, log_find(e, 0, fi.msi_cap + PCI_MSI_FLAGS) + 1,
			    fi.msi_cap + PCI_MSI_FLAGS);
	assert_true(i_enable != UINT32_MAX);
	assert_true(e->log[i_enable].val & 1);
	assert_int_equal(log_find(e, i_mask + 1, mask_reg), e->nlog - 1);
	assert_int_equal(e->log[e->nlog - 1].val, 0xf8);
	/* MME = 2 (4 vectors for 3 requested). */
	assert_int_equal(uiommu_pci_func_cfg_read(fn, fi.msi_cap + PCI_MSI_FLAGS,
						  2, &v), 0);
	assert_int_equal((v >> 4) & 7, 2);
	uiommu_pci_func_get_info(fn, &fi);
	for (unsigned int i = 0; i < 3; i++)
		td_raise(e, &fi, i);
	assert_int_equal(e->ndb, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(e->db[i].data, 0x20 + i);
		assert_int_equal(e->db[i].addr, 0x40);
	}
	/* Per-vector masking via the core. */
	assert_int_equal(uiommu_pci_irq_set_masked(fn, 1, true), 0);
	td_raise(e, &fi, 1);
	assert_int_equal(e->ndb, 3);
	assert_int_equal(uiommu_pci_irq_set_masked(fn, 1, false), 0);
	assert_int_equal(e->ndb, 4);
	/* Retarget vector 2's block above 4 GiB. */
	assert_int_equal(uiommu_pci_irq_write_msg(fn, 2, &(struct uiommu_pci_msi_msg){
							  DOORBELL_HI, 0x42 }), 0);
	td_raise(e, &fi, 1);
	assert_int_equal(e->db[4].data, 0x41);
	assert_int_equal(uiommu_pci_free_irq_vectors(fn), 0);
	assert_int_equal(uiommu_pci_func_cfg_read(fn, mask_reg, 4, &v), 0);
	assert_int_equal(v, 0);
	/* Data not forming one block is refused, and nothing is enabled. */
	cc.skew = true;
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 2, 2,
			 UIOMMU_PCI_IRQ_FLAG_MSI, compose, &cc, &nvec), -EINVAL);
	cc.skew = false;
	cc.data = 0x21;			/* not aligned to 2 */
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 2, 2,
			 UIOMMU_PCI_IRQ_FLAG_MSI, compose, &cc, &nvec), -EINVAL);
	assert_int_equal(uiommu_pci_func_cfg_read(fn, fi.msi_cap + PCI_MSI_FLAGS,
						  2, &v), 0);
	assert_int_equal(v & 1, 0);
	env_free(e);
}

static void test_msi_32bit_refuses_high_address(void **state)
{
	struct env *e = env_new(MEM_SIZE, MEM64_SIZE);
	struct uiommu_pci_dev_desc gd = { .name = "m32", .vendor_id = 0x1af4 };
	struct compose_ctx cc = { DOORBELL_HI, 0, 0, ~0u, false };
	struct uiommu_pci_dev *g;
	struct uiommu_pci_func *fn;
	unsigned int nvec;

	(void)state;
	assert_int_equal(uiommu_pci_dev_create(&gd, &g), 0);
	assert_int_equal(uiommu_pci_dev_add_msi(g, 1, 0), 0);
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, 0, g), 0);
	assert_int_equal(uiommu_pci_core_enumerate(e->core), 0);
	fn = uiommu_pci_core_func(e->core, 0);
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 1, 1,
			 UIOMMU_PCI_IRQ_FLAG_MSI, compose, &cc, &nvec), -EINVAL);
	cc.addr = DOORBELL;
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 1, 1,
			 UIOMMU_PCI_IRQ_FLAG_MSI, compose, &cc, &nvec), 0);
	assert_int_equal(uiommu_pci_irq_set_masked(fn, 0, true), -EOPNOTSUPP);
	env_free(e);
}

/* ------------------------------------------------- through an "IOMMU" */

/* A one-page-at-a-time translating DMA port, standing in for an SMMU. */
struct xlate_port {
	struct uiommu_physmem *pm;
	uint64_t iova[4], pa[4];	/* 4 KiB pages */
	unsigned int n;
	unsigned int faults;
	uint16_t fault_rid;
};

static int xlate_access(void *opaque, uint16_t rid, uint64_t iova, void *buf,
			size_t len, bool write, struct uiommu_dma_fault *fault)
{
	struct xlate_port *x = opaque;

	for (unsigned int i = 0; i < x->n; i++)
		if ((iova & ~UINT64_C(0xfff)) == x->iova[i] &&
		    (iova & 0xfff) + len <= 4096)
			return uiommu_pci_dma_physmem_ops()->access(x->pm, rid,
				x->pa[i] + (iova & 0xfff), buf, len, write, fault);
	x->faults++;
	x->fault_rid = rid;
	*fault = (struct uiommu_dma_fault){ UIOMMU_DMA_FAULT_TRANSLATION, iova,
					    write, 0 };
	return -EFAULT;
}

static const struct uiommu_pci_dma_ops xlate_ops = { xlate_access };

/*
 * The seed's problem in miniature: vectors hold an IOVA of the MSI window;
 * until the doorbell page is mapped there, every MSI faults in the
 * "IOMMU"; once mapped, each arrives with the device's RID beside it.
 */
static void test_msi_through_translation_needs_doorbell_mapping(void **state)
{
	struct env *e = env_new(MEM_SIZE, MEM64_SIZE);
	struct xlate_port x = { .pm = e->pm };
	struct compose_ctx cc = { UINT64_C(0x8000040), 0, 0, ~0u, false };
	struct uiommu_pci_func_info fi;
	struct uiommu_pci_dev_stats st;
	struct uiommu_pci_func *fn;
	unsigned int nvec;

	(void)state;
	uiommu_pci_host_set_dma(e->host, &xlate_ops, &x);
	fn = one_testdev(e, 0, 32, &fi);
	assert_int_equal(uiommu_pci_alloc_irq_vectors(fn, 32, 32,
			 UIOMMU_PCI_IRQ_FLAG_MSIX, compose, &cc, &nvec), 0);
	td_raise(e, &fi, 3);
	assert_int_equal(td_reg(e, &fi, UIOMMU_TESTDEV_IRQ_STATUS), EFAULT);
	assert_int_equal(e->ndb, 0);
	assert_int_equal(x.faults, 1);
	assert_int_equal(x.fault_rid, fi.rid);
	/* Map the window's page onto the doorbell frame. */
	x.iova[0] = 0x8000000;
	x.pa[0] = DOORBELL;
	x.n = 1;
	for (unsigned int v = 0; v < 32; v++)
		td_raise(e, &fi, v);
	assert_int_equal(e->ndb, 32);
	for (unsigned int v = 0; v < 32; v++) {
		assert_int_equal(e->db[v].addr, 0x40);
		assert_int_equal(e->db[v].data, v);
		assert_int_equal(e->db[v].source_id, fi.rid);
	}
	/* DMA goes through the same translation. */
	x.iova[1] = 0x100000;
	x.pa[1] = RAM_BASE;
	x.n = 2;
	assert_int_equal(uiommu_phys_st(e->pm, fi.bar[0].addr + UIOMMU_TESTDEV_SRC,
					8, 0x100000, NULL), 0);
	assert_int_equal(uiommu_phys_st(e->pm, fi.bar[0].addr + UIOMMU_TESTDEV_LEN,
					4, 0x2000, NULL), 0);
	assert_int_equal(uiommu_phys_st(e->pm, fi.bar[0].addr + UIOMMU_TESTDEV_CMD,
					4, UIOMMU_TESTDEV_OP_READ, NULL), 0);
	/* The second page is not mapped: fault at its first byte. */
	assert_int_equal(td_reg(e, &fi, UIOMMU_TESTDEV_STATUS),
			 UIOMMU_TESTDEV_ST_ERROR |
			 (UIOMMU_TESTDEV_ERR_DMA << UIOMMU_TESTDEV_ST_ERR_SHIFT) |
			 (UIOMMU_DMA_FAULT_TRANSLATION << UIOMMU_TESTDEV_ST_FAULT_SHIFT));
	assert_int_equal(td_reg(e, &fi, UIOMMU_TESTDEV_FAULT_ADDR), 0x101000);
	uiommu_pci_dev_get_stats(e->td, &st);
	assert_int_equal(st.msi_faults, 1);
	assert_int_equal(st.msi_sent, 32);
	assert_int_equal(st.dma_ok, 1);
	assert_int_equal(st.dma_faults, 1);
	env_free(e);
}

/* -------------------------------------------------------------- fail-Nth */

struct nth_ctx {
	struct env *e;
	struct uiommu_pci_core_desc cd;
	long live;
};

/*
 * physmem frees retired snapshots lazily and keeps tombstones: one add and
 * remove of a scratch region brings its own allocations to a state that
 * depends only on the live regions, so that live-block counts compare.
 */
static void pm_settle(struct uiommu_physmem *pm)
{
	static const struct uiommu_mmio_ops none = { db_read, db_write };
	struct uiommu_mmio_desc d = { .name = "settle", .owner = "test",
				      .size = 4096, .ops = &none };

	assert_int_equal(uiommu_physmem_add_mmio(pm, UINT64_C(0xf000000000), &d), 0);
	assert_int_equal(uiommu_physmem_remove(pm, UINT64_C(0xf000000000)), 0);
}

static int nth_op(void *opaque)
{
	struct nth_ctx *c = opaque;
	int ret = uiommu_pci_core_create(&c->cd, &c->e->core);

	if (ret)
		return ret;
	ret = uiommu_pci_core_enumerate(c->e->core);
	if (ret) {
		uiommu_pci_core_destroy(c->e->core);
		c->e->core = NULL;
	}
	return ret;
}

static void nth_check(void *opaque, int ret)
{
	struct nth_ctx *c = opaque;

	assert_int_equal(ret, -ENOMEM);
	/* Decoding the core turned on maps BAR regions: turn it off. */
	for (unsigned int d = 0; d < 12; d++)
		assert_int_equal(uiommu_pci_host_cfg_write(c->e->host, d / 4,
				 UIOMMU_PCI_DEVFN(d, 0), PCI_COMMAND, 2, 0), 0);
	pm_settle(c->e->pm);
	assert_int_equal(tu_alloc_live_blocks(), c->live);
}

static void nth_reset(void *opaque)
{
	struct nth_ctx *c = opaque;

	uiommu_pci_core_destroy(c->e->core);
	c->e->core = NULL;
}

static void test_fail_nth_enumerate(void **state)
{
	struct nth_ctx c = { 0 };

	(void)state;
	tu_alloc_install(0);
	c.e = env_new(MEM_SIZE, MEM64_SIZE);
	for (unsigned int d = 0; d < 12; d++) {
		char name[16];

		snprintf(name, sizeof(name), "td%u", d);
		plug_testdev(c.e, name, d / 4, UIOMMU_PCI_DEVFN(d, 0), 1, 4, NULL);
	}
	c.cd = (struct uiommu_pci_core_desc){
		.pm = c.e->pm, .cfg_ops = &log_ops, .cfg_opaque = c.e,
		.bus_start = 0, .bus_end = 3, .mem_base = MEM_BASE,
		.mem_size = MEM_SIZE,
	};
	uiommu_pci_core_destroy(c.e->core);
	c.e->core = NULL;
	pm_settle(c.e->pm);
	c.live = tu_alloc_live_blocks();
	assert_true(tu_fail_nth_sweep(&c, nth_op, nth_check, nth_reset) >= 3);
	assert_int_equal(uiommu_pci_core_count(c.e->core), 12);
	env_free(c.e);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enumerate_sizes_and_assigns_bars),
		cmocka_unit_test(test_bar_that_fits_no_window_stays_unassigned),
		cmocka_unit_test(test_acs_enabled_on_request),
		cmocka_unit_test(test_msix_setup_order_and_delivery),
		cmocka_unit_test(test_msix_compose_failure_rolls_back),
		cmocka_unit_test(test_msi_setup_order_and_multiple_message),
		cmocka_unit_test(test_msi_32bit_refuses_high_address),
		cmocka_unit_test(test_msi_through_translation_needs_doorbell_mapping),
		cmocka_unit_test(test_fail_nth_enumerate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
