// SPDX-License-Identifier: GPL-2.0
/*
 * DMA transfers through the edu device (DMAKIT_IOC_XFER): every buffer kind,
 * direction, size and offset round-trips byte for byte; bad input gets a
 * clear errno; signals, timeouts, closes and kills during a transfer leave
 * the memory and the device intact. The matrix runs on both edu devices at
 * once (a child per device), since each device segment takes ~100 ms.
 */
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "dmakit_test.h"

#define PAGE		4096u
#define WINDOW		DMAKIT_EDU_WINDOW_MAX
#define BUF_SIZE	(80 * 1024)	/* room for 64 KiB at offset 4095 */
#define GUARD		0x5a

static const char *const kind_name[] = {
	"", "contig", "pages", "vmalloc", "coherent"
};

/* filled_buffer_on() with GUARD bytes where seed is 0 */
static int filled_on(int dev, uint32_t kind, size_t size, uint32_t seed)
{
	return filled_buffer_on(dev, kind, size, seed, GUARD);
}

static int filled_buffer(uint32_t kind, size_t size, uint32_t seed)
{
	return filled_on(-1, kind, size, seed);
}

static int xfer(int dev, struct dmakit_xfer *x, int fd, uint64_t off,
		uint64_t len, uint32_t dir)
{
	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->offset = off;
	x->len = len;
	x->dir = dir;
	return ioctl(dev, DMAKIT_IOC_XFER, x);
}

static int copy(int dev, struct dmakit_xfer *x, int src, uint64_t src_off,
		int dst, uint64_t dst_off, uint64_t len, uint32_t flags)
{
	return xfer_copy_fds(dev, x, src, src_off, dst, dst_off, len, flags);
}

/* @dst holds @src's bytes in [@off, @off + @len) and GUARD elsewhere */
static int check_dst(const char *what, int src, uint64_t src_off, int dst,
		     uint64_t off, uint64_t len, size_t size)
{
	return dst_holds(what, src, src_off, dst, off, len, size, GUARD);
}

static const uint64_t sizes[] = { 1, 4095, 4096, 4097, 3 * 4096 + 5, 65536 };
static const uint64_t offsets[] = { 0, 1, 4095 };

/*
 * One combination: TO then FROM through the window (sizes that fit it) and
 * COPY. Returns the number of failures.
 */
static int one_case(int dev, uint32_t kind, uint64_t len, uint64_t off,
		    uint32_t seed)
{
	char what[96];
	struct dmakit_xfer x;
	int src, dst, fails = 0;

	src = filled_on(dev, kind, BUF_SIZE, seed);
	dst = filled_on(dev, kind, BUF_SIZE, 0);
	if (src < 0 || dst < 0) {
		printf("# %s buffers: %s\n", kind_name[kind], strerror(-src));
		return 1;
	}

	if (len <= WINDOW) {
		snprintf(what, sizeof(what), "%s to+from len %llu off %llu",
			 kind_name[kind], (unsigned long long)len,
			 (unsigned long long)off);
		if (xfer(dev, &x, src, off, len, DMAKIT_DIR_TO_DEVICE) ||
		    xfer(dev, &x, dst, off, len, DMAKIT_DIR_FROM_DEVICE)) {
			printf("# %s: %s\n", what, strerror(errno));
			fails++;
		} else {
			fails += !!check_dst(what, src, off, dst, off, len,
					     BUF_SIZE);
		}
		/* the window is not bigger than it is */
		if (xfer(dev, &x, src, off, WINDOW + 1, DMAKIT_DIR_TO_DEVICE) != -1 ||
		    errno != EINVAL) {
			printf("# %s: a transfer beyond the window was not EINVAL\n",
			       what);
			fails++;
		}
		/* reset the target for the copy below */
		close(dst);
		dst = filled_on(dev, kind, BUF_SIZE, 0);
	}

	snprintf(what, sizeof(what), "%s copy len %llu off %llu",
		 kind_name[kind], (unsigned long long)len,
		 (unsigned long long)off);
	/* the target range starts elsewhere than the source's */
	if (copy(dev, &x, src, off, dst, BUF_SIZE - len - off, len, 0)) {
		printf("# %s: %s\n", what, strerror(errno));
		fails++;
	} else {
		fails += !!check_dst(what, src, off, dst, BUF_SIZE - len - off,
				     len, BUF_SIZE);
		if (x.result.status || !x.result.segments ||
		    x.result.segments < 2 * ((len + WINDOW - 1) / WINDOW)) {
			printf("# %s: status %d, %u segments\n", what,
			       x.result.status, x.result.segments);
			fails++;
		}
	}
	close(src);
	close(dst);
	return fails;
}

