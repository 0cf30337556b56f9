/* SPDX-License-Identifier: MIT */
/*
 * Device-tree front end of the machine layer.
 *
 * uio_dt_parse() reads a flattened device tree and produces a machine
 * description: plain data, every address already translated to a CPU
 * physical address through the parents' "ranges", every phandle resolved to
 * the index of the node it names.  The machine layer instantiates models
 * from the description; nothing here creates anything, so a malformed DTB
 * leaves nothing half-built.
 *
 * Bindings understood (Linux Documentation/devicetree/bindings):
 *   memory (device_type = "memory"), arm,gic-v3 with arm,gic-v3-its
 *   children, arm,cortex-a15-gic / arm,gic-400 with arm,gic-v2m-frame
 *   children, arm,smmu-v3, pci-host-ecam-generic with reg, ranges, bus-range,
 *   iommu-map(-mask), msi-map(-mask) or msi-parent.
 * Other nodes are ignored.
 */
#ifndef UIO_MACHINE_DT_H
#define UIO_MACHINE_DT_H

#include <stddef.h>
#include <stdint.h>

#define UIO_DT_MAX_MEM		8
#define UIO_DT_MAX_ITS		8
#define UIO_DT_MAX_V2M		8
#define UIO_DT_MAX_SMMU		8
#define UIO_DT_MAX_PCI		4
#define UIO_DT_MAX_RANGES	8
#define UIO_DT_MAX_MAP		32
#define UIO_DT_NAME_MAX		64

struct uio_dt_range {
	uint64_t base;
	uint64_t size;
};

enum uio_dt_gic_version {
	UIO_DT_GIC_NONE = 0,
	UIO_DT_GIC_V2 = 2,
	UIO_DT_GIC_V3 = 3,
};

/* An MSI controller: a GICv3 ITS or a GICv2m frame. */
struct uio_dt_msi_ctrl {
	char path[UIO_DT_NAME_MAX];
	uint32_t phandle;
	struct uio_dt_range reg;
	/* GICv2m only: optional arm,msi-base-spi / arm,msi-num-spis */
	uint32_t spi_base;
	uint32_t spi_count;	/* 0: read MSI_TYPER */
};

struct uio_dt_smmu {
	char path[UIO_DT_NAME_MAX];
	uint32_t phandle;
	struct uio_dt_range reg;
	int coherent;		/* dma-coherent present */
};

/* What a map entry's target phandle resolved to. */
enum uio_dt_target_kind {
	UIO_DT_TARGET_SMMU,
	UIO_DT_TARGET_ITS,
	UIO_DT_TARGET_V2M,
};

/*
 * One entry of iommu-map or msi-map: requester IDs
 * [rid_base, rid_base + length) map to [out_base, out_base + length) of the
 * target (Documentation/devicetree/bindings/pci/pci-iommu.txt, pci-msi.txt).
 */
struct uio_dt_map_entry {
	uint32_t rid_base;
	enum uio_dt_target_kind target_kind;
	unsigned int target;	/* index into smmu[], its[] or v2m[] */
	uint32_t phandle;	/* the raw target cell, for of_map_id() */
	uint32_t out_base;
	uint32_t length;
};

struct uio_dt_id_map {
	unsigned int count;	/* 0: property absent */
	uint32_t mask;		/* *-map-mask, 0xffffffff when absent */
	int mask_present;
	struct uio_dt_map_entry entry[UIO_DT_MAX_MAP];
};

/* One "ranges" entry of a PCI host bridge (IEEE 1275 PCI binding). */
enum uio_dt_pci_space {
	UIO_DT_PCI_CONFIG = 0,
	UIO_DT_PCI_IO = 1,
	UIO_DT_PCI_MEM32 = 2,
	UIO_DT_PCI_MEM64 = 3,
};

struct uio_dt_pci_window {
	enum uio_dt_pci_space space;
	int prefetchable;
	uint64_t pci_addr;
	uint64_t cpu_addr;
	uint64_t size;
};

struct uio_dt_pci_host {
	char path[UIO_DT_NAME_MAX];
	struct uio_dt_range ecam;
	uint32_t bus_first, bus_last;
	unsigned int nwindows;
	struct uio_dt_pci_window window[UIO_DT_MAX_RANGES];
	struct uio_dt_id_map iommu_map;
	struct uio_dt_id_map msi_map;
	/* msi-parent without msi-map: every RID uses this controller. */
	int has_msi_parent;
	enum uio_dt_target_kind msi_parent_kind;
	unsigned int msi_parent;
	int coherent;
};

struct uio_dt_machine {
	char model[UIO_DT_NAME_MAX];
	unsigned int nmem;
	struct uio_dt_range mem[UIO_DT_MAX_MEM];

	enum uio_dt_gic_version gic_version;
	char gic_path[UIO_DT_NAME_MAX];
	struct uio_dt_range gic_dist;
	struct uio_dt_range gic_second;	/* v3: redistributors, v2: CPU if */
	unsigned int nits;
	struct uio_dt_msi_ctrl its[UIO_DT_MAX_ITS];
	unsigned int nv2m;
	struct uio_dt_msi_ctrl v2m[UIO_DT_MAX_V2M];

	unsigned int nsmmu;
	struct uio_dt_smmu smmu[UIO_DT_MAX_SMMU];

	unsigned int npci;
	struct uio_dt_pci_host pci[UIO_DT_MAX_PCI];
};

/**
 * uio_dt_parse() - read a flattened device tree into a machine description
 * @blob: the DTB
 * @size: bytes available at @blob (the header's totalsize must fit)
 * @m:    filled on success; untouched on failure
 * @err:  on failure, a message naming the node and property (may be NULL)
 * @errlen: size of @err
 *
 * Return: 0; -EINVAL for a malformed blob or property (wrong length, a map
 * that is not a whole number of entries, a phandle that names no supported
 * node, an address that cannot be translated); -E2BIG when a table of the
 * description is full; -ENOENT when a required node is missing (memory).
 */
int uio_dt_parse(const void *blob, size_t size, struct uio_dt_machine *m,
		 char *err, size_t errlen);

#endif /* UIO_MACHINE_DT_H */
