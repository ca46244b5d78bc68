// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit floppy: a minimal driver for the PC floppy disk controller (an
 * 82077-compatible FDC at 0x3f0 on IRQ 6 and ISA DMA channel 2) that serves
 * drive A, a 1.44 MB 3.5" drive, as /dev/dmakit-fd0. This file holds the
 * controller's command sequences (reset, seek, one track's transfer and its
 * result phase); fdc_node.c the node, its file operations and the probe.
 * The node is the floppy's own, not a generic device node: a request
 * is a command sequence around one 8237 transfer, made synchronously under
 * fdc->lock, with no segment queue, window or device memory to map; it
 * shares the module's device count, timeout_ms and the address policy.
 *
 * Sectors move between the disk and memory only through the 8237 (isa.c):
 * read() and write() at 512-byte-aligned offsets copy them between user
 * memory and the driver's ISA DMA buffer, one DMA transfer per track, or
 * per part of a track when a request covers only that.
 *
 * The controller (Intel 82077AA datasheet; QEMU's hw/block/fdc.c): a
 * command and its parameters are written byte by byte to the FIFO whenever
 * the main status register shows RQM without DIO; result bytes are read
 * whenever it shows RQM and DIO. A reset, SEEK and RECALIBRATE end with an
 * interrupt that SENSE INTERRUPT STATUS answers; READ DATA and WRITE DATA
 * end with an interrupt and seven result bytes (ST0 ST1 ST2 C H R N). The
 * data phase in between is the 8237's business: the controller raises DREQ
 * and the 8237 moves the bytes until its count runs out.
 *
 * Resources: the I/O ports from probe (module load) to unload; IRQ 6 and
 * DMA channel 2 only while the node is open, as LDD3 advises (taken in
 * that order, given back in reverse), so an idle driver keeps them from
 * no one; the ISA DMA buffer from probe to unload, since ZONE_DMA is small
 * and fragments. The node is exclusive: one open file at a time.
 *
 * Locking:
 * - fdc->lock (mutex) serialises the requests of the open file (forks and
 *   threads share it) and guards the controller's registers, the DMA
 *   buffer, the head position, need_reset, the counters and last; requests
 *   sleep with it held while they wait for an interrupt, at most
 *   timeout_ms each.
 * - fdc->irq_lock (spinlock, taken in hard-irq context) guards
 *   irq_pending and irqs.
 * - the 8237's registers: claim_dma_lock(), inside isa.c.
 * - FDC_OPEN in fdc->flags: the exclusive open (atomic bit operations).
 *
 * Lifetime: one instance, created at load if a controller with a 1.44 MB
 * drive A answers, freed at unload. An open file pins the module
 * (fops.owner), so the instance outlives every file.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "fault.h"
#include "fdc.h"

irqreturn_t fdc_irq_handler(int irq, void *data)
{
	struct dmakit_fdc *fdc = data;

	/* an ISA line is ours alone; the controller needs no ack here */
	spin_lock(&fdc->irq_lock);
	fdc->irq_pending = true;
	fdc->irqs++;
	spin_unlock(&fdc->irq_lock);
	wake_up(&fdc->irq_wait);
	return IRQ_HANDLED;
}

static void fdc_forget_irq(struct dmakit_fdc *fdc)
{
	spin_lock_irq(&fdc->irq_lock);
	fdc->irq_pending = false;
	spin_unlock_irq(&fdc->irq_lock);
}

static bool fdc_take_irq(struct dmakit_fdc *fdc)
{
	bool seen;

	spin_lock_irq(&fdc->irq_lock);
	seen = fdc->irq_pending;
	fdc->irq_pending = false;
	spin_unlock_irq(&fdc->irq_lock);
	return seen;
}

/* Wait for the interrupt of a command issued after fdc_forget_irq(). */
static int fdc_wait_irq(struct dmakit_fdc *fdc)
{
	if (!wait_event_timeout(fdc->irq_wait, fdc_take_irq(fdc),
				dmakit_engine_timeout()))
		return -ETIMEDOUT;
	return 0;
}

/* Send one command or parameter byte. */
static int fdc_out(u8 byte)
{
	u8 msr;

	if (read_poll_timeout(inb, msr,
			      (msr & (FDC_MSR_RQM | FDC_MSR_DIO)) == FDC_MSR_RQM,
			      FDC_FIFO_POLL_US, FDC_FIFO_TIMEOUT_US, false,
			      FDC_MSR))
		return -EIO;
	outb(byte, FDC_FIFO);
	return 0;
}

int fdc_command(const u8 *bytes, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		err = fdc_out(bytes[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Read one result byte. */
static int fdc_in(u8 *byte)
{
	u8 msr;

	if (read_poll_timeout(inb, msr,
			      (msr & (FDC_MSR_RQM | FDC_MSR_DIO)) ==
			      (FDC_MSR_RQM | FDC_MSR_DIO),
			      FDC_FIFO_POLL_US, FDC_FIFO_TIMEOUT_US, false,
			      FDC_MSR))
		return -EIO;
	*byte = inb(FDC_FIFO);
	return 0;
}

int fdc_result(u8 *bytes, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		err = fdc_in(&bytes[i]);
		if (err)
			return err;
	}
	return 0;
}

static int fdc_sense_interrupt(u8 *st0, u8 *pcn)
{
	u8 cmd = FDC_CMD_SENSE_INT;
	u8 res[2];
	int err;

	err = fdc_command(&cmd, 1);
	if (!err)
		err = fdc_result(res, 2);
	if (err)
		return err;
	*st0 = res[0];
	*pcn = res[1];
	return 0;
}

/*
 * SEEK or RECALIBRATE (@n command bytes) and its interrupt, answered by
 * SENSE INTERRUPT STATUS: the head must be on @cylinder now.
 */
static int fdc_move_head(struct dmakit_fdc *fdc, const char *what,
			 const u8 *cmd, unsigned int n, unsigned int cylinder)
{
	u8 st0, pcn;
	int err;

	fdc->cylinder = -1;
	fdc_forget_irq(fdc);
	err = fdc_command(cmd, n);
	if (err)
		return err;
	err = fdc_wait_irq(fdc);
	if (err)
		return err;
	err = fdc_sense_interrupt(&st0, &pcn);
	if (err)
		return err;
	/* seek end, normal termination, no equipment check */
	if ((st0 & (FDC_ST0_IC | FDC_ST0_SE | FDC_ST0_EC)) != FDC_ST0_SE ||
	    pcn != cylinder) {
		pr_warn_ratelimited("%s: %s to cylinder %u ends on %u (ST0 %#04x)\n",
				    FDC_NAME, what, cylinder, pcn, st0);
		return -EIO;
	}
	fdc->cylinder = cylinder;
	return 0;
}

static int fdc_recalibrate(struct dmakit_fdc *fdc)
{
	const u8 cmd[] = { FDC_CMD_RECALIBRATE, FDC_DRIVE };
	int err;

	/* a real drive steps at most 77 times per RECALIBRATE: try twice */
	err = fdc_move_head(fdc, "recalibrate", cmd, sizeof(cmd), 0);
	if (err == -EIO)
		err = fdc_move_head(fdc, "recalibrate", cmd, sizeof(cmd), 0);
	return err;
}

static int fdc_seek(struct dmakit_fdc *fdc, unsigned int cylinder,
		    unsigned int head)
{
	const u8 cmd[] = { FDC_CMD_SEEK, head << 2 | FDC_DRIVE, cylinder };

	fdc->seeks++;
	return fdc_move_head(fdc, "seek", cmd, sizeof(cmd), cylinder);
}

/*
 * Reset the controller (which aborts whatever it was doing), then program
 * it for a 1.44 MB medium in DMA mode and put the head on cylinder 0. On
 * failure need_reset stays set: the next request tries again.
 */
static int fdc_reset(struct dmakit_fdc *fdc)
{
	const u8 specify[] = { FDC_CMD_SPECIFY, FDC_SPECIFY_SRT_HUT,
			       FDC_SPECIFY_HLT_ND };
	u8 st0, pcn;
	int err, i;

	fdc->need_reset = true;
	fdc->cylinder = -1;
	fdc->resets++;
	dmakit_isa_stop(&fdc->chan);

	fdc_forget_irq(fdc);
	outb(0, FDC_DOR);
	usleep_range(20, 40);	/* the datasheet wants a few microseconds */
	outb(FDC_DOR_RUN, FDC_DOR);
	err = fdc_wait_irq(fdc);
	if (err) {
		pr_err_ratelimited("%s: no interrupt after a controller reset\n",
				   FDC_NAME);
		return -EIO;
	}
	/* one SENSE INTERRUPT STATUS per drive the reset made "ready" */
	for (i = 0; i < 4; i++) {
		err = fdc_sense_interrupt(&st0, &pcn);
		if (err)
			return err;
		if (st0 != (FDC_ST0_IC_POLLED | i)) {
			pr_err_ratelimited("%s: reset: sense %d answers ST0 %#04x\n",
					   FDC_NAME, i, st0);
			return -EIO;
		}
	}
	outb(FDC_RATE_500K, FDC_CCR);
	err = fdc_command(specify, sizeof(specify));
	if (err)
		return err;
	err = fdc_recalibrate(fdc);
	if (err)
		return err;
	fdc->need_reset = false;
	return 0;
}

/* ST1 and ST2 bits, for the kernel log */
static const struct {
	u8 st;		/* 1 or 2 */
	u8 bit;
	const char *what;
} fdc_status_bits[] = {
	{ 1, 0x80, "end of cylinder" },
	{ 1, 0x20, "CRC error" },
	{ 1, 0x10, "overrun" },
	{ 1, 0x04, "no data (sector not found)" },
	{ 1, 0x02, "not writable" },
	{ 1, 0x01, "missing address mark" },
	{ 2, 0x40, "control mark" },
	{ 2, 0x20, "CRC error in data field" },
	{ 2, 0x10, "wrong cylinder" },
	{ 2, 0x02, "bad cylinder" },
	{ 2, 0x01, "missing data address mark" },
};

/*
 * Decode the result phase of READ/WRITE DATA into an errno and, for an
 * error, a line in the kernel log naming what the controller reported.
 */
static int fdc_check_result(const struct dmakit_fdc_xfer *x)
{
	const u8 *r = x->result;
	const char *ic;
	char what[160] = "";
	size_t used = 0;
	unsigned int i;

	switch (r[0] & FDC_ST0_IC) {
	case 0:
		return 0;
	case FDC_ST0_IC_ABNORMAL:
		ic = "abnormal termination";
		break;
	case FDC_ST0_IC_INVALID:
		ic = "invalid command";
		break;
	default:
		ic = "drive not ready";
		break;
	}
	for (i = 0; i < ARRAY_SIZE(fdc_status_bits); i++) {
		u8 st = fdc_status_bits[i].st == 1 ? r[1] : r[2];

		if (st & fdc_status_bits[i].bit)
			used += scnprintf(what + used, sizeof(what) - used,
					  ", %s", fdc_status_bits[i].what);
	}
	pr_warn_ratelimited("%s: %s C%u H%u R%u-%u: %s%s (ST0 %#04x ST1 %#04x ST2 %#04x)\n",
			    FDC_NAME,
			    x->flags & DMAKIT_FDC_XFER_WRITE ? "WRITE DATA" : "READ DATA",
			    x->cylinder, x->head, x->sector, x->eot, ic, what,
			    r[0], r[1], r[2]);
	return -EIO;
}

/*
 * After a READ/WRITE DATA that stopped at EOT on a single-track command,
 * the controller points at the sector after it: C + 1, the same head,
 * sector 1, 512-byte sectors (82077AA datasheet, table "C, H, R, N after
 * the command"). Anything else means it did not do what it was told.
 */
static bool fdc_end_position_ok(const struct dmakit_fdc_xfer *x)
{
	const u8 *r = x->result;

	return r[3] == x->cylinder + 1 && r[4] == x->head && r[5] == 1 &&
	       r[6] == FDC_SIZE_CODE_512;
}

/*
 * One DMA transfer: @nsect sectors of one track from disk offset @offset,
 * between the disk and the DMA buffer. Caller holds fdc->lock.
 */
int fdc_transfer(struct dmakit_fdc *fdc, u64 offset, unsigned int nsect,
		 bool write)
{
	struct dmakit_fdc_xfer *x = &fdc->last;
	unsigned int lba = offset / FDC_SECTOR;
	unsigned int len = nsect * FDC_SECTOR;
	bool unmask, bad_sector;
	u8 cmd[9], msr;
	int err, residue;

	memset(x, 0, sizeof(*x));
	x->offset = offset;
	x->len = len;
	x->flags = write ? DMAKIT_FDC_XFER_WRITE : 0;
	x->cylinder = lba / (FDC_SECTORS * FDC_HEADS);
	x->head = lba / FDC_SECTORS % FDC_HEADS;
	x->sector = lba % FDC_SECTORS + 1;
	x->eot = x->sector + nsect - 1;

	if (fdc->need_reset) {
		err = fdc_reset(fdc);
		if (err)
			goto out;
	}
	if (fdc->cylinder != x->cylinder) {
		err = fdc_seek(fdc, x->cylinder, x->head);
		if (err)
			goto reset;
	}

	unmask = !dmakit_should_fail(&dmakit_fault_fdc_mask_channel);
	bad_sector = dmakit_should_fail(&dmakit_fault_fdc_bad_sector);
	if (bad_sector) {
		x->sector = FDC_SECTORS + 1;
		x->eot = x->sector;
	}

	/* data that did not come from the disk must not pass for it */
	if (!write)
		memset(fdc->buf.vaddr, DMAKIT_FDC_POISON, len);
	residue = dmakit_isa_program(&fdc->chan, &fdc->buf, len, write, unmask,
				     &x->dma_mode);
	if (residue < 0) {
		err = residue;
		goto out;
	}
	x->residue_before = residue;

	cmd[0] = FDC_CMD_MFM | (write ? FDC_CMD_WRITE_DATA : FDC_CMD_READ_DATA);
	cmd[1] = x->head << 2 | FDC_DRIVE;
	cmd[2] = x->cylinder;
	cmd[3] = x->head;
	cmd[4] = x->sector;
	cmd[5] = FDC_SIZE_CODE_512;
	cmd[6] = x->eot;	/* stop after the last sector wanted */
	cmd[7] = FDC_GAP3_RW;
	cmd[8] = 0xff;		/* DTL: unused with N != 0 */
	fdc->transfers++;
	fdc_forget_irq(fdc);
	err = fdc_command(cmd, sizeof(cmd));
	if (err)
		goto stop;
	err = fdc_wait_irq(fdc);
	if (err) {
		fdc->timeouts++;
		pr_warn_ratelimited("%s: %s C%u H%u R%u-%u: no interrupt within timeout_ms (DMA channel %s); resetting the controller\n",
				    FDC_NAME, write ? "WRITE DATA" : "READ DATA",
				    x->cylinder, x->head, x->sector, x->eot,
				    unmask ? "enabled" : "left masked");
		goto stop;
	}
	msr = inb(FDC_MSR);
	if (msr & FDC_MSR_NONDMA) {
		/* it chose programmed I/O: the 8237 was not used */
		pr_err_ratelimited("%s: the controller did not use DMA (MSR %#04x)\n",
				   FDC_NAME, msr);
		err = -EIO;
		goto stop;
	}
	err = fdc_result(x->result, sizeof(x->result));
	x->residue_after = dmakit_isa_stop(&fdc->chan);
	if (err)
		goto reset;

	err = fdc_check_result(x);
	if (err) {
		fdc->errors++;
		goto out;
	}
	if (x->residue_after || !fdc_end_position_ok(x)) {
		pr_err_ratelimited("%s: transfer C%u H%u R%u-%u ended with %u of %u bytes left, at C%u H%u R%u\n",
				   FDC_NAME, x->cylinder, x->head, x->sector,
				   x->eot, x->residue_after, len, x->result[3],
				   x->result[4], x->result[5]);
		fdc->errors++;
		err = -EIO;
		goto out;
	}
	fdc->bytes += len;
	goto out;

stop:
	x->residue_after = dmakit_isa_stop(&fdc->chan);
reset:
	/* the only way out of a command the controller cannot finish */
	fdc_reset(fdc);
out:
	x->status = err;
	return err;
}
