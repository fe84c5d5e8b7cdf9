#!/usr/bin/env bash
# run.sh boots real OVMF VMs over IPv6 off a real `bootwright serve` inside
# private network namespaces: firmware PXE over IPv6 (DHCPv6 Solicit with
# option 61, TFTP over IPv6 for snponly.efi), then iPXE's own DHCPv6 and the
# HTTP menu at http://[addr]:8080/, to the test kernel printing its
# machine's command line. Scenarios: the functions scenario_* below and
# the README's IPv6 section.
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/ipv6/run.sh [SCENARIO...]
#   SCENARIO: http6 v6only dual relay proxy bios6 (default: all)
# Environment: BOOTWRIGHT_TEST_CACHE (test kernel cache, as test/vm),
#   BOOTWRIGHT_VM_TIMEOUT (seconds per boot, default 360; on a machine at load 50+ a boot took over 240 s),
#   BOOTWRIGHT_VM_JOBS (scenarios at once, default 2).
# Logs stay in test/ipv6/work/<scenario>/. Must run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work
VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-360}
JOBS=${BOOTWRIGHT_VM_JOBS:-2}
PREFIX="bw6-$$"
ALL_SCENARIOS=(http6 v6only dual relay proxy bios6) # the longest first
declare -A MAC=([v6only]=52:54:00:12:36:01 [dual]=52:54:00:12:36:02 [relay]=52:54:00:12:36:03 [proxy]=52:54:00:12:36:04
	[bios6]=52:54:00:12:36:05 [http6]=52:54:00:12:36:06)
LAN6=fd42:231         # the VMs' link, a /64
RANGE6=$LAN6::100-$LAN6::1ff
SRV6=fd42:232         # bootwright's own link in the relay scenario
LAN4=10.231.0
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

# has ARGS...: grep ARGS on stdin without output; unlike grep -q it reads
# to the end, so the command before it never dies of SIGPIPE (which
# pipefail would count as a failure).
has() { grep "$@" >/dev/null; }

