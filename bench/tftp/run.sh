#!/usr/bin/env bash
# bench/tftp/run.sh: bootwright's TFTP server beside tftpd-hpa, dnsmasq and
# atftpd, in one run, on the loopback of a private network namespace,
# serving the same files from the same directory to the same client:
#   - one client (curl) fetching a 32 MiB file lock-step at blksize 512
#     and 1468 (MB/s); the ratio is bootwright's to tftpd-hpa's
#   - one client (atftp, the only Debian client that speaks RFC 7440)
#     fetching the 32 MiB file with windowsize 16 at blksize 512 and 1468;
#     only bootwright and atftpd grant windowsize, and the ratio is to
#     atftpd's
#   - storms of 50 and 500 clients (BENCH_STORMS) each fetching a 1 MiB
#     file at once with curl, at blksize 512 and 1468 (MB/s over the whole
#     storm); the ratio is to the best peer; an incomplete fetch from
#     bootwright fails the run, a peer's are printed and its rate counts
#     only its complete fetches
#   - memory per active transfer: 500 transfers (BENCH_HELD) held open by a
#     client that never ACKs (bench/tftp/stall), before any other traffic;
#     the servers' private memory (smaps_rollup Private_*, whole process
#     tree) while they are held, less before, divided by the transfers.
#     Kernel socket buffers are not in it, for any server.
# Each measurement runs BENCH_ROUNDS times (default 5), servers
# interleaved, and the best round counts. Every fetch's size is checked.
# Each storm also reports the servers' CPU time (user and system, whole
# process, from /proc/PID/stat; the least of the rounds), which the
# machine's other load disturbs less than the rate; not for tftpd-hpa,
# whose per-transfer child processes are not counted in its own.
# For memory and CPU, lower is better and the ratio is the best peer's to
# bootwright's. The last two columns are bootwright's own engine with one
# kind of transfer socket only (the compiled tftpboot test binary,
# TestBenchServe -bench.sockets): "netpoller", a net.UDPConn per transfer,
# which parks in Go's netpoller, and "blocking", a blocking socket read on
# the transfer's locked OS thread. bootwright itself gives the first
# GOMAXPROCS transfers at once a blocking socket and the rest a
# net.UDPConn; the columns show what each alone would do.
# bootwright logs every transfer to a file at info, as by default.
#
# atftpd conflicts with tftpd-hpa as a Debian package, so it is not
# installed: `apt-get download atftpd` and `dpkg -x` put its binary in
# BOOTWRIGHT_TEST_CACHE (default ~/.cache/bootwright-test), once.
#
# Usage: bench/tftp/run.sh   (as root; BOOTWRIGHT_BIN to use a built binary)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
NS=bwb-$$
ROUNDS=${BENCH_ROUNDS:-5}
read -r -a STORMS <<<"${BENCH_STORMS:-50 500}"
HELD=${BENCH_HELD:-500} # transfers held open for the memory measurement
CACHE=${BOOTWRIGHT_TEST_CACHE:-$HOME/.cache/bootwright-test}
PIDS=()
declare -A PORT=([bootwright]=6969 [tftpd-hpa]=6970 [dnsmasq]=69 [atftpd]=6971 [netpoller]=6972 [blocking]=6973)
declare -A SPID=()
PEERS=(bootwright tftpd-hpa dnsmasq atftpd)
ENGINES=(netpoller blocking) # TestBenchServe -bench.sockets
SERVERS=("${PEERS[@]}" "${ENGINES[@]}")
WINDOWED=(bootwright atftpd "${ENGINES[@]}")

die() { echo "bench-tftp: $*" >&2; exit 2; }
now() { date +%s.%N; }
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
}
in_ns() { ip netns exec "$NS" "$@"; }

