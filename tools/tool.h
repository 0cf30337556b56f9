/* SPDX-License-Identifier: MIT */
#ifndef UIOMMU_TOOL_H
#define UIOMMU_TOOL_H

#include <stdbool.h>

struct uiommu_machine;

struct tool_cmd {
	const char *name;
	const char *help;
	int (*fn)(int argc, char **argv);	/* 0 on success */
};

int cmd_help(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_demo_iova(void);
int cmd_info(int argc, char **argv);

/* tools/common.c */
const char *tool_source_name(const char *machine, const char *dtb);
int tool_make_machine(const char *machine, const char *dtb,
		      struct uiommu_machine **m);
void tool_log_errors(bool errors);
void tool_json_str(const char *s);

#endif /* UIOMMU_TOOL_H */
