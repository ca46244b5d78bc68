// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit dma-buf export: a buffer as a dma-buf, for any driver that
 * imports one (V4L2, DRM, another dmakit device).
 *
 * DMAKIT_IOC_EXPORT on a buffer fd gives a dma-buf fd. A buffer has at
 * most one dma-buf: a second EXPORT gives another fd of the same one, so
 * that every importer sees one reservation object (the fences of
 * whoever writes it). The dma-buf holds the buffer's file: the memory
 * lives as long as either.
 *
 * Exporter operations, for each kind but coherent (coherent memory is its
 * device's and goes with it, revoke.c, while an importer's mapping could
 * not be taken back: EXPORT answers EOPNOTSUPP):
 *   attach/detach    an attachment per importing device; its sg_table of
 *                    the buffer's pages is built on the first map_dma_buf
 *                    and kept until detach;
 *   map/unmap        DMA-map that table for the importer's device (its
 *                    mask and IOMMU apply: dma_map_sgtable() bounces
 *                    through swiotlb where it must; where nothing can
 *                    reach the memory, EIO before dma-direct would WARN:
 *                    dmakit_dma_reaches()); nested maps share the
 *                    mapping, the last unmap undoes it, so that the
 *                    device's writes reach the memory;
 *   begin/end_cpu_access (DMA_BUF_IOCTL_SYNC): sync every attachment's
 *                    mapping for the CPU, then for the devices again;
 *   mmap             the buffer's own mmap, its kind's way (the VMA's file
 *                    becomes the buffer's: vma_set_file());
 *   vmap/vunmap      the buffer's kernel address (contig, vmalloc), or a
 *                    vmap() of its pages (pages kind), counted;
 *   release          drops the buffer's file.
 *
 * Locks: exp->lock (a mutex) guards the attachment list, each attachment's
 * mapping and the vmap count; the dma-buf core calls map/unmap and vmap
 * under the reservation lock, so exp->lock nests inside it, and nothing
 * here takes the reservation lock. buf_export_lock guards buf->dmabuf.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"

DMAKIT_IMPORT_NS_DMA_BUF;

/* guards every buffer's buf->dmabuf */
static DEFINE_MUTEX(buf_export_lock);

/**
 * struct export_priv - what a dma-buf of a buffer holds (dmabuf->priv).
 * @file:        the buffer's file (held).
 * @buf:         the buffer.
 * @lock:        see above.
 * @attachments: struct export_attach of each importing device.
 * @vaddr:       the pages kind's vmap() while @vmaps > 0.
 * @vmaps:       vmap calls not yet undone.
 */
struct export_priv {
	struct file *file;
	struct dmakit_buffer *buf;
	struct mutex lock;	/* see above */
	struct list_head attachments;
	void *vaddr;
	unsigned int vmaps;
};

/* an importing device's view: the buffer's pages mapped for it */
struct export_attach {
	struct list_head node;
	struct device *dev;
	struct sg_table sgt;
	enum dma_data_direction dir;
	bool mapped;
	unsigned int users;	/* map_dma_buf calls not yet unmapped */
};

static int export_attach(struct dma_buf *dmabuf,
			 struct dma_buf_attachment *attach)
{
	struct export_priv *exp = dmabuf->priv;
	struct export_attach *ea = kzalloc_obj(*ea, GFP_KERNEL);

	if (!ea)
		return -ENOMEM;
	ea->dev = attach->dev;
	attach->priv = ea;
	mutex_lock(&exp->lock);
	list_add(&ea->node, &exp->attachments);
	mutex_unlock(&exp->lock);
	return 0;
}

static void export_detach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *attach)
{
	struct export_priv *exp = dmabuf->priv;
	struct export_attach *ea = attach->priv;

	mutex_lock(&exp->lock);
	list_del(&ea->node);
	mutex_unlock(&exp->lock);
	if (ea->mapped)
		dma_unmap_sgtable(ea->dev, &ea->sgt, ea->dir, 0);
	sg_free_table(&ea->sgt);
	kfree(ea);
}

/* the buffer's pages as an sg_table for @dev (not yet mapped) */
static int export_build_sgt(struct dmakit_buffer *buf, struct export_attach *ea)
{
	struct page **pages;
	pgoff_t i;
	int err;

	pages = kvmalloc_array(buf->npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < buf->npages; i++)
		pages[i] = dmakit_buffer_page(buf, i);
	err = sg_alloc_table_from_pages_segment(&ea->sgt, pages, buf->npages,
						0, buf->size,
						dma_get_max_seg_size(ea->dev),
						GFP_KERNEL);
	kvfree(pages);
	return err;
}

static struct sg_table *export_map(struct dma_buf_attachment *attach,
				   enum dma_data_direction dir)
{
	struct export_priv *exp = attach->dmabuf->priv;
	struct export_attach *ea = attach->priv;
	int err = 0;

