/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dmakit user-space ABI: ioctls on /dev/dmakit (the control node) and on
 * the per-device nodes /dev/dmakit-<engine><N> (e.g. /dev/dmakit-edu0).
 *
 * Rules of this header:
 * - fixed-width types only, explicit padding, no pointers (user addresses
 *   travel as __u64);
 * - every struct has reserved fields that must be zero on input (the kernel
 *   answers EINVAL otherwise) so the ABI can grow without new ioctl numbers;
 * - DMAKIT_ABI_VERSION grows when something is added; it never breaks.
 *
 * The full reference, with the errno values of every call, is docs/abi.md.
 */
#ifndef _UAPI_DMAKIT_H
#define _UAPI_DMAKIT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DMAKIT_ABI_VERSION	5

#define DMAKIT_IOC_MAGIC	0xDA

/* ---- control node: /dev/dmakit ---------------------------------------- */

/**
 * struct dmakit_info - what the loaded module is (DMAKIT_IOC_INFO).
 * @abi_version:    DMAKIT_ABI_VERSION of the module.
 * @num_devices:    DMA devices bound to dmakit now (nodes /dev/dmakit-*).
 * @page_size:      PAGE_SIZE of the kernel.
 * @flags:          reserved, 0.
 * @module_version: NUL-terminated version string of the module.
 * @reserved:       0.
 */
struct dmakit_info {
	__u32 abi_version;
	__u32 num_devices;
	__u32 page_size;
	__u32 flags;
	char module_version[32];
	__u64 reserved[4];
};

#define DMAKIT_IOC_INFO		_IOR(DMAKIT_IOC_MAGIC, 0x00, struct dmakit_info)

/* ---- buffers ------------------------------------------------------------ */

/* enum dmakit_kind: backing store of a buffer, and how it is mapped */
#define DMAKIT_KIND_CONTIG	1	/* physically contiguous; its pages by a fault handler */
#define DMAKIT_KIND_PAGES	2	/* separate pages; installed by a fault handler */
#define DMAKIT_KIND_VMALLOC	3	/* vmalloc memory; fault handler via vmalloc_to_page */
#define DMAKIT_KIND_COHERENT	4	/* dma_alloc_coherent() for a device; dma_mmap_coherent() */

/* dmakit_alloc.flags */
#define DMAKIT_ALLOC_RDONLY	0x1	/* read-only fd: no write(), no writable mapping */
#define DMAKIT_ALLOC_CLOEXEC	0x2	/* the fd is close-on-exec */
/* pages/vmalloc: mmap installs every page (PFN mappings: no faults, not pinnable) */
#define DMAKIT_ALLOC_PREMAP	0x4
/*
 * contig: map it as PFNs (remap_pfn_range, 2 MiB entries where the kernel has
 * huge PFN maps), not page by page: not pinnable (no O_DIRECT, io_uring, ...)
 */
#define DMAKIT_ALLOC_PFNMAP	0x8

/**
 * struct dmakit_alloc - DMAKIT_IOC_ALLOC: create a buffer, get an fd for it.
 * @size:     in: bytes (1..max_buffer_mb MiB); out: rounded up to pages.
 * @kind:     in: DMAKIT_KIND_*.
 * @flags:    in: DMAKIT_ALLOC_*.
 * @fd:       out: the buffer's file descriptor. The buffer lives until its
 *            last fd is closed and its last mapping is gone.
 * @pad:      0.
 * @reserved: 0.
 *
 * The memory is zeroed. read/write/pread/pwrite/lseek on the fd copy data
 * in and out; mmap (MAP_SHARED only) maps it the kind's way.
 */
struct dmakit_alloc {
	__u64 size;
	__u32 kind;
	__u32 flags;
	__s32 fd;
	__u32 pad;
	__u64 reserved[2];
};

#define DMAKIT_IOC_ALLOC	_IOWR(DMAKIT_IOC_MAGIC, 0x01, struct dmakit_alloc)

/**
 * struct dmakit_buf_info - DMAKIT_IOC_BUF_INFO on a buffer fd.
 * @size:     bytes (a multiple of the page size).
 * @kind:     DMAKIT_KIND_*.
 * @flags:    DMAKIT_ALLOC_* it was created with.
 * @mappings: VMAs that map the buffer now (fork and split VMAs count).
 * @pad:      0.
 * @faults:   times a fault handler ran (fault-mapped kinds; contig with
 *            DMAKIT_ALLOC_PFNMAP mapped 2 MiB at a time on 6.12+: one per
 *            PMD or 4 KiB batch).
 * @reserved: 0.
 */
