/* SPDX-License-Identifier: MIT */
/*
 * GICv3 ITS: architectural register, command and table formats, shared by
 * the model (gic-its.c), its tests, its fuzz target and, later, its driver.
 *
 * Citations are to the Arm GIC architecture specification, IHI 0069H.b.
 * Chapter numbers move between issues of that document, so each citation
 * names the register or command description it comes from ("GITS_TYPER",
 * "ITS commands: MAPD").
 */
#ifndef UIO_GIC_ITS_H
#define UIO_GIC_ITS_H

#include <stdint.h>

#include "bits.h"

/* --------------------------------------------------------- control frame */

/* Register offsets in the ITS control frame (IHI 0069H.b, "The GIC ITS
 * register map"); GITS_TRANSLATER is in the translation frame. */
enum {
	GITS_CTLR = 0x0000,
	GITS_IIDR = 0x0004,
	GITS_TYPER = 0x0008,
	GITS_CBASER = 0x0080,
	GITS_CWRITER = 0x0088,
	GITS_CREADR = 0x0090,
	GITS_BASER0 = 0x0100,	/* GITS_BASER<n> at 0x0100 + 8n, n = 0..7 */
	GITS_PIDR2 = 0xFFE8,
	GITS_TRANSLATER_OFF = 0x0040,	/* in the translation frame */
};
#define GITS_NR_BASER 8

/* IHI 0069H.b, GITS_CTLR, ITS Control Register */
UIO_FIELD(GITS_CTLR, ENABLED, 0, 1);
UIO_FIELD(GITS_CTLR, QUIESCENT, 31, 1);

/* IHI 0069H.b, GITS_IIDR, ITS Identification Register */
UIO_FIELD(GITS_IIDR, IMPLEMENTER, 0, 12);
UIO_FIELD(GITS_IIDR, REVISION, 12, 4);
UIO_FIELD(GITS_IIDR, VARIANT, 16, 4);
UIO_FIELD(GITS_IIDR, PRODUCTID, 24, 8);

/* IHI 0069H.b, GITS_TYPER, ITS Type Register */
UIO_FIELD(GITS_TYPER, PHYSICAL, 0, 1);
UIO_FIELD(GITS_TYPER, VIRTUAL, 1, 1);
UIO_FIELD(GITS_TYPER, CCT, 2, 1);
UIO_FIELD(GITS_TYPER, ITT_ENTRY_SIZE, 4, 4);	/* bytes - 1 */
UIO_FIELD(GITS_TYPER, IDBITS, 8, 5);		/* EventID bits - 1 */
UIO_FIELD(GITS_TYPER, DEVBITS, 13, 5);		/* DeviceID bits - 1 */
UIO_FIELD(GITS_TYPER, SEIS, 18, 1);
UIO_FIELD(GITS_TYPER, PTA, 19, 1);
UIO_FIELD(GITS_TYPER, HCC, 24, 8);
UIO_FIELD(GITS_TYPER, CIDBITS, 32, 4);		/* collection ID bits - 1 */
UIO_FIELD(GITS_TYPER, CIL, 36, 1);

/* IHI 0069H.b, GITS_CBASER, ITS Command Queue Descriptor */
UIO_FIELD(GITS_CBASER, SIZE, 0, 8);		/* 4 KiB pages - 1 */
UIO_FIELD(GITS_CBASER, SHAREABILITY, 10, 2);
UIO_FIELD(GITS_CBASER, PA, 12, 40);		/* PA[51:12] */
UIO_FIELD(GITS_CBASER, OUTERCACHE, 53, 3);
UIO_FIELD(GITS_CBASER, INNERCACHE, 59, 3);
UIO_FIELD(GITS_CBASER, VALID, 63, 1);

/* IHI 0069H.b, GITS_CWRITER, ITS Write Register */
UIO_FIELD(GITS_CWRITER, RETRY, 0, 1);
UIO_FIELD(GITS_CWRITER, OFFSET, 5, 15);		/* offset[19:5] */

