/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the cmocka tests:
 * - a counting allocator that can fail the Nth allocation and reports the
 *   blocks still live (leak check without a sanitizer);
 * - log capture, so a test can assert what the library said;
 * - a deterministic PRNG (xorshift64*), seeded from UIOMMU_TEST_SEED.
 */
#ifndef UIOMMU_TESTUTIL_H
#define UIOMMU_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <uiommu/base.h>

/* Install the counting allocator; allocation number @fail_at (1-based)
 * fails, 0 never.  Resets the counters. */
void tu_alloc_install(unsigned long fail_at);
/* Restore the default allocator. */
void tu_alloc_uninstall(void);
/* Allocations made since install (including the failed one). */
unsigned long tu_alloc_count(void);
/* Whether the armed failure has happened. */
int tu_alloc_failed(void);
/* Blocks and bytes allocated through the hook and not yet freed. */
long tu_alloc_live_blocks(void);
long tu_alloc_live_bytes(void);

/* Capture log messages at @level and above into a buffer (quiet stderr). */
void tu_log_capture(enum uiommu_log_level level);
/* Everything captured since the last tu_log_capture()/tu_log_clear(). */
const char *tu_log_text(void);
void tu_log_clear(void);
/* Send log messages to stderr again. */
void tu_log_release(void);

uint64_t tu_rand(void);
uint64_t tu_rand_range(uint64_t lo, uint64_t hi); /* inclusive */
void tu_rand_seed(uint64_t seed);
uint64_t tu_seed_from_env(uint64_t fallback);

/*
 * Fail-Nth sweep: run @op with allocation 1, 2, ... failing until it
 * succeeds without reaching the armed failure.  For each failing run,
 * @check(ctx, ret) asserts that the error was -ENOMEM and the state is as
 * before; @reset(ctx) restores the starting state between runs.
 * Returns the number of failure points swept.
 */
unsigned long tu_fail_nth_sweep(void *ctx, int (*op)(void *ctx),
				void (*check)(void *ctx, int ret),
				void (*reset)(void *ctx));

/*
 * Read file @name of the test data directory (UIOMMU_TEST_DATA, the build
 * directory of tests/) into a zeroed buffer of the file's size + @slack
 * bytes (room for tests that edit it); *@size receives that buffer size.
 * Fails the test if the file cannot be read.  free() the result.
 */
void *tu_load_test_data(const char *name, size_t slack, size_t *size);

#endif /* UIOMMU_TESTUTIL_H */
