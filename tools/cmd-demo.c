// SPDX-License-Identifier: MIT
/*
 * uiommu demo: the main job, what a VFIO user sees.
 *
 * The default machine (GICv3 + ITS, SMMUv3, the DMA test device at
 * 0000:00:01.0) is driven exactly as a DPDK-like program drives the kernel:
 * container + group, VFIO_SET_IOMMU(TYPE1v2), GET_INFO and its IOVA ranges,
 * 64 MiB of the tool's own memory mapped with MAP_DMA, Bus Master enabled
 * through the config region, every MSI-X vector enabled with an eventfd
 * (SET_IRQS), DMA in both directions through BAR0, every vector raised and
 * read back from its eventfd, then a deliberate DMA fault.  The report
 * shows what the IOMMU core did on the way: reserved regions, the MSI
 * window and doorbell bindings, what they expose, the isolation verdict,
 * the fault as the SMMU recorded it, counters; then PASS or FAIL.
 *
 * The text form has no timings (golden-tested); -o json carries
 * "format_version".  Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/vfio.h>

#include <uiommu/uiommu.h>

#include "assign.h"
#include "tool.h"

#define FORMAT_VERSION 1
#define BUF_SIZE ASSIGN_BUF_SIZE
#define CHUNK UIOMMU_TESTDEV_BUF_BYTES
#define MAX_RESV 32
#define MAX_CHECKS 24
#define MAX_EXPOSE 64
#define MSIX_SHOWN 4
#define MAX_EVENTS 8

struct demo_opts {
	const char *machine;
	const char *dtb;
	struct tool_assign_opts ao;	/* --msi-window, --vectors, ... */
};

struct check {
	const char *name;
	bool ok;
	char detail[96];
};

struct expose {
	struct uiommu_exposure_page page;
	struct uiommu_exposure_entry e;
};

struct demo {
	struct demo_opts o;
	struct uiommu_machine *m;
	struct tool_assign a;		/* the device, assigned */
	uint64_t irqs_read;
	uint64_t dma_bytes;
	uint64_t dma_cmds;	/* the device's DMA_COUNT register */
	struct uiommu_fault fault;
	bool faulted;
	uint64_t fault_iova;
	uint32_t fault_status;
	uint64_t fault_addr;
	struct uiommu_smmuv3_stats smmu_before, smmu;
	struct uiommu_smmuv3_drv_stats drv;
	struct uiommu_smmuv3_drv_event events[MAX_EVENTS];
	unsigned int nevents;
	struct check checks[MAX_CHECKS];
	unsigned int nchecks;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: uiommu demo [--machine virt|virt-gicv2m|virt-noiommu] [--dtb FILE]\n"
		"                   [--msi-window IOVA] [--allow-unsafe-interrupts]\n"
		"                   [--vectors N] [-o text|json] [--trace GLOB]\n"
		"       uiommu demo --iova   (the IOVA allocator on its own)\n");
}

static int parse_args(int argc, char **argv, struct demo_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->machine = "virt";
	for (int i = 1; i < argc; i++) {
		int ret = tool_assign_parse_opt(argc, argv, &i, &o->ao);

		if (ret < 0)
			goto bad;
		if (ret)
			continue;
		if (tool_machine_parse_opt(argc, argv, &i, &o->machine,
					   &o->dtb) <= 0)
			goto bad;
	}
	return 0;
bad:
	usage();
	return -EINVAL;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "uiommu demo: %s: %s\n", what, uiommu_strerror(err));
	return err < 0 ? err : -EIO;
}

