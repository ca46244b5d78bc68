// SPDX-License-Identifier: GPL-2.0
/*
 * dmamap_bench: CPU cost of dmakit's map/unmap path per transfer, against
 * the kernel's own dma_map_benchmark (kernel/dma/map_benchmark.c) on the
 * same kind of device in the same boot.
 *
 * dmakit: TO_DEVICE requests of one page (4095 bytes) on edu0; the result
 * of each reports the mapping layer's time before the DMA (map_ns: the
 * reachability check, dma_map_single or dma_map_sgtable, cutting segments)
 * and after it (unmap_ns). Kinds: contig (dma_map_single) and pages (one
 * page: dma_map_page; 4095 bytes from offset 2048, across two pages: an
 * sg_table). Two ways: back to back for 2 s with
 * DMAKIT_XFER_MAP_ONLY (the mapping layer without the device, hot, as the
 * kernel's benchmark loops), and as real transfers, where each request is
 * mapped once per ~100 ms of device time (cold caches; under TCG that
 * costs far more than on hardware).
 *
 * Kernel: edu1 is unbound from dmakit and bound to dma_map_benchmark
 * (driver_override); one thread maps and unmaps one page with
 * dma_map_single for 2 s (granule 1, TO_DEVICE), reporting averages in
 * units of 100 ns.
 *
 * Prints a Markdown table; never fails on a time.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

#include "kernel_bench.h"

#define REPS	20
#define LOOP_SECONDS	2

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Mean map and unmap ns of one-page requests from a @kind buffer: REPS real
 * transfers, or (@map_only) as many MAP_ONLY requests as fit LOOP_SECONDS.
 */
static int dmakit_cost(int dev, uint32_t kind, uint64_t off, bool map_only,
		       double *map, double *unmap, double *floors,
		       unsigned int *bounced, long *n)
{
	double map_sum = 0, unmap_sum = 0, end = now() + LOOP_SECONDS;
	uint64_t map_floors = 0, unmap_floors = 0;
	struct dmakit_alloc a = { .size = 8192, .kind = kind };
	struct dmakit_xfer x;
	int ctl = open("/dev/dmakit", O_RDWR);

	if (ctl < 0 || ioctl(ctl, DMAKIT_IOC_ALLOC, &a))
		return -1;
	close(ctl);
	*bounced = 0;
	for (*n = 0; map_only ? now() < end : *n < REPS; ++*n) {
		memset(&x, 0, sizeof(x));
		x.fd = a.fd;
		x.offset = off;
		x.len = DMAKIT_EDU_WINDOW_MAX;
		x.dir = DMAKIT_DIR_TO_DEVICE;
		x.flags = map_only ? DMAKIT_XFER_MAP_ONLY : 0;
		if (ioctl(dev, DMAKIT_IOC_XFER, &x))
			return -1;
		map_sum += x.result.map_ns;
		unmap_sum += x.result.unmap_ns;
		map_floors += x.result.map_ns / 100;
		unmap_floors += x.result.unmap_ns / 100;
		*bounced += x.result.bounced;
	}
	*map = map_sum / *n;
	*unmap = unmap_sum / *n;
	/* as dma_map_benchmark: 100 ns floors, their mean in whole 100 ns */
	*floors = (map_floors / *n + unmap_floors / *n) * 100.0;
	close(a.fd);
	return 0;
}

int main(void)
{
	static const struct {
		uint32_t kind;
		uint64_t off;
		bool map_only;
		const char *what;
	} runs[] = {
		{ DMAKIT_KIND_CONTIG, 0, true, "dmakit contig (dma_map_single), MAP_ONLY loop" },
		{ DMAKIT_KIND_PAGES, 0, true, "dmakit pages, inside one page (dma_map_page), MAP_ONLY loop" },
		{ DMAKIT_KIND_PAGES, 2048, true, "dmakit pages, across two pages (dma_map_sgtable), MAP_ONLY loop" },
		{ DMAKIT_KIND_CONTIG, 0, false, "dmakit contig, real transfers (one per ~100 ms)" },
		{ DMAKIT_KIND_PAGES, 2048, false, "dmakit pages across two pages, real transfers (one per ~100 ms)" },
	};
	const char *lane = getenv("DMAKIT_LANE");
	struct dmakit_dev_info info;
	double kmap, kunmap;
	int dev, dev1;

	dev = open("/dev/dmakit-edu0", O_RDWR);
	dev1 = open("/dev/dmakit-edu1", O_RDWR);
	if (dev < 0 || dev1 < 0 || ioctl(dev1, DMAKIT_IOC_DEV_INFO, &info)) {
		perror("dmamap_bench: edu nodes");
		return 1;
	}
	close(dev1);

	printf("## dmamap_bench: map + unmap of one page, lane %s\n\n",
	       lane ? lane : "?");
	if (dma_map_benchmark_run(info.bus_id, info.dma_mask_bits,
				  DMA_MAP_TO_DEVICE, &kmap, &kunmap)) {
		printf("dma_map_benchmark could not run on %s: %s\n\n",
		       info.bus_id, strerror(errno));
		return 0;
	}
	printf("%s, %u-bit mask. dmakit: TO_DEVICE requests of 4095 bytes on "
	       "edu0, times measured by the module around its mapping layer; "
	       "kernel: dma_map_benchmark on edu1 (%s), 1 thread, 2 s, "
	       "granule 1, TO_DEVICE. dma_map_benchmark truncates each sample "
	       "to 100 ns and reports the mean in whole 100 ns; \"as it "
	       "reports\" treats each dmakit request's times the same way, and "
	       "\"like for like\" compares those two.\n\n",
	       info.iommu ? "IOMMU translates" : "no IOMMU",
	       info.dma_mask_bits, info.bus_id);
	printf("| path | requests | map ns | unmap ns | map + unmap ns | vs dma_map_benchmark | map + unmap as it reports | like for like | bounced |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	printf("| kernel dma_map_benchmark (dma_map_single) | - | %.0f | %.0f | %.0f | 1.00x | %.0f | 1.00x | - |\n",
	       kmap, kunmap, kmap + kunmap, kmap + kunmap);
	for (size_t k = 0; k < sizeof(runs) / sizeof(*runs); k++) {
		double map, unmap, floors;
		unsigned int bounced;
		long n;

		if (dmakit_cost(dev, runs[k].kind, runs[k].off,
				runs[k].map_only, &map, &unmap, &floors,
				&bounced, &n)) {
			printf("| %s | failed: %s | | | | | | | |\n", runs[k].what,
			       strerror(errno));
			continue;
		}
		printf("| %s | %ld | %.0f | %.0f | %.0f | %.2fx | %.0f | %.2fx | %u |\n",
		       runs[k].what, n, map, unmap, map + unmap,
		       (map + unmap) / (kmap + kunmap), floors,
		       floors / (kmap + kunmap), bounced);
	}
	printf("\n");
	close(dev);
	return 0;
}
