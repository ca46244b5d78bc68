// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: STRESS_PROCS processes x STRESS_THREADS threads do, at
 * random, for DMAKIT_STRESS_SECONDS (default 12): synchronous and
 * asynchronous (ASYNC + poll + REAP) round trips through the window of
 * both edu devices with buffers of every kind, COPYs, direct I/O on the
 * device nodes, mmap/munmap of buffers written through the mapping and
 * read back with read(), buffer churn (ALLOC/close) and TRANSLATE. Every
 * transfer is checked byte for byte, with guard bytes around the target.
 *
 * The window is shared per device, so round trips must not overlap:
 *   [0, COPY_AREA)            COPYs of at most COPY_AREA bytes; a COPY is
 *                             one request, whose segments run back to back
 *                             (one request in flight per device), so two
 *                             COPYs never mix their chunks;
 *   COPY_AREA + t * REGION    thread t's own region for its TO_DEVICE ->
 *                             FROM_DEVICE round trips and node I/O.
 * A COPY longer than COPY_AREA uses the whole window: it takes the
 * device's lock (a process-shared rwlock, writer-preferring) exclusively;
 * round trips take it shared.
 *
 * Lockdep, KASAN and DMA-API debug judge the kernel side on the debug lane
 * (the host's splat scanner).
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "dmakit_test.h"

#define PAGE		4096u
#define WINDOW		DMAKIT_EDU_WINDOW_MAX
#define STRESS_PROCS	3
#define STRESS_THREADS	3
#define NTHREADS	(STRESS_PROCS * STRESS_THREADS)
#define COPY_AREA	1024u
#define REGION		((WINDOW - COPY_AREA) / NTHREADS)	/* 341 */
#define LONG_COPY_MAX	(2 * WINDOW + 700)
#define POOL_SIZE	(16 * PAGE)
#define GUARD_LEN	32
#define GUARD		0xa5
#define NDEV		2

enum op {
	OP_SYNC_RT, OP_ASYNC_RT, OP_COPY, OP_LONG_COPY, OP_DIO, OP_MMAP,
	OP_CHURN, OP_TRANSLATE, NOPS
};

static const char *const op_name[NOPS] = {
	"sync round trip", "async round trip", "copy", "long copy (whole window)",
	"node read/write", "mmap write, read back", "buffer alloc/close",
	"translate",
};

static const char *const kind_name[] = {
	"", "contig", "pages", "vmalloc", "coherent"
};

/* shared by every process (MAP_SHARED anonymous, created before fork) */
struct shared {
	pthread_rwlock_t window[NDEV];
	uint64_t ops[NOPS];
	uint64_t fails[NOPS];
	uint64_t dma_bytes;
	uint64_t staged;
	uint64_t odirect;
	uint64_t setup_failures;	/* threads that could not start */
	int failures_printed;
};

static struct shared *sh;

struct worker {
	int t;			/* 0..NTHREADS-1 */
	uint32_t rng;
	double deadline;
	int dev[NDEV];		/* this thread's own opens: its own client */
	int dio[NDEV];		/* the same with O_DIRECT */
	/* pool: [set][kind], kinds 1..3 from /dev/dmakit; coherent per device */
	int pool[2][4];
	int coh[2][NDEV];
	unsigned char *a, *b;	/* scratch, POOL_SIZE + 2 * GUARD_LEN */
};

static uint32_t rnd(struct worker *w, uint32_t n)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 17;
	w->rng ^= w->rng << 5;
	return n ? w->rng % n : 0;
}

static void count(enum op op, int ok, uint64_t bytes)
{
	__atomic_add_fetch(&sh->ops[op], 1, __ATOMIC_RELAXED);
	if (!ok)
		__atomic_add_fetch(&sh->fails[op], 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&sh->dma_bytes, bytes, __ATOMIC_RELAXED);
}