static bool check(struct demo *d, const char *name, bool ok,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool check(struct demo *d, const char *name, bool ok,
		  const char *fmt, ...)
{
	struct check *c;
	va_list ap;

	if (d->nchecks == MAX_CHECKS)
		return ok;
	c = &d->checks[d->nchecks++];
	c->name = name;
	c->ok = ok;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return ok;
}

/* ------------------------------------------------------ device registers */

static int reg_write(struct demo *d, unsigned int off, uint64_t val, size_t n)
{
	ssize_t r = uiommu_vfio_pwrite(d->a.dev, &val, n, d->a.bar0 + off);

	return r == (ssize_t)n ? 0 : (r < 0 ? (int)r : -EIO);
}

static uint64_t reg_read(struct demo *d, unsigned int off, size_t n)
{
	uint64_t val = 0;

	if (uiommu_vfio_pread(d->a.dev, &val, n, d->a.bar0 + off) != (ssize_t)n)
		return ~0ull;
	return val;
}

/* Run one command; return STATUS (DONE/ERROR acknowledged after). */
static uint32_t run_cmd(struct demo *d, uint32_t cmd)
{
	uint32_t st;

	if (reg_write(d, UIOMMU_TESTDEV_CMD, cmd, 4))
		return UIOMMU_TESTDEV_ST_ERROR;
	st = (uint32_t)reg_read(d, UIOMMU_TESTDEV_STATUS, 4);
	(void)reg_write(d, UIOMMU_TESTDEV_STATUS,
			UIOMMU_TESTDEV_ST_DONE | UIOMMU_TESTDEV_ST_ERROR, 4);
	return st;
}

/* ------------------------------------------------------------ VFIO steps */

static int on_fault(void *opaque, struct uiommu_domain *dom,
		    const struct uiommu_fault *fault)
{
	struct demo *d = opaque;

	(void)dom;
	if (!d->faulted) {
		d->fault = *fault;
		d->faulted = true;
	}
	return 0;
}

static void on_smmu_event(void *opaque, unsigned int smmu,
			  const struct uiommu_smmuv3_drv_event *ev)
{
	struct demo *d = opaque;

	(void)smmu;
	if (d->nevents < MAX_EVENTS)
		d->events[d->nevents++] = *ev;
}










/* -------------------------------------------------------------- the work */

static uint8_t pattern(uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> (56 - 8 * (i & 7)) ^ (i >> 12));
}

/*
 * The first half of the buffer holds a pattern; the device reads it chunk
 * by chunk into its own buffer (memory -> device, checked through BAR0)
 * and writes each chunk to the second half (device -> memory, checked
 * against the first half).
 */
static void dma_both_ways(struct demo *d)
{
	const uint64_t half = BUF_SIZE / 2;
	static uint8_t back[CHUNK];
	uint64_t bad_read = 0, bad_write = 0, errors = 0;

	for (uint64_t i = 0; i < half; i++)
		d->a.buf[i] = pattern(i);
	memset(d->a.buf + half, 0, half);
	for (uint64_t off = 0; off < half; off += CHUNK) {
		uint32_t st;

		(void)reg_write(d, UIOMMU_TESTDEV_SRC, d->a.iova + off, 8);
		(void)reg_write(d, UIOMMU_TESTDEV_LEN, CHUNK, 4);
		(void)reg_write(d, UIOMMU_TESTDEV_BUF_OFF, 0, 4);
		st = run_cmd(d, UIOMMU_TESTDEV_OP_READ);
		errors += !!(st & UIOMMU_TESTDEV_ST_ERROR);
		if (uiommu_vfio_pread(d->a.dev, back, CHUNK,
				      d->a.bar0 + UIOMMU_TESTDEV_BUF) != CHUNK ||
		    memcmp(back, d->a.buf + off, CHUNK))
			bad_read++;
		(void)reg_write(d, UIOMMU_TESTDEV_DST, d->a.iova + half + off, 8);
		st = run_cmd(d, UIOMMU_TESTDEV_OP_WRITE);
		errors += !!(st & UIOMMU_TESTDEV_ST_ERROR);
		d->dma_bytes += 2 * CHUNK;
	}
	d->dma_cmds = reg_read(d, UIOMMU_TESTDEV_DMA_COUNT, 4);
	for (uint64_t i = 0; i < half; i++)
		bad_write += d->a.buf[half + i] != d->a.buf[i];
	check(d, "DMA memory -> device", !bad_read && !errors,
	      "%" PRIu64 " MiB in %u-byte reads, %" PRIu64 " chunks differ",
	      half >> 20, CHUNK, bad_read);
	check(d, "DMA device -> memory", !bad_write && !errors,
	      "%" PRIu64 " MiB written back, %" PRIu64 " bytes differ",
	      half >> 20, bad_write);
}

