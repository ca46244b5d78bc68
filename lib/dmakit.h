/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdmakit: a small C library over the dmakit module's ABI
 * (<dmakit/uapi/dmakit.h>, the same file as include/uapi/dmakit.h).
 *
 *   #include <dmakit/dmakit.h>
 *   cc prog.c $(pkg-config --cflags --libs dmakit)
 *
 * Conventions of every function here:
 * - a negative return value is a negative errno (-EINVAL, -ETIMEDOUT, ...);
 *   dmakit_strerror() says what it means for dmakit (docs/abi.md lists
 *   which call returns which);
 * - the library never prints, never exits and keeps no global state: it is
 *   safe to use from several threads on different handles;
 * - file descriptors are plain ints: a "ctl" is an open /dev/dmakit, a
 *   "dev" an open device node (/dev/dmakit-edu0, ...). Close them with
 *   close(), or dmakit_close().
 *
 * The library is a convenience, not a second ABI: every struct from the
 * uapi header is passed through as it is, so whatever the header documents
 * (fields, flags, limits) holds here too. An overview: docs/lib.md.
 */
#ifndef DMAKIT_DMAKIT_H
#define DMAKIT_DMAKIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "uapi/dmakit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DMAKIT_API __attribute__((visibility("default")))

/* ---- errors ----------------------------------------------------------- */

/**
 * dmakit_strerror() - what an errno means coming from dmakit.
 * @err: an errno value, negative (as the library returns it) or positive.
 *
 * Return: a static string explaining the value in dmakit's terms (which
 * limit, which node, what to check), or strerror()'s text for values dmakit
 * gives no special meaning. Never NULL.
 */
DMAKIT_API const char *dmakit_strerror(int err);

/* ---- the control node and device nodes -------------------------------- */

/* longest node path the library builds ("/dev/dmakit-edu0" and the like) */
#define DMAKIT_PATH_MAX	64

/**
 * dmakit_open() - open the control node /dev/dmakit.
 * @info: if not NULL, filled with the module's DMAKIT_IOC_INFO.
 *
 * Return: the fd, -ENOENT if the module is not loaded, -EPROTO if the
 * module's ABI is older than the one this library was built for, or
 * another negative errno.
 */
DMAKIT_API int dmakit_open(struct dmakit_info *info);

/**
 * dmakit_dev_path() - the path of a device node from what a user typed.
 * @name: "edu0", "dmakit-edu0" or a path ("/dev/dmakit-edu0", anything
 *        containing a '/').
 * @path: receives the path.
 * @size: bytes at @path.
 *
 * Return: 0, or -ENAMETOOLONG.
 */
DMAKIT_API int dmakit_dev_path(const char *name, char *path, size_t size);

/**
 * dmakit_dev_open() - open a device node.
 * @name:  as for dmakit_dev_path().
 * @flags: open(2) flags (O_RDWR is what transfers need; O_CLOEXEC is
 *         always added).
 *
 * Return: the fd or a negative errno (-ENOENT: no such node; -EACCES:
 * device nodes are root's).
 */
DMAKIT_API int dmakit_dev_open(const char *name, int flags);

/**
 * dmakit_dev_info() - DMAKIT_IOC_DEV_INFO on a device node.
 * @dev:  device fd.
 * @info: filled.
 *
 * Return: 0 or a negative errno (-ENOTTY: not a dmakit device node).
 */
DMAKIT_API int dmakit_dev_info(int dev, struct dmakit_dev_info *info);

/**
 * struct dmakit_dev_entry - one device node found by dmakit_dev_list().
 * @name:  node name, e.g. "dmakit-edu0".
 * @path:  its path, e.g. "/dev/dmakit-edu0".
 */
struct dmakit_dev_entry {
	char name[32];
	char path[DMAKIT_PATH_MAX];
};

/**
 * dmakit_dev_list() - the device nodes in /dev (dmakit-edu*, dmakit-fd*),
 * edu first, in index order.
 * @list: receives up to @max entries (may be NULL with @max 0).
 * @max:  room at @list.
 *
 * Return: how many nodes there are (which may exceed @max: call again with
 * more room), or a negative errno.
 */
DMAKIT_API int dmakit_dev_list(struct dmakit_dev_entry *list, size_t max);

