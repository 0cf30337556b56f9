// SPDX-License-Identifier: MIT
/*
 * uiommu info its: the machine's MSI controllers as the hardware sees them.
 *
 * Per GICv3 ITS: its base and doorbell, every register of the control
 * frame decoded into the fields of IHI 0069, the tables GITS_BASER<n>
 * describe, and the translations the ITS would make, read from its tables
 * in RAM: DeviceID -> ITT, EventID -> LPI -> ICID -> target CPU.  The text
 * form collapses runs (EventID 0-2047 -> LPI 8192-10239, one collection)
 * so that thousands of vectors stay readable; the JSON form lists every
 * mapping.  Per GICv2m frame: the doorbell, the SPI range and the fact that
 * it does not isolate devices.  Nothing is changed by looking: the library
 * reads registers and tables without side effects.
 *
 * Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

/* The registers shown, in frame order. */
static const struct {
	const char *name;
	unsigned int off;
	unsigned int bytes;
} its_regs[] = {
	{ "GITS_CTLR", UIOMMU_GITS_CTLR, 4 },
	{ "GITS_IIDR", UIOMMU_GITS_IIDR, 4 },
	{ "GITS_TYPER", UIOMMU_GITS_TYPER, 8 },
	{ "GITS_CBASER", UIOMMU_GITS_CBASER, 8 },
	{ "GITS_CWRITER", UIOMMU_GITS_CWRITER, 8 },
	{ "GITS_CREADR", UIOMMU_GITS_CREADR, 8 },
};
#define NR_ITS_REGS (sizeof(its_regs) / sizeof(its_regs[0]))

static uint64_t reg_value(const struct uiommu_gic_its_regs *r, unsigned int off)
{
	switch (off) {
	case UIOMMU_GITS_CTLR: return r->ctlr;
	case UIOMMU_GITS_IIDR: return r->iidr;
	case UIOMMU_GITS_TYPER: return r->typer;
	case UIOMMU_GITS_CBASER: return r->cbaser;
	case UIOMMU_GITS_CWRITER: return r->cwriter;
	case UIOMMU_GITS_CREADR: return r->creadr;
	default: return r->baser[(off - UIOMMU_GITS_BASER(0)) / 8];
	}
}

/* ------------------------------------------------------------ registers */

/* Text: "Name=value" words wrapped under the register's value. */
struct field_line {
	int col;	/* columns used on the current line */
	int indent;
};

#define FIELD_WRAP 78

static int field_text(void *opaque, const struct uiommu_gic_field *f)
{
	struct field_line *l = opaque;
	char word[64];
	int n;

	/* an address field reads best as the address it holds */
	if (strstr(f->name, "Address"))
		n = snprintf(word, sizeof(word), "%s=0x%" PRIx64, f->name,
			     f->value << f->lsb);
	else if (!strcmp(f->name, "Implementer") ||
		 !strcmp(f->name, "ProductID"))
		n = snprintf(word, sizeof(word), "%s=0x%" PRIx64, f->name,
			     f->value);
	else
		n = snprintf(word, sizeof(word), "%s=%" PRIu64, f->name,
			     f->value);
	if (l->col > l->indent && l->col + 1 + n > FIELD_WRAP) {
		printf("\n%*s", l->indent, "");
		l->col = l->indent;
	}
	printf("%s%s", l->col > l->indent ? " " : "", word);
	l->col += (l->col > l->indent ? 1 : 0) + n;
	return 0;
}

static void reg_text(const char *name, unsigned int off, unsigned int bytes,
		     uint64_t value)
{
	struct field_line l = { 0, 4 + 14 };

	if (bytes == 4)
		printf("    %-13s 0x%08" PRIx64 "\n", name, value);
	else
		printf("    %-13s 0x%016" PRIx64 "\n", name, value);
	printf("%*s", l.indent, "");
	l.col = l.indent;
	if (uiommu_gic_its_for_each_field(off, value, field_text, &l))
		printf("?");
	printf("\n");
}

