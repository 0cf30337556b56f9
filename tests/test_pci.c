// SPDX-License-Identifier: MIT
/*
 * Tests of the PCI models: ECAM host bridge, type-0 configuration space,
 * BARs, MSI and MSI-X capabilities, the DMA test device, and of_map_id()
 * semantics.  Everything is driven as a driver would: configuration space
 * through the ECAM window, BARs through physical memory.  A fake doorbell
 * region records every MSI write with its source ID.
 */
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/pci.h>
#include <uiommu/physmem.h>

#include "pci-internal.h"

#define RAM_BASE	UINT64_C(0x40000000)
#define RAM_SIZE	(UINT64_C(16) << 20)
#define ECAM_BASE	UINT64_C(0x30000000)
#define DOORBELL	UINT64_C(0x08090000)
#define DOORBELL_HI	UINT64_C(0x8000000000)	/* needs a 64-bit address */
#define BAR0_ADDR	UINT64_C(0x10000000)
#define BAR2_ADDR	UINT64_C(0x10010000)
#define TD_DEVFN	UIOMMU_PCI_DEVFN(1, 0)

struct db_write {
	uint64_t addr;
	uint32_t data;
	uint32_t source_id, flags;
};

struct doorbell {
	pthread_mutex_t lock;
	uint64_t base;
	struct db_write w[4096];
	unsigned int n;
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
	struct doorbell *db = opaque;

	assert_int_equal(size, 4);
	pthread_mutex_lock(&db->lock);
	assert_true(db->n < 4096);
	db->w[db->n++] = (struct db_write){ db->base + offset, (uint32_t)val,
					    attrs ? attrs->source_id : 0,
					    attrs ? attrs->flags : 0 };
	pthread_mutex_unlock(&db->lock);
	return 0;
}

static const struct uiommu_mmio_ops db_ops = { db_read, db_write };

/* A DMA port that faults a window and passes the rest to physmem. */
struct fault_port {
	struct uiommu_physmem *pm;
	uint64_t lo, hi;	/* [lo, hi) faults */
	enum uiommu_dma_fault_type type;
	unsigned int calls;
};

static int fault_access(void *opaque, uint16_t rid, uint64_t iova, void *buf,
			size_t len, bool write, struct uiommu_dma_fault *fault)
{
	struct fault_port *fp = opaque;

	fp->calls++;
	if (iova < fp->hi && fp->lo < iova + len) {
		fault->type = fp->type;
		fault->addr = iova > fp->lo ? iova : fp->lo;
		fault->write = write;
		fault->code = 0x10;
		return -EFAULT;
	}
	return uiommu_pci_dma_physmem_ops()->access(fp->pm, rid, iova, buf,
						    len, write, fault);
}

static const struct uiommu_pci_dma_ops fault_ops = { fault_access };

struct env {
	struct uiommu_physmem *pm;
	struct uiommu_pci_host *host;
	struct uiommu_pci_dev *td;
	struct doorbell db, db_hi;
	struct fault_port fp;
	uint8_t *ram;
};

static void add_doorbell(struct env *e, struct doorbell *db, uint64_t base,
			 const char *name)
{
	struct uiommu_mmio_desc d = {
		.name = name, .owner = "test", .size = 4096, .ops = &db_ops,
		.opaque = db, .doorbell = true,
	};

	db->base = base;
	pthread_mutex_init(&db->lock, NULL);
	assert_int_equal(uiommu_physmem_add_mmio(e->pm, base, &d), 0);
}

static struct env *env_new(unsigned int msi, unsigned int msix)
{
	struct env *e = calloc(1, sizeof(*e));
	struct uiommu_pci_host_desc hd = {
		.name = "pcie@30000000", .ecam_base = ECAM_BASE,
		.bus_start = 0, .bus_end = 15,
	};
	struct uiommu_testdev_config tc = { "td0", msi, msix };

	assert_non_null(e);
	assert_int_equal(uiommu_physmem_create(48, &e->pm), 0);
	assert_int_equal(uiommu_physmem_add_ram(e->pm, "ram", RAM_BASE,
						RAM_SIZE, NULL, NULL), 0);
	e->ram = uiommu_phys_host_ptr(e->pm, RAM_BASE, RAM_SIZE);
	assert_non_null(e->ram);
	add_doorbell(e, &e->db, DOORBELL, "db");
	add_doorbell(e, &e->db_hi, DOORBELL_HI, "db-hi");
	hd.dma_ops = uiommu_pci_dma_physmem_ops();
	hd.dma_opaque = e->pm;
	assert_int_equal(uiommu_pci_host_create(e->pm, &hd, &e->host), 0);
	assert_int_equal(uiommu_testdev_create(&tc, &e->td), 0);
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, TD_DEVFN, e->td), 0);
	return e;
}

static void env_free(struct env *e)
{
	assert_int_equal(uiommu_pci_host_check(e->host), 0);
	uiommu_pci_host_destroy(e->host);
	uiommu_physmem_destroy(e->pm);
	free(e);
}

/* Configuration access through the ECAM window, as a kernel does it. */
static uint64_t ecam(unsigned int bus, unsigned int devfn, unsigned int off)
{
	return ECAM_BASE + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + off;
}

static uint32_t cfg_rd(struct env *e, unsigned int devfn, unsigned int off,
		       unsigned int size)
{
	uint64_t v;

	assert_int_equal(uiommu_phys_ld(e->pm, ecam(0, devfn, off), size, &v,
					NULL), 0);
	return (uint32_t)v;
}

/* ECAM write, then apply decoding changes (physmem callbacks cannot). */
static void cfg_wr(struct env *e, unsigned int devfn, unsigned int off,
		   unsigned int size, uint32_t val)
{
	assert_int_equal(uiommu_phys_st(e->pm, ecam(0, devfn, off), size, val,
					NULL), 0);
	assert_int_equal(uiommu_pci_host_update_decode(e->host), 0);
}

static uint64_t mmio_rd(struct env *e, uint64_t pa, unsigned int size)
{
	uint64_t v;

	assert_int_equal(uiommu_phys_ld(e->pm, pa, size, &v, NULL), 0);
	return v;
}

static void mmio_wr(struct env *e, uint64_t pa, unsigned int size, uint64_t v)
{
	assert_int_equal(uiommu_phys_st(e->pm, pa, size, v, NULL), 0);
}

static unsigned int find_cap(struct env *e, unsigned int devfn, uint8_t id)
{
	unsigned int off = cfg_rd(e, devfn, PCI_CAPABILITY_LIST, 1);

	while (off) {
		if (cfg_rd(e, devfn, off, 1) == id)
			return off;
		off = cfg_rd(e, devfn, off + 1, 1);
	}
	return 0;
}

/* Assign the test device's BARs and enable memory decode (+ bus master). */
static void td_enable(struct env *e, bool master)
{
	cfg_wr(e, TD_DEVFN, PCI_BAR0, 4, (uint32_t)BAR0_ADDR);
	cfg_wr(e, TD_DEVFN, PCI_BAR0 + 4, 4, 0);
	cfg_wr(e, TD_DEVFN, PCI_BAR0 + 8, 4, (uint32_t)BAR2_ADDR);
	cfg_wr(e, TD_DEVFN, PCI_COMMAND, 2,
	       (uint32_t)(PCI_CMD_MEM_MASK | (master ? PCI_CMD_MASTER_MASK : 0)));
}

/* ------------------------------------------------------- config space */