static void raise_all(struct demo *d)
{
	unsigned int refused = 0, wrong = 0;

	for (unsigned int v = 0; v < d->a.nvec; v++) {
		(void)reg_write(d, UIOMMU_TESTDEV_IRQ_RAISE, v, 4);
		refused += reg_read(d, UIOMMU_TESTDEV_IRQ_STATUS, 4) != 0;
	}
	for (unsigned int v = 0; v < d->a.nvec; v++) {
		uint64_t n = 0;

		if (read(d->a.efd[v], &n, sizeof(n)) != sizeof(n))
			n = 0;
		wrong += n != 1;
		d->irqs_read += n;
	}
	check(d, "interrupts", !refused && !wrong,
	      "%u vectors raised, %" PRIu64 " eventfd counts read, %u wrong",
	      d->a.nvec, d->irqs_read, wrong);
}

/* DMA to an IOVA nothing maps: the device sees an abort, the SMMU records
 * the event, the domain owner gets the fault. */
static void deliberate_fault(struct demo *d)
{
	uint32_t err;

	d->fault_iova = d->a.iova + BUF_SIZE + 0x10000;
	(void)reg_write(d, UIOMMU_TESTDEV_DST, d->fault_iova, 8);
	(void)reg_write(d, UIOMMU_TESTDEV_LEN, 64, 4);
	(void)reg_write(d, UIOMMU_TESTDEV_BUF_OFF, 0, 4);
	(void)reg_write(d, UIOMMU_TESTDEV_CMD, UIOMMU_TESTDEV_OP_WRITE, 4);
	d->fault_status = (uint32_t)reg_read(d, UIOMMU_TESTDEV_STATUS, 4);
	d->fault_addr = reg_read(d, UIOMMU_TESTDEV_FAULT_ADDR, 8);
	(void)reg_write(d, UIOMMU_TESTDEV_STATUS,
			UIOMMU_TESTDEV_ST_DONE | UIOMMU_TESTDEV_ST_ERROR, 4);
	err = (d->fault_status >> UIOMMU_TESTDEV_ST_ERR_SHIFT) & 0xff;
	check(d, "DMA fault seen by the device",
	      (d->fault_status & UIOMMU_TESTDEV_ST_ERROR) &&
	      err == UIOMMU_TESTDEV_ERR_DMA && d->fault_addr == d->fault_iova,
	      "STATUS 0x%08" PRIx32 ", FAULT_ADDR 0x%" PRIx64, d->fault_status,
	      d->fault_addr);
	check(d, "DMA fault reported to the owner",
	      d->faulted && d->fault.iova == d->fault_iova &&
	      (d->fault.flags & UIOMMU_FAULT_WRITE),
	      "%s", d->faulted ? "domain fault handler called" : "no fault reported");
}

/* -------------------------------------------------------------- report */

static const char *fault_reason(enum uiommu_fault_reason r)
{
	switch (r) {
	case UIOMMU_FAULT_UNMAPPED:
		return "unmapped";
	case UIOMMU_FAULT_PERMISSION:
		return "permission";
	case UIOMMU_FAULT_BLOCKED:
		return "blocked";
	case UIOMMU_FAULT_BAD_ADDRESS:
		return "bad address";
	}
	return "?";
}

static const char *class_name(uint8_t cls)
{
	return cls == UIOMMU_SMMUV3_CLASS_CD ? "CD" :
	       cls == UIOMMU_SMMUV3_CLASS_TT ? "TT" : "IN";
}

static const char *expose_kind(enum uiommu_exposure_kind k)
{
	switch (k) {
	case UIOMMU_EXPOSE_DOORBELL:
		return "doorbell";
	case UIOMMU_EXPOSE_DOORBELL_FRAME:
		return "same frame";
	case UIOMMU_EXPOSE_OTHER_DOORBELL:
		return "other doorbell";
	case UIOMMU_EXPOSE_MMIO:
		return "device register";
	case UIOMMU_EXPOSE_RAM:
		return "RAM";
	}
	return "?";
}

struct expose_list {
	struct expose e[MAX_EXPOSE];
	unsigned int n;
};

