// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit edu engine: a PCI driver for QEMU's educational device (1234:11e8).
 *
 * One node per device, /dev/dmakit-edu<N>, served by the device core
 * (core/node.c, node.h): this backend registers it and keeps what is edu's
 * own: PCI probe and remove, the interrupt, the registers, the engine ops,
 * its extra ioctls (LIVENESS, FACTORIAL, RAISE_IRQ; the DMA test ioctls
 * LOOPBACK and STRAY are in edu_selftest.c) and
 * the description of BAR0 that the core maps. The device has a 1 MiB MMIO
 * BAR with a few registers, a factorial unit that raises an interrupt when
 * it is done, an interrupt raise/ack pair and a DMA engine whose device
 * side is a 4 KiB window at device address 0x40000 (see docs/hardware.md
 * for what QEMU 7.2 really does, including the range check that stops the
 * emulator).
 *
 * DMA goes through the engine layer (dma/engine.c): edu is its first
 * backend, with one segment at a time in the window; the interrupt handler
 * reports each segment's end to the engine, which starts the next one.
 *
 * Locking:
 * - edu->lock (mutex) serialises the register commands other than DMA
 *   (liveness, factorial, raise) and guards edu->gone; commands sleep with
 *   it held while they wait for the device (bounded by timeout_ms).
 * - edu->irq_lock (spinlock, taken in hard-irq context) guards the causes
 *   the interrupt handler collected (irq_pending) and irq_count.
 * - the DMA registers belong to the engine: they are written only under
 *   the engine's lock (engine ops).
 *
 * Lifetime: struct dmakit_edu embeds its node, whose references (the
 * registration's, one per open file) keep it: the core calls
 * edu_node_release() after the last. Removal (edu_remove()) unregisters
 * the node first, which sets edu->gone (edu_quiesce()), stops the engine,
 * zaps BAR0's user mappings and revokes the coherent buffers made on the
 * node (core/node.c says how and in which order); then the device's
 * interrupt, bus mastering and staging memory go.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "node.h"
#include "edu.h"

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

/* BAR0 registers */
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_FACTORIAL	0x08
#define EDU_REG_STATUS		0x20
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_ID_MAGIC_MASK	0xff
#define EDU_ID_MAGIC		0xed

#define EDU_STATUS_COMPUTING	0x01
#define EDU_STATUS_IRQFACT	0x80

#define EDU_DMA_START		0x1
#define EDU_DMA_FROM_DEVICE	0x2	/* device window -> RAM */
#define EDU_DMA_IRQ		0x4

#define EDU_IRQ_FACTORIAL	DMAKIT_EDU_IRQ_FACTORIAL
#define EDU_IRQ_DMA		DMAKIT_EDU_IRQ_DMA

/* device address of the DMA window */
#define EDU_WINDOW_ADDR		0x40000

static char *irq_mode = "msi";
module_param(irq_mode, charp, 0444);
MODULE_PARM_DESC(irq_mode, "edu interrupt delivery: msi (default) or intx");

static unsigned int dma_bits = 28;
module_param(dma_bits, uint, 0444);
MODULE_PARM_DESC(dma_bits,
		 "DMA address bits of the edu devices (24..64, default 28: QEMU's default dma_mask); must match -device edu,dma_mask=");

static DEFINE_IDA(edu_ida);

struct dmakit_edu {
	struct dmakit_node node;	/* the device core's: node, engine */
	struct pci_dev *pdev;		/* held */
	void __iomem *regs;
	int index;
	unsigned int irq_mode;	/* DMAKIT_IRQ_* */
	int irq;
	u32 hw_id;

	struct mutex lock;	/* serialises register commands; guards gone */
	bool gone;		/* removed from the bus: commands get ENODEV */

	spinlock_t irq_lock;	/* guards irq_pending, irq_count */
	u32 irq_pending;	/* causes acked by the handler, not yet consumed */
	u64 irq_count;
	wait_queue_head_t irq_wait;
};

static struct dmakit_edu *edu_of_node(struct dmakit_node *node)
{
	return container_of(node, struct dmakit_edu, node);
}

static struct dmakit_edu *edu_of_engine(struct dmakit_engine *eng)
{
	return container_of(eng, struct dmakit_edu, node.engine);
}

static unsigned long edu_timeout(void)
{
	return dmakit_engine_timeout();
}

static irqreturn_t edu_irq_handler(int irq, void *data)
{
	struct dmakit_edu *edu = data;
	u32 causes;

	causes = ioread32(edu->regs + EDU_REG_IRQ_STATUS);
	if (!causes)
		return IRQ_NONE;	/* INTx may be shared */
	/* INTx is level-triggered: it stays up until every cause is acked */
	iowrite32(causes, edu->regs + EDU_REG_IRQ_ACK);

	spin_lock(&edu->irq_lock);
	edu->irq_pending |= causes & ~EDU_IRQ_DMA;
	edu->irq_count++;
	spin_unlock(&edu->irq_lock);
	if (causes & EDU_IRQ_DMA)
		dmakit_engine_seg_irq(&edu->node.engine);
	if (causes & ~EDU_IRQ_DMA)
		wake_up(&edu->irq_wait);
	return IRQ_HANDLED;
}

/* Take @causes out of the pending set; true if all of them were there. */
static bool edu_take_causes(struct dmakit_edu *edu, u32 causes, u32 *seen)
{
	bool all;

	spin_lock_irq(&edu->irq_lock);
	all = (edu->irq_pending & causes) == causes;
	if (all) {
		if (seen)
			*seen = edu->irq_pending;
		edu->irq_pending &= ~causes;
	}
	spin_unlock_irq(&edu->irq_lock);
	return all;
}

/* Forget stale causes before a command that waits for them. */
static void edu_forget_causes(struct dmakit_edu *edu, u32 causes)
{
	spin_lock_irq(&edu->irq_lock);
	edu->irq_pending &= ~causes;
	spin_unlock_irq(&edu->irq_lock);
}

static u64 edu_irq_count(struct dmakit_edu *edu)
{
	u64 count;

	spin_lock_irq(&edu->irq_lock);
	count = edu->irq_count;
	spin_unlock_irq(&edu->irq_lock);
	return count;
}

/* Lock the device for a command; fails once the device is gone. */
static int edu_lock(struct dmakit_edu *edu)
{
	if (mutex_lock_interruptible(&edu->lock))
		return -ERESTARTSYS;
	if (edu->gone) {
		mutex_unlock(&edu->lock);
		return -ENODEV;
	}
	return 0;
}

static long edu_liveness(struct dmakit_edu *edu,
			 struct dmakit_edu_liveness __user *uarg)
{
	struct dmakit_edu_liveness arg;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = edu_lock(edu);
	if (err)
		return err;
	iowrite32(arg.value, edu->regs + EDU_REG_LIVENESS);
	arg.result = ioread32(edu->regs + EDU_REG_LIVENESS);
	mutex_unlock(&edu->lock);

	return copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
}

/*
 * The factorial unit ignores a write while it computes, and its interrupt
 * can arrive after the computing bit cleared, so a cause seen here may be
 * a late one from an earlier, abandoned command: the result is read only
 * once a cause was seen and the unit is idle again.
 */
static long edu_factorial(struct dmakit_edu *edu,
			  struct dmakit_edu_factorial __user *uarg)
{
	struct dmakit_edu_factorial arg;
	unsigned long deadline;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.pad)
		return -EINVAL;
	err = edu_lock(edu);
	if (err)
		return err;

	deadline = jiffies + edu_timeout();
	if (ioread32(edu->regs + EDU_REG_STATUS) & EDU_STATUS_COMPUTING) {
		err = -EBUSY;
		goto out_unlock;
	}
	edu_forget_causes(edu, EDU_IRQ_FACTORIAL);
	iowrite32(arg.n, edu->regs + EDU_REG_FACTORIAL);
	for (;;) {
		long left = deadline - jiffies;

		if (left <= 0 ||
		    !wait_event_timeout(edu->irq_wait,
					edu_take_causes(edu, EDU_IRQ_FACTORIAL,
							NULL),
					left)) {
			dev_warn(&edu->pdev->dev,
				 "%s: factorial interrupt timed out\n",
				 edu->node.name);
			err = -ETIMEDOUT;
			goto out_unlock;
		}
		if (!(ioread32(edu->regs + EDU_REG_STATUS) &
		      EDU_STATUS_COMPUTING))
			break;
	}
	arg.result = ioread32(edu->regs + EDU_REG_FACTORIAL);
	err = 0;
out_unlock:
	mutex_unlock(&edu->lock);
	if (!err && copy_to_user(uarg, &arg, sizeof(arg)))
		err = -EFAULT;
	return err;
}

