// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the device-tree front end of the machine layer.  Any input
 * must either parse into a description or fail with an errno and a message;
 * never crash, hang or leak.
 */
#include <stdint.h>
#include <string.h>

#include <uiommu/base.h>

#include "alloc.h"
#include "fuzzutil.h"
#include "dt.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uio_dt_machine m;
	char err[256];
	void *copy;
	int ret;

	uiommu_set_log_handler(fuzz_quiet_log, NULL);
	/* libfdt wants an aligned blob. */
	copy = uio_alloc_aligned(size ? size : 1, 8);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ret = uio_dt_parse(copy, size, &m, err, sizeof(err));
	if (ret && err[0] == '\0')
		__builtin_trap();	/* every failure must explain itself */
	uio_free_aligned(copy, size ? size : 1, 8);
	return 0;
}
