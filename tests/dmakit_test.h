/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the dmakit VM tests (kselftest harness, TAP output).
 * The lane describes what it set up in environment variables (see
 * vm/lanes.sh): DMAKIT_LANE, DMAKIT_EDU_COUNT, DMAKIT_DMA_BITS,
 * DMAKIT_EXPECT_IOMMU, DMAKIT_EXPECT_BOUNCE, DMAKIT_IRQ_MODE, DMAKIT_HAS_CMA,
 * DMAKIT_HAS_FLOPPY, DMAKIT_DMAENGINE_NODES.
 */
#ifndef DMAKIT_TEST_H
#define DMAKIT_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/io_uring.h>
#include <linux/udmabuf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

#include "kselftest_harness.h"
#include "uring_tcp.h"

static inline long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

static inline const char *env_str(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/*
 * dmaengine channels dmakit drives on this lane (its dma_channels=), one
 * node each: the names in DMAKIT_DMAENGINE_NODES (space-separated)
 */
static inline int dmaengine_node_count(void)
{
	const char *p = env_str("DMAKIT_DMAENGINE_NODES", "");
	int n = 0;

	while (*p) {
		p += strspn(p, " ,");
		if (*p)
			n++;
		p += strcspn(p, " ,");
	}
	return n;
}

/* first line of a small text file, without its newline; "" if unreadable */
static inline const char *read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/*
 * Interrupts taken so far on the /proc/interrupts line whose action is
 * @name, summed over CPUs; the line's chip name goes to @chip. -1 if none.
 */
static inline long long irq_count_of(const char *name, char *chip, size_t len)
{
	char line[1024];
	long long total = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *end = line + strcspn(line, "\n");
		size_t nlen = strlen(name);
		char *p;

		*end = 0;
		if ((size_t)(end - line) <= nlen || strcmp(end - nlen, name) ||
		    end[-nlen - 1] != ' ')
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		total = 0;
		for (p++;;) {
			char *next;
			long long v = strtoll(p, &next, 10);

			if (next == p)
				break;
			total += v;
			p = next;
		}
		if (chip) {
			while (*p == ' ')
				p++;
			snprintf(chip, len, "%s", p);
		}
		break;
	}
	fclose(f);
	return total;
}

/* open /dev/dmakit-edu<index> read-write, with extra open(2) @flags */
static inline int edu_open(int index, int flags)
{
	char node[64];

	snprintf(node, sizeof(node), "/dev/dmakit-edu%d", index);
	return open(node, O_RDWR | flags);
}

/* seconds on the monotonic clock */
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a counter of /proc/vmstat, -1 if there is none */
static inline long vmstat_value(const char *name)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/vmstat", "r");
	size_t len = strlen(name);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ' ')
			v = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

/*
 * User pages pinned (FOLL_PIN) and not yet released, system-wide. The
 * counters keep per-CPU deltas that /proc/vmstat does not show until they
 * are folded: writing /proc/sys/vm/stat_refresh (root) folds them first,
 * or a pin and its release on two CPUs may differ by a few pages.
 */
static inline long pins_held(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			perror("stat_refresh");
		close(fd);
	}
	return vmstat_value("nr_foll_pin_acquired") -
	       vmstat_value("nr_foll_pin_released");
}

/* times @needle occurs in the kernel log (root; 0 if it cannot be read) */
static inline int klog_count(const char *needle)
{
	int size = klogctl(10, NULL, 0), n, count = 0;
	char *buf, *p;

	if (size <= 0)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	n = klogctl(3, buf, size);
	buf[n > 0 ? n : 0] = 0;
	for (p = buf; (p = strstr(p, needle)); p += strlen(needle))
		count++;
	free(buf);
	return count;
}

/* a dma-buf fd of buffer @buf (DMAKIT_IOC_EXPORT with @flags), or -errno */
static inline int dmabuf_export(int buf, uint32_t flags)
{
	struct dmakit_export e = { .flags = flags };

	return ioctl(buf, DMAKIT_IOC_EXPORT, &e) ? -errno : e.fd;
}

/* a synchronous transfer between @fd (at @off) and the window (at @dev_off) */
static inline int xfer_range(int node, int fd, uint64_t off, uint32_t dev_off,
			     uint64_t len, uint32_t dir)
{
	struct dmakit_xfer x = { .fd = fd, .offset = off, .dev_offset = dev_off,
				 .len = len, .dir = dir };

	return ioctl(node, DMAKIT_IOC_XFER, &x) ? -errno : 0;
}

