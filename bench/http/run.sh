#!/usr/bin/env bash
# bench/http/run.sh: bootwright's HTTP side beside nginx, in one run, on
# loopback, serving the same files from the same directory, measured by
# the same client (wrk, fixed connections and duration):
#   - one stream of a 256 MiB file (MB/s)
#   - a 4 KiB file, 50 connections (requests/s)
#   - a per-MAC iPXE menu, 50 connections: rendered by bootwright, a
#     static copy of the same bytes for nginx (requests/s)
#   - 50 clients downloading a 64 MiB file in parallel (MB/s)
# and the same menu and small-file runs against a second bootwright that
# logs at warn (no line per request), to price the request log. The
# "net/http" column is bench/http/gobaseline: plain net/http with
# ServeContent and nothing else, the ceiling for any Go server built on
# net/http here. The "fasthttp" column is bench/http/fastbaseline, a Go
# file server on valyala/fasthttp instead (its own module; "-" if it
# cannot be built): what leaving net/http would be worth.
# Both servers log every request to a file, as they do by default.
# Each server is measured BENCH_ROUNDS times (default 3) for BENCH_SECONDS
# (default 3), interleaved, and its best round counts. Ratios from one
# run are what count: absolute numbers on a shared machine move with
# whatever else runs.
set -euo pipefail
work=$(mktemp -d /tmp/bw-bench.XXXXXX)
. "$(dirname "$0")/../../test/http/lib.sh"
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT INT TERM

secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}
mac=52-54-00-12-34-56
build_bootwright
chmod 755 "$work" # nginx workers run as nobody
www=$work/www
mkdir -p "$www/assets/bench" "$www/ipxe" "$work/state" "$work/nginx/logs"
head -c 256M /dev/urandom >"$www/assets/bench/big.bin"
head -c 64M /dev/urandom >"$www/assets/bench/initrd.img"
head -c 4K /dev/urandom >"$www/assets/bench/small.bin"
chmod -R a+rX "$www"

start_bootwright "$work/bootwright.log" --assets-dir "$www/assets" --state-dir "$work/state" --http-max-streams-per-ip 0
bw_main=$bw_url
start_bootwright "$work/bootwright-quiet.log" --assets-dir "$www/assets" --state-dir "$work/state-quiet" \
  --http-max-streams-per-ip 0 --log-level warn
bw_quiet=$bw_url
curl -sf -o "$www/ipxe/$mac" "$bw_main/ipxe/$mac"
(cd "$top" && go build -trimpath -o "$work/gobaseline" ./bench/http/gobaseline)
gport=$(free_port)
"$work/gobaseline" "127.0.0.1:$gport" "$www" &
pids+=("$!")
gob=http://127.0.0.1:$gport
wait_http "$gob/assets/bench/small.bin"
fast=
if (cd "$top/bench/http/fastbaseline" && go build -trimpath -o "$work/fastbaseline" .) >"$work/fastbaseline.build" 2>&1; then
  fport=$(free_port)
  "$work/fastbaseline" "127.0.0.1:$fport" "$www" &
  pids+=("$!")
  fast=http://127.0.0.1:$fport
  wait_http "$fast/assets/bench/small.bin"
else
  echo "bench-http: fastbaseline not built, its column is empty: $(tail -n1 "$work/fastbaseline.build")" >&2
fi

nport=$(free_port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log $work/nginx/logs/access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nport;
    root $www;
    location /ipxe/ { default_type "text/plain; charset=utf-8"; }
  }
}
EOF
nginx -e "$work/nginx/logs/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=("$!")
ngx=http://127.0.0.1:$nport
wait_http "$ngx/assets/bench/small.bin"
for u in "$ngx" "$bw_main"; do # same bytes, warm page cache
  for f in big.bin initrd.img small.bin; do curl -sf -o /dev/null "$u/assets/bench/$f"; done
done

# wrk_rate CONNS THREADS URL prints "req/s MB/s" (MB = 10^6 bytes).
wrk_rate() {
  wrk -c "$1" -t "$2" -d "${secs}s" --timeout 30s "$3" | awk '
    /^Requests\/sec:/ { r = $2 }
    /^Transfer\/sec:/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
      m = (u == "GB") ? 1073741824 : (u == "MB") ? 1048576 : (u == "KB") ? 1024 : 1
      t = v * m / 1e6 }
    END { printf "%.0f %.0f\n", r, t }'
}

row() { # row NAME UNIT NGINX NET/HTTP FASTHTTP BOOTWRIGHT
  awk -v n="$1" -v u="$2" -v a="$3" -v g="$4" -v f="$5" -v b="$6" 'BEGIN {
    printf "%-44s %-5s %8s %8s %8s %10s %6.2f\n", n, u, a, g, f, b, (a > 0 ? b / a : 0) }'
}

# best FIELD CONNS THREADS URL...: runs wrk on every URL ROUNDS times,
# interleaved, and prints each URL's best result (FIELD req or mb), so
# that a burst of load from elsewhere on the machine hits every server.
best() {
  local field=$1 conns=$2 threads=$3 r t v i u
  shift 3
  local -a top=()
  for _ in $(seq 1 "$rounds"); do
    i=0
    for u in "$@"; do
      r=- t=-
      [ "$u" = - ] || read -r r t <<<"$(wrk_rate "$conns" "$threads" "$u")"
      v=$r
      [ "$field" = mb ] && v=$t
      if [ "$v" = - ]; then top[i]=-; elif [ "${top[$i]:-0}" -lt "$v" ]; then top[i]=$v; fi
      i=$((i + 1))
    done
  done
  echo "${top[@]}"
}

printf "%-44s %-5s %8s %8s %8s %10s %6s\n" test unit nginx net/http fasthttp bootwright ratio
f() { if [ -n "$fast" ]; then echo "$fast$1"; else echo -; fi; }
big=/assets/bench/big.bin
read -r n g x b <<<"$(best mb 1 1 "$ngx$big" "$gob$big" "$(f $big)" "$bw_main$big")"
row "one stream, 256 MiB file" MB/s "$n" "$g" "$x" "$b"
small=/assets/bench/small.bin
read -r n g x b q <<<"$(best req 50 2 "$ngx$small" "$gob$small" "$(f $small)" "$bw_main$small" "$bw_quiet$small")"
row "4 KiB file, 50 connections" req/s "$n" "$g" "$x" "$b"
row "4 KiB file, bootwright --log-level warn" req/s "$n" "$g" "$x" "$q"
menu=/ipxe/$mac
read -r n g x b q <<<"$(best req 50 2 "$ngx$menu" "$gob$menu" "$(f "$menu")" "$bw_main$menu" "$bw_quiet$menu")"
row "menu (rendered; others: static copy)" req/s "$n" "$g" "$x" "$b"
row "menu, bootwright --log-level warn" req/s "$n" "$g" "$x" "$q"
par=/assets/bench/initrd.img
read -r n g x b <<<"$(best mb 50 2 "$ngx$par" "$gob$par" "$(f $par)" "$bw_main$par")"
row "50 clients, 64 MiB file in parallel" MB/s "$n" "$g" "$x" "$b"
echo "targets: static files >= 0.90 of nginx; rendered menus >= 20000 req/s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "ratio: bootwright / nginx; bootwright peak RSS: $(peak_rss "${pids[0]}") MiB"
