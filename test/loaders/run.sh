#!/usr/bin/env bash
# run.sh boots real QEMU machines through the classic boot loaders off a
# real `bootwright serve`, inside private network namespaces, and passes
# only when each VM's kernel prints its own machine's command line:
#
#   bios-pxelinux  SeaBIOS + QEMU's iPXE NIC ROM; machines.yaml says
#                  `loader: pxelinux`, so DHCP hands iPXE the TFTP script
#                  bootwright/pxelinux.ipxe, which chains pxelinux.0 from
#                  Debian's pxelinux package; PXELINUX loads ldlinux.c32
#                  and menu.c32 (syslinux-common) and the menu bootwright
#                  renders at pxelinux.cfg/01-<mac>, then fetches the
#                  kernel and initrd over HTTP through iPXE's PXE file API.
#   bios-lpxelinux the same machine as firmware PXE would run it: its
#                  ipxe_script (a script in the TFTP root) chains
#                  lpxelinux.0, the boot file firmware PXE is offered,
#                  which fetches the kernel over HTTP with its own lwIP
#                  stack. That stack over iPXE's UNDI gave up mid-download
#                  twice in about thirty boots here ("Boot failed: press
#                  a key to retry"; tap0.pcap shows its window full and
#                  never reopened while bootwright probes it); then the VM
#                  boots once more and the PASS line says so.
#   uefi-grub      OVMF's own firmware PXE (romfile=); machines.yaml says
#                  `loader: grub`, so DHCP offers grubx64.efi (Debian's
#                  signed grubnetx64), which reads grub/grub.cfg (rendered
#                  for the client's MAC) and loads the kernel and initrd
#                  with its http module (grub/x86_64-efi/http.mod) from
#                  bootwright's HTTP port 8080.
#   uefiipxe-grub  OVMF with QEMU's iPXE option ROM: iPXE gets the TFTP
#                  script bootwright/grub.ipxe, which chains grubx64.efi;
#                  GRUB takes its network setup from iPXE and goes on as
#                  above.
#   bios-grub      a BIOS machine told `loader: grub`: the script sees
#                  ${platform} pcbios, sends nothing GRUB, and falls back
#                  to the iPXE menu, which boots the same entry.
#   uefi-secureboot
#                  OVMF with Secure Boot enforced (OVMF_CODE_4M.secboot.fd,
#                  Microsoft keys enrolled in OVMF_VARS_4M.ms.fd, q35 with
#                  SMM); machines.yaml says `secure_boot: true`, so DHCP
#                  offers shimx64.efi (Debian's signed shim), which loads
#                  grubx64.efi (signed GRUB), which reads the rendered
#                  grub/grub.cfg and loads Debian's signed kernel and the
#                  initrd over TFTP from the assets directory
#                  ((tftp,10.231.0.1)/assets/...); the kernel must log
#                  "Secure boot enabled".
#   uefiipxe-secureboot
#                  a secure_boot machine running QEMU's iPXE ROM on OVMF
#                  without Secure Boot (Debian's iPXE is unsigned): it gets
#                  bootwright/grub.ipxe, which chains grubx64.efi itself,
#                  to the same Secure Boot menu and kernel over TFTP.
#   uefi-secureboot-refused
#                  Secure Boot enforced, for a machine without secure_boot:
#                  DHCP offers the unsigned snponly.efi, which the
#                  firmware fetches and refuses ("Access Denied"); no
#                  kernel runs and iPXE never asks for /boot.ipxe.
#   uefi-secureboot-unsigned
#                  a secure_boot machine whose menu boots the unsigned
#                  test kernel: shim and GRUB run, GRUB loads the kernel
#                  over TFTP and refuses it ("bad shim signature").
#   bios-pxelinux-proxy, uefi-grub-proxy, uefi-secureboot-proxy
#                  proxy mode: dnsmasq on the bridge is the LAN's DHCP
#                  server (addresses from .50-.99, no boot options) and
#                  bootwright runs in its own namespace at .2. The BIOS
#                  machine boots as bios-pxelinux; OVMF's firmware PXE is
#                  offered snponly.efi rather than GRUB (Debian's GRUB
#                  would look for its grub.cfg at the LAN server's
#                  next-server), and iPXE's grub.ipxe sets next-server to
#                  bootwright before it chains GRUB. Under Secure Boot
#                  there is no iPXE, so the LAN's dnsmasq names bootwright
#                  as next-server (dhcp-boot=,,ADDRESS), and the machine
#                  boots as uefi-secureboot does.
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/loaders/run.sh [SCENARIO...]
#
# Environment: BOOTWRIGHT_BIN (required), BOOTWRIGHT_TEST_CACHE (kernel and
# initramfs, built once by test/vm/build-image.sh), BOOTWRIGHT_VM_TIMEOUT
# (seconds per VM, default 240: with eleven TCG VMs sharing the cores a
# UEFI boot took up to 116 s, and with eight under load from other jobs
# 125 s), BOOTWRIGHT_VM_JOBS (VMs at once after the two short BIOS boots,
# default 4). Logs and the VM's packets (tap0.pcap) stay in
# test/loaders/work/<scenario>/.
# Must run as root. Every bridge and tap lives in namespaces named
# bwl-<pid>-*, removed on exit; processes are killed by PID.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-240}
JOBS=${BOOTWRIGHT_VM_JOBS:-4}
PREFIX="bwl-$$"
ALL=(bios-lpxelinux bios-pxelinux uefi-grub uefiipxe-grub bios-grub uefi-secureboot uefiipxe-secureboot uefi-secureboot-refused
	uefi-secureboot-unsigned bios-pxelinux-proxy uefi-grub-proxy uefi-secureboot-proxy)
