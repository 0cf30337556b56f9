// SPDX-License-Identifier: MIT
/*
 * Tests of the MSI layer end to end, without the SMMUv3 driver: the IOMMU
 * core's test driver (testiommu: real page tables in emulated RAM) sits
 * between the PCI host bridge's DMA port and physical memory, and the
 * interrupt controllers are the GICv3 ITS and GICv2m models probed by
 * their drivers.  A host-side driver for the PCI test device allocates
 * vectors through uiommu_msi_alloc_irq_vectors() and raises them through
 * the device's IRQ_RAISE register; each must reach its handler exactly
 * once, with the doorbell reached only through the IOMMU mapping the core
 * made for it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <uiommu/msi.h>

#include "pci-regs.h"
#include "msi_world.h"

static void world_init(struct world *w, bool use_v2m)
{
	assert_int_equal(msi_world_init(w, use_v2m), 0);
}

static void world_fini(struct world *w)
{
	assert_int_equal(uiommu_msi_domain_check(w->its_dom), 0);
	assert_int_equal(uiommu_msi_domain_check(w->v2m_dom), 0);
	/* A domain with devices cannot go. */
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_msi_domain_destroy(w->use_v2m ? w->v2m_dom :
							      w->its_dom),
			 -EBUSY);
	assert_non_null(strstr(tu_log_text(), "MSI devices remain"));
	tu_log_release();
	assert_int_equal(msi_world_fini(w), 0);
}

/* ----------------------------------------------------------- helpers */

static struct uiommu_domain *dev_domain(struct tdev *t)
{
	return uiommu_group_domain(uiommu_device_group(t->idev));
}

/* The host driver raises vector @v through the device's register. */
static uint32_t raise(struct world *w, struct tdev *t, unsigned int v)
{
	uint64_t st = 0;

	assert_int_equal(uiommu_phys_st(w->pm, t->bar0 + UIOMMU_TESTDEV_IRQ_RAISE,
					4, v, NULL), 0);
	assert_int_equal(uiommu_phys_ld(w->pm, t->bar0 +
					UIOMMU_TESTDEV_IRQ_STATUS, 4, &st,
					NULL), 0);
	return (uint32_t)st;
}

static void reset_hits(struct tdev *t)
{
	for (unsigned int v = 0; v < MAXVEC; v++)
		atomic_store(&t->hits[v], 0);
}

/* Raise every vector once; each arrives exactly once at its handler. */
static void raise_all_once(struct world *w, struct tdev *t, unsigned int n)
{
	reset_hits(t);
	for (unsigned int v = 0; v < n; v++) {
		assert_int_equal(raise(w, t, v), 0);
		for (unsigned int u = 0; u < MAXVEC; u++)
			assert_int_equal(atomic_load(&t->hits[u]), u <= v && u < n);
	}
}

/* MSI-X table entry @v as the function holds it. */
static void msix_entry(struct world *w, struct tdev *t, unsigned int v,
		       uint64_t *addr, uint32_t *data)
{
	uint64_t lo, hi, d;
	uint64_t pa = t->bar2 + (uint64_t)v * 16;

	assert_int_equal(uiommu_phys_ld(w->pm, pa, 4, &lo, NULL), 0);
	assert_int_equal(uiommu_phys_ld(w->pm, pa + 4, 4, &hi, NULL), 0);
	assert_int_equal(uiommu_phys_ld(w->pm, pa + 8, 4, &d, NULL), 0);
	*addr = lo | hi << 32;
	*data = (uint32_t)d;
}

static unsigned int pages_used(struct uiommu_domain *dom)
{
	struct uiommu_msi_window_info wi;

	uiommu_domain_get_msi_window(dom, &wi);
	return wi.pages_used;
}

/* Every MSI-X entry holds an IOVA of the ITS doorbell in the device's
 * current domain and its EventID; returns that IOVA. */
static uint64_t check_msix_table(struct world *w, struct tdev *t,
				 unsigned int n)
{
	uint64_t addr0 = 0, pa;

	for (unsigned int v = 0; v < n; v++) {
		struct uiommu_msi_vector_info vi;
		uint64_t addr;
		uint32_t data;

		msix_entry(w, t, v, &addr, &data);
		assert_int_equal(uiommu_msi_get_vector(t->md, v, &vi), 0);
		{
			struct uiommu_pci_msi_msg m;
			bool masked = true;

			assert_int_equal(uiommu_pci_irq_read_msg(t->fn, v, &m,
								 &masked), 0);
			assert_int_equal(m.address, addr);
			assert_int_equal(m.data, data);
			assert_int_equal(masked, vi.masked);
		}
		assert_true(vi.msix);
		assert_int_equal(vi.address, addr);
		assert_int_equal(vi.data, data);
		if (w->use_v2m) {
			assert_int_equal(data, vi.hwirq);
			assert_true(vi.hwirq >= V2M_SPI_BASE);
		} else {
			assert_int_equal(data, v);
			assert_int_equal(vi.eventid, v);
			assert_true(vi.hwirq >= UIOMMU_GIC_FIRST_LPI);
		}
		if (!v)
			addr0 = addr;
		assert_int_equal(addr, addr0);
	}
	assert_int_equal(uiommu_iova_to_phys(dev_domain(t), addr0, &pa), 0);
	assert_int_equal(pa, w->use_v2m ? V2M_DOORBELL : ITS_DOORBELL);
	return addr0;
}

/* A raw device write of an EventID to @iova: delivered or faulted. */
static int device_msi_write(struct tdev *t, uint64_t iova, uint32_t data)
{
	struct uiommu_dma_fault f;

	return uiommu_pci_dev_dma(t->pd, iova, &data, 4, true, &f);
}

