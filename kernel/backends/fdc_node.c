// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit floppy backend: the node /dev/dmakit-fd0 (read/write of whole
 * sectors, DEV_INFO, FDC_INFO, FDC_PEEK), its exclusive open holding IRQ 6
 * and DMA channel 2, and the probe at load. The controller's command
 * sequences are in fdc.c, whose header comment has the locking and the
 * lifetime of the one instance.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mc146818rtc.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "fdc.h"

static struct dmakit_fdc *fdc_dev;

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
