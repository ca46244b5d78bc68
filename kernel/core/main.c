// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit core: module entry points and the control node /dev/dmakit.
 *
 * The control node answers questions about the module as a whole; each DMA
 * device has a node of its own (see backends/edu.c, backends/fdc_node.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "fault.h"

static atomic_t dmakit_num_devices = ATOMIC_INIT(0);

/*
 * A device of our own for allocations that belong to no particular hardware:
 * modules reach CMA only through the DMA API, which needs a device.
 */
static struct platform_device *dmakit_pdev;

struct device *dmakit_alloc_device(void)
{
	return &dmakit_pdev->dev;
}

void dmakit_device_added(void)
{
	atomic_inc(&dmakit_num_devices);
}

void dmakit_device_removed(void)
{
	atomic_dec(&dmakit_num_devices);
}

static long dmakit_ctl_info(struct dmakit_info __user *uinfo)
{
	struct dmakit_info info = {
		.abi_version = DMAKIT_ABI_VERSION,
		.num_devices = atomic_read(&dmakit_num_devices),
		.page_size = PAGE_SIZE,
	};

	strscpy(info.module_version, DMAKIT_VERSION, sizeof(info.module_version));
	if (copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long dmakit_ctl_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DMAKIT_IOC_INFO:
		return dmakit_ctl_info(uarg);
	case DMAKIT_IOC_ALLOC:
		return dmakit_buffer_alloc(uarg, NULL);
	case DMAKIT_IOC_ALLOC_FOR:
		return dmakit_foreign_alloc(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dmakit_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dmakit_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice dmakit_ctl = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dmakit",
	.fops = &dmakit_ctl_fops,
	.mode = 0666,
};

static int __init dmakit_init(void)
{
	int err;

	/* the test hooks exist before any device can reach them */
	dmakit_fault_init();
	err = misc_register(&dmakit_ctl);
	if (err)
		goto err_fault_exit;

	dmakit_pdev = platform_device_register_simple("dmakit", PLATFORM_DEVID_NONE,
						      NULL, 0);
	if (IS_ERR(dmakit_pdev)) {
		err = PTR_ERR(dmakit_pdev);
		goto err_deregister;
	}
	err = dma_coerce_mask_and_coherent(&dmakit_pdev->dev, DMA_BIT_MASK(64));
	if (err)
		goto err_unregister_pdev;

	err = dmakit_edu_init();
	if (err)
		goto err_unregister_pdev;

	/* the dmaengine channels dma_channels= names (none by default) */
	err = dmakit_dmaengine_init();
	if (err)
		goto err_edu_exit;

	/* no floppy controller is not an error: there is just no node */
	err = dmakit_fdc_init();
	if (err)
		goto err_dmaengine_exit;

	err = dmakit_foreign_init();
	if (err)
		goto err_fdc_exit;

	pr_info("version %s loaded, ABI %u\n", DMAKIT_VERSION,
		DMAKIT_ABI_VERSION);
	return 0;

err_fdc_exit:
	dmakit_fdc_exit();
err_dmaengine_exit:
	dmakit_dmaengine_exit();
err_edu_exit:
	dmakit_edu_exit();
err_unregister_pdev:
	platform_device_unregister(dmakit_pdev);
err_deregister:
	misc_deregister(&dmakit_ctl);
err_fault_exit:
	dmakit_fault_exit();
	return err;
}

static void __exit dmakit_exit(void)
{
	dmakit_foreign_exit();
	dmakit_fdc_exit();
	dmakit_dmaengine_exit();
	dmakit_edu_exit();
	platform_device_unregister(dmakit_pdev);
	misc_deregister(&dmakit_ctl);
	dmakit_fault_exit();
	dmakit_fence_exit();
	pr_info("unloaded\n");
}

module_init(dmakit_init);
module_exit(dmakit_exit);

MODULE_DESCRIPTION("dmakit: memory mapping and DMA for Linux drivers, by example");
MODULE_AUTHOR("The dmakit authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(DMAKIT_VERSION);
