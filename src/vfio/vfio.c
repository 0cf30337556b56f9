/* SPDX-License-Identifier: MIT */
/*
 * VFIO type1 v2 over a uiommu machine (include/uiommu/vfio.h).
 *
 * Objects: a layer per machine knows the machine's functions (bound or not
 * to VFIO) and its IOMMU groups.  Containers, groups and devices opened
 * through it are eventfd(2) descriptors registered in a process-wide table
 * (fd -> object); uiommu_vfio_ioctl() finds the object there and runs the
 * request under the layer's lock.
 *
 * A container with VFIO_SET_IOMMU owns one unmanaged domain that every
 * group of the container is attached to (they share one SMMU here).  Each
 * MAP_DMA registers the caller's buffer as a RAM region of the machine's
 * physical address space (above the machine's RAM, 2 MiB-aligned when the
 * size allows, as memory plugged after boot) and maps the IOVA range to
 * it, so the device's DMA lands in the caller's memory.  SET_IRQS enables
 * vectors through the MSI layer, whose messages the IOMMU core composes
 * with doorbell IOVAs in the domain's MSI window; each vector's handler
 * writes the trigger eventfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/vfio.h>

#include <uiommu/iommu.h>
#include <uiommu/machine.h>
#include <uiommu/msi.h>
#include <uiommu/vfio.h>

#include "alloc.h"
#include "bits.h"
#include "lock.h"
#include "log.h"
#include "physmem-internal.h"
#include "trace.h"

#define SUBSYS "vfio"

/* Region offsets as vfio-pci lays them out: index in the top bits. */
#define REGION_SHIFT 40
#define REGION_OFF(idx) ((uint64_t)(idx) << REGION_SHIFT)
#define MAX_CONTAINER_GROUPS 32
#define PIN_BLOCK (2ull << 20)	/* placement of pinned buffers */

/* PCI 3.0, 6.8.2 MSI-X Capability: Table Offset/BIR at +4, BIR [2:0];
 * Message Control at +2, Table Size [10:0] (N - 1). */
UIO_FIELD(MSIX_TBL, BIR, 0, 3);
UIO_FIELD(MSIX_CTL, QSIZE, 0, 11);

struct vfio_fn {
	const struct uiommu_machine_func *f;
	struct vfio_grp *grp;
	char name[40];
	bool bound;
	struct device *open;
};

struct vfio_grp {
	struct uiommu_group *g;
	unsigned int id;
	struct group *open;
};

struct uiommu_vfio {
	struct uio_mutex lock;
	struct uiommu_machine *m;
	struct uiommu_vfio_opts opts;
	struct vfio_fn *fns;
	size_t nfns;
	struct vfio_grp *grps;
	size_t ngrps;
	uint64_t pin_pa_min;	/* pinned buffers go at or above: RAM's end */
};

struct vmap {
	uint64_t iova, size, pa;
};

struct container {
	struct uiommu_vfio *v;
	int fd;			/* -1 once closed */
	struct group *groups[MAX_CONTAINER_GROUPS];
	unsigned int ngroups;
	struct uiommu_domain *dom;	/* non-NULL once SET_IOMMU */
	bool v1;		/* VFIO_TYPE1_IOMMU: v1 unmap semantics */
	struct vmap *maps;	/* sorted by iova, disjoint */
	size_t nmaps, cap;
};

struct group {
	struct uiommu_vfio *v;
	int fd;
	struct vfio_grp *grp;
	struct container *c;
	unsigned int ndevs;
};

/* A trigger: the eventfd a vector's interrupt writes (or -1). */
struct trig {
	int fd;
};

struct device {
	struct uiommu_vfio *v;
	int fd;
	struct group *g;
	struct vfio_fn *fn;
	int irq_index;		/* VFIO_PCI_MSI/MSIX_IRQ_INDEX, -1 for none */
	unsigned int nvec;
	struct trig *trig;
};

enum obj_kind { OBJ_CONTAINER = 1, OBJ_GROUP, OBJ_DEVICE };

/* ------------------------------------------------------- descriptor table */

struct fd_ent {
	int fd;
	enum obj_kind kind;
	void *obj;
	struct uiommu_vfio *v;
};

static struct uio_mutex table_lock = UIO_MUTEX_INIT;
static struct fd_ent *table;
static size_t table_n, table_cap;

