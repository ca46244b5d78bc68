# Lane definitions, sourced by vm/run-lane. A lane is one QEMU machine and
# kernel; lane_<name> sets:
#   kernel     an ID of scripts/kernel: deb6.1, deb6.12 (Debian's), debug,
#              bench (ours, 7.3), bench-6.1
#   machine    QEMU -M;  mem: -m;  qemu_extra: further QEMU arguments
#   append     extra kernel command line
#   modparams  dmakit.ko parameters the lane needs
#   floppy     1: attach build/lanes/<lane>/floppy.img (1.44 MB, a known
#              pattern, checked after the run: vm/floppy-image) as drive A;
#              such a lane says DMAKIT_HAS_FLOPPY=1 in its env
#   disk       a size (64M): attach an empty raw image of that size as a
#              virtio disk (vda in the guest; the kernel needs VIRTIO_BLK)
#   env        what the lane set up, for the tests (/etc/dmakit/lane.env)
#   timeout    seconds for the whole boot
#   console    the kernel console's serial port (ttyS0; zynqmp: ttyPS0); the
#              TAP stream goes to the next one (ttyS1, ttyPS1)
#   dtb        a device tree of the kernel's package (arm64), fixed up by
#              vm/<dtb_fixup> before the boot
#   preload    modules of /lib/dmakit (built by scripts/build-module) that
#              /init loads before anything else
#   suites     the lane's suites when not all of tests/run-suites (those left
#              out are reported as skipped, with the lane's reason)
# The architecture, hence QEMU's binary and the guest's userland, follows
# from the kernel (scripts/kernel ID arch).
# Two edu devices on every x86 lane (edu_pair): one node per device is part
# of what is tested.
# A 64 MiB virtio disk on the functional x86 lanes (with_disk): O_DIRECT and
# io_uring from every buffer kind's mapping on a real block device
# (tests/buffer_test.c, direct.*); /init loads its modules (vm/mkinitramfs).

# module_reload runs 50 load/use/unload cycles (the debug lane, iommu lanes);
# on the stock kernel's `pc` machine each edu probe or remove costs ~0.23 s
# under TCG (50 cycles: ~50 s), so its lanes run fewer.
pc_reload_cycles=20

edu_pair() {
	qemu_extra+=(-device "edu$1" -device "edu$1")
	edu_count=2
}

with_disk() {
	disk=64M
	env+=(DMAKIT_DISK=/dev/vda)
}

# The full functional set (stock, iommu, iommu-lazy, bounce) runs on
# Debian 13's 6.12 LTS; 6.1 (Debian 12) keeps stock and iommu (stock-6.1,
# iommu-6.1); the debug lane and the benchmarks run our 7.3.

# Debian's kernel on the classic PC. 256 MiB keeps every page within edu's
# default 28-bit DMA mask: without IOMMU or swiotlb (not set up below 4 GiB
# of RAM) memory beyond the mask cannot be given to the device at all.
lane_stock() {
	kernel=deb6.12 machine=pc mem=256M floppy=1
	edu_pair ""
	env=(DMAKIT_DMA_BITS=28 DMAKIT_EXPECT_IOMMU=0 DMAKIT_EXPECT_BOUNCE=0
		DMAKIT_HAS_FLOPPY=1 DMAKIT_RELOAD_CYCLES=$pc_reload_cycles)
	with_disk
}

# Intel VT-d: bus addresses are IOVAs, strict invalidation.
lane_iommu() {
	kernel=deb6.12 machine=q35 mem=512M
	qemu_extra=(-device intel-iommu)
	edu_pair ""
	append="intel_iommu=on iommu.strict=1"
	env=(DMAKIT_DMA_BITS=28 DMAKIT_EXPECT_IOMMU=1 DMAKIT_EXPECT_BOUNCE=0
		DMAKIT_IOMMU_POLICY=strict)
	with_disk
}

# The same with lazy IOTLB invalidation (flush queue): unmaps are batched.
# Here edu is a 64-bit device (dma_mask all ones, dma_bits=64) and
# iommu.forcedac=1 makes the IOVA allocator skip the space below 4 GiB
# that it prefers for PCI devices: bus addresses are above 4 GiB.
lane_iommu-lazy() {
	kernel=deb6.12 machine=q35 mem=512M
	qemu_extra=(-device intel-iommu)
	edu_pair ",dma_mask=0xffffffffffffffff"
	modparams="dma_bits=64"
	append="intel_iommu=on iommu.strict=0 iommu.forcedac=1"
	env=(DMAKIT_DMA_BITS=64 DMAKIT_EXPECT_IOMMU=1 DMAKIT_EXPECT_BOUNCE=0
		DMAKIT_IOMMU_POLICY=lazy DMAKIT_EXPECT_DAC=1)
	with_disk
}

# More RAM than a 32-bit device reaches: the kernel sets up swiotlb below
# 4 GiB and streaming mappings of high pages bounce through it.
lane_bounce() {
	kernel=deb6.12 machine=pc mem=5G
	edu_pair ",dma_mask=0xffffffff"
	modparams="dma_bits=32"
	env=(DMAKIT_DMA_BITS=32 DMAKIT_EXPECT_IOMMU=0 DMAKIT_EXPECT_BOUNCE=1
		DMAKIT_CLIENTS=1 DMAKIT_RELOAD_CYCLES=$pc_reload_cycles)
	with_disk
}