/* the first few failures are described (%m: errno); all are counted */
static int fail(struct worker *w, enum op op, const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	if (__atomic_add_fetch(&sh->failures_printed, 1, __ATOMIC_RELAXED) <= 10) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		printf("# thread %d, %s: %s\n", w->t, op_name[op], msg);
		fflush(stdout);
	}
	return 0;
}

/* a pool buffer of @kind from @set; coherent ones belong to device @d */
static int pool_fd(struct worker *w, int set, uint32_t kind, int d)
{
	return kind == DMAKIT_KIND_COHERENT ? w->coh[set][d] : w->pool[set][kind];
}

static int alloc_on(int node, uint64_t size, uint32_t kind)
{
	struct dmakit_alloc a = { .size = size, .kind = kind };

	if (kind != DMAKIT_KIND_COHERENT)
		return buf_alloc(size, kind, 0, NULL);
	return ioctl(node, DMAKIT_IOC_ALLOC, &a) ? -errno : a.fd;
}

/*
 * Prepare a target: GUARD bytes over [@off - GUARD_LEN, @off + @len +
 * GUARD_LEN) of buffer @fd (clipped to the buffer); returns that range.
 */
static int guard_target(struct worker *w, int fd, uint64_t off, uint64_t len,
			uint64_t *g_off, uint64_t *g_len)
{
	uint64_t lo = off > GUARD_LEN ? off - GUARD_LEN : 0;
	uint64_t hi = off + len + GUARD_LEN;

	if (hi > POOL_SIZE)
		hi = POOL_SIZE;
	*g_off = lo;
	*g_len = hi - lo;
	memset(w->b, GUARD, *g_len);
	return pwrite(fd, w->b, *g_len, lo) == (ssize_t)*g_len ? 0 : -1;
}

/*
 * The target holds @want (@len bytes) at @off and GUARD around it, within
 * the range guard_target() returned; 0 if so.
 */
static int check_target(struct worker *w, enum op op, const char *what,
			int fd, uint64_t off, uint64_t len, uint64_t g_off,
			uint64_t g_len, const unsigned char *want)
{
	long bad;
	uint64_t i;

	if (pread(fd, w->b, g_len, g_off) != (ssize_t)g_len)
		return fail(w, op, "%s: pread of the target: %m", what), -1;
	for (i = 0; i < g_len; i++) {
		uint64_t at = g_off + i;

		if ((at < off || at >= off + len) && w->b[i] != GUARD)
			return fail(w, op, "%s: byte %llu beside the target is %#x, want guard %#x",
				    what, (unsigned long long)at, w->b[i], GUARD), -1;
	}
	bad = first_difference(want, w->b + (off - g_off), len);
	if (bad >= 0)
		return fail(w, op, "%s: byte %ld of %llu is %#x, want %#x", what,
			    bad, (unsigned long long)len,
			    w->b[off - g_off + bad], want[bad]), -1;
	return 0;
}

static void pick_range(struct worker *w, uint64_t len, uint64_t *off)
{
	/* often across a page boundary */
	if (rnd(w, 2) && len < PAGE)
		*off = (1 + rnd(w, POOL_SIZE / PAGE - 2)) * PAGE - rnd(w, len);
	else
		*off = rnd(w, POOL_SIZE - len + 1);
}

static uint32_t pick_kind(struct worker *w)
{
	return 1 + rnd(w, 4);
}

static int xfer_ioctl(int dev, int fd, uint64_t off, uint64_t len,
		      uint32_t dev_off, uint32_t dir, uint32_t flags,
		      uint64_t user_data, struct dmakit_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->offset = off;
	x->len = len;
	x->dev_offset = dev_off;
	x->dir = dir;
	x->flags = flags;
	x->user_data = user_data;
	return ioctl(dev, DMAKIT_IOC_XFER, x);
}

/* reap @n results of this client, waiting with poll(POLLPRI); by user_data */
static int reap(struct worker *w, enum op op, int d, int n,
		struct dmakit_xfer_result *res)
{
	struct dmakit_xfer_reap r = { 0 };

