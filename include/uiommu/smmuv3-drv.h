/* SPDX-License-Identifier: MIT */
/*
 * uiommu smmuv3-drv: the OS-side driver of an Arm SMMUv3 (IHI 0070).
 *
 * The driver programs an SMMUv3 only through its registers and the
 * architectural structures it writes into emulated RAM, as Linux's
 * arm-smmu-v3 driver programs real hardware: it probes SMMU_IDR0..5,
 * allocates the stream table (linear, or 2-level when the StreamID width
 * needs it), the command and event queues from a page pool, enables the SMMU
 * through the CR0/CR0ACK handshake and registers an IOMMU instance with the
 * IOMMU core (iommu-driver.h).  Any SMMUv3 that implements stage 1 with the
 * 4K granule and AArch64 tables will do; the library's model
 * (uiommu/smmuv3.h) is one.
 *
 * What the core gets: blocked domains (STE Config = abort), identity domains
 * (bypass), DMA and unmanaged domains (stage 1: one context descriptor per
 * domain with its own ASID, a VMSAv8-64 4K-granule table with 48-bit input
 * and 4K, 2M and 1G pages); invalidation from the core's gathers with
 * TLBI_NH_VA (TLBI_NH_ASID for large ranges) and CMD_SYNC; the sw-msi
 * reserved region 0x8000000 + 1 MiB; no interrupt remapping; coherent
 * table walks when SMMU_IDR0.COHACC says so.  IOVA and MSI doorbells are
 * the core's business, not the driver's.
 *
 * Faults: the event queue is consumed when the SMMU raises its event
 * interrupt (call uiommu_smmuv3_drv_handle_events() from it) or on demand;
 * each record is decoded and reported with uiommu_report_fault() to the
 * domain of the device that owns the StreamID.  Global errors: call
 * uiommu_smmuv3_drv_handle_gerror() from the GERROR interrupt; a command
 * the SMMU refuses (CMDQ_ERR) is skipped by the command issuer itself.
 *
 * Thread safety: every function may be called from any thread.  The
 * interrupt handlers may run from inside a device's translation (the model
 * raises its wired interrupts there) and from inside a register write the
 * driver makes.
 */
#ifndef UIOMMU_SMMUV3_DRV_H
#define UIOMMU_SMMUV3_DRV_H

#include <uiommu/iommu-driver.h>
#include <uiommu/physmem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_smmuv3_drv;

/* The software MSI window the driver reports (as Linux's arm-smmu-v3). */
#define UIOMMU_SMMUV3_DRV_MSI_IOVA 0x8000000ULL
#define UIOMMU_SMMUV3_DRV_MSI_SIZE 0x100000ULL

/**
 * struct uiommu_smmuv3_drv_event - one decoded event record (IHI 0070 7.3)
 * @type:       event number (enum uiommu_smmuv3_event_type)
 * @sid:        StreamID
 * @ssid:       SubstreamID, meaningful if @ssv
 * @ssv:        the transaction had a SubstreamID
 * @rnw:        read (true) or write (translation-related events)
 * @ind:        instruction fetch
 * @pnu:        privileged
 * @s2:         stage 2 fault
 * @cls:        CLASS field (enum uiommu_smmuv3_class)
 * @input_addr: InputAddr
 * @ipa:        IPA (stage 2 faults)
 * @fetch_addr: FetchAddr (F_WALK_EABT, F_*_FETCH)
 * @raw:        the record as the SMMU wrote it
 */
struct uiommu_smmuv3_drv_event {
	uint8_t type;
	uint32_t sid;
	uint32_t ssid;
	bool ssv;
	bool rnw, ind, pnu, s2;
	uint8_t cls;
	uint64_t input_addr;
	uint64_t ipa;
	uint64_t fetch_addr;
	uint64_t raw[4];
};

/**
 * struct uiommu_smmuv3_drv_options - how to drive the SMMU
 * @name:          IOMMU instance name (copied); NULL: "smmuv3@<base>"
 * @identity_default: default domains are identity (bypass) instead of DMA
 * @pci_groups:    group devices with uiommu_pci_device_group() (else one
 *                 group per device)
 * @cmdq_log2:     command queue entries (log2); 0: min(8, IDR1.CMDQS)
 * @eventq_log2:   event queue entries (log2); 0: min(7, IDR1.EVENTQS)
 * @sid_bits:      StreamIDs the stream table covers (log2); 0: IDR1.SIDSIZE
 * @force_2lvl:    use a 2-level stream table even when a linear one would
 *                 be small (needs IDR0.ST_LEVEL)
 * @on_event:      if not NULL, called with every event record consumed, in
 *                 queue order, one call at a time (under the event-queue
 *                 lock: it must not call uiommu_smmuv3_drv_handle_events()),
 *                 before the fault is reported
 * @opaque:        passed to @on_event
 */
