/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit internals shared between the files of the module, whatever their
 * layer (core/, dma/, backends/; the Kbuild puts this directory on the
 * include path). Each declaration names the file that defines it.
 */
#ifndef _DMAKIT_H
#define _DMAKIT_H

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/user_namespace.h>
#include <linux/wait.h>

#include "engine.h"

struct device;
struct dma_buf;
struct dma_buf_attachment;
struct dma_fence;
struct sg_table;
struct dmakit_alloc;
struct dmakit_alloc_for;
struct dmakit_buffer_owner;
struct dmakit_export;
struct dmakit_sync;
struct dmakit_owned;
struct dmakit_translate;
struct dmakit_xfer;
struct dmakit_xfer_reap;
struct dmakit_xfer_user;
struct iov_iter;
struct user_struct;
struct kiocb;
struct file;
struct page;
struct vm_area_struct;

/**
 * struct dmakit_buffer - a buffer: backing store plus its mmap strategy.
 * @size:     bytes, a multiple of PAGE_SIZE.
 * @npages:   size >> PAGE_SHIFT.
 * @kind:     DMAKIT_KIND_*; fixed for the buffer's life.
 * @flags:    DMAKIT_ALLOC_* it was created with.
 * @vaddr:    kernel address of the memory (contig: linear map; vmalloc).
 * @from_cma: contig memory came from CMA through dma_alloc_pages().
 * @cma_dma:  then, the handle dma_alloc_pages() gave with it.
 * @pages:    the pages (pages kind; vmalloc kind, and contig without
 *            DMAKIT_ALLOC_PFNMAP and not from CMA: a list for the fault
 *            path, the memory is freed as a whole).
 * @dma_dev:  coherent kind: the device the memory belongs to (held).
 * @dma_handle: coherent kind: its bus address for @dma_dev.
 * @locked_user: CMA and coherent memory: the user whose RLIMIT_MEMLOCK
 *            count (user_struct.locked_vm) it is charged to (held), or
 *            NULL (not charged: a memcg kind, or CAP_IPC_LOCK).
 * @mappings: VMAs mapping the buffer (vm_ops open/close).
 * @faults:   times the fault handler ran.
 * @owned:    coherent kind: what ties it to the owner of @dma_dev's
 *            buffers, which revokes it when the device goes (revoke.c);
 *            else NULL.
 * @revoked:  the memory went with the device: uses answer ENODEV.
 * @dmabuf:   its dma-buf while one exists (dmabuf.c; not held).
 * @foreign:  made by DMAKIT_IOC_ALLOC_FOR for @dma_dev, a device dmakit
 *            does not drive (foreign.c): coherent, or contig mapped for it
 *            at @dma_handle; owned, revoked when its driver binding
 *            changes; no dma-buf, no transfer.
 * @map_mode: foreign: DMAKIT_MAP_* of its mappings (and of its linear map).
 *
 * Owned by its struct file (anon inode "dmakit-buffer"): freed when the
 * file's last reference goes, and a mapping holds one through vm_file.
 * After creation only the counters change, and, for a buffer with an
 * owner, what revocation changes under the owner's lock (revoke.c).
 */
struct dmakit_buffer {
	size_t size;
	pgoff_t npages;
	u32 kind;
	u32 flags;
	void *vaddr;
	bool from_cma;
	dma_addr_t cma_dma;
	struct page **pages;
	phys_addr_t phys_max;		/* last byte of its highest page */
	struct device *dma_dev;
	dma_addr_t dma_handle;
	struct user_struct *locked_user;
	atomic_t mappings;
	atomic64_t faults;
	struct dmakit_owned *owned;
	bool revoked;
	struct dma_buf *dmabuf;
	bool foreign;
	u32 map_mode;
};

#define DMAKIT_VERSION "0.1.0"

/*
 * Arrays whose length the caller chose (page lists, sg runs, descriptors):
 * charged to the caller's memory cgroup, and a length the kernel cannot
 * give is the caller's ENOMEM, not a kernel allocation failure report
 * (kvmalloc's vmalloc fallback reports one without __GFP_NOWARN)
 */