static int collect_expose(void *opaque, const struct uiommu_exposure_page *p,
			  const struct uiommu_exposure_entry *e)
{
	struct expose_list *l = opaque;

	if (l->n < MAX_EXPOSE) {
		l->e[l->n].page = *p;
		l->e[l->n].e = *e;
		l->n++;
	}
	return 0;
}

/* Vectors shown: the first MSIX_SHOWN and the last. */
static bool vector_shown(const struct demo *d, unsigned int v)
{
	return v < MSIX_SHOWN || v + 1 == d->a.nvec;
}

struct report {
	struct uiommu_machine_info mi;
	struct uiommu_group *g;
	struct uiommu_resv_region resv[MAX_RESV];
	size_t nresv;
	struct uiommu_vfio_mapping maps[8];
	size_t nmaps;
	struct uiommu_msi_window_info win;
	struct expose_list ex;
	bool isolated;
	char reason[160];
	uint64_t delivered;
	bool pass;
};

/* Every vector as the PCI core programmed it: its address inside the MSI
 * window (an IOVA, not the doorbell's PA), its data the ITS EventID. */
static void check_vectors(struct demo *d, struct report *r)
{
	unsigned int bad = 0;

	for (unsigned int v = 0; v < d->a.nvec; v++) {
		struct uiommu_msi_vector_info vi;

		if (uiommu_msi_get_vector(d->a.f->msi_dev, v, &vi) ||
		    vi.address < r->win.start || vi.address > r->win.last ||
		    (r->mi.nits && vi.data != vi.eventid))
			bad++;
	}
	check(d, "MSI-X vectors in the window", r->win.present && !bad,
	      "%u programmed with IOVAs in [0x%" PRIx64 ", 0x%" PRIx64 "], %u not",
	      d->a.nvec - bad, r->win.start, r->win.last, bad);
}

static void gather(struct demo *d, struct report *r)
{
	uiommu_machine_get_info(d->m, &r->mi);
	r->g = uiommu_device_group(d->a.f->iommu_dev);
	uiommu_group_resv_regions(r->g, r->resv, MAX_RESV, &r->nresv);
	if (r->nresv > MAX_RESV)
		r->nresv = MAX_RESV;
	if (uiommu_vfio_container_mappings(d->a.container, r->maps, 8, &r->nmaps))
		r->nmaps = 0;
	if (r->nmaps > 8)
		r->nmaps = 8;
	uiommu_domain_get_msi_window(d->a.dom, &r->win);
	(void)uiommu_domain_for_each_exposure(d->a.dom, collect_expose, &r->ex);
	uiommu_group_msi_isolation(r->g, &r->isolated, r->reason,
				   sizeof(r->reason));
	for (unsigned int v = 0; v < d->a.nvec; v++) {
		struct uiommu_msi_vector_info vi;

		if (!uiommu_msi_get_vector(d->a.f->msi_dev, v, &vi))
			r->delivered += vi.count;
	}
	check_vectors(d, r);
	uiommu_smmuv3_get_stats(uiommu_machine_smmu(d->m, 0), &d->smmu);
	uiommu_smmuv3_drv_get_stats(uiommu_machine_smmu_drv(d->m, 0), &d->drv);
	check(d, "SMMU event recorded",
	      d->smmu.events_written == d->smmu_before.events_written + 1 &&
	      d->nevents == 1 &&
	      d->events[0].type == UIOMMU_SMMUV3_EVT_F_TRANSLATION &&
	      d->events[0].sid == d->a.f->sid && !d->events[0].rnw &&
	      d->events[0].input_addr == d->fault_iova,
	      "%" PRIu64 " record written, %u consumed: %s",
	      d->smmu.events_written - d->smmu_before.events_written,
	      d->nevents, d->nevents ? uiommu_smmuv3_event_name(d->events[0].type) : "none");
	check(d, "invariants", !uiommu_vfio_check(d->a.v) &&
	      !uiommu_machine_check(d->m), "VFIO layer and machine checks");
	r->pass = true;
	for (unsigned int i = 0; i < d->nchecks; i++)
		r->pass &= d->checks[i].ok;
}

