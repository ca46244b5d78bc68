// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit buffers: kernel memory with a file descriptor of its own.
 *
 * DMAKIT_IOC_ALLOC on /dev/dmakit creates one and returns an fd
 * ("anon_inode:dmakit-buffer"). The struct file owns the buffer: the memory
 * is freed by the file's release, which runs once the last fd is closed and
 * the last mapping (which holds the file through vm_file) is gone.
 *
 * Kinds (how the memory is obtained; mmap.c maps each its own way):
 *   contig   alloc_pages_exact(): physically contiguous, up to the buddy
 *            allocator's largest block (4 MiB on x86-64), split into
 *            order-0 pages with a refcount each, which are listed in an
 *            array like vmalloc's for the fault path (mmap.c), unless
 *            DMAKIT_ALLOC_PFNMAP asks for PFN mappings; larger ones from
 *            CMA where the kernel has it (dma_alloc_pages() on our own
 *            device: modules reach CMA only through the DMA API), always
 *            PFN-mapped (mmap.c says why);
 *   pages    one order-0 page at a time, kept in an array;
 *   vmalloc  __vmalloc(): virtually contiguous, zeroed, charged like the rest;
 *            its pages are also listed in an array, so that the fault path
 *            can insert them in batches like the pages kind's. The module
 *            reads and writes the data only through those pages
 *            (kmap_local_page(): the linear map, which the DMA API's cache
 *            maintenance covers), never through the vmalloc address, so a
 *            transfer needs no flush_kernel_vmap_range() before the DMA nor
 *            invalidate_kernel_vmap_range() after it (cachetlb.rst); code
 *            that touches the data through buf->vaddr must add them;
 *   coherent dma_alloc_coherent() for one device (DMAKIT_IOC_ALLOC on that
 *            device's node): the device reaches it at one bus address, no
 *            mapping or sync needed; the buffer holds the device, and its
 *            memory goes back when the device goes (revoke.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/dma-mapping.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"

static unsigned int max_buffer_mb = 128;
module_param(max_buffer_mb, uint, 0644);
MODULE_PARM_DESC(max_buffer_mb, "largest buffer DMAKIT_IOC_ALLOC creates, and most user memory one transfer pins or copies, in MiB (default 128)");

/* zeroed, charged to the caller's memory cgroup, no OOM kill on failure */
#define DMAKIT_BUFFER_GFP \
	(GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

/**
 * dmakit_buffer_page() - the page that holds byte index << PAGE_SHIFT.
 * @buf:   the buffer.
 * @index: page index, below buf->npages (callers check).
 */
struct page *dmakit_buffer_page(struct dmakit_buffer *buf, pgoff_t index)
{
	void *kva = buf->vaddr + (index << PAGE_SHIFT);

	switch (buf->kind) {
	case DMAKIT_KIND_CONTIG:
		return virt_to_page(kva);
	case DMAKIT_KIND_COHERENT:
		/* the linear map on x86; a remapping elsewhere */
		return is_vmalloc_addr(kva) ? vmalloc_to_page(kva) :
					      virt_to_page(kva);
	default:
		return buf->pages[index];
	}
}

/*
 * Beyond the buddy allocator's largest block only CMA can give one piece.
 * dma_alloc_pages() memory is non-coherent memory of the device it was
 * allocated for, here our platform device: the CPU owns it (the DMA layer
 * zeroed it through the CPU), and Documentation/core-api/dma-api.rst wants
 * dma_sync_single_for_device() before that device touches it and
 * dma_sync_single_for_cpu() before the CPU reads what it wrote. It never
 * touches it: cma_dma is kept for dma_free_pages() only. A transfer maps
 * the range for its own device (dma_map_single(), or an sg_table above
 * the mapping limit: side_map() in dma/map.c) and unmaps it when the device
 * is done, which hands the memory over and back with the cache
 * maintenance it needs, as for any contig buffer. So between the CPU and
 * the platform device there is nothing to sync, on any architecture.
 */
static int buffer_alloc_cma(struct dmakit_buffer *buf)
{
	struct device *dev = dmakit_alloc_device();
	struct page *page;

	if (!IS_ENABLED(CONFIG_DMA_CMA))
		return -E2BIG;	/* this kernel can never give that much */
	page = dma_alloc_pages(dev, buf->size, &buf->cma_dma, DMA_BIDIRECTIONAL,
			       GFP_KERNEL | __GFP_NOWARN);
	if (!page)
		return -ENOMEM;
	/* the DMA API's rule, which DMA-API debug enforces: check every handle */
	if (dma_mapping_error(dev, buf->cma_dma)) {
		dma_free_pages(dev, buf->size, page, buf->cma_dma,
			       DMA_BIDIRECTIONAL);
		return -ENOMEM;
	}
	buf->vaddr = page_address(page);
	buf->from_cma = true;
	return 0;
}

/**
 * dmakit_charge_locked() - charge @npages to the calling user's
 * RLIMIT_MEMLOCK count.
 * @npages: pages that will stay put for longer than the call.
 * @user:   out: the user charged (a reference), or NULL when nothing was.
 *
 * The count is the user's own count of locked pages (user_struct.locked_vm,
 * the one io_uring and iommufd charge the memory they pin to). It belongs
 * to the user, not to a process or an mm: an exec, an exit or an fd passed
 * over SCM_RIGHTS does not shed it; only dmakit_uncharge_locked() does.
 * CAP_IPC_LOCK is exempt and charged nothing (asked noaudit: not having it
 * is not a refusal).
 *
 * Return: 0, or -ENOMEM when the user would pass the caller's limit.
 */
int dmakit_charge_locked(unsigned long npages, struct user_struct **user)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct user_struct *u = current_user();
	long cur;

	*user = NULL;
	if (!npages || ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK))
		return 0;
	cur = atomic_long_read(&u->locked_vm);
	do {
		if (npages > limit || cur > limit - npages)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&u->locked_vm, &cur, cur + npages));
	*user = get_uid(u);
	return 0;
}

