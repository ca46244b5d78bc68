// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection sweep: every ioctl, mmap (with its first touch) and
 * read/write path of the module runs with its Nth failure point failing,
 * N = 1, 2, ... until a run completes without reaching an injected failure.
 *
 * Two sources of failure:
 * - fail-nth (Documentation/fault-injection/fault-injection.rst): writing N
 *   to /proc/thread-self/fail-nth makes the Nth slab or page allocation of
 *   this thread fail; reading it back gives 0 if that failure was injected,
 *   the remaining count otherwise. Only this thread is affected, so the
 *   engine's worker (which maps a transfer) is not: its mapping calls are
 *   swept with the second source. failslab and fail_page_alloc are set so
 *   that GFP_KERNEL allocations of any order count (ignore-gfp-wait=N,
 *   min-order=0, ignore-gfp-highmem=N) and stay quiet (verbose=0); their
 *   probability stays 0, so nothing else fails.
 * - the module's dma_map fault-injection point (FAULT_DIR "dma_map", a
 *   fault_attr of the kernel's framework where it has one): the Nth DMA
 *   mapping call of the transfer path (dma_map_single/page/sgtable, a
 *   staging dma_pool chunk) fails (space = N, times = 1); its times reads
 *   0 if it did. The point is not reached by fail-nth: unarmed
 *   (probability 0) it never calls should_fail().
 *
 * Every run must end in an errno the ABI documents for the call or in a
 * correct result checked byte for byte, with no fd, DMA mapping, pinned
 * page or unretired request left over; after an injected failure the
 * device still moves data. The table of the sweep goes to the TAP log.
 */
#include <dirent.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "dmakit_test.h"

#define PAGE		4096u
#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define DEBUGFS		"/sys/kernel/debug"
#define TABLE		"/tmp/faultinject.table"
#define MAX_POINTS	400	/* a path with more has a loop that never ends */
#define XLEN		1500	/* one device segment */
#define BUFSZ		(3 * PAGE)
#define GUARD		0x5a
/* the device check uses the window above what the paths use */
#define CHECK_OFF	2560u
#define CHECK_LEN	1024u

/* user memory the paths use, faulted in before any injection */
static unsigned char pat[3 * PAGE], out[3 * PAGE], guard[3 * PAGE];
static unsigned char big_src[2 * PAGE], big_dst[2 * PAGE];

struct ctx {
	int nth;		/* /proc/thread-self/fail-nth */
	int edu;		/* /dev/dmakit-edu0, for set-up and checks */
	bool dma_hook;		/* the dma_map point instead of fail-nth */
	unsigned int n;		/* this run's N; 0: a run without injection */
	bool injected;		/* the Nth failure happened */
	int err;		/* the call's errno, 0 if it succeeded */
	char why[200];		/* set if the run went wrong */
};

/* ---- arming and disarming ------------------------------------------------ */

static char nth_text[16];

static void arm(struct ctx *c)
{
	if (!c->n)
		return;
	if (c->dma_hook) {
		if (fault_arm("dma_map", c->n, 1))
			snprintf(c->why, sizeof(c->why), "dma_map: cannot arm");
		return;
	}
	/* formatted beforehand: no library call between here and disarm() */
	snprintf(nth_text, sizeof(nth_text), "%u", c->n);
	if (pwrite(c->nth, nth_text, strlen(nth_text), 0) < 0)
		snprintf(c->why, sizeof(c->why), "fail-nth: %s", strerror(errno));
}

/* call right after the operation: saves its errno, learns if it was hit */
static void disarm(struct ctx *c, int ret)
{
	char text[16] = "";
	ssize_t got;

	c->err = ret < 0 ? errno : 0;
	if (!c->n)
		return;
	if (c->dma_hook) {
		long left = fault_disarm("dma_map");

		if (left < 0)
			snprintf(c->why, sizeof(c->why), "dma_map: cannot disarm");
		c->injected = left == 0;
		return;
	}
	got = pread(c->nth, text, sizeof(text) - 1, 0);
	text[got > 0 ? got : 0] = 0;
	c->injected = got > 0 && strtoul(text, NULL, 10) == 0;
	if (!c->injected && pwrite(c->nth, "0", 1, 0) < 0)
		snprintf(c->why, sizeof(c->why), "fail-nth: %s", strerror(errno));
}

