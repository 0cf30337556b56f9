// SPDX-License-Identifier: MIT
/*
 * VFIO conformance, modelled on how QEMU's vfio and DPDK's eal_vfio drive
 * the kernel: container and group lifecycle, GET_INFO capability chain and
 * argsz negotiation, type1 v2 map/unmap edge cases, SET_IRQS, isolation
 * refusal, a device DMA + interrupt round trip through eventfds, two groups
 * sharing one doorbell page, fail-Nth sweeps.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "testutil.h"

#include <uiommu/uiommu.h>

#define PG 0x1000ull
#define DEV0 "0000:00:01.0"
#define DEV1 "0000:00:02.0"

/* One test's world: a machine, a VFIO layer, a container with one group. */
struct world {
	struct uiommu_machine *m;
	struct uiommu_vfio *v;
	int container, group, dev;
};

static struct uiommu_machine *machine(const char *name, bool two_devices)
{
	struct uiommu_machine_opts o = { .name = name, .no_realize = two_devices };
	struct uiommu_machine *m;

	assert_int_equal(uiommu_machine_create(&o, &m), 0);
	if (two_devices) {
		struct uiommu_testdev_config c0 = { .name = "td0", .msix_vectors = 8 };
		struct uiommu_testdev_config c1 = { .name = "td1", .msix_vectors = 8 };
		struct uiommu_pci_dev *d0, *d1;

		assert_int_equal(uiommu_testdev_create(&c0, &d0), 0);
		assert_int_equal(uiommu_testdev_create(&c1, &d1), 0);
		assert_int_equal(uiommu_machine_plug(m, 0, 0, UIOMMU_PCI_DEVFN(1, 0), d0), 0);
		assert_int_equal(uiommu_machine_plug(m, 0, 0, UIOMMU_PCI_DEVFN(2, 0), d1), 0);
		assert_int_equal(uiommu_machine_realize(m), 0);
	}
	return m;
}

static const struct uiommu_machine_func *func(struct uiommu_machine *m,
					      unsigned int dev)
{
	const struct uiommu_machine_func *f =
		uiommu_machine_find_function(m, 0, 0, UIOMMU_PCI_DEVFN(dev, 0));

	assert_non_null(f);
	return f;
}

static unsigned int group_id(struct uiommu_machine *m, unsigned int dev)
{
	return uiommu_group_id(uiommu_device_group(func(m, dev)->iommu_dev));
}

/* Open container + group, set the container; optionally SET_IOMMU. */
static void world_open(struct world *w, const char *name,
		       const struct uiommu_vfio_opts *opts, bool set_iommu)
{
	memset(w, 0, sizeof(*w));
	w->m = machine(name, false);
	w->dev = -1;
	assert_int_equal(uiommu_vfio_create(w->m, opts, &w->v), 0);
	assert_int_equal(uiommu_vfio_open_container(w->v, &w->container), 0);
	assert_int_equal(uiommu_vfio_open_group(w->v, group_id(w->m, 1), &w->group), 0);
	assert_int_equal(uiommu_vfio_ioctl(w->group, VFIO_GROUP_SET_CONTAINER,
					   &w->container), 0);
	if (set_iommu)
		assert_int_equal(uiommu_vfio_ioctl(w->container, VFIO_SET_IOMMU,
						   (void *)VFIO_TYPE1v2_IOMMU), 0);
}

static void world_close(struct world *w)
{
	assert_int_equal(uiommu_vfio_check(w->v), 0);
	assert_int_equal(uiommu_machine_check(w->m), 0);
	uiommu_vfio_destroy(w->v);
	uiommu_machine_destroy(w->m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

static int ram_end_fn(void *opaque, const struct uiommu_region_info *r)
{
	uint64_t *end = opaque;

	if (r->kind == UIOMMU_REGION_RAM && strncmp(r->name, "vfio-dma", 8) &&
	    r->base + r->size > *end)
		*end = r->base + r->size;
	return 0;
}

/* The end of the machine's own RAM (not counting pinned buffers). */
static uint64_t ram_end(struct uiommu_machine *m)
{
	uint64_t end = 0;

	assert_int_equal(uiommu_physmem_for_each(uiommu_machine_physmem(m),
						 ram_end_fn, &end), 0);
	assert_true(end > 0);
	return end;
}

static int map(int c, uint64_t iova, void *buf, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map mp = {
		.argsz = sizeof(mp), .flags = flags, .vaddr = (uintptr_t)buf,
		.iova = iova, .size = size,
	};

	return uiommu_vfio_ioctl(c, VFIO_IOMMU_MAP_DMA, &mp);
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static int unmap(int c, uint64_t iova, uint64_t size, uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap um = {
		.argsz = sizeof(um), .iova = iova, .size = size,
	};
	int ret = uiommu_vfio_ioctl(c, VFIO_IOMMU_UNMAP_DMA, &um);

	if (done)
		*done = um.size;
	return ret;
}

static void *buffer(size_t size)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, PG, size), 0);
	memset(p, 0, size);
	return p;
}

