#!/usr/bin/env bash
# mirror.sh builds (once) the small local Debian 12 mirror that
# `make installtest` installs from, the way a lab keeps a partial mirror:
# Debian's own signed indices, and only the files an unattended install
# of bookworm fetches. Nothing is re-signed, so the installer checks the
# mirror with the Debian archive key it carries (no throwaway key, no
# allow_unauthenticated): a suite's InRelease (and Release + Release.gpg,
# which the installer reads) is checked with gpgv against
# /usr/share/keyrings/debian-archive-keyring.gpg; it names the sha256 of
# each index; each index names the sha256 of each .deb and .udeb.
#
#   $CACHE/debian/dists/bookworm/            Release files; main and
#       non-free-firmware binary-amd64, debian-installer and i18n indices
#       (the installer and the installed system's apt read those), each
#       also under by-hash/SHA256/ (apt asks there: Acquire-By-Hash)
#   $CACHE/debian/dists/bookworm/main/installer-amd64/current/images/
#       netboot/debian-installer/amd64/{linux,initrd.gz}: the netboot
#       installer, checked against images/SHA256SUMS (named by Release),
#       where menus/default.yaml's debian-12-installer entry looks
#   $CACHE/debian/dists/bookworm-updates/    the same indices
#   $CACHE/debian-security/dists/bookworm-security/  the same indices
#   $CACHE/debian/pool/, $CACHE/debian-security/pool/:
#       - every udeb of main/debian-installer except kernel modules for
#         another kernel ABI than the netboot installer's (anna loads
#         udebs from here), as far as DEBIAN_MIRROR serves them: those
#         it answers 404 for are listed in $CACHE/missing-udebs;
#       - Priority required and important (debootstrap's set) and
#         test/install/packages.txt, each with its dependencies and
#         recommends, resolved by apt (a private configuration, an empty
#         dpkg status, this mirror as its only source) for BIOS and for
#         UEFI, once with bookworm alone (debootstrap and the kernel come
#         before apt-setup adds the other suites) and once with all three.
#   $CACHE/VERSION   suites' dates, counts, size and download time
#   The netboot installer comes from the Debian package
#   debian-installer-12-netboot-amd64, not DEBIAN_MIRROR (see netboot).
#
# Re-runs reuse the cache: it is rebuilt when packages.txt, this
# script's LAYOUT or the mirrors (DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR)
# change, and the security suite's indices are fetched again (with any new .deb they name) once its Valid-Until has passed.
# CACHE is ${BOOTWRIGHT_INSTALL_CACHE:-test/install/work/mirror}.
#
# Usage: test/install/mirror.sh        prints the mirror's directory
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${BOOTWRIGHT_INSTALL_CACHE:-$HERE/work/mirror}
# shellcheck source=../../scripts/lib/debian.sh
. "$HERE/../../scripts/lib/debian.sh"
SEC_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
NETBOOT=main/installer-amd64/current/images/netboot/debian-installer/amd64
DI=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
# Bump when the layout changes, so old caches are rebuilt.
LAYOUT=2

log() { echo "install-mirror: $*" >&2; }
die() { log "$*"; exit 1; }

# release BASE SUITE DIR: DIR/dists/SUITE/InRelease from BASE, checked
# with gpgv, Release (its signed text, which is what BASE serves as
# Release) and Release.gpg. apt reads InRelease; the installer reads
# Release and Release.gpg, so for the installer's suite (bookworm) the
# pair must check too. Elsewhere a Release.gpg that does not match (this
# machine's package registry has served a month-old one for
# bookworm-updates) is left out: apt never needs it beside InRelease.
release() {
	local base=$1 suite=$2 d=$3/dists/$2
	mkdir -p "$d"
	deb_fetch "$base/dists/$suite/InRelease" "$d/InRelease.new" || return 1
	gpgv --keyring "$DEB_KEYRING" --output "$d/Release.new" "$d/InRelease.new" 2>"$d/gpgv.log" ||
		{ cat "$d/gpgv.log" >&2; die "$base/dists/$suite/InRelease is not signed by Debian's archive key"; }
	rm -f "$d/Release.gpg"
	if deb_fetch "$base/dists/$suite/Release.gpg" "$d/Release.gpg.new" &&
		gpgv --keyring "$DEB_KEYRING" "$d/Release.gpg.new" "$d/Release.new" 2>"$d/gpgv.log"; then
		mv "$d/Release.gpg.new" "$d/Release.gpg"
	elif [ "$suite" = bookworm ]; then
		cat "$d/gpgv.log" >&2
		die "$base/dists/$suite/Release.gpg does not sign its InRelease's text (the mirror is between two syncs?); run again later"
	else
		log "warning: $base/dists/$suite/Release.gpg does not sign its InRelease's text; left out (apt reads InRelease)"
	fi
	mv "$d/InRelease.new" "$d/InRelease"
	mv "$d/Release.new" "$d/Release"
	rm -f "$d/Release.gpg.new" "$d/gpgv.log"
}

