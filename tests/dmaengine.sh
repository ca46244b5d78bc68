#!/bin/sh
# The kernel's dmaengine channels of the lane's machine: on the zynqmp lane
# the 16 ZDMA channels of QEMU's xlnx-zcu102 (8 GDMA at 0xfd500000, 8 ADMA
# at 0xffa80000; docs/hardware.md), driven by Linux's zynqmp_dma (built by
# scripts/build-module, loaded by /init). Each controller registers one
# dma_device with one channel: dma<N>chan0. dmatest (also built out of
# tree) copies between its own buffers through the channels it is given
# and compares every byte of source and destination (and the guard bytes
# around them); its summary line per thread counts the failures.
# dmakit itself holds the channels the lane names in dma_channels=
# (DMAKIT_DMAENGINE_NODES; tests/dmaengine_test.c uses them): dmatest gets
# the others, which must be free.
# Lanes without a dmaengine provider (DMAKIT_DMA_CHANNELS unset: the x86
# machines) skip.
. /tests/tap.sh
if [ -z "$DMAKIT_DMA_CHANNELS" ]; then
	tap_skip "dmaengine channels" "the lane's machine has no dmaengine provider"
	tap_done
	exit
fi
iterations=${DMAKIT_DMATEST_ITERATIONS:-20}

tap_check "zynqmp_dma is loaded" sh -c 'lsmod | grep -q "^zynqmp_dma "'
chans=$(ls /sys/class/dma 2>/dev/null)
n=$(echo "$chans" | grep -c '^dma[0-9]*chan[0-9]*$')
tap_check "/sys/class/dma has $DMAKIT_DMA_CHANNELS channels ($n)" \
	[ "$n" -eq "$DMAKIT_DMA_CHANNELS" ]
echo "$chans" | sed 's/^/# /'

held() { # is channel $1 one of dmakit's?
	case " $DMAKIT_DMAENGINE_NODES " in *" $1 "*) return 0 ;; esac
	return 1
}
free_chans=
for c in $chans; do
	held "$c" || free_chans="$free_chans $c"
done
nheld=$(echo $DMAKIT_DMAENGINE_NODES | wc -w)

# each channel belongs to a ZDMA controller bound to zynqmp_dma's driver,
# at one of the addresses of the two blocks; dmakit's are in use, the
# others free
gdma=0 adma=0 other=0 busy=0 ours=0
for c in $chans; do
	dev=$(basename "$(readlink -f "/sys/class/dma/$c/device")")
	drv=$(basename "$(readlink -f "/sys/class/dma/$c/device/driver")")
	case "$drv:$dev" in
	xilinx-zynqmp-dma:fd5[0-7]0000.dma-controller) gdma=$((gdma + 1)) ;;
	xilinx-zynqmp-dma:ffa[89a-f]0000.dma-controller) adma=$((adma + 1)) ;;
	*) other=$((other + 1)); echo "# $c: device $dev, driver $drv" ;;
	esac
	if held "$c"; then
		[ "$(cat "/sys/class/dma/$c/in_use")" = 1 ] && ours=$((ours + 1))
	else
		[ "$(cat "/sys/class/dma/$c/in_use")" = 0 ] || busy=$((busy + 1))
	fi
done
tap_check "8 channels are GDMA controllers bound to xilinx-zynqmp-dma ($gdma)" [ "$gdma" -eq 8 ]
tap_check "8 channels are ADMA controllers bound to xilinx-zynqmp-dma ($adma)" [ "$adma" -eq 8 ]
tap_check "no channel of another device or driver ($other)" [ "$other" -eq 0 ]
tap_check "dmakit holds the $nheld channels of dma_channels= ($DMAKIT_DMAENGINE_NODES: $ours in use)" \
	[ "$ours" -eq "$nheld" ]
tap_check "no other channel is in use before dmatest ($busy)" [ "$busy" -eq 0 ]

# dmatest on every free channel: $iterations copies each, one thread per channel
irq_sum() { # the ZDMA controllers' interrupts so far (named by the driver)
	awk '/zynqmp-dma/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
		END { print s + 0 }' /proc/interrupts
}
before=$(irq_sum)
tap_check "insmod dmatest.ko" insmod /lib/dmakit/dmatest.ko
p=/sys/module/dmatest/parameters
echo "$iterations" >$p/iterations
for c in $free_chans; do
	echo "$c" >$p/channel
done
dmesg -c >/dev/null
echo 1 >$p/run
# reading "wait" blocks until every thread has finished
cat $p/wait >/dev/null
dmesg >/tmp/dmatest.log
sed -n 's/^\[[ 0-9.]*\] //; /dmatest: /s/^/# /p' /tmp/dmatest.log | head -40
for c in $free_chans; do
	# the thread is "<chan>-copy0", cut to 15 characters (dma10chan0-copy)
	line=$(grep "dmatest: $c-copy[0-9]*: summary" /tmp/dmatest.log)
	tap_check "dmatest: $c: $iterations copies, every byte checked, 0 failures" \
		sh -c "echo '$line' | grep -q 'summary $iterations tests, 0 failures'"
done
# dmatest logs a "result #" line for each failed copy only
tap_check "dmatest logged no failed copy" sh -c '! grep -q "dmatest: .*result #" /tmp/dmatest.log'
after=$(irq_sum)
tap_check "the ZDMA controllers raised interrupts ($before -> $after)" [ "$after" -gt "$before" ]
# dmatest holds its channels until it is unloaded
tap_check "rmmod dmatest" rmmod dmatest
busy=0
for c in $free_chans; do
	[ "$(cat "/sys/class/dma/$c/in_use")" = 0 ] || busy=$((busy + 1))
done
tap_check "every channel dmatest had is free again after rmmod dmatest ($busy in use)" [ "$busy" -eq 0 ]
tap_done
