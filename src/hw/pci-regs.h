/* SPDX-License-Identifier: MIT */
/*
 * Architectural layout of PCI configuration space: the type-0 header, the
 * Command and Status registers, memory BARs, the capability list, and the
 * MSI and MSI-X capabilities and table.  Declared once here for both the
 * models (src/hw/pci-*.c) and the OS-side PCI core (src/drivers/pci-core.c).
 */
#ifndef UIO_PCI_REGS_H
#define UIO_PCI_REGS_H

#include "bits.h"

#define PCI_CFG_SIZE	4096	/* PCIe 6.0, 7.2.2: 4 KiB per function (ECAM) */
#define PCI_NUM_BARS	6

/* Type 0 header offsets (PCI 3.0, 6.1; PCIe 6.0, 7.5.1.1 and 7.5.1.2) */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_CAP_START		0x40	/* first byte after the header */
#define PCI_CAP_END		0x100	/* capabilities live below this */

/* Header Type (PCIe 6.0, 7.5.1.1.9) */
UIO_FIELD(PCI_HDR, LAYOUT, 0, 7);	/* 0: type 0, 1: type 1 (bridge) */
UIO_FIELD(PCI_HDR, MULTI, 7, 1);	/* Multi-Function Device */

/* Command register (PCIe 6.0, 7.5.1.1.3) */
UIO_FIELD(PCI_CMD, IO, 0, 1);		/* I/O Space Enable */
UIO_FIELD(PCI_CMD, MEM, 1, 1);		/* Memory Space Enable */
UIO_FIELD(PCI_CMD, MASTER, 2, 1);	/* Bus Master Enable */
UIO_FIELD(PCI_CMD, PARITY, 6, 1);	/* Parity Error Response */
UIO_FIELD(PCI_CMD, SERR, 8, 1);		/* SERR# Enable */
UIO_FIELD(PCI_CMD, INTX_DISABLE, 10, 1); /* Interrupt Disable */

/* Status register (PCIe 6.0, 7.5.1.1.4); bits 8 and 11..15 are RW1C */
UIO_FIELD(PCI_STS, CAP_LIST, 4, 1);	/* Capabilities List (RO 1) */
UIO_FIELD(PCI_STS, MDPE, 8, 1);		/* Master Data Parity Error */
UIO_FIELD(PCI_STS, ERRORS, 11, 5);	/* Sig/Rcv Target Abort .. Det Parity */

/* Memory BAR (PCI 3.0, 6.2.5.1; PCIe 6.0, 7.5.1.2.1) */
UIO_FIELD(PCI_BAR, SPACE, 0, 1);	/* Memory Space Indicator: 0 memory */
UIO_FIELD(PCI_BAR, TYPE, 1, 2);		/* 00 32-bit, 10 64-bit */
UIO_FIELD(PCI_BAR, PREFETCH, 3, 1);	/* Prefetchable */
UIO_FIELD(PCI_BAR, ADDR, 4, 28);	/* Base Address [31:4] */
#define PCI_BAR_TYPE_64 2

/* Capability header (PCI 3.0, 6.7; PCIe 6.0, 7.5.3) */
#define PCI_CAP_ID		0
#define PCI_CAP_NEXT		1
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_EXP		0x10

/* PCI Express Capability (PCIe 6.0, 7.5.3); version 2 layout */
#define PCI_EXP_FLAGS		2	/* PCI Express Capabilities Register */
#define PCI_EXP_DEVCAP		4	/* Device Capabilities */
#define PCI_EXP_DEVCTL		8	/* Device Control */
#define PCI_EXP_DEVSTA		10	/* Device Status */
#define PCI_EXP_CAP_SIZE	0x3c
/* PCI Express Capabilities Register (PCIe 6.0, 7.5.3.2) */
UIO_FIELD(PCI_EXP_FLAGS, VERS, 0, 4);	/* Capability Version: 2 */
UIO_FIELD(PCI_EXP_FLAGS, TYPE, 4, 4);	/* Device/Port Type */
#define PCI_EXP_TYPE_ENDPOINT	0x0	/* PCI Express Endpoint */
#define PCI_EXP_TYPE_RC_END	0x9	/* Root Complex Integrated Endpoint */
/* Device Control (PCIe 6.0, 7.5.3.4): [14:0] RW, [15] Initiate FLR */
#define PCI_EXP_DEVCTL_RW	0x7fff
/* Device Status (PCIe 6.0, 7.5.3.5): error detected bits are RW1C */
#define PCI_EXP_DEVSTA_W1C	0x000f

