// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit dmaengine backend: a node on a DMA_MEMCPY channel of any DMA
 * controller the kernel drives through dmaengine (on the zynqmp lane the
 * ZynqMP's ZDMA channels, zynqmp_dma), with the XFER ABI of the edu nodes.
 *
 * Channels: the module parameter dma_channels names them as /sys/class/dma
 * does (dma0chan0,dma15chan0), or asks for any:N free memcpy channels. Each
 * becomes /dev/dmakit-<channel> (dmakit-dma0chan0) from module load to
 * unload; a channel that cannot be had (unknown, in use, not memcpy) fails
 * the load with ENODEV. dma_request_channel() takes a reference on the
 * provider's module: it cannot be unloaded while dmakit holds its channels.
 *
 * The window: a memcpy channel has no device memory, so each node has a
 * buffer of its own, coherent memory of the channel's device (dma_window
 * bytes, default 64 KiB), that TO_DEVICE fills and FROM_DEVICE reads; COPY
 * goes through it chunk by chunk as on edu. The node's device is the
 * channel's (chan->device->dev): buffers and user memory are mapped for the
 * controller that does the DMA.
 *
 * A segment (engine ops, under the engine's lock with interrupts off, which
 * dmaengine allows for prep, submit and issue_pending) is one memcpy
 * descriptor between the segment's bus address and the window, with
 * DMA_PREP_INTERRUPT and a completion callback; the callback (the
 * provider's tasklet or interrupt) reports the segment's end to the engine,
 * or its error when the provider's result is not DMA_TRANS_NOERROR. A
 * cancelled request (signal, close, removal) ends at once; before the
 * engine unmaps its memory, its segment in flight gets a short grace to
 * finish and is then aborted with dmaengine_terminate_sync() (see
 * dmae_terminate() for why not dmaengine_terminate_async() right away).
 *
 * Locking: d->cookie is the engine's: read and written only in the engine
 * ops, under the engine's lock. d->aborting is set by the terminate op
 * (engine lock) and consumed by the synchronize op (the engine's worker,
 * no lock), between which no segment starts: the engine starts the next
 * request only after the aborted one is finished. The provider must not call a descriptor's
 * callback from inside prep, submit or issue_pending (none does: callbacks
 * run from its interrupt or tasklet), since the callback takes that lock.
 *
 * Lifetime: struct dmakit_dmaengine embeds its node (refcounted, as edu's);
 * it holds the channel and a reference on the channel's device from
 * registration until removal (module unload), when the node leaves /dev,
 * the engine stops (aborting the segment in flight), the channel is
 * terminated and synchronized, and the window and the channel go.
 *
 * A provider that is unbound (not unloaded) while dmakit holds its channel
 * is not survivable: dmaengine has no way to tell a client its channel is
 * going, and dma_async_device_unregister() warns and frees the channel
 * under its clients. Unload dmakit first (docs/dma.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/delay.h>
#include <linux/dmaengine.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "node.h"

/* nodes this backend makes at most */
#define DMAE_MAX_CHANNELS	32

static char *dma_channels = "";
module_param(dma_channels, charp, 0444);
MODULE_PARM_DESC(dma_channels,
		 "dmaengine DMA_MEMCPY channels to drive, one node /dev/dmakit-<channel> each: names as in /sys/class/dma (dma0chan0,dma1chan0) or any:N (N free memcpy channels); default none");

static unsigned int dma_window = 65536;
module_param(dma_window, uint, 0444);
MODULE_PARM_DESC(dma_window,
		 "bytes of each dmaengine node's window, coherent memory of the channel's device (4096..16777216, default 65536)");

/*
 * how long an aborted segment may still run before it is terminated: a
 * memcpy of at most the window takes microseconds on a real controller
 */
#define DMAE_ABORT_GRACE_MS	10

#define DMAE_WINDOW_MIN		4096u
#define DMAE_WINDOW_MAX		(16u << 20)

struct dmakit_dmaengine {
	struct dmakit_node node;	/* the device core's: node, engine */
	struct dma_chan *chan;		/* held (dma_request_channel) */
	struct device *dma_dev;		/* chan->device->dev, referenced */
	unsigned int index;
	void *window;			/* coherent, of dma_dev */
	dma_addr_t window_dma;
	u32 window_len;
	dma_cookie_t cookie;		/* segment in flight; engine lock */
	dma_cookie_t aborting;		/* its cancelled one: dmae_terminate() */
};

static struct dmakit_dmaengine *dmae_nodes[DMAE_MAX_CHANNELS];
static unsigned int dmae_count;

static struct dmakit_dmaengine *dmae_of_engine(struct dmakit_engine *eng)
{
	return container_of(eng, struct dmakit_dmaengine, node.engine);
}

static struct dmakit_dmaengine *dmae_of_node(struct dmakit_node *node)
{
	return container_of(node, struct dmakit_dmaengine, node);
}

/* the provider's completion callback: its tasklet or interrupt */
static void dmae_callback(void *param, const struct dmaengine_result *result)
{
	struct dmakit_dmaengine *d = param;

	if (result && result->result != DMA_TRANS_NOERROR)
		dmakit_engine_seg_error(&d->node.engine, -EIO);
	else
		dmakit_engine_seg_irq(&d->node.engine);
}

/* engine ops: under the engine's lock, interrupts off */
static int dmae_start(struct dmakit_engine *eng, const struct dmakit_seg *seg,
		      bool irq)
{
	struct dmakit_dmaengine *d = dmae_of_engine(eng);
	dma_addr_t win = d->window_dma + seg->dev_off;
	struct dma_async_tx_descriptor *tx;
	dma_cookie_t cookie;

	/* the engine never builds one beyond the window */
	if (WARN_ON_ONCE(seg->dev_off > d->window_len ||
			 seg->len > d->window_len - seg->dev_off))
		return -EINVAL;
	tx = dmaengine_prep_dma_memcpy(d->chan,
				       seg->to_device ? win : seg->bus,
				       seg->to_device ? seg->bus : win, seg->len,
				       DMA_CTRL_ACK |
				       (irq ? DMA_PREP_INTERRUPT : 0));
	if (!tx)
		return -EIO;	/* no descriptor free, or a length it refuses */
	/* without the callback (fault injection) the watchdog ends it */
	if (irq) {
		tx->callback_result = dmae_callback;
		tx->callback_param = d;
	}
	cookie = dmaengine_submit(tx);
	if (dma_submit_error(cookie))
		return -EIO;
	d->cookie = cookie;
	dma_async_issue_pending(d->chan);
	return 0;
}

static bool dmae_busy(struct dmakit_engine *eng)
{
	struct dmakit_dmaengine *d = dmae_of_engine(eng);
	enum dma_status st;

	if (!d->cookie)
		return false;
	st = dmaengine_tx_status(d->chan, d->cookie, NULL);
	return st == DMA_IN_PROGRESS || st == DMA_PAUSED;
}

/*
 * The watchdog found the descriptor done without its callback: nothing
 * left on the channel; a late callback finds no cookie in flight and ends
 * nothing (or, with a new segment in flight, finds that one busy).
 */
static void dmae_reset(struct dmakit_engine *eng)
{
	dmae_of_engine(eng)->cookie = 0;
}

/*
 * A cancelled request's segment in flight: the engine ends the request at
 * once and calls dmae_synchronize() before it unmaps the memory, which
 * aborts the descriptor there (dmaengine_terminate_sync()) after a short
 * grace for it to finish. Aborting right here, with
 * dmaengine_terminate_async(), loses a completion that is on its way with
 * some providers: zynqmp_dma's terminate_all masks the channel's
 * interrupts without resetting its idle state, so a transfer the hardware
 * has just finished, whose interrupt is not yet handled, leaves the
 * channel waiting for a DONE it no longer sees, and nothing ever starts on
 * it again (seen on the zynqmp lane: the next COPY timed out).
 */
static void dmae_terminate(struct dmakit_engine *eng)
{
	struct dmakit_dmaengine *d = dmae_of_engine(eng);

	d->aborting = d->cookie;
	d->cookie = 0;
}

static void dmae_synchronize(struct dmakit_engine *eng)
{
	struct dmakit_dmaengine *d = dmae_of_engine(eng);
	unsigned long deadline = jiffies + msecs_to_jiffies(DMAE_ABORT_GRACE_MS);
	int err;

	while (d->aborting &&
	       dmaengine_tx_status(d->chan, d->aborting, NULL) == DMA_IN_PROGRESS &&
	       time_before(jiffies, deadline))
		usleep_range(20, 100);
	d->aborting = 0;
	/* whatever is left is aborted; no callback runs after this */
	err = dmaengine_terminate_sync(d->chan);
	if (err)
		dev_warn_ratelimited(d->dma_dev, "%s: terminate: %d\n",
				     d->node.name, err);
}

static const struct dmakit_engine_ops dmae_engine_ops = {
	.start = dmae_start,
	.busy = dmae_busy,
	.reset = dmae_reset,
	.terminate = dmae_terminate,
	.synchronize = dmae_synchronize,
};

/* DMAKIT_IOC_DEV_INFO: the channel; its name is the node's */
static void dmae_describe(struct dmakit_node *node, struct dmakit_dev_info *info)
{
	struct dmakit_dmaengine *d = dmae_of_node(node);

	info->engine = DMAKIT_ENGINE_DMAENGINE;
	info->dma_mask_bits = fls64(dma_get_mask(d->dma_dev));
	info->index = d->index;
	strscpy(info->bus_id, dev_name(d->dma_dev), sizeof(info->bus_id));
}

static void dmae_node_release(struct dmakit_node *node)
{
	struct dmakit_dmaengine *d = dmae_of_node(node);

	put_device(d->dma_dev);
	kfree(d);
}

static const struct dmakit_node_ops dmae_node_ops = {
	.engine = &dmae_engine_ops,
	.describe = dmae_describe,
	.release = dmae_node_release,
};

/* a node on @chan (held); on error the caller releases the channel */
static int dmae_add(struct dma_chan *chan, unsigned int index)
{
	struct device *dev = chan->device->dev;
	struct dmakit_dmaengine *d;
	int err;

	if (!chan->device->device_terminate_all) {
		/* a cancelled request could not stop its segment in flight */
		pr_err("dma_channels: %s: its controller cannot terminate a transfer\n",
		       dma_chan_name(chan));
		return -EOPNOTSUPP;
	}
	d = kzalloc_obj(*d, GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->chan = chan;
	d->dma_dev = get_device(dev);
	d->index = index;
	d->window_len = dma_window;
	/* from here on the node's reference frees d (dmae_node_release()) */
	err = dmakit_node_init(&d->node, &dmae_node_ops, dev);
	if (err)
		goto err_put;
	snprintf(d->node.name, sizeof(d->node.name), "dmakit-%s",
		 dma_chan_name(chan));

	d->window = dma_alloc_coherent(dev, d->window_len, &d->window_dma,
				       GFP_KERNEL);
	if (!d->window) {
		err = -ENOMEM;
		goto err_put;
	}
	err = dmakit_node_dma_init(&d->node, d->window_len);
	if (err)
		goto err_free_window;
	err = dmakit_node_register(&d->node);
	if (err)
		goto err_dma_exit;

	dmae_nodes[dmae_count++] = d;
	dev_info(dev, "%s: dmaengine channel %s, %u-byte window\n",
		 d->node.name, dma_chan_name(chan), d->window_len);
	return 0;

err_dma_exit:
	dmakit_node_dma_exit(&d->node);
err_free_window:
	dma_free_coherent(dev, d->window_len, d->window, d->window_dma);
err_put:
	dmakit_node_put(&d->node);
	return err;
}

static void dmae_remove(struct dmakit_dmaengine *d)
{
	struct dma_chan *chan = d->chan;

	/* no new file; transfers end, the one in flight aborted */
	dmakit_node_unregister(&d->node);
	/* no descriptor left, no callback running or to come */
	dmaengine_terminate_sync(chan);
	dmakit_node_dma_exit(&d->node);
	dma_free_coherent(d->dma_dev, d->window_len, d->window, d->window_dma);
	dev_info(d->dma_dev, "%s: removed\n", d->node.name);
	dma_release_channel(chan);
	dmakit_node_put(&d->node);
}

static bool dmae_filter_name(struct dma_chan *chan, void *param)
{
	return !strcmp(dma_chan_name(chan), param);
}

/* the channel called @name, or any free one (@name NULL); NULL if none */
static struct dma_chan *dmae_request(char *name)
{
	dma_cap_mask_t mask;

	dma_cap_zero(mask);
	dma_cap_set(DMA_MEMCPY, mask);
	return dma_request_channel(mask, name ? dmae_filter_name : NULL, name);
}

static int dmae_take(char *name)
{
	struct dma_chan *chan;
	int err;

	if (dmae_count == DMAE_MAX_CHANNELS) {
		pr_err("dma_channels: more than %u channels\n",
		       DMAE_MAX_CHANNELS);
		return -EINVAL;
	}
	chan = dmae_request(name);
	if (!chan) {
		pr_err("dma_channels: %s: no free DMA_MEMCPY channel%s\n",
		       name ?: "any", name ? " of that name" : " left");
		return -ENODEV;
	}
	err = dmae_add(chan, dmae_count);
	if (err)
		dma_release_channel(chan);
	return err;
}

static int dmae_take_all(void)
{
	char *list, *p, *tok;
	unsigned int n;
	int err = 0;

	if (!strncmp(dma_channels, "any:", 4)) {
		if (kstrtouint(dma_channels + 4, 10, &n) || !n ||
		    n > DMAE_MAX_CHANNELS) {
			pr_err("dma_channels=%s: expected any:1..%u\n",
			       dma_channels, DMAE_MAX_CHANNELS);
			return -EINVAL;
		}
		while (!err && n--)
			err = dmae_take(NULL);
		return err;
	}
	list = kstrdup(dma_channels, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	p = list;
	while (!err && (tok = strsep(&p, ","))) {
		if (!*tok) {
			pr_err("dma_channels=%s: an empty name\n", dma_channels);
			err = -EINVAL;
		} else {
			err = dmae_take(tok);
		}
	}
	kfree(list);
	return err;
}

/**
 * dmakit_dmaengine_init() - a node on each channel dma_channels names.
 *
 * Return: 0 (also when no channel is named), -EINVAL (a bad parameter),
 * -ENODEV (a channel that cannot be had), -EOPNOTSUPP, -ENOMEM; on error
 * no channel is held.
 */
int dmakit_dmaengine_init(void)
{
	int err;

	if (!dma_channels || !*dma_channels)
		return 0;
	if (dma_window < DMAE_WINDOW_MIN || dma_window > DMAE_WINDOW_MAX) {
		pr_err("dma_window=%u: expected %u..%u\n", dma_window,
		       DMAE_WINDOW_MIN, DMAE_WINDOW_MAX);
		return -EINVAL;
	}
	err = dmae_take_all();
	if (err)
		dmakit_dmaengine_exit();
	return err;
}

/* every node goes and every channel is released, newest first */
void dmakit_dmaengine_exit(void)
{
	while (dmae_count)
		dmae_remove(dmae_nodes[--dmae_count]);
}
