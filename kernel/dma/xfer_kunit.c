// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the transfer requests' checks (xfer.c) and the mapping
 * layer's segment building (map.c, whose helpers xfer.h declares). xfer.c
 * includes this file at its end when the kernel has KUnit (see
 * edu_kunit.c): bounds of a transfer against the device window, the sg
 * entries built from runs of pages (merged while physically contiguous,
 * cut at the device's max segment size), and how a transfer or a COPY is
 * cut into device segments that never cross a DMA segment or the window.
 */
#include <kunit/test.h>

#define KT_WINDOW	DMAKIT_EDU_WINDOW_MAX

/* what edu's start() accepts (edu_window_ok(), which has its own tests) */
static bool seg_fits_window(u32 dev_off, u32 len)
{
	return len && (u64)dev_off + len <= KT_WINDOW;
}

static void xfer_check_bounds_to_the_window(struct kunit *test)
{
	struct dmakit_xfer a = { .dir = DMAKIT_DIR_TO_DEVICE, .len = KT_WINDOW };

	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), 0);
	a.len = KT_WINDOW + 1;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.len = 1;
	a.dev_offset = KT_WINDOW - 1;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), 0);
	a.dev_offset = KT_WINDOW;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.dir = DMAKIT_DIR_FROM_DEVICE;
	a.dev_offset = 100;
	a.len = KT_WINDOW - 100;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), 0);
	a.len++;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	/* dev_offset + len wraps around 64 bits */
	a.dev_offset = 1;
	a.len = U64_MAX;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.dev_offset = U32_MAX;
	a.len = 2;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
}

static void xfer_check_copy_has_any_length_but_no_device_offset(struct kunit *test)
{
	struct dmakit_xfer a = { .dir = DMAKIT_DIR_COPY, .len = 1ULL << 30 };

	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), 0);
	a.dev_offset = 1;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.dev_offset = 0;
	a.flags = DMAKIT_XFER_STAGED;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.flags = DMAKIT_XFER_ASYNC;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), 0);
}

static void xfer_check_refuses_bad_fields(struct kunit *test)
{
	struct dmakit_xfer good = { .dir = DMAKIT_DIR_TO_DEVICE, .len = 8 };
	struct dmakit_xfer a;

	KUNIT_EXPECT_EQ(test, xfer_check(&good, KT_WINDOW), 0);
	a = good;
	a.len = 0;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a = good;
	a.dir = 0;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.dir = 4;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a = good;
	a.flags = 0x8;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.flags = DMAKIT_XFER_MAP_ONLY | DMAKIT_XFER_ASYNC;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a.flags = DMAKIT_XFER_MAP_ONLY | DMAKIT_XFER_STAGED;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a = good;
	a.dst_fd = 3;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a = good;
	a.dst_offset = 4096;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a = good;
	a.pad = 1;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
	a = good;
	a.reserved[1] = 1;
	KUNIT_EXPECT_EQ(test, xfer_check(&a, KT_WINDOW), -EINVAL);
}

static void xfer_user_check_flags_and_directions(struct kunit *test)
{
	struct dmakit_xfer_user a = { .dir = DMAKIT_DIR_TO_DEVICE };

	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), 0);
	a.flags = DMAKIT_XFER_STAGED | DMAKIT_XFER_ZEROCOPY;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), -EINVAL);
	a.flags = DMAKIT_XFER_STAGED | DMAKIT_XFER_ASYNC;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), -EINVAL);
	a.flags = DMAKIT_XFER_MAP_ONLY | DMAKIT_XFER_ASYNC;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), -EINVAL);
	a.flags = 0x10;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), -EINVAL);
	a.flags = DMAKIT_XFER_ZEROCOPY | DMAKIT_XFER_ASYNC;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), 0);
	a.dst_iovcnt = 1;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), -EINVAL);
	a.dir = DMAKIT_DIR_COPY;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), 0);
	a.dev_offset = 1;
	KUNIT_EXPECT_EQ(test, xfer_user_check(&a), -EINVAL);
}

/* four physically contiguous pages and one from elsewhere */
struct kt_pages {
	struct page *block;
	struct page *other;
};

