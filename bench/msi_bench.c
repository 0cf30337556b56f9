// SPDX-License-Identifier: MIT
/*
 * MSI doorbell setup cost: prepare + compose + release of 2048 vectors
 * across 32 devices of one unmanaged domain that share one ITS doorbell
 * (uio-testiommu with real in-RAM page tables).  One JSON line per run:
 *   {"bench":"msi","case":"prepare_compose_release","vectors":2048,
 *    "window_pages_used":N,"ns_per_op":X}
 * ns_per_op is the best of UIOMMU_BENCH_ROUNDS (default 50) rounds, per
 * vector (one prepare, one compose and one release).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include <uiommu/iommu-driver.h>
#include <uiommu/physmem.h>

#include "testiommu.h"

#define NDEV 32
#define NVEC 2048
#define ITS_PAGE UINT64_C(0x08090000)
#define ITS_DOORBELL (ITS_PAGE + 0x40)

static int its_read(void *o, uint64_t off, unsigned int size, uint64_t *val,
		    const struct uiommu_memattrs *a)
{
	(void)o; (void)off; (void)size; (void)a;
	*val = 0;
	return 0;
}

static int its_write(void *o, uint64_t off, unsigned int size, uint64_t val,
		     const struct uiommu_memattrs *a)
{
	(void)o; (void)off; (void)size; (void)val; (void)a;
	return 0;
}

static const struct uiommu_mmio_ops its_ops = {
	.read = its_read, .write = its_write,
};
static const struct uiommu_reg_desc its_regs[] = {
	{ "GITS_TRANSLATER", 0x40, 4 },
};

#define CHECK(x)                                                         \
	do {                                                             \
		int err_ = (x);                                          \
		if (err_) {                                              \
			fprintf(stderr, "%s: %s\n", #x,                  \
				uiommu_strerror(err_));                  \
			exit(1);                                         \
		}                                                        \
	} while (0)

int main(void)
{
	static struct uiommu_msi_vector *vec[NVEC];
	struct uiommu_mmio_desc its = {
		.name = "its0.translater", .owner = "gicv3-its@8080000",
		.size = 0x10000, .ops = &its_ops, .regs = its_regs, .nregs = 1,
		.doorbell = true,
	};
	struct uiommu_msi_ctrl_desc itsd = {
		.name = "its0", .doorbell_pa = ITS_DOORBELL, .isolating = true,
	};
	struct uiommu_device *dev[NDEV];
	struct uiommu_msi_window_info wi;
	struct uiommu_physmem *pm;
	struct uiommu_phys_pool *pool;
	struct uio_testiommu *ti;
	struct uiommu_msi_ctrl *ctrl;
	struct uiommu_domain *dom;
	struct uio_testiommu_cfg tc = { .granule_shift = 12 };
	const char *env = getenv("UIOMMU_BENCH_ROUNDS");
	int rounds = env ? atoi(env) : 50;
	uint64_t best = UINT64_MAX, sum = 0;
	unsigned int pages = 0;
	int r, i;

	CHECK(uiommu_physmem_create(48, &pm));
	CHECK(uiommu_physmem_add_ram(pm, "ram", 0x40000000, 0x1000000, NULL,
				     NULL));
	CHECK(uiommu_physmem_add_mmio(pm, ITS_PAGE, &its));
	CHECK(uiommu_phys_pool_create(pm, 0x40000000, 0x1000000, &pool));
	tc.pm = pm;
	tc.pool = pool;
	CHECK(uio_testiommu_create(&tc, &ti));
	CHECK(uiommu_msi_ctrl_register(&itsd, &ctrl));
	for (i = 0; i < NDEV; i++) {
		uint32_t sid = (uint32_t)i + 1;
		char name[32];
		struct uiommu_device_desc d = {
			.name = name, .ids = &sid, .nids = 1,
			.msi_ctrls = &ctrl, .nmsi_ctrls = 1,
		};

		snprintf(name, sizeof(name), "0000:01:%02x.0", i);
		CHECK(uiommu_device_create(uio_testiommu_iommu(ti), &d,
					   &dev[i]));
	}
	CHECK(uiommu_domain_alloc(dev[0], UIOMMU_DOMAIN_UNMANAGED, &dom));
	for (i = 0; i < NDEV; i++)
		CHECK(uiommu_group_attach(uiommu_device_group(dev[i]), dom));

	for (r = 0; r < rounds; r++) {
		uint64_t t0 = bench_now_ns(), t;

		for (i = 0; i < NVEC; i++) {
			struct uiommu_msi_msg msg = { .address = ITS_DOORBELL,
						      .data = (uint32_t)i };

			CHECK(uiommu_msi_prepare(dev[i % NDEV], ITS_DOORBELL,
						 NULL, NULL, &vec[i]));
			CHECK(uiommu_msi_compose(vec[i], &msg));
			if (msg.address != 0x8000040) {
				fprintf(stderr, "bad address 0x%llx\n",
					(unsigned long long)msg.address);
				return 1;
			}
		}
		uiommu_domain_get_msi_window(dom, &wi);
		for (i = 0; i < NVEC; i++)
			uiommu_msi_release(vec[i]);
		t = bench_now_ns() - t0;
		/* window query is part of the timed loop but negligible */
		if (wi.pages_used > pages)
			pages = wi.pages_used;
		if (t < best)
			best = t;
		sum += t;
	}
	printf("{\"bench\":\"msi\",\"case\":\"prepare_compose_release\","
	       "\"vectors\":%d,\"window_pages_used\":%u,\"ns_per_op\":%.1f}"
	       "\n", NVEC, pages, (double)best / NVEC);
	fprintf(stderr, "msi_bench: %d rounds, mean %.1f ns per vector\n",
		rounds, (double)sum / rounds / NVEC);

	for (i = 0; i < NDEV; i++)
		CHECK(uiommu_group_detach(uiommu_device_group(dev[i])));
	CHECK(uiommu_domain_free(dom));
	for (i = 0; i < NDEV; i++)
		CHECK(uiommu_device_destroy(dev[i]));
	CHECK(uiommu_msi_ctrl_unregister(ctrl));
	CHECK(uio_testiommu_destroy(ti));
	uiommu_phys_pool_destroy(pool);
	uiommu_physmem_destroy(pm);
	return pages == 1 ? 0 : 1;
}
