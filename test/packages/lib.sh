# lib.sh: what test/packages/deb.sh and container.sh share. Source it
# after setting NAME (the script's short name). Namespaces made with
# ns_new are deleted, after what runs in them is killed by PID, by the
# EXIT trap; processes are only ever stopped by PID.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work/$NAME
CACHE=${BOOTWRIGHT_TEST_CACHE:-${HOME:-/root}/.cache/bootwright-test}
# The Debian suite the throwaway roots and base images are made of, and
# the mirror mmdebstrap takes it from (Debian's package registry).
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

log() { echo "$NAME: $*"; }
die() { echo "$NAME: $*" >&2; exit 2; }

PASSED=0
FAILURES=0
pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $*"; FAILURES=$((FAILURES + 1)); }
# check NAME CMD...: PASS or FAIL NAME by CMD's status.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
# summary: the closing line, and the exit status.
summary() {
	echo "$NAME: $PASSED passed, $FAILURES failed ($((SECONDS - T0))s)"
	[ "$FAILURES" -eq 0 ]
}
T0=$SECONDS

# need_root_and TOOL...: root and the tools, or exit 2.
need_root_and() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, chroots)"
	local t
	for t in ip curl "$@"; do
		command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
	done
}

# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"

# lan PFX: the test network. $PFX-lan holds br0 (10.236.0.1/24); $PFX-srv
# (eth0 10.236.0.2, default route via .1) is where bootwright runs, so its
# default interface is eth0 as on a plain host; $PFX-cl (eth0 10.236.0.50)
# is the PXE client: bootwright ignores DHCP from its own addresses.
SRV_IP=10.236.0.2
CL_IP=10.236.0.50
lan() {
	ns_new "$1-lan"
	bridge "$1-lan" 10.236.0.1/24
	ns_new "$1-srv"
	join "$1-lan" "$1-srv" "$SRV_IP/24"
	ip -n "$1-srv" route add default via 10.236.0.1
	ns_new "$1-cl"
	join "$1-lan" "$1-cl" "$CL_IP/24"
}

# pxe_discover NS: the README test's client (test/readme/pxediscover) in
# NS: a BIOS DISCOVER broadcast on 67 and a UEFI REQUEST to 4011 at
# SRV_IP. True when both answers name SRV_IP and the NBP bootwright's
# defaults give; the answers are in $WORK/offer.txt.
pxe_discover() {
	[ -x "$WORK/pxediscover" ] || (cd "$TOP" && CGO_ENABLED=0 go build -o "$WORK/pxediscover" ./test/readme/pxediscover)
	ip netns exec "$1" "$WORK/pxediscover" "$SRV_IP" "$CL_IP" >"$WORK/offer.txt" 2>&1 || { cat "$WORK/offer.txt"; return 1; }
	grep -q "^type=OFFER yiaddr=0.0.0.0 siaddr=$SRV_IP bootfile=undionly.kpxe$" "$WORK/offer.txt" &&
		grep -q "^type=ACK yiaddr=0.0.0.0 siaddr=$SRV_IP bootfile=snponly.efi$" "$WORK/offer.txt" ||
		{ cat "$WORK/offer.txt"; return 1; }
}

# healthz NS: true when http://SRV_IP:8080/healthz answers 200 from NS
# within 20 s.
healthz() {
	local code deadline=$((SECONDS + 20))
	while :; do
		code=$(ip netns exec "$1" curl -s -o "$WORK/healthz.json" -w '%{http_code}' --max-time 2 "http://$SRV_IP:8080/healthz" || true)
		[ "$code" = 200 ] && return 0
		[ $SECONDS -lt $deadline ] || { log "/healthz: $code"; return 1; }
		sleep 0.2
	done
}

# debian_rootfs NAME PACKAGE...: a $SUITE minbase tarball with PACKAGE...
# (mmdebstrap from $MIRROR), made once and kept in $CACHE under a name
# that changes with the list. Prints its path.
debian_rootfs() {
	local name=$1 key tar
	shift
	set -- $(printf '%s\n' "$@" | sort -u)
	key=$(printf '%s\n' "$SUITE" "$MIRROR" "$@" | sha256sum | cut -c1-12)
	tar=$CACHE/rootfs-$name-$SUITE-$key.tar
	if [ ! -s "$tar" ]; then
		mkdir -p "$CACHE"
		log "mmdebstrap $SUITE minbase with: $* (once; cached as $tar)" >&2
		local inc
		inc=$(IFS=,; echo "$*")
		mmdebstrap --quiet --variant=minbase --format=tar ${inc:+--include="$inc"} \
			--aptopt='Acquire::Languages "none"' "$SUITE" "$tar.tmp" "$MIRROR" >&2 ||
			{ rm -f "$tar.tmp"; return 1; }
		mv "$tar.tmp" "$tar"
	fi
	echo "$tar"
}

# menu NS: true when the iPXE menu for a MAC comes over HTTP from NS
# (curl) with the default menu's local-disk entry; it is in $WORK/menu.ipxe.
menu() {
	ip netns exec "$1" curl -sf --max-time 5 -o "$WORK/menu.ipxe" "http://$SRV_IP:8080/ipxe/52-54-00-00-00-01" &&
		grep -q '^#!ipxe' "$WORK/menu.ipxe" && grep -q '^item local Boot from local disk' "$WORK/menu.ipxe" ||
		{ head -n 5 "$WORK/menu.ipxe" 2>/dev/null; return 1; }
}

# DISCOVER_MAC is pxe_discover's client (test/readme/pxediscover).
DISCOVER_MAC=52:54:00:99:00:01

# macs NS FILE: the MACs http://SRV_IP:8080/api/v1/machines lists (asked
# from NS), sorted, into FILE, once DISCOVER_MAC is among them (it is
# recorded a moment after the answer); false if it is not within 10 s.
macs() {
	local deadline=$((SECONDS + 10))
	while :; do
		ip netns exec "$1" curl -sf --max-time 5 "http://$SRV_IP:8080/api/v1/machines" >"$WORK/machines.json" &&
			grep -oiE '"mac": *"[0-9a-f:]{17}"' "$WORK/machines.json" | grep -oiE '[0-9a-f:]{17}' | sort -u >"$2" &&
			grep -qx "$DISCOVER_MAC" "$2" && return 0
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# same_macs NS BEFORE AFTER: true when every machine in BEFORE is listed
# now (into AFTER): the state survived a restart.
same_macs() {
	macs "$1" "$3" && [ -s "$2" ] && [ -z "$(comm -23 "$2" "$3")" ] || { cat "$WORK/machines.json"; return 1; }
}
