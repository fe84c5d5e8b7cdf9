#!/usr/bin/env bash
# run.sh shows the iPXE menu as a person sees it: a QEMU VM (SeaBIOS and
# QEMU's iPXE ROM, a standard VGA screen) boots from bootwright in full
# mode, in a network namespace it creates, and stops at its menu. The
# screen is read through QEMU's monitor (the VGA text buffer, where iPXE
# draws in legacy BIOS text mode) and must show the menu's title, every
# entry's title, an entry's help line, the default marker, the countdown
# beside the selected entry and the footer with the machine's name, its
# address and bootwright's version; then a picture of the screen is saved
# as test/menu/work/menu.png (with UPDATE_DOCS=1 also as docs/menu.png).
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/menu/run.sh
# Needs root and qemu-system-x86 (scripts/install-deps.sh). About 20 s.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
NS="bwmenu-$$"
MAC=52:54:00:6d:00:01
UEFI_MAC=52:54:00:6d:00:02
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-120}

die() { echo "menu-test: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$TOP/test/lib/netns.sh"
trap ns_cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run scripts/install-deps.sh"

rm -rf "$WORK"
mkdir -p "$WORK/config/menus"
(cd "$TOP" && go build -o "$WORK/screen" ./test/menu/screen)
cat >"$WORK/config/menus/default.yaml" <<'EOF'
title: Lab boot menu
timeout: 90s
default: debian
entries:
  - {name: local, title: Boot from local disk, help: Leave the network and start what is installed, type: local}
  - name: debian
    title: Debian 12 installer
    help: Unattended install with this machine's preseed
    kernel: debian/vmlinuz
    initrds: [debian/initrd.gz]
  - {name: tools, title: Tools, type: menu, menu: tools}
  - {name: shell, title: iPXE shell, help: Type exit to come back, type: shell}
EOF
cat >"$WORK/config/menus/tools.yaml" <<'EOF'
title: Tools
entries:
  - {name: memtest, title: Memory test, kernel: memtest/memtest.bin}
EOF
cat >"$WORK/config/menus/machines.yaml" <<EOF
machines:
  - {mac: "$MAC", name: lab-pc-01}
  - {mac: "$UEFI_MAC", name: lab-pc-02}
EOF

ns_new "$NS"
bridge "$NS" 10.232.0.1/24
vm_tap "$NS"
ip netns exec "$NS" env -u BOOTWRIGHT_CONFIG_DIR "$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full \
	--dhcp-range 10.232.0.100-10.232.0.150 --http-addr :8080 --state-dir "$WORK/state" \
	--config-dir "$WORK/config" </dev/null >"$WORK/bootwright.log" 2>&1 &
BW=$!
for _ in $(seq 100); do
	[ -n "$(ip netns exec "$NS" ss -Hlnu 'sport = :67')" ] && break
	kill -0 $BW 2>/dev/null || { tail "$WORK/bootwright.log"; die "bootwright exited"; }
	sleep 0.1
done
version=$("$BOOTWRIGHT_BIN" version | cut -d' ' -f2)

# shellcheck disable=SC2054 # commas belong to QEMU option values
vm_start "$NS" "$WORK" -accel tcg -display none -vga std -no-reboot -nodefaults -m 256 \
	-serial "file:$WORK/serial.log" -monitor "unix:$WORK/mon.sock,server,nowait" \
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
	-device "virtio-net-pci,netdev=n0,mac=$MAC,bootindex=1" -boot n
for _ in $(seq 50); do [ -S "$WORK/mon.sock" ] && break; sleep 0.1; done

want=(-want "Lab boot menu" -want "Boot from local disk" -want "Debian 12 installer [default]"
	-want "- Unattended install with this machine's preseed" -want "Tools ..." -want "iPXE shell"
	-want "lab-pc-01 $MAC at 10.232.0." -want "bootwright $version")
if ! "$WORK/screen" -mon "$WORK/mon.sock" -dir "$WORK" -png "$WORK/menu.png" -timeout "${TIMEOUT}s" "${want[@]}" >"$WORK/screen.txt" 2>"$WORK/screen.err"; then
	cat "$WORK/screen.txt" "$WORK/screen.err"
	echo "FAIL menu: the screen does not show the menu (test/menu/work/screen.txt)"
	exit 1
fi
# iPXE draws the countdown, "(N)", at the right of the selected entry.
grep -qE 'Debian 12 installer \[default\] +\([0-9]+\)$' "$WORK/screen.txt" ||
	{ cat "$WORK/screen.txt"; echo "FAIL menu: no countdown beside the default entry"; exit 1; }
vm_stop "$QPID"

# The same menu on a UEFI machine (OVMF's own PXE, then the snponly.efi
# bootwright serves, whose iPXE has the cpair command): its screen is
# graphical, so only its picture is taken, once the menu was served.
mkdir -p "$WORK/uefi"
cp "$OVMF_VARS" "$WORK/uefi/OVMF_VARS.fd"
ip -n "$NS" tuntap add tap1 mode tap
ip -n "$NS" link set tap1 master br0 up
# shellcheck disable=SC2054
vm_start "$NS" "$WORK/uefi" -accel tcg -display none -vga std -no-reboot -nodefaults -m 512 \
	-serial "file:$WORK/uefi/serial.log" -monitor "unix:$WORK/uefi/mon.sock,server,nowait" \
	-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,file=$WORK/uefi/OVMF_VARS.fd" \
	-netdev tap,id=n0,ifname=tap1,script=no,downscript=no \
	-device "virtio-net-pci,netdev=n0,mac=$UEFI_MAC,romfile=,bootindex=1"
deadline=$((SECONDS + TIMEOUT))
until grep -q "msg=\"http: menu served\".*mac=$UEFI_MAC" "$WORK/bootwright.log"; do
	[ $SECONDS -lt $deadline ] || { echo "FAIL menu: the UEFI VM never fetched its menu"; exit 1; }
	sleep 1
done
sleep 5 # iPXE draws the menu once the script has run
"$WORK/screen" -mon "$WORK/uefi/mon.sock" -dir "$WORK/uefi" -png "$WORK/menu-uefi.png" -timeout 1s >/dev/null ||
	{ echo "FAIL menu: no picture of the UEFI screen"; exit 1; }
vm_stop "$QPID"
if [ "${UPDATE_DOCS:-}" = 1 ]; then
	cp "$WORK/menu.png" "$TOP/docs/menu.png"
	cp "$WORK/menu-uefi.png" "$TOP/docs/menu-uefi.png"
fi
echo "PASS menu: title, entries, help, default marker, countdown and footer on the BIOS VM's screen; pictures of it and of the UEFI VM's menu in test/menu/work/"
sed 's/^/    /' "$WORK/screen.txt" | sed '/^ *$/d'
