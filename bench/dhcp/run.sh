#!/usr/bin/env bash
# run.sh measures full DHCP exchanges (DISCOVER-OFFER-REQUEST-ACK) per
# second with Kea's perfdhcp against bootwright --dhcp-mode full, dnsmasq
# and kea-dhcp4 (memfile), each persisting its leases, at a ladder of
# offered rates. perfdhcp runs in its own network namespace joined to the
# server's by a veth pair; nothing touches the host network, every process
# is stopped by PID and both namespaces are deleted on exit.
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright bench/dhcp/run.sh
# Environment: BENCH_RATES (default "2000 5000 8000 12000"), BENCH_SECONDS
# per step (default 4), BENCH_SERVERS (default "bootwright kea dnsmasq"),
# BENCH_KEA_MT=true to run Kea with two packet-processing threads.
# Needs root and scripts/install-deps.sh (kea-dhcp4-server, kea-admin, dnsmasq).
# No server pings an address before offering it (dnsmasq runs with
# --no-ping; Kea and bootwright do not ping), and each logs warnings only.
set -euo pipefail

RATES=${BENCH_RATES:-"2000 5000 8000 12000"}
SECS=${BENCH_SECONDS:-4}
SERVERS=${BENCH_SERVERS:-"bootwright kea dnsmasq"}
KEA_MT=${BENCH_KEA_MT:-false} # Kea 2.2's default; true: two packet threads
CLIENTS=40000 # distinct MACs perfdhcp draws from; the range holds them all
NET=10.241
SRV_IP=$NET.0.1 CLI_IP=$NET.0.2
RANGE_LO=$NET.1.1 RANGE_HI=$NET.255.250
PFX="bwbench-$$"
NS_S=$PFX-srv NS_C=$PFX-cli
WORK=$(mktemp -d /tmp/bwbench.XXXXXX)
chmod 755 "$WORK"
SPID=""

die() { echo "bench-dhcp: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
for t in perfdhcp kea-dhcp4 dnsmasq ip ss go; do
	command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
done

cleanup() {
	stop_server
	local ns p
	for ns in "$NS_C" "$NS_S"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -n "${BENCH_KEEP:-}" ] && echo "bench-dhcp: kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$(dirname "$0")/../.." && go build -o "$WORK/leasecount" ./bench/dhcp/leasecount)

ip netns add "$NS_S"
ip netns add "$NS_C"
ip -n "$NS_S" link set lo up
ip -n "$NS_C" link set lo up
ip -n "$NS_S" link add eth0 type veth peer name eth0 netns "$NS_C"
ip -n "$NS_S" addr add "$SRV_IP/16" dev eth0
ip -n "$NS_C" addr add "$CLI_IP/16" dev eth0
ip -n "$NS_S" link set eth0 up
ip -n "$NS_C" link set eth0 up

# start_server NAME: starts it in NS_S with a fresh lease store; sets SPID.
start_server() {
	local name=$1 dir=$WORK/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	case $name in
	bootwright)
		ip netns exec "$NS_S" env -u BOOTWRIGHT_DHCP_MODE "$BOOTWRIGHT_BIN" serve --interface eth0 \
			--dhcp-mode full --dhcp-range "$RANGE_LO-$RANGE_HI" --dhcp-lease 1h \
			--state-dir "$dir" --tftp-addr off --http-addr 127.0.0.1:0 --log-level warn \
			</dev/null >"$dir/log" 2>&1 &
		;;
	kea)
		cat >"$dir/kea.json" <<-EOF
		{ "Dhcp4": {
		    "interfaces-config": { "interfaces": [ "eth0" ], "dhcp-socket-type": "udp" },
		    "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0,
		                        "name": "$dir/leases.csv" },
		    "valid-lifetime": 3600,
		    "multi-threading": { "enable-multi-threading": $KEA_MT, "thread-pool-size": 2, "packet-queue-size": 256 },
		    "subnet4": [ { "id": 1, "subnet": "$NET.0.0/16", "pools": [ { "pool": "$RANGE_LO - $RANGE_HI" } ] } ],
		    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
		                   "output_options": [ { "output": "$dir/log" } ] } ]
		} }
		EOF
		ip netns exec "$NS_S" env KEA_PIDFILE_DIR="$dir" KEA_LOCKFILE_DIR="$dir" \
			kea-dhcp4 -c "$dir/kea.json" </dev/null >"$dir/out" 2>&1 &
		;;
	dnsmasq)
		ip netns exec "$NS_S" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --port=0 \
			--bind-interfaces --interface=eth0 --pid-file="$dir/pid" --dhcp-leasefile="$dir/leases" \
			--dhcp-range="$RANGE_LO,$RANGE_HI,255.255.0.0,1h" --dhcp-lease-max=70000 --quiet-dhcp --no-ping \
			</dev/null >"$dir/log" 2>&1 &
		;;
	esac
	SPID=$!
	for _ in $(seq 100); do
		[ -n "$(ip netns exec "$NS_S" ss -Hlnu 'sport = :67')" ] && return 0
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench-dhcp: $name did not start:" >&2
	cat "$dir"/log "$dir"/out 2>/dev/null | tail -n 20 >&2
	exit 1
}

