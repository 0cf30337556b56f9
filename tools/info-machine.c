// SPDX-License-Identifier: MIT
/*
 * uiommu info mtree | groups: the machine as built.
 *
 * mtree:  the machine's physical address map, shaped like QEMU's
 *         `info mtree`: one line per RAM or MMIO region, address range in
 *         hex with the end inclusive, kind, region name, owner.
 * groups: per PCI function: BDF, requester ID, StreamID (iommu-map),
 *         ITS DeviceID (msi-map), IOMMU group, current domain type and the
 *         group's reserved regions (as /sys/kernel/iommu_groups/N/
 *         reserved_regions prints them).
 *
 * Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

#define MAX_RESV 32

/* ---------------------------------------------------------------- mtree */

struct regions {
	struct uiommu_region_info r[256];
	size_t n;
};

static int collect_region(void *opaque, const struct uiommu_region_info *info)
{
	struct regions *rs = opaque;

	if (rs->n == sizeof(rs->r) / sizeof(rs->r[0]))
		return -ENOSPC;
	rs->r[rs->n++] = *info;
	return 0;
}

static const char *kind_name(const struct uiommu_region_info *r)
{
	return r->kind == UIOMMU_REGION_RAM ? "ram" : "i/o";
}

static void mtree_text(const struct info_ctx *c, const struct regions *rs)
{
	struct uiommu_machine_info mi;
	struct uiommu_phys_pool_stats ps;
	int wname = 4;

	uiommu_machine_get_info(c->m, &mi);
	uiommu_phys_pool_get_stats(uiommu_machine_pool(c->m), &ps);
	for (size_t i = 0; i < rs->n; i++) {
		int l = (int)strlen(rs->r[i].name);

		wname = l > wname ? l : wname;
	}
	printf("address-space: %s (%s)\n", c->source, mi.model);
	for (size_t i = 0; i < rs->n; i++) {
		const struct uiommu_region_info *r = &rs->r[i];

		printf("  %016" PRIx64 "-%016" PRIx64 " (%s): %-*s  owner %s%s\n",
		       r->base, r->base + r->size - 1, kind_name(r), wname,
		       r->name, r->owner ? r->owner : "-",
		       r->doorbell ? "  [doorbell]" : "");
		if (r->kind == UIOMMU_REGION_RAM && ps.base >= r->base &&
		    ps.base + ps.size <= r->base + r->size)
			printf("    %016" PRIx64 "-%016" PRIx64
			       " (pool): page pool for in-RAM structures\n",
			       ps.base, ps.base + ps.size - 1);
	}
}

static void mtree_json(const struct info_ctx *c, const struct regions *rs)
{
	struct uiommu_phys_pool_stats ps;

	uiommu_phys_pool_get_stats(uiommu_machine_pool(c->m), &ps);
	info_json_head(c, "mtree");
	printf(",\n \"regions\": [");
	for (size_t i = 0; i < rs->n; i++) {
		const struct uiommu_region_info *r = &rs->r[i];

		printf("%s\n  {\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
		       "\", \"kind\": \"%s\", \"name\": ", i ? "," : "",
		       r->base, r->base + r->size - 1,
		       r->kind == UIOMMU_REGION_RAM ? "ram" : "mmio");
		tool_json_str(r->name);
		printf(", \"owner\": ");
		tool_json_str(r->owner ? r->owner : "");
		printf(", \"doorbell\": %s}", r->doorbell ? "true" : "false");
	}
	printf("],\n \"pool\": {\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%"
	       PRIx64 "\"}}\n", ps.base, ps.base + ps.size - 1);
}

/* --------------------------------------------------------------- groups */

/* What the IOMMU core knows of a function; group < 0 when nothing. */
struct core_view {
	int group;
	const char *domain;
	struct uiommu_resv_region resv[MAX_RESV];
	size_t nresv;
	bool msi_isolated;
	char msi_reason[160];
	const char *why;	/* when group < 0 */
};

static void core_view(const struct uiommu_machine_func *f,
		      struct core_view *v)
{
	struct uiommu_group *g;
	struct uiommu_domain *d;

	memset(v, 0, sizeof(*v));
	v->group = -1;
	if (!f->has_sid) {
		v->why = "no IOMMU";
		return;
	}
	if (!f->iommu_dev) {
		v->why = "no IOMMU driver";
		return;
	}
	g = uiommu_device_group(f->iommu_dev);
	v->group = (int)uiommu_group_id(g);
	d = uiommu_group_domain(g);
	if (d) {
		struct uiommu_domain_info di;

		uiommu_domain_get_info(d, &di);
		v->domain = tool_domain_type_name(di.type);
	}
	uiommu_group_resv_regions(g, v->resv, MAX_RESV, &v->nresv);
	uiommu_group_msi_isolation(g, &v->msi_isolated, v->msi_reason,
				   sizeof(v->msi_reason));
	if (v->nresv > MAX_RESV)
		v->nresv = MAX_RESV;
}

