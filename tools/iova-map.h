/* SPDX-License-Identifier: MIT */
/*
 * Printing an IOVA space for people: sizes in binary units, and a map
 * where allocated ranges with the small holes between them collapse into
 * one line per cluster (`uiommu demo --iova`, `uiommu info iova`).
 */
#ifndef UIOMMU_TOOL_IOVA_MAP_H
#define UIOMMU_TOOL_IOVA_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <uiommu/iova.h>

/* "4 KiB", "1.5 MiB", "255 GiB" */
void tool_human_size(uint64_t bytes, char *buf, size_t len);

/* One line of a map: range, size, kind, detail; @indent spaces first. */
void tool_map_line(int indent, uint64_t first, uint64_t last,
		   const char *kind, const char *detail);

/**
 * struct tool_iova_map - map printer state (zero it, set @indent and
 * @name, pass it to uiommu_iova_for_each() with tool_iova_map_visit(), then
 * call tool_iova_map_end())
 * @name: names a reserved range ("sw-msi", "PCI window"), or NULL
 */
struct tool_iova_map {
	int indent;
	const char *(*name)(void *opaque, uint64_t first, uint64_t last);
	void *opaque;
	/* private */
	int open;
	uint64_t first, last, live, cached, hole_bytes, holes;
	uint64_t gap_first, gap_last;
	int have_gap;
};

int tool_iova_map_visit(void *opaque, const struct uiommu_iova_range *r);
void tool_iova_map_end(struct tool_iova_map *m);

#endif /* UIOMMU_TOOL_IOVA_MAP_H */
