// SPDX-License-Identifier: MIT
/*
 * The machine: models instantiated from a parsed device tree (dt.h).
 *
 * Organisation: one struct per kind of part (mach_its, mach_v2m, mach_smmu,
 * mach_host), all embedded in struct uiommu_machine and zero until built.
 * Building goes in dependency order (RAM and pool, GIC, SMMUs, host
 * bridges); one teardown function undoes whatever exists, in reverse, so a
 * failure at any step is "tear down and return" and nothing is half-built.
 *
 * Drivers: each SMMUv3 gets its driver (smmuv3-drv.h), which registers an
 * IOMMU instance with the core, unless the caller asks to program the
 * model itself; each ITS and GICv2m frame gets an MSI domain (msi.h), which
 * probes the controller and registers its doorbell with the core.  At
 * realize every function behind an SMMU becomes an IOMMU-core device
 * (StreamID, PCI topology, MSI controller, host windows) and every function
 * with an MSI controller an MSI device (DeviceID).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/gic.h>
#include <uiommu/iommu-driver.h>
#include <uiommu/machine.h>
#include <uiommu/msi.h>
#include <uiommu/smmuv3-drv.h>
#include <uiommu/smmuv3.h>

#include "alloc.h"
#include "bits.h"
#include "builtin.h"
#include "dt.h"
#include "log.h"
#include "machine-internal.h"

#define SUBSYS "machine"

#define PA_BITS		 48
#define POOL_DEFAULT	 (16ull << 20)
#define PAGE_4K		 0x1000ull
#define ITS_LPI_BITS	 16
/* QEMU virt's v2m frame: SPIs 80..143 (irq 48 + 32, 64 of them). */
#define V2M_SPI_BASE	 80
#define V2M_SPI_COUNT	 64
/* The default endpoint: the DMA test device at 00:01.0. */
#define DEFAULT_DEVFN	 UIOMMU_PCI_DEVFN(1, 0)
#define DEFAULT_MSIX	 2048
#define DEFAULT_MSI	 32

struct mach_its {
	struct uiommu_gic_its *model;
	struct uiommu_msi_domain *msi;
	char name[16];
};

struct mach_v2m {
	struct uiommu_gicv2m *model;
	struct uiommu_msi_domain *msi;
	char name[16];
};

struct mach_smmu {
	struct uiommu_smmuv3 *model;
	/* NULL with opts.no_smmu_driver: nothing registered with the core. */
	struct uiommu_smmuv3_drv *drv;
	struct uiommu_iommu *iommu;
	struct uiommu_machine *m;	/* for the event forwarder */
	unsigned int idx;
};

struct mach_func {
	struct uiommu_machine_func pub;
	struct mach_smmu *smmu;		/* NULL: DMA untranslated */
	struct uiommu_msi_domain *msi;	/* NULL: no MSI controller */
	char dev_name[32];		/* "0000:00:01.0" */
};

struct mach_host {
	struct uiommu_machine *m;
	unsigned int idx;
	const struct uio_dt_pci_host *dt;
	struct uiommu_pci_host *model;
	struct uiommu_pci_core *core;
	/* The DT maps as raw cells, for uiommu_map_id(). */
	uint32_t iommu_cells[4 * UIO_DT_MAX_MAP];
	uint32_t msi_cells[4 * UIO_DT_MAX_MAP];
	struct uiommu_id_map iommu_map, msi_map;
	struct mach_func *funcs;	/* sorted by RID */
	size_t nfuncs;
};

/* The GIC's distributor / redistributor (CPU interface) frames: present in
 * the address map, not modelled (reads as zero, writes ignored). */
struct mach_gic_frame {
	char name[24];
};

struct uiommu_machine {
	struct uio_dt_machine dt;
	unsigned int nr_cpus;
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	uint64_t pool_base, pool_size;
	struct mach_gic_frame gic_frame[2];
	char gic_owner[32];		/* "gicv3@8000000" */
	struct mach_its its[UIO_DT_MAX_ITS];
	struct mach_v2m v2m[UIO_DT_MAX_V2M];
	struct mach_smmu smmu[UIO_DT_MAX_SMMU];
	struct mach_host host[UIO_DT_MAX_PCI];
	bool realized;
	bool no_smmu_driver;
	uiommu_machine_smmu_event_fn smmu_event_fn;
	void *smmu_event_opaque;
	char *err;
	size_t errlen;
};

/* Record a failure for the caller's error buffer and the log. */
UIOMMU_PRINTF(3, 4)
static int mach_fail(struct uiommu_machine *m, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m->err && m->errlen)
		snprintf(m->err, m->errlen, "%s", msg);
	uio_err(SUBSYS, "%s: %s", msg, uiommu_strerror(err));
	return err;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The node's own name, "smmuv3@9050000", from its path. */
static const char *node_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The SMMU's wired interrupts, connected to its driver. */
static void smmu_event_irq(void *opaque)
{
	struct mach_smmu *s = opaque;

	if (s->drv)
		(void)uiommu_smmuv3_drv_handle_events(s->drv);
}

/* Every record the driver consumes, passed on to the machine's user. */
static void smmu_event_record(void *opaque,
			      const struct uiommu_smmuv3_drv_event *ev)
{
	struct mach_smmu *s = opaque;
	struct uiommu_machine *m = s->m;

	if (m->smmu_event_fn)
		m->smmu_event_fn(m->smmu_event_opaque, s->idx, ev);
}

static void smmu_gerror_irq(void *opaque)
{
	struct mach_smmu *s = opaque;

	if (s->drv)
		(void)uiommu_smmuv3_drv_handle_gerror(s->drv);
}


