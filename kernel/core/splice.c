// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit buffers: splice_read (splice(2), sendfile(2) and what else moves
 * a file's pages into a pipe) out of a buffer fd. Its zero-copy rule and
 * the CPU cost against read() + write(): docs/dmabuf.md, "Zero-copy out of
 * buffers"; bench/zerocopy_bench.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pipe_fs_i.h>
#include <linux/splice.h>
#include <linux/srcu.h>

#include <uapi/dmakit.h>

#include "dmakit.h"

/*
 * splice: the buffer's own pages go into the pipe with a reference each
 * (zero-copy, like the page cache's splice: a reader of the pipe sees the
 * bytes the page holds when it reads). Memory a reference cannot keep is
 * copied into fresh pages instead: coherent memory (its device frees it at
 * removal) and CMA (cma_release() frees pages whatever their refcount).
 */
static const struct pipe_buf_operations buffer_pipe_buf_ops = {
	.release = generic_pipe_buf_release,
	.get = generic_pipe_buf_get,
};

static void buffer_spd_release(struct splice_pipe_desc *spd, unsigned int i)
{
	put_page(spd->pages[i]);
}

static bool buffer_pages_shared(struct dmakit_buffer *buf)
{
	return buf->kind != DMAKIT_KIND_COHERENT && !buf->from_cma &&
	       !buf->foreign;
}

/* up to @n pages of @buf from @pos (@span bytes) into @spd */
static int buffer_fill_spd(struct dmakit_buffer *buf, loff_t pos, size_t span,
			   struct splice_pipe_desc *spd, unsigned int n)
{
	bool shared = buffer_pages_shared(buf);

	while (span && spd->nr_pages < n) {
		unsigned int off = offset_in_page(pos);
		unsigned int len = min_t(size_t, span, PAGE_SIZE - off);
		struct page *page = dmakit_buffer_page(buf, pos >> PAGE_SHIFT);

		if (shared) {
			get_page(page);
		} else {
			struct page *copy = alloc_page(GFP_KERNEL_ACCOUNT);

			if (!copy)
				return spd->nr_pages ? 0 : -ENOMEM;
			memcpy_page(copy, off, page, off, len);
			page = copy;
		}
		spd->pages[spd->nr_pages] = page;
		spd->partial[spd->nr_pages].offset = off;
		spd->partial[spd->nr_pages].len = len;
		spd->nr_pages++;
		pos += len;
		span -= len;
	}
	return 0;
}

ssize_t dmakit_buffer_splice_read(struct file *in, loff_t *ppos,
				  struct pipe_inode_info *pipe, size_t len,
				  unsigned int flags)
{
	struct dmakit_buffer *buf = in->private_data;
	struct page *pages[PIPE_DEF_BUFFERS];
	struct partial_page partial[PIPE_DEF_BUFFERS];
	struct splice_pipe_desc spd = {
		.pages = pages,
		.partial = partial,
		.nr_pages_max = PIPE_DEF_BUFFERS,
		.ops = &buffer_pipe_buf_ops,
		.spd_release = buffer_spd_release,
	};
	unsigned int room = pipe->max_usage - pipe_occupancy(pipe->head,
							      pipe->tail);
	ssize_t span = dmakit_buffer_io_span(buf->size, *ppos, len), ret;
	int idx;

	if (span <= 0)
		return span;
	if (!room)
		return -EAGAIN;
	idx = srcu_read_lock(&dmakit_buffer_srcu);
	ret = dmakit_buffer_revoked(buf) ? -ENODEV :
	      buffer_fill_spd(buf, *ppos, span, &spd,
			      min_t(unsigned int, room, PIPE_DEF_BUFFERS));
	srcu_read_unlock(&dmakit_buffer_srcu, idx);
	if (ret)
		return ret;
	ret = splice_to_pipe(pipe, &spd);
	if (ret > 0)
		*ppos += ret;
	return ret;
}
