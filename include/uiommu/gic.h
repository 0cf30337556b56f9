/* SPDX-License-Identifier: MIT */
/*
 * uiommu gic: hardware models of the Arm MSI doorbells.
 *
 * - A GICv3 Interrupt Translation Service (IHI 0069): a 64 KiB control frame
 *   (GITS_CTLR, TYPER, CBASER/CWRITER/CREADR, BASER<n>, ...) at its base and
 *   a 64 KiB translation frame at base + 0x10000 whose only register is
 *   GITS_TRANSLATER (base + 0x10040).  A device's MSI is a 32-bit write of
 *   its EventID to GITS_TRANSLATER; the DeviceID comes from the write's
 *   transaction attributes (struct uiommu_memattrs), never from the data.
 *   The driver programs the ITS only through those registers, a command
 *   queue in RAM and the device, collection and interrupt translation
 *   tables it gives the ITS in RAM.  The resulting LPIs (INTID 8192 and up)
 *   are delivered to a callback per CPU (redistributor).
 * - A GICv2m MSI frame (Arm Server Base System Architecture, GICv2m
 *   appendix): 4 KiB with MSI_TYPER, MSI_SETSPI_NS (frame + 0x40) and
 *   MSI_IIDR.  The data written is the SPI number, from any requester.
 *
 * Both models register their frames with the physical address space as
 * doorbells, with register maps.  Whether a doorbell isolates devices from
 * each other (the ITS does: the DeviceID is side band; GICv2m does not: any
 * device can raise any SPI of the frame) is readable from each model.
 *
 * Thread safety: every function and every MMIO access may be called from any
 * thread; each model serialises itself with its own lock.  Interrupt
 * callbacks are called without that lock held, so they may access the model
 * again (for example raise another MSI).  Destroying a model must not race
 * with accesses to its frames.
 */
#ifndef UIOMMU_GIC_H
#define UIOMMU_GIC_H

#include <uiommu/base.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_gic_its;
struct uiommu_gicv2m;

/* Offsets and sizes of the doorbells (IHI 0069; GICv2m). */
#define UIOMMU_GITS_FRAME_SIZE	    0x10000u	/* each of the two ITS frames */
#define UIOMMU_GITS_TRANSLATER	    0x10040u	/* from the ITS base */
#define UIOMMU_GICV2M_FRAME_SIZE    0x1000u
#define UIOMMU_GICV2M_SETSPI_NS	    0x40u	/* from the frame base */
#define UIOMMU_GIC_FIRST_LPI	    8192u

/**
 * typedef uiommu_gic_irq_fn - an interrupt arrives at a CPU
 * @opaque: the pointer given with the handler
 * @cpu:    the target: for the ITS the collection's target redistributor
 *          (processor number, GITS_TYPER.PTA == 0); 0 for GICv2m
 * @intid:  the INTID: an LPI (>= 8192) or an SPI (32..1019)
 *
 * Called once per interrupt taken, without the model's lock held.  The
 * interrupt counts as acknowledged and completed when the callback returns.
 */
typedef void (*uiommu_gic_irq_fn)(void *opaque, unsigned int cpu,
				  uint32_t intid);

/* Why a doorbell write did not raise an interrupt. */
enum uiommu_gic_drop_reason {
	UIOMMU_GIC_DROP_DISABLED = 0,	/* ITS: GITS_CTLR.Enabled == 0 */
	UIOMMU_GIC_DROP_NO_SOURCE,	/* ITS: write without a valid source ID */
	UIOMMU_GIC_DROP_BAD_ACCESS,	/* unsupported access size */
	UIOMMU_GIC_DROP_DEVICE_OOR,	/* DeviceID beyond Devbits or the device table */
	UIOMMU_GIC_DROP_DEVICE_UNMAPPED, /* no valid device table entry */
	UIOMMU_GIC_DROP_EVENT_OOR,	/* EventID beyond the device's ITT */
	UIOMMU_GIC_DROP_EVENT_UNMAPPED,	/* no valid ITT entry */
	UIOMMU_GIC_DROP_COLLECTION_UNMAPPED, /* the event's collection is unmapped */
	UIOMMU_GIC_DROP_TABLE_FAULT,	/* a table lies outside RAM */
	UIOMMU_GIC_DROP_SPI_OOR,	/* GICv2m: SPI outside the frame's range */
	UIOMMU_GIC_DROP_NO_HANDLER,	/* GICv2m: no handler installed */
	UIOMMU_GIC_DROP_NR
};

