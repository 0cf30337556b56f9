/* SPDX-License-Identifier: MIT */
/*
 * uiommu smmuv3: a model of an Arm SMMUv3 (IHI 0070) translating the DMA of
 * emulated devices.
 *
 * The model is programmed exactly as hardware is: through its two 64 KiB
 * register pages, mapped as an MMIO region of a struct uiommu_physmem, and
 * through the architectural in-memory structures (stream table, context
 * descriptors, command and event queues, translation tables) that a driver
 * writes into emulated RAM.  The library API below only creates and destroys
 * the model, lets a device present a transaction for translation and reads
 * counters; nothing else can change the model's state.
 *
 * Model choices (all IMPLEMENTATION DEFINED or CONSTRAINED UNPREDICTABLE
 * points of the architecture):
 * - SMMUv3.0, Non-secure programming interface only, AArch64 translation
 *   tables, little-endian, no ATS, no PRI, no stalls (IDR0.STALL_MODEL=0b01),
 *   no HTTU (IDR0.HTTU=0: CD.HA/HD and STE.S2HA/S2HD set are treated as
 *   ILLEGAL), no range invalidation, coherent table walks.
 * - Command processing is synchronous: a write to SMMU_CMDQ_PROD consumes
 *   every command up to the new PROD (or to the first erroneous command)
 *   before the write returns.  SMMU_CR0ACK, SMMU_IRQ_CTRLACK and the
 *   SMMU_GBPA Update handshake also complete before the write returns.
 * - The configuration cache combines an STE with its CD; the TLB holds final
 *   (for nested: combined stage 1 + stage 2) translations tagged with the
 *   ASID and VMID.  Both are filled on use and emptied only by the CFGI_* and
 *   TLBI_* commands (or by disabling the SMMU): a driver that forgets an
 *   invalidation sees stale translations, exactly as on hardware.  TLB
 *   entries are all tagged with their ASID (nG is not looked at, so
 *   TLBI_NH_ASID also removes global entries: more invalidation than the
 *   architecture requires, never less).  TLBI_S2_IPA does not remove
 *   combined nested entries (the architecture does not require it; drivers
 *   follow it with TLBI_NH_ALL or use TLBI_S12_VMALL).
 * - Not modelled: CD.WXN/UWXN/PAN, memory attributes and shareability
 *   (accepted and ignored), STE.STRW other than NS-EL1 (C_BAD_STE), event
 *   merging, F_UUT.
 * - Interrupts: an event-queue or GERROR interrupt is an MSI write through
 *   the physical address space when its SMMU_*_IRQ_CFG0.ADDR is non-zero,
 *   otherwise a call of the wired-interrupt callback given at creation.
 *   Callbacks run without any model lock held: they may access the model's
 *   registers.
 *
 * Thread safety: uiommu_smmuv3_translate() may run concurrently from any
 * number of threads, with each other and with register accesses (command
 * processing) from another thread.
 */
#ifndef UIOMMU_SMMUV3_H
#define UIOMMU_SMMUV3_H

#include <uiommu/base.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_smmuv3;

/* Size of the register frame: page 0 and page 1, 64 KiB each. */
#define UIOMMU_SMMUV3_MMIO_SIZE 0x20000u

/* Feature flags of struct uiommu_smmuv3_options. */
#define UIOMMU_SMMUV3_F_STAGE1	    (1u << 0)	/* IDR0.S1P */
#define UIOMMU_SMMUV3_F_STAGE2	    (1u << 1)	/* IDR0.S2P (nested if both) */
#define UIOMMU_SMMUV3_F_STRTAB_2LVL (1u << 2)	/* IDR0.ST_LEVEL = 2-level */
#define UIOMMU_SMMUV3_F_CD_2LVL	    (1u << 3)	/* IDR0.CD2L */

