#!/usr/bin/env bash
# run.sh proves bootwright's DHCP against real DHCP software inside
# network namespaces it creates (bwdhcp-<pid>-*) and deletes on exit:
#
#   full          dhclient gets a lease from --dhcp-mode full; udhcpc renews
#                 (unicast, ciaddr) and releases
#   restart       leases survive a restart and a kill -9: the same client gets
#                 its address back, a second client never gets a live one's,
#                 a third finds the range full; a damaged leases.db stops
#                 start-up
#   reserved      an address reserved in machines.yaml inside the dynamic
#                 range: the client that held it from before the reservation
#                 is NAKed and moves, another client finds the range full,
#                 the machine it is reserved for gets it
#   two-nics      one instance on two interfaces (a socket each): each client
#                 gets an address from its own interface's subnet
#   proxy-dnsmasq a PXE client (pxeclient, below) beside dnsmasq as the LAN's
#                 DHCP server: address from dnsmasq, boot file from bootwright
#                 on 67 and 4011
#   proxy-kea     the same beside kea-dhcp4, then a UEFI VM (OVMF's own PXE)
#                 boots through the proxy beside Kea to the test kernel
#   relay         dhclient and a PXE client behind isc-dhcp-relay (dhcrelay)
#                 in a middle namespace get addresses from the relayed
#                 subnet's range and the right boot file; then a QEMU VM boots
#                 through the relay to the test kernel's marker
#   http-boot     OVMF's UEFI HTTP Boot (vendor class HTTPClient, arch 16)
#                 boots bootwright's http:// URL to the test kernel's marker
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/dhcp/run.sh [SCENARIO...]
# Needs root and scripts/install-deps.sh. Logs stay in test/dhcp/work/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
PFX="bwdhcp-$$"
ALL=(full restart reserved two-nics proxy-dnsmasq proxy-kea relay http-boot)
STEP_TIMEOUT=20
VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-180}

die() { echo "dhcp-test: $*" >&2; exit 2; }
log() { echo "dhcp-test: $*" >&2; }

# ------------------------------------------------------------ namespaces ---