/* close() that keeps the errno convention; negative fds are ignored */
DMAKIT_API int dmakit_close(int fd);

/* ---- buffers ---------------------------------------------------------- */

/**
 * struct dmakit_buf - a buffer (DMAKIT_IOC_ALLOC) and its mapping, if any.
 * @fd:      the buffer fd (pass it as a transfer's fd).
 * @kind:    DMAKIT_KIND_*.
 * @flags:   DMAKIT_ALLOC_* it was created with.
 * @size:    bytes (the requested size rounded up to pages).
 * @addr:    where dmakit_buf_map() mapped it, NULL when not mapped.
 *
 * Fill it with dmakit_buf_alloc() (which sets @fd to -1 when it fails);
 * release it with dmakit_buf_free(). Declare one with DMAKIT_BUF_INIT so
 * that freeing it is harmless before it was allocated. The fields may be
 * read freely; change them only through the functions.
 */
struct dmakit_buf {
	int fd;
	uint32_t kind;
	uint32_t flags;
	size_t size;
	void *addr;
};

#define DMAKIT_BUF_INIT	{ .fd = -1 }

/**
 * dmakit_buf_alloc() - allocate a zeroed buffer.
 * @fd:    the control node, or a device node: a DMAKIT_KIND_COHERENT buffer
 *         must be asked of the device that will use it.
 * @kind:  DMAKIT_KIND_*.
 * @size:  bytes, 1..max_buffer_mb MiB (rounded up to pages).
 * @flags: DMAKIT_ALLOC_* (DMAKIT_ALLOC_CLOEXEC is always added):
 *         DMAKIT_ALLOC_RDONLY, DMAKIT_ALLOC_PREMAP (pages/vmalloc: mapped
 *         whole at mmap time, not pinnable), DMAKIT_ALLOC_PFNMAP (contig:
 *         PFN mappings, 2 MiB where the kernel can, not pinnable; see
 *         docs/abi.md).
 * @buf:   filled; not mapped yet.
 *
 * Return: 0, or -EINVAL (size 0, unknown kind or flags, coherent on the
 * control node, DMAKIT_ALLOC_PREMAP on contig/coherent,
 * DMAKIT_ALLOC_PFNMAP on any kind but contig), -E2BIG (above max_buffer_mb; contig above 4 MiB without CMA),
 * -ENOMEM, -EMFILE.
 */
DMAKIT_API int dmakit_buf_alloc(int fd, uint32_t kind, size_t size, uint32_t flags,
				struct dmakit_buf *buf);

/**
 * dmakit_buf_map() - map the whole buffer (MAP_SHARED) into this process.
 * @buf:  an unmapped buffer; @buf->addr is set.
 * @prot: PROT_READ, or PROT_READ | PROT_WRITE (not with DMAKIT_ALLOC_RDONLY).
 *
 * Return: 0, -EBUSY if it is mapped already, or mmap's negative errno.
 */
DMAKIT_API int dmakit_buf_map(struct dmakit_buf *buf, int prot);

/* dmakit_buf_unmap() - undo dmakit_buf_map(); 0 if it was not mapped */
DMAKIT_API int dmakit_buf_unmap(struct dmakit_buf *buf);

/**
 * dmakit_buf_free() - unmap and close the buffer. The memory goes when no
 * other fd or mapping holds it (a transfer in flight holds it too).
 * @buf: a buffer from dmakit_buf_alloc(), or one that holds none
 *       (DMAKIT_BUF_INIT, zero-filled, failed or freed already: no-op).
 * Afterwards @buf->fd is -1, @buf->addr NULL, @buf->kind and @buf->size 0.
 */
DMAKIT_API void dmakit_buf_free(struct dmakit_buf *buf);

/* DMAKIT_IOC_BUF_INFO: size, kind, mappings, faults */
DMAKIT_API int dmakit_buf_info(const struct dmakit_buf *buf, struct dmakit_buf_info *info);

/**
 * dmakit_buf_write() - copy @len bytes into the buffer at @offset through
 * its fd (pwrite, not the mapping).
 *
 * Return: 0 when all of it was written, -ENOSPC beyond the end, or another
 * negative errno (-EBADF on a read-only buffer).
 */
DMAKIT_API int dmakit_buf_write(const struct dmakit_buf *buf, uint64_t offset,
				const void *data, size_t len);

