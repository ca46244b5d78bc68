// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit foreign buffers: DMA memory for a device dmakit does not drive
 * (DMAKIT_IOC_ALLOC_FOR on /dev/dmakit), u-dma-buf's use: user space
 * programs the device (UIO, a BAR mapped through sysfs) with the bus
 * address it is given, and hands the memory over with DMAKIT_IOC_SYNC.
 *
 * Kinds, both one contiguous bus range:
 *   coherent dma_alloc_attrs(DMA_ATTR_FORCE_CONTIGUOUS) for the device: in
 *            the linear map on every DMA layer (an IOMMU does not remap
 *            it into vmalloc space), so that its memory type can change;
 *            nothing to sync.
 *   contig   alloc_pages_exact() mapped once with dma_map_single(),
 *            DMA_BIDIRECTIONAL, for the device, until the buffer goes:
 *            behind swiotlb the bus address is a bounce slot, and only
 *            the syncs move the bytes between it and the buffer.
 *
 * Mapping modes (mmap of the buffer fd): cached; uncached (UC-) and
 * write-combine. x86's PAT keeps one memory type per RAM page: a PFN
 * mapping of RAM with another type than the page's is silently made
 * write-back ("map pfn RAM range req ..."), so the linear map of the
 * memory is switched first (set_memory_uc/wc(), back to set_memory_wb()
 * before the memory is freed) and the kernel's own accesses agree with the
 * user's. Elsewhere only cached is offered (EOPNOTSUPP).
 *
 * Lifetime: each device with foreign buffers has an owner (revoke.c),
 * listed here. The buffers are revoked (ENODEV, mappings zapped, memory
 * back while the device is there) when anything changes who drives the
 * device: a driver binds (it sets its own mask; vfio may change the IOMMU
 * domain), the driver bound at allocation unbinds, or the device leaves
 * its bus. A bus notifier on the PCI and platform buses does it.
 *
 * Locks: the device lock (device_lock()) is held across an allocation, so
 * that no driver binds or unbinds between the check of dev->driver and the
 * buffer joining the owner; the bus notifier runs under it for bind and
 * unbind. foreign_lock (a mutex, taken inside the device lock) guards
 * foreign_devs; revocation runs outside it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/security.h>
#include <linux/set_memory.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"

/**
 * struct foreign_dev - a device with (or just without) foreign buffers.
 * @node:  in foreign_devs.
 * @dev:   the device (held).
 * @owner: the owner of its buffers (a reference), NULL for a tombstone.
 * @dead:  the device is leaving its bus: nothing is allocated for it
 *         until it is gone (BUS_NOTIFY_REMOVED_DEVICE drops the entry).
 */
struct foreign_dev {
	struct list_head node;
	struct device *dev;
	struct dmakit_buffer_owner *owner;
	bool dead;
};

static LIST_HEAD(foreign_devs);
static DEFINE_MUTEX(foreign_lock);	/* guards foreign_devs */

static struct foreign_dev *foreign_lookup(struct device *dev)
{
	struct foreign_dev *fdev;

	list_for_each_entry(fdev, &foreign_devs, node)
		if (fdev->dev == dev)
			return fdev;
	return NULL;
}

static void foreign_dev_free(struct foreign_dev *fdev)
{
	list_del(&fdev->node);
	dmakit_owner_put(fdev->owner);
	put_device(fdev->dev);
	kfree(fdev);
}

/* the device named @name on the PCI or the platform bus (held), or NULL */
static struct device *foreign_find(const char *name)
{
	struct device *dev = NULL;

#if IS_ENABLED(CONFIG_PCI)
	dev = bus_find_device_by_name(&pci_bus_type, NULL, name);
#endif
	if (!dev)
		dev = bus_find_device_by_name(&platform_bus_type, NULL, name);
	return dev;
}

/*
 * A reference to the owner of @dev's buffers, made on first use; under
 * foreign_lock, with the device lock held. -ENODEV once the device is
 * leaving its bus (a tombstone, or no longer on the bus by @name).
 */