# index BASE SUITE DIR PATH: PATH (main/binary-amd64/Packages.xz) of SUITE,
# checked against the sha256 its Release names, and linked under
# by-hash/SHA256/ beside it.
index() {
	local base=$1 suite=$2 d=$3/dists/$2 path=$4 want
	want=$(awk -v f="$path" '/^SHA256:/ { s = 1; next } /^[A-Z]/ { s = 0 } s && $3 == f { print $1 }' "$d/Release")
	[ -n "$want" ] || die "$suite's Release names no $path"
	mkdir -p "$(dirname "$d/$path")/by-hash/SHA256"
	if ! [ -f "$d/$path" ] || [ "$(deb_sha "$d/$path")" != "$want" ]; then
		deb_fetch "$base/dists/$suite/$path" "$d/$path.new" || die "cannot fetch $base/dists/$suite/$path"
		[ "$(deb_sha "$d/$path.new")" = "$want" ] || die "$base/dists/$suite/$path does not match its Release"
		mv "$d/$path.new" "$d/$path"
	fi
	ln -f "$d/$path" "$(dirname "$d/$path")/by-hash/SHA256/$want"
}

# suite BASE SUITE DIR: a suite's Release files and the indices an
# install reads, for main and non-free-firmware (apt-setup adds it): for
# the installed system's apt, binary-amd64/Packages.xz and
# i18n/Translation-en.xz; for the installer (bookworm only), the
# debian-installer index and the .gz forms too. Each only when the
# Release names it (bookworm-updates and -security have no .gz), and at
# least main's Packages.xz.
suite() {
	local base=$1 suite=$2 dir=$3 c p paths=(binary-amd64/Packages.xz i18n/Translation-en.xz)
	[ "$suite" != bookworm ] || paths+=(binary-amd64/Packages.gz binary-amd64/Release
		debian-installer/binary-amd64/Packages.xz debian-installer/binary-amd64/Packages.gz)
	release "$base" "$suite" "$dir"
	for c in main non-free-firmware; do
		for p in "${paths[@]}"; do
			named "$dir/dists/$suite/Release" "$c/$p" || [ "$c/$p" = main/binary-amd64/Packages.xz ] || continue
			index "$base" "$suite" "$dir" "$c/$p"
		done
	done
}

# named RELEASE PATH: RELEASE's SHA256 list names PATH.
named() { awk -v f="$2" '/^SHA256:/ { s = 1; next } /^[A-Z]/ { s = 0 } s && $3 == f { n = 1 } END { exit !n }' "$1"; }

# pool BASE DIR FILENAME SHA256: one pool file, checked.
pool() {
	local f=$2/$3
	[ -f "$f" ] && [ "$(deb_sha "$f")" = "$4" ] && return 0
	mkdir -p "$(dirname "$f")"
	deb_fetch "$1/$3" "$f.new" || die "cannot fetch $1/$3"
	[ "$(deb_sha "$f.new")" = "$4" ] || die "$1/$3 does not match its index"
	mv "$f.new" "$f"
}

# hashes PACKAGES...: "Filename sha256" for every stanza.
hashes() {
	xz -dcf "$@" | awk '/^Filename:/ { f = $2 } /^SHA256:/ { h = $2 } /^$/ { if (f != "") print f, h; f = "" }'
}

# netboot: the installer's kernel and initrd. The package registry
# serves the archive but not the installer images, so they come from
# Debian's package debian-installer-12-netboot-amd64 (scripts/deps), and
# are checked against the SHA256SUMS the signed Release names.
netboot() {
	local d=$CACHE/debian/dists/bookworm f want
	index "$DEB_MIRROR" bookworm "$CACHE/debian" main/installer-amd64/current/images/SHA256SUMS
	for f in linux initrd.gz; do
		want=$(awk -v f="./netboot/debian-installer/amd64/$f" '$2 == f { print $1 }' \
			"$d/main/installer-amd64/current/images/SHA256SUMS")
		[ -n "$want" ] || die "SHA256SUMS names no netboot $f"
		[ -r "$DI/$f" ] || die "$DI/$f missing: apt-get install debian-installer-12-netboot-amd64 (scripts/install-deps.sh)"
		[ "$(deb_sha "$DI/$f")" = "$want" ] ||
			die "$DI/$f is not the installer bookworm's SHA256SUMS names (upgrade debian-installer-12-netboot-amd64)"
		mkdir -p "$d/$NETBOOT"
		cp "$DI/$f" "$d/$NETBOOT/$f"
	done
}