/**
 * uiommu_gic_drop_name() - short name of a drop reason ("device-unmapped")
 *
 * Return: a static string; "?" for an unknown value.
 */
UIOMMU_API const char *uiommu_gic_drop_name(enum uiommu_gic_drop_reason r);

/* ------------------------------------------------------------ GICv3 ITS */

/* What the ITS does when a command fails (see gic-its.c, "Command errors"). */
enum uiommu_gic_its_error_mode {
	/* Stall: GITS_CREADR.Stalled = 1, GITS_CREADR points at the failing
	 * command until the driver writes GITS_CWRITER.Retry. */
	UIOMMU_GIC_ITS_ERR_STALL = 0,
	/* Ignore the failing command and carry on with the next one. */
	UIOMMU_GIC_ITS_ERR_SKIP,
};

/**
 * struct uiommu_gic_its_config - what an ITS looks like
 * @name:         region name prefix, e.g. "its0" (copied); NULL for "its"
 * @base:         64 KiB-aligned physical base of the two frames
 * @nr_cpus:      redistributors, i.e. collection targets (1..4096; 0 is 1)
 * @devid_bits:   DeviceID width, GITS_TYPER.Devbits + 1 (1..32; 0 is 20)
 * @eventid_bits: EventID width, GITS_TYPER.IDbits + 1 (1..32; 0 is 16)
 * @cid_bits:     collection ID width (1..16; 0 is 16, which reports
 *                GITS_TYPER.CIL == 0)
 * @lpi_bits:     INTID width of the redistributors (14..20; 0 is 16): the
 *                LPIs are 8192 .. 2^@lpi_bits - 1
 * @lpi_config_table: true if an LPI configuration table (one byte per LPI,
 *                bit 0 Enable, IHI 0069 "LPI Configuration tables") lies in
 *                RAM at @lpi_config_base, as if every redistributor's
 *                GICR_PROPBASER pointed at it; false: every LPI is enabled
 * @lpi_config_base: physical address of that table
 * @error_mode:   behaviour on a command error
 */
struct uiommu_gic_its_config {
	const char *name;
	uint64_t base;
	unsigned int nr_cpus;
	unsigned int devid_bits;
	unsigned int eventid_bits;
	unsigned int cid_bits;
	unsigned int lpi_bits;
	bool lpi_config_table;
	uint64_t lpi_config_base;
	enum uiommu_gic_its_error_mode error_mode;
};

/* Counters of an ITS. */
struct uiommu_gic_its_stats {
	uint64_t translations;	/* GITS_TRANSLATER writes that hit an LPI */
	uint64_t delivered;	/* interrupt callbacks made */
	uint64_t dropped[UIOMMU_GIC_DROP_NR];	/* by reason */
	uint64_t commands;	/* commands consumed (GITS_CREADR advanced) */
	uint64_t command_errors;	/* architectural command errors */
	uint64_t ignored;	/* commands/writes ignored as UNPREDICTABLE */
	uint32_t last_error;	/* encoding of the latest command error, or 0 */
};

/**
 * uiommu_gic_its_create() - create an ITS and map its frames
 * @pm:  the physical address space; the ITS adds two MMIO regions at
 *       @cfg->base and @cfg->base + 0x10000, and finds its tables and
 *       command queue in RAM of @pm
 * @cfg: configuration (copied)
 * @out: the new ITS, disabled, with no handlers
 *
 * Return: 0; -EINVAL for a NULL argument, a misaligned base or a value out
 * of the ranges documented in struct uiommu_gic_its_config; -ERANGE or
 * -EEXIST if the frames do not fit in @pm (as uiommu_physmem_add_mmio());
 * -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gic_its_create(struct uiommu_physmem *pm,
		      const struct uiommu_gic_its_config *cfg,
		      struct uiommu_gic_its **out);

/**
 * uiommu_gic_its_destroy() - unmap the frames and free the ITS
 * @its: the ITS, or NULL
 *
 * The tables in RAM stay as they are: they belong to the driver.
 */
UIOMMU_API void uiommu_gic_its_destroy(struct uiommu_gic_its *its);

