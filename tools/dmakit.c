// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit: command-line view of the dmakit module, on libdmakit.
 *
 *   dmakit list                      the module, its device nodes, open buffers
 *   dmakit info DEV                  identity of one device (edu0 or a path)
 *   dmakit stats DEV                 the device's transfer counters
 *   dmakit alloc|map KIND SIZE       a buffer: fill it, verify it, describe it
 *   dmakit translate KIND SIZE       a buffer's pages: every address they have
 *   dmakit xfer DEV --to|--from      one DMA transfer to or from the device window
 *   dmakit copy DEV SIZE             DMA copy through the device, verified
 *   dmakit bench DEV                 a short built-in benchmark
 *   dmakit liveness|factorial|irq|loopback DEV ARG   edu registers
 *
 * Every subcommand has --help; list, info, stats, translate, xfer, copy
 * and bench have --json. The reference is docs/cli.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <dmakit/dmakit.h>

/* ---- output helpers ----------------------------------------------------- */

static const char *prog_cmd = "dmakit";

/* an error from libdmakit: errno's own words and what it means for dmakit */
static void __attribute__((noreturn)) die(const char *what, int err)
{
	const char *plain = strerror(-err), *ours = dmakit_strerror(err);

	if (strcmp(plain, ours))
		fprintf(stderr, "dmakit: %s: %s: %s\n", what, plain, ours);
	else
		fprintf(stderr, "dmakit: %s: %s\n", what, plain);
	exit(1);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dmakit %s: ", prog_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(dmakit %s --help)\n", prog_cmd);
	exit(2);
}

/* a number with an optional K/M suffix (KiB, MiB), e.g. 4095, 0x1000, 16K */
static uint64_t parse_size(const char *s, const char *what)
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

static uint32_t parse_u32(const char *s, const char *what)
{
	uint64_t v = parse_size(s, what);

	if (v > UINT32_MAX)
		usage_error("%s: out of range: %s", what, s);
	return (uint32_t)v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "12.3 KiB/s" */
static const char *rate(double bytes, double seconds, char *out, size_t len)
{
	double r = seconds > 0 ? bytes / seconds : 0;

	if (r >= 1 << 20)
		snprintf(out, len, "%.2f MiB/s", r / (1 << 20));
	else
		snprintf(out, len, "%.1f KiB/s", r / 1024);
	return out;
}

/* JSON on stdout: nested objects/arrays, commas and escaping handled here */
static int json_depth;
static int json_first[32];

static void json_sep(void)
{
	if (json_depth && !json_first[json_depth])
		putchar(',');
	json_first[json_depth] = 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_key(const char *key)
{
	json_sep();
	if (key) {
		json_string(key);
		putchar(':');
	}
}

static void json_open(const char *key, char bracket)
{
	json_key(key);
	putchar(bracket);
	json_first[++json_depth] = 1;
}

static void json_close(char bracket)
{
	putchar(bracket);
	if (--json_depth == 0)
		putchar('\n');
}

static void json_str(const char *key, const char *value)
{
	json_key(key);
	json_string(value);
}

static void json_u64(const char *key, uint64_t value)
{
	json_key(key);
	printf("%llu", (unsigned long long)value);
}

static void json_i64(const char *key, long long value)
{
	json_key(key);
	printf("%lld", value);
}

static void json_double(const char *key, double value)
{
	json_key(key);
	printf("%.6g", value);
}

static void json_bool(const char *key, int value)
{
	json_key(key);
	fputs(value ? "true" : "false", stdout);
}

static void json_hex(const char *key, uint64_t value)
{
	char text[24];

	snprintf(text, sizeof(text), "0x%llx", (unsigned long long)value);
	json_str(key, text);
}

/*
 * Progress of a multi-request operation, on stderr: a bar redrawn in place
 * on a terminal; otherwise a plain line at each tenth (and the last).
 */
struct progress {
	const char *what;
	uint64_t total;
	double start;
	int tty;
	int shown;
	int quiet;
};

static void progress_init(struct progress *p, const char *what, uint64_t total, int quiet)
{
	p->what = what;
	p->total = total;
	p->start = now();
	p->tty = isatty(STDERR_FILENO);
	p->shown = -1;
	p->quiet = quiet;
}

static void progress_update(struct progress *p, uint64_t done)
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

/* ---- options common to subcommands ------------------------------------- */

struct opts {
	int json;
	int to, from;
	int user;
	int staged;
	int zerocopy;
	int hold;
	int premap;
	uint32_t kind, dst_kind;
	uint64_t len;
	int have_len;
	uint32_t dev_offset;
	uint64_t chunk;
	unsigned int count;
	unsigned int pages;
	const char *dev;
	const char *file;
	const char *out;
};

enum {
	OPT_JSON = 256, OPT_TO, OPT_FROM, OPT_USER, OPT_STAGED, OPT_ZEROCOPY,
	OPT_HOLD, OPT_KIND, OPT_DST_KIND, OPT_LEN, OPT_DEV_OFFSET, OPT_CHUNK,
	OPT_COUNT, OPT_PAGES, OPT_DEV, OPT_FILE, OPT_OUT, OPT_HELP, OPT_PREMAP,
};

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "to", no_argument, NULL, OPT_TO },
	{ "from", no_argument, NULL, OPT_FROM },
	{ "user", no_argument, NULL, OPT_USER },
	{ "staged", no_argument, NULL, OPT_STAGED },
	{ "zerocopy", no_argument, NULL, OPT_ZEROCOPY },
	{ "hold", no_argument, NULL, OPT_HOLD },
	{ "premap", no_argument, NULL, OPT_PREMAP },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "dst-kind", required_argument, NULL, OPT_DST_KIND },
	{ "len", required_argument, NULL, OPT_LEN },
	{ "dev-offset", required_argument, NULL, OPT_DEV_OFFSET },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "pages", required_argument, NULL, OPT_PAGES },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct opts *o);
	int min_args, max_args;		/* positional arguments */
	const char *allowed;		/* options it takes, as "json,dev,..." */
	const char *help;
};

static uint32_t kind_arg(const char *s)
{
	int k = dmakit_kind_parse(s);

	if (k < 0)
		usage_error("unknown buffer kind '%s' (contig, pages, vmalloc, coherent)", s);
	return (uint32_t)k;
}

