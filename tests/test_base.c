// SPDX-License-Identifier: MIT
/* Tests of the base layer: errors, logging, allocation hook, trace events. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "alloc.h"
#include "bits.h"
#include "log.h"
#include "trace.h"

static void test_strerror_names_library_errnos(void **state)
{
	(void)state;
	assert_string_equal(uiommu_strerror(-ENOSPC),
			    "no space left in the address range");
	assert_string_equal(uiommu_strerror(ENOMEM), "out of memory");
	assert_string_equal(uiommu_strerror(0), "success");
	assert_string_equal(uiommu_strerror(-99999), "unknown error");
}

static void test_log_levels_filter_and_route(void **state)
{
	(void)state;
	tu_log_capture(UIOMMU_LOG_WARN);
	uio_info("demo", "not shown %d", 1);
	uio_warn("demo", "shown %d", 2);
	uio_guest_error("smmuv3", "STE %u invalid", 7u);
	assert_int_equal(uio_fail(-EINVAL, "iova", "bad size 0x%x", 0), -EINVAL);
	assert_string_equal(tu_log_text(),
			    "demo: shown 2\n"
			    "smmuv3: guest error: STE 7 invalid\n"
			    "iova: bad size 0x0\n");
	tu_log_release();
}

static void test_alloc_hook_counts_and_fails(void **state)
{
	void *a, *b;

	(void)state;
	tu_alloc_install(2);
	a = uio_zalloc(100);
	assert_non_null(a);
	assert_int_equal(((unsigned char *)a)[99], 0);
	b = uio_zalloc(100);
	assert_null(b);
	assert_true(tu_alloc_failed());
	assert_int_equal(tu_alloc_live_blocks(), 1);
	uio_free(a, 100);
	assert_int_equal(tu_alloc_live_blocks(), 0);
	assert_null(uio_calloc(SIZE_MAX / 2, 4));
	tu_alloc_uninstall();
}

static void test_large_aligned_alloc_is_zeroed(void **state)
{
	size_t size = 4u << 20;
	unsigned char *p = uio_alloc_aligned(size, 4096);

	(void)state;
	assert_non_null(p);
	assert_true(uio_is_aligned((uintptr_t)p, 4096));
	assert_int_equal(p[0] | p[size - 1], 0);
	p[size - 1] = 1;
	uio_free_aligned(p, size, 4096);

	p = uio_alloc_aligned(64 * 1024, 64 * 1024);
	assert_non_null(p);
	assert_true(uio_is_aligned((uintptr_t)p, 64 * 1024));
	uio_free_aligned(p, 64 * 1024, 64 * 1024);
}

static char trace_seen[256];

static void record_trace(void *opaque, const char *event, const char *text)
{
	(void)opaque;
	snprintf(trace_seen, sizeof(trace_seen), "%s %s", event, text);
}

static void test_trace_glob_enables_and_prints_hex(void **state)
{
	bool on = true;
	const char *name;
	unsigned int i;

	(void)state;
	assert_int_equal(uiommu_trace_enable(""), -EINVAL);
	assert_int_equal(uiommu_trace_enable("no_such_event*"), -ENOENT);
	uiommu_set_trace_handler(record_trace, NULL);

	trace_seen[0] = '\0';
	trace_base_alloc_fail(0x1000, 0x40);
	assert_string_equal(trace_seen, "");

	assert_true(uiommu_trace_enable("base_*") >= 1);
	trace_base_alloc_fail(0x1000, 0x40);
	assert_string_equal(trace_seen, "base_alloc_fail size=0x1000 align=0x40");

	for (i = 0; (name = uiommu_trace_event_name(i, &on)); i++)
		if (!strcmp(name, "base_alloc_fail"))
			break;
	assert_non_null(name);
	assert_true(on);

	assert_true(uiommu_trace_disable("*") >= 1);
	trace_seen[0] = '\0';
	trace_base_alloc_fail(0x1000, 0x40);
	assert_string_equal(trace_seen, "");
	uiommu_set_trace_handler(NULL, NULL);
}

static void test_fields_extract_and_deposit(void **state)
{
	UIO_FIELD(TEST_REG, HI, 60, 4);
	UIO_FIELD(TEST_REG, ALL, 0, 64);
	uint64_t v = 0;

	(void)state;
	v = UIO_FDP64(v, TEST_REG, HI, 0xab);	/* truncated to 4 bits */
	assert_int_equal(v, UINT64_C(0xb000000000000000));
	assert_int_equal(UIO_FEX64(v, TEST_REG, HI), 0xb);
	assert_int_equal(TEST_REG_HI_MASK, UINT64_C(0xf000000000000000));
	assert_int_equal(UIO_FEX64(v, TEST_REG, ALL), v);
	assert_int_equal(UIO_GENMASK(47, 12), UINT64_C(0x0000fffffffff000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_names_library_errnos),
		cmocka_unit_test(test_log_levels_filter_and_route),
		cmocka_unit_test(test_alloc_hook_counts_and_fails),
		cmocka_unit_test(test_large_aligned_alloc_is_zeroed),
		cmocka_unit_test(test_trace_glob_enables_and_prints_hex),
		cmocka_unit_test(test_fields_extract_and_deposit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
