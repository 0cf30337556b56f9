// SPDX-License-Identifier: MIT
/*
 * The MSI layer (include/uiommu/msi.h): MSI domains over the ITS and
 * GICv2m drivers, per-device vector descriptors, and the glue that makes
 * the IOMMU core's doorbell bindings automatic.
 *
 * Organisation: domains (creation per controller kind, destruction, the
 * interrupt entry points); devices; vector allocation (hardware interrupts,
 * IOMMU prepare, PCI programming with compose, and the unwinding of each
 * step); the rewrite callback; queries and the invariant checker.
 *
 * Locks, outermost first: md->lock (one device's allocation state), then
 * the IOMMU core's group lock, md->msg_lock, the PCI core's and the ITS
 * driver's locks, and dom->lock, which only guards the device list, the
 * descriptor pointers and the counters and is never held across a call
 * out of this file.  Interrupt
 * delivery takes dom->lock only, to find the descriptor, and calls the
 * handler after dropping it; the descriptor's in-flight count keeps it
 * alive until the handler returns.
 *
 * The rewrite and quiesce callbacks run under the IOMMU core's group lock
 * and take md->msg_lock, which serialises every composition and write of
 * a message after the PCI core's first programming, and the changes of
 * md->programmed: a vector is only rewritten once the PCI core has
 * programmed it and until it is freed.  Allocation sets that flag and
 * checks each message once more in one msg_lock section, so a domain
 * switch racing with it is caught by one side or the other, and no
 * message composed before a switch can be written after that switch's
 * rewrite.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include <uiommu/msi.h>

#include "alloc.h"
#include "bits.h"
#include "gic-its-drv.h"
#include "gicv2m-drv.h"
#include "lock.h"
#include "log.h"
#include "trace.h"

#define SUBSYS "msi"

enum msi_kind { MSI_ITS, MSI_V2M };

struct msi_desc {
	struct uiommu_msi_dev *md;
	unsigned int index;
	uint32_t hwirq;
	uint32_t eventid;
	unsigned int cpu;
	struct uiommu_msi_vector *vec;	/* IOMMU core handle, NULL: none */
	_Atomic uint64_t address;	/* message address last written */
	uint32_t data;
	atomic_bool masked;		/* by the owner (set_masked) */
	/* under dom->lock */
	uiommu_msi_handler_fn fn;
	void *opaque;
	uint64_t count;
	atomic_uint inflight;		/* handlers running now */
};

struct uiommu_msi_dev {
	struct uiommu_msi_domain *dom;
	struct uiommu_pci_func *fn;
	struct uiommu_device *iommu_dev;
	uint32_t devid;
	uint16_t rid;
	struct uio_mutex lock;
	/* Written under md->lock and dom->lock; delivery reads under dom->lock. */
	struct msi_desc *descs;
	unsigned int nvec;
	uiommu_msi_handler_fn handler;
	void *opaque;
	/* under md->lock */
	bool msix;
	uint32_t hw_first;		/* first LPI / SPI */
	uint32_t nhw;			/* hardware interrupts allocated */
	/* Messages written after the PCI core's first programming, and
	 * programmed, under it (see the top of the file). */
	struct uio_mutex msg_lock;
	bool programmed;		/* the PCI core wrote the messages */
	struct uiommu_msi_dev *next;	/* dom->devs, under dom->lock */
};

struct uiommu_msi_domain {
	enum msi_kind kind;
	char *name;
	uint64_t doorbell;
	struct uiommu_msi_ctrl *ctrl;
	struct uio_its_drv *its_drv;
	struct uiommu_gic_its *its;
	unsigned int nr_cpus;
	struct uio_v2m_drv *v2m_drv;
	struct uiommu_gicv2m *v2m;
	struct uio_mutex lock;
	/* under lock */
	struct uiommu_msi_dev *devs;
	unsigned int ndevs;
	unsigned int nvectors;
	uint64_t delivered, unhandled, spurious;
};

/* After a mutation, at debug level 2: the domain's invariants hold. */
static void debug_check(struct uiommu_msi_domain *dom)
{
#if UIOMMU_DEBUG >= 2
	int err = uiommu_msi_domain_check(dom);

	assert(!err);
	(void)err;
#else
	(void)dom;
#endif
}

/* ------------------------------------------------------------ delivery */

/* The owner of @hwirq, or NULL; under dom->lock. */
static struct msi_desc *find_desc(struct uiommu_msi_domain *dom,
				  uint32_t hwirq)
{
	struct uiommu_msi_dev *md;

	uio_assert_held(&dom->lock);
	for (md = dom->devs; md; md = md->next)
		if (md->nvec && hwirq >= md->hw_first &&
		    hwirq - md->hw_first < md->nvec)
			return &md->descs[hwirq - md->hw_first];
	return NULL;
}

