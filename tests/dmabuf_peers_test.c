// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf peers from the kernels' own drivers, both ways, every byte
 * checked where it lands:
 *   vivid (V4L2 test driver, videobuf2-vmalloc): it captures into dmakit's
 *         dma-bufs (V4L2_MEMORY_DMABUF: it vmaps them), the frames checked
 *         against its 100% colour bar pattern; and its own MMAP buffers,
 *         exported with VIDIOC_EXPBUF, are sources and destinations of edu
 *         transfers (its exporter maps its vmalloc pages for edu);
 *   vgem  (DRM virtual GEM): it imports dmakit's dma-buf (PRIME), and its
 *         fences on that dma-buf hold dmakit's transfers back; its dumb
 *         buffers, exported with PRIME, are sources and destinations of
 *         edu transfers, checked through vgem's own mapping.
 * And closing or exiting at awkward points: our fds closed while vivid
 * holds the buffers queued, vivid's fd closed while streaming, a process
 * killed with buffers queued or with a vgem fence pending, every fd of an
 * exporter closed while a transfer of its dma-buf is in flight.
 *
 * The modules are loaded by tests/peers.sh from what vm/mkinitramfs
 * shipped (the kernel's own modules and their dependencies); a kernel
 * without them skips, with the reason. The last test unloads them.
 */
#include <linux/dma-buf.h>
#include <linux/types.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define PAGE	4096u
/*
 * COPYs go through edu's 4 KiB window chunk after chunk, and QEMU's edu
 * takes 100 ms (virtual) per DMA: a range of 4 chunks (0.8 s), not whole
 * buffers, keeps each test well under 30 s under TCG
 */
#define SPAN	(3 * PAGE + 300)

/* ---- shared helpers ------------------------------------------------------ */

/* a synchronous COPY of @len bytes from @src at @off to @dst at @dst_off */
static int copy(int node, int src, uint64_t off, int dst, uint64_t dst_off,
		uint64_t len)
{
	struct dmakit_xfer x = { .fd = src, .offset = off, .dst_fd = dst,
				 .dst_offset = dst_off, .len = len,
				 .dir = DMAKIT_DIR_COPY };

	return ioctl(node, DMAKIT_IOC_XFER, &x) ? -errno : 0;
}

/* inode of @fd (a dma-buf: which one it is) */
static ino_t inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* poll @fd for @events up to @ms: 1 when ready, 0 on timeout */
static int wait_for(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1;
}

/* ---- vivid --------------------------------------------------------------- */

#define W		320	/* the webcam input's smallest frame */
#define H		180
#define BPL		(W * 3)	/* RGB24 */
#define FRAME		(BPL * H)
#define FRAME_ROUNDED	((FRAME + PAGE - 1) / PAGE * PAGE)
#define NBUF_MAX	8

/* vivid's video capture node (its driver name), or -errno */
static int vivid_open(void)
{
	for (int i = 0; i < 64; i++) {
		struct v4l2_capability cap;
		char path[32];
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR);
		if (fd < 0)
			continue;
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "vivid") &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* set the menu control called @name to its item called @item */
static int ctrl_set_menu(int fd, const char *name, const char *item)
{
	struct v4l2_query_ext_ctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!ioctl(fd, VIDIOC_QUERY_EXT_CTRL, &q)) {
		if (!strcmp(q.name, name) && q.type == V4L2_CTRL_TYPE_MENU) {
			for (int64_t i = q.minimum; i <= q.maximum; i++) {
				struct v4l2_querymenu m = { .id = q.id, .index = i };
				struct v4l2_control c = { .id = q.id, .value = i };

				if (!ioctl(fd, VIDIOC_QUERYMENU, &m) &&
				    !strcmp((char *)m.name, item))
					return ioctl(fd, VIDIOC_S_CTRL, &c) ? -errno : 0;
			}
			return -ENOENT;
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return -ENOENT;
}

/*
 * 320x180 RGB24 at 60 frames/s (the webcam's fastest for this size), the
 * 100% colour bar pattern, no on-screen text: every frame is the same,
 * computable image. 0 or -errno (-EPROTO: another format than asked).
 */
static int vivid_prepare(int fd)
{
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	int input = 0, err;

	if (ioctl(fd, VIDIOC_S_INPUT, &input))
		return -errno;
	f.fmt.pix.width = W;
	f.fmt.pix.height = H;
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	if (ioctl(fd, VIDIOC_S_FMT, &f))
		return -errno;
	if (f.fmt.pix.width != W || f.fmt.pix.height != H ||
	    f.fmt.pix.pixelformat != V4L2_PIX_FMT_RGB24 ||
	    f.fmt.pix.bytesperline != BPL || f.fmt.pix.sizeimage != FRAME)
		return -EPROTO;
	parm.parm.capture.timeperframe.numerator = 1;
	parm.parm.capture.timeperframe.denominator = 60;
	if (ioctl(fd, VIDIOC_S_PARM, &parm))
		return -errno;
	err = ctrl_set_menu(fd, "Test Pattern", "100% Colorbar");
	if (!err)
		err = ctrl_set_menu(fd, "OSD Text Mode", "None");
	return err;
}

/*
 * The frame vivid's test pattern generator draws: 8 vertical bars of
 * W / 8 pixels, 100% white, yellow, cyan, green, magenta, red, blue,
 * black (sRGB, full range: every channel 0 or 255), every line the same
 */
static void colour_bars(unsigned char *frame)
{
	static const unsigned char bars[8][3] = {
		{ 255, 255, 255 }, { 255, 255, 0 }, { 0, 255, 255 },
		{ 0, 255, 0 }, { 255, 0, 255 }, { 255, 0, 0 },
		{ 0, 0, 255 }, { 0, 0, 0 },
	};

	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			memcpy(frame + y * BPL + x * 3, bars[x * 8 / W], 3);
}

static int reqbufs(int fd, uint32_t memory, unsigned int count)
{
	struct v4l2_requestbuffers r = {
		.count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};

	return ioctl(fd, VIDIOC_REQBUFS, &r) ? -errno : (int)r.count;
}

/* queue buffer @index with dma-buf @dbuf */
static int qbuf_dmabuf(int fd, unsigned int index, int dbuf)
{
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF, .index = index,
	};

	b.m.fd = dbuf;
	return ioctl(fd, VIDIOC_QBUF, &b) ? -errno : 0;
}

static int qbuf_mmap(int fd, unsigned int index)
{
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_MMAP, .index = index,
	};

	return ioctl(fd, VIDIOC_QBUF, &b) ? -errno : 0;
}

