// SPDX-License-Identifier: GPL-2.0
/*
 * The edu device nodes: identity, registers, interrupts, and a streaming-DMA
 * loopback through the device window. Every test runs on both devices.
 */
#include <libgen.h>
#include <linux/capability.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define EDU_ID			0x010000ed
#define EDU_BAR_LEN		(1 << 20)
#define SWIOTLB_USED		"/sys/kernel/debug/swiotlb/io_tlb_used"

FIXTURE(edu) {
	int fd;
	struct dmakit_dev_info info;
	char node[64];
};

FIXTURE_VARIANT(edu) {
	int index;
};

FIXTURE_VARIANT_ADD(edu, edu0) { .index = 0 };
FIXTURE_VARIANT_ADD(edu, edu1) { .index = 1 };

FIXTURE_SETUP(edu)
{
	snprintf(self->node, sizeof(self->node), "/dev/dmakit-edu%d",
		 variant->index);
	self->fd = open(self->node, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", self->node, strerror(errno));
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_DEV_INFO, &self->info));
}

FIXTURE_TEARDOWN(edu)
{
	close(self->fd);
}

static int loopback(int fd, struct dmakit_edu_loopback *lb, const void *src,
		    void *dst, unsigned int len)
{
	memset(lb, 0, sizeof(*lb));
	lb->src = (uintptr_t)src;
	lb->dst = (uintptr_t)dst;
	lb->len = len;
	return ioctl(fd, DMAKIT_IOC_EDU_LOOPBACK, lb);
}

static uint32_t factorial32(uint32_t n)
{
	uint32_t r = 1;

	while (n > 0)
		r *= n--;
	return r;
}

TEST_F(edu, identifies_the_device)
{
	char expect[64], link[512], target[512];
	ssize_t n;

	EXPECT_EQ(DMAKIT_ENGINE_EDU, self->info.engine);
	EXPECT_EQ(0x1234, self->info.vendor);
	EXPECT_EQ(0x11e8, self->info.device);
	EXPECT_EQ(0x10, self->info.revision);
	EXPECT_EQ(EDU_ID, self->info.hw_id);
	EXPECT_EQ(EDU_BAR_LEN, self->info.bar_len);
	EXPECT_EQ(variant->index, self->info.index);
	snprintf(expect, sizeof(expect), "dmakit-edu%d", variant->index);
	EXPECT_STREQ(expect, self->info.name);

	/* bus_id is the PCI function the node's sysfs device points at */
	snprintf(link, sizeof(link), "/sys/class/misc/%s/device", expect);
	n = readlink(link, target, sizeof(target) - 1);
	ASSERT_LT(0, n) TH_LOG("readlink %s: %s", link, strerror(errno));
	target[n] = 0;
	EXPECT_STREQ(basename(target), self->info.bus_id);
}

TEST_F(edu, declares_the_lanes_dma_mask)
{
	char param[32];

	EXPECT_EQ(env_long("DMAKIT_DMA_BITS", 28), self->info.dma_mask_bits);
	read_line("/sys/module/dmakit/parameters/dma_bits", param, sizeof(param));
	EXPECT_EQ(self->info.dma_mask_bits, strtoul(param, NULL, 10));
}

TEST_F(edu, iommu_translation_is_as_the_lane_set_it_up)
{
	EXPECT_EQ(env_long("DMAKIT_EXPECT_IOMMU", 0), self->info.iommu);
}

TEST_F(edu, liveness_register_returns_the_complement)
{
	static const uint32_t values[] = {
		0, 1, 0x12345678, 0xdeadbeef, 0x80000000, 0xffffffff,
	};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct dmakit_edu_liveness l = { .value = values[i] };

		ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_EDU_LIVENESS, &l));
		EXPECT_EQ(~values[i], l.result) TH_LOG("value %#x", values[i]);
	}
}

TEST_F(edu, factorial_is_computed_by_the_device)
{
	static const uint32_t ns[] = { 0, 1, 2, 5, 10, 12, 13, 20, 33, 34, 100 };
	char chip[128];
	long long before, after;

	before = irq_count_of(self->info.name, chip, sizeof(chip));
	ASSERT_LE(0, before);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		struct dmakit_edu_factorial f = { .n = ns[i] };

		ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_EDU_FACTORIAL, &f));
		EXPECT_EQ(factorial32(ns[i]), f.result) TH_LOG("%u!", ns[i]);
	}
	after = irq_count_of(self->info.name, chip, sizeof(chip));
	/* each result was read after its completion interrupt */
	EXPECT_LE(before + (long long)(sizeof(ns) / sizeof(ns[0])), after);
}

