// SPDX-License-Identifier: MIT
/*
 * Tests of the SMMUv3 driver on the SMMUv3 model and the IOMMU core: the
 * driver programs the model only through its registers and RAM, devices'
 * DMA is translated by uiommu_smmuv3_translate(), faults travel through
 * the event queue to the domain owner's handler.
 */
#include <pthread.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/iommu-driver.h>
#include <uiommu/pgtable.h>
#include <uiommu/physmem.h>
#include <uiommu/smmuv3-drv.h>
#include <uiommu/smmuv3.h>

#include "smmuv3-drv-internal.h"
#include "smmuv3-regs.h"

#define SMMU_BASE  UINT64_C(0x09050000)
#define RAM_BASE   UINT64_C(0x40000000)
#define RAM_SIZE   UINT64_C(0x4000000)	/* the pool: tables, queues */
#define BUF_BASE   UINT64_C(0x80000000)	/* device buffers */
#define BUF_SIZE   UINT64_C(0x1000000)
#define V2M_FRAME  UINT64_C(0x08020000)
#define V2M_DOORBELL (V2M_FRAME + 0x40)

struct world {
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	struct uiommu_smmuv3 *smmu;
	struct uiommu_smmuv3_drv *drv;
	struct uiommu_iommu *iommu;
	bool irqs_off;			/* leave the event queue alone */
	unsigned int gerror_irqs;
	int last_gerror;
	/* what the driver saw */
	unsigned int nevents;
	struct uiommu_smmuv3_drv_event ev;
	/* what the domain owner saw */
	unsigned int nfaults;
	struct uiommu_fault fault;
	struct uiommu_domain *fault_dom;
	/* the MSI doorbell frame */
	unsigned int db_writes;
	uint64_t db_val, db_off;
	uint32_t db_source;
};

/* ------------------------------------------------------------ the world */

static void event_irq(void *opaque)
{
	struct world *w = opaque;

	if (w->drv && !w->irqs_off)
		assert_true(uiommu_smmuv3_drv_handle_events(w->drv) >= 0);
}

static void gerror_irq(void *opaque)
{
	struct world *w = opaque;

	w->gerror_irqs++;
	if (w->drv)
		w->last_gerror = uiommu_smmuv3_drv_handle_gerror(w->drv);
}

static void on_event(void *opaque, const struct uiommu_smmuv3_drv_event *ev)
{
	struct world *w = opaque;

	w->nevents++;
	w->ev = *ev;
}

static int fault_handler(void *opaque, struct uiommu_domain *dom,
			 const struct uiommu_fault *f)
{
	struct world *w = opaque;

	w->nfaults++;
	w->fault = *f;
	w->fault_dom = dom;
	return 0;
}

static int db_read(void *opaque, uint64_t off, unsigned int size,
		   uint64_t *val, const struct uiommu_memattrs *attrs)
{
	(void)opaque; (void)off; (void)size; (void)attrs;
	*val = 0;
	return 0;
}

static int db_write(void *opaque, uint64_t off, unsigned int size,
		    uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct world *w = opaque;

	(void)size;
	w->db_writes++;
	w->db_val = val;
	w->db_off = off;
	w->db_source = (attrs->flags & UIOMMU_MEMATTR_SOURCE_VALID) ?
		       attrs->source_id : UINT32_MAX;
	return 0;
}

static const struct uiommu_mmio_ops db_ops = { .read = db_read, .write = db_write };
static const struct uiommu_reg_desc db_regs[] = {
	{ "MSI_TYPER", 0x8, 4 }, { "MSI_SETSPI_NS", 0x40, 4 },
};

/* Physical space, RAM, pool, model; no driver yet. */
static void world_hw(struct world *w, unsigned int sid_bits)
{
	struct uiommu_smmuv3_options o;
	struct uiommu_mmio_desc db = {
		.name = "v2m0", .owner = "gicv2m@8020000", .size = 0x1000,
		.ops = &db_ops, .opaque = w, .regs = db_regs, .nregs = 2,
		.doorbell = true,
	};

	memset(w, 0, sizeof(*w));
	uiommu_smmuv3_default_options(&o);
	o.sid_bits = sid_bits;
	o.event_irq = event_irq;
	o.gerror_irq = gerror_irq;
	o.irq_opaque = w;
	assert_int_equal(uiommu_physmem_create(48, &w->pm), 0);
	assert_int_equal(uiommu_physmem_add_ram(w->pm, "ram", RAM_BASE, RAM_SIZE,
						NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_add_ram(w->pm, "buf", BUF_BASE, BUF_SIZE,
						NULL, NULL), 0);
	assert_int_equal(uiommu_physmem_add_mmio(w->pm, V2M_FRAME, &db), 0);
	assert_int_equal(uiommu_phys_pool_create(w->pm, RAM_BASE, RAM_SIZE,
						 &w->pool), 0);
	assert_int_equal(uiommu_smmuv3_create(w->pm, SMMU_BASE, &o, &w->smmu), 0);
}

static void drv_opts(struct world *w, struct uiommu_smmuv3_drv_options *d)
{
	memset(d, 0, sizeof(*d));
	d->on_event = on_event;
	d->opaque = w;
}

static void world_init(struct world *w, unsigned int sid_bits)
{
	struct uiommu_smmuv3_drv_options d;

	world_hw(w, sid_bits);
	drv_opts(w, &d);
	assert_int_equal(uiommu_smmuv3_drv_probe(w->pm, w->pool, SMMU_BASE, &d,
						 &w->drv), 0);
	w->iommu = uiommu_smmuv3_drv_iommu(w->drv);
}

static void world_fini(struct world *w)
{
	if (w->drv)
		assert_int_equal(uiommu_smmuv3_drv_remove(w->drv), 0);
	w->drv = NULL;
	uiommu_smmuv3_destroy(w->smmu);
	uiommu_phys_pool_destroy(w->pool);
	uiommu_physmem_destroy(w->pm);
}

static struct uiommu_device *dev_create(struct world *w, uint32_t sid,
					struct uiommu_msi_ctrl *ctrl)
{
	struct uiommu_device_desc d = {
		.name = "dev", .ids = &sid, .nids = 1,
		.msi_ctrls = ctrl ? &ctrl : NULL, .nmsi_ctrls = ctrl ? 1 : 0,
	};
	struct uiommu_device *dev;

	assert_int_equal(uiommu_device_create(w->iommu, &d, &dev), 0);
	return dev;
}

static int xlate(struct world *w, uint32_t sid, uint64_t iova, bool write,
		 uint64_t *pa, struct uiommu_smmuv3_fault *f)
{
	struct uiommu_smmuv3_txn t = {
		.sid = sid, .iova = iova, .size = 4,
		.access = write ? UIOMMU_SMMUV3_ACC_WRITE : 0,
	};

	return uiommu_smmuv3_translate(w->smmu, &t, pa, f);
}

static uint32_t reg32(struct world *w, uint64_t off)
{
	uint64_t v = 0;

	assert_int_equal(uiommu_phys_ld(w->pm, SMMU_BASE + off, 4, &v, NULL), 0);
	return (uint32_t)v;
}

/* Where the driver's linear stream table holds the STE of @sid. */
static uint64_t linear_ste_pa(struct world *w, uint32_t sid)
{
	uint64_t base;

	assert_int_equal(uiommu_phys_ld(w->pm, SMMU_BASE + SMMU_STRTAB_BASE, 8,
					&base, NULL), 0);
	return (UIO_FEX64(base, STRTAB_BASE, ADDR) << STRTAB_BASE_ADDR_SHIFT) +
	       (uint64_t)sid * STE_SIZE;
}

static uint64_t pool_in_use(struct world *w)
{
	struct uiommu_phys_pool_stats st;

	uiommu_phys_pool_get_stats(w->pool, &st);
	return st.bytes_in_use;
}

/* An unmanaged domain with @dev's group attached and a fault handler. */
static struct uiommu_domain *unmanaged(struct world *w,
				       struct uiommu_device *dev)
{
	struct uiommu_domain *dom;

	assert_int_equal(uiommu_domain_alloc(dev, UIOMMU_DOMAIN_UNMANAGED,
					     &dom), 0);
	uiommu_domain_set_fault_handler(dom, fault_handler, w);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), dom), 0);
	return dom;
}

