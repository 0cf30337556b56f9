/* SPDX-License-Identifier: MIT */
#ifndef UIOMMU_TOOL_H
#define UIOMMU_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uiommu/uiommu.h>

/* "format_version" of every JSON document the tool prints. */
#define TOOL_FORMAT_VERSION 1

struct uiommu_machine;
struct tool_assign;
struct uiommu_machine_func;
struct uiommu_group;

struct tool_cmd {
	const char *name;
	const char *usage;
	const char *help;
	int (*fn)(int argc, char **argv);	/* 0 on success */
};

int cmd_help(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_demo_iova(void);
int cmd_info(int argc, char **argv);

/* tools/uiommu.c: -o json was given (common to every command) */
bool tool_output_json(void);

/* tools/common.c */
const char *tool_source_name(const char *machine, const char *dtb);
int tool_make_machine(const char *machine, const char *dtb,
		      struct uiommu_machine **m);
/* "--machine NAME" or "--dtb FILE" at argv[*i]: 1 if taken (*i then on
 * its value), 0 if neither, -EINVAL if the value is missing */
int tool_machine_parse_opt(int argc, char **argv, int *i,
			   const char **machine, const char **dtb);
void tool_log_errors(bool errors);
void tool_json_str(const char *s);
const char *tool_json_bool(bool b);	/* "true" / "false" */
/* "A" or "A-B" for @n values from @a, decimal or hex (0x%08 for one) */
void tool_range_text(char *buf, size_t len, uint64_t a, uint64_t n, bool hex);
const char *tool_domain_type_name(enum uiommu_domain_type t);
void tool_size_name(char *buf, size_t len, uint64_t bytes);
/* "0000:00:01.0" of a machine function into @buf (TOOL_BDF_LEN bytes) */
#define TOOL_BDF_LEN 32
void tool_bdf(const struct uiommu_machine_func *f, char *buf);

/**
 * struct info_ctx - what every `uiommu info VIEW` works on
 * @source: the machine as named in output ("virt", a DTB's basename)
 * @m:      the machine, realized
 * @assign: NULL, or with --assign the test device 0000:00:01.0 assigned
 *          through VFIO as the demo does (64 MiB mapped, MSI-X vectors
 *          enabled with eventfds; --vectors N limits them)
 * @json:   -o json
 */
struct info_ctx {
	const char *source;
	struct uiommu_machine *m;
	struct tool_assign *assign;
	bool json;
};

/* tools/cmd-info.c: `{"format_version": 1, "view": VIEW, "machine": ...,
 * "model": ..., "assigned": BOOL` without a newline; the view goes on with
 * `,\n "key": ...` and ends with "}\n". */
void info_json_head(const struct info_ctx *c, const char *view);

/**
 * typedef info_group_fn - one IOMMU group of a view
 * @first: the group's first function (machine order)
 * @nth:   0 for the first group printed (JSON separators)
 * Return: 0, or a negative errno that ends the walk.
 */
typedef int (*info_group_fn)(const struct info_ctx *c, struct uiommu_group *g,
			     const struct uiommu_machine_func *first,
			     unsigned int nth);

/* tools/common.c: the view's header, then @fn for every IOMMU group once,
 * then the view's end (JSON: a "groups" array; text: a line when the
 * machine has no group). */
int info_for_each_group(const struct info_ctx *c, const char *view,
			info_group_fn fn);

/* The views, one file each (tools/info-*.c); 0 or a negative errno. */
int info_mtree(const struct info_ctx *c);
int info_groups(const struct info_ctx *c);
int info_iova(const struct info_ctx *c);
int info_smmu(const struct info_ctx *c);
int info_pgtable(const struct info_ctx *c);
int info_its(const struct info_ctx *c);
int info_msi(const struct info_ctx *c);

#endif /* UIOMMU_TOOL_H */
