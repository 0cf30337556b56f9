/* SPDX-License-Identifier: MIT */
#ifndef UIOMMU_TOOL_H
#define UIOMMU_TOOL_H

#include <stdbool.h>

#include <uiommu/uiommu.h>

/* "format_version" of every JSON document the tool prints. */
#define TOOL_FORMAT_VERSION 1

struct uiommu_machine;
struct tool_assign;

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
void tool_log_errors(bool errors);
void tool_json_str(const char *s);
const char *tool_domain_type_name(enum uiommu_domain_type t);

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

/* The views, one file each (tools/info-*.c); 0 or a negative errno. */
int info_mtree(const struct info_ctx *c);
int info_groups(const struct info_ctx *c);
int info_iova(const struct info_ctx *c);
int info_its(const struct info_ctx *c);
int info_msi(const struct info_ctx *c);

#endif /* UIOMMU_TOOL_H */