# shellcheck source=../lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
# shellcheck source=../lib/dhcpclient.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dhcpclient.sh"
cleanup() { ns_cleanup; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- processes ---

# start_bw NS DIR ARGS...: bootwright in NS, state in DIR; sets BW_PID.
start_bw() {
	local ns=$1 dir=$2 v unset_env=(); shift 2
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$ns" env "${unset_env[@]}" "$BOOTWRIGHT_BIN" serve --state-dir "$dir/state" \
		--log-level debug "$@" </dev/null >>"$dir/bootwright.log" 2>&1 &
	BW_PID=$!
	wait_udp "$ns" 67 "$BW_PID" || { tail -n 20 "$dir/bootwright.log" >&2; return 1; }
}

# ------------------------------------------------------------- scenarios ---

fail() { echo "FAIL $SCEN: $*"; [ -n "${DIR:-}" ] && tail -n 15 "$DIR/bootwright.log" 2>/dev/null | sed 's/^/    /'; return 1; }
in_range() { # in_range IP LO HI (same /24)
	local n=${1##*.}
	[ "${1%.*}" = "${2%.*}" ] && [ "$n" -ge "${2##*.}" ] && [ "$n" -le "${3##*.}" ]
}

scen_full() {
	local s=$PFX-full-s c=$PFX-full-c ip ip2
	ns_new "$s"; ns_new "$c"
	bridge "$s" 10.250.1.1/24
	join "$s" "$c" none 02:00:00:01:00:01
	write_client_script "$DIR/client.sh"
	start_bw "$s" "$DIR" --interface br0 --dhcp-mode full --dhcp-range 10.250.1.100-10.250.1.150 \
		--dhcp-lease 2m --dhcp-router 10.250.1.1 --tftp-addr off --http-addr :8080 || return 1
	ip=$(dhclient_once "$c" "$DIR")
	in_range "${ip:-x}" 10.250.1.100 10.250.1.150 || fail "dhclient got '${ip}', want an address in 10.250.1.100-150" || return 1
	timeout 5 ip netns exec "$c" dhclient -4 -r -sf "$DIR/client.sh" -lf "$DIR/dhclient.leases" -pf "$DIR/dhclient.pid" eth0 >>"$DIR/dhclient.log" 2>&1 || true
	grep -q "released $ip" "$DIR/bootwright.log" || fail "dhclient -r: no RELEASE of $ip in bootwright's log" || return 1
	ip -n "$c" addr flush dev eth0
	# udhcpc: lease, then SIGUSR1 (renew: unicast REQUEST with ciaddr), SIGUSR2 (release).
	: >"$DIR/events"
	ip netns exec "$c" busybox udhcpc -f -i eth0 -s "$DIR/client.sh" -t 5 -T 1 -A 1 >"$DIR/udhcpc.log" 2>&1 &
	local upid=$! deadline=$((SECONDS + STEP_TIMEOUT))
	until grep -q '^udhcpc-bound ' "$DIR/events" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || { stop_pid TERM $upid; fail "udhcpc got no lease"; return 1; }
		sleep 0.1
	done
	ip2=$(awk '$1 == "udhcpc-bound" { print $2 }' "$DIR/events")
	kill -USR1 $upid
	until grep -q "type=REQUEST.*reply=ACK to=$ip2:68" "$DIR/bootwright.log"; do
		[ $SECONDS -lt $deadline ] || { stop_pid TERM $upid; fail "no unicast renewal ACK to $ip2:68"; return 1; }
		sleep 0.1
	done
	kill -USR2 $upid
	until grep -q "released $ip2" "$DIR/bootwright.log"; do
		[ $SECONDS -lt $deadline ] || { stop_pid TERM $upid; fail "udhcpc release of $ip2 not seen"; return 1; }
		sleep 0.1
	done
	stop_pid TERM $upid
	echo "PASS full: dhclient leased $ip and released it; udhcpc leased $ip2, renewed by unicast and released"
}

scen_restart() {
	local s=$PFX-rst-s a=$PFX-rst-a b=$PFX-rst-b ipa ipa2 ipb
	ns_new "$s"; ns_new "$a"; ns_new "$b"
	bridge "$s" 10.250.5.1/24
	join "$s" "$a" none 02:00:00:05:00:0a
	join "$s" "$b" none 02:00:00:05:00:0b
	mkdir -p "$DIR/a" "$DIR/b"
	write_client_script "$DIR/a/client.sh"
	write_client_script "$DIR/b/client.sh"
	# Two addresses only: after the restarts, b can only have the other one.
	local args=(--interface br0 --dhcp-mode full --dhcp-range 10.250.5.100-10.250.5.101 --tftp-addr off --http-addr :8080)
	start_bw "$s" "$DIR" "${args[@]}" || return 1
	ipa=$(dhclient_once "$a" "$DIR/a")
	[ -n "$ipa" ] || fail "client a got no lease" || return 1
	stop_pid TERM "$BW_PID"
	start_bw "$s" "$DIR" "${args[@]}" || return 1
	: >"$DIR/a/events"
	ip -n "$a" addr flush dev eth0
	ipa2=$(dhclient_once "$a" "$DIR/a")
	[ "$ipa2" = "$ipa" ] || fail "after a restart client a got '$ipa2', want $ipa" || return 1
	kill -KILL "$BW_PID"; wait "$BW_PID" 2>/dev/null || true
	start_bw "$s" "$DIR" "${args[@]}" || return 1
	ipb=$(dhclient_once "$b" "$DIR/b")
	[ -n "$ipb" ] && [ "$ipb" != "$ipa" ] || fail "after kill -9 client b got '$ipb' (a holds $ipa)" || return 1
	: >"$DIR/a/events"
	ip -n "$a" addr flush dev eth0
	ipa2=$(dhclient_once "$a" "$DIR/a")
	[ "$ipa2" = "$ipa" ] || fail "after kill -9 client a got '$ipa2', want $ipa" || return 1
	# A third client finds the range full: no offer, and a warning.
	local x=$PFX-rst-x
	ns_new "$x"
	join "$s" "$x" none 02:00:00:05:00:0c
	mkdir -p "$DIR/x"
	write_client_script "$DIR/x/client.sh"
	local ipx
	ipx=$(STEP_TIMEOUT=4 dhclient_once "$x" "$DIR/x")
	[ -z "$ipx" ] || fail "a third client got $ipx from a full two-address range" || return 1
	grep -q 'no offer: address pool exhausted' "$DIR/bootwright.log" || fail "no pool-exhausted warning" || return 1
	# A damaged lease file stops start-up, naming the file.
	stop_pid TERM "$BW_PID"
	head -c 20000 /dev/urandom >"$DIR/state/leases.db"
	local rc=0
	timeout "$STEP_TIMEOUT" ip netns exec "$s" "$BOOTWRIGHT_BIN" serve --state-dir "$DIR/state" "${args[@]}" \
		</dev/null >"$DIR/damaged.log" 2>&1 || rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "lease database $DIR/state/leases.db is damaged, refusing to start" "$DIR/damaged.log" ||
		fail "damaged leases.db: exit $rc, $(tail -n 2 "$DIR/damaged.log")" || return 1
	echo "PASS restart: a kept $ipa across a restart and a kill -9; b got $ipb; a third client got no offer from the full range; a damaged leases.db stopped start-up (exit $rc)"
}

# A reservation inside the dynamic range (added while serving, by a hot
# reload): the client holding the address is NAKed when it comes back and
# gets another; the address, free now, goes to no other client even with
# the rest of the range taken; the machine it is reserved for gets it.
scen_reserved() {
	local s=$PFX-res-s a=$PFX-res-a r=$PFX-res-r x=$PFX-res-x ipa ipa2 ipx ipr d
	ns_new "$s"; ns_new "$a"; ns_new "$r"; ns_new "$x"
	bridge "$s" 10.250.8.1/24
	join "$s" "$a" none 02:00:00:08:00:0a
	join "$s" "$r" none 02:00:00:08:00:99
	join "$s" "$x" none 02:00:00:08:00:0c
	mkdir -p "$DIR/config/menus"
	for d in a r x; do mkdir -p "$DIR/$d" && write_client_script "$DIR/$d/client.sh"; done
	echo 'machines: []' >"$DIR/config/menus/machines.yaml"
	start_bw "$s" "$DIR" --interface br0 --dhcp-mode full --dhcp-range 10.250.8.100-10.250.8.101 \
		--config-dir "$DIR/config" --tftp-addr off --http-addr :8080 || return 1
	ipa=$(dhclient_once "$a" "$DIR/a")
	[ "$ipa" = 10.250.8.100 ] || fail "client a got '$ipa', want 10.250.8.100" || return 1
	cat >"$DIR/config/menus/machines.yaml" <<'YAML'
machines:
  - mac: 02:00:00:08:00:99
    name: reserved-01
    ip: 10.250.8.100
YAML
	local deadline=$((SECONDS + STEP_TIMEOUT))
	until grep -q 'msg="config reloaded"' "$DIR/bootwright.log"; do
		[ $SECONDS -lt $deadline ] || { fail "machines.yaml change not reloaded"; return 1; }
		sleep 0.1
	done
	: >"$DIR/a/events"
	ip -n "$a" addr flush dev eth0
	ipa2=$(dhclient_once "$a" "$DIR/a") # INIT-REBOOT asks for .100 again
	grep -q 'reply=NAK.*10.250.8.100: address is reserved for another machine' "$DIR/bootwright.log" ||
		fail "client a's request for 10.250.8.100 was not NAKed as reserved" || return 1
	[ "$ipa2" = 10.250.8.101 ] || fail "after the NAK client a got '$ipa2', want 10.250.8.101" || return 1
	ipx=$(STEP_TIMEOUT=4 dhclient_once "$x" "$DIR/x")
	[ -z "$ipx" ] || fail "client x got '$ipx'; only the reserved address was free" || return 1
	ipr=$(dhclient_once "$r" "$DIR/r")
	[ "$ipr" = 10.250.8.100 ] || fail "the reserved machine got '$ipr', want 10.250.8.100" || return 1
	echo "PASS reserved: a moved from $ipa to $ipa2 after a NAK, x got nothing from a range whose only free address is reserved, the machine got $ipr"
}

# Two interfaces, one socket each: clients on br0 and br1 of the server's
# namespace get addresses from their own interface's subnet, with the
# server's address on that interface as option 54.
scen_two-nics() {
	local s=$PFX-nic-s a=$PFX-nic-a b=$PFX-nic-b ipa ipb
	ns_new "$s"; ns_new "$a"; ns_new "$b"
	bridge "$s" 10.250.7.1/24
	ip -n "$s" link add br1 type bridge
	ip -n "$s" link set br1 type bridge forward_delay 0 stp_state 0
	ip -n "$s" addr add 10.250.8.1/24 dev br1
	ip -n "$s" link set br1 up
	join "$s" "$a" none 02:00:00:07:00:0a
	local port=v${RANDOM}
	ip -n "$s" link add "$port" type veth peer name eth0 netns "$b"
	ip -n "$s" link set "$port" master br1 up
	ip -n "$b" link set eth0 address 02:00:00:08:00:0b up
	mkdir -p "$DIR/a" "$DIR/b"
	write_client_script "$DIR/a/client.sh"
	write_client_script "$DIR/b/client.sh"
	printf 'subnets:\n  - interface: br1\n    range: 10.250.8.100-10.250.8.150\n    router: 10.250.8.1\n' >"$DIR/dhcp.yaml"
	start_bw "$s" "$DIR" --interface br0 --dhcp-mode full --dhcp-range 10.250.7.100-10.250.7.150 \
		--dhcp-config "$DIR/dhcp.yaml" --tftp-addr off --http-addr :8080 || return 1
	[ "$(ip netns exec "$s" ss -Hlnu 'sport = :67' | wc -l)" -eq 2 ] || fail "want two sockets on UDP 67: $(ip netns exec "$s" ss -Hlnu 'sport = :67')" || return 1
	ipa=$(dhclient_once "$a" "$DIR/a")
	ipb=$(dhclient_once "$b" "$DIR/b")
	in_range "${ipa:-x}" 10.250.7.100 10.250.7.150 || fail "client on br0 got '$ipa'" || return 1
	in_range "${ipb:-x}" 10.250.8.100 10.250.8.150 || fail "client on br1 got '$ipb'" || return 1
	grep -q 'DHCPACK of 10.250.8.1[0-9][0-9] from 10.250.8.1' "$DIR/b/dhclient.log" || fail "br1's ACK is not from 10.250.8.1" || return 1
	echo "PASS two-nics: one socket per interface; br0 client got $ipa, br1 client got $ipb from 10.250.8.1"
}

# proxy_lan SERVER: LAN namespace with SERVER (dnsmasq|kea) as its DHCP
# server, bootwright in proxy mode in a second namespace, pxeclient in a third.
proxy_lan() {
	local lan=$PFX-$SCEN-l bw=$PFX-$SCEN-b c=$PFX-$SCEN-c out bios
	ns_new "$lan"; ns_new "$bw"; ns_new "$c"
	bridge "$lan" 10.250.2.1/24
	join "$lan" "$bw" 10.250.2.2/24
	join "$lan" "$c" none 02:00:00:02:00:01
	local lanpid
	if [ "$1" = dnsmasq ]; then
		ip netns exec "$lan" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp --conf-file=/dev/null \
			--user=root --port=0 --bind-interfaces --interface=br0 --pid-file="$DIR/dnsmasq.pid" \
			--dhcp-leasefile="$DIR/dnsmasq.leases" --dhcp-range=10.250.2.50,10.250.2.99,255.255.255.0,1h \
			</dev/null >"$DIR/lan.log" 2>&1 &
	else
		cat >"$DIR/kea.json" <<-EOF
		{ "Dhcp4": {
		    "interfaces-config": { "interfaces": [ "br0" ] },
		    "lease-database": { "type": "memfile", "persist": true, "name": "$DIR/kea.leases" },
		    "valid-lifetime": 3600,
		    "subnet4": [ { "id": 1, "subnet": "10.250.2.0/24", "pools": [ { "pool": "10.250.2.50 - 10.250.2.99" } ] } ],
		    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": "$DIR/lan.log" } ] } ]
		} }
		EOF
		ip netns exec "$lan" env KEA_PIDFILE_DIR="$DIR" KEA_LOCKFILE_DIR="$DIR" kea-dhcp4 -c "$DIR/kea.json" \
			</dev/null >"$DIR/kea.out" 2>&1 &
	fi
	lanpid=$!
	wait_udp "$lan" 67 "$lanpid" || fail "$1 did not start: $(tail -n 5 "$DIR"/kea.out "$DIR/lan.log" 2>/dev/null)" || return 1
	write_vm_files
	start_bw "$bw" "$DIR" --interface eth0 --dhcp-mode proxy --http-addr :8080 \
		--config-dir "$DIR/config" --assets-dir "$WORK/assets" || return 1
	wait_udp "$bw" 4011 "$BW_PID" || return 1
	out=$(timeout "$STEP_TIMEOUT" ip netns exec "$c" "$PXECLIENT" -i eth0 2>&1) || fail "pxeclient: $out" || return 1
	echo "$out" >"$DIR/pxeclient.out"
	grep -qE '^lan server=10\.250\.2\.1 yiaddr=10\.250\.2\.([5-9][0-9]) ' <<<"$out" || fail "address not from $1: $out" || return 1
	# UEFI firmware gets no option 43 in the proxy offer and asks 4011
	# (dhcpboot's discoveryControl says why); a BIOS ROM gets discovery
	# control 8 and its own NBP.
	grep -qE '^proxy server=10\.250\.2\.2 siaddr=10\.250\.2\.2 yiaddr=0\.0\.0\.0 vendor=PXEClient opt43= guid=echoed bootfile=snponly\.efi$' <<<"$out" ||
		fail "proxy offer incomplete: $out" || return 1
	bios=$(timeout "$STEP_TIMEOUT" ip netns exec "$c" "$PXECLIENT" -i eth0 -arch 0 -mac 52:54:00:02:00:09 2>&1) || fail "pxeclient -arch 0: $bios" || return 1
	echo "$bios" >"$DIR/pxeclient-bios.out"
	grep -qE '^proxy server=10\.250\.2\.2 siaddr=10\.250\.2\.2 yiaddr=0\.0\.0\.0 vendor=PXEClient opt43=060108ff guid=echoed bootfile=undionly\.kpxe$' <<<"$bios" ||
		fail "BIOS proxy offer incomplete: $bios" || return 1
	grep -qE '^ack server=10\.250\.2\.1 ' <<<"$out" || fail "no ACK from $1: $out" || return 1
	grep -qE '^boot server=10\.250\.2\.2 port=4011 type=ACK yiaddr=0\.0\.0\.0 bootfile=snponly\.efi$' <<<"$out" ||
		fail "no boot server ACK on 4011: $out" || return 1
	echo "PASS $SCEN: $(grep '^lan' <<<"$out" | cut -d' ' -f2-3) from $1; UEFI: snponly.efi from bootwright on 67 (no option 43) and 4011; BIOS: undionly.kpxe with option 43"
	# test/vm boots a UEFI VM through the proxy beside dnsmasq; here the
	# same beside Kea.
	[ "$1" = kea ] && vm_uefi_proxy "$lan"
	return 0
}

scen_proxy-dnsmasq() { proxy_lan dnsmasq; }
scen_proxy-kea() { proxy_lan kea; }

scen_relay() {
	local s=$PFX-rly-s r=$PFX-rly-r c=$PFX-rly-c p=$PFX-rly-p ip out
	ns_new "$s"; ns_new "$r"; ns_new "$c"; ns_new "$p"
	ip -n "$s" link add eth0 type veth peer name up0 netns "$r"
	ip -n "$s" addr add 10.250.3.1/24 dev eth0
	ip -n "$s" link set eth0 up
	ip -n "$s" route add 10.250.4.0/24 via 10.250.3.2
	ip -n "$r" addr add 10.250.3.2/24 dev up0
	ip -n "$r" link set up0 up
	bridge "$r" 10.250.4.1/24
	ip -n "$r" addr add fd42:250:4::1/64 dev br0 nodad
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	join "$r" "$c" none 02:00:00:04:00:01
	join "$r" "$p" none 52:54:00:04:00:02
	cat >"$DIR/dhcp.yaml" <<-EOF
	subnets:
	  - subnet: 10.250.4.0/24   # behind dhcrelay, giaddr 10.250.4.1
	    range: 10.250.4.100-10.250.4.150
	    router: 10.250.4.1
	    lease: 10m
	EOF
	write_vm_files
	start_bw "$s" "$DIR" --interface eth0 --dhcp-mode full --dhcp-range 10.250.3.100-10.250.3.150 \
		--dhcp-config "$DIR/dhcp.yaml" --http-addr :8080 --config-dir "$DIR/config" --assets-dir "$WORK/assets" || return 1
	# Router advertisements on the client side, so iPXE does not wait ~13 s
	# for IPv6 autoconfiguration (dnsmasq RA-only binds no UDP port).
	ip netns exec "$r" dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --user=root --port=0 \
		--bind-interfaces --interface=br0 --pid-file="$DIR/dnsmasq.pid" --dhcp-leasefile="$DIR/dnsmasq.leases" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h </dev/null >"$DIR/dnsmasq.log" 2>&1 &
	ip netns exec "$r" dhcrelay -4 -d -id br0 -iu up0 10.250.3.1 </dev/null >"$DIR/dhcrelay.log" 2>&1 &
	local rpid=$!
	wait_udp "$r" 67 $rpid || fail "dhcrelay did not start: $(tail -n 5 "$DIR/dhcrelay.log")" || return 1
	write_client_script "$DIR/client.sh"
	ip=$(dhclient_once "$c" "$DIR")
	in_range "${ip:-x}" 10.250.4.100 10.250.4.150 || fail "dhclient behind the relay got '$ip', want 10.250.4.100-150" || return 1
	out=$(timeout "$STEP_TIMEOUT" ip netns exec "$p" "$PXECLIENT" -i eth0 -proxy=false 2>&1) || fail "pxeclient: $out" || return 1
	echo "$out" >"$DIR/pxeclient.out"
	grep -qE '^lan server=10\.250\.3\.1 yiaddr=10\.250\.4\.1[0-5][0-9] bootfile=snponly\.efi$' <<<"$out" ||
		fail "PXE offer through the relay: $out" || return 1
	grep -qE '^ack server=10\.250\.3\.1 yiaddr=10\.250\.4\.1[0-5][0-9] bootfile=snponly\.efi$' <<<"$out" ||
		fail "PXE ACK through the relay: $out" || return 1
	echo "PASS relay: dhclient got $ip and a UEFI PXE client $(grep '^ack' <<<"$out" | cut -d' ' -f3) + snponly.efi through dhcrelay"
	vm_through_relay "$r"
}

VM_MAC=52:54:00:04:00:09
HTTP_MAC=52:54:00:0b:00:01
PROXY_MAC=52:54:00:02:00:09
write_vm_files() {
	mkdir -p "$DIR/config/menus"
	{
		echo "machines:"
		local m
		for m in "$VM_MAC vm-relay" "$HTTP_MAC vm-http" "$PROXY_MAC vm-proxy"; do
			cat <<-EOF
			  - mac: "${m% *}"
			    name: ${m#* }
			    default: testos
			    timeout: 1s
			    args: "bootwright.test=${m#* }"
			EOF
		done
	} >"$DIR/config/menus/machines.yaml"
}

# wait_marker QPID NAME: until the serial log has NAME's marker, QEMU
# stops or VM_TIMEOUT passes; then QEMU is killed. Prints the marker.
wait_marker() {
	local qpid=$1 name=$2 deadline=$((SECONDS + VM_TIMEOUT)) marker=""
	while :; do
		marker=$(serial_marker "$DIR/serial.log")
		[ -n "$marker" ] && break
		kill -0 "$qpid" 2>/dev/null || break
		[ $SECONDS -lt $deadline ] || break
		sleep 0.5
	done
	stop_pid KILL "$qpid"
	grep -q "bootwright.test=$name" <<<"$marker" && echo "$marker"
}

# vm_through_relay NS: a BIOS VM (SeaBIOS + QEMU's iPXE ROM) on NS's bridge
# boots through dhcrelay: DHCP from the relayed subnet, then HTTP from
# bootwright across the relay's routing, to the test kernel's marker.
vm_through_relay() {
	local r=$1 qpid
	vm_tap "$r"
	: >"$DIR/serial.log"
	local t0=$SECONDS
	ip netns exec "$r" qemu-system-x86_64 -accel tcg -nographic -no-reboot -nodefaults -m 256 -vga none \
		-serial "file:$DIR/serial.log" -monitor none \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device "virtio-net-pci,netdev=n0,mac=$VM_MAC,bootindex=1" -boot n </dev/null >"$DIR/qemu.log" 2>&1 &
	qpid=$!
	wait_marker $qpid vm-relay >/dev/null || fail "VM did not reach the marker in $((SECONDS - t0))s (serial: $DIR/serial.log)" || return 1
	local vmip
	vmip=$(sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$DIR/serial.log" | grep -aoE 'net0: 10\.250\.4\.[0-9]+' | head -n1 | cut -d' ' -f2)
	in_range "${vmip:-x}" 10.250.4.100 10.250.4.150 || fail "VM's address '$vmip' is not from the relayed range" || return 1
	echo "PASS relay-vm: BIOS/iPXE VM got $vmip through dhcrelay and booted to the marker in $((SECONDS - t0))s"
}

# vm_uefi_proxy LAN_NS: a UEFI VM (OVMF's own PXE, no iPXE ROM) on the
# LAN bridge takes its address from the LAN's server and its boot file
# from bootwright's proxy, then iPXE, the menu and the test kernel.
vm_uefi_proxy() {
	local lan=$1 qpid t0=$SECONDS vmip
	ip -n "$lan" addr add fd42:250:2::1/64 dev br0 nodad
	ip netns exec "$lan" dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --user=root --port=0 \
		--bind-interfaces --interface=br0 --pid-file="$DIR/ra.pid" --dhcp-leasefile="$DIR/ra.leases" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h </dev/null >"$DIR/ra.log" 2>&1 &
	vm_tap "$lan"
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$DIR/vars.fd"
	: >"$DIR/serial.log"
	ip netns exec "$lan" qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -nodefaults -vga none \
		-serial "file:$DIR/serial.log" -monitor none \
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,file="$DIR/vars.fd" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device "virtio-net-pci,netdev=n0,mac=$PROXY_MAC,romfile=,bootindex=1" </dev/null >"$DIR/qemu.log" 2>&1 &
	qpid=$!
	wait_marker $qpid vm-proxy >/dev/null || fail "UEFI VM beside Kea did not reach the marker in $((SECONDS - t0))s (serial: $DIR/serial.log)" || return 1
	vmip=$(sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$DIR/serial.log" | grep -aoE 'Station IP address is 10\.250\.2\.[0-9]+' | head -n1 | awk '{print $NF}')
	in_range "${vmip:-x}" 10.250.2.50 10.250.2.99 || fail "VM's firmware address '$vmip' is not from Kea's pool" || return 1
	echo "PASS $SCEN-vm: UEFI firmware PXE took $vmip from Kea and the boot file from bootwright's proxy; marker in $((SECONDS - t0))s"
}

# UEFI HTTP Boot: OVMF without the iPXE ROM (romfile=) and with its PXE
# boot options turned off (fw_cfg), so it goes straight to "UEFI HTTPv4":
# DHCP with vendor class HTTPClient and arch 16, the http:// URL of
# snponly.efi from bootwright, then iPXE, the menu and the test kernel.
# The config takes the PXE files for arches 7 and 9 away, so a PXE attempt
# could not succeed by accident.
scen_http-boot() {
	local s=$PFX-http-s
	vm_lan "$s" 10.250.6.1/24 fd42:250:6::1/64
	printf 'boot_files:\n  efi-x64: ""\n  efi-bc: ""\n' >"$DIR/dhcp.yaml"
	write_vm_files
	ip netns exec "$s" dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --user=root --port=0 \
		--bind-interfaces --interface=br0 --pid-file="$DIR/dnsmasq.pid" --dhcp-leasefile="$DIR/dnsmasq.leases" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h </dev/null >"$DIR/dnsmasq.log" 2>&1 &
	start_bw "$s" "$DIR" --interface br0 --dhcp-mode full --dhcp-range 10.250.6.100-10.250.6.150 \
		--dhcp-config "$DIR/dhcp.yaml" --http-addr :8080 --config-dir "$DIR/config" --assets-dir "$WORK/assets" || return 1
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$DIR/vars.fd"
	: >"$DIR/serial.log"
	local t0=$SECONDS qpid
	ip netns exec "$s" qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -nodefaults -vga none \
		-serial "file:$DIR/serial.log" -monitor none \
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,file="$DIR/vars.fd" \
		-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n \
		-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device "virtio-net-pci,netdev=n0,mac=$HTTP_MAC,romfile=,bootindex=1" </dev/null >"$DIR/qemu.log" 2>&1 &
	qpid=$!
	wait_marker $qpid vm-http >/dev/null || fail "UEFI HTTP Boot VM did not reach the marker in $((SECONDS - t0))s (serial: $DIR/serial.log)" || return 1
	local uri
	uri=$(sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$DIR/serial.log" | grep -aoE 'URI: http://[^ ]+' | head -n1 | tr -d '\r')
	[ "$uri" = "URI: http://10.250.6.1:8080/tftp/snponly.efi" ] || fail "OVMF did not HTTP-boot bootwright's URL: '$uri'" || return 1
	grep -qE 'arch=efi-x64-http mode=full decision="http-boot http://10\.250\.6\.1:8080/tftp/snponly\.efi" vendor_class=HTTPClient:Arch:00016[^ ]* reply=ACK' "$DIR/bootwright.log" ||
		fail "no HTTPClient ACK in bootwright's log" || return 1
	echo "PASS http-boot: OVMF UEFI HTTP Boot ($uri) -> iPXE -> menu -> marker in $((SECONDS - t0))s"
}

# ------------------------------------------------------------------ main ---

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	local t
	for t in dhclient busybox dnsmasq kea-dhcp4 dhcrelay qemu-system-x86_64 ip ss go; do
		command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
	done
	local scen=("$@") pass=0 failed=0 t0=$SECONDS
	[ ${#scen[@]} -gt 0 ] || scen=("${ALL[@]}")
	mkdir -p "$WORK"
	PXECLIENT=$WORK/pxeclient
	(cd "$TOP" && go build -o "$PXECLIENT" ./test/dhcp/pxeclient)
	if [[ " ${scen[*]} " =~ " "(relay|http-boot|proxy-dnsmasq|proxy-kea)" " ]]; then
		local cache
		cache=$("$TOP/test/vm/build-image.sh")
		mkdir -p "$WORK/assets/testos"
		cp "$cache/vmlinuz" "$cache/initrd.gz" "$WORK/assets/testos/"
		echo "console=ttyS0 panic=-1" >"$WORK/assets/testos/cmdline"
	fi
	for SCEN in "${scen[@]}"; do
		declare -F "scen_$SCEN" >/dev/null || die "unknown scenario $SCEN (known: ${ALL[*]})"
		DIR=$WORK/$SCEN
		rm -rf "$DIR"
		mkdir -p "$DIR"
		local ts=$SECONDS
		if "scen_$SCEN"; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
		log "$SCEN took $((SECONDS - ts))s"
		cleanup
	done
	echo "dhcp: $pass passed, $failed failed ($((SECONDS - t0))s)"
	[ $failed -eq 0 ]
}

main "$@"