static void test_lifecycle(void **state)
{
	struct uiommu_machine *m = machine("virt", false);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct uiommu_vfio_opts o = { .unbound = true };
	struct uiommu_vfio *v;
	int c, g, g2, d, buf[2];

	(void)state;
	assert_int_equal(uiommu_vfio_create(m, &o, &v), 0);
	assert_int_equal(uiommu_vfio_open_container(v, &c), 0);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_GET_API_VERSION, NULL),
			 VFIO_API_VERSION);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_CHECK_EXTENSION,
					   (void *)VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_CHECK_EXTENSION,
					   (void *)VFIO_UNMAP_ALL), 1);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_CHECK_EXTENSION,
					   (void *)VFIO_SPAPR_TCE_IOMMU), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	/* SET_IOMMU on an empty container, groups that do not exist. */
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_SET_IOMMU,
					   (void *)VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_int_equal(uiommu_vfio_open_group(v, 9999, &g), -ENOENT);
	assert_int_equal(uiommu_vfio_open_group(v, group_id(m, 1), &g), 0);
	assert_int_equal(uiommu_vfio_open_group(v, group_id(m, 1), &g2), -EBUSY);
	/* Not bound to VFIO: not viable, cannot join a container. */
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, 0);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c), -EBUSY);
	assert_int_equal(uiommu_vfio_bind(v, "0000:00:09.0", true), -ENODEV);
	assert_int_equal(uiommu_vfio_bind(v, DEV0, true), 0);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	/* A group fd is not a container. */
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_SET_CONTAINER, &g), -EINVAL);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, DEV0), -EINVAL);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c), -EINVAL);
	assert_int_equal(uiommu_vfio_bind(v, DEV0, false), -EBUSY);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE |
			 VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* Map before SET_IOMMU; a device before SET_IOMMU; a bad type. */
	assert_int_equal(map(c, 0x100000, buf, PG, RW), -EINVAL);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, DEV0), -EINVAL);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_SET_IOMMU,
					   (void *)VFIO_SPAPR_TCE_IOMMU), -ENODEV);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_SET_IOMMU,
					   (void *)VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_SET_IOMMU,
					   (void *)VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_GET_DEVICE_FD,
					   "0000:00:02.0"), -ENODEV);
	d = uiommu_vfio_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, DEV0);
	assert_true(d > 0);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, DEV0), -EBUSY);
	/* Unknown requests; descriptors that are not ours. */
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_IOMMU_MAP_DMA, buf), -ENOTTY);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_DEVICE_RESET, NULL), -ENOTTY);
	assert_int_equal(uiommu_vfio_ioctl(0, VFIO_GET_API_VERSION, NULL), -EBADF);
	assert_int_equal(uiommu_vfio_close(0), -EBADF);
	/* The group stays while a device is open. */
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), -EBUSY);
	assert_int_equal(uiommu_vfio_close(g), -EBUSY);
	assert_int_equal(uiommu_vfio_close(d), 0);
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_RESET, NULL), -EBADF);
	/* The container lives on while the group uses it. */
	assert_int_equal(uiommu_vfio_close(c), 0);
	assert_int_equal(uiommu_vfio_check(v), 0);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_int_equal(uiommu_vfio_ioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), -EINVAL);
	tu_log_release();
	/* Back in its DMA domain. */
	assert_ptr_equal(uiommu_group_domain(uiommu_device_group(func(m, 1)->iommu_dev)),
			 uiommu_group_default_domain(uiommu_device_group(func(m, 1)->iommu_dev)));
	assert_int_equal(uiommu_vfio_close(g), 0);
	assert_int_equal(uiommu_vfio_check(v), 0);
	uiommu_vfio_destroy(v);
	uiommu_machine_destroy(m);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/* Walk the capability chain of a GET_INFO answer. */
static const struct vfio_info_cap_header *find_cap(const void *info, uint16_t id)
{
	const struct vfio_iommu_type1_info *i = info;
	uint32_t off = i->cap_offset;

	while (off) {
		const struct vfio_info_cap_header *h =
			(const void *)((const char *)info + off);

		assert_int_equal(off % 8, 0);	/* caps are 8-byte aligned */
		if (h->id == id)
			return h;
		off = h->next;
	}
	return NULL;
}

static void test_get_info(void **state)
{
	struct world w;
	struct vfio_iommu_type1_info small = { .argsz = 16 }, hdr = { .argsz = sizeof(hdr) };
	const struct vfio_iommu_type1_info_cap_iova_range *ir;
	const struct vfio_iommu_type1_info_dma_avail *av;
	struct vfio_iommu_type1_info *full;
	uint32_t need;
	void *buf = buffer(PG);

	(void)state;
	world_open(&w, "virt", NULL, true);
	/* Old userspace (16 bytes): no caps copied, argsz tells the size. */
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_GET_INFO, &small), 0);
	assert_true(small.flags & VFIO_IOMMU_INFO_PGSIZES);
	assert_int_equal(small.iova_pgsizes & 0xfff, 0);
	assert_true(small.iova_pgsizes & PG);
	assert_true(small.argsz > sizeof(small));
	small.argsz = 8;
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_GET_INFO, &small), -EINVAL);
	tu_log_release();
	/* QEMU's first call: sizeof(info), then again with what it needs. */
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_GET_INFO, &hdr), 0);
	assert_true(hdr.flags & VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(hdr.cap_offset, 0);
	need = hdr.argsz;
	assert_true(need > sizeof(hdr));
	full = calloc(1, need);
	full->argsz = need;
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_GET_INFO, full), 0);
	assert_int_equal(full->argsz, need);
	assert_int_equal(full->cap_offset, sizeof(*full));
	av = (const void *)find_cap(full, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	assert_non_null(av);
	assert_int_equal(av->avail, 65535);
	ir = (const void *)find_cap(full, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	assert_non_null(ir);
	assert_int_equal(ir->header.version, 1);
	/* The sw-msi region [0x8000000, 0x80fffff] is cut out. */
	assert_true(ir->nr_iovas >= 2);
	for (uint32_t i = 0; i < ir->nr_iovas; i++) {
		assert_true(ir->iova_ranges[i].start <= ir->iova_ranges[i].end);
		assert_false(ir->iova_ranges[i].start <= 0x8000000 &&
			     0x8000000 <= ir->iova_ranges[i].end);
		if (i)
			assert_true(ir->iova_ranges[i - 1].end < ir->iova_ranges[i].start);
	}
	assert_int_equal(ir->iova_ranges[0].start, 0);
	assert_int_equal(ir->iova_ranges[0].end, 0x7ffffff);
	assert_int_equal(ir->iova_ranges[1].start, 0x8100000);
	/* One mapping: one less available. */
	assert_int_equal(map(w.container, 0x100000, buf, PG, RW), 0);
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_GET_INFO, full), 0);
	assert_int_equal(av->avail, 65534);
	free(full);
	world_close(&w);
	free(buf);
}

