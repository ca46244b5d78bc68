// SPDX-License-Identifier: GPL-2.0
/*
 * Security: what a user without privileges gets from dmakit's nodes, and
 * the mmap hardening checklist. docs/security.md is the map: the threat
 * model, which test proves which item, and what other suites cover.
 *
 * Privilege: children drop to uid/gid 65534 with no supplementary group
 * and no capability (checked in /proc/self/status), then open nodes
 * themselves or use fds root opened before the drop. Each refusal is
 * checked with its errno, each redaction with its value, against fields
 * pre-filled with a non-zero pattern so that a zero is something the
 * kernel wrote. A child reports into a shared page; the parent asserts.
 *
 * mmap: every buffer kind (coherent through the edu node) and BAR0:
 * ranges, offsets near ULONG_MAX, private and read-only mappings, growth,
 * VM flags in /proc/self/smaps, lifetime after the fd is gone.
 *
 * Memory: buffers from the 0666 control node are charged to the caller's
 * memory cgroup (cgroup v2, where the kernel has it) until the last munmap.
 */
#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define PAGE		4096UL
#define NOBODY		65534
#define EDU_ID		0x010000ed
#define NPAGES		4
#define SENTINEL	0xa5a5a5a5a5a5a5a5ull
/* the highest page-aligned mmap offset, i.e. pgoff ULONG_MAX >> PAGE_SHIFT */
#define TOP_OFFSET	(ULONG_MAX & ~(PAGE - 1))

/* ---- unprivileged children ---------------------------------------------- */

/* what a child found wrong; lives in a MAP_SHARED page the parent reads */
struct child_report {
	int checks;
	int failures;
	int parent_closed;	/* the parent closed nobody_only_fd */
	char log[8192];
};

static struct child_report *rep;
static char child_where[64];	/* what a child is looking at, for the log */
/* an fd the next child is to be the only holder of: the parent closes it */
static int nobody_only_fd = -1;

static void child_failed(int line, const char *what, long long want,
			 long long got)
{
	size_t used = strlen(rep->log);

	rep->failures++;
	snprintf(rep->log + used, sizeof(rep->log) - used,
		 "line %d: %s%s%s: expected %lld (%#llx), got %lld (%#llx)\n",
		 line, child_where, *child_where ? ": " : "", what, want, want,
		 got, got);
}

/* in a child: record a check; the parent fails the test if one failed */
#define CHILD_EQ(want, got) do {					\
	long long w_ = (long long)(want), g_ = (long long)(got);	\
	rep->checks++;							\
	if (w_ != g_)							\
		child_failed(__LINE__, #got, w_, g_);			\
} while (0)
#define CHILD_TRUE(cond)	CHILD_EQ(1, !!(cond))

/* errno of a call that returned -1, 0 if it succeeded */
#define ERRNO_OF(call)		((call) == -1 ? errno : 0)

/* a /proc/self/status capability mask ("CapEff" ...), -1 if missing */
static long long status_hex(const char *field)
{
	char line[256];
	long long v = -1;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtoll(line + n + 1, NULL, 16);
	fclose(f);
	return v;
}

/*
 * Become uid/gid 65534 with no supplementary groups. Leaving uid 0 clears
 * the permitted and effective capability sets (no SECBIT_KEEP_CAPS).
 * Returns 0 if every id and capability set is what it should be.
 */
static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return 1;
	if (getuid() != NOBODY || geteuid() != NOBODY ||
	    getgid() != NOBODY || getegid() != NOBODY || getgroups(0, NULL))
		return 2;
	if (status_hex("CapEff") || status_hex("CapPrm") ||
	    status_hex("CapInh") || status_hex("CapAmb"))
		return 3;
	return 0;
}

