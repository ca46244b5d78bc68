// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit transfer requests: their life and the transfer ioctls.
 *
 * DMAKIT_IOC_XFER (buffers and dma-bufs) and DMAKIT_IOC_XFER_USER (user
 * memory, umem.c) check their arguments, build a request (struct xfer_req,
 * xfer.h) whose sides the mapping layer maps when the engine starts it
 * (map.c), and either run it and wait (a signal cancels it), map it only
 * (MAP_ONLY, inside the device's alive section), or hand it to the open
 * file's client as an asynchronous request (client.c). The result is
 * filled when the engine releases the request.
 *
 * Two test paths of the edu backend's extra ioctls are requests too, and
 * live here because they use a request's insides: LOOPBACK (kernel pages
 * through the window) and STRAY (the device writes where nobody mapped).
 *
 * Locking: a synchronous request is its caller's until released (the
 * completion); an asynchronous one is its client's (client.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "xfer.h"

static void xfer_fill_result(struct xfer_req *xr)
{
	struct dmakit_xfer_result *r = &xr->result;
	unsigned int i;

	r->id = xr->req.id;
	r->status = xr->req.status;
	r->segments = xr->req.prepared ? xr->req.next : 0;
	r->sg_entries = 0;
	r->dma_segments = 0;
	r->bounced = 0;
	for (i = 0; i < xr->nsides; i++) {
		r->sg_entries += xr->side[i].sg_entries;
		r->dma_segments += xr->side[i].dma_segments;
		r->bounced += xr->side[i].bounced;
	}
	r->flags = xr->copied ? DMAKIT_RESULT_COPIED : 0;
	r->map_ns = min_t(u64, xr->map_ns, U32_MAX);
	r->unmap_ns = min_t(u64, xr->unmap_ns, U32_MAX);
	/* like every bus address, only for those who may know it */
	if (xr->staged && xr->privileged)
		r->stage_dma = xr->stage_dma;
	if (xr->req.prepared && ktime_after(xr->req.t_end, xr->req.t_start))
		r->device_ns = ktime_to_ns(ktime_sub(xr->req.t_end,
						     xr->req.t_start));
}

void xfer_req_free(struct xfer_req *xr);

static void xfer_release(struct dmakit_req *req)
{
	struct xfer_req *xr = container_of(req, struct xfer_req, req);
	struct dmakit_client *client = xr->client;

	xfer_fill_result(xr);
	/*
	 * Its memory was unmapped (finish): what the device wrote is there.
	 * A device that may still write it (req->leak) never signals.
	 */
	if (xr->fence) {
		if (!req->leak)
			dmakit_fence_end(xr->eng, xr->fence, req->status);
		xr->fence = NULL;
	}
	if (xr->iocb) {
		/*
		 * read_iter/write_iter's asynchronous half; ki_pos as the
		 * synchronous path leaves it, though neither io_uring nor AIO
		 * reads it back (see docs/dio.md). The room first: completing
		 * may release the file, and the client with it.
		 */
		if (!req->status)
			xr->iocb->ki_pos = xr->dev_off + xr->len;
		xfer_unhold(xr);
		xr->iocb->ki_complete(xr->iocb,
				      req->status ? req->status : xr->len);
		xfer_req_free(xr);
		return;
	}
	if (!client) {
		complete(&xr->done);
		return;
	}
	/*
	 * Wake under the lock: dmakit_client_release() takes it after its
	 * wait, so the client cannot be freed while this still touches it.
	 * Keyed: a result to reap gives no room to a poller of EPOLLIN/OUT.
	 */
	spin_lock(&client->lock);
	list_move_tail(&xr->client_node, &client->completed);
	wake_up_poll(&client->wait, EPOLLPRI);
	spin_unlock(&client->lock);
}

static const struct dmakit_req_ops xfer_req_ops = {
	.prepare = xfer_prepare,
	.finish = xfer_finish,
	.release = xfer_release,
};

struct xfer_req *xfer_req_alloc(struct dmakit_engine *eng)
{
	struct xfer_req *xr = kzalloc(sizeof(*xr), GFP_KERNEL_ACCOUNT);

	if (!xr)
		return NULL;
	dmakit_req_init(&xr->req, &xfer_req_ops);
	xr->eng = eng;
	INIT_LIST_HEAD(&xr->client_node);
	init_completion(&xr->done);
	return xr;
}