	mutex_lock(&exp->lock);
	if (ea->mapped && ea->dir != dir) {
		/* mapped another way by an importer that still uses it */
		err = -EBUSY;
		goto out;
	}
	if (!ea->sgt.sgl) {
		err = export_build_sgt(exp->buf, ea);
		if (err)
			goto out;
	}
	if (!ea->mapped) {
		/* beyond the importer's reach, dma-direct would WARN first */
		if (!dmakit_dma_reaches(ea->dev, exp->buf->phys_max)) {
			dev_info_ratelimited(ea->dev,
					     "its DMA mask (%d bits) cannot reach a dmakit dma-buf, and nothing translates or bounces for it: EIO\n",
					     fls64(dma_get_mask(ea->dev)));
			err = -EIO;
			goto out;
		}
		err = dma_map_sgtable(ea->dev, &ea->sgt, dir, 0);
		if (err)
			goto out;
		ea->mapped = true;
		ea->dir = dir;
	}
	ea->users++;
out:
	mutex_unlock(&exp->lock);
	return err ? ERR_PTR(err) : &ea->sgt;
}

/*
 * The last user's unmap undoes the DMA mapping, so that what the device
 * wrote reaches the memory (swiotlb copies it back); the table stays.
 */
static void export_unmap(struct dma_buf_attachment *attach,
			 struct sg_table *sgt, enum dma_data_direction dir)
{
	struct export_priv *exp = attach->dmabuf->priv;
	struct export_attach *ea = attach->priv;

	mutex_lock(&exp->lock);
	if (!WARN_ON_ONCE(!ea->users) && !--ea->users) {
		dma_unmap_sgtable(ea->dev, &ea->sgt, ea->dir, 0);
		ea->mapped = false;
	}
	mutex_unlock(&exp->lock);
}

/* DMA_BUF_IOCTL_SYNC start: every device's writes become the CPU's */
static int export_begin_cpu(struct dma_buf *dmabuf,
			    enum dma_data_direction dir)
{
	struct export_priv *exp = dmabuf->priv;
	struct export_attach *ea;

	mutex_lock(&exp->lock);
	list_for_each_entry(ea, &exp->attachments, node)
		if (ea->mapped)
			dma_sync_sgtable_for_cpu(ea->dev, &ea->sgt, ea->dir);
	mutex_unlock(&exp->lock);
	return 0;
}

/* DMA_BUF_IOCTL_SYNC end: the CPU's writes go to every device */
static int export_end_cpu(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct export_priv *exp = dmabuf->priv;
	struct export_attach *ea;

	mutex_lock(&exp->lock);
	list_for_each_entry(ea, &exp->attachments, node)
		if (ea->mapped)
			dma_sync_sgtable_for_device(ea->dev, &ea->sgt, ea->dir);
	mutex_unlock(&exp->lock);
	return 0;
}

static int export_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct export_priv *exp = dmabuf->priv;

	/* the buffer's vm_ops find it through vm_file */
	vma_set_file(vma, exp->file);
	return dmakit_buffer_mmap(exp->file, vma);
}

static int export_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct export_priv *exp = dmabuf->priv;
	struct dmakit_buffer *buf = exp->buf;
	int err = 0;

	if (buf->kind != DMAKIT_KIND_PAGES) {
		iosys_map_set_vaddr(map, buf->vaddr);
		return 0;
	}
	mutex_lock(&exp->lock);
	if (!exp->vmaps) {
		exp->vaddr = vmap(buf->pages, buf->npages, VM_MAP, PAGE_KERNEL);
		if (!exp->vaddr)
			err = -ENOMEM;
	}
	if (!err) {
		exp->vmaps++;
		iosys_map_set_vaddr(map, exp->vaddr);
	}
	mutex_unlock(&exp->lock);
	return err;
}

static void export_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct export_priv *exp = dmabuf->priv;

	if (exp->buf->kind != DMAKIT_KIND_PAGES)
		return;
	mutex_lock(&exp->lock);
	if (!WARN_ON_ONCE(!exp->vmaps) && !--exp->vmaps) {
		vunmap(exp->vaddr);
		exp->vaddr = NULL;
	}
	mutex_unlock(&exp->lock);
}

static void export_release(struct dma_buf *dmabuf)
{
	struct export_priv *exp = dmabuf->priv;

	mutex_lock(&buf_export_lock);
	if (exp->buf->dmabuf == dmabuf)
		exp->buf->dmabuf = NULL;
	mutex_unlock(&buf_export_lock);
	fput(exp->file);
	kfree(exp);
}

