// SPDX-License-Identifier: GPL-2.0
/*
 * Removal with files open: an edu device leaves the PCI bus (sysfs
 * remove) or its driver (unbind) while a process holds its node, a buffer
 * and a BAR0 mapping. Every call on the node then answers ENODEV without
 * reaching the device or the DMA API, the BAR0 mapping is gone (a touch is
 * SIGBUS, not whatever owns that range next), nothing leaks, and after a
 * rescan (or bind) the device moves data again. A coherent buffer made on
 * the device's node goes with it: its memory is given back while the
 * device is still there, every mapping of it (a forked child's too) is
 * zapped, and its fd answers ENODEV; buffers of the control node live on.
 * Transfers of dma-bufs (ours, vgem's) in flight end with ENODEV, and the
 * dma-bufs move data through the device once it is back.
 * (Module unload with files open is refused: module_reload.sh.)
 */
#include <libgen.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define EDU_ID		0x010000ed
#define EDU_BAR_LEN	(1 << 20)
#define INDEX		1	/* edu1: edu0 keeps serving the other suites */

FIXTURE(removal) {
	int fd;
	char node[64];
	char bdf[32];
	char driver[64];
	int removed;
};

FIXTURE_VARIANT(removal) {
	int unbind;	/* driver unbind/bind, else PCI remove/rescan */
};

FIXTURE_VARIANT_ADD(removal, pci_remove) { .unbind = 0 };
FIXTURE_VARIANT_ADD(removal, driver_unbind) { .unbind = 1 };

static int take_away(struct __test_metadata *_metadata,
		     FIXTURE_DATA(removal) *self, int unbind)
{
	char path[256];

	if (unbind)
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind",
			 self->driver);
	else
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove",
			 self->bdf);
	if (write_str(path, unbind ? self->bdf : "1"))
		return -1;
	self->removed = 1;
	return wait_path(self->node, 0);
}

static int bring_back(FIXTURE_DATA(removal) *self, int unbind)
{
	char path[256];
	int err;

	if (unbind) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind",
			 self->driver);
		err = write_str(path, self->bdf);
	} else {
		err = write_str("/sys/bus/pci/rescan", "1");
	}
	if (!err)
		self->removed = 0;
	return err ? err : wait_path(self->node, 1);
}

FIXTURE_SETUP(removal)
{
	struct dmakit_dev_info info;
	char path[256], link[256];
	ssize_t n;

	snprintf(self->node, sizeof(self->node), "/dev/dmakit-edu%d", INDEX);
	self->fd = open(self->node, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", self->node, strerror(errno));
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_DEV_INFO, &info));
	snprintf(self->bdf, sizeof(self->bdf), "%s", info.bus_id);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", self->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = 0;
	snprintf(self->driver, sizeof(self->driver), "%s", basename(link));
}

FIXTURE_TEARDOWN(removal)
{
	if (self->fd >= 0)
		close(self->fd);
	/* whatever the test did, the device is back for the next suites */
	if (self->removed)
		EXPECT_EQ(0, bring_back(self, variant->unbind));
}

/* the bytes moved through the device by a loopback on @node */
static void expect_loopback(struct __test_metadata *_metadata, const char *node)
{
	unsigned char src[3000], dst[3000];
	struct dmakit_edu_loopback lb = {
		.src = (uintptr_t)src, .dst = (uintptr_t)dst, .len = sizeof(src),
	};
	int fd = open(node, O_RDWR);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", node, strerror(errno));
	fill_pattern(src, sizeof(src), 61);
	memset(dst, 0, sizeof(dst));
	ASSERT_EQ(0, ioctl(fd, DMAKIT_IOC_EDU_LOOPBACK, &lb))
		TH_LOG("loopback: %s", strerror(errno));
	EXPECT_EQ(-1, first_difference(src, dst, sizeof(src)));
	close(fd);
}

