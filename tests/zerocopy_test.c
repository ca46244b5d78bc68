// SPDX-License-Identifier: GPL-2.0
/*
 * Zero-copy out of buffers: splice and sendfile from a buffer fd move the
 * buffer's own pages into the pipe (contig, pages, vmalloc) or copies of
 * them (coherent, CMA), into a pipe, a file and a loopback TCP socket;
 * copy_file_range is refused (a buffer is not a regular file). And out of
 * the buffer's mapping: vmsplice into a pipe, then splice on into a file
 * and a socket, and io_uring fixed buffers registered from the mapping
 * (WRITE_FIXED into a file, READ_FIXED back into the mapping), where GUP
 * can pin the mapping; where it cannot, the errno of gup_errno(). Every
 * byte is checked where it lands.
 */
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dmakit_test.h"

#define PAGE	4096u
#define SIZE	(8 * PAGE)

FIXTURE(zc) {
	int buf;
	int node;
	unsigned char pat[SIZE], got[SIZE];
};

FIXTURE_VARIANT(zc) {
	uint32_t kind;
	uint32_t flags;	/* DMAKIT_ALLOC_PREMAP: mapped whole at mmap time */
	int shared;	/* the pipe gets the buffer's own pages */
};

FIXTURE_VARIANT_ADD(zc, contig) { .kind = DMAKIT_KIND_CONTIG, .shared = 1 };
FIXTURE_VARIANT_ADD(zc, pages) { .kind = DMAKIT_KIND_PAGES, .shared = 1 };
FIXTURE_VARIANT_ADD(zc, vmalloc) { .kind = DMAKIT_KIND_VMALLOC, .shared = 1 };
FIXTURE_VARIANT_ADD(zc, pages_premap) {
	.kind = DMAKIT_KIND_PAGES, .flags = DMAKIT_ALLOC_PREMAP, .shared = 1
};
FIXTURE_VARIANT_ADD(zc, vmalloc_premap) {
	.kind = DMAKIT_KIND_VMALLOC, .flags = DMAKIT_ALLOC_PREMAP, .shared = 1
};
FIXTURE_VARIANT_ADD(zc, coherent) { .kind = DMAKIT_KIND_COHERENT, .shared = 0 };

FIXTURE_SETUP(zc)
{
	self->node = -1;
	if (variant->kind == DMAKIT_KIND_COHERENT) {
		struct dmakit_alloc a = { .size = SIZE, .kind = variant->kind };

		self->node = edu_open(0, 0);
		ASSERT_LE(0, self->node);
		ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_ALLOC, &a));
		self->buf = a.fd;
	} else {
		self->buf = buf_alloc(SIZE, variant->kind, variant->flags, NULL);
	}
	ASSERT_LE(0, self->buf);
	fill_pattern(self->pat, SIZE, 100 + variant->kind);
	ASSERT_EQ(SIZE, pwrite(self->buf, self->pat, SIZE, 0));
}

FIXTURE_TEARDOWN(zc)
{
	if (self->buf >= 0)
		close(self->buf);
	if (self->node >= 0)
		close(self->node);
}

/* read exactly @len bytes from @fd */
static ssize_t read_all(int fd, unsigned char *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n <= 0)
			return n < 0 ? -1 : (ssize_t)done;
		done += n;
	}
	return done;
}

/* splice into a pipe from an offset inside a page, then from the file position */
TEST_F(zc, splice_into_a_pipe)
{
	loff_t off = PAGE - 100;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(3 * PAGE, splice(self->buf, &off, p[1], NULL, 3 * PAGE, 0))
		TH_LOG("splice: %s", strerror(errno));
	EXPECT_EQ(4 * PAGE - 100, off);
	ASSERT_EQ(3 * PAGE, read_all(p[0], self->got, 3 * PAGE));
	EXPECT_EQ(-1, first_difference(self->pat + PAGE - 100, self->got,
				       3 * PAGE));
	/* without an offset: from the file position, which moves */
	ASSERT_EQ(5 * PAGE, lseek(self->buf, 5 * PAGE, SEEK_SET));
	ASSERT_EQ(3 * PAGE, splice(self->buf, NULL, p[1], NULL, 4 * PAGE, 0));
	EXPECT_EQ(SIZE, lseek(self->buf, 0, SEEK_CUR));
	ASSERT_EQ(3 * PAGE, read_all(p[0], self->got, 3 * PAGE));
	EXPECT_EQ(-1, first_difference(self->pat + 5 * PAGE, self->got,
				       3 * PAGE));
	/* at the end: nothing */
	EXPECT_EQ(0, splice(self->buf, NULL, p[1], NULL, PAGE, 0));
	close(p[0]);
	close(p[1]);
}

