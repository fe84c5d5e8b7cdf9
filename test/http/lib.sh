# lib.sh: helpers shared by test/http/run.sh and bench/http/run.sh. Source
# it after setting $work (a temporary directory the caller removes). Every
# process started here is recorded in $pids and stopped by PID in stop_all.

pids=()
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# free_port prints a TCP port no socket uses, below the kernel's
# ephemeral range so that no client connection takes it meanwhile.
free_port() {
  local p lo
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  for _ in $(seq 1 100); do
    p=$((10000 + RANDOM % (lo - 10000)))
    if [ -z "$(ss -Htan "sport = :$p")" ]; then echo "$p"; return 0; fi
  done
  echo "no free port" >&2; return 1
}

# build_bootwright sets $bw: $BOOTWRIGHT_BIN, or a fresh build in $work.
build_bootwright() {
  if [ -n "${BOOTWRIGHT_BIN:-}" ]; then bw=$BOOTWRIGHT_BIN; return; fi
  bw=$work/bootwright
  (cd "$top" && go build -trimpath -o "$bw" ./cmd/bootwright)
}

# wait_http URL waits up to 10 s for URL to answer.
wait_http() {
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2; return 1
}

# start_bootwright LOG ARGS... runs `bootwright serve` on 127.0.0.1 (no
# DHCP, no TFTP: nothing binds 67 or 69) and sets $bw_pid and $bw_url.
start_bootwright() {
  local log=$1; shift
  local port; port=$(free_port)
  "$bw" serve --dhcp-mode off --tftp-addr off --address 127.0.0.1 \
    --http-addr "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  bw_pid=$!
  pids+=("$bw_pid")
  bw_url=http://127.0.0.1:$port
  wait_http "$bw_url/healthz" || { tail -n 20 "$log" >&2; return 1; }
}

# stop_pid PID stops one process we started and waits for it.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

stop_all() {
  local p
  for p in "${pids[@]}"; do stop_pid "$p"; done
  pids=()
}

# sha FILE prints FILE's sha256.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# header NAME FILE prints header NAME's value from a curl -D dump.
header() { grep -i "^$1:" "$2" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }

# peak_rss PID prints the process's peak resident set (VmHWM) in MiB.
peak_rss() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