static int field_json(void *opaque, const struct uiommu_gic_field *f)
{
	bool *first = opaque;

	printf("%s\"%s\": %" PRIu64, *first ? "" : ", ", f->name, f->value);
	*first = false;
	return 0;
}

static void reg_json(const char *name, unsigned int off, uint64_t value,
		     bool first)
{
	bool ffirst = true;

	printf("%s\n    \"%s\": {\"value\": \"0x%" PRIx64 "\", \"fields\": {",
	       first ? "" : ",", name, value);
	if (uiommu_gic_its_for_each_field(off, value, field_json, &ffirst))
		printf("\"?\": 0");
	printf("}}");
}

/* --------------------------------------------------------------- tables */

static void tables_text(const struct uiommu_gic_its_regs *r)
{
	char name[16];

	printf("  tables\n");
	for (unsigned int n = 0; n < UIOMMU_GITS_NR_BASER; n++) {
		const struct uiommu_gic_its_table *t = &r->table[n];

		snprintf(name, sizeof(name), "GITS_BASER%u", n);
		if (t->type == UIOMMU_GITS_BASER_TYPE_NONE)
			continue;	/* unimplemented: RAZ/WI */
		if (!t->valid) {
			printf("    %-13s %-12s not valid\n", name, t->type_name);
			continue;
		}
		printf("    %-13s %-12s %-8s 0x%016" PRIx64 "  %u x %" PRIu64
		       "K page(s), %u-byte entries, %" PRIu64 " IDs\n", name,
		       t->type_name, t->indirect ? "2-level" : "flat", t->base,
		       t->pages, t->page_size >> 10, t->entry_size, t->max_ids);
	}
	printf("    %-13s %s\n", "GITS_BASER<n>",
	       "others not implemented (Type 0, RAZ/WI)");
}

static void tables_json(const struct uiommu_gic_its_regs *r)
{
	bool first = true;

	printf(",\n   \"tables\": [");
	for (unsigned int n = 0; n < UIOMMU_GITS_NR_BASER; n++) {
		const struct uiommu_gic_its_table *t = &r->table[n];

		if (t->type == UIOMMU_GITS_BASER_TYPE_NONE)
			continue;
		printf("%s\n    {\"baser\": %u, \"type\": %u, \"type_name\": ",
		       first ? "" : ",", n, t->type);
		first = false;
		tool_json_str(t->type_name);
		printf(", \"valid\": %s, \"indirect\": %s, \"address\": \"0x%"
		       PRIx64 "\", \"page_size\": %" PRIu64 ", \"pages\": %u, "
		       "\"entry_size\": %u, \"max_ids\": %" PRIu64 "}",
		       t->valid ? "true" : "false",
		       t->indirect ? "true" : "false", t->base, t->page_size,
		       t->pages, t->entry_size, t->max_ids);
	}
	printf("]");
}

/* --------------------------------------------------------- translations */

/* A run of mappings that differ only by consecutive EventID and LPI. */
struct run {
	bool open;
	struct uiommu_gic_its_translation first;
	uint32_t n;
};

struct tr_text {
	struct run run;
	bool have_dev;
	uint32_t devid;
	uint64_t count;
};

static bool run_extends(const struct run *r,
			const struct uiommu_gic_its_translation *t)
{
	const struct uiommu_gic_its_translation *f = &r->first;

	return r->open && t->ok && f->ok && t->devid == f->devid &&
	       t->eventid == f->eventid + r->n && t->intid == f->intid + r->n &&
	       t->icid == f->icid && t->target == f->target &&
	       t->pending == f->pending;
}

/* "EventID 5" or "EventID 0-2047" */
static void range_text(char *buf, size_t len, const char *what, uint32_t a,
		       uint32_t n)
{
	char r[24];

	tool_range_text(r, sizeof(r), a, n, false);
	snprintf(buf, len, "%s %s", what, r);
}

