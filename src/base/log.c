// SPDX-License-Identifier: MIT
/* Logging through a replaceable callback, filtered by level. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static const char *const level_names[] = {
	[UIOMMU_LOG_ERR] = "error",
	[UIOMMU_LOG_WARN] = "warning",
	[UIOMMU_LOG_INFO] = "info",
	[UIOMMU_LOG_DEBUG] = "debug",
};

static void default_log(void *opaque, enum uiommu_log_level level,
			const char *subsys, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "uiommu: %s: %s: %s\n", subsys, level_names[level], msg);
}

static uiommu_log_fn log_fn = default_log;
static void *log_opaque;
static enum uiommu_log_level log_max = UIOMMU_LOG_WARN;

__attribute__((constructor)) static void log_init_from_env(void)
{
	const char *env = getenv("UIOMMU_LOG");
	unsigned int i;

	if (!env)
		return;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcasecmp(env, level_names[i]) ||
		    !strncasecmp(env, level_names[i], 3))
			log_max = (enum uiommu_log_level)i;
}

UIOMMU_API void uiommu_set_log_handler(uiommu_log_fn fn, void *opaque)
{
	log_fn = fn ? fn : default_log;
	log_opaque = fn ? opaque : NULL;
}

UIOMMU_API void uiommu_set_log_level(enum uiommu_log_level max)
{
	if (max > UIOMMU_LOG_DEBUG)
		max = UIOMMU_LOG_DEBUG;
	log_max = max;
}

bool uio_log_enabled(enum uiommu_log_level level)
{
	return level <= log_max;
}

static UIOMMU_PRINTF(4, 0) void log_va(enum uiommu_log_level level,
					const char *subsys, const char *prefix,
					const char *fmt, va_list ap)
{
	char msg[512];
	size_t plen = strlen(prefix);

	if (!uio_log_enabled(level))
		return;
	memcpy(msg, prefix, plen + 1);
	vsnprintf(msg + plen, sizeof(msg) - plen, fmt, ap);
	log_fn(log_opaque, level, subsys, msg);
}

void uio_log(enum uiommu_log_level level, const char *subsys,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, subsys, "", fmt, ap);
	va_end(ap);
}

void uio_guest_error(const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(UIOMMU_LOG_WARN, subsys, "guest error: ", fmt, ap);
	va_end(ap);
}

void uio_unimp(const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(UIOMMU_LOG_WARN, subsys, "unimplemented: ", fmt, ap);
	va_end(ap);
}

int uio_fail(int err, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(UIOMMU_LOG_ERR, subsys, "", fmt, ap);
	va_end(ap);
	return err;
}