static void check_all(struct world *w)
{
	assert_int_equal(uiommu_msi_domain_check(w->its_dom), 0);
	assert_int_equal(uiommu_msi_domain_check(w->v2m_dom), 0);
	for (int i = 0; i < NDEV; i++) {
		assert_int_equal(uiommu_domain_check(dev_domain(&w->d[i])), 0);
		assert_int_equal(uiommu_group_check(uiommu_device_group(w->d[i].idev)), 0);
	}
}

/* ------------------------------------------------------------- tests */

static void test_msix_dma_domain_32_vectors(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_msi_domain_stats st;
	struct uiommu_gic_its_stats is;
	unsigned int n = 0;
	uint64_t iova;

	(void)state;
	world_init(&w, false);
	assert_int_equal(uiommu_domain_type(dev_domain(t)),
			 UIOMMU_DOMAIN_DMA);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 32, 32,
						      UIOMMU_PCI_IRQ_FLAG_MSIX |
						      UIOMMU_PCI_IRQ_FLAG_MSI,
						      &n), 0);
	assert_int_equal(n, 32);
	iova = check_msix_table(&w, t, 32);
	/* A DMA-domain doorbell page lies below 4 GiB, not at the PA. */
	assert_int_not_equal(iova, ITS_DOORBELL);
	assert_int_equal(iova & 0xfff, 0x040);
	assert_true(iova < (UINT64_C(1) << 32));
	assert_int_equal(pages_used(dev_domain(t)), 1);
	raise_all_once(&w, t, 32);
	uiommu_msi_domain_get_stats(w.its_dom, &st);
	assert_int_equal(st.delivered, 32);
	/* LPIs from 8192 up, one per vector. */
	{
		struct uiommu_msi_vector_info vi;

		assert_int_equal(uiommu_msi_get_vector(t->md, 31, &vi), 0);
		assert_int_equal(vi.hwirq, UIOMMU_GIC_FIRST_LPI + 31);
	}
	assert_int_equal(st.spurious + st.unhandled, 0);
	assert_int_equal(st.vectors, 32);
	uiommu_gic_its_get_stats(w.its, &is);
	assert_int_equal(is.delivered, 32);
	assert_int_equal(is.command_errors, 0);
	assert_int_equal(atomic_load(&w.faults), 0);
	/* The vectors are spread over both CPUs' collections, and move. */
	{
		struct uiommu_msi_vector_info v0, v1;

		assert_int_equal(uiommu_msi_get_vector(t->md, 0, &v0), 0);
		assert_int_equal(uiommu_msi_get_vector(t->md, 1, &v1), 0);
		assert_int_not_equal(v0.cpu, v1.cpu);
		assert_int_equal(v0.count, 1);
		assert_true(v0.has_handler);
		assert_int_equal(uiommu_msi_set_affinity(t->md, 0, v1.cpu), 0);
		assert_int_equal(uiommu_msi_get_vector(t->md, 0, &v0), 0);
		assert_int_equal(v0.cpu, v1.cpu);
		tu_log_capture(UIOMMU_LOG_ERR);
		assert_int_equal(uiommu_msi_set_affinity(t->md, 0, 2), -EINVAL);
		assert_int_equal(uiommu_msi_set_affinity(t->md, 32, 0), -EINVAL);
		tu_log_release();
		reset_hits(t);
		assert_int_equal(raise(&w, t, 0), 0);
		assert_int_equal(atomic_load(&t->hits[0]), 1);
		uiommu_gic_its_get_stats(w.its, &is);
		assert_int_equal(is.command_errors, 0);
	}
	/* DMA through the same domain lands where the DMA API said. */
	{
		static const char msg[] = "through the IOMMU";
		uint64_t dma, sts = 0;
		char back[sizeof(msg)] = "";

		assert_int_equal(uiommu_dma_map_single(t->idev, BUF_PA, 0x1000,
						       UIOMMU_DMA_FROM_DEVICE,
						       &dma), 0);
		assert_int_equal(uiommu_phys_write(w.pm, t->bar0 +
						   UIOMMU_TESTDEV_BUF, msg,
						   sizeof(msg), NULL), 0);
		assert_int_equal(uiommu_phys_st(w.pm, t->bar0 + UIOMMU_TESTDEV_DST,
						8, dma + 0x10, NULL), 0);
		assert_int_equal(uiommu_phys_st(w.pm, t->bar0 + UIOMMU_TESTDEV_LEN,
						4, sizeof(msg), NULL), 0);
		/* Write, then raise vector 9 on completion. */
		reset_hits(t);
		assert_int_equal(uiommu_phys_st(w.pm, t->bar0 + UIOMMU_TESTDEV_CMD,
						4, UIOMMU_TESTDEV_OP_WRITE |
						   UIOMMU_TESTDEV_CMD_IRQ |
						   9u << UIOMMU_TESTDEV_CMD_VEC_SHIFT,
						NULL), 0);
		assert_int_equal(uiommu_phys_ld(w.pm, t->bar0 +
						UIOMMU_TESTDEV_STATUS, 4, &sts,
						NULL), 0);
		assert_int_equal(sts & (UIOMMU_TESTDEV_ST_DONE |
				       UIOMMU_TESTDEV_ST_ERROR),
				 UIOMMU_TESTDEV_ST_DONE);
		assert_int_equal(atomic_load(&t->hits[9]), 1);
		assert_int_equal(uiommu_phys_read(w.pm, BUF_PA + 0x10, back,
						  sizeof(back), NULL), 0);
		assert_string_equal(back, msg);
		assert_int_equal(uiommu_dma_unmap_single(t->idev, dma, 0x1000,
							 UIOMMU_DMA_FROM_DEVICE),
				 0);
	}
	/* The DeviceID is the msi-map result, and free unmaps it at the ITS
	 * (DISCARD, MAPD V=0): a write straight to GITS_TRANSLATER with that
	 * source ID raises the vector before, and is dropped after. */
	{
		struct uiommu_memattrs at = {
			.source_id = t->devid,
			.flags = UIOMMU_MEMATTR_SOURCE_VALID,
		};

		reset_hits(t);
		assert_int_equal(t->devid, t->rid + 0x100);
		assert_int_equal(uiommu_phys_st(w.pm, ITS_DOORBELL, 4, 4, &at), 0);
		assert_int_equal(atomic_load(&t->hits[4]), 1);
		assert_int_equal(uiommu_msi_free_irq_vectors(t->md), 0);
		assert_int_equal(pages_used(dev_domain(t)), 0);
		uiommu_gic_its_get_stats(w.its, &is);
		assert_int_equal(is.dropped[UIOMMU_GIC_DROP_DEVICE_UNMAPPED], 0);
		assert_int_equal(uiommu_phys_st(w.pm, ITS_DOORBELL, 4, 4, &at), 0);
		uiommu_gic_its_get_stats(w.its, &is);
		assert_int_equal(is.dropped[UIOMMU_GIC_DROP_DEVICE_UNMAPPED], 1);
		assert_int_equal(atomic_load(&t->hits[4]), 1);
	}
	check_all(&w);
	world_fini(&w);
}

