// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a hostile guest and device against the PCI models.  The
 * input is a sequence of operations (configuration writes through ECAM,
 * BAR accesses, vector raises, DMA, decode updates) on a host bridge with a
 * test device (MSI + MSI-X) and a generic function.  Whatever the input,
 * nothing may crash and every invariant checker must pass at the end.
 *
 * Operation encoding, one byte of kind then little-endian fields:
 *   0 ECAM write: devsel(1) off(2) size(1) val(8)
 *   1 BAR write:  bar(1) off(2) size(1) val(8)     bar 0/2 of the test device
 *   2 BAR read:   bar(1) off(2) size(1)
 *   3 raise:      vector(2)
 *   4 DMA:        iova(8) len(2) write(1)
 *   5 update decode
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/pci.h>
#include <uiommu/physmem.h>

#define ECAM	UINT64_C(0x30000000)
#define RAM	UINT64_C(0x40000000)
#define DB	UINT64_C(0x08090000)

struct in {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct in *in, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static void quiet(void *o, enum uiommu_log_level l, const char *s,
		  const char *m)
{
}

static int db_read(void *o, uint64_t off, unsigned int size, uint64_t *val,
		   const struct uiommu_memattrs *a)
{
	*val = 0;
	return 0;
}

static int db_write(void *o, uint64_t off, unsigned int size, uint64_t val,
		    const struct uiommu_memattrs *a)
{
	return 0;
}

static const struct uiommu_mmio_ops db_ops = { db_read, db_write };

/* BAR address from the device's current configuration (decode or not). */
static uint64_t bar_addr(struct uiommu_pci_host *h, unsigned int bar)
{
	uint32_t lo = 0, hi = 0;

	if (uiommu_pci_host_cfg_read(h, 0, 8, 0x10 + 4 * bar, 4, &lo) ||
	    (bar == 0 && uiommu_pci_host_cfg_read(h, 0, 8, 0x14, 4, &hi)))
		abort();
	return ((uint64_t)hi << 32) | (lo & ~0xfu);
}

static unsigned int size_of(uint64_t sel)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };

	return sizes[sel & 3];
}

static void one_op(struct uiommu_physmem *pm, struct uiommu_pci_host *h,
		   struct uiommu_pci_dev *td, struct in *in)
{
	uint64_t v, a;
	unsigned int size, sel;
	uint8_t buf[256];
	unsigned int kind = (unsigned int)(take(in, 1) % 6);

	switch (kind) {
	case 0:
		sel = (unsigned int)take(in, 1) % 3;
		a = ECAM + ((uint64_t)(8 * sel) << 12) + (take(in, 2) & 0xfff);
		size = size_of(take(in, 1));
		v = take(in, 8);
		(void)!uiommu_phys_st(pm, a & ~(uint64_t)(size - 1), size, v, NULL);
		break;
	case 1:
	case 2:
		sel = take(in, 1) & 1 ? 2 : 0;
		a = bar_addr(h, sel) + (take(in, 2) & 0xffff);
		size = size_of(take(in, 1));
		if (kind == 1) {
			v = take(in, 8);
			(void)!uiommu_phys_st(pm, a & ~(uint64_t)(size - 1),
					      size, v, NULL);
		} else {
			(void)!uiommu_phys_ld(pm, a & ~(uint64_t)(size - 1),
					      size, &v, NULL);
		}
		break;
	case 3:
		(void)!uiommu_pci_dev_notify(td, (unsigned int)take(in, 2) % 2100);
		break;
	case 4:
		a = take(in, 8);
		v = take(in, 2) % sizeof(buf);
		(void)!uiommu_pci_dev_dma(td, a, buf, (size_t)v, take(in, 1) & 1,
					  NULL);
		break;
	default:
		(void)!uiommu_pci_host_update_decode(h);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uiommu_pci_host_desc hd = { "pcie", ECAM, 0, 0, NULL, NULL };
	struct uiommu_testdev_config tc = { "td0", 32, 64, 0x1d };
	struct uiommu_pci_dev_desc gd = { .name = "g", .vendor_id = 0x1af4 };
	struct uiommu_pci_bar_desc gb = { .size = 4096,
					  .flags = UIOMMU_PCI_BAR_64 |
						   UIOMMU_PCI_BAR_PREFETCH };
	struct uiommu_mmio_desc dd = { .name = "db", .owner = "fuzz",
				       .size = 4096, .ops = &db_ops };
	struct uiommu_physmem *pm;
	struct uiommu_pci_host *h;
	struct uiommu_pci_dev *td, *g;
	struct in in = { data, size };

	uiommu_set_log_handler(quiet, NULL);
	if (uiommu_physmem_create(48, &pm) ||
	    uiommu_physmem_add_ram(pm, "ram", RAM, 1 << 20, NULL, NULL) ||
	    uiommu_physmem_add_mmio(pm, DB, &dd))
		abort();
	hd.dma_ops = uiommu_pci_dma_physmem_ops();
	hd.dma_opaque = pm;
	if (uiommu_pci_host_create(pm, &hd, &h) ||
	    uiommu_testdev_create(&tc, &td) ||
	    uiommu_pci_host_plug(h, 0, 8, td) ||
	    uiommu_pci_dev_create(&gd, &g) ||
	    uiommu_pci_dev_add_bar(g, 0, &gb) ||
	    uiommu_pci_dev_add_msi(g, 4, 0) ||
	    uiommu_pci_host_plug(h, 0, 16, g))
		abort();
	for (unsigned int n = 0; in.left && n < 4096; n++)
		one_op(pm, h, td, &in);
	(void)!uiommu_pci_host_update_decode(h);
	if (uiommu_pci_host_check(h) || uiommu_physmem_check(pm))
		abort();
	uiommu_pci_host_destroy(h);
	uiommu_physmem_destroy(pm);
	uiommu_set_log_handler(NULL, NULL);
	return 0;
}
