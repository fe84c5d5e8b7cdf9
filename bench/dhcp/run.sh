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
# BENCH_KEA_MT=true to run Kea with two packet-processing threads,
# BENCH_DHCP_PG: "on" (default) adds the PostgreSQL rows of pg.sh after
# these (one bootwright on --state-db, two replicas on it, Kea with its
# PostgreSQL lease backend, on one throwaway server), "only" runs just
# those, "off" skips them.
# Needs root and scripts/install-deps.sh (kea-dhcp4-server, kea-admin,
# dnsmasq, postgresql, postgresql-client).
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
PG_ROWS=${BENCH_DHCP_PG:-on}
SPIDS=() # the servers of the current row
NSES=("$NS_C" "$NS_S") # every namespace made, deleted on exit
# Where step runs perfdhcp: its namespace and interface, the servers'
# namespaces and the address it sends to (empty: broadcast). pg.sh sets
# them for its rows.
STEP_CLI_NS=$NS_C STEP_CLI_IF=eth0 STEP_SRV_NS=$NS_S STEP_TARGET=$SRV_IP
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

die() { echo "bench-dhcp: $*" >&2; exit 2; }
case $PG_ROWS in on | only | off) ;; *) die "BENCH_DHCP_PG is on, only or off, not $PG_ROWS" ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
for t in perfdhcp kea-dhcp4 dnsmasq ip ss go; do
	command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
done

# shellcheck source=../../test/lib/pg.sh
. "$TOP/test/lib/pg.sh"
# shellcheck source=pg.sh
. "$HERE/pg.sh"

cleanup() {
	stop_server
	pg_stop
	local ns p
	for ns in "${NSES[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -n "${BENCH_KEEP:-}" ] && echo "bench-dhcp: kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$TOP" && go build -o "$WORK/leasecount" ./bench/dhcp/leasecount)

ip netns add "$NS_S"
ip netns add "$NS_C"
ip -n "$NS_S" link set lo up
ip -n "$NS_C" link set lo up
ip -n "$NS_S" link add eth0 type veth peer name eth0 netns "$NS_C"
ip -n "$NS_S" addr add "$SRV_IP/16" dev eth0
ip -n "$NS_C" addr add "$CLI_IP/16" dev eth0
ip -n "$NS_S" link set eth0 up
ip -n "$NS_C" link set eth0 up

# start_server NAME: starts it in NS_S with a fresh lease store; adds
# its PID to SPIDS.
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
		start_kea "$NS_S" "$dir" udp \
			"{ \"type\": \"memfile\", \"persist\": true, \"lfc-interval\": 0, \"name\": \"$dir/leases.csv\" }"
		;;
	dnsmasq)
		ip netns exec "$NS_S" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --port=0 \
			--bind-interfaces --interface=eth0 --pid-file="$dir/pid" --dhcp-leasefile="$dir/leases" \
			--dhcp-range="$RANGE_LO,$RANGE_HI,255.255.0.0,1h" --dhcp-lease-max=70000 --quiet-dhcp --no-ping \
			</dev/null >"$dir/log" 2>&1 &
		;;
	esac
	wait_started "$name" "$NS_S" $! "$dir"
}

# start_kea NS DIR SOCKET-TYPE LEASE-DATABASE: kea-dhcp4 in NS on eth0
# with DIR/kea.json, the range and lease time of the others and the lease
# database given (JSON); the caller waits for $!.
start_kea() {
	cat >"$2/kea.json" <<-EOF
	{ "Dhcp4": {
	    "interfaces-config": { "interfaces": [ "eth0" ], "dhcp-socket-type": "$3" },
	    "lease-database": $4,
	    "valid-lifetime": 3600,
	    "multi-threading": { "enable-multi-threading": $KEA_MT, "thread-pool-size": 2, "packet-queue-size": 256 },
	    "subnet4": [ { "id": 1, "subnet": "$NET.0.0/16", "pools": [ { "pool": "$RANGE_LO - $RANGE_HI" } ] } ],
	    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
	                   "output_options": [ { "output": "$2/log" } ] } ]
	} }
	EOF
	ip netns exec "$1" env KEA_PIDFILE_DIR="$2" KEA_LOCKFILE_DIR="$2" \
		kea-dhcp4 -c "$2/kea.json" </dev/null >"$2/out" 2>&1 &
}

