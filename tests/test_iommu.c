// SPDX-License-Identifier: MIT
/*
 * Tests of the IOMMU core through its public API, on the uio-testiommu
 * driver and model (real in-RAM tables, a modelled IOTLB) and MMIO
 * doorbells in an emulated physical address space: groups, domains,
 * reserved regions, the DMA API, MSI doorbell binding, isolation, exposure
 * reports, faults, fail-Nth sweeps and concurrent MSI setup.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/iommu-driver.h>
#include <uiommu/physmem.h>

#include "testiommu.h"

#define RAM_BASE   UINT64_C(0x40000000)
#define RAM_SIZE   UINT64_C(0x2000000)	/* pool: first 16 MiB */
#define POOL_SIZE  UINT64_C(0x1000000)
#define BUF_PA     (RAM_BASE + POOL_SIZE)

/* QEMU virt: ITS at 0x08080000, its translation page at +0x10000. */
#define ITS_TRANSLATER_PAGE UINT64_C(0x08090000)
#define ITS_DOORBELL        (ITS_TRANSLATER_PAGE + 0x40)
/* GICv2m frames at 0x08020000 (QEMU virt) and a neighbour. */
#define V2M_FRAME0   UINT64_C(0x08020000)
#define V2M_FRAME1   UINT64_C(0x08021000)
#define V2M_DOORBELL (V2M_FRAME0 + 0x40)
#define CTRL_MMIO    UINT64_C(0x08028000)

struct doorbell_log {
	unsigned int writes;
	uint64_t last_val;
	uint32_t last_source;
	uint64_t last_offset;
};

struct world {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	struct uio_testiommu *ti;
	struct uiommu_iommu *iommu;
	struct uiommu_msi_ctrl *its, *v2m;
	struct doorbell_log its_log, v2m_log, ctrl_log;
};

static int mmio_read(void *opaque, uint64_t offset, unsigned int size,
		     uint64_t *val, const struct uiommu_memattrs *attrs)
{
	(void)opaque; (void)offset; (void)size; (void)attrs;
	*val = 0;
	return 0;
}

static int mmio_write(void *opaque, uint64_t offset, unsigned int size,
		      uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct doorbell_log *l = opaque;

	(void)size;
	l->writes++;
	l->last_val = val;
	l->last_offset = offset;
	l->last_source = attrs && (attrs->flags & UIOMMU_MEMATTR_SOURCE_VALID) ?
			 attrs->source_id : UINT32_MAX;
	return 0;
}

static const struct uiommu_mmio_ops mmio_ops = {
	.read = mmio_read, .write = mmio_write,
};

static const struct uiommu_reg_desc its_regs[] = {
	{ "GITS_TRANSLATER", 0x40, 4 },
};

static const struct uiommu_reg_desc v2m_regs[] = {
	{ "MSI_TYPER", 0x8, 4 },
	{ "MSI_SETSPI_NS", 0x40, 4 },
	{ "MSI_IIDR", 0xfcc, 4 },
};

static const struct uiommu_reg_desc ctrl_regs[] = {
	{ "CTRL_RESET", 0x0, 4 },
};

struct world_cfg {
	unsigned int granule_shift;
	bool intr_remap, hw_msi, pci_groups;
	enum uiommu_domain_type default_domain;
};

