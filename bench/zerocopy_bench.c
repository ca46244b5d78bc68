// SPDX-License-Identifier: GPL-2.0
/*
 * zerocopy_bench: the CPU time of moving a buffer's bytes out through the
 * kernel without a copy into user space (sendfile, splice through a pipe)
 * against read() + write() of the same bytes, to /dev/null (where only
 * the way out of the buffer costs) and into a tmpfs file (where the file's
 * own copy costs the same either way). Prints a Markdown table; never
 * passes or fails on the figures.
 *
 *   zerocopy_bench [-s MiB] [-r rounds]
 *
 * CPU time is the process's (CLOCK_PROCESS_CPUTIME_ID: user + system);
 * each figure is the median of the rounds after one warm-up round, and
 * every ratio compares figures of the same run. Target (issue 17): 64 MiB
 * by splice or sendfile in at most 0.5x the CPU time of read + write.
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
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

#define MAX_ROUNDS	15
#define CHUNK		(64UL << 10)	/* read/write size, a pipe's default */
#define TARGET		0.5

static size_t size = 64UL << 20;
static int rounds = 5;
static unsigned char *ubuf;

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

struct way {
	const char *name;
	void (*run)(int buf, int out);
};

static const struct way ways[] = {
	{ "read + write", read_write },
	{ "sendfile", by_sendfile },
	{ "splice (buffer -> pipe -> out)", by_splice },
};

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

/* a fresh destination for each round: /dev/null, or an empty memfd */
static int open_out(int tmpfs)
{
	int fd = tmpfs ? memfd_create("zerocopy-bench", 0) :
			 open("/dev/null", O_WRONLY);

	if (fd < 0)
		die("destination");
	return fd;
}

static void measure(int buf, const char *kind, int tmpfs)
{
	double t[3][MAX_ROUNDS], med[3];
	int w, r;

	for (r = -1; r < rounds; r++) {
		for (w = 0; w < 3; w++) {
			int out = open_out(tmpfs);
			double t0 = cpu();

			ways[w].run(buf, out);
			if (r >= 0)
				t[w][r] = cpu() - t0;
			close(out);
		}
	}
	for (w = 0; w < 3; w++)
		med[w] = median(t[w], rounds);
	for (w = 0; w < 3; w++)
		printf("| %s | %s | %s | %.1f | %.2fx | %s |\n", kind,
		       tmpfs ? "tmpfs file" : "/dev/null", ways[w].name,
		       med[w] * 1e3, med[w] / med[0],
		       !w ? "reference" : med[w] / med[0] <= TARGET ? "meets 0.5x" :
		       "misses 0.5x");
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
	for (k = 0; k < 2; k++) {
		int buf = alloc(kinds[k].kind);
		unsigned char *p = malloc(CHUNK);
		size_t off;

		/* real bytes, and every page allocated before the clock runs */
		if (!p)
			die("malloc");
		memset(p, 0x5a, CHUNK);
		for (off = 0; off < size; off += CHUNK)
			if (pwrite(buf, p, CHUNK, off) != (ssize_t)CHUNK)
				die("fill");
		free(p);
		measure(buf, kinds[k].name, 0);
		measure(buf, kinds[k].name, 1);
		close(buf);
	}
	printf("\nInto /dev/null only the way out of the buffer costs; into tmpfs every way also pays the file's own copy, so the ratio there cannot reach what the way out alone saves.\n");
	return 0;
}