/* is option @name among the comma-separated @allowed? */
static int option_allowed(const char *allowed, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = allowed; (p = strstr(p, name)); p += n)
		if ((p == allowed || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

static int parse_opts(const struct command *c, int argc, char **argv, struct opts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->kind = DMAKIT_KIND_PAGES;
	o->dst_kind = 0;
	o->pages = 16;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		const char *name = NULL;

		if (opt == 'h' || opt == OPT_HELP) {
			fputs(c->help, stdout);
			exit(0);
		}
		if (opt == '?')
			usage_error("unknown option '%s'", argv[optind - 1]);
		for (const struct option *l = long_opts; l->name; l++)
			if (l->val == opt)
				name = l->name;
		if (!option_allowed(c->allowed, name))
			usage_error("--%s does not apply here", name);
		switch (opt) {
		case OPT_JSON: o->json = 1; break;
		case OPT_TO: o->to = 1; break;
		case OPT_FROM: o->from = 1; break;
		case OPT_USER: o->user = 1; break;
		case OPT_STAGED: o->staged = 1; break;
		case OPT_ZEROCOPY: o->zerocopy = 1; break;
		case OPT_HOLD: o->hold = 1; break;
		case OPT_PREMAP: o->premap = 1; break;
		case OPT_KIND: o->kind = kind_arg(optarg); break;
		case OPT_DST_KIND: o->dst_kind = kind_arg(optarg); break;
		case OPT_LEN: o->len = parse_size(optarg, "--len"); o->have_len = 1; break;
		case OPT_DEV_OFFSET: o->dev_offset = parse_u32(optarg, "--dev-offset"); break;
		case OPT_CHUNK: o->chunk = parse_size(optarg, "--chunk"); break;
		case OPT_COUNT:
			o->count = parse_u32(optarg, "--count");
			if (!o->count)
				usage_error("--count: at least 1");
			break;
		case OPT_PAGES: o->pages = parse_u32(optarg, "--pages"); break;
		case OPT_DEV: o->dev = optarg; break;
		case OPT_FILE: o->file = optarg; break;
		case OPT_OUT: o->out = optarg; break;
		}
	}
	argc -= optind;
	if (argc < c->min_args || argc > c->max_args)
		usage_error("expects %d argument%s, got %d", c->min_args,
			    c->min_args == 1 ? "" : "s", argc);
	return optind;
}

static int open_dev(const char *name)
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

static int open_ctl(struct dmakit_info *info)
{
	int fd = dmakit_open(info);

	if (fd < 0)
		die("/dev/dmakit", fd);
	return fd;
}

static const char *irq_mode_name(unsigned int mode)
{
	return mode == DMAKIT_IRQ_MSI ? "MSI" :
	       mode == DMAKIT_IRQ_INTX ? "INTx" :
	       mode == DMAKIT_IRQ_ISA ? "ISA" : "?";
}

static const char *engine_name(unsigned int engine)
{
	return engine == DMAKIT_ENGINE_EDU ? "edu" :
	       engine == DMAKIT_ENGINE_ISA_FDC ? "floppy" : "?";
}

/* the pattern every command fills buffers with: byte i of a run seeded s */
static unsigned char pattern_byte(uint64_t i, unsigned int seed)
{
	return (unsigned char)((i * 7 + 3 + seed) ^ (i >> 12));
}

static void fill_pattern(unsigned char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

static void *xmalloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p)
		die("malloc", -ENOMEM);
	return p;
}

/* ---- list, info --------------------------------------------------------- */

static void json_dev_info(const struct dmakit_dev_info *d)
{
	json_str("name", d->name);
	json_str("bus_id", d->bus_id);
	json_str("engine", engine_name(d->engine));
	json_u64("index", d->index);
	json_str("irq_mode", irq_mode_name(d->irq_mode));
	json_u64("irq", d->irq);
	json_u64("dma_mask_bits", d->dma_mask_bits);
	json_hex("vendor", d->vendor);
	json_hex("device", d->device);
	json_u64("revision", d->revision);
	json_hex("hw_id", d->hw_id);
	json_u64("bar_len", d->bar_len);
	json_bool("iommu", d->iommu);
	json_u64("window", d->window);
}

static void json_fdc_info(const struct dmakit_fdc_info *f)
{
	json_open("floppy", '{');
	json_hex("io_base", f->io_base);
	json_u64("dma_channel", f->dma_channel);
	json_hex("fdc_version", f->fdc_version);
	json_u64("drive_type", f->drive_type);
	json_u64("disk_size", f->disk_size);
	json_u64("buf_size", f->buf_size);
	json_hex("buf_bus", f->buf_bus);
	json_u64("transfers", f->transfers);
	json_u64("bytes", f->bytes);
	json_u64("errors", f->errors);
	json_u64("timeouts", f->timeouts);
	json_u64("resets", f->resets);
	json_close('}');
}

/* one device: a line (list) or a page (info), text or JSON */
static void show_dev(int fd, int verbose, int json)
{
	struct dmakit_dev_info d;
	struct dmakit_fdc_info f;
	int ret, fdc;

	ret = dmakit_dev_info(fd, &d);
	if (ret)
		die("DMAKIT_IOC_DEV_INFO", ret);
	fdc = d.engine == DMAKIT_ENGINE_ISA_FDC;
	if (fdc && ioctl(fd, DMAKIT_IOC_FDC_INFO, &f))
		die("DMAKIT_IOC_FDC_INFO", -errno);
	if (json) {
		json_open(NULL, '{');
		json_dev_info(&d);
		if (fdc)
			json_fdc_info(&f);
		json_close('}');
		return;
	}
	if (fdc && !verbose) {
		printf("%-14s %-13s floppy     %-4s irq %-3u %2u-bit DMA, channel %u\n",
		       d.name, d.bus_id, irq_mode_name(d.irq_mode), d.irq,
		       d.dma_mask_bits, f.dma_channel);
	} else if (fdc) {
		printf("name:          %s\n", d.name);
		printf("bus address:   %s (I/O ports)\n", d.bus_id);
		printf("engine:        floppy controller, VERSION %#04x; drive A CMOS type %u, %llu bytes\n",
		       f.fdc_version, f.drive_type, (unsigned long long)f.disk_size);
		printf("interrupt:     %s, irq %u\n", irq_mode_name(d.irq_mode), d.irq);
		printf("DMA:           8237 channel %u, %u address bits; buffer %u bytes at bus %#llx\n",
		       f.dma_channel, d.dma_mask_bits, f.buf_size,
		       (unsigned long long)f.buf_bus);
		printf("transfers:     %llu (%llu bytes), %llu errors, %llu timeouts, %llu resets\n",
		       (unsigned long long)f.transfers, (unsigned long long)f.bytes,
		       (unsigned long long)f.errors, (unsigned long long)f.timeouts,
		       (unsigned long long)f.resets);
	} else if (!verbose) {
		printf("%-14s %-13s %04x:%04x  %-4s irq %-3u %2u-bit DMA%s\n",
		       d.name, d.bus_id, d.vendor, d.device,
		       irq_mode_name(d.irq_mode), d.irq, d.dma_mask_bits,
		       d.iommu ? ", IOMMU" : "");
	} else {
		printf("name:          %s\n", d.name);
		printf("bus address:   %s\n", d.bus_id);
		printf("PCI id:        %04x:%04x rev %#x\n", d.vendor, d.device, d.revision);
		printf("engine:        %s, id register %#010x (version %u.%u)\n",
		       engine_name(d.engine), d.hw_id, d.hw_id >> 24, (d.hw_id >> 16) & 0xff);
		printf("registers:     BAR0, %llu KiB\n", (unsigned long long)d.bar_len >> 10);
		printf("interrupt:     %s, irq %u\n", irq_mode_name(d.irq_mode), d.irq);
		printf("DMA mask:      %u bits\n", d.dma_mask_bits);
		printf("translation:   %s\n", d.iommu ? "IOMMU (bus addresses are IOVAs)"
						    : "none (bus address = physical)");
		printf("window:        %u bytes of device memory\n", d.window);
	}
}

