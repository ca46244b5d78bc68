// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of buffer.c: what an ALLOC request may ask for, the range a
 * read or write of a buffer covers, and copies between a buffer and kernel
 * memory across page boundaries. buffer.c includes this file at its end
 * when the kernel has KUnit (see edu_kunit.c).
 */
#include <kunit/test.h>

static void buffer_check_sizes_kinds_and_fields(struct kunit *test)
{
	/* only compared to NULL */
	struct dmakit_buffer_owner *dev = (struct dmakit_buffer_owner *)test;
	struct dmakit_alloc good = { .size = 1, .kind = DMAKIT_KIND_PAGES };
	struct dmakit_alloc a;
	u32 kind;

	KUNIT_EXPECT_EQ(test, buffer_check(&good, NULL), 0);
	for (kind = DMAKIT_KIND_CONTIG; kind <= DMAKIT_KIND_VMALLOC; kind++) {
		a = good;
		a.kind = kind;
		KUNIT_EXPECT_EQ_MSG(test, buffer_check(&a, NULL), 0, "kind %u", kind);
	}
	a = good;
	a.kind = 0;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
	a.kind = DMAKIT_KIND_COHERENT + 1;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
	/* coherent memory needs a device: only a device node gives one */
	a.kind = DMAKIT_KIND_COHERENT;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, buffer_check(&a, dev), 0);
	a = good;
	a.size = 0;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
	a.size = dmakit_max_buffer_bytes();
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), 0);
	a.size++;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -E2BIG);
	a.size = U64_MAX;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -E2BIG);
	a = good;
	a.flags = DMAKIT_ALLOC_RDONLY | DMAKIT_ALLOC_CLOEXEC;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), 0);
	a.flags = 0x8;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
	a.flags = DMAKIT_ALLOC_PREMAP;	/* page arrays only */
	a.kind = DMAKIT_KIND_PAGES;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), 0);
	a.kind = DMAKIT_KIND_VMALLOC;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), 0);
	a.kind = DMAKIT_KIND_CONTIG;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
	a.kind = DMAKIT_KIND_COHERENT;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, dev), -EINVAL);
	a = good;
	a.pad = 1;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
	a = good;
	a.reserved[0] = 1;
	KUNIT_EXPECT_EQ(test, buffer_check(&a, NULL), -EINVAL);
}

static void buffer_io_span_stays_inside_the_buffer(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, 0, 8192), 8192);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, 0, 100000), 8192);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, 8191, 2), 1);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, 4000, 100), 100);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, 8192, 1), 0);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, LLONG_MAX, 1), 0);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, 10, SIZE_MAX), 8182);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, -1, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, dmakit_buffer_io_span(8192, LLONG_MIN, 1), -EINVAL);
}

/* a pages-kind buffer of @n pages, without a file */
static struct dmakit_buffer *kt_pages_buffer(struct kunit *test, pgoff_t n)
{
	struct dmakit_buffer *buf = kzalloc(sizeof(*buf), GFP_KERNEL);

	if (!buf)
		return NULL;
	buf->kind = DMAKIT_KIND_PAGES;
	buf->size = n << PAGE_SHIFT;
	buf->npages = n;
	if (buffer_alloc_memory(buf)) {
		buffer_free(buf);
		return NULL;
	}
	return buf;
}

static void buffer_copy_kernel_crosses_pages(struct kunit *test)
{
	struct dmakit_buffer *buf = kt_pages_buffer(test, 3);
	const size_t len = PAGE_SIZE + 1000, off = PAGE_SIZE - 100;
	u8 *src = kunit_kmalloc(test, len, GFP_KERNEL);
	u8 *back = kunit_kzalloc(test, len, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	if (!src || !back) {
		buffer_free(buf);
		KUNIT_FAIL(test, "no memory");
		return;
	}
	for (i = 0; i < len; i++)
		src[i] = i * 7 + 3;
	dmakit_buffer_copy_kernel(buf, off, src, len, true);
	/* three pages touched: the last 100 bytes of 0, all of 1, 900 of 2 */
	for (i = 0; i < len; i++) {
		pgoff_t index = (off + i) >> PAGE_SHIFT;
		u8 *page = page_address(buf->pages[index]);

		if (page[offset_in_page(off + i)] != src[i]) {
			KUNIT_FAIL(test, "byte %zu (page %lu) is %u, want %u", i,
				   index, page[offset_in_page(off + i)], src[i]);
			break;
		}
	}
	/* and nothing around it */
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(buf->pages[0]))[off - 1], 0);
	KUNIT_EXPECT_EQ(test, ((u8 *)page_address(buf->pages[2]))[offset_in_page(off + len)], 0);
	dmakit_buffer_copy_kernel(buf, off, back, len, false);
	KUNIT_EXPECT_EQ(test, memcmp(src, back, len), 0);
	buffer_free(buf);
}

static void buffer_page_per_kind(struct kunit *test)
{
	struct dmakit_buffer *buf = kt_pages_buffer(test, 2);
	struct dmakit_buffer contig = { .kind = DMAKIT_KIND_CONTIG };

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_PTR_EQ(test, dmakit_buffer_page(buf, 1), buf->pages[1]);
	buffer_free(buf);

	contig.vaddr = alloc_pages_exact(3 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, contig.vaddr);
	KUNIT_EXPECT_PTR_EQ(test, dmakit_buffer_page(&contig, 2),
			    virt_to_page(contig.vaddr) + 2);
	free_pages_exact(contig.vaddr, 3 * PAGE_SIZE);
}

static struct kunit_case buffer_kunit_cases[] = {
	KUNIT_CASE(buffer_check_sizes_kinds_and_fields),
	KUNIT_CASE(buffer_io_span_stays_inside_the_buffer),
	KUNIT_CASE(buffer_copy_kernel_crosses_pages),
	KUNIT_CASE(buffer_page_per_kind),
	{}
};

static struct kunit_suite buffer_kunit_suite = {
	.name = "dmakit_buffer",
	.test_cases = buffer_kunit_cases,
};

kunit_test_suite(buffer_kunit_suite);