/* At debug level 2, every successful create / realize checks the whole. */
static void debug_check(struct uiommu_machine *m)
{
#if UIOMMU_DEBUG >= 2
	int err = uiommu_machine_check(m);

	assert(!err);
	(void)err;
#else
	(void)m;
#endif
}

/* --------------------------------------------------------------- teardown */

/* MSI vectors first (they hold doorbell bindings of the IOMMU device),
 * then the MSI device, then the IOMMU device. */
static void destroy_func(struct mach_func *mf)
{
	struct uiommu_machine_func *f = &mf->pub;

	if (f->msi_dev) {
		if (uiommu_msi_dev_nvec(f->msi_dev) &&
		    uiommu_msi_free_irq_vectors(f->msi_dev))
			uio_err(SUBSYS, "%s: MSI vectors not freed", mf->dev_name);
		if (uiommu_msi_dev_destroy(f->msi_dev))
			uio_err(SUBSYS, "%s: MSI device still busy", mf->dev_name);
		f->msi_dev = NULL;
	}
	if (f->iommu_dev && uiommu_device_destroy(f->iommu_dev))
		uio_err(SUBSYS, "%s: IOMMU device still busy", mf->dev_name);
	f->iommu_dev = NULL;
}

static void destroy_funcs(struct mach_host *h)
{
	for (size_t i = 0; i < h->nfuncs; i++)
		destroy_func(&h->funcs[i]);
	uio_free_array(h->funcs, h->nfuncs, sizeof(*h->funcs));
	h->funcs = NULL;
	h->nfuncs = 0;
}

static void teardown(struct uiommu_machine *m)
{
	unsigned int i;

	for (i = 0; i < UIO_DT_MAX_PCI; i++) {
		struct mach_host *h = &m->host[i];

		destroy_funcs(h);
		uiommu_pci_core_destroy(h->core);
		h->core = NULL;
		uiommu_pci_host_destroy(h->model);
		h->model = NULL;
	}
	for (i = 0; i < UIO_DT_MAX_SMMU; i++) {
		struct mach_smmu *sm = &m->smmu[i];

		/* Every device behind it is gone: removal cannot be busy. */
		if (sm->drv && uiommu_smmuv3_drv_remove(sm->drv))
			uio_err(SUBSYS, "%s: SMMU driver busy", m->dt.smmu[i].path);
		sm->drv = NULL;
		sm->iommu = NULL;
		uiommu_smmuv3_destroy(sm->model);
		sm->model = NULL;
	}
	for (i = 0; i < UIO_DT_MAX_V2M; i++) {
		if (m->v2m[i].msi && uiommu_msi_domain_destroy(m->v2m[i].msi))
			uio_err(SUBSYS, "%s: MSI domain busy", m->dt.v2m[i].path);
		uiommu_gicv2m_destroy(m->v2m[i].model);
	}
	for (i = 0; i < UIO_DT_MAX_ITS; i++) {
		if (m->its[i].msi && uiommu_msi_domain_destroy(m->its[i].msi))
			uio_err(SUBSYS, "%s: MSI domain busy", m->dt.its[i].path);
		uiommu_gic_its_destroy(m->its[i].model);
	}
	uiommu_phys_pool_destroy(m->pool);
	uiommu_physmem_destroy(m->pm);
}

/* ------------------------------------------------------------ building */

static int build_ram(struct uiommu_machine *m, uint64_t pool_size)
{
	const struct uio_dt_range *top = NULL;
	char name[24];
	int ret;

	for (unsigned int i = 0; i < m->dt.nmem; i++) {
		const struct uio_dt_range *r = &m->dt.mem[i];

		if ((r->base | r->size) & (PAGE_4K - 1))
			return mach_fail(m, -EINVAL,
					 "memory@%" PRIx64 ": reg: range not 4 KiB aligned",
					 r->base);
		snprintf(name, sizeof(name), i ? "ram%u" : "ram", i);
		ret = uiommu_physmem_add_ram(m->pm, name, r->base, r->size,
					     NULL, NULL);
		if (ret)
			return mach_fail(m, ret, "memory@%" PRIx64
					 ": reg: cannot map [0x%" PRIx64
					 ", +0x%" PRIx64 ")", r->base, r->base,
					 r->size);
		if (!top || r->base > top->base)
			top = r;
	}
	assert(top);
	if (!pool_size)
		pool_size = min_u64(POOL_DEFAULT, uio_align_down(top->size / 4,
								 PAGE_4K));
	if (!pool_size || pool_size > top->size / 2)
		return mach_fail(m, -EINVAL,
				 "pool of 0x%" PRIx64 " bytes does not fit RAM at 0x%"
				 PRIx64, pool_size, top->base);
	m->pool_size = pool_size;
	m->pool_base = top->base + top->size - pool_size;
	ret = uiommu_phys_pool_create(m->pm, m->pool_base, pool_size, &m->pool);
	if (ret)
		return mach_fail(m, ret, "page pool at 0x%" PRIx64, m->pool_base);
	return 0;
}

static int inert_read(void *opaque, uint64_t offset, unsigned int size,
		      uint64_t *val, const struct uiommu_memattrs *attrs)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)attrs;
	*val = 0;
	return 0;
}

static int inert_write(void *opaque, uint64_t offset, unsigned int size,
		       uint64_t val, const struct uiommu_memattrs *attrs)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)val;
	(void)attrs;
	return 0;
}

static const struct uiommu_mmio_ops inert_ops = {
	.read = inert_read,
	.write = inert_write,
};

