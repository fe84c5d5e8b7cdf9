#!/usr/bin/env bash
# run.sh boots 64-bit ARM machines (qemu-system-aarch64 -machine virt,
# AAVMF, TCG) and x86 machines off ONE real `bootwright serve` in full
# DHCP mode, in a network namespace it creates, from one menu: every
# machine's default entry is the assets folder testos, whose own files
# are the x86 test kernel (test/vm/build-image.sh) and whose arm64/
# subfolder holds Debian's arm64 kernel and a busybox initramfs
# (test/arm64/fetch.sh). A VM passes when its kernel prints its own
# machine's argument (bootwright.test=<scenario>, machines.yaml args)
# and bootwright's log shows the path the scenario is about:
#
#   arm64-ipxe        AAVMF's firmware PXE (arch 11) -> TFTP ipxe-arm64.efi
#                     -> iPXE DHCP -> HTTP /boot.ipxe -> the per-MAC menu
#                     (arch=arm64) -> assets/testos/arm64/{vmlinuz,initrd.gz}
#                     over HTTP
#   arm64-grub        `loader: grub`: firmware PXE -> TFTP grubaa64.efi
#                     (Debian's signed grubnetaa64) -> grub/arm64-efi/*.mod
#                     and grub/grub.cfg (rendered for efi-arm64) over TFTP
#                     -> kernel and initrd over HTTP with GRUB's http module
#   arm64-http        AAVMF's UEFI HTTP Boot (PXE switched off with fw_cfg):
#                     HTTPClient (arch 19) gets
#                     http://SERVER:8080/tftp/ipxe-arm64.efi -> iPXE ->
#                     menu -> kernel, as arm64-ipxe
#   arm64-secureboot  AAVMF with Secure Boot enforced (AAVMF_VARS.ms.fd:
#                     Microsoft's keys, Secure Boot on); `secure_boot:
#                     true`: TFTP shimaa64.efi (Debian's, signed by
#                     Microsoft) -> grubaa64.efi -> grub/grub.cfg -> Debian's
#                     signed arm64 kernel and the initrd over TFTP from the
#                     assets folder; the EFI stub must say "UEFI Secure Boot
#                     is enabled"
#   arm64-secureboot-refused
#                     the same firmware for a machine without secure_boot:
#                     it is offered the unsigned ipxe-arm64.efi, which the
#                     firmware fetches and refuses; no kernel runs
#   x86-bios          SeaBIOS + QEMU's iPXE ROM -> /boot.ipxe -> the same
#                     menu (arch=bios) -> assets/testos/vmlinuz
#   x86-uefi          OVMF's firmware PXE -> snponly.efi -> the same menu
#                     (arch=efi-x64) -> assets/testos/vmlinuz
#
# bootwright serves GRUB's and shim's arm64 files with --tftp-loader-dir
# from fetch.sh's cache, laid out by TFTP name (grubaa64.efi, shimaa64.efi,
# grub/arm64-efi/*), as an operator on an amd64 host without multiarch
# would. The assets folder's cmdline says "console=ttyS0 console=ttyAMA0":
# each kernel takes the console that exists on its machine.
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/arm64/run.sh [SCENARIO...]
#
# Environment: BOOTWRIGHT_BIN (required), BOOTWRIGHT_ARM64_CACHE (fetch.sh's
# cache, default test/arm64/work/cache), BOOTWRIGHT_TEST_CACHE (the x86
# kernel), BOOTWRIGHT_VM_TIMEOUT (seconds per VM, default 300),
# BOOTWRIGHT_VM_JOBS (VMs at once, default 4). Logs stay in
# test/arm64/work/: bootwright.log, dnsmasq.log, and per scenario
# serial.log, qemu.log, qemu.cmd, result, and pcap/<scenario>.pcap (the
# VM's packet headers). Must run as root; everything
# lives in a namespace named bwa-<pid>, removed on exit; processes are
# stopped by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-300}
JOBS=${BOOTWRIGHT_VM_JOBS:-4}
NS="bwa-$$"
NET=10.231.0
SRV=$NET.1
ALL=(arm64-ipxe arm64-grub arm64-http arm64-secureboot arm64-secureboot-refused x86-bios x86-uefi)
declare -A MAC=([arm64-ipxe]=52:54:00:a6:40:01 [arm64-grub]=52:54:00:a6:40:02 [arm64-http]=52:54:00:a6:40:03
	[arm64-secureboot]=52:54:00:a6:40:04 [arm64-secureboot-refused]=52:54:00:a6:40:05
	[x86-bios]=52:54:00:a6:40:06 [x86-uefi]=52:54:00:a6:40:07)
