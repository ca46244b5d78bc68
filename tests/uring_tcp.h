/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal io_uring and a loopback TCP connection, raw system calls, for
 * the VM tests (through dmakit_test.h) and the benchmarks (bench/, which
 * have no kselftest harness).
 */
#ifndef DMAKIT_URING_TCP_H
#define DMAKIT_URING_TCP_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* a minimal io_uring (what liburing wraps), raw system calls */
struct ring {
	int fd;
	struct io_uring_params p;
	void *sq, *cq;
	struct io_uring_sqe *sqes;
};

static inline int ring_init(struct ring *r, unsigned int entries)
{
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, entries, &r->p);
	if (r->fd < 0)
		return -1;
	r->sq = mmap(NULL, r->p.sq_off.array + r->p.sq_entries * 4,
		     PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, IORING_OFF_SQ_RING);
	r->cq = mmap(NULL, r->p.cq_off.cqes +
		     r->p.cq_entries * sizeof(struct io_uring_cqe),
		     PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, IORING_OFF_SQES);
	return r->sq == MAP_FAILED || r->cq == MAP_FAILED ||
	       r->sqes == MAP_FAILED ? -1 : 0;
}

/* queue one read or write of fixed buffer @buf_index (READ_FIXED/WRITE_FIXED) */
static inline int ring_rw_fixed(struct ring *r, int op, int fd, void *buf,
				unsigned int len, uint64_t off, uint64_t data,
				unsigned int buf_index)
{
	unsigned int *tail = r->sq + r->p.sq_off.tail;
	unsigned int *array = r->sq + r->p.sq_off.array;
	unsigned int mask = *(unsigned int *)(r->sq + r->p.sq_off.ring_mask);
	unsigned int t = *tail, i = t & mask;
	struct io_uring_sqe *sqe = &r->sqes[i];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = off;
	sqe->user_data = data;
	sqe->buf_index = buf_index;
	array[i] = i;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	return syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0);
}

/* queue one read or write; returns io_uring_enter's result */
static inline int ring_rw(struct ring *r, int op, int fd, void *buf,
			  unsigned int len, uint64_t off, uint64_t data)
{
	return ring_rw_fixed(r, op, fd, buf, len, off, data, 0);
}

/* register @n memory ranges as the ring's fixed buffers 0..@n-1 */
static inline int ring_register_buffers(struct ring *r,
					const struct iovec *iov, unsigned int n)
{
	return syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS,
		       iov, n);
}

/* block until a completion is there (min_complete 1); io_uring_enter's result */
static inline int ring_block(struct ring *r)
{
	return syscall(__NR_io_uring_enter, r->fd, 0, 1, IORING_ENTER_GETEVENTS,
		       NULL, 0);
}

/* has a completion arrived? (runs pending task work first) */
static inline int ring_has_completion(struct ring *r)
{
	unsigned int *head = r->cq + r->p.cq_off.head;
	unsigned int *tail = r->cq + r->p.cq_off.tail;

	syscall(__NR_io_uring_enter, r->fd, 0, 0, IORING_ENTER_GETEVENTS,
		NULL, 0);
	return __atomic_load_n(tail, __ATOMIC_ACQUIRE) != *head;
}

/* wait for one completion */
static inline int ring_wait(struct ring *r, struct io_uring_cqe *out)
{
	unsigned int *head = r->cq + r->p.cq_off.head;
	unsigned int *tail = r->cq + r->p.cq_off.tail;
	unsigned int mask = *(unsigned int *)(r->cq + r->p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = r->cq + r->p.cq_off.cqes;

	for (int tries = 0; __atomic_load_n(tail, __ATOMIC_ACQUIRE) == *head; tries++) {
		/* GETEVENTS with min_complete 0 runs pending task work */
		if (syscall(__NR_io_uring_enter, r->fd, 0, 0,
			    IORING_ENTER_GETEVENTS, NULL, 0) < 0 && errno != EINTR)
			return -1;
		if (tries > 500) {
			printf("# no completion after 5 s: cq head %u tail %u, sq head %u tail %u, sq flags %#x, cq overflow %u\n",
			       *head, *tail, *(unsigned int *)(r->sq + r->p.sq_off.head),
			       *(unsigned int *)(r->sq + r->p.sq_off.tail),
			       *(unsigned int *)(r->sq + r->p.sq_off.flags),
			       *(unsigned int *)(r->cq + r->p.cq_off.overflow));
			return -1;
		}
		usleep(10000);
	}
	*out = cqes[*head & mask];
	__atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
	return 0;
}

/* bring the loopback interface up (the guest's init does not): 0 or -errno */
static inline int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(s);
	return err;
}

/*
 * A loopback TCP connection: @cli connected to @conn. 0, -errno, or
 * -EAFNOSUPPORT where the kernel has no TCP/IP (the caller skips).
 */
static inline int tcp_pair(int *cli, int *conn)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int srv = socket(AF_INET, SOCK_STREAM, 0), err;

	*cli = *conn = -1;
	if (srv < 0)
		return -EAFNOSUPPORT;
	err = loopback_up();
	if (!err && (bind(srv, (struct sockaddr *)&a, sizeof(a)) ||
		     listen(srv, 1) ||
		     getsockname(srv, (struct sockaddr *)&a, &alen)))
		err = -errno;
	if (!err) {
		*cli = socket(AF_INET, SOCK_STREAM, 0);
		if (*cli < 0 || connect(*cli, (struct sockaddr *)&a, sizeof(a)))
			err = -errno;
	}
	if (!err) {
		*conn = accept(srv, NULL, NULL);
		if (*conn < 0)
			err = -errno;
	}
	close(srv);
	if (err && *cli >= 0)
		close(*cli);
	return err;
}

#endif /* DMAKIT_URING_TCP_H */