/* A world, one device of StreamID @sid and its unmanaged domain. */
static struct uiommu_domain *world_with_domain(struct world *w,
					       unsigned int sid_bits,
					       uint32_t sid,
					       struct uiommu_device **dev)
{
	world_init(w, sid_bits);
	*dev = dev_create(w, sid, NULL);
	return unmanaged(w, *dev);
}

static void release(struct world *w, struct uiommu_device *dev,
		    struct uiommu_domain *dom)
{
	assert_int_equal(uiommu_smmuv3_drv_check(w->drv), 0);
	assert_int_equal(uiommu_group_detach(uiommu_device_group(dev)), 0);
	assert_int_equal(uiommu_domain_free(dom), 0);
	assert_int_equal(uiommu_device_destroy(dev), 0);
}

/* Inspection reads, never changes: model counters and events stay put. */
static void inspect(struct world *w, uint32_t sid,
		    struct uiommu_smmuv3_ste_info *in)
{
	struct uiommu_smmuv3_stats before, after;
	unsigned int nevents = w->nevents;

	uiommu_smmuv3_get_stats(w->smmu, &before);
	tu_log_capture(UIOMMU_LOG_DEBUG);
	assert_int_equal(uiommu_smmuv3_inspect_ste(w->smmu, sid, in), 0);
	assert_string_equal(tu_log_text(), "");	/* no guest-error line */
	tu_log_release();
	uiommu_smmuv3_get_stats(w->smmu, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(w->nevents, nevents);
	assert_int_equal(in->sid, sid);
}

/* ------------------------------------------------------------------ tests */

static void test_probe(void **state)
{
	struct uiommu_smmuv3_drv_stats st;
	struct world w;
	uint32_t cfg;

	(void)state;
	world_init(&w, 8);
	/* Enabled through the handshake, queues on, linear stream table */
	assert_int_equal(reg32(&w, SMMU_CR0), CR0_SMMUEN_MASK | CR0_CMDQEN_MASK |
			 CR0_EVENTQEN_MASK);
	assert_int_equal(reg32(&w, SMMU_CR0ACK), reg32(&w, SMMU_CR0));
	cfg = reg32(&w, SMMU_STRTAB_BASE_CFG);
	assert_int_equal(UIO_FEX64(cfg, STRTAB_BASE_CFG, FMT), STRTAB_FMT_LINEAR);
	assert_int_equal(UIO_FEX64(cfg, STRTAB_BASE_CFG, LOG2SIZE), 8);
	uiommu_smmuv3_drv_get_stats(w.drv, &st);
	assert_int_equal(st.cmd_errors, 0);
	assert_true(st.syncs >= 1);
	assert_int_equal(uiommu_smmuv3_drv_check(w.drv), 0);
	/* Unknown StreamIDs abort silently: every STE starts as abort. */
	{
		struct uiommu_smmuv3_fault f;
		uint64_t pa;

		assert_int_equal(xlate(&w, 7, 0x1000, false, &pa, &f), -EFAULT);
		assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_NONE);
		assert_int_equal(w.nevents, 0);
	}
	/* sw-msi, no interrupt remapping */
	{
		struct uiommu_device *dev = dev_create(&w, 3, NULL);
		char buf[128];

		assert_int_equal(uiommu_group_resv_print(uiommu_device_group(dev),
							 0, buf, sizeof(buf),
							 NULL), 0);
		assert_string_equal(buf, "0x0000000008000000 0x00000000080fffff msi\n");
		assert_int_equal(uiommu_device_destroy(dev), 0);
	}
	world_fini(&w);
}