	while (n) {
		struct pollfd p = { .fd = w->dev[d], .events = POLLPRI };
		int ret = poll(&p, 1, 30000);

		if (ret != 1 || !(p.revents & POLLPRI))
			return fail(w, op, "poll for a result: %d, revents %#x: %m",
				    ret, p.revents), -1;
		while (n && !ioctl(w->dev[d], DMAKIT_IOC_XFER_REAP, &r)) {
			if (r.result.user_data < 1 || r.result.user_data > 2)
				return fail(w, op, "reaped user_data %llu",
					    (unsigned long long)r.result.user_data), -1;
			res[r.result.user_data - 1] = r.result;
			n--;
		}
		if (n && errno != EAGAIN)
			return fail(w, op, "REAP: %m"), -1;
	}
	return 0;
}

/* TO_DEVICE into this thread's region, FROM_DEVICE back elsewhere */
static void op_round_trip(struct worker *w, bool async)
{
	enum op op = async ? OP_ASYNC_RT : OP_SYNC_RT;
	int d = rnd(w, NDEV);
	uint32_t sk = pick_kind(w), dk = pick_kind(w);
	int src = pool_fd(w, 0, sk, d), dst = pool_fd(w, 1, dk, d);
	uint64_t len = 1 + rnd(w, REGION), soff, doff, g_off, g_len;
	uint32_t dev_off = COPY_AREA + w->t * REGION + rnd(w, REGION - len + 1);
	uint32_t flags = 0, stage_flags = 0;
	struct dmakit_xfer x;
	struct dmakit_xfer_result res[2];
	char what[96];
	int ok = 0;

	pick_range(w, len, &soff);
	pick_range(w, len, &doff);
	if (!async && !rnd(w, 4)) {
		stage_flags = DMAKIT_XFER_STAGED;
		__atomic_add_fetch(&sh->staged, 1, __ATOMIC_RELAXED);
	}
	snprintf(what, sizeof(what), "edu%d %s+%llu -> window %u+%llu -> %s+%llu%s",
		 d, kind_name[sk], (unsigned long long)soff, dev_off,
		 (unsigned long long)len, kind_name[dk],
		 (unsigned long long)doff, stage_flags ? " (staged)" : "");
	fill_pattern(w->a, len, w->rng);
	if (pwrite(src, w->a, len, soff) != (ssize_t)len ||
	    guard_target(w, dst, doff, len, &g_off, &g_len)) {
		fail(w, op, "%s: preparing the buffers: %m", what);
		goto out;
	}
	if (async)
		flags = DMAKIT_XFER_ASYNC;

	pthread_rwlock_rdlock(&sh->window[d]);
	if (xfer_ioctl(w->dev[d], src, soff, len, dev_off, DMAKIT_DIR_TO_DEVICE,
		       flags | stage_flags, 1, &x)) {
		pthread_rwlock_unlock(&sh->window[d]);
		fail(w, op, "%s: TO_DEVICE: %m", what);
		goto out;
	}
	/* asynchronous: queued behind the TO_DEVICE (FIFO per device) */
	if (xfer_ioctl(w->dev[d], dst, doff, len, dev_off, DMAKIT_DIR_FROM_DEVICE,
		       flags | stage_flags, 2, &x)) {
		fail(w, op, "%s: FROM_DEVICE: %m", what);
		if (async)
			reap(w, op, d, 1, res);
		pthread_rwlock_unlock(&sh->window[d]);
		goto out;
	}
	if (async && reap(w, op, d, 2, res)) {
		pthread_rwlock_unlock(&sh->window[d]);
		goto out;
	}
	pthread_rwlock_unlock(&sh->window[d]);
	if (async && (res[0].status || res[1].status)) {
		errno = -(res[0].status ? res[0].status : res[1].status);
		fail(w, op, "%s: status %d, %d: %m", what, res[0].status,
		     res[1].status);
		goto out;
	}
	ok = !check_target(w, op, what, dst, doff, len, g_off, g_len, w->a);
out:
	count(op, ok, 2 * len);
}

