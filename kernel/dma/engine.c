// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit engine layer: queue, segment chaining, watchdog, cancellation.
 *
 * Life of a request:
 *   submit     -> QUEUED on eng->queue (FIFO)
 *   worker     -> RUNNING: the owner's prepare() maps the memory and fills
 *                 the segments; the first segment starts
 *   interrupt  -> the backend calls dmakit_engine_seg_irq(), which starts
 *                 the next segment at once, or ends the request
 *   end        -> DONE on eng->done; the worker runs finish() (unmap) and
 *                 release() (result to the owner), then starts the next
 *
 * The watchdog ends a request whose segment did not report completion
 * within timeout_ms: if the device is idle the interrupt was lost, the
 * engine is reset and the request fails with ETIMEDOUT; if the device is
 * still busy it still owns the memory, so the engine waits more, and after
 * DMAKIT_WEDGE_ROUNDS more timeouts gives up on the device for good
 * (wedged) and leaks the memory rather than free what a device may write.
 *
 * Cancellation (signal, close, device removal) takes a queued request out
 * of the queue at once; a running one stops after its segment in flight,
 * so the memory is never given back while the device may still use it,
 * or, on a backend that can abort a segment (ops->terminate), at once,
 * its memory given back after ops->synchronize.
 *
 * Locking: eng->lock (spinlock, taken in hard-irq context) guards the
 * queue, the done list, the request in flight and the counters. prepare()
 * and finish() run in the worker without it. The worker is one work item,
 * so it never runs twice at once for an engine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/module.h>

#include "dmakit.h"
#include "fault.h"

static unsigned int timeout_ms = 2000;
module_param(timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "how long a device command or DMA segment may take before it fails with ETIMEDOUT (10..60000 ms, default 2000)");

/* watchdog rounds a busy device gets past its deadline before it is wedged */
#define DMAKIT_WEDGE_ROUNDS	5

unsigned long dmakit_engine_timeout(void)
{
	return msecs_to_jiffies(clamp(READ_ONCE(timeout_ms), 10U, 60000U));
}

static void engine_end(struct dmakit_engine *eng, struct dmakit_req *req);

/*
 * Start the request's next segment; a backend that cannot (a dmaengine
 * channel without a free descriptor) ends the request with its error.
 * Caller holds eng->lock.
 */
static void engine_start_seg(struct dmakit_engine *eng, struct dmakit_req *req)
{
	unsigned long timeout = dmakit_engine_timeout();
	bool irq = !dmakit_should_fail(&dmakit_fault_drop_irq);
	int err;

	err = eng->ops->start(eng, &req->segs[req->next], irq);
	if (err) {
		req->status = err;
		engine_end(eng, req);
		return;
	}
	eng->seg_running = true;
	eng->seg_deadline = jiffies + timeout;
	eng->seg_overdue = 0;
	mod_delayed_work(system_wq, &eng->watchdog, timeout);
}

/* The engine is done with @req. Caller holds eng->lock. */
static void engine_end(struct dmakit_engine *eng, struct dmakit_req *req)
{
	req->t_end = ktime_get();
	req->state = DMAKIT_REQ_DONE;
	if (eng->cur == req) {
		eng->cur = NULL;
		eng->seg_running = false;
		cancel_delayed_work(&eng->watchdog);
	}
	list_add_tail(&req->node, &eng->done);
	queue_work(system_wq, &eng->work);
}

/* The segment in flight ended. Caller holds eng->lock. */
static void engine_seg_ended(struct dmakit_engine *eng, struct dmakit_req *req)
{
	eng->seg_running = false;
	eng->stats.segments++;
	req->next++;
	if (req->cancel && !req->status)
		req->status = eng->stopped ? -ENODEV : -EINTR;
	if (req->status || req->next == req->nsegs)
		engine_end(eng, req);
	else
		engine_start_seg(eng, req);
}

/* The backend reports the segment in flight ended, @err if it failed. */
static void engine_seg_report(struct dmakit_engine *eng, int err)
{
	struct dmakit_req *req;
	unsigned long flags;

	spin_lock_irqsave(&eng->lock, flags);
	req = eng->cur;
	if (req && eng->seg_running && !eng->ops->busy(eng)) {
		if (err && !req->status)
			req->status = err;
		engine_seg_ended(eng, req);
	} else {
		eng->stats.stale_irqs++;
	}
	spin_unlock_irqrestore(&eng->lock, flags);
}

/**
 * dmakit_engine_seg_irq() - the backend's interrupt handler saw a DMA end.
 * @eng: the engine.
 *
 * Any context: a backend's hard-irq handler, or a dmaengine completion
 * callback. An interrupt while the device is still busy, or with no
 * segment in flight, is stale (e.g. a late one after a watchdog reset) and
 * ends nothing.
 */
void dmakit_engine_seg_irq(struct dmakit_engine *eng)
{
	engine_seg_report(eng, 0);
}

/**
 * dmakit_engine_seg_error() - the segment in flight ended in an error (a
 * dmaengine completion callback whose result is not DMA_TRANS_NOERROR).
 * @eng: the engine.
 * @err: negative errno: the request's status; later segments do not run.
 *
 * Any context; stale as dmakit_engine_seg_irq() is.
 */