static void world_init(struct world *w, const struct world_cfg *c)
{
	struct uiommu_mmio_desc its = {
		.name = "its0.translater", .owner = "gicv3-its@8080000",
		.size = 0x10000, .ops = &mmio_ops, .opaque = &w->its_log,
		.regs = its_regs, .nregs = 1, .doorbell = true,
	};
	struct uiommu_mmio_desc v2m0 = {
		.name = "v2m0", .owner = "gicv2m@8020000", .size = 0x1000,
		.ops = &mmio_ops, .opaque = &w->v2m_log, .regs = v2m_regs,
		.nregs = 3, .doorbell = true,
	};
	struct uiommu_mmio_desc v2m1 = v2m0;
	struct uiommu_mmio_desc ctrl = {
		.name = "ctrl", .owner = "test-ctrl@8028000", .size = 0x1000,
		.ops = &mmio_ops, .opaque = &w->ctrl_log, .regs = ctrl_regs,
		.nregs = 1,
	};
	struct uiommu_msi_ctrl_desc itsd = {
		.name = "its0", .doorbell_pa = ITS_DOORBELL, .isolating = true,
	};
	struct uiommu_msi_ctrl_desc v2md = {
		.name = "v2m0", .doorbell_pa = V2M_DOORBELL, .isolating = false,
	};
	struct uio_testiommu_cfg tc = {
		.granule_shift = c && c->granule_shift ? c->granule_shift : 12,
		.intr_remap = c && c->intr_remap,
		.hw_msi = c && c->hw_msi,
		.pci_groups = c && c->pci_groups,
		.default_domain = c ? c->default_domain : 0,
	};

	memset(w, 0, sizeof(*w));
	its.opaque = &w->its_log;
	v2m0.opaque = &w->v2m_log;
	v2m1.opaque = &w->v2m_log;
	v2m1.name = "v2m1";
	v2m1.owner = "gicv2m@8021000";
	ctrl.opaque = &w->ctrl_log;
	assert_int_equal(uiommu_physmem_create(48, &w->pm), 0);
	assert_int_equal(uiommu_physmem_add_ram(w->pm, "ram", RAM_BASE,
						RAM_SIZE, NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_add_mmio(w->pm, ITS_TRANSLATER_PAGE,
						 &its), 0);
	assert_int_equal(uiommu_physmem_add_mmio(w->pm, V2M_FRAME0, &v2m0), 0);
	assert_int_equal(uiommu_physmem_add_mmio(w->pm, V2M_FRAME1, &v2m1), 0);
	assert_int_equal(uiommu_physmem_add_mmio(w->pm, CTRL_MMIO, &ctrl), 0);
	assert_int_equal(uiommu_phys_pool_create(w->pm, RAM_BASE, POOL_SIZE,
						 &w->pool), 0);
	tc.pm = w->pm;
	tc.pool = w->pool;
	assert_int_equal(uio_testiommu_create(&tc, &w->ti), 0);
	w->iommu = uio_testiommu_iommu(w->ti);
	assert_int_equal(uiommu_msi_ctrl_register(&itsd, &w->its), 0);
	assert_int_equal(uiommu_msi_ctrl_register(&v2md, &w->v2m), 0);
}

static void world_fini(struct world *w)
{
	assert_int_equal(uio_testiommu_destroy(w->ti), 0);
	assert_int_equal(uiommu_msi_ctrl_unregister(w->its), 0);
	assert_int_equal(uiommu_msi_ctrl_unregister(w->v2m), 0);
	uiommu_phys_pool_destroy(w->pool);
	uiommu_physmem_destroy(w->pm);
}

static struct uiommu_device *make_dev(struct world *w, const char *name,
				      uint32_t sid,
				      struct uiommu_msi_ctrl *ctrl,
				      const struct uiommu_resv_region *resv,
				      size_t nresv)
{
	struct uiommu_msi_ctrl *ctrls[1] = { ctrl };
	struct uiommu_device_desc d = {
		.name = name, .ids = &sid, .nids = 1,
		.msi_ctrls = ctrls, .nmsi_ctrls = ctrl ? 1 : 0,
		.resv = resv, .nresv = nresv,
	};
	struct uiommu_device *dev;

	assert_int_equal(uiommu_device_create(w->iommu, &d, &dev), 0);
	return dev;
}

static struct uiommu_device *make_pci_dev(struct world *w, const char *name,
					  uint16_t rid, bool acs)
{
	uint32_t sid = rid;
	struct uiommu_msi_ctrl *ctrls[1] = { w->its };
	struct uiommu_device_desc d = {
		.name = name, .ids = &sid, .nids = 1, .pci = true,
		.pci_rid = rid, .pci_acs = acs,
		.msi_ctrls = ctrls, .nmsi_ctrls = 1,
	};
	struct uiommu_device *dev;

	assert_int_equal(uiommu_device_create(w->iommu, &d, &dev), 0);
	return dev;
}

static void destroy_dev(struct uiommu_device *dev)
{
	assert_int_equal(uiommu_device_destroy(dev), 0);
}

static struct uiommu_domain *unmanaged(struct uiommu_device *dev)
{
	struct uiommu_domain *dom;

	assert_int_equal(uiommu_domain_alloc(dev, UIOMMU_DOMAIN_UNMANAGED,
					     &dom), 0);
	return dom;
}

static uint64_t mapped_bytes(struct uiommu_domain *dom)
{
	struct uiommu_domain_info info;

	uiommu_domain_get_info(dom, &info);
	return info.mapped_bytes;
}

/* Return @dev's group to its default domain and free @dom. */
static void detach_free(struct uiommu_device *dev, struct uiommu_domain *dom)
{
	assert_int_equal(uiommu_group_detach(uiommu_device_group(dev)), 0);
	assert_int_equal(uiommu_domain_free(dom), 0);
}

static uint64_t compose(struct uiommu_msi_vector *v, uint64_t pa)
{
	struct uiommu_msi_msg msg = { .address = pa, .data = 7 };

	assert_int_equal(uiommu_msi_compose(v, &msg), 0);
	return msg.address;
}

/* ---------------------------------------------------- reserved regions */

static void test_resv_sysfs_golden(void **state)
{
	static const struct uiommu_resv_region plat[] = {
		{ 0x3e000000, 0x3e0fffff, UIOMMU_PROT_READ | UIOMMU_PROT_WRITE,
		  UIOMMU_RESV_DIRECT, 0 },
		{ 0x3f000000, 0x3f3fffff, UIOMMU_PROT_READ,
		  UIOMMU_RESV_DIRECT_RELAXABLE, 0 },
		{ 0x10000000, 0x3dffffff, 0, UIOMMU_RESV_RESERVED,
		  UIOMMU_RESV_F_DMA_ONLY },
		{ 0x80000000, 0x80ffffff, 0, UIOMMU_RESV_RESERVED, 0 },
		/* abuts the one above: merged */
		{ 0x81000000, 0x81ffffff, 0, UIOMMU_RESV_RESERVED, 0 },
	};
	static const struct uiommu_resv_region plat2[] = {
		/* overlaps: merged with the device above in the group */
		{ 0x81800000, 0x82ffffff, 0, UIOMMU_RESV_RESERVED, 0 },
	};
	struct world_cfg c = { .pci_groups = true };
	struct uiommu_device *a, *b;
	struct uiommu_msi_ctrl *ctrls[1];
	struct uiommu_device_desc d;
	uint32_t sid_a = 0x08, sid_b = 0x09;
	struct world w;
	char buf[1024];
	size_t need, full;

	(void)state;
	world_init(&w, &c);
	ctrls[0] = w.its;
	d = (struct uiommu_device_desc){
		.name = "0000:00:01.0", .ids = &sid_a, .nids = 1, .pci = true,
		.pci_rid = 0x08, .msi_ctrls = ctrls, .nmsi_ctrls = 1,
		.resv = plat, .nresv = 5,
	};
	assert_int_equal(uiommu_device_create(w.iommu, &d, &a), 0);
	d.name = "0000:00:01.1";
	d.ids = &sid_b;
	d.pci_rid = 0x09;
	d.resv = plat2;
	d.nresv = 1;
	assert_int_equal(uiommu_device_create(w.iommu, &d, &b), 0);
	assert_ptr_equal(uiommu_device_group(a), uiommu_device_group(b));

	assert_int_equal(uiommu_group_resv_print(uiommu_device_group(a), 0, buf,
						 sizeof(buf), &need), 0);
	assert_string_equal(buf,
		"0x0000000008000000 0x00000000080fffff msi\n"
		"0x000000003e000000 0x000000003e0fffff direct\n"
		"0x000000003f000000 0x000000003f3fffff direct-relaxable\n"
		"0x0000000080000000 0x0000000082ffffff reserved\n");
	assert_int_equal(need, strlen(buf));
	full = need;
	assert_int_equal(uiommu_group_resv_print(uiommu_device_group(a),
						 UIOMMU_RESV_PRINT_EXTENDED,
						 buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf,
		"0x0000000008000000 0x00000000080fffff sw-msi prot=write,noexec,mmio\n"
		"0x0000000010000000 0x000000003dffffff reserved prot=none dma-only\n"
		"0x000000003e000000 0x000000003e0fffff direct prot=read,write\n"
		"0x000000003f000000 0x000000003f3fffff direct-relaxable prot=read\n"
		"0x0000000080000000 0x0000000082ffffff reserved prot=none\n");
	/* Truncation reports the full length. */
	assert_int_equal(uiommu_group_resv_print(uiommu_device_group(a), 0, buf,
						 10, &need), 0);
	assert_int_equal(strlen(buf), 9);
	assert_int_equal(need, full);
	assert_int_equal(uiommu_group_resv_print(uiommu_device_group(a), 8, buf,
						 sizeof(buf), NULL), -EINVAL);
	assert_int_equal(uiommu_group_check(uiommu_device_group(a)), 0);
	destroy_dev(a);
	/* The group's list now comes from b alone. */
	assert_int_equal(uiommu_group_resv_print(uiommu_device_group(b), 0, buf,
						 sizeof(buf), NULL), 0);
	assert_string_equal(buf,
		"0x0000000008000000 0x00000000080fffff msi\n"
		"0x0000000081800000 0x0000000082ffffff reserved\n");
	destroy_dev(b);
	world_fini(&w);
}

static void test_hw_msi_region_no_binding(void **state)
{
	struct world_cfg c = { .hw_msi = true };
	struct uiommu_msi_window_info wi;
	struct uiommu_msi_vector *v;
	struct uiommu_domain *dom;
	struct uiommu_device *dev;
	struct world w;
	char buf[256];

	(void)state;
	world_init(&w, &c);
	dev = make_dev(&w, "nic", 3, w.its, NULL, 0);
	assert_int_equal(uiommu_group_resv_print(uiommu_device_group(dev), 0,
						 buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "0x00000000fee00000 0x00000000feefffff msi\n");
	dom = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	assert_int_equal(uiommu_msi_prepare(dev, 0xfee00000, NULL, NULL, &v),
			 0);
	assert_int_equal(compose(v, 0xfee00000), 0xfee00000);
	uiommu_domain_get_msi_window(dom, &wi);
	assert_true(wi.hw_msi);
	assert_false(wi.present);
	assert_int_equal(wi.pages_used, 0);
	/* The hardware window is not mappable either. */
	assert_int_equal(uiommu_map(dom, 0xfee00000, BUF_PA, 0x1000,
				    UIOMMU_PROT_WRITE), -EINVAL);
	uiommu_msi_release(v);
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);
}

/* ------------------------------------------------- groups and mappings */

struct fault_rec {
	unsigned int n;
	struct uiommu_fault last;
};

static int record_fault(void *opaque, struct uiommu_domain *dom,
			const struct uiommu_fault *f)
{
	struct fault_rec *r = opaque;

	(void)dom;
	r->n++;
	r->last = *f;
	return 0;
}

static void test_group_devices_follow_domain(void **state)
{
	struct world_cfg c = { .pci_groups = true };
	struct uiommu_device *f0, *f1, *other, *al2 = NULL;
	struct uiommu_domain *dom;
	struct fault_rec fr = { 0 };
	struct world w;
	uint64_t pa;
	uint32_t val = 0x1234;

	(void)state;
	world_init(&w, &c);
	f0 = make_pci_dev(&w, "0000:00:02.0", 0x10, false);
	f1 = make_pci_dev(&w, "0000:00:02.1", 0x11, false);
	other = make_pci_dev(&w, "0000:00:03.0", 0x18, true);
	{
		/* A bridge-like alias of 0x18: same group as 0000:00:03.0. */
		uint32_t sid = 0x20;
		uint16_t alias = 0x18;
		struct uiommu_device_desc d = {
			.name = "0000:00:04.0", .ids = &sid, .nids = 1,
			.pci = true, .pci_rid = 0x20, .pci_acs = true,
			.pci_aliases = &alias, .npci_aliases = 1,
		};
		struct uiommu_device *al;

		assert_int_equal(uiommu_device_create(w.iommu, &d, &al), 0);
		assert_ptr_equal(uiommu_device_group(al),
				 uiommu_device_group(other));
		/* Its ID is taken now. */
		d.name = "dup";
		d.npci_aliases = 0;
		assert_int_equal(uiommu_device_create(w.iommu, &d, &al2), -EEXIST);
		destroy_dev(al);
	}
	assert_ptr_equal(uiommu_device_group(f0), uiommu_device_group(f1));
	assert_ptr_not_equal(uiommu_device_group(f0),
			     uiommu_device_group(other));
	assert_int_not_equal(uiommu_group_id(uiommu_device_group(f0)),
			     uiommu_group_id(uiommu_device_group(other)));
	dom = unmanaged(f0);
	uiommu_domain_set_fault_handler(dom, record_fault, &fr);
	assert_int_equal(uiommu_map(dom, 0x100000, BUF_PA, 0x2000,
				    UIOMMU_PROT_READ | UIOMMU_PROT_WRITE), 0);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(f0), dom), 0);
	assert_ptr_equal(uiommu_group_domain(uiommu_device_group(f1)), dom);
	/* Both functions translate through the domain, the other does not. */
	assert_int_equal(uio_testiommu_translate(w.ti, 0x10, 0x101234,
						 UIO_TESTIOMMU_READ, &pa), 0);
	assert_int_equal(pa, BUF_PA + 0x1234);
	assert_int_equal(uio_testiommu_translate(w.ti, 0x11, 0x100000,
						 UIO_TESTIOMMU_WRITE, &pa), 0);
	assert_int_equal(uio_testiommu_dma_write(w.ti, 0x11, 0x100010, &val, 4),
			 0);
	assert_int_equal(uio_testiommu_translate(w.ti, 0x18, 0x100000,
						 UIO_TESTIOMMU_READ, &pa),
			 -EFAULT);
	/* A fault in the owner's domain reaches its handler. */
	assert_int_equal(uio_testiommu_translate(w.ti, 0x10, 0x300000,
						 UIO_TESTIOMMU_WRITE, &pa),
			 -EFAULT);
	assert_int_equal(fr.n, 1);
	assert_int_equal(fr.last.iova, 0x300000);
	assert_int_equal(fr.last.reason, UIOMMU_FAULT_UNMAPPED);
	assert_int_equal(fr.last.source_id, 0x10);
	assert_ptr_equal(fr.last.dev, f0);
	assert_int_equal(uiommu_domain_free(dom), -EBUSY);
	assert_int_equal(uiommu_group_detach(uiommu_device_group(f1)), 0);
	assert_ptr_equal(uiommu_group_domain(uiommu_device_group(f0)),
			 uiommu_group_default_domain(uiommu_device_group(f0)));
	assert_int_equal(uiommu_domain_free(dom), 0);
	destroy_dev(f0);
	destroy_dev(f1);
	destroy_dev(other);
	world_fini(&w);
}

