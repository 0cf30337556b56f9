// SPDX-License-Identifier: MIT
/*
 * uiommu demo --iova: what the IOVA
 * allocator does for a real case.  A 48-bit DMA domain of an Arm SMMU with
 * the software-MSI window (0x8000000, 1 MiB, the Arm SMMU default) and the
 * PCI host windows of QEMU's virt machine reserved; a few hundred
 * allocations under 32-bit and 64-bit DMA masks, some frees; then the map
 * of the space and the statistics.  Public API only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

#define MASK32 0xffffffffull
#define MASK48 0xffffffffffffull

static const struct {
	uint64_t first, last;
	const char *what;
} windows[] = {
	{ 0x08000000, 0x080fffff, "sw-msi: Arm SMMU MSI window" },
	{ 0x10000000, 0x3effffff, "PCI MMIO window (virt)" },
	{ 0x8000000000, 0xffffffffff, "PCI high MMIO window (virt)" },
};

static const char *window_name(uint64_t first, uint64_t last)
{
	size_t i;

	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		if (windows[i].first >= first && windows[i].last <= last)
			return windows[i].what;
	return "";
}

/* "4 KiB", "1.5 MiB", "255 GiB": sizes people read. */
static void human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%" PRIu64 " %s", (uint64_t)v, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/*
 * Map printer.  Allocated ranges and the small holes between them form a
 * cluster printed as one line; reserved ranges and free gaps of at least
 * HOLE_MAX print on their own.
 */
#define HOLE_MAX (16ull << 20)

struct map_state {
	int open;
	uint64_t first, last, live, cached, hole_bytes, holes;
	uint64_t gap_first, gap_last;	/* pending free gap */
	int have_gap;
};

static void print_line(uint64_t first, uint64_t last, const char *kind,
		       const char *detail)
{
	char size[32];

	human(last - first + 1, size, sizeof(size));
	printf("  0x%016" PRIx64 "-0x%016" PRIx64 "  %10s  %-9s %s\n", first,
	       last, size, kind, detail);
}

static void close_cluster(struct map_state *m)
{
	char detail[128], holes[32];

	if (!m->open)
		return;
	human(m->hole_bytes, holes, sizeof(holes));
	snprintf(detail, sizeof(detail),
		 "%" PRIu64 " live + %" PRIu64 " cached ranges, %" PRIu64
		 " holes (%s free)", m->live, m->cached, m->holes, holes);
	print_line(m->first, m->last, "allocated", detail);
	m->open = 0;
}

static void flush_gap(struct map_state *m)
{
	if (!m->have_gap)
		return;
	m->have_gap = 0;
	if (m->open && m->gap_last - m->gap_first + 1 < HOLE_MAX) {
		m->holes++;
		m->hole_bytes += m->gap_last - m->gap_first + 1;
		return;		/* stays inside the cluster */
	}
	close_cluster(m);
	print_line(m->gap_first, m->gap_last, "free", "");
}

static int map_visit(void *opaque, const struct uiommu_iova_range *r)
{
	struct map_state *m = opaque;

	if (r->kind == UIOMMU_IOVA_FREE) {
		m->gap_first = r->first;
		m->gap_last = r->last;
		m->have_gap = 1;
		return 0;
	}
	if (r->kind == UIOMMU_IOVA_RESERVED) {
		flush_gap(m);
		close_cluster(m);
		print_line(r->first, r->last, "reserved",
			   window_name(r->first, r->last));
		return 0;
	}
	flush_gap(m);
	if (!m->open) {
		m->open = 1;
		m->first = r->first;
		m->live = m->cached = m->holes = m->hole_bytes = 0;
	}
	m->last = r->last;
	if (r->kind == UIOMMU_IOVA_LIVE)
		m->live++;
	else
		m->cached++;
	return 0;
}

static void map_end(struct map_state *m)
{
	flush_gap(m);
	close_cluster(m);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "uiommu demo: %s: %s\n", what, uiommu_strerror(err));
	return 1;
}