static void deliver(struct uiommu_msi_domain *dom, uint32_t hwirq)
{
	uiommu_msi_handler_fn fn = NULL;
	struct msi_desc *d;
	void *opaque = NULL;

	uio_lock(&dom->lock);
	d = find_desc(dom, hwirq);
	if (!d) {
		dom->spurious++;
	} else {
		fn = d->fn ? d->fn : d->md->handler;
		opaque = d->fn ? d->opaque : d->md->opaque;
		if (fn) {
			dom->delivered++;
			d->count++;
			atomic_fetch_add(&d->inflight, 1);
		} else {
			dom->unhandled++;
		}
	}
	uio_unlock(&dom->lock);
	if (!d) {
		uio_warn(SUBSYS, "%s: spurious interrupt %" PRIu32, dom->name,
			 hwirq);
		return;
	}
	trace_msi_deliver(hwirq, d->index, fn != NULL);
	if (!fn)
		return;
	fn(opaque, d->index);
	atomic_fetch_sub(&d->inflight, 1);
}

static void its_irq(void *opaque, unsigned int cpu, uint32_t intid)
{
	(void)cpu;
	deliver(opaque, intid);
}

static void v2m_irq(void *opaque, unsigned int cpu, uint32_t intid)
{
	(void)cpu;
	deliver(opaque, intid);
}

/* ------------------------------------------------------------- domains */

static int domain_new(const char *name, enum msi_kind kind,
		      struct uiommu_msi_domain **out)
{
	struct uiommu_msi_domain *dom = uio_new(struct uiommu_msi_domain);

	if (!dom)
		return -ENOMEM;
	dom->name = uio_strdup(name);
	if (!dom->name) {
		uio_delete(dom);
		return -ENOMEM;
	}
	dom->kind = kind;
	uio_mutex_init(&dom->lock);
	*out = dom;
	return 0;
}

static void domain_free(struct uiommu_msi_domain *dom)
{
	uio_mutex_destroy(&dom->lock);
	uio_free_str(dom->name);
	uio_delete(dom);
}

static int register_doorbell(struct uiommu_msi_domain *dom, bool isolating)
{
	struct uiommu_msi_ctrl_desc cd = {
		.name = dom->name, .doorbell_pa = dom->doorbell,
		.isolating = isolating,
	};

	return uiommu_msi_ctrl_register(&cd, &dom->ctrl);
}

static void its_set_handlers(struct uiommu_msi_domain *dom, unsigned int n,
			     bool install)
{
	for (unsigned int cpu = 0; cpu < n; cpu++) {
		int err = uiommu_gic_its_set_handler(dom->its, cpu,
						     install ? its_irq : NULL,
						     install ? dom : NULL);

		assert(!err);	/* checked against the model before */
		(void)err;
	}
}

UIOMMU_API int
uiommu_msi_domain_create_its(const struct uiommu_msi_its_desc *desc,
			     struct uiommu_msi_domain **out)
{
	struct uiommu_msi_domain *dom;
	unsigned int cpus, cpu;
	uint64_t base;
	int err;

	if (!desc || !desc->name || !desc->its || !desc->pool || !out)
		return uio_fail(-EINVAL, SUBSYS, "ITS domain: NULL argument");
	cpus = desc->nr_cpus ? desc->nr_cpus : 1;
	/* Every redistributor needs its interrupt line: the model says
	 * whether it has that many. */
	for (cpu = 0; cpu < cpus; cpu++)
		if (uiommu_gic_its_set_handler(desc->its, cpu, NULL, NULL))
			return uio_fail(-EINVAL, SUBSYS, "%s: %u CPUs, the ITS "
					"has fewer", desc->name, cpus);
	err = domain_new(desc->name, MSI_ITS, &dom);
	if (err)
		return err;
	dom->its = desc->its;
	dom->nr_cpus = cpus;
	dom->doorbell = uiommu_gic_its_doorbell(desc->its);
	base = dom->doorbell - UIOMMU_GITS_TRANSLATER;
	err = uio_its_drv_probe(desc->pool, base, cpus,
				desc->lpi_bits ? desc->lpi_bits : 16,
				&dom->its_drv);
	if (err)
		goto err_free_domain;
	err = register_doorbell(dom, true);
	if (err)
		goto err_remove_drv;
	its_set_handlers(dom, cpus, true);
	uio_info(SUBSYS, "%s: ITS MSI domain, doorbell 0x%" PRIx64 ", %u CPUs",
		 dom->name, dom->doorbell, cpus);
	*out = dom;
	return 0;

err_remove_drv:
	uio_its_drv_remove(dom->its_drv);
err_free_domain:
	domain_free(dom);
	return err;
}