#define DMAKIT_USER_ARRAY_GFP (GFP_KERNEL_ACCOUNT | __GFP_NOWARN)

/*
 * May the caller see physical and bus addresses? Asked on paths open to
 * everyone, where "no" is not a refusal but a redaction: noaudit, so that
 * unprivileged callers do not fill the audit log with capability denials.
 */
#define dmakit_sees_addresses() ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN)

/* core/main.c: the device that stands for "no particular hardware" (64-bit DMA) */
struct device *dmakit_alloc_device(void);

/* core/main.c: how many device nodes exist, for DMAKIT_IOC_INFO */
void dmakit_device_added(void);
void dmakit_device_removed(void);

/* core/buffer.c: buffer objects and their fds */
long dmakit_buffer_alloc(struct dmakit_alloc __user *uarg,
			 struct dmakit_buffer_owner *owner);
struct file *dmakit_buffer_create(struct dmakit_alloc *arg,
				  struct dmakit_buffer_owner *owner);
long dmakit_buffer_publish(struct dmakit_alloc __user *uarg,
			   struct dmakit_alloc *arg, struct file *file);
struct file *dmakit_buffer_create_for(struct dmakit_alloc *arg,
				      struct dmakit_buffer_owner *owner,
				      u32 map_mode);
struct dmakit_buffer *dmakit_buffer_of(struct file *file);
u64 dmakit_max_buffer_bytes(void);
int dmakit_charge_locked(unsigned long npages, struct user_struct **user);
void dmakit_uncharge_locked(struct user_struct *user, unsigned long npages);
void dmakit_buffer_copy_kernel(struct dmakit_buffer *buf, u64 off, void *kbuf,
			       size_t len, bool to_buffer);
struct page *dmakit_buffer_page(struct dmakit_buffer *buf, pgoff_t index);

/* core/revoke.c: buffers that belong to a device go with it */
struct dmakit_buffer_owner *dmakit_owner_new(struct device *dev);
void dmakit_owner_get(struct dmakit_buffer_owner *owner);
void dmakit_owner_put(struct dmakit_buffer_owner *owner);
struct device *dmakit_owner_device(struct dmakit_buffer_owner *owner);
void dmakit_owner_revoke(struct dmakit_buffer_owner *owner,
			 void (*free)(struct dmakit_buffer *buf));
int dmakit_buffer_attach(struct dmakit_buffer *buf,
			 struct dmakit_buffer_owner *owner, struct file *file);
void dmakit_buffer_detach(struct dmakit_buffer *buf,
			  void (*free)(struct dmakit_buffer *buf));

/*
 * A use of a buffer's memory (read/write, TRANSLATE, mmap) runs inside
 * srcu_read_lock(&dmakit_buffer_srcu) and answers ENODEV if
 * dmakit_buffer_revoked(): revocation waits such uses out before it frees
 * the memory (revoke.c). Any context that may sleep; never around a wait
 * for a device.
 */
extern struct srcu_struct dmakit_buffer_srcu;

static inline bool dmakit_buffer_revoked(struct dmakit_buffer *buf)
{
	return READ_ONCE(buf->revoked);
}

int dmakit_buffer_note_mm(struct dmakit_buffer *buf, struct vm_area_struct *vma);
void dmakit_buffer_vma_count(struct dmakit_buffer *buf,
			     struct vm_area_struct *vma, bool add);
void dmakit_buffer_free_memory(struct dmakit_buffer *buf);

/* core/foreign.c: buffers for a device dmakit does not drive */
int dmakit_foreign_init(void);
void dmakit_foreign_exit(void);
long dmakit_foreign_alloc(struct dmakit_alloc_for __user *uarg);
int dmakit_foreign_alloc_memory(struct dmakit_buffer *buf);
void dmakit_foreign_free_memory(struct dmakit_buffer *buf);
int dmakit_foreign_mmap(struct dmakit_buffer *buf, struct vm_area_struct *vma);
long dmakit_foreign_sync(struct dmakit_buffer *buf,
			 struct dmakit_sync __user *uarg);