struct dmakit_buf_info {
	__u64 size;
	__u32 kind;
	__u32 flags;
	__u32 mappings;
	__u32 pad;
	__u64 faults;
	__u64 reserved[2];
};

#define DMAKIT_IOC_BUF_INFO	_IOR(DMAKIT_IOC_MAGIC, 0x10, struct dmakit_buf_info)

/* dmakit_page_desc.kva_kind: where the kernel reaches the page */
#define DMAKIT_KVA_LINEAR	1	/* the linear map: kva = phys + PAGE_OFFSET */
#define DMAKIT_KVA_VMALLOC	2	/* a vmalloc address, page tables of its own */

/* dmakit_page_desc.zone */
#define DMAKIT_ZONE_DMA		1	/* below 16 MiB (ISA DMA reaches it) */
#define DMAKIT_ZONE_DMA32	2	/* below 4 GiB */
#define DMAKIT_ZONE_NORMAL	3
#define DMAKIT_ZONE_MOVABLE	4

/* dmakit_page_desc.flags */
#define DMAKIT_PAGE_MAPPED	0x1	/* the user page table maps uva to this page now */
#define DMAKIT_PAGE_CONTIG_NEXT	0x2	/* the next described page is physically next */
#define DMAKIT_PAGE_BEYOND	0x4	/* uva lies beyond the buffer (grown VMA): no page */
#define DMAKIT_PAGE_PMD		0x8	/* a PMD entry (2 MiB) maps uva, not a PTE */

/**
 * struct dmakit_page_desc - one page of a buffer, all its addresses.
 * @uva:        user virtual address (0 when described by buffer offset).
 * @mapped_pfn: PFN the user page table holds for @uva, 0 if not present.
 * @pfn:        page frame number of the buffer's page.
 * @phys:       its physical address.
 * @kva:        kernel virtual address the module uses for it.
 * @offset:     byte offset of the page in the buffer.
 * @kva_kind:   DMAKIT_KVA_*.
 * @zone:       DMAKIT_ZONE_*.
 * @refcount:   page_count() of the page.
 * @mapcount:   page_mapcount(): user PTEs that map it (pfnmaps do not count).
 * @flags:      DMAKIT_PAGE_*.
 * @pad:        0.
 *
 * @mapped_pfn, @pfn, @phys, @kva and DMAKIT_PAGE_CONTIG_NEXT are reported
 * to CAP_SYS_ADMIN only (like /proc/PID/pagemap's PFNs and kptr_restrict);
 * others read them as 0.
 */
struct dmakit_page_desc {
	__u64 uva;
	__u64 mapped_pfn;
	__u64 pfn;
	__u64 phys;
	__u64 kva;
	__u64 offset;
	__u32 kva_kind;
	__u32 zone;
	__u32 refcount;
	__s32 mapcount;
	__u32 flags;
	__u32 pad;
};

/* largest dmakit_translate.count */
#define DMAKIT_TRANSLATE_MAX	1024

/**
 * struct dmakit_translate - DMAKIT_IOC_TRANSLATE on a buffer fd.
 * @uaddr:    in: page-aligned user address inside a mapping of this buffer,
 *            or 0 to describe the buffer by @offset.
 * @offset:   in: page-aligned byte offset into the buffer (with @uaddr 0).
 * @count:    in: pages to describe, 1..DMAKIT_TRANSLATE_MAX; out: pages
 *            described (fewer at the end of the buffer or of the mapping).
 * @flags:    in: 0.
 * @descs:    in: user pointer to @count struct dmakit_page_desc.
 * @reserved: 0.
 */
struct dmakit_translate {
	__u64 uaddr;
	__u64 offset;
	__u32 count;
	__u32 flags;
	__u64 descs;
	__u64 reserved[2];
};

#define DMAKIT_IOC_TRANSLATE	_IOWR(DMAKIT_IOC_MAGIC, 0x11, struct dmakit_translate)

/**
 * struct dmakit_export - DMAKIT_IOC_EXPORT on a buffer fd: the buffer as a
 * dma-buf, for any driver that imports one.
 * @flags:    in: DMAKIT_EXPORT_*.
 * @fd:       out: a dma-buf fd. A buffer has one dma-buf: each EXPORT
 *            gives another fd of it. It holds the buffer (the memory lives
 *            while either is open or mapped), may be written exactly when
 *            the buffer may, maps (mmap) the buffer's way, and answers
 *            DMA_BUF_IOCTL_SYNC. Not for coherent buffers (EOPNOTSUPP).
 * @reserved: 0.
 */
