// SPDX-License-Identifier: MIT
/*
 * PCI Express ECAM host bridge.
 *
 * The ECAM window is one MMIO region of (bus count) x 1 MiB; an access at
 * offset A reaches bus bus_start + A[27:20], device A[19:15], function
 * A[14:12], register A[11:0] (PCIe 6.0, 7.2.2).  Absent functions read
 * all-ones and ignore writes, as an Unsupported Request completes on a
 * configuration read.
 *
 * The host bridge also keeps the physical address space in step with BAR
 * decoding: each decoded BAR is a region "<dev>.bar<N>".  Changes made
 * through uiommu_pci_host_cfg_write() are applied at once; through the ECAM
 * region (a physical-memory callback, which may not add regions) they are
 * recorded and applied by uiommu_pci_host_update_decode().
 *
 * Upstream, the host bridge is the DMA port its functions master through.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "pci-internal.h"
#include "trace.h"

#define SUBSYS "pci"

/* ECAM address (PCIe 6.0, 7.2.2, Table 7-1) */
UIO_FIELD(PCI_ECAM, REG, 0, 12);
UIO_FIELD(PCI_ECAM, DEVFN, 12, 8);	/* Device [19:15], Function [14:12] */
UIO_FIELD(PCI_ECAM, BUS, 20, 8);

struct uiommu_pci_host {
	struct uio_mutex lock;		/* plugging and decoding updates */
	struct uiommu_physmem *pm;
	char *name;
	char *ecam_name;
	uint64_t ecam_base;
	unsigned int bus_start, bus_end;
	const struct uiommu_pci_dma_ops *dma_ops;
	void *dma_opaque;
	struct uiommu_pci_dev **slots;	/* [bus - bus_start][devfn] */
	struct uiommu_pci_dev *plugged;	/* list through dev->host_next */
	int dirty;			/* decoding changed through ECAM */
};

static unsigned int nbus(const struct uiommu_pci_host *host)
{
	return host->bus_end - host->bus_start + 1;
}

static struct uiommu_pci_dev **slot(struct uiommu_pci_host *host,
				    unsigned int bus, unsigned int devfn)
{
	return &host->slots[(bus - host->bus_start) * 256 + devfn];
}

static struct uiommu_pci_dev *lookup(struct uiommu_pci_host *host,
				     unsigned int bus, unsigned int devfn)
{
	if (bus < host->bus_start || bus > host->bus_end || devfn > 255)
		return NULL;
	return __atomic_load_n(slot(host, bus, devfn), __ATOMIC_ACQUIRE);
}

void uio_pci_host_port(struct uiommu_pci_host *host, struct uio_pci_port *p)
{
	p->ops = host->dma_ops;
	p->opaque = host->dma_opaque;
}

