/* SPDX-License-Identifier: MIT */
/*
 * uiommu base: what every other public header relies on.
 *
 * - export and attribute macros (UIOMMU_API, UIOMMU_MUST_CHECK);
 * - the error convention: functions return 0 or a negative errno, results go
 *   through out-parameters, and uiommu_strerror() names the code;
 * - logging through a replaceable callback with levels;
 * - the allocation hook through which every allocation of the library goes
 *   (tests replace it to fail the Nth allocation);
 * - trace events, enabled by glob from UIOMMU_TRACE or uiommu_trace_enable().
 */
#ifndef UIOMMU_BASE_H
#define UIOMMU_BASE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef UIOMMU_BUILDING
#define UIOMMU_API __attribute__((visibility("default")))
#else
#define UIOMMU_API
#endif

/* On every int-returning API function: ignoring an errno is a bug. */
#define UIOMMU_MUST_CHECK __attribute__((warn_unused_result))

#define UIOMMU_PRINTF(fmt_idx, arg_idx) \
	__attribute__((format(printf, fmt_idx, arg_idx)))

/**
 * uiommu_strerror() - describe an error code returned by the library
 * @err: a negative errno as returned by a uiommu function (a positive errno
 *       is accepted too)
 *
 * Return: a static, human-readable string; never NULL. Thread-safe.
 */
UIOMMU_API const char *uiommu_strerror(int err);

/* ---------------------------------------------------------------- logging */

enum uiommu_log_level {
	UIOMMU_LOG_ERR = 0,	/* an operation failed */
	UIOMMU_LOG_WARN,	/* suspicious input, e.g. a guest misprogramming */
	UIOMMU_LOG_INFO,	/* lifecycle: probe, attach, enable */
	UIOMMU_LOG_DEBUG,	/* chatty details */
};

/**
 * typedef uiommu_log_fn - receives one formatted log message
 * @opaque: the pointer given to uiommu_set_log_handler()
 * @level:  severity
 * @subsys: short name of the emitting module ("iova", "smmuv3", ...)
 * @msg:    the message, without a trailing newline
 */
typedef void (*uiommu_log_fn)(void *opaque, enum uiommu_log_level level,
			      const char *subsys, const char *msg);

/**
 * uiommu_set_log_handler() - route log messages to @fn
 * @fn:     the handler, or NULL to restore the default (stderr)
 * @opaque: passed back to @fn
 *
 * Not thread-safe with respect to concurrent logging: call it at start-up
 * or while no other thread uses the library.
 */
UIOMMU_API void uiommu_set_log_handler(uiommu_log_fn fn, void *opaque);

/**
 * uiommu_set_log_level() - drop messages less severe than @max
 * @max: the least severe level still delivered (default UIOMMU_LOG_WARN,
 *       or the value of the UIOMMU_LOG environment variable: err, warn,
 *       info or debug)
 */
UIOMMU_API void uiommu_set_log_level(enum uiommu_log_level max);

/* ------------------------------------------------------------- allocation */

/**
 * struct uiommu_allocator - the allocation hook
 * @alloc:  return @size bytes aligned to @align (a power of two, at least
 *          sizeof(void *)), zero-filled, or NULL on failure
 * @free:   release a block from @alloc; @size and @align are those it was
 *          allocated with
 * @opaque: passed to both
 *
 * Every allocation the library makes, including the host memory behind
 * emulated RAM, goes through the installed allocator.
 */
struct uiommu_allocator {
	void *(*alloc)(void *opaque, size_t size, size_t align);
	void (*free)(void *opaque, void *ptr, size_t size, size_t align);
	void *opaque;
};

/**
 * uiommu_set_allocator() - install an allocation hook
 * @a: the hook (copied), or NULL to restore the default
 *
 * Install it before creating any object: an object must be freed by the
 * allocator that allocated it. Not thread-safe.
 */
UIOMMU_API void uiommu_set_allocator(const struct uiommu_allocator *a);

/**
 * uiommu_default_allocator() - the built-in allocator
 *
 * Return: the default hook (calloc/posix_memalign, anonymous mmap for large
 * blocks), for wrappers that count or fail allocations and delegate the rest.
 */
UIOMMU_API const struct uiommu_allocator *uiommu_default_allocator(void);

/* ------------------------------------------------------------------ trace */

/**
 * typedef uiommu_trace_fn - receives one trace record
 * @opaque: the pointer given to uiommu_set_trace_handler()
 * @event:  the event's name, e.g. "iova_alloc"
 * @text:   its formatted arguments (addresses in hex)
 */
typedef void (*uiommu_trace_fn)(void *opaque, const char *event,
				const char *text);

/**
 * uiommu_trace_enable() - enable the trace events matching a glob
 * @glob: an fnmatch(3) pattern such as "iova_*"; several patterns may be
 *        separated by commas
 *
 * The environment variable UIOMMU_TRACE is applied the same way when the
 * library is loaded.
 *
 * Return: the number of events newly or already enabled by @glob (>= 0), or
 * -EINVAL if @glob is NULL or empty, -ENOENT if it matches no event.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_trace_enable(const char *glob);

/**
 * uiommu_trace_disable() - disable the trace events matching a glob
 * @glob: as for uiommu_trace_enable(); "*" disables everything
 *
 * Return: the number of events matched (>= 0), -EINVAL for a NULL or empty
 * @glob, -ENOENT if it matches no event.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_trace_disable(const char *glob);

/**
 * uiommu_set_trace_handler() - route trace records to @fn
 * @fn:     the handler, or NULL to restore the default (one line on stderr)
 * @opaque: passed back to @fn
 */
UIOMMU_API void uiommu_set_trace_handler(uiommu_trace_fn fn, void *opaque);

/**
 * uiommu_trace_event_name() - enumerate trace events
 * @index: 0, 1, 2, ...
 * @enabled: if not NULL, set to whether the event is enabled
 *
 * Return: the name of event @index, or NULL past the last event.
 */
UIOMMU_API const char *uiommu_trace_event_name(unsigned int index,
					       bool *enabled);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_BASE_H */