die() { echo "ipv6-test: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"

# write_config DIR: one menu whose default entry boots the test kernel;
# each scenario's machine adds its own kernel argument (machines.yaml), so
# a marker proves the per-MAC lookup of a machine seen over IPv6.
write_config() {
	local dir=$1 s
	mkdir -p "$dir/menus"
	cat >"$dir/menus/default.yaml" <<-'EOF'
	title: bootwright IPv6 test
	timeout: 1s
	default: testos
	entries:
	  - name: testos
	    kernel: testos/vmlinuz
	    initrds: [testos/initrd.gz]
	    args: "console=ttyS0 panic=-1"
	EOF
	{
		echo "machines:"
		for s in "${ALL_SCENARIOS[@]}"; do
			printf '  - mac: "%s"\n    name: vm6-%s\n    args: "bootwright.test=vm6-%s"\n' "${MAC[$s]}" "$s" "$s"
		done
	} >"$dir/menus/machines.yaml"
}

# lan NS [ADDR4/LEN]: NS with br0 ($LAN6::1/64, and ADDR4 when given) and
# tap0 for the VM.
lan() {
	ns_new "$1"
	ip -n "$1" link add br0 type bridge
	ip -n "$1" link set br0 address "02:$(od -An -N5 -tx1 /dev/urandom | tr -s ' ' ':' | cut -c2-)"
	ip -n "$1" link set br0 type bridge forward_delay 0 stp_state 0
	ip -n "$1" addr add "$LAN6::1/64" dev br0 nodad
	[ -z "${2:-}" ] || ip -n "$1" addr add "$2" dev br0
	ip -n "$1" link set br0 up
	vm_tap "$1"
}

# start_bw NS DIR ARGS...: bootwright serve in NS, its log in DIR; waits
# until it listens on UDP 547 and TCP 8080. Sets BWPID.
start_bw() {
	local ns=$1 dir=$2 v env=() deadline=$((SECONDS + 20))
	shift 2
	for v in ${!BOOTWRIGHT_@}; do env+=(-u "$v"); done
	local bw=("$BOOTWRIGHT_BIN" serve --http-addr :8080 --config-dir "$dir/config" --assets-dir "$WORK/assets"
		--state-dir "$dir/state" --log-level debug "$@")
	printf '%q ' ip netns exec "$ns" "${bw[@]}" >"$dir/bootwright.cmd"
	ip netns exec "$ns" env "${env[@]}" "${bw[@]}" </dev/null >"$dir/bootwright.log" 2>&1 &
	BWPID=$!
	until [ -n "$(ip netns exec "$ns" ss -Hlnu 'sport = :547')" ] && [ -n "$(ip netns exec "$ns" ss -Hlnt 'sport = :8080')" ]; do
		kill -0 "$BWPID" 2>/dev/null || { echo "bootwright exited: $(tail -n 3 "$dir/bootwright.log")"; return 1; }
		[ $SECONDS -lt $deadline ] || { echo "bootwright not listening after 20 s"; return 1; }
		sleep 0.2
	done
}

# boot NS DIR MAC KIND: boots a VM and waits for its marker. KIND is 4 or
# 6 (OVMF doing PXE over that family only), http6 (OVMF with both PXE
# options off: UEFI HTTP Boot, which tries HTTPv4 before HTTPv6) or bios
# (SeaBIOS and QEMU's iPXE NIC ROM). Sets BOOT_WHY (the failure, "" when
# the marker came), BOOT_TIME (seconds from power-on to the marker) and
# MARKER; the serial log is kept as serial-vKIND.log.
boot() {
	local ns=$1 dir=$2 mac=$3 fam=$4 t0 deadline fw=()
	case $fam in
	bios) fw=(-m 256 -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1" -boot n) ;;
	*)
		cp "$OVMF_VARS" "$dir/vars-v$fam.fd"
		fw=(-m 512 -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,file=$dir/vars-v$fam.fd"
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1")
		[ "$fam" = 6 ] || fw+=(-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n)
		[ "$fam" = 4 ] || fw+=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n)
		;;
	esac
	vm_start "$ns" "$dir" -accel tcg -nographic -no-reboot -nodefaults -vga none \
		-serial "file:$dir/serial.log" -monitor none \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no "${fw[@]}"
	t0=$(now) deadline=$((SECONDS + ${BOOT_TIMEOUT:-$VM_TIMEOUT})) MARKER="" BOOT_WHY=""
	while :; do
		local up=1
		kill -0 "$QPID" 2>/dev/null || up=0
		MARKER=$(serial_marker "$dir/serial.log")
		[ -n "$MARKER" ] && break
		[ $up = 1 ] || { BOOT_WHY="VM stopped without the marker"; break; }
		kill -0 "$BWPID" 2>/dev/null || { BOOT_WHY="bootwright exited during the boot"; break; }
		[ $SECONDS -lt $deadline ] || { BOOT_WHY="no marker within ${BOOT_TIMEOUT:-$VM_TIMEOUT}s"; break; }
		sleep 0.5
	done
	BOOT_TIME=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	vm_stop "$QPID"
	cp "$dir/serial.log" "$dir/serial-v$fam.log"
}

