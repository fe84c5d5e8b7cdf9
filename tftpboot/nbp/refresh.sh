#!/usr/bin/env bash
# refresh.sh copies the iPXE NBPs from the installed Debian ipxe package
# into this folder, checks them against dpkg's own md5sums, and rewrites
# SHA256SUMS. Afterwards update the version and digests in README.md and
# run `go test ./tftpboot/`. Usage: tftpboot/nbp/refresh.sh
set -euo pipefail
cd "$(dirname "$0")"

dpkg-query -W -f='${Package} ${Version} (source ${source:Package})\n' ipxe
declare -A src=(
  [undionly.kpxe]=/usr/lib/ipxe/undionly.kpxe
  [snponly.efi]=/usr/lib/ipxe/snponly.efi
  [ipxe.efi]=/boot/ipxe.efi # target of the /usr/lib/ipxe/ipxe.efi symlink
)
for name in "${!src[@]}"; do
  path=${src[$name]}
  want=$(grep " ${path#/}\$" /var/lib/dpkg/info/ipxe.md5sums | cut -d' ' -f1)
  got=$(md5sum "$path" | cut -d' ' -f1)
  [ "$want" = "$got" ] || { echo "refresh: $path differs from dpkg's md5sums" >&2; exit 1; }
  cp "$path" "$name"
done
cp /usr/share/doc/ipxe/copyright COPYRIGHT.debian
sha256sum ipxe.efi snponly.efi undionly.kpxe > SHA256SUMS
cat SHA256SUMS