void uio_pci_host_mark_dirty(struct uiommu_pci_host *host)
{
	__atomic_store_n(&host->dirty, 1, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------- BAR decoding */

static void bar_unmap(struct uiommu_pci_host *host, struct uio_pci_bar *b)
{
	struct uiommu_pci_dev *dev = b->dev;
	uint64_t addr = b->mapped_addr;

	uio_assert_held(&host->lock);
	uio_lock(&dev->lock);
	b->mapped = false;
	uio_unlock(&dev->lock);
	if (uiommu_physmem_remove(host->pm, addr))
		uio_err(SUBSYS, "%s: BAR %u region at 0x%" PRIx64 " vanished",
			dev->name, b->index, addr);
	trace_pci_bar_unmap(dev->name, b->index, addr);
}

static int bar_map(struct uiommu_pci_host *host, struct uio_pci_bar *b,
		   uint64_t addr)
{
	struct uiommu_pci_dev *dev = b->dev;
	struct uiommu_mmio_desc d = {
		.name = b->region_name,
		.owner = dev->name,
		.size = b->size,
		.ops = uio_pci_bar_mmio_ops(),
		.opaque = b,
		.regs = b->regs,
		.nregs = b->nregs,
	};
	int ret;

	uio_assert_held(&host->lock);
	/* Mark it live first: an access may arrive as soon as it is added. */
	uio_lock(&dev->lock);
	b->mapped = true;
	b->mapped_addr = addr;
	uio_unlock(&dev->lock);
	ret = uiommu_physmem_add_mmio(host->pm, addr, &d);
	if (!ret) {
		b->bad_logged = false;
		trace_pci_bar_map(dev->name, b->index, addr, b->size);
		return 0;
	}
	uio_lock(&dev->lock);
	b->mapped = false;
	uio_unlock(&dev->lock);
	if (ret == -ENOMEM)
		return ret;
	if (!b->bad_logged || b->bad_addr != addr) {
		uio_guest_error(SUBSYS, "%s: BAR %u at 0x%" PRIx64 " size 0x%"
				PRIx64 " cannot be decoded (%s)", dev->name,
				b->index, addr, b->size, uiommu_strerror(ret));
		uio_lock(&dev->lock);
		dev->stats.guest_errors++;
		uio_unlock(&dev->lock);
	}
	b->bad_logged = true;
	b->bad_addr = addr;
	return 0;
}

/* Bring @dev's BAR regions in line with its configuration space. */
static int update_dev(struct uiommu_pci_host *host, struct uiommu_pci_dev *dev)
{
	int ret = 0;

	uio_assert_held(&host->lock);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct uio_pci_bar *b = &dev->bar[i];
		uint64_t addr = 0;
		bool want;

		uio_lock(&dev->lock);
		want = uio_pci_bar_decoded(dev, i, &addr);
		uio_unlock(&dev->lock);
		if (b->mapped && (!want || addr != b->mapped_addr))
			bar_unmap(host, b);
		if (want && !b->mapped) {
			int r = bar_map(host, b, addr);

			if (r)
				ret = r;
		}
	}
	return ret;
}

static int update_all(struct uiommu_pci_host *host)
{
	int ret = 0;

	uio_assert_held(&host->lock);
	__atomic_store_n(&host->dirty, 0, __ATOMIC_RELAXED);
	for (struct uiommu_pci_dev *d = host->plugged; d; d = d->host_next) {
		int r = update_dev(host, d);

		if (r)
			ret = r;
	}
	if (ret)
		uio_pci_host_mark_dirty(host);
	return ret;
}

UIOMMU_API int uiommu_pci_host_update_decode(struct uiommu_pci_host *host)
{
	int ret = 0;

	if (!host)
		return uio_fail(-EINVAL, SUBSYS, "update_decode: NULL host");
	uio_lock(&host->lock);
	if (__atomic_load_n(&host->dirty, __ATOMIC_ACQUIRE))
		ret = update_all(host);
	uio_unlock(&host->lock);
	return ret;
}

/* ------------------------------------------------ configuration access */

static bool cfg_args_ok(unsigned int offset, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && offset < PCI_CFG_SIZE &&
	       !(offset & (size - 1));
}

static uint32_t cfg_read(struct uiommu_pci_host *host, unsigned int bus,
			 unsigned int devfn, unsigned int off,
			 unsigned int size)
{
	struct uiommu_pci_dev *dev = lookup(host, bus, devfn);
	uint32_t v = dev ? uio_pci_dev_cfg_read(dev, off, size) :
			   (uint32_t)(UIO_GENMASK(8 * size - 1, 0));

	trace_pci_cfg_read(bus, devfn, off, size, v);
	return v;
}

/* Returns true if BAR decoding of the target may have changed. */
static bool cfg_write(struct uiommu_pci_host *host, unsigned int bus,
		      unsigned int devfn, unsigned int off, unsigned int size,
		      uint32_t val, struct uiommu_pci_dev **target)
{
	struct uiommu_pci_dev *dev = lookup(host, bus, devfn);

	trace_pci_cfg_write(bus, devfn, off, size, val);
	*target = dev;
	return dev && uio_pci_dev_cfg_write(dev, off, size, val);
}

UIOMMU_API int uiommu_pci_host_cfg_read(struct uiommu_pci_host *host,
					unsigned int bus, unsigned int devfn,
					unsigned int offset, unsigned int size,
					uint32_t *val)
{
	if (!host || !val || !cfg_args_ok(offset, size))
		return uio_fail(-EINVAL, SUBSYS, "cfg_read: offset 0x%x size %u",
				offset, size);
	*val = cfg_read(host, bus, devfn, offset, size);
	return 0;
}

UIOMMU_API int uiommu_pci_host_cfg_write(struct uiommu_pci_host *host,
					 unsigned int bus, unsigned int devfn,
					 unsigned int offset, unsigned int size,
					 uint32_t val)
{
	struct uiommu_pci_dev *dev;
	int ret = 0;

	if (!host || !cfg_args_ok(offset, size))
		return uio_fail(-EINVAL, SUBSYS,
				"cfg_write: offset 0x%x size %u", offset, size);
	if (cfg_write(host, bus, devfn, offset, size, val, &dev) ||
	    __atomic_load_n(&host->dirty, __ATOMIC_ACQUIRE)) {
		uio_lock(&host->lock);
		if (__atomic_load_n(&host->dirty, __ATOMIC_ACQUIRE))
			ret = update_all(host);
		else if (dev && dev->host == host)
			ret = update_dev(host, dev);
		uio_unlock(&host->lock);
	}
	return ret;
}

static int ops_read(void *opaque, unsigned int bus, unsigned int devfn,
		    unsigned int offset, unsigned int size, uint32_t *val)
{
	return uiommu_pci_host_cfg_read(opaque, bus, devfn, offset, size, val);
}

static int ops_write(void *opaque, unsigned int bus, unsigned int devfn,
		     unsigned int offset, unsigned int size, uint32_t val)
{
	return uiommu_pci_host_cfg_write(opaque, bus, devfn, offset, size, val);
}

static const struct uiommu_pci_cfg_ops host_cfg_ops = {
	.read = ops_read,
	.write = ops_write,
};

UIOMMU_API const struct uiommu_pci_cfg_ops *uiommu_pci_host_cfg_ops(void)
{
	return &host_cfg_ops;
}

/* ECAM region callbacks: 8-byte accesses are split into two DWORDs. */
static int ecam_read(void *opaque, uint64_t offset, unsigned int size,
		     uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_pci_host *host = opaque;
	unsigned int bus = host->bus_start + (unsigned int)UIO_FEX64(offset, PCI_ECAM, BUS);
	unsigned int devfn = (unsigned int)UIO_FEX64(offset, PCI_ECAM, DEVFN);
	unsigned int reg = (unsigned int)UIO_FEX64(offset, PCI_ECAM, REG);

	if (size == 8) {
		*val = cfg_read(host, bus, devfn, reg, 4) |
		       (uint64_t)cfg_read(host, bus, devfn, reg + 4, 4) << 32;
		return 0;
	}
	*val = cfg_read(host, bus, devfn, reg, size);
	return 0;
}

static int ecam_write(void *opaque, uint64_t offset, unsigned int size,
		      uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_pci_host *host = opaque;
	unsigned int bus = host->bus_start + (unsigned int)UIO_FEX64(offset, PCI_ECAM, BUS);
	unsigned int devfn = (unsigned int)UIO_FEX64(offset, PCI_ECAM, DEVFN);
	unsigned int reg = (unsigned int)UIO_FEX64(offset, PCI_ECAM, REG);
	struct uiommu_pci_dev *dev;
	bool changed;

	if (size == 8) {
		changed = cfg_write(host, bus, devfn, reg, 4, (uint32_t)val, &dev);
		changed |= cfg_write(host, bus, devfn, reg + 4, 4,
				     (uint32_t)(val >> 32), &dev);
	} else {
		changed = cfg_write(host, bus, devfn, reg, size, (uint32_t)val,
				    &dev);
	}
	if (changed)
		uio_pci_host_mark_dirty(host);
	return 0;
}

static const struct uiommu_mmio_ops ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
};