/* the matrix of one kind, split between the two devices, run at once */
static int matrix(uint32_t kind)
{
	int ndev = env_long("DMAKIT_EDU_COUNT", 2) >= 2 ? 2 : 1;
	int n = 0, fails = 0;
	pid_t pid[2];

	for (int d = 0; d < ndev; d++) {
		pid[d] = fork();
		if (pid[d] == 0) {
			int dev = edu_open(d, 0), f = 0, i = 0;

			if (dev < 0)
				_exit(100);
			for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
				for (size_t o = 0; o < sizeof(offsets) / sizeof(*offsets); o++)
					if (i++ % ndev == d)
						f += one_case(dev, kind, sizes[s],
							      offsets[o], i);
			fflush(stdout);
			_exit(f > 99 ? 99 : f);
		}
	}
	for (int d = 0; d < ndev; d++) {
		int status;

		waitpid(pid[d], &status, 0);
		fails += WIFEXITED(status) ? WEXITSTATUS(status) : 100;
		n++;
	}
	return fails;
}

TEST(matrix_contig_round_trips_byte_for_byte)
{
	if (env_long("DMAKIT_XFER_NO_MATRIX", 0))
		SKIP(return, "the matrix runs with MSI; this run covers INTx");
	ASSERT_EQ(0, matrix(DMAKIT_KIND_CONTIG));
}

TEST(matrix_pages_round_trips_byte_for_byte)
{
	if (env_long("DMAKIT_XFER_NO_MATRIX", 0))
		SKIP(return, "the matrix runs with MSI; this run covers INTx");
	ASSERT_EQ(0, matrix(DMAKIT_KIND_PAGES));
}

TEST(matrix_vmalloc_round_trips_byte_for_byte)
{
	if (env_long("DMAKIT_XFER_NO_MATRIX", 0))
		SKIP(return, "the matrix runs with MSI; this run covers INTx");
	ASSERT_EQ(0, matrix(DMAKIT_KIND_VMALLOC));
}

TEST(matrix_coherent_round_trips_byte_for_byte)
{
	if (env_long("DMAKIT_XFER_NO_MATRIX", 0))
		SKIP(return, "the matrix runs with MSI; this run covers INTx");
	ASSERT_EQ(0, matrix(DMAKIT_KIND_COHERENT));
}

/*
 * Coherent memory belongs to a device: made on its node, mapped with
 * dma_mmap_coherent, used by that device without any mapping.
 */
