// SPDX-License-Identifier: GPL-2.0
/*
 * Buffers and their mappings: every kind, every size, bad input, lifetime.
 * Data is checked byte for byte against a position-dependent pattern that is
 * computed on the fly (no second 64 MiB copy on a 256 MiB guest).
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define PAGE		4096UL
#define MiB		(1UL << 20)

/* the control node, for calls that pass their own struct */
static int ctl_fd(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/dev/dmakit", O_RDWR);
	return fd;
}

static struct dmakit_buf_info buf_info(int fd)
{
	struct dmakit_buf_info info;

	memset(&info, 0xff, sizeof(info));
	if (ioctl(fd, DMAKIT_IOC_BUF_INFO, &info))
		memset(&info, 0xff, sizeof(info));
	return info;
}

/* the byte pattern at position pos for a given seed */
static inline unsigned char pat(uint64_t pos, unsigned int seed)
{
	uint64_t x = (pos + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	return x >> 56 ^ x >> 24 ^ pos;
}

static void fill(unsigned char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(i, seed);
}

/* first position where p differs from the pattern, or -1 */
static long check(const unsigned char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pat(i, seed))
			return i;
	return -1;
}

/* read the whole buffer with read() and compare with the pattern */
static long check_by_read(int fd, size_t len, unsigned int seed)
{
	static unsigned char chunk[256 * 1024];
	size_t pos = 0;

	if (lseek(fd, 0, SEEK_SET))
		return -2;
	while (pos < len) {
		size_t want = len - pos < sizeof(chunk) ? len - pos : sizeof(chunk);
		ssize_t n = read(fd, chunk, want);

		if (n <= 0)
			return -3;
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != pat(pos + i, seed))
				return pos + i;
		pos += n;
	}
	return -1;
}

/* touch one byte; returns the signal it raised, or 0 */
static int touch(volatile unsigned char *p)
{
	return touch_byte(p, 1);
}

static const char *kind_name(uint32_t kind)
{
	return kind == DMAKIT_KIND_CONTIG ? "contig" :
	       kind == DMAKIT_KIND_PAGES ? "pages" : "vmalloc";
}

#define PREMAP DMAKIT_ALLOC_PREMAP
#define PFNMAP DMAKIT_ALLOC_PFNMAP

/* ---- every kind x every size -------------------------------------------- */

FIXTURE(buf) {
	int fd;
	uint64_t size;
	unsigned char *map;
};

FIXTURE_VARIANT(buf) {
	uint32_t kind;
	uint32_t flags;
	uint64_t size;
};

#define BUF_VARIANT(k, f, name, sz) \
	FIXTURE_VARIANT_ADD(buf, k##_##name) { .kind = DMAKIT_KIND_##k, \
		.flags = (f), .size = (sz) }
#define BUF_SIZES(k, f) \
	BUF_VARIANT(k, f, 1page, PAGE); \
	BUF_VARIANT(k, f, 3pages, 3 * PAGE); \
	BUF_VARIANT(k, f, 1MiB_plus_1page, MiB + PAGE); \
	BUF_VARIANT(k, f, 64MiB, 64 * MiB)

#define DMAKIT_KIND_contig DMAKIT_KIND_CONTIG
#define DMAKIT_KIND_contig_pfnmap DMAKIT_KIND_CONTIG
#define DMAKIT_KIND_pages DMAKIT_KIND_PAGES
#define DMAKIT_KIND_vmalloc DMAKIT_KIND_VMALLOC
#define DMAKIT_KIND_pages_premap DMAKIT_KIND_PAGES
#define DMAKIT_KIND_vmalloc_premap DMAKIT_KIND_VMALLOC
BUF_SIZES(contig, 0);
BUF_SIZES(contig_pfnmap, PFNMAP);
BUF_SIZES(pages, 0);
BUF_SIZES(vmalloc, 0);
BUF_SIZES(pages_premap, PREMAP);
BUF_SIZES(vmalloc_premap, PREMAP);

/* contig beyond the buddy allocator's largest block (4 MiB) needs CMA */
static int too_big_for_kind(const FIXTURE_VARIANT(buf) *v)
{
	return v->kind == DMAKIT_KIND_CONTIG && v->size > 4 * MiB &&
	       !env_long("DMAKIT_HAS_CMA", 0);
}

FIXTURE_SETUP(buf)
{
	self->map = MAP_FAILED;
	self->fd = buf_alloc(variant->size, variant->kind, variant->flags,
			     &self->size);
	if (too_big_for_kind(variant)) {
		ASSERT_EQ(-E2BIG, self->fd) TH_LOG("%s of %llu bytes",
			kind_name(variant->kind), (unsigned long long)variant->size);
		return;
	}
	ASSERT_LE(0, self->fd) TH_LOG("alloc: %s", strerror(-self->fd));
	ASSERT_EQ(variant->size, self->size);
	self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map) TH_LOG("mmap: %s", strerror(errno));
}

FIXTURE_TEARDOWN(buf)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F_TIMEOUT(buf, starts_zeroed_and_mapping_writes_are_what_read_returns, 300)
{
	if (too_big_for_kind(variant))
		SKIP(return, "contig above 4 MiB needs CMA: this kernel has none (E2BIG checked)");
	for (size_t i = 0; i < self->size; i++) {
		ASSERT_EQ(0, self->map[i]) TH_LOG("byte %zu", i);
	}
	fill(self->map, self->size, 1);
	EXPECT_EQ(-1, check_by_read(self->fd, self->size, 1));
}

TEST_F_TIMEOUT(buf, writes_through_the_fd_appear_in_the_mapping, 300)
{
	unsigned char page[PAGE];
	size_t last = self->size - PAGE;

	if (too_big_for_kind(variant))
		SKIP(return, "contig above 4 MiB needs CMA");
	fill(page, PAGE, 2);
	ASSERT_EQ(PAGE, pwrite(self->fd, page, PAGE, 0));
	ASSERT_EQ(PAGE, pwrite(self->fd, page, PAGE, last));
	/* an unaligned write across a page boundary */
	if (self->size > PAGE) {
		ASSERT_EQ(100, pwrite(self->fd, page, 100, PAGE - 50));
	}
	EXPECT_EQ(-1, check(self->map + last, PAGE, 2));
	if (self->size > PAGE) {
		EXPECT_EQ(-1, check(self->map + PAGE - 50, 100, 2));
	} else {
		EXPECT_EQ(-1, check(self->map, PAGE, 2));
	}
}

TEST_F_TIMEOUT(buf, a_child_and_a_second_mapping_see_the_same_bytes, 300)
{
	unsigned char *second;
	int status;
	pid_t pid;

	if (too_big_for_kind(variant))
		SKIP(return, "contig above 4 MiB needs CMA");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		fill(self->map, self->size, 3);	/* through the inherited mapping */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	EXPECT_EQ(-1, check(self->map, self->size, 3));
	second = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, second);
	EXPECT_EQ(-1, check(second, self->size, 3));
	EXPECT_EQ(-1, check_by_read(self->fd, self->size, 3));
	munmap(second, self->size);
}

TEST_F_TIMEOUT(buf, mappings_are_counted_through_fork_and_unmap, 300)
{
	struct dmakit_buf_info info;
	int status;
	pid_t pid;

	if (too_big_for_kind(variant))
		SKIP(return, "contig above 4 MiB needs CMA");
	info = buf_info(self->fd);
	EXPECT_EQ(1, info.mappings);
	EXPECT_EQ(variant->kind, info.kind);
	EXPECT_EQ(self->size, info.size);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(buf_info(self->fd).mappings == 2 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("the child did not see 2 mappings");
	EXPECT_EQ(1, buf_info(self->fd).mappings);
	munmap(self->map, self->size);
	self->map = MAP_FAILED;
	EXPECT_EQ(0, buf_info(self->fd).mappings);
}

/* ---- allocation ---------------------------------------------------------- */

TEST(alloc_rejects_bad_arguments)
{
	struct dmakit_alloc a;

	EXPECT_EQ(-EINVAL, buf_alloc(0, DMAKIT_KIND_PAGES, 0, NULL));
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, 4, 0, NULL));
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, DMAKIT_KIND_PAGES, 0x10, NULL));
	/* PREMAP is for pages and vmalloc, PFNMAP for contig, never both */
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, DMAKIT_KIND_CONTIG, PREMAP, NULL));
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, DMAKIT_KIND_CONTIG, PREMAP | PFNMAP, NULL));
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, DMAKIT_KIND_PAGES, PFNMAP, NULL));
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, DMAKIT_KIND_VMALLOC, PFNMAP, NULL));
	EXPECT_EQ(-EINVAL, buf_alloc(PAGE, DMAKIT_KIND_PAGES, 0x80000000, NULL));
	EXPECT_EQ(-E2BIG, buf_alloc(1ull << 40, DMAKIT_KIND_PAGES, 0, NULL));
	EXPECT_EQ(-E2BIG, buf_alloc(~0ull, DMAKIT_KIND_VMALLOC, 0, NULL));

	memset(&a, 0, sizeof(a));
	a.size = PAGE;
	a.kind = DMAKIT_KIND_PAGES;
	a.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(ctl_fd(), DMAKIT_IOC_ALLOC, &a));
	EXPECT_EQ(EINVAL, errno);
	a.reserved[1] = 0;
	a.pad = 1;
	EXPECT_EQ(-1, ioctl(ctl_fd(), DMAKIT_IOC_ALLOC, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(ctl_fd(), DMAKIT_IOC_ALLOC, (void *)16));
	EXPECT_EQ(EFAULT, errno);
}