# wait_started NAME NS PID DIR: until PID listens on UDP 67 in NS (10 s);
# adds PID to SPIDS, or exits with the tail of its log.
wait_started() {
	SPIDS+=("$3")
	for _ in $(seq 100); do
		[ -n "$(ip netns exec "$2" ss -Hlnu 'sport = :67')" ] && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench-dhcp: $1 did not start:" >&2
	cat "$4"/log "$4"/out 2>/dev/null | tail -n 20 >&2
	exit 1
}

# stop_server: stops every server in SPIDS by PID (TERM, KILL after 5 s).
stop_server() {
	local p
	for p in "${SPIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	SPIDS=()
}

# cputicks: user+system CPU time of the servers in SPIDS so far, in clock ticks.
cputicks() {
	local p t=0
	for p in "${SPIDS[@]}"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done
	echo $t
}

# udp_drops NS...: datagrams dropped in the NSes so far because a socket was full.
udp_drops() {
	local ns t=0
	for ns in "$@"; do
		t=$((t + $(ip netns exec "$ns" awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
			$1 == "Udp:" { print $col["RcvbufErrors"] }' /proc/net/snmp)))
	done
	echo $t
}

# percentiles PERF KIND: "p50/p99" in ms of the exchanges of KIND
# (DISCOVER-OFFER or REQUEST-ACK) that got their answer, from the
# timestamps perfdhcp -x t prints (HHMMSS.usec since it started).
percentiles() {
	awk -v kind="$2" 'function t(x) { return substr(x, 1, 2) * 3600 + substr(x, 3, 2) * 60 + substr(x, 5) }
		/^\*\*\*/ { in_kind = index($0, "Timestamps for packets: " kind) > 0; next }
		in_kind && /^sent \/ received:/ { print (t($6) - t($4)) * 1000 }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) { print "-/-"; exit }
			i = int(NR * 0.50 + 0.5); j = int(NR * 0.99 + 0.5); if (i < 1) i = 1; if (j < 1) j = 1
			printf "%.2f/%.2f\n", v[i], v[j] }'
}

# step NAME RATE: one perfdhcp run; prints "acks/s drop% avg_ms max_ms
# repeat rcvbuf cpu offer_p50/p99 ack_p50/p99".
step() {
	local name=$1 rate=$2 out=$WORK/$1.$2.perf
	local cpu0 sdrop0 cdrop0
	cpu0=$(cputicks)
	# shellcheck disable=SC2086 # STEP_SRV_NS is a list of namespaces
	sdrop0=$(udp_drops $STEP_SRV_NS)
	cdrop0=$(udp_drops "$STEP_CLI_NS")
	ip netns exec "$STEP_CLI_NS" timeout $((SECS + 20)) perfdhcp -4 -l "$STEP_CLI_IF" -r "$rate" -p "$SECS" \
		-R "$CLIENTS" -u -W 1000000 -x t ${STEP_TARGET:+"$STEP_TARGET"} >"$out" 2>&1 || true
	# Datagrams the server's kernel dropped because its socket was full.
	# shellcheck disable=SC2086
	echo "rcvbuf_drops $(($(udp_drops $STEP_SRV_NS) - sdrop0))" >>"$out"
	echo "client_rcvbuf_drops $(($(udp_drops "$STEP_CLI_NS") - cdrop0))" >>"$out"
	echo "server_cpu_ticks $(($(cputicks) - cpu0))" >>"$out"
	echo "offer_pct $(percentiles "$out" DISCOVER-OFFER)" >>"$out"
	echo "ack_pct $(percentiles "$out" REQUEST-ACK)" >>"$out"
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
		/^offer_pct/ { opct = $2 }
		/^ack_pct/ { apct = $2 }
		END {
			drop = disc > 0 ? 100 * (disc - recv) / disc : 100
			printf "%d %.1f %.2f %.2f %d %d/%d %d%% %s %s\n", recv / secs, drop, do_avg + ra_avg, ra_max, dup, rcvbuf, crcvbuf, cpu / secs, opct, apct
		}' "$out"
}

# row NAME: the ladder against the servers started for NAME; sets
# best[NAME] and lat[NAME.RATE] (ack_p50/p99).
row() {
	local rate acks drop avg max dup rcvbuf cpu opct apct
	best[$1]=0
	for rate in $RATES; do
		read -r acks drop avg max dup rcvbuf cpu opct apct < <(step "$1" "$rate")
		# shellcheck disable=SC2059
		printf "$ROWFMT" "$1" "$rate" "$acks" "$drop" "$avg" "$max" "$dup" "$rcvbuf" "$cpu" "$opct" "$apct"
		[ "$acks" -gt "${best[$1]}" ] && best[$1]=$acks
		lat[$1.$rate]=$apct
	done
}

# acks/s: completed DISCOVER-OFFER-REQUEST-ACK exchanges per second of
# sending; drop%: DISCOVERs sent that never got their ACK; avg_ms: mean
# DISCOVER->OFFER plus REQUEST->ACK time; max_ms: slowest REQUEST->ACK;
# repeat: perfdhcp -u "non unique addresses": an address it saw twice. -R
# draws MACs at random, so a client drawn again gets its own address again
# and counts too (about acks^2 / (2 * CLIENTS) such repeats per step are
# expected); a real duplicate shows at low rates, where repeats are rare.
# rcvbuf: datagrams dropped because a socket was full, server/perfdhcp.
# cpu: the servers' CPU time over the step, in % of one core (2 cores
# here, shared with perfdhcp and the kernel). offer_p50/p99, ack_p50/p99:
# DISCOVER->OFFER and REQUEST->ACK times of the exchanges answered, ms.
ROWFMT='%-15s %8s %10s %7s %9s %9s %6s %9s %5s %13s %13s\n'
# shellcheck disable=SC2059
printf "$ROWFMT" server offered "acks/s" "drop%" "avg_ms" "max_ms" repeat rcvbuf cpu "offer_p50/p99" "ack_p50/p99"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A best=() lat=()
ran=()
if [ "$PG_ROWS" != only ]; then
	for name in $SERVERS; do
		start_server "$name"
		row "$name"
		stop_server
		ran+=("$name")
		case $name in
		bootwright) echo "bootwright: $("$WORK/leasecount" "$WORK/$name/leases.db") leases in leases.db" ;;
		kea) echo "kea: $(tail -n +2 "$WORK/$name/leases.csv" 2>/dev/null | cut -d, -f1 | sort -u | wc -l) addresses in leases.csv" ;;
		dnsmasq) echo "dnsmasq: $(wc -l <"$WORK/$name/leases" 2>/dev/null || echo 0) leases in its lease file" ;;
		esac
	done
fi
[ "$PG_ROWS" = off ] || pg_rows
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
peer=0 peer_name=""
for name in "${!best[@]}"; do
	case $name in bootwright* | *-pg) continue ;; esac
	if [ "${best[$name]}" -gt "$peer" ]; then peer=${best[$name]} peer_name=$name; fi
done
for name in "${ran[@]}"; do printf 'best %-15s %8s exchanges/s\n' "$name" "${best[$name]}"; done
if [ -n "${best[bootwright]:-}" ] && [ "$peer" -gt 0 ]; then
	awk -v b="${best[bootwright]}" -v p="$peer" -v n="$peer_name" \
		'BEGIN { printf "bootwright / best peer (%s): %.2f\n", n, b / p }'
fi
[ "$PG_ROWS" = off ] || pg_summary
