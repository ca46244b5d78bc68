// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of introspect.c's translation helpers: the kernel address
 * kind and zone of a buffer page, physical contiguity, and the offset
 * range of a translation. introspect.c includes this file at its end when
 * the kernel has KUnit (see edu_kunit.c).
 */
#include <kunit/test.h>
#include <linux/io.h>
#include <linux/sizes.h>
#include <linux/vmalloc.h>

static void zone_of_names_the_page_allocator_zone(struct kunit *test)
{
	struct page *page;

#ifdef CONFIG_ZONE_DMA
	page = alloc_page(GFP_KERNEL | GFP_DMA);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, zone_of(page), DMAKIT_ZONE_DMA);
	KUNIT_EXPECT_LT(test, (u64)page_to_phys(page), (u64)SZ_16M);
	__free_page(page);
#endif
#ifdef CONFIG_ZONE_DMA32
	page = alloc_page(GFP_KERNEL | GFP_DMA32);
	KUNIT_ASSERT_NOT_NULL(test, page);
	/* ZONE_DMA32, unless it fell back to ZONE_DMA below it */
	KUNIT_EXPECT_EQ(test, zone_of(page),
			page_zonenum(page) == ZONE_DMA32 ? DMAKIT_ZONE_DMA32 :
							   DMAKIT_ZONE_DMA);
	KUNIT_EXPECT_LT(test, (u64)page_to_phys(page), (u64)SZ_4G);
	__free_page(page);
#endif
	page = alloc_page(GFP_HIGHUSER_MOVABLE);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_NE(test, zone_of(page), 0U);
	if (page_zonenum(page) == ZONE_MOVABLE)
		KUNIT_EXPECT_EQ(test, zone_of(page), DMAKIT_ZONE_MOVABLE);
	__free_page(page);
}

/* a fake vmalloc-kind buffer of @n pages, as buffer.c builds one */
static int kt_vmalloc_buffer(struct dmakit_buffer *buf, pgoff_t n)
{
	pgoff_t i;

	buf->kind = DMAKIT_KIND_VMALLOC;
	buf->size = n << PAGE_SHIFT;
	buf->npages = n;
	buf->vaddr = vmalloc_user(buf->size);
	buf->pages = kcalloc(n, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->vaddr || !buf->pages) {
		vfree(buf->vaddr);
		kfree(buf->pages);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		buf->pages[i] = vmalloc_to_page(buf->vaddr + (i << PAGE_SHIFT));
	return 0;
}

static void describe_page_vmalloc_kind(struct kunit *test)
{
	struct dmakit_buffer buf = { };
	struct dmakit_page_desc d = { };

	KUNIT_ASSERT_EQ(test, kt_vmalloc_buffer(&buf, 3), 0);
	describe_page(&buf, 2, &d);
	KUNIT_EXPECT_EQ(test, d.kva_kind, DMAKIT_KVA_VMALLOC);
	KUNIT_EXPECT_EQ(test, d.kva, (u64)(unsigned long)buf.vaddr + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, d.offset, (u64)2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, d.pfn, (u64)page_to_pfn(buf.pages[2]));
	KUNIT_EXPECT_EQ(test, d.phys, (u64)page_to_phys(buf.pages[2]));
	KUNIT_EXPECT_GE(test, d.refcount, 1U);
	vfree(buf.vaddr);
	kfree(buf.pages);
}

static void describe_page_contig_kind(struct kunit *test)
{
	struct dmakit_buffer buf = { .kind = DMAKIT_KIND_CONTIG,
				     .size = 4 * PAGE_SIZE, .npages = 4 };
	struct dmakit_page_desc d[4] = { };
	unsigned int i;

	buf.vaddr = alloc_pages_exact(buf.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf.vaddr);
	KUNIT_EXPECT_EQ(test, describe_offsets(&buf, 0, 4, d), 4);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, d[i].kva_kind, DMAKIT_KVA_LINEAR);
		KUNIT_EXPECT_EQ(test, d[i].kva,
				(u64)(unsigned long)buf.vaddr + i * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, d[i].phys,
				(u64)virt_to_phys(buf.vaddr) + i * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, d[i].phys, d[i].pfn << PAGE_SHIFT);
	}
	mark_contig(d, 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ_MSG(test, !!(d[i].flags & DMAKIT_PAGE_CONTIG_NEXT),
				    i < 3, "page %u", i);
	free_pages_exact(buf.vaddr, buf.size);
}

static void describe_offsets_range(struct kunit *test)
{
	struct dmakit_buffer buf = { };
	struct dmakit_page_desc d[4] = { };

	KUNIT_ASSERT_EQ(test, kt_vmalloc_buffer(&buf, 3), 0);
	/* clamped to the pages that exist from the offset on */
	KUNIT_EXPECT_EQ(test, describe_offsets(&buf, PAGE_SIZE, 4, d), 2);
	KUNIT_EXPECT_EQ(test, d[0].offset, (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, d[1].offset, (u64)2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, describe_offsets(&buf, 2 * PAGE_SIZE, 1, d), 1);
	KUNIT_EXPECT_EQ(test, describe_offsets(&buf, 3 * PAGE_SIZE, 1, d), -EINVAL);
	KUNIT_EXPECT_EQ(test, describe_offsets(&buf, 1, 1, d), -EINVAL);
	KUNIT_EXPECT_EQ(test, describe_offsets(&buf, U64_MAX & PAGE_MASK, 1, d),
			-EINVAL);
	vfree(buf.vaddr);
	kfree(buf.pages);
}

static void mark_contig_only_physically_next_pages(struct kunit *test)
{
	static const u64 pfns[] = { 10, 11, 12, 20, 0, 1, 5, 4 };
	struct dmakit_page_desc d[ARRAY_SIZE(pfns)] = { };
	static const bool want[] = { 1, 1, 0, 0, 0, 0, 0, 0 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pfns); i++)
		d[i].pfn = pfns[i];
	d[7].flags = DMAKIT_PAGE_MAPPED;
	mark_contig(d, ARRAY_SIZE(d));
	for (i = 0; i < ARRAY_SIZE(d); i++)
		KUNIT_EXPECT_EQ_MSG(test, !!(d[i].flags & DMAKIT_PAGE_CONTIG_NEXT),
				    want[i], "page %u (pfn %llu)", i, pfns[i]);
	KUNIT_EXPECT_EQ(test, d[7].flags, (u32)DMAKIT_PAGE_MAPPED);
	/* the count bounds the look-ahead: the last described page has no next */
	d[2].flags = 0;
	d[3].pfn = 13;
	mark_contig(d, 3);
	KUNIT_EXPECT_EQ(test, d[2].flags, 0U);
}

static struct kunit_case introspect_kunit_cases[] = {
	KUNIT_CASE(zone_of_names_the_page_allocator_zone),
	KUNIT_CASE(describe_page_vmalloc_kind),
	KUNIT_CASE(describe_page_contig_kind),
	KUNIT_CASE(describe_offsets_range),
	KUNIT_CASE(mark_contig_only_physically_next_pages),
	{}
};

static struct kunit_suite introspect_kunit_suite = {
	.name = "dmakit_introspect",
	.test_cases = introspect_kunit_cases,
};

kunit_test_suite(introspect_kunit_suite);