declare -A MAC=([bios-pxelinux]=52:54:00:12:34:60 [uefi-grub]=52:54:00:12:34:61 [uefiipxe-grub]=52:54:00:12:34:62
	[bios-grub]=52:54:00:12:34:63 [uefi-secureboot]=52:54:00:12:34:64 [uefi-secureboot-refused]=52:54:00:12:34:65
	[uefiipxe-secureboot]=52:54:00:12:34:66 [uefi-secureboot-unsigned]=52:54:00:12:34:67
	[bios-pxelinux-proxy]=52:54:00:12:34:68 [uefi-grub-proxy]=52:54:00:12:34:69 [uefi-secureboot-proxy]=52:54:00:12:34:6a
	[bios-lpxelinux]=52:54:00:12:34:6b)
declare -A LOADER=([bios-pxelinux]=pxelinux [uefi-grub]=grub [uefiipxe-grub]=grub [bios-grub]=grub
	[uefi-secureboot]=ipxe [uefi-secureboot-refused]=ipxe [uefiipxe-secureboot]=ipxe [uefi-secureboot-unsigned]=ipxe
	[bios-pxelinux-proxy]=pxelinux [uefi-grub-proxy]=grub [uefi-secureboot-proxy]=ipxe [bios-lpxelinux]=pxelinux)
