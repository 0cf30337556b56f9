// SPDX-License-Identifier: MIT
/* uiommu_strerror(): the library's own wording for the errnos it returns. */
#include <string.h>

#include <uiommu/base.h>

#include "bits.h"

struct errno_text {
	int err;
	const char *text;
};

static const struct errno_text errno_texts[] = {
	{ 0, "success" },
	{ EINVAL, "invalid argument" },
	{ ENOMEM, "out of memory" },
	{ ENOSPC, "no space left in the address range" },
	{ EEXIST, "already exists or overlaps an existing object" },
	{ ERANGE, "address or size out of range" },
	{ EBUSY, "in use" },
	{ ENOENT, "no such object" },
	{ EPERM, "operation not permitted (isolation)" },
	{ EFAULT, "bus error: no region at that physical address" },
	{ EIO, "I/O error (translation fault or device error)" },
	{ ENODEV, "no such device" },
	{ ENOTTY, "unknown request" },
	{ EOPNOTSUPP, "not supported" },
	{ ETIMEDOUT, "timed out waiting for the hardware" },
	{ EOVERFLOW, "value too large" },
	{ EAGAIN, "try again" },
	{ E2BIG, "too many" },
	{ EBADF, "bad file descriptor" },
	{ EUCLEAN, "structure invariant violated" },
	{ EACCES, "permission denied by the translation" },
};

UIOMMU_API const char *uiommu_strerror(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < UIO_ARRAY_SIZE(errno_texts); i++)
		if (errno_texts[i].err == err)
			return errno_texts[i].text;
	return "unknown error";
}
