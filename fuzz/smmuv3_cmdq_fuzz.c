// SPDX-License-Identifier: MIT
/*
 * Fuzz target: arbitrary command-queue contents for the SMMUv3 model.
 *
 * Input: byte 0 picks the queue size (2^1..2^8 entries), byte 1 the number
 * of rounds and whether the driver acknowledges command errors; the rest
 * is raw 16-byte commands.  Each round copies the next commands into the
 * queue, publishes them with one CMDQ_PROD write, optionally acknowledges
 * GERROR.CMDQ_ERR, and translates a transaction of a stage-1 stream so that
 * invalidations meet filled caches.  Expected: no crash, no hang, only
 * architectural outcomes (CERROR_* in CMDQ_CONS, GERROR bits); the model's
 * invariant checker must pass after every round.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smmuv3_testdrv.h"
#include "smmuv3-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_config cfg = { .ram_size = UINT64_C(4) << 20, .sid_bits = 4 };
	struct uiommu_smmuv3_fault f;
	struct td td;
	struct td_pt pt;
	uint64_t cd, pa;
	unsigned int rounds, n;
	bool ack;

	if (size < 2)
		return 0;
	uiommu_set_log_level(UIOMMU_LOG_ERR);
	cfg.cmdq_log2 = 1 + data[0] % 8;
	rounds = 1 + (data[1] & 3);
	ack = data[1] & 4;
	data += 2;
	size -= 2;
	if (td_init(&td, &cfg))
		abort();
	n = 1u << td.cmdq_log2;
	cd = td_alloc(&td, 4096);
	td_pt_init(&td, &pt, false);
	td_write_cd(&td, cd, 1, pt.root);
	td_ste_s1(&td, 1, cd, 0);
	td_map(&td, &pt, 0x1000, TD_RAM_BASE, TD_R | TD_W);
	for (unsigned int r = 0; r < rounds && size >= CMD_SIZE; r++) {
		uint32_t prod = td_rd32(&td, SMMU_CMDQ_PROD);
		uint32_t cons = td_rd32(&td, SMMU_CMDQ_CONS);
		uint32_t mask = 2 * n - 1, used = (prod - cons) & mask;
		unsigned int k = 0;

		while (size >= CMD_SIZE && used + k < n) {
			uint64_t c[2];

			memcpy(c, data, sizeof(c));
			td_st(&td, td.cmdq + ((prod + k) & (n - 1)) * CMD_SIZE, c[0]);
			td_st(&td, td.cmdq + ((prod + k) & (n - 1)) * CMD_SIZE + 8, c[1]);
			data += CMD_SIZE;
			size -= CMD_SIZE;
			k++;
		}
		td_wr32(&td, SMMU_CMDQ_PROD, (prod + k) & mask);
		if (ack)
			td_wr32(&td, SMMU_GERRORN, td_rd32(&td, SMMU_GERROR));
		(void)td_xlate(&td, 1, 0x1000, 0, &pa, &f);
		if (uiommu_smmuv3_check(td.smmu))
			abort();
		if (UIO_FEX64(td_rd32(&td, SMMU_CMDQ_CONS), CMDQ_CONS, ERR) >
		    CERROR_ATC_INV_SYNC)
			abort();
	}
	td_fini(&td);
	return 0;
}