static void text_report(struct demo *d, struct report *r)
{
	const struct uiommu_machine_func *f = d->a.f;
	char resv[1024], bdf[TOOL_BDF_LEN];
	size_t need = 0;

	printf("uiommu demo: %s (%s)\n", tool_source_name(d->o.machine, d->o.dtb),
	       r->mi.model);
	printf("\nmachine\n");
	printf("  GIC           v%u, %u ITS, %u GICv2m frame(s)\n",
	       r->mi.gic_version, r->mi.nits, r->mi.nv2m);
	printf("  SMMUv3        %u\n", r->mi.nsmmu);
	tool_bdf(f, bdf);
	printf("  device        %s %s  RID 0x%04x  StreamID 0x%04" PRIx32,
	       bdf, f->name, f->rid, f->sid);
	if (f->has_devid)
		printf("  DeviceID 0x%04" PRIx32, f->devid);
	printf("\n  VFIO          group %u, container TYPE1v2, %u MSI-X vectors "
	       "(of %u%s) with eventfds\n", d->a.group_id, d->a.nvec, d->a.irq_count,
	       d->a.reduced ? "; the MSI controller has fewer" : "");

	printf("\nreserved regions of group %u (sysfs format)\n", d->a.group_id);
	if (!uiommu_group_resv_print(r->g, 0, resv, sizeof(resv), &need)) {
		for (char *line = strtok(resv, "\n"); line; line = strtok(NULL, "\n"))
			printf("  %s\n", line);
	}

	printf("\nvalid IOVA ranges (VFIO_IOMMU_GET_INFO, IOVA_RANGE)\n");
	for (unsigned int i = 0; i < d->a.nranges; i++)
		printf("  0x%016llx-0x%016llx\n",
		       (unsigned long long)d->a.ranges[i].start,
		       (unsigned long long)d->a.ranges[i].end);
	if (d->a.have_avail)
		printf("  DMA mappings available: %" PRIu64 "\n", d->a.dma_avail);

	printf("\nmappings\n");
	for (size_t i = 0; i < r->nmaps; i++)
		printf("  IOVA 0x%016" PRIx64 "-0x%016" PRIx64 "  %4" PRIu64
		       " MiB  -> PA 0x%" PRIx64 " (the tool's own memory, pinned)\n",
		       r->maps[i].iova, r->maps[i].iova + r->maps[i].size - 1,
		       r->maps[i].size >> 20, r->maps[i].pa);

	printf("\nMSI window\n");
	if (r->win.present)
		printf("  0x%016" PRIx64 "-0x%016" PRIx64 "  %s, %u doorbell "
		       "page(s) bound, %lu vector reference(s)\n",
		       r->win.start, r->win.last,
		       r->win.explicit_window ? "explicit (MAP_DMA MSI_RESERVED_IOVA)" :
		       "default (sw-msi)", r->win.pages_used, r->win.vectors);
	else
		printf("  none\n");

	printf("\nMSI-X table as programmed\n");
	printf("  %-7s %-18s %-10s %-8s %s\n", "vector", "address", "data",
	       "hwirq", "doorbell PA");
	for (unsigned int v = 0; v < d->a.nvec; v++) {
		struct uiommu_msi_vector_info vi;

		if (!vector_shown(d, v))
			continue;
		if (v + 1 == d->a.nvec && v > MSIX_SHOWN)
			printf("  ...\n");
		if (uiommu_msi_get_vector(f->msi_dev, v, &vi))
			continue;
		printf("  %-7u 0x%-16" PRIx64 " 0x%08" PRIx32 " %-8" PRIu32
		       " 0x%" PRIx64 "%s\n", v, vi.address, vi.data, vi.hwirq,
		       vi.doorbell_pa, r->mi.nits ? "  (data = EventID)" :
		       "  (data = SPI)");
	}

	printf("\ndoorbell bindings and what they expose\n");
	for (unsigned int i = 0; i < r->ex.n; i++) {
		const struct expose *x = &r->ex.e[i];

		if (!i || x->page.iova != r->ex.e[i - 1].page.iova)
			printf("  page IOVA 0x%" PRIx64 " -> PA 0x%" PRIx64
			       " (%" PRIu64 " KiB), doorbell 0x%" PRIx64
			       ", refs %lu: %s\n", x->page.iova, x->page.pa,
			       x->page.size >> 10, x->page.doorbell_pa,
			       x->page.refs, x->page.safe ? "safe" : "UNSAFE");
		printf("    IOVA 0x%" PRIx64 " PA 0x%" PRIx64 " %-15s %s %s\n",
		       x->e.iova, x->e.pa, expose_kind(x->e.kind),
		       x->e.owner ? x->e.owner : "-", x->e.reg ? x->e.reg :
		       (x->e.region ? x->e.region : ""));
	}
	if (!r->ex.n)
		printf("  none\n");

	printf("\nisolation\n  %s: %s\n", r->isolated ? "isolated" : "NOT isolated",
	       r->reason);
	if (!r->isolated)
		printf("  (attached only because --allow-unsafe-interrupts was given)\n");

	printf("\nSMMU events (the deliberate DMA write to unmapped IOVA 0x%"
	       PRIx64 ")\n", d->fault_iova);
	for (unsigned int i = 0; i < d->nevents; i++) {
		const struct uiommu_smmuv3_drv_event *ev = &d->events[i];

		printf("  event 0x%02x %-13s StreamID 0x%04" PRIx32 "  %s  "
		       "CLASS %s  S2 %u  InputAddr 0x%" PRIx64 "\n", ev->type,
		       uiommu_smmuv3_event_name(ev->type), ev->sid, ev->rnw ? "read " : "write",
		       class_name(ev->cls), ev->s2, ev->input_addr);
		printf("    record 0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64
		       " 0x%016" PRIx64 "\n", ev->raw[0], ev->raw[1], ev->raw[2],
		       ev->raw[3]);
	}
	if (!d->nevents)
		printf("  none\n");
	if (d->faulted)
		printf("  reported to the domain owner: %s, source ID 0x%04" PRIx32
		       ", IOVA 0x%" PRIx64 ", %s\n", fault_reason(d->fault.reason),
		       d->fault.source_id, d->fault.iova,
		       d->fault.flags & UIOMMU_FAULT_WRITE ? "write" : "read");
	printf("  device STATUS 0x%08" PRIx32 " (ERROR, DMA fault), FAULT_ADDR 0x%"
	       PRIx64 "\n", d->fault_status, d->fault_addr);

	printf("\ncounters\n");
	printf("  DMA bytes            %" PRIu64 " (%" PRIu64 " MiB in %" PRIu64
	       " device commands)\n", d->dma_bytes, d->dma_bytes >> 20,
	       d->dma_cmds);
	printf("  interrupts           %" PRIu64 " delivered, %" PRIu64
	       " read from %u eventfds\n", r->delivered, d->irqs_read, d->a.nvec);
	printf("  SMMU translations    %" PRIu64 " (%" PRIu64 " faults)\n",
	       d->smmu.translations, d->smmu.faults);
	printf("  SMMU TLB             %" PRIu64 " hits, %" PRIu64 " misses\n",
	       d->smmu.tlb_hits, d->smmu.tlb_misses);
	printf("  SMMU events written  %" PRIu64 " (driver consumed %" PRIu64
	       ", reported %" PRIu64 " faults)\n", d->smmu.events_written,
	       d->drv.events, d->drv.faults_reported);
	printf("  SMMU commands        %" PRIu64 " (%" PRIu64 " CMD_SYNC, %"
	       PRIu64 " TLBI by VA, %" PRIu64 " CFGI_STE)\n", d->drv.commands,
	       d->drv.syncs, d->drv.tlbi_va, d->drv.cfgi_ste);

	printf("\nchecks\n");
	for (unsigned int i = 0; i < d->nchecks; i++)
		printf("  %-4s %-32s %s\n", d->checks[i].ok ? "ok" : "FAIL",
		       d->checks[i].name, d->checks[i].detail);
	printf("\n%s\n", r->pass ? "PASS" : "FAIL");
}