# A machine's own iPXE script (ipxe_script), from the TFTP root.
declare -A SCRIPT=([bios-lpxelinux]=lpxelinux.ipxe)
# secure_boot in machines.yaml, and the menu entry each machine boots.
declare -A SECURE=([uefi-secureboot]=true [uefiipxe-secureboot]=true [uefi-secureboot-unsigned]=true [uefi-secureboot-proxy]=true)
declare -A ENTRY=([uefi-secureboot]=testos-signed [uefiipxe-secureboot]=testos-signed [uefi-secureboot-proxy]=testos-signed)
# The TFTP files each path must have fetched (bootwright's log), in order.
declare -A PATHFILES=(
	[bios-pxelinux]="bootwright/pxelinux.ipxe pxelinux.0 ldlinux.c32 pxelinux.cfg/01-52-54-00-12-34-60 menu.c32"
	[bios-lpxelinux]="lpxelinux.ipxe lpxelinux.0 ldlinux.c32 pxelinux.cfg/01-52-54-00-12-34-6b menu.c32"
	[uefi-grub]="grubx64.efi grub/grub.cfg"
	[uefiipxe-grub]="bootwright/grub.ipxe grubx64.efi grub/grub.cfg"
	[bios-grub]="bootwright/grub.ipxe"
	[uefi-secureboot]="shimx64.efi grubx64.efi grub/grub.cfg assets/testos-signed/vmlinuz assets/testos-signed/initrd.gz"
	[uefiipxe-secureboot]="bootwright/grub.ipxe grubx64.efi grub/grub.cfg assets/testos-signed/vmlinuz assets/testos-signed/initrd.gz"
	[uefi-secureboot-refused]="snponly.efi"
	[uefi-secureboot-unsigned]="shimx64.efi grubx64.efi grub/grub.cfg assets/testos/vmlinuz"
	[bios-pxelinux-proxy]="bootwright/pxelinux.ipxe pxelinux.0 ldlinux.c32 pxelinux.cfg/01-52-54-00-12-34-68 menu.c32"
	[uefi-grub-proxy]="snponly.efi bootwright/grub.ipxe grubx64.efi grub/grub.cfg"
	[uefi-secureboot-proxy]="shimx64.efi grubx64.efi grub/grub.cfg assets/testos-signed/vmlinuz assets/testos-signed/initrd.gz"
)
# What ends a scenario well: its kernel's marker, or this refusal on the
# serial console (firmware or GRUB refusing an unsigned image).
declare -A REFUSAL=([uefi-secureboot-refused]="Access Denied" [uefi-secureboot-unsigned]="bad shim signature")
NET=10.231.0

die() { echo "loadertest: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"


cleanup() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX-" || true); do
		ns_kill_del "$ns"
	done
	wait 2>/dev/null || true
}

# write_config DIR: a menu whose default entry boots the test kernel with
# an argument from the machine, the machines with their loaders, and
# under DIR/tftp (bootwright's --tftp-root) the iPXE script that runs
# lpxelinux.0 as firmware PXE would.
write_config() {
	local dir=$1 s
	mkdir -p "$dir/menus" "$dir/tftp"
	printf '#!ipxe\nset 210:string tftp://%s.1/\nchain tftp://%s.1/lpxelinux.0\n' "$NET" "$NET" >"$dir/tftp/lpxelinux.ipxe"
	cat >"$dir/menus/default.yaml" <<-'EOF'
	title: bootwright loader test
	timeout: 30s
	default: local
	entries:
	  - {name: local, title: Boot from local disk, type: local}
	  - name: testos
	    title: testos over HTTP
	    kernel: testos/vmlinuz
	    initrds: [testos/initrd.gz]
	    args: "console=ttyS0 panic=-1 bootwright.loader={{ .Request.Arch }}"
	  - name: testos-signed
	    title: testos, Debian's signed kernel
	    kernel: testos-signed/vmlinuz
	    initrds: [testos-signed/initrd.gz]
	    args: "console=ttyS0 panic=-1 bootwright.loader={{ .Request.Arch }}"
	EOF
	{
		echo "machines:"
		for s in "${!MAC[@]}"; do
			cat <<-EOF
			  - mac: "${MAC[$s]}"
			    name: vm-$s
			    loader: ${LOADER[$s]}
			    secure_boot: ${SECURE[$s]:-false}
			    default: ${ENTRY[$s]:-testos}
			    timeout: 1s
			    args: "bootwright.test=loader-$s"
			EOF
			[ -z "${SCRIPT[$s]:-}" ] || echo "    ipxe_script: tftp://$NET.1/${SCRIPT[$s]}"
		done
	} >"$dir/menus/machines.yaml"
}