/* Free a request the engine is done with (or never took). */
void xfer_req_free(struct xfer_req *xr)
{
	unsigned int i;

	/* a wedged device may still write there: keep the memory forever */
	if (!xr->req.leak) {
		for (i = 0; i < xr->nsides; i++) {
			struct xfer_side *s = &xr->side[i];

			if (s->file)
				fput(s->file);
			dmakit_import_unmap(&s->imp);	/* never finished */
			dmakit_import_put(&s->imp);
			if (s->dmabuf)
				dma_buf_put(s->dmabuf);
			side_unpin(s);	/* never started */
			kvfree(s->runs);
			if (s->own_page)
				__free_page(s->page);
			while (s->nkpages)
				__free_page(s->kpages[--s->nkpages]);
			kvfree(s->kpages);
		}
		xfer_uncharge(xr);
		if (xr->req.segs != xr->inline_segs)
			kvfree(xr->req.segs);
	}
	/* leaked pins keep their memlock charge; the fd's room comes back */
	xfer_unhold(xr);
	kfree(xr);
}

/*
 * DMAKIT_XFER_MAP_ONLY: the mapping layer without the device. Safe beside
 * the running request: only staged requests share engine memory.
 */
static int xfer_map_only(struct xfer_req *xr)
{
	/* the DMA API without a request: only while the device is there */
	int err = dmakit_engine_enter(xr->eng);

	if (err)
		return err;
	err = xfer_prepare(&xr->req);
	if (!err) {
		xr->req.prepared = true;
		xfer_finish(&xr->req);
	}
	dmakit_engine_exit(xr->eng);
	xr->req.status = err;
	xfer_fill_result(xr);
	xr->result.segments = err ? 0 : xr->req.nsegs;
	return err;
}

/* lock the reservation objects of f->dmabuf[0..n-1] (at most 2) */
static int fencing_lock(struct xfer_fencing *f)
{
	struct dma_resv *a = f->dmabuf[0]->resv, *b;
	int err;

	ww_acquire_init(&f->ctx, &reservation_ww_class);
	err = dma_resv_lock_interruptible(a, &f->ctx);
	if (err)
		goto err_fini;
	b = f->n == 2 ? f->dmabuf[1]->resv : NULL;
	while (b) {
		err = dma_resv_lock_interruptible(b, &f->ctx);
		if (err != -EDEADLK)
			break;
		/* an older context holds @b: let go of @a, wait for @b first */
		dma_resv_unlock(a);
		swap(a, b);
		err = dma_resv_lock_slow_interruptible(a, &f->ctx);
		if (err)
			goto err_fini;
	}
	if (err) {
		dma_resv_unlock(a);
		goto err_fini;
	}
	ww_acquire_done(&f->ctx);
	return 0;

err_fini:
	ww_acquire_fini(&f->ctx);
	return err;
}

static void fencing_unlock(struct xfer_fencing *f, bool locked)
{
	unsigned int i;

	for (i = 0; i < f->n; i++) {
		if (locked)
			dma_resv_unlock(f->dmabuf[i]->resv);
		dma_buf_put(f->dmabuf[i]);
	}
	if (locked)
		ww_acquire_fini(&f->ctx);
	f->n = 0;
}

/**
 * xfer_fence_begin() - before a request is submitted: its fence, and the
 * dma-bufs it touches locked with room for it.
 * @xr: the request, its sides got (side_get(): the other users' fences
 *      were waited for).
 * @f:  filled in; xfer_fence_commit() undoes it, whatever the submission
 *      gave. Nothing to do for a request that touches no dma-buf.
 *
 * The reservation objects stay locked across the submission (spinlocks
 * only, nothing waits there), so that the fence is added to them exactly
 * when the engine took the request, and room for it is reserved before.
 *
 * Return: 0; -ENOMEM, -EINTR (a signal while waiting for a lock).
 */