/* Create an eventfd and register it: the object's descriptor. */
static int fd_register(struct uiommu_vfio *v, enum obj_kind kind, void *obj,
		       int *out)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), ret = 0;

	if (fd < 0)
		return uio_fail(-errno, SUBSYS, "eventfd: %s", strerror(errno));
	uio_lock(&table_lock);
	if (table_n == table_cap) {
		size_t ncap = table_cap ? table_cap * 2 : 16;
		struct fd_ent *n = uio_calloc(ncap, sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		if (table_n)
			memcpy(n, table, table_n * sizeof(*n));
		uio_free_array(table, table_cap, sizeof(*table));
		table = n;
		table_cap = ncap;
	}
	table[table_n++] = (struct fd_ent){ fd, kind, obj, v };
out_unlock:
	uio_unlock(&table_lock);
	if (ret) {
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

static bool fd_lookup(int fd, struct fd_ent *out)
{
	bool found = false;

	*out = (struct fd_ent){ .fd = -1 };	/* gcc cannot see the loop set it */
	uio_lock(&table_lock);
	for (size_t i = 0; i < table_n; i++) {
		if (table[i].fd == fd) {
			*out = table[i];
			found = true;
			break;
		}
	}
	uio_unlock(&table_lock);
	return found;
}

/* Never allocates, so closing cannot fail for lack of memory. */
static void fd_unregister(int fd)
{
	uio_lock(&table_lock);
	for (size_t i = 0; i < table_n; i++) {
		if (table[i].fd == fd) {
			table[i] = table[--table_n];
			break;
		}
	}
	if (!table_n) {
		uio_free_array(table, table_cap, sizeof(*table));
		table = NULL;
		table_cap = 0;
	}
	uio_unlock(&table_lock);
	close(fd);
}

/*
 * Find @fd's object and lock its layer; the entry is looked up again under
 * the lock so that a concurrent close is seen.
 */
static bool fd_get_locked(int fd, struct fd_ent *e)
{
	struct fd_ent again;

	if (!fd_lookup(fd, e))
		return false;
	uio_lock(&e->v->lock);
	if (!fd_lookup(fd, &again) || again.obj != e->obj) {
		uio_unlock(&e->v->lock);
		return false;
	}
	return true;
}

/* --------------------------------------------------------------- layer */

static int count_fn(void *opaque, const struct uiommu_machine_func *f)
{
	(void)f;
	(*(size_t *)opaque)++;
	return 0;
}

struct fill_ctx {
	struct uiommu_vfio *v;
	size_t i;
};

static struct vfio_grp *grp_of(struct uiommu_vfio *v, struct uiommu_group *g)
{
	for (size_t i = 0; i < v->ngrps; i++)
		if (v->grps[i].g == g)
			return &v->grps[i];
	return NULL;
}

static int fill_fn(void *opaque, const struct uiommu_machine_func *f)
{
	struct fill_ctx *c = opaque;
	struct uiommu_vfio *v = c->v;
	struct vfio_fn *fn = &v->fns[c->i++];
	struct uiommu_group *g;

	fn->f = f;
	fn->bound = !v->opts.unbound;
	snprintf(fn->name, sizeof(fn->name), "%04x:%02x:%02x.%x", f->host & 0xffff,
		 f->bus, f->devfn >> 3, f->devfn & 7);
	g = f->iommu_dev ? uiommu_device_group(f->iommu_dev) : NULL;
	if (!g)
		return 0;	/* DMA not translated: not assignable */
	fn->grp = grp_of(v, g);
	if (!fn->grp) {
		fn->grp = &v->grps[v->ngrps++];
		fn->grp->g = g;
		fn->grp->id = uiommu_group_id(g);
	}
	return 0;
}

/* The end of the machine's highest RAM region. */
static int ram_end_fn(void *opaque, const struct uiommu_region_info *r)
{
	uint64_t *end = opaque;

	if (r->kind == UIOMMU_REGION_RAM && r->base + r->size > *end)
		*end = r->base + r->size;
	return 0;
}

UIOMMU_API int uiommu_vfio_create(struct uiommu_machine *m,
				  const struct uiommu_vfio_opts *opts,
				  struct uiommu_vfio **out)
{
	struct uiommu_vfio *v;
	struct fill_ctx fc;
	size_t n = 0;
	int ret;

	if (!m || !out)
		return uio_fail(-EINVAL, SUBSYS, "create: NULL %s",
				m ? "out" : "machine");
	ret = uiommu_machine_for_each_function(m, count_fn, &n);
	if (ret)
		return uio_fail(ret, SUBSYS, "create: machine not realized");
	v = uio_new(struct uiommu_vfio);
	if (!v)
		return -ENOMEM;
	if (opts)
		v->opts = *opts;
	if (!v->opts.dma_entry_limit)
		v->opts.dma_entry_limit = UIOMMU_VFIO_DMA_ENTRY_LIMIT;
	v->m = m;
	v->nfns = n;
	if (n) {
		v->fns = uio_calloc(n, sizeof(*v->fns));
		v->grps = uio_calloc(n, sizeof(*v->grps));
		if (!v->fns || !v->grps)
			goto err_free;
	}
	fc = (struct fill_ctx){ v, 0 };
	ret = uiommu_machine_for_each_function(m, fill_fn, &fc);
	assert(!ret);
	ret = uiommu_physmem_for_each(uiommu_machine_physmem(m), ram_end_fn,
				      &v->pin_pa_min);
	assert(!ret);
	uio_mutex_init(&v->lock);
	*out = v;
	return 0;
err_free:
	uio_free_array(v->fns, n, sizeof(*v->fns));
	uio_free_array(v->grps, n, sizeof(*v->grps));
	uio_delete(v);
	return -ENOMEM;
}

static struct vfio_fn *fn_by_name(struct uiommu_vfio *v, const char *name)
{
	for (size_t i = 0; i < v->nfns; i++)
		if (!strcmp(v->fns[i].name, name))
			return &v->fns[i];
	return NULL;
}

UIOMMU_API int uiommu_vfio_bind(struct uiommu_vfio *v, const char *name,
				bool bound)
{
	struct vfio_fn *fn;
	int ret = 0;

	if (!v || !name)
		return uio_fail(-EINVAL, SUBSYS, "bind: NULL argument");
	uio_lock(&v->lock);
	fn = fn_by_name(v, name);
	if (!fn)
		ret = uio_fail(-ENODEV, SUBSYS, "bind: no function %s", name);
	else if (!bound && fn->grp && fn->grp->open && fn->grp->open->c)
		ret = uio_fail(-EBUSY, SUBSYS,
			       "unbind %s: its group %u is in a container",
			       name, fn->grp->id);
	else
		fn->bound = bound;
	uio_unlock(&v->lock);
	return ret;
}

/* ------------------------------------------------------------ containers */

UIOMMU_API int uiommu_vfio_open_container(struct uiommu_vfio *v, int *fd)
{
	struct container *c;
	int ret;

	if (!v || !fd)
		return uio_fail(-EINVAL, SUBSYS, "open container: NULL argument");
	c = uio_new(struct container);
	if (!c)
		return -ENOMEM;
	c->v = v;
	uio_lock(&v->lock);
	ret = fd_register(v, OBJ_CONTAINER, c, &c->fd);
	uio_unlock(&v->lock);
	if (ret) {
		uio_delete(c);
		return ret;
	}
	*fd = c->fd;
	return 0;
}

static struct vmap *map_find(struct container *c, uint64_t first,
			     uint64_t last)
{
	for (size_t i = 0; i < c->nmaps; i++) {
		struct vmap *mp = &c->maps[i];

		if (mp->iova <= last && first <= mp->iova + mp->size - 1)
			return mp;
	}
	return NULL;
}

/* Undo one mapping: the IOMMU mapping, then the caller's RAM region. */
static void map_remove(struct container *c, size_t i)
{
	struct vmap mp = c->maps[i];
	uint64_t unmapped;
	int ret;

	trace_vfio_unmap(mp.iova, mp.size);
	ret = uiommu_unmap(c->dom, mp.iova, mp.size, &unmapped);
	assert(!ret && unmapped == mp.size);
	ret = uiommu_physmem_remove(uiommu_machine_physmem(c->v->m), mp.pa);
	assert(!ret);
	(void)ret;
	memmove(&c->maps[i], &c->maps[i + 1],
		(c->nmaps - i - 1) * sizeof(c->maps[0]));
	c->nmaps--;
}

/* The last group left: the domain and the mappings go. */
static void container_release_iommu(struct container *c)
{
	int ret;

	if (!c->dom)
		return;
	while (c->nmaps)
		map_remove(c, c->nmaps - 1);
	uio_free_array(c->maps, c->cap, sizeof(*c->maps));
	c->maps = NULL;
	c->cap = 0;
	ret = uiommu_domain_free(c->dom);
	assert(!ret);
	(void)ret;
	c->dom = NULL;
	c->v1 = false;
}

static void container_maybe_free(struct container *c)
{
	if (c->fd < 0 && !c->ngroups)
		uio_delete(c);
}

/* Does the group's MSI setup isolate devices?  The kernel's refusal. */
static int group_check_isolation(struct uiommu_vfio *v, struct group *g)
{
	char reason[160] = "";
	bool isolated = false;

	uiommu_group_msi_isolation(g->grp->g, &isolated, reason, sizeof(reason));
	if (isolated)
		return 0;
	if (v->opts.allow_unsafe_interrupts) {
		uio_warn(SUBSYS, "group %u: MSIs not isolated (%s); attached "
			 "anyway: allow_unsafe_interrupts is set", g->grp->id,
			 reason);
		return 0;
	}
	uio_err(SUBSYS, "group %u: no interrupt remapping or MSI isolation "
		"(%s): a device could forge another's interrupts; set "
		"allow_unsafe_interrupts to use VFIO on this platform anyway",
		g->grp->id, reason);
	return -EPERM;
}

static int group_attach(struct container *c, struct group *g)
{
	int ret = group_check_isolation(c->v, g);

	if (ret)
		return ret;
	ret = uiommu_group_attach(g->grp->g, c->dom);
	if (ret)
		return uio_fail(ret, SUBSYS, "group %u: attach: %s", g->grp->id,
				uiommu_strerror(ret));
	return 0;
}

static int first_dev(void *opaque, struct uiommu_device *dev)
{
	*(struct uiommu_device **)opaque = dev;
	return 1;
}

static int container_set_iommu(struct container *c, unsigned long type)
{
	struct uiommu_device *dev = NULL;
	unsigned int i;
	int ret;

	if (!c->ngroups || c->dom)
		return uio_fail(-EINVAL, SUBSYS, "SET_IOMMU: %s",
				c->dom ? "already set" : "no group in the container");
	if (type != VFIO_TYPE1v2_IOMMU && type != VFIO_TYPE1_IOMMU)
		return uio_fail(-ENODEV, SUBSYS,
				"SET_IOMMU: type %lu not supported (only "
				"VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU)", type);
	c->v1 = type == VFIO_TYPE1_IOMMU;
	uiommu_group_for_each_device(c->groups[0]->grp->g, first_dev, &dev);
	assert(dev);
	ret = uiommu_domain_alloc(dev, UIOMMU_DOMAIN_UNMANAGED, &c->dom);
	if (ret)
		return ret;
	for (i = 0; i < c->ngroups; i++) {
		ret = group_attach(c, c->groups[i]);
		if (ret)
			goto err_detach;
	}
	return 0;
err_detach:
	while (i--) {
		int r = uiommu_group_detach(c->groups[i]->grp->g);

		assert(!r);
		(void)r;
	}
	{
		int r = uiommu_domain_free(c->dom);

		assert(!r);
		(void)r;
	}
	c->dom = NULL;
	return ret;
}

/* Copy the regions that apply to the domain, sorted by start. */
static int cmp_resv(const void *a, const void *b)
{
	const struct uiommu_resv_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The valid IOVA ranges: the aperture minus the reserved regions of every
 * attached group and the MSI window.  @out receives up to @cap ranges;
 * *@n the count.
 */
static int valid_ranges(struct container *c,
			struct vfio_iova_range **out, size_t *n)
{
	struct uiommu_domain_info di;
	struct uiommu_resv_region *r = NULL;
	struct vfio_iova_range *rg;
	size_t nr = 0, got, k = 0;
	uint64_t next;
	bool end = false;

	uiommu_domain_get_info(c->dom, &di);
	uiommu_domain_resv_regions(c->dom, NULL, 0, &nr);
	if (nr) {
		r = uio_calloc(nr, sizeof(*r));
		if (!r)
			return -ENOMEM;
		uiommu_domain_resv_regions(c->dom, r, nr, &got);
		assert(got == nr);
		qsort(r, nr, sizeof(*r), cmp_resv);
	}
	rg = uio_calloc(nr + 1, sizeof(*rg));
	if (!rg) {
		uio_free_array(r, nr, sizeof(*r));
		return -ENOMEM;
	}
	next = di.aperture_start;
	for (size_t i = 0; i < nr && !end; i++) {
		if (r[i].last < next)
			continue;
		if (r[i].start > di.aperture_last)
			break;
		if (r[i].start > next)
			rg[k++] = (struct vfio_iova_range){ next, r[i].start - 1 };
		if (r[i].last >= di.aperture_last)
			end = true;
		else
			next = r[i].last + 1;
	}
	if (!end)
		rg[k++] = (struct vfio_iova_range){ next, di.aperture_last };
	uio_free_array(r, nr, sizeof(*r));
	*out = rg;
	*n = k;
	/* The array holds nr + 1 entries whatever k is. */
	return (int)(nr + 1);
}

static int iommu_get_info(struct container *c, struct vfio_iommu_type1_info *arg)
{
	struct vfio_iommu_type1_info info;
	size_t minsz = offsetof(struct vfio_iommu_type1_info, cap_offset);
	struct vfio_iommu_type1_info_dma_avail avail = { 0 };
	struct vfio_iommu_type1_info_cap_iova_range irc = { 0 };
	struct uiommu_domain_info di;
	struct vfio_iova_range *rg;
	/* Each capability starts 8-byte aligned, as the kernel pads them. */
	const size_t avail_size = uio_align_up(sizeof(avail), 8);
	size_t nrg, caps_size, irc_size;
	int alloc_n;

	memcpy(&info, arg, minsz);
	if (info.argsz < minsz)
		return uio_fail(-EINVAL, SUBSYS, "GET_INFO: argsz %u < %zu",
				info.argsz, minsz);
	minsz = info.argsz < sizeof(info) ? info.argsz : sizeof(info);
	alloc_n = valid_ranges(c, &rg, &nrg);
	if (alloc_n < 0)
		return alloc_n;
	uiommu_domain_get_info(c->dom, &di);
	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = di.pgsize_bitmap;
	info.cap_offset = 0;

	/* The chain, in the kernel's order: DMA_AVAIL then IOVA_RANGE. */
	irc_size = sizeof(irc) + nrg * sizeof(*rg);
	caps_size = avail_size + irc_size;
	if (info.argsz < sizeof(info) + caps_size) {
		info.argsz = (uint32_t)(sizeof(info) + caps_size);
	} else {
		char *base = (char *)arg;
		size_t off = sizeof(info);

		avail.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
		avail.header.version = 1;
		avail.header.next = (uint32_t)(off + avail_size);
		avail.avail = c->v->opts.dma_entry_limit - (uint32_t)c->nmaps;
		memset(base + off, 0, avail_size);
		memcpy(base + off, &avail, sizeof(avail));
		off += avail_size;
		irc.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		irc.header.version = 1;
		irc.header.next = 0;
		irc.nr_iovas = (uint32_t)nrg;
		memcpy(base + off, &irc, sizeof(irc));
		memcpy(base + off + sizeof(irc), rg, nrg * sizeof(*rg));
		info.cap_offset = sizeof(info);
	}
	uio_free_array(rg, (size_t)alloc_n, sizeof(*rg));
	memcpy(arg, &info, minsz);
	return 0;
}

static uint64_t min_pgsize(struct container *c)
{
	struct uiommu_domain_info di;

	uiommu_domain_get_info(c->dom, &di);
	return di.pgsize_bitmap & -di.pgsize_bitmap;
}

/* Is [first, last] inside one valid IOVA range? */
static int iova_valid(struct container *c, uint64_t first, uint64_t last)
{
	struct vfio_iova_range *rg;
	size_t n;
	int alloc_n = valid_ranges(c, &rg, &n), ret = 0;

	if (alloc_n < 0)
		return alloc_n;
	for (size_t i = 0; i < n; i++)
		if (rg[i].start <= first && last <= rg[i].end)
			ret = 1;
	uio_free_array(rg, (size_t)alloc_n, sizeof(*rg));
	return ret;
}

static int map_insert(struct container *c, const struct vmap *mp)
{
	size_t i = 0;

	if (c->nmaps == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		struct vmap *n = uio_calloc(ncap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (c->nmaps)
			memcpy(n, c->maps, c->nmaps * sizeof(*n));
		uio_free_array(c->maps, c->cap, sizeof(*c->maps));
		c->maps = n;
		c->cap = ncap;
	}
	while (i < c->nmaps && c->maps[i].iova < mp->iova)
		i++;
	memmove(&c->maps[i + 1], &c->maps[i], (c->nmaps - i) * sizeof(*mp));
	c->maps[i] = *mp;
	c->nmaps++;
	return 0;
}

static int set_msi_window(struct container *c, uint64_t iova, uint64_t size)
{
	int ret = uiommu_domain_set_msi_window(c->dom, iova, size);

	if (ret)
		return uio_fail(ret, SUBSYS, "MAP_DMA: MSI window [0x%" PRIx64
				", +0x%" PRIx64 "): %s", iova, size,
				uiommu_strerror(ret));
	return 0;
}

static int iommu_map_dma(struct container *c, struct vfio_iommu_type1_dma_map *arg)
{
	const uint32_t known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			       UIOMMU_VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA;
	struct vfio_iommu_type1_dma_map mp = *arg;
	struct uiommu_physmem *pm = uiommu_machine_physmem(c->v->m);
	uint64_t pg = min_pgsize(c), pa;
	unsigned int prot = 0;
	char name[40];
	int ret;

	if (mp.argsz < offsetof(struct vfio_iommu_type1_dma_map, size) + 8 ||
	    (mp.flags & ~known))
		return uio_fail(-EINVAL, SUBSYS, "MAP_DMA: argsz %u flags 0x%x",
				mp.argsz, mp.flags);
	if (!mp.size || ((mp.size | mp.iova) & (pg - 1)) ||
	    mp.iova + mp.size - 1 < mp.iova)
		return uio_fail(-EINVAL, SUBSYS, "MAP_DMA: iova 0x%" PRIx64
				" size 0x%" PRIx64 " (page 0x%" PRIx64 ")",
				(uint64_t)mp.iova, (uint64_t)mp.size, pg);
	if (mp.flags & UIOMMU_VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA)
		return set_msi_window(c, mp.iova, mp.size);
	if (mp.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= UIOMMU_PROT_WRITE;
	if (mp.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= UIOMMU_PROT_READ;
	if (!prot || (mp.vaddr & (pg - 1)) || mp.vaddr + mp.size - 1 < mp.vaddr)
		return uio_fail(-EINVAL, SUBSYS, "MAP_DMA: flags 0x%x vaddr 0x%"
				PRIx64, mp.flags, (uint64_t)mp.vaddr);
	if (!mp.vaddr)
		return uio_fail(-EFAULT, SUBSYS, "MAP_DMA: NULL vaddr");
	if (map_find(c, mp.iova, mp.iova + mp.size - 1))
		return uio_fail(-EEXIST, SUBSYS, "MAP_DMA: [0x%" PRIx64 ", +0x%"
				PRIx64 ") overlaps a mapping",
				(uint64_t)mp.iova, (uint64_t)mp.size);
	if (c->nmaps >= c->v->opts.dma_entry_limit)
		return uio_fail(-ENOSPC, SUBSYS, "MAP_DMA: %zu mappings: the limit",
				c->nmaps);
	ret = iova_valid(c, mp.iova, mp.iova + mp.size - 1);
	if (ret <= 0)
		return ret < 0 ? ret :
		       uio_fail(-EINVAL, SUBSYS, "MAP_DMA: [0x%" PRIx64 ", +0x%"
				PRIx64 ") outside the valid IOVA ranges",
				(uint64_t)mp.iova, (uint64_t)mp.size);
	/* Pin: the caller's buffer becomes RAM the device can reach. */
	snprintf(name, sizeof(name), "vfio-dma@0x%" PRIx64, (uint64_t)mp.iova);
	/*
	 * Above the machine's RAM, as memory plugged after boot sits (not in
	 * the holes of its map), 2 MiB-aligned when the size allows, so that
	 * a mapping at a 2 MiB-aligned IOVA can use block descriptors.
	 */
	ret = uio_physmem_add_ram_above(pm, name, c->v->pin_pa_min,
					uio_is_aligned(mp.size, PIN_BLOCK) ?
					PIN_BLOCK : 4096, mp.size,
					(void *)(uintptr_t)mp.vaddr, &pa);
	if (ret)
		return uio_fail(ret, SUBSYS, "MAP_DMA: pin 0x%" PRIx64 " bytes: %s",
				(uint64_t)mp.size, uiommu_strerror(ret));
	ret = map_insert(c, &(struct vmap){ mp.iova, mp.size, pa });
	if (ret)
		goto err_remove_ram;
	ret = uiommu_map(c->dom, mp.iova, pa, mp.size, prot);
	if (ret)
		goto err_forget;
	trace_vfio_map(mp.iova, mp.size, pa);
	return 0;
err_forget:
	for (size_t i = 0; i < c->nmaps; i++)
		if (c->maps[i].iova == mp.iova) {
			memmove(&c->maps[i], &c->maps[i + 1],
				(c->nmaps - i - 1) * sizeof(c->maps[0]));
			c->nmaps--;
			break;
		}
err_remove_ram:
	{
		int r = uiommu_physmem_remove(pm, pa);

		assert(!r);
		(void)r;
	}
	return ret;
}

static int iommu_unmap_dma(struct container *c,
			   struct vfio_iommu_type1_dma_unmap *arg)
{
	struct vfio_iommu_type1_dma_unmap um = *arg;
	uint64_t pg = min_pgsize(c), last, done = 0;
	struct vmap *mp;

	if (um.argsz < offsetof(struct vfio_iommu_type1_dma_unmap, size) + 8 ||
	    (um.flags & ~VFIO_DMA_UNMAP_FLAG_ALL))
		return uio_fail(-EINVAL, SUBSYS, "UNMAP_DMA: argsz %u flags 0x%x",
				um.argsz, um.flags);
	if (um.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (um.iova || um.size)
			return uio_fail(-EINVAL, SUBSYS,
					"UNMAP_DMA: FLAG_ALL with a range");
		while (c->nmaps) {
			done += c->maps[c->nmaps - 1].size;
			map_remove(c, c->nmaps - 1);
		}
		arg->size = done;
		return 0;
	}
	last = um.iova + um.size - 1;
	if (!um.size || ((um.iova | um.size) & (pg - 1)) || last < um.iova)
		return uio_fail(-EINVAL, SUBSYS, "UNMAP_DMA: iova 0x%" PRIx64
				" size 0x%" PRIx64, (uint64_t)um.iova,
				(uint64_t)um.size);
	/*
	 * Type1 v2: no mapping may be split at either end.  v1 (what DPDK
	 * asks for) kept the kernel's older answers: a range starting inside
	 * a mapping unmaps nothing and succeeds; one covering a mapping's
	 * first IOVA unmaps the whole mapping.
	 */
	mp = map_find(c, um.iova, um.iova);
	if (mp && mp->iova != um.iova) {
		if (c->v1) {
			arg->size = 0;
			return 0;
		}
		return uio_fail(-EINVAL, SUBSYS, "UNMAP_DMA: 0x%" PRIx64
				" splits the mapping at 0x%" PRIx64,
				(uint64_t)um.iova, mp->iova);
	}
	mp = map_find(c, last, last);
	if (mp && mp->iova + mp->size - 1 != last && !c->v1)
		return uio_fail(-EINVAL, SUBSYS, "UNMAP_DMA: end 0x%" PRIx64
				" splits the mapping at 0x%" PRIx64, last,
				mp->iova);
	for (size_t i = c->nmaps; i--;) {
		if (c->maps[i].iova >= um.iova && c->maps[i].iova <= last) {
			done += c->maps[i].size;
			map_remove(c, i);
		}
	}
	arg->size = done;
	return 0;
}

static long container_ioctl(struct container *c, unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		switch ((unsigned long)arg) {
		case VFIO_TYPE1_IOMMU:
		case VFIO_TYPE1v2_IOMMU:
		case VFIO_UNMAP_ALL:
			return 1;
		default:
			return 0;
		}
	case VFIO_SET_IOMMU:
		return container_set_iommu(c, (unsigned long)arg);
	default:
		break;
	}
	if (!c->dom)
		return uio_fail(-EINVAL, SUBSYS, "container ioctl 0x%lx before "
				"VFIO_SET_IOMMU", req);
	if (!arg)
		return -EFAULT;
	switch (req) {
	case VFIO_IOMMU_GET_INFO:
		return iommu_get_info(c, arg);
	case VFIO_IOMMU_MAP_DMA:
		return iommu_map_dma(c, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return iommu_unmap_dma(c, arg);
	default:
		return -ENOTTY;
	}
}

/* ---------------------------------------------------------------- groups */

UIOMMU_API int uiommu_vfio_open_group(struct uiommu_vfio *v,
				      unsigned int group_id, int *fd)
{
	struct vfio_grp *vg = NULL;
	struct group *g;
	int ret;

	if (!v || !fd)
		return uio_fail(-EINVAL, SUBSYS, "open group: NULL argument");
	uio_lock(&v->lock);
	for (size_t i = 0; i < v->ngrps; i++)
		if (v->grps[i].id == group_id)
			vg = &v->grps[i];
	if (!vg) {
		ret = uio_fail(-ENOENT, SUBSYS, "open group %u: no such group",
			       group_id);
		goto out_unlock;
	}
	if (vg->open) {
		ret = uio_fail(-EBUSY, SUBSYS, "open group %u: already open",
			       group_id);
		goto out_unlock;
	}
	g = uio_new(struct group);
	if (!g) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	g->v = v;
	g->grp = vg;
	ret = fd_register(v, OBJ_GROUP, g, &g->fd);
	if (ret) {
		uio_delete(g);
		goto out_unlock;
	}
	vg->open = g;
	*fd = g->fd;
out_unlock:
	uio_unlock(&v->lock);
	return ret;
}

static bool group_viable(struct uiommu_vfio *v, struct vfio_grp *vg)
{
	for (size_t i = 0; i < v->nfns; i++)
		if (v->fns[i].grp == vg && !v->fns[i].bound)
			return false;
	return true;
}

static int group_set_container(struct group *g, const int *cfd)
{
	struct fd_ent e;
	struct container *c;
	int ret;

	if (!cfd)
		return -EFAULT;
	if (g->c)
		return uio_fail(-EINVAL, SUBSYS, "group %u: already in a container",
				g->grp->id);
	if (!fd_lookup(*cfd, &e))
		return uio_fail(-EBADF, SUBSYS, "SET_CONTAINER: fd %d", *cfd);
	if (e.kind != OBJ_CONTAINER || e.v != g->v)
		return uio_fail(-EINVAL, SUBSYS, "SET_CONTAINER: fd %d is not a "
				"container of this machine", *cfd);
	if (!group_viable(g->v, g->grp))
		return uio_fail(-EBUSY, SUBSYS, "group %u: not viable (a device "
				"is not bound to VFIO)", g->grp->id);
	c = e.obj;
	if (c->ngroups == MAX_CONTAINER_GROUPS)
		return uio_fail(-ENOSPC, SUBSYS, "SET_CONTAINER: container full");
	if (c->dom) {
		ret = group_attach(c, g);
		if (ret)
			return ret;
	}
	c->groups[c->ngroups++] = g;
	g->c = c;
	return 0;
}

static int group_unset_container(struct group *g)
{
	struct container *c = g->c;
	unsigned int i;

	if (!c)
		return uio_fail(-EINVAL, SUBSYS, "group %u: in no container",
				g->grp->id);
	if (g->ndevs)
		return uio_fail(-EBUSY, SUBSYS, "group %u: %u device(s) open",
				g->grp->id, g->ndevs);
	if (c->dom) {
		int r = uiommu_group_detach(g->grp->g);

		if (r)
			return uio_fail(r, SUBSYS, "group %u: detach: %s",
					g->grp->id, uiommu_strerror(r));
	}
	for (i = 0; c->groups[i] != g; i++)
		;
	c->groups[i] = c->groups[--c->ngroups];
	g->c = NULL;
	if (!c->ngroups) {
		container_release_iommu(c);
		container_maybe_free(c);
	}
	return 0;
}

static int device_open(struct group *g, const char *name);

static long group_ioctl(struct group *g, unsigned long req, void *arg)
{
	struct vfio_group_status *st = arg;

	switch (req) {
	case VFIO_GROUP_GET_STATUS:
		if (!st)
			return -EFAULT;
		if (st->argsz < sizeof(*st))
			return uio_fail(-EINVAL, SUBSYS, "GET_STATUS: argsz %u",
					st->argsz);
		st->flags = 0;
		if (group_viable(g->v, g->grp))
			st->flags |= VFIO_GROUP_FLAGS_VIABLE;
		if (g->c)
			st->flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
		return 0;
	case VFIO_GROUP_SET_CONTAINER:
		return group_set_container(g, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return group_unset_container(g);
	case VFIO_GROUP_GET_DEVICE_FD:
		if (!arg)
			return -EFAULT;
		return device_open(g, arg);
	default:
		return -ENOTTY;
	}
}

/* --------------------------------------------------------------- devices */

static int device_open(struct group *g, const char *name)
{
	struct vfio_fn *fn = fn_by_name(g->v, name);
	struct device *d;
	int ret;

	if (!g->c || !g->c->dom)
		return uio_fail(-EINVAL, SUBSYS, "GET_DEVICE_FD: group %u has no "
				"container with an IOMMU", g->grp->id);
	if (!fn || fn->grp != g->grp)
		return uio_fail(-ENODEV, SUBSYS, "GET_DEVICE_FD: no device %s in "
				"group %u", name, g->grp->id);
	if (fn->open)
		return uio_fail(-EBUSY, SUBSYS, "GET_DEVICE_FD: %s already open",
				name);
	d = uio_new(struct device);
	if (!d)
		return -ENOMEM;
	d->v = g->v;
	d->g = g;
	d->fn = fn;
	d->irq_index = -1;
	ret = fd_register(g->v, OBJ_DEVICE, d, &d->fd);
	if (ret) {
		uio_delete(d);
		return ret;
	}
	fn->open = d;
	g->ndevs++;
	return d->fd;
}

static void irqs_disable(struct device *d)
{
	int ret;

	if (d->irq_index < 0)
		return;
	ret = uiommu_msi_free_irq_vectors(d->fn->f->msi_dev);
	assert(!ret);
	(void)ret;
	uio_free_array(d->trig, d->nvec, sizeof(*d->trig));
	d->trig = NULL;
	d->nvec = 0;
	d->irq_index = -1;
	trace_vfio_irqs(d->fn->name, -1, 0);
}

static int device_reset(struct device *d)
{
	irqs_disable(d);
	return uiommu_pci_func_set_master(d->fn->f->pci, false);
}

static unsigned int cfg_size(struct device *d)
{
	struct uiommu_pci_func_info fi;

	uiommu_pci_func_get_info(d->fn->f->pci, &fi);
	return fi.pcie_type >= 0 ? 4096 : 256;
}

static int device_get_info(struct device *d, struct vfio_device_info *info)
{
	size_t minsz = offsetof(struct vfio_device_info, cap_offset);

	if (info->argsz < minsz)
		return uio_fail(-EINVAL, SUBSYS, "DEVICE_GET_INFO: argsz %u",
				info->argsz);
	(void)d;
	info->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info->num_regions = VFIO_PCI_NUM_REGIONS;
	info->num_irqs = VFIO_PCI_NUM_IRQS;
	return 0;
}

static int region_get_info(struct device *d, struct vfio_region_info *ri)
{
	struct uiommu_pci_func_info fi;

	if (ri->argsz < sizeof(*ri))
		return uio_fail(-EINVAL, SUBSYS, "GET_REGION_INFO: argsz %u",
				ri->argsz);
	if (ri->index >= VFIO_PCI_NUM_REGIONS ||
	    ri->index == VFIO_PCI_VGA_REGION_INDEX)
		return uio_fail(-EINVAL, SUBSYS, "GET_REGION_INFO: index %u",
				ri->index);
	uiommu_pci_func_get_info(d->fn->f->pci, &fi);
	ri->offset = REGION_OFF(ri->index);
	ri->cap_offset = 0;
	ri->flags = 0;
	ri->size = 0;
	if (ri->index == VFIO_PCI_CONFIG_REGION_INDEX)
		ri->size = cfg_size(d);
	else if (ri->index <= VFIO_PCI_BAR5_REGION_INDEX &&
		 fi.bar[ri->index].assigned)
		ri->size = fi.bar[ri->index].size;
	if (ri->size)
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	return 0;
}

static unsigned int irq_count(struct device *d, unsigned int index)
{
	struct uiommu_pci_func_info fi;

	uiommu_pci_func_get_info(d->fn->f->pci, &fi);
	if (!d->fn->f->msi_dev)
		return 0;
	if (index == VFIO_PCI_MSI_IRQ_INDEX)
		return fi.msi_max;
	if (index == VFIO_PCI_MSIX_IRQ_INDEX)
		return fi.msix_max;
	return 0;	/* INTx, ERR and REQ are not modelled */
}

static int irq_get_info(struct device *d, struct vfio_irq_info *ii)
{
	if (ii->argsz < sizeof(*ii))
		return uio_fail(-EINVAL, SUBSYS, "GET_IRQ_INFO: argsz %u",
				ii->argsz);
	if (ii->index >= VFIO_PCI_NUM_IRQS)
		return uio_fail(-EINVAL, SUBSYS, "GET_IRQ_INFO: index %u",
				ii->index);
	ii->count = irq_count(d, ii->index);
	ii->flags = ii->count ? VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE : 0;
	return 0;
}

/* An interrupt of the vector: signal its eventfd. */
static void on_irq(void *opaque, unsigned int vector)
{
	struct trig *t = opaque;
	int fd = __atomic_load_n(&t->fd, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	(void)vector;
	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		uio_warn(SUBSYS, "vector %u: eventfd %d: %s", vector, fd,
			 strerror(errno));
}

static int set_triggers(struct device *d, unsigned int start,
			unsigned int count, const int32_t *fds)
{
	if (start + count > d->nvec)
		return uio_fail(-EINVAL, SUBSYS, "SET_IRQS: vectors %u..%u of %u",
				start, start + count - 1, d->nvec);
	for (unsigned int i = 0; i < count; i++)
		if (fds[i] >= 0 && fcntl(fds[i], F_GETFD) < 0)
			return uio_fail(-EBADF, SUBSYS, "SET_IRQS: fd %d", fds[i]);
	for (unsigned int i = 0; i < count; i++)
		__atomic_store_n(&d->trig[start + i].fd, fds[i] < 0 ? -1 : fds[i],
				 __ATOMIC_RELEASE);
	return 0;
}

static int irqs_enable(struct device *d, unsigned int index, unsigned int n)
{
	struct uiommu_msi_dev *md = d->fn->f->msi_dev;
	unsigned int flags = index == VFIO_PCI_MSIX_IRQ_INDEX ?
			     UIOMMU_PCI_IRQ_FLAG_MSIX : UIOMMU_PCI_IRQ_FLAG_MSI;
	unsigned int nvec = 0;
	int ret;

	d->trig = uio_calloc(n, sizeof(*d->trig));
	if (!d->trig)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		d->trig[i].fd = -1;
	ret = uiommu_msi_alloc_irq_vectors(md, n, n, flags, &nvec);
	if (ret) {
		uio_free_array(d->trig, n, sizeof(*d->trig));
		d->trig = NULL;
		return uio_fail(ret, SUBSYS, "SET_IRQS: enable %u vectors: %s", n,
				uiommu_strerror(ret));
	}
	assert(nvec == n);
	for (unsigned int i = 0; i < n; i++) {
		ret = uiommu_msi_set_handler(md, i, on_irq, &d->trig[i]);
		assert(!ret);
	}
	d->nvec = n;
	d->irq_index = (int)index;
	trace_vfio_irqs(d->fn->name, d->irq_index, n);
	return 0;
}

static int irqs_mask(struct device *d, const struct vfio_irq_set *s, bool mask)
{
	const uint8_t *bools = s->data;

	if (d->irq_index != (int)s->index || s->start + s->count > d->nvec)
		return uio_fail(-EINVAL, SUBSYS, "SET_IRQS: %s of vectors not "
				"enabled", mask ? "mask" : "unmask");
	for (unsigned int i = 0; i < s->count; i++) {
		int ret;

		if ((s->flags & VFIO_IRQ_SET_DATA_BOOL) && !bools[i])
			continue;
		ret = uiommu_msi_set_masked(d->fn->f->msi_dev, s->start + i, mask);
		if (ret)
			return ret;
	}
	return 0;
}

static int set_irqs(struct device *d, struct vfio_irq_set *s)
{
	const uint32_t data_mask = VFIO_IRQ_SET_DATA_TYPE_MASK;
	const uint32_t action_mask = VFIO_IRQ_SET_ACTION_TYPE_MASK;
	size_t minsz = offsetof(struct vfio_irq_set, data), elem = 0;
	uint32_t dt = s->flags & data_mask, act = s->flags & action_mask;
	unsigned int max;

	if (s->argsz < minsz || s->index >= VFIO_PCI_NUM_IRQS ||
	    s->count >= UINT32_MAX - s->start ||
	    (s->flags & ~(data_mask | action_mask)) ||
	    __builtin_popcount(dt) != 1 || __builtin_popcount(act) != 1)
		return uio_fail(-EINVAL, SUBSYS, "SET_IRQS: argsz %u index %u "
				"flags 0x%x", s->argsz, s->index, s->flags);
	if (dt == VFIO_IRQ_SET_DATA_BOOL)
		elem = 1;
	else if (dt == VFIO_IRQ_SET_DATA_EVENTFD)
		elem = sizeof(int32_t);
	max = irq_count(d, s->index);
	if ((s->count && (s->start >= max || s->start + s->count > max)) ||
	    (!s->count && dt != VFIO_IRQ_SET_DATA_NONE) ||
	    s->argsz - minsz < s->count * elem)
		return uio_fail(-EINVAL, SUBSYS, "SET_IRQS: index %u start %u "
				"count %u of %u (argsz %u)", s->index, s->start,
				s->count, max, s->argsz);
	if (s->index != VFIO_PCI_MSI_IRQ_INDEX &&
	    s->index != VFIO_PCI_MSIX_IRQ_INDEX)
		return uio_fail(-EINVAL, SUBSYS, "SET_IRQS: index %u has no "
				"interrupts", s->index);
	if (act != VFIO_IRQ_SET_ACTION_TRIGGER)
		return irqs_mask(d, s, act == VFIO_IRQ_SET_ACTION_MASK);

	if (d->irq_index == (int)s->index && !s->count &&
	    dt == VFIO_IRQ_SET_DATA_NONE) {
		irqs_disable(d);
		return 0;
	}
	if (d->irq_index >= 0 && d->irq_index != (int)s->index)
		return uio_fail(-EINVAL, SUBSYS, "SET_IRQS: index %u while %s is "
				"enabled", s->index,
				d->irq_index == VFIO_PCI_MSIX_IRQ_INDEX ? "MSI-X" : "MSI");
	if (dt == VFIO_IRQ_SET_DATA_EVENTFD) {
		int ret;

		if (d->irq_index == (int)s->index)
			return set_triggers(d, s->start, s->count,
					    (const int32_t *)s->data);
		ret = irqs_enable(d, s->index, s->start + s->count);
		if (ret)
			return ret;
		ret = set_triggers(d, s->start, s->count, (const int32_t *)s->data);
		if (ret)
			irqs_disable(d);
		return ret;
	}
	if (d->irq_index != (int)s->index)
		return uio_fail(-EINVAL, SUBSYS, "SET_IRQS: trigger of vectors "
				"not enabled");
	/* Loopback: signal the triggers as an interrupt would. */
	for (unsigned int i = 0; i < s->count && s->start + i < d->nvec; i++)
		if (dt == VFIO_IRQ_SET_DATA_NONE || s->data[i])
			on_irq(&d->trig[s->start + i], s->start + i);
	return 0;
}

static long device_ioctl(struct device *d, unsigned long req, void *arg)
{
	if (req == VFIO_DEVICE_RESET)
		return device_reset(d);
	if (!arg)
		return -EFAULT;
	switch (req) {
	case VFIO_DEVICE_GET_INFO:
		return device_get_info(d, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return region_get_info(d, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return irq_get_info(d, arg);
	case VFIO_DEVICE_SET_IRQS:
		return set_irqs(d, arg);
	default:
		return -ENOTTY;
	}
}

static void device_close(struct device *d)
{
	int ret = device_reset(d);

	(void)ret;
	d->fn->open = NULL;
	d->g->ndevs--;
	fd_unregister(d->fd);
	uio_delete(d);
}

/* ---------------------------------------------------- regions (pread) */

/* The MSI-X table's place, as the kernel hides it: BAR and byte range. */
static bool msix_table(struct device *d, unsigned int *bar, uint64_t *off,
		       uint64_t *size)
{
	struct uiommu_pci_func_info fi;
	uint32_t ctl = 0, tbl = 0;

	uiommu_pci_func_get_info(d->fn->f->pci, &fi);
	if (!fi.msix_cap ||
	    uiommu_pci_func_cfg_read(d->fn->f->pci, fi.msix_cap + 2, 2, &ctl) ||
	    uiommu_pci_func_cfg_read(d->fn->f->pci, fi.msix_cap + 4, 4, &tbl))
		return false;
	*bar = (unsigned int)UIO_FEX64(tbl, MSIX_TBL, BIR);
	*off = tbl & ~7u;
	*size = (UIO_FEX64(ctl, MSIX_CTL, QSIZE) + 1) * 16;
	return true;
}

/* Config writes the kernel virtualizes: BARs, ROM, MSI and MSI-X. */
static bool cfg_write_dropped(struct device *d, unsigned int off)
{
	struct uiommu_pci_func_info fi;

	uiommu_pci_func_get_info(d->fn->f->pci, &fi);
	if (off >= 0x10 && off < 0x28)
		return true;
	if (off >= 0x30 && off < 0x34)
		return true;
	if (fi.msi_cap && off >= fi.msi_cap && off < fi.msi_cap + 24)
		return true;
	return fi.msix_cap && off >= fi.msix_cap && off < fi.msix_cap + 12;
}

/* One naturally aligned 1, 2 or 4-byte configuration access. */
static int cfg_access(struct device *d, uint8_t *buf, unsigned int size,
		      unsigned int off, bool write)
{
	uint32_t val = 0;
	int ret;

	if (write) {
		if (cfg_write_dropped(d, off))
			return 0;
		memcpy(&val, buf, size);
		return uiommu_pci_func_cfg_write(d->fn->f->pci, off, size, val);
	}
	ret = uiommu_pci_func_cfg_read(d->fn->f->pci, off, size, &val);
	memcpy(buf, &val, size);
	return ret;
}

/*
 * Any length, as QEMU reads the whole space at once: split into the
 * largest naturally aligned pieces, as vfio-pci does.
 */
static ssize_t cfg_rw(struct device *d, uint8_t *buf, size_t count,
		      uint64_t off, bool write)
{
	uint64_t end = off + count;

	if (!count || off > cfg_size(d) || count > cfg_size(d) - off)
		return uio_fail(-EINVAL, SUBSYS, "config access 0x%" PRIx64
				" size %zu", off, count);
	while (off < end) {
		unsigned int size = 4;
		int ret;

		while ((off & (size - 1)) || size > end - off)
			size >>= 1;
		ret = cfg_access(d, buf, size, (unsigned int)off, write);
		if (ret)
			return ret;
		buf += size;
		off += size;
	}
	return (ssize_t)count;
}

static int bar_io(struct uiommu_physmem *pm, uint64_t pa, void *buf,
		  size_t len, bool write)
{
	uint64_t val = 0;
	int ret;

	/* Register-sized accesses go as one access, the rest as bytes. */
	if ((len == 1 || len == 2 || len == 4 || len == 8) && !(pa & (len - 1))) {
		if (write) {
			memcpy(&val, buf, len);
			return uiommu_phys_st(pm, pa, (unsigned int)len, val, NULL);
		}
		ret = uiommu_phys_ld(pm, pa, (unsigned int)len, &val, NULL);
		memcpy(buf, &val, len);
		return ret;
	}
	return write ? uiommu_phys_write(pm, pa, buf, len, NULL) :
		       uiommu_phys_read(pm, pa, buf, len, NULL);
}

static ssize_t bar_rw(struct device *d, unsigned int bar, uint8_t *buf,
		      size_t count, uint64_t off, bool write)
{
	struct uiommu_physmem *pm = uiommu_machine_physmem(d->v->m);
	struct uiommu_pci_func_info fi;
	uint64_t xoff = 0, xsize = 0, end = off + count;
	unsigned int xbar = 6;
	int ret;

	uiommu_pci_func_get_info(d->fn->f->pci, &fi);
	if (!fi.bar[bar].assigned || off > fi.bar[bar].size ||
	    count > fi.bar[bar].size - off)
		return uio_fail(-EINVAL, SUBSYS, "BAR%u access 0x%" PRIx64
				" size %zu", bar, off, count);
	if (!msix_table(d, &xbar, &xoff, &xsize) || xbar != bar)
		xsize = 0;
	while (off < end) {
		uint64_t chunk = end - off;

		if (xsize && off >= xoff && off < xoff + xsize) {
			/* Inside the hidden table: ones read, writes dropped. */
			chunk = chunk < xoff + xsize - off ? chunk : xoff + xsize - off;
			if (!write)
				memset(buf, 0xff, chunk);
		} else {
			if (xsize && off < xoff && end > xoff)
				chunk = xoff - off;
			ret = bar_io(pm, fi.bar[bar].addr + off, buf, chunk, write);
			if (ret)
				return uio_fail(-EFAULT, SUBSYS, "BAR%u 0x%" PRIx64
						": %s", bar, off,
						uiommu_strerror(ret));
		}
		buf += chunk;
		off += chunk;
	}
	return (ssize_t)count;
}

static ssize_t region_rw(int fd, void *buf, size_t count, uint64_t offset,
			 bool write)
{
	unsigned int idx = (unsigned int)(offset >> REGION_SHIFT);
	uint64_t off = offset & (REGION_OFF(1) - 1);
	struct fd_ent e;
	ssize_t ret;

	if (!buf)
		return -EFAULT;
	if (!fd_get_locked(fd, &e))
		return -EBADF;
	if (e.kind != OBJ_DEVICE)
		ret = -EBADF;
	else if (idx == VFIO_PCI_CONFIG_REGION_INDEX)
		ret = cfg_rw(e.obj, buf, count, off, write);
	else if (idx <= VFIO_PCI_BAR5_REGION_INDEX)
		ret = bar_rw(e.obj, idx, buf, count, off, write);
	else
		ret = uio_fail(-EINVAL, SUBSYS, "region %u has no data", idx);
	uio_unlock(&e.v->lock);
	return ret;
}

UIOMMU_API ssize_t uiommu_vfio_pread(int fd, void *buf, size_t count,
				     uint64_t offset)
{
	return region_rw(fd, buf, count, offset, false);
}

UIOMMU_API ssize_t uiommu_vfio_pwrite(int fd, const void *buf, size_t count,
				      uint64_t offset)
{
	return region_rw(fd, (void *)buf, count, offset, true);
}

/* ------------------------------------------------------ ioctl and close */

UIOMMU_API int uiommu_vfio_ioctl(int fd, unsigned long request, void *arg)
{
	struct fd_ent e;
	long ret;

	if (!fd_get_locked(fd, &e))
		return -EBADF;
	switch (e.kind) {
	case OBJ_CONTAINER:
		ret = container_ioctl(e.obj, request, arg);
		break;
	case OBJ_GROUP:
		ret = group_ioctl(e.obj, request, arg);
		break;
	default:
		ret = device_ioctl(e.obj, request, arg);
		break;
	}
#if UIOMMU_DEBUG >= 2
	if (ret >= 0) {
		int r = uiommu_vfio_check(e.v);

		assert(!r);
		(void)r;
	}
#endif
	uio_unlock(&e.v->lock);
	trace_vfio_ioctl(fd, request, (int)ret);
	return (int)ret;
}

static int close_locked(struct fd_ent *e)
{
	struct container *c;
	struct group *g;
	int ret;

	uio_assert_held(&e->v->lock);
	switch (e->kind) {
	case OBJ_DEVICE:
		device_close(e->obj);
		return 0;
	case OBJ_GROUP:
		g = e->obj;
		if (g->ndevs)
			return uio_fail(-EBUSY, SUBSYS, "close group %u: %u "
					"device(s) open", g->grp->id, g->ndevs);
		if (g->c) {
			ret = group_unset_container(g);
			if (ret)
				return ret;
		}
		g->grp->open = NULL;
		fd_unregister(g->fd);
		uio_delete(g);
		return 0;
	default:
		c = e->obj;
		fd_unregister(c->fd);
		c->fd = -1;
		container_maybe_free(c);
		return 0;
	}
}

UIOMMU_API int uiommu_vfio_close(int fd)
{
	struct fd_ent e;
	int ret;

	if (!fd_get_locked(fd, &e))
		return -EBADF;
	ret = close_locked(&e);
	uio_unlock(&e.v->lock);
	return ret;
}

/* Close the layer's descriptors of one kind. */
static void close_kind(struct uiommu_vfio *v, enum obj_kind kind)
{
	for (;;) {
		struct fd_ent e = { .fd = -1 };
		int ret;

		uio_lock(&table_lock);
		for (size_t i = 0; i < table_n; i++)
			if (table[i].v == v && table[i].kind == kind)
				e = table[i];
		uio_unlock(&table_lock);
		if (e.fd < 0)
			return;
		ret = close_locked(&e);
		assert(!ret);
		(void)ret;
	}
}

UIOMMU_API void uiommu_vfio_destroy(struct uiommu_vfio *v)
{
	if (!v)
		return;
	uio_lock(&v->lock);
	close_kind(v, OBJ_DEVICE);
	close_kind(v, OBJ_GROUP);
	close_kind(v, OBJ_CONTAINER);
	uio_unlock(&v->lock);
	uio_mutex_destroy(&v->lock);
	uio_free_array(v->fns, v->nfns, sizeof(*v->fns));
	uio_free_array(v->grps, v->nfns, sizeof(*v->grps));
	uio_delete(v);
}

/* ------------------------------------------------------ report accessors */

/* Lock @fd's layer if @fd is of @kind (entry in *@e). */
static int get_kind(int fd, enum obj_kind kind, struct fd_ent *e)
{
	if (!fd_get_locked(fd, e))
		return -EBADF;
	if (e->kind != kind) {
		uio_unlock(&e->v->lock);
		return -EBADF;
	}
	return 0;
}

UIOMMU_API int uiommu_vfio_container_domain(int fd, struct uiommu_domain **dom)
{
	struct container *c;
	struct fd_ent e;
	int ret;

	if (!dom)
		return uio_fail(-EINVAL, SUBSYS, "container_domain: NULL dom");
	ret = get_kind(fd, OBJ_CONTAINER, &e);
	if (ret)
		return ret;
	c = e.obj;
	*dom = c->dom;
	uio_unlock(&e.v->lock);
	return *dom ? 0 : -EINVAL;
}

UIOMMU_API int uiommu_vfio_container_mappings(int fd,
					      struct uiommu_vfio_mapping *out,
					      size_t cap, size_t *n)
{
	struct container *c;
	struct fd_ent e;
	int ret;

	if (!n || (cap && !out))
		return uio_fail(-EINVAL, SUBSYS, "container_mappings: NULL %s",
				n ? "out" : "n");
	ret = get_kind(fd, OBJ_CONTAINER, &e);
	if (ret)
		return ret;
	c = e.obj;
	for (size_t i = 0; i < c->nmaps && i < cap; i++)
		out[i] = (struct uiommu_vfio_mapping){ c->maps[i].iova,
						       c->maps[i].size,
						       c->maps[i].pa };
	*n = c->nmaps;
	uio_unlock(&e.v->lock);
	return 0;
}

UIOMMU_API int uiommu_vfio_device_func(int fd,
				       const struct uiommu_machine_func **f)
{
	struct fd_ent e;
	int ret;

	if (!f)
		return uio_fail(-EINVAL, SUBSYS, "device_func: NULL f");
	ret = get_kind(fd, OBJ_DEVICE, &e);
	if (ret)
		return ret;
	*f = ((struct device *)e.obj)->fn->f;
	uio_unlock(&e.v->lock);
	return 0;
}

/* ------------------------------------------------------------- checking */

static int container_check(struct container *c)
{
	struct uiommu_physmem *pm = uiommu_machine_physmem(c->v->m);

	for (size_t i = 0; i < c->nmaps; i++) {
		const struct vmap *mp = &c->maps[i];
		uint64_t pa = 0;

		if (i && c->maps[i - 1].iova + c->maps[i - 1].size > mp->iova)
			goto bad;
		if (uiommu_iova_to_phys(c->dom, mp->iova, &pa) || pa != mp->pa)
			goto bad;
	}
	(void)pm;
	if (c->nmaps > c->v->opts.dma_entry_limit || (c->nmaps && !c->dom))
		goto bad;
	for (unsigned int i = 0; i < c->ngroups; i++)
		if (c->groups[i]->c != c ||
		    (c->dom && uiommu_group_domain(c->groups[i]->grp->g) != c->dom))
			goto bad;
	return c->dom ? uiommu_domain_check(c->dom) : 0;
bad:
	uio_err(SUBSYS, "check: container fd %d: mappings or groups "
		"inconsistent", c->fd);
	return -EUCLEAN;
}

UIOMMU_API int uiommu_vfio_check(struct uiommu_vfio *v)
{
	int ret = 0;

	if (!v)
		return -EINVAL;
	uio_lock(&table_lock);
	for (size_t i = 0; i < table_n && !ret; i++) {
		if (table[i].v != v)
			continue;
		if (table[i].kind == OBJ_CONTAINER)
			ret = container_check(table[i].obj);
		else if (table[i].kind == OBJ_GROUP) {
			struct group *g = table[i].obj;

			if (g->grp->open != g || (g->c && g->c->ngroups == 0))
				ret = -EUCLEAN;
			if (g->c && !ret)
				ret = container_check(g->c);
		}
	}
	uio_unlock(&table_lock);
	if (ret == -EUCLEAN)
		uio_err(SUBSYS, "check: layer inconsistent");
	return ret;
}