/* ------------------------------------------------------------ lifecycle */

static int host_validate(struct uiommu_physmem *pm,
			 const struct uiommu_pci_host_desc *desc,
			 struct uiommu_pci_host **out)
{
	if (!pm || !desc || !out || !desc->name)
		return uio_fail(-EINVAL, SUBSYS, "host: NULL argument");
	if (desc->bus_start > desc->bus_end || desc->bus_end > 255 ||
	    !uio_is_aligned(desc->ecam_base, PCI_ECAM_BUS_SIZE))
		return uio_fail(-EINVAL, SUBSYS,
				"%s: ECAM base 0x%" PRIx64 " bus-range %u-%u",
				desc->name, desc->ecam_base, desc->bus_start,
				desc->bus_end);
	return 0;
}

UIOMMU_API int uiommu_pci_host_create(struct uiommu_physmem *pm,
				      const struct uiommu_pci_host_desc *desc,
				      struct uiommu_pci_host **out)
{
	struct uiommu_pci_host *host;
	struct uiommu_mmio_desc md;
	char name[160];
	int ret;

	ret = host_validate(pm, desc, out);
	if (ret)
		return ret;
	host = uio_new(struct uiommu_pci_host);
	if (!host)
		return -ENOMEM;
	host->pm = pm;
	host->ecam_base = desc->ecam_base;
	host->bus_start = desc->bus_start;
	host->bus_end = desc->bus_end;
	host->dma_ops = desc->dma_ops;
	host->dma_opaque = desc->dma_opaque;
	uio_mutex_init(&host->lock);
	ret = -ENOMEM;
	host->name = uio_strdup(desc->name);
	if (!host->name)
		goto err_free_host;
	snprintf(name, sizeof(name), "%s.ecam", desc->name);
	host->ecam_name = uio_strdup(name);
	if (!host->ecam_name)
		goto err_free_name;
	host->slots = uio_calloc((size_t)nbus(host) * 256, sizeof(*host->slots));
	if (!host->slots)
		goto err_free_ecam_name;
	md = (struct uiommu_mmio_desc){
		.name = host->ecam_name,
		.owner = host->name,
		.size = nbus(host) * PCI_ECAM_BUS_SIZE,
		.ops = &ecam_ops,
		.opaque = host,
	};
	ret = uiommu_physmem_add_mmio(pm, desc->ecam_base, &md);
	if (ret)
		goto err_free_slots;
	*out = host;
	return 0;

err_free_slots:
	uio_free_array(host->slots, (size_t)nbus(host) * 256,
		       sizeof(*host->slots));
err_free_ecam_name:
	uio_free_str(host->ecam_name);
err_free_name:
	uio_free_str(host->name);
err_free_host:
	uio_mutex_destroy(&host->lock);
	uio_delete(host);
	return ret;
}

