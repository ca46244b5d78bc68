// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit CLI: bench: a short table of transfers of each kind, with the
 * time per transfer, the device's time and the mapping layer's cost.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

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

int cmd_bench(int argc, char **argv, struct opts *o)
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
