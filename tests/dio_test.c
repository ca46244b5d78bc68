// SPDX-License-Identifier: GPL-2.0
/*
 * Direct I/O on the edu node: read/write/readv/writev and libaio move data
 * between the caller's own memory and the device window (the file
 * position), and DMAKIT_IOC_XFER_USER does the same for any user memory
 * (iovec arrays, mapped files, hugetlb) and copies user memory to user
 * memory through the device. Pinned pages outlive munmap and SIGKILL, fork
 * does not steal the DMA's pages, read-only and device memory is EFAULT.
 * One fd's asynchronous transfers hold at most max_inflight_mb pinned.
 */
#include <linux/aio_abi.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define PAGE	4096u
#define WINDOW	DMAKIT_EDU_WINDOW_MAX

static int xfer_user(int dev, struct dmakit_xfer_user *x, uint32_t dir,
		     const struct iovec *iov, int iovcnt,
		     const struct iovec *dst, int dstcnt, uint32_t flags)
{
	memset(x, 0, sizeof(*x));
	x->iov = (uintptr_t)iov;
	x->iovcnt = iovcnt;
	x->dst_iov = (uintptr_t)dst;
	x->dst_iovcnt = dstcnt;
	x->dir = dir;
	x->flags = flags;
	return ioctl(dev, DMAKIT_IOC_XFER_USER, x);
}

/* one buffer to the window and back through XFER_USER */
static int round_trip(int dev, void *src, void *dst, size_t len,
		      uint32_t flags, uint32_t *result_flags)
{
	struct iovec a = { src, len }, b = { dst, len };
	struct dmakit_xfer_user x;

	if (xfer_user(dev, &x, DMAKIT_DIR_TO_DEVICE, &a, 1, NULL, 0, flags))
		return -1;
	*result_flags = x.result.flags;
	if (xfer_user(dev, &x, DMAKIT_DIR_FROM_DEVICE, &b, 1, NULL, 0, flags))
		return -1;
	*result_flags |= x.result.flags << 8;
	return 0;
}

FIXTURE(dio) {
	int dev;
	long copy_max, copy_max_bounce;
	long max_inflight;	/* to restore, or -1 */
	unsigned char *a, *b;
};

FIXTURE_SETUP(dio)
{
	self->max_inflight = -1;
	self->dev = edu_open(0, 0);
	ASSERT_LE(0, self->dev);
	self->copy_max = set_param("copy_max", 1024);
	ASSERT_LE(0, self->copy_max);
	/* the same threshold whether swiotlb bounces for edu or not */
	self->copy_max_bounce = set_param("copy_max_bounce", 1024);
	ASSERT_LE(0, self->copy_max_bounce);
	self->a = malloc(1 << 20);
	self->b = malloc(1 << 20);
	ASSERT_TRUE(self->a && self->b);
}

FIXTURE_TEARDOWN(dio)
{
	set_param("copy_max", self->copy_max);
	set_param("copy_max_bounce", self->copy_max_bounce);
	if (self->max_inflight >= 0)
		set_param("max_inflight_mb", self->max_inflight);
	free(self->a);
	free(self->b);
	close(self->dev);
}

/* write then read back, at offsets in the window, from unaligned memory */
TEST_F(dio, write_then_read_round_trips_through_the_window)
{
	static const struct { size_t pos, len; } cases[] = {
		{ 0, 1 }, { 0, 512 }, { 0, WINDOW }, { 100, 1000 },
		{ 3000, 1095 }, { 4094, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		unsigned char *src = self->a + 1 + i, *dst = self->b + 3;
		size_t pos = cases[i].pos, len = cases[i].len;

		fill_pattern(src, len, 100 + i);
		memset(dst, 0x5a, len + 1);
		ASSERT_EQ((ssize_t)len, pwrite(self->dev, src, len, pos)) {
			TH_LOG("pwrite %zu at %zu: %s", len, pos, strerror(errno));
		}
		ASSERT_EQ((ssize_t)len, pread(self->dev, dst, len, pos));
		EXPECT_EQ(-1, first_difference(src, dst, len)) {
			TH_LOG("len %zu at %zu", len, pos);
		}
		EXPECT_EQ(0x5a, dst[len]);
	}
}

/* the node is a file of window bytes: EOF, ENOSPC, short transfers, seek */
TEST_F(dio, the_node_behaves_like_a_file_of_window_bytes)
{
	EXPECT_EQ(0, pread(self->dev, self->b, 10, WINDOW));
	EXPECT_EQ(0, pread(self->dev, self->b, 10, 1 << 20));
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->dev, self->a, 10, WINDOW));
	EXPECT_EQ(ENOSPC, errno);
	fill_pattern(self->a, 200, 5);
	EXPECT_EQ(95, pwrite(self->dev, self->a, 200, 4000));
	EXPECT_EQ(95, pread(self->dev, self->b, 200, 4000));
	EXPECT_EQ(-1, first_difference(self->a, self->b, 95));
	EXPECT_EQ(WINDOW, lseek(self->dev, 0, SEEK_END));
	EXPECT_EQ(0, pread(self->dev, self->b, 0, 0));
	errno = 0;
	EXPECT_EQ(-1, pread(self->dev, self->b, 10, -1));
	EXPECT_EQ(EINVAL, errno);
	/* read() and write() move the file position */
	ASSERT_EQ(10, lseek(self->dev, 10, SEEK_SET));
	ASSERT_EQ(100, write(self->dev, self->a, 100));
	EXPECT_EQ(110, lseek(self->dev, 0, SEEK_CUR));
}