static int build_gic_frames(struct uiommu_machine *m)
{
	static const char *const v3[2] = { "gicv3.dist", "gicv3.redist" };
	static const char *const v2[2] = { "gicv2.dist", "gicv2.cpu" };
	const struct uio_dt_range *r[2] = { &m->dt.gic_dist, &m->dt.gic_second };

	snprintf(m->gic_owner, sizeof(m->gic_owner), "gicv%u@%" PRIx64,
		 (unsigned int)m->dt.gic_version, m->dt.gic_dist.base);
	for (unsigned int i = 0; i < 2; i++) {
		struct mach_gic_frame *f = &m->gic_frame[i];
		struct uiommu_mmio_desc d = {
			.owner = m->gic_owner,
			.size = uio_align_up(r[i]->size, PAGE_4K),
			.ops = &inert_ops,
		};
		int ret;

		if (!r[i]->size)
			continue;
		snprintf(f->name, sizeof(f->name), "%s",
			 m->dt.gic_version == UIO_DT_GIC_V3 ? v3[i] : v2[i]);
		d.name = f->name;
		ret = uiommu_physmem_add_mmio(m->pm, r[i]->base, &d);
		if (ret)
			return mach_fail(m, ret, "%s: reg: cannot map 0x%" PRIx64,
					 m->dt.gic_path, r[i]->base);
	}
	return 0;
}

static int build_its(struct uiommu_machine *m, unsigned int i)
{
	const struct uio_dt_msi_ctrl *dt = &m->dt.its[i];
	struct mach_its *its = &m->its[i];
	struct uiommu_gic_its_config cfg = { 0 };
	struct uiommu_msi_its_desc desc = { 0 };
	int ret;

	if (dt->reg.size < 2 * UIOMMU_GITS_FRAME_SIZE)
		return mach_fail(m, -EINVAL, "%s: reg: size 0x%" PRIx64
				 " smaller than the two ITS frames", dt->path,
				 dt->reg.size);
	snprintf(its->name, sizeof(its->name), "its%u", i);
	cfg.name = its->name;
	cfg.base = dt->reg.base;
	cfg.nr_cpus = m->nr_cpus;
	cfg.lpi_bits = ITS_LPI_BITS;
	ret = uiommu_gic_its_create(m->pm, &cfg, &its->model);
	if (ret)
		return mach_fail(m, ret, "%s: reg: cannot place the ITS at 0x%"
				 PRIx64, dt->path, dt->reg.base);
	desc.name = node_name(dt->path);
	desc.its = its->model;
	desc.pool = m->pool;
	desc.nr_cpus = m->nr_cpus;
	desc.lpi_bits = ITS_LPI_BITS;
	ret = uiommu_msi_domain_create_its(&desc, &its->msi);
	if (ret)
		return mach_fail(m, ret, "%s: ITS MSI domain (driver probe)",
				 dt->path);
	return 0;
}

static int build_v2m(struct uiommu_machine *m, unsigned int i)
{
	const struct uio_dt_msi_ctrl *dt = &m->dt.v2m[i];
	struct mach_v2m *v = &m->v2m[i];
	struct uiommu_gicv2m_config cfg = { 0 };
	struct uiommu_msi_v2m_desc desc = { 0 };
	int ret;

	snprintf(v->name, sizeof(v->name), "v2m%u", i);
	cfg.name = v->name;
	cfg.base = dt->reg.base;
	cfg.spi_base = dt->spi_count ? dt->spi_base : V2M_SPI_BASE;
	cfg.nr_spis = dt->spi_count ? dt->spi_count : V2M_SPI_COUNT;
	ret = uiommu_gicv2m_create(m->pm, &cfg, &v->model);
	if (ret)
		return mach_fail(m, ret, "%s: reg / arm,msi-base-spi: cannot create the v2m frame at 0x%"
				 PRIx64, dt->path, dt->reg.base);
	desc.name = node_name(dt->path);
	desc.v2m = v->model;
	desc.pm = m->pm;
	ret = uiommu_msi_domain_create_v2m(&desc, &v->msi);
	if (ret)
		return mach_fail(m, ret, "%s: v2m MSI domain (driver probe)",
				 dt->path);
	return 0;
}

static int build_smmu(struct uiommu_machine *m, unsigned int i)
{
	const struct uio_dt_smmu *dt = &m->dt.smmu[i];
	struct mach_smmu *sm = &m->smmu[i];
	struct uiommu_smmuv3_drv_options dopts = { 0 };
	struct uiommu_smmuv3_options o;
	int ret;

	if (dt->reg.size < UIOMMU_SMMUV3_MMIO_SIZE)
		return mach_fail(m, -EINVAL, "%s: reg: size 0x%" PRIx64
				 " smaller than the two SMMU pages", dt->path,
				 dt->reg.size);
	uiommu_smmuv3_default_options(&o);
	o.event_irq = smmu_event_irq;
	o.gerror_irq = smmu_gerror_irq;
	o.irq_opaque = sm;
	ret = uiommu_smmuv3_create(m->pm, dt->reg.base, &o, &sm->model);
	if (ret)
		return mach_fail(m, ret, "%s: reg: cannot place the SMMU at 0x%"
				 PRIx64, dt->path, dt->reg.base);
	if (m->no_smmu_driver)
		return 0;
	dopts.name = node_name(dt->path);
	dopts.pci_groups = true;
	dopts.on_event = smmu_event_record;
	dopts.opaque = sm;
	sm->m = m;
	sm->idx = i;
	ret = uiommu_smmuv3_drv_probe(m->pm, m->pool, dt->reg.base, &dopts,
				      &sm->drv);
	if (ret)
		return mach_fail(m, ret, "%s: SMMUv3 driver probe", dt->path);
	sm->iommu = uiommu_smmuv3_drv_iommu(sm->drv);
	return 0;
}

