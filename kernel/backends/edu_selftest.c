// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit edu backend: the DMA test ioctls of an edu node.
 *
 * DMAKIT_IOC_EDU_LOOPBACK sends bytes through the device window and back
 * between two pages of the module's own (the streaming API's round trip,
 * with what the mapping did: bounced or not, bus addresses to those who may
 * see them). DMAKIT_IOC_EDU_STRAY (CAP_SYS_ADMIN) makes the device write
 * to a physical address the kernel did not map for it, to show what an
 * IOMMU stops. Both run on the node's engine (dma/stage.c); docs/abi.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "engine.h"
#include "edu.h"

static int edu_loopback_check(const struct dmakit_edu_loopback *arg)
{
	if (!edu_window_ok(0, arg->len))
		return -EINVAL;
	if (arg->flags || arg->pad || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	return 0;
}

long dmakit_edu_loopback(struct dmakit_engine *eng,
			 struct dmakit_edu_loopback __user *uarg)
{
	struct dmakit_edu_loopback arg;
	struct page *pages[2];
	dma_addr_t dma[2] = {};
	bool bounced[2] = {};
	bool leaked;
	int err, i;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = edu_loopback_check(&arg);
	if (err)
		return err;

	pages[0] = alloc_page(GFP_KERNEL);
	pages[1] = alloc_page(GFP_KERNEL);
	if (!pages[0] || !pages[1]) {
		err = -ENOMEM;
		goto out_free;
	}
	if (copy_from_user(page_address(pages[0]), u64_to_user_ptr(arg.src),
			   arg.len)) {
		err = -EFAULT;
		goto out_free;
	}
	/* poison: data that did not come from the device must not pass */
	memset(page_address(pages[1]), 0xa5, PAGE_SIZE);

	err = dmakit_xfer_loopback(eng, pages, arg.len, dma, bounced,
				   &leaked);
	if (leaked)
		return err;	/* the device may still use the pages */
	if (err)
		goto out_free;

	if (copy_to_user(u64_to_user_ptr(arg.dst), page_address(pages[1]),
			 arg.len)) {
		err = -EFAULT;
		goto out_free;
	}
	arg.bounced = bounced[0] | bounced[1] << 1;
	if (dmakit_sees_addresses()) {
		for (i = 0; i < 2; i++) {
			arg.phys[i] = page_to_phys(pages[i]);
			arg.dma[i] = dma[i];
		}
	} else {
		memset(arg.phys, 0, sizeof(arg.phys));
		memset(arg.dma, 0, sizeof(arg.dma));
	}
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		err = -EFAULT;

out_free:
	for (i = 0; i < 2; i++)
		if (pages[i])
			__free_page(pages[i]);
	return err;
}

long dmakit_edu_stray(struct dmakit_engine *eng,
		      struct dmakit_edu_stray __user *uarg)
{
	struct dmakit_edu_stray arg;
	u64 addr = 0;
	u32 landed = 0;
	int err;

	/* it makes the device write to a physical address */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.pad)
		return -EINVAL;
	err = dmakit_xfer_stray(eng, arg.len, &addr, &landed);
	if (err && err != -EINTR && err != -ETIMEDOUT)
		return err;
	arg.status = err;
	arg.addr = addr;
	arg.landed = landed;
	return copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "edu_kunit.c"
#endif
