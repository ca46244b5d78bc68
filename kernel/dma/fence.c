// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit fences: dmakit's own DMA on a dma-buf, published on its
 * reservation object (implicit sync), so that another driver or user space
 * (poll on the dma-buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE) waits for it.
 *
 * A request that touches a dma-buf (one of our exported buffers, named by
 * its buffer fd or its dma-buf fd, or anyone's imported dma-buf) gets one
 * fence of its engine's context (dma_fence_context_alloc() at engine init),
 * seqno in the order the fences were made. The submitter adds it to each
 * dma-buf's reservation object (DMA_RESV_USAGE_WRITE where the device
 * writes it, DMA_RESV_USAGE_READ where it only reads it) as soon as the
 * engine took the request, before the submit returns; a request refused
 * before that never shows its fence to anyone. The engine's worker signals
 * it once the request ended and its memory was unmapped (what the device
 * wrote is in memory then: swiotlb copied it back), after
 * dma_fence_set_error() for a request that failed, was cancelled or timed
 * out. Nothing here runs in the engine's interrupt path: no reservation
 * lock there, nor a fence of ours signalled from it.
 *
 * A context's fences must signal in seqno order (the reservation object
 * keeps only the latest fence of a context, dma_resv_add_fence()), while
 * requests end out of order (a queued one cancelled before the running
 * one ends, two submitters racing between making the fence and queueing):
 * eng->fences lists a context's unsignalled fences in seqno order, and one
 * is signalled only when it and all before it ended.
 *
 * A device found wedged may still write the memory of the request it gave
 * up on: that request's fence is never signalled (the memory is leaked,
 * engine.c), and so, in order, neither are the fences of the engine's
 * requests behind it. Those are leaked with their module reference: the
 * module stays loaded, as the device's memory stays allocated.
 *
 * Lifetimes: a fence may outlive its request, buffer, device and the
 * module itself (a sync_file, another driver's reservation object). So it
 * holds nothing of theirs: its lock is its own, the timeline name a copy
 * of the node's. Before 6.17 the dma-fence core calls a fence's ops
 * (get_driver_name, get_timeline_name, release) for its whole life, and
 * 7.3 still calls ops->release (an ops table with .release is never
 * detached at signalling, dma_fence_signal_timestamp_locked()): each
 * fence holds a reference to this module, dropped when it is freed. Safe
 * because the drop is the last thing done with the module's code or data:
 * .release hands the fence to call_rcu(), whose callback frees it (after
 * the RCU grace period that lock-free readers of a reservation object
 * need) and then drops the reference, and the module's exit waits with
 * rcu_barrier() until every such callback has returned, so the callback
 * never returns into unloaded code.
 *
 * Locking: eng->fence_lock guards eng->fences and each fence's @ended and
 * @status, and fences are signalled under it (so in order); process
 * context only (the submitter, the engine's worker). Each fence's own
 * @lock is the dma-fence core's (irq-safe), taken inside it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-fence.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "dmakit.h"

/**
 * struct dmakit_fence - a request's fence.
 * @base:     the dma-fence.
 * @lock:     @base's lock (the dma-fence core's); in the same allocation,
 *            so it lives exactly as long as the fence.
 * @node:     in eng->fences while unsignalled.
 * @ended:    the request ended (eng->fence_lock).
 * @status:   its status then (eng->fence_lock).
 * @timeline: the node's name, copied: the node may go first.
 */
struct dmakit_fence {
	struct dma_fence base;
	spinlock_t lock;	/* see above */
	struct list_head node;
	bool ended;
	int status;
	char timeline[32];
};

static struct dmakit_fence *to_dmakit_fence(struct dma_fence *fence)
{
	return container_of(fence, struct dmakit_fence, base);
}

static const char *fence_driver_name(struct dma_fence *fence)
{
	return KBUILD_MODNAME;
}

static const char *fence_timeline_name(struct dma_fence *fence)
{
	return to_dmakit_fence(fence)->timeline;
}

/* the last thing the module does for a fence: see the top of the file */
static void fence_free_rcu(struct rcu_head *rcu)
{
	struct dma_fence *fence = container_of(rcu, struct dma_fence, rcu);

	kfree(to_dmakit_fence(fence));
	module_put(THIS_MODULE);
}

static void fence_release(struct dma_fence *fence)
{
	call_rcu(&fence->rcu, fence_free_rcu);
}

static const struct dma_fence_ops dmakit_fence_ops = {
	.get_driver_name = fence_driver_name,
	.get_timeline_name = fence_timeline_name,
	.release = fence_release,
};

/**
 * dmakit_fence_init_engine() - the engine's fence context.
 * @eng: the engine, at init.
 */
void dmakit_fence_init_engine(struct dmakit_engine *eng)
{
	eng->fence_context = dma_fence_context_alloc(1);
	eng->fence_seqno = 0;
	spin_lock_init(&eng->fence_lock);
	INIT_LIST_HEAD(&eng->fences);
}

/**
 * dmakit_fence_new() - a fence for a request about to be submitted.
 * @eng: the engine it goes to.
 *
 * Process context, from a file operation of the module (which holds it).
 *
 * Return: the fence, its reference the engine's until dmakit_fence_end();
 * NULL (no memory).
 */
struct dma_fence *dmakit_fence_new(struct dmakit_engine *eng)
{
	struct dmakit_fence *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return NULL;
	__module_get(THIS_MODULE);	/* put by fence_free_rcu() */
	spin_lock_init(&f->lock);
	strscpy(f->timeline, eng->name, sizeof(f->timeline));
	spin_lock(&eng->fence_lock);
	dma_fence_init(&f->base, &dmakit_fence_ops, &f->lock,
		       eng->fence_context, ++eng->fence_seqno);
	list_add_tail(&f->node, &eng->fences);
	spin_unlock(&eng->fence_lock);
	return &f->base;
}

/**
 * dmakit_fence_end() - the request of @fence ended: signal it as soon as
 * the fences before it are.
 * @eng:    its engine.
 * @fence:  from dmakit_fence_new(); the engine's reference goes.
 * @status: the request's: 0, or the error the fence carries.
 *
 * Process context. Not for a request whose memory the device may still
 * write (a wedged device): its fence stays unsignalled.
 */
void dmakit_fence_end(struct dmakit_engine *eng, struct dma_fence *fence,
		      int status)
{
	struct dmakit_fence *f = to_dmakit_fence(fence), *tmp;

	/* under the lock, so that two ends cannot signal out of order */
	spin_lock(&eng->fence_lock);
	f->ended = true;
	f->status = status;
	list_for_each_entry_safe(f, tmp, &eng->fences, node) {
		if (!f->ended)
			break;
		list_del(&f->node);
		if (f->status)
			dma_fence_set_error(&f->base, f->status);
		dma_fence_signal(&f->base);
		dma_fence_put(&f->base);
	}
	spin_unlock(&eng->fence_lock);
}

/**
 * dmakit_fence_exit() - the module goes: let the last fence_free_rcu()
 * return before its code does.
 */
void dmakit_fence_exit(void)
{
	rcu_barrier();
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "fence_kunit.c"
#endif
