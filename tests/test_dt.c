// SPDX-License-Identifier: MIT
/*
 * Device-tree front end: QEMU's own virt DTBs load into the expected
 * description; malformed trees are refused with a message naming the node
 * and property, and the caller's description is left untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "testutil.h"

#include "builtin.h"
#include "dt.h"

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

static int pcie_node(struct blob *b)
{
	int node = fdt_node_offset_by_compatible(b->data, -1,
						 "pci-host-ecam-generic");

	assert_true(node >= 0);
	return node;
}

static void test_qemu_virt_gicv3_smmuv3_loads(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uio_dt_machine *m = calloc(1, sizeof(*m));
	const struct uio_dt_pci_host *h;
	char err[256];

	(void)state;
	assert_int_equal(uio_dt_parse(b.data, b.size, m, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(m->model, "linux,dummy-virt");

	assert_int_equal(m->nmem, 1);
	assert_int_equal(m->mem[0].base, 0x40000000);
	assert_int_equal(m->mem[0].size, 0x40000000);

	assert_int_equal(m->gic_version, UIO_DT_GIC_V3);
	assert_int_equal(m->gic_dist.base, 0x8000000);
	assert_int_equal(m->gic_second.base, 0x80a0000);	/* GICR */
	assert_int_equal(m->nits, 1);
	assert_string_equal(m->its[0].path, "/intc@8000000/its@8080000");
	assert_int_equal(m->its[0].reg.base, 0x8080000);
	assert_int_equal(m->its[0].reg.size, 0x20000);
	assert_int_equal(m->nv2m, 0);

	assert_int_equal(m->nsmmu, 1);
	assert_int_equal(m->smmu[0].reg.base, 0x9050000);
	assert_int_equal(m->smmu[0].reg.size, 0x20000);
	assert_true(m->smmu[0].coherent);

	assert_int_equal(m->npci, 1);
	h = &m->pci[0];
	assert_int_equal(h->ecam.base, 0x4010000000);
	assert_int_equal(h->ecam.size, 0x10000000);
	assert_int_equal(h->bus_first, 0);
	assert_int_equal(h->bus_last, 255);
	assert_int_equal(h->nwindows, 3);
	assert_int_equal(h->window[0].space, UIO_DT_PCI_IO);
	assert_int_equal(h->window[0].cpu_addr, 0x3eff0000);
	assert_int_equal(h->window[1].space, UIO_DT_PCI_MEM32);
	assert_int_equal(h->window[1].cpu_addr, 0x10000000);
	assert_int_equal(h->window[1].size, 0x2eff0000);
	assert_int_equal(h->window[2].space, UIO_DT_PCI_MEM64);
	assert_int_equal(h->window[2].cpu_addr, 0x8000000000);
	assert_int_equal(h->window[2].size, 0x8000000000);

	assert_int_equal(h->iommu_map.count, 1);
	assert_int_equal(h->iommu_map.entry[0].target_kind, UIO_DT_TARGET_SMMU);
	assert_int_equal(h->iommu_map.entry[0].target, 0);
	assert_int_equal(h->iommu_map.entry[0].length, 0x10000);
	assert_false(h->iommu_map.mask_present);
	assert_int_equal(h->iommu_map.mask, 0xffffffff);
	assert_int_equal(h->msi_map.count, 1);
	assert_int_equal(h->msi_map.entry[0].target_kind, UIO_DT_TARGET_ITS);
	assert_false(h->has_msi_parent);

	free(m);
	free(b.data);
}

static void test_qemu_virt_gicv2_loads_with_v2m(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv2.dtb");
	struct uio_dt_machine *m = calloc(1, sizeof(*m));

	(void)state;
	assert_int_equal(uio_dt_parse(b.data, b.size, m, NULL, 0), 0);
	assert_int_equal(m->gic_version, UIO_DT_GIC_V2);
	assert_int_equal(m->gic_second.base, 0x8010000);	/* GICC */
	assert_int_equal(m->nits, 0);
	assert_int_equal(m->nv2m, 1);
	assert_int_equal(m->v2m[0].reg.base, 0x8020000);
	assert_int_equal(m->v2m[0].reg.size, 0x1000);
	assert_int_equal(m->v2m[0].spi_count, 0);	/* from MSI_TYPER */
	assert_int_equal(m->nsmmu, 0);
	assert_int_equal(m->pci[0].iommu_map.count, 0);
	assert_int_equal(m->pci[0].msi_map.entry[0].target_kind,
			 UIO_DT_TARGET_V2M);
	free(m);
	free(b.data);
}

/*
 * Edit one property of the PCIe node (or delete it with len < 0), parse,
 * and expect @ret with @msg in the error; the description must be unchanged.
 */