/**
 * uiommu_gic_its_set_handler() - install the interrupt handler of a CPU
 * @its: the ITS
 * @cpu: the redistributor (0 .. nr_cpus - 1)
 * @fn:  the callback, or NULL to remove it (LPIs then stay pending)
 * @opaque: passed to @fn
 *
 * Installing a handler does not deliver LPIs already pending at @cpu; the
 * next INV, INVALL, MOVALL or interrupt for them does.
 *
 * Return: 0; -EINVAL if @its is NULL or @cpu out of range.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gic_its_set_handler(struct uiommu_gic_its *its, unsigned int cpu,
			   uiommu_gic_irq_fn fn, void *opaque);

/**
 * uiommu_gic_its_get_stats() - read the counters
 * @its: the ITS
 * @st:  filled with a consistent snapshot
 */
UIOMMU_API void uiommu_gic_its_get_stats(struct uiommu_gic_its *its,
					 struct uiommu_gic_its_stats *st);

/**
 * uiommu_gic_its_doorbell() - physical address of GITS_TRANSLATER
 */
UIOMMU_API uint64_t uiommu_gic_its_doorbell(const struct uiommu_gic_its *its);

/**
 * uiommu_gic_its_isolating() - whether the doorbell isolates requesters
 *
 * Return: true: the DeviceID travels as a side band of the write, so a
 * device can only raise the events mapped for its own DeviceID.
 */
UIOMMU_API bool uiommu_gic_its_isolating(const struct uiommu_gic_its *its);

/**
 * uiommu_gic_its_check() - verify the model's invariants
 *
 * Register values within their architectural ranges, the queue pointers
 * inside the queue, LPI state consistent with the configuration, counters
 * consistent.
 *
 * Return: 0, or -EUCLEAN with a log line naming the broken invariant.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gic_its_check(struct uiommu_gic_its *its);

/* ------------------------------------------------------ ITS inspection */

/*
 * What a debugger of the ITS needs, read without side effects: no command
 * runs, no counter moves, no LPI configuration is cached.  The tables are
 * read the way the ITS reads them when it translates (same decoders, same
 * errors); a table entry the ITS would refuse is reported, not trusted.
 */

/* GITS_BASER<n>.Type (IHI 0069H.b, GITS_BASER<n>). */
#define UIOMMU_GITS_BASER_TYPE_NONE		0u
#define UIOMMU_GITS_BASER_TYPE_DEVICES		1u
#define UIOMMU_GITS_BASER_TYPE_VPES		2u
#define UIOMMU_GITS_BASER_TYPE_COLLECTIONS	4u
#define UIOMMU_GITS_NR_BASER			8u

/* Register offsets in the control frame, for uiommu_gic_its_for_each_field(). */
#define UIOMMU_GITS_CTLR	0x0000u
#define UIOMMU_GITS_IIDR	0x0004u
#define UIOMMU_GITS_TYPER	0x0008u
#define UIOMMU_GITS_CBASER	0x0080u
#define UIOMMU_GITS_CWRITER	0x0088u
#define UIOMMU_GITS_CREADR	0x0090u
#define UIOMMU_GITS_BASER(n)	(0x0100u + 8u * (n))

/**
 * struct uiommu_gic_its_table - one GITS_BASER<n>, decoded as the ITS uses it
 * @type:       GITS_BASER<n>.Type (UIOMMU_GITS_BASER_TYPE_*)
 * @type_name:  "Devices", "Collections", "vPEs" or "none"
 * @valid:      GITS_BASER<n>.Valid
 * @indirect:   GITS_BASER<n>.Indirect: a level 1 table of 8-byte entries
 *              each pointing at one page of entries
 * @base:       physical address of the (level 1) table
 * @page_size:  bytes per page (4K, 16K or 64K)
 * @pages:      pages of the (level 1) table, GITS_BASER<n>.Size + 1
 * @entry_size: bytes per entry, GITS_BASER<n>.Entry_Size + 1
 * @max_ids:    how many IDs the table can hold as sized, at most as many
 *              as GITS_TYPER's ID width allows (0 if not valid)
 *
 * An unimplemented GITS_BASER<n> (Type 0, RAZ/WI) has every other member 0.
 */
struct uiommu_gic_its_table {
	unsigned int type;
	const char *type_name;
	bool valid;
	bool indirect;
	uint64_t base;
	uint64_t page_size;
	unsigned int pages;
	unsigned int entry_size;
	uint64_t max_ids;
};

/**
 * struct uiommu_gic_its_regs - a snapshot of the control frame
 * @base:     physical base of the ITS (the control frame)
 * @nr_cpus:  redistributors, i.e. valid collection targets
 * @nr_lpis:  LPIs the redistributors implement (INTID 8192 up)
 * @ctlr, @iidr, @typer, @cbaser, @cwriter, @creadr, @baser: the registers,
 *            as a read of them would return
 * @table:    each GITS_BASER<n> decoded
 */
