// SPDX-License-Identifier: MIT
/*
 * GICv2m MSI frame model (ARM DEN 0029, appendix "GICv2m").
 *
 * A 4 KiB frame: MSI_TYPER says which SPIs the frame raises, a write of an
 * SPI's INTID to MSI_SETSPI_NS raises it, MSI_IIDR identifies the frame.
 * The write is accepted from any requester: the frame cannot tell devices
 * apart, which is why it does not isolate them (uiommu_gicv2m_isolating()).
 * An INTID outside the frame's range is dropped and counted.
 *
 * The GICv2 distributor is not modelled: a raised SPI goes straight to the
 * frame's handler (as CPU 0); without a handler it is dropped and counted.
 *
 * Locking: v2m->lock protects the handler, the counters and drop_logged;
 * the handler runs without it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/gic.h>

#include "alloc.h"
#include "bits.h"
#include "gicv2m.h"
#include "lock.h"
#include "log.h"
#include "trace.h"

#define SUBSYS "gicv2m"

#define V2M_IIDR_VALUE                                                  \
	(UIO_FDP64(0, V2M_MSI_IIDR, IMPLEMENTER, 0x43B) |               \
	 UIO_FDP64(0, V2M_MSI_IIDR, PRODUCTID, 0x76))

struct uiommu_gicv2m {
	struct uiommu_physmem *pm;
	struct uiommu_gicv2m_config cfg;	/* name unused */
	char name[40];
	char owner[48];
	uint32_t typer;

	struct uio_mutex lock;
	uiommu_gic_irq_fn fn;
	void *opaque;
	uint32_t drop_logged;	/* bit per drop reason already logged */
	struct uiommu_gicv2m_stats stats;
};

static const struct uiommu_reg_desc v2m_regs[] = {
	{ "MSI_TYPER", V2M_MSI_TYPER, 4 },
	{ "MSI_SETSPI_NS", V2M_MSI_SETSPI_NS, 4 },
	{ "MSI_IIDR", V2M_MSI_IIDR, 4 },
};

static int v2m_read(void *opaque, uint64_t off, unsigned int size,
		    uint64_t *val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_gicv2m *v2m = opaque;

	(void)attrs;
	*val = 0;
	if (size != 4) {
		uio_guest_error(SUBSYS, "%s: %u-byte read at 0x%" PRIx64
				" ignored", v2m->name, size, off);
		return 0;
	}
	if (off == V2M_MSI_TYPER)
		*val = v2m->typer;	/* constant: no lock needed */
	else if (off == V2M_MSI_IIDR)
		*val = V2M_IIDR_VALUE;
	return 0;	/* MSI_SETSPI_NS is write-only; the rest is RAZ */
}

/* Called with the lock held; releases it. */
static void v2m_drop(struct uiommu_gicv2m *v2m, enum uiommu_gic_drop_reason why,
		     uint64_t spi, const struct uiommu_memattrs *attrs)
{
	bool log_it = !(v2m->drop_logged & (1u << why));

	uio_assert_held(&v2m->lock);
	v2m->stats.dropped[why]++;
	v2m->drop_logged |= 1u << why;
	uio_unlock(&v2m->lock);
	trace_gic_v2m_drop(v2m->cfg.base, (uint32_t)spi, uiommu_gic_drop_name(why));
	/* one line per reason: a misbehaving device must not flood the log */
	if (log_it)
		uio_guest_error(SUBSYS, "%s: MSI_SETSPI_NS write 0x%" PRIx64
				" from 0x%x dropped: %s (further drops counted "
				"only)", v2m->name, spi,
				attrs ? attrs->source_id : 0,
				uiommu_gic_drop_name(why));
}

