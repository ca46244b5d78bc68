// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit floppy: a minimal driver for the PC floppy disk controller (an
 * 82077-compatible FDC at 0x3f0 on IRQ 6 and ISA DMA channel 2) that serves
 * drive A, a 1.44 MB 3.5" drive, as /dev/dmakit-fd0.
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

#include <linux/capability.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/iopoll.h>
#include <linux/mc146818rtc.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "fault.h"

#define FDC_NAME		"dmakit-fd0"
#define FDC_BASE		0x3f0
#define FDC_DOR			(FDC_BASE + 2)	/* digital output register */
#define FDC_MSR			(FDC_BASE + 4)	/* main status register (read) */
#define FDC_FIFO		(FDC_BASE + 5)	/* command, result (and PIO data) */
#define FDC_CCR			(FDC_BASE + 7)	/* configuration control (write) */
#define FDC_IRQ			6
#define FDC_DMA			2
#define FDC_DRIVE		0		/* drive A */

/* DOR: drive select in bits 0-1 */
#define FDC_DOR_NRESET		0x04	/* 0: controller held in reset */
#define FDC_DOR_DMAEN		0x08	/* DRQ and IRQ outputs enabled */
#define FDC_DOR_MOTOR_A		0x10
#define FDC_DOR_IDLE		(FDC_DOR_NRESET | FDC_DOR_DMAEN)
#define FDC_DOR_RUN		(FDC_DOR_IDLE | FDC_DOR_MOTOR_A | FDC_DRIVE)

/* MSR */
#define FDC_MSR_BUSY		0x10	/* a command is in progress */
#define FDC_MSR_NONDMA		0x20	/* execution phase in PIO mode */
#define FDC_MSR_DIO		0x40	/* 1: controller -> CPU */
#define FDC_MSR_RQM		0x80	/* the FIFO is ready */

/* commands */
#define FDC_CMD_SPECIFY		0x03
#define FDC_CMD_WRITE_DATA	0x05
#define FDC_CMD_READ_DATA	0x06
#define FDC_CMD_RECALIBRATE	0x07
#define FDC_CMD_SENSE_INT	0x08
#define FDC_CMD_SEEK		0x0f
#define FDC_CMD_VERSION		0x10
#define FDC_CMD_MFM		0x40	/* double density (the 1.44 MB format) */

/* ST0 */
#define FDC_ST0_IC		0xc0	/* interrupt code: 0 = normal termination */
#define FDC_ST0_IC_ABNORMAL	0x40
#define FDC_ST0_IC_INVALID	0x80
#define FDC_ST0_IC_POLLED	0xc0	/* after a reset: ready line changed */
#define FDC_ST0_SE		0x20	/* seek end */
#define FDC_ST0_EC		0x10	/* equipment check: track 0 not found */

/* SPECIFY: step rate 3 ms, head unload 240 ms; head load 2 ms, ND = 0 (DMA) */
#define FDC_SPECIFY_SRT_HUT	0xdf
#define FDC_SPECIFY_HLT_ND	0x02

/* CCR: 500 kbit/s, the data rate of a 1.44 MB medium */
#define FDC_RATE_500K		0x00
#define FDC_GAP3_RW		0x1b
#define FDC_SIZE_CODE_512	2	/* N: 128 << 2 bytes */

/* CMOS byte 0x10: drive A's type in the high nibble */
#define CMOS_FLOPPY_TYPES	0x10
#define CMOS_FLOPPY_144		4

/* answers to VERSION: 82077AA and later; NEC 765A (invalid command) */
#define FDC_VERSION_82077	0x90
#define FDC_VERSION_765A	0x80

/* how long one FIFO byte may take to be accepted or offered */
#define FDC_FIFO_POLL_US	10
#define FDC_FIFO_TIMEOUT_US	10000

#define FDC_SECTOR		DMAKIT_FLOPPY_SECTOR_SIZE
#define FDC_SECTORS		DMAKIT_FLOPPY_SECTORS
#define FDC_HEADS		DMAKIT_FLOPPY_HEADS
#define FDC_CYLINDERS		DMAKIT_FLOPPY_CYLINDERS
#define FDC_TRACK_BYTES		DMAKIT_FLOPPY_TRACK_SIZE
#define FDC_DISK_BYTES		DMAKIT_FLOPPY_DISK_SIZE

enum { FDC_OPEN };

struct dmakit_fdc {
	struct miscdevice misc;
	unsigned long flags;		/* FDC_OPEN */
	u8 version;			/* answer to VERSION */
	u8 drive_type;			/* CMOS type of drive A */

