#!/usr/bin/env bash
# firmware.sh: real UEFI firmware (OVMF, Debian 12's ovmf package) doing
# firmware PXE against the real bootwright binary, twice:
#
#   granted   bootwright as it ships (--tftp-max-windowsize 16): OVMF's RRQ
#             for the NBP asks windowsize 4, the OACK grants 4
#   refused   --tftp-max-windowsize 1: the OACK leaves windowsize out and
#             OVMF falls back to lock-step (one ACK per block)
#
# Each run boots one VM (-accel tcg, OVMF's own PXE: romfile= on the NIC)
# on a bridge in a network namespace this script creates, with bootwright
# as the LAN's DHCP server (full mode), and records the bridge port with
# tcpdump. The VM is stopped once bootwright logs the NBP (snponly.efi)
# sent. What is checked, from the pcap: the RRQ for snponly.efi asks
# windowsize 4; the OACK carries "windowsize 4" (granted) or no windowsize
# (refused); the client sent about one ACK per 4 DATA packets (granted) or
# one per DATA packet (refused); and bootwright's log agrees. What is
# printed: the NBP download time (bootwright's log: RRQ to last ACK) of
# each run and their ratio. On this shared 2-core machine under TCG the
# firmware's own processing dominates, so the ratio says little about a
# real machine's; the ACK counts are the protocol's side of it.
#
# About 1-2 min (two OVMF boots to the NBP); not part of make test
# (make tftpvmtest).
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/tftp/firmware.sh
# Must run as root. Namespaces are named bwf-<pid>-*, removed on exit;
# processes are stopped by PID. Logs and pcaps stay in test/tftp/work/firmware/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work/firmware
P="bwf-$$"
NET=10.232.0
SADDR=$NET.1
VMAC=52:54:00:f7:00:01
BOOT_TIMEOUT=${FW_BOOT_TIMEOUT:-240}
FAILS=0
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"

die() { echo "tftpvmtest: $*" >&2; exit 2; }
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }

# nbp_logged DIR: bootwright's log line for the NBP sent whole, if any.
nbp_logged() { grep 'msg="tftp transfer"' "$1/bootwright.log" | grep 'file=snponly.efi' | grep 'outcome=ok' | tail -n1 || true; }

# field LINE KEY: KEY's value in a logfmt line.
field() { grep -o " $2=[^ ]*" <<<"$1" | head -n1 | cut -d= -f2; }

# ms DURATION: a Go duration ("850.2ms", "1.5s", "1m2.5s", "900µs") in ms.
ms() {
	awk -v d="$1" 'BEGIN { t = 0; while (match(d, /^[0-9.]+(µs|us|ms|s|m|h)/)) {
		u = substr(d, RSTART, RLENGTH); n = u + 0; sub(/^[0-9.]+/, "", u)
		t += n * (u == "h" ? 3600000 : u == "m" ? 60000 : u == "s" ? 1000 : u == "ms" ? 1 : 0.001)
		d = substr(d, RLENGTH + 1) } printf "%.1f", t }'
}

# pcap_count DIR FILTER: packets in DIR's pcap matching FILTER.
pcap_count() { tcpdump -nn -r "$1/tap0.pcap" "$2" 2>/dev/null | wc -l; }

# data_phase DIR: ms from the NBP's first DATA to the client's last ACK,
# from the pcap (the OACK round trip, which the firmware's own start-up
# dominates under TCG, is left out).
data_phase() {
	local first last
	first=$(tcpdump -nn -tt -r "$1/tap0.pcap" "udp and src host $SADDR and udp[8:2] = 3" 2>/dev/null | head -n1 | cut -d' ' -f1)
	last=$(tcpdump -nn -tt -r "$1/tap0.pcap" "udp and dst host $SADDR and not dst port 69 and udp[8:2] = 4" 2>/dev/null | tail -n1 | cut -d' ' -f1)
	awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}

