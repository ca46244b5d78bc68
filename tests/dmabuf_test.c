// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf: a dmakit buffer exported as a dma-buf (DMAKIT_IOC_EXPORT), and
 * dma-bufs as the source or destination of a transfer, ours and the
 * kernel's own exporters' (udmabuf, the system and CMA dma-heaps). Every
 * transfer's bytes are checked byte for byte where they land.
 */
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "dmakit_test.h"

#define PAGE	4096u
#define SIZE	(4 * PAGE)

static int dmabuf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

FIXTURE(dmabuf) {
	int node;
	int buf;
	int dbuf;
	unsigned char pat[SIZE], got[SIZE];
};

FIXTURE_VARIANT(dmabuf) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(dmabuf, contig) { .kind = DMAKIT_KIND_CONTIG };
FIXTURE_VARIANT_ADD(dmabuf, pages) { .kind = DMAKIT_KIND_PAGES };
FIXTURE_VARIANT_ADD(dmabuf, vmalloc) { .kind = DMAKIT_KIND_VMALLOC };

FIXTURE_SETUP(dmabuf)
{
	self->node = edu_open(0, 0);
	ASSERT_LE(0, self->node) TH_LOG("open edu0: %s", strerror(errno));
	self->buf = buf_alloc(SIZE, variant->kind, 0, NULL);
	ASSERT_LE(0, self->buf);
	self->dbuf = dmabuf_export(self->buf, DMAKIT_EXPORT_CLOEXEC);
	ASSERT_LE(0, self->dbuf) TH_LOG("EXPORT: %s", strerror(-self->dbuf));
	fill_pattern(self->pat, SIZE, 80 + variant->kind);
	ASSERT_EQ(SIZE, pwrite(self->buf, self->pat, SIZE, 0));
}

FIXTURE_TEARDOWN(dmabuf)
{
	close(self->dbuf);
	close(self->buf);
	close(self->node);
}

/*
 * The dma-buf maps the buffer's memory: what one side writes the other
 * reads; it is the buffer's size, holds the buffer after its fd is closed,
 * and a second EXPORT gives the same dma-buf.
 */