/* Raw cells of a parsed map, as the property held them. */
static void map_cells(const struct uio_dt_pci_host *dt,
		      const struct uio_dt_id_map *src, uint32_t *cells,
		      struct uiommu_id_map *map, const char *name)
{
	for (unsigned int i = 0; i < src->count; i++) {
		cells[4 * i + 0] = src->entry[i].rid_base;
		cells[4 * i + 1] = src->entry[i].phandle;
		cells[4 * i + 2] = src->entry[i].out_base;
		cells[4 * i + 3] = src->entry[i].length;
	}
	map->cells = src->count ? cells : NULL;
	map->ncells = 4 * (size_t)src->count;
	map->has_mask = src->mask_present;
	map->mask = src->mask;
	map->name = name;
	map->node = dt->path;
}

static int host_dma(void *opaque, uint16_t rid, uint64_t iova, void *buf,
		    size_t len, bool write, struct uiommu_dma_fault *fault);

static const struct uiommu_pci_dma_ops host_dma_ops = {
	.access = host_dma,
};

static int build_host(struct uiommu_machine *m, unsigned int i)
{
	struct mach_host *h = &m->host[i];
	struct uiommu_pci_host_desc d = { 0 };
	int ret;

	h->m = m;
	h->idx = i;
	h->dt = &m->dt.pci[i];
	map_cells(h->dt, &h->dt->iommu_map, h->iommu_cells, &h->iommu_map,
		  "iommu-map");
	map_cells(h->dt, &h->dt->msi_map, h->msi_cells, &h->msi_map,
		  "msi-map");
	d.name = node_name(h->dt->path);
	d.ecam_base = h->dt->ecam.base;
	d.bus_start = h->dt->bus_first;
	d.bus_end = h->dt->bus_last;
	d.dma_ops = &host_dma_ops;
	d.dma_opaque = h;
	if (h->dt->ecam.size < ((uint64_t)(d.bus_end - d.bus_start + 1) << 20))
		return mach_fail(m, -EINVAL, "%s: reg: ECAM size 0x%" PRIx64
				 " does not cover bus-range %u-%u", h->dt->path,
				 h->dt->ecam.size, d.bus_start, d.bus_end);
	ret = uiommu_pci_host_create(m->pm, &d, &h->model);
	if (ret)
		return mach_fail(m, ret, "%s: reg: cannot create the host bridge",
				 h->dt->path);
	return 0;
}

static int build(struct uiommu_machine *m, uint64_t pool_size)
{
	unsigned int i;
	int ret;

	ret = uiommu_physmem_create(PA_BITS, &m->pm);
	if (ret)
		return mach_fail(m, ret, "physical address space");
	ret = build_ram(m, pool_size);
	if (ret)
		return ret;
	ret = build_gic_frames(m);
	for (i = 0; !ret && i < m->dt.nits; i++)
		ret = build_its(m, i);
	for (i = 0; !ret && i < m->dt.nv2m; i++)
		ret = build_v2m(m, i);
	for (i = 0; !ret && i < m->dt.nsmmu; i++)
		ret = build_smmu(m, i);
	for (i = 0; !ret && i < m->dt.npci; i++)
		ret = build_host(m, i);
	return ret;
}

UIOMMU_API int uiommu_machine_create(const struct uiommu_machine_opts *opts,
				     struct uiommu_machine **out)
{
	static const struct uiommu_machine_opts dflt;
	const struct uio_builtin_dtb *bi = NULL;
	struct uiommu_machine *m;
	char err[192] = "";
	int ret;

	if (!out)
		return uio_fail(-EINVAL, SUBSYS, "create: NULL out");
	if (!opts)
		opts = &dflt;
	if (opts->err && opts->errlen)
		opts->err[0] = '\0';
	if (!opts->dtb) {
		bi = uio_builtin_dtb_find(opts->name ? opts->name : "virt");
		if (!bi) {
			if (opts->err && opts->errlen)
				snprintf(opts->err, opts->errlen,
					 "no built-in machine '%s'", opts->name);
			return uio_fail(-EINVAL, SUBSYS,
					"no built-in machine '%s'", opts->name);
		}
	}
	if (opts->pool_size & (PAGE_4K - 1) || opts->nr_cpus > 4096)
		return uio_fail(-EINVAL, SUBSYS,
				"bad option: pool_size 0x%" PRIx64 " nr_cpus %u",
				opts->pool_size, opts->nr_cpus);
	m = uio_new(struct uiommu_machine);
	if (!m) {
		if (opts->err && opts->errlen)
			snprintf(opts->err, opts->errlen, "out of memory");
		return -ENOMEM;
	}
	m->err = opts->err;
	m->errlen = opts->errlen;
	m->nr_cpus = opts->nr_cpus ? opts->nr_cpus : 1;
	m->no_smmu_driver = opts->no_smmu_driver;
	ret = bi ? uio_dt_parse(bi->blob, bi->size, &m->dt, err, sizeof(err))
		 : uio_dt_parse(opts->dtb, opts->dtb_size, &m->dt, err,
				sizeof(err));
	if (ret) {
		mach_fail(m, ret, "%s", err[0] ? err : "malformed DTB");
		uio_delete(m);
		return ret;
	}
	ret = build(m, opts->pool_size);
	if (!ret && !opts->no_realize)
		ret = uiommu_machine_realize(m);
	if (ret) {
		teardown(m);
		uio_delete(m);
		return ret;
	}
	debug_check(m);
	*out = m;
	return 0;
}

