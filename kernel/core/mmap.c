// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit mmap: a buffer mapped into user space, each kind its own way.
 *
 *   contig   by default the way of pages and vmalloc below: its pages
 *            (alloc_pages_exact() split the block, each has a refcount)
 *            by the fault handler, so that get_user_pages() takes them
 *            (O_DIRECT, io_uring, vmsplice, process_vm_readv).
 *            With DMAKIT_ALLOC_PFNMAP, and always for memory from CMA:
 *            remap_pfn_range() of the whole range at mmap time (LDD3's
 *            simple_remap_mmap); the VMA is VM_PFNMAP | VM_IO and cannot
 *            grow (VM_DONTEXPAND). CMA stays there because a page of it
 *            must never be held past the buffer (cma_release() frees it
 *            whatever its refcount) and because FOLL_LONGTERM (io_uring's
 *            fixed buffers) would try to migrate such a page off CMA
 *            forever (__gup_longterm_locked() retries while a page that
 *            is not on the LRU stays unpinnable): GUP answers EFAULT for
 *            the VMA instead. On kernels with huge PFN maps (6.12+,
 *            x86-64 with THP), a VMA that holds a 2 MiB piece a PMD can map
 *            (virtual and physical address agree modulo 2 MiB, which
 *            dmakit_buffer_get_unmapped_area() arranges) is filled by
 *            faults instead: .huge_fault maps 2 MiB at once, .fault 4 KiB
 *            pages where no PMD fits or the kernel refuses one.
 *   coherent dma_mmap_coherent(): a remap_pfn_range() like PFNMAP contig's
 *            without an IOMMU, vm_map_pages() of the pages behind one;
 *            either way all at mmap time, and it cannot grow. When its
 *            device goes, revocation zaps it (revoke.c): then SIGBUS.
 *   pages,   a .fault handler installs the faulting page (LDD3's nopage,
 *   vmalloc  which 2.6.23 turned into fault), and with it up to fault_batch
 *            pages after it in one vm_insert_pages() call, so a sequential
 *            first touch takes one fault per batch, not per page. vmalloc
 *            pages were listed with vmalloc_to_page() at allocation. Such a
 *            VMA may grow with mremap, and a touch beyond the buffer is
 *            SIGBUS, never foreign memory. (remap_vmalloc_range() would map
 *            vmalloc memory at once but forbids growth; one fault path
 *            serves these kinds and contig.) With DMAKIT_ALLOC_PREMAP, mmap
 *            installs every page at once as PFN mappings, like PFNMAP
 *            contig: no faults, but get_user_pages() cannot take them
 *            (buffer_premap()).
 *
 * Every kind: MAP_SHARED only (a private copy of device memory makes no
 * sense), offset and length inside the buffer, and the core's rule for a
 * read-only fd (no VM_MAYWRITE, so mprotect cannot add PROT_WRITE);
 * VM_DONTDUMP, never VM_DONTCOPY (a child shares the buffer). The checklist
 * and the tests behind it: docs/security.md.
 */
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"

static unsigned int fault_batch = 16;
module_param(fault_batch, uint, 0644);
MODULE_PARM_DESC(fault_batch,
		 "pages a fault on a pages/vmalloc mapping installs at once (1..512, default 16 = the kernel's fault-around)");

static void buffer_vm_open(struct vm_area_struct *vma)
{
	struct dmakit_buffer *buf = vma->vm_file->private_data;

	atomic_inc(&buf->mappings);
}

static void buffer_vm_close(struct vm_area_struct *vma)
{
	struct dmakit_buffer *buf = vma->vm_file->private_data;

	atomic_dec(&buf->mappings);
}

/*
 * Pages a fault at buffer page @pgoff installs: up to @batch (the
 * parameter, clamped), within the buffer's @npages and the @vma_left
 * pages of the VMA from the faulting address on.
 */
static unsigned long fault_batch_pages(unsigned int batch, pgoff_t npages,
				       pgoff_t pgoff, unsigned long vma_left)
{
	return min3((unsigned long)clamp(batch, 1U, 512U),
		    (unsigned long)(npages - pgoff), vma_left);
}

static vm_fault_t buffer_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct dmakit_buffer *buf = vma->vm_file->private_data;
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned long batch, left;
	int err;

	/* vm_pgoff was checked at mmap time, but mremap can grow the VMA */
	if (vmf->pgoff >= buf->npages)
		return VM_FAULT_SIGBUS;
	atomic64_inc(&buf->faults);

	/* the faulting page and those after it, inside the VMA and the buffer */
	batch = fault_batch_pages(fault_batch, buf->npages, vmf->pgoff,
				  (vma->vm_end - addr) >> PAGE_SHIFT);
	if (batch == 1) {
		vmf->page = buf->pages[vmf->pgoff];
		get_page(vmf->page);	/* the core drops it at unmap */
		return 0;
	}
	left = batch;
	err = vm_insert_pages(vma, addr, &buf->pages[vmf->pgoff], &left);
	/* EBUSY: a page further on was mapped already; the first one is in */
	if (err && err != -EBUSY && left == batch)
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	return VM_FAULT_NOPAGE;
}