static void test_ecam_identity_and_absent_functions(void **state)
{
	struct env *e = env_new(1, 4);
	uint32_t v;

	(void)state;
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_VENDOR_ID, 2),
			 UIOMMU_TESTDEV_VENDOR_ID);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_DEVICE_ID, 2),
			 UIOMMU_TESTDEV_DEVICE_ID);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_VENDOR_ID, 4),
			 0x00017569);
	assert_int_equal(cfg_rd(e, TD_DEVFN, 8, 4) >> 8, UIOMMU_TESTDEV_CLASS);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_HEADER_TYPE, 1), 0);
	/* Status: Capabilities List */
	assert_true(cfg_rd(e, TD_DEVFN, PCI_STATUS, 2) & 0x10);
	/* Absent functions read all-ones at every size, on any bus. */
	assert_int_equal(cfg_rd(e, UIOMMU_PCI_DEVFN(2, 0), 0, 4), 0xffffffff);
	assert_int_equal(cfg_rd(e, UIOMMU_PCI_DEVFN(2, 0), 2, 2), 0xffff);
	assert_int_equal(cfg_rd(e, UIOMMU_PCI_DEVFN(1, 1), 0x3f, 1), 0xff);
	assert_int_equal(uiommu_pci_host_cfg_read(e->host, 15, 0, 0, 4, &v), 0);
	assert_int_equal(v, 0xffffffff);
	/* Beyond the bus range there is no ECAM window at all. */
	assert_int_equal(uiommu_phys_ld(e->pm, ecam(16, 0, 0), 4, &(uint64_t){0},
					NULL), -EFAULT);
	/* Writes to absent functions vanish; bad sizes are refused. */
	cfg_wr(e, UIOMMU_PCI_DEVFN(2, 0), PCI_COMMAND, 2, 0xffff);
	assert_int_equal(uiommu_pci_host_cfg_read(e->host, 0, 0, 2, 4, &v),
			 -EINVAL);
	assert_int_equal(uiommu_pci_host_cfg_write(e->host, 0, 0, 0, 3, 0),
			 -EINVAL);
	env_free(e);
}

static void test_read_only_and_rw1c_bits(void **state)
{
	struct env *e = env_new(1, 4);

	(void)state;
	cfg_wr(e, TD_DEVFN, PCI_VENDOR_ID, 4, 0x12345678);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_VENDOR_ID, 4), 0x00017569);
	cfg_wr(e, TD_DEVFN, 8, 4, 0xffffffff);	/* class/revision RO */
	assert_int_equal(cfg_rd(e, TD_DEVFN, 8, 4), (uint32_t)UIOMMU_TESTDEV_CLASS << 8);
	cfg_wr(e, TD_DEVFN, PCI_CAPABILITY_LIST, 1, 0x80);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_CAPABILITY_LIST, 1), 0x40);
	/* Command: only implemented enables are writable (no I/O space). */
	cfg_wr(e, TD_DEVFN, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_COMMAND, 2), 0x0546);
	cfg_wr(e, TD_DEVFN, PCI_COMMAND, 2, 0);
	/* Interrupt Line and Cache Line Size are plain RW. */
	cfg_wr(e, TD_DEVFN, PCI_INTERRUPT_LINE, 1, 0x5a);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_INTERRUPT_LINE, 1), 0x5a);
	/* Status error bits are RW1C: set one behind the model's back. */
	e->td->cfg[PCI_STATUS + 1] |= 0x20;	/* Received Master Abort */
	cfg_wr(e, TD_DEVFN, PCI_STATUS, 2, 0x0010);	/* writes 0 there */
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_STATUS, 2), 0x2010);
	cfg_wr(e, TD_DEVFN, PCI_STATUS, 2, 0x2000);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_STATUS, 2), 0x0010);
	env_free(e);
}

static void test_bar_sizing_32_and_64_bit(void **state)
{
	struct env *e = env_new(0, 4);
	struct uiommu_pci_dev_desc gd = { .name = "big", .vendor_id = 0x1234,
					  .device_id = 0x5678 };
	struct uiommu_pci_bar_desc big = { .size = UINT64_C(8) << 30,
		.flags = UIOMMU_PCI_BAR_64 | UIOMMU_PCI_BAR_PREFETCH };
	struct uiommu_pci_dev *g;
	unsigned int gfn = UIOMMU_PCI_DEVFN(3, 0);

	(void)state;
	/* Before sizing: the type bits. */
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_BAR0, 4), 0x4);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_BAR0 + 8, 4), 0x0);
	for (unsigned int b = 0; b < 6; b++)
		cfg_wr(e, TD_DEVFN, PCI_BAR0 + 4 * b, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_BAR0, 4), 0xffff0004);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_BAR0 + 4, 4), 0xffffffff);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_BAR0 + 8, 4), 0xffff0000);
	for (unsigned int b = 3; b < 6; b++)
		assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_BAR0 + 4 * b, 4), 0);
	/* Expansion ROM not implemented: reads 0. */
	cfg_wr(e, TD_DEVFN, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_ROM_ADDRESS, 4), 0);

	/* An 8 GiB prefetchable 64-bit BAR at BAR4. */
	assert_int_equal(uiommu_pci_dev_create(&gd, &g), 0);
	assert_int_equal(uiommu_pci_dev_add_bar(g, 4, &big), 0);
	assert_int_equal(uiommu_pci_dev_add_bar(g, 5, &big), -EINVAL);
	big.flags = 0;
	assert_int_equal(uiommu_pci_dev_add_bar(g, 0, &big), -EINVAL);
	big.size = 4096;
	assert_int_equal(uiommu_pci_dev_add_bar(g, 0, &big), 0);
	/* MSI-X placement: inside the BAR, clear of its registers. */
	{
		static const struct uiommu_reg_desc r[] = { { "CTL", 0x800, 4 } };
		struct uiommu_pci_bar_desc rb = { .size = 4096, .regs = r,
						  .nregs = 1 };

		assert_int_equal(uiommu_pci_dev_add_bar(g, 2, &rb), 0);
		assert_int_equal(uiommu_pci_dev_add_msix(g, 256, 2, 0, 0, 0),
				 -EINVAL);	/* table overlaps PBA and CTL */
		assert_int_equal(uiommu_pci_dev_add_msix(g, 128, 2, 0, 0, 0x7fc),
				 -EINVAL);	/* misaligned PBA */
		assert_int_equal(uiommu_pci_dev_add_msix(g, 128, 2, 0, 3, 0),
				 -EINVAL);	/* BAR 3 absent */
		assert_int_equal(uiommu_pci_dev_add_msix(g, 64, 2, 0, 2, 0x808), 0);
		assert_int_equal(uiommu_pci_dev_add_msix(g, 1, 2, 0, 2, 0x808),
				 -EEXIST);
	}
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, gfn, g), 0);
	assert_int_equal(uiommu_pci_dev_add_bar(g, 1, &big), -EBUSY);
	cfg_wr(e, gfn, PCI_BAR0 + 16, 4, 0xffffffff);
	cfg_wr(e, gfn, PCI_BAR0 + 20, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, gfn, PCI_BAR0 + 16, 4), 0x0000000c);
	assert_int_equal(cfg_rd(e, gfn, PCI_BAR0 + 20, 4), 0xfffffffe);
	cfg_wr(e, gfn, PCI_BAR0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, gfn, PCI_BAR0, 4), 0xfffff000);
	assert_int_equal(uiommu_pci_dev_check(g), 0);
	env_free(e);
}