static void test_map_unmap_edges(void **state)
{
	struct uiommu_vfio_opts o = { .dma_entry_limit = 6 };
	struct vfio_iommu_type1_info *full;
	const struct vfio_iommu_type1_info_cap_iova_range *ir;
	struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof(um) };
	uint8_t *buf = buffer(16 * PG);
	uint64_t done = 0, last;
	struct world w;

	(void)state;
	world_open(&w, "virt", &o, true);
	full = calloc(1, PG);
	full->argsz = PG;
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_GET_INFO, full), 0);
	ir = (const void *)find_cap(full, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	last = ir->iova_ranges[ir->nr_iovas - 1].end;

	tu_log_capture(UIOMMU_LOG_ERR);
	/* Argument checks. */
	assert_int_equal(map(w.container, 0x100000, buf, 0, RW), -EINVAL);
	assert_int_equal(map(w.container, 0x100800, buf, PG, RW), -EINVAL);
	assert_int_equal(map(w.container, 0x100000, buf + 8, PG, RW), -EINVAL);
	assert_int_equal(map(w.container, 0x100000, buf, PG, 0), -EINVAL);
	assert_int_equal(map(w.container, 0x100000, buf, PG, RW | (1u << 5)), -EINVAL);
	assert_int_equal(map(w.container, UINT64_MAX - PG + 1, buf, 2 * PG, RW), -EINVAL);
	/* Outside the valid ranges: in / straddling the MSI window, beyond
	 * the aperture. */
	assert_int_equal(map(w.container, 0x8000000, buf, PG, RW), -EINVAL);
	assert_int_equal(map(w.container, 0x8000000 - PG, buf, 2 * PG, RW), -EINVAL);
	assert_int_equal(map(w.container, last + 1, buf, PG, RW), -EINVAL);
	assert_int_equal(map(w.container, last - PG + 1, buf, 2 * PG, RW), -EINVAL);
	assert_int_equal(map(w.container, last - PG + 1, buf, PG, RW), 0);

	/* [0x100000, +4 pages) and [0x200000, +2 pages). */
	assert_int_equal(map(w.container, 0x100000, buf, 4 * PG, RW), 0);
	assert_int_equal(map(w.container, 0x200000, buf + 4 * PG, 2 * PG,
			     VFIO_DMA_MAP_FLAG_READ), 0);
	/* Overlap: inside, across the start, across the end, identical. */
	assert_int_equal(map(w.container, 0x101000, buf, PG, RW), -EEXIST);
	assert_int_equal(map(w.container, 0x0ff000, buf, 2 * PG, RW), -EEXIST);
	assert_int_equal(map(w.container, 0x103000, buf, 2 * PG, RW), -EEXIST);
	assert_int_equal(map(w.container, 0x100000, buf, 4 * PG, RW), -EEXIST);
	/* Unmap that would split a mapping, at either end. */
	assert_int_equal(unmap(w.container, 0x101000, PG, NULL), -EINVAL);
	assert_int_equal(unmap(w.container, 0x100000, 2 * PG, NULL), -EINVAL);
	assert_int_equal(unmap(w.container, 0x0ff000, 2 * PG, NULL), -EINVAL);
	assert_int_equal(unmap(w.container, 0x100000, 0x800, NULL), -EINVAL);
	assert_int_equal(uiommu_vfio_check(w.v), 0);
	/* Unmapping a hole is fine and reports 0 bytes. */
	assert_int_equal(unmap(w.container, 0x300000, PG, &done), 0);
	assert_int_equal(done, 0);
	/* A range over both mappings and the gap reports only what was mapped. */
	assert_int_equal(unmap(w.container, 0x0f0000, 0x200000, &done), 0);
	assert_int_equal(done, 6 * PG);
	assert_int_equal(unmap(w.container, 0x100000, 4 * PG, &done), 0);
	assert_int_equal(done, 0);

	/* The mapping limit (6): one is left from above. */
	for (unsigned int i = 0; i < 5; i++)
		assert_int_equal(map(w.container, 0x400000 + i * 0x10000,
				     buf + i * PG, PG, RW), 0);
	assert_int_equal(map(w.container, 0x500000, buf, PG, RW), -ENOSPC);
	/* FLAG_ALL takes no range; then unmaps everything. */
	um.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	um.size = PG;
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_UNMAP_DMA, &um), -EINVAL);
	um.size = 0;
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_UNMAP_DMA, &um), 0);
	assert_int_equal(um.size, 6 * PG);
	um.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_IOMMU_UNMAP_DMA, &um), -EINVAL);
	tu_log_release();
	assert_int_equal(map(w.container, 0x500000, buf, PG, RW), 0);
	free(full);
	world_close(&w);
	free(buf);
}

/*
 * Random maps and unmaps against a plain model of type1 v2: a page array
 * holding the first page of the mapping that covers it (or -1).
 */
#define RPAGES 128
#define RBASE 0x100000ull

static void model_check(int c, const int *owner)
{
	struct uiommu_vfio_mapping mp[RPAGES];
	size_t n = 0, k = 0;

	assert_int_equal(uiommu_vfio_container_mappings(c, mp, RPAGES, &n), 0);
	for (int p = 0; p < RPAGES; p++) {
		int q = p;

		if (owner[p] != p)
			continue;
		while (q + 1 < RPAGES && owner[q + 1] == p)
			q++;
		assert_true(k < n);
		assert_int_equal(mp[k].iova, RBASE + (uint64_t)p * PG);
		assert_int_equal(mp[k].size, (uint64_t)(q - p + 1) * PG);
		k++;
	}
	assert_int_equal(k, n);
}

static void test_random_vs_model(void **state)
{
	uint8_t *buf = buffer(RPAGES * PG);
	int owner[RPAGES];
	struct world w;

	(void)state;
	tu_rand_seed(tu_seed_from_env(7));
	for (int i = 0; i < RPAGES; i++)
		owner[i] = -1;
	world_open(&w, "virt", NULL, true);
	tu_log_capture(UIOMMU_LOG_ERR);
	for (unsigned int op = 0; op < 2000; op++) {
		int p = (int)tu_rand_range(0, RPAGES - 1);
		int len = (int)tu_rand_range(1, 8), ret, want = 0;
		uint64_t done = 0, want_done = 0;

		if (p + len > RPAGES)
			len = RPAGES - p;
		if (tu_rand() & 1) {
			for (int i = p; i < p + len; i++)
				if (owner[i] >= 0)
					want = -EEXIST;
			ret = map(w.container, RBASE + (uint64_t)p * PG, buf + p * PG,
				  (uint64_t)len * PG, RW);
			assert_int_equal(ret, want);
			if (!ret)
				for (int i = p; i < p + len; i++)
					owner[i] = p;
		} else {
			int last = p + len - 1;

			if (owner[p] >= 0 && owner[p] != p)
				want = -EINVAL;
			if (owner[last] >= 0 && last + 1 < RPAGES &&
			    owner[last + 1] == owner[last])
				want = -EINVAL;
			ret = unmap(w.container, RBASE + (uint64_t)p * PG,
				    (uint64_t)len * PG, &done);
			assert_int_equal(ret, want);
			if (!ret) {
				for (int i = 0; i < RPAGES; i++)
					if (owner[i] >= p && owner[i] <= last) {
						owner[i] = -1;
						want_done += PG;
					}
				assert_int_equal(done, want_done);
			}
		}
		model_check(w.container, owner);
	}
	tu_log_release();
	assert_int_equal(uiommu_vfio_check(w.v), 0);
	world_close(&w);
	free(buf);
}