static void bad(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bad(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why[0])
		return;		/* the first reason counts */
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/*
 * A failed call must fail with an errno its ABI documents for a failed
 * allocation or mapping: ENOMEM everywhere; EIO for a mapping the DMA API
 * refused (the dma_map point); @also a further one of the call (0: none).
 */
static bool clean_errno(struct ctx *c, int also)
{
	if (!c->err)
		return false;
	if (c->err == ENOMEM || (c->dma_hook && c->err == EIO) ||
	    (also && c->err == also))
		return true;
	bad(c, "errno %d (%s) is not one the call documents for a failed %s",
	    c->err, strerror(c->err), c->dma_hook ? "mapping" : "allocation");
	return true;
}

/* ---- helpers ---------------------------------------------------------------- */

/* kinds for ctl_alloc(): pages with DMAKIT_ALLOC_PREMAP, contig with _PFNMAP */
#define KIND_PAGES_PREMAP	(DMAKIT_KIND_PAGES | 0x100)
#define KIND_CONTIG_PFNMAP	(DMAKIT_KIND_CONTIG | 0x200)

static int ctl_alloc(int node, uint64_t size, uint32_t kind)
{
	struct dmakit_alloc a = { .size = size, .kind = kind & 0xff,
		.flags = (kind & 0x100 ? DMAKIT_ALLOC_PREMAP : 0) |
			 (kind & 0x200 ? DMAKIT_ALLOC_PFNMAP : 0) };
	int ctl = node >= 0 ? node : open("/dev/dmakit", O_RDWR);
	int ret;

	if (ctl < 0)
		return -1;
	ret = ioctl(ctl, DMAKIT_IOC_ALLOC, &a);
	if (node < 0)
		close(ctl);
	return ret ? -1 : a.fd;
}

/* a buffer of BUFSZ holding @fill (a byte) or the pattern (fill < 0) */
static int filled(struct ctx *c, uint32_t kind, int fill)
{
	int fd = ctl_alloc(kind == DMAKIT_KIND_COHERENT ? c->edu : -1, BUFSZ,
			   kind);

	if (fd < 0) {
		bad(c, "set-up: buffer of kind %u: %s", kind, strerror(errno));
		return -1;
	}
	if (fill < 0)
		memcpy(out, pat, BUFSZ);
	else
		memset(out, fill, BUFSZ);
	if (pwrite(fd, out, BUFSZ, 0) != BUFSZ) {
		bad(c, "set-up: pwrite: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* does buffer @fd hold @want in [@off, @off + @len) and GUARD elsewhere? */
static bool buffer_is(struct ctx *c, int fd, const unsigned char *want,
		      size_t off, size_t len, const char *what)
{
	long diff;

	memset(guard, GUARD, sizeof(guard));
	if (pread(fd, out, BUFSZ, 0) != BUFSZ) {
		bad(c, "%s: pread: %s", what, strerror(errno));
		return false;
	}
	diff = first_difference(out + off, want, len);
	if (diff < 0) {
		diff = first_difference(out, guard, off);
		if (diff < 0 && off + len < BUFSZ) {
			diff = first_difference(out + off + len, guard,
						BUFSZ - off - len);
			if (diff >= 0)
				diff += off + len;
		}
		if (diff < 0)
			return true;
	} else {
		diff += off;
	}
	bad(c, "%s: byte %ld is %#x", what, diff, out[diff]);
	return false;
}

static int win_write(struct ctx *c, uint32_t off, const void *data, size_t len)
{
	if (pwrite(c->edu, data, len, off) != (ssize_t)len) {
		bad(c, "window write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* does the window hold @want at @off? */
static bool win_is(struct ctx *c, uint32_t off, const void *want, size_t len,
		   const char *what)
{
	static unsigned char got[PAGE];
	long diff;

	if (pread(c->edu, got, len, off) != (ssize_t)len) {
		bad(c, "%s: window read: %s", what, strerror(errno));
		return false;
	}
	diff = first_difference(got, want, len);
	if (diff >= 0)
		bad(c, "%s: window byte %ld is %#x, want %#x", what, diff,
		    got[diff], ((const unsigned char *)want)[diff]);
	return diff < 0;
}

/* a verified round trip through the device (its own part of the window) */
static bool device_works(struct ctx *c, uint32_t seed)
{
	static unsigned char data[CHECK_LEN];

	fill_pattern(data, sizeof(data), seed);
	return !win_write(c, CHECK_OFF, data, sizeof(data)) &&
	       win_is(c, CHECK_OFF, data, sizeof(data), "device check");
}

static void xfer_args(struct dmakit_xfer *x, int fd, int dst, uint64_t len,
		      uint32_t dir, uint32_t flags)
{
	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->dst_fd = dst;
	x->len = len;
	x->dir = dir;
	x->flags = flags;
	x->offset = 64;
	x->dst_offset = dst ? 128 : 0;
}

/* the result of a transfer that succeeded */
static void result_ok(struct ctx *c, const struct dmakit_xfer_result *r)
{
	if (r->status)
		bad(c, "call succeeded, result status %d", r->status);
}

/* ---- control node and buffers ----------------------------------------------- */

static void path_alloc(struct ctx *c, uint32_t kind)
{
	struct dmakit_buf_info info = {};
	struct dmakit_alloc a = { .size = BUFSZ - 100, .kind = kind };
	int node = kind == DMAKIT_KIND_COHERENT ? c->edu : open("/dev/dmakit", O_RDWR);
	int ret;

	arm(c);
	ret = ioctl(node, DMAKIT_IOC_ALLOC, &a);
	disarm(c, ret);
	if (kind != DMAKIT_KIND_COHERENT)
		close(node);
	if (clean_errno(c, 0))
		return;
	/* a buffer that came out of it must be whole: size, kind, zeroes */
	memset(guard, 0, sizeof(guard));
	if (a.size != BUFSZ || ioctl(a.fd, DMAKIT_IOC_BUF_INFO, &info) ||
	    info.kind != kind || info.size != BUFSZ)
		bad(c, "the new buffer: size %llu, kind %u",
		    (unsigned long long)a.size, info.kind);
	else if (pread(a.fd, out, BUFSZ, 0) != BUFSZ ||
		 first_difference(out, guard, BUFSZ) >= 0)
		bad(c, "the new buffer is not zeroed");
	close(a.fd);
}

static void path_alloc_contig(struct ctx *c) { path_alloc(c, DMAKIT_KIND_CONTIG); }
static void path_alloc_pages(struct ctx *c) { path_alloc(c, DMAKIT_KIND_PAGES); }
static void path_alloc_vmalloc(struct ctx *c) { path_alloc(c, DMAKIT_KIND_VMALLOC); }
static void path_alloc_coherent(struct ctx *c) { path_alloc(c, DMAKIT_KIND_COHERENT); }

static void path_info(struct ctx *c)
{
	struct dmakit_info info;
	int ctl = open("/dev/dmakit", O_RDWR), ret;

	arm(c);
	ret = ioctl(ctl, DMAKIT_IOC_INFO, &info);
	disarm(c, ret);
	close(ctl);
	if (!clean_errno(c, 0) && info.abi_version != DMAKIT_ABI_VERSION)
		bad(c, "abi_version %u", info.abi_version);
}

static void path_open(struct ctx *c, const char *node)
{
	int fd;

	arm(c);
	fd = open(node, O_RDWR);
	disarm(c, fd);
	if (fd >= 0)
		close(fd);
	clean_errno(c, 0);
}

static void path_open_ctl(struct ctx *c) { path_open(c, "/dev/dmakit"); }
static void path_open_edu(struct ctx *c) { path_open(c, "/dev/dmakit-edu0"); }
static void path_open_fd0(struct ctx *c) { path_open(c, "/dev/dmakit-fd0"); }

static void path_buf_info(struct ctx *c)
{
	struct dmakit_buf_info info;
	int fd = filled(c, DMAKIT_KIND_PAGES, -1), ret;

	if (fd < 0)
		return;
	arm(c);
	ret = ioctl(fd, DMAKIT_IOC_BUF_INFO, &info);
	disarm(c, ret);
	if (!clean_errno(c, 0) && (info.size != BUFSZ ||
				   info.kind != DMAKIT_KIND_PAGES))
		bad(c, "BUF_INFO: size %llu kind %u",
		    (unsigned long long)info.size, info.kind);
	close(fd);
}

static void path_translate(struct ctx *c)
{
	static struct dmakit_page_desc d[3];
	struct dmakit_translate t = { .count = 3 };
	int fd = filled(c, DMAKIT_KIND_PAGES, -1), ret;
	unsigned char *map;

	if (fd < 0)
		return;
	map = mmap(NULL, BUFSZ, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		bad(c, "set-up: mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	memcpy(out, map, BUFSZ);	/* all three pages mapped */
	memset(d, 0, sizeof(d));
	t.uaddr = (uintptr_t)map;
	t.descs = (uintptr_t)d;
	arm(c);
	ret = ioctl(fd, DMAKIT_IOC_TRANSLATE, &t);
	disarm(c, ret);
	if (!clean_errno(c, 0) &&
	    (t.count != 3 || d[2].offset != 2 * PAGE || d[2].uva != t.uaddr + 2 * PAGE ||
	     !(d[2].flags & DMAKIT_PAGE_MAPPED)))
		bad(c, "TRANSLATE: count %u, page 2 at offset %llu flags %#x",
		    t.count, (unsigned long long)d[2].offset, d[2].flags);
	munmap(map, BUFSZ);
	close(fd);
}

/* read/write/pread/pwrite of a buffer: 2 pages from offset 100 */
static void path_buf_io(struct ctx *c, bool to_buf, bool positioned)
{
	int fd = filled(c, DMAKIT_KIND_PAGES, to_buf ? GUARD : -1);
	static unsigned char got[2 * PAGE];
	ssize_t ret;

	if (fd < 0)
		return;
	memset(got, 0, sizeof(got));
	if (!positioned && lseek(fd, 100, SEEK_SET) != 100)
		bad(c, "set-up: lseek: %s", strerror(errno));
	arm(c);
	if (to_buf && positioned)
		ret = pwrite(fd, pat + 100, 2 * PAGE, 100);
	else if (to_buf)
		ret = write(fd, pat + 100, 2 * PAGE);
	else if (positioned)
		ret = pread(fd, got, 2 * PAGE, 100);
	else
		ret = read(fd, got, 2 * PAGE);
	disarm(c, ret);
	if (clean_errno(c, 0))
		goto out;
	if (ret != 2 * PAGE)
		bad(c, "%zd bytes", ret);
	else if (to_buf)
		buffer_is(c, fd, pat + 100, 100, 2 * PAGE, "written buffer");
	else if (first_difference(got, pat + 100, 2 * PAGE) >= 0)
		bad(c, "read: byte %ld differs",
		    first_difference(got, pat + 100, 2 * PAGE));
out:
	close(fd);
}

static void path_buf_read(struct ctx *c) { path_buf_io(c, false, false); }
static void path_buf_write(struct ctx *c) { path_buf_io(c, true, false); }
static void path_buf_pread(struct ctx *c) { path_buf_io(c, false, true); }
static void path_buf_pwrite(struct ctx *c) { path_buf_io(c, true, true); }

/*
 * A 1 GiB-aligned address with nothing mapped in its gigabyte: a mapping
 * there needs new page tables (PMD and PTE), so allocation failures reach
 * the page-table walks of mmap (remap_pfn_range, premap) every time, not
 * only when an earlier mapping's tables happen to be gone.
 */
static void *empty_gigabyte(void)
{
	const size_t gib = 1ul << 30;
	uintptr_t at;
	void *res = mmap(NULL, 2 * gib, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (res == MAP_FAILED)
		return NULL;
	at = ((uintptr_t)res + gib - 1) & ~(gib - 1);
	munmap(res, 2 * gib);	/* a PROT_NONE reservation has no tables */
	return (void *)at;
}

/* mmap and read every page: the fault paths run in this thread too */
static void path_mmap(struct ctx *c, uint32_t kind)
{
	int fd = filled(c, kind, -1);
	unsigned char *map;
	void *at = empty_gigabyte();

	if (fd < 0)
		return;
	arm(c);
	map = mmap(at, BUFSZ, PROT_READ | PROT_WRITE,
		   MAP_SHARED | (at ? MAP_FIXED_NOREPLACE : 0), fd, 0);
	if (map != MAP_FAILED)
		memcpy(out, map, BUFSZ);	/* the first touch */
	disarm(c, map == MAP_FAILED ? -1 : 0);
	/* remap_pfn_range() may say EAGAIN (documented for mmap) */
	if (!clean_errno(c, EAGAIN) && first_difference(out, pat, BUFSZ) >= 0)
		bad(c, "mapping: byte %ld differs", first_difference(out, pat, BUFSZ));
	if (map != MAP_FAILED)
		munmap(map, BUFSZ);
	close(fd);
}

static void path_mmap_contig(struct ctx *c) { path_mmap(c, DMAKIT_KIND_CONTIG); }
/* remap_pfn_range() at mmap time, or the huge PFN faults */
static void path_mmap_contig_pfnmap(struct ctx *c) { path_mmap(c, KIND_CONTIG_PFNMAP); }
static void path_mmap_pages(struct ctx *c) { path_mmap(c, DMAKIT_KIND_PAGES); }
static void path_mmap_vmalloc(struct ctx *c) { path_mmap(c, DMAKIT_KIND_VMALLOC); }
static void path_mmap_coherent(struct ctx *c) { path_mmap(c, DMAKIT_KIND_COHERENT); }
/* the page-table walk of DMAKIT_ALLOC_PREMAP at mmap time */
static void path_mmap_premap(struct ctx *c) { path_mmap(c, KIND_PAGES_PREMAP); }

/* ---- device node: register commands ----------------------------------------- */

static void path_dev_info(struct ctx *c)
{
	struct dmakit_dev_info info;
	int ret;

	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_DEV_INFO, &info);
	disarm(c, ret);
	if (!clean_errno(c, 0) && info.engine != DMAKIT_ENGINE_EDU)
		bad(c, "DEV_INFO: engine %u", info.engine);
}

static void path_factorial(struct ctx *c)
{
	struct dmakit_edu_factorial f = { .n = 10 };
	int ret;

	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_EDU_FACTORIAL, &f);
	disarm(c, ret);
	if (!clean_errno(c, 0) && f.result != 3628800)
		bad(c, "10! = %u", f.result);
}

static void path_loopback(struct ctx *c)
{
	struct dmakit_edu_loopback l = {
		.src = (uintptr_t)pat, .dst = (uintptr_t)out, .len = XLEN,
	};
	int ret;

	memset(out, GUARD, sizeof(out));
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_EDU_LOOPBACK, &l);
	disarm(c, ret);
	if (clean_errno(c, 0)) {
		memset(guard, GUARD, sizeof(guard));
		if (first_difference(out, guard, XLEN) >= 0)
			bad(c, "a failed loopback wrote dst");
	} else if (first_difference(out, pat, XLEN) >= 0) {
		bad(c, "loopback: byte %ld differs", first_difference(out, pat, XLEN));
	}
}

/* ---- device node: transfers of buffers -------------------------------------- */

/* TO_DEVICE from a contig buffer (dma_map_single) */
static void xfer_to(struct ctx *c, uint32_t kind, uint32_t len, uint32_t flags)
{
	int fd = filled(c, kind, -1), ret;
	struct dmakit_xfer x;

	if (fd < 0)
		return;
	xfer_args(&x, fd, 0, len, DMAKIT_DIR_TO_DEVICE, flags);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER, &x);
	disarm(c, ret);
	if (!clean_errno(c, 0)) {
		result_ok(c, &x.result);
		win_is(c, 0, pat + 64, len, "TO_DEVICE");
	}
	close(fd);
}

/* FROM_DEVICE into a pages buffer (dma_map_sgtable) */
static void xfer_from(struct ctx *c, uint32_t kind, uint32_t len, uint32_t flags)
{
	int fd = filled(c, kind, GUARD), ret;
	struct dmakit_xfer x;

	if (fd < 0 || win_write(c, 0, pat, len))
		goto out;
	xfer_args(&x, fd, 0, len, DMAKIT_DIR_FROM_DEVICE, flags);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER, &x);
	disarm(c, ret);
	if (clean_errno(c, 0)) {
		/* the device never wrote the target */
		buffer_is(c, fd, guard, 0, 0, "target of a failed FROM_DEVICE");
	} else {
		result_ok(c, &x.result);
		buffer_is(c, fd, pat, 64, len, "FROM_DEVICE target");
	}
out:
	if (fd >= 0)
		close(fd);
}

static void path_xfer_to(struct ctx *c) { xfer_to(c, DMAKIT_KIND_CONTIG, XLEN, 0); }
static void path_xfer_from(struct ctx *c) { xfer_from(c, DMAKIT_KIND_PAGES, XLEN, 0); }
/* a pool chunk (up to 512 bytes), the staging page above */
static void path_xfer_staged_to(struct ctx *c)
{
	xfer_to(c, DMAKIT_KIND_PAGES, 300, DMAKIT_XFER_STAGED);
}

static void path_xfer_staged_from(struct ctx *c)
{
	xfer_from(c, DMAKIT_KIND_VMALLOC, XLEN, DMAKIT_XFER_STAGED);
}

/* COPY vmalloc -> coherent (this node's), @len through the window */
static void xfer_copy(struct ctx *c, uint32_t len, uint32_t flags)
{
	int src = filled(c, DMAKIT_KIND_VMALLOC, -1);
	int dst = filled(c, DMAKIT_KIND_COHERENT, GUARD);
	struct dmakit_xfer x;
	int ret;

	if (src < 0 || dst < 0)
		goto out;
	xfer_args(&x, src, dst, len, DMAKIT_DIR_COPY, flags);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER, &x);
	disarm(c, ret);
	if (clean_errno(c, 0)) {
		buffer_is(c, dst, guard, 0, 0, "target of a failed COPY");
	} else if (flags & DMAKIT_XFER_MAP_ONLY) {
		/* mapped and unmapped, device not started: target untouched */
		if (x.result.segments < 4)
			bad(c, "MAP_ONLY: %u segments", x.result.segments);
		buffer_is(c, dst, guard, 0, 0, "target of MAP_ONLY");
	} else {
		result_ok(c, &x.result);
		buffer_is(c, dst, pat + 64, 128, len, "COPY target");
	}
out:
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
}

static void path_xfer_copy(struct ctx *c) { xfer_copy(c, XLEN, 0); }
/* pages -> several segments and sg entries; nothing runs on the device */
static void path_xfer_map_only(struct ctx *c)
{
	xfer_copy(c, 2 * PAGE + 100, DMAKIT_XFER_MAP_ONLY);
}

/* ASYNC submission, then REAP_WAIT: both calls under the same N */
static void path_xfer_async(struct ctx *c)
{
	int fd = filled(c, DMAKIT_KIND_PAGES, -1), ret;
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };
	struct dmakit_xfer x;

	if (fd < 0)
		return;
	xfer_args(&x, fd, 0, XLEN, DMAKIT_DIR_TO_DEVICE, DMAKIT_XFER_ASYNC);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER, &x);
	if (!ret)
		ret = ioctl(c->edu, DMAKIT_IOC_XFER_REAP, &r);
	disarm(c, ret);
	if (!c->err && r.result.status < 0)
		c->err = -r.result.status;	/* failed after submission */
	if (!clean_errno(c, 0)) {
		if (r.result.id != x.id)
			bad(c, "reaped id %llu, submitted %llu",
			    (unsigned long long)r.result.id,
			    (unsigned long long)x.id);
		else
			win_is(c, 0, pat + 64, XLEN, "async TO_DEVICE");
	}
	/* nothing left behind on this fd */
	r.flags = 0;
	if (ioctl(c->edu, DMAKIT_IOC_XFER_REAP, &r) != -1 || errno != ENOENT)
		bad(c, "a further REAP: %s, want ENOENT", strerror(errno));
	close(fd);
}

/* ---- device node: user memory ------------------------------------------------ */

static void user_args(struct dmakit_xfer_user *u, struct iovec *iov,
		      struct iovec *dst, uint32_t dir, uint32_t flags)
{
	memset(u, 0, sizeof(*u));
	u->iov = (uintptr_t)iov;
	u->iovcnt = 1;
	if (dst) {
		u->dst_iov = (uintptr_t)dst;
		u->dst_iovcnt = 1;
	}
	u->dir = dir;
	u->flags = flags;
}

static void user_to(struct ctx *c, uint32_t flags)
{
	struct iovec iov = { pat + 7, XLEN };
	struct dmakit_xfer_user u;
	int ret;

	user_args(&u, &iov, NULL, DMAKIT_DIR_TO_DEVICE, flags);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER_USER, &u);
	disarm(c, ret);
	if (!clean_errno(c, 0)) {
		result_ok(c, &u.result);
		win_is(c, 0, pat + 7, XLEN, "XFER_USER TO_DEVICE");
	}
}

static void user_from(struct ctx *c, uint32_t flags)
{
	struct iovec iov = { out + 7, XLEN };
	struct dmakit_xfer_user u;
	int ret;

	if (win_write(c, 0, pat, XLEN))
		return;
	memset(out, GUARD, sizeof(out));
	user_args(&u, &iov, NULL, DMAKIT_DIR_FROM_DEVICE, flags);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER_USER, &u);
	disarm(c, ret);
	memset(guard, GUARD, sizeof(guard));
	if (clean_errno(c, 0)) {
		if (first_difference(out, guard, sizeof(out)) >= 0)
			bad(c, "a failed FROM_DEVICE wrote the user memory");
		return;
	}
	result_ok(c, &u.result);
	if (first_difference(out + 7, pat, XLEN) >= 0 ||
	    first_difference(out, guard, 7) >= 0 ||
	    first_difference(out + 7 + XLEN, guard, 100) >= 0)
		bad(c, "XFER_USER FROM_DEVICE: the user memory differs");
}