static struct dmakit_buffer_owner *foreign_owner_get(struct device *dev,
						     const char *name)
{
	struct dmakit_buffer_owner *owner = ERR_PTR(-ENODEV);
	struct foreign_dev *fdev;
	struct device *again;

	mutex_lock(&foreign_lock);
	/* bus_remove_device() comes after DEL_DEVICE, before REMOVED_DEVICE */
	again = foreign_find(name);
	put_device(again);
	if (again != dev)
		goto out;
	fdev = foreign_lookup(dev);
	if (fdev && fdev->dead)
		goto out;
	if (!fdev) {
		owner = ERR_PTR(-ENOMEM);
		fdev = kzalloc_obj(*fdev, GFP_KERNEL);
		if (!fdev)
			goto out;
		fdev->owner = dmakit_owner_new(dev);
		if (!fdev->owner) {
			kfree(fdev);
			goto out;
		}
		fdev->dev = get_device(dev);
		list_add(&fdev->node, &foreign_devs);
	}
	owner = fdev->owner;
	dmakit_owner_get(owner);
out:
	mutex_unlock(&foreign_lock);
	return owner;
}

static int foreign_notify(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct dmakit_buffer_owner *owner = NULL;
	struct device *dev = data;
	struct foreign_dev *fdev;

	switch (action) {
	case BUS_NOTIFY_BIND_DRIVER:
	case BUS_NOTIFY_UNBIND_DRIVER:
	case BUS_NOTIFY_DEL_DEVICE:
	case BUS_NOTIFY_REMOVED_DEVICE:
		break;
	default:
		return NOTIFY_DONE;
	}
	mutex_lock(&foreign_lock);
	fdev = foreign_lookup(dev);
	if (action == BUS_NOTIFY_DEL_DEVICE && !fdev) {
		/* a tombstone: an allocation that found the device waits out */
		fdev = kzalloc_obj(*fdev, GFP_KERNEL);
		if (fdev) {
			fdev->dev = get_device(dev);
			list_add(&fdev->node, &foreign_devs);
		}
	}
	if (fdev) {
		owner = fdev->owner;
		fdev->owner = NULL;
		if (action == BUS_NOTIFY_DEL_DEVICE)
			fdev->dead = true;
		else
			foreign_dev_free(fdev);
	}
	mutex_unlock(&foreign_lock);
	if (owner) {
		/* the device is still there: its memory goes back now */
		dmakit_owner_revoke(owner, dmakit_buffer_free_memory);
		dmakit_owner_put(owner);
	}
	return NOTIFY_OK;
}

static struct notifier_block foreign_pci_nb = { .notifier_call = foreign_notify };
static struct notifier_block foreign_platform_nb = { .notifier_call = foreign_notify };

/* a memory type for the linear map of the buffer (x86); 0 or -errno */
static int foreign_set_memtype(struct dmakit_buffer *buf, u32 mode)
{
#ifdef CONFIG_X86
	unsigned long addr = (unsigned long)buf->vaddr;

	switch (mode) {
	case DMAKIT_MAP_UNCACHED:
		return set_memory_uc(addr, buf->npages);
	case DMAKIT_MAP_WC:
		return set_memory_wc(addr, buf->npages);
	default:
		return set_memory_wb(addr, buf->npages);
	}
#else
	return mode == DMAKIT_MAP_CACHED ? 0 : -EOPNOTSUPP;
#endif
}

/*
 * GFP zone for contig memory: none where an IOMMU or swiotlb makes any
 * page reachable (behind swiotlb the bus address is then a bounce slot);
 * else the zone under the device's mask.
 */
static gfp_t foreign_zone(struct device *dev)
{
	u64 mask = dma_get_mask(dev);

	if (dmakit_dma_translated(dev) || dma_max_mapping_size(dev) != SIZE_MAX)
		return 0;
	if (IS_ENABLED(CONFIG_ZONE_DMA) && mask < DMA_BIT_MASK(32))
		return GFP_DMA;
	if (IS_ENABLED(CONFIG_ZONE_DMA32) && mask < DMA_BIT_MASK(64))
		return GFP_DMA32;
	return 0;
}

