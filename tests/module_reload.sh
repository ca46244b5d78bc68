#!/bin/sh
# Unload and reload with devices present; unload is refused while in use.
. /tests/tap.sh
MOD=/lib/dmakit/dmakit.ko
n=$(edu_pci_functions)

cycles=0
i=0
while [ $i -lt 10 ]; do
	i=$((i + 1))
	rmmod dmakit || break
	[ ! -e /dev/dmakit ] && [ "$(edu_nodes)" -eq 0 ] && [ "$(edu_irq_lines)" -eq 0 ] || break
	insmod $MOD $DMAKIT_MODPARAMS || break
	[ -c /dev/dmakit ] && [ "$(edu_nodes)" -eq "$n" ] && [ "$(edu_irq_lines)" -eq "$n" ] || break
	cycles=$i
done
tap_check "10 unload/reload cycles with $n devices: nodes and irqs come and go ($cycles done)" \
	[ "$cycles" -eq 10 ]

for node in /dev/dmakit-edu0 /dev/dmakit; do
	exec 3<$node
	if rmmod dmakit 2>/dev/null; then
		tap_fail "unload refused while $node is open"
		insmod $MOD $DMAKIT_MODPARAMS
	else
		tap_ok "unload refused while $node is open"
	fi
	exec 3<&-
done
tap_check "unload works once the nodes are closed" rmmod dmakit
tap_check "reload after that" insmod $MOD $DMAKIT_MODPARAMS
tap_done
