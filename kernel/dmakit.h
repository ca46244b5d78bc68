/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit internals shared between the files of the module.
 */
#ifndef _DMAKIT_H
#define _DMAKIT_H

#include <linux/types.h>

#define DMAKIT_VERSION "0.1.0"

/* core.c: how many device nodes exist, for DMAKIT_IOC_INFO */
void dmakit_device_added(void);
void dmakit_device_removed(void);

/* edu.c: the edu PCI driver */
int dmakit_edu_init(void);
void dmakit_edu_exit(void);

#endif /* _DMAKIT_H */