/**
 * dmakit_uncharge_locked() - give back what dmakit_charge_locked() charged.
 * @user:   as it set it (NULL: nothing to give back); its reference goes.
 * @npages: as it was given.
 */
void dmakit_uncharge_locked(struct user_struct *user, unsigned long npages)
{
	if (!user)
		return;
	atomic_long_sub(npages, &user->locked_vm);
	free_uid(user);
}

/*
 * CMA and coherent memory escape the memory cgroup (neither allocator takes
 * __GFP_ACCOUNT), and /dev/dmakit is open to everyone: charge them to the
 * allocating user's RLIMIT_MEMLOCK instead, until the buffer is freed,
 * whichever process holds it by then. -ENOMEM over the limit.
 */
static bool buffer_escapes_memcg(const struct dmakit_buffer *buf)
{
	return buf->kind == DMAKIT_KIND_COHERENT ||
	       (buf->kind == DMAKIT_KIND_CONTIG &&
		get_order(buf->size) >= NR_PAGE_ORDERS);
}

static int buffer_charge_locked(struct dmakit_buffer *buf)
{
	if (!buffer_escapes_memcg(buf))
		return 0;
	return dmakit_charge_locked(buf->npages, &buf->locked_user);
}

static void buffer_uncharge_locked(struct dmakit_buffer *buf)
{
	dmakit_uncharge_locked(buf->locked_user, buf->npages);
}

/* list the pages of contig or vmalloc memory, for the fault path (mmap.c) */
static int buffer_list_pages(struct dmakit_buffer *buf)
{
	pgoff_t i;

	buf->pages = kvcalloc(buf->npages, sizeof(*buf->pages),
			      DMAKIT_USER_ARRAY_GFP);
	if (!buf->pages)
		return -ENOMEM;
	for (i = 0; i < buf->npages; i++) {
		void *kva = buf->vaddr + (i << PAGE_SHIFT);

		buf->pages[i] = is_vmalloc_addr(kva) ? vmalloc_to_page(kva) :
						       virt_to_page(kva);
	}
	return 0;
}

