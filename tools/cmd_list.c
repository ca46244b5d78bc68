// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit CLI: list, info, stats: the module, its device nodes, the
 * buffers open in any process, one device's identity and its counters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"

/* ---- list, info --------------------------------------------------------- */

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

int cmd_list(int argc, char **argv, struct opts *o)
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

int cmd_info(int argc, char **argv, struct opts *o)
{
	int fd = open_dev(argv[argc - 1]);

	show_dev(fd, 1, o->json);
	dmakit_close(fd);
	return 0;
}

/* ---- stats -------------------------------------------------------------- */

int cmd_stats(int argc, char **argv, struct opts *o)
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
