#!/bin/sh
# The programs of examples/ (built on libdmakit, statically) run against the
# real devices; each checks its own data and exits non-zero on a mismatch.
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS
start=$(date +%s)

# run "description" pattern command...: exit 0 and a line matching
# pattern; the example's output goes to the log either way
run() { tap_expect "$@" && echo "$out" | sed 's/^/# /'; }

for kind in contig pages vmalloc; do
	run "map_buffer $kind: mapping and fd agree" \
		"^$kind buffer, 16384 bytes at 0x[0-9a-f]*: 1 mapping(s), .*: identical" \
		/examples/map_buffer $kind 13000
done
# a file of two windows and a bit: three chunks, the last one short
head -c 9000 /bin/busybox >/tmp/example.file
run "dma_file: a file through device memory and back" \
	"^/tmp/example.file: 9000 bytes through dmakit-edu0's memory and back: identical" \
	/examples/dma_file /tmp/example.file
run "dma_file on edu1 by path" "through dmakit-edu1's memory" \
	/examples/dma_file /tmp/example.file /dev/dmakit-edu1
run "zero_copy: malloc -> device -> malloc, pinned" \
	"^10000 bytes malloc -> device -> malloc, pinned (zero-copy): .*: identical" \
	/examples/zero_copy edu1 10000

/examples/dma_file /tmp/example.file edu9 >/tmp/example.out 2>&1
rc=$?
tap_check "dma_file on a missing device fails with a dmakit explanation (exit $rc)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'is the dmakit module loaded' /tmp/example.out"
/examples/map_buffer hugepages >/dev/null 2>&1
tap_check "map_buffer with an unknown kind exits with status 2" [ $? -eq 2 ]

echo "# examples suite: $(($(date +%s) - start)) s"
tap_done