# srv_ip S: the address bootwright serves scenario S at.
srv_ip() { if [[ $1 == *-proxy ]]; then echo "$NET.2"; else echo "$NET.1"; fi; }

qemu_args() {
	local s=$1 dir=$2
	# shellcheck disable=SC2054
	local common=(-accel tcg -nographic -no-reboot -nodefaults -vga none
		-serial "file:$dir/serial.log" -monitor none
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no)
	case $s in
	bios-*)
		printf '%s\n' "${common[@]}" -m 256 \
			-device "virtio-net-pci,netdev=n0,mac=${MAC[$s]},bootindex=1" -boot n ;;
	uefi*)
		local code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd rom=romfile=, extra=()
		case $s in
		uefi-secureboot*)
			# Secure Boot enforced: the secboot build needs SMM on q35 and
			# its flash locked to SMM; the ms vars have Microsoft's keys.
			code=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
			extra=(-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on) ;;
		uefiipxe-*)
			# No romfile=: QEMU's iPXE option ROM (EFI build) runs instead of OVMF's PXE.
			rom= ;;
		esac
		cp "$vars" "$dir/vars.fd"
		printf '%s\n' "${common[@]}" -m 512 "${extra[@]}" \
			-drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" \
			-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
			-device "virtio-net-pci,netdev=n0,mac=${MAC[$s]},${rom}bootindex=1" ;;
	esac
}

# check_path S DIR MARKER: prints what is missing from the boot path S
# must take: the loader's files over TFTP in bootwright's log, and the
# loader's own mark on the kernel command line (BOOT_IMAGE is set by
# PXELINUX to the kernel's URL, by GRUB to its device path).
check_path() {
	local s=$1 dir=$2 marker=$3 f srv
	srv=$(srv_ip "$s")
	if [[ $s == *-proxy ]]; then
		# The address came from the LAN's dnsmasq, the boot file from
		# bootwright's proxy.
		grep -qE "DHCPACK\(br0\) $NET\.(5[0-9]|[6-9][0-9]) ${MAC[$s]}" "$dir/dnsmasq.log" ||
			{ echo "dnsmasq did not lease ${MAC[$s]} an address from its pool"; return; }
		grep -q "msg=\"dhcp: answered\" mac=${MAC[$s]} .*mode=proxy" "$dir/bootwright.log" ||
			{ echo "bootwright did not answer ${MAC[$s]} as a proxy"; return; }
	fi
	for f in ${PATHFILES[$s]}; do
		grep -q "msg=\"tftp transfer\".*file=/\\?$f .*outcome=ok" "$dir/bootwright.log" ||
			{ echo "bootwright's log has no successful TFTP transfer of $f"; return; }
	done
	case $s in
	uefi-secureboot-refused)
		[ -z "$marker" ] || { echo "a kernel ran: $marker"; return; }
		! grep -q "path=/boot.ipxe" "$dir/bootwright.log" || echo "iPXE ran and asked for /boot.ipxe" ;;
	uefi-secureboot-unsigned)
		[ -z "$marker" ] || echo "the unsigned kernel ran: $marker" ;;
	*-secureboot | *-secureboot-proxy)
		grep -q "msg=\"tftp: menu rendered\".*file=grub/grub.cfg .*machine=vm-$s" "$dir/bootwright.log" ||
			{ echo "grub/grub.cfg was not rendered for vm-$s"; return; }
		grep -qF "BOOT_IMAGE=(tftp,$srv)/assets/testos-signed/vmlinuz" <<<"$marker" ||
			{ echo "the kernel was not loaded by GRUB over TFTP: $marker"; return; }
		! grep -q "file=/\?shimx64.efi " "$dir/bootwright.log" || [[ $s == uefi-secureboot* ]] ||
			{ echo "iPXE was sent shim"; return; }
		# No grep -q: quitting early would SIGPIPE sed and fail the pipe.
		[[ $s != uefi-secureboot* ]] || strip_ansi "$dir/serial.log" | grep -a "Secure boot enabled" >/dev/null ||
			echo "the kernel did not log \"Secure boot enabled\"" ;;
	uefi*)
		grep -q "msg=\"tftp: menu rendered\".*file=grub/grub.cfg .*machine=vm-$s" "$dir/bootwright.log" ||
			{ echo "grub/grub.cfg was not rendered for vm-$s"; return; }
		grep -qF "BOOT_IMAGE=(http,$srv:8080)/assets/testos/vmlinuz" <<<"$marker" ||
			echo "the kernel was not loaded by GRUB over HTTP: $marker" ;;
	bios-grub)
		# The script's message goes to the VGA console; the fallback shows
		# as the iPXE menu fetched over HTTP.
		grep -q "path=/ipxe/52-54-00-12-34-63 status=200" "$dir/bootwright.log" ||
			{ echo "the iPXE script did not fall back to the iPXE menu"; return; }
		! grep -q "file=/\\?grubx64.efi " "$dir/bootwright.log" || echo "a BIOS machine was sent grubx64.efi" ;;
	bios-*)
		grep -qF "BOOT_IMAGE=http://$srv:8080/assets/testos/vmlinuz" <<<"$marker" ||
			echo "the kernel was not loaded by lpxelinux over HTTP: $marker" ;;
	esac
}