static void test_second_device_shares_the_page(void **state)
{
	struct world w;
	struct uiommu_domain *ud;
	unsigned int n = 0, i;
	uint64_t unmapped, pa;

	(void)state;
	world_init(&w, false);
	/* Both functions in one unmanaged domain (as VFIO would). */
	assert_int_equal(uiommu_domain_alloc(w.d[0].idev, UIOMMU_DOMAIN_UNMANAGED,
					     &ud), 0);
	uiommu_domain_set_fault_handler(ud, msi_world_quiet_fault, NULL);
	for (i = 0; i < NDEV; i++)
		assert_int_equal(uiommu_group_attach(uiommu_device_group(w.d[i].idev),
						     ud), 0);
	assert_int_equal(uiommu_map(ud, 0x100000, BUF_PA, 0x1000,
				    UIOMMU_PROT_READ | UIOMMU_PROT_WRITE), 0);
	for (i = 0; i < NDEV; i++) {
		assert_int_equal(uiommu_msi_alloc_irq_vectors(w.d[i].md, 1, 32,
							      UIOMMU_PCI_IRQ_FLAG_MSIX,
							      &n), 0);
		assert_int_equal(n, 32);
		/* The default window: the doorbell page at 0x8000000. */
		assert_int_equal(check_msix_table(&w, &w.d[i], 32), 0x8000040);
		assert_int_equal(pages_used(ud), 1);
	}
	for (i = 0; i < NDEV; i++)
		raise_all_once(&w, &w.d[i], 32);
	check_all(&w);
	/* Both devices reach the same page, but the ITS takes the DeviceID
	 * from the side band: device 1 writing EventID 7 raises its own
	 * vector 7, never device 0's. */
	reset_hits(&w.d[0]);
	reset_hits(&w.d[1]);
	assert_int_equal(device_msi_write(&w.d[1], 0x8000040, 7), 0);
	assert_int_equal(atomic_load(&w.d[1].hits[7]), 1);
	assert_int_equal(atomic_load(&w.d[0].hits[7]), 0);
	/* The page stays while one vector uses it, goes with the last. */
	assert_int_equal(uiommu_msi_free_irq_vectors(w.d[0].md), 0);
	assert_int_equal(uiommu_msi_free_irq_vectors(w.d[0].md), -ENOENT);
	assert_int_equal(pages_used(ud), 1);
	assert_int_equal(uiommu_iova_to_phys(ud, 0x8000040, &pa), 0);
	raise_all_once(&w, &w.d[1], 32);
	assert_int_equal(uiommu_msi_free_irq_vectors(w.d[1].md), 0);
	assert_int_equal(pages_used(ud), 0);
	assert_int_equal(uiommu_iova_to_phys(ud, 0x8000040, &pa), -ENOENT);
	assert_int_equal(uiommu_unmap(ud, 0x100000, 0x1000, &unmapped), 0);
	check_all(&w);
	for (i = 0; i < NDEV; i++)
		assert_int_equal(uiommu_group_detach(uiommu_device_group(w.d[i].idev)), 0);
	assert_int_equal(uiommu_domain_free(ud), 0);
	world_fini(&w);
}