/**
 * struct uiommu_smmuv3_options - what the modelled implementation supports
 * @features:      UIOMMU_SMMUV3_F_* flags
 * @sid_bits:      StreamID width, IDR1.SIDSIZE (1..24)
 * @ssid_bits:     SubstreamID width, IDR1.SSIDSIZE (0..20)
 * @cmdq_log2max:  largest command queue, IDR1.CMDQS (1..19)
 * @eventq_log2max: largest event queue, IDR1.EVENTQS (1..19)
 * @oas_bits:      output address size, IDR5.OAS (32, 36, 40, 42, 44, 48)
 * @tlb_entries:   TLB size, a power of two (16..1048576)
 * @cfg_entries:   configuration cache size, a power of two (4..65536)
 * @event_irq:     wired event-queue interrupt (may be NULL)
 * @gerror_irq:    wired global-error interrupt (may be NULL)
 * @irq_opaque:    passed to both callbacks
 *
 * uiommu_smmuv3_default_options() fills in the defaults: stage 1 + stage 2,
 * both 2-level formats, 16-bit StreamIDs, 8-bit SubstreamIDs, queues up to
 * 2^19 entries, 48-bit OAS, 4096 TLB and 256 configuration-cache entries.
 */
struct uiommu_smmuv3_options {
	uint32_t features;
	unsigned int sid_bits;
	unsigned int ssid_bits;
	unsigned int cmdq_log2max;
	unsigned int eventq_log2max;
	unsigned int oas_bits;
	unsigned int tlb_entries;
	unsigned int cfg_entries;
	void (*event_irq)(void *opaque);
	void (*gerror_irq)(void *opaque);
	void *irq_opaque;
};

/* Access type of a transaction (struct uiommu_smmuv3_txn.access). */
#define UIOMMU_SMMUV3_ACC_WRITE (1u << 0)	/* else a read (RnW = 1) */
#define UIOMMU_SMMUV3_ACC_EXEC	(1u << 1)	/* instruction fetch (InD); reads only */
#define UIOMMU_SMMUV3_ACC_PRIV	(1u << 2)	/* privileged (PnU) */

/**
 * struct uiommu_smmuv3_txn - one incoming transaction
 * @sid:    StreamID
 * @ssid:   SubstreamID, meaningful if @ssv
 * @ssv:    the transaction carries a SubstreamID (PASID)
 * @access: UIOMMU_SMMUV3_ACC_* flags
 * @iova:   input address
 * @size:   bytes, 1..4096; [@iova, @iova + @size) must not cross a 4 KiB
 *          boundary (as a PCIe request does not)
 */
struct uiommu_smmuv3_txn {
	uint32_t sid;
	uint32_t ssid;
	bool ssv;
	uint32_t access;
	uint64_t iova;
	uint64_t size;
};

/* Event numbers (IHI 0070 G.b, 7.3 Event records). */
enum uiommu_smmuv3_event_type {
	UIOMMU_SMMUV3_EVT_NONE = 0x00,	/* aborted without an event */
	UIOMMU_SMMUV3_EVT_F_UUT = 0x01,
	UIOMMU_SMMUV3_EVT_C_BAD_STREAMID = 0x02,
	UIOMMU_SMMUV3_EVT_F_STE_FETCH = 0x03,
	UIOMMU_SMMUV3_EVT_C_BAD_STE = 0x04,
	UIOMMU_SMMUV3_EVT_F_STREAM_DISABLED = 0x06,
	UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID = 0x08,
	UIOMMU_SMMUV3_EVT_F_CD_FETCH = 0x09,
	UIOMMU_SMMUV3_EVT_C_BAD_CD = 0x0a,
	UIOMMU_SMMUV3_EVT_F_WALK_EABT = 0x0b,
	UIOMMU_SMMUV3_EVT_F_TRANSLATION = 0x10,
	UIOMMU_SMMUV3_EVT_F_ADDR_SIZE = 0x11,
	UIOMMU_SMMUV3_EVT_F_ACCESS = 0x12,
	UIOMMU_SMMUV3_EVT_F_PERMISSION = 0x13,
};

/* Event CLASS field (IHI 0070 G.b, 7.3). */
enum uiommu_smmuv3_class {
	UIOMMU_SMMUV3_CLASS_CD = 0,	/* CD fetch */
	UIOMMU_SMMUV3_CLASS_TT = 1,	/* stage 1 translation table fetch */
	UIOMMU_SMMUV3_CLASS_IN = 2,	/* the input address */
};