# serve S DIR NS: the LAN's dnsmasq and bootwright for scenario S. Full
# mode: bootwright on NS's bridge is the LAN's DHCP server. Proxy mode:
# dnsmasq there hands out addresses (no boot options) and bootwright, in
# NS-srv joined to the bridge, answers PXE. Sets SRV (bootwright's
# namespace), BWPID, and REASON when bootwright does not come up.
serve() {
	local s=$1 dir=$2 ns=$3 mode=full bwif=br0 bwrange=(--dhcp-range "$NET.100-$NET.150") lanrange=()
	SRV=$ns REASON=""
	if [[ $s == *-proxy ]]; then
		SRV=$ns-srv mode=proxy bwif=eth0 bwrange=() lanrange=(--dhcp-range="$NET.50,$NET.99,255.255.255.0,1h")
		# Secure Boot: shim's GRUB finds its TFTP server as the LAN ACK's
		# next-server, so the LAN's server names bootwright there (and no
		# boot file).
		[[ $s != *secureboot* ]] || lanrange+=(--dhcp-boot=",,$(srv_ip "$s")")
		ns_new "$SRV"
		join "$ns" "$SRV" "$(srv_ip "$s")/24"
	fi
	ip netns exec "$ns" dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --user=root \
		--port=0 --bind-interfaces --interface=br0 --pid-file="$dir/dnsmasq.pid" \
		--dhcp-leasefile="$dir/dnsmasq.leases" --enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h \
		"${lanrange[@]}" </dev/null >"$dir/dnsmasq.log" 2>&1 &
	local bw=("$BOOTWRIGHT_BIN" serve --interface "$bwif" --dhcp-mode "$mode" "${bwrange[@]}"
		--http-addr :8080 --config-dir "$dir/config" --assets-dir "$WORK/assets" --state-dir "$dir/state"
		--tftp-root "$dir/config/tftp" --log-level debug)
	printf '%q ' ip netns exec "$SRV" "${bw[@]}" >"$dir/bootwright.cmd"
	local unset_env=() v
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$SRV" env "${unset_env[@]}" "${bw[@]}" </dev/null >"$dir/bootwright.log" 2>&1 &
	BWPID=$!
	local deadline=$((SECONDS + 20))
	until [ -n "$(ip netns exec "$SRV" ss -Hlnu 'sport = :69')" ] && [ -n "$(ip netns exec "$SRV" ss -Hlnt 'sport = :8080')" ]; do
		kill -0 "$BWPID" 2>/dev/null || { REASON="bootwright exited: $(tail -n3 "$dir/bootwright.log")"; return; }
		[ $SECONDS -lt $deadline ] || { REASON="bootwright not listening after 20s"; return; }
		sleep 0.2
	done
}

