// SPDX-License-Identifier: GPL-2.0
/*
 * zerocopy_bench: the CPU time of moving a buffer's bytes out through the
 * kernel without a copy into user space against read() + write() of the
 * same bytes: out of the buffer fd (sendfile, splice through a pipe) and
 * out of its mapping (vmsplice into a pipe spliced on; io_uring
 * WRITE_FIXED from the mapping registered as a fixed buffer), to
 * /dev/null (where only the way out of the buffer costs), into a tmpfs
 * file (where the file's own copy costs the same every way) and into a
 * loopback TCP connection (a child process drains it; its CPU time is not
 * ours). Prints a Markdown table; never passes or fails on the figures.
 *
 *   zerocopy_bench [-s MiB] [-r rounds]
 *
 * CPU time is the process's (CLOCK_PROCESS_CPUTIME_ID: user + system);
 * each figure is the median of the rounds after one warm-up round, and
 * every ratio compares figures of the same run. Target (issue 17): 64 MiB
 * by splice or sendfile in at most 0.5x the CPU time of read + write.
 * The fixed buffer is registered (pinned) once per buffer, before the
 * clock runs: that is what fixed buffers are for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

#include "../tests/uring_tcp.h"

#define MAX_ROUNDS	15
#define CHUNK		(64UL << 10)	/* read/write size, a pipe's default */
#define TARGET		0.5

static size_t size = 64UL << 20;
static int rounds = 5;
static unsigned char *ubuf;
static unsigned char *map;	/* the buffer's mapping */
static struct ring ring;	/* the mapping is its fixed buffer 0 */
static int ring_err;		/* why it is not: errno, or 0 */
static pid_t drainer = -1;	/* reads the TCP connection to its end */

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	printf("# dmakit-bench-failed zerocopy_bench: %s: %s\n", what,
	       strerror(errno));
	exit(1);
}

/* the ways out; each moves @size bytes of @buf into @out */
static void read_write(int buf, int out)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(buf, ubuf, CHUNK, done);

		if (n <= 0 || write(out, ubuf, n) != n)
			die("read+write");
		done += n;
	}
}

static void by_sendfile(int buf, int out)
{
	off_t off = 0;

	while ((size_t)off < size)
		if (sendfile(out, buf, &off, size - off) <= 0)
			die("sendfile");
}

static void by_splice(int buf, int out)
{
	static int p[2] = { -1, -1 };
	loff_t off = 0;

	if (p[0] < 0 && pipe(p))
		die("pipe");
	while ((size_t)off < size) {
		ssize_t n = splice(buf, &off, p[1], NULL, CHUNK, 0);

		if (n <= 0)
			die("splice in");
		while (n > 0) {
			ssize_t m = splice(p[0], NULL, out, NULL, n, 0);

			if (m <= 0)
				die("splice out");
			n -= m;
		}
	}
}

/* move @n bytes out of pipe @in into @out */
static void pipe_out(int in, int out, ssize_t n, const char *what)
{
	while (n > 0) {
		ssize_t m = splice(in, NULL, out, NULL, n, 0);

		if (m <= 0)
			die(what);
		n -= m;
	}
}

/* the mapping's pages into a pipe by reference, spliced on */
static void by_vmsplice(int buf, int out)
{
	static int p[2] = { -1, -1 };
	size_t done = 0;

	(void)buf;
	if (p[0] < 0 && pipe(p))
		die("pipe");
	while (done < size) {
		struct iovec v = { map + done, size - done < CHUNK ?
						   size - done : CHUNK };
		ssize_t n = vmsplice(p[1], &v, 1, 0);

		if (n <= 0)
			die("vmsplice");
		pipe_out(p[0], out, n, "splice after vmsplice");
		done += n;
	}
}

/* WRITE_FIXED from the registered mapping, a chunk at a time */
static void by_uring(int buf, int out)
{
	off_t end = lseek(out, 0, SEEK_END);	/* tmpfs: write at the end */
	size_t done = 0;

	(void)buf;
	while (done < size) {
		size_t len = size - done < CHUNK ? size - done : CHUNK;
		struct io_uring_cqe cqe;

		/* a socket takes position 0 only; a short write goes on after */
		if (ring_rw_fixed(&ring, IORING_OP_WRITE_FIXED, out, map + done,
				  len, end < 0 ? 0 : end + done, 0, 0) != 1 ||
		    ring_block(&ring) < 0 || ring_wait(&ring, &cqe))
			die("io_uring");
		if (cqe.res <= 0) {
			errno = -cqe.res;
			die("WRITE_FIXED");
		}
		done += cqe.res;
	}
}

struct way {
	const char *name;
	void (*run)(int buf, int out);
};

static const struct way ways[] = {
	{ "read + write", read_write },
	{ "sendfile", by_sendfile },
	{ "splice (buffer -> pipe -> out)", by_splice },
	{ "vmsplice (mapping -> pipe -> out)", by_vmsplice },
	{ "io_uring WRITE_FIXED (mapping registered)", by_uring },
};

#define NWAYS	(int)(sizeof(ways) / sizeof(ways[0]))
#define URING	4

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { DEV_NULL, TMPFS, TCP, NDESTS };

static const char *const dest_name[] = { "/dev/null", "tmpfs file",
					 "loopback TCP" };