/**
 * struct uiommu_smmuv3_fault - why a transaction was not translated
 * @event:      UIOMMU_SMMUV3_EVT_*, the event number the fault corresponds
 *              to, or UIOMMU_SMMUV3_EVT_NONE for a silent abort (STE.Config
 *              abort, SMMU disabled with GBPA.ABORT, StreamID out of range
 *              with CR2.RECINVSID == 0)
 * @recorded:   an event record was written to the event queue
 * @lost:       the event was to be recorded but the queue was full,
 *              disabled or not writable
 * @abort:      true: the transaction ends with an abort (bus error); false:
 *              it is terminated with RAZ/WI (CD.A == 0)
 * @stage:      1 or 2 for translation faults, 0 otherwise (event field S2)
 * @cls:        UIOMMU_SMMUV3_CLASS_* (translation and walk faults)
 * @level:      translation table level of the fault, -1 if none
 * @sid, @ssid, @ssv: the transaction's stream
 * @input_addr: the transaction's address
 * @ipa:        stage 2 faults: the faulting IPA
 * @fetch_addr: F_*_FETCH, F_WALK_EABT: the physical address that aborted
 */
struct uiommu_smmuv3_fault {
	uint8_t event;
	bool recorded;
	bool lost;
	bool abort;
	uint8_t stage;
	uint8_t cls;
	int8_t level;
	bool ssv;
	uint32_t sid;
	uint32_t ssid;
	uint64_t input_addr;
	uint64_t ipa;
	uint64_t fetch_addr;
};

/* Counters of one model (struct uiommu_smmuv3_stats). */
struct uiommu_smmuv3_stats {
	uint64_t translations;	/* calls of uiommu_smmuv3_translate() */
	uint64_t faults;	/* of which did not translate */
	uint64_t tlb_hits, tlb_misses;
	uint64_t cfg_hits, cfg_misses;
	uint64_t commands;	/* commands consumed */
	uint64_t cmd_errors;	/* commands that stopped the queue */
	uint64_t events_written;
	uint64_t events_lost;
	uint64_t tlb_invalidated;	/* TLB entries dropped by TLBI */
	uint64_t cfg_invalidated;	/* config entries dropped by CFGI */
};

/**
 * uiommu_smmuv3_default_options() - fill @opts with the default options
 * @opts: options to fill (all fields are overwritten)
 */
UIOMMU_API void uiommu_smmuv3_default_options(struct uiommu_smmuv3_options *opts);

/**
 * uiommu_smmuv3_create() - create an SMMUv3 and map its registers
 * @pm:   the physical address space the SMMU reads its structures from,
 *        writes its events and MSIs to, and where its registers appear
 * @base: physical base of register page 0, 64 KiB aligned; page 1 follows
 *        at @base + 0x10000 (UIOMMU_SMMUV3_MMIO_SIZE bytes in all)
 * @opts: implementation options, or NULL for the defaults
 * @out:  the new model, in its reset state
 *
 * Return: 0; -EINVAL for a NULL @pm or @out, a misaligned @base or an
 * option out of range (the log names it); -ERANGE, -EEXIST from placing the
 * registers in @pm; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_smmuv3_create(struct uiommu_physmem *pm, uint64_t base,
		     const struct uiommu_smmuv3_options *opts,
		     struct uiommu_smmuv3 **out);

/**
 * uiommu_smmuv3_destroy() - unmap the registers and free the model
 * @smmu: the model, or NULL
 *
 * No translation may be running.
 */
UIOMMU_API void uiommu_smmuv3_destroy(struct uiommu_smmuv3 *smmu);

