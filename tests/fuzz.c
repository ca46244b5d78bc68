// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: a seeded, reproducible fuzzer of dmakit's user interface.
 *
 *   fuzz [--seed S] [--calls N] [--procs P] [--threads T] [--dma D]
 *
 * P worker processes of T threads each (threads of a process share its fd
 * table and address space) issue N system calls in all against our nodes
 * (/dev/dmakit, /dev/dmakit-eduN, /dev/dmakit-fd0 read-only) and buffer fds
 * of every kind: every ioctl of include/uapi/dmakit.h, unknown and
 * mis-encoded ioctl numbers, on every fd type; mmap/munmap/mremap/mprotect/
 * madvise and touches of the mappings; read/write/pread/pwrite/readv/writev/
 * lseek/poll with bad pointers; close/dup/fork. Arguments are boundary-biased
 * random values, or valid structs with one field mutated. The last worker
 * process drops to uid/gid 65534 without capabilities after opening its
 * first nodes (later opens happen unprivileged).
 *
 * Reproducibility: worker W (process W / T, thread W % T) draws every
 * decision from its own stream, seeded from (seed, W). One worker alone
 * (--procs 1 --threads 1) replays exactly; with several, the streams are
 * the same but the kernel sees them interleaved as the scheduler decides.
 * Defaults: DMAKIT_FUZZ_SEED, else a fixed seed per lane (FNV-1a of
 * "dmakit-fuzz:" + DMAKIT_LANE); DMAKIT_FUZZ_CALLS, else 100000.
 *
 * Exclusions (the log repeats them):
 * - never DMAKIT_IOC_EDU_STRAY: it makes the device write memory nobody
 *   mapped for it, on purpose;
 * - never a writable BAR0 mapping as root: whoever programs edu's DMA
 *   registers can write any memory (legitimate for root, not a bug);
 *   unprivileged workers try it and must get EPERM;
 * - never a module parameter written;
 * - /dev/dmakit-fd0 only opened O_RDONLY: the host checks the floppy image
 *   after the run, so no write may reach the disk (a write is EBADF).
 *
 * Real DMA costs ~100 ms a segment under TCG and serialises per device, so
 * each worker may issue at most D (--dma, default 4) calls that can start
 * the device (transfers without DMAKIT_XFER_MAP_ONLY, loopback, read/write
 * of a node inside its window), each at most 512 bytes; every other
 * transfer gets DMAKIT_XFER_MAP_ONLY or an argument the kernel must refuse.
 *
 * Afterwards: every worker exited normally, the oracles below held, each
 * edu device still moves data byte for byte, the module's reference count
 * is 0, and it unloads and loads again (then works again).
 *
 * Oracles during the run: an ioctl number of our magic that no node knows
 * answers ENOTTY; MAP_PRIVATE of a buffer fails; an unprivileged process
 * cannot map BAR0; a read into a kernel address never returns data;
 * TRANSLATE shows no physical address to an unprivileged caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <dmakit.h>

#define PAGE		4096ul
#define MAX_FDS		40
#define MAX_MAPS	64
#define ARENA_LEN	(16ul << 20)
#define SCRATCH_LEN	(128ul << 10)
#define NERR		134	/* errno histogram: 0 = success, NERR = other */
#define MEM_CAP		(8ul << 20)	/* buffer bytes a process keeps */
#ifndef MAP_32BIT
#define MAP_32BIT	0	/* x86-64 only; arm64 (the zynqmp lane) has none */
#endif
#define KADDR		0xffff888000000000ull

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* ---- what a run counts ------------------------------------------------- */

enum op {
	OP_OPEN, OP_CLOSE, OP_DUP, OP_ALLOC, OP_IOCTL, OP_IOCTL_WEIRD,
	OP_MMAP, OP_MUNMAP, OP_MREMAP, OP_MPROTECT, OP_MADVISE, OP_TOUCH,
	OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_READV, OP_WRITEV,
	OP_LSEEK, OP_POLL, OP_SIGNAL, OP_FORK, OP_MAX
};

static const char *const op_name[OP_MAX] = {
	"open", "close", "dup", "ioctl-alloc", "ioctl", "ioctl-unknown",
	"mmap", "munmap", "mremap", "mprotect", "madvise", "touch",
	"read", "write", "pread", "pwrite", "readv", "writev",
	"lseek", "poll", "signal", "fork",
};

/* relative frequency of each operation */
static const unsigned int op_weight[OP_MAX] = {
	[OP_OPEN] = 3, [OP_CLOSE] = 3, [OP_DUP] = 2, [OP_ALLOC] = 2,
	[OP_IOCTL] = 40, [OP_IOCTL_WEIRD] = 12, [OP_MMAP] = 4, [OP_MUNMAP] = 2,
	[OP_MREMAP] = 2, [OP_MPROTECT] = 3, [OP_MADVISE] = 2, [OP_TOUCH] = 4,
	[OP_READ] = 5, [OP_WRITE] = 5, [OP_PREAD] = 5, [OP_PWRITE] = 5,
	[OP_READV] = 3, [OP_WRITEV] = 3, [OP_LSEEK] = 3, [OP_POLL] = 2,
	[OP_SIGNAL] = 1, [OP_FORK] = 0,	/* chosen separately: rare */
};

/* the oracles */
enum vkind { V_ENOTTY, V_PRIVATE, V_BAR, V_KREAD, V_TRANSLATE, V_CHILD, V_MAX };

static const char *const vkind_name[V_MAX] = {
	"unknown ioctl not ENOTTY", "MAP_PRIVATE of a buffer succeeded",
	"BAR0 mapped by uid 65534", "read into a kernel address returned data",
	"TRANSLATE showed addresses to uid 65534", "forked child failed",
};

/* one per worker thread, in memory shared with the parent */
struct stats {
	uint64_t op[OP_MAX], op_ok[OP_MAX], op_ns[OP_MAX];
	uint64_t cmd[16], cmd_ok[16];	/* per known_cmds[] entry */
	uint64_t err[NERR + 1];
	uint64_t calls, segv, bus, dma_real, fdc_real, forks, child_bad;
	uint64_t violations, vkind[V_MAX];
	uint64_t seed;
	int unpriv;
	char violation[240];
};

/* ---- one worker process's shared state --------------------------------- */

enum fdtype { FT_CTL, FT_EDU, FT_FDC, FT_BUF };
enum maptype { MT_BUF, MT_BAR, MT_ANON };

struct fent {
	int fd, type, edu, rdonly;
	uint32_t kind;
	uint64_t size;
};

struct ment {
	uintptr_t addr;
	size_t len;
	int type, fd;
};

static struct {
	pthread_mutex_t lock;	/* fds[], maps[], and every (m)map change */
	struct fent fds[MAX_FDS];
	int nfds;
	struct ment maps[MAX_MAPS];
	int nmaps;
	uintptr_t arena;	/* [arena, arena + ARENA_LEN): ours to clobber */
	int unpriv;
	pid_t tids[16];		/* the worker threads, for OP_SIGNAL */
	int ntids;
	int nedu;
	int has_fdc;
	pthread_barrier_t start;
} ps = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct worker {
	int index, tslot;	/* worker number; thread number in its process */
	uint64_t rng;
	struct stats *st;
	unsigned char *scratch;	/* SCRATCH_LEN, guard pages on both sides */
	unsigned char *ro;	/* a read-only page, guards around */
	unsigned char *none;	/* a PROT_NONE page */
	/*
	 * TRANSLATE's output, for the redaction oracle: nothing else writes
	 * there (scratch may be the target of an asynchronous transfer that
	 * the device finishes while the oracle reads it)
	 */
	struct dmakit_page_desc *xlate;
	sigjmp_buf jb;
	volatile int jmp_active;
	int dma_left, fdc_left;
	uint64_t calls, quota;
};

static __thread struct worker *self;
static unsigned int window = DMAKIT_EDU_WINDOW_MAX;

/* ---- random numbers ---------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* splitmix64 */
static uint64_t rnd(struct worker *w)
{
	w->rng += 0x9e3779b97f4a7c15ull;
	return mix64(w->rng);
}

static unsigned int rn(struct worker *w, unsigned int n)
{
	return n ? rnd(w) % n : 0;
}

static int chance(struct worker *w, unsigned int one_in)
{
	return rn(w, one_in) == 0;
}

static const uint64_t boundary[] = {
	0, 1, 2, 3, 7, 8, 63, 64, 127, 128, 511, 512, 513, 1023, 1024, 1025,
	4094, 4095, 4096, 4097, 8191, 8192, 8193, 65535, 65536, 65537,
	1ull << 20, (1ull << 20) + 4096, 0x7fffffffull, 0x80000000ull,
	0xffffffffull, 0x100000000ull, 0x100000001ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, ~0ull, ~0ull - 1, ~0ull - 4095, KADDR,
};

/* a boundary-biased value */
static uint64_t bval(struct worker *w)
{
	switch (rn(w, 6)) {
	case 0: case 1: case 2:
		return boundary[rn(w, sizeof(boundary) / sizeof(boundary[0]))];
	case 3:
		return rn(w, 8193);
	case 4:
		return rnd(w) >> rn(w, 64);
	default:
		return rnd(w);
	}
}

/* ---- recording calls ----------------------------------------------------- */

static long rec(int op, long ret)
{
	struct worker *w = self;
	int e = ret < 0 ? errno : 0;

	w->st->op[op]++;
	w->st->calls++;
	w->calls++;
	w->st->err[e < NERR ? e : NERR]++;
	if (ret >= 0)
		w->st->op_ok[op]++;
	if (ret < 0)
		errno = e;
	return ret;
}

static void violation(struct worker *w, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void violation(struct worker *w, int kind, const char *fmt, ...)
{
	va_list ap;

	w->st->vkind[kind]++;
	if (!w->st->violations++) {
		va_start(ap, fmt);
		vsnprintf(w->st->violation, sizeof(w->st->violation), fmt, ap);
		va_end(ap);
	}
}

/* ---- faults of our own touches ------------------------------------------- */

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	struct worker *w = self;

	if (w && w->jmp_active) {
		w->jmp_active = 0;
		siglongjmp(w->jb, sig);
	}
	/* not ours to expect: die of it, the parent reports the signal */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- tables (callers hold ps.lock) --------------------------------------- */

static int fd_add(const struct fent *f)
{
	if (ps.nfds >= MAX_FDS)
		return -1;
	ps.fds[ps.nfds++] = *f;
	return 0;
}

static void fd_del(int fd)
{
	for (int i = 0; i < ps.nfds; i++)
		if (ps.fds[i].fd == fd) {
			ps.fds[i] = ps.fds[--ps.nfds];
			return;
		}
}

static uint64_t buffer_bytes(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < ps.nfds; i++)
		if (ps.fds[i].type == FT_BUF)
			sum += ps.fds[i].size;
	for (int i = 0; i < ps.nmaps; i++)
		if (ps.maps[i].type == MT_BUF)
			sum += ps.maps[i].len;
	return sum;
}

