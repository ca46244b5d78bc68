// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of mmap.c: which offset and length a mapping of a buffer may
 * have, how many pages one fault installs, and which contig VMAs a PMD can
 * map. mmap.c includes this file
 * at its end when the kernel has KUnit (see edu_kunit.c).
 */
#include <kunit/test.h>
#include <linux/sizes.h>

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

static bool pmd_fits(unsigned long start, unsigned long end, phys_addr_t phys)
{
	struct vm_area_struct vma = { .vm_start = start, .vm_end = end };

	return contig_pmd_fits(&vma, PHYS_PFN(phys));
}

static void contig_pmd_fits_an_aligned_2mib_piece_only(struct kunit *test)
{
	const unsigned long va = 0x40000000UL;
	const phys_addr_t pa = 0x10000000;
	const bool huge = dmakit_huge_pfnmap();	/* 6.1: never */

	/* 4 MiB, both aligned */
	KUNIT_EXPECT_EQ(test, pmd_fits(va, va + SZ_4M, pa), huge);
	/* from 4 KiB in: both agree modulo 2 MiB, one whole piece after */
	KUNIT_EXPECT_EQ(test, pmd_fits(va + SZ_4K, va + SZ_4M, pa + SZ_4K), huge);
	/* they disagree */
	KUNIT_EXPECT_FALSE(test, pmd_fits(va + SZ_4K, va + SZ_4M, pa));
	KUNIT_EXPECT_FALSE(test, pmd_fits(va, va + SZ_4M, pa + SZ_1M));
	/* agree, but no whole aligned 2 MiB inside */
	KUNIT_EXPECT_FALSE(test, pmd_fits(va + SZ_1M, va + SZ_2M + SZ_1M,
					  pa + SZ_1M));
	KUNIT_EXPECT_FALSE(test, pmd_fits(va, va + SZ_2M - SZ_4K, pa));
	KUNIT_EXPECT_FALSE(test, pmd_fits(va, va + SZ_1M, pa));
}

static struct kunit_case mmap_kunit_cases[] = {
	KUNIT_CASE(mmap_range_inside_the_buffer),
	KUNIT_CASE(mmap_range_beyond_or_overflowing),
	KUNIT_CASE(fault_batch_bounded_by_parameter_buffer_and_vma),
	KUNIT_CASE(contig_pmd_fits_an_aligned_2mib_piece_only),
	{}
};

static struct kunit_suite mmap_kunit_suite = {
	.name = "dmakit_mmap",
	.test_cases = mmap_kunit_cases,
};

kunit_test_suite(mmap_kunit_suite);
