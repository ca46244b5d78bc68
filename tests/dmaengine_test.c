// SPDX-License-Identifier: GPL-2.0
/*
 * The dmaengine backend: dmakit nodes on the kernel's own DMA_MEMCPY
 * channels (backends/dmaengine.c), through the same XFER ABI as the edu
 * nodes. The lane names the channels dmakit takes (modparam dma_channels=)
 * in DMAKIT_DMAENGINE_NODES, space-separated (zynqmp: two ZDMA channels;
 * dmatest gets the others, tests/dmaengine.sh). Lanes without a dmaengine
 * provider (the x86 ones) skip.
 *
 * Every transfer is checked byte for byte: the window is the backend's own
 * coherent buffer, so TO_DEVICE then FROM_DEVICE through it must give the
 * source back exactly, with the bytes around the target untouched.
 */
#include <poll.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define PAGE		4096u
#define FILL		0x3c	/* what a target holds where nothing was written */
#define MAX_NODES	8

static const char *const kind_name[] = {
	"", "contig", "pages", "vmalloc", "coherent"
};

/* the channels of the lane's dma_channels=, from DMAKIT_DMAENGINE_NODES */
static int channels(char names[MAX_NODES][32])
{
	char list[256], *tok, *save;
	int n = 0;

	snprintf(list, sizeof(list), "%s", env_str("DMAKIT_DMAENGINE_NODES", ""));
	for (tok = strtok_r(list, " ,", &save); tok && n < MAX_NODES;
	     tok = strtok_r(NULL, " ,", &save))
		snprintf(names[n++], 32, "%s", tok);
	return n;
}

static int chan_open(const char *chan)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/dmakit-%s", chan);
	return open(path, O_RDWR);
}

static long long chan_stat(const char *chan, const char *name)
{
	char path[128], line[64];

	snprintf(path, sizeof(path), "/sys/class/misc/dmakit-%s/stats/%s",
		 chan, name);
	if (!*read_line(path, line, sizeof(line)))
		return -1;
	return strtoll(line, NULL, 10);
}

/* a buffer of @kind (coherent ones made by @node), filled (seed 0: FILL) */
static int filled_buf(int node, uint32_t kind, size_t size, uint32_t seed)
{
	return filled_buffer_on(node, kind, size, seed, FILL);
}

/* a COPY: 0 or -errno */
static int copy_x(int node, struct dmakit_xfer *x, int src, uint64_t src_off,
		  int dst, uint64_t dst_off, uint64_t len, uint32_t flags)
{
	return xfer_copy_fds(node, x, src, src_off, dst, dst_off, len, flags) ?
	       -errno : 0;
}

/* @dst holds @src's bytes in [@off, @off + @len) and FILL elsewhere */
static int dst_is(const char *what, int src, uint64_t src_off, int dst,
		  uint64_t off, uint64_t len, size_t size)
{
	return dst_holds(what, src, src_off, dst, off, len, size, FILL);
}

/* a COPY of @len bytes on @node, checked: 0, or -1 */
static int still_copies(int node, const char *what, size_t len)
{
	size_t size = len + 2 * PAGE;
	int s = filled_buf(-1, DMAKIT_KIND_CONTIG, size, 7);
	int d = filled_buf(-1, DMAKIT_KIND_CONTIG, size, 0);
	struct dmakit_xfer x;
	int ret = -1;

	if (s >= 0 && d >= 0) {
		ret = copy_x(node, &x, s, 1, d, 2, len, 0);
		if (ret)
			printf("# %s: COPY: %s\n", what, strerror(-ret));
		else
			ret = dst_is(what, s, 1, d, 2, len, size);
	}
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return ret;
}

FIXTURE(dmae) {
	char chan[MAX_NODES][32];
	int nchan;
	int node;
	uint32_t window;
	struct dmakit_xfer x;
};