static void test_map_unmap_and_reserved(void **state)
{
	struct uiommu_domain_info info;
	struct uio_testiommu_stats st0, st1;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t pa, n;

	(void)state;
	world_init(&w, NULL);
	dev = make_dev(&w, "dev0", 1, w.its, NULL, 0);
	dom = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	uiommu_domain_get_info(dom, &info);
	assert_int_equal(info.type, UIOMMU_DOMAIN_UNMANAGED);
	assert_int_equal(info.pgsize_bitmap, 0x1000);
	/* The test IOMMU's tables are its own format, not the pgtable library's */
	assert_null(uiommu_domain_pgtable(dom));
	assert_int_equal(info.aperture_last, (UINT64_C(1) << 39) - 1);

	assert_int_equal(uiommu_map(dom, 0x200000, BUF_PA, 0x3000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(uiommu_iova_to_phys(dom, 0x202abc, &pa), 0);
	assert_int_equal(pa, BUF_PA + 0x2abc);
	assert_int_equal(uiommu_map(dom, 0x202000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), -EEXIST);
	assert_int_equal(uiommu_map(dom, 0x200800, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), -EINVAL);
	assert_int_equal(uiommu_map(dom, 0x300000, BUF_PA, 0x1000, 0), -EINVAL);
	assert_int_equal(uiommu_map(dom, UINT64_C(1) << 39, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), -ERANGE);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_map(dom, 0x80ff000, BUF_PA, 0x2000,
				    UIOMMU_PROT_READ), -EINVAL);
	assert_non_null(strstr(tu_log_text(),
			       "inside sw-msi region [0x8000000, 0x80fffff]"));
	tu_log_release();
	/* Read-only mapping: a device write is a permission fault. */
	assert_int_equal(uio_testiommu_translate(w.ti, 1, 0x200000,
						 UIO_TESTIOMMU_WRITE, &pa),
			 -EFAULT);
	assert_int_equal(uio_testiommu_translate(w.ti, 1, 0x200000,
						 UIO_TESTIOMMU_READ, &pa), 0);
	/* Punch a hole: the IOTLB entry for it is invalidated. */
	uio_testiommu_get_stats(w.ti, &st0);
	assert_int_equal(uiommu_unmap(dom, 0x200000, 0x1000, &n), 0);
	assert_int_equal(n, 0x1000);
	uio_testiommu_get_stats(w.ti, &st1);
	assert_int_equal(st1.syncs, st0.syncs + 1);
	assert_int_equal(st1.last_inv_start, 0x200000);
	assert_int_equal(st1.last_inv_last, 0x200fff);
	assert_int_equal(uio_testiommu_translate(w.ti, 1, 0x200000,
						 UIO_TESTIOMMU_READ, &pa),
			 -EFAULT);
	assert_int_equal(uiommu_iova_to_phys(dom, 0x200000, &pa), -ENOENT);
	assert_int_equal(uiommu_unmap(dom, 0x100000, 0x200000, &n), 0);
	assert_int_equal(n, 0x2000);
	uiommu_domain_get_info(dom, &info);
	assert_int_equal(info.mapped_bytes, 0);
	assert_int_equal(uiommu_domain_check(dom), 0);
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);
}

/*
 * Random map/unmap against a reference model (one entry per page), over a
 * range that straddles the sw-msi window; replay with UIOMMU_TEST_SEED.
 */
#define RND_BASE  UINT64_C(0x7f00000)
#define RND_PAGES 768

static void test_random_map_unmap_vs_model(void **state)
{
	static uint64_t model[RND_PAGES];	/* PA + 1, 0 = unmapped */
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t seed = tu_seed_from_env(0x1e55);
	uint64_t total = 0, pa, n;
	int i, p;

	(void)state;
	printf("# seed %llu\n", (unsigned long long)seed);
	tu_rand_seed(seed);
	memset(model, 0, sizeof(model));
	world_init(&w, NULL);
	dev = make_dev(&w, "dev0", 1, w.its, NULL, 0);
	dom = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	for (i = 0; i < 3000; i++) {
		int first = (int)tu_rand_range(0, RND_PAGES - 1);
		int count = (int)tu_rand_range(1, 16);
		uint64_t iova = RND_BASE + (uint64_t)first * 0x1000;
		uint64_t mpa = BUF_PA + tu_rand_range(0, 255) * 0x1000;
		bool resv = false, busy = false;
		int err;

		if (first + count > RND_PAGES)
			count = RND_PAGES - first;
		for (p = first; p < first + count; p++) {
			uint64_t a = RND_BASE + (uint64_t)p * 0x1000;

			resv |= a >= 0x8000000 && a <= 0x80fffff;
			busy |= model[p] != 0;
		}
		if (tu_rand() & 1) {
			err = uiommu_map(dom, iova, mpa, (uint64_t)count * 0x1000,
					 UIOMMU_PROT_READ);
			assert_int_equal(err, resv ? -EINVAL :
					 busy ? -EEXIST : 0);
			for (p = first; !err && p < first + count; p++) {
				model[p] = mpa + (uint64_t)(p - first) * 0x1000 + 1;
				total += 0x1000;
			}
		} else {
			uint64_t expect = 0;

			for (p = first; p < first + count; p++) {
				expect += model[p] ? 0x1000 : 0;
				model[p] = 0;
			}
			assert_int_equal(uiommu_unmap(dom, iova,
						      (uint64_t)count * 0x1000,
						      &n), 0);
			assert_int_equal(n, expect);
			total -= expect;
		}
		if (i % 100)
			continue;
		assert_int_equal(uiommu_domain_check(dom), 0);
		assert_int_equal(mapped_bytes(dom), total);
		for (p = 0; p < RND_PAGES; p++) {
			int err2 = uiommu_iova_to_phys(dom, RND_BASE +
						       (uint64_t)p * 0x1000,
						       &pa);

			assert_int_equal(err2, model[p] ? 0 : -ENOENT);
			if (model[p])
				assert_int_equal(pa, model[p] - 1);
		}
	}
	tu_log_release();
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);
}