/* IHI 0069H.b, GITS_CREADR, ITS Read Register */
UIO_FIELD(GITS_CREADR, STALLED, 0, 1);
UIO_FIELD(GITS_CREADR, OFFSET, 5, 15);

/* IHI 0069H.b, GITS_BASER<n>, ITS Translation Table Descriptors */
UIO_FIELD(GITS_BASER, SIZE, 0, 8);		/* pages - 1 */
UIO_FIELD(GITS_BASER, PAGE_SIZE, 8, 2);		/* 0 4K, 1 16K, 2 64K */
UIO_FIELD(GITS_BASER, SHAREABILITY, 10, 2);
UIO_FIELD(GITS_BASER, PA, 12, 36);		/* PA[47:12] */
UIO_FIELD(GITS_BASER, PA_HI64K, 12, 4);		/* 64K pages: PA[51:48] */
UIO_FIELD(GITS_BASER, ENTRY_SIZE, 48, 5);	/* bytes - 1, read-only */
UIO_FIELD(GITS_BASER, OUTERCACHE, 53, 3);
UIO_FIELD(GITS_BASER, TYPE, 56, 3);		/* read-only */
UIO_FIELD(GITS_BASER, INNERCACHE, 59, 3);
UIO_FIELD(GITS_BASER, INDIRECT, 62, 1);
UIO_FIELD(GITS_BASER, VALID, 63, 1);

/* IHI 0069H.b, GITS_BASER<n>.Type encodings */
enum {
	GITS_BASER_TYPE_NONE = 0,
	GITS_BASER_TYPE_DEVICE = 1,
	GITS_BASER_TYPE_VPE = 2,
	GITS_BASER_TYPE_COLLECTION = 4,
};
/* IHI 0069H.b, GITS_BASER<n>.Page_Size encodings */
enum {
	GITS_PAGE_4K = 0,
	GITS_PAGE_16K = 1,
	GITS_PAGE_64K = 2,
};

/* IHI 0069H.b, GITS_BASER<n>, Indirect == 1: the level 1 table entry
 * (8 bytes) holds Valid and the address of one level 2 page. */
UIO_FIELD(GITS_L1E, PA, 12, 40);		/* PA[51:12] of the L2 page */
UIO_FIELD(GITS_L1E, VALID, 63, 1);
#define GITS_L1E_SIZE 8u

/* IHI 0069H.b, GITS_PIDR2, Peripheral ID2 Register */
UIO_FIELD(GITS_PIDR2, DES_1, 0, 3);
UIO_FIELD(GITS_PIDR2, JEDEC, 3, 1);
UIO_FIELD(GITS_PIDR2, ARCHREV, 4, 4);		/* 0x3: GICv3 */

/* ---------------------------------------------------------- ITS commands */

/* IHI 0069H.b, ITS commands: 32-byte commands, four little-endian
 * doublewords; the command number is DW0[7:0]. */
#define GITS_CMD_SIZE 32u
enum {
	GITS_CMD_MOVI = 0x01,
	GITS_CMD_INT = 0x03,
	GITS_CMD_CLEAR = 0x04,
	GITS_CMD_SYNC = 0x05,
	GITS_CMD_MAPD = 0x08,
	GITS_CMD_MAPC = 0x09,
	GITS_CMD_MAPTI = 0x0A,
	GITS_CMD_MAPI = 0x0B,
	GITS_CMD_INV = 0x0C,
	GITS_CMD_INVALL = 0x0D,
	GITS_CMD_MOVALL = 0x0E,
	GITS_CMD_DISCARD = 0x0F,
};

/* IHI 0069H.b, ITS commands (MAPD, MAPTI, INT, ...): DW0 */
UIO_FIELD(GITS_CMD0, CMD, 0, 8);
UIO_FIELD(GITS_CMD0, DEVICEID, 32, 32);
/* DW1: EventID (MAPTI, MAPI, MOVI, DISCARD, INT, CLEAR, INV),
 * pINTID (MAPTI), Size = EventID bits - 1 (MAPD) */
