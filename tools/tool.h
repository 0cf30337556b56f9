/* SPDX-License-Identifier: MIT */
#ifndef UIOMMU_TOOL_H
#define UIOMMU_TOOL_H

struct tool_cmd {
	const char *name;
	const char *help;
	int (*fn)(int argc, char **argv);	/* 0 on success */
};

int cmd_help(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif /* UIOMMU_TOOL_H */