static long edu_raise_irq(struct dmakit_edu *edu,
			  struct dmakit_edu_raise_irq __user *uarg)
{
	struct dmakit_edu_raise_irq arg;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!arg.causes || (arg.causes & DMAKIT_EDU_IRQ_DRIVER_MASK))
		return -EINVAL;
	err = edu_lock(edu);
	if (err)
		return err;

	arg.seen = 0;
	edu_forget_causes(edu, arg.causes);
	iowrite32(arg.causes, edu->regs + EDU_REG_IRQ_RAISE);
	if (!wait_event_timeout(edu->irq_wait,
				edu_take_causes(edu, arg.causes, &arg.seen),
				edu_timeout())) {
		dev_warn(&edu->pdev->dev, "%s: raised interrupt not delivered\n",
			 edu->node.name);
		err = -ETIMEDOUT;
	}
	arg.irq_count = edu_irq_count(edu);
	mutex_unlock(&edu->lock);

	if (!err && copy_to_user(uarg, &arg, sizeof(arg)))
		err = -EFAULT;
	return err;
}

/* engine ops: the DMA registers; called under the engine's lock */
static int edu_dma_start(struct dmakit_engine *eng, const struct dmakit_seg *seg,
			 bool irq)
{
	struct dmakit_edu *edu = edu_of_engine(eng);
	u64 window = EDU_WINDOW_ADDR + seg->dev_off;
	u64 cmd = EDU_DMA_START;

	/* the engine never builds one, and QEMU 7.2 would abort on it */
	if (WARN_ON_ONCE(!edu_window_ok(seg->dev_off, seg->len)))
		return -EINVAL;
	if (irq)
		cmd |= EDU_DMA_IRQ;
	if (!seg->to_device)
		cmd |= EDU_DMA_FROM_DEVICE;
	writeq(seg->to_device ? seg->bus : window, edu->regs + EDU_REG_DMA_SRC);
	writeq(seg->to_device ? window : seg->bus, edu->regs + EDU_REG_DMA_DST);
	writeq(seg->len, edu->regs + EDU_REG_DMA_COUNT);
	writeq(cmd, edu->regs + EDU_REG_DMA_CMD);
	return 0;
}