/* both paths, chosen by size (copy_max) or forced, move the same bytes */
TEST_F(dio, copy_and_zero_copy_paths_give_the_same_bytes)
{
	static const size_t lens[] = { 1, 512, 1024, 1025, WINDOW };
	static const uint32_t forced[] = { 0, DMAKIT_XFER_STAGED,
					   DMAKIT_XFER_ZEROCOPY };

	for (size_t l = 0; l < sizeof(lens) / sizeof(*lens); l++) {
		for (size_t f = 0; f < 3; f++) {
			uint32_t rf = ~0u, copied;

			fill_pattern(self->a + 7, lens[l], l * 3 + f);
			memset(self->b, 0, lens[l]);
			ASSERT_EQ(0, round_trip(self->dev, self->a + 7, self->b,
						lens[l], forced[f], &rf));
			EXPECT_EQ(-1, first_difference(self->a + 7, self->b,
						       lens[l]));
			copied = forced[f] == DMAKIT_XFER_STAGED ||
				 (!forced[f] && lens[l] <= 1024);
			EXPECT_EQ(copied ? 0x101u : 0u, rf) {
				TH_LOG("len %zu flags %#x", lens[l], forced[f]);
			}
		}
	}
	/* read/write with the copy path off, then always on */
	for (long cm = 0; cm <= WINDOW; cm += WINDOW) {
		set_param("copy_max", cm);
		set_param("copy_max_bounce", cm);
		fill_pattern(self->a, 3000, cm + 1);
		ASSERT_EQ(3000, pwrite(self->dev, self->a, 3000, 50));
		ASSERT_EQ(3000, pread(self->dev, self->b, 3000, 50));
		EXPECT_EQ(-1, first_difference(self->a, self->b, 3000));
	}
}

/* O_DIRECT opens, and readv/writev scatter across iovecs (empty ones too) */
TEST_F(dio, o_direct_and_vectored_io)
{
	int fd = edu_open(0, O_DIRECT);
	struct iovec w[4], r[4];

	ASSERT_LE(0, fd) TH_LOG("open O_DIRECT: %s", strerror(errno));
	fill_pattern(self->a, 3000, 9);
	w[0] = (struct iovec){ self->a, 1000 };
	w[1] = (struct iovec){ self->a + 1000, 0 };
	w[2] = (struct iovec){ self->a + 1000, 1500 };
	w[3] = (struct iovec){ self->a + 2500, 500 };
	ASSERT_EQ(3000, pwritev(fd, w, 4, 17));
	r[0] = (struct iovec){ self->b + 5000, 1 };
	r[1] = (struct iovec){ self->b + 100, 2499 };
	r[2] = (struct iovec){ self->b + 9000, 0 };
	r[3] = (struct iovec){ self->b + 20000, 500 };
	ASSERT_EQ(3000, preadv(fd, r, 4, 17));
	EXPECT_EQ(self->a[0], self->b[5000]);
	EXPECT_EQ(-1, first_difference(self->a + 1, self->b + 100, 2499));
	EXPECT_EQ(-1, first_difference(self->a + 2500, self->b + 20000, 500));
	close(fd);
}

/* COPY from malloc'd memory into a mapped file, through the device */
TEST_F(dio, copy_user_memory_into_a_mapped_file)
{
	size_t len = 64 * 1024 + 5;
	int mfd = memfd_create("dio", 0);
	struct dmakit_xfer_user x;
	unsigned char *map;
	struct iovec s[2], d;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 2 * len));
	map = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill_pattern(self->a, len, 77);
	s[0] = (struct iovec){ self->a + 3, 10000 };
	s[1] = (struct iovec){ self->a + 3 + 10000, len - 10000 };
	d = (struct iovec){ map + 1, len };
	ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, s, 2, &d, 1, 0));
	EXPECT_EQ(len, x.len);
	EXPECT_EQ(0, x.result.status);
	EXPECT_LE(2 * 17u, x.result.segments);
	EXPECT_EQ(-1, first_difference(self->a + 3, map + 1, len));
	EXPECT_EQ(0, map[0]);
	EXPECT_EQ(0, map[len + 1]);
	/* the file, not only the mapping, has it */
	ASSERT_EQ((ssize_t)len, pread(mfd, self->b, len, 1));
	EXPECT_EQ(-1, first_difference(self->a + 3, self->b, len));
	munmap(map, 2 * len);
	close(mfd);
}

/*
 * COPY both ways: through kernel pages (a copy_max that takes the whole
 * length: STAGED is TO/FROM only), or pinned; MAP_ONLY moves nothing
 */
TEST_F(dio, copy_path_and_zero_copy_for_long_copies)
{
	static const uint32_t how[] = { 0, DMAKIT_XFER_ZEROCOPY };
	size_t len = 3 * PAGE + 100;
	struct dmakit_xfer_user x;
	struct iovec s, d;

	ASSERT_LE(0, set_param("copy_max", len));
	ASSERT_LE(0, set_param("copy_max_bounce", len));
	for (int h = 0; h < 2; h++) {
		fill_pattern(self->a + 5, len, 70 + h);
		memset(self->b, 0x5a, len + 20);
		s = (struct iovec){ self->a + 5, len };
		d = (struct iovec){ self->b + 10, len };
		ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &s, 1,
				       &d, 1, how[h]));
		EXPECT_EQ(h ? 0u : DMAKIT_RESULT_COPIED, x.result.flags);
		EXPECT_EQ(-1, first_difference(self->a + 5, self->b + 10, len));
		EXPECT_EQ(0x5a, self->b[9]);
		EXPECT_EQ(0x5a, self->b[10 + len]);
		/* the mapping layer alone: nothing arrives */
		memset(self->b, 0x5a, len + 20);
		ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &s, 1,
				       &d, 1, how[h] | DMAKIT_XFER_MAP_ONLY));
		EXPECT_LT(0u, x.result.map_ns);
		EXPECT_LE(8u, x.result.segments);
		/* nothing DMAed; the copy path hands back zeroes, never stale
		 * kernel memory
		 */
		for (size_t i = 10; i < 10 + len; i++) {
			ASSERT_EQ(h ? 0x5a : 0, self->b[i]) TH_LOG("byte %zu", i);
		}
	}
}

