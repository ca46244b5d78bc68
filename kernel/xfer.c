// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit mapping layer and transfer requests (device-agnostic).
 *
 * A transfer names up to two "sides" of RAM (a range of a buffer, or a
 * kernel page of the driver's own) and a device window. When the engine
 * is about to run it (prepare), each side is given to the DMA API:
 *   contig buffer  dma_map_single() of its linear-map address;
 *   kernel page    dma_map_page();
 *   pages/vmalloc  an sg_table over the page array (physically contiguous
 *                  runs merged), dma_map_sgtable(); the IOMMU may merge
 *                  entries further, so both counts are reported.
 * Then the DMA segments are cut into device segments: no segment crosses
 * the end of a DMA segment or of the device window. A COPY alternates
 * "source chunk -> window" and "window -> destination chunk".
 * When it ended (finish) everything is unmapped, which hands the memory
 * back to the CPU (and copies bounce buffers back).
 *
 * A staged transfer (DMAKIT_XFER_STAGED, TO/FROM_DEVICE) maps nothing: the
 * CPU copies between the buffer and the engine's own DMA memory, which the
 * device uses: up to DMAKIT_STAGE_MAX bytes a chunk of the engine's
 * dma_pool (coherent: no sync either way); above that the engine's staging
 * page, streaming-mapped once for the device's life, whose ownership is
 * handed back and forth around every CPU access with
 * dma_sync_single_for_cpu() / dma_sync_single_for_device().
 *
 * The request holds a reference to each buffer's file, so closing the fd
 * or unmapping the buffer during the transfer frees nothing until the
 * device is done.
 *
 * User memory (read/write on a device node, DMAKIT_IOC_XFER_USER) is either
 * copied through a kernel page of the request's own (small synchronous
 * transfers, copy_max) or pinned in the caller's context at submission
 * (pin_user_pages_fast, FOLL_WRITE when the device writes it), recorded as
 * runs of (page, offset, length), mapped as an sg_table when the request
 * starts and unpinned (dirtied if the device wrote) as soon as it ends.
 * The pins last one transfer, like a block driver's for O_DIRECT, and end
 * when the device is done, whatever user space does: not FOLL_LONGTERM
 * (docs/security.md, "Pinned memory"). Because the pages stay pinned,
 * unmapping the range or exiting during the DMA cannot free them under the
 * device; GUP refuses VM_IO/VM_PFNMAP ranges (device memory, contig
 * buffers) with EFAULT.
 *
 * Asynchronous requests belong to a client (an open device file):
 * client->lock guards its lists; lock order is client->lock, then the
 * engine's lock. Since the pins of an asynchronous request outlive the
 * call for as long as the shared queue takes, they are bounded twice
 * before anything is pinned (xfer_hold): per fd by max_inflight_mb
 * (EAGAIN), per user by RLIMIT_MEMLOCK (ENOMEM, the count buffers from
 * outside the memory cgroup are charged to).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/capability.h>
#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/dma-direct.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "fault.h"

/* user memory within one page */
struct user_run {
	struct page *page;
	u32 off;
	u32 len;
};

struct xfer_side {
	struct file *file;		/* holds the buffer, or NULL */
	struct dmakit_buffer *buf;
	struct page *page;		/* a kernel page instead of a buffer */
	bool own_page;			/* ... allocated for the request */
	struct page **kpages;		/* copy path over several pages, own */
	unsigned int nkpages;
	struct user_run *runs;		/* user memory instead of a buffer */
	unsigned int nruns;
	struct page **upages;		/* the pages pinned for it, or NULL */
	unsigned int nupages;
	unsigned int nrefs;		/* runs 0.. whose page we hold (bvec) */
	u64 off;
	enum dma_data_direction dir;
	bool single;			/* dma_map_single/page, else sgt */
	bool by_page;			/* ... dma_map_page */
	bool coherent;			/* coherent buffer: no mapping */
	bool imported;			/* a dma-buf: @imp, its exporter maps */
	struct dmakit_import imp;
	bool mapped;
	dma_addr_t dma;
	struct sg_table sgt;
	unsigned int sg_entries;
	unsigned int dma_segments;
	unsigned int bounced;
};

