// SPDX-License-Identifier: MIT
/*
 * uiommu info VIEW [--machine NAME | --dtb FILE]
 *                  [--assign [--vectors N] [--msi-window IOVA]
 *                            [--allow-unsafe-interrupts]]
 *
 * Builds the machine, optionally assigns the test device through VFIO as
 * the demo does (so that page tables, ITS tables and MSI bindings have
 * something in them), then prints one view of it.  Each view lives in its
 * own tools/info-*.c; they share struct info_ctx and the JSON head.  The
 * text form is for people; the JSON form (-o json) is the stable interface
 * and carries "format_version".  Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "assign.h"
#include "tool.h"

static const struct info_view {
	const char *name;
	int (*fn)(const struct info_ctx *c);
	const char *help;
} views[] = {
	{ "mtree", info_mtree, "the physical address map (RAM, MMIO, doorbells)" },
	{ "groups", info_groups, "PCI functions: IDs, IOMMU groups, reserved regions" },
	{ "iova", info_iova, "each group's IOVA space: reserved, allocated or mapped, free" },
	{ "pgtable", info_pgtable, "each group's I/O page table: format, registers, leaves" },
	{ "smmu", info_smmu, "SMMUv3 registers, features, queues, STE/CD per StreamID" },
	{ "its", info_its, "ITS registers, tables and translations; GICv2m frames" },
	{ "msi", info_msi, "MSI domains: vectors as programmed, doorbell bindings" },
};

struct info_opts {
	const struct info_view *view;
	const char *machine;	/* built-in name */
	const char *dtb;	/* file */
	bool assign;
	struct tool_assign_opts ao;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: uiommu info VIEW [--machine virt|virt-gicv2m|virt-noiommu] [--dtb FILE]\n"
		"                        [--assign [--vectors N] [--msi-window IOVA]\n"
		"                                  [--allow-unsafe-interrupts]]\n"
		"                        [-o text|json] [--trace GLOB]\n"
		"views:\n");
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		fprintf(stderr, "  %-8s %s\n", views[i].name, views[i].help);
	fprintf(stderr,
		"--assign: first assign 0000:00:01.0 through VFIO as `uiommu demo`\n"
		"          does (64 MiB mapped, MSI-X vectors enabled with eventfds)\n");
}

static const struct info_view *find_view(const char *name)
{
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (!strcmp(views[i].name, name))
			return &views[i];
	return NULL;
}

static int parse_args(int argc, char **argv, struct info_opts *o)
{
	bool assign_only = false;

	memset(o, 0, sizeof(*o));
	o->machine = "virt";
	if (argc < 2)
		goto bad;
	o->view = find_view(argv[1]);
	if (!o->view) {
		fprintf(stderr, "uiommu info: unknown view '%s'\n", argv[1]);
		goto bad;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int ret = tool_assign_parse_opt(argc, argv, &i, &o->ao);

		if (ret < 0)
			goto bad;
		if (ret) {
			assign_only = true;
			continue;
		}
		if (!strcmp(a, "--assign")) {
			o->assign = true;
			continue;
		}
		if (tool_machine_parse_opt(argc, argv, &i, &o->machine,
					   &o->dtb) <= 0)
			goto bad;
	}
	if (assign_only && !o->assign) {
		fprintf(stderr, "uiommu info: --vectors, --msi-window and "
			"--allow-unsafe-interrupts go with --assign\n");
		return -EINVAL;
	}
	return 0;
bad:
	usage();
	return -EINVAL;
}

void info_json_head(const struct info_ctx *c, const char *view)
{
	struct uiommu_machine_info mi;

	uiommu_machine_get_info(c->m, &mi);
	printf("{\"format_version\": %d, \"view\": ", TOOL_FORMAT_VERSION);
	tool_json_str(view);
	printf(", \"machine\": ");
	tool_json_str(c->source);
	printf(", \"model\": ");
	tool_json_str(mi.model);
	printf(", \"assigned\": %s", c->assign ? "true" : "false");
}

/*
 * Run a view into memory and print it only if it succeeds: a failure half
 * way must not leave half a JSON document (or half a table) on stdout.
 * glibc lets a program assign stdout, so the views keep plain printf().
 */
static int run_view(const struct info_view *v, const struct info_ctx *c)
{
	FILE *real = stdout, *mem;
	char *text = NULL;
	size_t len = 0;
	int ret;

	mem = open_memstream(&text, &len);
	if (!mem)
		return -ENOMEM;
	stdout = mem;
	ret = v->fn(c);
	stdout = real;
	if (fclose(mem) && !ret)
		ret = -ENOMEM;
	if (!ret && fwrite(text, 1, len, stdout) != len)
		ret = -EIO;
	free(text);
	return ret;
}

int cmd_info(int argc, char **argv)
{
	struct tool_assign *a = NULL;
	struct info_ctx c = { 0 };
	struct info_opts o;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "help")) {
		usage();
		return 0;
	}
	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	c.source = tool_source_name(o.machine, o.dtb);
	c.json = tool_output_json();
	ret = tool_make_machine(o.machine, o.dtb, &c.m);
	if (ret)
		return ret;
	if (o.assign) {
		a = calloc(1, sizeof(*a));
		if (!a) {
			ret = -ENOMEM;
			goto out_machine;
		}
		a->o = o.ao;
		a->o.who = "info";
		a->o.source = c.source;
		a->m = c.m;
		tool_log_errors(true);
		ret = tool_assign(a);
		if (ret)
			goto out_assign;
		c.assign = a;
	}
	ret = run_view(o.view, &c);
	if (ret)
		fprintf(stderr, "uiommu info %s: %s\n", o.view->name,
			uiommu_strerror(ret));
out_assign:
	if (a)
		tool_assign_release(a);
	free(a);
out_machine:
	uiommu_machine_destroy(c.m);
	return ret;
}