static int v2m_write(void *opaque, uint64_t off, unsigned int size,
		     uint64_t val, const struct uiommu_memattrs *attrs)
{
	struct uiommu_gicv2m *v2m = opaque;
	uiommu_gic_irq_fn fn;
	void *fn_opaque;

	if (off != V2M_MSI_SETSPI_NS)
		return 0;	/* MSI_TYPER, MSI_IIDR read-only; rest WI */
	uio_lock(&v2m->lock);
	if (size != 2 && size != 4) {
		v2m_drop(v2m, UIOMMU_GIC_DROP_BAD_ACCESS, val, attrs);
		return 0;
	}
	/* reserved bits set cannot name an SPI of the frame either */
	if ((val & ~V2M_MSI_SETSPI_SPI_MASK) ||
	    val < v2m->cfg.spi_base ||
	    val - v2m->cfg.spi_base >= v2m->cfg.nr_spis) {
		v2m_drop(v2m, UIOMMU_GIC_DROP_SPI_OOR, val, attrs);
		return 0;
	}
	if (!v2m->fn) {
		v2m_drop(v2m, UIOMMU_GIC_DROP_NO_HANDLER, val, attrs);
		return 0;
	}
	fn = v2m->fn;
	fn_opaque = v2m->opaque;
	v2m->stats.delivered++;
	uio_unlock(&v2m->lock);
	trace_gic_v2m_setspi(v2m->cfg.base, attrs ? attrs->source_id : 0,
			     (uint32_t)val);
	fn(fn_opaque, 0, (uint32_t)val);
	return 0;
}

static const struct uiommu_mmio_ops v2m_ops = {
	.read = v2m_read,
	.write = v2m_write,
};

UIOMMU_API int uiommu_gicv2m_create(struct uiommu_physmem *pm,
				    const struct uiommu_gicv2m_config *cfg,
				    struct uiommu_gicv2m **out)
{
	struct uiommu_mmio_desc desc;
	struct uiommu_gicv2m *v2m;
	const char *name;
	int ret;

	if (!pm || !cfg || !out)
		return uio_fail(-EINVAL, SUBSYS, "NULL %s",
				!pm ? "physmem" : !cfg ? "config" : "out");
	name = cfg->name ? cfg->name : "v2m";
	if (strlen(name) >= sizeof(v2m->name))
		return uio_fail(-EINVAL, SUBSYS, "name \"%s\" too long", name);
	if (!uio_is_aligned(cfg->base, UIOMMU_GICV2M_FRAME_SIZE))
		return uio_fail(-EINVAL, SUBSYS, "base 0x%" PRIx64
				" not 4K-aligned", cfg->base);
	if (cfg->spi_base < V2M_FIRST_SPI || cfg->spi_base >= V2M_SPI_LIMIT ||
	    cfg->nr_spis == 0 || cfg->nr_spis > V2M_SPI_LIMIT - cfg->spi_base)
		return uio_fail(-EINVAL, SUBSYS, "SPIs %u + %u outside 32..1019",
				cfg->spi_base, cfg->nr_spis);
	v2m = uio_new(struct uiommu_gicv2m);
	if (!v2m)
		return -ENOMEM;
	v2m->pm = pm;
	v2m->cfg = *cfg;
	v2m->cfg.name = NULL;
	snprintf(v2m->name, sizeof(v2m->name), "%s", name);
	snprintf(v2m->owner, sizeof(v2m->owner), "gicv2m@%" PRIx64, cfg->base);
	v2m->typer = (uint32_t)(UIO_FDP64(0, V2M_MSI_TYPER, BASE, cfg->spi_base) |
				UIO_FDP64(0, V2M_MSI_TYPER, NUMBER, cfg->nr_spis));
	uio_mutex_init(&v2m->lock);

	memset(&desc, 0, sizeof(desc));
	desc.name = v2m->name;
	desc.owner = v2m->owner;
	desc.size = UIOMMU_GICV2M_FRAME_SIZE;
	desc.ops = &v2m_ops;
	desc.opaque = v2m;
	desc.regs = v2m_regs;
	desc.nregs = UIO_ARRAY_SIZE(v2m_regs);
	desc.doorbell = true;
	ret = uiommu_physmem_add_mmio(pm, cfg->base, &desc);
	if (ret)
		goto err_free_v2m;
	uio_info(SUBSYS, "%s: frame at 0x%" PRIx64 ", SPIs %u..%u", v2m->name,
		 cfg->base, cfg->spi_base, cfg->spi_base + cfg->nr_spis - 1);
	*out = v2m;
	return 0;

err_free_v2m:
	uio_mutex_destroy(&v2m->lock);
	uio_delete(v2m);
	return ret;
}