UIOMMU_API int
uiommu_msi_domain_create_v2m(const struct uiommu_msi_v2m_desc *desc,
			     struct uiommu_msi_domain **out)
{
	struct uiommu_msi_domain *dom;
	uint32_t first, n;
	int err;

	if (!desc || !desc->name || !desc->v2m || !desc->pm || !out)
		return uio_fail(-EINVAL, SUBSYS, "v2m domain: NULL argument");
	err = domain_new(desc->name, MSI_V2M, &dom);
	if (err)
		return err;
	dom->v2m = desc->v2m;
	dom->doorbell = uiommu_gicv2m_doorbell(desc->v2m);
	err = uio_v2m_drv_probe(desc->pm,
				dom->doorbell - UIOMMU_GICV2M_SETSPI_NS,
				&dom->v2m_drv);
	if (err)
		goto err_free_domain;
	err = register_doorbell(dom, false);
	if (err)
		goto err_remove_drv;
	err = uiommu_gicv2m_set_handler(dom->v2m, v2m_irq, dom);
	assert(!err);
	uio_v2m_drv_range(dom->v2m_drv, &first, &n);
	uio_info(SUBSYS, "%s: GICv2m MSI domain, doorbell 0x%" PRIx64
		 ", SPIs %u..%u", dom->name, dom->doorbell, first, first + n - 1);
	*out = dom;
	return 0;

err_remove_drv:
	uio_v2m_drv_remove(dom->v2m_drv);
err_free_domain:
	domain_free(dom);
	return err;
}

UIOMMU_API int uiommu_msi_domain_destroy(struct uiommu_msi_domain *dom)
{
	unsigned int ndevs;
	int err;

	if (!dom)
		return 0;
	uio_lock(&dom->lock);
	ndevs = dom->ndevs;
	uio_unlock(&dom->lock);
	if (ndevs)
		return uio_fail(-EBUSY, SUBSYS, "%s: %u MSI devices remain",
				dom->name, ndevs);
	err = uiommu_msi_ctrl_unregister(dom->ctrl);
	if (err)
		return uio_fail(err, SUBSYS, "%s: an IOMMU device still names "
				"the controller", dom->name);
	if (dom->kind == MSI_ITS) {
		its_set_handlers(dom, dom->nr_cpus, false);
		uio_its_drv_remove(dom->its_drv);
	} else {
		err = uiommu_gicv2m_set_handler(dom->v2m, NULL, NULL);
		assert(!err);
		uio_v2m_drv_remove(dom->v2m_drv);
	}
	domain_free(dom);
	return 0;
}

UIOMMU_API struct uiommu_msi_ctrl *
uiommu_msi_domain_ctrl(const struct uiommu_msi_domain *dom)
{
	return dom ? dom->ctrl : NULL;
}

UIOMMU_API uint64_t
uiommu_msi_domain_doorbell(const struct uiommu_msi_domain *dom)
{
	return dom ? dom->doorbell : 0;
}

UIOMMU_API void uiommu_msi_domain_get_stats(struct uiommu_msi_domain *dom,
					    struct uiommu_msi_domain_stats *st)
{
	uio_lock(&dom->lock);
	*st = (struct uiommu_msi_domain_stats){
		.delivered = dom->delivered, .unhandled = dom->unhandled,
		.spurious = dom->spurious, .devices = dom->ndevs,
		.vectors = dom->nvectors,
	};
	uio_unlock(&dom->lock);
}

UIOMMU_API int
uiommu_msi_domain_get_info(const struct uiommu_msi_domain *dom,
			   struct uiommu_msi_domain_info *info)
{
	if (!dom || !info)
		return uio_fail(-EINVAL, SUBSYS, "domain_get_info: NULL %s",
				!dom ? "domain" : "info");
	/* all of it fixed at creation */
	*info = (struct uiommu_msi_domain_info){
		.name = dom->name, .its = dom->kind == MSI_ITS,
		.controller = dom->kind == MSI_ITS ? "GICv3 ITS" : "GICv2m",
		.doorbell_pa = dom->doorbell, .isolating = dom->kind == MSI_ITS,
		.nr_cpus = dom->kind == MSI_ITS ? dom->nr_cpus : 1,
		.gic_its = dom->its, .gicv2m = dom->v2m,
	};
	return 0;
}

/* ------------------------------------------------------------- devices */

UIOMMU_API int uiommu_msi_dev_create(const struct uiommu_msi_dev_desc *desc,
				     struct uiommu_msi_dev **out)
{
	struct uiommu_pci_func_info info;
	struct uiommu_msi_domain *dom;
	struct uiommu_msi_dev *md, *o;