/* write @text to @dir/@file; 0 or -1 with errno */
static int cg_write(const char *dir, const char *file, const char *text)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* a number from @dir/@file, or from its line that starts with @key */
static long cg_read(const char *dir, const char *file, const char *key)
{
	char path[256], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			v = strtol(line, NULL, 10);
			break;
		}
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ' ') {
			v = strtol(line + strlen(key) + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* a new memory cgroup (cgroup v2) in @dir, or why there can be none */
static const char *memcg_create(char *dir, size_t len)
{
	const char *root = "/sys/fs/cgroup";
	char ctl[256];

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    mount("none", root, "cgroup2", 0, NULL))
		return "no cgroup v2 in this kernel (CONFIG_CGROUPS)";
	snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", root);
	if (!strstr(read_line(ctl, ctl, sizeof(ctl)), "memory"))
		return "no memory controller in this kernel (CONFIG_MEMCG)";
	if (cg_write(root, "cgroup.subtree_control", "+memory"))
		return "the memory controller cannot be enabled";
	snprintf(dir, len, "%s/dmakit-dio-%d", root, getpid());
	if (mkdir(dir, 0755) && errno != EEXIST)
		return "no new cgroup";
	return NULL;
}

/*
 * In a child that joins @cg: a COPY of @len bytes through the copy path
 * (MAP_ONLY: the kernel pages of both sides, no DMA). The memory is
 * touched before the fork and @dst shared, so that the child faults in
 * nothing of its own. Returns 0, the errno of the call, or -1 (killed).
 */
static int copy_in_cgroup(int dev, const char *cg, unsigned char *src,
			  unsigned char *dst, size_t len)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct iovec s = { src, len }, d = { dst, len };
		struct dmakit_xfer_user x;

		if (cg_write(cg, "cgroup.procs", "0"))
			_exit(100);
		if (xfer_user(dev, &x, DMAKIT_DIR_COPY, &s, 1, &d, 1,
			      DMAKIT_XFER_MAP_ONLY))
			_exit(errno);
		_exit(x.result.flags & DMAKIT_RESULT_COPIED ? 0 : 101);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * The copy path's kernel pages are the caller's: its memory cgroup is
 * charged for them, and a charge past memory.max is ENOMEM for the call,
 * not an OOM kill (a caller with a small limit could otherwise hold up to
 * max_buffer_mb a side where no limit sees it)
 */
TEST_F(dio, copy_path_pages_are_charged_to_the_callers_memory_cgroup)
{
	size_t len = 1 << 20;
	unsigned char *dst;
	const char *why;
	char cg[128];
	long peak;

	why = memcg_create(cg, sizeof(cg));
	if (why)
		SKIP(return, "%s", why);
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_LE(0, set_param("copy_max", len));
	ASSERT_LE(0, set_param("copy_max_bounce", len));
	fill_pattern(self->a, len, 91);
	memset(dst, 0x5a, len);

	/* no limit: it works, and both sides' pages were charged at once */
	ASSERT_EQ(0, copy_in_cgroup(self->dev, cg, self->a, dst, len));
	peak = cg_read(cg, "memory.peak", NULL);
	EXPECT_LE((long)(2 * len), peak) {
		TH_LOG("memory.peak %ld for a %zu-byte copy", peak, len);
	}
	/* MAP_ONLY: the device never ran, the target gets zeroes */
	for (size_t i = 0; i < len; i++) {
		ASSERT_EQ(0, dst[i]) TH_LOG("byte %zu", i);
	}

	/* a limit below the two sides: ENOMEM, the child lives, no byte moves */
	memset(dst, 0x5a, len);
	ASSERT_EQ(0, cg_write(cg, "memory.max", "1048576"));
	EXPECT_EQ(ENOMEM, copy_in_cgroup(self->dev, cg, self->a, dst, len));
	EXPECT_EQ(0, cg_read(cg, "memory.events", "oom_kill"));
	EXPECT_LT(0, cg_read(cg, "memory.events", "max"));
	for (size_t i = 0; i < len; i++) {
		ASSERT_EQ(0x5a, dst[i]) TH_LOG("byte %zu", i);
	}

	EXPECT_EQ(0, rmdir(cg));
	munmap(dst, len);
}

TEST_F(dio, hugetlb_memory_as_source)
{
	size_t len = 2 << 20;
	struct dmakit_xfer_user x;
	unsigned char *huge;
	struct iovec s, d;

	huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED) {
		FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");

		if (f) {
			fputs("2\n", f);
			fclose(f);
		}
		huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	}
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB huge page in this kernel: %s", strerror(errno));
	fill_pattern(huge + len - 9000, 9000, 31);
	s = (struct iovec){ huge + len - 9000, 9000 };
	d = (struct iovec){ self->b, 9000 };
	ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &s, 1, &d, 1, 0));
	EXPECT_EQ(-1, first_difference(huge + len - 9000, self->b, 9000));
	munmap(huge, len);
}

/* what may not be DMA memory: read-only pages, device memory, bad pointers */
TEST_F(dio, read_only_and_device_memory_are_efault)
{
	int mfd = memfd_create("ro", 0), buf;
	struct dmakit_xfer_user x;
	unsigned char *ro, *pfn, *bar;
	struct iovec v;

	ASSERT_LE(0, mfd);
	memset(self->a, 0x11, PAGE);
	ASSERT_EQ(PAGE, pwrite(mfd, self->a, PAGE, 0));
	ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	/* the device must not write the page cache through a read-only map */
	fill_pattern(self->a, 1000, 3);
	ASSERT_EQ(1000, pwrite(self->dev, self->a, 1000, 0));
	errno = 0;
	EXPECT_EQ(-1, pread(self->dev, ro, 1000, 0));
	EXPECT_EQ(EFAULT, errno);
	v = (struct iovec){ ro, 1000 };
	errno = 0;
	EXPECT_EQ(-1, xfer_user(self->dev, &x, DMAKIT_DIR_FROM_DEVICE, &v, 1,
				NULL, 0, DMAKIT_XFER_ZEROCOPY));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(PAGE, pread(mfd, self->b, PAGE, 0));
	for (unsigned int i = 0; i < PAGE; i++) {
		ASSERT_EQ(0x11, self->b[i]) {
			TH_LOG("page cache byte %u changed", i);
		}
	}
	/* reading from it is fine */
	EXPECT_EQ(1000, pwrite(self->dev, ro, 1000, 0));
	munmap(ro, PAGE);
	close(mfd);

	/* a contig buffer mapped as PFNs (VM_PFNMAP): no struct page to pin */
	buf = buf_alloc(PAGE, DMAKIT_KIND_CONTIG, DMAKIT_ALLOC_PFNMAP, NULL);
	ASSERT_LE(0, buf);
	pfn = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, pfn);
	v = (struct iovec){ pfn, 100 };
	errno = 0;
	EXPECT_EQ(-1, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1,
				NULL, 0, DMAKIT_XFER_ZEROCOPY));
	EXPECT_EQ(EFAULT, errno);
	munmap(pfn, PAGE);
	close(buf);

	/* the device's own registers (BAR0, VM_IO) */
	bar = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->dev, 0);
	ASSERT_NE(MAP_FAILED, bar);
	v = (struct iovec){ bar, 64 };
	errno = 0;
	EXPECT_EQ(-1, xfer_user(self->dev, &x, DMAKIT_DIR_FROM_DEVICE, &v, 1,
				NULL, 0, DMAKIT_XFER_ZEROCOPY));
	EXPECT_EQ(EFAULT, errno);
	munmap(bar, PAGE);

	/* unmapped and kernel addresses */
	v = (struct iovec){ (void *)8, 100 };
	errno = 0;
	EXPECT_EQ(-1, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1,
				NULL, 0, DMAKIT_XFER_ZEROCOPY));
	EXPECT_EQ(EFAULT, errno);
	v = (struct iovec){ (void *)0xffff888000000000ull, 100 };
	errno = 0;
	EXPECT_EQ(-1, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1,
				NULL, 0, 0));
	EXPECT_EQ(EFAULT, errno);
	/* the device still works */
	fill_pattern(self->a, 500, 8);
	ASSERT_EQ(500, pwrite(self->dev, self->a, 500, 0));
	ASSERT_EQ(500, pread(self->dev, self->b, 500, 0));
	EXPECT_EQ(-1, first_difference(self->a, self->b, 500));
}