UIOMMU_API void uiommu_gicv2m_destroy(struct uiommu_gicv2m *v2m)
{
	if (!v2m)
		return;
	if (uiommu_physmem_remove(v2m->pm, v2m->cfg.base))
		uio_err(SUBSYS, "%s: frame already removed", v2m->name);
	uio_mutex_destroy(&v2m->lock);
	uio_delete(v2m);
}

UIOMMU_API int uiommu_gicv2m_set_handler(struct uiommu_gicv2m *v2m,
					 uiommu_gic_irq_fn fn, void *opaque)
{
	if (!v2m)
		return uio_fail(-EINVAL, SUBSYS, "NULL v2m");
	uio_lock(&v2m->lock);
	v2m->fn = fn;
	v2m->opaque = opaque;
	uio_unlock(&v2m->lock);
	return 0;
}

UIOMMU_API void uiommu_gicv2m_get_stats(struct uiommu_gicv2m *v2m,
					struct uiommu_gicv2m_stats *st)
{
	uio_lock(&v2m->lock);
	*st = v2m->stats;
	uio_unlock(&v2m->lock);
}

UIOMMU_API uint64_t uiommu_gicv2m_doorbell(const struct uiommu_gicv2m *v2m)
{
	return v2m->cfg.base + UIOMMU_GICV2M_SETSPI_NS;
}

UIOMMU_API bool uiommu_gicv2m_isolating(const struct uiommu_gicv2m *v2m)
{
	(void)v2m;
	return false;
}

UIOMMU_API int uiommu_gicv2m_check(struct uiommu_gicv2m *v2m)
{
	uint32_t base, num;

	if (!v2m)
		return uio_fail(-EINVAL, SUBSYS, "NULL v2m");
	base = (uint32_t)UIO_FEX64(v2m->typer, V2M_MSI_TYPER, BASE);
	num = (uint32_t)UIO_FEX64(v2m->typer, V2M_MSI_TYPER, NUMBER);
	if (base != v2m->cfg.spi_base || num != v2m->cfg.nr_spis ||
	    base < V2M_FIRST_SPI || num == 0 || base + num > V2M_SPI_LIMIT)
		return uio_fail(-EUCLEAN, SUBSYS, "%s: MSI_TYPER 0x%08x does "
				"not describe SPIs %u + %u", v2m->name,
				v2m->typer, v2m->cfg.spi_base, v2m->cfg.nr_spis);
	uio_lock(&v2m->lock);
	if (v2m->drop_logged >> UIOMMU_GIC_DROP_NR) {
		uio_unlock(&v2m->lock);
		return uio_fail(-EUCLEAN, SUBSYS, "%s: stray drop flags 0x%x",
				v2m->name, v2m->drop_logged);
	}
	uio_unlock(&v2m->lock);
	return 0;
}

UIOMMU_API int uiommu_gicv2m_get_info(const struct uiommu_gicv2m *v2m,
				      struct uiommu_gicv2m_info *info)
{
	if (!v2m || !info)
		return uio_fail(-EINVAL, SUBSYS, "get_info: NULL %s",
				!v2m ? "v2m" : "info");
	/* everything reported is fixed at creation: no lock needed */
	*info = (struct uiommu_gicv2m_info){
		.base = v2m->cfg.base,
		.doorbell = v2m->cfg.base + V2M_MSI_SETSPI_NS,
		.msi_typer = v2m->typer,
		.msi_iidr = (uint32_t)V2M_IIDR_VALUE,
		.spi_base = (uint32_t)UIO_FEX64(v2m->typer, V2M_MSI_TYPER, BASE),
		.nr_spis = (uint32_t)UIO_FEX64(v2m->typer, V2M_MSI_TYPER, NUMBER),
	};
	return 0;
}
