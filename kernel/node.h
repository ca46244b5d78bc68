/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit device core: the node of one DMA device, which a backend
 * registers (core/node.c).
 *
 * Modelled on the way vfio-pci-core serves its variant drivers: the core
 * owns what every DMA device's node has, and a backend embeds struct
 * dmakit_node in its own device structure, fills in what only it knows
 * and gives an ops table. The core owns:
 * - the character device /dev/<name> and its file operations: ioctl
 *   (ALLOC, XFER, XFER_REAP, XFER_USER, DEV_INFO; others go to the
 *   backend), read/write_iter, poll, llseek over the window, and mmap of
 *   the device memory the backend describes (uncached, faulted in page by
 *   page inside the alive section, zapped at removal);
 * - the counters in sysfs (/sys/class/misc/<name>/stats/);
 * - the request queue: the engine (engine.h) with its alive section, and
 *   the staging memory of the DMA layer;
 * - the open files, each an asynchronous client, and the coherent buffers
 *   made on the node (their owner, revoked at removal).
 *
 * Layers: a backend calls this API and the engine's; the core calls the
 * backend only through its ops; neither reaches into the other's
 * structure (the backend reads the fields marked "backend's" below).
 */
#ifndef _DMAKIT_NODE_H
#define _DMAKIT_NODE_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "engine.h"

struct device;
struct dmakit_buffer_owner;
struct dmakit_dev_info;
struct dmakit_node;

/**
 * struct dmakit_node_ops - what a backend gives the device core.
 * @engine:   the DMA backend ops the node's engine runs segments with
 *            (engine.h: start, busy, reset; for a controller driven
 *            through dmaengine also terminate and synchronize).
 * @ioctl:    optional: the backend's own ioctls, called for any command the
 *            core does not know, with no lock of the core held; returns
 *            -ENOTTY for a command that is not its own either.
 * @describe: fill DMAKIT_IOC_DEV_INFO's description of the hardware (the
 *            engine kind, interrupt, identifiers, bar_len, index, bus_id);
 *            the core fills name, window and iommu. May not sleep long.
 * @quiesce:  optional: removal, after the node left /dev and before the
 *            engine stops: end the backend's own commands and refuse new
 *            ones (they answer ENODEV).
 * @release:  the last reference is gone (no open file, no registration):
 *            free the structure the node is embedded in.
 */
struct dmakit_node_ops {
	const struct dmakit_engine_ops *engine;
	long (*ioctl)(struct dmakit_node *node, unsigned int cmd,
		      void __user *uarg);
	void (*describe)(struct dmakit_node *node, struct dmakit_dev_info *info);
	void (*quiesce)(struct dmakit_node *node);
	void (*release)(struct dmakit_node *node);
};

/**
 * struct dmakit_node_mem - device memory user space may map (offset 0 of
 * the node), for privileged callers only (CAP_SYS_RAWIO, no lockdown).
 * @start: its physical address (e.g. a BAR's resource start).
 * @len:   bytes, a multiple of PAGE_SIZE; 0: the node maps nothing.
 */
struct dmakit_node_mem {
	phys_addr_t start;
	resource_size_t len;
};

/**
 * struct dmakit_node - the device core's part of a DMA device.
 * @name:       backend's: the node's name (/dev/<name>), set before
 *              dmakit_node_dma_init().
 * @mem:        backend's: its device memory, set before
 *              dmakit_node_register().
 * @engine:     the request queue; the backend reports segment ends to it
 *              (dmakit_engine_seg_irq()) and may run its own requests.
 * @ops:        the backend's ops.
 * @dev:        the device that does the DMA (parent of the node).
 * @misc:       the character device.
 * @ref:        the registration's reference and one per open file.
 * @owner:      the coherent buffers made on the node (core/revoke.c).
 * @files_lock: guards @files.
 * @files:      open files (struct node_file, core/node.c).
 */
struct dmakit_node {
	char name[32];
	struct dmakit_node_mem mem;
	struct dmakit_engine engine;

	const struct dmakit_node_ops *ops;
	struct device *dev;
	struct miscdevice misc;
	struct kref ref;
	struct dmakit_buffer_owner *owner;
	struct mutex files_lock;	/* guards files */
	struct list_head files;
};

int dmakit_node_init(struct dmakit_node *node, const struct dmakit_node_ops *ops,
		     struct device *dev);
int dmakit_node_dma_init(struct dmakit_node *node, u32 window);
int dmakit_node_register(struct dmakit_node *node);
void dmakit_node_unregister(struct dmakit_node *node);
void dmakit_node_dma_exit(struct dmakit_node *node);
void dmakit_node_put(struct dmakit_node *node);

#endif /* _DMAKIT_NODE_H */
