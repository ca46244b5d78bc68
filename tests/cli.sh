#!/bin/sh
# The dmakit CLI against the real devices: what it prints is checked.
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS

# expect "description" "pattern" command...: exit 0 and a line matching pattern
expect() {
	desc=$1 pattern=$2
	shift 2
	out=$("$@" 2>&1)
	if [ $? -eq 0 ] && echo "$out" | grep -q -- "$pattern"; then
		tap_ok "$desc"
	else
		tap_fail "$desc"
		echo "$out" | sed 's/^/# /'
	fi
}

ndev=$((DMAKIT_EDU_COUNT + ${DMAKIT_HAS_FLOPPY:-0}))
expect "list names the module and its version" \
	"^dmakit $(cat /sys/module/dmakit/version), ABI 4, page size 4096, $ndev devices" dmakit list
expect "list shows dmakit-edu0 with its PCI id" "^dmakit-edu0 .* 1234:11e8" dmakit list
expect "list shows dmakit-edu1" "^dmakit-edu1 " dmakit list
expect "info shows the id register" "id register 0x010000ed (version 1.0)" dmakit info edu0
expect "info accepts a path" "^name: *dmakit-edu1" dmakit info /dev/dmakit-edu1
if [ "$DMAKIT_HAS_FLOPPY" = 1 ]; then
	expect "list shows dmakit-fd0 on its ISA DMA channel" \
		"^dmakit-fd0 *isa:0x3f0 *floppy *ISA *irq 6 *24-bit DMA, channel 2" dmakit list
	expect "info fd0 shows the controller and its drive" \
		"^engine: *floppy controller, VERSION 0x90; drive A CMOS type 4, 1474560 bytes" dmakit info fd0
fi
expect "liveness shows the complement" \
	"wrote 0x12345678, read back 0xedcba987 (its complement: alive)" dmakit liveness edu0 0x12345678
expect "factorial 10 is 3628800" "^10! = 3628800 " dmakit factorial edu1 10
expect "factorial 13 wraps modulo 2^32" "^13! = 1932053504 " dmakit factorial edu0 13
expect "irq is seen by the handler" "raised 0x40; the handler saw and acked 0x40" dmakit irq edu0 0x40
expect "loopback of 4095 bytes is identical" "4095 bytes to the device and back in .*: identical" \
	dmakit loopback edu1 4095

# translate: one row per page; contig is mapped whole and physically in one run
out=$(dmakit translate contig 16384 2>&1)
rows=$(echo "$out" | grep -cE '^[0-9a-f]+ +[0-9a-f]+ ')
tap_check "translate contig shows 4 pages ($rows)" [ "$rows" -eq 4 ]
n=$(echo "$out" | grep -c ' mapped,contig-next$')
tap_check "translate contig: 3 pages are physically followed by the next ($n)" [ "$n" -eq 3 ]
old=$(cat /sys/module/dmakit/parameters/fault_batch)
echo 1 >/sys/module/dmakit/parameters/fault_batch
out=$(dmakit translate pages 32768 2>&1)
echo "$old" >/sys/module/dmakit/parameters/fault_batch
n=$(echo "$out" | grep -cE ' linear +[A-Za-z0-9]+ +[0-9]+ +1 mapped')
tap_check "translate pages: the 4 touched pages are mapped once ($n)" [ "$n" -eq 4 ]
# map count 0 and not mapped; whether the page happens to be physically
# followed by the next one (",contig-next") is chance for this kind
n=$(echo "$out" | grep -cE ' 0 -(,contig-next)?$')
tap_check "translate pages: the 4 untouched pages are not mapped ($n)" [ "$n" -eq 4 ]
expect "translate vmalloc shows vmalloc kernel addresses" " vmalloc " dmakit translate vmalloc 8192
dmakit translate hugepages 4096 >/dev/null 2>&1
tap_check "translate with an unknown kind exits with status 2" [ $? -eq 2 ]

dmakit frobnicate edu0 >/dev/null 2>&1
tap_check "an unknown command exits with status 2" [ $? -eq 2 ]
dmakit factorial edu0 ten >/dev/null 2>&1
tap_check "a malformed number exits with status 2" [ $? -eq 2 ]
out=$(dmakit loopback edu0 0 2>&1)
tap_check "loopback of 0 bytes reports EINVAL" sh -c "echo '$out' | grep -q 'Invalid argument'"
out=$(dmakit info edu9 2>&1)
tap_check "a missing device is named in the error" \
	sh -c "echo '$out' | grep -q '/dev/dmakit-edu9: No such file or directory'"
tap_done
