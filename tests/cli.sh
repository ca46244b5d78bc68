#!/bin/sh
# The dmakit CLI against the real devices: what it prints is checked, and
# its JSON is parsed (tests/json_check) and compared with the kernel's own
# view (sysfs counters, /proc/PID/pagemap, the data moved).
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS
suite_start=$(date +%s)
T=/tmp/cli
rm -rf $T
mkdir -p $T

# expect "description" "pattern" command...: exit 0 and a line matching pattern
expect() { tap_expect "$@"; }

# status "description" N command...: the command exits with status N
status() {
	desc=$1 want=$2
	shift 2
	"$@" >$T/status.out 2>&1
	got=$?
	if [ "$got" -eq "$want" ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc (exit $got, not $want)"
		sed 's/^/# /' $T/status.out
	fi
}

# jget FILE PATH: a value of a JSON document (empty if absent: the test fails)
jget() { /tests/json_check "$2" <"$1"; }
# jv FILE PATH...: several values at once, space-separated (one process: the
# debug lane pays ~0.1 s for each)
jv() {
	f=$1
	shift
	set -- $(/tests/json_check "$@" <"$f")
	echo "$*"
}

# has "description" PATTERN TEXT: TEXT has a line matching PATTERN
has() {
	if echo "$3" | grep -q -- "$2"; then
		tap_ok "$1"
	else
		tap_fail "$1"
		echo "$3" | sed 's/^/# /'
	fi
}

# same "description" WANT GOT
same() {
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
	else
		tap_fail "$1: want '$2', got '$3'"
	fi
}

# json "description" FILE command...: exit 0 and valid JSON in FILE
json() {
	desc=$1 file=$2
	shift 2
	"$@" >"$file" 2>$T/json.err
	rc=$?
	if [ $rc -eq 0 ] && /tests/json_check <"$file" 2>$T/json.err; then
		tap_ok "$desc"
	else
		tap_fail "$desc (exit $rc)"
		sed 's/^/# /' "$file" $T/json.err | head -n 20
	fi
}

stat_of() { cat /sys/class/misc/$1/stats/$2; }

# wait_for FILE PATTERN: until a background command printed PATTERN (5 s)
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

ndev=$((DMAKIT_EDU_COUNT + ${DMAKIT_HAS_FLOPPY:-0}))

# where the suite's time goes (it has a budget: docs/testing.md)
section() { echo "# cli: $1 from $(($(date +%s) - suite_start)) s"; }

# ---- help and usage ------------------------------------------------------
section "help and usage"
# every command's help comes from one table; a few of them, one of each shape
for c in list translate xfer copy loopback; do
	out=$(dmakit $c --help) || out="(exit status $?)"
	case $out in
	"usage: dmakit $c "*) tap_ok "$c --help prints its usage" ;;
	*) tap_fail "$c --help prints its usage: $out" ;;
	esac
done
expect "dmakit --help lists the commands" "^  copy DEV SIZE" dmakit --help
status "an unknown command exits with status 2" 2 dmakit frobnicate edu0
status "an unknown option exits with status 2" 2 dmakit list --frob
status "an option of another command exits with status 2" 2 dmakit list --count 3
status "too many arguments exit with status 2" 2 dmakit info edu0 edu1
status "a malformed number exits with status 2" 2 dmakit factorial edu0 ten
status "xfer without --to or --from exits with status 2" 2 dmakit xfer edu0
status "an unknown buffer kind exits with status 2" 2 dmakit translate hugepages 4096
status "a coherent buffer without --dev exits with status 2" 2 dmakit alloc coherent 4096

# ---- list, info ------------------------------------------------------------
section "list, info"
list=$(dmakit list 2>&1)
tap_check "list exits 0" [ $? -eq 0 ]
has "list names the module and its version" \
	"^dmakit $(cat /sys/module/dmakit/version), ABI 5, page size 4096, $ndev devices" "$list"
