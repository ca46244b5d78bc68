// SPDX-License-Identifier: GPL-2.0
/*
 * Buffers for a device dmakit does not drive (DMAKIT_IOC_ALLOC_FOR), used
 * the way u-dma-buf users work: a user-space driver. The second edu device
 * is unbound from dmakit's PCI driver, enabled through sysfs, made a bus
 * master in its config space, and its BAR0 mapped through sysfs
 * (resource0). A buffer allocated FOR its BDF gives a bus address that this
 * program writes into edu's DMA registers itself: RAM -> device window ->
 * RAM at another offset, synced explicitly, checked byte for byte, for each
 * kind (coherent, contig) and mapping mode (cached, uncached,
 * write-combine). A driver binding to the device, or its removal, revokes
 * the buffer (ENODEV, the mapping gone: SIGBUS). Bad input: errnos.
 * Every test leaves the device bound to dmakit's driver again.
 */
#include <libgen.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define EDU_ID		0x010000ed
#define EDU_BAR_LEN	(1 << 20)
#define INDEX		1	/* edu1: edu0 keeps its driver */

#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_DMA_START	0x1
#define EDU_DMA_FROM_DEV 0x2
#define EDU_WINDOW	0x40000

#define BUF_SIZE	(16 * 4096)
#define LEN		4000		/* fits edu's window (4095) */
#define BACK		8192		/* where the device writes it back */
#define BACK2		12288		/* and the second time */

#define PAT_WARNING	"map pfn RAM range req"

FIXTURE(foreign) {
	char bdf[32];
	char driver[64];
	char node[64];
	int unbound;
	int enabled;
	volatile uint8_t *bar;
	int ctl;
	int bits;
};

static int sysfs_dev(FIXTURE_DATA(foreign) *self, const char *attr,
		     const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", self->bdf,
		 attr);
	return write_str(path, text);
}

/* PCI_COMMAND bit 2 (bus master) through sysfs's config file */
static int set_bus_master(FIXTURE_DATA(foreign) *self, int on)
{
	char path[256];
	uint16_t cmd;
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", self->bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	ok = pread(fd, &cmd, 2, 4) == 2;
	cmd = on ? cmd | 0x4 : cmd & ~0x4;
	ok = ok && pwrite(fd, &cmd, 2, 4) == 2;
	close(fd);
	return ok ? 0 : -1;
}