/**
 * dmakit_foreign_alloc_memory() - a foreign buffer's memory, for buf->dma_dev.
 * @buf: the buffer: size, kind, map_mode set.
 *
 * On failure the caller frees what there is (dmakit_foreign_free_memory()).
 *
 * Return: 0, -ENOMEM, -EIO (the device cannot reach the memory, or the
 * mapping failed), -EOPNOTSUPP (a mode this memory cannot have).
 */
int dmakit_foreign_alloc_memory(struct dmakit_buffer *buf)
{
	struct device *dev = buf->dma_dev;
	u32 mode = buf->map_mode;
	int err;

	buf->map_mode = DMAKIT_MAP_CACHED;	/* what the linear map is now */
	buf->dma_handle = DMA_MAPPING_ERROR;
	if (buf->kind == DMAKIT_KIND_COHERENT) {
		buf->vaddr = dma_alloc_attrs(dev, buf->size, &buf->dma_handle,
					     GFP_KERNEL | __GFP_NOWARN,
					     DMA_ATTR_FORCE_CONTIGUOUS);
		if (!buf->vaddr)
			return -ENOMEM;
		if (!virt_addr_valid(buf->vaddr) && mode != DMAKIT_MAP_CACHED)
			return -EOPNOTSUPP;	/* a remapping: its own type */
	} else {
		buf->vaddr = alloc_pages_exact(buf->size, GFP_KERNEL | __GFP_ZERO |
					       __GFP_ACCOUNT | __GFP_NOWARN |
					       __GFP_RETRY_MAYFAIL |
					       foreign_zone(dev));
		if (!buf->vaddr)
			return -ENOMEM;
		/* dma-direct would WARN on a page beyond the mask */
		if (!dmakit_dma_translated(dev) &&
		    dma_max_mapping_size(dev) == SIZE_MAX &&
		    virt_to_phys(buf->vaddr) + buf->size - 1 > dma_get_mask(dev))
			return -EIO;
		buf->dma_handle = dma_map_single(dev, buf->vaddr, buf->size,
						 DMA_BIDIRECTIONAL);
		if (dma_mapping_error(dev, buf->dma_handle)) {
			buf->dma_handle = DMA_MAPPING_ERROR;
			return -EIO;
		}
	}
	if (mode != DMAKIT_MAP_CACHED) {
		err = foreign_set_memtype(buf, mode);
		if (err)
			return err;
		buf->map_mode = mode;
	}
	return 0;
}

/**
 * dmakit_foreign_free_memory() - give back what dmakit_foreign_alloc_memory()
 * got, as far as it got.
 * @buf: the buffer; its device is still there.
 */
void dmakit_foreign_free_memory(struct dmakit_buffer *buf)
{
	struct device *dev = buf->dma_dev;

	if (!buf->vaddr)
		return;
	if (buf->kind == DMAKIT_KIND_CONTIG &&
	    buf->dma_handle != DMA_MAPPING_ERROR)
		dma_unmap_single(dev, buf->dma_handle, buf->size,
				 DMA_BIDIRECTIONAL);
	if (buf->map_mode != DMAKIT_MAP_CACHED &&
	    foreign_set_memtype(buf, DMAKIT_MAP_CACHED)) {
		/* never give back pages of another memory type: keep them */
		dev_warn(dev, "foreign buffer: memory type not restored, %zu bytes kept\n",
			 buf->size);
	} else if (buf->kind == DMAKIT_KIND_COHERENT) {
		dma_free_attrs(dev, buf->size, buf->vaddr, buf->dma_handle,
			       DMA_ATTR_FORCE_CONTIGUOUS);
	} else {
		free_pages_exact(buf->vaddr, buf->size);
	}
	buf->map_mode = DMAKIT_MAP_CACHED;
	buf->vaddr = NULL;
}

/**
 * dmakit_foreign_mmap() - map a foreign buffer in its mode.
 * @buf: the buffer, in a read section of dmakit_buffer_srcu, not revoked.
 * @vma: the new VMA, within the buffer (checked), VM_DONTEXPAND set.
 *
 * Return: 0 or -errno of the remapping.
 */
