#!/usr/bin/env bash
# run.sh boots real QEMU VMs (SeaBIOS + iPXE ROM, OVMF firmware PXE) off
# bootwright inside private network namespaces and checks that each VM reaches
# the test kernel with its own machine's command line.
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/vm/run.sh [SCENARIO...]
#   SCENARIO is one of: bios-full uefi-full uefi-proxy bios-proxy (default: all)
#
# Environment:
#   BOOTWRIGHT_BIN          bootwright binary (required)
#   BOOTWRIGHT_TEST_CACHE   kernel/initramfs cache (default ~/.cache/bootwright-test)
#   BOOTWRIGHT_VM_JOBS      scenarios run at once (default 2)
#   BOOTWRIGHT_VM_TIMEOUT   seconds one VM may take to reach the marker (default 180)
#
# Logs stay in test/vm/work/<scenario>/: serial.log (the VM's console),
# bootwright.log, dnsmasq.log, qemu.log, qemu.cmd. Must run as root (network
# namespaces). Nothing touches the host network: every bridge, tap and veth
# lives in namespaces named bw-<pid>-*, which are removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work
JOBS=${BOOTWRIGHT_VM_JOBS:-2}
VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-180}
READY_TIMEOUT=20
PREFIX="bw-$$"
ALL_SCENARIOS=(bios-full uefi-full uefi-proxy bios-proxy bios-install)

# One machine per scenario: its MAC and the name its marker must carry.
declare -A MAC=(
	[bios-full]=52:54:00:12:34:56
	[uefi-full]=52:54:00:12:34:57
	[uefi-proxy]=52:54:00:12:34:58
	[bios-proxy]=52:54:00:12:34:59
	[bios-install]=52:54:00:12:34:60
)

# Every scenario uses the same addresses inside its own namespaces.
LAN_NET=10.231.0
LAN_ULA=fd42:231::1/64
DHCP_RANGE=$LAN_NET.100-$LAN_NET.150 # bootwright's pool in full mode
LAN_POOL_LO=50 LAN_POOL_HI=99          # the LAN dnsmasq's pool in proxy mode

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

die() { echo "vm-test: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

# ------------------------------------------------------------- namespaces ---




# in_ns NS CMD...: run CMD in NS. Background jobs call `ip netns exec` directly
# instead, so that $! is the program itself (ip execs it), not a subshell.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# -------------------------------------------------------------- processes ---

# start_dnsmasq NS LOG ARGS...: dnsmasq in the foreground of a background
# job, no DNS, bound to br0 only, nothing read from /etc, state in the work dir.
# Sets DNSMASQ_PID (not printed: a command substitution would make dnsmasq the
# child of a subshell that exits at once).
start_dnsmasq() {
	local ns=$1 log=$2 dir; shift 2
	dir=$(dirname "$log")
	ip netns exec "$ns" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp \
		--conf-file=/dev/null --user=root --port=0 \
		--bind-interfaces --interface=br0 \
		--pid-file="$dir/dnsmasq.pid" --dhcp-leasefile="$dir/dnsmasq.leases" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h \
		"$@" </dev/null >"$log" 2>&1 &
	DNSMASQ_PID=$!
}

# listening NS PROTO PORT: something in NS listens on PORT (u=UDP, t=TCP).
listening() {
	[ -n "$(in_ns "$1" ss -Hln"$2" "sport = :$3" 2>/dev/null)" ]
}

# wait_ready NS PID LOG PORTS...: wait until the process PID listens on all
# "proto:port" PORTS in NS; fail when it dies or READY_TIMEOUT passes.
wait_ready() {
	local ns=$1 pid=$2 what=$3 deadline p ok; shift 3
	deadline=$((SECONDS + READY_TIMEOUT))
	while :; do
		kill -0 "$pid" 2>/dev/null || { echo "$what exited before listening"; return 1; }
		ok=1
		for p in "$@"; do
			listening "$ns" "${p%%:*}" "${p#*:}" || { ok=0; break; }
		done
		[ $ok = 1 ] && return 0
		[ $SECONDS -lt $deadline ] || { echo "$what not listening on $* after ${READY_TIMEOUT}s"; return 1; }
		sleep 0.2
	done
}

# ------------------------------------------------------------------ files ---

# write_config DIR writes the test config tree: a menu whose default entry
# takes a kernel argument from a variable, a group of every test VM that
# sets it, and machines of which the full-mode ones override it (so a boot
# proves defaults < group < machine on a real VM).
write_config() {
	local dir=$1 s
	mkdir -p "$dir/menus"
	cat >"$dir/menus/default.yaml" <<-'EOF'
	title: bootwright VM test
	timeout: 10s
	default: local
	entries:
	  - {name: local, title: Boot from local disk, type: local}
	  - type: assets
	  - name: testos-vars
	    title: testos with a role from variables
	    kernel: testos/vmlinuz
	    initrds: [testos/initrd.gz]
	    args: "console=ttyS0 panic=-1 bootwright.role={{ .Vars.role }}"
	EOF
	{
		cat <<-EOF
		vars: {role: from-defaults}
		groups:
		  - name: test-vms
		    match: {macs: ["52:54:00:12:34"]}
		    vars: {role: from-group}
		    default: testos-vars
		    timeout: 1s
		machines:
		EOF
		for s in "${ALL_SCENARIOS[@]}"; do
			cat <<-EOF
			  - mac: "${MAC[$s]}"
			    name: vm-$s
			    args: "bootwright.test=vm-$s"
			EOF
			case $s in *-full) echo "    vars: {role: from-machine-$s}" ;; esac
		done
	} >"$dir/menus/machines.yaml"
}