/* forget [a, a + len) in maps[], splitting entries */
static void map_carve(uintptr_t a, size_t len)
{
	uintptr_t e = a + len;

	for (int i = 0; i < ps.nmaps; i++) {
		struct ment *m = &ps.maps[i];
		uintptr_t me = m->addr + m->len;

		if (me <= a || m->addr >= e)
			continue;
		if (m->addr < a && me > e && ps.nmaps < MAX_MAPS) {
			struct ment tail = *m;

			tail.addr = e;
			tail.len = me - e;
			ps.maps[ps.nmaps++] = tail;
		}
		if (m->addr < a) {
			m->len = a - m->addr;
		} else if (me > e) {
			m->len = me - e;
			m->addr = e;
		} else {
			ps.maps[i--] = ps.maps[--ps.nmaps];
		}
	}
}

static void map_add(uintptr_t a, size_t len, int type, int fd)
{
	len = (len + PAGE - 1) & ~(PAGE - 1);
	map_carve(a, len);
	if (ps.nmaps < MAX_MAPS)
		ps.maps[ps.nmaps++] = (struct ment){ a, len, type, fd };
	else	/* table full: give the range back to the arena */
		munmap((void *)a, len);
}

static struct ment *map_at(uintptr_t a)
{
	for (int i = 0; i < ps.nmaps; i++)
		if (a >= ps.maps[i].addr && a < ps.maps[i].addr + ps.maps[i].len)
			return &ps.maps[i];
	return NULL;
}

static int in_arena(uintptr_t a, uint64_t len)
{
	return a >= ps.arena && len <= ARENA_LEN - PAGE &&
	       a + len <= ps.arena + ARENA_LEN - PAGE;
}

/* a BAR mapping overlaps [a, a + len) */
static int bar_in(uintptr_t a, size_t len)
{
	for (int i = 0; i < ps.nmaps; i++)
		if (ps.maps[i].type == MT_BAR && ps.maps[i].addr < a + len &&
		    ps.maps[i].addr + ps.maps[i].len > a)
			return 1;
	return 0;
}

/* a random fd of the table (type -1: any); 0 if none */
static int pick_fd(struct worker *w, int type, struct fent *out)
{
	int idx[MAX_FDS], n = 0;

	for (int i = 0; i < ps.nfds; i++)
		if (type < 0 || ps.fds[i].type == type)
			idx[n++] = i;
	if (!n)
		return 0;
	*out = ps.fds[idx[rn(w, n)]];
	return 1;
}

static int pick_fd_locked(struct worker *w, int type, struct fent *out)
{
	int ok;

	pthread_mutex_lock(&ps.lock);
	ok = pick_fd(w, type, out);
	pthread_mutex_unlock(&ps.lock);
	return ok;
}

/* a page-aligned range inside the arena, @len rounded to pages */
static uintptr_t arena_slot(struct worker *w, size_t len)
{
	size_t pages;

	if (len > ARENA_LEN / 2)
		len = PAGE;
	pages = (ARENA_LEN - 2 * PAGE - len) / PAGE;

	return ps.arena + PAGE + (uintptr_t)rn(w, pages) * PAGE;
}

/*
 * A range [*a, *a + *len) for munmap/mprotect/madvise/mremap: inside a
 * tracked mapping, straddling one, or anywhere in the arena; never beyond
 * memory that is ours to break. Some calls get an argument the kernel must
 * refuse before it looks at memory (len 0, unaligned, a kernel address).
 */
static void pick_range(struct worker *w, uintptr_t *a, size_t *len)
{
	struct ment *m = ps.nmaps ? &ps.maps[rn(w, ps.nmaps)] : NULL;

	switch (rn(w, 8)) {
	case 0:
		*a = KADDR;
		*len = PAGE;
		return;
	case 1:
		*a = m ? m->addr + 1 + rn(w, 4095) : ps.arena + 1;
		*len = PAGE;
		return;
	case 2:
		*a = m ? m->addr : ps.arena;
		*len = 0;
		return;
	case 3: case 4:
		if (m) {
			size_t off = rn(w, m->len / PAGE) * PAGE;

			*a = m->addr + off;
			*len = chance(w, 2) ? m->len - off :
			       (1 + rn(w, (m->len - off) / PAGE)) * PAGE;
			return;
		}
		/* fall through */
	case 5:
		if (m) {
			*a = m->addr;
			*len = m->len + (rn(w, 3) - 1) * PAGE;
			if (!*len)
				*len = PAGE;
			if (in_arena(*a, *len))
				return;
			*len = m->len;
			return;
		}
		/* fall through */
	default:
		*len = (1 + rn(w, 64)) * PAGE;
		*a = arena_slot(w, *len);
		return;
	}
}

/* ---- pointers --------------------------------------------------------------- */

enum ptrkind { P_SCRATCH, P_EDGE, P_MAP, P_ARENA, P_RO, P_NONE, P_NULL,
	       P_LOW, P_KERNEL, P_NONCANON, P_ALLONES, P_MAX };

/*
 * A pointer for the kernel to read or write. Everything writable that it
 * can point at is scratch memory of this worker or of the arena, with a
 * PROT_NONE page after it, so that no length can make the kernel write
 * the fuzzer's own state.
 */
static uintptr_t pick_ptr(struct worker *w, size_t len, int *kind)
{
	int k = rn(w, 4) ? (chance(w, 2) ? P_SCRATCH : P_MAP) : rn(w, P_MAX);
	uintptr_t p;

	if (kind)
		*kind = k;
	switch (k) {
	case P_SCRATCH:
		len = len < SCRATCH_LEN ? len : SCRATCH_LEN;
		return (uintptr_t)w->scratch + rn(w, SCRATCH_LEN - len + 1);
	case P_EDGE:	/* straddles the end of a mapping */
		len = len < SCRATCH_LEN - 1 ? len : SCRATCH_LEN - 1;
		return (uintptr_t)w->scratch + SCRATCH_LEN - 1 - rn(w, len + 1);
	case P_MAP:
		pthread_mutex_lock(&ps.lock);
		p = 0;
		for (int tries = 0; tries < 4 && ps.nmaps; tries++) {
			struct ment *m = &ps.maps[rn(w, ps.nmaps)];

			if (!in_arena(m->addr, m->len))
				continue;
			p = chance(w, 4) ? m->addr + m->len -
				rn(w, (len < m->len ? len : m->len - 1) + 1) :
			    m->addr + rn(w, m->len);
			break;
		}
		pthread_mutex_unlock(&ps.lock);
		if (p)
			return p;
		/* fall through */
	case P_ARENA:
		return ps.arena + rn(w, ARENA_LEN);
	case P_RO:
		return (uintptr_t)w->ro + rn(w, PAGE);
	case P_NONE:
		return (uintptr_t)w->none + rn(w, PAGE);
	case P_NULL:
		return 0;
	case P_LOW:
		return 0x1000 + rn(w, 0xe000);
	case P_KERNEL:
		return chance(w, 2) ? KADDR : 0xffffffff81000000ull;
	case P_NONCANON:
		return 0x8000000000000000ull;
	default:
		return ~0ull - rn(w, 4096);
	}
}

/* ---- ioctl arguments: valid structs with one field mutated ------------------- */

struct field {
	unsigned short off, size;
};

#define FLD(t, f) { offsetof(t, f), sizeof(((t *)0)->f) }

static const struct field f_alloc[] = {
	FLD(struct dmakit_alloc, size), FLD(struct dmakit_alloc, kind),
	FLD(struct dmakit_alloc, flags), FLD(struct dmakit_alloc, fd),
	FLD(struct dmakit_alloc, pad), FLD(struct dmakit_alloc, reserved),
	{ 0, 0 } };
static const struct field f_translate[] = {
	FLD(struct dmakit_translate, uaddr), FLD(struct dmakit_translate, offset),
	FLD(struct dmakit_translate, count), FLD(struct dmakit_translate, flags),
	FLD(struct dmakit_translate, descs),
	FLD(struct dmakit_translate, reserved), { 0, 0 } };
static const struct field f_xfer[] = {
	FLD(struct dmakit_xfer, fd), FLD(struct dmakit_xfer, dst_fd),
	FLD(struct dmakit_xfer, offset), FLD(struct dmakit_xfer, dst_offset),
	FLD(struct dmakit_xfer, len), FLD(struct dmakit_xfer, dev_offset),
	FLD(struct dmakit_xfer, dir), FLD(struct dmakit_xfer, flags),
	FLD(struct dmakit_xfer, pad), FLD(struct dmakit_xfer, user_data),
	FLD(struct dmakit_xfer, id), FLD(struct dmakit_xfer, reserved),
	{ 0, 0 } };
static const struct field f_reap[] = {
	FLD(struct dmakit_xfer_reap, flags), FLD(struct dmakit_xfer_reap, pad),
	{ 0, 0 } };
static const struct field f_xuser[] = {
	FLD(struct dmakit_xfer_user, iov), FLD(struct dmakit_xfer_user, dst_iov),
	FLD(struct dmakit_xfer_user, iovcnt),
	FLD(struct dmakit_xfer_user, dst_iovcnt),
	FLD(struct dmakit_xfer_user, dir),
	FLD(struct dmakit_xfer_user, dev_offset),
	FLD(struct dmakit_xfer_user, flags), FLD(struct dmakit_xfer_user, pad),
	FLD(struct dmakit_xfer_user, reserved), { 0, 0 } };
static const struct field f_fact[] = {
	FLD(struct dmakit_edu_factorial, n),
	FLD(struct dmakit_edu_factorial, flags),
	FLD(struct dmakit_edu_factorial, pad), { 0, 0 } };
static const struct field f_raise[] = {
	FLD(struct dmakit_edu_raise_irq, causes), { 0, 0 } };
static const struct field f_loop[] = {
	FLD(struct dmakit_edu_loopback, src), FLD(struct dmakit_edu_loopback, dst),
	FLD(struct dmakit_edu_loopback, len),
	FLD(struct dmakit_edu_loopback, flags),
	FLD(struct dmakit_edu_loopback, pad),
	FLD(struct dmakit_edu_loopback, reserved), { 0, 0 } };
static const struct field f_peek[] = {
	FLD(struct dmakit_fdc_peek, dst), FLD(struct dmakit_fdc_peek, len),
	FLD(struct dmakit_fdc_peek, flags), FLD(struct dmakit_fdc_peek, reserved),
	{ 0, 0 } };

/* with probability 1/2, overwrite one field with a boundary-biased value */
static int mutate(struct worker *w, void *s, const struct field *f)
{
	int n = 0;
	unsigned int i, off, size;
	uint64_t v;

	while (f[n].size)
		n++;
	if (!n || chance(w, 2))
		return -1;
	i = rn(w, n);
	off = f[i].off;
	size = f[i].size;
	if (size > 8) {		/* an array: one of its u64 */
		off += rn(w, size / 8) * 8;
		size = 8;
	}
	v = bval(w);
	memcpy((char *)s + off, &v, size);	/* little endian: low bytes */
	return i;
}

/* the fd of a random buffer (or, rarely, of anything) */
static int any_buf_fd(struct worker *w, struct fent *f)
{
	if (chance(w, 16) && pick_fd_locked(w, -1, f))
		return f->fd;
	if (pick_fd_locked(w, FT_BUF, f))
		return f->fd;
	return chance(w, 2) ? -1 : 1000;
}

/* a valid-looking size for a new buffer, within the memory cap */
static uint64_t alloc_size(struct worker *w)
{
	uint64_t live;

	pthread_mutex_lock(&ps.lock);
	live = buffer_bytes();
	pthread_mutex_unlock(&ps.lock);
	if (chance(w, 96) && live < MEM_CAP / 2)
		return chance(w, 2) ? (1ull << 20) + 1 : 256ull << 10;
	switch (rn(w, 4)) {
	case 0:
		return 1 + rn(w, 3 * PAGE);
	case 1:
		return PAGE * (1 + rn(w, 4));
	case 2:
		return 4095 + rn(w, 3);
	default:
		return PAGE * (1 + rn(w, 8));
	}
}