static void check_bad(struct __test_metadata *_metadata, int err, int ret,
		      const char *what)
{
	int e = errno;

	EXPECT_EQ(-1, ret) {
		TH_LOG("%s: accepted", what);
	}
	EXPECT_EQ(err, e) {
		TH_LOG("%s: %s", what, strerror(e));
	}
}

/*
 * A DMAKIT_ALLOC_PREMAP mapping holds PFN mappings: XFER_USER copies from
 * and into it (up to copy_max), byte for byte, but cannot pin it: EFAULT,
 * and O_DIRECT read()/write() on the node fail the same way, leaving it
 * untouched. (The kernel's own O_DIRECT on a block device answers EEXIST:
 * buffer_test's rules.o_direct_on_a_block_device_...)
 */
TEST_F(dio, premapped_buffers_are_copied_never_pinned)
{
	struct dmakit_xfer_user x;
	unsigned char *map;
	struct iovec v;
	uint32_t rf;
	int buf, direct;

	buf = buf_alloc(4 * PAGE, DMAKIT_KIND_PAGES, DMAKIT_ALLOC_PREMAP, NULL);
	ASSERT_LE(0, buf);
	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill_pattern(map, 1000, 41);
	memset(self->b, 0, 1000);
	/* copy_max is 1024 here: both directions through a kernel copy */
	ASSERT_EQ(0, round_trip(self->dev, map, self->b, 1000, 0, &rf));
	EXPECT_EQ(DMAKIT_RESULT_COPIED | DMAKIT_RESULT_COPIED << 8, rf);
	EXPECT_EQ(0, memcmp(map, self->b, 1000));
	fill_pattern(self->a, 1000, 42);
	ASSERT_EQ(1000, pwrite(self->dev, self->a, 1000, 0));
	v = (struct iovec){ map + PAGE, 1000 };
	ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_FROM_DEVICE, &v, 1,
			       NULL, 0, 0));
	EXPECT_EQ(0, memcmp(self->a, map + PAGE, 1000));

	/* pinning it: EFAULT both ways, and not a byte written */
	memset(map + 2 * PAGE, 0x5a, PAGE);
	v = (struct iovec){ map + 2 * PAGE, 1000 };
	errno = 0;
	EXPECT_EQ(-1, xfer_user(self->dev, &x, DMAKIT_DIR_FROM_DEVICE, &v, 1,
				NULL, 0, DMAKIT_XFER_ZEROCOPY));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1,
				NULL, 0, DMAKIT_XFER_ZEROCOPY));
	EXPECT_EQ(EFAULT, errno);
	for (unsigned int i = 0; i < PAGE; i++) {
		ASSERT_EQ(0x5a, map[2 * PAGE + i]) TH_LOG("byte %u", i);
	}

	/*
	 * O_DIRECT read()/write() on the node pin too: EFAULT both ways (the
	 * kernel's -EEXIST for a PFN entry in a VM_MIXEDMAP VMA, which the
	 * kernel's own O_DIRECT passes on, is dmakit's EFAULT), not a byte moved
	 */
	direct = edu_open(0, O_DIRECT);
	ASSERT_LE(0, direct);
	errno = 0;
	EXPECT_EQ(-1, pread(direct, map + 2 * PAGE, 1000, 0));
	EXPECT_EQ(EFAULT, errno) TH_LOG("O_DIRECT read: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, pwrite(direct, map + 2 * PAGE, 1000, 0));
	EXPECT_EQ(EFAULT, errno) TH_LOG("O_DIRECT write: %s", strerror(errno));
	for (unsigned int i = 0; i < PAGE; i++) {
		ASSERT_EQ(0x5a, map[2 * PAGE + i]) TH_LOG("byte %u", i);
	}
	close(direct);
	munmap(map, 4 * PAGE);
	close(buf);
}

TEST_F(dio, bad_arguments_get_clear_errno)
{
	struct iovec v = { self->a, 100 }, w = { self->b, 99 };
	struct iovec many[1025];
	struct dmakit_xfer_user x;

	for (int i = 0; i < 1025; i++)
		many[i] = (struct iovec){ self->a, 1 };
#define BAD(e, call) do { errno = 0; int r_ = (call); \
	check_bad(_metadata, e, r_, #call); } while (0)
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 0, NULL, 0, 0));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, many, 1025, NULL, 0, 0));
	BAD(EFAULT, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, (void *)8, 1, NULL, 0, 0));
	BAD(EINVAL, xfer_user(self->dev, &x, 0, &v, 1, NULL, 0, 0));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1, &w, 1, 0));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &v, 1, &w, 1, 0));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &v, 1, &v, 1,
			      DMAKIT_XFER_MAP_ONLY | DMAKIT_XFER_ASYNC));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1, NULL, 0,
			      DMAKIT_XFER_STAGED | DMAKIT_XFER_ZEROCOPY));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1, NULL, 0,
			      DMAKIT_XFER_STAGED | DMAKIT_XFER_ASYNC));
	/* STAGED is TO/FROM only (a COPY would hold both sides in the kernel) */
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &v, 1, &v, 1,
			      DMAKIT_XFER_STAGED));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &v, 1, &v, 1,
			      DMAKIT_XFER_STAGED | DMAKIT_XFER_MAP_ONLY));
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1, NULL, 0, 0x100));
	v.iov_len = WINDOW + 1;
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1, NULL, 0, 0));
	v.iov_len = 0;
	BAD(EINVAL, xfer_user(self->dev, &x, DMAKIT_DIR_TO_DEVICE, &v, 1, NULL, 0, 0));
	v.iov_len = 100;
	memset(&x, 0, sizeof(x));
	x.iov = (uintptr_t)&v;
	x.iovcnt = 1;
	x.dir = DMAKIT_DIR_TO_DEVICE;
	x.dev_offset = WINDOW - 99;
	BAD(EINVAL, ioctl(self->dev, DMAKIT_IOC_XFER_USER, &x));
	x.dev_offset = 0;
	x.reserved[0] = 1;
	BAD(EINVAL, ioctl(self->dev, DMAKIT_IOC_XFER_USER, &x));
	/* no more pinned at once than a buffer may hold (max_buffer_mb) */
	{
		long was = set_param("max_buffer_mb", 1);
		struct iovec big = { self->a, (1 << 20) + 1 };

		BAD(E2BIG, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &big, 1,
				     &big, 1, 0));
		set_param("max_buffer_mb", was);
	}