	if (!desc || !desc->domain || !desc->fn || !out)
		return uio_fail(-EINVAL, SUBSYS, "MSI device: NULL argument");
	dom = desc->domain;
	md = uio_new(struct uiommu_msi_dev);
	if (!md)
		return -ENOMEM;
	uiommu_pci_func_get_info(desc->fn, &info);
	md->dom = dom;
	md->fn = desc->fn;
	md->iommu_dev = desc->iommu_dev;
	md->devid = desc->devid;
	md->rid = info.rid;
	md->handler = desc->handler;
	md->opaque = desc->opaque;
	uio_mutex_init(&md->lock);
	uio_mutex_init(&md->msg_lock);
	uio_lock(&dom->lock);
	for (o = dom->devs; o; o = o->next)
		if (o->fn == desc->fn) {
			uio_unlock(&dom->lock);
			uio_mutex_destroy(&md->msg_lock);
			uio_mutex_destroy(&md->lock);
			uio_delete(md);
			return uio_fail(-EEXIST, SUBSYS, "%s: function %04x "
					"already has an MSI device", dom->name,
					info.rid);
		}
	md->next = dom->devs;
	dom->devs = md;
	dom->ndevs++;
	uio_unlock(&dom->lock);
	*out = md;
	return 0;
}

UIOMMU_API int uiommu_msi_dev_destroy(struct uiommu_msi_dev *md)
{
	struct uiommu_msi_domain *dom;
	struct uiommu_msi_dev **pp;

	if (!md)
		return 0;
	dom = md->dom;
	uio_lock(&md->lock);
	if (md->nvec) {
		uio_unlock(&md->lock);
		return uio_fail(-EBUSY, SUBSYS, "%04x: %u vectors allocated",
				md->rid, md->nvec);
	}
	uio_lock(&dom->lock);
	for (pp = &dom->devs; *pp != md; pp = &(*pp)->next)
		assert(*pp);
	*pp = md->next;
	dom->ndevs--;
	uio_unlock(&dom->lock);
	uio_unlock(&md->lock);
	uio_mutex_destroy(&md->msg_lock);
	uio_mutex_destroy(&md->lock);
	uio_delete(md);
	return 0;
}

UIOMMU_API int uiommu_msi_dev_get_info(struct uiommu_msi_dev *md,
				       struct uiommu_msi_dev_info *info)
{
	if (!md || !info)
		return uio_fail(-EINVAL, SUBSYS, "dev_get_info: NULL %s",
				!md ? "device" : "info");
	uio_lock(&md->lock);
	*info = (struct uiommu_msi_dev_info){
		.domain = md->dom, .fn = md->fn, .iommu_dev = md->iommu_dev,
		.rid = md->rid, .devid = md->devid, .nvec = md->nvec,
		.msix = md->msix, .hw_first = md->hw_first, .nr_hw = md->nhw,
	};
	uio_unlock(&md->lock);
	return 0;
}

UIOMMU_API unsigned int uiommu_msi_dev_nvec(struct uiommu_msi_dev *md)
{
	unsigned int n;

	if (!md)
		return 0;
	uio_lock(&md->lock);
	n = md->nvec;
	uio_unlock(&md->lock);
	return n;
}

/* ------------------------------------------------ hardware interrupts */

/* LPIs or SPIs for @n vectors (@nhw for multiple-message MSI), and the ITS
 * mappings; desc hwirq/eventid/cpu filled in.  Under md->lock. */
static int hw_alloc(struct uiommu_msi_dev *md, struct msi_desc *descs,
		    unsigned int n, unsigned int nhw)
{
	struct uiommu_msi_domain *dom = md->dom;
	unsigned int i = 0;
	uint32_t first;
	int err;

	if (dom->kind == MSI_V2M) {
		err = uio_v2m_drv_alloc_spis_aligned(dom->v2m_drv, nhw, nhw,
						     &first);
		if (err)
			return uio_fail(err, SUBSYS, "%s: no %u free SPIs for "
					"%04x", dom->name, nhw, md->rid);
		for (i = 0; i < n; i++)
			descs[i].hwirq = first + i;
		md->hw_first = first;
		md->nhw = nhw;
		return 0;
	}
	err = uio_its_drv_alloc_lpis(dom->its_drv, n, &first);
	if (err)
		return uio_fail(err, SUBSYS, "%s: no %u free LPIs for %04x",
				dom->name, n, md->rid);
	/* The ITT holds the events of every vector (EventIDs from 0). */
	err = uio_its_drv_map_device(dom->its_drv, md->devid, nhw);
	if (err) {
		uio_err(SUBSYS, "%s: MAPD DeviceID 0x%" PRIx32 " (%04x) with %u "
			"events: %s", dom->name, md->devid, md->rid, nhw,
			uiommu_strerror(err));
		goto err_free_lpis;
	}
	for (i = 0; i < n; i++) {
		descs[i].hwirq = first + i;
		descs[i].eventid = i;
		descs[i].cpu = i % dom->nr_cpus;
		err = uio_its_drv_map_event(dom->its_drv, md->devid, i,
					    first + i, descs[i].cpu);
		if (err)
			goto err_unmap_events;
	}
	md->hw_first = first;
	md->nhw = n;
	return 0;

err_unmap_events:
	while (i--)
		if (uio_its_drv_unmap_event(dom->its_drv, md->devid, i))
			uio_warn(SUBSYS, "DISCARD 0x%" PRIx32 "/%u failed",
				 md->devid, i);
	if (uio_its_drv_unmap_device(dom->its_drv, md->devid))
		uio_warn(SUBSYS, "MAPD V=0 0x%" PRIx32 " failed", md->devid);
err_free_lpis:
	uio_its_drv_free_lpis(dom->its_drv, first, n);
	return err;
}