TEST_F(edu, factorial_rejects_unknown_flags)
{
	struct dmakit_edu_factorial f = { .n = 3, .flags = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_FACTORIAL, &f));
	EXPECT_EQ(EINVAL, errno);
	f.flags = 0;
	f.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_FACTORIAL, &f));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu, interrupt_mode_is_the_requested_one)
{
	const char *mode = env_str("DMAKIT_IRQ_MODE", "msi");
	char chip[128], param[32];

	read_line("/sys/module/dmakit/parameters/irq_mode", param, sizeof(param));
	EXPECT_STREQ(mode, param);
	ASSERT_LE(0, irq_count_of(self->info.name, chip, sizeof(chip)))
		TH_LOG("%s not in /proc/interrupts", self->info.name);
	if (!strcmp(mode, "msi")) {
		EXPECT_EQ(DMAKIT_IRQ_MSI, self->info.irq_mode);
		EXPECT_NE(NULL, strstr(chip, "MSI")) TH_LOG("chip: %s", chip);
	} else {
		EXPECT_EQ(DMAKIT_IRQ_INTX, self->info.irq_mode);
		EXPECT_NE(NULL, strstr(chip, "IO-APIC")) TH_LOG("chip: %s", chip);
	}
}

TEST_F(edu, raised_interrupts_reach_the_handler)
{
	static const uint32_t causes[] = { 0x2, 0x10000, 0x80000002, 0xfe };
	struct dmakit_edu_raise_irq r;
	long long before, after;
	uint64_t count = 0;

	before = irq_count_of(self->info.name, NULL, 0);
	ASSERT_LE(0, before);
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.causes = causes[i];
		ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_EDU_RAISE_IRQ, &r));
		EXPECT_EQ(causes[i], r.seen & causes[i]) TH_LOG("seen %#x", r.seen);
		if (i)
			EXPECT_LT(count, r.irq_count);
		count = r.irq_count;
	}
	after = irq_count_of(self->info.name, NULL, 0);
	EXPECT_LE(before + 4, after);
}

TEST_F(edu, raising_driver_owned_causes_is_einval)
{
	static const uint32_t bad[] = {
		0, DMAKIT_EDU_IRQ_FACTORIAL, DMAKIT_EDU_IRQ_DMA, 0x103,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dmakit_edu_raise_irq r = { .causes = bad[i] };

		EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_RAISE_IRQ, &r));
		EXPECT_EQ(EINVAL, errno) TH_LOG("causes %#x", bad[i]);
	}
}

TEST_F(edu, loopback_moves_data_through_the_device)
{
	static const unsigned int sizes[] = { 1, 2, 511, 4095 };
	unsigned char src[4096], dst[4096 + 64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned int len = sizes[i];
		struct dmakit_edu_loopback lb;
		long diff;

		fill_pattern(src, len, len + 1000 * variant->index + getpid());
		memset(dst, 0x5a, sizeof(dst));
		ASSERT_EQ(0, loopback(self->fd, &lb, src, dst, len))
			TH_LOG("len %u: %s", len, strerror(errno));
		diff = first_difference(src, dst, len);
		EXPECT_EQ(-1, diff) TH_LOG("len %u: first difference at %ld", len, diff);
		/* nothing written past len */
		for (size_t j = len; j < sizeof(dst); j++) {
			ASSERT_EQ(0x5a, dst[j]) TH_LOG("len %u: byte %zu", len, j);
		}
	}
}

TEST_F(edu, loopback_rejects_bad_arguments)
{
	unsigned char buf[4096] = { 0 }, out[4096];
	struct dmakit_edu_loopback lb;
	void *unmapped;

	EXPECT_EQ(-1, loopback(self->fd, &lb, buf, out, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, loopback(self->fd, &lb, buf, out, DMAKIT_EDU_WINDOW_MAX + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, loopback(self->fd, &lb, buf, out, 0xffffffff));
	EXPECT_EQ(EINVAL, errno);

	memset(&lb, 0, sizeof(lb));
	lb.src = (uintptr_t)buf;
	lb.dst = (uintptr_t)out;
	lb.len = 16;
	lb.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_LOOPBACK, &lb));
	EXPECT_EQ(EINVAL, errno);
	lb.flags = 0;
	lb.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_LOOPBACK, &lb));
	EXPECT_EQ(EINVAL, errno);

	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, unmapped);
	EXPECT_EQ(-1, loopback(self->fd, &lb, unmapped, out, 16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, loopback(self->fd, &lb, buf, unmapped, 16));
	EXPECT_EQ(EFAULT, errno);
	munmap(unmapped, 4096);

	/* the device still works after all that */
	fill_pattern(buf, 100, 7);
	memset(out, 0, sizeof(out));
	ASSERT_EQ(0, loopback(self->fd, &lb, buf, out, 100));
	EXPECT_EQ(-1, first_difference(buf, out, 100));
}

