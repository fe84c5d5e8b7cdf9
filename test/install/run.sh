#!/usr/bin/env bash
# run.sh: a real unattended Debian 12 install through bootwright, from the
# local mirror test/install/mirror.sh builds, on an empty virtio disk:
# PXE boot (full-mode DHCP, iPXE), the menu's install: entry
# (debian-12-installer), the shipped preseed (only variables point it at
# the mirror and trim the tasks), the installer's callback (the API then
# says installed, the timeline shows each step), the reboot, the menu's
# local-disk default, and the installed system on its serial console:
# agetty's issue line "Debian GNU/Linux 12 <hostname> ttyS0" (the
# hostname machines.yaml gives the machine, set by the installer from
# the kernel command line) followed by "<hostname> login:".
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/install/run.sh [bios|efi]...
#        (default: bios, then efi)
#
# Environment:
#   BOOTWRIGHT_BIN                  bootwright binary (required)
#   BOOTWRIGHT_INSTALL_TIMEOUT      seconds one VM may take from power-on
#                                   to its marker (default 7200: TCG)
#   BOOTWRIGHT_INSTALL_CACHE        the mirror (mirror.sh's cache)
#
# Each firmware runs in a network namespace bwi-<pid>-<fw> (bridge
# 10.236.0.1/24, tap0), deleted on exit. Logs stay in
# test/install/work/<fw>/: serial.log, bootwright.log, qemu.cmd,
# machine.json (the API's view at the end), steps.txt.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${BOOTWRIGHT_INSTALL_TIMEOUT:-7200}
SERVER=10.236.0.1
API_TOKEN=installtest-token
declare -A MAC=([bios]=52:54:00:36:00:01 [efi]=52:54:00:36:00:02)

