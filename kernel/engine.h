/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit engine layer: a device-agnostic queue of DMA requests in front of
 * a backend that moves one segment at a time (edu is the first backend).
 *
 * A request is a list of segments (bus address, device offset, length,
 * direction). One request is in flight per engine; the others wait in FIFO
 * order, unmapped. The backend reports each segment's end from its
 * interrupt handler, and the engine starts the next segment right there,
 * so a long transfer is a chain the driver issues back to back.
 */
#ifndef _DMAKIT_ENGINE_H
#define _DMAKIT_ENGINE_H

#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct dmakit_engine;
struct dmakit_req;

/**
 * struct dmakit_seg - one transfer the device performs by itself.
 * @bus:       bus (DMA) address of the RAM side.
 * @dev_off:   offset in the device's memory.
 * @len:       bytes, at least 1; @dev_off + @len fits the device window.
 * @to_device: RAM -> device if true, device -> RAM otherwise.
 */
struct dmakit_seg {
	dma_addr_t bus;
	u32 dev_off;
	u32 len;
	bool to_device;
};

/**
 * struct dmakit_engine_ops - what a DMA backend provides.
 * @start:  program and start one segment. Called with the engine's lock
 *          held and interrupts off (also from the backend's own interrupt
 *          handler): must not sleep. @irq false asks the backend to run
 *          the segment without its completion interrupt (the drop_irq
 *          fault-injection point, fault.c). Returns 0, or a negative errno
 *          if nothing was started: the request then ends with it.
 * @busy:   is the device still moving data of the segment it was given?
 *          Same context as @start.
 * @reset:  forget a segment whose completion was lost (acknowledge stale
 *          causes), so that the next segment starts from a clean state.
 *          Same context as @start.
 * @terminate: optional, for a controller that can abort a transfer: stop
 *          the segment in flight now. Same context as @start. Called when
 *          the running request is cancelled (signal, close, removal); the
 *          engine then ends the segment itself, and the backend must not
 *          report its completion afterwards. Without it (edu) a cancelled
 *          request stops after its segment in flight ends by itself.
 * @synchronize: optional, with @terminate: wait until a terminated segment
 *          can no longer touch memory. Process context (the engine's
 *          worker, before the request's memory is unmapped), no lock held.
 *
 * A DMA controller driven through dmaengine fits the same table: @start
 * preps a memcpy (or slave) descriptor from the segment's bus address,
 * length and direction to the device side at @dev_off, submits it and
 * issues pending, and its completion callback calls
 * dmakit_engine_seg_irq(), or dmakit_engine_seg_error() when its result
 * is an error (both safe in any context); @busy asks dmaengine_tx_status()
 * of its cookie; @terminate notes the descriptor to abort and
 * @synchronize aborts it with dmaengine_terminate_sync() after a short
 * grace (backends/dmaengine.c says why not dmaengine_terminate_async()).
 */
struct dmakit_engine_ops {
	int (*start)(struct dmakit_engine *eng, const struct dmakit_seg *seg,
		     bool irq);
	bool (*busy)(struct dmakit_engine *eng);
	void (*reset)(struct dmakit_engine *eng);
	void (*terminate)(struct dmakit_engine *eng);
	void (*synchronize)(struct dmakit_engine *eng);
};

/**
 * struct dmakit_req_ops - what the owner of a request does around the DMA.
 * @prepare: map the memory and fill req->segs. Called in process context
 *           (the engine's worker) just before the request runs, so only
 *           the running request holds mappings (and swiotlb/IOVA space).
 * @finish:  unmap, give the memory back to the CPU. Process context; runs
 *           once for every request whose @prepare succeeded, unless the
 *           device never let go of the memory (req->leak).
 * @release: the request's result is final (req->status); the owner frees
 *           it here or wakes whoever does. Process context.
 */
struct dmakit_req_ops {
	int (*prepare)(struct dmakit_req *req);
	void (*finish)(struct dmakit_req *req);
	void (*release)(struct dmakit_req *req);
};

enum dmakit_req_state {
	DMAKIT_REQ_NEW,
	DMAKIT_REQ_QUEUED,
	DMAKIT_REQ_RUNNING,	/* prepared or being prepared */
	DMAKIT_REQ_DONE,
};

/**
 * struct dmakit_req - a request: segments plus its owner's hooks.
 * @node:      in the engine's queue or done list (engine lock).
 * @ops:       the owner's hooks.
 * @segs:      the segments, filled by @ops->prepare.
 * @nsegs:     how many.
 * @next:      index of the segment in flight or next to start.
 * @state:     enum dmakit_req_state (engine lock).
 * @prepared:  @ops->prepare succeeded: @ops->finish must run.
 * @cancel:    stop after the segment in flight (engine lock).
 * @leak:      the device may still write the memory: never unmap it.
 * @terminated: its segment in flight was aborted (ops->terminate): the
 *             worker synchronizes with the backend before finishing it.
 * @status:    0 or a negative errno, final when @ops->release runs.
 * @bytes:     bytes the request moves, for statistics.
 * @bounced:   DMA segments its mappings bounced through swiotlb (ditto).
 * @t_start:   when the first segment started.
 * @t_end:     when the last one ended.
 * @id:        number given at submission (engine lock), never 0.
 */
