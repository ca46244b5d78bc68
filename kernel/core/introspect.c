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

#include "compat.h"
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
	d->mapcount = dmakit_page_mapcount(page);
}

/*
 * What the user page table maps at @uva: the PFN of that page, or 0 if
 * nothing; *@pmd says whether a PMD entry maps it (2 MiB) rather than a PTE.
 * A walk of our own, lockless as get_user_pages_fast() walks: follow_pte()
 * is gone in 6.12, follow_pfnmap_start() takes only VM_IO/VM_PFNMAP
 * mappings, and neither pte_offset_map_lock() nor a page-table walker is
 * exported to modules. Each entry is read once; with interrupts off no page
 * table can be freed under the walk on x86 (freeing waits for an IPI or an
 * RCU grace period), and a 64-bit kernel reaches PTE pages through the
 * linear map (pte_offset_kernel()). The next level is found with
 * *_offset_lockless(), which take the entry's pointer as well as the value
 * read: where a level is folded at run time (arm64 with LPA2 on a CPU
 * without it: Debian's arm64 kernel on the zynqmp lane) the folded offset
 * is computed from the pointer into the real table, so a pointer to a
 * local copy would walk garbage. What it reports may change as soon as
 * it returns: it is a snapshot, as /proc/PID/pagemap is.
 */
static u64 mapped_pfn(struct mm_struct *mm, unsigned long uva, bool *pmd)
{
	unsigned long irqflags;
	pgd_t *pgdp, pgd;
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t pmdv;
	pte_t pte;
	u64 pfn = 0;

	*pmd = false;
	local_irq_save(irqflags);
	pgdp = pgd_offset(mm, uva);
	pgd = READ_ONCE(*pgdp);
	if (pgd_none(pgd) || pgd_bad(pgd))
		goto out;
	p4dp = p4d_offset_lockless(pgdp, pgd, uva);
	p4d = READ_ONCE(*p4dp);
	if (p4d_none(p4d) || p4d_bad(p4d))
		goto out;
	pudp = pud_offset_lockless(p4dp, p4d, uva);
	pud = READ_ONCE(*pudp);
	if (pud_none(pud) || pud_leaf(pud) || pud_bad(pud))
		goto out;	/* no buffer is mapped by 1 GiB entries */
	pmdv = READ_ONCE(*pmd_offset_lockless(pudp, pud, uva));
	if (pmd_leaf(pmdv)) {
		if (pmd_present(pmdv)) {
			pfn = pmd_pfn(pmdv) + ((uva & ~PMD_MASK) >> PAGE_SHIFT);
			*pmd = true;
		}
		goto out;
	}
	if (pmd_none(pmdv) || pmd_bad(pmdv))
		goto out;
	pte = READ_ONCE(*pte_offset_kernel(&pmdv, uva));
	if (pte_present(pte))
		pfn = pte_pfn(pte);
out:
	local_irq_restore(irqflags);
	return pfn;
}

/* pages of a user range mapped from @file; returns how many, or -errno */
static int describe_user_range(struct file *file, struct dmakit_buffer *buf,
			       u64 uaddr, u32 count,
			       struct dmakit_page_desc *descs)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool pmd;
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
		d->mapped_pfn = mapped_pfn(mm, uva, &pmd);
		if (d->mapped_pfn && d->mapped_pfn == d->pfn)
			d->flags |= DMAKIT_PAGE_MAPPED;
		if (d->mapped_pfn && pmd)
			d->flags |= DMAKIT_PAGE_PMD;
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
	bool privileged = dmakit_sees_addresses();
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
 * a mapping of this buffer), -ENOMEM, -EFAULT, -ENODEV (a coherent
 * buffer whose device went).
 */
long dmakit_buffer_translate(struct file *file,
			     struct dmakit_translate __user *uarg)
{
	struct dmakit_buffer *buf = file->private_data;
	struct dmakit_page_desc *descs;
	struct dmakit_translate arg;
	int n, idx;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!arg.count || arg.count > DMAKIT_TRANSLATE_MAX || arg.flags ||
	    arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	descs = kvcalloc(arg.count, sizeof(*descs), DMAKIT_USER_ARRAY_GFP);
	if (!descs)
		return -ENOMEM;

	/* a coherent buffer's memory may have gone with its device */
	idx = srcu_read_lock(&dmakit_buffer_srcu);
	/* filled under mmap_lock, copied out after it is dropped */
	if (dmakit_buffer_revoked(buf))
		n = -ENODEV;
	else if (arg.uaddr)
		n = describe_user_range(file, buf, arg.uaddr, arg.count, descs);
	else
		n = describe_offsets(buf, arg.offset, arg.count, descs);
	srcu_read_unlock(&dmakit_buffer_srcu, idx);
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