struct uiommu_gic_its_regs {
	uint64_t base;
	unsigned int nr_cpus;
	uint32_t nr_lpis;
	uint32_t ctlr;
	uint32_t iidr;
	uint64_t typer;
	uint64_t cbaser;
	uint64_t cwriter;
	uint64_t creadr;
	uint64_t baser[UIOMMU_GITS_NR_BASER];
	struct uiommu_gic_its_table table[UIOMMU_GITS_NR_BASER];
};

/**
 * uiommu_gic_its_get_regs() - read every register of the control frame
 * @its:  the ITS
 * @regs: filled with one consistent snapshot
 *
 * Unlike MMIO reads through the physical address space, this is not a bus
 * access: nothing is traced or counted.
 *
 * Return: 0; -EINVAL for a NULL argument.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gic_its_get_regs(struct uiommu_gic_its *its,
			struct uiommu_gic_its_regs *regs);

/**
 * struct uiommu_gic_field - one architectural field of a register
 * @name:  the field's name in IHI 0069 ("Enabled", "Devbits", ...)
 * @lsb:   its lowest bit
 * @width: its width in bits
 * @value: its value, shifted down
 */
struct uiommu_gic_field {
	const char *name;
	unsigned int lsb;
	unsigned int width;
	uint64_t value;
};

/**
 * uiommu_gic_its_for_each_field() - decode an ITS register into its fields
 * @offset: the register (UIOMMU_GITS_CTLR ... UIOMMU_GITS_BASER(7))
 * @value:  its value
 * @fn:     called once per field, lowest bit first; a non-zero return
 *          stops the walk
 * @opaque: passed to @fn
 *
 * Uses the model's own field table: the names and positions are those the
 * model implements.
 *
 * Return: 0, or @fn's non-zero value; -EINVAL for a NULL @fn or an
 * @offset that is not one of those registers.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gic_its_for_each_field(unsigned int offset, uint64_t value,
			      int (*fn)(void *opaque,
					const struct uiommu_gic_field *f),
			      void *opaque);

/**
 * struct uiommu_gic_its_translation - one (DeviceID, EventID) in the tables
 * @devid:        the DeviceID
 * @itt_addr:     physical address of the device's ITT (device table entry)
 * @eventid_bits: the ITT's size in EventID bits (device table entry)
 * @eventid:      the EventID
 * @intid:        the LPI of the ITT entry (pINTID)
 * @icid:         its collection
 * @target:       the collection's target redistributor (CPU)
 * @pending:      the LPI is pending now (not yet taken by a CPU)
 * @ok:           a GITS_TRANSLATER write of @eventid from @devid would
 *                raise @intid at @target
 * @why:          when !@ok, the reason the ITS would drop it:
 *                UIOMMU_GIC_DROP_TABLE_FAULT (an ITT or level 2 page not in
 *                RAM: @eventid, and for a level 2 page @itt_addr, are 0),
 *                UIOMMU_GIC_DROP_EVENT_UNMAPPED (an ITT entry that holds no
 *                LPI: @intid is its raw value),
 *                UIOMMU_GIC_DROP_COLLECTION_UNMAPPED (the collection is not
 *                mapped or names no redistributor: @target is 0)
 */
struct uiommu_gic_its_translation {
	uint32_t devid;
	uint64_t itt_addr;
	unsigned int eventid_bits;
	uint32_t eventid;
	uint32_t intid;
	uint32_t icid;
	unsigned int target;
	bool pending;
	bool ok;
	enum uiommu_gic_drop_reason why;
};

/**
 * uiommu_gic_its_for_each_translation() - walk the ITS's translation state
 * @its:    the ITS
 * @fn:     called once per valid ITT entry of each valid device table
 *          entry, by DeviceID then EventID, and once per malformed entry
 *          met (@t->ok false); a non-zero return stops the walk
 * @opaque: passed to @fn
 *
 * Reads the device table (flat or two-level), each ITT and the collection
 * table from RAM with the decoders the ITS uses to translate, and nothing
 * else: no command runs, no counter moves.  A malformed entry is also
 * logged as the guest error the ITS would log (the log handler then runs
 * under the ITS's lock, as it does for a translation: it must not call
 * back into the ITS).  @fn runs without the ITS's
 * lock held, so it may use the ITS; the walk is then not atomic with
 * respect to commands run meanwhile (each entry is consistent as read).
 * Without valid GITS_BASER<n> tables there is nothing to walk.
 *
 * Return: 0 after the whole walk, or @fn's non-zero value; -EINVAL for a
 * NULL @its or @fn.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gic_its_for_each_translation(
	struct uiommu_gic_its *its,
	int (*fn)(void *opaque, const struct uiommu_gic_its_translation *t),
	void *opaque);

/* ---------------------------------------------------------------- GICv2m */

