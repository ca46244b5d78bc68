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
 *
 * main.c parses the options and dispatches through the table below;
 * cli.h lists what the files share; common.c (errors, numbers, device
 * nodes, the data pattern, progress) and json.c (--json) serve every
 * subcommand. The subcommands: cmd_list.c (list, info, stats),
 * cmd_buffer.c (alloc, map, translate), cmd_xfer.c (xfer, copy),
 * cmd_bench.c (bench), cmd_edu.c (liveness, factorial, irq, loopback).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_JSON = 256, OPT_TO, OPT_FROM, OPT_USER, OPT_STAGED, OPT_ZEROCOPY,
	OPT_HOLD, OPT_KIND, OPT_DST_KIND, OPT_LEN, OPT_DEV_OFFSET, OPT_CHUNK,
	OPT_COUNT, OPT_PAGES, OPT_DEV, OPT_FILE, OPT_OUT, OPT_HELP, OPT_PREMAP,
	OPT_PFNMAP,
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
	{ "pfnmap", no_argument, NULL, OPT_PFNMAP },
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
		case OPT_PFNMAP: o->pfnmap = 1; break;
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
	{ "alloc", cmd_alloc, 2, 2, "json,dev,hold,premap,pfnmap",
	  "usage: dmakit alloc KIND SIZE [--dev DEV] [--premap] [--pfnmap] [--hold] [--json]\n"
	  "Allocate a buffer (KIND: contig, pages, vmalloc; coherent with --dev),\n"
	  "fill it with a pattern through write(), read it back through read(),\n"
	  "compare, and show its size and counters. SIZE takes K and M suffixes.\n"
	  "--premap (pages, vmalloc): mmap installs every page at once, as PFN\n"
	  "mappings (DMAKIT_ALLOC_PREMAP: no faults, but not pinnable).\n"
	  "--pfnmap (contig): map it as PFNs, 2 MiB at a time where the kernel\n"
	  "can (DMAKIT_ALLOC_PFNMAP: no struct pages, not pinnable).\n"
	  "--hold keeps the buffer until a signal (for 'dmakit list' to see).\n"
	  "Exit status 1 on a mismatch.\n" },
	{ "map", cmd_map, 2, 2, "json,dev,hold,premap,pfnmap",
	  "usage: dmakit map KIND SIZE [--dev DEV] [--premap] [--pfnmap] [--hold] [--json]\n"
	  "As alloc, but map the buffer (MAP_SHARED) and fill it through the\n"
	  "mapping: read() then shows what the stores left in the buffer.\n" },
	{ "translate", cmd_translate, 2, 2, "json,dev,pages,hold,premap,pfnmap",
	  "usage: dmakit translate KIND SIZE [--dev DEV] [--pages N] [--premap] [--pfnmap] [--hold] [--json]\n"
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
