// SPDX-License-Identifier: MIT
/*
 * Reserved-region lists.
 *
 * A list is an array sorted by (start, type).  Inserting a region first
 * absorbs every region of the same type that overlaps or abuts it, so each
 * type's regions stay disjoint and non-adjacent while regions of different
 * types may overlap (an msi window inside a reserved range stays visible).
 * This is the order and merge rule of Linux's per-group list, which the
 * sysfs-format printer reproduces byte for byte.
 *
 * Which regions apply to a domain depends on its type:
 *   unmanaged: all but direct-relaxable and DMA-only ones; sw-msi only while
 *              no explicit window is registered;
 *   DMA:       all but sw-msi (doorbells come from the domain's allocator);
 *   blocked, identity: none (nothing is ever mapped).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "bits.h"
#include "iommu-internal.h"
#include "log.h"

static const char *const resv_names[] = {
	[UIOMMU_RESV_DIRECT] = "direct",
	[UIOMMU_RESV_DIRECT_RELAXABLE] = "direct-relaxable",
	[UIOMMU_RESV_RESERVED] = "reserved",
	[UIOMMU_RESV_MSI] = "msi",
	[UIOMMU_RESV_SW_MSI] = "sw-msi",
};

UIOMMU_API const char *uiommu_resv_type_name(enum uiommu_resv_type type)
{
	if ((unsigned int)type >= UIO_ARRAY_SIZE(resv_names))
		return "unknown";
	return resv_names[type];
}

/* The name Linux's sysfs file uses: sw-msi is shown as msi. */
static const char *sysfs_name(enum uiommu_resv_type type)
{
	return type == UIOMMU_RESV_SW_MSI ? "msi" : resv_names[type];
}

void uio_resv_list_init(struct uiommu_resv_list *l)
{
	l->r = NULL;
	l->n = l->cap = 0;
}

void uio_resv_list_free(struct uiommu_resv_list *l)
{
	if (l->r)
		uio_free_array(l->r, l->cap, sizeof(*l->r));
	uio_resv_list_init(l);
}

/*
 * Grow the array *@arr of *@cap elements of @elem bytes, @used of them in
 * use, to hold at least @need: doubling, starting at @first_cap.  On
 * failure the array is unchanged.
 */
int uio_array_grow(void **arr, size_t *cap, size_t used, size_t need,
		   size_t elem, size_t first_cap)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first_cap;
	while (ncap < need)
		ncap *= 2;
	p = uio_calloc(ncap, elem);
	if (!p)
		return -ENOMEM;
	if (used)
		memcpy(p, *arr, used * elem);
	if (*arr)
		uio_free_array(*arr, *cap, elem);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int resv_list_grow(struct uiommu_resv_list *l, size_t need)
{
	return uio_array_grow((void **)&l->r, &l->cap, l->n, need,
			      sizeof(*l->r), 4);
}

/* Same type and overlapping or adjacent (inclusive ends, no overflow). */
static bool mergeable(const struct uiommu_resv_region *a,
		      const struct uiommu_resv_region *b)
{
	if (a->type != b->type || a->flags != b->flags)
		return false;
	if (a->start <= b->start)
		return a->last == UINT64_MAX || b->start <= a->last + 1;
	return b->last == UINT64_MAX || a->start <= b->last + 1;
}

static bool sorts_before(const struct uiommu_resv_region *a,
			 const struct uiommu_resv_region *b)
{
	return a->start < b->start ||
	       (a->start == b->start && a->type < b->type);
}

int uio_resv_list_insert(struct uiommu_resv_list *l,
			 const struct uiommu_resv_region *r)
{
	struct uiommu_resv_region nr = *r;
	size_t i, j;
	int err;

	/* Room first, so that a failure leaves @l as it was. */
	err = resv_list_grow(l, l->n + 1);
	if (err)
		return err;
	for (i = 0, j = 0; i < l->n; i++) {
		if (mergeable(&l->r[i], &nr)) {
			if (l->r[i].start < nr.start)
				nr.start = l->r[i].start;
			if (l->r[i].last > nr.last)
				nr.last = l->r[i].last;
			continue;
		}
		l->r[j++] = l->r[i];
	}
	l->n = j;
	for (i = 0; i < l->n && !sorts_before(&nr, &l->r[i]); i++)
		;
	memmove(&l->r[i + 1], &l->r[i], (l->n - i) * sizeof(*l->r));
	l->r[i] = nr;
	l->n++;
	return 0;
}