/* create a buffer through /dev/dmakit; returns its fd, or -errno */
static inline int buf_alloc(uint64_t size, uint32_t kind, uint32_t flags,
			    uint64_t *rounded)
{
	struct dmakit_alloc a = { .size = size, .kind = kind, .flags = flags };
	int ctl = open("/dev/dmakit", O_RDWR);

	if (ctl < 0)
		return -errno;
	if (ioctl(ctl, DMAKIT_IOC_ALLOC, &a))
		a.fd = -errno;
	close(ctl);
	if (a.fd >= 0 && rounded)
		*rounded = a.size;
	return a.fd;
}

/* write a module parameter (as root); returns its old value or -1 */
static inline long set_param(const char *name, long value)
{
	char path[128], old[32];
	long was;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/dmakit/parameters/%s", name);
	if (!*read_line(path, old, sizeof(old)))
		return -1;
	was = strtol(old, NULL, 0);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", value);
	return fclose(f) ? -1 : was;
}

/*
 * The module's fault-injection points (kernel/core/fault.c): one debugfs
 * directory each under FAULT_DIR (dma_map, drop_irq, fdc_mask_channel,
 * fdc_bad_sector) with the fault-injection framework's files: the kernel's
 * own fault_attr where it has CONFIG_FAULT_INJECTION_DEBUG_FS, the
 * module's copy of its logic elsewhere. Root only.
 */
#define FAULT_DIR	"/sys/kernel/debug/dmakit/"

/* one file of a point; -1 if it cannot be read */
static inline long fault_get(const char *point, const char *file)
{
	char path[128], line[32];

	snprintf(path, sizeof(path), FAULT_DIR "%s/%s", point, file);
	if (!*read_line(path, line, sizeof(line)))
		return -1;
	return strtol(line, NULL, 0);
}

static inline int fault_set(const char *point, const char *file, long value)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), FAULT_DIR "%s/%s", point, file);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", value);
	return fclose(f) ? -1 : 0;
}

/*
 * Arm @point: its @nth call from now (1: the next one) fails, and so do
 * the @times - 1 calls after it. should_fail() lets a call pass while
 * space > 1 and takes 1 from space for it, so space = nth; each failure
 * takes 1 from times. probability is written last: the point is armed
 * only once the rest is in place. Returns 0, or -1 if a file is missing.
 */
static inline int fault_arm(const char *point, unsigned int nth,
			    unsigned int times)
{
	if (fault_set(point, "probability", 0) ||
	    fault_set(point, "interval", 1) ||
	    fault_set(point, "space", nth) ||
	    fault_set(point, "times", times))
		return -1;
	return fault_set(point, "probability", 100);
}

/* failures @point has still to inject (0: all of them happened) */
static inline long fault_left(const char *point)
{
	return fault_get(point, "times");
}

/* disarm @point; returns the failures it had still to inject, or -1 */
static inline long fault_disarm(const char *point)
{
	if (fault_set(point, "probability", 0))
		return -1;
	return fault_left(point);
}

/*
 * What get_user_pages() answers for a premapped page (DMAKIT_ALLOC_PREMAP:
 * a special PTE in a VM_MIXEDMAP VMA) where the kernel's own paths pass its
 * answer on (O_DIRECT on a block device, vmsplice), by kernel, as
 * docs/abi.md documents it: follow_pfn_pte() says -EEXIST ("a page table
 * entry but no struct page") and __get_user_pages() returns it when it was
 * asked for pages. A kernel not listed is held to the newest one's answer.
 * (VM_PFNMAP, contig's remap_pfn_range with DMAKIT_ALLOC_PFNMAP or from
 * CMA, is -EFAULT everywhere: check_vma_flags() refuses the VMA before any
 * page is looked at.)
 */
static const struct { const char *kernel; int err; } premap_gup_errno[] = {
	{ "6.1", EEXIST },
	{ "6.12", EEXIST },
	{ "7.3", EEXIST },
};

/* "6.1", "6.12", "7.3": major.minor of the running kernel */
static inline const char *kernel_line(void)
{
	static char line[16];
	struct utsname u;
	unsigned int major, minor;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return "?";
	snprintf(line, sizeof(line), "%u.%u", major, minor);
	return line;
}