# atftpd_bin: the path of atftpd, unpacked from its Debian package once.
atftpd_bin() {
	local d=$CACHE/atftpd
	if [ ! -x "$d/root/usr/sbin/atftpd" ]; then
		mkdir -p "$d"
		(cd "$d" && { apt-get download atftpd >/dev/null 2>&1 || { apt-get update -qq && apt-get download atftpd >/dev/null; }; } &&
			dpkg -x atftpd_*.deb root) || die "cannot unpack atftpd into $d"
	fi
	echo "$d/root/usr/sbin/atftpd"
}

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespace, port 69 for dnsmasq)"
for t in curl atftp in.tftpd dnsmasq ip; do command -v $t >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
ATFTPD=$(atftpd_bin)
rm -rf "$WORK" && mkdir -p "$WORK/root" "$WORK/state" "$WORK/out"
chmod 755 "$WORK" "$WORK/root"
BIN=${BOOTWRIGHT_BIN:-}
if [ -z "$BIN" ]; then
	(cd "$TOP" && go build -trimpath -o "$WORK/bootwright" ./cmd/bootwright)
	BIN=$WORK/bootwright
fi
(cd "$TOP" && go build -trimpath -o "$WORK/stall" ./bench/tftp/stall && go test -c -trimpath -o "$WORK/tftpboot.test" ./tftpboot)
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
ip netns exec "$NS" "$ATFTPD" --daemon --no-fork --user root.root --port "${PORT[atftpd]}" --bind-address 127.0.0.1 \
	--maxthread 1000 --logfile "$WORK/atftpd.log" "$WORK/root" </dev/null >"$WORK/atftpd.out" 2>&1 &
SPID[atftpd]=$!
for e in "${ENGINES[@]}"; do
	ip netns exec "$NS" "$WORK/tftpboot.test" -test.run '^TestBenchServe$' -test.timeout 0 \
		-bench.serve "127.0.0.1:${PORT[$e]}" -bench.root "$WORK/root" -bench.sockets "$e" </dev/null >"$WORK/$e.log" 2>&1 &
	SPID[$e]=$!
done
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

# wfetch SERVER FILE BLKSIZE WINDOW: one atftp fetch with windowsize into
# a file on tmpfs; prints the bytes received.
wfetch() {
	local out=/dev/shm/bwb-$$-w
	rm -f "$out"
	in_ns timeout 120 atftp --option "blksize $3" --option "windowsize $4" -g -r "$2" -l "$out" \
		127.0.0.1 "${PORT[$1]}" >/dev/null 2>&1 || true
	stat -c %s "$out" 2>/dev/null || echo 0
	rm -f "$out"
}

# rate BYTES SECONDS: MB/s (10^6 bytes).
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
best() { awk -v a="${1:-0}" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }

declare -A RES=()
declare -A VS=() # the row's ratio is against: a peer's name, or "best"
FAILED=()        # incomplete storm fetches, by server
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
	VS[$key]=tftpd-hpa
}

windowed() {
	local blk=$1 w=$2 s t0 got secs key
	key="32 MiB, atftp windowsize $w, blksize $blk (MB/s)"
	for _ in $(seq "$ROUNDS"); do
		for s in "${WINDOWED[@]}"; do
			t0=$(now)
			got=$(wfetch "$s" big.bin "$blk" "$w")
			secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
			[ "$got" = $((32 << 20)) ] || die "$s: big.bin with windowsize $w at blksize $blk: got $got bytes"
			RES[$key|$s]=$(best "${RES[$key|$s]:-}" "$(rate "$got" "$secs")")
		done
	done
	KEYS+=("$key")
	VS[$key]=atftpd
}

# cpu PID: the CPU time PID has used (user and system, all its threads),
# in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a ? b : a) }'; }