#undef BAD
}

static int reap_wait(int dev, struct dmakit_xfer_reap *r)
{
	memset(r, 0, sizeof(*r));
	r->flags = DMAKIT_REAP_WAIT;
	return ioctl(dev, DMAKIT_IOC_XFER_REAP, r);
}

/* munmap of the target during the DMA: the data lands in the pinned pages */
TEST_F(dio, munmap_during_the_dma_keeps_the_pinned_pages)
{
	int mfd = memfd_create("pinned", 0);
	struct dmakit_xfer_user x;
	struct dmakit_xfer_reap r;
	unsigned char *map;
	struct iovec v;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 2 * PAGE));
	map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill_pattern(self->a, 3000, 44);
	ASSERT_EQ(3000, pwrite(self->dev, self->a, 3000, 0));
	v = (struct iovec){ map + PAGE - 1000, 3000 };
	ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_FROM_DEVICE, &v, 1,
			       NULL, 0, DMAKIT_XFER_ASYNC));
	ASSERT_EQ(0, munmap(map, 2 * PAGE));
	ASSERT_EQ(0, reap_wait(self->dev, &r));
	EXPECT_EQ(0, r.result.status);
	ASSERT_EQ(3000, pread(mfd, self->b, 3000, PAGE - 1000));
	EXPECT_EQ(-1, first_difference(self->a, self->b, 3000));
	close(mfd);

	/* anonymous memory: unmapped and gone for the process; no harm */
	map = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	memset(map, 1, 16 * PAGE);
	v = (struct iovec){ map, 16 * PAGE };
	ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_COPY, &v, 1, &v, 1,
			       DMAKIT_XFER_ASYNC) ? errno : 0);
	ASSERT_EQ(0, munmap(map, 16 * PAGE));
	ASSERT_EQ(0, reap_wait(self->dev, &r));
	EXPECT_EQ(0, r.result.status);
}

