// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a whole machine from a DTB.  Inputs that parse are built,
 * realized (PCI enumerated, IDs mapped), checked and torn down; any failure
 * must be an errno with a reason and leave nothing behind; never a crash.
 * Descriptions with more than 2 GiB of RAM are skipped (host memory, not
 * the code under test, would be what is exercised).
 */
#include <stdint.h>
#include <string.h>

#include <uiommu/base.h>
#include <uiommu/machine.h>

#include "alloc.h"
#include "fuzzutil.h"
#include "dt.h"

#define RAM_LIMIT (UINT64_C(2) << 30)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uio_dt_machine d;
	struct uiommu_machine_opts o = { 0 };
	struct uiommu_machine *m = NULL;
	uint64_t ram = 0;
	char err[256];
	void *copy;
	int ret;

	uiommu_set_log_handler(fuzz_quiet_log, NULL);
	copy = uio_alloc_aligned(size ? size : 1, 8);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (uio_dt_parse(copy, size, &d, NULL, 0))
		goto out;
	for (unsigned int i = 0; i < d.nmem; i++)
		ram += d.mem[i].size;
	if (ram > RAM_LIMIT)
		goto out;
	o.dtb = copy;
	o.dtb_size = size;
	o.err = err;
	o.errlen = sizeof(err);
	ret = uiommu_machine_create(&o, &m);
	if (ret && err[0] == '\0')
		__builtin_trap();	/* every failure must explain itself */
	if (!ret) {
		if (uiommu_machine_check(m))
			__builtin_trap();
		uiommu_machine_destroy(m);
	}
out:
	uio_free_aligned(copy, size ? size : 1, 8);
	return 0;
}