struct dmakit_req {
	struct list_head node;
	const struct dmakit_req_ops *ops;
	struct dmakit_seg *segs;
	unsigned int nsegs;
	unsigned int next;
	enum dmakit_req_state state;
	bool prepared;
	bool cancel;
	bool leak;
	bool terminated;
	int status;
	u64 bytes;
	unsigned int bounced;
	ktime_t t_start;
	ktime_t t_end;
	u64 id;
};

/**
 * struct dmakit_engine_stats - counters, shown in sysfs (stats/).
 * All under the engine lock.
 */
struct dmakit_engine_stats {
	u64 requests;		/* submitted */
	u64 completed;		/* ended with status 0 */
	u64 errors;		/* ended with another status */
	u64 cancelled;		/* of which -EINTR (signal, close, removal) */
	u64 timeouts;		/* of which -ETIMEDOUT */
	u64 bytes;		/* moved by completed requests */
	u64 segments;		/* device transfers finished */
	u64 bounced;		/* DMA segments that went through swiotlb */
	u64 lost_irqs;		/* segments whose interrupt never came */
	u64 stale_irqs;		/* DMA interrupts that ended no segment */
	u64 aborted;		/* segments in flight aborted (ops->terminate) */
};

/**
 * struct dmakit_engine - the queue and the request in flight.
 * @ops:       the backend.
 * @name:      for messages (the node name).
 * @dev:       the device, for messages.
 * @window:    bytes of device memory a segment can address.
 * @translated: an IOMMU translates the device's DMA (fixed while bound).
 * @max_map:   dma_max_mapping_size() of the device (fixed while bound).
 * @bounces:   no IOMMU, and swiotlb bounces what lies beyond the mask.
 * @lock:      guards everything below; taken in hard-irq context.
 * @queue:     requests waiting, FIFO.
 * @done:      requests that ended, waiting for the worker to finish them.
 * @cur:       the request running (being prepared, or with a segment in
 *             flight), or NULL.
 * @seg_running: a segment of @cur is on the device.
 * @seg_deadline: jiffies by which it must have ended.
 * @seg_overdue: watchdog rounds the device stayed busy past the deadline.
 * @alive:     the device's alive section: paths that reach the device or
 *             the DMA API outside a request (mapping only, coherent
 *             allocation, BAR faults) hold it for reading and check
 *             @stopped; dmakit_engine_stop() takes it for writing to set
 *             @stopped, so none of them runs once it returns. Never held
 *             while waiting for the device, nor while touching user
 *             memory: a BAR fault takes it under mmap_lock.
 * @stopped:   the device is going away: new requests get ENODEV.
 * @wedged:    the device never finished a segment: refuse further DMA.
 * @work:      finishes ended requests and starts the next one.
 * @watchdog:  catches a segment whose completion interrupt does not come.
 * @stage_pool: dma_pool of DMAKIT_STAGE_MAX-byte chunks for small staged
 *             transfers (dmakit_stage_pool_create()).
 * @stage_page: a page streaming-mapped (bidirectional) for the engine's
 *             life, for larger staged transfers; used only by the running
 *             request.
 * @stage_page_dma: its bus address.
 * @next_id:   id of the next request.
 * @stats:     counters.
 * @fence_context: the dma-fence context of the engine's requests
 *             (dma/fence.c).
 * @fence_seqno: seqno of the last fence made (@fence_lock).
 * @fence_lock: guards @fence_seqno and @fences; process context only.
 * @fences:    fences not yet signalled, in seqno order (dma/fence.c).
 */
struct dmakit_engine {
	const struct dmakit_engine_ops *ops;
	const char *name;
	struct device *dev;
	u32 window;
	bool translated;
	size_t max_map;
	bool bounces;

	struct rw_semaphore alive;	/* see above */
	spinlock_t lock;		/* see above; hard-irq safe */
	struct list_head queue;
	struct list_head done;
	struct dmakit_req *cur;
	bool seg_running;
	unsigned long seg_deadline;
	unsigned int seg_overdue;
	bool stopped;
	bool wedged;
	struct work_struct work;
	struct delayed_work watchdog;
	struct dma_pool *stage_pool;
	struct page *stage_page;
	dma_addr_t stage_page_dma;
	u64 next_id;
	struct dmakit_engine_stats stats;
	u64 fence_context;
	u64 fence_seqno;
	spinlock_t fence_lock;		/* see above */
	struct list_head fences;
};

void dmakit_engine_init(struct dmakit_engine *eng,
			const struct dmakit_engine_ops *ops, struct device *dev,
			const char *name, u32 window);
void dmakit_engine_stop(struct dmakit_engine *eng);
int dmakit_engine_enter(struct dmakit_engine *eng);
void dmakit_engine_exit(struct dmakit_engine *eng);
void dmakit_req_init(struct dmakit_req *req, const struct dmakit_req_ops *ops);
int dmakit_engine_submit(struct dmakit_engine *eng, struct dmakit_req *req);
void dmakit_engine_cancel(struct dmakit_engine *eng, struct dmakit_req *req);
void dmakit_engine_seg_irq(struct dmakit_engine *eng);
void dmakit_engine_seg_error(struct dmakit_engine *eng, int err);
void dmakit_engine_get_stats(struct dmakit_engine *eng,
			     struct dmakit_engine_stats *stats);
unsigned long dmakit_engine_timeout(void);

#endif /* _DMAKIT_ENGINE_H */