/**
 * struct uiommu_gicv2m_config - what a GICv2m frame looks like
 * @name:     region name, e.g. "v2m0" (copied); NULL for "v2m"
 * @base:     4 KiB-aligned physical base of the frame
 * @spi_base: first SPI INTID of the frame (32..1019)
 * @nr_spis:  number of SPIs (1..1020 - @spi_base, at most 1023)
 */
struct uiommu_gicv2m_config {
	const char *name;
	uint64_t base;
	uint32_t spi_base;
	uint32_t nr_spis;
};

/* Counters of a GICv2m frame. */
struct uiommu_gicv2m_stats {
	uint64_t delivered;	/* SPIs raised and handed to the handler */
	uint64_t dropped[UIOMMU_GIC_DROP_NR];	/* by reason */
};

/**
 * uiommu_gicv2m_create() - create a GICv2m frame and map it
 * @pm:  the physical address space
 * @cfg: configuration (copied)
 * @out: the new frame, with no handler
 *
 * Return: 0; -EINVAL for a NULL argument, a misaligned base or an SPI range
 * outside 32..1019; -ERANGE or -EEXIST if the frame does not fit in @pm;
 * -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gicv2m_create(struct uiommu_physmem *pm,
		     const struct uiommu_gicv2m_config *cfg,
		     struct uiommu_gicv2m **out);

/**
 * uiommu_gicv2m_destroy() - unmap and free a frame
 * @v2m: the frame, or NULL
 */
UIOMMU_API void uiommu_gicv2m_destroy(struct uiommu_gicv2m *v2m);

/**
 * uiommu_gicv2m_set_handler() - install the SPI handler
 * @v2m: the frame
 * @fn:  called with cpu 0 and the SPI's INTID (the distributor's routing is
 *       not modelled); NULL removes it: SPIs are then dropped and counted
 * @opaque: passed to @fn
 *
 * Return: 0; -EINVAL if @v2m is NULL.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gicv2m_set_handler(struct uiommu_gicv2m *v2m, uiommu_gic_irq_fn fn,
			  void *opaque);

/**
 * uiommu_gicv2m_get_stats() - read the counters
 */
UIOMMU_API void uiommu_gicv2m_get_stats(struct uiommu_gicv2m *v2m,
					struct uiommu_gicv2m_stats *st);

/**
 * uiommu_gicv2m_doorbell() - physical address of MSI_SETSPI_NS
 */
UIOMMU_API uint64_t uiommu_gicv2m_doorbell(const struct uiommu_gicv2m *v2m);

/**
 * uiommu_gicv2m_isolating() - whether the doorbell isolates requesters
 *
 * Return: false: any requester may write any SPI number of the frame.
 */
UIOMMU_API bool uiommu_gicv2m_isolating(const struct uiommu_gicv2m *v2m);

/**
 * uiommu_gicv2m_check() - verify the frame's invariants
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_gicv2m_check(struct uiommu_gicv2m *v2m);

/**
 * struct uiommu_gicv2m_info - what a GICv2m frame reports
 * @base:      physical base of the frame
 * @doorbell:  physical address of MSI_SETSPI_NS
 * @msi_typer: MSI_TYPER as a read returns it
 * @msi_iidr:  MSI_IIDR as a read returns it
 * @spi_base:  first SPI (MSI_TYPER.BASE)
 * @nr_spis:   number of SPIs (MSI_TYPER.NUMBER)
 */
struct uiommu_gicv2m_info {
	uint64_t base;
	uint64_t doorbell;
	uint32_t msi_typer;
	uint32_t msi_iidr;
	uint32_t spi_base;
	uint32_t nr_spis;
};

/**
 * uiommu_gicv2m_get_info() - read the frame's identification, without a
 * bus access
 * @v2m:  the frame
 * @info: receives base, doorbell, MSI_TYPER, MSI_IIDR and the SPI range
 *
 * Return: 0; -EINVAL for a NULL argument.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_gicv2m_get_info(const struct uiommu_gicv2m *v2m,
		       struct uiommu_gicv2m_info *info);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_GIC_H */
