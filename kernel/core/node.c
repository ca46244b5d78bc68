// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit device core: the node of one DMA device, for every backend.
 *
 * A backend (backends/edu.c) embeds struct dmakit_node (node.h) in its
 * device structure and registers it; the core gives it /dev/<name> with
 * the file operations every DMA device has: buffers made for the device
 * (ALLOC), transfers (XFER, XFER_REAP, XFER_USER, read/write_iter, poll;
 * the DMA layer, dma/), DEV_INFO, the counters in sysfs, and mmap of the
 * device memory the backend describes. Other ioctls go to the backend's
 * ops. The backend's engine ops run the segments (dma/engine.c).
 *
 * Locking:
 * - node->files_lock (mutex) guards the list of open files (node->files).
 * - the engine's lock and its alive section: dma/engine.c.
 * - nothing of the core is held while a backend op runs.
 *
 * Lifetime: struct dmakit_node is refcounted. The registration holds one
 * reference from dmakit_node_init() to the backend's dmakit_node_put(),
 * every open file holds one, so a file opened before the device was
 * unbound answers ENODEV instead of touching freed memory; the last one
 * calls the backend's release op, which frees the structure the node is
 * embedded in. Removal (dmakit_node_unregister()) takes the node out of
 * /dev, lets the backend end its own commands, stops the engine, whose
 * alive section (dmakit_engine_enter()) then refuses whatever would reach
 * the device or the DMA API outside a request, and zaps every user mapping
 * of the device memory through the open files' mappings: that memory is
 * faulted in page by page inside the alive section, so a touch after
 * removal is SIGBUS. Then it revokes the coherent buffers made on the node
 * (node->owner, core/revoke.c): their memory goes back while the device is
 * still there, and their mappings are zapped too.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"
#include "node.h"

/* what an open file of a device node holds */
struct node_file {
	struct dmakit_node *node;
	struct file *file;
	struct list_head list;		/* in node->files */
	struct dmakit_client client;
};

static void node_release(struct kref *ref)
{
	struct dmakit_node *node = container_of(ref, struct dmakit_node, ref);

	dmakit_owner_put(node->owner);
	node->ops->release(node);
}

static int node_open(struct inode *inode, struct file *file)
{
	struct dmakit_node *node = container_of(file->private_data,
						struct dmakit_node, misc);
	struct node_file *nf;

	nf = kzalloc_obj(*nf, GFP_KERNEL_ACCOUNT);
	if (!nf)
		return -ENOMEM;
	/* misc_open holds misc_mtx: unregister cannot have dropped its ref yet */
	kref_get(&node->ref);
	nf->node = node;
	nf->file = file;
	dmakit_client_init(&nf->client, &node->engine);
	file->private_data = nf;
	mutex_lock(&node->files_lock);
	list_add(&nf->list, &node->files);
	mutex_unlock(&node->files_lock);
	/* read/write go straight to user pages: O_DIRECT means what it says */
	file->f_mode |= FMODE_CAN_ODIRECT;
	return 0;
}

static int node_release_file(struct inode *inode, struct file *file)
{
	struct node_file *nf = file->private_data;
	struct dmakit_node *node = nf->node;

	mutex_lock(&node->files_lock);
	list_del(&nf->list);
	mutex_unlock(&node->files_lock);
	dmakit_client_release(&nf->client);
	kref_put(&node->ref, node_release);
	kfree(nf);
	return 0;
}

/*
 * Device memory, one page per fault, inside the alive section: once the
 * device is going away no page goes in, and dmakit_node_unregister() zaps
 * those that are.
 */
static vm_fault_t node_mem_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct node_file *nf = vma->vm_file->private_data;
	struct dmakit_node *node = nf->node;
	vm_fault_t ret;

	if (vmf->pgoff >= node->mem.len >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;	/* VM_DONTEXPAND: never seen */
	if (dmakit_engine_enter(&node->engine))
		return VM_FAULT_SIGBUS;
	ret = vmf_insert_pfn(vma, vmf->address & PAGE_MASK,
			     PHYS_PFN(node->mem.start) + vmf->pgoff);
	dmakit_engine_exit(&node->engine);
	return ret;
}

static const struct vm_operations_struct node_mem_vm_ops = {
	.fault = node_mem_fault,
};

/*
 * Device memory (edu: BAR0) for user-space register access. A process
 * that can program a device's DMA registers can make the device write any
 * memory: CAP_SYS_RAWIO only, as for /dev/mem, and not under lockdown (as
 * sysfs's resource files). Uncached, MAP_SHARED, inside the region (EINVAL
 * beyond it), filled by node_mem_fault(). A node without device memory
 * maps nothing (ENODEV).
 */