static const struct dma_buf_ops dmakit_dmabuf_ops = {
	.attach = export_attach,
	.detach = export_detach,
	.map_dma_buf = export_map,
	.unmap_dma_buf = export_unmap,
	.begin_cpu_access = export_begin_cpu,
	.end_cpu_access = export_end_cpu,
	.mmap = export_mmap,
	.vmap = export_vmap,
	.vunmap = export_vunmap,
	.release = export_release,
};

/* the buffer's dma-buf, made now if it has none; a reference for the caller */
static struct dma_buf *buffer_dmabuf(struct file *file, struct dmakit_buffer *buf)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct export_priv *exp;
	struct dma_buf *dmabuf;

	mutex_lock(&buf_export_lock);
	dmabuf = buf->dmabuf;
	/*
	 * one whose last reference went is being released: export_release()
	 * waits for the lock, and leaves a newer buf->dmabuf alone
	 */
	if (dmabuf && dmakit_dma_buf_tryget(dmabuf))
		goto out;
	exp = kzalloc_obj(*exp, GFP_KERNEL_ACCOUNT);
	if (!exp) {
		dmabuf = ERR_PTR(-ENOMEM);
		goto out;
	}
	exp->file = get_file(file);
	exp->buf = buf;
	mutex_init(&exp->lock);
	INIT_LIST_HEAD(&exp->attachments);
	info.ops = &dmakit_dmabuf_ops;
	info.size = buf->size;
	/* every fd of the buffer shares its file, hence its mode */
	info.flags = file->f_mode & FMODE_WRITE ? O_RDWR : O_RDONLY;
	info.priv = exp;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		fput(exp->file);
		kfree(exp);
		goto out;
	}
	buf->dmabuf = dmabuf;
out:
	mutex_unlock(&buf_export_lock);
	return dmabuf;
}

/**
 * dmakit_buffer_export() - DMAKIT_IOC_EXPORT on a buffer fd.
 * @file: the buffer's file.
 * @uarg: struct dmakit_export from user space.
 *
 * The dma-buf may be written exactly when the buffer may (a buffer made
 * with DMAKIT_ALLOC_RDONLY gives a read-only dma-buf).
 *
 * Return: 0 with the dma-buf fd in uarg->fd; -EINVAL (flags, reserved),
 * -EOPNOTSUPP (a coherent buffer), -EMFILE, -ENOMEM, -EFAULT.
 */
long dmakit_buffer_export(struct file *file, struct dmakit_export __user *uarg)
{
	struct dmakit_buffer *buf = file->private_data;
	struct dmakit_export arg;
	struct dma_buf *dmabuf;
	int fd, err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if ((arg.flags & ~DMAKIT_EXPORT_CLOEXEC) || arg.reserved[0] ||
	    arg.reserved[1])
		return -EINVAL;
	/* foreign: revoked with its device, under an importer's feet */
	if (buf->kind == DMAKIT_KIND_COHERENT || buf->foreign)
		return -EOPNOTSUPP;

	dmabuf = buffer_dmabuf(file, buf);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	fd = get_unused_fd_flags(arg.flags & DMAKIT_EXPORT_CLOEXEC ? O_CLOEXEC : 0);
	err = fd;
	if (fd < 0)
		goto err_put;
	arg.fd = fd;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		put_unused_fd(fd);
		err = -EFAULT;
		goto err_put;
	}
	/* the fd takes the reference buffer_dmabuf() gave */
	fd_install(fd, dmabuf->file);
	return 0;

err_put:
	dma_buf_put(dmabuf);
	return err;
}

/**
 * dmakit_buffer_dmabuf_get() - a buffer's dma-buf, if it was exported.
 * @buf: the buffer (its file held by the caller).
 *
 * Return: the dma-buf with a reference for the caller, or NULL.
 */
struct dma_buf *dmakit_buffer_dmabuf_get(struct dmakit_buffer *buf)
{
	struct dma_buf *dmabuf;

	mutex_lock(&buf_export_lock);
	dmabuf = buf->dmabuf;
	if (dmabuf && !dmakit_dma_buf_tryget(dmabuf))
		dmabuf = NULL;	/* being released: nobody left to sync with */
	mutex_unlock(&buf_export_lock);
	return dmabuf;
}

/**
 * dmakit_resv_wait() - implicit sync: wait for the fences of a dma-buf's
 * other users before our device touches it.
 * @dmabuf:      the dma-buf.
 * @written:     the device will write it (wait for everyone), else read it
 *               (wait for the writers).
 * @own_context: the fence context of the engine that will do the DMA: its
 *               own fences are left out, its queue orders those requests.
 *
 * Interruptible, up to the transfer timeout, in the submitter's context.
 *
 * Return: 0; -ETIMEDOUT (a fence did not signal in time), -ERESTARTSYS.
 */
