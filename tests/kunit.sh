#!/bin/sh
# The module's KUnit suites (kernel/*_kunit.c) ran when it was loaded; report
# each of their cases. Only kernels with KUnit (our debug kernel) have them.
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS
if [ ! -d /sys/kernel/debug/kunit ]; then
	tap_skip "KUnit suites of the module" "kernel without CONFIG_KUNIT"
	tap_done
	exit
fi
suites=$(ls -d /sys/kernel/debug/kunit/dmakit_* 2>/dev/null)
tap_check "the module registered its KUnit suites" [ -n "$suites" ]
for s in $suites; do
	name=${s##*/}
	# KTAP: each case is an indented "ok N case" / "not ok N case" line,
	# "ok N case # SKIP reason" when skipped
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		tc=$(echo "$line" | sed -E 's/^ *(not )?ok [0-9]+ //; s/ # .*//')
		case "$line" in
		*"not ok "*) tap_fail "$name.$tc"; sed 's/^/# /' "$s/results" ;;
		*" # SKIP"*) tap_skip "$name.$tc" "${line#* # SKIP}" ;;
		*) tap_ok "$name.$tc" ;;
		esac
	done <<RESULTS
$(grep -E '^    (not )?ok ' "$s/results")
RESULTS
	tap_check "suite $name passed as a whole" grep -q "^ok [0-9]* $name\$" "$s/results"
done
tap_done
