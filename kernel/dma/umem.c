// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit user memory: the caller's pages as one side of a transfer
 * (read/write on a device node, DMAKIT_IOC_XFER_USER).
 *
 * User memory is either copied through a kernel page of the request's own
 * (small synchronous transfers, copy_max) or pinned in the caller's
 * context at submission (pin_user_pages_fast, FOLL_WRITE when the device
 * writes it), recorded as runs of (page, offset, length), mapped as an
 * sg_table when the request starts (map.c) and unpinned (dirtied if the
 * device wrote) as soon as it ends. The pins last one transfer, like a
 * block driver's for O_DIRECT, and end when the device is done, whatever
 * user space does: not FOLL_LONGTERM (docs/security.md, "Pinned memory").
 * Because the pages stay pinned, unmapping the range or exiting during the
 * DMA cannot free them under the device; GUP refuses VM_IO/VM_PFNMAP
 * ranges (device memory, contig buffers) with EFAULT.
 *
 * Since the pins of an asynchronous request outlive the call for as long
 * as the shared queue takes, they are bounded twice before anything is
 * pinned (xfer_hold): per fd by max_inflight_mb (EAGAIN), per user by
 * RLIMIT_MEMLOCK (ENOMEM, the count buffers from outside the memory cgroup
 * are charged to).
 *
 * Locking: client->lock guards the fd's room (client->inflight, want);
 * taken before the engine's lock, never in interrupt context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "xfer.h"

/*
 * Give pinned user pages back, dirty if the device may have written them,
 * and the references taken on bvec pages (whose owner dirties them).
 */
void side_unpin(struct xfer_side *s)
{
	while (s->nrefs)
		folio_put(page_folio(s->runs[--s->nrefs].page));
	if (!s->upages)
		return;
	unpin_user_pages_dirty_lock(s->upages, s->nupages,
				    s->dir == DMA_FROM_DEVICE);
	kvfree(s->upages);
	s->upages = NULL;
	s->nupages = 0;
}

/* ---- memory asynchronous requests hold: bounded per fd and per user ---- */

static unsigned int max_inflight_mb = 256;
module_param(max_inflight_mb, uint, 0644);
MODULE_PARM_DESC(max_inflight_mb,
		 "most memory the asynchronous transfers of one open device file (XFER_USER, read/write through io_uring or AIO) hold pinned at once, in MiB counted per pinned page, until reaped (read/write: completed); past it EAGAIN; a request alone may hold more, max_buffer_mb bounds it (default 256)");

/* may @client's asynchronous requests hold @pages more? (client->lock) */
bool client_has_room(const struct dmakit_client *client,
		     unsigned long pages)
{
	unsigned long max = (unsigned long)READ_ONCE(max_inflight_mb) <<
			    (20 - PAGE_SHIFT);

	return !client->inflight ||
	       (pages <= max && client->inflight <= max - pages);
}

/*
 * Give @xr's pages back to its fd's room, and tell poll when there is room
 * for the request that waits (keyed: a waiter woken without room, such as
 * io_uring's, would try again and fail)
 */
void xfer_unhold(struct xfer_req *xr)
{
	struct dmakit_client *client = xr->holder;

	if (!client)
		return;
	spin_lock(&client->lock);
	client->inflight -= xr->held;
	if (client_has_room(client, max(client->want, 1UL)))
		wake_up_poll(&client->wait, CLIENT_POLL_ROOM);
	spin_unlock(&client->lock);
	xr->holder = NULL;
}

/* the pins are gone, or never came: so is their memlock charge */
void xfer_uncharge(struct xfer_req *xr)
{
	dmakit_uncharge_locked(xr->locked_user, xr->locked);
	xr->locked_user = NULL;
}

/*
 * Room for an asynchronous request of @client that will hold @pages pages,
 * @pinned of them pinned here (the rest are io_uring's registered buffers,
 * charged when registered): first in the fd's room (-EAGAIN: full until
 * results are reaped or requests complete; poll says so), then in the
 * user's RLIMIT_MEMLOCK count (-ENOMEM; CAP_IPC_LOCK exempt). Called before
 * anything is pinned, so a refusal changes nothing; xfer_unhold() and
 * xfer_uncharge() give back.
 */