/* the next frame (up to 10 s): its buffer's index, or -errno */
static int dqbuf(int fd, uint32_t memory, uint32_t *bytesused)
{
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = memory,
	};

	if (!wait_for(fd, POLLIN, 10000))
		return -ETIME;
	if (ioctl(fd, VIDIOC_DQBUF, &b))
		return -errno;
	*bytesused = b.bytesused;
	return b.index;
}

static int stream(int fd, int on)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	return ioctl(fd, on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &type) ?
		-errno : 0;
}

/* the offset of the first byte of @p (@len) that is not @c, or -1 */
static long first_not(const unsigned char *p, size_t len, unsigned char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return i;
	return -1;
}

struct vivid_ctx {
	int node;		/* edu0 */
	int video;		/* vivid's capture node */
	unsigned char expect[FRAME];
	unsigned char got[FRAME_ROUNDED];
};

/* open edu0 and vivid (loading it), set vivid up; SKIP without it */
static void vivid_ctx_open(struct __test_metadata *_metadata,
			struct vivid_ctx *c)
{
	char why[256];
	int err;

	c->video = -1;
	c->node = edu_open(0, 0);
	ASSERT_LE(0, c->node) TH_LOG("open edu0: %s", strerror(errno));
	c->video = vivid_open();
	if (c->video == -ENOENT) {
		err = peer_load("vivid", why, sizeof(why));
		if (err == 2)
			SKIP(return, "no vivid: %s", why);
		ASSERT_EQ(0, err) TH_LOG("loading vivid: %s", why);
		c->video = vivid_open();
	}
	ASSERT_LE(0, c->video) TH_LOG("vivid's node: %s", strerror(-c->video));
	err = vivid_prepare(c->video);
	ASSERT_EQ(0, err) TH_LOG("setting vivid up: %s", strerror(-err));
	colour_bars(c->expect);
}

static void vivid_ctx_close(struct vivid_ctx *c)
{
	if (c->video >= 0)
		close(c->video);
	if (c->node >= 0)
		close(c->node);
}

/* check frame @f against the pattern; log where it differs */
#define EXPECT_FRAME(c, f) do {						\
	long _d = first_difference((c)->expect, (f), FRAME);		\
	EXPECT_EQ(-1, _d) TH_LOG("byte %ld (line %ld, pixel %ld): %02x, "	\
				 "want %02x", _d, _d / BPL, _d % BPL / 3,	\
				 (f)[_d < 0 ? 0 : _d],			\
				 (c)->expect[_d < 0 ? 0 : _d]);		\
} while (0)

/* vivid captures into dmakit's buffers of each kind */
FIXTURE(vivid_into) {
	struct vivid_ctx c;
};

FIXTURE_VARIANT(vivid_into) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(vivid_into, contig) { .kind = DMAKIT_KIND_CONTIG };
FIXTURE_VARIANT_ADD(vivid_into, pages) { .kind = DMAKIT_KIND_PAGES };
FIXTURE_VARIANT_ADD(vivid_into, vmalloc) { .kind = DMAKIT_KIND_VMALLOC };

FIXTURE_SETUP(vivid_into)
{
	vivid_ctx_open(_metadata, &self->c);
}

FIXTURE_TEARDOWN(vivid_into)
{
	vivid_ctx_close(&self->c);
}

/*
 * V4L2_MEMORY_DMABUF with dmakit's dma-bufs: vivid (videobuf2-vmalloc)
 * vmaps each one and its test pattern generator writes the frames into
 * our memory. Every frame is checked byte for byte through the buffer's
 * fd, and the bytes after the frame stay as we left them; the end of one
 * frame also goes through edu (our exporter maps the same dma-buf for edu
 * while vivid holds its vmap).
 */
TEST_F(vivid_into, frames_land_in_dmakit_buffers)
{
	int buf[NBUF_MAX], dbuf[NBUF_MAX], nb, other, frames = 0;
	static unsigned char fill[FRAME_ROUNDED];
	uint64_t size;

	memset(fill, 0x5a, sizeof(fill));
	nb = reqbufs(self->c.video, V4L2_MEMORY_DMABUF, 3);
	ASSERT_LE(2, nb) TH_LOG("REQBUFS DMABUF: %s", strerror(-nb));
	ASSERT_GE(NBUF_MAX, nb);
	for (int i = 0; i < nb; i++) {
		buf[i] = buf_alloc(FRAME, variant->kind, 0, &size);
		ASSERT_LE(0, buf[i]);
		ASSERT_LE(FRAME_ROUNDED, size);
		dbuf[i] = dmabuf_export(buf[i], DMAKIT_EXPORT_CLOEXEC);
		ASSERT_LE(0, dbuf[i]);
		ASSERT_EQ(FRAME_ROUNDED, pwrite(buf[i], fill, FRAME_ROUNDED, 0));
		ASSERT_EQ(0, qbuf_dmabuf(self->c.video, i, dbuf[i]))
			TH_LOG("QBUF %d: %s", i, strerror(errno));
	}
	ASSERT_EQ(0, stream(self->c.video, 1));

	/* each buffer twice: vivid keeps its vmap across a requeue */
	while (frames < 2 * nb) {
		uint32_t used;
		int i = dqbuf(self->c.video, V4L2_MEMORY_DMABUF, &used);

		ASSERT_LE(0, i) TH_LOG("DQBUF: %s", strerror(-i));
		ASSERT_GT(nb, i);
		EXPECT_EQ(FRAME, used);
		ASSERT_EQ(FRAME_ROUNDED, pread(buf[i], self->c.got,
					       FRAME_ROUNDED, 0));
		EXPECT_FRAME(&self->c, self->c.got);
		EXPECT_EQ(-1, first_not(self->c.got + FRAME,
					FRAME_ROUNDED - FRAME, 0x5a));
		if (frames == 1) {
			/* the frame's last pages through edu, from the dma-buf */
			other = buf_alloc(SPAN, DMAKIT_KIND_PAGES, 0, NULL);
			ASSERT_LE(0, other);
			ASSERT_EQ(0, copy(self->c.node, dbuf[i], FRAME - SPAN,
					  other, 0, SPAN))
				TH_LOG("COPY: %s", strerror(errno));
			ASSERT_EQ(SPAN, pread(other, self->c.got, SPAN, 0));
			EXPECT_EQ(-1, first_difference(self->c.expect + FRAME - SPAN,
						       self->c.got, SPAN));
			close(other);
		}
		ASSERT_EQ(FRAME_ROUNDED, pwrite(buf[i], fill, FRAME_ROUNDED, 0));
		ASSERT_EQ(0, qbuf_dmabuf(self->c.video, i, dbuf[i]));
		frames++;
	}
	ASSERT_EQ(0, stream(self->c.video, 0));
	/* vivid lets the dma-bufs go */
	ASSERT_EQ(0, reqbufs(self->c.video, V4L2_MEMORY_DMABUF, 0));
	for (int i = 0; i < nb; i++) {
		close(dbuf[i]);
		close(buf[i]);
	}
}

