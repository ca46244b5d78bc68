// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit address introspection: every address a buffer page has.
 *
 * LDD3's "address types" made visible: for a page of a buffer, the user
 * virtual address a mapping gives it, the PFN the user page table holds,
 * the page's own PFN and physical address, the kernel virtual address the
 * module uses (linear map or vmalloc), its zone, and its reference and map
 * counts. The bus address a device would use comes with the DMA mapping
 * layer.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/dmakit.h>

#include "dmakit.h"

static u32 zone_of(struct page *page)
{
	switch (page_zonenum(page)) {
#ifdef CONFIG_ZONE_DMA
	case ZONE_DMA:
		return DMAKIT_ZONE_DMA;
#endif
#ifdef CONFIG_ZONE_DMA32
	case ZONE_DMA32:
		return DMAKIT_ZONE_DMA32;
#endif
	case ZONE_MOVABLE:
		return DMAKIT_ZONE_MOVABLE;
	default:
		return DMAKIT_ZONE_NORMAL;
	}
}

/* describe buffer page @index; @d->uva and @d->mapped_pfn are the caller's */
static void describe_page(struct dmakit_buffer *buf, pgoff_t index,
			  struct dmakit_page_desc *d)
{
	struct page *page = dmakit_buffer_page(buf, index);

	d->offset = (u64)index << PAGE_SHIFT;
	d->pfn = page_to_pfn(page);
	d->phys = PFN_PHYS(d->pfn);
	if (buf->kind == DMAKIT_KIND_VMALLOC) {
		d->kva = (unsigned long)buf->vaddr + d->offset;
		d->kva_kind = DMAKIT_KVA_VMALLOC;
	} else {
		d->kva = (unsigned long)page_address(page);
		d->kva_kind = DMAKIT_KVA_LINEAR;
	}
	d->zone = zone_of(page);
	d->refcount = page_count(page);
	d->mapcount = page_mapcount(page);
}

/* what the user page table maps at @uva: a PFN, or 0 if nothing */
static u64 mapped_pfn(struct mm_struct *mm, unsigned long uva)
{
	spinlock_t *ptl;	/* the PTE's lock: follow_pte() returns it held */
	pte_t *ptep;
	u64 pfn;

	/*
	 * follow_pte() is meant for PFN mappings, but it only walks the page
	 * table; reading one PTE under its lock is all that is done here.
	 */
	if (follow_pte(mm, uva, &ptep, &ptl))
		return 0;
	__acquire(ptl);		/* for sparse: held on success */
	pfn = pte_present(*ptep) ? pte_pfn(*ptep) : 0;
	pte_unmap_unlock(ptep, ptl);
	return pfn;
}

/* pages of a user range mapped from @file; returns how many, or -errno */
static int describe_user_range(struct file *file, struct dmakit_buffer *buf,
			       u64 uaddr, u32 count,
			       struct dmakit_page_desc *descs)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	u32 i;

	if (!PAGE_ALIGNED(uaddr) || uaddr >= TASK_SIZE)
		return -EINVAL;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, uaddr);
	if (!vma || vma->vm_file != file) {
		mmap_read_unlock(mm);
		return -EINVAL;
	}
	count = min_t(u64, count, (vma->vm_end - uaddr) >> PAGE_SHIFT);
	for (i = 0; i < count; i++) {
		unsigned long uva = uaddr + ((unsigned long)i << PAGE_SHIFT);
		pgoff_t index = vma->vm_pgoff + ((uva - vma->vm_start) >> PAGE_SHIFT);
		struct dmakit_page_desc *d = &descs[i];

		d->uva = uva;
		if (index >= buf->npages) {
			d->flags = DMAKIT_PAGE_BEYOND;
			continue;
		}
		describe_page(buf, index, d);
		d->mapped_pfn = mapped_pfn(mm, uva);
		if (d->mapped_pfn && d->mapped_pfn == d->pfn)
			d->flags |= DMAKIT_PAGE_MAPPED;
	}
	mmap_read_unlock(mm);
	return count;
}

static int describe_offsets(struct dmakit_buffer *buf, u64 offset, u32 count,
			    struct dmakit_page_desc *descs)
{
	pgoff_t first;
	u32 i;

	if (!PAGE_ALIGNED(offset) || offset >= buf->size)
		return -EINVAL;
	first = offset >> PAGE_SHIFT;
	count = min_t(u64, count, buf->npages - first);
	for (i = 0; i < count; i++)
		describe_page(buf, first + i, &descs[i]);
	return count;
}

/* flag each page whose successor in @descs is physically next */
static void mark_contig(struct dmakit_page_desc *descs, u32 count)
{
	u32 i;

	for (i = 0; i + 1 < count; i++)
		if (descs[i].pfn && descs[i].pfn + 1 == descs[i + 1].pfn)
			descs[i].flags |= DMAKIT_PAGE_CONTIG_NEXT;
}

/* contiguity, then what an unprivileged caller may not see */
static void finish_descs(struct dmakit_page_desc *descs, u32 count)
{
	bool privileged = capable(CAP_SYS_ADMIN);
	u32 i;

	mark_contig(descs, count);
	for (i = 0; i < count; i++) {
		struct dmakit_page_desc *d = &descs[i];

		if (!privileged) {
			d->mapped_pfn = 0;
			d->pfn = 0;
			d->phys = 0;
			d->kva = 0;
			d->flags &= ~DMAKIT_PAGE_CONTIG_NEXT;
		}
	}
}

/**
 * dmakit_buffer_translate() - DMAKIT_IOC_TRANSLATE on a buffer fd.
 * @file: the buffer's file.
 * @uarg: struct dmakit_translate from user space.
 *
 * Return: 0 with uarg->count pages described; -EINVAL (count, flags,
 * reserved, alignment, offset beyond the buffer, an address that is not in
 * a mapping of this buffer), -ENOMEM, -EFAULT.
 */
long dmakit_buffer_translate(struct file *file,
			     struct dmakit_translate __user *uarg)
{
	struct dmakit_buffer *buf = file->private_data;
	struct dmakit_page_desc *descs;
	struct dmakit_translate arg;
	int n;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!arg.count || arg.count > DMAKIT_TRANSLATE_MAX || arg.flags ||
	    arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	descs = kvcalloc(arg.count, sizeof(*descs), GFP_KERNEL);
	if (!descs)
		return -ENOMEM;

	/* filled under mmap_lock, copied out after it is dropped */
	if (arg.uaddr)
		n = describe_user_range(file, buf, arg.uaddr, arg.count, descs);
	else
		n = describe_offsets(buf, arg.offset, arg.count, descs);
	if (n < 0)
		goto out;
	finish_descs(descs, n);
	arg.count = n;
	if (copy_to_user(u64_to_user_ptr(arg.descs), descs,
			 array_size(n, sizeof(*descs))) ||
	    copy_to_user(uarg, &arg, sizeof(arg)))
		n = -EFAULT;
out:
	kvfree(descs);
	return n < 0 ? n : 0;
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "introspect_kunit.c"
#endif