static bool edu_dma_busy(struct dmakit_engine *eng)
{
	struct dmakit_edu *edu = edu_of_engine(eng);

	return readq(edu->regs + EDU_REG_DMA_CMD) & EDU_DMA_START;
}

static void edu_dma_reset(struct dmakit_engine *eng)
{
	struct dmakit_edu *edu = edu_of_engine(eng);

	/* a late completion must not end the next segment */
	iowrite32(EDU_IRQ_DMA, edu->regs + EDU_REG_IRQ_ACK);
}

static const struct dmakit_engine_ops edu_engine_ops = {
	.start = edu_dma_start,
	.busy = edu_dma_busy,
	.reset = edu_dma_reset,
};

/* DMAKIT_IOC_DEV_INFO: what the core does not know of the device */
static void edu_describe(struct dmakit_node *node, struct dmakit_dev_info *info)
{
	struct dmakit_edu *edu = edu_of_node(node);
	struct pci_dev *pdev = edu->pdev;

	info->engine = DMAKIT_ENGINE_EDU;
	info->irq_mode = edu->irq_mode;
	info->irq = edu->irq;
	info->dma_mask_bits = dma_bits;
	info->vendor = pdev->vendor;
	info->device = pdev->device;
	info->revision = pdev->revision;
	info->hw_id = edu->hw_id;
	info->bar_len = pci_resource_len(pdev, 0);
	info->index = edu->index;
	strscpy(info->bus_id, pci_name(pdev), sizeof(info->bus_id));
}