/* core/dmabuf.c: a buffer as a dma-buf; a dma-buf as one side of a transfer */
long dmakit_buffer_export(struct file *file, struct dmakit_export __user *uarg);

/**
 * struct dmakit_import - a dma-buf attached to the device of a transfer.
 * @dmabuf: the dma-buf (held).
 * @attach: the device's attachment.
 * @sgt:    its mapping while mapped.
 * @dir:    DMA_TO_DEVICE or DMA_FROM_DEVICE.
 */
struct dmakit_import {
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	enum dma_data_direction dir;
};

int dmakit_import_get(struct dmakit_import *imp, int fd,
		      struct dmakit_engine *eng, u64 off, u64 len, bool written);
int dmakit_import_map(struct dmakit_import *imp);
void dmakit_import_unmap(struct dmakit_import *imp);
void dmakit_import_put(struct dmakit_import *imp);
const void *dmakit_import_memory(const struct dmakit_import *imp);

struct dma_buf *dmakit_buffer_dmabuf_get(struct dmakit_buffer *buf);
int dmakit_resv_wait(struct dma_buf *dmabuf, bool written, u64 own_context);

/* dma/fence.c: dmakit's own DMA as fences on the dma-bufs it touches */
void dmakit_fence_init_engine(struct dmakit_engine *eng);
struct dma_fence *dmakit_fence_new(struct dmakit_engine *eng);
void dmakit_fence_end(struct dmakit_engine *eng, struct dma_fence *fence,
		      int status);
void dmakit_fence_exit(void);

/* core/buffer.c: bytes of a read or write at @pos (0 past the end) */
ssize_t dmakit_buffer_io_span(size_t size, loff_t pos, size_t count);

/* core/splice.c: the buffer's pages (or copies) into a pipe */
struct pipe_inode_info;
ssize_t dmakit_buffer_splice_read(struct file *in, loff_t *ppos,
				  struct pipe_inode_info *pipe, size_t len,
				  unsigned int flags);

/* core/introspect.c: every address of a buffer's pages */
long dmakit_buffer_translate(struct file *file,
			     struct dmakit_translate __user *uarg);

/* core/mmap.c: mapping a buffer into user space, per kind */
int dmakit_buffer_mmap(struct file *file, struct vm_area_struct *vma);
int dmakit_remap_prepare(struct vm_area_struct *vma);
unsigned long dmakit_buffer_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags);

/**
 * struct dmakit_client - an open device file's asynchronous transfers.
 * @eng:         the device's engine.
 * @lock:        guards the lists, @outstanding, @closing, @inflight and
 *               @want; taken before the engine's lock, never in interrupt
 *               context.
 * @pending:     submitted, not yet ended.
 * @completed:   ended, result not yet reaped.
 * @outstanding: entries on both lists.
 * @closing:     the file is being released: no new requests.
 * @inflight:    pages of user memory the asynchronous requests of the
 *               file hold (pinned, or io_uring's fixed buffers), counted
 *               per pin: XFER_USER's until reaped, read/write's until
 *               completed; bounded by max_inflight_mb (dma/umem.c).
 * @want:        pages of the last submission refused for lack of room, so
 *               that poll reports room only when it fits; 0 after one fit.
 * @wait:        woken when a request of this client ends or gives its
 *               room back.
 */
struct dmakit_client {
	struct dmakit_engine *eng;
	spinlock_t lock;		/* see above */
	struct list_head pending;
	struct list_head completed;
	unsigned int outstanding;
	bool closing;
	unsigned long inflight;
	unsigned long want;
	wait_queue_head_t wait;
};

/* dma/map.c, dma/stage.c: the mapping layer and the engine's staging memory */
bool dmakit_dma_translated(struct device *dev);
bool dmakit_dma_reaches(struct device *dev, phys_addr_t last);
int dmakit_stage_pool_create(struct dmakit_engine *eng);
void dmakit_stage_pool_destroy(struct dmakit_engine *eng);

