// SPDX-License-Identifier: GPL-2.0
/*
 * Zero-copy out of buffers: splice and sendfile from a buffer fd move the
 * buffer's own pages into the pipe (contig, pages, vmalloc) or copies of
 * them (coherent, CMA), into a pipe, a file and a loopback TCP socket;
 * copy_file_range is refused (a buffer is not a regular file). Every
 * byte is checked where it lands.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

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
	int shared;	/* the pipe gets the buffer's own pages */
};

FIXTURE_VARIANT_ADD(zc, contig) { .kind = DMAKIT_KIND_CONTIG, .shared = 1 };
FIXTURE_VARIANT_ADD(zc, pages) { .kind = DMAKIT_KIND_PAGES, .shared = 1 };
FIXTURE_VARIANT_ADD(zc, vmalloc) { .kind = DMAKIT_KIND_VMALLOC, .shared = 1 };
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
		self->buf = buf_alloc(SIZE, variant->kind, 0, NULL);
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

/* bring the loopback interface up (the guest's init does not): 0 or -errno */
static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(s);
	return err;
}

/* sendfile into a loopback TCP connection */
TEST_F(zc, sendfile_into_a_tcp_socket)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int srv, cli, conn;
	off_t off = 0;
	size_t sent = 0;

	srv = socket(AF_INET, SOCK_STREAM, 0);
	if (srv < 0)
		SKIP(return, "no TCP/IP in this kernel: %s", strerror(errno));
	ASSERT_EQ(0, loopback_up());
	ASSERT_EQ(0, bind(srv, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(srv, 1));
	ASSERT_EQ(0, getsockname(srv, (struct sockaddr *)&a, &alen));
	cli = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, cli);
	ASSERT_EQ(0, connect(cli, (struct sockaddr *)&a, sizeof(a)));
	conn = accept(srv, NULL, NULL);
	ASSERT_LE(0, conn);
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
	close(srv);
}

TEST_HARNESS_MAIN
