// SPDX-License-Identifier: MIT
/*
 * uiommu info msi: the OS's MSI layer.
 *
 * Per MSI domain (one per ITS or GICv2m frame): the controller, its doorbell
 * and whether it isolates devices, its counters; then per PCI function
 * whose MSIs go there: its vectors (index, hardware interrupt, the message
 * address and data as programmed in the function's MSI-X table or MSI
 * capability, read back from the function, masked, CPU, interrupts
 * delivered) and the doorbell bindings of its IOMMU domain: which doorbell
 * page is mapped at which IOVA of the MSI window, with its reference count.
 * The text form collapses runs of vectors that differ only by consecutive
 * interrupt and data; the JSON form lists every vector.
 *
 * Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

/* One vector with its message as the function holds it. */
struct vec {
	struct uiommu_msi_vector_info vi;
	struct uiommu_pci_msi_msg msg;
	bool masked;
};

static int read_vec(struct uiommu_msi_dev *md, struct uiommu_pci_func *fn,
		    unsigned int v, struct vec *out)
{
	int ret = uiommu_msi_get_vector(md, v, &out->vi);

	if (!ret)
		ret = uiommu_pci_irq_read_msg(fn, v, &out->msg, &out->masked);
	return ret;
}

/* ------------------------------------------------------ doorbell bindings */

struct binding {
	struct uiommu_exposure_page p;
};

struct bindings {
	struct binding b[16];
	unsigned int n;
};

/* The exposure walk visits each page once per thing it exposes: keep the
 * pages. */
static int collect_binding(void *opaque, const struct uiommu_exposure_page *p,
			   const struct uiommu_exposure_entry *e)
{
	struct bindings *bs = opaque;

	(void)e;
	if (bs->n && bs->b[bs->n - 1].p.iova == p->iova)
		return 0;
	if (bs->n == sizeof(bs->b) / sizeof(bs->b[0]))
		return -ENOSPC;
	bs->b[bs->n++].p = *p;
	return 0;
}

/* The IOMMU domain a function's DMA (and MSI writes) go through now. */
static struct uiommu_domain *func_domain(const struct uiommu_msi_dev_info *mi,
					 unsigned int *group)
{
	struct uiommu_group *g;

	if (!mi->iommu_dev || !(g = uiommu_device_group(mi->iommu_dev)))
		return NULL;
	*group = uiommu_group_id(g);
	return uiommu_group_domain(g);
}

/* ------------------------------------------------------------------ text */

/* Vectors that differ only by consecutive hwirq and data. */
static bool vec_extends(const struct vec *first, unsigned int n,
			const struct vec *v)
{
	return v->vi.hwirq == first->vi.hwirq + n &&
	       v->msg.data == first->msg.data + n &&
	       v->msg.address == first->msg.address &&
	       v->masked == first->masked && v->vi.cpu == first->vi.cpu &&
	       v->vi.count == first->vi.count;
}

static void vec_run_text(const struct vec *f, unsigned int n)
{
	char idx[24], hw[24], data[40];

	tool_range_text(idx, sizeof(idx), f->vi.index, n, false);
	tool_range_text(hw, sizeof(hw), f->vi.hwirq, n, false);
	tool_range_text(data, sizeof(data), f->msg.data, n, true);
	printf("      %-11s %-12s 0x%016" PRIx64 "  %-14s %-6s %-3u %" PRIu64 "\n",
	       idx, hw, f->msg.address, data, f->masked ? "yes" : "no",
	       f->vi.cpu, f->vi.count);
}

static int vectors_text(struct uiommu_msi_dev *md,
			const struct uiommu_msi_dev_info *mi)
{
	struct vec first, v;
	unsigned int n = 0;
	int ret;

	printf("      %-11s %-12s %-18s  %-14s %-6s %-3s %s\n", "vector",
	       "hwirq", "address", "data", "masked", "CPU", "interrupts");
	for (unsigned int i = 0; i < mi->nvec; i++) {
		ret = read_vec(md, mi->fn, i, &v);
		if (ret)
			return ret;
		if (n && vec_extends(&first, n, &v)) {
			n++;
			continue;
		}
		if (n)
			vec_run_text(&first, n);
		first = v;
		n = 1;
	}
	if (n)
		vec_run_text(&first, n);
	return 0;
}

static void window_text(struct uiommu_domain *dom)
{
	struct uiommu_msi_window_info w;

	uiommu_domain_get_msi_window(dom, &w);
	if (w.present)
		printf("    MSI window    0x%016" PRIx64 "-0x%016" PRIx64 "  %s\n",
		       w.start, w.last, w.explicit_window ?
		       "explicit (registered by the owner)" : "default (sw-msi)");
	else if (w.hw_msi)
		printf("    MSI window    none: a hardware MSI region, no binding\n");
	else if (uiommu_domain_type(dom) == UIOMMU_DOMAIN_DMA)
		printf("    MSI window    none: a DMA domain maps doorbells at IOVAs "
		       "of its own allocator\n");
	else
		printf("    MSI window    none\n");
}