	struct mutex lock;		/* see the top of the file */
	struct dmakit_isa_buf buf;	/* one track */
	struct dmakit_isa_chan chan;	/* held while open */
	bool need_reset;		/* reset before the next command */
	int cylinder;			/* under the head; -1: unknown */
	struct dmakit_fdc_xfer last;
	u64 requests, transfers, bytes, errors, timeouts, resets, seeks;

	spinlock_t irq_lock;		/* guards irq_pending, irqs */
	bool irq_pending;
	u64 irqs;
	wait_queue_head_t irq_wait;
};

static struct dmakit_fdc *fdc_dev;

static irqreturn_t fdc_irq_handler(int irq, void *data)
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

static int fdc_command(const u8 *bytes, unsigned int n)
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

static int fdc_result(u8 *bytes, unsigned int n)
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
static int fdc_transfer(struct dmakit_fdc *fdc, u64 offset, unsigned int nsect,
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

/*
 * read()/write(): whole sectors at sector-aligned offsets, one DMA transfer
 * per track the range touches. A range reaching past the end of the disk
 * is cut there; at or beyond it, read() returns 0 and write() ENOSPC.
 */
static ssize_t fdc_rw(struct file *file, char __user *ubuf, size_t count,
		      loff_t *ppos, bool write)
{
	struct dmakit_fdc *fdc = file->private_data;
	loff_t pos = *ppos;
	size_t done = 0;
	int err = 0;

	if (!count || pos < 0 || !IS_ALIGNED(pos, FDC_SECTOR) ||
	    !IS_ALIGNED(count, FDC_SECTOR))
		return -EINVAL;
	if (pos >= FDC_DISK_BYTES)
		return write ? -ENOSPC : 0;
	count = min_t(u64, count, FDC_DISK_BYTES - pos);

	if (mutex_lock_interruptible(&fdc->lock))
		return -ERESTARTSYS;
	fdc->requests++;
	while (done < count) {
		u64 at = pos + done;
		unsigned int first = at / FDC_SECTOR % FDC_SECTORS;
		unsigned int nsect = min_t(u64, FDC_SECTORS - first,
					   (count - done) / FDC_SECTOR);
		size_t len = nsect * FDC_SECTOR;

		/* a long request stops between tracks for a dying process */
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		if (write && copy_from_user(fdc->buf.vaddr, ubuf + done, len)) {
			err = -EFAULT;
			break;
		}
		err = fdc_transfer(fdc, at, nsect, write);
		if (err)
			break;
		if (!write && copy_to_user(ubuf + done, fdc->buf.vaddr, len)) {
			err = -EFAULT;
			break;
		}
		done += len;
	}
	mutex_unlock(&fdc->lock);

	if (!done)
		return err;
	*ppos = pos + done;
	return done;
}

static ssize_t fdc_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	return fdc_rw(file, ubuf, count, ppos, false);
}

static ssize_t fdc_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	return fdc_rw(file, (char __user *)ubuf, count, ppos, true);
}

static loff_t fdc_llseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, FDC_DISK_BYTES);
}

