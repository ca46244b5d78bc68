// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit mapping layer (device-agnostic): a transfer's sides of RAM to DMA
 * addresses, and those to device segments.
 *
 * A transfer names up to two "sides" of RAM (a range of a buffer, a kernel
 * page of the driver's own, a dma-buf, or user memory recorded as runs by
 * umem.c) and a device window. When the engine is about to run it
 * (prepare), each side is given to the DMA API:
 *   contig buffer  dma_map_single() of its linear-map address;
 *   kernel page    dma_map_page();
 *   pages/vmalloc  an sg_table over the page array (physically contiguous
 *                  runs merged), dma_map_sgtable(); the IOMMU may merge
 *                  entries further, so both counts are reported.
 * Then the DMA segments are cut into device segments: no segment crosses
 * the end of a DMA segment or of the device window. A COPY alternates
 * "source chunk -> window" and "window -> destination chunk".
 * When it ended (finish) everything is unmapped, which hands the memory
 * back to the CPU (and copies bounce buffers back). Staged transfers map
 * nothing: stage.c.
 *
 * The request holds a reference to each buffer's file (side_get()), so
 * closing the fd or unmapping the buffer during the transfer frees nothing
 * until the device is done.
 *
 * Locking: none of its own. prepare and finish run in the engine's worker
 * for the one running request (or for a MAP_ONLY request inside the
 * device's alive section); each request's sides are its own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/dma-direct.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "xfer.h"

static struct page *side_page(struct xfer_side *s, pgoff_t index)
{
	return s->page ? s->page : dmakit_buffer_page(s->buf, index);
}

/* Is DMA of @dev translated by an IOMMU (bus address != physical)? */
bool dmakit_dma_translated(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain && (domain->type & __IOMMU_DOMAIN_DMA_API);
}

/**
 * dmakit_dma_reaches() - can the DMA API give @dev bus addresses for memory
 * up to @last (its highest byte)?
 * @dev:  the device that would do the DMA.
 * @last: physical address of the memory's last byte.
 *
 * Through an IOMMU always; below the device's mask (and bus limit)
 * directly; above it only where swiotlb bounces for @dev (dma-direct
 * limits a mapping's size exactly then: is_swiotlb_active() is not
 * exported from 6.6 on). dma-direct meets anything else with a WARN
 * ("DMA addr ... overflow") and a failed mapping, so the callers answer
 * EIO before they map.
 */
bool dmakit_dma_reaches(struct device *dev, phys_addr_t last)
{
	u64 limit = min_not_zero(dma_get_mask(dev), dev->bus_dma_limit);

	if (dmakit_dma_translated(dev) || phys_to_dma(dev, last) <= limit)
		return true;
	return dma_addressing_limited(dev) &&
	       dma_max_mapping_size(dev) != SIZE_MAX;
}

/*
 * Did a streaming mapping of @phys at @dma land in a swiotlb bounce buffer?
 * Without an IOMMU, dma-direct gives every page the bus address that
 * phys_to_dma() names, unless it bounced it (is_swiotlb_buffer() is gone
 * in 6.12).
 */
static bool dma_bounced(struct dmakit_engine *eng, dma_addr_t dma,
			phys_addr_t phys)
{
	return eng->bounces && dma != phys_to_dma(eng->dev, phys);
}

/*
 * Can the DMA API give the device a bus address for pages @first..@last of
 * side @s? Without an IOMMU or swiotlb, memory above the mask cannot be
 * reached at all, and dma-direct would warn: answer EIO instead. A buffer
 * wholly below the mask (its highest page, noted at allocation) needs no
 * walk, nor does a translating or bouncing DMA layer.
 */
static bool side_reachable(struct dmakit_engine *eng, struct xfer_side *s,
			   pgoff_t first, pgoff_t last)
{
	u64 mask = dma_get_mask(eng->dev);
	pgoff_t i;

	if (eng->translated)
		return true;
	if (s->page ? page_to_phys(s->page) + PAGE_SIZE - 1 <= mask :
		      s->buf->phys_max <= mask)
		return true;
	if (eng->bounces)
		return true;
	for (i = first; i <= last; i++)
		if (page_to_phys(side_page(s, i)) + PAGE_SIZE - 1 > mask)
			return false;
	return true;
}

/* the sg_table of @s is built: map it and count */
static int side_map_sgt(struct xfer_req *xr, struct xfer_side *s)
{
	struct scatterlist *sg;
	unsigned int i;
	int err;

	s->sg_entries = s->sgt.orig_nents;
	if (fault_dma_map_hit())
		err = -EIO;	/* a refused mapping */
	else
		err = dma_map_sgtable(xr->eng->dev, &s->sgt, s->dir, 0);
	if (err) {
		sg_free_table(&s->sgt);
		return err == -ENOMEM ? -ENOMEM : -EIO;
	}
	s->mapped = true;
	s->dma_segments = s->sgt.nents;
	for_each_sgtable_dma_sg(&s->sgt, sg, i)
		s->bounced += dma_bounced(xr->eng, sg_dma_address(sg),
					  sg_phys(sg));
	return 0;
}

/* does run @r continue run @p in physical memory (one sg entry for both)? */
bool run_continues(const struct user_run *p, const struct user_run *r,
		   u32 len, unsigned int max_seg)
{
	phys_addr_t end = page_to_phys(p->page) + p->off + p->len;

	return page_to_phys(r->page) + r->off == end &&
	       (u64)len + r->len <= max_seg;
}

/*
 * The sg_table of @s's runs: one entry per run of physically contiguous
 * memory, none longer than @max_seg, as sg_alloc_table_from_pages() does
 * for a single range.
 */
int side_build_runs_sgt(struct xfer_side *s, unsigned int max_seg)
{
	struct scatterlist *sg = NULL;
	unsigned int i, nents = 0;
	u32 len = 0;
	int err;

	for (i = 0; i < s->nruns; i++) {
		if (i && run_continues(&s->runs[i - 1], &s->runs[i], len, max_seg)) {
			len += s->runs[i].len;
			continue;
		}
		nents++;
		len = s->runs[i].len;
	}
	err = sg_alloc_table(&s->sgt, nents, GFP_KERNEL_ACCOUNT);
	if (err)
		return err;
	for (i = 0; i < s->nruns; i++) {
		const struct user_run *r = &s->runs[i];

		if (sg && run_continues(&s->runs[i - 1], r, sg->length, max_seg)) {
			sg->length += r->len;
			continue;
		}
		sg = sg ? sg_next(sg) : s->sgt.sgl;
		sg_set_page(sg, r->page, r->len, r->off);
	}
	return 0;
}

/* Pinned user memory (or copy pages, or bvec pages): its runs, mapped. */
static int side_map_user(struct xfer_req *xr, struct xfer_side *s)
{
	struct dmakit_engine *eng = xr->eng;
	u64 mask = dma_get_mask(eng->dev);
	unsigned int i;
	int err;

	if (!eng->translated && !eng->bounces)
		for (i = 0; i < s->nruns; i++)
			if (page_to_phys(s->runs[i].page) + PAGE_SIZE - 1 > mask)
				return -EIO;
	err = side_build_runs_sgt(s, dma_get_max_seg_size(eng->dev));
	if (err)
		return err;
	return side_map_sgt(xr, s);
}

/*
 * A contig range longer than one mapping may be (swiotlb: 256 KiB) goes in
 * pieces: an sg_table over its pages, cut at the device's max segment.
 */
static int side_map_contig_sg(struct xfer_req *xr, struct xfer_side *s,
			      pgoff_t first, pgoff_t last)
{
	struct device *dev = xr->eng->dev;
	unsigned int n = last - first + 1, i;
	struct page **pages;
	int err;

	pages = kvmalloc_array(n, sizeof(*pages), DMAKIT_USER_ARRAY_GFP);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		pages[i] = dmakit_buffer_page(s->buf, first + i);
	err = sg_alloc_table_from_pages_segment(&s->sgt, pages, n,
						offset_in_page(s->off), xr->len,
						dma_get_max_seg_size(dev),
						GFP_KERNEL_ACCOUNT);
	kvfree(pages);
	if (err)
		return err;
	return side_map_sgt(xr, s);
}

/*
 * A dma-buf: its exporter maps the whole of it for our device (and keeps
 * to our mask: swiotlb or an error); count the DMA segments of our range.
 */
static int side_map_import(struct xfer_side *s, u64 len)
{
	struct scatterlist *sg;
	u64 pos = 0, end = s->off + len;
	unsigned int i;
	int err;

	err = dmakit_import_map(&s->imp);
	if (err)
		return err;
	s->mapped = true;
	for_each_sgtable_dma_sg(s->imp.sgt, sg, i) {
		if (pos < end && pos + sg_dma_len(sg) > s->off)
			s->dma_segments++;
		pos += sg_dma_len(sg);
	}
	s->sg_entries = s->dma_segments;
	return pos < end ? -EIO : 0;	/* the exporter mapped less */
}

static int side_map(struct xfer_req *xr, struct xfer_side *s)
{
	struct device *dev = xr->eng->dev;
	pgoff_t first = s->off >> PAGE_SHIFT;
	pgoff_t last = (s->off + xr->len - 1) >> PAGE_SHIFT;
	phys_addr_t phys;
	int err;

	if (s->imported)
		return side_map_import(s, xr->len);
	if (s->coherent) {
		/* one bus address for its whole life, owned by the device */
		s->dma = s->buf->dma_handle + s->off;
		s->single = true;
		s->sg_entries = 1;
		s->dma_segments = 1;
		return 0;
	}
	if (s->runs)
		return side_map_user(xr, s);
	if (!side_reachable(xr->eng, s, first, last))
		return -EIO;

	if (s->buf && s->buf->kind == DMAKIT_KIND_CONTIG &&
	    xr->len > xr->eng->max_map)
		return side_map_contig_sg(xr, s, first, last);
	/*
	 * One mapping call without an sg_table: a kernel page, a contig range,
	 * or a range inside one page of a page array (dma_map_page).
	 */
	if (s->page || s->buf->kind == DMAKIT_KIND_CONTIG || first == last) {
		if (fault_dma_map_hit())
			return -EIO;	/* as dma_mapping_error() below */
		if (s->page || s->buf->kind != DMAKIT_KIND_CONTIG) {
			phys = page_to_phys(side_page(s, first)) +
			       offset_in_page(s->off);
			s->dma = dma_map_page(dev, side_page(s, first),
					      offset_in_page(s->off), xr->len,
					      s->dir);
			s->by_page = true;
		} else {
			phys = virt_to_phys(s->buf->vaddr + s->off);
			s->dma = dma_map_single(dev, s->buf->vaddr + s->off,
						xr->len, s->dir);
		}
		if (dma_mapping_error(dev, s->dma))
			return -EIO;
		s->single = true;
		s->mapped = true;
		s->sg_entries = 1;
		s->dma_segments = 1;
		s->bounced = dma_bounced(xr->eng, s->dma, phys);
		return 0;
	}

	err = sg_alloc_table_from_pages_segment(&s->sgt, s->buf->pages + first,
						last - first + 1,
						offset_in_page(s->off),
						xr->len,
						dma_get_max_seg_size(dev),
						GFP_KERNEL_ACCOUNT);
	if (err)
		return err;
	return side_map_sgt(xr, s);
}

static void side_unmap(struct xfer_req *xr, struct xfer_side *s)
{
	struct device *dev = xr->eng->dev;

	if (!s->mapped)
		return;
	if (s->imported)
		dmakit_import_unmap(&s->imp);
	else if (s->single && s->by_page)
		dma_unmap_page(dev, s->dma, xr->len, s->dir);
	else if (s->single)
		dma_unmap_single(dev, s->dma, xr->len, s->dir);
	else
		dma_unmap_sgtable(dev, &s->sgt, s->dir, 0);
	if (!s->single && !s->imported)
		sg_free_table(&s->sgt);
	s->mapped = false;
}

/* walks the DMA segments of one side */
struct dma_cursor {
	struct scatterlist *sg;
	dma_addr_t addr;
	u64 left;
};

static void cursor_init(struct dma_cursor *c, struct xfer_req *xr,
			struct xfer_side *s)
{
	u64 skip;

	if (s->single) {
		c->sg = NULL;
		c->addr = s->dma;
		c->left = xr->len;
		return;
	}
	c->sg = s->imported ? s->imp.sgt->sgl : s->sgt.sgl;
	c->addr = sg_dma_address(c->sg);
	c->left = sg_dma_len(c->sg);
	/* a dma-buf's table maps all of it: go to the range */
	for (skip = s->imported ? s->off : 0; skip;) {
		u64 n = min(skip, c->left);

		c->addr += n;
		c->left -= n;
		skip -= n;
		if (!c->left) {
			c->sg = sg_next(c->sg);
			c->addr = sg_dma_address(c->sg);
			c->left = sg_dma_len(c->sg);
		}
	}
}

/* up to @want bytes from the cursor's DMA segment: where they are, how many */
static u32 cursor_take(struct dma_cursor *c, u32 want, dma_addr_t *addr)
{
	u32 got;

	if (!c->left && c->sg) {
		c->sg = sg_next(c->sg);
		c->addr = sg_dma_address(c->sg);
		c->left = sg_dma_len(c->sg);
	}
	got = min_t(u64, want, c->left);
	*addr = c->addr;
	c->addr += got;
	c->left -= got;
	return got;
}

/* device segments for @len bytes of a side at window offset @dev_off */
static void add_segs(struct dmakit_req *req, struct dma_cursor *c,
		     u32 dev_off, u32 len, bool to_device)
{
	u32 done = 0;

	while (done < len) {
		struct dmakit_seg *seg = &req->segs[req->nsegs++];

		seg->len = cursor_take(c, len - done, &seg->bus);
		seg->dev_off = dev_off + done;
		seg->to_device = to_device;
		done += seg->len;
	}
}

/* room for @max segments in req->segs */
int xfer_alloc_segs(struct xfer_req *xr, size_t max)
{
	struct dmakit_req *req = &xr->req;

	if (max <= XFER_INLINE_SEGS)
		req->segs = xr->inline_segs;
	else
		req->segs = kvmalloc_array(max, sizeof(*req->segs),
					   DMAKIT_USER_ARRAY_GFP);
	req->nsegs = 0;
	return req->segs ? 0 : -ENOMEM;
}

/* one side mapped in one piece, to or from the device: one segment */
static void xfer_one_seg(struct xfer_req *xr)
{
	struct dmakit_req *req = &xr->req;

	req->segs = xr->inline_segs;
	req->segs[0] = (struct dmakit_seg){ .bus = xr->side[0].dma,
		.dev_off = xr->dev_off, .len = xr->len,
		.to_device = xr->dir == DMAKIT_DIR_TO_DEVICE };
	req->nsegs = 1;
}

int xfer_build_segs(struct xfer_req *xr)
{
	struct dmakit_req *req = &xr->req;
	u32 window = xr->eng->window;
	struct dma_cursor c[2];
	size_t max;
	u64 pos;

	/* every DMA segment end and every chunk end may cut a segment */
	max = xr->len <= window ? 1 : div64_u64(xr->len, window) + 1;
	max = max * xr->nsides + xr->side[0].dma_segments;
	if (xr->nsides == 2)
		max += xr->side[1].dma_segments;
	if (xfer_alloc_segs(xr, max))
		return -ENOMEM;

	cursor_init(&c[0], xr, &xr->side[0]);
	if (xr->dir != DMAKIT_DIR_COPY) {
		add_segs(req, &c[0], xr->dev_off, xr->len,
			 xr->dir == DMAKIT_DIR_TO_DEVICE);
		return 0;
	}
	cursor_init(&c[1], xr, &xr->side[1]);
	for (pos = 0; pos < xr->len; pos += window) {
		u32 chunk = min_t(u64, window, xr->len - pos);

		add_segs(req, &c[0], 0, chunk, true);
		add_segs(req, &c[1], 0, chunk, false);
	}
	return 0;
}

static void xfer_unmap(struct xfer_req *xr)
{
	unsigned int i;

	for (i = xr->nsides; i-- > 0;)
		side_unmap(xr, &xr->side[i]);
}

static int xfer_prepare_sides(struct xfer_req *xr)
{
	unsigned int i, bounced = 0;
	int err;

	for (i = 0; i < xr->nsides; i++) {
		err = side_map(xr, &xr->side[i]);
		if (err)
			goto err_unmap;
		bounced += xr->side[i].bounced;
	}
	if (xr->dir != DMAKIT_DIR_COPY && xr->side[0].single) {
		xfer_one_seg(xr);	/* what xfer_build_segs() would make */
	} else {
		err = xfer_build_segs(xr);
		if (err)
			goto err_unmap;
	}
	xr->req.bounced = bounced;	/* counted when the request retires */
	return 0;

err_unmap:
	xfer_unmap(xr);
	return err;
}

int xfer_prepare(struct dmakit_req *req)
{
	struct xfer_req *xr = container_of(req, struct xfer_req, req);
	ktime_t t0 = ktime_get();
	int err;

	if (xr->stray)
		err = xfer_prepare_stray(xr);
	else if (xr->staged)
		err = xfer_prepare_staged(xr);
	else
		err = xfer_prepare_sides(xr);
	xr->map_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	return err;
}

void xfer_finish(struct dmakit_req *req)
{
	struct xfer_req *xr = container_of(req, struct xfer_req, req);
	ktime_t t0 = ktime_get();
	unsigned int i;

	if (xr->stray) {
		stage_give_back(xr);
	} else if (xr->staged) {
		xfer_finish_staged(xr);
	} else {
		xfer_unmap(xr);
		/* as soon as the device is done: an async result may wait long */
		for (i = 0; i < xr->nsides; i++)
			side_unpin(&xr->side[i]);
		xfer_uncharge(xr);
	}
	xr->unmap_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
}

/*
 * The buffer behind @fd, with its file held in @s; or the dma-buf behind
 * it, attached to the engine's device. A buffer that was exported is a
 * dma-buf as well: its dma-buf is held in @s, and, as for an imported
 * one, the fences of its other users are waited for first (implicit sync).
 */
int side_get(struct xfer_side *s, struct dmakit_engine *eng, int fd, u64 off,
	     u64 len, bool written)
{
	u64 end;

	s->file = fget(fd);
	if (!s->file)
		return -EBADF;
	s->buf = dmakit_buffer_of(s->file);
	if (!s->buf) {
		fput(s->file);
		s->file = NULL;
		s->imported = true;
		s->off = off;
		s->dir = written ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
		return dmakit_import_get(&s->imp, fd, eng, off, len, written);
	}
	if (written && !(s->file->f_mode & FMODE_WRITE))
		return -EBADF;	/* as write(2) on a read-only fd */
	if (check_add_overflow(off, len, &end) || end > s->buf->size)
		return -EINVAL;
	/* a foreign buffer is its device's, and may go with it any time */
	if (s->buf->foreign)
		return -EINVAL;
	if (s->buf->kind == DMAKIT_KIND_COHERENT) {
		/* another device's coherent memory has no bus address here */
		if (s->buf->dma_dev != eng->dev)
			return -EINVAL;
		s->coherent = true;
	}
	s->off = off;
	s->dir = written ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	s->dmabuf = dmakit_buffer_dmabuf_get(s->buf);
	if (s->dmabuf)
		return dmakit_resv_wait(s->dmabuf, written, eng->fence_context);
	return 0;
}

/* the dma-buf a side touches (an imported one, or a buffer's), or NULL */
struct dma_buf *side_dmabuf(const struct xfer_side *s)
{
	return s->imported ? s->imp.dmabuf : s->dmabuf;
}

/* the memory a side names: a buffer, or what a dma-buf is */
const void *side_memory(const struct xfer_side *s)
{
	return s->imported ? dmakit_import_memory(&s->imp) : s->buf;
}
