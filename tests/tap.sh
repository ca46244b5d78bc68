# TAP helpers for the shell suites (busybox sh). Source it, then call
# tap_ok / tap_fail / tap_check, and tap_done at the end.
tap_n=0
tap_failed=0
echo "TAP version 13"

tap_ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n $*"
}

tap_fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n $*"
}

tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n $1 # SKIP $2"
}

# tap_check "description" command [args...]
tap_check() {
	desc=$1
	shift
	if "$@"; then
		tap_ok "$desc"
	else
		tap_fail "$desc"
	fi
}

# tap_expect "description" pattern command [args...]: the command exits 0
# and prints a line matching pattern; its output is left in $out and shown
# on a failure. Returns 0 on a pass.
tap_expect() {
	desc=$1 pattern=$2
	shift 2
	out=$("$@" 2>&1)
	if [ $? -eq 0 ] && echo "$out" | grep -q -- "$pattern"; then
		tap_ok "$desc"
		return 0
	fi
	tap_fail "$desc"
	echo "$out" | sed 's/^/# /'
	return 1
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# how many device nodes / PCI functions / interrupt lines dmakit has now
edu_nodes() { ls /dev/dmakit-edu* 2>/dev/null | wc -l; }
edu_pci_functions() {
	n=0
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1234:0x11e8" ] && n=$((n + 1))
	done
	echo $n
}
edu_irq_lines() { grep -c 'dmakit-edu' /proc/interrupts; }

. /tests/unload.sh
