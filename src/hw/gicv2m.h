/* SPDX-License-Identifier: MIT */
/*
 * GICv2m MSI frame: architectural register formats, shared by the model
 * (gicv2m.c), its tests and, later, its driver.
 *
 * Citations are to the GICv2m architecture as specified in the Arm Server
 * Base System Architecture (ARM DEN 0029), appendix "GICv2m", which the
 * Linux and QEMU implementations of GICv2m follow.
 */
#ifndef UIO_GICV2M_H
#define UIO_GICV2M_H

#include <stdint.h>

#include "bits.h"

/* DEN 0029, GICv2m: register map of a 4 KiB MSI frame */
enum {
	V2M_MSI_TYPER = 0x008,
	V2M_MSI_SETSPI_NS = 0x040,
	V2M_MSI_IIDR = 0xFCC,
};

/* DEN 0029, GICv2m: MSI_TYPER, the frame's SPIs */
UIO_FIELD(V2M_MSI_TYPER, NUMBER, 0, 10);	/* number of SPIs */
UIO_FIELD(V2M_MSI_TYPER, BASE, 16, 10);		/* first SPI INTID */

/* DEN 0029, GICv2m: MSI_SETSPI_NS, write-only; the data is the INTID of
 * the SPI to make pending; bits [31:10] are reserved */
UIO_FIELD(V2M_MSI_SETSPI, SPI, 0, 10);

/* DEN 0029, GICv2m: MSI_IIDR, laid out as the GICv2 GICD_IIDR */
UIO_FIELD(V2M_MSI_IIDR, IMPLEMENTER, 0, 12);
UIO_FIELD(V2M_MSI_IIDR, REVISION, 12, 4);
UIO_FIELD(V2M_MSI_IIDR, VARIANT, 16, 4);
UIO_FIELD(V2M_MSI_IIDR, PRODUCTID, 24, 8);

/* GICv2 SPIs are INTIDs 32..1019 (IHI 0048B, "Interrupt IDs"). */
#define V2M_FIRST_SPI 32u
#define V2M_SPI_LIMIT 1020u

#endif /* UIO_GICV2M_H */