static void test_attach_overlapping_mapping_fails(void **state)
{
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t pa;

	(void)state;
	world_init(&w, NULL);
	dev = make_dev(&w, "dev0", 1, w.its, NULL, 0);
	dom = unmanaged(dev);
	/* Not attached yet: the sw-msi range is still free in this domain. */
	assert_int_equal(uiommu_map(dom, 0x8000000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom),
			 -EEXIST);
	assert_ptr_equal(uiommu_group_domain(uiommu_device_group(dev)),
			 uiommu_group_default_domain(uiommu_device_group(dev)));
	assert_int_equal(uiommu_iova_to_phys(dom, 0x8000000, &pa), 0);
	assert_int_equal(uiommu_domain_check(dom), 0);
	/* With an explicit window elsewhere, sw-msi no longer applies. */
	assert_int_equal(uiommu_domain_set_msi_window(dom, 0xf0000000,
						      0x10000), 0);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);
}

/* A driver attach failure part-way through a group changes nothing. */
static void test_attach_driver_failure_rolls_back(void **state)
{
	struct world_cfg c = { .pci_groups = true };
	struct uiommu_device *f0, *f1;
	struct uiommu_domain *dom, *def;
	struct uiommu_msi_vector *v;
	struct world w;
	uint64_t pa, before;

	(void)state;
	world_init(&w, &c);
	f0 = make_pci_dev(&w, "0000:00:02.0", 0x10, false);
	f1 = make_pci_dev(&w, "0000:00:02.1", 0x11, false);
	def = uiommu_group_domain(uiommu_device_group(f0));
	assert_int_equal(uiommu_msi_prepare(f1, ITS_DOORBELL, NULL, NULL, &v),
			 0);
	before = uiommu_msi_vector_iova(v);
	dom = unmanaged(f0);
	uio_testiommu_fail_attach(w.ti, 0x10, -EIO);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(f0), dom),
			 -EIO);
	uio_testiommu_fail_attach(w.ti, 0, 0);
	assert_ptr_equal(uiommu_group_domain(uiommu_device_group(f0)), def);
	assert_int_equal(uiommu_msi_vector_iova(v), before);
	/* f1 (attached first in the walk) went back to the default domain. */
	assert_int_equal(uio_testiommu_translate(w.ti, 0x11, before,
						 UIO_TESTIOMMU_WRITE, &pa), 0);
	assert_int_equal(pa, ITS_DOORBELL);
	assert_int_equal(uiommu_domain_check(dom), 0);
	assert_int_equal(uiommu_domain_check(def), 0);
	assert_int_equal(uiommu_group_check(uiommu_device_group(f0)), 0);
	assert_int_equal(uiommu_domain_free(dom), 0);
	uiommu_msi_release(v);
	destroy_dev(f0);
	destroy_dev(f1);
	world_fini(&w);
}

/* ------------------------------------------------------------------ DMA API */

static void test_dma_api_mask_and_flush_queue(void **state)
{
	struct uio_testiommu_stats st0, st1;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct uiommu_sg sg[3] = {
		{ .pa = BUF_PA + 0x10, .len = 0x100 },
		{ .pa = BUF_PA + 0x5000, .len = 0x2000 },
		{ .pa = BUF_PA + 0x9800, .len = 0x1000 },
	};
	struct world w;
	uint64_t a, b, c2, pa;

	(void)state;
	world_init(&w, NULL);
	dev = make_dev(&w, "dev0", 1, w.its, NULL, 0);
	dom = uiommu_group_domain(uiommu_device_group(dev));
	assert_int_equal(uiommu_device_set_dma_mask(dev, 0xffffffff), 0);
	assert_int_equal(uiommu_device_set_dma_mask(dev, 0x1234), -EINVAL);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA + 0x123, 0x100,
					       UIOMMU_DMA_TO_DEVICE, &a), 0);
	assert_int_equal(a, 0xfffff123);
	assert_int_equal(uiommu_iova_to_phys(dom, a, &pa), 0);
	assert_int_equal(pa, BUF_PA + 0x123);
	/* Read-only for the device. */
	assert_int_equal(uio_testiommu_translate(w.ti, 1, a,
						 UIO_TESTIOMMU_WRITE, &pa),
			 -EFAULT);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA + 0xff0, 0x20,
					       UIOMMU_DMA_FROM_DEVICE, &b), 0);
	assert_int_equal(b, 0xffffdff0);	/* two pages, below the first */
	assert_int_equal(uiommu_dma_map_sg(dev, sg, 3,
					   UIOMMU_DMA_BIDIRECTIONAL), 0);
	assert_int_equal(sg[0].dma_addr, 0xffff8010);
	assert_int_equal(sg[1].dma_addr, 0xffff9000);
	assert_int_equal(sg[2].dma_addr, 0xffffb800);
	assert_int_equal(uiommu_iova_to_phys(dom, sg[2].dma_addr + 0x900, &pa),
			 0);
	assert_int_equal(pa, BUF_PA + 0xa100);
	assert_int_equal(uiommu_dma_unmap_sg(dev, sg, 3,
					     UIOMMU_DMA_BIDIRECTIONAL), 0);
	assert_int_equal(uiommu_dma_unmap_single(dev, b, 0x20,
						 UIOMMU_DMA_FROM_DEVICE), 0);
	assert_int_equal(uiommu_dma_unmap_single(dev, b, 0x20,
						 UIOMMU_DMA_FROM_DEVICE),
			 -ENOENT);
	/* Strict: the IOVA is free at once, top-down gives it back. */
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA, 0x1000,
					       UIOMMU_DMA_TO_DEVICE, &c2), 0);
	assert_int_equal(c2, 0xffffe000);
	assert_int_equal(uiommu_dma_unmap_single(dev, c2, 0x1000,
						 UIOMMU_DMA_TO_DEVICE), 0);

	/* Lazy: no invalidation on unmap, IOVA held until the flush. */
	assert_int_equal(uiommu_domain_set_flush_mode(dom, UIOMMU_FLUSH_LAZY),
			 0);
	uio_testiommu_get_stats(w.ti, &st0);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA, 0x1000,
					       UIOMMU_DMA_TO_DEVICE, &c2), 0);
	assert_int_equal(c2, 0xffffe000);
	assert_int_equal(uiommu_dma_unmap_single(dev, c2, 0x1000,
						 UIOMMU_DMA_TO_DEVICE), 0);
	uio_testiommu_get_stats(w.ti, &st1);
	assert_int_equal(st1.syncs, st0.syncs);
	assert_int_equal(st1.flush_alls, st0.flush_alls);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA, 0x1000,
					       UIOMMU_DMA_TO_DEVICE, &c2), 0);
	assert_int_equal(c2, 0xffffd000);	/* 0xffffe000 still queued */
	assert_int_equal(uiommu_dma_unmap_single(dev, c2, 0x1000,
						 UIOMMU_DMA_TO_DEVICE), 0);
	uiommu_domain_flush_queue(dom);
	uio_testiommu_get_stats(w.ti, &st1);
	assert_int_equal(st1.flush_alls, st0.flush_alls + 1);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA, 0x1000,
					       UIOMMU_DMA_TO_DEVICE, &c2), 0);
	assert_int_equal(c2, 0xffffe000);
	assert_int_equal(uiommu_dma_unmap_single(dev, c2, 0x1000,
						 UIOMMU_DMA_TO_DEVICE), 0);
	assert_int_equal(uiommu_domain_set_flush_mode(dom, UIOMMU_FLUSH_STRICT),
			 0);
	assert_int_equal(uiommu_dma_unmap_single(dev, a, 0x100,
						 UIOMMU_DMA_TO_DEVICE), 0);
	/* An unmanaged domain's device does not use the DMA API. */
	{
		struct uiommu_domain *u = unmanaged(dev);

		assert_int_equal(uiommu_group_attach(uiommu_device_group(dev),
						     u), 0);
		assert_int_equal(uiommu_dma_map_single(dev, BUF_PA, 0x10,
						       UIOMMU_DMA_TO_DEVICE,
						       &a), -EBUSY);
		assert_int_equal(uiommu_group_detach(uiommu_device_group(dev)),
				 0);
		assert_int_equal(uiommu_domain_free(u), 0);
	}
	assert_int_equal(uiommu_domain_check(dom), 0);
	destroy_dev(dev);
	world_fini(&w);
}