#define GONE(call) do {							\
	long r_;							\
									\
	errno = 0;							\
	r_ = (call);							\
	EXPECT_EQ(-1, r_) {						\
		TH_LOG("%s did not fail", #call);			\
	}								\
	EXPECT_EQ(ENODEV, errno) {					\
		TH_LOG("%s: %s", #call, strerror(errno));		\
	}								\
} while (0)

TEST_F(removal, an_open_node_answers_enodev_and_its_bar0_mapping_is_gone)
{
	unsigned char mem[4096], want[4096];
	struct iovec v = { mem, 4000 }, d = { mem + 2048, 2048 };
	struct dmakit_alloc a = { .size = 4096, .kind = DMAKIT_KIND_COHERENT };
	struct dmakit_edu_liveness live = { .value = 5 };
	struct dmakit_xfer_user xu = {
		.iov = (uintptr_t)&v, .iovcnt = 1, .dir = DMAKIT_DIR_TO_DEVICE,
		.flags = DMAKIT_XFER_MAP_ONLY,
	};
	struct dmakit_xfer x = { .dir = DMAKIT_DIR_TO_DEVICE, .len = 4095,
				 .flags = DMAKIT_XFER_MAP_ONLY };
	volatile uint32_t *regs;
	struct pollfd p;
	int buf, vbuf;
	void *vmap;

	regs = mmap(NULL, EDU_BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->fd, 0);
	ASSERT_NE(MAP_FAILED, regs) TH_LOG("mmap BAR0: %s", strerror(errno));
	EXPECT_EQ(EDU_ID, regs[0]);
	buf = buf_alloc(8192, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, buf);
	vbuf = buf_alloc(8192, DMAKIT_KIND_VMALLOC, 0, NULL);
	ASSERT_LE(0, vbuf);
	fill_pattern(want, sizeof(want), 5);
	ASSERT_EQ((ssize_t)sizeof(want), pwrite(vbuf, want, sizeof(want), 0));
	vmap = mmap(NULL, 8192, PROT_READ, MAP_SHARED, vbuf, 0);
	ASSERT_NE(MAP_FAILED, vmap);
	x.fd = buf;
	fill_pattern(mem, sizeof(mem), 3);
	/* the calls work before */
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER, &x));
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER_USER, &xu));

	ASSERT_EQ(0, take_away(_metadata, self, variant->unbind))
		TH_LOG("%s %s: %s", variant->unbind ? "unbind" : "remove",
		       self->bdf, strerror(errno));

	/* the BAR0 mapping maps nothing now */
	EXPECT_EQ(SIGBUS, touch_byte((volatile unsigned char *)regs, 0));
	EXPECT_EQ(SIGBUS, touch_byte((volatile unsigned char *)regs + 4096, 1));
	munmap((void *)regs, EDU_BAR_LEN);
	/* every call on the node: ENODEV, the DMA API not reached */
	GONE(ioctl(self->fd, DMAKIT_IOC_EDU_LIVENESS, &live));
	GONE(ioctl(self->fd, DMAKIT_IOC_ALLOC, &a));
	a.kind = DMAKIT_KIND_PAGES;
	GONE(ioctl(self->fd, DMAKIT_IOC_ALLOC, &a));
	GONE(ioctl(self->fd, DMAKIT_IOC_XFER, &x));
	x.flags = 0;
	GONE(ioctl(self->fd, DMAKIT_IOC_XFER, &x));
	GONE(ioctl(self->fd, DMAKIT_IOC_XFER_USER, &xu));
	xu.dir = DMAKIT_DIR_COPY;
	xu.dst_iov = (uintptr_t)&d;
	xu.dst_iovcnt = 1;
	v.iov_len = 2048;
	GONE(ioctl(self->fd, DMAKIT_IOC_XFER_USER, &xu));
	GONE(pwrite(self->fd, mem, 100, 0));
	GONE(pread(self->fd, mem, 100, 0));
	GONE(pwrite(self->fd, mem, 4095, 0));	/* zero-copy */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED,
				   self->fd, 0));
	EXPECT_EQ(ENODEV, errno);
	/* poll does not hang and reports nothing to reap */
	p = (struct pollfd){ .fd = self->fd, .events = POLLPRI };
	EXPECT_EQ(0, poll(&p, 1, 0));
	/* the buffers are the control node's, not the device's: they work */
	fill_pattern(mem, sizeof(mem), 4);
	ASSERT_EQ((ssize_t)sizeof(mem), pwrite(buf, mem, sizeof(mem), 10));
	memset(mem, 0, sizeof(mem));
	ASSERT_EQ((ssize_t)sizeof(mem), pread(buf, mem, sizeof(mem), 10));
	fill_pattern(want, sizeof(want), 4);
	EXPECT_EQ(-1, first_difference(want, mem, sizeof(mem)));
	fill_pattern(want, sizeof(want), 5);
	EXPECT_EQ(-1, first_difference(want, vmap, sizeof(want)));
	munmap(vmap, 8192);
	close(vbuf);
	close(buf);
	close(self->fd);
	self->fd = -1;

	ASSERT_EQ(0, bring_back(self, variant->unbind))
		TH_LOG("%s: %s", variant->unbind ? "bind" : "rescan",
		       strerror(errno));
	expect_loopback(_metadata, self->node);
	/* and BAR0 maps the registers again */
	self->fd = open(self->node, O_RDWR);
	ASSERT_LE(0, self->fd);
	regs = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, regs);
	EXPECT_EQ(EDU_ID, regs[0]);
	munmap((void *)regs, 4096);
}