FIXTURE_SETUP(dmae)
{
	struct dmakit_dev_info info;

	self->node = -1;
	self->nchan = channels(self->chan);
	if (!self->nchan)
		SKIP(return, "no dmaengine memcpy channel on this machine");
	self->node = chan_open(self->chan[0]);
	ASSERT_LE(0, self->node) {
		TH_LOG("open /dev/dmakit-%s: %s", self->chan[0], strerror(errno));
	}
	ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_DEV_INFO, &info));
	self->window = info.window;
}

FIXTURE_TEARDOWN(dmae)
{
	if (self->node >= 0)
		close(self->node);
}

/* one node per channel named, described as a dmaengine node, channel held */
TEST_F(dmae, one_node_per_channel_described_by_dev_info)
{
	long want_window = env_long("DMAKIT_DMAENGINE_WINDOW", 65536);

	for (int i = 0; i < self->nchan; i++) {
		struct dmakit_dev_info info;
		char path[128], want[64], line[64], link[256];
		ssize_t n;
		int fd = chan_open(self->chan[i]);

		ASSERT_LE(0, fd) TH_LOG("%s: %s", self->chan[i], strerror(errno));
		memset(&info, 0xff, sizeof(info));
		ASSERT_EQ(0, ioctl(fd, DMAKIT_IOC_DEV_INFO, &info));
		snprintf(want, sizeof(want), "dmakit-%s", self->chan[i]);
		EXPECT_STREQ(want, info.name);
		EXPECT_EQ(DMAKIT_ENGINE_DMAENGINE, info.engine);
		EXPECT_EQ(want_window, info.window);
		EXPECT_EQ((uint32_t)i, info.index);
		EXPECT_EQ(0, info.irq);
		EXPECT_LE(32u, info.dma_mask_bits);
		/* bus_id: the device of the channel's controller */
		snprintf(path, sizeof(path), "/sys/class/dma/%s/device",
			 self->chan[i]);
		n = readlink(path, link, sizeof(link) - 1);
		ASSERT_LT(0, n);
		link[n] = 0;
		EXPECT_STREQ(strrchr(link, '/') + 1, info.bus_id);
		/* the channel is ours: in use, by one client */
		snprintf(path, sizeof(path), "/sys/class/dma/%s/in_use",
			 self->chan[i]);
		EXPECT_STREQ("1", read_line(path, line, sizeof(line)));
		/* the node's parent is the controller (buffers are its own) */
		snprintf(path, sizeof(path), "/sys/class/misc/%s/device", want);
		n = readlink(path, link, sizeof(link) - 1);
		ASSERT_LT(0, n);
		link[n] = 0;
		EXPECT_STREQ(info.bus_id, strrchr(link, '/') + 1);
		close(fd);
	}
}

/*
 * TO_DEVICE then FROM_DEVICE through the window, every buffer kind (made
 * on /dev/dmakit; coherent ones on the node, for its controller), sizes
 * from 1 byte to the window, odd buffer and window offsets: the target
 * holds the source exactly and nothing else changed.
 */
TEST_F(dmae, every_kind_and_size_round_trips_through_the_window)
{
	const uint64_t w = self->window;
	const uint64_t sizes[] = { 1, 2, 3, 511, 4095, 4096, 4097, 3 * 4096 + 5,
				   w / 2 + 7, w - 1, w };
	const uint64_t offs[] = { 0, 1, 4095 };
	const size_t size = w + 2 * PAGE;
	int fails = 0, cases = 0;

	for (uint32_t kind = DMAKIT_KIND_CONTIG; kind <= DMAKIT_KIND_COHERENT;
	     kind++) {
		for (int on_node = 0; on_node < 2; on_node++) {
			int owner = on_node ? self->node : -1;
			int src, dst;

			/* coherent buffers are made on a device node only */
			if (on_node != (kind == DMAKIT_KIND_COHERENT))
				continue;
			src = filled_buf(owner, kind, size, 11 + kind);
			ASSERT_LE(0, src) TH_LOG("%s: %s", kind_name[kind],
						 strerror(-src));
			for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
				for (size_t o = 0; o < sizeof(offs) / sizeof(*offs); o++) {
					uint64_t len = sizes[s], off = offs[o];
					uint32_t dev_off = (uint32_t)(w - len) / (o + 1);
					char what[96];

					dst = filled_buf(owner, kind, size, 0);
					ASSERT_LE(0, dst);
					snprintf(what, sizeof(what), "%s%s len %llu off %llu dev_off %u",
						 kind_name[kind], on_node ? " (node's)" : "",
						 (unsigned long long)len,
						 (unsigned long long)off, dev_off);
					cases++;
					if (xfer_range(self->node, src, off, dev_off, len,
						       DMAKIT_DIR_TO_DEVICE) ||
					    xfer_range(self->node, dst, off + 3, dev_off, len,
						       DMAKIT_DIR_FROM_DEVICE)) {
						printf("# %s: %s\n", what, strerror(errno));
						fails++;
					} else {
						fails += !!dst_is(what, src, off, dst, off + 3,
								  len, size);
					}
					close(dst);
				}
			}
			close(src);
		}
	}
	EXPECT_EQ(0, fails) TH_LOG("%d of %d cases failed", fails, cases);
}