TEST_F(dmabuf, the_dma_buf_maps_the_buffer_and_holds_it)
{
	struct stat a, b;
	unsigned char *p;
	int again;

	EXPECT_EQ(SIZE, lseek(self->dbuf, 0, SEEK_END));
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->dbuf, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0, dmabuf_sync(self->dbuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, first_difference(self->pat, p, SIZE));
	memset(p + PAGE - 10, 0xa5, 20);
	EXPECT_EQ(0, dmabuf_sync(self->dbuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	memset(self->pat + PAGE - 10, 0xa5, 20);
	ASSERT_EQ(SIZE, pread(self->buf, self->got, SIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, SIZE));
	/* the kernel checks the sync flags */
	EXPECT_EQ(-EINVAL, dmabuf_sync(self->dbuf, 0x80));

	again = dmabuf_export(self->buf, 0);
	ASSERT_LE(0, again);
	ASSERT_EQ(0, fstat(self->dbuf, &a));
	ASSERT_EQ(0, fstat(again, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(0, fcntl(again, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->dbuf, F_GETFD) & FD_CLOEXEC);
	close(again);

	/* the buffer's fd goes: the dma-buf and its mapping keep the memory */
	close(self->buf);
	self->buf = -1;
	EXPECT_EQ(-1, first_difference(self->pat, p, SIZE));
	munmap(p, SIZE);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->dbuf, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, first_difference(self->pat + 2 * PAGE, p, PAGE));
	munmap(p, PAGE);
}

/*
 * Our own dma-buf as a transfer's source and destination: the device's
 * attachment is mapped by our exporter; ranges start and end inside pages
 */
TEST_F(dmabuf, transfers_to_and_from_the_dma_buf)
{
	struct dmakit_xfer x = { .offset = 10, .dst_offset = PAGE + 5,
				 .len = 2 * PAGE, .dir = DMAKIT_DIR_COPY };
	unsigned char back[3000];
	int other, dother;

	/* dma-buf -> window -> buffer */
	ASSERT_EQ(0, xfer_range(self->node, self->dbuf, PAGE - 700, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE));
	other = buf_alloc(SIZE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, xfer_range(self->node, other, 100, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(3000, pread(other, back, 3000, 100));
	EXPECT_EQ(-1, first_difference(self->pat + PAGE - 700, back, 3000));

	/* window -> dma-buf, elsewhere in it; the rest untouched */
	ASSERT_EQ(0, xfer_range(self->node, self->dbuf, 3 * PAGE - 1500, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	memcpy(self->pat + 3 * PAGE - 1500, back, 3000);
	ASSERT_EQ(SIZE, pread(self->buf, self->got, SIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, SIZE));

	/* a COPY between two dma-bufs */
	dother = dmabuf_export(other, 0);
	ASSERT_LE(0, dother);
	x.fd = self->dbuf;
	x.dst_fd = dother;
	ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_XFER, &x))
		TH_LOG("COPY: %s", strerror(errno));
	EXPECT_LE(2u, x.result.dma_segments);
	ASSERT_EQ(2 * PAGE, pread(other, self->got, 2 * PAGE, PAGE + 5));
	EXPECT_EQ(-1, first_difference(self->pat + 10, self->got, 2 * PAGE));
	close(dother);
	close(other);
}

/* what the ABI refuses, and how */
TEST_F(dmabuf, bad_exports_and_imports_get_clear_errno)
{
	struct dmakit_export e = { .flags = 0x80 };
	struct dmakit_alloc a = { .size = PAGE, .kind = DMAKIT_KIND_COHERENT };
	struct dmakit_xfer x = { .len = 100, .dir = DMAKIT_DIR_TO_DEVICE,
				 .flags = DMAKIT_XFER_STAGED };
	int ro, dro, fd;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->buf, DMAKIT_IOC_EXPORT, &e));
	EXPECT_EQ(EINVAL, errno);
	e.flags = 0;
	e.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->buf, DMAKIT_IOC_EXPORT, &e));
	EXPECT_EQ(EINVAL, errno);
	/* coherent memory goes with its device: not exported */
	ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_ALLOC, &a));
	EXPECT_EQ(-EOPNOTSUPP, dmabuf_export(a.fd, 0));
	close(a.fd);

	/* a range beyond the dma-buf; staging through the CPU */
	EXPECT_EQ(-EINVAL, xfer_range(self->node, self->dbuf, SIZE - 50, 0, 100,
				DMAKIT_DIR_TO_DEVICE));
	x.fd = self->dbuf;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->node, DMAKIT_IOC_XFER, &x));
	EXPECT_EQ(EINVAL, errno);
	/* an fd that is neither a buffer nor a dma-buf */
	fd = memfd_create("not-a-dma-buf", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, SIZE));
	EXPECT_EQ(-EINVAL, xfer_range(self->node, fd, 0, 0, 100,
				DMAKIT_DIR_TO_DEVICE));
	close(fd);

	/* a read-only buffer gives a read-only dma-buf: no DMA into it */
	ro = buf_alloc(SIZE, variant->kind, DMAKIT_ALLOC_RDONLY, NULL);
	ASSERT_LE(0, ro);
	dro = dmabuf_export(ro, 0);
	ASSERT_LE(0, dro);
	EXPECT_EQ(-EBADF, xfer_range(self->node, dro, 0, 0, 100,
			       DMAKIT_DIR_FROM_DEVICE));
	EXPECT_EQ(0, xfer_range(self->node, dro, 0, 0, 100, DMAKIT_DIR_TO_DEVICE));
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, dro, 0));
	EXPECT_EQ(EACCES, errno);
	close(dro);
	close(ro);
}

FIXTURE(foreign) {
	int node;
	int dbuf;
	int memfd;
	unsigned char *map;	/* the exporter's memory, as user space sees it */
};

FIXTURE_VARIANT(foreign) {
	const char *who;
};

FIXTURE_VARIANT_ADD(foreign, udmabuf) { .who = "udmabuf" };
FIXTURE_VARIANT_ADD(foreign, system_heap) { .who = "system_heap" };
FIXTURE_VARIANT_ADD(foreign, cma_heap) { .who = "cma_heap" };

FIXTURE_SETUP(foreign)
{
	self->node = edu_open(0, 0);
	ASSERT_LE(0, self->node);
	self->dbuf = foreign_dmabuf(variant->who, SIZE, &self->memfd);
	if (self->dbuf == -ENOENT)
		SKIP(return, "this kernel has no %s device%s", variant->who,
		     strcmp(variant->who, "cma_heap") ? "" :
		     " (no DMABUF_HEAPS_CMA, or no CMA area: Debian's kernels; ours has it, with cma=)");
	ASSERT_LE(0, self->dbuf) TH_LOG("%s: %s", variant->who,
					strerror(-self->dbuf));
	/* udmabuf: the memfd's own mapping; the heap: the dma-buf's */
	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->memfd >= 0 ? self->memfd : self->dbuf, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(foreign)
{
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, SIZE);
	if (self->dbuf >= 0)
		close(self->dbuf);
	if (self->memfd >= 0)
		close(self->memfd);
	close(self->node);
}

