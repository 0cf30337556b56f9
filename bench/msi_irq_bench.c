// SPDX-License-Identifier: MIT
/*
 * The MSI layer end to end, on the test machine of tests/msi_world.c (test
 * IOMMU with page tables in RAM, ITS or GICv2m, PCI test device):
 *   alloc_free: uiommu_msi_alloc_irq_vectors() of 32 MSI-X vectors in the
 *               device's DMA domain + uiommu_msi_free_irq_vectors();
 *               ns_per_op per pair
 *   deliver:    the device raises a vector (uiommu_pci_dev_notify): MSI-X
 *               table read, DMA port, IOMMU translation, doorbell write,
 *               ITS (or v2m) translation, handler; ns_per_op per interrupt
 *   move:       the group moves to an unmanaged domain and back with 32
 *               live vectors (bind, hold, rewrite, release); ns_per_op per
 *               move
 * One JSON line per case: {"bench":"msi_irq","case":...,"ctrl":...,
 * "ns_per_op":X}; best of UIOMMU_BENCH_ROUNDS (default 20) rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "benchutil.h"
#include "msi_world.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "msi_irq_bench: %s: %s\n", what, uiommu_strerror(err));
	exit(1);
}

static void report(const char *c, const char *ctrl, double ns)
{
	printf("{\"bench\":\"msi_irq\",\"case\":\"%s\",\"ctrl\":\"%s\","
	       "\"ns_per_op\":%.1f}\n", c, ctrl, ns);
}

static double bench_alloc_free(struct tdev *t, unsigned int rounds)
{
	double best = 1e30;
	unsigned int n;
	int err;

	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t t0 = bench_now_ns();

		for (int i = 0; i < 16; i++) {
			err = uiommu_msi_alloc_irq_vectors(t->md, 32, 32,
							   UIOMMU_PCI_IRQ_FLAG_MSIX,
							   &n);
			if (err)
				die("alloc", err);
			err = uiommu_msi_free_irq_vectors(t->md);
			if (err)
				die("free", err);
		}
		double ns = (double)(bench_now_ns() - t0) / 16;
		if (ns < best)
			best = ns;
	}
	return best;
}

static double bench_deliver(struct tdev *t, unsigned int rounds)
{
	double best = 1e30;
	const int per = 32 * 256;

	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t t0 = bench_now_ns();

		for (int i = 0; i < per; i++) {
			int err = uiommu_pci_dev_notify(t->pd, (unsigned int)i % 32);

			if (err)
				die("notify", err);
		}
		double ns = (double)(bench_now_ns() - t0) / per;
		if (ns < best)
			best = ns;
	}
	return best;
}

static double bench_move(struct tdev *t, struct uiommu_domain *ud,
			 unsigned int rounds)
{
	struct uiommu_group *g = uiommu_device_group(t->idev);
	double best = 1e30;
	int err;

	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t t0 = bench_now_ns();

		for (int i = 0; i < 16; i++) {
			err = uiommu_group_attach(g, ud);
			if (!err)
				err = uiommu_group_detach(g);
			if (err)
				die("move", err);
		}
		double ns = (double)(bench_now_ns() - t0) / 32;
		if (ns < best)
			best = ns;
	}
	return best;
}

static void run(bool use_v2m, unsigned int rounds)
{
	const char *ctrl = use_v2m ? "gicv2m" : "its";
	static struct world w;
	struct tdev *t = &w.d[0];
	struct uiommu_domain *ud;
	unsigned int n;
	int err;

	err = msi_world_init(&w, use_v2m);
	if (err)
		die("world", err);
	report("alloc_free", ctrl, bench_alloc_free(t, rounds));
	err = uiommu_msi_alloc_irq_vectors(t->md, 32, 32,
					   UIOMMU_PCI_IRQ_FLAG_MSIX, &n);
	if (err)
		die("alloc", err);
	report("deliver", ctrl, bench_deliver(t, rounds));
	err = uiommu_domain_alloc(t->idev, UIOMMU_DOMAIN_UNMANAGED, &ud);
	if (err)
		die("domain", err);
	report("move", ctrl, bench_move(t, ud, rounds));
	err = uiommu_domain_free(ud);
	if (!err)
		err = msi_world_fini(&w);
	if (err)
		die("teardown", err);
}

int main(void)
{
	const char *env = getenv("UIOMMU_BENCH_ROUNDS");
	unsigned int rounds = env ? (unsigned int)atoi(env) : 20;

	if (!rounds)
		rounds = 1;
	run(false, rounds);
	run(true, rounds);
	return 0;
}