/* SIGKILL with zero-copy transfers queued and in flight */
TEST_F(dio, killed_mid_transfer_leaves_the_device_working)
{
	int ready[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	if (pid == 0) {
		int dev = edu_open(0, 0);
		struct dmakit_xfer_user x;
		unsigned char *m = malloc(64 * 1024);
		struct iovec v = { m, 64 * 1024 };

		memset(m, 3, 64 * 1024);
		for (int i = 0; i < 4; i++)
			if (xfer_user(dev, &x, DMAKIT_DIR_COPY, &v, 1, &v, 1,
				      DMAKIT_XFER_ASYNC))
				_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(2);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	usleep(250000);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	fill_pattern(self->a, 2000, 12);
	ASSERT_EQ(2000, pwrite(self->dev, self->a, 2000, 0));
	ASSERT_EQ(2000, pread(self->dev, self->b, 2000, 0));
	EXPECT_EQ(-1, first_difference(self->a, self->b, 2000));
	close(ready[0]);
	close(ready[1]);
}

/*
 * fork while the device writes the parent's private memory: the data lands
 * in the parent's pages (the pinned ones) and the child keeps its copy.
 */
TEST_F(dio, fork_during_dma_into_private_memory)
{
	unsigned char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct dmakit_xfer_user x;
	struct dmakit_xfer_reap r;
	int done[2], status;
	struct iovec v;
	pid_t pid;
	char c;

	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0x77, PAGE);
	fill_pattern(self->a, 3000, 55);
	ASSERT_EQ(3000, pwrite(self->dev, self->a, 3000, 0));
	ASSERT_EQ(0, pipe(done));
	v = (struct iovec){ m + 10, 3000 };
	ASSERT_EQ(0, xfer_user(self->dev, &x, DMAKIT_DIR_FROM_DEVICE, &v, 1,
			       NULL, 0, DMAKIT_XFER_ASYNC));
	pid = fork();	/* the device writes ~100 ms later */
	if (pid == 0) {
		if (read(done[0], &c, 1) != 1)
			_exit(3);
		for (int i = 0; i < PAGE; i++)
			if (m[i] != 0x77)
				_exit(1);	/* the DMA reached the child */
		_exit(0);
	}
	ASSERT_EQ(0, reap_wait(self->dev, &r));
	EXPECT_EQ(0, r.result.status);
	EXPECT_EQ(-1, first_difference(self->a, m + 10, 3000)) {
		TH_LOG("the device's data did not land in the parent");
	}
	EXPECT_EQ(0x77, m[9]);
	ASSERT_EQ(1, write(done[1], "d", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("child: exit %d", WEXITSTATUS(status));
	}
	munmap(m, PAGE);
	close(done[0]);
	close(done[1]);
}

/* Linux AIO (what libaio wraps): several reads and writes in flight */
TEST_F(dio, linux_aio_reads_and_writes_complete_asynchronously)
{
	aio_context_t ctx = 0;
	struct iocb cbs[4], *list[4];
	struct io_event ev[4];
	int n = 0;

	ASSERT_EQ(0, syscall(SYS_io_setup, 8, &ctx));
	fill_pattern(self->a, 4000, 66);
	memset(self->b, 0, 4000);
	/* two writes, then two reads of what they wrote */
	for (int i = 0; i < 4; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_fildes = self->dev;
		cbs[i].aio_lio_opcode = i < 2 ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uintptr_t)(i < 2 ? self->a : self->b) +
				 (i % 2) * 2000;
		cbs[i].aio_nbytes = 2000;
		cbs[i].aio_offset = (i % 2) * 2000;
		cbs[i].aio_data = i + 1;
		list[i] = &cbs[i];
	}
	ASSERT_EQ(2, syscall(SYS_io_submit, ctx, 2, list));
	while (n < 2) {
		int got = syscall(SYS_io_getevents, ctx, 1, 2 - n, ev, NULL);

		ASSERT_LT(0, got);
		for (int i = 0; i < got; i++)
			EXPECT_EQ(2000, ev[i].res);
		n += got;
	}
	ASSERT_EQ(2, syscall(SYS_io_submit, ctx, 2, list + 2));
	for (n = 0; n < 2;) {
		int got = syscall(SYS_io_getevents, ctx, 1, 2 - n, ev, NULL);

		ASSERT_LT(0, got);
		for (int i = 0; i < got; i++) {
			EXPECT_EQ(2000, ev[i].res);
			EXPECT_LE(3, ev[i].data);
		}
		n += got;
	}
	EXPECT_EQ(-1, first_difference(self->a, self->b, 4000));
	syscall(SYS_io_destroy, ctx);
}

/* a process exits with Linux AIO reads and writes in flight */
TEST_F(dio, exit_with_aio_in_flight)
{
	int ready[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	if (pid == 0) {
		aio_context_t ctx = 0;
		struct iocb cbs[6], *list[6];
		unsigned char *m = malloc(6 * 4096);

		if (!m || syscall(SYS_io_setup, 8, &ctx))
			_exit(1);
		for (int i = 0; i < 6; i++) {
			memset(&cbs[i], 0, sizeof(cbs[i]));
			cbs[i].aio_fildes = self->dev;
			cbs[i].aio_lio_opcode = i % 2 ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE;
			cbs[i].aio_buf = (uintptr_t)(m + i * 4096);
			cbs[i].aio_nbytes = 3000;
			list[i] = &cbs[i];
		}
		if (syscall(SYS_io_submit, ctx, 6, list) != 6)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if (getppid() > 0)	/* exit at once, or be killed */
			_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the device finishes the orphaned requests and serves us */
	fill_pattern(self->a, 1500, 21);
	ASSERT_EQ(1500, pwrite(self->dev, self->a, 1500, 2000));
	ASSERT_EQ(1500, pread(self->dev, self->b, 1500, 2000));
	EXPECT_EQ(-1, first_difference(self->a, self->b, 1500));
	close(ready[0]);
	close(ready[1]);
}

/* io_uring reads and writes complete through the kiocb, several in flight */
TEST_F_TIMEOUT(dio, io_uring_reads_and_writes_complete, 30)
{
	struct io_uring_cqe cqe;
	struct ring r;
	int seen = 0;

	if (ring_init(&r, 8))
		SKIP(return, "no io_uring: %s", strerror(errno));
	fill_pattern(self->a, 4000, 88);
	memset(self->b, 0, 4000);
	ASSERT_EQ(1, ring_rw(&r, IORING_OP_WRITE, self->dev, self->a, 2000, 0, 1));
	ASSERT_EQ(1, ring_rw(&r, IORING_OP_WRITE, self->dev, self->a + 2000,
			     2000, 2000, 2));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, ring_wait(&r, &cqe));
		EXPECT_EQ(2000, cqe.res) TH_LOG("write %llu: %d", cqe.user_data, cqe.res);
		seen |= 1 << cqe.user_data;
	}
	ASSERT_EQ(1, ring_rw(&r, IORING_OP_READ, self->dev, self->b, 2000, 0, 3));
	ASSERT_EQ(1, ring_rw(&r, IORING_OP_READ, self->dev, self->b + 2000,
			     2000, 2000, 4));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, ring_wait(&r, &cqe));
		EXPECT_EQ(2000, cqe.res) TH_LOG("read %llu: %d", cqe.user_data, cqe.res);
		seen |= 1 << cqe.user_data;
	}
	EXPECT_EQ(0x1e, seen);
	EXPECT_EQ(-1, first_difference(self->a, self->b, 4000));
	close(r.fd);
}

/* io_uring's fixed buffers (bvec iterators) move the bytes both ways */
TEST_F_TIMEOUT(dio, io_uring_fixed_buffers_round_trip, 30)
{
	struct iovec iov[2] = { { self->a, 2 * PAGE }, { self->b, 2 * PAGE } };
	unsigned char *src = self->a + PAGE - 1000, *dst = self->b + 3;
	struct io_uring_cqe cqe;
	struct ring r;

	if (ring_init(&r, 8))
		SKIP(return, "no io_uring: %s", strerror(errno));
	ASSERT_EQ(0, ring_register_buffers(&r, iov, 2)) {
		TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));
	}
	/* 4000 bytes across a page boundary, to and from unaligned memory */
	fill_pattern(src, 4000, 91);
	memset(dst, 0x5a, 4001);
	ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_WRITE_FIXED, self->dev, src,
				   4000, 50, 1, 0));
	ASSERT_EQ(0, ring_wait(&r, &cqe));
	ASSERT_EQ(4000, cqe.res) TH_LOG("WRITE_FIXED: %d", cqe.res);
	ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_READ_FIXED, self->dev, dst,
				   4000, 50, 2, 1));
	ASSERT_EQ(0, ring_wait(&r, &cqe));
	ASSERT_EQ(4000, cqe.res) TH_LOG("READ_FIXED: %d", cqe.res);
	EXPECT_EQ(-1, first_difference(src, dst, 4000));
	EXPECT_EQ(0x5a, dst[4000]);
	/* and what the window holds, through a plain pread */
	memset(dst, 0, 4000);
	ASSERT_EQ(4000, pread(self->dev, dst, 4000, 50));
	EXPECT_EQ(-1, first_difference(src, dst, 4000));
	close(r.fd);
}

/*
 * The timeout hook, in this file only here: the next DMA segment (of any
 * edu) runs without its completion interrupt, so its request ends by the
 * watchdog after @timeout_ms with ETIMEDOUT, the device idle by then.
 * Returns the old timeout_ms for drop_irq_restore(), or -1.
 */
