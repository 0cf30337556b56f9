// SPDX-License-Identifier: MIT
/*
 * The machine: built from the built-in DTBs and from QEMU's own dumped
 * ones; PCI enumerated with the test device by default; RID -> StreamID /
 * DeviceID with of_map_id() semantics (pass-through with a warning);
 * DMA and MSI through the host bridge's port; malformed DTBs refused with
 * the node and property named and nothing left allocated; fail-Nth sweep.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "testutil.h"

#include <uiommu/uiommu.h>

#include "builtin.h"
#include "machine-internal.h"
#include "smmuv3_testdrv.h"

struct blob {
	void *data;
	size_t size;
};

static struct blob load_dtb(const char *name)
{
	struct blob b;

	/* Room to grow for the tests that edit properties. */
	b.data = tu_load_test_data(name, 4096, &b.size);
	assert_int_equal(fdt_open_into(b.data, b.data, (int)b.size), 0);
	return b;
}

/* A built-in DTB copied with room to edit. */
static struct blob builtin_copy(const char *name)
{
	const struct uio_builtin_dtb *d = uio_builtin_dtb_find(name);
	struct blob b;

	assert_non_null(d);
	b.size = d->size + 4096;
	b.data = calloc(1, b.size);
	assert_non_null(b.data);
	assert_int_equal(fdt_open_into(d->blob, b.data, (int)b.size), 0);
	return b;
}

static int node_of(struct blob *b, const char *compat)
{
	int node = fdt_node_offset_by_compatible(b->data, -1, compat);

	assert_true(node >= 0);
	return node;
}

static void set_map(struct blob *b, const char *prop, const char *target,
		    uint32_t rid_base, uint32_t out_base, uint32_t len)
{
	uint32_t ph = fdt_get_phandle(b->data, node_of(b, target));
	fdt32_t cells[4] = { cpu_to_fdt32(rid_base), cpu_to_fdt32(ph),
			     cpu_to_fdt32(out_base), cpu_to_fdt32(len) };

	assert_true(ph != 0);
	assert_int_equal(fdt_setprop(b->data, node_of(b, "pci-host-ecam-generic"),
				     prop, cells, sizeof(cells)), 0);
}

static struct uiommu_machine *create_blob(struct blob *b)
{
	struct uiommu_machine_opts o = { .dtb = b->data, .dtb_size = b->size };
	struct uiommu_machine *m = NULL;
	char err[256];

	o.err = err;
	o.errlen = sizeof(err);
	if (uiommu_machine_create(&o, &m))
		fail_msg("create: %s", err);
	return m;
}

static struct uiommu_machine *create_named(const char *name)
{
	struct uiommu_machine_opts o = { .name = name };
	struct uiommu_machine *m = NULL;

	assert_int_equal(uiommu_machine_create(&o, &m), 0);
	assert_int_equal(uiommu_machine_check(m), 0);
	return m;
}

struct region_find {
	const char *name;
	struct uiommu_region_info info;
	int found;
};

static int find_region(void *opaque, const struct uiommu_region_info *info)
{
	struct region_find *f = opaque;

	if (!strcmp(info->name, f->name)) {
		f->info = *info;
		f->found++;
	}
	return 0;
}

static struct uiommu_region_info region(struct uiommu_machine *m,
					const char *name)
{
	struct region_find f = { .name = name };

	assert_int_equal(uiommu_machine_for_each_region(m, find_region, &f), 0);
	if (f.found != 1)
		fail_msg("region %s found %d times", name, f.found);
	return f.info;
}

static const struct uiommu_machine_func *testdev(struct uiommu_machine *m)
{
	const struct uiommu_machine_func *f =
		uiommu_machine_find_function(m, 0, 0, UIOMMU_PCI_DEVFN(1, 0));

	assert_non_null(f);
	return f;
}

static int count_funcs(void *opaque, const struct uiommu_machine_func *f)
{
	(void)f;
	if (opaque)
		++*(unsigned int *)opaque;
	return 0;
}

/* The test device's BARs: BAR0 64-bit, BAR2 from the 32-bit window. */
static void check_testdev_bars(const struct uiommu_machine_func *f)
{
	struct uiommu_pci_func_info info;

	uiommu_pci_func_get_info(f->pci, &info);
	assert_int_equal(info.vendor_id, UIOMMU_TESTDEV_VENDOR_ID);
	assert_int_equal(info.device_id, UIOMMU_TESTDEV_DEVICE_ID);
	assert_true(info.bar[0].assigned && info.bar[0].is64);
	assert_true(info.bar[2].assigned && !info.bar[2].is64);
	assert_true(info.bar[2].addr >= 0x10000000);
	assert_true(info.bar[2].addr + info.bar[2].size <= 0x3eff0000);
}