static void test_dma_direct_regions_and_identity(void **state)
{
	static const struct uiommu_resv_region plat[] = {
		{ 0x3e000000, 0x3e001fff, UIOMMU_PROT_READ | UIOMMU_PROT_WRITE,
		  UIOMMU_RESV_DIRECT, 0 },
		{ 0xffff0000, 0xffffffff, 0, UIOMMU_RESV_RESERVED,
		  UIOMMU_RESV_F_DMA_ONLY },
	};
	struct world_cfg idc = { .default_domain = UIOMMU_DOMAIN_IDENTITY };
	struct uiommu_device *dev, *nodev;
	struct uiommu_device_desc nd = { .name = "no-iommu" };
	struct uiommu_domain *dom, *u;
	struct world w;
	uint64_t pa, a;

	(void)state;
	world_init(&w, NULL);
	dev = make_dev(&w, "dev0", 1, w.its, plat, 2);
	dom = uiommu_group_domain(uiommu_device_group(dev));
	assert_int_equal(uiommu_iova_to_phys(dom, 0x3e001004, &pa), 0);
	assert_int_equal(pa, 0x3e001004);
	assert_int_equal(uiommu_device_set_dma_mask(dev, 0xffffffff), 0);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA, 0x1000,
					       UIOMMU_DMA_TO_DEVICE, &a), 0);
	assert_int_equal(a, 0xfffef000);	/* below the host-bridge window */
	assert_int_equal(uiommu_dma_unmap_single(dev, a, 0x1000,
						 UIOMMU_DMA_TO_DEVICE), 0);
	/* In an unmanaged domain the DMA-only window is mappable, the direct
	 * region is not. */
	u = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), u), 0);
	assert_int_equal(uiommu_map(u, 0xffff0000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(uiommu_map(u, 0x3e000000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), -EINVAL);
	detach_free(dev, u);
	/* Back in the DMA domain the direct mapping is still there. */
	assert_int_equal(uiommu_iova_to_phys(dom, 0x3e000000, &pa), 0);
	destroy_dev(dev);
	world_fini(&w);

	/* Identity default domain and a device without IOMMU. */
	world_init(&w, &idc);
	dev = make_dev(&w, "dev0", 1, w.its, NULL, 0);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA + 4, 0x10,
					       UIOMMU_DMA_TO_DEVICE, &a), 0);
	assert_int_equal(a, BUF_PA + 4);
	assert_int_equal(uiommu_device_set_dma_mask(dev, 0xfffffff), 0);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_PA, 0x10,
					       UIOMMU_DMA_TO_DEVICE, &a),
			 -ERANGE);
	assert_int_equal(uio_testiommu_translate(w.ti, 1, BUF_PA,
						 UIO_TESTIOMMU_READ, &pa), 0);
	assert_int_equal(pa, BUF_PA);
	assert_int_equal(uiommu_device_create(NULL, &nd, &nodev), 0);
	assert_null(uiommu_device_group(nodev));
	assert_int_equal(uiommu_dma_map_single(nodev, BUF_PA, 0x10,
					       UIOMMU_DMA_TO_DEVICE, &a), 0);
	assert_int_equal(a, BUF_PA);
	destroy_dev(nodev);
	destroy_dev(dev);
	world_fini(&w);
}

/* ----------------------------------------------------------------- MSIs */

static void test_msi_its_unmanaged_default_window(void **state)
{
	struct uiommu_msi_window_info wi;
	struct uiommu_msi_vector *v;
	struct uiommu_domain *dom;
	struct uiommu_device *dev;
	struct uiommu_msi_msg msg = { .address = ITS_DOORBELL + 0x1000 };
	struct world w;
	uint32_t event = 5;

	(void)state;
	world_init(&w, NULL);
	dev = make_dev(&w, "0000:00:01.0", 8, w.its, NULL, 0);
	dom = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	assert_int_equal(uiommu_msi_prepare(dev, ITS_DOORBELL, NULL, NULL, &v),
			 0);
	assert_int_equal(compose(v, ITS_DOORBELL), 0x8000040);
	assert_int_equal(uiommu_msi_compose(v, &msg), -EINVAL);
	assert_int_equal(msg.address, ITS_DOORBELL + 0x1000);
	uiommu_domain_get_msi_window(dom, &wi);
	assert_true(wi.present);
	assert_false(wi.explicit_window);
	assert_int_equal(wi.start, 0x8000000);
	assert_int_equal(wi.last, 0x80fffff);
	assert_int_equal(wi.pages_used, 1);
	assert_int_equal(wi.vectors, 1);
	/* The device's MSI write goes through the SMMU-like translation to
	 * GITS_TRANSLATER, carrying its source ID. */
	assert_int_equal(uio_testiommu_dma_write(w.ti, 8, 0x8000040, &event, 4),
			 0);
	assert_int_equal(w.its_log.writes, 1);
	assert_int_equal(w.its_log.last_offset, 0x40);
	assert_int_equal(w.its_log.last_val, 5);
	assert_int_equal(w.its_log.last_source, 8);
	assert_int_equal(uiommu_device_destroy(dev), -EBUSY);
	uiommu_msi_release(v);
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);
}

static void test_msi_refcount_to_zero_unmaps_and_invalidates(void **state)
{
	struct uio_testiommu_stats st0, st1;
	struct uiommu_msi_window_info wi;
	struct uiommu_msi_vector *v[3];
	struct uiommu_domain *dom;
	struct uiommu_device *d0, *d1;
	struct fault_rec fr = { 0 };
	struct world w;
	uint32_t event = 1;
	uint64_t pa;
	int i;

	(void)state;
	world_init(&w, NULL);
	d0 = make_dev(&w, "d0", 1, w.its, NULL, 0);
	d1 = make_dev(&w, "d1", 2, w.its, NULL, 0);
	dom = unmanaged(d0);
	uiommu_domain_set_fault_handler(dom, record_fault, &fr);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(d0), dom), 0);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(d1), dom), 0);
	assert_int_equal(uiommu_msi_prepare(d0, ITS_DOORBELL, NULL, NULL,
					    &v[0]), 0);
	assert_int_equal(uiommu_msi_prepare(d0, ITS_DOORBELL, NULL, NULL,
					    &v[1]), 0);
	assert_int_equal(uiommu_msi_prepare(d1, ITS_DOORBELL, NULL, NULL,
					    &v[2]), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(compose(v[i], ITS_DOORBELL), 0x8000040);
	uiommu_domain_get_msi_window(dom, &wi);
	assert_int_equal(wi.pages_used, 1);
	assert_int_equal(wi.vectors, 3);
	/* Prime the model's IOTLB with the doorbell translation. */
	assert_int_equal(uio_testiommu_dma_write(w.ti, 2, 0x8000040, &event, 4),
			 0);
	uiommu_msi_release(v[0]);
	uiommu_msi_release(v[2]);
	assert_int_equal(uiommu_iova_to_phys(dom, 0x8000040, &pa), 0);
	assert_int_equal(pa, ITS_DOORBELL);
	uio_testiommu_get_stats(w.ti, &st0);
	uiommu_msi_release(v[1]);
	uio_testiommu_get_stats(w.ti, &st1);
	assert_int_equal(st1.syncs, st0.syncs + 1);
	assert_int_equal(st1.last_inv_start, 0x8000000);
	assert_int_equal(st1.last_inv_last, 0x8000fff);
	assert_int_equal(uiommu_iova_to_phys(dom, 0x8000040, &pa), -ENOENT);
	/* No stale IOTLB entry: the write now faults to the owner. */
	assert_int_equal(uio_testiommu_dma_write(w.ti, 2, 0x8000040, &event, 4),
			 -EFAULT);
	assert_int_equal(fr.n, 1);
	assert_int_equal(fr.last.iova, 0x8000040);
	uiommu_domain_get_msi_window(dom, &wi);
	assert_int_equal(wi.pages_used, 0);
	assert_int_equal(uiommu_domain_check(dom), 0);
	assert_int_equal(uiommu_group_detach(uiommu_device_group(d0)), 0);
	detach_free(d1, dom);
	destroy_dev(d0);
	destroy_dev(d1);
	world_fini(&w);
}