static long fdc_info(struct dmakit_fdc *fdc, struct dmakit_fdc_info __user *uarg)
{
	struct dmakit_fdc_info info = {
		.io_base = FDC_BASE,
		.irq = FDC_IRQ,
		.dma_channel = FDC_DMA,
		.fdc_version = fdc->version,
		.drive_type = fdc->drive_type,
		.buf_size = fdc->buf.size,
		.disk_size = FDC_DISK_BYTES,
	};

	if (dmakit_sees_addresses())
		info.buf_bus = fdc->buf.bus;
	if (mutex_lock_interruptible(&fdc->lock))
		return -ERESTARTSYS;
	info.requests = fdc->requests;
	info.transfers = fdc->transfers;
	info.bytes = fdc->bytes;
	info.errors = fdc->errors;
	info.timeouts = fdc->timeouts;
	info.resets = fdc->resets;
	info.seeks = fdc->seeks;
	info.last = fdc->last;
	mutex_unlock(&fdc->lock);
	spin_lock_irq(&fdc->irq_lock);
	info.irqs = fdc->irqs;
	spin_unlock_irq(&fdc->irq_lock);

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long fdc_peek(struct dmakit_fdc *fdc, struct dmakit_fdc_peek __user *uarg)
{
	struct dmakit_fdc_peek arg;
	long err = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!arg.len || arg.len > fdc->buf.size || arg.flags ||
	    arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	if (mutex_lock_interruptible(&fdc->lock))
		return -ERESTARTSYS;
	if (copy_to_user(u64_to_user_ptr(arg.dst), fdc->buf.vaddr, arg.len))
		err = -EFAULT;
	mutex_unlock(&fdc->lock);
	return err;
}

static long fdc_dev_info(struct dmakit_fdc *fdc,
			 struct dmakit_dev_info __user *uarg)
{
	struct dmakit_dev_info info = {
		.engine = DMAKIT_ENGINE_ISA_FDC,
		.irq_mode = DMAKIT_IRQ_ISA,
		.irq = FDC_IRQ,
		.dma_mask_bits = 24,
		.hw_id = fdc->version,
	};

	strscpy(info.name, FDC_NAME, sizeof(info.name));
	snprintf(info.bus_id, sizeof(info.bus_id), "isa:%#x", FDC_BASE);
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long fdc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dmakit_fdc *fdc = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DMAKIT_IOC_DEV_INFO:
		return fdc_dev_info(fdc, uarg);
	case DMAKIT_IOC_FDC_INFO:
		return fdc_info(fdc, uarg);
	case DMAKIT_IOC_FDC_PEEK:
		return fdc_peek(fdc, uarg);
	default:
		return -ENOTTY;
	}
}

/*
 * The first open file takes IRQ 6, then DMA channel 2 (the order
 * kernel/dma.c asks for); a second open is EBUSY. The controller is reset
 * by the first request, not here, so that opening for DMAKIT_IOC_DEV_INFO
 * does not touch the hardware.
 */
static int fdc_open(struct inode *inode, struct file *file)
{
	struct dmakit_fdc *fdc = container_of(file->private_data,
					      struct dmakit_fdc, misc);
	int err;

	if (test_and_set_bit_lock(FDC_OPEN, &fdc->flags))
		return -EBUSY;
	err = request_irq(FDC_IRQ, fdc_irq_handler, 0, FDC_NAME, fdc);
	if (err) {
		pr_warn("%s: cannot take IRQ %d: %d\n", FDC_NAME, FDC_IRQ, err);
		goto err_unlock;
	}
	err = dmakit_isa_request(&fdc->chan, FDC_DMA, FDC_NAME);
	if (err) {
		pr_warn("%s: cannot take DMA channel %d: %d\n", FDC_NAME,
			FDC_DMA, err);
		goto err_free_irq;
	}

	mutex_lock(&fdc->lock);
	fdc->need_reset = true;
	mutex_unlock(&fdc->lock);
	file->private_data = fdc;
	return 0;

err_free_irq:
	free_irq(FDC_IRQ, fdc);
err_unlock:
	clear_bit_unlock(FDC_OPEN, &fdc->flags);
	return err;
}

/* No request can run: each holds a reference to the file. */
static int fdc_release(struct inode *inode, struct file *file)
{
	struct dmakit_fdc *fdc = file->private_data;

	mutex_lock(&fdc->lock);
	/* motor off; leave the controller out of reset with DMA/IRQ gated on */
	outb(FDC_DOR_IDLE, FDC_DOR);
	mutex_unlock(&fdc->lock);
	dmakit_isa_free(&fdc->chan);
	free_irq(FDC_IRQ, fdc);
	clear_bit_unlock(FDC_OPEN, &fdc->flags);
	return 0;
}