/*
 * Zero-copy means the pipe holds the buffer's pages: a write to the buffer
 * before the pipe is read shows in what the pipe gives. Coherent memory is
 * copied into the pipe: the old bytes.
 */
TEST_F(zc, the_pipe_holds_the_buffers_pages_or_a_copy)
{
	unsigned char later[2 * PAGE];
	loff_t off = 0;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(2 * PAGE, splice(self->buf, &off, p[1], NULL, 2 * PAGE, 0));
	fill_pattern(later, sizeof(later), 7);
	ASSERT_EQ(2 * PAGE, pwrite(self->buf, later, 2 * PAGE, 0));
	ASSERT_EQ(2 * PAGE, read_all(p[0], self->got, 2 * PAGE));
	EXPECT_EQ(-1, first_difference(variant->shared ? later : self->pat,
				       self->got, 2 * PAGE));

	/* the pipe keeps its pages after the buffer's last fd is gone */
	memcpy(self->pat, later, sizeof(later));
	off = PAGE;
	ASSERT_EQ(3 * PAGE, splice(self->buf, &off, p[1], NULL, 3 * PAGE, 0));
	close(self->buf);
	self->buf = -1;
	ASSERT_EQ(3 * PAGE, read_all(p[0], self->got, 3 * PAGE));
	EXPECT_EQ(-1, first_difference(self->pat + PAGE, self->got, 3 * PAGE));
	close(p[0]);
	close(p[1]);
}

/* sendfile into a file (tmpfs: a memfd) */
TEST_F(zc, sendfile_into_a_file)
{
	int out = memfd_create("dmakit-sendfile", 0);
	off_t off = 300;

	ASSERT_LE(0, out);
	ASSERT_EQ(SIZE - 300, sendfile(out, self->buf, &off, SIZE))
		TH_LOG("sendfile: %s", strerror(errno));
	EXPECT_EQ(SIZE, off);
	ASSERT_EQ(SIZE - 300, pread(out, self->got, SIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat + 300, self->got, SIZE - 300));
	/* copy_file_range does not take a buffer: it is not a regular file */
	errno = 0;
	EXPECT_EQ(-1, copy_file_range(self->buf, NULL, out, NULL, PAGE, 0));
	EXPECT_EQ(EINVAL, errno);
	close(out);
}

/* sendfile into a loopback TCP connection */
TEST_F(zc, sendfile_into_a_tcp_socket)
{
	int cli, conn, err = tcp_pair(&cli, &conn);
	off_t off = 0;
	size_t sent = 0;

	if (err == -EAFNOSUPPORT)
		SKIP(return, "no TCP/IP in this kernel");
	ASSERT_EQ(0, err) TH_LOG("loopback connection: %s", strerror(-err));
	/* a page at a time, read as it arrives: no socket buffer fills up */
	while (sent < SIZE) {
		ssize_t n = sendfile(cli, self->buf, &off, PAGE);

		ASSERT_LT(0, n) TH_LOG("sendfile: %s", strerror(errno));
		ASSERT_EQ(n, read_all(conn, self->got + sent, n));
		sent += n;
	}
	EXPECT_EQ(-1, first_difference(self->pat, self->got, SIZE));
	close(conn);
	close(cli);
}

/* bytes waiting in a pipe */
static int pipe_bytes(int fd)
{
	int n = -1;

	return ioctl(fd, FIONREAD, &n) ? -1 : n;
}

