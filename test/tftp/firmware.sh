#!/usr/bin/env bash
# firmware.sh: real UEFI firmware and boot loaders downloading over
# bootwright's TFTP with RFC 7440 windowsize granted and refused. Each
# scenario boots its VM twice against the real bootwright binary:
#
#   granted   bootwright as it ships (--tftp-max-windowsize 16)
#   refused   --tftp-max-windowsize 1: no OACK carries windowsize, so
#             every client falls back to lock-step (one ACK per block)
#
# Scenarios, one VM at a time (-accel tcg, the firmware's own PXE:
# romfile= on the NIC):
#
#   ovmf        OVMF (x86-64) fetches the NBP snponly.efi; the VM is
#               stopped once bootwright logs it sent
#   aavmf       AAVMF (qemu-system-aarch64 -M virt -cpu cortex-a57, as
#               test/arm64 boots it) fetches the NBP ipxe-arm64.efi;
#               stopped once it is sent
#   secureboot  OVMF with Secure Boot enforced, as test/loaders'
#               uefi-secureboot: the firmware fetches shimx64.efi, shim
#               has the firmware fetch grubx64.efi (signed GRUB), GRUB
#               reads grub/grub.cfg (rendered for the machine) and loads
#               Debian's signed kernel and the initrd over TFTP; stopped
#               at the kernel's marker, and the kernel must log "Secure
#               boot enabled"
#
# Checked for every file of a scenario, from the pcap of the VM's tap
# (tftp_transfers, test/lib/tftppcap.sh) and bootwright's log: it was
# sent whole (outcome=ok, as many bytes as the file on disk or the OACK's
# tsize, every block in the pcap, the last one ACKed); the options of the
# client's RRQ are exactly those in ASKS below (a size probe before it,
# answered with error 8, is shown but not checked); the OACK grants
# windowsize min(asked, 16), or leaves it out when refused or not asked;
# the client sent about one ACK per window, or one per block in
# lock-step; bootwright's log says the same window. Any other transfer
# that failed fails the run. Printed per file: what was asked and
# granted, DATA and ACK counts and the download time, both from
# bootwright's log (RRQ to last ACK) and from the pcap (first DATA to
# last ACK); at the end, each file's two download times and their
# ratio. Under TCG, on a bridge without latency, the emulated firmware
# takes nearly all of the time (bootwright answers an ACK in a median
# of 0.01-0.04 ms), and from one run to the next on this shared machine
# the ratio of a windowed download varied from 0.5 to 7.8. The kernel's
# row is lock-step in both runs: its ratio shows how far a ratio moves
# when the protocol does not change. The ACK counts are the protocol's
# side of it (docs/tftp.md has the numbers).
#
# 94-115 s measured in six runs (six TCG boots, one at a time); not in
# make test (make tftpvmtest).
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/tftp/firmware.sh [SCENARIO...]
# Environment: FW_BOOT_TIMEOUT (seconds per VM, default 240), FW_ORDER
# ("refused granted" boots each scenario's refused run first),
# BOOTWRIGHT_TEST_CACHE (the signed kernel and initramfs,
# test/vm/build-image.sh --signed). Must run as root. Namespaces are named
# bwf-<pid>-*, removed on exit; processes are stopped by PID. Logs, pcaps
# and transfers.tsv (the pcap's transfers) stay in
# test/tftp/work/firmware/<scenario>/<granted|refused>/.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work/firmware
P="bwf-$$"
NET=10.232.0
SADDR=$NET.1
BOOT_TIMEOUT=${FW_BOOT_TIMEOUT:-240}
read -r -a ORDER <<<"${FW_ORDER:-granted refused}"
MAX_WINDOW=16 # bootwright's default --tftp-max-windowsize
FAILS=0
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=../lib/tftppcap.sh
. "$HERE/../lib/tftppcap.sh"

ALL=(ovmf aavmf secureboot)
declare -A MAC=([ovmf]=52:54:00:f7:00:01 [aavmf]=52:54:00:f7:00:02 [secureboot]=52:54:00:f7:00:03)
KERNEL=assets/testos-signed/vmlinuz
INITRD=assets/testos-signed/initrd.gz
# The files each scenario must fetch whole, in order; the NBP scenarios'
# VMs are stopped once their one file is sent.
declare -A FILES=([ovmf]=snponly.efi [aavmf]=ipxe-arm64.efi
	[secureboot]="shimx64.efi grubx64.efi grub/grub.cfg $KERNEL $INITRD")