/* pfn of every page of a buffer, through DMAKIT_IOC_TRANSLATE by offset */
static int buf_pfns(int fd, uint64_t *pfns, uint32_t npages)
{
	static struct dmakit_page_desc d[DMAKIT_TRANSLATE_MAX];
	uint32_t done = 0;

	while (done < npages) {
		struct dmakit_translate t = {
			.offset = (uint64_t)done * PAGE,
			.count = DMAKIT_TRANSLATE_MAX,
			.descs = (uintptr_t)d,
		};

		if (ioctl(fd, DMAKIT_IOC_TRANSLATE, &t) || !t.count)
			return -1;
		for (uint32_t i = 0; i < t.count; i++)
			pfns[done + i] = d[i].pfn;
		done += t.count;
	}
	return 0;
}

TEST(contig_above_4MiB_comes_from_cma_or_is_e2big)
{
	const uint32_t npages = (4 * MiB + PAGE) / PAGE;
	int fd = buf_alloc(4 * MiB + PAGE, DMAKIT_KIND_CONTIG, 0, NULL);
	static uint64_t pfns[(4 * MiB + PAGE) / PAGE];

	if (env_long("DMAKIT_HAS_CMA", 0)) {
		ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
		ASSERT_EQ(0, buf_pfns(fd, pfns, npages));
		for (uint32_t i = 1; i < npages; i++) {
			ASSERT_EQ(pfns[0] + i, pfns[i]) TH_LOG("page %u", i);
		}
		close(fd);
	} else {
		EXPECT_EQ(-E2BIG, fd);
	}
}

TEST(contig_up_to_4MiB_is_physically_one_block)
{
	uint64_t size = 0;
	int fd = buf_alloc(4 * MiB, DMAKIT_KIND_CONTIG, 0, &size);

	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	EXPECT_EQ(4 * MiB, size);
	close(fd);
}

TEST(size_is_rounded_up_to_pages_and_the_fd_has_that_size)
{
	unsigned char c = 7;
	uint64_t size = 0;
	int fd = buf_alloc(1, DMAKIT_KIND_VMALLOC, 0, &size);

	ASSERT_LE(0, fd);
	EXPECT_EQ(PAGE, size);
	EXPECT_EQ((off_t)PAGE, lseek(fd, 0, SEEK_END));
	EXPECT_EQ(0, read(fd, &c, 1));		/* end of file */
	EXPECT_EQ(-1, write(fd, &c, 1));	/* no room past the end */
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(1, pwrite(fd, &c, 1, PAGE - 1));
	EXPECT_EQ(-1, lseek(fd, -1, SEEK_SET));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST(cloexec_flag_sets_fd_cloexec)
{
	int fd = buf_alloc(PAGE, DMAKIT_KIND_PAGES, DMAKIT_ALLOC_CLOEXEC, NULL);
	int plain = buf_alloc(PAGE, DMAKIT_KIND_PAGES, 0, NULL);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, plain);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(plain, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(plain);
}

TEST(wrong_fd_types_answer_enotty)
{
	struct dmakit_alloc a = { .size = PAGE, .kind = DMAKIT_KIND_PAGES };
	struct dmakit_buf_info info;
	struct dmakit_edu_liveness live = { 0 };
	int fd = buf_alloc(PAGE, DMAKIT_KIND_PAGES, 0, NULL);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(ctl_fd(), DMAKIT_IOC_BUF_INFO, &info));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, DMAKIT_IOC_ALLOC, &a));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, DMAKIT_IOC_EDU_LIVENESS, &live));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

/* ---- mmap rules ---------------------------------------------------------- */

FIXTURE(rules) {
	long fault_batch;	/* restored by teardown, whatever a test did */
	int fd;
};

FIXTURE_VARIANT(rules) {
	uint32_t kind;
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(rules, contig) { .kind = DMAKIT_KIND_CONTIG };
FIXTURE_VARIANT_ADD(rules, contig_pfnmap) { .kind = DMAKIT_KIND_CONTIG, .flags = PFNMAP };
FIXTURE_VARIANT_ADD(rules, pages) { .kind = DMAKIT_KIND_PAGES };
FIXTURE_VARIANT_ADD(rules, vmalloc) { .kind = DMAKIT_KIND_VMALLOC };
FIXTURE_VARIANT_ADD(rules, pages_premap) { .kind = DMAKIT_KIND_PAGES, .flags = PREMAP };
FIXTURE_VARIANT_ADD(rules, vmalloc_premap) { .kind = DMAKIT_KIND_VMALLOC, .flags = PREMAP };

FIXTURE_SETUP(rules)
{
	self->fault_batch = set_param("fault_batch", 16);
	ASSERT_LE(1, self->fault_batch);
	self->fd = buf_alloc(4 * PAGE, variant->kind, variant->flags, NULL);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(rules)
{
	close(self->fd);
	set_param("fault_batch", self->fault_batch);
}

TEST_F(rules, private_mappings_are_refused)
{
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(rules, ranges_outside_the_buffer_are_refused)
{
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 5 * PAGE, PROT_READ, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd, 4 * PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, self->fd, 3 * PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd,
				   (off_t)1 << 40));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(rules, an_offset_maps_the_right_pages)
{
	unsigned char page[PAGE], *map;

	fill(page, PAGE, 9);
	ASSERT_EQ(PAGE, pwrite(self->fd, page, PAGE, 2 * PAGE));
	map = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, self->fd, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-1, check(map, PAGE, 9));
	EXPECT_EQ(0, map[PAGE]);
	munmap(map, 2 * PAGE);
}

TEST_F(rules, read_only_buffers_cannot_be_mapped_writable)
{
	int ro = buf_alloc(PAGE, variant->kind,
			   variant->flags | DMAKIT_ALLOC_RDONLY, NULL);
	unsigned char *map, c = 0;

	ASSERT_LE(0, ro);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
	EXPECT_EQ(EACCES, errno);
	map = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, map[0]);
	EXPECT_EQ(-1, mprotect(map, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, write(ro, &c, 1));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(1, pread(ro, &c, 1, 0));
	munmap(map, PAGE);
	close(ro);
}

TEST_F(rules, growing_with_mremap_then_touching_beyond_is_sigbus)
{
	unsigned char *map, *grown;

	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	grown = mremap(map, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
	if (variant->flags & PFNMAP) {
		/* a pfnmap of the whole buffer cannot grow (VM_DONTEXPAND) */
		EXPECT_EQ(MAP_FAILED, grown);
		EXPECT_EQ(EFAULT, errno);
		munmap(map, 4 * PAGE);
		return;
	}
	ASSERT_NE(MAP_FAILED, grown);
	EXPECT_EQ(0, touch(grown + 3 * PAGE));		/* inside: fine */
	EXPECT_EQ(SIGBUS, touch(grown + 4 * PAGE));	/* beyond: SIGBUS */
	EXPECT_EQ(SIGBUS, touch(grown + 8 * PAGE - 1));
	munmap(grown, 8 * PAGE);
}

TEST_F(rules, mremap_shrinks_and_moves_a_mapping)
{
	unsigned char *map, *shrunk, *target, *moved, c;

	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * PAGE, 14);

	shrunk = mremap(map, 4 * PAGE, 2 * PAGE, 0);
	ASSERT_EQ(map, shrunk);
	EXPECT_EQ(1, buf_info(self->fd).mappings);
	EXPECT_EQ(-1, check(shrunk, 2 * PAGE, 14));
	EXPECT_EQ(SIGSEGV, touch(map + 3 * PAGE));	/* no longer mapped */

	/* reserve a place, then move the mapping there */
	target = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, target);
	moved = mremap(shrunk, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	ASSERT_EQ(target, moved);
	EXPECT_EQ(1, buf_info(self->fd).mappings);
	EXPECT_EQ(-1, check(moved, 2 * PAGE, 14));
	EXPECT_EQ(SIGSEGV, touch(map));			/* the old place is gone */
	moved[0] ^= 0xff;				/* still the buffer's memory */
	ASSERT_EQ(1, pread(self->fd, &c, 1, 0));
	EXPECT_EQ((unsigned char)(pat(0, 14) ^ 0xff), c);
	munmap(moved, 2 * PAGE);
	EXPECT_EQ(0, buf_info(self->fd).mappings);
}

/* a sequential first touch takes one fault per fault_batch pages (premap: none) */
TEST_F(rules, faults_install_pages_in_batches)
{
	const int npages = 64;
	unsigned char *map;
	int fd;

	if (variant->flags & PFNMAP)
		SKIP(return, "PFN-mapped contig is mapped whole at mmap time: no faults");
	for (int batch = 1; batch <= 32; batch *= 4) {
		ASSERT_LE(1, set_param("fault_batch", batch));
		fd = buf_alloc(npages * PAGE, variant->kind, variant->flags, NULL);
		ASSERT_LE(0, fd);
		map = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, map);
		fill(map, npages * PAGE, 20 + batch);
		EXPECT_EQ(variant->flags & PREMAP ? 0 : (npages + batch - 1) / batch,
			  buf_info(fd).faults) TH_LOG("fault_batch %d", batch);
		EXPECT_EQ(-1, check_by_read(fd, npages * PAGE, 20 + batch));
		munmap(map, npages * PAGE);
		close(fd);
	}
}

