// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmakit: thin, checked wrappers over the dmakit ioctls, buffer
 * mappings and sysfs counters. See dmakit.h for the contract of each
 * function; the library never prints or exits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <dmakit/dmakit.h>

/* the negative errno of the last failed system call */
static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

static int do_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? neg_errno() : 0;
}

/* ---- errors ----------------------------------------------------------- */

static const struct {
	int err;
	const char *text;
} dmakit_errors[] = {
	{ ENOENT, "no such node: is the dmakit module loaded? (nodes: /dev/dmakit, "
		  "/dev/dmakit-edu<N>); from a reap: no asynchronous transfer "
		  "outstanding on this fd" },
	{ EACCES, "permission denied: device nodes are root's (mode 0600) unless "
		  "the udev rule gives them to the dmakit group (make install-udev); "
		  "a read-only buffer cannot be mapped writable" },
	{ EPERM, "operation not permitted: mapping BAR0 needs CAP_SYS_RAWIO, "
		 "DMAKIT_IOC_EDU_STRAY CAP_SYS_ADMIN" },
	{ ENOTTY, "this node does not implement the call: a device call on the "
		  "control node or the other way round, or not a dmakit node" },
	{ EPROTO, "the loaded module speaks an older ABI than this library was built for" },
	{ EINVAL, "invalid argument: size or length 0, unknown kind, direction or "
		  "flag, a range outside the buffer or beyond the device window "
		  "(4095 bytes on edu), overlapping ranges, not a dmakit buffer fd, "
		  "or another device's coherent buffer" },
	{ E2BIG, "too large: above the module's max_buffer_mb, or a contig "
		 "buffer above 4 MiB on a kernel without CMA" },
	{ ENOMEM, "out of memory (for contig: no free contiguous range, in the CMA "
		  "area either), or past your RLIMIT_MEMLOCK (ulimit -l): CMA and "
		  "coherent buffers and the pins of asynchronous transfers count" },
	{ EBADF, "not an open fd, or a target buffer not open for writing "
		 "(DMAKIT_ALLOC_RDONLY)" },
	{ EBUSY, "busy: 64 asynchronous transfers outstanding on this fd, the "
		 "factorial unit still computing, the floppy node open already, or "
		 "the buffer is mapped already" },
	{ EAGAIN, "no asynchronous transfer has finished yet; from a submission: "
		  "this fd's asynchronous transfers pin max_inflight_mb already, "
		  "reap results first" },
	{ ETIMEDOUT, "the device did not report completion within the module's "
		     "timeout_ms (its interrupt was lost); the engine was reset" },
	{ EIO, "the device cannot reach the memory (beyond its DMA mask with "
	       "neither IOMMU nor swiotlb), the DMA mapping failed, or the "
	       "device is wedged" },
	{ ENODEV, "the device was removed (unbound from the driver)" },
	{ EINTR, "cancelled by a signal; the device no longer touches the memory" },
	{ EFAULT, "bad address: memory the kernel cannot read or write, or cannot "
		  "pin for DMA (unmapped, read-only where the device writes, device "
		  "memory such as BAR0 or a contig buffer's mapping)" },
	{ ENOSPC, "at the end of the buffer or the device window" },
	{ ENODATA, "the buffer ended before the requested length" },
	{ EMFILE, "too many open files: every buffer is an fd" },
	{ ERANGE, "no page below the device's DMA mask" },
	{ ENAMETOOLONG, "device name too long" },
};

const char *dmakit_strerror(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(dmakit_errors) / sizeof(dmakit_errors[0]); i++)
		if (dmakit_errors[i].err == err)
			return dmakit_errors[i].text;
	return strerror(err);
}

/* ---- nodes ------------------------------------------------------------ */