/* COPY: any length, window-sized chunk after chunk, between buffers */
TEST_F(dmae, copy_moves_any_length_between_buffers)
{
	const uint64_t lens[] = { 1, 4097, self->window, self->window + 1,
				  3 * self->window + 12345 };
	const size_t size = 4 * self->window;
	long long segs = chan_stat(self->chan[0], "segments");
	uint64_t want_segs = 0;

	for (size_t i = 0; i < sizeof(lens) / sizeof(*lens); i++) {
		int src = filled_buf(-1, DMAKIT_KIND_PAGES, size, 5 + i);
		int dst = filled_buf(-1, i & 1 ? DMAKIT_KIND_CONTIG :
					 DMAKIT_KIND_VMALLOC, size, 0);
		uint64_t len = lens[i], chunks;

		ASSERT_LE(0, src);
		ASSERT_LE(0, dst);
		ASSERT_EQ(0, copy_x(self->node, &self->x, src, 7, dst, 100, len, 0))
			TH_LOG("COPY of %llu: %s", (unsigned long long)len,
			       strerror(errno));
		EXPECT_EQ(0, self->x.result.status);
		chunks = (len + self->window - 1) / self->window;
		EXPECT_LE(2 * chunks, self->x.result.segments);
		want_segs += self->x.result.segments;
		EXPECT_EQ(0, dst_is("copy", src, 7, dst, 100, len, size));
		close(src);
		close(dst);
	}
	EXPECT_EQ(segs + (long long)want_segs,
		  chan_stat(self->chan[0], "segments"));
}

/* the caller's own memory, pinned (ZEROCOPY) or through read/write */
TEST_F(dmae, user_memory_pinned_and_read_write)
{
	const size_t len = self->window - 333;
	unsigned char *a = malloc(len), *b = malloc(len + 2);
	struct iovec iov[2] = { { a, 1000 }, { a + 1000, len - 1000 } };
	struct iovec back = { b + 1, len };
	struct dmakit_xfer_user u = {
		.iov = (uintptr_t)iov, .iovcnt = 2,
		.dir = DMAKIT_DIR_TO_DEVICE, .dev_offset = 333,
		.flags = DMAKIT_XFER_ZEROCOPY,
	};
	long pins = pins_held();

	fill_pattern(a, len, 99);
	memset(b, FILL, len + 2);
	ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_XFER_USER, &u))
		TH_LOG("XFER_USER: %s", strerror(errno));
	EXPECT_EQ(0, u.result.status);
	EXPECT_FALSE(u.result.flags & DMAKIT_RESULT_COPIED);
	u.iov = (uintptr_t)&back;
	u.iovcnt = 1;
	u.dir = DMAKIT_DIR_FROM_DEVICE;
	ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_XFER_USER, &u));
	EXPECT_EQ(-1, first_difference(a, b + 1, len));
	EXPECT_EQ(FILL, b[0]);
	EXPECT_EQ(FILL, b[len + 1]);
	EXPECT_EQ(pins, pins_held());

	/* pwrite/pread at a window offset: the node's read/write_iter */
	fill_pattern(a, len, 98);
	memset(b, FILL, len + 2);
	ASSERT_EQ((ssize_t)(len - 5), pwrite(self->node, a, len - 5, 5));
	ASSERT_EQ((ssize_t)(len - 5), pread(self->node, b, len - 5, 5));
	EXPECT_EQ(-1, first_difference(a, b, len - 5));
	/* at the window's end: nothing more to read */
	EXPECT_EQ(0, pread(self->node, b, 10, self->window));
	free(a);
	free(b);
}

