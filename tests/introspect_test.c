// SPDX-License-Identifier: GPL-2.0
/*
 * DMAKIT_IOC_TRANSLATE: the addresses of a buffer's pages, checked against
 * what the kernel's own /proc/self/pagemap says (for the fault-mapped kinds;
 * pagemap does not look into VM_PFNMAP mappings).
 */
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define PAGE	4096UL
#define NPAGES	8
#define TOUCHED	6	/* pages 0..5 are touched, 6 and 7 are not */

static int translate(int fd, uint64_t uaddr, uint64_t offset, uint32_t *count,
		     struct dmakit_page_desc *descs)
{
	struct dmakit_translate t = {
		.uaddr = uaddr, .offset = offset, .count = *count,
		.descs = (uintptr_t)descs,
	};

	if (ioctl(fd, DMAKIT_IOC_TRANSLATE, &t))
		return -errno;
	*count = t.count;
	return 0;
}

/* /proc/self/pagemap: bit 63 present, bits 0..54 the PFN (root only) */
static uint64_t pagemap_pfn(const void *va)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return ~0ull;
	if (pread(fd, &e, 8, (uintptr_t)va / PAGE * 8) != 8)
		e = 0;
	close(fd);
	return e >> 63 ? e & ((1ull << 55) - 1) : 0;
}

/*
 * The zone of a physical address as the kernel laid its zones out, from
 * /proc/zoneinfo (start_pfn and spanned of each populated zone): the bounds
 * are the architecture's (x86-64: DMA below 16 MiB, DMA32 below 4 GiB;
 * arm64: DMA up to what the narrowest device reaches, on the zynqmp lane
 * all of its 2 GiB). 0 if no zone spans it.
 */
static uint32_t zone_for(uint64_t phys)
{
	static const struct { const char *name; uint32_t zone; } names[] = {
		{ "DMA", DMAKIT_ZONE_DMA }, { "DMA32", DMAKIT_ZONE_DMA32 },
		{ "Normal", DMAKIT_ZONE_NORMAL }, { "Movable", DMAKIT_ZONE_MOVABLE },
	};
	uint64_t pfn = phys / PAGE, start = 0, spanned = 0;
	uint32_t zone = 0, found = 0;
	char line[256], name[32];
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %*d, zone %31s", name) == 1) {
			zone = 0;
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				if (!strcmp(name, names[i].name))
					zone = names[i].zone;
		} else if (sscanf(line, " spanned %" SCNu64, &spanned) == 1) {
			continue;
		} else if (sscanf(line, " start_pfn: %" SCNu64, &start) == 1) {
			/* spanned comes before start_pfn in each zone's block */
			if (zone && pfn >= start && pfn < start + spanned)
				found = zone;
		}
	}
	fclose(f);
	return found;
}

FIXTURE(tr) {
	long fault_batch;
	int fd;
	volatile unsigned char *map;
	struct dmakit_page_desc d[NPAGES + 2];
};