/*
 * The errno GUP gives this variant's mapping on this kernel; 0: it pins.
 * A coherent buffer's mapping is dma_mmap_coherent()'s: a remap_pfn_range()
 * (VM_PFNMAP: EFAULT) on direct DMA, vm_map_pages() of the pages dma-iommu
 * allocated (refcounted: they pin) behind an IOMMU (the lane says which).
 */
static inline int gup_errno(uint32_t kind, uint32_t flags)
{
	const int n = sizeof(premap_gup_errno) / sizeof(premap_gup_errno[0]);
	const char *k = kernel_line();

	if (kind == DMAKIT_KIND_CONTIG)	/* CMA's are PFN-mapped too: EFAULT */
		return flags & DMAKIT_ALLOC_PFNMAP ? EFAULT : 0;
	if (kind == DMAKIT_KIND_COHERENT)
		return env_long("DMAKIT_EXPECT_IOMMU", 0) ? 0 : EFAULT;
	if (!(flags & DMAKIT_ALLOC_PREMAP))
		return 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(k, premap_gup_errno[i].kernel))
			return premap_gup_errno[i].err;
	return premap_gup_errno[n - 1].err;
}

/* ---- the kernel's own exporters: udmabuf, dma-heaps (dmabuf, removal) */

/*
 * The CMA heap's node: 7.3 names the default CMA area's heap
 * "default_cma_region" (and the area itself, listed for heaps too,
 * "reserved"); 6.1 to 6.16 "reserved"; a device tree's area is named by
 * its node ("linux,cma"). NULL where there is none (Debian's kernels have
 * no DMABUF_HEAPS_CMA; ours has it and the lanes boot with cma=).
 */
static inline const char *cma_heap_path(void)
{
	static const char *const paths[] = {
		"/dev/dma_heap/default_cma_region", "/dev/dma_heap/reserved",
		"/dev/dma_heap/linux,cma",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], R_OK))
			return paths[i];
	return NULL;
}

/* a dma-buf of udmabuf (memfd pages) or of a dma-heap, or -errno */
static inline int foreign_dmabuf(const char *who, size_t size, int *memfd)
{
	*memfd = -1;
	if (!strcmp(who, "udmabuf")) {
		struct udmabuf_create c = { .size = size };
		int dev = open("/dev/udmabuf", O_RDWR), fd;

		if (dev < 0)
			return -errno;
		c.memfd = memfd_create("dmakit-udmabuf", MFD_ALLOW_SEALING);
		if ((int)c.memfd < 0 || ftruncate(c.memfd, size) ||
		    fcntl(c.memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
			close(dev);
			return -errno;
		}
		fd = ioctl(dev, UDMABUF_CREATE, &c);
		close(dev);
		if (fd < 0) {
			close(c.memfd);
			return -errno;
		}
		*memfd = c.memfd;
		return fd;
	} else {
		struct dma_heap_allocation_data d = {
			.len = size, .fd_flags = O_RDWR | O_CLOEXEC,
		};
		const char *path = !strcmp(who, "cma_heap") ? cma_heap_path() :
				   "/dev/dma_heap/system";
		int heap = path ? open(path, O_RDONLY) : -1, err;

		if (!path)
			return -ENOENT;
		if (heap < 0)
			return -errno;
		err = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) ? -errno : (int)d.fd;
		close(heap);
		return err;
	}
}

/* ---- dma-buf peers: the dma-buf core's table, vgem (dmabuf_peers, removal) */

/*
 * The DRM uapi used here, as include/uapi/drm/{drm,drm_mode,vgem_drm}.h
 * of the kernel define it (the host has no libdrm headers).
 */
struct drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct drm_gem_close {
	__u32 handle;
	__u32 pad;
};

struct drm_prime_handle {
	__u32 handle;
	__u32 flags;
	__s32 fd;
};

struct drm_mode_create_dumb {
	__u32 height;
	__u32 width;
	__u32 bpp;
	__u32 flags;
	__u32 handle;
	__u32 pitch;
	__u64 size;
};

struct drm_mode_map_dumb {
	__u32 handle;
	__u32 pad;
	__u64 offset;
};

struct drm_vgem_fence_attach {
	__u32 handle;
	__u32 flags;
	__u32 out_fence;
	__u32 pad;
};

struct drm_vgem_fence_signal {
	__u32 fence;
	__u32 flags;
};