/* dma/client.c: an open device file's asynchronous transfers */
void dmakit_client_init(struct dmakit_client *client,
			struct dmakit_engine *eng);
void dmakit_client_release(struct dmakit_client *client);
__poll_t dmakit_client_poll(struct dmakit_client *client, struct file *file,
			    poll_table *wait);
long dmakit_xfer_reap(struct dmakit_client *client,
		      struct dmakit_xfer_reap __user *uarg);

/* dma/xfer.c: transfer requests, their ioctls, edu's test paths */
long dmakit_xfer_ioctl(struct dmakit_client *client,
		       struct dmakit_xfer __user *uarg);
long dmakit_xfer_user_ioctl(struct dmakit_client *client,
			    struct dmakit_xfer_user __user *uarg);
int dmakit_xfer_loopback(struct dmakit_engine *eng, struct page *pages[2],
			 u32 len, dma_addr_t dma[2], bool bounced[2],
			 bool *leaked);
int dmakit_xfer_stray(struct dmakit_engine *eng, u32 len, u64 *addr,
		      u32 *landed);

/* dma/umem.c: read/write of a device node on the caller's own pages */
ssize_t dmakit_xfer_iter(struct dmakit_client *client, struct kiocb *iocb,
			 struct iov_iter *iter, bool to_device);

/* backends/edu.c: the edu PCI driver */
int dmakit_edu_init(void);
void dmakit_edu_exit(void);

/*
 * backends/dmaengine.c: nodes on the kernel's dmaengine memcpy channels;
 * built only where the kernel has dmaengine (kernel/Kbuild): elsewhere
 * there is no channel to drive (and no dma_channels parameter)
 */
#if IS_ENABLED(CONFIG_DMA_ENGINE)
int dmakit_dmaengine_init(void);
void dmakit_dmaengine_exit(void);
#else
static inline int dmakit_dmaengine_init(void)
{
	return 0;
}

static inline void dmakit_dmaengine_exit(void)
{
}
#endif

/**
 * struct dmakit_isa_buf - memory an 8237 channel can reach (backends/isa.c).
 * @vaddr: kernel address (linear map).
 * @bus:   ISA bus address: below 16 MiB, the block within one 64 KiB page.
 * @size:  bytes asked for.
 * @order: of the page block.
 */
struct dmakit_isa_buf {
	void *vaddr;
	unsigned long bus;
	size_t size;
	unsigned int order;
};

/**
 * struct dmakit_isa_chan - an 8-bit ISA DMA channel held with request_dma().
 * @dmanr: channel number, 0..3.
 */
struct dmakit_isa_chan {
	unsigned int dmanr;
};

/* backends/isa.c: ISA DMA through the 8237 (<asm/dma.h>) */
bool dmakit_isa_reachable(unsigned long bus, size_t len);
int dmakit_isa_buf_alloc(struct dmakit_isa_buf *buf, size_t size);
void dmakit_isa_buf_free(struct dmakit_isa_buf *buf);
int dmakit_isa_request(struct dmakit_isa_chan *chan, unsigned int dmanr,
		       const char *name);
void dmakit_isa_free(struct dmakit_isa_chan *chan);
int dmakit_isa_program(struct dmakit_isa_chan *chan,
		       const struct dmakit_isa_buf *buf, size_t len,
		       bool to_device, bool unmask, u8 *mode);
unsigned int dmakit_isa_stop(struct dmakit_isa_chan *chan);

/*
 * backends/fdc_node.c: the floppy controller on ISA DMA, /dev/dmakit-fd0;
 * built only with the ISA DMA API (kernel/Kbuild): elsewhere there is no
 * controller to find, as on a PC without one
 */
#if IS_ENABLED(CONFIG_ISA_DMA_API)
int dmakit_fdc_init(void);
void dmakit_fdc_exit(void);
#else
static inline int dmakit_fdc_init(void)
{
	return 0;
}

static inline void dmakit_fdc_exit(void)
{
}
#endif

#endif /* _DMAKIT_H */