static void run_flush(struct run *r)
{
	const struct uiommu_gic_its_translation *f = &r->first;
	char ev[40], lpi[40];

	if (!r->open)
		return;
	r->open = false;
	range_text(ev, sizeof(ev), "EventID", f->eventid, r->n);
	range_text(lpi, sizeof(lpi), "LPI", f->intid, r->n);
	printf("      %-20s -> %-18s ICID %-4" PRIu32 " -> CPU %u%s\n", ev, lpi,
	       f->icid, f->target, f->pending ? "  (pending)" : "");
}

/* A mapping the ITS would not deliver: say why, as the ITS would. */
static void broken_text(const struct uiommu_gic_its_translation *t)
{
	const char *why = uiommu_gic_drop_name(t->why);

	switch (t->why) {
	case UIOMMU_GIC_DROP_TABLE_FAULT:
		printf("      ! a table of this device is not in RAM: writes "
		       "are dropped (%s)\n", why);
		break;
	case UIOMMU_GIC_DROP_EVENT_UNMAPPED:
		printf("      ! EventID %" PRIu32 ": ITT entry names no LPI "
		       "(pINTID %" PRIu32 "): writes are dropped (%s)\n",
		       t->eventid, t->intid, why);
		break;
	default:
		printf("      ! EventID %" PRIu32 " -> LPI %" PRIu32 " ICID %"
		       PRIu32 ": collection not mapped: writes are dropped "
		       "(%s)\n", t->eventid, t->intid, t->icid, why);
		break;
	}
}

static int tr_text_one(void *opaque, const struct uiommu_gic_its_translation *t)
{
	struct tr_text *x = opaque;

	x->count++;
	if (run_extends(&x->run, t)) {
		x->run.n++;
		return 0;
	}
	run_flush(&x->run);
	if (!x->have_dev || t->devid != x->devid) {
		x->have_dev = true;
		x->devid = t->devid;
		if (t->itt_addr || t->eventid_bits)
			printf("    DeviceID 0x%04" PRIx32 "  ITT 0x%016" PRIx64
			       ", %u EventID bits\n", t->devid, t->itt_addr,
			       t->eventid_bits);
		else
			printf("    DeviceID 0x%04" PRIx32 "\n", t->devid);
	}
	if (!t->ok) {
		broken_text(t);
		return 0;
	}
	x->run = (struct run){ .open = true, .first = *t, .n = 1 };
	return 0;
}

static int tr_json_one(void *opaque, const struct uiommu_gic_its_translation *t)
{
	uint64_t *count = opaque;

	printf("%s\n    {\"device_id\": \"0x%" PRIx32 "\", \"itt\": \"0x%" PRIx64
	       "\", \"eventid_bits\": %u, \"event_id\": %" PRIu32 ", \"lpi\": %"
	       PRIu32 ", \"icid\": %" PRIu32 ", ", *count ? "," : "", t->devid,
	       t->itt_addr, t->eventid_bits, t->eventid, t->intid, t->icid);
	if (t->ok)
		printf("\"cpu\": %u, \"pending\": %s, \"ok\": true, \"error\": null}",
		       t->target, t->pending ? "true" : "false");
	else
		printf("\"cpu\": null, \"pending\": false, \"ok\": false, "
		       "\"error\": \"%s\"}", uiommu_gic_drop_name(t->why));
	(*count)++;
	return 0;
}

/* ---------------------------------------------------------------- views */

static const char *its_name(const struct info_ctx *c, unsigned int idx)
{
	struct uiommu_msi_domain_info di;

	if (uiommu_msi_domain_get_info(uiommu_machine_msi_domain(c->m, idx), &di))
		return "-";
	return di.name;
}