/* the ioctls that are edu's own; the core serves the others */
static long edu_ioctl(struct dmakit_node *node, unsigned int cmd,
		      void __user *uarg)
{
	struct dmakit_edu *edu = edu_of_node(node);

	switch (cmd) {
	case DMAKIT_IOC_EDU_LIVENESS:
		return edu_liveness(edu, uarg);
	case DMAKIT_IOC_EDU_FACTORIAL:
		return edu_factorial(edu, uarg);
	case DMAKIT_IOC_EDU_RAISE_IRQ:
		return edu_raise_irq(edu, uarg);
	case DMAKIT_IOC_EDU_LOOPBACK:
		return dmakit_edu_loopback(&edu->node.engine, uarg);
	case DMAKIT_IOC_EDU_STRAY:
		return dmakit_edu_stray(&edu->node.engine, uarg);
	default:
		return -ENOTTY;
	}
}

/* removal: wait for the running command; later ones see gone */
static void edu_quiesce(struct dmakit_node *node)
{
	struct dmakit_edu *edu = edu_of_node(node);

	mutex_lock(&edu->lock);
	edu->gone = true;
	mutex_unlock(&edu->lock);
}

/* the node's last reference went */
static void edu_node_release(struct dmakit_node *node)
{
	struct dmakit_edu *edu = edu_of_node(node);

	pci_dev_put(edu->pdev);
	kfree(edu);
}

static const struct dmakit_node_ops edu_node_ops = {
	.engine = &edu_engine_ops,
	.ioctl = edu_ioctl,
	.describe = edu_describe,
	.quiesce = edu_quiesce,
	.release = edu_node_release,
};

static unsigned int edu_irq_mode_param(void)
{
	if (sysfs_streq(irq_mode, "msi"))
		return DMAKIT_IRQ_MSI;
	if (sysfs_streq(irq_mode, "intx"))
		return DMAKIT_IRQ_INTX;
	return 0;
}

static int edu_setup_irq(struct dmakit_edu *edu)
{
	struct pci_dev *pdev = edu->pdev;
	unsigned int type = edu->irq_mode == DMAKIT_IRQ_MSI ? PCI_IRQ_MSI :
							       PCI_IRQ_INTX;
	int err;

	err = pci_alloc_irq_vectors(pdev, 1, 1, type);
	if (err < 0)
		return err;
	edu->irq = pci_irq_vector(pdev, 0);

	/* nothing may be pending from an earlier driver */
	iowrite32(~0U, edu->regs + EDU_REG_IRQ_ACK);
	err = request_irq(edu->irq, edu_irq_handler,
			  edu->irq_mode == DMAKIT_IRQ_INTX ? IRQF_SHARED : 0,
			  edu->node.name, edu);
	if (err) {
		pci_free_irq_vectors(pdev);
		return err;
	}
	return 0;
}