int cmd_demo_iova(void)
{
	struct uiommu_iova_config cfg = {
		.start = 0, .last = MASK48, .granule = 4096,
		.cache_max_order = 5,
	};
	struct uiommu_iova_domain *dom;
	struct uiommu_iova_stats st;
	struct map_state map = { 0 };
	struct uiommu_iova_range r;
	static uint64_t iova[400];
	uint64_t rng = 0x2016, n32 = 0, n64 = 0, nfree = 0, first32 = 0;
	char b1[32], b2[32];
	size_t i;
	int ret;

	ret = uiommu_iova_domain_create(&cfg, &dom);
	if (ret)
		return fail("create domain", ret);
	printf("IOVA domain [0x0, 0x%" PRIx64 "], 4 KiB granule, per-thread caches "
	       "for sizes up to 32 granules\n\nreserved regions:\n", (uint64_t)MASK48);
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		ret = uiommu_iova_reserve(dom, windows[i].first, windows[i].last);
		if (ret)
			return fail("reserve", ret);
		printf("  0x%016" PRIx64 " 0x%016" PRIx64 " %s\n",
		       windows[i].first, windows[i].last, windows[i].what);
	}

	/* 400 streaming-DMA-like buffers: 4 KiB .. 1 MiB, three quarters
	 * for 32-bit devices. */
	for (i = 0; i < 400; i++) {
		uint64_t mask, pages;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		pages = 1ull << ((rng >> 33) % 9);	/* 1..256 granules */
		if ((rng >> 45) % 3 == 0)
			pages += (rng >> 50) % pages;	/* some odd sizes */
		mask = (rng >> 20) % 4 ? MASK32 : MASK48;
		ret = uiommu_iova_alloc(dom, pages * 4096, mask, 0, &iova[i]);
		if (ret)
			return fail("alloc", ret);
		if (mask == MASK32 && !n32)
			first32 = iova[i];
		if (mask == MASK32)
			n32++;
		else
			n64++;
	}
	for (i = 0; i < 400; i += 3) {
		ret = uiommu_iova_free(dom, iova[i]);
		if (ret)
			return fail("free", ret);
		nfree++;
	}
	/* Again the sizes of the freed ones: small ones come from the cache. */
	for (i = 0; i < 400; i += 6) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		ret = uiommu_iova_alloc(dom, 4096ull << ((rng >> 33) % 6),
					MASK32, 0, &iova[i]);
		if (ret)
			return fail("alloc", ret);
		n32++;
	}
	printf("\n%" PRIu64 " allocations under the 32-bit mask, %" PRIu64
	       " under the 48-bit one, %" PRIu64 " freed\n", n32, n64, nfree);
	printf("first allocation under the 32-bit mask: 0x%" PRIx64
	       " (top-down: it ends at 4 GiB - 1)\n", first32);

	printf("\nmap of the space (allocated runs coalesced):\n");
	ret = uiommu_iova_for_each(dom, UIOMMU_IOVA_ALL, map_visit, &map);
	if (ret)
		return fail("walk", ret);
	map_end(&map);

	ret = uiommu_iova_find(dom, 0x8000040, &r);
	if (ret)
		return fail("find", ret);
	printf("\nfind 0x8000040 (a doorbell IOVA): [0x%" PRIx64 ", 0x%" PRIx64
	       "] %s\n", r.first, r.last,
	       r.kind == UIOMMU_IOVA_RESERVED ? "reserved" : "not reserved");

	ret = uiommu_iova_get_stats(dom, &st);
	if (ret)
		return fail("stats", ret);
	human(st.live_granules * 4096, b1, sizeof(b1));
	human(st.reserved_granules * 4096, b2, sizeof(b2));
	printf("\nstatistics:\n"
	       "  live ranges        %" PRIu64 " (%s)\n"
	       "  reserved ranges    %" PRIu64 " (%s)\n",
	       st.live_ranges, b1, st.reserved_ranges, b2);
	human(st.cached_granules * 4096, b1, sizeof(b1));
	human(st.largest_free, b2, sizeof(b2));
	printf("  cached ranges      %" PRIu64 " (%s, reusable by the next allocation of their size)\n"
	       "  largest free gap   %s\n"
	       "  cache hits/misses  %" PRIu64 "/%" PRIu64 "\n",
	       st.cached_ranges, b1, b2, st.cache_hits, st.cache_misses);
	ret = uiommu_iova_check(dom);
	printf("  invariant check    %s\n", ret ? uiommu_strerror(ret) : "ok");
	uiommu_iova_domain_destroy(dom);
	return ret ? 1 : 0;
}