static void test_unmanaged_default_window(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_domain *ud;
	struct uiommu_msi_domain_stats st0, st1;
	unsigned int n = 0;

	(void)state;
	world_init(&w, false);
	assert_int_equal(uiommu_domain_alloc(t->idev, UIOMMU_DOMAIN_UNMANAGED,
					     &ud), 0);
	uiommu_domain_set_fault_handler(ud, msi_world_quiet_fault, NULL);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(t->idev), ud), 0);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 32, 32,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), 0);
	assert_int_equal(check_msix_table(&w, t, 32), 0x8000040);
	assert_int_equal(pages_used(ud), 1);
	raise_all_once(&w, t, 32);
	/* The doorbell is reachable only through the mapping: a device write
	 * of EventID 5 to the window IOVA is vector 5... */
	reset_hits(t);
	assert_int_equal(device_msi_write(t, 0x8000040, 5), 0);
	assert_int_equal(atomic_load(&t->hits[5]), 1);
	/* ...and once the vectors are freed the mapping is gone: the same
	 * write faults in the IOMMU and reaches no controller. */
	assert_int_equal(uiommu_msi_free_irq_vectors(t->md), 0);
	assert_int_equal(pages_used(ud), 0);
	uiommu_msi_domain_get_stats(w.its_dom, &st0);
	assert_int_equal(device_msi_write(t, 0x8000040, 5), -EFAULT);
	assert_int_equal(atomic_load(&w.faults), 1);
	uiommu_msi_domain_get_stats(w.its_dom, &st1);
	assert_int_equal(st1.delivered + st1.spurious,
			 st0.delivered + st0.spurious);
	assert_int_equal(atomic_load(&t->hits[5]), 1);
	check_all(&w);
	assert_int_equal(uiommu_group_detach(uiommu_device_group(t->idev)), 0);
	assert_int_equal(uiommu_domain_free(ud), 0);
	world_fini(&w);
}

static void test_domain_switch_with_live_vectors(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_domain *dma, *ud;
	unsigned int n = 0;
	uint64_t dma_iova;

	(void)state;
	world_init(&w, false);
	dma = dev_domain(t);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 32, 32,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), 0);
	dma_iova = check_msix_table(&w, t, 32);
	raise_all_once(&w, t, 32);
	assert_int_equal(uiommu_domain_alloc(t->idev, UIOMMU_DOMAIN_UNMANAGED,
					     &ud), 0);
	uiommu_domain_set_fault_handler(ud, msi_world_quiet_fault, NULL);
	/* A move the IOMMU driver refuses changes nothing: the vectors held
	 * masked for it are released, the one the owner masked stays so. */
	assert_int_equal(uiommu_msi_set_masked(t->md, 7, true), 0);
	uio_testiommu_fail_attach(w.ti, t->rid, -EIO);
	assert_int_equal(uiommu_group_attach(uiommu_device_group(t->idev), ud),
			 -EIO);
	uio_testiommu_fail_attach(w.ti, 0, 0);
	for (unsigned int v = 0; v < 32; v++) {
		uint64_t ctrl = 0;

		assert_int_equal(uiommu_phys_ld(w.pm, t->bar2 + v * 16 + 12, 4,
						&ctrl, NULL), 0);
		assert_int_equal(ctrl & 1, v == 7);
	}
	assert_int_equal(check_msix_table(&w, t, 32), dma_iova);
	assert_int_equal(uiommu_msi_set_masked(t->md, 7, false), 0);
	raise_all_once(&w, t, 32);
	/* Nobody touches the vectors: the MSI layer rewrites them. */
	assert_int_equal(uiommu_group_attach(uiommu_device_group(t->idev), ud), 0);
	assert_int_equal(check_msix_table(&w, t, 32), 0x8000040);
	assert_int_equal(pages_used(ud), 1);
	assert_int_equal(pages_used(dma), 0);
	raise_all_once(&w, t, 32);
	/* A masked vector is held pending and arrives on unmask. */
	reset_hits(t);
	assert_int_equal(uiommu_msi_set_masked(t->md, 3, true), 0);
	assert_int_equal(raise(&w, t, 3), 1);
	assert_int_equal(atomic_load(&t->hits[3]), 0);
	assert_int_equal(uiommu_msi_set_masked(t->md, 3, false), 0);
	assert_int_equal(atomic_load(&t->hits[3]), 1);
	/* Back to the DMA domain: the same IOVA as before. */
	assert_int_equal(uiommu_group_detach(uiommu_device_group(t->idev)), 0);
	assert_int_equal(check_msix_table(&w, t, 32), dma_iova);
	assert_int_equal(pages_used(ud), 0);
	assert_int_equal(pages_used(dma), 1);
	raise_all_once(&w, t, 32);
	assert_int_equal(atomic_load(&w.faults), 0);
	check_all(&w);
	assert_int_equal(uiommu_domain_free(ud), 0);
	world_fini(&w);
}

static void test_v2m_spis_not_isolated(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_msi_domain_stats st;
	struct uiommu_gicv2m_stats vs;
	char reason[256];
	bool isolated = true;
	unsigned int n = 0;

	(void)state;
	world_init(&w, true);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 8, 8,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), 0);
	assert_int_equal(n, 8);
	check_msix_table(&w, t, 8);
	assert_int_equal(pages_used(dev_domain(t)), 1);
	raise_all_once(&w, t, 8);
	uiommu_msi_domain_get_stats(w.v2m_dom, &st);
	assert_int_equal(st.delivered, 8);
	uiommu_gicv2m_get_stats(w.v2m, &vs);
	assert_int_equal(vs.delivered, 8);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_msi_set_affinity(t->md, 0, 0), -EOPNOTSUPP);
	tu_log_release();
	uiommu_group_msi_isolation(uiommu_device_group(t->idev), &isolated,
				   reason, sizeof(reason));
	assert_false(isolated);
	assert_non_null(strstr(reason, "v2m@8020000"));
	assert_non_null(strstr(reason, "does not identify the source"));
	/* Which is true: device 1, with no vectors of its own, writes device
	 * 0's SPI to the frame and raises device 0's vector 3. */
	{
		struct uiommu_msi_vector_info vi;
		uint64_t iova;

		assert_int_equal(uiommu_msi_get_vector(t->md, 3, &vi), 0);
		assert_int_equal(uiommu_dma_map_single(w.d[1].idev, V2M_BASE,
						       0x1000,
						       UIOMMU_DMA_FROM_DEVICE,
						       &iova), 0);
		reset_hits(t);
		assert_int_equal(device_msi_write(&w.d[1], iova + 0x40,
						  vi.hwirq), 0);
		assert_int_equal(atomic_load(&t->hits[3]), 1);
		assert_int_equal(uiommu_dma_unmap_single(w.d[1].idev, iova,
							 0x1000,
							 UIOMMU_DMA_FROM_DEVICE),
				 0);
	}
	/* The ITS world, by contrast, is isolated. */
	{
		struct world w2;

		world_fini(&w);
		world_init(&w2, false);
		uiommu_group_msi_isolation(uiommu_device_group(w2.d[0].idev),
					   &isolated, reason, sizeof(reason));
		assert_true(isolated);
		assert_non_null(strstr(reason, "its@8080000"));
		world_fini(&w2);
	}
}