declare -A LOADER=([arm64-grub]=grub)
declare -A SECURE=([arm64-secureboot]=true)
# What ends a scenario well without a marker: a refusal on the console.
declare -A REFUSAL=([arm64-secureboot-refused]="Access Denied")

AAVMF_CODE=/usr/share/AAVMF/AAVMF_CODE.fd
AAVMF_VARS=/usr/share/AAVMF/AAVMF_VARS.fd
# Debian's template with Microsoft's keys enrolled and Secure Boot on (the
# same AAVMF_CODE.fd enforces it; AAVMF_CODE.ms.fd is a symlink to it).
AAVMF_VARS_MS=/usr/share/AAVMF/AAVMF_VARS.ms.fd
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

die() { echo "arm64-test: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$ROOT/test/lib/netns.sh"

# ------------------------------------------------------------------ files ---

# write_config DIR: one menu for every machine (the assets folders, and
# local disk as the menu's own default), each machine booting testos with
# its own argument, its loader and secure_boot.
write_config() {
	local dir=$1 s
	mkdir -p "$dir/menus"
	cat >"$dir/menus/default.yaml" <<-'EOF'
	title: bootwright ARM64 and x86 test
	timeout: 30s
	default: local
	entries:
	  - {name: local, title: Boot from local disk, type: local}
	  - type: assets
	EOF
	{
		echo "machines:"
		for s in "${ALL[@]}"; do
			cat <<-EOF
			  - mac: "${MAC[$s]}"
			    name: $s
			    loader: ${LOADER[$s]:-ipxe}
			    secure_boot: ${SECURE[$s]:-false}
			    default: testos
			    timeout: 1s
			    args: "bootwright.test=$s"
			EOF
		done
	} >"$dir/menus/machines.yaml"
}

# put SRC DST: copy SRC to DST when they differ.
put() { cmp -s "$1" "$2" || cp "$1" "$2"; }

# write_assets X86CACHE ARMCACHE DIR: DIR/testos with the x86 kernel and
# initramfs at the top and the arm64 ones in arm64/.
write_assets() {
	local x86=$1 arm=$2 dir=$3/testos
	mkdir -p "$dir/arm64"
	put "$x86/vmlinuz" "$dir/vmlinuz"
	put "$x86/initrd.gz" "$dir/initrd.gz"
	put "$arm/vmlinuz" "$dir/arm64/vmlinuz"
	put "$arm/initrd.gz" "$dir/arm64/initrd.gz"
	echo "console=ttyS0 console=ttyAMA0 panic=-1" >"$dir/cmdline"
}

# ---------------------------------------------------------------- server ---

# serve: the LAN bridge (10.231.0.1/24 and a ULA), dnsmasq sending router
# advertisements only (iPXE then skips its ~13 s IPv6 wait), and
# bootwright in full mode on br0. Sets BWPID.
serve() {
	ns_new "$NS"
	bridge "$NS" "$SRV/24"
	# bridge() gives br0 a MAC of its own (see test/lib/netns.sh); the taps
	# still all join before the first VM starts.
	ip -n "$NS" addr add fd42:231::1/64 dev br0 nodad
	ip netns exec "$NS" dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --user=root \
		--port=0 --bind-interfaces --interface=br0 --pid-file="$WORK/dnsmasq.pid" \
		--dhcp-leasefile="$WORK/dnsmasq.leases" --enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h \
		</dev/null >"$WORK/dnsmasq.log" 2>&1 &
	local bw=("$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full --dhcp-range "$NET.100-$NET.150"
		--http-addr :8080 --config-dir "$WORK/config" --assets-dir "$WORK/assets" --state-dir "$WORK/state"
		--tftp-loader-dir "$ARMCACHE/loaders" --log-level debug)
	printf '%q ' ip netns exec "$NS" "${bw[@]}" >"$WORK/bootwright.cmd"
	echo >>"$WORK/bootwright.cmd"
	local unset_env=() v
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$NS" env "${unset_env[@]}" "${bw[@]}" </dev/null >"$WORK/bootwright.log" 2>&1 &
	BWPID=$!
	local deadline=$((SECONDS + 20))
	until [ -n "$(ip netns exec "$NS" ss -Hlnu 'sport = :67')" ] && [ -n "$(ip netns exec "$NS" ss -Hlnu 'sport = :69')" ] &&
		[ -n "$(ip netns exec "$NS" ss -Hlnt 'sport = :8080')" ]; do
		kill -0 "$BWPID" 2>/dev/null || die "bootwright exited: $(tail -n5 "$WORK/bootwright.log")"
		[ $SECONDS -lt $deadline ] || die "bootwright not listening after 20s: $(tail -n5 "$WORK/bootwright.log")"
		sleep 0.2
	done
}

# -------------------------------------------------------------- scenarios ---

# qemu_args S DIR TAP: S's QEMU arguments, one a line.
qemu_args() {
	local s=$1 dir=$2 tap=$3
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	local common=(-accel tcg -nographic -no-reboot -nodefaults
		-serial "file:$dir/serial.log" -monitor none
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no")
	case $s in
	arm64-*)
		local vars=$AAVMF_VARS extra=()
		case $s in
		arm64-secureboot*) vars=$AAVMF_VARS_MS ;;
		# UEFI HTTP Boot: with IPv4 and IPv6 PXE switched off the NIC's
		# boot options are HTTP Boot ones (edk2's PxeBcPcdProducerLib).
		arm64-http) extra=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n
			-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n) ;;
		esac
		cp "$vars" "$dir/vars.fd"
		# cortex-a57: -cpu max boots the same kernel about four times
		# slower under TCG (pointer authentication emulated in software).
		printf '%s\n' "${common[@]}" -machine virt -cpu cortex-a57 -m 1024 "${extra[@]}" \
			-drive "if=pflash,format=raw,unit=0,readonly=on,file=$AAVMF_CODE" \
			-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
			-device "virtio-net-pci,netdev=n0,mac=${MAC[$s]},romfile=,bootindex=1" ;;
	x86-bios)
		printf '%s\n' "${common[@]}" -m 256 -vga none \
			-device "virtio-net-pci,netdev=n0,mac=${MAC[$s]},bootindex=1" -boot n ;;
	x86-uefi)
		cp "$OVMF_VARS" "$dir/vars.fd"
		printf '%s\n' "${common[@]}" -m 512 -vga none \
			-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
			-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
			-device "virtio-net-pci,netdev=n0,mac=${MAC[$s]},romfile=,bootindex=1" ;;
	esac
}