#define DRM_IOCTL_VERSION		_IOWR('d', 0x00, struct drm_version)
#define DRM_IOCTL_GEM_CLOSE		_IOW('d', 0x09, struct drm_gem_close)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD	_IOWR('d', 0x2d, struct drm_prime_handle)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE	_IOWR('d', 0x2e, struct drm_prime_handle)
#define DRM_IOCTL_MODE_CREATE_DUMB	_IOWR('d', 0xb2, struct drm_mode_create_dumb)
#define DRM_IOCTL_MODE_MAP_DUMB		_IOWR('d', 0xb3, struct drm_mode_map_dumb)
#define DRM_IOCTL_VGEM_FENCE_ATTACH	_IOWR('d', 0x41, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL	_IOW('d', 0x42, struct drm_vgem_fence_signal)
#define VGEM_FENCE_WRITE		0x1

_Static_assert(sizeof(struct drm_version) == 64, "drm_version");
_Static_assert(sizeof(struct drm_prime_handle) == 12, "drm_prime_handle");
_Static_assert(sizeof(struct drm_mode_create_dumb) == 32, "create_dumb");
_Static_assert(sizeof(struct drm_mode_map_dumb) == 16, "map_dumb");
_Static_assert(sizeof(struct drm_vgem_fence_attach) == 16, "fence_attach");

/*
 * dma-bufs alive now whose exporter is @exp_name ("dmakit",
 * "videobuf2_vmalloc", "drm" for vgem's), from the dma-buf core's debugfs
 * table (lines: size flags mode count exp_name ino name); -1 without it
 */
static inline int dma_bufs_of(const char *exp_name)
{
	FILE *f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
	char line[512], name[64];
	unsigned long size, count;
	unsigned int flags, mode;
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %x %x %lu %63s", &size, &flags, &mode,
			   &count, name) == 5 && !strcmp(name, exp_name))
			n++;
	fclose(f);
	return n;
}

/*
 * dma_bufs_of(@exp_name) once it is @want, or after 2 s what it is then
 * (a dma-buf whose last reference went in a kernel thread is released
 * by a worker a tick later)
 */
static inline int dma_bufs_settle(const char *exp_name, int want)
{
	int n = dma_bufs_of(exp_name);

	for (int i = 0; i < 200 && n != want; i++) {
		usleep(10000);
		n = dma_bufs_of(exp_name);
	}
	return n;
}

/* tests/peers.sh load @name: 0, or its exit status with its output in @why */
static inline int peer_load(const char *name, char *why, size_t len)
{
	char cmd[128];
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "/tests/peers.sh load %s 2>&1", name);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(why, len, p))
		*why = 0;
	why[strcspn(why, "\n")] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* vgem's DRM node, or -errno */