/* COPY: short ones in [0, COPY_AREA), long ones over the whole window */
static void op_copy(struct worker *w, bool whole)
{
	enum op op = whole ? OP_LONG_COPY : OP_COPY;
	int d = rnd(w, NDEV);
	uint32_t sk = pick_kind(w), dk = pick_kind(w);
	int src = pool_fd(w, 0, sk, d), dst = pool_fd(w, 1, dk, d);
	uint64_t len, soff, doff, g_off, g_len;
	bool async = rnd(w, 2);
	struct dmakit_xfer x;
	struct dmakit_xfer_result res[2];
	char what[96];
	int ok = 0, err;

	len = whole ? COPY_AREA + 1 + rnd(w, LONG_COPY_MAX - COPY_AREA) :
		      1 + rnd(w, COPY_AREA);
	pick_range(w, len, &soff);
	pick_range(w, len, &doff);
	snprintf(what, sizeof(what), "edu%d copy %s+%llu -> %s+%llu, %llu bytes%s",
		 d, kind_name[sk], (unsigned long long)soff, kind_name[dk],
		 (unsigned long long)doff, (unsigned long long)len,
		 async ? " (async)" : "");
	fill_pattern(w->a, len, w->rng);
	if (pwrite(src, w->a, len, soff) != (ssize_t)len ||
	    guard_target(w, dst, doff, len, &g_off, &g_len)) {
		fail(w, op, "%s: preparing the buffers: %m", what);
		goto out;
	}
	if (whole)
		pthread_rwlock_wrlock(&sh->window[d]);
	memset(&x, 0, sizeof(x));
	x.fd = src;
	x.dst_fd = dst;
	x.offset = soff;
	x.dst_offset = doff;
	x.len = len;
	x.dir = DMAKIT_DIR_COPY;
	x.flags = async ? DMAKIT_XFER_ASYNC : 0;
	x.user_data = 1;
	err = ioctl(w->dev[d], DMAKIT_IOC_XFER, &x);
	if (!err && async) {
		err = reap(w, op, d, 1, res);
		if (!err && res[0].status) {
			errno = -res[0].status;
			err = -1;
		}
	}
	if (whole)
		pthread_rwlock_unlock(&sh->window[d]);
	if (err) {
		fail(w, op, "%s: %m", what);
		goto out;
	}
	ok = !check_target(w, op, what, dst, doff, len, g_off, g_len, w->a);
out:
	count(op, ok, 2 * len);
}

/* write(2) then read(2) on the node, in this thread's region */
static void op_dio(struct worker *w)
{
	int d = rnd(w, NDEV), direct = rnd(w, 2);
	int fd = direct ? w->dio[d] : w->dev[d];
	uint64_t len = 1 + rnd(w, REGION);
	uint32_t pos = COPY_AREA + w->t * REGION + rnd(w, REGION - len + 1);
	/* any alignment, often across a page of user memory */
	unsigned char *src = w->a + rnd(w, PAGE), *dst = w->b + rnd(w, PAGE);
	char what[80];
	ssize_t n;
	int ok = 0;

	snprintf(what, sizeof(what), "edu%d %s pwrite/pread %llu bytes at %u",
		 d, direct ? "O_DIRECT" : "buffered", (unsigned long long)len,
		 pos);
	if (direct)
		__atomic_add_fetch(&sh->odirect, 1, __ATOMIC_RELAXED);
	fill_pattern(src, len, w->rng);
	memset(dst, GUARD, len + 1);
	pthread_rwlock_rdlock(&sh->window[d]);
	n = pwrite(fd, src, len, pos);
	if (n == (ssize_t)len)
		n = pread(fd, dst, len, pos);
	pthread_rwlock_unlock(&sh->window[d]);
	if (n != (ssize_t)len) {
		fail(w, OP_DIO, "%s: moved %zd: %m", what, n);
	} else if (first_difference(src, dst, len) >= 0 || dst[len] != GUARD) {
		long bad = first_difference(src, dst, len);

		fail(w, OP_DIO, "%s: byte %ld differs", what, bad >= 0 ? bad : (long)len);
	} else {
		ok = 1;
	}
	count(OP_DIO, ok, 2 * len);
}