/* the lane the VM was booted as (vm/run-lane writes /etc/dmakit/lane.env) */
static int read_lane(char *lane, size_t len)
{
	char line[256];
	FILE *f = fopen("/etc/dmakit/lane.env", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DMAKIT_LANE=", 12))
			continue;
		line[strcspn(line, "\n")] = 0;
		line[12 + (len - 1 < 200 ? len - 1 : 200)] = 0;
		memcpy(lane, line + 12, strlen(line + 12) + 1);
		found = 1;
	}
	fclose(f);
	return found;
}

/*
 * Buffers open anywhere: the ABI has no list of buffers, but every buffer is
 * an fd ("anon_inode:dmakit-buffer"). pidfd_getfd() duplicates another
 * process's fd (the same ptrace rights as reading its memory), and then
 * DMAKIT_IOC_BUF_INFO describes it. Without those rights the fd is only
 * counted.
 */
static void show_buffers(int json)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	int n = 0;

	if (json)
		json_open("buffers", '[');
	while (proc && (pe = readdir(proc))) {
		char path[300], link[64], comm[32] = "?";
		struct dirent *fe;
		DIR *fds;
		int pid = atoi(pe->d_name), pidfd;
		FILE *cf;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		cf = fopen(path, "r");
		if (cf) {
			if (fgets(comm, sizeof(comm), cf))
				comm[strcspn(comm, "\n")] = 0;
			fclose(cf);
		}
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		while ((fe = readdir(fds))) {
			struct dmakit_buf_info bi;
			struct dmakit_buf b = { .fd = -1 };
			int target = atoi(fe->d_name), known = 0;
			ssize_t l;

			snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, fe->d_name);
			l = readlink(path, link, sizeof(link) - 1);
			if (l < 0)
				continue;
			link[l] = 0;
			if (strcmp(link, "anon_inode:dmakit-buffer"))
				continue;
			if (pidfd >= 0)
				b.fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
			if (b.fd >= 0 && !dmakit_buf_info(&b, &bi))
				known = 1;
			dmakit_close(b.fd);
			if (!json && !n)
				printf("buffers:\n");
			n++;
			if (json) {
				json_open(NULL, '{');
				json_i64("pid", pid);
				json_str("comm", comm);
				json_i64("fd", target);
				if (known) {
					json_str("kind", dmakit_kind_name(bi.kind));
					json_u64("size", bi.size);
					json_u64("mappings", bi.mappings);
					json_u64("faults", bi.faults);
				}
				json_close('}');
			} else if (known) {
				printf("  pid %-6d %-12s fd %-3d %-8s %10llu bytes  %u mapping%s, %llu fault%s\n",
				       pid, comm, target, dmakit_kind_name(bi.kind),
				       (unsigned long long)bi.size, bi.mappings,
				       bi.mappings == 1 ? "" : "s",
				       (unsigned long long)bi.faults, bi.faults == 1 ? "" : "s");
			} else {
				printf("  pid %-6d %-12s fd %-3d (not ours to inspect)\n",
				       pid, comm, target);
			}
		}
		dmakit_close(pidfd);
		closedir(fds);
	}
	if (proc)
		closedir(proc);
	if (json)
		json_close(']');
	else if (!n)
		printf("buffers: none open\n");
}

static int cmd_list(int argc, char **argv, struct opts *o)
{
	struct dmakit_dev_entry devs[64];
	struct dmakit_info info;
	char lane[64];
	int n, ctl = open_ctl(&info);

	(void)argc;
	(void)argv;
	dmakit_close(ctl);
	n = dmakit_dev_list(devs, 64);
	if (n < 0)
		die("/dev", n);
	if (n > 64)
		n = 64;
	if (o->json) {
		json_open(NULL, '{');
		json_str("module_version", info.module_version);
		json_u64("abi_version", info.abi_version);
		json_u64("page_size", info.page_size);
		json_u64("num_devices", info.num_devices);
		if (read_lane(lane, sizeof(lane)))
			json_str("lane", lane);
		json_open("devices", '[');
	} else {
		printf("dmakit %s, ABI %u, page size %u, %u device%s\n",
		       info.module_version, info.abi_version, info.page_size,
		       info.num_devices, info.num_devices == 1 ? "" : "s");
		if (read_lane(lane, sizeof(lane)))
			printf("lane: %s (/etc/dmakit/lane.env)\n", lane);
	}
	for (int i = 0; i < n; i++) {
		int fd = dmakit_dev_open(devs[i].path, O_RDWR);

		if (fd < 0) {
			if (o->json) {
				json_open(NULL, '{');
				json_str("name", devs[i].name);
				json_str("error", strerror(-fd));
				json_close('}');
			} else {
				printf("%-14s (%s)\n", devs[i].name, strerror(-fd));
			}
			continue;
		}
		show_dev(fd, 0, o->json);
		dmakit_close(fd);
	}
	if (o->json)
		json_close(']');
	show_buffers(o->json);
	if (o->json)
		json_close('}');
	return 0;
}

static int cmd_info(int argc, char **argv, struct opts *o)
{
	int fd = open_dev(argv[argc - 1]);

	show_dev(fd, 1, o->json);
	dmakit_close(fd);
	return 0;
}

/* ---- stats -------------------------------------------------------------- */

static void read_stats(int dev, struct dmakit_stats *st)
{
	struct dmakit_dev_info d;
	int ret = dmakit_dev_info(dev, &d);

	if (!ret)
		ret = dmakit_stats(d.name, st);
	if (ret)
		die("stats", ret);
}

static int cmd_stats(int argc, char **argv, struct opts *o)
{
	struct dmakit_dev_info d;
	struct dmakit_stats st;
	int fd = open_dev(argv[argc - 1]), ret;

	ret = dmakit_dev_info(fd, &d);
	if (ret)
		die("DMAKIT_IOC_DEV_INFO", ret);
	ret = dmakit_stats(d.name, &st);
	if (ret)
		die(d.name, ret);
	if (o->json) {
		json_open(NULL, '{');
		json_str("device", d.name);
		for (int i = 0; i < DMAKIT_STAT_COUNT; i++)
			json_u64(dmakit_stat_name(i), st.value[i]);
		json_close('}');
	} else {
		printf("%s (/sys/class/misc/%s/stats/)\n", d.name, d.name);
		for (int i = 0; i < DMAKIT_STAT_COUNT; i++)
			printf("  %-11s %12llu\n", dmakit_stat_name(i),
			       (unsigned long long)st.value[i]);
	}
	dmakit_close(fd);
	return 0;
}

/* ---- alloc, map, translate ---------------------------------------------- */

/* a buffer of @kind from the control node, or from --dev (coherent needs it) */
static void alloc_buf(const struct opts *o, uint32_t kind, uint64_t size,
		      struct dmakit_buf *buf, int *owner)
{
	int ret;

