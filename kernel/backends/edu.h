/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit edu backend: what edu.c shares with edu_selftest.c (the DMA test
 * ioctls LOOPBACK and STRAY, which run on the node's engine).
 */
#ifndef _DMAKIT_EDU_H
#define _DMAKIT_EDU_H

#include <linux/overflow.h>
#include <linux/types.h>

#include <uapi/dmakit.h>

struct dmakit_engine;

/*
 * Does [@offset, @offset + @len) fit the usable part of the device window?
 * QEMU 7.2 aborts the whole emulator on a transfer that reaches the window's
 * last byte (see docs/hardware.md), so the usable part is 4095 bytes.
 */
static inline bool edu_window_ok(u32 offset, u32 len)
{
	u32 end;

	return len && !check_add_overflow(offset, len, &end) &&
	       end <= DMAKIT_EDU_WINDOW_MAX;
}

long dmakit_edu_loopback(struct dmakit_engine *eng,
			 struct dmakit_edu_loopback __user *uarg);
long dmakit_edu_stray(struct dmakit_engine *eng,
		      struct dmakit_edu_stray __user *uarg);

#endif /* _DMAKIT_EDU_H */
