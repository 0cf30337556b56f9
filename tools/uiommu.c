// SPDX-License-Identifier: MIT
/*
 * uiommu: the command-line tool.  Subcommands are listed in one table;
 * each lives in its own tools/cmd-*.c file.  Two options are common to
 * every command and taken out of argv here, wherever they appear after
 * the command name: `-o text|json` (the JSON form carries
 * "format_version") and `--trace GLOB` (trace events on stderr).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

static int cmd_events(int argc, char **argv);

static const struct tool_cmd commands[] = {
	{ "demo", "demo [--machine NAME|--dtb FILE] [--msi-window IOVA] [--allow-unsafe-interrupts] [--vectors N]",
	  "the test device assigned through VFIO: DMA, MSI-X, a fault, the report (demo --iova: the IOVA allocator alone)",
	  cmd_demo },
	{ "info", "info VIEW [--machine NAME|--dtb FILE] [--assign [--vectors N] [--msi-window IOVA] [--allow-unsafe-interrupts]]",
	  "a view of the machine: mtree, groups, iova, pgtable, its, msi, smmu (uiommu info help)",
	  cmd_info },
	{ "events", "events [GLOB]",
	  "the trace events --trace GLOB can enable (all, or those GLOB matches)",
	  cmd_events },
	{ "help", "help [-o json]", "this help", cmd_help },
};

static bool output_json;

bool tool_output_json(void)
{
	return output_json;
}

int cmd_help(int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	if (output_json) {
		printf("{\"format_version\": %d, \"commands\": [", TOOL_FORMAT_VERSION);
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			tool_json_str(commands[i].name);
			printf(", \"usage\": ");
			tool_json_str(commands[i].usage);
			printf(", \"summary\": ");
			tool_json_str(commands[i].help);
			printf("}");
		}
		printf("],\n \"common_options\": [\"-o text|json\", \"--trace GLOB\"]}\n");
		return 0;
	}
	printf("usage: uiommu COMMAND [OPTIONS] [-o text|json] [--trace GLOB]\n\n"
	       "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-6s %s\n         %s\n", commands[i].name,
		       commands[i].help, commands[i].usage);
	printf("\ncommon options:\n"
	       "  -o text|json   output form; JSON carries \"format_version\"\n"
	       "  --trace GLOB   print the trace events matching GLOB on stderr\n"
	       "                 (e.g. 'smmuv3_*'; UIOMMU_TRACE does the same)\n");
	return 0;
}

/* The trace events, in declaration order (src/base/trace-events.h). */
static int cmd_events(int argc, char **argv)
{
	const char *glob = argc > 1 ? argv[1] : "*";
	const char *name;
	unsigned int n = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: uiommu events [GLOB]\n");
		return -EINVAL;
	}
	if (output_json)
		printf("{\"format_version\": %d, \"events\": [", TOOL_FORMAT_VERSION);
	for (unsigned int i = 0; (name = uiommu_trace_event_name(i, NULL)); i++) {
		if (fnmatch(glob, name, 0))
			continue;
		if (output_json) {
			printf("%s", n ? ", " : "");
			tool_json_str(name);
		} else {
			printf("%s\n", name);
		}
		n++;
	}
	if (output_json)
		printf("]}\n");
	if (!n) {
		fprintf(stderr, "uiommu events: no trace event matches '%s'\n", glob);
		return -ENOENT;
	}
	return 0;
}

/* Take -o and --trace out of argv[1..]; returns the new argc or < 0. */
static int common_options(int argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int ret;

		if (strcmp(a, "-o") && strcmp(a, "--trace")) {
			argv[out++] = argv[i];
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "uiommu: %s needs an argument\n", a);
			return -EINVAL;
		}
		a = argv[++i];
		if (!strcmp(argv[i - 1], "-o")) {
			if (strcmp(a, "json") && strcmp(a, "text")) {
				fprintf(stderr, "uiommu: -o %s: expected text or json\n", a);
				return -EINVAL;
			}
			output_json = !strcmp(a, "json");
			continue;
		}
		ret = uiommu_trace_enable(a);
		if (ret == -ENOENT) {
			fprintf(stderr, "uiommu: --trace %s: matches no trace "
				"event (see 'uiommu events')\n", a);
			return ret;
		}
		if (ret < 0) {
			fprintf(stderr, "uiommu: --trace %s: %s\n", a,
				uiommu_strerror(ret));
			return ret;
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return cmd_help(argc, argv) ? 1 : 2;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		argc = common_options(argc - 1, argv + 1);
		if (argc < 0)
			return 2;
		return commands[i].fn(argc, argv + 1) ? 1 : 0;
	}
	fprintf(stderr, "uiommu: unknown command '%s' (try 'uiommu help')\n",
		argv[1]);
	return 2;
}