UIO_FIELD(GITS_CMD1, EVENTID, 0, 32);
UIO_FIELD(GITS_CMD1, PINTID, 32, 32);
UIO_FIELD(GITS_CMD1, SIZE, 0, 5);
/* DW2: ICID (MAPC, MAPTI, MAPI, MOVI, INVALL), RDbase (MAPC, SYNC,
 * MOVALL RDbase1), ITT_addr[51:8] (MAPD), V (MAPD, MAPC) */
UIO_FIELD(GITS_CMD2, ICID, 0, 16);
UIO_FIELD(GITS_CMD2, RDBASE, 16, 35);
UIO_FIELD(GITS_CMD2, ITT_ADDR, 8, 44);
UIO_FIELD(GITS_CMD2, VALID, 63, 1);
/* DW3: RDbase2 (MOVALL) */
UIO_FIELD(GITS_CMD3, RDBASE2, 16, 35);

/*
 * IHI 0069H.b, "ITS command error encodings": 0x01 in [23:16], the command
 * in [15:8] and the reason in [7:0].  The table lists CLEAR's errors under
 * 0x05, not under its command number 0x04; the model reports them as listed.
 */
enum {
	GITS_ERR_DEVICE_OOR = 0x01,
	GITS_ERR_ITTSIZE_OOR = 0x02,		/* MAPD */
	GITS_ERR_PROCNUM_OOR_MAPC = 0x02,	/* MAPC */
	GITS_ERR_COLLECTION_OOR = 0x03,
	GITS_ERR_UNMAPPED_DEVICE = 0x04,
	GITS_ERR_ID_OOR = 0x05,
	GITS_ERR_PHYSICALID_OOR = 0x06,
	GITS_ERR_UNMAPPED_INTERRUPT = 0x07,
	GITS_ERR_UNMAPPED_COLLECTION = 0x09,
	GITS_ERR_PROCNUM_OOR_MOVALL = 0x01,	/* MOVALL */
};
#define GITS_ERR_CODE(cmd, reason) \
	(0x010000u | ((uint32_t)(cmd) << 8) | (uint32_t)(reason))
#define GITS_ERR_CLEAR_CODE 0x05u

/* ------------------------------------------- in-memory table entries */

/*
 * The architecture leaves the format of device table, collection table and
 * ITT entries IMPLEMENTATION DEFINED (IHI 0069H.b, "The ITS tables"): only
 * their sizes are visible (GITS_BASER<n>.Entry_Size, GITS_TYPER.
 * ITT_entry_size) and software must not read or write them.  This model
 * uses 8-byte entries, little-endian, each written with one 8-byte store:
 *
 * device table entry:      [63] Valid, [51:8] ITT address[51:8],
 *                          [4:0] ITT size = EventID bits - 1
 * collection table entry:  [63] Valid, [34:0] target RDbase (PTA == 0:
 *                          the processor number)
 * ITT entry:               [63] Valid, [47:32] ICID, [31:0] pINTID
 */
#define GITS_DTE_SIZE 8u
#define GITS_CTE_SIZE 8u
#define GITS_ITE_SIZE 8u
UIO_FIELD(GITS_DTE, SIZE, 0, 5);
UIO_FIELD(GITS_DTE, ITT_ADDR, 8, 44);
UIO_FIELD(GITS_DTE, VALID, 63, 1);
UIO_FIELD(GITS_CTE, RDBASE, 0, 35);
UIO_FIELD(GITS_CTE, VALID, 63, 1);
UIO_FIELD(GITS_ITE, PINTID, 0, 32);
UIO_FIELD(GITS_ITE, ICID, 32, 16);
UIO_FIELD(GITS_ITE, VALID, 63, 1);

/* IHI 0069H.b, "LPI Configuration tables": one byte per LPI, indexed by
 * INTID - 8192. */
UIO_FIELD(GIC_LPI_CFG, ENABLE, 0, 1);
UIO_FIELD(GIC_LPI_CFG, PRIORITY, 2, 6);

#endif /* UIO_GIC_ITS_H */
