#!/bin/sh
# Debug kernel only: what the kernel's own checkers say about the whole run.
. /tests/tap.sh
if [ ! -e /sys/kernel/debug/dma-api/error_count ]; then
	tap_skip "DMA-API debug error_count" "kernel without CONFIG_DMA_API_DEBUG"
else
	ec=$(cat /sys/kernel/debug/dma-api/error_count)
	tap_check "DMA-API debug: error_count is 0 ($ec)" [ "$ec" -eq 0 ]
fi
if [ ! -w /sys/kernel/debug/kmemleak ]; then
	tap_skip "kmemleak finds no leak" "kernel without CONFIG_DEBUG_KMEMLEAK"
else
	# kmemleak reports only objects older than 5 s; two scans settle it
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >/tmp/leaks
	if [ -s /tmp/leaks ]; then
		# into the kernel log too, where the lane's splat scanner sees it
		while IFS= read -r line; do echo "kmemleak report: $line" >/dev/kmsg; done </tmp/leaks
		sed 's/^/# /' /tmp/leaks
		tap_fail "kmemleak finds no leak"
	else
		tap_ok "kmemleak finds no leak"
	fi
fi
tap_done
