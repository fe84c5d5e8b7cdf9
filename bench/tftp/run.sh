#!/usr/bin/env bash
# bench/tftp/run.sh: bootwright's TFTP server beside tftpd-hpa and dnsmasq,
# in one run, on the loopback of a private network namespace, serving the
# same files from the same directory to the same client (curl's TFTP):
#   - one client fetching a 32 MiB file at blksize 512 and 1468 (MB/s)
#   - a storm of 50 clients (BENCH_STORM) each fetching a 1 MiB file at
#     once, at blksize 512 and 1468 (MB/s over the whole storm)
#   - memory per active transfer: 500 transfers (BENCH_HELD) held open by a client
#     that never ACKs (bench/tftp/stall), before any other traffic; the
#     servers' private memory (smaps_rollup Private_*, whole process tree)
#     while they are held, less before, divided by the transfers. Kernel
#     socket buffers are not in it, for any server.
# Each measurement runs BENCH_ROUNDS times (default 3), servers
# interleaved, and the best round counts. Every fetch's size is checked.
# "ratio" is bootwright's to the best peer (>= 1.00: as fast or faster;
# for memory, lower is better and the ratio is peer/bootwright). The last
# columns are bench/tftp/gobaseline, the smallest lock-step TFTP sender Go
# can be, without pin/tftp: go-baseline on a net.UDPConn like pin/tftp
# (the gap between it and bootwright is pin/tftp's and bootwright's),
# go-blocking on a blocking socket per transfer, as tftpd-hpa does (the
# gap between the two is the netpoller's wake-up on every ACK).
# bootwright logs every transfer to a file at info, as by default.
#
# Usage: bench/tftp/run.sh   (as root; BOOTWRIGHT_BIN to use a built binary)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
NS=bwb-$$
ROUNDS=${BENCH_ROUNDS:-3}
STORM=${BENCH_STORM:-50}
HELD=${BENCH_HELD:-500} # transfers held open for the memory measurement
PIDS=()
declare -A PORT=([bootwright]=6969 [tftpd-hpa]=6970 [dnsmasq]=69 [go-baseline]=6971 [go-blocking]=6972)
declare -A SPID=()
PEERS=(bootwright tftpd-hpa dnsmasq)
SERVERS=("${PEERS[@]}" go-baseline go-blocking)

die() { echo "bench-tftp: $*" >&2; exit 2; }
now() { date +%s.%N; }
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
}
in_ns() { ip netns exec "$NS" "$@"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespace, port 69 for dnsmasq)"
for t in curl in.tftpd dnsmasq ip; do command -v $t >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
rm -rf "$WORK" && mkdir -p "$WORK/root" "$WORK/state"
chmod 755 "$WORK" "$WORK/root"
BIN=${BOOTWRIGHT_BIN:-}
if [ -z "$BIN" ]; then
	(cd "$TOP" && go build -trimpath -o "$WORK/bootwright" ./cmd/bootwright)
	BIN=$WORK/bootwright
