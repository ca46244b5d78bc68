// SPDX-License-Identifier: GPL-2.0
/* The control node /dev/dmakit. */
#include <glob.h>

#include "dmakit_test.h"

FIXTURE(control) {
	int fd;
};

FIXTURE_SETUP(control)
{
	self->fd = open("/dev/dmakit", O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/dmakit: %s", strerror(errno));
}

FIXTURE_TEARDOWN(control)
{
	close(self->fd);
}

TEST_F(control, info_describes_the_module)
{
	struct dmakit_info info;
	char version[64];

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_INFO, &info));
	EXPECT_EQ(DMAKIT_ABI_VERSION, info.abi_version);
	EXPECT_EQ((unsigned int)sysconf(_SC_PAGESIZE), info.page_size);
	EXPECT_EQ(0, info.flags);
	read_line("/sys/module/dmakit/version", version, sizeof(version));
	EXPECT_STREQ(version, info.module_version);
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(0, info.reserved[i]);
	}
}

TEST_F(control, info_counts_the_device_nodes)
{
	struct dmakit_info info;
	glob_t g;
	int rc = glob("/dev/dmakit-*", 0, NULL, &g);

	/* no device node at all (the zynqmp lane): GLOB_NOMATCH, 0 paths */
	ASSERT_TRUE(rc == 0 || rc == GLOB_NOMATCH) TH_LOG("glob: %d", rc);
	ASSERT_EQ(0, ioctl(self->fd, DMAKIT_IOC_INFO, &info));
	EXPECT_EQ(g.gl_pathc, info.num_devices);
	/*
	 * the edu devices, the floppy node on lanes with a floppy drive, and
	 * the dmaengine channels the lane gave dmakit
	 */
	EXPECT_EQ(env_long("DMAKIT_EDU_COUNT", 2) +
		  env_long("DMAKIT_HAS_FLOPPY", 0) + dmaengine_node_count(),
		  info.num_devices);
	globfree(&g);
}

TEST_F(control, info_with_a_bad_pointer_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_INFO, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(control, unknown_and_device_ioctls_are_enotty)
{
	struct dmakit_dev_info dev;
	struct dmakit_edu_liveness live = { .value = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, _IO(DMAKIT_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_DEV_INFO, &dev));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_EDU_LIVENESS, &live));
	EXPECT_EQ(ENOTTY, errno);
}

TEST(control_ioctl_on_a_device_node_is_enotty)
{
	struct dmakit_info info;
	int fd;

	if (!env_long("DMAKIT_EDU_COUNT", 2))
		SKIP(return, "no edu device on this lane");
	fd = open("/dev/dmakit-edu0", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, DMAKIT_IOC_INFO, &info));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST(read_and_write_on_the_control_node_are_refused)
{
	char c = 0;
	int fd = open("/dev/dmakit", O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, &c, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(fd, &c, 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_HARNESS_MAIN
