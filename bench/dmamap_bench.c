// SPDX-License-Identifier: GPL-2.0
/*
 * dmamap_bench: CPU cost of dmakit's map/unmap path per transfer, against
 * the kernel's own dma_map_benchmark (kernel/dma/map_benchmark.c) on the
 * same kind of device in the same boot.
 *
 * dmakit: TO_DEVICE transfers of one page (4095 bytes) on edu0; the result
 * of each reports the mapping layer's time before the DMA (map_ns: the
 * reachability check, dma_map_single or dma_map_sgtable, cutting segments)
 * and after it (unmap_ns). Kinds: contig (dma_map_single) and pages (an
 * sg_table of one entry).
 *
 * Kernel: edu1 is unbound from dmakit and bound to dma_map_benchmark
 * (driver_override); one thread maps and unmaps one page with
 * dma_map_single for 2 s (granule 1, TO_DEVICE), reporting averages in
 * units of 100 ns.
 *
 * Prints a Markdown table; never fails on a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dmakit.h>

/* from include/linux/map_benchmark.h (kernel 6.1) */
#define DMA_MAP_BENCHMARK	_IOWR('d', 1, struct map_benchmark)
#define DMA_MAP_TO_DEVICE	1
struct map_benchmark {
	uint64_t avg_map_100ns;
	uint64_t map_stddev;
	uint64_t avg_unmap_100ns;
	uint64_t unmap_stddev;
	uint32_t threads;
	uint32_t seconds;
	int32_t node;
	uint32_t dma_bits;
	uint32_t dma_dir;
	uint32_t dma_trans_ns;
	uint32_t granule;
	uint8_t expansion[76];
};

#define REPS	40

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* mean map and unmap ns of REPS one-page transfers from a @kind buffer */
static int dmakit_cost(int dev, uint32_t kind, double *map, double *unmap,
		       unsigned int *bounced)
{
	struct dmakit_alloc a = { .size = 4096, .kind = kind };
	struct dmakit_xfer x;
	int ctl = open("/dev/dmakit", O_RDWR);

	if (ctl < 0 || ioctl(ctl, DMAKIT_IOC_ALLOC, &a))
		return -1;
	close(ctl);
	*map = *unmap = 0;
	*bounced = 0;
	for (int r = 0; r < REPS; r++) {
		memset(&x, 0, sizeof(x));
		x.fd = a.fd;
		x.len = DMAKIT_EDU_WINDOW_MAX;
		x.dir = DMAKIT_DIR_TO_DEVICE;
		if (ioctl(dev, DMAKIT_IOC_XFER, &x))
			return -1;
		*map += x.result.map_ns / (double)REPS;
		*unmap += x.result.unmap_ns / (double)REPS;
		*bounced += x.result.bounced;
	}
	close(a.fd);
	return 0;
}

/* the kernel's benchmark on the device at PCI address @bdf */
static int kernel_cost(const char *bdf, unsigned int bits, double *map,
		       double *unmap)
{
	struct map_benchmark mb = {
		.threads = 1, .seconds = 2, .node = -1, .dma_bits = bits,
		.dma_dir = DMA_MAP_TO_DEVICE, .granule = 1,
	};
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/dmakit-edu/unbind");
	if (write_file(path, bdf))
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if (write_file(path, "dma_map_benchmark"))
		return -1;
	if (write_file("/sys/bus/pci/drivers/dma_map_benchmark/bind", bdf))
		return -1;
	fd = open("/sys/kernel/debug/dma_map_benchmark", O_RDWR);
	if (fd < 0 || ioctl(fd, DMA_MAP_BENCHMARK, &mb))
		return -1;
	close(fd);
	*map = mb.avg_map_100ns * 100.0;
	*unmap = mb.avg_unmap_100ns * 100.0;
	return 0;
}

int main(void)
{
	static const struct { uint32_t kind; const char *what; } kinds[] = {
		{ DMAKIT_KIND_CONTIG, "dmakit contig (dma_map_single)" },
		{ DMAKIT_KIND_PAGES, "dmakit pages (dma_map_sgtable, 1 entry)" },
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
	if (kernel_cost(info.bus_id, info.dma_mask_bits, &kmap, &kunmap)) {
		printf("dma_map_benchmark could not run on %s: %s\n\n",
		       info.bus_id, strerror(errno));
		return 0;
	}
	printf("%s, %u-bit mask%s. dmakit: mean of %d TO_DEVICE transfers of "
	       "4095 bytes on edu0; kernel: dma_map_benchmark on edu1 (%s), 1 "
	       "thread, 2 s, granule 1, TO_DEVICE (resolution 100 ns).\n\n",
	       info.iommu ? "IOMMU translates" : "no IOMMU",
	       info.dma_mask_bits, "", REPS, info.bus_id);
	printf("| path | map ns | unmap ns | map + unmap ns | vs dma_map_benchmark | bounced |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	printf("| kernel dma_map_benchmark (dma_map_single) | %.0f | %.0f | %.0f | 1.00x | - |\n",
	       kmap, kunmap, kmap + kunmap);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
		double map, unmap;
		unsigned int bounced;

		if (dmakit_cost(dev, kinds[k].kind, &map, &unmap, &bounced)) {
			printf("| %s | failed: %s | | | | |\n", kinds[k].what,
			       strerror(errno));
			continue;
		}
		printf("| %s | %.0f | %.0f | %.0f | %.2fx | %u/%d |\n",
		       kinds[k].what, map, unmap, map + unmap,
		       (map + unmap) / (kmap + kunmap), bounced, REPS);
	}
	printf("\n");
	close(dev);
	return 0;
}