# What each client's RRQ for the file asks, options sorted by name, as
# seen here: edk2's PXE (OVMF and AAVMF) asks windowsize 4 (its
# PcdPxeTftpWindowSize) and blksize 1468 (after a size probe that also
# asks tsize); shim fetches grubx64.efi through the firmware's PXE
# protocol, which asks windowsize 4 with blksize 512; GRUB asks blksize
# 1024 and tsize, no windowsize.
declare -A ASKS=(
	["ovmf snponly.efi"]="blksize=1468 windowsize=4"
	["aavmf ipxe-arm64.efi"]="blksize=1468 windowsize=4"
	["secureboot shimx64.efi"]="blksize=1468 windowsize=4"
	["secureboot grubx64.efi"]="blksize=512 windowsize=4"
	["secureboot grub/grub.cfg"]="blksize=1024 tsize=0"
	["secureboot $KERNEL"]="blksize=1024 tsize=0"
	["secureboot $INITRD"]="blksize=1024 tsize=0"
)
# Per "scenario mode file": the download time in ms from bootwright's log
# (RRQ to last ACK) and from the pcap (first DATA to last ACK), and the
# window; per "scenario file": its blocks.
declare -A DUR=() PH=() WIN=() BLOCKS=()

die() { echo "tftpvmtest: $*" >&2; exit 2; }
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }

# field LINE KEY: KEY's value in a logfmt line.
field() { grep -o " $2=[^ ]*" <<<"$1" | head -n1 | cut -d= -f2; }
# opt OPTIONS NAME: NAME's value in "name=value ..." (tftp_transfers' form).
opt() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n1; }

# ms DURATION: a Go duration ("850.2ms", "1.5s", "1m2.5s", "900µs") in ms.
ms() {
	awk -v d="$1" 'BEGIN { t = 0; while (match(d, /^[0-9.]+(µs|us|ms|s|m|h)/)) {
		u = substr(d, RSTART, RLENGTH); n = u + 0; sub(/^[0-9.]+/, "", u)
		t += n * (u == "h" ? 3600000 : u == "m" ? 60000 : u == "s" ? 1000 : u == "ms" ? 1 : 0.001)
		d = substr(d, RLENGTH + 1) } printf "%.1f", t }'
}