static void json_report(struct demo *d, struct report *r)
{
	const struct uiommu_machine_func *f = d->a.f;
	char bdf[TOOL_BDF_LEN];
	bool first = true;

	printf("{\"format_version\": %d, \"machine\": ", FORMAT_VERSION);
	tool_json_str(tool_source_name(d->o.machine, d->o.dtb));
	printf(", \"model\": ");
	tool_json_str(r->mi.model);
	tool_bdf(f, bdf);
	printf(",\n \"device\": {\"bdf\": \"%s\", \"rid\": \"0x%04x\", "
	       "\"stream_id\": \"0x%" PRIx32 "\", \"group\": %u, \"vectors\": %u, "
	       "\"irq_count\": %u},\n", bdf, f->rid, f->sid, d->a.group_id,
	       d->a.nvec, d->a.irq_count);
	printf(" \"reserved_regions\": [");
	for (size_t i = 0; i < r->nresv; i++)
		printf("%s{\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
		       "\", \"type\": \"%s\"}", i ? ", " : "", r->resv[i].start,
		       r->resv[i].last, uiommu_resv_type_name(r->resv[i].type));
	printf("],\n \"iova_ranges\": [");
	for (unsigned int i = 0; i < d->a.nranges; i++)
		printf("%s{\"start\": \"0x%llx\", \"end\": \"0x%llx\"}", i ? ", " : "",
		       (unsigned long long)d->a.ranges[i].start,
		       (unsigned long long)d->a.ranges[i].end);
	printf("],\n \"mappings\": [");
	for (size_t i = 0; i < r->nmaps; i++)
		printf("%s{\"iova\": \"0x%" PRIx64 "\", \"size\": \"0x%" PRIx64
		       "\", \"pa\": \"0x%" PRIx64 "\"}", i ? ", " : "",
		       r->maps[i].iova, r->maps[i].size, r->maps[i].pa);
	printf("],\n \"msi_window\": {\"start\": \"0x%" PRIx64 "\", \"last\": \"0x%"
	       PRIx64 "\", \"explicit\": %s, \"pages_used\": %u, \"vectors\": %lu},\n",
	       r->win.start, r->win.last, r->win.explicit_window ? "true" : "false",
	       r->win.pages_used, r->win.vectors);
	printf(" \"msix\": [");
	for (unsigned int v = 0; v < d->a.nvec; v++) {
		struct uiommu_msi_vector_info vi;

		if (!vector_shown(d, v) || uiommu_msi_get_vector(f->msi_dev, v, &vi))
			continue;
		printf("%s\n  {\"vector\": %u, \"address\": \"0x%" PRIx64
		       "\", \"data\": \"0x%" PRIx32 "\", \"hwirq\": %" PRIu32
		       ", \"doorbell_pa\": \"0x%" PRIx64 "\"}", first ? "" : ",",
		       v, vi.address, vi.data, vi.hwirq, vi.doorbell_pa);
		first = false;
	}
	printf("],\n \"exposure\": [");
	for (unsigned int i = 0; i < r->ex.n; i++) {
		const struct expose *x = &r->ex.e[i];

		printf("%s\n  {\"page_iova\": \"0x%" PRIx64 "\", \"page_pa\": \"0x%"
		       PRIx64 "\", \"refs\": %lu, \"safe\": %s, \"kind\": \"%s\", "
		       "\"pa\": \"0x%" PRIx64 "\", \"owner\": ", i ? "," : "",
		       x->page.iova, x->page.pa, x->page.refs,
		       x->page.safe ? "true" : "false", expose_kind(x->e.kind),
		       x->e.pa);
		tool_json_str(x->e.owner ? x->e.owner : "");
		printf(", \"reg\": ");
		tool_json_str(x->e.reg ? x->e.reg : "");
		printf("}");
	}
	printf("],\n \"isolated\": %s, \"isolation_reason\": ",
	       r->isolated ? "true" : "false");
	tool_json_str(r->reason);
	printf(",\n \"smmu_events\": [");
	for (unsigned int i = 0; i < d->nevents; i++) {
		const struct uiommu_smmuv3_drv_event *ev = &d->events[i];

		printf("%s{\"type\": \"0x%02x\", \"name\": \"%s\", \"stream_id\": \"0x%"
		       PRIx32 "\", \"rnw\": %s, \"class\": \"%s\", \"s2\": %s, "
		       "\"input_addr\": \"0x%" PRIx64 "\", \"raw\": [\"0x%" PRIx64
		       "\", \"0x%" PRIx64 "\", \"0x%" PRIx64 "\", \"0x%" PRIx64 "\"]}",
		       i ? ", " : "", ev->type, uiommu_smmuv3_event_name(ev->type), ev->sid,
		       ev->rnw ? "true" : "false", class_name(ev->cls),
		       ev->s2 ? "true" : "false", ev->input_addr, ev->raw[0],
		       ev->raw[1], ev->raw[2], ev->raw[3]);
	}
	printf("]");
	printf(",\n \"fault\": {\"reported\": %s, \"iova\": \"0x%" PRIx64
	       "\", \"reason\": \"%s\", \"source_id\": \"0x%" PRIx32
	       "\", \"write\": %s, \"device_status\": \"0x%" PRIx32 "\"},\n",
	       d->faulted ? "true" : "false", d->fault.iova,
	       fault_reason(d->fault.reason), d->fault.source_id,
	       d->fault.flags & UIOMMU_FAULT_WRITE ? "true" : "false",
	       d->fault_status);
	printf(" \"counters\": {\"dma_bytes\": %" PRIu64 ", \"dma_commands\": %" PRIu64 ", \"interrupts_delivered\": %"
	       PRIu64 ", \"eventfd_total\": %" PRIu64 ", \"smmu_translations\": %"
	       PRIu64 ", \"smmu_tlb_hits\": %" PRIu64 ", \"smmu_tlb_misses\": %"
	       PRIu64 ", \"smmu_events_written\": %" PRIu64 ", \"smmu_commands\": %" PRIu64
	       "},\n", d->dma_bytes, d->dma_cmds,
	       r->delivered, d->irqs_read, d->smmu.translations,
	       d->smmu.tlb_hits, d->smmu.tlb_misses, d->smmu.events_written,
	       d->drv.commands);
	printf(" \"checks\": [");
	for (unsigned int i = 0; i < d->nchecks; i++) {
		printf("%s\n  {\"name\": ", i ? "," : "");
		tool_json_str(d->checks[i].name);
		printf(", \"ok\": %s, \"detail\": ", d->checks[i].ok ? "true" : "false");
		tool_json_str(d->checks[i].detail);
		printf("}");
	}
	printf("],\n \"result\": \"%s\"}\n", r->pass ? "PASS" : "FAIL");
}