has "list shows dmakit-edu0 with its PCI id" "^dmakit-edu0 .* 1234:11e8" "$list"
has "list shows dmakit-edu1" "^dmakit-edu1 " "$list"
has "list shows the lane from /etc/dmakit/lane.env" "^lane: $DMAKIT_LANE " "$list"
has "list says when no buffer is open" "^buffers: none open" "$list"
json "list --json is valid JSON" $T/list.json dmakit list --json
set -- $(jv $T/list.json module_version abi_version num_devices devices devices.0.name \
	devices.1.name lane buffers)
same "list --json: module_version" "$(cat /sys/module/dmakit/version)" "$1"
same "list --json: abi_version" 5 "$2"
same "list --json: num_devices" $ndev "$3"
same "list --json: one entry per node" $ndev "$4"
same "list --json: devices.0 is dmakit-edu0" dmakit-edu0 "$5"
same "list --json: devices.1 is dmakit-edu1" dmakit-edu1 "$6"
same "list --json: lane" "$DMAKIT_LANE" "$7"
same "list --json: no buffers" 0 "$8"

expect "info shows the id register" "id register 0x010000ed (version 1.0)" dmakit info edu0
expect "info accepts a path" "^name: *dmakit-edu1" dmakit info /dev/dmakit-edu1
expect "info shows the window" "^window: *4095 bytes" dmakit info edu0
json "info --json is valid JSON" $T/info.json dmakit info edu1 --json
iommu=false
[ "$DMAKIT_EXPECT_IOMMU" = 1 ] && iommu=true
set -- $(jv $T/info.json name bus_id hw_id vendor device window dma_mask_bits iommu)
same "info --json: name" dmakit-edu1 "$1"
same "info --json: bus_id is the PCI device's" \
	"$(basename "$(readlink /sys/class/misc/dmakit-edu1/device)")" "$2"
same "info --json: hw_id" 0x10000ed "$3"
same "info --json: vendor:device" 0x1234:0x11e8 "$4:$5"
same "info --json: window" 4095 "$6"
same "info --json: dma_mask_bits" "$DMAKIT_DMA_BITS" "$7"
same "info --json: iommu" $iommu "$8"
if [ "$DMAKIT_HAS_FLOPPY" = 1 ]; then
	has "list shows dmakit-fd0 on its ISA DMA channel" \
		"^dmakit-fd0 *isa:0x3f0 *floppy *ISA *irq 6 *24-bit DMA, channel 2" "$list"
	expect "info fd0 shows the controller and its drive" \
		"^engine: *floppy controller, VERSION 0x90; drive A CMOS type 4, 1474560 bytes" dmakit info fd0
	json "info fd0 --json is valid JSON" $T/fd.json dmakit info fd0 --json
	same "info fd0 --json: the disk's size" 1474560 "$(jget $T/fd.json floppy.disk_size)"
	status "stats of the floppy node: no counters, exit 1" 1 dmakit stats fd0
fi

# ---- edu registers -------------------------------------------------------
section "edu registers"
expect "liveness shows the complement" \
	"wrote 0x12345678, read back 0xedcba987 (its complement: alive)" dmakit liveness edu0 0x12345678
expect "factorial 10 is 3628800" "^10! = 3628800 " dmakit factorial edu1 10
expect "factorial 13 wraps modulo 2^32" "^13! = 1932053504 " dmakit factorial edu0 13
expect "irq is seen by the handler" "raised 0x40; the handler saw and acked 0x40" dmakit irq edu0 0x40
expect "loopback of 4095 bytes is identical" "4095 bytes to the device and back in .*: identical" \
	dmakit loopback edu1 4095
out=$(dmakit loopback edu0 0 2>&1)
has "loopback of 0 bytes reports EINVAL" 'Invalid argument' "$out"
out=$(dmakit info edu9 2>&1)
has "a missing device is named in the error" '/dev/dmakit-edu9: No such file or directory' "$out"

# ---- alloc, map ----------------------------------------------------------
section "alloc, map"
expect "alloc rounds up to pages and verifies" \
	"^vmalloc buffer: 8192 bytes (asked 5000), fd [0-9]*, not mapped" dmakit alloc vmalloc 5000