/* DPDK asks for VFIO_TYPE1_IOMMU: v1 answers to unmaps inside a mapping. */
static void test_type1_v1_unmap(void **state)
{
	uint8_t *buf = buffer(8 * PG);
	uint64_t done = 1;
	struct world w;

	(void)state;
	world_open(&w, "virt", NULL, false);
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_CHECK_EXTENSION,
					   (void *)VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_SET_IOMMU,
					   (void *)VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(map(w.container, 0x100000, buf, 4 * PG, RW), 0);
	assert_int_equal(map(w.container, 0x200000, buf + 4 * PG, 4 * PG, RW), 0);
	/* Starting inside a mapping: success, nothing unmapped. */
	assert_int_equal(unmap(w.container, 0x101000, PG, &done), 0);
	assert_int_equal(done, 0);
	/* Covering a mapping's first IOVA: the whole mapping goes. */
	assert_int_equal(unmap(w.container, 0x100000, PG, &done), 0);
	assert_int_equal(done, 4 * PG);
	assert_int_equal(unmap(w.container, 0x1ff000, 2 * PG, &done), 0);
	assert_int_equal(done, 4 * PG);
	world_close(&w);
	free(buf);
}

/* Config space write (2 bytes) through the device fd. */
static void cfg_write16(int d, unsigned int off, uint16_t val)
{
	assert_int_equal(uiommu_vfio_pwrite(d, &val, 2,
		((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40) + off), 2);
}

static uint64_t bar0(unsigned int off)
{
	return ((uint64_t)VFIO_PCI_BAR0_REGION_INDEX << 40) + off;
}

static void reg_write(int d, unsigned int off, uint64_t val, size_t size)
{
	assert_int_equal(uiommu_vfio_pwrite(d, &val, size, bar0(off)), (ssize_t)size);
}

static uint64_t reg_read(int d, unsigned int off, size_t size)
{
	uint64_t val = 0;

	assert_int_equal(uiommu_vfio_pread(d, &val, size, bar0(off)), (ssize_t)size);
	return val;
}

/* Raise vector @v through the device's register; return IRQ_STATUS. */
static uint32_t raise(int d, unsigned int v)
{
	reg_write(d, UIOMMU_TESTDEV_IRQ_RAISE, v, 4);
	return (uint32_t)reg_read(d, UIOMMU_TESTDEV_IRQ_STATUS, 4);
}

static uint64_t efd_count(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* SET_IRQS ACTION_TRIGGER with eventfds for vectors [start, start+n). */
static int set_eventfds(int d, unsigned int index, unsigned int start,
			unsigned int n, const int *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + n * sizeof(int32_t);
	struct vfio_irq_set *s = calloc(1, sz);
	int ret;

	s->argsz = (uint32_t)sz;
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = index;
	s->start = start;
	s->count = n;
	memcpy(s->data, fds, n * sizeof(int32_t));
	ret = uiommu_vfio_ioctl(d, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	return ret;
}

static int set_none(int d, unsigned int index, uint32_t action,
		    unsigned int start, unsigned int n)
{
	struct vfio_irq_set s = {
		.argsz = sizeof(s), .flags = VFIO_IRQ_SET_DATA_NONE | action,
		.index = index, .start = start, .count = n,
	};

	return uiommu_vfio_ioctl(d, VFIO_DEVICE_SET_IRQS, &s);
}

static int open_device(struct world *w, const char *name)
{
	int d = uiommu_vfio_ioctl(w->group, VFIO_GROUP_GET_DEVICE_FD, (void *)name);

	assert_true(d > 0);
	cfg_write16(d, 0x04, 0x0006);	/* memory space + bus master */
	return d;
}

static void test_device_info(void **state)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	uint32_t id = 0, word = 0;
	struct world w;
	int d;

	(void)state;
	world_open(&w, "virt", NULL, true);
	d = open_device(&w, DEV0);
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_INFO, &di), 0);
	assert_true(di.flags & VFIO_DEVICE_FLAGS_PCI);
	assert_true(di.flags & VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(di.num_regions, VFIO_PCI_NUM_REGIONS);
	assert_int_equal(di.num_irqs, VFIO_PCI_NUM_IRQS);

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	assert_int_equal(ri.size, 4096);
	assert_int_equal(uiommu_vfio_pread(d, &id, 4, ri.offset), 4);
	assert_int_equal(id, (UIOMMU_TESTDEV_DEVICE_ID << 16) | UIOMMU_TESTDEV_VENDOR_ID);
	/* BAR writes in config space are dropped (virtualized). */
	assert_int_equal(uiommu_vfio_pread(d, &word, 4, ri.offset + 0x10), 4);
	id = 0xffffffff;
	assert_int_equal(uiommu_vfio_pwrite(d, &id, 4, ri.offset + 0x10), 4);
	assert_int_equal(uiommu_vfio_pread(d, &id, 4, ri.offset + 0x10), 4);
	assert_int_equal(id, word);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_vfio_pread(d, &id, 4, ri.offset + 4096), -EINVAL);
	assert_int_equal(uiommu_vfio_pread(d, &id, 4, ri.offset + 4094), -EINVAL);
	tu_log_release();
	/* QEMU reads the whole space at once; odd lengths and offsets too. */
	{
		uint8_t cfg[256], piece[7];

		assert_int_equal(uiommu_vfio_pread(d, cfg, sizeof(cfg), ri.offset), 256);
		assert_int_equal(cfg[0], UIOMMU_TESTDEV_VENDOR_ID & 0xff);
		assert_int_equal(cfg[2], UIOMMU_TESTDEV_DEVICE_ID & 0xff);
		assert_int_equal(uiommu_vfio_pread(d, piece, 7, ri.offset + 1), 7);
		assert_memory_equal(piece, cfg + 1, 7);
	}
	tu_log_capture(UIOMMU_LOG_ERR);

	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	assert_int_equal(ri.size, UIOMMU_TESTDEV_BAR0_SIZE);
	assert_int_equal(ri.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	assert_int_equal(reg_read(d, UIOMMU_TESTDEV_ID, 4), 0x75690001);
	assert_int_equal(uiommu_vfio_pread(d, &id, 4, ri.offset + ri.size), -EINVAL);
	ri.index = VFIO_PCI_ROM_REGION_INDEX;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri), 0);
	assert_int_equal(ri.size, 0);
	ri.index = VFIO_PCI_VGA_REGION_INDEX;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri), -EINVAL);
	ri.argsz = 8;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri), -EINVAL);

	ii.index = VFIO_PCI_MSIX_IRQ_INDEX;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	assert_true(ii.count >= 8);
	assert_true(ii.flags & VFIO_IRQ_INFO_EVENTFD);
	ii.index = VFIO_PCI_INTX_IRQ_INDEX;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_IRQ_INFO, &ii), 0);
	assert_int_equal(ii.count, 0);
	ii.index = VFIO_PCI_NUM_IRQS;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
	tu_log_release();
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_RESET, NULL), 0);
	world_close(&w);
}

