// SPDX-License-Identifier: MIT
/*
 * uiommu info pgtable: the I/O page table of every IOMMU group's current
 * domain.
 *
 * Per group: the domain (id, type), the table's format and geometry
 * (granule, IAS, OAS, levels, page sizes), its root, the register values
 * that describe it to the hardware (CD T0SZ/TG0/IPS/MAIR for an Arm stage
 * 1, STE S2T0SZ/S2SL0/S2TG/S2PS for a stage 2, AW for VT-d), then its live
 * leaves decoded, one line each, and the raw descriptors along each leaf's
 * walk (uiommu_pgtable_dump_lines()).  With --assign the test device's
 * group is in the VFIO container's domain: the 64 MiB mapping and the MSI
 * doorbell page show.  Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "assign.h"
#include "tool.h"

static const char *format_name(enum uiommu_pt_format f, bool json)
{
	switch (f) {
	case UIOMMU_PT_ARM_S1:
		return json ? "arm-s1" : "Arm VMSAv8-64 stage 1";
	case UIOMMU_PT_ARM_S2:
		return json ? "arm-s2" : "Arm VMSAv8-64 stage 2";
	case UIOMMU_PT_VTD_SS:
		return json ? "vtd-ss" : "VT-d second stage";
	}
	return "?";
}


/* "rw-" and the attributes of a leaf. */
static void prot_text(char *buf, size_t len, uint32_t prot)
{
	snprintf(buf, len, "%c%c%c%s%s%s",
		 prot & UIOMMU_PT_PROT_READ ? 'r' : '-',
		 prot & UIOMMU_PT_PROT_WRITE ? 'w' : '-',
		 prot & UIOMMU_PT_PROT_NOEXEC ? '-' : 'x',
		 prot & UIOMMU_PT_PROT_MMIO ? " device" : "",
		 prot & UIOMMU_PT_PROT_CACHE ? " cacheable" : "",
		 prot & UIOMMU_PT_PROT_PRIV ? " privileged" : "");
}

/* -------------------------------------------------------------- leaves */

struct leaf_walk {
	bool json;
	unsigned int n;
	uint64_t bytes;
};

static int count_leaf(void *opaque, const struct uiommu_pt_leaf *l)
{
	struct leaf_walk *w = opaque;

	w->n++;
	w->bytes += l->size;
	return 0;
}

static int print_leaf(void *opaque, const struct uiommu_pt_leaf *l)
{
	struct leaf_walk *w = opaque;
	char sz[32], prot[48];

	tool_size_name(sz, sizeof(sz), l->size);
	if (!w->json) {
		prot_text(prot, sizeof(prot), l->prot);
		printf("    0x%016" PRIx64 "-0x%016" PRIx64 " -> 0x%016" PRIx64
		       "  %4s  L%d  0x%016" PRIx64 "  %s\n", l->iova,
		       l->iova + l->size - 1, l->pa, sz, l->level, l->desc, prot);
		return 0;
	}
	printf("%s\n    {\"iova\": \"0x%" PRIx64 "\", \"pa\": \"0x%" PRIx64
	       "\", \"size\": \"0x%" PRIx64 "\", \"level\": %d, \"desc\": \"0x%"
	       PRIx64 "\", \"read\": %s, \"write\": %s, \"exec\": %s, "
	       "\"device\": %s, \"cacheable\": %s, \"privileged\": %s}",
	       w->n++ ? "," : "", l->iova, l->pa, l->size, l->level, l->desc,
	       tool_json_bool(l->prot & UIOMMU_PT_PROT_READ),
	       tool_json_bool(l->prot & UIOMMU_PT_PROT_WRITE),
	       tool_json_bool(!(l->prot & UIOMMU_PT_PROT_NOEXEC)),
	       tool_json_bool(l->prot & UIOMMU_PT_PROT_MMIO),
	       tool_json_bool(l->prot & UIOMMU_PT_PROT_CACHE),
	       tool_json_bool(l->prot & UIOMMU_PT_PROT_PRIV));
	return 0;
}

static int print_line(void *opaque, const char *line)
{
	(void)opaque;
	printf("    %s\n", line);
	return 0;
}

/* --------------------------------------------------------------- text */

static void text_registers(const struct uiommu_pgtable_info *pi)
{
	char g[32];

	tool_size_name(g, sizeof(g), UINT64_C(1) << pi->walk.granule_shift);
	switch (pi->walk.format) {
	case UIOMMU_PT_ARM_S1:
		printf("  registers   CD: T0SZ %u, TG0 %u (%s), IPS %u (%u bits), "
		       "MAIR 0x%016" PRIx64 "\n", pi->arm_tsz, pi->arm_tg, g,
		       pi->arm_ps, pi->walk.oas, pi->arm_mair);
		break;
	case UIOMMU_PT_ARM_S2:
		printf("  registers   STE: S2T0SZ %u, S2SL0 %u, S2TG %u (%s), S2PS %u "
		       "(%u bits)\n", pi->arm_tsz, pi->arm_sl0, pi->arm_tg, g,
		       pi->arm_ps, pi->walk.oas);
		break;
	case UIOMMU_PT_VTD_SS:
		printf("  registers   context entry: AW %u (%u-level table)\n",
		       pi->vtd_aw, pi->walk.levels);
		break;
	}
}

static void text_pgsizes(uint64_t bitmap)
{
	char sz[32];

	printf("  page sizes ");
	for (unsigned int b = 0; b < 64; b++) {
		if (!(bitmap & (UINT64_C(1) << b)))
			continue;
		tool_size_name(sz, sizeof(sz), UINT64_C(1) << b);
		printf(" %s", sz);
	}
	printf("\n");
}