/* does this struct size fall in (1 MiB + 1 page, max_buffer_mb]? */
static uint64_t clamp_alloc(uint64_t size)
{
	if (size > (1ull << 20) + PAGE && size <= (512ull << 20))
		return (1ull << 20) + PAGE;
	return size;
}

/* may this call start the device? consumes the budget if so */
static int dma_ok(struct worker *w)
{
	if (w->dma_left <= 0 || !chance(w, 64))
		return 0;
	w->dma_left--;
	w->st->dma_real++;
	return 1;
}

static void new_fd(struct worker *w, int fd, const struct fent *tmpl)
{
	struct fent f = *tmpl;

	f.fd = fd;
	pthread_mutex_lock(&ps.lock);
	if (fd_add(&f))
		rec(OP_CLOSE, close(fd));
	pthread_mutex_unlock(&ps.lock);
}

/* DMAKIT_IOC_ALLOC on the control node or a device node (or anything) */
static void do_alloc(struct worker *w)
{
	struct dmakit_alloc *a = (void *)(w->scratch + SCRATCH_LEN / 2);
	struct fent on, buf = { .type = FT_BUF };
	int type = chance(w, 2) ? FT_CTL : FT_EDU;
	long ret;

	if (chance(w, 10))
		type = -1;
	if (!pick_fd_locked(w, type, &on))
		return;
	memset(a, 0, sizeof(*a));
	a->size = alloc_size(w);
	a->kind = on.type == FT_EDU && chance(w, 2) ? DMAKIT_KIND_COHERENT :
		  1 + rn(w, 3);
	a->flags = chance(w, 4) ? rn(w, 8) : 0;	/* RDONLY, CLOEXEC, PREMAP */
	mutate(w, a, f_alloc);
	a->size = clamp_alloc(a->size);
	ret = rec(OP_ALLOC, ioctl(on.fd, DMAKIT_IOC_ALLOC,
				  chance(w, 16) ? (void *)pick_ptr(w, sizeof(*a), NULL) :
				  (void *)a));
	w->st->cmd[1]++;
	if (!ret)
		w->st->cmd_ok[1]++;
	if (ret == 0 && a->fd > 2) {
		buf.kind = a->kind;
		buf.size = a->size;
		buf.rdonly = a->flags & DMAKIT_ALLOC_RDONLY;
		buf.edu = on.edu;
		new_fd(w, a->fd, &buf);
	}
}

/* an iovec array in scratch memory for DMAKIT_IOC_XFER_USER */
static uintptr_t make_iov(struct worker *w, unsigned int *cnt, size_t *total,
			  int small)
{
	struct iovec *iov = (void *)(w->scratch + SCRATCH_LEN - 8192 -
				     rn(w, 4) * 512);
	unsigned int n = 1 + rn(w, 4);

	*total = 0;
	for (unsigned int i = 0; i < n; i++) {
		size_t len = small ? 1 + rn(w, 128) :
			     rn(w, 4) ? 1 + rn(w, 1024) :
			     chance(w, 2) ? rn(w, 8193) : bval(w);

		iov[i].iov_base = (void *)pick_ptr(w, len, NULL);
		iov[i].iov_len = len;
		*total += len;
	}
	*cnt = n;
	return (uintptr_t)iov;
}

static const unsigned int known_cmds[] = {
	DMAKIT_IOC_INFO, DMAKIT_IOC_ALLOC, DMAKIT_IOC_BUF_INFO,
	DMAKIT_IOC_TRANSLATE, DMAKIT_IOC_DEV_INFO, DMAKIT_IOC_XFER,
	DMAKIT_IOC_XFER_REAP, DMAKIT_IOC_XFER_USER, DMAKIT_IOC_EDU_LIVENESS,
	DMAKIT_IOC_EDU_FACTORIAL, DMAKIT_IOC_EDU_RAISE_IRQ,
	DMAKIT_IOC_EDU_LOOPBACK, DMAKIT_IOC_FDC_INFO, DMAKIT_IOC_FDC_PEEK,
	/* DMAKIT_IOC_EDU_STRAY: excluded, see the top of the file */
};
#define NCMDS (sizeof(known_cmds) / sizeof(known_cmds[0]))

static const char *const cmd_name[] = {
	"DMAKIT_IOC_INFO", "DMAKIT_IOC_ALLOC", "DMAKIT_IOC_BUF_INFO",
	"DMAKIT_IOC_TRANSLATE", "DMAKIT_IOC_DEV_INFO", "DMAKIT_IOC_XFER",
	"DMAKIT_IOC_XFER_REAP", "DMAKIT_IOC_XFER_USER", "DMAKIT_IOC_EDU_LIVENESS",
	"DMAKIT_IOC_EDU_FACTORIAL", "DMAKIT_IOC_EDU_RAISE_IRQ",
	"DMAKIT_IOC_EDU_LOOPBACK", "DMAKIT_IOC_FDC_INFO", "DMAKIT_IOC_FDC_PEEK",
};

static int is_known(unsigned int cmd)
{
	for (unsigned int i = 0; i < NCMDS; i++)
		if (known_cmds[i] == cmd)
			return 1;
	/* not called here, but known: no ENOTTY expected */
	return cmd == DMAKIT_IOC_EDU_STRAY || cmd == DMAKIT_IOC_ALLOC_FOR ||
	       cmd == DMAKIT_IOC_SYNC;
}

/* a known ioctl with a valid-based, maybe mutated, argument */
static void do_ioctl(struct worker *w)
{
	unsigned int ci = rn(w, NCMDS), cmd = known_cmds[ci];
	unsigned char *arg = w->scratch + SCRATCH_LEN / 2 + rn(w, 64) * 8;
	struct fent on, f2 = { .fd = -1 };
	int want, pk = -1, real = 0;
	uintptr_t p;
	long ret;

	/* mostly the node the ioctl belongs to, sometimes any fd */
	switch (cmd) {
	case DMAKIT_IOC_INFO:
		want = FT_CTL;
		break;
	case DMAKIT_IOC_BUF_INFO: case DMAKIT_IOC_TRANSLATE:
		want = FT_BUF;
		break;
	case DMAKIT_IOC_FDC_INFO: case DMAKIT_IOC_FDC_PEEK:
		want = FT_FDC;
		break;
	case DMAKIT_IOC_ALLOC:
		do_alloc(w);
		return;
	default:
		want = FT_EDU;
	}
	if (chance(w, 8) || !pick_fd_locked(w, want, &on))
		if (!pick_fd_locked(w, -1, &on))
			return;
	memset(arg, 0, 512);

	switch (cmd) {
	case DMAKIT_IOC_TRANSLATE: {
		struct dmakit_translate *t = (void *)arg;

		pthread_mutex_lock(&ps.lock);
		for (int i = 0; i < ps.nmaps; i++)
			if (ps.maps[i].fd == on.fd && chance(w, 2)) {
				t->uaddr = ps.maps[i].addr +
					   rn(w, ps.maps[i].len / PAGE) * PAGE;
				break;
			}
		pthread_mutex_unlock(&ps.lock);
		if (!t->uaddr)
			t->offset = rn(w, on.size / PAGE + 1) * PAGE;
		t->count = chance(w, 8) ? DMAKIT_TRANSLATE_MAX : 1 + rn(w, 16);
		t->descs = (uintptr_t)w->xlate;
		if (mutate(w, t, f_translate) == 4)
			pk = -2;
		if (t->descs == (uintptr_t)w->xlate)
			pk = P_SCRATCH;
		break;
	}
	case DMAKIT_IOC_XFER: {
		struct dmakit_xfer *x = (void *)arg;

		x->dir = 1 + rn(w, 3);
		x->fd = any_buf_fd(w, &f2);
		x->len = 1 + rn(w, 128);
		if (chance(w, 8))
			x->len = 1 + rn(w, f2.size ? f2.size : 8192);
		if (x->dir == DMAKIT_DIR_COPY) {
			x->dst_fd = chance(w, 4) ? x->fd : any_buf_fd(w, &f2);
			x->dst_offset = x->dst_fd == x->fd ? 2048 : 0;
		} else {
			x->dev_offset = rn(w, window);
		}
		x->flags = chance(w, 4) ? DMAKIT_XFER_ASYNC : 0;
		if (chance(w, 4))
			x->flags |= DMAKIT_XFER_STAGED;
		x->user_data = rnd(w);
		mutate(w, x, f_xfer);
		if (x->len > 512 || !dma_ok(w))
			x->flags |= DMAKIT_XFER_MAP_ONLY;
		break;
	}
	case DMAKIT_IOC_XFER_REAP: {
		struct dmakit_xfer_reap *r = (void *)arg;

		/* waiting is safe: an outstanding request is small and runs */
		r->flags = chance(w, 4) ? DMAKIT_REAP_WAIT : 0;
		mutate(w, r, f_reap);
		break;
	}
	case DMAKIT_IOC_XFER_USER: {
		struct dmakit_xfer_user *x = (void *)arg;
		size_t total;

		real = dma_ok(w);
		x->dir = 1 + rn(w, 3);
		x->iov = make_iov(w, &x->iovcnt, &total, real);
		if (x->dir == DMAKIT_DIR_COPY) {
			struct iovec *d = (void *)(w->scratch + SCRATCH_LEN - 4096);

			d->iov_base = (void *)pick_ptr(w, total, NULL);
			d->iov_len = total;
			x->dst_iov = (uintptr_t)d;
			x->dst_iovcnt = 1;
		} else {
			x->dev_offset = total < window ? rn(w, window - total + 1) :
					rn(w, window);
		}
		x->flags = (uint32_t[]){ 0, DMAKIT_XFER_STAGED,
			DMAKIT_XFER_ZEROCOPY, DMAKIT_XFER_ASYNC }[rn(w, 4)];
		mutate(w, x, f_xuser);
		if (!real || total > 512 || x->iovcnt > 4 || x->dst_iovcnt > 1)
			x->flags |= DMAKIT_XFER_MAP_ONLY;
		break;
	}
	case DMAKIT_IOC_EDU_LIVENESS:
		*(uint32_t *)arg = rnd(w);
		break;
	case DMAKIT_IOC_EDU_FACTORIAL:
		*(uint32_t *)arg = rn(w, 20);
		mutate(w, arg, f_fact);
		/*
		 * edu multiplies n times on a QEMU thread: 2^32 steps take
		 * seconds of host CPU and end in ETIMEDOUT. Not fuzzed.
		 */
		*(uint32_t *)arg %= 100000;
		break;
	case DMAKIT_IOC_EDU_RAISE_IRQ:
		*(uint32_t *)arg = 1u << (9 + rn(w, 23));
		mutate(w, arg, f_raise);
		break;
	case DMAKIT_IOC_EDU_LOOPBACK: {
		struct dmakit_edu_loopback *l = (void *)arg;

		real = dma_ok(w);
		l->len = 1 + rn(w, real ? 512 : window);
		l->src = pick_ptr(w, l->len, NULL);
		l->dst = pick_ptr(w, l->len, NULL);
		mutate(w, l, f_loop);
		if (!real || l->len > 512) {
			/* something the kernel must refuse before the device */
			switch (rn(w, 5)) {
			case 0: l->len = 0; break;
			case 1: l->len = window + 1 + rn(w, 8192); break;
			case 2: l->flags |= 0x2 << rn(w, 30); break;
			case 3: l->pad = 1 + rn(w, 100); break;
			default: l->reserved[rn(w, 2)] = 1 + rnd(w) % 1000; break;
			}
		}
		break;
	}
	case DMAKIT_IOC_FDC_PEEK: {
		struct dmakit_fdc_peek *k = (void *)arg;

		k->len = 1 + rn(w, 9216);
		k->dst = pick_ptr(w, k->len, NULL);
		mutate(w, k, f_peek);
		break;
	}
	default:	/* INFO, BUF_INFO, DEV_INFO, FDC_INFO: out only */
		break;
	}

	p = (uintptr_t)arg;
	if (chance(w, 12)) {	/* the struct itself at a bad address */
		p = pick_ptr(w, _IOC_SIZE(cmd), NULL);
		pk = -2;
	}
	ret = rec(OP_IOCTL, ioctl(on.fd, cmd, p));
	w->st->cmd[ci]++;
	if (!ret)
		w->st->cmd_ok[ci]++;

	if (cmd == DMAKIT_IOC_TRANSLATE && ret == 0 && ps.unpriv && pk == P_SCRATCH) {
		struct dmakit_translate *t = (void *)arg;
		struct dmakit_page_desc *d = w->xlate;

		for (unsigned int i = 0; i < t->count && i < DMAKIT_TRANSLATE_MAX; i++)
			if (d[i].pfn || d[i].phys || d[i].kva || d[i].mapped_pfn)
				violation(w, V_TRANSLATE, "TRANSLATE showed pfn %#llx phys %#llx to uid 65534",
					  (unsigned long long)d[i].pfn,
					  (unsigned long long)d[i].phys);
	}
}

