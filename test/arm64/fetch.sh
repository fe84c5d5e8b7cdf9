#!/usr/bin/env bash
# fetch.sh fetches (once) what the ARM64 VM boots need from Debian 12's
# arm64 packages, WITHOUT changing the system: no `dpkg --add-architecture`,
# no apt sources, nothing installed. It reads bookworm's binary-arm64
# Packages index from the mirror apt uses, downloads each .deb named
# below, checks its sha256 against that index, unpacks it with
# `dpkg-deb -x` into the cache and prints the cache directory:
#
#   $CACHE/vmlinuz        Debian's arm64 kernel (linux-image-6.1.0-N-arm64,
#                         the N that linux-image-arm64 depends on), signed
#                         for Secure Boot by Debian. It is an uncompressed
#                         arm64 Image that is also a PE/COFF EFI
#                         application (EFI stub, "MZ" at 0, "ARM\x64" at
#                         0x38, an Authenticode signature): no gzip, no
#                         EFI zboot, so it is served as it comes; iPXE and
#                         GRUB load it as an EFI image and the firmware
#                         (or shim) checks its signature.
#   $CACHE/initrd.gz      busybox-static (arm64) initramfs whose /init
#                         prints "BOOTWRIGHT-MARKER cmdline: <cmdline>" to
#                         the console and powers off, as the x86 one from
#                         test/vm/build-image.sh does
#   $CACHE/loaders/       a --tftp-loader-dir tree, laid out by TFTP name:
#                         grubaa64.efi (grub-efi-arm64-signed's
#                         grubnetaa64.efi.signed), shimaa64.efi
#                         (shim-signed's shimaa64.efi.signed) and
#                         grub/arm64-efi/*.mod, *.lst (grub-efi-arm64-bin)
#   $CACHE/VERSION        the packages, their versions and how each .deb
#                         was checked
#
# The chain of trust: InRelease is checked with gpgv against
# /usr/share/keyrings/debian-archive-keyring.gpg; it names the sha256 of
# main/binary-arm64/Packages.xz, which names the sha256 of each .deb. A
# mirror caught between two syncs can serve a Packages.xz its InRelease
# does not name (seen on this machine's package registry for trixie; see
# tftpboot/nbp/README.md). Then the script goes on with a warning, and
# the chain is only as good as the (unsigned) index it read: these files
# are test fixtures, never shipped; VERSION records which chain held.
#
# CACHE is ${BOOTWRIGHT_ARM64_CACHE:-test/arm64/work/cache} (under the
# gitignored work dir). Delete it to pick up newer packages.
#
# Usage: test/arm64/fetch.sh [--selftest]
#   --selftest  also boot the kernel and initramfs directly under AAVMF
#               (no network) and check the marker.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${BOOTWRIGHT_ARM64_CACHE:-$HERE/work/cache}
SUITE=bookworm
# shellcheck source=../../scripts/lib/debian.sh
. "$HERE/../../scripts/lib/debian.sh"
# Bump when the layout of the cache changes, so old caches are rebuilt.
LAYOUT=1

log() { echo "arm64-fetch: $*" >&2; }
die() { log "$*"; exit 1; }

# pe_signed FILE: the PE image FILE carries an Authenticode signature (its
# certificate table, data directory 4 of the PE32+ optional header, is
# not empty). Same check as test/vm/build-image.sh.
pe_signed() {
	local pe size
	pe=$(od -An -t u4 -j 60 -N 4 "$1" | tr -d ' ')
	size=$(od -An -t u4 -j $((pe + 24 + 112 + 32 + 4)) -N 4 "$1" | tr -d ' ')
	[ "${size:-0}" -gt 0 ]
}

# kernel_format FILE: what kind of arm64 kernel image FILE is.
kernel_format() {
	local head
	head=$(od -An -tx1 -N 64 "$1" | tr -d ' \n')
	case $head in
	1f8b*) echo "gzip (a compressed Image: decompress it)" ;;
	4d5a????7a696d67*) echo "EFI zboot (a PE that decompresses itself)" ;;
	4d5a*) [ "${head:112:8}" = 41524d64 ] && echo "Image with EFI stub (PE/COFF, uncompressed)" || echo "PE, not an arm64 Image" ;;
	*) [ "${head:112:8}" = 41524d64 ] && echo "Image without EFI stub" || echo "unknown" ;;
	esac
}

# ---------------------------------------------------------------- fetch ---

