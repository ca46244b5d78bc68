#!/bin/sh
# Lanes without a floppy drive: the module loads all the same, creates no
# floppy node, says why in the kernel log, and holds none of the
# controller's resources.
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS

tap_check "no /dev/dmakit-fd0 node" [ ! -e /dev/dmakit-fd0 ]
why=$(dmesg | grep 'dmakit: fd: .*: no dmakit-fd0' | tail -n 1)
echo "# kernel log: ${why:-nothing}"
tap_check "the kernel log says why there is no dmakit-fd0" [ -n "$why" ]
tap_check "dmakit holds no ISA DMA channel (/proc/dma)" sh -c '! grep -q dmakit /proc/dma'
tap_check "dmakit holds no floppy controller port (/proc/ioports)" sh -c '! grep -q dmakit /proc/ioports'
tap_check "no dmakit-fd0 interrupt in /proc/interrupts" sh -c '! grep -q dmakit-fd0 /proc/interrupts'
tap_done