/* unknown numbers and wrong size/direction encodings, on any fd */
static void do_ioctl_weird(struct worker *w)
{
	static const unsigned long generic[] = {
		FIONREAD, FIONBIO, FIOASYNC, FIOCLEX, FIONCLEX, FIOQSIZE,
	};
	unsigned int cmd, base = known_cmds[rn(w, NCMDS)];
	struct fent on;
	long ret;

	if (!pick_fd_locked(w, -1, &on))
		return;
	switch (rn(w, 6)) {
	case 0:		/* right number, wrong size */
		cmd = _IOC(_IOC_DIR(base), DMAKIT_IOC_MAGIC, _IOC_NR(base),
			   (_IOC_SIZE(base) + (chance(w, 2) ? 1 : -1) *
			    (1 + rn(w, 8))) & _IOC_SIZEMASK);
		break;
	case 1:		/* right number, wrong direction */
		cmd = _IOC((_IOC_DIR(base) + 1 + rn(w, 3)) & 3, DMAKIT_IOC_MAGIC,
			   _IOC_NR(base), _IOC_SIZE(base));
		break;
	case 2:		/* unknown number of our magic */
		cmd = _IOC(rn(w, 4), DMAKIT_IOC_MAGIC, rn(w, 256), rn(w, 512));
		break;
	case 3:
		cmd = rnd(w);
		break;
	case 4:		/* the generic ones the VFS answers */
		cmd = generic[rn(w, sizeof(generic) / sizeof(generic[0]))];
		break;
	default:	/* another node's ioctl, argument anywhere */
		cmd = base;
		break;
	}
	if (cmd == DMAKIT_IOC_EDU_STRAY)
		return;
	if (cmd == base && rn(w, 2))	/* a known one: keep it harmless */
		cmd = DMAKIT_IOC_INFO;
	ret = rec(OP_IOCTL_WEIRD, ioctl(on.fd, cmd, pick_ptr(w, 512, NULL)));
	/* EBADF: a sibling thread closed the fd meanwhile */
	if (_IOC_TYPE(cmd) == DMAKIT_IOC_MAGIC && !is_known(cmd) &&
	    !(ret < 0 && (errno == ENOTTY || errno == EBADF)))
		violation(w, V_ENOTTY, "unknown ioctl %#x on fd type %d: %ld (%s), not ENOTTY",
			  cmd, on.type, ret, ret < 0 ? strerror(errno) : "ok");
}

static void do_open(struct worker *w)
{
	static const char *const nodes[] = {
		"/dev/dmakit", "/dev/dmakit-edu0", "/dev/dmakit-edu1",
		"/dev/dmakit-fd0",
	};
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY };
	int which = rn(w, 4), flags, fd;
	struct fent f = { 0 };

	flags = modes[rn(w, 3)];
	if (chance(w, 4))
		flags |= O_NONBLOCK;
	if (chance(w, 6))
		flags |= O_DIRECT;
	if (chance(w, 6))
		flags |= O_CLOEXEC;
	if (which == 3) {
		/* never writable: the host checks the floppy image */
		if (!ps.has_fdc)
			return;
		flags = O_RDONLY | (flags & ~O_ACCMODE);
		f.type = FT_FDC;
	} else {
		f.type = which ? FT_EDU : FT_CTL;
		f.edu = which - 1;
	}
	pthread_mutex_lock(&ps.lock);
	if (ps.nfds < MAX_FDS) {
		fd = rec(OP_OPEN, open(nodes[which], flags));
		if (fd >= 0) {
			f.fd = fd;
			f.rdonly = (flags & O_ACCMODE) == O_RDONLY;
			fd_add(&f);
		}
	}
	pthread_mutex_unlock(&ps.lock);
}

static void do_close(struct worker *w)
{
	struct fent f;

	pthread_mutex_lock(&ps.lock);
	if (chance(w, 16)) {
		rec(OP_CLOSE, close(200 + rn(w, 800)));	/* not open: EBADF */
	} else if (ps.nfds > 6 || chance(w, 4)) {
		if (pick_fd(w, -1, &f)) {
			rec(OP_CLOSE, close(f.fd));
			fd_del(f.fd);
		}
	}
	pthread_mutex_unlock(&ps.lock);
}

static void do_dup(struct worker *w)
{
	struct fent f, g;
	int fd;

	pthread_mutex_lock(&ps.lock);
	if (!pick_fd(w, -1, &f) || ps.nfds >= MAX_FDS) {
		pthread_mutex_unlock(&ps.lock);
		return;
	}
	switch (rn(w, 3)) {
	case 0:
		fd = rec(OP_DUP, dup(f.fd));
		break;
	case 1:
		fd = rec(OP_DUP, fcntl(f.fd, F_DUPFD_CLOEXEC, 100 + rn(w, 100)));
		break;
	default:	/* onto another of ours (closing it), or a free number */
		if (chance(w, 2) && pick_fd(w, -1, &g))
			fd = g.fd;
		else
			fd = 100 + rn(w, 100);
		fd = rec(OP_DUP, dup3(f.fd, fd, chance(w, 2) ? O_CLOEXEC : 0));
		if (fd >= 0)
			fd_del(fd);
		break;
	}
	if (fd >= 0) {
		f.fd = fd;
		if (fd_add(&f))
			close(fd);
	}
	pthread_mutex_unlock(&ps.lock);
}

static void do_mmap(struct worker *w)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
		PROT_WRITE, PROT_NONE, PROT_READ | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC, 0x10, PROT_GROWSDOWN | PROT_READ,
	};
	static const int types[] = {
		MAP_SHARED, MAP_SHARED, MAP_SHARED, MAP_PRIVATE,
		MAP_SHARED_VALIDATE, MAP_SHARED | MAP_POPULATE,
		MAP_SHARED | MAP_LOCKED, MAP_SHARED | MAP_NORESERVE,
		MAP_SHARED_VALIDATE | MAP_SYNC, MAP_PRIVATE | MAP_POPULATE,
		MAP_SHARED | MAP_ANONYMOUS, MAP_SHARED | MAP_32BIT,
	};
	struct fent f;
	int prot = prots[rn(w, sizeof(prots) / sizeof(prots[0]))];
	int flags = types[rn(w, sizeof(types) / sizeof(types[0]))];
	uint64_t len, off;
	uintptr_t addr = 0;
	void *p;

	pthread_mutex_lock(&ps.lock);
	if (!pick_fd(w, chance(w, 4) ? -1 : FT_BUF, &f))
		goto out;
	len = chance(w, 5) ? bval(w) : PAGE * (1 + rn(w, 4));
	if (f.size && chance(w, 4))
		len = (1 + rn(w, f.size / PAGE)) * PAGE;
	off = chance(w, 5) ? bval(w) & ~(PAGE - 1) :
	      f.size ? rn(w, f.size / PAGE + 1) * PAGE : 0;
	if (chance(w, 16))
		off = bval(w);	/* unaligned too */
	if (chance(w, 32))
		flags |= rnd(w) & 0x7fff0000 & ~MAP_FIXED_NOREPLACE;
	if (chance(w, 2)) {
		flags |= chance(w, 4) ? MAP_FIXED_NOREPLACE : MAP_FIXED;
		addr = arena_slot(w, len < ARENA_LEN / 2 ? len : PAGE);
	}
	/* MAP_FIXED replaces what is there: only inside the arena */
	if ((flags & MAP_FIXED) && !in_arena(addr, (len + PAGE - 1) & ~(PAGE - 1)))
		flags &= ~MAP_FIXED;
	if (f.type == FT_EDU && !ps.unpriv)
		prot &= ~PROT_WRITE;	/* exclusion: writable BAR0 as root */
	if ((flags & MAP_ANONYMOUS) && len > (4ul << 20))
		len = PAGE;	/* real memory once touched: keep it small */
	p = (void *)rec(OP_MMAP, (long)mmap((void *)addr, len, prot, flags, f.fd, off));
	if (p == MAP_FAILED)
		goto out;
	if (f.type == FT_BUF && (flags & MAP_TYPE) == MAP_PRIVATE &&
	    !(flags & MAP_ANONYMOUS))
		violation(w, V_PRIVATE, "MAP_PRIVATE of a buffer fd succeeded (len %#llx off %#llx)",
			  (unsigned long long)len, (unsigned long long)off);
	if (f.type == FT_EDU && ps.unpriv && !(flags & MAP_ANONYMOUS)) {
		violation(w, V_BAR, "uid 65534 mapped BAR0 of edu%d", f.edu);
		munmap(p, len);
		goto out;
	}
	map_add((uintptr_t)p, len, flags & MAP_ANONYMOUS ? MT_ANON :
		f.type == FT_EDU ? MT_BAR : MT_BUF, f.fd);
	if (buffer_bytes() > 2 * MEM_CAP) {	/* too much: give it back */
		rec(OP_MUNMAP, munmap(p, len));
		map_carve((uintptr_t)p, (len + PAGE - 1) & ~(PAGE - 1));
	}
out:
	pthread_mutex_unlock(&ps.lock);
}

static void do_munmap(struct worker *w)
{
	uintptr_t a;
	size_t len;

	pthread_mutex_lock(&ps.lock);
	pick_range(w, &a, &len);
	if (rec(OP_MUNMAP, munmap((void *)a, len)) == 0)
		map_carve(a & ~(PAGE - 1), (len + PAGE - 1) & ~(PAGE - 1));
	pthread_mutex_unlock(&ps.lock);
}