FIXTURE_VARIANT(tr) {
	uint32_t kind;
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(tr, contig) { .kind = DMAKIT_KIND_CONTIG };
FIXTURE_VARIANT_ADD(tr, contig_pfnmap) {
	.kind = DMAKIT_KIND_CONTIG, .flags = DMAKIT_ALLOC_PFNMAP };
FIXTURE_VARIANT_ADD(tr, pages) { .kind = DMAKIT_KIND_PAGES };
FIXTURE_VARIANT_ADD(tr, vmalloc) { .kind = DMAKIT_KIND_VMALLOC };
FIXTURE_VARIANT_ADD(tr, pages_premap) {
	.kind = DMAKIT_KIND_PAGES, .flags = DMAKIT_ALLOC_PREMAP };
FIXTURE_VARIANT_ADD(tr, vmalloc_premap) {
	.kind = DMAKIT_KIND_VMALLOC, .flags = DMAKIT_ALLOC_PREMAP };

FIXTURE_SETUP(tr)
{
	/* one page per fault, so that untouched pages stay unmapped */
	self->fault_batch = set_param("fault_batch", 1);
	ASSERT_LE(1, self->fault_batch);
	self->fd = buf_alloc(NPAGES * PAGE, variant->kind, variant->flags, NULL);
	ASSERT_LE(0, self->fd) TH_LOG("alloc: %s", strerror(-self->fd));
	self->map = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	for (int i = 0; i < TOUCHED; i++)
		self->map[i * PAGE] = i;
	memset(self->d, 0xee, sizeof(self->d));
}

FIXTURE_TEARDOWN(tr)
{
	munmap((void *)self->map, NPAGES * PAGE);
	close(self->fd);
	set_param("fault_batch", self->fault_batch);
}

TEST_F(tr, user_addresses_agree_with_proc_pagemap)
{
	int fault_mapped = !(variant->flags & (DMAKIT_ALLOC_PFNMAP |
						DMAKIT_ALLOC_PREMAP));
	uint32_t count = NPAGES;

	if (geteuid())
		SKIP(return, "PFNs are shown to root only");
	ASSERT_EQ(0, translate(self->fd, (uintptr_t)self->map, 0, &count, self->d));
	ASSERT_EQ(NPAGES, count);
	for (int i = 0; i < NPAGES; i++) {
		struct dmakit_page_desc *d = &self->d[i];
		/* pfnmap and premap are mapped whole at mmap time; the others on touch */
		int mapped = !fault_mapped || i < TOUCHED;
		uint64_t pm = pagemap_pfn((const void *)(self->map + i * PAGE));

		TH_LOG("page %d: uva %#llx pfn %#llx mapped_pfn %#llx pagemap %#llx "
		       "kva %#llx zone %u ref %u map %d flags %#x", i,
		       (unsigned long long)d->uva, (unsigned long long)d->pfn,
		       (unsigned long long)d->mapped_pfn, (unsigned long long)pm,
		       (unsigned long long)d->kva, d->zone, d->refcount,
		       d->mapcount, d->flags);
		EXPECT_EQ((uintptr_t)(self->map + i * PAGE), d->uva);
		EXPECT_EQ((uint64_t)i * PAGE, d->offset);
		EXPECT_NE(0, d->pfn);
		EXPECT_EQ(d->pfn * PAGE, d->phys);
		EXPECT_EQ(zone_for(d->phys), d->zone);
		EXPECT_LE(1, d->refcount);
		if (mapped) {
			/*
			 * pagemap's walk treats VM_PFNMAP VMAs as holes
			 * (mm/pagewalk.c, walk_page_test): a remap_pfn_range
			 * mapping shows its PFNs only in the page table itself;
			 * premapped PFNs sit in a VM_MIXEDMAP VMA, which it walks
			 */
			EXPECT_EQ(variant->flags & DMAKIT_ALLOC_PFNMAP ? 0 : d->pfn, pm);
			EXPECT_EQ(d->pfn, d->mapped_pfn);
			EXPECT_EQ(DMAKIT_PAGE_MAPPED, d->flags & DMAKIT_PAGE_MAPPED);
		} else {
			EXPECT_EQ(0, pm);
			EXPECT_EQ(0, d->mapped_pfn);
			EXPECT_EQ(0, d->flags & DMAKIT_PAGE_MAPPED);
		}
		/* PFN mappings (remap_pfn_range, premap) are not counted in struct page */
		EXPECT_EQ(fault_mapped && mapped ? 1 : 0, d->mapcount);
		if (variant->kind == DMAKIT_KIND_VMALLOC) {
			EXPECT_EQ(DMAKIT_KVA_VMALLOC, d->kva_kind);
		} else {
			EXPECT_EQ(DMAKIT_KVA_LINEAR, d->kva_kind);
		}
		if (variant->kind == DMAKIT_KIND_CONTIG && i + 1 < NPAGES) {
			EXPECT_EQ(DMAKIT_PAGE_CONTIG_NEXT, d->flags & DMAKIT_PAGE_CONTIG_NEXT);
			EXPECT_EQ(d->pfn + 1, self->d[i + 1].pfn);
		}
		if (i + 1 < NPAGES && d->flags & DMAKIT_PAGE_CONTIG_NEXT) {
			EXPECT_EQ(d->pfn + 1, self->d[i + 1].pfn);
		}
	}
	EXPECT_EQ(0, self->d[NPAGES - 1].flags & DMAKIT_PAGE_CONTIG_NEXT);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeull, self->d[NPAGES].uva); /* nothing more written */
}

TEST_F(tr, kernel_addresses_hold_the_same_bytes)
{
	uint32_t count = NPAGES;

	if (geteuid())
		SKIP(return, "addresses are shown to root only");
	ASSERT_EQ(0, translate(self->fd, 0, 0, &count, self->d));
	ASSERT_EQ(NPAGES, count);
	for (int i = 0; i < NPAGES; i++) {
		EXPECT_EQ(0, self->d[i].uva);
		EXPECT_EQ((uint64_t)i * PAGE, self->d[i].offset);
		/* the linear map: kva - phys is the same for every page */
		if (self->d[i].kva_kind == DMAKIT_KVA_LINEAR) {
			EXPECT_EQ(self->d[0].kva - self->d[0].phys,
				  self->d[i].kva - self->d[i].phys);
		}
	}
}

