// SPDX-License-Identifier: MIT
/*
 * uiommu: the command-line tool.  Subcommands are listed in one table;
 * each lives in its own tools/cmd-*.c file.
 */
#include <stdio.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

static const struct tool_cmd commands[] = {
	{ "demo", "demo [--machine NAME] [--msi-window IOVA] [--allow-unsafe-interrupts] [--vectors N] [-o json]: the test device assigned through VFIO: DMA, MSI-X, a fault, the report (--iova: the IOVA allocator alone)", cmd_demo },
	{ "info", "info mtree|groups [--machine NAME|--dtb FILE] [-o json]: the machine's address map, or its PCI functions' IDs and IOMMU groups", cmd_info },
	{ "help", "show this help", cmd_help },
};

int cmd_help(int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	printf("usage: uiommu COMMAND [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return cmd_help(argc, argv) ? 1 : 2;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1) ? 1 : 0;
	fprintf(stderr, "uiommu: unknown command '%s' (try 'uiommu help')\n",
		argv[1]);
	return 2;
}