/**
 * uiommu_smmuv3_translate() - translate one device transaction
 * @smmu:  the model
 * @txn:   the transaction
 * @pa:    receives the physical address of @txn->iova on success
 * @fault: if not NULL, receives the fault record when the transaction is
 *         not translated (filled in only then)
 *
 * Looks the stream up in the configuration cache (fetching the STE and CD
 * from RAM on a miss), then the TLB (walking the translation tables on a
 * miss), checks permissions, and on a fault records the event in the event
 * queue when the architecture and the STE/CD say so.
 *
 * Return: 0 and *@pa; -EFAULT if the transaction faulted or was aborted
 * (*@fault says why); -EINVAL for NULL pointers, a zero or too large size,
 * an access crossing a 4 KiB boundary, unknown access flags, a write
 * instruction fetch or a SubstreamID wider than 20 bits (nothing is
 * recorded then).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_smmuv3_translate(struct uiommu_smmuv3 *smmu,
			const struct uiommu_smmuv3_txn *txn, uint64_t *pa,
			struct uiommu_smmuv3_fault *fault);

/**
 * uiommu_smmuv3_get_stats() - read the model's counters
 * @smmu: the model
 * @st:   filled with a snapshot (counters of concurrent translations may be
 *        a few operations behind)
 */
UIOMMU_API void uiommu_smmuv3_get_stats(struct uiommu_smmuv3 *smmu,
					struct uiommu_smmuv3_stats *st);

/**
 * uiommu_smmuv3_base() - physical base address of register page 0
 */
UIOMMU_API uint64_t uiommu_smmuv3_base(const struct uiommu_smmuv3 *smmu);

/* ------------------------------------------------------------ inspection */

/* Number of registers in a snapshot (struct uiommu_smmuv3_regs.reg). */
#define UIOMMU_SMMUV3_NREGS 33

/**
 * struct uiommu_smmuv3_regs - the programming interface's registers
 * @idr:        SMMU_IDR0..5
 * @iidr, @aidr: SMMU_IIDR, SMMU_AIDR
 * @cr0, @cr0ack, @cr1, @cr2: control registers
 * @gbpa:       SMMU_GBPA (Update reads as 0)
 * @irq_ctrl, @irq_ctrlack: interrupt enables
 * @gerror, @gerrorn: an error is active while their bits differ
 * @gerror_irq_cfg0..2, @eventq_irq_cfg0..2: MSI configuration
 * @strtab_base, @strtab_base_cfg: stream table
 * @cmdq_base, @cmdq_prod, @cmdq_cons: command queue
 * @eventq_base, @eventq_prod, @eventq_cons: event queue (page 1)
 * @id:         the ID registers decoded (6.3.1-6.3.8): stages, AArch64
 *              tables, coherent walks, HTTU, ATS, PRI, 16-bit ASID/VMID,
 *              MSI, SEV, 2-level CD tables and stream table, little-endian
 *              tables, stall model, widths (StreamID, SubstreamID, OAS in
 *              bits), largest queues (log2 entries), granules, the
 *              architecture version and IIDR implementer/product
 * @ctl:        the control state decoded: CR0 enables, CR2 bits,
 *              GBPA.ABORT, interrupt enables, active global errors
 *              (GERROR ^ GERRORN), stream table base/format/size/split,
 *              queue bases, sizes (log2 entries, as the model clamps them),
 *              index registers, CMDQ_CONS.ERR and the event queue overflow
 *              flag (EVENTQ_PROD.OVFLG != EVENTQ_CONS.OVACKFLG)
 * @nregs:      entries in @reg
 * @reg:        every register of the model's register map in offset order:
 *              @name ("SMMU_CR0", a static string), @offset from page 0,
 *              @size in bytes (4 or 8) and @value
 *
 * Filled by uiommu_smmuv3_read_regs(): each value is what a 32- or 64-bit
 * load of the register would return.
 */