struct dmakit_export {
	__u32 flags;
	__s32 fd;
	__u64 reserved[2];
};

#define DMAKIT_EXPORT_CLOEXEC	0x1	/* the dma-buf fd is close-on-exec */

#define DMAKIT_IOC_EXPORT	_IOWR(DMAKIT_IOC_MAGIC, 0x12, struct dmakit_export)

/* ---- buffers for a device dmakit does not drive (CAP_SYS_ADMIN) ------- */

/* dmakit_alloc_for.mode: how mmap of the buffer fd maps the memory */
#define DMAKIT_MAP_CACHED	0	/* write-back, as any buffer */
#define DMAKIT_MAP_UNCACHED	1	/* pgprot_noncached (x86: UC-) */
#define DMAKIT_MAP_WC		2	/* pgprot_writecombine (x86: WC) */

/**
 * struct dmakit_alloc_for - DMAKIT_IOC_ALLOC_FOR on /dev/dmakit: memory
 * for a device that user space drives itself (UIO, a BAR mapping, ...).
 * @device:   in: the device's name on the PCI or the platform bus, e.g.
 *            "0000:00:05.0" (NUL-terminated).
 * @size:     in: bytes; out: rounded up to pages.
 * @kind:     in: DMAKIT_KIND_COHERENT (dma_alloc_coherent() for the
 *            device) or DMAKIT_KIND_CONTIG (pages mapped with
 *            dma_map_single(), DMA_BIDIRECTIONAL, for the device).
 * @flags:    in: DMAKIT_ALLOC_CLOEXEC.
 * @mode:     in: DMAKIT_MAP_*.
 * @dma_bits: in: 0 (the device's mask as it is), or the width of the DMA
 *            mask to set (no driver bound) or to find (a driver bound).
 * @fd:       out: the buffer fd (BUF_INFO, TRANSLATE, read/write, mmap in
 *            @mode, DMAKIT_IOC_SYNC).
 * @pad:      0.
 * @bus_addr: out: the bus address the device reaches the whole buffer at,
 *            one contiguous range of @size bytes.
 * @reserved: 0.
 */
struct dmakit_alloc_for {
	char device[64];
	__u64 size;
	__u32 kind;
	__u32 flags;
	__u32 mode;
	__u32 dma_bits;
	__s32 fd;
	__u32 pad;
	__u64 bus_addr;
	__u64 reserved[4];
};

#define DMAKIT_IOC_ALLOC_FOR	_IOWR(DMAKIT_IOC_MAGIC, 0x02, struct dmakit_alloc_for)

/* dmakit_sync.dir */
#define DMAKIT_SYNC_FOR_CPU	1	/* the device wrote: the CPU may read */
#define DMAKIT_SYNC_FOR_DEVICE	2	/* the CPU wrote: the device may read */

/**
 * struct dmakit_sync - DMAKIT_IOC_SYNC on the fd of a DMAKIT_IOC_ALLOC_FOR
 * buffer: hand a range to the CPU or to the device
 * (dma_sync_single_range_for_cpu/_for_device; nothing to do for coherent).
 * @offset:   in: byte offset in the buffer.
 * @len:      in: bytes, at least 1; @offset + @len within the buffer.
 * @dir:      in: DMAKIT_SYNC_*.
 * @flags:    in: 0.
 * @reserved: 0.
 */
struct dmakit_sync {
	__u64 offset;
	__u64 len;
	__u32 dir;
	__u32 flags;
	__u64 reserved[2];
};

#define DMAKIT_IOC_SYNC		_IOW(DMAKIT_IOC_MAGIC, 0x13, struct dmakit_sync)

/* ---- device nodes: /dev/dmakit-<engine><N> ----------------------------- */

/* enum dmakit_engine: the backend that drives a device node */
#define DMAKIT_ENGINE_EDU	1	/* QEMU edu PCI device, 1234:11e8 */
/* 2: DMAKIT_ENGINE_ISA_FDC, below */
#define DMAKIT_ENGINE_DMAENGINE	3	/* a dmaengine DMA_MEMCPY channel of the kernel */

/* enum dmakit_irq_mode: how a device's interrupt is delivered */
#define DMAKIT_IRQ_MSI		1
#define DMAKIT_IRQ_INTX		2