static void test_msi_window_exhaustion_and_explicit_window(void **state)
{
	struct uiommu_msi_window_info wi;
	struct uiommu_msi_vector *v[3], *x;
	struct uiommu_resv_region rr[4];
	struct uiommu_domain *dom;
	struct uiommu_device *dev;
	struct world w;
	size_t n;

	(void)state;
	world_init(&w, NULL);
	dev = make_dev(&w, "dev0", 1, w.its, NULL, 0);
	dom = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	assert_int_equal(uiommu_map(dom, 0x10000000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), 0);
	/* Overlapping a mapping, outside the aperture, misaligned. */
	assert_int_equal(uiommu_domain_set_msi_window(dom, 0x0ffff000, 0x2000),
			 -EEXIST);
	assert_int_equal(uiommu_domain_set_msi_window(dom, UINT64_C(1) << 39,
						      0x2000), -ERANGE);
	assert_int_equal(uiommu_domain_set_msi_window(dom, 0x20000800, 0x2000),
			 -EINVAL);
	/* A two-page window: the third doorbell page does not fit. */
	assert_int_equal(uiommu_domain_set_msi_window(dom, 0x20000000, 0x2000),
			 0);
	assert_int_equal(uiommu_msi_prepare(dev, ITS_DOORBELL, NULL, NULL,
					    &v[0]), 0);
	assert_int_equal(compose(v[0], ITS_DOORBELL), 0x20000040);
	assert_int_equal(uiommu_msi_prepare(dev, V2M_DOORBELL, NULL, NULL,
					    &v[1]), 0);
	assert_int_equal(compose(v[1], V2M_DOORBELL), 0x20001040);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_msi_prepare(dev, V2M_FRAME1 + 0x40, NULL, NULL,
					    &v[2]), -ENOSPC);
	assert_non_null(strstr(tu_log_text(), "is full"));
	tu_log_release();
	/* Reusing a bound page still works. */
	assert_int_equal(uiommu_msi_prepare(dev, ITS_DOORBELL, NULL, NULL, &x),
			 0);
	uiommu_domain_get_msi_window(dom, &wi);
	assert_true(wi.explicit_window);
	assert_int_equal(wi.pages_used, 2);
	assert_int_equal(wi.vectors, 3);
	assert_int_equal(uiommu_domain_set_msi_window(dom, 0x30000000, 0x2000),
			 -EBUSY);
	/* The old sw-msi range is ordinary IOVA now; the window is not. */
	assert_int_equal(uiommu_map(dom, 0x8000000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(uiommu_map(dom, 0x20001000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), -EINVAL);
	uiommu_domain_resv_regions(dom, rr, 4, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rr[0].start, 0x20000000);
	assert_int_equal(rr[0].type, UIOMMU_RESV_SW_MSI);
	uiommu_msi_release(x);
	uiommu_msi_release(v[0]);
	uiommu_msi_release(v[1]);
	assert_int_equal(uiommu_domain_check(dom), 0);
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);
}

struct rewrite_rec {
	unsigned int calls;
	uint64_t addr;
};

static void rewrite_msg(void *opaque, struct uiommu_msi_vector *vec)
{
	struct rewrite_rec *r = opaque;
	struct uiommu_msi_msg msg = { .address = ITS_DOORBELL };

	r->calls++;
	if (!uiommu_msi_compose(vec, &msg))
		r->addr = msg.address;
}

static void test_domain_switch_with_live_msis(void **state)
{
	struct uiommu_msi_vector *v[2];
	struct rewrite_rec rr[2] = { { 0 } };
	struct uiommu_msi_window_info wi;
	struct uiommu_domain *dma, *u1, *u2;
	struct uiommu_device *dev;
	struct world w;
	uint32_t event = 9;
	uint64_t dma_iova, pa;
	int i;

	(void)state;
	world_init(&w, NULL);
	dev = make_dev(&w, "nic", 4, w.its, NULL, 0);
	dma = uiommu_group_domain(uiommu_device_group(dev));
	assert_int_equal(uiommu_device_set_dma_mask(dev, 0xffffffff), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(uiommu_msi_prepare(dev, ITS_DOORBELL,
						    rewrite_msg, &rr[i], &v[i]),
				 0);
	/* DMA domain: the doorbell page came from the domain's allocator. */
	dma_iova = compose(v[0], ITS_DOORBELL);
	assert_int_equal(dma_iova, 0xfffff040);
	assert_int_equal(uio_testiommu_dma_write(w.ti, 4, dma_iova, &event, 4),
			 0);
	assert_int_equal(w.its_log.writes, 1);

	u1 = unmanaged(dev);
	u2 = unmanaged(dev);
	assert_int_equal(uiommu_domain_set_msi_window(u2, 0x40000000, 0x100000),
			 0);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), u1), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(rr[i].calls, 1);
		assert_int_equal(rr[i].addr, 0x8000040);
	}
	/* The old binding is gone from the DMA domain. */
	assert_int_equal(uiommu_iova_to_phys(dma, dma_iova, &pa), -ENOENT);
	assert_int_equal(uio_testiommu_dma_write(w.ti, 4, 0x8000040, &event, 4),
			 0);
	assert_int_equal(w.its_log.writes, 2);
	/* Unmanaged to unmanaged with another window. */
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), u2), 0);
	assert_int_equal(rr[0].addr, 0x40000040);
	uiommu_domain_get_msi_window(u1, &wi);
	assert_int_equal(wi.pages_used, 0);
	uiommu_domain_get_msi_window(u2, &wi);
	assert_int_equal(wi.pages_used, 1);
	assert_int_equal(wi.vectors, 2);
	assert_int_equal(uio_testiommu_dma_write(w.ti, 4, 0x40000040, &event,
						 4), 0);
	assert_int_equal(w.its_log.writes, 3);
	assert_int_equal(uio_testiommu_dma_write(w.ti, 4, 0x8000040, &event, 4),
			 -EFAULT);
	/* Back to the default domain. */
	assert_int_equal(uiommu_group_detach(uiommu_device_group(dev)), 0);
	assert_int_equal(rr[1].calls, 3);
	assert_int_equal(rr[1].addr, 0xfffff040);
	assert_int_equal(uiommu_group_check(uiommu_device_group(dev)), 0);
	assert_int_equal(uiommu_domain_check(dma), 0);
	assert_int_equal(uiommu_domain_free(u1), 0);
	assert_int_equal(uiommu_domain_free(u2), 0);
	uiommu_msi_release(v[0]);
	uiommu_msi_release(v[1]);
	destroy_dev(dev);
	world_fini(&w);
}

/* DMA domains put doorbells below 4 GiB; a narrower device cannot share. */
static void test_msi_dma_domain_masks(void **state)
{
	struct world_cfg c = { .pci_groups = true };
	struct uiommu_msi_vector *va, *vb;
	struct uiommu_device *a, *b;
	struct world w;

	(void)state;
	world_init(&w, &c);
	a = make_pci_dev(&w, "0000:00:02.0", 0x10, false);
	b = make_pci_dev(&w, "0000:00:02.1", 0x11, false);
	assert_int_equal(uiommu_msi_prepare(a, ITS_DOORBELL, NULL, NULL, &va),
			 0);
	assert_int_equal(compose(va, ITS_DOORBELL), 0xfffff040);
	assert_int_equal(uiommu_device_set_dma_mask(b, 0xffffff), 0);
	assert_int_equal(uiommu_msi_prepare(b, ITS_DOORBELL, NULL, NULL, &vb),
			 -ERANGE);
	assert_int_equal(uiommu_msi_prepare(b, V2M_DOORBELL, NULL, NULL, &vb),
			 0);
	assert_int_equal(compose(vb, V2M_DOORBELL), 0xfff040);
	uiommu_msi_release(va);
	uiommu_msi_release(vb);
	destroy_dev(a);
	destroy_dev(b);
	world_fini(&w);
}

static void test_isolation_verdicts(void **state)
{
	struct world_cfg remap = { .intr_remap = true };
	struct uiommu_device *a, *b, *c;
	struct world w;
	char reason[256];
	bool iso;

	(void)state;
	world_init(&w, NULL);
	a = make_dev(&w, "its-dev", 1, w.its, NULL, 0);
	b = make_dev(&w, "v2m-dev", 2, w.v2m, NULL, 0);
	c = make_dev(&w, "plain", 3, NULL, NULL, 0);
	uiommu_group_msi_isolation(uiommu_device_group(a), &iso, reason,
				   sizeof(reason));
	assert_true(iso);
	assert_string_equal(reason, "every MSI controller used identifies the "
			    "source device: its0");
	uiommu_group_msi_isolation(uiommu_device_group(b), &iso, reason,
				   sizeof(reason));
	assert_false(iso);
	assert_string_equal(reason, "v2m-dev uses MSI controller v2m0, which "
			    "does not identify the source device, and "
			    "testiommu0 does not remap interrupts");
	uiommu_group_msi_isolation(uiommu_device_group(c), &iso, NULL, 0);
	assert_false(iso);
	assert_int_equal(uiommu_msi_ctrl_unregister(w.v2m), -EBUSY);
	destroy_dev(a);
	destroy_dev(b);
	destroy_dev(c);
	world_fini(&w);

	world_init(&w, &remap);
	b = make_dev(&w, "v2m-dev", 2, w.v2m, NULL, 0);
	uiommu_group_msi_isolation(uiommu_device_group(b), &iso, reason,
				   sizeof(reason));
	assert_true(iso);
	assert_string_equal(reason, "IOMMU testiommu0 remaps interrupts");
	destroy_dev(b);
	world_fini(&w);
}