static void bindings_text(struct uiommu_domain *dom)
{
	struct bindings bs = { .n = 0 };

	(void)uiommu_domain_for_each_exposure(dom, collect_binding, &bs);
	printf("    doorbell bindings:%s\n", bs.n ? "" : " none");
	for (unsigned int i = 0; i < bs.n; i++) {
		const struct uiommu_exposure_page *p = &bs.b[i].p;

		printf("      doorbell 0x%" PRIx64 " -> IOVA 0x%" PRIx64
		       "  (page 0x%" PRIx64 " -> 0x%" PRIx64 ", %" PRIu64
		       " KiB)  refs %lu%s\n", p->doorbell_pa,
		       p->iova + (p->doorbell_pa - p->pa), p->iova, p->pa,
		       p->size >> 10, p->refs, p->safe ? "" : "  UNSAFE");
	}
}

static int func_text(const struct uiommu_machine_func *f,
		     const struct uiommu_msi_dev_info *mi, bool its)
{
	char bdf[TOOL_BDF_LEN];
	struct uiommu_domain *dom;
	unsigned int group = 0;

	tool_bdf(f, bdf);
	printf("\n  %s %s  RID 0x%04x", bdf, f->name, f->rid);
	if (its)
		printf("  DeviceID 0x%04" PRIx32, mi->devid);
	printf("\n");
	if (!mi->nvec)
		printf("    vectors       none allocated\n");
	else
		printf("    vectors       %u %s, %s %" PRIu32 "-%" PRIu32 "\n",
		       mi->nvec, mi->msix ? "MSI-X" : "MSI", its ? "LPIs" : "SPIs",
		       mi->hw_first, mi->hw_first + mi->nr_hw - 1);
	dom = func_domain(mi, &group);
	if (dom) {
		printf("    IOMMU domain  %s (group %u)\n",
		       tool_domain_type_name(uiommu_domain_type(dom)), group);
		window_text(dom);
	} else
		printf("    IOMMU domain  none: DMA and MSI addresses are physical\n");
	if (mi->nvec) {
		int ret;

		printf("    %s as programmed in the function\n",
		       mi->msix ? "MSI-X table" : "MSI capability");
		ret = vectors_text(f->msi_dev, mi);
		if (ret)
			return ret;
	}
	if (dom)
		bindings_text(dom);
	return 0;
}

/* ------------------------------------------------------------------ json */

static int vectors_json(struct uiommu_msi_dev *md,
			const struct uiommu_msi_dev_info *mi, bool its)
{
	printf(",\n     \"vectors\": [");
	for (unsigned int i = 0; i < mi->nvec; i++) {
		struct vec v;
		int ret = read_vec(md, mi->fn, i, &v);

		if (ret)
			return ret;
		printf("%s\n      {\"index\": %u, \"hwirq\": %" PRIu32,
		       i ? "," : "", v.vi.index, v.vi.hwirq);
		if (its)
			printf(", \"event_id\": %" PRIu32, v.vi.eventid);
		else
			printf(", \"event_id\": null");
		printf(", \"address\": \"0x%" PRIx64
		       "\", \"data\": \"0x%" PRIx32 "\", \"masked\": %s, \"cpu\": %u, "
		       "\"doorbell_pa\": \"0x%" PRIx64 "\", \"interrupts\": %" PRIu64
		       "}", v.msg.address, v.msg.data, v.masked ? "true" : "false",
		       v.vi.cpu, v.vi.doorbell_pa, v.vi.count);
	}
	printf("]");
	return 0;
}

static void bindings_json(struct uiommu_domain *dom, unsigned int group)
{
	struct uiommu_msi_window_info w;
	struct bindings bs = { .n = 0 };

	uiommu_domain_get_msi_window(dom, &w);
	printf(",\n     \"iommu_domain\": {\"type\": ");
	tool_json_str(tool_domain_type_name(uiommu_domain_type(dom)));
	printf(", \"group\": %u, \"msi_window\": ", group);
	if (w.present)
		printf("{\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
		       "\", \"explicit\": %s}", w.start, w.last,
		       w.explicit_window ? "true" : "false");
	else
		printf("null");
	(void)uiommu_domain_for_each_exposure(dom, collect_binding, &bs);
	printf(",\n      \"doorbell_bindings\": [");
	for (unsigned int i = 0; i < bs.n; i++) {
		const struct uiommu_exposure_page *p = &bs.b[i].p;

		printf("%s{\"doorbell_pa\": \"0x%" PRIx64 "\", \"iova\": \"0x%"
		       PRIx64 "\", \"page_iova\": \"0x%" PRIx64 "\", \"page_pa\": "
		       "\"0x%" PRIx64 "\", \"page_size\": %" PRIu64 ", \"refs\": %lu"
		       ", \"safe\": %s}", i ? ", " : "", p->doorbell_pa,
		       p->iova + (p->doorbell_pa - p->pa), p->iova, p->pa,
		       p->size, p->refs, p->safe ? "true" : "false");
	}
	printf("]}");
}