TEST_F(tr, offsets_describe_the_rest_of_the_buffer)
{
	uint32_t count = NPAGES + 2;

	ASSERT_EQ(0, translate(self->fd, 0, 2 * PAGE, &count, self->d));
	EXPECT_EQ(NPAGES - 2, count);
	EXPECT_EQ(2 * PAGE, self->d[0].offset);
	EXPECT_EQ((NPAGES - 1) * PAGE, self->d[count - 1].offset);
}

TEST_F(tr, a_grown_mapping_reports_pages_beyond_the_buffer)
{
	uint32_t count = NPAGES + 2;
	unsigned char *grown;

	if (variant->flags & DMAKIT_ALLOC_PFNMAP)
		SKIP(return, "a PFN-mapped contig mapping cannot grow");
	grown = mremap((void *)self->map, NPAGES * PAGE, (NPAGES + 2) * PAGE,
		       MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, grown);
	self->map = grown;
	ASSERT_EQ(0, translate(self->fd, (uintptr_t)grown, 0, &count, self->d));
	ASSERT_EQ(NPAGES + 2, count);
	EXPECT_EQ(0, self->d[NPAGES - 1].flags & DMAKIT_PAGE_BEYOND);
	EXPECT_EQ(DMAKIT_PAGE_BEYOND, self->d[NPAGES].flags);
	EXPECT_EQ(DMAKIT_PAGE_BEYOND, self->d[NPAGES + 1].flags);
	EXPECT_EQ(0, self->d[NPAGES].pfn);
	munmap(grown, (NPAGES + 2) * PAGE);
	self->map = mmap(NULL, NPAGES * PAGE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

TEST_F(tr, unprivileged_callers_get_no_kernel_or_physical_addresses)
{
	int status;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root to drop to another uid");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint32_t count = NPAGES;
		int bad = 0;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (translate(self->fd, (uintptr_t)self->map, 0, &count, self->d))
			_exit(11);
		for (int i = 0; i < NPAGES; i++) {
			struct dmakit_page_desc *d = &self->d[i];

			bad |= d->pfn || d->phys || d->kva || d->mapped_pfn;
			bad |= d->flags & DMAKIT_PAGE_CONTIG_NEXT;
			bad |= !d->zone || !d->kva_kind || !d->refcount;
			bad |= d->uva != (uintptr_t)(self->map + i * PAGE);
		}
		_exit(bad ? 12 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(tr, bad_arguments_are_einval_or_efault)
{
	struct dmakit_translate t = {
		.uaddr = (uintptr_t)self->map, .count = 1,
		.descs = (uintptr_t)self->d,
	};
	uint32_t count;
	void *other;
	int fd2;

	count = 0;
	EXPECT_EQ(-EINVAL, translate(self->fd, (uintptr_t)self->map, 0, &count, self->d));
	count = DMAKIT_TRANSLATE_MAX + 1;
	EXPECT_EQ(-EINVAL, translate(self->fd, (uintptr_t)self->map, 0, &count, self->d));
	count = 1;
	EXPECT_EQ(-EINVAL, translate(self->fd, (uintptr_t)self->map + 1, 0, &count, self->d));
	EXPECT_EQ(-EINVAL, translate(self->fd, 0, 1, &count, self->d));
	EXPECT_EQ(-EINVAL, translate(self->fd, 0, NPAGES * PAGE, &count, self->d));
	EXPECT_EQ(-EINVAL, translate(self->fd, 0, ~0ull & ~(PAGE - 1), &count, self->d));
	EXPECT_EQ(-EINVAL, translate(self->fd, ~0ull & ~(PAGE - 1), 0, &count, self->d));
	EXPECT_EQ(-EFAULT, translate(self->fd, 0, 0, &count, NULL));

	/* an address that is not a mapping of this buffer */
	other = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, other);
	EXPECT_EQ(-EINVAL, translate(self->fd, (uintptr_t)other, 0, &count, self->d));
	munmap(other, PAGE);
	fd2 = buf_alloc(PAGE, DMAKIT_KIND_PAGES, 0, NULL);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-EINVAL, translate(fd2, (uintptr_t)self->map, 0, &count, self->d));
	close(fd2);

	t.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_TRANSLATE, &t));
	EXPECT_EQ(EINVAL, errno);
	t.flags = 0;
	t.reserved[0] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, DMAKIT_IOC_TRANSLATE, &t));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