fi
(cd "$TOP" && go build -trimpath -o "$WORK/stall" ./bench/tftp/stall && go build -trimpath -o "$WORK/gobaseline" ./bench/tftp/gobaseline)
head -c 32M /dev/urandom >"$WORK/root/big.bin"
head -c 1M /dev/urandom >"$WORK/root/1mib.bin"
chmod 644 "$WORK/root"/*

trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 127.0.0.2/32 dev lo # in.tftpd -a needs more than 127.0.0.1 here

ip netns exec "$NS" env -u BOOTWRIGHT_TFTP_ROOT "$BIN" serve --interface lo --dhcp-mode off \
	--http-addr 127.0.0.1:18080 --tftp-addr "127.0.0.1:${PORT[bootwright]}" --tftp-root "$WORK/root" \
	--state-dir "$WORK/state" </dev/null >"$WORK/bootwright.log" 2>&1 &
SPID[bootwright]=$!
ip netns exec "$NS" in.tftpd -L -u root -s "$WORK/root" -a "127.0.0.1:${PORT[tftpd-hpa]}" </dev/null >"$WORK/tftpd-hpa.log" 2>&1 &
SPID[tftpd-hpa]=$!
ip netns exec "$NS" dnsmasq -k --conf-file=/dev/null --port=0 --user=root --bind-interfaces --listen-address=127.0.0.1 \
	--enable-tftp --tftp-root="$WORK/root" --tftp-max=1000 --log-facility="$WORK/dnsmasq.log" </dev/null >/dev/null 2>&1 &
SPID[dnsmasq]=$!
ip netns exec "$NS" "$WORK/gobaseline" "127.0.0.1:${PORT[go-baseline]}" "$WORK/root" </dev/null >"$WORK/go-baseline.log" 2>&1 &
SPID[go-baseline]=$!
ip netns exec "$NS" "$WORK/gobaseline" -blocking "127.0.0.1:${PORT[go-blocking]}" "$WORK/root" </dev/null >"$WORK/go-blocking.log" 2>&1 &
SPID[go-blocking]=$!
PIDS+=("${SPID[@]}")
for s in "${SERVERS[@]}"; do
	deadline=$((SECONDS + 15))
	until [ -n "$(in_ns ss -Hlnu "sport = :${PORT[$s]}")" ]; do
		kill -0 "${SPID[$s]}" 2>/dev/null || die "$s exited; see $WORK/$s.log"
		[ $SECONDS -lt $deadline ] || die "$s not listening on ${PORT[$s]}"
		sleep 0.1
	done
done

# fetch SERVER FILE BLKSIZE: one curl fetch; prints the bytes received.
fetch() {
	in_ns curl -s --max-time 120 --tftp-blksize "$3" -o /dev/null -w '%{size_download}' \
		"tftp://127.0.0.1:${PORT[$1]}/$2" 2>/dev/null || true
}

# rate BYTES SECONDS: MB/s (10^6 bytes).
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
best() { awk -v a="${1:-0}" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }

declare -A RES=()
single() {
	local blk=$1 s t0 got secs key
	key="32 MiB, 1 client, blksize $blk (MB/s)"
	for _ in $(seq "$ROUNDS"); do
		for s in "${SERVERS[@]}"; do
			t0=$(now)
			got=$(fetch "$s" big.bin "$blk")
			secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
			[ "$got" = $((32 << 20)) ] || die "$s: big.bin at blksize $blk: got $got bytes"
			RES[$key|$s]=$(best "${RES[$key|$s]:-}" "$(rate "$got" "$secs")")
		done
	done
	KEYS+=("$key")
}

storm() {
	local blk=$1 s t0 i secs bad key cp
	key="storm $STORM x 1 MiB, blksize $blk (MB/s)"
	for _ in $(seq "$ROUNDS"); do
		for s in "${SERVERS[@]}"; do
			cp=()
			t0=$(now)
			for i in $(seq "$STORM"); do
				fetch "$s" 1mib.bin "$blk" >"$WORK/storm.$i" &
				cp+=($!)
			done
			for i in "${cp[@]}"; do wait "$i" || true; done
			secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
			bad=0
			for i in $(seq "$STORM"); do [ "$(cat "$WORK/storm.$i")" = $((1 << 20)) ] || bad=$((bad + 1)); done
			[ $bad = 0 ] || die "$s: $bad of $STORM storm fetches at blksize $blk incomplete"
			RES[$key|$s]=$(best "${RES[$key|$s]:-}" "$(rate $((STORM << 20)) "$secs")")
		done
	done
	KEYS+=("$key")
}

# uss PID: private memory in KiB of PID and its descendants.
uss() {
	local p=$1 c sum=0
	sum=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do sum=$((sum + $(uss "$c"))); done
	echo "$sum"
}

memory() {
	local s before during n key="memory per active transfer (KiB, lower is better)"
	for s in "${PEERS[@]}"; do
		rm -f "$WORK/stall.out"
		before=$(uss "${SPID[$s]}")
		in_ns "$WORK/stall" -addr "127.0.0.1:${PORT[$s]}" -file 1mib.bin -n "$HELD" -hold 2s >"$WORK/stall.out" &
		local sp=$!
		until [ -s "$WORK/stall.out" ]; do sleep 0.05; done
		during=$(uss "${SPID[$s]}")
		n=$(cat "$WORK/stall.out")
		wait "$sp" || true
		[ "$n" -gt 0 ] || die "$s: no stalled transfer started"
		RES[$key|$s]=$(awk -v a="$before" -v b="$during" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
		sleep 8 # let the held transfers time out before the next server
	done
	KEYS+=("$key")
}

KEYS=()
echo "bench-tftp: $ROUNDS rounds, best of each; loopback in namespace $NS; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
memory # first, on servers that have not served yet
single 512
single 1468
storm 512
storm 1468

printf '\n%-50s %10s %10s %10s %7s %12s %12s\n' "" bootwright tftpd-hpa dnsmasq ratio go-baseline go-blocking
for k in "${KEYS[@]}"; do
	bw=${RES[$k|bootwright]} h=${RES[$k|tftpd-hpa]} d=${RES[$k|dnsmasq]} g=${RES[$k|go-baseline]:--} gb=${RES[$k|go-blocking]:--}
	case $k in
	# A peer whose growth is below a page per transfer cannot be told
	# from zero here; the ratio is then against tftpd-hpa and marked *.
	memory*) ratio=$(awk -v b="$bw" -v h="$h" -v d="$d" 'BEGIN { if (d < 0.5) { printf "%.2f*", h / b } else { m = (h < d ? h : d); printf "%.2f", m / b } }') ;;
	*) ratio=$(awk -v b="$bw" -v h="$h" -v d="$d" 'BEGIN { m = (h > d ? h : d); printf "%.2f", b / m }') ;;
	esac
	printf '%-50s %10s %10s %10s %7s %12s %12s\n' "$k" "$bw" "$h" "$d" "$ratio" "$g" "$gb"
done
case "${RES[memory per active transfer (KiB, lower is better)|dnsmasq]}" in
-* | 0.[0-4]*) echo "(* dnsmasq's private memory grew by less than the measurement shows; ratio against tftpd-hpa)" ;;
esac
echo "bootwright transfers logged: $(grep -c 'msg="tftp transfer"' "$WORK/bootwright.log") (failed: $(grep -c 'outcome=failed' "$WORK/bootwright.log" || true))"