static void test_default_virt(void **state)
{
	struct uiommu_machine *m = NULL;
	struct uiommu_machine_info mi;
	const struct uiommu_machine_func *f;
	struct uiommu_region_info r;

	(void)state;
	assert_int_equal(uiommu_machine_create(NULL, &m), 0);
	assert_int_equal(uiommu_machine_check(m), 0);
	uiommu_machine_get_info(m, &mi);
	assert_int_equal(mi.gic_version, 3);
	assert_int_equal(mi.nits, 1);
	assert_int_equal(mi.nsmmu, 1);
	assert_int_equal(mi.npci, 1);
	assert_true(mi.realized);

	r = region(m, "ram");
	assert_int_equal(r.base, 0x40000000);
	assert_int_equal(r.size, 0x40000000);
	r = region(m, "its0.translater");
	assert_int_equal(r.base, 0x8090000);
	assert_true(r.doorbell);
	assert_int_equal(uiommu_gic_its_doorbell(uio_machine_its(m, 0)),
			 0x8090040);
	assert_non_null(uio_machine_msi_domain(m, true, 0));
	/* the public accessors reach the same objects */
	assert_ptr_equal(uiommu_machine_its(m, 0), uio_machine_its(m, 0));
	assert_null(uiommu_machine_its(m, 1));
	assert_null(uiommu_machine_its(NULL, 0));
	assert_null(uiommu_machine_gicv2m(m, 0));
	assert_ptr_equal(uiommu_machine_msi_domain(m, 0),
			 uio_machine_msi_domain(m, true, 0));
	assert_null(uiommu_machine_msi_domain(m, 1));
	assert_null(uiommu_machine_msi_domain(NULL, 0));
	assert_non_null(uio_machine_smmu_drv(m, 0));
	assert_non_null(uiommu_machine_smmu(m, 0));
	assert_int_equal(uiommu_smmuv3_base(uiommu_machine_smmu(m, 0)),
			 0x9050000);
	assert_int_equal(uiommu_pci_core_count(uiommu_machine_pci_core(m, 0)), 1);
	{
		unsigned int n = 0;

		assert_int_equal(uiommu_machine_for_each_function(m, count_funcs,
								  &n), 0);
		assert_int_equal(n, 1);
	}

	f = testdev(m);
	assert_int_equal(f->rid, 0x0008);
	assert_string_equal(f->name, "testdev0");
	assert_true(f->has_sid && f->sid_matched);
	assert_int_equal(f->sid, 0x0008);
	assert_string_equal(f->iommu_node, "/smmuv3@9050000");
	assert_true(f->has_devid && f->devid_matched);
	assert_int_equal(f->devid, 0x0008);
	assert_string_equal(f->msi_node, "/intc@8000000/its@8080000");
	assert_true(f->msi_isolating);
	check_testdev_bars(f);
	/* The SMMUv3 driver and the MSI layer took the function. */
	assert_non_null(f->iommu_dev);
	assert_non_null(f->msi_dev);
	assert_int_equal(uiommu_domain_type(uiommu_group_default_domain(
				 uiommu_device_group(f->iommu_dev))),
			 UIOMMU_DOMAIN_DMA);
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void test_qemu_dumped_dtbs(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uiommu_machine *m = create_blob(&b);
	const struct uiommu_machine_func *f;

	(void)state;
	assert_int_equal(uiommu_machine_check(m), 0);
	f = testdev(m);
	assert_int_equal(f->sid, 8);
	assert_int_equal(f->devid, 8);
	assert_true(f->msi_isolating);
	check_testdev_bars(f);
	uiommu_machine_destroy(m);
	free(b.data);

	b = load_dtb("qemu-virt-gicv2.dtb");
	m = create_blob(&b);
	assert_int_equal(uiommu_machine_check(m), 0);
	f = testdev(m);
	assert_false(f->has_sid);
	assert_true(f->has_devid);
	assert_false(f->msi_isolating);
	assert_non_null(uio_machine_msi_domain(m, false, 0));
	/* v2m domains follow the (absent) ITS ones */
	assert_ptr_equal(uiommu_machine_msi_domain(m, 0),
			 uio_machine_msi_domain(m, false, 0));
	assert_ptr_equal(uiommu_machine_gicv2m(m, 0), uio_machine_v2m(m, 0));
	assert_null(uiommu_machine_gicv2m(m, 1));
	assert_null(uiommu_machine_its(m, 0));
	assert_non_null(f->msi_dev);
	assert_null(f->iommu_dev);
	uiommu_machine_destroy(m);
	free(b.data);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void test_variants(void **state)
{
	struct uiommu_machine *m;
	const struct uiommu_machine_func *f;
	struct uiommu_region_info r;
	uint64_t typer;

	(void)state;
	m = create_named("virt-gicv2m");
	f = testdev(m);
	assert_true(f->has_sid);
	assert_true(f->has_devid);
	assert_false(f->devid_matched);	/* msi-parent: no map */
	assert_true(f->msi_parent);
	assert_int_equal(f->devid, f->rid);
	assert_string_equal(f->msi_node, "/intc@8000000/v2m@8020000");
	assert_false(f->msi_isolating);
	r = region(m, "v2m0");
	assert_int_equal(r.base, 0x8020000);
	/* MSI_TYPER: BASE_SPI [25:16] 80, NUMBER_SPIS [9:0] 64 (QEMU's). */
	assert_int_equal(uiommu_phys_ld(uiommu_machine_physmem(m),
					0x8020008, 4, &typer, NULL), 0);
	assert_int_equal((typer >> 16) & 0x3ff, 80);
	assert_int_equal(typer & 0x3ff, 64);
	assert_non_null(f->iommu_dev);
	assert_non_null(f->msi_dev);
	uiommu_machine_destroy(m);

	m = create_named("virt-noiommu");
	f = testdev(m);
	assert_false(f->has_sid);
	assert_null(f->iommu_node);
	assert_null(uiommu_machine_smmu(m, 0));
	assert_true(f->has_devid && f->devid_matched);
	uiommu_machine_destroy(m);

	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_machine_create(
		&(struct uiommu_machine_opts){ .name = "nope" }, &m), -EINVAL);
	assert_non_null(strstr(tu_log_text(), "no built-in machine 'nope'"));
	tu_log_release();
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/* Linux's of_map_id(): no entry matches -> the RID passes through, with a
 * warning naming the node and property. */
static void test_map_pass_through_warns(void **state)
{
	struct blob b = builtin_copy("virt");
	struct uiommu_machine *m;
	const struct uiommu_machine_func *f;

	(void)state;
	/* msi-map covering RID 0 only, and no msi-map-mask. */
	set_map(&b, "msi-map", "arm,gic-v3-its", 0, 0x100, 1);
	set_map(&b, "iommu-map", "arm,smmu-v3", 0x100, 0, 0x100);
	tu_log_capture(UIOMMU_LOG_WARN);
	m = create_blob(&b);
	if (!strstr(tu_log_text(), "/pcie@10000000: no msi-map translation for id 0x8"))
		fail_msg("log: %s", tu_log_text());
	if (!strstr(tu_log_text(), "/pcie@10000000: no iommu-map translation for id 0x8"))
		fail_msg("log: %s", tu_log_text());
	tu_log_release();
	f = testdev(m);
	assert_int_equal(f->devid, 8);
	assert_false(f->devid_matched);
	assert_int_equal(f->sid, 8);
	assert_false(f->sid_matched);
	assert_true(f->has_sid);
	uiommu_machine_destroy(m);

	/* With a mask that clears the devfn, the same map matches. */
	tu_log_capture(UIOMMU_LOG_WARN);
	{
		fdt32_t mask = cpu_to_fdt32(0xff00);

		assert_int_equal(fdt_setprop(b.data,
					     node_of(&b, "pci-host-ecam-generic"),
					     "msi-map-mask", &mask, 4), 0);
	}
	m = create_blob(&b);
	f = testdev(m);
	assert_true(f->devid_matched);
	assert_int_equal(f->devid, 0x100);
	assert_null(strstr(tu_log_text(), "msi-map"));
	tu_log_release();
	uiommu_machine_destroy(m);
	free(b.data);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void expect_create_error(struct blob *b, int ret, const char *msg)
{
	struct uiommu_machine_opts o = { .dtb = b->data, .dtb_size = b->size };
	struct uiommu_machine *m = (void *)0x1;
	char err[256];

	o.err = err;
	o.errlen = sizeof(err);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_machine_create(&o, &m), ret);
	tu_log_release();
	assert_ptr_equal(m, (void *)0x1);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not contain '%s'", err, msg);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void test_malformed_dtbs_fail_cleanly(void **state)
{
	struct blob b;
	fdt32_t bad[3] = { 0 };
	fdt32_t reg[4];

	(void)state;
	b = builtin_copy("virt");
	assert_int_equal(fdt_setprop(b.data, node_of(&b, "pci-host-ecam-generic"),
				     "iommu-map", bad, sizeof(bad)), 0);
	expect_create_error(&b, -EINVAL, "/pcie@10000000: iommu-map");
	free(b.data);

	/* An SMMU on top of the ITS: the models cannot both be placed. */
	b = builtin_copy("virt");
	reg[0] = cpu_to_fdt32(0);
	reg[1] = cpu_to_fdt32(0x08080000);
	reg[2] = cpu_to_fdt32(0);
	reg[3] = cpu_to_fdt32(0x20000);
	assert_int_equal(fdt_setprop(b.data, node_of(&b, "arm,smmu-v3"), "reg",
				     reg, sizeof(reg)), 0);
	expect_create_error(&b, -EEXIST, "/smmuv3@9050000: reg");
	free(b.data);

	/* A v2m frame with an SPI range the GIC cannot have. */
	b = builtin_copy("virt-gicv2m");
	reg[0] = cpu_to_fdt32(2000);
	assert_int_equal(fdt_setprop(b.data, node_of(&b, "arm,gic-v2m-frame"),
				     "arm,msi-base-spi", reg, 4), 0);
	reg[0] = cpu_to_fdt32(8);
	assert_int_equal(fdt_setprop(b.data, node_of(&b, "arm,gic-v2m-frame"),
				     "arm,msi-num-spis", reg, 4), 0);
	expect_create_error(&b, -EINVAL, "v2m@8020000");
	free(b.data);

	/* An obsolete DTB version. */
	b = builtin_copy("virt");
	fdt_set_version(b.data, 16);
	expect_create_error(&b, -EINVAL, "unsupported DTB version 16");
	free(b.data);

	/* Truncated blob. */
	b = builtin_copy("virt");
	b.size = 64;
	expect_create_error(&b, -EINVAL, "");
	free(b.data);
}

/* Interrupt bookkeeping of one test: hits per vector. */
#define MAXVEC 32
static unsigned int hits[MAXVEC];

static void on_vector(void *opaque, unsigned int vector)
{
	(void)opaque;
	if (vector < MAXVEC)
		hits[vector]++;
}

static uint64_t bar0_of(const struct uiommu_machine_func *f)
{
	struct uiommu_pci_func_info info;

	uiommu_pci_func_get_info(f->pci, &info);
	return info.bar[0].addr;
}

/* The host driver raises vector @v through the device's register; the
 * result of the raise (IRQ_STATUS) is returned. */
static uint32_t raise(struct uiommu_machine *m,
		      const struct uiommu_machine_func *f, unsigned int v)
{
	struct uiommu_physmem *pm = uiommu_machine_physmem(m);
	uint64_t st = 0;

	assert_int_equal(uiommu_phys_st(pm, bar0_of(f) + UIOMMU_TESTDEV_IRQ_RAISE,
					4, v, NULL), 0);
	assert_int_equal(uiommu_phys_ld(pm, bar0_of(f) + UIOMMU_TESTDEV_IRQ_STATUS,
					4, &st, NULL), 0);
	return (uint32_t)st;
}

/* The test device copies @len bytes of its buffer to @dst (an IOVA). */
static uint64_t dev_write(struct uiommu_machine *m,
			  const struct uiommu_machine_func *f, uint64_t dst,
			  const void *data, uint32_t len)
{
	struct uiommu_physmem *pm = uiommu_machine_physmem(m);
	uint64_t bar0 = bar0_of(f), status = 0;

	assert_int_equal(uiommu_phys_write(pm, bar0 + UIOMMU_TESTDEV_BUF, data,
					   len, NULL), 0);
	assert_int_equal(uiommu_phys_st(pm, bar0 + UIOMMU_TESTDEV_DST, 8, dst,
					NULL), 0);
	assert_int_equal(uiommu_phys_st(pm, bar0 + UIOMMU_TESTDEV_LEN, 4, len,
					NULL), 0);
	assert_int_equal(uiommu_phys_st(pm, bar0 + UIOMMU_TESTDEV_BUF_OFF, 4, 0,
					NULL), 0);
	assert_int_equal(uiommu_phys_st(pm, bar0 + UIOMMU_TESTDEV_CMD, 4,
					UIOMMU_TESTDEV_OP_WRITE, NULL), 0);
	assert_int_equal(uiommu_phys_ld(pm, bar0 + UIOMMU_TESTDEV_STATUS, 4,
					&status, NULL), 0);
	/* DONE and ERROR are write-1-to-clear. */
	assert_int_equal(uiommu_phys_st(pm, bar0 + UIOMMU_TESTDEV_STATUS, 4,
					UIOMMU_TESTDEV_ST_DONE |
					UIOMMU_TESTDEV_ST_ERROR, NULL), 0);
	return status;
}

/* virt-noiommu: DMA addresses are physical; the test device's write lands
 * in RAM; its MSI-X vectors, set up by the MSI layer, carry the doorbell's
 * physical address and reach the ITS with the DeviceID as side band. */
static void test_noiommu_dma_and_msi(void **state)
{
	struct uiommu_machine *m = create_named("virt-noiommu");
	const struct uiommu_machine_func *f = testdev(m);
	struct uiommu_msi_vector_info vi;
	struct uiommu_dma_fault fault;
	uint64_t status, dst = 0x40100000;
	uint8_t pattern[64], back[64];
	unsigned int nvec = 0;

	(void)state;
	assert_null(f->iommu_dev);
	assert_int_equal(uiommu_pci_func_set_master(f->pci, true), 0);
	for (unsigned int i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0xa0 + i);
	status = dev_write(m, f, dst, pattern, sizeof(pattern));
	assert_true(status & UIOMMU_TESTDEV_ST_DONE);
	assert_false(status & UIOMMU_TESTDEV_ST_ERROR);
	assert_int_equal(uiommu_phys_read(uiommu_machine_physmem(m), dst, back,
					  sizeof(back), NULL), 0);
	assert_memory_equal(back, pattern, sizeof(pattern));

	/* A hole is a bus fault. */
	assert_int_equal(uiommu_pci_dev_dma(f->dev, 0x100000, back, 4, false,
					    &fault), -EFAULT);
	assert_int_equal(fault.type, UIOMMU_DMA_FAULT_BUS);

	memset(hits, 0, sizeof(hits));
	assert_int_equal(uiommu_msi_alloc_irq_vectors(f->msi_dev, 4, 4,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &nvec), 0);
	assert_int_equal(nvec, 4);
	for (unsigned int v = 0; v < 4; v++)
		assert_int_equal(uiommu_msi_set_handler(f->msi_dev, v,
							on_vector, NULL), 0);
	assert_int_equal(uiommu_msi_get_vector(f->msi_dev, 2, &vi), 0);
	assert_int_equal(vi.address, 0x8090040);	/* GITS_TRANSLATER */
	assert_int_equal(vi.data, vi.eventid);
	assert_int_equal(raise(m, f, 2), 0);
	assert_int_equal(hits[2], 1);
	assert_int_equal(hits[0] + hits[1] + hits[3], 0);
	assert_int_equal(uiommu_machine_check(m), 0);
	/* Destroy frees the vectors, devices, domains. */
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/*
 * The default machine end to end, as the demo: the SMMUv3 driver
 * gave the test device a DMA domain; DMA API mappings are where the device
 * writes land, an unmapped IOVA faults; 32 MSI-X vectors from the MSI layer
 * carry IOVAs of the ITS doorbell page (one page mapped for the domain),
 * and each interrupt arrives exactly once.
 */
static void test_virt_end_to_end(void **state)
{
	struct uiommu_machine *m = create_named("virt");
	const struct uiommu_machine_func *f = testdev(m);
	static const char msg[] = "through the SMMU";
	char back[sizeof(msg)] = "";
	struct uiommu_msi_vector_info vi;
	uint64_t buf_pa = 0x40200000, iova, status, db_iova = 0;
	unsigned int nvec = 0;

	(void)state;
	assert_non_null(f->iommu_dev);
	assert_int_equal(uiommu_pci_func_set_master(f->pci, true), 0);
	assert_int_equal(uiommu_dma_map_single(f->iommu_dev, buf_pa, 0x1000,
					       UIOMMU_DMA_FROM_DEVICE, &iova), 0);
	status = dev_write(m, f, iova, msg, sizeof(msg));
	assert_true(status & UIOMMU_TESTDEV_ST_DONE);
	assert_false(status & UIOMMU_TESTDEV_ST_ERROR);
	assert_int_equal(uiommu_phys_read(uiommu_machine_physmem(m), buf_pa,
					  back, sizeof(back), NULL), 0);
	assert_string_equal(back, msg);
	assert_int_equal(uiommu_dma_unmap_single(f->iommu_dev, iova, 0x1000,
						 UIOMMU_DMA_FROM_DEVICE), 0);
	tu_log_capture(UIOMMU_LOG_WARN);
	status = dev_write(m, f, iova, msg, sizeof(msg));
	tu_log_release();
	assert_true(status & UIOMMU_TESTDEV_ST_ERROR);

	memset(hits, 0, sizeof(hits));
	assert_int_equal(uiommu_msi_alloc_irq_vectors(f->msi_dev, 32, 32,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &nvec), 0);
	assert_int_equal(nvec, 32);
	for (unsigned int v = 0; v < 32; v++) {
		assert_int_equal(uiommu_msi_set_handler(f->msi_dev, v,
							on_vector, NULL), 0);
		assert_int_equal(uiommu_msi_get_vector(f->msi_dev, v, &vi), 0);
		assert_int_equal(vi.address & 0xfff, 0x040);
		assert_int_not_equal(vi.address, 0x8090040);	/* an IOVA */
		if (v == 0)
			db_iova = vi.address;
		assert_int_equal(vi.address, db_iova);	/* one page */
		assert_int_equal(vi.data, vi.eventid);
		assert_int_equal(vi.eventid, v);
	}
	for (unsigned int v = 0; v < 32; v++)
		assert_int_equal(raise(m, f, v), 0);
	for (unsigned int v = 0; v < 32; v++)
		assert_int_equal(hits[v], 1);
	assert_int_equal(uiommu_machine_check(m), 0);
	assert_int_equal(uiommu_msi_free_irq_vectors(f->msi_dev), 0);
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/*
 * The VFIO case on the default machine: the group moves to an unmanaged
 * domain; its owner maps a buffer where it likes; MSI-X vectors allocated
 * then use the SMMU driver's default window: message address 0x8000040
 * (GITS_TRANSLATER's offset in the doorbell page at 0x8000000), data =
 * EventID; each arrives once.
 */
static void test_virt_unmanaged_default_window(void **state)
{
	struct uiommu_machine *m = create_named("virt");
	const struct uiommu_machine_func *f = testdev(m);
	struct uiommu_group *g = uiommu_device_group(f->iommu_dev);
	static const char msg[] = "owner's buffer";
	char back[sizeof(msg)] = "";
	struct uiommu_msi_vector_info vi;
	struct uiommu_domain *dom;
	unsigned int nvec = 0;
	uint64_t status;

	(void)state;
	assert_int_equal(uiommu_domain_alloc(f->iommu_dev,
					     UIOMMU_DOMAIN_UNMANAGED, &dom), 0);
	assert_int_equal(uiommu_group_attach(g, dom), 0);
	assert_int_equal(uiommu_map(dom, 0x200000, 0x40300000, 0x1000,
				    UIOMMU_PROT_READ | UIOMMU_PROT_WRITE), 0);
	assert_int_equal(uiommu_pci_func_set_master(f->pci, true), 0);
	status = dev_write(m, f, 0x200000, msg, sizeof(msg));
	assert_false(status & UIOMMU_TESTDEV_ST_ERROR);
	assert_int_equal(uiommu_phys_read(uiommu_machine_physmem(m), 0x40300000,
					  back, sizeof(back), NULL), 0);
	assert_string_equal(back, msg);

	memset(hits, 0, sizeof(hits));
	assert_int_equal(uiommu_msi_alloc_irq_vectors(f->msi_dev, 8, 8,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &nvec), 0);
	for (unsigned int v = 0; v < nvec; v++) {
		assert_int_equal(uiommu_msi_set_handler(f->msi_dev, v,
							on_vector, NULL), 0);
		assert_int_equal(uiommu_msi_get_vector(f->msi_dev, v, &vi), 0);
		assert_int_equal(vi.address, 0x8000040);
		assert_int_equal(vi.data, vi.eventid);
		assert_int_equal(raise(m, f, v), 0);
		assert_int_equal(hits[v], 1);
	}
	assert_int_equal(uiommu_machine_check(m), 0);
	assert_int_equal(uiommu_msi_free_irq_vectors(f->msi_dev), 0);
	assert_int_equal(uiommu_group_detach(g), 0);
	assert_int_equal(uiommu_domain_free(dom), 0);
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/*
 * virt with opts.no_smmu_driver, the SMMU programmed at register level by
 * the SMMUv3 test driver: the test device's DMA is translated with its
 * StreamID, an unmapped IOVA faults with an event, and its MSI (physical
 * doorbell address, as no IOMMU-core device exists) reaches the ITS only
 * once the doorbell page is mapped at that address.
 */
#define IOVA_BUF  0x100000ull

static void test_virt_smmu_register_level(void **state)
{
	struct uiommu_machine_opts o = { .name = "virt", .no_smmu_driver = true };
	struct uiommu_machine *m;
	const struct uiommu_machine_func *f;
	struct uiommu_dma_fault fault;
	struct uiommu_smmuv3_stats st;
	struct uiommu_pci_dev_stats ds;
	struct td td;
	struct td_pt pt;
	uint64_t cd, buf, ev[4];
	uint32_t v = 0x5a5aa5a5, back = 0;
	unsigned int nvec;

	(void)state;
	assert_int_equal(uiommu_machine_create(&o, &m), 0);
	f = testdev(m);
	assert_null(f->iommu_dev);
	assert_null(uio_machine_smmu_drv(m, 0));
	assert_int_equal(td_attach(&td, uiommu_machine_physmem(m),
				   uiommu_machine_pool(m),
				   uiommu_machine_smmu(m, 0), NULL), 0);
	cd = td_alloc(&td, 4096);
	buf = td_alloc(&td, 4096);
	assert_int_equal(td_pt_init(&td, &pt, false), 0);
	td_write_cd(&td, cd, 1, pt.root);
	td_ste_s1(&td, f->sid, cd, 0);
	assert_int_equal(td_cfgi_ste(&td, f->sid), 0);
	assert_int_equal(td_map(&td, &pt, IOVA_BUF, buf, TD_R | TD_W), 0);
	assert_int_equal(uiommu_pci_func_set_master(f->pci, true), 0);

	assert_int_equal(uiommu_pci_dev_dma(f->dev, IOVA_BUF + 8, &v, 4, true,
					    &fault), 0);
	assert_int_equal(uiommu_phys_read(uiommu_machine_physmem(m), buf + 8,
					  &back, 4, NULL), 0);
	assert_int_equal(back, v);

	assert_int_equal(uiommu_pci_dev_dma(f->dev, 0x7000000, &v, 4, true,
					    &fault), -EFAULT);
	assert_int_equal(fault.type, UIOMMU_DMA_FAULT_TRANSLATION);
	assert_int_equal(fault.code, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(fault.addr, 0x7000000);
	assert_int_equal(td_read_event(&td, ev), 0);
	assert_int_equal(ev[0] & 0xff, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(ev[0] >> 32, f->sid);

	memset(hits, 0, sizeof(hits));
	assert_int_equal(uiommu_msi_alloc_irq_vectors(f->msi_dev, 1, 1,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &nvec), 0);
	assert_int_equal(uiommu_msi_set_handler(f->msi_dev, 0, on_vector, NULL),
			 0);
	assert_int_not_equal(raise(m, f, 0), 0);	/* doorbell unmapped */
	assert_int_equal(hits[0], 0);
	uiommu_pci_dev_get_stats(f->dev, &ds);
	assert_int_equal(ds.msi_faults, 1);
	assert_int_equal(td_map(&td, &pt, 0x8090000, 0x8090000, TD_R | TD_W), 0);
	assert_int_equal(raise(m, f, 0), 0);
	assert_int_equal(hits[0], 1);

	uiommu_smmuv3_get_stats(uiommu_machine_smmu(m, 0), &st);
	assert_int_equal(st.faults, 2);
	assert_int_equal(uiommu_machine_check(m), 0);
	td_fini(&td);
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void test_plug_before_realize(void **state)
{
	struct uiommu_machine_opts o = { .name = "virt", .no_realize = true };
	struct uiommu_testdev_config cfg = { .name = "mine", .msix_vectors = 4 };
	struct uiommu_machine *m;
	struct uiommu_pci_dev *d1, *d2;
	const struct uiommu_machine_func *f;

	(void)state;
	assert_int_equal(uiommu_machine_create(&o, &m), 0);
	assert_int_equal(uiommu_machine_for_each_function(m, count_funcs, NULL),
			 -EBUSY);
	assert_int_equal(uiommu_testdev_create(&cfg, &d1), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_machine_plug(m, 1, 0, 0, d1), -EINVAL);
	assert_int_equal(uiommu_machine_plug(m, 0, 1, UIOMMU_PCI_DEVFN(2, 0), d1), 0);
	assert_int_equal(uiommu_machine_realize(m), 0);
	assert_int_equal(uiommu_machine_realize(m), -EBUSY);
	assert_null(uiommu_machine_find_function(m, 0, 0, UIOMMU_PCI_DEVFN(1, 0)));
	f = uiommu_machine_find_function(m, 0, 1, UIOMMU_PCI_DEVFN(2, 0));
	assert_non_null(f);
	assert_int_equal(f->rid, 0x110);
	assert_int_equal(f->sid, 0x110);
	assert_string_equal(f->name, "mine");
	assert_int_equal(uiommu_pci_core_count(uiommu_machine_pci_core(m, 0)), 1);

	assert_int_equal(uiommu_testdev_create(&cfg, &d2), 0);
	assert_int_equal(uiommu_machine_plug(m, 0, 0, 0, d2), -EBUSY);
	tu_log_release();
	uiommu_pci_dev_destroy(d2);
	assert_int_equal(uiommu_machine_check(m), 0);
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/*
 * Two devices DMA concurrently through the default machine's port (SMMU
 * translate + physmem), each into its own DMA-API buffer: every write lands,
 * none faults.  (Suite 'threads': run under TSan.)
 */
#define DMA_ROUNDS 20000

struct dma_worker {
	const struct uiommu_machine_func *f;
	uint64_t iova;
	int errors;
};

static void *dma_worker(void *arg)
{
	struct dma_worker *w = arg;
	struct uiommu_dma_fault fault;

	for (uint32_t i = 0; i < DMA_ROUNDS; i++) {
		uint32_t v = i;

		if (uiommu_pci_dev_dma(w->f->dev, w->iova + ((i * 4) & 0xfff),
				       &v, 4, true, &fault))
			w->errors++;
	}
	return NULL;
}

static void test_concurrent_dma(void **state)
{
	struct uiommu_machine_opts o = { .name = "virt", .no_realize = true };
	struct uiommu_testdev_config cfg = { .name = "td1" };
	struct uiommu_machine *m;
	struct uiommu_pci_dev *d;
	struct dma_worker w[2];
	pthread_t t[2];

	(void)state;
	assert_int_equal(uiommu_machine_create(&o, &m), 0);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(uiommu_testdev_create(&cfg, &d), 0);
		assert_int_equal(uiommu_machine_plug(m, 0, 0,
						     UIOMMU_PCI_DEVFN(2 + i, 0), d), 0);
	}
	assert_int_equal(uiommu_machine_realize(m), 0);
	for (unsigned int i = 0; i < 2; i++) {
		w[i].f = uiommu_machine_find_function(m, 0, 0,
						      UIOMMU_PCI_DEVFN(2 + i, 0));
		assert_non_null(w[i].f);
		w[i].errors = 0;
		assert_int_equal(uiommu_pci_func_set_master(w[i].f->pci, true), 0);
		assert_int_equal(uiommu_dma_map_single(w[i].f->iommu_dev,
						       0x40400000 + i * 0x1000,
						       0x1000,
						       UIOMMU_DMA_FROM_DEVICE,
						       &w[i].iova), 0);
	}
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, dma_worker, &w[i]), 0);
	for (unsigned int i = 0; i < 2; i++) {
		uint32_t last = 0;

		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].errors, 0);
		/* The last round wrote DMA_ROUNDS - 1 at its offset. */
		assert_int_equal(uiommu_phys_read(uiommu_machine_physmem(m),
						  0x40400000 + i * 0x1000 +
						  (((DMA_ROUNDS - 1) * 4) & 0xfff),
						  &last, 4, NULL), 0);
		assert_int_equal(last, DMA_ROUNDS - 1);
	}
	assert_int_equal(uiommu_machine_check(m), 0);
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/* Fail-Nth sweep over create: every failure is -ENOMEM, nothing leaks. */
struct sweep {
	const char *name;
	struct uiommu_machine *m;
};

static int sweep_op(void *ctx)
{
	struct sweep *s = ctx;
	struct uiommu_machine_opts o = { .name = s->name };

	return uiommu_machine_create(&o, &s->m);
}

static void sweep_check(void *ctx, int ret)
{
	struct sweep *s = ctx;

	assert_int_equal(ret, -ENOMEM);
	assert_null(s->m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static void test_fail_nth_create(void **state)
{
	static const char *const names[] = { "virt", "virt-gicv2m",
					     "virt-noiommu" };

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		struct sweep s = { .name = names[i] };
		unsigned long n;

		tu_log_capture(UIOMMU_LOG_ERR);
		n = tu_fail_nth_sweep(&s, sweep_op, sweep_check, NULL);
		tu_log_release();
		print_message("%s: %lu failure points\n", names[i], n);
		assert_true(n > 10);
		assert_non_null(s.m);
		uiommu_machine_destroy(s.m);
		assert_int_equal(tu_alloc_live_blocks(), 0);
	}
}

/* Fail-Nth over realize: -ENOMEM, still unrealized, the caller's endpoint
 * still plugged and no default one added; then it succeeds. */
static int realize_op(void *ctx)
{
	return uiommu_machine_realize(ctx);
}

static void realize_check(void *ctx, int ret)
{
	struct uiommu_machine *m = ctx;
	struct uiommu_machine_info mi;

	assert_int_equal(ret, -ENOMEM);
	uiommu_machine_get_info(m, &mi);
	assert_false(mi.realized);
	assert_non_null(uiommu_pci_host_find(uiommu_machine_pci_host(m, 0), 0,
					     UIOMMU_PCI_DEVFN(3, 0)));
	assert_null(uiommu_pci_host_find(uiommu_machine_pci_host(m, 0), 0,
					 UIOMMU_PCI_DEVFN(1, 0)));
	assert_null(uiommu_machine_pci_core(m, 0));
	assert_int_equal(uiommu_machine_check(m), 0);
}

static void test_fail_nth_realize(void **state)
{
	struct uiommu_machine_opts o = { .name = "virt", .no_realize = true };
	struct uiommu_testdev_config cfg = { .name = "td3", .msi_vectors = 4 };
	struct uiommu_machine *m;
	struct uiommu_pci_dev *d;
	unsigned long n;

	(void)state;
	assert_int_equal(uiommu_machine_create(&o, &m), 0);
	assert_int_equal(uiommu_testdev_create(&cfg, &d), 0);
	assert_int_equal(uiommu_machine_plug(m, 0, 0, UIOMMU_PCI_DEVFN(3, 0), d), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	n = tu_fail_nth_sweep(m, realize_op, realize_check, NULL);
	tu_log_release();
	assert_true(n > 0);
	assert_non_null(uiommu_machine_find_function(m, 0, 0,
						     UIOMMU_PCI_DEVFN(3, 0)));
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_virt),
		cmocka_unit_test(test_qemu_dumped_dtbs),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_map_pass_through_warns),
		cmocka_unit_test(test_malformed_dtbs_fail_cleanly),
		cmocka_unit_test(test_noiommu_dma_and_msi),
		cmocka_unit_test(test_virt_end_to_end),
		cmocka_unit_test(test_virt_unmanaged_default_window),
		cmocka_unit_test(test_virt_smmu_register_level),
		cmocka_unit_test(test_plug_before_realize),
		cmocka_unit_test(test_concurrent_dma),
		cmocka_unit_test(test_fail_nth_create),
		cmocka_unit_test(test_fail_nth_realize),
	};

	tu_alloc_install(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
