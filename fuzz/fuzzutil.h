/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets. */
#ifndef UIOMMU_FUZZUTIL_H
#define UIOMMU_FUZZUTIL_H

#include <uiommu/base.h>

/* Fuzz inputs are malformed on purpose: keep their error logs quiet. */
static inline void fuzz_quiet_log(void *opaque, enum uiommu_log_level level,
				  const char *subsys, const char *msg)
{
	(void)opaque;
	(void)level;
	(void)subsys;
	(void)msg;
}

#endif /* UIOMMU_FUZZUTIL_H */