/* run @fn(@ctx) in a child without privileges; its exit status or -signal */
static int as_nobody(void (*fn)(void *), void *ctx)
{
	int status;
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1000;
	if (!pid) {
		int err = drop_to_nobody();

		CHILD_EQ(0, err);
		if (!err)
			fn(ctx);
		_exit(0);
	}
	if (nobody_only_fd >= 0) {
		close(nobody_only_fd);
		nobody_only_fd = -1;
		__atomic_store_n(&rep->parent_closed, 1, __ATOMIC_RELEASE);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1001;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

#define RUN_AS_NOBODY(fn, ctx) do {					\
	int status_ = as_nobody(fn, ctx);				\
									\
	EXPECT_EQ(0, status_);						\
	EXPECT_EQ(0, rep->failures) {					\
		TH_LOG("unprivileged child:\n%s", rep->log);		\
	}								\
	EXPECT_LT(1, rep->checks);					\
} while (0)

static void *shared_page(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---- helpers ------------------------------------------------------------ */

static const char *kind_name(uint32_t kind)
{
	static const char *const names[] = { "?", "contig", "pages", "vmalloc",
					     "coherent" };

	return kind <= DMAKIT_KIND_COHERENT ? names[kind] : "?";
}

/* a buffer from @node (the control node, or a device node for coherent) */
static int alloc_on(int node, uint64_t size, uint32_t kind, uint32_t flags)
{
	struct dmakit_alloc a = { .size = size, .kind = kind, .flags = flags };

	return ioctl(node, DMAKIT_IOC_ALLOC, &a) ? -errno : a.fd;
}

/* a buffer of @kind: coherent ones through the edu node @edu */
static int alloc_kind(int edu, uint64_t size, uint32_t kind, uint32_t flags)
{
	if (kind == DMAKIT_KIND_COHERENT)
		return alloc_on(edu, size, kind, flags);
	return buf_alloc(size, kind, flags, NULL);
}

/* mmap(2) itself, so that the offset reaches the kernel untouched */
static void *raw_mmap(size_t len, int prot, int flags, int fd,
		      unsigned long off)
{
	return (void *)syscall(SYS_mmap, NULL, len, prot, flags, fd, off);
}

/* errno of mapping @len bytes at @off (unmapped again on success), or 0 */
static int mmap_errno(size_t len, int prot, int flags, int fd,
		      unsigned long off)
{
	void *p = raw_mmap(len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

static int translate(int fd, uint64_t uaddr, uint64_t offset, uint32_t count,
		     struct dmakit_page_desc *d)
{
	struct dmakit_translate t = {
		.uaddr = uaddr, .offset = offset, .count = count,
		.descs = (uintptr_t)d,
	};

	if (ioctl(fd, DMAKIT_IOC_TRANSLATE, &t))
		return -errno;
	return t.count;
}

static int buf_mappings(int fd)
{
	struct dmakit_buf_info info = { 0 };

	return ioctl(fd, DMAKIT_IOC_BUF_INFO, &info) ? -errno : (int)info.mappings;
}

static long long sysfs_number(const char *path)
{
	char line[64];

	if (!*read_line(path, line, sizeof(line)))
		return -1;
	return strtoll(line, NULL, 10);
}

static long long edu_stat(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/misc/dmakit-edu0/stats/%s",
		 name);
	return sysfs_number(path);
}

/* references to the module: one per open dmakit file, whoever holds it */
static long long module_refs(void)
{
	return sysfs_number("/sys/module/dmakit/refcnt");
}

/*
 * The VmFlags line of the smaps entry that starts at @addr, with a space
 * before and after each flag ("rd wr sh ..." -> " rd wr sh ... ").
 */
static int vm_flags(const void *addr, char *out, size_t len)
{
	char line[512], want[32];
	int in = 0, found = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, want, strlen(want));
		if (in && !strncmp(line, "VmFlags:", 8)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%.*s ", (int)len - 2, line + 8);
			found = 1;
			break;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

static int has_flag(const char *flags, const char *flag)
{
	char needle[8];

	snprintf(needle, sizeof(needle), " %s ", flag);
	return strstr(flags, needle) != NULL;
}

/* every flag in @must is set, none in @mustnot; a message in @why if not */
static int flags_are(const char *flags, const char *const *must,
		     const char *const *mustnot, char *why, size_t len)
{
	why[0] = 0;
	for (; must && *must; must++)
		if (!has_flag(flags, *must)) {
			snprintf(why, len, "%s missing from \"%.200s\"", *must, flags);
			return 0;
		}
	for (; mustnot && *mustnot; mustnot++)
		if (has_flag(flags, *mustnot)) {
			snprintf(why, len, "%s set in \"%.200s\"", *mustnot, flags);
			return 0;
		}
	return 1;
}

/* touch one byte; returns the signal it raised, or 0 */
static int touch(volatile unsigned char *p)
{
	return touch_byte(p, 0);
}

static void fill_seeded(unsigned char *p, size_t len, uint32_t seed)
{
	fill_pattern(p, len, seed);
}

/* ==== privilege ========================================================== */

FIXTURE(priv) {
	int edu;		/* /dev/dmakit-edu0, opened by root */
	struct dmakit_dev_info info;
};

FIXTURE_SETUP(priv)
{
	self->edu = -1;
	if (geteuid() != 0)
		SKIP(return, "needs root to drop to uid 65534");
	rep = shared_page(sizeof(*rep));
	ASSERT_NE(NULL, rep);
	self->edu = edu_open(0, 0);
	ASSERT_LE(0, self->edu) TH_LOG("open edu0: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(self->edu, DMAKIT_IOC_DEV_INFO, &self->info));
}

FIXTURE_TEARDOWN(priv)
{
	if (self->edu >= 0)
		close(self->edu);
}

static void child_ids(void *ctx)
{
	CHILD_EQ(NOBODY, getuid());
	CHILD_EQ(NOBODY, getgid());
	CHILD_EQ(0, getgroups(0, NULL));
	CHILD_EQ(0, status_hex("CapEff"));
	CHILD_EQ(0, status_hex("CapPrm"));
	CHILD_EQ(0, status_hex("CapAmb"));
}

/* the children below are what they claim to be */
TEST_F(priv, children_run_as_65534_without_any_capability)
{
	RUN_AS_NOBODY(child_ids, NULL);
}

struct node_ctx {
	int has_fd0;
	int edu_count;
};

static void child_open_nodes(void *ctx)
{
	struct node_ctx *c = ctx;
	struct dmakit_info info;
	int fd;

	/* the control node is for everyone: buffers and module info */
	fd = open("/dev/dmakit", O_RDWR);
	CHILD_TRUE(fd >= 0);
	CHILD_EQ(0, ERRNO_OF(ioctl(fd, DMAKIT_IOC_INFO, &info)));
	CHILD_EQ(DMAKIT_ABI_VERSION, info.abi_version);
	close(fd);
	/* device nodes are root's: DMA needs root, or an fd root hands over */
	CHILD_EQ(EACCES, ERRNO_OF(open("/dev/dmakit-edu0", O_RDWR)));
	CHILD_EQ(EACCES, ERRNO_OF(open("/dev/dmakit-edu0", O_RDONLY)));
	if (c->edu_count > 1)
		CHILD_EQ(EACCES, ERRNO_OF(open("/dev/dmakit-edu1", O_RDWR)));
	if (c->has_fd0)
		CHILD_EQ(EACCES, ERRNO_OF(open("/dev/dmakit-fd0", O_RDONLY)));
}

/* /dev/dmakit is 0666; the device nodes are 0600 root (devtmpfs default) */
TEST_F(priv, node_modes_decide_who_may_open_what)
{
	const char *const dev_nodes[] = { "/dev/dmakit-edu0", "/dev/dmakit-edu1",
					  "/dev/dmakit-fd0" };
	struct node_ctx c = { .edu_count = env_long("DMAKIT_EDU_COUNT", 2) };
	struct stat st;

	ASSERT_EQ(0, stat("/dev/dmakit", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	for (unsigned int i = 0; i < 3; i++) {
		if (stat(dev_nodes[i], &st)) {
			/* fd0 only with a floppy, edu1 with a second edu */
			EXPECT_TRUE(i == 2 || (int)i >= c.edu_count) {
				TH_LOG("%s: %s", dev_nodes[i], strerror(errno));
			}
			continue;
		}
		c.has_fd0 |= i == 2;
		EXPECT_TRUE(S_ISCHR(st.st_mode));
		EXPECT_EQ(0600, st.st_mode & 07777) TH_LOG("%s", dev_nodes[i]);
		EXPECT_EQ(0, st.st_uid);
		EXPECT_EQ(0, st.st_gid);
	}
	EXPECT_EQ(c.has_fd0, env_long("DMAKIT_HAS_FLOPPY", 0));
	RUN_AS_NOBODY(child_open_nodes, &c);
}

struct dev_ctx {
	int edu;
	uint64_t bar_len;
};

static void child_privileged_ops(void *ctx)
{
	struct dev_ctx *c = ctx;
	struct dmakit_edu_stray st;
	struct dmakit_dev_info info;

	/* BAR0 programs the DMA engine: CAP_SYS_RAWIO, checked before the rest */
	CHILD_EQ(EPERM, mmap_errno(PAGE, PROT_READ, MAP_SHARED, c->edu, 0));
	CHILD_EQ(EPERM, mmap_errno(PAGE, PROT_READ, MAP_PRIVATE, c->edu, 0));
	CHILD_EQ(EPERM, mmap_errno(PAGE, PROT_READ, MAP_SHARED, c->edu,
				   c->bar_len));
	/* a device write to a physical address: CAP_SYS_ADMIN, nothing out */
	memset(&st, 0x5a, sizeof(st));
	st.len = 100;
	st.pad = 0;
	CHILD_EQ(EPERM, ERRNO_OF(ioctl(c->edu, DMAKIT_IOC_EDU_STRAY, &st)));
	CHILD_EQ(0x5a5a5a5a5a5a5a5all, st.addr);
	CHILD_EQ(0x5a5a5a5a, st.landed);
	/* identity is for whoever holds the fd: no address in it */
	CHILD_EQ(0, ERRNO_OF(ioctl(c->edu, DMAKIT_IOC_DEV_INFO, &info)));
	CHILD_EQ(c->bar_len, info.bar_len);
}

/* an fd opened by root carries no privilege over to a process without it */
TEST_F(priv, a_root_opened_fd_grants_neither_bar0_nor_stray_dma)
{
	struct dev_ctx c = { self->edu, self->info.bar_len };
	long long requests = edu_stat("requests");

	ASSERT_LE(0, requests);
	RUN_AS_NOBODY(child_privileged_ops, &c);
	/* the refused STRAY never reached the engine */
	EXPECT_EQ(requests, edu_stat("requests"));
}

static int do_loopback(int edu, struct dmakit_edu_loopback *lb,
		       const void *src, void *dst, uint32_t len)
{
	memset(lb, 0, sizeof(*lb));
	lb->src = (uintptr_t)src;
	lb->dst = (uintptr_t)dst;
	lb->len = len;
	/* out fields: a pattern the kernel must overwrite */
	lb->phys[0] = lb->phys[1] = lb->dma[0] = lb->dma[1] = SENTINEL;
	return ioctl(edu, DMAKIT_IOC_EDU_LOOPBACK, lb);
}

static void child_loopback(void *ctx)
{
	struct dev_ctx *c = ctx;
	unsigned char src[3000], dst[3000];
	struct dmakit_edu_loopback lb;

	fill_seeded(src, sizeof(src), 65534);
	memset(dst, 0, sizeof(dst));
	CHILD_EQ(0, ERRNO_OF(do_loopback(c->edu, &lb, src, dst, sizeof(src))));
	CHILD_EQ(-1, first_difference(src, dst, sizeof(src)));
	CHILD_EQ(0, lb.phys[0]);
	CHILD_EQ(0, lb.phys[1]);
	CHILD_EQ(0, lb.dma[0]);
	CHILD_EQ(0, lb.dma[1]);
	CHILD_EQ(0, lb.bounced & ~3u);
}

/* the loopback works for anyone with the fd; its addresses are root's */
TEST_F(priv, loopback_works_and_hides_physical_and_bus_addresses)
{
	struct dev_ctx c = { self->edu, self->info.bar_len };
	unsigned char src[100], dst[100];
	struct dmakit_edu_loopback lb;

	RUN_AS_NOBODY(child_loopback, &c);
	/* root, same fd: the fields are real, so the zeroes were redaction */
	fill_seeded(src, sizeof(src), 1);
	ASSERT_EQ(0, do_loopback(self->edu, &lb, src, dst, sizeof(src)));
	EXPECT_EQ(-1, first_difference(src, dst, sizeof(src)));
	for (int i = 0; i < 2; i++) {
		EXPECT_NE(0, lb.phys[i]);
		EXPECT_NE(SENTINEL, lb.phys[i]);
		EXPECT_NE(0, lb.dma[i]);
		EXPECT_NE(SENTINEL, lb.dma[i]);
	}
}

static int xfer_one(int edu, struct dmakit_xfer *x, int fd, uint64_t off,
		    uint64_t len, uint32_t dir, uint32_t flags)
{
	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->offset = off;
	x->len = len;
	x->dir = dir;
	x->flags = flags;
	x->result.stage_dma = SENTINEL;
	return ioctl(edu, DMAKIT_IOC_XFER, x);
}

/* an asynchronous transfer, reaped; the reaped result in @r */
static int xfer_async(int edu, struct dmakit_xfer_result *r, int fd,
		      uint64_t off, uint64_t len, uint32_t dir, uint32_t flags)
{
	struct dmakit_xfer x;
	struct dmakit_xfer_reap reap;

	if (xfer_one(edu, &x, fd, off, len, dir, flags | DMAKIT_XFER_ASYNC))
		return -1;
	memset(&reap, 0, sizeof(reap));
	reap.flags = DMAKIT_REAP_WAIT;
	reap.result.stage_dma = SENTINEL;
	if (ioctl(edu, DMAKIT_IOC_XFER_REAP, &reap))
		return -1;
	*r = reap.result;
	return x.id == reap.result.id ? 0 : -2;
}

/* the bytes of a buffer, by read() */
static int read_buf(int fd, unsigned char *p, size_t len, off_t off)
{
	return pread(fd, p, len, off) == (ssize_t)len ? 0 : -1;
}

static void child_staged(void *ctx)
{
	struct dev_ctx *c = ctx;
	unsigned char data[3000], back[3000];
	struct dmakit_xfer_result r;
	struct dmakit_xfer x;
	int src, dst;

	/* buffers the child makes itself, through the control node */
	src = buf_alloc(2 * PAGE, DMAKIT_KIND_PAGES, 0, NULL);
	dst = buf_alloc(2 * PAGE, DMAKIT_KIND_VMALLOC, 0, NULL);
	CHILD_TRUE(src >= 0 && dst >= 0);
	fill_seeded(data, sizeof(data), 7);
	CHILD_EQ(sizeof(data), pwrite(src, data, sizeof(data), 100));

	/* a dma_pool chunk (<= 512 bytes): synchronous, then asynchronous */
	CHILD_EQ(0, ERRNO_OF(xfer_one(c->edu, &x, src, 100, 300,
				      DMAKIT_DIR_TO_DEVICE, DMAKIT_XFER_STAGED)));
	CHILD_EQ(0, x.result.status);
	CHILD_EQ(0, x.result.stage_dma);
	CHILD_EQ(0, xfer_async(c->edu, &r, dst, 0, 300, DMAKIT_DIR_FROM_DEVICE,
			       DMAKIT_XFER_STAGED));
	CHILD_EQ(0, r.status);
	CHILD_EQ(0, r.stage_dma);
	CHILD_EQ(0, read_buf(dst, back, 300, 0));
	CHILD_EQ(-1, first_difference(data, back, 300));

	/* the staging page (> 512 bytes): asynchronous, then synchronous */
	CHILD_EQ(0, xfer_async(c->edu, &r, src, 100, sizeof(data),
			       DMAKIT_DIR_TO_DEVICE, DMAKIT_XFER_STAGED));
	CHILD_EQ(0, r.status);
	CHILD_EQ(0, r.stage_dma);
	CHILD_EQ(0, ERRNO_OF(xfer_one(c->edu, &x, dst, 5, sizeof(data),
				      DMAKIT_DIR_FROM_DEVICE, DMAKIT_XFER_STAGED)));
	CHILD_EQ(0, x.result.status);
	CHILD_EQ(0, x.result.stage_dma);
	CHILD_EQ(0, read_buf(dst, back, sizeof(data), 5));
	CHILD_EQ(-1, first_difference(data, back, sizeof(data)));
	close(src);
	close(dst);
}

/*
 * Staged transfers are the results that carry a bus address: zero for the
 * unprivileged caller, synchronous or reaped later (the result is filled by
 * the engine's worker, which runs with root's credentials).
 */
TEST_F(priv, staged_transfers_report_no_bus_address_sync_or_reaped)
{
	struct dev_ctx c = { self->edu, self->info.bar_len };
	struct dmakit_xfer_result r;
	int buf;

	RUN_AS_NOBODY(child_staged, &c);
	/* root, reaped: the field is real */
	buf = buf_alloc(PAGE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, xfer_async(self->edu, &r, buf, 0, 200,
				DMAKIT_DIR_TO_DEVICE, DMAKIT_XFER_STAGED));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(0, r.stage_dma);
	EXPECT_NE(SENTINEL, r.stage_dma);
	close(buf);
}

static void child_own_memory(void *ctx)
{
	struct dev_ctx *c = ctx;
	static unsigned char data[6000], back[6000];
	struct dmakit_xfer_user xu;
	struct dmakit_xfer x;
	struct iovec v;
	int contig, vm, coh, ro;

	fill_seeded(data, sizeof(data), 11);
	/* buffer -> device -> buffer, two window-sized chunks */
	contig = buf_alloc(2 * PAGE, DMAKIT_KIND_CONTIG, 0, NULL);
	vm = buf_alloc(2 * PAGE, DMAKIT_KIND_VMALLOC, 0, NULL);
	CHILD_TRUE(contig >= 0 && vm >= 0);
	CHILD_EQ(sizeof(data), pwrite(contig, data, sizeof(data), 1));
	memset(&x, 0, sizeof(x));
	x.fd = contig;
	x.offset = 1;
	x.dst_fd = vm;
	x.dst_offset = 3;
	x.len = sizeof(data);
	x.dir = DMAKIT_DIR_COPY;
	CHILD_EQ(0, ERRNO_OF(ioctl(c->edu, DMAKIT_IOC_XFER, &x)));
	CHILD_EQ(0, x.result.status);
	CHILD_EQ(0, read_buf(vm, back, sizeof(data), 3));
	CHILD_EQ(-1, first_difference(data, back, sizeof(data)));

	/* its own malloc'd memory, pinned */
	memset(&xu, 0, sizeof(xu));
	v = (struct iovec){ data, 2000 };
	xu.iov = (uintptr_t)&v;
	xu.iovcnt = 1;
	xu.dir = DMAKIT_DIR_TO_DEVICE;
	xu.flags = DMAKIT_XFER_ZEROCOPY;
	xu.result.stage_dma = SENTINEL;
	CHILD_EQ(0, ERRNO_OF(ioctl(c->edu, DMAKIT_IOC_XFER_USER, &xu)));
	CHILD_EQ(0, xu.result.stage_dma);
	memset(back, 0, sizeof(back));
	v = (struct iovec){ back, 2000 };
	xu.dir = DMAKIT_DIR_FROM_DEVICE;
	CHILD_EQ(0, ERRNO_OF(ioctl(c->edu, DMAKIT_IOC_XFER_USER, &xu)));
	CHILD_EQ(2000, xu.len);
	CHILD_EQ(-1, first_difference(data, back, 2000));

	/* coherent memory of the device, allocated through the held fd */
	coh = alloc_on(c->edu, PAGE, DMAKIT_KIND_COHERENT, 0);
	CHILD_TRUE(coh >= 0);
	CHILD_EQ(0, ERRNO_OF(xfer_one(c->edu, &x, coh, 10, 1000,
				      DMAKIT_DIR_FROM_DEVICE, 0)));
	CHILD_EQ(0, x.result.status);
	CHILD_EQ(0, read_buf(coh, back, 1000, 10));
	CHILD_EQ(-1, first_difference(data, back, 1000));

	/* not into a buffer it may only read: before any DMA */
	ro = buf_alloc(PAGE, DMAKIT_KIND_PAGES, DMAKIT_ALLOC_RDONLY, NULL);
	CHILD_TRUE(ro >= 0);
	CHILD_EQ(EBADF, ERRNO_OF(xfer_one(c->edu, &x, ro, 0, 100,
					  DMAKIT_DIR_FROM_DEVICE, 0)));
	CHILD_EQ(EBADF, ERRNO_OF(xfer_one(c->edu, &x, ro, 0, 100,
					  DMAKIT_DIR_FROM_DEVICE,
					  DMAKIT_XFER_STAGED)));
	x.fd = vm;
	x.dst_fd = ro;
	x.offset = 0;
	x.dst_offset = 0;
	x.len = 100;
	x.dir = DMAKIT_DIR_COPY;
	x.flags = 0;
	CHILD_EQ(EBADF, ERRNO_OF(ioctl(c->edu, DMAKIT_IOC_XFER, &x)));
	close(contig);
	close(vm);
	close(coh);
	close(ro);
}

/* what the unprivileged user may do with a held fd: DMA of its own memory */
TEST_F(priv, unprivileged_transfers_of_own_memory_arrive_byte_for_byte)
{
	struct dev_ctx c = { self->edu, self->info.bar_len };
	long long requests = edu_stat("requests");

	RUN_AS_NOBODY(child_own_memory, &c);
	/* COPY (1), two XFER_USER, one FROM_DEVICE: the refusals queued nothing */
	EXPECT_EQ(requests + 4, edu_stat("requests"));
}

static void child_translate(void *ctx)
{
	static const uint32_t kinds[] = { DMAKIT_KIND_CONTIG, DMAKIT_KIND_PAGES,
					  DMAKIT_KIND_VMALLOC,
					  DMAKIT_KIND_COHERENT };
	struct dev_ctx *c = ctx;
	struct dmakit_page_desc d[NPAGES];

	for (unsigned int k = 0; k < 4; k++) {
		int fd = alloc_kind(c->edu, NPAGES * PAGE, kinds[k], 0);
		unsigned char *map;

		CHILD_TRUE(fd >= 0);
		map = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
		CHILD_TRUE(map != MAP_FAILED);
		if (fd < 0 || map == MAP_FAILED)
			return;
		memset(map, kinds[k], NPAGES * PAGE);	/* every page present */
		for (int by_offset = 0; by_offset < 2; by_offset++) {
			memset(d, 0xa5, sizeof(d));
			CHILD_EQ(NPAGES, translate(fd, by_offset ? 0 : (uintptr_t)map,
						   0, NPAGES, d));
			for (unsigned int i = 0; i < NPAGES; i++) {
				snprintf(child_where, sizeof(child_where),
					 "%s page %u by %s", kind_name(kinds[k]), i,
					 by_offset ? "offset" : "address");
				CHILD_EQ(0, d[i].pfn);
				CHILD_EQ(0, d[i].phys);
				CHILD_EQ(0, d[i].kva);
				CHILD_EQ(0, d[i].mapped_pfn);
				/* by address: "mapped", never "contiguous" */
				CHILD_EQ(by_offset ? 0 : DMAKIT_PAGE_MAPPED, d[i].flags);
				CHILD_EQ(i * PAGE, d[i].offset);
				CHILD_EQ(by_offset ? 0 : (uintptr_t)map + i * PAGE,
					 d[i].uva);
				CHILD_TRUE(d[i].zone >= DMAKIT_ZONE_DMA &&
					   d[i].zone <= DMAKIT_ZONE_MOVABLE);
				CHILD_EQ(kinds[k] == DMAKIT_KIND_VMALLOC ?
					 DMAKIT_KVA_VMALLOC : DMAKIT_KVA_LINEAR,
					 d[i].kva_kind);
			}
		}
		child_where[0] = 0;
		munmap(map, NPAGES * PAGE);
		close(fd);
	}
}

/*
 * TRANSLATE for the unprivileged: no PFN, physical or kernel address and
 * no contiguity, by address and by offset, every kind, its own buffers.
 */
TEST_F(priv, introspection_redacts_addresses_for_every_kind_and_path)
{
	struct dev_ctx c = { self->edu, self->info.bar_len };
	struct dmakit_page_desc d[NPAGES];
	int fd;

	RUN_AS_NOBODY(child_translate, &c);
	/* root, by offset: the fields are real */
	fd = buf_alloc(NPAGES * PAGE, DMAKIT_KIND_CONTIG, 0, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(NPAGES, translate(fd, 0, 0, NPAGES, d));
	for (unsigned int i = 0; i < NPAGES; i++) {
		EXPECT_NE(0, d[i].pfn);
		EXPECT_EQ(d[i].pfn * PAGE, d[i].phys);
		EXPECT_NE(0, d[i].kva);
		if (i + 1 < NPAGES) {
			EXPECT_EQ(DMAKIT_PAGE_CONTIG_NEXT, d[i].flags);
		}
	}
	close(fd);
}

struct fdc_ctx {
	int fd0;
	struct dmakit_fdc_info root;
};

static void child_fdc_info(void *ctx)
{
	struct fdc_ctx *c = ctx;
	struct dmakit_fdc_info info;

	memset(&info, 0xa5, sizeof(info));
	CHILD_EQ(0, ERRNO_OF(ioctl(c->fd0, DMAKIT_IOC_FDC_INFO, &info)));
	CHILD_EQ(0, info.buf_bus);
	CHILD_EQ(c->root.buf_size, info.buf_size);
	CHILD_EQ(c->root.dma_channel, info.dma_channel);
}

/* the floppy node names its ISA DMA buffer's bus address to root only */
TEST_F(priv, fdc_info_hides_the_isa_buffer_address)
{
	struct fdc_ctx c;

	if (access("/dev/dmakit-fd0", F_OK))
		SKIP(return, "no floppy controller node on this lane");
	c.fd0 = open("/dev/dmakit-fd0", O_RDONLY);
	ASSERT_LE(0, c.fd0) TH_LOG("open fd0: %s", strerror(errno));
	memset(&c.root, 0xa5, sizeof(c.root));
	ASSERT_EQ(0, ioctl(c.fd0, DMAKIT_IOC_FDC_INFO, &c.root));
	/* root: real, below 16 MiB (what the 8237 reaches) */
	EXPECT_NE(0, c.root.buf_bus);
	EXPECT_GT(1ull << 24, c.root.buf_bus);
	RUN_AS_NOBODY(child_fdc_info, &c);
	close(c.fd0);
}

#define MAX_FILES	64

struct files_ctx {
	int n;
	char path[MAX_FILES][160];
};

static void child_sysfs(void *ctx)
{
	struct files_ctx *c = ctx;
	char line[64];
	ssize_t n;
	int fd;

	for (int i = 0; i < c->n; i++) {
		errno = 0;
		if (open(c->path[i], O_WRONLY) >= 0 || errno != EACCES)
			child_failed(__LINE__, c->path[i], EACCES, errno);
		rep->checks++;
		/*
		 * reading is fine: the values are no secret (at least the
		 * newline: an empty string parameter, dma_channels without
		 * dmaengine, reads "\n")
		 */
		fd = open(c->path[i], O_RDONLY);
		n = fd < 0 ? -1 : read(fd, line, sizeof(line));
		if (n <= 0)
			child_failed(__LINE__, c->path[i], 1, n < 0 ? errno : 0);
		if (fd >= 0)
			close(fd);
	}
}

static void list_dir(struct files_ctx *c, const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)) && c->n < MAX_FILES)
		if (e->d_name[0] != '.')
			snprintf(c->path[c->n++], sizeof(c->path[0]), "%.60s/%.60s",
				 dir, e->d_name);
	closedir(d);
}

/* Module parameters (limits, timeouts) and the device counters are root's to write. */
TEST_F(priv, module_parameters_and_counters_are_root_writable_only)
{
	static const char *const hooks[] = { "timeout_ms", "max_buffer_mb",
					     "fault_batch", "copy_max" };
	struct files_ctx *c = calloc(1, sizeof(*c));
	char before[MAX_FILES][64], after[64];
	struct stat st;
	int nparams;

	ASSERT_NE(NULL, c);
	list_dir(c, "/sys/module/dmakit/parameters");
	nparams = c->n;
	list_dir(c, "/sys/class/misc/dmakit-edu0/stats");
	ASSERT_LT(nparams, c->n);
	for (unsigned int h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
		int found = 0;

		for (int i = 0; i < nparams; i++)
			found |= !!strstr(c->path[i], hooks[h]);
		EXPECT_TRUE(found) TH_LOG("no parameter %s", hooks[h]);
	}
	for (int i = 0; i < c->n; i++) {
		ASSERT_EQ(0, stat(c->path[i], &st));
		EXPECT_EQ(0, st.st_uid);
		EXPECT_EQ(0, st.st_mode & 0022) TH_LOG("%s: mode %o", c->path[i],
						       st.st_mode & 07777);
		read_line(c->path[i], before[i], sizeof(before[i]));
	}
	RUN_AS_NOBODY(child_sysfs, c);
	for (int i = 0; i < nparams; i++) {
		EXPECT_STREQ(before[i], read_line(c->path[i], after, sizeof(after)));
	}
	free(c);
}

static void child_fault_points(void *ctx)
{
	struct files_ctx *c = ctx;

	for (int i = 0; i < c->n; i++) {
		errno = 0;
		if (open(c->path[i], O_WRONLY) >= 0 || errno != EACCES)
			child_failed(__LINE__, c->path[i], EACCES, errno);
		errno = 0;
		if (open(c->path[i], O_RDONLY) >= 0 || errno != EACCES)
			child_failed(__LINE__, c->path[i], EACCES, errno);
		rep->checks++;
	}
}

/*
 * The fault-injection points (kernel/core/fault.c: fail a DMA mapping, drop a
 * completion interrupt, leave the floppy's DMA channel masked, ask for a
 * sector the track lacks) are test hooks, not module parameters: debugfs
 * files, root's, mode 0600, which uid 65534 can neither read nor write
 * (nor reach: the debugfs root is 0700). Under lockdown debugfs refuses
 * them to root as well (EPERM).
 */
TEST_F(priv, fault_injection_points_are_root_only_debugfs_files)
{
	static const char *const points[] = { "dma_map", "drop_irq",
					      "fdc_mask_channel",
					      "fdc_bad_sector" };
	static const char *const old_params[] = { "fault_dma_map",
						  "fault_drop_irq",
						  "fdc_fault_mask_channel",
						  "fdc_fault_bad_sector" };
	static const char *const files[] = { "probability", "interval",
					     "times", "space", "verbose" };
	struct files_ctx *c = calloc(1, sizeof(*c));
	char path[160], before[MAX_FILES][64], after[64];
	struct stat st;
	int fd;

	ASSERT_NE(NULL, c);
	for (unsigned int i = 0; i < sizeof(old_params) / sizeof(old_params[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/dmakit/parameters/%s",
			 old_params[i]);
		EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s is a module parameter", path);
	}
	fd = open(FAULT_DIR "drop_irq/probability", O_RDWR);
	if (fd < 0 && errno == EPERM) {
		/* locked down: none of them opens, not even for reading */
		for (unsigned int p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
			snprintf(path, sizeof(path), FAULT_DIR "%s/times", points[p]);
			errno = 0;
			EXPECT_EQ(-1, open(path, O_RDONLY));
			EXPECT_EQ(EPERM, errno) TH_LOG("%s", path);
		}
		free(c);
		return;
	}
	ASSERT_LE(0, fd) TH_LOG(FAULT_DIR "drop_irq/probability: %s", strerror(errno));
	close(fd);
	for (unsigned int p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
		snprintf(path, sizeof(path), FAULT_DIR "%s", points[p]);
		list_dir(c, path);
		for (unsigned int f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			snprintf(path, sizeof(path), FAULT_DIR "%s/%s", points[p],
				 files[f]);
			EXPECT_EQ(0, access(path, F_OK)) TH_LOG("no %s", path);
		}
	}
	ASSERT_LE(20, c->n);
	for (int i = 0; i < c->n; i++) {
		ASSERT_EQ(0, stat(c->path[i], &st));
		EXPECT_EQ(0, st.st_uid);
		EXPECT_EQ(0, st.st_mode & 0077) TH_LOG("%s: mode %o", c->path[i],
						       st.st_mode & 07777);
		read_line(c->path[i], before[i], sizeof(before[i]));
	}
	RUN_AS_NOBODY(child_fault_points, c);
	for (int i = 0; i < c->n; i++) {
		EXPECT_STREQ(before[i], read_line(c->path[i], after, sizeof(after)));
	}
	free(c);
}

static void child_reopen(void *ctx)
{
	char path[64];
	int ro = buf_alloc(PAGE, DMAKIT_KIND_PAGES, DMAKIT_ALLOC_RDONLY, NULL);

	CHILD_TRUE(ro >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ro);
	/* the anonymous inode is root's, mode 0600 */
	CHILD_EQ(EACCES, ERRNO_OF(open(path, O_RDWR)));
	CHILD_EQ(EACCES, ERRNO_OF(open(path, O_RDONLY)));
	close(ro);
}

/*
 * A read-only buffer fd cannot be turned into a writable one by opening
 * /proc/self/fd/N: the anonymous inode has no open() (ENXIO, even for
 * root), and it is root's 0600 inode (EACCES for anyone else).
 */
TEST_F(priv, buffer_fds_cannot_be_reopened_with_more_rights)
{
	char path[64];
	int ro = buf_alloc(PAGE, DMAKIT_KIND_PAGES, DMAKIT_ALLOC_RDONLY, NULL);

	ASSERT_LE(0, ro);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ro);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDWR));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDONLY));
	EXPECT_EQ(ENXIO, errno);
	close(ro);
	RUN_AS_NOBODY(child_reopen, NULL);
}

/*
 * CMA and coherent memory escape the memory cgroup; the module charges them
 * to the allocating user's RLIMIT_MEMLOCK instead, in the user's own count
 * (not the process's VmLck, which never moves), until the buffer is freed;
 * CAP_IPC_LOCK is exempt. Other kinds are the memcg's.
 */
#define CHARGE_LIMIT	(64 << 10)
#define CMA_SIZE	(16 << 20)

static long long vmlck_kb(void)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmLck:", 6))
			v = strtoll(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static int set_memlock(rlim_t soft, rlim_t hard)
{
	struct rlimit r = { .rlim_cur = soft, .rlim_max = hard };

	return setrlimit(RLIMIT_MEMLOCK, &r);
}

/* 0 if a buffer of @kind could be created (and is freed again), or errno */
static int alloc_errno(int edu, uint64_t size, uint32_t kind)
{
	int fd = alloc_kind(edu, size, kind, 0);

	if (fd < 0)
		return -fd;
	close(fd);
	return 0;
}

/* @len bytes of pattern @seed written to buffer @fd, or read back and checked */
static int buf_pattern(int fd, size_t len, uint32_t seed, int check)
{
	unsigned char want[CHARGE_LIMIT], got[CHARGE_LIMIT];

	fill_pattern(want, len, seed);
	if (!check)
		return pwrite(fd, want, len, 0) == (ssize_t)len ? 0 : -1;
	if (pread(fd, got, len, 0) != (ssize_t)len)
		return -1;
	return memcmp(want, got, len) ? -1 : 0;
}

/*
 * The exec case of priv.the_memlock_charge_belongs_to_the_user_*: this runs
 * in the image the unprivileged child exec'ed, before the harness, with
 * the edu fd and the buffer fd it kept. Its exit status is the child's.
 */
__attribute__((constructor)) static void memlock_after_exec(void)
{
	const char *probe = getenv("DMAKIT_MEMLOCK_PROBE");
	int edu, buf;

	if (!probe)
		return;
	if (sscanf(probe, "%d,%d", &edu, &buf) != 2)
		_exit(90);
	/* a new mm, the same user: still at the limit */
	if (alloc_errno(edu, PAGE, DMAKIT_KIND_COHERENT) != ENOMEM)
		_exit(91);
	if (buf_pattern(buf, CHARGE_LIMIT, 77, 1))
		_exit(92);
	/* freeing the buffer gives the room back */
	close(buf);
	if (alloc_errno(edu, PAGE, DMAKIT_KIND_COHERENT))
		_exit(93);
	_exit(0);
}

static void child_memlock(void *ctx)
{
	int edu = *(int *)ctx, fd, big;
	long long base = vmlck_kb();
	unsigned char *p;

	/* the parent left the soft limit at CHARGE_LIMIT, the hard one higher */
	/* coherent: over the limit refused, within it charged until freed */
	snprintf(child_where, sizeof(child_where), "coherent");
	CHILD_EQ(ENOMEM, alloc_errno(edu, 2 * CHARGE_LIMIT,
				     DMAKIT_KIND_COHERENT));
	fd = alloc_on(edu, CHARGE_LIMIT, DMAKIT_KIND_COHERENT, 0);
	CHILD_TRUE(fd >= 0);
	CHILD_EQ(ENOMEM, alloc_errno(edu, PAGE, DMAKIT_KIND_COHERENT));
	/* the user's count, not this process's */
	CHILD_EQ(base, vmlck_kb());
	/* the charge lives as long as the buffer: a mapping keeps both */
	p = mmap(NULL, CHARGE_LIMIT, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHILD_TRUE(p != MAP_FAILED);
	close(fd);
	CHILD_EQ(ENOMEM, alloc_errno(edu, PAGE, DMAKIT_KIND_COHERENT));
	if (p != MAP_FAILED) {
		CHILD_EQ(0, p[CHARGE_LIMIT - 1]);
		munmap(p, CHARGE_LIMIT);
	}
	CHILD_EQ(0, alloc_errno(edu, CHARGE_LIMIT, DMAKIT_KIND_COHERENT));

	/* the memcg's kinds are not charged here: they take none of the room */
	snprintf(child_where, sizeof(child_where), "pages");
	fd = alloc_kind(edu, 4 * CHARGE_LIMIT, DMAKIT_KIND_PAGES, 0);
	CHILD_TRUE(fd >= 0);
	CHILD_EQ(0, alloc_errno(edu, CHARGE_LIMIT, DMAKIT_KIND_COHERENT));
	close(fd);

	if (!env_long("DMAKIT_HAS_CMA", 0))
		return;
	/* contig beyond the buddy allocator: CMA */
	snprintf(child_where, sizeof(child_where), "contig from CMA");
	CHILD_EQ(ENOMEM, alloc_errno(edu, CMA_SIZE, DMAKIT_KIND_CONTIG));
	CHILD_EQ(0, set_memlock(CMA_SIZE + CHARGE_LIMIT, CMA_SIZE * 2));
	big = alloc_kind(edu, CMA_SIZE, DMAKIT_KIND_CONTIG, 0);
	CHILD_TRUE(big >= 0);
	CHILD_EQ(ENOMEM, alloc_errno(edu, 2 * CHARGE_LIMIT,
				     DMAKIT_KIND_COHERENT));
	CHILD_EQ(base, vmlck_kb());
	close(big);
	CHILD_EQ(0, alloc_errno(edu, 2 * CHARGE_LIMIT, DMAKIT_KIND_COHERENT));
}

TEST_F(priv, memory_outside_the_memcg_is_charged_to_rlimit_memlock)
{
	long long base = vmlck_kb();
	struct rlimit saved;
	int fd;

	ASSERT_LE(0, base);
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &saved));
	/* root: CAP_IPC_LOCK goes past the limit, and is charged nothing */
	ASSERT_EQ(0, set_memlock(CHARGE_LIMIT, saved.rlim_max));
	fd = alloc_on(self->edu, 2 * CHARGE_LIMIT, DMAKIT_KIND_COHERENT, 0);
	ASSERT_LE(0, fd) TH_LOG("coherent as root: %s", strerror(errno));
	EXPECT_EQ(base, vmlck_kb());
	close(fd);
	if (!env_long("DMAKIT_HAS_CMA", 0))
		TH_LOG("no CMA on this lane: contig from CMA not tried");
	/* the child may raise its soft limit up to this hard one, not beyond */
	ASSERT_EQ(0, set_memlock(CHARGE_LIMIT, 2 * CMA_SIZE));
	RUN_AS_NOBODY(child_memlock, &self->edu);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &saved));
}