/*
 * vmsplice() 3 pages of the mapping (from PAGE - 100) into pipe @p: 1 when
 * the pipe holds them (by reference); 0 when it failed with @err, what
 * gup_errno() says, and the pipe stayed empty
 */
static int vmsplice_mapping(struct __test_metadata *_metadata,
			    unsigned char *map, int p[2], int err)
{
	struct iovec v = { map + PAGE - 100, 3 * PAGE };
	ssize_t n;

	errno = 0;
	n = vmsplice(p[1], &v, 1, 0);
	if (err) {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(err, errno) {
			TH_LOG("%s: vmsplice of the mapping: %s, gup_errno() %s",
			       kernel_line(), strerror(errno), strerror(err));
		}
		EXPECT_EQ(0, pipe_bytes(p[0]));
		return 0;
	}
	EXPECT_EQ(3 * PAGE, n) {
		TH_LOG("%s: vmsplice of the mapping: %s, gup_errno() says it pins",
		       kernel_line(), strerror(errno));
	}
	return n == 3 * PAGE;
}

/*
 * vmsplice() of the buffer's mapping takes its pages by reference
 * (iov_iter_get_pages2(), GUP), and splice() passes them on into a file:
 * a write to the mapping between the two shows in the file. Where GUP
 * cannot pin the mapping (PFN maps: contig, premapped, coherent without
 * an IOMMU) vmsplice fails with gup_errno()'s errno and the pipe stays
 * empty.
 */
TEST_F(zc, vmsplice_of_the_mapping_then_splice_into_a_file)
{
	int err = gup_errno(variant->kind, variant->flags);
	int out = memfd_create("dmakit-vmsplice", 0), p[2];
	unsigned char *map, later[100];
	loff_t off = 5;

	ASSERT_LE(0, out);
	ASSERT_EQ(0, pipe(p));
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-1, first_difference(self->pat, map, SIZE));
	if (vmsplice_mapping(_metadata, map, p, err)) {
		/* the pipe holds the mapping's pages, not a copy */
		fill_pattern(later, sizeof(later), 9);
		memcpy(map + PAGE - 100, later, sizeof(later));
		memcpy(self->pat + PAGE - 100, later, sizeof(later));
		ASSERT_EQ(3 * PAGE, splice(p[0], NULL, out, &off, 3 * PAGE, 0))
			TH_LOG("splice into the file: %s", strerror(errno));
		EXPECT_EQ(5 + 3 * PAGE, off);
		ASSERT_EQ(3 * PAGE, pread(out, self->got, 3 * PAGE, 5));
		EXPECT_EQ(-1, first_difference(self->pat + PAGE - 100, self->got,
					       3 * PAGE));
	}
	/* the buffer as it was (but for the write through the mapping) */
	ASSERT_EQ(SIZE, pread(self->buf, self->got, SIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, SIZE));
	munmap(map, SIZE);
	close(p[0]);
	close(p[1]);
	close(out);
}

/* the same, then splice() on into a loopback TCP connection */
TEST_F(zc, vmsplice_of_the_mapping_then_splice_into_a_tcp_socket)
{
	int err = gup_errno(variant->kind, variant->flags);
	int cli, conn, p[2], terr = tcp_pair(&cli, &conn);
	unsigned char *map;
	size_t moved = 0;

	if (terr == -EAFNOSUPPORT)
		SKIP(return, "no TCP/IP in this kernel");
	ASSERT_EQ(0, terr) TH_LOG("loopback connection: %s", strerror(-terr));
	ASSERT_EQ(0, pipe(p));
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	if (vmsplice_mapping(_metadata, map, p, err)) {
		/* a page at a time, read as it arrives */
		while (moved < 3 * PAGE) {
			ssize_t n = splice(p[0], NULL, cli, NULL, PAGE, 0);

			ASSERT_LT(0, n) TH_LOG("splice into the socket: %s",
					       strerror(errno));
			ASSERT_EQ(n, read_all(conn, self->got + moved, n));
			moved += n;
		}
		EXPECT_EQ(-1, first_difference(self->pat + PAGE - 100, self->got,
					       3 * PAGE));
	}
	munmap(map, SIZE);
	close(p[0]);
	close(p[1]);
	close(conn);
	close(cli);
}