static int node_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct node_file *nf = file->private_data;
	struct dmakit_node *node = nf->node;
	unsigned long mem_pages;
	int err;

	if (!node->mem.len)
		return -ENODEV;
	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	err = security_locked_down(LOCKDOWN_PCI_ACCESS);
	if (err)
		return err;
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	mem_pages = node->mem.len >> PAGE_SHIFT;
	if (vma->vm_pgoff >= mem_pages ||
	    vma_pages(vma) > mem_pages - vma->vm_pgoff)
		return -EINVAL;
	err = dmakit_engine_enter(&node->engine);
	if (err)
		return err;
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &node_mem_vm_ops;
	dmakit_engine_exit(&node->engine);
	return 0;
}

/* read/write: the caller's memory and the device window (file position) */
static ssize_t node_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct node_file *nf = iocb->ki_filp->private_data;

	return dmakit_xfer_iter(&nf->client, iocb, to, false);
}

static ssize_t node_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct node_file *nf = iocb->ki_filp->private_data;

	return dmakit_xfer_iter(&nf->client, iocb, from, true);
}

static loff_t node_llseek(struct file *file, loff_t offset, int whence)
{
	struct node_file *nf = file->private_data;

	return fixed_size_llseek(file, offset, whence, nf->node->engine.window);
}

static __poll_t node_poll(struct file *file, poll_table *wait)
{
	struct node_file *nf = file->private_data;

	return dmakit_client_poll(&nf->client, file, wait);
}

/*
 * A buffer for this device, made inside the alive section (coherent memory
 * is the device's own); user memory is touched outside it only, since a
 * device memory fault takes the section under mmap_lock.
 */
static long node_alloc(struct dmakit_node *node,
		       struct dmakit_alloc __user *uarg)
{
	struct dmakit_alloc arg;
	struct file *file;
	long err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = dmakit_engine_enter(&node->engine);
	if (err)
		return err;
	file = dmakit_buffer_create(&arg, node->owner);
	dmakit_engine_exit(&node->engine);
	if (IS_ERR(file))
		return PTR_ERR(file);
	return dmakit_buffer_publish(uarg, &arg, file);
}

static long node_dev_info(struct dmakit_node *node,
			  struct dmakit_dev_info __user *uarg)
{
	struct dmakit_dev_info info = {
		.iommu = dmakit_dma_translated(node->dev),
		.window = node->engine.window,
	};

	node->ops->describe(node, &info);
	strscpy(info.name, node->name, sizeof(info.name));
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long node_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct node_file *nf = file->private_data;
	struct dmakit_node *node = nf->node;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DMAKIT_IOC_ALLOC:
		return node_alloc(node, uarg);
	case DMAKIT_IOC_XFER:
		return dmakit_xfer_ioctl(&nf->client, uarg);
	case DMAKIT_IOC_XFER_REAP:
		return dmakit_xfer_reap(&nf->client, uarg);
	case DMAKIT_IOC_XFER_USER:
		return dmakit_xfer_user_ioctl(&nf->client, uarg);
	case DMAKIT_IOC_DEV_INFO:
		return node_dev_info(node, uarg);
	default:
		if (node->ops->ioctl)
			return node->ops->ioctl(node, cmd, uarg);
		return -ENOTTY;
	}
}

static const struct file_operations node_fops = {
	.owner = THIS_MODULE,
	.open = node_open,
	.release = node_release_file,
	.poll = node_poll,
	.mmap = node_mmap,
	.unlocked_ioctl = node_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read_iter = node_read_iter,
	.write_iter = node_write_iter,
	.llseek = node_llseek,
};

/* /sys/class/misc/<name>/stats/: the engine's counters */
static struct dmakit_node *node_of_dev(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct dmakit_node, misc);
}

#define NODE_STAT_SHOW(field)						\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct dmakit_engine_stats st;					\
									\
	dmakit_engine_get_stats(&node_of_dev(dev)->engine, &st);	\
	return sysfs_emit(buf, "%llu\n", st.field);			\
}

NODE_STAT_SHOW(requests);
static DEVICE_ATTR_RO(requests);
NODE_STAT_SHOW(completed);
static DEVICE_ATTR_RO(completed);
NODE_STAT_SHOW(errors);
static DEVICE_ATTR_RO(errors);
NODE_STAT_SHOW(cancelled);
static DEVICE_ATTR_RO(cancelled);
NODE_STAT_SHOW(timeouts);
static DEVICE_ATTR_RO(timeouts);
NODE_STAT_SHOW(bytes);
static DEVICE_ATTR_RO(bytes);
NODE_STAT_SHOW(segments);
static DEVICE_ATTR_RO(segments);
NODE_STAT_SHOW(bounced);
static DEVICE_ATTR_RO(bounced);
NODE_STAT_SHOW(lost_irqs);
static DEVICE_ATTR_RO(lost_irqs);
NODE_STAT_SHOW(stale_irqs);
static DEVICE_ATTR_RO(stale_irqs);
NODE_STAT_SHOW(aborted);
static DEVICE_ATTR_RO(aborted);