TEST(coherent_buffers_belong_to_their_device)
{
	int dev0 = edu_open(0, 0), dev1 = edu_open(1, 0);
	unsigned char *map, data[3 * PAGE], back[3 * PAGE];
	struct dmakit_xfer x;
	int fd, src;

	ASSERT_LE(0, dev0);
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, DMAKIT_KIND_COHERENT, 0, NULL));
	fd = buf_alloc_on(dev0, 3 * PAGE, DMAKIT_KIND_COHERENT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, fd, 0));
	/* zeroed; what the mapping writes is what read() returns */
	map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   PAGE);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(3 * PAGE, pread(fd, back, 3 * PAGE, 0));
	memset(data, 0, sizeof(data));
	EXPECT_EQ(-1, first_difference(data, back, 3 * PAGE));
	fill_pattern(data, 2 * PAGE, 11);
	memcpy(map, data, 2 * PAGE);
	ASSERT_EQ(2 * PAGE, pread(fd, back, 2 * PAGE, PAGE));
	EXPECT_EQ(-1, first_difference(data, back, 2 * PAGE));

	/* the device reads it at its bus address: one segment, no mapping */
	src = filled_buffer(DMAKIT_KIND_PAGES, 3 * PAGE, 12);
	ASSERT_LE(0, src);
	ASSERT_EQ(0, xfer(dev0, &x, fd, PAGE + 7, 4000, DMAKIT_DIR_TO_DEVICE));
	EXPECT_EQ(1u, x.result.sg_entries);
	EXPECT_EQ(1u, x.result.dma_segments);
	EXPECT_EQ(1u, x.result.segments);
	EXPECT_EQ(0u, x.result.bounced);
	ASSERT_EQ(0, xfer(dev0, &x, src, 100, 4000, DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(4000, pread(src, back, 4000, 100));
	EXPECT_EQ(-1, first_difference(data + 7, back, 4000));
	/* and the device's writes show in the mapping */
	ASSERT_EQ(0, copy(dev0, &x, src, 0, fd, PAGE, 4000, 0));
	ASSERT_EQ(4000, pread(src, back, 4000, 0));
	EXPECT_EQ(-1, first_difference(back, map, 4000));

	/* another device has no bus address for it */
	if (dev1 >= 0) {
		errno = 0;
		EXPECT_EQ(-1, copy(dev1, &x, fd, 0, src, 0, 100, 0));
		EXPECT_EQ(EINVAL, errno);
		close(dev1);
	}
	munmap(map, 2 * PAGE);
	close(src);
	close(fd);
	close(dev0);
}

FIXTURE(xfer) {
	int dev;
	int src, dst;
	struct dmakit_xfer x;
};

FIXTURE_SETUP(xfer)
{
	self->dev = edu_open(0, 0);
	ASSERT_LE(0, self->dev) TH_LOG("open: %s", strerror(errno));
	self->src = filled_buffer(DMAKIT_KIND_PAGES, BUF_SIZE, 7);
	self->dst = filled_buffer(DMAKIT_KIND_PAGES, BUF_SIZE, 0);
	ASSERT_LE(0, self->src);
	ASSERT_LE(0, self->dst);
}

FIXTURE_TEARDOWN(xfer)
{
	close(self->src);
	close(self->dst);
	close(self->dev);
}

/* bad input: each an errno, the target untouched, the device still works */
TEST_F(xfer, bad_arguments_get_clear_errno)
{
	int null = open("/dev/null", O_RDWR);
	int ro = buf_alloc(PAGE, DMAKIT_KIND_PAGES, DMAKIT_ALLOC_RDONLY, NULL);
	static unsigned char a[5000], b[5000];
	struct dmakit_xfer *x = &self->x;
	struct {
		const char *what;
		int err;
		void (*set)(struct dmakit_xfer *x, int null, int ro);
	} cases[] = {
#define CASE(e, body) { #body, e, \
	({ void f(struct dmakit_xfer *x, int null, int ro) { body; } f; }) }
		CASE(EINVAL, x->len = 0),
		CASE(EINVAL, x->offset = BUF_SIZE),
		CASE(EINVAL, x->offset = BUF_SIZE - 1; x->len = 2),
		CASE(EINVAL, x->offset = ~0ull - 1; x->len = 3),
		CASE(EINVAL, x->len = ~0ull),
		CASE(EINVAL, x->dir = 0),
		CASE(EINVAL, x->dir = 4),
		CASE(EINVAL, x->flags = 0x80),
		CASE(EINVAL, x->pad = 1),
		CASE(EINVAL, x->reserved[1] = 1),
		CASE(EINVAL, x->dir = DMAKIT_DIR_TO_DEVICE; x->dst_fd = 1),
		CASE(EINVAL, x->dir = DMAKIT_DIR_FROM_DEVICE; x->len = WINDOW + 1),
		CASE(EINVAL, x->dir = DMAKIT_DIR_FROM_DEVICE; x->dev_offset = WINDOW; x->len = 1),
		CASE(EINVAL, x->dir = DMAKIT_DIR_FROM_DEVICE; x->dev_offset = ~0u; x->len = 2),
		CASE(EINVAL, x->dev_offset = 1),
		CASE(EINVAL, x->dst_offset = BUF_SIZE - 10),
		CASE(EINVAL, x->dst_offset = ~0ull),
		CASE(EBADF, x->fd = -1),
		CASE(EBADF, x->dst_fd = 999),
		CASE(EINVAL, x->fd = null),
		CASE(EINVAL, x->dst_fd = null),
		CASE(EBADF, x->dst_fd = ro),
		CASE(EBADF, x->dir = DMAKIT_DIR_FROM_DEVICE; x->dst_fd = 0; x->fd = ro),
		/* source and target overlap in one buffer */
		CASE(EINVAL, x->dst_fd = x->fd; x->dst_offset = x->offset + 1),
		CASE(EINVAL, x->dst_fd = x->fd; x->offset = 8192; x->dst_offset = 4096; x->len = 4097),
#undef CASE
	};

	ASSERT_LE(0, null);
	ASSERT_LE(0, ro);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		memset(x, 0, sizeof(*x));
		x->fd = self->src;
		x->dst_fd = self->dst;
		x->len = 100;
		x->dir = DMAKIT_DIR_COPY;
		cases[i].set(x, null, ro);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->dev, DMAKIT_IOC_XFER, x)) {
			TH_LOG("%s: accepted", cases[i].what);
		}
		EXPECT_EQ(cases[i].err, errno) {
			TH_LOG("%s: %s", cases[i].what, strerror(errno));
		}
	}
	/* nothing reached the target, and the device still works */
	EXPECT_EQ(0, check_dst("after bad input", self->src, 0, self->dst, 0,
			       0, BUF_SIZE));
	ASSERT_EQ(0, copy(self->dev, x, self->src, 10, self->dst, 20, 5000, 0));
	EXPECT_EQ(0, check_dst("then", self->src, 10, self->dst, 20, 5000,
			       BUF_SIZE));
	/* the same buffer may be source and target where they do not overlap */
	ASSERT_EQ(0, copy(self->dev, x, self->dst, 20, self->dst, 30000, 5000, 0));
	ASSERT_EQ(5000, pread(self->dst, a, 5000, 20));
	ASSERT_EQ(5000, pread(self->dst, b, 5000, 30000));
	EXPECT_EQ(-1, first_difference(a, b, 5000));
	close(null);
	close(ro);
}

