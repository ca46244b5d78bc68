#!/bin/sh
# Unload and reload with devices present: load/use/unload cycles leave no
# device number, interrupt, ISA DMA channel, I/O region, misc device or
# driver binding behind, and give back the same ones each time; unload is
# refused while the module is in use (an open node, a buffer fd alone, a
# mapping of a buffer whose fd is closed).
. /tests/tap.sh
MOD=/lib/dmakit/dmakit.ko
CYCLES=${DMAKIT_RELOAD_CYCLES:-50}
n=$(edu_pci_functions)
t0=$(cut -d' ' -f1 /proc/uptime)

lsmod | grep -q '^dmakit ' || insmod $MOD $DMAKIT_MODPARAMS

# everything of the module's the kernel lists, one item a line (few
# processes: this runs twice a cycle)
held() {
	awk '/dmakit/ { print FILENAME ": " (FILENAME == "/proc/interrupts" ? $1 " " $NF : $0) }' \
		/proc/misc /proc/interrupts /proc/dma /proc/ioports /proc/iomem
	ls -d /sys/class/misc/dmakit* /sys/bus/pci/drivers/dmakit* \
		/sys/bus/pci/drivers/dmakit*/0000:* /dev/dmakit* 2>/dev/null
}

# use the loaded module: a device node (DEV_INFO, a register), a buffer
# (ALLOC, mmap, TRANSLATE) and, with a floppy, the ISA DMA channel, which
# is held exactly while /dev/dmakit-fd0 is open
use() {
	dev=edu$(($1 % n))
	dmakit info $dev | grep -q "^name: *dmakit-$dev\$" || { echo "info $dev"; return 1; }
	dmakit liveness $dev $1 | grep -q 'its complement: alive' || { echo "liveness $dev"; return 1; }
	dmakit translate pages 8192 | grep -q . || { echo "translate"; return 1; }
	if [ "$DMAKIT_HAS_FLOPPY" = 1 ]; then
		# a subshell: a failed exec redirection would end this script
		(exec 3</dev/dmakit-fd0 && grep -q '^ *2: dmakit-fd0$' /proc/dma) 2>/dev/null ||
			{ echo "fd0 cannot be opened, or channel 2 is not held while it is"; return 1; }
		if grep -q dmakit /proc/dma; then
			echo "channel still held after fd0 was closed"
			return 1
		fi
	fi
}

loaded=$(held)
[ -n "$loaded" ] && echo "$loaded" | sed 's/^/# held while loaded: /'
cycles=0
i=0
why=
while [ $i -lt "$CYCLES" ]; do
	i=$((i + 1))
	rmmod dmakit || { why="rmmod refused"; break; }
	left=$(held)
	[ -z "$left" ] || { why="left after unload: $left"; break; }
	insmod $MOD $DMAKIT_MODPARAMS || { why="insmod failed"; break; }
	now=$(held)
	[ "$now" = "$loaded" ] || { why="after load, differs from the first load: $now"; break; }
	why=$(use $i) || break
	cycles=$i
done
[ -n "$why" ] && echo "# cycle $i: $why"
tap_check "$CYCLES load/use/unload cycles with $n devices; each unload leaves nothing, each load holds the same ($cycles done)" \
	[ "$cycles" -eq "$CYCLES" ]
tap_check "one node and one interrupt line per device after the cycles" \
	[ "$(edu_nodes)" -eq "$n" ] && [ "$(edu_irq_lines)" -eq "$n" ]

# a refusal proves something only while the module is there
lsmod | grep -q '^dmakit ' || insmod $MOD $DMAKIT_MODPARAMS

refused() {
	if ! lsmod | grep -q '^dmakit '; then
		tap_fail "unload refused while $1: the module is not loaded"
	elif rmmod dmakit 2>/dev/null; then
		tap_fail "unload refused while $1"
		insmod $MOD $DMAKIT_MODPARAMS
	else
		tap_ok "unload refused while $1"
	fi
}

nodes="/dev/dmakit-edu0 /dev/dmakit"
[ "$DMAKIT_HAS_FLOPPY" = 1 ] && nodes="$nodes /dev/dmakit-fd0"
for node in $nodes; do
	# 0: refused, 1: unloaded, 2: the node did not open
	(exec 3<$node || exit 2; rmmod dmakit 2>/dev/null && exit 1; exit 0) 2>/dev/null
	case $? in
	0) tap_ok "unload refused while $node is open" ;;
	1) tap_fail "unload refused while $node is open"
	   insmod $MOD $DMAKIT_MODPARAMS ;;
	*) tap_fail "unload refused while $node is open: it does not open" ;;
	esac
done

# a helper holds a buffer fd, or a mapping of a buffer whose fd it closed;
# it tells when /dev/dmakit is closed again, then waits for a line
for how in fd map; do
	rm -f /tmp/holder.in /tmp/holder.out
	mkfifo /tmp/holder.in
	/tests/reload_holder $how </tmp/holder.in >/tmp/holder.out &
	pid=$!
	exec 4>/tmp/holder.in
	w=0
	while ! grep -q ready /tmp/holder.out && [ $w -lt 100 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	case $how in
	fd) what="only a buffer fd is open (no node)" ;;
	map) what="only a mapping of a buffer is left (fd closed)" ;;
	esac
	if grep -q ready /tmp/holder.out; then
		refused "$what"
	else
		tap_fail "unload refused while $what: the helper never got ready"
	fi
	echo done >&4
	exec 4>&-
	wait $pid
	tap_check "the helper's buffer ($how) kept its data across the refused unload" [ $? -eq 0 ]
done
rm -f /tmp/holder.in /tmp/holder.out

tap_check "unload works once nothing holds the module" rmmod dmakit
tap_check "nothing is left after it" [ -z "$(held)" ]
tap_check "reload after that" insmod $MOD $DMAKIT_MODPARAMS
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# module_reload: $(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') s wall"
tap_done
