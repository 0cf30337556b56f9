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

#include "iova-map.h"
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

static const char *window_name(void *opaque, uint64_t first, uint64_t last)
{
	size_t i;

	(void)opaque;
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		if (windows[i].first >= first && windows[i].last <= last)
			return windows[i].what;
	return "";
}

struct run {
	uint64_t n32, n64, nfree, first32;
	struct uiommu_iova_range doorbell;	/* find 0x8000040 */
	struct uiommu_iova_stats st;
	int check;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "uiommu demo: %s: %s\n", what, uiommu_strerror(err));
	return err;
}

static int reserve_windows(struct uiommu_iova_domain *dom)
{
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		int ret = uiommu_iova_reserve(dom, windows[i].first,
					      windows[i].last);

		if (ret)
			return fail("reserve", ret);
	}
	return 0;
}

/*
 * 400 streaming-DMA-like buffers of 4 KiB .. 1 MiB, three quarters for
 * 32-bit devices; a third freed; then again the sizes of freed ones, which
 * small ones get from the cache.
 */
static int workload(struct uiommu_iova_domain *dom, struct run *r)
{
	static uint64_t iova[400];
	uint64_t rng = 0x2016;
	size_t i;
	int ret;

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
		if (mask == MASK32 && !r->n32)
			r->first32 = iova[i];
		if (mask == MASK32)
			r->n32++;
		else
			r->n64++;
	}
	for (i = 0; i < 400; i += 3) {
		ret = uiommu_iova_free(dom, iova[i]);
		if (ret)
			return fail("free", ret);
		r->nfree++;
	}
	for (i = 0; i < 400; i += 6) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		ret = uiommu_iova_alloc(dom, 4096ull << ((rng >> 33) % 6),
					MASK32, 0, &iova[i]);
		if (ret)
			return fail("alloc", ret);
		r->n32++;
	}
	ret = uiommu_iova_find(dom, 0x8000040, &r->doorbell);
	if (ret)
		return fail("find", ret);
	ret = uiommu_iova_get_stats(dom, &r->st);
	if (ret)
		return fail("stats", ret);
	r->check = uiommu_iova_check(dom);
	return 0;
}

static int text_report(struct uiommu_iova_domain *dom, const struct run *r)
{
	struct tool_iova_map map = { .indent = 2, .name = window_name };
	char b1[32], b2[32];
	int ret;

	printf("IOVA domain [0x0, 0x%" PRIx64 "], 4 KiB granule, per-thread caches "
	       "for sizes up to 32 granules\n\nreserved regions:\n", (uint64_t)MASK48);
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		printf("  0x%016" PRIx64 " 0x%016" PRIx64 " %s\n",
		       windows[i].first, windows[i].last, windows[i].what);
	printf("\n%" PRIu64 " allocations under the 32-bit mask, %" PRIu64
	       " under the 48-bit one, %" PRIu64 " freed\n", r->n32, r->n64,
	       r->nfree);
	printf("first allocation under the 32-bit mask: 0x%" PRIx64
	       " (top-down: it ends at 4 GiB - 1)\n", r->first32);

	printf("\nmap of the space (allocated runs coalesced):\n");
	ret = uiommu_iova_for_each(dom, UIOMMU_IOVA_ALL, tool_iova_map_visit, &map);
	if (ret)
		return fail("walk", ret);
	tool_iova_map_end(&map);

	printf("\nfind 0x8000040 (a doorbell IOVA): [0x%" PRIx64 ", 0x%" PRIx64
	       "] %s\n", r->doorbell.first, r->doorbell.last,
	       r->doorbell.kind == UIOMMU_IOVA_RESERVED ? "reserved" : "not reserved");

	tool_human_size(r->st.live_granules * 4096, b1, sizeof(b1));
	tool_human_size(r->st.reserved_granules * 4096, b2, sizeof(b2));
	printf("\nstatistics:\n"
	       "  live ranges        %" PRIu64 " (%s)\n"
	       "  reserved ranges    %" PRIu64 " (%s)\n",
	       r->st.live_ranges, b1, r->st.reserved_ranges, b2);
	tool_human_size(r->st.cached_granules * 4096, b1, sizeof(b1));
	tool_human_size(r->st.largest_free, b2, sizeof(b2));
	printf("  cached ranges      %" PRIu64 " (%s, reusable by the next allocation of their size)\n"
	       "  largest free gap   %s\n"
	       "  cache hits/misses  %" PRIu64 "/%" PRIu64 "\n",
	       r->st.cached_ranges, b1, b2, r->st.cache_hits, r->st.cache_misses);
	printf("  invariant check    %s\n",
	       r->check ? uiommu_strerror(r->check) : "ok");
	return 0;
}