/*
 * Where did the device's bus addresses come from? Without an IOMMU a bus
 * address is the physical address, unless the page lies beyond the DMA mask
 * and swiotlb bounced it; with an IOMMU it is an IOVA within the mask.
 */
TEST_F(edu, loopback_bus_addresses_follow_the_dma_api)
{
	uint64_t mask = self->info.dma_mask_bits >= 64 ? ~0ull :
			(1ull << self->info.dma_mask_bits) - 1;
	unsigned char src[4095], dst[4095];
	struct dmakit_edu_loopback lb;
	unsigned int len = sizeof(src);

	if (geteuid() != 0)
		SKIP(return, "addresses are reported to CAP_SYS_ADMIN only");
	fill_pattern(src, len, 42);
	ASSERT_EQ(0, loopback(self->fd, &lb, src, dst, len));
	ASSERT_EQ(-1, first_difference(src, dst, len));
	for (int i = 0; i < 2; i++) {
		int bounced = !!(lb.bounced & (1 << i));

		TH_LOG("%s: phys %#llx bus %#llx%s", i ? "from" : "to",
		       (unsigned long long)lb.phys[i],
		       (unsigned long long)lb.dma[i], bounced ? " (bounced)" : "");
		ASSERT_NE(0, lb.phys[i]);
		EXPECT_LE(lb.dma[i] + len - 1, mask);
		/* a 64-bit device behind iommu.forcedac=1: above 4 GiB */
		if (env_long("DMAKIT_EXPECT_DAC", 0)) {
			EXPECT_LT(0xffffffffull, lb.dma[i]);
		}
		if (self->info.iommu) {
			EXPECT_NE(lb.phys[i], lb.dma[i]);
			EXPECT_EQ(0, bounced);
		} else if (lb.phys[i] + len - 1 > mask) {
			EXPECT_EQ(1, bounced);
			EXPECT_NE(lb.phys[i], lb.dma[i]);
		} else {
			EXPECT_EQ(0, bounced);
			EXPECT_EQ(lb.phys[i], lb.dma[i]);
		}
	}
}

/*
 * swiotlb's own counter moves while a bounced transfer is in flight: a
 * child runs the transfer (~200 ms of device time) while the parent samples
 * io_tlb_used.
 */
TEST_F(edu, swiotlb_counter_moves_exactly_when_bouncing)
{
	int expect = env_long("DMAKIT_EXPECT_BOUNCE", 0);
	struct dmakit_edu_loopback *lb;
	unsigned long base, peak = 0;
	char line[64];
	int status;
	pid_t pid;

	if (access(SWIOTLB_USED, R_OK)) {
		ASSERT_EQ(0, expect) TH_LOG("the lane expects bouncing but %s is missing",
					    SWIOTLB_USED);
		SKIP(return, "no swiotlb in this kernel");
	}
	base = strtoul(read_line(SWIOTLB_USED, line, sizeof(line)), NULL, 10);
	lb = mmap(NULL, sizeof(*lb), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, lb);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char src[4095], dst[4095];

		fill_pattern(src, sizeof(src), 99);
		if (loopback(self->fd, lb, src, dst, sizeof(src)))
			_exit(1);
		_exit(first_difference(src, dst, sizeof(src)) == -1 ? 0 : 2);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		unsigned long used = strtoul(read_line(SWIOTLB_USED, line,
						       sizeof(line)), NULL, 10);

		if (used > peak)
			peak = used;
		usleep(1000);
	}
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("the loopback child failed");
	TH_LOG("io_tlb_used: %lu before, peak %lu during; bounced %#x", base,
	       peak, lb->bounced);
	if (expect) {
		EXPECT_EQ(3, lb->bounced);
		EXPECT_LT(base, peak);
	} else {
		EXPECT_EQ(0, lb->bounced);
		EXPECT_GE(base, peak);
	}
	munmap(lb, sizeof(*lb));
}

/* does the kernel log contain @needle? (waits up to 3 s for it) */
static int klog_has(const char *needle)
{
	for (int tries = 0; tries < 30; tries++) {
		if (klog_count(needle))
			return 1;
		usleep(100000);
	}
	return 0;
}