# oack_options DIR: the options of each OACK bootwright sent, one OACK a
# line ("tsize=… blksize=… windowsize=…"), read from the pcap's payloads.
oack_options() {
	tcpdump -nn -r "$1/tap0.pcap" -x "udp and src host $SADDR and udp[8:2] = 6" 2>/dev/null |
		awk '/^[0-9]/ { if (h != "") print h; h = ""; next } { for (i = 2; i <= NF; i++) h = h $i } END { if (h != "") print h }' |
		while read -r hex; do
			# IPv4 header (IHL words) + 8 bytes of UDP + 2 of opcode.
			local ihl=$((16#${hex:1:1} * 4))
			xxd -r -p <<<"${hex:$(((ihl + 10) * 2))}" | tr '\0' '\n' | paste -sd' ' | sed 's/\([^ ]*\) \([^ ]*\) */\1=\2 /g; s/ $//'
		done
}

# run NAME DIR BW_ARG...: one VM's firmware PXE against bootwright with
# BW_ARGs; leaves DIR/bootwright.log and DIR/tap0.pcap.
run() {
	local name=$1 dir=$2 ns=$P-$1
	shift 2
	mkdir -p "$dir/config" "$dir/state"
	ns_new "$ns"
	bridge "$ns" "$SADDR/24"
	vm_tap "$ns"
	ip netns exec "$ns" tcpdump -i tap0 -nn -s 256 --immediate-mode -U -w "$dir/tap0.pcap" udp </dev/null >"$dir/tcpdump.log" 2>&1 &
	local tpid=$!
	local unset_env=() v
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$ns" env "${unset_env[@]}" "$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full \
		--dhcp-range "$NET.100-$NET.150" --http-addr :8080 --config-dir "$dir/config" \
		--state-dir "$dir/state" --log-level debug "$@" </dev/null >"$dir/bootwright.log" 2>&1 &
	local bwpid=$! deadline=$((SECONDS + 20))
	until [ -n "$(ip netns exec "$ns" ss -Hlnu 'sport = :69')" ]; do
		kill -0 "$bwpid" 2>/dev/null || die "$name: bootwright exited: $(tail -n3 "$dir/bootwright.log")"
		[ $SECONDS -lt $deadline ] || die "$name: bootwright not listening after 20s"
		sleep 0.2
	done
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$dir/vars.fd"
	vm_start "$ns" "$dir" -accel tcg -nographic -no-reboot -nodefaults -vga none -m 512 \
		-serial "file:$dir/serial.log" -monitor none \
		-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device "virtio-net-pci,netdev=n0,mac=$VMAC,romfile=,bootindex=1"
	local t0=$SECONDS
	until [ -n "$(nbp_logged "$dir")" ]; do
		kill -0 "$QPID" 2>/dev/null || break
		[ $((SECONDS - t0)) -lt "$BOOT_TIMEOUT" ] || break
		sleep 0.5
	done
	echo "  ($name: VM ran $((SECONDS - t0)) s)"
	kill -KILL "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	sleep 1
	kill -INT "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	ns_kill_del "$ns"
}

# check NAME DIR WANT_WINDOW: the RRQ, the OACK and the ACK count of the
# NBP transfer in DIR, for a server that grants WANT_WINDOW. Sets DUR
# (bootwright's log: RRQ to last ACK) and PH (data_phase).
check() {
	local name=$1 dir=$2 want=$3 line rrq oack data acks blocks
	line=$(nbp_logged "$dir")
	DUR="" PH=""
	[ -n "$line" ] || { fail "$name: no snponly.efi sent in $BOOT_TIMEOUT s (see $dir)"; return; }
	# Every block at least once in the pcap, or the counts below mean nothing.
	blocks=$(($(field "$line" bytes) / $(field "$line" blksize) + 1))
	DUR=$(field "$line" duration)
	PH=$(data_phase "$dir")
	rrq=$(tcpdump -nn -r "$dir/tap0.pcap" -A "udp dst port 69 and udp[8:2] = 1" 2>/dev/null | tr -c '[:print:]\n' '.' | grep -o 'snponly.efi.*' | tail -n1)
	oack=$(oack_options "$dir" | tail -n1)
	data=$(pcap_count "$dir" "udp and src host $SADDR and udp[8:2] = 3")
	acks=$(pcap_count "$dir" "udp and dst host $SADDR and not dst port 69 and udp[8:2] = 4")
	echo "  $name: RRQ $rrq"
	echo "  $name: OACK $oack; $data DATA, $acks ACKs from the client; log: blksize=$(field "$line" blksize) windowsize=$(field "$line" windowsize) duration=$DUR; first DATA to last ACK ${PH} ms"
	local ok=1
	grep -q 'windowsize\.4\.' <<<"$rrq" || { fail "$name: the firmware's RRQ did not ask windowsize 4: $rrq"; ok=0; }
	if [ "$want" = 1 ]; then
		[[ $oack != *windowsize* ]] || { fail "$name: the OACK granted windowsize: $oack"; ok=0; }
		[ "$acks" -ge "$data" ] && [ "$data" -ge "$blocks" ] || { fail "$name: $acks ACKs for $data DATA ($blocks blocks), want one each"; ok=0; }
	else
		[[ " $oack " == *" windowsize=$want "* ]] || { fail "$name: the OACK did not grant windowsize $want: $oack"; ok=0; }
		# A window of 4 is one ACK per 4 DATA; allow some resends.
		[ "$data" -ge "$blocks" ] && [ "$acks" -le $((data / want + data / 20 + 2)) ] || { fail "$name: $acks ACKs for $data DATA ($blocks blocks), want about $((data / want))"; ok=0; }
	fi
	[ "$(field "$line" windowsize)" = "$want" ] || { fail "$name: log says windowsize $(field "$line" windowsize), want $want"; ok=0; }
	[ $ok = 0 ] || pass "$name: OVMF's firmware PXE fetched snponly.efi, OACK '$oack', $acks ACKs for $data DATA, in $DUR"
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	local t
	for t in qemu-system-x86_64 tcpdump xxd; do command -v $t >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
	[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || die "OVMF missing: run scripts/install-deps.sh"
	rm -rf "$WORK" && mkdir -p "$WORK"
	trap ns_cleanup EXIT
	trap 'exit 130' INT TERM
	local t0 granted refused gph rph
	t0=$(now)
	run granted "$WORK/granted"
	check granted "$WORK/granted" 4
	granted=$DUR gph=$PH
	run refused "$WORK/refused" --tftp-max-windowsize 1
	check refused "$WORK/refused" 1
	refused=$DUR rph=$PH
	if [ -n "$granted" ] && [ -n "$refused" ]; then
		echo "NBP download (snponly.efi), windowsize 4 granted vs refused:"
		echo "  RRQ to last ACK (log):         $granted vs $refused, refused/granted $(awk -v a="$(ms "$refused")" -v b="$(ms "$granted")" 'BEGIN { printf "%.2f", a / b }')"
		echo "  first DATA to last ACK (pcap): $gph ms vs $rph ms, refused/granted $(awk -v a="$rph" -v b="$gph" 'BEGIN { printf "%.2f", a / b }')"
	fi
	echo "firmware tftp tests took $(elapsed "$t0")"
	[ $FAILS = 0 ] && echo "tftpvmtest: all passed" || { echo "tftpvmtest: $FAILS failed"; exit 1; }
}

main "$@"