static const struct file_operations fdc_fops = {
	.owner = THIS_MODULE,
	.open = fdc_open,
	.release = fdc_release,
	.read = fdc_read,
	.write = fdc_write,
	.llseek = fdc_llseek,
	.unlocked_ioctl = fdc_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/*
 * Is there a controller at FDC_BASE? Nothing decodes the ports on a
 * machine without one and they read 0xff. A controller that is not ready
 * for a command is reset first (DRQ/IRQ gated off: no interrupt handler
 * is installed yet). It must answer VERSION.
 */
static int fdc_probe_controller(u8 *version)
{
	u8 msr = inb(FDC_MSR);
	u8 cmd = FDC_CMD_VERSION;
	int err;

	if (msr == 0xff)
		return -ENODEV;
	if ((msr & (FDC_MSR_RQM | FDC_MSR_DIO | FDC_MSR_BUSY)) != FDC_MSR_RQM) {
		outb(0, FDC_DOR);
		usleep_range(20, 40);
		outb(FDC_DOR_NRESET, FDC_DOR);
	}
	err = fdc_command(&cmd, 1);
	if (!err)
		err = fdc_result(version, 1);
	if (err)
		return -ENODEV;
	if (*version != FDC_VERSION_82077 && *version != FDC_VERSION_765A) {
		pr_info("fd: the device at %#x answers VERSION with %#04x, not a floppy controller\n",
			FDC_BASE, *version);
		return -ENODEV;
	}
	return 0;
}

static u8 fdc_cmos_drive_a(void)
{
	unsigned long flags;
	u8 types;

	spin_lock_irqsave(&rtc_lock, flags);
	types = CMOS_READ(CMOS_FLOPPY_TYPES);
	spin_unlock_irqrestore(&rtc_lock, flags);
	return types >> 4;
}

/**
 * dmakit_fdc_init - find the floppy controller and create /dev/dmakit-fd0.
 *
 * A machine without a controller, or without a 1.44 MB drive A, or whose
 * controller another driver holds, gets no node (the kernel log says
 * why); that is not an error.
 *
 * Return: 0, or a negative errno if the node could not be created.
 */
int dmakit_fdc_init(void)
{
	struct dmakit_fdc *fdc;
	u8 version, type;
	int err;

	/* 0x3f6 is not ours: the IDE controller's alternate status */
	if (!request_region(FDC_DOR, 4, FDC_NAME)) {
		pr_info("fd: I/O ports %#x-%#x are taken (by floppy.ko?): no %s\n",
			FDC_DOR, FDC_FIFO, FDC_NAME);
		return 0;
	}
	if (!request_region(FDC_CCR, 1, FDC_NAME)) {
		pr_info("fd: I/O port %#x is taken: no %s\n", FDC_CCR, FDC_NAME);
		err = 0;
		goto release_dor;
	}
	if (fdc_probe_controller(&version)) {
		pr_info("fd: no floppy controller at %#x: no %s\n", FDC_BASE,
			FDC_NAME);
		err = 0;
		goto release_ccr;
	}
	type = fdc_cmos_drive_a();
	if (type != CMOS_FLOPPY_144) {
		pr_info("fd: floppy controller %#04x at %#x, but drive A is not a 1.44 MB drive (CMOS type %u): no %s\n",
			version, FDC_BASE, type, FDC_NAME);
		err = 0;
		goto release_ccr;
	}

	fdc = kzalloc(sizeof(*fdc), GFP_KERNEL);
	if (!fdc) {
		err = -ENOMEM;
		goto release_ccr;
	}
	fdc->version = version;
	fdc->drive_type = type;
	fdc->cylinder = -1;
	mutex_init(&fdc->lock);
	spin_lock_init(&fdc->irq_lock);
	init_waitqueue_head(&fdc->irq_wait);

	err = dmakit_isa_buf_alloc(&fdc->buf, FDC_TRACK_BYTES);
	if (err) {
		pr_err("fd: no ISA DMA buffer of %u bytes: %d\n",
		       FDC_TRACK_BYTES, err);
		goto err_free;
	}

	fdc->misc.minor = MISC_DYNAMIC_MINOR;
	fdc->misc.name = FDC_NAME;
	fdc->misc.fops = &fdc_fops;
	err = misc_register(&fdc->misc);
	if (err)
		goto err_free_buf;

	fdc_dev = fdc;
	dmakit_device_added();
	pr_info("%s: floppy controller %#04x at %#x, drive A 1.44 MB, IRQ %d, ISA DMA channel %d, %zu-byte DMA buffer\n",
		FDC_NAME, version, FDC_BASE, FDC_IRQ, FDC_DMA, fdc->buf.size);
	return 0;

err_free_buf:
	dmakit_isa_buf_free(&fdc->buf);
err_free:
	kfree(fdc);
	/* no node (err 0) or a failure */
release_ccr:
	release_region(FDC_CCR, 1);
release_dor:
	release_region(FDC_DOR, 4);
	return err;
}

/**
 * dmakit_fdc_exit - remove /dev/dmakit-fd0 and give back what it held.
 */
void dmakit_fdc_exit(void)
{
	struct dmakit_fdc *fdc = fdc_dev;

	if (!fdc)
		return;
	dmakit_device_removed();
	misc_deregister(&fdc->misc);
	fdc_dev = NULL;
	dmakit_isa_buf_free(&fdc->buf);
	kfree(fdc);
	release_region(FDC_CCR, 1);
	release_region(FDC_DOR, 4);
}