# check_v6 NAME DIR SERVER6 [CLIENT [MENU_FROM]]: prints what is wrong with
# an IPv6 boot that reached the marker: the machine's own argument,
# firmware PXEv6, option 61 seen, snponly.efi over TFTP/IPv6 to the
# client, iPXE's address matching CLIENT (a regexp; default an address
# from $RANGE6) and its DHCPv6 answered with the script URL, the menu
# served to an address matching MENU_FROM (default CLIENT).
check_v6() {
	local name=$1 dir=$2 srv=$3 log=$2/bootwright.log serial client=${4:-$LAN6::1[0-9a-f]{2\}} menu_from
	menu_from=${5:-$client}
	serial=$(strip_ansi "$dir/serial-v6.log")
	grep -qE "(^| )bootwright\.test=vm6-$name( |\$)" <<<"${MARKER#*cmdline:}" || { echo "marker lacks bootwright.test=vm6-$name: $MARKER"; return; }
	grep -qa 'UEFI PXEv6' <<<"$serial" || { echo "the firmware did not boot its PXEv6 option"; return; }
	grep -qa 'NBP file downloaded successfully' <<<"$serial" || { echo "OVMF did not download the NBP"; return; }
	grep -qE "net0: ($client)/64" <<<"$serial" || { echo "iPXE reported no address matching $client"; return; }
	grep 'type=SOLICIT' "$log" | grep 'arch=efi-x64' | has -F "decision=\"firmware-pxe tftp://[$srv]/snponly.efi\"" ||
		{ echo "no Solicit with option 61 (efi-x64) answered with tftp://[$srv]/snponly.efi"; return; }
	grep -qE "tftp transfer\" peer=\[($client)\]:[0-9]+ file=snponly.efi outcome=ok" "$log" ||
		{ echo "no TFTP transfer of snponly.efi to an address matching $client"; return; }
	# (In proxy mode the link's server hands iPXE its script URL.)
	[ "$name" = proxy ] || has -F "decision=\"ipxe http://[$srv]:8080/boot.ipxe\"" "$log" ||
		{ echo "iPXE's DHCPv6 not answered with its script URL"; return; }
	grep -qE "menu served\" .*remote=($menu_from) mac=${MAC[$name]}" "$log" || { echo "no menu served to ${MAC[$name]} at $menu_from"; return; }
}

# v6only: no IPv4 address on the link at all; bootwright leases IPv6
# addresses and sends the router advertisements itself.
scenario_v6only() {
	local dir=$1 ns=$PREFIX-v6only why
	lan "$ns"
	[ -z "$(ip -n "$ns" -4 -o addr show scope global)" ] || { echo "FAIL the link has an IPv4 address"; return; }
	start_bw "$ns" "$dir" --interface br0 --dhcp-mode off --dhcp6-mode full --dhcp6-range "$RANGE6" --ipv6-ra ||
		{ echo "FAIL bootwright did not start"; return; }
	boot "$ns" "$dir" "${MAC[v6only]}" 6
	why=$BOOT_WHY
	[ -n "$why" ] || why=$(check_v6 v6only "$dir" "$LAN6::1")
	result v6only "$why" "IPv6 boot $BOOT_TIME s"
}

# v6link NAME: an IPv6-only link (as v6only) with bootwright serving it.
v6link() {
	lan "$PREFIX-$1"
	start_bw "$PREFIX-$1" "$WORK/$1" --interface br0 --dhcp-mode off --dhcp6-mode full --dhcp6-range "$RANGE6" --ipv6-ra
}

# bios6: a BIOS machine on an IPv6-only link: QEMU's iPXE ROM asks
# DHCPv6 (user class iPXE) and gets its script URL at once.
scenario_bios6() {
	local dir=$1 why log=$1/bootwright.log
	v6link bios6 || { echo "FAIL bootwright did not start"; return; }
	boot "$PREFIX-bios6" "$dir" "${MAC[bios6]}" bios
	why=$BOOT_WHY
	[ -n "$why" ] || has -E "(^| )bootwright\.test=vm6-bios6( |\$)" <<<"${MARKER#*cmdline:}" || why="marker lacks bootwright.test=vm6-bios6: $MARKER"
	[ -n "$why" ] || strip_ansi "$dir/serial-vbios.log" | has -E "net0: $LAN6::1[0-9a-f]{2}/64" || why="iPXE reported no address from $RANGE6"
	[ -n "$why" ] || grep 'arch=bios' "$log" | has -F "decision=\"ipxe http://[$LAN6::1]:8080/boot.ipxe\"" || why="iPXE's DHCPv6 (arch bios) not answered with its script URL"
	[ -n "$why" ] || has -E "menu served\" .*remote=$LAN6::1[0-9a-f]{2} mac=${MAC[bios6]}" "$log" || why="no menu served over IPv6"
	result bios6 "$why" "BIOS iPXE ROM over IPv6 $BOOT_TIME s"
}