/* Extended Capability header (PCIe 6.0, 7.6.3) */
#define PCI_EXT_CAP_START	0x100
UIO_FIELD(PCI_EXT_CAP, ID, 0, 16);
UIO_FIELD(PCI_EXT_CAP, VER, 16, 4);
UIO_FIELD(PCI_EXT_CAP, NEXT, 20, 12);
#define PCI_EXT_CAP_ID_ACS	0x000d

/* ACS Extended Capability (PCIe 6.0, 7.7, "ACS Extended Capability") */
#define PCI_ACS_CAP		4	/* ACS Capability Register, 16 bits */
#define PCI_ACS_CTRL		6	/* ACS Control Register, 16 bits */
#define PCI_ACS_SIZE		8	/* without an Egress Control Vector */
UIO_FIELD(PCI_ACS, SV, 0, 1);		/* Source Validation */
UIO_FIELD(PCI_ACS, TB, 1, 1);		/* Translation Blocking */
UIO_FIELD(PCI_ACS, RR, 2, 1);		/* P2P Request Redirect */
UIO_FIELD(PCI_ACS, CR, 3, 1);		/* P2P Completion Redirect */
UIO_FIELD(PCI_ACS, UF, 4, 1);		/* Upstream Forwarding */
UIO_FIELD(PCI_ACS, EC, 5, 1);		/* P2P Egress Control */
UIO_FIELD(PCI_ACS, DT, 6, 1);		/* Direct Translated P2P */
#define PCI_ACS_ALL		0x7f

/*
 * MSI capability (PCI 3.0, 6.8.1; PCIe 6.0, 7.7.1).  Offsets from the
 * capability; with the 64-bit address the data/mask/pending move by 4.
 */
#define PCI_MSI_FLAGS		2	/* Message Control */
#define PCI_MSI_ADDR_LO		4	/* Message Address [31:2] */
#define PCI_MSI_ADDR_HI		8	/* Message Upper Address (64-bit) */
#define PCI_MSI_DATA_32		8
#define PCI_MSI_DATA_64		12
#define PCI_MSI_MASK_32		12	/* Mask Bits (per-vector masking) */
#define PCI_MSI_MASK_64		16
#define PCI_MSI_PENDING_32	16	/* Pending Bits */
#define PCI_MSI_PENDING_64	20
/* Message Control (PCIe 6.0, 7.7.1.2) */
UIO_FIELD(PCI_MSI_CTL, ENABLE, 0, 1);	/* MSI Enable */
UIO_FIELD(PCI_MSI_CTL, MMC, 1, 3);	/* Multiple Message Capable, log2 */
UIO_FIELD(PCI_MSI_CTL, MME, 4, 3);	/* Multiple Message Enable, log2 */
UIO_FIELD(PCI_MSI_CTL, ADDR64, 7, 1);	/* 64 bit Address Capable */
UIO_FIELD(PCI_MSI_CTL, PVM, 8, 1);	/* Per-Vector Masking Capable */
/* Message Address [1:0] are reserved zero (PCIe 6.0, 7.7.1.3) */
UIO_FIELD(PCI_MSI_ADDR, LO, 2, 30);

/* MSI-X capability (PCI 3.0, 6.8.2; PCIe 6.0, 7.7.2) */
#define PCI_MSIX_FLAGS		2	/* Message Control */
#define PCI_MSIX_TABLE		4	/* Table Offset / Table BIR */
#define PCI_MSIX_PBA		8	/* PBA Offset / PBA BIR */
#define PCI_MSIX_CAP_SIZE	12
/* Message Control (PCIe 6.0, 7.7.2.2) */
UIO_FIELD(PCI_MSIX_CTL, QSIZE, 0, 11);	/* Table Size, N - 1 */
UIO_FIELD(PCI_MSIX_CTL, MASKALL, 14, 1); /* Function Mask */
UIO_FIELD(PCI_MSIX_CTL, ENABLE, 15, 1);	/* MSI-X Enable */
/* Table / PBA Offset and BIR (PCIe 6.0, 7.7.2.3 and 7.7.2.4) */
UIO_FIELD(PCI_MSIX_LOC, BIR, 0, 3);
UIO_FIELD(PCI_MSIX_LOC, OFFSET, 3, 29);
/* Table entry: 4 DWORDs (PCIe 6.0, 7.7.2.5 - 7.7.2.8) */
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_ENTRY_ADDR_LO	0	/* Message Address, [1:0] zero */
#define PCI_MSIX_ENTRY_ADDR_HI	1	/* Message Upper Address */
#define PCI_MSIX_ENTRY_DATA	2	/* Message Data */
#define PCI_MSIX_ENTRY_CTRL	3	/* Vector Control */
UIO_FIELD(PCI_MSIX_VCTL, MASK, 0, 1);	/* Mask Bit, 1 after reset */

#endif /* UIO_PCI_REGS_H */