# lease_ip MAC: the address bootwright last acknowledged for MAC.
lease_ip() {
	grep -a "msg=\"dhcp: answered\" mac=$1 .*reply=ACK" "$WORK/bootwright.log" |
		grep -oE "yiaddr=[0-9.]+" | tail -n1 | cut -d= -f2
}

# tftp_ok IP FILE: bootwright's log has a whole TFTP transfer of FILE to IP.
tftp_ok() { grep -aqE "msg=\"tftp transfer\" peer=$1:[0-9]+ file=/?$2 .*outcome=ok" "$WORK/bootwright.log"; }
# http_ok IP PATH: bootwright served PATH to IP.
http_ok() { grep -aqE "remote=$1 method=GET path=$2 status=(200|206)" "$WORK/bootwright.log"; }
# dhcp_said MAC REGEX: a DHCP answer to MAC matches REGEX.
dhcp_said() { grep -a "msg=\"dhcp: answered\" mac=$1 " "$WORK/bootwright.log" | grep -aqE "$2"; }

# check_path S DIR MARKER: prints what is missing from the path S must
# take (nothing when it took it).
check_path() {
	local s=$1 dir=$2 marker=$3 mac=${MAC[$1]} ip serial
	ip=$(lease_ip "$mac")
	[ -n "$ip" ] || { echo "bootwright acknowledged no address for $mac"; return; }
	serial=$(strip_ansi "$dir/serial.log")
	local kernel=/assets/testos/arm64/vmlinuz initrd=/assets/testos/arm64/initrd.gz arch=efi-arm64
	case $s in x86-bios) kernel=/assets/testos/vmlinuz initrd=/assets/testos/initrd.gz arch=bios ;;
	x86-uefi) kernel=/assets/testos/vmlinuz initrd=/assets/testos/initrd.gz arch=efi-x64 ;; esac
	case $s in
	arm64-ipxe | arm64-http | x86-bios | x86-uefi)
		case $s in
		arm64-ipxe)
			dhcp_said "$mac" 'arch=efi-arm64 .*decision="firmware-pxe ipxe-arm64\.efi" vendor_class=PXEClient:Arch:00011:UNDI:003000' ||
				{ echo "no DHCP answer offering ipxe-arm64.efi to AAVMF's PXE (PXEClient:Arch:00011:UNDI:003000)"; return; }
			tftp_ok "$ip" ipxe-arm64.efi || { echo "no TFTP transfer of ipxe-arm64.efi to $ip"; return; } ;;
		arm64-http)
			dhcp_said "$mac" "arch=efi-arm64-http .*decision=\"http-boot http://$SRV:8080/tftp/ipxe-arm64\.efi\" vendor_class=HTTPClient:Arch:00019" ||
				{ echo "no HTTP Boot answer (HTTPClient:Arch:00019, http://$SRV:8080/tftp/ipxe-arm64.efi)"; return; }
			http_ok "$ip" /tftp/ipxe-arm64.efi || { echo "AAVMF did not fetch /tftp/ipxe-arm64.efi over HTTP"; return; }
			# Firmware PXE would have fetched its NBP over TFTP (iPXE's own
			# DHCP later says PXEClient:Arch:00011 too, with UNDI:003010).
			! grep -aqE "msg=\"tftp transfer\" peer=$ip:" "$WORK/bootwright.log" || { echo "the firmware PXE-booted over TFTP"; return; } ;;
		x86-uefi)
			tftp_ok "$ip" snponly.efi || { echo "no TFTP transfer of snponly.efi to $ip"; return; } ;;
		esac
		grep -aqE "msg=\"http: menu served\" .*remote=$ip mac=$mac arch=$arch machine=$s .*default=testos" "$WORK/bootwright.log" ||
			{ echo "no iPXE menu served to $mac for arch $arch"; return; }
		http_ok "$ip" "$kernel" || { echo "$ip did not fetch $kernel over HTTP"; return; }
		http_ok "$ip" "$initrd" || { echo "$ip did not fetch $initrd over HTTP"; return; } ;;
	arm64-grub)
		tftp_ok "$ip" grubaa64.efi || { echo "no TFTP transfer of grubaa64.efi to $ip"; return; }
		tftp_ok "$ip" grub/arm64-efi/http.mod || { echo "GRUB did not fetch grub/arm64-efi/http.mod"; return; }
		grep -aqE "msg=\"tftp: menu rendered\" mac=$mac .*file=grub/grub.cfg.* machine=$s " "$WORK/bootwright.log" ||
			{ echo "grub/grub.cfg was not rendered for $s"; return; }
		grep -qF "BOOT_IMAGE=(http,$SRV:8080)$kernel " <<<"$marker " ||
			{ echo "GRUB did not load $kernel over HTTP: $marker"; return; }
		http_ok "$ip" "$initrd" || { echo "$ip did not fetch $initrd over HTTP"; return; } ;;
	arm64-secureboot)
		tftp_ok "$ip" shimaa64.efi || { echo "no TFTP transfer of shimaa64.efi to $ip"; return; }
		tftp_ok "$ip" grubaa64.efi || { echo "shim did not fetch grubaa64.efi"; return; }
		grep -aqE "msg=\"tftp: menu rendered\" mac=$mac .*file=grub/grub.cfg.* machine=$s " "$WORK/bootwright.log" ||
			{ echo "grub/grub.cfg was not rendered for $s"; return; }
		tftp_ok "$ip" "${kernel#/}" || { echo "GRUB did not fetch ${kernel#/} over TFTP"; return; }
		grep -qF "BOOT_IMAGE=(tftp,$SRV)$kernel " <<<"$marker " ||
			{ echo "the kernel was not loaded by GRUB over TFTP: $marker"; return; }
		grep -aq "EFI stub: UEFI Secure Boot is enabled" <<<"$serial" || { echo "the EFI stub did not say \"UEFI Secure Boot is enabled\""; return; }
		grep -aq "secureboot: Secure boot enabled" <<<"$serial" || echo "the kernel did not log \"Secure boot enabled\"" ;;
	arm64-secureboot-refused)
		[ -z "$marker" ] || { echo "a kernel ran: $marker"; return; }
		tftp_ok "$ip" ipxe-arm64.efi || { echo "no TFTP transfer of ipxe-arm64.efi to $ip"; return; }
		! grep -aqE "remote=$ip method=GET path=/boot.ipxe" "$WORK/bootwright.log" || echo "iPXE ran and asked for /boot.ipxe" ;;
	esac
}

