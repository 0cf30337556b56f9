// SPDX-License-Identifier: MIT
/* Lookup of the built-in machines' device trees (see builtin.h). */
#include <string.h>

#include "builtin.h"

const struct uio_builtin_dtb *uio_builtin_dtb_find(const char *name)
{
	const struct uio_builtin_dtb *d;

	for (d = uio_builtin_dtbs; d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}