static void test_bar_decoding_follows_command_and_address(void **state)
{
	struct env *e = env_new(0, 4);
	struct uiommu_region_info info;
	struct uiommu_pci_dev_stats st;
	uint64_t v;

	(void)state;
	cfg_wr(e, TD_DEVFN, PCI_BAR0, 4, (uint32_t)BAR0_ADDR);
	/* Memory Space Enable off: nothing at the BAR. */
	assert_int_equal(uiommu_phys_ld(e->pm, BAR0_ADDR, 4, &v, NULL), -EFAULT);
	cfg_wr(e, TD_DEVFN, PCI_COMMAND, 2, (uint32_t)PCI_CMD_MEM_MASK);
	assert_int_equal(mmio_rd(e, BAR0_ADDR + UIOMMU_TESTDEV_ID, 4), 0x75690001);
	assert_int_equal(uiommu_physmem_lookup(e->pm, BAR0_ADDR, &info), 0);
	assert_string_equal(info.name, "td0.bar0");
	assert_string_equal(info.owner, "td0");
	assert_int_equal(info.size, UIOMMU_TESTDEV_BAR0_SIZE);
	assert_true(info.nregs > 5);
	assert_string_equal(info.regs[0].name, "ID");
	assert_int_equal(uiommu_pci_host_check(e->host), 0);

	/* Through ECAM alone the change waits for update_decode. */
	assert_int_equal(uiommu_phys_st(e->pm, ecam(0, TD_DEVFN, PCI_COMMAND), 2,
					0, NULL), 0);
	assert_int_equal(uiommu_phys_ld(e->pm, BAR0_ADDR, 4, &v, NULL), -EFAULT);
	assert_int_equal(uiommu_pci_host_update_decode(e->host), 0);
	assert_int_equal(uiommu_physmem_lookup(e->pm, BAR0_ADDR, &info), -EFAULT);

	/* Direct configuration writes apply at once; moving remaps. */
	assert_int_equal(uiommu_pci_host_cfg_write(e->host, 0, TD_DEVFN,
						   PCI_COMMAND, 2,
						   (uint32_t)PCI_CMD_MEM_MASK), 0);
	assert_int_equal(mmio_rd(e, BAR0_ADDR, 4), 0x75690001);
	assert_int_equal(uiommu_pci_host_cfg_write(e->host, 0, TD_DEVFN,
						   PCI_BAR0 + 4, 4, 1), 0);
	assert_int_equal(uiommu_phys_ld(e->pm, BAR0_ADDR, 4, &v, NULL), -EFAULT);
	assert_int_equal(mmio_rd(e, BAR0_ADDR + (UINT64_C(1) << 32), 4),
			 0x75690001);

	/* A BAR placed over RAM cannot decode: guest error, no crash. */
	tu_log_capture(UIOMMU_LOG_WARN);
	cfg_wr(e, TD_DEVFN, PCI_BAR0 + 4, 4, 0);
	cfg_wr(e, TD_DEVFN, PCI_BAR0, 4, (uint32_t)RAM_BASE);
	assert_non_null(strstr(tu_log_text(), "cannot be decoded"));
	tu_log_release();
	uiommu_pci_dev_get_stats(e->td, &st);
	assert_int_equal(st.guest_errors, 1);
	assert_int_equal(e->ram[0], 0);
	assert_int_equal(uiommu_pci_host_check(e->host), 0);
	env_free(e);
}

static void test_capability_list_walk(void **state)
{
	struct env *e = env_new(32, 16);
	unsigned int off, ids[8], n = 0;

	(void)state;
	off = cfg_rd(e, TD_DEVFN, PCI_CAPABILITY_LIST, 1);
	while (off && n < 8) {
		assert_true(off >= 0x40 && (off & 3) == 0);
		ids[n++] = cfg_rd(e, TD_DEVFN, off, 1);
		off = cfg_rd(e, TD_DEVFN, off + 1, 1);
	}
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], PCI_CAP_ID_EXP);
	assert_int_equal(ids[1], PCI_CAP_ID_MSI);
	assert_int_equal(ids[2], PCI_CAP_ID_MSIX);
	/* PCI Express Capability: version 2, Root Complex Integrated EP. */
	off = find_cap(e, TD_DEVFN, PCI_CAP_ID_EXP);
	assert_int_equal(cfg_rd(e, TD_DEVFN, off + PCI_EXP_FLAGS, 2), 0x92);
	cfg_wr(e, TD_DEVFN, off + PCI_EXP_DEVCTL, 4, 0xffffffff);
	assert_int_equal(cfg_rd(e, TD_DEVFN, off + PCI_EXP_DEVCTL, 4), 0x7fff);
	/* No ACS on this one: the extended space is empty. */
	assert_int_equal(cfg_rd(e, TD_DEVFN, PCI_EXT_CAP_START, 4), 0);
	off = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_rd(e, TD_DEVFN, off + PCI_MSIX_FLAGS, 2), 15);
	assert_int_equal(cfg_rd(e, TD_DEVFN, off + PCI_MSIX_TABLE, 4), 2);
	assert_int_equal(cfg_rd(e, TD_DEVFN, off + PCI_MSIX_PBA, 4), 0x8002);
	/* The control word's read-only part survives writes. */
	cfg_wr(e, TD_DEVFN, off + PCI_MSIX_FLAGS, 2, 0x3fff);
	assert_int_equal(cfg_rd(e, TD_DEVFN, off + PCI_MSIX_FLAGS, 2), 15);
	env_free(e);
}

static void test_acs_extended_capability(void **state)
{
	struct env *e = env_new(0, 0);
	struct uiommu_testdev_config tc = { "acs", 0, 0,
		UIOMMU_PCI_ACS_SV | UIOMMU_PCI_ACS_RR | UIOMMU_PCI_ACS_CR |
		UIOMMU_PCI_ACS_UF };
	struct uiommu_pci_dev_desc gd = { .name = "plain", .vendor_id = 1 };
	struct uiommu_pci_dev *d;
	unsigned int fn = UIOMMU_PCI_DEVFN(5, 0);

	(void)state;
	assert_int_equal(uiommu_testdev_create(&tc, &d), 0);
	assert_int_equal(uiommu_pci_dev_add_acs(d, 1), -EEXIST);
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, fn, d), 0);
	/* Header: ID 0x000d, version 1, no next. */
	assert_int_equal(cfg_rd(e, fn, PCI_EXT_CAP_START, 4), 0x0001000d);
	assert_int_equal(cfg_rd(e, fn, PCI_EXT_CAP_START + PCI_ACS_CAP, 2), 0x1d);
	assert_int_equal(cfg_rd(e, fn, PCI_EXT_CAP_START + PCI_ACS_CTRL, 2), 0);
	cfg_wr(e, fn, PCI_EXT_CAP_START + PCI_ACS_CTRL, 2, 0xffff);
	assert_int_equal(cfg_rd(e, fn, PCI_EXT_CAP_START + PCI_ACS_CTRL, 2), 0x1d);
	assert_int_equal(uiommu_pci_dev_check(d), 0);
	/* ACS needs a PCIe capability; EC is not modelled. */
	assert_int_equal(uiommu_pci_dev_create(&gd, &d), 0);
	assert_int_equal(uiommu_pci_dev_add_acs(d, 1), -EINVAL);
	assert_int_equal(uiommu_pci_dev_add_pcie(d, 3), -EINVAL);
	assert_int_equal(uiommu_pci_dev_add_pcie(d, UIOMMU_PCI_EXP_ENDPOINT), 0);
	assert_int_equal(uiommu_pci_dev_add_acs(d, UIOMMU_PCI_ACS_SV << 5), -EINVAL);
	assert_int_equal(uiommu_pci_dev_add_acs(d, 0x80), -EINVAL);
	uiommu_pci_dev_destroy(d);
	env_free(e);
}

/* ------------------------------------------------------------------ MSI */

