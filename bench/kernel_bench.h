/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's own dma_map_benchmark (kernel/dma/map_benchmark.c), run on an
 * edu device taken from dmakit: shared by the benchmarks that compare with
 * it. The device stays bound to dma_map_benchmark until the VM reboots.
 */
#ifndef DMAKIT_KERNEL_BENCH_H
#define DMAKIT_KERNEL_BENCH_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* from include/linux/map_benchmark.h (kernel 6.1) */
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
#define DMA_MAP_BENCHMARK	_IOWR('d', 1, struct map_benchmark)
#define DMA_MAP_BIDIRECTIONAL	0
#define DMA_MAP_TO_DEVICE	1

static inline int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/*
 * Unbind the edu at PCI address @bdf from dmakit, bind it to
 * dma_map_benchmark and run one thread for 2 s mapping one page at a time
 * in direction @dir. Its averages (in ns) go to @map and @unmap; each
 * sample is truncated to 100 ns by the kernel. Returns 0 or -1 (errno).
 */
static inline int dma_map_benchmark_run(const char *bdf, unsigned int bits,
					unsigned int dir, double *map,
					double *unmap)
{
	struct map_benchmark mb = {
		.threads = 1, .seconds = 2, .node = -1, .dma_bits = bits,
		.dma_dir = dir, .granule = 1,
	};
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if (write_file("/sys/bus/pci/drivers/dmakit-edu/unbind", bdf) ||
	    write_file(path, "dma_map_benchmark") ||
	    write_file("/sys/bus/pci/drivers/dma_map_benchmark/bind", bdf))
		return -1;
	fd = open("/sys/kernel/debug/dma_map_benchmark", O_RDWR);
	if (fd < 0)
		return -1;
	if (ioctl(fd, DMA_MAP_BENCHMARK, &mb)) {
		close(fd);
		return -1;
	}
	close(fd);
	*map = mb.avg_map_100ns * 100.0;
	*unmap = mb.avg_unmap_100ns * 100.0;
	return 0;
}

#endif /* DMAKIT_KERNEL_BENCH_H */