static int text_table(const struct uiommu_pgtable *pt)
{
	struct uiommu_pgtable_info pi;
	struct leaf_walk lw = { 0 };
	char g[32];
	int ret;

	uiommu_pgtable_get_info(pt, &pi);
	tool_size_name(g, sizeof(g), UINT64_C(1) << pi.walk.granule_shift);
	printf("  format      %s, %s granule, IAS %u, OAS %u, %u levels\n",
	       format_name(pi.walk.format, false), g, pi.walk.ias, pi.walk.oas,
	       pi.walk.levels);
	printf("  root        0x%016" PRIx64 " (%" PRIu64 " bytes)\n", pi.root,
	       pi.root_size);
	text_registers(&pi);
	text_pgsizes(pi.pgsize_bitmap);
	ret = uiommu_pgtable_for_each_leaf(pt, count_leaf, &lw);
	if (ret)
		return ret;
	if (!lw.n) {
		printf("  leaves      none (nothing mapped)\n");
		return 0;
	}
	printf("  leaves      %u, 0x%" PRIx64 " bytes mapped:\n", lw.n, lw.bytes);
	printf("    %-37s    %-18s  %4s  %-2s  %-18s  %s\n", "IOVA", "PA", "size",
	       "lv", "descriptor", "permissions");
	ret = uiommu_pgtable_for_each_leaf(pt, print_leaf, &lw);
	if (ret)
		return ret;
	printf("  descriptors along each walk:\n");
	return uiommu_pgtable_dump_lines(pt, print_line, NULL);
}

/* --------------------------------------------------------------- JSON */

static int json_table(const struct uiommu_pgtable *pt)
{
	struct uiommu_pgtable_info pi;
	struct leaf_walk lw = { .json = true };
	unsigned int n = 0;
	int ret;

	uiommu_pgtable_get_info(pt, &pi);
	printf(",\n   \"pgtable\": {\"format\": \"%s\", \"granule\": %u, "
	       "\"ias\": %u, \"oas\": %u, \"levels\": %u, \"root\": \"0x%"
	       PRIx64 "\", \"root_size\": %" PRIu64 ", \"page_sizes\": [",
	       format_name(pi.walk.format, true),
	       1u << pi.walk.granule_shift, pi.walk.ias, pi.walk.oas,
	       pi.walk.levels, pi.root, pi.root_size);
	for (unsigned int b = 0; b < 64; b++)
		if (pi.pgsize_bitmap & (UINT64_C(1) << b))
			printf("%s\"0x%" PRIx64 "\"", n++ ? ", " : "",
			       UINT64_C(1) << b);
	printf("],\n    \"registers\": ");
	switch (pi.walk.format) {
	case UIOMMU_PT_ARM_S1:
		printf("{\"t0sz\": %u, \"tg0\": %u, \"ips\": %u, \"mair\": \"0x%"
		       PRIx64 "\"}", pi.arm_tsz, pi.arm_tg, pi.arm_ps, pi.arm_mair);
		break;
	case UIOMMU_PT_ARM_S2:
		printf("{\"s2t0sz\": %u, \"s2sl0\": %u, \"s2tg\": %u, \"s2ps\": %u}",
		       pi.arm_tsz, pi.arm_sl0, pi.arm_tg, pi.arm_ps);
		break;
	case UIOMMU_PT_VTD_SS:
		printf("{\"aw\": %u}", pi.vtd_aw);
		break;
	}
	printf(",\n    \"leaves\": [");
	ret = uiommu_pgtable_for_each_leaf(pt, print_leaf, &lw);
	printf("]}");
	return ret;
}

/* ------------------------------------------------------------- groups */

static int show_group(const struct info_ctx *c, struct uiommu_group *g,
		      const struct uiommu_machine_func *f, unsigned int nth)
{
	struct uiommu_domain *dom = uiommu_group_domain(g);
	const struct uiommu_pgtable *pt = uiommu_domain_pgtable(dom);
	bool vfio = c->assign && c->assign->dom == dom;
	struct uiommu_domain_info di;
	char bdf[TOOL_BDF_LEN];

	uiommu_domain_get_info(dom, &di);
	tool_bdf(f, bdf);
	if (!c->json) {
		printf("\ngroup %u (%s %s)\n", uiommu_group_id(g), bdf, f->name);
		printf("  domain      %u, %s%s\n", di.id,
		       tool_domain_type_name(di.type),
		       vfio ? " (VFIO container)" : "");
		if (!pt) {
			printf("  no page table (%s)\n",
			       di.type == UIOMMU_DOMAIN_IDENTITY ? "IOVA = PA" :
			       di.type == UIOMMU_DOMAIN_BLOCKED ? "all DMA blocked" :
			       "the driver's own table format");
			return 0;
		}
		return text_table(pt);
	}
	printf("%s\n  {\"group\": %u, \"function\": \"%s\", \"name\": ",
	       nth ? "," : "", uiommu_group_id(g), bdf);
	tool_json_str(f->name);
	printf(", \"domain\": {\"id\": %u, \"type\": \"%s\", \"vfio\": %s}",
	       di.id, tool_domain_type_name(di.type), tool_json_bool(vfio));
	if (!pt) {
		printf(",\n   \"pgtable\": null}");
		return 0;
	}
	if (json_table(pt))
		return -EIO;
	printf("}");
	return 0;
}

int info_pgtable(const struct info_ctx *c)
{
	return info_for_each_group(c, "pgtable", show_group);
}