stop_server() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
	SPID=""
}

# cputicks PID: user+system CPU time of PID so far, in clock ticks.
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# udp_drops NS: datagrams dropped in NS so far because a socket was full.
udp_drops() {
	ip netns exec "$1" awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Udp:" { print $col["RcvbufErrors"] }' /proc/net/snmp
}

# step NAME RATE: one perfdhcp run; prints "acks/s drop% avg_ms max_ms".
step() {
	local name=$1 rate=$2 out=$WORK/$1.$2.perf
	local cpu0 sdrop0 cdrop0
	cpu0=$(cputicks "$SPID")
	sdrop0=$(udp_drops "$NS_S")
	cdrop0=$(udp_drops "$NS_C")
	ip netns exec "$NS_C" timeout $((SECS + 20)) perfdhcp -4 -l eth0 -r "$rate" -p "$SECS" \
		-R "$CLIENTS" -u -W 1000000 "$SRV_IP" >"$out" 2>&1 || true
	# Datagrams the server's kernel dropped because its socket was full.
	echo "rcvbuf_drops $(($(udp_drops "$NS_S") - sdrop0))" >>"$out"
	echo "client_rcvbuf_drops $(($(udp_drops "$NS_C") - cdrop0))" >>"$out"
	echo "server_cpu_ticks $(($(cputicks "$SPID") - cpu0))" >>"$out"
	awk -v secs="$SECS" '
		/^\*\*\*/ { ex = $0 }
		ex ~ /DISCOVER-OFFER/ && /^sent packets:/ { disc = $3 }
		ex ~ /DISCOVER-OFFER/ && /^avg delay:/ { do_avg = $3 }
		ex ~ /REQUEST-ACK/ && /^received packets:/ { recv = $3 }
		ex ~ /REQUEST-ACK/ && /^avg delay:/ { ra_avg = $3 }
		ex ~ /REQUEST-ACK/ && /^max delay:/ { ra_max = $3 }
		/^non unique addresses:/ { dup += $4 }
		/^rcvbuf_drops/ { rcvbuf = $2 }
		/^client_rcvbuf_drops/ { crcvbuf = $2 }
		/^server_cpu_ticks/ { cpu = $2 }
		END {
			drop = disc > 0 ? 100 * (disc - recv) / disc : 100
			printf "%d %.1f %.2f %.2f %d %d/%d %d%%\n", recv / secs, drop, do_avg + ra_avg, ra_max, dup, rcvbuf, crcvbuf, cpu / secs
		}' "$out"
}

# acks/s: completed DISCOVER-OFFER-REQUEST-ACK exchanges per second of
# sending; drop%: DISCOVERs sent that never got their ACK; avg_ms: mean
# DISCOVER->OFFER plus REQUEST->ACK time; max_ms: slowest REQUEST->ACK;
# repeat: perfdhcp -u "non unique addresses": an address it saw twice. -R
# draws MACs at random, so a client drawn again gets its own address again
# and counts too (about acks^2 / (2 * CLIENTS) such repeats per step are
# expected); a real duplicate shows at low rates, where repeats are rare.
# rcvbuf: datagrams dropped because a socket was full, server/perfdhcp.
# cpu: the server's CPU time over the step, in % of one core (2 cores here,
# shared with perfdhcp and the kernel).
printf '%-11s %8s %10s %7s %9s %9s %6s %9s %5s\n' server offered "acks/s" "drop%" "avg_ms" "max_ms" repeat rcvbuf cpu
declare -A best=()
for name in $SERVERS; do
	start_server "$name"
	best[$name]=0
	for rate in $RATES; do
		read -r acks drop avg max dup rcvbuf cpu < <(step "$name" "$rate")
		printf '%-11s %8s %10s %7s %9s %9s %6s %9s %5s\n' "$name" "$rate" "$acks" "$drop" "$avg" "$max" "$dup" "$rcvbuf" "$cpu"
		[ "$acks" -gt "${best[$name]}" ] && best[$name]=$acks
	done
	stop_server
	case $name in
	bootwright) echo "bootwright: $("$WORK/leasecount" "$WORK/$name/leases.db") leases in leases.db" ;;
	kea) echo "kea: $(tail -n +2 "$WORK/$name/leases.csv" 2>/dev/null | cut -d, -f1 | sort -u | wc -l) addresses in leases.csv" ;;
	dnsmasq) echo "dnsmasq: $(wc -l <"$WORK/$name/leases" 2>/dev/null || echo 0) leases in its lease file" ;;
	esac
done

echo
peer=0 peer_name=""
for name in "${!best[@]}"; do
	[ "$name" = bootwright ] && continue
	if [ "${best[$name]}" -gt "$peer" ]; then peer=${best[$name]} peer_name=$name; fi
done
for name in $SERVERS; do printf 'best %-11s %8s exchanges/s\n' "$name" "${best[$name]}"; done
if [ -n "${best[bootwright]:-}" ] && [ "$peer" -gt 0 ]; then
	awk -v b="${best[bootwright]}" -v p="$peer" -v n="$peer_name" \
		'BEGIN { printf "bootwright / best peer (%s): %.2f\n", n, b / p }'
fi
