// SPDX-License-Identifier: MIT
/*
 * uiommu info smmu: every SMMUv3 of the machine as a debugger sees it.
 *
 * Per SMMU: its registers, the ID registers decoded into features, the
 * control state (enables, global bypass, global errors), the stream table
 * and the queue pointers; then one entry per StreamID the machine's PCI
 * functions use, with the STE and (for stage 1) the CD decoded from RAM as
 * the SMMU reads them, the fault the SMMU would record for a malformed
 * one, and whether the configuration cache holds a stale copy; then the
 * model's and the driver's counters.  Everything is read without side
 * effects (uiommu_smmuv3_read_regs(), uiommu_smmuv3_inspect_ste()).
 * Public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/uiommu.h>

#include "tool.h"

#define MAX_STREAMS 64

/* The functions whose StreamIDs an SMMU translates. */
struct stream {
	uint32_t sid;
	char bdf[TOOL_BDF_LEN];
	const char *name;
};

struct streams {
	uint64_t base;		/* of the SMMU looked for */
	bool only;		/* the machine's only SMMU: every StreamID */
	struct stream s[MAX_STREAMS];
	unsigned int n;
	const char *node;	/* its DT path, from a function's iommu-map */
};

/* Does the DT path "/smmuv3@9050000" name the SMMU at @base? */
static bool node_is(const char *node, uint64_t base)
{
	const char *at = node ? strrchr(node, '@') : NULL;

	return at && strtoull(at + 1, NULL, 16) == base;
}

static int collect_stream(void *opaque, const struct uiommu_machine_func *f)
{
	struct streams *ss = opaque;
	struct stream *s;

	if (!f->has_sid || (!ss->only && !node_is(f->iommu_node, ss->base)))
		return 0;
	if (!ss->node)
		ss->node = f->iommu_node;
	for (unsigned int i = 0; i < ss->n; i++)
		if (ss->s[i].sid == f->sid)
			return 0;	/* aliases: one entry per StreamID */
	if (ss->n == MAX_STREAMS)
		return -E2BIG;
	s = &ss->s[ss->n++];
	s->sid = f->sid;
	s->name = f->name;
	tool_bdf(f, s->bdf);
	return 0;
}

static const char *config_name(unsigned int config)
{
	switch (config) {
	case UIOMMU_SMMUV3_STE_CFG_ABORT: return "abort";
	case UIOMMU_SMMUV3_STE_CFG_BYPASS: return "bypass";
	case UIOMMU_SMMUV3_STE_CFG_S1: return "S1";
	case UIOMMU_SMMUV3_STE_CFG_S2: return "S2";
	case UIOMMU_SMMUV3_STE_CFG_NESTED: return "nested";
	}
	return "reserved";
}

static const char *s1fmt_name(unsigned int fmt)
{
	static const char *const n[] = { "linear", "2lvl-4K", "2lvl-64K" };

	return fmt < 3 ? n[fmt] : "reserved";
}


/* ---------------------------------------------------------------- text */

static void text_features(const struct uiommu_smmuv3_regs *r)
{
	printf("  features    SMMUv%u.%u, %s%s%s, %s tables%s\n",
	       r->id.arch_major, r->id.arch_minor,
	       r->id.s1p ? "stage 1" : "", r->id.s1p && r->id.s2p ? " + " : "",
	       r->id.s2p ? "stage 2" : "",
	       r->id.aarch64_tables ? "AArch64" : "AArch32",
	       r->id.little_endian ? " (little-endian)" : " (big-endian)");
	printf("              granules%s%s%s, OAS %u bits, StreamID %u bits, "
	       "SubstreamID %u bits\n",
	       r->id.gran4k ? " 4K" : "", r->id.gran16k ? " 16K" : "",
	       r->id.gran64k ? " 64K" : "", r->id.oas_bits, r->id.sid_bits,
	       r->id.ssid_bits);
	printf("              stream table %s, CD tables %s, queues up to "
	       "2^%u commands, 2^%u events\n",
	       r->id.strtab_2lvl ? "linear or 2-level" : "linear only",
	       r->id.cd_2lvl ? "linear or 2-level" : "linear only",
	       r->id.cmdq_log2max, r->id.eventq_log2max);
	printf("              %sASID16 %sVMID16 %sMSI %sSEV %scoherent walks "
	       "%sHTTU %sATS %sPRI, stall model %u\n",
	       r->id.asid16 ? "+" : "-", r->id.vmid16 ? "+" : "-",
	       r->id.msi ? "+" : "-", r->id.sev ? "+" : "-",
	       r->id.coherent ? "+" : "-", r->id.httu ? "+" : "-",
	       r->id.ats ? "+" : "-", r->id.pri ? "+" : "-", r->id.stall_model);
	printf("  IIDR        0x%08x (implementer 0x%03x, product 0x%03x)\n",
	       r->iidr, r->id.implementer, r->id.product);
}

