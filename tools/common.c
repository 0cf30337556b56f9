// SPDX-License-Identifier: MIT
/*
 * Helpers the tool's commands share: building the machine from a name or
 * a DTB file, naming it in output, JSON strings, the log handler.
 */
#include <errno.h>
#include <inttypes.h>
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

int tool_machine_parse_opt(int argc, char **argv, int *i,
			   const char **machine, const char **dtb)
{
	const char **val;

	if (!strcmp(argv[*i], "--machine"))
		val = machine;
	else if (!strcmp(argv[*i], "--dtb"))
		val = dtb;
	else
		return 0;
	if (*i + 1 >= argc)
		return -EINVAL;
	*val = argv[++*i];
	return 1;
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

/* A JSON string (RFC 8259 section 7): quote, backslash and control
 * characters escaped; the text may come from a DTB. */
void tool_json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

void tool_range_text(char *buf, size_t len, uint64_t a, uint64_t n, bool hex)
{
	if (n == 1 && hex)
		snprintf(buf, len, "0x%08" PRIx64, a);
	else if (n == 1)
		snprintf(buf, len, "%" PRIu64, a);
	else if (hex)
		snprintf(buf, len, "0x%" PRIx64 "-0x%" PRIx64, a, a + n - 1);
	else
		snprintf(buf, len, "%" PRIu64 "-%" PRIu64, a, a + n - 1);
}

const char *tool_json_bool(bool b)
{
	return b ? "true" : "false";
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

void tool_bdf(const struct uiommu_machine_func *f, char *buf)
{
	snprintf(buf, TOOL_BDF_LEN, "%04x:%02x:%02x.%u", f->host, f->bus,
		 f->devfn >> 3, f->devfn & 7);
}

/* ------------------------------------------------------- group walks */

#define MAX_GROUPS 64

struct group_walk {
	const struct info_ctx *c;
	info_group_fn fn;
	struct uiommu_group *seen[MAX_GROUPS];
	unsigned int nseen;
};

static int group_visit(void *opaque, const struct uiommu_machine_func *f)
{
	struct group_walk *w = opaque;
	struct uiommu_group *g;

	if (!f->iommu_dev)
		return 0;
	g = uiommu_device_group(f->iommu_dev);
	for (unsigned int i = 0; i < w->nseen; i++)
		if (w->seen[i] == g)
			return 0;	/* a group shows once, at its first function */
	if (w->nseen == MAX_GROUPS)
		return -E2BIG;
	w->seen[w->nseen++] = g;
	return w->fn(w->c, g, f, w->nseen - 1);
}

int info_for_each_group(const struct info_ctx *c, const char *view,
			info_group_fn fn)
{
	struct group_walk w = { .c = c, .fn = fn };
	struct uiommu_machine_info mi;
	int ret;

	uiommu_machine_get_info(c->m, &mi);
	if (c->json) {
		info_json_head(c, view);
		printf(",\n \"groups\": [");
	} else {
		printf("machine: %s (%s)\n", c->source, mi.model);
	}
	ret = uiommu_machine_for_each_function(c->m, group_visit, &w);
	if (c->json)
		printf("]}\n");
	else if (!ret && !w.nseen)
		printf("\nno IOMMU group: no function's DMA is translated "
		       "(DMA addresses are physical)\n");
	return ret;
}

/* "4K", "2M", "64K": a size in its largest exact unit (KiB and up). */
void tool_size_name(char *buf, size_t len, uint64_t bytes)
{
	static const char unit[] = "KMGT";
	unsigned int u = 0;

	bytes >>= 10;
	while (bytes >= 1024 && !(bytes & 1023) && u < 3) {
		bytes >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", bytes, unit[u]);
}
