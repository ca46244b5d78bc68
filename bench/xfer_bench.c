// SPDX-License-Identifier: GPL-2.0
/*
 * xfer_bench: driver overhead of a chained edu transfer.
 *
 * edu takes ~100 ms of device time per segment whatever the driver does, so
 * what the driver adds is (wall time of a chain of N segments) against
 * N x (device time of a one-segment request). The chain is one COPY
 * between two coherent buffers (no mapping cost: this isolates the engine's
 * chaining from the interrupt handler); the one-segment request is a
 * TO_DEVICE of the same buffer. Prints a Markdown table; never fails on a
 * time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

#define WINDOW	DMAKIT_EDU_WINDOW_MAX
#define REPS	3

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int coherent(int dev, uint64_t size)
{
	struct dmakit_alloc a = { .size = size, .kind = DMAKIT_KIND_COHERENT };

	return ioctl(dev, DMAKIT_IOC_ALLOC, &a) ? -1 : a.fd;
}

static int run(int dev, struct dmakit_xfer *x, double *wall)
{
	double t0 = now();
	int ret = ioctl(dev, DMAKIT_IOC_XFER, x);

	*wall = now() - t0;
	return ret;
}

int main(void)
{
	static const unsigned int chunks[] = { 1, 4, 16 };
	double single_dev = 0, single_wall = 0;
	struct dmakit_xfer x;
	int dev, src, dst;

	dev = open("/dev/dmakit-edu0", O_RDWR);
	if (dev < 0) {
		perror("xfer_bench: /dev/dmakit-edu0");
		return 1;
	}
	src = coherent(dev, 16 * WINDOW);
	dst = coherent(dev, 16 * WINDOW);
	if (src < 0 || dst < 0) {
		perror("xfer_bench: coherent buffers");
		return 1;
	}

	for (int r = 0; r < REPS; r++) {
		double wall;

		memset(&x, 0, sizeof(x));
		x.fd = src;
		x.len = WINDOW;
		x.dir = DMAKIT_DIR_TO_DEVICE;
		if (run(dev, &x, &wall)) {
			perror("xfer_bench: one segment");
			return 1;
		}
		single_dev += x.result.device_ns / 1e9 / REPS;
		single_wall += wall / REPS;
	}

	printf("## xfer_bench: chained edu segments vs N x one segment\n\n");
	printf("One segment (TO_DEVICE, %u bytes, coherent buffer), mean of %d: "
	       "device time %.1f ms, wall time of the ioctl %.1f ms.\n\n",
	       WINDOW, REPS, single_dev * 1e3, single_wall * 1e3);
	printf("| COPY bytes | segments N | wall ms | device ms | N x one segment ms | wall / (N x one) |\n");
	printf("|---:|---:|---:|---:|---:|---:|\n");
	for (size_t c = 0; c < sizeof(chunks) / sizeof(*chunks); c++) {
		double wall_sum = 0, dev_sum = 0;
		unsigned int segs = 0;

		for (int r = 0; r < REPS; r++) {
			double wall;

			memset(&x, 0, sizeof(x));
			x.fd = src;
			x.dst_fd = dst;
			x.len = (uint64_t)chunks[c] * WINDOW;
			x.dir = DMAKIT_DIR_COPY;
			if (run(dev, &x, &wall)) {
				perror("xfer_bench: copy");
				return 1;
			}
			wall_sum += wall;
			dev_sum += x.result.device_ns / 1e9;
			segs = x.result.segments;
		}
		printf("| %u | %u | %.1f | %.1f | %.1f | %.3f |\n",
		       chunks[c] * WINDOW, segs, wall_sum / REPS * 1e3,
		       dev_sum / REPS * 1e3, segs * single_dev * 1e3,
		       wall_sum / REPS / (segs * single_dev));
	}
	printf("\n");
	close(src);
	close(dst);
	close(dev);
	return 0;
}