/* map a pool buffer, write through the mapping, unmap, read() it back */
static void op_mmap(struct worker *w)
{
	int d = rnd(w, NDEV);
	uint32_t kind = pick_kind(w);
	int fd = pool_fd(w, rnd(w, 2), kind, d);
	uint64_t len = 1 + rnd(w, POOL_SIZE), off = rnd(w, POOL_SIZE - len + 1);
	unsigned char *map;
	int ok = 0;

	map = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fail(w, OP_MMAP, "mmap of a %s buffer: %m", kind_name[kind]);
		goto out;
	}
	fill_pattern(w->a, len, w->rng);
	memcpy(map + off, w->a, len);
	if (munmap(map, POOL_SIZE)) {
		fail(w, OP_MMAP, "munmap: %m");
		goto out;
	}
	if (pread(fd, w->b, len, off) != (ssize_t)len)
		fail(w, OP_MMAP, "pread of a %s buffer: %m", kind_name[kind]);
	else if (first_difference(w->a, w->b, len) >= 0)
		fail(w, OP_MMAP, "%s buffer: byte %ld of %llu+%llu written through the mapping reads back differently",
		     kind_name[kind], first_difference(w->a, w->b, len),
		     (unsigned long long)off, (unsigned long long)len);
	else
		ok = 1;
out:
	count(OP_MMAP, ok, 0);
}

/* a new buffer: zeroed, its last byte writable and readable, then closed */
static void op_churn(struct worker *w)
{
	int d = rnd(w, NDEV);
	uint32_t kind = pick_kind(w);
	uint64_t size = (1 + rnd(w, 64)) * PAGE;
	unsigned char z[64], x = 0x5c;
	int fd = alloc_on(w->dev[d], size, kind), ok = 0;

	if (fd < 0) {
		errno = -fd;
		fail(w, OP_CHURN, "ALLOC of %llu bytes, %s: %m", (unsigned long long)size,
		     kind_name[kind]);
		goto out;
	}
	memset(z, 1, sizeof(z));
	if (pread(fd, z, sizeof(z), size - sizeof(z)) != sizeof(z) ||
	    pwrite(fd, &x, 1, size - 1) != 1 || pread(fd, &x, 1, size - 1) != 1)
		fail(w, OP_CHURN, "read/write a new %s buffer: %m", kind_name[kind]);
	else if (z[0] || memcmp(z, z + 1, sizeof(z) - 1) || x != 0x5c)
		fail(w, OP_CHURN, "a new %s buffer is not zeroed or did not keep a byte",
		     kind_name[kind]);
	else
		ok = 1;
	if (close(fd))
		ok = fail(w, OP_CHURN, "close: %m");
out:
	count(OP_CHURN, ok, 0);
}