static void text_control(const struct uiommu_smmuv3_regs *r)
{
	printf("  control     CR0 0x%08x: SMMUEN %u, CMDQEN %u, EVENTQEN %u; "
	       "CR2 0x%08x: RECINVSID %u, PTM %u\n", r->cr0, r->ctl.smmuen,
	       r->ctl.cmdqen, r->ctl.eventqen, r->cr2, r->ctl.recinvsid,
	       r->ctl.ptm);
	printf("  GBPA        0x%08x (%s while SMMUEN is 0)\n", r->gbpa,
	       r->ctl.gbpa_abort ? "abort" : "bypass");
	printf("  IRQ_CTRL    0x%08x: GERROR %s, EVENTQ %s\n", r->irq_ctrl,
	       r->ctl.gerror_irqen ? "on" : "off",
	       r->ctl.eventq_irqen ? "on" : "off");
	printf("  GERROR      0x%08x, GERRORN 0x%08x: %s", r->gerror, r->gerrorn,
	       r->ctl.gerror_active ? "active 0x" : "no error active\n");
	if (r->ctl.gerror_active)
		printf("%x\n", r->ctl.gerror_active);
	printf("  strtab      0x%016" PRIx64 ", %s, 2^%u StreamIDs",
	       r->ctl.strtab_addr, r->ctl.strtab_2lvl ? "2-level" : "linear",
	       r->ctl.strtab_log2size);
	if (r->ctl.strtab_2lvl)
		printf(", split %u", r->ctl.strtab_split);
	printf("\n");
	printf("  cmdq        0x%016" PRIx64 ", 2^%u entries, PROD 0x%05x "
	       "CONS 0x%05x, ERR %u\n", r->ctl.cmdq_addr, r->ctl.cmdq_log2size,
	       r->ctl.cmdq_prod, r->ctl.cmdq_cons, r->ctl.cmdq_err);
	printf("  eventq      0x%016" PRIx64 ", 2^%u entries, PROD 0x%05x "
	       "CONS 0x%05x%s\n", r->ctl.eventq_addr, r->ctl.eventq_log2size,
	       r->ctl.eventq_prod, r->ctl.eventq_cons,
	       r->ctl.eventq_overflow ? ", OVERFLOWED" : "");
}