expect "alloc: the pattern read back is identical" "through write(), read back through read(): identical" \
	dmakit alloc pages 3K
json "alloc --json is valid JSON" $T/alloc.json dmakit alloc contig 12K --json
same "alloc --json: size" 12288 "$(jget $T/alloc.json size)"
same "alloc --json: not mapped, no mapping" "false 0" "$(jv $T/alloc.json mapped mappings)"
same "alloc --json: verified" true "$(jget $T/alloc.json verified)"
json "alloc coherent --dev is valid JSON" $T/coh.json dmakit alloc coherent 4096 --dev edu1 --json
same "alloc coherent --dev: kind and verified" "coherent true" \
	"$(jv $T/coh.json kind verified)"
expect "map fills the buffer through the mapping" "through the mapping, read back through read(): identical" \
	dmakit map pages 16K
json "map --json is valid JSON" $T/map.json dmakit map contig 16K --json
same "map contig: one mapping, its pages by one fault (fault_batch 16)" "true 1 1" \
	"$(jv $T/map.json mapped mappings faults)"
json "map contig --pfnmap --json is valid JSON" $T/mappfn.json dmakit map contig 16K --pfnmap --json
same "map contig --pfnmap: one mapping, no faults (remap_pfn_range at mmap)" "true 1 0" \
	"$(jv $T/mappfn.json mapped mappings faults)"
json "map pages --json is valid JSON" $T/mapp.json dmakit map pages 256K --json
same "map pages: faults install the pages (fault_batch 16: 4 faults)" "true 4" \
	"$(jv $T/mapp.json verified faults)"
json "map pages --premap --json is valid JSON" $T/mappre.json dmakit map pages 256K --premap --json
same "map pages --premap: every page installed at mmap, no fault" "true 1 0" \
	"$(jv $T/mappre.json verified mappings faults)"
status "--premap on contig is EINVAL: exit status 1" 1 dmakit alloc contig 4096 --premap
status "--pfnmap on pages is EINVAL: exit status 1" 1 dmakit alloc pages 4096 --pfnmap
out=$(dmakit alloc pages 0 2>&1)
has "alloc of 0 bytes explains EINVAL in dmakit terms" \
	'Invalid argument: invalid argument: size or length 0' "$out"

# a buffer held by another process: list finds it and describes it
dmakit map pages 8192 --hold >$T/hold.out 2>&1 &
hold=$!
wait_for $T/hold.out identical
expect "list shows a buffer held by another process" \
	"^  pid $hold *dmakit *fd [0-9]* *pages *8192 bytes  1 mapping, 1 fault$" dmakit list
json "list --json with a held buffer is valid JSON" $T/list2.json dmakit list --json
same "list --json: the held buffer" "1 $hold pages 8192 1" \
	"$(jv $T/list2.json buffers buffers.0.pid buffers.0.kind buffers.0.size buffers.0.mappings)"
kill $hold
wait $hold 2>/dev/null

# ---- translate -------------------------------------------------------------
section "translate"
# one row per page; contig is mapped whole and physically in one run
out=$(dmakit translate contig 16384 2>&1)
rows=$(echo "$out" | grep -cE '^[0-9a-f]+ +[0-9a-f]+ ')
tap_check "translate contig shows 4 pages ($rows)" [ "$rows" -eq 4 ]
n=$(echo "$out" | grep -c ' mapped,contig-next$')
tap_check "translate contig: 3 pages are physically followed by the next ($n)" [ "$n" -eq 3 ]
header=$(echo "$out" | sed -n 2p)
row=$(echo "$out" | sed -n 3p)
# aligned: the column "kernel VA" starts where its values start
hcol=$(echo "$header" | awk '{ print index($0, "kernel VA") }')
rcol=$(echo "$row" | awk '{ print index($0, $5) }')
same "translate: the kernel VA column is aligned with its header" "$hcol" "$rcol"
json "translate --json is valid JSON" $T/tr.json dmakit translate contig 16384 --json
same "translate --json: 4 pages" 4 "$(jget $T/tr.json pages)"
ok=1
set -- $(jv $T/tr.json pages.0.pfn pages.0.phys pages.0.mapped_pfn pages.1.pfn pages.1.phys \
	pages.1.mapped_pfn pages.2.pfn pages.2.phys pages.2.mapped_pfn pages.3.pfn pages.3.phys \
	pages.3.mapped_pfn)