/* several asynchronous transfers in flight, through poll and reap */
TEST_F(dmae, async_transfers_in_flight_complete_through_poll_and_reap)
{
	enum { N = 24 };
	const size_t chunk = self->window + 4096 + 17, size = N * chunk;
	struct dmakit_xfer_reap r = { 0 };
	int src = filled_buf(-1, DMAKIT_KIND_PAGES, size, 21);
	int dst = filled_buf(-1, DMAKIT_KIND_PAGES, size, 0);
	unsigned int seen = 0;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	for (int i = 0; i < N; i++) {
		ASSERT_EQ(0, copy_x(self->node, &self->x, src, i * chunk, dst,
				    i * chunk, chunk, DMAKIT_XFER_ASYNC));
		self->x.user_data = 0;
	}
	for (int done = 0; done < N;) {
		struct pollfd p = { .fd = self->node, .events = POLLPRI };

		ASSERT_EQ(1, poll(&p, 1, 10000)) TH_LOG("%d of %d reaped", done, N);
		ASSERT_TRUE(p.revents & POLLPRI);
		while (!ioctl(self->node, DMAKIT_IOC_XFER_REAP, &r)) {
			EXPECT_EQ(0, r.result.status);
			EXPECT_LE(4u, r.result.segments);
			seen++;
			done++;
		}
		ASSERT_EQ(done < N ? EAGAIN : ENOENT, errno);
	}
	EXPECT_EQ((unsigned int)N, seen);
	EXPECT_EQ(0, dst_is("async", src, 0, dst, 0, size, size));
	close(src);
	close(dst);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A signal cancels a long chain of pinned user memory: the segment in
 * flight is aborted (ops->terminate, counted in stats/aborted),
 * the call fails with EINTR, the pins go, nothing is written afterwards,
 * and the channel works again. The signal is timed from an uncancelled run
 * (its pinning time and its time on the channel) to land halfway through
 * the chain; a signal that lands while pages are still being pinned, or
 * after the end, is tried again a little later or earlier.
 */
TEST_F(dmae, signal_aborts_a_long_chain_and_releases_the_pins)
{
	const size_t len = 48u << 20;
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	unsigned char *a = malloc(len), *b = malloc(len), *snap = malloc(len);
	struct iovec src = { a, len }, dst = { b, len };
	struct dmakit_xfer_user u = {
		.iov = (uintptr_t)&src, .iovcnt = 1,
		.dst_iov = (uintptr_t)&dst, .dst_iovcnt = 1,
		.dir = DMAKIT_DIR_COPY, .flags = DMAKIT_XFER_ZEROCOPY,
	};
	long long aborted = chan_stat(self->chan[0], "aborted");
	long long cancelled;
	long pins = pins_held();
	double map_s, dev_s, at, took = 0;
	int ret = 0, err = 0, attempt;
	size_t got;

	ASSERT_TRUE(a && b && snap);
	ASSERT_LE(0, aborted) TH_LOG("no stats/aborted");
	fill_pattern(a, len, 77);
	memset(b, FILL, len);
	/* the whole chain once: its data, and how long its parts take */
	ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_XFER_USER, &u))
		TH_LOG("48 MiB COPY: %s", strerror(errno));
	EXPECT_EQ(-1, first_difference(a, b, len));
	map_s = u.result.map_ns / 1e9;
	dev_s = u.result.device_ns / 1e9;
	printf("# uncancelled: %u segments, map %.3f s, device %.3f s\n",
	       u.result.segments, map_s, dev_s);
	EXPECT_EQ(pins, pins_held());

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	cancelled = chan_stat(self->chan[0], "cancelled");
	for (attempt = 0; attempt < 6; attempt++) {
		struct itimerval it = { 0 }, off = { 0 };
		double t0;

		at = map_s + dev_s * (0.5 + (attempt & 1 ? -0.1 : 0.1) * attempt);
		it.it_value.tv_sec = (time_t)at;
		it.it_value.tv_usec = (suseconds_t)((at - (time_t)at) * 1e6) + 1;
		memset(b, FILL, len);
		t0 = now();
		ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
		ret = ioctl(self->node, DMAKIT_IOC_XFER_USER, &u);
		err = errno;
		setitimer(ITIMER_REAL, &off, NULL);
		took = now() - t0;
		printf("# attempt %d: signal at %.3f s, returned %d (%s) after %.3f s\n",
		       attempt, at, ret, ret ? strerror(err) : "done", took);
		if (ret == -1 && chan_stat(self->chan[0], "aborted") > aborted)
			break;
	}
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EINTR, err);
	EXPECT_EQ(pins, pins_held());
	EXPECT_LE(cancelled + 1, chan_stat(self->chan[0], "cancelled"));
	EXPECT_EQ(aborted + 1, chan_stat(self->chan[0], "aborted"));
	/* a prefix arrived, the rest never will */
	for (got = 0; got < len && b[got] == a[got]; got++)
		;
	printf("# cancelled after %.3f s, %zu bytes copied\n", took, got);
	EXPECT_GT(len, got);
	memcpy(snap, b, len);
	usleep(200000);
	EXPECT_EQ(-1, first_difference(snap, b, len));
	free(a);
	free(b);
	free(snap);

	/* and the channel goes on */
	EXPECT_EQ(0, still_copies(self->node, "after the abort",
				  2 * self->window + 1));
}

