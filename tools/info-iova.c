// SPDX-License-Identifier: MIT
/*
 * uiommu info iova: the IOVA space of every IOMMU group's current domain.
 *
 * A DMA domain (what a kernel driver gets) shows its IOVA allocator: the
 * reserved regions reserved in it, the ranges the DMA API holds (MSI
 * doorbell pages included), the free gaps, the allocator's counters.  An
 * unmanaged domain (a VFIO container's, with --assign) has no allocator:
 * its owner chooses IOVAs, so the view is the owner's mappings, the
 * reserved regions and MSI window that apply, the free gaps of the
 * aperture, and the valid ranges VFIO_IOMMU_GET_INFO reported.
 * Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "assign.h"
#include "iova-map.h"
#include "tool.h"

#define MAX_RESV 32
#define MAX_MAPS 64
#define MAX_SEGS (2 * (MAX_RESV + MAX_MAPS) + 2)

/* One group and what applies to its domain. */
struct group_view {
	struct uiommu_group *g;
	const struct uiommu_machine_func *first;	/* its first function */
	struct uiommu_domain *dom;
	struct uiommu_domain_info di;
	struct uiommu_resv_region resv[MAX_RESV];
	size_t nresv;
	struct uiommu_msi_window_info win;
	struct uiommu_vfio_mapping maps[MAX_MAPS];
	size_t nmaps;
	const struct tool_assign *assign;	/* the VFIO container's */
};

/* A segment of an unmanaged domain's space. */
struct seg {
	uint64_t first, last;
	const char *kind;
	char detail[96];
	uint64_t pa;		/* mappings */
};

static void bdf(const struct uiommu_machine_func *f, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%u", f->host, f->bus, f->devfn >> 3,
		 f->devfn & 7);
}

/* The reserved region types that a reserved range covers ("sw-msi",
 * "reserved"), for naming a range of the allocator that may merge
 * several. */
static const char *resv_name(void *opaque, uint64_t first, uint64_t last)
{
	const struct group_view *v = opaque;
	static char name[96];
	size_t off = 0;

	name[0] = '\0';
	for (size_t i = 0; i < v->nresv && off < sizeof(name); i++) {
		const struct uiommu_resv_region *r = &v->resv[i];

		if (r->last < first || r->start > last)
			continue;
		off += (size_t)snprintf(name + off, sizeof(name) - off, "%s%s%s",
					off ? " + " : "",
					uiommu_resv_type_name(r->type),
					r->flags & UIOMMU_RESV_F_DMA_ONLY ?
					" (DMA domains only)" : "");
	}
	return name;
}