struct uiommu_smmuv3_regs {
	uint32_t idr[6], iidr, aidr;
	uint32_t cr0, cr0ack, cr1, cr2, gbpa, irq_ctrl, irq_ctrlack;
	uint32_t gerror, gerrorn;
	uint64_t gerror_irq_cfg0;
	uint32_t gerror_irq_cfg1, gerror_irq_cfg2;
	uint64_t strtab_base;
	uint32_t strtab_base_cfg;
	uint64_t cmdq_base;
	uint32_t cmdq_prod, cmdq_cons;
	uint64_t eventq_base;
	uint32_t eventq_prod, eventq_cons;
	uint64_t eventq_irq_cfg0;
	uint32_t eventq_irq_cfg1, eventq_irq_cfg2;
	struct {
		bool s1p, s2p, aarch64_tables, coherent, httu, ats, pri;
		bool asid16, vmid16, msi, sev, cd_2lvl, strtab_2lvl, little_endian;
		unsigned int stall_model;
		unsigned int sid_bits, ssid_bits, oas_bits;
		unsigned int cmdq_log2max, eventq_log2max;
		bool gran4k, gran16k, gran64k;
		unsigned int arch_major, arch_minor;
		unsigned int implementer, product;
	} id;
	struct {
		bool smmuen, cmdqen, eventqen, recinvsid, ptm, e2h;
		bool gbpa_abort, gerror_irqen, eventq_irqen;
		uint32_t gerror_active;
		uint64_t strtab_addr;
		bool strtab_2lvl;
		unsigned int strtab_log2size, strtab_split;
		uint64_t cmdq_addr, eventq_addr;
		unsigned int cmdq_log2size, eventq_log2size;
		uint32_t cmdq_prod, cmdq_cons, eventq_prod, eventq_cons;
		unsigned int cmdq_err;
		bool eventq_overflow;
	} ctl;
	unsigned int nregs;
	struct {
		const char *name;
		uint32_t offset;
		uint32_t size;
		uint64_t value;
	} reg[UIOMMU_SMMUV3_NREGS];
};

/**
 * uiommu_smmuv3_read_regs() - snapshot every register
 * @smmu: the model
 * @regs: filled in
 *
 * Reads the registers as a driver's loads would, through the model's
 * register map, but without the side effects of an access (no trace line,
 * no counter); taken under the register lock, so the snapshot is
 * consistent with respect to command processing.
 *
 * Return: 0; -EINVAL for a NULL argument.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_smmuv3_read_regs(struct uiommu_smmuv3 *smmu,
			struct uiommu_smmuv3_regs *regs);

/* STE.Config encodings (IHI 0070 G.b, 5.2), struct uiommu_smmuv3_ste_info. */
#define UIOMMU_SMMUV3_STE_CFG_ABORT  0
#define UIOMMU_SMMUV3_STE_CFG_BYPASS 4
#define UIOMMU_SMMUV3_STE_CFG_S1     5
#define UIOMMU_SMMUV3_STE_CFG_S2     6
#define UIOMMU_SMMUV3_STE_CFG_NESTED 7

/**
 * struct uiommu_smmuv3_ste_info - one stream's configuration as in memory
 * @sid:          the StreamID inspected
 * @smmu_enabled: CR0.SMMUEN; when clear, GBPA decides and the stream table
 *                is not used (it is decoded anyway)
 * @ste_fetched:  the STE was read; the STE fields below are meaningful
 * @ste_addr:     its physical address (linear or 2-level table)
 * @ste:          its eight dwords
 * @valid:        STE.V
 * @config:       STE.Config (UIOMMU_SMMUV3_STE_CFG_*; others are reserved)
 * @s1_fmt, @s1_cdmax, @s1_dss: STE.S1Fmt, S1CDMax, S1DSS
 * @s1_context_ptr: STE.S1ContextPtr (a PA, or an IPA when nested)
 * @s2_vmid, @s2_t0sz, @s2_sl0, @s2_tg, @s2_ps: STE.S2VMID, S2T0SZ, S2SL0,
 *                S2TG, S2PS (encodings)
 * @s2_ttb:       STE.S2TTB
 * @cd_fetched:   stage 1 is in use and the CD of SubstreamID 0 was read;
 *                the CD fields below are meaningful
 * @cd_addr:      its address (an IPA when nested)
 * @cd:           its eight dwords
 * @cd_valid:     CD.V
 * @asid:         CD.ASID
 * @ttb0:         CD.TTB0
 * @t0sz, @tg0, @ips, @epd0, @epd1: CD.T0SZ, TG0, IPS, EPD0, EPD1
 * @cd_r, @cd_a:  CD.R (record faults), CD.A (abort faulting accesses)
 * @s1_granule, @s1_ias, @s1_oas, @s1_levels: the stage-1 walk those CD
 *                fields give (granule in bytes, input and output bits,
 *                lookup levels); 0 when they are invalid
 * @s2_granule, @s2_ias, @s2_oas, @s2_levels: the same for the STE's stage 2
 * @mair:         CD.MAIR0/MAIR1
 * @fault:        the configuration is not usable: a transaction without
 *                SubstreamID would fail before its address is looked at
 * @event:        then the event the SMMU records (UIOMMU_SMMUV3_EVT_C_BAD_STE,
 *                C_BAD_CD, F_STE_FETCH, C_BAD_STREAMID, ...), or
 *                UIOMMU_SMMUV3_EVT_NONE for a silent abort (StreamID out of
 *                range with CR2.RECINVSID clear)
 * @reason:       a static string saying why, or NULL
 * @fetch_addr:   F_STE_FETCH / F_CD_FETCH: the address that aborted
 * @cached:       the configuration cache holds this StreamID (no
 *                SubstreamID)
 * @stale:        the cached copy differs from what memory says now (a
 *                missing CFGI_STE / CFGI_CD)
 */
