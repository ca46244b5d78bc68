/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel interfaces that changed between the kernels dmakit
 * is built and tested on: Debian's Linux 6.1 and 6.12, and 7.3. Each shim
 * names the release that changed the interface and gives the older kernels
 * the newer name, so that the logic is written once against the current API
 * and holds no version test of its own. What needed no shim (follow_pte(),
 * gone in 6.12: introspect.c walks the page table itself; is_swiotlb_buffer()
 * and is_swiotlb_active(), gone or unexported from 6.6 and 6.12: the engine
 * asks dma_max_mapping_size() and compares a bus address with phys_to_dma())
 * is said in docs/kernels.md.
 */
#ifndef DMAKIT_COMPAT_H
#define DMAKIT_COMPAT_H

#include <linux/version.h>
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uio.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "dmakit needs Linux 6.1 or later"
#endif

/* 6.3: vma->vm_flags is read-only; flags are set with vm_flags_set() */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * 6.8: NR_PAGE_ORDERS, the number of buddy orders (MAX_PAGE_ORDER + 1);
 * MAX_ORDER counted them up to 6.3 and was the highest order in 6.4-6.7.
 */
#ifndef NR_PAGE_ORDERS
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define NR_PAGE_ORDERS MAX_ORDER
#else
#define NR_PAGE_ORDERS (MAX_ORDER + 1)
#endif
#endif

/* 6.8: PCI_IRQ_LEGACY is called PCI_IRQ_INTX */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

/* 6.4: iov_iter_iovec() is gone; iter_iov_addr() and iter_iov_len() */
#ifndef iter_iov_addr
static inline void __user *iter_iov_addr(const struct iov_iter *i)
{
	return iov_iter_iovec(i).iov_base;
}

static inline size_t iter_iov_len(const struct iov_iter *i)
{
	return iov_iter_iovec(i).iov_len;
}
#endif

/*
 * 6.12: page_mapcount() is gone; folio_mapcount() (not exported in 6.1)
 * gives the same count for the order-0 pages of dmakit's buffers.
 */
static inline int dmakit_page_mapcount(struct page *page)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
	return page_mapcount(page);
#else
	return folio_mapcount(page_folio(page));
#endif
}

/*
 * 6.11: pcim_iomap_region() maps one BAR (pcim_iomap_regions() and
 * pcim_iomap_table() are deprecated from 6.11 on)
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
static inline void __iomem *pcim_iomap_region(struct pci_dev *pdev, int bar,
					      const char *name)
{
	int err = pcim_iomap_regions(pdev, BIT(bar), name);

	return err ? IOMEM_ERR_PTR(err) : pcim_iomap_table(pdev)[bar];
}
#endif

/*
 * A reference to @dmabuf unless its file's count already reached zero (its
 * release is under way and will free it): 6.13 turned f_count into
 * f_ref, a file_ref_t, with file_ref_get() for this.
 */
static inline bool dmakit_dma_buf_tryget(struct dma_buf *dmabuf)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
	return atomic_long_inc_not_zero(&dmabuf->file->f_count);
#else
	return file_ref_get(&dmabuf->file->f_ref);
#endif
}

/*
 * 7.x (after 6.12): kzalloc_obj() allocates one object of a variable's type
 * (checkpatch from 7.x asks for it instead of kzalloc(sizeof(...)))
 */
#ifndef kzalloc_obj
#define kzalloc_obj(P, GFP) kzalloc(sizeof(P), GFP)
#endif

/*
 * 6.12: huge PFN maps. Where the architecture has them
 * (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP, new in 6.12: x86-64 with THP) the core
 * calls ->huge_fault(vmf, order) for a VM_PFNMAP VMA as well, and
 * vmf_insert_pfn_pmd() writes a special PMD, from which GUP takes no page.
 * 6.1 calls ->huge_fault only for DAX and anonymous VMAs (and with an enum
 * page_entry_size, not an order): there dmakit_huge_pfnmap() is false (a
 * constant, for initializers too), a contig mapping stays remap_pfn_range()
 * at mmap time, and DMAKIT_VM_HUGE_FAULT() leaves the member out.
 * 6.17: pfn_t is gone and vmf_insert_pfn_pmd() takes the PFN itself; the
 * presence of <linux/pfn_t.h> in the tree says which of the two a kernel
 * has (6.12 has it, 7.3 not), whatever release it is: Kbuild looks
 * (DMAKIT_HAVE_PFN_T), since neither sparse nor checkpatch knows
 * __has_include.
 */
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
#define DMAKIT_VM_HUGE_FAULT(fn) .huge_fault = (fn),
#define dmakit_huge_pfnmap() true

#ifdef DMAKIT_HAVE_PFN_T
#include <linux/pfn_t.h>
static inline vm_fault_t dmakit_insert_pfn_pmd(struct vm_fault *vmf,
					       unsigned long pfn, bool write)
{
	/* no flags: memory with a struct page, not devmap (special PMD) */
	return vmf_insert_pfn_pmd(vmf, __pfn_to_pfn_t(pfn, 0), write);
}
#else
#define dmakit_insert_pfn_pmd vmf_insert_pfn_pmd
#endif
#else
#define DMAKIT_VM_HUGE_FAULT(fn)
#define dmakit_huge_pfnmap() false

static inline vm_fault_t dmakit_insert_pfn_pmd(struct vm_fault *vmf,
					       unsigned long pfn, bool write)
{
	return VM_FAULT_FALLBACK;
}
#endif

/*
 * 6.13 made symbol namespaces string literals: MODULE_IMPORT_NS("DMA_BUF")
 * where 6.12 and earlier take the bare name.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define DMAKIT_IMPORT_NS_DMA_BUF MODULE_IMPORT_NS("DMA_BUF")
#else
#define DMAKIT_IMPORT_NS_DMA_BUF MODULE_IMPORT_NS(DMA_BUF)
#endif

#endif /* DMAKIT_COMPAT_H */