/* vivid's own buffers, and lifetimes */
FIXTURE(vivid) {
	struct vivid_ctx c;
};

FIXTURE_SETUP(vivid)
{
	vivid_ctx_open(_metadata, &self->c);
}

FIXTURE_TEARDOWN(vivid)
{
	vivid_ctx_close(&self->c);
}

/*
 * VIDIOC_EXPBUF of a captured frame's MMAP buffer: vivid's exporter
 * (videobuf2-vmalloc) maps its vmalloc pages for edu. The frame goes out
 * (COPY of a few pages, TO_DEVICE at an offset inside a page); our bytes
 * go in (COPY and FROM_DEVICE), the whole frame then checked through
 * vivid's own mapping of the buffer: ours where they went, the colour
 * bars around them.
 */
TEST_F(vivid, its_captured_buffer_is_a_source_and_a_destination)
{
	unsigned char *map[NBUF_MAX], pat[SPAN], back[3000];
	struct v4l2_exportbuffer e = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.flags = O_RDWR | O_CLOEXEC,
	};
	uint32_t len[NBUF_MAX], used;
	int nb, k, ours;

	nb = reqbufs(self->c.video, V4L2_MEMORY_MMAP, 3);
	ASSERT_LE(2, nb);
	ASSERT_GE(NBUF_MAX, nb);
	for (int i = 0; i < nb; i++) {
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
			.memory = V4L2_MEMORY_MMAP, .index = i,
		};

		ASSERT_EQ(0, ioctl(self->c.video, VIDIOC_QUERYBUF, &b));
		len[i] = b.length;
		map[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE,
			      MAP_SHARED, self->c.video, b.m.offset);
		ASSERT_NE(MAP_FAILED, map[i]);
		ASSERT_EQ(0, qbuf_mmap(self->c.video, i));
	}
	ASSERT_EQ(0, stream(self->c.video, 1));
	k = dqbuf(self->c.video, V4L2_MEMORY_MMAP, &used);
	ASSERT_LE(0, k) TH_LOG("DQBUF: %s", strerror(-k));
	ASSERT_EQ(0, stream(self->c.video, 0));
	EXPECT_EQ(FRAME, used);
	EXPECT_FRAME(&self->c, map[k]);
	e.index = k;
	ASSERT_EQ(0, ioctl(self->c.video, VIDIOC_EXPBUF, &e))
		TH_LOG("EXPBUF: %s", strerror(errno));
	/* vb2's buffer: sizeimage (len), its dma-buf: whole pages */
	EXPECT_EQ(FRAME, len[k]);
	EXPECT_EQ(FRAME_ROUNDED, lseek(e.fd, 0, SEEK_END));
	ours = buf_alloc(FRAME, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, ours);

	/* vivid's frame -> edu -> ours: ranges inside pages */
	ASSERT_EQ(0, copy(self->c.node, e.fd, 50003, ours, 0, SPAN))
		TH_LOG("COPY from vivid's dma-buf: %s", strerror(errno));
	ASSERT_EQ(SPAN, pread(ours, self->c.got, SPAN, 0));
	EXPECT_EQ(-1, first_difference(self->c.expect + 50003, self->c.got,
				       SPAN));
	ASSERT_EQ(0, xfer_range(self->c.node, e.fd, 5000, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE));
	ASSERT_EQ(0, xfer_range(self->c.node, ours, 100, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(3000, pread(ours, back, 3000, 100));
	EXPECT_EQ(-1, first_difference(map[k] + 5000, back, 3000));

	/* ours -> edu -> vivid's buffer, checked through vivid's mapping */
	fill_pattern(pat, sizeof(pat), 17);
	ASSERT_EQ(sizeof(pat), pwrite(ours, pat, sizeof(pat), 0));
	ASSERT_EQ(0, copy(self->c.node, ours, 0, e.fd, 777, sizeof(pat)))
		TH_LOG("COPY into vivid's dma-buf: %s", strerror(errno));
	EXPECT_EQ(-1, first_difference(pat, map[k] + 777, sizeof(pat)));
	memcpy(self->c.expect + 777, pat, sizeof(pat));
	ASSERT_EQ(0, xfer_range(self->c.node, ours, 4000, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE));
	ASSERT_EQ(0, xfer_range(self->c.node, e.fd, 30 * PAGE - 1000, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	memcpy(self->c.expect + 30 * PAGE - 1000, pat + 4000, 3000);
	EXPECT_FRAME(&self->c, map[k]);

	close(ours);
	close(e.fd);
	for (int i = 0; i < nb; i++)
		munmap(map[i], len[i]);
}

/*
 * Our fds closed while vivid has the buffers queued: vivid's references
 * keep them, the frames land, our mappings see them; vivid's fd closed
 * while streaming with a buffer still queued lets every dma-buf go (the
 * dma-buf core's table has none of ours left), and the mappings still
 * hold the frames.
 */
TEST_F(vivid, our_fds_closed_while_vivid_holds_the_buffers)
{
	int nb, base = dma_bufs_of("dmakit");
	unsigned char *map[NBUF_MAX];
	int done[NBUF_MAX] = { 0 };

	ASSERT_LE(0, base);
	nb = reqbufs(self->c.video, V4L2_MEMORY_DMABUF, 3);
	ASSERT_LE(2, nb);
	ASSERT_GE(NBUF_MAX, nb);
	for (int i = 0; i < nb; i++) {
		int buf = buf_alloc(FRAME, DMAKIT_KIND_PAGES, 0, NULL);
		int dbuf = dmabuf_export(buf, DMAKIT_EXPORT_CLOEXEC);

		ASSERT_LE(0, dbuf);
		map[i] = mmap(NULL, FRAME_ROUNDED, PROT_READ | PROT_WRITE,
			      MAP_SHARED, dbuf, 0);
		ASSERT_NE(MAP_FAILED, map[i]);
		memset(map[i], 0x5a, FRAME_ROUNDED);
		ASSERT_EQ(0, qbuf_dmabuf(self->c.video, i, dbuf));
		close(dbuf);
		close(buf);
	}
	EXPECT_EQ(base + nb, dma_bufs_of("dmakit"));
	ASSERT_EQ(0, stream(self->c.video, 1));
	for (int n = 0; n < nb - 1; n++) {
		uint32_t used;
		int i = dqbuf(self->c.video, V4L2_MEMORY_DMABUF, &used);

		ASSERT_LE(0, i) TH_LOG("DQBUF: %s", strerror(-i));
		EXPECT_FRAME(&self->c, map[i]);
		done[i] = 1;
	}
	/* streaming, one buffer queued: vivid's fd goes */
	close(self->c.video);
	self->c.video = -1;
	EXPECT_EQ(base, dma_bufs_settle("dmakit", base));
	for (int i = 0; i < nb; i++) {
		if (done[i]) {
			EXPECT_FRAME(&self->c, map[i]);
		}
		munmap(map[i], FRAME_ROUNDED);
	}
}

/*
 * A process capturing into dmakit's dma-bufs ends with buffers queued and
 * streaming: by exit(), and by SIGKILL while it waits. Nothing of ours
 * stays behind, and vivid captures again (the queue was released).
 */
TEST_F(vivid, a_process_ends_with_buffers_queued)
{
	int base = dma_bufs_of("dmakit");

	ASSERT_LE(0, base);
	close(self->c.video);
	self->c.video = -1;
	for (int killed = 0; killed < 2; killed++) {
		int p[2], st, buf, dbuf;
		uint32_t used;
		pid_t pid;
		char c;

		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int v = vivid_open(), nb, b[3];

			if (v < 0 || vivid_prepare(v) ||
			    reqbufs(v, V4L2_MEMORY_DMABUF, 3) != 3)
				_exit(10);
			for (nb = 0; nb < 3; nb++) {
				b[nb] = buf_alloc(FRAME, DMAKIT_KIND_PAGES, 0, NULL);
				if (qbuf_dmabuf(v, nb, dmabuf_export(b[nb], DMAKIT_EXPORT_CLOEXEC)))
					_exit(11);
			}
			if (stream(v, 1))
				_exit(12);
			nb = dqbuf(v, V4L2_MEMORY_DMABUF, &used);
			if (nb < 0 || pread(b[nb], self->c.got, FRAME, 0) != FRAME ||
			    first_difference(self->c.expect, self->c.got, FRAME) >= 0)
				_exit(13);
			if (write(p[1], "x", 1) != 1)
				_exit(14);
			if (killed)
				pause();
			_exit(0);
		}
		close(p[1]);
		ASSERT_EQ(1, wait_for(p[0], POLLIN, 20000));
		ASSERT_EQ(1, read(p[0], &c, 1)) TH_LOG("the child failed");
		close(p[0]);
		if (killed)
			kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		if (killed) {
			EXPECT_TRUE(WIFSIGNALED(st));
		} else {
			EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
				TH_LOG("child status %#x", st);
		}
		EXPECT_EQ(base, dma_bufs_settle("dmakit", base));

		/* vivid again, with a fresh buffer of ours */
		self->c.video = vivid_open();
		ASSERT_LE(0, self->c.video);
		ASSERT_EQ(0, vivid_prepare(self->c.video));
		ASSERT_LE(1, reqbufs(self->c.video, V4L2_MEMORY_DMABUF, 3))
			TH_LOG("vivid's queue after the child: %s",
			       strerror(errno));
		buf = buf_alloc(FRAME, DMAKIT_KIND_PAGES, 0, NULL);
		dbuf = dmabuf_export(buf, DMAKIT_EXPORT_CLOEXEC);
		ASSERT_LE(0, dbuf);
		ASSERT_EQ(0, qbuf_dmabuf(self->c.video, 0, dbuf));
		ASSERT_EQ(0, stream(self->c.video, 1));
		ASSERT_EQ(0, dqbuf(self->c.video, V4L2_MEMORY_DMABUF, &used));
		ASSERT_EQ(FRAME, pread(buf, self->c.got, FRAME, 0));
		EXPECT_FRAME(&self->c, self->c.got);
		close(self->c.video);
		self->c.video = -1;
		close(dbuf);
		close(buf);
	}
}

/*
 * A transfer of vivid's exported buffer in flight while every fd of it
 * goes: the dma-buf fd, vivid's mapping, vivid's node (its queue is freed
 * while streaming). The request's reference keeps the memory; the bytes
 * arrive as they were.
 */
TEST_F(vivid, its_fds_closed_while_a_transfer_is_in_flight)
{
	struct v4l2_exportbuffer e = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .flags = O_RDWR,
	};
	struct dmakit_xfer x = { .offset = FRAME - SPAN, .len = SPAN,
				 .dir = DMAKIT_DIR_COPY,
				 .flags = DMAKIT_XFER_ASYNC };
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_MMAP,
	};
	int base = dma_bufs_of("videobuf2_vmalloc"), ours, nb, k;
	unsigned char *map;
	uint32_t used;

	ASSERT_LE(0, base);
	nb = reqbufs(self->c.video, V4L2_MEMORY_MMAP, 2);
	ASSERT_LE(2, nb);
	for (int i = 0; i < nb; i++)
		ASSERT_EQ(0, qbuf_mmap(self->c.video, i));
	ASSERT_EQ(0, stream(self->c.video, 1));
	k = dqbuf(self->c.video, V4L2_MEMORY_MMAP, &used);
	ASSERT_LE(0, k);
	b.index = k;
	ASSERT_EQ(0, ioctl(self->c.video, VIDIOC_QUERYBUF, &b));
	map = mmap(NULL, b.length, PROT_READ, MAP_SHARED, self->c.video,
		   b.m.offset);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_FRAME(&self->c, map);
	e.index = k;
	ASSERT_EQ(0, ioctl(self->c.video, VIDIOC_EXPBUF, &e));
	ours = buf_alloc(FRAME, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, ours);

	x.fd = e.fd;
	x.dst_fd = ours;
	ASSERT_EQ(0, ioctl(self->c.node, DMAKIT_IOC_XFER, &x));
	close(e.fd);
	munmap(map, b.length);
	close(self->c.video);	/* streaming, the other buffer queued */
	self->c.video = -1;
	ASSERT_EQ(0, ioctl(self->c.node, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(0, r.result.status);
	ASSERT_EQ(SPAN, pread(ours, self->c.got, SPAN, 0));
	EXPECT_EQ(-1, first_difference(self->c.expect + FRAME - SPAN,
				       self->c.got, SPAN));
	/* the request was the last holder */
	EXPECT_EQ(base, dma_bufs_settle("videobuf2_vmalloc", base));
	close(ours);
}

/* ---- vgem ---------------------------------------------------------------- */

static int vgem_fence(int drm, uint32_t handle, uint32_t flags)
{
	struct drm_vgem_fence_attach a = { .handle = handle, .flags = flags };

	return ioctl(drm, DRM_IOCTL_VGEM_FENCE_ATTACH, &a) ? -errno :
		(int)a.out_fence;
}

static int vgem_signal(int drm, uint32_t fence)
{
	struct drm_vgem_fence_signal s = { .fence = fence };

	return ioctl(drm, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) ? -errno : 0;
}

/* a dma-buf fd as a vgem handle, or -errno */
static int prime_import(int drm, int fd, uint32_t *handle)
{
	struct drm_prime_handle p = { .fd = fd };

	if (ioctl(drm, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p))
		return -errno;
	*handle = p.handle;
	return 0;
}

struct vgem_ctx {
	int node;
	int drm;
};

static void vgem_ctx_open(struct __test_metadata *_metadata, struct vgem_ctx *c)
{
	char why[256];
	int err;

	c->drm = -1;
	c->node = edu_open(0, 0);
	ASSERT_LE(0, c->node);
	c->drm = vgem_open();
	if (c->drm == -ENOENT) {
		err = peer_load("vgem", why, sizeof(why));
		if (err == 2)
			SKIP(return, "no vgem: %s", why);
		ASSERT_EQ(0, err) TH_LOG("loading vgem: %s", why);
		c->drm = vgem_open();
	}
	ASSERT_LE(0, c->drm) TH_LOG("vgem's node: %s", strerror(-c->drm));
}

static void vgem_ctx_close(struct vgem_ctx *c)
{
	if (c->drm >= 0)
		close(c->drm);
	if (c->node >= 0)
		close(c->node);
}

#define VSIZE	(16 * PAGE)
_Static_assert(VSIZE == VGEM_DUMB_SIZE, "vgem_dumb() makes VSIZE bytes");

/* vgem imports dmakit's dma-buf of each kind */
FIXTURE(vgem_import) {
	struct vgem_ctx c;
	int buf;
	int dbuf;
	uint32_t handle;
	long old_timeout;
	unsigned char pat[VSIZE], got[VSIZE];
};

FIXTURE_VARIANT(vgem_import) {
	uint32_t kind;
};

FIXTURE_VARIANT_ADD(vgem_import, contig) { .kind = DMAKIT_KIND_CONTIG };
FIXTURE_VARIANT_ADD(vgem_import, pages) { .kind = DMAKIT_KIND_PAGES };
FIXTURE_VARIANT_ADD(vgem_import, vmalloc) { .kind = DMAKIT_KIND_VMALLOC };

FIXTURE_SETUP(vgem_import)
{
	int err;

	self->buf = self->dbuf = -1;
	self->old_timeout = -1;
	vgem_ctx_open(_metadata, &self->c);
	self->buf = buf_alloc(VSIZE, variant->kind, 0, NULL);
	ASSERT_LE(0, self->buf);
	self->dbuf = dmabuf_export(self->buf, DMAKIT_EXPORT_CLOEXEC);
	ASSERT_LE(0, self->dbuf);
	fill_pattern(self->pat, VSIZE, 40 + variant->kind);
	ASSERT_EQ(VSIZE, pwrite(self->buf, self->pat, VSIZE, 0));
	/* vgem attaches its device (and maps it, before 7.x's shmem) */
	err = prime_import(self->c.drm, self->dbuf, &self->handle);
	ASSERT_EQ(0, err) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror(-err));
}

FIXTURE_TEARDOWN(vgem_import)
{
	if (self->old_timeout >= 0)
		set_param("timeout_ms", self->old_timeout);
	if (self->dbuf >= 0)
		close(self->dbuf);
	if (self->buf >= 0)
		close(self->buf);
	vgem_ctx_close(&self->c);
}

/*
 * What vgem does with an imported dma-buf: no mapping of its own (DRM
 * refuses MAP_DUMB on imported objects: EINVAL); exporting the handle
 * again gives our dma-buf itself, whose mmap is ours: the bytes written
 * through it are the buffer's. Closing the handle lets go of it.
 */
TEST_F(vgem_import, vgem_holds_our_dma_buf)
{
	struct drm_mode_map_dumb m = { .handle = self->handle };
	unsigned char *p;
	uint32_t again = 0;
	int fd;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.drm, DRM_IOCTL_MODE_MAP_DUMB, &m));
	EXPECT_EQ(EINVAL, errno);
	/* the same dma-buf back, and the same handle for it */
	fd = prime_export(self->c.drm, self->handle);
	ASSERT_LE(0, fd) TH_LOG("PRIME_HANDLE_TO_FD: %s", strerror(-fd));
	EXPECT_EQ(inode_of(self->dbuf), inode_of(fd));
	ASSERT_EQ(0, prime_import(self->c.drm, fd, &again));
	EXPECT_EQ(self->handle, again);
	p = mmap(NULL, VSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, first_difference(self->pat, p, VSIZE));
	memset(p + 3 * PAGE - 100, 0xc3, 300);
	memset(self->pat + 3 * PAGE - 100, 0xc3, 300);
	ASSERT_EQ(VSIZE, pread(self->buf, self->got, VSIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, VSIZE));
	munmap(p, VSIZE);
	close(fd);

	/* our buffer fd goes; vgem's handle and our dma-buf fd keep it */
	close(self->buf);
	self->buf = -1;
	ASSERT_EQ(0, copy(self->c.node, self->dbuf, 100, self->dbuf, VSIZE / 2,
			  SPAN));
	memcpy(self->pat + VSIZE / 2, self->pat + 100, SPAN);
	fd = prime_export(self->c.drm, self->handle);
	ASSERT_LE(0, fd);
	p = mmap(NULL, VSIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, first_difference(self->pat, p, VSIZE));
	munmap(p, VSIZE);
	close(fd);
	EXPECT_EQ(0, gem_close(self->c.drm, self->handle));
}