/* exec: the charge and the buffer go to the new image (memlock_after_exec) */
static void child_memlock_exec(void *ctx)
{
	int edu = *(int *)ctx, fd;
	char probe[32];

	fd = alloc_on(edu, CHARGE_LIMIT, DMAKIT_KIND_COHERENT, 0);
	CHILD_TRUE(fd >= 0);
	CHILD_EQ(0, buf_pattern(fd, CHARGE_LIMIT, 77, 0));
	CHILD_EQ(ENOMEM, alloc_errno(edu, PAGE, DMAKIT_KIND_COHERENT));
	if (fd < 0)
		return;
	snprintf(probe, sizeof(probe), "%d,%d", edu, fd);
	setenv("DMAKIT_MEMLOCK_PROBE", probe, 1);
	execl("/proc/self/exe", "security_test", (char *)NULL);
	_exit(99);
}

/*
 * SCM_RIGHTS: the allocating process sends the fd and exits; the receiver,
 * the same user, holds the buffer and the charge with it
 */
static void child_memlock_scm(void *ctx)
{
	int edu = *(int *)ctx, sv[2], fd = -1, status;
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	pid_t pid;

	CHILD_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	pid = fork();
	if (!pid) {
		int b = alloc_on(edu, CHARGE_LIMIT, DMAKIT_KIND_COHERENT, 0);

		if (b < 0 || buf_pattern(b, CHARGE_LIMIT, 78, 0))
			_exit(1);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &b, sizeof(int));
		_exit(sendmsg(sv[0], &msg, 0) == 1 ? 0 : 2);
	}
	CHILD_TRUE(pid > 0);
	CHILD_EQ(pid, waitpid(pid, &status, 0));
	CHILD_EQ(0, status);
	/* the sender and its mm are gone; its buffer is in flight to us */
	if (recvmsg(sv[1], &msg, 0) == 1 && (c = CMSG_FIRSTHDR(&msg)) &&
	    c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	CHILD_TRUE(fd >= 0);
	CHILD_EQ(0, buf_pattern(fd, CHARGE_LIMIT, 78, 1));
	CHILD_EQ(ENOMEM, alloc_errno(edu, PAGE, DMAKIT_KIND_COHERENT));
	close(fd);
	CHILD_EQ(0, alloc_errno(edu, PAGE, DMAKIT_KIND_COHERENT));
	close(sv[0]);
	close(sv[1]);
}