# http6: OVMF's UEFI HTTP Boot on an IPv6-only link: after HTTPv4 gives
# up, "UEFI HTTPv6" asks DHCPv6 with vendor class HTTPClient and boots
# http://[addr]:8080/tftp/snponly.efi.
scenario_http6() {
	local dir=$1 why log=$1/bootwright.log
	v6link http6 || { echo "FAIL bootwright did not start"; return; }
	# OVMF's HTTPv4 attempt alone took 2.5 min here before HTTPv6 began.
	BOOT_TIMEOUT=$((VM_TIMEOUT + 180)) boot "$PREFIX-http6" "$dir" "${MAC[http6]}" http6
	why=$BOOT_WHY
	[ -n "$why" ] || has -E "(^| )bootwright\.test=vm6-http6( |\$)" <<<"${MARKER#*cmdline:}" || why="marker lacks bootwright.test=vm6-http6: $MARKER"
	[ -n "$why" ] || grep 'arch=efi-x64-http' "$log" | grep 'vendor_class=HTTPClient' | has -F "decision=\"http-boot http://[$LAN6::1]:8080/tftp/snponly.efi\"" ||
		why="no HTTPClient Solicit answered with http://[$LAN6::1]:8080/tftp/snponly.efi"
	[ -n "$why" ] || has -E "remote=$LAN6::1[0-9a-f]{2} method=GET path=/tftp/snponly.efi status=200" "$log" || why="snponly.efi not fetched over HTTP/IPv6"
	[ -n "$why" ] || has -E "menu served\" .*remote=$LAN6::1[0-9a-f]{2} mac=${MAC[http6]}" "$log" || why="no menu served over IPv6"
	result http6 "$why" "UEFI HTTPv6 boot $BOOT_TIME s"
}

# dual: both families on one link, bootwright in full mode for both; the
# same machine boots over IPv4, then over IPv6, and both times are shown.
scenario_dual() {
	local dir=$1 ns=$PREFIX-dual why t4 serial
	lan "$ns" "$LAN4.1/24"
	start_bw "$ns" "$dir" --interface br0 --dhcp-mode full --dhcp-range "$LAN4.100-$LAN4.150" \
		--dhcp6-mode full --dhcp6-range "$RANGE6" --ipv6-ra || { echo "FAIL bootwright did not start"; return; }
	boot "$ns" "$dir" "${MAC[dual]}" 4
	why=$BOOT_WHY
	t4=$BOOT_TIME
	if [ -z "$why" ]; then
		serial=$(strip_ansi "$dir/serial-v4.log")
		grep -qE "(^| )bootwright\.test=vm6-dual( |\$)" <<<"${MARKER#*cmdline:}" || why="IPv4 boot: marker lacks bootwright.test=vm6-dual: $MARKER"
		[ -n "$why" ] || grep -qaE "Station IP address is $LAN4\.1[0-4][0-9]" <<<"$serial" || why="IPv4 boot: no address from the IPv4 range"
		[ -n "$why" ] || has -E "tftp transfer\" peer=$LAN4\.1[0-4][0-9]:[0-9]+ file=snponly.efi outcome=ok" "$dir/bootwright.log" ||
			why="IPv4 boot: no TFTP transfer of snponly.efi over IPv4"
	fi
	if [ -z "$why" ]; then
		boot "$ns" "$dir" "${MAC[dual]}" 6
		why=$BOOT_WHY
		# iPXE on a dual-stack link takes the script URL of its DHCPv4
		# answer (its DHCPv4 settings rank above DHCPv6's), so the menu
		# may come over either family here.
		[ -n "$why" ] || why=$(check_v6 dual "$dir" "$LAN6::1" "$LAN6::1[0-9a-f]{2}" "$LAN6::1[0-9a-f]{2}|$LAN4\.1[0-4][0-9]")
	fi
	result dual "$why" "IPv4 boot $t4 s, IPv6 boot $BOOT_TIME s, IPv6/IPv4 $(awk -v a="$t4" -v b="$BOOT_TIME" 'BEGIN { printf "%.2f", b / a }')"
}