/**
 * struct dmakit_dev_info - identity of a device node (DMAKIT_IOC_DEV_INFO).
 * @engine:        DMAKIT_ENGINE_*.
 * @irq_mode:      DMAKIT_IRQ_*.
 * @irq:           Linux interrupt number in use (as in /proc/interrupts).
 * @dma_mask_bits: width of the DMA mask the driver declared.
 * @vendor:        PCI vendor ID.
 * @device:        PCI device ID.
 * @revision:      PCI revision ID.
 * @hw_id:         identification register of the device (edu: 0x010000ed).
 * @bar_len:       length of the register BAR (BAR0) in bytes.
 * @iommu:         1 if DMA of this device is translated by an IOMMU
 *                 (bus addresses are IOVAs), 0 if bus address == physical.
 * @index:         N of the node name.
 * @window:        bytes of device memory a TO/FROM_DEVICE transfer can
 *                 address (edu: 4095, see DMAKIT_EDU_WINDOW_MAX).
 * @name:          node name, e.g. "dmakit-edu0" (NUL-terminated).
 * @bus_id:        bus address, e.g. "0000:00:04.0" (NUL-terminated).
 * @reserved:      0.
 */
struct dmakit_dev_info {
	__u32 engine;
	__u32 irq_mode;
	__u32 irq;
	__u32 dma_mask_bits;
	__u16 vendor;
	__u16 device;
	__u32 revision;
	__u32 hw_id;
	__u32 iommu;
	__u64 bar_len;
	__u32 index;
	__u32 window;
	char name[32];
	char bus_id[32];
	__u64 reserved[4];
};

#define DMAKIT_IOC_DEV_INFO	_IOR(DMAKIT_IOC_MAGIC, 0x20, struct dmakit_dev_info)

/* ---- DMA transfers on a device node ------------------------------------ */

/* dmakit_xfer.dir */
#define DMAKIT_DIR_TO_DEVICE	1	/* buffer -> device window */
#define DMAKIT_DIR_FROM_DEVICE	2	/* device window -> buffer */
#define DMAKIT_DIR_COPY		3	/* buffer -> device -> dst buffer, any length */

/* dmakit_xfer.flags */
#define DMAKIT_XFER_ASYNC	0x1	/* queue it; reap with DMAKIT_IOC_XFER_REAP */
/*
 * TO/FROM_DEVICE: the CPU copies through the driver's own DMA memory instead
 * of mapping the buffer: a dma_pool chunk up to DMAKIT_STAGE_MAX bytes, a
 * page kept streaming-mapped for the device's life (ownership handed with
 * dma_sync_single_for_cpu/_for_device) above that.
 */
#define DMAKIT_XFER_STAGED	0x2
/*
 * Map and unmap the memory and cut the segments, in the caller's context,
 * but do not start the device: the cost of the mapping layer alone
 * (result: map_ns, unmap_ns, and the segments it would issue). Synchronous;
 * DMAKIT_IOC_XFER: not with STAGED; DMAKIT_IOC_XFER_USER: map_ns and
 * unmap_ns include pinning and unpinning, or copying in and out (on the
 * copy path a FROM_DEVICE or COPY target then receives zeroes, what the
 * unstarted device left in the kernel pages).
 */
#define DMAKIT_XFER_MAP_ONLY	0x4

/* the device's dma_pool of staging chunks: size, alignment, boundary */
#define DMAKIT_STAGE_MAX	512u
#define DMAKIT_STAGE_ALIGN	128u
#define DMAKIT_STAGE_BOUNDARY	4096u

/**
 * struct dmakit_xfer_result - what a transfer did (all fields out).
 * @id, @user_data: of the request.
 * @status:        0, or a negative errno: -EINTR (cancelled by a signal or
 *                 by closing the fd), -ETIMEDOUT (the device did not report
 *                 completion in timeout_ms), -EIO (the device cannot reach
 *                 the memory, or the DMA mapping failed), -ENODEV (device
 *                 removed), -ENOMEM.
 * @segments:      device transfers issued for the request.
 * @sg_entries:    scatterlist entries before DMA mapping (physically
 *                 contiguous runs; both buffers summed for COPY).
 * @dma_segments:  DMA segments after mapping (an IOMMU may merge entries).
 * @bounced:       DMA segments that went through a swiotlb bounce buffer.
 * @flags:         DMAKIT_RESULT_*.
 * @device_ns:     from the first segment's start to the last one's end.
 * @stage_dma:     DMAKIT_XFER_STAGED: bus address of the dma_pool chunk or
 *                 staging page used; 0 unless the caller has CAP_SYS_ADMIN.
 * @map_ns:        CPU time of the mapping layer before the DMA (mapping
 *                 every side, cutting segments), saturated at ~4.29 s.
 * @unmap_ns:      CPU time of unmapping after it (syncs and bounce copies
 *                 included).
 */