/*
 * An unprivileged user cannot shed the charge of memory it holds: neither
 * an exec nor an fd passed over SCM_RIGHTS (the allocator exits) gives it
 * room for more (when the charge was the mm's, both did: unbounded coherent
 * memory from the 0666 node)
 */
TEST_F(priv, the_memlock_charge_belongs_to_the_user_through_exec)
{
	struct rlimit saved;

	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &saved));
	ASSERT_EQ(0, set_memlock(CHARGE_LIMIT, CHARGE_LIMIT));
	RUN_AS_NOBODY(child_memlock_exec, &self->edu);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &saved));
}

TEST_F(priv, the_memlock_charge_belongs_to_the_user_through_scm_rights)
{
	struct rlimit saved;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		SKIP(return, "no AF_UNIX sockets in this kernel (%s)",
		     strerror(errno));
	close(sv[0]);
	close(sv[1]);
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &saved));
	ASSERT_EQ(0, set_memlock(CHARGE_LIMIT, CHARGE_LIMIT));
	RUN_AS_NOBODY(child_memlock_scm, &self->edu);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &saved));
}

/*
 * Asynchronous pins outlive the call that made them: charged to the same
 * count, per pinned page, until the device is done with them
 */
#define LOCK_PAGES	(CHARGE_LIMIT / PAGE)