int dmakit_open(struct dmakit_info *info)
{
	struct dmakit_info local;
	int fd, ret;

	fd = open("/dev/dmakit", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ret = do_ioctl(fd, DMAKIT_IOC_INFO, &local);
	if (!ret && local.abi_version < DMAKIT_ABI_VERSION)
		ret = -EPROTO;
	if (ret) {
		close(fd);
		return ret;
	}
	if (info)
		*info = local;
	return fd;
}

int dmakit_dev_path(const char *name, char *path, size_t size)
{
	int n;

	if (strchr(name, '/'))
		n = snprintf(path, size, "%s", name);
	else if (!strncmp(name, "dmakit", 6))
		n = snprintf(path, size, "/dev/%s", name);
	else
		n = snprintf(path, size, "/dev/dmakit-%s", name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int dmakit_dev_open(const char *name, int flags)
{
	char path[DMAKIT_PATH_MAX];
	int fd, ret;

	ret = dmakit_dev_path(name, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? neg_errno() : fd;
}

int dmakit_dev_info(int dev, struct dmakit_dev_info *info)
{
	return do_ioctl(dev, DMAKIT_IOC_DEV_INFO, info);
}

/* sort key of a node name: edu before fd, then by index */
static long node_order(const char *name)
{
	const char *p = name + strlen("dmakit-");
	long engine = !strncmp(p, "edu", 3) ? 0 : 1;

	while (*p && (*p < '0' || *p > '9'))
		p++;
	return engine * 1000000 + strtol(p, NULL, 10);
}

static int entry_cmp(const void *a, const void *b)
{
	long x = node_order(((const struct dmakit_dev_entry *)a)->name);
	long y = node_order(((const struct dmakit_dev_entry *)b)->name);

	return (x > y) - (x < y);
}

int dmakit_dev_list(struct dmakit_dev_entry *list, size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *dir;

	dir = opendir("/dev");
	if (!dir)
		return neg_errno();
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "dmakit-", 7) ||
		    strlen(de->d_name) >= sizeof(list->name))
			continue;
		if (n < max) {
			snprintf(list[n].name, sizeof(list[n].name), "%s", de->d_name);
			snprintf(list[n].path, sizeof(list[n].path), "/dev/%s", de->d_name);
		}
		n++;
	}
	closedir(dir);
	if (list)
		qsort(list, n < max ? n : max, sizeof(*list), entry_cmp);
	return n > 1000000 ? -EOVERFLOW : (int)n;
}

int dmakit_close(int fd)
{
	if (fd < 0)
		return 0;
	return close(fd) ? neg_errno() : 0;
}

/* ---- buffers ---------------------------------------------------------- */

static const char *const kind_names[] = {
	[DMAKIT_KIND_CONTIG] = "contig",
	[DMAKIT_KIND_PAGES] = "pages",
	[DMAKIT_KIND_VMALLOC] = "vmalloc",
	[DMAKIT_KIND_COHERENT] = "coherent",
};

const char *dmakit_kind_name(uint32_t kind)
{
	if (kind >= sizeof(kind_names) / sizeof(kind_names[0]) || !kind_names[kind])
		return "?";
	return kind_names[kind];
}

int dmakit_kind_parse(const char *name)
{
	for (size_t k = 1; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (!strcmp(name, kind_names[k]))
			return (int)k;
	return -EINVAL;
}

int dmakit_buf_alloc(int fd, uint32_t kind, size_t size, uint32_t flags,
		     struct dmakit_buf *buf)
{
	struct dmakit_alloc a = {
		.size = size,
		.kind = kind,
		.flags = flags | DMAKIT_ALLOC_CLOEXEC,
	};
	int ret;

	buf->fd = -1;
	buf->kind = 0;
	buf->size = 0;
	buf->addr = NULL;
	ret = do_ioctl(fd, DMAKIT_IOC_ALLOC, &a);
	if (ret)
		return ret;
	buf->fd = a.fd;
	buf->kind = kind;
	buf->flags = flags;
	buf->size = a.size;
	buf->addr = NULL;
	return 0;
}

int dmakit_buf_map(struct dmakit_buf *buf, int prot)
{
	void *p;

	if (buf->addr)
		return -EBUSY;
	p = mmap(NULL, buf->size, prot, MAP_SHARED, buf->fd, 0);
	if (p == MAP_FAILED)
		return neg_errno();
	buf->addr = p;
	return 0;
}

int dmakit_buf_unmap(struct dmakit_buf *buf)
{
	if (!buf->addr)
		return 0;
	if (munmap(buf->addr, buf->size))
		return neg_errno();
	buf->addr = NULL;
	return 0;
}

void dmakit_buf_free(struct dmakit_buf *buf)
{
	/*
	 * Only what dmakit_buf_alloc() filled in (kind is a DMAKIT_KIND_*,
	 * never 0): a zero-filled struct must not close fd 0.
	 */
	if (buf->kind) {
		if (buf->addr)
			munmap(buf->addr, buf->size);
		if (buf->fd >= 0)
			close(buf->fd);
	}
	buf->addr = NULL;
	buf->fd = -1;
	buf->kind = 0;
	buf->size = 0;
}

int dmakit_buf_info(const struct dmakit_buf *buf, struct dmakit_buf_info *info)
{
	return do_ioctl(buf->fd, DMAKIT_IOC_BUF_INFO, info);
}

/*
 * All of @len bytes at @offset, through pwrite (@write) or pread: EINTR
 * and short counts go on; no progress at all is ENOSPC or ENODATA.
 */
static int buf_io(int fd, uint64_t offset, char *p, size_t len, bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, p, len, (off_t)offset) :
				    pread(fd, p, len, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return neg_errno();
		if (n == 0)
			return write ? -ENOSPC : -ENODATA;
		p += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int dmakit_buf_write(const struct dmakit_buf *buf, uint64_t offset,
		     const void *data, size_t len)
{
	return buf_io(buf->fd, offset, (char *)data, len, true);
}

int dmakit_buf_read(const struct dmakit_buf *buf, uint64_t offset, void *data,
		    size_t len)
{
	return buf_io(buf->fd, offset, data, len, false);
}

int dmakit_translate(const struct dmakit_buf *buf, const void *addr,
		     uint64_t offset, struct dmakit_page_desc *descs, size_t count)
{
	size_t done = 0;
	long page = sysconf(_SC_PAGESIZE);

	if (count > INT32_MAX)
		return -EINVAL;
	while (done < count) {
		struct dmakit_translate t = {
			.uaddr = addr ? (uintptr_t)addr + done * page : 0,
			.offset = addr ? 0 : offset + done * page,
			.count = count - done < DMAKIT_TRANSLATE_MAX ?
				 count - done : DMAKIT_TRANSLATE_MAX,
			.descs = (uintptr_t)(descs + done),
		};
		uint32_t asked = t.count;
		int ret = do_ioctl(buf->fd, DMAKIT_IOC_TRANSLATE, &t);

		/* past the end of a mapping or buffer after some pages: done */
		if (ret == -EINVAL && done)
			break;
		if (ret)
			return ret;
		done += t.count;
		if (t.count < asked)
			break;
	}
	return (int)done;
}

/* ---- transfers -------------------------------------------------------- */

int dmakit_xfer(int dev, struct dmakit_xfer *x)
{
	return do_ioctl(dev, DMAKIT_IOC_XFER, x);
}

static int buf_xfer(int dev, uint32_t dir, const struct dmakit_buf *buf,
		    uint64_t offset, uint32_t dev_offset, uint64_t len,
		    struct dmakit_xfer_result *res)
{
	struct dmakit_xfer x = {
		.fd = buf->fd,
		.offset = offset,
		.len = len,
		.dev_offset = dev_offset,
		.dir = dir,
	};
	int ret = dmakit_xfer(dev, &x);

	if (res)
		*res = x.result;
	return ret;
}

int dmakit_to_device(int dev, const struct dmakit_buf *buf, uint64_t offset,
		     uint32_t dev_offset, uint64_t len, struct dmakit_xfer_result *res)
{
	return buf_xfer(dev, DMAKIT_DIR_TO_DEVICE, buf, offset, dev_offset, len, res);
}

int dmakit_from_device(int dev, const struct dmakit_buf *buf, uint64_t offset,
		       uint32_t dev_offset, uint64_t len, struct dmakit_xfer_result *res)
{
	return buf_xfer(dev, DMAKIT_DIR_FROM_DEVICE, buf, offset, dev_offset, len, res);
}

int dmakit_copy(int dev, const struct dmakit_buf *src, uint64_t src_offset,
		const struct dmakit_buf *dst, uint64_t dst_offset, uint64_t len,
		struct dmakit_xfer_result *res)
{
	struct dmakit_xfer x = {
		.fd = src->fd,
		.dst_fd = dst->fd,
		.offset = src_offset,
		.dst_offset = dst_offset,
		.len = len,
		.dir = DMAKIT_DIR_COPY,
	};
	int ret = dmakit_xfer(dev, &x);

	if (res)
		*res = x.result;
	return ret;
}

int dmakit_submit(int dev, struct dmakit_xfer *x, uint64_t user_data)
{
	x->flags |= DMAKIT_XFER_ASYNC;
	x->user_data = user_data;
	return dmakit_xfer(dev, x);
}

int dmakit_wait(int dev, int timeout_ms)
{
	struct pollfd p = { .fd = dev, .events = POLLPRI };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return neg_errno();
	if (n && (p.revents & POLLNVAL))
		return -EBADF;
	return n && (p.revents & POLLPRI) ? 1 : 0;
}

int dmakit_reap(int dev, struct dmakit_xfer_result *res, int wait)
{
	struct dmakit_xfer_reap r = { .flags = wait ? DMAKIT_REAP_WAIT : 0 };
	int ret = do_ioctl(dev, DMAKIT_IOC_XFER_REAP, &r);

	if (!ret)
		*res = r.result;
	return ret;
}

int dmakit_xfer_user(int dev, struct dmakit_xfer_user *x)
{
	return do_ioctl(dev, DMAKIT_IOC_XFER_USER, x);
}

static int user_xfer(int dev, uint32_t dir, const void *src, void *dst,
		     size_t len, uint32_t dev_offset, uint32_t flags,
		     struct dmakit_xfer_result *res)
{
	struct iovec iov = { .iov_base = (void *)src, .iov_len = len };
	struct iovec dst_iov = { .iov_base = dst, .iov_len = len };
	struct dmakit_xfer_user x = {
		.iov = (uintptr_t)&iov,
		.iovcnt = 1,
		.dir = dir,
		.dev_offset = dev_offset,
		.flags = flags,
	};
	int ret;

	if (dir == DMAKIT_DIR_COPY) {
		x.dst_iov = (uintptr_t)&dst_iov;
		x.dst_iovcnt = 1;
	}
	ret = dmakit_xfer_user(dev, &x);
	if (res)
		*res = x.result;
	return ret;
}

int dmakit_user_to_device(int dev, const void *mem, size_t len, uint32_t dev_offset,
			  uint32_t flags, struct dmakit_xfer_result *res)
{
	return user_xfer(dev, DMAKIT_DIR_TO_DEVICE, mem, NULL, len, dev_offset,
			 flags, res);
}

int dmakit_user_from_device(int dev, void *mem, size_t len, uint32_t dev_offset,
			    uint32_t flags, struct dmakit_xfer_result *res)
{
	return user_xfer(dev, DMAKIT_DIR_FROM_DEVICE, mem, NULL, len, dev_offset,
			 flags, res);
}

int dmakit_user_copy(int dev, const void *src, void *dst, size_t len,
		     uint32_t flags, struct dmakit_xfer_result *res)
{
	return user_xfer(dev, DMAKIT_DIR_COPY, src, dst, len, 0, flags, res);
}

/* ---- statistics ------------------------------------------------------- */

static const char *const stat_names[DMAKIT_STAT_COUNT] = {
	[DMAKIT_STAT_REQUESTS] = "requests",
	[DMAKIT_STAT_COMPLETED] = "completed",
	[DMAKIT_STAT_ERRORS] = "errors",
	[DMAKIT_STAT_CANCELLED] = "cancelled",
	[DMAKIT_STAT_TIMEOUTS] = "timeouts",
	[DMAKIT_STAT_BYTES] = "bytes",
	[DMAKIT_STAT_SEGMENTS] = "segments",
	[DMAKIT_STAT_BOUNCED] = "bounced",
	[DMAKIT_STAT_LOST_IRQS] = "lost_irqs",
	[DMAKIT_STAT_STALE_IRQS] = "stale_irqs",
};

const char *dmakit_stat_name(int stat)
{
	return stat >= 0 && stat < DMAKIT_STAT_COUNT ? stat_names[stat] : NULL;
}

static int read_u64_file(const char *path, uint64_t *value)
{
	char text[32], *end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		n = neg_errno();
		close(fd);
		return (int)n;
	}
	close(fd);
	text[n] = 0;
	errno = 0;
	*value = strtoull(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n'))
		return -EPROTO;
	return 0;
}

int dmakit_stats(const char *name, struct dmakit_stats *stats)
{
	const char *slash = strrchr(name, '/');
	char path[160];

	if (slash)
		name = slash + 1;
	for (int i = 0; i < DMAKIT_STAT_COUNT; i++) {
		int n, ret;

		n = snprintf(path, sizeof(path), "/sys/class/misc/%s%s/stats/%s",
			     strncmp(name, "dmakit-", 7) ? "dmakit-" : "", name,
			     stat_names[i]);
		if (n < 0 || (size_t)n >= sizeof(path))
			return -ENAMETOOLONG;
		ret = read_u64_file(path, &stats->value[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- edu registers ---------------------------------------------------- */

int dmakit_edu_liveness(int dev, uint32_t value, uint32_t *result)
{
	struct dmakit_edu_liveness l = { .value = value };
	int ret = do_ioctl(dev, DMAKIT_IOC_EDU_LIVENESS, &l);

	if (!ret)
		*result = l.result;
	return ret;
}

int dmakit_edu_factorial(int dev, uint32_t n, uint32_t *result)
{
	struct dmakit_edu_factorial f = { .n = n };
	int ret = do_ioctl(dev, DMAKIT_IOC_EDU_FACTORIAL, &f);

	if (!ret)
		*result = f.result;
	return ret;
}

int dmakit_edu_raise_irq(int dev, struct dmakit_edu_raise_irq *r)
{
	return do_ioctl(dev, DMAKIT_IOC_EDU_RAISE_IRQ, r);
}

int dmakit_edu_loopback(int dev, struct dmakit_edu_loopback *lb)
{
	return do_ioctl(dev, DMAKIT_IOC_EDU_LOOPBACK, lb);
}
