#!/usr/bin/env bash
# test/http/run.sh: bootwright's /assets/ against real clients on loopback.
# curl checks Range (single, multi, resume), HEAD, the conditional requests
# (If-None-Match, If-Modified-Since, If-Range), 416, traversal and the
# per-address stream cap; strace checks that sendfile(2) carries the
# bytes; SIGTERM lets a download finish within the grace and cuts one
# that would not; then test/http/storm.sh runs the boot storm. Nothing binds ports
# 67 or 69; everything started is stopped by PID.
set -euo pipefail
work=$(mktemp -d /tmp/bw-httptest.XXXXXX)
. "$(dirname "$0")/lib.sh"
cleanup() { stop_all; [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT INT TERM

failures=0
check() { # check NAME: the command after it must succeed
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
is() { [ "$1" = "$2" ] || { echo "     got '$1', want '$2'" >&2; return 1; }; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

build_bootwright
a=$work/assets
mkdir -p "$a/testos" "$work/state"
head -c 16M /dev/urandom >"$a/testos/vmlinuz"
head -c 64M /dev/urandom >"$a/testos/initrd.img" # larger than loopback's socket buffers
echo secret >"$work/secret"
ln -s "$work/secret" "$a/escape"
start_bootwright "$work/server.log" --assets-dir "$a" --state-dir "$work/state"
f=$a/testos/vmlinuz
u=$bw_url/assets/testos/vmlinuz
size=$(stat -c %s "$f")

# Whole file, HEAD and validators.
check "GET is byte-identical" is "$(curl -sf "$u" | sha256sum | cut -d' ' -f1)" "$(sha "$f")"
curl -sfI -D "$work/head" -o /dev/null "$u"
etag=$(header ETag "$work/head")
lm=$(header Last-Modified "$work/head")
check "HEAD Content-Length" is "$(header Content-Length "$work/head")" "$size"
check "HEAD Content-Type" is "$(header Content-Type "$work/head")" "application/octet-stream"
check "HEAD has a strong ETag" grep -q '^"[0-9a-f-]*"$' <<<"$etag"
check "HEAD has no body" is "$(curl -s -I "$u" -o /dev/null -w '%{size_download}')" 0

# Ranges.
check "single range is 206" is "$(code -r 100-199 "$u")" 206
check "single range bytes" is "$(curl -s -r 100-199 "$u" | sha256sum)" "$(tail -c +101 "$f" | head -c 100 | sha256sum)"
check "suffix range bytes" is "$(curl -s -r -10 "$u" | sha256sum)" "$(tail -c 10 "$f" | sha256sum)"
curl -s -r 0-9,1000-1009 -D "$work/multi.h" -o "$work/multi.b" "$u"
check "multi range is multipart/byteranges" grep -qi '^content-type: multipart/byteranges; boundary=' "$work/multi.h"
check "multi range first part" grep -q "Content-Range: bytes 0-9/$size" "$work/multi.b"
check "multi range second part" grep -q "Content-Range: bytes 1000-1009/$size" "$work/multi.b"
check "out-of-bounds range is 416" is "$(code -r "$((size + 10))-" "$u")" 416
head -c 5000000 "$f" >"$work/partial"
curl -sf -C - -o "$work/partial" "$u"
check "curl -C - resumes to the same bytes" is "$(sha "$work/partial")" "$(sha "$f")"

# Conditional requests.
check "If-None-Match current is 304" is "$(code -H "If-None-Match: $etag" "$u")" 304
check "If-None-Match other is 200" is "$(code -H 'If-None-Match: "other"' "$u")" 200
check "If-Modified-Since Last-Modified is 304" is "$(code -H "If-Modified-Since: $lm" "$u")" 304
check "If-Modified-Since 2001 is 200" is "$(code -z 'Mon, 01 Jan 2001 00:00:00 GMT' "$u")" 200
check "If-Range current is 206" is "$(code -r 0-9 -H "If-Range: $etag" "$u")" 206
check "If-Range stale is 200 whole" is "$(curl -s -r 0-9 -H 'If-Range: "stale"' "$u" | wc -c)" "$size"
touch -d '2020-01-01' "$f"
check "ETag changes with the file" is "$(code -H "If-None-Match: $etag" "$u")" 200

# Bad input: 404 or 400, logged, nothing outside the root.
check "dot dot is 404" is "$(code --path-as-is "$bw_url/assets/../../etc/passwd")" 404
check "encoded dot dot is 404" is "$(code --path-as-is "$bw_url/assets/%2e%2e/%2e%2e/etc/passwd")" 404
check "encoded slash is 404" is "$(code "$bw_url/assets/testos%2f..%2f..%2fescape")" 404
check "NUL is 400" is "$(code "$bw_url/assets/testos/vmlinuz%00.txt")" 400
check "symlink out of the root is 404" is "$(code "$bw_url/assets/escape")" 404
check "no directory listing" is "$(code "$bw_url/assets/testos/")" 404
# Slashes merge as in nginx (shim under HTTP Boot asks for /tftp//grubx64.efi).
check "doubled slashes serve the file" is "$(curl -sf --path-as-is "$bw_url/tftp//undionly.kpxe" | sha256sum)" "$(sha256sum <"$top/tftpboot/nbp/undionly.kpxe")"
check "doubled slashes do not lift dot dot" is "$(code --path-as-is "$bw_url/assets//..//..//etc/passwd")" 404
check "refusals are logged" grep -q 'path refused' "$work/server.log"
check "symlink refusal is logged" grep -q 'file refused.*escape' "$work/server.log"

# Nine slow downloads from one address: the ninth is refused with 429.
big=$bw_url/assets/testos/initrd.img
slow=()
for _ in $(seq 1 8); do
  curl -s --limit-rate 256K -o /dev/null "$big" &
  slow+=("$!")
done
sleep 1
check "ninth concurrent download is 429" is "$(code "$u")" 429
check "another address is not limited" is "$(code --interface 127.0.0.2 -r 0-0 "$u")" 206
for p in "${slow[@]}"; do stop_pid "$p"; done

# sendfile(2) carries the asset: strace the server during one download.
strace -f -qq -e trace=sendfile -p "$bw_pid" -o "$work/strace" &
st=$!
sleep 0.5
curl -sf -o /dev/null "$u"
sleep 0.3
stop_pid "$st"
sent=$(awk -F'= ' '/sendfile\(/ && $NF ~ /^[0-9]+$/ { n += $NF } END { print n + 0 }' "$work/strace")
echo "     sendfile calls: $(grep -c 'sendfile(' "$work/strace" || true), bytes: $sent"
# net/http writes the first 512 bytes with the headers, then hands the
# rest of the *os.File to sendfile.
check "sendfile sent all but the first 512 bytes" is "$sent" "$((size - 512))"

# A small file is kept in memory and checked against the disk (one stat)
# on every request; its response goes out corked, in one segment.
sf=$a/testos/boot.cfg
su=$bw_url/assets/testos/boot.cfg
head -c 4096 /dev/urandom >"$sf"
check "small file is byte-identical" is "$(curl -sf "$su" | sha256sum | cut -d' ' -f1)" "$(sha "$sf")"
check "small file again, from memory" is "$(curl -sf "$su" | sha256sum | cut -d' ' -f1)" "$(sha "$sf")"
check "small file range" is "$(curl -sf -r 100-199 "$su" | sha256sum | cut -d' ' -f1)" \
  "$(tail -c +101 "$sf" | head -c 100 | sha256sum | cut -d' ' -f1)"
curl -sfI -D "$work/shead" -o /dev/null "$su"
setag=$(header ETag "$work/shead")
check "small file If-None-Match is 304" is "$(code -H "If-None-Match: $setag" "$su")" 304
strace -f -qq -e trace=setsockopt -p "$bw_pid" -o "$work/strace-cork" &
st=$!
sleep 0.5
head -c 4096 /dev/urandom >"$sf" # same size, new bytes
check "small file changed on disk is served new" is "$(curl -sf "$su" | sha256sum | cut -d' ' -f1)" "$(sha "$sf")"
sleep 0.3
stop_pid "$st"
check "small file changed on disk has a new ETag" is "$(code -H "If-None-Match: $setag" "$su")" 200
check "small file response corked and uncorked" is "$(grep -o 'TCP_CORK, \[[01]\]' "$work/strace-cork" | tr -d '\n')" \
  "TCP_CORK, [1]TCP_CORK, [0]"

# SIGTERM: a download that fits in the 10 s grace completes, one that
# does not is cut (curl exit 18, partial) and the server exits in time.
curl -s --limit-rate 4M -o "$work/fits" "$u" & fits=$!
curl -s --limit-rate 2M -o "$work/cut" "$big" & cut=$!
sleep 1
kill -TERM "$bw_pid"
t0=$SECONDS
wait "$bw_pid" 2>/dev/null || true
echo "     server exited $((SECONDS - t0)) s after SIGTERM"
check "server exits within the grace" test $((SECONDS - t0)) -le 12
# The cut client still drains what the socket buffers hold before it
# sees the close.
rc_fits=0; wait "$fits" || rc_fits=$?
rc_cut=0; wait "$cut" || rc_cut=$?
check "download within the grace completes" is "$rc_fits $(sha "$work/fits")" "0 $(sha "$f")"
check "download past the grace is cut" is "$rc_cut" 18
check "shutdown logs the cut" grep -q 'cut downloads in flight.*downloads=1' "$work/server.log"

"$(dirname "$0")/storm.sh" || failures=$((failures + 1))

[ "$failures" -eq 0 ] || { echo "httptest: $failures failed"; exit 1; }
echo "httptest: all passed"
