// SPDX-License-Identifier: MIT
/*
 * Device-tree parsing for the machine layer (see dt.h).
 *
 * The parse runs in two passes over a private copy of the description:
 * the first finds memory, interrupt controllers and SMMUs (the nodes that
 * phandles point to), the second the PCI host bridges whose iommu-map and
 * msi-map refer to them.  Only a complete, consistent description is copied
 * out, so a failure leaves the caller's structure as it was.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "alloc.h"
#include "bits.h"
#include "dt.h"
#include "log.h"

struct dt_ctx {
	const void *blob;
	struct uio_dt_machine *m;
	char *err;
	size_t errlen;
};

static int dt_error(struct dt_ctx *c, int ret, int node, const char *prop,
		    const char *fmt, ...) UIOMMU_PRINTF(5, 6);

/* Record "<node>: <property>: <message>" and return @ret. */
static int dt_error(struct dt_ctx *c, int ret, int node, const char *prop,
		    const char *fmt, ...)
{
	char path[UIO_DT_NAME_MAX] = "/";
	char msg[256];
	va_list ap;

	if (node >= 0 && fdt_get_path(c->blob, node, path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "<node at 0x%x>", node);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s%s%s: %s", path,
			 prop ? ": " : "", prop ? prop : "", msg);
	uio_err("dt", "%s%s%s: %s", path, prop ? ": " : "", prop ? prop : "",
		msg);
	return ret;
}

static uint64_t read_cells(const fdt32_t *cells, unsigned int n)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v = (v << 32) | fdt32_to_cpu(cells[i]);
	return v;
}

static void node_path(struct dt_ctx *c, int node, char *out)
{
	if (fdt_get_path(c->blob, node, out, UIO_DT_NAME_MAX) < 0)
		snprintf(out, UIO_DT_NAME_MAX, "<node at 0x%x>", node);
}

/* #address-cells / #size-cells that apply to @node's own reg. */
static int parent_cells(struct dt_ctx *c, int node, int *ac, int *sc)
{
	int parent = fdt_parent_offset(c->blob, node);

	if (parent < 0)
		return dt_error(c, -EINVAL, node, NULL, "has no parent");
	*ac = fdt_address_cells(c->blob, parent);
	*sc = fdt_size_cells(c->blob, parent);
	if (*ac < 1 || *ac > 2 || *sc < 0 || *sc > 2)
		return dt_error(c, -EINVAL, parent, "#address-cells",
				"unsupported cell counts %d/%d", *ac, *sc);
	return 0;
}

/*
 * Translate @addr, an address in the space of @node's parent bus, to a CPU
 * physical address by applying each ancestor's "ranges" (an empty property
 * is the identity; a missing one means the bus is not memory-mapped).
 */
static int translate_to_cpu(struct dt_ctx *c, int node, uint64_t *addr)
{
	int bus = fdt_parent_offset(c->blob, node);

	while (bus > 0) {
		int up = fdt_parent_offset(c->blob, bus);
		int cac, pac, csc, len, entry, i, n;
		const fdt32_t *r;

		if (up < 0)
			return dt_error(c, -EINVAL, bus, NULL, "has no parent");
		r = fdt_getprop(c->blob, bus, "ranges", &len);
		if (!r)
			return dt_error(c, -EINVAL, bus, "ranges",
					"missing: child addresses are not CPU addresses");
		if (len == 0) {
			bus = up;
			continue;
		}
		cac = fdt_address_cells(c->blob, bus);
		csc = fdt_size_cells(c->blob, bus);
		pac = fdt_address_cells(c->blob, up);
		entry = cac + pac + csc;
		if (cac < 1 || cac > 2 || pac < 1 || pac > 2 || csc < 1 ||
		    csc > 2 || len % (entry * 4))
			return dt_error(c, -EINVAL, bus, "ranges",
					"length %d is not a whole number of %d-cell entries",
					len, entry);
		n = len / (entry * 4);
		for (i = 0; i < n; i++) {
			const fdt32_t *e = r + i * entry;
			uint64_t child = read_cells(e, cac);
			uint64_t parent = read_cells(e + cac, pac);
			uint64_t size = read_cells(e + cac + pac, csc);

			if (*addr >= child && *addr - child < size) {
				*addr = parent + (*addr - child);
				break;
			}
		}
		if (i == n)
			return dt_error(c, -EINVAL, bus, "ranges",
					"no entry covers address 0x%" PRIx64,
					*addr);
		bus = up;
	}
	return 0;
}