/*
 * An asynchronous chain in flight: removal lets the segment on the device
 * end and fails the rest; the request is reaped with ENODEV (or 0 if the
 * chain was already done), and the pinned memory comes back
 */
TEST_F(removal, a_transfer_in_flight_ends_with_enodev)
{
	static unsigned char src[64 << 10], dst[64 << 10];
	struct iovec s = { src, sizeof(src) }, d = { dst, sizeof(dst) };
	struct dmakit_xfer_user xu = {
		.iov = (uintptr_t)&s, .iovcnt = 1, .dst_iov = (uintptr_t)&d,
		.dst_iovcnt = 1, .dir = DMAKIT_DIR_COPY,
		.flags = DMAKIT_XFER_ASYNC,
	};
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };
	long pins = pins_held();

	fill_pattern(src, sizeof(src), 62);
	memset(dst, 0, sizeof(dst));
	/* 32 segments each way: seconds under emulation */
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER_USER, &xu))
		TH_LOG("submit: %s", strerror(errno));
	usleep(300000);
	ASSERT_EQ(0, take_away(_metadata, self, variant->unbind));
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER_REAP, &r))
		TH_LOG("reap: %s", strerror(errno));
	EXPECT_EQ(xu.id, r.result.id);
	if (r.result.status == 0) {
		EXPECT_EQ(-1, first_difference(src, dst, sizeof(dst)));
	} else {
		EXPECT_EQ(-ENODEV, r.result.status);
	}
	/* the pages pinned for the chain came back */
	EXPECT_EQ(pins, pins_held());
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, bring_back(self, variant->unbind));
	expect_loopback(_metadata, self->node);
}

#define DSIZE	(64u << 10)	/* 16 chunks or more through the window */
#define SPAN	(3 * 4096 + 300)

/* the dma-bufs of one exporter: a source holding @pat, a destination of 0x5a */
struct dbufs {
	const char *who;
	int src, dst;			/* the dma-bufs */
	int src_buf, dst_buf;		/* ours: the buffers behind them */
	uint32_t src_handle, dst_handle;	/* vgem's: the dumb buffers */
	unsigned char *src_map, *dst_map;	/* vgem's, udmabuf's, a heap's */
	size_t map_len;				/* of each mapping */
	int src_memfd, dst_memfd;		/* udmabuf's memfds, else -1 */
	unsigned char pat[DSIZE];
};