# boot S DIR NS: boots scenario S's VM once, until its kernel's marker,
# its REFUSAL on the console, QEMU's exit or VM_TIMEOUT. Sets MARKER,
# REFUSED and VMTIME, and REASON when neither marker nor refusal came.
boot() {
	local s=$1 dir=$2 ns=$3 qargs
	mapfile -t qargs < <(qemu_args "$s" "$dir")
	vm_boot "$ns" "$dir" "${REFUSAL[$s]:-}" "" "${qargs[@]}"
}

# verdict S DIR: what is wrong with the boot that ended in MARKER or
# REFUSED, or nothing.
verdict() {
	local s=$1 dir=$2
	if [ -n "$REFUSED" ]; then
		check_path "$s" "$dir" "$MARKER"
	elif [ -n "${REFUSAL[$s]:-}" ]; then
		echo "an unsigned image ran: $MARKER"
	elif ! grep -qE "(^| )bootwright\.test=loader-$s( |\$)" <<<"${MARKER#*cmdline:}"; then
		echo "marker lacks bootwright.test=loader-$s: $MARKER"
	else
		check_path "$s" "$dir" "$MARKER"
	fi
}

# lwip_gave_up DIR: lpxelinux stopped halfway through an HTTP download
# with syslinux's fatal "Boot failed" (its lwIP stack over iPXE's UNDI
# let the TCP window fill and never reopened it), not bootwright.
lwip_gave_up() {
	strip_ansi "$1/serial.log" | grep -a -A3 'Loading http://' | grep -aq 'Boot failed: press a key to retry'
}

# report S DIR T0 NOTE: the scenario's PASS or FAIL lines.
report() {
	local s=$1 dir=$2 t0=$3 note=$4 shown=$MARKER
	[ -z "$REFUSED" ] || shown="refused: $REFUSED"
	if [ -z "$REASON" ]; then
		echo "PASS $s ($(elapsed "$t0"), VM ${VMTIME:-?}$note)  $shown"
		if [[ $s == uefi-secureboot || $s == uefi-secureboot-proxy ]]; then
			echo "  serial: $(strip_ansi "$dir/serial.log" | grep -a -m1 'Secure boot enabled')"
		fi
		return
	fi
	echo "FAIL $s ($(elapsed "$t0")$note): $REASON"
	echo "---- $dir/serial.log (tail, ANSI stripped)"
	strip_ansi "$dir/serial.log" 2>/dev/null | grep -av '^[[:space:]]*$' | tail -n 25 | cut -c1-160 || true
	echo "---- $dir/bootwright.log (tail)"
	tail -n 25 "$dir/bootwright.log" 2>/dev/null | cut -c1-300 || true
	echo "---- the VM's last packets on tap0"
	tcpdump -n -tt -r "$dir/tap0.pcap" 2>/dev/null | tail -n 30 || true
}

scenario() {
	local s=$1 dir=$WORK/$1 ns="$PREFIX-$1" t0 note=""
	t0=$(now)
	rm -rf "$dir" && mkdir -p "$dir"
	write_config "$dir/config"
	vm_lan "$ns" "$NET.1/24" fd42:231::1/64
	# The VM's packets (headers only), printed when the scenario fails.
	ip netns exec "$ns" tcpdump -i tap0 -n -s 160 -U -w "$dir/tap0.pcap" </dev/null >"$dir/tcpdump.log" 2>&1 &
	serve "$s" "$dir" "$ns"
	if [ -z "$REASON" ]; then
		boot "$s" "$dir" "$ns"
		# lpxelinux over iPXE's UNDI failed on its own twice in about
		# thirty boots here: one more boot, and the PASS line says so.
		if [ -n "$REASON" ] && [ "$s" = bios-lpxelinux ] && lwip_gave_up "$dir"; then
			note=", second boot: the first ended in lpxelinux's own \"Boot failed\" mid-download, serial.try1.log"
			mv "$dir/serial.log" "$dir/serial.try1.log"
			boot "$s" "$dir" "$ns"
		fi
		[ -n "$REASON" ] || REASON=$(verdict "$s" "$dir")
	fi
	kill -TERM "$BWPID" 2>/dev/null || true
	report "$s" "$dir" "$t0" "$note" >"$dir/result"
	[ "$SRV" = "$ns" ] || ns_kill_del "$SRV"
	ns_kill_del "$ns"
	[ -z "$REASON" ]
}