/* segments a request holds without an allocation of their own */
#define XFER_INLINE_SEGS	8

struct xfer_req {
	struct dmakit_req req;
	struct dmakit_engine *eng;
	struct dmakit_client *client;	/* asynchronous owner, or NULL */
	struct kiocb *iocb;		/* asynchronous read/write, or NULL */
	bool copied;			/* user memory through a kernel page */
	/*
	 * The submitter has CAP_SYS_ADMIN: decided in its context, since the
	 * result is filled in the engine's worker, whose credentials are root's.
	 */
	bool privileged;
	struct list_head client_node;	/* client->pending / completed */
	struct completion done;		/* synchronous: released */
	u64 len;
	u32 dev_off;
	u32 dir;
	bool staged;
	unsigned int nsides;
	struct xfer_side side[2];
	void *stage;			/* staged: the dma_pool chunk */
	dma_addr_t stage_dma;
	u64 map_ns, unmap_ns;		/* time in prepare / finish */
	struct dmakit_seg inline_segs[XFER_INLINE_SEGS];
	bool stray;			/* DMAKIT_IOC_EDU_STRAY */
	dma_addr_t stray_addr;
	struct dmakit_client *holder;	/* asynchronous: whose room @held is */
	unsigned long held;		/* pages counted in holder->inflight */
	struct user_struct *locked_user; /* @locked pinned pages charged to */
	unsigned long locked;
	struct dmakit_xfer_result result;
};

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

