// SPDX-License-Identifier: GPL-2.0
/*
 * Helper of module_reload.sh: keep the module in use through a buffer
 * alone, without any device node open.
 *   reload_holder fd    hold a buffer's fd
 *   reload_holder map   hold only a mapping of a buffer whose fd is closed
 * Prints "ready" once /dev/dmakit is closed again, then waits for a line
 * (or EOF) on stdin; in map mode it then checks that the data written
 * through the mapping is still there. Exit status 0 if all went well.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <dmakit.h>

#define SIZE (3 * 4096)

int main(int argc, char **argv)
{
	struct dmakit_alloc a = { .size = SIZE, .kind = DMAKIT_KIND_PAGES };
	int map = argc == 2 && !strcmp(argv[1], "map");
	unsigned char *p = NULL;
	char line[16];
	int ctl, i;

	if (argc != 2 || (!map && strcmp(argv[1], "fd"))) {
		fprintf(stderr, "usage: reload_holder fd|map\n");
		return 2;
	}
	ctl = open("/dev/dmakit", O_RDWR);
	if (ctl < 0 || ioctl(ctl, DMAKIT_IOC_ALLOC, &a)) {
		perror("reload_holder: ALLOC");
		return 1;
	}
	close(ctl);
	if (map) {
		p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		if (p == MAP_FAILED) {
			perror("reload_holder: mmap");
			return 1;
		}
		for (i = 0; i < SIZE; i++)
			p[i] = i * 13 + 1;
		close(a.fd);
	}
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	if (map) {
		for (i = 0; i < SIZE; i++)
			if (p[i] != (unsigned char)(i * 13 + 1)) {
				fprintf(stderr, "reload_holder: byte %d changed\n", i);
				return 1;
			}
		munmap(p, SIZE);
	}
	return 0;
}