/* dmakit_buf_read() - the reverse (pread); -ENODATA if the buffer ends first */
DMAKIT_API int dmakit_buf_read(const struct dmakit_buf *buf, uint64_t offset,
			       void *data, size_t len);

/* buffer kind names: "contig", "pages", "vmalloc", "coherent" */
DMAKIT_API const char *dmakit_kind_name(uint32_t kind);
/* the DMAKIT_KIND_* of a name, or -EINVAL */
DMAKIT_API int dmakit_kind_parse(const char *name);

/**
 * dmakit_translate() - every address of @count pages (DMAKIT_IOC_TRANSLATE,
 * as many calls as @count needs).
 * @buf:    the buffer.
 * @addr:   page-aligned address inside @buf's mapping, or NULL to describe
 *          the buffer by @offset.
 * @offset: page-aligned byte offset into the buffer (with @addr NULL).
 * @descs:  receives up to @count descriptions.
 * @count:  pages wanted (any number).
 *
 * Physical and kernel addresses read 0 without CAP_SYS_ADMIN.
 *
 * Return: pages described (fewer at the end of the buffer or mapping), or
 * a negative errno (-EINVAL: misaligned, not inside this buffer's mapping).
 */
DMAKIT_API int dmakit_translate(const struct dmakit_buf *buf, const void *addr,
				uint64_t offset, struct dmakit_page_desc *descs,
				size_t count);

/* ---- transfers -------------------------------------------------------- */

/**
 * dmakit_xfer() - DMAKIT_IOC_XFER as it is: @x is passed to the kernel
 * (the caller fills it; reserved fields must be 0).
 *
 * Return: 0 (synchronous: @x->result filled; asynchronous: @x->id set), or
 * a negative errno: the call's own (-EINVAL, -EBADF, -EBUSY, ...) or the
 * request's status (-ETIMEDOUT, -EIO, -EINTR, -ENODEV).
 */
DMAKIT_API int dmakit_xfer(int dev, struct dmakit_xfer *x);

/**
 * dmakit_to_device() - DMA @len bytes of @buf at @offset into the device
 * window at @dev_offset, synchronously.
 * @res: if not NULL, receives what the transfer did.
 *
 * @dev_offset + @len must fit dmakit_dev_info.window (4095 on edu).
 * Return: 0 or a negative errno, as dmakit_xfer().
 */
DMAKIT_API int dmakit_to_device(int dev, const struct dmakit_buf *buf, uint64_t offset,
				uint32_t dev_offset, uint64_t len,
				struct dmakit_xfer_result *res);

/* dmakit_from_device() - the reverse: the device window into @buf */
DMAKIT_API int dmakit_from_device(int dev, const struct dmakit_buf *buf, uint64_t offset,
				  uint32_t dev_offset, uint64_t len,
				  struct dmakit_xfer_result *res);

/**
 * dmakit_copy() - DMAKIT_DIR_COPY: @len bytes (any length) from @src at
 * @src_offset through the device into @dst at @dst_offset, synchronously.
 * The driver chains window-sized segments from its interrupt handler.
 * Return: 0 or a negative errno, as dmakit_xfer().
 */
DMAKIT_API int dmakit_copy(int dev, const struct dmakit_buf *src, uint64_t src_offset,
			   const struct dmakit_buf *dst, uint64_t dst_offset,
			   uint64_t len, struct dmakit_xfer_result *res);

/**
 * dmakit_submit() - queue @x asynchronously (DMAKIT_XFER_ASYNC is added).
 * @user_data: comes back in the result.
 *
 * Return: 0 with @x->id set, or a negative errno (-EBUSY: 64 outstanding
 * on this fd already).
 */
DMAKIT_API int dmakit_submit(int dev, struct dmakit_xfer *x, uint64_t user_data);

/**
 * dmakit_wait() - wait until a result of an asynchronous transfer can be
 * reaped on @dev (poll() for POLLPRI).
 * @timeout_ms: as poll(): -1 waits for ever, 0 only looks.
 *
 * Return: 1 if a result is there, 0 on timeout, or a negative errno.
 */
DMAKIT_API int dmakit_wait(int dev, int timeout_ms);