struct later {
	int drm;
	uint32_t fence;		/* 0: close @drm instead of signalling */
	int ms;
	int err;
};

static void *signal_later(void *arg)
{
	struct later *l = arg;

	usleep(l->ms * 1000);
	if (l->fence)
		l->err = vgem_signal(l->drm, l->fence);
	else
		l->err = close(l->drm) ? -errno : 0;
	return NULL;
}

/*
 * vgem's fences on our dma-buf's reservation object: with a read fence
 * the device may read it at once but not write it (the transfer times
 * out, the buffer untouched) until the fence signals; with a write fence
 * a read waits until it signals, or until vgem's fd is closed (vgem
 * signals its fences then). The bytes are checked after each.
 */
TEST_F(vgem_import, vgem_fences_hold_transfers_back)
{
	struct later l = { .drm = self->c.drm, .ms = 300 };
	unsigned char pat[3000], back[3000];
	pthread_t t;
	double t0;
	int fence, err;

	fill_pattern(pat, sizeof(pat), 5);
	self->old_timeout = set_param("timeout_ms", 300);
	ASSERT_LE(0, self->old_timeout);

	/* a read fence: reads go, writes wait (here: time out) */
	fence = vgem_fence(self->c.drm, self->handle, 0);
	ASSERT_LT(0, fence) TH_LOG("FENCE_ATTACH: %s", strerror(-fence));
	ASSERT_EQ(0, xfer_range(self->c.node, self->dbuf, PAGE - 500, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE));
	t0 = now();
	EXPECT_EQ(-ETIMEDOUT, xfer_range(self->c.node, self->dbuf, 0, 0, 3000,
				   DMAKIT_DIR_FROM_DEVICE));
	EXPECT_LE(0.25, now() - t0);
	ASSERT_EQ(VSIZE, pread(self->buf, self->got, VSIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, VSIZE));
	ASSERT_EQ(0, vgem_signal(self->c.drm, fence));
	/* the window still has what the read brought: now it lands */
	ASSERT_EQ(0, xfer_range(self->c.node, self->dbuf, 5 * PAGE + 7, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	memcpy(self->pat + 5 * PAGE + 7, self->pat + PAGE - 500, 3000);
	ASSERT_EQ(VSIZE, pread(self->buf, self->got, VSIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, VSIZE));
	set_param("timeout_ms", self->old_timeout);
	self->old_timeout = -1;

	/* a write fence: a read waits until vgem signals it */
	ASSERT_EQ(3000, pwrite(self->buf, pat, 3000, 8 * PAGE));
	l.fence = vgem_fence(self->c.drm, self->handle, VGEM_FENCE_WRITE);
	ASSERT_LT(0, (int)l.fence);
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &l));
	t0 = now();
	err = xfer_range(self->c.node, self->dbuf, 8 * PAGE, 0, 3000,
		   DMAKIT_DIR_TO_DEVICE);
	EXPECT_EQ(0, err) TH_LOG("TO_DEVICE behind a write fence: %s",
				 strerror(-err));
	EXPECT_LE(0.25, now() - t0);
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.err);
	ASSERT_EQ(0, xfer_range(self->c.node, self->dbuf, 12 * PAGE, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(3000, pread(self->buf, back, 3000, 12 * PAGE));
	EXPECT_EQ(-1, first_difference(pat, back, 3000));

	/* another write fence; vgem's fd closed while we wait */
	l.fence = vgem_fence(self->c.drm, self->handle, VGEM_FENCE_WRITE);
	ASSERT_LT(0, (int)l.fence);
	l.fence = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &l));
	t0 = now();
	err = xfer_range(self->c.node, self->dbuf, 8 * PAGE, 100, 3000,
		   DMAKIT_DIR_TO_DEVICE);
	EXPECT_EQ(0, err) TH_LOG("TO_DEVICE as vgem's fd closes: %s",
				 strerror(-err));
	EXPECT_LE(0.25, now() - t0);
	EXPECT_GT(5.0, now() - t0);	/* not vgem's 10 s expiry */
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.err);
	self->c.drm = -1;
	ASSERT_EQ(0, xfer_range(self->c.node, self->buf, 0, 100, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(3000, pread(self->buf, back, 3000, 0));
	EXPECT_EQ(-1, first_difference(pat, back, 3000));
}

/*
 * vgem's fences on our dma-buf hold back transfers that name the BUFFER's
 * fd as well (implicit sync, as for the dma-buf fd): with a read fence a
 * write by the buffer fd times out, the buffer untouched, until it
 * signals; with a write fence a read by the buffer fd waits for it.
 */
TEST_F(vgem_import, vgem_fences_hold_back_transfers_by_the_buffer_fd)
{
	struct later l = { .drm = self->c.drm, .ms = 300 };
	unsigned char pat[3000];
	pthread_t t;
	double t0;
	int fence, err;

	fill_pattern(pat, sizeof(pat), 6);
	self->old_timeout = set_param("timeout_ms", 300);
	ASSERT_LE(0, self->old_timeout);
	ASSERT_EQ(3000, pwrite(self->buf, pat, 3000, 2 * PAGE));
	ASSERT_EQ(0, xfer_range(self->c.node, self->buf, 2 * PAGE, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE));

	/* a read fence: a write by the buffer fd waits, here times out */
	fence = vgem_fence(self->c.drm, self->handle, 0);
	ASSERT_LT(0, fence) TH_LOG("FENCE_ATTACH: %s", strerror(-fence));
	t0 = now();
	err = xfer_range(self->c.node, self->buf, 9 * PAGE + 3, 0, 3000,
			 DMAKIT_DIR_FROM_DEVICE);
	EXPECT_EQ(-ETIMEDOUT, err) TH_LOG("a write by the buffer fd under vgem's read fence: %s",
					  strerror(-err));
	EXPECT_LE(0.25, now() - t0);
	ASSERT_EQ(VSIZE, pread(self->buf, self->got, VSIZE, 0));
	memcpy(self->pat + 2 * PAGE, pat, 3000);
	EXPECT_EQ(-1, first_difference(self->pat, self->got, VSIZE));
	ASSERT_EQ(0, vgem_signal(self->c.drm, fence));
	ASSERT_EQ(0, xfer_range(self->c.node, self->buf, 9 * PAGE + 3, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	memcpy(self->pat + 9 * PAGE + 3, pat, 3000);
	ASSERT_EQ(VSIZE, pread(self->buf, self->got, VSIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, VSIZE));
	set_param("timeout_ms", self->old_timeout);
	self->old_timeout = -1;

	/* a write fence: a read by the buffer fd waits until it signals */
	l.fence = vgem_fence(self->c.drm, self->handle, VGEM_FENCE_WRITE);
	ASSERT_LT(0, (int)l.fence);
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &l));
	t0 = now();
	err = xfer_range(self->c.node, self->buf, 0, 0, 3000,
			 DMAKIT_DIR_TO_DEVICE);
	EXPECT_EQ(0, err) TH_LOG("TO_DEVICE behind a write fence: %s",
				 strerror(-err));
	EXPECT_LE(0.25, now() - t0) TH_LOG("a read by the buffer fd did not wait for vgem's write fence");
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.err);
	ASSERT_EQ(0, xfer_range(self->c.node, self->buf, 13 * PAGE, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(3000, pread(self->buf, self->got, 3000, 13 * PAGE));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, 3000));
}