storm() {
	local n=$1 blk=$2 s t0 c0 i secs bad key cp ckey
	key="storm $n x 1 MiB, blksize $blk (MB/s)"
	ckey="storm $n x 1 MiB, blksize $blk (CPU ms, lower is better)"
	for _ in $(seq "$ROUNDS"); do
		for s in "${SERVERS[@]}"; do
			cp=()
			c0=$(cpu "${SPID[$s]}")
			t0=$(now)
			for i in $(seq "$n"); do
				fetch "$s" 1mib.bin "$blk" >"$WORK/out/storm.$i" &
				cp+=($!)
			done
			for i in "${cp[@]}"; do wait "$i" || true; done
			secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
			# tftpd-hpa serves each transfer from a child process whose
			# CPU time never reaches its parent's counters: not measured.
			[ "$s" = tftpd-hpa ] ||
				RES[$ckey|$s]=$(least "${RES[$ckey|$s]:-}" $((($(cpu "${SPID[$s]}") - c0) * 1000 / TICK)))
			bad=0
			for i in $(seq "$n"); do [ "$(cat "$WORK/out/storm.$i")" = $((1 << 20)) ] || bad=$((bad + 1)); done
			# A peer's incomplete fetches are counted and printed, and
			# only its complete ones count towards its rate; bootwright's
			# fail the run (at the end, after the table).
			[ $bad = 0 ] || FAILED+=("$s: $bad of $n storm fetches at blksize $blk incomplete")
			RES[$key|$s]=$(best "${RES[$key|$s]:-}" "$(rate $(((n - bad) << 20)) "$secs")")
		done
	done
	KEYS+=("$key" "$ckey")
	VS[$key]=best
	VS[$ckey]=lower
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
	for s in "${SERVERS[@]}"; do
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
	VS[$key]=lower
}

TICK=$(getconf CLK_TCK)
KEYS=()
echo "bench-tftp: $ROUNDS rounds, best of each; loopback in namespace $NS; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
memory # first, on servers that have not served yet
single 512
single 1468
windowed 512 16
windowed 1468 16
for n in "${STORMS[@]}"; do
	storm "$n" 512
	storm "$n" 1468
done

printf '\n%-58s %10s %10s %10s %10s %14s %10s %10s\n' "" bootwright tftpd-hpa dnsmasq atftpd ratio netpoller blocking
for k in "${KEYS[@]}"; do
	bw=${RES[$k|bootwright]} h=${RES[$k|tftpd-hpa]:--} d=${RES[$k|dnsmasq]:--} a=${RES[$k|atftpd]:--}
	np=${RES[$k|netpoller]:--} bl=${RES[$k|blocking]:--}
	case ${VS[$k]} in
	# A peer whose growth is below a page per transfer cannot be told
	# from zero here; it is then left out of the ratio and marked *.
	lower) ratio=$(awk -v b="$bw" -v h="$h" -v d="$d" -v a="$a" 'BEGIN { m = 1e9; s = "";
		if (h >= 0.5 && h < m) m = h; if (a >= 0.5 && a < m) m = a; if (d >= 0.5 && d < m) m = d; else if (d < 0.5) s = "*";
		printf "%.2f%s", m / b, s }') ;;
	best) ratio=$(awk -v b="$bw" -v h="$h" -v d="$d" -v a="$a" 'BEGIN { m = h; if (d > m) m = d; if (a > m) m = a; printf "%.2f vs best", b / m }') ;;
	tftpd-hpa) ratio=$(awk -v b="$bw" -v p="$h" 'BEGIN { printf "%.2f vs hpa", b / p }') ;;
	atftpd) ratio=$(awk -v b="$bw" -v p="$a" 'BEGIN { printf "%.2f vs atftpd", b / p }') ;;
	esac
	printf '%-58s %10s %10s %10s %10s %14s %10s %10s\n' "$k" "$bw" "$h" "$d" "$a" "$ratio" "$np" "$bl"
done
case "${RES[memory per active transfer (KiB, lower is better)|dnsmasq]}" in
-* | 0.[0-4]*) echo "(* dnsmasq's private memory grew by less than the measurement shows; the ratio is against the others)" ;;
esac
echo "bootwright transfers logged: $(grep -c 'msg="tftp transfer"' "$WORK/bootwright.log") (failed: $(grep -c 'outcome=failed' "$WORK/bootwright.log" || true))"
for f in "${FAILED[@]}"; do echo "incomplete: $f"; done
for f in "${FAILED[@]}"; do case $f in bootwright:* | netpoller:* | blocking:*) die "$f" ;; esac; done