/* Entry @index of @node's reg, translated to a CPU address. */
static int read_reg(struct dt_ctx *c, int node, int index,
		    struct uio_dt_range *out)
{
	const fdt32_t *reg;
	int ac, sc, len, ret;

	ret = parent_cells(c, node, &ac, &sc);
	if (ret)
		return ret;
	reg = fdt_getprop(c->blob, node, "reg", &len);
	if (!reg)
		return dt_error(c, -EINVAL, node, "reg", "missing");
	if (sc == 0 || len <= 0 || len % ((ac + sc) * 4))
		return dt_error(c, -EINVAL, node, "reg",
				"length %d is not a whole number of (%d+%d)-cell entries",
				len, ac, sc);
	if ((index + 1) * (ac + sc) * 4 > len)
		return dt_error(c, -EINVAL, node, "reg",
				"has no entry %d", index);
	reg += index * (ac + sc);
	out->base = read_cells(reg, ac);
	out->size = read_cells(reg + ac, sc);
	if (out->size == 0 || out->base + out->size - 1 < out->base)
		return dt_error(c, -EINVAL, node, "reg",
				"entry %d: bad range 0x%" PRIx64 "+0x%" PRIx64,
				index, out->base, out->size);
	return translate_to_cpu(c, node, &out->base);
}

static int read_u32(struct dt_ctx *c, int node, const char *prop,
		    uint32_t *out, int *present)
{
	const fdt32_t *v;
	int len;

	v = fdt_getprop(c->blob, node, prop, &len);
	*present = v != NULL;
	if (!v)
		return 0;
	if (len != 4)
		return dt_error(c, -EINVAL, node, prop,
				"length %d, expected one cell", len);
	*out = fdt32_to_cpu(*v);
	return 0;
}

static int check_min_size(struct dt_ctx *c, int node,
			  const struct uio_dt_range *r, uint64_t min)
{
	if (r->size < min)
		return dt_error(c, -EINVAL, node, "reg",
				"size 0x%" PRIx64 " is smaller than 0x%" PRIx64,
				r->size, min);
	return 0;
}

/* ------------------------------------------------------------ pass one */

static int parse_memory(struct dt_ctx *c, int node)
{
	struct uio_dt_machine *m = c->m;
	const fdt32_t *reg;
	int ac, sc, len, i, n, ret;

	ret = parent_cells(c, node, &ac, &sc);
	if (ret)
		return ret;
	reg = fdt_getprop(c->blob, node, "reg", &len);
	if (!reg || len <= 0 || len % ((ac + sc) * 4))
		return dt_error(c, -EINVAL, node, "reg",
				"missing or not a whole number of entries");
	n = len / ((ac + sc) * 4);
	for (i = 0; i < n; i++) {
		if (m->nmem == UIO_DT_MAX_MEM)
			return dt_error(c, -E2BIG, node, "reg",
					"more than %d memory ranges",
					UIO_DT_MAX_MEM);
		ret = read_reg(c, node, i, &m->mem[m->nmem]);
		if (ret)
			return ret;
		m->nmem++;
	}
	return 0;
}