struct async_lock_ctx {
	int edu;
	int edu2;	/* the child's alone (nobody_only_fd) */
};

static int xfer_user_async(int edu, uint32_t dir, const struct iovec *v,
			   int n, const struct iovec *d, int dn)
{
	struct dmakit_xfer_user xu = {
		.iov = (uintptr_t)v, .iovcnt = n,
		.dst_iov = (uintptr_t)d, .dst_iovcnt = dn,
		.dir = dir, .flags = DMAKIT_XFER_ASYNC,
	};

	return ioctl(edu, DMAKIT_IOC_XFER_USER, &xu);
}

/* the status of the oldest asynchronous transfer, waited for; or -errno */
static int reap_status(int edu)
{
	struct dmakit_xfer_reap r = { .flags = DMAKIT_REAP_WAIT };

	if (ioctl(edu, DMAKIT_IOC_XFER_REAP, &r))
		return -errno;
	return r.result.status;
}

/* @n one-byte iovecs from @p: @n pins of one page, one DMA segment */
static void byte_iovecs(struct iovec *v, unsigned char *p, int n)
{
	for (int i = 0; i < n; i++)
		v[i] = (struct iovec){ p + i, 1 };
}

static void child_async_memlock(void *ctx)
{
	struct async_lock_ctx *c = ctx;
	static struct iovec many[LOCK_PAGES + 1];
	unsigned char *m = mmap(NULL, 24 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec src = { m, 8 * PAGE }, dst = { m + 8 * PAGE, 8 * PAGE };
	struct iovec one = { m + 16 * PAGE, 100 };
	struct dmakit_xfer_user xu = {
		.iov = (uintptr_t)&one, .iovcnt = 1,
		.dir = DMAKIT_DIR_FROM_DEVICE, .flags = DMAKIT_XFER_ZEROCOPY,
	};

	CHILD_TRUE(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	fill_seeded(m, 8 * PAGE, 23);
	memset(m + 8 * PAGE, 0, 16 * PAGE);
	/* the soft limit is CHARGE_LIMIT: one pin more is refused */
	byte_iovecs(many, m, LOCK_PAGES + 1);
	CHILD_EQ(ENOMEM, ERRNO_OF(xfer_user_async(c->edu, DMAKIT_DIR_TO_DEVICE,
						  many, LOCK_PAGES + 1, NULL, 0)));
	/* 8 + 8 pages: the limit, for the ~2 s of its 18 DMA segments */
	CHILD_EQ(0, ERRNO_OF(xfer_user_async(c->edu, DMAKIT_DIR_COPY, &src, 1,
					     &dst, 1)));
	CHILD_EQ(ENOMEM, ERRNO_OF(xfer_user_async(c->edu, DMAKIT_DIR_FROM_DEVICE,
						  &one, 1, NULL, 0)));
	/* the count coherent memory is charged to */
	CHILD_EQ(ENOMEM, alloc_errno(c->edu, PAGE, DMAKIT_KIND_COHERENT));
	/* a synchronous pin ends with its call: not charged (waits: FIFO) */
	CHILD_EQ(0, ERRNO_OF(ioctl(c->edu, DMAKIT_IOC_XFER_USER, &xu)));
	/* the COPY arrived, and its room is back */
	CHILD_EQ(0, reap_status(c->edu));
	CHILD_EQ(-1, first_difference(m, m + 8 * PAGE, 8 * PAGE));
	CHILD_EQ(0, alloc_errno(c->edu, CHARGE_LIMIT, DMAKIT_KIND_COHERENT));

	/* closing the fd with the transfer in flight gives everything back */
	snprintf(child_where, sizeof(child_where), "close");
	for (int i = 0; i < 5000 &&
	     !__atomic_load_n(&rep->parent_closed, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	CHILD_TRUE(__atomic_load_n(&rep->parent_closed, __ATOMIC_ACQUIRE));
	CHILD_EQ(0, ERRNO_OF(xfer_user_async(c->edu2, DMAKIT_DIR_COPY, &src, 1,
					     &dst, 1)));
	CHILD_EQ(ENOMEM, alloc_errno(c->edu, PAGE, DMAKIT_KIND_COHERENT));
	CHILD_EQ(0, close(c->edu2));
	CHILD_EQ(0, alloc_errno(c->edu, CHARGE_LIMIT, DMAKIT_KIND_COHERENT));
	munmap(m, 24 * PAGE);
}

/*
 * Pins of an asynchronous transfer (XFER_USER, AIO, io_uring) may outlive
 * the call for as long as the shared queue takes: the unprivileged user's
 * RLIMIT_MEMLOCK bounds them (ENOMEM), like the memory above, until the
 * device is done or the fd is closed; CAP_IPC_LOCK is exempt
 */
TEST_F(priv, async_pins_are_charged_to_rlimit_memlock_until_done)
{
	struct async_lock_ctx c = { self->edu, edu_open(0, 0) };
	static struct iovec v[2 * LOCK_PAGES];
	unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct rlimit saved;

	ASSERT_LE(0, c.edu2);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &saved));
	ASSERT_EQ(0, set_memlock(CHARGE_LIMIT, saved.rlim_max));
	/* root: twice the limit in pins, byte for byte */
	fill_seeded(m, PAGE, 24);
	byte_iovecs(v, m, 2 * LOCK_PAGES);
	ASSERT_EQ(0, xfer_user_async(self->edu, DMAKIT_DIR_TO_DEVICE, v,
				     2 * LOCK_PAGES, NULL, 0));
	EXPECT_EQ(0, reap_status(self->edu));
	ASSERT_EQ(2 * LOCK_PAGES, pread(self->edu, m + PAGE, 2 * LOCK_PAGES, 0));
	EXPECT_EQ(-1, first_difference(m, m + PAGE, 2 * LOCK_PAGES));
	munmap(m, 2 * PAGE);

	nobody_only_fd = c.edu2;
	RUN_AS_NOBODY(child_async_memlock, &c);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &saved));
}

