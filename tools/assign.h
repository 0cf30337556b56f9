/* SPDX-License-Identifier: MIT */
/*
 * The test device assigned through VFIO, as a DPDK-like program does it:
 * the demo runs its job on top of it, `uiommu info --assign` shows the
 * state it leaves.  Public API only.
 */
#ifndef UIOMMU_TOOL_ASSIGN_H
#define UIOMMU_TOOL_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vfio.h>

#define ASSIGN_BUF_SIZE (64ull << 20)
#define ASSIGN_MAX_RANGES 16

struct uiommu_machine;
struct uiommu_machine_func;
struct uiommu_vfio;
struct uiommu_domain;

/**
 * struct tool_assign_opts - how to assign
 * @who:          command name for error messages ("demo", "info")
 * @source:       the machine as named in output
 * @msi_window:   explicit MSI window IOVA (MAP_DMA MSI_RESERVED_IOVA), or
 *                0 for the group's sw-msi region
 * @allow_unsafe: VFIO allow_unsafe_interrupts
 * @vectors:      MSI-X vectors to enable, 0 for all (reduced to a power of
 *                two the MSI controller can give)
 */
struct tool_assign_opts {
	const char *who;
	const char *source;
	uint64_t msi_window;
	bool allow_unsafe;
	unsigned int vectors;
};

/* What tool_assign() opened and learned; tool_assign_release() closes it. */
struct tool_assign {
	struct tool_assign_opts o;
	struct uiommu_machine *m;
	const struct uiommu_machine_func *f;	/* 0000:00:01.0 */
	struct uiommu_vfio *v;
	struct uiommu_domain *dom;		/* the container's */
	int container, group, dev;
	unsigned int group_id;
	uint64_t bar0, cfg;			/* region offsets */
	uint8_t *buf;				/* ASSIGN_BUF_SIZE, mapped */
	uint64_t iova;				/* where */
	unsigned int nvec, irq_count;		/* enabled, offered */
	bool reduced;				/* the MSI controller had fewer */
	int *efd;				/* one eventfd per vector */
	unsigned int nefd;
	struct vfio_iova_range ranges[ASSIGN_MAX_RANGES];
	unsigned int nranges;
	uint64_t dma_avail;
	bool have_avail;
};

/**
 * tool_assign() - assign 0000:00:01.0 of @m through a VFIO container
 * @a: zeroed, with @a->o and @a->m set
 *
 * Container + group, VFIO_SET_IOMMU(TYPE1v2), GET_INFO and its IOVA
 * ranges, the MSI window if asked, ASSIGN_BUF_SIZE of fresh memory mapped
 * at the first 2 MiB-aligned valid IOVA at or above 1 MiB, the device fd
 * with Memory Space + Bus Master enabled, every MSI-X vector enabled with
 * an eventfd.  Errors are explained on stderr.
 *
 * Return: 0; -ENODEV without the device or an IOMMU for it; -EPERM when
 * the group's MSIs are not isolated (and !allow_unsafe); the VFIO layer's
 * errors.  Call tool_assign_release() in every case.
 */
int tool_assign(struct tool_assign *a);

/** tool_assign_release() - close what tool_assign() opened (not the machine) */
void tool_assign_release(struct tool_assign *a);

/**
 * tool_assign_parse_opt() - take one assignment option at argv[*i]
 * @ao: receives it
 *
 * --allow-unsafe-interrupts, --msi-window IOVA (non-zero), --vectors N
 * (1 .. the test device's vectors); *i is left on the option's last word.
 *
 * Return: 1 if argv[*i] was one of them, 0 if it is another option,
 * -EINVAL for a missing or bad value.
 */
int tool_assign_parse_opt(int argc, char **argv, int *i,
			  struct tool_assign_opts *ao);

/** tool_assign_fail() - print "uiommu WHO: WHAT: error"; returns @err (< 0) */
int tool_assign_fail(const struct tool_assign *a, const char *what, int err);

#endif /* UIOMMU_TOOL_ASSIGN_H */