static int kt_pages_get(struct kunit *test, struct kt_pages *p)
{
	p->block = alloc_pages(GFP_KERNEL, 2);
	p->other = alloc_page(GFP_KERNEL);
	if (!p->block || !p->other) {
		if (p->block)
			__free_pages(p->block, 2);
		if (p->other)
			__free_page(p->other);
		return -ENOMEM;
	}
	return 0;
}

static void kt_pages_put(struct kt_pages *p)
{
	__free_pages(p->block, 2);
	__free_page(p->other);
}

static void run_continues_only_physically_and_within_max_seg(struct kunit *test)
{
	struct kt_pages p;
	struct user_run a, b;

	KUNIT_ASSERT_EQ(test, kt_pages_get(test, &p), 0);
	a = (struct user_run){ p.block, 100, PAGE_SIZE - 100 };
	b = (struct user_run){ p.block + 1, 0, 10 };
	KUNIT_EXPECT_TRUE(test, run_continues(&a, &b, a.len, U32_MAX));
	/* exactly max_seg still fits; one byte more does not */
	KUNIT_EXPECT_TRUE(test, run_continues(&a, &b, a.len, a.len + 10));
	KUNIT_EXPECT_FALSE(test, run_continues(&a, &b, a.len, a.len + 9));
	/* a gap: the run ends before the page does */
	a.len--;
	KUNIT_EXPECT_FALSE(test, run_continues(&a, &b, a.len, U32_MAX));
	a.len++;
	/* the next run does not start at its page's beginning */
	b.off = 1;
	KUNIT_EXPECT_FALSE(test, run_continues(&a, &b, a.len, U32_MAX));
	/* another page, not the next one */
	b = (struct user_run){ p.block + 2, 0, 10 };
	KUNIT_EXPECT_FALSE(test, run_continues(&a, &b, a.len, U32_MAX));
	kt_pages_put(&p);
}

struct kt_sg {
	struct page *page;
	unsigned int off;
	unsigned int len;
};

/* build @s's sg_table with @max_seg and compare it with @want */
static void kt_expect_sgt(struct kunit *test, struct xfer_side *s,
			  unsigned int max_seg, const struct kt_sg *want,
			  unsigned int n)
{
	struct scatterlist *sg;
	unsigned int i;

	memset(&s->sgt, 0, sizeof(s->sgt));
	KUNIT_ASSERT_EQ(test, side_build_runs_sgt(s, max_seg), 0);
	KUNIT_EXPECT_EQ_MSG(test, s->sgt.orig_nents, n, "max_seg %u", max_seg);
	for_each_sgtable_sg(&s->sgt, sg, i) {
		if (i >= n)
			break;
		KUNIT_EXPECT_PTR_EQ_MSG(test, sg_page(sg), want[i].page,
					"entry %u, max_seg %u", i, max_seg);
		KUNIT_EXPECT_EQ_MSG(test, sg->offset, want[i].off,
				    "entry %u, max_seg %u", i, max_seg);
		KUNIT_EXPECT_EQ_MSG(test, sg->length, want[i].len,
				    "entry %u, max_seg %u", i, max_seg);
		KUNIT_EXPECT_LE(test, sg->length, max_seg);
	}
	KUNIT_EXPECT_TRUE(test, sg_is_last(sg_last(s->sgt.sgl, s->sgt.orig_nents)));
	sg_free_table(&s->sgt);
}