static void path_user_to_copy(struct ctx *c) { user_to(c, 0); }
static void path_user_from_copy(struct ctx *c) { user_from(c, 0); }
static void path_user_to_pinned(struct ctx *c) { user_to(c, DMAKIT_XFER_ZEROCOPY); }
static void path_user_from_pinned(struct ctx *c) { user_from(c, DMAKIT_XFER_ZEROCOPY); }

/* COPY of 4097 bytes: above copy_max, so pinned by its size */
static void path_user_copy_pinned(struct ctx *c)
{
	struct iovec src = { big_src + 1, PAGE + 1 };
	struct iovec dst = { big_dst + 3, PAGE + 1 };
	struct dmakit_xfer_user u;
	int ret;

	memcpy(big_src, pat, sizeof(big_src));
	memset(big_dst, GUARD, sizeof(big_dst));
	user_args(&u, &src, &dst, DMAKIT_DIR_COPY, 0);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER_USER, &u);
	disarm(c, ret);
	memset(guard, GUARD, sizeof(guard));
	if (clean_errno(c, 0)) {
		if (first_difference(big_dst, guard, sizeof(big_dst)) >= 0)
			bad(c, "a failed COPY wrote the target");
		return;
	}
	result_ok(c, &u.result);
	if (u.result.flags & DMAKIT_RESULT_COPIED)
		bad(c, "4097 bytes went through a kernel copy, not pinned");
	if (first_difference(big_dst + 3, pat + 1, PAGE + 1) >= 0 ||
	    first_difference(big_dst, guard, 3) >= 0 ||
	    first_difference(big_dst + 3 + PAGE + 1, guard, PAGE - 4) >= 0)
		bad(c, "XFER_USER COPY: the target differs");
}