static int its_text(const struct info_ctx *c, unsigned int idx)
{
	struct uiommu_gic_its *its = uiommu_machine_its(c->m, idx);
	struct uiommu_gic_its_stats st;
	struct uiommu_gic_its_regs r;
	struct tr_text x = { 0 };
	uint64_t dropped = 0;
	int ret;

	ret = uiommu_gic_its_get_regs(its, &r);
	if (ret)
		return ret;
	uiommu_gic_its_get_stats(its, &st);
	printf("\nITS %u %s at 0x%016" PRIx64 "\n", idx, its_name(c, idx), r.base);
	printf("  doorbell      GITS_TRANSLATER 0x%" PRIx64 ", %s\n",
	       uiommu_gic_its_doorbell(its),
	       uiommu_gic_its_isolating(its) ?
	       "isolating (the DeviceID travels beside the write)" :
	       "not isolating");
	printf("  CPUs          %u (collection targets), LPIs %u-%u\n",
	       r.nr_cpus, UIOMMU_GIC_FIRST_LPI,
	       UIOMMU_GIC_FIRST_LPI + r.nr_lpis - 1);
	for (unsigned int i = 0; i < UIOMMU_GIC_DROP_NR; i++)
		dropped += st.dropped[i];
	printf("  counters      %" PRIu64 " translations, %" PRIu64
	       " delivered, %" PRIu64 " dropped, %" PRIu64 " commands, %"
	       PRIu64 " command errors\n", st.translations, st.delivered,
	       dropped, st.commands, st.command_errors);
	printf("  registers\n");
	for (size_t i = 0; i < NR_ITS_REGS; i++)
		reg_text(its_regs[i].name, its_regs[i].off, its_regs[i].bytes,
			 reg_value(&r, its_regs[i].off));
	for (unsigned int n = 0; n < UIOMMU_GITS_NR_BASER; n++) {
		char name[16];

		if (r.table[n].type == UIOMMU_GITS_BASER_TYPE_NONE)
			continue;
		snprintf(name, sizeof(name), "GITS_BASER%u", n);
		reg_text(name, UIOMMU_GITS_BASER(n), 8, r.baser[n]);
	}
	tables_text(&r);
	printf("  translations (DeviceID -> ITT, EventID -> LPI -> ICID -> CPU)\n");
	ret = uiommu_gic_its_for_each_translation(its, tr_text_one, &x);
	run_flush(&x.run);
	if (!ret && !x.count)
		printf("    none mapped\n");
	return ret;
}

static int its_json(const struct info_ctx *c, unsigned int idx)
{
	struct uiommu_gic_its *its = uiommu_machine_its(c->m, idx);
	struct uiommu_gic_its_stats st;
	struct uiommu_gic_its_regs r;
	uint64_t count = 0;
	int ret;

	ret = uiommu_gic_its_get_regs(its, &r);
	if (ret)
		return ret;
	uiommu_gic_its_get_stats(its, &st);
	printf("%s\n  {\"index\": %u, \"name\": ", idx ? "," : "", idx);
	tool_json_str(its_name(c, idx));
	printf(", \"base\": \"0x%" PRIx64 "\", \"doorbell\": \"0x%" PRIx64
	       "\", \"isolating\": %s, \"nr_cpus\": %u, \"first_lpi\": %u, "
	       "\"nr_lpis\": %" PRIu32 ",\n   \"counters\": {\"translations\": %"
	       PRIu64 ", \"delivered\": %" PRIu64 ", \"commands\": %" PRIu64
	       ", \"command_errors\": %" PRIu64 ", \"dropped\": {", r.base,
	       uiommu_gic_its_doorbell(its),
	       uiommu_gic_its_isolating(its) ? "true" : "false", r.nr_cpus,
	       UIOMMU_GIC_FIRST_LPI, r.nr_lpis, st.translations, st.delivered,
	       st.commands, st.command_errors);
	for (unsigned int i = 0; i < UIOMMU_GIC_DROP_NR; i++)
		printf("%s\"%s\": %" PRIu64, i ? ", " : "",
		       uiommu_gic_drop_name((enum uiommu_gic_drop_reason)i),
		       st.dropped[i]);
	printf("}},\n   \"registers\": {");
	for (size_t i = 0; i < NR_ITS_REGS; i++)
		reg_json(its_regs[i].name, its_regs[i].off,
			 reg_value(&r, its_regs[i].off), i == 0);
	for (unsigned int n = 0; n < UIOMMU_GITS_NR_BASER; n++) {
		char name[16];

		if (r.table[n].type == UIOMMU_GITS_BASER_TYPE_NONE)
			continue;	/* unimplemented: RAZ/WI */
		snprintf(name, sizeof(name), "GITS_BASER%u", n);
		reg_json(name, UIOMMU_GITS_BASER(n), r.baser[n], false);
	}
	printf("}");
	tables_json(&r);
	printf(",\n   \"translations\": [");
	ret = uiommu_gic_its_for_each_translation(its, tr_json_one, &count);
	printf("]}");
	return ret;
}

