/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit transfer requests as the DMA layer's files share them: a request
 * (struct xfer_req) names up to two sides of RAM and a device window; the
 * mapping layer (map.c, stage.c) turns the sides into device segments, user
 * memory (umem.c) fills sides from a caller's pages, and the request and
 * client code (xfer.c, client.c) runs them on the engine. Nothing outside
 * those files sees these types; the rest of the module uses dmakit.h.
 */
#ifndef _DMAKIT_XFER_H
#define _DMAKIT_XFER_H

#include <linux/completion.h>
#include <linux/dma-direction.h>
#include <linux/dma-resv.h>
#include <linux/poll.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

#include <uapi/dmakit.h>

#include "dmakit.h"
#include "fault.h"

/* user memory within one page */
struct user_run {
	struct page *page;
	u32 off;
	u32 len;
};

struct xfer_side {
	struct file *file;		/* holds the buffer, or NULL */
	struct dmakit_buffer *buf;
	struct page *page;		/* a kernel page instead of a buffer */
	bool own_page;			/* ... allocated for the request */
	struct page **kpages;		/* copy path over several pages, own */
	unsigned int nkpages;
	struct user_run *runs;		/* user memory instead of a buffer */
	unsigned int nruns;
	struct page **upages;		/* the pages pinned for it, or NULL */
	unsigned int nupages;
	unsigned int nrefs;		/* runs 0.. whose page we hold (bvec) */
	u64 off;
	enum dma_data_direction dir;
	bool single;			/* dma_map_single/page, else sgt */
	bool by_page;			/* ... dma_map_page */
	bool coherent;			/* coherent buffer: no mapping */
	bool imported;			/* a dma-buf: @imp, its exporter maps */
	struct dmakit_import imp;
	struct dma_buf *dmabuf;		/* @buf's dma-buf, if exported (held) */
	bool mapped;
	dma_addr_t dma;
	struct sg_table sgt;
	unsigned int sg_entries;
	unsigned int dma_segments;
	unsigned int bounced;
};

/* segments a request holds without an allocation of their own */
#define XFER_INLINE_SEGS	8

struct xfer_req {
	struct dmakit_req req;
	struct dmakit_engine *eng;
	struct dmakit_client *client;	/* asynchronous owner, or NULL */
	struct kiocb *iocb;		/* asynchronous read/write, or NULL */
	bool copied;			/* user memory through a kernel page */
	/*
	 * The submitter has CAP_SYS_ADMIN: decided in its context, since the
	 * result is filled in the engine's worker, whose credentials are root's.
	 */
	bool privileged;
	struct list_head client_node;	/* client->pending / completed */
	struct completion done;		/* synchronous: released */
	u64 len;
	u32 dev_off;
	u32 dir;
	bool staged;
	unsigned int nsides;
	struct xfer_side side[2];
	void *stage;			/* staged: the dma_pool chunk */
	dma_addr_t stage_dma;
	u64 map_ns, unmap_ns;		/* time in prepare / finish */
	struct dmakit_seg inline_segs[XFER_INLINE_SEGS];
	bool stray;			/* DMAKIT_IOC_EDU_STRAY */
	dma_addr_t stray_addr;
	struct dmakit_client *holder;	/* asynchronous: whose room @held is */
	unsigned long held;		/* pages counted in holder->inflight */
	struct user_struct *locked_user; /* @locked pinned pages charged to */
	unsigned long locked;
	struct dmakit_xfer_result result;
	struct dma_fence *fence;	/* on the dma-bufs it touches, or NULL */
};

/*
 * xfer.c: a request's fence on the dma-bufs it touches, their reservation
 * objects locked across the submission (xfer_fence_begin/commit)
 */
struct xfer_fencing {
	struct dma_fence *fence;	/* held */
	struct dma_buf *dmabuf[2];	/* held, locked */
	bool written[2];
	unsigned int n;
	struct ww_acquire_ctx ctx;
};

/* the dma_map fault-injection point (fault.c): must this mapping call fail? */
static inline bool fault_dma_map_hit(void)
{
	return dmakit_should_fail(&dmakit_fault_dma_map);
}

/* what poll reports while the fd has room for one more request */
#define CLIENT_POLL_ROOM (EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM)

/* map.c: sides -> DMA addresses -> device segments; the request's hooks */
bool run_continues(const struct user_run *p, const struct user_run *r,
		   u32 len, unsigned int max_seg);
int side_build_runs_sgt(struct xfer_side *s, unsigned int max_seg);
int xfer_alloc_segs(struct xfer_req *xr, size_t max);
int xfer_build_segs(struct xfer_req *xr);
int xfer_prepare(struct dmakit_req *req);
void xfer_finish(struct dmakit_req *req);
int side_get(struct xfer_side *s, struct dmakit_engine *eng, int fd, u64 off,
	     u64 len, bool written);
const void *side_memory(const struct xfer_side *s);
struct dma_buf *side_dmabuf(const struct xfer_side *s);

/* stage.c: the engine's own DMA memory, for staged and stray requests */
int xfer_prepare_staged(struct xfer_req *xr);
void xfer_finish_staged(struct xfer_req *xr);
int xfer_prepare_stray(struct xfer_req *xr);
void stage_give_back(struct xfer_req *xr);

/* umem.c: user memory as a side; what asynchronous requests may hold */
void side_unpin(struct xfer_side *s);
bool client_has_room(const struct dmakit_client *client, unsigned long pages);
void xfer_unhold(struct xfer_req *xr);
void xfer_uncharge(struct xfer_req *xr);
int xfer_hold(struct dmakit_client *client, struct xfer_req *xr,
	      unsigned long pages, unsigned long pinned);
size_t xfer_copy_max(struct dmakit_engine *eng);
unsigned long iter_pages(const struct iov_iter *iter, size_t len);
int side_pin_iter(struct xfer_side *s, const struct iov_iter *iter,
		  size_t len, bool write);
int side_copy_in(struct xfer_req *xr, struct xfer_side *s,
		 struct iov_iter *iter, bool to_device);
int side_copy_out(struct xfer_req *xr, struct xfer_side *s,
		  struct iov_iter *iter);

/* xfer.c: a request's life */
int xfer_fence_begin(struct xfer_req *xr, struct xfer_fencing *f);
void xfer_fence_commit(struct xfer_req *xr, struct xfer_fencing *f, int err);
struct xfer_req *xfer_req_alloc(struct dmakit_engine *eng);
void xfer_req_free(struct xfer_req *xr);
int xfer_run_sync(struct xfer_req *xr);

/* client.c: an open file's asynchronous requests */
int xfer_submit_async(struct dmakit_client *client, struct xfer_req *xr,
		      u64 *id);

#endif /* _DMAKIT_XFER_H */
