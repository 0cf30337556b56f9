// SPDX-License-Identifier: MIT
/*
 * The test device assigned through VFIO (assign.h): each step as a
 * DPDK-like program takes it against the kernel.  Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uiommu/uiommu.h>

#include "assign.h"
#include "tool.h"

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end ? -EINVAL : 0;
}

int tool_assign_parse_opt(int argc, char **argv, int *i,
			  struct tool_assign_opts *ao)
{
	const char *a = argv[*i];
	uint64_t n;

	if (!strcmp(a, "--allow-unsafe-interrupts")) {
		ao->allow_unsafe = true;
		return 1;
	}
	if (strcmp(a, "--msi-window") && strcmp(a, "--vectors"))
		return 0;
	if (*i + 1 >= argc || parse_u64(argv[++*i], &n) || !n)
		return -EINVAL;
	if (!strcmp(a, "--msi-window")) {
		ao->msi_window = n;
		return 1;
	}
	if (n > UIOMMU_TESTDEV_MAX_VECTORS)
		return -EINVAL;
	ao->vectors = (unsigned int)n;
	return 1;
}

int tool_assign_fail(const struct tool_assign *a, const char *what, int err)
{
	fprintf(stderr, "uiommu %s: %s: %s\n", a->o.who, what,
		uiommu_strerror(err));
	return err < 0 ? err : -EIO;
}

static int open_container(struct tool_assign *d)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct uiommu_vfio_opts vo = {
		.allow_unsafe_interrupts = d->o.allow_unsafe,
	};
	int ret;

	ret = uiommu_vfio_create(d->m, &vo, &d->v);
	if (ret)
		return tool_assign_fail(d, "VFIO layer", ret);
	ret = uiommu_vfio_open_container(d->v, &d->container);
	if (ret)
		return tool_assign_fail(d, "open /dev/vfio/vfio", ret);
	if (uiommu_vfio_ioctl(d->container, VFIO_GET_API_VERSION, NULL) !=
	    VFIO_API_VERSION ||
	    uiommu_vfio_ioctl(d->container, VFIO_CHECK_EXTENSION,
			      (void *)VFIO_TYPE1v2_IOMMU) != 1)
		return tool_assign_fail(d, "VFIO API version / TYPE1v2 extension", -ENOTSUP);
	d->group_id = uiommu_group_id(uiommu_device_group(d->f->iommu_dev));
	ret = uiommu_vfio_open_group(d->v, d->group_id, &d->group);
	if (ret)
		return tool_assign_fail(d, "open the group", ret);
	ret = uiommu_vfio_ioctl(d->group, VFIO_GROUP_GET_STATUS, &st);
	if (ret || !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return tool_assign_fail(d, "group not viable", ret ? ret : -EBUSY);
	ret = uiommu_vfio_ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container);
	if (ret)
		return tool_assign_fail(d, "VFIO_GROUP_SET_CONTAINER", ret);
	ret = uiommu_vfio_ioctl(d->container, VFIO_SET_IOMMU,
				(void *)VFIO_TYPE1v2_IOMMU);
	if (ret == -EPERM) {
		fprintf(stderr,
			"uiommu %s: VFIO_SET_IOMMU: %s: group %u's MSIs are not "
			"isolated (%s has no DeviceID side band: any device could "
			"raise any of its SPIs).\n"
			"uiommu %s: refusing, as the kernel does; run with "
			"--allow-unsafe-interrupts to accept the risk.\n",
			d->o.who, uiommu_strerror(ret), d->group_id,
			d->f->msi_node ? d->f->msi_node : "the MSI controller",
			d->o.who);
		return ret;
	}
	if (ret)
		return tool_assign_fail(d, "VFIO_SET_IOMMU", ret);
	ret = uiommu_vfio_container_domain(d->container, &d->dom);
	if (ret)
		return tool_assign_fail(d, "container domain", ret);
	return 0;
}

/* VFIO_IOMMU_GET_INFO with argsz negotiation, then the capability chain. */
static int get_iova_info(struct tool_assign *d)
{
	struct vfio_iommu_type1_info hdr = { .argsz = sizeof(hdr) };
	struct vfio_iommu_type1_info *info;
	int ret;

	ret = uiommu_vfio_ioctl(d->container, VFIO_IOMMU_GET_INFO, &hdr);
	if (ret)
		return tool_assign_fail(d, "VFIO_IOMMU_GET_INFO", ret);
	info = calloc(1, hdr.argsz);
	if (!info)
		return tool_assign_fail(d, "VFIO_IOMMU_GET_INFO", -ENOMEM);
	info->argsz = hdr.argsz;
	ret = uiommu_vfio_ioctl(d->container, VFIO_IOMMU_GET_INFO, info);
	if (ret || !(info->flags & VFIO_IOMMU_INFO_CAPS)) {
		free(info);
		return tool_assign_fail(d, "VFIO_IOMMU_GET_INFO capabilities", ret ? ret : -ENODATA);
	}
	for (uint32_t off = info->cap_offset; off;) {
		const struct vfio_info_cap_header *h =
			(const void *)((const char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			const struct vfio_iommu_type1_info_cap_iova_range *r =
				(const void *)h;

			for (uint32_t i = 0; i < r->nr_iovas &&
					     d->nranges < ASSIGN_MAX_RANGES; i++)
				d->ranges[d->nranges++] = r->iova_ranges[i];
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			const struct vfio_iommu_type1_info_dma_avail *a =
				(const void *)h;

			d->dma_avail = a->avail;
			d->have_avail = true;
		}
		off = h->next;
	}
	free(info);
	return d->nranges ? 0 : tool_assign_fail(d, "no IOVA_RANGE capability", -ENODATA);
}

/* The first 2 MiB-aligned IOVA of a valid range that holds the buffer, at
 * or above 1 MiB (IOVA 0 is a classic bug catcher). */
static int pick_iova(struct tool_assign *d)
{
	const uint64_t align = 0x200000;

	for (unsigned int i = 0; i < d->nranges; i++) {
		uint64_t s = d->ranges[i].start < (1u << 20) ? (1u << 20) :
			     d->ranges[i].start, end = d->ranges[i].end;

		if (s > UINT64_MAX - (align - 1))
			continue;	/* no aligned start in the range */
		s = (s + align - 1) & ~(align - 1);
		if (s <= end && end - s >= ASSIGN_BUF_SIZE - 1) {
			d->iova = s;
			return 0;
		}
	}
	return tool_assign_fail(d, "no valid IOVA range holds 64 MiB", -ENOSPC);
}

static int map_dma(struct tool_assign *d, uint64_t iova, void *va, uint64_t size,
		   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map mp = {
		.argsz = sizeof(mp), .flags = flags, .vaddr = (uintptr_t)va,
		.iova = iova, .size = size,
	};

	return uiommu_vfio_ioctl(d->container, VFIO_IOMMU_MAP_DMA, &mp);
}

static int map_memory(struct tool_assign *d)
{
	int ret;

	if (d->o.msi_window) {
		ret = map_dma(d, d->o.msi_window, NULL, UIOMMU_SMMUV3_DRV_MSI_SIZE,
			      VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA);
		if (ret)
			return tool_assign_fail(d, "MAP_DMA(MSI_RESERVED_IOVA): the MSI window", ret);
	}
	ret = get_iova_info(d);
	if (ret)
		return ret;
	d->buf = mmap(NULL, ASSIGN_BUF_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->buf == MAP_FAILED) {
		d->buf = NULL;
		return tool_assign_fail(d, "mmap 64 MiB", -errno);
	}
	ret = pick_iova(d);
	if (ret)
		return ret;
	ret = map_dma(d, d->iova, d->buf, ASSIGN_BUF_SIZE,
		      VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	return ret ? tool_assign_fail(d, "VFIO_IOMMU_MAP_DMA", ret) : 0;
}

static int region_offset(struct tool_assign *d, unsigned int index, uint64_t *off)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };
	int ret = uiommu_vfio_ioctl(d->dev, VFIO_DEVICE_GET_REGION_INFO, &ri);

	*off = ri.offset;
	return ret;
}

