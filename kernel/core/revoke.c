// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit revocation: buffers that belong to a device go with it.
 *
 * Coherent memory is the device's: dma_free_coherent() needs the device
 * as it was when the memory was allocated (behind an IOMMU its domain and
 * IOMMU group, which the PCI core drops once the device is removed), and
 * DMA-API debug reports an allocation still pending when the driver lets
 * go of the device. A buffer file may outlive both, held by an fd or a
 * mapping. So each device has an owner (struct dmakit_buffer_owner) that
 * lists its buffers, and its removal revokes them: no new use starts, the
 * uses under way end, every user mapping is zapped, and the memory goes
 * back while the device is still there. The file stays valid: read, write,
 * mmap and TRANSLATE answer ENODEV, a touch of an old mapping is SIGBUS,
 * and close frees what is left.
 *
 * Each such buffer file has an address_space of its own (file->f_mapping),
 * so that unmap_mapping_range() finds exactly its VMAs: all buffer files
 * share the one anon inode, whose i_mapping would hold every anon-inode
 * mapping of the system.
 *
 * Ordering: a user of the memory (read/write, TRANSLATE, mmap) runs inside
 * a read section of dmakit_buffer_srcu and checks buf->revoked there
 * (dmakit_buffer_revoked());
 * revocation sets revoked, then synchronize_srcu() waits out those that
 * did not see it. One window is left: the core links a new VMA into the
 * mapping's tree after ->mmap returned, under the mm's mmap_lock held for
 * writing, and a zap in between would not find the VMA it just filled. So
 * ->mmap notes its mm (buffer_note_mm()), and revocation takes each noted
 * mm's mmap_lock once before zapping: any mmap of the buffer under way has
 * then finished. A VMA copied by fork is linked before its page table
 * entries are copied, so the zap finds it or it copies nothing.
 *
 * Transfers need none of this: a coherent buffer reaches only its own
 * device's engine (dma/map.c refuses another), whose prepare and finish steps
 * touch the memory, and dmakit_engine_stop() has ended them all before the
 * device's removal revokes anything.
 *
 * Locks: owner->lock (a mutex) guards the list and owner->gone, and is
 * held only for list work (it is taken inside the device's alive section,
 * which a BAR fault enters under mmap_lock). Revocation takes the list
 * whole under it, then works without it: a buffer whose file is released
 * meanwhile (dmakit_buffer_detach()) waits for owner->revoked, so that it
 * is freed only after revocation is done with it. owned->mm_lock guards
 * owned->mms; it is taken under mmap_lock (->mmap, vm_ops open/close) and
 * never held while taking mmap_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/srcu.h>

#include <uapi/dmakit.h>

#include "compat.h"
#include "dmakit.h"

/* uses of buffer memory that revocation waits out (dmakit.h) */
DEFINE_SRCU(dmakit_buffer_srcu);

/**
 * struct dmakit_buffer_owner - the buffers that belong to one device.
 * @dev:     the device (held).
 * @lock:    guards @buffers and @gone.
 * @buffers: their struct dmakit_owned, while neither revoked nor freed.
 * @gone:    revocation began: no buffer joins any more.
 * @revoked: revocation is done with every buffer it took.
 * @ref:     the device's own reference and one per attached buffer.
 */
struct dmakit_buffer_owner {
	struct device *dev;
	struct mutex lock;		/* see above */
	struct list_head buffers;
	bool gone;
	struct completion revoked;
	struct kref ref;
};

/**
 * struct dmakit_owned - what ties a buffer to its device's owner.
 * @buf:     the buffer.
 * @owner:   the owner (held).
 * @node:    in owner->buffers, while neither revoked nor freed.
 * @mapping: the buffer file's own address_space (its f_mapping).
 * @mm_lock: guards @mms.
 * @mms:     struct buffer_mm: the mms that mapped the buffer.
 */
struct dmakit_owned {
	struct dmakit_buffer *buf;
	struct dmakit_buffer_owner *owner;
	struct list_head node;
	struct address_space mapping;
	struct mutex mm_lock;		/* guards mms */
	struct list_head mms;
};

/* an mm that mapped a buffer: its VMAs of the buffer that we saw made */
struct buffer_mm {
	struct list_head node;
	struct mm_struct *mm;		/* mmgrab()ed */
	unsigned long vmas;
};