static void op_translate(struct worker *w)
{
	int d = rnd(w, NDEV);
	uint32_t kind = pick_kind(w);
	int fd = pool_fd(w, rnd(w, 2), kind, d);
	struct dmakit_page_desc desc[POOL_SIZE / PAGE];
	struct dmakit_translate t = {
		.count = POOL_SIZE / PAGE, .descs = (uintptr_t)desc,
	};
	uint32_t want_kva = kind == DMAKIT_KIND_VMALLOC ? DMAKIT_KVA_VMALLOC :
							 DMAKIT_KVA_LINEAR;
	unsigned int i;
	int ok = 0;

	memset(desc, 0xff, sizeof(desc));
	if (ioctl(fd, DMAKIT_IOC_TRANSLATE, &t)) {
		fail(w, OP_TRANSLATE, "TRANSLATE of a %s buffer: %m", kind_name[kind]);
		goto out;
	}
	if (t.count != POOL_SIZE / PAGE) {
		fail(w, OP_TRANSLATE, "%u pages described", t.count);
		goto out;
	}
	for (i = 0; i < t.count; i++) {
		const struct dmakit_page_desc *p = &desc[i];
		bool next = p->flags & DMAKIT_PAGE_CONTIG_NEXT;

		if (p->offset != (uint64_t)i * PAGE || !p->pfn ||
		    p->phys != p->pfn * PAGE || p->kva_kind != want_kva ||
		    !p->zone ||
		    /* the tail pages of a coherent block may have no count */
		    (kind != DMAKIT_KIND_COHERENT && p->refcount < 1) ||
		    (kind == DMAKIT_KIND_CONTIG && next != (i + 1 < t.count)) ||
		    (next && desc[i + 1].pfn != p->pfn + 1)) {
			fail(w, OP_TRANSLATE, "%s buffer, page %u: offset %llu pfn %#llx phys %#llx kva kind %u zone %u flags %#x",
			     kind_name[kind], i, (unsigned long long)p->offset,
			     (unsigned long long)p->pfn,
			     (unsigned long long)p->phys, p->kva_kind, p->zone,
			     p->flags);
			goto out;
		}
	}
	ok = 1;
out:
	count(OP_TRANSLATE, ok, 0);
}

static void run_op(struct worker *w, enum op op)
{
	switch (op) {
	case OP_SYNC_RT:
		op_round_trip(w, false);
		break;
	case OP_ASYNC_RT:
		op_round_trip(w, true);
		break;
	case OP_COPY:
		op_copy(w, false);
		break;
	case OP_LONG_COPY:
		op_copy(w, true);
		break;
	case OP_DIO:
		op_dio(w);
		break;
	case OP_MMAP:
		op_mmap(w);
		break;
	case OP_CHURN:
		op_churn(w);
		break;
	default:
		op_translate(w);
		break;
	}
}

/*
 * Thread t starts with operation t % NOPS, so the mix covers every kind
 * however few operations the emulator gets through (a long copy is 3% of
 * the draws: about 160 operations in 12 s left it out of about one lane in
 * a hundred); after that the draws are weighted.
 */
static void worker_run(struct worker *w)
{
	static const struct { uint32_t below; enum op op; } mix[] = {
		{ 20, OP_SYNC_RT }, { 40, OP_ASYNC_RT }, { 55, OP_COPY },
		{ 58, OP_LONG_COPY }, { 70, OP_DIO }, { 80, OP_MMAP },
		{ 90, OP_CHURN }, { 100, OP_TRANSLATE },
	};
	bool first = true;

	_Static_assert(NTHREADS >= NOPS, "a thread per kind of operation");
	while (now() < w->deadline) {
		uint32_t r = rnd(w, 100), i = 0;

		if (first) {
			run_op(w, (enum op)(w->t % NOPS));
			first = false;
			continue;
		}
		while (r >= mix[i].below)
			i++;
		run_op(w, mix[i].op);
	}
}