static void text_stream(const struct stream *st,
			const struct uiommu_smmuv3_ste_info *in)
{
	char g[32];

	printf("    0x%04" PRIx32 "  %s %s\n", st->sid, st->bdf, st->name);
	if (in->ste_fetched) {
		printf("            STE @0x%016" PRIx64 ": V %u, Config %s",
		       in->ste_addr, in->valid, config_name(in->config));
		if (in->config & 1)
			printf(", S1ContextPtr 0x%" PRIx64 ", S1Fmt %s, S1CDMax %u",
			       in->s1_context_ptr, s1fmt_name(in->s1_fmt),
			       in->s1_cdmax);
		if (in->config & 2 && in->config != UIOMMU_SMMUV3_STE_CFG_BYPASS)
			printf(", S2VMID %u, S2TTB 0x%" PRIx64 ", S2T0SZ %u, "
			       "S2SL0 %u, S2TG %u", in->s2_vmid, in->s2_ttb,
			       in->s2_t0sz, in->s2_sl0, in->s2_tg);
		printf("\n");
	} else {
		printf("            STE not fetched\n");
	}
	if (in->cd_fetched) {
		printf("            CD  @0x%016" PRIx64 ": V %u, ASID %u, TTB0 0x%"
		       PRIx64 ", T0SZ %u, TG0 %u, IPS %u, EPD1 %u, R %u, A %u\n",
		       in->cd_addr, in->cd_valid, in->asid, in->ttb0, in->t0sz,
		       in->tg0, in->ips, in->epd1, in->cd_r, in->cd_a);
		if (in->s1_granule) {
			tool_size_name(g, sizeof(g), in->s1_granule);
			printf("                 stage 1: %s granule, %u-bit input, "
			       "%u-bit output, %u levels\n", g, in->s1_ias,
			       in->s1_oas, in->s1_levels);
		}
	}
	if (in->s2_granule) {
		tool_size_name(g, sizeof(g), in->s2_granule);
		printf("                 stage 2: %s granule, %u-bit input, %u-bit "
		       "output, %u levels\n", g, in->s2_ias, in->s2_oas,
		       in->s2_levels);
	}
	if (in->fault)
		printf("            FAULT: %s (%s)\n",
		       uiommu_smmuv3_event_name(in->event),
		       in->reason ? in->reason : "no reason given");
	printf("            config cache: %s\n", !in->cached ? "not cached" :
	       in->stale ? "STALE (differs from memory: CFGI missing)" :
	       "cached, matches memory");
}

static void text_counters(const struct uiommu_smmuv3_stats *ms,
			  const struct uiommu_smmuv3_drv_stats *ds)
{
	printf("  model counters:\n");
	printf("    translations %" PRIu64 ", faults %" PRIu64 ", TLB %" PRIu64
	       " hits / %" PRIu64 " misses, config cache %" PRIu64 " hits / %"
	       PRIu64 " misses\n", ms->translations, ms->faults, ms->tlb_hits,
	       ms->tlb_misses, ms->cfg_hits, ms->cfg_misses);
	printf("    commands %" PRIu64 " (%" PRIu64 " errors), events %" PRIu64
	       " written / %" PRIu64 " lost, invalidated %" PRIu64 " TLB / %"
	       PRIu64 " config entries\n", ms->commands, ms->cmd_errors,
	       ms->events_written, ms->events_lost, ms->tlb_invalidated,
	       ms->cfg_invalidated);
	if (!ds) {
		printf("  driver counters: no driver\n");
		return;
	}
	printf("  driver counters:\n");
	printf("    commands %" PRIu64 " (%" PRIu64 " CMD_SYNC, %" PRIu64
	       " CFGI_STE, %" PRIu64 " CFGI_CD, %" PRIu64 " TLBI_NH_VA, %"
	       PRIu64 " TLBI_NH_ASID, %" PRIu64 " refused)\n", ds->commands,
	       ds->syncs, ds->cfgi_ste, ds->cfgi_cd, ds->tlbi_va, ds->tlbi_asid,
	       ds->cmd_errors);
	printf("    events %" PRIu64 " (%" PRIu64 " lost, %" PRIu64
	       " reported as faults), global errors %" PRIu64 ", ASIDs %u, "
	       "level-2 stream tables %u\n", ds->events, ds->events_lost,
	       ds->faults_reported, ds->gerrors, ds->asids, ds->l2_tables);
}

/* ---------------------------------------------------------------- JSON */

static void json_regs(const struct uiommu_smmuv3_regs *r)
{
	printf(",\n   \"registers\": {");
	for (unsigned int i = 0; i < r->nregs; i++)
		printf("%s\"%s\": \"0x%" PRIx64 "\"", i ? ", " : "",
		       r->reg[i].name, r->reg[i].value);
	printf("}");
}

