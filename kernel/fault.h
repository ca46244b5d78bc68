/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fault.h - the module's fault-injection points (test hooks); see fault.c.
 */
#ifndef _DMAKIT_FAULT_H
#define _DMAKIT_FAULT_H

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/fault-inject.h>
#include <linux/types.h>

#ifndef CONFIG_FAULT_INJECTION_DEBUG_FS
/* fault.c's fallback: the fields of struct fault_attr it implements */
struct dmakit_fault_attr {
	unsigned long probability;	/* percent */
	unsigned long interval;
	atomic_t times;			/* -1: no limit */
	atomic_t space;
	unsigned long verbose;
	atomic_long_t count;		/* calls counted for interval */
};
#endif

/**
 * struct dmakit_fault - one fault-injection point.
 * @name: its directory in /sys/kernel/debug/dmakit/.
 * @attr: the kernel's fault_attr where it has CONFIG_FAULT_INJECTION_DEBUG_FS,
 *        else fault.c's copy of the fields it implements.
 */
struct dmakit_fault {
	const char *name;
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	struct fault_attr attr;
#else
	struct dmakit_fault_attr attr;
#endif
};

/* a DMA mapping call of the transfer path fails as if the DMA API refused it */
extern struct dmakit_fault dmakit_fault_dma_map;
/* a DMA segment runs without its completion interrupt */
extern struct dmakit_fault dmakit_fault_drop_irq;
/* a floppy transfer leaves the ISA DMA channel masked */
extern struct dmakit_fault dmakit_fault_fdc_mask_channel;
/* a floppy transfer asks for sector 19, which a 1.44 MB track lacks */
extern struct dmakit_fault dmakit_fault_fdc_bad_sector;

bool __dmakit_should_fail(struct dmakit_fault *f);

/**
 * dmakit_should_fail() - must this call of the point fail?
 * @f: the point; any context.
 *
 * Unarmed (probability 0), the usual case, costs one load and no call, and
 * never reaches should_fail(): that would count, and at its turn fail, the
 * caller's /proc/thread-self/fail-nth, which is for allocations only.
 *
 * Return: true if the call must fail.
 */
static inline bool dmakit_should_fail(struct dmakit_fault *f)
{
	return READ_ONCE(f->attr.probability) && __dmakit_should_fail(f);
}

void dmakit_fault_init(void);
void dmakit_fault_exit(void);

#endif /* _DMAKIT_FAULT_H */