# scenario S: boots S's VM once, until its marker, its REFUSAL, QEMU's exit
# or VM_TIMEOUT; writes $WORK/S/result (PASS or FAIL first).
scenario() {
	local s=$1 dir=$WORK/$1 tap=$2 qargs marker refused reason vmtime ip
	rm -rf "$dir" && mkdir -p "$dir"
	mapfile -t qargs < <(qemu_args "$s" "$dir" "$tap")
	case $s in arm64-*) QEMU_SYSTEM=qemu-system-aarch64 ;; *) QEMU_SYSTEM=qemu-system-x86_64 ;; esac
	vm_boot "$NS" "$dir" "${REFUSAL[$s]:-}" "$BWPID" "${qargs[@]}"
	marker=$MARKER refused=$REFUSED reason=$REASON vmtime=$VMTIME
	if [ -z "$reason" ]; then
		if [ -n "${REFUSAL[$s]:-}" ] && [ -z "$refused" ]; then
			reason="an unsigned image ran: $marker"
		elif [ -z "$refused" ] && ! grep -qE "(^| )bootwright\.test=$s( |\$)" <<<"${marker#*cmdline:}"; then
			reason="marker lacks bootwright.test=$s: $marker"
		else
			reason=$(check_path "$s" "$dir" "$marker")
		fi
	fi
	ip=$(lease_ip "${MAC[$s]}")
	# The firmware's 64 MiB variable store is kept only for a failure.
	[ -n "$reason" ] || rm -f "$dir/vars.fd"
	{
		if [ -z "$reason" ]; then
			echo "PASS $s (VM $vmtime)  ${refused:+refused: }${refused:-$marker}"
			[ "$s" != arm64-secureboot ] || echo "  serial: $(strip_ansi "$dir/serial.log" | grep -a -m1 'UEFI Secure Boot is enabled')"
		else
			echo "FAIL $s (VM $vmtime): $reason"
			echo "---- $dir/serial.log (tail, ANSI stripped)"
			strip_ansi "$dir/serial.log" 2>/dev/null | grep -av '^[[:space:]]*$' | tail -n 25 | cut -c1-160 || true
			echo "---- $WORK/bootwright.log (tail, this machine and the server)"
			grep -aE "mac=${MAC[$s]}|remote=${ip:-none} |peer=${ip:-none}:|level=(WARN|ERROR)" "$WORK/bootwright.log" 2>/dev/null |
				tail -n 25 | cut -c1-300 || true
			echo "---- the VM's last packets on $tap"
			tcpdump -n -tt -r "$WORK/pcap/$s.pcap" 2>/dev/null | tail -n 20 || true
			echo "----"
		fi
	} >"$dir/result"
}

