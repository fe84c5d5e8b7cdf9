#!/usr/bin/env bash
# test/https/run.sh: the real binary's HTTPS listener against curl, inside
# a network namespace of its own. A lab CA and server certificates are
# made with openssl at run time. It checks: /boot.ipxe, a menu, an answer
# file and an asset over HTTPS, byte for byte as over HTTP; the boot script
# keeps http:// for iPXE (which cannot verify a lab CA) while the answer
# file URL is https://; TLS 1.1 and plain HTTP on the HTTPS port refused,
# HTTP/2 not offered; a new pair written over the files served without a
# restart, a mismatched one not; and start-up refusing a mismatched pair,
# an expired certificate and an unreadable key with exit 2 and one line.
#
#   BOOTWRIGHT_BIN=/abs/bootwright test/https/run.sh      (as root; about 10 s)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$TOP/test/lib/netns.sh"
. "$HERE/certs.sh"
work=$(mktemp -d /tmp/bw-httpstest.XXXXXX)
NS=bwhttps-$$
cleanup() { ns_cleanup; [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "https-test: must run as root (network namespace)" >&2; exit 2; }
for t in curl openssl ip; do command -v $t >/dev/null || { echo "https-test: $t not found: run scripts/install-deps.sh" >&2; exit 2; }; done
if [ -z "${BOOTWRIGHT_BIN:-}" ]; then
	BOOTWRIGHT_BIN=$work/bootwright
	(cd "$TOP" && go build -trimpath -o "$BOOTWRIGHT_BIN" ./cmd/bootwright)
fi

failures=0
check() { # check NAME CMD...: CMD must succeed
	local name=$1; shift
	if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
is() { [ "$1" = "$2" ] || { echo "     got '$1', want '$2'" >&2; return 1; }; }
has() { grep -qF -- "$2" <<<"$1" || { echo "     '$2' not in: $1" >&2; return 1; }; }
in_ns() { ip netns exec "$NS" "$@"; }
HTTP=http://127.0.0.1:8080 HTTPS=https://127.0.0.1:8443 MAC=52:54:00:12:34:56

ns_new "$NS"
ca_new "$work"
leaf_new "$work" first 1001 "IP:127.0.0.1,DNS:localhost"
leaf_new "$work" second 1002 "IP:127.0.0.1,DNS:localhost" ec
leaf_new "$work" third 1003 "IP:127.0.0.1,DNS:localhost"
leaf_new "$work" expired 1004 "IP:127.0.0.1" rsa -1
tls=$work/tls
mkdir -p "$tls" "$work/cfg/menus" "$work/cfg/templates/files" "$work/assets/testos" "$work/state"
# install PAIR: the pair written over the served files, each renamed into
# place as a certificate manager does.
install_pair() {
	cp "$work/$1.key" "$tls/.key" && mv -f "$tls/.key" "$tls/key.pem"
	cp "$work/$1.crt" "$tls/.crt" && mv -f "$tls/.crt" "$tls/cert.pem"
}
install_pair first
cat >"$work/cfg/menus/default.yaml" <<'EOF'
title: HTTPS test
default: installer
files: [hello.txt]
entries:
  - name: installer
    title: An installer and its answer file
    kernel: testos/vmlinuz
    initrds: [testos/initrd.gz]
    args: bootwright.file={{ .FileURL "hello.txt" }}
EOF
printf 'machines:\n  - {mac: "%s", name: lab-01, file_access: open}\n' "$MAC" >"$work/cfg/menus/machines.yaml"
echo 'hello {{ .Machine.Name }}' >"$work/cfg/templates/files/hello.txt.tmpl"
head -c 3M /dev/urandom >"$work/assets/testos/vmlinuz"
head -c 1M /dev/urandom >"$work/assets/testos/initrd.gz"

# The server takes its HTTPS settings from BOOTWRIGHT_* variables, as a
# systemd unit's Environment= would give them. ip netns exec execs it, so
# $! is the server's PID (a shell function in the background would not be).
ip netns exec "$NS" env BOOTWRIGHT_HTTPS_ADDR=127.0.0.1:8443 BOOTWRIGHT_TLS_CERT="$tls/cert.pem" BOOTWRIGHT_TLS_KEY="$tls/key.pem" \
	"$BOOTWRIGHT_BIN" serve --dhcp-mode off --tftp-addr off --address 127.0.0.1 --http-addr 127.0.0.1:8080 \
	--public-url "$HTTPS" --config-dir "$work/cfg" --assets-dir "$work/assets" --state-dir "$work/state" \
	--log-level debug </dev/null >"$work/server.log" 2>&1 &
bw=$!
for _ in $(seq 100); do in_ns curl -sf -o /dev/null "$HTTP/healthz" && break; sleep 0.1; done
c() { in_ns curl -sS --cacert "$work/ca.crt" "$@"; }

# Same routes, same bytes.
script=$(c "$HTTPS/boot.ipxe")
check "boot.ipxe over HTTPS is as over HTTP" is "$script" "$(in_ns curl -sS "$HTTP/boot.ipxe")"
check "boot.ipxe sends iPXE to http://" has "$script" "chain --autofree $HTTP/ipxe/"
menu=$(c "$HTTPS/ipxe/52-54-00-12-34-56?arch=x86_64&platform=efi")
check "menu over HTTPS is as over HTTP" is "$menu" "$(in_ns curl -sS "$HTTP/ipxe/52-54-00-12-34-56?arch=x86_64&platform=efi")"
check "menu: kernel over http://" has "$menu" "kernel $HTTP/assets/testos/vmlinuz"
check "menu: initrd over http://" has "$menu" "initrd --name initrd.gz $HTTP/assets/testos/initrd.gz"
check "menu: answer file over https://" has "$menu" "bootwright.file=$HTTPS/files/52-54-00-12-34-56/hello.txt"
file_url=$(grep -o "bootwright.file=[^ ]*" <<<"$menu" | head -n1 | cut -d= -f2-)
check "answer file by its URL over HTTPS" is "$(c "$file_url")" "hello lab-01"
check "asset over HTTPS byte for byte" is "$(c "$HTTPS/assets/testos/vmlinuz" | sha256sum)" "$(sha256sum <"$work/assets/testos/vmlinuz")"
check "Range over HTTPS" is "$(c -r 100-199 "$HTTPS/assets/testos/initrd.gz" | sha256sum)" "$(tail -c +101 "$work/assets/testos/initrd.gz" | head -c 100 | sha256sum)"
check "NBP over HTTPS" is "$(c "$HTTPS/tftp/snponly.efi" | sha256sum)" "$(sha256sum <"$TOP/tftpboot/nbp/snponly.efi")"
check "requests over HTTPS logged tls=true" grep -q 'path=/assets/testos/vmlinuz status=200 .*tls=true' "$work/server.log"

# What it refuses.
check "curl without the CA refuses it" is "$(in_ns curl -s -o /dev/null -w '%{http_code}' "$HTTPS/boot.ipxe" || true)" 000
check "TLS 1.1 refused" bash -c "! ip netns exec $NS openssl s_client -connect 127.0.0.1:8443 -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null >$work/tls11.log 2>&1 && grep -q 'protocol version' $work/tls11.log"
check "TLS 1.2 spoken" bash -c "ip netns exec $NS openssl s_client -connect 127.0.0.1:8443 -tls1_2 -CAfile $work/ca.crt -verify_return_error </dev/null 2>&1 | grep -q 'Protocol  *: TLSv1.2'"
check "HTTP/2 not offered" is "$(c --http2 -o /dev/null -w '%{http_version}' "$HTTPS/healthz")" 1.1
check "plain HTTP on the HTTPS port is 400" is "$(in_ns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8443/boot.ipxe)" 400

# Rotation without a restart.
check "serves the first certificate" is "$(in_ns bash -c "$(declare -f serial_of); serial_of $HTTPS/healthz $work/ca.crt")" 1001
install_pair second
check "a new pair (ECDSA) is served at once" is "$(in_ns bash -c "$(declare -f serial_of); serial_of $HTTPS/healthz $work/ca.crt")" 1002
cp "$work/third.crt" "$tls/cert.pem" # the certificate before its key: a mismatch, for now
check "a mismatched pair is not served" is "$(in_ns bash -c "$(declare -f serial_of); serial_of $HTTPS/healthz $work/ca.crt")" 1002
check "the mismatch is logged once" is "$(grep -c 'new certificate not loaded; the previous one keeps serving.*does not match' "$work/server.log")" 1
cp "$work/third.key" "$tls/key.pem"
check "then its key: served" is "$(in_ns bash -c "$(declare -f serial_of); serial_of $HTTPS/healthz $work/ca.crt")" 1003
install_pair expired
check "an expired pair is not served" is "$(in_ns bash -c "$(declare -f serial_of); serial_of $HTTPS/healthz $work/ca.crt")" 1003
check "the same process throughout" kill -0 "$bw"
check "reloads logged" is "$(grep -c 'tls: certificate reloaded' "$work/server.log")" 2
kill -TERM "$bw"
wait "$bw" && rc=0 || rc=$?
check "SIGTERM stops it cleanly" is "$rc" 0

# Start-up refusals: exit 2 and one line, before any socket opens.
refuse() { # refuse NAME WANT CERT KEY
	local out rc
	out=$(in_ns "$BOOTWRIGHT_BIN" serve --dhcp-mode off --tftp-addr off --address 127.0.0.1 --http-addr 127.0.0.1:8080 \
		--https-addr 127.0.0.1:8443 --tls-cert "$3" --tls-key "$4" --state-dir "$work/state" 2>&1) && rc=0 || rc=$?
	check "$1: exit 2" is "$rc" 2
	check "$1: one line" is "$(wc -l <<<"$out")" 1
	check "$1: says why" has "$out" "$2"
}
refuse "mismatched pair" "bootwright serve: --tls-cert/--tls-key: $work/first.crt and $work/third.key: tls: private key does not match public key" \
	"$work/first.crt" "$work/third.key"
refuse "expired certificate" "$work/expired.crt: certificate expired at " "$work/expired.crt" "$work/expired.key"
refuse "unreadable key" "$work/none.key: no such file or directory" "$work/first.crt" "$work/none.key"

echo
if [ $failures -gt 0 ]; then
	echo "https-test: $failures check(s) failed; server log:"
	tail -n 30 "$work/server.log"
	exit 1
fi
echo "https-test: all checks passed"
