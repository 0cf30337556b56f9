/* SPDX-License-Identifier: MIT */
/*
 * uiommu VFIO layer: the kernel's VFIO type1 v2 interface over a machine.
 *
 * Code written for real VFIO ports by swapping ioctl(2) for
 * uiommu_vfio_ioctl() and open("/dev/vfio/...") for the open functions
 * below: the request numbers and structures are those of <linux/vfio.h>,
 * unchanged, and the return values are the kernel's (0 or a positive value)
 * except that a failure returns the negative errno instead of -1 + errno.
 *
 * Containers, groups and devices are real file descriptors (eventfd(2)
 * objects nobody signals) registered in a process-wide table; the ioctl
 * routes on the descriptor number, so a later LD_PRELOAD shim can hand the
 * same descriptors to unmodified programs.  Close them with
 * uiommu_vfio_close(), not close(2).
 *
 * VFIO_SET_IOMMU takes VFIO_TYPE1v2_IOMMU (QEMU) or VFIO_TYPE1_IOMMU
 * (DPDK); they differ only in UNMAP_DMA over part of a mapping: v2 refuses
 * with -EINVAL, v1 succeeds with the kernel's v1 answers (nothing unmapped
 * when the range starts inside a mapping; the whole mapping when it covers
 * its first IOVA).
 *
 * Groups are the IOMMU core's groups, numbered as /dev/vfio/N
 * (uiommu_group_id()); devices are named "DDDD:BB:DD.F" with the host
 * bridge index as PCI domain.  Every function of the machine starts bound
 * to VFIO (uiommu_vfio_bind() changes that); a group is viable when all of
 * its functions are bound.
 *
 * What differs from the kernel, on purpose:
 *   - MAP_DMA flag UIOMMU_VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA (bit 30, not
 *     used by the kernel) registers [iova, iova + size) as the domain's
 *     MSI window (uiommu_domain_set_msi_window(); vaddr is ignored), as in
 *     the 2016 RFC this project starts from;
 *   - SET_IRQS ACTION_MASK / ACTION_UNMASK work on MSI-X (and MSI with
 *     per-vector masking) vectors: the kernel refuses them;
 *   - a group fd cannot be closed while one of its device fds is open
 *     (-EBUSY); a container closed while groups use it lives until the
 *     last group leaves;
 *   - the layer does not take a reference on a trigger eventfd: it must
 *     stay open while it is a vector's trigger (disable or replace first);
 *   - no mmap of regions; VFIO_DEVICE_RESET disables interrupts and Bus
 *     Master Enable (the test device has no function-level reset).
 *
 * Thread safety: every call may come from any thread; one lock per layer
 * serializes them.  uiommu_vfio_destroy() must not overlap any other call
 * on the layer's descriptors.  Interrupts signal the eventfds from whatever thread
 * raised them.
 */
#ifndef UIOMMU_VFIO_H
#define UIOMMU_VFIO_H

#include <sys/types.h>
#include <uiommu/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uiommu_machine;
struct uiommu_machine_func;
struct uiommu_domain;
struct uiommu_vfio;

/* MAP_DMA extension flag: register an explicit MSI window (see above). */
#define UIOMMU_VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA (1u << 30)
#ifndef VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA
#define VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA UIOMMU_VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA
#endif

/* Default of uiommu_vfio_opts.dma_entry_limit, as the kernel's module
 * parameter. */
#define UIOMMU_VFIO_DMA_ENTRY_LIMIT 65535u

/**
 * struct uiommu_vfio_opts - options of a VFIO layer
 * @allow_unsafe_interrupts: attach groups whose MSIs are not isolated (the
 *        kernel's vfio_iommu_type1 parameter of the same name)
 * @dma_entry_limit: most mappings per container, 0 for
 *        UIOMMU_VFIO_DMA_ENTRY_LIMIT
 * @unbound: start with no function bound to VFIO
 */
struct uiommu_vfio_opts {
	bool allow_unsafe_interrupts;
	unsigned int dma_entry_limit;
	bool unbound;
};

/**
 * uiommu_vfio_create() - a VFIO layer over a realized machine
 * @m:    the machine; it must outlive the layer
 * @opts: options, or NULL for the defaults
 * @out:  the layer
 *
 * Return: 0; -EINVAL for NULL @m or @out; -EBUSY for an unrealized machine;
 * -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_vfio_create(struct uiommu_machine *m,
		   const struct uiommu_vfio_opts *opts, struct uiommu_vfio **out);

/**
 * uiommu_vfio_destroy() - close every descriptor of the layer (devices,
 * then groups, then containers: interrupts disabled, mappings removed,
 * groups back in their default domains) and free it
 * @v: the layer, or NULL
 */
UIOMMU_API void uiommu_vfio_destroy(struct uiommu_vfio *v);