/* 0 or -errno; @dst_pat is what the destination holds (0x5a) */
static int dbufs_ours(struct dbufs *d, const unsigned char *dst_pat)
{
	d->who = "ours";
	d->src_buf = buf_alloc(DSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	d->dst_buf = buf_alloc(DSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	if (d->src_buf < 0 || d->dst_buf < 0)
		return -ENOMEM;
	if (pwrite(d->src_buf, d->pat, DSIZE, 0) != DSIZE ||
	    pwrite(d->dst_buf, dst_pat, DSIZE, 0) != DSIZE)
		return -EIO;
	d->src = dmabuf_export(d->src_buf, 0);
	d->dst = dmabuf_export(d->dst_buf, 0);
	return d->src < 0 ? d->src : d->dst < 0 ? d->dst : 0;
}

static int dbufs_vgem(struct dbufs *d, int drm, const unsigned char *dst_pat)
{
	int err;

	d->who = "vgem's";
	d->map_len = VGEM_DUMB_SIZE;
	err = vgem_dumb(drm, d->pat, &d->src_handle, &d->src_map, &d->src);
	return err ? err : vgem_dumb(drm, dst_pat, &d->dst_handle, &d->dst_map,
				     &d->dst);
}

/*
 * one dma-buf of udmabuf or a dma-heap (foreign_dmabuf()) holding @pat,
 * mapped through its memfd (udmabuf) or itself (a heap): 0 or -errno
 */
static int foreign_one(const char *who, const unsigned char *pat, int *fd,
		       int *memfd, unsigned char **map)
{
	*fd = foreign_dmabuf(who, DSIZE, memfd);
	if (*fd < 0)
		return *fd;
	*map = mmap(NULL, DSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    *memfd >= 0 ? *memfd : *fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return -errno;
	}
	memcpy(*map, pat, DSIZE);
	return 0;
}

/* udmabuf's or a dma-heap's (@who as foreign_dmabuf() names it) */
static int dbufs_foreign(struct dbufs *d, const char *who,
			 const unsigned char *dst_pat)
{
	int err;

	d->who = who;
	d->map_len = DSIZE;
	err = foreign_one(who, d->pat, &d->src, &d->src_memfd, &d->src_map);
	return err ? err : foreign_one(who, dst_pat, &d->dst, &d->dst_memfd,
				       &d->dst_map);
}

/* the dma-buf's bytes at @off: through our buffer, or the exporter's mapping */
static int dbufs_read(struct dbufs *d, int dst, unsigned char *to,
		      size_t len, size_t off)
{
	if (d->src_map) {
		memcpy(to, (dst ? d->dst_map : d->src_map) + off, len);
		return 0;
	}
	return pread(dst ? d->dst_buf : d->src_buf, to, len, off) ==
	       (ssize_t)len ? 0 : -1;
}

static void dbufs_close(struct dbufs *d, int drm)
{
	if (d->src_map) {
		munmap(d->src_map, d->map_len);
		munmap(d->dst_map, d->map_len);
		if (d->src_handle) {
			gem_close(drm, d->src_handle);
			gem_close(drm, d->dst_handle);
		}
		if (d->src_memfd >= 0)
			close(d->src_memfd);
		if (d->dst_memfd >= 0)
			close(d->dst_memfd);
	} else {
		close(d->src_buf);
		close(d->dst_buf);
	}
	close(d->src);
	close(d->dst);
}

/* queue a COPY of @len bytes; 0 and its @id, or -errno */
static int copy_async(int node, int src, int dst, uint64_t len, uint64_t *id)
{
	struct dmakit_xfer x = { .fd = src, .dst_fd = dst, .len = len,
				 .dir = DMAKIT_DIR_COPY,
				 .flags = DMAKIT_XFER_ASYNC };

	if (ioctl(node, DMAKIT_IOC_XFER, &x))
		return -errno;
	*id = x.id;
	return 0;
}

/*
 * An asynchronous COPY out of a dma-buf, then one into a dma-buf, ours (an
 * exported pages buffer), vgem's, udmabuf's, the system heap's and the CMA
 * heap's where the kernel has them, each in
 * flight when the device goes (one removal each): it is reaped with
 * ENODEV (0 only had it finished, its bytes then all there); the
 * destination holds what the segments before the removal wrote, then its
 * old bytes (nothing written after); after the rescan the same dma-buf, in
 * the same role, moves data through the new device byte for byte. The
 * sources stay untouched, and once everything is closed no dma-buf of
 * dmakit or DRM and no pin is left.
 */
TEST_F_TIMEOUT(removal, dma_buf_transfers_in_flight_end_with_enodev, 300)
{
	static unsigned char old[DSIZE], got[DSIZE], plain_pat[DSIZE];
	int base_ours = dma_bufs_of("dmakit"), base_drm = dma_bufs_of("drm");
	long pins = pins_held(), set_pins;
	static const char *const kernels_own[] = {
		"udmabuf", "system_heap", "cma_heap",
	};
	struct dbufs d[5];
	int n = 1, drm, plain_in, plain_out, loaded = 0, err;
	char why[256] = "";

	memset(d, 0, sizeof(d));
	for (int i = 0; i < 5; i++)
		d[i].src_memfd = d[i].dst_memfd = -1;
	memset(old, 0x5a, sizeof(old));
	fill_pattern(d[0].pat, DSIZE, 81);
	fill_pattern(d[1].pat, DSIZE, 82);
	fill_pattern(plain_pat, DSIZE, 83);
	ASSERT_EQ(0, dbufs_ours(&d[0], old));
	drm = vgem_open();
	if (drm == -ENOENT) {
		err = peer_load("vgem", why, sizeof(why));
		if (!err) {
			loaded = 1;
			drm = vgem_open();
		} else {
			ASSERT_EQ(2, err) TH_LOG("loading vgem: %s", why);
		}
	}
	ASSERT_TRUE(drm >= 0 || (drm == -ENOENT && !loaded))
		TH_LOG("vgem's node: %s", strerror(-drm));
	if (drm >= 0) {
		err = dbufs_vgem(&d[1], drm, old);
		ASSERT_EQ(0, err) TH_LOG("vgem's dumb buffers: %s", strerror(-err));
		n = 2;
	} else {
		TH_LOG("no vgem (%s)", why);
	}
	/* the kernel's own exporters where it has them (6.1: none; CMA: ours) */
	for (int i = 0; i < 3; i++) {
		fill_pattern(d[n].pat, DSIZE, 84 + i);
		err = dbufs_foreign(&d[n], kernels_own[i], old);
		if (err == -ENOENT) {
			TH_LOG("no %s on this kernel", kernels_own[i]);
			continue;
		}
		ASSERT_EQ(0, err) TH_LOG("%s: %s", kernels_own[i], strerror(-err));
		n++;
	}
	/* udmabuf pins its memfd's pages for the dma-buf's life */
	set_pins = pins_held();
	plain_in = buf_alloc(DSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, plain_in);
	ASSERT_EQ(DSIZE, pwrite(plain_in, plain_pat, DSIZE, 0));
	plain_out = buf_alloc(DSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, plain_out);

	for (int c = 0; c < 2 * n; c++) {
		struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };
		struct dbufs *e = &d[c / 2];
		int into = c % 2;
		const char *how = into ? "into" : "out of";
		const unsigned char *want = into ? plain_pat : e->pat;
		struct dmakit_xfer x = { .len = SPAN, .dir = DMAKIT_DIR_COPY };
		uint64_t id = 0;
		long first;

		ASSERT_EQ(DSIZE, pwrite(plain_out, old, DSIZE, 0));
		err = copy_async(self->fd, into ? plain_in : e->src,
				 into ? e->dst : plain_out, DSIZE, &id);
		ASSERT_EQ(0, err) TH_LOG("%s %s: %s", how, e->who, strerror(-err));
		usleep(300000);
		ASSERT_EQ(0, take_away(_metadata, self, variant->unbind))
			TH_LOG("%s %s: %s", variant->unbind ? "unbind" : "remove",
			       self->bdf, strerror(errno));
		ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER_REAP, &r))
			TH_LOG("reap: %s", strerror(errno));
		EXPECT_EQ(id, r.result.id);
		if (into) {
			ASSERT_EQ(0, dbufs_read(e, 1, got, DSIZE, 0));
		} else {
			ASSERT_EQ(DSIZE, pread(plain_out, got, DSIZE, 0));
		}
		first = first_difference(want, got, DSIZE);
		TH_LOG("%s %s: status %d, %ld of %u bytes there", how, e->who,
		       r.result.status, first < 0 ? (long)DSIZE : first, DSIZE);
		if (r.result.status == 0) {
			EXPECT_EQ(-1, first);
		} else {
			EXPECT_EQ(-ENODEV, r.result.status);
			/* what landed is a prefix; nothing after it moved */
			if (first >= 0) {
				EXPECT_EQ(-1, first_difference(old + first,
							       got + first,
							       DSIZE - first)) {
					TH_LOG("%s %s: written up to %ld, then stray bytes",
					       how, e->who, first);
				}
			}
		}
		close(self->fd);
		self->fd = -1;
		EXPECT_EQ(set_pins, pins_held());

		/* back: the same dma-buf, in the same role, through the new device */
		ASSERT_EQ(0, bring_back(self, variant->unbind))
			TH_LOG("%s: %s", variant->unbind ? "bind" : "rescan",
			       strerror(errno));
		self->fd = open(self->node, O_RDWR);
		ASSERT_LE(0, self->fd);
		x.fd = into ? plain_in : e->src;
		x.offset = 1000;
		x.dst_fd = into ? e->dst : plain_out;
		x.dst_offset = DSIZE - SPAN - 7;
		ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER, &x))
			TH_LOG("%s %s, after: %s", how, e->who, strerror(errno));
		if (into) {
			ASSERT_EQ(0, dbufs_read(e, 1, got, SPAN, x.dst_offset));
		} else {
			ASSERT_EQ(SPAN, pread(plain_out, got, SPAN, x.dst_offset));
		}
		EXPECT_EQ(-1, first_difference(want + 1000, got, SPAN))
			TH_LOG("%s %s, after", how, e->who);
	}
	/* the sources as they were */
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(0, dbufs_read(&d[i], 0, got, DSIZE, 0));
		EXPECT_EQ(-1, first_difference(d[i].pat, got, DSIZE))
			TH_LOG("%s source", d[i].who);
	}

	/* closed: no dma-buf and no pin left */
	for (int i = 0; i < n; i++)
		dbufs_close(&d[i], drm);
	close(plain_out);
	close(plain_in);
	if (drm >= 0)
		close(drm);
	EXPECT_EQ(base_ours, dma_bufs_settle("dmakit", base_ours));
	EXPECT_EQ(base_drm, dma_bufs_settle("drm", base_drm));
	EXPECT_EQ(pins, pins_held());
	if (loaded)
		EXPECT_EQ(0, system("/tests/peers.sh unload vgem"));
	expect_loopback(_metadata, self->node);
}