# expected_role SCENARIO: the bootwright.role= value its VM must boot with.
expected_role() {
	case $1 in
	*-full) echo "from-machine-$1" ;;
	*) echo "from-group" ;;
	esac
}

# write_assets CACHE DIR: DIR/testos/{vmlinuz,initrd.gz,cmdline}, replaced
# atomically and only when changed (another run may be serving them).
write_assets() {
	local cache=$1 dir=$2 f
	mkdir -p "$dir/testos"
	for f in vmlinuz initrd.gz; do
		cmp -s "$cache/$f" "$dir/testos/$f" && continue
		cp "$cache/$f" "$dir/testos/.$f.$$"
		mv -f "$dir/testos/.$f.$$" "$dir/testos/$f"
	done
	echo "console=ttyS0 panic=-1" >"$dir/testos/.cmdline.$$"
	mv -f "$dir/testos/.cmdline.$$" "$dir/testos/cmdline"
}

# -------------------------------------------------------------- scenarios ---

# qemu_args FW DIR MAC: prints the QEMU argument list, one per line.
qemu_args() {
	local fw=$1 dir=$2 mac=$3
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	local common=(-accel tcg -nographic -no-reboot -nodefaults
		-serial "file:$dir/serial.log" -monitor none
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no)
	if [ "$fw" = bios ]; then
		# SeaBIOS; QEMU's virtio-net ROM is iPXE, so the first DHCP is iPXE's.
		printf '%s\n' "${common[@]}" -m 256 -vga none \
			-device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1" -boot n
	else
		cp "$OVMF_VARS" "$dir/OVMF_VARS.fd"
		# romfile= (empty): no iPXE option ROM, OVMF's own PXE runs.
		printf '%s\n' "${common[@]}" -m 512 -vga none \
			-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" \
			-drive "if=pflash,format=raw,file=$dir/OVMF_VARS.fd" \
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1"
	fi
}

