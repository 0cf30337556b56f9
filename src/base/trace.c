// SPDX-License-Identifier: MIT
/* Trace event registry: glob enabling, the UIOMMU_TRACE variable, output. */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "trace.h"

unsigned char uio_trace_on[UIO_TRACE__COUNT];

static const char *const trace_names[UIO_TRACE__COUNT] = {
#define UIO_TRACE_EVENT(name, proto, args, fmt) [UIO_TRACE_##name] = #name,
#include "trace-events.h"
#undef UIO_TRACE_EVENT
};

static void default_trace(void *opaque, const char *event, const char *text)
{
	(void)opaque;
	fprintf(stderr, "trace: %s %s\n", event, text);
}

static uiommu_trace_fn trace_fn = default_trace;
static void *trace_opaque;

UIOMMU_API void uiommu_set_trace_handler(uiommu_trace_fn fn, void *opaque)
{
	trace_fn = fn ? fn : default_trace;
	trace_opaque = fn ? opaque : NULL;
}

void uio_trace_emit(enum uio_trace_id id, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	trace_fn(trace_opaque, trace_names[id], text);
}

/* Apply one comma-separated list of patterns; return events matched. */
static int trace_set(const char *globs, unsigned char on)
{
	char pattern[128];
	const char *p = globs;
	int matched = 0;

	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned int i;

		if (len == 0 || len >= sizeof(pattern)) {
			p += len + (p[len] == ',');
			continue;
		}
		memcpy(pattern, p, len);
		pattern[len] = '\0';
		for (i = 0; i < UIO_TRACE__COUNT; i++) {
			if (fnmatch(pattern, trace_names[i], 0) == 0) {
				__atomic_store_n(&uio_trace_on[i], on,
						 __ATOMIC_RELAXED);
				matched++;
			}
		}
		p += len + (p[len] == ',');
	}
	return matched;
}

static int trace_set_checked(const char *glob, unsigned char on)
{
	int matched;

	if (!glob || !*glob)
		return -EINVAL;
	matched = trace_set(glob, on);
	return matched ? matched : -ENOENT;
}

UIOMMU_API int uiommu_trace_enable(const char *glob)
{
	return trace_set_checked(glob, 1);
}

UIOMMU_API int uiommu_trace_disable(const char *glob)
{
	return trace_set_checked(glob, 0);
}

UIOMMU_API const char *uiommu_trace_event_name(unsigned int index,
					       bool *enabled)
{
	if (index >= UIO_TRACE__COUNT)
		return NULL;
	if (enabled)
		*enabled = __atomic_load_n(&uio_trace_on[index],
					   __ATOMIC_RELAXED);
	return trace_names[index];
}

__attribute__((constructor)) static void trace_init_from_env(void)
{
	const char *env = getenv("UIOMMU_TRACE");

	if (env && *env && trace_set(env, 1) == 0)
		uio_warn("trace", "UIOMMU_TRACE=%s matches no trace event", env);
}