/*
 * MAP_ONLY of pinned memory: the sg_table is built and mapped in this
 * thread (else in the engine's worker, which fail-nth does not reach).
 * TO_DEVICE on purpose: DMA-API debug tracks the cachelines of mappings
 * the device may write in a radix tree whose node allocations (GFP_ATOMIC,
 * no preload) fail-nth would reach too, and one that fails with the
 * per-CPU preload pool empty switches DMA-API debug off for good
 * ("cacheline tracking ENOMEM"). Pinning for the device to write is
 * swept by user_from_pinned.
 */
static void path_user_map_only(struct ctx *c)
{
	struct iovec iov = { big_src + PAGE - 700, XLEN };	/* two pages */
	struct dmakit_xfer_user u;
	int ret;

	memcpy(big_src, pat, sizeof(big_src));
	user_args(&u, &iov, NULL, DMAKIT_DIR_TO_DEVICE,
		  DMAKIT_XFER_ZEROCOPY | DMAKIT_XFER_MAP_ONLY);
	arm(c);
	ret = ioctl(c->edu, DMAKIT_IOC_XFER_USER, &u);
	disarm(c, ret);
	if (clean_errno(c, 0))
		return;
	result_ok(c, &u.result);
	if (u.result.segments < 1 || (u.result.flags & DMAKIT_RESULT_COPIED))
		bad(c, "MAP_ONLY: %u segments, flags %#x", u.result.segments,
		    u.result.flags);
}

