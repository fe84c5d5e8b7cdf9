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
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=../../scripts/lib/debian.sh
. ../../scripts/lib/debian.sh

deb_index "$SUITE" main all "$TMP" || exit 1
chain=$DEB_CHAIN
if [ "$DEB_INDEX_SIGNED" != 1 ]; then
	[ -n "${IPXE_DEB_SHA256:-}" ] || { echo "refresh: Packages.xz does not match the signed InRelease; set IPXE_DEB_SHA256" >&2; exit 1; }
	echo "refresh: warning: Packages.xz does not match the signed InRelease; checking the .deb against IPXE_DEB_SHA256" >&2
	chain="IPXE_DEB_SHA256 (Packages.xz did not match the signed InRelease)"
fi
got=$(deb_get "$TMP/Packages" ipxe "$TMP/ipxe.deb" "${IPXE_DEB_SHA256:-}") || { echo "refresh: ipxe .deb does not match $chain" >&2; exit 1; }
read -r _ version file _ want <<<"$got"
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