int dmakit_foreign_mmap(struct dmakit_buffer *buf, struct vm_area_struct *vma)
{
	if (buf->map_mode == DMAKIT_MAP_UNCACHED)
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	else if (buf->map_mode == DMAKIT_MAP_WC)
		vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
	if (buf->kind == DMAKIT_KIND_COHERENT)
		return dma_mmap_attrs(buf->dma_dev, vma, buf->vaddr,
				      buf->dma_handle, buf->size,
				      DMA_ATTR_FORCE_CONTIGUOUS);
	/* sets VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP */
	return remap_pfn_range(vma, vma->vm_start,
			       PHYS_PFN(virt_to_phys(buf->vaddr)) + vma->vm_pgoff,
			       vma->vm_end - vma->vm_start, vma->vm_page_prot);
}

/**
 * dmakit_foreign_sync() - DMAKIT_IOC_SYNC on a buffer fd.
 * @buf:  the buffer.
 * @uarg: struct dmakit_sync from user space.
 *
 * Return: 0; -EOPNOTSUPP (not a foreign buffer), -EFAULT, -EINVAL (flags,
 * reserved fields, direction, an empty range or one beyond the buffer),
 * -ENODEV (revoked).
 */
long dmakit_foreign_sync(struct dmakit_buffer *buf,
			 struct dmakit_sync __user *uarg)
{
	struct dmakit_sync arg;
	long ret = 0;
	u64 end;
	int idx;

	if (!buf->foreign)
		return -EOPNOTSUPP;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	if (arg.dir != DMAKIT_SYNC_FOR_CPU && arg.dir != DMAKIT_SYNC_FOR_DEVICE)
		return -EINVAL;
	if (!arg.len || check_add_overflow(arg.offset, arg.len, &end) ||
	    end > buf->size)
		return -EINVAL;

	idx = srcu_read_lock(&dmakit_buffer_srcu);
	if (dmakit_buffer_revoked(buf))
		ret = -ENODEV;
	else if (buf->kind == DMAKIT_KIND_CONTIG &&
		 arg.dir == DMAKIT_SYNC_FOR_CPU)
		dma_sync_single_range_for_cpu(buf->dma_dev, buf->dma_handle,
					      arg.offset, arg.len,
					      DMA_BIDIRECTIONAL);
	else if (buf->kind == DMAKIT_KIND_CONTIG)
		dma_sync_single_range_for_device(buf->dma_dev, buf->dma_handle,
						 arg.offset, arg.len,
						 DMA_BIDIRECTIONAL);
	/* coherent: nothing to hand over */
	srcu_read_unlock(&dmakit_buffer_srcu, idx);
	return ret;
}