static void runs_merge_into_sg_entries_cut_at_max_seg(struct kunit *test)
{
	struct xfer_side s = { };
	struct kt_pages p;
	struct user_run runs[5];

	KUNIT_ASSERT_EQ(test, kt_pages_get(test, &p), 0);
	/* 3996 + 4096 + 50 bytes contiguous, a foreign page, then a gap */
	runs[0] = (struct user_run){ p.block, 100, PAGE_SIZE - 100 };
	runs[1] = (struct user_run){ p.block + 1, 0, PAGE_SIZE };
	runs[2] = (struct user_run){ p.block + 2, 0, 50 };
	runs[3] = (struct user_run){ p.other, 0, PAGE_SIZE };
	runs[4] = (struct user_run){ p.block + 3, 0, PAGE_SIZE };
	s.runs = runs;
	s.nruns = ARRAY_SIZE(runs);
	{
		const struct kt_sg want[] = {
			{ p.block, 100, 2 * PAGE_SIZE - 100 + 50 },
			{ p.other, 0, PAGE_SIZE },
			{ p.block + 3, 0, PAGE_SIZE },
		};

		kt_expect_sgt(test, &s, U32_MAX, want, ARRAY_SIZE(want));
		/* a max_seg of exactly the merged length still merges */
		kt_expect_sgt(test, &s, 2 * PAGE_SIZE - 100 + 50, want,
			      ARRAY_SIZE(want));
	}
	{
		const struct kt_sg want[] = {
			{ p.block, 100, 2 * PAGE_SIZE - 100 },
			{ p.block + 2, 0, 50 },
			{ p.other, 0, PAGE_SIZE },
			{ p.block + 3, 0, PAGE_SIZE },
		};

		kt_expect_sgt(test, &s, 2 * PAGE_SIZE - 100 + 49, want,
			      ARRAY_SIZE(want));
	}
	{
		const struct kt_sg want[] = {
			{ p.block, 100, PAGE_SIZE - 100 },
			{ p.block + 1, 0, PAGE_SIZE },
			{ p.block + 2, 0, 50 },
			{ p.other, 0, PAGE_SIZE },
			{ p.block + 3, 0, PAGE_SIZE },
		};

		kt_expect_sgt(test, &s, PAGE_SIZE, want, ARRAY_SIZE(want));
	}
	kt_pages_put(&p);
}

/* one side's DMA segments as a fake, already mapped, sg_table */
static void kt_side_sg(struct kunit *test, struct xfer_side *s,
		       const dma_addr_t *addr, const u32 *len, unsigned int n)
{
	struct scatterlist *sg;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, sg_alloc_table(&s->sgt, n, GFP_KERNEL), 0);
	for_each_sgtable_sg(&s->sgt, sg, i) {
		sg_dma_address(sg) = addr[i];
		sg_dma_len(sg) = len[i];
	}
	s->sgt.nents = n;
	s->single = false;
	s->dma_segments = n;
}

static void kt_side_single(struct xfer_side *s, dma_addr_t addr)
{
	s->single = true;
	s->dma = addr;
	s->dma_segments = 1;
}

static struct xfer_req *kt_req(struct kunit *test, u32 dir, u64 len,
			       u32 dev_off)
{
	struct dmakit_engine *eng = kunit_kzalloc(test, sizeof(*eng),
						  GFP_KERNEL);
	struct xfer_req *xr;

	KUNIT_ASSERT_NOT_NULL(test, eng);
	eng->window = KT_WINDOW;
	xr = xfer_req_alloc(eng);
	KUNIT_ASSERT_NOT_NULL(test, xr);
	xr->dir = dir;
	xr->len = len;
	xr->dev_off = dev_off;
	xr->nsides = dir == DMAKIT_DIR_COPY ? 2 : 1;
	return xr;
}

static void kt_req_free(struct xfer_req *xr)
{
	unsigned int i;

	for (i = 0; i < xr->nsides; i++)
		if (!xr->side[i].single)
			sg_free_table(&xr->side[i].sgt);
	xfer_req_free(xr);
}

static void kt_expect_segs(struct kunit *test, struct xfer_req *xr,
			   const struct dmakit_seg *want, unsigned int n)
{
	struct dmakit_req *req = &xr->req;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, req->nsegs, n);
	for (i = 0; i < min(n, req->nsegs); i++) {
		const struct dmakit_seg *seg = &req->segs[i];

		KUNIT_EXPECT_EQ_MSG(test, seg->bus, want[i].bus, "segment %u", i);
		KUNIT_EXPECT_EQ_MSG(test, seg->dev_off, want[i].dev_off,
				    "segment %u", i);
		KUNIT_EXPECT_EQ_MSG(test, seg->len, want[i].len, "segment %u", i);
		KUNIT_EXPECT_EQ_MSG(test, seg->to_device, want[i].to_device,
				    "segment %u", i);
		/* what edu's start() refuses with a WARN must never be built */
		KUNIT_EXPECT_TRUE_MSG(test, seg_fits_window(seg->dev_off, seg->len),
				      "segment %u: %u + %u", i, seg->dev_off,
				      seg->len);
	}
}

