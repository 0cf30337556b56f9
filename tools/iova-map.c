// SPDX-License-Identifier: MIT
/*
 * The IOVA map printer shared by `demo --iova` and `info iova`
 * (iova-map.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "iova-map.h"

void tool_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	/* Exact figures as they are; others rounded, and marked so. */
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%" PRIu64 " %s", (uint64_t)v, unit[u]);
	else if (v * 10 == (double)(uint64_t)(v * 10))
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	else
		snprintf(buf, len, "~%.1f %s", v, unit[u]);
}

void tool_map_line(int indent, uint64_t first, uint64_t last,
		   const char *kind, const char *detail)
{
	char size[32];

	tool_human_size(last - first + 1, size, sizeof(size));
	if (detail && *detail)
		printf("%*s0x%016" PRIx64 "-0x%016" PRIx64 "  %10s  %-9s %s\n",
		       indent, "", first, last, size, kind, detail);
	else
		printf("%*s0x%016" PRIx64 "-0x%016" PRIx64 "  %10s  %s\n",
		       indent, "", first, last, size, kind);
}

/*
 * Allocated ranges and the holes under HOLE_MAX between them form a
 * cluster printed as one line; reserved ranges and larger free gaps print
 * on their own.
 */
#define HOLE_MAX (16ull << 20)

static void close_cluster(struct tool_iova_map *m)
{
	char detail[128], holes[32];

	if (!m->open)
		return;
	tool_human_size(m->hole_bytes, holes, sizeof(holes));
	snprintf(detail, sizeof(detail),
		 "%" PRIu64 " live + %" PRIu64 " cached ranges, %" PRIu64
		 " holes (%s free)", m->live, m->cached, m->holes, holes);
	tool_map_line(m->indent, m->first, m->last, "allocated", detail);
	m->open = 0;
}

static void flush_gap(struct tool_iova_map *m)
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
	tool_map_line(m->indent, m->gap_first, m->gap_last, "free", "");
}

int tool_iova_map_visit(void *opaque, const struct uiommu_iova_range *r)
{
	struct tool_iova_map *m = opaque;
	const char *name;

	if (r->kind == UIOMMU_IOVA_FREE) {
		m->gap_first = r->first;
		m->gap_last = r->last;
		m->have_gap = 1;
		return 0;
	}
	if (r->kind == UIOMMU_IOVA_RESERVED) {
		flush_gap(m);
		close_cluster(m);
		name = m->name ? m->name(m->opaque, r->first, r->last) : NULL;
		tool_map_line(m->indent, r->first, r->last, "reserved",
			      name ? name : "");
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

void tool_iova_map_end(struct tool_iova_map *m)
{
	flush_gap(m);
	close_cluster(m);
}
