#!/usr/bin/env bash
# fetch-raspberrypi.sh puts what a Raspberry Pi 4 or 5 reads over TFTP,
# besides its config.txt, cmdline.txt, kernel and initrd (which bootwright
# renders and serves from --assets-dir), into DIR by TFTP name, for
# `bootwright serve --tftp-loader-dir DIR` on a server that is not an
# arm64 Debian with those packages installed:
#
#   bootcode.bin, start*.elf, fixup*.dat, overlays/   from raspi-firmware
#                                                     (non-free-firmware)
#   bcm27*.dtb, bcm2712*.dtb                          from the arm64 kernel
#                                                     package linux-image-arm64
#                                                     depends on (broadcom/)
#
# Nothing is installed and nothing on the system changes; the packages are
# checked along Debian's chain of trust (scripts/lib/debian.sh). Use the
# device trees of the suite whose arm64 kernel your Pi entries boot (the
# default, trixie, has the Pi 5's bcm2712-rpi-5-b.dtb; bookworm's 6.1
# kernel does not). --tftp-loader-dir replaces Debian's paths for every
# loader, so put the other loader files you use in DIR too (README, "Where
# the loaders come from"). DIR/VERSION records what came from where.
#
# When the mirror's index does not match its signed InRelease (a mirror
# between two syncs), the script stops; BOOTWRIGHT_UNVERIFIED_INDEX=1 makes
# it go on against that index alone, and VERSION says so.
#
# Usage: scripts/fetch-raspberrypi.sh DIR [SUITE]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/debian.sh
. "$HERE/lib/debian.sh"

DIR=${1:?usage: fetch-raspberrypi.sh DIR [SUITE]}
SUITE=${2:-trixie}
log() { echo "fetch-raspberrypi: $*" >&2; }
die() { log "$*"; exit 1; }
for tool in curl gpgv xz dpkg-deb; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install curl gpgv xz-utils dpkg)"
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# index COMPONENT: the arm64 index of COMPONENT, or stop when unverified.
index() {
	deb_index "$SUITE" "$1" arm64 "$TMP/$1" || die "no index of $SUITE $1"
	if [ "$DEB_INDEX_SIGNED" != 1 ]; then
		[ "${BOOTWRIGHT_UNVERIFIED_INDEX:-}" = 1 ] ||
			die "$SUITE's $1/binary-arm64 index does not match its signed InRelease (a mirror between syncs?); try later, another mirror (DEBIAN_MIRROR), or BOOTWRIGHT_UNVERIFIED_INDEX=1"
		log "warning: $DEB_CHAIN"
	fi
	echo "checked by: $DEB_CHAIN" >>"$TMP/VERSION"
}

: >"$TMP/VERSION"
index non-free-firmware
index main
kpkg=$(deb_field "$(deb_stanza "$TMP/main/Packages" linux-image-arm64)" Depends | grep -oE 'linux-image-[0-9][^ ,]*-arm64' | head -n1)
[ -n "$kpkg" ] || die "linux-image-arm64 in $SUITE's index depends on no linux-image-*-arm64"
log "downloading raspi-firmware and $kpkg"
deb_get "$TMP/non-free-firmware/Packages" raspi-firmware "$TMP/fw.deb" >>"$TMP/VERSION" || die "raspi-firmware: download or sha256 failed"
deb_get "$TMP/main/Packages" "$kpkg" "$TMP/kernel.deb" >>"$TMP/VERSION" || die "$kpkg: download or sha256 failed"
dpkg-deb -x "$TMP/fw.deb" "$TMP/x"
dpkg-deb -x "$TMP/kernel.deb" "$TMP/x"

mkdir -p "$DIR/overlays"
fw=$TMP/x/usr/lib/raspi-firmware
cp "$fw"/bootcode.bin "$fw"/start*.elf "$fw"/fixup*.dat "$DIR/"
cp "$fw"/overlays/* "$DIR/overlays/"
dtbs=$(find "$TMP/x/usr/lib" -path '*/broadcom/bcm27*.dtb' -type f)
[ -n "$dtbs" ] || die "$kpkg has no broadcom/bcm27*.dtb"
# shellcheck disable=SC2086 # one path per line, no spaces
cp $dtbs "$DIR/"
mv "$TMP/VERSION" "$DIR/VERSION"
log "$(find "$DIR" -type f | wc -l) files in $DIR:"
sed 's/^/  /' "$DIR/VERSION" >&2
ls "$DIR" | grep -E '^(start4\.elf|fixup4\.dat|bcm2711-rpi-4-b\.dtb|bcm2712-rpi-5-b\.dtb)$' >&2