int uio_resv_list_merge(struct uiommu_resv_list *dst,
			const struct uiommu_resv_list *src)
{
	size_t i;
	int err;

	err = resv_list_grow(dst, dst->n + src->n);
	if (err)
		return err;
	for (i = 0; i < src->n; i++) {
		err = uio_resv_list_insert(dst, &src->r[i]);
		assert(!err);	/* capacity was reserved */
	}
	return 0;
}

int uio_resv_region_validate(const struct uiommu_resv_region *r)
{
	if ((unsigned int)r->type >= UIO_ARRAY_SIZE(resv_names))
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"reserved region type %u unknown", r->type);
	if (r->last < r->start)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"reserved region [0x%" PRIx64 ", 0x%" PRIx64
				"] is empty", r->start, r->last);
	if (r->prot & ~UIOMMU_PROT_ALL || r->flags & ~UIOMMU_RESV_F_DMA_ONLY)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"reserved region at 0x%" PRIx64
				": unknown prot 0x%x or flags 0x%x",
				r->start, r->prot, r->flags);
	return 0;
}

UIOMMU_API int uiommu_resv_list_add(struct uiommu_resv_list *list,
				    uint64_t start, uint64_t len,
				    unsigned int prot,
				    enum uiommu_resv_type type,
				    unsigned int flags)
{
	struct uiommu_resv_region r = {
		.start = start, .last = start + len - 1, .prot = prot,
		.type = type, .flags = flags,
	};
	int err;

	if (!list)
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL reserved list");
	if (!len || start + len - 1 < start)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"reserved region at 0x%" PRIx64 " length 0x%"
				PRIx64 " is empty or wraps", start, len);
	err = uio_resv_region_validate(&r);
	if (err)
		return err;
	return uio_resv_list_insert(list, &r);
}

int uio_resv_list_check(const struct uiommu_resv_list *l, const char *what)
{
	size_t i, j;

	if (l->n > l->cap)
		return uio_fail(-EUCLEAN, IOMMU_SUBSYS, "%s: %zu regions > cap %zu",
				what, l->n, l->cap);
	for (i = 0; i < l->n; i++) {
		if (l->r[i].last < l->r[i].start)
			return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
					"%s: region %zu empty", what, i);
		if (i && sorts_before(&l->r[i], &l->r[i - 1]))
			return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
					"%s: region %zu out of order", what, i);
		for (j = 0; j < i; j++)
			if (mergeable(&l->r[i], &l->r[j]))
				return uio_fail(-EUCLEAN, IOMMU_SUBSYS,
						"%s: regions %zu and %zu not merged",
						what, j, i);
	}
	return 0;
}

bool uio_resv_applies(const struct uiommu_domain *dom,
		      const struct uiommu_resv_region *r)
{
	switch (dom->type) {
	case UIOMMU_DOMAIN_UNMANAGED:
		if (r->flags & UIOMMU_RESV_F_DMA_ONLY ||
		    r->type == UIOMMU_RESV_DIRECT_RELAXABLE)
			return false;
		return r->type != UIOMMU_RESV_SW_MSI || !dom->win_explicit;
	case UIOMMU_DOMAIN_DMA:
		return r->type != UIOMMU_RESV_SW_MSI;
	default:
		return false;
	}
}

const struct uiommu_resv_region *
uio_domain_resv_overlap(struct uiommu_domain *dom, uint64_t first,
			uint64_t last)
{
	unsigned int g;
	size_t i;

	uio_assert_held(&dom->lock);
	for (g = 0; g < dom->ngroups; g++) {
		const struct uiommu_resv_list *l = &dom->groups[g]->resv;

		for (i = 0; i < l->n && l->r[i].start <= last; i++)
			if (l->r[i].last >= first &&
			    uio_resv_applies(dom, &l->r[i]))
				return &l->r[i];
	}
	return NULL;
}

const struct uiommu_resv_region *
uio_domain_resv_find(struct uiommu_domain *dom, enum uiommu_resv_type type,
		     uint64_t addr)
{
	unsigned int g;
	size_t i;

	uio_assert_held(&dom->lock);
	for (g = 0; g < dom->ngroups; g++) {
		const struct uiommu_resv_list *l = &dom->groups[g]->resv;

		for (i = 0; i < l->n && l->r[i].start <= addr; i++)
			if (l->r[i].type == type && l->r[i].last >= addr &&
			    uio_resv_applies(dom, &l->r[i]))
				return &l->r[i];
	}
	return NULL;
}