static void test_msi_multiple_message_mask_pending(void **state)
{
	struct env *e = env_new(32, 0);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSI);
	uint16_t rid = UIOMMU_PCI_RID(0, TD_DEVFN);
	uint32_t ctl;

	(void)state;
	assert_int_not_equal(c, 0);
	ctl = cfg_rd(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2);
	assert_int_equal(ctl, (5 << 1) | (1 << 7) | (1 << 8)); /* 32, 64-bit, PVM */
	td_enable(e, true);
	/* Not enabled yet: raising does nothing. */
	assert_int_equal(uiommu_pci_dev_notify(e->td, 0), -EIO);
	/* Program as a kernel does: mask, address, data, MME, enable. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_MASK_64, 4, 0xffffffff);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_ADDR_LO, 4, (uint32_t)DOORBELL + 0x43);
	assert_int_equal(cfg_rd(e, TD_DEVFN, c + PCI_MSI_ADDR_LO, 4),
			 (uint32_t)DOORBELL + 0x40);	/* [1:0] reserved */
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_ADDR_HI, 4, 0);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_DATA_64, 2, 0x120);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2, ctl | (3 << 4) | 1); /* 8 */
	assert_int_equal(uiommu_pci_dev_notify(e->td, 5), 1);	/* masked */
	assert_int_equal(cfg_rd(e, TD_DEVFN, c + PCI_MSI_PENDING_64, 4), 1 << 5);
	/* Pending Bits are read-only to software. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_PENDING_64, 4, 0);
	assert_int_equal(cfg_rd(e, TD_DEVFN, c + PCI_MSI_PENDING_64, 4), 1 << 5);
	assert_int_equal(e->db.n, 0);
	/* Unmasking vector 5 sends the pending message. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_MASK_64, 4, ~(1u << 5));
	assert_int_equal(e->db.n, 1);
	assert_int_equal(e->db.w[0].addr, DOORBELL + 0x40);
	assert_int_equal(e->db.w[0].data, 0x125);
	assert_int_equal(e->db.w[0].source_id, rid);
	assert_int_equal(e->db.w[0].flags, UIOMMU_MEMATTR_SOURCE_VALID);
	assert_int_equal(cfg_rd(e, TD_DEVFN, c + PCI_MSI_PENDING_64, 4), 0);
	/* Direct delivery; a vector beyond MME is refused. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_MASK_64, 4, 0);
	assert_int_equal(uiommu_pci_dev_notify(e->td, 7), 0);
	assert_int_equal(e->db.w[1].data, 0x127);
	assert_int_equal(uiommu_pci_dev_notify(e->td, 8), -EINVAL);
	/* 64-bit address above 4 GiB through the IRQ_RAISE register. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_ADDR_LO, 4, (uint32_t)DOORBELL_HI + 8);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_ADDR_HI, 4, (uint32_t)(DOORBELL_HI >> 32));
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_IRQ_RAISE, 4, 3);
	assert_int_equal(mmio_rd(e, BAR0_ADDR + UIOMMU_TESTDEV_IRQ_STATUS, 4), 0);
	assert_int_equal(e->db_hi.n, 1);
	assert_int_equal(e->db_hi.w[0].addr, DOORBELL_HI + 8);
	assert_int_equal(e->db_hi.w[0].data, 0x123);
	/* MME above MMC is a guest error, clamped. */
	tu_log_capture(UIOMMU_LOG_WARN);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2, ctl | (7 << 4) | 1);
	assert_non_null(strstr(tu_log_text(), "Multiple Message Enable"));
	tu_log_release();
	assert_int_equal((cfg_rd(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2) >> 4) & 7, 5);
	assert_int_equal(uiommu_pci_dev_check(e->td), 0);
	env_free(e);
}

static void test_msi_32bit_capability_layout(void **state)
{
	struct env *e = env_new(0, 0);
	struct uiommu_pci_dev_desc gd = { .name = "m32", .vendor_id = 0x1af4 };
	struct uiommu_pci_dev *g;
	unsigned int fn = UIOMMU_PCI_DEVFN(4, 0), c;

	(void)state;
	assert_int_equal(uiommu_pci_dev_create(&gd, &g), 0);
	assert_int_equal(uiommu_pci_dev_add_msi(g, 3, 0), -EINVAL);
	assert_int_equal(uiommu_pci_dev_add_msi(g, 1, 0), 0);
	assert_int_equal(uiommu_pci_dev_add_msi(g, 1, 0), -EEXIST);
	assert_int_equal(uiommu_pci_host_plug(e->host, 0, fn, g), 0);
	assert_int_equal(uiommu_pci_host_plug(e->host, 1, fn, g), -EBUSY);
	c = find_cap(e, fn, PCI_CAP_ID_MSI);
	assert_int_equal(cfg_rd(e, fn, c + PCI_MSI_FLAGS, 2), 0);
	cfg_wr(e, fn, c + PCI_MSI_ADDR_LO, 4, (uint32_t)DOORBELL + 0x40);
	cfg_wr(e, fn, c + PCI_MSI_DATA_32, 4, 0xffff0077); /* 16-bit data */
	assert_int_equal(cfg_rd(e, fn, c + PCI_MSI_DATA_32, 4), 0x77);
	cfg_wr(e, fn, c + PCI_MSI_FLAGS, 2, 0x11);	/* MME 1 > MMC 0 */
	cfg_wr(e, fn, PCI_COMMAND, 2, (uint32_t)PCI_CMD_MASTER_MASK);
	assert_int_equal(uiommu_pci_dev_notify(g, 0), 0);
	assert_int_equal(e->db.n, 1);
	assert_int_equal(e->db.w[0].data, 0x77);
	assert_int_equal(e->db.w[0].source_id, UIOMMU_PCI_RID(0, fn));
	env_free(e);
}

/* ---------------------------------------------------------------- MSI-X */

static uint64_t entry(unsigned int v)
{
	return BAR2_ADDR + 16 * (uint64_t)v;
}

static void msix_program(struct env *e, unsigned int v, uint64_t addr,
			 uint32_t data)
{
	mmio_wr(e, entry(v) + 0, 4, (uint32_t)addr);
	mmio_wr(e, entry(v) + 4, 4, (uint32_t)(addr >> 32));
	mmio_wr(e, entry(v) + 8, 4, data);
}

static void test_msix_table_pba_function_and_vector_mask(void **state)
{
	struct env *e = env_new(0, 64);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSIX);
	uint64_t pba = BAR2_ADDR + UIOMMU_TESTDEV_MSIX_PBA_OFF;
	struct uiommu_region_info info;

	(void)state;
	td_enable(e, true);
	assert_int_equal(uiommu_physmem_lookup(e->pm, BAR2_ADDR, &info), 0);
	assert_int_equal(info.nregs, 2);
	assert_string_equal(info.regs[0].name, "MSIX_TABLE");
	assert_int_equal(info.regs[0].size, 64 * 16);
	assert_string_equal(info.regs[1].name, "MSIX_PBA");
	/* Reset state: every vector masked, nothing pending. */
	for (unsigned int v = 0; v < 64; v++)
		assert_int_equal(mmio_rd(e, entry(v) + 12, 4), 1);
	assert_int_equal(mmio_rd(e, pba, 8), 0);
	/* Enable with the function masked, as a kernel does during setup. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0xc000);
	msix_program(e, 3, DOORBELL + 0x40, 0x33);
	mmio_wr(e, entry(3), 8, DOORBELL + 0x43);	/* QWORD; [1:0] RsvdP */
	assert_int_equal(mmio_rd(e, entry(3), 8), DOORBELL + 0x40);
	mmio_wr(e, entry(3) + 12, 4, 0xfffffffe);	/* only Mask is RW */
	assert_int_equal(mmio_rd(e, entry(3) + 12, 4), 0);
	/* Function mask: pending, sent on clearing it. */
	assert_int_equal(uiommu_pci_dev_notify(e->td, 3), 1);
	assert_int_equal(mmio_rd(e, pba, 8), 1 << 3);
	assert_int_equal(e->db.n, 0);
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0x8000);
	assert_int_equal(e->db.n, 1);
	assert_int_equal(e->db.w[0].data, 0x33);
	assert_int_equal(e->db.w[0].addr, DOORBELL + 0x40);
	assert_int_equal(mmio_rd(e, pba, 8), 0);
	/* Vector mask: pending, sent on unmask through the table. */
	msix_program(e, 40, DOORBELL + 0x80, 0x4040);
	assert_int_equal(uiommu_pci_dev_notify(e->td, 40), 1);
	assert_int_equal(mmio_rd(e, pba, 8), UINT64_C(1) << 40);
	assert_int_equal(mmio_rd(e, pba + 4, 4), 1 << 8);
	tu_log_capture(UIOMMU_LOG_WARN);
	mmio_wr(e, pba, 8, 0);				/* PBA is read-only */
	assert_non_null(strstr(tu_log_text(), "PBA"));
	tu_log_release();
	assert_int_equal(mmio_rd(e, pba, 8), UINT64_C(1) << 40);
	mmio_wr(e, entry(40) + 12, 4, 0);
	assert_int_equal(e->db.n, 2);
	assert_int_equal(e->db.w[1].data, 0x4040);
	assert_int_equal(mmio_rd(e, pba, 8), 0);
	/* Direct delivery, and refusal of a vector beyond the table. */
	assert_int_equal(uiommu_pci_dev_notify(e->td, 3), 0);
	assert_int_equal(e->db.n, 3);
	assert_int_equal(uiommu_pci_dev_notify(e->td, 64), -EINVAL);
	/* MSI-X disabled: nothing is sent. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0);
	assert_int_equal(uiommu_pci_dev_notify(e->td, 3), -EIO);
	assert_int_equal(e->db.n, 3);
	assert_int_equal(uiommu_pci_dev_check(e->td), 0);
	env_free(e);
}

static void test_msix_2048_vectors_arrive_with_rid(void **state)
{
	struct env *e = env_new(1, 2048);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSIX);
	uint16_t rid = UIOMMU_PCI_RID(0, TD_DEVFN);
	struct uiommu_pci_dev_stats st;

	(void)state;
	assert_int_equal(cfg_rd(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2), 2047);
	td_enable(e, true);
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0xc000);
	for (unsigned int v = 0; v < 2048; v++) {
		msix_program(e, v, DOORBELL + 0x40, v);
		mmio_wr(e, entry(v) + 12, 4, 0);
	}
	/* Raise every vector while the function is masked ... */
	for (unsigned int v = 0; v < 2048; v++)
		mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_IRQ_RAISE, 4, v);
	assert_int_equal(e->db.n, 0);
	assert_int_equal(mmio_rd(e, BAR2_ADDR + 0x8000 + 31 * 8, 8), UINT64_MAX);
	/* ... and all 2048 arrive, in order, on unmask. */
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0x8000);
	assert_int_equal(e->db.n, 2048);
	for (unsigned int v = 0; v < 2048; v++) {
		assert_int_equal(e->db.w[v].data, v);
		assert_int_equal(e->db.w[v].addr, DOORBELL + 0x40);
		assert_int_equal(e->db.w[v].source_id, rid);
	}
	uiommu_pci_dev_get_stats(e->td, &st);
	assert_int_equal(st.msi_sent, 2048);
	assert_int_equal(st.msi_pended, 2048);
	env_free(e);
}

