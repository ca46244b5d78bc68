// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit DMA layer: the requests behind edu's test ioctls, built on the
 * request layer (xfer.c): STRAY (the device writes where nothing was
 * mapped for it, to show what an IOMMU stops) and LOOPBACK (two pages of
 * the module's own through the device window and back, with what the
 * mapping did). backends/edu_selftest.c serves the ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "xfer.h"

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