/* The MSI-X table reads as ones through the BAR it lives in. */
static void check_msix_hidden(struct world *w, int d)
{
	const struct uiommu_machine_func *f = func(w->m, 1);
	struct uiommu_pci_func_info fi;
	uint32_t tbl = 0, val = 0;
	uint64_t base;

	uiommu_pci_func_get_info(f->pci, &fi);
	assert_int_equal(uiommu_pci_func_cfg_read(f->pci, fi.msix_cap + 4, 4, &tbl), 0);
	base = ((uint64_t)(VFIO_PCI_BAR0_REGION_INDEX + (tbl & 7)) << 40) + (tbl & ~7u);
	assert_int_equal(uiommu_vfio_pread(d, &val, 4, base), 4);
	assert_int_equal(val, 0xffffffff);
	val = 0;
	assert_int_equal(uiommu_vfio_pwrite(d, &val, 4, base), 4);
	assert_int_equal(uiommu_vfio_pread(d, &val, 4, base + 8), 4);
	assert_int_equal(val, 0xffffffff);
}

/*
 * The round trip DPDK does: map the application's memory, enable MSI-X
 * with eventfds, program the device through BAR0, see the DMA land in the
 * application's buffer and the interrupt on the eventfd.
 */
struct events_seen {
	unsigned int n;
	struct uiommu_smmuv3_drv_event last;
};

static void record_event(void *opaque, unsigned int smmu,
			 const struct uiommu_smmuv3_drv_event *e)
{
	struct events_seen *ev = opaque;

	assert_int_equal(smmu, 0);
	ev->n++;
	ev->last = *e;
}