/* Read the MSI capability's message the PCI core programmed. */
static void msi_cap_msg(struct tdev *t, uint64_t *addr, uint32_t *data,
			unsigned int *mme)
{
	struct uiommu_pci_func_info info;
	uint32_t lo, hi, d, ctl;

	uiommu_pci_func_get_info(t->fn, &info);
	assert_int_equal(uiommu_pci_func_cfg_read(t->fn, info.msi_cap + 2, 2,
						  &ctl), 0);
	assert_int_equal(uiommu_pci_func_cfg_read(t->fn, info.msi_cap + 4, 4,
						  &lo), 0);
	assert_int_equal(uiommu_pci_func_cfg_read(t->fn, info.msi_cap + 8, 4,
						  &hi), 0);
	assert_int_equal(uiommu_pci_func_cfg_read(t->fn, info.msi_cap + 12, 2,
						  &d), 0);
	*addr = lo | (uint64_t)hi << 32;
	*data = d;
	*mme = (ctl >> 4) & 7;
}

static void run_multi_msi(bool use_v2m)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_msi_vector_info vi;
	unsigned int n = 0, mme;
	uint64_t addr, pa;
	uint32_t data;

	world_init(&w, use_v2m);
	/* Take one SPI first so that the MSI block must be aligned. */
	if (use_v2m)
		assert_int_equal(uiommu_msi_alloc_irq_vectors(w.d[1].md, 1, 1,
							      UIOMMU_PCI_IRQ_FLAG_MSIX,
							      &n), 0);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 2, 6,
						      UIOMMU_PCI_IRQ_FLAG_MSI,
						      &n), 0);
	assert_int_equal(n, 6);
	msi_cap_msg(t, &addr, &data, &mme);
	assert_int_equal(mme, 3);	/* 8 messages cover 6 vectors */
	assert_int_equal(uiommu_msi_get_vector(t->md, 0, &vi), 0);
	assert_false(vi.msix);
	assert_int_equal(vi.address, addr);
	assert_int_equal(vi.data, data);
	assert_int_equal(data & 7, 0);
	assert_int_equal(data, use_v2m ? vi.hwirq : 0);
	/* read back from the capability: vector i sends data + i */
	for (unsigned int v = 0; v < 6; v++) {
		struct uiommu_pci_msi_msg m;

		assert_int_equal(uiommu_pci_irq_read_msg(t->fn, v, &m, NULL), 0);
		assert_int_equal(m.address, addr);
		assert_int_equal(m.data, data + v);
	}
	if (use_v2m)
		assert_int_equal(data, V2M_SPI_BASE + 8);
	assert_int_equal(uiommu_iova_to_phys(dev_domain(t), addr, &pa), 0);
	assert_int_equal(pa, use_v2m ? V2M_DOORBELL : ITS_DOORBELL);
	raise_all_once(&w, t, 6);
	assert_int_equal(pages_used(dev_domain(t)), 1);
	check_all(&w);
	/* MSI moves with its group too: the capability is reprogrammed. */
	{
		struct uiommu_domain *ud;
		uint64_t a2;
		uint32_t d2;

		assert_int_equal(uiommu_domain_alloc(t->idev,
						     UIOMMU_DOMAIN_UNMANAGED,
						     &ud), 0);
		assert_int_equal(uiommu_group_attach(uiommu_device_group(t->idev),
						     ud), 0);
		msi_cap_msg(t, &a2, &d2, &mme);
		assert_int_equal(a2, 0x8000040);
		assert_int_equal(d2, data);
		raise_all_once(&w, t, 6);
		assert_int_equal(uiommu_group_detach(uiommu_device_group(t->idev)),
				 0);
		msi_cap_msg(t, &a2, &d2, &mme);
		assert_int_equal(a2, addr);
		raise_all_once(&w, t, 6);
		assert_int_equal(uiommu_domain_free(ud), 0);
	}
	assert_int_equal(uiommu_msi_free_irq_vectors(t->md), 0);
	if (use_v2m)
		assert_int_equal(uiommu_msi_free_irq_vectors(w.d[1].md), 0);
	assert_int_equal(pages_used(dev_domain(t)), 0);
	world_fini(&w);
}

struct walk_count {
	uint32_t devid;
	unsigned int n, ok;
	struct uiommu_msi_dev *md;
};

/* Every ITS translation of the device is one of its vectors, as the MSI
 * layer reports it. */
static int check_translation(void *opaque,
			     const struct uiommu_gic_its_translation *tr)
{
	struct walk_count *c = opaque;
	struct uiommu_msi_vector_info vi;

	c->n++;
	if (tr->devid != c->devid || !tr->ok)
		return 0;
	if (!uiommu_msi_get_vector(c->md, tr->eventid, &vi) &&
	    vi.hwirq == tr->intid && vi.cpu == tr->target)
		c->ok++;
	return 0;
}

