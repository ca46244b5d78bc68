// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit CLI: alloc, map, translate: one buffer of a kind, filled and
 * verified through write() or a mapping, or its pages' every address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"

/* a buffer of @kind from the control node, or from --dev (coherent needs it) */
void alloc_buf(const struct opts *o, uint32_t kind, uint64_t size,
		      struct dmakit_buf *buf, int *owner)
{
	int ret;

	if (kind == DMAKIT_KIND_COHERENT && !o->dev)
		usage_error("a coherent buffer belongs to a device: add --dev DEV");
	*owner = o->dev ? open_dev(o->dev) : open_ctl(NULL);
	ret = dmakit_buf_alloc(*owner, kind, size,
			       (o->premap ? DMAKIT_ALLOC_PREMAP : 0) |
			       (o->pfnmap ? DMAKIT_ALLOC_PFNMAP : 0), buf);
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

int cmd_alloc(int argc, char **argv, struct opts *o)
{
	return buffer_command(argc, argv, o, 0);
}

int cmd_map(int argc, char **argv, struct opts *o)
{
	return buffer_command(argc, argv, o, 1);
}

static const char *zone_name(unsigned int zone)
{
	static const char *const names[] = { "?", "DMA", "DMA32", "Normal", "Movable" };

	return zone < 5 ? names[zone] : "?";
}

int cmd_translate(int argc, char **argv, struct opts *o)
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