/* a batch stops where pages are mapped already; nothing is lost or doubled */
TEST_F(rules, a_batch_meets_pages_mapped_before)
{
	const int npages = 48;
	volatile unsigned char *map;	/* the touches must happen in order */
	int fd;

	if (variant->flags & (PFNMAP | PREMAP))
		SKIP(return, "mapped whole at mmap time: no faults (faults_install_pages_in_batches checks 0)");
	/* the fixture set fault_batch to 16 */
	fd = buf_alloc(npages * PAGE, variant->kind, 0, NULL);
	ASSERT_LE(0, fd);
	map = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	map[10 * PAGE] = 1;		/* maps pages 10..25 */
	map[0] = 1;			/* maps 0..9, then meets page 10 */
	EXPECT_EQ(2, buf_info(fd).faults);
	map[26 * PAGE] = 1;		/* maps 26..41 */
	map[47 * PAGE] = 1;		/* maps 47 only: the buffer ends */
	map[42 * PAGE] = 1;		/* maps 42..46, meets 47 */
	EXPECT_EQ(5, buf_info(fd).faults);
	fill((unsigned char *)map, npages * PAGE, 30);	/* no further faults: all mapped */
	EXPECT_EQ(5, buf_info(fd).faults);
	EXPECT_EQ(-1, check_by_read(fd, npages * PAGE, 30));
	munmap((void *)map, npages * PAGE);
	close(fd);
}

/*
 * get_user_pages() takes refcounted pages, the fault-mapped ones; PFN
 * mappings (DMAKIT_ALLOC_PFNMAP, DMAKIT_ALLOC_PREMAP) are EFAULT:
 * here through process_vm_readv() on ourselves, which moves no byte then.
 * Not every kernel has it (CONFIG_CROSS_MEMORY_ATTACH: Debian's does, our
 * debug kernel not); dio.premapped_buffers_are_copied_never_pinned asks
 * through the device on every lane.
 */
TEST_F(rules, only_fault_mapped_pages_can_be_pinned)
{
	bool pfn_mapped = variant->flags & (PFNMAP | PREMAP);
	unsigned char *map, got[2 * PAGE];
	struct iovec local = { got, sizeof(got) }, remote;
	ssize_t n;

	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * PAGE, 15);
	memset(got, 0, sizeof(got));
	remote = (struct iovec){ map + PAGE, sizeof(got) };
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n < 0 && errno == ENOSYS) {
		munmap(map, 4 * PAGE);
		SKIP(return, "no process_vm_readv in this kernel (the dio suite pins through the device)");
	}
	if (pfn_mapped) {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(EFAULT, errno);
		for (size_t i = 0; i < sizeof(got); i++) {
			ASSERT_EQ(0, got[i]) TH_LOG("byte %zu moved", i);
		}
	} else {
		EXPECT_EQ((ssize_t)sizeof(got), n) TH_LOG("%s", strerror(errno));
		for (size_t i = 0; i < sizeof(got); i++) {
			ASSERT_EQ(pat(PAGE + i, 15), got[i]) TH_LOG("byte %zu", i);
		}
	}
	munmap(map, 4 * PAGE);
}

/*
 * A block device for O_DIRECT: the lane's disk (DMAKIT_DISK: the virtio
 * disk of the functional and bench lanes, vm/lanes.sh), else brd's
 * /dev/ram0, loaded from the kernel's own modules where the lane shipped
 * them (Debian's kernels: vm/mkinitramfs); else NULL.
 */
static const char *dio_block_device(void)
{
	const char *disk = getenv("DMAKIT_DISK");
	struct stat st;

	if (disk && !stat(disk, &st) && S_ISBLK(st.st_mode))
		return disk;
	if (stat("/dev/ram0", &st) && !access("/lib/dmakit/brd.ko", R_OK) &&
	    system("insmod /lib/dmakit/brd.ko rd_nr=1 rd_size=1024 >/dev/null 2>&1") != 0)
		return NULL;
	return !stat("/dev/ram0", &st) && S_ISBLK(st.st_mode) ? "/dev/ram0" : NULL;
}

/*
 * O_DIRECT read() into the mapping and write() from it, on a block device:
 * the block layer pins the user pages (bio_iov_iter_get_pages()). A
 * fault-mapped buffer takes the data; a premapped or contig one gets the
 * errno of gup_errno() for this kernel, and not a byte moves.
 */
TEST_F(rules, o_direct_on_a_block_device_pins_the_mapping_or_fails_with_gups_errno)
{
	int err = gup_errno(variant->kind, variant->flags);
	const char *dev = dio_block_device();
	unsigned char *map, *disk;
	ssize_t n;
	int fd;

	if (!dev)
		SKIP(return, "no block device (%s: DMAKIT_DISK unset and no brd)", kernel_line());
	fd = open(dev, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd) TH_LOG("open %s O_DIRECT: %s", dev, strerror(errno));
	ASSERT_EQ(0, posix_memalign((void **)&disk, PAGE, 4 * PAGE));
	fill(disk, 4 * PAGE, 21);
	ASSERT_EQ((ssize_t)(4 * PAGE), pwrite(fd, disk, 4 * PAGE, 0)) TH_LOG("%s", strerror(errno));
	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	memset(map, 0x5a, 4 * PAGE);

	/* read(): the device writes into the mapping (FOLL_WRITE) */
	errno = 0;
	n = pread(fd, map + PAGE, 2 * PAGE, 0);
	if (err) {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(err, errno) TH_LOG("%s: O_DIRECT read into the mapping: %s, documented %s",
					    kernel_line(), strerror(errno), strerror(err));
		for (size_t i = 0; i < 4 * PAGE; i++) {
			ASSERT_EQ(0x5a, map[i]) TH_LOG("byte %zu moved", i);
		}
	} else {
		EXPECT_EQ((ssize_t)(2 * PAGE), n) TH_LOG("%s", strerror(errno));
		EXPECT_EQ(-1, check(map + PAGE, 2 * PAGE, 21));
	}

	/* write(): the device reads the mapping */
	fill(map, 4 * PAGE, 22);
	errno = 0;
	n = pwrite(fd, map + PAGE, 2 * PAGE, 4 * PAGE);
	if (err) {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(err, errno) TH_LOG("%s: O_DIRECT write from the mapping: %s, documented %s",
					    kernel_line(), strerror(errno), strerror(err));
	} else {
		EXPECT_EQ((ssize_t)(2 * PAGE), n) TH_LOG("%s", strerror(errno));
		ASSERT_EQ((ssize_t)(2 * PAGE), pread(fd, disk, 2 * PAGE, 4 * PAGE));
		EXPECT_EQ(0, memcmp(disk, map + PAGE, 2 * PAGE));
	}
	munmap(map, 4 * PAGE);
	free(disk);
	close(fd);
}

/*
 * O_DIRECT on tmpfs: 6.1 refuses the open (EINVAL: shmem has no direct_IO);
 * from 6.6 tmpfs accepts O_DIRECT and serves it from the page cache by
 * copying, so nothing is pinned and every kind of mapping works, premapped
 * and contig too. Documented in docs/abi.md with the block-device case.
 */
static const struct { const char *kernel; int err; } tmpfs_odirect_errno[] = {
	{ "6.1", EINVAL },
	{ "6.12", 0 },
	{ "7.3", 0 },
};

