#!/bin/sh
# The device nodes as the kernel presents them to udev: what
# udev/60-dmakit.rules matches on and what scripts/check-udev rebuilds on
# the host as made-up sysfs devices (a misc class device named after the
# node; the control and floppy nodes virtual, each edu node a child of its
# PCI function, bound to dmakit-edu), and the modes devtmpfs gives them
# before any rule runs (docs/abi.md: 0666 control node, 0600 the others).
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS

# node DEVPATH-PATTERN MODE: one misc node, checked against the pattern
node() {
	name=$1 want_path=$2 want_mode=$3
	sys=$(readlink -f "/sys/class/misc/$name")
	echo "# $name: ${sys#/sys}, /dev/$name $(stat -c '%a %u:%g' "/dev/$name" 2>&1)"
	# shellcheck disable=SC2254 # the pattern is meant to match
	case ${sys#/sys} in
	$want_path) tap_ok "$name: sysfs path is $want_path" ;;
	*) tap_fail "$name: sysfs path is $want_path" ;;
	esac
	tap_check "$name: uevent says MAJOR=10 and DEVNAME=$name" \
		sh -c "grep -qx MAJOR=10 '$sys/uevent' && grep -qx 'DEVNAME=$name' '$sys/uevent'"
	tap_check "$name: subsystem is misc" \
		[ "$(basename "$(readlink -f "$sys/subsystem")")" = misc ]
	tap_check "$name: /dev/$name is mode $want_mode (devtmpfs, before udev)" \
		[ "$(stat -c %a "/dev/$name")" = "$want_mode" ]
}

node dmakit /devices/virtual/misc/dmakit 666
for dev in /dev/dmakit-edu*; do
	[ -e "$dev" ] || continue # no edu node (the zynqmp lane): skipped below
	name=${dev#/dev/}
	node "$name" "/devices/pci*/????:??:??.?/misc/$name" 600
	pci=$(readlink -f "/sys/class/misc/$name/../..")
	tap_check "$name: its parent is a PCI function bound to dmakit-edu" \
		[ "$(basename "$(readlink -f "$pci/subsystem")")" = pci -a \
		  "$(basename "$(readlink -f "$pci/driver")")" = dmakit-edu ]
done
n=$(edu_nodes)
tap_check "one edu node per edu device the lane has ($n)" [ "$n" -eq "$DMAKIT_EDU_COUNT" ]
[ "$n" -gt 0 ] ||
	tap_skip "dmakit-edu*: sysfs path, mode and PCI parent" "no edu device on this lane"
# dmaengine nodes (the lane's dma_channels=): children of the channel's
# controller, which is the channel's device in /sys/class/dma
n=0
for c in $DMAKIT_DMAENGINE_NODES; do
	name=dmakit-$c
	node "$name" "/devices/platform/*/misc/$name" 600
	ctl=$(readlink -f "/sys/class/misc/$name/../..")
	tap_check "$name: its parent is the controller of $c" \
		[ "$ctl" = "$(readlink -f "/sys/class/dma/$c/device")" ]
	n=$((n + 1))
done
[ "$n" -gt 0 ] ||
	tap_skip "dmakit-dma*chan*: sysfs path, mode and controller" "no dmaengine channel on this lane"
if [ -e /dev/dmakit-fd0 ]; then
	node dmakit-fd0 /devices/virtual/misc/dmakit-fd0 600
else
	tap_skip "dmakit-fd0: sysfs path and mode" "no floppy node on this lane"
fi
tap_done