static void hw_free(struct uiommu_msi_dev *md, unsigned int n)
{
	struct uiommu_msi_domain *dom = md->dom;

	if (dom->kind == MSI_V2M) {
		uio_v2m_drv_free_spis(dom->v2m_drv, md->hw_first, md->nhw);
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		if (uio_its_drv_unmap_event(dom->its_drv, md->devid, i))
			uio_warn(SUBSYS, "%s: DISCARD 0x%" PRIx32 "/%u failed",
				 dom->name, md->devid, i);
	if (uio_its_drv_unmap_device(dom->its_drv, md->devid))
		uio_warn(SUBSYS, "%s: MAPD V=0 0x%" PRIx32 " failed", dom->name,
			 md->devid);
	uio_its_drv_free_lpis(dom->its_drv, md->hw_first, md->nhw);
}

/* ----------------------------------------------------------- messages */

/* The message of @d with the doorbell address as the device must see it
 * through @vec (NULL: untranslated).  The IOMMU core's callbacks pass
 * @vec themselves: they may run before prepare's caller stored d->vec. */
static int desc_compose(const struct msi_desc *d,
			const struct uiommu_msi_vector *vec,
			struct uiommu_pci_msi_msg *out)
{
	struct uiommu_msi_msg m = {
		.address = d->md->dom->doorbell, .data = d->data,
	};
	int err = vec ? uiommu_msi_compose(vec, &m) : 0;

	if (err)
		return err;
	out->address = m.address;
	out->data = m.data;
	return 0;
}

/* PCI core callback, with the PCI core's lock held: lock-free compose. */
static int pci_compose(void *opaque, struct uiommu_pci_func *fn,
		       unsigned int vector, struct uiommu_pci_msi_msg *msg)
{
	struct uiommu_msi_dev *md = opaque;
	struct msi_desc *d = &md->descs[vector];
	int err;

	(void)fn;
	assert(vector < md->nvec);
	err = desc_compose(d, d->vec, msg);
	if (!err)
		atomic_store(&d->address, msg->address);
	return err;
}

/* md->msg_lock held. */
static void write_msg(struct msi_desc *d, const struct uiommu_msi_vector *vec)
{
	struct uiommu_pci_msi_msg msg;
	int err = desc_compose(d, vec, &msg);

	if (!err)
		err = uiommu_pci_irq_write_msg(d->md->fn, d->index, &msg);
	if (err) {
		uio_err(SUBSYS, "%04x: vector %u: cannot rewrite the message: "
			"%s", d->md->rid, d->index, uiommu_strerror(err));
		return;
	}
	atomic_store(&d->address, msg.address);
	trace_msi_rewrite(d->md->rid, d->index, msg.address, msg.data);
}

/* Mask or unmask at the function, for the IOMMU core's callbacks, with
 * md->msg_lock held.  MSI without per-vector masking cannot be held: it
 * just keeps going. */
static void hold_vector(struct msi_desc *d, bool hold)
{
	int err;

	if (!hold && atomic_load(&d->masked))
		return;		/* the owner masked it: stays masked */
	err = uiommu_pci_irq_set_masked(d->md->fn, d->index, hold);
	if (err && err != -EOPNOTSUPP)
		uio_err(SUBSYS, "%04x: vector %u: cannot %smask: %s",
			d->md->rid, d->index, hold ? "" : "un",
			uiommu_strerror(err));
}

/* The IOMMU core is about to move the device's group (@hold) or failed
 * to: under its group lock. */
static void iommu_quiesce(void *opaque, struct uiommu_msi_vector *vec,
			  bool hold)
{
	struct msi_desc *d = opaque;

	(void)vec;
	uio_lock(&d->md->msg_lock);
	if (d->md->programmed)
		hold_vector(d, hold);
	uio_unlock(&d->md->msg_lock);
}

/* The IOMMU core moved the device's group: under its group lock.  The
 * vector was held masked since before the move; what it raised since is
 * pending in the function and goes out with the new message on unmask. */
static void iommu_rewrite(void *opaque, struct uiommu_msi_vector *vec)
{
	struct msi_desc *d = opaque;

	uio_lock(&d->md->msg_lock);
	if (d->md->programmed) {
		write_msg(d, vec);
		hold_vector(d, false);
	}
	uio_unlock(&d->md->msg_lock);
}

/* ------------------------------------------------------------- vectors */

/* MSI-X or MSI, and how many: what the PCI core will accept. */
static int choose_mode(struct uiommu_msi_dev *md, unsigned int min,
		       unsigned int max, unsigned int flags, bool *msix,
		       unsigned int *n)
{
	struct uiommu_pci_func_info info;

	uiommu_pci_func_get_info(md->fn, &info);
	if ((flags & UIOMMU_PCI_IRQ_FLAG_MSIX) && info.msix_cap &&
	    info.msix_max >= min) {
		*msix = true;
		*n = max < info.msix_max ? max : info.msix_max;
		return 0;
	}
	if ((flags & UIOMMU_PCI_IRQ_FLAG_MSI) && info.msi_cap &&
	    info.msi_max >= min) {
		*msix = false;
		*n = max < info.msi_max ? max : info.msi_max;
		return 0;
	}
	if (((flags & UIOMMU_PCI_IRQ_FLAG_MSIX) && info.msix_cap) ||
	    ((flags & UIOMMU_PCI_IRQ_FLAG_MSI) && info.msi_cap))
		return uio_fail(-ENOSPC, SUBSYS, "%04x: fewer than %u vectors "
				"(MSI-X %u, MSI %u)", md->rid, min,
				info.msix_max, info.msi_max);
	return uio_fail(-ENODEV, SUBSYS, "%04x: no MSI%s capability", md->rid,
			flags & UIOMMU_PCI_IRQ_FLAG_MSIX ? "/MSI-X" : "");
}

static void release_vectors(struct msi_desc *descs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uiommu_msi_release(descs[i].vec);
		descs[i].vec = NULL;
	}
}