static int open_device(struct tool_assign *d)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	char name[TOOL_BDF_LEN];
	uint16_t cmd = 0;
	int ret;

	tool_bdf(d->f, name);
	ret = uiommu_vfio_ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (ret < 0)
		return tool_assign_fail(d, "VFIO_GROUP_GET_DEVICE_FD", ret);
	d->dev = ret;
	ret = uiommu_vfio_ioctl(d->dev, VFIO_DEVICE_GET_INFO, &di);
	if (!ret && !(di.flags & VFIO_DEVICE_FLAGS_PCI))
		ret = -ENODEV;
	if (!ret)
		ret = region_offset(d, VFIO_PCI_CONFIG_REGION_INDEX, &d->cfg);
	if (!ret)
		ret = region_offset(d, VFIO_PCI_BAR0_REGION_INDEX, &d->bar0);
	if (ret)
		return tool_assign_fail(d, "device info", ret);
	/* Memory Space + Bus Master Enable, read-modify-write as vfio-pci
	 * users do. */
	if (uiommu_vfio_pread(d->dev, &cmd, 2, d->cfg + 0x04) != 2)
		return tool_assign_fail(d, "config read", -EIO);
	cmd |= 0x0006;
	if (uiommu_vfio_pwrite(d->dev, &cmd, 2, d->cfg + 0x04) != 2)
		return tool_assign_fail(d, "config write", -EIO);
	return 0;
}