static void test_inspection_matches_vectors(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_msi_domain_info di;
	struct uiommu_msi_dev_info mi;
	struct walk_count c = { 0 };
	unsigned int n = 0;

	(void)state;
	world_init(&w, false);
	assert_int_equal(uiommu_msi_domain_get_info(w.its_dom, &di), 0);
	assert_true(di.its && di.isolating);
	assert_string_equal(di.controller, "GICv3 ITS");
	assert_int_equal(di.doorbell_pa, ITS_DOORBELL);
	assert_ptr_equal(di.gic_its, w.its);
	assert_null(di.gicv2m);
	assert_int_equal(uiommu_msi_domain_get_info(w.v2m_dom, &di), 0);
	assert_false(di.its || di.isolating);
	assert_int_equal(di.doorbell_pa, V2M_DOORBELL);
	assert_int_equal(di.nr_cpus, 1);
	assert_ptr_equal(di.gicv2m, w.v2m);

	assert_int_equal(uiommu_msi_dev_get_info(t->md, &mi), 0);
	assert_ptr_equal(mi.domain, w.its_dom);
	assert_ptr_equal(mi.fn, t->fn);
	assert_ptr_equal(mi.iommu_dev, t->idev);
	assert_int_equal(mi.rid, t->rid);
	assert_int_equal(mi.devid, t->devid);
	assert_int_equal(mi.nvec, 0);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 5, 5,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), 0);
	assert_int_equal(uiommu_msi_set_affinity(t->md, 3, 1), 0);
	assert_int_equal(uiommu_msi_set_masked(t->md, 2, true), 0);
	assert_int_equal(uiommu_msi_dev_get_info(t->md, &mi), 0);
	assert_int_equal(mi.nvec, 5);
	assert_true(mi.msix);
	assert_int_equal(mi.hw_first, UIOMMU_GIC_FIRST_LPI);
	assert_true(mi.nr_hw >= 5);
	check_msix_table(&w, t, 5);		/* masked bit read back too */

	c.devid = t->devid;
	c.md = t->md;
	assert_int_equal(uiommu_gic_its_for_each_translation(w.its,
							     check_translation,
							     &c), 0);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.ok, 5);
	assert_int_equal(uiommu_msi_free_irq_vectors(t->md), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(uiommu_gic_its_for_each_translation(w.its,
							     check_translation,
							     &c), 0);
	assert_int_equal(c.n, 0);

	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_msi_domain_get_info(NULL, &di), -EINVAL);
	assert_int_equal(uiommu_msi_domain_get_info(w.its_dom, NULL), -EINVAL);
	assert_int_equal(uiommu_msi_dev_get_info(NULL, &mi), -EINVAL);
	assert_int_equal(uiommu_msi_dev_get_info(t->md, NULL), -EINVAL);
	{
		struct uiommu_pci_msi_msg m;

		assert_int_equal(uiommu_pci_irq_read_msg(t->fn, 0, &m, NULL),
				 -EINVAL);	/* freed */
		assert_int_equal(uiommu_pci_irq_read_msg(NULL, 0, &m, NULL),
				 -EINVAL);
		assert_int_equal(uiommu_pci_irq_read_msg(t->fn, 0, NULL, NULL),
				 -EINVAL);
	}
	tu_log_release();
	world_fini(&w);
}

static void test_multi_msi_its(void **state)
{
	(void)state;
	run_multi_msi(false);
}

static void test_multi_msi_v2m(void **state)
{
	(void)state;
	run_multi_msi(true);
}

static void test_bad_arguments_change_nothing(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_msi_vector_info vi;
	struct uiommu_msi_dev *dup;
	struct uiommu_msi_dev_desc dd = { .domain = NULL };
	unsigned int n = 0;

	(void)state;
	world_init(&w, false);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 0, 4,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), -EINVAL);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 4, 2,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), -EINVAL);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 1, 2, 0, &n),
			 -EINVAL);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 65, 80,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), -ENOSPC);
	assert_int_equal(uiommu_msi_get_vector(t->md, 0, &vi), -EINVAL);
	assert_int_equal(uiommu_msi_set_handler(t->md, 0, msi_world_on_irq, t), -EINVAL);
	dd.domain = w.its_dom;
	dd.fn = t->fn;
	assert_int_equal(uiommu_msi_dev_create(&dd, &dup), -EEXIST);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 4, 4,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), 0);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 4, 4,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), -EBUSY);
	assert_int_equal(uiommu_msi_dev_destroy(t->md), -EBUSY);
	assert_int_equal(uiommu_msi_get_vector(t->md, 4, &vi), -EINVAL);
	/* Another function with the same ITS DeviceID cannot have vectors
	 * at the same time: refused, and nothing of it is left. */
	{
		struct uiommu_msi_dev_desc same = {
			.domain = w.its_dom, .fn = w.d[1].fn,
			.iommu_dev = w.d[1].idev, .devid = t->devid,
			.handler = msi_world_on_irq, .opaque = &w.d[1],
		};
		struct uiommu_msi_domain_stats st;

		assert_int_equal(uiommu_msi_dev_destroy(w.d[1].md), 0);
		assert_int_equal(uiommu_msi_dev_create(&same, &w.d[1].md), 0);
		assert_int_equal(uiommu_msi_alloc_irq_vectors(w.d[1].md, 1, 1,
							      UIOMMU_PCI_IRQ_FLAG_MSIX,
							      &n), -EEXIST);
		assert_int_equal(pages_used(dev_domain(&w.d[1])), 0);
		uiommu_msi_domain_get_stats(w.its_dom, &st);
		assert_int_equal(st.vectors, 4);
		assert_int_equal(uiommu_msi_dev_destroy(w.d[1].md), 0);
		same.devid = w.d[1].devid;
		assert_int_equal(uiommu_msi_dev_create(&same, &w.d[1].md), 0);
	}
	tu_log_release();
	/* Per-vector handler overrides the device's default. */
	assert_int_equal(uiommu_msi_set_handler(t->md, 2, msi_world_on_irq, &w.d[1]), 0);
	reset_hits(&w.d[1]);
	raise_all_once(&w, t, 2);
	assert_int_equal(raise(&w, t, 2), 0);
	assert_int_equal(atomic_load(&w.d[1].hits[2]), 1);
	assert_int_equal(atomic_load(&t->hits[2]), 0);
	check_all(&w);
	world_fini(&w);
}