struct dmakit_xfer_result {
	__u64 id;
	__u64 user_data;
	__s32 status;
	__u32 segments;
	__u32 sg_entries;
	__u32 dma_segments;
	__u32 bounced;
	__u32 flags;
	__u64 device_ns;
	__u64 stage_dma;
	__u32 map_ns;
	__u32 unmap_ns;
};

/**
 * struct dmakit_xfer - DMAKIT_IOC_XFER: a DMA transfer between buffers and
 * the device.
 *
 * TO_DEVICE and FROM_DEVICE move @len bytes between the buffer @fd at
 * @offset and the device's memory at @dev_offset; @dev_offset + @len must fit
 * the device window (dmakit_dev_info.window). COPY moves @len bytes (any
 * length up to the buffers' sizes) from @fd at @offset through the device
 * window into @dst_fd at @dst_offset, window-sized chunk after chunk: both
 * buffers are DMA-mapped (streaming, dma_map_single for contig buffers,
 * dma_map_sgtable for the others) and the driver chains the device's
 * segments from its interrupt handler. @dst_fd may be @fd when the two
 * ranges do not overlap.
 *
 * Synchronous unless DMAKIT_XFER_ASYNC: the call returns when the device is
 * done, with the out fields filled. A signal ends the wait with EINTR only
 * after the device stopped touching the memory (the segment in flight
 * finishes; later ones are not issued). Asynchronous: the call returns at
 * once with @id; poll() on the device fd reports POLLPRI when a result can
 * be reaped (POLLIN and POLLOUT are always set: read and write never wait
 * for data).
 *
 * @fd:         in: buffer fd (source of TO_DEVICE and COPY, target of
 *              FROM_DEVICE).
 * @dst_fd:     in: COPY: target buffer fd; otherwise 0.
 * @offset:     in: byte offset in @fd's buffer.
 * @dst_offset: in: COPY: byte offset in @dst_fd's buffer; otherwise 0.
 * @len:        in: bytes, at least 1.
 * @dev_offset: in: TO/FROM_DEVICE: offset in the device window; COPY: 0.
 * @dir:        in: DMAKIT_DIR_*.
 * @flags:      in: DMAKIT_XFER_*.
 * @pad:        0.
 * @user_data:  in: returned with the result of an asynchronous transfer.
 * @id:         out: the request's number on this device (never 0).
 * @result:     out (synchronous): what happened; see struct dmakit_xfer_result.
 * @reserved:   0.
 */
struct dmakit_xfer {
	__s32 fd;
	__s32 dst_fd;
	__u64 offset;
	__u64 dst_offset;
	__u64 len;
	__u32 dev_offset;
	__u32 dir;
	__u32 flags;
	__u32 pad;
	__u64 user_data;
	__u64 id;
	struct dmakit_xfer_result result;
	__u64 reserved[2];
};

/* dmakit_xfer_result.flags */
#define DMAKIT_RESULT_COPIED	0x1	/* user memory went through a kernel copy, not pinned */

/* dmakit_xfer_reap.flags */
#define DMAKIT_REAP_WAIT	0x1	/* block until a result is there */

/**
 * struct dmakit_xfer_reap - DMAKIT_IOC_XFER_REAP: collect the result of an
 * asynchronous transfer submitted on this fd (oldest completion first).
 * EAGAIN: none completed yet (without DMAKIT_REAP_WAIT); ENOENT: this fd
 * has no asynchronous transfer outstanding.
 * @flags:    in: DMAKIT_REAP_*.
 * @pad:      0.
 * @result:   out.
 */
struct dmakit_xfer_reap {
	__u32 flags;
	__u32 pad;
	struct dmakit_xfer_result result;
};

/* asynchronous transfers one fd may have outstanding (then EBUSY) */
#define DMAKIT_XFER_MAX_ASYNC	64

/*
 * dmakit_xfer_user.flags, with DMAKIT_XFER_ASYNC: how user memory reaches
 * the device. By default a synchronous transfer of at most copy_max bytes
 * (module parameter) is copied through kernel pages, and anything else is
 * pinned (zero-copy).
 */
#define DMAKIT_XFER_ZEROCOPY	0x8	/* always pin */
/* DMAKIT_XFER_STAGED (0x2) forces the copy (TO/FROM_DEVICE, synchronous) */