struct uiommu_smmuv3_ste_info {
	uint32_t sid;
	bool smmu_enabled;
	bool ste_fetched;
	uint64_t ste_addr;
	uint64_t ste[8];
	bool valid;
	uint8_t config;
	uint8_t s1_fmt, s1_cdmax, s1_dss;
	uint64_t s1_context_ptr;
	uint16_t s2_vmid;
	uint8_t s2_t0sz, s2_sl0, s2_tg, s2_ps;
	uint64_t s2_ttb;
	bool cd_fetched;
	uint64_t cd_addr;
	uint64_t cd[8];
	bool cd_valid;
	uint16_t asid;
	uint64_t ttb0;
	uint8_t t0sz, tg0, ips, epd0, epd1;
	bool cd_r, cd_a;
	uint64_t mair;
	uint64_t s1_granule, s2_granule;
	uint8_t s1_ias, s1_oas, s1_levels, s2_ias, s2_oas, s2_levels;
	bool fault;
	uint8_t event;
	const char *reason;
	uint64_t fetch_addr;
	bool cached;
	bool stale;
};

/**
 * uiommu_smmuv3_inspect_ste() - fetch and decode a stream's STE and CD
 * @smmu: the model
 * @sid:  StreamID
 * @info: filled in
 *
 * Locates the STE (linear or 2-level stream table) and, when stage 1 is
 * in use, the CD of SubstreamID 0 exactly as a transaction without
 * SubstreamID would, with the same decoder and validity checks.  Nothing
 * changes: no configuration cache or TLB fill, no event record, no
 * counter, and no guest-error line of the SMMU (the page-table layer may
 * still log which translation-table field is out of range).
 *
 * Return: 0 (a malformed configuration is reported in @info, not as an
 * error); -EINVAL for a NULL argument or a @sid of 2^24 or more.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_smmuv3_inspect_ste(struct uiommu_smmuv3 *smmu, uint32_t sid,
			  struct uiommu_smmuv3_ste_info *info);

/**
 * uiommu_smmuv3_event_name() - "C_BAD_STE" for UIOMMU_SMMUV3_EVT_C_BAD_STE
 * @event: an event number
 *
 * Return: a static string; "NONE" for UIOMMU_SMMUV3_EVT_NONE, "?" for a
 * number the model does not produce.
 */
UIOMMU_API const char *uiommu_smmuv3_event_name(unsigned int event);

/**
 * uiommu_smmuv3_check() - verify the model's invariants
 * @smmu: the model
 *
 * Acknowledge registers equal their control registers, queue indices are
 * within their queues, cache entries are well formed.
 *
 * Return: 0, or -EUCLEAN (with a log line) if an invariant is broken.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_smmuv3_check(struct uiommu_smmuv3 *smmu);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_SMMUV3_H */