static int func_json(const struct uiommu_machine_func *f,
		     const struct uiommu_msi_dev_info *mi, bool its, bool first)
{
	char bdf[TOOL_BDF_LEN];
	struct uiommu_domain *dom;
	unsigned int group = 0;
	int ret;

	tool_bdf(f, bdf);
	printf("%s\n    {\"bdf\": \"%s\", \"name\": ", first ? "" : ",", bdf);
	tool_json_str(f->name);
	printf(", \"rid\": \"0x%04x\", \"device_id\": ", f->rid);
	if (its)
		printf("\"0x%" PRIx32 "\"", mi->devid);
	else
		printf("null");	/* GICv2m: the requester is not identified */
	printf(", \"nvec\": %u, \"msix\": %s, \"hw_first\": %" PRIu32
	       ", \"nr_hw\": %" PRIu32, mi->nvec,
	       mi->nvec && mi->msix ? "true" : "false",
	       mi->nvec ? mi->hw_first : 0, mi->nvec ? mi->nr_hw : 0);
	ret = vectors_json(f->msi_dev, mi, its);
	if (ret)
		return ret;
	dom = func_domain(mi, &group);
	if (dom)
		bindings_json(dom, group);
	else
		printf(",\n     \"iommu_domain\": null");
	printf("}");
	return 0;
}

/* ----------------------------------------------------------------- views */

struct dom_walk {
	const struct info_ctx *c;
	struct uiommu_msi_domain *dom;
	bool its;
	unsigned int n;
};

static int one_func(void *opaque, const struct uiommu_machine_func *f)
{
	struct dom_walk *w = opaque;
	struct uiommu_msi_dev_info mi;
	int ret;

	if (!f->msi_dev || uiommu_msi_dev_get_info(f->msi_dev, &mi) ||
	    mi.domain != w->dom)
		return 0;
	ret = w->c->json ? func_json(f, &mi, w->its, !w->n) :
			  func_text(f, &mi, w->its);
	w->n++;
	return ret;
}

static int domain_view(const struct info_ctx *c, unsigned int idx)
{
	struct uiommu_msi_domain *dom = uiommu_machine_msi_domain(c->m, idx);
	struct uiommu_msi_domain_stats st;
	struct uiommu_msi_domain_info di;
	struct dom_walk w = { c, dom, false, 0 };
	int ret;

	ret = uiommu_msi_domain_get_info(dom, &di);
	if (ret)
		return ret;
	w.its = di.its;
	uiommu_msi_domain_get_stats(dom, &st);
	if (c->json) {
		printf("%s\n  {\"index\": %u, \"name\": ", idx ? "," : "", idx);
		tool_json_str(di.name);
		printf(", \"controller\": ");
		tool_json_str(di.controller);
		printf(", \"doorbell_pa\": \"0x%" PRIx64 "\", \"isolating\": %s, "
		       "\"nr_cpus\": %u,\n   \"stats\": {\"delivered\": %" PRIu64
		       ", \"unhandled\": %" PRIu64 ", \"spurious\": %" PRIu64
		       ", \"devices\": %u, \"vectors\": %u},\n   \"functions\": [",
		       di.doorbell_pa, di.isolating ? "true" : "false",
		       di.nr_cpus, st.delivered, st.unhandled, st.spurious,
		       st.devices, st.vectors);
	} else {
		printf("\nMSI domain %u: %s (%s)\n", idx, di.name, di.controller);
		printf("  doorbell      0x%" PRIx64 ", %s\n", di.doorbell_pa,
		       di.isolating ? "isolating (identifies the source device)" :
		       "NOT isolating (any device can raise any of its interrupts)");
		printf("  CPUs          %u\n", di.nr_cpus);
		printf("  counters      %" PRIu64 " delivered, %" PRIu64
		       " unhandled, %" PRIu64 " spurious; %u device(s), %u "
		       "vector(s)\n", st.delivered, st.unhandled, st.spurious,
		       st.devices, st.vectors);
	}
	ret = uiommu_machine_for_each_function(c->m, one_func, &w);
	if (c->json)
		printf("]}");
	else if (!ret && !w.n)
		printf("  no function\n");
	return ret;
}

int info_msi(const struct info_ctx *c)
{
	struct uiommu_machine_info mi;
	unsigned int n;
	int ret = 0;

	uiommu_machine_get_info(c->m, &mi);
	n = mi.nits + mi.nv2m;
	if (c->json) {
		info_json_head(c, "msi");
		printf(",\n \"domains\": [");
	} else {
		printf("machine: %s (%s)\n", c->source, mi.model);
		if (!n)
			printf("\nno MSI domain\n");
	}
	for (unsigned int i = 0; i < n && !ret; i++)
		ret = domain_view(c, i);
	if (c->json)
		printf("]}\n");
	return ret;
}