static void test_dma_irq_round_trip(void **state)
{
	struct events_seen ev = { 0 };
	static const char msg[] = "DMA into the caller's own memory";
	const struct uiommu_machine_func *f;
	struct uiommu_msi_vector_info vi;
	uint8_t *buf = buffer(4 * PG), back[64] = { 0 };
	int fds[8], d;
	struct world w;

	(void)state;
	world_open(&w, "virt", NULL, true);
	f = func(w.m, 1);
	d = open_device(&w, DEV0);
	assert_int_equal(map(w.container, 0x200000, buf, 4 * PG, RW), 0);
	for (unsigned int i = 0; i < 8; i++)
		fds[i] = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 8, fds), 0);
	for (unsigned int v = 0; v < 8; v++) {
		assert_int_equal(uiommu_msi_get_vector(f->msi_dev, v, &vi), 0);
		assert_int_equal(vi.address, 0x8000040);
		assert_int_equal(vi.data, vi.eventid);
	}
	check_msix_hidden(&w, d);

	/* Device -> memory, with an interrupt on vector 3 at completion. */
	assert_int_equal(uiommu_vfio_pwrite(d, msg, sizeof(msg),
					    bar0(UIOMMU_TESTDEV_BUF)), sizeof(msg));
	reg_write(d, UIOMMU_TESTDEV_DST, 0x200000 + 0x1010, 8);
	reg_write(d, UIOMMU_TESTDEV_LEN, sizeof(msg), 4);
	reg_write(d, UIOMMU_TESTDEV_BUF_OFF, 0, 4);
	reg_write(d, UIOMMU_TESTDEV_CMD, UIOMMU_TESTDEV_OP_WRITE |
		  UIOMMU_TESTDEV_CMD_IRQ | (3u << UIOMMU_TESTDEV_CMD_VEC_SHIFT), 4);
	assert_false(reg_read(d, UIOMMU_TESTDEV_STATUS, 4) & UIOMMU_TESTDEV_ST_ERROR);
	assert_memory_equal(buf + 0x1010, msg, sizeof(msg));
	assert_int_equal(efd_count(fds[3]), 1);
	reg_write(d, UIOMMU_TESTDEV_STATUS, UIOMMU_TESTDEV_ST_DONE, 4);

	/* Memory -> device. */
	memcpy(buf + 0x2000, "from the host", 14);
	reg_write(d, UIOMMU_TESTDEV_SRC, 0x202000, 8);
	reg_write(d, UIOMMU_TESTDEV_LEN, 14, 4);
	reg_write(d, UIOMMU_TESTDEV_BUF_OFF, 0x100, 4);
	reg_write(d, UIOMMU_TESTDEV_CMD, UIOMMU_TESTDEV_OP_READ, 4);
	assert_int_equal(uiommu_vfio_pread(d, back, 14,
					   bar0(UIOMMU_TESTDEV_BUF + 0x100)), 14);
	assert_string_equal((char *)back, "from the host");

	/* The report accessors the demo uses. */
	{
		struct uiommu_vfio_mapping mp[2];
		const struct uiommu_machine_func *df;
		struct uiommu_msi_window_info wi;
		struct uiommu_domain *dom;
		size_t n = 0;

		assert_int_equal(uiommu_vfio_container_mappings(w.container, mp, 2, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(mp[0].iova, 0x200000);
		assert_int_equal(mp[0].size, 4 * PG);
		/* Pinned above the machine's RAM, not in a hole of its map. */
		assert_true(mp[0].pa >= ram_end(w.m));
		assert_int_equal(uiommu_vfio_device_func(d, &df), 0);
		assert_ptr_equal(df, f);
		assert_int_equal(uiommu_vfio_device_func(w.container, &df), -EBADF);
		assert_int_equal(uiommu_vfio_container_domain(w.container, &dom), 0);
		uiommu_domain_get_msi_window(dom, &wi);
		assert_int_equal(wi.pages_used, 1);
		assert_int_equal(wi.vectors, 8);
	}
	/* Every vector once. */
	for (unsigned int v = 0; v < 8; v++)
		assert_int_equal(raise(d, v), 0);
	for (unsigned int v = 0; v < 8; v++)
		assert_int_equal(efd_count(fds[v]), 1);

	/* After unmap the device faults; the buffer is untouched; the SMMU
	 * event record reaches the machine's event handler. */
	uiommu_machine_set_smmu_event_handler(w.m, record_event, &ev);
	assert_int_equal(unmap(w.container, 0x200000, 4 * PG, NULL), 0);
	reg_write(d, UIOMMU_TESTDEV_STATUS, UIOMMU_TESTDEV_ST_DONE |
		  UIOMMU_TESTDEV_ST_ERROR, 4);
	tu_log_capture(UIOMMU_LOG_WARN);
	reg_write(d, UIOMMU_TESTDEV_DST, 0x200000, 8);
	reg_write(d, UIOMMU_TESTDEV_CMD, UIOMMU_TESTDEV_OP_WRITE, 4);
	tu_log_release();
	assert_true(reg_read(d, UIOMMU_TESTDEV_STATUS, 4) & UIOMMU_TESTDEV_ST_ERROR);
	assert_int_equal(buf[0], 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.last.type, UIOMMU_SMMUV3_EVT_F_TRANSLATION);
	assert_int_equal(ev.last.sid, f->sid);
	assert_false(ev.last.rnw);
	assert_int_equal(ev.last.input_addr, 0x200000);
	{
		struct uiommu_smmuv3_drv_stats ds;

		assert_non_null(uiommu_machine_smmu_drv(w.m, 0));
		assert_null(uiommu_machine_smmu_drv(w.m, 1));
		uiommu_smmuv3_drv_get_stats(uiommu_machine_smmu_drv(w.m, 0), &ds);
		assert_true(ds.events >= 1);
	}
	uiommu_machine_set_smmu_event_handler(w.m, NULL, NULL);
	assert_int_equal(uiommu_vfio_close(d), 0);
	for (unsigned int i = 0; i < 8; i++)
		close(fds[i]);
	world_close(&w);
	free(buf);
}

/* QEMU's pattern: enable, disable, re-enable with more vectors; masking. */
static void test_set_irqs(void **state)
{
	const struct uiommu_machine_func *f;
	struct vfio_irq_set bad = { .argsz = sizeof(bad) };
	int fds[4], d;
	struct world w;

	(void)state;
	world_open(&w, "virt", NULL, true);
	f = func(w.m, 1);
	d = open_device(&w, DEV0);
	for (unsigned int i = 0; i < 4; i++)
		fds[i] = eventfd(0, EFD_NONBLOCK);
	tu_log_capture(UIOMMU_LOG_ERR);
	/* Malformed: two data types; count 0 with eventfds; beyond count. */
	bad.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
		    VFIO_IRQ_SET_ACTION_TRIGGER;
	bad.index = VFIO_PCI_MSIX_IRQ_INDEX;
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_SET_IRQS, &bad), -EINVAL);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, fds), -EINVAL);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 4096, 1, fds), -EINVAL);
	/* Disable while disabled is refused as by the kernel. */
	assert_int_equal(set_none(d, VFIO_PCI_MSIX_IRQ_INDEX,
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0), -EINVAL);
	tu_log_release();

	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(uiommu_msi_dev_nvec(f->msi_dev), 1);
	assert_int_equal(raise(d, 0), 0);
	assert_int_equal(efd_count(fds[0]), 1);
	/* MSI while MSI-X is on: refused. */
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, fds), -EINVAL);
	tu_log_release();
	/* Disable: count 0, DATA_NONE. */
	assert_int_equal(set_none(d, VFIO_PCI_MSIX_IRQ_INDEX,
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0), 0);
	assert_int_equal(uiommu_msi_dev_nvec(f->msi_dev), 0);
	tu_log_capture(UIOMMU_LOG_WARN);
	(void)raise(d, 0);
	tu_log_release();
	assert_int_equal(efd_count(fds[0]), 0);
	/* Re-enable with 4 vectors; vector 2 without a trigger (-1). */
	fds[2] = -1;
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 4, fds), 0);
	assert_int_equal(uiommu_msi_dev_nvec(f->msi_dev), 4);
	assert_int_equal(raise(d, 2), 0);
	fds[2] = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 2, 1, &fds[2]), 0);
	assert_int_equal(raise(d, 2), 0);
	assert_int_equal(efd_count(fds[2]), 1);
	/* Loopback trigger (DATA_NONE, count > 0) signals the eventfds. */
	assert_int_equal(set_none(d, VFIO_PCI_MSIX_IRQ_INDEX,
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 2), 0);
	assert_int_equal(efd_count(fds[0]), 1);
	assert_int_equal(efd_count(fds[1]), 1);
	/* Mask (extension): the interrupt waits, arrives on unmask. */
	assert_int_equal(set_none(d, VFIO_PCI_MSIX_IRQ_INDEX,
				  VFIO_IRQ_SET_ACTION_MASK, 1, 1), 0);
	(void)raise(d, 1);
	assert_int_equal(efd_count(fds[1]), 0);
	assert_int_equal(set_none(d, VFIO_PCI_MSIX_IRQ_INDEX,
				  VFIO_IRQ_SET_ACTION_UNMASK, 1, 1), 0);
	assert_int_equal(efd_count(fds[1]), 1);
	/* Back to MSI (multiple message, 2 vectors) after disabling MSI-X. */
	assert_int_equal(set_none(d, VFIO_PCI_MSIX_IRQ_INDEX,
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0), 0);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	{
		struct uiommu_msi_vector_info vi;

		assert_int_equal(uiommu_msi_get_vector(f->msi_dev, 1, &vi), 0);
		assert_false(vi.msix);
		assert_int_equal(vi.address, 0x8000040);
	}
	assert_int_equal(raise(d, 1), 0);
	assert_int_equal(efd_count(fds[1]), 1);
	assert_int_equal(efd_count(fds[0]), 0);
	/* Reset disables interrupts. */
	assert_int_equal(uiommu_vfio_ioctl(d, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(uiommu_msi_dev_nvec(f->msi_dev), 0);
	/* Closing the device with vectors on disables them. */
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), 0);
	assert_int_equal(uiommu_vfio_close(d), 0);
	assert_int_equal(uiommu_msi_dev_nvec(f->msi_dev), 0);
	for (unsigned int i = 0; i < 4; i++)
		close(fds[i]);
	world_close(&w);
}

