// SPDX-License-Identifier: MIT
/*
 * Helpers the tool's commands share: building the machine from a name or
 * a DTB file, naming it in output, JSON strings, the log handler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)len);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	*size = (size_t)len;
out:
	fclose(f);
	return buf;
}

const char *tool_source_name(const char *machine, const char *dtb)
{
	const char *slash;

	if (!machine && !dtb)
		return "virt";
	if (!dtb)
		return machine;
	slash = strrchr(dtb, '/');
	return slash ? slash + 1 : dtb;
}

/* Warnings (an ID passed through untranslated, ...) go to stderr, one
 * line each; errors too when @opaque is set (the demo: the kernel-like
 * explanations of a refusal). */
static void log_to_stderr(void *opaque, enum uiommu_log_level level,
			  const char *subsys, const char *msg)
{
	if (level == UIOMMU_LOG_WARN)
		fprintf(stderr, "uiommu: %s: warning: %s\n", subsys, msg);
	else if (level == UIOMMU_LOG_ERR && opaque)
		fprintf(stderr, "uiommu: %s: %s\n", subsys, msg);
}

void tool_log_errors(bool errors)
{
	uiommu_set_log_handler(log_to_stderr, errors ? (void *)1 : NULL);
}

int tool_make_machine(const char *machine, const char *dtb,
		      struct uiommu_machine **m)
{
	struct uiommu_machine_opts mo = { .name = machine };
	char err[256] = "";
	void *blob = NULL;
	int ret;

	if (dtb) {
		blob = read_file(dtb, &mo.dtb_size);
		if (!blob) {
			fprintf(stderr, "uiommu: cannot read %s\n", dtb);
			return -EIO;
		}
		mo.dtb = blob;
	}
	mo.err = err;
	mo.errlen = sizeof(err);
	uiommu_set_log_handler(log_to_stderr, NULL);
	ret = uiommu_machine_create(&mo, m);
	free(blob);
	if (ret)
		fprintf(stderr, "uiommu: %s: %s\n", tool_source_name(machine, dtb),
			err[0] ? err : uiommu_strerror(ret));
	return ret;
}

void tool_json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

const char *tool_domain_type_name(enum uiommu_domain_type t)
{
	switch (t) {
	case UIOMMU_DOMAIN_BLOCKED:
		return "blocked";
	case UIOMMU_DOMAIN_IDENTITY:
		return "identity";
	case UIOMMU_DOMAIN_DMA:
		return "DMA";
	case UIOMMU_DOMAIN_UNMANAGED:
		return "unmanaged";
	}
	return "?";
}