# Debian 12's 6.1: the same machines as stock and iommu
lane_stock-6.1() {
	lane_stock
	kernel=deb6.1
}

lane_iommu-6.1() {
	lane_iommu
	kernel=deb6.1
}

# Our kernel (7.3) with KASAN, lockdep, DMA-API debug, kmemleak, fault injection.
# 1 GiB (KASAN takes its share); 32-bit edu so that all of it is reachable.
# cma=128M: room for a 64 MiB contig buffer beside the kernel's own users.
# acpi=noirq: with ACPI's interrupt routing, every pci_enable_device() and
# pci_disable_device() runs AML that takes ~16 s under KASAN + lockdep +
# kmemleak on TCG (measured: rmmod of 2 devices 33 s, 0.24 s with noirq);
# INTx is then routed by the BIOS's PIRQ table. Stock lanes keep ACPI.
lane_debug() {
	kernel=debug machine=pc mem=1G floppy=1
	edu_pair ",dma_mask=0xffffffff"
	modparams="dma_bits=32"
	append="kasan_multi_shot acpi=noirq cma=128M"
	env=(DMAKIT_DMA_BITS=32 DMAKIT_EXPECT_IOMMU=0 DMAKIT_EXPECT_BOUNCE=0
		DMAKIT_HAS_CMA=1 DMAKIT_CLIENTS=1 DMAKIT_HAS_FLOPPY=1)
	with_disk
}

# Benchmarks (make bench, not make check): our kernel without the debug set,
# so that timings mean something; it has CMA and udmabuf for comparison,
# and a block layer: a 64 MiB virtio disk for O_DIRECT on a real disk.
lane_bench() {
	kernel=bench machine=pc mem=1G disk=64M
	# 32-bit edu: all of the 1 GiB is reachable without IOMMU or swiotlb
	edu_pair ",dma_mask=0xffffffff"
	modparams="dma_bits=32"
	append="cma=128M"
	env=(DMAKIT_DMA_BITS=32 DMAKIT_EXPECT_IOMMU=0 DMAKIT_EXPECT_BOUNCE=0
		DMAKIT_HAS_CMA=1 DMAKIT_DISK=/dev/vda)
}

# the bench kernel behind VT-d (strict), for the mapping-cost comparison
lane_bench-iommu() {
	kernel=bench machine=q35 mem=512M
	qemu_extra=(-device intel-iommu)
	edu_pair ""
	append="intel_iommu=on iommu.strict=1"
	env=(DMAKIT_DMA_BITS=28 DMAKIT_EXPECT_IOMMU=1 DMAKIT_EXPECT_BOUNCE=0)
}

# the bench kernel with 5 GiB and a 32-bit edu: high pages bounce
lane_bench-bounce() {
	kernel=bench machine=pc mem=5G
	edu_pair ",dma_mask=0xffffffff"
	modparams="dma_bits=32"
	env=(DMAKIT_DMA_BITS=32 DMAKIT_EXPECT_IOMMU=0 DMAKIT_EXPECT_BOUNCE=1)
}

# the bench lane on our 6.1 build, kept for comparison with 7.3
lane_bench-6.1() {
	lane_bench
	kernel=bench-6.1
}

# arm64: QEMU's xlnx-zcu102 (ZynqMP) with Debian's 6.12 for arm64, and a real
# dmaengine provider: the 16 ZDMA channels, driven by Linux's zynqmp_dma
# (Debian does not build it: scripts/build-module does, from linux-source),
# on the board's device tree fixed up for a boot without firmware
# (vm/zynqmp-dtb). No PCI here, so no edu and no node but the control one;
# the lane runs the suites that need no edu device and the dmaengine one
# (the channels, dmatest on each). 2 GiB, all below 4 GiB; no IOMMU (the
# SMMU is left out); 2 CPUs (QEMU's default 4 A53 cost more under TCG).
lane_zynqmp() {
	kernel=deb6.12-arm64 machine=xlnx-zcu102 mem=2G
	qemu_extra=(-smp 2)
	console=ttyPS0 dtb=xilinx/zynqmp-zcu102-rev1.0.dtb dtb_fixup=zynqmp-dtb
	preload=(zynqmp_dma)
	# the others need an edu device (edu, edu_intx, xfer, xfer_intx, dio,
	# removal, foreign, stress, security, clients, fuzz, cli, examples,
	# module_reload), the PC's floppy controller (fdc) or our debug kernel
	# with its edu (faultinject); kunit and debug_checks skip on Debian's
	# kernel (no KUnit, no DMA-API debug, no kmemleak)
	suites=(module_load control nodes buffer introspect kunit dmaengine dmaengine_xfer module_unload debug_checks)
	# dmakit drives two channels (one node each, tests/dmaengine_test.c),
	# dmatest the 14 others (tests/dmaengine.sh)
	modparams="dma_channels=dma0chan0,dma15chan0"
	# cma=128M: room for a 64 MiB contig buffer (Debian's default is 64M)
	append="cma=128M"
	env=(DMAKIT_EXPECT_IOMMU=0 DMAKIT_EXPECT_BOUNCE=0 DMAKIT_HAS_CMA=1 DMAKIT_DMA_CHANNELS=16
		"DMAKIT_DMAENGINE_NODES='dma0chan0 dma15chan0'"
		"DMAKIT_LANE_SKIPPED='needs an edu device, the PC floppy controller or our debug kernel; xlnx-zcu102 has no PCI and no ISA'")
	timeout=600
}