TEST_F(rules, o_direct_on_tmpfs_copies_or_is_refused_at_open)
{
	const int n = sizeof(tmpfs_odirect_errno) / sizeof(tmpfs_odirect_errno[0]);
	char dir[] = "/tmp/dmakit-dio.XXXXXX", path[64];
	int err = tmpfs_odirect_errno[n - 1].err, fd, plain;
	unsigned char *map;

	for (int i = 0; i < n; i++)
		if (!strcmp(kernel_line(), tmpfs_odirect_errno[i].kernel))
			err = tmpfs_odirect_errno[i].err;
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", 0, "size=1m")) TH_LOG("%s", strerror(errno));
	snprintf(path, sizeof(path), "%s/f", dir);
	plain = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, plain);
	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * PAGE, 24);
	ASSERT_EQ((ssize_t)(4 * PAGE), pwrite(plain, map, 4 * PAGE, 0));
	memset(map, 0x5a, 4 * PAGE);
	errno = 0;
	fd = open(path, O_RDWR | O_DIRECT);
	if (err) {
		EXPECT_EQ(-1, fd);
		EXPECT_EQ(err, errno) TH_LOG("%s: open O_DIRECT on tmpfs: %s, documented %s",
					    kernel_line(), strerror(errno), strerror(err));
	} else {
		ASSERT_LE(0, fd) TH_LOG("%s: open O_DIRECT on tmpfs: %s", kernel_line(),
					strerror(errno));
		EXPECT_EQ((ssize_t)(2 * PAGE), pread(fd, map + PAGE, 2 * PAGE, PAGE))
			TH_LOG("%s", strerror(errno));
		for (size_t i = 0; i < 2 * PAGE; i++) {
			ASSERT_EQ(pat(PAGE + i, 24), map[PAGE + i]) TH_LOG("byte %zu", i);
		}
		EXPECT_EQ((ssize_t)(2 * PAGE), pwrite(fd, map + PAGE, 2 * PAGE, 0))
			TH_LOG("%s", strerror(errno));
		close(fd);
	}
	munmap(map, 4 * PAGE);
	close(plain);
	umount(dir);
	rmdir(dir);
}

/*
 * vmsplice() of the mapping into a pipe takes its pages by reference
 * (iov_iter_get_pages2(), GUP): a fault-mapped buffer's bytes come out of
 * the pipe; a premapped or contig one gets gup_errno()'s errno.
 */
TEST_F(rules, vmsplice_takes_the_mapping_or_fails_with_gups_errno)
{
	int err = gup_errno(variant->kind, variant->flags);
	unsigned char *map, got[2 * PAGE];
	struct iovec v;
	int p[2];
	ssize_t n;

	ASSERT_EQ(0, pipe(p));
	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * PAGE, 23);
	v = (struct iovec){ map + PAGE, 2 * PAGE };
	errno = 0;
	n = vmsplice(p[1], &v, 1, 0);
	if (err) {
		EXPECT_EQ(-1, n);
		EXPECT_EQ(err, errno) TH_LOG("%s: vmsplice of the mapping: %s, documented %s",
					    kernel_line(), strerror(errno), strerror(err));
	} else {
		EXPECT_EQ((ssize_t)(2 * PAGE), n) TH_LOG("%s", strerror(errno));
		ASSERT_EQ((ssize_t)sizeof(got), read(p[0], got, sizeof(got)));
		for (size_t i = 0; i < sizeof(got); i++) {
			ASSERT_EQ(pat(PAGE + i, 23), got[i]) TH_LOG("byte %zu", i);
		}
	}
	munmap(map, 4 * PAGE);
	close(p[0]);
	close(p[1]);
}

/*
 * MADV_DONTNEED drops PTEs, never data: the next touch faults the page
 * back (refcounted, even where mmap premapped it). A VM_PFNMAP mapping
 * (contig with DMAKIT_ALLOC_PFNMAP) refuses it.
 */
TEST_F(rules, madvise_dontneed_drops_mappings_not_data)
{
	unsigned char *map;
	uint64_t faults;

	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * PAGE, 16);
	if (variant->flags & PFNMAP) {
		EXPECT_EQ(-1, madvise(map + PAGE, PAGE, MADV_DONTNEED));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, check(map, 4 * PAGE, 16));
		munmap(map, 4 * PAGE);
		return;
	}
	faults = buf_info(self->fd).faults;
	ASSERT_EQ(0, madvise(map + PAGE, 2 * PAGE, MADV_DONTNEED));
	EXPECT_EQ(faults, buf_info(self->fd).faults);
	EXPECT_EQ(-1, check(map, 4 * PAGE, 16));	/* faults them back */
	EXPECT_LT(faults, buf_info(self->fd).faults);
	EXPECT_EQ(-1, check_by_read(self->fd, 4 * PAGE, 16));
	munmap(map, 4 * PAGE);
}

TEST_F(rules, closing_the_fd_keeps_a_mapping_alive)
{
	unsigned char *map;
	int fd = buf_alloc(2 * PAGE, variant->kind, variant->flags, NULL);

	ASSERT_LE(0, fd);
	map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	close(fd);
	fill(map, 2 * PAGE, 11);
	EXPECT_EQ(-1, check(map, 2 * PAGE, 11));
	munmap(map, 2 * PAGE);
}

TEST_F(rules, unmapping_part_leaves_the_rest_working)
{
	unsigned char *map, c;

	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * PAGE, 12);
	/* unmapping the middle splits the VMA in two: two mappings */
	ASSERT_EQ(0, munmap(map + PAGE, 2 * PAGE));
	EXPECT_EQ(2, buf_info(self->fd).mappings);
	EXPECT_EQ(-1, check(map, PAGE, 12));
	EXPECT_EQ(pat(3 * PAGE, 12), map[3 * PAGE]);
	map[3 * PAGE] ^= 0xff;
	EXPECT_EQ(-1, check_by_read(self->fd, 3 * PAGE, 12));
	ASSERT_EQ(1, pread(self->fd, &c, 1, 3 * PAGE));
	EXPECT_EQ((unsigned char)(pat(3 * PAGE, 12) ^ 0xff), c);
	munmap(map, PAGE);
	munmap(map + 3 * PAGE, PAGE);
	EXPECT_EQ(0, buf_info(self->fd).mappings);
}

TEST_F(rules, the_mapping_is_named_in_proc_maps)
{
	unsigned char *map;
	char line[512], want[32];
	int found = 0;
	FILE *f;

	map = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	snprintf(want, sizeof(want), "%lx-", (unsigned long)map);
	f = fopen("/proc/self/maps", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = !!strstr(line, "dmakit-buffer");
	fclose(f);
	EXPECT_TRUE(found);
	munmap(map, PAGE);
}

TEST_F(rules, a_grandchild_keeps_the_mapping_after_its_parent_exits)
{
	int pipefd[2], status;
	unsigned char *map;
	char answer = 0;
	pid_t pid;

	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pid_t middle = getpid();

		if (fork() == 0) {
			/* wait until the middle process is gone: reparented */
			while (getppid() == middle)
				usleep(1000);
			fill(map, PAGE, 13);
			answer = check(map, PAGE, 13) == -1 ? 'y' : 'n';
			if (write(pipefd[1], &answer, 1) != 1)
				_exit(1);
			_exit(0);
		}
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &answer, 1));
	EXPECT_EQ('y', answer);
	EXPECT_EQ(-1, check(map, PAGE, 13));
	close(pipefd[0]);
	munmap(map, PAGE);
}

TEST_F(rules, a_hundred_processes_map_one_buffer)
{
	const int n = 100;
	unsigned char *map;
	int ok = 0;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			unsigned char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
						MAP_SHARED, self->fd, 0);

			if (m == MAP_FAILED)
				_exit(1);
			m[i * 8] = i + 1;	/* each its own byte */
			usleep(20 * 1000);	/* overlap with the others */
			_exit(m[i * 8] == i + 1 ? 0 : 2);
		}
	}
	for (int i = 0; i < n; i++) {
		int status;

		if (wait(&status) > 0 && WIFEXITED(status) && !WEXITSTATUS(status))
			ok++;
	}
	EXPECT_EQ(n, ok);
	map = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(i + 1, map[i * 8]) TH_LOG("process %d", i);
	}
	munmap(map, 4 * PAGE);
}

/* read(2) and write(2) of 0 bytes answer 0, inside and at the end */
TEST_F(rules, zero_length_read_and_write_return_zero)
{
	char c = 1;

	EXPECT_EQ(0, pread(self->fd, &c, 0, 0));
	EXPECT_EQ(0, pwrite(self->fd, &c, 0, 0));
	EXPECT_EQ(0, pread(self->fd, &c, 0, 4 * PAGE));
	EXPECT_EQ(0, pread(self->fd, NULL, 0, 1));
	EXPECT_EQ(1, c);
}

/* ---- 2 MiB mappings (PFN-mapped contig, kernels with huge PFN maps) ------ */