# relay: bootwright on its own link ($SRV6::/64) behind a router that
# runs radvd and `dhcrelay -6` for the VMs' link; bootwright's subnet for
# the relayed link comes from --dhcp-config (prefix6, range6).
scenario_relay() {
	local dir=$1 ns=$PREFIX-relay srv=$PREFIX-relay-srv why
	lan "$ns"
	ns_new "$srv"
	ip -n "$ns" link add eth1 type veth peer name eth0 netns "$srv"
	ip -n "$ns" addr add "$SRV6::1/64" dev eth1 nodad
	ip -n "$srv" addr add "$SRV6::2/64" dev eth0 nodad
	ip -n "$ns" link set eth1 up
	ip -n "$srv" link set eth0 up
	ip -n "$srv" -6 route add "$LAN6::/64" via "$SRV6::1"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
	cat >"$dir/radvd.conf" <<-EOF
	interface br0 {
	  AdvSendAdvert on; AdvManagedFlag on; AdvOtherConfigFlag on;
	  MinRtrAdvInterval 3; MaxRtrAdvInterval 10;
	  prefix $LAN6::/64 { AdvOnLink on; AdvAutonomous off; };
	};
	EOF
	ip netns exec "$ns" radvd -n -C "$dir/radvd.conf" -p "$dir/radvd.pid" -m stderr </dev/null >"$dir/radvd.log" 2>&1 &
	cat >"$dir/dhcp.yaml" <<-EOF
	subnets:
	  - prefix6: $LAN6::/64
	    range6: $RANGE6
	EOF
	start_bw "$srv" "$dir" --interface eth0 --dhcp-mode off --dhcp6-mode full --dhcp-config "$dir/dhcp.yaml" ||
		{ echo "FAIL bootwright did not start"; return; }
	ip netns exec "$ns" dhcrelay -6 -d -l br0 -u "$SRV6::2%eth1" </dev/null >"$dir/dhcrelay.log" 2>&1 &
	sleep 1
	boot "$ns" "$dir" "${MAC[relay]}" 6
	why=$BOOT_WHY
	[ -n "$why" ] || why=$(check_v6 relay "$dir" "$SRV6::2")
	[ -n "$why" ] || grep 'type=SOLICIT' "$dir/bootwright.log" | grep 'arch=efi-x64' | has "relay_link=$LAN6::" || why="the firmware's Solicit did not come through the relay"
	result relay "$why" "IPv6 boot through dhcrelay -6 $BOOT_TIME s"
}