/**
 * struct dmakit_xfer_user - DMAKIT_IOC_XFER_USER: a DMA transfer between
 * the caller's own memory (any of it: malloc, a mapped file, hugetlb) and
 * the device, as DMAKIT_IOC_XFER does for buffers.
 *
 * @iov:        in: user address of a struct iovec array, the source of
 *              TO_DEVICE and COPY, the target of FROM_DEVICE.
 * @dst_iov:    in: COPY: the target's iovec array; otherwise 0.
 * @iovcnt:     in: entries of @iov (1..1024).
 * @dst_iovcnt: in: entries of @dst_iov (COPY), otherwise 0.
 * @dir:        in: DMAKIT_DIR_*; the length is the sum of the iovecs (for
 *              COPY both sums must be equal).
 * @dev_offset: in: as in struct dmakit_xfer.
 * @flags:      in: DMAKIT_XFER_ASYNC, DMAKIT_XFER_STAGED,
 *              DMAKIT_XFER_ZEROCOPY, DMAKIT_XFER_MAP_ONLY.
 * @pad:        0.
 * @user_data:  in: returned with the result.
 * @id:         out: the request's number.
 * @len:        out: bytes moved.
 * @result:     out (synchronous).
 * @reserved:   0.
 */
struct dmakit_xfer_user {
	__u64 iov;
	__u64 dst_iov;
	__u32 iovcnt;
	__u32 dst_iovcnt;
	__u32 dir;
	__u32 dev_offset;
	__u32 flags;
	__u32 pad;
	__u64 user_data;
	__u64 id;
	__u64 len;
	struct dmakit_xfer_result result;
	__u64 reserved[2];
};

#define DMAKIT_IOC_XFER		_IOWR(DMAKIT_IOC_MAGIC, 0x30, struct dmakit_xfer)
#define DMAKIT_IOC_XFER_REAP	_IOWR(DMAKIT_IOC_MAGIC, 0x31, struct dmakit_xfer_reap)
#define DMAKIT_IOC_XFER_USER	_IOWR(DMAKIT_IOC_MAGIC, 0x32, struct dmakit_xfer_user)

/* ---- edu engine: register-level operations ----------------------------- */

/**
 * struct dmakit_edu_liveness - DMAKIT_IOC_EDU_LIVENESS.
 * @value:  in: written to the liveness register.
 * @result: out: read back; the device answers ~value.
 */
struct dmakit_edu_liveness {
	__u32 value;
	__u32 result;
};

/**
 * struct dmakit_edu_factorial - DMAKIT_IOC_EDU_FACTORIAL.
 * @n:      in: the argument; the device computes n! modulo 2^32.
 * @result: out: the device's answer, read after its completion interrupt.
 * @flags:  in: 0.
 * @pad:    0.
 */
struct dmakit_edu_factorial {
	__u32 n;
	__u32 result;
	__u32 flags;
	__u32 pad;
};

/* interrupt causes owned by the driver; DMAKIT_IOC_EDU_RAISE_IRQ refuses them */
#define DMAKIT_EDU_IRQ_FACTORIAL	0x00000001u
#define DMAKIT_EDU_IRQ_DMA		0x00000100u
#define DMAKIT_EDU_IRQ_DRIVER_MASK	(DMAKIT_EDU_IRQ_FACTORIAL | DMAKIT_EDU_IRQ_DMA)

/**
 * struct dmakit_edu_raise_irq - DMAKIT_IOC_EDU_RAISE_IRQ.
 * @causes:    in: bits to raise through the device's irq-raise register;
 *             non-zero, none of DMAKIT_EDU_IRQ_DRIVER_MASK.
 * @seen:      out: causes the interrupt handler read and acknowledged
 *             while this call waited (a superset of @causes on success).
 * @irq_count: out: interrupts the handler took for this device so far.
 */
struct dmakit_edu_raise_irq {
	__u32 causes;
	__u32 seen;
	__u64 irq_count;
};

/* largest transfer that fits the edu device window (see docs/hardware.md) */
#define DMAKIT_EDU_WINDOW_MAX	4095u