/* One eventfd per vector: raise RLIMIT_NOFILE (soft) when needed. */
static int want_fds(const struct tool_assign *d, unsigned int n)
{
	rlim_t need = (rlim_t)n + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < need) {
		fprintf(stderr, "uiommu %s: %u vectors need %llu file "
			"descriptors but RLIMIT_NOFILE allows %llu: raise it "
			"(ulimit -n) or use --vectors\n", d->o.who, n,
			(unsigned long long)need, (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

static int enable_msix(struct tool_assign *d)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii),
				    .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vfio_irq_set *s;
	size_t sz;
	int ret;

	ret = uiommu_vfio_ioctl(d->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii);
	if (ret || !ii.count || !(ii.flags & VFIO_IRQ_INFO_EVENTFD))
		return tool_assign_fail(d, "VFIO_DEVICE_GET_IRQ_INFO(MSI-X)", ret ? ret : -ENODEV);
	d->irq_count = ii.count;
	d->nvec = d->o.vectors && d->o.vectors < ii.count ? d->o.vectors : ii.count;
	ret = want_fds(d, d->nvec);
	if (ret)
		return ret;
	d->efd = calloc(d->nvec, sizeof(int));
	if (!d->efd)
		return tool_assign_fail(d, "vectors", -ENOMEM);
	d->nefd = d->nvec;
	for (unsigned int i = 0; i < d->nefd; i++)
		d->efd[i] = -1;
	sz = sizeof(*s) + d->nvec * sizeof(int32_t);
	s = calloc(1, sz);
	if (!s)
		return tool_assign_fail(d, "vectors", -ENOMEM);
	for (unsigned int i = 0; i < d->nvec; i++) {
		d->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->efd[i] < 0) {
			fprintf(stderr, "uiommu %s: eventfd: %s\n", d->o.who,
				strerror(errno));
			free(s);
			return -EMFILE;
		}
	}
	/*
	 * All of the device's vectors, unless the MSI controller has fewer
	 * (a GICv2m frame has a few dozen SPIs): then the largest power of
	 * two it can give, as a driver asking pci_alloc_irq_vectors() for a
	 * range would settle for.  An explicit --vectors is not reduced.
	 */
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	tool_log_errors(false);	/* the refused attempts are expected */
	for (;;) {
		s->argsz = (uint32_t)(sizeof(*s) + d->nvec * sizeof(int32_t));
		s->count = d->nvec;
		memcpy(s->data, d->efd, d->nvec * sizeof(int32_t));
		ret = uiommu_vfio_ioctl(d->dev, VFIO_DEVICE_SET_IRQS, s);
		if (ret != -ENOSPC || d->o.vectors || d->nvec == 1)
			break;
		d->nvec = d->nvec & (d->nvec - 1) ? 1u << (31 - __builtin_clz(d->nvec))
						    : d->nvec / 2;
		d->reduced = true;
	}
	tool_log_errors(true);
	free(s);
	return ret ? tool_assign_fail(d, "VFIO_DEVICE_SET_IRQS(MSI-X, eventfds)", ret) : 0;
}

int tool_assign(struct tool_assign *a)
{
	int ret;

	a->container = a->group = a->dev = -1;
	a->f = uiommu_machine_find_function(a->m, 0, 0, UIOMMU_PCI_DEVFN(1, 0));
	if (!a->f)
		return tool_assign_fail(a, "no test device at 0000:00:01.0", -ENODEV);
	if (!a->f->iommu_dev) {
		fprintf(stderr, "uiommu %s: %s: no IOMMU translates the test "
			"device's DMA, so it has no group to assign through VFIO "
			"type1 (the kernel's no-IOMMU mode is not modelled)\n",
			a->o.who, a->o.source);
		return -ENODEV;
	}
	ret = open_container(a);
	if (!ret)
		ret = map_memory(a);
	if (!ret)
		ret = open_device(a);
	if (!ret)
		ret = enable_msix(a);
	return ret;
}

void tool_assign_release(struct tool_assign *a)
{
	if (a->dev >= 0 && uiommu_vfio_close(a->dev))
		fprintf(stderr, "uiommu %s: closing the device failed\n", a->o.who);
	a->dev = -1;
	for (unsigned int i = 0; i < a->nefd; i++)
		if (a->efd[i] >= 0)
			close(a->efd[i]);
	free(a->efd);
	a->efd = NULL;
	a->nefd = 0;
	uiommu_vfio_destroy(a->v);	/* closes group and container */
	a->v = NULL;
	if (a->buf)
		munmap(a->buf, ASSIGN_BUF_SIZE);
	a->buf = NULL;
}
