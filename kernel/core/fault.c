// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit fault injection: the module's test hooks as points of the kernel's
 * fault-injection framework (Documentation/fault-injection/).
 *
 * Points, each a directory of /sys/kernel/debug/dmakit/:
 *   dma_map           dma/map.c, dma/stage.c: a DMA mapping call of the
 *                     transfer path
 *                     (dma_map_single/page/sgtable of a request's side, a
 *                     staging dma_pool chunk) fails as if the DMA API had
 *                     refused it
 *   drop_irq          dma/engine.c: a DMA segment runs without its completion
 *                     interrupt, so the watchdog's timeout path runs
 *   fdc_mask_channel  backends/fdc.c: a floppy transfer leaves ISA DMA channel 2
 *                     masked; the controller waits for DMA that never comes
 *   fdc_bad_sector    backends/fdc.c: a floppy transfer asks for sector 19, which a
 *                     1.44 MB track does not have
 *
 * Each directory has the framework's files, root's and mode 0600:
 * probability (percent), interval, times, space, verbose, and where the
 * framework makes them verbose_ratelimit_*, task-filter, ... To fail the
 * Nth call from now once: probability 100, interval 1, times 1, space N
 * (should_fail() lets a call pass while space > 1 and takes 1 from space for
 * it); times reads 0 once the failure was injected. The next N calls: times
 * N, space 0. Writing probability 0 disarms the point.
 *
 * Where the kernel has CONFIG_FAULT_INJECTION_DEBUG_FS (our debug kernel)
 * each point is a struct fault_attr, its directory is made by
 * fault_create_debugfs_attr() and the check is should_fail(). Debian's
 * kernels (6.1, 6.12) are built without the framework; for them this file
 * has a fallback that makes the same five files and follows
 * lib/fault-inject.c's should_fail_ex() for them (times, space, interval,
 * probability, verbose; there is no task filter, stack filter, rate limit
 * or fail-nth), so that tests arm the points one way on every kernel.
 *
 * Two choices differ from the framework's defaults:
 * - An unarmed point (probability 0) does not call should_fail() at all
 *   (dmakit_should_fail() in fault.h): should_fail() first consumes the
 *   calling task's /proc/thread-self/fail-nth, so a point reached in a
 *   syscall would be one more failure point of the fail-nth sweep, failing
 *   with EIO where that sweep allows only allocation failures.
 * - verbose is 1, not 2: an injected failure logs one line that names the
 *   point, without a stack dump per injection (the sweep injects hundreds;
 *   under TCG each dump costs time and fills the console the splat scanner
 *   reads). Write 2 to verbose for the stack.
 *
 * Locking: none, as in the framework: times and space are atomic_t, the
 * other fields plain words that the tests write while the point is idle;
 * the points are static and live as long as the module, and
 * debugfs_remove() at unload waits for open files to be done.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/random.h>

#include "fault.h"

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
#define DMAKIT_FAULT(point) { .name = #point, .attr = FAULT_ATTR_INITIALIZER }
#else
#define DMAKIT_FAULT(point) {						\
	.name = #point,							\
	.attr = { .interval = 1, .times = ATOMIC_INIT(1), .verbose = 1 },\
}
#endif

struct dmakit_fault dmakit_fault_dma_map = DMAKIT_FAULT(dma_map);
struct dmakit_fault dmakit_fault_drop_irq = DMAKIT_FAULT(drop_irq);
struct dmakit_fault dmakit_fault_fdc_mask_channel = DMAKIT_FAULT(fdc_mask_channel);
struct dmakit_fault dmakit_fault_fdc_bad_sector = DMAKIT_FAULT(fdc_bad_sector);

static struct dmakit_fault *const dmakit_faults[] = {
	&dmakit_fault_dma_map,
	&dmakit_fault_drop_irq,
	&dmakit_fault_fdc_mask_channel,
	&dmakit_fault_fdc_bad_sector,
};

static struct dentry *dmakit_fault_dir;

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS

bool __dmakit_should_fail(struct dmakit_fault *f)
{
	return should_fail(&f->attr, 1);
}

static void fault_create_files(struct dmakit_fault *f)
{
	f->attr.verbose = 1;
	fault_create_debugfs_attr(f->name, dmakit_fault_dir, &f->attr);
}

#else /* the fallback for kernels built without the framework */

static void fault_dump(struct dmakit_fault *f)
{
	unsigned long verbose = READ_ONCE(f->attr.verbose);

	if (!verbose)
		return;
	pr_notice("FAULT_INJECTION: forcing a failure. name %s, interval %lu, probability %lu, space %d, times %d\n",
		  f->name, READ_ONCE(f->attr.interval),
		  READ_ONCE(f->attr.probability), atomic_read(&f->attr.space),
		  atomic_read(&f->attr.times));
	if (verbose > 1)
		dump_stack();
}

/* lib/fault-inject.c's should_fail_ex() for a call of size 1 */
bool __dmakit_should_fail(struct dmakit_fault *f)
{
	struct dmakit_fault_attr *attr = &f->attr;
	unsigned long interval = READ_ONCE(attr->interval);

	if (!atomic_read(&attr->times))
		return false;
	if (atomic_read(&attr->space) > 1) {
		atomic_dec(&attr->space);
		return false;
	}
	if (interval > 1 && atomic_long_inc_return(&attr->count) % interval)
		return false;
	if (READ_ONCE(attr->probability) <= get_random_u32_below(100))
		return false;
	fault_dump(f);
	if (atomic_read(&attr->times) != -1)
		atomic_add_unless(&attr->times, -1, 0);
	return true;
}

static void fault_create_files(struct dmakit_fault *f)
{
	struct dentry *dir = debugfs_create_dir(f->name, dmakit_fault_dir);
	umode_t mode = 0600;

	debugfs_create_ulong("probability", mode, dir, &f->attr.probability);
	debugfs_create_ulong("interval", mode, dir, &f->attr.interval);
	debugfs_create_atomic_t("times", mode, dir, &f->attr.times);
	debugfs_create_atomic_t("space", mode, dir, &f->attr.space);
	debugfs_create_ulong("verbose", mode, dir, &f->attr.verbose);
}

#endif /* CONFIG_FAULT_INJECTION_DEBUG_FS */

/*
 * /sys/kernel/debug/dmakit/ and a directory per point. As for any debugfs
 * use, a failure is not the module's: the points just cannot be armed.
 */
void dmakit_fault_init(void)
{
	unsigned int i;

	dmakit_fault_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	for (i = 0; i < ARRAY_SIZE(dmakit_faults); i++)
		fault_create_files(dmakit_faults[i]);
}

void dmakit_fault_exit(void)
{
	debugfs_remove(dmakit_fault_dir);
}