/*
 * A process that imported our dma-buf into vgem and put a write fence on
 * it is killed: vgem's fd closes, the fence signals, the handle goes; our
 * transfer does not wait for the fence's 10 s expiry, and vgem has no
 * attachment of it left.
 */
TEST_F(vgem_import, a_process_with_a_pending_fence_is_killed)
{
	int p[2], st, err;
	double t0;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int drm = vgem_open();
		uint32_t h = 0;

		if (drm < 0 || prime_import(drm, self->dbuf, &h) ||
		    vgem_fence(drm, h, VGEM_FENCE_WRITE) <= 0 ||
		    write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, wait_for(p[0], POLLIN, 10000));
	ASSERT_EQ(1, read(p[0], &c, 1)) TH_LOG("the child failed");
	close(p[0]);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st));
	t0 = now();
	err = xfer_range(self->c.node, self->dbuf, 2 * PAGE, 0, 3000,
		   DMAKIT_DIR_TO_DEVICE);
	EXPECT_EQ(0, err) TH_LOG("TO_DEVICE: %s", strerror(-err));
	EXPECT_GT(1.5, now() - t0);
	ASSERT_EQ(0, xfer_range(self->c.node, self->buf, 7 * PAGE + 1, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	memcpy(self->pat + 7 * PAGE + 1, self->pat + 2 * PAGE, 3000);
	ASSERT_EQ(VSIZE, pread(self->buf, self->got, VSIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, VSIZE));
	/* our own handle still works */
	EXPECT_EQ(0, gem_close(self->c.drm, self->handle));
}

/* vgem's dumb buffers exported to dmakit */
FIXTURE(vgem) {
	struct vgem_ctx c;
	uint32_t handle;
	int vfd;		/* vgem's dma-buf */
	unsigned char *map;	/* vgem's own mapping of the buffer */
	unsigned char pat[VSIZE], got[VSIZE];
};

FIXTURE_SETUP(vgem)
{
	int err;

	self->vfd = -1;
	self->map = MAP_FAILED;
	vgem_ctx_open(_metadata, &self->c);
	fill_pattern(self->pat, VSIZE, 66);
	err = vgem_dumb(self->c.drm, self->pat, &self->handle, &self->map,
			&self->vfd);
	ASSERT_EQ(0, err) TH_LOG("vgem's dumb buffer: %s", strerror(-err));
}

FIXTURE_TEARDOWN(vgem)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, VSIZE);
	if (self->vfd >= 0)
		close(self->vfd);
	vgem_ctx_close(&self->c);
}