/* ==== mmap hardening, every buffer kind ================================ */

FIXTURE(mm) {
	int edu;
	int fd;		/* NPAGES, read-write */
	int ro;		/* NPAGES, DMAKIT_ALLOC_RDONLY */
	long fault_batch;
};

FIXTURE_VARIANT(mm) {
	uint32_t kind;
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(mm, contig) { .kind = DMAKIT_KIND_CONTIG };
FIXTURE_VARIANT_ADD(mm, contig_pfnmap) {
	.kind = DMAKIT_KIND_CONTIG, .flags = DMAKIT_ALLOC_PFNMAP };
FIXTURE_VARIANT_ADD(mm, pages) { .kind = DMAKIT_KIND_PAGES };
FIXTURE_VARIANT_ADD(mm, vmalloc) { .kind = DMAKIT_KIND_VMALLOC };
FIXTURE_VARIANT_ADD(mm, coherent) { .kind = DMAKIT_KIND_COHERENT };
FIXTURE_VARIANT_ADD(mm, pages_premap) {
	.kind = DMAKIT_KIND_PAGES, .flags = DMAKIT_ALLOC_PREMAP };
FIXTURE_VARIANT_ADD(mm, vmalloc_premap) {
	.kind = DMAKIT_KIND_VMALLOC, .flags = DMAKIT_ALLOC_PREMAP };

FIXTURE_SETUP(mm)
{
	self->fault_batch = set_param("fault_batch", 16);
	ASSERT_LE(1, self->fault_batch);
	self->edu = edu_open(0, 0);
	ASSERT_LE(0, self->edu) TH_LOG("open edu0: %s", strerror(errno));
	self->fd = alloc_kind(self->edu, NPAGES * PAGE, variant->kind,
			      variant->flags);
	ASSERT_LE(0, self->fd) TH_LOG("alloc: %s", strerror(-self->fd));
	self->ro = alloc_kind(self->edu, NPAGES * PAGE, variant->kind,
			      variant->flags | DMAKIT_ALLOC_RDONLY);
	ASSERT_LE(0, self->ro) TH_LOG("alloc: %s", strerror(-self->ro));
}

FIXTURE_TEARDOWN(mm)
{
	close(self->ro);
	close(self->fd);
	close(self->edu);
	set_param("fault_batch", self->fault_batch);
}

/* mapped whole at mmap time, no fault handler: may not grow */
static int pfn_kind(uint32_t kind, uint32_t flags)
{
	return (flags & DMAKIT_ALLOC_PFNMAP) || kind == DMAKIT_KIND_COHERENT;
}

/*
 * The offset is an offset into the buffer, nothing else: every range that
 * does not lie inside it is refused. A range whose end passes ULONG_MAX
 * never reaches the driver (the core's EOVERFLOW); one that stays below
 * it does, and the driver's overflow-safe check answers EINVAL.
 */
TEST_F(mm, out_of_range_offsets_and_lengths_are_refused)
{
	static const struct {
		unsigned long off;
		size_t len;
		int err;
	} cases[] = {
		{ NPAGES * PAGE, PAGE, EINVAL },		/* at the end */
		{ (NPAGES - 1) * PAGE, 2 * PAGE, EINVAL },	/* across it */
		{ 0, (NPAGES + 1) * PAGE, EINVAL },		/* too long */
		{ 1ul << 40, PAGE, EINVAL },
		{ 1ul << 63, PAGE, EINVAL },
		{ TOP_OFFSET - 16 * PAGE, PAGE, EINVAL },	/* pgoff ~2^52 */
		{ TOP_OFFSET - PAGE, PAGE, EINVAL },		/* ends at ULONG_MAX */
		{ TOP_OFFSET, PAGE, EOVERFLOW },		/* wraps */
		{ TOP_OFFSET - PAGE, 4 * PAGE, EOVERFLOW },	/* wraps */
		{ 1, PAGE, EINVAL },				/* not aligned */
		{ 0, 0, EINVAL },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(cases[i].err, mmap_errno(cases[i].len, PROT_READ,
						   MAP_SHARED, self->fd,
						   cases[i].off)) {
			TH_LOG("%s: offset %#lx length %#zx",
			       kind_name(variant->kind), cases[i].off,
			       cases[i].len);
		}
	}
	/* and no mapping was left behind by a refusal */
	EXPECT_EQ(0, buf_mappings(self->fd));
}

/*
 * No mmap offset picks a page frame: each mapped page is the buffer page
 * at that offset, whatever the kind (PFNs from TRANSLATE, as root).
 */
TEST_F(mm, mappings_hold_only_the_buffers_own_pages)
{
	struct dmakit_page_desc own[NPAGES], d[NPAGES];
	unsigned char *map;

	ASSERT_EQ(NPAGES, translate(self->fd, 0, 0, NPAGES, own));
	for (unsigned long off = 0; off < NPAGES; off++) {
		unsigned long len = NPAGES - off;

		map = mmap(NULL, len * PAGE, PROT_READ, MAP_SHARED, self->fd,
			   off * PAGE);
		ASSERT_NE(MAP_FAILED, map);
		for (unsigned long i = 0; i < len; i++)
			ASSERT_EQ(0, touch(map + i * PAGE));
		ASSERT_EQ((int)len, translate(self->fd, (uintptr_t)map, 0, len, d));
		for (unsigned long i = 0; i < len; i++) {
			EXPECT_NE(0, own[off + i].pfn);
			EXPECT_EQ(own[off + i].pfn, d[i].mapped_pfn) {
				TH_LOG("offset page %lu, page %lu", off, i);
			}
			EXPECT_TRUE(d[i].flags & DMAKIT_PAGE_MAPPED);
		}
		munmap(map, len * PAGE);
	}
}

TEST_F(mm, private_mappings_are_refused)
{
	EXPECT_EQ(EINVAL, mmap_errno(PAGE, PROT_READ, MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_errno(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				     self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_errno(PAGE, PROT_READ, MAP_PRIVATE, self->ro, 0));
	EXPECT_EQ(0, buf_mappings(self->fd));
}

/*
 * A read-only buffer fd gives no way to write the buffer: no writable
 * mapping, no later mprotect (VM_MAYWRITE is gone: "mw" not in VmFlags),
 * no write(), no DMA into it, no pinning its read-only mapping for DMA.
 */
TEST_F(mm, a_read_only_fd_never_gives_write_access)
{
	/* the core clears VM_SHARED and VM_MAYWRITE for a read-only file */
	static const char *const ro_must[] = { "rd", "ms", "dd", NULL };
	static const char *const ro_never[] = { "wr", "mw", "sh", NULL };
	unsigned char *map, zero[NPAGES * PAGE], back[NPAGES * PAGE];
	struct dmakit_xfer_user xu;
	struct dmakit_xfer x;
	char flags[256], why[300];
	struct iovec v;

	EXPECT_EQ(EACCES, mmap_errno(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				     self->ro, 0));
	EXPECT_EQ(EACCES, mmap_errno(PAGE, PROT_WRITE, MAP_SHARED, self->ro, 0));
	map = mmap(NULL, NPAGES * PAGE, PROT_READ, MAP_SHARED, self->ro, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, vm_flags(map, flags, sizeof(flags)));
	EXPECT_TRUE(flags_are(flags, ro_must, ro_never, why, sizeof(why))) {
		TH_LOG("%s", why);
	}
	errno = 0;
	EXPECT_EQ(-1, mprotect(map, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, touch(map));		/* reading is fine */
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->ro, "x", 1, 0));
	EXPECT_EQ(EBADF, errno);
	/* DMA into it: refused before the device is asked */
	memset(&x, 0, sizeof(x));
	x.fd = self->ro;
	x.len = 100;
	x.dir = DMAKIT_DIR_FROM_DEVICE;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->edu, DMAKIT_IOC_XFER, &x));
	EXPECT_EQ(EBADF, errno);
	/* its read-only mapping as DMA target memory */
	memset(&xu, 0, sizeof(xu));
	v = (struct iovec){ map, 100 };
	xu.iov = (uintptr_t)&v;
	xu.iovcnt = 1;
	xu.dir = DMAKIT_DIR_FROM_DEVICE;
	xu.flags = DMAKIT_XFER_ZEROCOPY;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->edu, DMAKIT_IOC_XFER_USER, &xu));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, NPAGES * PAGE);
	/* still all zero */
	memset(zero, 0, sizeof(zero));
	ASSERT_EQ(0, read_buf(self->ro, back, sizeof(back), 0));
	EXPECT_EQ(-1, first_difference(zero, back, sizeof(back)));
}

