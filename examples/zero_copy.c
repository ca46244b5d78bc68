// SPDX-License-Identifier: MIT
/*
 * Zero-copy DMA from malloc'd memory (DMAKIT_IOC_XFER_USER): the module
 * pins this process's own pages and the device reads and writes them; no
 * dmakit buffer, no copy through the kernel.
 *
 *   zero_copy [DEV] [SIZE]     a COPY of SIZE bytes (default 8192) from one
 *                              malloc'd array through the device into another
 *
 * Exits 0 when the target holds the source's bytes, 1 otherwise.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dmakit/dmakit.h>

int main(int argc, char **argv)
{
	size_t size = argc > 2 ? strtoul(argv[2], NULL, 0) : 8192;
	struct dmakit_xfer_result res;
	unsigned char *src, *dst;
	int dev, ret;

	dev = dmakit_dev_open(argc > 1 ? argv[1] : "edu0", O_RDWR);
	if (dev < 0) {
		fprintf(stderr, "zero_copy: %s\n", dmakit_strerror(dev));
		return 1;
	}
	src = malloc(size);
	dst = malloc(size);
	if (!size || !src || !dst) {
		fprintf(stderr, "usage: zero_copy [DEV] [SIZE > 0]\n");
		return 2;
	}
	for (size_t i = 0; i < size; i++)
		src[i] = (unsigned char)(i ^ (i >> 8) ^ 0x5a);
	memset(dst, 0, size);

	/* DMAKIT_XFER_ZEROCOPY: pin, never copy (even a small transfer) */
	ret = dmakit_user_copy(dev, src, dst, size, DMAKIT_XFER_ZEROCOPY, &res);
	if (ret) {
		fprintf(stderr, "zero_copy: %s\n", dmakit_strerror(ret));
		return 1;
	}
	if (res.flags & DMAKIT_RESULT_COPIED) {
		fprintf(stderr, "zero_copy: the module copied instead of pinning\n");
		return 1;
	}
	if (memcmp(src, dst, size)) {
		fprintf(stderr, "zero_copy: MISMATCH\n");
		return 1;
	}
	printf("%zu bytes malloc -> device -> malloc, pinned (zero-copy): "
	       "%u segments, %u sg entries, %.1f ms on the device: identical\n",
	       size, res.segments, res.sg_entries, res.device_ns / 1e6);
	free(src);
	free(dst);
	close(dev);
	return 0;
}
