/* SPDX-License-Identifier: MIT */
/*
 * Trace events: declared once in trace-events.h, each becomes an enum id and
 * an inline trace_<name>(...) whose disabled cost is one relaxed load and a
 * predictable branch.  Formatting happens only when the event is enabled.
 */
#ifndef UIO_TRACE_H
#define UIO_TRACE_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uiommu/base.h>

#include "bits.h"

enum uio_trace_id {
#define UIO_TRACE_EVENT(name, proto, args, fmt) UIO_TRACE_##name,
#include "trace-events.h"
#undef UIO_TRACE_EVENT
	UIO_TRACE__COUNT
};

/* Hidden: the library's own code reads it with one RIP-relative load
 * instead of first loading its address from the GOT. */
extern unsigned char uio_trace_on[UIO_TRACE__COUNT]
	__attribute__((visibility("hidden")));

void uio_trace_emit(enum uio_trace_id id, const char *fmt, ...)
	UIOMMU_PRINTF(2, 3);

#define UIO_TRACE_UNPACK(...) __VA_ARGS__

#define UIO_TRACE_EVENT(name, proto, args, fmt)                          \
	static inline bool trace_##name##_enabled(void)                  \
	{                                                                \
		return uio_unlikely(__atomic_load_n(                     \
			&uio_trace_on[UIO_TRACE_##name], __ATOMIC_RELAXED)); \
	}                                                                \
	static inline void trace_##name proto                            \
	{                                                                \
		if (trace_##name##_enabled())                            \
			uio_trace_emit(UIO_TRACE_##name, fmt,            \
				       UIO_TRACE_UNPACK args);           \
	}
#include "trace-events.h"
#undef UIO_TRACE_EVENT

#endif /* UIO_TRACE_H */
