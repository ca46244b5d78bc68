// SPDX-License-Identifier: GPL-2.0
/*
 * dio_bench: the CPU cost of getting user memory to the device.
 *
 * 1. Per page, pin + map + unmap + unpin (DMAKIT_IOC_XFER_USER, COPY of a
 *    buffer onto itself with DMAKIT_XFER_ZEROCOPY | DMAKIT_XFER_MAP_ONLY:
 *    both sides pinned and mapped, the device not started) against the
 *    kernel's own pieces in the same boot: gup_test PIN_FAST_BENCHMARK
 *    (pin_user_pages_fast + unpin, 512 pages per call) plus
 *    dma_map_benchmark (dma_map_single + unmap of one page, on edu1).
 * 2. Copy against zero-copy by size, 512 B .. 16 MiB (COPY, MAP_ONLY): the
 *    copy path (copy_from_user into kernel pages, map, unmap,
 *    copy_to_user; forced by a copy_max that takes any length) against
 *    pinning, and what the default (copy_max) picks. Writes the table for a plot to /tmp/dio_bench.dat.
 *
 * Prints Markdown tables; never fails on a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

#include "kernel_bench.h"

/* from mm/gup_test.h (kernel 6.1) */
struct gup_test {
	uint64_t get_delta_usec;
	uint64_t put_delta_usec;
	uint64_t addr;
	uint64_t size;
	uint32_t nr_pages_per_call;
	uint32_t gup_flags;
	uint32_t test_flags;
	uint32_t which_pages[8];
};
#define PIN_FAST_BENCHMARK	_IOWR('g', 2, struct gup_test)

#define PAGE	4096ul

/*
 * The copy path of a COPY is forced by a copy_max that takes any length
 * (DMAKIT_XFER_STAGED is TO/FROM only); FORCE_COPY asks user_once() for it.
 */
#define FORCE_COPY	0x80000000u
#define PARAM_DIR	"/sys/module/dmakit/parameters/"

static char copy_max_was[2][32];

static void copy_max_write(const char *copy_max, const char *bounce)
{
	const char *v[2] = { copy_max, bounce };
	const char *name[2] = { PARAM_DIR "copy_max", PARAM_DIR "copy_max_bounce" };

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(name[i], "w");

		if (f) {
			fputs(v[i], f);
			fclose(f);
		}
	}
}