/**
 * dmakit_owner_new() - an owner for the buffers of @dev.
 * @dev: the device; held until the owner's last reference goes.
 *
 * Return: the owner with one reference (the caller's), or NULL.
 */
struct dmakit_buffer_owner *dmakit_owner_new(struct device *dev)
{
	struct dmakit_buffer_owner *owner = kzalloc_obj(*owner, GFP_KERNEL);

	if (!owner)
		return NULL;
	owner->dev = get_device(dev);
	mutex_init(&owner->lock);
	INIT_LIST_HEAD(&owner->buffers);
	init_completion(&owner->revoked);
	kref_init(&owner->ref);
	return owner;
}

static void owner_release(struct kref *ref)
{
	struct dmakit_buffer_owner *owner =
		container_of(ref, struct dmakit_buffer_owner, ref);

	put_device(owner->dev);
	kfree(owner);
}

/**
 * dmakit_owner_put() - drop a reference to @owner (NULL: nothing).
 * @owner: the owner.
 */
void dmakit_owner_put(struct dmakit_buffer_owner *owner)
{
	if (owner)
		kref_put(&owner->ref, owner_release);
}

/**
 * dmakit_owner_get() - take another reference to @owner.
 * @owner: the owner.
 */
void dmakit_owner_get(struct dmakit_buffer_owner *owner)
{
	kref_get(&owner->ref);
}

/**
 * dmakit_owner_device() - the device whose buffers @owner lists.
 * @owner: the owner, or NULL.
 *
 * Return: the device, or NULL for NULL.
 */
struct device *dmakit_owner_device(struct dmakit_buffer_owner *owner)
{
	return owner ? owner->dev : NULL;
}

/**
 * dmakit_buffer_attach() - make @buf, just created, belong to @owner.
 * @buf:   the buffer; its memory is allocated, its file not yet published.
 * @owner: the owner of its device.
 * @file:  the buffer's file: it gets an address_space of its own.
 *
 * On success the buffer is revoked with its device; buffer_free() then
 * detaches it (dmakit_buffer_detach()).
 *
 * Return: 0, -ENOMEM, or -ENODEV if the device is going away.
 */
int dmakit_buffer_attach(struct dmakit_buffer *buf,
			 struct dmakit_buffer_owner *owner, struct file *file)
{
	struct dmakit_owned *owned = kzalloc_obj(*owned, GFP_KERNEL_ACCOUNT);

	if (!owned)
		return -ENOMEM;
	owned->buf = buf;
	mutex_init(&owned->mm_lock);
	INIT_LIST_HEAD(&owned->mms);
	address_space_init_once(&owned->mapping);
	owned->mapping.host = file_inode(file);

	mutex_lock(&owner->lock);
	if (owner->gone) {
		mutex_unlock(&owner->lock);
		kfree(owned);
		return -ENODEV;
	}
	kref_get(&owner->ref);
	owned->owner = owner;
	list_add(&owned->node, &owner->buffers);
	buf->owned = owned;
	file->f_mapping = &owned->mapping;
	mutex_unlock(&owner->lock);
	return 0;
}

static void buffer_forget_mms(struct list_head *mms)
{
	struct buffer_mm *bm, *tmp;

	list_for_each_entry_safe(bm, tmp, mms, node) {
		mmdrop(bm->mm);
		kfree(bm);
	}
}

/**
 * dmakit_buffer_detach() - a buffer of an owner is being freed.
 * @buf:  the buffer (buf->owned set); no fd or mapping is left.
 * @free: frees its memory, called unless revocation already did.
 *
 * Drops the buffer's reference to its owner.
 */
void dmakit_buffer_detach(struct dmakit_buffer *buf,
			  void (*free)(struct dmakit_buffer *buf))
{
	struct dmakit_owned *owned = buf->owned;
	struct dmakit_buffer_owner *owner = owned->owner;

	bool revoked;

	mutex_lock(&owner->lock);
	revoked = buf->revoked;
	if (!revoked)
		list_del(&owned->node);
	mutex_unlock(&owner->lock);
	if (revoked)
		wait_for_completion(&owner->revoked);	/* it freed the memory */
	else
		free(buf);
	buffer_forget_mms(&owned->mms);
	buf->owned = NULL;
	kfree(owned);
	dmakit_owner_put(owner);
}

static struct buffer_mm *owned_find_mm(struct dmakit_owned *owned,
				       struct mm_struct *mm)
{
	struct buffer_mm *bm;