/* --------------------------------------------------------- fail-Nth */

struct sweep {
	struct world w;
	long live;
};

static int sweep_op(void *ctx)
{
	struct sweep *s = ctx;
	unsigned int n = 0;
	return uiommu_msi_alloc_irq_vectors(s->w.d[0].md, 32, 32,
					    UIOMMU_PCI_IRQ_FLAG_MSIX, &n);
}

static void sweep_check(void *ctx, int ret)
{
	struct sweep *s = ctx;
	struct tdev *t = &s->w.d[0];
	struct uiommu_pci_func_info info;
	struct uiommu_msi_domain_stats st;

	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(uiommu_msi_dev_nvec(t->md), 0);
	assert_int_equal(pages_used(dev_domain(t)), 0);
	uiommu_pci_func_get_info(t->fn, &info);
	assert_int_equal(info.irq_mode, UIOMMU_PCI_IRQ_NONE);
	uiommu_msi_domain_get_stats(s->w.its_dom, &st);
	assert_int_equal(st.vectors, 0);
	check_all(&s->w);
	assert_int_equal(tu_alloc_live_blocks(), s->live);
}

static void test_fail_nth_alloc_irq_vectors(void **state)
{
	struct sweep s;
	unsigned long points;
	unsigned int n = 0;

	(void)state;
	tu_alloc_install(0);
	world_init(&s.w, false);
	/* One round first: the ITS driver's device array keeps its capacity
	 * (host memory, not ITS state) once grown. */
	assert_int_equal(sweep_op(&s), 0);
	assert_int_equal(uiommu_msi_free_irq_vectors(s.w.d[0].md), 0);
	s.live = tu_alloc_live_blocks();
	tu_log_capture(UIOMMU_LOG_ERR);
	points = tu_fail_nth_sweep(&s, sweep_op, sweep_check, NULL);
	tu_log_release();
	assert_true(points > 3);
	/* After all that, the vectors work and the ITS tables are sane. */
	assert_int_equal(uiommu_msi_dev_nvec(s.w.d[0].md), 32);
	raise_all_once(&s.w, &s.w.d[0], 32);
	assert_int_equal(uiommu_msi_free_irq_vectors(s.w.d[0].md), 0);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(s.w.d[0].md, 32, 32,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), 0);
	raise_all_once(&s.w, &s.w.d[0], 32);
	assert_int_equal(uiommu_gic_its_check(s.w.its), 0);
	world_fini(&s.w);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	tu_alloc_uninstall();
}

/* ------------------------------------------------------------ threads */

#define RAISERS	2
#define ROUNDS	200
#define SWITCHES 20

struct raiser {
	struct tdev *t;
	atomic_bool *stop;
	atomic_uint *started;
	unsigned int first;		/* vectors first .. first + 15 */
	unsigned long sent, pended, faulted;
};

static void *raiser_main(void *arg)
{
	struct raiser *r = arg;

	atomic_fetch_add(r->started, 1);
	for (unsigned int i = 0; i < ROUNDS || !atomic_load(r->stop); i++)
		for (unsigned int v = r->first; v < r->first + 16; v++) {
			int ret = uiommu_pci_dev_notify(r->t->pd, v);

			if (ret < 0)
				r->faulted++;
			else if (ret)
				r->pended++;	/* sent when unmasked */
			else
				r->sent++;
		}
	return NULL;
}

/*
 * Two threads raise vectors while the group moves between its DMA domain
 * and an unmanaged one, and back.  Every message the device sends is
 * delivered exactly once; raises while a vector is held masked across a
 * move are sent on unmask; only messages already in flight when the mask
 * landed may fault.  After the last switch everything arrives again.
 */