static inline int vgem_open(void)
{
	for (int i = 0; i < 16; i++) {
		char path[32], name[16] = "";
		struct drm_version v = { .name = name,
					 .name_len = sizeof(name) - 1 };
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

static inline int gem_close(int drm, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return ioctl(drm, DRM_IOCTL_GEM_CLOSE, &c) ? -errno : 0;
}

/* a vgem handle as a dma-buf fd (read-write), or -errno */
static inline int prime_export(int drm, uint32_t handle)
{
	struct drm_prime_handle p = { .handle = handle,
				      .flags = O_RDWR | O_CLOEXEC };

	return ioctl(drm, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) ? -errno : p.fd;
}

/* the size of vgem_dumb()'s buffers */
#define VGEM_DUMB_SIZE	(64u << 10)

/*
 * a vgem dumb buffer of VGEM_DUMB_SIZE bytes (1024 x 16 pixels of 32 bits) holding
 * @pat, mapped through vgem (@map), and its dma-buf; 0 or -errno
 */
static inline int vgem_dumb(int drm, const unsigned char *pat, uint32_t *handle,
		     unsigned char **map, int *vfd)
{
	struct drm_mode_create_dumb d = { .width = 1024, .height = 16,
					  .bpp = 32 };
	struct drm_mode_map_dumb m = { 0 };

	if (ioctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &d))
		return -errno;
	if (d.size != VGEM_DUMB_SIZE)
		return -EPROTO;
	*handle = m.handle = d.handle;
	if (ioctl(drm, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return -errno;
	*map = mmap(NULL, VGEM_DUMB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, drm,
		    m.offset);
	if (*map == MAP_FAILED)
		return -errno;
	memcpy(*map, pat, VGEM_DUMB_SIZE);
	*vfd = prime_export(drm, *handle);
	return *vfd < 0 ? *vfd : 0;
}

/* fill with bytes from a simple PRNG (xorshift), different per seed */
static inline void fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x;
	}
}

static sigjmp_buf touch_jmp __attribute__((unused));
static volatile int touch_signal __attribute__((unused));

static inline void touch_on_fault(int sig)
{
	touch_signal = sig;
	siglongjmp(touch_jmp, 1);
}

/*
 * Read one byte (@write: add 1 to it); returns the signal that raised
 * (SIGBUS, SIGSEGV), or 0.
 */
static inline int touch_byte(volatile unsigned char *p, int write)
{
	struct sigaction sa = { .sa_handler = touch_on_fault }, old_bus, old_segv;

	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	touch_signal = 0;
	if (!sigsetjmp(touch_jmp, 1)) {
		if (write)
			*p = *p + 1;
		else
			(void)*p;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return touch_signal;
}

/* index of the first differing byte, or -1 if equal */
static inline long first_difference(const unsigned char *a,
				    const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

/* ---- buffers filled and checked around transfers (xfer, dmaengine) */

/* a buffer made by the node @node (-1: /dev/dmakit), or -errno */
static inline int buf_alloc_on(int node, uint64_t size, uint32_t kind)
{
	struct dmakit_alloc a = { .size = size, .kind = kind };

	if (node < 0)
		return buf_alloc(size, kind, 0, NULL);
	return ioctl(node, DMAKIT_IOC_ALLOC, &a) ? -errno : a.fd;
}

/*
 * A buffer of @size filled with @seed's pattern (seed 0: @fill bytes);
 * coherent ones belong to device node @dev.
 */
static inline int filled_buffer_on(int dev, uint32_t kind, size_t size,
				   uint32_t seed, unsigned char fill)
{
	unsigned char *data = malloc(size);
	int fd = buf_alloc_on(kind == DMAKIT_KIND_COHERENT ? dev : -1, size,
			      kind);

	if (fd >= 0 && data) {
		if (seed)
			fill_pattern(data, size, seed);
		else
			memset(data, fill, size);
		if (pwrite(fd, data, size, 0) != (ssize_t)size) {
			close(fd);
			fd = -EIO;
		}
	}
	free(data);
	return fd;
}

/* a COPY from @src to @dst on node @dev: the ioctl's return (errno set) */
static inline int xfer_copy_fds(int dev, struct dmakit_xfer *x, int src,
				uint64_t src_off, int dst, uint64_t dst_off,
				uint64_t len, uint32_t flags)
{
	memset(x, 0, sizeof(*x));
	x->fd = src;
	x->dst_fd = dst;
	x->offset = src_off;
	x->dst_offset = dst_off;
	x->len = len;
	x->dir = DMAKIT_DIR_COPY;
	x->flags = flags;
	return ioctl(dev, DMAKIT_IOC_XFER, x);
}

/*
 * @dst (@size bytes) holds @src's bytes from @src_off exactly in
 * [@off, @off + @len) and @fill everywhere else; 0 if so, else prints why
 * and returns -1.
 */
static inline int dst_holds(const char *what, int src, uint64_t src_off,
			    int dst, uint64_t off, uint64_t len, size_t size,
			    unsigned char fill)
{
	unsigned char *want = malloc(size), *got = malloc(size);
	long bad;
	int ret = 0;

	memset(want, fill, size);
	if (pread(src, want + off, len, src_off) != (ssize_t)len ||
	    pread(dst, got, size, 0) != (ssize_t)size) {
		printf("# %s: pread: %s\n", what, strerror(errno));
		ret = -1;
	} else {
		bad = first_difference(want, got, size);
		if (bad >= 0) {
			printf("# %s: byte %ld is %#x, want %#x (range %#llx+%#llx)\n",
			       what, bad, got[bad], want[bad],
			       (unsigned long long)off, (unsigned long long)len);
			ret = -1;
		}
	}
	free(want);
	free(got);
	return ret;
}

/* ---- sysfs: PCI unbind, remove, rescan (removal, foreign) */

/* write @text to @path (a sysfs file): 0, or -1 with errno */
static inline int write_str(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* wait up to 10 s for @path to exist (@want) or not */
static inline int wait_path(const char *path, int want)
{
	for (int i = 0; i < 200; i++) {
		if ((access(path, F_OK) == 0) == want)
			return 0;
		usleep(50000);
	}
	return -1;
}

#endif /* DMAKIT_TEST_H */