#define TWO_MiB		(2 * MiB)
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* the running kernel as 100 * major + minor (6.12 -> 612) */
static int kernel_version(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

/*
 * Huge PFN maps came with 6.12 (x86-64 with THP): the core calls a
 * VM_PFNMAP VMA's ->huge_fault. Decided here from the release, not asked of
 * the module, so that a module that stopped mapping PMDs fails the tests.
 */
static bool huge_pfnmaps(void)
{
	return kernel_version() >= 612 && !access(THP_ENABLED, W_OK);
}

#define NO_HUGE_PFNMAPS "this kernel has no huge PFN maps (6.12+ with THP): " \
	"contig stays remap_pfn_range() with 4 KiB PTEs"

/* the THP policy in force ("always", "madvise", "never"), or "" */
static const char *thp_policy(char *buf, size_t len)
{
	char line[64], *open, *close;

	buf[0] = 0;
	open = strchr(read_line(THP_ENABLED, line, sizeof(line)), '[');
	close = open ? strchr(open, ']') : NULL;
	if (close && (size_t)(close - open) <= len) {
		memcpy(buf, open + 1, close - open - 1);
		buf[close - open - 1] = 0;
	}
	return buf;
}

static int set_thp_policy(const char *policy)
{
	FILE *f = fopen(THP_ENABLED, "w");

	if (!f)
		return -1;
	fprintf(f, "%s\n", policy);
	return fclose(f);
}

/* pread() [off, off + len) and compare with the pattern at those positions */
static long check_by_pread(int fd, size_t off, size_t len, unsigned int seed)
{
	static unsigned char chunk[256 * 1024];
	size_t pos = 0;

	while (pos < len) {
		size_t want = len - pos < sizeof(chunk) ? len - pos : sizeof(chunk);
		ssize_t n = pread(fd, chunk, want, off + pos);

		if (n <= 0)
			return -3;
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != pat(off + pos + i, seed))
				return pos + i;
		pos += n;
	}
	return -1;
}

/* the pattern at buffer positions [off, off + len), written with pwrite() */
static int fill_by_pwrite(int fd, size_t off, size_t len, unsigned int seed)
{
	static unsigned char chunk[256 * 1024];
	size_t pos = 0;

	while (pos < len) {
		size_t n = len - pos < sizeof(chunk) ? len - pos : sizeof(chunk);

		for (size_t i = 0; i < n; i++)
			chunk[i] = pat(off + pos + i, seed);
		if (pwrite(fd, chunk, n, off + pos) != (ssize_t)n)
			return -1;
		pos += n;
	}
	return 0;
}

/* p maps buffer positions from off: fill, check against the pattern there */
static void fill_at(unsigned char *p, size_t off, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(off + i, seed);
}

static long check_at(const unsigned char *p, size_t off, size_t len,
		     unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pat(off + i, seed))
			return i;
	return -1;
}

/* describe up to DMAKIT_TRANSLATE_MAX pages mapped from uva; count or -errno */
static int translate_uva(int fd, const void *uva, uint32_t count,
			 struct dmakit_page_desc *d)
{
	struct dmakit_translate t = {
		.uaddr = (uintptr_t)uva, .count = count, .descs = (uintptr_t)d,
	};

	return ioctl(fd, DMAKIT_IOC_TRANSLATE, &t) ? -errno : (int)t.count;
}

/* physical address of buffer page 0 (root only) */
static uint64_t buffer_phys(int fd)
{
	struct dmakit_page_desc d = { 0 };
	struct dmakit_translate t = { .count = 1, .descs = (uintptr_t)&d };

	return ioctl(fd, DMAKIT_IOC_TRANSLATE, &t) ? 0 : d.phys;
}

/*
 * How the @pages pages from @uva are mapped: how many by a PMD, how many by
 * a PTE, and whether each maps its own buffer page. Touch them first.
 */
struct mapped_by {
	int pmd, pte, wrong;
};

static struct mapped_by mapped_by(int fd, const unsigned char *uva, int pages)
{
	static struct dmakit_page_desc d[DMAKIT_TRANSLATE_MAX];
	struct mapped_by m = { 0, 0, 0 };

	while (pages > 0) {
		int n = translate_uva(fd, uva, pages < DMAKIT_TRANSLATE_MAX ?
					       pages : DMAKIT_TRANSLATE_MAX, d);

		if (n <= 0) {
			m.wrong += pages;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!(d[i].flags & DMAKIT_PAGE_MAPPED) ||
			    d[i].mapped_pfn != d[i].pfn)
				m.wrong++;
			else if (d[i].flags & DMAKIT_PAGE_PMD)
				m.pmd++;
			else
				m.pte++;
		}
		uva += (size_t)n * PAGE;
		pages -= n;
	}
	return m;
}

FIXTURE(huge) {
	char thp[16];
	bool huge;
	int fd;		/* a 4 MiB contig buffer: order 10, 4 MiB-aligned */
};

FIXTURE_SETUP(huge)
{
	self->huge = huge_pfnmaps();
	self->thp[0] = 0;
	self->fd = -1;
	/*
	 * 6.12 applies the THP policy to huge PFN maps, and a guest below
	 * 512 MiB boots with "never": ask for "always", put it back after
	 */
	if (self->huge) {
		thp_policy(self->thp, sizeof(self->thp));
		ASSERT_EQ(0, set_thp_policy("always"));
	}
	if (geteuid())
		SKIP(return, "the page table is shown to root only");
	self->fd = buf_alloc(4 * MiB, DMAKIT_KIND_CONTIG, PFNMAP, NULL);
	ASSERT_LE(0, self->fd) TH_LOG("alloc: %s", strerror(-self->fd));
	/* the buddy allocator aligns an order-10 block to its size */
	ASSERT_EQ(0, buffer_phys(self->fd) % (4 * MiB));
}

FIXTURE_TEARDOWN(huge)
{
	if (self->thp[0])
		set_thp_policy(self->thp);
	if (self->fd >= 0)
		close(self->fd);
}

