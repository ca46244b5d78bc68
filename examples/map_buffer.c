// SPDX-License-Identifier: MIT
/*
 * Map a dmakit buffer and use it as memory: write through the mapping,
 * read back through the buffer's fd (and the other way round).
 *
 *   map_buffer [contig|pages|vmalloc] [SIZE]
 *
 * Exits 0 when both paths saw the same bytes, 1 on a mismatch or error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <dmakit/dmakit.h>

int main(int argc, char **argv)
{
	int kind = dmakit_kind_parse(argc > 1 ? argv[1] : "pages");
	size_t size = argc > 2 ? strtoul(argv[2], NULL, 0) : 3 * 4096 + 100;
	struct dmakit_buf buf = DMAKIT_BUF_INIT;
	struct dmakit_buf_info info;
	unsigned char *back;
	int ctl, ret, bad = 0;

	if (kind < 0 || size == 0) {
		fprintf(stderr, "usage: map_buffer [contig|pages|vmalloc] [SIZE]\n");
		return 2;
	}
	ctl = dmakit_open(NULL);
	if (ctl < 0) {
		fprintf(stderr, "/dev/dmakit: %s\n", dmakit_strerror(ctl));
		return 1;
	}
	ret = dmakit_buf_alloc(ctl, kind, size, 0, &buf);
	if (!ret)
		ret = dmakit_buf_map(&buf, PROT_READ | PROT_WRITE);
	back = malloc(buf.size);
	if (ret || !back) {
		fprintf(stderr, "buffer: %s\n", dmakit_strerror(ret ? ret : -12));
		return 1;
	}

	/* 1. store through the mapping, load through the fd */
	unsigned char *mem = buf.addr;
	for (size_t i = 0; i < buf.size; i++)
		mem[i] = (unsigned char)(i * 31 + 7);
	ret = dmakit_buf_read(&buf, 0, back, buf.size);
	if (ret) {
		fprintf(stderr, "read: %s\n", dmakit_strerror(ret));
		return 1;
	}
	bad += memcmp(mem, back, buf.size) != 0;

	/* 2. store through the fd, load through the mapping */
	for (size_t i = 0; i < buf.size; i++)
		back[i] = (unsigned char)~(i * 13);
	ret = dmakit_buf_write(&buf, 0, back, buf.size);
	if (ret) {
		fprintf(stderr, "write: %s\n", dmakit_strerror(ret));
		return 1;
	}
	bad += memcmp(mem, back, buf.size) != 0;

	ret = dmakit_buf_info(&buf, &info);
	if (ret) {
		fprintf(stderr, "info: %s\n", dmakit_strerror(ret));
		return 1;
	}
	printf("%s buffer, %zu bytes at %p: %u mapping(s), %llu fault(s): %s\n",
	       dmakit_kind_name(buf.kind), buf.size, buf.addr, info.mappings,
	       (unsigned long long)info.faults, bad ? "MISMATCH" : "identical");
	free(back);
	dmakit_buf_free(&buf);
	dmakit_close(ctl);
	return bad ? 1 : 0;
}