static int parse_msi_frame(struct dt_ctx *c, int node, bool v2m)
{
	struct uio_dt_machine *m = c->m;
	struct uio_dt_msi_ctrl *ctl;
	int present, ret;

	if (v2m ? m->nv2m == UIO_DT_MAX_V2M : m->nits == UIO_DT_MAX_ITS)
		return dt_error(c, -E2BIG, node, NULL, "too many MSI controllers");
	ctl = v2m ? &m->v2m[m->nv2m] : &m->its[m->nits];
	memset(ctl, 0, sizeof(*ctl));
	node_path(c, node, ctl->path);
	ctl->phandle = fdt_get_phandle(c->blob, node);
	ret = read_reg(c, node, 0, &ctl->reg);
	if (ret)
		return ret;
	/* ITS: control frame + translation frame (IHI 0069, 12.1.2). */
	ret = check_min_size(c, node, &ctl->reg, v2m ? 0x1000 : 0x20000);
	if (ret)
		return ret;
	if (v2m) {
		int has_count;

		ret = read_u32(c, node, "arm,msi-base-spi", &ctl->spi_base,
			       &present);
		if (!ret)
			ret = read_u32(c, node, "arm,msi-num-spis",
				       &ctl->spi_count, &has_count);
		if (ret)
			return ret;
		if (present != has_count)
			return dt_error(c, -EINVAL, node, "arm,msi-base-spi",
					"arm,msi-base-spi and arm,msi-num-spis go together");
		m->nv2m++;
	} else {
		m->nits++;
	}
	return 0;
}

static int parse_gic(struct dt_ctx *c, int node, enum uio_dt_gic_version v)
{
	struct uio_dt_machine *m = c->m;
	int ret;

	if (m->gic_version != UIO_DT_GIC_NONE)
		return dt_error(c, -EINVAL, node, "compatible",
				"a second interrupt controller (first: %s)",
				m->gic_path);
	m->gic_version = v;
	node_path(c, node, m->gic_path);
	ret = read_reg(c, node, 0, &m->gic_dist);
	if (!ret)
		ret = read_reg(c, node, 1, &m->gic_second);
	return ret;
}

static int parse_smmu(struct dt_ctx *c, int node)
{
	struct uio_dt_machine *m = c->m;
	struct uio_dt_smmu *s;
	uint32_t cells;
	int present, ret;

	if (m->nsmmu == UIO_DT_MAX_SMMU)
		return dt_error(c, -E2BIG, node, NULL, "too many SMMUs");
	s = &m->smmu[m->nsmmu];
	memset(s, 0, sizeof(*s));
	node_path(c, node, s->path);
	s->phandle = fdt_get_phandle(c->blob, node);
	s->coherent = fdt_getprop(c->blob, node, "dma-coherent", NULL) != NULL;
	ret = read_u32(c, node, "#iommu-cells", &cells, &present);
	if (ret)
		return ret;
	if (!present || cells != 1)
		return dt_error(c, -EINVAL, node, "#iommu-cells",
				"must be 1 (the StreamID)");
	ret = read_reg(c, node, 0, &s->reg);
	if (ret)
		return ret;
	/* Page 0 and page 1, 64 KiB each (IHI 0070, 6.1). */
	ret = check_min_size(c, node, &s->reg, 0x20000);
	if (ret)
		return ret;
	m->nsmmu++;
	return 0;
}

static bool is_compatible(struct dt_ctx *c, int node, const char *compat)
{
	return fdt_node_check_compatible(c->blob, node, compat) == 0;
}

static bool is_memory(struct dt_ctx *c, int node)
{
	const char *type = fdt_getprop(c->blob, node, "device_type", NULL);

	return type && !strcmp(type, "memory");
}

static int parse_pass_one(struct dt_ctx *c, int node)
{
	if (is_memory(c, node))
		return parse_memory(c, node);
	if (is_compatible(c, node, "arm,gic-v3"))
		return parse_gic(c, node, UIO_DT_GIC_V3);
	if (is_compatible(c, node, "arm,cortex-a15-gic") ||
	    is_compatible(c, node, "arm,gic-400"))
		return parse_gic(c, node, UIO_DT_GIC_V2);
	if (is_compatible(c, node, "arm,gic-v3-its"))
		return parse_msi_frame(c, node, false);
	if (is_compatible(c, node, "arm,gic-v2m-frame"))
		return parse_msi_frame(c, node, true);
	if (is_compatible(c, node, "arm,smmu-v3"))
		return parse_smmu(c, node);
	return 0;
}

