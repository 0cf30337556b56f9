// SPDX-License-Identifier: MIT
/* The MSI layer's test machine (see msi_world.h). */
#include <stdio.h>
#include <string.h>

#include "msi_world.h"

#define CHK(x) do { if ((err = (x))) return err; } while (0)

/* msi-map = <0x0 &its 0x100 0x10000>, as the machine would read it. */
static const uint32_t msi_map_cells[] = { 0x0, 1, DEVID_BASE, 0x10000 };

uint32_t msi_world_devid(uint16_t rid)
{
	struct uiommu_id_map map = {
		.cells = msi_map_cells, .ncells = 4, .name = "msi-map",
	};
	uint32_t out = 0;

	return uiommu_map_id(&map, rid, NULL, &out, NULL) ? UINT32_MAX : out;
}

/*
 * The host bridge's upstream port: translate through the test IOMMU (the
 * RID is the stream ID), then access physical memory with the msi-map
 * DeviceID as the write's source ID, as an SMMU passes it to the ITS.
 */
static int port_access(void *opaque, uint16_t rid, uint64_t iova, void *buf,
		       size_t len, bool write, struct uiommu_dma_fault *fault)
{
	struct world *w = opaque;
	struct uiommu_memattrs attrs = {
		.source_id = msi_world_devid(rid),
		.flags = UIOMMU_MEMATTR_SOURCE_VALID,
	};
	uint8_t *p = buf;

	while (len) {
		size_t chunk = 4096 - (iova & 4095);
		uint64_t pa;
		int err;

		if (chunk > len)
			chunk = len;
		err = uio_testiommu_translate(w->ti, rid, iova,
					      write ? UIO_TESTIOMMU_WRITE :
						      UIO_TESTIOMMU_READ, &pa);
		if (err) {
			atomic_fetch_add(&w->faults, 1);
			*fault = (struct uiommu_dma_fault){
				UIOMMU_DMA_FAULT_TRANSLATION, iova, write, 0,
			};
			return -EFAULT;
		}
		err = write ? uiommu_phys_write(w->pm, pa, p, chunk, &attrs) :
			      uiommu_phys_read(w->pm, pa, p, chunk, &attrs);
		if (err) {
			*fault = (struct uiommu_dma_fault){
				UIOMMU_DMA_FAULT_BUS, iova, write, 0,
			};
			return -EFAULT;
		}
		iova += chunk;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

static const struct uiommu_pci_dma_ops port_ops = { port_access };

void msi_world_on_irq(void *opaque, unsigned int vector)
{
	struct tdev *t = opaque;

	if (vector < MAXVEC)
		atomic_fetch_add(&t->hits[vector], 1);
}

int msi_world_quiet_fault(void *opaque, struct uiommu_domain *dom,
			  const struct uiommu_fault *f)
{
	return 0;
}

int msi_world_init(struct world *w, bool use_v2m)
{
	struct uiommu_gic_its_config ic = {
		.name = "its", .base = ITS_BASE, .nr_cpus = 2,
	};
	struct uiommu_gicv2m_config vc = {
		.name = "v2m", .base = V2M_BASE, .spi_base = V2M_SPI_BASE,
		.nr_spis = 64,
	};
	struct uio_testiommu_cfg tc = { .granule_shift = 12, .pci_groups = true };
	struct uiommu_pci_host_desc hd = {
		.name = "pcie@3f000000", .ecam_base = ECAM_BASE,
		.bus_start = 0, .bus_end = 0, .dma_ops = &port_ops,
	};
	struct uiommu_pci_core_desc cd = {
		.cfg_ops = uiommu_pci_host_cfg_ops(), .bus_start = 0,
		.bus_end = 0, .mem_base = MEM_BASE, .mem_size = MEM_SIZE,
	};
	struct uiommu_msi_its_desc itsd = { .name = "its@8080000", .nr_cpus = 2 };
	struct uiommu_msi_v2m_desc v2md = { .name = "v2m@8020000" };
	int i, err;

	memset(w, 0, sizeof(*w));
	w->use_v2m = use_v2m;
	CHK(uiommu_physmem_create(48, &w->pm));
	CHK(uiommu_physmem_add_ram(w->pm, "ram", RAM_BASE, RAM_SIZE, NULL,
				   NULL));
	CHK(uiommu_phys_pool_create(w->pm, RAM_BASE, POOL_SIZE, &w->pool));
	CHK(uiommu_gic_its_create(w->pm, &ic, &w->its));
	CHK(uiommu_gicv2m_create(w->pm, &vc, &w->v2m));
	tc.pm = w->pm;
	tc.pool = w->pool;
	CHK(uio_testiommu_create(&tc, &w->ti));
	w->iommu = uio_testiommu_iommu(w->ti);

	/* The drivers probe their controllers: the MSI domains. */
	itsd.its = w->its;
	itsd.pool = w->pool;
	CHK(uiommu_msi_domain_create_its(&itsd, &w->its_dom));
	v2md.v2m = w->v2m;
	v2md.pm = w->pm;
	CHK(uiommu_msi_domain_create_v2m(&v2md, &w->v2m_dom));

	hd.dma_opaque = w;
	CHK(uiommu_pci_host_create(w->pm, &hd, &w->host));
	for (i = 0; i < NDEV; i++) {
		char name[16];
		struct uiommu_testdev_config tdc = {
			.name = name, .msi_vectors = 32, .msix_vectors = MAXVEC,
		};

		snprintf(name, sizeof(name), "testdev%d", i);
		CHK(uiommu_testdev_create(&tdc, &w->d[i].pd));
		CHK(uiommu_pci_host_plug(w->host, 0, UIOMMU_PCI_DEVFN(i + 1, 0),
					 w->d[i].pd));
	}
	cd.pm = w->pm;
	cd.cfg_opaque = w->host;
	CHK(uiommu_pci_core_create(&cd, &w->core));
	CHK(uiommu_pci_core_enumerate(w->core));
	if (uiommu_pci_core_count(w->core) != NDEV)
		return -ENODEV;

	for (i = 0; i < NDEV; i++) {
		struct tdev *t = &w->d[i];
		struct uiommu_pci_func_info info;
		struct uiommu_msi_domain *md = use_v2m ? w->v2m_dom : w->its_dom;
		struct uiommu_msi_ctrl *ctrl = uiommu_msi_domain_ctrl(md);
		uint32_t sid;
		struct uiommu_device_desc dd = {
			.name = uiommu_pci_dev_name(t->pd), .ids = &sid,
			.nids = 1, .pci = true, .pci_acs = true,
			.msi_ctrls = &ctrl, .nmsi_ctrls = 1,
		};
		struct uiommu_msi_dev_desc mdd = {
			.domain = md, .handler = msi_world_on_irq, .opaque = t,
		};

		t->fn = uiommu_pci_core_func(w->core, i);
		uiommu_pci_func_get_info(t->fn, &info);
		t->rid = info.rid;
		t->bar0 = info.bar[0].addr;
		t->bar2 = info.bar[2].addr;
		t->devid = msi_world_devid(t->rid);
		sid = t->rid;
		dd.pci_rid = t->rid;
		CHK(uiommu_device_create(w->iommu, &dd, &t->idev));
		uiommu_domain_set_fault_handler(
			uiommu_group_domain(uiommu_device_group(t->idev)),
			msi_world_quiet_fault, NULL);
		CHK(uiommu_pci_func_set_master(t->fn, true));
		mdd.fn = t->fn;
		mdd.iommu_dev = t->idev;
		mdd.devid = t->devid;
		CHK(uiommu_msi_dev_create(&mdd, &t->md));
	}
	return 0;
}

/* Free what msi_world_init() made (vectors still allocated included). */
int msi_world_fini(struct world *w)
{
	int i, err;

	for (i = 0; i < NDEV; i++) {
		struct tdev *t = &w->d[i];

		if (uiommu_msi_dev_nvec(t->md))
			CHK(uiommu_msi_free_irq_vectors(t->md));
		CHK(uiommu_msi_dev_destroy(t->md));
		CHK(uiommu_group_detach(uiommu_device_group(t->idev)));
		CHK(uiommu_device_destroy(t->idev));
	}
	uiommu_pci_core_destroy(w->core);
	uiommu_pci_host_destroy(w->host);
	CHK(uiommu_msi_domain_destroy(w->its_dom));
	CHK(uiommu_msi_domain_destroy(w->v2m_dom));
	CHK(uio_testiommu_destroy(w->ti));
	uiommu_gicv2m_destroy(w->v2m);
	uiommu_gic_its_destroy(w->its);
	uiommu_phys_pool_destroy(w->pool);
	uiommu_physmem_destroy(w->pm);
	return 0;
}