struct expo_count {
	unsigned int entries, unsafe_pages, doorbells;
};

static int count_expo(void *opaque, const struct uiommu_exposure_page *pg,
		      const struct uiommu_exposure_entry *e)
{
	struct expo_count *c = opaque;

	c->entries++;
	c->unsafe_pages += !pg->safe;
	c->doorbells += e->kind == UIOMMU_EXPOSE_DOORBELL;
	return 0;
}

/* Length of "domain N", the only run-dependent part of the report. */
static size_t prefix_len(struct uiommu_domain *dom)
{
	struct uiommu_domain_info info;
	char p[32];

	uiommu_domain_get_info(dom, &info);
	return (size_t)snprintf(p, sizeof(p), "domain %u", info.id);
}

static void test_exposure_report_64k_over_v2m(void **state)
{
	struct world_cfg c64 = { .granule_shift = 16 };
	struct uiommu_msi_vector *v;
	struct uiommu_domain *dom;
	struct uiommu_device *dev;
	struct expo_count cnt = { 0 };
	struct world w;
	char buf[2048];
	size_t need;

	(void)state;
	/* 4 KiB IOMMU pages: only the v2m frame itself is reachable. */
	world_init(&w, NULL);
	dev = make_dev(&w, "dev", 1, w.v2m, NULL, 0);
	dom = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	assert_int_equal(uiommu_msi_prepare(dev, V2M_DOORBELL, NULL, NULL, &v),
			 0);
	uiommu_domain_exposure_print(dom, buf, sizeof(buf), &need);
	assert_string_equal(buf + prefix_len(dom), " doorbell page iova 0x0000000008000000 pa 0x0000000008020000 size 0x1000 vectors 1: safe\n"
		"  iova 0x0000000008000008 pa 0x0000000008020008 size 0x4      doorbell-frame v2m0 MSI_TYPER (gicv2m@8020000)\n"
		"  iova 0x0000000008000040 pa 0x0000000008020040 size 0x4      doorbell       v2m0 MSI_SETSPI_NS (gicv2m@8020000)\n"
		"  iova 0x0000000008000fcc pa 0x0000000008020fcc size 0x4      doorbell-frame v2m0 MSI_IIDR (gicv2m@8020000)\n");
	assert_int_equal(need, strlen(buf));
	uiommu_msi_release(v);
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);

	/* 64 KiB IOMMU pages: the neighbour frame and the control block too. */
	world_init(&w, &c64);
	dev = make_dev(&w, "dev", 1, w.v2m, NULL, 0);
	dom = unmanaged(dev);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	assert_int_equal(uiommu_msi_prepare(dev, V2M_DOORBELL, NULL, NULL, &v),
			 0);
	assert_int_equal(compose(v, V2M_DOORBELL), 0x8000040);
	uiommu_domain_exposure_print(dom, buf, sizeof(buf), NULL);
	assert_string_equal(buf + prefix_len(dom), " doorbell page iova 0x0000000008000000 pa 0x0000000008020000 size 0x10000 vectors 1: UNSAFE\n"
		"  iova 0x0000000008000008 pa 0x0000000008020008 size 0x4      doorbell-frame v2m0 MSI_TYPER (gicv2m@8020000)\n"
		"  iova 0x0000000008000040 pa 0x0000000008020040 size 0x4      doorbell       v2m0 MSI_SETSPI_NS (gicv2m@8020000)\n"
		"  iova 0x0000000008000fcc pa 0x0000000008020fcc size 0x4      doorbell-frame v2m0 MSI_IIDR (gicv2m@8020000)\n"
		"  iova 0x0000000008001008 pa 0x0000000008021008 size 0x4      OTHER-DOORBELL v2m1 MSI_TYPER (gicv2m@8021000)\n"
		"  iova 0x0000000008001040 pa 0x0000000008021040 size 0x4      OTHER-DOORBELL v2m1 MSI_SETSPI_NS (gicv2m@8021000)\n"
		"  iova 0x0000000008001fcc pa 0x0000000008021fcc size 0x4      OTHER-DOORBELL v2m1 MSI_IIDR (gicv2m@8021000)\n"
		"  iova 0x0000000008008000 pa 0x0000000008028000 size 0x4      MMIO           ctrl CTRL_RESET (test-ctrl@8028000)\n");
	assert_int_equal(uiommu_domain_for_each_exposure(dom, count_expo, &cnt),
			 0);
	assert_int_equal(cnt.entries, 7);
	assert_int_equal(cnt.unsafe_pages, 7);
	assert_int_equal(cnt.doorbells, 1);
	/* The reachable neighbour really is reachable. */
	{
		uint32_t spi = 77;

		assert_int_equal(uio_testiommu_dma_write(w.ti, 1, 0x8001040,
							 &spi, 4), 0);
		assert_int_equal(w.v2m_log.last_offset, 0x40);
		assert_int_equal(w.v2m_log.last_val, 77);
	}
	uiommu_msi_release(v);
	detach_free(dev, dom);
	destroy_dev(dev);
	world_fini(&w);
}

/* ------------------------------------------------------- fail-Nth sweeps */

struct sweep {
	struct world w;
	struct uiommu_device *f0, *f1;
	struct uiommu_domain *dom;
	struct uiommu_msi_vector *v[3];
	struct uiommu_msi_vector *nv;
	struct uiommu_device *extra_dev;
	struct uiommu_domain *extra_dom;
	struct uiommu_sg sg[2];
	uint64_t def_mapped;
	uint64_t iova[3];
	int op;
};

enum {
	OP_ATTACH, OP_MAP, OP_PREPARE, OP_DETACH,	/* group in dom after? */
	OP_DMA_MAP, OP_DEVICE_CREATE, OP_DOMAIN_ALLOC,	/* default domain */
};

static void sweep_setup(struct sweep *s)
{
	struct world_cfg c = { .pci_groups = true };
	int i;

	world_init(&s->w, &c);
	s->f0 = make_pci_dev(&s->w, "0000:00:02.0", 0x10, false);
	s->f1 = make_pci_dev(&s->w, "0000:00:02.1", 0x11, false);
	for (i = 0; i < 3; i++)
		assert_int_equal(uiommu_msi_prepare(i ? s->f1 : s->f0,
						    i == 2 ? V2M_DOORBELL :
						    ITS_DOORBELL, NULL, NULL,
						    &s->v[i]), 0);
	s->dom = unmanaged(s->f0);
	assert_int_equal(uiommu_map(s->dom, 0x100000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ), 0);
	if (s->op == OP_PREPARE || s->op == OP_DETACH)
		assert_int_equal(uiommu_group_attach(
					 uiommu_device_group(s->f0), s->dom), 0);
	for (i = 0; i < 3; i++)
		s->iova[i] = uiommu_msi_vector_iova(s->v[i]);
	s->def_mapped = mapped_bytes(
		uiommu_group_default_domain(uiommu_device_group(s->f0)));
}

static void sweep_teardown(struct sweep *s)
{
	int i;

	if (s->nv)
		uiommu_msi_release(s->nv);
	s->nv = NULL;
	if (s->op == OP_DMA_MAP)
		assert_int_equal(uiommu_dma_unmap_sg(s->f0, s->sg, 2,
						     UIOMMU_DMA_TO_DEVICE), 0);
	if (s->extra_dev)
		destroy_dev(s->extra_dev);
	assert_int_equal(uiommu_domain_free(s->extra_dom), 0);
	for (i = 0; i < 3; i++)
		uiommu_msi_release(s->v[i]);
	assert_int_equal(uiommu_group_detach(uiommu_device_group(s->f0)), 0);
	assert_int_equal(uiommu_domain_free(s->dom), 0);
	destroy_dev(s->f0);
	destroy_dev(s->f1);
	world_fini(&s->w);
}

static const struct uiommu_resv_region sweep_resv[] = {
	{ 0x3e000000, 0x3e003fff, UIOMMU_PROT_READ | UIOMMU_PROT_WRITE,
	  UIOMMU_RESV_DIRECT, 0 },
};