/* ------------------------------------------------------------ pass two */

static int find_target(struct dt_ctx *c, uint32_t phandle,
		       enum uio_dt_target_kind *kind, unsigned int *index)
{
	const struct uio_dt_machine *m = c->m;
	unsigned int i;

	for (i = 0; i < m->nsmmu; i++)
		if (m->smmu[i].phandle == phandle) {
			*kind = UIO_DT_TARGET_SMMU;
			*index = i;
			return 0;
		}
	for (i = 0; i < m->nits; i++)
		if (m->its[i].phandle == phandle) {
			*kind = UIO_DT_TARGET_ITS;
			*index = i;
			return 0;
		}
	for (i = 0; i < m->nv2m; i++)
		if (m->v2m[i].phandle == phandle) {
			*kind = UIO_DT_TARGET_V2M;
			*index = i;
			return 0;
		}
	return -ENOENT;
}

/*
 * iommu-map / msi-map: (rid-base, phandle, out-base, length) entries, each
 * target taking one specifier cell (pci-iommu.txt, pci-msi.txt).
 */
static int parse_id_map(struct dt_ctx *c, int node, const char *prop,
			const char *mask_prop, bool msi,
			struct uio_dt_id_map *map)
{
	const fdt32_t *v;
	int len, i, n, present, ret;

	memset(map, 0, sizeof(*map));
	map->mask = UINT32_MAX;
	v = fdt_getprop(c->blob, node, prop, &len);
	if (!v)
		return 0;
	if (len == 0 || len % 16)
		return dt_error(c, -EINVAL, node, prop,
				"length %d is not a whole number of 4-cell entries",
				len);
	n = len / 16;
	if (n > UIO_DT_MAX_MAP)
		return dt_error(c, -E2BIG, node, prop,
				"%d entries, at most %d supported", n,
				UIO_DT_MAX_MAP);
	for (i = 0; i < n; i++) {
		struct uio_dt_map_entry *e = &map->entry[i];
		const fdt32_t *cell = v + 4 * i;
		uint32_t phandle = fdt32_to_cpu(cell[1]);

		e->rid_base = fdt32_to_cpu(cell[0]);
		e->phandle = phandle;
		e->out_base = fdt32_to_cpu(cell[2]);
		e->length = fdt32_to_cpu(cell[3]);
		if (find_target(c, phandle, &e->target_kind, &e->target))
			return dt_error(c, -EINVAL, node, prop,
					"entry %d: phandle 0x%x names no supported %s",
					i, phandle,
					msi ? "MSI controller" : "IOMMU");
		if (msi != (e->target_kind != UIO_DT_TARGET_SMMU))
			return dt_error(c, -EINVAL, node, prop,
					"entry %d: phandle 0x%x is %s",
					i, phandle,
					msi ? "an IOMMU, not an MSI controller"
					    : "an MSI controller, not an IOMMU");
		if ((uint64_t)e->rid_base + e->length > UINT64_C(1) << 32 ||
		    (uint64_t)e->out_base + e->length > UINT64_C(1) << 32)
			return dt_error(c, -EINVAL, node, prop,
					"entry %d: range overflows 32 bits", i);
	}
	map->count = (unsigned int)n;
	ret = read_u32(c, node, mask_prop, &map->mask, &present);
	if (ret)
		return ret;
	map->mask_present = present;
	if (!present)
		map->mask = UINT32_MAX;
	return 0;
}

static int parse_pci_ranges(struct dt_ctx *c, int node,
			    struct uio_dt_pci_host *h)
{
	const fdt32_t *v;
	int pac, len, entry, i, n, ret;