/* The explicit MSI window: vectors use it; mappings may not enter it. */
static void test_msi_window_extension(void **state)
{
	const struct uiommu_machine_func *f;
	struct uiommu_msi_vector_info vi;
	uint8_t *buf = buffer(PG);
	struct world w;
	int fd, d;

	(void)state;
	world_open(&w, "virt", NULL, true);
	f = func(w.m, 1);
	assert_int_equal(map(w.container, 0x40000000, NULL, 0x100000,
			     VFIO_DMA_MAP_FLAG_MSI_RESERVED_IOVA), 0);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(map(w.container, 0x40010000, buf, PG, RW), -EINVAL);
	assert_int_equal(map(w.container, 0x3ffff000, buf, 2 * PG, RW), -EINVAL);
	tu_log_release();
	/* The default sw-msi window no longer applies. */
	assert_int_equal(map(w.container, 0x8000000, buf, PG, RW), 0);
	d = open_device(&w, DEV0);
	fd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	assert_int_equal(uiommu_msi_get_vector(f->msi_dev, 0, &vi), 0);
	assert_int_equal(vi.address, 0x40000040);
	assert_int_equal(raise(d, 0), 0);
	assert_int_equal(efd_count(fd), 1);
	close(fd);
	world_close(&w);
	free(buf);
}

/* virt-gicv2m: v2m does not tell devices apart: refused unless allowed. */
static void test_isolation(void **state)
{
	struct uiommu_vfio_opts unsafe = { .allow_unsafe_interrupts = true };
	struct world w;
	int fd, d;

	(void)state;
	world_open(&w, "virt-gicv2m", NULL, false);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_SET_IOMMU,
					   (void *)VFIO_TYPE1v2_IOMMU), -EPERM);
	assert_non_null(strstr(tu_log_text(), "allow_unsafe_interrupts"));
	tu_log_release();
	world_close(&w);

	world_open(&w, "virt-gicv2m", &unsafe, false);
	tu_log_capture(UIOMMU_LOG_WARN);
	assert_int_equal(uiommu_vfio_ioctl(w.container, VFIO_SET_IOMMU,
					   (void *)VFIO_TYPE1v2_IOMMU), 0);
	assert_non_null(strstr(tu_log_text(), "allow_unsafe_interrupts"));
	tu_log_release();
	d = open_device(&w, DEV0);
	fd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	assert_int_equal(raise(d, 0), 0);
	assert_int_equal(efd_count(fd), 1);
	close(fd);
	world_close(&w);
}

