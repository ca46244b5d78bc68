#!/bin/sh
# The last unload of the run leaves nothing behind.
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS
tap_check "rmmod dmakit" rmmod_dmakit
tap_check "no dmakit node left in /dev" [ -z "$(ls /dev | grep dmakit)" ]
tap_check "no dmakit interrupt left in /proc/interrupts" [ "$(edu_irq_lines)" -eq 0 ]
tap_check "driver dmakit-edu is gone from the PCI bus" [ ! -e /sys/bus/pci/drivers/dmakit-edu ]
tap_check "no misc device named dmakit left" [ -z "$(grep dmakit /proc/misc)" ]
tap_check "no ISA DMA channel held by dmakit (/proc/dma)" [ -z "$(grep dmakit /proc/dma)" ]
tap_check "no I/O ports held by dmakit (/proc/ioports)" [ -z "$(grep dmakit /proc/ioports)" ]
# the dmaengine channels of dma_channels= are released (the zynqmp lane)
if [ -d /sys/class/dma ]; then
	busy=$(cat /sys/class/dma/*/in_use 2>/dev/null | grep -c 1)
	tap_check "every dmaengine channel is free ($busy in use)" [ "$busy" -eq 0 ]
fi
tap_check "the kernel log says the module unloaded" sh -c "dmesg | grep -q 'dmakit: unloaded'"
tap_done