/**
 * dmakit_reap() - collect the oldest finished asynchronous result of @dev.
 * @res:  filled; the request's outcome is @res->status (0 or -errno).
 * @wait: nonzero: block until one is finished (DMAKIT_REAP_WAIT).
 *
 * Return: 0, -EAGAIN (none finished yet, without @wait), -ENOENT (this fd
 * has none outstanding), or another negative errno.
 */
DMAKIT_API int dmakit_reap(int dev, struct dmakit_xfer_result *res, int wait);

/**
 * dmakit_xfer_user() - DMAKIT_IOC_XFER_USER as it is (@x filled by the
 * caller: iovec arrays of this process's memory).
 * Return: as dmakit_xfer(); -EFAULT for memory that cannot be pinned.
 */
DMAKIT_API int dmakit_xfer_user(int dev, struct dmakit_xfer_user *x);

/**
 * dmakit_user_to_device() - DMA @len bytes of any memory of this process
 * (malloc'd, a mapped file...) into the device window at @dev_offset.
 * @flags: 0 (the module chooses: small synchronous transfers are copied,
 *         others pinned), DMAKIT_XFER_ZEROCOPY (always pin: no copy) or
 *         DMAKIT_XFER_STAGED (always copy).
 * @res:   if not NULL, what happened; res->flags has DMAKIT_RESULT_COPIED
 *         if the memory went through a kernel copy.
 */
DMAKIT_API int dmakit_user_to_device(int dev, const void *mem, size_t len,
				     uint32_t dev_offset, uint32_t flags,
				     struct dmakit_xfer_result *res);

/* dmakit_user_from_device() - the reverse: the device window into @mem */
DMAKIT_API int dmakit_user_from_device(int dev, void *mem, size_t len,
				       uint32_t dev_offset, uint32_t flags,
				       struct dmakit_xfer_result *res);

/* dmakit_user_copy() - COPY from @src through the device into @dst */
DMAKIT_API int dmakit_user_copy(int dev, const void *src, void *dst, size_t len,
				uint32_t flags, struct dmakit_xfer_result *res);

/* ---- statistics: /sys/class/misc/dmakit-eduN/stats/ -------------------- */

enum dmakit_stat {
	DMAKIT_STAT_REQUESTS,	/* submitted */
	DMAKIT_STAT_COMPLETED,
	DMAKIT_STAT_ERRORS,
	DMAKIT_STAT_CANCELLED,	/* EINTR / ENODEV */
	DMAKIT_STAT_TIMEOUTS,
	DMAKIT_STAT_BYTES,	/* of completed requests */
	DMAKIT_STAT_SEGMENTS,	/* device transfers finished */
	DMAKIT_STAT_BOUNCED,	/* DMA segments through swiotlb */
	DMAKIT_STAT_LOST_IRQS,	/* segments that ended without their interrupt */
	DMAKIT_STAT_STALE_IRQS,	/* DMA interrupts that ended nothing */
	DMAKIT_STAT_COUNT
};

struct dmakit_stats {
	uint64_t value[DMAKIT_STAT_COUNT];
};

/* the sysfs file name of a counter ("requests", ...), NULL out of range */
DMAKIT_API const char *dmakit_stat_name(int stat);

/**
 * dmakit_stats() - read a device's counters.
 * @name:  node name ("dmakit-edu0" or "edu0"; a path's last component).
 * @stats: filled.
 *
 * Return: 0, -ENOENT (no such device, or a node without counters such as
 * the floppy), or another negative errno.
 */
DMAKIT_API int dmakit_stats(const char *name, struct dmakit_stats *stats);

/* ---- edu register-level operations ------------------------------------ */

/* liveness register: write @value, *@result is what came back (~value) */
DMAKIT_API int dmakit_edu_liveness(int dev, uint32_t value, uint32_t *result);
/* the factorial unit: *@result = n! mod 2^32, read after its interrupt */
DMAKIT_API int dmakit_edu_factorial(int dev, uint32_t n, uint32_t *result);
/* raise interrupt causes; @r as in the uapi header (causes in, seen out) */
DMAKIT_API int dmakit_edu_raise_irq(int dev, struct dmakit_edu_raise_irq *r);
/* user memory -> device window -> user memory, @lb as in the uapi header */
DMAKIT_API int dmakit_edu_loopback(int dev, struct dmakit_edu_loopback *lb);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_DMAKIT_H */