/* the window keeps what TO_DEVICE put at a device offset */
TEST_F(xfer, device_offset_addresses_the_window)
{
	unsigned char a[50], b[50];
	struct dmakit_xfer *x = &self->x;

	ASSERT_EQ(0, xfer(self->dev, x, self->src, 100, 50, DMAKIT_DIR_TO_DEVICE));
	memset(x, 0, sizeof(*x));
	x->fd = self->src;
	x->offset = 1000;
	x->len = 60;
	x->dev_offset = 3000;
	x->dir = DMAKIT_DIR_TO_DEVICE;
	ASSERT_EQ(0, ioctl(self->dev, DMAKIT_IOC_XFER, x));
	/* read 3000..3060 back: it is src 1000..1060, not src 100.. */
	memset(x, 0, sizeof(*x));
	x->fd = self->dst;
	x->offset = 0;
	x->len = 60;
	x->dev_offset = 3000;
	x->dir = DMAKIT_DIR_FROM_DEVICE;
	ASSERT_EQ(0, ioctl(self->dev, DMAKIT_IOC_XFER, x));
	EXPECT_EQ(0, check_dst("window offset", self->src, 1000, self->dst, 0,
			       60, BUF_SIZE));
	ASSERT_EQ(0, xfer(self->dev, x, self->dst, 200, 50, DMAKIT_DIR_FROM_DEVICE));
	ASSERT_EQ(50, pread(self->src, a, 50, 100));
	ASSERT_EQ(50, pread(self->dst, b, 50, 200));
	EXPECT_EQ(-1, first_difference(a, b, 50));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* a signal ends the wait; the device writes nothing after the call returned */
TEST_F(xfer, signal_cancels_and_the_device_stops_writing)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 400000 } };
	unsigned char *before = malloc(BUF_SIZE), *after = malloc(BUF_SIZE);
	struct dmakit_xfer *x = &self->x;
	double t0, took;
	int ret;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	t0 = now();
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ret = copy(self->dev, x, self->src, 0, self->dst, 0, 65536, 0);
	took = now() - t0;
	ASSERT_EQ(-1, ret) TH_LOG("a 64 KiB copy finished in %.2f s", took);
	ASSERT_EQ(EINTR, errno);
	/* ~34 segments of ~100 ms; the signal came after 0.4 s */
	EXPECT_GT(2.5, took);
	ASSERT_EQ(BUF_SIZE, pread(self->dst, before, BUF_SIZE, 0));
	usleep(400000);
	ASSERT_EQ(BUF_SIZE, pread(self->dst, after, BUF_SIZE, 0));
	EXPECT_EQ(-1, first_difference(before, after, BUF_SIZE));
	/* some data arrived, and the copy stopped early */
	EXPECT_NE(GUARD, before[0]);
	EXPECT_EQ(GUARD, before[65535]);
	free(before);
	free(after);

	ASSERT_EQ(0, copy(self->dev, x, self->src, 0, self->dst, 0, 9000, 0));
	EXPECT_EQ(0, check_dst("after the signal", self->src, 0, self->dst, 0,
			       9000, BUF_SIZE));
}

static long long stat_of(int index, const char *name)
{
	char path[128], line[64];

	snprintf(path, sizeof(path), "/sys/class/misc/dmakit-edu%d/stats/%s",
		 index, name);
	if (!*read_line(path, line, sizeof(line)))
		return -1;
	return strtoll(line, NULL, 10);
}

/* a lost completion interrupt: ETIMEDOUT after timeout_ms, then work again */
TEST_F(xfer, lost_interrupt_times_out_and_the_engine_recovers)
{
	long long lost = stat_of(0, "lost_irqs"), tmo = stat_of(0, "timeouts");
	struct dmakit_xfer *x = &self->x;
	long old_timeout;
	double t0, took;
	int ret;

	ASSERT_LE(0, lost);
	old_timeout = set_param("timeout_ms", 300);
	ASSERT_LT(0, old_timeout);
	ASSERT_EQ(0, fault_arm("drop_irq", 1, 1));
	t0 = now();
	ret = copy(self->dev, x, self->src, 0, self->dst, 0, 3000, 0);
	took = now() - t0;
	set_param("timeout_ms", old_timeout);
	EXPECT_EQ(0, fault_disarm("drop_irq"));	/* it fired */
	ASSERT_EQ(-1, ret);
	EXPECT_EQ(ETIMEDOUT, errno);
	EXPECT_EQ(-ETIMEDOUT, x->result.status);
	EXPECT_LT(0.29, took);
	EXPECT_GT(2.0, took);
	EXPECT_EQ(lost + 1, stat_of(0, "lost_irqs"));
	EXPECT_EQ(tmo + 1, stat_of(0, "timeouts"));

	ASSERT_EQ(0, copy(self->dev, x, self->src, 0, self->dst, 100, 6000, 0));
	EXPECT_EQ(0, check_dst("after the timeout", self->src, 0, self->dst,
			       100, 6000, BUF_SIZE));
}

/*
 * The dma_map fault-injection point with the framework's semantics, on
 * every kernel (the kernel's fault_attr or the module's fallback): armed
 * with space 3 and times 2, two mapping calls pass, the third and the
 * fourth fail as a refused mapping (EIO), and the fifth maps again. A
 * transfer of a range inside one page of a pages buffer is one mapping
 * call (dma_map_page). The failed transfers moved nothing: the window
 * still holds what the first one put there.
 */