/* a 2 MiB-aligned place for @len bytes (reserved, PROT_NONE) */
static unsigned char *aligned_place(size_t len)
{
	unsigned char *p = mmap(NULL, len + TWO_MiB, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return p;
	return (unsigned char *)(((uintptr_t)p + TWO_MiB - 1) & ~(TWO_MiB - 1));
}

TEST_F(huge, an_aligned_4MiB_mapping_is_two_pmds_and_the_data_is_right)
{
	unsigned char *map;
	struct mapped_by m;

	if (!self->huge)
		SKIP(return, NO_HUGE_PFNMAPS);
	map = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* get_unmapped_area placed it where PMDs can map it */
	EXPECT_EQ(0, (uintptr_t)map % TWO_MiB);
	fill(map, 4 * MiB, 41);
	/* one fault per 2 MiB */
	EXPECT_EQ(2, buf_info(self->fd).faults);
	m = mapped_by(self->fd, map, 1024);
	EXPECT_EQ(1024, m.pmd);
	EXPECT_EQ(0, m.pte);
	EXPECT_EQ(0, m.wrong);
	EXPECT_EQ(-1, check_by_read(self->fd, 4 * MiB, 41));
	/* and the other way: written with write(), read through the PMDs */
	ASSERT_EQ(0, fill_by_pwrite(self->fd, 0, 4 * MiB, 42));
	EXPECT_EQ(-1, check(map, 4 * MiB, 42));
	munmap(map, 4 * MiB);
}

/* fork copies the PMDs (or the child faults them again): the same memory */
TEST_F(huge, a_child_writes_through_an_inherited_pmd_mapping)
{
	unsigned char *map;
	int status;
	pid_t pid;

	if (!self->huge)
		SKIP(return, NO_HUGE_PFNMAPS);
	map = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * MiB, 59);
	ASSERT_EQ(1024, mapped_by(self->fd, map, 1024).pmd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct mapped_by m = mapped_by(self->fd, map, 1024);

		if (check(map, 4 * MiB, 59) != -1 || m.wrong)
			_exit(1);
		fill(map, 4 * MiB, 60);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(-1, check(map, 4 * MiB, 60));
	EXPECT_EQ(-1, check_by_read(self->fd, 4 * MiB, 60));
	EXPECT_EQ(1024, mapped_by(self->fd, map, 1024).pmd);
	munmap(map, 4 * MiB);
}

/*
 * An offset that is not a multiple of 2 MiB: the address agrees with the
 * physical one modulo 2 MiB all the same, so 4 KiB PTEs map up to the
 * first 2 MiB boundary of the buffer and a PMD the 2 MiB after it.
 */
TEST_F(huge, an_unaligned_offset_maps_ptes_up_to_the_first_aligned_2MiB)
{
	const size_t off = PAGE, len = 4 * MiB - PAGE;
	unsigned char *map;
	struct mapped_by m;

	if (!self->huge)
		SKIP(return, NO_HUGE_PFNMAPS);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(off, (uintptr_t)map % TWO_MiB);
	fill_at(map, off, len, 43);
	m = mapped_by(self->fd, map, TWO_MiB / PAGE - 1);
	EXPECT_EQ(0, m.pmd);
	EXPECT_EQ(TWO_MiB / PAGE - 1, m.pte);
	EXPECT_EQ(0, m.wrong);
	m = mapped_by(self->fd, map + TWO_MiB - off, TWO_MiB / PAGE);
	EXPECT_EQ(TWO_MiB / PAGE, m.pmd);
	EXPECT_EQ(0, m.wrong);
	EXPECT_EQ(-1, check_by_pread(self->fd, off, len, 43));
	ASSERT_EQ(0, fill_by_pwrite(self->fd, off, len, 44));
	EXPECT_EQ(-1, check_at(map, off, len, 44));
	munmap(map, len);
}

/* where no aligned 2 MiB fits, mmap maps everything with PTEs, no fault */
static void expect_ptes_only(struct __test_metadata *_metadata, int fd,
			     unsigned char *map, size_t off, size_t len,
			     unsigned int seed)
{
	struct mapped_by m = mapped_by(fd, map, len / PAGE);

	/* remap_pfn_range() at mmap time: mapped before any touch */
	EXPECT_EQ(0, m.pmd);
	EXPECT_EQ(len / PAGE, m.pte);
	EXPECT_EQ(0, m.wrong);
	fill_at(map, off, len, seed);
	EXPECT_EQ(0, buf_info(fd).faults);
	EXPECT_EQ(-1, check_by_pread(fd, off, len, seed));
	ASSERT_EQ(0, fill_by_pwrite(fd, off, len, seed + 1));
	EXPECT_EQ(-1, check_at(map, off, len, seed + 1));
	m = mapped_by(fd, map, len / PAGE);
	EXPECT_EQ(0, m.pmd);
}

TEST_F(huge, two_MiB_at_a_1MiB_offset_fall_back_to_ptes)
{
	unsigned char *map;

	map = mmap(NULL, TWO_MiB, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, MiB);
	ASSERT_NE(MAP_FAILED, map);
	expect_ptes_only(_metadata, self->fd, map, MiB, TWO_MiB, 45);
	munmap(map, TWO_MiB);
}

TEST_F(huge, a_1MiB_buffer_falls_back_to_ptes)
{
	unsigned char *map;
	int fd = buf_alloc(MiB, DMAKIT_KIND_CONTIG, PFNMAP, NULL);

	ASSERT_LE(0, fd);
	map = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	expect_ptes_only(_metadata, fd, map, 0, MiB, 47);
	munmap(map, MiB);
	close(fd);
}

/* MAP_FIXED at an address that disagrees with the physical one */
TEST_F(huge, a_misaligned_fixed_address_falls_back_to_ptes)
{
	unsigned char *place = aligned_place(4 * MiB + PAGE), *map;

	ASSERT_NE(MAP_FAILED, place);
	map = mmap(place + PAGE, 4 * MiB, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, self->fd, 0);
	ASSERT_EQ(place + PAGE, map);
	expect_ptes_only(_metadata, self->fd, map, 0, 4 * MiB, 49);
	munmap(map, 4 * MiB);
}

/* munmap of part of a PMD splits it; the rest refaults with PTEs */
TEST_F(huge, unmapping_part_of_a_pmd_keeps_the_data)
{
	unsigned char *map;
	struct mapped_by m;

	if (!self->huge)
		SKIP(return, NO_HUGE_PFNMAPS);
	map = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * MiB, 51);
	ASSERT_EQ(1024, mapped_by(self->fd, map, 1024).pmd);
	ASSERT_EQ(0, munmap(map + 3 * MiB, 256 * 1024));
	EXPECT_EQ(SIGSEGV, touch(map + 3 * MiB));
	EXPECT_EQ(-1, check(map, 3 * MiB, 51));
	EXPECT_EQ(-1, check_at(map + 3 * MiB + 256 * 1024, 3 * MiB + 256 * 1024,
			       768 * 1024, 51));
	/* the first 2 MiB are untouched, the second was split */
	m = mapped_by(self->fd, map, 512);
	EXPECT_EQ(512, m.pmd);
	m = mapped_by(self->fd, map + TWO_MiB, 256);
	EXPECT_EQ(0, m.pmd);
	EXPECT_EQ(256, m.pte);
	EXPECT_EQ(0, m.wrong);
	EXPECT_EQ(-1, check_by_read(self->fd, 4 * MiB, 51));	/* nothing lost */
	ASSERT_EQ(0, fill_by_pwrite(self->fd, 0, 4 * MiB, 52));
	EXPECT_EQ(-1, check(map, 3 * MiB, 52));
	EXPECT_EQ(-1, check_at(map + 3 * MiB + 256 * 1024, 3 * MiB + 256 * 1024,
			       768 * 1024, 52));
	munmap(map, 3 * MiB);
	munmap(map + 3 * MiB + 256 * 1024, 768 * 1024);
	EXPECT_EQ(0, buf_info(self->fd).mappings);
}

/* mremap of part of a PMD moves that part (PTEs) and splits the rest */
TEST_F(huge, moving_part_of_a_pmd_with_mremap_keeps_the_data)
{
	unsigned char *map, *place, *moved;
	struct mapped_by m;

	if (!self->huge)
		SKIP(return, NO_HUGE_PFNMAPS);
	map = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * MiB, 53);
	ASSERT_EQ(1024, mapped_by(self->fd, map, 1024).pmd);
	place = mmap(NULL, MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, place);
	moved = mremap(map + MiB, MiB, MiB, MREMAP_MAYMOVE | MREMAP_FIXED, place);
	ASSERT_EQ(place, moved);
	EXPECT_EQ(SIGSEGV, touch(map + MiB));
	EXPECT_EQ(-1, check(map, MiB, 53));
	EXPECT_EQ(-1, check_at(moved, MiB, MiB, 53));
	EXPECT_EQ(-1, check_at(map + TWO_MiB, TWO_MiB, TWO_MiB, 53));
	m = mapped_by(self->fd, moved, 256);
	EXPECT_EQ(0, m.pmd);
	EXPECT_EQ(256, m.pte);
	EXPECT_EQ(0, m.wrong);
	m = mapped_by(self->fd, map, 256);
	EXPECT_EQ(256, m.pte);
	EXPECT_EQ(0, m.wrong);
	/* the second 2 MiB were not touched by the move */
	EXPECT_EQ(512, mapped_by(self->fd, map + TWO_MiB, 512).pmd);
	fill_at(moved, MiB, MiB, 54);
	EXPECT_EQ(-1, check_by_pread(self->fd, MiB, MiB, 54));
	EXPECT_EQ(-1, check_by_pread(self->fd, 0, MiB, 53));
	munmap(map, MiB);
	munmap(moved, MiB);
	munmap(map + TWO_MiB, TWO_MiB);
	EXPECT_EQ(0, buf_info(self->fd).mappings);
}

/*
 * CMA aligns a buffer only to 1 MiB (CONFIG_CMA_ALIGNMENT), so its offset
 * in the buffer and its physical address may disagree modulo 2 MiB: the
 * mapping is placed by the physical address, and every whole 2 MiB piece
 * of physical memory gets a PMD.
 */
TEST_F(huge, a_cma_buffer_is_placed_by_its_physical_address)
{
	const size_t len = 8 * MiB;
	int fd, pieces, spacer[3] = { -1, -1, -1 };
	uint64_t phys, first;
	unsigned char *map;
	struct mapped_by m;

	if (!self->huge)
		SKIP(return, NO_HUGE_PFNMAPS);
	if (!env_long("DMAKIT_HAS_CMA", 0))
		SKIP(return, "contig above 4 MiB needs CMA: this kernel has none");
	/*
	 * Wanted: a block that is not 2 MiB-aligned, where the offset alone
	 * would place the mapping wrong. CMA hands out the first free 1 MiB-
	 * aligned range: a 5 MiB spacer before it shifts the next by 1 MiB.
	 */
	for (int tries = 0;; tries++) {
		fd = buf_alloc(len, DMAKIT_KIND_CONTIG, 0, NULL);
		ASSERT_LE(0, fd) TH_LOG("alloc: %s", strerror(-fd));
		phys = buffer_phys(fd);
		ASSERT_NE(0, phys);
		if (phys % TWO_MiB || tries == 3)
			break;
		close(fd);
		spacer[tries] = buf_alloc(5 * MiB, DMAKIT_KIND_CONTIG, 0, NULL);
	}
	first = (phys + TWO_MiB - 1) & ~(uint64_t)(TWO_MiB - 1);
	pieces = (phys + len - first) / TWO_MiB;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	TH_LOG("physical %#llx, mapped at %p: %d whole 2 MiB pieces",
	       (unsigned long long)phys, map, pieces);
	EXPECT_EQ(phys % TWO_MiB, (uintptr_t)map % TWO_MiB);
	fill(map, len, 57);
	m = mapped_by(fd, map, len / PAGE);
	EXPECT_EQ(pieces * (int)(TWO_MiB / PAGE), m.pmd);
	EXPECT_EQ(len / PAGE - pieces * (TWO_MiB / PAGE), m.pte);
	EXPECT_EQ(0, m.wrong);
	EXPECT_EQ(-1, check_by_read(fd, len, 57));
	munmap(map, len);
	close(fd);
	for (int i = 0; i < 3; i++)
		if (spacer[i] >= 0)
			close(spacer[i]);
}