/* ------------------------------------------------------------ lifecycle */

static int run(struct demo *d)
{
	struct report *r;
	int ret;

	d->a.o = d->o.ao;
	d->a.o.who = "demo";
	d->a.o.source = tool_source_name(d->o.machine, d->o.dtb);
	d->a.m = d->m;
	uiommu_machine_set_smmu_event_handler(d->m, on_smmu_event, d);
	ret = tool_assign(&d->a);
	if (ret)
		return ret;
	uiommu_domain_set_fault_handler(d->a.dom, on_fault, d);
	check(d, "device ID", reg_read(d, UIOMMU_TESTDEV_ID, 4) == 0x75690001,
	      "BAR0 ID register 0x%08" PRIx64, reg_read(d, UIOMMU_TESTDEV_ID, 4));
	dma_both_ways(d);
	raise_all(d);
	uiommu_smmuv3_get_stats(uiommu_machine_smmu(d->m, 0), &d->smmu_before);
	deliberate_fault(d);
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail("report", -ENOMEM);
	gather(d, r);
	if (tool_output_json())
		json_report(d, r);
	else
		text_report(d, r);
	ret = r->pass ? 0 : -EIO;
	free(r);
	return ret;
}

int cmd_demo(int argc, char **argv)
{
	struct demo *d;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "--iova"))
		return cmd_demo_iova();
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = parse_args(argc, argv, &d->o);
	if (!ret)
		ret = tool_make_machine(d->o.machine, d->o.dtb, &d->m);
	if (!ret) {
		tool_log_errors(true);
		ret = run(d);
		tool_assign_release(&d->a);
		uiommu_machine_destroy(d->m);
	}
	free(d);
	return ret;
}