	if (kind == DMAKIT_KIND_COHERENT && !o->dev)
		usage_error("a coherent buffer belongs to a device: add --dev DEV");
	*owner = o->dev ? open_dev(o->dev) : open_ctl(NULL);
	ret = dmakit_buf_alloc(*owner, kind, size,
			       o->premap ? DMAKIT_ALLOC_PREMAP : 0, buf);
	if (ret)
		die("DMAKIT_IOC_ALLOC", ret);
}

/* --hold: keep the buffer (and its mapping) until a signal ends us */
static void hold(void)
{
	fflush(stdout);
	pause();
}

static int buffer_command(int argc, char **argv, struct opts *o, int map)
{
	struct dmakit_buf buf = DMAKIT_BUF_INIT;
	struct dmakit_buf_info bi;
	uint32_t kind = kind_arg(argv[argc - 2]);
	uint64_t size = parse_size(argv[argc - 1], "SIZE");
	unsigned char *want, *got;
	int owner, ret, same;

	alloc_buf(o, kind, size, &buf, &owner);
	want = xmalloc(buf.size);
	got = xmalloc(buf.size);
	fill_pattern(want, buf.size, kind);
	if (map) {
		/* store through the mapping, load through the fd */
		ret = dmakit_buf_map(&buf, PROT_READ | PROT_WRITE);
		if (ret)
			die("mmap", ret);
		memcpy(buf.addr, want, buf.size);
	} else {
		ret = dmakit_buf_write(&buf, 0, want, buf.size);
		if (ret)
			die("write", ret);
	}
	ret = dmakit_buf_read(&buf, 0, got, buf.size);
	if (ret)
		die("read", ret);
	same = !memcmp(want, got, buf.size);
	ret = dmakit_buf_info(&buf, &bi);
	if (ret)
		die("DMAKIT_IOC_BUF_INFO", ret);
	if (o->json) {
		json_open(NULL, '{');
		json_str("kind", dmakit_kind_name(bi.kind));
		json_u64("requested", size);
		json_u64("size", bi.size);
		json_i64("fd", buf.fd);
		json_bool("mapped", map);
		json_hex("addr", (uintptr_t)buf.addr);
		json_u64("mappings", bi.mappings);
		json_u64("faults", bi.faults);
		json_bool("verified", same);
		json_close('}');
	} else {
		printf("%s buffer: %llu bytes (asked %llu), fd %d, %s\n",
		       dmakit_kind_name(bi.kind), (unsigned long long)bi.size,
		       (unsigned long long)size, buf.fd,
		       map ? "mapped read-write, shared" : "not mapped");
		if (map)
			printf("address:   %p\n", buf.addr);
		printf("mappings:  %u; faults: %llu\n", bi.mappings,
		       (unsigned long long)bi.faults);
		printf("filled with a pattern through %s, read back through read(): %s\n",
		       map ? "the mapping" : "write()", same ? "identical" : "MISMATCH");
	}
	if (o->hold)
		hold();
	free(want);
	free(got);
	dmakit_buf_free(&buf);
	dmakit_close(owner);
	return same ? 0 : 1;
}

static int cmd_alloc(int argc, char **argv, struct opts *o)
{
	return buffer_command(argc, argv, o, 0);
}

static int cmd_map(int argc, char **argv, struct opts *o)
{
	return buffer_command(argc, argv, o, 1);
}

static const char *zone_name(unsigned int zone)
{
	static const char *const names[] = { "?", "DMA", "DMA32", "Normal", "Movable" };

	return zone < 5 ? names[zone] : "?";
}

static int cmd_translate(int argc, char **argv, struct opts *o)
{
	struct dmakit_buf buf = DMAKIT_BUF_INIT;
	uint32_t kind = kind_arg(argv[argc - 2]);
	uint64_t size = parse_size(argv[argc - 1], "SIZE");
	struct dmakit_page_desc *d;
	volatile unsigned char *map;
	int owner, ret, n;

	if (!o->pages || o->pages > 4096)
		usage_error("--pages: 1..4096");
	alloc_buf(o, kind, size, &buf, &owner);
	ret = dmakit_buf_map(&buf, PROT_READ | PROT_WRITE);
	if (ret)
		die("mmap", ret);
	map = buf.addr;
	for (size_t off = 0; off < buf.size / 2; off += 4096)
		map[off] = 1;
	d = xmalloc(o->pages * sizeof(*d));
	n = dmakit_translate(&buf, buf.addr, 0, d, o->pages);
	if (n < 0)
		die("DMAKIT_IOC_TRANSLATE", n);

	if (o->json) {
		json_open(NULL, '{');
		json_str("kind", dmakit_kind_name(kind));
		json_u64("size", buf.size);
		json_hex("addr", (uintptr_t)buf.addr);
		json_open("pages", '[');
		for (int i = 0; i < n; i++) {
			json_open(NULL, '{');
			json_hex("uva", d[i].uva);
			json_hex("mapped_pfn", d[i].mapped_pfn);
			json_hex("pfn", d[i].pfn);
			json_hex("phys", d[i].phys);
			json_hex("kva", d[i].kva);
			json_str("kva_kind", d[i].kva_kind == DMAKIT_KVA_VMALLOC ?
					      "vmalloc" : "linear");
			json_u64("offset", d[i].offset);
			json_str("zone", zone_name(d[i].zone));
			json_u64("refcount", d[i].refcount);
			json_i64("mapcount", d[i].mapcount);
			json_bool("mapped", d[i].flags & DMAKIT_PAGE_MAPPED);
			json_bool("contig_next", d[i].flags & DMAKIT_PAGE_CONTIG_NEXT);
			json_close('}');
		}
		json_close(']');
		json_close('}');
	} else {
		printf("%s buffer of %llu bytes mapped at %p; first half touched\n",
		       dmakit_kind_name(kind), (unsigned long long)buf.size, buf.addr);
		printf("%-12s  %-9s %-9s %-12s  %-16s  %-7s %-7s %3s %3s  %s\n",
		       "user VA", "PTE pfn", "pfn", "physical", "kernel VA", "kva",
		       "zone", "ref", "map", "flags");
		for (int i = 0; i < n; i++)
			printf("%-12llx  %-9llx %-9llx %-12llx  %-16llx  %-7s %-7s %3u %3d  %s%s\n",
			       (unsigned long long)d[i].uva,
			       (unsigned long long)d[i].mapped_pfn,
			       (unsigned long long)d[i].pfn,
			       (unsigned long long)d[i].phys,
			       (unsigned long long)d[i].kva,
			       d[i].kva_kind == DMAKIT_KVA_VMALLOC ? "vmalloc" : "linear",
			       zone_name(d[i].zone), d[i].refcount, d[i].mapcount,
			       d[i].flags & DMAKIT_PAGE_MAPPED ? "mapped" : "-",
			       d[i].flags & DMAKIT_PAGE_CONTIG_NEXT ? ",contig-next" : "");
		if (n && !d[0].pfn)
			printf("(physical and kernel addresses are shown to CAP_SYS_ADMIN only)\n");
	}
	if (o->hold)
		hold();
	free(d);
	dmakit_buf_free(&buf);
	dmakit_close(owner);
	return 0;
}