/*
 * 6.12 asks the THP sysfs policy before it calls ->huge_fault of a PFN
 * map ("never": 4 KiB PTEs); 7.3 does not ("Huge PFN mappings are
 * uncompactable so the policy doesn't apply", mm/huge_memory.c).
 */
TEST_F(huge, the_thp_policy_never_holds_on_6_12_not_on_7_3)
{
	int v = kernel_version();
	unsigned char *map;
	struct mapped_by m;

	if (!self->huge)
		SKIP(return, NO_HUGE_PFNMAPS);
	ASSERT_EQ(0, set_thp_policy("never"));
	map = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	fill(map, 4 * MiB, 55);
	/* PMDs or not, one fault per 2 MiB piece maps all of it */
	EXPECT_EQ(2, buf_info(self->fd).faults);
	m = mapped_by(self->fd, map, 1024);
	EXPECT_EQ(0, m.wrong);
	EXPECT_EQ(-1, check_by_read(self->fd, 4 * MiB, 55));
	munmap(map, 4 * MiB);
	TH_LOG("Linux %d.%d, THP never: %d pages by PMDs, %d by PTEs",
	       v / 100, v % 100, m.pmd, m.pte);
	if (v == 612) {
		EXPECT_EQ(1024, m.pte);
	} else if (v >= 700) {
		EXPECT_EQ(1024, m.pmd);
	} else {
		SKIP(return, "which way this release goes was not checked");
	}
}

/* ---- O_DIRECT and io_uring on a block device, every kind's mapping -------- */

/*
 * Each kind and mapping flag, mapped by the buffer's fd (or, dmabuf, by
 * the fd of its dma-buf export), moves data to and from a block device
 * with O_DIRECT, io_uring READ/WRITE on an O_DIRECT fd, and io_uring
 * fixed buffers registered from the mapping: all the block layer or
 * io_uring pin (GUP). direct_errno() says per kind and kernel what must
 * happen: the bytes arrive, or this errno and not a byte moves.
 */
FIXTURE(direct) {
	int fd;		/* the buffer */
	int map_fd;	/* what is mapped: the buffer or its dma-buf */
	int node;	/* coherent: the edu node it belongs to */
	int disk;	/* the block device, O_DIRECT */
	const char *dev;
	unsigned char *map;
	unsigned char *bounce;	/* page-aligned, for O_DIRECT of our own */
};

FIXTURE_VARIANT(direct) {
	uint32_t kind;
	uint32_t flags;
	uint64_t size;
	bool cma;	/* contig above 4 MiB: CMA's pages */
	bool dmabuf;	/* map the dma-buf export instead */
};

FIXTURE_VARIANT_ADD(direct, contig) { .kind = DMAKIT_KIND_CONTIG, .size = 4 * PAGE };
FIXTURE_VARIANT_ADD(direct, contig_pfnmap) {
	.kind = DMAKIT_KIND_CONTIG, .flags = PFNMAP, .size = 4 * PAGE };
FIXTURE_VARIANT_ADD(direct, contig_cma) {
	.kind = DMAKIT_KIND_CONTIG, .size = 8 * MiB, .cma = true };
FIXTURE_VARIANT_ADD(direct, pages) { .kind = DMAKIT_KIND_PAGES, .size = 4 * PAGE };
FIXTURE_VARIANT_ADD(direct, pages_premap) {
	.kind = DMAKIT_KIND_PAGES, .flags = PREMAP, .size = 4 * PAGE };
FIXTURE_VARIANT_ADD(direct, vmalloc) { .kind = DMAKIT_KIND_VMALLOC, .size = 4 * PAGE };
FIXTURE_VARIANT_ADD(direct, vmalloc_premap) {
	.kind = DMAKIT_KIND_VMALLOC, .flags = PREMAP, .size = 4 * PAGE };
FIXTURE_VARIANT_ADD(direct, coherent) { .kind = DMAKIT_KIND_COHERENT, .size = 4 * PAGE };
FIXTURE_VARIANT_ADD(direct, dmabuf_contig) {
	.kind = DMAKIT_KIND_CONTIG, .size = 4 * PAGE, .dmabuf = true };
FIXTURE_VARIANT_ADD(direct, dmabuf_contig_pfnmap) {
	.kind = DMAKIT_KIND_CONTIG, .flags = PFNMAP, .size = 4 * PAGE, .dmabuf = true };

enum direct_path { DIRECT_SYSCALL, DIRECT_URING, DIRECT_URING_FIXED };

/*
 * What this variant's mapping gives on this kernel, per path; 0: the data
 * moves. The syscalls and io_uring's READ/WRITE pin with GUP (FOLL_PIN):
 * gup_errno(). Fixed buffers pin for the long term (FOLL_LONGTERM), and
 * 6.1's io_uring refuses every file-backed mapping but shmem and hugetlbfs
 * after pinning it (io_pin_pages(): EOPNOTSUPP); 6.5 dropped that check.
 * docs/buffers.md has the table.
 */
static int direct_errno(const FIXTURE_VARIANT(direct) *v, enum direct_path path)
{
	int err = v->cma ? EFAULT : gup_errno(v->kind, v->flags);

	if (path == DIRECT_URING_FIXED && !err && !strcmp(kernel_line(), "6.1"))
		return EOPNOTSUPP;
	return err;
}

static const char *direct_path_name(enum direct_path path)
{
	return path == DIRECT_SYSCALL ? "O_DIRECT pread/pwrite" :
	       path == DIRECT_URING ? "io_uring READ/WRITE" :
	       "io_uring READ_FIXED/WRITE_FIXED";
}

FIXTURE_SETUP(direct)
{
	self->fd = self->map_fd = self->node = self->disk = -1;
	self->map = MAP_FAILED;
	self->bounce = NULL;
	self->dev = dio_block_device();
	if (!self->dev)
		SKIP(return, "no block device (%s: DMAKIT_DISK unset and no brd)", kernel_line());
	if (variant->cma && !env_long("DMAKIT_HAS_CMA", 0))
		SKIP(return, "contig above 4 MiB needs CMA: this kernel has none");
	if (variant->kind == DMAKIT_KIND_COHERENT) {
		struct dmakit_alloc a = { .size = variant->size, .kind = variant->kind };

		if (!env_long("DMAKIT_EDU_COUNT", 0))
			SKIP(return, "coherent buffers are made on a device node: this lane has no edu device");
		self->node = edu_open(0, 0);
		ASSERT_LE(0, self->node);
		ASSERT_EQ(0, ioctl(self->node, DMAKIT_IOC_ALLOC, &a));
		self->fd = a.fd;
	} else {
		self->fd = buf_alloc(variant->size, variant->kind, variant->flags, NULL);
	}
	ASSERT_LE(0, self->fd) TH_LOG("alloc: %s", strerror(-self->fd));
	self->map_fd = self->fd;
	if (variant->dmabuf) {
		self->map_fd = dmabuf_export(self->fd, 0);
		ASSERT_LE(0, self->map_fd) TH_LOG("export: %s", strerror(-self->map_fd));
	}
	self->map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->map_fd, 0);
	ASSERT_NE(MAP_FAILED, self->map) TH_LOG("mmap: %s", strerror(errno));
	self->disk = open(self->dev, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->disk) TH_LOG("open %s O_DIRECT: %s", self->dev, strerror(errno));
	ASSERT_EQ(0, posix_memalign((void **)&self->bounce, PAGE, 2 * PAGE));
}

FIXTURE_TEARDOWN(direct)
{
	free(self->bounce);
	if (self->disk >= 0)
		close(self->disk);
	if (self->map != MAP_FAILED)
		munmap(self->map, 4 * PAGE);
	if (self->map_fd >= 0 && self->map_fd != self->fd)
		close(self->map_fd);
	if (self->fd >= 0)
		close(self->fd);
	if (self->node >= 0)
		close(self->node);
}

/*
 * One read or write of @len bytes at @buf, disk offset @off, by @path
 * (fixed: buffer 0 of @r); the bytes moved or -errno
 */
static long direct_rw(struct ring *r, enum direct_path path, int disk, bool write,
		      void *buf, size_t len, off_t off)
{
	struct io_uring_cqe cqe;
	int op;

	if (path == DIRECT_SYSCALL) {
		ssize_t n = write ? pwrite(disk, buf, len, off) : pread(disk, buf, len, off);

		return n < 0 ? -errno : n;
	}
	if (path == DIRECT_URING)
		op = write ? IORING_OP_WRITE : IORING_OP_READ;
	else
		op = write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
	if (ring_rw_fixed(r, op, disk, buf, len, off, 1, 0) != 1)
		return -1000 - errno;
	if (ring_wait(r, &cqe))
		return -2000;
	return cqe.res;
}