/* the device back with dmakit's driver, its node there */
static int rebind(FIXTURE_DATA(foreign) *self)
{
	char path[256];

	if (self->bar) {
		munmap((void *)self->bar, EDU_BAR_LEN);
		self->bar = NULL;
	}
	if (self->enabled) {
		set_bus_master(self, 0);
		sysfs_dev(self, "enable", "0");
		self->enabled = 0;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", self->driver);
	if (write_str(path, self->bdf))
		return -1;
	self->unbound = 0;
	return wait_path(self->node, 1);
}

FIXTURE_SETUP(foreign)
{
	struct dmakit_dev_info info;
	char path[256], link[256];
	ssize_t n;
	int fd;

	self->bits = env_long("DMAKIT_DMA_BITS", 28);
	self->ctl = open("/dev/dmakit", O_RDWR);
	ASSERT_LE(0, self->ctl);
	snprintf(self->node, sizeof(self->node), "/dev/dmakit-edu%d", INDEX);
	fd = open(self->node, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", self->node, strerror(errno));
	ASSERT_EQ(0, ioctl(fd, DMAKIT_IOC_DEV_INFO, &info));
	close(fd);
	snprintf(self->bdf, sizeof(self->bdf), "%s", info.bus_id);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", self->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = 0;
	snprintf(self->driver, sizeof(self->driver), "%s", basename(link));

	/* the user-space driver takes the device */
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", self->driver);
	ASSERT_EQ(0, write_str(path, self->bdf)) TH_LOG("unbind: %s", strerror(errno));
	self->unbound = 1;
	ASSERT_EQ(0, wait_path(self->node, 0));
	ASSERT_EQ(0, sysfs_dev(self, "enable", "1")) TH_LOG("enable: %s", strerror(errno));
	self->enabled = 1;
	ASSERT_EQ(0, set_bus_master(self, 1));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", self->bdf);
	fd = open(path, O_RDWR | O_SYNC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	self->bar = mmap(NULL, EDU_BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, self->bar) TH_LOG("mmap resource0: %s", strerror(errno));
	ASSERT_EQ(EDU_ID, *(volatile uint32_t *)self->bar);
}

FIXTURE_TEARDOWN(foreign)
{
	if (self->ctl >= 0)
		close(self->ctl);
	if (self->unbound) {
		EXPECT_EQ(0, rebind(self));
	} else if (self->bar) {
		munmap((void *)self->bar, EDU_BAR_LEN);
	}
	/* whatever happened, the other suites find edu1 */
	EXPECT_EQ(0, wait_path(self->node, 1));
}

static void reg_write(FIXTURE_DATA(foreign) *self, unsigned int reg, uint64_t v)
{
	*(volatile uint64_t *)(self->bar + reg) = v;
}

/* one edu DMA, programmed from here; 0, or -1 if it did not end in 10 s */
static int edu_dma(FIXTURE_DATA(foreign) *self, uint64_t src, uint64_t dst,
		   uint64_t len, int from_device)
{
	reg_write(self, EDU_DMA_SRC, src);
	reg_write(self, EDU_DMA_DST, dst);
	reg_write(self, EDU_DMA_COUNT, len);
	reg_write(self, EDU_DMA_CMD, EDU_DMA_START |
		  (from_device ? EDU_DMA_FROM_DEV : 0));
	for (int i = 0; i < 10000; i++) {
		if (!(*(volatile uint64_t *)(self->bar + EDU_DMA_CMD) & EDU_DMA_START))
			return 0;
		usleep(1000);
	}
	return -1;
}

static int alloc_for(int ctl, const char *dev, uint64_t size, uint32_t kind,
		     uint32_t mode, uint32_t bits, uint64_t *bus)
{
	struct dmakit_alloc_for a = { .size = size, .kind = kind, .mode = mode,
				      .dma_bits = bits };

	snprintf(a.device, sizeof(a.device), "%s", dev);
	if (ioctl(ctl, DMAKIT_IOC_ALLOC_FOR, &a))
		return -errno;
	if (bus)
		*bus = a.bus_addr;
	return a.fd;
}

static int buf_sync(int fd, uint64_t off, uint64_t len, uint32_t dir)
{
	struct dmakit_sync s = { .offset = off, .len = len, .dir = dir };

	return ioctl(fd, DMAKIT_IOC_SYNC, &s) ? -errno : 0;
}

/* physical address of the buffer's first page (root sees it) */
static uint64_t buf_phys(int fd)
{
	struct dmakit_page_desc d;
	struct dmakit_translate t = { .count = 1, .descs = (uintptr_t)&d };

	return ioctl(fd, DMAKIT_IOC_TRANSLATE, &t) ? 0 : d.phys;
}

FIXTURE_VARIANT(foreign) {
	uint32_t kind;
	uint32_t mode;
};

FIXTURE_VARIANT_ADD(foreign, coherent_cached) { DMAKIT_KIND_COHERENT, DMAKIT_MAP_CACHED };
FIXTURE_VARIANT_ADD(foreign, coherent_uncached) { DMAKIT_KIND_COHERENT, DMAKIT_MAP_UNCACHED };
FIXTURE_VARIANT_ADD(foreign, coherent_wc) { DMAKIT_KIND_COHERENT, DMAKIT_MAP_WC };
FIXTURE_VARIANT_ADD(foreign, contig_cached) { DMAKIT_KIND_CONTIG, DMAKIT_MAP_CACHED };
FIXTURE_VARIANT_ADD(foreign, contig_uncached) { DMAKIT_KIND_CONTIG, DMAKIT_MAP_UNCACHED };
FIXTURE_VARIANT_ADD(foreign, contig_wc) { DMAKIT_KIND_CONTIG, DMAKIT_MAP_WC };

/*
 * The user-space driver's round trip: fill through the mapping, sync for
 * the device, RAM -> window -> RAM at BACK, sync for the CPU, compare.
 * On a bounce lane the contig buffer's bus address is a swiotlb slot: the
 * bytes reach the buffer only with the sync for the CPU, and the device
 * sees the CPU's new bytes only after the sync for the device.
 */
TEST_F(foreign, user_space_driver_round_trip)
{
	unsigned char want[LEN], got[LEN], zero[LEN] = { 0 };
	int warnings = klog_count(PAT_WARNING);
	struct dmakit_buf_info info;
	uint64_t bus = 0, phys;
	bool beyond;
	unsigned char *p;
	int fd;

	fd = alloc_for(self->ctl, self->bdf, BUF_SIZE, variant->kind,
		       variant->mode, self->bits, &bus);
	ASSERT_LE(0, fd) TH_LOG("ALLOC_FOR %s: %s", self->bdf, strerror(-fd));
	ASSERT_NE(0, bus);
	ASSERT_EQ(0, ioctl(fd, DMAKIT_IOC_BUF_INFO, &info));
	EXPECT_EQ(BUF_SIZE, info.size);
	EXPECT_EQ(variant->kind, info.kind);
	/* the device's mask: edu truncates beyond it */
	EXPECT_TRUE(self->bits >= 64 || !((bus + BUF_SIZE - 1) >> self->bits))
		TH_LOG("bus %#llx beyond %d bits", (unsigned long long)bus, self->bits);
	phys = buf_phys(fd);
	ASSERT_NE(0, phys);
	/*
	 * the bounce lane (5 GiB, a 32-bit edu): contig memory beyond 4 GiB
	 * (the allocator's first choice) goes to the device through a
	 * swiotlb slot; memory below would not bounce
	 */
	beyond = variant->kind == DMAKIT_KIND_CONTIG &&
		 env_long("DMAKIT_EXPECT_BOUNCE", 0) &&
		 phys + BUF_SIZE - 1 > 0xffffffffull;
	if (variant->kind == DMAKIT_KIND_CONTIG &&
	    env_long("DMAKIT_EXPECT_BOUNCE", 0) && !beyond)
		TH_LOG("the contig buffer lies below 4 GiB this time: nothing bounces");
	p = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, first_difference(zero, p + BACK, LEN));

	fill_pattern(want, LEN, 71 + variant->kind * 3 + variant->mode);
	memcpy(p, want, LEN);
	ASSERT_EQ(0, buf_sync(fd, 0, LEN, DMAKIT_SYNC_FOR_DEVICE));
	ASSERT_EQ(0, edu_dma(self, bus, EDU_WINDOW, LEN, 0));
	ASSERT_EQ(0, edu_dma(self, EDU_WINDOW, bus + BACK, LEN, 1));
	if (beyond) {
		/* bounced: the device wrote the slot, not the buffer */
		EXPECT_NE(bus, phys);
		EXPECT_EQ(-1, first_difference(zero, p + BACK, LEN));
	}
	ASSERT_EQ(0, buf_sync(fd, BACK, LEN, DMAKIT_SYNC_FOR_CPU));
	EXPECT_EQ(-1, first_difference(want, p + BACK, LEN));
	/* the kernel's view (read) agrees */
	ASSERT_EQ(LEN, pread(fd, got, LEN, BACK));
	EXPECT_EQ(-1, first_difference(want, got, LEN));
	if (beyond) {
		unsigned char fresh[LEN];

		/* without the sync for the device, it reads the old bytes */
		fill_pattern(fresh, LEN, 5);
		memcpy(p, fresh, LEN);
		ASSERT_EQ(0, edu_dma(self, bus, EDU_WINDOW, LEN, 0));
		ASSERT_EQ(0, edu_dma(self, EDU_WINDOW, bus + BACK2, LEN, 1));
		ASSERT_EQ(0, buf_sync(fd, BACK2, LEN, DMAKIT_SYNC_FOR_CPU));
		EXPECT_EQ(-1, first_difference(want, p + BACK2, LEN));
		/* with it, the new ones */
		ASSERT_EQ(0, buf_sync(fd, 0, LEN, DMAKIT_SYNC_FOR_DEVICE));
		ASSERT_EQ(0, edu_dma(self, bus, EDU_WINDOW, LEN, 0));
		ASSERT_EQ(0, edu_dma(self, EDU_WINDOW, bus + BACK2, LEN, 1));
		ASSERT_EQ(0, buf_sync(fd, BACK2, LEN, DMAKIT_SYNC_FOR_CPU));
		EXPECT_EQ(-1, first_difference(fresh, p + BACK2, LEN));
	}
	/* the mode was honoured, not downgraded by x86 PAT with a warning */
	EXPECT_EQ(warnings, klog_count(PAT_WARNING));
	munmap(p, BUF_SIZE);
	close(fd);
}

/* a driver binding to the device (dmakit's own) takes the buffer away */
TEST_F(foreign, a_driver_binding_revokes_the_buffer)
{
	unsigned char mem[64], src[3000], dst[3000];
	struct dmakit_edu_loopback lb = {
		.src = (uintptr_t)src, .dst = (uintptr_t)dst, .len = sizeof(src),
	};
	uint64_t bus;
	unsigned char *p;
	int fd;

	fd = alloc_for(self->ctl, self->bdf, BUF_SIZE, variant->kind,
		       variant->mode, self->bits, &bus);
	ASSERT_LE(0, fd) TH_LOG("ALLOC_FOR: %s", strerror(-fd));
	p = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[5] = 9;
	ASSERT_EQ(0, rebind(self));
	EXPECT_EQ(SIGBUS, touch_byte(p + 5, 0));
	EXPECT_EQ(-1, pread(fd, mem, sizeof(mem), 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, buf_sync(fd, 0, 64, DMAKIT_SYNC_FOR_CPU));
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(ENODEV, errno);
	munmap(p, BUF_SIZE);
	close(fd);
	/* dmakit's node moves data through the device again */
	fd = edu_open(INDEX, O_RDWR);
	ASSERT_LE(0, fd);
	fill_pattern(src, sizeof(src), 17);
	ASSERT_EQ(0, ioctl(fd, DMAKIT_IOC_EDU_LOOPBACK, &lb));
	EXPECT_EQ(-1, first_difference(src, dst, sizeof(src)));
	close(fd);
}

/* PCI remove: the buffer goes with the device; rescan brings it back */
TEST_F(foreign, pci_remove_revokes_the_buffer)
{
	unsigned char mem[64];
	unsigned char *p;
	int fd, fd2;

	fd = alloc_for(self->ctl, self->bdf, BUF_SIZE, variant->kind,
		       variant->mode, self->bits, NULL);
	ASSERT_LE(0, fd) TH_LOG("ALLOC_FOR: %s", strerror(-fd));
	fd2 = alloc_for(self->ctl, self->bdf, 4096, DMAKIT_KIND_COHERENT,
			DMAKIT_MAP_CACHED, 0, NULL);
	ASSERT_LE(0, fd2) TH_LOG("ALLOC_FOR: %s", strerror(-fd2));
	p = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	munmap((void *)self->bar, EDU_BAR_LEN);
	self->bar = NULL;
	self->enabled = 0;
	ASSERT_EQ(0, sysfs_dev(self, "remove", "1"));
	EXPECT_EQ(SIGBUS, touch_byte(p, 1));
	EXPECT_EQ(-1, pread(fd, mem, sizeof(mem), 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, pwrite(fd2, mem, sizeof(mem), 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, buf_sync(fd, 0, 64, DMAKIT_SYNC_FOR_DEVICE));
	/* the device is gone: nothing to allocate for */
	EXPECT_EQ(-ENODEV, alloc_for(self->ctl, self->bdf, 4096,
				     DMAKIT_KIND_CONTIG, 0, 0, NULL));
	munmap(p, BUF_SIZE);
	close(fd);
	close(fd2);
	ASSERT_EQ(0, write_str("/sys/bus/pci/rescan", "1"));
	/* rescan binds dmakit's driver again */
	self->unbound = 0;
	ASSERT_EQ(0, wait_path(self->node, 1));
}

/* the buffer belongs to its device: no dma-buf, no transfer elsewhere */
TEST_F(foreign, no_export_no_transfer_on_dmakit_nodes)
{
	int fd, node;

	fd = alloc_for(self->ctl, self->bdf, BUF_SIZE, variant->kind,
		       variant->mode, self->bits, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, dmabuf_export(fd, 0));
	node = edu_open(0, O_RDWR);
	ASSERT_LE(0, node);
	EXPECT_EQ(-EINVAL, xfer_range(node, fd, 0, 0, 100, DMAKIT_DIR_TO_DEVICE));
	EXPECT_EQ(-EINVAL, xfer_range(node, fd, 0, 0, 100, DMAKIT_DIR_FROM_DEVICE));
	close(node);
	close(fd);
}

TEST_F(foreign, sync_errnos)
{
	struct dmakit_sync s = { .len = 1, .dir = DMAKIT_SYNC_FOR_CPU };
	int fd, plain;

	fd = alloc_for(self->ctl, self->bdf, BUF_SIZE, variant->kind,
		       variant->mode, self->bits, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, buf_sync(fd, 0, BUF_SIZE, DMAKIT_SYNC_FOR_CPU));
	EXPECT_EQ(0, buf_sync(fd, BUF_SIZE - 1, 1, DMAKIT_SYNC_FOR_DEVICE));
	EXPECT_EQ(-EINVAL, buf_sync(fd, 0, 0, DMAKIT_SYNC_FOR_CPU));
	EXPECT_EQ(-EINVAL, buf_sync(fd, 0, BUF_SIZE + 1, DMAKIT_SYNC_FOR_CPU));
	EXPECT_EQ(-EINVAL, buf_sync(fd, BUF_SIZE, 1, DMAKIT_SYNC_FOR_CPU));
	EXPECT_EQ(-EINVAL, buf_sync(fd, ~0ULL, 2, DMAKIT_SYNC_FOR_CPU));
	EXPECT_EQ(-EINVAL, buf_sync(fd, 0, 1, 0));
	EXPECT_EQ(-EINVAL, buf_sync(fd, 0, 1, 3));
	s.flags = 1;
	EXPECT_EQ(-1, ioctl(fd, DMAKIT_IOC_SYNC, &s));
	EXPECT_EQ(EINVAL, errno);
	s.flags = 0;
	s.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(fd, DMAKIT_IOC_SYNC, &s));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, DMAKIT_IOC_SYNC, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* a buffer of the control node has nothing to sync */
	plain = buf_alloc(4096, DMAKIT_KIND_CONTIG, 0, NULL);
	ASSERT_LE(0, plain);
	EXPECT_EQ(-EOPNOTSUPP, buf_sync(plain, 0, 1, DMAKIT_SYNC_FOR_CPU));
	close(plain);
	close(fd);
}

TEST_F(foreign, alloc_errnos)
{
	struct dmakit_alloc_for a = { .size = 4096, .kind = DMAKIT_KIND_CONTIG };
	char edu0[32];
	struct dmakit_dev_info info;
	int node, fd, other, status;
	pid_t pid;

	if (variant->kind != DMAKIT_KIND_CONTIG || variant->mode)
		SKIP(return, "once is enough");
#define A_ERR(err, dev, size, kind, mode, bits)				\
	EXPECT_EQ(-(err), alloc_for(self->ctl, dev, size, kind, mode, bits, NULL)) \
		TH_LOG("%s size %llu kind %d mode %d bits %d", dev,	\
		       (unsigned long long)(size), kind, mode, bits)
	A_ERR(ENODEV, "0000:00:1f.7", 4096, DMAKIT_KIND_CONTIG, 0, 0);
	A_ERR(ENODEV, "no-such-device", 4096, DMAKIT_KIND_CONTIG, 0, 0);
	A_ERR(ENODEV, "", 4096, DMAKIT_KIND_CONTIG, 0, 0);
	A_ERR(EINVAL, self->bdf, 0, DMAKIT_KIND_CONTIG, 0, 0);
	A_ERR(E2BIG, self->bdf, 64 << 20, DMAKIT_KIND_CONTIG, 0, 0);
	A_ERR(E2BIG, self->bdf, 1ULL << 40, DMAKIT_KIND_COHERENT, 0, 0);
	A_ERR(EINVAL, self->bdf, 4096, DMAKIT_KIND_PAGES, 0, 0);
	A_ERR(EINVAL, self->bdf, 4096, DMAKIT_KIND_VMALLOC, 0, 0);
	A_ERR(EINVAL, self->bdf, 4096, 0, 0, 0);
	A_ERR(EINVAL, self->bdf, 4096, DMAKIT_KIND_CONTIG, 3, 0);
	A_ERR(EINVAL, self->bdf, 4096, DMAKIT_KIND_CONTIG, 0, 65);
	A_ERR(EINVAL, self->bdf, 4096, DMAKIT_KIND_CONTIG, 0, 23);
	A_ERR(EINVAL, self->bdf, 4096, DMAKIT_KIND_CONTIG, 0, 1);
	snprintf(a.device, sizeof(a.device), "%s", self->bdf);
	a.flags = DMAKIT_ALLOC_RDONLY;
	EXPECT_EQ(-1, ioctl(self->ctl, DMAKIT_IOC_ALLOC_FOR, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, DMAKIT_IOC_ALLOC_FOR, &a));
	EXPECT_EQ(EINVAL, errno);
	a.reserved[3] = 0;
	a.pad = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, DMAKIT_IOC_ALLOC_FOR, &a));
	EXPECT_EQ(EINVAL, errno);
	a.pad = 0;
	memset(a.device, 'x', sizeof(a.device));	/* not NUL-terminated */
	EXPECT_EQ(-1, ioctl(self->ctl, DMAKIT_IOC_ALLOC_FOR, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->ctl, DMAKIT_IOC_ALLOC_FOR, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* CLOEXEC is honoured */
	snprintf(a.device, sizeof(a.device), "%s", self->bdf);
	a.flags = DMAKIT_ALLOC_CLOEXEC;
	ASSERT_EQ(0, ioctl(self->ctl, DMAKIT_IOC_ALLOC_FOR, &a));
	EXPECT_EQ(FD_CLOEXEC, fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(4096, a.size);
	close(a.fd);

	/* edu0 has a driver (dmakit's): its mask stays as the driver set it */
	node = edu_open(0, O_RDWR);
	ASSERT_LE(0, node);
	ASSERT_EQ(0, ioctl(node, DMAKIT_IOC_DEV_INFO, &info));
	close(node);
	snprintf(edu0, sizeof(edu0), "%s", info.bus_id);
	A_ERR(EBUSY, edu0, 4096, DMAKIT_KIND_CONTIG, 0,
	      info.dma_mask_bits == 64 ? 40 : info.dma_mask_bits + 1);
	fd = alloc_for(self->ctl, edu0, 4096, DMAKIT_KIND_COHERENT, 0,
		       info.dma_mask_bits, NULL);
	EXPECT_LE(0, fd) TH_LOG("edu0, its own mask: %s", strerror(-fd));
	if (fd >= 0)
		close(fd);
	other = alloc_for(self->ctl, edu0, 4096, DMAKIT_KIND_CONTIG, 0, 0, NULL);
	EXPECT_LE(0, other);
	if (other >= 0)
		close(other);

	/* root only */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(alloc_for(self->ctl, self->bdf, 4096, DMAKIT_KIND_CONTIG,
				0, 0, NULL) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("an unprivileged ALLOC_FOR was not EPERM");
#undef A_ERR
}

TEST_HARNESS_MAIN