/* read/write on the node: buffered (copy path) or O_DIRECT (pinned) */
static void node_io(struct ctx *c, bool to_dev, int flags)
{
	static unsigned char mem[2 * PAGE] __attribute__((aligned(4096)));
	int fd = edu_open(0, flags);
	ssize_t ret;

	if (fd < 0) {
		bad(c, "set-up: open: %s", strerror(errno));
		return;
	}
	if (to_dev) {
		memcpy(mem, pat + 11, XLEN);
	} else {
		if (win_write(c, 0, pat + 11, XLEN))
			goto out;
		memset(mem, GUARD, sizeof(mem));
	}
	arm(c);
	ret = to_dev ? pwrite(fd, mem, XLEN, 0) : pread(fd, mem, XLEN, 0);
	disarm(c, ret);
	memset(guard, GUARD, sizeof(guard));
	if (clean_errno(c, 0)) {
		if (!to_dev && first_difference(mem, guard, sizeof(mem)) >= 0)
			bad(c, "a failed read wrote the user memory");
	} else if (ret != XLEN) {
		bad(c, "%zd bytes", ret);
	} else if (to_dev) {
		win_is(c, 0, pat + 11, XLEN, "pwrite");
	} else if (first_difference(mem, pat + 11, XLEN) >= 0 ||
		   first_difference(mem + XLEN, guard, sizeof(mem) - XLEN) >= 0) {
		bad(c, "pread: the user memory differs");
	}
out:
	close(fd);
}

