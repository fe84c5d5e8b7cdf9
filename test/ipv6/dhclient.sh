#!/usr/bin/env bash
# dhclient.sh: ISC `dhclient -6` against bootwright --dhcp6-mode full in
# network namespaces it creates: a lease from the range, a Renew at T1, a
# Release, the same address back after a restart (Confirm) and after
# `kill -9` (a new Solicit without its lease file: known by MAC), and a
# second client given the other address of a two-address range.
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/ipv6/dhclient.sh
# Logs stay in test/ipv6/work/dhclient/. Must run as root. About 45 s,
# most of it waiting for T1 (half the 1m lease).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=$HERE/work/dhclient
PFX="bw6d-$$"
STEP_TIMEOUT=${STEP_TIMEOUT:-15}
NET=fd42:250
LO=$NET::100 HI=$NET::101
# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"

# has ARGS...: grep ARGS on stdin without output; unlike grep -q it reads
# to the end, so the command before it never dies of SIGPIPE (which
# pipefail would count as a failure).
has() { grep "$@" >/dev/null; }

fail() {
	echo "FAIL dhclient: $*"
	grep -v 'level=DEBUG' "$DIR/bootwright.log" 2>/dev/null | tail -n 12 | sed 's/^/    /'
	exit 1
}

# start_bw: bootwright serve in $PFX-s, leasing $LO-$HI; sets BW_PID.
start_bw() {
	local v env=() deadline=$((SECONDS + STEP_TIMEOUT))
	for v in ${!BOOTWRIGHT_@}; do env+=(-u "$v"); done
	ip netns exec "$PFX-s" env "${env[@]}" "$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode off \
		--dhcp6-mode full --dhcp6-range "$LO-$HI" --dhcp-lease 1m --tftp-addr off --http-addr :8080 \
		--state-dir "$DIR/state" --log-level debug </dev/null >>"$DIR/bootwright.log" 2>&1 &
	BW_PID=$!
	until [ -n "$(ip netns exec "$PFX-s" ss -Hlnu 'sport = :547')" ]; do
		kill -0 "$BW_PID" 2>/dev/null || fail "bootwright exited"
		[ $SECONDS -lt $deadline ] || fail "bootwright not on UDP 547"
		sleep 0.1
	done
}

# client NAME MAC: a namespace with eth0 on the server's bridge (no DAD,
# so dhclient can use its link-local address at once) and the script
# dhclient runs, which records "REASON ADDRESS" in DIR/NAME/events.
client() {
	local ns=$PFX-$1
	ns_new "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
	join "$PFX-s" "$ns" none "$2"
	mkdir -p "$DIR/$1"
	cat >"$DIR/$1/script" <<-'EOF'
	#!/bin/sh
	echo "$reason ${new_ip6_address:-}" >>"$(dirname "$0")/events"
	exit 0
	EOF
	chmod +x "$DIR/$1/script"
	: >"$DIR/$1/events"
}

# dhc NAME ARGS...: dhclient -6 in NAME's namespace with NAME's files.
dhc() {
	local n=$1
	shift
	ip netns exec "$PFX-$n" dhclient -6 -sf "$DIR/$n/script" -lf "$DIR/$n/leases" -pf "$DIR/$n/pid" "$@" eth0 \
		</dev/null >>"$DIR/$n/dhclient.log" 2>&1
}

# wait_event NAME REGEX [SECONDS]: until NAME's events has a line matching
# REGEX; prints its address.
wait_event() {
	local deadline=$((SECONDS + ${3:-$STEP_TIMEOUT}))
	until grep -qE "$2" "$DIR/$1/events"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
	grep -E "$2" "$DIR/$1/events" | tail -n 1 | awk '{ print $2 }'
}

# once NAME: one dhclient run until it is bound, then stopped without a
# Release; prints the address.
once() {
	local pid ip
	: >"$DIR/$1/events"
	dhc "$1" -1 -d &
	pid=$!
	ip=$(wait_event "$1" '^(BOUND6|REBOOT6|RENEW6) ') || true
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	echo "$ip"
}

in_range() { [ "$1" = "$LO" ] || [ "$1" = "$HI" ]; }

main() {
	[ "$(id -u)" -eq 0 ] || { echo "must run as root" >&2; exit 2; }
	[ -x "${BOOTWRIGHT_BIN:-}" ] || { echo "set BOOTWRIGHT_BIN" >&2; exit 2; }
	command -v dhclient >/dev/null || { echo "dhclient not found: run scripts/install-deps.sh" >&2; exit 2; }
	local t0 a pid a2 b
	t0=$(now)
	rm -rf "$DIR"
	mkdir -p "$DIR"
	trap 'cleanup_prefix "$PFX-"' EXIT
	ns_new "$PFX-s"
	bridge "$PFX-s" 10.250.9.1/24 # (IPv4 unused; bridge() wants one)
	ip -n "$PFX-s" addr add "$NET::1/64" dev br0 nodad
	client a 02:00:00:06:00:0a
	client b 02:00:00:06:00:0b
	start_bw

	# Lease, Renew at T1 (30 s), Release.
	dhc a -d &
	pid=$!
	a=$(wait_event a '^BOUND6 ') || fail "no lease (BOUND6)"
	in_range "$a" || fail "leased $a, outside $LO-$HI"
	a2=$(wait_event a '^RENEW6 ' 45) || fail "no RENEW6 within 45 s (T1 is 30 s)"
	[ "$a2" = "$a" ] || fail "renewed $a2, leased $a"
	grep 'type=RENEW' "$DIR/bootwright.log" | has "addr=$a" || fail "no Renew of $a in bootwright's log"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	dhc a -r || true
	# bootwright logs the Release just after its Reply, which dhclient
	# may have taken and exited on already: wait for the line (5 s).
	local i
	for i in $(seq 50); do
		grep 'type=RELEASE' "$DIR/bootwright.log" | has 'status=released' && break
		sleep 0.1
	done
	grep 'type=RELEASE' "$DIR/bootwright.log" | has 'status=released' || fail "no Release in bootwright's log"

	# A restart and a kill -9 keep a's address; b gets the other one.
	a=$(once a)
	in_range "$a" || fail "after the Release a got '$a'"
	kill -TERM "$BW_PID"
	wait "$BW_PID" 2>/dev/null || true
	start_bw
	a2=$(once a) # with its lease file: a Confirm
	[ "$a2" = "$a" ] || fail "after a restart a got '$a2', want $a"
	kill -KILL "$BW_PID"
	wait "$BW_PID" 2>/dev/null || true
	start_bw
	b=$(once b)
	in_range "$b" && [ "$b" != "$a" ] || fail "after kill -9 b got '$b' (a holds $a)"
	# Without its lease file, a Solicits under a new DUID: bootwright must
	# know the machine by its MAC and remember its lease.
	rm -f "$DIR/a/leases"
	a2=$(once a)
	[ "$a2" = "$a" ] || fail "after kill -9 a (no lease file) got '$a2', want $a"
	grep 'type=REQUEST' "$DIR/bootwright.log" | grep "mac=02:00:00:06:00:0a" | tail -n 1 | has "addr=$a" ||
		fail "a's last Request was not answered with $a"
	kill -TERM "$BW_PID"
	wait "$BW_PID" 2>/dev/null || true
	echo "PASS dhclient: dhclient -6 leased $a, renewed and released it, kept it across a restart (Confirm) and kill -9 (Solicit, new DUID); b got $b ($(elapsed "$t0"))"
}

main "$@"
