#!/usr/bin/env bash
# build-image.sh builds (once) the test kernel and initramfs the VM boot tests
# serve, and prints the cache directory that holds them:
#
#   $CACHE/vmlinuz      a Debian 6.1 kernel (cloud flavour preferred, newest
#                       ABI apt-cache offers when first built)
#   $CACHE/vmlinuz.signed  (only with --signed) the same kernel from
#                       Debian's signed package (linux-image-6.1.0-N-FLAVOUR,
#                       signed for Secure Boot by Debian's key, which shim
#                       trusts), for the Secure Boot tests
#   $CACHE/modules/     the kernel's virtio-net driver modules
#   $CACHE/initrd.gz    busybox-static initramfs whose /init prints
#                       "BOOTWRIGHT-MARKER cmdline: <proc/cmdline>" to the
#                       console and powers off; with
#                       bootwright.callback=URL on the command line it
#                       first brings up eth0 with DHCP, POSTs to URL and
#                       prints "BOOTWRIGHT-CALLBACK ok" (or failed)
#
# CACHE is ${BOOTWRIGHT_TEST_CACHE:-$HOME/.cache/bootwright-test}. The kernel
# is downloaded with apt-get download only when the cache has none; the
# initramfs is rebuilt when its /init (below) changes. Delete the cache
# directory to pick up a newer kernel.
#
# Usage: test/vm/build-image.sh [--selftest] [--signed]
#   --selftest  also boot the pair directly (qemu -kernel/-initrd, BIOS and
#               OVMF) and check the marker, as a check of the images alone.
#   --signed    also fetch (once) vmlinuz.signed.
set -euo pipefail

CACHE=${BOOTWRIGHT_TEST_CACHE:-${HOME:-/root}/.cache/bootwright-test}
mkdir -p "$CACHE"

log() { echo "build-image: $*" >&2; }

# ---------------------------------------------------------------- kernel ---

# newest_kernel_pkg FLAVOUR prints the linux-image-6.1.0-N-FLAVOUR[-unsigned]
# package apt-cache offers with the highest N, or nothing.
newest_kernel_pkg() {
	local flavour=$1 pkg
	# The metapackage names the current ABI; prefer it.
	pkg=$(apt-cache depends "linux-image-$flavour" 2>/dev/null |
		sed -n "s/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-$flavour\)\$/\1/p" | head -n1)
	if [ -z "$pkg" ]; then
		pkg=$(apt-cache search --names-only "^linux-image-6\.1\.0-[0-9]+-$flavour(-unsigned)?\$" 2>/dev/null |
			awk '{print $1}' | sed 's/-unsigned$//' | sort -uV | tail -n1)
	fi
	[ -n "$pkg" ] || return 0
	# The -unsigned package is the same kernel without a signature wrapper
	# package dance; take it when it exists, else the signed one.
	if apt-cache show "$pkg-unsigned" >/dev/null 2>&1; then
		echo "$pkg-unsigned"
	elif apt-cache show "$pkg" >/dev/null 2>&1; then
		echo "$pkg"
	fi
}

# NET_MODULES are the modules the initramfs loads, in order, to reach the
# network through QEMU's virtio-net (built as modules in Debian's kernels).
NET_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"

