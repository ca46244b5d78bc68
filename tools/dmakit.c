// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit: command-line view of the dmakit module.
 *
 *   dmakit list                      the module and its device nodes
 *   dmakit info DEV                  identity of one device (edu0 or a path)
 *   dmakit liveness DEV VALUE        write VALUE, read back its complement
 *   dmakit factorial DEV N           N! computed by the device (mod 2^32)
 *   dmakit irq DEV CAUSES            raise interrupt causes, see them handled
 *   dmakit loopback DEV LEN          LEN bytes to the device window and back
 *   dmakit translate KIND SIZE       a buffer's pages: every address they have
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <dmakit.h>

static const char *usage =
	"usage: dmakit list\n"
	"       dmakit info DEV\n"
	"       dmakit liveness DEV VALUE\n"
	"       dmakit factorial DEV N\n"
	"       dmakit irq DEV CAUSES\n"
	"       dmakit loopback DEV LEN\n"
	"       dmakit translate contig|pages|vmalloc SIZE\n"
	"DEV is a node name (edu0, fd0, dmakit-edu0) or a path (/dev/dmakit-edu0).\n"
	"translate allocates a buffer, maps it, touches its first half and shows\n"
	"each page's addresses (at most 16 pages).\n";

static int open_dev(const char *dev)
{
	char path[128];
	int fd;

	if (strchr(dev, '/'))
		snprintf(path, sizeof(path), "%s", dev);
	else if (!strncmp(dev, "dmakit", 6))
		snprintf(path, sizeof(path), "/dev/%s", dev);
	else
		snprintf(path, sizeof(path), "/dev/dmakit-%s", dev);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "dmakit: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void fail(const char *what)
{
	fprintf(stderr, "dmakit: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned long parse_number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "dmakit: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return v;
}

static const char *irq_mode_name(unsigned int mode)
{
	return mode == DMAKIT_IRQ_MSI ? "MSI" :
	       mode == DMAKIT_IRQ_INTX ? "INTx" :
	       mode == DMAKIT_IRQ_ISA ? "ISA" : "?";
}

/* the floppy node: an ISA device, no PCI identity */
static void print_fdc(int fd, const struct dmakit_dev_info *d, int verbose)
{
	struct dmakit_fdc_info f;

	if (ioctl(fd, DMAKIT_IOC_FDC_INFO, &f))
		fail("DMAKIT_IOC_FDC_INFO");
	if (!verbose) {
		printf("%-14s %-13s floppy     %-4s irq %-3u %2u-bit DMA, channel %u\n",
		       d->name, d->bus_id, irq_mode_name(d->irq_mode), d->irq,
		       d->dma_mask_bits, f.dma_channel);
		return;
	}
	printf("name:          %s\n", d->name);
	printf("bus address:   %s (I/O ports)\n", d->bus_id);
	printf("engine:        floppy controller, VERSION %#04x; drive A CMOS type %u, %llu bytes\n",
	       f.fdc_version, f.drive_type, (unsigned long long)f.disk_size);
	printf("interrupt:     %s, irq %u\n", irq_mode_name(d->irq_mode), d->irq);
	printf("DMA:           8237 channel %u, %u address bits; buffer %u bytes at bus %#llx\n",
	       f.dma_channel, d->dma_mask_bits, f.buf_size,
	       (unsigned long long)f.buf_bus);
	printf("transfers:     %llu (%llu bytes), %llu errors, %llu timeouts, %llu resets\n",
	       (unsigned long long)f.transfers, (unsigned long long)f.bytes,
	       (unsigned long long)f.errors, (unsigned long long)f.timeouts,
	       (unsigned long long)f.resets);
}

static void print_dev(int fd, int verbose)
{
	struct dmakit_dev_info d;

	if (ioctl(fd, DMAKIT_IOC_DEV_INFO, &d))
		fail("DMAKIT_IOC_DEV_INFO");
	if (d.engine == DMAKIT_ENGINE_ISA_FDC) {
		print_fdc(fd, &d, verbose);
		return;
	}
	if (!verbose) {
		printf("%-14s %-13s %04x:%04x  %-4s irq %-3u %2u-bit DMA%s\n",
		       d.name, d.bus_id, d.vendor, d.device,
		       irq_mode_name(d.irq_mode), d.irq, d.dma_mask_bits,
		       d.iommu ? ", IOMMU" : "");
		return;
	}
	printf("name:          %s\n", d.name);
	printf("bus address:   %s\n", d.bus_id);
	printf("PCI id:        %04x:%04x rev %#x\n", d.vendor, d.device,
	       d.revision);
	printf("engine:        %s, id register %#010x (version %u.%u)\n",
	       d.engine == DMAKIT_ENGINE_EDU ? "edu" : "?", d.hw_id,
	       d.hw_id >> 24, (d.hw_id >> 16) & 0xff);
	printf("registers:     BAR0, %llu KiB\n",
	       (unsigned long long)d.bar_len >> 10);
	printf("interrupt:     %s, irq %u\n", irq_mode_name(d.irq_mode), d.irq);
	printf("DMA mask:      %u bits\n", d.dma_mask_bits);
	printf("translation:   %s\n", d.iommu ? "IOMMU (bus addresses are IOVAs)"
					    : "none (bus address = physical)");
}

static int cmd_list(void)
{
	struct dmakit_info info;
	glob_t g;
	int fd = open("/dev/dmakit", O_RDONLY);

	if (fd < 0)
		fail("/dev/dmakit (is the module loaded?)");
	if (ioctl(fd, DMAKIT_IOC_INFO, &info))
		fail("DMAKIT_IOC_INFO");
	close(fd);
	printf("dmakit %s, ABI %u, page size %u, %u device%s\n",
	       info.module_version, info.abi_version, info.page_size,
	       info.num_devices, info.num_devices == 1 ? "" : "s");
	if (glob("/dev/dmakit-*", 0, NULL, &g))
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		fd = open(g.gl_pathv[i], O_RDWR);
		if (fd < 0) {
			printf("%-14s (%s)\n", g.gl_pathv[i] + 5, strerror(errno));
			continue;
		}
		print_dev(fd, 0);
		close(fd);
	}
	globfree(&g);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_loopback(int fd, unsigned long len)
{
	struct dmakit_edu_loopback lb = { .len = len };
	unsigned char *src = malloc(len ? len : 1), *dst = malloc(len ? len : 1);
	double t;
	size_t bad = 0;

	if (!src || !dst)
		fail("malloc");
	for (size_t i = 0; i < len; i++)
		src[i] = i * 7 + 3;
	memset(dst, 0, len);
	lb.src = (uintptr_t)src;
	lb.dst = (uintptr_t)dst;
	t = now();
	if (ioctl(fd, DMAKIT_IOC_EDU_LOOPBACK, &lb))
		fail("DMAKIT_IOC_EDU_LOOPBACK");
	t = now() - t;
	for (size_t i = 0; i < len; i++)
		bad += src[i] != dst[i];
	for (int i = 0; i < 2; i++)
		printf("%-4s page: phys %#014llx  bus %#014llx%s\n",
		       i ? "from" : "to", (unsigned long long)lb.phys[i],
		       (unsigned long long)lb.dma[i],
		       lb.bounced & (1 << i) ? "  (bounced through swiotlb)" : "");
	printf("%lu bytes to the device and back in %.0f ms: %s\n", len,
	       t * 1e3, bad ? "MISMATCH" : "identical");
	if (!lb.phys[0])
		printf("(addresses are shown to CAP_SYS_ADMIN only)\n");
	free(src);
	free(dst);
	return bad ? 1 : 0;
}

static const char *zone_name(unsigned int zone)
{
	static const char *const names[] = { "?", "DMA", "DMA32", "Normal", "Movable" };

	return zone < 5 ? names[zone] : "?";
}

static int cmd_translate(const char *kind_name, unsigned long size)
{
	static const char *const kinds[] = { NULL, "contig", "pages", "vmalloc" };
	struct dmakit_page_desc d[16];
	struct dmakit_alloc a = { .size = size };
	struct dmakit_translate t = { .count = 16, .descs = (uintptr_t)d };
	volatile unsigned char *map;
	int ctl;

	for (int k = 1; k <= 3; k++)
		if (!strcmp(kind_name, kinds[k]))
			a.kind = k;
	if (!a.kind) {
		fputs(usage, stderr);
		return 2;
	}
	ctl = open("/dev/dmakit", O_RDWR);
	if (ctl < 0)
		fail("/dev/dmakit (is the module loaded?)");
	if (ioctl(ctl, DMAKIT_IOC_ALLOC, &a))
		fail("DMAKIT_IOC_ALLOC");
	map = mmap(NULL, a.size, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	if (map == MAP_FAILED)
		fail("mmap");
	for (size_t off = 0; off < a.size / 2; off += 4096)
		map[off] = 1;
	t.uaddr = (uintptr_t)map;
	if (ioctl(a.fd, DMAKIT_IOC_TRANSLATE, &t))
		fail("DMAKIT_IOC_TRANSLATE");

	printf("%s buffer of %llu bytes mapped at %p; first half touched\n",
	       kind_name, (unsigned long long)a.size, (void *)map);
	printf("%-14s %-9s %-9s %-14s %-18s %-7s %-6s %3s %3s %s\n", "user VA",
	       "PTE pfn", "pfn", "physical", "kernel VA", "kva", "zone", "ref",
	       "map", "flags");
	for (uint32_t i = 0; i < t.count; i++)
		printf("%-14llx %-9llx %-9llx %-14llx %-18llx %-7s %-6s %3u %3d %s%s\n",
		       (unsigned long long)d[i].uva,
		       (unsigned long long)d[i].mapped_pfn,
		       (unsigned long long)d[i].pfn,
		       (unsigned long long)d[i].phys,
		       (unsigned long long)d[i].kva,
		       d[i].kva_kind == DMAKIT_KVA_VMALLOC ? "vmalloc" : "linear",
		       zone_name(d[i].zone), d[i].refcount, d[i].mapcount,
		       d[i].flags & DMAKIT_PAGE_MAPPED ? "mapped" : "-",
		       d[i].flags & DMAKIT_PAGE_CONTIG_NEXT ? ",contig-next" : "");
	if (!d[0].pfn)
		printf("(physical and kernel addresses are shown to CAP_SYS_ADMIN only)\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int fd;

	if (!strcmp(cmd, "list") && argc == 2)
		return cmd_list();
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 3 || (argc != 3 && argc != 4)) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(cmd, "translate") && argc == 4)
		return cmd_translate(argv[2], parse_number(argv[3], "SIZE"));
	fd = open_dev(argv[2]);
	if (!strcmp(cmd, "info") && argc == 3) {
		print_dev(fd, 1);
	} else if (!strcmp(cmd, "liveness") && argc == 4) {
		struct dmakit_edu_liveness l = {
			.value = parse_number(argv[3], "VALUE"),
		};

		if (ioctl(fd, DMAKIT_IOC_EDU_LIVENESS, &l))
			fail("DMAKIT_IOC_EDU_LIVENESS");
		printf("wrote %#010x, read back %#010x (%s)\n", l.value, l.result,
		       l.result == ~l.value ? "its complement: alive" : "WRONG");
	} else if (!strcmp(cmd, "factorial") && argc == 4) {
		struct dmakit_edu_factorial f = {
			.n = parse_number(argv[3], "N"),
		};

		if (ioctl(fd, DMAKIT_IOC_EDU_FACTORIAL, &f))
			fail("DMAKIT_IOC_EDU_FACTORIAL");
		printf("%u! = %u (mod 2^32, computed by the device)\n", f.n,
		       f.result);
	} else if (!strcmp(cmd, "irq") && argc == 4) {
		struct dmakit_edu_raise_irq r = {
			.causes = parse_number(argv[3], "CAUSES"),
		};

		if (ioctl(fd, DMAKIT_IOC_EDU_RAISE_IRQ, &r))
			fail("DMAKIT_IOC_EDU_RAISE_IRQ");
		printf("raised %#x; the handler saw and acked %#x; %llu interrupts so far\n",
		       r.causes, r.seen, (unsigned long long)r.irq_count);
	} else if (!strcmp(cmd, "loopback") && argc == 4) {
		return cmd_loopback(fd, parse_number(argv[3], "LEN"));
	} else {
		fputs(usage, stderr);
		return 2;
	}
	close(fd);
	return 0;
}