int xfer_fence_begin(struct xfer_req *xr, struct xfer_fencing *f)
{
	unsigned int i;
	int err;

	f->n = 0;
	f->fence = NULL;
	for (i = 0; i < xr->nsides; i++) {
		struct xfer_side *s = &xr->side[i];
		struct dma_buf *dmabuf = side_dmabuf(s);
		bool written = s->dir == DMA_FROM_DEVICE;

		if (!dmabuf)
			continue;
		/* both sides in one dma-buf: one fence, a write */
		if (f->n && f->dmabuf[0] == dmabuf) {
			f->written[0] |= written;
			continue;
		}
		/* ours, as the request may be freed before commit */
		get_dma_buf(dmabuf);
		f->dmabuf[f->n] = dmabuf;
		f->written[f->n++] = written;
	}
	if (!f->n)
		return 0;
	err = fencing_lock(f);
	if (err) {
		fencing_unlock(f, false);
		return err;
	}
	for (i = 0; i < f->n; i++) {
		err = dma_resv_reserve_fences(f->dmabuf[i]->resv, 1);
		if (err)
			goto err_unlock;
	}
	/* last: from here on the fence must end (its seqno is taken) */
	f->fence = dmakit_fence_new(xr->eng);
	if (!f->fence) {
		err = -ENOMEM;
		goto err_unlock;
	}
	xr->fence = f->fence;		/* the engine's reference */
	dma_fence_get(f->fence);	/* ours until commit */
	return 0;

err_unlock:
	fencing_unlock(f, true);
	return err;
}

/**
 * xfer_fence_commit() - after the submission: add the fence where the
 * engine took the request, and unlock.
 * @xr:  the request; after a successful submission it may be gone
 *       already (an asynchronous one reaped), and is not touched.
 * @f:   from xfer_fence_begin().
 * @err: the submission's result: 0, or the request was not queued, and
 *       its fence ends with @err unseen (the request is still the
 *       caller's).
 */
void xfer_fence_commit(struct xfer_req *xr, struct xfer_fencing *f, int err)
{
	struct dma_fence *fence = f->fence;
	unsigned int i;

	if (!f->n)
		return;
	for (i = 0; i < f->n && !err; i++)
		dma_resv_add_fence(f->dmabuf[i]->resv, fence,
				   f->written[i] ? DMA_RESV_USAGE_WRITE :
						   DMA_RESV_USAGE_READ);
	fencing_unlock(f, true);
	if (err) {
		xr->fence = NULL;
		dmakit_fence_end(xr->eng, fence, err);
	}
	dma_fence_put(fence);
}

/* Run a request and wait for it; a signal cancels it (see the uapi). */
int xfer_run_sync(struct xfer_req *xr)
{
	struct xfer_fencing f;
	int err;

	err = xfer_fence_begin(xr, &f);
	if (err)
		return err;
	err = dmakit_engine_submit(xr->eng, &xr->req);
	xfer_fence_commit(xr, &f, err);
	if (err)
		return err;
	if (wait_for_completion_interruptible(&xr->done)) {
		dmakit_engine_cancel(xr->eng, &xr->req);
		wait_for_completion(&xr->done);
	}
	return xr->req.status;
}