build_kernel() {
	[ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/modules/virtio_net.ko" ] && return 0
	local pkg="" flavour tmp deb
	for attempt in 1 2; do
		for flavour in cloud-amd64 amd64; do
			pkg=$(newest_kernel_pkg "$flavour")
			[ -n "$pkg" ] && break 2
		done
		# No package lists yet (fresh machine): fetch them once.
		[ "$attempt" = 1 ] || break
		log "no linux-image-6.1 package known to apt-cache; running apt-get update"
		if [ "$(id -u)" -eq 0 ]; then apt-get update -qq; else sudo apt-get update -qq; fi
	done
	[ -n "$pkg" ] || { log "cannot find a linux-image-6.1.0-*-amd64 package"; exit 1; }

	tmp=$(mktemp -d "$CACHE/kernel.XXXXXX")
	log "downloading $pkg"
	(cd "$tmp" && timeout 600 apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null)
	deb=$(ls "$tmp"/*.deb)
	dpkg -x "$deb" "$tmp/x"
	local vmlinuz
	vmlinuz=$(find "$tmp/x/boot" -name 'vmlinuz-*' -type f | head -n1)
	[ -n "$vmlinuz" ] || { log "$deb has no boot/vmlinuz-*"; exit 1; }
	cp "$vmlinuz" "$CACHE/vmlinuz.new"
	rm -rf "$CACHE/modules" && mkdir -p "$CACHE/modules"
	local m f
	for m in $NET_MODULES; do
		f=$(find "$tmp/x/lib/modules" -name "$m.ko*" | head -n1)
		[ -n "$f" ] || { log "$deb has no $m module"; exit 1; }
		case $f in
		*.xz) xz -dc "$f" >"$CACHE/modules/$m.ko" ;;
		*) cp "$f" "$CACHE/modules/$m.ko" ;;
		esac
	done
	echo "$pkg $(dpkg-deb -f "$deb" Version)" >"$CACHE/kernel.pkg"
	mv "$CACHE/vmlinuz.new" "$CACHE/vmlinuz"
	rm -rf "$tmp"
	log "kernel: $(cat "$CACHE/kernel.pkg")"
}

# pe_signed FILE succeeds when the PE image FILE carries an Authenticode
# signature: its certificate table (data directory 4 of the PE32+ optional
# header) is not empty.
pe_signed() {
	local pe size
	pe=$(od -An -t u4 -j 60 -N 4 "$1" | tr -d ' ')
	size=$(od -An -t u4 -j $((pe + 24 + 112 + 32 + 4)) -N 4 "$1" | tr -d ' ')
	[ "${size:-0}" -gt 0 ]
}

# build_signed_kernel fetches Debian's signed build of the cached kernel:
# the package without -unsigned, same version when the archive still has
# it, else its newest version (the initramfs modules, used only for
# bootwright.callback, may then not match it).
build_signed_kernel() {
	[ -s "$CACHE/vmlinuz.signed" ] && return 0
	local pkg ver signed tmp deb vmlinuz
	read -r pkg ver <"$CACHE/kernel.pkg"
	signed=${pkg%-unsigned}
	tmp=$(mktemp -d "$CACHE/signed.XXXXXX")
	log "downloading $signed $ver"
	if ! (cd "$tmp" && timeout 600 apt-get download -qq -o APT::Sandbox::User=root "$signed=$ver" >/dev/null 2>&1); then
		log "$signed $ver is not offered any more; taking its newest version"
		(cd "$tmp" && timeout 600 apt-get download -qq -o APT::Sandbox::User=root "$signed" >/dev/null) ||
			{ log "cannot download $signed (delete $CACHE to start from a current kernel)"; rm -rf "$tmp"; exit 1; }
	fi
	deb=$(ls "$tmp"/*.deb)
	dpkg -x "$deb" "$tmp/x"
	vmlinuz=$(find "$tmp/x/boot" -name 'vmlinuz-*' -type f | head -n1)
	[ -n "$vmlinuz" ] || { log "$deb has no boot/vmlinuz-*"; exit 1; }
	pe_signed "$vmlinuz" || { log "$deb: $vmlinuz carries no signature"; exit 1; }
	cp "$vmlinuz" "$CACHE/vmlinuz.signed.new"
	echo "$signed $(dpkg-deb -f "$deb" Version)" >"$CACHE/kernel.signed.pkg"
	mv "$CACHE/vmlinuz.signed.new" "$CACHE/vmlinuz.signed"
	rm -rf "$tmp"
	log "signed kernel: $(cat "$CACHE/kernel.signed.pkg")"
}

# ------------------------------------------------------------- initramfs ---

# /init: one marker line on the console, then power off. printk is quietened
# first so kernel messages do not interleave with the marker. With
# bootwright.callback=URL it plays an installer that reports success: DHCP
# on eth0, then a POST to URL.
# shellcheck disable=SC2016 # expanded by the VM's shell, not here
INIT='#!/bin/busybox sh
bb=/bin/busybox
$bb mkdir -p /proc /sys /dev
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 1 >/proc/sys/kernel/printk
cb=$($bb sed -n "s/.*bootwright\.callback=\([^ ]*\).*/\1/p" /proc/cmdline)
if [ -n "$cb" ]; then
	for m in '"$NET_MODULES"'; do $bb insmod /lib/modules/$m.ko 2>/dev/null; done
	for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; $bb sleep 0.5; done
	$bb ip link set eth0 up
	$bb udhcpc -i eth0 -n -q -t 10 -T 2 -s /bin/udhcpc.script >/dev/null 2>&1
	if $bb wget -q -O /dev/null --post-data "" "$cb"; then r=ok; else r=failed; fi
	echo "BOOTWRIGHT-CALLBACK $r" >/dev/console
fi
echo "BOOTWRIGHT-MARKER cmdline: $($bb cat /proc/cmdline)" >/dev/console
$bb sync
$bb poweroff -f
'
# udhcpc calls this with the lease in its environment.
# shellcheck disable=SC2016
UDHCPC_SCRIPT='#!/bin/busybox sh
case "$1" in bound|renew) /bin/busybox ip addr add "$ip/${mask:-24}" dev "$interface" ;; esac
'

build_initrd() {
	local busybox=/bin/busybox stamp tmp
	if ! [ -x "$busybox" ] || ! file_is_static "$busybox"; then
		log "$busybox is missing or not static: install busybox-static"
		exit 1
	fi
	stamp=$(printf '%s' "$INIT$UDHCPC_SCRIPT" | cat - "$busybox" "$CACHE"/modules/*.ko | sha256sum | cut -c1-16)
	if [ -s "$CACHE/initrd.gz" ] && [ "$(cat "$CACHE/initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	tmp=$(mktemp -d "$CACHE/initrd.XXXXXX")
	mkdir -p "$tmp/root/bin" "$tmp/root/dev" "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/lib/modules"
	cp "$busybox" "$tmp/root/bin/busybox"
	cp "$CACHE"/modules/*.ko "$tmp/root/lib/modules/"
	printf '%s' "$UDHCPC_SCRIPT" >"$tmp/root/bin/udhcpc.script"
	chmod 755 "$tmp/root/bin/udhcpc.script"
	ln -s busybox "$tmp/root/bin/sh"
	printf '%s' "$INIT" >"$tmp/root/init"
	chmod 755 "$tmp/root/init"
	# The kernel opens /dev/console for init before devtmpfs is mounted.
	mknod -m 600 "$tmp/root/dev/console" c 5 1 2>/dev/null || true
	(cd "$tmp/root" && find . -print0 | sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -9 >"$CACHE/initrd.gz.new"
	mv "$CACHE/initrd.gz.new" "$CACHE/initrd.gz"
	echo "$stamp" >"$CACHE/initrd.stamp"
	rm -rf "$tmp"
	log "initramfs: $CACHE/initrd.gz ($(stat -c %s "$CACHE/initrd.gz") bytes)"
}

file_is_static() {
	# busybox-static installs /bin/busybox; the dynamic busybox package
	# would need its libraries inside the initramfs.
	! LC_ALL=C ldd "$1" >/dev/null 2>&1
}

# -------------------------------------------------------------- selftest ---

selftest() {
	local dir fw log ovmf_vars rc=0
	dir=$(mktemp -d)
	for fw in bios uefi; do
		log="$dir/$fw.log"
		local args=(-accel tcg -m 512 -nographic -no-reboot -display none
			-serial "file:$log" -monitor none -net none
			-kernel "$CACHE/vmlinuz" -initrd "$CACHE/initrd.gz"
			-append "console=ttyS0 panic=-1 foo=bar")
		if [ "$fw" = uefi ]; then
			ovmf_vars="$dir/vars.fd"
			cp /usr/share/OVMF/OVMF_VARS_4M.fd "$ovmf_vars"
			# shellcheck disable=SC2054
			args+=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
				-drive "if=pflash,format=raw,file=$ovmf_vars")
		fi
		local t0=$SECONDS
		timeout 240 qemu-system-x86_64 "${args[@]}" </dev/null >/dev/null 2>&1 || true
		if grep -a 'BOOTWRIGHT-MARKER cmdline:' "$log" | grep -q 'foo=bar'; then
			echo "selftest $fw: PASS ($((SECONDS - t0))s) $(grep -a 'BOOTWRIGHT-MARKER' "$log" | tr -d '\r')"
		else
			echo "selftest $fw: FAIL ($((SECONDS - t0))s)"
			tail -n 20 "$log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g'
			rc=1
		fi
	done
	rm -rf "$dir"
	return $rc
}

build_kernel
build_initrd
for arg in "$@"; do
	case $arg in
	--signed) build_signed_kernel ;;
	--selftest) ;;
	*) log "unknown argument $arg"; exit 2 ;;
	esac
done
for arg in "$@"; do
	[ "$arg" != --selftest ] || selftest >&2
done
echo "$CACHE"
