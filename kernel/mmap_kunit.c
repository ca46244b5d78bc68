// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of mmap.c: which offset and length a mapping of a buffer may
 * have, and how many pages one fault installs. mmap.c includes this file
 * at its end when the kernel has KUnit (see edu_kunit.c).
 */
#include <kunit/test.h>

static void mmap_range_inside_the_buffer(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, mmap_range_ok(4, 0, 4));
	KUNIT_EXPECT_TRUE(test, mmap_range_ok(4, 3, 1));
	KUNIT_EXPECT_TRUE(test, mmap_range_ok(4, 1, 3));
	KUNIT_EXPECT_TRUE(test, mmap_range_ok(1, 0, 1));
}

static void mmap_range_beyond_or_overflowing(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, mmap_range_ok(4, 0, 5));
	KUNIT_EXPECT_FALSE(test, mmap_range_ok(4, 1, 4));
	KUNIT_EXPECT_FALSE(test, mmap_range_ok(4, 4, 1));
	KUNIT_EXPECT_FALSE(test, mmap_range_ok(4, 5, 0));
	/* pgoff + pages wraps: must not pass as "small" */
	KUNIT_EXPECT_FALSE(test, mmap_range_ok(4, 2, ULONG_MAX));
	KUNIT_EXPECT_FALSE(test, mmap_range_ok(4, ULONG_MAX, 2));
	KUNIT_EXPECT_FALSE(test, mmap_range_ok(4, ULONG_MAX, ULONG_MAX));
}

static void fault_batch_bounded_by_parameter_buffer_and_vma(struct kunit *test)
{
	/* the parameter */
	KUNIT_EXPECT_EQ(test, fault_batch_pages(16, 1000, 0, 1000), 16UL);
	KUNIT_EXPECT_EQ(test, fault_batch_pages(0, 1000, 0, 1000), 1UL);
	KUNIT_EXPECT_EQ(test, fault_batch_pages(100000, 1000, 0, 1000), 512UL);
	KUNIT_EXPECT_EQ(test, fault_batch_pages(UINT_MAX, 1000, 0, 1000), 512UL);
	/* the end of the buffer */
	KUNIT_EXPECT_EQ(test, fault_batch_pages(16, 1000, 990, 1000), 10UL);
	KUNIT_EXPECT_EQ(test, fault_batch_pages(16, 1000, 999, 1000), 1UL);
	/* the end of the VMA */
	KUNIT_EXPECT_EQ(test, fault_batch_pages(16, 1000, 0, 3), 3UL);
	KUNIT_EXPECT_EQ(test, fault_batch_pages(16, 1000, 500, 1), 1UL);
}

static struct kunit_case mmap_kunit_cases[] = {
	KUNIT_CASE(mmap_range_inside_the_buffer),
	KUNIT_CASE(mmap_range_beyond_or_overflowing),
	KUNIT_CASE(fault_batch_bounded_by_parameter_buffer_and_vma),
	{}
};

static struct kunit_suite mmap_kunit_suite = {
	.name = "dmakit_mmap",
	.test_cases = mmap_kunit_cases,
};

kunit_test_suite(mmap_kunit_suite);