int xfer_hold(struct dmakit_client *client, struct xfer_req *xr,
	      unsigned long pages, unsigned long pinned)
{
	int err;

	spin_lock(&client->lock);
	if (!client_has_room(client, pages)) {
		client->want = pages;
		spin_unlock(&client->lock);
		return -EAGAIN;
	}
	client->inflight += pages;
	client->want = 0;
	spin_unlock(&client->lock);
	xr->holder = client;
	xr->held = pages;

	err = dmakit_charge_locked(pinned, &xr->locked_user);
	if (err) {
		xfer_unhold(xr);
		return err;
	}
	xr->locked = pinned;
	return 0;
}

/* ---- user memory: read/write on a device node, DMAKIT_IOC_XFER_USER ---- */

static unsigned int copy_max = 4096;
module_param(copy_max, uint, 0644);
MODULE_PARM_DESC(copy_max,
		 "synchronous transfers of user memory up to this many bytes go through a kernel copy instead of pinning (0: always pin; default 4096, the crossover measured in docs/dio.md)");

static unsigned int copy_max_bounce = 1048576;
module_param(copy_max_bounce, uint, 0644);
MODULE_PARM_DESC(copy_max_bounce,
		 "copy_max for a device whose memory beyond its DMA mask swiotlb bounces: pinned pages would be copied anyway (default 1048576, measured in docs/dio.md)");

/* up to how many bytes the copy path is the faster one, for @eng */
size_t xfer_copy_max(struct dmakit_engine *eng)
{
	return eng->bounces ? READ_ONCE(copy_max_bounce) : READ_ONCE(copy_max);
}

/*
 * Copy pages the device can reach: anywhere behind an IOMMU or with a
 * 64-bit mask, else below 4 GiB (a smaller mask is checked per page when
 * the request is mapped: ZONE_DMA's 16 MiB would be too small a pool).
 */
static gfp_t xfer_copy_gfp(struct dmakit_engine *eng)
{
	/*
	 * The caller's memory cgroup pays for the copy (it holds the pages
	 * as long as the request), and a refused charge or allocation is the
	 * caller's ENOMEM: no OOM kill, no allocation-failure report.
	 */
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN | __GFP_RETRY_MAYFAIL;

	if (eng->translated || dma_get_mask(eng->dev) == DMA_BIT_MASK(64))
		return gfp;
	return gfp | GFP_DMA32;
}

/* pin [@uaddr, @uaddr + @len) and append its runs to @s */
static int side_pin_segment(struct xfer_side *s, unsigned long uaddr,
			    size_t len, bool write)
{
	unsigned long first = uaddr & PAGE_MASK;
	int npages = (PAGE_ALIGN(uaddr + len) - first) >> PAGE_SHIFT;
	unsigned int flags = write ? FOLL_WRITE : 0;
	struct page **pages = s->upages + s->nupages;
	int done = 0;

	/* pin_user_pages_fast() may pin fewer than asked: go on from there */
	while (done < npages) {
		int got = pin_user_pages_fast(first + ((unsigned long)done << PAGE_SHIFT),
					      npages - done, flags, pages + done);

		if (got <= 0) {
			s->nupages += done;	/* unpinned with the request */
			/*
			 * -EEXIST: a PFN mapping in a VM_MIXEDMAP VMA (a premapped
			 * dmakit buffer), which has no page to pin: to the caller
			 * that is memory it cannot use, like VM_PFNMAP's -EFAULT
			 */
			return !got || got == -EEXIST ? -EFAULT : got;
		}
		done += got;
	}
	s->nupages += npages;
	for (done = 0; done < npages; done++) {
		struct user_run *run = &s->runs[s->nruns++];
		u32 off = done ? 0 : offset_in_page(uaddr);

		run->page = pages[done];
		run->off = off;
		run->len = min_t(size_t, len, PAGE_SIZE - off);
		len -= run->len;
	}
	return 0;
}

/* pages side_pin_iter() pins or references for the first @len bytes of @iter */
unsigned long iter_pages(const struct iov_iter *iter, size_t len)
{
	struct iov_iter it = *iter;

	iov_iter_truncate(&it, len);
	return iov_iter_npages(&it, INT_MAX);
}

/*
 * A reference of the request's own on a bvec page, so that the page
 * outlives the request's end as a pinned page does: a wedged device may
 * still write it after the kiocb completed and its owner let it go
 * (io_uring unregisters a fixed buffer, the process unmaps it). Slab
 * memory cannot be held this way (a reference does not keep the object;
 * 7.3's get_page() warns) and neither can a page without references
 * (7.3's large kmalloc): false.
 */