/* close with transfers queued and one in flight: fast, all cancelled */
TEST_F(dmae, close_with_transfers_in_flight_cancels_them)
{
	const size_t size = 8u << 20;
	int src = filled_buf(-1, DMAKIT_KIND_PAGES, size, 3);
	int dst = filled_buf(-1, DMAKIT_KIND_PAGES, size, 0);
	long long cancelled = chan_stat(self->chan[0], "cancelled");
	int fd = chan_open(self->chan[0]);
	double t0;
	int i;

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_LE(0, fd);
	for (i = 0; i < DMAKIT_XFER_MAX_ASYNC; i++)
		ASSERT_EQ(0, copy_x(fd, &self->x, src, 0, dst, 0, size,
				    DMAKIT_XFER_ASYNC));
	EXPECT_EQ(-EBUSY, copy_x(fd, &self->x, src, 0, dst, 0, 1,
				 DMAKIT_XFER_ASYNC));
	t0 = now();
	close(fd);
	EXPECT_GT(2.0, now() - t0);
	/* at most the one running finished: the others were cancelled */
	EXPECT_LE(cancelled + DMAKIT_XFER_MAX_ASYNC - 1,
		  chan_stat(self->chan[0], "cancelled"));
	close(dst);
	dst = filled_buf(-1, DMAKIT_KIND_PAGES, size, 0);
	ASSERT_EQ(0, copy_x(self->node, &self->x, src, 0, dst, 0, 12345, 0));
	EXPECT_EQ(0, dst_is("after close", src, 0, dst, 0, 12345, size));
	close(src);
	close(dst);
}

/* every channel named at once, each from its own process */
TEST_F(dmae, all_channels_at_once)
{
	pid_t pid[MAX_NODES];

	for (int i = 0; i < self->nchan; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			const size_t size = 4 * self->window;
			int node = chan_open(self->chan[i]);
			int src = filled_buf(-1, DMAKIT_KIND_PAGES, size, 40 + i);
			struct dmakit_xfer x;
			int bad = node < 0 || src < 0;

			for (int k = 0; !bad && k < 20; k++) {
				int dst = filled_buf(-1, DMAKIT_KIND_PAGES, size, 0);

				bad = dst < 0 ||
				      copy_x(node, &x, src, k, dst, k, size - 20, 0) ||
				      dst_is(self->chan[i], src, k, dst, k,
					     size - 20, size);
				if (dst >= 0)
					close(dst);
			}
			_exit(bad);
		}
	}
	for (int i = 0; i < self->nchan; i++) {
		int status;

		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("%s failed", self->chan[i]);
	}
}

