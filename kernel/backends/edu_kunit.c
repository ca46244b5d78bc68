// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the edu backend's pure helpers (edu.h, edu_selftest.c).
 * edu_selftest.c includes this file at its end when the kernel has KUnit
 * (our debug kernel), so the tests see its static functions; the suites
 * run each time the module loads, and their results are read from the
 * kernel log by tests/kunit.sh.
 */
#include <kunit/test.h>

static void edu_window_accepts_what_fits(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, edu_window_ok(0, 1));
	KUNIT_EXPECT_TRUE(test, edu_window_ok(0, 4095));
	KUNIT_EXPECT_TRUE(test, edu_window_ok(1, 4094));
	KUNIT_EXPECT_TRUE(test, edu_window_ok(4094, 1));
}

static void edu_window_refuses_the_last_byte_and_beyond(struct kunit *test)
{
	/* a transfer touching device address 0x40fff stops QEMU 7.2 */
	KUNIT_EXPECT_FALSE(test, edu_window_ok(0, 4096));
	KUNIT_EXPECT_FALSE(test, edu_window_ok(1, 4095));
	KUNIT_EXPECT_FALSE(test, edu_window_ok(4095, 1));
	KUNIT_EXPECT_FALSE(test, edu_window_ok(4096, 0));
}

static void edu_window_refuses_empty_and_overflowing(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, edu_window_ok(0, 0));
	KUNIT_EXPECT_FALSE(test, edu_window_ok(U32_MAX, 2));
	KUNIT_EXPECT_FALSE(test, edu_window_ok(2, U32_MAX));
	KUNIT_EXPECT_FALSE(test, edu_window_ok(U32_MAX, U32_MAX));
}

static void edu_loopback_check_validates_every_field(struct kunit *test)
{
	struct dmakit_edu_loopback arg = { .len = 100 };

	KUNIT_EXPECT_EQ(test, edu_loopback_check(&arg), 0);
	arg.len = 0;
	KUNIT_EXPECT_EQ(test, edu_loopback_check(&arg), -EINVAL);
	arg.len = DMAKIT_EDU_WINDOW_MAX;
	KUNIT_EXPECT_EQ(test, edu_loopback_check(&arg), 0);
	arg.len = DMAKIT_EDU_WINDOW_MAX + 1;
	KUNIT_EXPECT_EQ(test, edu_loopback_check(&arg), -EINVAL);
	arg.len = 100;
	arg.flags = 1;
	KUNIT_EXPECT_EQ(test, edu_loopback_check(&arg), -EINVAL);
	arg.flags = 0;
	arg.pad = 1;
	KUNIT_EXPECT_EQ(test, edu_loopback_check(&arg), -EINVAL);
	arg.pad = 0;
	arg.reserved[1] = 1;
	KUNIT_EXPECT_EQ(test, edu_loopback_check(&arg), -EINVAL);
}

static struct kunit_case edu_kunit_cases[] = {
	KUNIT_CASE(edu_window_accepts_what_fits),
	KUNIT_CASE(edu_window_refuses_the_last_byte_and_beyond),
	KUNIT_CASE(edu_window_refuses_empty_and_overflowing),
	KUNIT_CASE(edu_loopback_check_validates_every_field),
	{}
};

static struct kunit_suite edu_kunit_suite = {
	.name = "dmakit_edu",
	.test_cases = edu_kunit_cases,
};

kunit_test_suite(edu_kunit_suite);
