/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit floppy backend: what its two files share (fdc.c, the controller's
 * command sequences; fdc_node.c, the node /dev/dmakit-fd0). See fdc.c.
 */
#ifndef _DMAKIT_FDC_H
#define _DMAKIT_FDC_H

#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <uapi/dmakit.h>

#include "dmakit.h"

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

/* fdc.c: the controller */
irqreturn_t fdc_irq_handler(int irq, void *data);
int fdc_command(const u8 *bytes, unsigned int n);
int fdc_result(u8 *bytes, unsigned int n);
int fdc_transfer(struct dmakit_fdc *fdc, u64 offset, unsigned int nsect,
		 bool write);

#endif /* _DMAKIT_FDC_H */