# udebs: main/debian-installer, without other kernel ABIs' modules. The
# package registry this project reaches serves only some udebs (in
# December 2026, 97 of bookworm's 387 for one kernel: the kernel module
# udebs, base-installer, partman-base, pkgsel... but not anna,
# grub-installer, finish-install, partman-ext3, e2fsprogs-udeb), and the
# missing ones answer 404 however asked. They are listed in
# $CACHE/missing-udebs (and VERSION), not fatal: the installer gets as far
# as the mirror allows, and run.sh names the component it stopped at.
udebs() {
	local abi=$1 n=0 f h
	: >"$CACHE/missing-udebs"
	while read -r f h; do
		case $f in
		*-6.1.0-*-amd64-di_*) [[ $f == *"-$abi-di_"* ]] || continue ;;
		esac
		if [ -f "$CACHE/debian/$f" ] && [ "$(deb_sha "$CACHE/debian/$f")" = "$h" ]; then
			n=$((n + 1))
			continue
		fi
		mkdir -p "$(dirname "$CACHE/debian/$f")"
		if ! deb_fetch "$DEB_MIRROR/$f" "$CACHE/debian/$f.new" 2>/dev/null; then
			rm -f "$CACHE/debian/$f.new"
			echo "$f" >>"$CACHE/missing-udebs"
			continue
		fi
		[ "$(deb_sha "$CACHE/debian/$f.new")" = "$h" ] || die "$DEB_MIRROR/$f does not match its index"
		mv "$CACHE/debian/$f.new" "$CACHE/debian/$f"
		n=$((n + 1))
	done < <(hashes "$CACHE/debian/dists/bookworm/main/debian-installer/binary-amd64/Packages.xz")
	log "udebs: $n for kernel $abi; $(wc -l <"$CACHE/missing-udebs") not served by $DEB_MIRROR (listed in $CACHE/missing-udebs)"
}

# resolve: the .debs of a BIOS and a UEFI install, by apt.
resolve() {
	local a=$CACHE/apt sets list firmware suites want
	rm -rf "$a"
	mkdir -p "$a/empty" "$a/lists/partial" "$a/cache/archives/partial"
	: >"$a/status"
	cat >"$a/apt.conf" <<-EOF
		Dir::Etc::Parts "$a/empty";
		Dir::Etc::SourceList "$a/sources.list";
		Dir::Etc::SourceParts "$a/empty";
		Dir::Etc::Preferences "/dev/null";
		Dir::Etc::PreferencesParts "$a/empty";
		Dir::State::Lists "$a/lists";
		Dir::State::status "$a/status";
		Dir::Cache "$a/cache";
		APT::Architecture "amd64";
		APT::Architectures { "amd64"; };
		APT::Install-Recommends "true";
		Debug::NoLocking "1";
		Acquire::Languages "none";
	EOF
	want=$(xz -dc "$CACHE/debian/dists/bookworm/main/binary-amd64/Packages.xz" |
		awk '/^Package:/ { p = $2 } /^Priority: (required|important)$/ { print p }' | sort -u)
	: >"$a/uris"
	for suites in bookworm all; do
		local sig="signed-by=$DEB_KEYRING"
		echo "deb [arch=amd64 $sig] file:$CACHE/debian bookworm main" >"$a/sources.list"
		if [ "$suites" = all ]; then
			echo "deb [arch=amd64 $sig] file:$CACHE/debian bookworm-updates main" >>"$a/sources.list"
			echo "deb [arch=amd64 $sig] file:$CACHE/debian-security bookworm-security main" >>"$a/sources.list"
		fi
		APT_CONFIG=$a/apt.conf apt-get -qq update >"$a/update.log" 2>&1 || { cat "$a/update.log" >&2; die "apt cannot read the mirror"; }
		for firmware in bios efi; do
			list=$(sed 's/#.*//' "$HERE/packages.txt" | awk -v fw="$firmware:" 'NF == 1 { print $1 } NF == 2 && $1 == fw { print $2 }')
			# shellcheck disable=SC2086 # word lists
			APT_CONFIG=$a/apt.conf apt-get -qq --print-uris install -y $want $list >>"$a/uris" 2>"$a/resolve.log" ||
				{ cat "$a/resolve.log" >&2; die "apt cannot resolve the $firmware install ($suites)"; }
		done
	done
	sort -u "$a/uris" -o "$a/uris"
}