/* ----------------------------------------------------------- test device */

static void td_cmd(struct env *e, uint64_t src, uint64_t dst, uint32_t len,
		   uint32_t off, uint32_t cmd)
{
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_SRC, 8, src);
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_DST, 8, dst);
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_LEN, 4, len);
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_BUF_OFF, 4, off);
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_CMD, 4, cmd);
}

static uint32_t td_status(struct env *e)
{
	return (uint32_t)mmio_rd(e, BAR0_ADDR + UIOMMU_TESTDEV_STATUS, 4);
}

/* An MSI aimed at the device's own IRQ_RAISE register must not recurse. */
static void test_msix_loop_back_into_device_is_cut(void **state)
{
	struct env *e = env_new(0, 4);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSIX);

	(void)state;
	td_enable(e, true);
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0x8000);
	msix_program(e, 0, BAR0_ADDR + UIOMMU_TESTDEV_IRQ_RAISE, 0);
	mmio_wr(e, entry(0) + 12, 4, 0);
	tu_log_capture(UIOMMU_LOG_WARN);
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_IRQ_RAISE, 4, 0);
	assert_non_null(strstr(tu_log_text(), "loops back"));
	tu_log_release();
	env_free(e);
}

/*
 * Pending vectors whose messages unmask the function again (MSI aimed at
 * the ECAM window): delivered without unbounded recursion.
 */
static void test_msix_flush_into_config_space_is_bounded(void **state)
{
	struct env *e = env_new(0, 2048);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSIX);
	uint64_t ctl = ecam(0, TD_DEVFN, c + PCI_MSIX_FLAGS);
	struct uiommu_pci_dev_stats st;

	(void)state;
	td_enable(e, true);
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0xc000);
	for (unsigned int v = 0; v < 2048; v++) {
		/* A DWORD at the control's DWORD: enable, unmask. */
		msix_program(e, v, ctl & ~UINT64_C(3), 0x80000000u);
		mmio_wr(e, entry(v) + 12, 4, 0);
		assert_int_equal(uiommu_pci_dev_notify(e->td, v), 1);
	}
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0x8000);
	uiommu_pci_dev_get_stats(e->td, &st);
	assert_int_equal(st.msi_sent, 2048);
	assert_int_equal(mmio_rd(e, BAR2_ADDR + 0x8000, 8), 0);
	env_free(e);
}

static void test_testdev_dma_read_write_copy(void **state)
{
	struct env *e = env_new(1, 4);
	uint8_t buf[64];

	(void)state;
	td_enable(e, true);
	for (unsigned int i = 0; i < 20000; i++)
		e->ram[i] = (uint8_t)(i * 7 + 1);
	/* READ 100 bytes into buffer offset 16. */
	td_cmd(e, RAM_BASE + 5, 0, 100, 16, UIOMMU_TESTDEV_OP_READ);
	assert_int_equal(td_status(e), UIOMMU_TESTDEV_ST_DONE);
	assert_int_equal(uiommu_phys_read(e->pm, BAR0_ADDR + UIOMMU_TESTDEV_BUF + 16,
					  buf, 64, NULL), 0);
	assert_memory_equal(buf, e->ram + 5, 64);
	/* WRITE them back elsewhere. */
	td_cmd(e, 0, RAM_BASE + 0x100000, 100, 16, UIOMMU_TESTDEV_OP_WRITE);
	assert_int_equal(td_status(e), UIOMMU_TESTDEV_ST_DONE);
	assert_memory_equal(e->ram + 0x100000, e->ram + 5, 100);
	/* COPY 10000 bytes (three chunks), unaligned. */
	td_cmd(e, RAM_BASE + 3, RAM_BASE + 0x200001, 10000, 0,
	       UIOMMU_TESTDEV_OP_COPY);
	assert_int_equal(td_status(e), UIOMMU_TESTDEV_ST_DONE);
	assert_memory_equal(e->ram + 0x200001, e->ram + 3, 10000);
	assert_int_equal(mmio_rd(e, BAR0_ADDR + UIOMMU_TESTDEV_DMA_COUNT, 4), 3);
	/* A bad command: buffer overrun. */
	td_cmd(e, RAM_BASE, 0, 0x8000, 1, UIOMMU_TESTDEV_OP_READ);
	assert_int_equal(td_status(e), UIOMMU_TESTDEV_ST_ERROR |
			 (UIOMMU_TESTDEV_ERR_CMD << UIOMMU_TESTDEV_ST_ERR_SHIFT));
	/* W1C. */
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_STATUS, 4, UIOMMU_TESTDEV_ST_ERROR);
	assert_int_equal(td_status(e), 0);
	/* Completion interrupt on MSI vector 0. */
	{
		unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSI);

		cfg_wr(e, TD_DEVFN, c + PCI_MSI_ADDR_LO, 4, (uint32_t)DOORBELL);
		cfg_wr(e, TD_DEVFN, c + PCI_MSI_DATA_64, 2, 0x99);
		cfg_wr(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2,
		       cfg_rd(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2) | 1);
		td_cmd(e, RAM_BASE, RAM_BASE + 0x300000, 8, 0,
		       UIOMMU_TESTDEV_OP_COPY | UIOMMU_TESTDEV_CMD_IRQ);
		assert_int_equal(e->db.n, 1);
		assert_int_equal(e->db.w[0].data, 0x99);
	}
	env_free(e);
}