UIOMMU_API void uiommu_machine_destroy(struct uiommu_machine *m)
{
	if (!m)
		return;
	teardown(m);
	uio_delete(m);
}

UIOMMU_API int uiommu_machine_plug(struct uiommu_machine *m, unsigned int host,
				   unsigned int bus, unsigned int devfn,
				   struct uiommu_pci_dev *dev)
{
	if (!m || !dev)
		return uio_fail(-EINVAL, SUBSYS, "plug: NULL argument");
	if (host >= m->dt.npci)
		return uio_fail(-EINVAL, SUBSYS,
				"plug: no host bridge %u (%u present)", host,
				m->dt.npci);
	if (m->realized)
		return uio_fail(-EBUSY, SUBSYS,
				"plug %02x:%02x.%u: machine already realized",
				bus, devfn >> 3, devfn & 7);
	return uiommu_pci_host_plug(m->host[host].model, bus, devfn, dev);
}

/* ------------------------------------------------------------- realize */

static struct mach_smmu *smmu_by_phandle(struct uiommu_machine *m,
					 uint32_t phandle)
{
	for (unsigned int i = 0; i < m->dt.nsmmu; i++)
		if (m->dt.smmu[i].phandle == phandle)
			return &m->smmu[i];
	return NULL;
}

/* The controller a map entry (or msi-parent) names. */
static void msi_target(struct uiommu_machine *m, enum uio_dt_target_kind k,
		       unsigned int idx, struct mach_func *mf)
{
	struct uiommu_machine_func *f = &mf->pub;

	if (k == UIO_DT_TARGET_ITS) {
		f->msi_node = m->dt.its[idx].path;
		f->msi_isolating = uiommu_gic_its_isolating(m->its[idx].model);
		mf->msi = m->its[idx].msi;
	} else {
		f->msi_node = m->dt.v2m[idx].path;
		f->msi_isolating = uiommu_gicv2m_isolating(m->v2m[idx].model);
		mf->msi = m->v2m[idx].msi;
	}
}

static const struct uio_dt_map_entry *
entry_by_phandle(const struct uio_dt_id_map *map, uint32_t phandle)
{
	for (unsigned int i = 0; i < map->count; i++)
		if (map->entry[i].phandle == phandle)
			return &map->entry[i];
	return NULL;
}

/*
 * StreamID and DeviceID of @f->rid.  When no entry matches, the ID passes
 * through (uiommu_map_id() warns, as Linux does) and the transaction goes
 * to the controller of the map's first entry: hardware has to send it
 * somewhere, and these machines wire each host bridge to one SMMU and one
 * MSI controller.
 */
static int map_ids(struct mach_host *h, struct mach_func *mf)
{
	struct uiommu_machine *m = h->m;
	struct uiommu_machine_func *f = &mf->pub;
	const struct uio_dt_pci_host *dt = h->dt;
	uint32_t target;
	int ret;

	if (dt->iommu_map.count) {
		target = 0;
		ret = uiommu_map_id(&h->iommu_map, f->rid, &target, &f->sid,
				    &f->sid_matched);
		if (ret)
			return mach_fail(m, ret, "%s: iommu-map: RID 0x%x",
					 dt->path, f->rid);
		if (!f->sid_matched)
			target = dt->iommu_map.entry[0].phandle;
		mf->smmu = smmu_by_phandle(m, target);
		assert(mf->smmu);	/* dt.c resolved every target */
		f->has_sid = true;
		f->iommu_node = m->dt.smmu[mf->smmu - m->smmu].path;
	}
	if (dt->msi_map.count) {
		const struct uio_dt_map_entry *e;

		target = 0;
		ret = uiommu_map_id(&h->msi_map, f->rid, &target, &f->devid,
				    &f->devid_matched);
		if (ret)
			return mach_fail(m, ret, "%s: msi-map: RID 0x%x",
					 dt->path, f->rid);
		e = f->devid_matched ? entry_by_phandle(&dt->msi_map, target)
				     : &dt->msi_map.entry[0];
		assert(e);
		msi_target(m, e->target_kind, e->target, mf);
		f->has_devid = true;
	} else if (dt->has_msi_parent) {
		f->devid = f->rid;
		f->msi_parent = true;
		msi_target(m, dt->msi_parent_kind, dt->msi_parent, mf);
		f->has_devid = true;
	}
	return 0;
}

/* Host-bridge windows: never DMA addresses of a DMA-API domain (peer
 * accesses would be claimed by the bridge), as Linux reserves them. */
static size_t host_resv(const struct mach_host *h,
			struct uiommu_resv_region *r, size_t cap)
{
	size_t n = 0;

	for (unsigned int i = 0; i < h->dt->nwindows && n < cap; i++) {
		const struct uio_dt_pci_window *w = &h->dt->window[i];

		if (w->space != UIO_DT_PCI_MEM32 && w->space != UIO_DT_PCI_MEM64)
			continue;
		r[n].start = w->pci_addr;
		r[n].last = w->pci_addr + w->size - 1;
		r[n].prot = 0;
		r[n].type = UIOMMU_RESV_RESERVED;
		r[n].flags = UIOMMU_RESV_F_DMA_ONLY;
		n++;
	}
	return n;
}

/* Give the IOMMU core the device when a driver registered its SMMU, and
 * the MSI layer the device when it has an MSI controller. */