/**
 * uiommu_vfio_bind() - bind a function to VFIO or give it back to the host
 * @name: "DDDD:BB:DD.F"
 *
 * Return: 0; -EINVAL for NULL arguments; -ENODEV for an unknown function;
 * -EBUSY to unbind a function whose group is in a container.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_vfio_bind(struct uiommu_vfio *v, const char *name, bool bound);

/**
 * uiommu_vfio_open_container() - open("/dev/vfio/vfio")
 * @fd: receives the descriptor
 *
 * Return: 0; -EINVAL for NULL arguments; -EMFILE / -ENFILE from eventfd(2);
 * -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_vfio_open_container(struct uiommu_vfio *v, int *fd);

/**
 * uiommu_vfio_open_group() - open("/dev/vfio/@group_id")
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOENT for an unknown group;
 * -EBUSY if the group is already open (the kernel's single opener);
 * -EMFILE / -ENFILE; -ENOMEM.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_vfio_open_group(struct uiommu_vfio *v, unsigned int group_id, int *fd);

/**
 * uiommu_vfio_close() - close(2) a container, group or device descriptor
 *
 * Closing a device disables its interrupts; a group leaves its container
 * (the last one out frees the container's domain and mappings).
 *
 * Return: 0; -EBADF for a descriptor that is not the layer's; -EBUSY for a
 * group with open devices.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_vfio_close(int fd);

/**
 * uiommu_vfio_ioctl() - ioctl(2) on a container, group or device descriptor
 * @request: a VFIO_* request of <linux/vfio.h>
 * @arg:     its argument (a pointer, or an integer for the requests that
 *           take one: VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU)
 *
 * Return: what the kernel returns on success (0, an extension answer, the
 * new device descriptor); on failure the kernel's errno, negated: -EBADF
 * for a descriptor that is not the layer's, -ENOTTY for a request the
 * descriptor does not take, -EINVAL for a bad argsz, flags or range,
 * -EEXIST for an overlapping mapping, -ENOSPC at the mapping limit,
 * -EPERM for a group whose MSIs are not isolated, -EFAULT for a NULL
 * structure pointer, -ENOMEM.
 */
UIOMMU_API int uiommu_vfio_ioctl(int fd, unsigned long request, void *arg);

/**
 * uiommu_vfio_pread() / uiommu_vfio_pwrite() - pread(2) / pwrite(2) on a
 * device descriptor, at region offsets of VFIO_DEVICE_GET_REGION_INFO
 *
 * Configuration space: any length (split into naturally aligned 4, 2 and
 * 1-byte accesses, as vfio-pci does); writes to
 * the BARs, the expansion ROM and the MSI / MSI-X capabilities are dropped
 * (the kernel virtualizes them; interrupts are set up with SET_IRQS).
 * BARs: any size; the MSI-X table reads as all ones and ignores writes, as
 * the kernel hides it.
 *
 * Return: bytes transferred; -EBADF for a descriptor that is not a
 * device's; -EINVAL for a range outside a region or an empty configuration
 * access;
 * -EFAULT for a NULL @buf or a bus error.
 */
UIOMMU_API ssize_t uiommu_vfio_pread(int fd, void *buf, size_t count,
				     uint64_t offset);
UIOMMU_API ssize_t uiommu_vfio_pwrite(int fd, const void *buf, size_t count,
				      uint64_t offset);

/* One container mapping, as uiommu_vfio_container_mappings() reports it. */
struct uiommu_vfio_mapping {
	uint64_t iova;
	uint64_t size;
	uint64_t pa;	/* where the caller's buffer sits in physmem */
};

/**
 * uiommu_vfio_container_domain() - the unmanaged domain of a container
 * (for reports: uiommu_domain_get_msi_window(), uiommu_domain_resv_regions(),
 * the exposure report)
 * @fd:  a container descriptor
 * @dom: receives the domain; valid until the container's last group leaves
 *
 * Return: 0; -EBADF for a descriptor that is not a container; -EINVAL for
 * a NULL @dom or before VFIO_SET_IOMMU.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_vfio_container_domain(int fd, struct uiommu_domain **dom);

/**
 * uiommu_vfio_container_mappings() - the container's mappings, by IOVA
 * @out: array of @cap entries (may be NULL when @cap is 0)
 * @n:   receives the number of mappings (may exceed @cap)
 *
 * Return: 0; -EBADF for a descriptor that is not a container; -EINVAL for
 * a NULL @n.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_vfio_container_mappings(int fd, struct uiommu_vfio_mapping *out,
			       size_t cap, size_t *n);

/**
 * uiommu_vfio_device_func() - the machine function behind a device
 * descriptor (its msi_dev gives the vectors as programmed:
 * uiommu_msi_get_vector())
 *
 * Return: 0; -EBADF for a descriptor that is not a device; -EINVAL for a
 * NULL @f.
 */
UIOMMU_API UIOMMU_MUST_CHECK int
uiommu_vfio_device_func(int fd, const struct uiommu_machine_func **f);

/**
 * uiommu_vfio_check() - verify the layer's invariants (mappings sorted,
 * disjoint, each backed by its physmem region and counted; groups and
 * containers consistent; the domains' own checks)
 *
 * Return: 0, or -EUCLEAN with a log line.
 */
UIOMMU_API UIOMMU_MUST_CHECK int uiommu_vfio_check(struct uiommu_vfio *v);

#ifdef __cplusplus
}
#endif

#endif /* UIOMMU_VFIO_H */
