// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit clients: an open device file's asynchronous transfers.
 *
 * DMAKIT_XFER_ASYNC requests belong to the file's client: submitted onto
 * client->pending, moved to client->completed when the engine releases
 * them (xfer.c), reaped in order with DMAKIT_IOC_XFER_REAP, reported by
 * poll (EPOLLPRI: a result to reap; EPOLLIN/OUT: room for one more,
 * umem.c's in-flight bound), and cancelled and dropped when the file is
 * closed.
 *
 * Locking: client->lock guards its lists and counts; lock order is
 * client->lock, then the engine's lock; never taken in interrupt context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "xfer.h"

/*
 * Queue @xr as an asynchronous request of @client, with its fence on the
 * dma-bufs it touches; on success the client owns it and *@id is its
 * number, on error the caller still does.
 */
int xfer_submit_async(struct dmakit_client *client, struct xfer_req *xr,
		      u64 *id)
{
	struct xfer_fencing f;
	int err;

	err = xfer_fence_begin(xr, &f);
	if (err)
		return err;
	spin_lock(&client->lock);
	if (client->closing || client->outstanding >= DMAKIT_XFER_MAX_ASYNC) {
		spin_unlock(&client->lock);
		xfer_fence_commit(xr, &f, -EBUSY);
		return -EBUSY;
	}
	client->outstanding++;
	xr->client = client;
	list_add_tail(&xr->client_node, &client->pending);
	err = dmakit_engine_submit(client->eng, &xr->req);
	if (err) {
		list_del_init(&xr->client_node);
		client->outstanding--;
		xr->client = NULL;
	} else {
		*id = xr->req.id;
	}
	spin_unlock(&client->lock);
	/* @xr may be reaped and freed from here on (when err is 0) */
	xfer_fence_commit(xr, &f, err);
	return err;
}

/**
 * dmakit_xfer_reap() - DMAKIT_IOC_XFER_REAP: the oldest finished
 * asynchronous transfer of this client.
 * @client: the client.
 * @uarg:   struct dmakit_xfer_reap from user space.
 */
long dmakit_xfer_reap(struct dmakit_client *client,
		      struct dmakit_xfer_reap __user *uarg)
{
	struct dmakit_xfer_reap arg;
	struct xfer_req *xr;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if ((arg.flags & ~DMAKIT_REAP_WAIT) || arg.pad)
		return -EINVAL;

	for (;;) {
		bool none;

		spin_lock(&client->lock);
		xr = list_first_entry_or_null(&client->completed,
					      struct xfer_req, client_node);
		if (xr) {
			list_del_init(&xr->client_node);
			client->outstanding--;
		}
		none = list_empty(&client->pending);
		spin_unlock(&client->lock);
		if (xr)
			break;
		if (none)
			return -ENOENT;
		if (!(arg.flags & DMAKIT_REAP_WAIT))
			return -EAGAIN;
		if (wait_event_interruptible(client->wait,
					     !list_empty(&client->completed) ||
					     list_empty(&client->pending)))
			return -ERESTARTSYS;
	}
	arg.result = xr->result;
	xfer_req_free(xr);
	return copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
}

void dmakit_client_init(struct dmakit_client *client,
			struct dmakit_engine *eng)
{
	client->eng = eng;
	spin_lock_init(&client->lock);
	INIT_LIST_HEAD(&client->pending);
	INIT_LIST_HEAD(&client->completed);
	init_waitqueue_head(&client->wait);
}

/*
 * read and write never wait for data (the node is device memory), so the
 * node is readable and writable, as a regular file is, as long as the fd
 * has room for one more asynchronous request (the size of the last one
 * refused, else a page): io_uring asks before a nonblocking attempt, and
 * after EAGAIN waits here until reaped results or completed requests give
 * room back. That an asynchronous transfer's result can be reaped is
 * EPOLLPRI.
 */
__poll_t dmakit_client_poll(struct dmakit_client *client, struct file *file,
			    poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &client->wait, wait);
	spin_lock(&client->lock);
	if (client_has_room(client, max(client->want, 1UL)))
		mask |= CLIENT_POLL_ROOM;
	if (!list_empty(&client->completed))
		mask |= EPOLLPRI;
	spin_unlock(&client->lock);
	return mask;
}

/**
 * dmakit_client_release() - the device file is closed: cancel its
 * asynchronous transfers, wait until the device let go of their memory,
 * and drop their results.
 * @client: the client.
 */
void dmakit_client_release(struct dmakit_client *client)
{
	struct xfer_req *xr, *tmp;
	LIST_HEAD(done);

	spin_lock(&client->lock);
	client->closing = true;
	list_for_each_entry(xr, &client->pending, client_node)
		dmakit_engine_cancel(client->eng, &xr->req);
	spin_unlock(&client->lock);

	wait_event(client->wait, list_empty_careful(&client->pending));
	/* taking the lock also waits for the last xfer_release() to leave */
	spin_lock(&client->lock);
	list_splice_init(&client->completed, &done);
	spin_unlock(&client->lock);
	list_for_each_entry_safe(xr, tmp, &done, client_node) {
		list_del(&xr->client_node);
		xfer_req_free(xr);
	}
}