/* ---- xfer, copy --------------------------------------------------------- */

/* what several results add up to */
struct totals {
	unsigned int requests;
	uint64_t bytes, segments, sg_entries, dma_segments, bounced, copied;
	uint64_t device_ns, map_ns, unmap_ns;
	double seconds;
};

static void add_result(struct totals *t, const struct dmakit_xfer_result *r, uint64_t bytes)
{
	t->requests++;
	t->bytes += bytes;
	t->segments += r->segments;
	t->sg_entries += r->sg_entries;
	t->dma_segments += r->dma_segments;
	t->bounced += r->bounced;
	t->copied += !!(r->flags & DMAKIT_RESULT_COPIED);
	t->device_ns += r->device_ns;
	t->map_ns += r->map_ns;
	t->unmap_ns += r->unmap_ns;
}

static void json_totals(const struct totals *t)
{
	json_u64("bytes", t->bytes);
	json_u64("requests", t->requests);
	json_u64("segments", t->segments);
	json_u64("sg_entries", t->sg_entries);
	json_u64("dma_segments", t->dma_segments);
	json_u64("bounced", t->bounced);
	json_u64("copied", t->copied);
	json_double("seconds", t->seconds);
	json_double("bytes_per_second", t->seconds > 0 ? t->bytes / t->seconds : 0);
	json_u64("device_ns", t->device_ns);
	json_u64("map_ns", t->map_ns);
	json_u64("unmap_ns", t->unmap_ns);
}

static void print_totals(const char *what, const struct totals *t)
{
	char r[32];

	printf("%s %llu bytes in %u request%s, %llu segment%s: %.1f ms, %s\n", what,
	       (unsigned long long)t->bytes, t->requests, t->requests == 1 ? "" : "s",
	       (unsigned long long)t->segments, t->segments == 1 ? "" : "s",
	       t->seconds * 1e3, rate(t->bytes, t->seconds, r, sizeof(r)));
	printf("  device %.1f ms; mapping layer %.0f us, unmapping %.0f us; "
	       "%llu sg entries -> %llu DMA segments, %llu bounced%s\n",
	       t->device_ns / 1e6, t->map_ns / 1e3, t->unmap_ns / 1e3,
	       (unsigned long long)t->sg_entries, (unsigned long long)t->dma_segments,
	       (unsigned long long)t->bounced, t->copied ? ", copied through the kernel" : "");
}

static void hexdump(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 16) {
		printf("  %04zx ", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			printf(" %02x", p[j]);
		putchar('\n');
	}
}

static int cmd_xfer(int argc, char **argv, struct opts *o)
{
	struct dmakit_buf buf = DMAKIT_BUF_INIT;
	struct dmakit_dev_info d;
	struct dmakit_xfer_result res;
	struct totals t = { 0 };
	struct progress p;
	unsigned char *data;
	uint64_t len;
	int dev, ret;
	uint32_t flags = (o->staged ? DMAKIT_XFER_STAGED : 0) |
			 (o->zerocopy ? DMAKIT_XFER_ZEROCOPY : 0);

	if (o->to == o->from)
		usage_error("say --to (memory -> device) or --from (device -> memory)");
	if ((o->from && o->file) || (o->to && o->out))
		usage_error("--file is the source of --to; --out the target of --from");
	if (o->zerocopy && !o->user)
		usage_error("--zerocopy applies to --user memory");
	if (!o->count)
		o->count = 1;
	if (o->count > 1000)
		usage_error("--count: 1..1000");
	dev = open_dev(argv[argc - 1]);
	/* a coherent buffer comes from the device that uses it */
	o->dev = argv[argc - 1];
	ret = dmakit_dev_info(dev, &d);
	if (ret)
		die("DMAKIT_IOC_DEV_INFO", ret);
	len = o->have_len ? o->len : d.window - (o->dev_offset < d.window ? o->dev_offset : 0);
	data = xmalloc(len);
	if (o->to && o->file) {
		int f = open(o->file, O_RDONLY);
		ssize_t n;

		if (f < 0)
			die(o->file, -errno);
		n = read(f, data, len);
		if (n < 0)
			die(o->file, -errno);
		close(f);
		if (!o->have_len)
			len = (uint64_t)n;
		else if ((uint64_t)n < len)
			usage_error("%s has %zd bytes, fewer than --len", o->file, n);
	} else {
		fill_pattern(data, len, o->dev_offset);
	}
	if (!o->user) {
		int owner;

		alloc_buf(o, o->kind, len ? len : 1, &buf, &owner);
		dmakit_close(owner);
		if (o->to) {
			ret = dmakit_buf_write(&buf, 0, data, len);
			if (ret)
				die("write", ret);
		}
	}

	progress_init(&p, o->to ? "to device" : "from device", len * o->count, o->json);
	for (unsigned int i = 0; i < o->count; i++) {
		if (o->user && o->to)
			ret = dmakit_user_to_device(dev, data, len, o->dev_offset, flags, &res);
		else if (o->user)
			ret = dmakit_user_from_device(dev, data, len, o->dev_offset, flags, &res);
		else {
			struct dmakit_xfer x = {
				.fd = buf.fd, .len = len, .dev_offset = o->dev_offset,
				.dir = o->to ? DMAKIT_DIR_TO_DEVICE : DMAKIT_DIR_FROM_DEVICE,
				.flags = flags,
			};

			ret = dmakit_xfer(dev, &x);
			res = x.result;
		}
		if (ret)
			die(o->to ? "DMA to the device" : "DMA from the device", ret);
		add_result(&t, &res, len);
		progress_update(&p, t.bytes);
	}
	t.seconds = now() - p.start;
	if (o->from && !o->user) {
		ret = dmakit_buf_read(&buf, 0, data, len);
		if (ret)
			die("read", ret);
	}
	if (o->from && o->out) {
		FILE *f = fopen(o->out, "w");

		if (!f || fwrite(data, 1, len, f) != len || fclose(f))
			die(o->out, -errno);
	}
	if (o->json) {
		json_open(NULL, '{');
		json_str("device", d.name);
		json_str("direction", o->to ? "to_device" : "from_device");
		json_str("memory", o->user ? "user" : dmakit_kind_name(o->kind));
		json_u64("dev_offset", o->dev_offset);
		json_u64("len", len);
		json_totals(&t);
		json_close('}');
	} else {
		char what[96];

		snprintf(what, sizeof(what), "%s %s window [%u, %llu):",
			 o->to ? "to" : "from", d.name, o->dev_offset,
			 (unsigned long long)(o->dev_offset + len));
		print_totals(what, &t);
		printf("  memory: %s%s\n", o->user ? "malloc'd (XFER_USER)" :
		       dmakit_kind_name(o->kind), o->staged ? ", staged" : "");
		if (o->from && !o->out)
			hexdump(data, len < 64 ? len : 64);
	}
	free(data);
	dmakit_buf_free(&buf);
	dmakit_close(dev);
	return 0;
}