static const char *kind_name(unsigned int kind)
{
	return kind == UIOMMU_IOVA_LIVE ? "live" :
	       kind == UIOMMU_IOVA_RESERVED ? "reserved" :
	       kind == UIOMMU_IOVA_CACHED ? "cached" : "free";
}

static int json_range(void *opaque, const struct uiommu_iova_range *r)
{
	unsigned int *n = opaque;

	printf("%s\n  {\"first\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
	       "\", \"kind\": \"%s\"}", (*n)++ ? "," : "", r->first, r->last,
	       kind_name(r->kind));
	return 0;
}

static int json_report(struct uiommu_iova_domain *dom, const struct run *r)
{
	unsigned int n = 0;
	int ret;

	printf("{\"format_version\": %d, \"domain\": {\"start\": \"0x0\", "
	       "\"last\": \"0x%" PRIx64 "\", \"granule\": 4096, \"cache_max_order\": 5},\n"
	       " \"reserved\": [", TOOL_FORMAT_VERSION, (uint64_t)MASK48);
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		printf("%s{\"first\": \"0x%" PRIx64 "\", \"last\": \"0x%" PRIx64
		       "\", \"what\": ", i ? ", " : "", windows[i].first,
		       windows[i].last);
		tool_json_str(windows[i].what);
		printf("}");
	}
	printf("],\n \"allocations_32bit\": %" PRIu64 ", \"allocations_48bit\": %"
	       PRIu64 ", \"frees\": %" PRIu64 ", \"first_32bit\": \"0x%" PRIx64
	       "\",\n \"ranges\": [", r->n32, r->n64, r->nfree, r->first32);
	ret = uiommu_iova_for_each(dom, UIOMMU_IOVA_ALL, json_range, &n);
	if (ret)
		return fail("walk", ret);
	printf("],\n \"stats\": {\"live_ranges\": %" PRIu64 ", \"live_granules\": %"
	       PRIu64 ", \"reserved_ranges\": %" PRIu64 ", \"reserved_granules\": %"
	       PRIu64 ", \"cached_ranges\": %" PRIu64 ", \"cached_granules\": %"
	       PRIu64 ", \"largest_free\": \"0x%" PRIx64 "\", \"cache_hits\": %"
	       PRIu64 ", \"cache_misses\": %" PRIu64 "},\n \"check\": \"%s\"}\n",
	       r->st.live_ranges, r->st.live_granules, r->st.reserved_ranges,
	       r->st.reserved_granules, r->st.cached_ranges,
	       r->st.cached_granules, r->st.largest_free, r->st.cache_hits,
	       r->st.cache_misses, r->check ? uiommu_strerror(r->check) : "ok");
	return 0;
}

int cmd_demo_iova(void)
{
	struct uiommu_iova_config cfg = {
		.start = 0, .last = MASK48, .granule = 4096,
		.cache_max_order = 5,
	};
	struct uiommu_iova_domain *dom;
	struct run r = { 0 };
	int ret;

	ret = uiommu_iova_domain_create(&cfg, &dom);
	if (ret)
		return fail("create domain", ret);
	ret = reserve_windows(dom);
	if (!ret)
		ret = workload(dom, &r);
	if (!ret)
		ret = tool_output_json() ? json_report(dom, &r) :
					   text_report(dom, &r);
	uiommu_iova_domain_destroy(dom);
	return ret ? ret : r.check;
}