static int probe_func(struct mach_host *h, struct mach_func *mf,
		      const struct uiommu_pci_func_info *info)
{
	struct uiommu_resv_region resv[UIO_DT_MAX_RANGES];
	struct uiommu_device_desc d = { 0 };
	struct uiommu_msi_dev_desc md = { 0 };
	struct uiommu_msi_ctrl *ctrl;
	int ret;

	if (!mf->smmu || !mf->smmu->iommu)
		goto msi;
	d.name = mf->dev_name;
	d.ids = &mf->pub.sid;
	d.nids = 1;
	d.pci = true;
	d.pci_rid = mf->pub.rid;
	d.pci_acs = !info->multifunction || (info->acs_ctrl & UIOMMU_PCI_ACS_SV);
	d.resv = resv;
	d.nresv = host_resv(h, resv, UIO_DT_MAX_RANGES);
	if (mf->msi) {
		ctrl = uiommu_msi_domain_ctrl(mf->msi);
		d.msi_ctrls = &ctrl;
		d.nmsi_ctrls = 1;
	}
	ret = uiommu_device_create(mf->smmu->iommu, &d, &mf->pub.iommu_dev);
	if (ret)
		return mach_fail(h->m, ret, "%s: IOMMU probe", mf->dev_name);
msi:
	if (!mf->msi)
		return 0;
	md.domain = mf->msi;
	md.fn = mf->pub.pci;
	md.iommu_dev = mf->pub.iommu_dev;
	md.devid = mf->pub.devid;
	ret = uiommu_msi_dev_create(&md, &mf->pub.msi_dev);
	if (ret)
		return mach_fail(h->m, ret, "%s: MSI device", mf->dev_name);
	return 0;
}

static int realize_host(struct mach_host *h)
{
	const struct uio_dt_pci_host *dt = h->dt;
	struct uiommu_pci_core_desc cd = { 0 };
	size_t n;
	int ret;

	cd.pm = h->m->pm;
	cd.cfg_ops = uiommu_pci_host_cfg_ops();
	cd.cfg_opaque = h->model;
	cd.bus_start = dt->bus_first;
	cd.bus_end = dt->bus_last;
	for (unsigned int i = 0; i < dt->nwindows; i++) {
		const struct uio_dt_pci_window *w = &dt->window[i];

		if (w->space == UIO_DT_PCI_MEM32 && !cd.mem_size) {
			cd.mem_base = w->cpu_addr;
			cd.mem_size = w->size;
		} else if (w->space == UIO_DT_PCI_MEM64 && !cd.mem64_size) {
			cd.mem64_base = w->cpu_addr;
			cd.mem64_size = w->size;
		}
	}
	cd.request_acs = dt->iommu_map.count != 0;
	ret = uiommu_pci_core_create(&cd, &h->core);
	if (ret)
		return mach_fail(h->m, ret, "%s: ranges: PCI core", dt->path);
	ret = uiommu_pci_core_enumerate(h->core);
	if (ret)
		return mach_fail(h->m, ret, "%s: enumeration", dt->path);
	n = uiommu_pci_core_count(h->core);
	if (!n)
		return 0;
	h->funcs = uio_calloc(n, sizeof(*h->funcs));
	if (!h->funcs)
		return mach_fail(h->m, -ENOMEM, "%s: function table", dt->path);
	h->nfuncs = n;
	for (size_t i = 0; i < n; i++) {
		struct mach_func *mf = &h->funcs[i];
		struct uiommu_pci_func_info info;

		mf->pub.pci = uiommu_pci_core_func(h->core, i);
		uiommu_pci_func_get_info(mf->pub.pci, &info);
		mf->pub.host = h->idx;
		mf->pub.bus = info.bus;
		mf->pub.devfn = info.devfn;
		mf->pub.rid = info.rid;
		mf->pub.dev = uiommu_pci_host_find(h->model, info.bus, info.devfn);
		mf->pub.name = uiommu_pci_dev_name(mf->pub.dev);
		snprintf(mf->dev_name, sizeof(mf->dev_name),
			 "%04x:%02x:%02x.%u", h->idx, info.bus, info.devfn >> 3,
			 info.devfn & 7);
		ret = map_ids(h, mf);
		if (!ret)
			ret = probe_func(h, mf, &info);
		if (ret)
			return ret;
	}
	return 0;
}

static int count_plugged(void *opaque, struct uiommu_pci_dev *dev,
			 unsigned int bus, unsigned int devfn)
{
	(void)dev;
	(void)bus;
	(void)devfn;
	++*(unsigned int *)opaque;
	return 0;
}

/* The DMA test device at 00:01.0 of host bridge 0 when nothing is plugged. */
static int plug_default(struct uiommu_machine *m, struct uiommu_pci_dev **out)
{
	struct uiommu_testdev_config cfg = {
		.name = "testdev0",
		.msi_vectors = DEFAULT_MSI,
		.msix_vectors = DEFAULT_MSIX,
	};
	unsigned int n = 0;
	int ret;

	*out = NULL;
	for (unsigned int i = 0; i < m->dt.npci; i++)
		(void)uiommu_pci_host_for_each(m->host[i].model, count_plugged,
					       &n);
	if (n || !m->dt.npci)
		return 0;
	ret = uiommu_testdev_create(&cfg, out);
	if (ret)
		return ret;
	ret = uiommu_pci_host_plug(m->host[0].model, m->dt.pci[0].bus_first,
				   DEFAULT_DEVFN, *out);
	if (ret) {
		uiommu_pci_dev_destroy(*out);
		*out = NULL;
	}
	return ret;
}