static void edu_teardown_irq(struct dmakit_edu *edu)
{
	free_irq(edu->irq, edu);
	pci_free_irq_vectors(edu->pdev);
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct dmakit_edu *edu;
	int err;

	edu = kzalloc_obj(*edu, GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pci_dev_get(pdev);
	edu->irq_mode = edu_irq_mode_param();
	mutex_init(&edu->lock);
	spin_lock_init(&edu->irq_lock);
	init_waitqueue_head(&edu->irq_wait);
	/* from here on the node's reference frees edu (edu_node_release()) */
	err = dmakit_node_init(&edu->node, &edu_node_ops, dev);
	if (err)
		goto err_put;

	edu->index = ida_alloc(&edu_ida, GFP_KERNEL);
	if (edu->index < 0) {
		err = edu->index;
		goto err_put;
	}
	snprintf(edu->node.name, sizeof(edu->node.name), "dmakit-edu%d",
		 edu->index);

	err = pcim_enable_device(pdev);
	if (err)
		goto err_free_index;
	edu->regs = pcim_iomap_region(pdev, 0, edu->node.name);
	if (IS_ERR(edu->regs)) {
		err = PTR_ERR(edu->regs);
		goto err_free_index;
	}

	edu->hw_id = ioread32(edu->regs + EDU_REG_ID);
	if ((edu->hw_id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC) {
		dev_err(dev, "identification register reads %#x, not an edu device\n",
			edu->hw_id);
		err = -ENODEV;
		goto err_free_index;
	}

	err = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(dma_bits));
	if (err) {
		dev_err(dev, "cannot use a %u-bit DMA mask: %d\n", dma_bits,
			err);
		goto err_free_index;
	}
	/*
	 * The engine cuts every DMA segment to the window, so the device takes
	 * any length; but swiotlb, where it bounces for this device, maps at
	 * most 256 KiB at a time: tell the sg builders.
	 */
	dma_set_max_seg_size(dev, min_t(size_t, UINT_MAX,
					dma_max_mapping_size(dev)));
	err = dmakit_node_dma_init(&edu->node, DMAKIT_EDU_WINDOW_MAX);
	if (err)
		goto err_free_index;
	pci_set_master(pdev);

	err = edu_setup_irq(edu);
	if (err) {
		dev_err(dev, "cannot set up %s interrupt: %d\n", irq_mode, err);
		goto err_clear_master;
	}
	/* the factorial unit reports completion by interrupt */
	iowrite32(EDU_STATUS_IRQFACT, edu->regs + EDU_REG_STATUS);

	/* BAR0, for the core's mmap of the node */
	edu->node.mem.start = pci_resource_start(pdev, 0);
	edu->node.mem.len = pci_resource_len(pdev, 0);
	err = dmakit_node_register(&edu->node);
	if (err)
		goto err_stop_device;

	pci_set_drvdata(pdev, edu);
	dev_info(dev, "%s: edu %u.%u, %s irq %d, %u-bit DMA%s\n",
		 edu->node.name, edu->hw_id >> 24, (edu->hw_id >> 16) & 0xff,
		 edu->irq_mode == DMAKIT_IRQ_MSI ? "MSI" : "INTx", edu->irq,
		 dma_bits, dmakit_dma_translated(dev) ? " through IOMMU" : "");
	return 0;

err_stop_device:
	iowrite32(0, edu->regs + EDU_REG_STATUS);
	edu_teardown_irq(edu);
err_clear_master:
	pci_clear_master(pdev);
	dmakit_node_dma_exit(&edu->node);
err_free_index:
	ida_free(&edu_ida, edu->index);
err_put:
	dmakit_node_put(&edu->node);
	return err;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct dmakit_edu *edu = pci_get_drvdata(pdev);

	/* no new file; commands and DMA end; BAR0 and coherent buffers go */
	dmakit_node_unregister(&edu->node);

	iowrite32(0, edu->regs + EDU_REG_STATUS);
	edu_teardown_irq(edu);
	pci_clear_master(pdev);
	dmakit_node_dma_exit(&edu->node);
	ida_free(&edu_ida, edu->index);
	dev_info(&pdev->dev, "%s: removed\n", edu->node.name);
	dmakit_node_put(&edu->node);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "dmakit-edu",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};

int dmakit_edu_init(void)
{
	if (!edu_irq_mode_param()) {
		pr_err("irq_mode=%s: expected msi or intx\n", irq_mode);
		return -EINVAL;
	}
	if (dma_bits < 24 || dma_bits > 64) {
		pr_err("dma_bits=%u: expected 24..64\n", dma_bits);
		return -EINVAL;
	}
	return pci_register_driver(&edu_driver);
}

void dmakit_edu_exit(void)
{
	pci_unregister_driver(&edu_driver);
}