# ratio A B: A / B to two places.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# sent DIR FILE: bootwright's last log line for FILE sent whole (the name
# as logged, with or without a leading "/").
sent() {
	awk -v f="$2" '/msg="tftp transfer"/ && / outcome=ok / {
		for (i = 1; i <= NF; i++) if ($i ~ /^file=/) { n = substr($i, 6); sub(/^\//, "", n); if (n == f) l = $0 } }
		END { print l }' "$1/bootwright.log"
}

# source_of FILE: the file bootwright serves as FILE, or nothing for a
# rendered one.
source_of() {
	case $1 in
	snponly.efi | ipxe-arm64.efi) echo "$ROOT/tftpboot/nbp/$1" ;;
	shimx64.efi) echo /usr/lib/shim/shimx64.efi.signed ;;
	grubx64.efi) echo /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed ;;
	assets/*) echo "$WORK/$1" ;;
	esac
}

# setup SCENARIO...: the menu (the secureboot machine boots Debian's
# signed kernel over TFTP, as test/loaders' uefi-secureboot) and, for
# secureboot, the kernel and initramfs under WORK/assets.
setup() {
	mkdir -p "$WORK/config/menus" "$WORK/assets"
	cat >"$WORK/config/menus/default.yaml" <<-'EOF'
	title: bootwright TFTP windowsize test
	timeout: 30s
	default: local
	entries:
	  - {name: local, title: Boot from local disk, type: local}
	  - {name: testos-signed, title: "testos, Debian's signed kernel", kernel: testos-signed/vmlinuz,
	     initrds: [testos-signed/initrd.gz], args: "console=ttyS0 panic=-1"}
	EOF
	cat >"$WORK/config/menus/machines.yaml" <<-EOF
	machines:
	  - {mac: "${MAC[secureboot]}", name: vm-secureboot, secure_boot: true, default: testos-signed, timeout: 1s}
	EOF
	[[ " $* " == *" secureboot "* ]] || return 0
	local cache f
	cache=$("$ROOT/test/vm/build-image.sh" --signed)
	mkdir -p "$WORK/assets/testos-signed"
	for f in vmlinuz.signed:vmlinuz initrd.gz:initrd.gz; do
		cmp -s "$cache/${f%%:*}" "$WORK/assets/testos-signed/${f#*:}" || cp "$cache/${f%%:*}" "$WORK/assets/testos-signed/${f#*:}"
	done
}

# qemu_args S DIR: S's QEMU arguments, one a line (vars.fd copied to DIR).
qemu_args() {
	local s=$1 dir=$2 code vars extra
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	case $s in
	ovmf) code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd extra=(-vga none -m 512) ;;
	# Secure Boot enforced: the secboot build needs SMM on q35 and its
	# flash locked to SMM; the ms vars have Microsoft's keys enrolled.
	secureboot) code=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
		extra=(-vga none -m 512 -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on) ;;
	# cortex-a57: -cpu max is about four times slower under TCG (test/arm64).
	aavmf) code=/usr/share/AAVMF/AAVMF_CODE.fd vars=/usr/share/AAVMF/AAVMF_VARS.fd extra=(-machine virt -cpu cortex-a57 -m 1024) ;;
	esac
	cp "$vars" "$dir/vars.fd"
	printf '%s\n' -accel tcg -nographic -no-reboot -nodefaults -serial "file:$dir/serial.log" -monitor none "${extra[@]}" \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" -drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device "virtio-net-pci,netdev=n0,mac=${MAC[$s]},romfile=,bootindex=1"
}

# vm_done S DIR: S's VM got as far as it is booted for.
vm_done() {
	case $1 in
	secureboot) [ -n "$(serial_marker "$2/serial.log")" ] ;;
	*) [ -n "$(sent "$2" "${FILES[$1]}")" ] ;;
	esac
}

# run S MODE: one boot of S's VM against bootwright, windowsize granted or
# refused; leaves bootwright.log, serial.log and tap0.pcap in S/MODE.
run() {
	local s=$1 mode=$2 dir=$WORK/$1/$2 ns=$P-$1-$2 bw=() qargs tpid t0 qemu=qemu-system-x86_64
	[ "$mode" = granted ] || bw=(--tftp-max-windowsize 1)
	rm -rf "$dir" && mkdir -p "$dir/state"
	ns_new "$ns"
	bridge "$ns" "$SADDR/24"
	vm_tap "$ns"
	ip netns exec "$ns" tcpdump -i tap0 -nn -s 256 --immediate-mode -U -w "$dir/tap0.pcap" udp </dev/null >"$dir/tcpdump.log" 2>&1 &
	tpid=$!
	bw_start "$ns" "$dir" 8080 "$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full --dhcp-range "$NET.100-$NET.150" \
		--http-addr :8080 --config-dir "$WORK/config" --assets-dir "$WORK/assets" --state-dir "$dir/state" \
		--log-level debug "${bw[@]}" || die "$s $mode: bootwright did not start"
	for _ in $(seq 50); do [ -n "$(ip netns exec "$ns" ss -Hlnu 'sport = :69')" ] && [ -s "$dir/tap0.pcap" ] && break; sleep 0.2; done
	mapfile -t qargs < <(qemu_args "$s" "$dir")
	[ "$s" != aavmf ] || qemu="qemu-system-aarch64"
	QEMU_SYSTEM=$qemu vm_start "$ns" "$dir" "${qargs[@]}"
	t0=$SECONDS
	until vm_done "$s" "$dir"; do
		kill -0 "$QPID" 2>/dev/null || break
		[ $((SECONDS - t0)) -lt "$BOOT_TIMEOUT" ] || break
		sleep 0.5
	done
	echo "  ($s $mode: VM ran $((SECONDS - t0)) s)"
	kill -KILL "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	rm -f "$dir/vars.fd"
	sleep 1
	kill -INT "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	ns_kill_del "$ns"
}

# check_file S MODE DIR FILE: FILE's transfer in bootwright's log and in
# DIR/transfers.tsv (tftp_transfers). Prints what was asked and granted
# and the times; sets DUR, PH, WIN and BLOCKS.
check_file() {
	local s=$1 mode=$2 dir=$3 f=$4 line rec asked oack data blocks acks first last
	local bytes blksize win dur ph want_bytes aw want_w=1 ok=1 probe src
	line=$(sent "$dir" "$f")
	[ -n "$line" ] || { fail "$s $mode: bootwright's log has no whole transfer of $f"; return; }
	rec=$(awk -F'\t' -v p="$(field "$line" peer)" -v f="$f" '$1 == p { n = $2; sub(/^\//, "", n); if (n == f) r = $0 } END { print r }' "$dir/transfers.tsv")
	[ -n "$rec" ] || { fail "$s $mode: no RRQ for $f from $(field "$line" peer) in the pcap"; return; }
	IFS=$'\t' read -r _ _ asked oack data blocks acks first last _ <<<"$rec"
	bytes=$(field "$line" bytes) blksize=$(field "$line" blksize) win=$(field "$line" windowsize) dur=$(field "$line" duration)
	ph=-
	[ "$first" = - ] || [ "$last" = - ] || ph=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
	# A size probe: an earlier RRQ for the file, answered by the client with an error.
	probe=$(awk -F'\t' -v f="$f" '{ n = $2; sub(/^\//, "", n) } n == f && $5 == 0 && $10 > 0 { r = "asked \"" $3 "\", OACK \"" $4 "\"" } END { print r }' "$dir/transfers.tsv")
	echo "  $s $mode: $f${probe:+ (size probe first: $probe)}"
	echo "      asked \"$asked\", OACK \"$oack\"; $data DATA for $blocks blocks, $acks ACKs; log: $bytes bytes, blksize=$blksize windowsize=$win retransmits=$(field "$line" retransmits) duration=$dur; first DATA to last ACK $ph ms"
	[ "$asked" = "${ASKS[$s $f]}" ] || { fail "$s $mode: $f: the client asked \"$asked\", want \"${ASKS[$s $f]}\""; ok=0; }
	src=$(source_of "$f")
	want_bytes=$(opt "$oack" tsize)
	[ -z "$src" ] || want_bytes=$(stat -c %s "$src")
	[ -z "$want_bytes" ] || [ "$bytes" = "$want_bytes" ] || { fail "$s $mode: $f: $bytes bytes sent, want $want_bytes"; ok=0; }
	if [ "$blocks" -ne $((bytes / blksize + 1)) ] || [ "$data" -lt "$blocks" ] || [ "$last" = - ]; then
		fail "$s $mode: $f: the pcap has $blocks blocks in $data DATA, want $((bytes / blksize + 1)), and their ACKs"; ok=0
	fi
	aw=$(opt "$asked" windowsize)
	if [ "$mode" = granted ] && [ -n "$aw" ]; then want_w=$((aw < MAX_WINDOW ? aw : MAX_WINDOW)); fi
	if [ "$want_w" = 1 ]; then
		[[ $oack != *windowsize* ]] || { fail "$s $mode: $f: the OACK granted windowsize: $oack"; ok=0; }
		[ "$acks" -ge "$blocks" ] || { fail "$s $mode: $f: $acks ACKs for $blocks blocks, want one each"; ok=0; }
	else
		[ "$(opt "$oack" windowsize)" = "$want_w" ] || { fail "$s $mode: $f: the OACK did not grant windowsize $want_w: $oack"; ok=0; }
		# One ACK per window of want_w DATA; allow some resends.
		if [ "$acks" -lt $((blocks / want_w)) ] || [ "$acks" -gt $((data / want_w + data / 20 + 2)) ]; then
			fail "$s $mode: $f: $acks ACKs for $data DATA ($blocks blocks), want about $((blocks / want_w))"; ok=0
		fi
	fi
	[ "$win" = "$want_w" ] || { fail "$s $mode: $f: bootwright's log says windowsize $win, want $want_w"; ok=0; }
	[ $ok = 0 ] || pass "$s $mode: $f whole, asked \"$asked\", OACK \"$oack\", $acks ACKs for $blocks blocks, in $dur"
	DUR[$s $mode $f]=$(ms "$dur") PH[$s $mode $f]=$ph WIN[$s $mode $f]=$win BLOCKS[$s $f]="$blocks blocks of $blksize"
}

# check S MODE: every file of S's run, the transfers that failed, and
# for secureboot the kernel's marker.
check() {
	local s=$1 mode=$2 dir=$WORK/$1/$2 f bad marker
	tftp_transfers "$dir/tap0.pcap" "$SADDR" >"$dir/transfers.tsv"
	for f in ${FILES[$s]}; do check_file "$s" "$mode" "$dir" "$f"; done
	bad=$(grep 'msg="tftp transfer"' "$dir/bootwright.log" | grep -vE ' outcome=(ok|size_probe|not_found) ' || true)
	[ -z "$bad" ] || fail "$s $mode: transfers that failed: $bad"
	[ "$s" = secureboot ] || return 0
	marker=$(serial_marker "$dir/serial.log")
	if ! grep -qF "BOOT_IMAGE=(tftp,$SADDR)/$KERNEL" <<<"$marker"; then
		fail "$s $mode: no marker from the kernel GRUB loaded over TFTP in $BOOT_TIMEOUT s: ${marker:-none} (see $dir)"
	elif ! strip_ansi "$dir/serial.log" | grep -a "Secure boot enabled" >/dev/null; then
		fail "$s $mode: the kernel did not log \"Secure boot enabled\""
	else
		pass "$s $mode: the signed kernel ran under Secure Boot: $marker"
	fi
}

# summary S: each file's two download times and their ratio, a row each.
summary() {
	local s=$1 f g r
	for f in ${FILES[$s]}; do
		g="$s granted $f" r="$s refused $f"
		if [ -z "${DUR[$g]:-}" ] || [ -z "${DUR[$r]:-}" ] || [ "${PH[$g]}" = - ] || [ "${PH[$r]}" = - ]; then continue; fi
		printf '  %-10s %-29s %-18s %s vs %s  %9s %9s %5s  %9s %9s %5s\n' "$s" "$f" "${BLOCKS[$s $f]}" "${WIN[$g]}" "${WIN[$r]}" \
			"${DUR[$g]}" "${DUR[$r]}" "$(ratio "${DUR[$r]}" "${DUR[$g]}")" "${PH[$g]}" "${PH[$r]}" "$(ratio "${PH[$r]}" "${PH[$g]}")"
	done
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	local t f s m scenarios=("$@")
	[ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL[@]}")
	for s in "${scenarios[@]}"; do [ -n "${MAC[$s]:-}" ] || die "unknown scenario $s (known: ${ALL[*]})"; done
	[[ "${ORDER[*]}" == "granted refused" || "${ORDER[*]}" == "refused granted" ]] || die "FW_ORDER must be \"granted refused\" or \"refused granted\""
	for t in qemu-system-x86_64 qemu-system-aarch64 tcpdump; do command -v $t >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
	for f in /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_CODE_4M.secboot.fd /usr/share/OVMF/OVMF_VARS_4M.ms.fd \
		/usr/share/AAVMF/AAVMF_CODE.fd /usr/share/AAVMF/AAVMF_VARS.fd /usr/lib/shim/shimx64.efi.signed \
		/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed; do
		[ -r "$f" ] || die "$f missing: run scripts/install-deps.sh"
	done
	mkdir -p "$WORK"
	trap ns_cleanup EXIT
	trap 'exit 130' INT TERM
	t=$(now)
	echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	setup "${scenarios[@]}"
	for s in "${scenarios[@]}"; do
		for m in "${ORDER[@]}"; do
			run "$s" "$m"
			check "$s" "$m"
		done
	done
	echo "Download times in ms, windowsize granted vs refused: RRQ to last ACK from bootwright's log, first DATA to last ACK from the pcap"
	printf '  %-10s %-29s %-18s %-6s  %29s  %29s\n' "" "" "" "" "log (refused/granted)" "pcap (refused/granted)"
	printf '  %-10s %-29s %-18s %-6s  %9s %9s %5s  %9s %9s %5s\n' scenario file blocks window granted refused ratio granted refused ratio
	for s in "${scenarios[@]}"; do summary "$s"; done
	echo "firmware tftp tests took $(elapsed "$t"); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	[ $FAILS = 0 ] || { echo "tftpvmtest: $FAILS failed"; exit 1; }
	echo "tftpvmtest: all passed"
}

main "$@"