static int foreign_check(const struct dmakit_alloc_for *arg)
{
	if (strnlen(arg->device, sizeof(arg->device)) == sizeof(arg->device))
		return -EINVAL;
	if (arg->flags & ~DMAKIT_ALLOC_CLOEXEC)
		return -EINVAL;
	if (arg->pad || memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (arg->kind != DMAKIT_KIND_COHERENT && arg->kind != DMAKIT_KIND_CONTIG)
		return -EINVAL;
	if (arg->mode > DMAKIT_MAP_WC)
		return -EINVAL;
	if (!IS_ENABLED(CONFIG_X86) && arg->mode != DMAKIT_MAP_CACHED)
		return -EOPNOTSUPP;
	/* 24 bits: what ISA DMA reaches, the smallest mask the DMA API knows */
	if (arg->dma_bits && (arg->dma_bits < 24 || arg->dma_bits > 64))
		return -EINVAL;
	if (!arg->size)
		return -EINVAL;
	if (arg->size > dmakit_max_buffer_bytes())
		return -E2BIG;
	/* contig: one block of the buddy allocator */
	if (arg->kind == DMAKIT_KIND_CONTIG &&
	    get_order(arg->size) >= NR_PAGE_ORDERS)
		return -E2BIG;
	return 0;
}

/*
 * The device's DMA mask as @bits asks, with the device lock held: set when
 * no driver is bound, else it must be the driver's already (-EBUSY).
 */
static int foreign_mask(struct device *dev, u32 bits)
{
	if (!dev->dma_mask)
		return -EIO;	/* not a device that does DMA */
	if (!bits)
		return 0;
	if (dev->driver)
		return dma_get_mask(dev) == DMA_BIT_MASK(bits) &&
		       dev->coherent_dma_mask == DMA_BIT_MASK(bits) ? 0 : -EBUSY;
	return dma_set_mask_and_coherent(dev, DMA_BIT_MASK(bits)) ? -EIO : 0;
}

/**
 * dmakit_foreign_alloc() - DMAKIT_IOC_ALLOC_FOR (CAP_SYS_ADMIN).
 * @uarg: struct dmakit_alloc_for from user space.
 *
 * Return: 0 with fd, size and bus_addr filled in; -EPERM (not
 * CAP_SYS_ADMIN, or the kernel is locked down), -EFAULT, -EINVAL (fields),
 * -E2BIG, -ENODEV (no such device, or it is leaving), -EBUSY (a driver is
 * bound and its mask is not @dma_bits), -EIO (the DMA layer refuses the
 * mask, or the device cannot reach the memory), -EOPNOTSUPP (mode),
 * -ENOMEM, -EMFILE.
 */
long dmakit_foreign_alloc(struct dmakit_alloc_for __user *uarg)
{
	struct dmakit_alloc_for arg;
	struct dmakit_buffer_owner *owner;
	struct dmakit_alloc alloc = {};
	struct dmakit_buffer *buf;
	struct device *dev;
	struct file *file;
	int fd, err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	/* a device programmed from user space: lockdown's PCI access rule */
	if (security_locked_down(LOCKDOWN_PCI_ACCESS))
		return -EPERM;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = foreign_check(&arg);
	if (err)
		return err;
	dev = foreign_find(arg.device);
	if (!dev)
		return -ENODEV;

	alloc.size = arg.size;
	alloc.kind = arg.kind;
	alloc.flags = arg.flags;
	device_lock(dev);
	err = foreign_mask(dev, arg.dma_bits);
	/* behind swiotlb one mapping is at most a bounce slot's run */
	if (!err && arg.kind == DMAKIT_KIND_CONTIG &&
	    arg.size > dma_max_mapping_size(dev))
		err = -E2BIG;
	if (err) {
		file = ERR_PTR(err);
		goto unlock;
	}
	owner = foreign_owner_get(dev, arg.device);
	if (IS_ERR(owner)) {
		file = ERR_CAST(owner);
		goto unlock;
	}
	file = dmakit_buffer_create_for(&alloc, owner, arg.mode);
	dmakit_owner_put(owner);
unlock:
	device_unlock(dev);
	put_device(dev);
	if (IS_ERR(file))
		return PTR_ERR(file);

	buf = dmakit_buffer_of(file);
	fd = get_unused_fd_flags(arg.flags & DMAKIT_ALLOC_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		fput(file);
		return fd;
	}
	arg.fd = fd;
	arg.size = buf->size;
	arg.bus_addr = buf->dma_handle;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		fput(file);
		put_unused_fd(fd);
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

/* the notifiers; no foreign buffer exists yet */
int dmakit_foreign_init(void)
{
	int err;

#if IS_ENABLED(CONFIG_PCI)
	err = bus_register_notifier(&pci_bus_type, &foreign_pci_nb);
	if (err)
		return err;
#endif
	err = bus_register_notifier(&platform_bus_type, &foreign_platform_nb);
#if IS_ENABLED(CONFIG_PCI)
	if (err)
		bus_unregister_notifier(&pci_bus_type, &foreign_pci_nb);
#endif
	return err;
}

/* module exit: every buffer is gone (each holds the module) */
void dmakit_foreign_exit(void)
{
	struct foreign_dev *fdev, *tmp;

	bus_unregister_notifier(&platform_bus_type, &foreign_platform_nb);
#if IS_ENABLED(CONFIG_PCI)
	bus_unregister_notifier(&pci_bus_type, &foreign_pci_nb);
#endif
	mutex_lock(&foreign_lock);
	list_for_each_entry_safe(fdev, tmp, &foreign_devs, node)
		foreign_dev_free(fdev);
	mutex_unlock(&foreign_lock);
}