static int sweep_op(void *ctx)
{
	struct sweep *s = ctx;
	struct uiommu_group *g = uiommu_device_group(s->f0);

	switch (s->op) {
	case OP_ATTACH:
		return uiommu_group_attach(g, s->dom);
	case OP_MAP:
		return uiommu_map(s->dom, 0x400000, BUF_PA, 0x400000,
				  UIOMMU_PROT_READ);
	case OP_PREPARE:
		return uiommu_msi_prepare(s->f1, V2M_FRAME1 + 0x40, NULL, NULL,
					  &s->nv);
	case OP_DETACH:
		return uiommu_group_detach(g);
	case OP_DMA_MAP:
		s->sg[0] = (struct uiommu_sg){ .pa = BUF_PA + 8, .len = 0x3000 };
		s->sg[1] = (struct uiommu_sg){ .pa = BUF_PA, .len = 0x100 };
		return uiommu_dma_map_sg(s->f0, s->sg, 2, UIOMMU_DMA_TO_DEVICE);
	case OP_DEVICE_CREATE: {
		/* A third function without ACS joins the group; a failure
		 * must leave the group as it was. */
		uint32_t sid = 0x12;
		struct uiommu_msi_ctrl *ctrls[1] = { s->w.its };
		struct uiommu_device_desc d = {
			.name = "0000:00:02.2", .ids = &sid, .nids = 1,
			.pci = true, .pci_rid = 0x12, .msi_ctrls = ctrls,
			.nmsi_ctrls = 1, .resv = sweep_resv, .nresv = 1,
		};

		return uiommu_device_create(s->w.iommu, &d, &s->extra_dev);
	}
	default:
		return uiommu_domain_alloc(s->f0, UIOMMU_DOMAIN_DMA,
					   &s->extra_dom);
	}
}

static void sweep_check(void *ctx, int ret)
{
	struct sweep *s = ctx;
	struct uiommu_group *g = uiommu_device_group(s->f0);
	struct uiommu_msi_window_info wi;
	uint64_t pa;
	int i;

	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(uiommu_domain_check(s->dom), 0);
	assert_int_equal(uiommu_group_check(g), 0);
	assert_int_equal(uiommu_iova_to_phys(s->dom, 0x400000, &pa), -ENOENT);
	assert_int_equal(uiommu_iova_to_phys(s->dom, 0x100000, &pa), 0);
	uiommu_domain_get_msi_window(s->dom, &wi);
	for (i = 0; i < 3; i++)
		assert_int_equal(uiommu_msi_vector_iova(s->v[i]), s->iova[i]);
	assert_int_equal(mapped_bytes(uiommu_group_default_domain(g)),
			 s->def_mapped);
	assert_null(s->extra_dev);
	assert_null(s->extra_dom);
	if (s->op == OP_DEVICE_CREATE) {
		char buf[256];

		assert_int_equal(uiommu_group_resv_print(g, 0, buf, sizeof(buf),
							 NULL), 0);
		assert_string_equal(buf, "0x0000000008000000 "
				    "0x00000000080fffff msi\n");
	}
	if (s->op != OP_PREPARE && s->op != OP_DETACH) {
		assert_ptr_not_equal(uiommu_group_domain(g), s->dom);
		assert_int_equal(wi.pages_used, 0);
	} else {
		assert_ptr_equal(uiommu_group_domain(g), s->dom);
		assert_int_equal(wi.pages_used, 2);
		assert_int_equal(wi.vectors, 3);
	}
}

static void run_sweep(int op)
{
	struct sweep s = { .op = op };
	unsigned long points;

	tu_alloc_install(0);
	sweep_setup(&s);
	tu_log_capture(UIOMMU_LOG_ERR);
	points = tu_fail_nth_sweep(&s, sweep_op, sweep_check, NULL);
	tu_log_release();
	assert_true(points > 0);
	assert_int_equal(uiommu_domain_check(s.dom), 0);
	assert_int_equal(uiommu_group_check(uiommu_device_group(s.f0)), 0);
	sweep_teardown(&s);
	/* Everything allocated during the sweep is gone with the world. */
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

static void test_fail_nth_attach(void **state)
{
	(void)state;
	run_sweep(OP_ATTACH);
}

static void test_fail_nth_map(void **state)
{
	(void)state;
	run_sweep(OP_MAP);
}

static void test_fail_nth_prepare(void **state)
{
	(void)state;
	run_sweep(OP_PREPARE);
}

static void test_fail_nth_dma_map(void **state)
{
	(void)state;
	run_sweep(OP_DMA_MAP);
}

static void test_fail_nth_device_create(void **state)
{
	(void)state;
	run_sweep(OP_DEVICE_CREATE);
}

static void test_fail_nth_domain_alloc(void **state)
{
	(void)state;
	run_sweep(OP_DOMAIN_ALLOC);
}

static void test_fail_nth_detach(void **state)
{
	(void)state;
	run_sweep(OP_DETACH);
}

/* ------------------------------------------------------------- threads */

struct thr {
	struct uiommu_device *dev;
	int errors;
};

static void *msi_thread(void *arg)
{
	struct thr *t = arg;
	int i, j;

	for (i = 0; i < 200; i++) {
		struct uiommu_msi_vector *v[8];

		for (j = 0; j < 8; j++)
			if (uiommu_msi_prepare(t->dev, ITS_DOORBELL, NULL, NULL,
					       &v[j]))
				t->errors++;
		for (j = 0; j < 8; j++) {
			struct uiommu_msi_msg m = { .address = ITS_DOORBELL };

			if (uiommu_msi_compose(v[j], &m) || m.address != 0x8000040)
				t->errors++;
			uiommu_msi_release(v[j]);
		}
	}
	return NULL;
}

static void test_threads_concurrent_msi_setup(void **state)
{
	struct uiommu_domain *dom;
	struct uiommu_msi_window_info wi;
	struct thr t[4];
	pthread_t th[4];
	struct world w;
	char name[16];
	int i;

	(void)state;
	world_init(&w, NULL);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "dev%d", i);
		t[i].dev = make_dev(&w, name, (uint32_t)i + 1, w.its, NULL, 0);
		t[i].errors = 0;
	}
	dom = unmanaged(t[0].dev);
	for (i = 0; i < 4; i++)
		assert_int_equal(uiommu_group_attach(
					 uiommu_device_group(t[i].dev), dom), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, msi_thread, &t[i]),
				 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].errors, 0);
	}
	uiommu_domain_get_msi_window(dom, &wi);
	assert_int_equal(wi.pages_used, 0);
	assert_int_equal(uiommu_domain_check(dom), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(uiommu_group_detach(
					 uiommu_device_group(t[i].dev)), 0);
		destroy_dev(t[i].dev);
	}
	assert_int_equal(uiommu_domain_free(dom), 0);
	world_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resv_sysfs_golden),
		cmocka_unit_test(test_hw_msi_region_no_binding),
		cmocka_unit_test(test_group_devices_follow_domain),
		cmocka_unit_test(test_map_unmap_and_reserved),
		cmocka_unit_test(test_random_map_unmap_vs_model),
		cmocka_unit_test(test_attach_overlapping_mapping_fails),
		cmocka_unit_test(test_attach_driver_failure_rolls_back),
		cmocka_unit_test(test_dma_api_mask_and_flush_queue),
		cmocka_unit_test(test_dma_direct_regions_and_identity),
		cmocka_unit_test(test_msi_its_unmanaged_default_window),
		cmocka_unit_test(test_msi_refcount_to_zero_unmaps_and_invalidates),
		cmocka_unit_test(test_msi_window_exhaustion_and_explicit_window),
		cmocka_unit_test(test_domain_switch_with_live_msis),
		cmocka_unit_test(test_msi_dma_domain_masks),
		cmocka_unit_test(test_isolation_verdicts),
		cmocka_unit_test(test_exposure_report_64k_over_v2m),
		cmocka_unit_test(test_fail_nth_attach),
		cmocka_unit_test(test_fail_nth_map),
		cmocka_unit_test(test_fail_nth_prepare),
		cmocka_unit_test(test_fail_nth_detach),
		cmocka_unit_test(test_fail_nth_dma_map),
		cmocka_unit_test(test_fail_nth_device_create),
		cmocka_unit_test(test_fail_nth_domain_alloc),
		cmocka_unit_test(test_threads_concurrent_msi_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
