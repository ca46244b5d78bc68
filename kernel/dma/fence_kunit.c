// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of fence.c's ordering: an engine's fences signal in seqno
 * order whatever order their requests end in (a queued request cancelled
 * before the running one ends), each with its request's error, and a
 * fence that never ends (a wedged device's request) holds back those
 * after it. fence.c includes this file at its end when the kernel has
 * KUnit (see edu_kunit.c).
 */
#include <kunit/test.h>

static void fences_signal_in_seqno_order(struct kunit *test)
{
	struct dmakit_engine *eng = kunit_kzalloc(test, sizeof(*eng), GFP_KERNEL);
	struct dma_fence *f[4];
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, eng);
	eng->name = "kunit";
	dmakit_fence_init_engine(eng);
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		f[i] = dmakit_fence_new(eng);
		KUNIT_ASSERT_NOT_NULL(test, f[i]);
		dma_fence_get(f[i]);	/* the test's, as a sync_file's */
		KUNIT_EXPECT_EQ(test, f[i]->context, eng->fence_context);
		KUNIT_EXPECT_EQ(test, f[i]->seqno, (u64)i + 1);
	}

	/* the second ends first: it waits for the first */
	dmakit_fence_end(eng, f[1], -EINTR);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(f[1]));
	dmakit_fence_end(eng, f[0], 0);
	KUNIT_EXPECT_EQ(test, dma_fence_get_status(f[0]), 1);
	KUNIT_EXPECT_EQ(test, dma_fence_get_status(f[1]), -EINTR);

	/* the third never ends (wedged): the fourth stays behind it */
	dmakit_fence_end(eng, f[3], -ENODEV);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(f[2]));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(f[3]));

	/* (the test ends it, not to leak it) */
	dmakit_fence_end(eng, f[2], -EIO);
	KUNIT_EXPECT_EQ(test, dma_fence_get_status(f[2]), -EIO);
	KUNIT_EXPECT_EQ(test, dma_fence_get_status(f[3]), -ENODEV);
	KUNIT_EXPECT_TRUE(test, list_empty(&eng->fences));
	for (i = 0; i < ARRAY_SIZE(f); i++)
		dma_fence_put(f[i]);
}

static struct kunit_case fence_kunit_cases[] = {
	KUNIT_CASE(fences_signal_in_seqno_order),
	{}
};

static struct kunit_suite fence_kunit_suite = {
	.name = "dmakit_fence",
	.test_cases = fence_kunit_cases,
};

kunit_test_suite(fence_kunit_suite);