/*
 * Wait until no callback of a region removed so far can still run, before
 * freeing what the callbacks use.  Called with no PCI lock held.
 */
static void sync_callbacks(struct uiommu_pci_host *host)
{
	int ret = uiommu_physmem_synchronize(host->pm);

	if (ret)
		uio_err(SUBSYS, "%s: cannot wait for MMIO callbacks (%s); "
			"unplug or destroy from an MMIO callback?", host->name,
			uiommu_strerror(ret));
}

UIOMMU_API void uiommu_pci_host_destroy(struct uiommu_pci_host *host)
{
	if (!host)
		return;
	while (host->plugged)
		uiommu_pci_dev_destroy(host->plugged);
	if (uiommu_physmem_remove(host->pm, host->ecam_base))
		uio_err(SUBSYS, "%s: ECAM region vanished", host->name);
	sync_callbacks(host);
	uio_free_array(host->slots, (size_t)nbus(host) * 256,
		       sizeof(*host->slots));
	uio_free_str(host->ecam_name);
	uio_free_str(host->name);
	uio_mutex_destroy(&host->lock);
	uio_delete(host);
}

UIOMMU_API void uiommu_pci_host_set_dma(struct uiommu_pci_host *host,
					const struct uiommu_pci_dma_ops *ops,
					void *opaque)
{
	if (!host)
		return;
	host->dma_ops = ops;
	host->dma_opaque = opaque;
}

