// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit CLI: what every subcommand uses: errors and their exit status,
 * numbers from the command line, the device nodes, the data pattern,
 * timing and progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- errors ------------------------------------------------------------- */

const char *prog_cmd = "dmakit";

/* an error from libdmakit: errno's own words and what it means for dmakit */
void die(const char *what, int err)
{
	const char *plain = strerror(-err), *ours = dmakit_strerror(err);

	if (strcmp(plain, ours))
		fprintf(stderr, "dmakit: %s: %s: %s\n", what, plain, ours);
	else
		fprintf(stderr, "dmakit: %s: %s\n", what, plain);
	exit(1);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dmakit %s: ", prog_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(dmakit %s --help)\n", prog_cmd);
	exit(2);
}

/* ---- numbers ------------------------------------------------------------ */

/* a number with an optional K/M suffix (KiB, MiB), e.g. 4095, 0x1000, 16K */
uint64_t parse_size(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end == 'K' || *end == 'k') {
		v <<= 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v <<= 20;
		end++;
	}
	if (errno || !*s || *s == '-' || *end)
		usage_error("%s: not a number: %s", what, s);
	return v;
}

uint32_t parse_u32(const char *s, const char *what)
{
	uint64_t v = parse_size(s, what);

	if (v > UINT32_MAX)
		usage_error("%s: out of range: %s", what, s);
	return (uint32_t)v;
}

uint32_t kind_arg(const char *s)
{
	int k = dmakit_kind_parse(s);

	if (k < 0)
		usage_error("unknown buffer kind '%s' (contig, pages, vmalloc, coherent)", s);
	return (uint32_t)k;
}

/* ---- timing and progress ------------------------------------------------ */

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "12.3 KiB/s" */
const char *rate(double bytes, double seconds, char *out, size_t len)
{
	double r = seconds > 0 ? bytes / seconds : 0;

	if (r >= 1 << 20)
		snprintf(out, len, "%.2f MiB/s", r / (1 << 20));
	else
		snprintf(out, len, "%.1f KiB/s", r / 1024);
	return out;
}

void progress_init(struct progress *p, const char *what, uint64_t total, int quiet)
{
	p->what = what;
	p->total = total;
	p->start = now();
	p->tty = isatty(STDERR_FILENO);
	p->shown = -1;
	p->quiet = quiet;
}

void progress_update(struct progress *p, uint64_t done)
{
	int pct = p->total ? (int)(done * 100 / p->total) : 100;
	char r[32];

	if (p->quiet)
		return;
	rate(done, now() - p->start, r, sizeof(r));
	if (p->tty) {
		int fill = pct * 30 / 100;

		fprintf(stderr, "\r%s [%.*s%*s] %3d%%  %llu/%llu bytes  %s ", p->what,
			fill, "##############################", 30 - fill, "", pct,
			(unsigned long long)done, (unsigned long long)p->total, r);
		if (done >= p->total)
			fputc('\n', stderr);
	} else if (pct / 10 > p->shown || done >= p->total) {
		p->shown = pct / 10;
		fprintf(stderr, "%s: %llu/%llu bytes (%d%%), %s\n", p->what,
			(unsigned long long)done, (unsigned long long)p->total, pct, r);
	}
}

/* ---- device nodes, data ------------------------------------------------- */

int open_dev(const char *name)
{
	char path[DMAKIT_PATH_MAX];
	int fd;

	if (dmakit_dev_path(name, path, sizeof(path)))
		usage_error("device name too long: %s", name);
	fd = dmakit_dev_open(path, O_RDWR);
	if (fd < 0)
		die(path, fd);
	return fd;
}

int open_ctl(struct dmakit_info *info)
{
	int fd = dmakit_open(info);

	if (fd < 0)
		die("/dev/dmakit", fd);
	return fd;
}

/* the pattern every command fills buffers with: byte i of a run seeded s */
static unsigned char pattern_byte(uint64_t i, unsigned int seed)
{
	return (unsigned char)((i * 7 + 3 + seed) ^ (i >> 12));
}

void fill_pattern(unsigned char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

void *xmalloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p)
		die("malloc", -ENOMEM);
	return p;
}