/* Two devices in their own groups, one container: one doorbell page. */
static void test_two_groups_one_doorbell(void **state)
{
	struct uiommu_machine *m = machine("virt", true);
	struct uiommu_msi_window_info wi;
	struct uiommu_msi_vector_info v0, v1;
	struct uiommu_vfio *v;
	int c, g0, g1, d0, d1, fd0, fd1;

	(void)state;
	assert_int_not_equal(group_id(m, 1), group_id(m, 2));
	assert_int_equal(uiommu_vfio_create(m, NULL, &v), 0);
	assert_int_equal(uiommu_vfio_open_container(v, &c), 0);
	assert_int_equal(uiommu_vfio_open_group(v, group_id(m, 1), &g0), 0);
	assert_int_equal(uiommu_vfio_open_group(v, group_id(m, 2), &g1), 0);
	assert_int_equal(uiommu_vfio_ioctl(g0, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(uiommu_vfio_ioctl(c, VFIO_SET_IOMMU,
					   (void *)VFIO_TYPE1v2_IOMMU), 0);
	/* The second group joins the live container: attached at once. */
	assert_int_equal(uiommu_vfio_ioctl(g1, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_ptr_equal(uiommu_group_domain(uiommu_device_group(func(m, 1)->iommu_dev)),
			 uiommu_group_domain(uiommu_device_group(func(m, 2)->iommu_dev)));
	d0 = uiommu_vfio_ioctl(g0, VFIO_GROUP_GET_DEVICE_FD, DEV0);
	d1 = uiommu_vfio_ioctl(g1, VFIO_GROUP_GET_DEVICE_FD, DEV1);
	assert_true(d0 > 0 && d1 > 0);
	cfg_write16(d0, 0x04, 0x0006);
	cfg_write16(d1, 0x04, 0x0006);
	tu_log_capture(UIOMMU_LOG_ERR);
	assert_int_equal(uiommu_vfio_ioctl(g0, VFIO_GROUP_GET_DEVICE_FD, DEV1), -ENODEV);
	tu_log_release();
	fd0 = eventfd(0, EFD_NONBLOCK);
	fd1 = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(set_eventfds(d0, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd0), 0);
	assert_int_equal(set_eventfds(d1, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd1), 0);
	assert_int_equal(uiommu_msi_get_vector(func(m, 1)->msi_dev, 0, &v0), 0);
	assert_int_equal(uiommu_msi_get_vector(func(m, 2)->msi_dev, 0, &v1), 0);
	assert_int_equal(v0.address, 0x8000040);
	assert_int_equal(v1.address, 0x8000040);
	uiommu_domain_get_msi_window(uiommu_group_domain(
		uiommu_device_group(func(m, 1)->iommu_dev)), &wi);
	assert_int_equal(wi.pages_used, 1);
	assert_int_equal(wi.vectors, 2);
	assert_int_equal(raise(d0, 0), 0);
	assert_int_equal(raise(d1, 0), 0);
	assert_int_equal(efd_count(fd0), 1);
	assert_int_equal(efd_count(fd1), 1);
	assert_int_equal(uiommu_vfio_check(v), 0);
	/* destroy closes the devices, groups and container in order. */
	uiommu_vfio_destroy(v);
	assert_int_equal(uiommu_machine_check(m), 0);
	uiommu_machine_destroy(m);
	close(fd0);
	close(fd1);
	assert_int_equal(tu_alloc_live_blocks(), 0);
}

/* The demo's size: 64 MiB of the caller's memory in one mapping; the
 * device reaches its last page. */
static void test_map_64m(void **state)
{
	const uint64_t sz = 64ull << 20, iova = 0x40000000;
	static const char msg[] = "end of 64 MiB";
	uint8_t *buf = buffer(sz);
	struct world w;
	uint64_t done = 0;
	int d;

	(void)state;
	world_open(&w, "virt", NULL, true);
	d = open_device(&w, DEV0);
	assert_int_equal(map(w.container, iova, buf, sz, RW), 0);
	assert_int_equal(uiommu_vfio_pwrite(d, msg, sizeof(msg),
					    bar0(UIOMMU_TESTDEV_BUF)), sizeof(msg));
	reg_write(d, UIOMMU_TESTDEV_DST, iova + sz - PG, 8);
	reg_write(d, UIOMMU_TESTDEV_LEN, sizeof(msg), 4);
	reg_write(d, UIOMMU_TESTDEV_BUF_OFF, 0, 4);
	reg_write(d, UIOMMU_TESTDEV_CMD, UIOMMU_TESTDEV_OP_WRITE, 4);
	assert_false(reg_read(d, UIOMMU_TESTDEV_STATUS, 4) & UIOMMU_TESTDEV_ST_ERROR);
	assert_memory_equal(buf + sz - PG, msg, sizeof(msg));
	assert_int_equal(unmap(w.container, iova, sz, &done), 0);
	assert_int_equal(done, sz);
	world_close(&w);
	free(buf);
}

/*
 * Interrupts raised from another thread while the owner moves the trigger
 * between two eventfds: each arrives exactly once on one of them.
 * (Suite 'threads': run under TSan.)
 */
#define RAISES 2000

struct raiser {
	struct uiommu_machine *m;
	uint64_t reg;
	int errors;
};

static void *raise_thread(void *arg)
{
	struct raiser *r = arg;
	struct uiommu_physmem *pm = uiommu_machine_physmem(r->m);

	for (unsigned int i = 0; i < RAISES; i++) {
		uint64_t st = 1;

		if (uiommu_phys_st(pm, r->reg + UIOMMU_TESTDEV_IRQ_RAISE, 4, 0, NULL) ||
		    uiommu_phys_ld(pm, r->reg + UIOMMU_TESTDEV_IRQ_STATUS, 4, &st, NULL) ||
		    st)
			r->errors++;
	}
	return NULL;
}

static void test_threads_trigger_swap(void **state)
{
	struct uiommu_pci_func_info fi;
	struct raiser r;
	struct world w;
	pthread_t t;
	int fds[2], d;
	uint64_t total = 0;

	(void)state;
	world_open(&w, "virt", NULL, true);
	d = open_device(&w, DEV0);
	fds[0] = eventfd(0, EFD_NONBLOCK);
	fds[1] = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fds[0]), 0);
	uiommu_pci_func_get_info(func(w.m, 1)->pci, &fi);
	r = (struct raiser){ .m = w.m, .reg = fi.bar[0].addr };
	assert_int_equal(pthread_create(&t, NULL, raise_thread, &r), 0);
	for (unsigned int i = 0; i < 200; i++)
		assert_int_equal(set_eventfds(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1,
					      &fds[i & 1]), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.errors, 0);
	total = efd_count(fds[0]) + efd_count(fds[1]);
	assert_int_equal(total, RAISES);
	assert_int_equal(uiommu_vfio_close(d), 0);
	close(fds[0]);
	close(fds[1]);
	world_close(&w);
}

/* Fail-Nth over SET_IOMMU and MAP_DMA: -ENOMEM, nothing changed. */
struct sweep {
	struct world w;
	void *buf;
};

static int set_iommu_op(void *ctx)
{
	struct sweep *s = ctx;

	return uiommu_vfio_ioctl(s->w.container, VFIO_SET_IOMMU,
				 (void *)VFIO_TYPE1v2_IOMMU);
}

static void set_iommu_check(void *ctx, int ret)
{
	struct sweep *s = ctx;
	struct uiommu_group *g = uiommu_device_group(func(s->w.m, 1)->iommu_dev);

	assert_int_equal(ret, -ENOMEM);
	assert_ptr_equal(uiommu_group_domain(g), uiommu_group_default_domain(g));
	assert_int_equal(map(s->w.container, 0x100000, s->buf, PG, RW), -EINVAL);
	assert_int_equal(uiommu_vfio_check(s->w.v), 0);
}

static int map_op(void *ctx)
{
	struct sweep *s = ctx;

	return map(s->w.container, 0x100000, s->buf, 2 * PG, RW);
}

static void map_check(void *ctx, int ret)
{
	struct sweep *s = ctx;
	struct vfio_iommu_type1_info *full = calloc(1, PG);
	const struct vfio_iommu_type1_info_dma_avail *av;

	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(uiommu_vfio_check(s->w.v), 0);
	full->argsz = PG;
	ret = uiommu_vfio_ioctl(s->w.container, VFIO_IOMMU_GET_INFO, full);
	if (!ret) {
		av = (const void *)find_cap(full, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
		assert_int_equal(av->avail, 65535);
	}
	free(full);
}

static void test_fail_nth(void **state)
{
	struct sweep s;
	unsigned long n;
	uint64_t done;

	(void)state;
	s.buf = buffer(2 * PG);
	world_open(&s.w, "virt", NULL, false);
	tu_log_capture(UIOMMU_LOG_ERR);
	n = tu_fail_nth_sweep(&s, set_iommu_op, set_iommu_check, NULL);
	assert_true(n > 0);
	n = tu_fail_nth_sweep(&s, map_op, map_check, NULL);
	tu_log_release();
	assert_true(n > 0);
	assert_int_equal(unmap(s.w.container, 0x100000, 2 * PG, &done), 0);
	assert_int_equal(done, 2 * PG);
	world_close(&s.w);
	free(s.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_get_info),
		cmocka_unit_test(test_map_unmap_edges),
		cmocka_unit_test(test_type1_v1_unmap),
		cmocka_unit_test(test_random_vs_model),
		cmocka_unit_test(test_map_64m),
		cmocka_unit_test(test_device_info),
		cmocka_unit_test(test_dma_irq_round_trip),
		cmocka_unit_test(test_set_irqs),
		cmocka_unit_test(test_msi_window_extension),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_two_groups_one_doorbell),
		cmocka_unit_test(test_threads_trigger_swap),
		cmocka_unit_test(test_fail_nth),
	};

	tu_alloc_install(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