/**
 * struct dmakit_edu_loopback - DMAKIT_IOC_EDU_LOOPBACK.
 *
 * Copies @len bytes from user memory @src into a kernel page, DMAs them into
 * the device window with a streaming mapping (DMA_TO_DEVICE), DMAs them back
 * from the window into a second kernel page (DMA_FROM_DEVICE) and copies
 * that page to @dst. The data moves only through the device.
 *
 * @src:         in: user address of @len bytes to send.
 * @dst:         in: user address receiving the @len bytes that came back.
 * @len:         in: 1..DMAKIT_EDU_WINDOW_MAX.
 * @flags:       in: 0 (no flag is defined).
 * @phys:        out: physical address of the two pages (to, from); 0 unless
 *               the caller has CAP_SYS_ADMIN.
 * @dma:         out: bus addresses the device was given (to, from); 0
 *               unless the caller has CAP_SYS_ADMIN.
 * @bounced:     out: bit 0 / bit 1 set if the to / from mapping went
 *               through a swiotlb bounce buffer (reported to everyone).
 * @pad:         0.
 * @reserved:    0.
 */
struct dmakit_edu_loopback {
	__u64 src;
	__u64 dst;
	__u32 len;
	__u32 flags;
	__u64 phys[2];
	__u64 dma[2];
	__u32 bounced;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct dmakit_edu_stray - DMAKIT_IOC_EDU_STRAY (CAP_SYS_ADMIN): what
 * happens to a device write to an address nobody mapped for it.
 *
 * The driver takes a canary page of its own below the DMA mask and fills
 * it with 0xc3; the device fills its window with 0x3c, then is told to
 * write @len bytes of the window to the canary's *physical* address,
 * which was never DMA-mapped. Without an IOMMU that is a valid bus
 * address and the write lands: a device writes wherever it is told. Behind
 * an IOMMU it is an IOVA with no mapping: the IOMMU blocks the write (and
 * logs a DMAR fault); the canary stays intact.
 *
 * @len:    in: 1..DMAKIT_EDU_WINDOW_MAX.
 * @landed: out: canary bytes the device changed.
 * @addr:   out: the address the device was given.
 * @status: out: the request's status (0: the device reported completion).
 * @pad:    0.
 */
struct dmakit_edu_stray {
	__u32 len;
	__u32 landed;
	__u64 addr;
	__s32 status;
	__u32 pad;
};

#define DMAKIT_IOC_EDU_LIVENESS	_IOWR(DMAKIT_IOC_MAGIC, 0x40, struct dmakit_edu_liveness)
#define DMAKIT_IOC_EDU_FACTORIAL	_IOWR(DMAKIT_IOC_MAGIC, 0x41, struct dmakit_edu_factorial)
#define DMAKIT_IOC_EDU_RAISE_IRQ	_IOWR(DMAKIT_IOC_MAGIC, 0x42, struct dmakit_edu_raise_irq)
#define DMAKIT_IOC_EDU_LOOPBACK	_IOWR(DMAKIT_IOC_MAGIC, 0x43, struct dmakit_edu_loopback)
#define DMAKIT_IOC_EDU_STRAY	_IOWR(DMAKIT_IOC_MAGIC, 0x44, struct dmakit_edu_stray)

/* ---- ISA DMA: the floppy controller node /dev/dmakit-fd0 ----------------- */

/*
 * dmakit_dev_info of the floppy node: engine DMAKIT_ENGINE_ISA_FDC, irq_mode
 * DMAKIT_IRQ_ISA, irq 6, dma_mask_bits 24 (what the 8237 addresses), hw_id
 * the controller's answer to VERSION, bus_id "isa:0x3f0"; the PCI fields,
 * bar_len and window are 0.
 */
#define DMAKIT_ENGINE_ISA_FDC	2	/* PC floppy controller on an 8237 ISA DMA channel */
#define DMAKIT_IRQ_ISA		3	/* a legacy ISA interrupt line (edge-triggered) */

/* the medium dmakit-fd0 serves: 1.44 MB, 3.5", 80 x 2 x 18 sectors of 512 bytes */
#define DMAKIT_FLOPPY_SECTOR_SIZE	512u
#define DMAKIT_FLOPPY_SECTORS		18u	/* per track */
#define DMAKIT_FLOPPY_HEADS		2u
#define DMAKIT_FLOPPY_CYLINDERS		80u
#define DMAKIT_FLOPPY_TRACK_SIZE	(DMAKIT_FLOPPY_SECTOR_SIZE * DMAKIT_FLOPPY_SECTORS)
#define DMAKIT_FLOPPY_DISK_SIZE		(DMAKIT_FLOPPY_TRACK_SIZE * DMAKIT_FLOPPY_HEADS * \
					 DMAKIT_FLOPPY_CYLINDERS)

/* the driver fills its DMA buffer with this byte before every read */
#define DMAKIT_FDC_POISON	0x6b

