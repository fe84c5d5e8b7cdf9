#!/usr/bin/env bash
# install-deps.sh installs the Debian packages the test suite needs:
# QEMU and OVMF for the VM boot tests, iPXE for comparison with the embedded
# NBPs, dnsmasq as the LAN's DHCP server in the proxy-mode test, real TFTP
# clients, busybox for the test initramfs and iproute2 for namespaces.
# It is idempotent and quiet when everything is already there.
set -euo pipefail

pkgs=(
  qemu-system-x86 ovmf ipxe dnsmasq busybox-static cpio gzip
  tftp-hpa atftp curl iproute2 isc-dhcp-client
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