# debs: download what resolve listed, checked against the indices.
debs() {
	local a=$CACHE/apt uri f h n=0 base dir
	hashes "$CACHE/debian/dists/bookworm/main/binary-amd64/Packages.xz" \
		"$CACHE/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz" \
		"$CACHE/debian-security/dists/bookworm-security/main/binary-amd64/Packages.xz" | sort -u >"$a/hashes"
	while read -r uri _; do
		uri=${uri//\'/}
		f=${uri#file:"$CACHE"/}
		f=$(printf '%b' "${f//%/\\x}")
		case $f in
		debian-security/*) base=$SEC_MIRROR dir=$CACHE/debian-security f=${f#debian-security/} ;;
		debian/*) base=$DEB_MIRROR dir=$CACHE/debian f=${f#debian/} ;;
		*) die "apt names a file outside the mirror: $uri" ;;
		esac
		h=$(awk -v f="$f" '$1 == f { print $2; exit }' "$a/hashes")
		[ -n "$h" ] || die "$f is in no index"
		pool "$base" "$dir" "$f" "$h"
		n=$((n + 1))
	done <"$a/uris"
	log "debs: $n"
}

# valid_until FILE: seconds since the epoch of its Valid-Until, or a
# large number when it has none.
valid_until() {
	local v
	v=$(awk '/^Valid-Until:/ { sub(/^Valid-Until: /, ""); print; exit }' "$1")
	if [ -n "$v" ]; then date -d "$v" +%s; else echo 99999999999; fi
}

# stamp: what a complete cache was built from: the layout, packages.txt
# and the mirrors (a cache from a mirror that lacked udebs is rebuilt when
# DEBIAN_MIRROR names a complete one).
stamp() { echo "$LAYOUT $(sha256sum "$HERE/packages.txt" | cut -c1-16) $DEB_MIRROR $SEC_MIRROR"; }

build() {
	local t0=$SECONDS abi
	mkdir -p "$CACHE"
	rm -f "$CACHE/complete"
	suite "$DEB_MIRROR" bookworm "$CACHE/debian"
	suite "$DEB_MIRROR" bookworm-updates "$CACHE/debian"
	suite "$SEC_MIRROR" bookworm-security "$CACHE/debian-security"
	netboot
	abi=$(zcat "$CACHE/debian/dists/bookworm/$NETBOOT/initrd.gz" | cpio -t --quiet 2>/dev/null |
		sed -n 's,^lib/modules/\([^/]*\)$,\1,p' | head -n1)
	[ -n "$abi" ] || die "the netboot initrd has no lib/modules/<version>"
	udebs "$abi"
	resolve
	debs
	{
		for s in debian/dists/bookworm debian/dists/bookworm-updates debian-security/dists/bookworm-security; do
			echo "$s: $(awk '/^(Version|Date):/ { printf "%s ", $0 }' "$CACHE/$s/Release")"
		done
		echo "netboot installer kernel: $abi"
		echo "udebs: $(find "$CACHE/debian/pool" -name '*.udeb' | wc -l); not served (404): $(wc -l <"$CACHE/missing-udebs")"
		echo "debs: $(find "$CACHE" -path '*/pool/*' -name '*.deb' | wc -l)"
		echo "size: $(du -sm --apparent-size "$CACHE/debian" "$CACHE/debian-security" | awk '{ s += $1 } END { print s }') MB"
		echo "built in: $((SECONDS - t0)) s"
	} >"$CACHE/VERSION"
	stamp >"$CACHE/complete"
	sed 's/^/install-mirror: /' "$CACHE/VERSION" >&2
}

# refresh_security: a new security suite once the cached one expired.
refresh_security() {
	local t0=$SECONDS
	suite "$SEC_MIRROR" bookworm-security "$CACHE/debian-security"
	resolve
	debs
	log "security suite refreshed in $((SECONDS - t0)) s"
}

for tool in curl gpgv xz apt-get cpio; do
	command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
if [ "$(cat "$CACHE/complete" 2>/dev/null)" != "$(stamp)" ]; then
	build
elif [ "$(valid_until "$CACHE/debian-security/dists/bookworm-security/Release")" -lt $(($(date +%s) + 3 * 3600)) ]; then
	refresh_security
fi
echo "$CACHE"