/*
 * Header Type bit 7 (Multi-Function Device) of every function of the
 * device: set when a function other than 0 is present, as Linux reads it
 * per function (for scanning and for grouping).
 */
static void update_multifunction(struct uiommu_pci_host *host,
				 unsigned int bus, unsigned int devfn)
{
	bool multi = false;

	for (unsigned int fn = 1; fn < 8; fn++)
		multi |= lookup(host, bus, (devfn & ~7u) | fn) != NULL;
	for (unsigned int fn = 0; fn < 8; fn++) {
		struct uiommu_pci_dev *d = lookup(host, bus, (devfn & ~7u) | fn);

		if (!d)
			continue;
		uio_lock(&d->lock);
		d->cfg[PCI_HEADER_TYPE] =
			(uint8_t)UIO_FDP32(0, PCI_HDR, MULTI, multi);
		uio_unlock(&d->lock);
	}
}

UIOMMU_API struct uiommu_pci_dev *
uiommu_pci_host_find(struct uiommu_pci_host *host, unsigned int bus,
		     unsigned int devfn)
{
	return host ? lookup(host, bus, devfn) : NULL;
}

UIOMMU_API int
uiommu_pci_host_for_each(struct uiommu_pci_host *host,
			 int (*fn)(void *opaque, struct uiommu_pci_dev *dev,
				   unsigned int bus, unsigned int devfn),
			 void *opaque)
{
	if (!host || !fn)
		return uio_fail(-EINVAL, SUBSYS, "for_each: NULL argument");
	for (unsigned int bus = host->bus_start; bus <= host->bus_end; bus++)
		for (unsigned int devfn = 0; devfn < 256; devfn++) {
			struct uiommu_pci_dev *d = lookup(host, bus, devfn);
			int ret = d ? fn(opaque, d, bus, devfn) : 0;

			if (ret)
				return ret;
		}
	return 0;
}

UIOMMU_API int uiommu_pci_host_plug(struct uiommu_pci_host *host,
				    unsigned int bus, unsigned int devfn,
				    struct uiommu_pci_dev *dev)
{
	int ret = 0;

	if (!host || !dev || devfn > 255)
		return uio_fail(-EINVAL, SUBSYS, "plug: bad argument");
	if (bus < host->bus_start || bus > host->bus_end)
		return uio_fail(-ERANGE, SUBSYS, "%s: bus %u outside %u-%u",
				host->name, bus, host->bus_start, host->bus_end);
	uio_lock(&host->lock);
	if (dev->host)
		ret = uio_fail(-EBUSY, SUBSYS, "%s: already plugged", dev->name);
	else if (*slot(host, bus, devfn))
		ret = uio_fail(-EEXIST, SUBSYS, "%s: %02x:%02x.%x is taken",
			       host->name, bus, devfn >> 3, devfn & 7);
	if (ret) {
		uio_unlock(&host->lock);
		return ret;
	}
	uio_lock(&dev->lock);
	dev->host = host;
	dev->bus = bus;
	dev->devfn = devfn;
	uio_unlock(&dev->lock);
	dev->host_next = host->plugged;
	host->plugged = dev;
	__atomic_store_n(slot(host, bus, devfn), dev, __ATOMIC_RELEASE);
	update_multifunction(host, bus, devfn);
	/* A function plugged again keeps its decoding; a new one has none. */
	if (update_dev(host, dev))
		uio_pci_host_mark_dirty(host);
	uio_unlock(&host->lock);
	uio_info(SUBSYS, "%s: %s plugged at %02x:%02x.%x", host->name,
		 dev->name, bus, devfn >> 3, devfn & 7);
	return 0;
}