static void path_node_write(struct ctx *c) { node_io(c, true, 0); }
static void path_node_read(struct ctx *c) { node_io(c, false, 0); }
static void path_node_write_direct(struct ctx *c) { node_io(c, true, O_DIRECT); }
static void path_node_read_direct(struct ctx *c) { node_io(c, false, O_DIRECT); }

/* ---- what must hold after every run ------------------------------------------- */

static bool write_text(const char *path, const char *text);

struct snapshot {
	long fds;		/* open fds of this process */
	uint64_t free_fds;	/* which of fds 0..63 are free (a reserved one is not) */
	long dma_entries;	/* DMA-API debug: live mappings/allocations */
	long pins;		/* pages pinned with FOLL_PIN, system-wide */
	long unretired;		/* edu0 requests neither completed nor failed */
};

static long read_long(const char *path)
{
	char line[64];

	return *read_line(path, line, sizeof(line)) ? strtol(line, NULL, 0) : -1;
}

static void take_snapshot(struct snapshot *s)
{
	const char *stats = "/sys/class/misc/dmakit-edu0/stats";
	char path[128];
	DIR *d = opendir("/proc/self/fd");
	long requests, done;
	int fd[16], i;

	s->fds = 0;
	while (d && readdir(d))
		s->fds++;
	if (d)
		closedir(d);
	/* the first 16 free fd numbers: a reserved but unused one is missing */
	s->free_fds = 0;
	for (i = 0; i < 16; i++) {
		fd[i] = dup(0);
		if (fd[i] >= 0 && fd[i] < 64)
			s->free_fds |= 1ull << fd[i];
	}
	for (i = 0; i < 16; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	s->dma_entries = read_long(DEBUGFS "/dma-api/nr_total_entries") -
			 read_long(DEBUGFS "/dma-api/num_free_entries");
	s->pins = pins_held();	/* folds the per-CPU differences first */
	snprintf(path, sizeof(path), "%s/requests", stats);
	requests = read_long(path);
	snprintf(path, sizeof(path), "%s/completed", stats);
	done = read_long(path);
	snprintf(path, sizeof(path), "%s/errors", stats);
	done += read_long(path);
	s->unretired = requests - done;
}

/* the same as @a, or why not */
static bool snapshot_same(const struct snapshot *a, const struct snapshot *b,
			  char *why, size_t len)
{
	if (a->fds != b->fds)
		snprintf(why, len, "open fds %ld -> %ld", a->fds, b->fds);
	else if (a->free_fds != b->free_fds)
		snprintf(why, len, "free fds %#llx -> %#llx",
			 (unsigned long long)a->free_fds,
			 (unsigned long long)b->free_fds);
	else if (a->dma_entries != b->dma_entries)
		snprintf(why, len, "live DMA-API entries %ld -> %ld",
			 a->dma_entries, b->dma_entries);
	else if (a->pins != b->pins)
		snprintf(why, len, "pinned pages %ld -> %ld", a->pins, b->pins);
	else if (a->unretired != b->unretired)
		snprintf(why, len, "unretired requests %ld -> %ld",
			 a->unretired, b->unretired);
	else
		return true;
	return false;
}

/* ---- the sweep ------------------------------------------------------------------ */

/* fault-injection knobs and what they were */
static const struct knob {
	const char *file, *value;
} knobs[] = {
	{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
	{ DEBUGFS "/failslab/verbose", "0" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ DEBUGFS "/fail_page_alloc/min-order", "0" },
	{ DEBUGFS "/fail_page_alloc/verbose", "0" },
};

static char knob_was[sizeof(knobs) / sizeof(knobs[0])][16];

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fputs(text, f);
	return !fclose(f);
}

/* "" if fail-nth can run here, else why not */
static const char *no_fail_nth(void)
{
	char line[64];

	if (access(FAIL_NTH, W_OK))
		return "no " FAIL_NTH ": kernel without CONFIG_FAULT_INJECTION";
	if (!*read_line(DEBUGFS "/failslab/probability", line, sizeof(line)) ||
	    !*read_line(DEBUGFS "/fail_page_alloc/probability", line, sizeof(line)))
		return "no failslab/fail_page_alloc in debugfs: kernel without FAILSLAB, FAIL_PAGE_ALLOC or FAULT_INJECTION_DEBUG_FS";
	return "";
}

typedef void path_fn(struct ctx *c);

/* a fresh table for this run (tests run in forked children) */
static void __attribute__((constructor)) fresh_table(void)
{
	unlink(TABLE);
}

FIXTURE(sweep) {
	struct ctx c;
	const char *skip;
};

FIXTURE_VARIANT(sweep) {
	const char *name;
	path_fn *fn;
	bool device;		/* uses the device: check it after failures */
	bool dma_hook;		/* swept with the dma_map point (transfer paths) */
	const char *node;	/* needs this node */
	unsigned int min_points;	/* it allocates or maps at least this often */
};

FIXTURE_SETUP(sweep)
{
	unsigned int i;

	/* both sweeps need the debug lane's checkers (DMA-API debug, kmemleak) */
	self->skip = no_fail_nth();
	/*
	 * A kernel with fail-nth and failslab in debugfs has the framework's
	 * debugfs files: the module's dma_map point must be one of its
	 * fault_attrs (task-filter is a file the module's fallback lacks).
	 */
	if (!*self->skip && variant->dma_hook) {
		ASSERT_EQ(0, access(FAULT_DIR "dma_map/probability", W_OK)) {
			TH_LOG("no dma_map fault point: %s", strerror(errno));
		}
		ASSERT_EQ(0, access(FAULT_DIR "dma_map/task-filter", W_OK)) {
			TH_LOG("dma_map is not the framework's fault_attr: %s",
			       strerror(errno));
		}
	}
	if (!*self->skip && variant->node && access(variant->node, F_OK))
		self->skip = "the node does not exist on this lane";
	if (*self->skip)
		return;
	self->c.nth = -1;
	self->c.dma_hook = variant->dma_hook;
	if (!variant->dma_hook) {
		for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
			read_line(knobs[i].file, knob_was[i], sizeof(knob_was[i]));
			ASSERT_TRUE(write_text(knobs[i].file, knobs[i].value)) {
				TH_LOG("%s: %s", knobs[i].file, strerror(errno));
			}
		}
		self->c.nth = open(FAIL_NTH, O_RDWR);
		ASSERT_LE(0, self->c.nth);
	}
	self->c.edu = edu_open(0, 0);
	ASSERT_LE(0, self->c.edu) {
		TH_LOG("/dev/dmakit-edu0: %s", strerror(errno));
	}
	fill_pattern(pat, sizeof(pat), 7);
	memset(out, 0, sizeof(out));
	memset(guard, GUARD, sizeof(guard));
	memset(big_src, 0, sizeof(big_src));
	memset(big_dst, 0, sizeof(big_dst));
}