/* Publish (or withdraw) the descriptors for interrupt delivery. */
static void publish(struct uiommu_msi_dev *md, struct msi_desc *descs,
		    unsigned int n)
{
	struct uiommu_msi_domain *dom = md->dom;

	uio_lock(&dom->lock);
	if (n)
		dom->nvectors += n;
	else
		dom->nvectors -= md->nvec;
	md->descs = descs;
	md->nvec = n;
	uio_unlock(&dom->lock);
	debug_check(dom);
}

/* Withdrawn descriptors: wait for the handlers still running. */
static void wait_handlers(struct msi_desc *descs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		while (atomic_load(&descs[i].inflight))
			sched_yield();
}

/* The PCI core programmed the messages: from now on the IOMMU core's
 * callbacks keep them current.  Fix those a switch changed meanwhile, in
 * the same msg_lock section, so no switch falls in between. */
static void set_programmed(struct uiommu_msi_dev *md)
{
	uio_lock(&md->msg_lock);
	md->programmed = true;
	for (unsigned int i = 0; i < md->nvec; i++) {
		struct msi_desc *d = &md->descs[i];
		struct uiommu_pci_msi_msg msg;

		if (d->vec && !desc_compose(d, d->vec, &msg) &&
		    msg.address != atomic_load(&d->address))
			write_msg(d, d->vec);
	}
	uio_unlock(&md->msg_lock);
}