static void test_testdev_reports_iommu_fault(void **state)
{
	struct env *e = env_new(1, 4);
	uint32_t st;

	(void)state;
	e->fp = (struct fault_port){ e->pm, RAM_BASE + 0x5000, RAM_BASE + 0x6000,
				     UIOMMU_DMA_FAULT_TRANSLATION, 0 };
	uiommu_pci_host_set_dma(e->host, &fault_ops, &e->fp);
	td_enable(e, true);
	memset(e->ram + 0x4000, 0xab, 0x3000);
	/* The copy's second chunk reads the faulting page. */
	td_cmd(e, RAM_BASE + 0x4000, RAM_BASE + 0x10000, 0x3000, 0,
	       UIOMMU_TESTDEV_OP_COPY);
	st = td_status(e);
	assert_int_equal(st & 7, UIOMMU_TESTDEV_ST_ERROR);
	assert_int_equal((st >> UIOMMU_TESTDEV_ST_ERR_SHIFT) & 0xff,
			 UIOMMU_TESTDEV_ERR_DMA);
	assert_int_equal((st >> UIOMMU_TESTDEV_ST_FAULT_SHIFT) & 0xff,
			 UIOMMU_DMA_FAULT_TRANSLATION);
	assert_int_equal(mmio_rd(e, BAR0_ADDR + UIOMMU_TESTDEV_FAULT_ADDR, 8),
			 RAM_BASE + 0x5000);
	assert_int_equal(mmio_rd(e, BAR0_ADDR + UIOMMU_TESTDEV_FAULT_ADDR + 4, 4), 0);
	/* The first chunk landed, nothing after the fault. */
	assert_int_equal(e->ram[0x10000 + 0xfff], 0xab);
	assert_int_equal(e->ram[0x11000], 0);
	/* A write fault on the destination. */
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_STATUS, 4, UIOMMU_TESTDEV_ST_ERROR);
	e->fp.type = UIOMMU_DMA_FAULT_PERMISSION;
	td_cmd(e, 0, RAM_BASE + 0x5800, 16, 0, UIOMMU_TESTDEV_OP_WRITE);
	st = td_status(e);
	assert_int_equal((st >> UIOMMU_TESTDEV_ST_FAULT_SHIFT) & 0xff,
			 UIOMMU_DMA_FAULT_PERMISSION);
	assert_int_equal(mmio_rd(e, BAR0_ADDR + UIOMMU_TESTDEV_FAULT_ADDR, 8),
			 RAM_BASE + 0x5800);
	/* No IOMMU and no RAM: a bus fault from the physmem port. */
	uiommu_pci_host_set_dma(e->host, uiommu_pci_dma_physmem_ops(), e->pm);
	mmio_wr(e, BAR0_ADDR + UIOMMU_TESTDEV_STATUS, 4, UIOMMU_TESTDEV_ST_ERROR);
	td_cmd(e, 0x1000, 0, 4, 0, UIOMMU_TESTDEV_OP_READ);
	assert_int_equal((td_status(e) >> UIOMMU_TESTDEV_ST_FAULT_SHIFT) & 0xff,
			 UIOMMU_DMA_FAULT_BUS);
	/* An MSI to an unmapped doorbell is a counted fault. */
	{
		unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSI);
		struct uiommu_pci_dev_stats s;

		cfg_wr(e, TD_DEVFN, c + PCI_MSI_ADDR_LO, 4, 0x2000);
		cfg_wr(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2,
		       cfg_rd(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2) | 1);
		assert_int_equal(uiommu_pci_dev_notify(e->td, 0), -EFAULT);
		uiommu_pci_dev_get_stats(e->td, &s);
		assert_int_equal(s.msi_faults, 1);
	}
	env_free(e);
}

static void test_bus_master_off_refuses_dma_and_msi(void **state)
{
	struct env *e = env_new(0, 4);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSIX);
	struct uiommu_pci_dev_stats st;
	struct uiommu_dma_fault f;
	uint8_t b[4];

	(void)state;
	td_enable(e, false);
	e->ram[0] = 0x11;
	td_cmd(e, 0, RAM_BASE, 4, 0, UIOMMU_TESTDEV_OP_WRITE);
	assert_int_equal(td_status(e), UIOMMU_TESTDEV_ST_ERROR |
			 (UIOMMU_TESTDEV_ERR_BUS_MASTER << UIOMMU_TESTDEV_ST_ERR_SHIFT) |
			 (UIOMMU_DMA_FAULT_BUS_MASTER << UIOMMU_TESTDEV_ST_FAULT_SHIFT));
	assert_int_equal(e->ram[0], 0x11);
	assert_int_equal(uiommu_pci_dev_dma(e->td, RAM_BASE, b, 4, false, &f),
			 -EPERM);
	assert_int_equal(f.type, UIOMMU_DMA_FAULT_BUS_MASTER);
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0x8000);
	msix_program(e, 0, DOORBELL, 1);
	mmio_wr(e, entry(0) + 12, 4, 0);
	assert_int_equal(uiommu_pci_dev_notify(e->td, 0), -EPERM);
	assert_int_equal(e->db.n, 0);
	uiommu_pci_dev_get_stats(e->td, &st);
	assert_int_equal(st.dma_refused, 3);
	assert_int_equal(st.dma_ok, 0);
	/* Unplugged: no bus at all. */
	assert_int_equal(uiommu_pci_host_unplug(e->td), 0);
	assert_int_equal(uiommu_pci_dev_dma(e->td, RAM_BASE, b, 4, false, &f),
			 -ENODEV);
	assert_int_equal(uiommu_pci_host_unplug(e->td), -EINVAL);
	uiommu_pci_dev_destroy(e->td);
	env_free(e);
}

/* for_each callback: RIDs into rids[0..2], count in rids[3]. */
static int collect_rid(void *opaque, struct uiommu_pci_dev *dev,
		       unsigned int bus, unsigned int devfn)
{
	unsigned int *rids = opaque;

	assert_int_equal(uiommu_pci_dev_rid(dev), UIOMMU_PCI_RID(bus, devfn));
	rids[rids[3]++] = UIOMMU_PCI_RID(bus, devfn);
	return 0;
}