/*
 * mremap: a mapping installed at mmap time (PFN-mapped contig, coherent) cannot grow
 * at all (EFAULT: VM_DONTEXPAND, and VM_PFNMAP too); a fault-mapped
 * buffer can, and every page past the buffer is SIGBUS, even right after
 * a fault batch that stopped at the buffer's last page.
 */
TEST_F(mm, growing_a_mapping_never_reaches_past_the_buffer)
{
	unsigned char *map, *grown;

	ASSERT_LE(1, set_param("fault_batch", 512));
	/* the last two pages of the buffer */
	map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, map);
	if (pfn_kind(variant->kind, variant->flags)) {
		errno = 0;
		grown = mremap(map, 2 * PAGE, 6 * PAGE, MREMAP_MAYMOVE);
		EXPECT_EQ(MAP_FAILED, grown);
		EXPECT_EQ(EFAULT, errno);
		if (grown != MAP_FAILED) {
			munmap(grown, 6 * PAGE);
			return;
		}
		errno = 0;
		grown = mremap(map, 2 * PAGE, 3 * PAGE, 0);
		EXPECT_EQ(MAP_FAILED, grown);
		EXPECT_EQ(EFAULT, errno);
		if (grown != MAP_FAILED) {
			munmap(grown, 3 * PAGE);
			return;
		}
		/* the mapping is as it was */
		map[PAGE] = 0x77;
		EXPECT_EQ(0, touch(map + 2 * PAGE - 1));
		EXPECT_EQ(1, buf_mappings(self->fd));
		munmap(map, 2 * PAGE);
		return;
	}
	grown = mremap(map, 2 * PAGE, 6 * PAGE, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, grown);
	EXPECT_EQ(0, touch(grown + PAGE));		/* buffer page 3: the last */
	for (unsigned long i = 2; i < 6; i++) {
		EXPECT_EQ(SIGBUS, touch(grown + i * PAGE)) {
			TH_LOG("page %lu", i);
		}
	}
	EXPECT_EQ(SIGBUS, touch(grown + 6 * PAGE - 1));
	EXPECT_EQ(0, touch(grown));			/* buffer page 2 */
	munmap(grown, 6 * PAGE);
	EXPECT_EQ(0, buf_mappings(self->fd));
}

/*
 * VmFlags (/proc/self/smaps), decided from the code:
 * - every kind: shared, may read and write (mw) on a read-write fd,
 *   VM_DONTDUMP (dd: a core dump does not copy DMA memory), never
 *   VM_DONTCOPY (dc: a child shares the buffer, which the buffer suite's
 *   fork tests rely on);
 * - installed at mmap time (contig with DMAKIT_ALLOC_PFNMAP, coherent):
 *   VM_DONTEXPAND (de), no growth past what was installed; such contig, and
 *   coherent without an IOMMU,
 *   are remap_pfn_range() pfnmaps: VM_IO | VM_PFNMAP (io pf), no struct
 *   page to pin; coherent behind an IOMMU is vm_map_pages() of the pages
 *   dma-iommu allocated: VM_MIXEDMAP (mm);
 * - fault-mapped (contig, pages, vmalloc): VM_MIXEDMAP (mm) for vm_insert_pages,
 *   neither io nor pf, and no de: growing is allowed, faults are bounded;
 *   premapped ones too (their PFN mappings sit in the same kind of VMA).
 */
TEST_F(mm, vm_flags_are_as_designed)
{
	static const char *const all[] = { "rd", "wr", "sh", "mr", "mw",
					   "ms", "dd", NULL };
	/*
	 * VM_MAYEXEC: 7.3 marks every pseudo filesystem, anon inodes among
	 * them, SB_I_NOEXEC (init_pseudo()), so mmap drops "me" and refuses
	 * PROT_EXEC with EPERM; 6.1 and 6.12 keep "me" and map executable.
	 * Whichever the kernel does, the flag and the answer must agree.
	 */
	static const char *const me[] = { "me", NULL };
	bool exec_refused;
	static const char *const pfn_must[] = { "io", "pf", "de", NULL };
	static const char *const pfn_not[] = { "dc", "mm", NULL };
	static const char *const pages_must[] = { "mm", "de", NULL };
	static const char *const pages_not[] = { "io", "pf", "dc", NULL };
	static const char *const fault_must[] = { "mm", NULL };
	static const char *const fault_not[] = { "io", "pf", "de", "dc", NULL };
	const char *const *must = fault_must, *const *mustnot = fault_not;
	struct dmakit_dev_info info;
	char flags[256], why[300];
	unsigned char *map;

	ASSERT_EQ(0, ioctl(self->edu, DMAKIT_IOC_DEV_INFO, &info));
	if (variant->flags & DMAKIT_ALLOC_PFNMAP ||
	    (variant->kind == DMAKIT_KIND_COHERENT && !info.iommu)) {
		must = pfn_must;
		mustnot = pfn_not;
	} else if (variant->kind == DMAKIT_KIND_COHERENT) {
		must = pages_must;
		mustnot = pages_not;
	}
	map = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_EXEC, MAP_SHARED,
		   self->fd, 0);
	exec_refused = map == MAP_FAILED;
	if (exec_refused) {
		ASSERT_EQ(EPERM, errno);
	} else {
		munmap(map, NPAGES * PAGE);
	}
	map = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, vm_flags(map, flags, sizeof(flags)));
	TH_LOG("%s%s: VmFlags:%s (PROT_EXEC %s)", kind_name(variant->kind),
	       info.iommu ? " (IOMMU)" : "", flags,
	       exec_refused ? "refused" : "allowed");
	EXPECT_TRUE(flags_are(flags, all, NULL, why, sizeof(why))) {
		TH_LOG("%s", why);
	}
	EXPECT_TRUE(flags_are(flags, exec_refused ? NULL : me,
			      exec_refused ? me : NULL, why, sizeof(why))) {
		TH_LOG("%s", why);
	}
	EXPECT_TRUE(flags_are(flags, must, mustnot, why, sizeof(why))) {
		TH_LOG("%s", why);
	}
	munmap(map, NPAGES * PAGE);
}