TEST_F(xfer, the_dma_map_point_fails_from_the_nth_mapping_for_times_calls)
{
	struct dmakit_xfer *x = &self->x;

	ASSERT_EQ(0, fault_arm("dma_map", 3, 2));
	EXPECT_EQ(0, xfer(self->dev, x, self->src, 100, 1000, DMAKIT_DIR_TO_DEVICE));
	EXPECT_EQ(2, fault_get("dma_map", "space"));
	EXPECT_EQ(0, xfer(self->dev, x, self->dst, 200, 1000, DMAKIT_DIR_FROM_DEVICE));
	EXPECT_EQ(1, fault_get("dma_map", "space"));
	EXPECT_EQ(2, fault_left("dma_map"));
	EXPECT_EQ(0, check_dst("before the failures", self->src, 100, self->dst,
			       200, 1000, BUF_SIZE));

	errno = 0;
	EXPECT_EQ(-1, xfer(self->dev, x, self->src, 5000, 1000, DMAKIT_DIR_TO_DEVICE));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(1, fault_left("dma_map"));
	errno = 0;
	EXPECT_EQ(-1, xfer(self->dev, x, self->dst, 5000, 1000, DMAKIT_DIR_FROM_DEVICE));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, fault_left("dma_map"));
	EXPECT_EQ(0, check_dst("after the failures", self->src, 100, self->dst,
			       200, 1000, BUF_SIZE));

	EXPECT_EQ(0, xfer(self->dev, x, self->dst, 200, 1000, DMAKIT_DIR_FROM_DEVICE));
	EXPECT_EQ(0, fault_disarm("dma_map"));
	EXPECT_EQ(0, check_dst("the window kept the first transfer", self->src,
			       100, self->dst, 200, 1000, BUF_SIZE));
}