static void do_mprotect(struct worker *w)
{
	static const int prots[] = {
		PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE,
		PROT_EXEC, PROT_READ | PROT_EXEC, PROT_READ | PROT_GROWSUP,
		PROT_READ | PROT_GROWSDOWN, 0x40,
	};
	int prot = prots[rn(w, sizeof(prots) / sizeof(prots[0]))];
	uintptr_t a;
	size_t len;

	pthread_mutex_lock(&ps.lock);
	pick_range(w, &a, &len);
	if (!ps.unpriv && bar_in(a & ~(PAGE - 1), len + PAGE))
		prot &= ~PROT_WRITE;	/* exclusion: writable BAR0 as root */
	rec(OP_MPROTECT, mprotect((void *)a, len, prot));
	pthread_mutex_unlock(&ps.lock);
}

static void do_madvise(struct worker *w)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_DONTNEED, MADV_WILLNEED, MADV_REMOVE,
		MADV_DONTFORK, MADV_DOFORK, MADV_COLD, MADV_PAGEOUT,
		MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_FREE,
	};
	int adv = advice[rn(w, sizeof(advice) / sizeof(advice[0]))];
	uintptr_t a;
	size_t len;

	pthread_mutex_lock(&ps.lock);
	pick_range(w, &a, &len);
	if (adv == MADV_POPULATE_WRITE && !ps.unpriv && bar_in(a & ~(PAGE - 1), len + PAGE))
		adv = MADV_POPULATE_READ;
	/*
	 * Populating anonymous memory (the arena, grown or anonymous mappings)
	 * would eat the VM's RAM: only inside a mapping of a buffer or BAR.
	 */
	if (adv == MADV_POPULATE_READ || adv == MADV_POPULATE_WRITE) {
		struct ment *m = map_at(a);

		if (!m || m->type == MT_ANON || a + len > m->addr + m->len)
			adv = MADV_DONTNEED;
	}
	rec(OP_MADVISE, madvise((void *)a, len, adv));
	pthread_mutex_unlock(&ps.lock);
}

static void do_mremap(struct worker *w)
{
	uintptr_t a, na = 0;
	size_t len, nlen;
	struct ment *m, old;
	int flags;
	void *p;

	pthread_mutex_lock(&ps.lock);
	pick_range(w, &a, &len);
	m = map_at(a);
	old = m ? *m : (struct ment){ .type = MT_ANON, .fd = -1 };
	switch (rn(w, 4)) {
	case 0:
		nlen = len / 2;
		break;
	case 1:
		nlen = len + PAGE * (1 + rn(w, 16));
		break;
	case 2:
		nlen = bval(w);
		break;
	default:
		nlen = len;
	}
	/* anonymous memory is real memory once touched: keep it small */
	if (old.type == MT_ANON && nlen > (4ul << 20))
		nlen = len;
	switch (rn(w, 6)) {
	case 0:
		flags = 0;
		break;
	case 1:
		flags = MREMAP_MAYMOVE;
		break;
	case 2:
		flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
		break;
	case 3:
		flags = rnd(w) & ~(MREMAP_FIXED | MREMAP_MAYMOVE);
		break;
	default:
		flags = MREMAP_MAYMOVE | MREMAP_FIXED;
		na = arena_slot(w, nlen < ARENA_LEN / 2 ? nlen : PAGE);
		if (!in_arena(na, (nlen + PAGE - 1) & ~(PAGE - 1)))
			flags = MREMAP_MAYMOVE;
	}
	/* shrinking unmaps the tail: never beyond what is ours */
	if (!(nlen < len && !in_arena(a, len) && m &&
	      (a < m->addr || a + len > m->addr + m->len))) {
		p = (void *)rec(OP_MREMAP, (long)mremap((void *)a, len, nlen,
							 flags, (void *)na));
		if (p != MAP_FAILED) {
			if (!(flags & MREMAP_DONTUNMAP) && len)
				map_carve(a, (len + PAGE - 1) & ~(PAGE - 1));
			map_add((uintptr_t)p, nlen, old.type, old.fd);
		}
	}
	pthread_mutex_unlock(&ps.lock);
}

/* read or write a few bytes of one of our mappings; faults are expected */
static void do_touch(struct worker *w)
{
	volatile unsigned char *p;
	struct ment m;
	size_t n, i;
	int write, sig;

	pthread_mutex_lock(&ps.lock);
	if (!ps.nmaps) {
		pthread_mutex_unlock(&ps.lock);
		return;
	}
	m = ps.maps[rn(w, ps.nmaps)];
	n = 1 + rn(w, 64);
	p = (void *)(m.addr + (chance(w, 4) ? m.len - rn(w, 8) : rn(w, m.len)));
	/* never a write to BAR0 (registers), whoever we are */
	write = m.type != MT_BAR && chance(w, 2);
	if (p + n > (unsigned char *)m.addr + m.len)
		n = (unsigned char *)m.addr + m.len - p;
	w->st->op[OP_TOUCH]++;
	w->st->calls++;
	w->calls++;
	sig = sigsetjmp(w->jb, 1);
	if (!sig) {
		w->jmp_active = 1;
		for (i = 0; i < n; i++) {
			if (write)
				p[i] = (unsigned char)i;
			else
				(void)p[i];
		}
		w->jmp_active = 0;
	} else if (sig == SIGBUS) {
		w->st->bus++;
	} else {
		w->st->segv++;
	}
	pthread_mutex_unlock(&ps.lock);
}

/*
 * read/write/pread/pwrite/readv/writev: on a node they are DMA, so inside
 * the window only within the budget (else the position is the window's end:
 * nothing moves); on fd0 reads within the budget are whole sectors, other
 * lengths are odd (EINVAL); writes there are EBADF (opened O_RDONLY).
 */
static void do_rw(struct worker *w, int op)
{
	struct iovec *iov = (void *)(w->scratch + SCRATCH_LEN / 2 + 1024);
	int rd = op == OP_READ || op == OP_PREAD || op == OP_READV;
	int vec = op == OP_READV || op == OP_WRITEV;
	int pos = op == OP_PREAD || op == OP_PWRITE || chance(w, 4);
	unsigned int cnt = vec ? (chance(w, 8) ? bval(w) % 2048 : 1 + rn(w, 4)) : 1;
	int kinds[8], real = 0;
	struct fent f;
	off_t off = chance(w, 2) ? rn(w, 8192) : (off_t)bval(w);
	size_t len = 0;
	long ret;

	if (!pick_fd_locked(w, chance(w, 3) ? -1 : FT_BUF, &f))
		return;
	if (f.type == FT_EDU) {
		real = dma_ok(w);
		if (!real)
			off = chance(w, 2) ? window : -1 - rn(w, 100);
	}
	if (f.type == FT_FDC && rd && w->fdc_left > 0 && chance(w, 32)) {
		real = 1;
		w->fdc_left--;
		w->st->fdc_real++;
		off = rn(w, DMAKIT_FLOPPY_DISK_SIZE / 512) * 512;
	}
	for (unsigned int i = 0; i < cnt && i < 8; i++) {
		size_t l = chance(w, 2) ? rn(w, 8193) : bval(w);

		if (real)
			l = f.type == FT_FDC ? 512 : 1 + rn(w, 256);
		else if (f.type == FT_FDC)
			l |= 1;
		iov[i].iov_len = l;
		iov[i].iov_base = (void *)pick_ptr(w, l, &kinds[i]);
		len += l;
	}
	if (cnt > 8) {	/* too many: EINVAL (or past the end of scratch) */
		iov = (void *)(w->scratch + SCRATCH_LEN - 16 * rn(w, 4));
	}
	if (f.type == FT_EDU && !real && !pos && !vec) {
		/* read/write at the file position: move it past the window */
		rec(OP_LSEEK, lseek(f.fd, window, SEEK_SET));
	}
	switch (op) {
	case OP_READ:
		ret = pos ? pread(f.fd, iov[0].iov_base, iov[0].iov_len, off) :
		      read(f.fd, iov[0].iov_base, iov[0].iov_len);
		break;
	case OP_WRITE:
		ret = pos ? pwrite(f.fd, iov[0].iov_base, iov[0].iov_len, off) :
		      write(f.fd, iov[0].iov_base, iov[0].iov_len);
		break;
	case OP_PREAD:
		ret = pread(f.fd, iov[0].iov_base, iov[0].iov_len, off);
		break;
	case OP_PWRITE:
		ret = pwrite(f.fd, iov[0].iov_base, iov[0].iov_len, off);
		break;
	case OP_READV:
		if (f.type == FT_EDU && !real)
			ret = preadv(f.fd, iov, cnt, off);
		else
			ret = pos ? preadv(f.fd, iov, cnt, off) : readv(f.fd, iov, cnt);
		break;
	default:
		if (f.type == FT_EDU && !real)
			ret = pwritev(f.fd, iov, cnt, off);
		else
			ret = pos ? pwritev(f.fd, iov, cnt, off) : writev(f.fd, iov, cnt);
		break;
	}
	rec(op, ret);
	if (rd && !vec && ret > 0 && kinds[0] == P_KERNEL)
		violation(w, V_KREAD, "read into kernel address %p on fd type %d returned %ld",
			  iov[0].iov_base, f.type, ret);
}

/*
 * SIGUSR1 (a handler without SA_RESTART) to a thread of this process:
 * whatever it waits for in the kernel (the device lock, a transfer, a
 * reap, the factorial unit) ends with EINTR or restarts.
 */
static void on_usr1(int sig)
{
}

static void do_signal(struct worker *w)
{
	pid_t tid = ps.tids[rn(w, ps.ntids)];

	if (tid)
		rec(OP_SIGNAL, syscall(SYS_tgkill, getpid(), tid, SIGUSR1));
}

static void do_lseek(struct worker *w)
{
	struct fent f;

	if (pick_fd_locked(w, -1, &f))
		rec(OP_LSEEK, lseek(f.fd, chance(w, 2) ? rn(w, 8192) : (off_t)bval(w),
				    rn(w, 6)));
}

static void do_poll(struct worker *w)
{
	struct pollfd pfd[4];
	struct fent f;
	int n = 0;

	for (int i = 0; i < 4; i++)
		if (pick_fd_locked(w, -1, &f)) {
			pfd[n].fd = f.fd;
			pfd[n++].events = rnd(w);
		}
	rec(OP_POLL, poll(pfd, n, 0));
}

/*
 * A child of a multi-threaded process: only the calling thread exists, and
 * other threads may have held ps.lock or malloc's locks at fork time, so it
 * takes no lock and calls nothing that allocates: a few calls on the fds and
 * the arena it inherited, then _exit. It never starts a DMA.
 */
static void child(struct worker *w)
{
	unsigned char buf[256];
	int n = 1 + rn(w, 8);

	for (int i = 0; i < n; i++) {
		struct fent f = ps.nfds ? ps.fds[rn(w, ps.nfds)] : (struct fent){ -1 };

		switch (rn(w, 5)) {
		case 0:
			ioctl(f.fd, f.type == FT_BUF ? DMAKIT_IOC_BUF_INFO :
			      DMAKIT_IOC_INFO, buf);
			break;
		case 1:
			if (f.type == FT_BUF)
				pread(f.fd, buf, sizeof(buf), rn(w, 8192));
			break;
		case 2:
			munmap((void *)arena_slot(w, 16 * PAGE), PAGE * (1 + rn(w, 16)));
			break;
		case 3:
			if (f.type == FT_BUF) {
				void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, f.fd, 0);

				if (p != MAP_FAILED)
					munmap(p, PAGE);
			}
			break;
		default:
			close(f.fd);
		}
	}
	_exit(0);
}