/*
 * A copy of @size bytes, @chunk at a time, every chunk an asynchronous
 * request queued on the device (at most DMAKIT_XFER_MAX_ASYNC in flight,
 * and, for --user, as many as the fd's max_inflight_mb of pinned memory
 * admits: EAGAIN waits for results): results are reaped as poll() reports
 * them, which drives the progress.
 */
static void run_copy(int dev, const struct opts *o, const struct dmakit_buf *src,
		     const struct dmakit_buf *dst, unsigned char *usrc,
		     unsigned char *udst, uint64_t size, uint64_t chunk,
		     struct totals *t, const char *what, int quiet)
{
	struct progress p;
	uint64_t next = 0;
	unsigned int inflight = 0;
	int ret;

	progress_init(&p, what, size, quiet);
	while (next < size || inflight) {
		struct dmakit_xfer_result res;

		while (next < size && inflight < DMAKIT_XFER_MAX_ASYNC) {
			uint64_t len = size - next < chunk ? size - next : chunk;

			if (o->user) {
				struct iovec s = { usrc + next, len }, dd = { udst + next, len };
				struct dmakit_xfer_user x = {
					.iov = (uintptr_t)&s, .iovcnt = 1,
					.dst_iov = (uintptr_t)&dd, .dst_iovcnt = 1,
					.dir = DMAKIT_DIR_COPY,
					.flags = DMAKIT_XFER_ASYNC, .user_data = len,
				};

				ret = dmakit_xfer_user(dev, &x);
			} else {
				struct dmakit_xfer x = {
					.fd = src->fd, .dst_fd = dst->fd,
					.offset = next, .dst_offset = next, .len = len,
					.dir = DMAKIT_DIR_COPY,
				};

				ret = dmakit_submit(dev, &x, len);
			}
			if (ret == -EAGAIN && inflight)
				break;	/* the fd's room is full: reap first */
			if (ret)
				die("submit", ret);
			next += len;
			inflight++;
		}
		ret = dmakit_wait(dev, 60000);
		if (ret < 0)
			die("poll", ret);
		if (!ret)
			die("poll", -ETIMEDOUT);
		while (inflight && !(ret = dmakit_reap(dev, &res, 0))) {
			inflight--;
			if (res.status)
				die("copy", res.status);
			add_result(t, &res, res.user_data);
			progress_update(&p, t->bytes);
		}
		if (ret && ret != -EAGAIN && ret != -ENOENT)
			die("reap", ret);
	}
	t->seconds = now() - p.start;
}

static int cmd_copy(int argc, char **argv, struct opts *o)
{
	struct dmakit_buf src = DMAKIT_BUF_INIT, dst = DMAKIT_BUF_INIT;
	uint64_t size = parse_size(argv[argc - 1], "SIZE"), chunk, bad = 0;
	unsigned char *want = NULL, *got, *usrc = NULL, *udst = NULL;
	struct dmakit_stats before, after;
	struct dmakit_dev_info d;
	struct totals t = { 0 };
	int dev = open_dev(argv[argc - 2]), ret, owner;

	ret = dmakit_dev_info(dev, &d);
	if (ret)
		die("DMAKIT_IOC_DEV_INFO", ret);
	if (!size)
		usage_error("SIZE: at least 1 byte");
	chunk = o->chunk ? o->chunk : size;
	if (!o->dst_kind)
		o->dst_kind = o->kind;
	/* coherent buffers come from this device */
	if (!o->dev)
		o->dev = argv[argc - 2];
	want = xmalloc(size);
	fill_pattern(want, size, 0x5a);
	if (o->user) {
		usrc = want;
		udst = got = xmalloc(size);
		memset(udst, 0, size);
	} else {
		alloc_buf(o, o->kind, size, &src, &owner);
		dmakit_close(owner);
		alloc_buf(o, o->dst_kind, size, &dst, &owner);
		dmakit_close(owner);
		ret = dmakit_buf_write(&src, 0, want, size);
		if (ret)
			die("write", ret);
		got = xmalloc(size);
	}
	read_stats(dev, &before);
	run_copy(dev, o, &src, &dst, usrc, udst, size, chunk, &t, "copy", o->json);
	read_stats(dev, &after);
	if (!o->user) {
		ret = dmakit_buf_read(&dst, 0, got, size);
		if (ret)
			die("read", ret);
	}
	for (uint64_t i = 0; i < size; i++)
		bad += got[i] != want[i];

	if (o->json) {
		json_open(NULL, '{');
		json_str("device", d.name);
		json_str("src", o->user ? "user" : dmakit_kind_name(o->kind));
		json_str("dst", o->user ? "user" : dmakit_kind_name(o->dst_kind));
		json_u64("size", size);
		json_u64("chunk", chunk);
		json_totals(&t);
		json_bool("verified", !bad);
		json_u64("mismatched_bytes", bad);
		json_open("stats_delta", '{');
		for (int i = 0; i < DMAKIT_STAT_COUNT; i++)
			json_i64(dmakit_stat_name(i),
				 (long long)(after.value[i] - before.value[i]));
		json_close('}');
		json_close('}');
	} else {
		char what[96];

		snprintf(what, sizeof(what), "copied %s -> %s through %s:",
			 o->user ? "malloc" : dmakit_kind_name(o->kind),
			 o->user ? "malloc" : dmakit_kind_name(o->dst_kind), d.name);
		print_totals(what, &t);
		if (bad)
			printf("  data: MISMATCH (%llu bytes differ)\n", (unsigned long long)bad);
		else
			printf("  data: verified, %llu bytes identical\n", (unsigned long long)size);
	}
	free(want);
	free(got);
	dmakit_buf_free(&src);
	dmakit_buf_free(&dst);
	dmakit_close(dev);
	return bad ? 1 : 0;
}

/* ---- bench -------------------------------------------------------------- */

struct bench_case {
	const char *name;
	uint32_t dir;
	uint32_t kind;		/* 0: malloc'd memory, XFER_USER */
	uint32_t flags;
	uint64_t len;		/* 0: the device window */
};

static const struct bench_case bench_cases[] = {
	{ "to-device",   DMAKIT_DIR_TO_DEVICE,   DMAKIT_KIND_CONTIG, 0, 64 },
	{ "to-device",   DMAKIT_DIR_TO_DEVICE,   DMAKIT_KIND_CONTIG, 0, 0 },
	{ "to-device",   DMAKIT_DIR_TO_DEVICE,   DMAKIT_KIND_PAGES,  0, 0 },
	{ "from-device", DMAKIT_DIR_FROM_DEVICE, DMAKIT_KIND_CONTIG, 0, 0 },
	{ "staged-to",   DMAKIT_DIR_TO_DEVICE,   DMAKIT_KIND_CONTIG, DMAKIT_XFER_STAGED, 512 },
	{ "user-to",     DMAKIT_DIR_TO_DEVICE,   0, DMAKIT_XFER_ZEROCOPY, 0 },
	{ "copy",        DMAKIT_DIR_COPY,        DMAKIT_KIND_CONTIG, 0, 8190 },
};