void dmakit_engine_seg_error(struct dmakit_engine *eng, int err)
{
	engine_seg_report(eng, err);
}

static void engine_watchdog(struct work_struct *work)
{
	struct dmakit_engine *eng = container_of(to_delayed_work(work),
						 struct dmakit_engine,
						 watchdog);
	unsigned long timeout = dmakit_engine_timeout();
	struct dmakit_req *req;

	spin_lock_irq(&eng->lock);
	req = eng->cur;
	if (!req || !eng->seg_running)
		goto out;
	if (time_before(jiffies, eng->seg_deadline)) {
		/* a later segment started after this work was queued */
		mod_delayed_work(system_wq, &eng->watchdog,
				 eng->seg_deadline - jiffies);
		goto out;
	}
	req->status = -ETIMEDOUT;
	if (eng->ops->busy(eng)) {
		/* the device still owns the memory: it must not be freed */
		if (++eng->seg_overdue < DMAKIT_WEDGE_ROUNDS) {
			mod_delayed_work(system_wq, &eng->watchdog, timeout);
			goto out;
		}
		dev_err(eng->dev,
			"%s: DMA segment still running %u timeouts after its deadline; keeping its memory, refusing further DMA\n",
			eng->name, eng->seg_overdue);
		eng->wedged = true;
		req->leak = true;
		engine_end(eng, req);
		goto out;
	}
	dev_warn_ratelimited(eng->dev,
			     "%s: DMA segment %u/%u ended without its completion interrupt; failing request %llu\n",
			     eng->name, req->next + 1, req->nsegs, req->id);
	eng->stats.lost_irqs++;
	eng->ops->reset(eng);
	engine_seg_ended(eng, req);
out:
	spin_unlock_irq(&eng->lock);
}

/* Take the next request off the queue and start it; true if one ended. */
static bool engine_start_next(struct dmakit_engine *eng)
{
	struct dmakit_req *req;
	int err;

	spin_lock_irq(&eng->lock);
	if (eng->cur || list_empty(&eng->queue)) {
		spin_unlock_irq(&eng->lock);
		return false;
	}
	req = list_first_entry(&eng->queue, struct dmakit_req, node);
	list_del_init(&req->node);
	req->state = DMAKIT_REQ_RUNNING;
	eng->cur = req;
	spin_unlock_irq(&eng->lock);

	err = req->ops->prepare(req);
	if (!err)
		req->prepared = true;

	spin_lock_irq(&eng->lock);
	if (!err && req->cancel)
		err = eng->stopped ? -ENODEV : -EINTR;
	else if (!err && eng->wedged)
		err = -EIO;
	if (err || !req->nsegs) {
		req->status = err;
		engine_end(eng, req);
		spin_unlock_irq(&eng->lock);
		return true;
	}
	req->next = 0;
	req->t_start = ktime_get();
	engine_start_seg(eng, req);
	spin_unlock_irq(&eng->lock);
	return false;
}

/* Finish an ended request and hand its result to the owner. */
static void engine_retire(struct dmakit_engine *eng, struct dmakit_req *req)
{
	int status = req->status;
	u64 bytes = req->bytes;

	/* an aborted segment: the controller lets go of the memory first */
	if (req->terminated && eng->ops->synchronize)
		eng->ops->synchronize(eng);
	if (req->prepared && !req->leak)
		req->ops->finish(req);

	spin_lock_irq(&eng->lock);
	eng->stats.bounced += req->bounced;
	if (!status) {
		eng->stats.completed++;
		eng->stats.bytes += bytes;
	} else {
		eng->stats.errors++;
		if (status == -EINTR || status == -ENODEV)
			eng->stats.cancelled++;
		else if (status == -ETIMEDOUT)
			eng->stats.timeouts++;
	}
	spin_unlock_irq(&eng->lock);

	req->ops->release(req);		/* @req may be gone after this */
}

static void engine_work(struct work_struct *work)
{
	struct dmakit_engine *eng = container_of(work, struct dmakit_engine,
						 work);
	struct dmakit_req *req;

	for (;;) {
		spin_lock_irq(&eng->lock);
		req = list_first_entry_or_null(&eng->done, struct dmakit_req,
					       node);
		if (req)
			list_del_init(&req->node);
		spin_unlock_irq(&eng->lock);

		if (req)
			engine_retire(eng, req);
		else if (!engine_start_next(eng))
			break;
	}
}

void dmakit_engine_init(struct dmakit_engine *eng,
			const struct dmakit_engine_ops *ops, struct device *dev,
			const char *name, u32 window)
{
	eng->ops = ops;
	eng->dev = dev;
	eng->name = name;
	eng->window = window;
	eng->translated = dmakit_dma_translated(dev);
	eng->max_map = dma_max_mapping_size(dev);
	/*
	 * dma-direct limits a mapping's size exactly when swiotlb may bounce
	 * for this device (is_swiotlb_active() is not exported from 6.6 on)
	 */
	eng->bounces = !eng->translated && dma_addressing_limited(dev) &&
		       eng->max_map != SIZE_MAX;
	init_rwsem(&eng->alive);
	spin_lock_init(&eng->lock);
	INIT_LIST_HEAD(&eng->queue);
	INIT_LIST_HEAD(&eng->done);
	INIT_WORK(&eng->work, engine_work);
	INIT_DELAYED_WORK(&eng->watchdog, engine_watchdog);
	eng->next_id = 1;
	dmakit_fence_init_engine(eng);
}