	list_for_each_entry(bm, &owned->mms, node)
		if (bm->mm == mm)
			return bm;
	return NULL;
}

/**
 * dmakit_buffer_note_mm() - ->mmap of an owned buffer: note the mm.
 * @buf: the buffer (buf->owned set), in a read section of
 *       dmakit_buffer_srcu, not revoked.
 * @vma: the new VMA, not yet linked into the buffer's address_space.
 *
 * Return: 0, -ENOMEM.
 */
int dmakit_buffer_note_mm(struct dmakit_buffer *buf, struct vm_area_struct *vma)
{
	struct dmakit_owned *owned = buf->owned;
	struct buffer_mm *bm;
	int err = 0;

	mutex_lock(&owned->mm_lock);
	bm = owned_find_mm(owned, vma->vm_mm);
	if (bm) {
		bm->vmas++;
	} else {
		bm = kzalloc_obj(*bm, GFP_KERNEL_ACCOUNT);
		if (bm) {
			bm->mm = vma->vm_mm;
			mmgrab(bm->mm);
			bm->vmas = 1;
			list_add(&bm->node, &owned->mms);
		} else {
			err = -ENOMEM;
		}
	}
	mutex_unlock(&owned->mm_lock);
	return err;
}

/**
 * dmakit_buffer_vma_count() - vm_ops open/close of an owned buffer's VMA.
 * @buf: the buffer (buf->owned set).
 * @vma: the VMA opened (a split or a copy) or closed.
 * @add: opened, else closed.
 *
 * Only an mm noted by ->mmap is counted; the note goes with its last VMA.
 * Miscounts are harmless: the note matters only while that mm's ->mmap is
 * under way, and no open or close of the same mm runs meanwhile.
 */
void dmakit_buffer_vma_count(struct dmakit_buffer *buf,
			     struct vm_area_struct *vma, bool add)
{
	struct dmakit_owned *owned = buf->owned;
	struct buffer_mm *bm;

	mutex_lock(&owned->mm_lock);
	bm = owned_find_mm(owned, vma->vm_mm);
	if (bm && add) {
		bm->vmas++;
	} else if (bm && !--bm->vmas) {
		list_del(&bm->node);
		mmdrop(bm->mm);
		kfree(bm);
	}
	mutex_unlock(&owned->mm_lock);
}

/* every mmap of the buffer under way has finished; the notes are gone */
static void owned_wait_mmaps(struct dmakit_owned *owned)
{
	struct buffer_mm *bm;
	LIST_HEAD(mms);

	mutex_lock(&owned->mm_lock);
	list_splice_init(&owned->mms, &mms);
	mutex_unlock(&owned->mm_lock);
	list_for_each_entry(bm, &mms, node) {
		mmap_read_lock(bm->mm);
		mmap_read_unlock(bm->mm);
	}
	buffer_forget_mms(&mms);
}

/**
 * dmakit_owner_revoke() - the device goes: revoke every buffer of @owner.
 * @owner: the owner.
 * @free:  frees a buffer's memory (the device is still there).
 *
 * Call after the device's engine has stopped and outside its alive
 * section, from the removal path; it may sleep. The caller keeps its
 * reference.
 */
void dmakit_owner_revoke(struct dmakit_buffer_owner *owner,
			 void (*free)(struct dmakit_buffer *buf))
{
	struct dmakit_owned *owned;
	unsigned int n = 0;
	LIST_HEAD(taken);

	mutex_lock(&owner->lock);
	owner->gone = true;
	list_for_each_entry(owned, &owner->buffers, node)
		WRITE_ONCE(owned->buf->revoked, true);
	list_splice_init(&owner->buffers, &taken);
	mutex_unlock(&owner->lock);

	/* the uses that did not see it have ended */
	synchronize_srcu(&dmakit_buffer_srcu);
	/* each buffer stays: its release waits for owner->revoked */
	list_for_each_entry(owned, &taken, node) {
		owned_wait_mmaps(owned);
		/* a later touch faults, and with no fault handler: SIGBUS */
		unmap_mapping_range(&owned->mapping, 0, 0, 1);
		free(owned->buf);
		n++;
	}
	complete_all(&owner->revoked);
	if (n)
		dev_info(owner->dev, "revoked %u buffer%s still open\n", n,
			 n == 1 ? "" : "s");
}
