/* SPDX-License-Identifier: MIT */
/*
 * The built-in machines: device trees compiled from src/machine/dts/ at
 * build time and embedded in the library.
 *   virt          GICv3 + ITS, SMMUv3, ECAM PCIe (QEMU virt layout)
 *   virt-gicv2m   GICv2 + v2m frame instead of the ITS (MSIs not isolated)
 *   virt-noiommu  GICv3 + ITS, no IOMMU
 */
#ifndef UIO_MACHINE_BUILTIN_H
#define UIO_MACHINE_BUILTIN_H

#include <stddef.h>

struct uio_builtin_dtb {
	const char *name;
	const unsigned char *blob;
	size_t size;
};

/* Terminated by an entry whose name is NULL. */
extern const struct uio_builtin_dtb uio_builtin_dtbs[];

/**
 * uio_builtin_dtb_find() - look up a built-in machine by name
 * @name: "virt", "virt-gicv2m" or "virt-noiommu"
 *
 * Return: the entry, or NULL if there is no machine of that name.
 */
const struct uio_builtin_dtb *uio_builtin_dtb_find(const char *name);

#endif /* UIO_MACHINE_BUILTIN_H */