cleanup() {
	ns_cleanup
}

# running PID...: how many of PIDs are still running.
running() {
	local n=0 p
	for p; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
	echo $n
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, tap devices)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	case $BOOTWRIGHT_BIN in /*) ;; *) BOOTWRIGHT_BIN=$PWD/$BOOTWRIGHT_BIN ;; esac
	local f s t0 x86cache
	for f in qemu-system-aarch64 qemu-system-x86_64 dnsmasq ip ss; do
		command -v "$f" >/dev/null || die "$f not found: run scripts/install-deps.sh"
	done
	for f in "$AAVMF_CODE" "$AAVMF_VARS" "$AAVMF_VARS_MS" "$OVMF_CODE" "$OVMF_VARS"; do
		[ -r "$f" ] || die "$f missing: run scripts/install-deps.sh"
	done
	local scenarios=("$@")
	[ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL[@]}")
	for s in "${scenarios[@]}"; do [ -n "${MAC[$s]:-}" ] || die "unknown scenario $s (known: ${ALL[*]})"; done
	t0=$(now)
	mkdir -p "$WORK"
	ARMCACHE=$("$HERE/fetch.sh")
	x86cache=$("$ROOT/test/vm/build-image.sh")
	rm -rf "$WORK/config" "$WORK/state" "$WORK/pcap"
	mkdir -p "$WORK/pcap"
	write_config "$WORK/config"
	write_assets "$x86cache" "$ARMCACHE" "$WORK/assets"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	serve
	# Each VM gets its own tap on the bridge, all of them made before the
	# first VM starts (see serve), and its packets' headers recorded.
	local i
	for i in "${!scenarios[@]}"; do
		s=${scenarios[$i]}
		ip -n "$NS" tuntap add "tap$i" mode tap
		ip -n "$NS" link set "tap$i" master br0 up
		ip netns exec "$NS" tcpdump -i "tap$i" -n -s 96 -U -w "$WORK/pcap/$s.pcap" </dev/null >/dev/null 2>&1 &
	done
	for s in "${scenarios[@]}"; do
		for _ in $(seq 30); do [ -e "$WORK/pcap/$s.pcap" ] && break; sleep 0.1; done
	done
	# At most JOBS VMs at once.
	local pids=()
	for i in "${!scenarios[@]}"; do
		while [ "$(running "${pids[@]}")" -ge "$JOBS" ]; do sleep 0.5; done
		(scenario "${scenarios[$i]}" "tap$i") >"$WORK/${scenarios[$i]}.out" 2>&1 &
		pids+=($!)
	done
	local pass=0 fail=0
	for i in "${!scenarios[@]}"; do
		s=${scenarios[$i]}
		wait "${pids[$i]}" || true
		if [ -s "$WORK/$s/result" ]; then
			cat "$WORK/$s/result"
			case $(head -c4 "$WORK/$s/result") in PASS) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
		else
			echo "FAIL $s: harness error"; cat "$WORK/$s.out"; fail=$((fail + 1))
		fi
		rm -f "$WORK/$s.out"
	done
	echo "arm64 boot tests took $(elapsed "$t0")"
	echo "arm64: $pass passed, $fail failed"
	[ $fail -eq 0 ]
}

main "$@"
