// SPDX-License-Identifier: MIT
/*
 * Requester ID translation through iommu-map / msi-map properties, with the
 * semantics of Linux's of_map_id() (Documentation/devicetree/bindings/pci/
 * pci-iommu.yaml and pci-msi.yaml describe the properties):
 *
 *  - the input ID is ANDed with the *-map-mask (all ones when absent);
 *  - each entry (id-base, phandle, out-base, length) covers the half-open
 *    range [id-base, id-base + length);
 *  - entries are tried in order and the first match wins, giving
 *    masked-id - id-base + out-base;
 *  - a property that is not a whole number of 4-cell entries is an error,
 *    as is an id-base with bits the mask clears;
 *  - no match: the ID passes through untranslated, with a warning.
 *
 * One deliberate difference: id-base + length is computed without 32-bit
 * wrap-around, so an entry that reaches the top of the ID space matches.
 */
#include <inttypes.h>

#include "log.h"
#include "pci-internal.h"
#include "trace.h"

#define SUBSYS "pci"

/* One iommu-map / msi-map entry (4 cells). */
#define MAP_ID_BASE	0
#define MAP_ID_TARGET	1
#define MAP_ID_OUT	2
#define MAP_ID_LEN	3
#define MAP_ID_CELLS	4

static const char *nz(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

UIOMMU_API int uiommu_map_id(const struct uiommu_id_map *map, uint32_t id,
			     uint32_t *target, uint32_t *id_out, bool *matched)
{
	uint32_t mask, masked;

	if (!map || !id_out)
		return uio_fail(-EINVAL, SUBSYS, "map_id: NULL argument");
	if (matched)
		*matched = false;
	if (!map->cells) {
		if (target)
			return -ENOENT;
		*id_out = id;
		return 0;
	}
	if (!map->ncells || map->ncells % MAP_ID_CELLS)
		return uio_fail(-EINVAL, SUBSYS,
				"%s: bad %s length: %zu cells (entries are 4)",
				nz(map->node, "?"), nz(map->name, "map"),
				map->ncells);
	mask = map->has_mask ? map->mask : UINT32_MAX;
	masked = id & mask;
	for (size_t i = 0; i < map->ncells; i += MAP_ID_CELLS) {
		const uint32_t *e = &map->cells[i];
		uint64_t end = (uint64_t)e[MAP_ID_BASE] + e[MAP_ID_LEN];

		if (e[MAP_ID_BASE] & ~mask)
			return uio_fail(-EINVAL, SUBSYS,
					"%s: %s-mask 0x%" PRIx32
					" ignores id-base 0x%" PRIx32,
					nz(map->node, "?"), nz(map->name, "map"),
					mask, e[MAP_ID_BASE]);
		if (masked < e[MAP_ID_BASE] || masked >= end)
			continue;
		if (target && *target && *target != e[MAP_ID_TARGET])
			continue;
		if (target)
			*target = e[MAP_ID_TARGET];
		*id_out = masked - e[MAP_ID_BASE] + e[MAP_ID_OUT];
		if (matched)
			*matched = true;
		trace_pci_map_id(id, *id_out, e[MAP_ID_TARGET], true);
		return 0;
	}
	uio_warn(SUBSYS, "%s: no %s translation for id 0x%" PRIx32
		 "; passing it through", nz(map->node, "?"),
		 nz(map->name, "map"), id);
	*id_out = id;
	trace_pci_map_id(id, id, target ? *target : 0, false);
	return 0;
}