/*
 * The buffer lives while anything maps it: after its fd is closed, the
 * mappings still share the memory, and the file (one module reference,
 * whose release frees the buffer) goes only with the last munmap.
 */
TEST_F(mm, the_memory_outlives_its_fd_until_the_last_munmap)
{
	long long refs = module_refs();
	unsigned char *a, *b, data[NPAGES * PAGE];
	int fd = alloc_kind(self->edu, NPAGES * PAGE, variant->kind, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(refs + 1, module_refs());
	a = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	close(fd);
	EXPECT_EQ(refs + 1, module_refs());
	fill_seeded(data, sizeof(data), variant->kind);
	memcpy(a, data, sizeof(data));
	munmap(a, NPAGES * PAGE);
	EXPECT_EQ(refs + 1, module_refs());
	EXPECT_EQ(-1, first_difference(data + 2 * PAGE, b, 2 * PAGE));
	munmap(b, 2 * PAGE);
	EXPECT_EQ(refs, module_refs());
}

/* ==== memory accounting ================================================= */

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_DIR		CG_ROOT "/dmakit-security"
#define CG_BYTES	(2ul << 20)
#define CG_SLACK	(512ul << 10)	/* two charge batches */

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int memcg_was_on;	/* the root had it enabled for its children */
static int memcg_mounted;	/* cgroup2 was mounted here, by this test */

/* a cgroup v2 group with the memory controller, or a reason why not */
static const char *memcg_setup(void)
{
	char line[256];

	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		if (mount("none", CG_ROOT, "cgroup2", 0, NULL))
			return "no cgroup v2 on this kernel";
		memcg_mounted = 1;
	}
	if (!strstr(read_line(CG_ROOT "/cgroup.controllers", line,
			      sizeof(line)), "memory"))
		return "no memory controller on this kernel";
	memcg_was_on = !!strstr(read_line(CG_ROOT "/cgroup.subtree_control",
					  line, sizeof(line)), "memory");
	if (write_text(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller";
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		return "cannot create a cgroup";
	return NULL;
}

struct memcg_ctx {
	uint32_t kind;
	long long before, allocated, unused_fd, mapped_only, freed;
};

static void memcg_child(struct memcg_ctx *c)
{
	unsigned char *map;
	int fd;

	if (write_text(CG_DIR "/cgroup.procs", "0"))
		_exit(3);
	c->before = sysfs_number(CG_DIR "/memory.current");
	fd = buf_alloc(CG_BYTES, c->kind, 0, NULL);
	if (fd < 0)
		_exit(4);
	c->allocated = sysfs_number(CG_DIR "/memory.current");
	map = mmap(NULL, CG_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		_exit(5);
	memset(map, 1, CG_BYTES);
	close(fd);
	c->mapped_only = sysfs_number(CG_DIR "/memory.current");
	munmap(map, CG_BYTES);
	c->freed = sysfs_number(CG_DIR "/memory.current");
	_exit(0);
}

/*
 * A buffer is the caller's memory: charged to its memory cgroup like its
 * own pages (so the cgroup's limit bounds what /dev/dmakit, mode 0666,
 * hands out), until the last mapping is gone. Coherent memory (device
 * nodes, root's) comes from the DMA layer and is not charged.
 */
TEST(buffers_are_charged_to_the_callers_memory_cgroup)
{
	static const uint32_t kinds[] = { DMAKIT_KIND_CONTIG, DMAKIT_KIND_PAGES,
					  DMAKIT_KIND_VMALLOC };
	struct memcg_ctx *c = shared_page(sizeof(*c));
	const char *why;

	if (geteuid() != 0)
		SKIP(return, "needs root to create a cgroup");
	why = memcg_setup();
	if (why)
		SKIP(return, "%s", why);
	ASSERT_NE(NULL, c);
	for (unsigned int k = 0; k < 3; k++) {
		int status;
		pid_t pid;

		memset(c, 0, sizeof(*c));
		c->kind = kinds[k];
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			memcg_child(c);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
		TH_LOG("%s: memory.current %lld, +%lld allocated, +%lld mapped only, +%lld after munmap",
		       kind_name(kinds[k]), c->before, c->allocated - c->before,
		       c->mapped_only - c->before, c->freed - c->before);
		/*
		 * memory.current moves in per-CPU batches of 64 pages (256 KiB):
		 * up to that much of a charge may come from a batch taken before
		 */
		EXPECT_LE(c->before + (long long)(CG_BYTES - CG_SLACK), c->allocated) {
			TH_LOG("%s: not charged", kind_name(kinds[k]));
		}
		EXPECT_LE(c->before + (long long)(CG_BYTES - CG_SLACK), c->mapped_only);
		EXPECT_GT(c->before + (long long)CG_SLACK, c->freed) {
			TH_LOG("%s: still charged after munmap", kind_name(kinds[k]));
		}
	}
	EXPECT_EQ(0, rmdir(CG_DIR));
	if (!memcg_was_on)
		write_text(CG_ROOT "/cgroup.subtree_control", "-memory");
	if (memcg_mounted)
		EXPECT_EQ(0, umount(CG_ROOT));
}

/* ==== BAR0 of the device node =========================================== */

FIXTURE(bar) {
	int edu;
	uint64_t bar_len;
};

FIXTURE_SETUP(bar)
{
	struct dmakit_dev_info info;

	self->edu = -1;
	if (geteuid() != 0)
		SKIP(return, "BAR0 needs CAP_SYS_RAWIO");
	self->edu = edu_open(0, 0);
	ASSERT_LE(0, self->edu);
	ASSERT_EQ(0, ioctl(self->edu, DMAKIT_IOC_DEV_INFO, &info));
	self->bar_len = info.bar_len;
	ASSERT_LE(PAGE, self->bar_len);
}

FIXTURE_TEARDOWN(bar)
{
	if (self->edu >= 0)
		close(self->edu);
}

/* offsets into BAR0 only: nothing past it, whatever the arithmetic */
TEST_F(bar, offsets_past_bar0_are_refused)
{
	const struct {
		unsigned long off;
		size_t len;
		int err;
	} cases[] = {
		{ self->bar_len, PAGE, EINVAL },
		{ self->bar_len - PAGE, 2 * PAGE, EINVAL },
		{ 0, self->bar_len + PAGE, EINVAL },
		{ 1ul << 40, PAGE, EINVAL },
		{ TOP_OFFSET - 16 * PAGE, PAGE, EINVAL },
		{ TOP_OFFSET, PAGE, EOVERFLOW },
		{ 0, PAGE, 0 },
		{ self->bar_len - PAGE, PAGE, 0 },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(cases[i].err, mmap_errno(cases[i].len, PROT_READ,
						   MAP_SHARED, self->edu,
						   cases[i].off)) {
			TH_LOG("offset %#lx length %#zx", cases[i].off,
			       cases[i].len);
		}
	}
	EXPECT_EQ(EINVAL, mmap_errno(PAGE, PROT_READ, MAP_PRIVATE, self->edu, 0));
}

/* io pf de dd; cannot grow; a read-only node fd maps read-only for good */
TEST_F(bar, bar0_is_an_uncopyable_unexpandable_pfnmap)
{
	static const char *const must[] = { "sh", "io", "pf", "de", "dd", NULL };
	static const char *const mustnot[] = { "dc", "mm", NULL };
	/* a read-only file: the core clears VM_SHARED and VM_MAYWRITE */
	static const char *const ro_must[] = { "ms", "io", "pf", "de", "dd", NULL };
	static const char *const ro_never[] = { "wr", "mw", "sh", NULL };
	char flags[256], why[300];
	volatile uint32_t *regs;
	int ro;

	regs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->edu, 0);
	ASSERT_NE(MAP_FAILED, regs);
	ASSERT_EQ(0, vm_flags((void *)regs, flags, sizeof(flags)));
	TH_LOG("BAR0: VmFlags:%s", flags);
	EXPECT_TRUE(flags_are(flags, must, mustnot, why, sizeof(why))) {
		TH_LOG("%s", why);
	}
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mremap((void *)regs, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(EDU_ID, regs[0]);
	munmap((void *)regs, PAGE);

	ro = open("/dev/dmakit-edu0", O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(EACCES, mmap_errno(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				     ro, 0));
	regs = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, regs);
	ASSERT_EQ(0, vm_flags((void *)regs, flags, sizeof(flags)));
	EXPECT_TRUE(flags_are(flags, ro_must, ro_never, why, sizeof(why))) {
		TH_LOG("%s", why);
	}
	errno = 0;
	EXPECT_EQ(-1, mprotect((void *)regs, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(EDU_ID, regs[0]);
	munmap((void *)regs, PAGE);
	close(ro);
}

/* the mapping keeps the node's file, and so the device and module, alive */
TEST_F(bar, a_bar0_mapping_outlives_its_fd_until_munmap)
{
	long long refs = module_refs();
	volatile uint32_t *regs;
	int fd = edu_open(0, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(refs + 1, module_refs());
	regs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, regs);
	close(fd);
	EXPECT_EQ(refs + 1, module_refs());
	EXPECT_EQ(EDU_ID, regs[0]);
	regs[1] = 0x600df00d;		/* liveness: reads back the complement */
	EXPECT_EQ(~0x600df00du, regs[1]);
	munmap((void *)regs, PAGE);
	EXPECT_EQ(refs, module_refs());
}

/* the suite's wall time (budget: 20 s per lane), after the TAP plan */
static double suite_start;

static void __attribute__((constructor)) suite_began(void)
{
	suite_start = now();
}

static void __attribute__((destructor)) suite_ended(void)
{
	printf("# security: wall time %.1f s\n", now() - suite_start);
}

TEST_HARNESS_MAIN