# check_path NAME DIR: prints why the boot did not take the path the scenario
# is about (nothing when it did): who handed out the address, and for UEFI
# that the firmware's own PXE fetched the NBP.
check_path() {
	local name=$1 dir=$2 fw=${1%%-*} mode=${1#*-} lo hi who n ips
	if [ "$mode" = full ]; then
		lo=${DHCP_RANGE%%-*} hi=${DHCP_RANGE#*-} who="bootwright's --dhcp-range"
	else
		lo=$LAN_NET.$LAN_POOL_LO hi=$LAN_NET.$LAN_POOL_HI who="the LAN dnsmasq's pool"
		grep -qaE "DHCPACK\(br0\) $LAN_NET\.[0-9]+ ${MAC[$name]}" "$dir/dnsmasq.log" || {
			echo "the LAN dnsmasq never acknowledged an address for ${MAC[$name]}"
			return
		}
	fi
	# OVMF: "Station IP address is A"; iPXE: "net0: A/MASK".
	ips=$(strip_ansi "$dir/serial.log" |
		grep -aoE "(Station IP address is |net0: )$LAN_NET\.[0-9]+" | grep -oE '[0-9]+$' || true)
	[ -n "$ips" ] || { echo "no DHCP address seen in the serial log"; return; }
	for n in $ips; do
		if [ "$n" -lt "${lo##*.}" ] || [ "$n" -gt "${hi##*.}" ]; then
			echo "VM used $LAN_NET.$n, outside $who ($lo-$hi)"
			return
		fi
	done
	if [ "$fw" = uefi ] && ! strip_ansi "$dir/serial.log" | grep -a 'NBP file downloaded successfully' >/dev/null; then
		echo "OVMF's own PXE did not download an NBP"
	fi
}

# scenario NAME: runs one scenario; writes $WORK/NAME/result (first line
# PASS/FAIL, then details) and returns 0 on PASS.
scenario() {
	local name=$1 fw=${1%%-*} mode=${1#*-}
	local dir=$WORK/$name lan="$PREFIX-$name" srv="$PREFIX-$name-srv"
	local t0 tvm vmtime="" bwpid dmpid qpid iface ns_bw reason="" marker="" deadline
	local machine=vm-$name
	t0=$(now)
	rm -rf "$dir"
	mkdir -p "$dir"
	# Kill what runs in this scenario's namespaces, then reap it here so no
	# zombie outlives the scenario.
	# (Expanded now: the function's locals are gone when the trap runs.)
	# shellcheck disable=SC2064
	trap "cleanup_prefix $(printf %q "$PREFIX-$name"); wait 2>/dev/null || true" EXIT
	trap 'exit 130' INT TERM
	cd "$dir"

	write_config "$dir/config"
	# br0 (10.231.0.1/24, an IPv6 ULA for router advertisements), tap0.
	vm_lan "$lan" "$LAN_NET.1/24" "$LAN_ULA"

	# dnsmasq on the LAN: router advertisements, so iPXE does not wait ~13 s
	# for IPv6 autoconfiguration; in proxy scenarios also the LAN's ordinary
	# DHCPv4 server (an address pool, no boot options).
	if [ "$mode" = full ]; then
		start_dnsmasq "$lan" "$dir/dnsmasq.log"
		ns_bw=$lan iface=br0
	else
		# bootwright's own namespace, eth0 (.2) on the LAN bridge.
		ns_new "$srv"
		join "$lan" "$srv" "$LAN_NET.2/24"
		start_dnsmasq "$lan" "$dir/dnsmasq.log" \
			--dhcp-range="$LAN_NET.$LAN_POOL_LO,$LAN_NET.$LAN_POOL_HI,255.255.255.0,1h"
		ns_bw=$srv iface=eth0
	fi
	dmpid=$DNSMASQ_PID
	if [ "$mode" = proxy ]; then
		wait_ready "$lan" "$dmpid" dnsmasq u:67 >"$dir/reason" || reason=$(cat "$dir/reason")
	else
		# The RA-only dnsmasq must leave DHCPv4 to bootwright.
		sleep 0.5
		kill -0 "$dmpid" 2>/dev/null || reason="dnsmasq (router advertisements) exited"
		if [ -z "$reason" ] && listening "$lan" u 67; then
			reason="dnsmasq bound UDP :67 in $lan: $(in_ns "$lan" ss -Hlunp 'sport = :67')"
		fi
	fi

	if [ -z "$reason" ]; then
		# bootwright: flags as in its documented command line.
		local bw=("$BOOTWRIGHT_BIN" serve --interface "$iface" --dhcp-mode "$mode"
			--http-addr :8080 --config-dir "$dir/config" --assets-dir "$WORK/assets" --state-dir "$dir/state"
			--log-level debug)
		[ "$mode" = full ] && bw+=(--dhcp-range "$DHCP_RANGE")
		printf '%q ' ip netns exec "$ns_bw" "${bw[@]}" >"$dir/bootwright.cmd"
		echo >>"$dir/bootwright.cmd"
		# No stray BOOTWRIGHT_* from the caller's environment: bootwright
		# reads every flag from one, and the test sets all it needs.
		local unset_env=() v
		for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
		ip netns exec "$ns_bw" env "${unset_env[@]}" "${bw[@]}" </dev/null >"$dir/bootwright.log" 2>&1 &
		bwpid=$!
		local ports=(u:67 u:69 t:8080)
		[ "$mode" = proxy ] && ports+=(u:4011)
		wait_ready "$ns_bw" "$bwpid" bootwright "${ports[@]}" >"$dir/reason" || reason=$(cat "$dir/reason")
	fi

	if [ -z "$reason" ]; then
		local qargs
		mapfile -t qargs < <(qemu_args "$fw" "$dir" "${MAC[$name]}")
		vm_start "$lan" "$dir" "${qargs[@]}"
		qpid=$QPID
		tvm=$(now)
		deadline=$((SECONDS + VM_TIMEOUT))
		while :; do
			# Liveness first, then the log: a VM that prints the marker
			# and powers off between the two checks still passes.
			local vm_up=1 bw_up=1
			kill -0 "$qpid" 2>/dev/null || vm_up=0
			kill -0 "$bwpid" 2>/dev/null || bw_up=0
			marker=$(serial_marker "$dir/serial.log")
			[ -n "$marker" ] && break
			[ $vm_up = 1 ] || { reason="VM stopped without the marker"; break; }
			[ $bw_up = 1 ] || { reason="bootwright exited during the boot"; break; }
			[ $SECONDS -lt $deadline ] || { reason="no marker within ${VM_TIMEOUT}s"; break; }
			sleep 0.5
		done
		vmtime=$(elapsed "$tvm")
		if [ -n "$marker" ]; then
			# The marker carries the machine's own arguments, so the right
			# per-MAC menu entry was booted.
			grep -qE "(^| )bootwright\.test=$machine( |\$)" <<<"${marker#*cmdline:}" ||
				reason="marker lacks bootwright.test=$machine: $marker"
			# The role comes from a variable: the group's, or the machine's
			# where it overrides the group.
			[ -n "$reason" ] || grep -qE "(^| )bootwright\.role=$(expected_role "$name")( |\$)" <<<"${marker#*cmdline:}" ||
				reason="marker lacks bootwright.role=$(expected_role "$name"): $marker"
			[ -n "$reason" ] || reason=$(check_path "$name" "$dir")
		fi
		vm_stop "$qpid"
	fi
	if [ -n "${bwpid:-}" ]; then kill -TERM "$bwpid" 2>/dev/null || true; fi

	{
		if [ -z "$reason" ]; then
			echo "PASS $name ($(elapsed "$t0"), VM $vmtime)  $marker"
		else
			echo "FAIL $name ($(elapsed "$t0")${vmtime:+, VM $vmtime}): $reason"
			echo "---- $dir/serial.log (tail, ANSI stripped)"
			strip_ansi "$dir/serial.log" 2>/dev/null | grep -av '^[[:space:]]*$' | tail -n 25 || true
			echo "---- $dir/bootwright.log (tail)"
			tail -n 25 "$dir/bootwright.log" 2>/dev/null || true
			if [ "$mode" = proxy ]; then
				echo "---- $dir/dnsmasq.log (tail; the LAN's DHCP server)"
				tail -n 15 "$dir/dnsmasq.log" 2>/dev/null || true
			fi
			echo "----"
		fi
	} >"$dir/result"
	[ -z "$reason" ]
}

# shellcheck source=install.sh
. "$HERE/install.sh"

# ------------------------------------------------------------------- main ---

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, tap devices)"
	[ -n "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	[ -x "$BOOTWRIGHT_BIN" ] || die "BOOTWRIGHT_BIN=$BOOTWRIGHT_BIN is not executable"
	case $BOOTWRIGHT_BIN in /*) ;; *) BOOTWRIGHT_BIN=$(cd "$(dirname "$BOOTWRIGHT_BIN")" && pwd)/$(basename "$BOOTWRIGHT_BIN") ;; esac
	local tool
	for tool in qemu-system-x86_64 dnsmasq ip ss; do
		command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
	done
	[ -r "$OVMF_CODE" ] || die "$OVMF_CODE missing: install ovmf"

	local scenarios=("$@") s
	[ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL_SCENARIOS[@]}")
	for s in "${scenarios[@]}"; do
		[ -n "${MAC[$s]:-}" ] || die "unknown scenario '$s' (known: ${ALL_SCENARIOS[*]})"
	done

	local cache t0
	t0=$(now)
	cache=$("$HERE/build-image.sh")
	mkdir -p "$WORK"
	write_assets "$cache" "$WORK/assets"

	# Run up to JOBS scenarios at once, each in its own namespaces; print
	# each result as it finishes.
	declare -gA running=() # global: the EXIT trap reads it after main returns
	local pass=0 fail=0 next=0 pid
	trap 'for p in "${!running[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; cleanup_prefix "$PREFIX-"' EXIT
	trap 'echo "vm: interrupted" >&2; exit 130' INT TERM
	while [ $next -lt ${#scenarios[@]} ] || [ ${#running[@]} -gt 0 ]; do
		if [ $next -lt ${#scenarios[@]} ] && [ ${#running[@]} -lt "$JOBS" ]; then
			s=${scenarios[$next]}
			next=$((next + 1))
			if [ "$s" = bios-install ]; then
				(scenario_install) >"$WORK/$s.out" 2>&1 &
			else
				(scenario "$s") >"$WORK/$s.out" 2>&1 &
			fi
			running[$!]=$s
			continue
		fi
		pid=""
		wait -n -p pid "${!running[@]}" || true
		[ -n "$pid" ] || continue
		s=${running[$pid]}
		unset "running[$pid]"
		if [ -s "$WORK/$s/result" ]; then
			cat "$WORK/$s/result"
			case $(head -c4 "$WORK/$s/result") in PASS) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
		else
			echo "FAIL $s: harness error"
			cat "$WORK/$s.out"
			fail=$((fail + 1))
		fi
		if [ -d "$WORK/$s" ]; then mv -f "$WORK/$s.out" "$WORK/$s/harness.log"; else rm -f "$WORK/$s.out"; fi
	done
	echo "vm boot tests took $(elapsed "$t0")"
	echo "vm: $pass passed, $fail failed"
	[ $fail -eq 0 ]
}

main "$@"