static void json_features(const struct uiommu_smmuv3_regs *r)
{
	printf(",\n   \"features\": {\"version\": \"%u.%u\", \"stage1\": %s, "
	       "\"stage2\": %s, \"aarch64_tables\": %s, \"little_endian\": %s, "
	       "\"granules\": [%s%s%s%s%s], \"oas_bits\": %u, \"sid_bits\": %u, "
	       "\"ssid_bits\": %u,\n    \"strtab_2lvl\": %s, \"cd_2lvl\": %s, "
	       "\"cmdq_log2max\": %u, \"eventq_log2max\": %u, \"asid16\": %s, "
	       "\"vmid16\": %s, \"msi\": %s, \"sev\": %s, \"coherent\": %s, "
	       "\"httu\": %s, \"ats\": %s, \"pri\": %s, \"stall_model\": %u, "
	       "\"implementer\": \"0x%x\", \"product\": \"0x%x\"}",
	       r->id.arch_major, r->id.arch_minor, tool_json_bool(r->id.s1p),
	       tool_json_bool(r->id.s2p), tool_json_bool(r->id.aarch64_tables),
	       tool_json_bool(r->id.little_endian),
	       r->id.gran4k ? "\"4K\"" : "",
	       r->id.gran4k && r->id.gran16k ? ", " : "",
	       r->id.gran16k ? "\"16K\"" : "",
	       (r->id.gran4k || r->id.gran16k) && r->id.gran64k ? ", " : "",
	       r->id.gran64k ? "\"64K\"" : "", r->id.oas_bits, r->id.sid_bits,
	       r->id.ssid_bits, tool_json_bool(r->id.strtab_2lvl), tool_json_bool(r->id.cd_2lvl),
	       r->id.cmdq_log2max, r->id.eventq_log2max, tool_json_bool(r->id.asid16),
	       tool_json_bool(r->id.vmid16), tool_json_bool(r->id.msi), tool_json_bool(r->id.sev),
	       tool_json_bool(r->id.coherent), tool_json_bool(r->id.httu), tool_json_bool(r->id.ats),
	       tool_json_bool(r->id.pri), r->id.stall_model, r->id.implementer,
	       r->id.product);
}

static void json_control(const struct uiommu_smmuv3_regs *r)
{
	printf(",\n   \"control\": {\"smmuen\": %s, \"cmdqen\": %s, "
	       "\"eventqen\": %s, \"recinvsid\": %s, \"gbpa_abort\": %s, "
	       "\"gerror_irq\": %s, \"eventq_irq\": %s, \"gerror_active\": "
	       "\"0x%x\"}", tool_json_bool(r->ctl.smmuen), tool_json_bool(r->ctl.cmdqen),
	       tool_json_bool(r->ctl.eventqen), tool_json_bool(r->ctl.recinvsid),
	       tool_json_bool(r->ctl.gbpa_abort), tool_json_bool(r->ctl.gerror_irqen),
	       tool_json_bool(r->ctl.eventq_irqen), r->ctl.gerror_active);
	printf(",\n   \"stream_table\": {\"base\": \"0x%" PRIx64 "\", \"format\": "
	       "\"%s\", \"log2size\": %u, \"split\": %u}", r->ctl.strtab_addr,
	       r->ctl.strtab_2lvl ? "2-level" : "linear", r->ctl.strtab_log2size,
	       r->ctl.strtab_2lvl ? r->ctl.strtab_split : 0);
	printf(",\n   \"cmdq\": {\"base\": \"0x%" PRIx64 "\", \"log2size\": %u, "
	       "\"prod\": \"0x%x\", \"cons\": \"0x%x\", \"err\": %u}",
	       r->ctl.cmdq_addr, r->ctl.cmdq_log2size, r->ctl.cmdq_prod,
	       r->ctl.cmdq_cons, r->ctl.cmdq_err);
	printf(",\n   \"eventq\": {\"base\": \"0x%" PRIx64 "\", \"log2size\": %u, "
	       "\"prod\": \"0x%x\", \"cons\": \"0x%x\", \"overflow\": %s}",
	       r->ctl.eventq_addr, r->ctl.eventq_log2size, r->ctl.eventq_prod,
	       r->ctl.eventq_cons, tool_json_bool(r->ctl.eventq_overflow));
}

