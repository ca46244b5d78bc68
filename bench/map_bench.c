// SPDX-License-Identifier: GPL-2.0
/*
 * map_bench: what it costs to map and first-touch a buffer, and to read a
 * mapped one, for each dmakit kind against anonymous memory and the
 * kernel's own udmabuf. Prints a Markdown table; never passes or fails.
 *
 *   map_bench [-s MiB] [-r rounds]
 *
 * Each figure is the median of the rounds, taken after one warm-up round
 * (under TCG whatever runs first pays for translation and host memory), and
 * every ratio compares figures of the same run.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

#define PAGE	4096UL
#define MAX_ROUNDS 15

static size_t size = 64UL << 20;
static int rounds = 5;
static unsigned char *sink;

struct subject {
	const char *name;
	int kind;		/* DMAKIT_KIND_*, 0 = anonymous, -1 = udmabuf */
	int fault_batch;	/* for pages/vmalloc; 0 = leave as is */
	uint32_t flags;		/* DMAKIT_ALLOC_* */
	double touch[MAX_ROUNDS], map[MAX_ROUNDS], read[MAX_ROUNDS];
	const char *unavailable;
	long faults;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int set_fault_batch(int batch)
{
	FILE *f = fopen("/sys/module/dmakit/parameters/fault_batch", "w");

	if (!f)
		return -1;
	fprintf(f, "%d\n", batch);
	return fclose(f);
}

/* an fd whose mmap gives the subject's memory; -1 with s->unavailable set */
static int open_subject(struct subject *s)
{
	if (s->kind > 0) {
		struct dmakit_alloc a = { .size = size, .kind = s->kind,
					  .flags = s->flags };
		int ctl = open("/dev/dmakit", O_RDWR);

		if (ctl < 0 || ioctl(ctl, DMAKIT_IOC_ALLOC, &a)) {
			s->unavailable = strerror(errno);
			a.fd = -1;
		}
		if (ctl >= 0)
			close(ctl);
		return a.fd;
	}
	if (s->kind < 0) {
		struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
		int dev = open("/dev/udmabuf", O_RDWR), memfd, buf = -1;

		if (dev < 0) {
			s->unavailable = "no /dev/udmabuf in this kernel";
			return -1;
		}
		memfd = memfd_create("map_bench", MFD_ALLOW_SEALING);
		if (memfd < 0 || ftruncate(memfd, size) ||
		    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
			s->unavailable = strerror(errno);
		} else {
			c.memfd = memfd;
			buf = ioctl(dev, UDMABUF_CREATE, &c);
			if (buf < 0) {
				s->unavailable = strerror(errno);
				buf = -1;
			}
		}
		if (memfd >= 0)
			close(memfd);
		close(dev);
		return buf;
	}
	return -2;	/* anonymous */
}

static void measure(struct subject *s, int round)
{
	volatile unsigned char *p;
	double t;
	int fd;

	if (s->fault_batch)
		set_fault_batch(s->fault_batch);
	fd = open_subject(s);
	if (fd == -1)
		return;

	t = now();
	p = fd == -2 ? mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) :
		       mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		s->unavailable = strerror(errno);
		goto out;
	}
	s->map[round] = now() - t;
	for (size_t off = 0; off < size; off += PAGE)
		p[off] = 1;
	s->touch[round] = now() - t;

	t = now();
	memcpy(sink, (const void *)p, size);
	s->read[round] = now() - t;

	if (s->kind > 0) {
		struct dmakit_buf_info info;

		if (!ioctl(fd, DMAKIT_IOC_BUF_INFO, &info))
			s->faults = info.faults;
	}
	munmap((void *)p, size);
out:
	if (fd >= 0)
		close(fd);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v)
{
	double sorted[MAX_ROUNDS];

	memcpy(sorted, v, sizeof(double) * rounds);
	qsort(sorted, rounds, sizeof(double), cmp);
	return sorted[rounds / 2];
}

int main(int argc, char **argv)
{
	struct subject subjects[] = {
		{ .name = "anonymous memory (reference)", .kind = 0 },
		{ .name = "dmakit contig (remap_pfn_range)", .kind = DMAKIT_KIND_CONTIG },
		{ .name = "dmakit pages, fault_batch 1", .kind = DMAKIT_KIND_PAGES, .fault_batch = 1 },
		{ .name = "dmakit pages, fault_batch 16", .kind = DMAKIT_KIND_PAGES, .fault_batch = 16 },
		{ .name = "dmakit pages, fault_batch 512", .kind = DMAKIT_KIND_PAGES, .fault_batch = 512 },
		{ .name = "dmakit vmalloc, fault_batch 1", .kind = DMAKIT_KIND_VMALLOC, .fault_batch = 1 },
		{ .name = "dmakit vmalloc, fault_batch 16", .kind = DMAKIT_KIND_VMALLOC, .fault_batch = 16 },
		{ .name = "dmakit vmalloc, fault_batch 512", .kind = DMAKIT_KIND_VMALLOC, .fault_batch = 512 },
		{ .name = "dmakit pages, DMAKIT_ALLOC_PREMAP", .kind = DMAKIT_KIND_PAGES, .flags = DMAKIT_ALLOC_PREMAP },
		{ .name = "dmakit vmalloc, DMAKIT_ALLOC_PREMAP", .kind = DMAKIT_KIND_VMALLOC, .flags = DMAKIT_ALLOC_PREMAP },
		{ .name = "kernel udmabuf (memfd -> dma-buf)", .kind = -1 },
	};
	const int n = sizeof(subjects) / sizeof(subjects[0]);
	double anon_touch, anon_read;
	int opt;

	while ((opt = getopt(argc, argv, "s:r:")) != -1) {
		if (opt == 's')
			size = strtoul(optarg, NULL, 0) << 20;
		else if (opt == 'r')
			rounds = atoi(optarg);
	}
	if (!size || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: map_bench [-s MiB] [-r 1..%d]\n", MAX_ROUNDS);
		return 2;
	}
	sink = malloc(size);
	if (!sink)
		return 1;
	memset(sink, 0, size);

	for (int i = 0; i < n; i++)		/* warm-up, not counted */
		measure(&subjects[i], 0);
	for (int r = 0; r < rounds; r++)	/* rounds interleave subjects */
		for (int i = 0; i < n; i++)
			measure(&subjects[i], r);
	set_fault_batch(16);

	anon_touch = median(subjects[0].touch);
	anon_read = median(subjects[0].read);
	printf("| %zu MiB | mmap + first touch (ms) | vs anonymous | of it mmap (ms) | faults | "
	       "sequential read (ms) | read speed vs anonymous |\n", size >> 20);
	printf("|---|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < n; i++) {
		struct subject *s = &subjects[i];
		char faults[32] = "-";
		double t, rd;

		if (s->unavailable) {
			printf("| %s | n/a: %s | | | | | |\n", s->name, s->unavailable);
			continue;
		}
		t = median(s->touch);
		rd = median(s->read);
		if (s->kind > 0)
			snprintf(faults, sizeof(faults), "%ld", s->faults);
		printf("| %s | %.1f | %.2fx | %.2f | %s | %.1f | %.2fx |\n", s->name,
		       t * 1e3, t / anon_touch, median(s->map) * 1e3, faults,
		       rd * 1e3, anon_read / rd);
	}
	printf("\nmedian of %d rounds after one warm-up round; \"vs anonymous\" "
	       "is time / anonymous time (lower is better), read speed is "
	       "anonymous time / time (higher is better)\n", rounds);
	return 0;
}