static int xfer_check(const struct dmakit_xfer *arg, u32 window)
{
	u64 end;

	if (arg->flags & ~(DMAKIT_XFER_ASYNC | DMAKIT_XFER_STAGED |
			   DMAKIT_XFER_MAP_ONLY))
		return -EINVAL;
	if ((arg->flags & DMAKIT_XFER_MAP_ONLY) &&
	    (arg->flags & (DMAKIT_XFER_ASYNC | DMAKIT_XFER_STAGED)))
		return -EINVAL;
	if (arg->pad || arg->reserved[0] || arg->reserved[1] || !arg->len)
		return -EINVAL;
	if ((arg->flags & DMAKIT_XFER_STAGED) && arg->dir == DMAKIT_DIR_COPY)
		return -EINVAL;
	switch (arg->dir) {
	case DMAKIT_DIR_TO_DEVICE:
	case DMAKIT_DIR_FROM_DEVICE:
		if (arg->dst_fd || arg->dst_offset)
			return -EINVAL;
		if (check_add_overflow((u64)arg->dev_offset, arg->len, &end) ||
		    end > window)
			return -EINVAL;
		return 0;
	case DMAKIT_DIR_COPY:
		return arg->dev_offset ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

static int xfer_get_sides(struct xfer_req *xr, const struct dmakit_xfer *arg)
{
	struct xfer_side *src = &xr->side[0], *dst = &xr->side[1];
	int err;

	xr->nsides = 1;
	err = side_get(src, xr->eng, arg->fd, arg->offset, arg->len,
		       arg->dir == DMAKIT_DIR_FROM_DEVICE);
	if (err || arg->dir != DMAKIT_DIR_COPY)
		return err;
	xr->nsides = 2;
	err = side_get(dst, xr->eng, arg->dst_fd, arg->dst_offset,
		       arg->len, true);
	if (err)
		return err;
	/* chunks would overwrite source bytes not yet sent */
	if (side_memory(src) == side_memory(dst) &&
	    src->off < dst->off + arg->len && dst->off < src->off + arg->len)
		return -EINVAL;
	return 0;
}

/**
 * dmakit_xfer_ioctl() - DMAKIT_IOC_XFER on a device node.
 * @client: the open device file's client state.
 * @uarg:   struct dmakit_xfer from user space.
 *
 * Return: see docs/abi.md: 0; -EINVAL, -EBADF (bad argument); -EBUSY (too
 * many asynchronous transfers outstanding); the request's status.
 */
long dmakit_xfer_ioctl(struct dmakit_client *client,
		       struct dmakit_xfer __user *uarg)
{
	struct dmakit_engine *eng = client->eng;
	struct dmakit_xfer arg;
	struct xfer_req *xr;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = xfer_check(&arg, eng->window);
	if (err)
		return err;
	xr = xfer_req_alloc(eng);
	if (!xr)
		return -ENOMEM;
	xr->len = arg.len;
	xr->dev_off = arg.dev_offset;
	xr->dir = arg.dir;
	xr->staged = arg.flags & DMAKIT_XFER_STAGED;
	/* only a staged result carries a bus address: ask only then */
	xr->privileged = xr->staged && dmakit_sees_addresses();
	xr->req.bytes = arg.len;
	xr->result.user_data = arg.user_data;
	err = xfer_get_sides(xr, &arg);
	/* staging copies through the CPU, which reaches no dma-buf here */
	if (!err && xr->staged && xr->side[0].imported)
		err = -EINVAL;
	if (err)
		goto out_free;

	if (!(arg.flags & DMAKIT_XFER_ASYNC)) {
		if (arg.flags & DMAKIT_XFER_MAP_ONLY)
			err = xfer_map_only(xr);
		else
			err = xfer_run_sync(xr);
		arg.id = xr->result.id;
		arg.result = xr->result;
		if (copy_to_user(uarg, &arg, sizeof(arg)) && !err)
			err = -EFAULT;
		goto out_free;
	}

	err = xfer_submit_async(client, xr, &arg.id);
	if (err)
		goto out_free;
	/* the request is the client's now; a fault here loses only the id */
	return put_user(arg.id, &uarg->id) ? -EFAULT : 0;

out_free:
	xfer_req_free(xr);
	return err;
}

static int xfer_user_check(const struct dmakit_xfer_user *arg)
{
	u32 known = DMAKIT_XFER_ASYNC | DMAKIT_XFER_STAGED |
		    DMAKIT_XFER_ZEROCOPY | DMAKIT_XFER_MAP_ONLY;

	if ((arg->flags & ~known) || arg->pad || arg->reserved[0] ||
	    arg->reserved[1])
		return -EINVAL;
	if ((arg->flags & DMAKIT_XFER_STAGED) &&
	    (arg->flags & (DMAKIT_XFER_ASYNC | DMAKIT_XFER_ZEROCOPY)))
		return -EINVAL;
	if ((arg->flags & DMAKIT_XFER_MAP_ONLY) &&
	    (arg->flags & DMAKIT_XFER_ASYNC))
		return -EINVAL;
	/*
	 * STAGED is TO/FROM only, as for DMAKIT_IOC_XFER: a forced COPY would
	 * hold the whole length twice in kernel pages (up to max_buffer_mb a
	 * side), however small the memory the iovecs point at
	 */
	if ((arg->flags & DMAKIT_XFER_STAGED) && arg->dir == DMAKIT_DIR_COPY)
		return -EINVAL;
	switch (arg->dir) {
	case DMAKIT_DIR_TO_DEVICE:
	case DMAKIT_DIR_FROM_DEVICE:
		return arg->dst_iov || arg->dst_iovcnt ? -EINVAL : 0;
	case DMAKIT_DIR_COPY:
		return arg->dev_offset ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/**
 * dmakit_xfer_user_ioctl() - DMAKIT_IOC_XFER_USER on a device node.
 * @client: the open device file's client state.
 * @uarg:   struct dmakit_xfer_user from user space.
 *
 * Return: see docs/abi.md.
 */
long dmakit_xfer_user_ioctl(struct dmakit_client *client,
			    struct dmakit_xfer_user __user *uarg)
{
	struct iovec fast[UIO_FASTIOV], *iov = fast;
	struct iovec dfast[UIO_FASTIOV], *diov = dfast;
	struct dmakit_engine *eng = client->eng;
	struct iov_iter iter, diter;
	struct dmakit_xfer_user arg;
	bool from, copy;
	struct xfer_req *xr;
	ktime_t t0, t_in;
	ssize_t len;
	u64 end;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = xfer_user_check(&arg);
	if (err)
		return err;
	from = arg.dir == DMAKIT_DIR_FROM_DEVICE;
	len = import_iovec(from ? ITER_DEST : ITER_SOURCE,
			   u64_to_user_ptr(arg.iov), arg.iovcnt,
			   ARRAY_SIZE(fast), &iov, &iter);
	if (len < 0)
		return len;
	if (arg.dir == DMAKIT_DIR_COPY) {
		ssize_t dlen = import_iovec(ITER_DEST, u64_to_user_ptr(arg.dst_iov),
					    arg.dst_iovcnt, ARRAY_SIZE(dfast),
					    &diov, &diter);

		if (dlen < 0) {
			err = dlen;
			diov = NULL;
			goto out_iov;
		}
		if (dlen != len) {
			err = -EINVAL;
			goto out_iov;
		}
	} else {
		diov = NULL;
		if (check_add_overflow((u64)arg.dev_offset, (u64)len, &end) ||
		    end > eng->window) {
			err = -EINVAL;
			goto out_iov;
		}
	}
	if (!len) {
		err = -EINVAL;
		goto out_iov;
	}
	/* what it may pin (or copy) at once, like a buffer's size */
	if (len > dmakit_max_buffer_bytes()) {
		err = -E2BIG;
		goto out_iov;
	}

	xr = xfer_req_alloc(eng);
	if (!xr) {
		err = -ENOMEM;
		goto out_iov;
	}
	xr->len = len;
	xr->dev_off = arg.dev_offset;
	xr->dir = arg.dir;
	xr->req.bytes = len;
	xr->result.user_data = arg.user_data;
	xr->nsides = arg.dir == DMAKIT_DIR_COPY ? 2 : 1;
	copy = (arg.flags & DMAKIT_XFER_STAGED) ||
	       (!(arg.flags & (DMAKIT_XFER_ASYNC | DMAKIT_XFER_ZEROCOPY)) &&
		len <= xfer_copy_max(eng));
	if (arg.flags & DMAKIT_XFER_ASYNC) {
		/* pinned, never copied (xfer_user_check: not STAGED) */
		unsigned long pages = iter_pages(&iter, len);

		if (xr->nsides == 2)
			pages += iter_pages(&diter, len);
		err = xfer_hold(client, xr, pages, pages);
		if (err)
			goto out_free;
	}
	t0 = ktime_get();
	if (copy)
		err = side_copy_in(xr, &xr->side[0], &iter, !from);
	else
		err = side_pin_iter(&xr->side[0], &iter, len, from);
	if (!err && xr->nsides == 2 && copy)
		err = side_copy_in(xr, &xr->side[1], &diter, false);
	else if (!err && xr->nsides == 2)
		err = side_pin_iter(&xr->side[1], &diter, len, true);
	if (err)
		goto out_free;
	t_in = ktime_sub(ktime_get(), t0);

	arg.len = len;
	if (arg.flags & DMAKIT_XFER_ASYNC) {
		err = xfer_submit_async(client, xr, &arg.id);
		if (err)
			goto out_free;
		xr = NULL;	/* the client's now */
		if (put_user(arg.id, &uarg->id) || put_user(arg.len, &uarg->len))
			err = -EFAULT;
		goto out_iov;
	}
	if (arg.flags & DMAKIT_XFER_MAP_ONLY)
		err = xfer_map_only(xr);
	else
		err = xfer_run_sync(xr);
	t0 = ktime_get();
	if (!err && copy)
		err = side_copy_out(xr, &xr->side[xr->nsides - 1],
				    xr->nsides == 2 ? &diter : &iter);
	arg.id = xr->result.id;
	arg.result = xr->result;
	/* the caller-side halves: pinning or copying in, copying out */
	arg.result.map_ns = min_t(u64, (u64)arg.result.map_ns +
				  ktime_to_ns(t_in), U32_MAX);
	arg.result.unmap_ns = min_t(u64, (u64)arg.result.unmap_ns +
				    ktime_to_ns(ktime_sub(ktime_get(), t0)),
				    U32_MAX);
	if (copy_to_user(uarg, &arg, sizeof(arg)) && !err)
		err = -EFAULT;
out_free:
	if (xr)
		xfer_req_free(xr);
out_iov:
	kfree(diov);
	kfree(iov);
	return err;
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "xfer_kunit.c"
#endif