static long drop_next_dma_irq(long timeout_ms)
{
	long old = set_param("timeout_ms", timeout_ms);

	if (old < 0 || fault_arm("drop_irq", 1, 1) < 0)
		return -1;
	return old;
}

/* undo drop_next_dma_irq(); returns the drops not consumed (0 expected) */
static long drop_irq_restore(long old_timeout_ms)
{
	set_param("timeout_ms", old_timeout_ms);
	return fault_disarm("drop_irq");
}

/* page_count() of pages 0..@n-1 of buffer @fd, as DMAKIT_IOC_TRANSLATE says */
static int buffer_refcounts(int fd, uint32_t *ref, unsigned int n)
{
	struct dmakit_page_desc d[4];
	struct dmakit_translate t = { .count = n, .descs = (uintptr_t)d };

	if (n > 4 || ioctl(fd, DMAKIT_IOC_TRANSLATE, &t) || t.count != n)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		ref[i] = d[i].refcount;
	return 0;
}

/*
 * A fixed buffer's pages hold a reference of the request's own while the
 * device may write them: were the request to end while the device still
 * runs (a wedged device), io_uring could unregister the buffer and the
 * pages be freed under the DMA. Watched through the refcount of a dmakit
 * buffer's pages, registered as the fixed buffer; the request ends by a
 * timeout (the device idle), after which the references are gone.
 */
TEST_F_TIMEOUT(dio, io_uring_fixed_buffer_pages_are_held_during_the_dma, 30)
{
	uint32_t before[2], during[2], seen[2] = { 0, 0 }, after[2];
	struct io_uring_cqe cqe;
	unsigned char *mem;
	struct iovec iov;
	struct ring r;
	long old_timeout;
	int buf;

	buf = buf_alloc(2 * PAGE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, buf);
	mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0x11, 2 * PAGE);
	if (ring_init(&r, 8))
		SKIP(return, "no io_uring: %s", strerror(errno));
	iov = (struct iovec){ mem, 2 * PAGE };
	if (ring_register_buffers(&r, &iov, 1) && errno == EOPNOTSUPP)
		SKIP(return, "this kernel's io_uring registers no memory of a driver's file (6.1: anonymous, shmem and hugetlb only), so no page of a dmakit buffer, whose refcount is the one this test can watch");
	ASSERT_EQ(0, buffer_refcounts(buf, before, 2));

	/* 3000 bytes across the pages' boundary: one run in each page */
	old_timeout = drop_next_dma_irq(300);
	ASSERT_LE(0, old_timeout);
	ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_READ_FIXED, self->dev,
				   mem + PAGE - 1000, 3000, 0, 1, 0));
	while (!ring_has_completion(&r)) {
		ASSERT_EQ(0, buffer_refcounts(buf, during, 2));
		for (int i = 0; i < 2; i++)
			seen[i] = during[i] > seen[i] ? during[i] : seen[i];
		usleep(1000);
	}
	ASSERT_EQ(0, ring_wait(&r, &cqe));
	EXPECT_EQ(0, drop_irq_restore(old_timeout));
	EXPECT_EQ(-ETIMEDOUT, cqe.res);
	ASSERT_EQ(0, buffer_refcounts(buf, after, 2));
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(before[i] + 1, seen[i]) {
			TH_LOG("page %d: refcount %u before, at most %u during the DMA",
			       i, before[i], seen[i]);
		}
		EXPECT_EQ(before[i], after[i]) {
			TH_LOG("page %d: refcount %u before, %u after the timeout",
			       i, before[i], after[i]);
		}
	}
	close(r.fd);
	munmap(mem, 2 * PAGE);
	close(buf);
}

/*
 * io_uring with offset -1 reads and writes at the file position, which it
 * copies back from the kiocb only for a request that completed inline
 * (kiocb_done(), 6.1 to 7.3), never for one that returned -EIOCBQUEUED,
 * as every request on the node does: the position does not move, and a
 * second read starts where the first did (docs/dio.md). The node sets
 * ki_pos on completion all the same, as block devices do.
 */
TEST_F_TIMEOUT(dio, io_uring_at_the_file_position, 30)
{
	struct io_uring_cqe cqe;
	struct ring r;

	if (ring_init(&r, 8))
		SKIP(return, "no io_uring: %s", strerror(errno));
	fill_pattern(self->a, WINDOW, 92);
	ASSERT_EQ(WINDOW, pwrite(self->dev, self->a, WINDOW, 0));
	memset(self->b, 0x5a, 1001);
	ASSERT_EQ(100, lseek(self->dev, 100, SEEK_SET));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(1, ring_rw(&r, IORING_OP_READ, self->dev,
				     self->b + 500 * i, 500, (uint64_t)-1, i));
		ASSERT_EQ(0, ring_wait(&r, &cqe));
		ASSERT_EQ(500, cqe.res) TH_LOG("read %d: %d", i, cqe.res);
		EXPECT_EQ(100, lseek(self->dev, 0, SEEK_CUR)) TH_LOG("read %d", i);
		EXPECT_EQ(-1, first_difference(self->a + 100, self->b + 500 * i,
					       500)) {
			TH_LOG("read %d", i);
		}
	}
	EXPECT_EQ(0x5a, self->b[1000]);

	/* a write at the position: there, and the position stays */
	fill_pattern(self->a, 500, 93);
	ASSERT_EQ(1000, lseek(self->dev, 1000, SEEK_SET));
	ASSERT_EQ(1, ring_rw(&r, IORING_OP_WRITE, self->dev, self->a, 500,
			     (uint64_t)-1, 2));
	ASSERT_EQ(0, ring_wait(&r, &cqe));
	ASSERT_EQ(500, cqe.res) TH_LOG("write: %d", cqe.res);
	EXPECT_EQ(1000, lseek(self->dev, 0, SEEK_CUR));
	ASSERT_EQ(500, pread(self->dev, self->b, 500, 1000));
	EXPECT_EQ(-1, first_difference(self->a, self->b, 500));
	close(r.fd);
}