/* DMAKIT_ALLOC_PREMAP: the pages of a new VMA, one PTE each, in order */
struct premap {
	struct mm_struct *mm;
	struct page **pages;
	pgprot_t prot;
};

static int premap_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct premap *p = data;

	if (!pte_none(*pte))
		return -EBUSY;	/* a new VMA has none: never seen */
	/* special: no refcount, rmap or rss, as remap_pfn_range() installs */
	set_pte_at(p->mm, addr, pte, pte_mkspecial(mk_pte(*p->pages++, p->prot)));
	return 0;
}

/*
 * Install every page of a new pages/vmalloc VMA at mmap time, as PFN
 * mappings (i915's remap_io_sg() does the same for its own pages): no
 * fault on first touch, and one page-table walk for the whole range. The
 * price: get_user_pages() cannot take such a page (O_DIRECT, zero-copy
 * transfers of the mapping are EFAULT). The VMA stays VM_MIXEDMAP: a PTE
 * zapped later (MADV_DONTNEED) or a range grown by mremap comes back
 * through buffer_vm_fault(), refcounted.
 */
static int buffer_premap(struct dmakit_buffer *buf, struct vm_area_struct *vma)
{
	struct premap p = {
		.mm = vma->vm_mm,
		.pages = &buf->pages[vma->vm_pgoff],
		.prot = vma->vm_page_prot,
	};

	return apply_to_page_range(vma->vm_mm, vma->vm_start,
				   vma->vm_end - vma->vm_start, premap_pte, &p);
}

static const struct vm_operations_struct buffer_fault_vm_ops = {
	.open = buffer_vm_open,
	.close = buffer_vm_close,
	.fault = buffer_vm_fault,
};

static const struct vm_operations_struct buffer_pfn_vm_ops = {
	.open = buffer_vm_open,
	.close = buffer_vm_close,
};

/* coherent: revocation zaps it; no .fault, so a later touch is SIGBUS */
static void coherent_vm_open(struct vm_area_struct *vma)
{
	buffer_vm_open(vma);
	dmakit_buffer_vma_count(vma->vm_file->private_data, vma, true);
}

static void coherent_vm_close(struct vm_area_struct *vma)
{
	dmakit_buffer_vma_count(vma->vm_file->private_data, vma, false);
	buffer_vm_close(vma);
}

static const struct vm_operations_struct buffer_coherent_vm_ops = {
	.open = coherent_vm_open,
	.close = coherent_vm_close,
};

/*
 * The DMA layer knows how its memory may be mapped (page protection,
 * remapped or not); it honours vm_pgoff. The device may be going away:
 * inside a use of the buffer, with the mm noted for revocation (revoke.c).
 */
static int buffer_mmap_coherent(struct dmakit_buffer *buf,
				struct vm_area_struct *vma)
{
	int idx, err;

	/*
	 * Direct DMA remaps the range (remap_pfn_range sets these), but
	 * dma-iommu inserts the pages (vm_map_pages) and sets neither: the
	 * VMA could grow past what was installed, and core dumps would copy
	 * DMA memory. Same rules on every DMA layer.
	 */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	err = dmakit_remap_prepare(vma);
	if (err)
		return err;
	idx = srcu_read_lock(&dmakit_buffer_srcu);
	err = dmakit_buffer_revoked(buf) ? -ENODEV :
					   dmakit_buffer_note_mm(buf, vma);
	if (!err) {
		err = buf->foreign ? dmakit_foreign_mmap(buf, vma) :
				     dma_mmap_coherent(buf->dma_dev, vma, buf->vaddr,
						       buf->dma_handle, buf->size);
		if (err)	/* no .close follows a failed ->mmap */
			dmakit_buffer_vma_count(buf, vma, false);
	}
	srcu_read_unlock(&dmakit_buffer_srcu, idx);
	if (!err)
		vma->vm_ops = &buffer_coherent_vm_ops;
	return err;
}

static int no_pte(pte_t *pte, unsigned long addr, void *data)
{
	return 0;
}

/**
 * dmakit_remap_prepare() - make remap_pfn_range() safe to fail on 6.1.
 * @vma: the new VMA it will fill from vm_start.
 *
 * When 6.1's remap_pfn_range() fails before it installed the VMA's first
 * PTE (a page-table allocation refused, e.g. by the memory cgroup), its
 * error path zaps the VMA, and the zap looks that PTE up to release the
 * PAT reservation: WARN in untrack_pfn() (arch/x86/mm/pat/memtype.c; 6.16
 * reworked the tracking). Allocating the page tables of the first page
 * beforehand, and writing nothing, leaves remap_pfn_range() no way to fail
 * before that PTE is in place.
 *
 * Return: 0, or -ENOMEM (nothing to undo: the core frees the tables).
 */
