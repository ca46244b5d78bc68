#!/bin/sh
# tests/peers.sh load|unload NAME: the kernel's own dma-buf peer NAME
# (vivid, vgem) and the modules it needs, from /lib/dmakit/peers, where
# vm/mkinitramfs put them with NAME.order (their files in load order) or
# NAME.missing (why this kernel has none). The dmabuf_peers suite calls it.
# load: exit 2 with the reason on stdout when the kernel has no such module.
# unload: removes what load inserted, in reverse order, but for the
# dependencies another loaded module still holds.
dir=/lib/dmakit/peers

# the parameters each module gets
params() {
	case $1 in
	# one instance with one webcam input and a video capture node only
	# (single-planar, vmalloc buffers: it vmaps an imported dma-buf), no
	# error-injection controls
	vivid.ko) echo "n_devs=1 node_types=0x1 num_inputs=1 input_types=0" \
		"multiplanar=1 allocators=0 no_error_inj=1" ;;
	esac
}

loaded() {
	[ -d "/sys/module/$(echo "${1%.ko}" | tr - _)" ]
}

case $1 in
load)
	if [ ! -r "$dir/$2.order" ]; then
		cat "$dir/$2.missing" 2>/dev/null || echo "$2 is not in the initramfs"
		exit 2
	fi
	for ko in $(cat "$dir/$2.order"); do
		loaded "$ko" && continue
		# shellcheck disable=SC2046
		insmod "$dir/$ko" $(params "$ko") || exit 1
	done
	;;
unload)
	[ -r "$dir/$2.order" ] || exit 0
	for ko in $(sed -n '1!G;h;$p' "$dir/$2.order"); do
		loaded "$ko" || continue
		# a dependency another peer still uses (our 7.3: drm and
		# videodev both need i2c-core) goes with that peer
		name=$(echo "${ko%.ko}" | tr - _)
		[ "$ko" != "$2.ko" ] &&
			[ -n "$(ls "/sys/module/$name/holders" 2>/dev/null)" ] &&
			continue
		rmmod "$name" || exit 1
	done
	;;
*)
	echo "usage: $0 load|unload NAME" >&2
	exit 2
	;;
esac