static void do_fork(struct worker *w)
{
	int status;
	pid_t pid;

	w->st->forks++;
	pid = fork();
	if (pid == 0)
		child(w);	/* no rec(): the stats are shared memory */
	if (rec(OP_FORK, pid) < 0)
		return;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		w->st->child_bad++;
		violation(w, V_CHILD, "forked child ended with status %#x", status);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int total = 0, r;
	struct timespec t0, t1;
	unsigned char *m;

	self = w;
	/* guard | scratch | guard | ro | guard | none */
	m = mmap(NULL, SCRATCH_LEN + 5 * PAGE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	w->scratch = m + PAGE;
	mprotect(w->scratch, SCRATCH_LEN, PROT_READ | PROT_WRITE);
	w->ro = w->scratch + SCRATCH_LEN + PAGE;
	mprotect(w->ro, PAGE, PROT_READ);
	w->none = w->ro + 2 * PAGE;
	w->xlate = mmap(NULL, DMAKIT_TRANSLATE_MAX * sizeof(*w->xlate),
			PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (w->xlate == MAP_FAILED)
		return NULL;

	for (int i = 0; i < OP_MAX; i++)
		total += op_weight[i];
	ps.tids[w->tslot] = gettid();
	/* every mapping exists before the first call: see pick_ptr() */
	pthread_barrier_wait(&ps.start);
	while (w->calls < w->quota) {
		int op = 0;

		if (chance(w, 2000)) {
			do_fork(w);
			continue;
		}
		r = rn(w, total);
		while (r >= op_weight[op])
			r -= op_weight[op++];
		clock_gettime(CLOCK_MONOTONIC, &t0);
		switch (op) {
		case OP_OPEN: do_open(w); break;
		case OP_CLOSE: do_close(w); break;
		case OP_DUP: do_dup(w); break;
		case OP_ALLOC: do_alloc(w); break;
		case OP_IOCTL: do_ioctl(w); break;
		case OP_IOCTL_WEIRD: do_ioctl_weird(w); break;
		case OP_MMAP: do_mmap(w); break;
		case OP_MUNMAP: do_munmap(w); break;
		case OP_MREMAP: do_mremap(w); break;
		case OP_MPROTECT: do_mprotect(w); break;
		case OP_MADVISE: do_madvise(w); break;
		case OP_TOUCH: do_touch(w); break;
		case OP_LSEEK: do_lseek(w); break;
		case OP_POLL: do_poll(w); break;
		case OP_SIGNAL: do_signal(w); break;
		default: do_rw(w, op); break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		w->st->op_ns[op] += (t1.tv_sec - t0.tv_sec) * 1000000000ll +
				    t1.tv_nsec - t0.tv_nsec;
	}
	return NULL;
}

/* open the nodes every worker process starts with */
static void open_initial(void)
{
	struct fent f = { 0 };
	char node[32];

	f.type = FT_CTL;
	f.fd = open("/dev/dmakit", O_RDWR);
	if (f.fd >= 0)
		fd_add(&f);
	for (int i = 0; i < ps.nedu; i++) {
		snprintf(node, sizeof(node), "/dev/dmakit-edu%d", i);
		f.type = FT_EDU;
		f.edu = i;
		f.fd = open(node, O_RDWR);
		if (f.fd >= 0)
			fd_add(&f);
	}
}

static int drop_privileges(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -1;
	/* no way back, and no capability left */
	return setuid(0) == 0 ? -1 : 0;
}

static void worker_process(int p, int threads, uint64_t seed, uint64_t quota,
			   int dma, int unpriv, struct stats *st)
{
	struct worker *w = calloc(threads, sizeof(*w));
	pthread_t *tid = calloc(threads, sizeof(*tid));
	struct sigaction sa = { .sa_sigaction = on_fault,
				.sa_flags = SA_SIGINFO | SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0;
	sigaction(SIGUSR1, &sa, NULL);
	ps.ntids = threads;
	ps.arena = (uintptr_t)mmap(NULL, ARENA_LEN, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if ((void *)ps.arena == MAP_FAILED)
		_exit(3);
	open_initial();
	if (unpriv) {
		if (drop_privileges())
			_exit(4);
		ps.unpriv = 1;
	}
	pthread_barrier_init(&ps.start, NULL, threads);
	for (int t = 0; t < threads; t++) {
		struct worker *x = &w[t];

		x->index = p * threads + t;
		x->tslot = t;
		x->st = &st[x->index];
		x->rng = x->st->seed;
		x->st->unpriv = unpriv;
		x->quota = quota;
		x->dma_left = dma;
		x->fdc_left = 1;
		if (pthread_create(&tid[t], NULL, worker_main, x))
			_exit(5);
	}
	for (int t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	/* exit with everything open and mapped: the kernel cleans up */
	_exit(0);
}

/* ---- after the run ----------------------------------------------------- */

static int tap_n, tap_failed;

static void tap(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed++;
}

static void pattern(unsigned char *b, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = x;
	}
}

/* the device still moves data: loopback and a buffer round trip */
static int edu_works(int i, char *why, size_t whylen)
{
	static unsigned char src[4096], dst[4096];
	struct dmakit_edu_loopback l = { 0 };
	struct dmakit_alloc a = { .size = 8192, .kind = DMAKIT_KIND_PAGES };
	struct dmakit_xfer x = { 0 };
	char node[32];
	int fd, ok = 0;

	snprintf(node, sizeof(node), "/dev/dmakit-edu%d", i);
	fd = open(node, O_RDWR);
	if (fd < 0) {
		snprintf(why, whylen, "open %s: %s", node, strerror(errno));
		return 0;
	}
	pattern(src, window, 0xf00d + i);
	memset(dst, 0, sizeof(dst));
	l.src = (uintptr_t)src;
	l.dst = (uintptr_t)dst;
	l.len = window;
	if (ioctl(fd, DMAKIT_IOC_EDU_LOOPBACK, &l)) {
		snprintf(why, whylen, "loopback: %s", strerror(errno));
		goto out;
	}
	if (memcmp(src, dst, window)) {
		snprintf(why, whylen, "loopback: data differs");
		goto out;
	}
	/* buffer -> window -> the buffer's second page */
	if (ioctl(fd, DMAKIT_IOC_ALLOC, &a)) {
		snprintf(why, whylen, "alloc: %s", strerror(errno));
		goto out;
	}
	pattern(src, window, 0xbeef + i);
	memset(dst, 0, sizeof(dst));
	if (pwrite(a.fd, src, window, 0) != window) {
		snprintf(why, whylen, "pwrite buffer: %s", strerror(errno));
		goto out_buf;
	}
	x.fd = a.fd;
	x.len = window;
	x.dir = DMAKIT_DIR_TO_DEVICE;
	if (ioctl(fd, DMAKIT_IOC_XFER, &x) || x.result.status) {
		snprintf(why, whylen, "xfer to device: %s", strerror(errno));
		goto out_buf;
	}
	memset(&x, 0, sizeof(x));
	x.fd = a.fd;
	x.offset = 4096;
	x.len = window;
	x.dir = DMAKIT_DIR_FROM_DEVICE;
	if (ioctl(fd, DMAKIT_IOC_XFER, &x) || x.result.status) {
		snprintf(why, whylen, "xfer from device: %s", strerror(errno));
		goto out_buf;
	}
	if (pread(a.fd, dst, window, 4096) != window || memcmp(src, dst, window)) {
		snprintf(why, whylen, "xfer round trip: data differs");
		goto out_buf;
	}
	ok = 1;
out_buf:
	close(a.fd);
out:
	close(fd);
	return ok;
}

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/dmakit/refcnt", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- systematic fault injection (kernels with CONFIG_FAULT_INJECTION) ---- */

/*
 * Before the random phase, on a kernel with /proc/thread-self/fail-nth (the
 * debug lane): each call below runs again and again with its 1st, 2nd, ...
 * memory allocation failing (slab and page allocator, GFP_KERNEL included),
 * until the call makes fewer allocations than the one to fail. Every error
 * path of the module's allocations runs once. Afterwards no file of ours is
 * left holding the module; kmemleak (suite debug_checks) sees the rest.
 */
static int fnth = -1;

static void fnth_arm(unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(fnth, b, len, 0) != len)
		perror("fail-nth");
}

/* disarm; returns the allocations that were still to come (0: injected) */
static unsigned int fnth_disarm(void)
{
	char b[16] = { 0 };
	unsigned int left;

	if (pread(fnth, b, sizeof(b) - 1, 0) < 0)
		return 0;
	left = strtoul(b, NULL, 0);
	if (pwrite(fnth, "0", 1, 0) != 1)
		perror("fail-nth");
	return left;
}

/* write a debugfs knob; returns its old value in @old (if given) */
static void knob(const char *path, const char *val, char *old, size_t len)
{
	int fd = open(path, O_RDWR);
	ssize_t n;

	if (fd < 0)
		return;
	if (old) {
		n = read(fd, old, len - 1);
		old[n > 0 ? n : 0] = 0;
		old[strcspn(old, "\n")] = 0;
	}
	if (write(fd, val, strlen(val)) < 0)
		perror(path);
	close(fd);
}

enum fscen {
	FS_OPEN_CTL, FS_OPEN_EDU, FS_ALLOC_CONTIG, FS_ALLOC_PAGES,
	FS_ALLOC_VMALLOC, FS_ALLOC_BIG, FS_ALLOC_COHERENT, FS_MMAP_CONTIG,
	FS_MMAP_PAGES, FS_MMAP_VMALLOC, FS_MMAP_COHERENT, FS_TRANSLATE,
	FS_XFER_MAP_PAGES, FS_XFER_MAP_CONTIG, FS_XFER_MAP_VMALLOC,
	FS_XFER_MAP_COPY, FS_XUSER_MAP_COPY, FS_XUSER_MAP_PIN,
	FS_XUSER_MAP_COPYDIR, FS_XFER_REAL, FS_XFER_ASYNC, FS_LOOPBACK,
	FS_NODE_READ, FS_MAX
};

static const char *const fscen_name[FS_MAX] = {
	"open /dev/dmakit", "open edu0", "alloc contig", "alloc pages",
	"alloc vmalloc", "alloc pages 1 MiB + 1", "alloc coherent (edu0)",
	"mmap+populate contig", "mmap+populate pages", "mmap+populate vmalloc",
	"mmap+populate coherent", "translate 3 pages",
	"xfer map-only pages", "xfer map-only contig", "xfer map-only vmalloc",
	"xfer map-only copy", "xfer_user map-only copied", "xfer_user map-only pinned",
	"xfer_user map-only copy dir", "xfer to device (DMA)",
	"xfer async + reap (DMA)", "loopback (DMA)", "read of edu0 (DMA)",
};

/*
 * Calls that create DMA mappings (or coherent memory): DMA-API debug keeps
 * books on them with allocations of its own, and one that fails disables
 * it for the rest of the boot ("DMA-API: cacheline tracking ENOMEM,
 * dma-debug disabled"), blinding the checks of every later suite. Where
 * DMA-API debug is on they run only with --fault-injection 2.
 */
static int fs_maps_dma(int sc)
{
	return sc == FS_ALLOC_COHERENT ||
	       (sc >= FS_XFER_MAP_PAGES && sc <= FS_NODE_READ);
}

/* 1: DMA-API debug on, 0: off or disabled, -1: not built in */
static int dma_debug_state(void)
{
	char b[8] = "";
	int fd = open("/sys/kernel/debug/dma-api/disabled", O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, b, sizeof(b) - 1) < 0)
		b[0] = 0;
	close(fd);
	return b[0] == 'N';
}

static int fs_alloc(int on, uint32_t kind, uint64_t size)
{
	struct dmakit_alloc a = { .size = size, .kind = kind };

	return ioctl(on, DMAKIT_IOC_ALLOC, &a) ? -1 : a.fd;
}

/* one run of scenario @sc with the @n-th allocation failing; -1: stop */
static long fs_run(int sc, unsigned int n, int ctl, int edu, int *err,
		   unsigned int *left)
{
	static const uint32_t kinds[] = { DMAKIT_KIND_CONTIG, DMAKIT_KIND_PAGES,
		DMAKIT_KIND_VMALLOC, DMAKIT_KIND_COHERENT };
	static unsigned char mem[3 * 4096] __attribute__((aligned(4096)));
	struct dmakit_xfer x = { .dir = DMAKIT_DIR_TO_DEVICE, .len = 4095,
				 .flags = DMAKIT_XFER_MAP_ONLY };
	struct dmakit_xfer_user xu = { .iovcnt = 1, .dir = DMAKIT_DIR_TO_DEVICE,
				       .flags = DMAKIT_XFER_MAP_ONLY };
	struct dmakit_edu_loopback lb = { .len = 64 };
	struct dmakit_page_desc d[3];
	struct dmakit_translate t = { .count = 3, .descs = (uintptr_t)d };
	struct dmakit_xfer_reap r = { 0 };
	struct iovec iov = { mem, 1000 }, iov2 = { mem + 4096, 1000 };
	int b = -1, b2 = -1;
	void *m = MAP_FAILED;
	long ret = 0;

	*err = 0;
	switch (sc) {
	case FS_ALLOC_BIG:
	case FS_OPEN_CTL: case FS_OPEN_EDU: case FS_ALLOC_CONTIG:
	case FS_ALLOC_PAGES: case FS_ALLOC_VMALLOC: case FS_ALLOC_COHERENT:
	case FS_XUSER_MAP_COPY: case FS_XUSER_MAP_PIN: case FS_XUSER_MAP_COPYDIR:
	case FS_LOOPBACK: case FS_NODE_READ:
		break;
	case FS_MMAP_CONTIG: case FS_MMAP_PAGES: case FS_MMAP_VMALLOC:
	case FS_MMAP_COHERENT:
		b = fs_alloc(edu, kinds[sc - FS_MMAP_CONTIG], 3 * PAGE);
		break;
	case FS_TRANSLATE:
		b = fs_alloc(ctl, DMAKIT_KIND_PAGES, 3 * PAGE);
		m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
		if (m == MAP_FAILED)
			goto out;
		memset(m, 1, 3 * PAGE);
		t.uaddr = (uintptr_t)m;
		break;
	case FS_XFER_MAP_COPY:
		b2 = fs_alloc(ctl, DMAKIT_KIND_PAGES, 3 * PAGE);
		x.dst_fd = b2;
		x.dir = DMAKIT_DIR_COPY;
		x.len = 3 * PAGE;
		/* fall through */
	case FS_XFER_MAP_PAGES: case FS_XFER_MAP_CONTIG: case FS_XFER_MAP_VMALLOC:
		b = fs_alloc(ctl, sc == FS_XFER_MAP_CONTIG ? DMAKIT_KIND_CONTIG :
			     sc == FS_XFER_MAP_VMALLOC ? DMAKIT_KIND_VMALLOC :
			     DMAKIT_KIND_PAGES, 3 * PAGE);
		x.fd = b;
		break;
	case FS_XFER_REAL: case FS_XFER_ASYNC:
		b = fs_alloc(ctl, DMAKIT_KIND_PAGES, PAGE);
		x.fd = b;
		x.len = 64;
		x.flags = sc == FS_XFER_ASYNC ? DMAKIT_XFER_ASYNC : 0;
		break;
	}
	if (((sc >= FS_MMAP_CONTIG && sc <= FS_XFER_MAP_COPY) ||
	     sc == FS_XFER_REAL || sc == FS_XFER_ASYNC) &&
	    (b < 0 || (sc == FS_XFER_MAP_COPY && b2 < 0))) {
		ret = -2;	/* setup failed: report, stop */
		goto out;
	}

	fnth_arm(n);
	switch (sc) {
	case FS_OPEN_CTL:
		ret = b = open("/dev/dmakit", O_RDWR);
		break;
	case FS_OPEN_EDU:
		ret = b = open("/dev/dmakit-edu0", O_RDWR);
		break;
	case FS_ALLOC_CONTIG: case FS_ALLOC_PAGES: case FS_ALLOC_VMALLOC:
		ret = b = fs_alloc(ctl, kinds[sc - FS_ALLOC_CONTIG], 3 * PAGE);
		break;
	case FS_ALLOC_BIG:
		ret = b = fs_alloc(ctl, DMAKIT_KIND_PAGES, (1 << 20) + 1);
		break;
	case FS_ALLOC_COHERENT:
		ret = b = fs_alloc(edu, DMAKIT_KIND_COHERENT, 3 * PAGE);
		break;
	case FS_MMAP_CONTIG: case FS_MMAP_PAGES: case FS_MMAP_VMALLOC:
	case FS_MMAP_COHERENT:
		m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, b, 0);
		ret = m == MAP_FAILED ? -1 : 0;
		break;
	case FS_TRANSLATE:
		ret = ioctl(b, DMAKIT_IOC_TRANSLATE, &t);
		break;
	case FS_XFER_MAP_PAGES: case FS_XFER_MAP_CONTIG: case FS_XFER_MAP_VMALLOC:
	case FS_XFER_MAP_COPY: case FS_XFER_REAL: case FS_XFER_ASYNC:
		ret = ioctl(edu, DMAKIT_IOC_XFER, &x);
		break;
	case FS_XUSER_MAP_COPY: case FS_XUSER_MAP_PIN: case FS_XUSER_MAP_COPYDIR:
		iov.iov_len = sc == FS_XUSER_MAP_PIN ? 4095 : 1000;
		xu.iov = (uintptr_t)&iov;
		if (sc == FS_XUSER_MAP_PIN)
			xu.flags |= DMAKIT_XFER_ZEROCOPY;
		if (sc == FS_XUSER_MAP_COPYDIR) {
			xu.dir = DMAKIT_DIR_COPY;
			xu.dst_iov = (uintptr_t)&iov2;
			xu.dst_iovcnt = 1;
		}
		ret = ioctl(edu, DMAKIT_IOC_XFER_USER, &xu);
		break;
	case FS_LOOPBACK:
		lb.src = (uintptr_t)mem;
		lb.dst = (uintptr_t)mem + 4096;
		ret = ioctl(edu, DMAKIT_IOC_EDU_LOOPBACK, &lb);
		break;
	case FS_NODE_READ:
		ret = pread(edu, mem, 64, 0);
		break;
	}
	*err = ret < 0 ? errno : 0;
	*left = fnth_disarm();
	/* the request ends by itself: reap it within 10 s */
	for (int i = 0; sc == FS_XFER_ASYNC && ret == 0; i++) {
		if (!ioctl(edu, DMAKIT_IOC_XFER_REAP, &r))
			break;
		if (errno != EAGAIN || i == 1000) {
			ret = -3;
			break;
		}
		usleep(10000);
	}
out:
	if (m != MAP_FAILED)
		munmap(m, 3 * PAGE);
	if (b >= 0)
		close(b);
	if (b2 >= 0)
		close(b2);
	return ret;
}

static void fault_injection_phase(int level)
{
	int dma_debug = dma_debug_state();
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	char old[6][32];
	unsigned int total = 0, bad = 0, calls = 0;
	int ctl, edu, err;
	double t0 = now();

	fnth = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fnth < 0) {
		tap(1, "fault injection: every allocation of each call fails in turn "
		    "# SKIP no /proc/thread-self/fail-nth (kernel without "
		    "CONFIG_FAULT_INJECTION)");
		return;
	}
	for (int k = 0; k < 6; k++)
		knob(knobs[k][0], knobs[k][1], old[k], sizeof(old[k]));
	ctl = open("/dev/dmakit", O_RDWR);
	edu = open("/dev/dmakit-edu0", O_RDWR);
	for (int sc = 0; sc < FS_MAX; sc++) {
		unsigned int n, left = 0, injected = 0;
		char seen[128] = "";

		if (fs_maps_dma(sc) && dma_debug == 1 && level < 2) {
			printf("# fault injection: %-28s skipped: maps for DMA, and "
			       "DMA-API debug is on (--fault-injection 2 runs it)\n",
			       fscen_name[sc]);
			continue;
		}
		for (n = 1; n <= 400; n++) {
			long ret = fs_run(sc, n, ctl, edu, &err, &left);

			calls++;
			if (ret == -2 || ret == -3) {
				bad++;
				printf("# fault injection: %s: %s failed (%s)\n",
				       fscen_name[sc], ret == -2 ? "setup" : "reap",
				       strerror(errno));
				break;
			}
			if (left)	/* fewer allocations than n: done */
				break;
			injected++;
			if (err && !strstr(seen, strerrorname_np(err) ?: "?") &&
			    strlen(seen) < 100) {
				strcat(seen, " ");
				strcat(seen, strerrorname_np(err) ?: "?");
			}
		}
		total += injected;
		printf("# fault injection: %-28s %3u allocations failed in turn;"
		       " errors:%s\n", fscen_name[sc], injected, *seen ? seen : " none");
	}
	close(edu);
	close(ctl);
	for (int k = 0; k < 6; k++)
		if (*old[k])
			knob(knobs[k][0], old[k], NULL, 0);
	close(fnth);
	tap(!bad, "fault injection: %u calls, %u allocations failed in turn, "
	    "no setup failure (%.1f s)", calls, total, now() - t0);
	tap(module_refcnt() == 0,
	    "fault injection: no file left holding the module (refcnt %ld)",
	    module_refcnt());
	if (dma_debug == 1)
		tap(dma_debug_state() == 1,
		    "fault injection: DMA-API debug still enabled afterwards");
}

/* MemAvailable in MiB, -1 if unknown */
static long mem_available(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

static uint64_t default_seed(void)
{
	const char *s = getenv("DMAKIT_FUZZ_SEED");
	const char *lane = getenv("DMAKIT_LANE");
	char key[96];
	uint64_t h = 0xcbf29ce484222325ull;

	if (s && *s)
		return strtoull(s, NULL, 0);
	snprintf(key, sizeof(key), "dmakit-fuzz:%s", lane ? lane : "");
	for (const char *c = key; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
	return h;
}

static int nodes_present(int nedu)
{
	char node[32];

	if (access("/dev/dmakit", F_OK))
		return 0;
	for (int i = 0; i < nedu; i++) {
		snprintf(node, sizeof(node), "/dev/dmakit-edu%d", i);
		if (access(node, F_OK))
			return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char *calls_env = getenv("DMAKIT_FUZZ_CALLS");
	uint64_t seed = default_seed();
	uint64_t calls = calls_env && *calls_env ? strtoull(calls_env, NULL, 0) : 100000;
	int procs = 3, threads = 3, dma = 4, nw, ok_exit = 1, timeout = 300;
	int fault_injection = 1, only = -1, unpriv_proc, only_unpriv = 0;
	uint64_t only_seed = 0;
	long avail, min_avail = -1, avail0;
	int dma_debug0;
	uint64_t tot[OP_MAX] = { 0 }, tot_ok[OP_MAX] = { 0 }, cmd[16] = { 0 };
	uint64_t tot_ns[OP_MAX] = { 0 }, vk[V_MAX] = { 0 };
	uint64_t cmd_ok[16] = { 0 }, err[NERR + 1] = { 0 }, sum = 0;
	uint64_t segv = 0, bus = 0, dmas = 0, fdcs = 0, forks = 0, bad = 0, viol = 0;
	const char *first_viol = NULL;
	struct stats *st;
	pid_t *pids;
	double t0, t1, t_start;
	char why[160];
	int edu_count;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "0";

		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(v, NULL, 0);
		else if (!strcmp(argv[i], "--calls"))
			calls = strtoull(v, NULL, 0);
		else if (!strcmp(argv[i], "--procs"))
			procs = atoi(v);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(v);
		else if (!strcmp(argv[i], "--dma"))
			dma = atoi(v);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atoi(v);
		else if (!strcmp(argv[i], "--fault-injection"))
			fault_injection = atoi(v);
		else if (!strcmp(argv[i], "--only"))
			only = atoi(v);
		else {
			fprintf(stderr, "usage: %s [--seed S] [--calls N] "
				"[--procs P] [--threads T] [--dma D] [--timeout S] "
				"[--fault-injection 0|1] [--only W]\n", argv[0]);
			return 2;
		}
		i++;
	}
	if (procs < 1 || threads < 1 || procs > 16 || threads > 16)
		return 2;
	nw = procs * threads;
	unpriv_proc = procs > 1 ? procs - 1 : -1;
	edu_count = getenv("DMAKIT_EDU_COUNT") ? atoi(getenv("DMAKIT_EDU_COUNT")) : 2;
	ps.nedu = edu_count;
	ps.has_fdc = !access("/dev/dmakit-fd0", F_OK);
	mallopt(M_ARENA_MAX, 1);	/* no thread arenas mapped mid-run */
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("TAP version 13\n");
	printf("# fuzz: seed %#llx (%s), %llu calls, %d processes x %d threads, "
	       "at most %d DMA calls per worker\n", (unsigned long long)seed,
	       getenv("DMAKIT_FUZZ_SEED") && *getenv("DMAKIT_FUZZ_SEED") ?
	       "DMAKIT_FUZZ_SEED" : "fixed per lane: FNV-1a of dmakit-fuzz:$DMAKIT_LANE",
	       (unsigned long long)calls, procs, threads, dma);
	printf("# reproduce: DMAKIT_FUZZ_SEED=%#llx DMAKIT_FUZZ_CALLS=%llu "
	       "(or fuzz --seed %#llx --calls %llu --procs %d --threads %d; "
	       "one worker's stream alone: add --only W)\n",
	       (unsigned long long)seed, (unsigned long long)calls,
	       (unsigned long long)seed, (unsigned long long)calls, procs, threads);
	printf("# excluded: DMAKIT_IOC_EDU_STRAY (deliberate stray DMA); writable BAR0 "
	       "mappings as root (edu's DMA registers reach any memory); writes to "
	       "module parameters; writes to /dev/dmakit-fd0 (opened O_RDONLY only: "
	       "the host checks the floppy image)\n");
	printf("# /dev/dmakit-fd0: %s; edu devices: %d; unprivileged (uid 65534) "
	       "worker process: %s\n", ps.has_fdc ? "fuzzed read-only" : "absent",
	       edu_count, unpriv_proc >= 0 ? "the last one" : "none");

	if (only >= nw)
		return 2;
	if (only >= 0) {
		/* worker W's stream alone, as it was in the P x T layout */
		only_seed = mix64(seed + 0x9e3779b97f4a7c15ull * (only + 1));
		only_unpriv = only / threads == unpriv_proc;
		calls = calls / nw + (only == 0 ? calls % nw : 0);
		procs = threads = nw = 1;
		unpriv_proc = only_unpriv ? 0 : -1;
	}
	if (only >= 0)
		printf("# --only %d: worker %d's stream alone (%llu calls)\n", only,
		       only, (unsigned long long)calls);

	/* stats in shared memory, guard pages around it */
	st = mmap(NULL, nw * sizeof(*st) + 2 * PAGE, PROT_NONE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return 1;
	st = (void *)((char *)st + PAGE);
	mprotect(st, nw * sizeof(*st), PROT_READ | PROT_WRITE);
	memset(st, 0, nw * sizeof(*st));
	for (int i = 0; i < nw; i++) {
		st[i].seed = only >= 0 ? only_seed :
			     mix64(seed + 0x9e3779b97f4a7c15ull * (i + 1));
		printf("# worker %d (process %d thread %d%s): seed %#llx\n",
		       only >= 0 ? only : i, i / threads, i % threads,
		       i / threads == unpriv_proc ? ", uid 65534" : "",
		       (unsigned long long)st[i].seed);
	}

	t_start = now();
	dma_debug0 = dma_debug_state();
	if (fault_injection)
		fault_injection_phase(fault_injection);

	avail0 = mem_available();
	t0 = now();
	pids = calloc(procs, sizeof(*pids));
	for (int p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0)
			worker_process(p, threads, seed,
				       calls / nw + (p == 0 ? calls % nw : 0),
				       dma, p == unpriv_proc, st);
		if (pids[p] < 0) {
			tap(0, "fork worker process %d: %s", p, strerror(errno));
			return 1;
		}
	}
	for (int left = procs; left;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			for (int p = 0; p < procs; p++)
				if (pids[p] == pid) {
					left--;
					if (!WIFEXITED(status) || WEXITSTATUS(status)) {
						ok_exit = 0;
						printf("# worker process %d: %s %d\n", p,
						       WIFSIGNALED(status) ? "killed by signal" :
						       "exit status",
						       WIFSIGNALED(status) ? WTERMSIG(status) :
						       WEXITSTATUS(status));
					}
				}
			continue;
		}
		avail = mem_available();
		if (avail >= 0 && (min_avail < 0 || avail < min_avail))
			min_avail = avail;
		if (now() - t0 > timeout) {
			printf("# workers still running after %d s: killing them "
			       "(a hang: see the console for blocked tasks)\n", timeout);
			for (int p = 0; p < procs; p++)
				kill(pids[p], SIGKILL);
			ok_exit = 0;
			timeout = 1 << 30;
		}
		usleep(20000);
	}
	t1 = now();

	for (int i = 0; i < nw; i++) {
		for (int o = 0; o < OP_MAX; o++) {
			tot[o] += st[i].op[o];
			tot_ok[o] += st[i].op_ok[o];
			tot_ns[o] += st[i].op_ns[o];
		}
		for (unsigned int c = 0; c < NCMDS; c++) {
			cmd[c] += st[i].cmd[c];
			cmd_ok[c] += st[i].cmd_ok[c];
		}
		for (int e = 0; e <= NERR; e++)
			err[e] += st[i].err[e];
		sum += st[i].calls;
		segv += st[i].segv;
		bus += st[i].bus;
		dmas += st[i].dma_real;
		fdcs += st[i].fdc_real;
		forks += st[i].forks;
		bad += st[i].child_bad;
		viol += st[i].violations;
		for (int v = 0; v < V_MAX; v++)
			vk[v] += st[i].vkind[v];
		if (st[i].violations && !first_viol)
			first_viol = st[i].violation;
		if (st[i].violations)
			printf("# worker %d: %llu violations, first: %s\n", i,
			       (unsigned long long)st[i].violations, st[i].violation);
	}
	printf("# %llu calls in %.1f s (%.0f/s); per call type: calls (succeeded), "
	       "thread-seconds spent:\n",
	       (unsigned long long)sum, t1 - t0, sum / (t1 - t0));
	for (int o = 0; o < OP_MAX; o++)
		printf("#   %-14s %7llu (%llu) %.1f s\n", op_name[o],
		       (unsigned long long)tot[o], (unsigned long long)tot_ok[o],
		       tot_ns[o] / 1e9);
	printf("# per ioctl (succeeded):\n");
	for (unsigned int c = 0; c < NCMDS; c++)
		printf("#   %-26s %7llu (%llu)\n", cmd_name[c],
		       (unsigned long long)cmd[c], (unsigned long long)cmd_ok[c]);
	printf("# results (errno histogram):\n");
	for (int e = 0; e <= NERR; e++)
		if (err[e])
			printf("#   %-14s %llu\n", e == 0 ? "success" : e == NERR ? "other" :
			       strerrorname_np(e) ? strerrorname_np(e) : "?",
			       (unsigned long long)err[e]);
	printf("# MemAvailable: %ld MiB before the run, %ld MiB at the lowest\n",
	       avail0, min_avail);
	printf("# signals caught: SIGSEGV %llu, SIGBUS %llu; forks %llu; calls that "
	       "could start the device %llu, floppy reads %llu\n",
	       (unsigned long long)segv, (unsigned long long)bus,
	       (unsigned long long)forks, (unsigned long long)dmas,
	       (unsigned long long)fdcs);

	tap(ok_exit, "all %d worker processes exited normally", procs);
	tap(sum >= calls, "%llu calls made (asked: %llu)", (unsigned long long)sum,
	    (unsigned long long)calls);
	for (int v = 0; v < V_MAX; v++)
		printf("# oracle \"%s\": %llu violations\n", vkind_name[v],
		       (unsigned long long)vk[v]);
	tap(!viol, "no oracle violation (%llu%s%s)", (unsigned long long)viol,
	    first_viol ? "; first: " : "", first_viol ? first_viol : "");
	tap(!bad, "forked children exited normally (%llu forks, %llu not)",
	    (unsigned long long)forks, (unsigned long long)bad);
	for (int i = 0; i < edu_count; i++) {
		int ok = edu_works(i, why, sizeof(why));

		tap(ok, "edu%d moves data byte for byte after the run%s%s", i,
		    ok ? "" : ": ", ok ? "" : why);
	}
	if (dma_debug0 == 1)
		tap(dma_debug_state() == 1, "DMA-API debug still enabled after the run");
	tap(module_refcnt() == 0, "module reference count back to 0 (%ld)",
	    module_refcnt());
	{
		int rm = system("rmmod dmakit");
		int ins = system("insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS");
		int present = 0;

		for (int i = 0; i < 100 && !(present = nodes_present(edu_count)); i++)
			usleep(20000);
		tap(rm == 0, "rmmod dmakit after the run");
		tap(ins == 0 && present, "insmod again: /dev/dmakit and %d edu nodes back",
		    edu_count);
		int ok = edu_works(0, why, sizeof(why));

		tap(ok, "edu0 moves data after the reload%s%s", ok ? "" : ": ",
		    ok ? "" : why);
	}
	printf("# fuzz wall time: %.1f s (random calls %.1f s)\n", now() - t_start,
	       t1 - t0);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
