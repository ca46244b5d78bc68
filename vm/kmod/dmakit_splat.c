// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: loading it makes one deliberate kernel report, so that
 * the lane harness can prove its console scanner fails a lane on it:
 *   kind=warn   a WARN (the default);
 *   kind=alloc  a page allocation failure report (warn_alloc(): "page
 *               allocation failure: order:0, mode:...", a stack, Mem-Info),
 *               what the kernel prints when a driver runs it out of memory.
 * Never part of a normal run (vm/check loads it only in its self-check).
 */
#include <linux/bug.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/string.h>
#include <linux/topology.h>

static char *kind = "warn";
module_param(kind, charp, 0444);
MODULE_PARM_DESC(kind, "the report to make on load: warn or alloc");

static int __init dmakit_splat_init(void)
{
	nodemask_t none = NODE_MASK_NONE;
	struct folio *folio;

	if (!strcmp(kind, "warn")) {
		WARN(1, "dmakit_splat: deliberate warning for the splat scanner self-check\n");
		return 0;
	}
	if (!strcmp(kind, "alloc")) {
		/*
		 * No node is allowed: the allocator finds no zone and reports
		 * the failure, the same report as memory that ran out
		 */
		folio = __folio_alloc(GFP_KERNEL, 0, numa_node_id(), &none);
		if (folio)
			folio_put(folio);
		return 0;
	}
	return -EINVAL;
}

static void __exit dmakit_splat_exit(void)
{
}

module_init(dmakit_splat_init);
module_exit(dmakit_splat_exit);

MODULE_DESCRIPTION("dmakit test-only module: one deliberate WARN or allocation failure report on load");
MODULE_LICENSE("GPL");