/*
 * What IORING_REGISTER_BUFFERS answers for memory GUP can pin, by kernel:
 * 6.1's io_uring takes anonymous, shmem and hugetlb memory only, and any
 * other file's mapping is EOPNOTSUPP (io_pin_pages()); from 6.3 it takes
 * what pins. A kernel not listed is held to the newest one's answer.
 */
static const struct { const char *kernel; int err; } uring_file_errno[] = {
	{ "6.1", EOPNOTSUPP },
	{ "6.12", 0 },
	{ "7.3", 0 },
};

static int uring_register_errno(uint32_t kind, uint32_t flags)
{
	const int n = sizeof(uring_file_errno) / sizeof(uring_file_errno[0]);
	int err = gup_errno(kind, flags);

	if (err)
		return err;
	for (int i = 0; i < n; i++)
		if (!strcmp(kernel_line(), uring_file_errno[i].kernel))
			return uring_file_errno[i].err;
	return uring_file_errno[n - 1].err;
}

/*
 * io_uring fixed buffers registered from the buffer's mapping (pinned
 * FOLL_LONGTERM at registration): WRITE_FIXED from the mapping into a file,
 * READ_FIXED from the file back into the mapping, both across page
 * boundaries; the buffer's fd sees the bytes, those around are untouched.
 * Where the mapping does not pin, registration fails with gup_errno()'s
 * errno (6.1: EOPNOTSUPP for any driver's mapping).
 */
TEST_F_TIMEOUT(zc, io_uring_fixed_buffers_from_the_mapping, 30)
{
	int err = uring_register_errno(variant->kind, variant->flags);
	int out = memfd_create("dmakit-uring", 0);
	unsigned char *map, back[2 * PAGE];
	struct io_uring_cqe cqe;
	struct iovec iov;
	struct ring r;
	int ret;

	ASSERT_LE(0, out);
	if (ring_init(&r, 8))
		SKIP(return, "no io_uring: %s", strerror(errno));
	map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	iov = (struct iovec){ map, SIZE };
	errno = 0;
	ret = ring_register_buffers(&r, &iov, 1);
	EXPECT_EQ(err ? -1 : 0, ret);
	EXPECT_EQ(err, ret ? errno : 0) {
		TH_LOG("%s: IORING_REGISTER_BUFFERS of the mapping: %s, expected %s",
		       kernel_line(), strerror(errno), strerror(err));
	}
	if (!ret) {
		/* out of the mapping: 3 pages from PAGE - 100, into the file at 7 */
		ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_WRITE_FIXED, out,
					   map + PAGE - 100, 3 * PAGE, 7, 1, 0));
		ASSERT_EQ(0, ring_wait(&r, &cqe));
		ASSERT_EQ(3 * PAGE, cqe.res) TH_LOG("WRITE_FIXED: %s",
						    strerror(-cqe.res));
		ASSERT_EQ(3 * PAGE, pread(out, self->got, 3 * PAGE, 7));
		EXPECT_EQ(-1, first_difference(self->pat + PAGE - 100, self->got,
					       3 * PAGE));
		/* into the mapping: 2 pages of new bytes at 5 * PAGE + 33 */
		fill_pattern(back, sizeof(back), 12);
		ASSERT_EQ(sizeof(back), pwrite(out, back, sizeof(back), 0));
		ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_READ_FIXED, out,
					   map + 5 * PAGE + 33, sizeof(back), 0,
					   2, 0));
		ASSERT_EQ(0, ring_wait(&r, &cqe));
		ASSERT_EQ(sizeof(back), cqe.res) TH_LOG("READ_FIXED: %s",
						       strerror(-cqe.res));
		memcpy(self->pat + 5 * PAGE + 33, back, sizeof(back));
	}
	/* the buffer through its fd: the new bytes, the rest as it was */
	ASSERT_EQ(SIZE, pread(self->buf, self->got, SIZE, 0));
	EXPECT_EQ(-1, first_difference(self->pat, self->got, SIZE));
	close(r.fd);
	munmap(map, SIZE);
	close(out);
}

TEST_HARNESS_MAIN