static bool bvec_page_get(struct page *page)
{
	struct folio *folio = page_folio(page);

	return !folio_test_slab(folio) && folio_try_get(folio);
}

/*
 * Record the first @len bytes of @iter as side @s: user memory is pinned,
 * the pages of a bvec iterator (io_uring fixed buffers, splice) get a
 * reference per run, released with the pins (side_unpin()), so by the
 * same rule: at the end of the DMA, or never if the device may still
 * write. @iter itself does not move. @write: the device writes the memory.
 */
int side_pin_iter(struct xfer_side *s, const struct iov_iter *iter,
		  size_t len, bool write)
{
	struct iov_iter it = *iter;
	int max;
	int err;

	iov_iter_truncate(&it, len);
	max = iov_iter_npages(&it, INT_MAX);
	s->runs = kvcalloc(max + 1, sizeof(*s->runs), DMAKIT_USER_ARRAY_GFP);
	if (!s->runs)
		return -ENOMEM;
	s->dir = write ? DMA_FROM_DEVICE : DMA_TO_DEVICE;

	if (iov_iter_is_bvec(&it)) {
		const struct bio_vec *bv = it.bvec;
		size_t skip = it.iov_offset, left = iov_iter_count(&it);

		while (left) {
			size_t off = bv->bv_offset + skip;
			size_t n = min3(left, (size_t)bv->bv_len - skip,
					PAGE_SIZE - offset_in_page(off));

			if (n) {
				struct user_run *run;

				if (s->nruns >= max + 1)
					return -EINVAL;
				run = &s->runs[s->nruns];
				run->page = pfn_to_page(page_to_pfn(bv->bv_page) +
						  (off >> PAGE_SHIFT));
				if (!bvec_page_get(run->page))
					return -EINVAL;	/* as a kvec */
				s->nrefs = ++s->nruns;
				run->off = offset_in_page(off);
				run->len = n;
			}
			skip += n;
			left -= n;
			if (skip == bv->bv_len) {
				bv++;
				skip = 0;
			}
		}
		return 0;
	}
	if (!user_backed_iter(&it))
		return -EINVAL;

	s->upages = kvcalloc(max, sizeof(*s->upages), DMAKIT_USER_ARRAY_GFP);
	if (!s->upages)
		return -ENOMEM;
	while (iov_iter_count(&it)) {
		struct iovec v;

		if (iter_is_ubuf(&it)) {
			v.iov_base = it.ubuf + it.iov_offset;
			v.iov_len = iov_iter_count(&it);
		} else {
			v.iov_base = iter_iov_addr(&it);
			v.iov_len = min(iter_iov_len(&it), iov_iter_count(&it));
		}
		if (v.iov_len) {
			err = side_pin_segment(s, (unsigned long)v.iov_base,
					       v.iov_len, write);
			if (err)
				return err;
		}
		iov_iter_advance(&it, v.iov_len);	/* 0 skips empty iovecs */
	}
	return 0;
}

/*
 * The copy path over several pages: kernel pages of the request's own,
 * mapped like pinned user memory (runs), filled or emptied by the CPU.
 */
static int side_copy_in_pages(struct xfer_req *xr, struct xfer_side *s,
			      struct iov_iter *iter, bool to_device)
{
	unsigned int n = DIV_ROUND_UP(xr->len, PAGE_SIZE), i;
	gfp_t gfp = xfer_copy_gfp(xr->eng) | (to_device ? 0 : __GFP_ZERO);
	size_t left = xr->len;

	s->kpages = kvcalloc(n, sizeof(*s->kpages), DMAKIT_USER_ARRAY_GFP);
	s->runs = kvcalloc(n, sizeof(*s->runs), DMAKIT_USER_ARRAY_GFP);
	if (!s->kpages || !s->runs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		size_t chunk = min_t(size_t, left, PAGE_SIZE);

		s->kpages[i] = alloc_page(gfp);
		if (!s->kpages[i])
			return -ENOMEM;
		s->nkpages++;
		s->runs[i] = (struct user_run){ s->kpages[i], 0, chunk };
		if (to_device &&
		    copy_from_iter(page_address(s->kpages[i]), chunk, iter) != chunk)
			return -EFAULT;
		left -= chunk;
	}
	s->nruns = n;
	return 0;
}