	pac = fdt_address_cells(c->blob, fdt_parent_offset(c->blob, node));
	entry = 3 + pac + 2;
	v = fdt_getprop(c->blob, node, "ranges", &len);
	if (!v)
		return dt_error(c, -EINVAL, node, "ranges", "missing");
	if (len == 0 || len % (entry * 4))
		return dt_error(c, -EINVAL, node, "ranges",
				"length %d is not a whole number of %d-cell entries",
				len, entry);
	n = len / (entry * 4);
	if (n > UIO_DT_MAX_RANGES)
		return dt_error(c, -E2BIG, node, "ranges",
				"%d windows, at most %d supported", n,
				UIO_DT_MAX_RANGES);
	for (i = 0; i < n; i++) {
		const fdt32_t *e = v + i * entry;
		struct uio_dt_pci_window *w = &h->window[i];
		/* phys.hi: npt000ss bbbbbbbb dddddfff rrrrrrrr (IEEE 1275 PCI
		 * binding, 2.2.1.1): ss = space code, p = prefetchable. */
		uint32_t hi = fdt32_to_cpu(e[0]);

		w->space = (enum uio_dt_pci_space)((hi >> 24) & 3);
		w->prefetchable = !!(hi & (1u << 30));
		w->pci_addr = read_cells(e + 1, 2);
		w->cpu_addr = read_cells(e + 3, pac);
		w->size = read_cells(e + 3 + pac, 2);
		if (w->space == UIO_DT_PCI_CONFIG || w->size == 0)
			return dt_error(c, -EINVAL, node, "ranges",
					"entry %d: %s", i,
					w->size ? "configuration space is not a window"
						: "zero size");
		ret = translate_to_cpu(c, node, &w->cpu_addr);
		if (ret)
			return ret;
	}
	h->nwindows = (unsigned int)n;
	return 0;
}

static int parse_msi_parent(struct dt_ctx *c, int node,
			    struct uio_dt_pci_host *h)
{
	const fdt32_t *v;
	int len;

	v = fdt_getprop(c->blob, node, "msi-parent", &len);
	if (!v)
		return 0;
	if (len < 4)
		return dt_error(c, -EINVAL, node, "msi-parent", "empty");
	if (find_target(c, fdt32_to_cpu(v[0]), &h->msi_parent_kind,
			&h->msi_parent) ||
	    h->msi_parent_kind == UIO_DT_TARGET_SMMU)
		return dt_error(c, -EINVAL, node, "msi-parent",
				"phandle 0x%x names no MSI controller",
				fdt32_to_cpu(v[0]));
	h->has_msi_parent = 1;
	return 0;
}

static int parse_pci_host(struct dt_ctx *c, int node)
{
	struct uio_dt_machine *m = c->m;
	struct uio_dt_pci_host *h;
	const fdt32_t *br;
	uint64_t buses;
	int len, ret;

	if (m->npci == UIO_DT_MAX_PCI)
		return dt_error(c, -E2BIG, node, NULL, "too many PCI hosts");
	h = &m->pci[m->npci];
	memset(h, 0, sizeof(*h));
	node_path(c, node, h->path);
	h->coherent = fdt_getprop(c->blob, node, "dma-coherent", NULL) != NULL;
	ret = read_reg(c, node, 0, &h->ecam);
	if (ret)
		return ret;
	br = fdt_getprop(c->blob, node, "bus-range", &len);
	if (br) {
		if (len != 8)
			return dt_error(c, -EINVAL, node, "bus-range",
					"length %d, expected two cells", len);
		h->bus_first = fdt32_to_cpu(br[0]);
		h->bus_last = fdt32_to_cpu(br[1]);
	} else {
		h->bus_first = 0;
		h->bus_last = 0xff;
	}
	if (h->bus_first > h->bus_last || h->bus_last > 0xff)
		return dt_error(c, -EINVAL, node, "bus-range",
				"bad range %u-%u", h->bus_first, h->bus_last);
	/* ECAM: 1 MiB of configuration space per bus (PCIe Base 7.2.2). */
	buses = (uint64_t)(h->bus_last - h->bus_first + 1);
	if (h->ecam.size < buses << 20)
		return dt_error(c, -EINVAL, node, "reg",
				"ECAM size 0x%" PRIx64 " is too small for %" PRIu64 " buses",
				h->ecam.size, buses);
	ret = parse_pci_ranges(c, node, h);
	if (!ret)
		ret = parse_id_map(c, node, "iommu-map", "iommu-map-mask",
				   false, &h->iommu_map);
	if (!ret)
		ret = parse_id_map(c, node, "msi-map", "msi-map-mask", true,
				   &h->msi_map);
	if (!ret)
		ret = parse_msi_parent(c, node, h);
	if (ret)
		return ret;
	m->npci++;
	return 0;
}