struct uiommu_smmuv3_drv_options {
	const char *name;
	bool identity_default;
	bool pci_groups;
	unsigned int cmdq_log2;
	unsigned int eventq_log2;
	unsigned int sid_bits;
	bool force_2lvl;
	void (*on_event)(void *opaque, const struct uiommu_smmuv3_drv_event *ev);
	void *opaque;
};

/* Counters of one driver instance. */
struct uiommu_smmuv3_drv_stats {
	uint64_t commands;		/* commands issued (CMD_SYNC included) */
	uint64_t syncs;			/* CMD_SYNCs */
	uint64_t cfgi_ste, cfgi_cd;
	uint64_t tlbi_va, tlbi_asid;
	uint64_t cmd_errors;		/* commands the SMMU refused, skipped */
	uint64_t events;		/* event records consumed */
	uint64_t events_lost;		/* event queue overflows seen */
	uint64_t faults_reported;	/* events passed to uiommu_report_fault() */
	uint64_t gerrors;		/* global errors acknowledged (not CMDQ_ERR) */
	unsigned int asids;		/* ASIDs in use */
	unsigned int l2_tables;		/* 2-level stream table: level-2 tables */
};

/**
 * uiommu_smmuv3_drv_probe() - bring up an SMMUv3 and register it
 * @pm:   the physical address space the SMMU registers are in
 * @pool: page pool (in @pm's RAM) for the stream table, queues, context
 *        descriptors and translation tables
 * @base: physical address of SMMU register page 0
 * @opts: options, or NULL for the defaults
 * @out:  the driver instance
 *
 * Reads the ID registers, disables the SMMU if it was enabled, allocates and
 * programs the stream table (every STE aborts until a device is attached)
 * and queues, invalidates every cache, enables the queues, interrupts and
 * translation, and registers an IOMMU instance (uiommu_smmuv3_drv_iommu())
 * whose devices are then created with uiommu_device_create() using their
 * StreamIDs as IDs.
 *
 * Return: 0; -EINVAL for a NULL @pm, @pool or @out, or an option out of
 * range; -EFAULT if @base holds no readable registers; -ENODEV if the ID
 * registers are not an SMMUv3's that the driver can use (no stage 1, no
 * AArch64 tables, no 4K granule, big-endian only); -ETIMEDOUT if an
 * acknowledgement never comes; -ENOMEM.  On failure the SMMU is left
 * disabled and nothing stays allocated.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_smmuv3_drv_probe(struct uiommu_physmem *pm, struct uiommu_phys_pool *pool,
			uint64_t base, const struct uiommu_smmuv3_drv_options *opts,
			struct uiommu_smmuv3_drv **out);

/**
 * uiommu_smmuv3_drv_remove() - unregister, disable the SMMU, free it all
 * @drv: the instance, or NULL
 *
 * Return: 0; -EBUSY while devices are behind it (nothing changes then).
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_smmuv3_drv_remove(struct uiommu_smmuv3_drv *drv);

/**
 * uiommu_smmuv3_drv_iommu() - the IOMMU instance registered with the core
 */
UIOMMU_API struct uiommu_iommu *
uiommu_smmuv3_drv_iommu(struct uiommu_smmuv3_drv *drv);

/**
 * uiommu_smmuv3_drv_handle_events() - consume the event queue
 * @drv: the instance
 *
 * Reads every record up to SMMU_EVENTQ_PROD, decodes it, passes it to the
 * @on_event option and reports translation-related faults of a known
 * device to its domain (uiommu_report_fault()); acknowledges an overflow.
 * The event interrupt handler; may also be called at any time.
 *
 * Return: the number of records consumed (>= 0); -EFAULT if the registers
 * or the queue could not be read.
 */
UIOMMU_API int uiommu_smmuv3_drv_handle_events(struct uiommu_smmuv3_drv *drv);

/**
 * uiommu_smmuv3_drv_handle_gerror() - acknowledge active global errors
 * @drv: the instance
 *
 * Logs and acknowledges (SMMU_GERRORN) every active error but CMDQ_ERR,
 * which the command issuer handles by skipping the refused command.  The
 * GERROR interrupt handler.
 *
 * Return: the active GERROR bits found (0 if none); -EFAULT.
 */
UIOMMU_API int uiommu_smmuv3_drv_handle_gerror(struct uiommu_smmuv3_drv *drv);

/**
 * uiommu_smmuv3_drv_get_stats() - read the driver's counters
 */
UIOMMU_API void uiommu_smmuv3_drv_get_stats(struct uiommu_smmuv3_drv *drv,
					    struct uiommu_smmuv3_drv_stats *st);

/**
 * uiommu_smmuv3_drv_check() - verify the driver's invariants
 *
 * The SMMU is enabled as programmed (CR0 == CR0ACK), the command queue is
 * empty and error-free, every STE of a probed device is valid and matches
 * the domain the device is attached to, the ASID count matches the bitmap.
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_smmuv3_drv_check(struct uiommu_smmuv3_drv *drv);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_SMMUV3_DRV_H */