/*
 * Another exporter's dma-buf, attached to edu and mapped by that exporter,
 * is a source and a destination; its memory holds the bytes. Every CPU
 * access is bracketed with DMA_BUF_SYNC_RW: udmabuf maps its pages for
 * its own device in the direction of the first sync, and syncs later ones
 * against that mapping (7.3: a SYNC_READ after a SYNC_WRITE is a DMA-API
 * debug report against udmabuf, "syncs DMA memory with different
 * direction").
 */
TEST_F(foreign, another_exporters_dma_buf_is_a_source_and_a_destination)
{
	unsigned char pat[3000], back[3000];
	int buf = buf_alloc(SIZE, DMAKIT_KIND_PAGES, 0, NULL);

	ASSERT_LE(0, buf);
	fill_pattern(pat, sizeof(pat), 91);
	ASSERT_EQ(0, dmabuf_sync(self->dbuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	memset(self->map, 0x11, SIZE);
	memcpy(self->map + PAGE - 1000, pat, sizeof(pat));
	ASSERT_EQ(0, dmabuf_sync(self->dbuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));

	/* theirs -> window -> ours */
	ASSERT_EQ(0, xfer_range(self->node, self->dbuf, PAGE - 1000, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE));
	ASSERT_EQ(0, xfer_range(self->node, buf, 0, 0, 3000, DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(3000, pread(buf, back, 3000, 0));
	EXPECT_EQ(-1, first_difference(pat, back, 3000));

	/* window -> theirs, two pages on; the bytes around stay 0x11 */
	ASSERT_EQ(0, xfer_range(self->node, self->dbuf, 3 * PAGE - 1000, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(0, dmabuf_sync(self->dbuf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, first_difference(pat, self->map + 3 * PAGE - 1000, 3000));
	EXPECT_EQ(0x11, self->map[3 * PAGE - 1001]);
	EXPECT_EQ(0x11, self->map[SIZE - 1]);
	EXPECT_EQ(-1, first_difference(pat, self->map + PAGE - 1000, 3000));
	ASSERT_EQ(0, dmabuf_sync(self->dbuf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	close(buf);
}

/*
 * An importer whose DMA mask cannot reach the memory, with neither an IOMMU
 * nor swiotlb in between: the module reloaded with dma_bits=24 (QEMU's edu
 * takes more; only the kernel's view of it shrinks) and a buffer with pages
 * above 16 MiB. Our exporter answers EIO before it maps, where dma-direct
 * would WARN ("DMA addr ... overflow") and fail; a transfer naming the
 * buffer fd gets EIO the same way; not a byte moves either way. Behind an
 * IOMMU the same transfers work, bytes checked.
 */
#define NARROW_SIZE	(64 * PAGE)
#define NARROW_LIMIT	(16ull << 20)

static int reload_dmakit(const char *extra)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 ". /tests/unload.sh && rmmod_dmakit && insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS %s",
		 extra);
	return system(cmd);
}

/* offset of a page of @fd above @limit, or -1 */
static long page_above(int fd, uint64_t limit)
{
	static struct dmakit_page_desc d[NARROW_SIZE / PAGE];
	struct dmakit_translate t = { .count = NARROW_SIZE / PAGE,
				      .descs = (uintptr_t)d };

	if (ioctl(fd, DMAKIT_IOC_TRANSLATE, &t))
		return -1;
	for (uint32_t i = 0; i < t.count; i++)
		if (d[i].phys >= limit)
			return (long)d[i].offset;
	return -1;
}

FIXTURE(narrow) {
	bool reloaded;
	int node, buf, dbuf, other;
	unsigned char pat[NARROW_SIZE], got[NARROW_SIZE];
};

FIXTURE_SETUP(narrow)
{
	struct dmakit_alloc a = { .size = PAGE, .kind = DMAKIT_KIND_COHERENT };

	self->node = self->buf = self->dbuf = self->other = -1;
	if (env_long("DMAKIT_EXPECT_BOUNCE", 0))
		SKIP(return, "swiotlb's slots lie above 16 MiB here: a 24-bit edu cannot reach them either (the lane's dma_bits must match QEMU's mask)");
	ASSERT_EQ(0, reload_dmakit("dma_bits=24"));
	self->reloaded = true;
	self->node = edu_open(0, 0);
	ASSERT_LE(0, self->node) TH_LOG("open edu0: %s", strerror(errno));
	self->buf = buf_alloc(NARROW_SIZE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, self->buf);
	self->dbuf = dmabuf_export(self->buf, 0);
	ASSERT_LE(0, self->dbuf) TH_LOG("EXPORT: %s", strerror(-self->dbuf));
	/* the window's bytes in and out: coherent memory of edu0, below 16 MiB */
	ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_ALLOC, &a)) TH_LOG("%s", strerror(errno));
	self->other = a.fd;
	fill_pattern(self->pat, NARROW_SIZE, 99);
	ASSERT_EQ(NARROW_SIZE, pwrite(self->buf, self->pat, NARROW_SIZE, 0));
}

FIXTURE_TEARDOWN(narrow)
{
	if (self->other >= 0)
		close(self->other);
	if (self->dbuf >= 0)
		close(self->dbuf);
	if (self->buf >= 0)
		close(self->buf);
	if (self->node >= 0)
		close(self->node);
	if (self->reloaded)
		ASSERT_EQ(0, reload_dmakit(""));
}

TEST_F(narrow, an_importer_that_cannot_reach_the_memory_gets_eio)
{
	bool iommu = env_long("DMAKIT_EXPECT_IOMMU", 0);
	int warnings = klog_count("WARNING:");
	long off = page_above(self->buf, NARROW_LIMIT);
	int fds[2] = { self->dbuf, self->buf };

	if (off < 0)
		SKIP(return, "no page of the buffer above 16 MiB");
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "the buffer fd" : "its dma-buf";
		unsigned char back[3000];

		/* memory -> window: the device would read above its mask */
		errno = 0;
		if (iommu) {
			ASSERT_EQ(0, xfer_range(self->node, fds[i], off, 0, 3000,
						DMAKIT_DIR_TO_DEVICE))
				TH_LOG("%s behind the IOMMU: %s", what, strerror(errno));
			ASSERT_EQ(0, xfer_range(self->node, self->other, 0, 0, 3000,
						DMAKIT_DIR_FROM_DEVICE));
			ASSERT_EQ(3000, pread(self->other, back, 3000, 0));
			EXPECT_EQ(-1, first_difference(self->pat + off, back, 3000));
		} else {
			EXPECT_EQ(-EIO, xfer_range(self->node, fds[i], off, 0, 3000,
						   DMAKIT_DIR_TO_DEVICE))
				TH_LOG("%s", what);
		}
		/* window -> memory: nothing lands unless the IOMMU maps it */
		ASSERT_EQ(0, xfer_range(self->node, self->other, 0, 0, 3000,
					DMAKIT_DIR_TO_DEVICE));
		if (iommu) {
			EXPECT_EQ(0, xfer_range(self->node, fds[i], off + 100, 0,
						3000, DMAKIT_DIR_FROM_DEVICE));
			ASSERT_EQ(3000, pread(self->other, back, 3000, 0));
			memcpy(self->pat + off + 100, back, 3000);
		} else {
			EXPECT_EQ(-EIO, xfer_range(self->node, fds[i], off + 100,
						   0, 3000, DMAKIT_DIR_FROM_DEVICE))
				TH_LOG("%s", what);
		}
		ASSERT_EQ(NARROW_SIZE, pread(self->buf, self->got, NARROW_SIZE, 0));
		EXPECT_EQ(-1, first_difference(self->pat, self->got, NARROW_SIZE))
			TH_LOG("%s", what);
	}
	EXPECT_EQ(warnings, klog_count("WARNING:"))
		TH_LOG("the kernel warned: dma-direct mapped beyond the mask");
}

/*
 * dmakit's own DMA publishes fences on an exported buffer's reservation
 * object (issue 17): a write fence where edu writes it, a read fence where
 * it only reads it, each signalled when the request ends (with an error
 * for a cancelled one). A COPY of FSIZE is 2 * FSIZE / 4 KiB segments of
 * edu's ~100 ms each: long enough to look at the fences while in flight.
 */
#define FSIZE	(8 * PAGE)

/* POLL @events of @fd right now: the events ready, or -errno */
static int poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, 0);

	return n < 0 ? -errno : n ? p.revents & events : 0;
}

/* DMA_BUF_IOCTL_EXPORT_SYNC_FILE: a sync_file fd, or -errno */
static int export_sync_file(int dbuf, uint32_t flags)
{
	struct dma_buf_export_sync_file e = { .flags = flags, .fd = -1 };

	return ioctl(dbuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) ? -errno : e.fd;
}

/*
 * SYNC_IOC_FILE_INFO: the sync_file's status (0 pending, 1 signalled,
 * < 0 its error), the first fence's names into @info; the ioctl's own
 * failure as -1000 - errno (never a status)
 */
static int sync_status(int sf, struct sync_fence_info *info)
{
	struct sync_fence_info fi[4];
	struct sync_file_info i = { .num_fences = 4,
				    .sync_fence_info = (uintptr_t)fi };

	memset(fi, 0, sizeof(fi));
	if (ioctl(sf, SYNC_IOC_FILE_INFO, &i))
		return -1000 - errno;
	if (info)
		*info = fi[0];
	return i.status;
}

/* an asynchronous COPY of @len bytes; its id, or 0 */
static uint64_t copy_async(int node, int src, int dst, uint64_t len)
{
	struct dmakit_xfer x = { .fd = src, .dst_fd = dst, .len = len,
				 .dir = DMAKIT_DIR_COPY,
				 .flags = DMAKIT_XFER_ASYNC };

	return ioctl(node, DMAKIT_IOC_XFER, &x) ? 0 : x.id;
}

/* reap one result, waiting: its status, or -1000 - errno */
static int reap(int node)
{
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };

	if (ioctl(node, DMAKIT_IOC_XFER_REAP, &r))
		return -1000 - errno;
	return r.result.status;
}

FIXTURE(fences) {
	int node;
	int src, dst;		/* buffers; dst exported as dbuf */
	int dbuf;
	unsigned char pat[FSIZE], got[FSIZE];
};

FIXTURE_SETUP(fences)
{
	unsigned char fill[FSIZE];

	self->src = self->dst = self->dbuf = -1;
	self->node = edu_open(0, 0);
	ASSERT_LE(0, self->node);
	self->src = buf_alloc(FSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, self->src);
	self->dst = buf_alloc(FSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, self->dst);
	self->dbuf = dmabuf_export(self->dst, 0);
	ASSERT_LE(0, self->dbuf);
	fill_pattern(self->pat, FSIZE, 77);
	ASSERT_EQ(FSIZE, pwrite(self->src, self->pat, FSIZE, 0));
	memset(fill, 0x5a, FSIZE);
	ASSERT_EQ(FSIZE, pwrite(self->dst, fill, FSIZE, 0));
}

FIXTURE_TEARDOWN(fences)
{
	if (self->dbuf >= 0)
		close(self->dbuf);
	if (self->dst >= 0)
		close(self->dst);
	if (self->src >= 0)
		close(self->src);
	if (self->node >= 0)
		close(self->node);
}

/*
 * edu writes the exported buffer, named by its BUFFER fd: the dma-buf is
 * not readable (POLLIN) and its writers' sync_file is pending while the
 * COPY is in flight; both are ready when it completes (by the reap), and
 * then the dma-buf's mapping has the device's bytes.
 */
TEST_F(fences, a_device_write_is_a_write_fence_until_it_ends)
{
	struct sync_fence_info fi;
	unsigned char *p;
	int sf, st;

	ASSERT_NE(0, copy_async(self->node, self->src, self->dst, FSIZE))
		TH_LOG("async COPY: %s", strerror(errno));
	EXPECT_EQ(0, poll_now(self->dbuf, POLLIN))
		TH_LOG("the dma-buf is readable while edu writes it");
	EXPECT_EQ(0, poll_now(self->dbuf, POLLOUT));
	sf = export_sync_file(self->dbuf, DMA_BUF_SYNC_READ);
	ASSERT_LE(0, sf) TH_LOG("EXPORT_SYNC_FILE: %s", strerror(-sf));
	st = sync_status(sf, &fi);
	EXPECT_EQ(0, st) TH_LOG("the writers' sync_file is not pending");
	if (st == 0) {
		EXPECT_STREQ("dmakit", fi.driver_name);
		EXPECT_STREQ("dmakit-edu0", fi.obj_name);
	}

	/* the fence signals when the request ends, before the reap returns */
	EXPECT_EQ(0, reap(self->node));
	EXPECT_EQ(1, sync_status(sf, NULL));
	EXPECT_EQ(POLLIN, poll_now(self->dbuf, POLLIN));
	EXPECT_EQ(POLLOUT, poll_now(self->dbuf, POLLOUT));
	close(sf);
	p = mmap(NULL, FSIZE, PROT_READ, MAP_SHARED, self->dbuf, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, first_difference(self->pat, p, FSIZE));
	munmap(p, FSIZE);
}

/*
 * The same COPY read from the exported buffer: a read fence only, so the
 * dma-buf stays readable (POLLIN) but not writable (POLLOUT) until it ends
 */
TEST_F(fences, a_device_read_is_a_read_fence_until_it_ends)
{
	int sf, sr;

	ASSERT_EQ(FSIZE, pwrite(self->dst, self->pat, FSIZE, 0));
	fill_pattern(self->got, FSIZE, 3);
	ASSERT_EQ(FSIZE, pwrite(self->src, self->got, FSIZE, 0));
	ASSERT_NE(0, copy_async(self->node, self->dst, self->src, FSIZE));
	EXPECT_EQ(POLLIN, poll_now(self->dbuf, POLLIN));
	EXPECT_EQ(0, poll_now(self->dbuf, POLLOUT))
		TH_LOG("the dma-buf is writable while edu reads it");
	sr = export_sync_file(self->dbuf, DMA_BUF_SYNC_READ);
	sf = export_sync_file(self->dbuf, DMA_BUF_SYNC_WRITE);
	ASSERT_LE(0, sr);
	ASSERT_LE(0, sf);
	EXPECT_EQ(1, sync_status(sr, NULL));
	EXPECT_EQ(0, sync_status(sf, NULL));
	EXPECT_EQ(0, reap(self->node));
	EXPECT_EQ(1, sync_status(sf, NULL));
	EXPECT_EQ(POLLOUT, poll_now(self->dbuf, POLLOUT));
	ASSERT_EQ(FSIZE, pread(self->src, self->got, FSIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, FSIZE));
	close(sr);
	close(sf);
}

/*
 * A request cancelled (its node fd closed) signals its fence with an
 * error; the sync_file outlives every fd of dmakit, and what it says
 * stays readable.
 */
TEST_F(fences, a_cancelled_request_signals_an_error)
{
	int sf, st;

	ASSERT_NE(0, copy_async(self->node, self->src, self->dbuf, FSIZE));
	sf = export_sync_file(self->dbuf, DMA_BUF_SYNC_READ);
	ASSERT_LE(0, sf);
	EXPECT_EQ(0, sync_status(sf, NULL));
	/* closing the node cancels the request and waits for its end */
	close(self->node);
	self->node = -1;
	st = sync_status(sf, NULL);
	EXPECT_GT(0, st) TH_LOG("a cancelled request's fence: status %d", st);
	EXPECT_LT(-1000, st);
	EXPECT_EQ(POLLIN, poll_now(self->dbuf, POLLIN));
	close(self->dbuf);
	close(self->dst);
	close(self->src);
	self->dbuf = self->dst = self->src = -1;
	EXPECT_EQ(st, sync_status(sf, NULL));
	close(sf);
}

/*
 * A sync_file holds a fence of ours after every fd of dmakit is closed:
 * the fence holds the module (its ops are the module's), so unloading is
 * refused until the sync_file goes, and works then. Reloads the module.
 */
TEST_F(fences, a_sync_file_holds_the_module_until_it_goes)
{
	double t0;
	int sf, err;

	ASSERT_NE(0, copy_async(self->node, self->src, self->dst, 2 * PAGE));
	sf = export_sync_file(self->dbuf, DMA_BUF_SYNC_READ);
	ASSERT_LE(0, sf);
	EXPECT_EQ(0, sync_status(sf, NULL));
	EXPECT_EQ(0, reap(self->node));
	EXPECT_EQ(1, sync_status(sf, NULL));
	close(self->dbuf);
	close(self->dst);
	close(self->src);
	close(self->node);
	self->dbuf = self->dst = self->src = self->node = -1;

	/* dma-bufs and buffers go with their last fd: only the fence is left */
	usleep(100 * 1000);
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_delete_module, "dmakit", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(1, sync_status(sf, NULL));
	close(sf);
	/* the fence is freed an RCU grace period later */
	t0 = now();
	while ((err = syscall(SYS_delete_module, "dmakit", O_NONBLOCK)) &&
	       errno == EWOULDBLOCK && now() - t0 < 5)
		usleep(20 * 1000);
	EXPECT_EQ(0, err) TH_LOG("unload after the sync_file went: %s",
				 strerror(errno));
	ASSERT_EQ(0, system("lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS"));
	self->node = edu_open(0, 0);
	ASSERT_LE(0, self->node);
}

TEST_HARNESS_MAIN