static void v2m_text(const struct info_ctx *c, unsigned int idx,
		     const struct uiommu_gicv2m_info *v)
{
	struct uiommu_machine_info mi;

	uiommu_machine_get_info(c->m, &mi);
	printf("\nGICv2m frame %u %s at 0x%016" PRIx64 "\n", idx,
	       its_name(c, mi.nits + idx), v->base);
	printf("  doorbell      MSI_SETSPI_NS 0x%" PRIx64 ", NOT isolating "
	       "(any device may write any SPI of the frame)\n", v->doorbell);
	printf("  MSI_TYPER     0x%08" PRIx32 "  BASE=%" PRIu32 " NUMBER=%"
	       PRIu32 ": SPIs %" PRIu32 "-%" PRIu32 "\n", v->msi_typer,
	       v->spi_base, v->nr_spis, v->spi_base,
	       v->spi_base + v->nr_spis - 1);
	printf("  MSI_IIDR      0x%08" PRIx32 "\n", v->msi_iidr);
}

static void v2m_json(const struct info_ctx *c, unsigned int idx,
		     const struct uiommu_gicv2m_info *v)
{
	struct uiommu_machine_info mi;

	uiommu_machine_get_info(c->m, &mi);
	printf("%s\n  {\"index\": %u, \"name\": ", idx ? "," : "", idx);
	tool_json_str(its_name(c, mi.nits + idx));
	printf(", \"base\": \"0x%" PRIx64 "\", \"doorbell\": \"0x%" PRIx64
	       "\", \"isolating\": false, \"msi_typer\": \"0x%" PRIx32
	       "\", \"msi_iidr\": \"0x%" PRIx32 "\", \"spi_base\": %" PRIu32
	       ", \"nr_spis\": %" PRIu32 "}", v->base, v->doorbell, v->msi_typer,
	       v->msi_iidr, v->spi_base, v->nr_spis);
}

int info_its(const struct info_ctx *c)
{
	struct uiommu_machine_info mi;
	int ret = 0;

	uiommu_machine_get_info(c->m, &mi);
	if (c->json) {
		info_json_head(c, "its");
		printf(",\n \"its\": [");
	} else {
		printf("machine: %s (%s)\n", c->source, mi.model);
		if (!mi.nits && !mi.nv2m)
			printf("\nno MSI controller\n");
		else if (!mi.nits)
			printf("\nno ITS: MSIs go to GICv2m frames\n");
	}
	for (unsigned int i = 0; i < mi.nits && !ret; i++)
		ret = c->json ? its_json(c, i) : its_text(c, i);
	if (c->json)
		printf("],\n \"gicv2m\": [");
	for (unsigned int i = 0; i < mi.nv2m && !ret; i++) {
		struct uiommu_gicv2m_info v;

		ret = uiommu_gicv2m_get_info(uiommu_machine_gicv2m(c->m, i), &v);
		if (ret)
			break;
		if (c->json)
			v2m_json(c, i, &v);
		else
			v2m_text(c, i, &v);
	}
	if (c->json)
		printf("]}\n");
	return ret;
}
