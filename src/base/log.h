/* SPDX-License-Identifier: MIT */
/*
 * Internal logging.  Each module logs under a short subsystem name.  Guest
 * (or caller) misprogramming is logged with uio_guest_error() so that it is
 * told apart from the library's own failures, as QEMU's LOG_GUEST_ERROR is.
 */
#ifndef UIO_LOG_H
#define UIO_LOG_H

#include <uiommu/base.h>

bool uio_log_enabled(enum uiommu_log_level level);
void uio_log(enum uiommu_log_level level, const char *subsys,
	     const char *fmt, ...) UIOMMU_PRINTF(3, 4);

#define uio_err(subsys, ...)   uio_log(UIOMMU_LOG_ERR, (subsys), __VA_ARGS__)
#define uio_warn(subsys, ...)  uio_log(UIOMMU_LOG_WARN, (subsys), __VA_ARGS__)
#define uio_info(subsys, ...)  uio_log(UIOMMU_LOG_INFO, (subsys), __VA_ARGS__)
#define uio_debug(subsys, ...) uio_log(UIOMMU_LOG_DEBUG, (subsys), __VA_ARGS__)

/* A structure or register value programmed by the guest/driver is invalid. */
void uio_guest_error(const char *subsys, const char *fmt, ...)
	UIOMMU_PRINTF(2, 3);
/* The guest used a feature the model does not implement. */
void uio_unimp(const char *subsys, const char *fmt, ...) UIOMMU_PRINTF(2, 3);

/*
 * Log @err with a message and return it, so that a failure path is one
 * statement: return uio_fail(-EINVAL, "iova", "size 0x%lx", size);
 */
int uio_fail(int err, const char *subsys, const char *fmt, ...)
	UIOMMU_PRINTF(3, 4);

#endif /* UIO_LOG_H */