static void segs_one_side_follow_its_dma_segments(struct kunit *test)
{
	static const dma_addr_t addr[] = { 0xa000, 0xb000, 0xf000 };
	static const u32 len[] = { 100, 2000, 995 };
	const struct dmakit_seg want[] = {
		{ 0xa000, 1000, 100, true },
		{ 0xb000, 1100, 2000, true },
		{ 0xf000, 3100, 995, true },
	};
	struct xfer_req *xr = kt_req(test, DMAKIT_DIR_TO_DEVICE, 3095, 1000);

	kt_side_sg(test, &xr->side[0], addr, len, 3);
	KUNIT_ASSERT_EQ(test, xfer_build_segs(xr), 0);
	kt_expect_segs(test, xr, want, ARRAY_SIZE(want));
	kt_req_free(xr);
}

static void segs_whole_window_is_one_segment(struct kunit *test)
{
	const struct dmakit_seg want[] = { { 0x123000, 0, KT_WINDOW, false } };
	struct xfer_req *xr = kt_req(test, DMAKIT_DIR_FROM_DEVICE, KT_WINDOW, 0);

	kt_side_single(&xr->side[0], 0x123000);
	KUNIT_ASSERT_EQ(test, xfer_build_segs(xr), 0);
	kt_expect_segs(test, xr, want, ARRAY_SIZE(want));
	kt_req_free(xr);
}

static void segs_copy_alternates_window_sized_chunks(struct kunit *test)
{
	const u32 w = KT_WINDOW;
	const struct dmakit_seg want[] = {
		{ 0x100000, 0, w, true }, { 0x900000, 0, w, false },
		{ 0x100000 + w, 0, w, true }, { 0x900000 + w, 0, w, false },
		{ 0x100000 + 2 * w, 0, 10000 - 2 * w, true },
		{ 0x900000 + 2 * w, 0, 10000 - 2 * w, false },
	};
	struct xfer_req *xr = kt_req(test, DMAKIT_DIR_COPY, 10000, 0);

	kt_side_single(&xr->side[0], 0x100000);
	kt_side_single(&xr->side[1], 0x900000);
	KUNIT_ASSERT_EQ(test, xfer_build_segs(xr), 0);
	kt_expect_segs(test, xr, want, ARRAY_SIZE(want));
	kt_req_free(xr);
}

/* a chunk end and a DMA segment end each cut a segment, on both sides */
static void segs_copy_cut_at_chunk_and_dma_segment_ends(struct kunit *test)
{
	static const dma_addr_t saddr[] = { 0x10000, 0x20000, 0x30000 };
	static const u32 slen[] = { 3000, 3000, 4000 };
	static const dma_addr_t daddr[] = { 0x80000, 0x90000 };
	static const u32 dlen[] = { 5000, 5000 };
	const u32 w = KT_WINDOW;
	const struct dmakit_seg want[] = {
		/* chunk 1: 4095 bytes */
		{ 0x10000, 0, 3000, true }, { 0x20000, 3000, w - 3000, true },
		{ 0x80000, 0, w, false },
		/* chunk 2 */
		{ 0x20000 + w - 3000, 0, 6000 - w, true },
		{ 0x30000, 6000 - w, 2 * w - 6000, true },
		{ 0x80000 + w, 0, 5000 - w, false },
		{ 0x90000, 5000 - w, 2 * w - 5000, false },
		/* chunk 3: the last 1810 bytes */
		{ 0x30000 + 2 * w - 6000, 0, 10000 - 2 * w, true },
		{ 0x90000 + 2 * w - 5000, 0, 10000 - 2 * w, false },
	};
	struct xfer_req *xr = kt_req(test, DMAKIT_DIR_COPY, 10000, 0);

	kt_side_sg(test, &xr->side[0], saddr, slen, 3);
	kt_side_sg(test, &xr->side[1], daddr, dlen, 2);
	KUNIT_ASSERT_EQ(test, xfer_build_segs(xr), 0);
	kt_expect_segs(test, xr, want, ARRAY_SIZE(want));
	kt_req_free(xr);
}

