// SPDX-License-Identifier: MIT
/*
 * Fuzz target: arbitrary RAM under the SMMUv3 model's stream table, context
 * descriptors and translation tables.
 *
 * Input: byte 0 selects the stream-table format (linear / 2-level); then
 * 4 STEs (256 bytes), 4
 * CDs (256 bytes) and one 512-byte translation-table fragment are copied
 * into RAM, and the remaining bytes are transactions of 16 bytes (StreamID,
 * SubstreamID, access, IOVA).  Pointer fields that hold small values are
 * relocated into the fuzzed pages ("offset" pointers) so that the fuzzer
 * reaches deep structures; large values stay as they are and usually hit
 * holes (fetch aborts).  Expected: every translation returns 0 or -EFAULT
 * with an architectural event number; no crash, no hang; the invariant
 * checker passes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smmuv3_testdrv.h"
#include "smmuv3-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A pointer field below 64 KiB becomes an offset into @page. */
static uint64_t reloc(uint64_t d, unsigned int shift, unsigned int len,
		      uint64_t page)
{
	uint64_t addr = uio_extract64(d, shift, len) << shift;

	if (addr < 0x10000)
		d = uio_deposit64(d, shift, len, (page + (addr & 0xfff)) >> shift);
	return d;
}

static bool architectural(uint8_t ev)
{
	switch (ev) {
	case UIOMMU_SMMUV3_EVT_NONE:
	case UIOMMU_SMMUV3_EVT_C_BAD_STREAMID:
	case UIOMMU_SMMUV3_EVT_F_STE_FETCH:
	case UIOMMU_SMMUV3_EVT_C_BAD_STE:
	case UIOMMU_SMMUV3_EVT_F_STREAM_DISABLED:
	case UIOMMU_SMMUV3_EVT_C_BAD_SUBSTREAMID:
	case UIOMMU_SMMUV3_EVT_F_CD_FETCH:
	case UIOMMU_SMMUV3_EVT_C_BAD_CD:
	case UIOMMU_SMMUV3_EVT_F_WALK_EABT:
	case UIOMMU_SMMUV3_EVT_F_TRANSLATION:
	case UIOMMU_SMMUV3_EVT_F_ADDR_SIZE:
	case UIOMMU_SMMUV3_EVT_F_ACCESS:
	case UIOMMU_SMMUV3_EVT_F_PERMISSION:
		return true;
	default:
		return false;
	}
}

/*
 * What `uiommu info smmu` does, on whatever STE/CD the input wrote: the
 * inspection must cope with any of it and change nothing the SMMU counts
 * or records.
 */
static void inspect(struct td *td, uint32_t sid)
{
	struct uiommu_smmuv3_stats before, after;
	struct uiommu_smmuv3_ste_info info;
	struct uiommu_smmuv3_regs regs;

	uiommu_smmuv3_get_stats(td->smmu, &before);
	if (uiommu_smmuv3_inspect_ste(td->smmu, sid, &info) ||
	    uiommu_smmuv3_read_regs(td->smmu, &regs))
		abort();
	if (!architectural(info.event))
		abort();
	uiommu_smmuv3_get_stats(td->smmu, &after);
	if (memcmp(&before, &after, sizeof(before)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_config cfg = { .ram_size = UINT64_C(4) << 20, .sid_bits = 4,
				 .eventq_log2 = 3 };
	uint64_t cds, tables, ev[4];
	struct td td;

	if (size < 1 + 256 + 256 + 512)
		return 0;
	uiommu_set_log_level(UIOMMU_LOG_ERR);
	cfg.two_level = data[0] & 1;
	if (td_init(&td, &cfg))
		abort();
	data++;
	size--;
	cds = td_alloc(&td, 4096);
	tables = td_alloc(&td, 4096);
	for (uint32_t sid = 0; sid < 4; sid++) {
		uint64_t ste[8];

		for (unsigned int i = 0; i < 8; i++)
			ste[i] = get64(data + sid * 64 + i * 8);
		ste[0] = reloc(ste[0], STE0_S1CONTEXTPTR_SHIFT,
			       STE0_S1CONTEXTPTR_LEN, cds);
		ste[3] = reloc(ste[3], STE3_S2TTB_SHIFT, STE3_S2TTB_LEN, tables);
		td_write_ste(&td, sid, ste);
	}
	data += 256;
	for (unsigned int i = 0; i < 32; i++) {
		uint64_t d = get64(data + i * 8);

		if (i % 8 == 1)
			d = reloc(d, CD1_TTB0_SHIFT, CD1_TTB0_LEN, tables);
		td_st(&td, cds + i * 8, d);
	}
	data += 256;
	for (unsigned int i = 0; i < 64; i++) {
		uint64_t d = get64(data + i * 8);

		td_st(&td, tables + i * 8, reloc(d, 12, 36, tables));
	}
	data += 512;
	size -= 1024;
	for (; size >= 16; data += 16, size -= 16) {
		struct uiommu_smmuv3_txn t = {
			.sid = data[0] & 7,
			.ssv = data[1] & 1,
			.ssid = data[2] & 0xff,
			.access = data[1] >> 1 & 7,
			.iova = get64(data + 8) & ~UINT64_C(0xfff),
			.size = 8,
		};
		struct uiommu_smmuv3_fault f;
		uint64_t pa;
		int err;

		if ((t.access & UIOMMU_SMMUV3_ACC_WRITE) &&
		    (t.access & UIOMMU_SMMUV3_ACC_EXEC))
			t.access &= ~UIOMMU_SMMUV3_ACC_EXEC;
		if (data[3] & 1)	/* sometimes the driver invalidates */
			(void)td_cfgi_all(&td);
		if (data[3] & 2)	/* sometimes a debugger looks */
			inspect(&td, t.sid);
		err = uiommu_smmuv3_translate(td.smmu, &t, &pa, &f);
		if (err && (err != -EFAULT || !architectural(f.event)))
			abort();
	}
	while (td_read_event(&td, ev) == 0)
		if (!architectural((uint8_t)UIO_FEX64(ev[0], EVT0, TYPE)) ||
		    UIO_FEX64(ev[0], EVT0, TYPE) == UIOMMU_SMMUV3_EVT_NONE)
			abort();
	if (uiommu_smmuv3_check(td.smmu))
		abort();
	td_fini(&td);
	return 0;
}
