#!/usr/bin/env bash
# build-image.sh builds (once) the test kernel and initramfs the VM boot tests
# serve, and prints the cache directory that holds them:
#
#   $CACHE/vmlinuz      a Debian 6.1 kernel (cloud flavour preferred, newest
#                       ABI apt-cache offers when first built)
#   $CACHE/initrd.gz    busybox-static initramfs whose /init prints
#                       "BOOTWRIGHT-MARKER cmdline: <proc/cmdline>" to the
#                       console and powers off
#
# CACHE is ${BOOTWRIGHT_TEST_CACHE:-$HOME/.cache/bootwright-test}. The kernel
# is downloaded with apt-get download only when the cache has none; the
# initramfs is rebuilt when its /init (below) changes. Delete the cache
# directory to pick up a newer kernel.
#
# Usage: test/vm/build-image.sh [--selftest]
#   --selftest  also boot the pair directly (qemu -kernel/-initrd, BIOS and
#               OVMF) and check the marker, as a check of the images alone.
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

build_kernel() {
	[ -s "$CACHE/vmlinuz" ] && return 0
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
	echo "$pkg $(dpkg-deb -f "$deb" Version)" >"$CACHE/kernel.pkg"
	mv "$CACHE/vmlinuz.new" "$CACHE/vmlinuz"
	rm -rf "$tmp"
	log "kernel: $(cat "$CACHE/kernel.pkg")"
}

# ------------------------------------------------------------- initramfs ---

# /init: one marker line on the console, then power off. printk is quietened
# first so kernel messages do not interleave with the marker.
# shellcheck disable=SC2016 # expanded by the VM's shell, not here
INIT='#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 1 >/proc/sys/kernel/printk
echo "BOOTWRIGHT-MARKER cmdline: $(/bin/busybox cat /proc/cmdline)" >/dev/console
/bin/busybox sync
/bin/busybox poweroff -f
'

build_initrd() {
	local busybox=/bin/busybox stamp tmp
	if ! [ -x "$busybox" ] || ! file_is_static "$busybox"; then
		log "$busybox is missing or not static: install busybox-static"
		exit 1
	fi
	stamp=$(printf '%s' "$INIT" | cat - "$busybox" | sha256sum | cut -c1-16)
	if [ -s "$CACHE/initrd.gz" ] && [ "$(cat "$CACHE/initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	tmp=$(mktemp -d "$CACHE/initrd.XXXXXX")
	mkdir -p "$tmp/root/bin" "$tmp/root/dev" "$tmp/root/proc" "$tmp/root/sys"
	cp "$busybox" "$tmp/root/bin/busybox"
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
if [ "${1:-}" = --selftest ]; then
	selftest >&2
fi
echo "$CACHE"