UIOMMU_API int uiommu_msi_alloc_irq_vectors(struct uiommu_msi_dev *md,
					    unsigned int min,
					    unsigned int max,
					    unsigned int flags,
					    unsigned int *nvec)
{
	struct msi_desc *descs;
	unsigned int n = 0, nhw, got, i;
	bool msix = false;
	int err;

	if (!md || !nvec || !min || min > max ||
	    !(flags & (UIOMMU_PCI_IRQ_FLAG_MSI | UIOMMU_PCI_IRQ_FLAG_MSIX)) ||
	    (flags & ~(UIOMMU_PCI_IRQ_FLAG_MSI | UIOMMU_PCI_IRQ_FLAG_MSIX)))
		return uio_fail(-EINVAL, SUBSYS, "alloc_irq_vectors: min %u max"
				" %u flags 0x%x", min, max, flags);
	uio_lock(&md->lock);
	if (md->nvec) {
		err = uio_fail(-EBUSY, SUBSYS, "%04x: %u vectors already "
			       "allocated", md->rid, md->nvec);
		goto out_unlock;
	}
	err = choose_mode(md, min, max, flags, &msix, &n);
	if (err)
		goto out_unlock;
	/* Multiple-message MSI: a naturally aligned power-of-two block. */
	for (nhw = 1; !msix && nhw < n; nhw <<= 1)
		;
	if (msix)
		nhw = n;
	descs = uio_calloc(n, sizeof(*descs));
	if (!descs) {
		err = -ENOMEM;
		goto out_unlock;
	}
	for (i = 0; i < n; i++) {
		descs[i].md = md;
		descs[i].index = i;
	}
	err = hw_alloc(md, descs, n, nhw);
	if (err)
		goto err_free_descs;
	for (i = 0; i < n; i++)
		descs[i].data = md->dom->kind == MSI_ITS ? descs[i].eventid :
							   descs[i].hwirq;
	for (i = 0; md->iommu_dev && i < n; i++) {
		err = uiommu_msi_prepare(md->iommu_dev, md->dom->doorbell,
					 iommu_rewrite, &descs[i],
					 &descs[i].vec);
		if (!err)
			uiommu_msi_set_quiesce(descs[i].vec, iommu_quiesce);
		if (err) {
			uio_err(SUBSYS, "%04x: vector %u: doorbell 0x%" PRIx64
				" not reachable: %s", md->rid, i,
				md->dom->doorbell, uiommu_strerror(err));
			goto err_release;
		}
	}
	md->msix = msix;
	publish(md, descs, n);
	err = uiommu_pci_alloc_irq_vectors(md->fn, n, n,
					   msix ? UIOMMU_PCI_IRQ_FLAG_MSIX :
						  UIOMMU_PCI_IRQ_FLAG_MSI,
					   pci_compose, md, &got);
	if (err)
		goto err_withdraw;
	assert(got == n);
	set_programmed(md);
	trace_msi_alloc(md->rid, msix ? "msix" : "msi", n, md->hw_first);
	uio_info(SUBSYS, "%04x: %u %s vectors on %s, interrupts %u..%u",
		 md->rid, n, msix ? "MSI-X" : "MSI", md->dom->name,
		 md->hw_first, md->hw_first + n - 1);
	*nvec = n;
	goto out_unlock;

err_withdraw:
	publish(md, NULL, 0);
	wait_handlers(descs, n);
err_release:
	release_vectors(descs, n);
	hw_free(md, n);
err_free_descs:
	uio_free_array(descs, n, sizeof(*descs));
out_unlock:
	uio_unlock(&md->lock);
	return err;
}

UIOMMU_API int uiommu_msi_free_irq_vectors(struct uiommu_msi_dev *md)
{
	struct msi_desc *descs;
	unsigned int n;
	int err;

	if (!md)
		return uio_fail(-EINVAL, SUBSYS, "free_irq_vectors: NULL");
	uio_lock(&md->lock);
	n = md->nvec;
	descs = md->descs;
	if (!n) {
		uio_unlock(&md->lock);
		return -ENOENT;
	}
	/* No callback acts on the vectors from here, and the device stops
	 * first, so it never writes an unmapped IOVA. */
	uio_lock(&md->msg_lock);
	md->programmed = false;
	uio_unlock(&md->msg_lock);
	err = uiommu_pci_free_irq_vectors(md->fn);
	if (err)
		uio_warn(SUBSYS, "%04x: disabling MSI%s failed: %s", md->rid,
			 md->msix ? "-X" : "", uiommu_strerror(err));
	hw_free(md, n);
	publish(md, NULL, 0);
	wait_handlers(descs, n);
	release_vectors(descs, n);
	uio_free_array(descs, n, sizeof(*descs));
	trace_msi_free(md->rid, n);
	uio_unlock(&md->lock);
	return 0;
}

/* The descriptor of an allocated vector; under md->lock. */
static struct msi_desc *vector_desc(struct uiommu_msi_dev *md,
				    unsigned int vector)
{
	uio_assert_held(&md->lock);
	if (vector >= md->nvec) {
		(void)uio_fail(-EINVAL, SUBSYS, "%04x: vector %u not allocated "
			 "(%u)", md->rid, vector, md->nvec);
		return NULL;
	}
	return &md->descs[vector];
}

UIOMMU_API int uiommu_msi_set_handler(struct uiommu_msi_dev *md,
				      unsigned int vector,
				      uiommu_msi_handler_fn fn, void *opaque)
{
	struct msi_desc *d;

	if (!md)
		return uio_fail(-EINVAL, SUBSYS, "set_handler: NULL");
	uio_lock(&md->lock);
	d = vector_desc(md, vector);
	if (d) {
		uio_lock(&md->dom->lock);
		d->fn = fn;
		d->opaque = opaque;
		uio_unlock(&md->dom->lock);
	}
	uio_unlock(&md->lock);
	return d ? 0 : -EINVAL;
}

