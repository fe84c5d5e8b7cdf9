#!/usr/bin/env bash
# test/http/storm.sh: a boot storm. CLIENTS machines (default 100), each
# from its own loopback address (127.0.1.N, so the per-address stream cap
# stays in force), fetch a kernel and then an initrd (16 + 48 MiB = 64 MiB
# per machine) at once. Every download must be byte-identical (sha256)
# and error-free; bootwright's peak RSS (VmHWM) is reported. Each client
# has a 150 s limit; the run takes well under 2 minutes here.
set -euo pipefail
work=$(mktemp -d /tmp/bw-storm.XXXXXX)
. "$(dirname "$0")/lib.sh"
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT INT TERM

clients=${CLIENTS:-100}
build_bootwright
mkdir -p "$work/assets/storm" "$work/state" "$work/out"
head -c 16M /dev/urandom >"$work/assets/storm/vmlinuz"
head -c 48M /dev/urandom >"$work/assets/storm/initrd.img"
want_k=$(sha "$work/assets/storm/vmlinuz")
want_i=$(sha "$work/assets/storm/initrd.img")
start_bootwright "$work/server.log" --assets-dir "$work/assets" --state-dir "$work/state"
rss_before=$(peak_rss "$bw_pid")

# machine N fetches like iPXE does: the kernel, then the initrd.
machine() {
  local n=$1 src=127.0.1.$(($1 + 1)) f
  for f in vmlinuz initrd.img; do
    curl -sSf --max-time 150 --interface "$src" "$bw_url/assets/storm/$f" | sha256sum | cut -d' ' -f1
  done >"$work/out/$n" 2>"$work/out/$n.err"
}

start=$(date +%s.%N)
storm=()
for n in $(seq 1 "$clients"); do
  machine "$n" &
  storm+=("$!")
done
for p in "${storm[@]}"; do wait "$p" || true; done
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

bad=0
for n in $(seq 1 "$clients"); do
  if [ "$(cat "$work/out/$n")" != "$want_k"$'\n'"$want_i" ] || [ -s "$work/out/$n.err" ]; then
    bad=$((bad + 1))
    [ "$bad" -le 3 ] && echo "storm: machine $n: $(cat "$work/out/$n.err")" >&2
  fi
done
errors=$(grep -c 'level=ERROR' "$work/server.log" || true)
rate=$(awk -v n="$clients" -v s="$secs" 'BEGIN { printf "%.0f", n * 64 / s }')
echo "storm: $clients machines x 64 MiB ($((clients * 64)) MiB) in ${secs}s, $rate MiB/s;" \
  "bad downloads: $bad; server errors: $errors;" \
  "bootwright peak RSS $(peak_rss "$bw_pid") MiB (idle $rss_before MiB)"
[ "$bad" -eq 0 ] && [ "$errors" -eq 0 ]
