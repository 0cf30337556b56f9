/* SPDX-License-Identifier: MIT */
/*
 * Register-level GICv3 ITS driver: what an OS's ITS driver does with the
 * hardware, without the MSI-domain policy above it.
 *
 * Probe reads GITS_TYPER and GITS_BASER<n>, allocates the command queue, the
 * device table (flat, or two-level when a flat one would exceed 1 MiB) and
 * the collection table from a page pool in emulated RAM, programs the
 * registers, enables the ITS and maps collection N to CPU N for every CPU.
 * Devices get an ITT sized for their events (MAPD), events an LPI in the
 * collection of a CPU (MAPTI), and so on.  Every command is followed by a
 * SYNC and waited for by polling GITS_CREADR, as Linux does.
 *
 * LPIs are allocated from 8192 upwards by a first-fit bitmap; EventIDs are
 * the caller's (the MSI layer numbers them per device from 0).  The LPI
 * configuration table is not touched: the ITS model's default (every LPI
 * enabled) or whoever owns GICR_PROPBASER programs it.
 *
 * Thread safety: every function takes the driver's lock.
 */
#ifndef UIO_GIC_ITS_DRV_H
#define UIO_GIC_ITS_DRV_H

#include <stdint.h>

#include <uiommu/physmem.h>

struct uio_its_drv;

/* Probe the ITS at @its_base with @nr_cpus redistributors whose INTIDs are
 * @lpi_bits wide.  0; -EINVAL for bad arguments; -ENODEV if no ITS answers
 * at @its_base; -ENOMEM (host memory or pool); -EIO if the ITS rejects the
 * setup. */
int uio_its_drv_probe(struct uiommu_phys_pool *pool, uint64_t its_base,
		      unsigned int nr_cpus, unsigned int lpi_bits,
		      struct uio_its_drv **out);
/* Disable the ITS and give the tables back to the pool. */
void uio_its_drv_remove(struct uio_its_drv *drv);

/* MAPD with an ITT for @nr_events events.  0; -ERANGE for a DeviceID or
 * event count the ITS cannot hold; -EEXIST if mapped; -ENOMEM; -EIO. */
int uio_its_drv_map_device(struct uio_its_drv *drv, uint32_t devid,
			   uint32_t nr_events);
/* MAPD V=0, ITT freed.  0; -ENOENT if not mapped; -EIO. */
int uio_its_drv_unmap_device(struct uio_its_drv *drv, uint32_t devid);

/* MAPTI (@devid, @eventid) -> @lpi in CPU @cpu's collection.  0; -ENOENT
 * if the device is not mapped; -ERANGE for an event, LPI or CPU out of
 * range; -EIO. */
int uio_its_drv_map_event(struct uio_its_drv *drv, uint32_t devid,
			  uint32_t eventid, uint32_t lpi, unsigned int cpu);
/* DISCARD.  0; -ENOENT; -ERANGE; -EIO. */
int uio_its_drv_unmap_event(struct uio_its_drv *drv, uint32_t devid,
			    uint32_t eventid);
/* MOVI to CPU @cpu's collection.  0; -ENOENT; -ERANGE; -EIO. */
int uio_its_drv_move_event(struct uio_its_drv *drv, uint32_t devid,
			   uint32_t eventid, unsigned int cpu);

/* @n contiguous LPIs, first one in *@first.  0; -EINVAL for n == 0;
 * -ENOSPC. */
int uio_its_drv_alloc_lpis(struct uio_its_drv *drv, uint32_t n,
			   uint32_t *first);
void uio_its_drv_free_lpis(struct uio_its_drv *drv, uint32_t first,
			   uint32_t n);

/* Physical address of GITS_TRANSLATER: the MSI address. */
uint64_t uio_its_drv_doorbell(const struct uio_its_drv *drv);

/* Commands issued so far (tests and statistics). */
uint64_t uio_its_drv_commands(struct uio_its_drv *drv);

#endif /* UIO_GIC_ITS_DRV_H */