FIXTURE_TEARDOWN(sweep)
{
	unsigned int i;

	if (*self->skip)
		return;
	if (!variant->dma_hook)
		for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
			if (knob_was[i][0])
				write_text(knobs[i].file, knob_was[i]);
	close(self->c.nth);
	close(self->c.edu);
}

static void table_row(const char *path, const char *hook, unsigned int points,
		      const char *outcomes)
{
	FILE *f = fopen(TABLE, "a");

	printf("# %-22s %-13s %6u  %s\n", path, hook, points, outcomes);
	if (f) {
		fprintf(f, "%-22s %-13s %6u  %s\n", path, hook, points, outcomes);
		fclose(f);
	}
}

/*
 * With KASAN's quarantine every allocation takes a fresh object, so slab
 * refills (page allocations, themselves failure points) come every so many
 * runs, and stack-depot or kmemleak bookkeeping now and then: the Nth point
 * of one run may be the (N+1)th of the next. A run that reached no failure,
 * or whose failure the kernel absorbed, is therefore tried once more with
 * the same N before its verdict counts. The dma_map point counts only
 * mapping calls: one try.
 */
#define TRIES(c)	((c)->dma_hook ? 1 : 2)

TEST_F_TIMEOUT(sweep, every_failure_point_ends_clean, 150)
{
	struct ctx *c = &self->c;
	struct snapshot before, after;
	unsigned int n, try, points = 0, enomem = 0, eio = 0, other = 0, ok = 0;
	char why[160], outcomes[96];
	double t0 = now();
	bool reached;

	if (*self->skip)
		SKIP(return, "%s", self->skip);
	/*
	 * Once without injection: the path works, and what it sets up for
	 * good on its first use (a dma_pool page, a slab) is not counted as
	 * a leak later.
	 */
	c->n = 0;
	variant->fn(c);
	ASSERT_EQ(0, c->why[0] || c->err) {
		TH_LOG("%s without injection: %s %s", variant->name, c->why,
		       strerror(c->err));
	}
	take_snapshot(&before);
	for (n = 1; n <= MAX_POINTS; n++) {
		reached = false;
		for (try = 0; try < TRIES(c); try++) {
			c->n = n;
			c->why[0] = 0;
			c->injected = false;
			variant->fn(c);
			ASSERT_EQ(0, c->why[0]) {
				TH_LOG("%s, failure point %u%s: %s", variant->name,
				       n, c->injected ? "" : " (not reached)", c->why);
			}
			/* without an injected failure it must just work */
			ASSERT_TRUE(c->injected || !c->err) {
				TH_LOG("%s: %s without an injected failure",
				       variant->name, strerror(c->err));
			}
			take_snapshot(&after);
			ASSERT_TRUE(snapshot_same(&before, &after, why, sizeof(why))) {
				TH_LOG("%s, failure point %u (%s): %s", variant->name,
				       n, c->err ? strerror(c->err) : "ok", why);
			}
			if (!c->injected)
				continue;
			reached = true;
			if (!c->err)
				ok++;	/* the kernel coped: the result was verified */
			else if (c->err == ENOMEM)
				enomem++;
			else if (c->err == EIO)
				eio++;
			else
				other++;
			if (variant->device && c->err)
				ASSERT_TRUE(device_works(c, n)) {
					TH_LOG("%s, after failure point %u: %s",
					       variant->name, n, c->why);
				}
			if (c->err)
				break;	/* a failure point of the path itself */
		}
		if (!reached)
			break;	/* the path ran to its end: no Nth point */
		points = n;
	}
	ASSERT_GE(MAX_POINTS, n);
	/* an injection that never fires would make every sweep pass */
	ASSERT_LE(variant->min_points, points) {
		TH_LOG("%s: only %u failure points reached", variant->name,
		       points);
	}
	ASSERT_TRUE(device_works(c, 1000)) {
		TH_LOG("%s: device after the sweep: %s", variant->name, c->why);
	}
	snprintf(outcomes, sizeof(outcomes),
		 "%3u ENOMEM %3u EIO %3u other %3u ok  %5.1f s", enomem, eio,
		 other, ok, now() - t0);
	table_row(variant->name, c->dma_hook ? "dma_map" : "fail-nth",
		  points, outcomes);
}