/* a buffer of @kind and @size made on the device node @fd */
static int node_alloc(int fd, uint64_t size, uint32_t kind)
{
	struct dmakit_alloc a = { .size = size, .kind = kind };

	return ioctl(fd, DMAKIT_IOC_ALLOC, &a) ? -errno : (int)a.fd;
}

#define COH_SIZE	(3 * 4096)
#define REVOKED		"revoked 1 buffer still open"

/*
 * Coherent memory is the device's: removal gives it back (behind VT-d the
 * old code freed it at close through a device with no IOMMU group, and
 * DMA-API debug reported the allocation pending at removal), zaps every
 * mapping of it, the parent's and a forked child's, and its fd answers
 * ENODEV. A contig buffer of the control node, mapped alongside, keeps its
 * memory and its bytes.
 */
TEST_F(removal, coherent_buffers_go_with_the_device)
{
	unsigned char mem[COH_SIZE], want[COH_SIZE];
	struct dmakit_page_desc desc[3];
	struct dmakit_translate tr = { .count = 3, .descs = (uintptr_t)desc };
	struct dmakit_xfer x = { .len = 4000, .dir = DMAKIT_DIR_TO_DEVICE };
	struct dmakit_buf_info info;
	volatile unsigned char *whole, *part, *cmap;
	int coh, contig, go[2], done[2], status;
	int logged = klog_count(REVOKED);
	char c = 0;
	pid_t child;

	coh = node_alloc(self->fd, COH_SIZE, DMAKIT_KIND_COHERENT);
	ASSERT_LE(0, coh) TH_LOG("coherent ALLOC: %s", strerror(-coh));
	contig = buf_alloc(COH_SIZE, DMAKIT_KIND_CONTIG, 0, NULL);
	ASSERT_LE(0, contig);
	fill_pattern(want, sizeof(want), 71);
	ASSERT_EQ(COH_SIZE, pwrite(coh, want, COH_SIZE, 0));
	ASSERT_EQ(COH_SIZE, pwrite(contig, want, COH_SIZE, 0));
	whole = mmap(NULL, COH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, coh, 0);
	ASSERT_NE(MAP_FAILED, whole) TH_LOG("mmap: %s", strerror(errno));
	part = mmap(NULL, 4096, PROT_READ, MAP_SHARED, coh, 2 * 4096);
	ASSERT_NE(MAP_FAILED, part);
	cmap = mmap(NULL, COH_SIZE, PROT_READ, MAP_SHARED, contig, 0);
	ASSERT_NE(MAP_FAILED, cmap);
	EXPECT_EQ(-1, first_difference(want, (void *)whole, COH_SIZE));
	EXPECT_EQ(-1, first_difference(want + 2 * 4096, (void *)part, 4096));
	ASSERT_EQ(0, ioctl(coh, DMAKIT_IOC_TRANSLATE, &tr));

	/* a child holds the mapping it inherited, and touches it when told */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int before = first_difference(want, (void *)whole, COH_SIZE);

		close(coh);
		if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(10);
		/* 0: the data was there before, and now the mapping is gone */
		_exit(before != -1 ? 11 :
		      touch_byte(whole + 4096, 0) != SIGBUS ? 12 : 0);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));

	ASSERT_EQ(0, take_away(_metadata, self, variant->unbind))
		TH_LOG("%s %s: %s", variant->unbind ? "unbind" : "remove",
		       self->bdf, strerror(errno));

	/* every mapping of the coherent memory is gone */
	EXPECT_EQ(SIGBUS, touch_byte(whole, 0));
	EXPECT_EQ(SIGBUS, touch_byte(whole + COH_SIZE - 1, 1));
	EXPECT_EQ(SIGBUS, touch_byte(part, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the child: status %#x (10: pipe, 11: data, 12: no SIGBUS)",
		       status);
	/* its fd: ENODEV for every use of the memory, INFO still answers */
	GONE(pread(coh, mem, 100, 0));
	GONE(pwrite(coh, mem, 100, 0));
	GONE(ioctl(coh, DMAKIT_IOC_TRANSLATE, &tr));
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, coh, 0));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, ioctl(coh, DMAKIT_IOC_BUF_INFO, &info));
	EXPECT_EQ(COH_SIZE, info.size);
	EXPECT_EQ(DMAKIT_KIND_COHERENT, info.kind);
	/* the control node's contig buffer: mapping and memory intact */
	EXPECT_EQ(-1, first_difference(want, (void *)cmap, COH_SIZE));
	memset(mem, 0, sizeof(mem));
	EXPECT_EQ(COH_SIZE, pread(contig, mem, COH_SIZE, 0));
	EXPECT_EQ(-1, first_difference(want, mem, COH_SIZE));
	munmap((void *)whole, COH_SIZE);
	munmap((void *)part, 4096);
	munmap((void *)cmap, COH_SIZE);
	close(coh);
	close(contig);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	/* the log names the device and says what went (within 3 s) */
	for (int i = 0; i < 30 && klog_count(REVOKED) == logged; i++)
		usleep(100000);
	EXPECT_EQ(logged + 1, klog_count(REVOKED));

	/* back: coherent memory of the new device moves data */
	ASSERT_EQ(0, bring_back(self, variant->unbind));
	close(self->fd);
	self->fd = open(self->node, O_RDWR);
	ASSERT_LE(0, self->fd);
	coh = node_alloc(self->fd, COH_SIZE, DMAKIT_KIND_COHERENT);
	ASSERT_LE(0, coh);
	x.fd = coh;
	fill_pattern(want, 4000, 72);
	ASSERT_EQ(4000, pwrite(coh, want, 4000, 0));
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER, &x))
		TH_LOG("to the device: %s", strerror(errno));
	x.offset = 8192 - 4000;
	x.dir = DMAKIT_DIR_FROM_DEVICE;
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_XFER, &x))
		TH_LOG("from the device: %s", strerror(errno));
	memset(mem, 0, sizeof(mem));
	ASSERT_EQ(4000, pread(coh, mem, 4000, 8192 - 4000));
	EXPECT_EQ(-1, first_difference(want, mem, 4000));
	close(coh);
}

TEST_HARNESS_MAIN