/*
 * A fresh destination for each round: /dev/null, an empty memfd, or the
 * sending end of a new loopback TCP connection whose other end a child
 * reads to its end (made before the clock runs, reaped after)
 */
static int open_out(int dest)
{
	int fd, conn;

	if (dest == DEV_NULL)
		fd = open("/dev/null", O_WRONLY);
	else if (dest == TMPFS)
		fd = memfd_create("zerocopy-bench", 0);
	else if (tcp_pair(&fd, &conn))
		fd = -1;
	if (fd < 0)
		die("destination");
	if (dest == TCP) {
		drainer = fork();
		if (drainer < 0)
			die("fork");
		if (!drainer) {
			close(fd);
			while (read(conn, ubuf, CHUNK) > 0)
				;
			_exit(0);
		}
		close(conn);
	}
	return fd;
}

static void close_out(int fd)
{
	close(fd);
	if (drainer > 0 && waitpid(drainer, NULL, 0) != drainer)
		die("waitpid");
	drainer = -1;
}

static void measure(int buf, const char *kind, int dest)
{
	double t[NWAYS][MAX_ROUNDS], med[NWAYS];
	int w, r;

	for (r = -1; r < rounds; r++) {
		for (w = 0; w < NWAYS; w++) {
			int out;
			double t0;

			if (w == URING && ring_err)
				continue;
			out = open_out(dest);
			t0 = cpu();
			ways[w].run(buf, out);
			if (r >= 0)
				t[w][r] = cpu() - t0;
			close_out(out);
		}
	}
	for (w = 0; w < NWAYS; w++) {
		if (w == URING && ring_err) {
			printf("| %s | %s | %s | n/a | n/a | registration: %s |\n",
			       kind, dest_name[dest], ways[w].name,
			       strerror(ring_err));
			continue;
		}
		med[w] = median(t[w], rounds);
		printf("| %s | %s | %s | %.1f | %.2fx | %s |\n", kind,
		       dest_name[dest], ways[w].name, med[w] * 1e3,
		       med[w] / med[0],
		       !w ? "reference" : med[w] / med[0] <= TARGET ?
		       "meets 0.5x" : "misses 0.5x");
	}
}

static int alloc(uint32_t kind)
{
	struct dmakit_alloc a = { .size = size, .kind = kind };
	int ctl = open("/dev/dmakit", O_RDWR);

	if (ctl < 0 || ioctl(ctl, DMAKIT_IOC_ALLOC, &a))
		die("ALLOC");
	close(ctl);
	return a.fd;
}

int main(int argc, char **argv)
{
	static const struct { uint32_t kind; const char *name; } kinds[] = {
		{ DMAKIT_KIND_PAGES, "pages" },
		{ DMAKIT_KIND_VMALLOC, "vmalloc" },
	};
	int opt, k;

	while ((opt = getopt(argc, argv, "s:r:")) != -1) {
		if (opt == 's')
			size = strtoul(optarg, NULL, 0) << 20;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (!size || size % CHUNK || rounds < 1 || rounds > MAX_ROUNDS)
		return 2;
	ubuf = malloc(CHUNK);
	if (!ubuf)
		die("malloc");

	printf("## zerocopy_bench: %zu MiB out of a buffer, CPU time (median of %d rounds after a warm-up)\n\n",
	       size >> 20, rounds);
	printf("| kind | into | way | CPU ms | vs read + write | target %.1fx |\n",
	       TARGET);
	printf("|---|---|---|---|---|---|\n");
	if (ring_init(&ring, 8))
		die("io_uring_setup");
	for (k = 0; k < 2; k++) {
		int buf = alloc(kinds[k].kind), dest;
		unsigned char *p = malloc(CHUNK);
		struct iovec iov;
		size_t off;

		/* real bytes, and every page allocated before the clock runs */
		if (!p)
			die("malloc");
		memset(p, 0x5a, CHUNK);
		for (off = 0; off < size; off += CHUNK)
			if (pwrite(buf, p, CHUNK, off) != (ssize_t)CHUNK)
				die("fill");
		free(p);
		/* the mapping, every page faulted in before the clock runs */
		map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		if (map == MAP_FAILED)
			die("mmap");
		for (off = 0; off < size; off += 4096)
			(void)*(volatile unsigned char *)(map + off);
		iov = (struct iovec){ map, size };
		ring_err = ring_register_buffers(&ring, &iov, 1) ? errno : 0;
		for (dest = 0; dest < NDESTS; dest++)
			measure(buf, kinds[k].name, dest);
		if (!ring_err &&
		    syscall(__NR_io_uring_register, ring.fd,
			    IORING_UNREGISTER_BUFFERS, NULL, 0))
			die("IORING_UNREGISTER_BUFFERS");
		munmap(map, size);
		close(buf);
	}
	printf("\nInto /dev/null only the way out of the buffer costs (and nothing reads what io_uring writes there); into tmpfs every way also pays the file's own copy, so the ratio there cannot reach what the way out alone saves; a TCP socket takes spliced pages by reference (sendfile, splice, vmsplice) but copies what write() and io_uring's WRITE_FIXED give it. vmsplice and io_uring take the mapping's pages (GUP), sendfile and splice the buffer fd's; 6.1's io_uring registers no driver's memory (EOPNOTSUPP).\n");
	return 0;
}