[ $# -eq 12 ] || ok=0
first=$1
for i in 0 1 2 3; do
	[ $(($1)) -eq $((first + i)) ] || { ok=0; echo "# page $i: pfn $1"; }
	[ $(($2)) -eq $(($1 * 4096)) ] || { ok=0; echo "# page $i: phys $2"; }
	[ "$3" = "$1" ] || { ok=0; echo "# page $i: mapped_pfn $3"; }
	shift 3
done
tap_check "translate --json contig: consecutive PFNs, phys = pfn * 4096, PTE pfn = pfn" [ $ok -eq 1 ]

old=$(cat /sys/module/dmakit/parameters/fault_batch)
echo 1 >/sys/module/dmakit/parameters/fault_batch
out=$(dmakit translate pages 32768 2>&1)
n=$(echo "$out" | grep -cE ' linear +[A-Za-z0-9]+ +[0-9]+ +1  mapped')
tap_check "translate pages: the 4 touched pages are mapped once ($n)" [ "$n" -eq 4 ]
# map count 0 and not mapped; whether the page happens to be physically
# followed by the next one (",contig-next") is chance for this kind
n=$(echo "$out" | grep -cE ' 0  -(,contig-next)?$')
tap_check "translate pages: the 4 untouched pages are not mapped ($n)" [ "$n" -eq 4 ]
# the PFNs it prints are what the process's page table holds: compare with
# /proc/PID/pagemap of the process while it keeps the mapping (--hold)
dmakit translate pages 16384 --json --hold >$T/trh.json 2>&1 &
hold=$!
wait_for $T/trh.json '"pages"'
ok=1
set -- $(jv $T/trh.json pages.0.uva pages.0.pfn pages.0.mapped_pfn pages.1.uva pages.1.pfn \
	pages.1.mapped_pfn)
[ $# -eq 6 ] || ok=0
for i in 0 1; do
	entry=$(dd if=/proc/$hold/pagemap bs=8 skip=$(($1 / 4096)) count=1 2>/dev/null | od -An -tu8)
	pagemap_pfn=$((entry & 0x7fffffffffffff))
	[ "$pagemap_pfn" -ne 0 ] && [ "$pagemap_pfn" -eq $(($2)) ] && [ "$pagemap_pfn" -eq $(($3)) ] ||
		{ ok=0; echo "# page $i: pagemap $pagemap_pfn, translate $2 $3"; }
	shift 3
done
tap_check "translate pages: its PFNs are the ones in /proc/PID/pagemap" [ $ok -eq 1 ]
kill $hold
wait $hold 2>/dev/null
echo "$old" >/sys/module/dmakit/parameters/fault_batch
expect "translate vmalloc shows vmalloc kernel addresses" " vmalloc " dmakit translate vmalloc 8192
json "translate coherent --dev is valid JSON" $T/trc.json dmakit translate coherent 8192 --dev edu0 --json
same "translate coherent --dev: 2 pages, the first mapped" "2 true" \
	"$(jv $T/trc.json pages pages.0.mapped)"

# ---- xfer ----------------------------------------------------------------
section "xfer"
dd if=/bin/busybox of=$T/src bs=4095 count=1 2>/dev/null
req=$(stat_of dmakit-edu0 requests) comp=$(stat_of dmakit-edu0 completed) bytes=$(stat_of dmakit-edu0 bytes)
json "xfer --to --file --json is valid JSON" $T/xto.json dmakit xfer edu0 --to --file $T/src --json
same "xfer --to: 4095 bytes in one request" "4095 1" "$(jv $T/xto.json bytes requests)"
same "xfer --to: the device's counters moved by one request of 4095 bytes" "1 1 4095" \
	"$(($(stat_of dmakit-edu0 requests) - req)) $(($(stat_of dmakit-edu0 completed) - comp)) $(($(stat_of dmakit-edu0 bytes) - bytes))"
expect "xfer --from prints time and throughput" "^from dmakit-edu0 window \[0, 4095): 4095 bytes in 1 request, .* ms, .*iB/s" \
	dmakit xfer edu0 --from --kind contig --out $T/back
tap_check "xfer --from gives back the file's bytes" cmp $T/src $T/back
dd if=/bin/busybox of=$T/part bs=1000 skip=7 count=1 2>/dev/null
expect "xfer --to --user at an offset" "^to dmakit-edu1 window \[100, 1100): 1000 bytes" \
	dmakit xfer edu1 --to --user --file $T/part --dev-offset 100
expect "xfer --from --user --zerocopy at the offset" "memory: malloc'd" \
	dmakit xfer edu1 --from --user --zerocopy --dev-offset 100 --len 1000 --out $T/partback
tap_check "xfer --user: the bytes came back from the window offset" cmp $T/part $T/partback
json "xfer --staged --json is valid JSON" $T/xst.json dmakit xfer edu1 --from --staged --len 512 --dev-offset 100 --out $T/stback --json
head -c 512 $T/part >$T/part512
tap_check "xfer --staged: the same window bytes" cmp $T/part512 $T/stback
same "xfer --json: direction and memory" "from_device pages 512" \
	"$(jv $T/xst.json direction memory len)"
json "xfer --to from a coherent buffer is valid JSON" $T/xcoh.json dmakit xfer edu0 --to --kind coherent --len 100 --json
same "xfer --to from a coherent buffer: 100 bytes, one segment at its bus address" "coherent 100 1 1" \
	"$(jv $T/xcoh.json memory bytes sg_entries dma_segments)"
out=$(dmakit xfer edu0 --to --len 4096 2>&1)
has "xfer beyond the window explains EINVAL" 'beyond the device window' "$out"

# ---- stats (after the transfers above: the counters differ from each other)
expect "stats names the sysfs directory" "^dmakit-edu0 (/sys/class/misc/dmakit-edu0/stats/)" dmakit stats edu0
json "stats --json is valid JSON" $T/stats.json dmakit stats edu0 --json
counters="requests completed errors cancelled timeouts bytes segments bounced lost_irqs stale_irqs"
want=$(cd /sys/class/misc/dmakit-edu0/stats && echo $(cat $counters))
got=$(jv $T/stats.json $counters)
ok=1
[ "$want" = "$got" ] || { ok=0; echo "# sysfs: $want"; echo "# json:  $got"; }
set -- $got
[ "$6" -gt "$7" ] || { ok=0; echo "# bytes $6 <= segments $7"; }
tap_check "stats --json: every counter equals its sysfs file" [ $ok -eq 1 ]

# ---- copy ----------------------------------------------------------------
section "copy"
req=$(stat_of dmakit-edu1 requests) bytes=$(stat_of dmakit-edu1 bytes) segs=$(stat_of dmakit-edu1 segments)
json "copy --chunk --json is valid JSON" $T/copy.json dmakit copy edu1 12285 --chunk 4095 --json
same "copy --json: verified, no byte differs" "true 0" \
	"$(jv $T/copy.json verified mismatched_bytes)"
same "copy --json: 12285 bytes in 3 requests" "12285 3" "$(jv $T/copy.json bytes requests)"
same "copy: requests and bytes counters moved by 3 and 12285" "3 12285" \
	"$(($(stat_of dmakit-edu1 requests) - req)) $(($(stat_of dmakit-edu1 bytes) - bytes))"
same "copy: the segments counter moved by the results' segments" "$(jget $T/copy.json segments)" \
	"$(($(stat_of dmakit-edu1 segments) - segs))"
same "copy --json: its stats_delta agrees" "3 12285" \
	"$(jv $T/copy.json stats_delta.requests stats_delta.bytes)"
tap_check "copy: a 3-chunk copy of pages buffers takes at least 6 segments" [ "$(jget $T/copy.json segments)" -ge 6 ]
dmakit copy edu0 8190 --kind contig --dst-kind vmalloc --chunk 4095 >$T/copy.out 2>$T/copy.err
tap_check "copy contig -> vmalloc exits 0" [ $? -eq 0 ]
tap_check "copy: the data is verified" grep -q '^  data: verified, 8190 bytes identical' $T/copy.out
tap_check "copy: a throughput summary" grep -q '^copied contig -> vmalloc through dmakit-edu0: 8190 bytes in 2 requests, .* ms, .*iB/s' $T/copy.out
tap_check "copy: plain progress lines on a pipe" grep -q '^copy: 8190/8190 bytes (100%)' $T/copy.err
# on a terminal (tests/on_tty: a pty): one bar redrawn in place, no lines
mkdir -p /dev/pts
grep -q ' /dev/pts devpts ' /proc/mounts || mount -t devpts devpts /dev/pts 2>/dev/null
if [ -c /dev/pts/ptmx ] || [ -c /dev/ptmx ]; then
	/tests/on_tty dmakit copy edu0 8190 --chunk 4095 >$T/tty.out
	tap_check "copy on a terminal exits 0" [ $? -eq 0 ]
	cr=$(tr -cd '\r' <$T/tty.out | wc -c)
	tap_check "copy on a terminal redraws its progress bar in place ($cr carriage returns)" [ "$cr" -ge 2 ]
	tap_check "copy on a terminal: the bar reaches 100%" \
		grep -q 'copy \[##############################\] 100%  8190/8190 bytes' $T/tty.out
	tap_check "copy on a terminal prints no progress lines" \
		sh -c "! grep -q '^copy: [0-9]*/8190 bytes' $T/tty.out"
else
	tap_skip "copy on a terminal" "no pseudo-terminals in this kernel (devpts)"
fi
json "copy --user --json is valid JSON" $T/copyu.json dmakit copy edu0 8190 --user --json
same "copy --user: verified, pinned (not copied)" "true 0" \
	"$(jv $T/copyu.json verified copied)"
# with room for one request at a time (max_inflight_mb=0), EAGAIN waits
was=$(cat /sys/module/dmakit/parameters/max_inflight_mb 2>/dev/null)
echo 0 >/sys/module/dmakit/parameters/max_inflight_mb
json "copy --user --chunk with max_inflight_mb=0 waits for room (EAGAIN)" $T/copyq.json \
	dmakit copy edu0 12285 --chunk 4095 --user --json
same "copy --user one chunk at a time: verified, 3 requests" "true 3" \
	"$(jv $T/copyq.json verified requests)"
[ -n "$was" ] && echo "$was" >/sys/module/dmakit/parameters/max_inflight_mb
json "copy of coherent buffers is valid JSON" $T/copyc.json dmakit copy edu1 5000 --kind coherent --json
same "copy coherent: verified" "true coherent" "$(jv $T/copyc.json verified dst)"

# ---- bench ---------------------------------------------------------------
section "bench"
json "bench --json is valid JSON" $T/bench.json dmakit bench edu0 --count 1 --json
same "bench --json: 7 rows" 7 "$(jget $T/bench.json results)"
paths=
for i in 0 1 2 3 4 5 6; do
	paths="$paths results.$i.bytes results.$i.len results.$i.requests results.$i.device_ns"
done
set -- $(jv $T/bench.json $paths)
ok=1
[ $# -eq 28 ] || ok=0
while [ $# -ge 4 ]; do
	[ "$1" = "$2" ] && [ "$3" = 1 ] && [ "$4" -gt 0 ] || { ok=0; echo "# row: $*"; }
	shift 4
done
tap_check "bench --json: each row moved its bytes in one request, with device time" [ $ok -eq 1 ]
expect "bench prints a table" "^copy  *contig  *8190 " dmakit bench edu1 --count 1

echo "# cli suite: $(($(date +%s) - suite_start)) s"
tap_done