static void expect_pcie_prop_error(const char *prop, const void *val, int len,
				   int ret, const char *msg)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uio_dt_machine *m = malloc(sizeof(*m));
	struct uio_dt_machine *before = malloc(sizeof(*before));
	char err[256];

	if (len < 0)
		assert_int_equal(fdt_delprop(b.data, pcie_node(&b), prop), 0);
	else
		assert_int_equal(fdt_setprop(b.data, pcie_node(&b), prop, val,
					     len), 0);
	memset(m, 0xa5, sizeof(*m));
	memcpy(before, m, sizeof(*m));
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uio_dt_parse(b.data, b.size, m, err, sizeof(err)),
			 ret);
	tu_log_release();
	if (!strstr(err, msg))
		fail_msg("error '%s' does not contain '%s'", err, msg);
	assert_memory_equal(m, before, sizeof(*m));
	free(before);
	free(m);
	free(b.data);
}

static void test_iommu_map_not_whole_entries(void **state)
{
	fdt32_t cells[3] = { cpu_to_fdt32(0), cpu_to_fdt32(0x8004),
			     cpu_to_fdt32(0) };

	(void)state;
	expect_pcie_prop_error("iommu-map", cells, sizeof(cells), -EINVAL,
			       "/pcie@10000000: iommu-map: length 12 is not a whole number of 4-cell entries");
}

static void test_map_phandle_of_wrong_kind(void **state)
{
	/* An iommu-map pointing at the ITS (phandle 0x8003). */
	fdt32_t cells[4] = { cpu_to_fdt32(0), cpu_to_fdt32(0x8003),
			     cpu_to_fdt32(0), cpu_to_fdt32(0x100) };
	fdt32_t dangling[4] = { cpu_to_fdt32(0), cpu_to_fdt32(0x7777),
				cpu_to_fdt32(0), cpu_to_fdt32(0x100) };

	(void)state;
	expect_pcie_prop_error("iommu-map", cells, sizeof(cells), -EINVAL,
			       "/pcie@10000000: iommu-map: entry 0: phandle 0x8003 is an MSI controller, not an IOMMU");
	expect_pcie_prop_error("msi-map", dangling, sizeof(dangling), -EINVAL,
			       "/pcie@10000000: msi-map: entry 0: phandle 0x7777 names no supported MSI controller");
}

static void test_map_range_overflow(void **state)
{
	fdt32_t cells[4] = { cpu_to_fdt32(0xffffff00), cpu_to_fdt32(0x8004),
			     cpu_to_fdt32(0), cpu_to_fdt32(0x200) };

	(void)state;
	expect_pcie_prop_error("iommu-map", cells, sizeof(cells), -EINVAL,
			       "iommu-map: entry 0: range overflows 32 bits");
}

static void test_bad_bus_range_and_small_ecam(void **state)
{
	fdt32_t inverted[2] = { cpu_to_fdt32(4), cpu_to_fdt32(2) };
	fdt32_t one_cell[1] = { cpu_to_fdt32(0) };
	fdt32_t small_reg[4] = { cpu_to_fdt32(0x40), cpu_to_fdt32(0x10000000),
				 cpu_to_fdt32(0), cpu_to_fdt32(0x100000) };

	(void)state;
	expect_pcie_prop_error("bus-range", inverted, sizeof(inverted), -EINVAL,
			       "/pcie@10000000: bus-range: bad range 4-2");
	expect_pcie_prop_error("bus-range", one_cell, sizeof(one_cell), -EINVAL,
			       "bus-range: length 4, expected two cells");
	expect_pcie_prop_error("reg", small_reg, sizeof(small_reg), -EINVAL,
			       "/pcie@10000000: reg: ECAM size 0x100000 is too small for 256 buses");
	expect_pcie_prop_error("ranges", NULL, -1, -EINVAL,
			       "/pcie@10000000: ranges: missing");
}

static void test_map_mask_is_read(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uio_dt_machine *m = calloc(1, sizeof(*m));
	fdt32_t mask = cpu_to_fdt32(0xff);

	(void)state;
	assert_int_equal(fdt_setprop(b.data, pcie_node(&b), "msi-map-mask",
				     &mask, sizeof(mask)), 0);
	assert_int_equal(uio_dt_parse(b.data, b.size, m, NULL, 0), 0);
	assert_true(m->pci[0].msi_map.mask_present);
	assert_int_equal(m->pci[0].msi_map.mask, 0xff);
	assert_false(m->pci[0].iommu_map.mask_present);
	free(m);
	free(b.data);
}

static void test_smmu_and_its_reg_checks(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uio_dt_machine *m = calloc(1, sizeof(*m));
	fdt32_t small[4] = { cpu_to_fdt32(0), cpu_to_fdt32(0x9050000),
			     cpu_to_fdt32(0), cpu_to_fdt32(0x10000) };
	char err[256];
	int node;

	(void)state;
	node = fdt_node_offset_by_compatible(b.data, -1, "arm,smmu-v3");
	assert_true(node >= 0);
	assert_int_equal(fdt_setprop(b.data, node, "reg", small, sizeof(small)),
			 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uio_dt_parse(b.data, b.size, m, err, sizeof(err)),
			 -EINVAL);
	tu_log_release();
	assert_string_equal(err,
			    "/smmuv3@9050000: reg: size 0x10000 is smaller than 0x20000");
	free(m);
	free(b.data);
}