/* dmakit_fdc_xfer.flags */
#define DMAKIT_FDC_XFER_WRITE	0x1	/* memory -> disk (WRITE DATA, DMA_MODE_WRITE) */

/**
 * struct dmakit_fdc_xfer - one DMA transfer of the floppy node: the
 * sectors of one track a request covers, one READ DATA or WRITE DATA
 * command (all fields out).
 * @offset:         byte offset on the disk of its first sector.
 * @len:            bytes; the count programmed into the 8237.
 * @residue_before: get_dma_residue() once the channel was armed, before
 *                  the command went to the controller: @len.
 * @residue_after:  get_dma_residue() after the command ended: 0 when all
 *                  of @len moved, @len when nothing did.
 * @status:         0 or a negative errno (-ETIMEDOUT, -EIO).
 * @flags:          DMAKIT_FDC_XFER_*.
 * @dma_mode:       the 8237 mode byte: 0x44 (DMA_MODE_READ, device ->
 *                  memory) or 0x48 (DMA_MODE_WRITE, memory -> device),
 *                  plus the channel number.
 * @cylinder:       C of the command.
 * @head:           H of the command.
 * @sector:         R of the command (first sector, from 1).
 * @eot:            last sector of the command.
 * @result:         the seven result bytes ST0 ST1 ST2 C H R N, or 0 if the
 *                  command had no result phase (timeout).
 */
struct dmakit_fdc_xfer {
	__u64 offset;
	__u32 len;
	__u32 residue_before;
	__u32 residue_after;
	__s32 status;
	__u32 flags;
	__u8 dma_mode;
	__u8 cylinder;
	__u8 head;
	__u8 sector;
	__u8 eot;
	__u8 result[7];
};

/**
 * struct dmakit_fdc_info - DMAKIT_IOC_FDC_INFO: the controller, its DMA
 * channel and buffer, counters since the module was loaded, and the last
 * DMA transfer (all fields out).
 * @io_base:     I/O base of the controller (0x3f0).
 * @irq:         its interrupt line (6).
 * @dma_channel: its ISA DMA channel (2).
 * @fdc_version: the controller's answer to VERSION (0x90: 82077AA or later).
 * @drive_type:  drive A's type in the CMOS (4: 1.44 MB, 3.5").
 * @buf_size:    bytes of the driver's ISA DMA buffer (one track or more).
 * @buf_bus:     its bus address: below 16 MiB, within one 64 KiB page; 0
 *               unless the caller has CAP_SYS_ADMIN.
 * @disk_size:   DMAKIT_FLOPPY_DISK_SIZE.
 * @requests:    read/write calls that reached the controller.
 * @transfers:   DMA transfers started (READ/WRITE DATA commands).
 * @bytes:       bytes moved by transfers that completed.
 * @errors:      transfers the controller ended with an error.
 * @timeouts:    commands whose interrupt did not come within timeout_ms.
 * @resets:      controller resets (the first request after each open
 *               resets; every timeout too).
 * @seeks:       SEEK commands (RECALIBRATE not counted).
 * @irqs:        interrupts the handler took.
 * @last:        the last DMA transfer.
 * @reserved:    0.
 */
struct dmakit_fdc_info {
	__u32 io_base;
	__u32 irq;
	__u32 dma_channel;
	__u32 fdc_version;
	__u32 drive_type;
	__u32 buf_size;
	__u64 buf_bus;
	__u64 disk_size;
	__u64 requests;
	__u64 transfers;
	__u64 bytes;
	__u64 errors;
	__u64 timeouts;
	__u64 resets;
	__u64 seeks;
	__u64 irqs;
	struct dmakit_fdc_xfer last;
	__u64 reserved[4];
};

/**
 * struct dmakit_fdc_peek - DMAKIT_IOC_FDC_PEEK: copy the first @len bytes
 * of the driver's ISA DMA buffer, as the last transfer left it.
 * @dst:      in: user address receiving @len bytes.
 * @len:      in: 1..dmakit_fdc_info.buf_size.
 * @flags:    in: 0.
 * @reserved: 0.
 */
struct dmakit_fdc_peek {
	__u64 dst;
	__u32 len;
	__u32 flags;
	__u64 reserved[2];
};

#define DMAKIT_IOC_FDC_INFO	_IOR(DMAKIT_IOC_MAGIC, 0x50, struct dmakit_fdc_info)
#define DMAKIT_IOC_FDC_PEEK	_IOW(DMAKIT_IOC_MAGIC, 0x51, struct dmakit_fdc_peek)

#endif /* _UAPI_DMAKIT_H */
