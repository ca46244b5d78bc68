#!/bin/sh
# The module loads with the lane's parameters, binds every edu device, and
# refuses parameters it cannot honour.
. /tests/tap.sh
MOD=/lib/dmakit/dmakit.ko
lsmod | grep -q '^dmakit ' && rmmod dmakit

tap_check "insmod dmakit.ko $DMAKIT_MODPARAMS" insmod $MOD $DMAKIT_MODPARAMS
tap_check "control node /dev/dmakit is a character device" test -c /dev/dmakit
n=$(edu_pci_functions)
tap_check "the lane has $DMAKIT_EDU_COUNT edu functions on PCI (found $n)" \
	[ "$n" -eq "$DMAKIT_EDU_COUNT" ]
tap_check "one node per edu device ($(edu_nodes) nodes)" [ "$(edu_nodes)" -eq "$n" ]
bound=$(ls -d /sys/bus/pci/drivers/dmakit-edu/0000:* 2>/dev/null | wc -l)
tap_check "every edu function is bound to driver dmakit-edu ($bound)" [ "$bound" -eq "$n" ]
tap_check "one interrupt line per device in /proc/interrupts ($(edu_irq_lines))" \
	[ "$(edu_irq_lines)" -eq "$n" ]
named=$(dmesg | grep -c 'dmakit-edu[0-9]*: edu 1\.0, ')
tap_check "the kernel log names each bound device ($named)" [ "$named" -ge "$n" ]
p=0
while [ "$p" -lt "$DMAKIT_EDU_COUNT" ]; do
	tap_check "node dmakit-edu$p is owned by root, mode 0600" \
		[ "$(stat -c '%a %u' /dev/dmakit-edu$p)" = "600 0" ]
	p=$((p + 1))
done
[ "$DMAKIT_EDU_COUNT" -gt 0 ] ||
	tap_skip "edu nodes are owned by root, mode 0600" "no edu device on this lane"
tap_check "control node is mode 0666" [ "$(stat -c %a /dev/dmakit)" = 666 ]
if [ -n "$DMAKIT_IOMMU_POLICY" ]; then
	tap_check "the IOMMU invalidates its TLB in $DMAKIT_IOMMU_POLICY mode, as the lane set up" \
		sh -c "dmesg | grep -q 'TLB invalidation policy: $DMAKIT_IOMMU_POLICY mode'"
fi

rmmod dmakit
for bad in irq_mode=bogus dma_bits=8 dma_bits=65; do
	if insmod $MOD $bad 2>/dev/null; then
		tap_fail "insmod refuses $bad"
		rmmod dmakit
	elif [ -e /dev/dmakit ]; then
		tap_fail "insmod refuses $bad and leaves no node behind"
	else
		tap_ok "insmod refuses $bad and leaves no node behind"
	fi
done
# dmaengine channels (lanes with a provider): a channel that cannot be had
# refuses the load, and the ones taken before it are released again
if [ -n "$DMAKIT_DMAENGINE_NODES" ]; then
	first=${DMAKIT_DMAENGINE_NODES%% *}
	for bad in dma_channels=nosuchchan dma_channels=any:0 dma_channels=any:99 \
		dma_channels=$first,$first dma_channels=$first,nosuchchan \
		dma_channels=$first,,$first dma_channels=$first+dma_window=100; do
		args=$(echo "$bad" | tr + ' ')
		# shellcheck disable=SC2086 # the parameters are meant to split
		if insmod $MOD $args 2>/dev/null; then
			tap_fail "insmod refuses $args"
			rmmod dmakit
		else
			busy=$(cat /sys/class/dma/*/in_use | grep -c 1)
			tap_check "insmod refuses $args, holding no channel afterwards ($busy)" \
				[ ! -e /dev/dmakit -a "$busy" -eq 0 ]
		fi
	done
	# any:N: N free memcpy channels, whichever
	if insmod $MOD dma_channels=any:2; then
		n=$(ls /dev | grep -c '^dmakit-dma[0-9]*chan[0-9]*$')
		busy=$(cat /sys/class/dma/*/in_use | grep -c 1)
		tap_check "dma_channels=any:2 makes 2 nodes on 2 channels ($n, $busy)" \
			[ "$n" -eq 2 -a "$busy" -eq 2 ]
		rmmod dmakit
	else
		tap_fail "dma_channels=any:2 makes 2 nodes on 2 channels"
	fi
	msg=$(dmesg | grep -c 'dmakit: dma_channels: nosuchchan: no free DMA_MEMCPY channel of that name')
	tap_check "the refusal of an unknown channel is explained in the kernel log" [ "$msg" -ge 1 ]
fi
msg=$(dmesg | grep -c 'dmakit: irq_mode=bogus: expected msi or intx')
tap_check "the refusal of irq_mode=bogus is explained in the kernel log" [ "$msg" -ge 1 ]
tap_check "insmod works again after the refusals" insmod $MOD $DMAKIT_MODPARAMS
tap_done