static void test_corrupt_and_truncated_blobs(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uio_dt_machine *m = calloc(1, sizeof(*m));
	char err[256];

	(void)state;
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uio_dt_parse(b.data, 16, m, err, sizeof(err)), -EINVAL);
	assert_int_equal(uio_dt_parse(b.data, fdt_totalsize(b.data) - 1, m, err,
				      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "truncated"));
	((unsigned char *)b.data)[0] ^= 0xff;	/* magic */
	assert_int_equal(uio_dt_parse(b.data, b.size, m, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "bad DTB header"));
	tu_log_release();
	free(m);
	free(b.data);
}

static void test_parse_fails_cleanly_without_memory(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uio_dt_machine *m = calloc(1, sizeof(*m));
	char err[256];
	int node;

	(void)state;
	node = fdt_path_offset(b.data, "/memory@40000000");
	assert_true(node >= 0);
	assert_int_equal(fdt_del_node(b.data, node), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uio_dt_parse(b.data, b.size, m, err, sizeof(err)),
			 -ENOENT);
	tu_log_release();
	assert_string_equal(err, "/: no memory node");
	free(m);
	free(b.data);
}

static void test_fail_nth_leaves_nothing(void **state)
{
	struct blob b = load_dtb("qemu-virt-gicv3-smmuv3.dtb");
	struct uio_dt_machine *m = calloc(1, sizeof(*m));

	(void)state;
	tu_alloc_install(1);
	assert_int_equal(uio_dt_parse(b.data, b.size, m, NULL, 0), -ENOMEM);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_install(0);
	assert_int_equal(uio_dt_parse(b.data, b.size, m, NULL, 0), 0);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
	free(m);
	free(b.data);
}

static struct uio_dt_machine *parse_builtin(const char *name)
{
	const struct uio_builtin_dtb *d = uio_builtin_dtb_find(name);
	struct uio_dt_machine *m = calloc(1, sizeof(*m));
	char err[256];

	assert_non_null(d);
	if (uio_dt_parse(d->blob, d->size, m, err, sizeof(err)))
		fail_msg("built-in machine %s: %s", name, err);
	return m;
}

static void test_builtin_machines_parse(void **state)
{
	struct uio_dt_machine *m;

	(void)state;
	assert_null(uio_builtin_dtb_find("no-such-machine"));

	m = parse_builtin("virt");
	assert_int_equal(m->gic_version, UIO_DT_GIC_V3);
	assert_int_equal(m->nits, 1);
	assert_int_equal(m->nsmmu, 1);
	assert_int_equal(m->pci[0].iommu_map.count, 1);
	assert_int_equal(m->pci[0].iommu_map.entry[0].target_kind,
			 UIO_DT_TARGET_SMMU);
	assert_int_equal(m->pci[0].msi_map.entry[0].target_kind,
			 UIO_DT_TARGET_ITS);
	assert_int_equal(m->pci[0].nwindows, 3);
	free(m);

	m = parse_builtin("virt-gicv2m");
	assert_int_equal(m->gic_version, UIO_DT_GIC_V2);
	assert_int_equal(m->nits, 0);
	assert_int_equal(m->nv2m, 1);
	assert_int_equal(m->pci[0].msi_map.count, 0);
	assert_true(m->pci[0].has_msi_parent);
	assert_int_equal(m->pci[0].msi_parent_kind, UIO_DT_TARGET_V2M);
	free(m);

	m = parse_builtin("virt-noiommu");
	assert_int_equal(m->nsmmu, 0);
	assert_int_equal(m->pci[0].iommu_map.count, 0);
	assert_int_equal(m->pci[0].msi_map.count, 1);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_virt_gicv3_smmuv3_loads),
		cmocka_unit_test(test_qemu_virt_gicv2_loads_with_v2m),
		cmocka_unit_test(test_iommu_map_not_whole_entries),
		cmocka_unit_test(test_map_phandle_of_wrong_kind),
		cmocka_unit_test(test_map_range_overflow),
		cmocka_unit_test(test_bad_bus_range_and_small_ecam),
		cmocka_unit_test(test_map_mask_is_read),
		cmocka_unit_test(test_smmu_and_its_reg_checks),
		cmocka_unit_test(test_corrupt_and_truncated_blobs),
		cmocka_unit_test(test_parse_fails_cleanly_without_memory),
		cmocka_unit_test(test_fail_nth_leaves_nothing),
		cmocka_unit_test(test_builtin_machines_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