/* ns (map + unmap as the module reports) of one MAP_ONLY copy, -1 on error */
static double user_once(int dev, void *buf, size_t len, uint32_t how)
{
	struct iovec v = { buf, len };
	struct dmakit_xfer_user x;
	int err;

	if (how & FORCE_COPY) {
		copy_max_write("4294967295", "4294967295");
		how &= ~FORCE_COPY;
	}
	memset(&x, 0, sizeof(x));
	x.iov = x.dst_iov = (uintptr_t)&v;
	x.iovcnt = x.dst_iovcnt = 1;
	x.dir = DMAKIT_DIR_COPY;
	x.flags = how | DMAKIT_XFER_MAP_ONLY;
	err = ioctl(dev, DMAKIT_IOC_XFER_USER, &x) ? errno : 0;
	copy_max_write(copy_max_was[0], copy_max_was[1]);
	if (err) {
		errno = err;
		return -1;
	}
	return (double)x.result.map_ns + x.result.unmap_ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* median of @reps, after as many warm-up rounds */
static double user_cost(int dev, void *buf, size_t len, uint32_t how, int reps)
{
	double v[201];

	for (int r = 0; r < reps; r++)
		if (user_once(dev, buf, len, how) < 0)
			return -1;
	for (int r = 0; r < reps; r++) {
		v[r] = user_once(dev, buf, len, how);
		if (v[r] < 0)
			return -1;
	}
	return median(v, reps);
}

static double gup_cost_per_page(void *buf, size_t len)
{
	struct gup_test g = {
		.addr = (uintptr_t)buf, .size = len, .nr_pages_per_call = 512,
		.gup_flags = 1,	/* FOLL_WRITE */
	};
	int fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	double best = -1;

	if (fd < 0)
		return -1;
	for (int r = 0; r < 5; r++) {
		if (ioctl(fd, PIN_FAST_BENCHMARK, &g))
			break;
		double per = (g.get_delta_usec + g.put_delta_usec) * 1000.0 /
			     (len / PAGE);
		if (best < 0 || per < best)
			best = per;
	}
	close(fd);
	return best;
}

int main(void)
{
	/* 2 x 4096 pages: what swiotlb's 64 MiB pool holds at once */
	static const size_t pages[] = { 1, 16, 512, 4096 };
	static const size_t sizes[] = {
		512, 1024, 2048, 4096, 8192, 16384, 65536, 262144, 1 << 20,
		4 << 20, 16 << 20,
	};
	const char *lane = getenv("DMAKIT_LANE");
	size_t max = 64ul << 20;
	struct dmakit_dev_info info;
	double gup, map, unmap;
	char copy_max[32] = "?";
	unsigned char *buf;
	int dev, dev1, bounce;
	FILE *f, *dat;

	dev = open("/dev/dmakit-edu0", O_RDWR);
	dev1 = open("/dev/dmakit-edu1", O_RDWR);
	if (dev < 0 || dev1 < 0 || ioctl(dev1, DMAKIT_IOC_DEV_INFO, &info)) {
		perror("dio_bench: edu nodes");
		return 1;
	}
	close(dev1);
	for (int i = 0; i < 2; i++) {
		f = fopen(i ? PARAM_DIR "copy_max_bounce" : PARAM_DIR "copy_max", "r");
		if (!f || !fgets(copy_max_was[i], sizeof(copy_max_was[i]), f)) {
			perror("dio_bench: copy_max");
			return 1;
		}
		fclose(f);
	}
	bounce = getenv("DMAKIT_EXPECT_BOUNCE") &&
		 atoi(getenv("DMAKIT_EXPECT_BOUNCE"));
	snprintf(copy_max, sizeof(copy_max), "%s", copy_max_was[bounce]);
	copy_max[strcspn(copy_max, "\n")] = 0;
	buf = mmap(NULL, max, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		perror("dio_bench: 64 MiB");
		return 1;
	}
	memset(buf, 1, max);

	printf("## dio_bench: user memory to the device, lane %s\n\n",
	       lane ? lane : "?");
	gup = gup_cost_per_page(buf, max);
	if (dma_map_benchmark_run(info.bus_id, info.dma_mask_bits,
				  DMA_MAP_BIDIRECTIONAL, &map, &unmap))
		map = unmap = -1;
	map += unmap;
	printf("Per page: pin + map + unmap + unpin by dmakit (COPY of a buffer "
	       "onto itself, zero-copy, MAP_ONLY: every page pinned and mapped "
	       "twice), against the kernel's gup_test PIN_FAST (512 pages per "
	       "call, best of 5 over 64 MiB: %.0f ns/page) plus "
	       "dma_map_benchmark (one page per map, 2 s: %.0f ns/page; "
	       "truncated to 100 ns per sample).\n\n", gup, map);
	printf("| pages | dmakit ns/page | kernel gup_test + dma_map_benchmark ns/page | ratio |\n");
	printf("|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(pages) / sizeof(*pages); i++) {
		int reps = pages[i] >= 512 ? 7 : 101;
		double c = user_cost(dev, buf, pages[i] * PAGE,
				     DMAKIT_XFER_ZEROCOPY, reps);

		if (c < 0) {
			printf("| %zu | failed: %s | | |\n", pages[i], strerror(errno));
			continue;
		}
		c /= 2 * pages[i];
		printf("| %zu | %.0f | %.0f | %.2fx |\n", pages[i], c, gup + map,
		       c / (gup + map));
	}

	printf("\nCopy against zero-copy (COPY user -> device -> user, MAP_ONLY: "
	       "CPU time of the module per transfer, median of interleaved "
	       "runs in rotating order); \"auto\" is what the default picks: up to %s bytes by copy (copy_max, or copy_max_bounce where swiotlb bounces for the device).\n\n",
	       copy_max);
	printf("| bytes | copy us | zero-copy us | faster | auto us | auto vs faster |\n");
	printf("|---:|---:|---:|---|---:|---:|\n");
	dat = fopen("/tmp/dio_bench.dat", "w");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		static const uint32_t how[3] = { FORCE_COPY,
						 DMAKIT_XFER_ZEROCOPY, 0 };
		int reps = sizes[i] >= (1 << 20) ? 7 : 101;
		double v[3][101], m[3], best;

		/* interleaved, after a warm-up of each, median of each */
		for (int h = 0; h < 3; h++)
			for (int r = 0; r < 5; r++)
				user_once(dev, buf, sizes[i], how[h]);
		int failed = -1;

		/* the order rotates: no path always runs after the same one */
		for (int r = 0; r < reps; r++)
			for (int k = 0; k < 3; k++) {
				int h = (r + k) % 3;

				v[h][r] = user_once(dev, buf, sizes[i], how[h]);
				if (v[h][r] < 0 && failed < 0)
					failed = h;
			}
		if (failed >= 0) {
			printf("| %zu | %s failed: %s | | | | |\n", sizes[i],
			       failed == 0 ? "copy" : failed == 1 ? "zero-copy" : "auto",
			       strerror(errno));
			continue;
		}
		for (int h = 0; h < 3; h++)
			m[h] = median(v[h], reps);
		best = m[0] < m[1] ? m[0] : m[1];
		printf("| %zu | %.1f | %.1f | %s | %.1f | %.2fx |\n", sizes[i],
		       m[0] / 1e3, m[1] / 1e3, m[0] < m[1] ? "copy" : "zero-copy",
		       m[2] / 1e3, m[2] / best);
		if (dat)
			fprintf(dat, "%zu %.2f %.2f %.2f\n", sizes[i], m[0] / 1e3,
				m[1] / 1e3, m[2] / 1e3);
	}
	if (dat)
		fclose(dat);
	printf("\n");
	/* the plot's data, for the host (scripts/run-bench) */
	dat = fopen("/tmp/dio_bench.dat", "r");
	if (dat) {
		char line[128];

		while (fgets(line, sizeof(line), dat))
			printf("# plot-data %s", line);
		fclose(dat);
	}
	munmap(buf, max);
	close(dev);
	return 0;
}