int dmakit_remap_prepare(struct vm_area_struct *vma)
{
	return apply_to_page_range(vma->vm_mm, vma->vm_start, PAGE_SIZE,
				   no_pte, NULL);
}

static unsigned long contig_pfn(struct dmakit_buffer *buf, pgoff_t pgoff)
{
	return page_to_pfn(virt_to_page(buf->vaddr)) + pgoff;
}

/*
 * 4 KiB pages of a contig VMA filled by faults: where no PMD fits (the head
 * and tail of the VMA, a piece mremap or munmap split) or the kernel did
 * not ask for one (6.12 applies the THP sysfs policy). Once a fault comes
 * here, this 2 MiB piece will be PTEs whatever happens: the faulting page
 * and the rest of the piece inside the VMA go in at once (as
 * remap_pfn_range() would have put them in at mmap time), but never past
 * the end of the piece: PTEs there would keep the next piece from a PMD.
 */
static vm_fault_t contig_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct dmakit_buffer *buf = vma->vm_file->private_data;
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned long end = min(vma->vm_end, (addr & PMD_MASK) + PMD_SIZE);
	unsigned long pfn, i, batch;
	vm_fault_t ret;

	if (vmf->pgoff >= buf->npages)	/* VM_DONTEXPAND: never seen */
		return VM_FAULT_SIGBUS;
	atomic64_inc(&buf->faults);
	batch = min_t(unsigned long, buf->npages - vmf->pgoff,
		      (end - addr) >> PAGE_SHIFT);
	pfn = contig_pfn(buf, vmf->pgoff);
	for (i = 0; i < batch; i++) {
		/* an entry there already (a racing fault) is left as it is */
		ret = vmf_insert_pfn(vma, addr + (i << PAGE_SHIFT), pfn + i);
		if (ret != VM_FAULT_NOPAGE)
			return i ? VM_FAULT_NOPAGE : ret;
	}
	return VM_FAULT_NOPAGE;
}

/*
 * A PMD for the 2 MiB piece around the faulting address, if that piece lies
 * inside the VMA (hence the buffer) and starts at a 2 MiB-aligned physical
 * address; else VM_FAULT_FALLBACK, and the core calls contig_vm_fault().
 * The core asks for PUD_ORDER first on kernels with PUD PFN maps: no
 * buffer is 1 GiB, so that falls back too. Unused where the kernel has no
 * huge PFN maps (compat.h), which never calls it.
 */
static vm_fault_t __maybe_unused contig_vm_huge_fault(struct vm_fault *vmf,
						      unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct dmakit_buffer *buf = vma->vm_file->private_data;
	unsigned long haddr = vmf->address & PMD_MASK;
	unsigned long pfn;
	pgoff_t pgoff;

	if (order != PMD_SHIFT - PAGE_SHIFT)
		return VM_FAULT_FALLBACK;
	if (haddr < vma->vm_start || vma->vm_end - haddr < PMD_SIZE)
		return VM_FAULT_FALLBACK;
	pgoff = vma->vm_pgoff + ((haddr - vma->vm_start) >> PAGE_SHIFT);
	if (pgoff >= buf->npages || buf->npages - pgoff < PTRS_PER_PMD)
		return VM_FAULT_FALLBACK;
	pfn = contig_pfn(buf, pgoff);
	/* mremap may have moved the VMA to an address that disagrees */
	if (!IS_ALIGNED(pfn, PTRS_PER_PMD))
		return VM_FAULT_FALLBACK;
	atomic64_inc(&buf->faults);
	return dmakit_insert_pfn_pmd(vmf, pfn, vmf->flags & FAULT_FLAG_WRITE);
}

static const struct vm_operations_struct buffer_contig_fault_vm_ops = {
	.open = buffer_vm_open,
	.close = buffer_vm_close,
	.fault = contig_vm_fault,
	DMAKIT_VM_HUGE_FAULT(contig_vm_huge_fault)
};

/*
 * Can a PMD map part of a new contig VMA whose first page is @pfn? Only on
 * a kernel with huge PFN maps, when the virtual and the physical address
 * agree modulo 2 MiB, and when the VMA holds a whole aligned 2 MiB piece.
 * Otherwise remap_pfn_range() at mmap time does better than faults.
 */
