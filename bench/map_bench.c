// SPDX-License-Identifier: GPL-2.0
/*
 * map_bench: what it costs to map and first-touch a buffer, and to read a
 * mapped one, for each dmakit kind against two references, anonymous memory
 * in 4 KiB pages (MADV_NOHUGEPAGE) and anonymous memory in transparent huge
 * pages (MADV_HUGEPAGE, 2 MiB aligned), and the kernel's own udmabuf.
 * Prints a Markdown table; never passes or fails on the figures.
 *
 *   map_bench [-s MiB] [-r rounds]
 *
 * Each figure is the median of the rounds, taken after one warm-up round
 * (under TCG whatever runs first pays for translation and host memory), and
 * every ratio compares figures of the same run. A reference that cannot be
 * what it says (madvise refused) ends the run with status 1 and no table:
 * with THP "always" an anonymous mapping without MADV_NOHUGEPAGE is mostly
 * huge pages, and a 4 KiB comparison against it would be a THP one.
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
#define HPAGE	(2UL << 20)
#define MAX_ROUNDS 15

/* the targets (issue 19), for every kind at its defaults */
#define TARGET_VS_4K	0.05
#define TARGET_VS_THP	0.15

static size_t size = 64UL << 20;
static int rounds = 5;
static unsigned char *sink;

