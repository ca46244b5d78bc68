#!/bin/sh
# The module's KUnit suites (kernel/*/*_kunit.c) ran when it was loaded; report
# each of their cases. Only kernels with KUnit (our debug kernel) have them.
# The KTAP comes from the kernel log: debugfs keeps only 512 bytes of log per
# case, so a failing case's messages can push its own result line out there.
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS
if [ ! -d /sys/kernel/debug/kunit ]; then
	tap_skip "KUnit suites of the module" "kernel without CONFIG_KUNIT"
	tap_done
	exit
fi
suites=$(cd /sys/kernel/debug/kunit && ls -d dmakit_* 2>/dev/null)
tap_check "the module registered its KUnit suites" [ -n "$suites" ]
dmesg | sed -E 's/^\[[ 0-9.]+\] ?//' >/tmp/kmsg
for name in $suites; do
	# the suite's last run: from its last "# Subtest:" to its own result
	awk -v name="$name" '
		$0 == "    # Subtest: " name { n = 0; delete run }
		{ run[n++] = $0 }
		$0 ~ "^(not )?ok [0-9]+ " name "$" { for (i = 0; i < n; i++) print run[i]; exit }
	' /tmp/kmsg >/tmp/ktap
	planned=$(sed -n 's/^    1\.\.\([0-9]*\)$/\1/p' /tmp/ktap)
	reported=0
	while IFS= read -r line; do
		tc=$(echo "$line" | sed -E 's/^ *(not )?ok [0-9]+ //; s/ # .*//')
		reported=$((reported + 1))
		case "$line" in
		*"not ok "*) tap_fail "$name.$tc"; grep "# $tc:" -A3 /tmp/ktap | sed 's/^/# /' ;;
		*" # SKIP"*) tap_skip "$name.$tc" "${line#* # SKIP}" ;;
		*) tap_ok "$name.$tc" ;;
		esac
	done <<RESULTS
$(grep -E '^    (not )?ok [0-9]+ ' /tmp/ktap)
RESULTS
	tap_check "suite $name reported all its ${planned:-?} cases ($reported)" \
		[ -n "$planned" ] && [ "$reported" -eq "$planned" ]
	tap_check "suite $name passed as a whole" grep -q "^ok [0-9]* $name\$" /tmp/ktap
done
tap_done
