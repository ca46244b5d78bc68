#!/bin/sh
# Real clients of the edu node, no client code of ours: busybox dd with and
# without O_DIRECT, and fio with the psync, libaio and io_uring engines,
# verifying what it wrote (crc32c). The node is a file of 4095 bytes of
# device memory (the edu window): offsets are window offsets.
. /tests/tap.sh
lsmod | grep -q '^dmakit ' || insmod /lib/dmakit/dmakit.ko $DMAKIT_MODPARAMS
dev=/dev/dmakit-edu0

# dd: 7 blocks of 512 bytes out and back, each way with and without direct
dd if=/dev/urandom of=/tmp/pattern bs=512 count=7 2>/dev/null
for oflag in "" direct; do
	for iflag in "" direct; do
		dd if=/dev/zero of=$dev bs=512 count=7 2>/dev/null
		rm -f /tmp/back
		if dd if=/tmp/pattern of=$dev bs=512 count=7 ${oflag:+oflag=$oflag} 2>/tmp/dd.err &&
			dd if=$dev of=/tmp/back bs=512 count=7 ${iflag:+iflag=$iflag} 2>>/tmp/dd.err &&
			cmp /tmp/pattern /tmp/back; then
			tap_ok "dd 3584 bytes in 512-byte blocks, oflag=${oflag:-none} iflag=${iflag:-none}: identical"
		else
			sed 's/^/# /' /tmp/dd.err
			tap_fail "dd 3584 bytes in 512-byte blocks, oflag=${oflag:-none} iflag=${iflag:-none}: identical"
		fi
	done
done
# one read of the whole window stops at its end
dd if=/tmp/pattern of=$dev bs=3584 count=1 2>/dev/null
n=$(dd if=$dev bs=8192 count=1 2>/dev/null | wc -c)
tap_check "dd reads the whole window and stops at its end ($n bytes)" [ "$n" -eq 4095 ]

if ! command -v fio >/dev/null; then
	for e in psync libaio io_uring; do
		tap_skip "fio $e writes and verifies the window" "no fio in this lane's initramfs"
	done
	tap_done
	exit
fi
for engine in psync libaio io_uring; do
	depth=1
	[ $engine = psync ] || depth=4
	if fio --name=$engine --filename=$dev --size=3584 --bs=512 --rw=write \
		--ioengine=$engine --iodepth=$depth --direct=1 --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --output=/tmp/fio.out >/tmp/fio.err 2>&1 &&
		grep -q "err= 0" /tmp/fio.out; then
		tap_ok "fio $engine (iodepth $depth, direct) writes 7 x 512 bytes and verifies them"
	else
		sed 's/^/# /' /tmp/fio.err /tmp/fio.out
		tap_fail "fio $engine (iodepth $depth, direct) writes 7 x 512 bytes and verifies them"
	fi
done
# a verify that cannot pass: the data on the device is not what fio wrote
fio --name=neg --filename=$dev --size=3584 --bs=512 --rw=write --ioengine=psync \
	--direct=1 --verify=crc32c --do_verify=0 >/dev/null 2>&1
dd if=/dev/zero of=$dev bs=512 count=1 seek=3 2>/dev/null
# (it must fail for that reason: a verify error, not any error)
if fio --name=neg --filename=$dev --size=3584 --bs=512 --rw=read --ioengine=psync \
	--direct=1 --verify=crc32c --verify_only=1 >/tmp/fio.out 2>&1 ||
	! grep -qi "verify" /tmp/fio.out; then
	sed 's/^/# /' /tmp/fio.out
	tap_fail "fio's verify fails after one block of the device was overwritten"
else
	tap_ok "fio's verify fails after one block of the device was overwritten"
fi
tap_done