static void test_host_bus_range_and_multifunction(void **state)
{
	struct uiommu_physmem *pm;
	struct uiommu_pci_host *host;
	struct uiommu_pci_host_desc hd = { .name = "pcie", .ecam_base = ECAM_BASE,
					   .bus_start = 0x10, .bus_end = 0x11 };
	struct uiommu_testdev_config tc = { "f0", 0, 0 };
	struct uiommu_pci_dev *f0, *f3;
	uint64_t v;

	(void)state;
	assert_int_equal(uiommu_physmem_create(40, &pm), 0);
	assert_int_equal(uiommu_pci_host_create(pm, &hd, &host), 0);
	assert_int_equal(uiommu_testdev_create(&tc, &f0), 0);
	tc.name = "f3";
	assert_int_equal(uiommu_testdev_create(&tc, &f3), 0);
	assert_int_equal(uiommu_pci_host_plug(host, 0x0f, 0, f0), -ERANGE);
	assert_int_equal(uiommu_pci_host_plug(host, 0x11, 8, f0), 0);
	assert_int_equal(uiommu_pci_host_plug(host, 0x11, 8, f3), -EEXIST);
	/* Offset 0 of the window is bus_start. */
	assert_int_equal(uiommu_phys_ld(pm, ECAM_BASE + (1 << 20) + (8 << 12),
					2, &v, NULL), 0);
	assert_int_equal(v, UIOMMU_TESTDEV_VENDOR_ID);
	assert_int_equal(uiommu_pci_dev_rid(f0), 0x1108);
	assert_ptr_equal(uiommu_pci_host_find(host, 0x11, 8), f0);
	/* Function 3 makes function 0 multi-function. */
	assert_int_equal(uiommu_phys_ld(pm, ECAM_BASE + (1 << 20) + (8 << 12) +
					PCI_HEADER_TYPE, 1, &v, NULL), 0);
	assert_int_equal(v, 0);
	assert_int_equal(uiommu_pci_host_plug(host, 0x11, 11, f3), 0);
	assert_int_equal(uiommu_phys_ld(pm, ECAM_BASE + (1 << 20) + (8 << 12) +
					PCI_HEADER_TYPE, 1, &v, NULL), 0);
	assert_int_equal(v, 0x80);
	assert_int_equal(uiommu_phys_ld(pm, ECAM_BASE + (1 << 20) + (11 << 12) +
					PCI_HEADER_TYPE, 1, &v, NULL), 0);
	assert_int_equal(v, 0x80);
	/* 8-byte ECAM read covers two DWORDs. */
	assert_int_equal(uiommu_phys_ld(pm, ECAM_BASE + (1 << 20) + (11 << 12),
					8, &v, NULL), 0);
	assert_int_equal(v & 0xffffffff, 0x00017569);
	assert_int_equal(uiommu_pci_host_check(host), 0);
	{
		unsigned int rids[4] = { 0 }, n;

		assert_int_equal(uiommu_pci_host_for_each(host, collect_rid, rids), 0);
		n = rids[3];
		assert_int_equal(n, 2);
		assert_int_equal(rids[0], 0x1108);
		assert_int_equal(rids[1], 0x110b);
	}
	uiommu_pci_host_destroy(host);
	/* Bad descriptions. */
	hd.bus_end = 0x0f;
	assert_int_equal(uiommu_pci_host_create(pm, &hd, &host), -EINVAL);
	hd.bus_end = 0x10;
	hd.ecam_base = ECAM_BASE + 4096;
	assert_int_equal(uiommu_pci_host_create(pm, &hd, &host), -EINVAL);
	uiommu_physmem_destroy(pm);
}

/* -------------------------------------------------------------- map_id */

/* (rid-base, phandle, out-base, length) */
static const uint32_t map_cells[] = {
	0x0000, 1, 0x10000,  0x100,	/* bus 0 -> 0x10000.. on #1 */
	0x0100, 2, 0x0,      0x100,	/* bus 1 -> 0.. on #2 */
	0x0080, 3, 0x5000,   0x80,	/* shadowed by entry 0 */
	0xff00, 3, 0xffff00, 0x100,	/* reaches the top of 16 bits */
};

struct map_case {
	const char *what;
	size_t first, ncells;	/* cells of map_cells used */
	bool absent, has_mask;
	uint32_t mask, id;
	bool want_target;	/* pass a target pointer */
	uint32_t target_in;
	int ret;
	uint32_t out, target_out;
	bool matched;
};

static const struct map_case map_cases[] = {
	{ "first entry", 0, 16, false, false, 0, 0x08, false, 0, 0, 0x10008, 0, true },
	{ "first match wins over a later overlap", 0, 16, false, false, 0, 0x90,
	  true, 0, 0, 0x10090, 1, true },
	{ "half-open: base of the next entry", 0, 16, false, false, 0, 0x100,
	  false, 0, 0, 0x0, 0, true },
	{ "half-open: last ID of an entry", 0, 16, false, false, 0, 0x1ff,
	  false, 0, 0, 0xff, 0, true },
	{ "target filter skips other targets", 0, 16, false, false, 0, 0x90,
	  true, 3, 0, 0x5010, 3, true },
	{ "entry reaching the top", 0, 16, false, false, 0, 0xffff, false, 0, 0,
	  0xffffff, 0, true },
	{ "no match: pass-through, target unchanged", 0, 16, false, false, 0,
	  0x300, true, 0, 0, 0x300, 0, false },
	{ "mask first", 0, 16, false, true, 0xffff, 0x10108, false, 0, 0, 0x8, 0,
	  true },
	{ "pass-through gives the unmasked ID", 0, 8, false, true, 0xffff, 0x10308,
	  false, 0, 0, 0x10308, 0, false },
	{ "zero mask maps every ID to the base", 0, 4, false, true, 0, 0x1234,
	  false, 0, 0, 0x10000, 0, true },
	{ "id-base outside the mask (checked as reached)", 0, 16, false, true,
	  0xff, 0x1, false, 0, 0, 0x10001, 0, true },
	{ "id-base outside the mask", 4, 4, false, true, 0xff, 0x1, false, 0,
	  -EINVAL, 0, 0, false },
	{ "not whole entries", 0, 6, false, false, 0, 0, false, 0, -EINVAL, 0, 0,
	  false },
	{ "empty property", 0, 0, false, false, 0, 0, false, 0, -EINVAL, 0, 0,
	  false },
	{ "absent: identity", 0, 0, true, false, 0, 0x42, false, 0, 0, 0x42, 0,
	  false },
	{ "absent with a target: no translation", 0, 0, true, false, 0, 0x42,
	  true, 0, -ENOENT, 0, 0, false },
};

static void test_map_id_linux_semantics(void **state)
{
	(void)state;
	tu_log_capture(UIOMMU_LOG_WARN);
	for (size_t i = 0; i < UIO_ARRAY_SIZE(map_cases); i++) {
		const struct map_case *t = &map_cases[i];
		struct uiommu_id_map m = {
			t->absent ? NULL : map_cells + t->first, t->ncells, t->has_mask,
			t->mask, "iommu-map", "/pcie",
		};
		uint32_t out = 0xdead, target = t->target_in;
		bool matched = !t->matched;
		int ret = uiommu_map_id(&m, t->id, t->want_target ? &target : NULL,
					&out, &matched);

		if (ret != t->ret || (!ret && (out != t->out ||
					       matched != t->matched ||
					       (t->want_target &&
						target != t->target_out))))
			fail_msg("%s: ret %d out 0x%x target %u matched %d",
				 t->what, ret, out, target, matched);
	}
	/* Pass-through is a warning naming the ID. */
	assert_non_null(strstr(tu_log_text(),
			       "no iommu-map translation for id 0x300"));
	tu_log_release();
}

/* -------------------------------------------------------------- fail-Nth */

struct nth_ctx {
	struct uiommu_physmem *pm;
	struct uiommu_pci_host *host;
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
	struct uiommu_pci_host_desc hd = { .name = "pcie", .ecam_base = ECAM_BASE,
					   .bus_start = 0, .bus_end = 3 };
	struct uiommu_testdev_config tc = { "td", 32, 2048 };
	struct uiommu_pci_dev *td;
	int ret;

	ret = uiommu_pci_host_create(c->pm, &hd, &c->host);
	if (ret)
		return ret;
	ret = uiommu_testdev_create(&tc, &td);
	if (ret) {
		uiommu_pci_host_destroy(c->host);
		c->host = NULL;
		return ret;
	}
	ret = uiommu_pci_host_plug(c->host, 0, 8, td);
	assert_int_equal(ret, 0);
	return 0;
}

static void nth_check(void *opaque, int ret)
{
	struct nth_ctx *c = opaque;
	struct uiommu_region_info info;

	assert_int_equal(ret, -ENOMEM);
	assert_null(c->host);
	pm_settle(c->pm);
	assert_int_equal(tu_alloc_live_blocks(), c->live);
	assert_int_equal(uiommu_physmem_lookup(c->pm, ECAM_BASE, &info), -EFAULT);
}

static void nth_reset(void *opaque)
{
	struct nth_ctx *c = opaque;

	uiommu_pci_host_destroy(c->host);
	c->host = NULL;
}