static int buffer_alloc_memory(struct dmakit_buffer *buf)
{
	pgoff_t i;

	if (buf->foreign)
		return dmakit_foreign_alloc_memory(buf);
	switch (buf->kind) {
	case DMAKIT_KIND_COHERENT:
		/* zeroed by the DMA layer */
		buf->vaddr = dma_alloc_coherent(buf->dma_dev, buf->size,
						&buf->dma_handle,
						GFP_KERNEL | __GFP_NOWARN);
		return buf->vaddr ? 0 : -ENOMEM;
	case DMAKIT_KIND_CONTIG:
		if (get_order(buf->size) >= NR_PAGE_ORDERS)
			return buffer_alloc_cma(buf);
		buf->vaddr = alloc_pages_exact(buf->size, DMAKIT_BUFFER_GFP);
		if (!buf->vaddr)
			return -ENOMEM;
		return buf->flags & DMAKIT_ALLOC_PFNMAP ? 0 : buffer_list_pages(buf);
	case DMAKIT_KIND_VMALLOC:
		/*
		 * not vmalloc_user(): it does not charge the memory cgroup, and
		 * VM_USERMAP is for remap_vmalloc_range(), which mmap.c does not use
		 */
		buf->vaddr = __vmalloc(buf->size, DMAKIT_BUFFER_GFP);
		if (!buf->vaddr)
			return -ENOMEM;
		return buffer_list_pages(buf);
	case DMAKIT_KIND_PAGES:
		buf->pages = kvcalloc(buf->npages, sizeof(*buf->pages),
				      DMAKIT_USER_ARRAY_GFP);
		if (!buf->pages)
			return -ENOMEM;
		for (i = 0; i < buf->npages; i++) {
			buf->pages[i] = alloc_page(DMAKIT_BUFFER_GFP);
			if (!buf->pages[i])
				return -ENOMEM;	/* caller frees what there is */
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * The highest physical address of the buffer: a transfer can tell in one
 * comparison with the DMA mask that no page of it lies beyond the device.
 */
static void buffer_note_phys_max(struct dmakit_buffer *buf)
{
	pgoff_t i;

	/* contig: one block; coherent: never mapped per transfer */
	if (!buf->pages || buf->kind == DMAKIT_KIND_CONTIG) {
		buf->phys_max = virt_addr_valid(buf->vaddr) ?
				virt_to_phys(buf->vaddr) + buf->size - 1 : 0;
		return;
	}
	for (i = 0; i < buf->npages; i++)
		buf->phys_max = max(buf->phys_max,
				    page_to_phys(buf->pages[i]) + PAGE_SIZE - 1);
}

/**
 * dmakit_buffer_free_memory() - give back a buffer's memory and its charge.
 * @buf: the buffer; for the coherent kind its device is still there.
 *
 * Once: from buffer_free(), or from revocation while the device goes.
 */
void dmakit_buffer_free_memory(struct dmakit_buffer *buf)
{
	pgoff_t i;

	if (buf->foreign) {
		dmakit_foreign_free_memory(buf);
		goto uncharge;
	}
	switch (buf->kind) {
	case DMAKIT_KIND_COHERENT:
		if (buf->vaddr)
			dma_free_coherent(buf->dma_dev, buf->size, buf->vaddr,
					  buf->dma_handle);
		break;
	case DMAKIT_KIND_CONTIG:
		kvfree(buf->pages);	/* only a list, if any */
		if (buf->from_cma)
			dma_free_pages(dmakit_alloc_device(), buf->size,
				       virt_to_page(buf->vaddr), buf->cma_dma,
				       DMA_BIDIRECTIONAL);
		else if (buf->vaddr)
			free_pages_exact(buf->vaddr, buf->size);
		break;
	case DMAKIT_KIND_VMALLOC:
		kvfree(buf->pages);	/* only a list: vfree() frees the pages */
		vfree(buf->vaddr);
		break;
	case DMAKIT_KIND_PAGES:
		for (i = 0; buf->pages && i < buf->npages && buf->pages[i]; i++)
			__free_page(buf->pages[i]);
		kvfree(buf->pages);
		break;
	}
uncharge:
	buf->vaddr = NULL;
	buf->pages = NULL;
	buffer_uncharge_locked(buf);
	buf->locked_user = NULL;
}

static void buffer_free(struct dmakit_buffer *buf)
{
	if (buf->owned)
		dmakit_buffer_detach(buf, dmakit_buffer_free_memory);
	else
		dmakit_buffer_free_memory(buf);
	put_device(buf->dma_dev);
	kfree(buf);
}

static int buffer_release(struct inode *inode, struct file *file)
{
	buffer_free(file->private_data);
	return 0;
}

/*
 * How many of @count bytes at @pos a read or write of a @size-byte buffer
 * moves: 0 at or beyond the end, -EINVAL for a negative position.
 */
ssize_t dmakit_buffer_io_span(size_t size, loff_t pos, size_t count)
{
	if (pos < 0)
		return -EINVAL;
	if (pos >= size || !count)
		return 0;
	return min_t(size_t, count, size - pos);
}

/*
 * Copy between the buffer and user memory one page at a time, whatever the
 * kind: kmap_local_page() is today's kmap_atomic().
 */
static ssize_t buffer_copy(struct dmakit_buffer *buf, char __user *ubuf,
			   size_t count, loff_t *ppos, bool to_user)
{
	ssize_t span = dmakit_buffer_io_span(buf->size, *ppos, count);
	loff_t pos = *ppos;
	size_t done = 0;

	if (span <= 0)
		return span;
	count = span;

	while (done < count) {
		size_t offset = offset_in_page(pos);
		size_t chunk = min_t(size_t, count - done, PAGE_SIZE - offset);
		struct page *page = dmakit_buffer_page(buf, pos >> PAGE_SHIFT);
		void *kaddr = kmap_local_page(page);
		unsigned long left;

		if (to_user)
			left = copy_to_user(ubuf + done, kaddr + offset, chunk);
		else
			left = copy_from_user(kaddr + offset, ubuf + done, chunk);
		kunmap_local(kaddr);
		done += chunk - left;
		pos += chunk - left;
		if (left)
			break;
		cond_resched();
	}
	if (!done)
		return -EFAULT;
	*ppos = pos;
	return done;
}

/* read or write, unless the memory went with its device (ENODEV) */
static ssize_t buffer_rw(struct dmakit_buffer *buf, char __user *ubuf,
			 size_t count, loff_t *ppos, bool to_user)
{
	ssize_t ret = -ENODEV;
	int idx;

	idx = srcu_read_lock(&dmakit_buffer_srcu);
	if (!dmakit_buffer_revoked(buf))
		ret = buffer_copy(buf, ubuf, count, ppos, to_user);
	srcu_read_unlock(&dmakit_buffer_srcu, idx);
	return ret;
}

static ssize_t buffer_read(struct file *file, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	return buffer_rw(file->private_data, ubuf, count, ppos, true);
}

static ssize_t buffer_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct dmakit_buffer *buf = file->private_data;

	if (count && *ppos >= buf->size)
		return -ENOSPC;
	return buffer_rw(buf, (char __user *)ubuf, count, ppos, false);
}

static loff_t buffer_llseek(struct file *file, loff_t offset, int whence)
{
	struct dmakit_buffer *buf = file->private_data;

	return fixed_size_llseek(file, offset, whence, buf->size);
}

static long buffer_info(struct dmakit_buffer *buf,
			struct dmakit_buf_info __user *uarg)
{
	struct dmakit_buf_info info = {
		.size = buf->size,
		.kind = buf->kind,
		.flags = buf->flags,
		.mappings = atomic_read(&buf->mappings),
		.faults = atomic64_read(&buf->faults),
	};

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long buffer_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	switch (cmd) {
	case DMAKIT_IOC_BUF_INFO:
		return buffer_info(file->private_data, (void __user *)arg);
	case DMAKIT_IOC_TRANSLATE:
		return dmakit_buffer_translate(file, (void __user *)arg);
	case DMAKIT_IOC_EXPORT:
		return dmakit_buffer_export(file, (void __user *)arg);
	case DMAKIT_IOC_SYNC:
		return dmakit_foreign_sync(file->private_data,
					   (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations buffer_fops = {
	.owner = THIS_MODULE,
	.release = buffer_release,
	.read = buffer_read,
	.write = buffer_write,
	.llseek = buffer_llseek,
	.splice_read = dmakit_buffer_splice_read,
	.mmap = dmakit_buffer_mmap,
	/* 2 MiB-placed contig mappings, where PMDs can map them (mmap.c) */
	.get_unmapped_area = dmakit_huge_pfnmap() ?
			     dmakit_buffer_get_unmapped_area : NULL,
	.unlocked_ioctl = buffer_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * dmakit_buffer_copy_kernel() - copy between a buffer and kernel memory.
 * @buf:       the buffer.
 * @off:       byte offset in it; @off + @len within the buffer (checked by
 *             the caller).
 * @kbuf:      kernel memory.
 * @len:       bytes.
 * @to_buffer: copy @kbuf into the buffer, else the other way.
 */
void dmakit_buffer_copy_kernel(struct dmakit_buffer *buf, u64 off, void *kbuf,
			       size_t len, bool to_buffer)
{
	while (len) {
		size_t chunk = min_t(size_t, len, PAGE_SIZE - offset_in_page(off));
		void *kaddr = kmap_local_page(dmakit_buffer_page(buf,
							 off >> PAGE_SHIFT));

		if (to_buffer)
			memcpy(kaddr + offset_in_page(off), kbuf, chunk);
		else
			memcpy(kbuf, kaddr + offset_in_page(off), chunk);
		kunmap_local(kaddr);
		off += chunk;
		kbuf += chunk;
		len -= chunk;
	}
}

/* the most memory one buffer, or one transfer of user memory, may hold */
u64 dmakit_max_buffer_bytes(void)
{
	return (u64)READ_ONCE(max_buffer_mb) << 20;
}

/* the buffer behind @file, or NULL if @file is not a dmakit buffer */
struct dmakit_buffer *dmakit_buffer_of(struct file *file)
{
	return file->f_op == &buffer_fops ? file->private_data : NULL;
}

static int buffer_check(const struct dmakit_alloc *arg,
			struct dmakit_buffer_owner *owner)
{
	if (arg->flags & ~(DMAKIT_ALLOC_RDONLY | DMAKIT_ALLOC_CLOEXEC |
			   DMAKIT_ALLOC_PREMAP | DMAKIT_ALLOC_PFNMAP))
		return -EINVAL;
	/* PFN mappings instead of contig's pages; the others have no choice */
	if ((arg->flags & DMAKIT_ALLOC_PFNMAP) && arg->kind != DMAKIT_KIND_CONTIG)
		return -EINVAL;
	/* the other kinds are mapped whole at mmap time anyway */
	if ((arg->flags & DMAKIT_ALLOC_PREMAP) &&
	    arg->kind != DMAKIT_KIND_PAGES && arg->kind != DMAKIT_KIND_VMALLOC)
		return -EINVAL;
	if (arg->pad || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	if (arg->kind < DMAKIT_KIND_CONTIG || arg->kind > DMAKIT_KIND_COHERENT)
		return -EINVAL;
	/* coherent memory belongs to a device: ask its node */
	if (arg->kind == DMAKIT_KIND_COHERENT && !owner)
		return -EINVAL;
	if (!arg->size)
		return -EINVAL;
	if (arg->size > dmakit_max_buffer_bytes())
		return -E2BIG;
	return 0;
}

static struct file *buffer_create(struct dmakit_alloc *arg,
				  struct dmakit_buffer_owner *owner,
				  bool foreign, u32 map_mode)
{
	struct dmakit_buffer *buf;
	struct file *file;
	int err;

	err = buffer_check(arg, owner);
	if (err)
		return ERR_PTR(err);

	buf = kzalloc_obj(*buf, GFP_KERNEL | __GFP_ACCOUNT);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	buf->size = PAGE_ALIGN(arg->size);
	buf->npages = buf->size >> PAGE_SHIFT;
	buf->kind = arg->kind;
	buf->flags = arg->flags;
	buf->foreign = foreign;
	buf->map_mode = map_mode;
	if (arg->kind == DMAKIT_KIND_COHERENT || foreign)
		buf->dma_dev = get_device(dmakit_owner_device(owner));
	err = buffer_charge_locked(buf);
	if (err)
		goto err_free;
	err = buffer_alloc_memory(buf);
	if (err)
		goto err_free;
	buffer_note_phys_max(buf);

	file = anon_inode_getfile("dmakit-buffer", &buffer_fops, buf,
				  arg->flags & DMAKIT_ALLOC_RDONLY ? O_RDONLY : O_RDWR);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_free;
	}
	/* a buffer is a fixed-size random-access object */
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
	if (buf->dma_dev) {
		err = dmakit_buffer_attach(buf, owner, file);
		if (err) {
			fput(file);	/* frees the buffer through release */
			return ERR_PTR(err);
		}
	}
	arg->size = buf->size;
	return file;

err_free:
	buffer_free(buf);
	return ERR_PTR(err);
}

/**
 * dmakit_buffer_create() - a buffer and its file, as DMAKIT_IOC_ALLOC asks.
 * @arg:   the request, checked here; arg->size is set to what it got.
 * @owner: the owner of the buffers of the device whose node was asked
 *         (coherent kind: the memory is that device's, and is revoked with
 *         it), or NULL for the control node.
 *
 * Touches no user memory, so that a device node can call it inside its
 * alive section (coherent memory is the device's).
 *
 * Return: the file (the buffer's owner), or ERR_PTR(-EINVAL) (size 0,
 * kind, flags, reserved fields), -E2BIG (above max_buffer_mb, or contig
 * above 4 MiB on a kernel without CMA), -ENOMEM, -ENODEV (the device is
 * going away).
 */
struct file *dmakit_buffer_create(struct dmakit_alloc *arg,
				  struct dmakit_buffer_owner *owner)
{
	return buffer_create(arg, owner, false, DMAKIT_MAP_CACHED);
}

/**
 * dmakit_buffer_create_for() - a foreign buffer (foreign.c) and its file.
 * @arg:      the request: kind coherent or contig, flags, size (checked).
 * @owner:    the owner of the foreign device's buffers.
 * @map_mode: DMAKIT_MAP_*.
 *
 * Return: as dmakit_buffer_create(), and -EIO, -EOPNOTSUPP of
 * dmakit_foreign_alloc_memory().
 */
struct file *dmakit_buffer_create_for(struct dmakit_alloc *arg,
				      struct dmakit_buffer_owner *owner,
				      u32 map_mode)
{
	return buffer_create(arg, owner, true, map_mode);
}

/**
 * dmakit_buffer_publish() - give a new buffer's file an fd and say so.
 * @uarg: where the request came from: arg->fd and arg->size go back there.
 * @arg:  the request, as dmakit_buffer_create() left it.
 * @file: from dmakit_buffer_create(); the fd's, or put on failure.
 *
 * Return: 0, -EMFILE, -EFAULT.
 */
long dmakit_buffer_publish(struct dmakit_alloc __user *uarg,
			   struct dmakit_alloc *arg, struct file *file)
{
	int fd = get_unused_fd_flags(arg->flags & DMAKIT_ALLOC_CLOEXEC ?
				     O_CLOEXEC : 0);

	if (fd < 0) {
		fput(file);	/* frees the buffer through release */
		return fd;
	}
	arg->fd = fd;
	if (copy_to_user(uarg, arg, sizeof(*arg))) {
		fput(file);
		put_unused_fd(fd);
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;
}

/**
 * dmakit_buffer_alloc() - DMAKIT_IOC_ALLOC: create a buffer and its fd.
 * @uarg:  struct dmakit_alloc from user space.
 * @owner: see dmakit_buffer_create().
 *
 * Return: 0 with the new fd in uarg->fd; -EINVAL (size 0, kind, flags,
 * reserved fields), -E2BIG (above max_buffer_mb, or contig above 4 MiB on
 * a kernel without CMA), -ENOMEM, -EMFILE, -EFAULT.
 */
long dmakit_buffer_alloc(struct dmakit_alloc __user *uarg,
			 struct dmakit_buffer_owner *owner)
{
	struct dmakit_alloc arg;
	struct file *file;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	file = dmakit_buffer_create(&arg, owner);
	if (IS_ERR(file))
		return PTR_ERR(file);
	return dmakit_buffer_publish(uarg, &arg, file);
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "buffer_kunit.c"
#endif