/* bad input: the same errnos as on an edu node, and nothing moved */
TEST_F(dmae, bad_input_gets_the_errnos_of_an_edu_node)
{
	const uint32_t w = self->window;
	int src = filled_buf(-1, DMAKIT_KIND_PAGES, 2 * w, 1);
	int dst = filled_buf(-1, DMAKIT_KIND_PAGES, 2 * w, 0);
	int null = open("/dev/null", O_RDWR);
	struct dmakit_edu_liveness l = { .value = 1 };
	struct dmakit_xfer *x = &self->x;
	struct {
		const char *what;
		int err;
		uint32_t dir;
		uint64_t len;
		uint32_t dev_off;
		int fd;
	} cases[] = {
		{ "len 0", EINVAL, DMAKIT_DIR_TO_DEVICE, 0, 0, src },
		{ "beyond the window", EINVAL, DMAKIT_DIR_TO_DEVICE, w + 1, 0, src },
		{ "offset at the window's end", EINVAL, DMAKIT_DIR_FROM_DEVICE, 1, w, dst },
		{ "offset wraps", EINVAL, DMAKIT_DIR_FROM_DEVICE, 2, ~0u, dst },
		{ "dir 0", EINVAL, 0, 10, 0, src },
		{ "dir 4", EINVAL, 4, 10, 0, src },
		{ "fd -1", EBADF, DMAKIT_DIR_TO_DEVICE, 10, 0, -1 },
		{ "not a buffer", EINVAL, DMAKIT_DIR_TO_DEVICE, 10, 0, null },
	};

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		errno = 0;
		EXPECT_EQ(-cases[i].err,
			  xfer_range(self->node, cases[i].fd, 0, cases[i].dev_off,
				     cases[i].len, cases[i].dir)) {
			TH_LOG("%s: %s", cases[i].what, strerror(errno));
		}
	}
	memset(x, 0, sizeof(*x));
	x->fd = src;
	x->len = 10;
	x->dir = DMAKIT_DIR_TO_DEVICE;
	x->flags = 0x80;
	EXPECT_EQ(-1, ioctl(self->node, DMAKIT_IOC_XFER, x));
	EXPECT_EQ(EINVAL, errno);
	/* edu's own ioctls are not this node's; it has no memory to map */
	EXPECT_EQ(-1, ioctl(self->node, DMAKIT_IOC_EDU_LIVENESS, &l));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->node, 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, dst_is("after bad input", src, 0, dst, 0, 0, 2 * w));
	/* and the node still works */
	ASSERT_EQ(0, copy_x(self->node, x, src, 1, dst, 2, w + 9, 0));
	EXPECT_EQ(0, dst_is("then", src, 1, dst, 2, w + 9, 2 * w));
	close(null);
	close(src);
	close(dst);
}

/*
 * The module cannot go while a node is open; the channel's provider cannot
 * go while dmakit holds its channel (dma_request_channel took a reference
 * on its module).
 */
TEST_F(dmae, unload_refused_while_in_use)
{
	char line[32];
	long refs;

	EXPECT_NE(0, system("rmmod dmakit 2>/dev/null"));
	EXPECT_EQ(0, system("lsmod | grep -q '^dmakit '"));
	refs = strtol(read_line("/sys/module/zynqmp_dma/refcnt", line,
				sizeof(line)), NULL, 10);
	if (!*line)
		SKIP(return, "no zynqmp_dma module on this machine");
	EXPECT_LE(self->nchan, refs);
	EXPECT_NE(0, system("rmmod zynqmp_dma 2>/dev/null"));
	EXPECT_EQ(0, system("lsmod | grep -q '^zynqmp_dma '"));
	EXPECT_EQ(0, still_copies(self->node, "after rmmod", 5000));
}

TEST_HARNESS_MAIN