static void test_fail_nth_device_and_host_creation(void **state)
{
	struct nth_ctx c = { 0 };
	unsigned long n;

	(void)state;
	tu_alloc_install(0);
	assert_int_equal(uiommu_physmem_create(48, &c.pm), 0);
	pm_settle(c.pm);
	c.live = tu_alloc_live_blocks();
	n = tu_fail_nth_sweep(&c, nth_op, nth_check, nth_reset);
	assert_true(n >= 8);
	nth_reset(&c);
	pm_settle(c.pm);
	assert_int_equal(tu_alloc_live_blocks(), c.live);
	uiommu_physmem_destroy(c.pm);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* ------------------------------------------------------------- threads */

struct raiser {
	struct env *e;
	unsigned int first, count;
};

static void *raise_thread(void *opaque)
{
	struct raiser *r = opaque;

	for (unsigned int v = r->first; v < r->first + r->count; v++) {
		int ret = uiommu_pci_dev_notify(r->e->td, v);

		assert_true(ret == 0 || ret == 1);
	}
	return NULL;
}

/* Raises racing with function mask toggles: each vector arrives once. */
static void test_msix_concurrent_raise_and_mask(void **state)
{
	struct env *e = env_new(0, 2048);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSIX);
	struct raiser r[4];
	pthread_t t[4];
	unsigned int seen[2048] = { 0 };

	(void)state;
	td_enable(e, true);
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0xc000);
	for (unsigned int v = 0; v < 2048; v++) {
		msix_program(e, v, DOORBELL, v);
		mmio_wr(e, entry(v) + 12, 4, 0);
	}
	for (unsigned int i = 0; i < 4; i++) {
		r[i] = (struct raiser){ e, i * 512, 512 };
		assert_int_equal(pthread_create(&t[i], NULL, raise_thread, &r[i]), 0);
	}
	for (unsigned int k = 0; k < 200; k++)
		assert_int_equal(uiommu_pci_host_cfg_write(e->host, 0, TD_DEVFN,
				 c + PCI_MSIX_FLAGS, 2, k & 1 ? 0xc000 : 0x8000), 0);
	for (unsigned int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cfg_wr(e, TD_DEVFN, c + PCI_MSIX_FLAGS, 2, 0x8000);
	assert_int_equal(e->db.n, 2048);
	for (unsigned int i = 0; i < 2048; i++)
		seen[e->db.w[i].data]++;
	for (unsigned int v = 0; v < 2048; v++)
		assert_int_equal(seen[v], 1);
	env_free(e);
}

static char trace_text[256];

static void record_trace(void *opaque, const char *event, const char *text)
{
	snprintf(trace_text, sizeof(trace_text), "%s %s", event, text);
}

static void test_msi_send_is_traced(void **state)
{
	struct env *e = env_new(1, 0);
	unsigned int c = find_cap(e, TD_DEVFN, PCI_CAP_ID_MSI);

	(void)state;
	td_enable(e, true);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_ADDR_LO, 4, (uint32_t)DOORBELL + 0x40);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_DATA_64, 2, 0x2a);
	cfg_wr(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2,
	       cfg_rd(e, TD_DEVFN, c + PCI_MSI_FLAGS, 2) | 1);
	uiommu_set_trace_handler(record_trace, NULL);
	assert_int_equal(uiommu_trace_enable("pci_msi_send"), 1);
	assert_int_equal(uiommu_pci_dev_notify(e->td, 0), 0);
	assert_int_equal(uiommu_trace_disable("*") >= 0, 1);
	uiommu_set_trace_handler(NULL, NULL);
	assert_string_equal(trace_text,
			    "pci_msi_send td0 addr=0x8090040 data=0x2a");
	env_free(e);
}

/* ------------------------------------------------------------ random */

static uint64_t interesting(void)
{
	static const uint64_t vals[] = { 0, 1, 0xffffffff, UINT64_MAX,
					 BAR0_ADDR, BAR2_ADDR, DOORBELL,
					 RAM_BASE, 0x8000, 0xc000 };

	return tu_rand() % 2 ? vals[tu_rand() % UIO_ARRAY_SIZE(vals)] : tu_rand();
}

/* An access a hostile guest makes: it may hit nothing, never worse. */
static void poke(struct env *e, uint64_t pa, unsigned int size, uint64_t v,
		 bool read_back)
{
	int ret = uiommu_phys_st(e->pm, pa, size, v, NULL);

	assert_true(ret == 0 || ret == -EFAULT);
	if (read_back) {
		ret = uiommu_phys_ld(e->pm, pa, size, &v, NULL);
		assert_true(ret == 0 || ret == -EFAULT);
	}
}

/*
 * Random configuration and BAR accesses, as a hostile guest would make:
 * nothing crashes, identity registers never change and every invariant
 * checker passes throughout.
 */
static void test_random_guest_accesses_keep_invariants(void **state)
{
	struct env *e = env_new(32, 2048);
	uint64_t seed = tu_seed_from_env(0x9c1);
	static const unsigned int sizes[] = { 1, 2, 4, 8 };

	(void)state;
	tu_rand_seed(seed);
	tu_log_capture(UIOMMU_LOG_ERR);
	td_enable(e, true);
	for (unsigned int i = 0; i < 20000; i++) {
		unsigned int size = sizes[tu_rand() % 4];
		uint64_t v = interesting(), pa;
		int ret;

		switch (tu_rand() % 4) {
		case 0: /* configuration space, mostly the interesting part */
			pa = ecam(0, TD_DEVFN, (unsigned int)(tu_rand() % (tu_rand() % 2 ? 0x80 : 0x1000)));
			pa &= ~(uint64_t)(size - 1);
			poke(e, pa, size, v, false);
			break;
		case 1:
			pa = BAR2_ADDR + (tu_rand() % 0x10000 & ~(uint64_t)(size - 1));
			poke(e, pa, size, v, false);
			break;
		case 2:
			pa = BAR0_ADDR + (tu_rand() % 0x40 & ~(uint64_t)(size - 1));
			poke(e, pa, size, v, true);
			break;
		default:
			ret = uiommu_pci_dev_notify(e->td, (unsigned int)(tu_rand() % 2100));
			if (!(ret >= -EPERM || ret == -EINVAL || ret == -EIO || ret == -EFAULT)) fail_msg("ret %d", ret);
			assert_true(ret >= -EPERM || ret == -EINVAL || ret == -EIO ||
				    ret == -EFAULT);
			assert_int_equal(uiommu_pci_host_update_decode(e->host), 0);
			break;
		}
		if (i % 1000 == 0) {
			assert_int_equal(uiommu_pci_host_check(e->host), 0);
			assert_int_equal(cfg_rd(e, TD_DEVFN, 0, 4), 0x00017569);
			e->db.n = 0;
			e->db_hi.n = 0;
		}
	}
	tu_log_release();
	if (uiommu_pci_host_check(e->host))
		fail_msg("seed 0x%" PRIx64, seed);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecam_identity_and_absent_functions),
		cmocka_unit_test(test_read_only_and_rw1c_bits),
		cmocka_unit_test(test_bar_sizing_32_and_64_bit),
		cmocka_unit_test(test_bar_decoding_follows_command_and_address),
		cmocka_unit_test(test_capability_list_walk),
		cmocka_unit_test(test_acs_extended_capability),
		cmocka_unit_test(test_msi_multiple_message_mask_pending),
		cmocka_unit_test(test_msi_32bit_capability_layout),
		cmocka_unit_test(test_msix_table_pba_function_and_vector_mask),
		cmocka_unit_test(test_msix_2048_vectors_arrive_with_rid),
		cmocka_unit_test(test_msix_loop_back_into_device_is_cut),
		cmocka_unit_test(test_msix_flush_into_config_space_is_bounded),
		cmocka_unit_test(test_testdev_dma_read_write_copy),
		cmocka_unit_test(test_testdev_reports_iommu_fault),
		cmocka_unit_test(test_bus_master_off_refuses_dma_and_msi),
		cmocka_unit_test(test_host_bus_range_and_multifunction),
		cmocka_unit_test(test_map_id_linux_semantics),
		cmocka_unit_test(test_fail_nth_device_and_host_creation),
		cmocka_unit_test(test_msix_concurrent_raise_and_mask),
		cmocka_unit_test(test_random_guest_accesses_keep_invariants),
		cmocka_unit_test(test_msi_send_is_traced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