/* asynchronous transfers: poll, reap, ids, user data, EAGAIN/ENOENT */
TEST_F(xfer, async_transfers_complete_through_poll_and_reap)
{
	struct pollfd now_ready = {
		.fd = self->dev, .events = POLLIN | POLLOUT | POLLPRI,
	};
	struct dmakit_xfer_reap r = {};
	struct dmakit_xfer *x = &self->x;
	int dst[4];
	uint64_t ids[4];
	int seen = 0;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(ENOENT, errno);
	for (int i = 0; i < 4; i++) {
		dst[i] = filled_buffer(i % 2 ? DMAKIT_KIND_CONTIG :
				       DMAKIT_KIND_VMALLOC, BUF_SIZE, 0);
		ASSERT_LE(0, dst[i]);
		memset(x, 0, sizeof(*x));
		x->fd = self->src;
		x->dst_fd = dst[i];
		x->offset = i * 1000;
		x->dst_offset = i;
		x->len = 5000 + i;
		x->dir = DMAKIT_DIR_COPY;
		x->flags = DMAKIT_XFER_ASYNC;
		x->user_data = 0x1000 + i;
		ASSERT_EQ(0, ioctl(self->dev, DMAKIT_IOC_XFER, x));
		ASSERT_NE(0, x->id);
		ids[i] = x->id;
	}
	/* the first one needs ~400 ms of device time: nothing is there yet */
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(EAGAIN, errno);
	/* readable and writable always, nothing to reap yet */
	ASSERT_EQ(1, poll(&now_ready, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, now_ready.revents);

	while (seen < 4) {
		struct pollfd p = { .fd = self->dev, .events = POLLPRI };

		ASSERT_EQ(1, poll(&p, 1, 10000));
		ASSERT_TRUE(p.revents & POLLPRI);
		while (!ioctl(self->dev, DMAKIT_IOC_XFER_REAP, &r)) {
			int i = r.result.user_data - 0x1000;

			ASSERT_TRUE(i >= 0 && i < 4);
			EXPECT_EQ(ids[i], r.result.id);
			EXPECT_EQ(0, r.result.status);
			/* FIFO: results come back in submission order */
			EXPECT_EQ(seen, i);
			EXPECT_EQ(0, check_dst("async", self->src, i * 1000,
					       dst[i], i, 5000 + i, BUF_SIZE));
			seen++;
		}
		ASSERT_TRUE(errno == EAGAIN || errno == ENOENT);
	}
	errno = 0;
	r.flags = DMAKIT_REAP_WAIT;
	EXPECT_EQ(-1, ioctl(self->dev, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(ENOENT, errno);
	for (int i = 0; i < 4; i++)
		close(dst[i]);
}

/* at most DMAKIT_XFER_MAX_ASYNC outstanding; close cancels the rest quickly */
TEST_F(xfer, async_limit_and_close_cancels)
{
	struct dmakit_xfer *x = &self->x;
	long long cancelled = stat_of(0, "cancelled");
	int dev2 = edu_open(0, 0);
	double t0;
	int i;

	ASSERT_LE(0, dev2);
	for (i = 0; i < DMAKIT_XFER_MAX_ASYNC; i++)
		ASSERT_EQ(0, copy(dev2, x, self->src, 0, self->dst, 0, 100,
				  DMAKIT_XFER_ASYNC));
	errno = 0;
	EXPECT_EQ(-1, copy(dev2, x, self->src, 0, self->dst, 0, 100,
			   DMAKIT_XFER_ASYNC));
	EXPECT_EQ(EBUSY, errno);
	t0 = now();
	close(dev2);
	EXPECT_GT(1.5, now() - t0);
	/* all but the one on the device at the time were never run */
	EXPECT_LE(cancelled + DMAKIT_XFER_MAX_ASYNC - 1, stat_of(0, "cancelled"));
	ASSERT_EQ(0, copy(self->dev, x, self->src, 0, self->dst, 0, 4000, 0));
	EXPECT_EQ(0, check_dst("after close", self->src, 0, self->dst, 0, 4000,
			       BUF_SIZE));
}

/* the buffer fd is closed and its mapping dropped while the DMA runs */
TEST_F(xfer, closing_and_unmapping_the_target_during_the_transfer)
{
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };
	struct dmakit_xfer *x = &self->x;
	unsigned char *map, want[9000];
	int dst = filled_buffer(DMAKIT_KIND_PAGES, BUF_SIZE, 0);

	ASSERT_LE(0, dst);
	map = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, dst, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, copy(self->dev, x, self->src, 0, dst, 0, 9000,
			  DMAKIT_XFER_ASYNC));
	close(dst);	/* the mapping keeps the buffer */
	ASSERT_EQ(0, ioctl(self->dev, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(0, r.result.status);
	ASSERT_EQ(9000, pread(self->src, want, 9000, 0));
	EXPECT_EQ(-1, first_difference(want, map, 9000));
	EXPECT_EQ(GUARD, map[9000]);
	munmap(map, BUF_SIZE);

	/* now drop every user reference while the device writes */
	dst = filled_buffer(DMAKIT_KIND_CONTIG, BUF_SIZE, 0);
	ASSERT_LE(0, dst);
	map = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, dst, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, copy(self->dev, x, self->src, 0, dst, 0, 20000,
			  DMAKIT_XFER_ASYNC));
	usleep(150000);
	munmap(map, BUF_SIZE);
	close(dst);
	ASSERT_EQ(0, ioctl(self->dev, DMAKIT_IOC_XFER_REAP, &r));
	EXPECT_EQ(0, r.result.status);
	EXPECT_LE(10u, r.result.segments);
}

/* processes killed with transfers queued: no harm, the device goes on */
TEST_F(xfer, killed_process_with_queued_transfers)
{
	struct dmakit_xfer *x = &self->x;
	int ready[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	if (pid == 0) {
		int dev = edu_open(0, 0);

		for (int i = 0; i < 8; i++)
			if (copy(dev, x, self->src, 0, self->dst, 0, 8000,
				 DMAKIT_XFER_ASYNC))
				_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		/* a synchronous one too, waiting behind the others */
		copy(dev, x, self->src, 0, self->dst, 0, 8000, 0);
		_exit(2);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	usleep(300000);
	/* the module cannot go while the process holds the node */
	EXPECT_NE(0, system("rmmod dmakit 2>/dev/null"));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(0, copy(self->dev, x, self->src, 100, self->dst, 0, 8000, 0));
	EXPECT_EQ(0, check_dst("after the kill", self->src, 100, self->dst, 0,
			       8000, BUF_SIZE));
	close(ready[0]);
	close(ready[1]);
}

/* several processes submit at once: every transfer runs, none is lost */
TEST_F(xfer, concurrent_submitters_all_served)
{
	long long done = stat_of(0, "completed");
	pid_t pid[4];
	int fails = 0;

	for (int p = 0; p < 4; p++) {
		pid[p] = fork();
		if (pid[p] == 0) {
			int dev = edu_open(0, 0), f = 0;
			struct dmakit_xfer x;

			for (int i = 0; i < 3; i++) {
				int src = filled_buffer(DMAKIT_KIND_PAGES, 16384,
							100 * p + i + 1);
				int dst = filled_buffer(DMAKIT_KIND_CONTIG, 16384, 0);

				if (copy(dev, &x, src, p, dst, i, 3000 + p, 0))
					f++;
				else
					f += !!check_dst("concurrent", src, p,
							 dst, i, 3000 + p, 16384);
				close(src);
				close(dst);
			}
			_exit(f);
		}
	}
	for (int p = 0; p < 4; p++) {
		int status;

		waitpid(pid[p], &status, 0);
		fails += WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	EXPECT_EQ(0, fails);
	EXPECT_LE(done + 12, stat_of(0, "completed"));
}

/*
 * Staged transfers go through the driver's own DMA memory: up to 512 bytes
 * dma_pool chunks, which honour the pool's alignment and boundary; above
 * that one streaming-mapped page, the same for every transfer. The data is
 * the same as mapped.
 */
TEST_F(xfer, staged_transfers_use_pool_chunks_or_the_staging_page)
{
	static const uint32_t lens[] = { 1, 100, 511, 512, 513, 2000, WINDOW };
	struct dmakit_xfer *x = &self->x;
	uint64_t page_dma = 0;

	for (size_t l = 0; l < sizeof(lens) / sizeof(*lens); l++) {
		for (size_t o = 0; o < sizeof(offsets) / sizeof(*offsets); o++) {
			uint64_t off = offsets[o], end;
			int dst = filled_buffer(DMAKIT_KIND_CONTIG, BUF_SIZE, 0);

			ASSERT_LE(0, dst);
			memset(x, 0, sizeof(*x));
			x->fd = self->src;
			x->offset = off;
			x->len = lens[l];
			x->dev_offset = lens[l] + 7 <= WINDOW ? 7 : 0;
			x->dir = DMAKIT_DIR_TO_DEVICE;
			x->flags = DMAKIT_XFER_STAGED;
			ASSERT_EQ(0, ioctl(self->dev, DMAKIT_IOC_XFER, x));
			EXPECT_EQ(0u, x->result.sg_entries);
			EXPECT_EQ(1u, x->result.segments);
			ASSERT_NE(0, x->result.stage_dma);
			EXPECT_EQ(0, x->result.stage_dma % DMAKIT_STAGE_ALIGN);
			end = x->result.stage_dma + DMAKIT_STAGE_MAX - 1;
			EXPECT_EQ(x->result.stage_dma / DMAKIT_STAGE_BOUNDARY,
				  end / DMAKIT_STAGE_BOUNDARY);
			if (lens[l] > DMAKIT_STAGE_MAX) {
				/* the staging page: one, page-aligned */
				EXPECT_EQ(0, x->result.stage_dma % PAGE);
				if (!page_dma)
					page_dma = x->result.stage_dma;
				EXPECT_EQ(page_dma, x->result.stage_dma);
			}

			x->fd = dst;
			x->offset = off + 3;
			x->dir = DMAKIT_DIR_FROM_DEVICE;
			x->result.stage_dma = 0;
			ASSERT_EQ(0, ioctl(self->dev, DMAKIT_IOC_XFER, x));
			EXPECT_EQ(0, x->result.stage_dma % DMAKIT_STAGE_ALIGN);
			EXPECT_EQ(0, check_dst("staged", self->src, off, dst,
					       off + 3, lens[l], BUF_SIZE)) {
				TH_LOG("len %u off %llu", lens[l],
				       (unsigned long long)off);
			}
			close(dst);
		}
	}
	/*
	 * Bus addresses only for CAP_SYS_ADMIN, decided by who asks, not by
	 * the engine's worker that fills the result: a child that gave up
	 * root (keeping the open node) sees 0.
	 */
	{
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(2);
			memset(x, 0, sizeof(*x));
			x->fd = self->src;
			x->len = 100;
			x->dir = DMAKIT_DIR_TO_DEVICE;
			x->flags = DMAKIT_XFER_STAGED;
			if (ioctl(self->dev, DMAKIT_IOC_XFER, x))
				_exit(3);
			_exit(x->result.stage_dma ? 1 : 0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			TH_LOG("unprivileged child: exit %d", WEXITSTATUS(status));
		}
	}
	/* TO/FROM transfers that fit the window only */
	memset(x, 0, sizeof(*x));
	x->fd = self->src;
	x->len = WINDOW + 1;
	x->dir = DMAKIT_DIR_TO_DEVICE;
	x->flags = DMAKIT_XFER_STAGED;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, DMAKIT_IOC_XFER, x));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, copy(self->dev, x, self->src, 0, self->dst, 0, 10,
			   DMAKIT_XFER_STAGED));
	EXPECT_EQ(EINVAL, errno);
}

/* MAP_ONLY: the mapping layer runs, the device does not */
TEST_F(xfer, map_only_maps_and_cuts_segments_without_the_device)
{
	long long req = stat_of(0, "requests"), segs = stat_of(0, "segments");
	struct dmakit_xfer *x = &self->x;

	ASSERT_EQ(0, copy(self->dev, x, self->src, 1, self->dst, 2, 10000,
			  DMAKIT_XFER_MAP_ONLY));
	EXPECT_EQ(0, x->result.status);
	EXPECT_LE(6u, x->result.segments);	/* 3 chunks, two sides */
	EXPECT_LE(2u, x->result.dma_segments);
	EXPECT_LT(0u, x->result.map_ns);
	EXPECT_EQ(req, stat_of(0, "requests"));
	EXPECT_EQ(segs, stat_of(0, "segments"));
	/* nothing moved */
	EXPECT_EQ(0, check_dst("map only", self->src, 0, self->dst, 0, 0,
			       BUF_SIZE));
	errno = 0;
	EXPECT_EQ(-1, copy(self->dev, x, self->src, 0, self->dst, 0, 10,
			   DMAKIT_XFER_MAP_ONLY | DMAKIT_XFER_ASYNC));
	EXPECT_EQ(EINVAL, errno);
	memset(x, 0, sizeof(*x));
	x->fd = self->src;
	x->len = 10;
	x->dir = DMAKIT_DIR_TO_DEVICE;
	x->flags = DMAKIT_XFER_MAP_ONLY | DMAKIT_XFER_STAGED;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, DMAKIT_IOC_XFER, x));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * Long ranges map however long they are: where swiotlb bounces (256 KiB per
 * mapping at most) they go in several DMA segments (MAP_ONLY: no device
 * time for 1 MiB).
 */
TEST_F(xfer, a_long_range_maps_within_the_max_mapping_size)
{
	static const uint32_t kinds[] = { DMAKIT_KIND_CONTIG, DMAKIT_KIND_PAGES,
					  DMAKIT_KIND_VMALLOC };
	size_t len = 1 << 20;

	for (int k = 0; k < 3; k++) {
		int src = buf_alloc(len + PAGE, kinds[k], 0, NULL);
		int dst = buf_alloc(len + PAGE, kinds[k], 0, NULL);
		struct dmakit_xfer x;

		ASSERT_LE(0, src);
		ASSERT_LE(0, dst);
		ASSERT_EQ(0, copy(self->dev, &x, src, 1, dst, 2, len,
				  DMAKIT_XFER_MAP_ONLY)) {
			TH_LOG("%s: %s", kind_name[kinds[k]], strerror(errno));
		}
		EXPECT_EQ(0, x.result.status);
		EXPECT_LE(2 * ((len + WINDOW - 1) / WINDOW), x.result.segments);
		if (env_long("DMAKIT_EXPECT_BOUNCE", 0)) {
			/* four pieces a side at least */
			EXPECT_LE(8u, x.result.dma_segments);
		}
		close(src);
		close(dst);
	}
}

/* statistics follow the transfers */
TEST_F(xfer, statistics_count_requests_bytes_and_segments)
{
	long long req = stat_of(0, "requests"), bytes = stat_of(0, "bytes");
	long long segs = stat_of(0, "segments");
	struct dmakit_xfer *x = &self->x;

	ASSERT_LE(0, req);
	ASSERT_EQ(0, copy(self->dev, x, self->src, 0, self->dst, 0, 10000, 0));
	EXPECT_EQ(req + 1, stat_of(0, "requests"));
	EXPECT_EQ(bytes + 10000, stat_of(0, "bytes"));
	EXPECT_EQ(segs + x->result.segments, stat_of(0, "segments"));
	/* 3 chunks, each at least one segment per side */
	EXPECT_LE(6u, x->result.segments);
	EXPECT_LT(0u, x->result.device_ns);
}

/* the IOMMU merges the scatterlist; without one, entries are segments */
TEST_F(xfer, scatterlist_counts_before_and_after_mapping)
{
	struct dmakit_xfer *x = &self->x;
	int src = filled_buffer(DMAKIT_KIND_PAGES, 16 * PAGE, 3);
	int dst = filled_buffer(DMAKIT_KIND_VMALLOC, 16 * PAGE, 0);

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_EQ(0, copy(self->dev, x, src, 0, dst, 0, 16 * PAGE, 0));
	TH_LOG("16 pages each side: %u sg entries, %u DMA segments, %u device segments",
	       x->result.sg_entries, x->result.dma_segments, x->result.segments);
	EXPECT_LE(2u, x->result.sg_entries);
	EXPECT_GE(32u, x->result.sg_entries);
	if (env_long("DMAKIT_EXPECT_IOMMU", 0)) {
		EXPECT_EQ(2u, x->result.dma_segments);	/* one IOVA range each */
	} else {
		EXPECT_EQ(x->result.sg_entries, x->result.dma_segments);
	}
	EXPECT_EQ(0, check_dst("sg", src, 0, dst, 0, 16 * PAGE, 16 * PAGE));
	close(src);
	close(dst);
}

/* bounce lane: pages above the 32-bit mask go through swiotlb, intact */
TEST_F(xfer, bounce_buffers_exactly_where_memory_is_out_of_reach)
{
	long long bounced = stat_of(0, "bounced");
	long bits = env_long("DMAKIT_DMA_BITS", 28);
	uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
	struct dmakit_xfer *x = &self->x;
	int high = 0;
	int src = filled_buffer(DMAKIT_KIND_PAGES, 64 * PAGE, 5);
	int dst = filled_buffer(DMAKIT_KIND_PAGES, 64 * PAGE, 0);
	struct dmakit_page_desc desc[64];
	struct dmakit_translate t = {
		.count = 64, .descs = (uintptr_t)desc,
	};

	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_EQ(0, ioctl(src, DMAKIT_IOC_TRANSLATE, &t));
	for (int i = 0; i < 64; i++)
		high += desc[i].phys > mask;
	ASSERT_EQ(0, copy(self->dev, x, src, 0, dst, 0, 64 * PAGE, 0));
	EXPECT_EQ(0, check_dst("bounce", src, 0, dst, 0, 64 * PAGE, 64 * PAGE));
	TH_LOG("%d of 64 source pages beyond the mask; %u of %u DMA segments bounced",
	       high, x->result.bounced, x->result.dma_segments);
	if (env_long("DMAKIT_EXPECT_BOUNCE", 0)) {
		ASSERT_LT(0, high) {
			TH_LOG("no page beyond the mask: nothing to show");
		}
		EXPECT_LT(0u, x->result.bounced);
	} else {
		/* beyond the mask only behind an IOMMU, which translates */
		if (!env_long("DMAKIT_EXPECT_IOMMU", 0)) {
			EXPECT_EQ(0, high);
		}
		EXPECT_EQ(0u, x->result.bounced);
	}
	EXPECT_EQ(bounced + x->result.bounced, stat_of(0, "bounced"));
	close(src);
	close(dst);
}

TEST_HARNESS_MAIN