static int cmd_bench(int argc, char **argv, struct opts *o)
{
	const size_t ncases = sizeof(bench_cases) / sizeof(bench_cases[0]);
	struct dmakit_dev_info d;
	int dev = open_dev(argv[argc - 1]), ret;

	if (!o->count)
		o->count = 3;
	if (o->count > 100)
		usage_error("--count: 1..100");
	ret = dmakit_dev_info(dev, &d);
	if (ret)
		die("DMAKIT_IOC_DEV_INFO", ret);
	if (o->json) {
		json_open(NULL, '{');
		json_str("device", d.name);
		json_u64("count", o->count);
		json_open("results", '[');
	} else {
		printf("%s: %u transfer%s per row (edu under TCG: ~100 ms per device segment)\n",
		       d.name, o->count, o->count == 1 ? "" : "s");
		printf("%-11s %-8s %6s %9s %9s %11s %8s %8s\n", "op", "memory", "bytes",
		       "ms/xfer", "device ms", "throughput", "map us", "unmap us");
	}
	for (size_t c = 0; c < ncases; c++) {
		const struct bench_case *bc = &bench_cases[c];
		struct dmakit_buf buf = DMAKIT_BUF_INIT, dst = DMAKIT_BUF_INIT;
		uint64_t len = bc->len ? bc->len : d.window;
		unsigned char *mem = xmalloc(len);
		struct totals t = { 0 };
		char r[32];
		double start;
		int ctl = open_ctl(NULL);

		fill_pattern(mem, len, (unsigned int)c);
		if (bc->kind) {
			ret = dmakit_buf_alloc(ctl, bc->kind, len, 0, &buf);
			if (!ret && bc->dir == DMAKIT_DIR_COPY)
				ret = dmakit_buf_alloc(ctl, bc->kind, len, 0, &dst);
			if (!ret)
				ret = dmakit_buf_write(&buf, 0, mem, len);
			if (ret)
				die("buffer", ret);
		}
		start = now();
		for (unsigned int i = 0; i < o->count; i++) {
			struct dmakit_xfer_result res;

			if (!bc->kind)
				ret = dmakit_user_to_device(dev, mem, len, 0, bc->flags, &res);
			else if (bc->dir == DMAKIT_DIR_COPY)
				ret = dmakit_copy(dev, &buf, 0, &dst, 0, len, &res);
			else {
				struct dmakit_xfer x = {
					.fd = buf.fd, .len = len, .dir = bc->dir,
					.flags = bc->flags,
				};

				ret = dmakit_xfer(dev, &x);
				res = x.result;
			}
			if (ret)
				die(bc->name, ret);
			add_result(&t, &res, len);
		}
		t.seconds = now() - start;
		if (o->json) {
			json_open(NULL, '{');
			json_str("op", bc->name);
			json_str("memory", bc->kind ? dmakit_kind_name(bc->kind) : "user");
			json_bool("staged", bc->flags & DMAKIT_XFER_STAGED);
			json_u64("len", len);
			json_totals(&t);
			json_close('}');
		} else {
			printf("%-11s %-8s %6llu %9.1f %9.1f %11s %8.1f %8.1f\n", bc->name,
			       bc->kind ? dmakit_kind_name(bc->kind) : "malloc",
			       (unsigned long long)len, t.seconds * 1e3 / o->count,
			       t.device_ns / 1e6 / o->count,
			       rate(t.bytes, t.seconds, r, sizeof(r)),
			       t.map_ns / 1e3 / o->count, t.unmap_ns / 1e3 / o->count);
		}
		free(mem);
		dmakit_buf_free(&buf);
		dmakit_buf_free(&dst);
		dmakit_close(ctl);
	}
	if (o->json) {
		json_close(']');
		json_close('}');
	}
	dmakit_close(dev);
	return 0;
}

/* ---- edu registers ------------------------------------------------------ */

static int cmd_liveness(int argc, char **argv, struct opts *o)
{
	uint32_t value = parse_u32(argv[argc - 1], "VALUE"), result;
	int fd = open_dev(argv[argc - 2]), ret;

	(void)o;
	ret = dmakit_edu_liveness(fd, value, &result);
	if (ret)
		die("DMAKIT_IOC_EDU_LIVENESS", ret);
	printf("wrote %#010x, read back %#010x (%s)\n", value, result,
	       result == ~value ? "its complement: alive" : "WRONG");
	return result == ~value ? 0 : 1;
}

static int cmd_factorial(int argc, char **argv, struct opts *o)
{
	uint32_t n = parse_u32(argv[argc - 1], "N"), result;
	int fd = open_dev(argv[argc - 2]), ret;

	(void)o;
	ret = dmakit_edu_factorial(fd, n, &result);
	if (ret)
		die("DMAKIT_IOC_EDU_FACTORIAL", ret);
	printf("%u! = %u (mod 2^32, computed by the device)\n", n, result);
	return 0;
}

static int cmd_irq(int argc, char **argv, struct opts *o)
{
	struct dmakit_edu_raise_irq r = { .causes = parse_u32(argv[argc - 1], "CAUSES") };
	int fd = open_dev(argv[argc - 2]), ret;

	(void)o;
	ret = dmakit_edu_raise_irq(fd, &r);
	if (ret)
		die("DMAKIT_IOC_EDU_RAISE_IRQ", ret);
	printf("raised %#x; the handler saw and acked %#x; %llu interrupts so far\n",
	       r.causes, r.seen, (unsigned long long)r.irq_count);
	return 0;
}