void dmakit_req_init(struct dmakit_req *req, const struct dmakit_req_ops *ops)
{
	memset(req, 0, sizeof(*req));
	INIT_LIST_HEAD(&req->node);
	req->ops = ops;
	req->state = DMAKIT_REQ_NEW;
}

/**
 * dmakit_engine_submit() - queue a request.
 * @eng: the engine.
 * @req: initialised with dmakit_req_init(); its owner's hooks will run.
 *
 * Return: 0 (the request will be released through its hooks, whatever
 * happens), -ENODEV (device going away) or -EIO (device wedged); on error
 * the request was not taken.
 */
int dmakit_engine_submit(struct dmakit_engine *eng, struct dmakit_req *req)
{
	int err = 0;

	spin_lock_irq(&eng->lock);
	if (eng->stopped) {
		err = -ENODEV;
	} else if (eng->wedged) {
		err = -EIO;
	} else {
		req->id = eng->next_id++;
		req->state = DMAKIT_REQ_QUEUED;
		list_add_tail(&req->node, &eng->queue);
		eng->stats.requests++;
		queue_work(system_wq, &eng->work);
	}
	spin_unlock_irq(&eng->lock);
	return err;
}

/* Caller holds eng->lock. */
static void engine_cancel_locked(struct dmakit_engine *eng,
				 struct dmakit_req *req, int status)
{
	switch (req->state) {
	case DMAKIT_REQ_QUEUED:
		list_del_init(&req->node);
		req->status = status;
		engine_end(eng, req);
		break;
	case DMAKIT_REQ_RUNNING:
		req->cancel = true;	/* stops after the segment in flight */
		/* ... or now, where the backend can abort it */
		if (eng->cur == req && eng->seg_running && eng->ops->terminate) {
			eng->ops->terminate(eng);
			req->terminated = true;
			eng->stats.aborted++;
			engine_seg_ended(eng, req);
		}
		break;
	default:
		break;
	}
}

/**
 * dmakit_engine_cancel() - stop a request as soon as the device allows.
 * @eng: the engine it was submitted to.
 * @req: the request; its release hook still runs (with -EINTR unless it
 *       completed first).
 */
void dmakit_engine_cancel(struct dmakit_engine *eng, struct dmakit_req *req)
{
	spin_lock_irq(&eng->lock);
	engine_cancel_locked(eng, req, -EINTR);
	spin_unlock_irq(&eng->lock);
}

/**
 * dmakit_engine_stop() - the device goes away: fail what is queued, let
 * the segment in flight end, and wait until every request was released.
 * @eng: the engine. Call before the backend's interrupt is freed.
 */
void dmakit_engine_stop(struct dmakit_engine *eng)
{
	struct dmakit_req *req, *tmp;
	bool idle;

	/* after this no alive section runs, and none starts */
	down_write(&eng->alive);
	spin_lock_irq(&eng->lock);
	eng->stopped = true;
	list_for_each_entry_safe(req, tmp, &eng->queue, node)
		engine_cancel_locked(eng, req, -ENODEV);
	if (eng->cur)
		engine_cancel_locked(eng, eng->cur, -ENODEV);
	spin_unlock_irq(&eng->lock);
	up_write(&eng->alive);

	/* bounded: the watchdog ends a segment whose interrupt never comes */
	for (;;) {
		flush_work(&eng->work);
		spin_lock_irq(&eng->lock);
		idle = !eng->cur && list_empty(&eng->done);
		spin_unlock_irq(&eng->lock);
		if (idle)
			break;
		msleep(20);
	}
	cancel_delayed_work_sync(&eng->watchdog);
	flush_work(&eng->work);
}

/**
 * dmakit_engine_enter() - enter the device's alive section.
 * @eng: the engine.
 *
 * For a short stretch that reaches the device or the DMA API outside a
 * request (a mapping without the device, a coherent allocation, a BAR
 * fault); never held while waiting for the device. dmakit_engine_exit()
 * leaves it.
 *
 * Return: 0, or -ENODEV once the device is going away (then not entered).
 */
int dmakit_engine_enter(struct dmakit_engine *eng)
{
	down_read(&eng->alive);
	if (eng->stopped) {
		up_read(&eng->alive);
		return -ENODEV;
	}
	return 0;
}

void dmakit_engine_exit(struct dmakit_engine *eng)
{
	up_read(&eng->alive);
}

void dmakit_engine_get_stats(struct dmakit_engine *eng,
			     struct dmakit_engine_stats *stats)
{
	spin_lock_irq(&eng->lock);
	*stats = eng->stats;
	spin_unlock_irq(&eng->lock);
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "engine_kunit.c"
#endif