/* the dma_map fault-injection point (fault.c): must this mapping call fail? */
static bool fault_dma_map_hit(void)
{
	return dmakit_should_fail(&dmakit_fault_dma_map);
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
static bool run_continues(const struct user_run *p, const struct user_run *r,
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
static int side_build_runs_sgt(struct xfer_side *s, unsigned int max_seg)
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
static int xfer_alloc_segs(struct xfer_req *xr, size_t max)
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

static int xfer_build_segs(struct xfer_req *xr)
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

/* the staging page: the CPU owns it between these two calls */
static void *stage_page_cpu(struct dmakit_engine *eng)
{
	dma_sync_single_for_cpu(eng->dev, eng->stage_page_dma, PAGE_SIZE,
				DMA_BIDIRECTIONAL);
	return page_address(eng->stage_page);
}

static void stage_page_device(struct dmakit_engine *eng)
{
	dma_sync_single_for_device(eng->dev, eng->stage_page_dma, PAGE_SIZE,
				   DMA_BIDIRECTIONAL);
}

/*
 * The driver's own DMA memory for the request that is starting, @xr->len
 * bytes: a dma_pool block up to DMAKIT_STAGE_MAX (coherent), the engine's
 * staging page above (streaming; only the running request uses it, so no
 * lock). Sets xr->stage (the block, or NULL for the page) and stage_dma.
 */
static int stage_take(struct xfer_req *xr)
{
	struct dmakit_engine *eng = xr->eng;

	if (xr->len > DMAKIT_STAGE_MAX) {
		xr->stage_dma = eng->stage_page_dma;
		return 0;
	}
	if (!fault_dma_map_hit())
		xr->stage = dma_pool_alloc(eng->stage_pool, GFP_KERNEL,
					   &xr->stage_dma);
	return xr->stage ? 0 : -ENOMEM;
}

/* the CPU's address of it: the CPU owns it until stage_device() */
static void *stage_cpu(struct xfer_req *xr)
{
	return xr->stage ?: stage_page_cpu(xr->eng);
}

static void stage_device(struct xfer_req *xr)
{
	if (!xr->stage)
		stage_page_device(xr->eng);
}

static void stage_give_back(struct xfer_req *xr)
{
	if (xr->stage)
		dma_pool_free(xr->eng->stage_pool, xr->stage, xr->stage_dma);
	xr->stage = NULL;
}

/* staged: one segment from/to memory the CPU fills or empties */
static int xfer_prepare_staged(struct xfer_req *xr)
{
	struct xfer_side *s = &xr->side[0];
	struct dmakit_req *req = &xr->req;
	bool to_device = xr->dir == DMAKIT_DIR_TO_DEVICE;

	if (xfer_alloc_segs(xr, 1) || stage_take(xr))
		return -ENOMEM;
	if (to_device) {
		dmakit_buffer_copy_kernel(s->buf, s->off, stage_cpu(xr),
					  xr->len, false);
		stage_device(xr);
	}
	req->segs[0].bus = xr->stage_dma;
	req->segs[0].dev_off = xr->dev_off;
	req->segs[0].len = xr->len;
	req->segs[0].to_device = to_device;
	req->nsegs = 1;
	s->dma_segments = 1;
	return 0;
}

static void xfer_finish_staged(struct xfer_req *xr)
{
	struct xfer_side *s = &xr->side[0];

	if (xr->dir == DMAKIT_DIR_FROM_DEVICE && !xr->req.status) {
		dmakit_buffer_copy_kernel(s->buf, s->off, stage_cpu(xr),
					  xr->len, true);
		stage_device(xr);
	}
	stage_give_back(xr);
}

/*
 * stray: 0x3c bytes of our own DMA memory (what a staged transfer of that
 * length uses) -> window -> an address nobody mapped
 */
static int xfer_prepare_stray(struct xfer_req *xr)
{
	struct dmakit_req *req = &xr->req;

	if (xfer_alloc_segs(xr, 2) || stage_take(xr))
		return -ENOMEM;
	memset(stage_cpu(xr), 0x3c, xr->len);
	stage_device(xr);
	req->segs[0] = (struct dmakit_seg){ .bus = xr->stage_dma,
		.len = xr->len, .to_device = true };
	req->segs[1] = (struct dmakit_seg){ .bus = xr->stray_addr,
		.len = xr->len, .to_device = false };
	req->nsegs = 2;
	return 0;
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

static int xfer_prepare(struct dmakit_req *req)
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

/*
 * Give pinned user pages back, dirty if the device may have written them,
 * and the references taken on bvec pages (whose owner dirties them).
 */
static void side_unpin(struct xfer_side *s)
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
static bool client_has_room(const struct dmakit_client *client,
			    unsigned long pages)
{
	unsigned long max = (unsigned long)READ_ONCE(max_inflight_mb) <<
			    (20 - PAGE_SHIFT);

	return !client->inflight ||
	       (pages <= max && client->inflight <= max - pages);
}

/* what poll reports while the fd has room for one more request */
#define CLIENT_POLL_ROOM (EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM)

/*
 * Give @xr's pages back to its fd's room, and tell poll when there is room
 * for the request that waits (keyed: a waiter woken without room, such as
 * io_uring's, would try again and fail)
 */
static void xfer_unhold(struct xfer_req *xr)
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
static void xfer_uncharge(struct xfer_req *xr)
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
static int xfer_hold(struct dmakit_client *client, struct xfer_req *xr,
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

static void xfer_finish(struct dmakit_req *req)
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

static void xfer_req_free(struct xfer_req *xr);

static void xfer_release(struct dmakit_req *req)
{
	struct xfer_req *xr = container_of(req, struct xfer_req, req);
	struct dmakit_client *client = xr->client;

	xfer_fill_result(xr);
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

static struct xfer_req *xfer_req_alloc(struct dmakit_engine *eng)
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
static void xfer_req_free(struct xfer_req *xr)
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

/* Run a request and wait for it; a signal cancels it (see the uapi). */
static int xfer_run_sync(struct xfer_req *xr)
{
	int err;

	err = dmakit_engine_submit(xr->eng, &xr->req);
	if (err)
		return err;
	if (wait_for_completion_interruptible(&xr->done)) {
		dmakit_engine_cancel(xr->eng, &xr->req);
		wait_for_completion(&xr->done);
	}
	return xr->req.status;
}

/*
 * The buffer behind @fd, with its file held in @s; or the dma-buf behind
 * it, attached to @dev.
 */
static int side_get(struct xfer_side *s, struct device *dev, int fd, u64 off,
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
		return dmakit_import_get(&s->imp, fd, dev, off, len, written);
	}
	if (written && !(s->file->f_mode & FMODE_WRITE))
		return -EBADF;	/* as write(2) on a read-only fd */
	if (check_add_overflow(off, len, &end) || end > s->buf->size)
		return -EINVAL;
	if (s->buf->kind == DMAKIT_KIND_COHERENT) {
		/* another device's coherent memory has no bus address here */
		if (s->buf->dma_dev != dev)
			return -EINVAL;
		s->coherent = true;
	}
	s->off = off;
	s->dir = written ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	return 0;
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

/* the memory a side names: a buffer, or what a dma-buf is */
static const void *side_memory(const struct xfer_side *s)
{
	return s->imported ? dmakit_import_memory(&s->imp) : s->buf;
}

static int xfer_get_sides(struct xfer_req *xr, const struct dmakit_xfer *arg)
{
	struct xfer_side *src = &xr->side[0], *dst = &xr->side[1];
	int err;

	xr->nsides = 1;
	err = side_get(src, xr->eng->dev, arg->fd, arg->offset, arg->len,
		       arg->dir == DMAKIT_DIR_FROM_DEVICE);
	if (err || arg->dir != DMAKIT_DIR_COPY)
		return err;
	xr->nsides = 2;
	err = side_get(dst, xr->eng->dev, arg->dst_fd, arg->dst_offset,
		       arg->len, true);
	if (err)
		return err;
	/* chunks would overwrite source bytes not yet sent */
	if (side_memory(src) == side_memory(dst) &&
	    src->off < dst->off + arg->len && dst->off < src->off + arg->len)
		return -EINVAL;
	return 0;
}

/*
 * Queue @xr as an asynchronous request of @client; on success the client
 * owns it and *@id is its number, on error the caller still does.
 */
static int xfer_submit_async(struct dmakit_client *client, struct xfer_req *xr,
			     u64 *id)
{
	int err;

	spin_lock(&client->lock);
	if (client->closing || client->outstanding >= DMAKIT_XFER_MAX_ASYNC) {
		spin_unlock(&client->lock);
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
	return err;
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

/**
 * dmakit_stage_pool_create() - the engine's staging memory: a pool of
 * DMAKIT_STAGE_MAX-byte chunks aligned to DMAKIT_STAGE_ALIGN, never
 * crossing a DMAKIT_STAGE_BOUNDARY, and one page streaming-mapped for the
 * engine's life.
 * @eng: the engine, initialised; its device's DMA mask is set.
 *
 * Return: 0, -ENOMEM or -EIO (the page cannot be mapped).
 */
int dmakit_stage_pool_create(struct dmakit_engine *eng)
{
	struct device *dev = eng->dev;
	/* below the mask by construction: no bounce buffer for it */
	gfp_t zone = dma_get_mask(dev) < DMA_BIT_MASK(32) ? GFP_DMA : GFP_DMA32;

	eng->stage_page = alloc_page(GFP_KERNEL | __GFP_ZERO | zone);
	if (!eng->stage_page)
		return -ENOMEM;
	eng->stage_page_dma = dma_map_page(dev, eng->stage_page, 0, PAGE_SIZE,
					   DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, eng->stage_page_dma)) {
		__free_page(eng->stage_page);
		return -EIO;
	}
	eng->stage_pool = dma_pool_create(eng->name, dev, DMAKIT_STAGE_MAX,
					  DMAKIT_STAGE_ALIGN,
					  DMAKIT_STAGE_BOUNDARY);
	if (!eng->stage_pool) {
		dma_unmap_page(dev, eng->stage_page_dma, PAGE_SIZE,
			       DMA_BIDIRECTIONAL);
		__free_page(eng->stage_page);
		return -ENOMEM;
	}
	return 0;
}

/* after dmakit_engine_stop(): no request uses the staging memory any more */
void dmakit_stage_pool_destroy(struct dmakit_engine *eng)
{
	/* a wedged device may still write there: keep it */
	if (!eng->wedged) {
		dma_pool_destroy(eng->stage_pool);
		dma_unmap_page(eng->dev, eng->stage_page_dma, PAGE_SIZE,
			       DMA_BIDIRECTIONAL);
		__free_page(eng->stage_page);
	}
	eng->stage_pool = NULL;
	eng->stage_page = NULL;
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

/**
 * dmakit_xfer_stray() - have the device write to an address that was never
 * DMA-mapped: the physical address of a canary page (DMAKIT_IOC_EDU_STRAY).
 * @eng:    the engine.
 * @len:    1..window bytes.
 * @addr:   out: the address given to the device.
 * @landed: out: canary bytes that changed.
 *
 * Safe on every lane: the address is a page of our own, below the DMA mask
 * (so the device cannot wrap it to someone else's memory), and behind an
 * IOMMU an IOVA that is checked to be unmapped.
 *
 * Return: the request's status; -EINVAL (len), -ENOMEM, -ERANGE (no page
 * below the mask), -EBUSY (the IOVA happens to be mapped: not stray).
 */
int dmakit_xfer_stray(struct dmakit_engine *eng, u32 len, u64 *addr,
		      u32 *landed)
{
	struct device *dev = eng->dev;
	gfp_t gfp = dma_get_mask(dev) < DMA_BIT_MASK(32) ? GFP_DMA : GFP_DMA32;
	struct xfer_req *xr;
	struct page *canary;
	u8 *p;
	int err;
	u32 i;

	if (!len || len > eng->window)
		return -EINVAL;
	canary = alloc_page(GFP_KERNEL | gfp);
	if (!canary)
		return -ENOMEM;
	*addr = page_to_phys(canary);
	if (*addr + PAGE_SIZE - 1 > dma_get_mask(dev)) {
		err = -ERANGE;
		goto out_free;
	}
	if (dmakit_dma_translated(dev) &&
	    iommu_iova_to_phys(iommu_get_domain_for_dev(dev), *addr)) {
		err = -EBUSY;
		goto out_free;
	}
	p = page_address(canary);
	memset(p, 0xc3, PAGE_SIZE);

	xr = xfer_req_alloc(eng);
	if (!xr) {
		err = -ENOMEM;
		goto out_free;
	}
	xr->stray = true;
	xr->stray_addr = *addr;
	xr->len = len;
	xr->dir = DMAKIT_DIR_COPY;
	err = xfer_run_sync(xr);
	if (xr->req.leak) {
		xfer_req_free(xr);
		return err;	/* the device may still write the canary */
	}
	xfer_req_free(xr);
	*landed = 0;
	for (i = 0; i < PAGE_SIZE; i++)
		*landed += p[i] != 0xc3;
out_free:
	__free_page(canary);
	return err;
}

/**
 * dmakit_xfer_loopback() - move @len bytes from @pages[0] through the
 * device window into @pages[1], synchronously (DMAKIT_IOC_EDU_LOOPBACK).
 * @eng:     the engine.
 * @pages:   source, destination; kernel pages of the caller.
 * @len:     1..window.
 * @dma:     out: the bus addresses the device was given.
 * @bounced: out: whether each mapping went through swiotlb.
 * @leaked:  out: the device may still write the pages (see Return).
 *
 * Return: 0, a request status, or -ETIMEDOUT with *@leaked set when the
 * device may still write the pages: the caller must not free them.
 */
int dmakit_xfer_loopback(struct dmakit_engine *eng, struct page *pages[2],
			 u32 len, dma_addr_t dma[2], bool bounced[2],
			 bool *leaked)
{
	struct xfer_req *xr;
	int err, i;

	*leaked = false;
	if (!len || len > eng->window)
		return -EINVAL;
	xr = xfer_req_alloc(eng);
	if (!xr)
		return -ENOMEM;
	xr->len = len;
	xr->dir = DMAKIT_DIR_COPY;
	xr->req.bytes = len;
	xr->nsides = 2;
	for (i = 0; i < 2; i++) {
		xr->side[i].page = pages[i];
		xr->side[i].dir = i ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	}
	err = xfer_run_sync(xr);
	for (i = 0; i < 2; i++) {
		dma[i] = xr->side[i].dma;
		bounced[i] = xr->side[i].bounced;
	}
	*leaked = xr->req.leak;
	xfer_req_free(xr);
	return err;
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
static size_t xfer_copy_max(struct dmakit_engine *eng)
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
static unsigned long iter_pages(const struct iov_iter *iter, size_t len)
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
static int side_pin_iter(struct xfer_side *s, const struct iov_iter *iter,
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
static int side_copy_in(struct xfer_req *xr, struct xfer_side *s,
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
static int side_copy_out(struct xfer_req *xr, struct xfer_side *s,
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