static struct attribute *node_stats_attrs[] = {
	&dev_attr_requests.attr,
	&dev_attr_completed.attr,
	&dev_attr_errors.attr,
	&dev_attr_cancelled.attr,
	&dev_attr_timeouts.attr,
	&dev_attr_bytes.attr,
	&dev_attr_segments.attr,
	&dev_attr_bounced.attr,
	&dev_attr_lost_irqs.attr,
	&dev_attr_stale_irqs.attr,
	&dev_attr_aborted.attr,
	NULL
};

static const struct attribute_group node_stats_group = {
	.name = "stats",
	.attrs = node_stats_attrs,
};

static const struct attribute_group *node_groups[] = {
	&node_stats_group,
	NULL
};

/**
 * dmakit_node_init() - the first step of a backend's probe.
 * @node: embedded in the backend's structure, zeroed.
 * @ops:  the backend's ops; @ops->release frees that structure.
 * @dev:  the device that does the DMA; its buffers' owner is made here.
 *
 * From here on the backend gives the node back with dmakit_node_put(),
 * on the error path of its probe too.
 *
 * Return: 0 or -ENOMEM.
 */
int dmakit_node_init(struct dmakit_node *node, const struct dmakit_node_ops *ops,
		     struct device *dev)
{
	node->ops = ops;
	node->dev = dev;
	kref_init(&node->ref);
	mutex_init(&node->files_lock);
	INIT_LIST_HEAD(&node->files);
	node->owner = dmakit_owner_new(dev);
	return node->owner ? 0 : -ENOMEM;
}

/**
 * dmakit_node_dma_init() - the node's engine and staging memory.
 * @node:   initialised, with its name; the device's DMA mask is set.
 * @window: bytes of device memory a segment can address.
 *
 * Return: 0, -ENOMEM or -EIO (dmakit_stage_pool_create()).
 */
int dmakit_node_dma_init(struct dmakit_node *node, u32 window)
{
	dmakit_engine_init(&node->engine, node->ops->engine, node->dev,
			   node->name, window);
	return dmakit_stage_pool_create(&node->engine);
}

/**
 * dmakit_node_register() - the node appears as /dev/<name>, with its
 * counters in sysfs, once the backend's device is ready for requests.
 * @node: after dmakit_node_dma_init().
 *
 * Return: 0 or misc_register()'s error.
 */
int dmakit_node_register(struct dmakit_node *node)
{
	int err;

	node->misc.minor = MISC_DYNAMIC_MINOR;
	node->misc.name = node->name;
	node->misc.fops = &node_fops;
	node->misc.parent = node->dev;
	node->misc.groups = node_groups;
	err = misc_register(&node->misc);
	if (err)
		return err;
	dmakit_device_added();
	return 0;
}

/*
 * Every user mapping of the device memory goes: a later touch faults, and
 * the fault (outside the alive section now) answers SIGBUS. A mapping
 * being set up right now holds no page yet and gets none.
 */
static void node_zap_mem_mappings(struct dmakit_node *node)
{
	struct node_file *nf;

	mutex_lock(&node->files_lock);
	list_for_each_entry(nf, &node->files, list)
		unmap_mapping_range(nf->file->f_mapping, 0, 0, 1);
	mutex_unlock(&node->files_lock);
}

/**
 * dmakit_node_unregister() - the device goes: the first step of a
 * backend's remove, while the device still answers.
 * @node: registered.
 *
 * No new open; the backend's own commands end (@ops->quiesce); queued
 * transfers fail and the one in flight ends (dmakit_engine_stop()); the
 * device memory mappings are zapped; coherent buffers still open give
 * their memory back. Open files stay valid and answer ENODEV.
 */
void dmakit_node_unregister(struct dmakit_node *node)
{
	dmakit_device_removed();
	misc_deregister(&node->misc);

	/* wait for the running command; later ones see the device gone */
	if (node->ops->quiesce)
		node->ops->quiesce(node);
	/* fail queued transfers, let the one in flight end */
	dmakit_engine_stop(&node->engine);
	node_zap_mem_mappings(node);
	/* coherent buffers still open: their memory goes back now */
	dmakit_owner_revoke(node->owner, dmakit_buffer_free_memory);
}

/**
 * dmakit_node_dma_exit() - the staging memory goes, once the backend's
 * device can no longer do DMA (after dmakit_node_unregister(), or on the
 * error path of a probe after dmakit_node_dma_init()).
 * @node: the node.
 */
void dmakit_node_dma_exit(struct dmakit_node *node)
{
	dmakit_stage_pool_destroy(&node->engine);
}

/**
 * dmakit_node_put() - the backend lets go of its node (the last step of
 * its remove, or of a failed probe); the backend's release op runs when
 * the last open file is closed too.
 * @node: the node.
 */
void dmakit_node_put(struct dmakit_node *node)
{
	kref_put(&node->ref, node_release);
}