UIOMMU_API int uiommu_pci_host_unplug(struct uiommu_pci_dev *dev)
{
	struct uiommu_pci_host *host;
	struct uiommu_pci_dev **pp;

	if (!dev || !dev->host)
		return uio_fail(-EINVAL, SUBSYS, "unplug: not plugged");
	host = dev->host;
	uio_lock(&host->lock);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		if (dev->bar[i].mapped)
			bar_unmap(host, &dev->bar[i]);
	__atomic_store_n(slot(host, dev->bus, dev->devfn), NULL,
			 __ATOMIC_RELEASE);
	for (pp = &host->plugged; *pp != dev; pp = &(*pp)->host_next)
		assert(*pp);
	*pp = dev->host_next;
	dev->host_next = NULL;
	update_multifunction(host, dev->bus, dev->devfn);
	uio_lock(&dev->lock);
	dev->cfg[PCI_HEADER_TYPE] = 0;
	dev->host = NULL;
	uio_unlock(&dev->lock);
	uio_unlock(&host->lock);
	/* The caller may free the function once this returns. */
	sync_callbacks(host);
	return 0;
}

/* -------------------------------------------------------------- checks */

static int check_dev_regions(struct uiommu_pci_host *host,
			     struct uiommu_pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct uio_pci_bar *b = &dev->bar[i];
		struct uiommu_region_info info;

		if (!b->mapped)
			continue;
		if (uiommu_physmem_lookup(host->pm, b->mapped_addr, &info) ||
		    info.base != b->mapped_addr || info.size != b->size ||
		    info.kind != UIOMMU_REGION_MMIO ||
		    strcmp(info.name, b->region_name))
			return uio_fail(-EUCLEAN, SUBSYS,
					"%s: BAR %u region at 0x%" PRIx64
					" missing", dev->name, i,
					b->mapped_addr);
	}
	return 0;
}

UIOMMU_API int uiommu_pci_host_check(struct uiommu_pci_host *host)
{
	unsigned int n = 0;
	int ret = 0;

	if (!host)
		return uio_fail(-EINVAL, SUBSYS, "check: NULL host");
	uio_lock(&host->lock);
	for (struct uiommu_pci_dev *d = host->plugged; d && !ret;
	     d = d->host_next) {
		n++;
		if (d->host != host || lookup(host, d->bus, d->devfn) != d)
			ret = uio_fail(-EUCLEAN, SUBSYS,
				       "%s: %s not in its slot", host->name,
				       d->name);
		if (!ret)
			ret = uiommu_pci_dev_check(d);
		if (!ret)
			ret = check_dev_regions(host, d);
	}
	for (size_t i = 0; !ret && i < (size_t)nbus(host) * 256; i++)
		if (host->slots[i] && !n--)
			ret = uio_fail(-EUCLEAN, SUBSYS,
				       "%s: more slots than plugged devices",
				       host->name);
	uio_unlock(&host->lock);
	return ret;
}

/* ------------------------------------------------- DMA port: no IOMMU */

static int physmem_access(void *opaque, uint16_t rid, uint64_t iova,
			  void *buf, size_t len, bool write,
			  struct uiommu_dma_fault *fault)
{
	struct uiommu_physmem *pm = opaque;
	struct uiommu_memattrs attrs = {
		.source_id = rid,
		.flags = UIOMMU_MEMATTR_SOURCE_VALID,
	};
	int ret = write ? uiommu_phys_write(pm, iova, buf, len, &attrs) :
			  uiommu_phys_read(pm, iova, buf, len, &attrs);

	if (ret) {
		memset(fault, 0, sizeof(*fault));
		fault->type = UIOMMU_DMA_FAULT_BUS;
		fault->addr = iova;
		fault->write = write;
	}
	return ret;
}

static const struct uiommu_pci_dma_ops physmem_dma_ops = {
	.access = physmem_access,
};

UIOMMU_API const struct uiommu_pci_dma_ops *uiommu_pci_dma_physmem_ops(void)
{
	return &physmem_dma_ops;
}