UIOMMU_API int uiommu_msi_set_masked(struct uiommu_msi_dev *md,
				     unsigned int vector, bool masked)
{
	struct msi_desc *d;
	int err = -EINVAL;

	if (!md)
		return uio_fail(-EINVAL, SUBSYS, "set_masked: NULL");
	uio_lock(&md->lock);
	d = vector_desc(md, vector);
	if (d) {
		err = uiommu_pci_irq_set_masked(md->fn, vector, masked);
		if (!err)
			atomic_store(&d->masked, masked);
	}
	uio_unlock(&md->lock);
	return err;
}

UIOMMU_API int uiommu_msi_set_affinity(struct uiommu_msi_dev *md,
				       unsigned int vector, unsigned int cpu)
{
	struct msi_desc *d;
	int err = -EINVAL;

	if (!md)
		return uio_fail(-EINVAL, SUBSYS, "set_affinity: NULL");
	if (md->dom->kind != MSI_ITS)
		return uio_fail(-EOPNOTSUPP, SUBSYS, "%s: SPI affinity is not "
				"modelled", md->dom->name);
	if (cpu >= md->dom->nr_cpus)
		return uio_fail(-EINVAL, SUBSYS, "%s: CPU %u of %u", md->dom->name,
				cpu, md->dom->nr_cpus);
	uio_lock(&md->lock);
	d = vector_desc(md, vector);
	if (d) {
		err = uio_its_drv_move_event(md->dom->its_drv, md->devid,
					     d->eventid, cpu);
		if (!err)
			d->cpu = cpu;
	}
	uio_unlock(&md->lock);
	return err;
}

UIOMMU_API int uiommu_msi_get_vector(struct uiommu_msi_dev *md,
				     unsigned int vector,
				     struct uiommu_msi_vector_info *info)
{
	struct msi_desc *d;

	if (!md || !info)
		return uio_fail(-EINVAL, SUBSYS, "get_vector: NULL");
	uio_lock(&md->lock);
	d = vector_desc(md, vector);
	if (d) {
		*info = (struct uiommu_msi_vector_info){
			.index = d->index, .msix = md->msix,
			.hwirq = d->hwirq, .eventid = d->eventid,
			.cpu = d->cpu, .doorbell_pa = md->dom->doorbell,
			.address = atomic_load(&d->address), .data = d->data,
			.masked = atomic_load(&d->masked),
		};
		uio_lock(&md->dom->lock);
		info->has_handler = d->fn || md->handler;
		info->count = d->count;
		uio_unlock(&md->dom->lock);
	}
	uio_unlock(&md->lock);
	return d ? 0 : -EINVAL;
}

/* --------------------------------------------------------------- check */

static int check_dev(struct uiommu_msi_domain *dom,
		     const struct uiommu_msi_dev *md)
{
	for (unsigned int i = 0; i < md->nvec; i++) {
		const struct msi_desc *d = &md->descs[i];
		uint32_t want = dom->kind == MSI_ITS ? d->eventid : d->hwirq;

		if (d->md != md || d->index != i || d->hwirq != md->hw_first + i ||
		    d->data != want ||
		    (dom->kind == MSI_ITS && d->eventid != i))
			return uio_fail(-EUCLEAN, SUBSYS, "%s: %04x vector %u: "
					"index %u hwirq %u data 0x%x", dom->name,
					md->rid, i, d->index, d->hwirq, d->data);
	}
	if (md->nvec && md->nhw < md->nvec)
		return uio_fail(-EUCLEAN, SUBSYS, "%s: %04x: %u vectors on %u "
				"interrupts", dom->name, md->rid, md->nvec,
				md->nhw);
	return 0;
}

UIOMMU_API int uiommu_msi_domain_check(struct uiommu_msi_domain *dom)
{
	const struct uiommu_msi_dev *md, *o;
	unsigned int ndevs = 0, nvec = 0;
	int err = 0;

	if (!dom)
		return uio_fail(-EINVAL, SUBSYS, "check: NULL domain");
	uio_lock(&dom->lock);
	for (md = dom->devs; md && !err; md = md->next) {
		ndevs++;
		nvec += md->nvec;
		err = check_dev(dom, md);
		for (o = md->next; o && !err; o = o->next)
			if (md->nvec && o->nvec &&
			    uio_ranges_overlap(md->hw_first,
					       md->hw_first + md->nhw - 1,
					       o->hw_first,
					       o->hw_first + o->nhw - 1))
				err = uio_fail(-EUCLEAN, SUBSYS, "%s: %04x and "
					       "%04x share interrupt %u",
					       dom->name, md->rid, o->rid,
					       o->hw_first);
	}
	if (!err && (ndevs != dom->ndevs || nvec != dom->nvectors))
		err = uio_fail(-EUCLEAN, SUBSYS, "%s: %u devices / %u vectors,"
			       " counted %u / %u", dom->name, dom->ndevs,
			       dom->nvectors, ndevs, nvec);
	uio_unlock(&dom->lock);
	return err;
}