static int cmd_loopback(int argc, char **argv, struct opts *o)
{
	uint32_t len = parse_u32(argv[argc - 1], "LEN");
	int fd = open_dev(argv[argc - 2]), ret;
	unsigned char *src = xmalloc(len), *dst = xmalloc(len);
	struct dmakit_edu_loopback lb = {
		.len = len, .src = (uintptr_t)src, .dst = (uintptr_t)dst,
	};
	size_t bad = 0;
	double t;

	(void)o;
	fill_pattern(src, len, 0);
	memset(dst, 0, len ? len : 1);
	t = now();
	ret = dmakit_edu_loopback(fd, &lb);
	if (ret)
		die("DMAKIT_IOC_EDU_LOOPBACK", ret);
	t = now() - t;
	for (size_t i = 0; i < len; i++)
		bad += src[i] != dst[i];
	for (int i = 0; i < 2; i++)
		printf("%-4s page: phys %#014llx  bus %#014llx%s\n",
		       i ? "from" : "to", (unsigned long long)lb.phys[i],
		       (unsigned long long)lb.dma[i],
		       lb.bounced & (1 << i) ? "  (bounced through swiotlb)" : "");
	printf("%u bytes to the device and back in %.0f ms: %s\n", len,
	       t * 1e3, bad ? "MISMATCH" : "identical");
	if (!lb.phys[0])
		printf("(addresses are shown to CAP_SYS_ADMIN only)\n");
	free(src);
	free(dst);
	return bad ? 1 : 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct command commands[] = {
	{ "list", cmd_list, 0, 0, "json",
	  "usage: dmakit list [--json]\n"
	  "The module (version, ABI, page size), every device node with its bus\n"
	  "address, PCI id, interrupt and DMA mask, the lane (/etc/dmakit/lane.env)\n"
	  "when booted by the test harness, and the dmakit buffers open in any\n"
	  "process (kind, size, mappings; described through pidfd_getfd where\n"
	  "permitted).\n" },
	{ "info", cmd_info, 1, 1, "json",
	  "usage: dmakit info DEV [--json]\n"
	  "Identity of one device node. DEV: edu0, dmakit-edu0 or /dev/dmakit-edu0.\n" },
	{ "stats", cmd_stats, 1, 1, "json",
	  "usage: dmakit stats DEV [--json]\n"
	  "The device's transfer counters (/sys/class/misc/dmakit-eduN/stats/).\n" },
	{ "alloc", cmd_alloc, 2, 2, "json,dev,hold,premap",
	  "usage: dmakit alloc KIND SIZE [--dev DEV] [--premap] [--hold] [--json]\n"
	  "Allocate a buffer (KIND: contig, pages, vmalloc; coherent with --dev),\n"
	  "fill it with a pattern through write(), read it back through read(),\n"
	  "compare, and show its size and counters. SIZE takes K and M suffixes.\n"
	  "--premap (pages, vmalloc): mmap installs every page at once, as PFN\n"
	  "mappings (DMAKIT_ALLOC_PREMAP: no faults, but not pinnable).\n"
	  "--hold keeps the buffer until a signal (for 'dmakit list' to see).\n"
	  "Exit status 1 on a mismatch.\n" },
	{ "map", cmd_map, 2, 2, "json,dev,hold,premap",
	  "usage: dmakit map KIND SIZE [--dev DEV] [--premap] [--hold] [--json]\n"
	  "As alloc, but map the buffer (MAP_SHARED) and fill it through the\n"
	  "mapping: read() then shows what the stores left in the buffer.\n" },
	{ "translate", cmd_translate, 2, 2, "json,dev,pages,hold,premap",
	  "usage: dmakit translate KIND SIZE [--dev DEV] [--pages N] [--premap] [--hold] [--json]\n"
	  "Allocate and map a buffer, touch its first half, and show every address\n"
	  "of its first N pages (default 16): user VA, the PFN in the page table,\n"
	  "PFN, physical and kernel address, zone, ref and map counts (physical\n"
	  "and kernel addresses need CAP_SYS_ADMIN). --hold keeps the mapping until\n"
	  "a signal, e.g. to compare with /proc/PID/pagemap.\n" },
	{ "xfer", cmd_xfer, 1, 1,
	  "json,to,from,user,staged,zerocopy,kind,len,dev-offset,count,file,out",
	  "usage: dmakit xfer DEV --to|--from [--len N] [--dev-offset N] [--count N]\n"
	  "                  [--kind KIND | --user [--zerocopy]] [--staged]\n"
	  "                  [--file F (--to)] [--out F (--from)] [--json]\n"
	  "One DMA transfer between memory and the device window (4095 bytes on\n"
	  "edu), repeated --count times (default 1 here). --to sends --file's first\n"
	  "bytes or a pattern; --from receives into memory and writes it to --out\n"
	  "(or shows its first 64 bytes). Memory is a buffer of --kind (default\n"
	  "pages) or, with --user, malloc'd memory (DMAKIT_IOC_XFER_USER; small\n"
	  "transfers are copied unless --zerocopy). --staged copies through the\n"
	  "driver's own DMA memory. Prints time, throughput and mapping cost.\n" },
	{ "copy", cmd_copy, 2, 2, "json,kind,dst-kind,chunk,user,dev",
	  "usage: dmakit copy DEV SIZE [--kind KIND] [--dst-kind KIND] [--chunk N]\n"
	  "                  [--user] [--json]\n"
	  "DMA SIZE bytes from a patterned buffer through the device into a second\n"
	  "one (DMAKIT_DIR_COPY), --chunk bytes per asynchronous request (default:\n"
	  "all in one), reaped as poll() reports them; then verify every byte.\n"
	  "--user copies between malloc'd arrays (pinned, zero-copy). Shows a\n"
	  "progress bar on a terminal (lines otherwise, on stderr), the throughput\n"
	  "and how the device's counters moved. Exit status 1 on a mismatch.\n" },
	{ "bench", cmd_bench, 1, 1, "json,count",
	  "usage: dmakit bench DEV [--count N] [--json]\n"
	  "A short benchmark: N (default 3) transfers of each kind (to/from the\n"
	  "device, contig and pages buffers, staged, malloc'd zero-copy, copy),\n"
	  "with the time per transfer, the device's time, throughput and the\n"
	  "mapping layer's cost per transfer.\n" },
	{ "liveness", cmd_liveness, 2, 2, "",
	  "usage: dmakit liveness DEV VALUE\n"
	  "Write VALUE to edu's liveness register; it answers the complement.\n" },
	{ "factorial", cmd_factorial, 2, 2, "",
	  "usage: dmakit factorial DEV N\n"
	  "N! modulo 2^32, computed by the device, read after its interrupt.\n" },
	{ "irq", cmd_irq, 2, 2, "",
	  "usage: dmakit irq DEV CAUSES\n"
	  "Raise interrupt causes (not 0x1 or 0x100, the driver's own) and show\n"
	  "what the handler acknowledged.\n" },
	{ "loopback", cmd_loopback, 2, 2, "",
	  "usage: dmakit loopback DEV LEN\n"
	  "LEN bytes (1..4095) to the device window and back through streaming\n"
	  "mappings, with the pages' physical and bus addresses.\n" },
};

static void usage(FILE *f)
{
	fputs("usage: dmakit COMMAND [ARGS] [--json]   (dmakit COMMAND --help)\n"
	      "  list                          module, device nodes, open buffers\n"
	      "  info DEV                      one device's identity\n"
	      "  stats DEV                     its transfer counters\n"
	      "  alloc KIND SIZE               allocate, fill, verify a buffer\n"
	      "  map KIND SIZE                 the same through a mapping\n"
	      "  translate KIND SIZE           every address of a buffer's pages\n"
	      "  xfer DEV --to|--from          DMA between memory and the device window\n"
	      "  copy DEV SIZE                 DMA copy through the device, verified\n"
	      "  bench DEV                     a short benchmark table\n"
	      "  liveness DEV VALUE            edu's liveness register\n"
	      "  factorial DEV N               edu's factorial unit\n"
	      "  irq DEV CAUSES                raise and handle an interrupt\n"
	      "  loopback DEV LEN              LEN bytes to the device window and back\n"
	      "DEV is a node name (edu0, fd0, dmakit-edu0) or a path (/dev/dmakit-edu0).\n"
	      "KIND is contig, pages, vmalloc or coherent (coherent: with --dev DEV).\n"
	      "Reference: docs/cli.md.\n", f);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct opts o;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		int first;

		if (strcmp(cmd, c->name))
			continue;
		prog_cmd = c->name;
		first = parse_opts(c, argc - 1, argv + 1, &o);
		/* getopt moved the positional arguments behind the options */
		return c->run(argc - 1 - first, argv + 1 + first, &o);
	}
	usage(stderr);
	return 2;
}