static void test_threads_raise_during_domain_switch(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct raiser r[RAISERS];
	pthread_t th[RAISERS];
	struct uiommu_pci_dev_stats ds0, ds1;
	struct uiommu_domain *ud;
	struct uiommu_gic_its_stats is;
	struct uiommu_msi_domain_stats ms;
	unsigned long sent = 0, pended = 0, faulted = 0, hits = 0;
	unsigned int n = 0, i;
	atomic_bool stop = false;
	atomic_uint started = 0;

	(void)state;
	world_init(&w, false);
	assert_int_equal(uiommu_msi_alloc_irq_vectors(t->md, 32, 32,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n), 0);
	assert_int_equal(uiommu_domain_alloc(t->idev, UIOMMU_DOMAIN_UNMANAGED,
					     &ud), 0);
	uiommu_domain_set_fault_handler(ud, msi_world_quiet_fault, NULL);
	reset_hits(t);
	uiommu_pci_dev_get_stats(t->pd, &ds0);
	for (i = 0; i < RAISERS; i++) {
		r[i] = (struct raiser){
			.t = t, .first = 16 * i, .stop = &stop,
			.started = &started,
		};
		assert_int_equal(pthread_create(&th[i], NULL, raiser_main,
						&r[i]), 0);
	}
	while (atomic_load(&started) < RAISERS)
		sched_yield();
	for (i = 0; i < SWITCHES; i++) {
		assert_int_equal(uiommu_group_attach(uiommu_device_group(t->idev),
						     ud), 0);
		assert_int_equal(uiommu_group_detach(uiommu_device_group(t->idev)),
				 0);
	}
	atomic_store(&stop, true);
	for (i = 0; i < RAISERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		sent += r[i].sent;
		pended += r[i].pended;
		faulted += r[i].faulted;
	}
	uiommu_pci_dev_get_stats(t->pd, &ds1);
	for (i = 0; i < 32; i++)
		hits += atomic_load(&t->hits[i]);
	uiommu_gic_its_get_stats(w.its, &is);
	uiommu_msi_domain_get_stats(w.its_dom, &ms);
	/* Every raise was sent, held pending (several pending raises of one
	 * vector coalesce into one message) or faulted in the IOMMU. */
	assert_true(sent + pended + faulted >= RAISERS * ROUNDS * 16);
	/* The MSI layer holds the vectors masked across each move, so only a
	 * message already on its way when the mask landed can fault: at most
	 * one per raiser and move. */
	assert_true(faulted <= RAISERS * SWITCHES * 2);
	assert_int_equal(faulted, ds1.msi_faults - ds0.msi_faults);
	assert_int_equal(pended, ds1.msi_pended - ds0.msi_pended);
	/* Every message the device sent arrived exactly once. */
	assert_int_equal(hits, ds1.msi_sent - ds0.msi_sent);
	assert_true(hits >= sent && hits <= sent + pended);
	assert_int_equal(ms.delivered, hits);
	assert_int_equal(ms.spurious + ms.unhandled, 0);
	for (i = 0; i < UIOMMU_GIC_DROP_NR; i++)
		assert_int_equal(is.dropped[i], 0);
	print_message("%lu raises: %lu delivered at once, %lu held pending, "
		      "%lu faulted during the switches\n", sent + pended + faulted,
		      sent, pended, faulted);
	assert_int_equal(check_msix_table(&w, t, 32) >> 32, 0);
	raise_all_once(&w, t, 32);
	check_all(&w);
	assert_int_equal(uiommu_domain_free(ud), 0);
	world_fini(&w);
}

struct allocator {
	struct tdev *t;
	atomic_bool done;
	int err;
};

static void *allocator_main(void *arg)
{
	struct allocator *a = arg;
	unsigned int n;

	for (int i = 0; i < 30 && !a->err; i++) {
		a->err = uiommu_msi_alloc_irq_vectors(a->t->md, 32, 32,
						      UIOMMU_PCI_IRQ_FLAG_MSIX,
						      &n);
		if (!a->err && i < 29)
			a->err = uiommu_msi_free_irq_vectors(a->t->md);
	}
	atomic_store(&a->done, true);
	return NULL;
}

/*
 * Vectors allocated and freed while the group moves back and forth: a
 * move that lands while the PCI core is still programming the messages is
 * caught either by the rewrite callback or by the allocation's own second
 * look, so the table always ends up pointing at the current domain's
 * doorbell page, and no binding is left behind in the other domain.
 */
static void test_threads_alloc_during_domain_switch(void **state)
{
	struct world w;
	struct tdev *t = &w.d[0];
	struct allocator a = { .t = t };
	struct uiommu_group *g;
	struct uiommu_domain *dma, *ud;
	pthread_t th;
	unsigned int moves = 0;

	(void)state;
	world_init(&w, false);
	g = uiommu_device_group(t->idev);
	dma = dev_domain(t);
	assert_int_equal(uiommu_domain_alloc(t->idev, UIOMMU_DOMAIN_UNMANAGED,
					     &ud), 0);
	uiommu_domain_set_fault_handler(ud, msi_world_quiet_fault, NULL);
	assert_int_equal(pthread_create(&th, NULL, allocator_main, &a), 0);
	while (!atomic_load(&a.done)) {
		assert_int_equal(uiommu_group_attach(g, moves & 1 ? dma : ud), 0);
		moves++;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.err, 0);
	assert_int_equal(uiommu_msi_dev_nvec(t->md), 32);
	check_msix_table(&w, t, 32);
	assert_int_equal(pages_used(dev_domain(t)), 1);
	assert_int_equal(pages_used(dev_domain(t) == dma ? ud : dma), 0);
	raise_all_once(&w, t, 32);
	check_all(&w);
	assert_int_equal(uiommu_msi_free_irq_vectors(t->md), 0);
	assert_int_equal(uiommu_group_detach(g), 0);
	assert_int_equal(uiommu_domain_free(ud), 0);
	world_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msix_dma_domain_32_vectors),
		cmocka_unit_test(test_inspection_matches_vectors),
		cmocka_unit_test(test_second_device_shares_the_page),
		cmocka_unit_test(test_unmanaged_default_window),
		cmocka_unit_test(test_domain_switch_with_live_vectors),
		cmocka_unit_test(test_v2m_spis_not_isolated),
		cmocka_unit_test(test_multi_msi_its),
		cmocka_unit_test(test_multi_msi_v2m),
		cmocka_unit_test(test_bad_arguments_change_nothing),
		cmocka_unit_test(test_fail_nth_alloc_irq_vectors),
		cmocka_unit_test(test_threads_raise_during_domain_switch),
		cmocka_unit_test(test_threads_alloc_during_domain_switch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