static void json_stream(const struct stream *st,
			const struct uiommu_smmuv3_ste_info *in, bool first)
{
	printf("%s\n    {\"sid\": \"0x%" PRIx32 "\", \"function\": \"%s\", "
	       "\"name\": ", first ? "" : ",", st->sid, st->bdf);
	tool_json_str(st->name);
	printf(",\n     \"ste\": ");
	if (in->ste_fetched)
		printf("{\"addr\": \"0x%" PRIx64 "\", \"valid\": %s, \"config\": "
		       "\"%s\", \"s1_context_ptr\": \"0x%" PRIx64 "\", \"s1_fmt\": "
		       "\"%s\", \"s1_cdmax\": %u, \"s2_vmid\": %u, \"s2_ttb\": \"0x%"
		       PRIx64 "\", \"s2_t0sz\": %u, \"s2_sl0\": %u, \"s2_tg\": %u}",
		       in->ste_addr, tool_json_bool(in->valid), config_name(in->config),
		       in->s1_context_ptr, s1fmt_name(in->s1_fmt), in->s1_cdmax,
		       in->s2_vmid, in->s2_ttb, in->s2_t0sz, in->s2_sl0, in->s2_tg);
	else
		printf("null");
	printf(",\n     \"cd\": ");
	if (in->cd_fetched)
		printf("{\"addr\": \"0x%" PRIx64 "\", \"valid\": %s, \"asid\": %u, "
		       "\"ttb0\": \"0x%" PRIx64 "\", \"t0sz\": %u, \"tg0\": %u, "
		       "\"ips\": %u, \"epd1\": %s, \"record_faults\": %s, "
		       "\"abort_faults\": %s, \"granule\": %" PRIu64 ", "
		       "\"ias\": %u, \"oas\": %u, \"levels\": %u}",
		       in->cd_addr, tool_json_bool(in->cd_valid), in->asid, in->ttb0, in->t0sz,
		       in->tg0, in->ips, tool_json_bool(in->epd1), tool_json_bool(in->cd_r),
		       tool_json_bool(in->cd_a), in->s1_granule, in->s1_ias, in->s1_oas,
		       in->s1_levels);
	else
		printf("null");
	printf(",\n     \"fault\": ");
	if (in->fault) {
		printf("{\"event\": \"%s\", \"reason\": ",
		       uiommu_smmuv3_event_name(in->event));
		tool_json_str(in->reason ? in->reason : "");
		printf("}");
	} else {
		printf("null");
	}
	printf(", \"cached\": %s, \"stale\": %s}", tool_json_bool(in->cached),
	       tool_json_bool(in->stale));
}

static void json_counters(const struct uiommu_smmuv3_stats *ms,
			  const struct uiommu_smmuv3_drv_stats *ds)
{
	printf(",\n   \"model_counters\": {\"translations\": %" PRIu64
	       ", \"faults\": %" PRIu64 ", \"tlb_hits\": %" PRIu64
	       ", \"tlb_misses\": %" PRIu64 ", \"cfg_hits\": %" PRIu64
	       ", \"cfg_misses\": %" PRIu64 ", \"commands\": %" PRIu64
	       ", \"cmd_errors\": %" PRIu64 ", \"events_written\": %" PRIu64
	       ", \"events_lost\": %" PRIu64 ", \"tlb_invalidated\": %" PRIu64
	       ", \"cfg_invalidated\": %" PRIu64 "}", ms->translations,
	       ms->faults, ms->tlb_hits, ms->tlb_misses, ms->cfg_hits,
	       ms->cfg_misses, ms->commands, ms->cmd_errors, ms->events_written,
	       ms->events_lost, ms->tlb_invalidated, ms->cfg_invalidated);
	printf(",\n   \"driver_counters\": ");
	if (!ds) {
		printf("null");
		return;
	}
	printf("{\"commands\": %" PRIu64 ", \"syncs\": %" PRIu64
	       ", \"cfgi_ste\": %" PRIu64 ", \"cfgi_cd\": %" PRIu64
	       ", \"tlbi_va\": %" PRIu64 ", \"tlbi_asid\": %" PRIu64
	       ", \"cmd_errors\": %" PRIu64 ", \"events\": %" PRIu64
	       ", \"events_lost\": %" PRIu64 ", \"faults_reported\": %" PRIu64
	       ", \"gerrors\": %" PRIu64 ", \"asids\": %u, \"l2_tables\": %u}",
	       ds->commands, ds->syncs, ds->cfgi_ste, ds->cfgi_cd, ds->tlbi_va,
	       ds->tlbi_asid, ds->cmd_errors, ds->events, ds->events_lost,
	       ds->faults_reported, ds->gerrors, ds->asids, ds->l2_tables);
}