static bool contig_pmd_fits(struct vm_area_struct *vma, unsigned long pfn)
{
	unsigned long first = ALIGN(vma->vm_start, PMD_SIZE);

	if (!dmakit_huge_pfnmap())
		return false;
	if ((vma->vm_start - PFN_PHYS(pfn)) & ~PMD_MASK)
		return false;
	return first >= vma->vm_start && first < vma->vm_end &&
	       vma->vm_end - first >= PMD_SIZE;
}

static int buffer_mmap_contig(struct dmakit_buffer *buf,
			      struct vm_area_struct *vma)
{
	unsigned long pfn = contig_pfn(buf, vma->vm_pgoff);
	int err;

	if (contig_pmd_fits(vma, pfn)) {
		/* what remap_pfn_range() sets; the fault handlers fill it */
		vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
		vma->vm_ops = &buffer_contig_fault_vm_ops;
		return 0;
	}
	err = dmakit_remap_prepare(vma);
	if (err)
		return err;
	vma->vm_ops = &buffer_pfn_vm_ops;
	/* sets VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP */
	return remap_pfn_range(vma, vma->vm_start, pfn,
			       vma->vm_end - vma->vm_start, vma->vm_page_prot);
}

/* contig memory mapped as PFNs (above); else its pages are in buf->pages */
static bool contig_pfn_mapped(const struct dmakit_buffer *buf)
{
	return buf->kind == DMAKIT_KIND_CONTIG &&
	       (buf->from_cma || (buf->flags & DMAKIT_ALLOC_PFNMAP));
}

/**
 * dmakit_buffer_get_unmapped_area() - where a buffer fd's mmap goes.
 * @file:  the buffer's file.
 * @addr:  the caller's hint (or MAP_FIXED address).
 * @len:   bytes.
 * @pgoff: offset into the buffer, in pages.
 * @flags: MAP_* flags.
 *
 * A PMD maps a 2 MiB-aligned virtual range to a 2 MiB-aligned physical one,
 * so a contig mapping can have PMDs only if its address agrees with the
 * physical address modulo 2 MiB. thp_get_unmapped_area() (exported on 6.1,
 * 6.12 and 7.3) places a mapping so that its address agrees with the file
 * offset it is given modulo 2 MiB, when the range holds a whole 2 MiB piece,
 * and otherwise as the kernel's default would: for PFN-mapped contig memory
 * it is given the physical offset (the page frame number) instead of the
 * buffer offset. The rest keep their own offset (mapped by 4 KiB pages),
 * which costs nothing. Set only where the kernel has huge PFN maps
 * (buffer.c).
 *
 * Return: the address, or -errno.
 */
unsigned long dmakit_buffer_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags)
{
	struct dmakit_buffer *buf = file->private_data;

	/* a range outside the buffer is refused by mmap itself */
	if (contig_pfn_mapped(buf) && pgoff < buf->npages)
		pgoff = contig_pfn(buf, pgoff);
	return thp_get_unmapped_area(file, addr, len, pgoff, flags);
}

/* do @pages pages from page @pgoff lie inside @npages? (overflow-safe) */
static bool mmap_range_ok(pgoff_t npages, unsigned long pgoff,
			  unsigned long pages)
{
	return pgoff < npages && pages <= npages - pgoff;
}

/**
 * dmakit_buffer_mmap() - the buffer fd's mmap.
 * @file: the buffer's file.
 * @vma:  the new mapping.
 *
 * Return: 0; -EINVAL for a private mapping or a range outside the buffer;
 * -EAGAIN/-ENOMEM from remap_pfn_range() or, premapping, from the page
 * table allocation.
 */
int dmakit_buffer_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct dmakit_buffer *buf = file->private_data;
	unsigned long pages = vma_pages(vma);
	int err;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (!mmap_range_ok(buf->npages, vma->vm_pgoff, pages))
		return -EINVAL;

	/* foreign buffers (any kind) are owned and mapped in their mode */
	if (buf->kind == DMAKIT_KIND_COHERENT || buf->foreign) {
		err = buffer_mmap_coherent(buf, vma);
		if (err)
			return err;
	} else if (contig_pfn_mapped(buf)) {
		err = buffer_mmap_contig(buf, vma);
		if (err)
			return err;
	} else {
		vma->vm_ops = &buffer_fault_vm_ops;
		/* vm_insert_pages() from the fault path needs VM_MIXEDMAP set now */
		vm_flags_set(vma, VM_MIXEDMAP | VM_DONTDUMP);
		if (buf->flags & DMAKIT_ALLOC_PREMAP) {
			/* on error the core unmaps what was installed */
			err = buffer_premap(buf, vma);
			if (err)
				return err;
		}
	}
	/* the core calls .open for copies and splits, not for the first VMA */
	buffer_vm_open(vma);
	return 0;
}

#if IS_ENABLED(CONFIG_KUNIT)
#include "mmap_kunit.c"
#endif