static int worker_open(struct worker *w)
{
	int d, s;
	uint32_t k;

	for (d = 0; d < NDEV; d++) {
		w->dev[d] = edu_open(d, 0);
		w->dio[d] = edu_open(d, O_DIRECT);
		if (w->dev[d] < 0 || w->dio[d] < 0)
			return -1;
	}
	for (s = 0; s < 2; s++) {
		for (k = DMAKIT_KIND_CONTIG; k <= DMAKIT_KIND_VMALLOC; k++) {
			w->pool[s][k] = alloc_on(-1, POOL_SIZE, k);
			if (w->pool[s][k] < 0)
				return -1;
		}
		for (d = 0; d < NDEV; d++) {
			w->coh[s][d] = alloc_on(w->dev[d], POOL_SIZE,
						DMAKIT_KIND_COHERENT);
			if (w->coh[s][d] < 0)
				return -1;
		}
	}
	w->a = malloc(POOL_SIZE + 2 * PAGE);
	w->b = malloc(POOL_SIZE + 2 * PAGE);
	return w->a && w->b ? 0 : -1;
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;

	if (worker_open(w)) {
		printf("# thread %d: setting up: %s\n", w->t, strerror(errno));
		__atomic_add_fetch(&sh->setup_failures, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	worker_run(w);
	/* the fds close at exit: the nodes' release reaps nothing left */
	return NULL;
}

static int child(int proc, double deadline)
{
	struct worker w[STRESS_THREADS];
	pthread_t tid[STRESS_THREADS];
	int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < STRESS_THREADS; i++) {
		w[i].t = proc * STRESS_THREADS + i;
		w[i].rng = (uint32_t)(w[i].t + 1) * 2654435761u ^ (uint32_t)getpid();
		w[i].deadline = deadline;
		if (pthread_create(&tid[i], NULL, worker_thread, &w[i]))
			return 1;
	}
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

FIXTURE(stress) {
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

/*
 * The harness's limit only backs up our own (the deadline + 30 s), and
 * leaves room for a long run (DMAKIT_STRESS_SECONDS up to ~500).
 */
TEST_F_TIMEOUT(stress, mixed_load_on_both_devices, 600)
{
	long seconds = env_long("DMAKIT_STRESS_SECONDS", 12);
	pid_t pid[STRESS_PROCS];
	pthread_rwlockattr_t attr;
	double t0 = now(), limit;
	uint64_t total = 0, failed = 0;
	int i, status = 0, stuck = 0;

	ASSERT_LT(0, seconds);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	/* a long COPY must not wait for a gap among 9 round-tripping threads */
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (i = 0; i < NDEV; i++)
		ASSERT_EQ(0, pthread_rwlock_init(&sh->window[i], &attr));

	printf("# %d processes x %d threads for %ld s; window: copies in [0, %u), thread regions of %u bytes\n",
	       STRESS_PROCS, STRESS_THREADS, seconds, COPY_AREA, REGION);
	fflush(stdout);
	for (i = 0; i < STRESS_PROCS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i])
			_exit(child(i, t0 + seconds));
	}
	/* an operation in flight at the deadline may still wait its turn */
	limit = t0 + seconds + 30;
	for (i = 0; i < STRESS_PROCS; i++) {
		while (waitpid(pid[i], &status, WNOHANG) == 0) {
			if (now() > limit) {
				printf("# process %d still running %.0f s after the deadline: killed\n",
				       i, limit - t0 - seconds);
				kill(pid[i], SIGKILL);
				/* one stuck in the kernel may not even die */
				for (int j = 0; j < 100; j++)
					if (waitpid(pid[i], &status, WNOHANG))
						break;
					else
						usleep(50000);
				stuck++;
				break;
			}
			usleep(50000);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			stuck++;
	}

	printf("# %-26s %8s %8s\n", "operation", "done", "failed");
	for (i = 0; i < NOPS; i++) {
		printf("# %-26s %8llu %8llu\n", op_name[i],
		       (unsigned long long)sh->ops[i],
		       (unsigned long long)sh->fails[i]);
		total += sh->ops[i];
		failed += sh->fails[i];
	}
	printf("# %llu operations, %llu failed; %llu staged round trips, %llu with O_DIRECT; %llu bytes of DMA checked; %.1f s wall\n",
	       (unsigned long long)total, (unsigned long long)failed,
	       (unsigned long long)sh->staged, (unsigned long long)sh->odirect,
	       (unsigned long long)sh->dma_bytes, now() - t0);
	EXPECT_EQ(0, stuck);
	EXPECT_EQ(0, sh->setup_failures);
	EXPECT_EQ(0, failed);
	/* every kind of operation ran, or the mix proved nothing about it */
	for (i = 0; i < NOPS; i++) {
		if (!sh->ops[i])
			printf("# no %s at all\n", op_name[i]);
		EXPECT_LT(0, sh->ops[i]);
	}
}

TEST_HARNESS_MAIN
