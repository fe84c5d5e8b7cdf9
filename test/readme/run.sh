#!/usr/bin/env bash
# Proves the README's first command: it runs that exact command (as found
# in README.md) inside a network namespace this script creates, then uses
# real clients against it: a PXE DHCPDISCOVER answered by the proxyDHCP,
# tftp-hpa fetching the embedded NBP, and curl fetching /boot.ipxe and a
# menu. Nothing touches the host network; everything started is stopped
# by PID and the namespace is deleted on exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
[ "$(id -u)" -eq 0 ] || { echo "readme test: needs root for network namespaces" >&2; exit 1; }

# The first line of the first ```sh block is the serve command.
cmd=$(awk '/^```sh/{f=1;next} f{print; exit}' README.md | sed 's/[[:space:]]*#.*$//')
case "$cmd" in
  *"bootwright serve"*) ;;
  *) echo "readme test: README's first command is not a serve command: $cmd" >&2; exit 1 ;;
esac

ns="bw-readme-$$"
cns="bw-readme-$$-client"
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  for n in "$ns" "$cns"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip link add br0 type bridge
nsx ip addr add 10.232.0.1/24 dev br0
nsx ip link set br0 up
# A default route so the server picks br0 as the host's main interface.
nsx ip route add default via 10.232.0.254 dev br0 onlink
# The PXE client lives in a namespace of its own on the bridge: bootwright
# ignores DHCP packets from its own addresses.
ip netns add "$cns"
ip -n "$cns" link set lo up
nsx ip link add vcl type veth peer name eth0 netns "$cns"
nsx ip link set vcl master br0 up
ip -n "$cns" addr add 10.232.0.50/24 dev eth0
ip -n "$cns" link set eth0 up

# go run needs the module cache and build cache of the caller. The state
# goes to the test's own directory (through the flag's environment
# variable, so the command stays exactly the README's), never the host's
# /var/lib/bootwright.
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
echo "readme test: running '$cmd' in $ns"
nsx env PATH="$PATH" HOME="$HOME" GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" \
  BOOTWRIGHT_STATE_DIR="$work/state" bash -c "exec $cmd" >"$work/server.log" 2>&1 &
pid=$!

ok=0
for _ in $(seq 1 240); do
  if nsx curl -sf -o "$work/boot.ipxe" http://10.232.0.1:8080/boot.ipxe; then ok=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
fail() { echo "readme test: FAIL: $*" >&2; tail -n 30 "$work/server.log" >&2; exit 1; }
[ "$ok" = 1 ] || fail "server never answered on :8080"
grep -q 'chain --autofree http://10.232.0.1:8080/ipxe/${mac:hexhyp}' "$work/boot.ipxe" || fail "unexpected boot.ipxe: $(cat "$work/boot.ipxe")"

nsx curl -sf -o "$work/menu.ipxe" http://10.232.0.1:8080/ipxe/52-54-00-00-00-01 || fail "no menu"
grep -q '^item local Boot from local disk' "$work/menu.ipxe" || fail "default menu lacks the local entry"

nsx tftp -m binary 10.232.0.1 -c get undionly.kpxe "$work/undionly.kpxe"
cmp -s "$work/undionly.kpxe" tftpboot/nbp/undionly.kpxe || fail "TFTP undionly.kpxe differs from the embedded NBP"

# A BIOS PXE DISCOVER on 67 and a UEFI boot server REQUEST on 4011.
go build -o "$work/pxediscover" ./test/readme/pxediscover
ip netns exec "$cns" "$work/pxediscover" 10.232.0.1 10.232.0.50 >"$work/offer.txt" 2>&1 || fail "no proxyDHCP offer: $(cat "$work/offer.txt")"
grep -q '^type=OFFER yiaddr=0.0.0.0 siaddr=10.232.0.1 bootfile=undionly.kpxe$' "$work/offer.txt" || fail "offer on 67: $(cat "$work/offer.txt")"
grep -q '^type=ACK yiaddr=0.0.0.0 siaddr=10.232.0.1 bootfile=snponly.efi$' "$work/offer.txt" || fail "ack on 4011: $(cat "$work/offer.txt")"

echo "readme test: PASS ('$cmd' served DHCP proxy, TFTP and HTTP on its defaults)"