# start_all LIMIT SCENARIO...: each scenario in the background, at most
# LIMIT at once; their PIDs go into main's pids.
start_all() {
	local limit=$1 s
	shift
	for s; do
		while [ "$(jobs -rp | wc -l)" -ge "$limit" ]; do wait -n || true; done
		(scenario "$s") >"$WORK/$s.out" 2>&1 &
		pids[$s]=$!
	done
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, tap devices)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	case $BOOTWRIGHT_BIN in /*) ;; *) BOOTWRIGHT_BIN=$PWD/$BOOTWRIGHT_BIN ;; esac
	local s t0 cache
	for s in /usr/lib/PXELINUX/lpxelinux.0 /usr/lib/syslinux/modules/bios/menu.c32 \
		/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed /usr/share/OVMF/OVMF_CODE_4M.fd \
		/usr/lib/shim/shimx64.efi.signed /usr/share/OVMF/OVMF_CODE_4M.secboot.fd /usr/share/OVMF/OVMF_VARS_4M.ms.fd; do
		[ -r "$s" ] || die "$s missing: run scripts/install-deps.sh"
	done
	local scenarios=("$@")
	[ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL[@]}")
	for s in "${scenarios[@]}"; do [ -n "${MAC[$s]:-}" ] || die "unknown scenario $s (known: ${ALL[*]})"; done
	t0=$(now)
	cache=$("$ROOT/test/vm/build-image.sh" --signed)
	mkdir -p "$WORK/assets/testos" "$WORK/assets/testos-signed"
	for f in vmlinuz initrd.gz; do
		cmp -s "$cache/$f" "$WORK/assets/testos/$f" || cp "$cache/$f" "$WORK/assets/testos/$f"
	done
	# Secure Boot: Debian's signed kernel, the same initramfs.
	cmp -s "$cache/vmlinuz.signed" "$WORK/assets/testos-signed/vmlinuz" || cp "$cache/vmlinuz.signed" "$WORK/assets/testos-signed/vmlinuz"
	cmp -s "$cache/initrd.gz" "$WORK/assets/testos-signed/initrd.gz" || cp "$cache/initrd.gz" "$WORK/assets/testos-signed/initrd.gz"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	declare -A pids=()
	# The two short BIOS boots go first, by themselves: lpxelinux's lwIP
	# stack gives up more often on a VM starved of CPU. Then at most JOBS
	# VMs at once.
	local first=() rest=()
	for s in "${scenarios[@]}"; do
		case $s in bios-lpxelinux | bios-pxelinux) first+=("$s") ;; *) rest+=("$s") ;; esac
	done
	start_all 2 "${first[@]}"
	while [ -n "$(jobs -rp)" ]; do wait -n || true; done
	start_all "$JOBS" "${rest[@]}"
	local pass=0 fail=0
	for s in "${scenarios[@]}"; do
		wait "${pids[$s]}" || true
		if [ -s "$WORK/$s/result" ]; then
			cat "$WORK/$s/result"
			case $(head -c4 "$WORK/$s/result") in PASS) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
		else
			echo "FAIL $s: harness error"; cat "$WORK/$s.out"; fail=$((fail + 1))
		fi
	done
	echo "loader boot tests took $(elapsed "$t0")"
	echo "loaders: $pass passed, $fail failed"
	[ $fail -eq 0 ]
}

main "$@"