/* @min: failure points the path has for sure (0: it may allocate nothing) */
#define PATH(id, dev, min) \
	FIXTURE_VARIANT_ADD(sweep, id) { .name = #id, .fn = path_##id, \
					 .device = dev, .min_points = min }
#define PATH_NODE(id, dev, min, nodename) \
	FIXTURE_VARIANT_ADD(sweep, id) { .name = #id, .fn = path_##id, \
					 .device = dev, .min_points = min, \
					 .node = nodename }
/* @min: mapping calls (a buffer or pinned range, a page, a pool chunk) */
#define DMA_PATH(id, min) \
	FIXTURE_VARIANT_ADD(sweep, id##_dma_map) { .name = #id, .fn = path_##id, \
						   .device = true, .dma_hook = true, \
						   .min_points = min }

PATH_NODE(open_ctl, false, 1, NULL);
PATH_NODE(open_edu, false, 1, NULL);
PATH_NODE(open_fd0, false, 1, "/dev/dmakit-fd0");
PATH(info, false, 0);
PATH(alloc_contig, false, 1);
PATH(alloc_pages, false, 1);
PATH(alloc_vmalloc, false, 1);
PATH(alloc_coherent, false, 1);
PATH(buf_info, false, 0);
PATH(translate, false, 1);
PATH(buf_read, false, 0);
PATH(buf_write, false, 0);
PATH(buf_pread, false, 0);
PATH(buf_pwrite, false, 0);
PATH(mmap_contig, false, 1);
PATH(mmap_contig_pfnmap, false, 1);
PATH(mmap_pages, false, 1);
PATH(mmap_vmalloc, false, 1);
PATH(mmap_coherent, false, 1);
PATH(mmap_premap, false, 1);
PATH(dev_info, true, 0);
PATH(factorial, true, 0);
PATH(loopback, true, 1);
PATH(xfer_to, true, 1);
PATH(xfer_from, true, 1);
PATH(xfer_copy, true, 1);
PATH(xfer_async, true, 1);
PATH(xfer_staged_to, true, 1);
PATH(xfer_staged_from, true, 1);
PATH(xfer_map_only, true, 1);
PATH(user_to_copy, true, 1);
PATH(user_from_copy, true, 1);
PATH(user_to_pinned, true, 1);
PATH(user_from_pinned, true, 1);
PATH(user_copy_pinned, true, 1);
PATH(user_map_only, true, 1);
PATH(node_write, true, 1);
PATH(node_read, true, 1);
PATH(node_write_direct, true, 1);
PATH(node_read_direct, true, 1);
DMA_PATH(loopback, 2);
DMA_PATH(xfer_to, 1);
DMA_PATH(xfer_from, 1);
DMA_PATH(xfer_copy, 1);
DMA_PATH(xfer_async, 1);
DMA_PATH(xfer_staged_to, 1);
DMA_PATH(xfer_staged_from, 0);
DMA_PATH(xfer_map_only, 1);
DMA_PATH(user_to_copy, 1);
DMA_PATH(user_from_copy, 1);
DMA_PATH(user_to_pinned, 1);
DMA_PATH(user_from_pinned, 1);
DMA_PATH(user_copy_pinned, 2);
DMA_PATH(user_map_only, 1);
DMA_PATH(node_write, 1);
DMA_PATH(node_read, 1);
DMA_PATH(node_write_direct, 1);
DMA_PATH(node_read_direct, 1);

/* after every sweep (fixtures run in order): the table, the kernel's checkers */
FIXTURE(after_sweep) {
	int unused;
};

FIXTURE_SETUP(after_sweep)
{
}

FIXTURE_TEARDOWN(after_sweep)
{
}

TEST_F_TIMEOUT(after_sweep, table_and_kernel_checkers, 60)
{
	char line[256], text[32];
	FILE *f = fopen(TABLE, "r");

	if (*no_fail_nth())
		SKIP(return, "%s", no_fail_nth());
	ASSERT_NE(NULL, f);
	printf("# %-22s %-13s %6s  %s\n", "path", "injection", "points",
	       "outcomes of the injected runs (ok: succeeded, result checked)");
	while (fgets(line, sizeof(line), f))
		printf("# %s", line);
	fclose(f);
	if (!access(DEBUGFS "/dma-api/error_count", R_OK)) {
		ASSERT_EQ(0, read_long(DEBUGFS "/dma-api/error_count")) {
			TH_LOG("DMA-API debug complained (see the console)");
		}
		/* it turns itself off when its own allocations fail */
		ASSERT_STREQ("N", read_line(DEBUGFS "/dma-api/disabled", text,
					    sizeof(text)));
	}
	if (access(DEBUGFS "/kmemleak", W_OK))
		return;
	/* objects younger than 5 s are not reported; two scans settle it */
	sleep(6);
	ASSERT_TRUE(write_text(DEBUGFS "/kmemleak", "scan"));
	ASSERT_TRUE(write_text(DEBUGFS "/kmemleak", "scan"));
	f = fopen(DEBUGFS "/kmemleak", "r");
	ASSERT_NE(NULL, f);
	text[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		printf("# kmemleak: %s", line);
		text[0] = 1;
	}
	fclose(f);
	ASSERT_EQ(0, text[0]) {
		TH_LOG("kmemleak reports leaks after the sweep");
	}
}

/* a kernel without fail-nth (the stock lanes): one result that says why */
static void __attribute__((constructor)) skip_without_fail_nth(void)
{
	if (*no_fail_nth()) {
		printf("TAP version 13\n1..1\n");
		printf("ok 1 fault-injection sweep # SKIP %s\n", no_fail_nth());
		exit(0);
	}
}

TEST_HARNESS_MAIN