static int for_each_node(struct dt_ctx *c,
			 int (*fn)(struct dt_ctx *c, int node))
{
	int node, depth = 0, ret;

	for (node = fdt_next_node(c->blob, -1, &depth); node >= 0;
	     node = fdt_next_node(c->blob, node, &depth)) {
		ret = fn(c, node);
		if (ret)
			return ret;
	}
	if (node != -FDT_ERR_NOTFOUND)
		return dt_error(c, -EINVAL, -1, NULL, "corrupt structure: %s",
				fdt_strerror(node));
	return 0;
}

static int parse_pass_two(struct dt_ctx *c, int node)
{
	if (is_compatible(c, node, "pci-host-ecam-generic"))
		return parse_pci_host(c, node);
	return 0;
}

int uio_dt_parse(const void *blob, size_t size, struct uio_dt_machine *out,
		 char *err, size_t errlen)
{
	struct dt_ctx c = { .blob = blob, .err = err, .errlen = errlen };
	const char *model;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!blob || size < sizeof(struct fdt_header))
		return dt_error(&c, -EINVAL, -1, NULL, "blob too small");
	ret = fdt_check_header(blob);
	if (ret || fdt_totalsize(blob) > size)
		return dt_error(&c, -EINVAL, -1, NULL, "bad DTB header: %s",
				ret ? fdt_strerror(ret) : "truncated");
	/*
	 * Versions before 17 (dtc and QEMU write 17) are refused: they are
	 * obsolete, and libfdt 1.6's fdt_check_full() dereferences NULL on
	 * some corrupt ones (found by fuzz/machine_fuzz).
	 */
	if (fdt_version(blob) < 17)
		return dt_error(&c, -EINVAL, -1, NULL,
				"unsupported DTB version %u (17 needed)",
				fdt_version(blob));
	/* The accessors below trust the structure block: check all of it. */
	ret = fdt_check_full(blob, fdt_totalsize(blob));
	if (ret)
		return dt_error(&c, -EINVAL, -1, NULL, "corrupt DTB: %s",
				fdt_strerror(ret));

	c.m = uio_new(struct uio_dt_machine);
	if (!c.m)
		return -ENOMEM;
	model = fdt_getprop(blob, 0, "model", NULL);
	snprintf(c.m->model, sizeof(c.m->model), "%s", model ? model : "");

	ret = for_each_node(&c, parse_pass_one);
	if (!ret)
		ret = for_each_node(&c, parse_pass_two);
	if (!ret && c.m->nmem == 0)
		ret = dt_error(&c, -ENOENT, 0, NULL, "no memory node");
	if (!ret && (c.m->nits || c.m->nv2m) &&
	    c.m->gic_version == UIO_DT_GIC_NONE)
		ret = dt_error(&c, -EINVAL, 0, NULL,
			       "MSI controller outside an interrupt controller");
	if (!ret)
		*out = *c.m;
	uio_delete(c.m);
	return ret;
}