struct subject {
	const char *name;
	int kind;		/* DMAKIT_KIND_*, 0 = anonymous, -1 = udmabuf */
	int advice;		/* anonymous: MADV_NOHUGEPAGE or MADV_HUGEPAGE */
	int defaults;		/* a kind at its defaults: held to the targets */
	int fault_batch;	/* for fault-mapped kinds; 0 = leave as is */
	uint32_t flags;		/* DMAKIT_ALLOC_* */
	double touch[MAX_ROUNDS], map[MAX_ROUNDS], read[MAX_ROUNDS];
	const char *unavailable;
	long faults;
	long huge_kib;		/* mapped by PMDs (2 MiB) after the touch; -1 unknown */
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

/*
 * AnonHugePages of the VMA that starts at @p (/proc/self/smaps), in KiB:
 * how much of an anonymous region THP really backed; -1 if not found.
 */
static long anon_huge_kib(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end;
	char line[256];
	long kib = -1;
	int in = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start == (unsigned long)p;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* how much of a dmakit mapping PMD entries map (DMAKIT_IOC_TRANSLATE) */
static long dmakit_huge_kib(int fd, const volatile unsigned char *p)
{
	static struct dmakit_page_desc d[DMAKIT_TRANSLATE_MAX];
	long kib = 0;

	for (size_t off = 0; off < size; ) {
		struct dmakit_translate t = {
			.uaddr = (uintptr_t)p + off,
			.count = DMAKIT_TRANSLATE_MAX,
			.descs = (uintptr_t)d,
		};

		if (ioctl(fd, DMAKIT_IOC_TRANSLATE, &t) || !t.count)
			return -1;
		for (unsigned int i = 0; i < t.count; i++)
			if (d[i].flags & DMAKIT_PAGE_PMD)
				kib += PAGE >> 10;
		off += (size_t)t.count * PAGE;
	}
	return kib;
}

/*
 * Anonymous memory for a reference, with @advice applied; THP's is 2 MiB
 * aligned (more is mapped and the ends unmapped: part of its mmap time), as
 * a program that wants huge pages does, so that every 2 MiB of it can be
 * one. A refused madvise ends the run: the reference would be wrong.
 */
static void *anon_map(int advice)
{
	size_t len = advice == MADV_HUGEPAGE ? size + HPAGE : size;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t start;

	if (p == MAP_FAILED)
		return p;
	if (advice == MADV_HUGEPAGE) {
		start = ((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1);
		if (start > (uintptr_t)p)
			munmap(p, start - (uintptr_t)p);
		if ((uintptr_t)p + len > start + size)
			munmap((void *)(start + size), (uintptr_t)p + len - start - size);
		p = (unsigned char *)start;
	}
	if (madvise(p, size, advice)) {
		printf("\n**map_bench: FAILED: madvise(%s) of the reference: %s "
		       "(CONFIG_ADVISE_SYSCALLS? CONFIG_TRANSPARENT_HUGEPAGE?): "
		       "no table, the reference would not be what it says**\n",
		       advice == MADV_HUGEPAGE ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE",
		       strerror(errno));
		fflush(stdout);
		exit(1);
	}
	return p;
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
	p = fd == -2 ? anon_map(s->advice) :
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
		s->huge_kib = dmakit_huge_kib(fd, p);
	} else if (s->kind == 0) {
		s->huge_kib = anon_huge_kib((const void *)p);
	} else {
		s->huge_kib = -1;
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

/* "met" / "NOT met" for a ratio against its ceiling */
static const char *verdict(double ratio, double ceiling)
{
	return ratio <= ceiling ? "met" : "NOT met";
}

static void print_thp_policy(void)
{
	char line[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	line[strcspn(line, "\n")] = 0;
	printf("THP policy (/sys/kernel/mm/transparent_hugepage/enabled): %s.\n",
	       *line ? line : "absent (no CONFIG_TRANSPARENT_HUGEPAGE)");
}

int main(int argc, char **argv)
{
	struct subject subjects[] = {
		{ .name = "anonymous memory, 4 KiB pages (MADV_NOHUGEPAGE): reference", .advice = MADV_NOHUGEPAGE },
		{ .name = "anonymous memory, THP (MADV_HUGEPAGE, 2 MiB aligned): reference", .advice = MADV_HUGEPAGE },
		{ .name = "dmakit contig, fault_batch 16 (default: its pages, pinnable)", .kind = DMAKIT_KIND_CONTIG, .fault_batch = 16, .defaults = 1 },
		{ .name = "dmakit contig, DMAKIT_ALLOC_PFNMAP (2 MiB entries where the kernel has huge PFN maps, else remap_pfn_range)", .kind = DMAKIT_KIND_CONTIG, .flags = DMAKIT_ALLOC_PFNMAP },
		{ .name = "dmakit pages, fault_batch 1", .kind = DMAKIT_KIND_PAGES, .fault_batch = 1 },
		{ .name = "dmakit pages, fault_batch 16 (default)", .kind = DMAKIT_KIND_PAGES, .fault_batch = 16, .defaults = 1 },
		{ .name = "dmakit pages, fault_batch 512", .kind = DMAKIT_KIND_PAGES, .fault_batch = 512 },
		{ .name = "dmakit vmalloc, fault_batch 1", .kind = DMAKIT_KIND_VMALLOC, .fault_batch = 1 },
		{ .name = "dmakit vmalloc, fault_batch 16 (default)", .kind = DMAKIT_KIND_VMALLOC, .fault_batch = 16, .defaults = 1 },
		{ .name = "dmakit vmalloc, fault_batch 512", .kind = DMAKIT_KIND_VMALLOC, .fault_batch = 512 },
		{ .name = "dmakit pages, DMAKIT_ALLOC_PREMAP", .kind = DMAKIT_KIND_PAGES, .flags = DMAKIT_ALLOC_PREMAP },
		{ .name = "dmakit vmalloc, DMAKIT_ALLOC_PREMAP", .kind = DMAKIT_KIND_VMALLOC, .flags = DMAKIT_ALLOC_PREMAP },
		{ .name = "kernel udmabuf (memfd -> dma-buf)", .kind = -1 },
	};
	const int n = sizeof(subjects) / sizeof(subjects[0]);
	struct subject *small = &subjects[0], *thp = &subjects[1];
	double small_touch, small_read, thp_touch, thp_read;
	int opt, met = 0, judged = 0;

	while ((opt = getopt(argc, argv, "s:r:")) != -1) {
		if (opt == 's')
			size = strtoul(optarg, NULL, 0) << 20;
		else if (opt == 'r')
			rounds = atoi(optarg);
	}
	if (!size || size % HPAGE || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: map_bench [-s MiB, a multiple of 2] [-r 1..%d]\n",
			MAX_ROUNDS);
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
	if (small->unavailable || thp->unavailable) {
		printf("\n**map_bench: FAILED: anonymous reference unavailable: %s**\n",
		       small->unavailable ? small->unavailable : thp->unavailable);
		return 1;
	}

	small_touch = median(small->touch);
	small_read = median(small->read);
	thp_touch = median(thp->touch);
	thp_read = median(thp->read);
	printf("## map_bench: mmap + first touch and sequential read of %zu MiB, per kind, against 4 KiB and THP anonymous memory\n\n",
	       size >> 20);
	printf("Targets (issue 19), for every kind at its defaults: mmap + first touch at most %.2fx of 4 KiB "
	       "anonymous memory and at most %.2fx of THP anonymous memory; contig mapped in 2 MiB entries "
	       "at most 1.00x of THP. ",
	       TARGET_VS_4K, TARGET_VS_THP);
	print_thp_policy();
	printf("\n");
	printf("| %zu MiB | mmap + first touch (ms) | vs 4 KiB anon | vs THP anon | of it mmap (ms) | faults | "
	       "2 MiB-mapped (MiB) | at defaults: targets | "
	       "sequential read (ms) | read speed vs 4 KiB anon | read speed vs THP anon |\n",
	       size >> 20);
	printf("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n");
	for (int i = 0; i < n; i++) {
		struct subject *s = &subjects[i];
		char faults[32] = "-", huge[96] = "-", targets[48] = "";
		double t, rd;

		if (s->unavailable) {
			printf("| %s | n/a: %s | | | | | | | | | |\n", s->name, s->unavailable);
			continue;
		}
		t = median(s->touch);
		rd = median(s->read);
		if (s->kind > 0)
			snprintf(faults, sizeof(faults), "%ld", s->faults);
		if (s->huge_kib >= 0)
			snprintf(huge, sizeof(huge), "%ld of %zu%s", s->huge_kib >> 10, size >> 20,
				 s == thp && (size_t)s->huge_kib << 10 < size ?
				 " (THP did NOT back all of it)" :
				 s == small && s->huge_kib ? " (NOT 4 KiB pages only)" : "");
		else if (s->kind >= 0)
			snprintf(huge, sizeof(huge), "unknown");
		if (s->defaults) {
			const char *a = verdict(t / small_touch, TARGET_VS_4K);
			const char *b = verdict(t / thp_touch, TARGET_VS_THP);

			snprintf(targets, sizeof(targets), "4 KiB %s, THP %s", a, b);
			met += *a == 'm' && *b == 'm';
			judged++;
		}
		printf("| %s | %.1f | %.2fx | %.2fx | %.2f | %s | %s | %s | %.1f | %.2fx | %.2fx |\n",
		       s->name, t * 1e3, t / small_touch, t / thp_touch,
		       median(s->map) * 1e3, faults, huge, targets,
		       rd * 1e3, small_read / rd, thp_read / rd);
	}
	printf("\nmedian of %d rounds after one warm-up round; \"vs ... anon\" is time / that "
	       "reference's time (lower is better), read speed is the reference's time / time "
	       "(higher is better). References: anonymous MAP_PRIVATE memory, madvise(MADV_NOHUGEPAGE) "
	       "(4 KiB pages) or madvise(MADV_HUGEPAGE) on a 2 MiB-aligned range; \"2 MiB-mapped\" is "
	       "AnonHugePages of its VMA in /proc/self/smaps for them, the pages DMAKIT_IOC_TRANSLATE "
	       "flags DMAKIT_PAGE_PMD for dmakit's kinds, after the first touch. Kinds at their defaults "
	       "meeting both targets: %d of %d. ", rounds, met, judged);
	if (subjects[2].unavailable)
		printf("contig: unavailable.\n");
	else if (subjects[2].huge_kib > 0)
		printf("contig with 2 MiB mappings vs THP: %.2fx (target <= 1.00x: %s).\n",
		       median(subjects[2].touch) / thp_touch,
		       verdict(median(subjects[2].touch) / thp_touch, 1.0));
	else
		printf("contig is mapped in 4 KiB entries in this build: its 2 MiB target "
		       "(<= 1.00x of THP) does not apply yet.\n");
	return 0;
}
