// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit ISA DMA: a channel of the PC's 8237 DMA controllers and the buffer
 * it moves data through, with the kernel's <asm/dma.h> API.
 *
 * An ISA device does not master the bus. It raises DREQ on its channel and
 * the 8237, programmed beforehand by the driver with a mode, an address and
 * a count, performs the memory cycles itself, one byte per DACK, until the
 * count runs out (terminal count). The 8237 has 16 address bits plus an
 * 8-bit page register per channel that does not take part in counting: it
 * reaches the first 16 MiB of memory only, and a transfer must not cross a
 * 64 KiB boundary. Channels 0-3 move bytes, at most 64 KiB per transfer.
 *
 * The buffer comes from __get_dma_pages(), i.e. ZONE_DMA (below 16 MiB),
 * and as a buddy-allocator block of order n it is aligned to its own size:
 * a block of at most 64 KiB cannot straddle a 64 KiB boundary. Both
 * properties hold by construction and are checked anyway.
 *
 * Locking: the 8237's registers are shared by its four channels (the byte
 * flip-flop, the mask and mode registers), so every access is made under
 * claim_dma_lock() (the kernel's dma_spin_lock, interrupts off), as the
 * header asks. A channel belongs to whoever holds it by request_dma(); the
 * holder serialises its own use of the channel and of the buffer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sizes.h>

#include <asm/dma.h>

#include "dmakit.h"

/* what channels 0-3 of the 8237 can address */
#define ISA_DMA_LIMIT		SZ_16M
#define ISA_DMA_BOUNDARY	SZ_64K

/**
 * dmakit_isa_reachable - can the 8237 move @len bytes at bus address @bus?
 * @bus: ISA bus address of the first byte.
 * @len: bytes, at least 1.
 *
 * Return: true if the range lies below 16 MiB and within one 64 KiB page.
 */
bool dmakit_isa_reachable(unsigned long bus, size_t len)
{
	unsigned long last;

	if (!len || check_add_overflow(bus, len - 1, &last))
		return false;
	return last < ISA_DMA_LIMIT &&
	       bus / ISA_DMA_BOUNDARY == last / ISA_DMA_BOUNDARY;
}

/**
 * dmakit_isa_buf_alloc - allocate a buffer the 8237 can reach.
 * @buf:  filled in.
 * @size: bytes, 1..64 KiB.
 *
 * Return: 0; -EINVAL for a size the 8237 cannot move at once; -ENOMEM if
 * ZONE_DMA has no free block of that order; -ERANGE if the block is not
 * reachable after all (a broken allocator, never seen).
 */
int dmakit_isa_buf_alloc(struct dmakit_isa_buf *buf, size_t size)
{
	unsigned int order;
	unsigned long addr;

	if (!size || size > ISA_DMA_BOUNDARY)
		return -EINVAL;
	order = get_order(size);
	/* zeroed: what it shows before the first transfer (FDC_PEEK) */
	addr = __get_dma_pages(GFP_KERNEL | __GFP_ZERO, order);
	if (!addr)
		return -ENOMEM;
	buf->vaddr = (void *)addr;
	buf->bus = isa_virt_to_bus(buf->vaddr);
	buf->size = size;
	buf->order = order;
	if (!dmakit_isa_reachable(buf->bus, PAGE_SIZE << order)) {
		pr_err("ISA DMA buffer at bus %#lx (order %u) is out of the 8237's reach\n",
		       buf->bus, order);
		free_pages(addr, order);
		buf->vaddr = NULL;
		return -ERANGE;
	}
	return 0;
}

/**
 * dmakit_isa_buf_free - free a buffer from dmakit_isa_buf_alloc().
 * @buf: the buffer; no channel may be programmed with it any more.
 */
void dmakit_isa_buf_free(struct dmakit_isa_buf *buf)
{
	free_pages((unsigned long)buf->vaddr, buf->order);
	buf->vaddr = NULL;
}

/**
 * dmakit_isa_request - take an 8-bit ISA DMA channel (request_dma()).
 * @chan:  filled in.
 * @dmanr: channel number, 0..3.
 * @name:  owner shown in /proc/dma; must stay valid while the channel is held.
 *
 * The channel starts masked.
 *
 * Return: 0; -EINVAL for a 16-bit or unknown channel; -EBUSY if another
 * driver holds it.
 */
int dmakit_isa_request(struct dmakit_isa_chan *chan, unsigned int dmanr,
		       const char *name)
{
	unsigned long flags;
	int err;

	/* 16-bit channels count words: not what the byte counts here mean */
	if (dmanr > 3)
		return -EINVAL;
	err = request_dma(dmanr, name);
	if (err)
		return err;
	chan->dmanr = dmanr;
	flags = claim_dma_lock();
	disable_dma(dmanr);
	release_dma_lock(flags);
	return 0;
}

/**
 * dmakit_isa_free - mask the channel and give it back (free_dma()).
 * @chan: a channel taken with dmakit_isa_request().
 */
void dmakit_isa_free(struct dmakit_isa_chan *chan)
{
	unsigned long flags;

	flags = claim_dma_lock();
	disable_dma(chan->dmanr);
	release_dma_lock(flags);
	free_dma(chan->dmanr);
}

/**
 * dmakit_isa_program - set up a transfer between @buf and a device.
 * @chan:      the channel, held.
 * @buf:       memory side of the transfer (its start).
 * @len:       bytes, 1..@buf->size.
 * @to_device: memory -> device (DMA_MODE_WRITE) if true, device -> memory
 *             (DMA_MODE_READ) otherwise: the 8237 names directions from
 *             memory's point of view.
 * @unmask:    enable the channel; false leaves it masked (the
 *             fdc_mask_channel fault-injection point: the device's requests
 *             are then never served).
 * @mode:      out: the mode byte written (DMA_MODE_* | channel).
 *
 * The channel is masked while it is programmed: disable, clear the
 * flip-flop, mode, address, count, then enable. The device starts the
 * transfer later by raising DREQ.
 *
 * Return: the residue read back once armed (the full @len: nothing has
 * moved yet), or -EINVAL if @len does not fit the buffer.
 */
int dmakit_isa_program(struct dmakit_isa_chan *chan,
		       const struct dmakit_isa_buf *buf, size_t len,
		       bool to_device, bool unmask, u8 *mode)
{
	unsigned int n = chan->dmanr;
	char dir = to_device ? DMA_MODE_WRITE : DMA_MODE_READ;
	unsigned long flags;
	int residue;

	if (!len || len > buf->size || !dmakit_isa_reachable(buf->bus, len))
		return -EINVAL;
	*mode = dir | n;

	flags = claim_dma_lock();
	disable_dma(n);
	clear_dma_ff(n);
	set_dma_mode(n, dir);
	set_dma_addr(n, buf->bus);
	set_dma_count(n, len);
	if (unmask)
		enable_dma(n);
	clear_dma_ff(n);
	residue = get_dma_residue(n);
	release_dma_lock(flags);
	return residue;
}

/**
 * dmakit_isa_stop - mask the channel and read how much was left to move.
 * @chan: the channel, held.
 *
 * Return: the residue: 0 after a transfer that ran to its terminal count,
 * the programmed count if the device moved nothing.
 */
unsigned int dmakit_isa_stop(struct dmakit_isa_chan *chan)
{
	unsigned int n = chan->dmanr;
	unsigned long flags;
	unsigned int residue;

	flags = claim_dma_lock();
	disable_dma(n);
	clear_dma_ff(n);
	residue = get_dma_residue(n);
	release_dma_lock(flags);
	return residue;
}