/*
 * Write two pages from the mapping to the disk and read two other pages of
 * the disk into the mapping, by @path; byte for byte, or the documented
 * errno with the disk and the mapping untouched.
 */
static void direct_round_trip(struct __test_metadata *_metadata,
			      FIXTURE_DATA(direct) *self,
			      const FIXTURE_VARIANT(direct) *variant,
			      enum direct_path path)
{
	const off_t at = 256 * 1024 + path * 64 * 1024;	/* inside brd's 1 MiB */
	int err = direct_errno(variant, path);
	unsigned char *map = self->map;
	struct ring r = { .fd = -1 };
	long n;

	/* the disk: pattern 70 at @at, pattern 71 at @at + 2 pages */
	fill(self->bounce, 2 * PAGE, 70);
	ASSERT_EQ((ssize_t)(2 * PAGE), pwrite(self->disk, self->bounce, 2 * PAGE, at));
	fill(self->bounce, 2 * PAGE, 71);
	ASSERT_EQ((ssize_t)(2 * PAGE), pwrite(self->disk, self->bounce, 2 * PAGE,
					     at + 2 * PAGE));
	/* the mapping: pattern 72 */
	fill(map, 4 * PAGE, 72);

	if (path != DIRECT_SYSCALL) {
		struct iovec iov = { map, 4 * PAGE };
		int reg;

		if (ring_init(&r, 4))
			SKIP(return, "no io_uring: %s", strerror(errno));
		if (path == DIRECT_URING_FIXED) {
			errno = 0;
			reg = ring_register_buffers(&r, &iov, 1);
			if (err) {
				EXPECT_EQ(-1, reg);
				EXPECT_EQ(err, errno) TH_LOG("%s: registering the mapping: %s, documented %s",
							    kernel_line(), strerror(errno), strerror(err));
				EXPECT_EQ(-1, check(map, 4 * PAGE, 72));
				close(r.fd);
				return;
			}
			ASSERT_EQ(0, reg) TH_LOG("%s: registering the mapping: %s",
						 kernel_line(), strerror(errno));
		}
	}

	/* write from the mapping: the device reads it */
	n = direct_rw(&r, path, self->disk, true, map + PAGE, 2 * PAGE, at);
	ASSERT_EQ((ssize_t)(2 * PAGE), pread(self->disk, self->bounce, 2 * PAGE, at));
	if (err) {
		EXPECT_EQ(-err, n) TH_LOG("%s: %s from the mapping: %s, documented %s", kernel_line(),
					  direct_path_name(path), n < 0 ? strerror(-n) : "moved",
					  strerror(err));
		EXPECT_EQ(-1, check(self->bounce, 2 * PAGE, 70)) TH_LOG("the disk changed");
	} else {
		EXPECT_EQ((long)(2 * PAGE), n) TH_LOG("%s: %s from the mapping: %s", kernel_line(),
						      direct_path_name(path),
						      n < 0 ? strerror(-n) : "short");
		EXPECT_EQ(-1, check_at(self->bounce, PAGE, 2 * PAGE, 72));
	}

	/* read into the mapping: the device writes it */
	n = direct_rw(&r, path, self->disk, false, map + PAGE, 2 * PAGE, at + 2 * PAGE);
	if (err) {
		EXPECT_EQ(-err, n) TH_LOG("%s: %s into the mapping: %s, documented %s", kernel_line(),
					  direct_path_name(path), n < 0 ? strerror(-n) : "moved",
					  strerror(err));
		EXPECT_EQ(-1, check(map, 4 * PAGE, 72)) TH_LOG("the mapping changed");
	} else {
		EXPECT_EQ((long)(2 * PAGE), n) TH_LOG("%s: %s into the mapping: %s", kernel_line(),
						      direct_path_name(path),
						      n < 0 ? strerror(-n) : "short");
		EXPECT_EQ(-1, check(map + PAGE, 2 * PAGE, 71));
		/* the pages around it, and the buffer's own view through read() */
		EXPECT_EQ(-1, check(map, PAGE, 72));
		EXPECT_EQ(-1, check_at(map + 3 * PAGE, 3 * PAGE, PAGE, 72));
		ASSERT_EQ((ssize_t)(2 * PAGE), pread(self->fd, self->bounce, 2 * PAGE, PAGE));
		EXPECT_EQ(-1, check(self->bounce, 2 * PAGE, 71));
	}
	if (r.fd >= 0)
		close(r.fd);
}

TEST_F_TIMEOUT(direct, o_direct_write_from_and_read_into_the_mapping, 120)
{
	direct_round_trip(_metadata, self, variant, DIRECT_SYSCALL);
}

TEST_F_TIMEOUT(direct, io_uring_write_from_and_read_into_the_mapping, 120)
{
	direct_round_trip(_metadata, self, variant, DIRECT_URING);
}

TEST_F_TIMEOUT(direct, io_uring_fixed_buffers_registered_from_the_mapping, 120)
{
	direct_round_trip(_metadata, self, variant, DIRECT_URING_FIXED);
}

/*
 * A fixed buffer registered from the mapping holds its pages (a long-term
 * pin on each page's own refcount): unmapped and with every fd closed, the
 * buffer is released, but the pages stay until the ring lets them go, and
 * still carry the bytes both ways (KASAN on the debug lane: no page is
 * freed under the pin).
 */
TEST_F_TIMEOUT(direct, a_fixed_buffer_keeps_its_pages_after_munmap_and_close, 120)
{
	const off_t at = 512 * 1024;	/* inside brd's 1 MiB */
	struct iovec iov = { self->map, 4 * PAGE };
	struct io_uring_cqe cqe;
	struct ring r;

	if (direct_errno(variant, DIRECT_URING_FIXED))
		SKIP(return, "this mapping cannot be registered (%s)",
		     strerror(direct_errno(variant, DIRECT_URING_FIXED)));
	if (ring_init(&r, 4))
		SKIP(return, "no io_uring: %s", strerror(errno));
	fill(self->map, 4 * PAGE, 73);
	ASSERT_EQ(0, ring_register_buffers(&r, &iov, 1)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, munmap(self->map, 4 * PAGE));
	self->map = MAP_FAILED;
	if (self->map_fd != self->fd)
		close(self->map_fd);
	close(self->fd);
	self->fd = self->map_fd = -1;
	if (self->node >= 0) {
		close(self->node);
		self->node = -1;
	}

	/* the pages still hold pattern 73: to the disk */
	ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_WRITE_FIXED, self->disk, iov.iov_base,
				   4 * PAGE, at, 1, 0));
	ASSERT_EQ(0, ring_wait(&r, &cqe));
	EXPECT_EQ((int)(4 * PAGE), cqe.res) TH_LOG("%s", strerror(-cqe.res));
	ASSERT_EQ((ssize_t)(2 * PAGE), pread(self->disk, self->bounce, 2 * PAGE, at + PAGE));
	EXPECT_EQ(-1, check_at(self->bounce, PAGE, 2 * PAGE, 73));

	/* from the disk into them (pattern 74), and back out at another place */
	fill(self->bounce, 2 * PAGE, 74);
	ASSERT_EQ((ssize_t)(2 * PAGE), pwrite(self->disk, self->bounce, 2 * PAGE, at));
	ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_READ_FIXED, self->disk, iov.iov_base,
				   2 * PAGE, at, 2, 0));
	ASSERT_EQ(0, ring_wait(&r, &cqe));
	EXPECT_EQ((int)(2 * PAGE), cqe.res) TH_LOG("%s", strerror(-cqe.res));
	ASSERT_EQ(1, ring_rw_fixed(&r, IORING_OP_WRITE_FIXED, self->disk, iov.iov_base,
				   2 * PAGE, at + 4 * PAGE, 3, 0));
	ASSERT_EQ(0, ring_wait(&r, &cqe));
	EXPECT_EQ((int)(2 * PAGE), cqe.res) TH_LOG("%s", strerror(-cqe.res));
	memset(self->bounce, 0, 2 * PAGE);
	ASSERT_EQ((ssize_t)(2 * PAGE), pread(self->disk, self->bounce, 2 * PAGE, at + 4 * PAGE));
	EXPECT_EQ(-1, check(self->bounce, 2 * PAGE, 74));
	close(r.fd);	/* the last pins go */
}

TEST(unload_is_refused_while_a_mapping_exists)
{
	unsigned char *map;
	int fd = buf_alloc(PAGE, DMAKIT_KIND_PAGES, 0, NULL);

	ASSERT_LE(0, fd);
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	close(fd);		/* only the mapping holds the module now */
	EXPECT_NE(0, system("rmmod dmakit 2>/dev/null"));
	EXPECT_EQ(0, access("/dev/dmakit", F_OK));
	map[0] = 1;
	munmap(map, PAGE);
}

TEST_HARNESS_MAIN
