#!/usr/bin/env bash
# refresh.sh takes the iPXE NBPs from one release of Debian's ipxe package,
# downloaded by itself and checked along Debian's own chain of trust: the
# suite's InRelease, signed by a key in /usr/share/keyrings/
# debian-archive-keyring.gpg (gpgv), names the sha256 of Packages.xz, which
# names the sha256 of the .deb, whose files are copied here unmodified.
# Nothing is installed and nothing else on the system changes. It rewrites
# SHA256SUMS, COPYRIGHT.debian and VERSION; update README.md's table from
# them and run `go test ./tftpboot/`.
#
# A mirror caught between two syncs serves a Packages.xz its InRelease
# does not name (seen here: the package registry's InRelease of 21 Nov
# 2026 with a newer index). Then the chain is broken, and the script goes
# on only with IPXE_DEB_SHA256, a sha256 of the .deb obtained elsewhere
# (the one VERSION records), and says so.
#
#   [IPXE_DEB_SHA256=...] tftpboot/nbp/refresh.sh [SUITE]     (default trixie)
set -euo pipefail
cd "$(dirname "$0")"
SUITE=${1:-trixie}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fetch() { curl -fsS --retry 3 -m 300 -o "$2" "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

fetch "$MIRROR/dists/$SUITE/InRelease" "$TMP/InRelease"
gpgv --keyring "$KEYRING" --output "$TMP/Release" "$TMP/InRelease" 2>"$TMP/gpgv.log" ||
	{ cat "$TMP/gpgv.log" >&2; echo "refresh: InRelease of $SUITE is not signed by Debian's archive key" >&2; exit 1; }
want=$(awk '/^SHA256:/ { s = 1; next } /^[A-Z]/ { s = 0 } s && $3 == "main/binary-all/Packages.xz" { print $1 }' "$TMP/Release")
fetch "$MIRROR/dists/$SUITE/main/binary-all/Packages.xz" "$TMP/Packages.xz"
chain="InRelease (signed) > Packages.xz > .deb"
if [ -z "$want" ] || [ "$(sha "$TMP/Packages.xz")" != "$want" ]; then
	[ -n "${IPXE_DEB_SHA256:-}" ] || { echo "refresh: Packages.xz does not match the signed InRelease; set IPXE_DEB_SHA256" >&2; exit 1; }
	echo "refresh: warning: Packages.xz does not match the signed InRelease; checking the .deb against IPXE_DEB_SHA256" >&2
	chain="IPXE_DEB_SHA256 (Packages.xz did not match the signed InRelease)"
fi
xz -dc "$TMP/Packages.xz" | awk '/^Package: ipxe$/ { p = 1 } p && /^$/ { p = 0 } p' >"$TMP/ipxe.stanza"
version=$(awk '/^Version:/ { print $2 }' "$TMP/ipxe.stanza")
file=$(awk '/^Filename:/ { print $2 }' "$TMP/ipxe.stanza")
want=${IPXE_DEB_SHA256:-$(awk '/^SHA256:/ { print $2 }' "$TMP/ipxe.stanza")}
fetch "$MIRROR/$file" "$TMP/ipxe.deb"
[ "$(sha "$TMP/ipxe.deb")" = "$want" ] || { echo "refresh: $file does not match $chain" >&2; exit 1; }
# The package's own md5sums vouch for each file inside it.
dpkg-deb -e "$TMP/ipxe.deb" "$TMP/control"
dpkg-deb -x "$TMP/ipxe.deb" "$TMP/x"

# TFTP name <- path in the package. ipxe.efi is x86-64 iPXE with its own
# NIC drivers (the package's ipxe.efi is a symlink to it).
declare -A src=(
	[undionly.kpxe]=usr/lib/ipxe/undionly.kpxe
	[snponly.efi]=usr/lib/ipxe/snponly.efi
	[ipxe.efi]=usr/lib/ipxe/ipxe-amd64.efi
	[ipxe-arm64.efi]=usr/lib/ipxe/ipxe-arm64.efi
)
for name in "${!src[@]}"; do
	grep -q "^$(md5sum "$TMP/x/${src[$name]}" | cut -d' ' -f1)  ${src[$name]}\$" "$TMP/control/md5sums" ||
		{ echo "refresh: ${src[$name]} differs from the package's md5sums" >&2; exit 1; }
	cp "$TMP/x/${src[$name]}" "$name"
done
cp "$TMP/x/usr/share/doc/ipxe/copyright" COPYRIGHT.debian
sha256sum ipxe-arm64.efi ipxe.efi snponly.efi undionly.kpxe >SHA256SUMS
{
	echo "package ipxe $version ($SUITE, $file)"
	echo "deb sha256 $want, checked by $chain"
	for name in "${!src[@]}"; do echo "$name from /${src[$name]}"; done | sort
} >VERSION
cat VERSION SHA256SUMS
