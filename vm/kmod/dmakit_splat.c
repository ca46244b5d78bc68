// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: loading it raises one deliberate WARN, so that the lane
 * harness can prove its console scanner fails a lane on a kernel splat.
 * Never part of a normal run (vm/check loads it only in its self-check).
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init dmakit_splat_init(void)
{
	WARN(1, "dmakit_splat: deliberate warning for the splat scanner self-check\n");
	return 0;
}

static void __exit dmakit_splat_exit(void)
{
}

module_init(dmakit_splat_init);
module_exit(dmakit_splat_exit);

MODULE_DESCRIPTION("dmakit test-only module: one deliberate WARN on load");
MODULE_LICENSE("GPL");