/*
 * A device write to an address nobody mapped: without an IOMMU it lands
 * (the device writes wherever it is told), behind one it is blocked and
 * logged as a DMAR fault; either way the machine and the device go on.
 */
TEST_F(edu, stray_device_write_is_blocked_exactly_behind_an_iommu)
{
	struct dmakit_edu_stray st = { 0 };
	unsigned char src[3000], dst[3000];
	struct dmakit_edu_loopback lb;
	unsigned int bus, slot, fn;
	char needle[128];

	if (geteuid() != 0)
		SKIP(return, "needs CAP_SYS_ADMIN");
	/*
	 * the source: the staging page above 512 bytes (1000 here), a staging
	 * pool block up to 512 (300, after it, without an IOMMU only: VT-d
	 * logs at most 5 faults in 5 s, dmar_fault()'s ratelimit, and the
	 * next test's stray must be logged)
	 */
	st.len = 1000;
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_EDU_STRAY, &st)) {
		TH_LOG("stray: %s", strerror(errno));
	}
	TH_LOG("device wrote %u bytes to unmapped address %#llx: %u landed",
	       st.len, (unsigned long long)st.addr, st.landed);
	EXPECT_EQ(0, st.status);
	ASSERT_NE(0, st.addr);
	if (self->info.iommu) {
		EXPECT_EQ(0u, st.landed);
		ASSERT_EQ(3, sscanf(self->info.bus_id, "%*x:%x:%x.%x", &bus,
				    &slot, &fn));
		snprintf(needle, sizeof(needle),
			 "[DMA Write NO_PASID] Request device [%02x:%02x.%d] fault addr 0x%llx",
			 bus, slot, fn, (unsigned long long)st.addr);
		EXPECT_TRUE(klog_has(needle)) {	/* waits up to 3 s */
			TH_LOG("no \"%s\" in the kernel log", needle);
		}
	} else {
		EXPECT_EQ(st.len, st.landed);
	}
	if (!self->info.iommu) {
		st.len = 300;
		ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_EDU_STRAY, &st)) {
			TH_LOG("stray: %s", strerror(errno));
		}
		EXPECT_EQ(0, st.status);
		EXPECT_EQ(st.len, st.landed);
	}
	/* bad input */
	st.len = 0;
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_STRAY, &st));
	EXPECT_EQ(EINVAL, errno);
	st.len = DMAKIT_EDU_WINDOW_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_STRAY, &st));
	EXPECT_EQ(EINVAL, errno);
	/* the device still works */
	fill_pattern(src, sizeof(src), 77);
	ASSERT_EQ(0, loopback(self->fd, &lb, src, dst, sizeof(src)));
	EXPECT_EQ(-1, first_difference(src, dst, sizeof(src)));
}

/* drop CAP_SYS_RAWIO from the effective set (this process only) */
static int drop_rawio(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_SYS_RAWIO / 32].effective &= ~(1u << (CAP_SYS_RAWIO % 32));
	return syscall(SYS_capset, &h, d);
}

/* BAR0 mapped to user space: the registers answer as through the driver */
TEST_F(edu, bar0_maps_the_registers_for_cap_sys_rawio)
{
	volatile uint32_t *regs;
	pid_t pid;
	int status;

	regs = mmap(NULL, EDU_BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->fd, 0);
	ASSERT_NE(MAP_FAILED, regs) TH_LOG("mmap BAR0: %s", strerror(errno));
	EXPECT_EQ(EDU_ID, regs[0]);
	regs[1] = 0x12345678;		/* liveness: reads back the complement */
	EXPECT_EQ(~0x12345678u, regs[1]);
	munmap((void *)regs, EDU_BAR_LEN);

	/* one page at an offset: that page of the BAR */
	regs = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, regs);
	EXPECT_EQ(EDU_ID, regs[0]);
	munmap((void *)regs, 4096);

	/* nothing beyond the BAR, nothing private */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, EDU_BAR_LEN + 4096, PROT_READ,
				   MAP_SHARED, self->fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED,
				   self->fd, EDU_BAR_LEN));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_PRIVATE,
				   self->fd, 0));
	EXPECT_EQ(EINVAL, errno);

	/* without CAP_SYS_RAWIO: EPERM, even with the node open */
	pid = fork();
	if (pid == 0) {
		void *m;

		if (drop_rawio())
			_exit(2);
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0);
		_exit(m == MAP_FAILED && errno == EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("mmap without CAP_SYS_RAWIO: exit %d", WEXITSTATUS(status));
	}
}

TEST_HARNESS_MAIN