/* a long COPY of one-page DMA segments: more segments than inline room */
static void segs_long_copy_of_pages(struct kunit *test)
{
	const u64 len = 64 * PAGE_SIZE + 123;
	const unsigned int n = 65;
	dma_addr_t *addr = kunit_kcalloc(test, n, sizeof(*addr), GFP_KERNEL);
	u32 *slen = kunit_kcalloc(test, n, sizeof(*slen), GFP_KERNEL);
	struct xfer_req *xr = kt_req(test, DMAKIT_DIR_COPY, len, 0);
	u64 moved[2] = { 0, 0 };
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, addr);
	KUNIT_ASSERT_NOT_NULL(test, slen);
	for (i = 0; i < n; i++) {
		/* every other page far away: no two DMA segments adjoin */
		addr[i] = 0x1000000 + (u64)i * 2 * PAGE_SIZE;
		slen[i] = i + 1 < n ? PAGE_SIZE : 123;
	}
	kt_side_sg(test, &xr->side[0], addr, slen, n);
	kt_side_single(&xr->side[1], 0x40000000);
	KUNIT_ASSERT_EQ(test, xfer_build_segs(xr), 0);
	KUNIT_EXPECT_PTR_NE(test, xr->req.segs, &xr->inline_segs[0]);
	/* on the first wrong segment say why and stop: the log stays short */
	for (i = 0; i < xr->req.nsegs; i++) {
		const struct dmakit_seg *seg = &xr->req.segs[i];
		int d = seg->to_device ? 0 : 1;
		u64 page = moved[0] >> PAGE_SHIFT;
		const char *why = NULL;

		if (!seg_fits_window(seg->dev_off, seg->len))
			why = "outside the window";
		/* within a chunk, segments of one side follow each other */
		else if (seg->dev_off != moved[d] % KT_WINDOW)
			why = "not where the side's previous one ended";
		/* only what the source put in the window comes out */
		else if (d && moved[1] + seg->len > moved[0])
			why = "takes more than the source put in";
		else if (d && seg->bus != 0x40000000 + moved[1])
			why = "destination address";
		else if (!d && seg->bus != addr[page] + offset_in_page(moved[0]))
			why = "source address";
		/* never across a DMA segment's end */
		else if (!d && offset_in_page(moved[0]) + seg->len > PAGE_SIZE)
			why = "crosses a DMA segment";
		if (why) {
			KUNIT_FAIL(test, "segment %u (bus %pad, dev_off %u, len %u, %s): %s",
				   i, &seg->bus, seg->dev_off, seg->len,
				   d ? "from device" : "to device", why);
			break;
		}
		moved[d] += seg->len;
	}
	KUNIT_EXPECT_EQ(test, moved[0], len);
	KUNIT_EXPECT_EQ(test, moved[1], len);
	kt_req_free(xr);
}

static struct kunit_case xfer_kunit_cases[] = {
	KUNIT_CASE(xfer_check_bounds_to_the_window),
	KUNIT_CASE(xfer_check_copy_has_any_length_but_no_device_offset),
	KUNIT_CASE(xfer_check_refuses_bad_fields),
	KUNIT_CASE(xfer_user_check_flags_and_directions),
	KUNIT_CASE(run_continues_only_physically_and_within_max_seg),
	KUNIT_CASE(runs_merge_into_sg_entries_cut_at_max_seg),
	KUNIT_CASE(segs_one_side_follow_its_dma_segments),
	KUNIT_CASE(segs_whole_window_is_one_segment),
	KUNIT_CASE(segs_copy_alternates_window_sized_chunks),
	KUNIT_CASE(segs_copy_cut_at_chunk_and_dma_segment_ends),
	KUNIT_CASE(segs_long_copy_of_pages),
	{}
};

static struct kunit_suite xfer_kunit_suite = {
	.name = "dmakit_xfer",
	.test_cases = xfer_kunit_cases,
};

kunit_test_suite(xfer_kunit_suite);
