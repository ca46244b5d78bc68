# Sourced by tap.sh and run-suites (busybox sh).
# rmmod dmakit, waiting up to 5 s for the module references that go only
# after an RCU grace period: each fence of dmakit's own DMA holds one until
# it is freed (kernel/dma/fence.c), so an unload right after the last
# dma-buf transfer can find the module still in use for a moment
rmmod_dmakit() {
	_i=0
	while ! rmmod dmakit 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -lt 50 ] || { rmmod dmakit; return 1; }
		sleep 0.1
	done
}