/* one Linux AIO read of @len bytes at window offset @pos: its result */
static long aio_read_one(int dev, void *buf, size_t len, off_t pos)
{
	struct iocb cb = { 0 }, *list[1] = { &cb };
	aio_context_t ctx = 0;
	struct io_event ev;
	long res;

	if (syscall(SYS_io_setup, 1, &ctx))
		return -1000 - errno;
	cb.aio_fildes = dev;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = len;
	cb.aio_offset = pos;
	if (syscall(SYS_io_submit, ctx, 1, list) != 1)
		res = -2000 - errno;
	else if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1)
		res = -3000 - errno;
	else
		res = ev.res;
	syscall(SYS_io_destroy, ctx);
	return res;
}

/*
 * @n one-byte iovecs, consecutive from @p: @n pins of one page, which the
 * bounds count as @n pages, moved in one DMA segment of @n bytes (each
 * segment costs edu 100 ms, so pinning whole pages would be slow)
 */
static void byte_iovecs(struct iovec *v, unsigned char *p, int n)
{
	for (int i = 0; i < n; i++)
		v[i] = (struct iovec){ p + i, 1 };
}

/* an asynchronous XFER_USER: 0 or errno */
static int xfer_async(int dev, uint32_t dir, const struct iovec *v, int n)
{
	struct dmakit_xfer_user x;

	return xfer_user(dev, &x, dir, v, n, NULL, 0, DMAKIT_XFER_ASYNC) ?
	       errno : 0;
}

/*
 * The asynchronous transfers of one fd (XFER_USER, AIO, io_uring) hold at
 * most max_inflight_mb of pinned memory, counted per pinned page, until
 * their results are reaped (read/write: until they complete); past it
 * EAGAIN, and poll() says the node is not readable or writable, which
 * io_uring waits on. A request alone may exceed it. Another fd has room
 * of its own.
 */
TEST_F_TIMEOUT(dio, async_pins_are_bounded_per_fd_until_reaped, 60)
{
	static struct iovec v[300];
	unsigned char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pollfd pfd = { .fd = self->dev, .events = POLLIN | POLLOUT };
	int dev2 = edu_open(0, 0), has_ring;
	struct dmakit_xfer_reap r;
	struct io_uring_cqe cqe;
	struct ring ring;

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_LE(0, dev2);
	self->max_inflight = set_param("max_inflight_mb", 1);	/* 256 pages */
	fill_pattern(m, PAGE, 31);
	memset(m + PAGE, 0, 3 * PAGE);
	has_ring = !ring_init(&ring, 4);
	if (!has_ring)
		TH_LOG("no io_uring (%s): its part is not tried", strerror(errno));

	/* 200 + 56 pins: the bound, admitted */
	byte_iovecs(v, m, 200);
	ASSERT_EQ(0, xfer_async(self->dev, DMAKIT_DIR_TO_DEVICE, v, 200));
	byte_iovecs(v, m + PAGE, 56);
	ASSERT_EQ(0, xfer_async(self->dev, DMAKIT_DIR_FROM_DEVICE, v, 56));
	/* a page more: EAGAIN through the ioctl and AIO; poll: not ready */
	v[0] = (struct iovec){ m + 2 * PAGE, 1 };
	EXPECT_EQ(EAGAIN, xfer_async(self->dev, DMAKIT_DIR_FROM_DEVICE, v, 1));
	EXPECT_EQ(-EAGAIN, aio_read_one(self->dev, m + 2 * PAGE + 100, 100, 0));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	/* io_uring waits for room instead */
	if (has_ring)
		ASSERT_EQ(1, ring_rw(&ring, IORING_OP_READ, self->dev,
				     m + 3 * PAGE, 100, 0, 7));
	/* another fd has room; its request runs after ours (FIFO) */
	ASSERT_EQ(0, xfer_async(dev2, DMAKIT_DIR_FROM_DEVICE, v, 1));
	ASSERT_EQ(0, reap_wait(dev2, &r));
	EXPECT_EQ(0, r.result.status);
	EXPECT_EQ(m[0], m[2 * PAGE]);
	/* ours are done, not reaped: the room is still taken */
	EXPECT_EQ(EAGAIN, xfer_async(self->dev, DMAKIT_DIR_FROM_DEVICE, v, 1));
	if (has_ring) {
		usleep(200000);
		EXPECT_EQ(0, ring_has_completion(&ring)) TH_LOG("io_uring read ran while full");
	}

	/* reaping gives it back: to poll, io_uring, AIO and the ioctl */
	ASSERT_EQ(0, reap_wait(self->dev, &r));
	EXPECT_EQ(0, r.result.status);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, pfd.revents);
	if (has_ring) {
		ASSERT_EQ(0, ring_wait(&ring, &cqe));
		EXPECT_EQ(100, cqe.res);
		EXPECT_EQ(-1, first_difference(m, m + 3 * PAGE, 100));
	}
	EXPECT_EQ(100, aio_read_one(self->dev, m + 2 * PAGE + 100, 100, 0));
	EXPECT_EQ(-1, first_difference(m, m + 2 * PAGE + 100, 100));
	v[0] = (struct iovec){ m + 2 * PAGE + 300, 1 };
	ASSERT_EQ(0, xfer_async(self->dev, DMAKIT_DIR_FROM_DEVICE, v, 1));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, reap_wait(self->dev, &r));
		EXPECT_EQ(0, r.result.status);
	}
	EXPECT_EQ(-1, first_difference(m, m + PAGE, 56));
	EXPECT_EQ(m[0], m[2 * PAGE + 300]);

	/* a request alone may be larger (max_buffer_mb bounds it), then full */
	fill_pattern(m, PAGE, 32);
	byte_iovecs(v, m, 300);
	ASSERT_EQ(0, xfer_async(self->dev, DMAKIT_DIR_TO_DEVICE, v, 300));
	EXPECT_EQ(EAGAIN, xfer_async(self->dev, DMAKIT_DIR_FROM_DEVICE, v, 1));
	ASSERT_EQ(0, reap_wait(self->dev, &r));
	EXPECT_EQ(0, r.result.status);
	ASSERT_EQ(300, pread(self->dev, m + 2 * PAGE, 300, 0));
	EXPECT_EQ(-1, first_difference(m, m + 2 * PAGE, 300));

	if (has_ring)
		close(ring.fd);
	close(dev2);
	munmap(m, 4 * PAGE);
	EXPECT_LE(0, self->max_inflight) TH_LOG("no max_inflight_mb parameter");
}

TEST_HARNESS_MAIN
