#!/usr/bin/env bash
# preseed-vm.sh boots the real Debian 12 netboot installer (Debian package
# debian-installer-12-netboot-amd64) in a QEMU VM through bootwright's
# default "debian-12-installer" entry and checks that the installer fetched
# this machine's rendered preseed over HTTP and acted on it: after the
# preseed, choose-mirror asks bootwright's address for
# <debian_mirror directory>/dists/bookworm/..., which only the preseed
# (mirror/http/hostname and /directory) tells it. No Debian mirror is
# reachable here, so the install stops at the mirror check; that is the
# end of this test.
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/answers/preseed-vm.sh
#
# Environment:
#   BOOTWRIGHT_BIN                 bootwright binary (required)
#   BOOTWRIGHT_ANSWERS_VM_TIMEOUT  seconds the VM may take (default 600)
#
# Everything runs in a network namespace bwa-<pid> (bridge 10.231.0.1/24,
# tap0), deleted on exit. Logs stay in test/answers/work/: serial.log,
# bootwright.log, bootwright.cmd, qemu.cmd, dnsmasq.log, config/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work
NS="bwa-$$"
MAC=52:54:00:a0:00:42
MACHINE=preseed-vm
TIMEOUT=${BOOTWRIGHT_ANSWERS_VM_TIMEOUT:-600}
DI=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
# Where the default menu's Debian entry looks for the installer under
# debian_mirror; the assets directory plays that part of a mirror.
DI_PATH=debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64
SERVER=10.231.0.1

