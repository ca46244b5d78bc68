// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit staging: the engine's own DMA memory, for transfers that map
 * nothing of the caller's.
 *
 * A staged transfer (DMAKIT_XFER_STAGED, TO/FROM_DEVICE) maps nothing: the
 * CPU copies between the buffer and the engine's own DMA memory, which the
 * device uses: up to DMAKIT_STAGE_MAX bytes a chunk of the engine's
 * dma_pool (coherent: no sync either way); above that the engine's staging
 * page, streaming-mapped once for the device's life, whose ownership is
 * handed back and forth around every CPU access with
 * dma_sync_single_for_cpu() / dma_sync_single_for_device().
 *
 * The stray test path (DMAKIT_IOC_EDU_STRAY, xfer.c) sends the same memory
 * to an address nobody mapped.
 *
 * Locking: the staging page is used only by the running request (the
 * engine runs one at a time), so it needs no lock; dma_pool has its own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/gfp.h>
#include <linux/mm.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "xfer.h"

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

void stage_give_back(struct xfer_req *xr)
{
	if (xr->stage)
		dma_pool_free(xr->eng->stage_pool, xr->stage, xr->stage_dma);
	xr->stage = NULL;
}

/* staged: one segment from/to memory the CPU fills or empties */
int xfer_prepare_staged(struct xfer_req *xr)
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

void xfer_finish_staged(struct xfer_req *xr)
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
int xfer_prepare_stray(struct xfer_req *xr)
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