void uio_snprintf_cat(char *buf, size_t len, size_t *pos, const char *fmt,
		      ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < len ? buf + *pos : NULL,
		      *pos < len ? len - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static void prot_string(unsigned int prot, char *buf, size_t len)
{
	static const char *const names[] = {
		"read", "write", "noexec", "mmio", "cache",
	};
	size_t pos = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < UIO_ARRAY_SIZE(names); i++)
		if (prot & (1u << i))
			uio_snprintf_cat(buf, len, &pos, "%s%s", pos ? "," : "",
					 names[i]);
	if (!pos)
		snprintf(buf, len, "none");
}

static void resv_print_one(const struct uiommu_resv_region *r,
			   unsigned int flags, char *buf, size_t len,
			   size_t *pos)
{
	char prot[48];

	if (!(flags & UIOMMU_RESV_PRINT_EXTENDED)) {
		if (r->flags & UIOMMU_RESV_F_DMA_ONLY)
			return;
		uio_snprintf_cat(buf, len, pos, "0x%016" PRIx64 " 0x%016" PRIx64
				 " %s\n", r->start, r->last,
				 sysfs_name(r->type));
		return;
	}
	prot_string(r->prot, prot, sizeof(prot));
	uio_snprintf_cat(buf, len, pos, "0x%016" PRIx64 " 0x%016" PRIx64
			 " %s prot=%s%s\n", r->start, r->last,
			 resv_names[r->type], prot,
			 r->flags & UIOMMU_RESV_F_DMA_ONLY ? " dma-only" : "");
}

UIOMMU_API void uiommu_group_resv_regions(struct uiommu_group *group,
					  struct uiommu_resv_region *out,
					  size_t cap, size_t *n)
{
	size_t i;

	uio_lock(&group->lock);
	for (i = 0; i < group->resv.n && i < cap; i++)
		out[i] = group->resv.r[i];
	*n = group->resv.n;
	uio_unlock(&group->lock);
}

UIOMMU_API int uiommu_group_resv_print(struct uiommu_group *group,
				       unsigned int flags, char *buf,
				       size_t len, size_t *needed)
{
	size_t i, pos = 0;

	if (!group || (!buf && len))
		return uio_fail(-EINVAL, IOMMU_SUBSYS, "NULL group or buffer");
	if (flags & ~UIOMMU_RESV_PRINT_EXTENDED)
		return uio_fail(-EINVAL, IOMMU_SUBSYS,
				"unknown print flags 0x%x", flags);
	if (len)
		buf[0] = '\0';
	uio_lock(&group->lock);
	for (i = 0; i < group->resv.n; i++)
		resv_print_one(&group->resv.r[i], flags, buf, len, &pos);
	uio_unlock(&group->lock);
	if (needed)
		*needed = pos;
	return 0;
}

UIOMMU_API void uiommu_domain_resv_regions(struct uiommu_domain *dom,
					   struct uiommu_resv_region *out,
					   size_t cap, size_t *n)
{
	size_t count = 0;
	unsigned int g;
	uint64_t s, l;
	size_t i;

	/*
	 * Regions of several groups are listed as they are (not merged across
	 * groups), sorted by insertion into @out, so no allocation is needed.
	 */
	uio_lock(&dom->lock);
	for (g = 0; g < dom->ngroups; g++) {
		const struct uiommu_resv_list *gl = &dom->groups[g]->resv;

		for (i = 0; i < gl->n; i++) {
			if (!uio_resv_applies(dom, &gl->r[i]))
				continue;
			if (count < cap)
				out[count] = gl->r[i];
			count++;
		}
	}
	if (dom->win_explicit && uio_msi_window(dom, &s, &l)) {
		if (count < cap)
			out[count] = (struct uiommu_resv_region){
				.start = s, .last = l,
				.prot = UIOMMU_PROT_WRITE | UIOMMU_PROT_NOEXEC |
					UIOMMU_PROT_MMIO,
				.type = UIOMMU_RESV_SW_MSI,
			};
		count++;
	}
	uio_unlock(&dom->lock);
	/* Insertion sort of what fitted: a handful of regions. */
	for (i = 1; i < count && i < cap; i++) {
		struct uiommu_resv_region x = out[i];
		size_t j = i;

		while (j && sorts_before(&x, &out[j - 1])) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = x;
	}
	*n = count;
}