# proxy: the link's own DHCPv6 server (dnsmasq: addresses from
# $LAN6::50-$LAN6::99, router advertisements with the M flag) and
# bootwright --dhcp6-mode proxy in a namespace of its own on the same
# link: the firmware takes its address from dnsmasq and its boot file URL
# from bootwright (Advertise, then port 4011). iPXE uses only the options
# of the server that leased its address, so dnsmasq is set up as the
# README says: option 59 = bootwright's script URL for user class iPXE.
scenario_proxy() {
	local dir=$1 ns=$PREFIX-proxy srv=$PREFIX-proxy-srv why
	lan "$ns"
	ns_new "$srv"
	join "$ns" "$srv" none
	ip -n "$srv" addr add "$LAN6::2/64" dev eth0 nodad
	ip netns exec "$ns" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp --conf-file=/dev/null --user=root \
		--port=0 --bind-interfaces --interface=br0 --pid-file="$dir/dnsmasq.pid" --dhcp-leasefile="$dir/dnsmasq.leases" \
		--enable-ra --dhcp-range="$LAN6::50,$LAN6::99,64,1h" --dhcp-userclass=set:ipxe,iPXE \
		--dhcp-option="tag:ipxe,option6:bootfile-url,http://[$LAN6::2]:8080/boot.ipxe" </dev/null >"$dir/dnsmasq.log" 2>&1 &
	start_bw "$srv" "$dir" --interface eth0 --dhcp-mode off --dhcp6-mode proxy || { echo "FAIL bootwright did not start"; return; }
	boot "$ns" "$dir" "${MAC[proxy]}" 6
	why=$BOOT_WHY
	[ -n "$why" ] || why=$(check_v6 proxy "$dir" "$LAN6::2" "$LAN6::[5-9][0-9a-f]") # dnsmasq's range is hex
	[ -n "$why" ] || grep 'type=REQUEST' "$dir/bootwright.log" | has 'port=4011' || why="the firmware did not ask bootwright on port 4011"
	result proxy "$why" "IPv6 boot beside dnsmasq's DHCPv6 $BOOT_TIME s"
}

# result NAME WHY DETAIL: one PASS or FAIL line (and log tails on FAIL).
result() {
	if [ -z "$2" ]; then
		echo "PASS $1 ($3)  ${MARKER#*BOOTWRIGHT-MARKER }"
		return
	fi
	echo "FAIL $1: $2"
	echo "---- serial (tail)"; strip_ansi "$WORK/$1/serial.log" | grep -av '^[[:space:]]*$' | tail -n 15 || true
	echo "---- bootwright.log (tail)"; grep -v 'level=DEBUG' "$WORK/$1/bootwright.log" | tail -n 15 || true
}

run_one() {
	local name=$1 dir=$WORK/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	# shellcheck disable=SC2064 # expanded now, on purpose
	trap "cleanup_prefix $(printf %q "$PREFIX-$name"); wait 2>/dev/null || true" EXIT
	write_config "$dir/config"
	"scenario_$name" "$dir" >"$dir/result"
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, tap devices)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	local t tool s cache pass=0 fail=0 pid
	for tool in qemu-system-x86_64 radvd dhcrelay ip ss; do
		command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
	done
	local scenarios=("$@")
	[ ${#scenarios[@]} -gt 0 ] || scenarios=("${ALL_SCENARIOS[@]}")
	for s in "${scenarios[@]}"; do [ -n "${MAC[$s]:-}" ] || die "unknown scenario $s (known: ${ALL_SCENARIOS[*]})"; done
	t=$(now)
	cache=$("$HERE/../vm/build-image.sh")
	mkdir -p "$WORK/assets/testos"
	cp "$cache/vmlinuz" "$cache/initrd.gz" "$WORK/assets/testos/"
	declare -gA running=()
	trap 'for p in "${!running[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; cleanup_prefix "$PREFIX-"' EXIT
	local next=0
	while [ $next -lt ${#scenarios[@]} ] || [ ${#running[@]} -gt 0 ]; do
		if [ $next -lt ${#scenarios[@]} ] && [ ${#running[@]} -lt "$JOBS" ]; then
			s=${scenarios[$next]}
			next=$((next + 1))
			(run_one "$s") >"$WORK/$s.out" 2>&1 &
			running[$!]=$s
			continue
		fi
		pid=""
		wait -n -p pid "${!running[@]}" || true
		[ -n "$pid" ] || continue
		s=${running[$pid]}
		unset "running[$pid]"
		if [ -s "$WORK/$s/result" ]; then cat "$WORK/$s/result"; else echo "FAIL $s: harness error"; cat "$WORK/$s.out"; fi
		case $(head -c4 "$WORK/$s/result" 2>/dev/null) in PASS) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
	done
	echo "ipv6 boot tests took $(elapsed "$t")"
	echo "ipv6: $pass passed, $fail failed"
	[ $fail -eq 0 ]
}

main "$@"