die() { echo "installtest: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespace, tap device)"
[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
for tool in qemu-system-x86_64 qemu-img dnsmasq ip ss curl jq; do
	command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
MIRROR=$("$HERE/mirror.sh")

trap ns_cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s [%s +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$FW" "$((SECONDS - T0))" "$*"; }

# setup FW: the namespace, dnsmasq for router advertisements only (iPXE
# then skips its IPv6 wait), bootwright in full mode serving the mirror
# as its assets, and the machine's config. Sets NS, DIR, BW_PID.
setup() {
	NS=bwi-$$-$FW DIR=$HERE/work/$FW
	rm -rf "$DIR"
	mkdir -p "$DIR/config/menus" "$DIR/state"
	cat >"$DIR/config/menus/machines.yaml" <<-EOF
		# The shipped menu and preseed; only variables differ from a lab's.
		vars:
		  debian_mirror: http://$SERVER:8080/assets/debian
		  debian_security_mirror: http://$SERVER:8080/assets/debian-security
		  # The mirror carries what these pull in (test/install/packages.txt).
		  tasks: [ssh-server]
		machines:
		  - mac: "${MAC[$FW]}"
		    name: install-$FW
		    hostname: installed-$FW
		    install: debian-12-installer
		    timeout: 1s
		    args: console=ttyS0,115200n8
	EOF
	vm_lan "$NS" "$SERVER/24" fd42:236::1/64
	ra_start "$NS" "$DIR"
	local bw=("$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full
		--dhcp-range 10.236.0.100-10.236.0.150 --dhcp-router "$SERVER" --dhcp-dns "$SERVER"
		--http-addr :8080 --api-token "$API_TOKEN"
		--config-dir "$DIR/config" --assets-dir "$MIRROR" --state-dir "$DIR/state")
	bw_start "$NS" "$DIR" 8080 "${bw[@]}" || die "bootwright did not start"
}

# vm: the VM, network first and the empty disk second, so that every
# boot asks bootwright first (the installed system's own EFI boot entry
# included: OVMF orders its entries by QEMU's bootindex).
vm() {
	local a=(-accel tcg -m 1024 -nographic -nodefaults -vga none -serial "file:$DIR/serial.log" -monitor none
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no
		-drive "if=none,id=d0,format=qcow2,file=$DIR/disk.qcow2" -device virtio-blk-pci,drive=d0,bootindex=2)
	qemu-img create -q -f qcow2 "$DIR/disk.qcow2" 8G
	if [ "$FW" = efi ]; then
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$DIR/vars.fd"
		a+=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
			-drive "if=pflash,format=raw,file=$DIR/vars.fd")
	fi
	a+=(-device "virtio-net-pci,netdev=n0,mac=${MAC[$FW]},bootindex=1")
	vm_start "$NS" "$DIR" "${a[@]}"
}

api() { ip netns exec "$NS" curl -fsS "http://$SERVER:8080/api/v1/machines/${MAC[$FW]}" 2>/dev/null || true; }
state() { api | jq -r '.state // empty' 2>/dev/null || true; }
# dialogs: the installer's questions and errors on the console ("[!!] Title";
# the frame's line-drawing characters arrive as letters once stripped).
dialogs() {
	strip_ansi "$DIR/serial.log" | grep -ao '\[!!\] [A-Za-z][A-Za-z ]*' |
		sed -E 's/ +tq+k?x?( .*)?$//; s/[[:space:]]+$//' | sort -u || true
}
# missing: mirror paths the VM asked for and bootwright answered 404.
missing() {
	grep -E 'remote=10\.236\.0\.1[0-5][0-9] ' "$DIR/bootwright.log" | grep -E 'status=404' |
		grep -o 'path=[^ ]*' | sort -u || true
}
marker() {
	local n host=installed-$FW
	n=$(tr -cd '\n' <"$DIR/serial.log" | wc -c)
	strip_ansi "$DIR/serial.log" | head -n "$n" | grep -a -m1 -E "^$host login:" || true
}

# run FW: one machine from power-on to its installed system's marker.
run() {
	FW=$1 T0=$SECONDS
	local reason="" installed="" menus0 menus dl
	setup
	vm
	say "VM powered on ($FW, empty 8 GiB virtio disk)"
	local seen_preseed="" seen_mirror="" seen_reboot=""
	while :; do
		if [ -z "$seen_preseed" ] && grep -qE 'file served.*file=preseed\.cfg' "$DIR/bootwright.log"; then
			seen_preseed=1
			say "the installer fetched its preseed (state: $(state))"
		fi
		if [ -z "$seen_mirror" ] && grep -qE 'path=/assets/debian/dists/bookworm/Release' "$DIR/bootwright.log"; then
			seen_mirror=1
			say "the installer reads the local mirror"
		fi
		if [ -z "$installed" ] && [ "$(state)" = installed ]; then
			installed=$((SECONDS - T0))
			say "the installer called back: state installed"
			menus0=$(grep -c 'menu served' "$DIR/bootwright.log" || true)
		fi
		if [ -n "$installed" ] && [ -z "$seen_reboot" ]; then
			menus=$(grep -c 'menu served' "$DIR/bootwright.log" || true)
			if [ "$menus" -gt "$menus0" ]; then
				seen_reboot=1
				say "rebooted: bootwright served the menu again ($(grep 'menu served' "$DIR/bootwright.log" | tail -n1 | grep -o 'default=[^ ]*' || echo 'default not logged'))"
			fi
		fi
		[ -z "$(marker)" ] || break
		dl=$(dialogs)
		if [ -n "$dl" ]; then
			sleep 5 # the dialog's text
			reason="the installer stopped at: $(dialogs | paste -sd ';')"
			break
		fi
		kill -0 "$QPID" 2>/dev/null || { reason="the VM stopped"; break; }
		kill -0 "$BW_PID" 2>/dev/null || { reason="bootwright exited"; break; }
		[ $((SECONDS - T0)) -lt "$TIMEOUT" ] || { reason="timed out after ${TIMEOUT}s"; break; }
		sleep 2
	done
	api >"$DIR/machine.json"
	jq -r '"state: \(.state)", (.timeline[]? | "\(.kind)\t\(.outcome)\t+\(.after_ns / 1e9 | floor)s\t\(.reason // .detail // "")")' \
		"$DIR/machine.json" >"$DIR/steps.txt" 2>/dev/null || true
	echo "---- $FW: the machine in the API: state, then its latest boot's steps"
	cat "$DIR/steps.txt"
	echo "---- $FW: mirror files the VM asked for and did not get (404)"
	missing | head -n 20
	if [ -n "$reason" ]; then
		# A stopped install must never read installed.
		[ "$(jq -r .state "$DIR/machine.json")" != installed ] || reason="$reason; and yet the API says installed"
		local f
		for f in $(missing | sed -n 's,^path=/assets/debian/,,p'); do
			! grep -qxF "$f" "$MIRROR/missing-udebs" 2>/dev/null ||
				reason="$reason; $f is one of the udebs the package registry does not serve ($MIRROR/missing-udebs)"
		done
		echo "---- $FW: console (tail, escapes stripped)"
		strip_ansi "$DIR/serial.log" | tr -s ' ' | grep -av '^[[:space:]]*$' | tail -n 25 || true
		vm_stop "$QPID"
		echo "FAIL install-$FW ($((SECONDS - T0))s): $reason"
		return 1
	fi
	[ -n "$installed" ] || { vm_stop "$QPID"; echo "FAIL install-$FW: the installed system booted but the API never said installed"; return 1; }
	[ -n "$seen_reboot" ] || { vm_stop "$QPID"; echo "FAIL install-$FW: the installed system booted without asking bootwright first"; return 1; }
	vm_stop "$QPID"
	echo "PASS install-$FW: installed at ${installed}s, the installed system's marker at $((SECONDS - T0))s: $(marker)"
}

rc=0
for fw in "${@:-bios efi}"; do
	# shellcheck disable=SC2086 # "bios efi" is two words when no argument is given
	for f in $fw; do
		case $f in bios | efi) ;; *) die "unknown firmware $f (bios or efi)" ;; esac
		run "$f" || rc=1
		ns_cleanup
	done
done
exit "$rc"