/* ------------------------------------------------------------ one SMMU */

static int show_smmu(const struct info_ctx *c, unsigned int idx, unsigned int n)
{
	struct uiommu_smmuv3 *smmu = uiommu_machine_smmu(c->m, idx);
	struct uiommu_smmuv3_drv *drv = uiommu_machine_smmu_drv(c->m, idx);
	struct uiommu_smmuv3_drv_stats ds;
	struct uiommu_smmuv3_stats ms;
	struct uiommu_smmuv3_regs r;
	struct streams *ss;
	uint64_t base = uiommu_smmuv3_base(smmu);
	int ret;

	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->base = base;
	ss->only = n == 1;
	ret = uiommu_machine_for_each_function(c->m, collect_stream, ss);
	if (!ret)
		ret = uiommu_smmuv3_read_regs(smmu, &r);
	if (ret)
		goto out;
	/* Counters first: nothing below changes them, but say so by order. */
	uiommu_smmuv3_get_stats(smmu, &ms);
	if (drv)
		uiommu_smmuv3_drv_get_stats(drv, &ds);
	if (c->json) {
		printf("%s\n  {\"index\": %u, \"base\": \"0x%" PRIx64 "\", \"node\": ",
		       idx ? "," : "", idx, base);
		tool_json_str(ss->node ? ss->node : "");
		printf(", \"driver\": %s", tool_json_bool(drv != NULL));
		json_regs(&r);
		json_features(&r);
		json_control(&r);
		printf(",\n   \"streams\": [");
	} else {
		printf("\nsmmuv3 %u at 0x%016" PRIx64 "-0x%016" PRIx64 " %s%s\n", idx,
		       base, base + UIOMMU_SMMUV3_MMIO_SIZE - 1,
		       ss->node ? ss->node : "(no PCI function maps to it)",
		       drv ? "" : " [no driver]");
		text_features(&r);
		text_control(&r);
		printf("  streams (StreamIDs of PCI functions, as the SMMU reads "
		       "them):%s\n", ss->n ? "" : " none");
	}
	for (unsigned int i = 0; i < ss->n; i++) {
		struct uiommu_smmuv3_ste_info in;

		ret = uiommu_smmuv3_inspect_ste(smmu, ss->s[i].sid, &in);
		if (ret)
			goto out;
		if (c->json)
			json_stream(&ss->s[i], &in, i == 0);
		else
			text_stream(&ss->s[i], &in);
	}
	if (c->json) {
		printf("]");
		json_counters(&ms, drv ? &ds : NULL);
		printf("}");
	} else {
		text_counters(&ms, drv ? &ds : NULL);
	}
out:
	free(ss);
	return ret;
}

int info_smmu(const struct info_ctx *c)
{
	struct uiommu_machine_info mi;
	int ret = 0;

	uiommu_machine_get_info(c->m, &mi);
	if (c->json) {
		info_json_head(c, "smmu");
		printf(",\n \"smmus\": [");
	} else {
		printf("machine: %s (%s)\n", c->source, mi.model);
	}
	for (unsigned int i = 0; i < mi.nsmmu && !ret; i++)
		ret = show_smmu(c, i, mi.nsmmu);
	if (c->json)
		printf("]}\n");
	else if (!ret && !mi.nsmmu)
		printf("\nno SMMU: device DMA is not translated\n");
	return ret;
}
