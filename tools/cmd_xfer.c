// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit CLI: xfer, copy: DMA between memory and the device window, and
 * verified copies through the device as asynchronous requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli.h"

void add_result(struct totals *t, const struct dmakit_xfer_result *r, uint64_t bytes)
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

void json_totals(const struct totals *t)
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

void print_totals(const char *what, const struct totals *t)
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

/* the device's counters, before and after a copy */
static void read_stats(int dev, struct dmakit_stats *st)
{
	struct dmakit_dev_info d;
	int ret = dmakit_dev_info(dev, &d);

	if (!ret)
		ret = dmakit_stats(d.name, st);
	if (ret)
		die("stats", ret);
}

int cmd_xfer(int argc, char **argv, struct opts *o)
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

int cmd_copy(int argc, char **argv, struct opts *o)
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