int dmakit_resv_wait(struct dma_buf *dmabuf, bool written, u64 own_context)
{
	long left = dmakit_engine_timeout();
	struct dma_resv_iter cursor;
	struct dma_fence *fence;

	/* as dma_resv_wait_timeout(), which cannot leave a context out */
	dma_resv_iter_begin(&cursor, dmabuf->resv, dma_resv_usage_rw(written));
	dma_resv_for_each_fence_unlocked(&cursor, fence) {
		if (fence->context == own_context)
			continue;
		left = dma_fence_wait_timeout(fence, true, left);
		if (left <= 0)
			break;
	}
	dma_resv_iter_end(&cursor);
	if (left < 0)
		return left;
	return left ? 0 : -ETIMEDOUT;
}

/**
 * dmakit_import_get() - a dma-buf fd as one side of a transfer.
 * @imp:     filled in; dmakit_import_put() undoes it, also on failure.
 * @fd:      the dma-buf fd.
 * @eng:     the engine that will do the DMA (its device attaches).
 * @off:     first byte of the range in the dma-buf.
 * @len:     bytes.
 * @written: the device writes the range.
 *
 * Attaches the engine's device and waits (dmakit_resv_wait()) for the
 * fences of the dma-buf's other users that the access must follow:
 * writers before a read, everyone before a write.
 *
 * Return: 0; -EINVAL (@fd is not a dma-buf, or the range does not lie
 * inside it), -EBADF (@written and the dma-buf is read-only), -ETIMEDOUT
 * (its fences did not signal), -ERESTARTSYS, or the exporter's error.
 */
int dmakit_import_get(struct dmakit_import *imp, int fd,
		      struct dmakit_engine *eng, u64 off, u64 len, bool written)
{
	struct dma_buf *dmabuf;
	u64 end;

	memset(imp, 0, sizeof(*imp));
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return -EINVAL;	/* as any fd that is not a buffer */
	imp->dmabuf = dmabuf;
	if (written && !(dmabuf->file->f_mode & FMODE_WRITE))
		return -EBADF;	/* as write(2) on a read-only fd */
	if (check_add_overflow(off, len, &end) || end > dmabuf->size)
		return -EINVAL;
	imp->dir = written ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	imp->attach = dma_buf_attach(dmabuf, eng->dev);
	if (IS_ERR(imp->attach)) {
		long err = PTR_ERR(imp->attach);

		imp->attach = NULL;
		return err;
	}
	return dmakit_resv_wait(dmabuf, written, eng->fence_context);
}

/**
 * dmakit_import_map() - the range's DMA addresses for the attached device.
 * @imp: from dmakit_import_get().
 *
 * Return: 0 with imp->sgt set; the exporter's error (-ENOMEM, -EIO ...).
 */
int dmakit_import_map(struct dmakit_import *imp)
{
	struct sg_table *sgt;

	sgt = dma_buf_map_attachment_unlocked(imp->attach, imp->dir);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	imp->sgt = sgt;
	/*
	 * Some exporters map with DMA_ATTR_SKIP_CPU_SYNC and leave the
	 * syncs to the importer (DRM PRIME: vgem); ours syncs already, and a
	 * second sync only repeats it
	 */
	dma_sync_sgtable_for_device(imp->attach->dev, sgt, imp->dir);
	return 0;
}

/**
 * dmakit_import_unmap() - undo dmakit_import_map() (nothing if unmapped).
 * @imp: the import.
 */
void dmakit_import_unmap(struct dmakit_import *imp)
{
	if (!imp->sgt)
		return;
	/* what the device wrote reaches the memory (swiotlb copies it back) */
	dma_sync_sgtable_for_cpu(imp->attach->dev, imp->sgt, imp->dir);
	dma_buf_unmap_attachment_unlocked(imp->attach, imp->sgt, imp->dir);
	imp->sgt = NULL;
}

/**
 * dmakit_import_put() - detach and let the dma-buf go.
 * @imp: the import (unmapped), or one dmakit_import_get() failed on.
 */
void dmakit_import_put(struct dmakit_import *imp)
{
	if (imp->attach)
		dma_buf_detach(imp->dmabuf, imp->attach);
	if (imp->dmabuf)
		dma_buf_put(imp->dmabuf);
	memset(imp, 0, sizeof(*imp));
}

/**
 * dmakit_import_memory() - what memory an import is, to compare two sides.
 * @imp: the import.
 *
 * Return: the dmakit buffer behind one of our own dma-bufs, else the
 * dma-buf itself.
 */
const void *dmakit_import_memory(const struct dmakit_import *imp)
{
	if (imp->dmabuf->ops == &dmakit_dmabuf_ops)
		return ((struct export_priv *)imp->dmabuf->priv)->buf;
	return imp->dmabuf;
}