static void test_unmanaged_map_translate(void **state)
{
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t pa;

	(void)state;
	dom = world_with_domain(&w, 8, 5, &dev);
	assert_int_equal(uiommu_map(dom, 0x100000, BUF_BASE, 0x2000,
				    UIOMMU_PROT_READ | UIOMMU_PROT_WRITE), 0);
	assert_int_equal(xlate(&w, 5, 0x100123, true, &pa, &f), 0);
	assert_int_equal(pa, BUF_BASE + 0x123);
	assert_int_equal(xlate(&w, 5, 0x101ffc, false, &pa, &f), 0);
	assert_int_equal(pa, BUF_BASE + 0x1ffc);
	/* A 2 MiB block */
	assert_int_equal(uiommu_map(dom, 0x40000000, BUF_BASE + 0x200000,
				    0x200000, UIOMMU_PROT_READ), 0);
	assert_int_equal(xlate(&w, 5, 0x40123458, false, &pa, &f), 0);
	assert_int_equal(pa, BUF_BASE + 0x323458);
	/* Read-only: a write is a permission fault */
	assert_int_equal(xlate(&w, 5, 0x40000000, true, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_PERMISSION);
	assert_int_equal(w.nfaults, 1);
	assert_int_equal(w.fault.reason, UIOMMU_FAULT_PERMISSION);
	assert_int_equal(w.fault.flags, UIOMMU_FAULT_WRITE);
	assert_int_equal(uiommu_iova_to_phys(dom, 0x101000, &pa), 0);
	assert_int_equal(pa, BUF_BASE + 0x1000);
	/* The checker reads the STEs back: a corrupted one is caught */
	{
		uint64_t base = linear_ste_pa(&w, 5) + 8, ste1;

		assert_int_equal(uiommu_phys_ld(w.pm, base, 8, &ste1, NULL), 0);
		assert_int_equal(uiommu_phys_st(w.pm, base, 8, ste1 ^ 1, NULL), 0);
		tu_log_capture(UIOMMU_LOG_ERR);
		assert_int_equal(uiommu_smmuv3_drv_check(w.drv), -EUCLEAN);
		tu_log_release();
		assert_int_equal(uiommu_phys_st(w.pm, base, 8, ste1, NULL), 0);
	}
	release(&w, dev, dom);
	world_fini(&w);
}

static void test_unmap_fault_event(void **state)
{
	struct uiommu_smmuv3_drv_stats st;
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev, *other;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t pa, unmapped;

	(void)state;
	world_init(&w, 8);
	dev = dev_create(&w, 0x21, NULL);
	other = dev_create(&w, 0x22, NULL);
	dom = unmanaged(&w, dev);
	assert_int_equal(uiommu_map(dom, 0x200000, BUF_BASE, 0x1000,
				    UIOMMU_PROT_READ | UIOMMU_PROT_WRITE), 0);
	assert_int_equal(xlate(&w, 0x21, 0x200010, true, &pa, &f), 0);
	assert_int_equal(uiommu_unmap(dom, 0x200000, 0x1000, &unmapped), 0);
	assert_int_equal(unmapped, 0x1000);
	uiommu_smmuv3_drv_get_stats(w.drv, &st);
	assert_int_equal(st.tlbi_va, 1);
	assert_int_equal(xlate(&w, 0x21, 0x200010, true, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_true(f.recorded);
	/* The event record, as the driver read it from the queue */
	assert_int_equal(w.nevents, 1);
	assert_int_equal(w.ev.type, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(w.ev.sid, 0x21);
	assert_int_equal(w.ev.input_addr, 0x200010);
	assert_false(w.ev.rnw);
	assert_false(w.ev.s2);
	assert_false(w.ev.ssv);
	assert_int_equal(w.ev.cls, UIOMMU_SMMUV3_CLASS_IN);
	/* ... and as the domain owner got it */
	assert_int_equal(w.nfaults, 1);
	assert_ptr_equal(w.fault_dom, dom);
	assert_int_equal(w.fault.iova, 0x200010);
	assert_int_equal(w.fault.reason, UIOMMU_FAULT_UNMAPPED);
	assert_int_equal(w.fault.flags, UIOMMU_FAULT_WRITE);
	assert_int_equal(w.fault.source_id, 0x21);
	assert_ptr_equal(w.fault.dev, dev);
	/* Consumed: the queue is empty */
	assert_int_equal(reg32(&w, SMMU_EVENTQ_PROD), reg32(&w, SMMU_EVENTQ_CONS));

	/* Without the interrupt the event waits for an on-demand read. */
	w.irqs_off = true;
	assert_int_equal(xlate(&w, 0x21, 0x300000, false, &pa, &f), -EFAULT);
	assert_int_equal(w.nfaults, 1);
	assert_int_equal(uiommu_smmuv3_drv_handle_events(w.drv), 1);
	assert_int_equal(w.nfaults, 2);
	assert_int_equal(w.fault.flags, UIOMMU_FAULT_READ);
	assert_int_equal(w.fault.iova, 0x300000);
	assert_int_equal(uiommu_smmuv3_drv_handle_events(w.drv), 0);
	w.irqs_off = false;
	/* The other device is still in its DMA default domain: no mapping */
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(xlate(&w, 0x22, 0x200010, false, &pa, &f), -EFAULT);
	assert_non_null(strstr(tu_log_text(), "unhandled fault"));
	tu_log_release();
	assert_int_equal(w.nfaults, 2);	/* no handler on that domain */
	assert_int_equal(w.ev.sid, 0x22);
	release(&w, dev, dom);
	assert_int_equal(uiommu_device_destroy(other), 0);
	world_fini(&w);
}

static void test_forgotten_tlbi(void **state)
{
	struct uiommu_smmuv3_fault f;
	struct uiommu_pt_gather g;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct uiommu_pgtable *pt;
	struct world w;
	uint64_t pa, n;

	(void)state;
	dom = world_with_domain(&w, 8, 9, &dev);
	pt = uio_smmuv3_drv_domain_pgtable(dom);
	assert_int_equal(uiommu_map(dom, 0x10000, BUF_BASE + 0x5000, 0x2000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(xlate(&w, 9, 0x10008, false, &pa, &f), 0);
	assert_int_equal(xlate(&w, 9, 0x11008, false, &pa, &f), 0);
	/* Clear both PTEs but "forget" the invalidation */
	uiommu_pt_gather_init(&g, 0);
	assert_int_equal(uiommu_pgtable_unmap(pt, 0x10000, 0x2000, &g, &n), 0);
	assert_int_equal(n, 0x2000);
	assert_int_equal(xlate(&w, 9, 0x10008, false, &pa, &f), 0);
	assert_int_equal(pa, BUF_BASE + 0x5008);	/* stale */
	/* TLBI_NH_VA of the wrong page leaves it */
	assert_int_equal(uio_smmuv3_drv_tlbi_va(dom, 0x11000), 0);
	assert_int_equal(xlate(&w, 9, 0x10008, false, &pa, &f), 0);
	assert_int_equal(xlate(&w, 9, 0x11008, false, &pa, &f), -EFAULT);
	/* The right one removes it */
	assert_int_equal(uio_smmuv3_drv_tlbi_va(dom, 0x10000), 0);
	assert_int_equal(xlate(&w, 9, 0x10008, false, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	uiommu_pgtable_gather_done(pt, &g);
	/* Put the mapping back so that the core's records hold again */
	assert_int_equal(uiommu_pgtable_map(pt, 0x10000, BUF_BASE + 0x5000,
					    0x2000, UIOMMU_PT_PROT_READ, NULL), 0);
	assert_int_equal(xlate(&w, 9, 0x10008, false, &pa, &f), 0);
	assert_int_equal(uiommu_pgtable_check(pt), 0);
	release(&w, dev, dom);
	world_fini(&w);
}

static void test_dma_domain(void **state)
{
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev;
	struct world w;
	uint64_t iova, pa;

	(void)state;
	world_init(&w, 8);
	dev = dev_create(&w, 0x11, NULL);
	assert_int_equal(uiommu_device_set_dma_mask(dev, 0xffffffff), 0);
	assert_int_equal(uiommu_dma_map_single(dev, BUF_BASE + 0x7000, 0x1000,
					       UIOMMU_DMA_BIDIRECTIONAL, &iova), 0);
	assert_int_equal(iova, 0xfffff000);
	assert_int_equal(xlate(&w, 0x11, iova + 0x44, true, &pa, &f), 0);
	assert_int_equal(pa, BUF_BASE + 0x7044);
	assert_int_equal(uiommu_smmuv3_drv_check(w.drv), 0);
	assert_int_equal(uiommu_dma_unmap_single(dev, iova, 0x1000,
						 UIOMMU_DMA_BIDIRECTIONAL), 0);
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(xlate(&w, 0x11, iova + 0x44, true, &pa, &f), -EFAULT);
	tu_log_release();
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(uiommu_device_destroy(dev), 0);
	world_fini(&w);
}

static void test_blocked_identity(void **state)
{
	struct uiommu_domain *blocked, *ident;
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev;
	struct uiommu_group *g;
	struct world w;
	uint64_t pa;

	(void)state;
	world_init(&w, 8);
	dev = dev_create(&w, 0x30, NULL);
	g = uiommu_device_group(dev);
	assert_int_equal(uiommu_domain_alloc(dev, UIOMMU_DOMAIN_BLOCKED,
					     &blocked), 0);
	assert_int_equal(uiommu_domain_alloc(dev, UIOMMU_DOMAIN_IDENTITY,
					     &ident), 0);
	assert_int_equal(uiommu_group_attach(g, ident), 0);
	assert_int_equal(xlate(&w, 0x30, 0x12345678, true, &pa, &f), 0);
	assert_int_equal(pa, 0x12345678);
	assert_int_equal(uiommu_smmuv3_drv_check(w.drv), 0);
	assert_int_equal(uiommu_group_attach(g, blocked), 0);
	/* The bypass STE was cached: the driver's CFGI_STE removed it */
	assert_int_equal(xlate(&w, 0x30, 0x12345678, true, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_NONE);	/* silent abort */
	assert_true(f.abort);
	assert_int_equal(w.nevents, 0);
	assert_int_equal(uiommu_smmuv3_drv_check(w.drv), 0);
	assert_int_equal(uiommu_group_detach(g), 0);
	assert_int_equal(uiommu_domain_free(blocked), 0);
	assert_int_equal(uiommu_domain_free(ident), 0);
	assert_int_equal(uiommu_device_destroy(dev), 0);
	/* A released device's STE aborts again */
	assert_int_equal(xlate(&w, 0x30, 0x1000, false, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_NONE);
	world_fini(&w);
}

static void test_two_level_strtab(void **state)
{
	struct uiommu_smmuv3_drv_stats st;
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint32_t cfg;
	uint64_t pa;

	(void)state;
	world_init(&w, 16);
	cfg = reg32(&w, SMMU_STRTAB_BASE_CFG);
	assert_int_equal(UIO_FEX64(cfg, STRTAB_BASE_CFG, FMT), STRTAB_FMT_2LVL);
	assert_int_equal(UIO_FEX64(cfg, STRTAB_BASE_CFG, LOG2SIZE), 16);
	uiommu_smmuv3_drv_get_stats(w.drv, &st);
	assert_int_equal(st.l2_tables, 0);
	dev = dev_create(&w, 0xbeef, NULL);
	uiommu_smmuv3_drv_get_stats(w.drv, &st);
	assert_int_equal(st.l2_tables, 1);
	dom = unmanaged(&w, dev);
	assert_int_equal(uiommu_map(dom, 0x7fff0000, BUF_BASE + 0x10000, 0x1000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(xlate(&w, 0xbeef, 0x7fff0abc, false, &pa, &f), 0);
	assert_int_equal(pa, BUF_BASE + 0x10abc);
	/* A neighbour in the same span aborts; a StreamID of another span
	 * has no level-2 table: C_BAD_STREAMID */
	assert_int_equal(xlate(&w, 0xbe00, 0x1000, false, &pa, &f), -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_NONE);
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(xlate(&w, 0x1234, 0x1000, false, &pa, &f), -EFAULT);
	tu_log_release();
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID);
	assert_int_equal(w.ev.type, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID);
	assert_int_equal(w.ev.sid, 0x1234);
	/* Inspection walks the 2-level table as the translation did */
	{
		struct uiommu_smmuv3_ste_info in;

		inspect(&w, 0xbeef, &in);
		assert_true(in.ste_fetched && in.valid && !in.fault && in.cached);
		assert_int_equal(in.config, UIOMMU_SMMUV3_STE_CFG_S1);
		assert_int_equal(in.ste_addr & 0x3fff, 0xef * STE_SIZE);
		inspect(&w, 0x1234, &in);
		assert_true(in.fault && !in.ste_fetched);
		assert_int_equal(in.event, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID);
	}
	release(&w, dev, dom);
	world_fini(&w);
}

static void test_inspect_ste(void **state)
{
	struct uiommu_smmuv3_ste_info in;
	struct uiommu_pgtable_info pti;
	const struct uiommu_pgtable *pt;
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t pa, ste0, cd0;

	(void)state;
	dom = world_with_domain(&w, 8, 5, &dev);
	pt = uiommu_domain_pgtable(dom);
	assert_non_null(pt);
	uiommu_pgtable_get_info(pt, &pti);

	/* The S1 STE and CD the driver installed, not yet cached */
	inspect(&w, 5, &in);
	assert_true(in.smmu_enabled);
	assert_true(in.ste_fetched);
	assert_int_equal(in.ste_addr, linear_ste_pa(&w, 5));
	assert_true(in.valid);
	assert_int_equal(in.config, UIOMMU_SMMUV3_STE_CFG_S1);
	assert_int_equal(in.s1_cdmax, 0);
	assert_true(in.cd_fetched);
	assert_int_equal(in.cd_addr, in.s1_context_ptr);
	assert_true(in.cd_valid);
	assert_int_equal(in.asid, uio_smmuv3_drv_domain_asid(dom));
	assert_int_equal(in.ttb0, pti.root);
	assert_int_equal(in.t0sz, pti.arm_tsz);
	assert_int_equal(in.tg0, pti.arm_tg);
	assert_int_equal(in.ips, pti.arm_ps);
	assert_true(in.epd1 && !in.epd0 && in.cd_r && in.cd_a);
	assert_int_equal(in.s1_granule, 4096);
	assert_int_equal(in.s1_ias, 64 - pti.arm_tsz);
	assert_int_equal(in.s1_levels, pti.walk.levels);
	assert_false(in.fault);
	assert_false(in.cached);
	assert_false(in.stale);

	/* A translation fills the cache; memory and cache agree */
	assert_int_equal(uiommu_map(dom, 0x100000, BUF_BASE, 0x1000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(xlate(&w, 5, 0x100000, false, &pa, &f), 0);
	inspect(&w, 5, &in);
	assert_true(in.cached);
	assert_false(in.stale);

	/* A CD rewritten without CFGI_CD: the cached copy is stale */
	assert_int_equal(uiommu_phys_ld(w.pm, in.cd_addr, 8, &cd0, NULL), 0);
	assert_int_equal(uiommu_phys_st(w.pm, in.cd_addr, 8,
					UIO_FDP64(cd0, CD0, ASID, 0x77), NULL), 0);
	inspect(&w, 5, &in);
	assert_int_equal(in.asid, 0x77);
	assert_false(in.fault);
	assert_true(in.cached && in.stale);
	/* CD.V = 0: C_BAD_CD */
	assert_int_equal(uiommu_phys_st(w.pm, in.cd_addr, 8,
					UIO_FDP64(cd0, CD0, V, 0), NULL), 0);
	inspect(&w, 5, &in);
	assert_true(in.fault && in.cd_fetched && !in.cd_valid);
	assert_int_equal(in.event, UIOMMU_SMMUV3_EVT_C_BAD_CD);
	assert_string_equal(uiommu_smmuv3_event_name(in.event), "C_BAD_CD");
	assert_int_equal(uiommu_phys_st(w.pm, in.cd_addr, 8, cd0, NULL), 0);

	/* A reserved STE.Config: C_BAD_STE, with the reason */
	assert_int_equal(uiommu_phys_ld(w.pm, in.ste_addr, 8, &ste0, NULL), 0);
	assert_int_equal(uiommu_phys_st(w.pm, in.ste_addr, 8,
					UIO_FDP64(ste0, STE0, CONFIG, 1), NULL), 0);
	inspect(&w, 5, &in);
	assert_true(in.fault && in.valid && !in.cd_fetched);
	assert_int_equal(in.config, 1);
	assert_int_equal(in.event, UIOMMU_SMMUV3_EVT_C_BAD_STE);
	assert_non_null(in.reason);
	assert_true(in.cached && in.stale);
	assert_int_equal(uiommu_phys_st(w.pm, in.ste_addr, 8, ste0, NULL), 0);
	inspect(&w, 5, &in);
	assert_false(in.fault || in.stale);

	/* A StreamID without a device: the driver's abort STE */
	inspect(&w, 7, &in);
	assert_true(in.valid && !in.fault && !in.cached && !in.cd_fetched);
	assert_int_equal(in.config, UIOMMU_SMMUV3_STE_CFG_ABORT);
	/* Beyond the stream table: C_BAD_STREAMID (CR2.RECINVSID is set) */
	inspect(&w, 0x100, &in);
	assert_true(in.fault && !in.ste_fetched);
	assert_int_equal(in.event, UIOMMU_SMMUV3_EVT_C_BAD_STREAMID);

	/* Bad arguments */
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_smmuv3_inspect_ste(NULL, 5, &in), -EINVAL);
	assert_int_equal(uiommu_smmuv3_inspect_ste(w.smmu, 5, NULL), -EINVAL);
	assert_int_equal(uiommu_smmuv3_inspect_ste(w.smmu, 1u << 24, &in),
			 -EINVAL);
	assert_int_equal(uiommu_smmuv3_read_regs(w.smmu, NULL), -EINVAL);
	assert_int_equal(uiommu_smmuv3_read_regs(NULL, NULL), -EINVAL);
	tu_log_release();
	assert_string_equal(uiommu_smmuv3_event_name(0xff), "?");
	release(&w, dev, dom);
	world_fini(&w);
}

static void test_inspect_bypass_regs(void **state)
{
	struct uiommu_smmuv3_stats before, after;
	struct uiommu_smmuv3_ste_info in;
	struct uiommu_smmuv3_regs r;
	struct uiommu_domain *ident;
	struct uiommu_device *dev;
	struct world w;

	(void)state;
	world_init(&w, 8);
	dev = dev_create(&w, 0x30, NULL);
	/* The default DMA domain has a table; identity has none */
	assert_non_null(uiommu_domain_pgtable(
		uiommu_group_domain(uiommu_device_group(dev))));
	assert_null(uiommu_domain_pgtable(NULL));
	assert_int_equal(uiommu_domain_alloc(dev, UIOMMU_DOMAIN_IDENTITY,
					     &ident), 0);
	assert_null(uiommu_domain_pgtable(ident));
	assert_int_equal(uiommu_group_attach(uiommu_device_group(dev), ident), 0);
	inspect(&w, 0x30, &in);
	assert_true(in.valid && !in.fault && !in.cd_fetched);
	assert_int_equal(in.config, UIOMMU_SMMUV3_STE_CFG_BYPASS);

	/* The register snapshot matches 32-bit loads and changes nothing */
	uiommu_smmuv3_get_stats(w.smmu, &before);
	assert_int_equal(uiommu_smmuv3_read_regs(w.smmu, &r), 0);
	uiommu_smmuv3_get_stats(w.smmu, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(r.nregs, UIOMMU_SMMUV3_NREGS);
	/* decoded as the defaults and the driver set them */
	assert_true(r.id.s1p && r.id.s2p && r.id.aarch64_tables && r.id.msi);
	assert_true(r.id.gran4k && r.id.gran16k && r.id.gran64k);
	assert_true(r.id.little_endian && r.id.strtab_2lvl && r.id.cd_2lvl);
	assert_int_equal(r.id.sid_bits, 8);
	assert_int_equal(r.id.ssid_bits, 8);
	assert_int_equal(r.id.oas_bits, 48);
	assert_int_equal(r.id.cmdq_log2max, 19);
	assert_int_equal(r.id.arch_major, 3);
	assert_int_equal(r.id.implementer, 0x43b);
	assert_true(r.ctl.smmuen && r.ctl.cmdqen && r.ctl.eventqen);
	assert_true(r.ctl.recinvsid && !r.ctl.gbpa_abort);
	assert_false(r.ctl.strtab_2lvl);
	assert_int_equal(r.ctl.strtab_log2size, 8);
	assert_int_equal(r.ctl.gerror_active, 0);
	assert_int_equal(r.ctl.cmdq_err, 0);
	assert_false(r.ctl.eventq_overflow);
	assert_int_equal(r.ctl.cmdq_prod, r.ctl.cmdq_cons);
	assert_true(r.ctl.cmdq_addr && r.ctl.eventq_addr && r.ctl.strtab_addr);
	assert_true(r.ctl.cmdq_log2size >= 1);
	assert_int_equal(r.idr[0], reg32(&w, SMMU_IDR0));
	assert_int_equal(r.idr[1], reg32(&w, SMMU_IDR1));
	assert_int_equal(r.idr[5], reg32(&w, SMMU_IDR5));
	assert_int_equal(r.cr0, reg32(&w, SMMU_CR0));
	assert_int_equal(r.cr0ack, r.cr0);
	assert_int_equal(r.cmdq_prod, reg32(&w, SMMU_CMDQ_PROD));
	assert_int_equal(r.cmdq_cons, r.cmdq_prod);
	assert_int_equal(r.eventq_prod, reg32(&w, SMMU_EVENTQ_PROD));
	assert_int_equal(r.strtab_base_cfg, reg32(&w, SMMU_STRTAB_BASE_CFG));
	assert_int_equal(r.strtab_base & ~UINT64_C(0xffffffff),
			 (uint64_t)reg32(&w, SMMU_STRTAB_BASE + 4) << 32);
	for (unsigned int i = 0; i < r.nregs; i++) {
		assert_non_null(r.reg[i].name);
		if (i)
			assert_true(r.reg[i].offset > r.reg[i - 1].offset);
		if (!strcmp(r.reg[i].name, "SMMU_CR0"))
			assert_int_equal(r.reg[i].value, r.cr0);
	}
	assert_int_equal(uiommu_group_detach(uiommu_device_group(dev)), 0);
	assert_int_equal(uiommu_domain_free(ident), 0);
	assert_int_equal(uiommu_device_destroy(dev), 0);
	/* Driver gone, SMMU disabled: reported as such */
	assert_int_equal(uiommu_smmuv3_drv_remove(w.drv), 0);
	w.drv = NULL;
	inspect(&w, 0x30, &in);
	assert_false(in.smmu_enabled);
	world_fini(&w);
}

/*
 * Nested: the test plays a hypervisor's driver for StreamID 0x40, which
 * belongs to no device of the core: it builds a stage-2 table (IPA -> PA)
 * and a guest stage-1 table and CD that live in IPA space, writes the
 * nested STE into the driver's stream table in RAM and invalidates it
 * through the driver's command queue.  (The driver has no nested domain
 * type.)
 */
static void test_nested(void **state)
{
	struct uiommu_pgtable_cfg s1c = {
		.format = UIOMMU_PT_ARM_S1, .granule_shift = 12, .ias = 48,
		.oas = 40,
	};
	struct uiommu_pgtable_cfg s2c = {
		.format = UIOMMU_PT_ARM_S2, .granule_shift = 12, .ias = 40,
		.oas = 48,
	};
	struct uiommu_pgtable_info s1i, s2i;
	struct uiommu_pgtable *s1, *s2;
	struct uiommu_smmuv3_fault f;
	uint64_t cd, ste_pa, pa, ste[8] = { 0 };
	const uint64_t data_ipa = 0x10000000;
	struct world w;
	int i;

	(void)state;
	world_init(&w, 8);
	assert_int_equal(uiommu_pgtable_create(w.pm, w.pool, &s2c, &s2), 0);
	assert_int_equal(uiommu_pgtable_create(w.pm, w.pool, &s1c, &s1), 0);
	/* Stage 2: the pool's RAM at IPA == PA (the guest's tables and CD),
	 * data at IPA 0x10000000 -> BUF_BASE + 0x20000 */
	assert_int_equal(uiommu_pgtable_map(s2, RAM_BASE, RAM_BASE, RAM_SIZE,
					    UIOMMU_PT_PROT_READ |
					    UIOMMU_PT_PROT_WRITE, NULL), 0);
	assert_int_equal(uiommu_pgtable_map(s2, data_ipa, BUF_BASE + 0x20000,
					    0x1000, UIOMMU_PT_PROT_READ |
					    UIOMMU_PT_PROT_WRITE, NULL), 0);
	/* Stage 1: VA 0x5000 -> IPA data_ipa; VA 0x6000 -> an IPA stage 2
	 * does not map */
	assert_int_equal(uiommu_pgtable_map(s1, 0x5000, data_ipa, 0x1000,
					    UIOMMU_PT_PROT_READ |
					    UIOMMU_PT_PROT_WRITE, NULL), 0);
	assert_int_equal(uiommu_pgtable_map(s1, 0x6000, data_ipa + 0x1000,
					    0x1000, UIOMMU_PT_PROT_READ, NULL), 0);
	uiommu_pgtable_get_info(s1, &s1i);
	uiommu_pgtable_get_info(s2, &s2i);
	assert_int_equal(uiommu_phys_pool_alloc(w.pool, 4096, &cd), 0);
	{
		uint64_t d0 = 0;

		d0 = UIO_FDP64(d0, CD0, T0SZ, s1i.arm_tsz);
		d0 = UIO_FDP64(d0, CD0, TG0, s1i.arm_tg);
		d0 = UIO_FDP64(d0, CD0, EPD1, 1);
		d0 = UIO_FDP64(d0, CD0, V, 1);
		d0 = UIO_FDP64(d0, CD0, IPS, s1i.arm_ps);
		d0 = UIO_FDP64(d0, CD0, AA64, 1);
		d0 = UIO_FDP64(d0, CD0, R, 1);
		d0 = UIO_FDP64(d0, CD0, A, 1);
		d0 = UIO_FDP64(d0, CD0, ASET, 1);
		d0 = UIO_FDP64(d0, CD0, ASID, 7);
		assert_int_equal(uiommu_phys_st(w.pm, cd + 8, 8,
			UIO_FDP64(0, CD1, TTB0, s1i.root >> CD1_TTB0_SHIFT),
			NULL), 0);
		assert_int_equal(uiommu_phys_st(w.pm, cd + 24, 8,
			UIO_FDP64(0, CD3, MAIR0, s1i.arm_mair), NULL), 0);
		assert_int_equal(uiommu_phys_st(w.pm, cd, 8, d0, NULL), 0);
	}
	ste[0] = UIO_FDP64(UIO_FDP64(0, STE0, V, 1), STE0, CONFIG,
			   STE_CFG_NESTED);
	ste[0] = UIO_FDP64(ste[0], STE0, S1CONTEXTPTR, cd >> STE0_S1CONTEXTPTR_SHIFT);
	ste[2] = UIO_FDP64(0, STE2, S2VMID, 3);
	ste[2] = UIO_FDP64(ste[2], STE2, S2T0SZ, s2i.arm_tsz);
	ste[2] = UIO_FDP64(ste[2], STE2, S2SL0, s2i.arm_sl0);
	ste[2] = UIO_FDP64(ste[2], STE2, S2TG, s2i.arm_tg);
	ste[2] = UIO_FDP64(ste[2], STE2, S2PS, s2i.arm_ps);
	ste[2] = UIO_FDP64(ste[2], STE2, S2AA64, 1);
	ste[2] = UIO_FDP64(ste[2], STE2, S2R, 1);
	ste[3] = UIO_FDP64(0, STE3, S2TTB, s2i.root >> STE3_S2TTB_SHIFT);
	ste_pa = linear_ste_pa(&w, 0x40);
	for (i = 7; i >= 0; i--)
		assert_int_equal(uiommu_phys_st(w.pm, ste_pa + (uint64_t)i * 8, 8,
						ste[i], NULL), 0);
	assert_int_equal(uio_smmuv3_drv_issue_raw(w.drv,
			UIO_FDP64(CMD_CFGI_STE, CMD0, SID, 0x40),
			UIO_FDP64(0, CMD1, LEAF, 1)), 0);
	assert_int_equal(xlate(&w, 0x40, 0x5abc, true, &pa, &f), 0);
	assert_int_equal(pa, BUF_BASE + 0x20abc);
	/* Inspection decodes both stages; the CD is fetched through stage 2 */
	{
		struct uiommu_smmuv3_ste_info in;

		inspect(&w, 0x40, &in);
		assert_int_equal(in.config, UIOMMU_SMMUV3_STE_CFG_NESTED);
		assert_int_equal(in.s2_vmid, 3);
		assert_int_equal(in.s2_ttb, s2i.root);
		assert_int_equal(in.s2_t0sz, s2i.arm_tsz);
		assert_int_equal(in.s1_context_ptr, cd);
		assert_true(in.cd_fetched && in.cd_valid);
		assert_int_equal(in.asid, 7);
		assert_int_equal(in.ttb0, s1i.root);
		assert_true(in.cached && !in.stale && !in.fault);
	}
	/* Stage-2 fault on the output IPA */
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(xlate(&w, 0x40, 0x6000, false, &pa, &f), -EFAULT);
	tu_log_release();
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(f.stage, 2);
	assert_int_equal(w.ev.type, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_true(w.ev.s2);
	assert_int_equal(w.ev.ipa, data_ipa + 0x1000);
	assert_int_equal(w.ev.input_addr, 0x6000);
	/* Back to abort before the tables go */
	assert_int_equal(uiommu_phys_st(w.pm, ste_pa, 8, UIO_FDP64(UIO_FDP64(0,
			STE0, V, 1), STE0, CONFIG, STE_CFG_ABORT), NULL), 0);
	assert_int_equal(uio_smmuv3_drv_issue_raw(w.drv,
			UIO_FDP64(CMD_CFGI_STE, CMD0, SID, 0x40),
			UIO_FDP64(0, CMD1, LEAF, 1)), 0);
	assert_int_equal(uio_smmuv3_drv_issue_raw(w.drv,
			UIO_FDP64(CMD_TLBI_S12_VMALL, CMD0, VMID, 3), 0), 0);
	assert_int_equal(xlate(&w, 0x40, 0x5abc, true, &pa, &f), -EFAULT);
	uiommu_pgtable_destroy(s1);
	uiommu_pgtable_destroy(s2);
	assert_int_equal(uiommu_phys_pool_free(w.pool, cd, 4096), 0);
	world_fini(&w);
}

static void test_msi_doorbell(void **state)
{
	struct uiommu_msi_ctrl_desc cd = {
		.name = "v2m0", .doorbell_pa = V2M_DOORBELL, .isolating = false,
	};
	struct uiommu_memattrs attrs = { .flags = UIOMMU_MEMATTR_SOURCE_VALID };
	struct uiommu_msi_msg msg = { .address = V2M_DOORBELL, .data = 42 };
	struct uiommu_smmuv3_fault f;
	struct uiommu_msi_vector *vec;
	struct uiommu_msi_ctrl *ctrl;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	char reason[128];
	bool isolated;
	uint32_t data = 42;
	uint64_t pa;

	(void)state;
	world_init(&w, 8);
	assert_int_equal(uiommu_msi_ctrl_register(&cd, &ctrl), 0);
	dev = dev_create(&w, 0x55, ctrl);
	dom = unmanaged(&w, dev);
	/* Before the doorbell is bound the MSI write faults */
	assert_int_equal(xlate(&w, 0x55, 0x8000040, true, &pa, &f), -EFAULT);
	assert_int_equal(w.nfaults, 1);
	assert_int_equal(uiommu_msi_prepare(dev, V2M_DOORBELL, NULL, NULL, &vec), 0);
	assert_int_equal(uiommu_msi_compose(vec, &msg), 0);
	assert_int_equal(msg.address, 0x8000040);
	/* The device writes the message: SMMU, then the bus with its ID */
	assert_int_equal(xlate(&w, 0x55, msg.address, true, &pa, &f), 0);
	assert_int_equal(pa, V2M_DOORBELL);
	attrs.source_id = 0x55;
	assert_int_equal(uiommu_phys_write(w.pm, pa, &data, 4, &attrs), 0);
	assert_int_equal(w.db_writes, 1);
	assert_int_equal(w.db_off, 0x40);
	assert_int_equal(w.db_val, 42);
	assert_int_equal(w.db_source, 0x55);
	/* No interrupt remapping and a GICv2m: not isolated */
	uiommu_group_msi_isolation(uiommu_device_group(dev), &isolated, reason,
				   sizeof(reason));
	assert_false(isolated);
	uiommu_msi_release(vec);
	assert_int_equal(xlate(&w, 0x55, msg.address, true, &pa, &f), -EFAULT);
	release(&w, dev, dom);
	assert_int_equal(uiommu_msi_ctrl_unregister(ctrl), 0);
	world_fini(&w);
}

static void test_cmdq_error_skipped(void **state)
{
	struct uiommu_smmuv3_drv_stats st;
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t pa;

	(void)state;
	dom = world_with_domain(&w, 8, 2, &dev);
	tu_log_capture(UIOMMU_LOG_ERR);
	/* Opcode 0x7f does not exist: CERROR_ILL, GERROR.CMDQ_ERR */
	assert_int_equal(uio_smmuv3_drv_issue_raw(w.drv, 0x7f, 0), -EIO);
	assert_non_null(strstr(tu_log_text(), "refused"));
	tu_log_release();
	assert_int_equal(w.gerror_irqs, 1);
	assert_int_equal(w.last_gerror, GERROR_CMDQ_ERR_MASK);
	assert_int_equal(reg32(&w, SMMU_GERROR), reg32(&w, SMMU_GERRORN));
	uiommu_smmuv3_drv_get_stats(w.drv, &st);
	assert_int_equal(st.cmd_errors, 1);
	assert_int_equal(uiommu_smmuv3_drv_check(w.drv), 0);
	/* The queue runs on */
	assert_int_equal(uiommu_map(dom, 0x1000, BUF_BASE, 0x1000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(xlate(&w, 2, 0x1000, false, &pa, &f), 0);
	assert_int_equal(uiommu_unmap(dom, 0x1000, 0x1000, NULL), 0);
	assert_int_equal(xlate(&w, 2, 0x1000, false, &pa, &f), -EFAULT);
	release(&w, dev, dom);
	world_fini(&w);
}

/* A big unmap is one TLBI_NH_ASID; the 1 GiB page is used. */
static void test_big_range_asid(void **state)
{
	struct uiommu_smmuv3_drv_stats st0, st;
	struct uiommu_smmuv3_fault f;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct world w;
	uint64_t pa;

	(void)state;
	dom = world_with_domain(&w, 8, 4, &dev);
	assert_int_equal(uiommu_map(dom, 0x400000, BUF_BASE, 0x400000,
				    UIOMMU_PROT_READ), 0);
	/* keeps the level-2 table of the blocks alive */
	assert_int_equal(uiommu_map(dom, 0x1000, BUF_BASE, 0x1000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(uiommu_map(dom, 0x80000000, 0, 0x40000000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(xlate(&w, 4, 0xbff20040, false, &pa, &f), 0);
	assert_int_equal(pa, 0x3ff20040);
	assert_int_equal(xlate(&w, 4, 0x7ff000, false, &pa, &f), 0);
	uiommu_smmuv3_drv_get_stats(w.drv, &st0);
	assert_int_equal(uiommu_unmap(dom, 0x400000, 0x400000, NULL), 0);
	uiommu_smmuv3_drv_get_stats(w.drv, &st);
	/* two 2 MiB blocks, no table freed: by VA, one command per block */
	assert_int_equal(st.tlbi_va - st0.tlbi_va, 2);
	assert_int_equal(xlate(&w, 4, 0x7ff000, false, &pa, &f), -EFAULT);
	assert_int_equal(uiommu_map(dom, 0x400000, BUF_BASE, 0x100000,
				    UIOMMU_PROT_READ), 0);
	assert_int_equal(xlate(&w, 4, 0x4ff000, false, &pa, &f), 0);
	st0 = st;
	assert_int_equal(uiommu_unmap(dom, 0x400000, 0x100000, NULL), 0);
	uiommu_smmuv3_drv_get_stats(w.drv, &st);
	/* 256 pages: by ASID */
	assert_int_equal(st.tlbi_asid - st0.tlbi_asid, 1);
	assert_int_equal(st.tlbi_va, st0.tlbi_va);
	assert_int_equal(xlate(&w, 4, 0x4ff000, false, &pa, &f), -EFAULT);
	release(&w, dev, dom);
	world_fini(&w);
}

/* ------------------------------------------------------- fail-Nth sweeps */

enum sweep_op { OP_PROBE, OP_DEVICE, OP_DOMAIN, OP_ATTACH, OP_MAP };

struct sweep {
	enum sweep_op op;
	struct world w;
	struct uiommu_device *dev;
	struct uiommu_domain *dom;
	struct uiommu_smmuv3_drv *drv;
	struct uiommu_device *new_dev;
	struct uiommu_domain *new_dom;
	uint64_t pool_used;
	long live;
};

static int sweep_op(void *ctx)
{
	struct sweep *s = ctx;
	struct uiommu_smmuv3_drv_options d;
	uint32_t sid = 0x4321;
	struct uiommu_device_desc dd = { .name = "new", .ids = &sid, .nids = 1 };

	switch (s->op) {
	case OP_PROBE:
		drv_opts(&s->w, &d);
		return uiommu_smmuv3_drv_probe(s->w.pm, s->w.pool, SMMU_BASE, &d,
					       &s->drv);
	case OP_DEVICE:
		return uiommu_device_create(s->w.iommu, &dd, &s->new_dev);
	case OP_DOMAIN:
		return uiommu_domain_alloc(s->dev, UIOMMU_DOMAIN_UNMANAGED,
					   &s->new_dom);
	case OP_ATTACH:
		return uiommu_group_attach(uiommu_device_group(s->dev), s->dom);
	default:
		/* 2 MiB + 4 KiB at an IOVA needing new tables at all levels */
		return uiommu_map(s->dom, 0x7f00000000, BUF_BASE, 0x201000,
				  UIOMMU_PROT_READ | UIOMMU_PROT_WRITE);
	}
}

static void sweep_check(void *ctx, int ret)
{
	struct sweep *s = ctx;
	struct uiommu_smmuv3_fault f;
	uint64_t pa;

	assert_int_equal(ret, -ENOMEM);
	assert_null(s->drv);
	assert_null(s->new_dev);
	assert_null(s->new_dom);
	assert_int_equal(pool_in_use(&s->w), s->pool_used);
	assert_int_equal(tu_alloc_live_blocks(), s->live);
	if (s->op == OP_PROBE)
		return;
	assert_int_equal(uiommu_smmuv3_drv_check(s->w.drv), 0);
	if (s->op == OP_MAP)
		assert_ptr_equal(uiommu_group_domain(uiommu_device_group(s->dev)),
				 s->dom);
	else
		assert_ptr_not_equal(uiommu_group_domain(
			uiommu_device_group(s->dev)), s->dom);
	assert_int_equal(uiommu_iova_to_phys(s->dom, 0x7f00000000, &pa), -ENOENT);
	/* The device still translates through its default DMA domain */
	assert_int_equal(xlate(&s->w, 0x1234, 0x7f00000000, false, &pa, &f),
			 -EFAULT);
	assert_int_equal(f.event, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
}

static void run_sweep(enum sweep_op op)
{
	struct sweep s = { .op = op };
	unsigned long points;

	tu_alloc_install(0);
	if (op == OP_PROBE) {
		world_hw(&s.w, 16);
	} else {
		world_init(&s.w, 16);
		s.dev = dev_create(&s.w, 0x1234, NULL);
		assert_int_equal(uiommu_domain_alloc(s.dev, UIOMMU_DOMAIN_UNMANAGED,
						     &s.dom), 0);
		if (op == OP_MAP) {
			assert_int_equal(uiommu_group_attach(
				uiommu_device_group(s.dev), s.dom), 0);
			/* Let the core grow its mapping records once. */
			assert_int_equal(uiommu_map(s.dom, 0x1000, BUF_BASE,
						    0x1000, UIOMMU_PROT_READ), 0);
			assert_int_equal(uiommu_unmap(s.dom, 0x1000, 0x1000,
						      NULL), 0);
		}
	}
	s.pool_used = pool_in_use(&s.w);
	s.live = tu_alloc_live_blocks();
	tu_log_capture(UIOMMU_LOG_ERR);
	points = tu_fail_nth_sweep(&s, sweep_op, sweep_check, NULL);
	tu_log_release();
	assert_true(points > 0);
	switch (op) {
	case OP_PROBE:
		s.w.drv = s.drv;
		break;
	case OP_DEVICE:
		assert_int_equal(uiommu_device_destroy(s.new_dev), 0);
		break;
	case OP_DOMAIN:
		assert_int_equal(uiommu_domain_free(s.new_dom), 0);
		break;
	default:
		break;
	}
	if (s.dev) {
		assert_int_equal(uiommu_smmuv3_drv_check(s.w.drv), 0);
		assert_int_equal(uiommu_group_detach(uiommu_device_group(s.dev)), 0);
		assert_int_equal(uiommu_domain_free(s.dom), 0);
		assert_int_equal(uiommu_device_destroy(s.dev), 0);
	}
	world_fini(&s.w);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* cmocka prestate: which operation to sweep */
static enum sweep_op sweep_ops[] = { OP_PROBE, OP_DEVICE, OP_DOMAIN,
				     OP_ATTACH, OP_MAP };

static void test_fail_nth(void **state)
{
	run_sweep(*(enum sweep_op *)*state);
}

static void test_bad_args(void **state)
{
	struct uiommu_smmuv3_drv_options d = { .cmdq_log2 = 20 };
	struct uiommu_smmuv3_drv *drv = NULL;
	struct world w;

	(void)state;
	world_hw(&w, 8);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_smmuv3_drv_probe(NULL, w.pool, SMMU_BASE, NULL,
						 &drv), -EINVAL);
	assert_int_equal(uiommu_smmuv3_drv_probe(w.pm, w.pool, SMMU_BASE, &d,
						 &drv), -EINVAL);
	assert_int_equal(uiommu_smmuv3_drv_probe(w.pm, w.pool, SMMU_BASE + 0x1000,
						 NULL, &drv), -EINVAL);
	/* Nothing there */
	assert_int_equal(uiommu_smmuv3_drv_probe(w.pm, w.pool, 0x20000000, NULL,
						 &drv), -EFAULT);
	tu_log_release();
	assert_null(drv);
	assert_int_equal(uiommu_smmuv3_drv_remove(NULL), 0);
	/* StreamID beyond the table */
	world_fini(&w);
	world_init(&w, 8);
	{
		uint32_t sid = 0x100;
		struct uiommu_device_desc dd = { .name = "big", .ids = &sid,
						 .nids = 1 };
		struct uiommu_device *dev = NULL;

		tu_log_capture(UIOMMU_LOG_ERR);
		assert_int_equal(uiommu_device_create(w.iommu, &dd, &dev), -ERANGE);
		tu_log_release();
		/* devices keep the instance busy */
		dev = dev_create(&w, 1, NULL);
		tu_log_capture(UIOMMU_LOG_ERR);
		assert_int_equal(uiommu_smmuv3_drv_remove(w.drv), -EBUSY);
		tu_log_release();
		assert_int_equal(uiommu_device_destroy(dev), 0);
	}
	world_fini(&w);
}

/* ------------------------------------------------------------- threads */

struct mt {
	struct world w;
	struct uiommu_domain *dom;
	uint32_t sid;
	bool stop;			/* atomic */
	unsigned long faults;		/* atomic: owner's handler */
	unsigned long bad;		/* atomic: wrong translations */
};

#define MT_STABLE 0x100000	/* always mapped to BUF_BASE */
#define MT_FLIP   0x200000	/* mapped and unmapped by the driver thread */

static int mt_fault(void *opaque, struct uiommu_domain *dom,
		    const struct uiommu_fault *f)
{
	struct mt *m = opaque;

	(void)dom;
	if (f->iova != MT_FLIP)
		__atomic_fetch_add(&m->bad, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->faults, 1, __ATOMIC_RELAXED);
	return 0;
}

static void *mt_device(void *opaque)
{
	struct mt *m = opaque;
	struct uiommu_smmuv3_fault f;
	uint64_t pa;
	int err;

	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
		err = xlate(&m->w, m->sid, MT_STABLE + 8, false, &pa, &f);
		if (err || pa != BUF_BASE + 8)
			__atomic_fetch_add(&m->bad, 1, __ATOMIC_RELAXED);
		err = xlate(&m->w, m->sid, MT_FLIP, true, &pa, &f);
		if (!err && pa != BUF_BASE + 0x1000)
			__atomic_fetch_add(&m->bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Two device threads translate (the event interrupt runs in them) while
 * this thread maps, unmaps and invalidates: the always-mapped page always
 * translates, the other one either translates right or faults.
 */
static void test_threads_translate_vs_driver(void **state)
{
	struct uiommu_device *dev;
	struct mt m = { .sid = 6 };
	pthread_t th[2];
	unsigned int i;

	(void)state;
	m.dom = world_with_domain(&m.w, 8, m.sid, &dev);
	uiommu_domain_set_fault_handler(m.dom, mt_fault, &m);
	assert_int_equal(uiommu_map(m.dom, MT_STABLE, BUF_BASE, 0x1000,
				    UIOMMU_PROT_READ), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, mt_device, &m), 0);
	for (i = 0; i < 2000; i++) {
		assert_int_equal(uiommu_map(m.dom, MT_FLIP, BUF_BASE + 0x1000,
					    0x1000, UIOMMU_PROT_WRITE), 0);
		assert_int_equal(uiommu_unmap(m.dom, MT_FLIP, 0x1000, NULL), 0);
	}
	__atomic_store_n(&m.stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(m.bad, 0);
	assert_true(m.faults > 0);
	/* Every fault went through the queue: nothing left, nothing lost */
	assert_int_equal(uiommu_smmuv3_drv_handle_events(m.w.drv), 0);
	release(&m.w, dev, m.dom);
	world_fini(&m.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_unmanaged_map_translate),
		cmocka_unit_test(test_unmap_fault_event),
		cmocka_unit_test(test_forgotten_tlbi),
		cmocka_unit_test(test_dma_domain),
		cmocka_unit_test(test_blocked_identity),
		cmocka_unit_test(test_inspect_ste),
		cmocka_unit_test(test_inspect_bypass_regs),
		cmocka_unit_test(test_two_level_strtab),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_msi_doorbell),
		cmocka_unit_test(test_cmdq_error_skipped),
		cmocka_unit_test(test_big_range_asid),
		cmocka_unit_test_prestate(test_fail_nth, &sweep_ops[OP_PROBE]),
		cmocka_unit_test_prestate(test_fail_nth, &sweep_ops[OP_DEVICE]),
		cmocka_unit_test_prestate(test_fail_nth, &sweep_ops[OP_DOMAIN]),
		cmocka_unit_test_prestate(test_fail_nth, &sweep_ops[OP_ATTACH]),
		cmocka_unit_test_prestate(test_fail_nth, &sweep_ops[OP_MAP]),
		cmocka_unit_test(test_threads_translate_vs_driver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