die() { echo "preseed-vm: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespace, tap device)"
[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
for f in "$DI/linux" "$DI/initrd.gz"; do
	[ -r "$f" ] || die "$f missing: apt-get install debian-installer-12-netboot-amd64 (scripts/install-deps.sh)"
done
for tool in qemu-system-x86_64 dnsmasq ip ss; do
	command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done

BW_PID="" QEMU_PID="" DNSMASQ_PID=""
cleanup() {
	local p pids
	for p in $QEMU_PID $BW_PID $DNSMASQ_PID; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	pids=$(ip netns pids "$NS" 2>/dev/null || true)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK/config" "$WORK/state" "$WORK"/*.log "$WORK"/*.cmd
mkdir -p "$WORK/config/menus" "$WORK/state" "$WORK/assets/$DI_PATH"
for f in linux initrd.gz; do
	cmp -s "$DI/$f" "$WORK/assets/$DI_PATH/$f" || cp "$DI/$f" "$WORK/assets/$DI_PATH/$f"
done
cat >"$WORK/config/menus/machines.yaml" <<EOF
vars:
  debian_mirror: http://$SERVER:8080/assets/debian
machines:
  - mac: "$MAC"
    name: $MACHINE
    default: debian-12-installer
    timeout: 1s
    args: console=ttyS0,115200n8
EOF

# The namespace: bridge with the server's address (and an IPv6 ULA for
# router advertisements, so iPXE does not wait for IPv6 autoconfiguration)
# and the VM's tap.
vm_lan "$NS" "$SERVER/24" fd42:231::1/64

ra_start "$NS" "$WORK"
DNSMASQ_PID=$RA_PID

# A router and a name server (the bridge's address; nothing needs to
# answer there): without them netcfg asks "Continue without a default
# route?" and for name servers before it fetches the preseed, which then
# cannot answer those questions.
bw=("$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full
	--dhcp-range 10.231.0.100-10.231.0.150 --dhcp-router "$SERVER" --dhcp-dns "$SERVER" --http-addr :8080
	--config-dir "$WORK/config" --assets-dir "$WORK/assets" --state-dir "$WORK/state")
bw_start "$NS" "$WORK" 8080 "${bw[@]}" || die "bootwright did not start"

# The rendered preseed, as the installer will get it (bootwright render).
# Asked for from this address, which DHCP never bound to the machine, its
# menu carries no token and the preseed is refused; the VM's own DHCP
# binds its address, and its menu then carries the token.
"$BOOTWRIGHT_BIN" render --config-dir "$WORK/config" --assets-dir "$WORK/assets" --public-url "http://$SERVER:8080" \
	--mac "$MAC" /files/preseed.cfg >"$WORK/preseed.cfg" || die "bootwright render cannot render the preseed of $MAC"
menu=$(ip netns exec "$NS" curl -fsS "http://$SERVER:8080/ipxe/${MAC//:/-}?arch=i386&platform=pcbios") ||
	die "bootwright does not serve the menu of $MAC"
! grep -q '/t/' <<<"$menu" || die "the menu of $MAC, asked for from $SERVER, carries a token"
code=$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' "http://$SERVER:8080/files/${MAC//:/-}/preseed.cfg")
[ "$code" = 403 ] || die "the preseed without its token, from another address: HTTP $code, want 403"

# SeaBIOS + QEMU's iPXE NIC ROM; no disk (the install stops before partman).
qemu=(qemu-system-x86_64 -accel tcg -m 1024 -nographic -no-reboot -nodefaults -vga none
	-serial "file:$WORK/serial.log" -monitor none
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no
	-device "virtio-net-pci,netdev=n0,mac=$MAC,bootindex=1" -boot n)
printf '%q ' ip netns exec "$NS" "${qemu[@]}" >"$WORK/qemu.cmd"
: >"$WORK/serial.log"
t0=$SECONDS
ip netns exec "$NS" "${qemu[@]}" </dev/null >"$WORK/qemu.log" 2>&1 &
QEMU_PID=$!

# Pass: bootwright served this machine's preseed to the installer, then the
# installer asked for the mirror the preseed names.
# The VM leases from 10.231.0.100-150; the script's own fetch above comes
# from 10.231.0.1. The installer itself is under .../images/netboot/.
served='msg="http: file served".*remote=10\.231\.0\.1[0-5][0-9] .*file=preseed\.cfg.*machine='"$MACHINE"
mirror='remote=10\.231\.0\.1[0-5][0-9] .*path=/assets/debian/dists/bookworm/'
asked_mirror() { grep -E "$mirror" "$WORK/bootwright.log" | grep -qv '/images/netboot/'; }
reason=""
while :; do
	if grep -qE "$served" "$WORK/bootwright.log" && asked_mirror; then
		break
	fi
	kill -0 "$QEMU_PID" 2>/dev/null || { reason="the VM stopped"; break; }
	kill -0 "$BW_PID" 2>/dev/null || { reason="bootwright exited"; break; }
	[ $((SECONDS - t0)) -lt "$TIMEOUT" ] || { reason="timed out after ${TIMEOUT}s"; break; }
	sleep 1
done
# The installer's own verdict on the preseeded mirror (there is no Debian
# archive behind it) must reach the console, and it must be the only
# question it stopped at: locale, keyboard, network and hostname came from
# the preseed and the kernel command line.
bad_mirror() { strip_ansi "$WORK/serial.log" | grep -aq 'Bad archive mirror'; }
if [ -z "$reason" ]; then
	for _ in $(seq 120); do
		bad_mirror && break
		sleep 1
	done
	bad_mirror || reason="the installer did not report the preseeded mirror on the console"
fi
# Dialog titles read "[!!] Title" followed by the frame, whose line-drawing
# characters arrive as letters (tqqqk) once the escapes are stripped.
questions=$(strip_ansi "$WORK/serial.log" | grep -ao '\[!!\] [A-Za-z][A-Za-z ]*' |
	sed -E 's/ +tq+k?[[:space:]]*$//; s/[[:space:]]+$//' | sort -u || true)
if [ -z "$reason" ] && [ "$questions" != "[!!] Choose a mirror of the Debian archive" ]; then
	reason="the installer stopped at other questions: $(echo "$questions" | paste -sd ';')"
fi

echo "---- bootwright.log (HTTP requests from the VM)"
grep -E 'http: (request|file served|menu served)' "$WORK/bootwright.log" | grep -v 'path=/boot.ipxe' |
	sed -E 's/^time=[^ ]+ //' | cut -c1-220 || true
echo "---- installer dialogs on the serial console"
echo "$questions"
strip_ansi "$WORK/serial.log" | grep -ao 'Bad archive mirror' | head -n1 || true
echo "----"
if [ -n "$reason" ]; then
	grep -qE "$served" "$WORK/bootwright.log" || reason="$reason; the preseed was never served to $MACHINE"
	echo "---- serial.log (tail, ANSI stripped)"
	strip_ansi "$WORK/serial.log" | tr -s ' ' | grep -av '^[[:space:]]*$' | tail -n 15 || true
	echo "FAIL preseed-vm ($((SECONDS - t0))s): $reason"
	exit 1
fi
echo "PASS preseed-vm ($((SECONDS - t0))s): the installer fetched /files/${MAC//:/-}/preseed.cfg, asked nothing, and tried the preseeded mirror"