static int gather(struct group_view *v, const struct info_ctx *c)
{
	v->dom = uiommu_group_domain(v->g);
	if (!v->dom)
		return 0;
	uiommu_domain_get_info(v->dom, &v->di);
	uiommu_domain_resv_regions(v->dom, v->resv, MAX_RESV, &v->nresv);
	if (v->nresv > MAX_RESV)
		v->nresv = MAX_RESV;
	uiommu_domain_get_msi_window(v->dom, &v->win);
	if (c->assign && c->assign->dom == v->dom) {
		int ret = uiommu_vfio_container_mappings(c->assign->container,
							 v->maps, MAX_MAPS,
							 &v->nmaps);

		if (ret)
			return ret;
		if (v->nmaps > MAX_MAPS)
			v->nmaps = MAX_MAPS;
		v->assign = c->assign;
	}
	return 0;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Mappings and reserved regions, sorted, with the free gaps between them
 * inside the aperture. */
static unsigned int unmanaged_segments(const struct group_view *v,
				       struct seg *segs)
{
	struct seg used[MAX_RESV + MAX_MAPS];
	unsigned int n = 0, out = 0;
	uint64_t next = v->di.aperture_start;

	for (size_t i = 0; i < v->nresv; i++) {
		const struct uiommu_resv_region *r = &v->resv[i];
		bool window = r->type == UIOMMU_RESV_SW_MSI && v->win.present &&
			      r->start == v->win.start;

		used[n] = (struct seg){ .first = r->start, .last = r->last,
					.kind = window ? "msi" : "reserved" };
		if (window)
			snprintf(used[n].detail, sizeof(used[n].detail),
				 "MSI window (%s): %u doorbell page(s) bound",
				 v->win.explicit_window ? "explicit" : "sw-msi",
				 v->win.pages_used);
		else
			snprintf(used[n].detail, sizeof(used[n].detail), "%s",
				 uiommu_resv_type_name(r->type));
		n++;
	}
	for (size_t i = 0; i < v->nmaps; i++) {
		used[n] = (struct seg){ .first = v->maps[i].iova,
					.last = v->maps[i].iova + v->maps[i].size - 1,
					.kind = "mapped", .pa = v->maps[i].pa };
		snprintf(used[n].detail, sizeof(used[n].detail),
			 "-> PA 0x%" PRIx64, v->maps[i].pa);
		n++;
	}
	qsort(used, n, sizeof(used[0]), seg_cmp);
	for (unsigned int i = 0; i < n; i++) {
		if (used[i].first > next)
			segs[out++] = (struct seg){ .first = next,
						    .last = used[i].first - 1,
						    .kind = "free" };
		segs[out++] = used[i];
		if (used[i].last >= v->di.aperture_last)
			return out;
		if (used[i].last + 1 > next)
			next = used[i].last + 1;
	}
	segs[out++] = (struct seg){ .first = next, .last = v->di.aperture_last,
				    .kind = "free" };
	return out;
}

/* ------------------------------------------------------------------ text */

static void text_stats(struct uiommu_iova_domain *iovad)
{
	struct uiommu_iova_stats st;
	char live[32], resv[32], largest[32];

	if (uiommu_iova_get_stats(iovad, &st))
		return;
	tool_human_size(st.live_granules * 4096, live, sizeof(live));
	tool_human_size(st.reserved_granules * 4096, resv, sizeof(resv));
	tool_human_size(st.largest_free, largest, sizeof(largest));
	printf("  statistics: %" PRIu64 " live range(s) (%s), %" PRIu64
	       " reserved (%s), largest free gap %s\n", st.live_ranges, live,
	       st.reserved_ranges, resv, largest);
}

static int text_dma(struct group_view *v)
{
	struct uiommu_iova_domain *iovad = uiommu_domain_iova_domain(v->dom);
	struct tool_iova_map map = { .indent = 4, .name = resv_name, .opaque = v };
	struct uiommu_iova_config cfg;
	char gran[32];
	int ret;

	if (!iovad || uiommu_iova_get_config(iovad, &cfg))
		return -EIO;
	tool_human_size(cfg.granule, gran, sizeof(gran));
	printf("  allocator   [0x%" PRIx64 ", 0x%" PRIx64 "], %s granule, "
	       "top-down (the DMA API's)\n", cfg.start, cfg.last, gran);
	printf("  map:\n");
	ret = uiommu_iova_for_each(iovad, UIOMMU_IOVA_ALL, tool_iova_map_visit,
				   &map);
	if (ret)
		return ret;
	tool_iova_map_end(&map);
	text_stats(iovad);
	return 0;
}

static void text_unmanaged(const struct group_view *v)
{
	struct seg segs[MAX_SEGS];
	unsigned int n = unmanaged_segments(v, segs);

	printf("  map (owner-chosen IOVAs: no allocator):\n");
	for (unsigned int i = 0; i < n; i++)
		tool_map_line(4, segs[i].first, segs[i].last, segs[i].kind,
			      segs[i].detail);
	if (!v->assign)
		return;
	printf("  valid IOVA ranges (VFIO_IOMMU_GET_INFO):\n");
	for (unsigned int i = 0; i < v->assign->nranges; i++)
		printf("    0x%016llx-0x%016llx\n",
		       (unsigned long long)v->assign->ranges[i].start,
		       (unsigned long long)v->assign->ranges[i].end);
}

static int text_group(const struct info_ctx *c, struct group_view *v)
{
	char name[48];

	(void)c;
	bdf(v->first, name, sizeof(name));
	printf("\ngroup %u (%s %s)\n", uiommu_group_id(v->g), name,
	       v->first->name);
	if (!v->dom) {
		printf("  no domain attached: DMA is blocked\n");
		return 0;
	}
	printf("  domain      %u, %s%s, aperture 0x%" PRIx64 "-0x%" PRIx64 "\n",
	       v->di.id, tool_domain_type_name(v->di.type),
	       v->assign ? " (VFIO container)" : "", v->di.aperture_start,
	       v->di.aperture_last);
	if (v->win.present)
		printf("  MSI window  0x%" PRIx64 "-0x%" PRIx64 " (%s), %u doorbell "
		       "page(s) bound, %lu vector reference(s)\n", v->win.start,
		       v->win.last, v->win.explicit_window ? "explicit" : "sw-msi",
		       v->win.pages_used, v->win.vectors);
	switch (v->di.type) {
	case UIOMMU_DOMAIN_DMA:
		return text_dma(v);
	case UIOMMU_DOMAIN_UNMANAGED:
		text_unmanaged(v);
		return 0;
	case UIOMMU_DOMAIN_IDENTITY:
		printf("  IOVA = PA: no translation, nothing to allocate\n");
		return 0;
	case UIOMMU_DOMAIN_BLOCKED:
		printf("  every DMA is aborted\n");
		return 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ json */

struct json_ranges {
	const struct group_view *v;
	unsigned int n;
};

static const char *iova_kind_name(unsigned int kind)
{
	switch (kind) {
	case UIOMMU_IOVA_LIVE:
		return "allocated";
	case UIOMMU_IOVA_RESERVED:
		return "reserved";
	case UIOMMU_IOVA_FREE:
		return "free";
	case UIOMMU_IOVA_CACHED:
		return "cached";
	}
	return "?";
}

static int json_range(void *opaque, const struct uiommu_iova_range *r)
{
	struct json_ranges *j = opaque;

	printf("%s\n    {\"first\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
	       "\", \"kind\": \"%s\"", j->n++ ? "," : "", r->first, r->last,
	       iova_kind_name(r->kind));
	if (r->kind == UIOMMU_IOVA_RESERVED) {
		printf(", \"name\": ");
		tool_json_str(resv_name((void *)j->v, r->first, r->last));
	}
	printf("}");
	return 0;
}

static int json_dma(struct group_view *v)
{
	struct uiommu_iova_domain *iovad = uiommu_domain_iova_domain(v->dom);
	struct json_ranges j = { .v = v };
	struct uiommu_iova_config cfg;
	struct uiommu_iova_stats st;
	int ret;

	if (!iovad || uiommu_iova_get_config(iovad, &cfg) ||
	    uiommu_iova_get_stats(iovad, &st))
		return -EIO;
	printf(",\n   \"allocator\": {\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%"
	       PRIx64 "\", \"granule\": %" PRIu64 "},\n   \"ranges\": [",
	       cfg.start, cfg.last, cfg.granule);
	ret = uiommu_iova_for_each(iovad, UIOMMU_IOVA_ALL, json_range, &j);
	if (ret)
		return ret;
	printf("],\n   \"stats\": {\"live_ranges\": %" PRIu64 ", \"live_granules\": %"
	       PRIu64 ", \"reserved_ranges\": %" PRIu64 ", \"reserved_granules\": %"
	       PRIu64 ", \"free_granules\": %" PRIu64 ", \"largest_free\": \"0x%"
	       PRIx64 "\"}", st.live_ranges, st.live_granules, st.reserved_ranges,
	       st.reserved_granules, st.free_granules, st.largest_free);
	return 0;
}

static void json_unmanaged(const struct group_view *v)
{
	struct seg segs[MAX_SEGS];
	unsigned int n = unmanaged_segments(v, segs);

	printf(",\n   \"ranges\": [");
	for (unsigned int i = 0; i < n; i++) {
		bool window = !strcmp(segs[i].kind, "msi");

		printf("%s\n    {\"first\": \"0x%" PRIx64 "\", \"last\": \"0x%"
		       PRIx64 "\", \"kind\": \"%s\"", i ? "," : "",
		       segs[i].first, segs[i].last,
		       window ? "msi-window" : segs[i].kind);
		if (!strcmp(segs[i].kind, "mapped"))
			printf(", \"pa\": \"0x%" PRIx64 "\"", segs[i].pa);
		else if (!strcmp(segs[i].kind, "reserved"))
			printf(", \"name\": \"%s\"", segs[i].detail);
		printf("}");
	}
	printf("]");
	if (!v->assign)
		return;
	printf(",\n   \"valid_iova_ranges\": [");
	for (unsigned int i = 0; i < v->assign->nranges; i++)
		printf("%s{\"start\": \"0x%llx\", \"end\": \"0x%llx\"}",
		       i ? ", " : "",
		       (unsigned long long)v->assign->ranges[i].start,
		       (unsigned long long)v->assign->ranges[i].end);
	printf("]");
}

static int json_group(const struct info_ctx *c, struct group_view *v,
		      unsigned int idx)
{
	char name[48];
	int ret = 0;

	(void)c;
	bdf(v->first, name, sizeof(name));
	printf("%s\n  {\"group\": %u, \"first_device\": \"%s\", \"domain\": ",
	       idx ? "," : "", uiommu_group_id(v->g), name);
	if (!v->dom) {
		printf("null}");
		return 0;
	}
	printf("{\"id\": %u, \"type\": \"%s\", \"vfio\": %s, \"aperture_start\": "
	       "\"0x%" PRIx64 "\", \"aperture_last\": \"0x%" PRIx64 "\"}",
	       v->di.id, tool_domain_type_name(v->di.type),
	       v->assign ? "true" : "false", v->di.aperture_start,
	       v->di.aperture_last);
	printf(",\n   \"msi_window\": ");
	if (v->win.present)
		printf("{\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
		       "\", \"explicit\": %s, \"pages_used\": %u, \"vectors\": %lu}",
		       v->win.start, v->win.last,
		       v->win.explicit_window ? "true" : "false",
		       v->win.pages_used, v->win.vectors);
	else
		printf("null");
	if (v->di.type == UIOMMU_DOMAIN_DMA)
		ret = json_dma(v);
	else if (v->di.type == UIOMMU_DOMAIN_UNMANAGED)
		json_unmanaged(v);
	printf("}");
	return ret;
}

/* ------------------------------------------------------------------ walk */

static int iova_group(const struct info_ctx *c, struct uiommu_group *g,
		      const struct uiommu_machine_func *first, unsigned int nth)
{
	struct group_view *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->g = g;
	v->first = first;
	ret = gather(v, c);
	if (!ret)
		ret = c->json ? json_group(c, v, nth) : text_group(c, v);
	free(v);
	return ret;
}

int info_iova(const struct info_ctx *c)
{
	return info_for_each_group(c, "iova", iova_group);
}
