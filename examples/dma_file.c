// SPDX-License-Identifier: MIT
/*
 * DMA a file into device memory and back: each window-sized piece of FILE
 * goes into a buffer, from the buffer to the device (DMA), from the device
 * into a second buffer (DMA), and is compared with the file.
 *
 *   dma_file FILE [DEV]        DEV: edu0 (default), edu1, /dev/dmakit-edu0
 *
 * Exits 0 when every byte came back, 1 on a mismatch or error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dmakit/dmakit.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "dma_file: %s: %s\n", what, dmakit_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	struct dmakit_buf out = DMAKIT_BUF_INIT, in = DMAKIT_BUF_INIT;
	struct dmakit_dev_info info;
	unsigned char *chunk, *back;
	size_t total = 0;
	int dev, file, ret;
	ssize_t n;

	if (argc < 2) {
		fprintf(stderr, "usage: dma_file FILE [DEV]\n");
		return 2;
	}
	file = open(argv[1], O_RDONLY);
	if (file < 0) {
		perror(argv[1]);
		return 1;
	}
	dev = dmakit_dev_open(argc > 2 ? argv[2] : "edu0", O_RDWR);
	if (dev < 0)
		return fail("open device", dev);
	ret = dmakit_dev_info(dev, &info);
	if (ret)
		return fail("device info", ret);

	/* two buffers of one window each: what goes out, what comes back */
	ret = dmakit_buf_alloc(dev, DMAKIT_KIND_PAGES, info.window, 0, &out);
	if (!ret)
		ret = dmakit_buf_alloc(dev, DMAKIT_KIND_PAGES, info.window, 0, &in);
	if (ret)
		return fail("alloc", ret);
	chunk = malloc(info.window);
	back = malloc(info.window);
	if (!chunk || !back)
		return fail("malloc", -12);

	while ((n = read(file, chunk, info.window)) > 0) {
		ret = dmakit_buf_write(&out, 0, chunk, n);
		if (!ret)
			ret = dmakit_to_device(dev, &out, 0, 0, n, NULL);
		if (!ret)
			ret = dmakit_from_device(dev, &in, 0, 0, n, NULL);
		if (!ret)
			ret = dmakit_buf_read(&in, 0, back, n);
		if (ret)
			return fail("transfer", ret);
		if (memcmp(chunk, back, n)) {
			fprintf(stderr, "dma_file: bytes %zu..%zu came back different\n",
				total, total + n - 1);
			return 1;
		}
		total += n;
	}
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	printf("%s: %zu bytes through %s's memory and back: identical\n",
	       argv[1], total, info.name);
	free(chunk);
	free(back);
	dmakit_buf_free(&out);
	dmakit_buf_free(&in);
	close(dev);
	close(file);
	return 0;
}