/* the copy path: user memory through kernel pages of the request's own */
int side_copy_in(struct xfer_req *xr, struct xfer_side *s,
		 struct iov_iter *iter, bool to_device)
{
	s->dir = to_device ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	xr->copied = true;
	if (xr->len > PAGE_SIZE)
		return side_copy_in_pages(xr, s, iter, to_device);
	/*
	 * Zeroed when the device is to fill it: whatever happens, the user
	 * never gets stale kernel memory back
	 */
	s->page = alloc_page(xfer_copy_gfp(xr->eng) |
			     (to_device ? 0 : __GFP_ZERO));
	if (!s->page)
		return -ENOMEM;
	s->own_page = true;
	if (to_device && copy_from_iter(page_address(s->page), xr->len, iter) !=
			 xr->len)
		return -EFAULT;
	return 0;
}

/* after a successful synchronous copy-path FROM_DEVICE: to the user */
int side_copy_out(struct xfer_req *xr, struct xfer_side *s,
		  struct iov_iter *iter)
{
	unsigned int i;

	if (s->dir != DMA_FROM_DEVICE)
		return 0;
	if (s->own_page)
		return copy_to_iter(page_address(s->page), xr->len, iter) ==
		       xr->len ? 0 : -EFAULT;
	for (i = 0; i < s->nkpages; i++) {
		size_t chunk = s->runs[i].len;

		if (copy_to_iter(page_address(s->kpages[i]), chunk, iter) != chunk)
			return -EFAULT;
	}
	return 0;
}

/**
 * dmakit_xfer_iter() - read_iter/write_iter of a device node.
 * @client:    the open device file's client state (asynchronous I/O takes
 *             room in it).
 * @iocb:      the I/O; its position is an offset in the device window.
 * @iter:      the caller's memory.
 * @to_device: write (memory -> window) rather than read.
 *
 * The node behaves like a file of window bytes backed by device memory:
 * a read at or beyond the end returns 0, a write there is ENOSPC, and a
 * transfer that crosses the end is cut short. Synchronous I/O of at most
 * copy_max bytes without O_DIRECT goes through a kernel copy; everything
 * else, and all asynchronous I/O (io_uring, libaio), is zero-copy.
 *
 * Return: bytes moved, -EIOCBQUEUED (asynchronous: completed through the
 * kiocb), or -errno (EINVAL position, EFAULT memory, EINTR signal, EAGAIN
 * asynchronous with the fd's room full, ENOMEM past RLIMIT_MEMLOCK, ...).
 */
ssize_t dmakit_xfer_iter(struct dmakit_client *client, struct kiocb *iocb,
			 struct iov_iter *iter, bool to_device)
{
	struct dmakit_engine *eng = client->eng;
	bool async = !is_sync_kiocb(iocb);
	size_t len = iov_iter_count(iter);
	loff_t pos = iocb->ki_pos;
	struct xfer_req *xr;
	bool copy;
	int err;

	if (pos < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if (pos >= eng->window)
		return to_device ? -ENOSPC : 0;
	len = min_t(size_t, len, eng->window - pos);

	xr = xfer_req_alloc(eng);
	if (!xr)
		return -ENOMEM;
	xr->len = len;
	xr->dev_off = pos;
	xr->dir = to_device ? DMAKIT_DIR_TO_DEVICE : DMAKIT_DIR_FROM_DEVICE;
	xr->req.bytes = len;
	xr->nsides = 1;
	copy = !async && !(iocb->ki_flags & IOCB_DIRECT) &&
	       len <= xfer_copy_max(eng);
	if (async) {
		unsigned long pages = iter_pages(iter, len);

		err = xfer_hold(client, xr, pages,
				user_backed_iter(iter) ? pages : 0);
		if (err)
			goto out_free;
	}
	if (copy)
		err = side_copy_in(xr, &xr->side[0], iter, to_device);
	else
		err = side_pin_iter(&xr->side[0], iter, len, !to_device);
	if (err)
		goto out_free;

	if (async) {
		/* before submitting: the completion may free @iter's owner */
		iov_iter_advance(iter, len);
		xr->iocb = iocb;
		err = dmakit_engine_submit(eng, &xr->req);
		if (err) {
			xr->iocb = NULL;
			goto out_free;
		}
		return -EIOCBQUEUED;
	}

	err = xfer_run_sync(xr);
	if (!err && copy)
		err = side_copy_out(xr, &xr->side[0], iter);
	else if (!err)
		iov_iter_advance(iter, len);
	if (!err)
		iocb->ki_pos = pos + len;
out_free:
	xfer_req_free(xr);
	return err ? err : len;
}