UIOMMU_API int uiommu_machine_realize(struct uiommu_machine *m)
{
	struct uiommu_pci_dev *dflt;
	unsigned int i;
	int ret;

	if (!m)
		return uio_fail(-EINVAL, SUBSYS, "realize: NULL machine");
	if (m->realized)
		return uio_fail(-EBUSY, SUBSYS, "realize: already realized");
	ret = plug_default(m, &dflt);
	if (ret)
		mach_fail(m, ret, "default test device at 00:01.0");
	for (i = 0; !ret && i < m->dt.npci; i++)
		ret = realize_host(&m->host[i]);
	if (ret) {
		for (i = 0; i < m->dt.npci; i++) {
			destroy_funcs(&m->host[i]);
			uiommu_pci_core_destroy(m->host[i].core);
			m->host[i].core = NULL;
		}
		uiommu_pci_dev_destroy(dflt);
		return ret;
	}
	m->realized = true;
	debug_check(m);
	return 0;
}

/* ------------------------------------------------------------- DMA port */

static const struct mach_func *func_by_rid(const struct mach_host *h,
					   uint16_t rid)
{
	size_t lo = 0, hi = h->nfuncs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->funcs[mid].pub.rid == rid)
			return &h->funcs[mid];
		if (h->funcs[mid].pub.rid < rid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static enum uiommu_dma_fault_type smmu_fault_type(uint8_t event)
{
	switch (event) {
	case UIOMMU_SMMUV3_EVT_F_TRANSLATION:
	case UIOMMU_SMMUV3_EVT_F_ADDR_SIZE:
	case UIOMMU_SMMUV3_EVT_F_ACCESS:
		return UIOMMU_DMA_FAULT_TRANSLATION;
	case UIOMMU_SMMUV3_EVT_F_PERMISSION:
		return UIOMMU_DMA_FAULT_PERMISSION;
	default:
		return UIOMMU_DMA_FAULT_ABORT;
	}
}

static int phys_access(struct uiommu_physmem *pm, uint64_t pa, void *buf,
		       size_t len, bool write,
		       const struct uiommu_memattrs *attrs)
{
	return write ? uiommu_phys_write(pm, pa, buf, len, attrs)
		     : uiommu_phys_read(pm, pa, buf, len, attrs);
}

/*
 * The host bridge's upstream port: RID -> StreamID -> SMMU translation,
 * 4 KiB page by page as PCIe requests never cross one, then physical
 * memory with the DeviceID as source ID (the ITS's side band).
 */
static int host_dma(void *opaque, uint16_t rid, uint64_t iova, void *buf,
		    size_t len, bool write, struct uiommu_dma_fault *fault)
{
	struct mach_host *h = opaque;
	struct uiommu_physmem *pm = h->m->pm;
	const struct mach_func *f = func_by_rid(h, rid);
	struct uiommu_memattrs attrs = { .flags = UIOMMU_MEMATTR_SOURCE_VALID };
	uint8_t *p = buf;
	int ret;

	memset(fault, 0, sizeof(*fault));
	fault->addr = iova;
	fault->write = write;
	if (!f) {
		/* Not enumerated (machine not realized): no IDs to send. */
		fault->type = UIOMMU_DMA_FAULT_ABORT;
		return -EPERM;
	}
	attrs.source_id = f->pub.has_devid ? f->pub.devid : rid;
	if (!f->smmu) {
		ret = phys_access(pm, iova, buf, len, write, &attrs);
		if (ret)
			fault->type = UIOMMU_DMA_FAULT_BUS;
		return ret;
	}
	while (len) {
		uint64_t chunk = min_u64((uint64_t)len,
					 PAGE_4K - (iova & (PAGE_4K - 1)));
		struct uiommu_smmuv3_txn txn = {
			.sid = f->pub.sid,
			.access = write ? UIOMMU_SMMUV3_ACC_WRITE : 0,
			.iova = iova,
			.size = chunk,
		};
		struct uiommu_smmuv3_fault sf;
		uint64_t pa;

		ret = uiommu_smmuv3_translate(f->smmu->model, &txn, &pa, &sf);
		if (ret) {
			fault->addr = iova;
			fault->type = ret == -EFAULT ? smmu_fault_type(sf.event)
						     : UIOMMU_DMA_FAULT_OTHER;
			fault->code = ret == -EFAULT ? sf.event : 0;
			return ret == -EFAULT ? ret : -EFAULT;
		}
		ret = phys_access(pm, pa, p, chunk, write, &attrs);
		if (ret) {
			fault->addr = iova;
			fault->type = UIOMMU_DMA_FAULT_BUS;
			return ret;
		}
		p += chunk;
		iova += chunk;
		len -= chunk;
	}
	return 0;
}

/* ------------------------------------------------------------- queries */

UIOMMU_API struct uiommu_physmem *uiommu_machine_physmem(struct uiommu_machine *m)
{
	return m->pm;
}

UIOMMU_API struct uiommu_phys_pool *uiommu_machine_pool(struct uiommu_machine *m)
{
	return m->pool;
}

UIOMMU_API void uiommu_machine_get_info(struct uiommu_machine *m,
					struct uiommu_machine_info *info)
{
	memset(info, 0, sizeof(*info));
	info->model = m->dt.model;
	info->gic_version = (unsigned int)m->dt.gic_version;
	info->nits = m->dt.nits;
	info->nv2m = m->dt.nv2m;
	info->nsmmu = m->dt.nsmmu;
	info->npci = m->dt.npci;
	info->realized = m->realized;
}

UIOMMU_API struct uiommu_smmuv3 *uiommu_machine_smmu(struct uiommu_machine *m,
						     unsigned int idx)
{
	return idx < m->dt.nsmmu ? m->smmu[idx].model : NULL;
}

UIOMMU_API struct uiommu_pci_host *
uiommu_machine_pci_host(struct uiommu_machine *m, unsigned int idx)
{
	return idx < m->dt.npci ? m->host[idx].model : NULL;
}

UIOMMU_API struct uiommu_pci_core *
uiommu_machine_pci_core(struct uiommu_machine *m, unsigned int idx)
{
	return idx < m->dt.npci ? m->host[idx].core : NULL;
}

UIOMMU_API int
uiommu_machine_for_each_region(struct uiommu_machine *m,
			       int (*fn)(void *opaque,
					 const struct uiommu_region_info *info),
			       void *opaque)
{
	if (!m || !fn)
		return uio_fail(-EINVAL, SUBSYS, "for_each_region: NULL argument");
	return uiommu_physmem_for_each(m->pm, fn, opaque);
}

UIOMMU_API int
uiommu_machine_for_each_function(struct uiommu_machine *m,
				 int (*fn)(void *opaque,
					   const struct uiommu_machine_func *f),
				 void *opaque)
{
	if (!m || !fn)
		return uio_fail(-EINVAL, SUBSYS, "for_each_function: NULL argument");
	if (!m->realized)
		return -EBUSY;
	for (unsigned int i = 0; i < m->dt.npci; i++)
		for (size_t j = 0; j < m->host[i].nfuncs; j++) {
			int ret = fn(opaque, &m->host[i].funcs[j].pub);

			if (ret)
				return ret;
		}
	return 0;
}

UIOMMU_API const struct uiommu_machine_func *
uiommu_machine_find_function(struct uiommu_machine *m, unsigned int host,
			     unsigned int bus, unsigned int devfn)
{
	const struct mach_func *f;

	if (!m || host >= m->dt.npci || bus > 0xff || devfn > 0xff)
		return NULL;
	f = func_by_rid(&m->host[host], UIOMMU_PCI_RID(bus, devfn));
	return f ? &f->pub : NULL;
}

UIOMMU_API int uiommu_machine_check(struct uiommu_machine *m)
{
	unsigned int i;
	int ret;

	ret = uiommu_physmem_check(m->pm);
	if (!ret)
		ret = uiommu_phys_pool_check(m->pool);
	for (i = 0; !ret && i < m->dt.nits; i++) {
		ret = uiommu_gic_its_check(m->its[i].model);
		if (!ret)
			ret = uiommu_msi_domain_check(m->its[i].msi);
	}
	for (i = 0; !ret && i < m->dt.nv2m; i++) {
		ret = uiommu_gicv2m_check(m->v2m[i].model);
		if (!ret)
			ret = uiommu_msi_domain_check(m->v2m[i].msi);
	}
	for (i = 0; !ret && i < m->dt.nsmmu; i++) {
		ret = uiommu_smmuv3_check(m->smmu[i].model);
		if (!ret && m->smmu[i].drv)
			ret = uiommu_smmuv3_drv_check(m->smmu[i].drv);
	}
	for (i = 0; !ret && i < m->dt.npci; i++) {
		const struct mach_host *h = &m->host[i];

		ret = uiommu_pci_host_check(h->model);
		if (!ret && h->core)
			ret = uiommu_pci_core_check(h->core);
		for (size_t j = 1; !ret && j < h->nfuncs; j++)
			if (h->funcs[j - 1].pub.rid >= h->funcs[j].pub.rid)
				ret = uio_fail(-EUCLEAN, SUBSYS,
					       "%s: functions not sorted by RID",
					       h->dt->path);
	}
	return ret;
}

struct uiommu_gic_its *uio_machine_its(struct uiommu_machine *m,
				       unsigned int idx)
{
	return idx < m->dt.nits ? m->its[idx].model : NULL;
}

struct uiommu_gicv2m *uio_machine_v2m(struct uiommu_machine *m,
				      unsigned int idx)
{
	return idx < m->dt.nv2m ? m->v2m[idx].model : NULL;
}

struct uiommu_msi_domain *uio_machine_msi_domain(struct uiommu_machine *m,
						 bool its, unsigned int idx)
{
	if (its)
		return idx < m->dt.nits ? m->its[idx].msi : NULL;
	return idx < m->dt.nv2m ? m->v2m[idx].msi : NULL;
}

UIOMMU_API struct uiommu_gic_its *uiommu_machine_its(struct uiommu_machine *m,
						     unsigned int idx)
{
	return m ? uio_machine_its(m, idx) : NULL;
}

UIOMMU_API struct uiommu_gicv2m *
uiommu_machine_gicv2m(struct uiommu_machine *m, unsigned int idx)
{
	return m ? uio_machine_v2m(m, idx) : NULL;
}

UIOMMU_API struct uiommu_msi_domain *
uiommu_machine_msi_domain(struct uiommu_machine *m, unsigned int idx)
{
	if (!m)
		return NULL;
	if (idx < m->dt.nits)
		return uio_machine_msi_domain(m, true, idx);
	return uio_machine_msi_domain(m, false, idx - m->dt.nits);
}

struct uiommu_smmuv3_drv *uio_machine_smmu_drv(struct uiommu_machine *m,
					       unsigned int idx)
{
	return idx < m->dt.nsmmu ? m->smmu[idx].drv : NULL;
}

UIOMMU_API struct uiommu_smmuv3_drv *
uiommu_machine_smmu_drv(struct uiommu_machine *m, unsigned int idx)
{
	return m ? uio_machine_smmu_drv(m, idx) : NULL;
}

UIOMMU_API void
uiommu_machine_set_smmu_event_handler(struct uiommu_machine *m,
				      uiommu_machine_smmu_event_fn fn,
				      void *opaque)
{
	if (!m)
		return;
	m->smmu_event_fn = fn;
	m->smmu_event_opaque = opaque;
}