static int group_text(void *opaque, const struct uiommu_machine_func *f)
{
	char bdf[TOOL_BDF_LEN];
	struct core_view v;

	(void)opaque;
	core_view(f, &v);
	tool_bdf(f, bdf);
	printf("%s %s\n", bdf, f->name);
	printf("  RID       0x%04x\n", f->rid);
	if (f->has_sid)
		printf("  StreamID  0x%04" PRIx32 " (%s, %s)\n", f->sid,
		       f->iommu_node,
		       f->sid_matched ? "iommu-map" : "iommu-map: passed through");
	else
		printf("  StreamID  - (no iommu-map: DMA addresses are physical)\n");
	if (f->has_devid)
		printf("  DeviceID  0x%04" PRIx32 " (%s, %s, %s)\n", f->devid,
		       f->msi_node,
		       f->msi_parent ? "msi-parent" :
		       f->devid_matched ? "msi-map" : "msi-map: passed through",
		       f->msi_isolating ? "isolating" : "NOT isolating");
	else
		printf("  DeviceID  - (no MSI controller)\n");
	if (v.group < 0) {
		printf("  group     - (%s)\n", v.why);
		return 0;
	}
	printf("  group     %d\n", v.group);
	printf("  domain    %s\n", v.domain ? v.domain : "-");
	printf("  MSI       %s (%s)\n",
	       v.msi_isolated ? "isolated" : "NOT isolated", v.msi_reason);
	printf("  reserved regions:%s\n", v.nresv ? "" : " none");
	for (size_t i = 0; i < v.nresv; i++)
		printf("    0x%016" PRIx64 " 0x%016" PRIx64 " %s%s\n",
		       v.resv[i].start, v.resv[i].last,
		       uiommu_resv_type_name(v.resv[i].type),
		       v.resv[i].flags & UIOMMU_RESV_F_DMA_ONLY ?
		       " (DMA domains only)" : "");
	return 0;
}

struct json_walk {
	int n;
};

static int group_json(void *opaque, const struct uiommu_machine_func *f)
{
	struct json_walk *w = opaque;
	char bdf[TOOL_BDF_LEN];
	struct core_view v;

	core_view(f, &v);
	tool_bdf(f, bdf);
	printf("%s\n  {\"bdf\": \"%s\", \"name\": ", w->n++ ? "," : "", bdf);
	tool_json_str(f->name);
	printf(", \"rid\": \"0x%04x\",\n   \"stream_id\": ", f->rid);
	if (f->has_sid) {
		printf("{\"value\": \"0x%" PRIx32 "\", \"iommu\": ", f->sid);
		tool_json_str(f->iommu_node);
		printf(", \"matched\": %s}", f->sid_matched ? "true" : "false");
	} else {
		printf("null");
	}
	printf(",\n   \"device_id\": ");
	if (f->has_devid) {
		printf("{\"value\": \"0x%" PRIx32 "\", \"msi_controller\": ",
		       f->devid);
		tool_json_str(f->msi_node);
		printf(", \"matched\": %s, \"msi_parent\": %s, \"isolating\": %s}",
		       f->devid_matched ? "true" : "false",
		       f->msi_parent ? "true" : "false",
		       f->msi_isolating ? "true" : "false");
	} else {
		printf("null");
	}
	printf(",\n   \"iommu_driver\": %s", v.group >= 0 ? "true" : "false");
	if (v.group < 0) {
		printf(", \"group\": null, \"domain\": null, \"reserved_regions\": null, \"note\": ");
		tool_json_str(v.why);
		printf("}");
		return 0;
	}
	printf(", \"group\": %d, \"domain\": ", v.group);
	if (v.domain)
		tool_json_str(v.domain);
	else
		printf("null");
	printf(", \"msi_isolated\": %s, \"msi_isolation_reason\": ",
	       v.msi_isolated ? "true" : "false");
	tool_json_str(v.msi_reason);
	printf(",\n   \"reserved_regions\": [");
	for (size_t i = 0; i < v.nresv; i++)
		printf("%s{\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
		       "\", \"type\": \"%s\", \"dma_only\": %s}", i ? ", " : "",
		       v.resv[i].start, v.resv[i].last,
		       uiommu_resv_type_name(v.resv[i].type),
		       v.resv[i].flags & UIOMMU_RESV_F_DMA_ONLY ? "true" : "false");
	printf("]}");
	return 0;
}

int info_groups(const struct info_ctx *c)
{
	struct uiommu_machine_info mi;
	struct json_walk w = { 0 };
	int ret;

	uiommu_machine_get_info(c->m, &mi);
	if (!c->json) {
		printf("machine: %s (%s)\n", c->source, mi.model);
		return uiommu_machine_for_each_function(c->m, group_text, NULL);
	}
	info_json_head(c, "groups");
	printf(",\n \"functions\": [");
	ret = uiommu_machine_for_each_function(c->m, group_json, &w);
	printf("]}\n");
	return ret;
}

int info_mtree(const struct info_ctx *c)
{
	struct regions *rs = calloc(1, sizeof(*rs));
	int ret;

	if (!rs)
		return -ENOMEM;
	ret = uiommu_machine_for_each_region(c->m, collect_region, rs);
	if (!ret && c->json)
		mtree_json(c, rs);
	else if (!ret)
		mtree_text(c, rs);
	free(rs);
	return ret;
}