download_all() {
	local tmp chain kpkg p st
	tmp=$(mktemp -d "$CACHE/fetch.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT

	deb_index "$SUITE" main arm64 "$tmp" || die "no usable index of $SUITE"
	chain=$DEB_CHAIN
	if [ "$DEB_INDEX_SIGNED" != 1 ]; then
		log "warning: $SUITE's binary-arm64 Packages.xz does not match its signed InRelease;" \
			"the .debs are checked against that unsigned index only"
	fi

	# The kernel ABI the metapackage points at: "pick the one the index has".
	kpkg=$(deb_field "$(deb_stanza "$tmp/Packages" linux-image-arm64)" Depends | grep -oE 'linux-image-6\.1\.0-[0-9]+-arm64' | head -n1)
	[ -n "$kpkg" ] || die "linux-image-arm64 in the index depends on no linux-image-6.1.0-N-arm64"

	: >"$tmp/VERSION"
	for p in "$kpkg" busybox-static grub-efi-arm64-signed grub-efi-arm64-bin shim-signed; do
		st=$(deb_stanza "$tmp/Packages" "$p")
		[ -n "$st" ] || die "$p is not in $SUITE's binary-arm64 index"
		[ "$(deb_field "$st" Architecture)" = arm64 ] || die "$p is not an arm64 package"
		log "downloading $p $(deb_field "$st" Version) ($(($(deb_field "$st" Size) / 1024)) KiB)"
		deb_get "$tmp/Packages" "$p" "$tmp/$p.deb" >>"$tmp/VERSION" || die "$p: download or sha256 failed"
		dpkg-deb -x "$tmp/$p.deb" "$tmp/x"
	done
	echo "checked by: $chain" >>"$tmp/VERSION"

	# What the boots use, by the names they use.
	local x=$tmp/x vmlinuz
	vmlinuz=$(find "$x/boot" -name 'vmlinuz-*-arm64' -type f | head -n1)
	[ -n "$vmlinuz" ] || die "$kpkg has no boot/vmlinuz-*"
	rm -rf "$CACHE/loaders" "$CACHE/busybox"
	mkdir -p "$CACHE/loaders/grub"
	cp "$vmlinuz" "$CACHE/vmlinuz"
	cp "$x/bin/busybox" "$CACHE/busybox"
	cp "$x/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed" "$CACHE/loaders/grubaa64.efi"
	cp "$x/usr/lib/shim/shimaa64.efi.signed" "$CACHE/loaders/shimaa64.efi"
	cp -r "$x/usr/lib/grub/arm64-efi" "$CACHE/loaders/grub/arm64-efi"
	echo "vmlinuz: $(kernel_format "$CACHE/vmlinuz")$(pe_signed "$CACHE/vmlinuz" && echo ", signed")" >>"$tmp/VERSION"
	mv "$tmp/VERSION" "$CACHE/VERSION"
	echo "$LAYOUT" >"$CACHE/layout"
	rm -rf "$tmp"
	trap - EXIT
	sed 's/^/arm64-fetch: /' "$CACHE/VERSION" >&2
}

# ------------------------------------------------------------- initramfs ---

# /init: the marker line of test/vm/build-image.sh (without its callback),
# then power off (PSCI: QEMU exits under -no-reboot).
# shellcheck disable=SC2016 # expanded by the VM's shell, not here
INIT='#!/bin/busybox sh
bb=/bin/busybox
$bb mkdir -p /proc /sys /dev
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 1 >/proc/sys/kernel/printk
echo "BOOTWRIGHT-MARKER cmdline: $($bb cat /proc/cmdline)" >/dev/console
$bb sync
$bb poweroff -f
'

build_initrd() {
	local stamp tmp
	stamp=$(printf '%s' "$INIT" | cat - "$CACHE/busybox" | sha256sum | cut -c1-16)
	if [ -s "$CACHE/initrd.gz" ] && [ "$(cat "$CACHE/initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	tmp=$(mktemp -d "$CACHE/initrd.XXXXXX")
	mkdir -p "$tmp/root/bin" "$tmp/root/dev" "$tmp/root/proc" "$tmp/root/sys"
	cp "$CACHE/busybox" "$tmp/root/bin/busybox"
	chmod 755 "$tmp/root/bin/busybox"
	ln -s busybox "$tmp/root/bin/sh"
	printf '%s' "$INIT" >"$tmp/root/init"
	chmod 755 "$tmp/root/init"
	# The kernel opens /dev/console for init before devtmpfs is mounted.
	mknod -m 600 "$tmp/root/dev/console" c 5 1
	(cd "$tmp/root" && find . -print0 | sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -9 >"$CACHE/initrd.gz.new"
	mv "$CACHE/initrd.gz.new" "$CACHE/initrd.gz"
	echo "$stamp" >"$CACHE/initrd.stamp"
	rm -rf "$tmp"
	log "initramfs: $CACHE/initrd.gz ($(stat -c %s "$CACHE/initrd.gz") bytes)"
}

# -------------------------------------------------------------- selftest ---

# selftest: the pair booted by QEMU's -kernel under AAVMF, no network.
selftest() {
	local dir t0
	dir=$(mktemp -d)
	cp /usr/share/AAVMF/AAVMF_VARS.fd "$dir/vars.fd"
	t0=$SECONDS
	timeout 300 qemu-system-aarch64 -accel tcg -machine virt -cpu max -m 1024 \
		-nographic -no-reboot -nodefaults -serial "file:$dir/serial.log" -monitor none -net none \
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
		-drive "if=pflash,format=raw,file=$dir/vars.fd" \
		-kernel "$CACHE/vmlinuz" -initrd "$CACHE/initrd.gz" \
		-append "console=ttyAMA0 panic=-1 foo=bar" </dev/null >/dev/null 2>&1 || true
	if grep -a 'BOOTWRIGHT-MARKER cmdline:' "$dir/serial.log" | grep -q 'foo=bar'; then
		log "selftest: PASS ($((SECONDS - t0))s) $(grep -a 'BOOTWRIGHT-MARKER' "$dir/serial.log" | tr -d '\r')"
		rm -rf "$dir"
	else
		log "selftest: FAIL ($((SECONDS - t0))s), $dir/serial.log:"
		tail -n 20 "$dir/serial.log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' >&2
		return 1
	fi
}

mkdir -p "$CACHE"
for tool in curl gpgv xz dpkg-deb cpio gzip; do
	command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
if [ "$(cat "$CACHE/layout" 2>/dev/null)" != "$LAYOUT" ] || ! [ -s "$CACHE/vmlinuz" ] ||
	! [ -s "$CACHE/loaders/grub/arm64-efi/http.mod" ] || ! [ -s "$CACHE/busybox" ]; then
	download_all
fi
build_initrd
for arg in "$@"; do
	case $arg in
	--selftest) selftest ;;
	*) die "unknown argument $arg" ;;
	esac
done
echo "$CACHE"