/*
 * Writes into vgem's buffer are the bounce lane's test of dmakit's
 * importer: DRM's PRIME exporter maps and unmaps for the importer with
 * DMA_ATTR_SKIP_CPU_SYNC (drm_gem_map_dma_buf, drm_gem_unmap_dma_buf), so
 * behind swiotlb the device's writes reach vgem's pages only because
 * dmakit syncs the table for the CPU before it unmaps (docs/dmabuf.md).
 */
/*
 * vgem's exporter (DRM PRIME, shmem pages) maps its buffer for edu: a
 * range inside pages and a COPY of a few pages out of it, checked against
 * what we wrote through vgem's own mapping (write-combined).
 */
TEST_F(vgem, its_dumb_buffer_is_a_source)
{
	int ours = buf_alloc(VSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	unsigned char back[3000];

	ASSERT_LE(0, ours);
	EXPECT_EQ(VSIZE, lseek(self->vfd, 0, SEEK_END));
	ASSERT_EQ(0, xfer_range(self->c.node, self->vfd, PAGE - 700, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, xfer_range(self->c.node, ours, 0, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(3000, pread(ours, back, 3000, 0));
	EXPECT_EQ(-1, first_difference(self->pat + PAGE - 700, back, 3000));

	ASSERT_EQ(0, copy(self->c.node, self->vfd, 5 * PAGE + 17, ours, 100,
			  SPAN));
	ASSERT_EQ(SPAN, pread(ours, self->got, SPAN, 100));
	EXPECT_EQ(-1, first_difference(self->pat + 5 * PAGE + 17, self->got,
				       SPAN));
	/* vgem's buffer as it was */
	EXPECT_EQ(-1, first_difference(self->pat, self->map, VSIZE));
	close(ours);
}

/*
 * The other way: a range inside pages and a COPY of a few pages into
 * vgem's buffer, checked through vgem's mapping, the bytes around
 * untouched.
 */
TEST_F(vgem, its_dumb_buffer_is_a_destination)
{
	int ours = buf_alloc(VSIZE, DMAKIT_KIND_PAGES, 0, NULL);

	ASSERT_LE(0, ours);
	fill_pattern(self->got, SPAN, 67);
	ASSERT_EQ(SPAN, pwrite(ours, self->got, SPAN, 0));
	ASSERT_EQ(0, xfer_range(self->c.node, ours, 1000, 0, 3000,
			  DMAKIT_DIR_TO_DEVICE));
	ASSERT_EQ(0, xfer_range(self->c.node, self->vfd, 9 * PAGE - 1000, 0, 3000,
			  DMAKIT_DIR_FROM_DEVICE));
	memcpy(self->pat + 9 * PAGE - 1000, self->got + 1000, 3000);
	EXPECT_EQ(-1, first_difference(self->pat, self->map, VSIZE));

	ASSERT_EQ(0, copy(self->c.node, ours, 0, self->vfd, 11 * PAGE + 999,
			  SPAN));
	memcpy(self->pat + 11 * PAGE + 999, self->got, SPAN);
	EXPECT_EQ(-1, first_difference(self->pat, self->map, VSIZE));
	close(ours);
}

/*
 * An asynchronous COPY out of vgem's dma-buf in flight while vgem's side
 * lets go of everything: its mapping, the dma-buf fd, the handle (and
 * with it DRM's own reference to the dma-buf), vgem's fd. The request is
 * the last holder of vgem's buffer; the bytes arrive, and once reaped
 * vgem's dma-buf is gone.
 */
TEST_F(vgem, its_fds_closed_while_a_transfer_out_of_it_is_in_flight)
{
	struct dmakit_xfer x = { .fd = self->vfd, .offset = 3 * PAGE + 1,
				 .len = SPAN, .dir = DMAKIT_DIR_COPY,
				 .flags = DMAKIT_XFER_ASYNC };
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };
	int ours = buf_alloc(VSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	int base = dma_bufs_of("drm");

	ASSERT_LE(0, ours);
	ASSERT_LE(1, base);	/* the fixture's */
	x.dst_fd = ours;
	ASSERT_EQ(0, ioctl(self->c.node, DMAKIT_IOC_XFER, &x));
	munmap(self->map, VSIZE);
	self->map = MAP_FAILED;
	close(self->vfd);
	self->vfd = -1;
	EXPECT_EQ(0, gem_close(self->c.drm, self->handle));
	close(self->c.drm);
	self->c.drm = -1;
	ASSERT_EQ(0, ioctl(self->c.node, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(0, r.result.status);
	ASSERT_EQ(SPAN, pread(ours, self->got, SPAN, 0));
	EXPECT_EQ(-1, first_difference(self->pat + 3 * PAGE + 1, self->got,
				       SPAN));
	EXPECT_EQ(base - 1, dma_bufs_settle("drm", base - 1));
	close(ours);
}

/*
 * An asynchronous COPY into vgem's dma-buf in flight while the dma-buf
 * fd, the handle and vgem's fd go: the bytes arrive, seen through vgem's
 * mapping (which holds the object); once reaped vgem's dma-buf is gone.
 */
TEST_F(vgem, its_fds_closed_while_a_transfer_into_it_is_in_flight)
{
	struct dmakit_xfer x = { .dst_fd = self->vfd,
				 .dst_offset = 7 * PAGE + 5, .len = SPAN,
				 .dir = DMAKIT_DIR_COPY,
				 .flags = DMAKIT_XFER_ASYNC };
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };
	int ours = buf_alloc(VSIZE, DMAKIT_KIND_PAGES, 0, NULL);
	int base = dma_bufs_of("drm");

	ASSERT_LE(0, ours);
	ASSERT_LE(1, base);
	fill_pattern(self->got, SPAN, 68);
	ASSERT_EQ(SPAN, pwrite(ours, self->got, SPAN, 0));
	memcpy(self->pat + 7 * PAGE + 5, self->got, SPAN);
	x.fd = ours;
	ASSERT_EQ(0, ioctl(self->c.node, DMAKIT_IOC_XFER, &x));
	close(self->vfd);
	self->vfd = -1;
	EXPECT_EQ(0, gem_close(self->c.drm, self->handle));
	close(self->c.drm);
	self->c.drm = -1;
	ASSERT_EQ(0, ioctl(self->c.node, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(0, r.result.status);
	EXPECT_EQ(-1, first_difference(self->pat, self->map, VSIZE));
	EXPECT_EQ(base - 1, dma_bufs_settle("drm", base - 1));
	close(ours);
}

/* ---- last: the modules go --------------------------------------------- */

/*
 * Unloading vivid and vgem (and what they needed) after all of the above:
 * nothing holds them; no dma-buf of dmakit, vivid or vgem is left.
 */
FIXTURE(last) {
	int unused;
};

FIXTURE_SETUP(last)
{
}

FIXTURE_TEARDOWN(last)
{
}

TEST_F(last, peers_unload_cleanly)
{
	const char *peers[] = { "vivid", "vgem" };
	int unloaded = 0;

	for (int i = 0; i < 2; i++) {
		char path[64], cmd[128];

		snprintf(path, sizeof(path), "/sys/module/%s", peers[i]);
		if (access(path, F_OK))
			continue;
		snprintf(cmd, sizeof(cmd), "/tests/peers.sh unload %s",
			 peers[i]);
		EXPECT_EQ(0, system(cmd)) TH_LOG("%s", cmd);
		EXPECT_NE(0, access(path, F_OK));
		unloaded++;
	}
	if (!unloaded)
		SKIP(return, "neither vivid nor vgem was loaded");
	EXPECT_EQ(0, dma_bufs_settle("dmakit", 0));
	EXPECT_EQ(0, dma_bufs_settle("videobuf2_vmalloc", 0));
	EXPECT_EQ(0, dma_bufs_settle("drm", 0));
}

TEST_HARNESS_MAIN
